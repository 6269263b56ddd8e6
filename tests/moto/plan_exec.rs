//! `atrest plan` runbooks executed against the local AWS endpoint: the endpoint is seeded with a fleet's databases
//! (unencrypted RDS PostgreSQL and MySQL with a read replica, an Aurora PostgreSQL cluster under aws/rds, an EC2
//! database host with an unencrypted EBS volume), `atrest plan --out` writes the scripts for a matching inventory
//! (PostgreSQL and Aurora on one shared storage key, MySQL on a key of its own),
//! the pinned AWS CLI runs them in wave order, and `atrest audit` must then find every database on its planned
//! option under its planned key, with the plaintext originals gone.
//!
//! Not executed here, because the endpoint lacks the API or they are not AWS CLI steps:
//! - SQL, host and manual steps (write freeze, cryptsetup, TDE SQL, DMS endpoints): the scripts print them and
//!   pause only when run from a terminal;
//! - `00-organization.sh` (AWS Organizations SCP, management account);
//! - the rollback scripts (they would undo the cut-over this test checks);
//! - `copy-option-group` (no TDE database in this fleet; the endpoint has no CopyOptionGroup),
//!   `start-db-instance-automated-backups-replication`, cross-Region DR and cross-account sharing (the inventory
//!   has none), `cloudhsmv2` and custom key stores (the endpoint has neither), `aws dms`;
//! - an unencrypted Aurora cluster: the endpoint's RestoreDBClusterFromSnapshot ignores `KmsKeyId` for an
//!   unencrypted snapshot, so the cluster here starts under aws/rds (the re-key path, same commands).
#![cfg(feature = "aws")]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::seed::Seed;
use crate::support::{atrest, block_on, moto_endpoint, repo_path, run, stderr, stdout};

const REGION: &str = "eu-west-2";
const ACCOUNT: &str = "123456789012";

const INVENTORY: &str =
    "name,engine,version,hosting,encryption,region,read_replicas,overrides,size_gib
exec-pg,postgres,16.4,rds,none,eu-west-2,,,20
exec-mysql,mysql,8.0.39,rds,none,eu-west-2,exec-mysql-ro,data.granularity=database,20
exec-aurora,aurora-postgresql,16.4,aurora,rds-aws-managed,eu-west-2,,,
exec-ec2,postgres,16.4,ec2,none,eu-west-2,,database.hosting=self-managed,20
";

fn venv() -> PathBuf {
    std::env::var("ATREST_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_path(".cache/moto-venv"))
}

async fn seed() {
    let s = Seed::new(REGION).await;
    s.db("exec-pg", "postgres", "16.4", None).await;
    s.db("exec-mysql", "mysql", "8.0.39", None).await;
    s.rds
        .create_db_instance_read_replica()
        .db_instance_identifier("exec-mysql-ro")
        .source_db_instance_identifier("exec-mysql")
        .db_instance_class("db.m5.large")
        .send()
        .await
        .unwrap();
    let aws_rds = s
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
    s.cluster("exec-aurora", "aurora-postgresql", "16.4", Some(&aws_rds))
        .await;
    s.rds
        .create_db_instance()
        .db_instance_identifier("exec-aurora-1")
        .db_cluster_identifier("exec-aurora")
        .engine("aurora-postgresql")
        .db_instance_class("db.r6g.large")
        .send()
        .await
        .unwrap();
    s.instance(
        &[
            ("atrest:database", "exec-ec2"),
            ("atrest:engine", "postgres"),
        ],
        None,
    )
    .await;
}

/// An `aws` on PATH that is the pinned AWS CLI pointed at the local endpoint.
fn aws_wrapper(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cli = venv().join("bin/aws");
    assert!(
        cli.is_file(),
        "the pinned AWS CLI is missing at {}: run scripts/moto-env.sh",
        cli.display()
    );
    let wrapper = bin.join("aws");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec '{}' --endpoint-url '{}' \"$@\"\n",
            cli.display(),
            moto_endpoint()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn run_script(script: &Path, bin: &Path) {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(Command::new("bash")
        .arg(script)
        .env("PATH", path)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(std::process::Stdio::null()));
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        script.display(),
        stdout(&out),
        stderr(&out)
    );
}

fn scripts_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_generated_runbooks_run_and_the_audit_agrees_with_the_plan() {
    block_on(seed());
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("fleet.csv");
    std::fs::write(&inventory, INVENTORY).unwrap();
    let out_dir = dir.path().join("plan");
    let planned = run(atrest()
        .arg("plan")
        .arg("-i")
        .arg(&inventory)
        .args(["--account-id", ACCOUNT, "--format", "json", "--out"])
        .arg(&out_dir));
    assert!(planned.status.success(), "{}", stderr(&planned));
    let plan: Value = serde_json::from_str(&stdout(&planned)).unwrap();
    let targets: Vec<(String, u64)> = plan["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["recommendation"]["recommended"]["option"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("exec-pg".to_string(), 1),
            ("exec-mysql".to_string(), 1),
            ("exec-aurora".to_string(), 1),
            ("exec-ec2".to_string(), 3)
        ]
    );

    let bin = aws_wrapper(dir.path());
    run_script(&out_dir.join("00-fleet.sh"), &bin);
    for wave in ["10-primaries", "20-replicas", "30-dr", "cleanup"] {
        for script in scripts_in(&out_dir.join(wave)) {
            run_script(&script, &bin);
        }
    }

    let audited = run(atrest()
        .arg("audit")
        .arg("--endpoint-url")
        .arg(moto_endpoint())
        .args(["--regions", REGION, "--format", "json"]));
    let report: Value = serde_json::from_str(&stdout(&audited))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&audited), stderr(&audited)));
    let dbs = report["databases"].as_array().unwrap();
    let find = |id: &str| {
        dbs.iter()
            .find(|d| d["id"] == id)
            .unwrap_or_else(|| panic!("`{id}` not in the audit: {dbs:#?}"))
    };
    let key_alias = |d: &Value| -> Vec<String> {
        d["evidence"]["keys"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|k| k["alias"].as_str().map(str::to_string))
            .collect()
    };
    for (id, alias) in [
        // PostgreSQL and Aurora share one storage key (created by 00-fleet.sh); MySQL asks for its own.
        ("exec-pg", "alias/atrest/shared-rds-general-eu-west-2"),
        ("exec-mysql", "alias/atrest/exec-mysql-storage"),
        ("exec-mysql-ro", "alias/atrest/exec-mysql-storage"),
        ("exec-aurora", "alias/atrest/shared-rds-general-eu-west-2"),
    ] {
        let d = find(id);
        assert_eq!(d["option"], 1, "{id}: {d:#}");
        assert_eq!(key_alias(d), [alias], "{id}: {d:#}");
    }
    let host = dbs
        .iter()
        .find(|d| {
            d["kind"].to_string().contains("ec2")
                || d["resource"].to_string().contains(":instance/")
        })
        .unwrap_or_else(|| panic!("no EC2 host in the audit: {dbs:#?}"));
    assert_eq!(host["option"], 3, "{host:#}");
    assert_eq!(
        key_alias(host),
        ["alias/atrest/exec-ec2-storage"],
        "{host:#}"
    );
    for gone in [
        "exec-pg-old",
        "exec-mysql-old",
        "exec-mysql-ro-old",
        "exec-aurora-old",
        "exec-pg-enc",
    ] {
        assert!(
            dbs.iter().all(|d| d["id"] != gone),
            "`{gone}` should be gone after the clean-up"
        );
    }
    for d in dbs {
        assert_ne!(d["option"], "unencrypted", "plaintext left behind: {d:#}");
    }
}
