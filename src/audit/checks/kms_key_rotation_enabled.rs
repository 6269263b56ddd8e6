//! Automatic rotation is on for every customer managed symmetric encryption key in the standard key store. Other
//! keys cannot rotate automatically (custom key stores, imported material, asymmetric and HMAC keys) or are rotated
//! by AWS (AWS managed keys): those are not applicable, and the message says why.

use super::Verdict;
use crate::audit::inventory::{Inventory, KmsKey};

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    inv.kms_keys.iter().map(judge).collect()
}

fn judge(k: &KmsKey) -> Verdict {
    let name = k.display_name();
    let na = |why: String| Verdict::not_applicable(&k.arn, &k.region, why);
    if k.is_aws_managed() {
        return na(format!("key `{name}` is AWS managed: AWS rotates it every year and it cannot be configured"));
    }
    if k.key_store().is_custom() {
        return na(format!(
            "key `{name}` is in a custom key store ({}): automatic rotation is not available; rotate by moving data to a new key",
            k.key_store().as_str()
        ));
    }
    if k.origin.as_deref() == Some("EXTERNAL") {
        return na(format!(
            "key `{name}` has imported key material: automatic rotation is not available; rotate it manually"
        ));
    }
    let spec = k.key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT");
    if spec != "SYMMETRIC_DEFAULT" {
        let kind = if spec.starts_with("HMAC") { "an HMAC" } else { "an asymmetric" };
        return na(format!("key `{name}` is {kind} key ({spec}): automatic rotation is not available"));
    }
    if k.state() == "PendingDeletion" {
        return na(format!("key `{name}` is pending deletion"));
    }
    match k.rotation_enabled {
        Some(true) => Verdict::pass(&k.arn, &k.region, format!("key `{name}` rotates automatically")),
        Some(false) => Verdict::fail(&k.arn, &k.region, format!("key `{name}` does not rotate automatically")),
        None => na(format!("the rotation status of key `{name}` could not be read")),
    }
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
        let mut k = key("k1");
        k.rotation_enabled = Some(false);
        inv.kms_keys.push(k);
        assert_eq!(only(run(&inv)).status, Status::Fail);
    }

    #[test]
    fn pass() {
        let mut inv = inventory();
        inv.kms_keys.push(key("k1"));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn keys_that_cannot_rotate_are_not_applicable_and_say_why() {
        let mut inv = inventory();
        type Change = fn(&mut KmsKey);
        let variants: [(&str, Change, &str); 6] = [
            ("hsm", |k| k.origin = Some("AWS_CLOUDHSM".into()), "custom key store (cloudhsm)"),
            ("xks", |k| k.origin = Some("EXTERNAL_KEY_STORE".into()), "custom key store (external)"),
            ("byok", |k| k.origin = Some("EXTERNAL".into()), "imported key material"),
            ("rsa", |k| k.key_spec = Some("RSA_2048".into()), "asymmetric"),
            ("mac", |k| k.key_spec = Some("HMAC_256".into()), "HMAC"),
            ("aws", |k| k.key_manager = Some("AWS".into()), "AWS managed"),
        ];
        for (id, change, _) in &variants {
            let mut k = key(id);
            k.rotation_enabled = Some(true); // some emulators accept rotation on such keys: it must not count
            change(&mut k);
            inv.kms_keys.push(k);
        }
        let results = run(&inv);
        for ((id, _, why), r) in variants.iter().zip(&results) {
            assert_eq!(r.status, Status::NotApplicable, "{id}");
            assert!(r.message.contains(why), "{id}: {}", r.message);
        }
    }
}
