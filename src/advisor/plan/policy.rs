//! Least-privilege KMS key policies for the keys a plan proposes, and the service control policy that makes their
//! separation of duties real.
//!
//! - The account root keeps what auditors and AWS Config read (`kms:GetKeyRotationStatus`, `kms:DescribeKey`,
//!   `kms:GetKeyPolicy`, `kms:ListResourceTags`, ...) and `kms:PutKeyPolicy`, so the key never becomes unmanageable.
//!   A key policy alone cannot stop an IAM administrator from rewriting it: the plan's SCP ([`scp`]) confines
//!   `kms:PutKeyPolicy` to one break-glass role.
//! - Key administrators manage but never use the key; their actions are listed one by one.
//! - Storage-key users use the key only through the named AWS service (`kms:ViaService`), with the exact actions the
//!   service calls (no `GenerateDataKey*`/`ReEncrypt*` wildcards).
//! - Application data keys (cell encryption) are confined to the listed table and column values, with separate
//!   writer and reader principals.
//! - No statement names an AWS service principal: RDS and EBS use storage keys through grants on the caller's
//!   behalf, and services such as DMS, AWS Backup or snapshot export never call the storage key directly.

use serde_json::{Value, json};

/// Management actions, listed one by one: a wildcard such as `kms:Create*` would include `kms:CreateGrant`, which
/// would let an administrator grant itself use of the key. `kms:UpdateAlias` is the manual rotation of keys that
/// cannot rotate automatically (custom key stores): point the alias at a new key.
pub const ADMIN_ACTIONS: [&str; 23] = [
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
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
];

/// What the account root keeps: the read actions auditors, `atrest audit` and AWS Config rules
/// (`cmk-backing-key-rotation-enabled`, Security Hub KMS.4) call through IAM policies, and `kms:PutKeyPolicy` so the
/// key can always be repaired (confined to the break-glass role by the SCP).
pub const ROOT_ACTIONS: [&str; 8] = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
];

/// Cryptographic actions RDS and EBS call on the caller's behalf, without wildcards (the pair operations that
/// `kms:GenerateDataKey*` would add are never used by storage encryption).
pub const USE_ACTIONS: [&str; 7] = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

