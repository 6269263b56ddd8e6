//! A database snapshot shared with other accounts is encrypted with a customer managed key. AWS managed keys
//! (`aws/rds`, `aws/ebs`) cannot be used by another account: their policy allows only the owning account's
//! principals through the service (`kms:CallerAccount` + `kms:ViaService`) and cannot be changed, so a snapshot
//! shared under one cannot be restored or copied where it is shared. Only snapshots whose sharing was read and that
//! are shared (public or with accounts) are in scope; one whose key is unknown is not applicable.

use super::{Verdict, ebs_snapshot_key, short_list};
use crate::audit::inventory::{Inventory, Sharing};

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    let mut out = Vec::new();
    let shared = |s: &Sharing| s.known && (s.public || !s.accounts.is_empty());
    for (kind, list) in [
        ("DB snapshot", &inv.rds_snapshots),
        ("DB cluster snapshot", &inv.rds_cluster_snapshots),
    ] {
        for s in list.iter().filter(|s| s.encrypted && shared(&s.sharing)) {
            out.push(judge(
                inv,
                &format!("{kind} `{}`", s.id),
                &s.arn,
                &s.region,
                s.kms_key_id.as_deref(),
                &s.sharing,
            ));
        }
    }
    for s in inv
        .ebs_snapshots
        .iter()
        .filter(|s| s.encrypted && shared(&s.sharing))
    {
        out.push(judge(
            inv,
            &format!("EBS snapshot `{}`", s.id),
            &s.arn,
            &s.region,
            ebs_snapshot_key(inv, s),
            &s.sharing,
        ));
    }
    out
}

fn judge(
    inv: &Inventory,
    what: &str,
    arn: &str,
    region: &str,
    reference: Option<&str>,
    sharing: &Sharing,
) -> Verdict {
    let with = if sharing.public {
        "everyone".to_string()
    } else {
        format!("account(s) {}", short_list(&sharing.accounts, 5))
    };
    let aws_alias = reference.is_some_and(|r| r.contains("alias/aws/"));
    match reference.and_then(|r| inv.resolve_key(region, r)) {
        Some(k) if k.is_aws_managed() => Verdict::fail(
            arn,
            region,
            format!(
                "{what} is shared with {with} but encrypted with AWS managed key `{}`, which no other account can use",
                k.display_name()
            ),
        ),
        None if aws_alias => Verdict::fail(
            arn,
            region,
            format!(
                "{what} is shared with {with} but encrypted with AWS managed key `{}`, which no other account can use",
                reference.unwrap_or_default()
            ),
        ),
        Some(k) => Verdict::pass(
            arn,
            region,
            format!(
                "{what} is shared with {with} and encrypted with customer managed key `{}`",
                k.display_name()
            ),
        ),
        None => Verdict::not_applicable(
            arn,
            region,
            format!(
                "{what} is shared with {with}, but its key `{}` is unknown",
                reference.unwrap_or("?")
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testkit::*;
    use crate::model::Status;

    fn shared_with(accounts: &[&str]) -> Sharing {
        Sharing {
            known: true,
            public: false,
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn with_snapshot(key_id: &str, aws_managed: bool, sharing: Sharing) -> Inventory {
        let mut inv = inventory();
        let mut k = key(key_id);
        if aws_managed {
            k.key_manager = Some("AWS".into());
            k.aliases = vec!["alias/aws/rds".into()];
        }
        inv.kms_keys.push(k);
        inv.rds_snapshots
            .push(rds_snapshot("snap", Some(&key_arn(key_id)), sharing));
        inv
    }

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
        let inv = with_snapshot("rds", true, Sharing { known: true, ..Sharing::default() });
        assert!(run(&inv).is_empty(), "a snapshot shared with no one is out of scope");
    }

    #[test]
    fn fail() {
        let r = only(run(&with_snapshot("rds", true, shared_with(&["444455556666"]))));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("`alias/aws/rds`"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let r = only(run(&with_snapshot("cmk", false, shared_with(&["444455556666"]))));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
    }

    #[test]
    fn an_unknown_key_is_not_a_pass() {
        let mut inv = with_snapshot("cmk", false, shared_with(&["444455556666"]));
        inv.kms_keys.clear();
        assert_eq!(only(run(&inv)).status, Status::NotApplicable);
    }
}
