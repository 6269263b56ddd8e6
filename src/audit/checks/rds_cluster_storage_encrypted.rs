//! Every Aurora or Multi-AZ DB cluster is encrypted at rest.

use super::{Verdict, describe_key};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.rds_clusters
        .iter()
        .map(|c| {
            if !c.storage_encrypted {
                Verdict::fail(
                    &c.arn,
                    &c.region,
                    format!("DB cluster `{}` ({}) is not encrypted at rest", c.id, c.engine),
                )
            } else if c.storage_encryption_type.as_deref() == Some("sse-rds") {
                Verdict::pass(
                    &c.arn,
                    &c.region,
                    format!("DB cluster `{}` ({}) is encrypted at rest with an AWS owned key", c.id, c.engine),
                )
            } else {
                Verdict::pass(
                    &c.arn,
                    &c.region,
                    format!(
                        "DB cluster `{}` ({}) is encrypted at rest with {}",
                        c.id,
                        c.engine,
                        describe_key(inv, &c.region, c.kms_key_id.as_deref())
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
        // Some emulators report a key on unencrypted clusters: only StorageEncrypted counts.
        let mut c = rds_cluster("c1", None);
        c.kms_key_id = Some("default_kms_key_id".into());
        inv.rds_clusters.push(c);
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.rds_clusters.push(rds_cluster("c1", Some("arn:aws:kms:eu-west-1:111122223333:key/gone")));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("unknown key"), "{}", r.message);
    }

    #[test]
    fn pass_with_an_aws_owned_key() {
        let mut inv = inventory();
        let mut c = rds_cluster("c1", None);
        c.storage_encrypted = true;
        c.storage_encryption_type = Some("sse-rds".into());
        inv.rds_clusters.push(c);
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("AWS owned key"));
    }
}
