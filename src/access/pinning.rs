//! Whether a statement's conditions pin the principal (or the calling resource) to a concrete account or
//! organization. Only a positive, must-exist condition whose every value has a concrete account or org part pins:
//! `o-*`, `arn:aws:iam::*:role/X` and `arn:aws:rds:*:*:db:*` pin nothing under a pattern operator, and an
//! `...IfExists` or `ForAllValues:` condition passes when the key is absent, so it pins nothing either.

use super::condition::{BaseOperator, Condition, ConditionKey, SetOperator};
use super::document::Statement;
use super::matching::{arn_parts, has_wildcard};

/// What a statement is pinned to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pinning {
    /// Concrete accounts or org ids (or org paths) the principal must belong to.
    pub principal: Vec<String>,
    /// Concrete accounts, org ids or resource ARNs the calling resource must belong to.
    pub source: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Whole,
    ArnAccount,
    OrgOfPath,
}

fn concrete(c: &Condition, part: Part) -> Option<Vec<String>> {
    let op = c.operator;
    if op.if_exists || op.set == Some(SetOperator::ForAllValues) || op.base.negates().is_some() {
        return None;
    }
    let string_like = matches!(
        op.base,
        BaseOperator::StringEquals
            | BaseOperator::StringEqualsIgnoreCase
            | BaseOperator::StringLike
    );
    let arn_op = matches!(op.base, BaseOperator::ArnEquals | BaseOperator::ArnLike);
    if !(string_like || arn_op) || c.values.is_empty() {
        return None;
    }
    let pattern = op.base.is_pattern();
    let mut out = Vec::new();
    for v in &c.values {
        if v.contains("${") {
            return None;
        }
        let piece = match part {
            Part::Whole => v.as_str(),
            Part::ArnAccount => arn_parts(v)?[4],
            Part::OrgOfPath => v.split('/').next()?,
        };
        if piece.is_empty() || (pattern && has_wildcard(piece)) {
            return None;
        }
        out.push(piece.to_owned());
    }
    Some(out)
}

/// The accounts and organizations a statement's conditions pin the principal and source to.
pub fn pinning(s: &Statement) -> Pinning {
    let mut pin = Pinning::default();
    for c in &s.conditions {
        use ConditionKey as K;
        let (principal, part) = match &c.parsed_key {
            K::PrincipalAccount | K::CallerAccount | K::PrincipalOrgId => (true, Part::Whole),
            K::PrincipalArn => (true, Part::ArnAccount),
            K::PrincipalOrgPaths => (true, Part::OrgOfPath),
            K::SourceAccount | K::SourceOrgId => (false, Part::Whole),
            K::SourceArn => (false, Part::ArnAccount),
            K::SourceOrgPaths => (false, Part::OrgOfPath),
            K::Other(k) if k == "aws:sourceowner" => (false, Part::Whole),
            _ => continue,
        };
        if let Some(values) = concrete(c, part) {
            if principal {
                pin.principal.extend(values);
            } else {
                pin.source.extend(values);
            }
        }
    }
    pin
}

/// True when the statement pins the principal to a concrete account or organization.
pub fn pins_principal(s: &Statement) -> bool {
    !pinning(s).principal.is_empty()
}

/// True when the statement pins the calling resource to a concrete account, organization or ARN.
pub fn pins_source(s: &Statement) -> bool {
    !pinning(s).source.is_empty()
}
