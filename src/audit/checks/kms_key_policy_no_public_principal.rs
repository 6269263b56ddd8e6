//! No key policy lets any principal (`*`) use or manage the key without a condition that pins the caller to known
//! accounts or organisations (`aws:PrincipalAccount`, `aws:PrincipalOrgID`, `aws:SourceAccount`, `kms:CallerAccount`...),
//! unless a Deny invariant refuses every caller outside them (`Deny * kms:* when StringNotEquals aws:PrincipalOrgID`).

use super::{Verdict, policy_keys};
use crate::audit::inventory::{Inventory, KmsKey};
use crate::audit::policy::{self, ACCOUNT_GUARD, ACCOUNT_RESTRICTING_KEYS, Principal};

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
    let open: Vec<String> = statements
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.allow
                && (s.not_principal || s.principals.contains(&Principal::Anyone))
                && !s.restricted_by(ACCOUNT_RESTRICTING_KEYS)
        })
        .map(|(i, s)| s.sid.clone().unwrap_or_else(|| format!("#{}", i + 1)))
        .collect();
    let guard = statements
        .iter()
        .enumerate()
        .find(|(_, s)| s.is_deny_guard(ACCOUNT_RESTRICTING_KEYS, ACCOUNT_GUARD))
        .map(|(i, s)| s.sid.clone().unwrap_or_else(|| format!("#{}", i + 1)));
    if let (false, Some(sid)) = (open.is_empty(), guard) {
        return Verdict::pass(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` allows `*` in statement(s) {}, but Deny statement `{sid}` refuses every caller outside the named accounts or organisation",
                super::short_list(&open, 5)
            ),
        );
    }
    if open.is_empty() {
        Verdict::pass(
            &k.arn,
            &k.region,
            format!("the policy of key `{name}` trusts no `*` principal without an account or organisation condition"),
        )
    } else {
        Verdict::fail(
            &k.arn,
            &k.region,
            format!(
                "the policy of key `{name}` allows any principal (`*`) without an account or organisation condition in statement(s) {}",
                super::short_list(&open, 5)
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
    fn unread_or_invalid_policies_are_not_applicable() {
        let mut inv = with_policy("not json".into());
        assert_eq!(only(run(&inv)).status, Status::NotApplicable);
        inv.kms_keys[0].policy = None;
        assert_eq!(only(run(&inv)).status, Status::NotApplicable);
    }
}
