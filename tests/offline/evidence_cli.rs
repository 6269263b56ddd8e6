//! `atrest evidence` from the command line without AWS (bundles built from saved inventories): keys, bundle
//! layout and manifest, tamper detection in every file, diff, decision records as attachments, and every
//! user-facing error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::cli::{assert_error_style, cmd, p};
use crate::support::{repo_path, stderr, stdout};
use serde_json::Value;

/// `INVENTORY` and `LATER` each record one failed API call, so audits and bundles of them are partial (exit 4).
const PARTIAL: i32 = 4;

const INVENTORY: &str = "tests/fixtures/evidence/inventory.json";
const LATER: &str = "tests/fixtures/evidence/inventory-later.json";

fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    let out = cmd(&["evidence", "keygen", "--out", p(&key)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (key.clone(), PathBuf::from(format!("{}.pub", key.display())))
}

fn build(out_dir: &Path, inventory: &str, extra: &[&str]) -> Output {
    let inv = repo_path(inventory);
    let mut args = vec![
        "evidence",
        "build",
        "--out",
        p(out_dir),
        "--inventory-in",
        p(&inv),
    ];
    args.extend_from_slice(extra);
    cmd(&args)
}

fn verify(dir: &Path, public: &Path) -> Output {
    cmd(&["evidence", "verify", p(dir), "--public-key", p(public)])
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every file of a bundle, relative, `/`-separated.
fn files(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// A signed bundle with a decision record attached; returns (tempdir, bundle, public key).
fn signed_bundle() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "evidence.key");
    let adr = dir.path().join("adr.md");
    let out = cmd(&[
        "advise", "--format", "adr", "--engine", "postgres", "--regime", "pci-pan",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(&adr, &out.stdout).unwrap();
    let bundle = dir.path().join("bundle");
    let out = build(
        &bundle,
        INVENTORY,
        &["--signing-key", p(&key), "--attach", p(&adr)],
    );
    assert_eq!(out.status.code(), Some(PARTIAL), "{}", stderr(&out));
    (dir, bundle, public)
}

#[test]
fn keygen_writes_a_0600_private_key_and_a_public_key_and_never_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let out = cmd(&["evidence", "keygen", "--out", p(&key)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let private = std::fs::read_to_string(&key).unwrap();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let body: String = private
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        !stdout(&out).contains(&body) && !stderr(&out).contains(&body),
        "key material printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{public}"
    );
    assert!(
        stdout(&out).contains("public key sha256 "),
        "{}",
        stdout(&out)
    );

    let again = cmd(&["evidence", "keygen", "--out", p(&key)]);
    assert_error_style(
        &again,
        2,
        "already exists\n  help: keygen never replaces a key",
    );
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        private,
        "the key was replaced"
    );
}

#[test]
fn build_writes_every_file_and_a_signed_manifest() {
    let (_dir, bundle, public) = signed_bundle();
    let want: BTreeSet<String> = [
        "access.json",
        "access.md",
        "attachments/adr.md",
        "controls.json",
        "findings.json",
        "findings.ocsf.json",
        "inventory.json",
        "manifest.json",
        "manifest.sig",
        "report.html",
        "report.md",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(files(&bundle), want);

    let m = json_file(&bundle.join("manifest.json"));
    assert_eq!(m["format"], "atrest-evidence-bundle");
    assert_eq!(m["schema_version"], 1);
    assert_eq!(m["tool"], "atrest");
    assert_eq!(m["tool_version"], env!("CARGO_PKG_VERSION"));
    let catalog = atrest::catalog::Catalog::embedded().unwrap();
    assert_eq!(m["catalog_version"], catalog.version.as_str());
    assert_eq!(m["account"], "111122223333");
    assert_eq!(
        m["caller_arn"],
        "arn:aws:sts::111122223333:assumed-role/SecurityAudit/atrest-evidence"
    );
    assert_eq!(m["regions"], serde_json::json!(["eu-central-1"]));
    assert_eq!(m["source"], "inventory");
    assert_eq!(m["started"], "2026-11-20T10:00:00Z");
    assert_eq!(m["finished"], "2026-11-20T10:00:04Z");
    assert_eq!(m["frameworks"].as_array().unwrap().len(), 5);
    let listed: BTreeSet<String> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let bytes = std::fs::read(bundle.join(path)).unwrap();
            assert_eq!(
                f["sha256"],
                atrest::evidence::manifest::sha256_hex(&bytes),
                "{path}"
            );
            assert_eq!(f["bytes"], bytes.len() as u64, "{path}");
            path.to_string()
        })
        .collect();
    let mut without_manifest = want.clone();
    without_manifest.remove("manifest.json");
    without_manifest.remove("manifest.sig");
    assert_eq!(listed, without_manifest);
    assert_eq!(m["attachments"][0]["path"], "attachments/adr.md");
    assert_eq!(m["attachments"][0]["kind"], "decision-record");

    let out = verify(&bundle, &public);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("is intact: 9 file(s) match manifest.json; signature valid"),
        "{}",
        stdout(&out)
    );
    let out = cmd(&[
        "evidence",
        "verify",
        p(&bundle),
        "--public-key",
        p(&public),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["intact"], true);
    assert_eq!(v["signature"], "valid");
}

#[test]
fn controls_answer_pci_3_5_1_and_reference_the_decision_record() {
    let (_dir, bundle, _) = signed_bundle();
    let c = json_file(&bundle.join("controls.json"));
    let pci = c["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "pci-dss")
        .unwrap();
    let control = |id: &str| {
        pci["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let c351 = control("3.5.1");
    assert_eq!(c351["status"], "fail");
    let ebs = c351["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["check"] == "ebs_volume_encrypted")
        .unwrap();
    assert_eq!(ebs["fail"], 2);
    assert_eq!(ebs["resources"][0]["status"], "fail");
    let c3512 = control("3.5.1.2");
    assert_eq!(c3512["status"], "manual");
    assert_eq!(
        c3512["attachments"],
        serde_json::json!(["attachments/adr.md"])
    );
    assert!(
        c3512["evidence"]
            .as_str()
            .unwrap()
            .contains("decision record")
    );

    let html = std::fs::read_to_string(bundle.join("report.html")).unwrap();
    assert!(html.contains("id=\"c-pci-dss-3-5-1\""));
    assert!(
        html.contains("Not met: 2 resource(s) fail ebs_volume_encrypted."),
        "the page says why 3.5.1 fails"
    );
    assert!(html.contains("attachments/adr.md"));
    assert!(html.contains("arn:aws:sts::111122223333:assumed-role/SecurityAudit/atrest-evidence"));
    let md = std::fs::read_to_string(bundle.join("report.md")).unwrap();
    assert!(md.contains("**PCI DSS 3.5.1 (fail)**"), "{md}");
    let adr = std::fs::read_to_string(bundle.join("attachments/adr.md")).unwrap();
    assert!(adr.contains("<!-- atrest:decision-record v1 -->"));
}

/// Flips one bit of the byte in the middle of `path`.
fn flip_one_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn verify_catches_a_one_byte_change_in_every_file() {
    let (dir, bundle, public) = signed_bundle();
    let all = files(&bundle);
    assert_eq!(all.len(), 11);
    for (n, file) in all.iter().enumerate() {
        let copy = dir.path().join(format!("tampered-{n}"));
        copy_dir(&bundle, &copy);
        flip_one_byte(&copy.join(file));
        let out = verify(&copy, &public);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{file}: {text}");
        let expected = match file.as_str() {
            "manifest.json" => "bad signature",
            "manifest.sig" => "manifest.sig",
            other => &format!("changed: {other}"),
        };
        assert!(
            text.contains(expected)
                || (file == "manifest.json" && text.contains("not a valid manifest")),
            "{file}: {text}"
        );
        assert!(text.contains("FAILED verification"), "{file}: {text}");
    }
    note(&format!(
        "verify caught a one-byte change in each of {} files",
        all.len()
    ));
}

#[test]
fn verify_catches_added_removed_and_unsigned() {
    let (dir, bundle, public) = signed_bundle();

    let added = dir.path().join("added");
    copy_dir(&bundle, &added);
    std::fs::write(added.join("attachments/extra.txt"), "not in the manifest").unwrap();
    std::fs::write(added.join("notes.md"), "nor this").unwrap();
    let out = verify(&added, &public);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("added: attachments/extra.txt"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("added: notes.md"), "{}", stdout(&out));

    for file in files(&bundle)
        .into_iter()
        .filter(|f| f != "manifest.json" && f != "manifest.sig")
    {
        let removed = dir
            .path()
            .join(format!("removed-{}", file.replace('/', "-")));
        copy_dir(&bundle, &removed);
        std::fs::remove_file(removed.join(&file)).unwrap();
        let out = verify(&removed, &public);
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(
            stdout(&out).contains(&format!("removed: {file}")),
            "{}",
            stdout(&out)
        );
    }

    let unsigned = dir.path().join("unsigned");
    copy_dir(&bundle, &unsigned);
    std::fs::remove_file(unsigned.join("manifest.sig")).unwrap();
    let out = verify(&unsigned, &public);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("manifest.sig is missing"),
        "{}",
        stdout(&out)
    );
    let out = cmd(&["evidence", "verify", p(&unsigned), "--no-signature"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("signature not checked"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_rejects_a_wrong_public_key() {
    let (dir, bundle, _) = signed_bundle();
    let (_, other) = keygen(dir.path(), "other.key");
    let out = verify(&bundle, &other);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("bad signature"), "{text}");
    assert!(text.contains("not the given public key"), "{text}");
}

#[test]
fn verify_reports_a_missing_manifest() {
    let (dir, bundle, public) = signed_bundle();
    let copy = dir.path().join("no-manifest");
    copy_dir(&bundle, &copy);
    std::fs::remove_file(copy.join("manifest.json")).unwrap();
    let out = verify(&copy, &public);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("manifest.json is missing"),
        "{}",
        stdout(&out)
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = verify(&empty, &public);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("manifest.json is missing"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_errors_name_the_fix() {
    let (dir, bundle, public) = signed_bundle();
    let out = cmd(&["evidence", "verify", p(&bundle)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--public-key"), "{}", stderr(&out));

    let file = dir.path().join("adr.md");
    let out = verify(&file, &public);
    assert_error_style(&out, 2, "is not a directory\n  help: pass the directory");

    let out = verify(&bundle, &dir.path().join("nope.pub"));
    assert_error_style(&out, 2, "cannot read key `");
    assert!(
        stderr(&out).contains("atrest evidence keygen"),
        "{}",
        stderr(&out)
    );

    let out = verify(&bundle, &dir.path().join("evidence.key"));
    assert_error_style(
        &out,
        2,
        "is a private key\n  help: verifying needs the Ed25519 public key",
    );
}

#[test]
fn build_refuses_a_non_empty_or_non_directory_out() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
    let out = build(&out_dir, INVENTORY, &[]);
    assert_error_style(&out, 2, "is not empty");
    assert!(stderr(&out).starts_with("error: output directory `"));
    assert_eq!(files(&out_dir).len(), 1, "nothing was written");

    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let out = build(&file, INVENTORY, &[]);
    assert_error_style(&out, 2, "exists and is not a directory");

    let out = build(&dir.path().join("missing/parent/out"), INVENTORY, &[]);
    assert_error_style(&out, 2, "its parent directory does not exist");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = build(&empty, INVENTORY, &[]);
    assert_eq!(
        out.status.code(),
        Some(PARTIAL),
        "an empty directory is fine: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("warning: the bundle is not signed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn build_errors_for_keys_and_attachments_stop_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "k");
    let out_dir = dir.path().join("out");
    let check = |extra: &[&str], message: &str| {
        let out = build(&out_dir, INVENTORY, extra);
        assert_error_style(&out, 2, message);
        assert!(
            !out_dir.exists(),
            "{extra:?}: the bundle directory was created"
        );
    };
    // unreadable key
    check(
        &["--signing-key", p(&dir.path().join("absent.key"))],
        "cannot read key `",
    );
    // wrong key types
    check(
        &["--signing-key", p(&public)],
        "is a public key\n  help: signing needs the Ed25519 private key",
    );
    let cell = dir.path().join("cell.key");
    std::fs::write(
        &cell,
        format!(
            "atrest-keyfile v1\nid {}\nkey {}\n",
            "0a".repeat(16),
            "0b".repeat(32)
        ),
    )
    .unwrap();
    check(&["--signing-key", p(&cell)], "is an atrest cell key file");
    let rsa = dir.path().join("rsa.pem");
    std::fs::write(
        &rsa,
        "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    check(
        &["--signing-key", p(&rsa)],
        "is a `RSA PRIVATE KEY` PEM block",
    );
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "hello").unwrap();
    check(
        &["--signing-key", p(&junk)],
        "is not a valid key: neither PEM nor DER",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open = dir.path().join("open.key");
        std::fs::copy(&key, &open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        check(&["--signing-key", p(&open)], "chmod 600");
    }
    // bad --attach path
    check(
        &["--attach", p(&dir.path().join("absent.md"))],
        "cannot read attachment `",
    );
    check(&["--attach", p(dir.path())], "not a regular file");
    // key material is refused
    check(
        &["--attach", p(&key)],
        "holds key material (a PEM private key)",
    );
    // unreadable inventory
    let out = cmd(&[
        "evidence",
        "build",
        "--out",
        p(&out_dir),
        "--inventory-in",
        p(&dir.path().join("nope.json")),
    ]);
    assert_error_style(&out, 2, "cannot read inventory");
    assert!(!out_dir.exists());
}

#[test]
fn attached_cell_files_become_descriptions_without_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "5e".repeat(32);
    let cell = dir.path().join("cell.key");
    std::fs::write(
        &cell,
        format!("atrest-keyfile v1\nid {}\nkey {secret}\n", "0a".repeat(16)),
    )
    .unwrap();
    let keyring = dir.path().join("users.keyring.json");
    std::fs::write(
        &keyring,
        r#"{"format":"atrest-keyring","version":1,"keys":[{"ref":"00112233445566778899aabbccddeeff","suite":1,"provider":"aws-kms","wrapped":"U0VDUkVUV1JBUFBFRA==","commitment":"ab","scope":{"table":"cards","column":"pan"},"created":1790000000}],"index_keys":[]}"#,
    )
    .unwrap();
    let bundle = dir.path().join("b");
    let out = build(
        &bundle,
        INVENTORY,
        &["--attach", p(&cell), "--attach", p(&keyring)],
    );
    assert_eq!(out.status.code(), Some(PARTIAL), "{}", stderr(&out));
    let all = files(&bundle);
    assert!(
        all.contains("attachments/cell.key.description.json"),
        "{all:?}"
    );
    assert!(
        all.contains("attachments/users.keyring.json.description.json"),
        "{all:?}"
    );
    for f in &all {
        let text = String::from_utf8_lossy(&std::fs::read(bundle.join(f)).unwrap()).into_owned();
        assert!(!text.contains(&secret), "{f} holds the key file's key");
        assert!(
            !text.contains("U0VDUkVUV1JBUFBFRA=="),
            "{f} holds a wrapped key"
        );
    }
    let m = json_file(&bundle.join("manifest.json"));
    assert_eq!(m["attachments"][0]["kind"], "cell-config");
    let c = json_file(&bundle.join("controls.json"));
    let pci = &c["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "pci-dss")
        .unwrap()["controls"];
    let c3512 = pci
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "3.5.1.2")
        .unwrap();
    assert_eq!(c3512["attachments"].as_array().unwrap().len(), 2);
}

#[test]
fn diff_shows_new_failures_fixes_resources_and_control_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    assert_eq!(build(&old, INVENTORY, &[]).status.code(), Some(PARTIAL));
    assert_eq!(build(&new, LATER, &[]).status.code(), Some(PARTIAL));
    let out = cmd(&["evidence", "diff", p(&old), p(&new), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs = |key: &str| -> BTreeSet<(String, String)> {
        d[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["check"].as_str().unwrap().to_string(),
                    f["resource"]
                        .as_str()
                        .unwrap()
                        .rsplit([':', '/'])
                        .next()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        pairs("new_failures"),
        [(
            "rds_instance_storage_encrypted".to_string(),
            "pg-new".to_string()
        )]
        .into_iter()
        .collect()
    );
    let fixed = pairs("fixed");
    assert!(
        fixed.contains(&(
            "ebs_volume_encrypted".into(),
            "vol-0plain00000000001".into()
        )),
        "{fixed:?}"
    );
    assert!(
        fixed.contains(&(
            "kms_key_in_use_enabled".into(),
            "1111aaaa-0000-0000-0000-000000000006".into()
        )),
        "{fixed:?}"
    );
    let added: Vec<&str> = d["added_resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        added,
        vec!["arn:aws:rds:eu-central-1:111122223333:db:pg-new"]
    );
    let removed: Vec<&str> = d["removed_resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(removed, vec!["ebs_snapshot"]);
    let changes: BTreeSet<(String, String, String)> = d["control_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["control"].as_str().unwrap().into(),
                c["old"].as_str().unwrap().into(),
                c["new"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("RDS.3".into(), "pass".into(), "fail".into())),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("2.2.1".into(), "pass".into(), "fail".into())),
        "{changes:?}"
    );

    let out = cmd(&["evidence", "diff", p(&old), p(&new)]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("New failures") && text.contains("Controls that changed status"),
        "{text}"
    );
    assert!(text.contains("1 new failure(s), "), "{text}");
    let out = cmd(&["evidence", "diff", p(&old), p(&new), "--format", "markdown"]);
    assert!(
        stdout(&out).starts_with("# Evidence diff\n"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("## Fixed\n"), "{}", stdout(&out));

    let out = cmd(&["evidence", "diff", p(&old), p(&old)]);
    assert!(
        stdout(&out).contains("0 new failure(s), 0 fixed, 0 control(s) changed status"),
        "{}",
        stdout(&out)
    );

    let out = cmd(&["evidence", "diff", p(&old), p(dir.path())]);
    assert_error_style(
        &out,
        2,
        "pass two directories written by `atrest evidence build --out`",
    );
    std::fs::write(new.join("controls.json"), "{").unwrap();
    let out = cmd(&["evidence", "diff", p(&old), p(&new)]);
    assert_error_style(&out, 2, "is not a valid control matrix");
}

#[test]
fn advise_and_plan_write_decision_records() {
    let out = cmd(&[
        "advise", "--format", "adr", "--engine", "postgres", "--regime", "pci-pan",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let adr = stdout(&out);
    assert!(
        adr.starts_with("# ADR: encryption at rest for a postgres"),
        "{adr}"
    );
    assert!(adr.contains("<!-- atrest:decision-record v1 -->"));
    for section in [
        "## Context",
        "## Decision",
        "## Alternatives considered",
        "### Excluded",
        "## Consequences",
        "## Facts cited",
    ] {
        assert!(
            adr.contains(&format!("{section}\n")),
            "missing {section}:\n{adr}"
        );
    }
    assert!(adr.contains("Use **option "), "{adr}");
    assert!(
        adr.contains("cell encryption") || adr.contains("overlay"),
        "{adr}"
    );
    assert!(adr.contains("`pci-3-5-1-2`"), "facts are cited: {adr}");
    assert!(adr.contains("https://"), "facts carry their sources: {adr}");

    let fleet = repo_path("examples/fleet.csv");
    let out = cmd(&["plan", "-i", p(&fleet), "--format", "adr"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(plan.starts_with("# ADR: encryption at rest for "), "{plan}");
    assert!(plan.contains("<!-- atrest:decision-record v1 -->"));
    assert!(
        plan.contains("### Decision\n") && plan.contains("### Implementation\n"),
        "{plan}"
    );

    let out = cmd(&["options", "--format", "adr"]);
    assert_eq!(out.status.code(), Some(2), "options has no decision record");
}

#[test]
fn audit_renders_html_and_ocsf() {
    let inv = repo_path(INVENTORY);
    let out = cmd(&["audit", "--inventory-in", p(&inv), "--format", "html"]);
    assert_eq!(out.status.code(), Some(PARTIAL), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("PCI DSS 4.0.1"));
    let out = cmd(&["audit", "--inventory-in", p(&inv), "--format", "ocsf"]);
    assert_eq!(out.status.code(), Some(PARTIAL), "{}", stderr(&out));
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let out = cmd(&["audit", "--inventory-in", p(&inv), "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events.len(), report["findings"].as_array().unwrap().len());
}

#[test]
fn frameworks_lists_every_control() {
    let out = cmd(&["evidence", "frameworks"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("5 framework(s), 27 control(s), 7 of them manual"),
        "{}",
        stdout(&out)
    );
    let out = cmd(&["evidence", "frameworks", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["frameworks"].as_array().unwrap().len(), 5);
}

#[test]
fn build_flag_errors_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let inv = repo_path(INVENTORY);
    let out = cmd(&[
        "evidence",
        "build",
        "--out",
        p(&out_dir),
        "--inventory-in",
        p(&inv),
        "--regions",
        "eu-west-1",
    ]);
    // clap's own conflict error, in clap's format.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    let out = cmd(&["evidence", "build", "--inventory-in", p(&inv)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--out <DIR>"), "{}", stderr(&out));
    assert!(!out_dir.exists());
}

#[cfg(feature = "aws")]
#[test]
fn live_build_input_is_checked_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = cmd(&[
        "evidence",
        "build",
        "--out",
        p(&out_dir),
        "--endpoint-url",
        "localhost:1",
        "--region",
        "eu-west-1",
    ]);
    assert_error_style(&out, 2, "is not a valid endpoint URL");
    let out = cmd(&[
        "evidence",
        "build",
        "--out",
        p(&out_dir),
        "--db-tag",
        "=x",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!out_dir.exists());
}

#[cfg(not(feature = "aws"))]
#[test]
fn live_build_needs_the_aws_feature() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(&[
        "evidence",
        "build",
        "--out",
        p(&dir.path().join("out")),
        "--regions",
        "eu-west-1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "error: this atrest was built without AWS support (feature `aws`)\n  help: build the bundle from a saved inventory with `--inventory-in FILE`"
    );
}

#[test]
fn keygen_and_attach_edge_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(&[
        "evidence",
        "keygen",
        "--out",
        p(&dir.path().join("no/such/dir/k")),
    ]);
    assert_error_style(&out, 2, "cannot write key `");
    assert_error_style(&out, 2, "help: check that the directory exists");

    let out_dir = dir.path().join("out");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("notes.md"), "one").unwrap();
    std::fs::write(b.join("notes.md"), "two").unwrap();
    let out = build(
        &out_dir,
        INVENTORY,
        &[
            "--attach",
            p(&a.join("notes.md")),
            "--attach",
            p(&b.join("notes.md")),
        ],
    );
    assert_error_style(
        &out,
        2,
        "two attachments are named `notes.md`\n  help: rename one",
    );

    let big = dir.path().join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(16 * 1024 * 1024 + 1)
        .unwrap();
    let out = build(&out_dir, INVENTORY, &["--attach", p(&big)]);
    assert_error_style(&out, 2, "over the limit of 16 MiB");
    assert!(!out_dir.exists());
}

#[test]
fn verify_reports_an_edited_manifest_without_a_signature_check() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    assert_eq!(build(&bundle, INVENTORY, &[]).status.code(), Some(PARTIAL));
    let manifest_path = bundle.join("manifest.json");
    let original: Value = json_file(&manifest_path);

    let mut m = original.clone();
    m["files"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"path": "../outside.txt", "sha256": "00", "bytes": 0}));
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let out = cmd(&["evidence", "verify", p(&bundle), "--no-signature"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("the manifest lists `../outside.txt`, a path outside the bundle"),
        "{}",
        stdout(&out)
    );

    let mut m = original.clone();
    m["schema_version"] = 2.into();
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let out = cmd(&[
        "evidence",
        "verify",
        p(&bundle),
        "--no-signature",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["problems"][0]["kind"], "manifest_invalid");
    assert!(
        v["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("schema version 2"),
        "{v}"
    );

    std::fs::write(&manifest_path, "not json").unwrap();
    let out = cmd(&["evidence", "verify", p(&bundle), "--no-signature"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("manifest.json is not a valid manifest"),
        "{}",
        stdout(&out)
    );

    #[cfg(unix)]
    {
        std::fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&original).unwrap(),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/hostname", bundle.join("link")).unwrap();
        let out = cmd(&["evidence", "verify", p(&bundle), "--no-signature"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stdout(&out).contains("not a regular file: link"),
            "{}",
            stdout(&out)
        );
    }
}

/// Prints past the test harness's output capture, so the figure shows in a normal `cargo test` run.
fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
