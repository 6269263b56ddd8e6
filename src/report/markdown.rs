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
    writeln!(
        out,
        "- Account: {}",
        report.account.as_deref().unwrap_or("(unknown)")
    )?;
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
            &["database", "region", "kind", "engine", "option", "evidence"],
        )?;
        for d in &report.databases {
            row(
                out,
                &[
                    format!("`{}`", d.resource),
                    d.region.clone(),
                    d.kind.as_str().to_string(),
                    d.engine.clone().unwrap_or_default(),
                    option_cell(d),
                    evidence_line(d),
                ],
            )?;
        }
    }

    writeln!(out, "\n## Findings\n")?;
    if report.findings.is_empty() {
        writeln!(out, "None.")?;
    } else {
        head(
            out,
            &[
                "status", "severity", "check", "region", "resource", "message",
            ],
        )?;
        for status in [Status::Fail, Status::Pass, Status::NotApplicable] {
            for f in report.findings.iter().filter(|f| f.status == status) {
                row(
                    out,
                    &[
                        f.status.to_string(),
                        f.severity.to_string(),
                        format!("`{}`", f.check),
                        f.region.clone(),
                        format!("`{}`", f.resource),
                        f.message.clone(),
                    ],
                )?;
            }
        }
    }

    if !report.errors.is_empty() {
        writeln!(out, "\n## API errors\n")?;
        head(out, &["region", "service", "operation", "message"])?;
        for e in &report.errors {
            row(
                out,
                &[
                    e.region.clone(),
                    e.service.clone(),
                    e.operation.clone(),
                    e.message.clone(),
                ],
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