/// What the application writer calls for cell encryption: data keys, unwrapping, and re-wrapping on rotation.
pub const CELL_WRITER_ACTIONS: [&str; 5] = [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

/// The Auto Scaling service-linked role, which launches instances whose volumes use the EBS default key.
pub fn autoscaling_role(account: &str) -> String {
    format!(
        "arn:aws:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
}

/// What a key is for, which decides who may use it and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// Storage encryption through AWS services (`rds`, `ec2`, and `secretsmanager` for managed master-user
    /// secrets) in one Region, for the named user principals.
    Service {
        services: Vec<String>,
        region: String,
    },
    /// The account-and-Region EBS encryption-by-default key: every principal of the account may use it through EC2
    /// (as with aws/ebs), and the Auto Scaling service-linked role may use it directly.
    EbsDefault { region: String },
    /// Application-layer cell encryption: data keys requested directly, always with an encryption context whose
    /// table and column are among `columns` (`table`, `column`).
    AppDataKeys {
        region: String,
        columns: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySpec {
    pub account: String,
    pub admin_principals: Vec<String>,
    /// Storage keys: who uses the key through the service. Cell keys: the writers.
    pub user_principals: Vec<String>,
    /// Cell keys: principals that may only decrypt.
    pub reader_principals: Vec<String>,
    pub key_use: KeyUse,
    /// Other accounts that receive shared snapshots encrypted with this key.
    pub share_with_accounts: Vec<String>,
}

fn via_services(services: &[String], region: &str) -> Vec<String> {
    services
        .iter()
        .map(|s| format!("{s}.{region}.amazonaws.com"))
        .collect()
}

/// A statement id from free text: IAM allows only ASCII letters and digits.
fn sid(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| {
            p.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
        })
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The key policy document as JSON.
pub fn key_policy(spec: &PolicySpec) -> Value {
    let root = format!("arn:aws:iam::{}:root", spec.account);
    let mut statements = vec![
        json!({
            "Sid": "AccountAuditorsReadAndPolicyRepair",
            "Effect": "Allow",
            "Principal": { "AWS": root },
            "Action": ROOT_ACTIONS,
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
        KeyUse::Service { services, region } => {
            let via = via_services(services, region);
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
                    "StringEquals": { "kms:ViaService": via, "kms:CallerAccount": spec.account }
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
                    "Action": USE_ACTIONS,
                    "Resource": "*",
                    "Condition": { "StringEquals": { "kms:ViaService": via } }
                }));
                statements.push(json!({
                    "Sid": "SharedSnapshotAccountsGrantsForAWSResourcesOnly",
                    "Effect": "Allow",
                    "Principal": { "AWS": accounts },
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {
                        "Bool": { "kms:GrantIsForAWSResource": "true" },
                        "StringEquals": { "kms:ViaService": via }
                    }
                }));
            }
        }
        KeyUse::EbsDefault { region } => {
            let via = via_services(&["ec2".to_string()], region);
            statements.push(json!({
                "Sid": "EveryAccountPrincipalThroughEC2",
                "Effect": "Allow",
                "Principal": { "AWS": "*" },
                "Action": USE_ACTIONS,
                "Resource": "*",
                "Condition": { "StringEquals": { "kms:ViaService": via, "kms:CallerAccount": spec.account } }
            }));
            statements.push(json!({
                "Sid": "EveryAccountPrincipalGrantsForVolumesOnly",
                "Effect": "Allow",
                "Principal": { "AWS": "*" },
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {
                    "Bool": { "kms:GrantIsForAWSResource": "true" },
                    "StringEquals": { "kms:ViaService": via, "kms:CallerAccount": spec.account }
                }
            }));
            let asg = autoscaling_role(&spec.account);
            statements.push(json!({
                "Sid": "AutoScalingServiceLinkedRoleUse",
                "Effect": "Allow",
                "Principal": { "AWS": asg },
                "Action": USE_ACTIONS,
                "Resource": "*"
            }));
            statements.push(json!({
                "Sid": "AutoScalingServiceLinkedRoleGrants",
                "Effect": "Allow",
                "Principal": { "AWS": asg },
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": { "Bool": { "kms:GrantIsForAWSResource": "true" } }
            }));
        }
        KeyUse::AppDataKeys { columns, .. } => {
            let mut tables: Vec<(&str, Vec<&str>)> = Vec::new();
            for (t, c) in columns {
                match tables.iter_mut().find(|(name, _)| name == t) {
                    Some((_, cols)) => cols.push(c),
                    None => tables.push((t, vec![c])),
                }
            }
            for (table, cols) in &tables {
                let condition = json!({
                    "StringEquals": {
                        "kms:CallerAccount": spec.account,
                        "kms:EncryptionContext:atrest:table": table,
                        "kms:EncryptionContext:atrest:column": cols
                    }
                });
                statements.push(json!({
                    "Sid": sid(&["writer", table]),
                    "Effect": "Allow",
                    "Principal": { "AWS": spec.user_principals },
                    "Action": CELL_WRITER_ACTIONS,
                    "Resource": "*",
                    "Condition": condition
                }));
                if !spec.reader_principals.is_empty() {
                    statements.push(json!({
                        "Sid": sid(&["reader", table]),
                        "Effect": "Allow",
                        "Principal": { "AWS": spec.reader_principals },
                        "Action": "kms:Decrypt",
                        "Resource": "*",
                        "Condition": condition
                    }));
                }
            }
        }
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The service control policy that makes "administrators manage, never use" a control rather than a convention:
/// only the break-glass role may change a key policy, so neither an IAM administrator nor the key administrator can
/// rewrite a policy to grant itself use. Attach it to the organizational unit of the account.
pub fn scp(break_glass_role: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyBreakGlassChangesKeyPolicies",
            "Effect": "Deny",
            "Action": "kms:PutKeyPolicy",
            "Resource": "*",
            "Condition": { "ArnNotLike": { "aws:PrincipalArn": break_glass_role } }
        }, {
            "Sid": "NoKeyPolicyLockoutBypass",
            "Effect": "Deny",
            "Action": ["kms:CreateKey", "kms:PutKeyPolicy"],
            "Resource": "*",
            "Condition": { "Bool": { "kms:BypassPolicyLockoutSafetyCheck": "true" } }
        }]
    })
}

