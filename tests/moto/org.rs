//! `atrest audit --accounts org --role-name NAME` against an organisation of 31 member accounts on a local AWS
//! endpoint of the test's own (creating an organisation and turning IAM enforcement on would change what every other
//! test sees on the shared one). Each member is created through Organizations CreateAccount and seeded, one writer
//! at a time, through a role assumed in it with a KMS key, an RDS instance and an EBS volume encrypted under it. One
//! member has no audit role, one account is closed (suspended). Then IAM enforcement goes on and the audit runs as
//! an IAM user that may only list the accounts and assume the role.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use serde_json::{Value, json};

use crate::support::private_moto::PrivateMoto;
use crate::support::seed::Seed;
use crate::support::{atrest, block_on, run, stderr, stdout};

const REGION: &str = "eu-central-1";
const MANAGEMENT: &str = "123456789012";
const ROLE: &str = "atrest-audit";
const EXTERNAL_ID: &str = "atrest-org-test";
/// Members with the audit role, plus one without.
const MEMBERS: usize = 31;

pub async fn config(
    endpoint: &str,
    region: &str,
    key: &str,
    secret: &str,
    token: Option<String>,
) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            key,
            secret,
            token,
            None,
            "atrest-tests",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// The configuration of a role assumed in `account` (the role need not exist for the endpoint to answer).
pub async fn assume(
    base: &aws_config::SdkConfig,
    account: &str,
    role: &str,
) -> aws_config::SdkConfig {
    let out = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
        .role_session_name("seed")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let endpoint = base.endpoint_url().unwrap().to_string();
    config(
        &endpoint,
        REGION,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
    )
    .await
}

/// The audit role: trusts `principal` with the external id, allows what `allow` lists.
pub async fn audit_role(conf: &aws_config::SdkConfig, principal: &str, allow: &str) {
    let iam = aws_sdk_iam::Client::new(conf);
    iam.create_role()
        .role_name(ROLE)
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Condition":{{"StringEquals":{{"sts:ExternalId":"{EXTERNAL_ID}"}}}}}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(ROLE)
        .policy_name("atrest-audit-read-only")
        .policy_document(allow)
        .send()
        .await
        .unwrap();
}

/// An IAM user of the management account allowed `allow`; returns its access key and secret.
pub async fn user(conf: &aws_config::SdkConfig, name: &str, allow: &str) -> (String, String) {
    let iam = aws_sdk_iam::Client::new(conf);
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name(format!("{name}-policy"))
        .policy_document(allow)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    (
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
    )
}

/// What the auditing user may do: exactly the caller policy of `atrest iam-policy audit`'s actions (list the
/// accounts, read the organisation's structure and policies, assume the role).
const AUDITOR: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["organizations:DescribeOrganization","organizations:DescribePolicy","organizations:ListAccounts","organizations:ListParents","organizations:ListPoliciesForTarget","sts:AssumeRole","sts:GetCallerIdentity"],"Resource":"*"}]}"#;

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// What one seeded account holds.
struct Seeded {
    name: String,
    db: String,
    volume: String,
    key: String,
}

async fn seed_account(conf: &aws_config::SdkConfig, account: &str, n: usize) -> Seeded {
    let seed = Seed::with_config(REGION, conf);
    let key = seed.key(None, true).await;
    let db = format!("db-{n:02}");
    seed.db(&db, "postgres", "16.3", Some(&key)).await;
    let volume = seed.volume(Some(&key)).await;
    Seeded {
        name: format!("member-{n:02}"),
        db: format!("arn:aws:rds:{REGION}:{account}:db:{db}"),
        volume: format!("arn:aws:ec2:{REGION}:{account}:volume/{volume}"),
        key,
    }
}

struct Org {
    moto: PrivateMoto,
    /// The accounts with the audit role and what they hold (the management account included).
    seeded: BTreeMap<String, Seeded>,
    no_role: String,
    closed: String,
    auditor: (String, String),
}

fn organisation() -> Org {
    organisation_of(MEMBERS)
}

