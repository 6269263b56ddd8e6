//! Writers for the advisor's outputs: the option list, `explain`, and a recommendation as a terminal table,
//! Markdown or JSON. One model, several views.

use std::io::{self, Write};

use crate::catalog::schema::{DateBasis, EngineDef, Fact, Point, PriceFile};
use crate::catalog::{Catalog, OptionDef, Rule};
use crate::table;

use super::compare::Column;
use super::cost::CostLine;
use super::engine::{Recommendation, RuleReason};

/// A rule's points as the reports show them: `+3`, `-2`, or `note` for a rule that only explains.
pub fn signed_points(points: i32) -> String {
    match points {
        0 => "note".to_string(),
        p if p > 0 => format!("+{p}"),
        p => p.to_string(),
    }
}

fn reason_line(r: &RuleReason) -> String {
    format!("[{}] {} ({})", signed_points(r.points), r.text, r.rule)
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

pub fn explain_option(
    catalog: &Catalog,
    option: &OptionDef,
    out: &mut dyn Write,
) -> io::Result<()> {
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
    if !option.variants.is_empty() {
        writeln!(
            out,
            "\nkey-protection variants (`advise --compare {}:<variant>`):",
            f.number.unwrap_or_default()
        )?;
    }
    for v in &option.variants {
        let vf = &v.file;
        writeln!(out, "  {} - {}", vf.id, vf.title)?;
        writeln!(out, "    {}", vf.key_management)?;
        if vf.engine_listed {
            writeln!(
                out,
                "    only for engines whose entry lists it (`atrest explain <engine>`)"
            )?;
        }
        for (name, value) in &vf.attributes {
            writeln!(out, "    {name} = {value}")?;
        }
        writeln!(out, "    rotation: {}", vf.rotation)?;
        for item in &vf.cost {
            let (usd, date, confidence) =
                catalog
                    .price(&item.price)
                    .map_or((String::new(), String::new(), ""), |p| {
                        (
                            format!("${} per {}", p.usd, p.unit),
                            p.date.clone(),
                            p.confidence.as_str(),
                        )
                    });
            writeln!(
                out,
                "    cost: {} x {} ({usd}; {date}, {confidence}): {}",
                item.quantity, item.price, item.basis
            )?;
        }
        for u in &vf.unpriced {
            writeln!(out, "    not priced: {u}")?;
        }
    }
    points("benefits", &f.benefit, out)?;
    points("challenges", &f.challenge, out)?;
    if !f.facts.is_empty() {
        writeln!(out, "\nfacts: {}", f.facts.join(", "))?;
    }
    Ok(())
}

/// The width `advise` fits its terminal tables to when it cannot tell (output to a file or a pipe).
pub const DEFAULT_WIDTH: usize = 100;
/// The narrowest width tables are fitted to.
const MIN_WIDTH: usize = 60;
/// Words up to this long stay whole when a column narrows; longer ones (URLs) are split.
const LONG_WORD: usize = 32;

/// Word-wraps `text` to `width`, splitting words longer than the width.
fn wrap_hard(text: &str, width: usize) -> String {
    let width = width.max(1);
    let split: String = text
        .lines()
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    let chars: Vec<char> = word.chars().collect();
                    if chars.len() <= width {
                        word.to_string()
                    } else {
                        chars
                            .chunks(width)
                            .map(|c| c.iter().collect::<String>())
                            .collect::<Vec<_>>()
                            .join(" ")
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    table::wrap(&split, width)
}

/// A terminal table fitted to `width` columns: the widest column gives way first, and cells wrap at word
/// boundaries (a word longer than its column stays whole).
pub fn fit(headers: &[&str], rows: &[Vec<String>], width: usize) -> String {
    let columns = headers.len();
    let cell_width = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut widths: Vec<usize> = headers.iter().map(|h| cell_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell_width(cell));
        }
    }
    // Each column adds a separator and two spaces of padding; the table adds one closing border. A column
    // narrows to its longest word (up to `long_word`); longer words, such as URLs, are split.
    let budget = width.max(MIN_WIDTH).saturating_sub(3 * columns + 1);
    let long_word = LONG_WORD.min((budget / 3).max(12));
    let longest_word = |text: &str| {
        text.split_whitespace()
            .map(|w| w.chars().count().min(long_word))
            .max()
            .unwrap_or(0)
    };
    let mut floors: Vec<usize> = headers.iter().map(|h| longest_word(h)).collect();
    for row in rows {
        for (f, cell) in floors.iter_mut().zip(row) {
            *f = (*f).max(longest_word(cell));
        }
    }
    while widths.iter().sum::<usize>() > budget {
        let widest = widths
            .iter()
            .zip(&floors)
            .enumerate()
            .filter(|(_, (w, f))| w > f)
            .max_by_key(|(i, (w, _))| (**w, *i))
            .map(|(i, _)| i);
        let Some(w) = widest.and_then(|i| widths.get_mut(i)) else {
            break;
        };
        *w -= 1;
    }
    let wrapped_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .map(|(cell, w)| wrap_hard(cell, *w))
                .collect()
        })
        .collect();
    let headers: Vec<String> = headers
        .iter()
        .zip(&widths)
        .map(|(h, w)| table::wrap(h, *w))
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    table::text(&headers, &wrapped_rows, &[])
}

