//! `atrest cell ...` end to end through the real binary: the workflows and every user-facing error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::cli::{assert_error_quoting as assert_error, assert_error_style, p, run_stdin};
use crate::support::{atrest, stderr, stdout};

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    crate::support::run(cmd)
}

fn cell(args: &[&str]) -> Command {
    let mut cmd = atrest();
    cmd.arg("cell").args(args);
    cmd
}

struct Keys {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("cell.key");
    let out = run(&mut cell(&["keygen", "--out", p(&key)]));
    assert!(out.status.success(), "{}", stderr(&out));
    Keys {
        dir: dir.path().to_owned(),
        key,
        _dir: dir,
    }
}

#[test]
fn keygen_creates_a_private_file_and_never_prints_the_key() {
    let k = keys();
    let text = std::fs::read_to_string(&k.key).unwrap();
    let secret = text
        .lines()
        .nth(2)
        .unwrap()
        .strip_prefix("key ")
        .unwrap()
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&k.key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = run(&mut cell(&["keygen", "--out", p(&k.key)]));
    assert_error(&again, 2, "already exists");
    assert_eq!(
        std::fs::read_to_string(&k.key).unwrap(),
        text,
        "never overwritten"
    );
    let out = run(&mut cell(&[
        "encrypt",
        "--key-file",
        p(&k.key),
        "--table",
        "t",
        "--column",
        "c",
        "x",
    ]));
    for output in [&again, &out] {
        assert!(!stdout(output).contains(&secret) && !stderr(output).contains(&secret));
    }
}

#[test]
fn keygen_into_a_missing_directory() {
    let k = keys();
    let out = run(&mut cell(&[
        "keygen",
        "--out",
        p(&k.dir.join("no/such/dir/k")),
    ]));
    assert_error(&out, 1, "cannot create");
}

#[test]
fn values_round_trip_and_bind_their_row() {
    let k = keys();
    let base = [
        "--key-file",
        p(&k.key),
        "--table",
        "users",
        "--column",
        "ssn",
        "--row",
        "42",
    ];
    let out = run(cell(&["encrypt"]).args(base).args(["078-05-1120", "", "ü"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    let back = run(cell(&["decrypt"]).args(base).args(&lines));
    assert_eq!(stdout(&back), "078-05-1120\n\nü\n");

    let wrong_row = run(cell(&[
        "decrypt",
        "--key-file",
        p(&k.key),
        "--table",
        "users",
        "--column",
        "ssn",
        "--row",
        "43",
    ])
    .arg(&lines[0]));
    assert_error(&wrong_row, 1, "cannot decrypt value 1");
    assert!(stderr(&wrong_row).contains("`--row`"));
    let not_base64 = run(cell(&["decrypt"]).args(base).arg("not base64!"));
    assert_error(&not_base64, 1, "cannot decrypt value 1");
}

#[test]
fn stdin_lines_round_trip_in_compact_form() {
    let k = keys();
    let ring = k.dir.join("ring.json");
    let base = [
        "--key-file",
        p(&k.key),
        "--keyring",
        p(&ring),
        "--table",
        "users",
        "--column",
        "ssn",
    ];
    let input: String = (0..3000).map(|i| format!("value-{i}\r\n")).collect();
    let out = run_stdin(cell(&["encrypt"]).args(base), input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let sealed = stdout(&out);
    let first = sealed.lines().next().unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(first)
        .unwrap();
    assert_eq!(bytes.len(), "value-0".len() + 47);
    assert!(ring.exists());
    let back = run_stdin(cell(&["decrypt"]).args(base), sealed.as_bytes());
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(stdout(&back), input.replace("\r\n", "\n"));
}

fn write_csv(dir: &Path) -> PathBuf {
    let path = dir.join("users.csv");
    std::fs::write(
        &path,
        "id,name,ssn\n1,ann,078-05-1120\n2,bob,219-09-9999\n3,cy,078-05-1120\n",
    )
    .unwrap();
    path
}

#[test]
fn csv_column_round_trip_with_blind_index() {
    let k = keys();
    let input = write_csv(&k.dir);
    let original = std::fs::read(&input).unwrap();
    let enc = k.dir.join("enc.csv");
    let dec = k.dir.join("dec.csv");
    let base = [
        "--key-file",
        p(&k.key),
        "--table",
        "users",
        "--column",
        "ssn",
        "--row-key",
        "id",
    ];
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&input),
        "--out",
        p(&enc),
        "--blind-index",
        "--index-length",
        "8",
    ])
    .args(base));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 rows"));
    assert_eq!(
        std::fs::read(&input).unwrap(),
        original,
        "the input is never changed"
    );
    let text = std::fs::read_to_string(&enc).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["id", "name", "ssn", "ssn_idx"]);
    assert_eq!(rows[1][3].len(), 16);
    assert_eq!(rows[1][3], rows[3][3], "equal values, equal index");
    assert_ne!(rows[1][3], rows[2][3]);
    assert_ne!(
        rows[1][2], rows[3][2],
        "equal values, different ciphertexts"
    );

    let out = run(cell(&["decrypt", "--csv", p(&enc), "--out", p(&dec)]).args(base));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&dec).unwrap(),
        "id,name,ssn,ssn_idx\n1,ann,078-05-1120,a\n2,bob,219-09-9999,b\n3,cy,078-05-1120,c\n"
            .replace(",a\n", &format!(",{}\n", rows[1][3]))
            .replace(",b\n", &format!(",{}\n", rows[2][3]))
            .replace(",c\n", &format!(",{}\n", rows[3][3]))
    );

    // Moving a ciphertext to another row is caught, and the partial output is removed.
    let swapped = k.dir.join("swapped.csv");
    std::fs::write(
        &swapped,
        text.replacen(
            &format!("1,ann,{}", rows[1][2]),
            &format!("1,ann,{}", rows[2][2]),
            1,
        ),
    )
    .unwrap();
    let out_path = k.dir.join("out.csv");
    let out = run(cell(&["decrypt", "--csv", p(&swapped), "--out", p(&out_path)]).args(base));
    assert_error(&out, 1, "cannot decrypt CSV record 1 (line 2)");
    assert!(stderr(&out).contains("`--row-key`"));
    assert!(!out_path.exists());
}

