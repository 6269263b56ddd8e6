//! The report as tables for a terminal: checks summary, databases, failed findings, API errors.

use std::io::Write;

use super::{evidence_line, option_cell, short_resource};
use crate::audit::report::Report;
use crate::model::{Severity, Status};
use crate::table;

const MESSAGE_WIDTH: usize = 70;

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    header(report, out)?;
    // An audit of several accounts: the accounts first, and an account column in every table.
    let org = !report.accounts.is_empty();
    if org {
        writeln!(out, "\nAccounts")?;
        let rows: Vec<Vec<String>> = report
            .accounts
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.name.clone().unwrap_or_default(),
                    a.coverage.clone(),
                    a.databases.to_string(),
                    a.pass.to_string(),
                    a.fail.to_string(),
                    a.errors.to_string(),
                ]
            })
            .collect();
        let headers = [
            "account",
            "name",
            "coverage",
            "databases",
            "pass",
            "fail",
            "errors",
        ];
        writeln!(out, "{}", table::text(&headers, &rows, &[(1, 30)]))?;
    }

    writeln!(out, "\nChecks")?;
    let rows: Vec<Vec<String>> = report
        .summary
        .checks
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.severity.to_string(),
                c.pass.to_string(),
                c.fail.to_string(),
                c.not_applicable.to_string(),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table::text(&["check", "severity", "pass", "fail", "n/a"], &rows, &[])
    )?;

    writeln!(out, "\nDatabases")?;
    if report.databases.is_empty() {
        writeln!(out, "(none found)")?;
    } else {
        let rows: Vec<Vec<String>> = report
            .databases
            .iter()
            .map(|d| {
                vec![
                    account_cell(d.account.as_deref(), d.account_name.as_deref()),
                    d.id.clone(),
                    d.region.clone(),
                    d.kind.as_str().to_string(),
                    d.engine.clone().unwrap_or_default(),
                    option_cell(d),
                    evidence_line(d),
                ]
            })
            .collect();
        let headers = [
            "account", "database", "region", "kind", "engine", "option", "evidence",
        ];
        writeln!(
            out,
            "{}",
            grouped(org, &headers, rows, &[(5, 34), (6, MESSAGE_WIDTH)])
        )?;
    }

    let mut failed: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .collect();
    // By account, most severe first; the report order (check, resource, region) breaks ties.
    failed.sort_by_key(|f| (f.account.clone(), std::cmp::Reverse(f.severity)));
    writeln!(out, "\nFailed findings")?;
    if failed.is_empty() {
        writeln!(out, "(none)")?;
    } else {
        let rows: Vec<Vec<String>> = failed
            .into_iter()
            .map(|f| {
                vec![
                    account_cell(f.account.as_deref(), f.account_name.as_deref()),
                    f.severity.to_string(),
                    f.check.clone(),
                    f.region.clone(),
                    short_resource(&f.resource).to_string(),
                    f.message.clone(),
                ]
            })
            .collect();
        let headers = [
            "account", "severity", "check", "region", "resource", "message",
        ];
        writeln!(
            out,
            "{}",
            grouped(org, &headers, rows, &[(5, MESSAGE_WIDTH)])
        )?;
    }

    if !report.errors.is_empty() {
        writeln!(out, "\nAPI errors (the audit went on without these)")?;
        let rows: Vec<Vec<String>> = report
            .errors
            .iter()
            .map(|e| {
                vec![
                    e.account.clone().unwrap_or_default(),
                    e.region.clone(),
                    e.service.clone(),
                    e.operation.clone(),
                    e.message.clone(),
                ]
            })
            .collect();
        let headers = ["account", "region", "service", "operation", "message"];
        writeln!(
            out,
            "{}",
            grouped(org, &headers, rows, &[(4, MESSAGE_WIDTH)])
        )?;
    }

    summary_line(report, out)
}

/// `id (name)`, or the id alone.
pub(crate) fn account_cell(id: Option<&str>, name: Option<&str>) -> String {
    match (id, name) {
        (Some(id), Some(name)) => format!("{id} ({name})"),
        (Some(id), None) => id.to_string(),
        _ => String::new(),
    }
}

/// The table, with its first (account) column only in an audit of several accounts.
fn grouped(
    org: bool,
    headers: &[&str],
    mut rows: Vec<Vec<String>>,
    wraps: &[(usize, usize)],
) -> String {
    if org {
        return table::text(headers, &rows, wraps);
    }
    for row in &mut rows {
        row.remove(0);
    }
    let shifted: Vec<(usize, usize)> = wraps.iter().map(|(c, w)| (c - 1, *w)).collect();
    table::text(headers.get(1..).unwrap_or_default(), &rows, &shifted)
}

fn header(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    if !report.accounts.is_empty() {
        return writeln!(
            out,
            "atrest audit of {} accounts in {} ({}, {} to {})",
            report.accounts.len(),
            if report.regions.is_empty() {
                "(no region)".to_string()
            } else {
                report.regions.join(", ")
            },
            if report.source == "inventory" {
                "saved inventories"
            } else {
                "read from AWS"
            },
            report.started,
            report.finished
        );
    }
    writeln!(
        out,
        "atrest audit of account {} in {} ({}, {} to {})",
        report.account.as_deref().unwrap_or("(unknown)"),
        if report.regions.is_empty() {
            "(no region)".to_string()
        } else {
            report.regions.join(", ")
        },
        if report.source == "inventory" {
            "saved inventory"
        } else {
            "read from AWS"
        },
        report.started,
        report.finished
    )
}

fn summary_line(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.summary;
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| {
            s.failed_by_severity
                .get(sev)
                .filter(|n| **n > 0)
                .map(|n| format!("{n} {sev}"))
        })
        .collect();
    let failed = if by_severity.is_empty() {
        format!("{} failed", s.fail)
    } else {
        format!("{} failed ({})", s.fail, by_severity.join(", "))
    };
    writeln!(
        out,
        "\n{} passed, {failed}, {} not applicable; {} database(s); {} API error(s)",
        s.pass,
        s.not_applicable,
        report.databases.len(),
        s.errors
    )?;
    if s.pass + s.not_applicable > 0 {
        writeln!(
            out,
            "Passed and not-applicable findings are listed with `--format json` or `--format markdown`."
        )?;
    }
    Ok(())
}