fn wrapped(prefix: &str, text: &str, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let indent = " ".repeat(prefix.chars().count());
    let body = table::wrap(text, width.max(MIN_WIDTH).saturating_sub(prefix.len()));
    for (i, line) in body.lines().enumerate() {
        writeln!(out, "{}{line}", if i == 0 { prefix } else { &indent })?;
    }
    Ok(())
}

/// The prices behind the costs of the ranked options, once each.
fn cited_prices(rec: &Recommendation) -> Vec<&CostLine> {
    let mut seen: Vec<&CostLine> = Vec::new();
    for line in rec.ranked.iter().flat_map(|r| r.cost.lines.iter()) {
        if !seen.iter().any(|l| l.price == line.price) {
            seen.push(line);
        }
    }
    seen
}

/// The option's challenges (its drawbacks), for the chosen option.
fn drawbacks<'a>(catalog: &'a Catalog, rec: &Recommendation) -> &'a [Point] {
    rec.recommended
        .as_ref()
        .and_then(|r| catalog.option(&r.id))
        .map_or(&[], |o| o.file.challenge.as_slice())
}

/// A recommendation for a terminal `width` columns wide.
pub fn recommendation_text(
    rec: &Recommendation,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    match &rec.recommended {
        Some(r) => {
            writeln!(
                out,
                "Recommended: option {} - {} (score {})",
                r.option, r.title, r.score
            )?;
            if let Some(top) = rec.ranked.first() {
                wrapped(
                    "  key protection: ",
                    &format!("{} (variant `{}`)", top.variant.title, top.variant.id),
                    width,
                    out,
                )?;
                if let Some(why) = &top.variant.made_feasible {
                    wrapped("  made feasible: ", why, width, out)?;
                }
                wrapped("  monthly cost: ", &top.cost.summary(), width, out)?;
            }
        }
        None => writeln!(
            out,
            "No option meets these requirements; the exclusions below say why."
        )?,
    }
    for o in &rec.overlays {
        wrapped(
            "  + ",
            &format!("{} overlay: {} ({})", o.level.as_str(), o.title, o.id),
            width,
            out,
        )?;
        for r in &o.reasons {
            wrapped("      ", &format!("{} ({})", r.text, r.rule), width, out)?;
        }
    }
    writeln!(
        out,
        "engine: {} ({})",
        rec.engine_support.engine, rec.engine_support.source
    )?;
    for note in &rec.engine_support.notes {
        wrapped("  note: ", note, width, out)?;
    }
    if let Some(c) = &rec.conflict {
        writeln!(out, "\nWhy nothing fits")?;
        wrapped("  ", &c.text, width, out)?;
        writeln!(out, "  the cheapest single change per option:")?;
        for r in &c.relaxations {
            wrapped("  - ", &r.text, width, out)?;
        }
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
                        .map(|o| format!("[{} overlay] {}", o.level.as_str(), o.id)),
                );
                vec![
                    r.option.to_string(),
                    r.title.clone(),
                    format!("{}\n{}", r.variant.id, r.cost.summary()),
                    r.score.to_string(),
                    why.join("\n"),
                ]
            })
            .collect();
        writeln!(out, "\nFeasible options, best first")?;
        writeln!(
            out,
            "{}",
            fit(
                &["#", "option", "variant, cost", "score", "why"],
                &rows,
                width
            )
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
            fit(&["#", "option", "excluded because"], &rows, width)
        )?;
    }
    if !rec.warnings.is_empty() {
        writeln!(
            out,
            "\nWarnings (where the 2020 guidance or your input needs attention)"
        )?;
        for w in &rec.warnings {
            wrapped("  ! ", &format!("{} ({})", w.text, w.rule), width, out)?;
            if let Some(c) = &w.changed_since_2020 {
                wrapped("    2020: ", c, width, out)?;
            }
        }
    }
    let prices = cited_prices(rec);
    if !prices.is_empty() {
        let rows: Vec<Vec<String>> = prices
            .iter()
            .map(|p| {
                vec![
                    p.price.clone(),
                    format!("{} per {}", p.unit_usd, p.unit),
                    p.date.clone(),
                    p.confidence.to_string(),
                    p.source.clone(),
                ]
            })
            .collect();
        writeln!(out, "\nPrices (`atrest explain <price>` for one)")?;
        writeln!(
            out,
            "{}",
            fit(
                &["price", "usd", "date", "confidence", "source"],
                &rows,
                width
            )
        )?;
    }
    if !rec.facts.is_empty() {
        let rows: Vec<Vec<String>> = rec
            .facts
            .iter()
            .map(|f| {
                vec![
                    f.id.clone(),
                    format!("{}\n{}", f.date, f.confidence),
                    format!("{}\n{}", f.statement, f.source),
                ]
            })
            .collect();
        writeln!(out, "\nFacts cited")?;
        writeln!(
            out,
            "{}",
            fit(&["fact", "date", "statement and source"], &rows, width)
        )?;
    }
    Ok(())
}

