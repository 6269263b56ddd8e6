//! No DB cluster snapshot can be restored by every AWS account (`restore` attribute `all`).

use super::{Verdict, snapshot_not_public};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.rds_cluster_snapshots
        .iter()
        .map(|s| {
            let automated = s.snapshot_type.as_deref() == Some("automated");
            snapshot_not_public(&s.arn, &s.region, &format!("DB cluster snapshot `{}`", s.id), &s.sharing, automated)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::inventory::Sharing;
    use crate::audit::testkit::*;
    use crate::model::Status;

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
    }

    #[test]
    fn fail() {
        let mut inv = inventory();
        inv.rds_cluster_snapshots.push(rds_cluster_snapshot("cs1", Some(&key_arn("k1")), public()));
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.rds_cluster_snapshots.push(rds_cluster_snapshot("cs1", None, private()));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("is not shared"));
    }

    #[test]
    fn unread_sharing_is_not_applicable() {
        let mut inv = inventory();
        inv.rds_cluster_snapshots.push(rds_cluster_snapshot("cs1", None, Sharing::default()));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::NotApplicable);
        assert!(r.message.contains("could not be read"));
    }
}
