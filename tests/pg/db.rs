//! A database per test, the key files, and the checks every test makes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use atrest::cell::{CellEncryptor, Context, KeyFileProvider, format};
use postgres::{Client, NoTls};

use crate::support;

/// The server's URL, which must be on loopback.
pub fn server() -> String {
    match std::env::var("ATREST_TEST_PG_URL") {
        Ok(url) if url.contains("@127.0.0.1:") || url.contains("@localhost:") => url,
        Ok(url) => {
            panic!("ATREST_TEST_PG_URL={url} is not on loopback; tests only talk to 127.0.0.1")
        }
        Err(_) => panic!(
            "these tests need a PostgreSQL server: run `scripts/test.sh`, or `eval \"$(scripts/pg-start.sh)\"` \
             before `cargo test --test pg`"
        ),
    }
}

/// A new, empty database named after the test; returns its URL.
pub fn fresh(name: &str) -> String {
    let server = server();
    let mut admin = Client::connect(&server, NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap()
}

/// A new key file in `dir`.
pub fn key_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    KeyFileProvider::create(&path).unwrap();
    path
}

pub fn cells(key: &Path) -> CellEncryptor {
    CellEncryptor::builder(Arc::new(KeyFileProvider::open(key).unwrap()))
        .build()
        .unwrap()
}

/// `atrest cell ARGS --database-url URL`.
pub fn atrest(url: &str, args: &[&str]) -> Command {
    let mut cmd = support::atrest();
    cmd.arg("cell")
        .args(args)
        .arg("--database-url")
        .arg(url)
        .stdin(Stdio::null());
    cmd
}

pub fn run_ok(url: &str, args: &[&str]) -> String {
    let out = support::run(&mut atrest(url, args));
    assert!(
        out.status.success(),
        "atrest {args:?}: {}",
        support::stderr(&out)
    );
    support::stdout(&out)
}

pub fn run(url: &str, args: &[&str]) -> Output {
    support::run(&mut atrest(url, args))
}

/// Every row of `table` as `id -> value` (text columns as bytes).
pub fn values(client: &mut Client, table: &str, column: &str) -> HashMap<i64, Option<Vec<u8>>> {
    let sql = format!("SELECT id, convert_to({column}::text, 'UTF8') FROM {table}");
    let sql = match column_type(client, table, column).as_str() {
        "bytea" => format!("SELECT id, {column} FROM {table}"),
        _ => sql,
    };
    client
        .query(&sql, &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

pub fn column_type(client: &mut Client, table: &str, column: &str) -> String {
    client
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::text::regclass AND attname = $2",
            &[&table, &column],
        )
        .unwrap()
        .get(0)
}

/// Decrypts a stored value of row `id` (base64 in a text column) once; a value sealed twice would open to a
/// ciphertext, not to its original.
pub fn open(
    cells: &CellEncryptor,
    table: &str,
    column: &str,
    id: i64,
    stored: &[u8],
    text: bool,
) -> Vec<u8> {
    let bytes = match text {
        true => format::from_text(std::str::from_utf8(stored).unwrap()).unwrap(),
        false => stored.to_vec(),
    };
    let ctx = Context::new(table, column)
        .unwrap()
        .with_row(id.to_string())
        .unwrap();
    cells
        .decrypt(&ctx, &bytes)
        .unwrap_or_else(|e| panic!("row {id}: {e}"))
}

/// Asserts that every value of `table.column` opens (once) to the value of the same row in `expected`, and that
/// NULLs stayed NULL.
pub fn assert_opens_to(
    client: &mut Client,
    cells: &CellEncryptor,
    table: &str,
    column: &str,
    expected: &HashMap<i64, Option<Vec<u8>>>,
) {
    let text = column_type(client, table, column) != "bytea";
    let now = values(client, table, column);
    assert_eq!(now.len(), expected.len());
    for (id, want) in expected {
        match (now.get(id).unwrap(), want) {
            (None, None) => {}
            (Some(stored), Some(want)) => assert_eq!(
                &open(cells, table, column, *id, stored, text),
                want,
                "row {id}"
            ),
            (got, want) => panic!("row {id}: {got:?} for {want:?}"),
        }
    }
}

/// `users(id bigint primary key, ssn text)` with `rows` rows: NULLs, empty strings, UTF-8 and a few large values
/// among them. Returns the values.
pub fn users(client: &mut Client, rows: i64) -> HashMap<i64, Option<Vec<u8>>> {
    client
        .batch_execute(&format!(
            "CREATE TABLE users (id bigint PRIMARY KEY, ssn text, note text);
             INSERT INTO users (id, ssn)
             SELECT g, CASE WHEN g % 97 = 0 THEN NULL WHEN g % 101 = 0 THEN '' WHEN g % 7 = 0 THEN 'Zoë Ωμέγα 東京 ' || g
                            WHEN g % 10007 = 0 THEN repeat('large-', 40000) ELSE lpad(g::text, 9, '0') END
             FROM generate_series(1, {rows}) g;"
        ))
        .unwrap();
    values(client, "users", "ssn")
}
