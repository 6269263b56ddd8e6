//! Policy evaluation for KMS requests [PEL] [KP] [XA] [AMK] [SCP] [PB].

use super::*;
use KmsAction::*;

fn admin() -> Principal {
    role(ACCT, "KeyAdmin")
}
fn key_user() -> Principal {
    role(ACCT, "KeyUser")
}
fn app() -> Principal {
    role(ACCT, "App")
}

// --- The default key policy [KP: default key policy] ---

#[test]
fn default_policy_root_alone_does_not_allow_a_role_without_iam() {
    // [KP] the default policy delegates to IAM: a role without an IAM policy cannot use the key.
    let w = World::new(DEFAULT_POLICY);
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn default_policy_with_iam_allow_allows() {
    // [KP] with the account delegated, an IAM policy that allows kms:Decrypt is enough.
    let w = World::new(DEFAULT_POLICY).identity(allow_all_kms());
    let d = w.decide(&app(), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::AccountDelegation);
    assert_eq!(
        d.via.unwrap().identity,
        Some(Source::Identity {
            policy: 0,
            statement: 0
        })
    );
}

#[test]
fn default_policy_allows_the_account_root_user() {
    // [KP] the root user of the key's account is the principal the default policy names.
    let w = World::new(DEFAULT_POLICY);
    let d = w.decide(&Principal::root(ACCT), PutKeyPolicy);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::Direct);
}

#[test]
fn bare_account_id_principal_equals_root_arn() {
    // [ELEM: Principal] an account id in Principal is the same as `arn:aws:iam::ACCOUNT:root`.
    let w = World::new(r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}}"#)
        .identity(allow_all_kms());
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn default_policy_does_not_allow_another_account() {
    // [XA] a principal of another account is not covered by this account's root.
    let w = World::new(DEFAULT_POLICY).identity(allow_all_kms());
    assert_eq!(w.verdict(&role(OTHER, "App"), Decrypt), Verdict::Denied);
}

