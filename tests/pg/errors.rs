//! Bad input fails with a clear error before anything is written: the table and the checkpoint stay as they were.

use crate::db::{self, run, run_ok};
use crate::support::cli::assert_error_style;

/// Runs `migrate ARGS` and asserts the error, and that nothing was written.
fn fails(url: &str, args: &[&str], code: i32, needle: &str) {
    let mut client = db::connect(url);
    let before = db::values(&mut client, "users", "ssn");
    let out = run(url, args);
    assert_error_style(&out, code, needle);
    assert_eq!(
        db::values(&mut client, "users", "ssn"),
        before,
        "{args:?} changed the table"
    );
}

#[test]
fn bad_input_is_refused_before_any_write() {
    let url = db::fresh("pg_errors");
    let dir = tempfile::tempdir().unwrap();
    let key = db::key_file(dir.path(), "cell.key");
    let other = db::key_file(dir.path(), "other.key");
    let (k, o) = (key.to_str().unwrap(), other.to_str().unwrap());
    let mut client = db::connect(&url);
    db::users(&mut client, 500);
    client.batch_execute("ALTER TABLE users ADD COLUMN age integer; ALTER TABLE users ADD COLUMN short varchar(10)").unwrap();
    client.batch_execute("CREATE TABLE nokey (a text)").unwrap();
    let m = |rest: &[&'static str]| -> Vec<&str> {
        let mut v = vec!["migrate", "--key-file"];
        v.push(k);
        v.extend_from_slice(rest);
        v
    };

    fails(
        &url,
        &m(&["--table", "nosuch", "--column", "ssn"]),
        2,
        "no table `nosuch`",
    );
    fails(
        &url,
        &m(&["--table", "users", "--column", "nosuch"]),
        2,
        "has no column `nosuch`\n  help: its columns are `id`, `ssn`",
    );
    fails(
        &url,
        &m(&["--table", "users", "--column", "age"]),
        2,
        "type `integer`, which cannot hold a ciphertext\n  help: pass `--into NEW_COLUMN`",
    );
    fails(
        &url,
        &m(&["--table", "users", "--column", "short"]),
        2,
        "`character varying(10)`",
    );
    fails(
        &url,
        &m(&["--table", "nokey", "--column", "a"]),
        2,
        "to bind each value to its row\n  help: pass `--row-key",
    );
    fails(
        &url,
        &m(&["--table", "users", "--column", "ssn", "--row-key", "ssn"]),
        2,
        "the row key `ssn` is the column",
    );
    fails(
        &url,
        &m(&["--table", "users", "--column", "ssn", "--shard", "2/2"]),
        2,
        "`2/2` is not a shard",
    );
    fails(
        &url,
        &[
            "migrate",
            "--key-file",
            "/nonexistent.key",
            "--table",
            "users",
            "--column",
            "ssn",
        ],
        2,
        "--key-file",
    );
    // No checkpoint table was made by any of them.
    let cp: bool = client
        .query_one("SELECT to_regclass('atrest_checkpoint') IS NULL", &[])
        .unwrap()
        .get(0);
    assert!(cp);

    // A wrong key: the column is under `cell.key`; `other.key` neither decrypts nor re-encrypts it.
    run_ok(&url, &m(&["--table", "users", "--column", "ssn"]));
    let foreign = "is an atrest ciphertext that does not decrypt under this key and context";
    fails(
        &url,
        &[
            "migrate",
            "--decrypt",
            "--key-file",
            o,
            "--table",
            "users",
            "--column",
            "ssn",
        ],
        2,
        foreign,
    );
    fails(
        &url,
        &[
            "migrate",
            "--key-file",
            o,
            "--table",
            "users",
            "--column",
            "ssn",
        ],
        2,
        foreign,
    );
    fails(
        &url,
        &[
            "rotate",
            "--key-file",
            o,
            "--table",
            "users",
            "--column",
            "ssn",
        ],
        2,
        foreign,
    );
    // A ciphertext under another context: the column's values copied into another column.
    client.batch_execute("UPDATE users SET note = ssn").unwrap();
    let mut client2 = db::connect(&url);
    let before = db::values(&mut client2, "users", "note");
    let out = run(&url, &m(&["--table", "users", "--column", "note"]));
    assert_error_style(&out, 2, foreign);
    assert_eq!(db::values(&mut client2, "users", "note"), before);

    // No permission: a role that may read the table but not update it.
    client
        .batch_execute("DO $$ BEGIN CREATE ROLE reader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; GRANT SELECT ON users TO reader; ALTER TABLE users ADD COLUMN plain text; UPDATE users SET plain = 'x'")
        .unwrap();
    let reader = url.replacen("postgres@", "reader@", 1);
    let out = run(&reader, &m(&["--table", "users", "--column", "plain"]));
    assert_error_style(
        &out,
        2,
        "missing the UPDATE privilege on `\"public\".\"users\".\"plain\"`",
    );
    let out = run(
        "postgresql://postgres@127.0.0.1:9/postgres",
        &m(&["--table", "users", "--column", "plain"]),
    );
    assert_error_style(&out, 1, "cannot connect to the database");
}