/// The identity policy a receiving account attaches to the role that copies a shared snapshot: use of the source
/// account's keys (those with the given aliases) through RDS only, to re-encrypt the copy under its own key.
pub fn receiving_account_policy(source_account: &str, region: &str, aliases: &[String]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "UseTheSharedSnapshotKeyThroughRDS",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom"],
            "Resource": format!("arn:aws:kms:{region}:{source_account}:key/*"),
            "Condition": {
                "StringEquals": { "kms:ViaService": format!("rds.{region}.amazonaws.com") },
                "ForAnyValue:StringEquals": { "kms:ResourceAliases": aliases }
            }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key_use: KeyUse) -> PolicySpec {
        PolicySpec {
            account: "111122223333".into(),
            admin_principals: vec!["arn:aws:iam::111122223333:role/KeyAdmin".into()],
            user_principals: vec!["arn:aws:iam::111122223333:role/DbOperator".into()],
            reader_principals: vec!["arn:aws:iam::111122223333:role/Reader".into()],
            key_use,
            share_with_accounts: vec!["444455556666".into()],
        }
    }

    fn rds() -> KeyUse {
        KeyUse::Service {
            services: vec!["rds".into()],
            region: "eu-west-1".into(),
        }
    }

    fn statements(policy: &Value) -> &Vec<Value> {
        policy["Statement"]
            .as_array()
            .unwrap_or_else(|| panic!("no statements"))
    }

    fn by_sid<'a>(policy: &'a Value, sid: &str) -> &'a Value {
        statements(policy)
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}: {policy}"))
    }

    fn actions(statement: &Value) -> Vec<&str> {
        match &statement["Action"] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(|a| a.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn administrators_cannot_use_or_grant_but_can_swap_aliases() {
        let policy = key_policy(&spec(rds()));
        let admin = actions(by_sid(&policy, "KeyAdministratorsManageButNeverUse"));
        for forbidden in [
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:CreateGrant",
            "kms:GenerateDataKey",
            "kms:ReEncryptFrom",
        ] {
            assert!(
                !admin.contains(&forbidden),
                "{forbidden} granted to administrators"
            );
        }
        assert!(admin.iter().all(|a| !a.ends_with('*')));
        assert!(
            admin.contains(&"kms:UpdateAlias"),
            "alias-swap rotation needs it"
        );
    }

    #[test]
    fn the_account_root_keeps_what_auditors_and_config_read() {
        let policy = key_policy(&spec(rds()));
        let root = actions(by_sid(&policy, "AccountAuditorsReadAndPolicyRepair"));
        for needed in [
            "kms:GetKeyRotationStatus",
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:ListResourceTags",
            "kms:PutKeyPolicy",
        ] {
            assert!(root.contains(&needed), "{needed} missing from the root");
        }
        assert!(!root.contains(&"kms:Decrypt"));
    }

    #[test]
    fn storage_users_go_through_the_service_without_wildcards_or_service_principals() {
        let policy = key_policy(&spec(rds()));
        let text = policy.to_string();
        assert!(text.contains("\"kms:ViaService\":[\"rds.eu-west-1.amazonaws.com\"]"));
        for s in statements(&policy) {
            assert!(
                s["Principal"]["Service"].is_null(),
                "service principal in {s}"
            );
            assert_ne!(s["Principal"]["AWS"], "*", "no public principal");
            for a in actions(s) {
                assert!(!a.ends_with('*'), "wildcard {a} in {}", s["Sid"]);
            }
        }
    }

    #[test]
    fn shared_accounts_create_grants_only_for_aws_resources() {
        let policy = key_policy(&spec(rds()));
        let grants = by_sid(&policy, "SharedSnapshotAccountsGrantsForAWSResourcesOnly");
        assert_eq!(actions(grants), ["kms:CreateGrant"]);
        assert_eq!(
            grants["Condition"]["Bool"]["kms:GrantIsForAWSResource"],
            "true"
        );
        let using = by_sid(&policy, "SharedSnapshotAccountsThroughTheServiceOnly");
        assert!(!actions(using).contains(&"kms:CreateGrant"));
    }

    #[test]
    fn cell_keys_are_confined_to_their_table_and_column_values() {
        let policy = key_policy(&spec(KeyUse::AppDataKeys {
            region: "eu-west-1".into(),
            columns: vec![
                ("cards".into(), "pan".into()),
                ("cards".into(), "cvv".into()),
                ("people".into(), "ssn".into()),
            ],
        }));
        let writer = by_sid(&policy, "WriterCards");
        let eq = &writer["Condition"]["StringEquals"];
        assert_eq!(eq["kms:EncryptionContext:atrest:table"], "cards");
        assert_eq!(
            eq["kms:EncryptionContext:atrest:column"],
            json!(["pan", "cvv"])
        );
        assert!(
            writer["Condition"]["Null"].is_null(),
            "values, not presence"
        );
        assert!(actions(writer).contains(&"kms:ReEncryptFrom"));
        let reader = by_sid(&policy, "ReaderPeople");
        assert_eq!(actions(reader), ["kms:Decrypt"]);
        assert_eq!(
            reader["Principal"]["AWS"],
            json!(["arn:aws:iam::111122223333:role/Reader"])
        );
    }

    #[test]
    fn the_ebs_default_key_serves_every_ec2_user_and_auto_scaling() {
        let policy = key_policy(&spec(KeyUse::EbsDefault {
            region: "us-east-1".into(),
        }));
        let all = by_sid(&policy, "EveryAccountPrincipalThroughEC2");
        assert_eq!(
            all["Condition"]["StringEquals"]["kms:CallerAccount"],
            "111122223333"
        );
        let asg = by_sid(&policy, "AutoScalingServiceLinkedRoleGrants");
        assert_eq!(
            asg["Principal"]["AWS"],
            "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        );
    }

    #[test]
    fn the_scp_confines_key_policy_changes_to_the_break_glass_role() {
        let p = scp("arn:aws:iam::*:role/KeyPolicyBreakGlass");
        let s = &p["Statement"][0];
        assert_eq!(s["Effect"], "Deny");
        assert_eq!(s["Action"], "kms:PutKeyPolicy");
        assert_eq!(
            s["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
            "arn:aws:iam::*:role/KeyPolicyBreakGlass"
        );
    }

    #[test]
    fn statement_ids_are_alphanumeric() {
        assert_eq!(sid(&["writer", "order_items-2"]), "WriterOrderItems2");
    }
}
