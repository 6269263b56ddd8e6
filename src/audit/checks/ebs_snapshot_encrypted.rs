//! Every EBS snapshot owned by the account is encrypted.

use super::{Verdict, describe_key};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.ebs_snapshots
        .iter()
        .map(|s| {
            if s.encrypted {
                let key = super::ebs_snapshot_key(inv, s);
                Verdict::pass(
                    &s.arn,
                    &s.region,
                    format!(
                        "EBS snapshot `{}` is encrypted with {}",
                        s.id,
                        describe_key(inv, &s.region, key)
                    ),
                )
            } else {
                Verdict::fail(&s.arn, &s.region, format!("EBS snapshot `{}` is not encrypted", s.id))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testkit::*;
    use crate::model::Status;

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
    }

    #[test]
    fn fail() {
        let mut inv = inventory();
        inv.ebs_snapshots.push(ebs_snapshot("snap-1", None, private()));
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.kms_keys.push(key("k1"));
        inv.ebs_volumes.push(volume("vol-1", Some(&key_arn("k1")), &[]));
        let mut s = ebs_snapshot("snap-1", Some("x"), private());
        s.kms_key_id = None;
        inv.ebs_snapshots.push(s);
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("`alias/k1`"), "{}", r.message);
    }
}
