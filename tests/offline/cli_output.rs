//! The exact output of every `--help` (the whole command tree, walked from `atrest --help`) and of every
//! user-facing error the command line gives without AWS: one snapshot per case, with the exit code, stdout and
//! stderr. The cases are a table; the files they read are written into one temporary directory, shown as `[dir]`.

use std::path::Path;
use std::process::Output;

use insta::assert_snapshot;

use super::snapshots::{fixed_signing_key, regex_escape, settings};
use crate::support::cli::{assert_error_style, run_stdin};
use crate::support::{atrest, repo_path, run, stderr, stdout};

/// `atrest ARGS` from the repository root with a fixed terminal width.
fn atrest_in_root(args: &[String], stdin: Option<&str>) -> Output {
    let mut cmd = atrest();
    cmd.current_dir(repo_path(""))
        .env("COLUMNS", "100")
        .args(args);
    match stdin {
        Some(input) => run_stdin(&mut cmd, input.as_bytes()),
        None => run(cmd.stdin(std::process::Stdio::null())),
    }
}

/// What a run printed, for a snapshot: the command, `exit`, `stdout` and `stderr`.
fn transcript(args: &[String], out: &Output) -> String {
    format!(
        "$ atrest {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status
            .code()
            .map_or_else(|| "signal".to_string(), |c| c.to_string()),
        stdout(out),
        stderr(out)
    )
}

/// The subcommands listed under `Commands:` in a help text, without `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_help_text() {
    let s = settings("help", "atrest <command>... --help");
    s.bind(|| {
        let mut todo: Vec<Vec<String>> = vec![vec![]];
        let mut seen = 0;
        while let Some(path) = todo.pop() {
            let mut args = path.clone();
            args.push("--help".into());
            let text = transcript(&args, &atrest_in_root(&args, None));
            for sub in subcommands(&text) {
                let mut next = path.clone();
                next.push(sub);
                todo.push(next);
            }
            let name = if path.is_empty() {
                "atrest".to_string()
            } else {
                path.join("_")
            };
            assert_snapshot!(format!("help_{name}"), text);
            seen += 1;
        }
        // atrest, its 7 commands, 5 evidence and 5 cell subcommands.
        assert!(seen >= 18, "{seen} help texts");
    });
}

/// One error case: a snapshot name, the arguments (`{dir}` is the directory of [`inputs`]) and standard input.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    stdin: Option<&'static str>,
}

