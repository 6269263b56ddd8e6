//! `atrest audit` from the command line without AWS: saved inventories (the paths the local endpoint cannot serve,
//! such as custom key stores and the EBS default key), output formats, exit codes, and every user-facing error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use crate::support::cli::{assert_error_style, json};
use crate::support::{atrest, repo_path, run, stderr, stdout};

const FIXTURE: &str = "tests/fixtures/audit/custom-key-stores.json";

fn audit_fixture(extra: &[&str]) -> std::process::Output {
    let fixture = repo_path(FIXTURE);
    let mut cmd = atrest();
    cmd.args(["audit", "--inventory-in"])
        .arg(&fixture)
        .args(extra);
    run(&mut cmd)
}

fn short(arn: &str) -> String {
    arn.splitn(6, ':').nth(5).unwrap_or(arn).to_string()
}

#[test]
fn saved_inventory_places_every_database_on_its_option() {
    let out = audit_fixture(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["source"], "inventory");
    assert_eq!(report["account"], "111122223333");
    assert_eq!(report["started"], "2026-11-20T10:00:00Z");
    let got: BTreeSet<(String, String)> = report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                d["option"].to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("ora-tde", "1"),
        ("aurora-default", "1"),
        ("pg-cloudhsm", "2"),
        ("aurora-xks", "2"),
        ("i-0ebsstandard000001", "3"),
        ("i-0ebscloudhsm000001", "4"),
        ("i-0luks00000000000001", "5"),
        ("i-0tdewallet00000001", "6"),
        ("i-0tdecloudhsm000001", "7"),
        ("i-0plain0000000000001", "\"unencrypted\""),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);

    let db = |id: &str| {
        report["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap()
            .clone()
    };
    let ora = db("ora-tde");
    assert_eq!(ora["evidence"]["tde_option_group"], "ora-19-tde");
    assert_eq!(ora["evidence"]["keys"][0]["key_store"], "standard");
    assert_eq!(ora["evidence"]["keys"][0]["manager"], "customer_managed");
    let hsm = db("pg-cloudhsm");
    assert_eq!(hsm["evidence"]["keys"][0]["key_store"], "cloudhsm");
    assert_eq!(
        hsm["evidence"]["keys"][0]["custom_key_store_id"],
        "cks-1234567890abcdef0"
    );
    assert_eq!(
        hsm["evidence"]["keys"][0]["arn"],
        "arn:aws:kms:eu-central-1:111122223333:key/1111aaaa-0000-0000-0000-000000000002"
    );
    assert_eq!(
        db("aurora-xks")["evidence"]["keys"][0]["key_store"],
        "external"
    );
    assert_eq!(
        db("aurora-default")["evidence"]["keys"][0]["manager"],
        "aws_owned"
    );
    assert_eq!(
        db("i-0tdecloudhsm000001")["evidence"]["declared"]["atrest:tde-keys"],
        "cloudhsm"
    );
    assert_eq!(
        db("i-0ebscloudhsm000001")["option_title"],
        "Self-managed on EC2, EBS encryption, keys in a KMS custom key store"
    );
}

