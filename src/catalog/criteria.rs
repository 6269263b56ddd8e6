//! `criteria.toml`: the requirement dimensions, their domains and defaults, and the option attributes; and the
//! typing of a TOML value against a declared type.

use std::collections::BTreeMap;

use super::Criteria;
use super::expr::{Type, Value};
use super::problems::Problems;
use super::schema::CriteriaFile;
use super::{Attribute, Criterion};
use crate::suggest;

pub(super) fn type_of(
    kind: Option<&str>,
    domain: Option<&str>,
    list: bool,
) -> Result<Type, String> {
    match (kind, domain, list) {
        (Some("text"), None, false) => Ok(Type::Text),
        (Some("bool"), None, false) => Ok(Type::Bool),
        (None, Some(d), false) => Ok(Type::Enum(d.to_string())),
        (None, Some(d), true) => Ok(Type::List(d.to_string())),
        _ => Err("declare either `type = \"text\"|\"bool\"` or `domain = \"...\"` (with `list = true` for sets)".into()),
    }
}

/// Converts a TOML value to a typed value, checking domain membership.
/// A value of the wrong type or outside its domain: the message, and the fix apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError {
    pub message: String,
    pub help: Option<String>,
}

impl From<String> for TypeError {
    fn from(message: String) -> Self {
        TypeError {
            message,
            help: None,
        }
    }
}

impl std::fmt::Display for TypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.help {
            Some(help) => write!(f, "{}; {help}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

pub(crate) fn typed_value(
    value: &toml::Value,
    ty: &Type,
    domains: &BTreeMap<String, Vec<String>>,
) -> Result<Value, TypeError> {
    let in_domain = |d: &str, v: &str| -> Result<(), TypeError> {
        let values = domains
            .get(d)
            .ok_or_else(|| format!("unknown domain `{d}`"))?;
        if values.iter().any(|x| x == v) {
            Ok(())
        } else {
            Err(TypeError {
                message: format!("`{v}` is not a `{d}` value"),
                help: Some(suggest::hint(v, values.iter().map(String::as_str))),
            })
        }
    };
    match (ty, value) {
        (Type::Text, toml::Value::String(s)) => Ok(Value::Text(s.clone())),
        (Type::Bool, toml::Value::Boolean(b)) => Ok(Value::Bool(*b)),
        (Type::Enum(d), toml::Value::String(s)) => in_domain(d, s).map(|()| Value::Text(s.clone())),
        (Type::List(d), toml::Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                let s = item.as_str().ok_or_else(|| {
                    TypeError::from(format!("list items must be strings, found `{item}`"))
                })?;
                in_domain(d, s)?;
                if !out.iter().any(|x| x == s) {
                    out.push(s.to_string());
                }
            }
            Ok(Value::List(out))
        }
        (ty, v) => Err(TypeError {
            message: format!("expected {ty}, found `{v}`"),
            help: Some(format!("write the value as {ty}")),
        }),
    }
}

pub(super) fn build_criteria(file: CriteriaFile, problems: &mut Problems) -> Criteria {
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
