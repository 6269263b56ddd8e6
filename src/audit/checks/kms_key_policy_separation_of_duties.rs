//! No principal the key policy names can both change who may use the key (`PutKeyPolicy`, or a `CreateGrant` that
//! can pass operations on) and use it (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, Sign/Verify, MACs), after
//! the policy's own Denies. Asked of the evaluator, principal by principal, over the key policy alone. A
//! `CreateGrant` limited to grants for AWS resources (`kms:GrantIsForAWSResource`, as in the console's default
//! policy for key users) changes nothing and does not count, nor does what a principal may do only through an AWS
//! service (`kms:ViaService`, as in the `aws/rds` policy). The account principal (`arn:aws:iam::<account>:root`
//! or the bare account id) is left out: it delegates to IAM policies, where separation of duties must then be
//! reviewed; AWS's default key policy is exactly this statement.

use super::{Verdict, parsed_key_policy, policy_alone, policy_keys, use_actions};
use crate::access::{KmsAction, Principal, PrincipalKind, PrincipalType, Principals, Verdict as V};
use crate::audit::inventory::{Inventory, KmsKey};

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    policy_keys(inv).map(judge).collect()
}

/// Allowed, or allowed under conditions, other than only through an AWS service (`kms:ViaService`): a statement
/// such as `aws/rds`'s lets the account's principals use the key through RDS, for RDS's own grants and data.
fn may(d: &crate::access::Decision) -> bool {
    matches!(d.verdict, V::Allowed | V::AllowedIf(_))
        && d.via.is_none_or(|v| v.path != crate::access::Path::ViaService)
}

fn judge(k: &KmsKey) -> Verdict {
    let name = k.display_name();
    let (key, policy) = match parsed_key_policy(k) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let mut named: Vec<String> = Vec::new();
    let mut delegates_to_iam = false;
    for s in &policy.statements {
        if let (Some(Principals::Listed(items)), false) = (&s.principal, s.not_principal) {
            for (kind, value) in items {
                if *kind != PrincipalKind::Aws || value.contains('*') {
                    continue;
                }
                let p = if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
                    Principal::root(value)
                } else {
                    Principal::iam(value)
                };
                if p.kind == PrincipalType::Root {
                    delegates_to_iam = true;
                } else if !named.contains(value) {
                    named.push(value.clone());
                }
            }
        }
    }
    let uses = use_actions(&key);
    let mut actions = vec![KmsAction::PutKeyPolicy, KmsAction::CreateGrant];
    actions.extend(uses.iter().copied());
    let both: Vec<String> = named
        .into_iter()
        .filter(|arn| {
            let d = policy_alone(&key, &policy, &Principal::iam(arn), &actions);
            let changes = d.iter().any(|d| {
                may(d)
                    && (d.action == KmsAction::PutKeyPolicy
                        || (d.action == KmsAction::CreateGrant && !d.escalates_to.is_empty()))
            });
            let uses_key = d.iter().any(|d| uses.contains(&d.action) && may(d));
            changes && uses_key
        })
        .collect();
    if !both.is_empty() {
        return Verdict::fail(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` lets {} both change who may use the key and use it",
                super::short_list(&both, 5)
            ),
        );
    }
    let note = if delegates_to_iam {
        "; the account principal delegates to IAM policies, which this check does not read"
    } else {
        ""
    };
    Verdict::pass(
        &k.arn,
        &k.region,
        format!("no principal in the policy of key `{name}` both administers and uses the key{note}"),
    )
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testkit::*;
    use crate::model::Status;

    fn with_policy(doc: String) -> Inventory {
        let mut inv = inventory();
        let mut k = key("k1");
        k.policy = Some(doc);
        inv.kms_keys.push(k);
        inv
    }

    const ADMIN: &str = r#"{"Sid":"Admins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyAdmin"},
        "Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*",
        "kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource","kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion"],"Resource":"*"}"#;
    const USE_BY_APP: &str = r#"{"Sid":"Users","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},
        "Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"}"#;
    const USE_BY_ADMIN: &str = r#"{"Sid":"AdminUses","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/KeyAdmin"]},
        "Action":"kms:Decrypt","Resource":"*"}"#;

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
    }

    #[test]
    fn fail() {
        let inv = with_policy(policy(&[ADMIN, USE_BY_APP, USE_BY_ADMIN]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("`arn:aws:iam::111122223333:role/KeyAdmin`"), "{}", r.message);
        assert!(!r.message.contains("role/App"), "{}", r.message);
        let inv = with_policy(policy(&[
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/ops"},"Action":"kms:*","Resource":"*"}"#,
        ]));
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let inv = with_policy(policy(&[ADMIN, USE_BY_APP]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn the_console_default_policy_passes() {
        let grants_for_resources = r#"{"Sid":"Allow attachment of persistent resources","Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],
            "Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}"#;
        let inv = with_policy(policy(&[ADMIN, USE_BY_APP, grants_for_resources]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn a_deny_removes_the_use() {
        let deny = r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyAdmin"},
            "NotAction":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*",
            "kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource","kms:ScheduleKeyDeletion",
            "kms:CancelKeyDeletion"],"Resource":"*"}"#;
        let inv = with_policy(policy(&[ADMIN, USE_BY_APP, USE_BY_ADMIN, deny]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn the_account_principal_delegates_to_iam() {
        let inv = with_policy(root_policy());
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("delegates to IAM"), "{}", r.message);
    }
}
