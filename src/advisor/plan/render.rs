//! A plan as Markdown (to paste into a planning document) or as a short terminal summary.

use std::io::{self, Write};

use super::Plan;
use crate::advisor::cost::usd;
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
                    format!("{} - {} ({})", r.option, r.title, r.variant_title)
                }),
                monthly_cost(d),
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
            &[
                "database",
                "engine",
                "today",
                "target",
                "monthly key cost",
                "overlays"
            ],
            &rows
        )
    )?;
    writeln!(out, "{}\n", fleet_cost(plan))?;
    for d in &plan.databases {
        let rec = &d.recommendation;
        writeln!(out, "## `{}`\n", d.name)?;
        match &rec.recommended {
            Some(r) => {
                writeln!(
                    out,
                    "**Target: option {} - {}** (score {}).",
                    r.option, r.title, r.score
                )?;
                writeln!(
                    out,
                    "\nKey protection: {}. Monthly cost of its key infrastructure: {}.",
                    r.variant_title,
                    monthly_cost(d)
                )?;
            }
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
                monthly_cost(d),
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
                "database", "engine", "today", "target", "monthly", "overlays", "steps", "keys"
            ],
            &rows,
            &[(3, 40)]
        )
    )?;
    writeln!(out, "{}", fleet_cost(plan))?;
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

/// The monthly cost of a database's target option and variant, marked when a price is not verified.
fn monthly_cost(d: &super::DatabasePlan) -> String {
    match (
        &d.recommendation.recommended,
        d.recommendation.ranked.first(),
    ) {
        (Some(r), Some(top)) if top.cost.unverified => {
            format!("{} (unverified price)", usd(r.monthly_cents))
        }
        (Some(r), _) => usd(r.monthly_cents),
        (None, _) => "-".to_string(),
    }
}

/// The fleet's monthly key cost, summed per database (keys the plan shares across databases are counted once per
/// database, so this is an upper bound).
fn fleet_cost(plan: &Plan) -> String {
    let total: u64 = plan
        .databases
        .iter()
        .filter_map(|d| d.recommendation.recommended.as_ref())
        .map(|r| r.monthly_cents)
        .sum();
    let unverified = plan.databases.iter().any(|d| {
        d.recommendation
            .ranked
            .first()
            .is_some_and(|t| t.cost.unverified)
    });
    format!(
        "monthly key cost, summed per database: {}{}",
        usd(total),
        if unverified {
            " (rests on an unverified price)"
        } else {
            ""
        }
    )
}
