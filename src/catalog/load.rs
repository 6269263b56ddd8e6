//! Parses the decision files and cross-checks them: every id referenced exists, every rule condition is
//! well-typed, every value belongs to its domain. All problems are collected, not just the first.

use std::collections::{BTreeMap, BTreeSet};

use ring::digest;

use super::expr::{Condition, Operand, Scope, Type, Value, Var};
use super::schema::{CriteriaFile, Effect, EnginesFile, Fact, OptionFile, RuleFile};
use super::vars::{DERIVED_VARS, ENGINE_VARS};
use super::{Attribute, Catalog, Criteria, Criterion, OptionDef, Rule, ScenarioText};
use crate::suggest;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the decision catalog has {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// Collects problems as `decision/<path>: <message>`.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, path: &str, message: impl AsRef<str>) {
        self.0
            .push(format!("decision/{path}: {}", message.as_ref()));
    }
}

fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".toml").unwrap_or(name)
}

fn parse<T: serde::de::DeserializeOwned>(
    path: &str,
    text: &str,
    problems: &mut Problems,
) -> Option<T> {
    match toml::from_str(text) {
        Ok(value) => Some(value),
        Err(e) => {
            problems.add(path, e.to_string().trim());
            None
        }
    }
}

pub fn load(files: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
    let mut problems = Problems::default();
    let mut criteria_file = None;
    let mut engines_file = None;
    let mut example = None;
    let mut options = Vec::new();
    let mut rules = Vec::new();
    let mut facts = BTreeMap::new();
    let mut scenarios = Vec::new();
    let mut hasher = digest::Context::new(&digest::SHA256);

    for (path, text) in files {
        hasher.update(path.as_bytes());
        hasher.update(&[0]);
        hasher.update(text.as_bytes());
        hasher.update(&[0]);
        match *path {
            "criteria.toml" => criteria_file = parse::<CriteriaFile>(path, text, &mut problems),
            "engines.toml" => engines_file = parse::<EnginesFile>(path, text, &mut problems),
            "examples/requirements.toml" => example = Some(text.to_string()),
            p if p.starts_with("options/") => {
                if let Some(o) = parse::<OptionFile>(path, text, &mut problems) {
                    options.push((p.to_string(), o));
                }
            }
            p if p.starts_with("rules/") => {
                if let Some(r) = parse::<RuleFile>(path, text, &mut problems) {
                    rules.push((p.to_string(), r));
                }
            }
            p if p.starts_with("facts/") => {
                if let Some(f) = parse::<Fact>(path, text, &mut problems) {
                    if f.id != stem(p) {
                        problems.add(
                            p,
                            format!("id `{}` must equal the file name `{}`", f.id, stem(p)),
                        );
                    }
                    facts.insert(f.id.clone(), f);
                }
            }
            p if p.starts_with("scenarios/") => scenarios.push(ScenarioText {
                path: p.to_string(),
                text: text.to_string(),
            }),
            // Other pillars' data (checks, frameworks) is loaded by those pillars.
            _ => {}
        }
    }

    let (Some(criteria_file), Some(engines)) = (criteria_file, engines_file) else {
        if problems.0.is_empty() {
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
    let fact_ids: BTreeSet<&str> = facts.keys().map(String::as_str).collect();
    let check_facts = |path: &str, ids: &[String], problems: &mut Problems| {
        for id in ids {
            if !fact_ids.contains(id.as_str()) {
                problems.add(
                    path,
                    format!(
                        "unknown fact `{id}`; {}",
                        suggest::hint(id, fact_ids.iter().copied())
                    ),
                );
            }
        }
    };

    let mut option_defs = Vec::new();
    for (path, file) in options {
        if file.id != stem(&path) {
            problems.add(
                &path,
                format!(
                    "id `{}` must equal the file name `{}`",
                    file.id,
                    stem(&path)
                ),
            );
        }
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
        option_defs.push(OptionDef { file, attributes });
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
        if file.id != stem(&path) {
            problems.add(
                &path,
                format!(
                    "id `{}` must equal the file name `{}`",
                    file.id,
                    stem(&path)
                ),
            );
        }
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
    for alias in &criteria.aliases {
        check_facts("criteria.toml", &alias.facts, &mut problems);
    }

    if !problems.0.is_empty() {
        return Err(CatalogError::Invalid(problems.0));
    }
    let digest = hasher.finish();
    let version = digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Catalog {
        criteria,
        options: option_defs,
        rules: rule_defs,
        facts,
        engines,
        example_requirements,
        scenarios,
        version,
    })
}

fn type_of(kind: Option<&str>, domain: Option<&str>, list: bool) -> Result<Type, String> {
    match (kind, domain, list) {
        (Some("text"), None, false) => Ok(Type::Text),
        (Some("bool"), None, false) => Ok(Type::Bool),
        (None, Some(d), false) => Ok(Type::Enum(d.to_string())),
        (None, Some(d), true) => Ok(Type::List(d.to_string())),
        _ => Err("declare either `type = \"text\"|\"bool\"` or `domain = \"...\"` (with `list = true` for sets)".into()),
    }
}

/// Converts a TOML value to a typed value, checking domain membership.
pub(crate) fn typed_value(
    value: &toml::Value,
    ty: &Type,
    domains: &BTreeMap<String, Vec<String>>,
) -> Result<Value, String> {
    let in_domain = |d: &str, v: &str| -> Result<(), String> {
        let values = domains
            .get(d)
            .ok_or_else(|| format!("unknown domain `{d}`"))?;
        if values.iter().any(|x| x == v) {
            Ok(())
        } else {
            Err(format!(
                "`{v}` is not a `{d}` value; {}",
                suggest::hint(v, values.iter().map(String::as_str))
            ))
        }
    };
    match (ty, value) {
        (Type::Text, toml::Value::String(s)) => Ok(Value::Text(s.clone())),
        (Type::Bool, toml::Value::Boolean(b)) => Ok(Value::Bool(*b)),
        (Type::Enum(d), toml::Value::String(s)) => in_domain(d, s).map(|()| Value::Text(s.clone())),
        (Type::List(d), toml::Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                let s = item
                    .as_str()
                    .ok_or_else(|| format!("list items must be strings, found `{item}`"))?;
                in_domain(d, s)?;
                if !out.iter().any(|x| x == s) {
                    out.push(s.to_string());
                }
            }
            Ok(Value::List(out))
        }
        (ty, v) => Err(format!("expected {ty}, found `{v}`")),
    }
}

fn build_criteria(file: CriteriaFile, problems: &mut Problems) -> Criteria {
    let path = "criteria.toml";
    let mut criteria = Vec::new();
    for c in &file.criterion {
        if c.key.split('.').count() != 2 {
            problems.add(
                path,
                format!("criterion key `{}` must be `section.key`", c.key),
            );
        }
        match type_of(c.kind.as_deref(), c.domain.as_deref(), c.list) {
            Ok(ty) => match typed_value(&c.default, &ty, &file.domains) {
                Ok(default) => criteria.push(Criterion {
                    key: c.key.clone(),
                    ty,
                    default,
                    help: c.help.clone(),
                }),
                Err(e) => problems.add(path, format!("default of `{}`: {e}", c.key)),
            },
            Err(e) => problems.add(path, format!("criterion `{}`: {e}", c.key)),
        }
    }
    let mut attributes = Vec::new();
    for a in &file.attribute {
        match type_of(a.kind.as_deref(), a.domain.as_deref(), a.list) {
            Ok(ty) => {
                if let Type::Enum(d) | Type::List(d) = &ty
                    && !file.domains.contains_key(d)
                {
                    problems.add(
                        path,
                        format!("attribute `{}` uses unknown domain `{d}`", a.name),
                    );
                }
                attributes.push(Attribute {
                    name: a.name.clone(),
                    ty,
                    help: a.help.clone(),
                })
            }
            Err(e) => problems.add(path, format!("attribute `{}`: {e}", a.name)),
        }
    }
    for alias in &file.alias {
        let domain = criteria
            .iter()
            .find(|c| c.key == alias.criterion)
            .and_then(|c| match &c.ty {
                Type::Enum(d) => file.domains.get(d),
                _ => None,
            });
        match domain {
            None => problems.add(
                path,
                format!(
                    "alias for unknown or non-enum criterion `{}`",
                    alias.criterion
                ),
            ),
            Some(values) => {
                if alias.from.len() != alias.to.len() {
                    problems.add(
                        path,
                        format!(
                            "alias for `{}`: `from` and `to` differ in length",
                            alias.criterion
                        ),
                    );
                }
                for to in &alias.to {
                    if !values.contains(to) {
                        problems.add(path, format!("alias target `{to}` is not a valid value"));
                    }
                }
            }
        }
    }
    let licences = file.domains.get("licence").cloned().unwrap_or_default();
    for licence in file.licence_grants.keys() {
        if !licences.contains(licence) {
            problems.add(
                path,
                format!("licence_grants names unknown licence `{licence}`"),
            );
        }
    }
    Criteria {
        domains: file.domains,
        criteria,
        aliases: file.alias,
        licence_grants: file.licence_grants,
        attributes,
        base_score: file.scoring.base,
    }
}

fn check_fact(fact: &Fact, problems: &mut Problems) {
    let path = format!("facts/{}.toml", fact.id);
    if !fact.source.starts_with("https://") {
        problems.add(
            &path,
            format!("source `{}` must be an https URL", fact.source),
        );
    }
    let parts: Vec<&str> = fact.date.split('-').collect();
    let well_formed = matches!(parts.len(), 1..=3)
        && parts[0].len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.iter().skip(1).all(|p| p.len() == 2);
    if !well_formed {
        problems.add(
            &path,
            format!("date `{}` must be YYYY, YYYY-MM or YYYY-MM-DD", fact.date),
        );
    }
    if fact.statement.trim().is_empty() {
        problems.add(&path, "statement is empty");
    }
}

fn option_attributes(
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

/// The static type of a variable, or an error naming the closest known variable.
pub(crate) fn var_type(var: &Var, criteria: &Criteria) -> Result<Type, String> {
    let from_table = |table: &[(&str, &str, &str)]| {
        table
            .iter()
            .find(|(n, _, _)| *n == var.name)
            .map(|(_, kind, domain)| match *kind {
                "bool" => Type::Bool,
                "enum" => Type::Enum(domain.to_string()),
                _ => Type::Text,
            })
    };
    let known: Option<Type> = match var.scope {
        Scope::Req => criteria.criterion(&var.name).map(|c| c.ty.clone()),
        Scope::Opt => criteria
            .attributes
            .iter()
            .find(|a| a.name == var.name)
            .map(|a| a.ty.clone()),
        Scope::Engine => from_table(ENGINE_VARS),
        Scope::Derived => from_table(DERIVED_VARS),
    };
    known.ok_or_else(|| {
        let names: Vec<String> = match var.scope {
            Scope::Req => criteria.criteria.iter().map(|c| c.key.clone()).collect(),
            Scope::Opt => criteria.attributes.iter().map(|a| a.name.clone()).collect(),
            Scope::Engine => ENGINE_VARS.iter().map(|v| v.0.to_string()).collect(),
            Scope::Derived => DERIVED_VARS.iter().map(|v| v.0.to_string()).collect(),
        };
        format!(
            "unknown variable `{var}`; {}",
            suggest::hint(&var.name, names.iter().map(String::as_str))
        )
    })
}

fn check_condition(cond: &Condition, left: &Type, criteria: &Criteria) -> Result<(), String> {
    use super::expr::Op;
    let word_ok = |domain: &str, w: &str| -> Result<(), String> {
        let values = criteria
            .domains
            .get(domain)
            .ok_or_else(|| format!("unknown domain `{domain}`"))?;
        if values.iter().any(|v| v == w) {
            Ok(())
        } else {
            Err(format!(
                "`{w}` is not a `{domain}` value; {}",
                suggest::hint(w, values.iter().map(String::as_str))
            ))
        }
    };
    let right_ty = match &cond.right {
        Operand::Var(v) => Some(var_type(v, criteria)?),
        _ => None,
    };
    match (cond.op, left, &cond.right, &right_ty) {
        (Op::Eq | Op::Ne, Type::Bool, Operand::Bool(_), _) => Ok(()),
        (Op::Eq | Op::Ne, Type::Text, Operand::Word(_), _) => Ok(()),
        (Op::Eq | Op::Ne, Type::Enum(d), Operand::Word(w), _) => word_ok(d, w),
        (
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge,
            Type::Enum(d),
            Operand::Var(_),
            Some(Type::Enum(d2)),
        ) if d == d2 => Ok(()),
        (Op::Eq | Op::Ne, l, Operand::Var(_), Some(r)) if l == r => Ok(()),
        (Op::Lt | Op::Le | Op::Gt | Op::Ge, Type::Enum(d), Operand::Word(w), _) => word_ok(d, w),
        (Op::In | Op::NotIn, Type::Enum(d), Operand::List(items), _) => {
            items.iter().try_for_each(|w| word_ok(d, w))
        }
        (Op::In | Op::NotIn, Type::Text, Operand::List(_), _) => Ok(()),
        (Op::In | Op::NotIn, Type::Enum(d), Operand::Var(_), Some(Type::List(d2))) if d == d2 => {
            Ok(())
        }
        (Op::Contains | Op::NotContains, Type::List(d), Operand::Word(w), _) => word_ok(d, w),
        (Op::Contains | Op::NotContains, Type::List(d), Operand::Var(_), Some(Type::Enum(d2)))
            if d == d2 =>
        {
            Ok(())
        }
        _ => Err(format!(
            "condition `{}` compares {left} with {}; the operator does not apply to these types",
            cond.source,
            right_ty
                .map(|t| t.to_string())
                .unwrap_or_else(|| "a literal".into())
        )),
    }
}

/// Placeholders `{scope.name}` and `{option.number|title|id}` in a reason template.
pub(crate) fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

fn build_rule(
    path: &str,
    file: RuleFile,
    criteria: &Criteria,
    overlays: &BTreeSet<&str>,
    problems: &mut Problems,
) -> Option<Rule> {
    let before = problems.0.len();
    if file.when.is_empty() {
        problems.add(path, "`when` needs at least one condition");
    }
    let mut conditions = Vec::new();
    for text in &file.when {
        match Condition::parse(text) {
            Ok(cond) => match var_type(&cond.left, criteria)
                .and_then(|ty| check_condition(&cond, &ty, criteria).map(|()| ty))
            {
                Ok(ty) => {
                    if file.effect == Effect::Warn && mentions_opt(&cond) {
                        problems.add(
                            path,
                            format!("warn rules judge requirements only; `{text}` reads an option"),
                        );
                    }
                    conditions.push((cond, ty));
                }
                Err(e) => problems.add(path, e),
            },
            Err(e) => problems.add(path, e),
        }
    }
    match file.effect {
        Effect::Score if file.points.is_none() => problems.add(path, "score rules need `points`"),
        Effect::Score => {}
        _ if file.points.is_some() => problems.add(path, "only score rules take `points`"),
        _ => {}
    }
    match (file.effect, &file.overlay, file.level) {
        (Effect::Overlay, Some(id), Some(_)) => {
            if !overlays.contains(id.as_str()) {
                problems.add(
                    path,
                    format!(
                        "unknown overlay `{id}`; {}",
                        suggest::hint(id, overlays.iter().copied())
                    ),
                );
            }
        }
        (Effect::Overlay, _, _) => problems.add(
            path,
            "overlay rules need `overlay` (an overlay id) and `level`",
        ),
        (_, None, None) => {}
        _ => problems.add(path, "only overlay rules take `overlay` and `level`"),
    }
    for placeholder in placeholders(&file.reason) {
        let ok = match placeholder.as_str() {
            "option.number" | "option.title" | "option.id" => file.effect != Effect::Warn,
            p => match Var::parse(p) {
                Some(var) => {
                    var_type(&var, criteria).is_ok()
                        && !(file.effect == Effect::Warn && var.scope == Scope::Opt)
                }
                None => false,
            },
        };
        if !ok {
            problems.add(
                path,
                format!(
                    "reason placeholder `{{{placeholder}}}` is not a variable this rule can read"
                ),
            );
        }
    }
    if problems.0.len() > before {
        return None;
    }
    Some(Rule { file, conditions })
}

fn mentions_opt(cond: &Condition) -> bool {
    cond.left.scope == Scope::Opt || matches!(&cond.right, Operand::Var(v) if v.scope == Scope::Opt)
}

fn check_engines(
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
        if let Some(t) = &e.rds_tde {
            check_facts(path, &t.facts, problems);
        }
        if let Some(t) = &e.ec2_tde {
            check_facts(path, &t.facts, problems);
            if !matches!(t.licence.as_str(), "free" | "commercial") {
                problems.add(
                    path,
                    format!(
                        "engine `{}`: ec2_tde.licence must be free or commercial",
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
