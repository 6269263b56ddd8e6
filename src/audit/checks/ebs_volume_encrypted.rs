//! Every EBS volume is encrypted.

use super::{Verdict, describe_key};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.ebs_volumes
        .iter()
        .map(|v| {
            let attached = if v.attached_to.is_empty() {
                String::from(" (not attached)")
            } else {
                format!(" (attached to {})", super::short_list(&v.attached_to, 3))
            };
            if v.encrypted {
                Verdict::pass(
                    &v.arn,
                    &v.region,
                    format!(
                        "EBS volume `{}`{attached} is encrypted with {}",
                        v.id,
                        describe_key(inv, &v.region, v.kms_key_id.as_deref())
                    ),
                )
            } else {
                Verdict::fail(&v.arn, &v.region, format!("EBS volume `{}`{attached} is not encrypted", v.id))
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
        inv.ebs_volumes.push(volume("vol-1", None, &["i-1"]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("attached to `i-1`"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.ebs_volumes.push(volume("vol-1", Some(&key_arn("k1")), &[]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }
}
