//! The small condition language rules are written in: `<variable> <op> <operand>`, e.g.
//! `req.keys.fips > opt.fips_level`, `opt.host == rds`, `req.data.regimes contains pci-pan`,
//! `req.keys.hsm not-in opt.hsm_modes`, `req.data.granularity in [column, row, cell]`.
//! Conditions are parsed and type-checked when the catalog loads, so a rule never fails at evaluation time.

use std::fmt;

/// Where a variable comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The user's requirements (`decision/criteria.toml`).
    Req,
    /// The option being judged (`[attributes]` of `decision/options/<id>.toml`).
    Opt,
    /// What is known about the requested engine (`decision/engines.toml`, or a live refresh).
    Engine,
    /// Values combined from the requirements and the engine (documented in `advisor::context`).
    Derived,
}

impl Scope {
    pub fn prefix(self) -> &'static str {
        match self {
            Scope::Req => "req",
            Scope::Opt => "opt",
            Scope::Engine => "engine",
            Scope::Derived => "derived",
        }
    }

    fn parse(s: &str) -> Option<Scope> {
        match s {
            "req" => Some(Scope::Req),
            "opt" => Some(Scope::Opt),
            "engine" => Some(Scope::Engine),
            "derived" => Some(Scope::Derived),
            _ => None,
        }
    }
}

/// A variable such as `req.keys.fips` (scope `req`, name `keys.fips`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Var {
    pub scope: Scope,
    pub name: String,
}

impl Var {
    /// Parses `scope.name`; `None` when the text does not start with a known scope.
    pub fn parse(text: &str) -> Option<Var> {
        let (scope, name) = text.split_once('.')?;
        let scope = Scope::parse(scope)?;
        if name.is_empty() {
            return None;
        }
        Some(Var {
            scope,
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.scope.prefix(), self.name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
}

impl Op {
    const ALL: [(&'static str, Op); 10] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("in", Op::In),
        ("not-in", Op::NotIn),
        ("<", Op::Lt),
        ("<=", Op::Le),
        (">", Op::Gt),
        (">=", Op::Ge),
        ("contains", Op::Contains),
        ("not-contains", Op::NotContains),
    ];

    fn parse(s: &str) -> Option<Op> {
        Op::ALL.iter().find(|(t, _)| *t == s).map(|(_, op)| *op)
    }

    pub fn symbols() -> String {
        Op::ALL
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// The right-hand side of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Var(Var),
    Word(String),
    Bool(bool),
    List(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub source: String,
    pub left: Var,
    pub op: Op,
    pub right: Operand,
}

impl Condition {
    /// Parses one condition. The error text names what is wrong, for the catalog error.
    pub fn parse(source: &str) -> Result<Condition, String> {
        let text = source.trim();
        let mut parts = text.splitn(3, char::is_whitespace);
        let (Some(left), Some(op), Some(right)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "condition `{text}` must read `<variable> <op> <value>`, e.g. `opt.host == rds`"
            ));
        };
        let left = Var::parse(left).ok_or_else(|| {
            format!(
                "`{left}` is not a variable; variables start with req., opt., engine. or derived."
            )
        })?;
        let op = Op::parse(op)
            .ok_or_else(|| format!("`{op}` is not an operator; use one of {}", Op::symbols()))?;
        let right = parse_operand(right.trim())?;
        Ok(Condition {
            source: text.to_string(),
            left,
            op,
            right,
        })
    }
}

fn parse_operand(text: &str) -> Result<Operand, String> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("list `{text}` has no closing `]`"))?;
        let items: Vec<String> = inner
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        return Ok(Operand::List(items));
    }
    if text.contains(char::is_whitespace) {
        return Err(format!(
            "value `{text}` has spaces; write one word, or a list `[a, b]`"
        ));
    }
    match text {
        "true" => Ok(Operand::Bool(true)),
        "false" => Ok(Operand::Bool(false)),
        _ => Ok(Var::parse(text)
            .map(Operand::Var)
            .unwrap_or_else(|| Operand::Word(text.to_string()))),
    }
}

/// A runtime value of a variable.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Bool(bool),
    List(Vec<String>),
}

impl Value {
    pub fn render(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::List(items) if items.is_empty() => "none".to_string(),
            Value::List(items) => items.join(", "),
        }
    }
}

/// The static type of a variable, known when the catalog loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    Text,
    Bool,
    /// One value of a named domain (`decision/criteria.toml [domains]`).
    Enum(String),
    /// A set of values of a named domain.
    List(String),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Text => f.write_str("text"),
            Type::Bool => f.write_str("true/false"),
            Type::Enum(d) => write!(f, "one `{d}` value"),
            Type::List(d) => write!(f, "a list of `{d}` values"),
        }
    }
}

/// Where a condition reads its variables and domain orderings from.
pub trait Env {
    fn value(&self, var: &Var) -> Option<Value>;
    /// Position of `value` in `domain`, for `<`/`>`.
    fn rank(&self, domain: &str, value: &str) -> Option<usize>;
}

/// Evaluates a type-checked condition. A variable with no value makes the condition false.
pub fn eval(cond: &Condition, left_type: &Type, env: &dyn Env) -> bool {
    let Some(left) = env.value(&cond.left) else {
        return false;
    };
    let right = match &cond.right {
        Operand::Var(v) => match env.value(v) {
            Some(value) => value,
            None => return false,
        },
        Operand::Word(w) => Value::Text(w.clone()),
        Operand::Bool(b) => Value::Bool(*b),
        Operand::List(items) => Value::List(items.clone()),
    };
    match (cond.op, &left, &right) {
        (Op::Eq, l, r) => l == r,
        (Op::Ne, l, r) => l != r,
        (Op::In, Value::Text(l), Value::List(r)) => r.contains(l),
        (Op::NotIn, Value::Text(l), Value::List(r)) => !r.contains(l),
        (Op::Contains, Value::List(l), Value::Text(r)) => l.contains(r),
        (Op::NotContains, Value::List(l), Value::Text(r)) => !l.contains(r),
        (op, Value::Text(l), Value::Text(r)) if op.is_ordering() => {
            let Type::Enum(domain) = left_type else {
                return false;
            };
            match (env.rank(domain, l), env.rank(domain, r)) {
                (Some(a), Some(b)) => match op {
                    Op::Lt => a < b,
                    Op::Le => a <= b,
                    Op::Gt => a > b,
                    _ => a >= b,
                },
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_operand_kind() {
        let c =
            Condition::parse("req.keys.fips > opt.fips_level").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.left,
            Var {
                scope: Scope::Req,
                name: "keys.fips".into()
            }
        );
        assert_eq!(c.op, Op::Gt);
        assert_eq!(
            c.right,
            Operand::Var(Var {
                scope: Scope::Opt,
                name: "fips_level".into()
            })
        );
        let c = Condition::parse("req.data.granularity in [column, row]")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.right, Operand::List(vec!["column".into(), "row".into()]));
        let c = Condition::parse("engine.on_rds == false").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.right, Operand::Bool(false));
    }

    #[test]
    fn rejects_malformed_conditions() {
        assert!(Condition::parse("opt.host").is_err());
        assert!(Condition::parse("host == rds").is_err());
        assert!(Condition::parse("opt.host ~ rds").is_err());
        assert!(Condition::parse("opt.host in [rds").is_err());
        assert!(Condition::parse("opt.host == two words").is_err());
    }
}
