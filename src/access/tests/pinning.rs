//! Pinning: whether a condition ties the principal or source to a concrete account or organization
//! [GLOBAL: aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceArn, aws:SourceAccount].

use super::*;

fn stmt(condition: &str) -> Statement {
    policy(&format!(r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{condition}}}}}"#))
        .statements
        .remove(0)
}

#[test]
fn org_id_equals_pins_the_principal() {
    // [GLOBAL: aws:PrincipalOrgID] a concrete org id pins the principal to that org.
    assert_eq!(
        pinning(&stmt(
            r#"{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#
        ))
        .principal,
        vec!["o-abc123"]
    );
}

#[test]
fn org_id_like_star_pins_nothing() {
    // [COND] `o-*` under StringLike matches every org: no pin.
    assert!(!pins_principal(&stmt(
        r#"{"StringLike":{"aws:PrincipalOrgID":"o-*"}}"#
    )));
}

#[test]
fn principal_arn_with_wildcard_account_pins_nothing() {
    // [COND] `arn:aws:iam::*:role/X` has no concrete account.
    assert!(!pins_principal(&stmt(
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/X"}}"#
    )));
}

#[test]
fn principal_arn_with_concrete_account_pins() {
    // [GLOBAL: aws:PrincipalArn] the account part is concrete.
    assert_eq!(
        pinning(&stmt(
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}}"#
        ))
        .principal,
        vec![ACCT]
    );
}

#[test]
fn source_arn_with_wildcard_account_pins_nothing() {
    // [COND] `arn:aws:rds:*:*:db:*` pins no source account.
    assert!(!pins_source(&stmt(
        r#"{"ArnLike":{"aws:SourceArn":"arn:aws:rds:*:*:db:*"}}"#
    )));
}

#[test]
fn arn_equals_with_wildcard_account_pins_nothing() {
    // [COND] ArnEquals takes wildcards in each part like ArnLike, so `*` in the account part pins nothing.
    assert!(!pins_source(&stmt(
        r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:rds:*:*:db:*"}}"#
    )));
}

#[test]
fn source_account_equals_pins_the_source() {
    // [GLOBAL: aws:SourceAccount].
    assert_eq!(
        pinning(&stmt(
            r#"{"StringEquals":{"aws:SourceAccount":"111122223333"}}"#
        ))
        .source,
        vec![ACCT]
    );
}

#[test]
fn caller_account_pins_the_principal() {
    // [KCK: kms:CallerAccount].
    assert!(pins_principal(&stmt(
        r#"{"StringEquals":{"kms:CallerAccount":"111122223333"}}"#
    )));
}

#[test]
fn org_paths_with_concrete_org_pins() {
    // [GLOBAL: aws:PrincipalOrgPaths] the org part of the path is concrete.
    assert_eq!(
        pinning(&stmt(
            r#"{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-abc123/*"}}"#
        ))
        .principal,
        vec!["o-abc123"]
    );
}

#[test]
fn org_paths_with_wildcard_org_pins_nothing() {
    // [COND] `o-*/...` pins nothing.
    assert!(!pins_principal(&stmt(
        r#"{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-*/r-ab12/*"}}"#
    )));
}

#[test]
fn if_exists_pins_nothing() {
    // [COND] IfExists passes when the key is absent, so it binds nothing.
    assert!(!pins_source(&stmt(
        r#"{"StringEqualsIfExists":{"aws:SourceAccount":"111122223333"}}"#
    )));
}

#[test]
fn negated_operator_pins_nothing() {
    // [COND] a negated operator excludes, it does not bind.
    assert!(!pins_principal(&stmt(
        r#"{"StringNotEquals":{"aws:PrincipalAccount":"444455556666"}}"#
    )));
}

#[test]
fn for_all_values_pins_nothing() {
    // [MULTI] ForAllValues is true for an absent key.
    assert!(!pins_principal(&stmt(
        r#"{"ForAllValues:StringEquals":{"aws:PrincipalOrgPaths":"o-abc123/r-1/"}}"#
    )));
}

#[test]
fn one_wildcard_value_among_concrete_ones_pins_nothing() {
    // [COND] values are ORed: one pattern value lets every account through.
    assert!(!pins_principal(&stmt(
        r#"{"StringLike":{"aws:PrincipalAccount":["111122223333","*"]}}"#
    )));
}

#[test]
fn policy_variable_pins_nothing() {
    // [ELEM: policy variables] `${aws:PrincipalAccount}` compares the request with itself.
    assert!(!pins_principal(&stmt(
        r#"{"StringEquals":{"kms:CallerAccount":"${aws:PrincipalAccount}"}}"#
    )));
}

#[test]
fn unpinned_star_is_reported_public_and_pinned_is_not() {
    // A `*` statement pinned by an org condition is not public; without it, it is.
    let pinned = World::new(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringLike":{"aws:PrincipalOrgID":"o-*"}}}}"#)
        .identity(allow_all_kms());
    let p = role(OTHER, "R").in_org("o-zzz", &[]);
    assert_eq!(
        pinned.decide(&p, KmsAction::Decrypt).via.unwrap().path,
        Path::Public
    );
}
