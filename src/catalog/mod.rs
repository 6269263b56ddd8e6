//! The decision catalog: everything in `decision/` (options, overlays, rules, facts, criteria, engines, check
//! metadata, compliance frameworks, scenarios), embedded in the binary, parsed and cross-checked once. The advisor
//! engine, the audit and the report writers read only this; they hold no knowledge of their own.
//!
//! Layout: [`load`](self) dispatches files by path; `criteria.rs` types the requirement dimensions; `typecheck.rs`
//! checks rule conditions and templates; `validate.rs` checks facts, option attributes and engines; [`checks`] and
//! [`frameworks`] hold the audit's metadata; `problems.rs` collects every problem with its file.

pub mod checks;
mod criteria;
pub mod expr;
pub mod frameworks;
mod load;
mod problems;
pub mod schema;
mod typecheck;
mod validate;
mod vars;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use criteria::TypeError;
pub(crate) use criteria::typed_value;
pub use problems::Problem;
pub use vars::{DERIVED_VARS, ENGINE_VARS};

use checks::CheckMeta;
use expr::{Condition, Type, Value};
use frameworks::Framework;
use schema::{
    AliasDef, EngineDef, EnginesFile, Fact, OptionFile, PriceFile, RuleFile, VariantFile,
};

/// The decision files are inconsistent: every problem, each naming its file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("the decision catalog has {} problem(s): {}", .0.len(), join(.0))]
    Invalid(Vec<Problem>),
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

impl crate::error::Help for &CatalogError {
    fn help(&self) -> Option<String> {
        (**self).help()
    }
}

impl CatalogError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            CatalogError::Invalid(p) => p,
        }
    }
}

impl crate::error::Help for CatalogError {
    fn help(&self) -> Option<String> {
        Some(
            "the embedded decision data is inconsistent: fix the files named, then rebuild"
                .to_string(),
        )
    }
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/decision_files.rs"));
}

/// The embedded decision files, as (path relative to `decision/`, contents).
pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
    embedded::DECISION_FILES
}

/// One requirement dimension from `decision/criteria.toml`.
#[derive(Clone, Debug)]
pub struct Criterion {
    /// `section.key`, e.g. `keys.fips`.
    pub key: String,
    pub ty: Type,
    pub default: Value,
    pub help: String,
}

/// One option attribute every option declares.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub help: String,
}

#[derive(Clone, Debug)]
pub struct Criteria {
    pub domains: BTreeMap<String, Vec<String>>,
    pub criteria: Vec<Criterion>,
    pub aliases: Vec<AliasDef>,
    pub licence_grants: BTreeMap<String, Vec<String>>,
    pub attributes: Vec<Attribute>,
    pub base_score: i32,
}

impl Criteria {
    pub fn criterion(&self, key: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.key == key)
    }

    pub fn rank(&self, domain: &str, value: &str) -> Option<usize> {
        self.domains.get(domain)?.iter().position(|v| v == value)
    }
}

/// An option (one of the seven) or an overlay, with typed attributes.
#[derive(Clone, Debug)]
pub struct OptionDef {
    pub file: OptionFile,
    pub attributes: BTreeMap<String, Value>,
    /// The key-protection variants, in file order; each carries the option's attributes with its own on top.
    pub variants: Vec<VariantDef>,
}

/// A key-protection variant with its complete attributes (the option's, overridden by the variant's).
#[derive(Clone, Debug)]
pub struct VariantDef {
    pub file: VariantFile,
    pub attributes: BTreeMap<String, Value>,
}

impl VariantDef {
    pub fn id(&self) -> &str {
        &self.file.id
    }
}

impl OptionDef {
    pub fn id(&self) -> &str {
        &self.file.id
    }

    pub fn variant(&self, id: &str) -> Option<&VariantDef> {
        self.variants.iter().find(|v| v.id() == id)
    }

    pub fn is_overlay(&self) -> bool {
        self.file.number.is_none()
    }
}

/// A rule with its conditions parsed and type-checked.
#[derive(Clone, Debug)]
pub struct Rule {
    pub file: RuleFile,
    /// Each condition with the static type of its left-hand variable.
    pub conditions: Vec<(Condition, Type)>,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.file.id
    }
}

/// A requirements scenario: golden input plus expected outcome (`decision/scenarios/`).
#[derive(Clone, Debug)]
pub struct ScenarioText {
    pub path: String,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Catalog {
    pub criteria: Criteria,
    /// The seven options by number, then the overlays by id.
    pub options: Vec<OptionDef>,
    pub rules: Vec<Rule>,
    pub facts: BTreeMap<String, Fact>,
    /// Dated unit prices (`prices/<id>.toml`), by id.
    pub prices: BTreeMap<String, PriceFile>,
    pub engines: EnginesFile,
    /// The requirements `advise` uses when given none.
    pub example_requirements: String,
    pub scenarios: Vec<ScenarioText>,
    /// Audit check metadata (`checks/<id>.toml`), by id.
    pub checks: Vec<CheckMeta>,
    /// Compliance frameworks (`frameworks/<id>.toml`), by id, validated against the checks and facts.
    pub frameworks: Vec<Framework>,
    /// A short digest of every embedded file, so reports can say which catalog produced them.
    pub version: String,
}

static EMBEDDED: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();

impl Catalog {
    /// The catalog embedded in this binary, parsed once.
    pub fn embedded() -> Result<&'static Catalog, &'static CatalogError> {
        EMBEDDED
            .get_or_init(|| Catalog::from_files(embedded_files()))
            .as_ref()
    }

    /// Parses and validates a set of decision files (paths relative to `decision/`).
    pub fn from_files(files: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
        load::load(files)
    }

    pub fn option_by_number(&self, number: u8) -> Option<&OptionDef> {
        self.options.iter().find(|o| o.file.number == Some(number))
    }

    pub fn option(&self, id: &str) -> Option<&OptionDef> {
        self.options.iter().find(|o| o.id() == id)
    }

    /// The seven options, in order.
    pub fn numbered_options(&self) -> impl Iterator<Item = &OptionDef> {
        self.options.iter().filter(|o| !o.is_overlay())
    }

    pub fn overlays(&self) -> impl Iterator<Item = &OptionDef> {
        self.options.iter().filter(|o| o.is_overlay())
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id() == id)
    }

    pub fn fact(&self, id: &str) -> Option<&Fact> {
        self.facts.get(id)
    }

    pub fn price(&self, id: &str) -> Option<&PriceFile> {
        self.prices.get(id)
    }

    pub fn check(&self, id: &str) -> Option<&CheckMeta> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The title of option `number` (1-7), the words `advise`, `plan` and `audit` share.
    pub fn option_title(&self, number: u8) -> Option<&str> {
        self.option_by_number(number).map(|o| o.file.title.as_str())
    }

    pub fn engine(&self, id: &str) -> Option<&EngineDef> {
        self.engines.engine.iter().find(|e| e.id == id)
    }

    /// Every id `explain` accepts: option numbers and ids, overlay ids, rule ids, fact ids, price ids, engine ids.
    pub fn all_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.options.iter().map(|o| o.id()).collect();
        ids.extend(self.rules.iter().map(|r| r.id()));
        ids.extend(self.facts.keys().map(String::as_str));
        ids.extend(self.prices.keys().map(String::as_str));
        ids.extend(self.engines.engine.iter().map(|e| e.id.as_str()));
        ids
    }
}
