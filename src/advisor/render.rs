//! Writers for the advisor's outputs: the option list, `explain`, and a recommendation as a terminal table,
//! Markdown or JSON. One model, several views.

use std::io::{self, Write};

use crate::catalog::schema::{DateBasis, EngineDef, Fact, OverlayLevel, Point};
use crate::catalog::{Catalog, OptionDef, Rule};
use crate::table;

use super::engine::{Recommendation, RuleReason};

fn signed(points: i32) -> String {
    match points {
        0 => "note".to_string(),
        p if p > 0 => format!("+{p}"),
        p => p.to_string(),
    }
}

fn reason_line(r: &RuleReason) -> String {
    format!("[{}] {} ({})", signed(r.points), r.text, r.rule)
}

fn level(l: OverlayLevel) -> &'static str {
    match l {
        OverlayLevel::Required => "required",
        OverlayLevel::Suggested => "suggested",
    }
}

/// The seven options as Table 1 lays them out, with today's key management wording.
pub fn options_rows(catalog: &Catalog) -> Vec<Vec<String>> {
    catalog
        .numbered_options()
        .map(|o| {
            let f = &o.file;
            vec![
                f.number.map(|n| n.to_string()).unwrap_or_default(),
                f.id.clone(),
                f.database_management.clone().unwrap_or_default(),
                f.host_label.clone().unwrap_or_default(),
                f.encryption_label.clone().unwrap_or_default(),
                f.key_management_label.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

pub const OPTION_HEADERS: [&str; 6] = [
    "#",
    "id",
    "database management",
    "host",
    "encryption",
    "key management",
];

pub fn options_table(catalog: &Catalog, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        table::text(&OPTION_HEADERS, &options_rows(catalog), &[(5, 40)])
    )?;
    let overlays: Vec<String> = catalog
        .overlays()
        .map(|o| format!("{} ({})", o.id(), o.file.title))
        .collect();
    writeln!(out, "overlays: {}", overlays.join("; "))?;
    writeln!(
        out,
        "`atrest explain <number|id>` prints any option, overlay, rule, fact or engine in full"
    )
}

fn points(title: &str, items: &[Point], out: &mut dyn Write) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title}:")?;
    for p in items {
        let facts = if p.facts.is_empty() {
            String::new()
        } else {
            format!(" [facts: {}]", p.facts.join(", "))
        };
        writeln!(out, "  - {} ({}){facts}", p.text, p.id)?;
        if let Some(changed) = &p.changed {
            writeln!(out, "    changed since 2020: {changed}")?;
        }
    }
    Ok(())
}

pub fn explain_option(option: &OptionDef, out: &mut dyn Write) -> io::Result<()> {
    let f = &option.file;
    match f.number {
        Some(n) => writeln!(out, "option {n}: {} ({})", f.title, f.id)?,
        None => writeln!(out, "overlay: {} ({})", f.title, f.id)?,
    }
    for (label, value) in [
        ("database management", &f.database_management),
        ("host", &f.host_label),
        ("encryption", &f.encryption_label),
        ("key management", &f.key_management_label),
    ] {
        if let Some(v) = value {
            writeln!(out, "{label}: {v}")?;
        }
    }
    writeln!(out, "\n{}", f.summary)?;
    if let Some(note) = &f.seed_note {
        writeln!(out, "2020 guidance: {note}")?;
    }
    if !option.is_overlay() {
        writeln!(out, "\nattributes (what rules read as `opt.<name>`):")?;
        for (name, value) in &option.attributes {
            writeln!(out, "  {name} = {}", value.render())?;
        }
    }
    points("benefits", &f.benefit, out)?;
    points("challenges", &f.challenge, out)?;
    if !f.facts.is_empty() {
        writeln!(out, "\nfacts: {}", f.facts.join(", "))?;
    }
    Ok(())
}

/// A recommendation for a terminal.
pub fn recommendation_text(rec: &Recommendation, out: &mut dyn Write) -> io::Result<()> {
    match &rec.recommended {
        Some(r) => writeln!(
            out,
            "Recommended: option {} - {} (score {})",
            r.option, r.title, r.score
        )?,
        None => writeln!(
            out,
            "No option meets these requirements; the exclusions below say why."
        )?,
    }
    for o in &rec.overlays {
        writeln!(
            out,
            "  + {} overlay: {} ({})",
            level(o.level),
            o.title,
            o.id
        )?;
        for r in &o.reasons {
            writeln!(out, "      {} ({})", r.text, r.rule)?;
        }
    }
    writeln!(
        out,
        "engine: {} ({})",
        rec.engine_support.engine, rec.engine_support.source
    )?;
    for note in &rec.engine_support.notes {
        writeln!(out, "  note: {note}")?;
    }
    if !rec.ranked.is_empty() {
        let rows: Vec<Vec<String>> = rec
            .ranked
            .iter()
            .map(|r| {
                let mut why: Vec<String> = r.reasons.iter().map(reason_line).collect();
                why.extend(
                    r.overlays
                        .iter()
                        .map(|o| format!("[{} overlay] {}", level(o.level), o.id)),
                );
                vec![
                    r.option.to_string(),
                    r.title.clone(),
                    r.score.to_string(),
                    why.join("\n"),
                ]
            })
            .collect();
        writeln!(out, "\nFeasible options, best first")?;
        writeln!(
            out,
            "{}",
            table::text(&["#", "option", "score", "why"], &rows, &[(1, 30), (3, 70)])
        )?;
    }
    if !rec.excluded.is_empty() {
        let rows: Vec<Vec<String>> = rec
            .excluded
            .iter()
            .map(|e| {
                let why: Vec<String> = e
                    .reasons
                    .iter()
                    .map(|r| format!("{} ({})", r.text, r.rule))
                    .collect();
                vec![e.option.to_string(), e.title.clone(), why.join("\n")]
            })
            .collect();
        writeln!(out, "\nExcluded options")?;
        writeln!(
            out,
            "{}",
            table::text(
                &["#", "option", "excluded because"],
                &rows,
                &[(1, 30), (2, 76)]
            )
        )?;
    }
    if !rec.warnings.is_empty() {
        writeln!(
            out,
            "\nWarnings (where the 2020 guidance or your input needs attention)"
        )?;
        for w in &rec.warnings {
            writeln!(out, "  ! {} ({})", w.text, w.rule)?;
            if let Some(c) = &w.changed_since_2020 {
                writeln!(out, "    2020: {c}")?;
            }
        }
    }
    if !rec.facts.is_empty() {
        let rows: Vec<Vec<String>> = rec
            .facts
            .iter()
            .map(|f| {
                vec![
                    f.id.clone(),
                    f.date.clone(),
                    f.confidence.to_string(),
                    f.statement.clone(),
                    f.source.clone(),
                ]
            })
            .collect();
        writeln!(out, "\nFacts cited")?;
        writeln!(
            out,
            "{}",
            table::text(
                &["fact", "date", "confidence", "statement", "source"],
                &rows,
                &[(3, 60), (4, 40)]
            )
        )?;
    }
    Ok(())
}

/// A recommendation as Markdown, ready to paste into a planning document.
pub fn recommendation_markdown(rec: &Recommendation, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Database encryption at rest: recommendation\n")?;
    match &rec.recommended {
        Some(r) => writeln!(
            out,
            "**Recommended: option {} - {}** (score {})\n",
            r.option, r.title, r.score
        )?,
        None => writeln!(
            out,
            "**No option meets these requirements.** The exclusions below say why.\n"
        )?,
    }
    for o in &rec.overlays {
        writeln!(
            out,
            "- **{} overlay:** {} (`{}`)",
            level(o.level),
            o.title,
            o.id
        )?;
        for r in &o.reasons {
            writeln!(out, "  - {} (`{}`)", r.text, r.rule)?;
        }
    }
    writeln!(
        out,
        "\nEngine `{}`: {}\n",
        rec.engine_support.engine, rec.engine_support.source
    )?;
    writeln!(out, "## Requirements\n")?;
    let rows: Vec<Vec<String>> = rec
        .requirements
        .iter()
        .map(|(k, v)| vec![format!("`{k}`"), v.render()])
        .collect();
    writeln!(out, "{}", table::markdown(&["requirement", "value"], &rows))?;
    writeln!(out, "## Feasible options, best first\n")?;
    let rows: Vec<Vec<String>> = rec
        .ranked
        .iter()
        .map(|r| {
            let why: Vec<String> = r.reasons.iter().map(reason_line).collect();
            vec![
                r.option.to_string(),
                r.title.clone(),
                r.score.to_string(),
                why.join("\n"),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table::markdown(&["#", "option", "score", "why"], &rows)
    )?;
    if !rec.excluded.is_empty() {
        writeln!(out, "## Excluded options\n")?;
        let rows: Vec<Vec<String>> = rec
            .excluded
            .iter()
            .map(|e| {
                let why: Vec<String> = e
                    .reasons
                    .iter()
                    .map(|r| format!("{} (`{}`)", r.text, r.rule))
                    .collect();
                vec![e.option.to_string(), e.title.clone(), why.join("\n")]
            })
            .collect();
        writeln!(
            out,
            "{}",
            table::markdown(&["#", "option", "excluded because"], &rows)
        )?;
    }
    if !rec.warnings.is_empty() {
        writeln!(out, "## Warnings\n")?;
        for w in &rec.warnings {
            writeln!(out, "- {} (`{}`)", w.text, w.rule)?;
            if let Some(c) = &w.changed_since_2020 {
                writeln!(out, "  - 2020 guidance: {c}")?;
            }
        }
        writeln!(out)?;
    }
    if !rec.facts.is_empty() {
        writeln!(out, "## Facts cited\n")?;
        let rows: Vec<Vec<String>> = rec
            .facts
            .iter()
            .map(|f| {
                vec![
                    format!("`{}`", f.id),
                    f.statement.clone(),
                    format!("[source]({}) ({}, {})", f.source, f.date, f.confidence),
                ]
            })
            .collect();
        writeln!(
            out,
            "{}",
            table::markdown(&["fact", "statement", "source"], &rows)
        )?;
    }
    writeln!(
        out,
        "_Catalog {}; schema version {}._",
        rec.catalog_version, rec.schema_version
    )
}

/// `atrest explain <rule id>`.
pub fn explain_rule(rule: &Rule, out: &mut dyn Write) -> io::Result<()> {
    let f = &rule.file;
    writeln!(out, "rule {} ({})", f.id, f.effect.as_str())?;
    if let Some(p) = f.points {
        writeln!(out, "points: {p:+}")?;
    }
    if let (Some(o), Some(l)) = (&f.overlay, f.level) {
        writeln!(out, "overlay: {o} ({l:?})")?;
    }
    writeln!(out, "when all of:")?;
    for c in &f.when {
        writeln!(out, "  {c}")?;
    }
    writeln!(out, "reason: {}", f.reason)?;
    if let Some(c) = &f.changed_since_2020 {
        writeln!(out, "2020 guidance: {c}")?;
    }
    if !f.facts.is_empty() {
        writeln!(out, "facts: {}", f.facts.join(", "))?;
    }
    Ok(())
}

/// `atrest explain <fact id>`.
pub fn explain_fact(fact: &Fact, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "fact {}", fact.id)?;
    writeln!(out, "{}", fact.statement)?;
    writeln!(out, "source: {}", fact.source)?;
    let basis = match fact.date_basis {
        DateBasis::Published => "published",
        DateBasis::NotBefore => "not before",
    };
    writeln!(
        out,
        "date: {} ({basis}); confidence: {}; topic: {}",
        fact.date,
        fact.confidence.as_str(),
        fact.topic
    )?;
    if let Some(c) = &fact.changed_since_2020 {
        writeln!(out, "2020 guidance: {}\nnow: {}", c.was, c.now)?;
    }
    Ok(())
}

/// `atrest explain <engine id>`: the engine's snapshot entry as TOML.
pub fn explain_engine(
    catalog: &Catalog,
    engine: &EngineDef,
    out: &mut dyn Write,
) -> io::Result<()> {
    let text = toml::to_string_pretty(engine).map_err(io::Error::other)?;
    writeln!(
        out,
        "engine {} ({}), {}\n\n{text}",
        engine.id, engine.name, catalog.engines.snapshot.note
    )
}

/// `atrest options --format json`.
pub fn options_json(catalog: &Catalog, out: &mut dyn Write) -> io::Result<()> {
    let options: Vec<_> = catalog.options.iter().map(|o| &o.file).collect();
    serde_json::to_writer_pretty(
        &mut *out,
        &serde_json::json!({ "schema_version": 1, "options": options }),
    )?;
    writeln!(out)
}
