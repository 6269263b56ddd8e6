//! Check metadata: `decision/checks/<id>.toml`, embedded at build time and parsed on use.

use serde::{Deserialize, Serialize};

use crate::model::Severity;

/// What a check is about, for people: the report writers and the docs read this, the check code does not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckMeta {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub service: String,
    pub resource_type: String,
    pub risk: String,
    pub remediation: String,
    /// Ids of the dated facts (`decision/facts/<id>.toml`) the check relies on.
    #[serde(default)]
    pub facts: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("check metadata `decision/checks/{id}.toml` is invalid: {detail}")]
    Invalid { id: String, detail: String },
    #[error(
        "check metadata `decision/checks/{file}.toml` declares id `{declared}`; the id must equal the file name"
    )]
    IdMismatch { file: String, declared: String },
}

/// Parses the embedded metadata of one check.
pub fn parse(file_id: &str, text: &str) -> Result<CheckMeta, CatalogError> {
    let meta: CheckMeta = toml::from_str(text).map_err(|e| CatalogError::Invalid {
        id: file_id.to_string(),
        detail: e.to_string().trim_end().to_string(),
    })?;
    if meta.id != file_id {
        return Err(CatalogError::IdMismatch {
            file: file_id.to_string(),
            declared: meta.id,
        });
    }
    Ok(meta)
}

/// The metadata of every registered check, in registry order.
pub fn load() -> Result<Vec<CheckMeta>, CatalogError> {
    super::checks::ALL
        .iter()
        .map(|c| parse(c.id, c.metadata))
        .collect()
}
