//! The generated audit policy is exactly enough: on a local AWS endpoint of the test's own with IAM enforcement on
//! (moto's `INITIAL_NO_AUTH_ACTION_COUNT`, reset to 0 once the account is seeded), an audit through a role with
//! exactly `atrest iam-policy audit --part permissions` finishes with no AccessDenied, and through a role with any
//! one action removed it reports the AccessDenied of that action's call.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;

use serde_json::{Value, json};

use super::org::{config, user};
use crate::support::private_moto::PrivateMoto;
use crate::support::seed::Seed;
use crate::support::{atrest, block_on, run, stderr, stdout};

const REGION: &str = "eu-west-2";
const ACCOUNT: &str = "123456789012";
const PRINCIPAL: &str = "arn:aws:iam::123456789012:user/policy-auditor";

fn iam_policy(part: &str) -> Value {
    let mut cmd = atrest();
    cmd.args([
        "iam-policy",
        "audit",
        "--principal",
        PRINCIPAL,
        "--part",
        part,
    ]);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn with_actions(policy: &Value, actions: &[&str]) -> String {
    let mut p = policy.clone();
    p["Statement"][0]["Action"] = json!(actions);
    p.to_string()
}

fn audit(moto: &PrivateMoto, auditor: &(String, String), role: &str, regions: &str) -> Output {
    let mut cmd = atrest();
    cmd.env("AWS_ACCESS_KEY_ID", &auditor.0)
        .env("AWS_SECRET_ACCESS_KEY", &auditor.1)
        .env("AWS_REGION", REGION)
        .args(["audit", "--endpoint-url", &moto.endpoint])
        .args(["--accounts", ACCOUNT, "--role-name", role])
        .args(["--regions", regions, "--format", "json"]);
    run(&mut cmd)
}

#[test]
fn iam_policy_audit_is_exactly_enough_under_iam_enforcement() {
    let permissions = iam_policy("permissions");
    let mut caller = iam_policy("caller");
    let actions: Vec<String> = permissions["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(actions.len() > 20, "{actions:?}");
    // The roles with one action removed are named atrest-audit-<n>: let the auditor assume those too.
    caller["Statement"][0]["Resource"] = json!("arn:aws:iam::*:role/atrest-audit*");

    let moto = PrivateMoto::start(&[]);
    let endpoint = moto.endpoint.clone();
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{PRINCIPAL}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let auditor = block_on({
        let actions = actions.clone();
        let permissions = permissions.clone();
        async move {
            let root = config(&endpoint, REGION, "testing", "testing", None).await;
            // An organisation, so that every Organizations call of the collectors is made.
            aws_sdk_organizations::Client::new(&root)
                .create_organization()
                .send()
                .await
                .unwrap();
            let seed = Seed::with_config(REGION, &root);
            let key = seed.key(None, true).await;
            seed.db("policy-db", "postgres", "16.3", Some(&key)).await;
            seed.rds
                .create_db_snapshot()
                .db_instance_identifier("policy-db")
                .db_snapshot_identifier("policy-db-manual")
                .send()
                .await
                .unwrap();
            seed.cluster("policy-cluster", "aurora-postgresql", "16.3", Some(&key))
                .await;
            seed.rds
                .create_db_cluster_snapshot()
                .db_cluster_identifier("policy-cluster")
                .db_cluster_snapshot_identifier("policy-cluster-manual")
                .send()
                .await
                .unwrap();
            let volume = seed.volume(Some(&key)).await;
            seed.snapshot(&volume, false).await;
            seed.kms
                .create_grant()
                .key_id(&key)
                .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:root"))
                .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
                .send()
                .await
                .unwrap();
            let all: Vec<&str> = actions.iter().map(String::as_str).collect();
            let iam = &seed.iam;
            let mut roles = vec![("atrest-audit".to_string(), with_actions(&permissions, &all))];
            for (n, removed) in actions.iter().enumerate() {
                let rest: Vec<&str> = all.iter().copied().filter(|a| a != removed).collect();
                roles.push((
                    format!("atrest-audit-{n}"),
                    with_actions(&permissions, &rest),
                ));
            }
            for (name, policy) in roles {
                iam.create_role()
                    .role_name(&name)
                    .assume_role_policy_document(&trust)
                    .send()
                    .await
                    .unwrap();
                iam.put_role_policy()
                    .role_name(&name)
                    .policy_name("atrest-audit-read-only")
                    .policy_document(policy)
                    .send()
                    .await
                    .unwrap();
            }
            user(&root, "policy-auditor", &caller.to_string()).await
        }
    });
    moto.enforce_iam();

    // Exactly the policy: nothing denied. The only failures are the call the endpoint lacks (GetEbsDefaultKmsKeyId,
    // HTTP 500 in every region), hence exit 4.
    let full = audit(&moto, &auditor, "atrest-audit", "all");
    assert_eq!(full.status.code(), Some(4), "{}", stderr(&full));
    let report: Value = serde_json::from_str(&stdout(&full)).unwrap();
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e["operation"] == "GetEbsDefaultKmsKeyId"
                && !e["message"].as_str().unwrap().contains("AccessDenied")),
        "{errors:#?}"
    );
    assert!(report["regions"].as_array().unwrap().len() > 10);
    assert_eq!(report["accounts"][0]["coverage"], "partial");
    assert!(report["databases"].as_array().unwrap().len() >= 2);

    // One action less: its call is denied, and the audit says so (partial, or unread without GetCallerIdentity).
    for (n, removed) in actions.iter().enumerate() {
        let regions = if removed == "ec2:DescribeRegions" {
            "all"
        } else {
            REGION
        };
        let output = audit(&moto, &auditor, &format!("atrest-audit-{n}"), regions);
        let (service, operation) = removed.split_once(':').unwrap();
        assert_eq!(
            output.status.code(),
            Some(4),
            "{removed}: {}",
            stderr(&output)
        );
        let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
        let errors = report["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["service"] == service
                && e["operation"] == operation
                && e["message"].as_str().unwrap().contains("AccessDenied")),
            "{removed}: {errors:#?}"
        );
        assert!(
            errors
                .iter()
                .all(|e| e["operation"] == "GetEbsDefaultKmsKeyId"
                    || e["message"].as_str().unwrap().contains("AccessDenied")),
            "{removed}: only denials: {errors:#?}"
        );
    }
}

