//! No grant on the account's keys names a grantee of another account. A grant allows its operations to its grantee
//! with no key policy statement and no IAM policy on the key's side, so a grantee outside the account is access the
//! key policy does not show. AWS service principals are not other accounts. Keys whose grants were not collected are
//! not applicable: not collected, never "no grants".

use super::{Verdict, short_list};
use crate::audit::inventory::{Inventory, KmsKey, account_of};

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    let own = inv.account.as_deref();
    inv.kms_keys
        .iter()
        .filter(|k| own.is_none() || account_of(&k.arn) == own)
        .map(|k| judge(k, own.or_else(|| account_of(&k.arn))))
        .collect()
}

fn judge(k: &KmsKey, own: Option<&str>) -> Verdict {
    let name = k.display_name();
    let Some(grants) = &k.grants else {
        return Verdict::not_applicable(
            &k.arn,
            &k.region,
            format!("the grants of key `{name}` were not collected"),
        );
    };
    let external: Vec<String> = grants
        .iter()
        .filter(|g| {
            let grantee = g.grantee_principal.as_str();
            let account = if grantee.len() == 12 && grantee.bytes().all(|b| b.is_ascii_digit()) {
                Some(grantee)
            } else {
                account_of(grantee)
            };
            matches!((account, own), (Some(a), Some(o)) if a != o)
        })
        .map(|g| format!("{} to {}", g.grant_id, g.grantee_principal))
        .collect();
    if external.is_empty() {
        Verdict::pass(
            &k.arn,
            &k.region,
            format!(
                "the {} grant(s) of key `{name}` name no principal of another account",
                grants.len()
            ),
        )
    } else {
        Verdict::fail(
            &k.arn,
            &k.region,
            format!(
                "key `{name}` has grant(s) to principals of other accounts: {}",
                short_list(&external, 5)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::inventory::KmsGrant;
    use crate::audit::testkit::*;
    use crate::model::Status;

    fn grant(id: &str, grantee: &str) -> KmsGrant {
        KmsGrant {
            grant_id: id.into(),
            grantee_principal: grantee.into(),
            operations: vec!["Decrypt".into()],
            ..KmsGrant::default()
        }
    }

    fn with_grants(grants: Option<Vec<KmsGrant>>) -> Inventory {
        let mut inv = inventory();
        let mut k = key("k1");
        k.grants = grants;
        inv.kms_keys.push(k);
        inv
    }

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
        let mut inv = inventory();
        inv.kms_keys
            .push(KmsKey { arn: "arn:aws:kms:eu-west-1:444455556666:key/x".into(), ..key("x") });
        assert!(run(&inv).is_empty(), "another account's key is out of scope");
    }

    #[test]
    fn fail() {
        let r = only(run(&with_grants(Some(vec![
            grant("g-own", "arn:aws:iam::111122223333:role/App"),
            grant("g-ext", "arn:aws:iam::444455556666:role/Partner"),
        ]))));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("g-ext to arn:aws:iam::444455556666:role/Partner"), "{}", r.message);
        assert!(!r.message.contains("g-own"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let r = only(run(&with_grants(Some(vec![
            grant("g-own", "arn:aws:iam::111122223333:role/App"),
            grant("g-svc", "rds.eu-west-1.amazonaws.com"),
        ]))));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        assert_eq!(only(run(&with_grants(Some(Vec::new())))).status, Status::Pass);
    }

    #[test]
    fn grants_not_collected_are_not_a_pass() {
        let r = only(run(&with_grants(None)));
        assert_eq!(r.status, Status::NotApplicable);
        assert!(r.message.contains("not collected"), "{}", r.message);
    }
}
