//! Snapshots of every report the binary writes from files alone: the audit of each saved inventory in every
//! format, the advice for every scenario, the plan of the example fleet, an evidence bundle, `options` and
//! `explain`. Only what varies from run to run is redacted: the date of a decision record and the time a report
//! or bundle was written (the bundle is signed with a fixed key). A change to any output fails here until its
//! snapshot is reviewed and accepted (`INSTA_UPDATE=always cargo test --test offline snapshots`, then read the
//! diff of `tests/offline/snapshots/`). With `CI=true`, insta never writes a snapshot: a missing one fails.

use std::path::Path;
use std::process::Output;

use insta::{Settings, assert_snapshot};

use crate::support::cli::p;
use crate::support::{atrest, repo_path, run, stderr, stdout};

const AUDIT_FORMATS: &[&str] = &["table", "json", "markdown", "html", "ocsf"];
const DECISION_FORMATS: &[&str] = &["table", "json", "markdown", "adr"];

/// Snapshot settings: files under `tests/offline/snapshots/output/`, named by what they show.
pub fn settings(dir: &str, description: &str) -> Settings {
    let mut s = Settings::clone_current();
    s.set_snapshot_path(format!("snapshots/{dir}"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.set_description(description);
    s
}

/// `atrest ARGS` from the repository root (so paths in the output stay relative); must succeed.
fn ok(args: &[&str]) -> String {
    let out = run(atrest().current_dir(repo_path("")).args(args));
    assert_success(&out, args);
    stdout(&out)
}

fn assert_success(out: &Output, args: &[&str]) {
    // A saved inventory that recorded failed API calls gives a partial audit (exit 4).
    let expected = args
        .iter()
        .position(|a| *a == "--inventory-in")
        .and_then(|i| args.get(i + 1))
        .map_or(0, |path| crate::support::saved_audit_exit(&repo_path(path)));
    assert_eq!(
        out.status.code(),
        Some(expected),
        "atrest {}\nstderr: {}",
        args.join(" "),
        stderr(out)
    );
}

/// Today in UTC as `YYYY-MM-DD` (the date `advise` and `plan` write into a decision record).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The HTML report says when it was written.
const REPORT_WRITTEN: (&str, &str) = (
    r"<dt>Report written</dt><dd>[^<]*</dd>",
    "<dt>Report written</dt><dd>[written]</dd>",
);

fn audit_every_format(inventory: &str) {
    for format in AUDIT_FORMATS {
        let text = ok(&["audit", "--inventory-in", inventory, "--format", format]);
        assert_snapshot!(format!("audit_{format}"), text);
    }
}

#[test]
fn audit_of_each_fixture_in_every_format() {
    let mut s = settings(
        "output",
        "atrest audit --inventory-in tests/fixtures/audit/<file> --format <format>",
    );
    s.add_filter(REPORT_WRITTEN.0, REPORT_WRITTEN.1);
    s.bind(|| {
        insta::glob!("../fixtures/audit", "*.json", |path| {
            named_by_file(path, || {
                audit_every_format(&format!("tests/fixtures/audit/{}", file_name(path)));
            });
        });
    });
}

#[test]
fn audit_of_the_evidence_fixture_and_the_example_in_every_format() {
    for (inventory, label) in [
        (
            "tests/fixtures/evidence/inventory.json",
            "evidence-inventory",
        ),
        ("examples/inventory.json", "example-inventory"),
    ] {
        let mut s = settings(
            "output",
            &format!("atrest audit --inventory-in {inventory} --format <format>"),
        );
        s.set_snapshot_suffix(label);
        s.add_filter(REPORT_WRITTEN.0, REPORT_WRITTEN.1);
        s.bind(|| audit_every_format(inventory));
    }
}

/// Names the snapshots taken in `f` after `path`'s file name, however many files the glob matched (with one
/// file, `glob!` alone would leave the suffix empty).
fn named_by_file(path: &Path, f: impl FnOnce()) {
    let mut s = Settings::clone_current();
    s.set_snapshot_suffix(file_name(path));
    s.bind(f);
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

/// A scenario's requirements alone: the file without its `name`, `description` and `[expect]`.
fn scenario_requirements(path: &Path) -> String {
    let mut table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for key in ["name", "description", "expect"] {
        table.remove(key);
    }
    toml::to_string(&table).unwrap()
}

#[test]
fn advice_for_every_scenario_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(
        "advise",
        "atrest advise --requirements <the requirements of decision/scenarios/<file>> --format <format>",
    );
    s.add_filter(&format!("(?m)^- Date: {}$", today()), "- Date: [today]");
    s.bind(|| {
        insta::glob!("../../decision/scenarios", "*.toml", |path| {
            let requirements = dir.path().join(file_name(path));
            std::fs::write(&requirements, scenario_requirements(path)).unwrap();
            named_by_file(path, || {
                for format in DECISION_FORMATS {
                    let text = ok(&[
                        "advise",
                        "--requirements",
                        p(&requirements),
                        "--format",
                        format,
                    ]);
                    assert_snapshot!(format!("advise_{format}"), text);
                }
            });
        });
    });
}

#[test]
fn plan_of_the_example_fleet_in_every_format() {
    let mut s = settings(
        "output",
        "atrest plan --inventory examples/fleet.csv --account-id 123456789012 --format <format>",
    );
    s.add_filter(&format!("(?m)^- Date: {}$", today()), "- Date: [today]");
    s.bind(|| {
        for format in DECISION_FORMATS {
            let text = ok(&[
                "plan",
                "--inventory",
                "examples/fleet.csv",
                "--account-id",
                "123456789012",
                "--format",
                format,
            ]);
            assert_snapshot!(format!("plan_{format}"), text);
        }
    });
}

/// A fixed Ed25519 signing key: PKCS#8 v1 around the seed 0x01..=0x20, so the key fingerprint never changes.
pub fn fixed_signing_key(dir: &Path) -> std::path::PathBuf {
    use base64::Engine;
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend(1u8..=32);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let path = dir.join("signing.key");
    std::fs::write(
        &path,
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

#[test]
fn evidence_bundle_pages() {
    let dir = tempfile::tempdir().unwrap();
    let key = fixed_signing_key(dir.path());
    let bundle = dir.path().join("bundle");
    let args = [
        "evidence",
        "build",
        "--inventory-in",
        "tests/fixtures/evidence/inventory.json",
        "--out",
        p(&bundle),
        "--signing-key",
        p(&key),
    ];
    let out = run(atrest().current_dir(repo_path("")).args(args));
    assert_success(&out, &args);
    let read = |name: &str| std::fs::read_to_string(bundle.join(name)).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&read("manifest.json")).unwrap();
    let built = manifest["built"]
        .as_str()
        .expect("manifest.json has `built`")
        .to_string();

    let mut s = settings(
        "evidence",
        "atrest evidence build --inventory-in tests/fixtures/evidence/inventory.json --signing-key <fixed key>",
    );
    s.add_filter(&regex_escape(&built), "[built]");
    s.bind(|| {
        for name in [
            "report.html",
            "report.md",
            "controls.json",
            "findings.json",
            "findings.ocsf.json",
        ] {
            assert_snapshot!(name.replace('.', "_"), read(name));
        }
    });
}

#[test]
fn options_and_explain() {
    let s = settings(
        "output",
        "atrest options --format <format>; atrest explain <id>",
    );
    s.bind(|| {
        for format in ["table", "json", "markdown"] {
            assert_snapshot!(
                format!("options_{format}"),
                ok(&["options", "--format", format])
            );
        }
        // An option by number and by id, an overlay, a rule, a fact and an engine.
        for id in [
            "1",
            "7",
            "ec2-luks",
            "app-layer-cell-encryption",
            "prefer-managed",
            "kms-fips-140-3-l3",
            "postgres",
        ] {
            assert_snapshot!(format!("explain_{id}"), ok(&["explain", id]));
        }
    });
}

/// `text` as a regular expression that matches only itself.
pub fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}