/// Both CloudFormation templates pass cfn-lint (pinned in scripts/moto-requirements.txt, in the local endpoint's
/// venv), with every condition configured and with none.
#[test]
fn iam_policy_templates_pass_cfn_lint() {
    let venv = std::process::Command::new(crate::support::repo_path("scripts/moto-env.sh"))
        .output()
        .unwrap();
    let venv = String::from_utf8_lossy(&venv.stdout).trim().to_string();
    let dir = tempfile::tempdir().unwrap();
    let full: &[&str] = &[
        "--external-id",
        "ext-1",
        "--org-id",
        "o-abc123",
        "--source-identity",
        "alice",
    ];
    for (n, extra) in [full, &[]].into_iter().enumerate() {
        for part in ["role-template", "stackset"] {
            let mut cmd = atrest();
            cmd.args([
                "iam-policy",
                "audit",
                "--principal",
                PRINCIPAL,
                "--part",
                part,
            ])
            .args(extra);
            let out = run(&mut cmd);
            assert!(out.status.success(), "{}", stderr(&out));
            let file = dir.path().join(format!("{part}-{n}.json"));
            std::fs::write(&file, &out.stdout).unwrap();
            let lint = run(std::process::Command::new(format!("{venv}/bin/cfn-lint")).arg(&file));
            assert!(
                lint.status.success(),
                "{part}: {}{}",
                stdout(&lint),
                stderr(&lint)
            );
        }
    }
}
