//! The pure decision engine: requirements + catalog -> a ranked, explained recommendation. No I/O.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::catalog::expr::{self, Value};
use crate::catalog::schema::{Confidence, Effect, EngineDef, OverlayLevel};
use crate::catalog::{Catalog, OptionDef, Rule};

use super::context::{EngineFacts, RuleEnv};
use super::requirements::Requirements;

/// Bumped whenever the JSON shape changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// What is known about the requested engine, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSupport {
    pub engine: Option<EngineDef>,
    /// `embedded snapshot of <date>` or `live: RDS in <region> at <time>`.
    pub source: String,
    /// What a live refresh could not learn, and similar remarks.
    pub notes: Vec<String>,
}

impl EngineSupport {
    /// The embedded snapshot's entry for `engine_id`, if any.
    pub fn embedded(catalog: &Catalog, engine_id: &str) -> EngineSupport {
        EngineSupport {
            engine: catalog.engine(engine_id).cloned(),
            source: format!("embedded snapshot of {}", catalog.engines.snapshot.taken),
            notes: Vec::new(),
        }
    }
}

/// A reason with the points it gave (0 for notes and exclusions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleReason {
    pub rule: String,
    pub effect: &'static str,
    #[serde(skip_serializing_if = "is_zero")]
    pub points: i32,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverlayUse {
    pub id: String,
    pub title: String,
    pub level: OverlayLevel,
    pub reasons: Vec<RuleReason>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub option: u8,
    pub id: String,
    pub title: String,
    pub score: i32,
    pub reasons: Vec<RuleReason>,
    pub overlays: Vec<OverlayUse>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Excluded {
    pub option: u8,
    pub id: String,
    pub title: String,
    pub rules: Vec<String>,
    pub reasons: Vec<RuleReason>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub rule: String,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
    /// What the October 2020 guidance said that this warning corrects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_since_2020: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CitedFact {
    pub id: String,
    pub statement: String,
    pub source: String,
    pub date: String,
    pub confidence: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recommended {
    pub option: u8,
    pub id: String,
    pub title: String,
    pub score: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineSummary {
    pub engine: String,
    pub known: bool,
    pub source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    pub schema_version: u32,
    pub catalog_version: String,
    pub requirements: std::collections::BTreeMap<String, Value>,
    pub engine_support: EngineSummary,
    /// `None` when every option is excluded.
    pub recommended: Option<Recommended>,
    pub ranked: Vec<Ranked>,
    pub excluded: Vec<Excluded>,
    /// Overlays on the recommended option.
    pub overlays: Vec<OverlayUse>,
    pub warnings: Vec<Warning>,
    pub facts: Vec<CitedFact>,
}

fn matches(rule: &Rule, env: &RuleEnv<'_>) -> bool {
    rule.conditions
        .iter()
        .all(|(cond, ty)| expr::eval(cond, ty, env))
}

fn reason(rule: &Rule, env: &RuleEnv<'_>) -> RuleReason {
    RuleReason {
        rule: rule.id().to_string(),
        effect: rule.file.effect.as_str(),
        points: rule.file.points.unwrap_or(0),
        text: env.render(&rule.file.reason),
        facts: rule.file.facts.clone(),
    }
}

/// Judges one option: `Err(exclusions)` or `Ok((score, reasons, overlays))`.
fn judge(
    catalog: &Catalog,
    env: &RuleEnv<'_>,
) -> Result<(i32, Vec<RuleReason>, Vec<OverlayUse>), Vec<RuleReason>> {
    let fired: Vec<&Rule> = catalog
        .rules
        .iter()
        .filter(|r| r.file.effect != Effect::Warn && matches(r, env))
        .collect();
    let exclusions: Vec<RuleReason> = fired
        .iter()
        .filter(|r| r.file.effect == Effect::Exclude)
        .map(|r| reason(r, env))
        .collect();
    if !exclusions.is_empty() {
        return Err(exclusions);
    }
    let mut score = catalog.criteria.base_score;
    let mut reasons = Vec::new();
    let mut overlays: Vec<OverlayUse> = Vec::new();
    for rule in fired {
        let why = reason(rule, env);
        match rule.file.effect {
            Effect::Score | Effect::Note => {
                score += why.points;
                reasons.push(why);
            }
            Effect::Overlay => {
                let (Some(id), Some(level)) = (&rule.file.overlay, rule.file.level) else {
                    continue;
                };
                match overlays.iter_mut().find(|o| &o.id == id) {
                    Some(existing) => {
                        existing.level = existing.level.max(level);
                        existing.reasons.push(why);
                    }
                    None => overlays.push(OverlayUse {
                        id: id.clone(),
                        title: catalog
                            .option(id)
                            .map(|o| o.file.title.clone())
                            .unwrap_or_default(),
                        level,
                        reasons: vec![why],
                    }),
                }
            }
            Effect::Exclude | Effect::Warn => {}
        }
    }
    // Required overlays first, then by id, so output is stable.
    overlays.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.id.cmp(&b.id)));
    reasons.sort_by(|a, b| {
        b.points
            .abs()
            .cmp(&a.points.abs())
            .then_with(|| a.rule.cmp(&b.rule))
    });
    Ok((score, reasons, overlays))
}

/// Ranks the seven options against the requirements. Deterministic: same input, same output.
pub fn evaluate(catalog: &Catalog, req: &Requirements, support: &EngineSupport) -> Recommendation {
    let engine = EngineFacts::compute(catalog, req, support.engine.as_ref());
    let mut ranked = Vec::new();
    let mut excluded = Vec::new();
    for option in catalog.numbered_options() {
        let env = RuleEnv {
            catalog,
            req,
            engine: &engine,
            option: Some(option),
        };
        let number = option.file.number.unwrap_or_default();
        match judge(catalog, &env) {
            Ok((score, reasons, overlays)) => ranked.push(Ranked {
                option: number,
                id: option.id().to_string(),
                title: option.file.title.clone(),
                score,
                reasons,
                overlays,
            }),
            Err(reasons) => excluded.push(Excluded {
                option: number,
                id: option.id().to_string(),
                title: option.file.title.clone(),
                rules: reasons.iter().map(|r| r.rule.clone()).collect(),
                reasons,
            }),
        }
    }
    ranked.sort_by(|a, b| b.score.cmp(&a.score).then(a.option.cmp(&b.option)));

    let env = RuleEnv {
        catalog,
        req,
        engine: &engine,
        option: None,
    };
    let mut warnings: Vec<Warning> = req
        .notes
        .iter()
        .map(|n| Warning {
            rule: n.rule.clone(),
            text: n.text.clone(),
            facts: n.facts.clone(),
            changed_since_2020: None,
        })
        .collect();
    warnings.extend(
        catalog
            .rules
            .iter()
            .filter(|r| r.file.effect == Effect::Warn && matches(r, &env))
            .map(|r| Warning {
                rule: r.id().to_string(),
                text: env.render(&r.file.reason),
                facts: r.file.facts.clone(),
                changed_since_2020: r.file.changed_since_2020.clone(),
            }),
    );

    let recommended = ranked.first().map(|r| Recommended {
        option: r.option,
        id: r.id.clone(),
        title: r.title.clone(),
        score: r.score,
    });
    let overlays = ranked
        .first()
        .map(|r| r.overlays.clone())
        .unwrap_or_default();
    let facts = cited_facts(
        catalog,
        &ranked,
        &excluded,
        &warnings,
        recommended.as_ref().and_then(|r| catalog.option(&r.id)),
    );

    Recommendation {
        schema_version: SCHEMA_VERSION,
        catalog_version: catalog.version.clone(),
        requirements: req.values().clone(),
        engine_support: EngineSummary {
            engine: req.text("database.engine").to_string(),
            known: support.engine.is_some(),
            source: support.source.clone(),
            notes: support.notes.clone(),
        },
        recommended,
        ranked,
        excluded,
        overlays,
        warnings,
        facts,
    }
}

fn cited_facts(
    catalog: &Catalog,
    ranked: &[Ranked],
    excluded: &[Excluded],
    warnings: &[Warning],
    recommended: Option<&OptionDef>,
) -> Vec<CitedFact> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    let reasons = ranked
        .iter()
        .flat_map(|r| {
            r.reasons
                .iter()
                .chain(r.overlays.iter().flat_map(|o| o.reasons.iter()))
        })
        .chain(excluded.iter().flat_map(|e| e.reasons.iter()));
    for reason in reasons {
        ids.extend(reason.facts.iter().map(String::as_str));
    }
    for warning in warnings {
        ids.extend(warning.facts.iter().map(String::as_str));
    }
    if let Some(option) = recommended {
        ids.extend(option.file.facts.iter().map(String::as_str));
    }
    ids.into_iter()
        .filter_map(|id| catalog.fact(id))
        .map(|f| CitedFact {
            id: f.id.clone(),
            statement: f.statement.clone(),
            source: f.source.clone(),
            date: f.date.clone(),
            confidence: match f.confidence {
                Confidence::Verified => "verified",
                Confidence::Secondary => "secondary",
                Confidence::Unverified => "unverified",
            },
        })
        .collect()
}
