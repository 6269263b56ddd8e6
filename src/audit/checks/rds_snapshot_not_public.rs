//! No DB snapshot can be restored by every AWS account (`restore` attribute `all`).

use super::{Verdict, snapshot_not_public};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.rds_snapshots
        .iter()
        .map(|s| {
            let automated = s.snapshot_type.as_deref() == Some("automated");
            snapshot_not_public(&s.arn, &s.region, &format!("DB snapshot `{}`", s.id), &s.sharing, automated)
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
        inv.rds_snapshots.push(rds_snapshot("s1", None, public()));
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.rds_snapshots.push(rds_snapshot("s1", None, shared_with(&["444455556666"])));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("`444455556666`"), "{}", r.message);
    }

    #[test]
    fn automated_snapshots_are_not_applicable() {
        let mut inv = inventory();
        let mut s = rds_snapshot("rds:db1-2026", None, Sharing::default());
        s.snapshot_type = Some("automated".into());
        inv.rds_snapshots.push(s);
        let r = only(run(&inv));
        assert_eq!(r.status, Status::NotApplicable);
        assert!(r.message.contains("automated"));
    }
}
