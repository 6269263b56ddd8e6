//! `atrest audit` end to end against the local AWS endpoint (moto server on 127.0.0.1, started by
//! `scripts/test.sh`). Each test seeds its own regions through the AWS SDK, then runs the real binary and asserts
//! the exact findings, classifications and errors.
//!
//! The endpoint is shared by every test binary, so each test owns its regions: ap-southeast-2 + sa-east-1 (mixed
//! account), ca-central-1 (+ a region the endpoint rejects), eu-south-1 (one service unreachable). Resources have
//! fixed names, so run against a fresh endpoint (as `scripts/test.sh` does).
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Output;

use aws_sdk_rds::types::OptionConfiguration;
use serde_json::Value;

use crate::support::seed::Seed;
use crate::support::{
    atrest, block_on, moto_endpoint, moto_sdk_config as sdk, run, stderr, stdout,
};

const ACCOUNT: &str = "123456789012";

fn root_statement() -> String {
    format!(
        r#"{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
    )
}

fn policy(statements: &[String]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn rds_arn(region: &str, kind: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:{kind}:{id}")
}

fn volume_arn(region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}:{ACCOUNT}:volume/{id}")
}

fn snapshot_arn(region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}::snapshot/{id}")
}

fn instance_arn(region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}:{ACCOUNT}:instance/{id}")
}

fn ebs_default_arn(region: &str) -> String {
    format!("arn:aws:ec2:{region}:{ACCOUNT}:ebs-encryption-by-default")
}

fn audit(args: &[&str]) -> Output {
    let mut cmd = atrest();
    cmd.arg("audit")
        .arg("--endpoint-url")
        .arg(moto_endpoint())
        .args(args);
    run(&mut cmd)
}

fn report(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

type Triple = (String, String, String);

fn findings(report: &Value) -> BTreeSet<Triple> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["resource"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn databases(report: &Value) -> BTreeSet<(String, String)> {
    report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["resource"].as_str().unwrap().to_string(),
                d["option"].to_string().replace('"', ""),
            )
        })
        .collect()
}

fn errors(report: &Value) -> BTreeSet<Triple> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["region"].as_str().unwrap().to_string(),
                e["service"].as_str().unwrap().to_string(),
                e["operation"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, String)]) -> BTreeSet<Triple> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.clone()))
        .collect()
}

/// Ids of what the mixed account seed created.
struct Mixed {
    k_rot: String,
    k_norot: String,
    k_pending: String,
    k_public: String,
    k_deputy: String,
    k_hsm: String,
    k_aws_rds: String,
    vol_enc: String,
    vol_plain: String,
    snap_enc: String,
    snap_public: String,
    host_ebs: (String, String),
    host_luks: (String, String),
    host_wallet: (String, String),
    host_hsm: (String, String),
    app_server: (String, String),
}

const A: &str = "ap-southeast-2";
const B: &str = "sa-east-1";

