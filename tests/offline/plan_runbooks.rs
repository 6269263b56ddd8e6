//! `atrest plan` runbooks and key policies on a mixed fleet (`tests/fixtures/plan/review-fleet.csv`): each test
//! pins one behaviour a DBA or security architect relies on, and failed on the plans made before it (per-database
//! EBS default keys, TDE on the old instance, `luksFormat` on LUKS data, Aurora through instance APIs, restores
//! without production settings, cut-over or rollback, invalid RDS engine versions, unused service principals).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::cli::json;
use crate::support::{atrest, repo_path, run, stderr};

fn plan_json(extra: &[&str]) -> Value {
    let fleet = repo_path("tests/fixtures/plan/review-fleet.csv");
    let out = run(atrest()
        .arg("plan")
        .arg("-i")
        .arg(&fleet)
        .args(["--format", "json", "--share-with", "444455556666"])
        .args(extra));
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out)
}

fn databases(plan: &Value) -> BTreeMap<String, Value> {
    plan["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

/// Every command of a database, optionally only those that run in `runs` (`aws`, `sql`, `host`, `manual`).
fn commands(db: &Value, runs: Option<&str>) -> Vec<String> {
    db["runbook"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["commands"].as_array().cloned().unwrap_or_default())
        .filter(|c| runs.is_none_or(|r| c["runs"] == r))
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect()
}

fn text(db: &Value) -> String {
    commands(db, None).join("\n")
}

fn titles(db: &Value) -> Vec<(String, String)> {
    db["runbook"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["phase"].as_str().unwrap().to_string(),
                s["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_ebs_default_key_is_decided_once_per_region_with_a_shared_key() {
    let plan = plan_json(&[]);
    let dbs = databases(&plan);
    for (name, db) in &dbs {
        assert!(
            !text(db).contains("modify-ebs-default-kms-key-id"),
            "{name} changes the account-wide EBS default"
        );
    }
    let steps = plan["fleet"]["steps"].as_array().unwrap();
    let fleet: Vec<String> = steps
        .iter()
        .flat_map(|s| s["commands"].as_array().unwrap().clone())
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect();
    let defaults: Vec<&String> = fleet
        .iter()
        .filter(|c| c.contains("modify-ebs-default-kms-key-id"))
        .collect();
    assert_eq!(
        defaults.len(),
        2,
        "one per Region with EC2 databases: {defaults:?}"
    );
    assert!(defaults.iter().all(|c| c.contains("$key_ebs_default")));
    let shared = plan["fleet"]["shared_keys"].as_array().unwrap();
    let us = shared.iter().find(|k| k["region"] == "us-east-1").unwrap();
    assert_eq!(us["alias"], "alias/atrest/ebs-default");
    assert_eq!(us["key_store"], "standard", "not the XKS key of ebsxks");
    let users: Vec<&str> = us["used_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(users.contains(&"reporting-pg") && users.contains(&"ebsxks"));
    let policy = us["policy"].to_string();
    assert!(policy.contains("AWSServiceRoleForAutoScaling"));
    assert!(policy.contains("EveryAccountPrincipalThroughEC2"));
}

#[test]
fn rds_tde_uses_a_copied_option_group_on_the_new_instance_and_encrypts_columns() {
    let dbs = databases(&plan_json(&[]));
    let erp = &dbs["erp-oracle"];
    let all = text(erp);
    assert!(all.contains("aws rds copy-option-group"), "{all}");
    assert!(all.contains(
        "add-option-to-option-group --region us-east-1 --option-group-name erp-oracle-tde"
    ));
    assert!(all.contains("restore+=(--option-group-name erp-oracle-tde)"));
    assert!(
        !all.contains("--db-instance-identifier erp-oracle --option-group-name"),
        "the old instance's option group is never changed"
    );
    assert!(all.contains("ALTER TABLE cards MODIFY (pan ENCRYPT USING 'AES256' NO SALT);"));
    assert!(all.contains("--major-engine-version 19 "));
    assert!(
        all.contains("create-option-group --region eu-west-1 --option-group-name erp-oracle-tde"),
        "the DR copy gets a TDE option group in its Region"
    );
    assert!(all.contains("create-db-instance-read-replica --region eu-west-1"));
    assert!(all.contains("--option-group-name erp-oracle-tde"));
}

#[test]
fn luks_on_luks_data_rekeys_by_key_slots_and_never_formats() {
    let dbs = databases(&plan_json(&[]));
    let vault = text(&dbs["vault-pg-luks"]);
    assert!(!vault.contains("luksFormat"), "{vault}");
    for needed in [
        "luksKillSlot",
        "cryptsetup reencrypt",
        "luksHeaderBackup",
        "scp ",
        "shred -u",
    ] {
        assert!(vault.contains(needed), "{needed} missing: {vault}");
    }
    assert!(
        vault.contains("tang"),
        "customer-held keys unlock through Tang, not NitroTPM"
    );
    let events = text(&dbs["events"]);
    assert!(events.contains("luksFormat --type luks2 --pbkdf pbkdf2"));
    assert!(events.contains("UUID=$(cryptsetup luksUUID"));
    assert!(!events.contains("/dev/nvme1n1"));
    assert!(events.contains("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"));
    assert!(events.contains("systemctl enable clevis-luks-askpass.path"));
    assert!(
        !events.contains("/root/"),
        "the header backup leaves the host"
    );
    assert!(
        events.contains("aws ec2 run-instances"),
        "the host is provisioned"
    );
    assert!(events.contains("/etc/fstab") && events.contains("rsync -aHAX"));
    for line in events.lines().filter(|l| l.contains("/etc/crypttab")) {
        assert!(
            !(line.contains("_netdev") && events.contains("tpm2")),
            "_netdev only with Tang: {line}"
        );
    }
}

#[test]
fn aurora_goes_through_the_cluster_apis() {
    let dbs = databases(&plan_json(&[]));
    let billing = &dbs["billing-aurora"];
    let all = text(billing);
    assert!(!all.contains("create-db-instance-read-replica"), "{all}");
    assert!(all.contains("create-db-instance --region us-east-1 --db-cluster-identifier billing-aurora --db-instance-identifier billing-aurora-r1-enc"));
    assert!(all.contains("restore-db-cluster-from-snapshot"));
    assert!(all.contains(
        "--db-cluster-identifier billing-aurora-enc --db-instance-identifier \"$m-enc\""
    ));
    assert!(all.contains("copy-db-cluster-snapshot --region eu-west-1 --source-region us-east-1 --source-db-cluster-snapshot-identifier arn:aws:rds:us-east-1:111122223333:cluster-snapshot:billing-aurora-dr-seed"));
    assert!(!all.contains(":snapshot:billing-aurora"));
    assert!(
        all.contains("create-global-cluster"),
        "Global Database secondary"
    );
    assert!(all.contains("modify-db-cluster-snapshot-attribute"));
    assert!(all.contains("--new-db-cluster-identifier billing-aurora-old"));
    let inventory = text(&dbs["inventory-aurora-mysql"]);
    assert!(inventory.contains("aws rds describe-db-clusters --region us-east-1 --db-cluster-identifier inventory-aurora-mysql"));
    assert!(!inventory.contains(
        "describe-db-instances --region us-east-1 --db-instance-identifier inventory-aurora-mysql"
    ));
}

#[test]
fn restores_are_production_shaped_with_cutover_rollback_and_cleanup() {
    let dbs = databases(&plan_json(&[]));
    let crm = &dbs["crm-mysql"];
    let all = text(crm);
    for needed in [
        "--db-subnet-group-name",
        "--vpc-security-group-ids",
        "--db-parameter-group-name",
        "--multi-az",
        "--deletion-protection",
        "--tags Key=atrest:encrypted-from,Value=crm-mysql",
        "aws rds wait db-snapshot-available",
        "aws rds wait db-instance-available",
        "--new-db-instance-identifier crm-mysql-old",
        "--db-instance-identifier crm-mysql-enc --new-db-instance-identifier crm-mysql",
        "delete-db-snapshot --region us-east-1 --db-snapshot-identifier crm-mysql-pre-encryption",
        "--delete-automated-backups",
        "create-db-instance-read-replica --region us-east-1 --db-instance-identifier crm-mysql-ro-enc",
        "modify-db-snapshot-attribute --region us-east-1 --db-snapshot-identifier crm-mysql-share --attribute-name restore --values-to-add 444455556666",
    ] {
        assert!(all.contains(needed), "{needed} missing");
    }
    let phases: Vec<String> = titles(crm).into_iter().map(|(p, _)| p).collect();
    for p in [
        "prepare", "migrate", "cutover", "replicas", "rollback", "cleanup",
    ] {
        assert!(phases.iter().any(|x| x == p), "no {p} phase: {phases:?}");
    }
    let sorted = {
        let order = [
            "prepare",
            "migrate",
            "cutover",
            "replicas",
            "dr",
            "verify",
            "rollback",
            "cleanup",
            "alternative",
        ];
        let idx: Vec<usize> = phases
            .iter()
            .map(|p| order.iter().position(|o| o == p).unwrap())
            .collect();
        idx.windows(2).all(|w| w[0] <= w[1])
    };
    assert!(sorted, "steps in phase order: {phases:?}");
    assert!(
        commands(crm, Some("manual"))
            .iter()
            .any(|c| c.contains("stop the application's writers")),
        "write freeze before the snapshot"
    );
}

#[test]
fn large_rds_databases_get_a_minimal_downtime_path() {
    let dbs = databases(&plan_json(&[]));
    let orders = &dbs["orders-pg"];
    assert_eq!(orders["downtime"]["class"], "replication-cutover");
    assert!(
        titles(orders)
            .iter()
            .any(|(p, t)| p == "alternative" && t.starts_with("Minimal-downtime path"))
    );
    assert!(text(orders).contains("CREATE PUBLICATION"));
    let crm = &dbs["crm-mysql"];
    assert_eq!(crm["downtime"]["class"], "snapshot-restore");
    assert_eq!(crm["downtime"]["estimate_minutes"], 92, "120 GiB");
}

#[test]
fn cross_region_dr_recreates_a_replica_and_backup_replication_under_the_destination_key() {
    let dbs = databases(&plan_json(&[]));
    let all = text(&dbs["orders-pg"]);
    assert!(all.contains("create-db-instance-read-replica --region us-west-2 --db-instance-identifier orders-pg-us-west-2 --source-db-instance-identifier arn:aws:rds:us-east-1:111122223333:db:orders-pg --source-region us-east-1 --kms-key-id \"$key_orders_pg_storage_us_west_2\""));
    assert!(all.contains("start-db-instance-automated-backups-replication --region us-west-2"));
    assert!(!all.contains("<snapshot>"));
}

#[test]
fn replicas_are_recreated_under_new_names_and_swapped() {
    let dbs = databases(&plan_json(&[]));
    let all = text(&dbs["orders-pg"]);
    for r in ["orders-pg-ro1", "orders-pg-ro2"] {
        assert!(all.contains(&format!(
            "--db-instance-identifier {r}-enc --source-db-instance-identifier orders-pg"
        )));
        assert!(all.contains(&format!(
            "--db-instance-identifier {r} --new-db-instance-identifier {r}-old"
        )));
        assert!(all.contains(&format!(
            "delete-db-instance --region us-east-1 --db-instance-identifier {r}-old"
        )));
    }
}

#[test]
fn tde_on_ec2_moves_the_existing_wallet_and_cloudhsm_is_set_up_fully() {
    let dbs = databases(&plan_json(&[]));
    let ledger = text(&dbs["ledger"]);
    for needed in [
        "EXPORT ENCRYPTION KEYS",
        "IMPORT ENCRYPTION KEYS",
        "WALLET_ROOT",
        "TDE_CONFIGURATION",
        "AUTO_LOGIN",
        "aws ec2 run-instances",
    ] {
        assert!(ledger.contains(needed), "{needed} missing: {ledger}");
    }
    let ora7 = text(&dbs["ora7"]);
    assert!(!ora7.contains("METHOD=HSM"));
    for needed in [
        "initialize-cluster",
        "cluster activate",
        "--role crypto-user",
        "libcloudhsm_pkcs11.so",
        "KEYSTORE_CONFIGURATION=HSM|FILE",
        "--region us-east-1 --cluster-id",
    ] {
        assert!(ora7.contains(needed), "{needed} missing");
    }
    assert_eq!(ora7.matches("aws cloudhsmv2 create-hsm").count(), 2);
}

#[test]
fn custom_key_stores_get_every_step_and_xks_its_own() {
    let dbs = databases(&plan_json(&[]));
    let sovereign = text(&dbs["sovereign-pg"]);
    for needed in [
        "create-custom-key-store --region eu-central-1",
        "--cloud-hsm-cluster-id",
        "kmsuser",
        "initialize-cluster",
        "connect-custom-key-store --region eu-central-1",
        "--origin AWS_CLOUDHSM",
    ] {
        assert!(sovereign.contains(needed), "{needed} missing");
    }
    assert_eq!(sovereign.matches("aws cloudhsmv2 create-hsm").count(), 2);
    assert!(
        !sovereign.contains("enable-key-rotation"),
        "custom-key-store keys cannot rotate"
    );
    let xks = text(&dbs["ebsxks"]);
    assert!(xks.contains("--custom-key-store-type EXTERNAL_KEY_STORE --xks-proxy-uri-endpoint"));
    assert!(xks.contains("--origin EXTERNAL_KEY_STORE"));
    assert!(!xks.contains("cloudhsmv2"));
}

#[test]
fn aws_managed_ebs_volumes_are_rekeyed() {
    let dbs = databases(&plan_json(&[]));
    let all = text(&dbs["payments-mssql"]);
    assert!(all.contains("copy-snapshot --region us-east-1 --source-region us-east-1 --source-snapshot-id \"$snap\" --encrypted --kms-key-id \"$key_shared_ebs_general_us_east_1\""));
    assert!(all.contains("attach-volume"));
}

#[test]
fn engine_versions_and_master_user_secrets_take_their_rds_form() {
    let dbs = databases(&plan_json(&[]));
    let se2 = text(&dbs["legacy-oracle-se2"]);
    assert!(
        se2.contains("starts_with(EngineVersion, '19.0.0.0.ru')"),
        "{se2}"
    );
    assert!(!se2.contains("--engine-version 19.0.0.0 "));
    assert!(se2.contains("--manage-master-user-password --master-user-secret-kms-key-id \"$key_shared_rds_secrets_general_us_east_1\""));
    let db2 = text(&dbs["gl-db2"]);
    assert!(db2.contains("starts_with(EngineVersion, '11.5.9.')"));
    let steps = dbs["gl-db2"]["runbook"].to_string();
    assert!(steps.contains("rds.ibm_customer_id"));
}

#[test]
fn always_encrypted_is_done_with_client_tooling() {
    let dbs = databases(&plan_json(&[]));
    let hr = text(&dbs["hr-sqlserver"]);
    assert!(!hr.contains("ENCRYPTED_VALUE = <value>"));
    for needed in [
        "New-SqlColumnMasterKey",
        "New-SqlColumnEncryptionKey",
        "Set-SqlColumnEncryption",
        "-EncryptionType Deterministic",
    ] {
        assert!(hr.contains(needed), "{needed} missing");
    }
    let detail = dbs["hr-sqlserver"]["runbook"].to_string();
    assert!(detail.contains("randomized") && detail.contains("through the client"));
}

#[test]
fn key_policies_name_no_unused_service_principal_and_say_why() {
    let dbs = databases(&plan_json(&[]));
    let orders = &dbs["orders-pg"];
    for k in orders["keys"].as_array().unwrap() {
        let policy = k["policy"].to_string();
        assert!(!policy.contains("\"Service\""), "{policy}");
        assert!(!policy.contains("arn:aws:export:"));
        assert!(!policy.contains("GenerateDataKey*"));
        let root = &k["policy"]["Statement"][0];
        assert!(
            root["Action"]
                .to_string()
                .contains("kms:GetKeyRotationStatus")
        );
    }
    let notes = orders["keys"][0]["notes"].to_string();
    assert!(notes.contains("dms.amazonaws.com") && notes.contains("export.rds.amazonaws.com"));
}

#[test]
fn cell_keys_are_confined_to_the_listed_columns_with_a_reader() {
    let dbs = databases(&plan_json(&[
        "--app-reader",
        "arn:aws:iam::111122223333:role/Reporting",
    ]));
    let billing = &dbs["billing-aurora"];
    let cells = billing["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alias"] == "alias/atrest/billing-aurora-cells")
        .unwrap();
    let policy = cells["policy"].to_string();
    assert!(policy.contains("\"kms:EncryptionContext:atrest:table\":\"cards\""));
    assert!(policy.contains("\"kms:EncryptionContext:atrest:column\":[\"pan\"]"));
    assert!(policy.contains("arn:aws:iam::111122223333:role/Reporting"));
    assert!(
        cells["notes"].to_string().contains("not shared"),
        "the cell key is not shared, and the plan says so"
    );
}

#[test]
fn rds_aws_steps_need_no_placeholders() {
    let dbs = databases(&plan_json(&[]));
    for name in [
        "orders-pg",
        "crm-mysql",
        "billing-aurora",
        "inventory-aurora-mysql",
        "reporting-pg",
        "payments-mssql",
    ] {
        let db = &dbs[name];
        for step in db["runbook"].as_array().unwrap() {
            if step["phase"] == "alternative" {
                continue;
            }
            for c in step["commands"].as_array().unwrap() {
                if c["runs"] != "aws" {
                    continue;
                }
                let t = c["text"].as_str().unwrap();
                let placeholder = t
                    .split_whitespace()
                    .any(|w| w.starts_with('<') && w.len() > 2 && !w.starts_with("<<<"));
                assert!(!placeholder, "{name}: placeholder in `{t}`");
            }
        }
    }
}

#[test]
fn the_scp_and_the_files_are_written_and_referred_to() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("plan");
    let fleet = repo_path("tests/fixtures/plan/review-fleet.csv");
    let out = run(atrest()
        .arg("plan")
        .arg("-i")
        .arg(&fleet)
        .args([
            "--format",
            "markdown",
            "--share-with",
            "444455556666",
            "--break-glass-role",
            "arn:aws:iam::111122223333:role/BreakGlass",
        ])
        .arg("--out")
        .arg(&out_dir));
    assert!(out.status.success(), "{}", stderr(&out));
    let md = crate::support::stdout(&out);
    let scp: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("scp.json")).unwrap()).unwrap();
    assert_eq!(scp["Statement"][0]["Action"], "kms:PutKeyPolicy");
    assert_eq!(
        scp["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        "arn:aws:iam::111122223333:role/BreakGlass"
    );
    for f in [
        "00-fleet.sh",
        "00-organization.sh",
        "10-primaries/crm-mysql.sh",
        "20-replicas/crm-mysql.sh",
        "rollback/crm-mysql.sh",
        "cleanup/crm-mysql.sh",
        "runbooks/crm-mysql.md",
        "keys/atrest-crm-mysql-storage.us-east-1.policy.json",
        "keys/atrest-ebs-default.us-east-1.policy.json",
        "keys/receiving-account.us-east-1.policy.json",
        "infrastructure/cloudformation.json",
        "infrastructure/main.tf",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} not written");
    }
    assert!(md.contains("keys/atrest-crm-mysql-storage.us-east-1.policy.json"));
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("infrastructure/cloudformation.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
    let tf = std::fs::read_to_string(out_dir.join("infrastructure/main.tf")).unwrap();
    assert!(tf.contains("resource \"aws_ebs_default_kms_key\" \"us_east_1\""));
    assert!(md.contains("infrastructure/"));
    assert!(
        !md.contains("\"Statement\""),
        "policies live in files when --out is given"
    );
    let head: String = md.lines().take(40).collect::<Vec<_>>().join("\n");
    assert!(head.contains("## Fleet summary") && head.contains("downtime"));
    assert!(md.contains("### Waves") && md.contains("1. **primaries**"));
    assert!(md.contains("SCP"));
    let script = std::fs::read_to_string(out_dir.join("10-primaries/crm-mysql.sh")).unwrap();
    assert!(script.starts_with("#!/usr/bin/env bash"));
    assert!(script.contains("set -euo pipefail"));
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(out_dir.join("10-primaries/crm-mysql.sh"))
        .status()
        .unwrap();
    assert!(status.success(), "the script parses");
}

fn plan_from(file: &str) -> (Value, String) {
    let out = run(atrest()
        .arg("plan")
        .arg("--from-audit")
        .arg(repo_path(file))
        .args(["--format", "json", "--share-with", "444455556666"]));
    assert!(out.status.success(), "{}", stderr(&out));
    (json(&out), stderr(&out))
}

fn current(plan: &Value) -> Vec<(String, String, String, String)> {
    plan["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["engine"].as_str().unwrap().to_string(),
                d["current_hosting"].as_str().unwrap().to_string(),
                d["current_encryption"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn plans_start_from_an_audit_report() {
    let (plan, warnings) = plan_from("tests/fixtures/plan/audit-report.json");
    let s = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    assert_eq!(
        current(&plan),
        [
            s("orders", "postgres", "rds", "none"),
            s("claims", "aurora-postgresql", "aurora", "rds-aws-managed"),
            s("gl", "db2", "rds", "rds-kms"),
            s("i-0a", "mysql", "ec2", "none"),
        ]
    );
    assert!(
        warnings.contains("1 resource(s) without a known engine left out: i-0b"),
        "{warnings}"
    );
    let dbs = databases(&plan);
    assert_eq!(
        dbs["i-0a"]["recommendation"]["recommended"]["option"], 3,
        "a host found on EC2 stays on EC2"
    );
    assert!(
        text(&dbs["orders"])
            .contains("create-db-snapshot --region eu-west-1 --db-instance-identifier orders")
    );
}

#[test]
fn plans_start_from_a_saved_inventory_with_versions_copies_and_sharing() {
    let (plan, _) = plan_from("tests/fixtures/plan/saved-inventory.json");
    let s = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    assert_eq!(
        current(&plan),
        [
            s("payments", "postgres", "rds", "rds-aws-managed"),
            s("claims", "aurora-postgresql", "aurora", "none"),
            s("vault", "postgres", "ec2", "luks"),
        ],
        "the Aurora member is planned with its cluster"
    );
    let dbs = databases(&plan);
    assert_eq!(dbs["payments"]["version"], "13.12");
    let payments = text(&dbs["payments"]);
    assert!(
        payments.contains("--region eu-central-1"),
        "the Region holding copies gets DR"
    );
    assert!(
        payments.contains("modify-db-snapshot-attribute"),
        "shared snapshots stay shared"
    );
    assert!(!text(&dbs["vault"]).contains("luksFormat"));
}

/// The write freeze is in the snapshot (database settings) or the shared parameter group, so the restored instance
/// starts frozen: the cut-over (and the rollback, for the original) lifts it. The SQL names no placeholder.
#[test]
fn the_write_freeze_is_lifted_after_the_cutover_and_its_sql_runs_as_written() {
    let dbs = databases(&plan_json(&[]));
    let steps_of = |db: &Value, phase: &str| -> String {
        db["runbook"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["phase"] == phase)
            .flat_map(|s| s["commands"].as_array().cloned().unwrap_or_default())
            .map(|c| c["text"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for name in ["orders-pg", "billing-aurora"] {
        let db = &dbs[name];
        assert!(
            steps_of(db, "migrate").contains("SET default_transaction_read_only = on"),
            "{name}"
        );
        for phase in ["cutover", "rollback"] {
            assert!(
                steps_of(db, phase).contains("RESET default_transaction_read_only"),
                "{name}: {phase} leaves the databases read-only"
            );
        }
    }
    for (name, db) in &dbs {
        if !matches!(db["current_hosting"].as_str(), Some("rds" | "aurora")) {
            continue;
        }
        for c in commands(db, Some("sql")) {
            assert!(!has_placeholder(&c), "{name}: placeholder in `{c}`");
        }
    }
    let erp = commands(&dbs["erp-oracle"], Some("sql")).join("\n");
    assert!(
        erp.contains("restricted_session(p_enable => false)"),
        "{erp}"
    );
}

/// `<word ...>` in a command: a value a person would have to fill in.
fn has_placeholder(text: &str) -> bool {
    text.split('<').skip(1).any(|rest| {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '_' | '-'))
            .collect();
        word.starts_with(|c: char| c.is_ascii_alphabetic()) && rest[word.len()..].starts_with('>')
    })
}

#[test]
fn databases_no_option_fits_are_in_no_wave() {
    let plan = plan_json(&[]);
    let dbs = databases(&plan);
    assert!(dbs["mssql-tde"]["recommendation"]["recommended"].is_null());
    for wave in plan["fleet"]["waves"].as_array().unwrap() {
        assert!(
            !wave["databases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d == "mssql-tde"),
            "{wave}"
        );
    }
}

/// The storage key serves the named operator only: the plan says who else needs adding, and points the receiving
/// account at the policy file `--out` really writes.
#[test]
fn storage_key_notes_name_who_else_needs_the_key_and_the_real_receiving_policy_file() {
    let dbs = databases(&plan_json(&[]));
    let keys = dbs["crm-mysql"]["keys"].as_array().unwrap();
    let storage = keys
        .iter()
        .find(|k| k["alias"] == "alias/atrest/crm-mysql-storage")
        .unwrap();
    let notes = storage["notes"].to_string();
    assert!(notes.contains("CI/CD role, AWS Backup"), "{notes}");
    assert!(
        notes.contains("keys/receiving-account.us-east-1.policy.json"),
        "{notes}"
    );
}

/// The LUKS steps find the volume, the old key slots and the database's unit themselves.
#[test]
fn luks_steps_run_as_written() {
    let dbs = databases(&plan_json(&[]));
    for name in ["vault-pg-luks", "events"] {
        for c in commands(&dbs[name], Some("host")) {
            assert!(!has_placeholder(&c), "{name}: placeholder in `{c}`");
        }
    }
    let vault = text(&dbs["vault-pg-luks"]);
    assert!(vault.contains("old_slots=$(cryptsetup luksDump"), "{vault}");
    assert!(vault.contains("for slot in $old_slots; do cryptsetup luksKillSlot"));
    assert!(vault.contains("findmnt -n -o SOURCE --target /var/lib/pgsql"));
    let events = text(&dbs["events"]);
    assert!(events.contains("systemctl stop mongod"), "{events}");
}

/// Every SQL and host command of the fleet runs as written: values a person supplies come from the environment
/// (`$VAR`, sqlcmd's `$(VAR)`, PowerShell's `$env:VAR`) or SQL*Plus substitution variables (`&&var`), never
/// `<fill me in>`.
#[test]
fn no_command_of_the_fleet_names_a_placeholder() {
    let example = run(atrest()
        .arg("plan")
        .arg("-i")
        .arg(repo_path("examples/fleet.csv"))
        .args(["--format", "json"]));
    assert!(example.status.success(), "{}", stderr(&example));
    for plan in [plan_json(&[]), json(&example)] {
        for (name, db) in &databases(&plan) {
            for c in commands(db, None) {
                assert!(!has_placeholder(&c), "{name}: placeholder in `{c}`");
            }
            for k in db["keys"].as_array().unwrap() {
                let policy = k["policy"].to_string();
                assert!(!has_placeholder(&policy), "{name}: placeholder in {policy}");
            }
        }
    }
}

fn shared_storage_keys(plan: &Value) -> BTreeMap<String, Vec<String>> {
    plan["fleet"]["shared_keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alias"] != "alias/atrest/ebs-default")
        .map(|k| {
            let users = k["used_by"].as_array().unwrap().iter();
            (
                k["alias"].as_str().unwrap().to_string(),
                users.map(|u| u.as_str().unwrap().to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn databases_share_storage_keys_where_their_requirements_allow() {
    let plan = plan_json(&[]);
    let shared = shared_storage_keys(&plan);
    let expected: BTreeMap<String, Vec<String>> = [
        (
            "alias/atrest/shared-rds-general-us-east-1",
            &["orders-pg", "inventory-aurora-mysql"][..],
        ),
        (
            "alias/atrest/shared-ebs-general-us-east-1",
            &["reporting-pg", "payments-mssql"][..],
        ),
        (
            "alias/atrest/shared-rds-secrets-general-us-east-1",
            &["legacy-oracle-se2", "gl-db2"][..],
        ),
    ]
    .into_iter()
    .map(|(a, u)| (a.to_string(), u.iter().map(|s| s.to_string()).collect()))
    .collect();
    assert_eq!(shared, expected);
    let dbs = databases(&plan);
    // Own keys where the requirements ask for one: cross-account sharing, column granularity, a custom key store,
    // and a copy Region no other database of the scope uses.
    for (db, own) in [
        ("crm-mysql", "alias/atrest/crm-mysql-storage"),
        ("billing-aurora", "alias/atrest/billing-aurora-storage"),
        ("erp-oracle", "alias/atrest/erp-oracle-storage"),
        ("hr-sqlserver", "alias/atrest/hr-sqlserver-storage"),
        ("sovereign-pg", "alias/atrest/sovereign-pg-storage"),
        ("ebsxks", "alias/atrest/ebsxks-storage"),
        ("orders-pg", "alias/atrest/orders-pg-storage-us-west-2"),
    ] {
        let keys = dbs[db]["keys"].to_string();
        assert!(keys.contains(&format!("\"{own}\"")), "{db}: {keys}");
    }
    // A shared key is created once, by the fleet steps; each database only reads its ARN.
    let fleet = plan["fleet"]["steps"].to_string();
    for alias in expected.keys() {
        assert_eq!(
            fleet.matches(&format!("--alias-name {alias}")).count(),
            1,
            "{alias} created once in the fleet steps"
        );
    }
    for (db, var) in [
        ("orders-pg", "key_shared_rds_general_us_east_1"),
        ("inventory-aurora-mysql", "key_shared_rds_general_us_east_1"),
        ("payments-mssql", "key_shared_ebs_general_us_east_1"),
    ] {
        let all = text(&dbs[db]);
        assert!(
            !all.contains("--alias-name alias/atrest/shared-"),
            "{db} creates no shared key"
        );
        assert!(
            all.contains(&format!("{var}=$(aws kms describe-key")),
            "{db}: {all}"
        );
        assert!(
            !all.contains(&format!("key_{}_storage=", db.replace('-', "_"))),
            "{db}"
        );
    }
}

#[test]
fn regulated_data_never_shares_a_key_with_data_outside_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.csv");
    std::fs::write(
        &fleet,
        "name,engine,version,hosting,encryption,data_classes,region,read_replicas,copy_regions,trusted_services,overrides,size_gib,sensitive_columns
cards-a,postgres,15.4,rds,none,pan,us-east-1,,,,,,
cards-b,mysql,8.0.39,rds,none,pan,us-east-1,,,,,,
web,postgres,15.4,rds,none,,us-east-1,,,,,,
own,postgres,15.4,rds,none,pan,us-east-1,,,,data.granularity=database,,
",
    )
    .unwrap();
    let out = run(atrest()
        .arg("plan")
        .arg("-i")
        .arg(&fleet)
        .args(["--format", "json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = json(&out);
    let shared = shared_storage_keys(&plan);
    assert_eq!(shared.len(), 1, "{shared:?}");
    let (alias, users) = shared.iter().next().unwrap();
    assert!(alias.contains("pci-pan"), "{alias}");
    assert_eq!(users, &["cards-a", "cards-b"]);
    let dbs = databases(&plan);
    assert!(
        dbs["web"]["keys"]
            .to_string()
            .contains("alias/atrest/web-storage")
    );
    assert!(
        dbs["own"]["keys"]
            .to_string()
            .contains("alias/atrest/own-storage")
    );
    let key = &plan["fleet"]["shared_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alias"] == alias.as_str())
        .unwrap()["policy"];
    assert!(key.to_string().contains("rds.us-east-1.amazonaws.com"));
}

#[test]
fn a_cell_key_is_proposed_only_for_named_columns() {
    let plan = plan_json(&[]);
    for d in plan["databases"].as_array().unwrap() {
        let all = d.to_string();
        assert!(
            !all.contains("<table>") && !all.contains("<column>"),
            "{}",
            d["name"]
        );
    }
    let dbs = databases(&plan);
    let billing = text(&dbs["billing-aurora"]);
    assert!(billing.contains("--alias-name alias/atrest/billing-aurora-cells"));
    assert!(
        billing.contains("atrest cell migrate --table cards --column pan"),
        "{billing}"
    );
}
