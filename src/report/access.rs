//! `atrest access` as a table, JSON or Markdown: for each database, the key behind it and who can use that key,
//! one row per principal and way in. The HTML report and the evidence bundle use [`database_rows`] too.

use std::io::Write;

use serde::Serialize;

use crate::audit::access::{AccessEntry, AccessReport, DatabaseAccess, KeyAccess};
use crate::table;

/// Bumped when a field of the JSON changes meaning.
pub const ACCESS_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessFormat {
    Table,
    Json,
    Markdown,
}

pub fn render(
    report: &AccessReport,
    format: AccessFormat,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        AccessFormat::Json => json(report, out),
        AccessFormat::Table => text(report, out, false),
        AccessFormat::Markdown => text(report, out, true),
    }
}

#[derive(Serialize)]
struct Versioned<'a> {
    schema_version: u32,
    #[serde(flatten)]
    report: &'a AccessReport,
}

/// The report as JSON (`schema_version` 1), pretty-printed with a final newline.
pub fn json(report: &AccessReport, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(
        &mut *out,
        &Versioned {
            schema_version: ACCESS_SCHEMA_VERSION,
            report,
        },
    )?;
    writeln!(out)
}

pub const HEADERS: [&str; 6] = ["principal", "type", "actions", "verdict", "path", "through"];

/// The rows for one database's key, as cells of [`HEADERS`].
pub fn key_rows(key: &KeyAccess) -> Vec<Vec<String>> {
    key.entries.iter().map(cells).collect()
}

fn cells(e: &AccessEntry) -> Vec<String> {
    let verdict = match (e.verdict, &e.conditions) {
        ("allowed-if", Some(c)) => format!("allowed-if {c}"),
        ("unknown", _) => format!("unknown: {}", e.missing.join(", ")),
        (v, _) => v.to_string(),
    };
    vec![
        e.principal.clone(),
        e.principal_type.to_string(),
        e.actions
            .iter()
            .map(|a| a.trim_start_matches("kms:"))
            .collect::<Vec<_>>()
            .join(", "),
        verdict,
        e.path.unwrap_or("-").to_string(),
        through(e),
    ]
}

/// What allows (or denies): key policy statement, IAM policy, grant.
pub fn through(e: &AccessEntry) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &e.key_statement {
        parts.push(format!("key policy {s}"));
    }
    if let Some(p) = &e.identity_policy {
        parts.push(format!("IAM {p}"));
    }
    if let Some(g) = &e.grant {
        parts.push(format!("grant {g}"));
    }
    if let Some(d) = &e.denied_by {
        parts.push(format!("denied by {d}"));
    }
    // The data operations it could grant (the JSON lists every one).
    let data: Vec<&str> = e
        .escalates_to
        .iter()
        .filter(|a| {
            [
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:GenerateDataKey",
                "kms:Encrypt",
            ]
            .contains(&a.as_str())
        })
        .map(|a| a.trim_start_matches("kms:"))
        .collect();
    if !data.is_empty() {
        parts.push(format!("can grant {} to anyone", data.join(", ")));
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join("; ")
    }
}

/// One line naming the database and what protects it.
pub fn database_line(report: &AccessReport, d: &DatabaseAccess) -> String {
    let key = match (&d.key, d.encrypted) {
        (_, false) => "not encrypted".to_string(),
        (Some(arn), true) => match report.key(arn) {
            Some(k) => {
                let manager = k.manager.replace('_', " ");
                let mut text = format!("key `{}` ({manager})", k.name);
                if !k.policy_read {
                    text.push_str(", key policy not read");
                }
                if k.grants.is_none() {
                    text.push_str(", grants not collected");
                }
                text
            }
            None => format!("key `{arn}`"),
        },
        (None, true) => format!(
            "unknown key `{}`",
            d.key_reference.as_deref().unwrap_or("?")
        ),
    };
    format!("{} `{}` ({}): {key}", d.kind, d.id, d.region)
}

/// The key rows of a database, `None` when it has no known key.
pub fn database_rows<'a>(report: &'a AccessReport, d: &DatabaseAccess) -> Option<&'a KeyAccess> {
    d.key.as_deref().and_then(|arn| report.key(arn))
}

fn text(report: &AccessReport, out: &mut dyn Write, markdown: bool) -> std::io::Result<()> {
    let title = match &report.principal {
        Some(p) => format!("What `{p}` can do with the keys behind the databases"),
        None => "Who can use the keys behind the databases".to_string(),
    };
    if markdown {
        writeln!(out, "# {title}\n")?;
    } else {
        writeln!(out, "{title}")?;
    }
    let account = report.account.as_deref().unwrap_or("unknown");
    let inputs = format!(
        "account {account}; IAM policies {}, SCPs {}, RCPs {}",
        report.inputs.iam, report.inputs.scps, report.inputs.rcps
    );
    writeln!(out, "{inputs}")?;
    if report.databases.is_empty() {
        writeln!(out, "\n(no databases found)")?;
        return Ok(());
    }
    for d in &report.databases {
        let line = database_line(report, d);
        if markdown {
            writeln!(out, "\n## {line}\n")?;
        } else {
            writeln!(out, "\n{}", table::printable(&line))?;
        }
        let Some(key) = database_rows(report, d) else {
            continue;
        };
        let rows = key_rows(key);
        if rows.is_empty() {
            writeln!(out, "(no principal can use the key)")?;
        } else if markdown {
            write!(out, "{}", table::markdown(&HEADERS, &rows))?;
        } else {
            writeln!(
                out,
                "{}",
                table::text(&HEADERS, &rows, &[(0, 40), (2, 32), (3, 40), (5, 40)])
            )?;
        }
    }
    Ok(())
}
