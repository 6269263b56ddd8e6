//! Least-privilege KMS key policies for the keys a plan proposes. Key administrators can manage but never use the
//! key; key users can use it only through the named AWS service (`kms:ViaService`) or, for application data keys,
//! only with the encryption context `atrest cell` sends (`atrest:table`, `atrest:column`); any service principal is
//! pinned to this account (`aws:SourceAccount`) and resource (`aws:SourceArn`) against the confused-deputy problem.

use serde_json::{Value, json};

/// Management actions, listed one by one: a wildcard such as `kms:Create*` would include `kms:CreateGrant`, which
/// would let an administrator grant itself use of the key.
pub const ADMIN_ACTIONS: [&str; 22] = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
];

/// Cryptographic actions a storage service needs on the caller's behalf.
pub const USE_ACTIONS: [&str; 5] = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
];

/// What a key is for, which decides who may use it and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// Storage encryption through one AWS service (`rds` or `ec2`) in one Region.
    Service { service: String, region: String },
    /// Application-layer cell encryption: data keys requested directly, always with an encryption context.
    AppDataKeys { region: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySpec {
    pub account: String,
    pub admin_principals: Vec<String>,
    pub user_principals: Vec<String>,
    pub key_use: KeyUse,
    /// Other accounts that receive shared snapshots encrypted with this key.
    pub share_with_accounts: Vec<String>,
    /// AWS service principals that must use the key directly, e.g. `dms.amazonaws.com`.
    pub service_principals: Vec<String>,
}

fn via_service(service: &str, region: &str) -> String {
    format!("{service}.{region}.amazonaws.com")
}

/// The key policy document as JSON.
pub fn key_policy(spec: &PolicySpec) -> Value {
    let root = format!("arn:aws:iam::{}:root", spec.account);
    let mut statements = vec![
        json!({
            "Sid": "AccountCanReadAndRepairPolicyOnly",
            "Effect": "Allow",
            "Principal": { "AWS": root },
            "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy"],
            "Resource": "*"
        }),
        json!({
            "Sid": "KeyAdministratorsManageButNeverUse",
            "Effect": "Allow",
            "Principal": { "AWS": spec.admin_principals },
            "Action": ADMIN_ACTIONS,
            "Resource": "*"
        }),
    ];
    match &spec.key_use {
        KeyUse::Service { service, region } => {
            let via = via_service(service, region);
            statements.push(json!({
                "Sid": "KeyUsersOnlyThroughTheService",
                "Effect": "Allow",
                "Principal": { "AWS": spec.user_principals },
                "Action": USE_ACTIONS,
                "Resource": "*",
                "Condition": { "StringEquals": { "kms:ViaService": via, "kms:CallerAccount": spec.account } }
            }));
            statements.push(json!({
                "Sid": "ServiceGrantsForAttachedResourcesOnly",
                "Effect": "Allow",
                "Principal": { "AWS": spec.user_principals },
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": {
                    "Bool": { "kms:GrantIsForAWSResource": "true" },
                    "StringEquals": { "kms:ViaService": via }
                }
            }));
            if !spec.share_with_accounts.is_empty() {
                let accounts: Vec<String> = spec
                    .share_with_accounts
                    .iter()
                    .map(|a| format!("arn:aws:iam::{a}:root"))
                    .collect();
                statements.push(json!({
                    "Sid": "SharedSnapshotAccountsThroughTheServiceOnly",
                    "Effect": "Allow",
                    "Principal": { "AWS": accounts },
                    "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                    "Resource": "*",
                    "Condition": { "StringEquals": { "kms:ViaService": via } }
                }));
            }
        }
        KeyUse::AppDataKeys { .. } => {
            statements.push(json!({
                "Sid": "ApplicationDataKeysWithContextOnly",
                "Effect": "Allow",
                "Principal": { "AWS": spec.user_principals },
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": { "kms:CallerAccount": spec.account },
                    "Null": {
                        "kms:EncryptionContext:atrest:table": "false",
                        "kms:EncryptionContext:atrest:column": "false"
                    }
                }
            }));
        }
    }
    let region = match &spec.key_use {
        KeyUse::Service { region, .. } | KeyUse::AppDataKeys { region } => region.as_str(),
    };
    for service in &spec.service_principals {
        let name = service.split('.').next().unwrap_or(service);
        statements.push(json!({
            "Sid": format!("ServicePrincipal{}", name.to_ascii_uppercase()),
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": { "aws:SourceAccount": spec.account },
                "ArnLike": { "aws:SourceArn": format!("arn:aws:{name}:{region}:{}:*", spec.account) }
            }
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key_use: KeyUse) -> PolicySpec {
        PolicySpec {
            account: "111122223333".into(),
            admin_principals: vec!["arn:aws:iam::111122223333:role/KeyAdmin".into()],
            user_principals: vec!["arn:aws:iam::111122223333:role/DbOperator".into()],
            key_use,
            share_with_accounts: vec!["444455556666".into()],
            service_principals: vec!["dms.amazonaws.com".into()],
        }
    }

    fn statements(policy: &Value) -> &Vec<Value> {
        policy["Statement"]
            .as_array()
            .unwrap_or_else(|| panic!("no statements"))
    }

    #[test]
    fn administrators_cannot_use_or_grant() {
        let policy = key_policy(&spec(KeyUse::Service {
            service: "rds".into(),
            region: "eu-west-1".into(),
        }));
        let admin = statements(&policy)
            .iter()
            .find(|s| s["Sid"] == "KeyAdministratorsManageButNeverUse")
            .unwrap();
        let actions: Vec<&str> = admin["Action"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        for forbidden in [
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:CreateGrant",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ] {
            assert!(
                !actions.contains(&forbidden),
                "{forbidden} granted to administrators"
            );
        }
        assert!(
            actions.iter().all(|a| !a.ends_with('*')),
            "wildcards hide CreateGrant"
        );
    }

    #[test]
    fn users_go_through_the_service_and_service_principals_are_pinned() {
        let policy = key_policy(&spec(KeyUse::Service {
            service: "rds".into(),
            region: "eu-west-1".into(),
        }));
        let text = policy.to_string();
        assert!(text.contains("\"kms:ViaService\":\"rds.eu-west-1.amazonaws.com\""));
        let svc = statements(&policy)
            .iter()
            .find(|s| s["Principal"]["Service"] == "dms.amazonaws.com")
            .unwrap();
        assert_eq!(
            svc["Condition"]["StringEquals"]["aws:SourceAccount"],
            "111122223333"
        );
        assert_eq!(
            svc["Condition"]["ArnLike"]["aws:SourceArn"],
            "arn:aws:dms:eu-west-1:111122223333:*"
        );
        for s in statements(&policy) {
            assert_ne!(s["Principal"]["AWS"], "*", "no public principal");
        }
    }

    #[test]
    fn application_keys_require_an_encryption_context() {
        let policy = key_policy(&spec(KeyUse::AppDataKeys {
            region: "eu-west-1".into(),
        }));
        let app = statements(&policy)
            .iter()
            .find(|s| s["Sid"] == "ApplicationDataKeysWithContextOnly")
            .unwrap();
        assert_eq!(
            app["Condition"]["Null"]["kms:EncryptionContext:atrest:table"],
            "false"
        );
    }
}
