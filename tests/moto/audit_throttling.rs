//! A throttled API does not abort an audit: RDS answers every call with `Throttling` (a local endpoint that does
//! only that, `scripts/throttling-endpoint.py`), the SDK retries with backoff, and the audit reports the RDS calls
//! as errors while EC2 and KMS (the local AWS endpoint) are audited as usual.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use crate::support::{atrest, moto_endpoint, repo_path, run, stderr};

/// This test's own region on the shared local endpoint.
const REGION: &str = "il-central-1";

#[test]
fn throttled_rds_is_reported_and_the_rest_is_audited() {
    let mut throttler = Command::new("python3")
        .arg(repo_path("scripts/throttling-endpoint.py"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(throttler.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port = port.trim().to_string();

    let mut cmd = atrest();
    cmd.env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ENDPOINT_URL_RDS", format!("http://127.0.0.1:{port}"))
        .env("AWS_MAX_ATTEMPTS", "3")
        .args(["audit", "--regions", REGION, "--format", "json"]);
    let out = run(&mut cmd);

    throttler.kill().unwrap();
    throttler.wait().unwrap();
    let mut requests = String::new();
    throttler
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut requests)
        .unwrap();

    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = report["errors"].as_array().unwrap();
    let rds: Vec<&serde_json::Value> = errors.iter().filter(|e| e["service"] == "rds").collect();
    assert!(
        !rds.is_empty(),
        "RDS throttling must be reported: {errors:?}"
    );
    for e in &rds {
        assert_eq!(e["region"], REGION);
        assert!(e["message"].as_str().unwrap().contains("Throttling"), "{e}");
    }
    assert!(
        errors
            .iter()
            .all(|e| e["service"] == "rds" || e["operation"] == "GetEbsDefaultKmsKeyId"),
        "only RDS (and the operation the local endpoint lacks) may fail: {errors:?}"
    );
    // The SDK retried each throttled call before giving up: more requests than operations.
    let sent = requests
        .lines()
        .filter(|l| l.starts_with("Describe"))
        .count();
    assert!(
        sent > rds.len(),
        "{sent} requests for {} failed operations",
        rds.len()
    );
    // EC2 was still audited in that region.
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "ebs_default_encryption_enabled" && f["region"] == REGION),
        "EC2 must still be audited"
    );
}
