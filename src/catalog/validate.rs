//! Cross-checks of facts, option attributes and engines against the criteria.

use std::collections::{BTreeMap, BTreeSet};

use super::Criteria;
use super::criteria::typed_value;
use super::expr::Value;
use super::problems::Problems;
use super::schema::{EnginesFile, Fact, OptionFile};
use crate::suggest;

pub(super) fn check_fact(fact: &Fact, problems: &mut Problems) {
    let path = format!("facts/{}.toml", fact.id);
    if !fact.source.starts_with("https://") {
        problems.add(
            &path,
            format!("source `{}` must be an https URL", fact.source),
        );
    }
    let parts: Vec<&str> = fact.date.split('-').collect();
    let well_formed = matches!(parts.len(), 1..=3)
        && parts.first().is_some_and(|y| y.len() == 4)
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.iter().skip(1).all(|p| p.len() == 2);
    if !well_formed {
        problems.add(
            &path,
            format!("date `{}` must be YYYY, YYYY-MM or YYYY-MM-DD", fact.date),
        );
    }
    if fact.statement.trim().is_empty() {
        problems.add(&path, "statement is empty");
    }
}

pub(super) fn option_attributes(
    path: &str,
    file: &OptionFile,
    criteria: &Criteria,
    problems: &mut Problems,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let kind = file.attributes.get("kind").and_then(|v| v.as_str());
    let is_overlay = file.number.is_none();
    match (kind, is_overlay) {
        (Some("option"), false) | (Some("overlay"), true) => {}
        _ => problems.add(path, "numbered options need `kind = \"option\"`; overlays have no number and `kind = \"overlay\"`"),
    }
    for (name, value) in &file.attributes {
        let Some(attr) = criteria.attributes.iter().find(|a| &a.name == name) else {
            problems.add(
                path,
                format!(
                    "unknown attribute `{name}`; {}",
                    suggest::hint(name, criteria.attributes.iter().map(|a| a.name.as_str()))
                ),
            );
            continue;
        };
        match typed_value(value, &attr.ty, &criteria.domains) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => problems.add(path, format!("attribute `{name}`: {e}")),
        }
    }
    if !is_overlay {
        for attr in &criteria.attributes {
            if !out.contains_key(&attr.name) && !file.attributes.contains_key(&attr.name) {
                problems.add(
                    path,
                    format!("missing attribute `{}` ({})", attr.name, attr.help),
                );
            }
        }
        for label in [
            &file.database_management,
            &file.host_label,
            &file.encryption_label,
            &file.key_management_label,
        ] {
            if label.is_none() {
                problems.add(path, "options need database_management, host_label, encryption_label and key_management_label");
                break;
            }
        }
    }
    out
}

pub(super) fn check_engines(
    engines: &EnginesFile,
    criteria: &Criteria,
    problems: &mut Problems,
    check_facts: &dyn Fn(&str, &[String], &mut Problems),
) {
    let path = "engines.toml";
    check_facts(path, &engines.snapshot.facts, problems);
    let mut ids = BTreeSet::new();
    let oses = criteria.domains.get("os").cloned().unwrap_or_default();
    let granularities = criteria
        .domains
        .get("granularity")
        .cloned()
        .unwrap_or_default();
    for e in &engines.engine {
        if !ids.insert(e.id.as_str()) {
            problems.add(path, format!("engine `{}` appears twice", e.id));
        }
        check_facts(path, &e.facts, problems);
        if let Some(t) = &e.rds_tde {
            check_facts(path, &t.facts, problems);
        }
        if let Some(t) = &e.ec2_tde {
            check_facts(path, &t.facts, problems);
            if !matches!(t.licence.as_str(), "free" | "commercial") {
                problems.add(
                    path,
                    format!(
                        "engine `{}`: ec2_tde.licence must be free or commercial",
                        e.id
                    ),
                );
            }
        }
        for os in &e.os {
            if !oses.contains(os) {
                problems.add(path, format!("engine `{}`: unknown os `{os}`", e.id));
            }
        }
        if let Some(g) = &e.tde_granularity
            && !granularities.contains(g)
        {
            problems.add(
                path,
                format!(
                    "engine `{}`: tde_granularity `{g}` is not a granularity",
                    e.id
                ),
            );
        }
    }
    for (licence, engine_ids) in &criteria.licence_grants {
        for id in engine_ids {
            if !ids.contains(id.as_str()) {
                problems.add(
                    "criteria.toml",
                    format!("licence `{licence}` grants unknown engine `{id}`"),
                );
            }
        }
    }
}
