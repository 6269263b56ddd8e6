//! The scenario corpus: every file in decision/scenarios/ gets the outcome it expects, and together they
//! cover every option, every rule and every overlay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use atrest::advisor::scenario::Scenario;
use atrest::catalog::Catalog;

fn scenarios() -> (&'static Catalog, Vec<Scenario>) {
    let catalog = Catalog::embedded().unwrap_or_else(|e| panic!("{e}"));
    let scenarios = catalog
        .scenarios
        .iter()
        .map(|s| Scenario::parse(catalog, s).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    (catalog, scenarios)
}

#[test]
fn every_scenario_gets_its_expected_outcome() {
    let (catalog, scenarios) = scenarios();
    let mut failures = Vec::new();
    for s in &scenarios {
        let problems = s.check(&s.run(catalog));
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}):\n    {}",
                s.path,
                s.name,
                problems.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_covers_every_option_rule_and_overlay() {
    let (catalog, scenarios) = scenarios();
    assert!(scenarios.len() >= 25, "only {} scenarios", scenarios.len());
    let tops: BTreeSet<u8> = scenarios.iter().map(|s| s.expect.top).collect();
    for n in 1..=7u8 {
        assert!(tops.contains(&n), "no scenario recommends option {n}");
    }
    let expected: BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.expect.reasons.iter().map(String::as_str))
        .collect();
    let missing: Vec<&str> = catalog
        .rules
        .iter()
        .map(|r| r.id())
        .filter(|id| !expected.contains(id))
        .collect();
    assert!(missing.is_empty(), "rules no scenario expects: {missing:?}");
    let overlays: BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.expect.overlays.iter().map(String::as_str))
        .collect();
    for overlay in catalog.overlays() {
        assert!(
            overlays.contains(overlay.id()),
            "no scenario expects overlay `{}`",
            overlay.id()
        );
    }
}

#[test]
fn scenario_names_match_their_files() {
    let (_, scenarios) = scenarios();
    for s in &scenarios {
        assert!(
            s.path.ends_with(&format!("/{}.toml", s.name)),
            "{} is named `{}`",
            s.path,
            s.name
        );
        assert!(
            !s.description.trim().is_empty(),
            "{} has no description",
            s.path
        );
    }
}
