//! Every AWS service principal a key policy trusts is bound to this account or its resources with
//! `aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOrgID` or `aws:SourceOrgPaths`, so that the service cannot be
//! made to use the key on behalf of another account (the cross-service confused deputy). A Deny invariant on those
//! keys for every principal counts as binding.

use super::{Verdict, policy_keys};
use crate::audit::inventory::{Inventory, KmsKey};
use crate::audit::policy::{self, Principal, SOURCE_GUARD, SOURCE_RESTRICTING_KEYS};

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    policy_keys(inv).map(judge).collect()
}

fn judge(k: &KmsKey) -> Verdict {
    let name = k.display_name();
    let Some(document) = k.policy.as_deref() else {
        return Verdict::not_applicable(&k.arn, &k.region, format!("the policy of key `{name}` was not read"));
    };
    let statements = match policy::parse(document) {
        Ok(s) => s,
        Err(e) => return Verdict::not_applicable(&k.arn, &k.region, format!("key `{name}`: {e}")),
    };
    let mut trusted = 0;
    let mut unbound: Vec<String> = Vec::new();
    for s in statements.iter().filter(|s| s.allow && !s.not_principal) {
        for p in &s.principals {
            if let Principal::Service(service) = p {
                trusted += 1;
                if !s.restricted_by(SOURCE_RESTRICTING_KEYS) && !unbound.contains(service) {
                    unbound.push(service.clone());
                }
            }
        }
    }
    let guarded = statements.iter().any(|s| s.is_deny_guard(SOURCE_RESTRICTING_KEYS, SOURCE_GUARD));
    if !unbound.is_empty() && guarded {
        return Verdict::pass(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` trusts service(s) {} and denies every request from another source account or ARN",
                super::short_list(&unbound, 5)
            ),
        );
    }
    if !unbound.is_empty() {
        Verdict::fail(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` trusts service(s) {} without `aws:SourceAccount` or `aws:SourceArn`",
                super::short_list(&unbound, 5)
            ),
        )
    } else if trusted == 0 {
        Verdict::pass(&k.arn, &k.region, format!("the policy of key `{name}` trusts no service principal"))
    } else {
        Verdict::pass(
            &k.arn,
            &k.region,
            format!("every service principal in the policy of key `{name}` is bound to a source account or ARN"),
        )
    }
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
}
