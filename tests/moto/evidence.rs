//! `atrest evidence build` against the local AWS endpoint (moto server on 127.0.0.1, started by `scripts/test.sh`):
//! a seeded account in eu-north-1 and ap-south-1 (regions no other test uses), read live, signed, with a decision
//! record attached. The bundle must answer "is PCI DSS 3.5.1 met for these databases, and why", verify, and render
//! in a real browser without a network request; the screenshot is written to `<target>/evidence-screenshot.png`.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::browser;

use crate::support::seed::Seed;
use crate::support::{atrest, block_on, moto_endpoint, run, stderr, stdout};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";
const A: &str = "eu-north-1";
const B: &str = "ap-south-1";

/// Seeds a small payment-card estate: an encrypted PAN database, an unencrypted legacy database, an Aurora cluster
/// whose key does not rotate, EBS encryption by default in one region only. Returns the legacy and PAN db ARNs.
async fn seed() -> (String, String) {
    let a = Seed::new(A).await;
    let b = Seed::new(B).await;
    let pan_key = a.key(None, true).await;
    a.kms
        .create_alias()
        .alias_name("alias/cards-pan")
        .target_key_id(&pan_key)
        .send()
        .await
        .unwrap();
    let orders_key = a.key(None, false).await;
    a.db("cards-pg", "postgres", "16.3", Some(&pan_key)).await;
    a.db("legacy-my", "mysql", "8.0.35", None).await;
    a.rds
        .create_db_cluster()
        .db_cluster_identifier("aur-orders")
        .engine("aurora-postgresql")
        .engine_version("15.4")
        .master_username("admin")
        .master_user_password("password-123")
        .storage_encrypted(true)
        .kms_key_id(&orders_key)
        .send()
        .await
        .unwrap();
    let b_key = b.key(None, true).await;
    b.db("reports-pg", "postgres", "16.3", Some(&b_key)).await;
    a.delete_automated_snapshots().await;
    b.delete_automated_snapshots().await;
    a.rds
        .create_db_snapshot()
        .db_snapshot_identifier("cards-pg-before-upgrade")
        .db_instance_identifier("cards-pg")
        .send()
        .await
        .unwrap();
    a.ec2
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .unwrap();
    a.volume(Some(&pan_key)).await;
    (
        format!("arn:aws:rds:{A}:{ACCOUNT}:db:legacy-my"),
        format!("arn:aws:rds:{A}:{ACCOUNT}:db:cards-pg"),
    )
}

fn control<'a>(controls: &'a Value, framework: &str, id: &str) -> &'a Value {
    controls["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == framework)
        .unwrap()["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no control {framework} {id}"))
}

fn resources_of(control: &Value, check: &str) -> Vec<(String, String)> {
    control["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["check"] == check)
        .unwrap()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_live_bundle_of_the_seeded_account_answers_pci_3_5_1_verifies_and_renders_offline() {
    let (legacy, cards) = block_on(seed());
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("evidence.key");
    assert_eq!(
        run(atrest().args(["evidence", "keygen", "--out"]).arg(&key))
            .status
            .code(),
        Some(0)
    );
    let adr = dir.path().join("cards-adr.md");
    let out = run(atrest().args([
        "advise", "--format", "adr", "--engine", "postgres", "--regime", "pci-pan",
    ]));
    std::fs::write(&adr, &out.stdout).unwrap();

    let bundle = dir.path().join("bundle");
    let out = run(atrest()
        .args([
            "evidence",
            "build",
            "--endpoint-url",
            &moto_endpoint(),
            "--region",
            A,
        ])
        .args(["--regions", &format!("{A},{B}"), "--out"])
        .arg(&bundle)
        .arg("--signing-key")
        .arg(&key)
        .arg("--attach")
        .arg(&adr));
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("PCI DSS 3.5.1"), "{}", stdout(&out));

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["account"], ACCOUNT);
    let caller = manifest["caller_arn"].as_str().unwrap();
    assert!(
        caller.starts_with(&format!("arn:aws:sts::{ACCOUNT}:")),
        "{caller}"
    );
    assert_eq!(manifest["regions"], serde_json::json!([B, A]));
    assert_eq!(manifest["source"], "aws");
    assert!(manifest["started"].as_str().unwrap() <= manifest["finished"].as_str().unwrap());

    // Is PCI DSS 3.5.1 met for these databases, and why?
    let controls: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("controls.json")).unwrap()).unwrap();
    let c351 = control(&controls, "pci-dss", "3.5.1");
    assert_eq!(c351["status"], "fail");
    let rds = resources_of(c351, "rds_instance_storage_encrypted");
    assert!(rds.contains(&(legacy.clone(), "fail".into())), "{rds:?}");
    assert!(rds.contains(&(cards.clone(), "pass".into())), "{rds:?}");
    assert_eq!(
        control(&controls, "pci-dss", "3.7.4")["status"],
        "fail",
        "the Aurora key does not rotate"
    );
    assert_eq!(
        control(&controls, "cis-aws", "5.1.1")["status"],
        "fail",
        "no EBS default encryption in {B}"
    );
    assert_eq!(control(&controls, "aws-fsbp", "RDS.27")["status"], "pass");
    assert_eq!(
        control(&controls, "pci-dss", "3.5.1.2")["attachments"],
        serde_json::json!(["attachments/cards-adr.md"])
    );

    let public = dir.path().join("evidence.key.pub");
    let out = run(atrest()
        .args(["evidence", "verify"])
        .arg(&bundle)
        .arg("--public-key")
        .arg(&public));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let html_path = bundle.join("report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(
        html.contains("Not met: 1 resource(s) fail rds_instance_storage_encrypted"),
        "3.5.1 says why"
    );
    assert!(html.contains(caller), "the page names the caller");
    assert!(
        browser::static_problems(&html).is_empty(),
        "{:?}",
        browser::static_problems(&html)
    );
    let shot = browser::target_dir().join("evidence-screenshot.png");
    let r = browser::render(&html_path, &shot);
    assert!(
        r.page_requests.is_empty(),
        "the page made requests: {:?}",
        r.page_requests
    );
    assert!(
        r.dom.contains("legacy-my") && r.dom.contains("cards-pg"),
        "the databases are listed"
    );
    let size = browser::assert_screenshot(&shot);
    browser::note(&format!(
        "screenshot of the seeded account's report: {} ({size} bytes)",
        shot.display()
    ));
}
