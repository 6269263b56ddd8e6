//! The report as Markdown: a summary, the databases, every finding (failed first), and API errors.

use std::io::Write;

use super::{evidence_line, option_cell};
use crate::audit::report::Report;
use crate::model::Status;

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

fn row(out: &mut dyn Write, cells: &[String]) -> std::io::Result<()> {
    let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    writeln!(out, "| {} |", cells.join(" | "))
}

fn head(out: &mut dyn Write, names: &[&str]) -> std::io::Result<()> {
    writeln!(out, "| {} |", names.join(" | "))?;
    writeln!(out, "|{}", names.iter().map(|_| "---|").collect::<String>())
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.summary;
    writeln!(out, "# atrest audit\n")?;
    let org = !report.accounts.is_empty();
    if org {
        writeln!(out, "- Accounts: {}", report.accounts.len())?;
    } else {
        writeln!(
            out,
            "- Account: {}",
            report.account.as_deref().unwrap_or("(unknown)")
        )?;
    }
    writeln!(out, "- Regions: {}", report.regions.join(", "))?;
    writeln!(
        out,
        "- Read: {} to {} ({})",
        report.started, report.finished, report.source
    )?;
    writeln!(
        out,
        "- Findings: {} passed, {} failed, {} not applicable; {} API error(s)\n",
        s.pass, s.fail, s.not_applicable, s.errors
    )?;

    if org {
        writeln!(out, "## Accounts\n")?;
        head(
            out,
            &[
                "account",
                "name",
                "coverage",
                "databases",
                "pass",
                "fail",
                "errors",
            ],
        )?;
        for a in &report.accounts {
            row(
                out,
                &[
                    format!("`{}`", a.id),
                    a.name.clone().unwrap_or_default(),
                    a.coverage.clone(),
                    a.databases.to_string(),
                    a.pass.to_string(),
                    a.fail.to_string(),
                    a.errors.to_string(),
                ],
            )?;
        }
        writeln!(out)?;
    }
    // In an audit of several accounts every table starts with the account, and rows are grouped by it.
    let lead = |names: &[&'static str]| -> Vec<&'static str> {
        let mut all = if org { vec!["account"] } else { Vec::new() };
        all.extend_from_slice(names);
        all
    };
    let cells = |account: Option<&str>, name: Option<&str>, rest: Vec<String>| -> Vec<String> {
        let mut all = if org {
            vec![super::table::account_cell(account, name)]
        } else {
            Vec::new()
        };
        all.extend(rest);
        all
    };

    writeln!(out, "## Checks\n")?;
    head(out, &["check", "title", "severity", "pass", "fail", "n/a"])?;
    for c in &s.checks {
        row(
            out,
            &[
                format!("`{}`", c.id),
                c.title.clone(),
                c.severity.to_string(),
                c.pass.to_string(),
                c.fail.to_string(),
                c.not_applicable.to_string(),
            ],
        )?;
    }

    writeln!(out, "\n## Databases\n")?;
    if report.databases.is_empty() {
        writeln!(out, "None found.")?;
    } else {
        head(
            out,
            &lead(&["database", "region", "kind", "engine", "option", "evidence"]),
        )?;
        for d in &report.databases {
            row(
                out,
                &cells(
                    d.account.as_deref(),
                    d.account_name.as_deref(),
                    vec![
                        format!("`{}`", d.resource),
                        d.region.clone(),
                        d.kind.as_str().to_string(),
                        d.engine.clone().unwrap_or_default(),
                        option_cell(d),
                        evidence_line(d),
                    ],
                ),
            )?;
        }
    }

    writeln!(out, "\n## Findings\n")?;
    if report.findings.is_empty() {
        writeln!(out, "None.")?;
    } else {
        head(
            out,
            &lead(&[
                "status", "severity", "check", "region", "resource", "message",
            ]),
        )?;
        let mut accounts: Vec<Option<&str>> = report
            .findings
            .iter()
            .map(|f| f.account.as_deref())
            .collect();
        accounts.dedup();
        for account in accounts {
            for status in [Status::Fail, Status::Pass, Status::NotApplicable] {
                for f in report
                    .findings
                    .iter()
                    .filter(|f| f.status == status && f.account.as_deref() == account)
                {
                    row(
                        out,
                        &cells(
                            account,
                            f.account_name.as_deref(),
                            vec![
                                f.status.to_string(),
                                f.severity.to_string(),
                                format!("`{}`", f.check),
                                f.region.clone(),
                                format!("`{}`", f.resource),
                                f.message.clone(),
                            ],
                        ),
                    )?;
                }
            }
        }
    }

    if !report.errors.is_empty() {
        writeln!(out, "\n## API errors\n")?;
        head(out, &lead(&["region", "service", "operation", "message"]))?;
        for e in &report.errors {
            row(
                out,
                &cells(
                    e.account.as_deref(),
                    None,
                    vec![
                        e.region.clone(),
                        e.service.clone(),
                        e.operation.clone(),
                        e.message.clone(),
                    ],
                ),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
