//! The advisor from the command line, as a user types it: every user-facing error has a test here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::cli::{assert_error_style, json};
use crate::support::{atrest, run, stderr, stdout};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn help_lists_every_command() {
    let out = run(atrest().arg("--help"));
    assert!(out.status.success());
    for cmd in ["options", "explain", "advise", "plan", "cell"] {
        assert!(stdout(&out).contains(cmd), "help lacks `{cmd}`");
    }
}

#[test]
fn options_lists_the_seven_as_table_1() {
    let out = run(atrest().arg("options"));
    assert!(out.status.success());
    let text = stdout(&out);
    for id in [
        "rds-storage-kms",
        "rds-storage-custom-key-store",
        "ec2-ebs-kms",
        "ec2-ebs-custom-key-store",
        "ec2-luks",
        "ec2-tde-wallet",
        "ec2-tde-cloudhsm",
    ] {
        assert!(text.contains(id), "options lacks {id}");
    }
    let out = run(atrest().args(["options", "--format", "json"]));
    assert_eq!(json(&out)["options"].as_array().unwrap().len(), 10);
}

#[test]
fn explain_prints_options_rules_facts_and_engines() {
    let out = run(atrest().args(["explain", "2"]));
    assert!(out.status.success());
    assert!(stdout(&out).contains("rds-storage-custom-key-store"));
    assert!(stdout(&out).contains("challenges:"));
    let out = run(atrest().args(["explain", "fips-level-unmet"]));
    assert!(stdout(&out).contains("req.keys.fips > opt.fips_level"));
    let out = run(atrest().args(["explain", "kms-fips-140-3-l3"]));
    assert!(stdout(&out).contains("4884"));
    assert!(stdout(&out).contains("source: https://"));
    let out = run(atrest().args(["explain", "oracle-ee"]));
    assert!(stdout(&out).contains("rds_tde"));
}

#[test]
fn explain_unknown_id_suggests_the_closest() {
    let out = run(atrest().args(["explain", "ec2-lux"]));
    assert_error_style(&out, 2, "nothing is called `ec2-lux`");
}

#[test]
fn advise_with_no_input_uses_the_embedded_example() {
    let out = run(atrest().args(["advise", "--format", "json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("embedded example"));
    let v = json(&out);
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["recommended"]["variant"], "kms-customer-managed");
    assert_eq!(v["recommended"]["option"], 1);
    assert!(v["ranked"][0]["reasons"][0]["rule"].is_string());
    assert!(
        v["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["option"] == 5 && e["rules"][0] == "fips-level-unmet")
    );
    assert_eq!(v["overlays"][0]["id"], "app-layer-cell-encryption");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["rule"].as_str().unwrap())
        .collect();
    assert!(warnings.contains(&"fips-l3-no-longer-needs-custom-key-store"));
    assert!(
        v["facts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["source"].as_str().unwrap().starts_with("https://"))
    );
}

#[test]
fn advise_table_and_markdown_say_the_same_thing() {
    let table = stdout(&run(atrest().args([
        "advise",
        "--engine",
        "mongodb-community",
    ])));
    assert!(table.contains("Recommended: option 3"), "{table}");
    let md = stdout(&run(atrest().args([
        "advise",
        "--engine",
        "mongodb-community",
        "--format",
        "markdown",
    ])));
    assert!(md.contains("**Recommended: option 3"), "{md}");
    assert!(md.contains("| `database.engine` | mongodb-community |"));
}

#[test]
fn flags_override_the_requirements_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "req.toml",
        "[database]\nengine = \"postgres\"\n[keys]\nhsm = \"single-tenant\"\n",
    );
    let v = json(&run(
        atrest().args(["advise", "-r", &file, "--format", "json"])
    ));
    assert_eq!(v["recommended"]["option"], 2);
    let v = json(&run(atrest().args([
        "advise",
        "-r",
        &file,
        "--hsm",
        "shared-ok",
        "--format",
        "json",
    ])));
    assert_eq!(v["recommended"]["option"], 1);
    let v = json(&run(atrest().args([
        "advise",
        "--set",
        "keys.custody=customer-held",
        "--format",
        "json",
    ])));
    assert_eq!(v["recommended"]["option"], 5);
}

#[test]
fn unknown_requirement_key_names_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "req.toml",
        "[database]\nengine = \"postgres\"\n\n[data]\ngranularty = \"column\"\n",
    );
    let out = run(atrest().args(["advise", "-r", &file]));
    assert_error_style(
        &out,
        2,
        &format!("{file}:5: unknown key `granularty` in `[data]`"),
    );
}

