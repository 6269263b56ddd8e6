//! Every DB cluster snapshot (manual and automated) owned by the account is encrypted.

use super::{Verdict, rds_snapshots_encrypted};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    rds_snapshots_encrypted(inv, &inv.rds_cluster_snapshots, "DB cluster snapshot")
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
        inv.rds_cluster_snapshots.push(rds_cluster_snapshot("cs1", None, private()));
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.rds_cluster_snapshots.push(rds_cluster_snapshot("cs1", Some(&key_arn("k1")), private()));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }
}
