//! Every DB snapshot (manual and automated) owned by the account is encrypted.

use super::{Verdict, rds_snapshots_encrypted};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    rds_snapshots_encrypted(inv, &inv.rds_snapshots, "DB snapshot")
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
        inv.rds_snapshots.push(rds_snapshot("s1", None, private()));
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.kms_keys.push(key("k1"));
        inv.rds_snapshots.push(rds_snapshot("s1", Some("alias/k1"), private()));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("`alias/k1`"), "{}", r.message);
    }
}
