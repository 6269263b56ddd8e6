//! Architecture decision records (Markdown) from the advisor: `atrest advise --format adr` and
//! `atrest plan --format adr`. Context = the requirements, decision = the recommended option and its overlays,
//! alternatives = the ranked and excluded options with rule ids, consequences = warnings and the chosen option's
//! challenges, then every fact cited with its source and date. `evidence build --attach` recognises a record by its
//! marker line and offers it as evidence for the manual controls.

use std::io::{self, Write};

use crate::advisor::Recommendation;
use crate::advisor::engine::RuleReason;
use crate::advisor::plan::Plan;
use crate::catalog::Catalog;
use crate::table;

/// The marker `atrest advise|plan --format adr` writes on a decision record's first lines, by which an evidence
/// bundle recognises an attached decision record.
pub const DECISION_RECORD_MARKER: &str = "<!-- atrest:decision-record v1 -->";

fn reason(r: &RuleReason) -> String {
    let facts = if r.facts.is_empty() {
        String::new()
    } else {
        format!(" [facts: {}]", r.facts.join(", "))
    };
    format!(
        "[{}] {} (`{}`){facts}",
        crate::advisor::render::signed_points(r.points),
        r.text,
        r.rule
    )
}

fn requirement(rec: &Recommendation, key: &str) -> String {
    rec.requirements
        .get(key)
        .map(|v| v.render())
        .unwrap_or_default()
}

/// `a postgres 16.4 database (regimes: pci-pan)`.
pub fn subject(rec: &Recommendation) -> String {
    let engine = requirement(rec, "database.engine");
    let version = requirement(rec, "database.version");
    let regimes = requirement(rec, "data.regimes");
    let mut s = format!(
        "a {}{} database",
        engine,
        if version.is_empty() {
            String::new()
        } else {
            format!(" {version}")
        }
    );
    if !regimes.is_empty() && regimes != "none" {
        s.push_str(&format!(" (regimes: {regimes})"));
    }
    s
}

