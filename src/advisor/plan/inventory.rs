//! The fleet inventory `plan` reads: one row per database, as CSV or TOML, with errors that name the file,
//! line and column and suggest the fix.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::suggest;

/// How a database runs today.
pub const HOSTINGS: [&str; 4] = ["on-prem", "rds", "aurora", "ec2"];
/// How a database is encrypted today.
pub const ENCRYPTIONS: [&str; 8] = [
    "none",
    "rds-aws-owned",
    "rds-aws-managed",
    "rds-kms",
    "ebs-aws-managed",
    "ebs-kms",
    "luks",
    "tde",
];
/// Data classes and the regime each one implies.
pub const DATA_CLASSES: [(&str, &str); 5] = [
    ("pan", "pci-pan"),
    ("phi", "hipaa"),
    ("pii", "gdpr"),
    ("cui", "nist-800-53"),
    ("fedramp-high", "fedramp-high"),
];

pub const CSV_COLUMNS: [&str; 13] = [
    "name",
    "engine",
    "version",
    "hosting",
    "encryption",
    "data_classes",
    "region",
    "read_replicas",
    "copy_regions",
    "trusted_services",
    "overrides",
    "size_gib",
    "sensitive_columns",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatabaseRow {
    pub name: String,
    pub engine: String,
    pub version: String,
    /// on-prem | rds | aurora | ec2
    pub hosting: String,
    /// none | rds-aws-owned | rds-aws-managed | rds-kms | ebs-aws-managed | ebs-kms | luks | tde
    pub encryption: String,
    pub data_classes: Vec<String>,
    pub region: String,
    pub read_replicas: Vec<String>,
    /// Regions that receive snapshot copies or cross-Region replicas.
    pub copy_regions: Vec<String>,
    /// AWS service principals (e.g. `dms.amazonaws.com`) the storage key must trust.
    pub trusted_services: Vec<String>,
    /// Requirement overrides for this database only: `section.key` -> value (lists comma-separated).
    pub overrides: BTreeMap<String, String>,
    /// Allocated storage, when known: it decides the downtime estimate and the minimal-downtime path.
    pub size_gib: Option<u64>,
    /// `table.column` values that cell encryption protects; the cell key's policy is confined to them.
    pub sensitive_columns: Vec<String>,
    /// Where the row came from, for messages (`file:line`).
    #[serde(skip)]
    pub origin: String,
}

/// A fleet file problem: where (`file:line` or the row), what, and the fix apart.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct InventoryError {
    pub at: String,
    pub message: String,
    pub help: Option<String>,
}

impl InventoryError {
    fn new(at: impl Into<String>, message: impl Into<String>, help: Option<String>) -> Self {
        InventoryError {
            at: at.into(),
            message: message.into(),
            help,
        }
    }
}

impl crate::error::Help for InventoryError {
    fn help(&self) -> Option<String> {
        self.help.clone()
    }

    fn is_usage(&self) -> bool {
        true
    }
}

fn list(s: &str) -> Vec<String> {
    s.split([';', ','])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_choice(
    at: &str,
    column: &str,
    value: &str,
    allowed: &[&str],
) -> Result<(), InventoryError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(InventoryError::new(
            at,
            format!("`{column}` is `{value}`"),
            Some(suggest::hint(value, allowed.iter().copied())),
        ))
    }
}

fn validate(row: &DatabaseRow) -> Result<(), InventoryError> {
    let at = &row.origin;
    if row.name.trim().is_empty() {
        return Err(InventoryError::new(
            at,
            "`name` is empty",
            Some("every database needs a name".into()),
        ));
    }
    if row.engine.trim().is_empty() {
        return Err(InventoryError::new(
            at,
            format!("`engine` is empty for `{}`", row.name),
            Some("name the engine as RDS does, e.g. `postgres`".into()),
        ));
    }
    check_choice(at, "hosting", &row.hosting, &HOSTINGS)?;
    check_choice(at, "encryption", &row.encryption, &ENCRYPTIONS)?;
    for c in &row.sensitive_columns {
        if c.split_once('.')
            .is_none_or(|(t, col)| t.is_empty() || col.is_empty())
        {
            return Err(InventoryError::new(
                at,
                format!("`sensitive_columns` has `{c}`"),
                Some("name each column as `table.column`".into()),
            ));
        }
    }
    for class in &row.data_classes {
        let names: Vec<&str> = DATA_CLASSES.iter().map(|(c, _)| *c).collect();
        check_choice(at, "data_classes", class, &names)?;
    }
    Ok(())
}

fn parse_size(at: &str, text: &str) -> Result<Option<u64>, InventoryError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        InventoryError::new(
            at,
            format!("`size_gib` is `{text}`"),
            Some("give the allocated storage as whole GiB, e.g. `500`".into()),
        )
    })
}

