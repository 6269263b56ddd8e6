//! `atrest access` from saved inventories: the exact table, JSON and Markdown for an account with IAM, grants and
//! SCPs collected (`tests/fixtures/audit/access.json`), the reverse query by principal, and an inventory saved
//! before IAM and grants were read, whose verdicts are unknown and whose exit status says the result is partial.

use insta::assert_snapshot;
use serde_json::Value;

use crate::snapshots::settings;
use crate::support::{atrest, repo_path, run, stderr, stdout};

const FIXTURE: &str = "tests/fixtures/audit/access.json";

fn access(args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(atrest().current_dir(repo_path("")).arg("access").args(args));
    (out.status.code(), stdout(&out), stderr(&out))
}

#[test]
fn every_format_of_the_fixture() {
    for format in ["table", "json", "markdown"] {
        let (code, out, err) = access(&["--inventory-in", FIXTURE, "--format", format]);
        assert_eq!(code, Some(0), "{err}");
        settings(
            "output",
            &format!("atrest access --inventory-in {FIXTURE} --format {format}"),
        )
        .bind(|| assert_snapshot!(format!("access_fixture_{format}"), out));
    }
}

#[test]
fn the_json_names_every_way_in() {
    let (_, out, _) = access(&["--inventory-in", FIXTURE, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["inputs"]["scps"], "collected");
    let rows = |key_alias: &str| -> Vec<Value> {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == key_alias)
            .unwrap()["entries"]
            .as_array()
            .unwrap()
            .clone()
    };
    let app = rows("alias/app");
    let partner = app
        .iter()
        .find(|e| e["principal"] == "arn:aws:iam::444455556666:role/Partner")
        .unwrap();
    assert_eq!(partner["grant"], "g-partner");
    // The SCP guard lets only KeyAdmin change the key policy.
    let put: Vec<&Value> = app
        .iter()
        .filter(|e| {
            e["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "kms:PutKeyPolicy")
        })
        .collect();
    assert_eq!(put.len(), 1, "{put:?}");
    assert_eq!(
        put[0]["principal"],
        "arn:aws:iam::111122223333:role/KeyAdmin"
    );
    // The boundary leaves the analyst nothing.
    assert!(
        app.iter()
            .all(|e| e["principal"] != "arn:aws:iam::111122223333:role/Analyst")
    );
    let rds = rows("alias/aws/rds");
    assert!(rds.iter().all(|e| e["path"] == "via-service"), "{rds:?}");
}

#[test]
fn the_reverse_query_shows_one_principal() {
    let analyst = "arn:aws:iam::111122223333:role/Analyst";
    let (code, out, err) = access(&[
        "--inventory-in",
        FIXTURE,
        "--principal",
        analyst,
        "--format",
        "markdown",
    ]);
    assert_eq!(code, Some(0), "{err}");
    settings(
        "output",
        &format!("atrest access --inventory-in {FIXTURE} --principal {analyst} --format markdown"),
    )
    .bind(|| assert_snapshot!("access_fixture_principal_markdown", out));
    assert!(out.contains(analyst));
    assert!(!out.contains("role/KeyAdmin"));
}

#[test]
fn an_inventory_without_iam_or_grants_is_partial_and_unknown() {
    let (code, out, err) = access(&[
        "--inventory-in",
        "examples/inventory.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("input(s) not collected"), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["inputs"]["iam"], "not collected");
    let entries: Vec<&Value> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|k| k["entries"].as_array().unwrap())
        .collect();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["verdict"] == "unknown"),
        "nothing is allowed or denied on inputs that were not read"
    );
}
