//! No EBS snapshot grants `createVolumePermission` to group `all`.

use super::{Verdict, snapshot_not_public};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.ebs_snapshots
        .iter()
        .map(|s| snapshot_not_public(&s.arn, &s.region, &format!("EBS snapshot `{}`", s.id), &s.sharing, false))
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
        inv.ebs_snapshots.push(ebs_snapshot("snap-1", None, public()));
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.ebs_snapshots.push(ebs_snapshot("snap-1", None, private()));
        inv.ebs_snapshots.push(ebs_snapshot("snap-2", None, shared_with(&["444455556666"])));
        assert!(run(&inv).iter().all(|r| r.status == Status::Pass));
    }
}
