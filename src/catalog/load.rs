//! Parses the decision files and cross-checks them: every id referenced exists, every rule condition is
//! well-typed, every value belongs to its domain. All problems are collected, not just the first.

use std::collections::{BTreeMap, BTreeSet};

use ring::digest;

use super::checks::{self, CheckMeta};
use super::criteria::build_criteria;
use super::frameworks;
use super::problems::Problems;
use super::schema::{CriteriaFile, EnginesFile, Fact, OptionFile, PriceFile, RuleFile};
use super::typecheck::build_rule;
use super::validate::{
    check_engine_variants, check_engines, check_fact, check_price, option_attributes,
    option_variants,
};
use super::{Catalog, CatalogError, OptionDef, ScenarioText};
use crate::suggest;

pub fn load(files: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
    let mut problems = Problems::default();
    let mut criteria_file = None;
    let mut engines_file = None;
    let mut example = None;
    let mut options = Vec::new();
    let mut rules = Vec::new();
    let mut facts = BTreeMap::new();
    let mut prices = BTreeMap::new();
    let mut scenarios = Vec::new();
    let mut check_metas: Vec<CheckMeta> = Vec::new();
    let mut framework_files: Vec<(&str, &str)> = Vec::new();
    let mut hasher = digest::Context::new(&digest::SHA256);

    for (path, text) in files {
        hasher.update(path.as_bytes());
        hasher.update(&[0]);
        hasher.update(text.as_bytes());
        hasher.update(&[0]);
        match *path {
            "criteria.toml" => criteria_file = problems.parse::<CriteriaFile>(path, text),
            "engines.toml" => engines_file = problems.parse::<EnginesFile>(path, text),
            "examples/requirements.toml" => example = Some(text.to_string()),
            p if p.starts_with("options/") => {
                if let Some(o) = problems.parse::<OptionFile>(path, text) {
                    options.push((p.to_string(), o));
                }
            }
            p if p.starts_with("rules/") => {
                if let Some(r) = problems.parse::<RuleFile>(path, text) {
                    rules.push((p.to_string(), r));
                }
            }
            p if p.starts_with("facts/") => {
                if let Some(f) = problems.parse::<Fact>(path, text) {
                    problems.expect_id_is_file_name(p, &f.id);
                    facts.insert(f.id.clone(), f);
                }
            }
            p if p.starts_with("prices/") => {
                if let Some(f) = problems.parse::<PriceFile>(path, text) {
                    problems.expect_id_is_file_name(p, &f.id);
                    prices.insert(f.id.clone(), f);
                }
            }
            p if p.starts_with("scenarios/") => scenarios.push(ScenarioText {
                path: p.to_string(),
                text: text.to_string(),
            }),
            p if p.starts_with("checks/") => {
                if let Some(meta) = checks::parse(p, text, &mut problems) {
                    check_metas.push(meta);
                }
            }
            p if p.starts_with("frameworks/") => framework_files.push((*path, *text)),
            _ => {}
        }
    }

    let (Some(criteria_file), Some(engines)) = (criteria_file, engines_file) else {
        if problems.is_empty() {
            problems.add("", "criteria.toml and engines.toml are required");
        }
        return Err(CatalogError::Invalid(problems.0));
    };
    let Some(example_requirements) = example else {
        problems.add(
            "examples/requirements.toml",
            "missing: `advise` needs an embedded example",
        );
        return Err(CatalogError::Invalid(problems.0));
    };

    let criteria = build_criteria(criteria_file, &mut problems);
    for fact in facts.values() {
        check_fact(fact, &mut problems);
    }
    for price in prices.values() {
        check_price(price, &mut problems);
    }
    let fact_ids: BTreeSet<&str> = facts.keys().map(String::as_str).collect();
    let check_facts = |path: &str, ids: &[String], problems: &mut Problems| {
        for id in ids {
            if !fact_ids.contains(id.as_str()) {
                problems.add_with_help(
                    path,
                    format!("unknown fact `{id}`"),
                    suggest::hint(id, fact_ids.iter().copied()),
                );
            }
        }
    };

    let mut option_defs = Vec::new();
    for (path, file) in options {
        problems.expect_id_is_file_name(&path, &file.id);
        check_facts(&path, &file.facts, &mut problems);
        let mut point_ids = BTreeSet::new();
        for point in file.benefit.iter().chain(&file.challenge) {
            check_facts(&path, &point.facts, &mut problems);
            if !point_ids.insert(point.id.clone()) {
                problems.add(
                    &path,
                    format!("benefit/challenge id `{}` appears twice", point.id),
                );
            }
        }
        let attributes = option_attributes(&path, &file, &criteria, &mut problems);
        for variant in &file.variant {
            check_facts(&path, &variant.facts, &mut problems);
        }
        let variants =
            option_variants(&path, &file, &attributes, &criteria, &prices, &mut problems);
        option_defs.push(OptionDef {
            file,
            attributes,
            variants,
        });
    }
    option_defs.sort_by(|a, b| {
        (a.file.number.is_none(), a.file.number, a.id()).cmp(&(
            b.file.number.is_none(),
            b.file.number,
            b.id(),
        ))
    });
    let numbers: Vec<u8> = option_defs.iter().filter_map(|o| o.file.number).collect();
    if numbers != (1..=7).collect::<Vec<u8>>() {
        problems.add(
            "options/",
            format!("the seven options must be numbered 1 to 7 once each, found {numbers:?}"),
        );
    }
    let overlay_ids: BTreeSet<&str> = option_defs
        .iter()
        .filter(|o| o.is_overlay())
        .map(|o| o.id())
        .collect();

    let mut rule_defs = Vec::new();
    let mut rule_ids = BTreeSet::new();
    for (path, file) in rules {
        problems.expect_id_is_file_name(&path, &file.id);
        if !rule_ids.insert(file.id.clone()) {
            problems.add(&path, format!("rule id `{}` appears twice", file.id));
        }
        check_facts(&path, &file.facts, &mut problems);
        if let Some(rule) = build_rule(&path, file, &criteria, &overlay_ids, &mut problems) {
            rule_defs.push(rule);
        }
    }
    rule_defs.sort_by(|a, b| a.id().cmp(b.id()));

    check_engines(&engines, &criteria, &mut problems, &check_facts);
    check_engine_variants(&engines, &option_defs, &mut problems);
    for alias in &criteria.aliases {
        check_facts("criteria.toml", &alias.facts, &mut problems);
    }

    check_metas.sort_by(|a, b| a.id.cmp(&b.id));
    for meta in &check_metas {
        check_facts(
            &format!("checks/{}.toml", meta.id),
            &meta.facts,
            &mut problems,
        );
    }
    let check_ids: Vec<&str> = check_metas.iter().map(|m| m.id.as_str()).collect();
    let fact_id_list: Vec<&str> = fact_ids.iter().copied().collect();
    let frameworks =
        frameworks::parse_all(&framework_files, &check_ids, &fact_id_list, &mut problems);

    if !problems.is_empty() {
        return Err(CatalogError::Invalid(problems.0));
    }
    let digest = hasher.finish();
    let version = digest
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Catalog {
        criteria,
        options: option_defs,
        rules: rule_defs,
        facts,
        prices,
        engines,
        example_requirements,
        scenarios,
        checks: check_metas,
        frameworks,
        version,
    })
}
