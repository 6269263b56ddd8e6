//! Cross-checks of facts, option attributes and engines against the criteria.

use std::collections::{BTreeMap, BTreeSet};

use super::criteria::typed_value;
use super::expr::Value;
use super::problems::Problems;
use super::schema::{EnginesFile, Fact, OptionFile, PriceFile};
use super::{Criteria, OptionDef, VariantDef};
use crate::suggest;

pub(super) fn check_fact(fact: &Fact, problems: &mut Problems) {
    let path = format!("facts/{}.toml", fact.id);
    if !fact.source.starts_with("https://") {
        problems.add(
            &path,
            format!("source `{}` must be an https URL", fact.source),
        );
    }
    if !date_well_formed(&fact.date) {
        problems.add(
            &path,
            format!("date `{}` must be YYYY, YYYY-MM or YYYY-MM-DD", fact.date),
        );
    }
    if fact.statement.trim().is_empty() {
        problems.add(&path, "statement is empty");
    }
}

fn date_well_formed(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    matches!(parts.len(), 1..=3)
        && parts.first().is_some_and(|y| y.len() == 4)
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.iter().skip(1).all(|p| p.len() == 2)
}

pub(super) fn check_price(price: &PriceFile, problems: &mut Problems) {
    let path = format!("prices/{}.toml", price.id);
    if !price.source.starts_with("https://") {
        problems.add(
            &path,
            format!("source `{}` must be an https URL", price.source),
        );
    }
    if !date_well_formed(&price.date) {
        problems.add(
            &path,
            format!("date `{}` must be YYYY, YYYY-MM or YYYY-MM-DD", price.date),
        );
    }
    if !(price.usd.is_finite() && price.usd >= 0.0) {
        problems.add(&path, "usd must be a price of zero or more");
    }
    if price.confidence != super::schema::Confidence::Verified && price.note.is_none() {
        problems.add(
            &path,
            "a price that is not verified needs a `note` saying what is not",
        );
    }
}

/// Each variant's complete attributes: the option's, overridden by the variant's own (typed like the option's).
pub(super) fn option_variants(
    path: &str,
    file: &OptionFile,
    base: &BTreeMap<String, Value>,
    criteria: &Criteria,
    prices: &BTreeMap<String, PriceFile>,
    problems: &mut Problems,
) -> Vec<VariantDef> {
    if file.number.is_some() && file.variant.is_empty() {
        problems.add(path, "numbered options need at least one `[[variant]]`");
    }
    if file.number.is_none() && !file.variant.is_empty() {
        problems.add(path, "overlays have no variants");
    }
    let mut ids = BTreeSet::new();
    let mut out = Vec::new();
    for v in &file.variant {
        if !ids.insert(v.id.as_str()) {
            problems.add(path, format!("variant id `{}` appears twice", v.id));
        }
        let mut attributes = base.clone();
        for (name, value) in &v.attributes {
            let Some(attr) = criteria.attributes.iter().find(|a| &a.name == name) else {
                problems.add(
                    path,
                    format!(
                        "variant `{}`: unknown attribute `{name}`; {}",
                        v.id,
                        suggest::hint(name, criteria.attributes.iter().map(|a| a.name.as_str()))
                    ),
                );
                continue;
            };
            if name == "kind" {
                problems.add(path, format!("variant `{}` cannot change `kind`", v.id));
                continue;
            }
            match typed_value(value, &attr.ty, &criteria.domains) {
                Ok(value) => {
                    attributes.insert(name.clone(), value);
                }
                Err(e) => {
                    problems.add(path, format!("variant `{}`: attribute `{name}`: {e}", v.id))
                }
            }
        }
        for item in &v.cost {
            if !prices.contains_key(&item.price) {
                problems.add_with_help(
                    path,
                    format!("variant `{}`: unknown price `{}`", v.id, item.price),
                    suggest::hint(&item.price, prices.keys().map(String::as_str)),
                );
            }
            if !(item.quantity.is_finite() && item.quantity >= 0.0) {
                problems.add(
                    path,
                    format!("variant `{}`: quantity must be zero or more", v.id),
                );
            }
        }
        out.push(VariantDef {
            file: v.clone(),
            attributes,
        });
    }
    out
}

/// Every engine's `key_variant` names an engine-listed variant of an option.
pub(super) fn check_engine_variants(
    engines: &EnginesFile,
    options: &[OptionDef],
    problems: &mut Problems,
) {
    let listed: Vec<&str> = options
        .iter()
        .flat_map(|o| o.variants.iter())
        .filter(|v| v.file.engine_listed)
        .map(VariantDef::id)
        .collect();
    for e in &engines.engine {
        for kv in &e.key_variant {
            if !listed.contains(&kv.variant.as_str()) {
                problems.add_with_help(
                    "engines.toml",
                    format!("engine `{}`: unknown key variant `{}`", e.id, kv.variant),
                    suggest::hint(&kv.variant, listed.iter().copied()),
                );
            }
            if e.ec2_tde.is_none() {
                problems.add(
                    "engines.toml",
                    format!("engine `{}`: key variants need an `ec2_tde` entry", e.id),
                );
            }
        }
        if let Some(t) = &e.ec2_tde {
            let has = |id: &str| e.key_variant.iter().any(|k| k.variant == id);
            if t.hsm_keys != has("tde-cloudhsm") || t.kms_keys != has("tde-kms-wrapped") {
                problems.add(
                    "engines.toml",
                    format!(
                        "engine `{}`: hsm_keys and kms_keys must match the `tde-cloudhsm` and `tde-kms-wrapped` key variants",
                        e.id
                    ),
                );
            }
        }
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
        for kv in &e.key_variant {
            check_facts(path, &kv.facts, problems);
        }
        if let Some(t) = &e.rds_tde {
            check_facts(path, &t.facts, problems);
        }
        if let Some(t) = &e.ec2_tde {
            check_facts(path, &t.facts, problems);
            if !matches!(t.licence.as_str(), "free" | "commercial" | "included") {
                problems.add(
                    path,
                    format!(
                        "engine `{}`: ec2_tde.licence must be free, commercial or included",
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
