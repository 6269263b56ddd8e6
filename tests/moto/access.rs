//! Who can use the keys behind the databases, end to end against the local AWS endpoint: IAM roles with inline
//! and managed policies and a permissions boundary, keys with policies and grants, collected by `atrest audit` and
//! evaluated by `atrest access`. IAM is global on the endpoint, so role and policy names carry this file's prefix.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

use crate::support::seed::Seed;
use crate::support::{atrest, block_on, moto_endpoint, run, stderr};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "me-south-1";

struct Seeded {
    key: String,
    reader: String,
    bounded: String,
    grant_id: String,
}

/// Seeds once for every test of this file (role names are global on the endpoint).
fn seed() -> &'static Seeded {
    static SEEDED: std::sync::OnceLock<Seeded> = std::sync::OnceLock::new();
    SEEDED.get_or_init(seed_now)
}

fn seed_now() -> Seeded {
    block_on(async {
        let s = Seed::new(REGION).await;
        let reader = s
            .role(
                "access-reader",
                r#"[{"Effect":"Allow","Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]"#,
                None,
            )
            .await;
        let boundary = s
            .managed_policy(
                "access-boundary",
                r#"[{"Effect":"Allow","Action":"kms:Describe*","Resource":"*"}]"#,
            )
            .await;
        let bounded = s
            .role(
                "access-bounded",
                r#"[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]"#,
                Some(&boundary),
            )
            .await;
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[
  {{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
  {{"Sid":"External","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::444455556666:root"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
        );
        let key = s.key(Some(policy), false).await;
        let grant = s
            .kms
            .create_grant()
            .key_id(&key)
            .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:role/access-granted"))
            .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
            .send()
            .await
            .unwrap();
        s.db("access-pg", "postgres", "16.3", Some(&key)).await;
        Seeded {
            key,
            reader,
            bounded,
            grant_id: grant.grant_id().unwrap().to_string(),
        }
    })
}

fn collect(dir: &std::path::Path) -> (std::path::PathBuf, Value) {
    let saved = dir.join("inventory.json");
    let mut cmd = atrest();
    cmd.args(["audit", "--endpoint-url"])
        .arg(moto_endpoint())
        .args(["--regions", REGION, "--format", "json", "--inventory-out"])
        .arg(&saved);
    let out = run(&mut cmd);
    assert!(
        matches!(out.status.code(), Some(0 | 3 | 4)),
        "{}",
        stderr(&out)
    );
    let inventory = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    (saved, inventory)
}

fn role<'a>(inventory: &'a Value, arn: &str) -> &'a Value {
    inventory["iam"]["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("no IAM roles: {}", inventory["iam"]))
        .iter()
        .find(|r| r["arn"] == arn)
        .unwrap_or_else(|| panic!("role {arn} not collected: {}", inventory["iam"]))
}

/// GetAccountAuthorizationDetails is read into the inventory: inline policies decoded to JSON, the boundary's ARN
/// and the managed policy's default document; "no organisation" is recorded as known, not as missing.
#[test]
fn iam_and_organisation_are_collected() {
    let seeded = seed();
    let dir = tempfile::tempdir().unwrap();
    let (_, inventory) = collect(dir.path());

    let reader = role(&inventory, &seeded.reader);
    let document = reader["inline_policies"][0]["document"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(document)
        .unwrap_or_else(|e| panic!("inline policy not decoded ({e}): {document}"));
    assert_eq!(parsed["Statement"][0]["Action"][0], "kms:Decrypt");
    assert!(reader.get("permissions_boundary").is_none(), "{reader}");

    let bounded = role(&inventory, &seeded.bounded);
    let boundary = bounded["permissions_boundary"].as_str().unwrap();
    assert_eq!(
        boundary,
        format!("arn:aws:iam::{ACCOUNT}:policy/access-boundary")
    );
    let managed = inventory["iam"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["arn"] == boundary)
        .unwrap_or_else(|| panic!("boundary policy not collected: {}", inventory["iam"]));
    assert_eq!(managed["name"], "access-boundary");
    assert!(
        managed["document"]
            .as_str()
            .unwrap()
            .contains("kms:Describe*")
    );

    // The endpoint's account is in no organisation: known, with no policies to apply.
    assert_eq!(inventory["organization"]["id"], Value::Null);
    let key = inventory["kms_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["arn"] == seeded.key.as_str())
        .unwrap();
    assert_eq!(key["grants"][0]["grant_id"], seeded.grant_id.as_str());
}

fn rows<'a>(report: &'a Value, key: &str, principal: &str) -> Vec<&'a Value> {
    report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["arn"] == key)
        .flat_map(|k| k["entries"].as_array().unwrap())
        .filter(|e| e["principal"] == principal)
        .collect()
}

fn has(rows: &[&Value], action: &str) -> bool {
    rows.iter().any(|e| {
        e["verdict"] == "allowed" && e["actions"].as_array().unwrap().iter().any(|a| a == action)
    })
}

/// What was collected is evaluated: the key policy delegates to IAM, so the reader role's inline policy allows
/// Decrypt; the bounded role's boundary (Describe only) takes it away; the grant reaches its grantee; the other
/// account named by the key policy can decrypt.
#[test]
fn collected_keys_and_roles_are_evaluated_end_to_end() {
    let seeded = seed();
    let dir = tempfile::tempdir().unwrap();
    let (saved, _) = collect(dir.path());
    let mut cmd = atrest();
    cmd.args(["access", "--format", "json", "--inventory-in"])
        .arg(&saved);
    let out = run(&mut cmd);
    // Exit 4: the endpoint lacks GetEbsDefaultKmsKeyId, so the inventory records one failed call.
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["inputs"]["iam"], "collected");
    assert_eq!(report["inputs"]["scps"], "not applicable");
    let db = report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "access-pg")
        .unwrap();
    assert_eq!(db["key"], seeded.key.as_str());

    let reader = rows(&report, &seeded.key, &seeded.reader);
    assert!(has(&reader, "kms:Decrypt"), "{reader:?}");
    assert_eq!(reader[0]["path"], "account-delegation");
    assert!(!has(&reader, "kms:Encrypt"), "{reader:?}");

    let bounded = rows(&report, &seeded.key, &seeded.bounded);
    assert!(!has(&bounded, "kms:Decrypt"), "{bounded:?}");

    let granted = rows(
        &report,
        &seeded.key,
        &format!("arn:aws:iam::{ACCOUNT}:role/access-granted"),
    );
    assert!(
        granted
            .iter()
            .any(|e| e["grant"] == seeded.grant_id.as_str() && e["path"] == "grant"),
        "{granted:?}"
    );

    let partner = rows(&report, &seeded.key, "arn:aws:iam::444455556666:root");
    assert!(has(&partner, "kms:Decrypt"), "{partner:?}");
    assert_eq!(partner[0]["path"], "external-account");
}
