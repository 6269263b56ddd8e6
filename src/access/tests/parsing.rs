//! Reading policy documents the way AWS accepts them [ELEM].

use super::*;
use crate::error::Help;

#[test]
fn statement_may_be_a_single_object() {
    // [ELEM: Statement] the Statement element may be a single object instead of an array.
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    assert_eq!(p.statements.len(), 1);
}

#[test]
fn statement_array_keeps_order_and_index() {
    // [ELEM: Statement] an array of statements; each keeps its position for reporting.
    let p = policy(CONSOLE_POLICY);
    assert_eq!(p.statements.len(), 4);
    assert_eq!(p.statements[2].index, 2);
    assert_eq!(p.statements[2].label(), "Allow use of the key");
}

#[test]
fn statement_without_sid_is_labelled_by_index() {
    // [ELEM: Sid] Sid is optional; a statement without one is reported by index.
    let p = policy(
        r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
    );
    assert_eq!(p.statements[0].label(), "#0");
}

#[test]
fn principal_star_is_any() {
    // [ELEM: Principal] `"Principal": "*"` is every principal.
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
    );
    assert_eq!(p.statements[0].principal, Some(Principals::Any));
}

#[test]
fn principal_aws_star_is_any() {
    // [ELEM: Principal] `{"AWS": "*"}` is equivalent to `"*"`.
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}}"#,
    );
    assert_eq!(p.statements[0].principal, Some(Principals::Any));
}

#[test]
fn principal_accepts_string_or_list_per_type() {
    // [ELEM: Principal] each principal type takes one value or a list.
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:role/R"],"Service":"rds.amazonaws.com"},"Action":"kms:*","Resource":"*"}}"#,
    );
    let Some(Principals::Listed(list)) = &p.statements[0].principal else {
        panic!()
    };
    assert_eq!(list.len(), 3);
    assert!(list.contains(&(PrincipalKind::Service, "rds.amazonaws.com".to_owned())));
}

#[test]
fn federated_and_canonical_user_principals_parse() {
    // [ELEM: Principal] Federated and CanonicalUser are principal types.
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df9"},"Action":"kms:*","Resource":"*"}}"#,
    );
    let Some(Principals::Listed(list)) = &p.statements[0].principal else {
        panic!()
    };
    assert_eq!(list.len(), 2);
}

#[test]
fn not_principal_is_read() {
    // [ELEM: NotPrincipal].
    let p = policy(
        r#"{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}}"#,
    );
    assert!(p.statements[0].not_principal);
}

#[test]
fn not_action_complements_the_action_set() {
    // [ELEM: NotAction] the statement covers every action except those listed.
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}}"#,
    );
    let s = &p.statements[0];
    assert!(!s.actions.contains(KmsAction::Decrypt));
    assert!(s.actions.contains(KmsAction::Encrypt));
}

#[test]
fn not_resource_is_read() {
    // [ELEM: NotResource].
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:*:key/other"}}"#,
    );
    assert!(p.statements[0].not_resource);
}

#[test]
fn condition_values_may_be_numbers_and_lists() {
    // [ELEM: Condition] values are strings, numbers, booleans or lists of them.
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":3600},"StringEquals":{"kms:ViaService":["a","b"]}}}}"#,
    );
    let c = &p.statements[0].conditions;
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].values, vec!["3600".to_owned()]);
    assert_eq!(c[1].values.len(), 2);
}

#[test]
fn not_json_is_a_structured_error() {
    // A malformed document gives an error that names the problem and a next step.
    let e = Policy::parse("{not json").unwrap_err();
    assert!(matches!(e, PolicyError::NotJson { .. }));
    assert!(e.is_usage());
    assert!(e.help().is_some());
}

#[test]
fn missing_statement_is_an_error() {
    // [ELEM: Statement] a policy must have a Statement.
    assert!(matches!(
        Policy::parse(r#"{"Version":"2012-10-17"}"#),
        Err(PolicyError::NoStatement)
    ));
}

#[test]
fn policy_that_is_an_array_is_an_error() {
    // [ELEM] a policy document is a JSON object.
    assert!(matches!(
        Policy::parse("[]"),
        Err(PolicyError::NotAnObject { found: "array" })
    ));
}

#[test]
fn bad_effect_is_an_error() {
    // [ELEM: Effect] Allow or Deny.
    let e = Policy::parse(r#"{"Statement":{"Effect":"Maybe","Action":"kms:*","Resource":"*"}}"#)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "statement 0: `Effect` `Maybe` is neither `Allow` nor `Deny`"
    );
}

#[test]
fn action_and_not_action_together_is_an_error() {
    // [ELEM: NotAction] a statement has Action or NotAction, not both.
    let e = Policy::parse(r#"{"Statement":{"Effect":"Allow","Action":"kms:*","NotAction":"kms:Decrypt","Resource":"*"}}"#).unwrap_err();
    assert!(matches!(
        e,
        PolicyError::BothForms {
            element: "Action",
            ..
        }
    ));
}

#[test]
fn statement_without_action_is_an_error() {
    // [ELEM: Action] a statement must have Action or NotAction.
    let e = Policy::parse(r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#).unwrap_err();
    assert!(matches!(
        e,
        PolicyError::Missing {
            element: "Action",
            ..
        }
    ));
}

#[test]
fn unknown_condition_operator_is_an_error() {
    // [COND] an undocumented operator is rejected, naming it.
    let e = Policy::parse(r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringContains":{"k":"v"}}}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "statement 0: unknown condition operator `StringContains`"
    );
}

#[test]
fn unknown_principal_type_is_an_error() {
    // [ELEM: Principal] the principal types are AWS, Service, Federated and CanonicalUser.
    let e = Policy::parse(r#"{"Statement":{"Effect":"Allow","Principal":{"Aws":"*"},"Action":"kms:*","Resource":"*"}}"#).unwrap_err();
    assert!(matches!(e, PolicyError::UnknownPrincipalType { .. }));
}

#[test]
fn unknown_element_is_an_error() {
    // [ELEM] a statement holds only the documented elements.
    let e = Policy::parse(
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*","Principals":"*"}}"#,
    )
    .unwrap_err();
    assert!(matches!(e, PolicyError::UnknownElement { .. }));
}

#[test]
fn error_messages_follow_house_style() {
    // Messages are lowercase, have no final period and no line break.
    for text in [
        "{",
        "[]",
        "{}",
        r#"{"Statement":{"Effect":"Allow"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":1}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Condition":{"StringEquals":{"k":null}}}}"#,
    ] {
        let msg = Policy::parse(text).unwrap_err().to_string();
        let first = msg.chars().next().unwrap();
        assert!(!first.is_uppercase(), "{msg}");
        assert!(!msg.ends_with('.'), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
