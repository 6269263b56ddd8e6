//! The decision catalog loads, is consistent, and its loader rejects broken data with a precise message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atrest::catalog::schema::Confidence;
use atrest::catalog::{Catalog, embedded_files};

fn broken(path: &str, edit: impl Fn(&str) -> String) -> String {
    let files: Vec<(String, String)> = embedded_files()
        .iter()
        .map(|(p, t)| {
            (
                p.to_string(),
                if *p == path { edit(t) } else { t.to_string() },
            )
        })
        .collect();
    assert!(
        files.iter().any(|(p, _)| p == path),
        "{path} is not a decision file"
    );
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    match Catalog::from_files(&refs) {
        Ok(_) => panic!("the edit to {path} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_embedded_catalog_is_valid() {
    let catalog = Catalog::embedded().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(catalog.numbered_options().count(), 7);
    assert!(catalog.overlays().count() >= 2);
    assert!(catalog.facts.len() >= 50);
    assert_eq!(catalog.version.len(), 12);
}

#[test]
fn every_decision_file_belongs_somewhere() {
    let known = [
        "criteria.toml",
        "engines.toml",
        "examples/",
        "options/",
        "rules/",
        "facts/",
        "prices/",
        "scenarios/",
        "checks/",
        "frameworks/",
    ];
    for (path, _) in embedded_files() {
        assert!(
            known.iter().any(|k| path.starts_with(k)),
            "decision/{path} is read by nothing"
        );
    }
}

#[test]
fn rules_never_rest_on_unverified_facts_alone() {
    let catalog = Catalog::embedded().unwrap();
    for rule in &catalog.rules {
        let facts: Vec<_> = rule
            .file
            .facts
            .iter()
            .map(|id| catalog.fact(id).unwrap())
            .collect();
        if !facts.is_empty() {
            assert!(
                facts.iter().any(|f| f.confidence != Confidence::Unverified),
                "rule `{}` cites only unverified facts",
                rule.id()
            );
        }
    }
}

#[test]
fn every_fact_is_dated_and_sourced() {
    let catalog = Catalog::embedded().unwrap();
    for fact in catalog.facts.values() {
        assert!(fact.source.starts_with("https://"), "{}", fact.id);
        assert!(fact.date.len() >= 4, "{}", fact.id);
        if fact.confidence == Confidence::Unverified {
            assert!(
                fact.statement.contains("ot verified"),
                "unverified fact `{}` must say what is not verified",
                fact.id
            );
        }
    }
    let changed = catalog
        .facts
        .values()
        .filter(|f| f.changed_since_2020.is_some())
        .count();
    assert!(
        changed >= 19,
        "only {changed} facts record a change since 2020"
    );
}

#[test]
fn a_dangling_fact_id_is_named_with_a_suggestion() {
    let err = broken("rules/fips-level-unmet.toml", |t| {
        t.replace("kms-fips-140-3-l3", "kms-fips-140-3-l4")
    });
    assert!(err.contains("decision/rules/fips-level-unmet.toml: unknown fact `kms-fips-140-3-l4`; did you mean `kms-fips-140-3-l3`?"), "{err}");
}

#[test]
fn an_unknown_variable_or_value_in_a_rule_is_rejected() {
    let err = broken("rules/fips-level-unmet.toml", |t| {
        t.replace("opt.fips_level", "opt.fips_levl")
    });
    assert!(
        err.contains("unknown variable `opt.fips_levl`; did you mean `fips_level`?"),
        "{err}"
    );
    let err = broken("rules/hosting-managed-only.toml", |t| {
        t.replace("opt.host == ec2", "opt.host == ec3")
    });
    assert!(
        err.contains("`ec3` is not a `host` value; did you mean `ec2`?"),
        "{err}"
    );
    let err = broken("rules/hosting-managed-only.toml", |t| {
        t.replace("opt.host == ec2", "opt.host ~ ec2")
    });
    assert!(err.contains("`~` is not an operator"), "{err}");
}

#[test]
fn type_errors_and_missing_attributes_are_rejected() {
    let err = broken("rules/fips-level-unmet.toml", |t| {
        t.replace(
            "req.keys.fips > opt.fips_level",
            "req.keys.fips > opt.granularity",
        )
    });
    assert!(
        err.contains("the operator does not apply to these types"),
        "{err}"
    );
    let err = broken("options/ec2-luks.toml", |t| t.replace("sla = true\n", ""));
    assert!(
        err.contains("decision/options/ec2-luks.toml: missing attribute `sla`"),
        "{err}"
    );
    let err = broken("rules/fips-l3-no-longer-needs-custom-key-store.toml", |t| {
        t.replace("req.keys.hsm == shared-ok", "opt.host == rds")
    });
    assert!(err.contains("warn rules judge requirements only"), "{err}");
    let err = broken("facts/kms-key-price.toml", |t| {
        t.replace("id = \"kms-key-price\"", "id = \"kms-price\"")
    });
    assert!(
        err.contains("id `kms-price` must equal the file name `kms-key-price`"),
        "{err}"
    );
    let err = broken("options/ec2-luks.toml", |t| {
        t.replace("number = 5", "number = 4")
    });
    assert!(err.contains("numbered 1 to 7 once each"), "{err}");
}

#[test]
fn every_criterion_is_documented() {
    let catalog = Catalog::embedded().unwrap();
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/requirements.md"))
            .unwrap();
    for criterion in &catalog.criteria.criteria {
        let (section, key) = criterion.key.split_once('.').unwrap();
        assert!(
            docs.contains(&format!("## `[{section}]`")),
            "docs/requirements.md lacks section [{section}]"
        );
        assert!(
            docs.contains(&format!("| `{key}` |")),
            "docs/requirements.md lacks `{}`",
            criterion.key
        );
    }
}
