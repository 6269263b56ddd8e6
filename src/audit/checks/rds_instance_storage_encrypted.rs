//! Every RDS DB instance that owns its storage (not a member of an Aurora or Multi-AZ DB cluster, whose storage the
//! cluster check judges) is encrypted at rest.

use super::{Verdict, describe_key};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.rds_instances
        .iter()
        .filter(|i| i.cluster_id.is_none())
        .map(|i| {
            if !i.storage_encrypted {
                Verdict::fail(
                    &i.arn,
                    &i.region,
                    format!("RDS instance `{}` ({}) is not encrypted at rest", i.id, i.engine),
                )
            } else if i.storage_encryption_type.as_deref() == Some("sse-rds") {
                Verdict::pass(
                    &i.arn,
                    &i.region,
                    format!("RDS instance `{}` ({}) is encrypted at rest with an AWS owned key", i.id, i.engine),
                )
            } else {
                Verdict::pass(
                    &i.arn,
                    &i.region,
                    format!(
                        "RDS instance `{}` ({}) is encrypted at rest with {}",
                        i.id,
                        i.engine,
                        describe_key(inv, &i.region, i.kms_key_id.as_deref())
                    ),
                )
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
        inv.rds_instances.push(rds_instance("db1", None));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("`db1`"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.kms_keys.push(key("k1"));
        inv.rds_instances.push(rds_instance("db1", Some(&key_arn("k1"))));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("`alias/k1` (customer managed)"), "{}", r.message);
    }

    #[test]
    fn cluster_members_are_judged_by_the_cluster() {
        let mut inv = inventory();
        let mut member = rds_instance("m1", None);
        member.cluster_id = Some("c1".into());
        inv.rds_instances.push(member);
        assert!(run(&inv).is_empty());
    }
}
