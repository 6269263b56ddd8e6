//! Why a policy document could not be read.

use crate::error::Help;

/// A malformed policy document. `statement` is the zero-based index of the statement in the document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("the policy is not JSON: {source}")]
    NotJson {
        #[source]
        source: serde_json::Error,
    },
    #[error("the policy is a JSON {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("the policy has no `Statement`")]
    NoStatement,
    #[error("statement {statement}: `{element}` must be {expected}")]
    BadElement {
        statement: usize,
        element: &'static str,
        expected: &'static str,
    },
    #[error("statement {statement}: unknown element `{element}`")]
    UnknownElement { statement: usize, element: String },
    #[error("statement {statement}: `Effect` `{value}` is neither `Allow` nor `Deny`")]
    BadEffect { statement: usize, value: String },
    #[error("statement {statement}: has both `{element}` and `Not{element}`")]
    BothForms {
        statement: usize,
        element: &'static str,
    },
    #[error("statement {statement}: has neither `{element}` nor `Not{element}`")]
    Missing {
        statement: usize,
        element: &'static str,
    },
    #[error("statement {statement}: unknown condition operator `{operator}`")]
    UnknownOperator { statement: usize, operator: String },
    #[error(
        "statement {statement}: condition `{operator}` on `{key}` has a value that is not a string, number or boolean"
    )]
    BadConditionValue {
        statement: usize,
        operator: String,
        key: String,
    },
    #[error("statement {statement}: unknown principal type `{kind}`")]
    UnknownPrincipalType { statement: usize, kind: String },
}

impl Help for PolicyError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::NotJson { .. } | Self::NotAnObject { .. } => {
                "pass the policy document itself, a JSON object with `Version` and `Statement`".to_owned()
            }
            Self::NoStatement => "add a `Statement` object or array".to_owned(),
            Self::UnknownOperator { .. } => {
                "use an IAM condition operator such as `StringEquals`, `ArnLike` or `ForAnyValue:StringLike`".to_owned()
            }
            Self::UnknownPrincipalType { .. } => {
                "use `AWS`, `Service`, `Federated` or `CanonicalUser`".to_owned()
            }
            _ => "fix the statement as the IAM JSON policy grammar describes".to_owned(),
        })
    }

    fn is_usage(&self) -> bool {
        true
    }
}
