//! The pure decision engine: requirements + catalog -> a ranked, explained recommendation. No I/O.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::catalog::expr::{self, Value};
use crate::catalog::schema::{Confidence, Effect, EngineDef, OverlayLevel};
use crate::catalog::{Catalog, OptionDef, Rule, VariantDef};

use super::conflict::{self, Conflict};
use super::context::{EngineFacts, RuleEnv, engine_supports};
use super::cost::{self, Cost};
use super::requirements::Requirements;

/// Bumped whenever the JSON shape changes incompatibly.
pub const SCHEMA_VERSION: u32 = 2;

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

/// The key-protection variant chosen for a feasible option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariantChoice {
    pub id: String,
    pub title: String,
    pub key_management: String,
    /// Set when the option's first variant (the 2020 post's key protection) is excluded and this one is not:
    /// the variant made the option feasible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub made_feasible: Option<String>,
    /// Other feasible variants of the option, best first, with their scores.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<VariantScore>,
    /// Variants of the option that the requirements exclude, with the rules that exclude them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<VariantExcluded>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariantScore {
    pub id: String,
    pub title: String,
    pub score: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariantExcluded {
    pub id: String,
    pub title: String,
    pub rules: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub option: u8,
    pub id: String,
    pub title: String,
    pub score: i32,
    pub variant: VariantChoice,
    pub cost: Cost,
    pub reasons: Vec<RuleReason>,
    pub overlays: Vec<OverlayUse>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Excluded {
    pub option: u8,
    pub id: String,
    pub title: String,
    /// Every rule that excludes some variant, in order, without repeats.
    pub rules: Vec<String>,
    pub reasons: Vec<RuleReason>,
    /// Each variant with the rules that exclude it.
    pub variants: Vec<VariantExcluded>,
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
    /// The key-protection variant recommended with the option.
    pub variant: String,
    pub variant_title: String,
    /// Monthly cost of the option's key infrastructure, in US cents.
    pub monthly_cents: u64,
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
    /// When every option is excluded: the smallest conflicting set and the cheapest relaxation per option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
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

/// Every variant of one option, judged: the feasible ones with score, reasons and overlays (in file order), and
/// the excluded ones with their exclusions.
pub struct OptionOutcome<'a> {
    pub feasible: Vec<(&'a VariantDef, i32, Vec<RuleReason>, Vec<OverlayUse>)>,
    pub excluded: Vec<(&'a VariantDef, Vec<RuleReason>)>,
}

impl OptionOutcome<'_> {
    /// The best feasible variant: highest score, ties to the earlier variant.
    pub fn best(&self) -> Option<usize> {
        let mut best: Option<(usize, i32)> = None;
        for (i, (_, score, _, _)) in self.feasible.iter().enumerate() {
            if best.is_none_or(|(_, s)| *score > s) {
                best = Some((i, *score));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// Judges every variant of `option` against the requirements.
pub fn judge_option<'a>(
    catalog: &Catalog,
    req: &Requirements,
    engine: &EngineFacts,
    engine_def: Option<&EngineDef>,
    option: &'a OptionDef,
) -> OptionOutcome<'a> {
    let mut out = OptionOutcome {
        feasible: Vec::new(),
        excluded: Vec::new(),
    };
    for variant in &option.variants {
        let env = RuleEnv {
            catalog,
            req,
            engine,
            option: Some(option),
            variant: Some(variant),
            variant_supported: engine_supports(variant, engine_def),
        };
        match judge(catalog, &env) {
            Ok((score, reasons, overlays)) => {
                out.feasible.push((variant, score, reasons, overlays))
            }
            Err(reasons) => out.excluded.push((variant, reasons)),
        }
    }
    out
}

fn excluded_list(outcome: &OptionOutcome<'_>) -> Vec<VariantExcluded> {
    outcome
        .excluded
        .iter()
        .map(|(v, reasons)| VariantExcluded {
            id: v.id().to_string(),
            title: v.file.title.clone(),
            rules: reasons.iter().map(|r| r.rule.clone()).collect(),
        })
        .collect()
}

/// Ranks the seven options against the requirements. Deterministic: same input, same output.
pub fn evaluate(catalog: &Catalog, req: &Requirements, support: &EngineSupport) -> Recommendation {
    let engine = EngineFacts::compute(catalog, req, support.engine.as_ref());
    let mut ranked = Vec::new();
    let mut excluded = Vec::new();
    for option in catalog.numbered_options() {
        let number = option.file.number.unwrap_or_default();
        let mut outcome = judge_option(catalog, req, &engine, support.engine.as_ref(), option);
        let variants_excluded = excluded_list(&outcome);
        match outcome.best() {
            Some(best) => {
                let baseline_excluded = option
                    .variants
                    .first()
                    .and_then(|first| outcome.excluded.iter().find(|(v, _)| v.id() == first.id()));
                let (variant, score, reasons, overlays) = outcome.feasible.swap_remove(best);
                let mut alternatives: Vec<VariantScore> = outcome
                    .feasible
                    .iter()
                    .map(|(v, s, _, _)| VariantScore {
                        id: v.id().to_string(),
                        title: v.file.title.clone(),
                        score: *s,
                    })
                    .collect();
                alternatives.sort_by_key(|a| std::cmp::Reverse(a.score));
                let made_feasible = baseline_excluded.map(|(first, why)| {
                    let rules: Vec<&str> = why.iter().map(|r| r.rule.as_str()).collect();
                    format!(
                        "{} is excluded ({}); {} makes option {number} feasible",
                        first.file.title,
                        rules.join(", "),
                        variant.file.title
                    )
                });
                ranked.push(Ranked {
                    option: number,
                    id: option.id().to_string(),
                    title: option.file.title.clone(),
                    score,
                    cost: cost::monthly(catalog, variant, &engine),
                    variant: VariantChoice {
                        id: variant.id().to_string(),
                        title: variant.file.title.clone(),
                        key_management: variant.file.key_management.clone(),
                        made_feasible,
                        alternatives,
                        excluded: variants_excluded,
                    },
                    reasons,
                    overlays,
                });
            }
            None => {
                let mut rules: Vec<String> = Vec::new();
                let mut reasons: Vec<RuleReason> = Vec::new();
                for (_, why) in &outcome.excluded {
                    for r in why {
                        if !rules.contains(&r.rule) {
                            rules.push(r.rule.clone());
                            reasons.push(r.clone());
                        }
                    }
                }
                excluded.push(Excluded {
                    option: number,
                    id: option.id().to_string(),
                    title: option.file.title.clone(),
                    rules,
                    reasons,
                    variants: variants_excluded,
                });
            }
        }
    }
    ranked.sort_by(|a, b| b.score.cmp(&a.score).then(a.option.cmp(&b.option)));

    let env = RuleEnv {
        catalog,
        req,
        engine: &engine,
        option: None,
        variant: None,
        variant_supported: true,
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
        variant: r.variant.id.clone(),
        variant_title: r.variant.title.clone(),
        monthly_cents: r.cost.monthly_cents,
    });
    let overlays = ranked
        .first()
        .map(|r| r.overlays.clone())
        .unwrap_or_default();
    let conflict = if ranked.is_empty() {
        Some(conflict::explain(catalog, req, support))
    } else {
        None
    };
    let chosen_variant = ranked
        .first()
        .and_then(|r| catalog.option(&r.id).and_then(|o| o.variant(&r.variant.id)));
    let facts = cited_facts(
        catalog,
        &ranked,
        &excluded,
        &warnings,
        recommended.as_ref().and_then(|r| catalog.option(&r.id)),
        chosen_variant,
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
        conflict,
        facts,
    }
}

/// Whether any variant of `option` is feasible for `req` (the engine facts are recomputed from `req`).
pub fn feasible(
    catalog: &Catalog,
    req: &Requirements,
    support: &EngineSupport,
    option: &OptionDef,
) -> Option<String> {
    let engine = EngineFacts::compute(catalog, req, support.engine.as_ref());
    let outcome = judge_option(catalog, req, &engine, support.engine.as_ref(), option);
    outcome
        .best()
        .and_then(|i| outcome.feasible.get(i))
        .map(|(v, _, _, _)| v.id().to_string())
}

fn cited_facts(
    catalog: &Catalog,
    ranked: &[Ranked],
    excluded: &[Excluded],
    warnings: &[Warning],
    recommended: Option<&OptionDef>,
    variant: Option<&VariantDef>,
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
    if let Some(variant) = variant {
        ids.extend(variant.file.facts.iter().map(String::as_str));
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
