//! Places every database (RDS DB instance that owns its storage, DB cluster, tagged EC2 database host) on one of
//! the seven encryption-at-rest options, or says it is unencrypted, or that the evidence cannot decide. Every
//! decision carries the evidence it used and its reasons (rule id + text).
//!
//! The API cannot see inside an EC2 instance's operating system, so LUKS and TDE on EC2 are taken from tags the
//! owner sets on the instance ([`ENCRYPTION_TAG`], [`TDE_KEYS_TAG`]).

use serde::{Deserialize, Serialize};

use crate::audit::inventory::{DbHost, Inventory, KeyStore, KmsKey, RdsCluster, RdsInstance};
use crate::model::Reason;

/// The tag that declares the in-host encryption of an EC2 database host: `luks` or `tde`.
pub const ENCRYPTION_TAG: &str = "atrest:encryption";
/// The tag that declares where a TDE host keeps its master keys: `wallet` or `cloudhsm`.
pub const TDE_KEYS_TAG: &str = "atrest:tde-keys";
/// An optional tag naming the engine of an EC2 database host.
pub const ENGINE_TAG: &str = "atrest:engine";

/// The seven options as (number, title), from the decision catalog.
pub fn options() -> Vec<(u8, &'static str)> {
    (1..=7)
        .filter_map(|n| option_title(n).map(|t| (n, t)))
        .collect()
}

/// The option's title from the decision catalog, the same words `advise` and `plan` use.
pub fn option_title(n: u8) -> Option<&'static str> {
    let catalog = crate::catalog::Catalog::embedded().ok()?;
    catalog.option_by_number(n).map(|o| o.file.title.as_str())
}

/// The verdict: an option number, `unencrypted`, or `undetermined` when the evidence is incomplete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placement {
    Option(u8),
    Unencrypted,
    Undetermined,
}

impl Placement {
    pub fn label(self) -> String {
        match self {
            Placement::Option(n) => n.to_string(),
            Placement::Unencrypted => "unencrypted".to_string(),
            Placement::Undetermined => "undetermined".to_string(),
        }
    }
}

impl Serialize for Placement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Placement::Option(n) => s.serialize_u8(*n),
            Placement::Unencrypted => s.serialize_str("unencrypted"),
            Placement::Undetermined => s.serialize_str("undetermined"),
        }
    }
}