async fn seed_mixed() -> Mixed {
    let a = Seed::new(A).await;
    let b = Seed::new(B).await;

    // KMS
    let k_rot = a.key(None, true).await;
    a.kms
        .create_alias()
        .alias_name("alias/atrest-test-rotating")
        .target_key_id(&k_rot)
        .send()
        .await
        .unwrap();
    let k_norot = a.key(None, false).await;
    let k_pending = a.key(None, true).await;
    let public_statement = r#"{"Sid":"Anyone","Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}"#;
    let k_public = a
        .key(
            Some(policy(&[root_statement(), public_statement.to_string()])),
            true,
        )
        .await;
    let logs = format!(
        r#"{{"Sid":"Logs","Effect":"Allow","Principal":{{"Service":"logs.{A}.amazonaws.com"}},"Action":["kms:Encrypt*","kms:Decrypt*","kms:GenerateDataKey*"],"Resource":"*"}}"#
    );
    let dba = format!(
        r#"{{"Sid":"Dba","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:role/Dba"}},"Action":"kms:*","Resource":"*"}}"#
    );
    let k_deputy = a
        .key(Some(policy(&[root_statement(), logs, dba])), true)
        .await;
    let k_hsm = a.cloudhsm_key().await;
    // Makes the endpoint create the aws/rds key (real AWS creates it on first use by RDS).
    let k_aws_rds = a
        .kms
        .describe_key()
        .key_id("alias/aws/rds")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();

    // RDS
    a.db("pg-enc", "postgres", "16.3", Some(&k_rot)).await;
    a.db("my-plain", "mysql", "8.0.35", None).await;
    a.rds
        .create_option_group()
        .option_group_name("ora-tde")
        .engine_name("oracle-ee")
        .major_engine_version("19")
        .option_group_description("Oracle TDE")
        .send()
        .await
        .unwrap();
    a.rds
        .modify_option_group()
        .option_group_name("ora-tde")
        .options_to_include(OptionConfiguration::builder().option_name("TDE").build())
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    a.db_with(
        "ora-tde",
        "oracle-ee",
        "19.0.0.0.ru-2024-01.rur-2024-01.r1",
        Some(&k_aws_rds),
        Some("ora-tde"),
    )
    .await;
    a.db("pg-pending", "postgres", "16.3", Some(&k_pending))
        .await;
    a.db("pg-hsm", "postgres", "16.3", Some(&k_hsm)).await;
    a.cluster("aur-enc", "aurora-postgresql", "15.4", Some(&k_norot))
        .await;
    a.rds
        .create_db_instance()
        .db_instance_identifier("aur-enc-1")
        .db_cluster_identifier("aur-enc")
        .engine("aurora-postgresql")
        .db_instance_class("db.r6g.large")
        .send()
        .await
        .unwrap();
    a.cluster("aur-plain", "aurora-mysql", "8.0.mysql_aurora.3.05.2", None)
        .await;
    b.db("pg-sa", "postgres", "16.3", None).await;
    a.delete_automated_snapshots().await;
    b.delete_automated_snapshots().await;

    for (snap, db) in [
        ("pg-enc-private", "pg-enc"),
        ("pg-enc-shared", "pg-enc"),
        ("my-plain-public", "my-plain"),
    ] {
        a.rds
            .create_db_snapshot()
            .db_snapshot_identifier(snap)
            .db_instance_identifier(db)
            .send()
            .await
            .unwrap();
    }
    a.rds
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier("pg-enc-shared")
        .attribute_name("restore")
        .values_to_add("444455556666")
        .send()
        .await
        .unwrap();
    a.rds
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier("my-plain-public")
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .unwrap();
    for (snap, cluster) in [
        ("aur-enc-private", "aur-enc"),
        ("aur-plain-public", "aur-plain"),
    ] {
        a.rds
            .create_db_cluster_snapshot()
            .db_cluster_snapshot_identifier(snap)
            .db_cluster_identifier(cluster)
            .send()
            .await
            .unwrap();
    }
    a.rds
        .modify_db_cluster_snapshot_attribute()
        .db_cluster_snapshot_identifier("aur-plain-public")
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .unwrap();

    // EC2 / EBS
    a.ec2
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .unwrap();
    let vol_enc = a.volume(Some(&k_rot)).await;
    let vol_plain = a.volume(None).await;
    let snap_enc = a.snapshot(&vol_enc, false).await;
    let snap_public = a.snapshot(&vol_plain, true).await;
    let host_ebs = a
        .instance(
            &[
                ("atrest:database", "postgres"),
                ("atrest:engine", "postgres"),
            ],
            Some(&k_rot),
        )
        .await;
    let host_luks = a
        .instance(
            &[("atrest:database", "mysql"), ("atrest:encryption", "luks")],
            None,
        )
        .await;
    let host_wallet = a
        .instance(
            &[
                ("atrest:database", "oracle"),
                ("atrest:encryption", "tde"),
                ("atrest:tde-keys", "wallet"),
            ],
            Some(&k_rot),
        )
        .await;
    let host_hsm = a
        .instance(&[("atrest:database", "postgres")], Some(&k_hsm))
        .await;
    let app_server = a.instance(&[("Name", "app")], None).await;

    // Scheduled for deletion while still in use by pg-pending. (The endpoint's ScheduleKeyDeletion takes a key id,
    // not an ARN.)
    let pending_id = k_pending.rsplit('/').next().unwrap();
    a.kms
        .schedule_key_deletion()
        .key_id(pending_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();

    Mixed {
        k_rot,
        k_norot,
        k_pending,
        k_public,
        k_deputy,
        k_hsm,
        k_aws_rds,
        vol_enc,
        vol_plain,
        snap_enc,
        snap_public,
        host_ebs,
        host_luks,
        host_wallet,
        host_hsm,
        app_server,
    }
}

#[test]
fn mixed_account_exact_findings_and_classifications() {
    let m = block_on(seed_mixed());
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("inventory.json");
    let out = audit(&[
        "--regions",
        &format!("{A},{B}"),
        "--format",
        "json",
        "--fail-on",
        "critical",
        "--inventory-out",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "critical failures present\n{}",
        stderr(&out)
    );
    let live = report(&out);
    assert_eq!(live["account"], ACCOUNT);
    assert_eq!(live["regions"], serde_json::json!([A, B]));
    assert_eq!(live["source"], "aws");

    let db = |id: &str| rds_arn(A, "db", id);
    let cl = |id: &str| rds_arn(A, "cluster", id);
    let snap = |id: &str| rds_arn(A, "snapshot", id);
    let csnap = |id: &str| rds_arn(A, "cluster-snapshot", id);
    let vol = |id: &str| volume_arn(A, id);
    let ebs_snap = |id: &str| snapshot_arn(A, id);
    let mut want = vec![
        ("rds_instance_storage_encrypted", "pass", db("pg-enc")),
        ("rds_instance_storage_encrypted", "fail", db("my-plain")),
        ("rds_instance_storage_encrypted", "pass", db("ora-tde")),
        ("rds_instance_storage_encrypted", "pass", db("pg-pending")),
        ("rds_instance_storage_encrypted", "pass", db("pg-hsm")),
        (
            "rds_instance_storage_encrypted",
            "fail",
            rds_arn(B, "db", "pg-sa"),
        ),
        ("rds_cluster_storage_encrypted", "pass", cl("aur-enc")),
        ("rds_cluster_storage_encrypted", "fail", cl("aur-plain")),
        ("rds_snapshot_encrypted", "pass", snap("pg-enc-private")),
        ("rds_snapshot_encrypted", "pass", snap("pg-enc-shared")),
        ("rds_snapshot_encrypted", "fail", snap("my-plain-public")),
        ("rds_snapshot_not_public", "pass", snap("pg-enc-private")),
        ("rds_snapshot_not_public", "pass", snap("pg-enc-shared")),
        ("rds_snapshot_not_public", "fail", snap("my-plain-public")),
        (
            "rds_cluster_snapshot_encrypted",
            "pass",
            csnap("aur-enc-private"),
        ),
        (
            "rds_cluster_snapshot_encrypted",
            "fail",
            csnap("aur-plain-public"),
        ),
        (
            "rds_cluster_snapshot_not_public",
            "pass",
            csnap("aur-enc-private"),
        ),
        (
            "rds_cluster_snapshot_not_public",
            "fail",
            csnap("aur-plain-public"),
        ),
        ("ebs_volume_encrypted", "pass", vol(&m.vol_enc)),
        ("ebs_volume_encrypted", "fail", vol(&m.vol_plain)),
        ("ebs_volume_encrypted", "pass", vol(&m.host_ebs.1)),
        ("ebs_volume_encrypted", "fail", vol(&m.host_luks.1)),
        ("ebs_volume_encrypted", "pass", vol(&m.host_wallet.1)),
        ("ebs_volume_encrypted", "pass", vol(&m.host_hsm.1)),
        ("ebs_volume_encrypted", "fail", vol(&m.app_server.1)),
        ("ebs_snapshot_encrypted", "pass", ebs_snap(&m.snap_enc)),
        ("ebs_snapshot_encrypted", "fail", ebs_snap(&m.snap_public)),
        ("ebs_snapshot_not_public", "pass", ebs_snap(&m.snap_enc)),
        ("ebs_snapshot_not_public", "fail", ebs_snap(&m.snap_public)),
        ("ebs_default_encryption_enabled", "pass", ebs_default_arn(A)),
        ("ebs_default_encryption_enabled", "fail", ebs_default_arn(B)),
        ("kms_key_rotation_enabled", "pass", m.k_rot.clone()),
        ("kms_key_rotation_enabled", "fail", m.k_norot.clone()),
        (
            "kms_key_rotation_enabled",
            "not_applicable",
            m.k_pending.clone(),
        ),
        ("kms_key_rotation_enabled", "pass", m.k_public.clone()),
        ("kms_key_rotation_enabled", "pass", m.k_deputy.clone()),
        (
            "kms_key_rotation_enabled",
            "not_applicable",
            m.k_hsm.clone(),
        ),
        (
            "kms_key_rotation_enabled",
            "not_applicable",
            m.k_aws_rds.clone(),
        ),
        (
            "kms_key_in_use_not_pending_deletion",
            "pass",
            m.k_rot.clone(),
        ),
        (
            "kms_key_in_use_not_pending_deletion",
            "pass",
            m.k_norot.clone(),
        ),
        (
            "kms_key_in_use_not_pending_deletion",
            "fail",
            m.k_pending.clone(),
        ),
        (
            "kms_key_in_use_not_pending_deletion",
            "pass",
            m.k_hsm.clone(),
        ),
        (
            "kms_key_in_use_not_pending_deletion",
            "pass",
            m.k_aws_rds.clone(),
        ),
        ("kms_key_in_use_enabled", "pass", m.k_rot.clone()),
        ("kms_key_in_use_enabled", "pass", m.k_norot.clone()),
        (
            "kms_key_in_use_enabled",
            "not_applicable",
            m.k_pending.clone(),
        ),
        ("kms_key_in_use_enabled", "pass", m.k_hsm.clone()),
        ("kms_key_in_use_enabled", "pass", m.k_aws_rds.clone()),
    ];
    for key in [
        &m.k_rot,
        &m.k_norot,
        &m.k_pending,
        &m.k_public,
        &m.k_deputy,
        &m.k_hsm,
    ] {
        let public = if key == &m.k_public { "fail" } else { "pass" };
        let deputy = if key == &m.k_deputy { "fail" } else { "pass" };
        want.push(("kms_key_policy_no_public_principal", public, key.clone()));
        // `*` includes AWS services: the public key lets any service use it, unbound.
        let unbound = if key == &m.k_deputy || key == &m.k_public {
            "fail"
        } else {
            "pass"
        };
        want.push((
            "kms_key_policy_service_confused_deputy",
            unbound,
            key.clone(),
        ));
        want.push(("kms_key_policy_separation_of_duties", deputy, key.clone()));
    }
    // The access checks: no grant, no IAM principal and no other account reaches any key here.
    for key in [
        &m.k_rot,
        &m.k_norot,
        &m.k_pending,
        &m.k_public,
        &m.k_deputy,
        &m.k_hsm,
        &m.k_aws_rds,
    ] {
        want.push(("kms_key_grants_no_external_grantee", "pass", key.clone()));
    }
    // The database keys (the ones behind an instance, cluster or snapshot).
    for key in [&m.k_rot, &m.k_norot, &m.k_pending, &m.k_hsm, &m.k_aws_rds] {
        want.push((
            "kms_database_key_no_cross_account_decrypt",
            "pass",
            key.clone(),
        ));
        want.push(("kms_key_no_unconstrained_create_grant", "pass", key.clone()));
    }
    // Shared with another account under a customer managed key.
    want.push((
        "shared_snapshot_not_aws_managed_key",
        "pass",
        snap("pg-enc-shared"),
    ));
    assert_eq!(findings(&live), set(&want));

    let got_dbs = databases(&live);
    let want_dbs: BTreeSet<(String, String)> = [
        (cl("aur-enc"), "1"),
        (cl("aur-plain"), "unencrypted"),
        (db("my-plain"), "unencrypted"),
        (db("ora-tde"), "1"),
        (db("pg-enc"), "1"),
        (db("pg-pending"), "1"),
        (db("pg-hsm"), "2"),
        (rds_arn(B, "db", "pg-sa"), "unencrypted"),
        (instance_arn(A, &m.host_ebs.0), "3"),
        (instance_arn(A, &m.host_hsm.0), "4"),
        (instance_arn(A, &m.host_luks.0), "5"),
        (instance_arn(A, &m.host_wallet.0), "6"),
    ]
    .into_iter()
    .map(|(r, o)| (r, o.to_string()))
    .collect();
    assert_eq!(got_dbs, want_dbs);
    let ora = live["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["resource"] == db("ora-tde"))
        .unwrap();
    assert_eq!(ora["evidence"]["tde_option_group"], "ora-tde");
    assert_eq!(
        ora["evidence"]["keys"][0]["manager"], "aws_managed",
        "the aws/rds key is AWS managed"
    );
    let hsm = live["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["resource"] == db("pg-hsm"))
        .unwrap();
    assert_eq!(hsm["evidence"]["keys"][0]["key_store"], "cloudhsm");
    assert_eq!(hsm["evidence"]["keys"][0]["origin"], "AWS_CLOUDHSM");

    // The endpoint does not implement GetEbsDefaultKmsKeyId: reported per region, and nothing else failed.
    let want_errors: BTreeSet<Triple> = [A, B]
        .iter()
        .map(|r| {
            (
                r.to_string(),
                "ec2".to_string(),
                "GetEbsDefaultKmsKeyId".to_string(),
            )
        })
        .collect();
    assert_eq!(errors(&live), want_errors);

    // The saved inventory audits offline to the same findings and classifications.
    let mut cmd = atrest();
    cmd.args(["audit", "--format", "json", "--inventory-in"])
        .arg(&saved);
    let offline = run(&mut cmd);
    assert_eq!(offline.status.code(), Some(4), "{}", stderr(&offline));
    let offline = report(&offline);
    assert_eq!(offline["source"], "inventory");
    for field in [
        "findings",
        "databases",
        "errors",
        "summary",
        "account",
        "regions",
        "started",
        "finished",
    ] {
        assert_eq!(offline[field], live[field], "{field} differs");
    }
}

#[test]
fn a_region_the_endpoint_rejects_is_reported_and_the_rest_is_audited() {
    const REGION: &str = "ca-central-1";
    // Well formed, so accepted by the command line, but unknown to the endpoint: every call there fails (HTTP 500).
    const BAD: &str = "xx-invalid-1";
    let volume = block_on(async { Seed::new(REGION).await.volume(None).await });
    let out = audit(&["--regions", &format!("{REGION},{BAD}"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(
        findings(&r),
        set(&[
            ("ebs_volume_encrypted", "fail", volume_arn(REGION, &volume)),
            (
                "ebs_default_encryption_enabled",
                "fail",
                ebs_default_arn(REGION)
            ),
        ])
    );
    let mut want: BTreeSet<Triple> = BTreeSet::new();
    want.insert((REGION.into(), "ec2".into(), "GetEbsDefaultKmsKeyId".into()));
    for (service, operation) in [
        ("rds", "DescribeDBInstances"),
        ("rds", "DescribeDBClusters"),
        ("rds", "DescribeDBSnapshots"),
        ("rds", "DescribeDBClusterSnapshots"),
        ("ec2", "DescribeVolumes"),
        ("ec2", "DescribeSnapshots"),
        ("ec2", "DescribeInstances"),
        ("ec2", "GetEbsEncryptionByDefault"),
        ("ec2", "GetEbsDefaultKmsKeyId"),
        ("kms", "ListKeys"),
        ("kms", "ListAliases"),
    ] {
        want.insert((BAD.into(), service.into(), operation.into()));
    }
    assert_eq!(errors(&r), want);
    for e in r["errors"].as_array().unwrap() {
        assert!(
            e["message"].as_str().unwrap().starts_with("HTTP 500: "),
            "{e}"
        );
    }
    assert!(
        stderr(&out).contains("warning: 12 API call(s) failed"),
        "{}",
        stderr(&out)
    );
    // The table shows the failing calls too.
    let table = audit(&["--regions", &format!("{REGION},{BAD}")]);
    assert!(stdout(&table).contains("API errors (the audit went on without these)"));
}

#[test]
fn an_unreachable_service_endpoint_is_reported_and_env_endpoints_are_honoured() {
    const REGION: &str = "eu-south-1";
    block_on(async {
        let s = Seed::new(REGION).await;
        s.key(None, true).await;
        s.db("solo", "postgres", "16.3", None).await;
        s.delete_automated_snapshots().await;
        s.instance(&[("role", "database"), ("atrest:encryption", "luks")], None)
            .await;
        s.instance(&[("atrest:database", "yes")], None).await;
    });
    // A port nothing listens on: KMS calls fail to connect while RDS and EC2 reach the endpoint.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut cmd = atrest();
    cmd.env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ENDPOINT_URL_KMS", format!("http://127.0.0.1:{closed}"))
        .args([
            "audit",
            "--region",
            REGION,
            "--db-tag",
            "role=database",
            "--format",
            "json",
        ]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(
        r["regions"],
        serde_json::json!([REGION]),
        "the configured region is the default"
    );
    let kms_errors: BTreeSet<Triple> = errors(&r).into_iter().filter(|e| e.1 == "kms").collect();
    assert_eq!(
        kms_errors,
        [("ListAliases"), ("ListKeys")]
            .iter()
            .map(|op| (REGION.to_string(), "kms".to_string(), op.to_string()))
            .collect()
    );
    let f = findings(&r);
    assert!(f.contains(&(
        "rds_instance_storage_encrypted".into(),
        "fail".into(),
        rds_arn(REGION, "db", "solo")
    )));
    assert!(
        f.iter().all(|(check, _, _)| !check.starts_with("kms_")),
        "no key was read: {f:?}"
    );
    // Only the host carrying the --db-tag tag is a database.
    let dbs = databases(&r);
    let hosts: Vec<_> = dbs
        .iter()
        .filter(|(res, _)| res.contains(":instance/"))
        .collect();
    assert_eq!(hosts.len(), 1, "{dbs:?}");
    assert_eq!(hosts[0].1, "5");
}

#[test]
fn regions_all_reads_every_enabled_region() {
    let expected: Vec<String> = block_on(async {
        let conf = sdk("ap-northeast-3").await;
        let out = aws_sdk_ec2::Client::new(&conf)
            .describe_regions()
            .send()
            .await
            .unwrap();
        let mut names: Vec<String> = out
            .regions()
            .iter()
            .map(|r| r.region_name().unwrap().to_string())
            // The endpoint lists the China and GovCloud regions too; the account's credentials (partition
            // `aws`) are valid in its own partition only, so the audit keeps those.
            .filter(|r| !r.starts_with("cn-") && !r.starts_with("us-gov-"))
            .collect();
        names.sort();
        names
    });
    let mut cmd = atrest();
    cmd.env("AWS_MAX_ATTEMPTS", "1")
        .args([
            "audit",
            "--endpoint-url",
            &moto_endpoint(),
            "--region",
            "ap-northeast-3",
            "--regions",
            "all",
        ])
        .args(["--format", "json"]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    let got: Vec<String> = r["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, expected);
    assert!(got.len() > 20, "{got:?}");
}

/// Grants are read into the inventory (ListGrants): grantee, operations and context constraints; a saved
/// inventory without them says "not collected" by leaving the field out.
#[test]
fn key_grants_are_collected_with_their_constraints() {
    const REGION: &str = "us-west-1";
    let (key, grant_id) = block_on(async {
        let s = Seed::new(REGION).await;
        let key = s.key(None, false).await;
        let grant = s
            .kms
            .create_grant()
            .key_id(&key)
            .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:role/app"))
            .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
            .operations(aws_sdk_kms::types::GrantOperation::GenerateDataKey)
            .constraints(
                aws_sdk_kms::types::GrantConstraints::builder()
                    .encryption_context_subset("atrest:table", "users")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        (key, grant.grant_id().unwrap().to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("inventory.json");
    let out = audit(&[
        "--regions",
        REGION,
        "--format",
        "json",
        "--inventory-out",
        saved.to_str().unwrap(),
    ]);
    assert!(matches!(out.status.code(), Some(0 | 4)), "{}", stderr(&out));
    let inventory: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let entry = inventory["kms_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["arn"] == key.as_str())
        .unwrap_or_else(|| panic!("key {key} not collected: {inventory}"));
    let grants = entry["grants"]
        .as_array()
        .unwrap_or_else(|| panic!("no grants: {entry}"));
    assert_eq!(grants.len(), 1, "{entry}");
    let g = &grants[0];
    assert_eq!(g["grant_id"], grant_id.as_str());
    assert_eq!(
        g["grantee_principal"],
        format!("arn:aws:iam::{ACCOUNT}:role/app")
    );
    let mut ops: Vec<&str> = g["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    ops.sort();
    assert_eq!(ops, ["Decrypt", "GenerateDataKey"]);
    assert_eq!(
        g["encryption_context_subset"],
        serde_json::json!({"atrest:table": "users"})
    );
    assert!(g.get("encryption_context_equals").is_none(), "{g}");
}
