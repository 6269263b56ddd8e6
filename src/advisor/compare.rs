//! `advise --compare`: two or more options (or option variants) side by side for the same requirements, row by
//! row, the way a planning session weighs them. Pure: it judges each pick with the same rules as `evaluate`.

use serde::Serialize;

use crate::catalog::expr::Value;
use crate::catalog::{Catalog, OptionDef, VariantDef};

use super::context::EngineFacts;
use super::cost;
use super::engine::{EngineSupport, judge_option};
use super::requirements::Requirements;

/// A pick that does not exist.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    #[error("`{pick}` is not an option number from 1 to 7")]
    UnknownOption { pick: String },
    #[error("option {option} has no variant `{variant}`")]
    UnknownVariant {
        option: u8,
        variant: String,
        known: Vec<String>,
    },
}

impl crate::error::Help for CompareError {
    fn help(&self) -> Option<String> {
        match self {
            CompareError::UnknownOption { .. } => Some(
                "name options by number, optionally with a variant: `1,6:tde-kms-wrapped`".into(),
            ),
            CompareError::UnknownVariant { known, .. } => {
                Some(format!("its variants are {}", known.join(", ")))
            }
        }
    }

    fn is_usage(&self) -> bool {
        true
    }
}

/// One compared pick: the option, its variant, and each row's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Column {
    pub option: u8,
    pub variant: String,
    pub heading: String,
    /// (row label, value), in a fixed order.
    pub rows: Vec<(String, String)>,
}

/// Resolves `6` or `6:tde-kms-wrapped` to an option and a variant (`None`: the best for the requirements).
pub fn parse_pick<'a>(
    catalog: &'a Catalog,
    pick: &str,
) -> Result<(&'a OptionDef, Option<&'a VariantDef>), CompareError> {
    let (number, variant) = match pick.split_once(':') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (pick.trim(), None),
    };
    let option = number
        .parse::<u8>()
        .ok()
        .and_then(|n| catalog.option_by_number(n))
        .ok_or_else(|| CompareError::UnknownOption {
            pick: pick.to_string(),
        })?;
    let variant = match variant {
        None => None,
        Some(id) => Some(
            option
                .variant(id)
                .ok_or_else(|| CompareError::UnknownVariant {
                    option: option.file.number.unwrap_or_default(),
                    variant: id.to_string(),
                    known: option.variants.iter().map(|v| v.id().to_string()).collect(),
                })?,
        ),
    };
    Ok((option, variant))
}

fn text(attrs: &std::collections::BTreeMap<String, Value>, name: &str) -> String {
    attrs.get(name).map(Value::render).unwrap_or_default()
}

fn flag(attrs: &std::collections::BTreeMap<String, Value>, name: &str) -> bool {
    attrs.get(name) == Some(&Value::Bool(true))
}

fn multi_region(key_store: &str) -> &'static str {
    match key_store {
        "kms-standard" => {
            "a key per Region; RDS and EBS re-encrypt copies under it (multi-Region keys add nothing)"
        }
        "kms-custom" | "cloudhsm" => "a key store or HSM cluster per Region; no multi-Region keys",
        "external" => "your HSM or key manager must be reachable from every Region",
        _ => "the wallet, passphrase or key slots travel with the copy; you move them",
    }
}

/// Compares `picks` for the same requirements.
pub fn compare(
    catalog: &Catalog,
    req: &Requirements,
    support: &EngineSupport,
    picks: &[(&OptionDef, Option<&VariantDef>)],
) -> Vec<Column> {
    let engine = EngineFacts::compute(catalog, req, support.engine.as_ref());
    picks
        .iter()
        .filter_map(|(option, chosen)| {
            let outcome = judge_option(catalog, req, &engine, support.engine.as_ref(), option);
            let variant: &VariantDef = match chosen {
                Some(v) => v,
                None => outcome
                    .best()
                    .and_then(|i| outcome.feasible.get(i))
                    .map(|(v, _, _, _)| *v)
                    .or_else(|| option.variants.first())?,
            };
            let verdict = match outcome
                .feasible
                .iter()
                .find(|(v, _, _, _)| v.id() == variant.id())
            {
                Some((_, score, _, _)) => format!("feasible, score {score}"),
                None => {
                    let rules: Vec<&str> = outcome
                        .excluded
                        .iter()
                        .find(|(v, _)| v.id() == variant.id())
                        .map(|(_, why)| why.iter().map(|r| r.rule.as_str()).collect())
                        .unwrap_or_default();
                    format!("excluded: {}", rules.join(", "))
                }
            };
            let a = &variant.attributes;
            let number = option.file.number.unwrap_or_default();
            let cost = cost::monthly(catalog, variant, &engine);
            let rows = vec![
                ("for these requirements", verdict),
                ("key protection", variant.file.key_management.clone()),
                ("FIPS 140-3 level", text(a, "fips_level")),
                (
                    "custody",
                    if flag(a, "key_in_aws_service") {
                        "an AWS key service holds a key needed to decrypt".to_string()
                    } else {
                        "no AWS key service holds the key".to_string()
                    },
                ),
                ("HSM tenancy it meets", text(a, "hsm_modes")),
                (
                    "proof of control / origin outside AWS",
                    format!(
                        "{} / {}",
                        if flag(a, "proof_of_control") {
                            "yes"
                        } else {
                            "no"
                        },
                        if text(a, "key_origins").contains("outside-aws") {
                            "yes"
                        } else {
                            "no"
                        }
                    ),
                ),
                (
                    "SLA",
                    if flag(a, "sla") {
                        "yes"
                    } else {
                        "none from AWS"
                    }
                    .to_string(),
                ),
                ("request-rate ceiling", variant.file.request_ceiling.clone()),
                ("rotation", variant.file.rotation.clone()),
                (
                    "multi-Region",
                    multi_region(&text(a, "key_store")).to_string(),
                ),
                ("operational effort", text(a, "ops_effort")),
                ("monthly cost", cost.summary()),
                ("application changes", variant.file.app_changes.clone()),
            ];
            Some(Column {
                option: number,
                variant: variant.id().to_string(),
                heading: format!("option {number}: {}", variant.file.title),
                rows: rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            })
        })
        .collect()
}
