//! Where an audit's evidence came from: the tool, the decision catalog, the account, who read it, when, and which
//! frameworks judged it. The HTML and Markdown reports show it; an evidence bundle's manifest embeds it unchanged.

use serde::{Deserialize, Serialize};

use super::report::Report;
use crate::catalog::Catalog;
use crate::catalog::frameworks::AttachmentKind;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `atrest`.
    pub tool: String,
    pub tool_version: String,
    /// The digest of the embedded decision data (options, rules, facts, checks, frameworks).
    pub catalog_version: String,
    pub frameworks: Vec<FrameworkRef>,
    /// The audited account (STS GetCallerIdentity; offline: from the inventory).
    pub account: Option<String>,
    /// Who read the account (STS GetCallerIdentity; offline: from the inventory, if it recorded it).
    pub caller_arn: Option<String>,
    pub partition: String,
    pub regions: Vec<String>,
    /// `aws` (read now) or `inventory` (a saved inventory).
    pub source: String,
    /// When the account was read (RFC 3339, UTC).
    pub started: String,
    pub finished: String,
    /// When the report or bundle was written.
    pub built: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRef {
    pub id: String,
    pub name: String,
    pub version: String,
}

/// A file given as evidence beside the audit (a decision record, a cell configuration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Path inside the bundle.
    pub path: String,
    pub kind: AttachmentKind,
    /// The name of the file as given.
    pub original_name: String,
    /// Set when the bundle holds a description of the file instead of the file (key files, keyrings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<String>,
    pub sha256: String,
}

impl Provenance {
    /// The provenance of a report written at `built`. `caller_arn` and `partition` come from the inventory when
    /// there is one; otherwise the partition is read from the first finding's ARN.
    pub fn new(
        report: &Report,
        catalog: &Catalog,
        caller_arn: Option<String>,
        partition: Option<String>,
        built: String,
    ) -> Provenance {
        let partition = partition
            .or_else(|| {
                report
                    .findings
                    .first()
                    .and_then(|f| f.resource.split(':').nth(1))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "aws".to_string());
        Provenance {
            tool: "atrest".to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            catalog_version: catalog.version.clone(),
            frameworks: catalog
                .frameworks
                .iter()
                .map(|f| FrameworkRef {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    version: f.version.clone(),
                })
                .collect(),
            account: report.account.clone(),
            caller_arn,
            partition,
            regions: report.regions.clone(),
            source: report.source.clone(),
            started: report.started.clone(),
            finished: report.finished.clone(),
            built,
        }
    }
}