const fn case(name: &'static str, args: &'static [&'static str]) -> Case {
    Case {
        name,
        args,
        stdin: None,
    }
}

/// Errors that read no AWS API, so they are the same in every build.
#[rustfmt::skip]
const CASES: &[Case] = &[
    // Parsing: unknown commands, flags and values; missing arguments.
    case("no_command", &[]),
    case("unknown_command", &["audti"]),
    case("unknown_flag", &["audit", "--regoins", "eu-west-1"]),
    case("unknown_format", &["audit", "--format", "xml"]),
    case("missing_required_flag", &["plan"]),
    case("missing_argument", &["explain"]),
    case("unknown_cell_command", &["cell", "encrpyt"]),
    // explain
    case("explain_unknown_id", &["explain", "prefer-manged"]),
    // advise: requirements files and flags
    case("advise_missing_file", &["advise", "-r", "{dir}/missing.toml"]),
    case("advise_unknown_key", &["advise", "-r", "{dir}/unknown-key.toml"]),
    case("advise_unknown_value", &["advise", "-r", "{dir}/unknown-value.toml"]),
    case("advise_unknown_section", &["advise", "-r", "{dir}/unknown-section.toml"]),
    case("advise_key_outside_a_section", &["advise", "-r", "{dir}/no-section.toml"]),
    case("advise_bad_toml", &["advise", "-r", "{dir}/bad.toml"]),
    case("advise_not_a_bool", &["advise", "-r", "{dir}/not-bool.toml"]),
    case("advise_unknown_flag_value", &["advise", "--hosting", "manged"]),
    case("advise_set_without_value", &["advise", "--set", "keys.fips"]),
    case("advise_set_unknown_key", &["advise", "--set", "keys.fip=none"]),
    case("advise_unknown_fips", &["advise", "--fips", "140-3-l4"]),
    // plan: fleet inventories
    case("plan_missing_file", &["plan", "-i", "{dir}/missing.csv"]),
    case("plan_unknown_column", &["plan", "-i", "{dir}/unknown-column.csv"]),
    case("plan_unknown_value", &["plan", "-i", "{dir}/unknown-value.csv"]),
    case("plan_bad_override", &["plan", "-i", "{dir}/bad-override.csv"]),
    case("plan_unknown_data_class", &["plan", "-i", "{dir}/unknown-class.csv"]),
    case("plan_bad_override_value", &["plan", "-i", "{dir}/bad-override-value.csv"]),
    case("plan_no_databases", &["plan", "-i", "{dir}/empty.csv"]),
    case("plan_unknown_toml_key", &["plan", "-i", "{dir}/unknown-key.fleet.toml"]),
    case("plan_unknown_extension", &["plan", "-i", "{dir}/fleet.txt"]),
    case("plan_ragged_row", &["plan", "-i", "{dir}/ragged.csv"]),
    case("plan_bad_account_id", &["plan", "-i", "examples/fleet.csv", "--account-id", "12345"]),
    // audit: flags and saved inventories
    case("audit_bad_region", &["audit", "--regions", "eu-west-1,EU_WEST_2"]),
    case("audit_empty_regions", &["audit", "--regions", ","]),
    case("audit_all_and_a_region", &["audit", "--regions", "all,eu-west-1"]),
    case("audit_bad_db_tag", &["audit", "--regions", "eu-west-1", "--db-tag", "database"]),
    case("audit_bad_fail_on", &["audit", "--inventory-in", "examples/inventory.json", "--fail-on", "urgent"]),
    case("audit_missing_inventory", &["audit", "--inventory-in", "{dir}/missing.json"]),
    case("audit_truncated_inventory", &["audit", "--inventory-in", "{dir}/truncated.json"]),
    case("audit_array_inventory", &["audit", "--inventory-in", "{dir}/array.json"]),
    case("audit_wrong_type_inventory", &["audit", "--inventory-in", "{dir}/wrong-type.json"]),
    case("audit_future_inventory", &["audit", "--inventory-in", "{dir}/future.json"]),
    case("audit_inventory_in_and_regions", &["audit", "--inventory-in", "examples/inventory.json", "--regions", "eu-west-1"]),
    case("audit_unwritable_inventory_out", &["audit", "--regions", "eu-west-1", "--inventory-out", "{dir}/no/such/inv.json"]),
    // access: principals and saved inventories
    case("access_bad_principal", &["access", "--inventory-in", "examples/inventory.json", "--principal", "bob"]),
    case("access_missing_inventory", &["access", "--inventory-in", "{dir}/missing.json"]),
    case("access_unknown_format", &["access", "--inventory-in", "examples/inventory.json", "--format", "html"]),
    // evidence: keys, bundles, attachments
    case("evidence_keygen_missing_directory", &["evidence", "keygen", "--out", "{dir}/no/such/k"]),
    case("evidence_keygen_exists", &["evidence", "keygen", "--out", "{dir}/signing.key"]),
    case("evidence_build_without_out", &["evidence", "build", "--inventory-in", "examples/inventory.json"]),
    case("evidence_build_inventory_in_and_regions", &["evidence", "build", "--out", "{dir}/b", "--inventory-in", "examples/inventory.json", "--regions", "eu-west-1"]),
    case("evidence_build_out_not_empty", &["evidence", "build", "--out", "{dir}/full", "--inventory-in", "examples/inventory.json"]),
    case("evidence_build_out_is_a_file", &["evidence", "build", "--out", "{dir}/notes.md", "--inventory-in", "examples/inventory.json"]),
    case("evidence_build_out_parent_missing", &["evidence", "build", "--out", "{dir}/no/such/b", "--inventory-in", "examples/inventory.json"]),
    case("evidence_build_open_signing_key", &["evidence", "build", "--out", "{dir}/b", "--inventory-in", "examples/inventory.json", "--signing-key", "{dir}/open.key"]),
    case("evidence_build_public_key_to_sign", &["evidence", "build", "--out", "{dir}/b", "--inventory-in", "examples/inventory.json", "--signing-key", "{dir}/signing.key.pub"]),
    case("evidence_build_missing_attachment", &["evidence", "build", "--out", "{dir}/b", "--inventory-in", "examples/inventory.json", "--attach", "{dir}/missing.md"]),
    case("evidence_build_two_attachments_one_name", &["evidence", "build", "--out", "{dir}/b", "--inventory-in", "examples/inventory.json", "--attach", "{dir}/a/notes.md", "--attach", "{dir}/notes.md"]),
    case("evidence_build_bad_inventory", &["evidence", "build", "--out", "{dir}/b", "--inventory-in", "{dir}/future.json"]),
    case("evidence_verify_without_key", &["evidence", "verify", "{dir}/full"]),
    case("evidence_verify_a_file", &["evidence", "verify", "{dir}/notes.md", "--public-key", "{dir}/signing.key.pub"]),
    case("evidence_verify_missing_key", &["evidence", "verify", "{dir}/full", "--public-key", "{dir}/missing.pub"]),
    case("evidence_verify_private_key", &["evidence", "verify", "{dir}/full", "--public-key", "{dir}/signing.key"]),
    case("evidence_verify_not_a_bundle", &["evidence", "verify", "{dir}/full", "--no-signature"]),
    case("evidence_diff_not_bundles", &["evidence", "diff", "{dir}/full", "{dir}/a"]),
    // cell: key sources, context flags, CSV files, keyrings
    case("cell_no_key_source", &["cell", "encrypt", "--table", "t", "--column", "c", "v"]),
    case("cell_missing_key_file", &["cell", "encrypt", "--key-file", "{dir}/missing.key", "--table", "t", "--column", "c", "v"]),
    case("cell_junk_key_file", &["cell", "encrypt", "--key-file", "{dir}/junk.key", "--table", "t", "--column", "c", "v"]),
    case("cell_open_key_file", &["cell", "encrypt", "--key-file", "{dir}/open-cell.key", "--table", "t", "--column", "c", "v"]),
    case("cell_keygen_exists", &["cell", "keygen", "--out", "{dir}/cell.key"]),
    case("cell_keygen_missing_directory", &["cell", "keygen", "--out", "{dir}/no/such/cell.key"]),
    case("cell_empty_table", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "", "--column", "c", "v"]),
    case("cell_empty_column", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "t", "--column", "", "v"]),
    case("cell_index_length_out_of_range", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "t", "--column", "c", "--blind-index", "--index-length", "40", "v"]),
    case("cell_csv_without_out", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "users", "--csv", "{dir}/users.csv", "--column", "ssn"]),
    case("cell_csv_unknown_column", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "users", "--csv", "{dir}/users.csv", "--column", "email", "--out", "{dir}/o.csv"]),
    case("cell_csv_unknown_row_key", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "users", "--csv", "{dir}/users.csv", "--column", "ssn", "--row-key", "uid", "--out", "{dir}/o.csv"]),
    case("cell_csv_out_exists", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "users", "--csv", "{dir}/users.csv", "--column", "ssn", "--out", "{dir}/users.csv"]),
    case("cell_csv_missing", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "users", "--csv", "{dir}/missing.csv", "--column", "ssn", "--out", "{dir}/o.csv"]),
    case("cell_csv_ragged", &["cell", "encrypt", "--key-file", "{dir}/cell.key", "--table", "users", "--csv", "{dir}/ragged-cells.csv", "--column", "ssn", "--out", "{dir}/o.csv"]),
    case("cell_decrypt_not_a_cell", &["cell", "decrypt", "--key-file", "{dir}/cell.key", "--table", "t", "--column", "c", "bm90IGEgY2VsbA=="]),
    Case { name: "cell_decrypt_stdin_not_a_cell", args: &["cell", "decrypt", "--key-file", "{dir}/cell.key", "--table", "t", "--column", "c"], stdin: Some("not base64 at all\n") },
];

