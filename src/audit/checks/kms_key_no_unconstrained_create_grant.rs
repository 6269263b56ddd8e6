//! No principal other than the account's root user and AWS services can create unconstrained grants on a key behind
//! a database. `kms:CreateGrant` without a constraint (`kms:GrantIsForAWSResource`, `kms:GrantOperations`,
//! `kms:GranteePrincipal`, an encryption context constraint...) lets its holder give itself or anyone the key's
//! operations: an escalation path past the key policy. Asked of the access analysis, through the key policy, grants,
//! IAM policies and ceilings; what the principal can do only through an AWS service does not count. A key whose
//! answer depends on inputs that were not collected is not applicable, never a pass.

use super::{Verdict, short_list};
use crate::audit::access::{AccessReport, KeyAccess, analyse};
use crate::audit::inventory::Inventory;

pub fn run(inv: &Inventory) -> Vec<Verdict> {
    let report = analyse(inv, None);
    report.keys.iter().map(|k| judge(inv, &report, k)).collect()
}

fn judge(inv: &Inventory, _report: &AccessReport, k: &KeyAccess) -> Verdict {
    let region = inv
        .kms_keys
        .iter()
        .find(|key| key.arn == k.arn)
        .map_or("", |key| key.region.as_str());
    let create = |e: &&crate::audit::access::AccessEntry| {
        e.actions.iter().any(|a| a == "kms:CreateGrant")
            && !matches!(e.principal_type, "root" | "service")
            && e.path != Some("via-service")
    };
    let escalating: Vec<String> = k
        .entries
        .iter()
        .filter(create)
        .filter(|e| e.may_allow() && !e.escalates_to.is_empty())
        .map(|e| e.principal.clone())
        .fold(Vec::new(), |mut acc, p| {
            if !acc.contains(&p) {
                acc.push(p);
            }
            acc
        });
    if !escalating.is_empty() {
        return Verdict::fail(
            &k.arn,
            region,
            format!(
                "{} can create unconstrained grants on key `{}`, and so give anyone its operations",
                short_list(&escalating, 5),
                k.name
            ),
        );
    }
    let unknown: Vec<&str> = k
        .entries
        .iter()
        .filter(create)
        .filter(|e| e.verdict == "unknown")
        .flat_map(|e| e.missing.iter().map(String::as_str))
        .fold(Vec::new(), |mut acc, m| {
            if !acc.contains(&m) {
                acc.push(m);
            }
            acc
        });
    if !unknown.is_empty() {
        return Verdict::not_applicable(
            &k.arn,
            region,
            format!(
                "who can create grants on key `{}` is unknown: {} not collected",
                k.name,
                unknown.join(", ")
            ),
        );
    }
    Verdict::pass(
        &k.arn,
        region,
        format!(
            "no principal but the account root and AWS services can create unconstrained grants on key `{}`",
            k.name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::inventory::{IamDetails, IamInlinePolicy, IamPrincipal, OrgDetails};
    use crate::audit::testkit::*;
    use crate::model::Status;

    fn account(policy_doc: String, role_policy: Option<&str>) -> Inventory {
        let mut inv = inventory();
        let mut k = key("k1");
        k.policy = Some(policy_doc);
        k.grants = Some(Vec::new());
        inv.kms_keys.push(k);
        inv.rds_instances.push(rds_instance("db1", Some(&key_arn("k1"))));
        inv.iam = Some(IamDetails {
            roles: role_policy
                .map(|doc| IamPrincipal {
                    arn: format!("arn:aws:iam::{ACCOUNT}:role/ops"),
                    name: "ops".into(),
                    inline_policies: vec![IamInlinePolicy {
                        name: "p".into(),
                        document: format!(r#"{{"Version":"2012-10-17","Statement":{doc}}}"#),
                    }],
                    ..IamPrincipal::default()
                })
                .into_iter()
                .collect(),
            ..IamDetails::default()
        });
        inv.organization = Some(OrgDetails::default());
        inv
    }

    #[test]
    fn no_resource() {
        assert!(run(&inventory()).is_empty());
        let mut inv = inventory();
        inv.kms_keys.push(key("unused"));
        assert!(run(&inv).is_empty(), "only keys behind databases");
    }

    #[test]
    fn fail() {
        let inv = account(
            root_policy(),
            Some(r#"[{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"*"}]"#),
        );
        let r = only(run(&inv));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("role/ops"), "{}", r.message);
    }

    #[test]
    fn pass() {
        let inv = account(
            root_policy(),
            Some(
                r#"[{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}]"#,
            ),
        );
        assert_eq!(only(run(&inv)).status, Status::Pass);
    }

    #[test]
    fn iam_not_collected_is_not_a_pass() {
        let mut inv = account(
            policy(&[
                &root_policy_statement(),
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/named"},"Action":"kms:CreateGrant","Resource":"*"}"#,
            ]),
            None,
        );
        inv.iam = None;
        let r = only(run(&inv));
        assert_eq!(r.status, Status::NotApplicable, "{}", r.message);
        assert!(r.message.contains("IAM policies"), "{}", r.message);
    }

    fn root_policy_statement() -> String {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
        )
    }
}