fn header(out: &mut dyn Write, title: &str, catalog_version: &str, date: &str) -> io::Result<()> {
    writeln!(out, "# ADR: {title}\n")?;
    writeln!(out, "{DECISION_RECORD_MARKER}\n")?;
    writeln!(out, "- Status: proposed")?;
    writeln!(out, "- Date: {date}")?;
    writeln!(out, "- Deciders: (fill in)")?;
    writeln!(
        out,
        "- Produced by: atrest {}, decision catalog {catalog_version}",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(
        out,
        "- Evidence: attach this record to an evidence bundle with `atrest evidence build --attach FILE`\n"
    )
}

/// A decision record for one recommendation (`advise --format adr`).
pub fn recommendation(
    rec: &Recommendation,
    catalog: &Catalog,
    date: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    header(
        out,
        &format!("encryption at rest for {}", subject(rec)),
        &rec.catalog_version,
        date,
    )?;
    body(rec, catalog, 2, out)
}

/// A decision record per database of a plan (`plan --format adr`), in one document.
pub fn plan(plan: &Plan, catalog: &Catalog, date: &str, out: &mut dyn Write) -> io::Result<()> {
    header(
        out,
        &format!(
            "encryption at rest for {} database(s)",
            plan.databases.len()
        ),
        &plan.catalog_version,
        date,
    )?;
    let rows: Vec<Vec<String>> = plan
        .databases
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                format!("{} {}", d.engine, d.version),
                d.region.clone(),
                d.current_encryption.clone(),
                d.recommendation
                    .recommended
                    .as_ref()
                    .map(|r| format!("{}: {}", r.option, r.title))
                    .unwrap_or_else(|| "no option meets the requirements".to_string()),
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
                "region",
                "encryption today",
                "decision"
            ],
            &rows
        )
    )?;
    for d in &plan.databases {
        writeln!(out, "## {}: {}\n", d.name, subject(&d.recommendation))?;
        if !d.data_classes.is_empty() {
            writeln!(out, "Data classes: {}.\n", d.data_classes.join(", "))?;
        }
        body(&d.recommendation, catalog, 3, out)?;
        if !d.runbook.is_empty() {
            writeln!(out, "{} Implementation\n", "#".repeat(3))?;
            for (i, s) in d.runbook.iter().enumerate() {
                writeln!(out, "{}. **{}**: {}", i + 1, s.title, s.detail)?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

fn body(
    rec: &Recommendation,
    catalog: &Catalog,
    depth: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let h = "#".repeat(depth);
    let hh = "#".repeat(depth + 1);

    writeln!(out, "{h} Context\n")?;
    writeln!(out, "The requirements this decision answers:\n")?;
    let rows: Vec<Vec<String>> = rec
        .requirements
        .iter()
        .map(|(k, v)| vec![format!("`{k}`"), v.render()])
        .collect();
    writeln!(out, "{}", table::markdown(&["requirement", "value"], &rows))?;
    writeln!(
        out,
        "Engine `{}`: {}.",
        rec.engine_support.engine, rec.engine_support.source
    )?;
    for note in &rec.engine_support.notes {
        writeln!(out, "- {note}")?;
    }
    writeln!(out)?;

    writeln!(out, "{h} Decision\n")?;
    match &rec.recommended {
        Some(r) => {
            writeln!(
                out,
                "Use **option {}: {}** (`{}`, score {}).\n",
                r.option, r.title, r.id, r.score
            )?;
            if let Some(top) = rec.ranked.iter().find(|x| x.id == r.id) {
                for why in &top.reasons {
                    writeln!(out, "- {}", reason(why))?;
                }
            }
        }
        None => writeln!(
            out,
            "**No option meets these requirements.** The excluded options below say which rules rule each out.\n"
        )?,
    }
    for o in &rec.overlays {
        writeln!(
            out,
            "- With the **{}** overlay **{}** (`{}`):",
            o.level.as_str(),
            o.title,
            o.id
        )?;
        for r in &o.reasons {
            writeln!(out, "  - {}", reason(r))?;
        }
    }
    writeln!(out)?;

    writeln!(out, "{h} Alternatives considered\n")?;
    let others: Vec<Vec<String>> = rec
        .ranked
        .iter()
        .filter(|r| rec.recommended.as_ref().is_none_or(|top| top.id != r.id))
        .map(|r| {
            vec![
                r.option.to_string(),
                r.title.clone(),
                r.score.to_string(),
                r.reasons.iter().map(reason).collect::<Vec<_>>().join("\n"),
            ]
        })
        .collect();
    writeln!(out, "{hh} Feasible, ranked lower\n")?;
    if others.is_empty() {
        writeln!(out, "None.\n")?;
    } else {
        writeln!(
            out,
            "{}",
            table::markdown(&["#", "option", "score", "why (rule ids)"], &others)
        )?;
    }
    writeln!(out, "{hh} Excluded\n")?;
    if rec.excluded.is_empty() {
        writeln!(out, "None.\n")?;
    } else {
        let rows: Vec<Vec<String>> = rec
            .excluded
            .iter()
            .map(|e| {
                vec![
                    e.option.to_string(),
                    e.title.clone(),
                    e.rules
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    e.reasons
                        .iter()
                        .map(|r| r.text.clone())
                        .collect::<Vec<_>>()
                        .join("\n"),
                ]
            })
            .collect();
        writeln!(
            out,
            "{}",
            table::markdown(&["#", "option", "rules", "excluded because"], &rows)
        )?;
    }

    writeln!(out, "{h} Consequences\n")?;
    if !rec.warnings.is_empty() {
        writeln!(out, "{hh} Warnings\n")?;
        for w in &rec.warnings {
            let facts = if w.facts.is_empty() {
                String::new()
            } else {
                format!(" [facts: {}]", w.facts.join(", "))
            };
            writeln!(out, "- {} (`{}`){facts}", w.text, w.rule)?;
            if let Some(c) = &w.changed_since_2020 {
                writeln!(out, "  - 2020 guidance: {c}")?;
            }
        }
        writeln!(out)?;
    }
    let chosen = rec.recommended.as_ref().and_then(|r| catalog.option(&r.id));
    match chosen {
        Some(option) if !option.file.challenge.is_empty() || !option.file.benefit.is_empty() => {
            for (title, points) in [
                ("Challenges", &option.file.challenge),
                ("Benefits", &option.file.benefit),
            ] {
                if points.is_empty() {
                    continue;
                }
                writeln!(
                    out,
                    "{hh} {title} of option {}\n",
                    option.file.number.unwrap_or(0)
                )?;
                for p in points {
                    let facts = if p.facts.is_empty() {
                        String::new()
                    } else {
                        format!(" [facts: {}]", p.facts.join(", "))
                    };
                    writeln!(out, "- {} (`{}`){facts}", p.text, p.id)?;
                }
                writeln!(out)?;
            }
        }
        _ if rec.warnings.is_empty() => writeln!(out, "None recorded.\n")?,
        _ => {}
    }

    writeln!(out, "{h} Facts cited\n")?;
    if rec.facts.is_empty() {
        writeln!(out, "None.\n")?;
    } else {
        let rows: Vec<Vec<String>> = rec
            .facts
            .iter()
            .map(|f| {
                vec![
                    format!("`{}`", f.id),
                    f.statement.clone(),
                    f.source.clone(),
                    f.date.clone(),
                    f.confidence.to_string(),
                ]
            })
            .collect();
        writeln!(
            out,
            "{}",
            table::markdown(
                &["fact", "statement", "source", "date", "confidence"],
                &rows
            )
        )?;
    }
    Ok(())
}
