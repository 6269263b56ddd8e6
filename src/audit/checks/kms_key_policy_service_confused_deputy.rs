//! No AWS service principal the key policy trusts, nor `*`, can use the key without a concrete binding to this
//! account or its resources, so that the service cannot be made to use the key on behalf of another account (the
//! cross-service confused deputy). Asked of the evaluator for each service the policy names (and for a service
//! standing for `*` when an Allow names everyone): every way it is allowed must carry a condition that pins the source
//! (`aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOrgID`, `aws:SourceOrgPaths` with a concrete account or org),
//! pins the caller's account, or names the source in the encryption context (`kms:EncryptionContext:*` with a
//! concrete value). A Deny on those keys for every principal binds too: its negation remains as a condition.

use super::{Verdict, parsed_key_policy, policy_alone, policy_keys, use_actions};
use crate::access::{
    Atom, ConditionKey, Dnf, Policy, Principal, PrincipalKind, Principals, Source, Statement,
    Verdict as V, pinning,
};
use crate::audit::inventory::{Inventory, KmsKey};

/// The service that stands for `*`.
const ANY_SERVICE: &str = "any-service.amazonaws.com";

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    policy_keys(inv).map(judge).collect()
}

fn judge(k: &KmsKey) -> Verdict {
    let name = k.display_name();
    let (key, policy) = match parsed_key_policy(k) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let mut services: Vec<String> = Vec::new();
    let mut anyone = false;
    for s in policy.statements.iter().filter(|s| s.effect == crate::access::Effect::Allow) {
        match (&s.principal, s.not_principal) {
            (Some(Principals::Any), _) | (Some(_), true) => anyone = true,
            (Some(Principals::Listed(items)), false) => {
                for (kind, value) in items {
                    if *kind == PrincipalKind::Service && !services.contains(value) {
                        services.push(value.clone());
                    }
                }
            }
            (None, _) => {}
        }
    }
    let trusted = services.len();
    if anyone {
        services.push(ANY_SERVICE.to_string());
    }
    let actions = use_actions(&key);
    let mut unbound: Vec<String> = Vec::new();
    let mut bound_by_deny = false;
    for service in &services {
        let decisions = policy_alone(&key, &policy, &Principal::service(service), &actions);
        let free = decisions.iter().any(|d| match &d.verdict {
            V::Allowed => true,
            V::AllowedIf(dnf) => {
                let (ok, by_deny) = bound(&policy, dnf);
                bound_by_deny |= by_deny;
                !ok
            }
            _ => false,
        });
        if free {
            unbound.push(if service == ANY_SERVICE {
                "*".to_string()
            } else {
                service.clone()
            });
        }
    }
    if !unbound.is_empty() {
        return Verdict::fail(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` lets service(s) {} use the key without `aws:SourceAccount` or `aws:SourceArn`",
                super::short_list(&unbound, 5)
            ),
        );
    }
    if trusted == 0 && !anyone {
        return Verdict::pass(
            &k.arn,
            &k.region,
            format!("the policy of key `{name}` trusts no service principal"),
        );
    }
    if bound_by_deny {
        return Verdict::pass(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` trusts service(s) and denies every request from another source account or ARN"
            ),
        );
    }
    Verdict::pass(
        &k.arn,
        &k.region,
        format!("every service principal in the policy of key `{name}` is bound to a source account or ARN"),
    )
}

/// Whether every term of the remaining conditions carries a binding, and whether a Deny's negation provided one.
fn bound(policy: &Policy, dnf: &Dnf) -> (bool, bool) {
    let mut by_deny = false;
    let all = dnf.0.iter().all(|term| {
        term.iter().any(|a| match *a {
            Atom::Condition {
                source: Source::KeyPolicy { statement },
                condition,
                negated,
            } => {
                let Some(s) = policy.statements.get(statement as usize) else {
                    return false;
                };
                let binds = binds(s, condition as usize, negated);
                by_deny |= binds && negated;
                binds
            }
            _ => false,
        })
    });
    (all, by_deny)
}