#[test]
fn csv_errors() {
    let k = keys();
    let input = write_csv(&k.dir);
    let key = ["--key-file", p(&k.key), "--table", "users"];
    let exists = k.dir.join("exists.csv");
    std::fs::write(&exists, "keep").unwrap();

    let out = run(cell(&["encrypt", "--csv", p(&input), "--column", "ssn"]).args(key));
    assert_error(&out, 2, "`--csv` needs `--out NEW.csv`");
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&input),
        "--column",
        "ssn",
        "--out",
        p(&exists),
    ])
    .args(key));
    assert_error(&out, 2, "already exists");
    assert_eq!(std::fs::read_to_string(&exists).unwrap(), "keep");
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&input),
        "--column",
        "ssn",
        "--out",
        p(&input),
    ])
    .args(key));
    assert_error(&out, 2, "already exists");
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&k.dir.join("none.csv")),
        "--column",
        "ssn",
        "--out",
        p(&k.dir.join("o.csv")),
    ])
    .args(key));
    assert_error(&out, 2, "cannot read");
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&input),
        "--column",
        "email",
        "--out",
        p(&k.dir.join("o.csv")),
    ])
    .args(key));
    assert_error(&out, 2, "column `email` given to `--column` is not in");
    assert!(stderr(&out).contains("`id`, `name`, `ssn`"));
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&input),
        "--column",
        "ssn",
        "--row-key",
        "uid",
        "--out",
        p(&k.dir.join("o.csv")),
    ])
    .args(key));
    assert_error(&out, 2, "column `uid` given to `--row-key`");
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&input),
        "--column",
        "ssn",
        "--out",
        p(&k.dir.join("no/dir/o.csv")),
    ])
    .args(key));
    assert_error(&out, 1, "cannot create");

    let ragged = k.dir.join("ragged.csv");
    std::fs::write(&ragged, "id,ssn\n1,a\n2,b,extra\n").unwrap();
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&ragged),
        "--column",
        "ssn",
        "--out",
        p(&k.dir.join("r.csv")),
    ])
    .args(key));
    assert_error(&out, 2, "cannot read");
    assert!(!k.dir.join("r.csv").exists());

    let long_row = k.dir.join("long.csv");
    std::fs::write(&long_row, format!("id,ssn\n{},a\n", "9".repeat(9000))).unwrap();
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&long_row),
        "--column",
        "ssn",
        "--row-key",
        "id",
        "--out",
        p(&k.dir.join("l.csv")),
    ])
    .args(key));
    assert_error(&out, 2, "`--row-key` values must be shorter");
}

