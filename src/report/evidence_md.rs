//! `report.md` of an evidence bundle, the Markdown twin of the HTML page: the provenance, the control matrix (one table per framework, then why each failing or
//! manual control stands as it does), then the audit report in Markdown.

use std::io::Write;

use super::AuditView;
use crate::audit::controls::ControlStatus;
use crate::model::Status;

fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

pub fn render(view: &AuditView<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let (matrix, info) = (view.controls, view.provenance);
    writeln!(out, "# Encryption at rest: compliance evidence\n")?;
    let rows = [
        ("Tool", format!("{} {}", info.tool, info.tool_version)),
        ("Catalog version", info.catalog_version.clone()),
        (
            "Account",
            info.account.clone().unwrap_or_else(|| "(unknown)".into()),
        ),
        (
            "Caller",
            info.caller_arn
                .clone()
                .unwrap_or_else(|| "(not recorded)".into()),
        ),
        ("Regions", info.regions.join(", ")),
        ("Source", info.source.clone()),
        ("Audit", format!("{} to {}", info.started, info.finished)),
        ("Bundle written", info.built.clone()),
    ];
    for (k, v) in rows {
        writeln!(out, "- {k}: {}", cell(&v))?;
    }
    if !view.attachments.is_empty() {
        writeln!(out, "- Attachments:")?;
        for a in view.attachments {
            writeln!(
                out,
                "  - `{}` ({}), sha256 `{}`",
                a.path,
                a.kind.as_str(),
                a.sha256
            )?;
        }
    }
    writeln!(out, "\n## Controls\n")?;
    for fw in &matrix.frameworks {
        let s = &fw.summary;
        writeln!(
            out,
            "### {} {}\n\n{} pass, {} fail, {} manual, {} not applicable. Source: {}\n",
            fw.name, fw.version, s.pass, s.fail, s.manual, s.not_applicable, fw.source
        )?;
        writeln!(
            out,
            "| control | title | status | checks | resources failed / judged |"
        )?;
        writeln!(out, "|---|---|---|---|---|")?;
        for c in &fw.controls {
            let checks: Vec<String> = c.checks.iter().map(|k| format!("`{}`", k.check)).collect();
            let failed: usize = c.checks.iter().map(|k| k.fail).sum();
            let judged: usize = c.checks.iter().map(|k| k.fail + k.pass).sum();
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&c.id),
                cell(&c.title),
                c.status,
                if checks.is_empty() {
                    "manual".to_string()
                } else {
                    checks.join(", ")
                },
                if c.checks.is_empty() {
                    "-".to_string()
                } else {
                    format!("{failed} / {judged}")
                }
            )?;
        }
        writeln!(out)?;
        for c in fw
            .controls
            .iter()
            .filter(|c| matches!(c.status, ControlStatus::Fail | ControlStatus::Manual))
        {
            writeln!(out, "**{} {} ({})**\n", fw.name, cell(&c.id), c.status)?;
            if let Some(e) = &c.evidence {
                writeln!(out, "- Evidence to attach: {}", cell(e))?;
                if c.attachments.is_empty() {
                    writeln!(out, "- Attached: none")?;
                } else {
                    let list: Vec<String> =
                        c.attachments.iter().map(|a| format!("`{a}`")).collect();
                    writeln!(out, "- Attached: {}", list.join(", "))?;
                }
            }
            for k in c.checks.iter().filter(|k| k.fail > 0) {
                for r in k.resources.iter().filter(|r| r.status == Status::Fail) {
                    writeln!(
                        out,
                        "- `{}` fails `{}`: {}",
                        r.resource,
                        k.check,
                        cell(&r.message)
                    )?;
                }
            }
            writeln!(out)?;
        }
    }
    writeln!(out, "---\n")?;
    super::render(view, super::Format::Markdown, out)
}