#[test]
fn identity_policy_alone_never_suffices() {
    // [KP] "no IAM policy alone gives access to a KMS key": the key policy must allow the principal or account.
    let w = World::new(r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyUser"},"Action":"kms:*","Resource":"*"}}"#)
        .identity(allow_all_kms());
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn identity_policy_resource_must_match_the_key() {
    // [ELEM: Resource] an IAM statement for another key does not allow this one.
    let w = World::new(DEFAULT_POLICY).identity(identity(
        r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/other"}"#,
    ));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn identity_policy_resource_wildcard_matches_key() {
    // [ELEM: Resource] wildcards in Resource.
    let w = World::new(DEFAULT_POLICY).identity(identity(
        r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:111122223333:key/*"}"#,
    ));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn identity_not_resource_excludes_the_key() {
    // [ELEM: NotResource] the statement covers every resource except those listed.
    let w = World::new(DEFAULT_POLICY).identity(identity(&format!(
        r#"{{"Effect":"Allow","Action":"kms:Decrypt","NotResource":"{KEY_ARN}"}}"#
    )));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn identity_policy_action_must_match() {
    // [ELEM: Action] an IAM allow for Encrypt does not allow Decrypt.
    let w = World::new(DEFAULT_POLICY).identity(identity(
        r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}"#,
    ));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
    assert_eq!(w.verdict(&app(), Encrypt), Verdict::Allowed);
}

#[test]
fn identity_not_action_allows_everything_else() {
    // [ELEM: NotAction] with Allow: every action except those listed.
    let w = World::new(DEFAULT_POLICY).identity(identity(
        r#"{"Effect":"Allow","NotAction":"kms:Decrypt","Resource":"*"}"#,
    ));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
    assert_eq!(w.verdict(&app(), Encrypt), Verdict::Allowed);
}

#[test]
fn identity_policies_not_collected_is_unknown() {
    // Requirement: what the audit could not read is unknown, never safe.
    let w = World::new(DEFAULT_POLICY).identity(Identity::NotCollected);
    assert_eq!(
        w.verdict(&app(), Decrypt),
        Verdict::Unknown(vec![Missing::IdentityPolicies])
    );
}

#[test]
fn key_policy_not_collected_is_unknown() {
    // Requirement: a key whose policy could not be read yields unknown.
    let mut w = World::new(DEFAULT_POLICY).identity(allow_all_kms());
    w.policy = None;
    assert_eq!(
        w.verdict(&app(), Decrypt),
        Verdict::Unknown(vec![Missing::KeyPolicy])
    );
}

// --- The console default policy [KP: key administrators, key users] ---

#[test]
fn console_policy_key_user_can_decrypt_without_iam() {
    // [KP] the key users statement names the role: it allows on its own within the account.
    let w = World::new(CONSOLE_POLICY);
    let d = w.decide(&key_user(), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::Direct);
    assert_eq!(
        d.via.unwrap().key_statement,
        Some(Source::KeyPolicy { statement: 2 })
    );
}

#[test]
fn console_policy_key_user_can_reencrypt_and_generate_data_keys() {
    // [KP] key users: kms:ReEncrypt* and kms:GenerateDataKey*.
    let w = World::new(CONSOLE_POLICY);
    for a in [
        ReEncryptFrom,
        ReEncryptTo,
        GenerateDataKey,
        GenerateDataKeyWithoutPlaintext,
        GenerateDataKeyPair,
    ] {
        assert_eq!(w.verdict(&key_user(), a), Verdict::Allowed, "{a}");
    }
}

#[test]
fn console_policy_key_user_cannot_change_the_policy() {
    // [KP] key users get no administrative actions.
    let w = World::new(CONSOLE_POLICY);
    assert_eq!(w.verdict(&key_user(), PutKeyPolicy), Verdict::Denied);
    assert_eq!(w.verdict(&key_user(), ScheduleKeyDeletion), Verdict::Denied);
}

#[test]
fn console_policy_key_admin_cannot_decrypt() {
    // [KP] key administrators get management actions, not cryptographic ones.
    let w = World::new(CONSOLE_POLICY);
    assert_eq!(w.verdict(&admin(), Decrypt), Verdict::Denied);
    assert_eq!(w.verdict(&admin(), Encrypt), Verdict::Denied);
}

#[test]
fn console_policy_key_admin_can_manage() {
    // [KP] key administrators: Create*, Put*, Disable*, ScheduleKeyDeletion...
    let w = World::new(CONSOLE_POLICY);
    for a in [
        PutKeyPolicy,
        DisableKey,
        ScheduleKeyDeletion,
        CancelKeyDeletion,
        CreateGrant,
        RevokeGrant,
        TagResource,
        RotateKeyOnDemand,
    ] {
        assert_eq!(w.verdict(&admin(), a), Verdict::Allowed, "{a}");
    }
}

#[test]
fn console_policy_key_admin_create_grant_is_an_escalation() {
    // [GR] an unconstrained kms:CreateGrant lets the administrator grant itself Decrypt.
    let w = World::new(CONSOLE_POLICY);
    let d = w.decide(&admin(), CreateGrant);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert!(d.escalates_to.contains(Decrypt));
}

#[test]
fn console_policy_key_user_create_grant_needs_aws_resource() {
    // [KP] key users may create grants only for AWS resources (kms:GrantIsForAWSResource).
    let w = World::new(CONSOLE_POLICY);
    assert_eq!(
        w.remaining(&key_user(), CreateGrant),
        "kms:GrantIsForAWSResource Bool `true`"
    );
}

#[test]
fn console_policy_key_user_grant_is_not_an_escalation() {
    // [KCK: kms:GrantIsForAWSResource] a grant constrained to AWS resources is not an unconstrained escalation.
    let w = World::new(CONSOLE_POLICY);
    assert!(w.decide(&key_user(), CreateGrant).escalates_to.is_empty());
}

#[test]
fn console_policy_grant_for_aws_resource_fixed_true_allows() {
    // [KCK] with kms:GrantIsForAWSResource true in the request, the statement applies.
    let w = World::new(CONSOLE_POLICY)
        .ctx(RequestContext::new().set("kms:GrantIsForAWSResource", &["true"]));
    assert_eq!(w.verdict(&key_user(), CreateGrant), Verdict::Allowed);
}

#[test]
fn console_policy_grant_is_for_aws_resource_absent_on_decrypt() {
    // [KCK] kms:GrantIsForAWSResource exists only for CreateGrant, ListGrants and RevokeGrant.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn console_policy_other_role_with_iam_allow_is_allowed_through_root() {
    // [KP] the console policy keeps the root statement, so IAM policies also grant access.
    let w = World::new(CONSOLE_POLICY).identity(allow_all_kms());
    let d = w.decide(&app(), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::AccountDelegation);
}

#[test]
fn console_policy_is_not_public() {
    // [KP] the console default policy lets no principal outside the account use the key.
    let w = World::new(CONSOLE_POLICY).identity(allow_all_kms());
    for p in [
        role(OTHER, "KeyUser"),
        Principal::root(OTHER),
        Principal::service("rds.amazonaws.com"),
    ] {
        assert_eq!(w.verdict(&p, Decrypt), Verdict::Denied);
    }
}

// --- The aws/rds AWS managed key [AMK] ---

#[test]
fn rds_managed_key_allows_account_principals_via_rds() {
    // [AMK] principals of the account may use the key through RDS: kms:CallerAccount + kms:ViaService.
    let w = World::new(RDS_MANAGED_POLICY);
    assert_eq!(
        w.remaining(&app(), Decrypt),
        "kms:ViaService StringEquals `rds.us-east-1.amazonaws.com`"
    );
    assert_eq!(
        w.decide(&app(), Decrypt).via.unwrap().path,
        Path::ViaService
    );
}

#[test]
fn rds_managed_key_allows_when_via_rds() {
    // [KCK: kms:ViaService] a request made through RDS in the region satisfies the condition.
    let w = World::new(RDS_MANAGED_POLICY)
        .ctx(RequestContext::new().set("kms:ViaService", &["rds.us-east-1.amazonaws.com"]));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn rds_managed_key_denies_direct_calls() {
    // [KCK: kms:ViaService] a direct call (no ViaService) does not match.
    let w = World::new(RDS_MANAGED_POLICY).ctx(RequestContext::new().absent("kms:ViaService"));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn rds_managed_key_denies_other_services() {
    // [KCK: kms:ViaService] another service does not match.
    let w = World::new(RDS_MANAGED_POLICY)
        .ctx(RequestContext::new().set("kms:ViaService", &["ec2.us-east-1.amazonaws.com"]));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn rds_managed_key_denies_other_accounts() {
    // [KCK: kms:CallerAccount] `Principal {"AWS":"*"}` is pinned by kms:CallerAccount to the account.
    let w = World::new(RDS_MANAGED_POLICY).identity(allow_all_kms());
    assert_eq!(w.verdict(&role(OTHER, "App"), Decrypt), Verdict::Denied);
}

#[test]
fn rds_managed_key_metadata_direct_for_account() {
    // [AMK] DescribeKey and Get* are allowed to the account (and its IAM principals with IAM permission).
    let w = World::new(RDS_MANAGED_POLICY).identity(allow_all_kms());
    assert_eq!(w.verdict(&app(), GetKeyPolicy), Verdict::Allowed);
    assert_eq!(w.verdict(&app(), PutKeyPolicy), Verdict::Denied);
}

#[test]
fn rds_managed_key_is_not_public() {
    // [AMK] the statement with `*` is pinned to the account.
    let w = World::new(RDS_MANAGED_POLICY);
    let d = w.decide(&app(), Decrypt);
    assert_ne!(d.via.unwrap().path, Path::Public);
}

// --- Public and service principals [ELEM: Principal "*"] ---

#[test]
fn principal_star_without_conditions_is_public() {
    // [ELEM: Principal] `*` with Allow grants access to everyone, in every account.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}"#,
    )
    .identity(allow_all_kms());
    let d = w.decide(&role(OTHER, "Anyone"), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::Public);
}

#[test]
fn principal_star_includes_service_principals() {
    // [ELEM: Principal] `*` includes AWS service principals.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    assert_eq!(
        w.verdict(&Principal::service("logs.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn principal_aws_star_includes_service_principals() {
    // [ELEM: Principal] `{"AWS":"*"}` is equivalent to `*`.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    assert_eq!(
        w.verdict(&Principal::service("logs.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn principal_star_in_same_account_allows_without_iam() {
    // [PEL] within an account, a resource-based policy allow is enough.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn principal_star_external_still_needs_iam() {
    // [XA] a principal in another account also needs its own IAM policy.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    assert_eq!(w.verdict(&role(OTHER, "Anyone"), Decrypt), Verdict::Denied);
}

#[test]
fn service_principal_named_in_key_policy_is_allowed() {
    // [ELEM: Principal] `{"Service": "..."}` names an AWS service principal.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"}}"#,
    );
    let d = w.decide(
        &Principal::service("logs.us-east-1.amazonaws.com"),
        GenerateDataKey,
    );
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::ViaService);
}

#[test]
fn service_principal_statement_does_not_allow_roles() {
    // [ELEM: Principal] a Service principal is not an IAM role of the account.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},"Action":"kms:*","Resource":"*"}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn service_principal_source_account_condition_remains() {
    // [GLOBAL: aws:SourceAccount] for a service principal the source account is a request value.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}}"#,
    );
    assert_eq!(
        w.remaining(&Principal::service("logs.us-east-1.amazonaws.com"), Decrypt),
        "aws:SourceAccount StringEquals `111122223333`"
    );
}

#[test]
fn source_account_is_absent_for_iam_principals() {
    // [GLOBAL: aws:SourceAccount] present only when a service calls on behalf of a resource.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn principal_is_aws_service_true_for_service() {
    // [GLOBAL: aws:PrincipalIsAWSService] true for service principals, false for IAM principals.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"aws:PrincipalIsAWSService":"true"}}}}"#,
    );
    assert_eq!(
        w.verdict(&Principal::service("s3.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

// --- Explicit Deny [PEL: an explicit deny overrides any allow] ---

#[test]
fn key_policy_deny_overrides_key_policy_allow() {
    // [PEL] an explicit deny in any policy overrides an allow.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*"},
        {"Sid":"NoDecrypt","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#,
    );
    let d = w.decide(&app(), Decrypt);
    assert_eq!(d.verdict, Verdict::Denied);
    assert_eq!(d.denied_by, Some(Source::KeyPolicy { statement: 1 }));
    assert_eq!(w.verdict(&app(), Encrypt), Verdict::Allowed);
}

#[test]
fn identity_deny_overrides_key_policy_allow() {
    // [PEL] a deny in an identity policy overrides the key policy's allow.
    let w = World::new(CONSOLE_POLICY).identity(identity(
        r#"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#,
    ));
    let d = w.decide(&key_user(), Decrypt);
    assert_eq!(d.verdict, Verdict::Denied);
    assert_eq!(
        d.denied_by,
        Some(Source::Identity {
            policy: 0,
            statement: 0
        })
    );
}

#[test]
fn key_policy_deny_overrides_identity_allow() {
    // [PEL] a deny in the key policy overrides IAM allows.
    let w = World::new(r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*"}]}"#)
    .identity(allow_all_kms());
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
    assert_eq!(w.verdict(&role(ACCT, "Other"), Decrypt), Verdict::Allowed);
}

#[test]
fn deny_applies_to_root_user() {
    // [PEL] explicit deny in a key policy applies to the root user too.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#,
    );
    assert_eq!(
        w.verdict(&Principal::root(ACCT), ScheduleKeyDeletion),
        Verdict::Denied
    );
}

#[test]
fn conditional_deny_leaves_negated_condition() {
    // [PEL] a deny whose condition depends on the request leaves "allowed unless the deny's condition holds".
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
    );
    assert_eq!(
        w.remaining(&app(), Decrypt),
        "not (aws:SecureTransport Bool `false`)"
    );
}

#[test]
fn implicit_deny_without_any_allow() {
    // [PEL] without an applicable allow, the request is implicitly denied.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Other"},"Action":"kms:*","Resource":"*"}}"#,
    );
    let d = w.decide(&app(), Decrypt);
    assert_eq!(d.verdict, Verdict::Denied);
    assert_eq!(d.denied_by, None);
}

#[test]
fn deny_with_unmatched_action_does_not_deny() {
    // [PEL] a deny applies only to the actions it names.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"kms:Put*","Resource":"*"}]}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
    assert_eq!(w.verdict(&app(), PutKeyPolicy), Verdict::Denied);
}

#[test]
fn deny_not_action_denies_all_others() {
    // [ELEM: NotAction] with Deny: denies every action not listed.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","NotAction":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
    assert_eq!(w.verdict(&app(), Encrypt), Verdict::Denied);
}

// --- Org guard with StringNotEqualsIfExists [PEL] [GLOBAL: aws:PrincipalOrgID] ---

const ORG_GUARD: &str = r#"{"Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"},
 {"Sid":"DenyOutsideOrg","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*",
  "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123"},"Bool":{"aws:PrincipalIsAWSService":"false"}}}]}"#;

#[test]
fn org_guard_denies_principals_of_other_orgs() {
    // [GLOBAL: aws:PrincipalOrgID] the deny applies when the principal's org differs.
    let w = World::new(ORG_GUARD).identity(allow_all_kms());
    let outsider = role(OTHER, "X").in_org("o-zzz999", &["o-zzz999/r-1/"]);
    let d = w.decide(&outsider, Decrypt);
    assert_eq!(d.verdict, Verdict::Denied);
    assert_eq!(d.denied_by, Some(Source::KeyPolicy { statement: 2 }));
}

#[test]
fn org_guard_allows_members_of_the_org() {
    // [GLOBAL: aws:PrincipalOrgID] members of the org are not denied.
    let w = World::new(ORG_GUARD).identity(allow_all_kms());
    let member = role(OTHER, "X").in_org("o-abc123", &["o-abc123/r-1/"]);
    assert_eq!(w.verdict(&member, Decrypt), Verdict::Allowed);
}

#[test]
fn org_guard_denies_principals_outside_any_org() {
    // [COND] IfExists with the key absent is true: a principal in no org is denied.
    let w = World::new(ORG_GUARD).identity(allow_all_kms());
    assert_eq!(
        w.verdict(&role(OTHER, "X").without_org(), Decrypt),
        Verdict::Denied
    );
}

#[test]
fn org_guard_exempts_service_principals() {
    // [GLOBAL: aws:PrincipalIsAWSService] the guard's Bool false excludes service principals.
    let w = World::new(ORG_GUARD);
    assert_eq!(
        w.verdict(&Principal::service("s3.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn org_guard_with_unknown_org_leaves_the_guard_as_condition() {
    // An unknown org id leaves "not denied by the guard" as the remaining condition.
    let w = World::new(ORG_GUARD).identity(allow_all_kms());
    assert_eq!(
        w.remaining(&role(OTHER, "X"), Decrypt),
        "not (aws:PrincipalOrgID StringNotEqualsIfExists `o-abc123`)"
    );
}

// --- NotPrincipal with Deny [ELEM: NotPrincipal] ---

const NOT_PRINCIPAL_DENY: &str = r#"{"Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:role/Admin","arn:aws:sts::111122223333:assumed-role/Admin/admin-session"]},"Action":"kms:*","Resource":"*"}]}"#;

#[test]
fn not_principal_deny_denies_everyone_not_listed() {
    // [ELEM: NotPrincipal] with Deny, every principal not listed is denied.
    let w = World::new(NOT_PRINCIPAL_DENY).identity(allow_all_kms());
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn not_principal_deny_spares_a_listed_role_with_its_session_and_account() {
    // [ELEM: NotPrincipal] a role is spared only with its assumed-role session ARN and the account listed.
    let w = World::new(NOT_PRINCIPAL_DENY).identity(allow_all_kms());
    assert_eq!(w.verdict(&role(ACCT, "Admin"), Decrypt), Verdict::Allowed);
}

#[test]
fn not_principal_deny_with_role_arn_only_still_denies_the_role() {
    // [ELEM: NotPrincipal] listing only the role ARN does not spare its sessions.
    let w = World::new(r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:role/Admin"]},"Action":"kms:*","Resource":"*"}]}"#)
    .identity(allow_all_kms());
    assert_eq!(w.verdict(&role(ACCT, "Admin"), Decrypt), Verdict::Denied);
}

#[test]
fn not_principal_deny_without_account_denies_the_listed_user() {
    // [ELEM: NotPrincipal] without the account ARN listed, the account (and so the user) is denied.
    let w = World::new(r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}]}"#)
    .identity(allow_all_kms());
    assert_eq!(w.verdict(&user(ACCT, "alice"), Decrypt), Verdict::Denied);
}

#[test]
fn not_principal_deny_spares_listed_user_with_account() {
    // [ELEM: NotPrincipal] user and account listed: the user is not denied.
    let w = World::new(r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/alice"]},"Action":"kms:*","Resource":"*"}]}"#)
    .identity(allow_all_kms());
    assert_eq!(w.verdict(&user(ACCT, "alice"), Decrypt), Verdict::Allowed);
    assert_eq!(w.verdict(&user(ACCT, "bob"), Decrypt), Verdict::Denied);
}

#[test]
fn not_principal_deny_denies_service_principals_not_listed() {
    // [ELEM: NotPrincipal] service principals not listed are denied too.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":{"Service":"rds.amazonaws.com"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    assert_eq!(
        w.verdict(&Principal::service("s3.amazonaws.com"), Decrypt),
        Verdict::Denied
    );
    assert_eq!(
        w.verdict(&Principal::service("rds.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
}

// --- Cross-account [XA] ---

const CROSS: &str = r#"{"Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"External","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}"#;

#[test]
fn cross_account_needs_both_key_policy_and_iam() {
    // [XA] the key policy must allow the external account and the external IAM policy the principal.
    let w = World::new(CROSS).identity(allow_all_kms());
    let d = w.decide(&role(OTHER, "Reader"), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::ExternalAccount);
    assert_eq!(
        d.via.unwrap().key_statement,
        Some(Source::KeyPolicy { statement: 1 })
    );
}

#[test]
fn cross_account_without_iam_is_denied() {
    // [XA] without an IAM allow in the external account, the request is denied.
    let w = World::new(CROSS);
    assert_eq!(w.verdict(&role(OTHER, "Reader"), Decrypt), Verdict::Denied);
}

#[test]
fn cross_account_limited_to_key_policy_actions() {
    // [XA] the external account gets at most the key policy's actions.
    let w = World::new(CROSS).identity(allow_all_kms());
    assert_eq!(w.verdict(&role(OTHER, "Reader"), Encrypt), Verdict::Denied);
}

#[test]
fn cross_account_named_role_still_needs_iam() {
    // [XA] even when the key policy names the external role, its account's IAM policy must allow.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/Reader"},"Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    assert_eq!(w.verdict(&role(OTHER, "Reader"), Decrypt), Verdict::Denied);
    let w = w.identity(allow_all_kms());
    assert_eq!(w.verdict(&role(OTHER, "Reader"), Decrypt), Verdict::Allowed);
}

#[test]
fn cross_account_root_user_does_not_need_iam() {
    // [XA] the external account's root user is not limited by IAM policies.
    let w = World::new(CROSS);
    assert_eq!(
        w.verdict(&Principal::root(OTHER), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn cross_account_iam_not_collected_is_unknown() {
    // Requirement: the external IAM side that could not be read is unknown.
    let w = World::new(CROSS).identity(Identity::NotCollected);
    assert_eq!(
        w.verdict(&role(OTHER, "Reader"), Decrypt),
        Verdict::Unknown(vec![Missing::IdentityPolicies])
    );
}

#[test]
fn cross_account_caller_account_condition() {
    // [KCK: kms:CallerAccount] the caller account is the principal's account.
    let w = World::new(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"444455556666"}}}}"#)
        .identity(allow_all_kms());
    assert_eq!(w.verdict(&role(OTHER, "Reader"), Decrypt), Verdict::Allowed);
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

// --- Conditions in key policies ---

#[test]
fn encryption_context_condition_remains_when_not_fixed() {
    // [KCK: kms:EncryptionContext:context-key] the context is a request value: it remains as a condition.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:atrest:table":"users"}}}}"#,
    );
    assert_eq!(
        w.remaining(&app(), Decrypt),
        "kms:EncryptionContext:atrest:table StringEquals `users`"
    );
}

#[test]
fn encryption_context_condition_decided_when_context_fixed() {
    // [KCK] with the request's context fixed, the condition is decided.
    let p = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:atrest:table":"users"}}}}"#;
    let yes =
        World::new(p).ctx(RequestContext::new().encryption_context(&[("atrest:table", "users")]));
    let no =
        World::new(p).ctx(RequestContext::new().encryption_context(&[("atrest:table", "orders")]));
    assert_eq!(yes.verdict(&app(), Decrypt), Verdict::Allowed);
    assert_eq!(no.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn encryption_context_key_absent_for_operations_without_context() {
    // [KCK] kms:EncryptionContext keys exist only for operations that take a context.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:atrest:table":"users"}}}}"#,
    );
    assert_eq!(w.verdict(&app(), DescribeKey), Verdict::Denied);
}

#[test]
fn encryption_context_keys_for_all_values_allows_operations_without_context() {
    // [MULTI] ForAllValues is true for an absent key: operations without context pass this condition.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["atrest:table"]}}}}"#,
    );
    assert_eq!(w.verdict(&app(), DescribeKey), Verdict::Allowed);
    assert!(is_allowed_if(&w.verdict(&app(), Decrypt)));
}

#[test]
fn null_encryption_context_keys_requires_a_context() {
    // [COND: Null] `"Null": {"kms:EncryptionContextKeys": "false"}` requires a context.
    let p = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*","Condition":{"Null":{"kms:EncryptionContextKeys":"false"}}}}"#;
    assert_eq!(
        World::new(p)
            .ctx(RequestContext::new().encryption_context(&[]))
            .verdict(&app(), Decrypt),
        Verdict::Denied
    );
    assert_eq!(
        World::new(p)
            .ctx(RequestContext::new().encryption_context(&[("a", "b")]))
            .verdict(&app(), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn principal_arn_condition_is_decided_from_the_principal() {
    // [GLOBAL: aws:PrincipalArn] the principal's ARN is known to the query.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/App*"}}}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
    assert_eq!(w.verdict(&role(ACCT, "Other"), Decrypt), Verdict::Denied);
}

#[test]
fn principal_org_paths_condition_is_decided_from_the_principal() {
    // [GLOBAL: aws:PrincipalOrgPaths] multivalued; ForAnyValue:StringLike over the principal's paths.
    let w = World::new(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-abc123/r-ab12/ou-ab12-11111111/*"}}}}"#)
        .identity(allow_all_kms());
    let inside = role(OTHER, "R").in_org(
        "o-abc123",
        &["o-abc123/r-ab12/ou-ab12-11111111/ou-ab12-22222222/"],
    );
    let outside = role(OTHER, "R").in_org("o-abc123", &["o-abc123/r-ab12/ou-ab12-33333333/"]);
    assert_eq!(w.verdict(&inside, Decrypt), Verdict::Allowed);
    assert_eq!(w.verdict(&outside, Decrypt), Verdict::Denied);
}

#[test]
fn two_conditions_in_one_statement_are_anded() {
    // [COND] several operators or keys in one Condition block must all hold (logical AND).
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"},"Bool":{"aws:SecureTransport":"true"}}}}"#,
    );
    assert_eq!(
        w.remaining(&app(), Decrypt),
        "kms:ViaService StringEquals `rds.us-east-1.amazonaws.com` and aws:SecureTransport Bool `true`"
    );
}

#[test]
fn two_allow_statements_are_ored() {
    // [PEL] any applicable allow suffices: the remaining conditions are a disjunction.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"}}},
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"ec2.us-east-1.amazonaws.com"}}}]}"#,
    );
    let r = w.remaining(&app(), Decrypt);
    assert!(r.contains(" or "), "{r}");
}

#[test]
fn allow_and_deny_on_same_condition_cancel() {
    // [PEL] allowed only via RDS, but denied via RDS: never allowed.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"}}},
        {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"}}}]}"#,
    );
    // Different statements hold textually equal conditions as separate atoms: the verdict keeps both.
    assert!(matches!(
        w.verdict(&app(), Decrypt),
        Verdict::AllowedIf(_) | Verdict::Denied
    ));
}

#[test]
fn key_policy_resource_must_be_this_key() {
    // [KP] in a key policy, `Resource` `*` means this key; another ARN does not match.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"arn:aws:kms:us-east-1:111122223333:key/other"}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

// --- Permissions boundaries [PB] ---

fn with_boundary(boundary: &str) -> Identity {
    let Identity::Known { policies, .. } = allow_all_kms() else {
        unreachable!()
    };
    Identity::Known {
        policies,
        boundary: Some(policy(boundary)),
    }
}

#[test]
fn boundary_limits_identity_allow() {
    // [PB] an identity-based allow must also be allowed by the boundary.
    let w = World::new(DEFAULT_POLICY).identity(with_boundary(
        r#"{"Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}}"#,
    ));
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
    assert_eq!(w.verdict(&app(), Encrypt), Verdict::Allowed);
}

#[test]
fn boundary_deny_denies() {
    // [PB] an explicit deny in the boundary denies.
    let w = World::new(CONSOLE_POLICY).identity(with_boundary(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#));
    assert_eq!(w.verdict(&key_user(), Decrypt), Verdict::Denied);
}

#[test]
fn boundary_limits_role_named_in_key_policy() {
    // [PB] a resource-based policy that names the role ARN is limited by the role's boundary.
    let w = World::new(CONSOLE_POLICY).identity(with_boundary(
        r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
    ));
    assert_eq!(w.verdict(&key_user(), Decrypt), Verdict::Denied);
}

#[test]
fn boundary_does_not_limit_user_named_in_key_policy() {
    // [PB] a resource-based policy that names the IAM user is not limited by an implicit deny in its boundary.
    let w = World::new(r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*"}}"#)
        .identity(with_boundary(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#));
    assert_eq!(w.verdict(&user(ACCT, "alice"), Decrypt), Verdict::Allowed);
}

// --- SCPs and RCPs [SCP] ---

fn scp(json: &str) -> Ceiling {
    Ceiling::Levels(vec![vec![policy(json)]])
}

#[test]
fn scp_must_allow() {
    // [SCP] an SCP that does not allow the action blocks it (a ceiling, not a grant).
    let mut w = World::new(DEFAULT_POLICY).identity(allow_all_kms());
    w.scps = scp(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#);
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

#[test]
fn scp_full_access_does_not_change_the_verdict() {
    // [SCP] FullAWSAccess allows everything the other policies allow.
    let mut w = World::new(DEFAULT_POLICY).identity(allow_all_kms());
    w.scps = scp(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#);
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn scp_deny_denies() {
    // [SCP] an explicit deny in an SCP denies.
    let mut w = World::new(CONSOLE_POLICY);
    w.scps = scp(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
    );
    assert_eq!(w.verdict(&key_user(), Decrypt), Verdict::Denied);
}

#[test]
fn scp_every_level_must_allow() {
    // [SCP] each level of the organization (root, OUs, account) must allow.
    let mut w = World::new(CONSOLE_POLICY);
    w.scps = Ceiling::Levels(vec![
        vec![policy(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        )],
        vec![policy(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        )],
    ]);
    assert_eq!(w.verdict(&key_user(), Decrypt), Verdict::Denied);
}

#[test]
fn scp_not_collected_is_unknown() {
    // Requirement: a missing ceiling input is unknown, not allowed.
    let mut w = World::new(CONSOLE_POLICY);
    w.scps = Ceiling::NotCollected;
    assert_eq!(
        w.verdict(&key_user(), Decrypt),
        Verdict::Unknown(vec![Missing::Scps])
    );
}

#[test]
fn scp_does_not_apply_to_service_principals() {
    // [SCP] SCPs do not restrict AWS service principals.
    let mut w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    w.scps = Ceiling::NotCollected;
    assert_eq!(
        w.verdict(&Principal::service("logs.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn rcp_deny_blocks_external_principals() {
    // [SCP: RCPs] an RCP deny on the key's account applies to principals of any account.
    let mut w = World::new(CROSS).identity(allow_all_kms());
    w.rcps = scp(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123"}}}]}"#,
    );
    let outsider = role(OTHER, "Reader").in_org("o-zzz999", &[]);
    assert_eq!(w.verdict(&outsider, Decrypt), Verdict::Denied);
    let member = role(OTHER, "Reader").in_org("o-abc123", &[]);
    assert_eq!(w.verdict(&member, Decrypt), Verdict::Allowed);
}

#[test]
fn rcp_not_collected_is_unknown() {
    // Requirement: RCPs that could not be read make the verdict unknown.
    let mut w = World::new(CONSOLE_POLICY);
    w.rcps = Ceiling::NotCollected;
    assert_eq!(
        w.verdict(&key_user(), Decrypt),
        Verdict::Unknown(vec![Missing::Rcps])
    );
}

#[test]
fn unknown_input_does_not_hide_an_explicit_deny() {
    // [PEL] an explicit deny decides even when other inputs are missing.
    let mut w = World::new(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#)
        .identity(Identity::NotCollected);
    w.scps = Ceiling::NotCollected;
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Denied);
}

// --- who_can ---

#[test]
fn who_can_enumerates_principal_by_action() {
    // The "who can" query returns one decision per principal and action, principal-major.
    let kp = policy(CONSOLE_POLICY);
    let k = key();
    let none = Ceiling::None;
    let ids = [Identity::none(), Identity::none(), Identity::none()];
    let ps = [admin(), key_user(), app()];
    let inputs: Vec<PrincipalInputs<'_>> = ps
        .iter()
        .zip(ids.iter())
        .map(|(p, i)| PrincipalInputs {
            principal: p,
            identity: i,
            scps: &none,
        })
        .collect();
    let key_in = KeyInputs {
        key: &k,
        policy: Some(&kp),
        grants: Some(&[]),
        rcps: &none,
    };
    let out = who_can(
        &key_in,
        &inputs,
        &[Decrypt, PutKeyPolicy],
        &RequestContext::new(),
    );
    let allowed: Vec<(usize, KmsAction)> = out
        .iter()
        .filter(|d| d.is_allowed())
        .map(|d| (d.principal, d.action))
        .collect();
    assert_eq!(allowed, vec![(0, PutKeyPolicy), (1, Decrypt)]);
}

#[test]
fn describe_source_names_the_sid() {
    // Verdicts name the allowing statement by Sid.
    let kp = policy(CONSOLE_POLICY);
    let k = key();
    let none = Ceiling::None;
    let id = Identity::none();
    let p = key_user();
    let key_in = KeyInputs {
        key: &k,
        policy: Some(&kp),
        grants: Some(&[]),
        rcps: &none,
    };
    let who = PrincipalInputs {
        principal: &p,
        identity: &id,
        scps: &none,
    };
    let d = evaluate(&key_in, &who, Decrypt, &RequestContext::new());
    let s = describe_source(&key_in, &who, d.via.unwrap().key_statement.unwrap());
    assert_eq!(s, "key policy statement `Allow use of the key`");
}

#[test]
fn who_can_each_leaves_out_implicit_denies_only() {
    // The sparse form keeps allowed, allowed-if, unknown and explicitly denied decisions.
    let kp = policy(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"}]}"#,
    );
    let k = key();
    let none = Ceiling::None;
    let ids = [Identity::none(), Identity::none()];
    let ps = [app(), role(ACCT, "Other")];
    let inputs: Vec<PrincipalInputs<'_>> = ps
        .iter()
        .zip(ids.iter())
        .map(|(p, i)| PrincipalInputs {
            principal: p,
            identity: i,
            scps: &none,
        })
        .collect();
    let key_in = KeyInputs {
        key: &k,
        policy: Some(&kp),
        grants: Some(&[]),
        rcps: &none,
    };
    let mut seen = Vec::new();
    who_can_each(
        &key_in,
        &inputs,
        &[Decrypt, PutKeyPolicy],
        &RequestContext::new(),
        |row| {
            seen.extend(
                row.iter()
                    .map(|d| (d.principal, d.action, d.verdict.clone())),
            );
        },
    );
    assert_eq!(
        seen,
        vec![
            (0, Decrypt, Verdict::Allowed),
            (0, PutKeyPolicy, Verdict::Denied),
            (1, PutKeyPolicy, Verdict::Denied)
        ]
    );
}

#[test]
fn policy_variable_in_key_policy_is_resolved_from_the_principal() {
    // [ELEM: policy variables] `kms:CallerAccount` equal to `${aws:PrincipalAccount}` holds for every IAM principal.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"${aws:PrincipalAccount}"}}}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn principal_type_is_derived() {
    // [GLOBAL: aws:PrincipalType] AssumedRole for role sessions, User for IAM users, Account for the root user.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
    assert_eq!(w.verdict(&user(ACCT, "alice"), Decrypt), Verdict::Denied);
}

#[test]
fn resource_account_is_the_key_account() {
    // [GLOBAL: aws:ResourceAccount] the key's account.
    let w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:ResourceAccount":"111122223333"}}}}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn unknown_verdict_names_every_missing_input() {
    // Requirement: an unknown verdict says which inputs were missing.
    let mut w = World::new(DEFAULT_POLICY).identity(Identity::NotCollected);
    w.grants = None;
    assert_eq!(
        w.verdict(&app(), Decrypt),
        Verdict::Unknown(vec![Missing::Grants, Missing::IdentityPolicies])
    );
}

#[test]
fn not_principal_with_allow_is_public() {
    // [ELEM: NotPrincipal] with Allow, every principal not listed is allowed: that is public access.
    let w = World::new(r#"{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/Blocked"},"Action":"kms:Decrypt","Resource":"*"}}"#)
        .identity(allow_all_kms());
    let d = w.decide(&role(OTHER, "Anyone"), Decrypt);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.via.unwrap().path, Path::Public);
}

#[test]
fn not_principal_star_matches_no_one() {
    // [ELEM: NotPrincipal] `NotPrincipal "*"` excludes every principal, so the statement applies to none.
    let w = World::new(
        r#"{"Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":"*","Action":"kms:*","Resource":"*"}]}"#,
    );
    assert_eq!(w.verdict(&app(), Decrypt), Verdict::Allowed);
}

#[test]
fn rcp_applies_to_service_principals() {
    // [SCP: RCPs] RCPs restrict service principals too; perimeter RCPs exempt them with aws:PrincipalIsAWSService.
    let mut w = World::new(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"}}"#,
    );
    w.rcps = scp(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123"}}}]}"#,
    );
    assert_eq!(
        w.verdict(&Principal::service("logs.amazonaws.com"), Decrypt),
        Verdict::Denied
    );
    w.rcps = scp(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123"},"BoolIfExists":{"aws:PrincipalIsAWSService":"false"}}}]}"#,
    );
    assert_eq!(
        w.verdict(&Principal::service("logs.amazonaws.com"), Decrypt),
        Verdict::Allowed
    );
}

#[test]
fn equal_conditions_of_different_statements_appear_once() {
    // [PEL] the key policy and the identity policy both require kms:ViaService: the condition is stated once.
    let w = World::new(r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"}}}}"#)
        .identity(identity(r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"}}}"#));
    assert_eq!(
        w.remaining(&app(), Decrypt),
        "kms:ViaService StringEquals `rds.us-east-1.amazonaws.com`"
    );
}
