//! The OCSF output against the OCSF 1.6.0 Detection Finding definition (class 2004). The required attributes,
//! `at_least_one` constraints and enumerations were taken from the schema's own files (tag 1.6.0 of
//! ocsf/ocsf-schema) into `tests/fixtures/evidence/ocsf-1.6.0-detection-finding.json`; this test checks every event
//! against them, plus what atrest promises on top (title, status, unique finding ids).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use crate::support::{atrest, repo_path, run, stderr};
use serde_json::Value;

fn schema() -> Value {
    serde_json::from_slice(
        &std::fs::read(repo_path(
            "tests/fixtures/evidence/ocsf-1.6.0-detection-finding.json",
        ))
        .unwrap(),
    )
    .unwrap()
}

fn events(inventory: &std::path::Path) -> Vec<Value> {
    let out = run(atrest()
        .args(["audit", "--format", "ocsf", "--inventory-in"])
        .arg(inventory));
    assert_eq!(
        out.status.code(),
        Some(crate::support::saved_audit_exit(inventory)),
        "{}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The values at a dotted path; `name[]` walks into every element of an array.
fn at<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![v];
    for part in path.split('.') {
        let mut next = Vec::new();
        for c in current {
            if let Some(name) = part.strip_suffix("[]") {
                if let Some(items) = c.get(name).and_then(Value::as_array) {
                    next.extend(items.iter());
                }
            } else if let Some(x) = c.get(part) {
                next.push(x);
            }
        }
        current = next;
    }
    current
}

fn validate(event: &Value, schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for profile in event["metadata"]["profiles"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let p = &schema["profiles"][profile.as_str().unwrap()];
        required.extend(
            p["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap()),
        );
    }
    for attr in required {
        if event.get(attr).is_none_or(Value::is_null) {
            problems.push(format!("missing required `{attr}`"));
        }
    }
    for (path, rules) in schema["objects"].as_object().unwrap() {
        for obj in at(event, path) {
            for attr in rules["required"].as_array().unwrap() {
                if obj.get(attr.as_str().unwrap()).is_none_or(Value::is_null) {
                    problems.push(format!("`{path}` lacks required `{attr}`"));
                }
            }
            if let Some(any) = rules.get("at_least_one").and_then(Value::as_array)
                && !any
                    .iter()
                    .any(|a| obj.get(a.as_str().unwrap()).is_some_and(|x| !x.is_null()))
            {
                problems.push(format!("`{path}` needs at least one of {any:?}"));
            }
        }
    }
    for (path, allowed) in schema["enums"].as_object().unwrap() {
        for value in at(event, path) {
            if !allowed.as_array().unwrap().contains(value) {
                problems.push(format!("`{path}` = {value} is not in the enumeration"));
            }
        }
    }
    let class = &schema["class"];
    if event["class_uid"] != class["class_uid"] {
        problems.push(format!(
            "class_uid {} is not {}",
            event["class_uid"], class["class_uid"]
        ));
    }
    if event["category_uid"] != class["category_uid"] {
        problems.push("category_uid is not Findings (2)".into());
    }
    let type_uid =
        event["class_uid"].as_u64().unwrap_or(0) * 100 + event["activity_id"].as_u64().unwrap_or(0);
    if event["type_uid"].as_u64() != Some(type_uid) {
        problems.push(format!(
            "type_uid {} is not class_uid * 100 + activity_id",
            event["type_uid"]
        ));
    }
    match event["time"].as_i64() {
        Some(t) if t > 1_600_000_000_000 => {}
        _ => problems.push(format!("time {} is not epoch milliseconds", event["time"])),
    }
    // What atrest promises beyond the required attributes.
    for path in [
        "finding_info.title",
        "status",
        "status_code",
        "message",
        "metadata.product.version",
        "resources",
    ] {
        if at(event, path).is_empty() {
            problems.push(format!("missing `{path}`"));
        }
    }
    if event["metadata"]["version"] != "1.6.0" {
        problems.push("metadata.version is not 1.6.0".into());
    }
    problems
}

#[test]
fn every_event_has_the_required_attributes_of_class_2004() {
    let schema = schema();
    assert_eq!(schema["class"]["class_uid"], 2004);
    let events = events(&repo_path("tests/fixtures/evidence/inventory.json"));
    assert_eq!(events.len(), 61);
    let mut uids = BTreeSet::new();
    for e in &events {
        let problems = validate(e, &schema);
        assert!(problems.is_empty(), "{problems:#?}\n{e:#}");
        assert!(
            uids.insert(e["finding_info"]["uid"].as_str().unwrap().to_string()),
            "duplicate uid"
        );
        assert_eq!(e["cloud"]["account"]["uid"], "111122223333");
        assert_eq!(e["cloud"]["provider"], "AWS");
        assert_eq!(
            e["time"], 1_795_168_804_000i64,
            "the time the audit finished"
        );
    }
    let fail = events.iter().find(|e| e["status_code"] == "FAIL").unwrap();
    assert_eq!(fail["is_alert"], true);
    let pass = events.iter().find(|e| e["status_code"] == "PASS").unwrap();
    assert_eq!(pass["is_alert"], false);
    let rds = events
        .iter()
        .find(|e| e["metadata"]["event_code"] == "rds_instance_storage_encrypted")
        .unwrap();
    assert_eq!(rds["severity_id"], 4);
    assert_eq!(rds["severity"], "High");
    assert_eq!(rds["resources"][0]["type"], "AwsRdsDbInstance");
    assert!(
        rds["unmapped"]["atrest"]["compliance"]["PCI DSS 4.0.1"]
            .as_array()
            .unwrap()
            .contains(&Value::from("3.5.1"))
    );
    assert!(rds["remediation"]["desc"].as_str().unwrap().len() > 20);
}

#[test]
fn ids_are_stable_across_runs_and_an_unknown_account_stays_valid() {
    let first = events(&repo_path("tests/fixtures/evidence/inventory.json"));
    let again = events(&repo_path("tests/fixtures/evidence/inventory.json"));
    let uids = |list: &[Value]| -> Vec<String> {
        list.iter()
            .map(|e| e["finding_info"]["uid"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(uids(&first), uids(&again));

    let mut inv: Value = serde_json::from_slice(
        &std::fs::read(repo_path("tests/fixtures/evidence/inventory.json")).unwrap(),
    )
    .unwrap();
    inv.as_object_mut().unwrap().remove("account");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.json");
    std::fs::write(&path, serde_json::to_vec(&inv).unwrap()).unwrap();
    let schema = schema();
    for e in events(&path) {
        assert!(e["cloud"].get("account").is_none());
        let problems = validate(&e, &schema);
        assert!(problems.is_empty(), "{problems:#?}");
    }
}

#[test]
fn the_validator_catches_what_it_checks() {
    let schema = schema();
    let good = events(&repo_path("tests/fixtures/evidence/inventory.json")).remove(0);
    assert!(validate(&good, &schema).is_empty());
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut e = good.clone();
        edit(&mut e);
        validate(&e, &schema)
    };
    assert!(
        !broken(&|e| {
            e.as_object_mut().unwrap().remove("time");
        })
        .is_empty()
    );
    assert!(
        !broken(&|e| {
            e["finding_info"].as_object_mut().unwrap().remove("uid");
        })
        .is_empty()
    );
    assert!(
        !broken(&|e| {
            e["metadata"].as_object_mut().unwrap().remove("product");
        })
        .is_empty()
    );
    assert!(
        !broken(&|e| {
            e["cloud"].as_object_mut().unwrap().remove("provider");
        })
        .is_empty()
    );
    assert!(!broken(&|e| e["severity_id"] = 7.into()).is_empty());
    assert!(!broken(&|e| e["type_uid"] = 200400.into()).is_empty());
    assert!(!broken(&|e| e["finding_info"]["analytic"]["type_id"] = 42.into()).is_empty());
}