#[test]
fn key_source_errors() {
    let k = keys();
    let ctx = ["--table", "t", "--column", "c", "v"];
    let out = run(cell(&["encrypt"]).args(ctx));
    assert_error(&out, 2, "no key source given");
    let missing = k.dir.join("missing.key");
    let out = run(cell(&["encrypt", "--key-file", p(&missing)]).args(ctx));
    assert_error(&out, 2, "cannot read key file");
    assert!(stderr(&out).contains("atrest cell keygen --out"));
    let junk = k.dir.join("junk.key");
    std::fs::write(&junk, "not a key\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(cell(&["encrypt", "--key-file", p(&junk)]).args(ctx));
    assert_error(&out, 2, "is not an atrest key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&k.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(cell(&["encrypt", "--key-file", p(&k.key)]).args(ctx));
        assert_error(&out, 2, "may be read by other users (mode 0644)");
        assert!(stderr(&out).contains("chmod 600"));
    }
}

#[cfg(not(feature = "aws"))]
#[test]
fn kms_needs_the_aws_feature() {
    let out = run(&mut cell(&[
        "encrypt",
        "--kms-key-id",
        "alias/x",
        "--table",
        "t",
        "--column",
        "c",
        "v",
    ]));
    assert_error(&out, 2, "this build has no AWS support");
}

#[test]
fn context_flag_errors() {
    let k = keys();
    let key = ["--key-file", p(&k.key)];
    let out = run(cell(&["encrypt", "--table", "", "--column", "c", "v"]).args(key));
    assert_error(&out, 2, "`--table` is empty");
    let out = run(cell(&["encrypt", "--table", "t", "--column", "", "v"]).args(key));
    assert_error(&out, 2, "`--column` is empty");
    let long = "t".repeat(9000);
    let out = run(cell(&["encrypt", "--table", &long, "--column", "c", "v"]).args(key));
    assert_error(&out, 2, "shorten `--table` or `--column`");
    let out = run(cell(&[
        "encrypt", "--table", "t", "--column", "c", "--row", &long, "v",
    ])
    .args(key));
    assert_error(&out, 2, "shorten `--row`");
    let out = run(cell(&[
        "encrypt",
        "--table",
        "t",
        "--column",
        "c",
        "--blind-index",
        "--index-length",
        "40",
        "v",
    ])
    .args(key));
    assert_error(&out, 2, "`--index-length 40` is out of range");
}

#[test]
fn oversize_value_from_stdin() {
    let k = keys();
    let mut line = vec![b'a'; (64 << 20) + 1];
    line.push(b'\n');
    let out = run_stdin(
        &mut cell(&[
            "encrypt",
            "--key-file",
            p(&k.key),
            "--table",
            "t",
            "--column",
            "c",
        ]),
        &line,
    );
    assert_error_style(&out, 2, "cannot encrypt values 1 to 1");
}

#[test]
fn keyring_errors() {
    let k = keys();
    let bad = k.dir.join("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    let out = run(&mut cell(&[
        "encrypt",
        "--key-file",
        p(&k.key),
        "--keyring",
        p(&bad),
        "--table",
        "t",
        "--column",
        "c",
        "v",
    ]));
    assert_error(&out, 2, "cannot use keyring");
    let unwritable = k.dir.join("no/dir/ring.json");
    let out = run(&mut cell(&[
        "encrypt",
        "--key-file",
        p(&k.key),
        "--keyring",
        p(&unwritable),
        "--table",
        "t",
        "--column",
        "c",
        "v",
    ]));
    assert_error(&out, 1, "cannot store the data key");
}

#[test]
fn rewrap_moves_a_keyring_to_a_new_key_file() {
    let k = keys();
    let new_key = k.dir.join("new.key");
    assert!(
        run(&mut cell(&["keygen", "--out", p(&new_key)]))
            .status
            .success()
    );
    let ring = k.dir.join("ring.json");
    let ctx = ["--table", "users", "--column", "ssn", "--row", "1"];
    let out = run(cell(&[
        "encrypt",
        "--key-file",
        p(&k.key),
        "--keyring",
        p(&ring),
        "--blind-index",
        "secret",
    ])
    .args(ctx));
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stdout(&out);
    let (sealed, index) = line.trim_end().split_once(' ').unwrap();

    let out = run(&mut cell(&[
        "rewrap",
        "--keyring",
        p(&ring),
        "--key-file",
        p(&k.key),
    ]));
    assert_error(&out, 2, "rewrap needs the new key");
    let out = run(&mut cell(&[
        "rewrap",
        "--keyring",
        p(&k.dir.join("none.json")),
        "--key-file",
        p(&k.key),
        "--to-key-file",
        p(&new_key),
    ]));
    assert_error(&out, 2, "does not exist");
    let out = run(&mut cell(&[
        "rewrap",
        "--keyring",
        p(&ring),
        "--key-file",
        p(&new_key),
        "--to-key-file",
        p(&k.key),
    ]));
    assert_error(&out, 1, "cannot rewrap");
    assert!(stderr(&out).contains("nothing was changed"));

    let out = run(&mut cell(&[
        "rewrap",
        "--keyring",
        p(&ring),
        "--key-file",
        p(&k.key),
        "--to-key-file",
        p(&new_key),
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("rewrapped 2 keys"),
        "{}",
        stdout(&out)
    );
    let out = run(cell(&[
        "decrypt",
        "--key-file",
        p(&new_key),
        "--keyring",
        p(&ring),
        sealed,
    ])
    .args(ctx));
    assert_eq!(stdout(&out), "secret\n", "{}", stderr(&out));
    let out = run(cell(&[
        "encrypt",
        "--key-file",
        p(&new_key),
        "--keyring",
        p(&ring),
        "--blind-index",
        "secret",
    ])
    .args(ctx));
    assert_eq!(
        stdout(&out).trim_end().split_once(' ').unwrap().1,
        index,
        "the blind index survives rotation"
    );
    let out = run(cell(&[
        "decrypt",
        "--key-file",
        p(&k.key),
        "--keyring",
        p(&ring),
        sealed,
    ])
    .args(ctx));
    assert_error(&out, 1, "cannot decrypt value 1");
}

#[test]
fn bench_runs_and_validates() {
    let out = run(&mut cell(&["bench", "--sizes", "64", "--millis", "20"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("encrypt") && stdout(&out).contains("ratio"));
    let out = run(&mut cell(&["bench", "--millis", "0"]));
    assert_error(&out, 2, "`--millis` must be above 0");
}
