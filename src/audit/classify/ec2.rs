//! EC2 database hosts, on options 3 to 7: EBS encryption with a key in KMS or a custom key store, and the in-host
//! encryption (LUKS, TDE with a wallet or CloudHSM) their owners declare in tags.

use super::{
    Database, DatabaseKind, ENCRYPTION_TAG, ENGINE_TAG, Evidence, Placement, TDE_KEYS_TAG,
    VolumeEvidence, key_evidence, reason,
};
use crate::audit::inventory::{DbHost, Inventory, KeyStore, KmsKey};
use crate::model::Reason;

fn tag<'a>(h: &'a DbHost, key: &str) -> Option<&'a str> {
    h.tags
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Options 3 to 7 for an EC2 database host.
pub(super) fn host(inv: &Inventory, h: &DbHost) -> Database {
    let mut evidence = Evidence::default();
    let mut reasons = Vec::new();
    for t in [ENCRYPTION_TAG, TDE_KEYS_TAG] {
        if let Some(v) = tag(h, t) {
            evidence.declared.insert(t.to_string(), v.to_string());
        }
    }
    let mut ebs_reasons = Vec::new();
    let ebs = ebs_placement(inv, h, &mut evidence, &mut ebs_reasons);
    let declared = tag(h, ENCRYPTION_TAG).map(str::to_ascii_lowercase);
    let placement = match declared.as_deref() {
        Some("luks") => {
            reasons.push(reason(
                "classify.ec2.luks_declared",
                format!("tag `{ENCRYPTION_TAG}=luks` declares LUKS (dm-crypt) encryption inside the instance; the API cannot verify it"),
            ));
            Placement::Option(5)
        }
        Some("tde") => match tag(h, TDE_KEYS_TAG).map(str::to_ascii_lowercase).as_deref() {
            Some("wallet") => {
                reasons.push(reason(
                    "classify.ec2.tde_wallet",
                    format!("tags declare database TDE with its master keys in a local wallet (`{TDE_KEYS_TAG}=wallet`); the API cannot verify it"),
                ));
                Placement::Option(6)
            }
            Some("cloudhsm") => {
                reasons.push(reason(
                    "classify.ec2.tde_cloudhsm",
                    format!("tags declare database TDE with its master keys in AWS CloudHSM (`{TDE_KEYS_TAG}=cloudhsm`); the API cannot verify it"),
                ));
                Placement::Option(7)
            }
            other => {
                reasons.push(reason(
                    "classify.ec2.tde_keys_undeclared",
                    format!(
                        "tag `{ENCRYPTION_TAG}=tde` declares TDE but `{TDE_KEYS_TAG}` is {}; set it to `wallet` or `cloudhsm` (options 6 and 7 remain possible)",
                        other.map(|v| format!("`{v}`")).unwrap_or_else(|| "missing".to_string())
                    ),
                ));
                Placement::Undetermined
            }
        },
        Some(other) if other != "none" && other != "ebs" => {
            reasons.push(reason(
                "classify.ec2.unknown_declaration",
                format!("tag `{ENCRYPTION_TAG}={other}` is not one of `luks`, `tde`, `ebs`, `none`; judged by its EBS volumes alone"),
            ));
            ebs
        }
        _ => ebs,
    };
    reasons.extend(ebs_reasons);
    let engine = tag(h, ENGINE_TAG).map(str::to_string);
    Database {
        resource: h.arn.clone(),
        id: h.id.clone(),
        region: h.region.clone(),
        kind: DatabaseKind::Ec2Host,
        engine,
        option: placement,
        option_title: None,
        evidence,
        reasons,
        account: None,
        account_name: None,
    }
}

/// Options 3 and 4 from the host's EBS volumes; records volume and key evidence.
fn ebs_placement(
    inv: &Inventory,
    h: &DbHost,
    evidence: &mut Evidence,
    reasons: &mut Vec<Reason>,
) -> Placement {
    if h.volume_ids.is_empty() {
        reasons.push(reason(
            "classify.ec2.no_volumes",
            format!("instance `{}` has no EBS volume", h.id),
        ));
        return Placement::Undetermined;
    }
    let mut unencrypted = Vec::new();
    let mut unknown_volumes = Vec::new();
    let mut stores: Vec<KeyStore> = Vec::new();
    let mut unresolved = Vec::new();
    for id in &h.volume_ids {
        let Some(v) = inv
            .ebs_volumes
            .iter()
            .find(|v| &v.id == id && v.region == h.region)
        else {
            unknown_volumes.push(id.clone());
            evidence.volumes.push(VolumeEvidence {
                id: id.clone(),
                ..VolumeEvidence::default()
            });
            continue;
        };
        evidence.volumes.push(VolumeEvidence {
            id: v.id.clone(),
            encrypted: Some(v.encrypted),
            kms_key: v.kms_key_id.clone(),
        });
        if !v.encrypted {
            unencrypted.push(v.id.clone());
            continue;
        }
        let reference = v.kms_key_id.as_deref().unwrap_or("");
        let key = inv.resolve_key(&v.region, reference);
        if !evidence.keys.iter().any(|k| k.reference == reference) {
            evidence.keys.push(key_evidence(reference, key));
        }
        match key.map(KmsKey::key_store) {
            Some(KeyStore::Unknown) | None => unresolved.push(v.id.clone()),
            Some(store) => stores.push(store),
        }
    }
    if !unencrypted.is_empty() {
        reasons.push(reason(
            "classify.ec2.unencrypted_volume",
            format!(
                "EBS volume(s) {} of instance `{}` are not encrypted",
                quoted(&unencrypted),
                h.id
            ),
        ));
        return Placement::Unencrypted;
    }
    if !unknown_volumes.is_empty() || !unresolved.is_empty() {
        let mut parts = Vec::new();
        if !unknown_volumes.is_empty() {
            parts.push(format!(
                "volume(s) {} are not in the inventory",
                quoted(&unknown_volumes)
            ));
        }
        if !unresolved.is_empty() {
            parts.push(format!(
                "the keys of volume(s) {} could not be read",
                quoted(&unresolved)
            ));
        }
        reasons.push(reason(
            "classify.ec2.incomplete",
            format!("{}; options 3 and 4 remain possible", parts.join(" and ")),
        ));
        return Placement::Undetermined;
    }
    if stores.iter().all(|s| s.is_custom()) {
        reasons.push(reason(
            "classify.ec2.ebs_custom_key_store",
            format!(
                "every EBS volume of instance `{}` is encrypted with a key in a custom key store",
                h.id
            ),
        ));
        Placement::Option(4)
    } else {
        let text = if stores.iter().any(|s| s.is_custom()) {
            format!(
                "the EBS volumes of instance `{}` are encrypted, some with keys in the standard KMS key store",
                h.id
            )
        } else {
            format!(
                "every EBS volume of instance `{}` is encrypted with a key in the standard KMS key store",
                h.id
            )
        };
        reasons.push(reason("classify.ec2.ebs_standard_key_store", text));
        Placement::Option(3)
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
