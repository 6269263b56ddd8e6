//! The audit report and its writers. One model ([`Report`]) feeds every format; a new format (HTML, OCSF) is one
//! more module and one more [`Format`] variant.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::audit::classify::{Database, Placement};
use crate::audit::inventory::CollectError;
use crate::model::{Finding, Severity, Status};

pub mod html;
mod json;
mod markdown;
pub mod ocsf;
mod table;

/// Bumped when a field changes meaning or is removed; additions keep the version.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything an audit found, in a fixed order: findings by check, resource, region; databases by resource;
/// errors by region, service, operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// `atrest <version>`.
    pub generator: String,
    pub account: Option<String>,
    pub regions: Vec<String>,
    /// When the account was read (for a saved inventory: when it was collected).
    pub started: String,
    pub finished: String,
    /// `aws` (read now) or `inventory` (a saved inventory).
    pub source: String,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub databases: Vec<Database>,
    pub errors: Vec<CollectError>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    /// Failed findings per severity (every severity listed, zeros included).
    pub failed_by_severity: BTreeMap<Severity, usize>,
    /// Databases per option (`1`..`7`, `unencrypted`, `undetermined`).
    pub databases_by_option: BTreeMap<String, usize>,
    pub errors: usize,
    pub checks: Vec<CheckSummary>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
}

impl Report {
    /// The failed findings at or above `threshold`.
    pub fn failures_at_or_above(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.status == Status::Fail && f.severity >= threshold)
            .count()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Summary and details as tables, for a terminal
    Table,
    /// The whole report as JSON (`schema_version` 1)
    Json,
    /// Markdown tables, for tickets and pull requests
    Markdown,
    /// One self-contained HTML page: charts, control tables per framework, databases, resources
    Html,
    /// OCSF 1.6.0 Detection Findings (class 2004), one per finding, as a JSON array
    Ocsf,
}

/// Writes the report in the chosen format.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Table => table::render(report, out),
        Format::Json => json::render(report, out),
        Format::Markdown => markdown::render(report, out),
        Format::Html => html::render(report, out),
        Format::Ocsf => ocsf::render(report, out),
    }
}

/// One line about what a database's placement rests on, for the table and Markdown writers.
pub(crate) fn evidence_line(db: &Database) -> String {
    let e = &db.evidence;
    let mut parts: Vec<String> = Vec::new();
    for k in &e.keys {
        let name = match (&k.alias, &k.arn) {
            (Some(alias), _) => alias.as_str(),
            (None, Some(arn)) => short_resource(arn),
            (None, None) => k.reference.as_str(),
        };
        let mut text = format!(
            "key {name} ({}, {} key store",
            k.manager.replace('_', " "),
            k.key_store
        );
        if let Some(id) = &k.custom_key_store_id {
            text.push_str(&format!(" {id}"));
        }
        text.push(')');
        parts.push(text);
    }
    if !e.volumes.is_empty() {
        let vols: Vec<String> = e
            .volumes
            .iter()
            .map(|v| match v.encrypted {
                Some(true) => format!("{} encrypted", v.id),
                Some(false) => format!("{} unencrypted", v.id),
                None => format!("{} not found", v.id),
            })
            .collect();
        parts.push(format!("volumes: {}", vols.join(", ")));
    }
    for (k, v) in &e.declared {
        parts.push(format!("tag {k}={v}"));
    }
    if let Some(group) = &e.tde_option_group {
        parts.push(format!("rds-native TDE (option group {group})"));
    }
    if db.option == Placement::Unencrypted && parts.is_empty() {
        parts.push("storage encryption off".to_string());
    }
    parts.join("; ")
}

pub(crate) fn option_cell(db: &Database) -> String {
    match db.option {
        Placement::Option(n) => format!("{n}: {}", db.option_title.as_deref().unwrap_or("")),
        other => other.label(),
    }
}

/// A resource's short name: the part after the last `/` or `:` of its ARN.
pub(crate) fn short_resource(arn: &str) -> &str {
    arn.rsplit(['/', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(arn)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_resource("arn:aws:rds:eu-west-1:1:db:pg1"), "pg1");
        assert_eq!(
            short_resource("arn:aws:ec2:eu-west-1::snapshot/snap-1"),
            "snap-1"
        );
        assert_eq!(short_resource("plain"), "plain");
    }
}
