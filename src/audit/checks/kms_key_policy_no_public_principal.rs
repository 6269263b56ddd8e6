//! The key policy lets no principal outside the account and its organisation use or manage the key. Asked of the
//! evaluator for the root user of an unrelated account outside the organisation: a statement that allows `*` (or uses
//! `NotPrincipal`) without a condition pinning the caller to known accounts or organisations allows it, unless a
//! Deny (an organisation guard such as `StringNotEqualsIfExists aws:PrincipalOrgID`) refuses it.

use super::{Verdict, allowing_statements, parsed_key_policy, policy_alone, policy_keys};
use crate::access::{ActionSet, KmsAction, Org, Principal};
use crate::audit::inventory::{Inventory, KmsKey};

/// An account that is neither the audited one nor in its organisation.
const OUTSIDER: &str = "000000000000";
const OUTSIDER_ORG: &str = "o-0000000000";

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    policy_keys(inv).map(judge).collect()
}

fn judge(k: &KmsKey) -> Verdict {
    let name = k.display_name();
    let (key, policy) = match parsed_key_policy(k) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let actions: Vec<KmsAction> = key
        .kind
        .map_or(ActionSet::all(), ActionSet::for_key)
        .iter()
        .collect();
    // Outside any organisation, and in another one: `o-*` admits the second.
    let mut decisions = Vec::new();
    for org in [
        Org::None,
        Org::Member {
            id: OUTSIDER_ORG.to_string(),
            paths: vec![format!("{OUTSIDER_ORG}/r-0000/")],
        },
    ] {
        let mut outsider = Principal::root(OUTSIDER);
        outsider.org = org;
        decisions.extend(policy_alone(&key, &policy, &outsider, &actions));
    }
    let open: Vec<_> = decisions
        .iter()
        .filter(|d| d.is_allowed() || matches!(d.verdict, crate::access::Verdict::AllowedIf(_)))
        .cloned()
        .collect();
    if !open.is_empty() {
        return Verdict::fail(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` lets principals of any AWS account use or manage the key through statement(s) {}",
                super::short_list(&allowing_statements(&policy, &open), 5)
            ),
        );
    }
    let denied_by: Vec<String> = decisions
        .iter()
        .filter_map(|d| match d.denied_by {
            Some(crate::access::Source::KeyPolicy { statement }) => {
                policy.statements.get(statement as usize).map(|s| s.label())
            }
            _ => None,
        })
        .fold(Vec::new(), |mut acc, l| {
            if !acc.contains(&l) {
                acc.push(l);
            }
            acc
        });
    if denied_by.is_empty() {
        Verdict::pass(
            &k.arn,
            &k.region,
            format!("the policy of key `{name}` lets no principal outside the account and its organisation use the key"),
        )
    } else {
        Verdict::pass(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` lets no principal outside the account and its organisation use the key: Deny statement(s) {} refuse them",
                super::short_list(&denied_by, 5)
            ),
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
        let mut inv = inventory();
        let mut k = key("aws-rds");
        k.key_manager = Some("AWS".into());
        inv.kms_keys.push(k);
        assert!(run(&inv).is_empty(), "AWS managed key policies are out of scope");
    }

    #[test]
    fn fail() {
        let inv = with_policy(policy(&[
            r#"{"Sid":"Open","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}"#,
        ]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("`Open`"), "{}", r.message);
        let inv = with_policy(policy(&[r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"kms:*"}"#]));
        assert_eq!(only(run(&inv)).status, Status::Fail, "NotPrincipal in an Allow trusts everyone else");
    }

    #[test]
    fn pass() {
        let inv = with_policy(root_policy());
        assert_eq!(only(run(&inv)).status, Status::Pass);
        let inv = with_policy(policy(&[
            r#"{"Effect":"Allow","Principal":"*","Action":["kms:Decrypt","kms:CreateGrant"],"Resource":"*",
               "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"rds.eu-west-1.amazonaws.com"}}}"#,
            r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#,
        ]));
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn a_deny_invariant_on_the_organisation_restricts_a_star_allow() {
        let inv = with_policy(policy(&[
            r#"{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#,
            r#"{"Sid":"OrgOnly","Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*",
               "Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abcd12efg1"},"Bool":{"aws:PrincipalIsAWSService":"false"}}}"#,
        ]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("`OrgOnly`"), "{}", r.message);
    }

    #[test]
    fn a_pattern_that_pins_nothing_leaves_the_key_public() {
        let inv = with_policy(policy(&[
            r#"{"Sid":"AnyOrg","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*",
               "Condition":{"StringLike":{"aws:PrincipalOrgID":"o-*"}}}"#,
        ]));
        assert_eq!(only(run(&inv)).status, Status::Fail);
        let inv = with_policy(policy(&[
            r#"{"Sid":"ViaRdsOnly","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*",
               "Condition":{"StringEquals":{"kms:ViaService":"rds.eu-west-1.amazonaws.com"}}}"#,
        ]));
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail, "any account's principals can use it through RDS");
        assert!(r.message.contains("`ViaRdsOnly`"), "{}", r.message);
    }

    #[test]
    fn unread_or_invalid_policies_are_not_applicable() {
        let mut inv = with_policy("not json".into());
        assert_eq!(only(run(&inv)).status, Status::NotApplicable);
        inv.kms_keys[0].policy = None;
        assert_eq!(only(run(&inv)).status, Status::NotApplicable);
    }
}
