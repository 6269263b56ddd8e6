//! No principal of another account can decrypt with a key behind a database. Asked of the access analysis for every
//! principal the key policy or a grant names outside the account, and for `*` (the root user of any other account):
//! `kms:Decrypt` or `kms:ReEncryptFrom` allowed, allowed under conditions, or unknown only for want of the other
//! account's own IAM policies (which that account controls) fails. Other unknowns (the key policy or grants not
//! collected) are not applicable, never a pass.

use super::{Verdict, short_list};
use crate::audit::access::{AccessEntry, KeyAccess, analyse};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    let report = analyse(inv, None);
    report.keys.iter().map(|k| judge(inv, k)).collect()
}

fn reads(e: &AccessEntry) -> bool {
    matches!(e.principal_type, "external" | "anyone")
        && e.actions.iter().any(|a| a == "kms:Decrypt" || a == "kms:ReEncryptFrom")
}

fn judge(inv: &Inventory, k: &KeyAccess) -> Verdict {
    let region = inv
        .kms_keys
        .iter()
        .find(|key| key.arn == k.arn)
        .map_or("", |key| key.region.as_str());
    let theirs_only =
        |e: &AccessEntry| e.missing.iter().all(|m| m == "the principal's IAM policies");
    let mut outside: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for e in k.entries.iter().filter(|e| reads(e)) {
        if e.may_allow() || (e.verdict == "unknown" && theirs_only(e)) {
            if !outside.contains(&e.principal) {
                outside.push(e.principal.clone());
            }
        } else if e.verdict == "unknown" {
            for m in &e.missing {
                if !missing.contains(m) {
                    missing.push(m.clone());
                }
            }
        }
    }
    if !outside.is_empty() {
        return Verdict::fail(
            &k.arn,
            region,
            format!(
                "principals of other accounts can decrypt with key `{}`: {}",
                k.name,
                short_list(&outside, 5)
            ),
        );
    }
    if !missing.is_empty() || !k.policy_read {
        if missing.is_empty() {
            missing.push("the key policy".to_string());
        }
        return Verdict::not_applicable(
            &k.arn,
            region,
            format!(
                "whether another account can decrypt with key `{}` is unknown: {} not collected",
                k.name,
                missing.join(", ")
            ),
        );
    }
    Verdict::pass(
        &k.arn,
        region,
        format!("no principal of another account can decrypt with key `{}`", k.name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::inventory::{IamDetails, KmsGrant, OrgDetails};
    use crate::audit::testkit::*;
    use crate::model::Status;

    fn account(policy_doc: String, grants: Option<Vec<KmsGrant>>) -> Inventory {
        let mut inv = inventory();
        let mut k = key("k1");
        k.policy = Some(policy_doc);
        k.grants = grants;
        inv.kms_keys.push(k);
        inv.rds_instances.push(rds_instance("db1", Some(&key_arn("k1"))));
        inv.iam = Some(IamDetails::default());
        inv.organization = Some(OrgDetails::default());
        inv
    }

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
    }

    #[test]
    fn fail() {
        let partner = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}"#;
        let r = only(run(&account(policy(&[partner]), Some(Vec::new()))));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("444455556666"), "{}", r.message);
        // Through a grant to another account's role: only that account's IAM stands in the way.
        let grant = KmsGrant {
            grant_id: "g".into(),
            grantee_principal: "arn:aws:iam::444455556666:role/Reader".into(),
            operations: vec!["Decrypt".into()],
            ..KmsGrant::default()
        };
        let r = only(run(&account(root_policy(), Some(vec![grant]))));
        assert_eq!(r.status, Status::Fail, "{}", r.message);
    }

    #[test]
    fn pass() {
        let r = only(run(&account(root_policy(), Some(Vec::new()))));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
    }

    #[test]
    fn grants_not_collected_are_not_a_pass() {
        let r = only(run(&account(root_policy(), None)));
        assert_eq!(r.status, Status::NotApplicable, "{}", r.message);
        assert!(r.message.contains("grants"), "{}", r.message);
    }
}
