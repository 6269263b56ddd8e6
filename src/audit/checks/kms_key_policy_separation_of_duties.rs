//! No principal named in a key policy both administers the key (policy, life cycle, rotation, aliases, grants) and
//! uses it for cryptography (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, Sign/Verify, MACs).
//!
//! Allow statements are merged per principal, so one statement granting administration and another granting use
//! to the same principal fail too; conditions are not evaluated (a conditional grant still counts). The account
//! principal (`arn:aws:iam::<account>:root` or the bare account id) is left out: it does not name a person or role
//! but delegates to IAM policies, where separation of duties must then be reviewed; AWS's default key policy is
//! exactly this statement.

use std::collections::BTreeMap;

use super::{Verdict, policy_keys};
use crate::audit::inventory::{Inventory, KmsKey};
use crate::audit::policy::{self, ADMIN_ACTIONS, USE_ACTIONS};

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    policy_keys(inv).map(judge).collect()
}

fn judge(k: &KmsKey) -> Verdict {
    let name = k.display_name();
    let Some(document) = k.policy.as_deref() else {
        return Verdict::not_applicable(&k.arn, &k.region, format!("the policy of key `{name}` was not read"));
    };
    let statements = match policy::parse(document) {
        Ok(s) => s,
        Err(e) => return Verdict::not_applicable(&k.arn, &k.region, format!("key `{name}`: {e}")),
    };
    // principal -> (administers, uses)
    let mut grants: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut delegates_to_iam = false;
    for s in statements.iter().filter(|s| s.allow && !s.not_principal) {
        let admin = ADMIN_ACTIONS.iter().any(|a| s.grants(a));
        let usage = USE_ACTIONS.iter().any(|a| s.grants(a));
        for p in &s.principals {
            if p.is_account() {
                delegates_to_iam = true;
                continue;
            }
            let entry = grants.entry(p.label()).or_default();
            entry.0 |= admin;
            entry.1 |= usage;
        }
    }
    let both: Vec<String> = grants.into_iter().filter(|(_, (a, u))| *a && *u).map(|(p, _)| p).collect();
    if !both.is_empty() {
        return Verdict::fail(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` lets {} both administer and use the key",
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
    fn the_account_principal_delegates_to_iam() {
        let inv = with_policy(root_policy());
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("delegates to IAM"), "{}", r.message);
    }
}
