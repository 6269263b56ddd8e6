//! The API calls of `atrest audit`, as `--stats` counts them: exactly so many per operation for a small seeded
//! region (a change that adds a call per resource fails here), and the per-service limits of `--api-limits` hold
//! on a run over several regions. Each test owns its regions: us-east-2; ap-northeast-2, ap-southeast-1 and
//! af-south-1.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Output;

use serde_json::Value;

use crate::support::seed::Seed;
use crate::support::{atrest, block_on, moto_endpoint, run, stderr};

fn audit(args: &[&str]) -> Output {
    let mut cmd = atrest();
    cmd.arg("audit")
        .arg("--endpoint-url")
        .arg(moto_endpoint())
        .args(["--format", "json", "--stats"])
        .args(args);
    let out = run(&mut cmd);
    assert!(matches!(out.status.code(), Some(0 | 4)), "{}", stderr(&out));
    out
}

/// The `stats: {...}` line of stderr.
fn stats(out: &Output) -> Value {
    let text = stderr(out);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("stats: "))
        .unwrap_or_else(|| panic!("no stats line on stderr:\n{text}"));
    serde_json::from_str(line).unwrap()
}

/// The counted operations of the regional services (the global ones also see other tests' accounts and roles).
fn regional_calls(stats: &Value) -> BTreeMap<String, u64> {
    stats["calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| ["kms:", "rds:", "ec2:"].iter().any(|s| op.starts_with(s)))
        .map(|(op, n)| (op.clone(), n.as_u64().unwrap()))
        .collect()
}

#[test]
fn a_small_region_costs_a_known_number_of_calls() {
    const REGION: &str = "us-east-2";
    block_on(async {
        let s = Seed::new(REGION).await;
        let rotating = s.key(None, true).await;
        let db_key = s.key(None, false).await;
        let _unused = s.key(None, false).await;
        s.db("calls-db", "postgres", "16.3", Some(&db_key)).await;
        s.delete_automated_snapshots().await;
        s.rds
            .create_db_snapshot()
            .db_snapshot_identifier("calls-db-manual")
            .db_instance_identifier("calls-db")
            .send()
            .await
            .unwrap();
        let encrypted = s.volume(Some(&rotating)).await;
        let plain = s.volume(None).await;
        s.snapshot(&encrypted, false).await;
        s.snapshot(&plain, true).await;
    });
    let out = audit(&["--regions", REGION]);
    let stats = stats(&out);
    let expected: BTreeMap<String, u64> = [
        // One listing each; then per key: DescribeKey, GetKeyPolicy (customer managed), ListGrants and
        // GetKeyRotationStatus (all three can rotate), whether a resource uses the key or not.
        ("kms:ListAliases", 1),
        ("kms:ListKeys", 1),
        ("kms:DescribeKey", 3),
        ("kms:GetKeyPolicy", 3),
        ("kms:ListGrants", 3),
        ("kms:GetKeyRotationStatus", 3),
        // Four listings, the sharing of the one manual snapshot, the instance's option group by name.
        ("rds:DescribeDBInstances", 1),
        ("rds:DescribeDBClusters", 1),
        ("rds:DescribeDBSnapshots", 1),
        ("rds:DescribeDBClusterSnapshots", 1),
        ("rds:DescribeDBSnapshotAttributes", 1),
        ("rds:DescribeOptionGroups", 1),
        // Three listings, the two region settings, the sharing of each of the two snapshots.
        ("ec2:DescribeVolumes", 1),
        ("ec2:DescribeSnapshots", 1),
        ("ec2:DescribeInstances", 1),
        ("ec2:GetEbsEncryptionByDefault", 1),
        ("ec2:GetEbsDefaultKmsKeyId", 1),
        ("ec2:DescribeSnapshotAttribute", 2),
    ]
    .into_iter()
    .map(|(op, n)| (op.to_string(), n))
    .collect();
    assert_eq!(regional_calls(&stats), expected, "{stats}");
    for op in [
        "sts:GetCallerIdentity",
        "iam:ListAccountAliases",
        "iam:GetAccountAuthorizationDetails",
    ] {
        assert_eq!(stats["calls"][op], 1, "{op}: {stats}");
    }
    let total: u64 = stats["calls"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(stats["total"], total);
    // GetEbsDefaultKmsKeyId is missing on the endpoint (HTTP 500) and retried: one call, several attempts.
    assert!(stats["attempts"].as_u64().unwrap() > total, "{stats}");
}

#[test]
fn per_service_limits_hold_across_regions() {
    const REGIONS: [&str; 3] = ["ap-northeast-2", "ap-southeast-1", "af-south-1"];
    block_on(async {
        for region in REGIONS {
            let s = Seed::new(region).await;
            for _ in 0..6 {
                let key = s.key(None, false).await;
                let volume = s.volume(Some(&key)).await;
                s.snapshot(&volume, false).await;
            }
        }
    });
    let regions = REGIONS.join(",");
    let limited = stats(&audit(&[
        "--regions",
        &regions,
        "--api-limits",
        "kms=2,ec2=3,rds=1",
    ]));
    let peak = &limited["peak_in_flight"];
    for (service, limit) in limited["limits"].as_object().unwrap() {
        let seen = peak[service].as_u64().unwrap_or(0);
        assert!(seen <= limit.as_u64().unwrap(), "{service}: {limited}");
    }
    assert_eq!(
        peak["kms"], 2,
        "the limit is reached, not only respected: {limited}"
    );
    assert_eq!(peak["ec2"], 3, "{limited}");
    assert_eq!(peak["rds"], 1, "{limited}");
    assert_eq!(
        limited["limits"]["iam"], 2,
        "services not named keep their defaults"
    );

    // Without the flag the same run has more KMS calls in flight: the limit above is what held them.
    let free = stats(&audit(&["--regions", &regions]));
    assert!(
        free["peak_in_flight"]["kms"].as_u64().unwrap() > 2,
        "{free}"
    );
    assert_eq!(regional_calls(&free), regional_calls(&limited));
}
