//! A user's requirements: every criterion of `decision/criteria.toml` with a value, read from a TOML file
//! and/or command-line flags, validated against the catalog with errors that name the key, file and line.

use std::collections::BTreeMap;

use serde::Serialize;
use toml::de::{DeTable, DeValue};

use crate::catalog::Catalog;
use crate::catalog::expr::{Type, Value};
use crate::suggest;

/// A note produced while reading requirements, e.g. a legacy value that was rewritten.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputNote {
    pub rule: String,
    pub text: String,
    pub facts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirements {
    values: BTreeMap<String, Value>,
    pub notes: Vec<InputNote>,
}

/// A requirements problem. `at` is where: `file:line`, or the command-line flag that gave the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequirementsError {
    #[error("{at}: not valid TOML: {detail}")]
    NotToml { at: String, detail: String },
    #[error("{at}: `{section}` must be a section such as `[database]`")]
    NotASection {
        at: String,
        section: String,
        help: String,
    },
    #[error("{at}: unknown section `[{section}]`")]
    UnknownSection {
        at: String,
        section: String,
        help: String,
    },
    #[error("{at}: unknown key `{key}` in `[{section}]`")]
    UnknownKey {
        at: String,
        section: String,
        key: String,
        help: String,
    },
    #[error("{at}: unknown requirement `{key}`")]
    UnknownRequirement {
        at: String,
        key: String,
        help: String,
    },
    #[error("{at}: `{key}` must be {ty}")]
    WrongType { at: String, key: String, ty: String },
    #[error("{at}: `{raw}` is not true or false")]
    NotBool { at: String, raw: String },
    #[error("{at}: `{key}`: {message}")]
    BadValue {
        at: String,
        key: String,
        message: String,
        help: Option<String>,
    },
}

impl crate::error::Help for RequirementsError {
    fn help(&self) -> Option<String> {
        match self {
            RequirementsError::NotToml { .. } => {
                Some("see docs/requirements.md for the format".to_string())
            }
            RequirementsError::NotASection { help, .. }
            | RequirementsError::UnknownSection { help, .. }
            | RequirementsError::UnknownKey { help, .. }
            | RequirementsError::UnknownRequirement { help, .. } => Some(help.clone()),
            RequirementsError::WrongType { .. } => {
                Some("see docs/requirements.md for each key's type".to_string())
            }
            RequirementsError::NotBool { .. } => Some("use `true` or `false`".to_string()),
            RequirementsError::BadValue { help, .. } => help.clone(),
        }
    }

    fn is_usage(&self) -> bool {
        true
    }
}

impl crate::catalog::TypeError {
    fn at(self, at: &str, key: &str) -> RequirementsError {
        RequirementsError::BadValue {
            at: at.to_string(),
            key: key.to_string(),
            message: self.message,
            help: self.help,
        }
    }
}

impl Requirements {
    /// Every criterion at its documented default.
    pub fn defaults(catalog: &Catalog) -> Requirements {
        let values = catalog
            .criteria
            .criteria
            .iter()
            .map(|c| (c.key.clone(), c.default.clone()))
            .collect();
        Requirements {
            values,
            notes: Vec::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The value as text (empty for lists and missing keys).
    pub fn text(&self, key: &str) -> &str {
        match self.values.get(key) {
            Some(Value::Text(s)) => s,
            _ => "",
        }
    }

    pub fn list(&self, key: &str) -> &[String] {
        match self.values.get(key) {
            Some(Value::List(items)) => items,
            _ => &[],
        }
    }

    pub fn values(&self) -> &BTreeMap<String, Value> {
        &self.values
    }

    /// A copy with one value replaced (already typed); used to try relaxations.
    pub fn with_value(&self, key: &str, value: Value) -> Requirements {
        let mut copy = self.clone();
        copy.values.insert(key.to_string(), value);
        copy
    }

    /// Reads a requirements TOML document over the defaults. `ignore` lists top-level keys that belong to the
    /// enclosing document (a scenario's `name`, `expect`...).
    pub fn from_toml(
        catalog: &Catalog,
        text: &str,
        file: &str,
        ignore: &[&str],
    ) -> Result<Requirements, RequirementsError> {
        let mut req = Requirements::defaults(catalog);
        req.merge_toml(catalog, text, file, ignore)?;
        Ok(req)
    }

    /// Applies a requirements TOML document on top of the current values.
    pub fn merge_toml(
        &mut self,
        catalog: &Catalog,
        text: &str,
        file: &str,
        ignore: &[&str],
    ) -> Result<(), RequirementsError> {
        let line = |offset: usize| {
            text.get(..offset)
                .map_or(1, |s| s.matches('\n').count() + 1)
        };
        let doc = DeTable::parse(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("{file}:{}", line(s.start)))
                .unwrap_or_else(|| file.to_string());
            RequirementsError::NotToml {
                at,
                detail: e.message().trim_end_matches('.').to_string(),
            }
        })?;
        let sections: Vec<String> = section_names(catalog);
        for (key, value) in doc.get_ref().iter() {
            let section = key.get_ref().as_ref();
            if ignore.contains(&section) {
                continue;
            }
            let at = format!("{file}:{}", line(key.span().start));
            let DeValue::Table(table) = value.get_ref() else {
                let hint = if let Some(c) = catalog
                    .criteria
                    .criteria
                    .iter()
                    .find(|c| c.key.ends_with(&format!(".{section}")))
                {
                    format!(
                        "put it under `[{}]`",
                        c.key.split('.').next().unwrap_or_default()
                    )
                } else {
                    suggest::hint(section, sections.iter().map(String::as_str))
                };
                return Err(RequirementsError::NotASection {
                    at,
                    section: section.to_string(),
                    help: hint,
                });
            };
            if !sections.iter().any(|s| s == section) {
                return Err(RequirementsError::UnknownSection {
                    at,
                    section: section.to_string(),
                    help: suggest::hint(section, sections.iter().map(String::as_str)),
                });
            }
            for (name, item) in table.iter() {
                let name = name.get_ref().as_ref();
                let full = format!("{section}.{name}");
                let at = format!("{file}:{}", line(item.span().start));
                let Some(criterion) = catalog.criteria.criterion(&full) else {
                    let known: Vec<&str> = catalog
                        .criteria
                        .criteria
                        .iter()
                        .filter_map(|c| c.key.strip_prefix(&format!("{section}.")))
                        .collect();
                    return Err(RequirementsError::UnknownKey {
                        at,
                        section: section.to_string(),
                        key: name.to_string(),
                        help: suggest::hint(name, known.iter().copied()),
                    });
                };
                let raw =
                    to_toml_value(item.get_ref()).ok_or_else(|| RequirementsError::WrongType {
                        at: at.clone(),
                        key: full.clone(),
                        ty: criterion.ty.to_string(),
                    })?;
                let value = self
                    .typed(catalog, &full, &criterion.ty, raw)
                    .map_err(|e| e.at(&at, &full))?;
                self.values.insert(full, value);
            }
        }
        Ok(())
    }

