//! A plan as Markdown (to paste into a planning document) or as a short terminal summary.

use std::io::{self, Write};

use super::Plan;
use crate::table;

fn option_label(n: u8) -> String {
    if n == 0 {
        "none fits".to_string()
    } else {
        format!("option {n}")
    }
}

pub fn markdown(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Encryption-at-rest migration plan\n")?;
    let rows: Vec<Vec<String>> = plan
        .databases
        .iter()
        .map(|d| {
            let rec = &d.recommendation;
            vec![
                format!("`{}`", d.name),
                format!("{} {}", d.engine, d.version).trim().to_string(),
                format!("{} / {}", d.current_hosting, d.current_encryption),
                rec.recommended.as_ref().map_or("none fits".into(), |r| {
                    format!("{} - {}", r.option, r.title)
                }),
                rec.overlays
                    .iter()
                    .map(|o| format!("{} ({:?})", o.id, o.level).to_lowercase())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table::markdown(
            &["database", "engine", "today", "target", "overlays"],
            &rows
        )
    )?;
    for d in &plan.databases {
        let rec = &d.recommendation;
        writeln!(out, "## `{}`\n", d.name)?;
        match &rec.recommended {
            Some(r) => writeln!(
                out,
                "**Target: option {} - {}** (score {}).",
                r.option, r.title, r.score
            )?,
            None => writeln!(out, "**No option meets this database's requirements.**")?,
        }
        if let Some(top) = rec.ranked.first() {
            writeln!(out, "\nWhy:\n")?;
            for r in &top.reasons {
                writeln!(out, "- {} (`{}`)", r.text, r.rule)?;
            }
            for o in &top.overlays {
                for r in &o.reasons {
                    writeln!(
                        out,
                        "- {} overlay `{}`: {} (`{}`)",
                        format!("{:?}", o.level).to_lowercase(),
                        o.id,
                        r.text,
                        r.rule
                    )?;
                }
            }
        }
        if !rec.excluded.is_empty() {
            let excluded: Vec<String> = rec
                .excluded
                .iter()
                .map(|e| format!("{} ({})", e.option, e.rules.join(", ")))
                .collect();
            writeln!(out, "\nExcluded: {}.", excluded.join("; "))?;
        }
        for w in &rec.warnings {
            writeln!(out, "\n> **Warning:** {} (`{}`)", w.text, w.rule)?;
        }
        writeln!(out, "\n### Runbook\n")?;
        for (i, s) in d.runbook.iter().enumerate() {
            writeln!(out, "{}. **{}.** {}", i + 1, s.title, s.detail)?;
            if !s.facts.is_empty() {
                writeln!(
                    out,
                    "   Facts: {}.",
                    s.facts
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            if !s.commands.is_empty() {
                writeln!(out, "\n   ```sh")?;
                for c in &s.commands {
                    writeln!(out, "   {c}")?;
                }
                writeln!(out, "   ```")?;
            }
        }
        for k in &d.keys {
            writeln!(
                out,
                "\n### Key `{}` ({}, {} key store)\n\n{}\n",
                k.alias, k.region, k.key_store, k.purpose
            )?;
            let policy = serde_json::to_string_pretty(&k.policy).map_err(io::Error::other)?;
            writeln!(out, "```json\n{policy}\n```")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "_Catalog {}; schema version {}._",
        plan.catalog_version, plan.schema_version
    )
}

pub fn text(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = plan
        .databases
        .iter()
        .map(|d| {
            let rec = &d.recommendation;
            vec![
                d.name.clone(),
                format!("{} {}", d.engine, d.version).trim().to_string(),
                format!("{} / {}", d.current_hosting, d.current_encryption),
                rec.recommended
                    .as_ref()
                    .map_or("none fits".into(), |r| format!("{}: {}", r.option, r.title)),
                rec.overlays
                    .iter()
                    .map(|o| o.id.clone())
                    .collect::<Vec<_>>()
                    .join("\n"),
                d.runbook.len().to_string(),
                d.keys.len().to_string(),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table::text(
            &[
                "database", "engine", "today", "target", "overlays", "steps", "keys"
            ],
            &rows,
            &[(3, 40)]
        )
    )?;
    let summary: Vec<String> = plan
        .summary
        .iter()
        .map(|(n, c)| format!("{}: {c}", option_label(*n)))
        .collect();
    writeln!(out, "{}", summary.join(", "))?;
    writeln!(
        out,
        "runbooks and key policies: `--format markdown` or `--format json`"
    )
}