/// Errors whose wording depends on whether the build has the AWS SDK.
#[cfg(feature = "aws")]
#[rustfmt::skip]
const BUILD_CASES: &[Case] = &[
    case("aws_audit_bad_endpoint_url", &["audit", "--regions", "eu-west-1", "--endpoint-url", "localhost:5000"]),
    case("aws_advise_live_bad_endpoint_url", &["advise", "--live", "--endpoint-url", "localhost:5000"]),
    case("aws_evidence_build_bad_endpoint_url", &["evidence", "build", "--out", "{dir}/b", "--endpoint-url", "localhost:1", "--region", "eu-west-1"]),
];
#[cfg(not(feature = "aws"))]
#[rustfmt::skip]
const BUILD_CASES: &[Case] = &[
    case("no_aws_audit_live", &["audit", "--regions", "eu-west-1"]),
    case("no_aws_advise_live", &["advise", "--live", "--endpoint-url", "localhost:5000"]),
    case("no_aws_evidence_build_live", &["evidence", "build", "--out", "{dir}/b", "--regions", "eu-west-1"]),
    case("no_aws_cell_kms", &["cell", "encrypt", "--kms-key-id", "alias/x", "--table", "t", "--column", "c", "v"]),
];

/// Cases whose stderr does not (yet) follow the house style of `assert_error_style`, and why. Every other case
/// must: `error: ` + a lowercase message without a final period, and a hint.
const NOT_HOUSE_STYLE: &[(&str, &str)] = &[
    ("no_command", "clap prints the help"),
    ("unknown_command", "clap parse error"),
    ("unknown_flag", "clap parse error"),
    ("unknown_format", "clap parse error"),
    ("missing_required_flag", "clap parse error"),
    ("missing_argument", "clap parse error"),
    ("unknown_cell_command", "clap parse error"),
    ("audit_bad_fail_on", "clap value parser error"),
    ("access_unknown_format", "clap parse error"),
    ("audit_inventory_in_and_regions", "clap parse error"),
    ("evidence_build_without_out", "clap parse error"),
    (
        "evidence_build_inventory_in_and_regions",
        "clap parse error",
    ),
    ("evidence_verify_without_key", "clap parse error"),
    (
        "evidence_verify_not_a_bundle",
        "a verification result on stdout, not an error",
    ),
    #[cfg(feature = "aws")]
    ("aws_advise_live_bad_endpoint_url", "a notice comes first"),
    #[cfg(not(feature = "aws"))]
    ("no_aws_advise_live", "a notice comes first"),
];

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

