//! Check metadata: `decision/checks/<id>.toml`. The audit's check registry and these files are tied together by the
//! audit (a check without metadata is a build defect) and by the catalog tests.

use serde::{Deserialize, Serialize};

use super::problems::Problems;
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

/// Parses `checks/<id>.toml`.
pub(super) fn parse(path: &str, text: &str, problems: &mut Problems) -> Option<CheckMeta> {
    let meta: CheckMeta = problems.parse(path, text)?;
    problems.expect_id_is_file_name(path, &meta.id);
    for (field, value) in [
        ("title", &meta.title),
        ("service", &meta.service),
        ("resource_type", &meta.resource_type),
        ("risk", &meta.risk),
        ("remediation", &meta.remediation),
    ] {
        if value.trim().is_empty() {
            problems.add(path, format!("`{field}` is empty"));
        }
    }
    Some(meta)
}
