//! Golden scenarios (`decision/scenarios/*.toml`): a requirements document plus the outcome the facts imply.
//! The corpus test runs every one; `check` says exactly what differs.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::engine::{EngineSupport, Recommendation, evaluate};
use super::requirements::Requirements;
use crate::catalog::{Catalog, ScenarioText};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The recommended option number, or 0 when every option must be excluded.
    pub top: u8,
    /// The key-protection variant recommended with the top option.
    #[serde(default)]
    pub variant: Option<String>,
    /// Variants expected on ranked options, by option number (`[expect.variants] 5 = "luks-local"`).
    #[serde(default)]
    pub variants: std::collections::BTreeMap<String, String>,
    /// When `top = 0`: the requirement keys of the smallest conflicting set, exactly.
    #[serde(default)]
    pub conflict: Vec<String>,
    /// The exact set of excluded option numbers.
    pub excluded: Vec<u8>,
    /// Rule ids that must appear somewhere in the result (reasons, exclusions, overlays or warnings).
    pub reasons: Vec<String>,
    /// The exact set of overlay ids on the recommended option.
    #[serde(default)]
    pub overlays: Vec<String>,
    /// Warning rule ids that must be present.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct Header {
    name: String,
    description: String,
    expect: Expect,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub path: String,
    pub name: String,
    pub description: String,
    pub requirements: Requirements,
    pub expect: Expect,
}

impl Scenario {
    pub fn parse(catalog: &Catalog, text: &ScenarioText) -> Result<Scenario, String> {
        let header: Header = {
            let table: toml::Table =
                toml::from_str(&text.text).map_err(|e| format!("{}: {e}", text.path))?;
            let mut keep = toml::Table::new();
            for key in ["name", "description", "expect"] {
                if let Some(v) = table.get(key) {
                    keep.insert(key.to_string(), v.clone());
                }
            }
            keep.try_into().map_err(|e| format!("{}: {e}", text.path))?
        };
        let requirements = Requirements::from_toml(
            catalog,
            &text.text,
            &text.path,
            &["name", "description", "expect"],
        )
        .map_err(|e| match crate::error::Help::help(&e) {
            Some(help) => format!("{e}; {help}"),
            None => e.to_string(),
        })?;
        Ok(Scenario {
            path: text.path.clone(),
            name: header.name,
            description: header.description,
            requirements,
            expect: header.expect,
        })
    }

    pub fn run(&self, catalog: &Catalog) -> Recommendation {
        let support = EngineSupport::embedded(catalog, self.requirements.text("database.engine"));
        evaluate(catalog, &self.requirements, &support)
    }

    /// Every rule id that shows up anywhere in a result.
    pub fn fired_rules(rec: &Recommendation) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for r in &rec.ranked {
            ids.extend(r.reasons.iter().map(|x| x.rule.clone()));
            ids.extend(
                r.variant
                    .excluded
                    .iter()
                    .flat_map(|v| v.rules.iter().cloned()),
            );
            ids.extend(
                r.overlays
                    .iter()
                    .flat_map(|o| o.reasons.iter().map(|x| x.rule.clone())),
            );
        }
        for e in &rec.excluded {
            ids.extend(e.rules.iter().cloned());
        }
        ids.extend(rec.warnings.iter().map(|w| w.rule.clone()));
        ids
    }

    /// The differences between the result and the expectation; empty when it matches.
    pub fn check(&self, rec: &Recommendation) -> Vec<String> {
        let mut problems = Vec::new();
        let top = rec.recommended.as_ref().map_or(0, |r| r.option);
        if top != self.expect.top {
            problems.push(format!("top option is {top}, expected {}", self.expect.top));
        }
        if let Some(want) = &self.expect.variant {
            let got = rec.recommended.as_ref().map_or("", |r| r.variant.as_str());
            if got != want {
                problems.push(format!("variant is `{got}`, expected `{want}`"));
            }
        }
        for (number, want) in &self.expect.variants {
            let got = rec
                .ranked
                .iter()
                .find(|r| r.option.to_string() == *number)
                .map(|r| r.variant.id.as_str());
            if got != Some(want.as_str()) {
                problems.push(format!(
                    "option {number} has variant {got:?}, expected `{want}`"
                ));
            }
        }
        if !self.expect.conflict.is_empty() {
            let got: Vec<&str> = rec
                .conflict
                .iter()
                .flat_map(|c| c.requirements.iter().map(|s| s.key.as_str()))
                .collect();
            if got != self.expect.conflict {
                problems.push(format!(
                    "conflict is {got:?}, expected {:?}",
                    self.expect.conflict
                ));
            }
        }
        let excluded: BTreeSet<u8> = rec.excluded.iter().map(|e| e.option).collect();
        let want: BTreeSet<u8> = self.expect.excluded.iter().copied().collect();
        if excluded != want {
            problems.push(format!("excluded {excluded:?}, expected {want:?}"));
        }
        let fired = Scenario::fired_rules(rec);
        for id in &self.expect.reasons {
            if !fired.contains(id) {
                problems.push(format!("rule `{id}` did not fire"));
            }
        }
        let overlays: BTreeSet<&str> = rec.overlays.iter().map(|o| o.id.as_str()).collect();
        let want: BTreeSet<&str> = self.expect.overlays.iter().map(String::as_str).collect();
        if overlays != want {
            problems.push(format!("overlays {overlays:?}, expected {want:?}"));
        }
        let warnings: BTreeSet<&str> = rec.warnings.iter().map(|w| w.rule.as_str()).collect();
        for w in &self.expect.warnings {
            if !warnings.contains(w.as_str()) {
                problems.push(format!("warning `{w}` missing"));
            }
        }
        problems
    }
}