fn parse_overrides(at: &str, text: &str) -> Result<BTreeMap<String, String>, InventoryError> {
    let mut out = BTreeMap::new();
    for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(InventoryError::new(
                at,
                format!("override `{item}` must be section.key=value"),
                Some("e.g. `keys.fips=140-3-l3`".into()),
            ));
        };
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

/// Reads a CSV inventory (header row required; `name` and `engine` columns required).
pub fn from_csv(text: &str, file: &str) -> Result<Vec<DatabaseRow>, InventoryError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| InventoryError::new(file, format!("cannot read the header row: {e}"), None))?
        .clone();
    for h in headers.iter() {
        if !CSV_COLUMNS.contains(&h) {
            return Err(InventoryError::new(
                format!("{file}:1"),
                format!("unknown column `{h}`"),
                Some(suggest::hint(h, CSV_COLUMNS.iter().copied())),
            ));
        }
    }
    for required in ["name", "engine"] {
        if !headers.iter().any(|h| h == required) {
            return Err(InventoryError::new(
                format!("{file}:1"),
                format!("the header needs a `{required}` column"),
                Some("see docs/plan.md for the columns".into()),
            ));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            InventoryError::new(
                format!("{file}:{line}"),
                e.to_string(),
                Some("every row needs one value per header column".into()),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let at = format!("{file}:{line}");
        let get = |column: &str| -> String {
            headers
                .iter()
                .position(|h| h == column)
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_string()
        };
        let or = |value: String, default: &str| {
            if value.is_empty() {
                default.to_string()
            } else {
                value
            }
        };
        let row = DatabaseRow {
            name: get("name"),
            engine: get("engine"),
            version: get("version"),
            hosting: or(get("hosting"), "on-prem"),
            encryption: or(get("encryption"), "none"),
            data_classes: list(&get("data_classes")),
            region: or(get("region"), "us-east-1"),
            read_replicas: list(&get("read_replicas")),
            copy_regions: list(&get("copy_regions")),
            trusted_services: list(&get("trusted_services")),
            overrides: parse_overrides(&at, &get("overrides"))?,
            size_gib: parse_size(&at, &get("size_gib"))?,
            sensitive_columns: list(&get("sensitive_columns")),
            origin: at,
        };
        validate(&row)?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(InventoryError::new(
            file,
            "the inventory has no databases",
            Some("add one row per database".into()),
        ));
    }
    Ok(rows)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlInventory {
    database: Vec<TomlRow>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlRow {
    name: String,
    engine: String,
    #[serde(default)]
    version: String,
    #[serde(default = "on_prem")]
    hosting: String,
    #[serde(default = "none")]
    encryption: String,
    #[serde(default)]
    data_classes: Vec<String>,
    #[serde(default = "us_east_1")]
    region: String,
    #[serde(default)]
    read_replicas: Vec<String>,
    #[serde(default)]
    copy_regions: Vec<String>,
    #[serde(default)]
    trusted_services: Vec<String>,
    #[serde(default)]
    overrides: BTreeMap<String, toml::Value>,
    #[serde(default)]
    size_gib: Option<u64>,
    #[serde(default)]
    sensitive_columns: Vec<String>,
}

fn on_prem() -> String {
    "on-prem".into()
}
fn none() -> String {
    "none".into()
}
fn us_east_1() -> String {
    "us-east-1".into()
}

/// Reads a TOML inventory: `[[database]]` tables with the CSV's columns as keys.
pub fn from_toml(text: &str, file: &str) -> Result<Vec<DatabaseRow>, InventoryError> {
    let line = |offset: usize| {
        text.get(..offset)
            .map_or(1, |s| s.matches('\n').count() + 1)
    };
    let inventory: TomlInventory = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| format!("{file}:{}", line(s.start)))
            .unwrap_or_else(|| file.to_string());
        let message = e.message().trim_end_matches('.').to_string();
        match message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split('`').next())
        {
            Some(field) => InventoryError::new(
                at,
                format!("unknown key `{field}`"),
                Some(suggest::hint(field, CSV_COLUMNS.iter().copied())),
            ),
            None => InventoryError::new(at, message, None),
        }
    })?;
    let mut rows = Vec::new();
    for (i, r) in inventory.database.into_iter().enumerate() {
        let origin = format!("{file} [[database]] #{} (`{}`)", i + 1, r.name);
        let overrides = r
            .overrides
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Array(items) => items
                        .iter()
                        .filter_map(|i| i.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        let row = DatabaseRow {
            name: r.name,
            engine: r.engine,
            version: r.version,
            hosting: r.hosting,
            encryption: r.encryption,
            data_classes: r.data_classes,
            region: r.region,
            read_replicas: r.read_replicas,
            copy_regions: r.copy_regions,
            trusted_services: r.trusted_services,
            overrides,
            size_gib: r.size_gib,
            sensitive_columns: r.sensitive_columns,
            origin,
        };
        validate(&row)?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(InventoryError::new(
            file,
            "the inventory has no `[[database]]` entries",
            Some("add one `[[database]]` table per database".into()),
        ));
    }
    Ok(rows)
}