impl<'de> Deserialize<'de> for Placement {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u8),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) if option_title(n).is_some() => Ok(Placement::Option(n)),
            Raw::S(s) if s == "unencrypted" => Ok(Placement::Unencrypted),
            Raw::S(s) if s == "undetermined" => Ok(Placement::Undetermined),
            _ => Err(serde::de::Error::custom(
                "expected 1-7, `unencrypted` or `undetermined`",
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseKind {
    RdsInstance,
    RdsCluster,
    Ec2Host,
}

impl DatabaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::RdsInstance => "rds_instance",
            DatabaseKind::RdsCluster => "rds_cluster",
            DatabaseKind::Ec2Host => "ec2_host",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    pub resource: String,
    pub id: String,
    pub region: String,
    pub kind: DatabaseKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    pub option: Placement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_title: Option<String>,
    pub evidence: Evidence,
    pub reasons: Vec<Reason>,
}

/// What the placement rests on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_encrypted: Option<bool>,
    /// RDS `StorageEncryptionType` (`sse-rds`, `sse-kms`, `none`), when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_encryption_type: Option<String>,
    /// The keys behind the storage (one for RDS; one per encrypted volume key for EC2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyEvidence>,
    /// The RDS option group that turns on the engine's own TDE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tde_option_group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeEvidence>,
    /// In-host encryption declared by tags (EC2 hosts).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub declared: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvidence {
    /// The key as the resource names it.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The key's first alias, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// `aws_owned`, `aws_managed`, `customer_managed` or `unknown`.
    pub manager: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// `standard`, `cloudhsm`, `external` or `unknown`.
    pub key_store: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_state: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeEvidence {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

fn reason(rule: &str, text: String) -> Reason {
    Reason {
        rule: rule.to_string(),
        text,
        facts: Vec::new(),
    }
}

fn key_evidence(reference: &str, key: Option<&KmsKey>) -> KeyEvidence {
    match key {
        Some(k) => KeyEvidence {
            reference: reference.to_string(),
            arn: Some(k.arn.clone()),
            alias: k.aliases.first().cloned(),
            manager: k.manager_label().to_string(),
            origin: k.origin.clone(),
            key_store: k.key_store().as_str().to_string(),
            custom_key_store_id: k.custom_key_store_id.clone(),
            key_state: k.key_state.clone(),
        },
        None => KeyEvidence {
            reference: reference.to_string(),
            manager: "unknown".to_string(),
            key_store: "unknown".to_string(),
            ..KeyEvidence::default()
        },
    }
}

fn aws_owned_key() -> KeyEvidence {
    KeyEvidence {
        reference: "AWS owned key".to_string(),
        manager: "aws_owned".to_string(),
        key_store: "standard".to_string(),
        ..KeyEvidence::default()
    }
}

/// Classifies every database in the inventory, sorted by resource.
pub fn classify(inv: &Inventory) -> Vec<Database> {
    let mut out: Vec<Database> = Vec::new();
    out.extend(
        inv.rds_instances
            .iter()
            .filter(|i| i.cluster_id.is_none())
            .map(|i| classify_rds_instance(inv, i)),
    );
    out.extend(
        inv.rds_clusters
            .iter()
            .map(|c| classify_rds_cluster(inv, c)),
    );
    out.extend(inv.db_hosts.iter().map(|h| classify_ec2_host(inv, h)));
    out.sort_by(|a, b| a.resource.cmp(&b.resource).then(a.region.cmp(&b.region)));
    out
}

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

fn classify_rds_instance(inv: &Inventory, i: &RdsInstance) -> Database {
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
    database(
        i.arn.clone(),
        i.id.clone(),
        i.region.clone(),
        DatabaseKind::RdsInstance,
        Some(i.engine.clone()),
        placement,
        evidence,
        reasons,
    )
}

fn classify_rds_cluster(inv: &Inventory, c: &RdsCluster) -> Database {
    let storage = Storage {
        what: format!("DB cluster `{}`", c.id),
        region: &c.region,
        encrypted: c.storage_encrypted,
        encryption_type: c.storage_encryption_type.as_deref(),
        key: c.kms_key_id.as_deref(),
    };
    let (placement, evidence, reasons) = rds_storage(inv, &storage);
    database(
        c.arn.clone(),
        c.id.clone(),
        c.region.clone(),
        DatabaseKind::RdsCluster,
        Some(c.engine.clone()),
        placement,
        evidence,
        reasons,
    )
}

#[allow(clippy::too_many_arguments)]
fn database(
    resource: String,
    id: String,
    region: String,
    kind: DatabaseKind,
    engine: Option<String>,
    option: Placement,
    evidence: Evidence,
    reasons: Vec<Reason>,
) -> Database {
    let option_title = match option {
        Placement::Option(n) => option_title(n).map(str::to_string),
        _ => None,
    };
    Database {
        resource,
        id,
        region,
        kind,
        engine,
        option,
        option_title,
        evidence,
        reasons,
    }
}

fn tag<'a>(h: &'a DbHost, key: &str) -> Option<&'a str> {
    h.tags
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Options 3 to 7 for an EC2 database host.
fn classify_ec2_host(inv: &Inventory, h: &DbHost) -> Database {
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
    database(
        h.arn.clone(),
        h.id.clone(),
        h.region.clone(),
        DatabaseKind::Ec2Host,
        engine,
        placement,
        evidence,
        reasons,
    )
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::audit::inventory::RdsOptionGroup;
    use crate::audit::testkit::*;

    fn placements(inv: &Inventory) -> Vec<(String, Placement)> {
        classify(inv)
            .into_iter()
            .map(|d| (d.id, d.option))
            .collect()
    }

    fn hsm_key(id: &str) -> KmsKey {
        let mut k = key(id);
        k.origin = Some("AWS_CLOUDHSM".into());
        k.custom_key_store_id = Some("cks-1234567890abcdef0".into());
        k
    }

    #[test]
    fn every_option_has_its_catalog_title() {
        for n in 1..=7 {
            assert!(option_title(n).is_some_and(|t| !t.is_empty()), "option {n}");
        }
        assert_eq!(option_title(8), None);
    }

    #[test]
    fn rds_options_1_and_2_and_unencrypted() {
        let mut inv = inventory();
        inv.kms_keys.push(key("std"));
        inv.kms_keys.push(hsm_key("hsm"));
        inv.rds_instances
            .push(rds_instance("a-std", Some(&key_arn("std"))));
        inv.rds_instances
            .push(rds_instance("b-hsm", Some("alias/hsm")));
        inv.rds_instances.push(rds_instance("c-plain", None));
        inv.rds_instances
            .push(rds_instance("d-unknown", Some("default_kms_key_id")));
        let mut owned = rds_cluster("e-owned", None);
        owned.storage_encrypted = true;
        owned.storage_encryption_type = Some("sse-rds".into());
        inv.rds_clusters.push(owned);
        let mut member = rds_instance("f-member", None);
        member.cluster_id = Some("e-owned".into());
        inv.rds_instances.push(member);
        assert_eq!(
            placements(&inv),
            vec![
                ("e-owned".into(), Placement::Option(1)),
                ("a-std".into(), Placement::Option(1)),
                ("b-hsm".into(), Placement::Option(2)),
                ("c-plain".into(), Placement::Unencrypted),
                ("d-unknown".into(), Placement::Undetermined),
            ]
        );
        let dbs = classify(&inv);
        let hsm = dbs.iter().find(|d| d.id == "b-hsm").unwrap();
        assert_eq!(hsm.evidence.keys[0].key_store, "cloudhsm");
        assert_eq!(
            hsm.evidence.keys[0].custom_key_store_id.as_deref(),
            Some("cks-1234567890abcdef0")
        );
        assert_eq!(hsm.reasons[0].rule, "classify.rds.custom_key_store");
    }

    #[test]
    fn rds_tde_option_group_is_a_note_on_top_of_storage() {
        let mut inv = inventory();
        inv.kms_keys.push(key("std"));
        let mut i = rds_instance("ora", Some(&key_arn("std")));
        i.engine = "oracle-ee".into();
        i.option_groups = vec!["ora-tde".into()];
        inv.rds_instances.push(i);
        inv.rds_option_groups.push(RdsOptionGroup {
            name: "ora-tde".into(),
            region: REGION.into(),
            options: vec!["TDE".into()],
        });
        let d = &classify(&inv)[0];
        assert_eq!(d.option, Placement::Option(1));
        assert_eq!(d.evidence.tde_option_group.as_deref(), Some("ora-tde"));
        assert!(
            d.reasons
                .iter()
                .any(|r| r.rule == "classify.rds.native_tde")
        );
    }

    #[test]
    fn ec2_options_3_to_7() {
        let mut inv = inventory();
        inv.kms_keys.push(key("std"));
        inv.kms_keys.push(hsm_key("hsm"));
        inv.ebs_volumes
            .push(volume("vol-std", Some(&key_arn("std")), &[]));
        inv.ebs_volumes
            .push(volume("vol-hsm", Some(&key_arn("hsm")), &[]));
        inv.ebs_volumes.push(volume("vol-plain", None, &[]));
        inv.ebs_volumes.push(volume(
            "vol-unknown-key",
            Some("arn:aws:kms:eu-west-1:444455556666:key/x"),
            &[],
        ));
        inv.db_hosts.push(host("i-3", &[], &["vol-std"]));
        inv.db_hosts.push(host("i-4", &[], &["vol-hsm"]));
        inv.db_hosts
            .push(host("i-5", &[(ENCRYPTION_TAG, "luks")], &["vol-plain"]));
        inv.db_hosts.push(host(
            "i-6",
            &[(ENCRYPTION_TAG, "tde"), (TDE_KEYS_TAG, "wallet")],
            &["vol-std"],
        ));
        inv.db_hosts.push(host(
            "i-7",
            &[(ENCRYPTION_TAG, "TDE"), (TDE_KEYS_TAG, "CloudHSM")],
            &["vol-std"],
        ));
        inv.db_hosts
            .push(host("i-8", &[(ENCRYPTION_TAG, "tde")], &["vol-std"]));
        inv.db_hosts
            .push(host("i-9", &[], &["vol-std", "vol-plain"]));
        inv.db_hosts.push(host("i-a", &[], &["vol-unknown-key"]));
        inv.db_hosts.push(host("i-b", &[], &[]));
        inv.db_hosts.push(host("i-c", &[], &["vol-std", "vol-hsm"]));
        assert_eq!(
            placements(&inv),
            vec![
                ("i-3".into(), Placement::Option(3)),
                ("i-4".into(), Placement::Option(4)),
                ("i-5".into(), Placement::Option(5)),
                ("i-6".into(), Placement::Option(6)),
                ("i-7".into(), Placement::Option(7)),
                ("i-8".into(), Placement::Undetermined),
                ("i-9".into(), Placement::Unencrypted),
                ("i-a".into(), Placement::Undetermined),
                ("i-b".into(), Placement::Undetermined),
                ("i-c".into(), Placement::Option(3)),
            ]
        );
        let luks = classify(&inv).into_iter().find(|d| d.id == "i-5").unwrap();
        assert_eq!(
            luks.evidence
                .declared
                .get(ENCRYPTION_TAG)
                .map(String::as_str),
            Some("luks")
        );
        assert_eq!(luks.evidence.volumes[0].encrypted, Some(false));
    }

    #[test]
    fn placement_serialises_as_number_or_word() {
        assert_eq!(serde_json::to_string(&Placement::Option(4)).unwrap(), "4");
        assert_eq!(
            serde_json::to_string(&Placement::Unencrypted).unwrap(),
            "\"unencrypted\""
        );
        let back: Placement = serde_json::from_str("\"undetermined\"").unwrap();
        assert_eq!(back, Placement::Undetermined);
        assert!(serde_json::from_str::<Placement>("8").is_err());
    }
}
