//! A column that other applications wrote as AWS Encryption SDK messages: converted to atrest's compact form in
//! place and back, and a plaintext column encrypted into ESDK messages and restored, all through the real binary.
//! The messages are made with each cell's context (table, column, row) as their encryption context, as an ESDK
//! application following docs/esdk.md writes them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use atrest::cell::{CellEncryptor, Context, KeyFileProvider, Keyring};
use atrest::esdk::{EsdkEncryptor, RawAesKeyring};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use postgres::Client;

use crate::db::{self, run, run_ok};

const WRAP: [u8; 32] = [0x5a; 32];

fn esdk() -> EsdkEncryptor {
    let keyring = RawAesKeyring::new("atrest", "atrest", &WRAP).unwrap();
    EsdkEncryptor::builder(Arc::new(keyring)).build().unwrap()
}

fn wrap_file(dir: &Path) -> String {
    let path = dir.join("wrap.hex");
    std::fs::write(&path, hex::encode(WRAP)).unwrap();
    path.to_str().unwrap().to_owned()
}

fn ctx(id: i64) -> Context {
    Context::new("users", "ssn")
        .unwrap()
        .with_row(id.to_string())
        .unwrap()
}

/// Replaces every value of `users.ssn` by its ESDK message (base64), as another service would have stored it.
fn seal_as_esdk(client: &mut Client, plain: &HashMap<i64, Option<Vec<u8>>>) {
    let enc = esdk();
    let mut tx = client.transaction().unwrap();
    for (id, value) in plain {
        if let Some(v) = value {
            let msg = STANDARD.encode(enc.encrypt_cell(&ctx(*id), v).unwrap());
            tx.execute("UPDATE users SET ssn = $1 WHERE id = $2", &[&msg, id])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

/// Every value opens as an ESDK message to the original; NULLs stayed NULL.
fn assert_esdk(client: &mut Client, plain: &HashMap<i64, Option<Vec<u8>>>) {
    let enc = esdk();
    let now = db::values(client, "users", "ssn");
    assert_eq!(now.len(), plain.len());
    for (id, want) in plain {
        match (now.get(id).unwrap(), want) {
            (None, None) => {}
            (Some(stored), Some(want)) => {
                let msg = STANDARD.decode(stored).unwrap();
                let got = enc.decrypt_cell(&ctx(*id), &msg).unwrap();
                assert_eq!(got.as_slice(), want.as_slice(), "row {id}");
            }
            (got, want) => panic!("row {id}: {got:?} for {want:?}"),
        }
    }
}

fn total_len(client: &mut Client) -> i64 {
    client
        .query_one("SELECT sum(octet_length(ssn))::int8 FROM users", &[])
        .unwrap()
        .get(0)
}

#[test]
fn an_esdk_column_converts_to_the_compact_form_in_place_and_back() {
    let url = db::fresh("pg_esdk_convert");
    let dir = tempfile::tempdir().unwrap();
    let wrap = wrap_file(dir.path());
    let cell_key = db::key_file(dir.path(), "cell.key");
    let ring = dir.path().join("users.keyring.json");
    let (k, r) = (cell_key.to_str().unwrap(), ring.to_str().unwrap());
    let mut client = db::connect(&url);
    let plain = db::users(&mut client, 3000);
    seal_as_esdk(&mut client, &plain);
    let esdk_bytes = total_len(&mut client);
    let to_compact = [
        "rotate",
        "--table",
        "users",
        "--column",
        "ssn",
        "--from-format",
        "esdk",
        "--esdk-key",
        &wrap,
        "--to-format",
        "cell",
        "--to-key-file",
        k,
        "--keyring",
        r,
        "--batch-size",
        "400",
    ];

    // The dry run says what the conversion saves and writes nothing.
    let mut dry = to_compact.to_vec();
    dry.push("--dry-run");
    let estimate = run_ok(&url, &dry);
    let per_cell: i64 = estimate
        .lines()
        .find_map(|l| l.strip_prefix("bytes per cell:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(per_cell < -200, "{estimate}");
    assert_eq!(total_len(&mut client), esdk_bytes);

    let out = run_ok(&url, &to_compact);
    assert!(out.contains("rotated column `ssn`"), "{out}");
    let compact = CellEncryptor::builder(Arc::new(KeyFileProvider::open(&cell_key).unwrap()))
        .keyring(Arc::new(Keyring::open(&ring).unwrap()))
        .build()
        .unwrap();
    db::assert_opens_to(&mut client, &compact, "users", "ssn", &plain);
    let compact_bytes = total_len(&mut client);
    assert!(
        compact_bytes < esdk_bytes / 2,
        "{compact_bytes} of {esdk_bytes}"
    );
    eprintln!(
        "stored bytes: ESDK {esdk_bytes}, compact {compact_bytes}; dry run per cell {per_cell}"
    );

    // Run again: every value is already in the compact form, so nothing is written.
    let again = run_ok(&url, &to_compact);
    assert!(again.contains(" 0 written"), "{again}");

    // And back to ESDK messages, which the ESDK opens under the same contexts.
    run_ok(
        &url,
        &[
            "rotate",
            "--table",
            "users",
            "--column",
            "ssn",
            "--key-file",
            k,
            "--keyring",
            r,
            "--to-format",
            "esdk",
            "--to-esdk-key",
            &wrap,
        ],
    );
    assert_esdk(&mut client, &plain);
}

#[test]
fn a_plaintext_column_encrypts_into_esdk_messages_and_restores() {
    let url = db::fresh("pg_esdk_migrate");
    let dir = tempfile::tempdir().unwrap();
    let wrap = wrap_file(dir.path());
    let mut client = db::connect(&url);
    let plain = db::users(&mut client, 1500);
    let base = [
        "--table",
        "users",
        "--column",
        "ssn",
        "--format",
        "esdk",
        "--esdk-key",
        &wrap,
    ];
    let mut enc = vec!["migrate"];
    enc.extend_from_slice(&base);
    run_ok(&url, &enc);
    assert_esdk(&mut client, &plain);
    let mut dec = enc.clone();
    dec.push("--decrypt");
    run_ok(&url, &dec);
    assert_eq!(db::values(&mut client, "users", "ssn"), plain);
}

#[test]
fn esdk_messages_under_another_key_or_row_stop_the_conversion_before_any_write() {
    let url = db::fresh("pg_esdk_foreign");
    let dir = tempfile::tempdir().unwrap();
    let wrap = wrap_file(dir.path());
    let other = dir.path().join("other.hex");
    std::fs::write(&other, hex::encode([0x11u8; 32])).unwrap();
    let cell_key = db::key_file(dir.path(), "cell.key");
    let mut client = db::connect(&url);
    let plain = db::users(&mut client, 200);
    seal_as_esdk(&mut client, &plain);
    let before = db::values(&mut client, "users", "ssn");
    let args = [
        "rotate",
        "--table",
        "users",
        "--column",
        "ssn",
        "--from-format",
        "esdk",
        "--esdk-key",
        other.to_str().unwrap(),
        "--to-format",
        "cell",
        "--to-key-file",
        cell_key.to_str().unwrap(),
    ];
    let out = run(&url, &args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        crate::support::stderr(&out)
    );
    let err = crate::support::stderr(&out);
    assert!(
        err.contains(
            "is an AWS Encryption SDK ciphertext that does not decrypt under this key and context"
        ),
        "{err}"
    );
    assert_eq!(db::values(&mut client, "users", "ssn"), before);
    // A blind index is the cell format's; with ESDK messages it is refused before anything is read.
    let out = run(
        &url,
        &[
            "migrate",
            "--table",
            "users",
            "--column",
            "ssn",
            "--format",
            "esdk",
            "--esdk-key",
            &wrap,
            "--into",
            "ssn_enc",
            "--blind-index",
            "ssn_idx",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::support::stderr(&out)
            .contains("`--blind-index` cannot be used with `--format esdk`")
    );
}
