//! `advise --live` against the local AWS endpoint (moto server): engine support comes from RDS through
//! aws-sdk-rds, and what the endpoint cannot answer is reported, not fatal.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{atrest, moto_endpoint, run, stderr};

fn live(args: &[&str]) -> serde_json::Value {
    let endpoint = moto_endpoint();
    let mut cmd = atrest();
    cmd.args([
        "advise",
        "--live",
        "--format",
        "json",
        "--region",
        "ap-northeast-1",
        "--endpoint-url",
        &endpoint,
    ]);
    cmd.args(args);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn notes(v: &serde_json::Value) -> String {
    v["engine_support"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn tde_support_comes_from_option_group_options() {
    // RDS lists TDE for SQL Server SE from major version 15.00 (2019).
    let v = live(&[
        "--engine",
        "sqlserver-se",
        "--engine-version",
        "15.00.4073.23.v1",
    ]);
    assert!(
        v["engine_support"]["source"]
            .as_str()
            .unwrap()
            .starts_with("live from RDS in ap-northeast-1")
    );
    assert!(
        notes(&v).contains("option groups offer TDE for major version(s) 15.00, 16.00"),
        "{}",
        notes(&v)
    );
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "rds-now-offers-tde")
    );

    let v = live(&[
        "--engine",
        "sqlserver-se",
        "--engine-version",
        "14.00.3465.1.v1",
    ]);
    assert!(notes(&v).contains("(not for 14.00)"), "{}", notes(&v));
    assert!(
        !v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "rds-now-offers-tde")
    );
}

#[test]
fn storage_encryption_comes_from_orderable_instance_options() {
    let v = live(&["--engine", "aurora-postgresql", "--engine-version", "15.2"]);
    let notes = notes(&v);
    assert!(notes.contains("storage encryption supported"), "{notes}");
    assert_eq!(v["recommended"]["option"], 1);
}

#[test]
fn calls_the_endpoint_cannot_answer_are_reported_not_fatal() {
    // The local endpoint does not implement DescribeDBEngineVersions; the snapshot's answer stands.
    let v = live(&["--engine", "postgres", "--engine-version", "16.4"]);
    let notes = notes(&v);
    assert!(
        notes.contains("DescribeDBEngineVersions failed (HTTP 500 without an AWS error"),
        "{notes}"
    );
    assert!(
        notes.contains("engine availability from the embedded snapshot"),
        "{notes}"
    );
    assert_eq!(v["recommended"]["option"], 1);
}

#[test]
fn an_unreachable_endpoint_is_reported_per_call() {
    // A closed loopback port: every call fails, the advice still comes from the embedded snapshot.
    let out = run(atrest().args([
        "advise",
        "--live",
        "--format",
        "json",
        "--engine",
        "oracle-ee",
        "--region",
        "ap-northeast-1",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes = notes(&v);
    assert!(
        notes.contains("DescribeOptionGroupOptions failed (cannot reach the endpoint"),
        "{notes}"
    );
    assert_eq!(v["engine_support"]["known"], true);
}
