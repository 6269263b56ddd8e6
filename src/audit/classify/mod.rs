//! Places every database (RDS DB instance that owns its storage, DB cluster, tagged EC2 database host) on one of
//! the seven encryption-at-rest options, or says it is unencrypted, or that the evidence cannot decide. Every
//! decision carries the evidence it used and its reasons (rule id + text).
//!
//! The API cannot see inside an EC2 instance's operating system, so LUKS and TDE on EC2 are taken from tags the
//! owner sets on the instance ([`ENCRYPTION_TAG`], [`TDE_KEYS_TAG`]).

use serde::{Deserialize, Serialize};

use crate::audit::inventory::{Inventory, KmsKey};
use crate::catalog::Catalog;
use crate::model::Reason;

/// The tag that declares the in-host encryption of an EC2 database host: `luks` or `tde`.
pub const ENCRYPTION_TAG: &str = "atrest:encryption";
/// The tag that declares where a TDE host keeps its master keys: `wallet` or `cloudhsm`.
pub const TDE_KEYS_TAG: &str = "atrest:tde-keys";
/// An optional tag naming the engine of an EC2 database host.
pub const ENGINE_TAG: &str = "atrest:engine";

mod ec2;
mod rds;

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
            Raw::N(n @ 1..=7) => Ok(Placement::Option(n)),
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
    /// The account the database belongs to, in an audit of several accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// That account's Organizations name or IAM alias, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
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

pub(super) fn reason(rule: &str, text: String) -> Reason {
    Reason {
        rule: rule.to_string(),
        text,
        facts: Vec::new(),
    }
}

pub(super) fn key_evidence(reference: &str, key: Option<&KmsKey>) -> KeyEvidence {
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

pub(super) fn aws_owned_key() -> KeyEvidence {
    KeyEvidence {
        reference: "AWS owned key".to_string(),
        manager: "aws_owned".to_string(),
        key_store: "standard".to_string(),
        ..KeyEvidence::default()
    }
}

/// Classifies every database in the inventory, sorted by resource; option titles come from the catalog.
pub fn classify(inv: &Inventory, catalog: &Catalog) -> Vec<Database> {
    let mut out: Vec<Database> = Vec::new();
    out.extend(
        inv.rds_instances
            .iter()
            .filter(|i| i.cluster_id.is_none())
            .map(|i| rds::instance(inv, i)),
    );
    out.extend(inv.rds_clusters.iter().map(|c| rds::cluster(inv, c)));
    out.extend(inv.db_hosts.iter().map(|h| ec2::host(inv, h)));
    for db in &mut out {
        if let Placement::Option(n) = db.option {
            db.option_title = catalog.option_title(n).map(str::to_string);
        }
    }
    out.sort_by(|a, b| a.resource.cmp(&b.resource).then(a.region.cmp(&b.region)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::inventory::RdsOptionGroup;
    use crate::audit::testkit::*;

    fn placements(inv: &Inventory) -> Vec<(String, Placement)> {
        classify(inv, Catalog::embedded().unwrap())
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
        let catalog = Catalog::embedded().unwrap();
        for n in 1..=7 {
            assert!(
                catalog.option_title(n).is_some_and(|t| !t.is_empty()),
                "option {n}"
            );
        }
        assert_eq!(catalog.option_title(8), None);
        assert!(serde_json::from_str::<Placement>("8").is_err());
        assert_eq!(
            serde_json::from_str::<Placement>("7").unwrap(),
            Placement::Option(7)
        );
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
        let dbs = classify(&inv, Catalog::embedded().unwrap());
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
        let d = &classify(&inv, Catalog::embedded().unwrap())[0];
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
        let luks = classify(&inv, Catalog::embedded().unwrap())
            .into_iter()
            .find(|d| d.id == "i-5")
            .unwrap();
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
