//! IAM policy documents read leniently, the way AWS accepts them (IAM JSON policy element reference): `Statement`
//! as one object or an array; `Principal` as `"*"` or a map of principal types to one value or a list; `Action`,
//! `Resource` and their `Not` forms as a string or a list; `Condition` values as strings, booleans, numbers or lists.

use serde_json::Value;

use super::actions::ActionSet;
use super::condition::{Condition, Operator};
use super::error::PolicyError;

/// A parsed policy: a key policy, an identity policy, a permissions boundary, an SCP or an RCP.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// The type of a principal in the `Principal` element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

/// `Principal` or `NotPrincipal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principals {
    /// `"*"` (or `{"AWS": "*"}`, which IAM treats the same): every principal, AWS service principals included.
    Any,
    /// The listed principals.
    Listed(Vec<(PrincipalKind, String)>),
}

/// One statement, with its position in the document.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    /// `None` when the statement has no `Principal` (identity policies, SCPs).
    pub principal: Option<Principals>,
    /// True for `NotPrincipal`.
    pub not_principal: bool,
    /// The patterns of `Action` or `NotAction`, as written.
    pub action_patterns: Vec<String>,
    pub not_action: bool,
    /// The KMS actions the statement covers (`NotAction` already complemented).
    pub actions: ActionSet,
    /// `None` when the statement has neither `Resource` nor `NotResource` (then it covers every resource).
    pub resources: Option<Vec<String>>,
    pub not_resource: bool,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// The Sid, or `#index` when the statement has none.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("#{}", self.index),
        }
    }
}

const ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Policy {
    /// Parses a policy document from its JSON text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let value: Value =
            serde_json::from_str(text).map_err(|source| PolicyError::NotJson { source })?;
        Self::from_value(&value)
    }

    /// Parses a policy document already read as JSON.
    pub fn from_value(value: &Value) -> Result<Self, PolicyError> {
        let Value::Object(doc) = value else {
            return Err(PolicyError::NotAnObject {
                found: kind_name(value),
            });
        };
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let raw = match doc.get("Statement") {
            None | Some(Value::Null) => return Err(PolicyError::NoStatement),
            Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one) => vec![one],
        };
        let statements = raw
            .into_iter()
            .enumerate()
            .map(|(i, s)| statement(i, s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            version: text("Version"),
            id: text("Id"),
            statements,
        })
    }

    /// A policy of the given statements (for building policies in code).
    pub fn from_statements(mut statements: Vec<Statement>) -> Self {
        for (i, s) in statements.iter_mut().enumerate() {
            s.index = i;
        }
        Self {
            version: Some("2012-10-17".to_owned()),
            id: None,
            statements,
        }
    }
}

fn strings(statement: usize, element: &'static str, v: &Value) -> Result<Vec<String>, PolicyError> {
    let bad = || PolicyError::BadElement {
        statement,
        element,
        expected: "a string or a list of strings",
    };
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

fn statement(index: usize, v: &Value) -> Result<Statement, PolicyError> {
    let Value::Object(map) = v else {
        return Err(PolicyError::BadElement {
            statement: index,
            element: "Statement",
            expected: "an object or a list of objects",
        });
    };
    if let Some(unknown) = map.keys().find(|k| !ELEMENTS.contains(&k.as_str())) {
        return Err(PolicyError::UnknownElement {
            statement: index,
            element: unknown.clone(),
        });
    }
    let sid = match map.get("Sid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(PolicyError::BadElement {
                statement: index,
                element: "Sid",
                expected: "a string",
            });
        }
    };
    let effect = match map.get("Effect").and_then(Value::as_str) {
        Some(e) if e.eq_ignore_ascii_case("Allow") => Effect::Allow,
        Some(e) if e.eq_ignore_ascii_case("Deny") => Effect::Deny,
        Some(e) => {
            return Err(PolicyError::BadEffect {
                statement: index,
                value: e.to_owned(),
            });
        }
        None => {
            return Err(PolicyError::Missing {
                statement: index,
                element: "Effect",
            });
        }
    };
    let (principal, not_principal) = match pair(map, index, "Principal", "NotPrincipal")? {
        Some((v, neg)) => (Some(principals(index, v)?), neg),
        None => (None, false),
    };
    let Some((av, not_action)) = pair(map, index, "Action", "NotAction")? else {
        return Err(PolicyError::Missing {
            statement: index,
            element: "Action",
        });
    };
    let action_patterns = strings(index, if not_action { "NotAction" } else { "Action" }, av)?;
    let covered = action_patterns
        .iter()
        .fold(ActionSet::EMPTY, |s, p| s.union(ActionSet::matching(p)));
    let actions = if not_action {
        covered.complement()
    } else {
        covered
    };
    let (resources, not_resource) = match pair(map, index, "Resource", "NotResource")? {
        Some((v, neg)) => (
            Some(strings(
                index,
                if neg { "NotResource" } else { "Resource" },
                v,
            )?),
            neg,
        ),
        None => (None, false),
    };
    let conditions = match map.get("Condition") {
        None | Some(Value::Null) => Vec::new(),
        Some(c) => conditions(index, c)?,
    };
    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        not_principal,
        action_patterns,
        not_action,
        actions,
        resources,
        not_resource,
        conditions,
    })
}

fn pair<'a>(
    map: &'a serde_json::Map<String, Value>,
    statement: usize,
    element: &'static str,
    negated: &'static str,
) -> Result<Option<(&'a Value, bool)>, PolicyError> {
    match (map.get(element), map.get(negated)) {
        (Some(_), Some(_)) => Err(PolicyError::BothForms { statement, element }),
        (Some(v), None) => Ok(Some((v, false))),
        (None, Some(v)) => Ok(Some((v, true))),
        (None, None) => Ok(None),
    }
}

fn principals(statement: usize, v: &Value) -> Result<Principals, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals::Any),
        Value::Object(map) => {
            let mut listed = Vec::new();
            for (k, v) in map {
                let kind = match k.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    _ => {
                        return Err(PolicyError::UnknownPrincipalType {
                            statement,
                            kind: k.clone(),
                        });
                    }
                };
                for value in strings(statement, "Principal", v)? {
                    if kind == PrincipalKind::Aws && value == "*" {
                        return Ok(Principals::Any);
                    }
                    listed.push((kind, value));
                }
            }
            Ok(Principals::Listed(listed))
        }
        _ => Err(PolicyError::BadElement {
            statement,
            element: "Principal",
            expected: "`*` or an object of principal types",
        }),
    }
}

fn conditions(statement: usize, v: &Value) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else {
        return Err(PolicyError::BadElement {
            statement,
            element: "Condition",
            expected: "an object of operators",
        });
    };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let operator = Operator::parse(op_name).ok_or_else(|| PolicyError::UnknownOperator {
            statement,
            operator: op_name.clone(),
        })?;
        let Value::Object(keys) = keys else {
            return Err(PolicyError::BadElement {
                statement,
                element: "Condition",
                expected: "an object of condition keys under each operator",
            });
        };
        for (key, values) in keys {
            let bad = || PolicyError::BadConditionValue {
                statement,
                operator: op_name.clone(),
                key: key.clone(),
            };
            let scalar = |x: &Value| match x {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad()),
            };
            let values = match values {
                Value::Array(list) => list.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                one => vec![scalar(one)?],
            };
            out.push(Condition::new(operator, key, values));
        }
    }
    Ok(out)
}