#[test]
fn unknown_requirement_value_suggests_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "req.toml", "[keys]\nfips = \"140-3-l4\"\n");
    let out = run(atrest().args(["advise", "-r", &file]));
    assert_error_style(&out, 2, ":2: `keys.fips`: `140-3-l4` is not a `fips` value");
    let out = run(atrest().args(["advise", "--hosting", "manged"]));
    assert_error_style(
        &out,
        2,
        "--hosting: `database.hosting`: `manged` is not a `hosting` value",
    );
}

#[test]
fn unknown_section_and_bad_toml_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "a.toml", "[key]\nfips = \"none\"\n");
    assert!(
        stderr(&run(atrest().args(["advise", "-r", &file])))
            .contains(":1: unknown section `[key]`\n  help: did you mean `keys`?")
    );
    let file = write(&dir, "b.toml", "fips = \"140-3-l3\"\n");
    assert!(stderr(&run(atrest().args(["advise", "-r", &file]))).contains("put it under `[keys]`"));
    let file = write(&dir, "c.toml", "[keys]\nfips = \n");
    let err = stderr(&run(atrest().args(["advise", "-r", &file])));
    assert!(err.contains(":2: not valid TOML"), "{err}");
    let file = write(&dir, "d.toml", "[data]\nmulti_region = \"yes\"\n");
    assert!(
        stderr(&run(atrest().args(["advise", "-r", &file])))
            .contains("`data.multi_region`: expected true/false")
    );
}

#[test]
fn missing_requirements_file_is_a_usage_error() {
    let out = run(atrest().args(["advise", "-r", "/nonexistent/req.toml"]));
    assert_error_style(
        &out,
        2,
        "cannot read requirements file `/nonexistent/req.toml`",
    );
}

#[test]
fn malformed_set_flag_is_explained() {
    let out = run(atrest().args(["advise", "--set", "keys.fips"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`--set keys.fips` is not of the form `section.key=value`"));
    let out = run(atrest().args(["advise", "--set", "keys.fip=none"]));
    assert_error_style(&out, 2, "unknown requirement `keys.fip`");
}

#[test]
fn legacy_fips_140_2_is_read_as_140_3_with_a_warning() {
    let v = json(&run(
        atrest().args(["advise", "--fips", "140-2-l3", "--format", "json"])
    ));
    assert_eq!(v["requirements"]["keys.fips"], "140-3-l3");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "input-alias-keys-fips"
                && w["text"].as_str().unwrap().contains("2026-09-21"))
    );
}

#[test]
fn an_unknown_engine_gets_self_managed_options_and_a_hint() {
    let v = json(&run(atrest().args([
        "advise",
        "--engine",
        "cassandra",
        "--format",
        "json",
    ])));
    assert_eq!(v["recommended"]["option"], 3);
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "unknown-engine")
    );
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    let mut child = atrest()
        .args(["advise", "--format", "markdown"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn live_without_aws_flags_validates_the_endpoint() {
    let out = run(atrest().args(["advise", "--live", "--endpoint-url", "localhost:5000"]));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`localhost:5000` is not a valid endpoint URL")
            || err.contains("needs AWS support"),
        "{err}"
    );
}

const INVENTORY_CSV: &str = "name,engine,version,hosting,encryption,data_classes,region,read_replicas,copy_regions,trusted_services,overrides
payments,postgres,13.12,rds,none,pan,eu-west-1,payments-ro,eu-central-1,dms.amazonaws.com,
ledger,oracle-ee,19.0.0.0,on-prem,tde,pan,eu-west-1,,,,operations.licences=oracle-ee-aso;operations.app_changes=none;database.hosting=self-managed;data.granularity=column
events,mongodb-community,7.0,on-prem,none,pii,eu-west-1,,,,keys.custody=customer-held
";

#[test]
fn plan_gives_each_database_a_target_runbook_and_key_policies() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "fleet.csv", INVENTORY_CSV);
    let out = run(atrest().args([
        "plan",
        "--inventory",
        &file,
        "--format",
        "json",
        "--account-id",
        "123456789012",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let dbs = v["databases"].as_array().unwrap();
    let target = |i: usize| {
        dbs[i]["recommendation"]["recommended"]["option"]
            .as_u64()
            .unwrap()
    };
    assert_eq!((target(0), target(1), target(2)), (1, 6, 5));
    let payments = &dbs[0];
    let titles: Vec<&str> = payments["runbook"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Encrypt through snapshot, copy and restore"),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.contains("read replica `payments-ro`"))
    );
    assert!(
        titles
            .iter()
            .any(|t| t.contains("Re-create DR in eu-central-1"))
    );
    let keys = payments["keys"].as_array().unwrap();
    let regions: Vec<&str> = keys.iter().map(|k| k["region"].as_str().unwrap()).collect();
    assert_eq!(
        regions,
        ["eu-west-1", "eu-central-1"],
        "storage keys per Region; no cell key without named columns"
    );
    assert!(
        titles.contains(&"Name the columns to protect with cell encryption"),
        "{titles:?}"
    );
    assert!(!payments.to_string().contains("<table>"));
    let policy = keys[0]["policy"].to_string();
    assert!(policy.contains("rds.eu-west-1.amazonaws.com"));
    assert!(
        !policy.contains("dms.amazonaws.com"),
        "DMS never uses the storage key, so it is no principal of it"
    );
    assert!(
        keys[0]["notes"].to_string().contains("dms.amazonaws.com"),
        "and the plan says why"
    );
    assert!(
        dbs[1]["runbook"]
            .to_string()
            .contains("ADMINISTER KEY MANAGEMENT")
    );
    assert!(
        dbs[2]["runbook"]
            .to_string()
            .contains("luksFormat --type luks2 --pbkdf pbkdf2")
    );
}

#[test]
fn plan_reads_toml_inventories_and_prints_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "fleet.toml",
        "[[database]]\nname = \"claims\"\nengine = \"aurora-postgresql\"\nversion = \"16.4\"\nhosting = \"aurora\"\nencryption = \"rds-aws-managed\"\ndata_classes = [\"phi\"]\n[database.overrides]\n\"data.snapshot_sharing\" = \"cross-account\"\n",
    );
    let args = [
        "plan",
        "-i",
        &file,
        "--format",
        "markdown",
        "--share-with",
        "444455556666",
    ];
    let out = run(atrest().args(args));
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.contains("## `claims`"));
    assert!(md.contains("Restore the cluster snapshot under the new key"));
    assert!(md.contains("hipaa-encryption-rule-change"));
    assert!(
        !md.contains("restore-db-cluster-from-snapshot"),
        "without --out the Markdown stays a summary: commands go to files"
    );
    let plan_dir = dir.path().join("plan");
    let out = run(atrest().args(args).arg("--out").arg(&plan_dir));
    assert!(out.status.success(), "{}", stderr(&out));
    let runbook = std::fs::read_to_string(plan_dir.join("runbooks/claims.md")).unwrap();
    assert!(runbook.contains("restore-db-cluster-from-snapshot"));
    let policy =
        std::fs::read_to_string(plan_dir.join("keys/atrest-claims-storage.us-east-1.policy.json"))
            .unwrap();
    assert!(policy.contains("arn:aws:iam::444455556666:root"));
}

