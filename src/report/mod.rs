//! The writers. Each renders what it is given and nothing else: no catalog lookup, no framework loading, no clock.
//! An audit renders from an [`AuditView`] (the report, the control matrix, the provenance, the attachments, the
//! catalog's check metadata and frameworks) to table, JSON, Markdown, HTML or OCSF; [`adr`] writes the advisor's
//! decision records and [`evidence_md`] the evidence bundle's Markdown page.

use std::io::Write;

use crate::audit::classify::{Database, Placement};
use crate::audit::controls::Matrix;
use crate::audit::provenance::{Attachment, Provenance};
use crate::audit::report::Report;
use crate::catalog::Catalog;

pub mod access;
pub mod adr;
pub mod evidence_md;
pub mod frameworks;
pub mod html;
mod json;
mod markdown;
pub mod ocsf;
mod table;

/// The audit's output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Summary and details as tables, for a terminal.
    Table,
    /// The whole report as JSON (`schema_version` 1).
    Json,
    /// Markdown tables, for tickets and pull requests.
    Markdown,
    /// One self-contained HTML page: charts, control tables per framework, databases, resources.
    Html,
    /// OCSF 1.6.0 Detection Findings (class 2004), one per finding, as a JSON array.
    Ocsf,
}

/// Everything an audit rendering shows.
#[derive(Clone, Copy)]
pub struct AuditView<'a> {
    pub report: &'a Report,
    pub controls: &'a Matrix,
    pub provenance: &'a Provenance,
    pub attachments: &'a [Attachment],
    /// Check metadata, frameworks and option titles.
    pub catalog: &'a Catalog,
    /// The page is part of an evidence bundle (the HTML then points at `evidence verify`).
    pub in_bundle: bool,
    /// Who can use each database's key, for the HTML page's access section.
    pub access: Option<&'a crate::audit::access::AccessReport>,
}

/// Writes the audit in the chosen format.
pub fn render(view: &AuditView<'_>, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Table => table::render(view.report, out),
        Format::Json => json::render(view.report, out),
        Format::Markdown => markdown::render(view.report, out),
        Format::Html => html::render_page(view, out),
        Format::Ocsf => ocsf::render(view, out),
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
mod tests {
    use super::*;

    use crate::audit::controls;
    use crate::audit::inventory::Inventory;
    use crate::audit::run::{Source, audit};

    #[test]
    fn every_format_renders_every_database() {
        let catalog = Catalog::embedded().unwrap();
        let inv: Inventory = serde_json::from_str(include_str!(
            "../../tests/fixtures/audit/custom-key-stores.json"
        ))
        .unwrap();
        let report = audit(&inv, catalog, Source::SavedInventory).unwrap();
        let matrix = controls::build(&report, &catalog.frameworks, &[]);
        let provenance =
            Provenance::new(&report, catalog, None, None, "2026-12-01T00:00:00Z".into());
        let view = AuditView {
            report: &report,
            controls: &matrix,
            provenance: &provenance,
            attachments: &[],
            catalog,
            in_bundle: false,
            access: None,
        };
        assert!(!report.databases.is_empty());
        for format in [Format::Table, Format::Json, Format::Markdown, Format::Html] {
            let mut out = Vec::new();
            render(&view, format, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            for db in &report.databases {
                assert!(text.contains(&db.id), "{format:?} lacks {}", db.id);
            }
        }
        let mut out = Vec::new();
        render(&view, Format::Ocsf, &mut out).unwrap();
        let events: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(events.len(), report.findings.len());
    }

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
