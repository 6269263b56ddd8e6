//! Grants [GR].

use std::collections::BTreeMap;

use super::*;
use KmsAction::*;

fn app() -> Principal {
    role(ACCT, "App")
}

fn ctx_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A key policy that allows nobody but the root user.
const ROOT_ONLY: &str = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}}"#;

#[test]
fn grant_allows_its_operations_to_the_grantee() {
    // [GR] a grant allows the grantee principal to use the key for the grant's operations.
    let w = World::new(ROOT_ONLY).grants(vec![Grant::new("g-1", &app().arn, &[Decrypt])]);
    let d = w.decide(&app(), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::Grant);
    assert_eq!(d.via.unwrap().grant, Some(Source::Grant { index: 0 }));
}

#[test]
fn grant_does_not_need_an_iam_policy() {
    // [GR] grantees do not need IAM permission to use a grant.
    let w = World::new(ROOT_ONLY).grants(vec![Grant::new("g-1", &app().arn, &[Decrypt])]);
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn grant_allows_only_its_operations() {
    // [GR] operations not in the grant are not allowed by it.
    let w = World::new(ROOT_ONLY).grants(vec![Grant::new("g-1", &app().arn, &[Decrypt])]);
    assert_eq!(w.verdict(&app(), Encrypt), Verdict::Denied);
}

#[test]
fn grant_allows_only_its_grantee() {
    // [GR] other principals get nothing from the grant.
    let w = World::new(ROOT_ONLY).grants(vec![Grant::new("g-1", &app().arn, &[Decrypt])]);
    assert_eq!(w.verdict(&role(ACCT, "Other"), Decrypt), Verdict::Denied);
}

#[test]
fn grant_never_denies() {
    // [GR] a grant only allows: it does not remove access the key policy gives.
    let w = World::new(CONSOLE_POLICY).grants(vec![Grant::new(
        "g-1",
        &role(ACCT, "KeyUser").arn,
        &[DescribeKey],
    )]);
    assert_eq!(w.verdict(&role(ACCT, "KeyUser"), Decrypt), Verdict::Allowed);
}

#[test]
fn explicit_deny_overrides_a_grant() {
    // [PEL] an explicit deny in the key policy overrides the grant's allow.
    let w = World::new(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#)
        .grants(vec![Grant::new("g-1", &app().arn, &[Decrypt])]);
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn grant_constraint_equals_remains_when_context_not_fixed() {
    // [GR] EncryptionContextEquals limits the operations that take a context.
    let w = World::new(ROOT_ONLY).grants(vec![
        Grant::new("g-1", &app().arn, &[Decrypt]).with_constraint(GrantConstraint::Equals(
            ctx_map(&[("atrest:table", "users")]),
        )),
    ]);
    let r = w.remaining(&app(), Decrypt);
    assert!(r.starts_with("encryption context equals"), "{r}");
}

#[test]
fn grant_constraint_equals_requires_exact_context() {
    // [GR] EncryptionContextEquals: the request context must be exactly the constraint.
    let g = Grant::new("g-1", &app().arn, &[Decrypt])
        .with_constraint(GrantConstraint::Equals(ctx_map(&[("t", "users")])));
    let exact = World::new(ROOT_ONLY)
        .grants(vec![g.clone()])
        .ctx(RequestContext::new().encryption_context(&[("t", "users")]));
    let more = World::new(ROOT_ONLY)
        .grants(vec![g])
        .ctx(RequestContext::new().encryption_context(&[("t", "users"), ("x", "y")]));
    assert_eq!(exact.verdict(&app(), Decrypt), Verdict::Allowed);
    assert_eq!(more.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn grant_constraint_subset_allows_a_larger_context() {
    // [GR] EncryptionContextSubset: the request context must include the constraint's pairs.
    let g = Grant::new("g-1", &app().arn, &[Decrypt])
        .with_constraint(GrantConstraint::Subset(ctx_map(&[("t", "users")])));
    let more = World::new(ROOT_ONLY)
        .grants(vec![g.clone()])
        .ctx(RequestContext::new().encryption_context(&[("t", "users"), ("x", "y")]));
    let other = World::new(ROOT_ONLY)
        .grants(vec![g])
        .ctx(RequestContext::new().encryption_context(&[("t", "orders")]));
    assert_eq!(more.verdict(&app(), Decrypt), Verdict::Allowed);
    assert_eq!(other.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn grant_constraint_does_not_limit_operations_without_context() {
    // [GR] constraints are not applied to operations that take no context, such as DescribeKey or RetireGrant.
    let g = Grant::new("g-1", &app().arn, &[Decrypt, DescribeKey, RetireGrant])
        .with_constraint(GrantConstraint::Equals(ctx_map(&[("t", "users")])));
    let w = World::new(ROOT_ONLY)
        .grants(vec![g])
        .ctx(RequestContext::new().encryption_context(&[("t", "orders")]));
    assert_eq!(w.verdict(&app(), DescribeKey), Verdict::Allowed);
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn grant_constraint_does_not_limit_signing() {
    // [GR] constraints do not apply to asymmetric operations such as Sign (no context).
    let mut w = World::new(ROOT_ONLY).grants(vec![
        Grant::new("g-1", &app().arn, &[Sign])
            .with_constraint(GrantConstraint::Equals(ctx_map(&[("t", "users")]))),
    ]);
    w.key = Key::new(KEY_ARN, KeyKind::AsymmetricSign);
    assert_eq!(w.verdict(&app(), Sign), Verdict::Allowed);
}

#[test]
fn grant_with_create_grant_is_an_escalation_to_its_operations() {
    // [GR] a grantee with CreateGrant can create grants for the grant's operations, to any principal.
    let w =
        World::new(ROOT_ONLY).grants(vec![Grant::new("g-1", &app().arn, &[Decrypt, CreateGrant])]);
    let d = w.decide(&app(), CreateGrant);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert!(d.escalates_to.contains(Decrypt));
    assert!(!d.escalates_to.contains(Encrypt));
}

#[test]
fn constrained_grant_create_grant_is_not_an_unconstrained_escalation() {
    // [GR] derived grants must keep the constraint: a constrained grant is not an unconstrained escalation.
    let g = Grant::new("g-1", &app().arn, &[Decrypt, CreateGrant])
        .with_constraint(GrantConstraint::Subset(ctx_map(&[("t", "u")])));
    assert!(!g.is_unconstrained_create_grant());
    let w = World::new(ROOT_ONLY).grants(vec![g]);
    assert!(w.decide(&app(), CreateGrant).escalates_to.is_empty());
}

#[test]
fn key_policy_create_grant_without_grant_operations_escalates_to_decrypt() {
    // [KCK: kms:GrantOperations] CreateGrant with no kms:GrantOperations condition can grant any operation.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:CreateGrant","Resource":"*"}}"#,
    );
    let d = w.decide(&app(), CreateGrant);
    assert!(d.escalates_to.contains(Decrypt));
}

#[test]
fn key_policy_create_grant_with_grant_operations_is_constrained() {
    // [KCK: kms:GrantOperations] a condition on the grant operations constrains the escalation.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:CreateGrant","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:GrantOperations":["Encrypt"]}}}}"#,
    );
    let d = w.decide(&app(), CreateGrant);
    assert!(d.escalates_to.is_empty());
}

#[test]
fn grant_operations_condition_remains_for_create_grant() {
    // [KCK: kms:GrantOperations] the requested grant operations are a request value of CreateGrant.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:CreateGrant","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:GrantOperations":["Encrypt"]}}}}"#,
    );
    assert!(is_allowed_if(&w.verdict(&app(), CreateGrant)));
}

#[test]
fn grants_not_collected_is_unknown_where_policy_does_not_allow() {
    // Requirement: grants that could not be read make a verdict unknown instead of denied.
    let mut w = World::new(ROOT_ONLY);
    w.grants = None;
    assert_eq!(
        w.verdict(&app(), Decrypt),
        Verdict::Unknown(vec![Missing::Grants])
    );
}

#[test]
fn grants_not_collected_does_not_change_an_allow() {
    // An allow from the key policy stands whatever the grants say (grants never deny).
    let mut w = World::new(CONSOLE_POLICY);
    w.grants = None;
    assert_eq!(w.verdict(&role(ACCT, "KeyUser"), Decrypt), Verdict::Allowed);
}

#[test]
fn cross_account_grant_is_reported_as_external() {
    // [GR] a grant may name a principal of another account.
    let w = World::new(ROOT_ONLY).grants(vec![Grant::new(
        "g-x",
        &role(OTHER, "Reader").arn,
        &[Decrypt],
    )]);
    let d = w.decide(&role(OTHER, "Reader"), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::ExternalAccount);
}

#[test]
fn grant_to_service_principal() {
    // [GR] a grantee may be an AWS service principal.
    let w = World::new(ROOT_ONLY).grants(vec![Grant::new(
        "g-s",
        "rds.us-east-1.amazonaws.com",
        &[Decrypt],
    )]);
    assert_eq!(
        w.verdict(&Principal::service("rds.us-east-1.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn grant_constraint_rendered_with_grant_id() {
    // Verdicts name the grant id.
    let kp = policy(ROOT_ONLY);
    let k = key();
    let none = Ceiling::None;
    let id = Identity::none();
    let p = app();
    let grants = vec![Grant::new("g-42", &p.arn, &[Decrypt])];
    let key_in = KeyInputs {
        key: &k,
        policy: Some(&kp),
        grants: Some(&grants),
        rcps: &none,
    };
    let who = PrincipalInputs {
        principal: &p,
        identity: &id,
        scps: &none,
    };
    let d = evaluate(&key_in, &who, Decrypt, &RequestContext::new());
    assert_eq!(
        describe_source(&key_in, &who, d.via.unwrap().grant.unwrap()),
        "grant `g-42`"
    );
}

#[test]
fn grant_operations_outside_the_grantable_set_are_dropped() {
    // [GR] CreateGrant accepts only the grant operations; PutKeyPolicy cannot be granted.
    let g = Grant::new("g-1", &app().arn, &[PutKeyPolicy, Decrypt]);
    assert!(!g.operations.contains(PutKeyPolicy));
}