#[test]
fn plan_errors_name_the_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "a.csv",
            "name,engin\nx,postgres\n",
            "a.csv:1: unknown column `engin`\n  help: did you mean `engine`?",
        ),
        (
            "b.csv",
            "name,engine,hosting\nx,postgres,rdss\n",
            "b.csv:2: `hosting` is `rdss`\n  help: did you mean `rds`?",
        ),
        (
            "c.csv",
            "name,engine,overrides\nx,postgres,keys.fips\n",
            "c.csv:2: override `keys.fips` must be section.key=value",
        ),
        (
            "d.csv",
            "name,engine,data_classes\nx,postgres,pann\n",
            "d.csv:2: `data_classes` is `pann`\n  help: did you mean `pan`?",
        ),
        (
            "e.csv",
            "name,engine,overrides\nx,postgres,keys.fips=l3\n",
            "`keys.fips`: `l3` is not a `fips` value",
        ),
        (
            "f.csv",
            "name,engine\n",
            "f.csv: the inventory has no databases",
        ),
        (
            "g.toml",
            "[[database]]\nname = \"x\"\nengine = \"postgres\"\nregoin = \"eu-west-1\"\n",
            "unknown key `regoin`\n  help: did you mean `region`?",
        ),
        ("h.txt", "name,engine\n", "must end in .csv or .toml"),
        (
            "i.csv",
            "name,engine\nx,postgres,extra\n",
            "every row needs one value per header column",
        ),
    ];
    for (name, text, expected) in cases {
        let file = write(&dir, name, text);
        let out = run(atrest().args(["plan", "-i", &file]));
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{name}: {}", stderr(&out));
    }
    let out = run(atrest().args(["plan", "-i", "/nonexistent.csv"]));
    assert!(stderr(&out).contains("cannot read inventory `/nonexistent.csv`"));
    let file = write(&dir, "ok.csv", "name,engine\nx,postgres\n");
    let out = run(atrest().args(["plan", "-i", &file, "--account-id", "12345"]));
    assert!(stderr(&out).contains("`--account-id 12345` is not a 12-digit AWS account id"));
}

