//! A column encrypted in place, re-run, rotated and restored; into a new column with a blind index; two shards.

use std::collections::HashMap;

use crate::db::{self, assert_opens_to, run_ok};
use crate::pg_app;

#[test]
fn a_hundred_thousand_rows_encrypt_rotate_and_restore_byte_identical() {
    let url = db::fresh("pg_hundred_k");
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (
        db::key_file(dir.path(), "old.key"),
        db::key_file(dir.path(), "new.key"),
    );
    let (old_s, new_s) = (old.to_str().unwrap(), new.to_str().unwrap());
    let mut client = db::connect(&url);
    let original = db::users(&mut client, 100_000);
    client
        .batch_execute("CREATE TABLE users_before AS SELECT * FROM users")
        .unwrap();
    let non_null = original.values().filter(|v| v.is_some()).count();

    let out = run_ok(
        &url,
        &[
            "migrate",
            "--key-file",
            old_s,
            "--table",
            "users",
            "--column",
            "ssn",
            "--batch-size",
            "2000",
        ],
    );
    assert!(
        out.contains(&format!(
            "{non_null} rows, {non_null} written, 0 already done"
        )),
        "{out}"
    );
    assert_opens_to(&mut client, &db::cells(&old), "users", "ssn", &original);

    // A second run finds every value done.
    let out = run_ok(
        &url,
        &[
            "migrate",
            "--key-file",
            old_s,
            "--table",
            "users",
            "--column",
            "ssn",
        ],
    );
    assert!(
        out.contains(&format!(
            "{non_null} rows, 0 written, {non_null} already done"
        )),
        "{out}"
    );

    // Rotation: new data keys under a new key file; the old key no longer opens the column.
    let out = run_ok(
        &url,
        &[
            "rotate",
            "--key-file",
            old_s,
            "--to-key-file",
            new_s,
            "--table",
            "users",
            "--column",
            "ssn",
            "--batch-size",
            "5000",
        ],
    );
    assert!(out.contains(&format!("{non_null} written")), "{out}");
    assert_opens_to(&mut client, &db::cells(&new), "users", "ssn", &original);

    // Roll back: the plaintext column, byte for byte.
    run_ok(
        &url,
        &[
            "migrate",
            "--decrypt",
            "--key-file",
            new_s,
            "--table",
            "users",
            "--column",
            "ssn",
            "--batch-size",
            "5000",
        ],
    );
    let differ: i64 = client
        .query_one(
            "SELECT count(*) FROM users u FULL JOIN users_before b USING (id) WHERE u.ssn IS DISTINCT FROM b.ssn \
             OR convert_to(u.ssn, 'UTF8') IS DISTINCT FROM convert_to(b.ssn, 'UTF8')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(differ, 0);
}

#[test]
fn into_a_new_bytea_column_with_a_blind_index_and_a_composite_key_read_by_the_application() {
    let url = db::fresh("pg_into");
    let dir = tempfile::tempdir().unwrap();
    let key = db::key_file(dir.path(), "cell.key");
    pg_app::run(&url, &key).unwrap();
}

#[test]
fn two_shards_cover_every_row_once() {
    let url = db::fresh("pg_shards");
    let dir = tempfile::tempdir().unwrap();
    let key = db::key_file(dir.path(), "cell.key");
    let mut client = db::connect(&url);
    let original = db::users(&mut client, 20_000);
    let key_s = key.to_str().unwrap();
    let workers: Vec<_> = ["0/2", "1/2"]
        .iter()
        .map(|shard| {
            db::atrest(
                &url,
                &[
                    "migrate",
                    "--key-file",
                    key_s,
                    "--table",
                    "users",
                    "--column",
                    "ssn",
                    "--shard",
                    shard,
                    "--batch-size",
                    "500",
                ],
            )
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut written = 0;
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let n: usize = text
            .split(" written")
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(n > 5000, "{text}");
        written += n;
    }
    assert_eq!(written, original.values().filter(|v| v.is_some()).count());
    assert_opens_to(&mut client, &db::cells(&key), "users", "ssn", &original);
    let shards: HashMap<i32, String> = client
        .query(
            "SELECT shard, state FROM atrest_checkpoint WHERE job LIKE 'encrypt:%'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        shards,
        HashMap::from([(0, "done".into()), (1, "done".into())])
    );
}

#[test]
fn the_dry_run_estimates_and_writes_nothing() {
    let url = db::fresh("pg_dry_run");
    let dir = tempfile::tempdir().unwrap();
    let key = db::key_file(dir.path(), "cell.key");
    let mut client = db::connect(&url);
    let original = db::users(&mut client, 3000);
    let out = run_ok(
        &url,
        &[
            "migrate",
            "--dry-run",
            "--key-file",
            key.to_str().unwrap(),
            "--table",
            "users",
            "--column",
            "ssn",
            "--into",
            "ssn_enc",
        ],
    );
    for line in [
        "rows:            2970",
        "bytes per cell:  +142",
        "KMS calls:       0",
        "measured rate:",
        "expected time:",
    ] {
        assert!(out.contains(line), "{line} not in {out}");
    }
    assert_eq!(db::values(&mut client, "users", "ssn"), original);
    let exists: bool = client
        .query_one("SELECT to_regclass('atrest_checkpoint') IS NOT NULL OR EXISTS (SELECT FROM pg_attribute WHERE attname = 'ssn_enc')", &[])
        .unwrap()
        .get(0);
    assert!(!exists);
}

#[test]
fn the_compact_form_with_a_keyring_rotates_and_restores_and_a_rotation_dry_run_writes_nothing() {
    use std::sync::Arc;

    use atrest::cell::{CellEncryptor, KeyFileProvider, Keyring};

    let url = db::fresh("pg_keyring");
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (
        db::key_file(dir.path(), "old.key"),
        db::key_file(dir.path(), "new.key"),
    );
    let ring = dir.path().join("users.keyring.json");
    let (o, n, r) = (
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        ring.to_str().unwrap(),
    );
    let mut client = db::connect(&url);
    let original = db::users(&mut client, 4000);
    let call = |head: &[&str]| {
        let mut all = head.to_vec();
        all.extend_from_slice(&[
            "--table",
            "users",
            "--column",
            "ssn",
            "--keyring",
            r,
            "--batch-size",
            "700",
        ]);
        run_ok(&url, &all)
    };
    let new_ring = dir.path().join("users.new.keyring.json");
    let nr = new_ring.to_str().unwrap();
    let compact = |key: &std::path::Path, ring: &std::path::Path| {
        CellEncryptor::builder(Arc::new(KeyFileProvider::open(key).unwrap()))
            .keyring(Arc::new(Keyring::open(ring).unwrap()))
            .build()
            .unwrap()
    };

    call(&["migrate", "--key-file", o]);
    assert_opens_to(
        &mut client,
        &compact(&old, &ring),
        "users",
        "ssn",
        &original,
    );
    let before = db::values(&mut client, "users", "ssn");
    // A keyring is wrapped by one key: a new key's data keys go into a keyring of their own.
    let refused = db::run(
        &url,
        &[
            "rotate",
            "--table",
            "users",
            "--column",
            "ssn",
            "--keyring",
            r,
            "--key-file",
            o,
            "--to-key-file",
            n,
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(crate::support::stderr(&refused).contains("--to-keyring NEW_FILE"));
    let out = call(&[
        "rotate",
        "--key-file",
        o,
        "--to-key-file",
        n,
        "--to-keyring",
        nr,
        "--dry-run",
    ]);
    assert!(out.contains("rows:            3959"), "{out}");
    assert_eq!(db::values(&mut client, "users", "ssn"), before);
    call(&[
        "rotate",
        "--key-file",
        o,
        "--to-key-file",
        n,
        "--to-keyring",
        nr,
    ]);
    assert_opens_to(
        &mut client,
        &compact(&new, &new_ring),
        "users",
        "ssn",
        &original,
    );
    run_ok(
        &url,
        &[
            "migrate",
            "--decrypt",
            "--key-file",
            n,
            "--keyring",
            nr,
            "--table",
            "users",
            "--column",
            "ssn",
        ],
    );
    assert_eq!(db::values(&mut client, "users", "ssn"), original);
}