/// A recommendation as Markdown, ready to paste into a planning document.
pub fn recommendation_markdown(
    rec: &Recommendation,
    catalog: &Catalog,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "# Database encryption at rest: recommendation\n")?;
    match &rec.recommended {
        Some(r) => {
            writeln!(
                out,
                "**Recommended: option {} - {}** (score {})\n",
                r.option, r.title, r.score
            )?;
            if let Some(top) = rec.ranked.first() {
                writeln!(
                    out,
                    "- **Key protection:** {} (variant `{}`): {}",
                    top.variant.title, top.variant.id, top.variant.key_management
                )?;
                if let Some(why) = &top.variant.made_feasible {
                    writeln!(out, "- **Made feasible by the variant:** {why}")?;
                }
                writeln!(out, "- **Monthly cost:** {}", top.cost.summary())?;
            }
        }
        None => writeln!(
            out,
            "**No option meets these requirements.** The exclusions below say why.\n"
        )?,
    }
    for o in &rec.overlays {
        writeln!(
            out,
            "- **{} overlay:** {} (`{}`)",
            o.level.as_str(),
            o.title,
            o.id
        )?;
        for r in &o.reasons {
            writeln!(out, "  - {} (`{}`)", r.text, r.rule)?;
        }
    }
    let cons = drawbacks(catalog, rec);
    if let (Some(r), false) = (&rec.recommended, cons.is_empty()) {
        writeln!(out, "\n## Drawbacks of option {}\n", r.option)?;
        for p in cons {
            writeln!(out, "- {} (`{}`)", p.text, p.id)?;
            if let Some(c) = &p.changed {
                writeln!(out, "  - changed since 2020: {c}")?;
            }
        }
    }
    if let Some(c) = &rec.conflict {
        writeln!(out, "\n## Why nothing fits\n")?;
        writeln!(out, "{}.\n", c.text)?;
        writeln!(out, "The cheapest single change per option:\n")?;
        for r in &c.relaxations {
            writeln!(out, "- {}", r.text)?;
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
                format!("`{}`", r.variant.id),
                r.cost.summary(),
                r.score.to_string(),
                why.join("\n"),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table::markdown(&["#", "option", "variant", "cost", "score", "why"], &rows)
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
    let prices = cited_prices(rec);
    if !prices.is_empty() {
        writeln!(out, "## Prices\n")?;
        let rows: Vec<Vec<String>> = prices
            .iter()
            .map(|p| {
                vec![
                    format!("`{}`", p.price),
                    format!("{} per {}", p.unit_usd, p.unit),
                    format!("[source]({}) ({}, {})", p.source, p.date, p.confidence),
                ]
            })
            .collect();
        writeln!(
            out,
            "{}",
            table::markdown(&["price", "usd", "source"], &rows)
        )?;
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

/// `advise --compare` for a terminal: one row per aspect, one column per pick.
pub fn compare_text(columns: &[Column], width: usize, out: &mut dyn Write) -> io::Result<()> {
    let (headers, rows) = compare_rows(columns);
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    writeln!(out, "{}", fit(&headers, &rows, width))
}

/// `advise --compare` as Markdown.
pub fn compare_markdown(columns: &[Column], out: &mut dyn Write) -> io::Result<()> {
    let (headers, rows) = compare_rows(columns);
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    writeln!(out, "{}", table::markdown(&headers, &rows))
}

fn compare_rows(columns: &[Column]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers = vec![String::new()];
    headers.extend(columns.iter().map(|c| c.heading.clone()));
    let labels: Vec<&str> = columns
        .first()
        .map(|c| c.rows.iter().map(|(k, _)| k.as_str()).collect())
        .unwrap_or_default();
    let rows = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let mut row = vec![(*label).to_string()];
            row.extend(
                columns
                    .iter()
                    .map(|c| c.rows.get(i).map(|(_, v)| v.clone()).unwrap_or_default()),
            );
            row
        })
        .collect();
    (headers, rows)
}

/// `atrest explain <price id>`.
pub fn explain_price(price: &PriceFile, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "price {}", price.id)?;
    writeln!(
        out,
        "{}: ${} per {} ({})",
        price.item, price.usd, price.unit, price.region
    )?;
    writeln!(out, "source: {}", price.source)?;
    let basis = match price.date_basis {
        DateBasis::Published => "published",
        DateBasis::NotBefore => "not before",
    };
    writeln!(
        out,
        "date: {} ({basis}); confidence: {}",
        price.date,
        price.confidence.as_str()
    )?;
    if let Some(note) = &price.note {
        writeln!(out, "{note}")?;
    }
    Ok(())
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
