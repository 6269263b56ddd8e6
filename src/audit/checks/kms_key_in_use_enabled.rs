//! Every key that protects a database, volume or snapshot is enabled: a disabled or unavailable key makes what it
//! encrypted unreadable until it is enabled again.

use super::{Verdict, keys_in_use, short_list};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    keys_in_use(inv)
        .into_iter()
        .map(|u| {
            let k = u.key;
            let users = short_list(&u.users, 3);
            match k.state() {
                "Enabled" => Verdict::pass(
                    &k.arn,
                    &k.region,
                    format!("key `{}` is enabled and protects {} resource(s)", k.display_name(), u.users.len()),
                ),
                "PendingDeletion" => Verdict::not_applicable(
                    &k.arn,
                    &k.region,
                    format!(
                        "key `{}` is pending deletion; judged by kms_key_in_use_not_pending_deletion",
                        k.display_name()
                    ),
                ),
                state => Verdict::fail(
                    &k.arn,
                    &k.region,
                    format!(
                        "key `{}` is {state} but protects {} resource(s): {users}",
                        k.display_name(),
                        u.users.len()
                    ),
                ),
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
        assert!(run(&inv).is_empty());
    }

    #[test]
    fn fail() {
        let mut inv = inventory();
        let mut k = key("k1");
        k.key_state = Some("Disabled".into());
        inv.kms_keys.push(k);
        inv.ebs_snapshots.push(ebs_snapshot("snap-1", Some("k1"), private()));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("is Disabled"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.kms_keys.push(key("k1"));
        inv.ebs_volumes.push(volume("vol-1", Some("alias/k1"), &[]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn pending_deletion_is_left_to_the_deletion_check() {
        let mut inv = inventory();
        let mut k = key("k1");
        k.key_state = Some("PendingDeletion".into());
        inv.kms_keys.push(k);
        inv.ebs_volumes.push(volume("vol-1", Some("k1"), &[]));
        assert_eq!(only(run(&inv)).status, Status::NotApplicable);
    }
}
