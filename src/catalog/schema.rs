//! The shapes of the files in `decision/`, as serde reads them. Unknown keys are errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `decision/facts/<id>.toml`: one dated, sourced fact.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub id: String,
    pub statement: String,
    pub source: String,
    pub date: String,
    pub date_basis: DateBasis,
    pub confidence: Confidence,
    pub topic: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_since_2020: Option<Change>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DateBasis {
    /// The date printed on the source.
    Published,
    /// The source is undated; it is from this date or later.
    NotBefore,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    Unverified,
    Secondary,
    Verified,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Unverified => "unverified",
            Confidence::Secondary => "secondary",
            Confidence::Verified => "verified",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub was: String,
    pub now: String,
}

/// `decision/options/<id>.toml`: one of the seven options, or an overlay.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OptionFile {
    pub id: String,
    #[serde(default)]
    pub number: Option<u8>,
    pub title: String,
    #[serde(default)]
    pub database_management: Option<String>,
    #[serde(default)]
    pub host_label: Option<String>,
    #[serde(default)]
    pub encryption_label: Option<String>,
    #[serde(default)]
    pub key_management_label: Option<String>,
    pub summary: String,
    #[serde(default)]
    pub seed_note: Option<String>,
    #[serde(default)]
    pub facts: Vec<String>,
    pub attributes: toml::Table,
    #[serde(default)]
    pub benefit: Vec<Point>,
    #[serde(default)]
    pub challenge: Vec<Point>,
    /// The ways the option's key-encrypting key can be held; the first is the 2020 post's.
    #[serde(default)]
    pub variant: Vec<VariantFile>,
}

/// A key-protection variant of an option: one way its key-encrypting key is held.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VariantFile {
    /// Unique within the option; `advise --compare 6:tde-kms-wrapped` names it.
    pub id: String,
    pub title: String,
    /// Where the key-encrypting key lives and who can use it.
    pub key_management: String,
    /// Only available where `engines.toml` lists it for the engine (engine TDE key managers).
    #[serde(default)]
    pub engine_listed: bool,
    /// How the key rotates, in words.
    pub rotation: String,
    /// What limits the request rate to the key service.
    pub request_ceiling: String,
    /// What changes in the application.
    pub app_changes: String,
    #[serde(default)]
    pub facts: Vec<String>,
    /// Attributes that differ from the option's `[attributes]`.
    #[serde(default)]
    pub attributes: toml::Table,
    /// Monthly cost items, each a price id and a quantity of its unit.
    #[serde(default)]
    pub cost: Vec<CostItem>,
    /// Costs the catalog cannot price (your own HSM, a licence), in words.
    #[serde(default)]
    pub unpriced: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostItem {
    pub price: String,
    pub quantity: f64,
    /// What the quantity assumes, e.g. `two HSMs, 730 hours each`.
    pub basis: String,
}

/// `decision/prices/<id>.toml`: one dated, sourced unit price in US dollars.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceFile {
    pub id: String,
    pub item: String,
    pub usd: f64,
    /// The unit the price is per, e.g. `key-month`, `HSM-hour`, `10,000 requests`.
    pub unit: String,
    pub region: String,
    pub source: String,
    pub date: String,
    pub date_basis: DateBasis,
    pub confidence: Confidence,
    /// What is not verified, for prices that are not `verified`.
    #[serde(default)]
    pub note: Option<String>,
}

/// A benefit or challenge: structured, with the facts behind it and what changed since 2020.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub facts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
}

/// `decision/rules/<id>.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: String,
    pub effect: Effect,
    pub when: Vec<String>,
    #[serde(default)]
    pub points: Option<i32>,
    #[serde(default)]
    pub overlay: Option<String>,
    #[serde(default)]
    pub level: Option<OverlayLevel>,
    pub reason: String,
    #[serde(default)]
    pub facts: Vec<String>,
    /// For warnings: what the 2020 guidance said that this rule corrects.
    #[serde(default)]
    pub changed_since_2020: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The option cannot meet the requirements.
    Exclude,
    /// Adds `points` (positive or negative) to the option's score.
    Score,
    /// Attaches an overlay to the option.
    Overlay,
    /// A reason attached to the option with no effect on its score.
    Note,
    /// A warning about the requirements as a whole (no `opt.` variables).
    Warn,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Exclude => "exclude",
            Effect::Score => "score",
            Effect::Overlay => "overlay",
            Effect::Note => "note",
            Effect::Warn => "warn",
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum OverlayLevel {
    Suggested,
    Required,
}

impl OverlayLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            OverlayLevel::Required => "required",
            OverlayLevel::Suggested => "suggested",
        }
    }
}

/// `decision/criteria.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaFile {
    pub domains: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub alias: Vec<AliasDef>,
    pub criterion: Vec<CriterionDef>,
    #[serde(default)]
    pub licence_grants: BTreeMap<String, Vec<String>>,
    pub attribute: Vec<AttributeDef>,
    pub scoring: Scoring,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Every feasible option starts from this score.
    pub base: i32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasDef {
    pub criterion: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub warning: String,
    #[serde(default)]
    pub facts: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionDef {
    pub key: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub list: bool,
    pub default: toml::Value,
    pub help: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub list: bool,
    pub help: String,
}

/// `decision/engines.toml`: the embedded snapshot of engine support.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnginesFile {
    pub snapshot: EngineSnapshot,
    pub engine: Vec<EngineDef>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSnapshot {
    pub taken: String,
    pub facts: Vec<String>,
    pub note: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EngineDef {
    pub id: String,
    pub name: String,
    pub family: String,
    #[serde(default)]
    pub rds_engine: Option<String>,
    #[serde(default)]
    pub aurora: bool,
    pub rds_storage_encryption: bool,
    pub rds_custom_key_store: bool,
    pub os: Vec<String>,
    #[serde(default)]
    pub facts: Vec<String>,
    #[serde(default)]
    pub rds_tde: Option<RdsTde>,
    #[serde(default)]
    pub ec2_tde: Option<Ec2Tde>,
    #[serde(default)]
    pub native_cell: Option<String>,
    /// Finest unit the engine's TDE protects (tablespace/database files, or columns). Default `database`.
    #[serde(default)]
    pub tde_granularity: Option<String>,
    /// The key-protection variants of engine TDE (options 6 and 7) that this engine supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_variant: Vec<EngineVariant>,
}

/// One way an engine's TDE can hold its master key, with the product and the dated facts behind it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EngineVariant {
    /// A variant id of option 6 or 7 with `engine_listed = true`.
    pub variant: String,
    pub product: String,
    pub facts: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RdsTde {
    pub option: String,
    pub min_version: String,
    pub licence: String,
    #[serde(default)]
    pub facts: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Ec2Tde {
    pub products: Vec<String>,
    pub licence: String,
    pub hsm_keys: bool,
    pub kms_keys: bool,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub facts: Vec<String>,
}
