//! No key that protects a database, volume or snapshot is scheduled for deletion: once deleted, everything it
//! encrypted is unreadable for good.

use super::{Verdict, keys_in_use, short_list};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    keys_in_use(inv)
        .into_iter()
        .map(|u| {
            let k = u.key;
            let users = short_list(&u.users, 3);
            if k.state() == "PendingDeletion" {
                let when = k.deletion_date.as_deref().map(|d| format!(" on {d}")).unwrap_or_default();
                Verdict::fail(
                    &k.arn,
                    &k.region,
                    format!(
                        "key `{}` is scheduled for deletion{when} but still protects {} resource(s): {users}",
                        k.display_name(),
                        u.users.len()
                    ),
                )
            } else {
                Verdict::pass(
                    &k.arn,
                    &k.region,
                    format!(
                        "key `{}` ({}) protects {} resource(s) and is not scheduled for deletion",
                        k.display_name(),
                        k.state(),
                        u.users.len()
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
        let mut inv = inventory();
        inv.kms_keys.push(key("unused"));
        assert!(run(&inv).is_empty(), "keys nothing refers to are out of scope");
    }

    #[test]
    fn fail() {
        let mut inv = inventory();
        let mut k = key("k1");
        k.key_state = Some("PendingDeletion".into());
        k.deletion_date = Some("2026-12-01T00:00:00Z".into());
        inv.kms_keys.push(k);
        inv.rds_instances.push(rds_instance("db1", Some("k1")));
        inv.ebs_volumes.push(volume("vol-1", Some(&key_arn("k1")), &[]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.resource, key_arn("k1"));
        assert!(r.message.contains("2 resource(s)"), "{}", r.message);
        assert!(r.message.contains("2026-12-01"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.kms_keys.push(key("k1"));
        inv.rds_clusters.push(rds_cluster("c1", Some("alias/k1")));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }
}
