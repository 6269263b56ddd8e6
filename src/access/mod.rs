//! Who can use a KMS key: a pure evaluator of AWS's policy evaluation logic for KMS over the key policy, the key's
//! grants, the principals' identity policies and permissions boundaries, and the organization's SCPs and RCPs.
//!
//! No AWS calls and no I/O: the collectors read the inputs, this module decides. Verdicts are symbolic, because
//! the question is "who could": a condition on a request value the query leaves open (`kms:ViaService`,
//! `kms:EncryptionContext:*`) stays in the verdict as a remaining condition, and an input that could not be read
//! makes the verdict unknown, never allowed or denied by default. The semantics are described in `docs/access.md`.

pub mod actions;
pub mod condition;
pub mod document;
pub mod error;
pub mod evaluate;
pub mod formula;
pub mod grant;
pub mod matching;
pub mod pinning;

pub use actions::{ActionSet, KeyKind, KmsAction};
pub use condition::{BaseOperator, Condition, ConditionKey, Operator, SetOperator};
pub use document::{Effect, Policy, PrincipalKind, Principals, Statement};
pub use error::PolicyError;
pub use evaluate::{
    Ceiling, Decision, Identity, Key, KeyInputs, NamedPolicy, Org, Path, Principal,
    PrincipalInputs, PrincipalType, RequestContext, Verdict, Via, describe, describe_atom,
    describe_source, evaluate, statement_of, who_can, who_can_each,
};
pub use formula::{Atom, Dnf, Missing, Source};
pub use grant::{Grant, GrantConstraint};
pub use pinning::{Pinning, pinning, pins_principal, pins_source};

#[cfg(test)]
mod tests;
