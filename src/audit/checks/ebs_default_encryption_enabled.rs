//! EBS encryption by default is on in every audited region (an account setting per region).

use super::{Verdict, describe_key};
use crate::audit::inventory::Inventory;

/// The synthetic resource id of a region's EBS account settings.
pub fn resource(inv: &Inventory, region: &str) -> String {
    format!("{}ebs-encryption-by-default", inv.arn_prefix("ec2", region))
}

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.ebs_region_settings
        .iter()
        .filter_map(|s| {
            let on = s.encryption_by_default?;
            let arn = resource(inv, &s.region);
            Some(if on {
                let key = match s.default_kms_key_id.as_deref() {
                    Some(k) => format!("; new volumes use {}", describe_key(inv, &s.region, Some(k))),
                    None => String::from("; the default key could not be read"),
                };
                Verdict::pass(&arn, &s.region, format!("EBS encryption by default is on in `{}`{key}", s.region))
            } else {
                Verdict::fail(
                    &arn,
                    &s.region,
                    format!(
                        "EBS encryption by default is off in `{}`: new volumes are unencrypted unless each request asks",
                        s.region
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::inventory::EbsRegionSettings;
    use crate::audit::testkit::*;
    use crate::model::Status;

    fn settings(on: Option<bool>, key: Option<&str>) -> EbsRegionSettings {
        EbsRegionSettings {
            region: REGION.into(),
            encryption_by_default: on,
            default_kms_key_id: key.map(str::to_string),
        }
    }

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
        let mut inv = inventory();
        inv.ebs_region_settings.push(settings(None, None));
        assert!(run(&inv).is_empty(), "an unread setting is reported as an error, not judged");
    }

    #[test]
    fn fail() {
        let mut inv = inventory();
        inv.ebs_region_settings.push(settings(Some(false), None));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.resource, "arn:aws:ec2:eu-west-1:111122223333:ebs-encryption-by-default");
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        let mut k = key("ebs");
        k.aliases = vec!["alias/aws/ebs".into()];
        inv.kms_keys.push(k);
        inv.ebs_region_settings.push(settings(Some(true), Some("alias/aws/ebs")));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("`alias/aws/ebs` (AWS managed)"), "{}", r.message);
        inv.kms_keys.clear();
        let r = only(run(&inv));
        assert!(r.message.contains("AWS managed key `alias/aws/ebs`"), "{}", r.message);
    }
}