#[test]
fn stdout_is_the_report_and_stderr_the_diagnostics() {
    let child = atrest()
        .args(["advise", "--engine", "postgres", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.stderr.is_empty(), "flags given: no example notice");
    json(&out);
}

#[test]
fn compare_shows_two_picks_side_by_side() {
    let out = run(atrest().args([
        "advise",
        "--engine",
        "postgres",
        "--compare",
        "1:kms-imported,2:xks",
        "--format",
        "json",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let columns = v.as_array().unwrap();
    assert_eq!(columns.len(), 2);
    assert_eq!(columns[0]["variant"], "kms-imported");
    assert_eq!(columns[1]["variant"], "xks");
    let labels: Vec<&str> = columns[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    for label in [
        "FIPS 140-3 level",
        "custody",
        "SLA",
        "request-rate ceiling",
        "rotation",
        "multi-Region",
        "operational effort",
        "monthly cost",
        "application changes",
    ] {
        assert!(labels.contains(&label), "no `{label}` row");
    }
    let text = stdout(&run(atrest().args([
        "advise",
        "--engine",
        "postgres",
        "--compare",
        "6,7",
        "--width",
        "90",
    ])));
    assert!(
        text.contains("option 6") && text.contains("option 7"),
        "{text}"
    );
    assert!(text.contains("excluded: "), "{text}");
}

#[test]
fn compare_rejects_unknown_picks() {
    let out = run(atrest().args(["advise", "--engine", "postgres", "--compare", "1,9"]));
    assert_error_style(&out, 2, "`9` is not an option number from 1 to 7");
    let out = run(atrest().args(["advise", "--engine", "postgres", "--compare", "1,6:nope"]));
    assert_error_style(&out, 2, "option 6 has no variant `nope`");
    assert!(stderr(&out).contains("tde-kms-wrapped"));
    let out = run(atrest().args(["advise", "--engine", "postgres", "--compare", "1"]));
    assert_error_style(&out, 2, "`--compare` needs at least two picks");
}

#[test]
fn nothing_fits_names_the_conflict_and_the_cheapest_relaxations() {
    let out = run(atrest().args([
        "advise",
        "--engine",
        "postgres",
        "--hosting",
        "managed",
        "--set",
        "keys.custody=customer-held",
        "--format",
        "json",
    ]));
    let v = json(&out);
    assert!(v["recommended"].is_null());
    let keys: Vec<&str> = v["conflict"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["database.hosting", "keys.custody"]);
    let relaxations = v["conflict"]["relaxations"].as_array().unwrap();
    assert_eq!(relaxations.len(), 7);
    assert_eq!(relaxations[0]["key"], "keys.custody");
    assert_eq!(relaxations[0]["to"], "aws-kms-ok");
    assert_eq!(relaxations[4]["key"], "database.hosting");
    let text = stdout(&run(atrest().args([
        "advise",
        "--hosting",
        "managed",
        "--set",
        "keys.custody=customer-held",
    ])));
    assert!(text.contains("Why nothing fits"), "{text}");
    assert!(text.contains("together exclude every option"), "{text}");
}

#[test]
fn the_table_fits_the_requested_width() {
    for width in [80usize, 120] {
        let w = width.to_string();
        let text = stdout(&run(atrest().args(["advise", "--width", &w])));
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(
            widest <= width,
            "a line of {widest} columns at --width {width}"
        );
    }
}

#[test]
fn advise_names_the_variant_the_cost_and_the_drawbacks() {
    let out = run(atrest().args([
        "advise",
        "--engine",
        "aurora-postgresql",
        "--hsm",
        "single-tenant",
        "--format",
        "markdown",
    ]));
    let text = stdout(&out);
    assert!(
        text.contains("**Key protection:** KMS key in a CloudHSM key store"),
        "{text}"
    );
    assert!(text.contains("rests on an unverified price"), "{text}");
    assert!(text.contains("## Drawbacks of option 2"), "{text}");
    assert!(text.contains("## Prices"), "{text}");
    let out = run(atrest().args(["explain", "cloudhsm-hsm-hour"]));
    let text = stdout(&out);
    assert!(text.contains("confidence: unverified"), "{text}");
    assert!(text.contains("source: https://"), "{text}");
    let text = stdout(&run(atrest().args(["explain", "6"])));
    assert!(
        text.contains("tde-kms-wrapped - master key generated and wrapped by AWS KMS"),
        "{text}"
    );
}
