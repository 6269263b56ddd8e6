//! The audit's own role, generated: the read-only permission policy of exactly the calls the collectors make, the
//! trust policy that lets the auditing principal assume it (with `sts:ExternalId`, `aws:PrincipalOrgID` and
//! `sts:SourceIdentity` where configured), the policy the auditing principal itself needs, and CloudFormation
//! templates that deploy the role: one stack's template, and a service-managed StackSet that deploys it to every
//! account of an organisation (or of the OUs given).

use serde_json::{Value, json};

use super::permissions::ACTIONS;

/// What the generated role should say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSpec {
    /// The role's name in every account.
    pub role_name: String,
    /// Who audits: an IAM role or user ARN, or an account's root ARN.
    pub principal: String,
    pub external_id: Option<String>,
    /// `o-...`: only principals of this organisation may assume the role.
    pub org_id: Option<String>,
    /// The source identity the auditor sets (`--source-identity`).
    pub source_identity: Option<String>,
}

/// Every action the audit role is allowed: the collectors' read-only calls. The run's one STS call in the member
/// account, GetCallerIdentity, needs no permission.
pub fn role_actions() -> Vec<&'static str> {
    ACTIONS.to_vec()
}

/// The permission policy of the audit role.
pub fn permission_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AtrestAuditReadOnly",
            "Effect": "Allow",
            "Action": role_actions(),
            "Resource": "*",
        }],
    })
}

/// The trust policy: the auditing principal may assume the role, under the configured conditions.
pub fn trust_policy(spec: &RoleSpec) -> Value {
    let mut equals = serde_json::Map::new();
    if let Some(id) = &spec.external_id {
        equals.insert("sts:ExternalId".into(), json!(id));
    }
    if let Some(org) = &spec.org_id {
        equals.insert("aws:PrincipalOrgID".into(), json!(org));
    }
    let mut actions = vec!["sts:AssumeRole"];
    let mut statement = json!({
        "Sid": "AtrestAuditAssume",
        "Effect": "Allow",
        "Principal": { "AWS": spec.principal },
    });
    if let Some(source) = &spec.source_identity {
        actions.push("sts:SetSourceIdentity");
        equals.insert("sts:SourceIdentity".into(), json!(source));
    }
    if let Some(s) = statement.as_object_mut() {
        s.insert("Action".into(), json!(actions));
        if !equals.is_empty() {
            s.insert("Condition".into(), json!({ "StringEquals": equals }));
        }
    }
    json!({ "Version": "2012-10-17", "Statement": [statement] })
}

/// What the auditing principal needs: list the organisation's accounts, assume the role in each (and set the
/// source identity when configured), know who it is, and read the organisation's structure and policies once for
/// every account (`--accounts org`; a member account may not).
pub fn caller_policy(spec: &RoleSpec, partition: &str) -> Value {
    let mut actions = vec!["sts:AssumeRole"];
    if spec.source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AtrestAssumeTheAuditRole",
                "Effect": "Allow",
                "Action": actions,
                "Resource": format!("arn:{partition}:iam::*:role/{}", spec.role_name),
            },
            {
                "Sid": "AtrestReadTheOrganization",
                "Effect": "Allow",
                "Action": [
                    "organizations:DescribeOrganization",
                    "organizations:DescribePolicy",
                    "organizations:ListAccounts",
                    "organizations:ListParents",
                    "organizations:ListPoliciesForTarget",
                    "sts:GetCallerIdentity",
                ],
                "Resource": "*",
            },
        ],
    })
}

/// A CloudFormation template of one stack: the role with its trust and permission policies.
pub fn role_template(spec: &RoleSpec) -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "The read-only role that atrest audits this account with (atrest iam-policy audit)",
        "Resources": {
            "AtrestAuditRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": spec.role_name,
                    "Description": "atrest audit: read-only calls to RDS, EC2/EBS, KMS, IAM and Organizations",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": trust_policy(spec),
                    "Policies": [{
                        "PolicyName": "atrest-audit-read-only",
                        "PolicyDocument": permission_policy(),
                    }],
                },
            },
        },
        "Outputs": {
            "RoleArn": { "Value": { "Fn::GetAtt": ["AtrestAuditRole", "Arn"] } },
        },
    })
}