fn organisation_of(members: usize) -> Org {
    let moto = PrivateMoto::start(&[]);
    let endpoint = moto.endpoint.clone();
    block_on(async move {
        let root = config(&endpoint, REGION, "testing", "testing", None).await;
        let orgs = aws_sdk_organizations::Client::new(&root);
        orgs.create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .unwrap();
        let mut ids = Vec::new();
        for n in 0..=members {
            let out = orgs
                .create_account()
                .account_name(format!("member-{n:02}"))
                .email(format!("member-{n:02}@example.com"))
                .send()
                .await
                .unwrap();
            ids.push(
                out.create_account_status()
                    .unwrap()
                    .account_id()
                    .unwrap()
                    .to_string(),
            );
        }
        // The last one is closed: the audit must skip it. The one before has no audit role.
        let closed = ids.pop().unwrap();
        orgs.close_account()
            .account_id(&closed)
            .send()
            .await
            .unwrap();
        let no_role = ids.last().unwrap().clone();

        let mut seeded = BTreeMap::new();
        for (n, id) in ids.iter().enumerate() {
            let conf = assume(&root, id, "OrganizationAccountAccessRole").await;
            if *id != no_role {
                audit_role(&conf, &format!("arn:aws:iam::{MANAGEMENT}:root"), ALLOW_ALL).await;
            }
            seeded.insert(id.clone(), seed_account(&conf, id, n).await);
        }
        // The endpoint checks the trust policy of a role in the caller's own account, by exact principal.
        audit_role(
            &root,
            &format!("arn:aws:iam::{MANAGEMENT}:user/org-auditor"),
            ALLOW_ALL,
        )
        .await;
        let mut management = seed_account(&root, MANAGEMENT, 99).await;
        // The endpoint's name for the management account.
        management.name = "master".into();
        seeded.insert(MANAGEMENT.to_string(), management);
        seeded.remove(&no_role);
        let auditor = user(&root, "org-auditor", AUDITOR).await;
        Org {
            moto,
            seeded,
            no_role,
            closed,
            auditor,
        }
    })
}

fn audit(org: &Org, args: &[&str]) -> Output {
    as_auditor(org, &["audit"], args, &[])
}

/// `atrest <command> --endpoint-url ... --role-name ... --external-id ... <args>` as the organisation's auditor.
fn as_auditor(org: &Org, command: &[&str], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = atrest();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("AWS_ACCESS_KEY_ID", &org.auditor.0)
        .env("AWS_SECRET_ACCESS_KEY", &org.auditor.1)
        .env("AWS_REGION", REGION)
        .args(command)
        .arg("--endpoint-url")
        .arg(&org.moto.endpoint)
        .args(["--role-name", ROLE, "--external-id", EXTERNAL_ID])
        .args(args);
    run(&mut cmd)
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

fn strings<'a>(items: &'a Value, field: &str) -> Vec<(&'a str, &'a str)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["account"].as_str().unwrap_or(""),
                i[field].as_str().unwrap_or(""),
            )
        })
        .collect()
}

