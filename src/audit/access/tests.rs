use super::*;
use crate::audit::inventory::{IamInlinePolicy, IamManagedPolicy, IamPrincipal, KmsGrant};
use crate::audit::testkit::*;

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn role(name: &str, statements: &str) -> IamPrincipal {
    IamPrincipal {
        arn: role_arn(name),
        name: name.into(),
        inline_policies: vec![IamInlinePolicy {
            name: "inline".into(),
            document: format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#),
        }],
        ..IamPrincipal::default()
    }
}

/// One database on key `k1` with the given key policy, and the given IAM roles.
fn account(policy_doc: String, roles: Vec<IamPrincipal>) -> Inventory {
    let mut inv = inventory();
    let mut k = key("k1");
    k.policy = Some(policy_doc);
    k.grants = Some(Vec::new());
    inv.kms_keys.push(k);
    inv.rds_instances
        .push(rds_instance("db1", Some(&key_arn("k1"))));
    inv.iam = Some(IamDetails {
        roles,
        ..IamDetails::default()
    });
    inv.organization = Some(OrgDetails::default());
    inv
}

fn entries<'a>(r: &'a AccessReport, principal: &str) -> Vec<&'a AccessEntry> {
    r.keys
        .iter()
        .flat_map(|k| &k.entries)
        .filter(|e| e.principal == principal)
        .collect()
}

fn actions(e: &AccessEntry) -> Vec<&str> {
    e.actions.iter().map(String::as_str).collect()
}

#[test]
fn the_default_key_policy_delegates_to_the_iam_policy_of_a_role() {
    let inv = account(
        root_policy(),
        vec![role(
            "app",
            r#"[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]"#,
        )],
    );
    let r = analyse(&inv, None);
    assert_eq!(r.databases.len(), 1);
    assert_eq!(r.databases[0].key.as_deref(), Some(key_arn("k1").as_str()));
    assert_eq!(r.inputs.iam, "collected");
    assert_eq!(r.inputs.scps, "not applicable");

    let app = entries(&r, &role_arn("app"));
    assert_eq!(app.len(), 1, "{app:?}");
    assert_eq!(actions(app[0]), ["kms:Decrypt"]);
    assert_eq!(app[0].verdict, "allowed");
    assert_eq!(app[0].path, Some("account-delegation"));
    assert_eq!(
        app[0].key_statement.as_deref(),
        Some("Enable IAM User Permissions")
    );
    let via = app[0].identity_policy.as_deref().unwrap();
    assert!(
        via.starts_with(&format!("{}#inline", role_arn("app"))),
        "{via}"
    );

    let root = entries(&r, &format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(
        root.iter().map(|e| e.actions.len()).sum::<usize>(),
        ACTIONS.len()
    );
    assert!(
        root.iter()
            .all(|e| e.path == Some("direct") && e.verdict == "allowed")
    );
    let create = root
        .iter()
        .find(|e| actions(e) == ["kms:CreateGrant"])
        .unwrap();
    assert!(
        create.escalates_to.contains(&"kms:Decrypt".to_string()),
        "{create:?}"
    );
    assert!(
        entries(&r, ANYONE).is_empty(),
        "the default policy is not public"
    );
}

#[test]
fn a_permissions_boundary_caps_what_the_role_policy_allows() {
    let mut bounded = role(
        "bounded",
        r#"[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]"#,
    );
    let boundary = format!("arn:aws:iam::{ACCOUNT}:policy/describe-only");
    bounded.permissions_boundary = Some(boundary.clone());
    let mut inv = account(root_policy(), vec![bounded]);
    if let Some(iam) = inv.iam.as_mut() {
        iam.policies.push(IamManagedPolicy {
            arn: boundary,
            name: "describe-only".into(),
            document: Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}"#
                    .into(),
            ),
        });
    }
    let r = analyse(&inv, None);
    let rows = entries(&r, &role_arn("bounded"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(actions(rows[0]), ["kms:Encrypt"]);
}

#[test]
fn a_missing_boundary_document_makes_the_role_unknown_not_safe() {
    let mut bounded = role(
        "bounded",
        r#"[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]"#,
    );
    bounded.permissions_boundary = Some(format!("arn:aws:iam::{ACCOUNT}:policy/gone"));
    let r = analyse(&account(root_policy(), vec![bounded]), None);
    let rows = entries(&r, &role_arn("bounded"));
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|e| e.verdict == "unknown"), "{rows:?}");
    assert_eq!(rows[0].missing, ["the principal's IAM policies"]);
}

