//! KMS grants (AWS KMS Developer Guide, "Grants in AWS KMS"): a grant allows its operations to its grantee principal
//! and never denies; `EncryptionContextEquals` / `EncryptionContextSubset` constraints limit only the operations
//! that take an encryption context; a grant for `CreateGrant` lets the grantee pass the grant's operations on.

use std::collections::BTreeMap;

use super::actions::{ActionSet, KmsAction};

/// A grant's encryption context constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantConstraint {
    /// The request's encryption context must be exactly this map.
    Equals(BTreeMap<String, String>),
    /// The request's encryption context must include every pair of this map.
    Subset(BTreeMap<String, String>),
}

impl GrantConstraint {
    /// Whether a request encryption context satisfies the constraint (keys and values are case-sensitive).
    pub fn allows(&self, context: &BTreeMap<String, String>) -> bool {
        match self {
            GrantConstraint::Equals(m) => m == context,
            GrantConstraint::Subset(m) => m.iter().all(|(k, v)| context.get(k) == Some(v)),
        }
    }
}

/// One grant, as `ListGrants` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub name: Option<String>,
    /// A principal ARN, an account root ARN, or an AWS service principal.
    pub grantee: String,
    pub retiring: Option<String>,
    pub operations: ActionSet,
    pub constraint: Option<GrantConstraint>,
}

impl Grant {
    pub fn new(id: &str, grantee: &str, operations: &[KmsAction]) -> Self {
        Self {
            id: id.to_owned(),
            name: None,
            grantee: grantee.to_owned(),
            retiring: None,
            operations: ActionSet::of(operations).intersect(ActionSet::grant_operations()),
            constraint: None,
        }
    }

    pub fn with_constraint(mut self, constraint: GrantConstraint) -> Self {
        self.constraint = Some(constraint);
        self
    }

    /// True when the grant allows `CreateGrant` without an encryption context constraint: its grantee can give the
    /// grant's operations to any principal.
    pub fn is_unconstrained_create_grant(&self) -> bool {
        self.operations.contains(KmsAction::CreateGrant) && self.constraint.is_none()
    }
}
