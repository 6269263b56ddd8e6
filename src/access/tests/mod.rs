//! The policy test suite. Each case is named by the behaviour and cites the AWS documentation rule it encodes.
//! Abbreviations in the citations:
//! - [PEL] IAM User Guide, "Policy evaluation logic" (and "Cross-account policy evaluation logic");
//! - [COND] IAM User Guide, "IAM JSON policy elements: Condition operators";
//! - [ELEM] IAM User Guide, "IAM JSON policy element reference" (Principal, NotPrincipal, Action, Resource...);
//! - [MULTI] IAM User Guide, "Set operators for multivalued context keys";
//! - [GLOBAL] IAM User Guide, "AWS global condition context keys";
//! - [KP] AWS KMS Developer Guide, "Key policies in AWS KMS" (default key policy, console default policy);
//! - [KCK] AWS KMS Developer Guide, "AWS KMS condition keys";
//! - [GR] AWS KMS Developer Guide, "Grants in AWS KMS" and the CreateGrant API reference;
//! - [XA] AWS KMS Developer Guide, "Allowing users in other accounts to use a KMS key";
//! - [AMK] AWS KMS Developer Guide, "AWS managed keys" (the `aws/rds` key policy);
//! - [SCP] AWS Organizations User Guide, "Service control policies" and "Resource control policies";
//! - [PB] IAM User Guide, "Permissions boundaries for IAM entities";
//! - [API] AWS KMS API reference (actions and key specs).

mod actions;
mod conditions;
mod evaluation;
mod grants;
mod parsing;
mod pinning;
mod properties;

use super::*;

pub const ACCT: &str = "111122223333";
pub const OTHER: &str = "444455556666";
pub const KEY_ARN: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

pub fn key() -> Key {
    Key::new(KEY_ARN, KeyKind::Symmetric)
}

pub fn policy(json: &str) -> Policy {
    Policy::parse(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

pub fn role(account: &str, name: &str) -> Principal {
    Principal::iam(&format!("arn:aws:iam::{account}:role/{name}"))
}

pub fn user(account: &str, name: &str) -> Principal {
    Principal::iam(&format!("arn:aws:iam::{account}:user/{name}"))
}

/// An identity policy with one statement.
pub fn identity(json_statements: &str) -> Identity {
    Identity::Known {
        policies: vec![NamedPolicy {
            arn: format!("arn:aws:iam::{ACCT}:policy/test"),
            policy: policy(&format!(
                r#"{{"Version":"2012-10-17","Statement":{json_statements}}}"#
            )),
        }],
        boundary: None,
    }
}

pub fn allow_all_kms() -> Identity {
    identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#)
}

/// The key side and principal side of one evaluation, with defaults: no grants, no SCPs or RCPs, no identity
/// policies, nothing fixed in the request.
pub struct World {
    pub key: Key,
    pub policy: Option<Policy>,
    pub grants: Option<Vec<Grant>>,
    pub rcps: Ceiling,
    pub identity: Identity,
    pub scps: Ceiling,
    pub ctx: RequestContext,
}

impl World {
    pub fn new(key_policy: &str) -> Self {
        Self {
            key: key(),
            policy: Some(policy(key_policy)),
            grants: Some(Vec::new()),
            rcps: Ceiling::None,
            identity: Identity::none(),
            scps: Ceiling::None,
            ctx: RequestContext::new(),
        }
    }

    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    pub fn ctx(mut self, ctx: RequestContext) -> Self {
        self.ctx = ctx;
        self
    }

    pub fn grants(mut self, grants: Vec<Grant>) -> Self {
        self.grants = Some(grants);
        self
    }

    pub fn decide(&self, p: &Principal, a: KmsAction) -> Decision {
        let k = KeyInputs {
            key: &self.key,
            policy: self.policy.as_ref(),
            grants: self.grants.as_deref(),
            rcps: &self.rcps,
        };
        let w = PrincipalInputs {
            principal: p,
            identity: &self.identity,
            scps: &self.scps,
        };
        evaluate(&k, &w, a, &self.ctx)
    }

    pub fn verdict(&self, p: &Principal, a: KmsAction) -> Verdict {
        self.decide(p, a).verdict
    }

    /// The remaining conditions of an `AllowedIf` verdict, rendered.
    pub fn remaining(&self, p: &Principal, a: KmsAction) -> String {
        let d = self.decide(p, a);
        let Verdict::AllowedIf(dnf) = &d.verdict else {
            panic!("expected allowed-if, got {:?}", d.verdict);
        };
        let k = KeyInputs {
            key: &self.key,
            policy: self.policy.as_ref(),
            grants: self.grants.as_deref(),
            rcps: &self.rcps,
        };
        let w = PrincipalInputs {
            principal: p,
            identity: &self.identity,
            scps: &self.scps,
        };
        describe(&k, &w, dnf)
    }
}

pub fn is_allowed_if(v: &Verdict) -> bool {
    matches!(v, Verdict::AllowedIf(_))
}

/// The default key policy (CreateKey without a policy) [KP].
pub const DEFAULT_POLICY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

/// The console's default key policy with key administrators and key users [KP].
pub const CONSOLE_POLICY: &str = r#"{"Id":"key-consolepolicy-3","Version":"2012-10-17","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"Allow access for Key Administrators","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyAdmin"},
  "Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*","kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource","kms:ScheduleKeyDeletion","kms:CancelKeyDeletion","kms:RotateKeyOnDemand"],"Resource":"*"},
 {"Sid":"Allow use of the key","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyUser"},
  "Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"},
 {"Sid":"Allow attachment of persistent resources","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyUser"},
  "Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}]}"#;

/// The `aws/rds` AWS managed key policy [AMK].
pub const RDS_MANAGED_POLICY: &str = r#"{"Version":"2012-10-17","Id":"auto-rds-2","Statement":[
 {"Sid":"Allow access through RDS for all principals in the account that are authorized to use RDS","Effect":"Allow","Principal":{"AWS":"*"},
  "Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:ListGrants","kms:DescribeKey"],"Resource":"*",
  "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"rds.us-east-1.amazonaws.com"}}},
 {"Sid":"Allow direct access to key metadata to the account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
  "Action":["kms:Describe*","kms:Get*","kms:List*","kms:RevokeGrant"],"Resource":"*"}]}"#;