#[test]
fn without_iam_a_role_named_by_the_key_policy_is_unknown() {
    let mut inv = account(
        policy(&[&format!(
            r#"{{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:Decrypt","Resource":"*"}}"#,
            role_arn("named")
        )]),
        Vec::new(),
    );
    inv.iam = None;
    let r = analyse(&inv, None);
    assert_eq!(r.inputs.iam, "not collected");
    let rows = entries(&r, &role_arn("named"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    // The statement names the role, but its permissions boundary (not read) could still cap it.
    assert_eq!(rows[0].verdict, "unknown");
    assert_eq!(rows[0].missing, ["the principal's IAM policies"]);
}

#[test]
fn an_unread_key_policy_is_unknown() {
    let mut inv = account(root_policy(), Vec::new());
    inv.kms_keys[0].policy = None;
    let r = analyse(&inv, None);
    assert!(!r.keys[0].policy_read);
    let root = entries(&r, &format!("arn:aws:iam::{ACCOUNT}:root"));
    assert!(!root.is_empty());
    assert!(root.iter().all(|e| e.verdict == "unknown"), "{root:?}");
    assert!(root[0].missing.contains(&"the key policy".to_string()));
}

#[test]
fn a_star_principal_without_a_pinning_condition_is_public() {
    let inv = account(
        policy(&[
            r#"{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#,
        ]),
        Vec::new(),
    );
    let r = analyse(&inv, None);
    let anyone = entries(&r, ANYONE);
    assert_eq!(anyone.len(), 1, "{anyone:?}");
    assert_eq!(anyone[0].verdict, "allowed");
    assert_eq!(anyone[0].principal_type, "anyone");
    assert_eq!(anyone[0].key_statement.as_deref(), Some("Open"));
}

#[test]
fn grants_and_external_accounts_appear_with_their_way_in() {
    let mut inv = account(
        policy(&[
            &root_policy_statement(),
            r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}"#,
        ]),
        Vec::new(),
    );
    inv.kms_keys[0].grants = Some(vec![KmsGrant {
        grant_id: "g-1".into(),
        grantee_principal: role_arn("worker"),
        operations: vec!["Decrypt".into(), "CreateGrant".into()],
        ..KmsGrant::default()
    }]);
    let r = analyse(&inv, None);
    let partner = entries(&r, "arn:aws:iam::444455556666:root");
    assert_eq!(partner.len(), 1, "{partner:?}");
    assert_eq!(partner[0].principal_type, "external");
    assert_eq!(partner[0].verdict, "allowed");
    assert_eq!(partner[0].path, Some("external-account"));

    let worker = entries(&r, &role_arn("worker"));
    let granted: Vec<_> = worker
        .iter()
        .filter(|e| e.grant.as_deref() == Some("g-1"))
        .collect();
    assert!(!granted.is_empty(), "{worker:?}");
    assert!(granted.iter().all(|e| e.path == Some("grant")));
    assert_eq!(r.keys[0].grants, Some(1));
}

fn root_policy_statement() -> String {
    format!(
        r#"{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
    )
}

#[test]
fn the_reverse_query_lists_one_principal_with_its_denies() {
    let inv = account(
        policy(&[
            &root_policy_statement(),
            &format!(
                r#"{{"Sid":"NoDecrypt","Effect":"Deny","Principal":{{"AWS":"{}"}},"Action":"kms:Decrypt","Resource":"*"}}"#,
                role_arn("app")
            ),
        ]),
        vec![role(
            "app",
            r#"[{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*"}]"#,
        )],
    );
    let r = analyse(&inv, Some(&role_arn("app")));
    assert_eq!(r.principal.as_deref(), Some(role_arn("app").as_str()));
    assert!(
        r.keys[0]
            .entries
            .iter()
            .all(|e| e.principal == role_arn("app"))
    );
    let denied: Vec<_> = r.keys[0]
        .entries
        .iter()
        .filter(|e| e.verdict == "denied" && e.denied_by.is_some())
        .collect();
    assert_eq!(denied.len(), 1, "{:?}", r.keys[0].entries);
    assert_eq!(actions(denied[0]), ["kms:Decrypt"]);
    assert!(
        r.keys[0]
            .entries
            .iter()
            .any(|e| e.verdict == "allowed" && actions(e) == ["kms:Encrypt"])
    );
    // An unknown principal is still asked about.
    let r = analyse(&inv, Some("arn:aws:iam::999999999999:role/x"));
    assert!(
        r.keys[0]
            .entries
            .iter()
            .all(|e| e.principal_type == "external")
    );
}

#[test]
fn ceilings_follow_what_the_organisation_collection_read() {
    let own = ACCOUNT;
    let scp = |doc: &str| OrgPolicy {
        id: "p-1".into(),
        name: "p".into(),
        document: doc.into(),
    };
    let member = OrgDetails {
        id: Some("o-abc".into()),
        management_account: Some("999999999999".into()),
        path: Some(vec!["r-1".into(), "ou-1".into(), own.into()]),
        scps: None,
        rcps: Some(vec![Vec::new(), Vec::new(), Vec::new()]),
    };
    assert_eq!(ceiling(None, own, Kind::Scp), Ceiling::NotCollected);
    assert_eq!(
        ceiling(Some(&OrgDetails::default()), own, Kind::Scp),
        Ceiling::None
    );
    assert_eq!(
        ceiling(Some(&member), own, Kind::Scp),
        Ceiling::NotCollected
    );
    assert_eq!(
        ceiling(Some(&member), own, Kind::Rcp),
        Ceiling::None,
        "not enabled"
    );
    let mut management = member.clone();
    management.management_account = Some(own.into());
    assert_eq!(ceiling(Some(&management), own, Kind::Scp), Ceiling::None);
    let mut read = member.clone();
    read.scps = Some(vec![vec![scp(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )]]);
    assert!(matches!(ceiling(Some(&read), own, Kind::Scp), Ceiling::Levels(l) if l.len() == 1));
    read.scps = Some(vec![vec![scp("not json")]]);
    assert_eq!(ceiling(Some(&read), own, Kind::Scp), Ceiling::NotCollected);
    assert_eq!(
        org_of(Some(&member)),
        Org::Member {
            id: "o-abc".into(),
            paths: vec!["o-abc/r-1/ou-1/".into()]
        }
    );
    assert_eq!(org_of(None), Org::Unknown);
}

#[test]
fn an_scp_deny_reaches_the_member_account_root() {
    let mut inv = account(root_policy(), Vec::new());
    inv.organization = Some(OrgDetails {
        id: Some("o-abc".into()),
        management_account: Some("999999999999".into()),
        path: Some(vec!["r-1".into(), ACCOUNT.into()]),
        scps: Some(vec![
            vec![OrgPolicy {
                id: "p-full".into(),
                name: "FullAWSAccess".into(),
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(),
            }],
            vec![OrgPolicy {
                id: "p-deny".into(),
                name: "NoDecrypt".into(),
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoDecrypt","Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#.into(),
            }],
        ]),
        rcps: Some(vec![Vec::new(), Vec::new()]),
    });
    let r = analyse(&inv, None);
    assert_eq!(r.inputs.scps, "collected");
    let root = entries(&r, &format!("arn:aws:iam::{ACCOUNT}:root"));
    assert!(
        root.iter()
            .all(|e| !e.actions.contains(&"kms:Decrypt".to_string())),
        "{root:?}"
    );
}

#[test]
fn unencrypted_databases_and_unknown_keys_have_no_key() {
    let mut inv = account(root_policy(), Vec::new());
    inv.rds_instances.push(rds_instance("plain", None));
    inv.rds_instances.push(rds_instance(
        "lost",
        Some("arn:aws:kms:eu-west-1:111122223333:key/gone"),
    ));
    let r = analyse(&inv, None);
    assert_eq!(r.databases.len(), 3);
    assert!(
        r.databases
            .iter()
            .filter(|d| d.id != "db1")
            .all(|d| d.key.is_none())
    );
    assert_eq!(r.keys.len(), 1);
}
