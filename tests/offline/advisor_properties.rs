//! Properties of the decision engine over random requirement sets: deterministic output, hard requirements
//! only ever remove options, and every option is reachable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use atrest::advisor::{EngineSupport, Requirements, evaluate};
use atrest::catalog::Catalog;
use atrest::catalog::expr::Type;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

fn catalog() -> &'static Catalog {
    Catalog::embedded().unwrap_or_else(|e| panic!("{e}"))
}

/// One random choice per criterion, as (key, value) pairs ready for `Requirements::set`.
fn requirements() -> impl Strategy<Value = Vec<(String, String)>> {
    let catalog = catalog();
    let mut engines: Vec<String> = catalog
        .engines
        .engine
        .iter()
        .map(|e| e.id.clone())
        .collect();
    engines.push("cassandra".into());
    let strategies: Vec<BoxedStrategy<(String, String)>> = catalog
        .criteria
        .criteria
        .iter()
        .map(|c| {
            let key = c.key.clone();
            match (&c.ty, c.key.as_str()) {
                (_, "database.engine") => proptest::sample::select(engines.clone())
                    .prop_map(move |v| (key.clone(), v))
                    .boxed(),
                (_, "database.version") => proptest::sample::select(vec![
                    "",
                    "13.00.6435.1",
                    "15.00.4073.23",
                    "16.4",
                    "19.0.0.0",
                ])
                .prop_map(move |v| (key.clone(), v.to_string()))
                .boxed(),
                (Type::Bool, _) => any::<bool>()
                    .prop_map(move |b| (key.clone(), b.to_string()))
                    .boxed(),
                (Type::Enum(d), _) => {
                    let values = catalog.criteria.domains[d].clone();
                    proptest::sample::select(values)
                        .prop_map(move |v| (key.clone(), v))
                        .boxed()
                }
                (Type::List(d), _) => {
                    let values = catalog.criteria.domains[d].clone();
                    proptest::sample::subsequence(values.clone(), 0..=values.len().min(3))
                        .prop_map(move |v| (key.clone(), v.join(",")))
                        .boxed()
                }
                (Type::Text, _) => Just((key.clone(), String::new())).boxed(),
            }
        })
        .collect();
    strategies
}

fn build(pairs: &[(String, String)]) -> Requirements {
    let catalog = catalog();
    let mut req = Requirements::defaults(catalog);
    for (k, v) in pairs {
        req.set(catalog, k, v, "test")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    req
}

fn feasible(req: &Requirements) -> BTreeSet<u8> {
    let catalog = catalog();
    let support = EngineSupport::embedded(catalog, req.text("database.engine"));
    evaluate(catalog, req, &support)
        .ranked
        .iter()
        .map(|r| r.option)
        .collect()
}

/// A stricter value of one criterion: later in its (ordered) domain, or the strict end for unordered ones.
fn tightenings() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("keys.fips", &["none", "140-3-l1", "140-3-l2", "140-3-l3"]),
        (
            "keys.hsm",
            &[
                "shared-ok",
                "single-tenant",
                "customer-operated",
                "outside-aws",
            ],
        ),
        ("keys.custody", &["aws-kms-ok", "customer-held"]),
        (
            "data.granularity",
            &["volume", "database", "table", "column", "row", "cell"],
        ),
        ("operations.app_changes", &["ok", "driver-only", "none"]),
        (
            "data.separation",
            &["none", "key-admin-not-dba", "dba-must-not-see-plaintext"],
        ),
        ("data.snapshot_sharing", &["none", "cross-account"]),
        ("keys.proof_of_control", &["false", "true"]),
        ("keys.origin", &["any", "outside-aws"]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_same_input_gives_the_same_output(pairs in requirements()) {
        let catalog = catalog();
        let req = build(&pairs);
        let support = EngineSupport::embedded(catalog, req.text("database.engine"));
        let a = evaluate(catalog, &req, &support);
        let b = evaluate(catalog, &req.clone(), &support);
        prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        // Every option is either ranked or excluded, never both, never lost.
        let mut seen: Vec<u8> = a.ranked.iter().map(|r| r.option).chain(a.excluded.iter().map(|e| e.option)).collect();
        seen.sort();
        prop_assert_eq!(seen, (1..=7).collect::<Vec<u8>>());
        // Every exclusion carries at least one rule, every cited fact exists.
        prop_assert!(a.excluded.iter().all(|e| !e.rules.is_empty()));
        prop_assert!(a.facts.iter().all(|f| catalog.fact(&f.id).is_some()));
    }

    #[test]
    fn a_harder_requirement_never_adds_an_option(pairs in requirements(), which in 0usize..9, step in 1usize..4) {
        let (key, ladder) = tightenings()[which];
        let req = build(&pairs);
        let current = match req.get(key) { Some(v) => v.render(), None => String::new() };
        let at = ladder.iter().position(|v| *v == current);
        prop_assume!(at.is_some(), "value not on the ladder");
        let at = at.unwrap();
        let stricter = ladder[(at + step).min(ladder.len() - 1)];
        let mut hard = req.clone();
        hard.set(catalog(), key, stricter, "test").unwrap();
        let (before, after) = (feasible(&req), feasible(&hard));
        prop_assert!(after.is_subset(&before), "{key}: {current} -> {stricter} added {:?}", after.difference(&before).collect::<Vec<_>>());
    }

    #[test]
    fn adding_a_regime_never_adds_an_option(pairs in requirements(), regime in proptest::sample::select(vec!["pci-pan", "hipaa", "fedramp-high", "gdpr"])) {
        let req = build(&pairs);
        let mut regimes: Vec<String> = req.list("data.regimes").to_vec();
        if !regimes.iter().any(|r| r == regime) { regimes.push(regime.to_string()); }
        let mut hard = req.clone();
        hard.set(catalog(), "data.regimes", &regimes.join(","), "test").unwrap();
        prop_assert!(feasible(&hard).is_subset(&feasible(&req)));
    }
}

#[test]
fn every_option_is_reachable() {
    // The corpus proves it scenario by scenario; this proves it from the data alone by search.
    let catalog = catalog();
    let mut reached = BTreeSet::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = requirements();
    for _ in 0..20_000 {
        let pairs = strategy.new_tree(&mut runner).unwrap().current();
        let req = build(&pairs);
        let support = EngineSupport::embedded(catalog, req.text("database.engine"));
        if let Some(r) = evaluate(catalog, &req, &support).recommended {
            reached.insert(r.option);
        }
        if reached.len() == 7 {
            break;
        }
    }
    assert_eq!(
        reached,
        (1..=7).collect(),
        "options never recommended: {:?}",
        (1..=7)
            .filter(|n| !reached.contains(n))
            .collect::<Vec<u8>>()
    );
}