#[test]
fn org_audit_reads_every_member_through_its_role_and_reports_the_one_without() {
    let org = organisation();
    org.moto.enforce_iam();
    let out_dir = tempfile::tempdir().unwrap();
    let inventories = out_dir.path().join("inventories");
    let started = std::time::Instant::now();
    let output = audit(
        &org,
        &[
            "--accounts",
            "org",
            "--regions",
            REGION,
            "--format",
            "json",
            "--out-dir",
            inventories.to_str().unwrap(),
            "--stats",
        ],
    );
    let wall = started.elapsed();
    assert_eq!(
        output.status.code(),
        Some(4),
        "partial: one member has no role\nstderr:\n{}\nlog: {}",
        stderr(&output),
        org.moto.log().display()
    );
    let report = json(&output);
    // The organisation is read once for all: one DescribeOrganization, each account's parent once, the root's
    // policies once per type (every member sits directly under the root here).
    let stats = stderr(&output);
    let stats: Value = serde_json::from_str(
        stats
            .lines()
            .find_map(|l| l.strip_prefix("stats: "))
            .unwrap_or_else(|| panic!("no stats line:\n{stats}")),
    )
    .unwrap();
    let calls = &stats["calls"];
    let readable = org.seeded.len() as u64 + 1;
    assert_eq!(calls["organizations:DescribeOrganization"], 1, "{calls:#}");
    assert_eq!(calls["organizations:ListParents"], readable, "{calls:#}");
    let listed = calls["organizations:ListPoliciesForTarget"]
        .as_u64()
        .unwrap();
    assert!(listed <= 2 * (readable + 1), "{calls:#}");
    assert_eq!(report["account"], Value::Null);

    // Every account but the closed one, by id; the one without a role is unread, the others complete.
    let accounts: BTreeMap<&str, &Value> = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a))
        .collect();
    let mut expected: BTreeSet<&str> = org.seeded.keys().map(String::as_str).collect();
    expected.insert(&org.no_role);
    assert_eq!(accounts.keys().copied().collect::<BTreeSet<_>>(), expected);
    assert!(!accounts.contains_key(org.closed.as_str()));
    assert!(org.seeded.len() > 30);
    assert_eq!(accounts[org.no_role.as_str()]["coverage"], "unread");
    for (id, seeded) in &org.seeded {
        let a = accounts[id.as_str()];
        // Partial, not complete: the endpoint lacks GetEbsDefaultKmsKeyId. Nothing else fails: the organisation's
        // structure and policies are read by the management account, not asked of the members (on AWS a member is
        // denied ListParents).
        assert_eq!(a["coverage"], "partial", "{id}: {a}");
        assert_eq!(a["name"], seeded.name.as_str(), "{id}");
        assert_eq!(a["databases"], 1, "{id}: {:#}", report["databases"]);
        let own: Vec<&Value> = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["account"] == id.as_str())
            .collect();
        assert!(
            own.iter()
                .all(|e| e["operation"] == "GetEbsDefaultKmsKeyId"),
            "{id}: {own:#?}"
        );
    }

    // Every error names its account and region. The member without the role: every call failed (on AWS its
    // AssumeRole fails; this endpoint lets any role be assumed and fails the calls). The others: only the call the
    // endpoint lacks.
    let errors = report["errors"].as_array().unwrap();
    for e in errors {
        assert_eq!(e["region"], REGION, "{e}");
        let account = e["account"].as_str().unwrap();
        if account == org.no_role {
            continue;
        }
        assert!(org.seeded.contains_key(account), "{e}");
    }
    let unread: Vec<&Value> = errors
        .iter()
        .filter(|e| e["account"] == org.no_role.as_str())
        .collect();
    assert!(unread.len() > 5, "{unread:#?}");

    // Each database and finding is attributed to the account whose ARN it has, with that account's name.
    let databases = strings(&report["databases"], "resource");
    let want: BTreeSet<(&str, &str)> = org
        .seeded
        .iter()
        .map(|(id, s)| (id.as_str(), s.db.as_str()))
        .collect();
    assert_eq!(databases.iter().copied().collect::<BTreeSet<_>>(), want);
    for d in report["databases"].as_array().unwrap() {
        let id = d["account"].as_str().unwrap();
        assert_eq!(d["account_name"], org.seeded[id].name.as_str());
        assert_eq!(d["option"], 1, "{d}");
    }
    let findings = strings(&report["findings"], "resource");
    for (id, s) in &org.seeded {
        for resource in [&s.db, &s.volume, &s.key] {
            assert!(
                findings.contains(&(id.as_str(), resource.as_str())),
                "{id}: no finding on {resource}"
            );
        }
    }
    for (account, resource) in &findings {
        assert!(
            resource.contains(account),
            "{resource} attributed to {account}"
        );
    }

    // One inventory per account was written; the same report comes from them, offline.
    let files = std::fs::read_dir(&inventories).unwrap().count();
    assert_eq!(files, expected.len());
    let mut cmd = atrest();
    cmd.args(["audit", "--format", "json", "--inventory-in"])
        .arg(&inventories);
    let saved = run(&mut cmd);
    assert_eq!(saved.status.code(), Some(4), "{}", stderr(&saved));
    let saved = json(&saved);
    assert_eq!(saved["findings"], report["findings"]);
    assert_eq!(saved["databases"], report["databases"]);
    assert_eq!(saved["errors"], report["errors"]);
    // Each member's place in the organisation, root first, and the SCPs at every level of it.
    for id in org.seeded.keys() {
        let text = std::fs::read_to_string(inventories.join(format!("{id}.json"))).unwrap();
        let inventory: Value = serde_json::from_str(&text).unwrap();
        let details = &inventory["organization"];
        let path: Vec<&str> = details["path"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: no organisation path: {details}"))
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!(path[0].starts_with("r-"), "{id}: {path:?}");
        assert_eq!(path.last(), Some(&id.as_str()), "{id}: {path:?}");
        let scps = details["scps"].as_array();
        assert_eq!(scps.map(Vec::len), Some(path.len()), "{id}: {details}");
    }

    // OCSF: every finding names its account (uid and name), and Prowler's OCSF models accept every event.
    let ocsf = audit(
        &org,
        &["--accounts", "org", "--regions", REGION, "--format", "ocsf"],
    );
    let events: Value = json(&ocsf);
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), report["findings"].as_array().unwrap().len());
    for e in events {
        let account = &e["cloud"]["account"];
        let uid = account["uid"].as_str().unwrap();
        let resource = e["resources"][0]["uid"].as_str().unwrap();
        assert!(resource.contains(uid), "{resource} under {uid}");
        assert_eq!(account["name"], org.seeded[uid].name.as_str());
    }
    let file = out_dir.path().join("findings.ocsf.json");
    std::fs::write(&file, stdout(&ocsf)).unwrap();
    let verdict = validate_ocsf(&file);
    assert!(
        verdict.contains(&format!("{n} of {n} validate", n = events.len())),
        "{verdict}"
    );

    // The table groups by account.
    let table = audit(&org, &["--accounts", "org", "--regions", REGION]);
    let text = stdout(&table);
    assert!(text.contains("atrest audit of "), "{text}");
    assert!(text.contains("\nAccounts\n"), "{text}");
    assert!(text.contains("member-00"), "{text}");
    eprintln!(
        "org audit of {} accounts: {:.1} s",
        expected.len(),
        wall.as_secs_f64()
    );
}

