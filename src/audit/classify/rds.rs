//! RDS: DB instances that own their storage and DB clusters, on options 1 and 2 (storage encryption with a key in
//! KMS or a custom key store), with RDS-native TDE noted from the option group.

use super::{Database, DatabaseKind, Evidence, Placement, aws_owned_key, key_evidence, reason};
use crate::audit::inventory::{Inventory, KeyStore, RdsCluster, RdsInstance};
use crate::model::Reason;

struct Storage<'a> {
    what: String,
    region: &'a str,
    encrypted: bool,
    encryption_type: Option<&'a str>,
    key: Option<&'a str>,
}

/// Options 1 and 2: storage encryption and where its key lives.
fn rds_storage(inv: &Inventory, s: &Storage<'_>) -> (Placement, Evidence, Vec<Reason>) {
    let mut evidence = Evidence {
        storage_encrypted: Some(s.encrypted),
        storage_encryption_type: s.encryption_type.map(str::to_string),
        ..Evidence::default()
    };
    let mut reasons = Vec::new();
    if !s.encrypted {
        reasons.push(reason(
            "classify.rds.unencrypted",
            format!("{} has storage encryption off", s.what),
        ));
        return (Placement::Unencrypted, evidence, reasons);
    }
    if s.encryption_type == Some("sse-rds") {
        evidence.keys.push(aws_owned_key());
        reasons.push(reason(
            "classify.rds.aws_owned_key",
            format!(
                "{} is encrypted with an AWS owned key (standard key store)",
                s.what
            ),
        ));
        return (Placement::Option(1), evidence, reasons);
    }
    let Some(reference) = s.key else {
        reasons.push(reason(
            "classify.rds.key_not_reported",
            format!(
                "{} is encrypted but its key was not reported; options 1 and 2 remain possible",
                s.what
            ),
        ));
        return (Placement::Undetermined, evidence, reasons);
    };
    let key = inv.resolve_key(s.region, reference);
    evidence.keys.push(key_evidence(reference, key));
    let Some(key) = key else {
        reasons.push(reason(
            "classify.rds.unknown_key",
            format!(
                "{} is encrypted with key `{reference}`, which could not be read; options 1 and 2 remain possible",
                s.what
            ),
        ));
        return (Placement::Undetermined, evidence, reasons);
    };
    let placement = match key.key_store() {
        KeyStore::Standard => {
            reasons.push(reason(
                "classify.rds.standard_key_store",
                format!(
                    "{} is encrypted with {} key `{}` in the standard KMS key store",
                    s.what,
                    key.manager_label().replace('_', " "),
                    key.display_name()
                ),
            ));
            Placement::Option(1)
        }
        store @ (KeyStore::Cloudhsm | KeyStore::External) => {
            reasons.push(reason(
                "classify.rds.custom_key_store",
                format!(
                    "{} is encrypted with key `{}` in a {} custom key store",
                    s.what,
                    key.display_name(),
                    store_name(store)
                ),
            ));
            Placement::Option(2)
        }
        KeyStore::Unknown => {
            reasons.push(reason(
                "classify.rds.unknown_key_store",
                format!(
                    "{} is encrypted with key `{}` whose origin was not reported; options 1 and 2 remain possible",
                    s.what,
                    key.display_name()
                ),
            ));
            Placement::Undetermined
        }
    };
    (placement, evidence, reasons)
}

fn store_name(store: KeyStore) -> &'static str {
    match store {
        KeyStore::Cloudhsm => "CloudHSM",
        KeyStore::External => "external (XKS)",
        KeyStore::Standard => "standard",
        KeyStore::Unknown => "unknown",
    }
}

/// Option names that turn on an engine's TDE in an RDS option group (Oracle `TDE`, SQL Server
/// `TRANSPARENT_DATA_ENCRYPTION`).
const TDE_OPTIONS: &[&str] = &["TDE", "TRANSPARENT_DATA_ENCRYPTION"];

pub(super) fn instance(inv: &Inventory, i: &RdsInstance) -> Database {
    let storage = Storage {
        what: format!("RDS instance `{}`", i.id),
        region: &i.region,
        encrypted: i.storage_encrypted,
        encryption_type: i.storage_encryption_type.as_deref(),
        key: i.kms_key_id.as_deref(),
    };
    let (placement, mut evidence, mut reasons) = rds_storage(inv, &storage);
    let tde_group = i.option_groups.iter().find(|name| {
        inv.rds_option_groups.iter().any(|g| {
            &g.name == *name
                && g.region == i.region
                && g.options
                    .iter()
                    .any(|o| TDE_OPTIONS.iter().any(|t| o.eq_ignore_ascii_case(t)))
        })
    });
    if let Some(group) = tde_group {
        evidence.tde_option_group = Some(group.clone());
        reasons.push(reason(
            "classify.rds.native_tde",
            format!(
                "RDS-native TDE is on through option group `{group}`: the engine encrypts data files with its own keys, on top of the storage option"
            ),
        ));
    }
    Database {
        resource: i.arn.clone(),
        id: i.id.clone(),
        region: i.region.clone(),
        kind: DatabaseKind::RdsInstance,
        engine: Some(i.engine.clone()),
        option: placement,
        option_title: None,
        evidence,
        reasons,
        account: None,
        account_name: None,
    }
}

pub(super) fn cluster(inv: &Inventory, c: &RdsCluster) -> Database {
    let storage = Storage {
        what: format!("DB cluster `{}`", c.id),
        region: &c.region,
        encrypted: c.storage_encrypted,
        encryption_type: c.storage_encryption_type.as_deref(),
        key: c.kms_key_id.as_deref(),
    };
    let (placement, evidence, reasons) = rds_storage(inv, &storage);
    Database {
        resource: c.arn.clone(),
        id: c.id.clone(),
        region: c.region.clone(),
        kind: DatabaseKind::RdsCluster,
        engine: Some(c.engine.clone()),
        option: placement,
        option_title: None,
        evidence,
        reasons,
        account: None,
        account_name: None,
    }
}