#[test]
fn saved_inventory_findings() {
    let out = audit_fixture(&["--format", "json"]);
    let report = json(&out);
    let findings: BTreeSet<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                short(f["resource"].as_str().unwrap()),
            )
        })
        .collect();
    let key = |n: u8| format!("key/1111aaaa-0000-0000-0000-00000000000{n}");
    let mut want: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut add = |check: &str, status: &str, resource: String| {
        want.insert((check.to_string(), status.to_string(), resource));
    };
    add(
        "ebs_default_encryption_enabled",
        "pass",
        "ebs-encryption-by-default".into(),
    );
    add(
        "ebs_snapshot_encrypted",
        "pass",
        "snapshot/snap-0disabledkey000001".into(),
    );
    add(
        "ebs_snapshot_not_public",
        "pass",
        "snapshot/snap-0disabledkey000001".into(),
    );
    for (vol, status) in [
        ("vol-0cloudhsm00000001", "pass"),
        ("vol-0luks000000000001", "fail"),
        ("vol-0plain00000000001", "fail"),
        ("vol-0standard00000001", "pass"),
        ("vol-0tdehsm0000000001", "pass"),
        ("vol-0wallet0000000001", "pass"),
    ] {
        add("ebs_volume_encrypted", status, format!("volume/{vol}"));
    }
    for n in [1, 2, 3, 5] {
        add("kms_key_in_use_enabled", "pass", key(n));
        add("kms_key_in_use_not_pending_deletion", "pass", key(n));
    }
    add("kms_key_in_use_enabled", "fail", key(6));
    add("kms_key_in_use_not_pending_deletion", "pass", key(6));
    for n in [1, 2, 3, 6] {
        add("kms_key_policy_no_public_principal", "pass", key(n));
    }
    add(
        "kms_key_policy_no_public_principal",
        "not_applicable",
        key(4),
    );
    for n in [1, 2, 3] {
        add("kms_key_policy_separation_of_duties", "pass", key(n));
    }
    add(
        "kms_key_policy_separation_of_duties",
        "not_applicable",
        key(4),
    );
    add("kms_key_policy_separation_of_duties", "fail", key(6));
    for n in [1, 2, 6] {
        add("kms_key_policy_service_confused_deputy", "pass", key(n));
    }
    add("kms_key_policy_service_confused_deputy", "fail", key(3));
    add(
        "kms_key_policy_service_confused_deputy",
        "not_applicable",
        key(4),
    );
    add("kms_key_rotation_enabled", "pass", key(1));
    for n in [2, 3, 4, 5] {
        add("kms_key_rotation_enabled", "not_applicable", key(n));
    }
    add("kms_key_rotation_enabled", "fail", key(6));
    add(
        "rds_cluster_storage_encrypted",
        "pass",
        "cluster:aurora-default".into(),
    );
    add(
        "rds_cluster_storage_encrypted",
        "pass",
        "cluster:aurora-xks".into(),
    );
    add(
        "rds_instance_storage_encrypted",
        "pass",
        "db:ora-tde".into(),
    );
    add(
        "rds_instance_storage_encrypted",
        "pass",
        "db:pg-cloudhsm".into(),
    );
    // Saved before grants and IAM were read: the checks that need them say so instead of passing.
    for n in 1..=6 {
        add(
            "kms_key_grants_no_external_grantee",
            "not_applicable",
            key(n),
        );
    }
    for n in [1, 2, 3, 5, 6] {
        add(
            "kms_key_no_unconstrained_create_grant",
            "not_applicable",
            key(n),
        );
        add(
            "kms_database_key_no_cross_account_decrypt",
            "not_applicable",
            key(n),
        );
    }
    add(
        "shared_snapshot_not_aws_managed_key",
        "pass",
        "snapshot/snap-0disabledkey000001".into(),
    );
    assert_eq!(findings, want);

    let message = |check: &str, resource: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && short(f["resource"].as_str().unwrap()) == resource)
            .map(|f| f["message"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(message("kms_key_rotation_enabled", &key(2)).contains("custom key store (cloudhsm)"));
    assert!(message("kms_key_rotation_enabled", &key(4)).contains("imported key material"));
    assert!(
        message(
            "ebs_default_encryption_enabled",
            "ebs-encryption-by-default"
        )
        .contains("`alias/aws/ebs` (AWS managed)")
    );
    assert_eq!(report["errors"][0]["operation"], "GetKeyPolicy");
    assert!(
        stderr(&out).contains("warning: 1 API call(s) failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fail_on_sets_exit_code_3_at_or_above_the_threshold() {
    // The fixture fails one high and five medium findings, no critical one, and records one failed API call:
    // below the threshold the audit is partial (exit 4).
    assert_eq!(audit_fixture(&["--fail-on", "high"]).status.code(), Some(3));
    assert_eq!(
        audit_fixture(&["--fail-on", "MEDIUM"]).status.code(),
        Some(3)
    );
    assert_eq!(
        audit_fixture(&["--fail-on", "critical"]).status.code(),
        Some(4)
    );
    assert_eq!(audit_fixture(&[]).status.code(), Some(4));
}

#[test]
fn table_and_markdown_formats() {
    let out = audit_fixture(&[]);
    let text = stdout(&out);
    for needle in [
        "Checks",
        "Databases",
        "Failed findings",
        "API errors",
        "kms_key_policy_service_confused_deputy",
        "7: Self-managed on",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(
        !stderr(&out).contains('\r'),
        "no progress bar when stderr is not a terminal"
    );
    let out = audit_fixture(&["--format", "markdown"]);
    let text = stdout(&out);
    assert!(text.starts_with("# atrest audit\n"), "{text}");
    for needle in [
        "## Databases",
        "## Findings",
        "## API errors",
        "| fail | high | `kms_key_in_use_enabled`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn json_is_deterministic() {
    let a = stdout(&audit_fixture(&["--format", "json"]));
    let b = stdout(&audit_fixture(&["--format", "json"]));
    assert_eq!(a, b);
}

fn expect_usage_error(args: &[&str], needle: &str) {
    let out = run(atrest().args(args));
    assert_error_style(&out, 2, needle.strip_prefix("error: ").unwrap_or(needle));
    assert!(stdout(&out).is_empty(), "{args:?}: no report on error");
}

#[test]
fn bad_regions() {
    expect_usage_error(
        &["audit", "--regions", "eu-west-1,EU_WEST_2"],
        "error: `EU_WEST_2` is not a region name\n  help: pass `--regions all` or a comma-separated list",
    );
    expect_usage_error(
        &["audit", "--regions", ","],
        "error: the region list is empty\n  help: pass `--regions all`",
    );
    expect_usage_error(
        &["audit", "--regions", "all,eu-west-1"],
        "error: `all` cannot be combined with other regions",
    );
}

#[test]
fn bad_db_tag() {
    expect_usage_error(
        &["audit", "--regions", "eu-west-1", "--db-tag", "database"],
        "error: `database` is not a tag filter\n  help: pass `--db-tag KEY=VALUE`, or `KEY=*` for any value",
    );
}

#[test]
fn bad_fail_on() {
    // A value clap's parser refuses: clap's own error format.
    let out = run(atrest().args(["audit", "--inventory-in", FIXTURE, "--fail-on", "urgent"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "unknown severity `urgent`; use one of informational, low, medium, high, critical"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unreadable_inventory() {
    expect_usage_error(
        &["audit", "--inventory-in", "/nonexistent/inventory.json"],
        "error: cannot read inventory `/nonexistent/inventory.json`: No such file or directory (os error 2)\n  help: check the path",
    );
}

#[test]
fn malformed_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "truncated.json",
            "{\"schema_version\": 1, \"kms_keys\": [",
            "is not an atrest inventory: EOF while parsing",
        ),
        (
            "array.json",
            "[]",
            "is not an atrest inventory: no `schema_version` number",
        ),
        (
            "wrong-type.json",
            "{\"schema_version\": 1, \"ebs_volumes\": 3}",
            "is not an atrest inventory: invalid type",
        ),
        (
            "future.json",
            "{\"schema_version\": 99}",
            "has schema version 99, but this atrest reads version 1",
        ),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        expect_usage_error(&["audit", "--inventory-in", path.to_str().unwrap()], needle);
    }
}

#[test]
fn inventory_in_conflicts_with_live_options() {
    let out = run(atrest().args(["audit", "--inventory-in", FIXTURE, "--regions", "eu-west-1"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unwritable_inventory_out() {
    // Checked before anything is read, so no endpoint is needed.
    expect_usage_error(
        &[
            "audit",
            "--regions",
            "eu-west-1",
            "--inventory-out",
            "/nonexistent/dir/inv.json",
        ],
        "error: cannot write inventory `/nonexistent/dir/inv.json`: the directory does not exist\n  help: check that the directory exists and is writable",
    );
}

#[cfg(feature = "aws")]
#[test]
fn bad_endpoint_url() {
    expect_usage_error(
        &[
            "audit",
            "--regions",
            "eu-west-1",
            "--endpoint-url",
            "localhost:5000",
        ],
        "error: `localhost:5000` is not a valid endpoint URL",
    );
}

#[cfg(not(feature = "aws"))]
#[test]
fn live_audit_needs_the_aws_feature() {
    expect_usage_error(
        &["audit", "--regions", "eu-west-1"],
        "error: this atrest was built without AWS support (feature `aws`)\n  help: audit a saved inventory with `--inventory-in FILE`",
    );
}

/// With no credentials anywhere, the audit is an error that names the chain tried, not an empty pass.
#[cfg(feature = "aws")]
#[test]
fn no_credentials_is_an_error_not_an_empty_pass() {
    let out = run(atrest()
        .args(["audit", "--region", "eu-west-1", "--fail-on", "high"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("HOME", "/nonexistent")
        .env("AWS_MAX_ATTEMPTS", "1"));
    assert_error_style(
        &out,
        1,
        "no AWS credentials were found, so none of the 15 API call(s) could be made\n  help: the SDK's default chain was tried",
    );
    assert!(stdout(&out).is_empty(), "no report: {}", stdout(&out));
}

/// An endpoint that refuses every connection reads nothing: an error, whatever `--fail-on` says.
#[cfg(feature = "aws")]
#[test]
fn nothing_reachable_is_an_error_not_an_empty_pass() {
    let out = run(atrest()
        .args(["audit", "--region", "eu-west-1", "--fail-on", "high"])
        .env("AWS_MAX_ATTEMPTS", "1"));
    assert_error_style(
        &out,
        1,
        "nothing could be read: all 15 API call(s) failed, the first with `",
    );
    assert!(
        stderr(&out).contains("Connection refused"),
        "{}",
        stderr(&out)
    );
    let out = run(atrest()
        .args(["evidence", "build", "--region", "eu-west-1", "--out"])
        .arg(tempfile::tempdir().unwrap().path().join("b"))
        .env("AWS_MAX_ATTEMPTS", "1"));
    assert_error_style(&out, 1, "nothing could be read");
}