#[test]
fn org_audit_of_a_listed_account_without_the_role_is_an_error_not_a_pass() {
    let org = organisation_small();
    org.moto.enforce_iam();
    let output = audit(
        &org,
        &[
            "--accounts",
            &org.no_role,
            "--regions",
            REGION,
            "--fail-on",
            "high",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("error: none of the 1 account(s) could be read"),
        "{err}"
    );
    assert!(err.contains("help: check `--role-name`"), "{err}");
}

/// An organisation of one member without the role.
fn organisation_small() -> Org {
    let moto = PrivateMoto::start(&[]);
    let endpoint = moto.endpoint.clone();
    block_on(async move {
        let root = config(&endpoint, REGION, "testing", "testing", None).await;
        let orgs = aws_sdk_organizations::Client::new(&root);
        orgs.create_organization().send().await.unwrap();
        let out = orgs
            .create_account()
            .account_name("lonely")
            .email("lonely@example.com")
            .send()
            .await
            .unwrap();
        let no_role = out
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_string();
        let auditor = user(&root, "org-auditor", AUDITOR).await;
        Org {
            moto,
            seeded: BTreeMap::new(),
            no_role,
            closed: String::new(),
            auditor,
        }
    })
}

/// Runs tests/ocsf/validate.py (py-ocsf-models, in the pinned venv of the local endpoint) on an OCSF file.
pub fn validate_ocsf(file: &std::path::Path) -> String {
    let venv = std::process::Command::new(crate::support::repo_path("scripts/moto-env.sh"))
        .output()
        .unwrap();
    let venv = String::from_utf8_lossy(&venv.stdout).trim().to_string();
    let out = std::process::Command::new(format!("{venv}/bin/python"))
        .arg(crate::support::repo_path("tests/ocsf/validate.py"))
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// Three shard bundles (`--shard 0/3`, `env/3` with JOB_COMPLETION_INDEX=1, `2/3`), merged, verify and hold the same
/// findings, databases and errors as one unsharded bundle; overlapping or incomplete shards are refused. And the
/// progress line appears on a terminal only.
#[test]
fn org_shards_merge_into_one_bundle_with_the_findings_of_one_run() {
    let org = organisation_of(8);
    org.moto.enforce_iam();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let mut keygen = atrest();
    keygen.args(["evidence", "keygen", "--out", &path("key")]);
    assert!(run(&mut keygen).status.success());
    let build = |out: &str, shard: Option<&str>, env: &[(&str, &str)]| {
        let mut args = vec![
            "--out",
            out,
            "--accounts",
            "org",
            "--regions",
            REGION,
            "--signing-key",
        ];
        let key = path("key");
        args.push(&key);
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = as_auditor(&org, &["evidence", "build"], &args, env);
        assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    };
    build(&path("full"), None, &[]);
    build(&path("shard-0"), Some("0/3"), &[]);
    build(
        &path("shard-1"),
        Some("env/3"),
        &[("JOB_COMPLETION_INDEX", "1")],
    );
    build(&path("shard-2"), Some("2/3"), &[]);

    let merge = |out: &str, shards: &[&str]| {
        let mut cmd = atrest();
        cmd.args(["evidence", "merge", "--out", out])
            .args([
                "--public-key",
                &path("key.pub"),
                "--signing-key",
                &path("key"),
            ])
            .args(shards.iter().map(|s| path(s)));
        run(&mut cmd)
    };
    let merged = merge(&path("merged"), &["shard-0", "shard-1", "shard-2"]);
    assert_eq!(merged.status.code(), Some(4), "{}", stderr(&merged));
    let mut verify = atrest();
    verify.args([
        "evidence",
        "verify",
        &path("merged"),
        "--public-key",
        &path("key.pub"),
    ]);
    let verified = run(&mut verify);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));

    let findings = |bundle: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(bundle).join("findings.json")).unwrap(),
        )
        .unwrap()
    };
    let (full, merged_report) = (findings("full"), findings("merged"));
    for field in ["findings", "databases", "errors", "summary"] {
        assert_eq!(full[field], merged_report[field], "{field}");
    }
    assert_eq!(
        full["accounts"].as_array().unwrap().len(),
        org.seeded.len() + 1
    );
    let shard_accounts: usize = (0..3)
        .map(|i| {
            findings(&format!("shard-{i}"))["accounts"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(shard_accounts, org.seeded.len() + 1);

    // `evidence diff` works across organisation bundles: nothing changed between the whole run and the merge, and
    // from one shard to the whole run, only the other shards' resources are new.
    let diff = |old: &str, new: &str| {
        let mut cmd = atrest();
        cmd.args([
            "evidence",
            "diff",
            &path(old),
            &path(new),
            "--format",
            "json",
        ]);
        let out = run(&mut cmd);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json(&out)
    };
    let same = diff("full", "merged");
    assert_eq!(same["new_failures"], json!([]), "{same:#}");
    assert_eq!(same["added_resources"], json!([]), "{same:#}");
    let grown = diff("shard-0", "full");
    let shard0: Vec<String> = findings("shard-0")["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let new_resources = grown["added_resources"].as_array().unwrap();
    assert!(!new_resources.is_empty(), "{grown:#}");
    for r in new_resources {
        let arn = r["resource"].as_str().unwrap();
        assert!(!shard0.iter().any(|id| arn.contains(id.as_str())), "{arn}");
    }

    // On a terminal, stderr shows the accounts done and the ETA; off a terminal (above), nothing but warnings.
    let mut tty = std::process::Command::new("script");
    tty.env("AWS_ACCESS_KEY_ID", &org.auditor.0)
        .env("AWS_SECRET_ACCESS_KEY", &org.auditor.1)
        .env("AWS_REGION", REGION)
        .env("AWS_ENDPOINT_URL", crate::support::NOWHERE)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .args(["-qec"])
        .arg(format!(
            "{} audit --endpoint-url {} --accounts org --role-name {ROLE} --external-id {EXTERNAL_ID} --regions {REGION} --format json > /dev/null",
            env!("CARGO_BIN_EXE_atrest"),
            org.moto.endpoint
        ))
        .arg(path("typescript"));
    let shown = run(&mut tty);
    let screen = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        screen.contains(&format!("/{} accounts, ETA", org.seeded.len() + 1)),
        "{screen}"
    );
    let plain = as_auditor(
        &org,
        &["audit"],
        &["--accounts", "org", "--regions", REGION],
        &[],
    );
    assert!(!stderr(&plain).contains("ETA"), "{}", stderr(&plain));

    // With a source identity, the sessions come from AssumeRole with SourceIdentity: the same accounts are read.
    let sourced = as_auditor(
        &org,
        &["audit"],
        &[
            "--accounts",
            "org",
            "--regions",
            REGION,
            "--source-identity",
            "alice",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(sourced.status.code(), Some(4), "{}", stderr(&sourced));
    assert_eq!(json(&sourced)["databases"], full["databases"]);

    let overlap = merge(&path("overlap"), &["shard-0", "shard-1", "shard-1"]);
    assert_eq!(overlap.status.code(), Some(2), "{}", stderr(&overlap));
    assert!(
        stderr(&overlap).contains("error: shard bundles overlap"),
        "{}",
        stderr(&overlap)
    );
    let missing = merge(&path("missing"), &["shard-0", "shard-2"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("shard(s) 1 of 3 are missing"),
        "{}",
        stderr(&missing)
    );
    let whole = merge(&path("mixed"), &["full", "shard-1"]);
    assert_eq!(whole.status.code(), Some(2), "{}", stderr(&whole));
}