    /// Sets one criterion from a command-line value; lists take comma-separated values.
    pub fn set(
        &mut self,
        catalog: &Catalog,
        key: &str,
        raw: &str,
        flag: &str,
    ) -> Result<(), RequirementsError> {
        let Some(criterion) = catalog.criteria.criterion(key) else {
            let keys: Vec<&str> = catalog
                .criteria
                .criteria
                .iter()
                .map(|c| c.key.as_str())
                .collect();
            return Err(RequirementsError::UnknownRequirement {
                at: flag.to_string(),
                key: key.to_string(),
                help: suggest::hint(key, keys.iter().copied()),
            });
        };
        let value = match &criterion.ty {
            Type::Bool => match raw {
                "true" | "yes" => toml::Value::Boolean(true),
                "false" | "no" => toml::Value::Boolean(false),
                _ => {
                    return Err(RequirementsError::NotBool {
                        at: flag.to_string(),
                        raw: raw.to_string(),
                    });
                }
            },
            Type::List(_) => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.into()))
                    .collect(),
            ),
            _ => toml::Value::String(raw.to_string()),
        };
        let ty = criterion.ty.clone();
        let value = self
            .typed(catalog, key, &ty, value)
            .map_err(|e| e.at(flag, key))?;
        self.values.insert(key.to_string(), value);
        Ok(())
    }

    /// Type-checks one value, rewriting legacy aliases (with a note).
    fn typed(
        &mut self,
        catalog: &Catalog,
        key: &str,
        ty: &Type,
        raw: toml::Value,
    ) -> Result<Value, crate::catalog::TypeError> {
        let raw = match raw {
            toml::Value::String(s) => toml::Value::String(self.unalias(catalog, key, &s)),
            other => other,
        };
        crate::catalog::typed_value(&raw, ty, &catalog.criteria.domains)
    }

    fn unalias(&mut self, catalog: &Catalog, key: &str, value: &str) -> String {
        for alias in catalog
            .criteria
            .aliases
            .iter()
            .filter(|a| a.criterion == key)
        {
            if let Some(i) = alias.from.iter().position(|f| f == value)
                && let Some(to) = alias.to.get(i)
            {
                self.notes.push(InputNote {
                    rule: format!("input-alias-{}", key.replace('.', "-")),
                    text: alias.warning.replace("{from}", value).replace("{to}", to),
                    facts: alias.facts.clone(),
                });
                return to.clone();
            }
        }
        value.to_string()
    }
}

fn section_names(catalog: &Catalog) -> Vec<String> {
    let mut sections: Vec<String> = catalog
        .criteria
        .criteria
        .iter()
        .filter_map(|c| c.key.split('.').next().map(str::to_string))
        .collect();
    sections.dedup();
    sections
}

fn to_toml_value(value: &DeValue<'_>) -> Option<toml::Value> {
    Some(match value {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Array(items) => toml::Value::Array(
            items
                .iter()
                .map(|i| to_toml_value(i.get_ref()))
                .collect::<Option<Vec<_>>>()?,
        ),
        DeValue::Integer(i) => toml::Value::String(i.to_string()),
        DeValue::Float(f) => toml::Value::String(f.to_string()),
        _ => return None,
    })
}
