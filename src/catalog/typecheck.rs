//! Rule conditions and reason templates, type-checked against the criteria, the option attributes and the engine
//! and derived variables.

use std::collections::BTreeSet;

use super::Criteria;
use super::Rule;
use super::expr::{Condition, Operand, Scope, Type, Var};
use super::problems::Problems;
use super::schema::{Effect, RuleFile};
use super::vars::{DERIVED_VARS, ENGINE_VARS};
use crate::suggest;

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

pub(super) fn build_rule(
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
            "option.number" | "option.title" | "option.id" | "variant.title" | "variant.id" => {
                file.effect != Effect::Warn
            }
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