fn binds(s: &Statement, condition: usize, negated: bool) -> bool {
    let Some(c) = s.conditions.get(condition) else {
        return false;
    };
    use ConditionKey as K;
    let key_binds = matches!(
        c.parsed_key,
        K::SourceAccount
            | K::SourceArn
            | K::SourceOrgId
            | K::SourceOrgPaths
            | K::PrincipalAccount
            | K::CallerAccount
            | K::PrincipalOrgId
            | K::PrincipalOrgPaths
            | K::PrincipalArn
            | K::EncryptionContext(_)
    );
    if !key_binds || c.values.is_empty() {
        return false;
    }
    if negated {
        // A Deny that refuses every other source: `StringNotEquals[IfExists] aws:SourceAccount X` and the like.
        return c.operator.base.negates().is_some()
            && c.values.iter().all(|v| !v.contains('*') && !v.contains("${"));
    }
    if let K::EncryptionContext(_) = c.parsed_key {
        return c.operator.base.negates().is_none()
            && c.values.iter().all(|v| v != "*" && !v.contains("${"));
    }
    let one = Statement {
        conditions: vec![c.clone()],
        ..s.clone()
    };
    let pin = pinning(&one);
    !pin.source.is_empty() || !pin.principal.is_empty()
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testkit::*;
    use crate::model::Status;

    fn with_policy(doc: String) -> Inventory {
        let mut inv = inventory();
        let mut k = key("k1");
        k.policy = Some(doc);
        inv.kms_keys.push(k);
        inv
    }

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
    }

    #[test]
    fn fail() {
        let inv = with_policy(policy(&[
            r#"{"Effect":"Allow","Principal":{"Service":["logs.eu-west-1.amazonaws.com","delivery.logs.amazonaws.com"]},
               "Action":["kms:Encrypt","kms:GenerateDataKey*"],"Resource":"*",
               "Condition":{"StringNotEquals":{"aws:SourceAccount":"111122223333"}}}"#,
        ]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("`logs.eu-west-1.amazonaws.com`, `delivery.logs.amazonaws.com`"), "{}", r.message);
    }

    #[test]
    fn a_deny_on_the_source_account_binds_the_services() {
        let inv = with_policy(policy(&[
            r#"{"Effect":"Allow","Principal":{"Service":"logs.eu-west-1.amazonaws.com"},"Action":"kms:Encrypt*","Resource":"*"}"#,
            r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*",
               "Condition":{"StringNotEqualsIfExists":{"aws:SourceAccount":"111122223333"},"Bool":{"aws:PrincipalIsAWSService":"true"}}}"#,
        ]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        assert!(r.message.contains("denies every request"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let inv = with_policy(root_policy());
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("no service principal"));
        let inv = with_policy(policy(&[
            r#"{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*",
               "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:backup:eu-west-1:111122223333:backup-vault:*"}}}"#,
        ]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("bound"));
    }

    #[test]
    fn an_encryption_context_naming_the_source_binds() {
        let inv = with_policy(policy(&[
            r#"{"Sid":"Logs","Effect":"Allow","Principal":{"Service":"logs.eu-west-1.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*",
               "Condition":{"ArnEquals":{"kms:EncryptionContext:aws:logs:arn":"arn:aws:logs:eu-west-1:111122223333:log-group:app"}}}"#,
        ]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn a_star_principal_is_a_service_too() {
        let inv = with_policy(policy(&[
            r#"{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#,
        ]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("`*`"), "{}", r.message);
        // The aws/rds policy pins the caller's account.
        let inv = with_policy(policy(&[
            r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Decrypt","kms:CreateGrant"],"Resource":"*",
               "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"rds.eu-west-1.amazonaws.com"}}}"#,
        ]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }
}