/// A CloudFormation template for the management (or a delegated administrator) account: a service-managed
/// StackSet that deploys [`role_template`] to every account of the OUs given (the root for the whole
/// organisation), in one region (IAM is global), and to accounts that join later.
pub fn stackset_template(spec: &RoleSpec) -> Value {
    let body = serde_json::to_string(&role_template(spec)).unwrap_or_default();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Deploys the atrest audit role to every account of the organisation (atrest iam-policy audit)",
        "Parameters": {
            "OrganizationalUnitIds": {
                "Type": "CommaDelimitedList",
                "Description": "The root id (r-...) for the whole organisation, or the OUs (ou-...) to deploy to",
            },
            "DeploymentRegion": {
                "Type": "String",
                "Default": "us-east-1",
                "Description": "One region to create the stacks in: IAM roles are global",
            },
        },
        "Resources": {
            "AtrestAuditRoleStackSet": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": format!("{}-role", spec.role_name),
                    "Description": "The atrest audit role in every member account",
                    "PermissionModel": "SERVICE_MANAGED",
                    "AutoDeployment": { "Enabled": true, "RetainStacksOnAccountRemoval": false },
                    "Capabilities": ["CAPABILITY_NAMED_IAM"],
                    "ManagedExecution": { "Active": true },
                    "OperationPreferences": {
                        "FailureTolerancePercentage": 10,
                        "MaxConcurrentPercentage": 25,
                    },
                    "StackInstancesGroup": [{
                        "DeploymentTargets": { "OrganizationalUnitIds": { "Ref": "OrganizationalUnitIds" } },
                        "Regions": [{ "Ref": "DeploymentRegion" }],
                    }],
                    "TemplateBody": body,
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RoleSpec {
        RoleSpec {
            role_name: "atrest-audit".into(),
            principal: "arn:aws:iam::111122223333:role/auditor".into(),
            external_id: Some("ext-1".into()),
            org_id: Some("o-abc".into()),
            source_identity: Some("alice".into()),
        }
    }

    #[test]
    fn the_permission_policy_is_exactly_the_collectors_actions() {
        let p = permission_policy();
        let listed: Vec<&str> = p["Statement"][0]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(listed, ACTIONS);
        assert_eq!(p["Statement"][0]["Resource"], "*");
    }

    #[test]
    fn the_trust_policy_carries_every_configured_condition() {
        let t = trust_policy(&spec());
        let s = &t["Statement"][0];
        assert_eq!(
            s["Principal"]["AWS"],
            "arn:aws:iam::111122223333:role/auditor"
        );
        assert_eq!(
            s["Action"],
            json!(["sts:AssumeRole", "sts:SetSourceIdentity"])
        );
        let c = &s["Condition"]["StringEquals"];
        assert_eq!(c["sts:ExternalId"], "ext-1");
        assert_eq!(c["aws:PrincipalOrgID"], "o-abc");
        assert_eq!(c["sts:SourceIdentity"], "alice");

        let plain = trust_policy(&RoleSpec {
            external_id: None,
            org_id: None,
            source_identity: None,
            ..spec()
        });
        assert_eq!(plain["Statement"][0]["Action"], json!(["sts:AssumeRole"]));
        assert!(plain["Statement"][0].get("Condition").is_none());
    }

    #[test]
    fn the_stackset_embeds_the_role_template() {
        let t = stackset_template(&spec());
        let body = t["Resources"]["AtrestAuditRoleStackSet"]["Properties"]["TemplateBody"]
            .as_str()
            .unwrap();
        let role: Value = serde_json::from_str(body).unwrap();
        assert_eq!(role, role_template(&spec()));
        assert_eq!(
            role["Resources"]["AtrestAuditRole"]["Properties"]["Policies"][0]["PolicyDocument"],
            permission_policy()
        );
    }
}