/// The files the cases read.
fn inputs(dir: &Path) {
    // Requirements
    write(
        dir,
        "unknown-key.toml",
        "[database]\nengine = \"postgres\"\n\n[data]\ngranularty = \"column\"\n",
    );
    write(dir, "unknown-value.toml", "[keys]\nfips = \"140-3-l4\"\n");
    write(dir, "unknown-section.toml", "[key]\nfips = \"none\"\n");
    write(dir, "no-section.toml", "fips = \"140-3-l3\"\n");
    write(dir, "bad.toml", "[keys]\nfips = \n");
    write(dir, "not-bool.toml", "[data]\nmulti_region = \"yes\"\n");
    // Fleets
    write(dir, "unknown-column.csv", "name,engin\nx,postgres\n");
    write(
        dir,
        "unknown-value.csv",
        "name,engine,hosting\nx,postgres,rdss\n",
    );
    write(
        dir,
        "bad-override.csv",
        "name,engine,overrides\nx,postgres,keys.fips\n",
    );
    write(
        dir,
        "unknown-class.csv",
        "name,engine,data_classes\nx,postgres,pann\n",
    );
    write(
        dir,
        "bad-override-value.csv",
        "name,engine,overrides\nx,postgres,keys.fips=l3\n",
    );
    write(dir, "empty.csv", "name,engine\n");
    write(
        dir,
        "unknown-key.fleet.toml",
        "[[database]]\nname = \"x\"\nengine = \"postgres\"\nregoin = \"eu-west-1\"\n",
    );
    write(dir, "fleet.txt", "name,engine\n");
    write(dir, "ragged.csv", "name,engine\nx,postgres,extra\n");
    // Saved inventories
    write(
        dir,
        "truncated.json",
        "{\"schema_version\": 1, \"kms_keys\": [",
    );
    write(dir, "array.json", "[]");
    write(
        dir,
        "wrong-type.json",
        "{\"schema_version\": 1, \"ebs_volumes\": 3}",
    );
    write(dir, "future.json", "{\"schema_version\": 99}");
    // Evidence: a signing key pair, an open private key, a non-empty directory, attachments
    let key = fixed_signing_key(dir);
    let out = run(atrest()
        .args(["evidence", "keygen", "--out"])
        .arg(dir.join("generated.key")));
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::copy(dir.join("generated.key.pub"), dir.join("signing.key.pub")).unwrap();
    std::fs::copy(&key, dir.join("open.key")).unwrap();
    chmod(&dir.join("open.key"), 0o644);
    write(dir, "full/keep.txt", "mine");
    write(dir, "notes.md", "one");
    write(dir, "a/notes.md", "two");
    // Cell: a key file, an open copy, junk, CSV files
    let out = run(atrest()
        .args(["cell", "keygen", "--out"])
        .arg(dir.join("cell.key")));
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::copy(dir.join("cell.key"), dir.join("open-cell.key")).unwrap();
    chmod(&dir.join("open-cell.key"), 0o644);
    write(dir, "junk.key", "not a key\n");
    chmod(&dir.join("junk.key"), 0o600);
    write(
        dir,
        "users.csv",
        "id,name,ssn\n1,ann,078-05-1120\n2,bob,219-09-9999\n",
    );
    write(dir, "ragged-cells.csv", "id,ssn\n1,a\n2,b,extra\n");
}

#[test]
fn every_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    inputs(&root);
    let root_text = root.to_str().unwrap().to_string();
    let mut s = settings(
        "errors",
        "exit code, stdout and stderr of a command that fails",
    );
    s.add_filter(&regex_escape(&root_text), "[dir]");
    s.bind(|| {
        for (name, _) in NOT_HOUSE_STYLE {
            assert!(
                CASES.iter().chain(BUILD_CASES).any(|c| c.name == *name),
                "no case {name}"
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for c in CASES.iter().chain(BUILD_CASES) {
            assert!(names.insert(c.name), "two cases named {}", c.name);
            let args: Vec<String> = c
                .args
                .iter()
                .map(|a| a.replace("{dir}", &root_text))
                .collect();
            let out = atrest_in_root(&args, c.stdin);
            let text = transcript(&args, &out);
            assert!(!out.status.success(), "{}: succeeded\n{text}", c.name);
            if !NOT_HOUSE_STYLE.iter().any(|(name, _)| *name == c.name) {
                assert_error_style(&out, out.status.code().unwrap(), "");
            }
            assert_snapshot!(c.name, text);
        }
    });
}
