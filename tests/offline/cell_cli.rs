//! `atrest cell ...` end to end through the real binary: the workflows and every user-facing error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::cli::{p, run_stdin};
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

/// Asserts exit `code` and exactly the two lines of an error in the house style: `error: <message>` (lowercase, no
/// final period) and `  help: <help>`.
fn assert_error(out: &Output, code: i32, message: &str, help: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err, format!("error: {message}\n  help: {help}\n"));
    for line in [message, help] {
        assert!(
            line.chars().next().is_some_and(|c| !c.is_uppercase()),
            "starts uppercase: {line}"
        );
        assert!(!line.ends_with('.'), "ends with a period: {line}");
    }
}

const ENOENT: &str = "No such file or directory (os error 2)";

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
    assert_error(
        &again,
        2,
        &format!("`{}` already exists", p(&k.key)),
        "choose a new path, a key file is never overwritten",
    );
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
    let path = k.dir.join("no/such/dir/k");
    let out = run(&mut cell(&["keygen", "--out", p(&path)]));
    assert_error(
        &out,
        1,
        &format!("cannot create key file `{}`: {ENOENT}", p(&path)),
        "check that its directory exists and is writable",
    );
}

const DECRYPT_VALUE_1: &str = "cannot decrypt value 1: wrong key, wrong context or a damaged value";
const DECRYPT_HELP: &str = "check `--table`, `--column`, `--row`, `--keyring` and the key source";

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
    for out in [
        wrong_row,
        run(cell(&["decrypt"]).args(base).arg("not base64!")),
    ] {
        assert_error(&out, 1, DECRYPT_VALUE_1, DECRYPT_HELP);
    }
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
    assert_error(
        &out,
        1,
        "cannot decrypt CSV record 1 (line 2): wrong key, wrong context or a damaged value",
        "check `--table`, `--column`, `--row-key`, `--keyring` and the key source",
    );
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
    assert_error(
        &out,
        2,
        "`--csv` needs `--out NEW.csv`",
        "the input file is never changed in place",
    );
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
    let never = "choose a new `--out` path, outputs are never overwritten";
    assert_error(&out, 2, &format!("`{}` already exists", p(&exists)), never);
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
    assert_error(&out, 2, &format!("`{}` already exists", p(&input)), never);
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
    assert_error(
        &out,
        2,
        &format!("cannot read `{}`: {ENOENT}", p(&k.dir.join("none.csv"))),
        "check the path given to `--csv`",
    );
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
    assert_error(
        &out,
        2,
        &format!("column `email` is not in `{}`", p(&input)),
        "its columns are `id`, `name`, `ssn`; pass one of them to `--column`",
    );
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
    assert_error(
        &out,
        2,
        &format!("row key column `uid` is not in `{}`", p(&input)),
        "its columns are `id`, `name`, `ssn`; pass one of them to `--row-key`",
    );
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
    assert_error(
        &out,
        1,
        &format!(
            "cannot create `{}`: {ENOENT}",
            p(&k.dir.join("no/dir/o.csv"))
        ),
        "check that its directory exists and is writable",
    );

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
    assert_error(
        &out,
        2,
        &format!(
            "cannot read `{}`: CSV error: record 2 (line: 3, byte: 11): found record with 3 fields, but the previous record has 2 fields",
            p(&ragged)
        ),
        "fix the CSV and run again",
    );
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
    assert_error(
        &out,
        2,
        "the row of CSV record 1 (line 2) is too long: the encoded context is 9057 bytes, over the limit of 8192",
        "the `--row-key` values must be shorter",
    );
}

#[test]
fn key_source_errors() {
    let k = keys();
    let ctx = ["--table", "t", "--column", "c", "v"];
    let out = run(cell(&["encrypt"]).args(ctx));
    assert_error(
        &out,
        2,
        "no key source given",
        "pass `--key-file FILE` (create one with `atrest cell keygen --out FILE`) or `--kms-key-id ARN`",
    );
    let missing = k.dir.join("missing.key");
    let out = run(cell(&["encrypt", "--key-file", p(&missing)]).args(ctx));
    assert_error(
        &out,
        2,
        &format!("cannot read key file `{}`: {ENOENT}", p(&missing)),
        &format!(
            "check the path given to `--key-file`, or create a key file with `atrest cell keygen --out {}`",
            p(&missing)
        ),
    );
    let junk = k.dir.join("junk.key");
    std::fs::write(&junk, "not a key\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(cell(&["encrypt", "--key-file", p(&junk)]).args(ctx));
    assert_error(
        &out,
        2,
        &format!("`{}` is not an atrest key file", p(&junk)),
        "pass the file that `atrest cell keygen` wrote",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&k.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(cell(&["encrypt", "--key-file", p(&k.key)]).args(ctx));
        assert_error(
            &out,
            2,
            &format!(
                "key file `{}` may be read by other users (mode 0644)",
                p(&k.key)
            ),
            &format!("run `chmod 600 {}`", p(&k.key)),
        );
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
    assert_error(
        &out,
        2,
        "this build has no AWS support, so `--kms-key-id alias/x` cannot be used",
        "rebuild with the `aws` feature or pass `--key-file FILE`",
    );
}

#[test]
fn context_flag_errors() {
    let k = keys();
    let key = ["--key-file", p(&k.key)];
    let names =
        "name the table and the column with `--table` and `--column`, at most 8,192 bytes in all";
    let out = run(cell(&["encrypt", "--table", "", "--column", "c", "v"]).args(key));
    assert_error(
        &out,
        2,
        "invalid encryption context: the table name is empty",
        names,
    );
    let out = run(cell(&["encrypt", "--table", "t", "--column", "", "v"]).args(key));
    assert_error(
        &out,
        2,
        "invalid encryption context: the column name is empty",
        names,
    );
    let long = "t".repeat(9000);
    let out = run(cell(&["encrypt", "--table", &long, "--column", "c", "v"]).args(key));
    assert_error(
        &out,
        2,
        "invalid encryption context: the encoded context is 9036 bytes, over the limit of 8192",
        names,
    );
    let out = run(cell(&[
        "encrypt", "--table", "t", "--column", "c", "--row", &long, "v",
    ])
    .args(key));
    assert_error(
        &out,
        2,
        "invalid encryption context: the encoded context is 9051 bytes, over the limit of 8192",
        "shorten `--row`",
    );
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
    assert_error(
        &out,
        2,
        "a blind index is 1 to 32 bytes long, not 40",
        "pass `--index-length` between 1 and 32",
    );
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
    assert_error(
        &out,
        2,
        "cannot encrypt values 1 to 1: the plaintext is 67108865 bytes, over the limit of 67108864 bytes",
        "split the value or keep it outside the database",
    );
}

const KEYRING_HELP: &str = "pass a file written by `atrest cell encrypt --keyring`";

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
    assert_error(
        &out,
        2,
        &format!(
            "`{}` is not a valid keyring: missing field `format` at line 1 column 2",
            p(&bad)
        ),
        KEYRING_HELP,
    );
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
    assert_error(
        &out,
        1,
        &format!(
            "cannot store the data key for values 1 to 1: cannot lock `{}.lock`: {ENOENT}",
            p(&unwritable)
        ),
        "check that the keyring file and its directory are writable",
    );

    // A keyring whose blind-index key another key file wrapped.
    let ring = k.dir.join("ring.json");
    let other = k.dir.join("other.key");
    assert!(
        run(&mut cell(&["keygen", "--out", p(&other)]))
            .status
            .success()
    );
    let index = |key: &Path| {
        run(
            cell(&["encrypt", "--key-file", p(key), "--keyring", p(&ring)]).args([
                "--blind-index",
                "--table",
                "t",
                "--column",
                "c",
                "v",
            ]),
        )
    };
    assert!(index(&k.key).status.success());
    let out = index(&other);
    assert_error(
        &out,
        2,
        "cannot unwrap the blind-index key: the wrapped data key was rejected",
        "use the key source the keyring was written with (nothing was changed)",
    );
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
    assert_error(
        &out,
        2,
        "rewrap needs the new key",
        "pass `--to-key-file FILE` or `--to-kms-key-id ARN`",
    );
    let none = k.dir.join("none.key");
    let out = run(&mut cell(&[
        "rewrap",
        "--keyring",
        p(&ring),
        "--key-file",
        p(&k.key),
        "--to-key-file",
        p(&none),
    ]));
    assert_error(
        &out,
        2,
        &format!("cannot read key file `{}`: {ENOENT}", p(&none)),
        &format!(
            "check the path given to `--to-key-file`, or create a key file with `atrest cell keygen --out {}`",
            p(&none)
        ),
    );
    let out = run(&mut cell(&[
        "rewrap",
        "--keyring",
        p(&k.dir.join("none.json")),
        "--key-file",
        p(&k.key),
        "--to-key-file",
        p(&new_key),
    ]));
    assert_error(
        &out,
        2,
        &format!("keyring `{}` does not exist", p(&k.dir.join("none.json"))),
        KEYRING_HELP,
    );
    let out = run(&mut cell(&[
        "rewrap",
        "--keyring",
        p(&ring),
        "--key-file",
        p(&new_key),
        "--to-key-file",
        p(&k.key),
    ]));
    let before = std::fs::read_to_string(&ring).unwrap();
    let json: serde_json::Value = serde_json::from_str(&before).unwrap();
    // The keyring names the key that wraps it, so a wrong key is refused before any unwrap.
    let wrapped_by = json["wrapped_by"].as_str().unwrap();
    let given = std::fs::read_to_string(&new_key).unwrap();
    let given = given.lines().nth(1).unwrap().strip_prefix("id ").unwrap();
    assert_error(
        &out,
        1,
        &format!(
            "`{}` is wrapped by `{wrapped_by}`, not by `keyfile:{given}`",
            p(&ring)
        ),
        "check that `--key-file` or `--kms-key-id` names the key the keyring was written with (nothing was changed)",
    );

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
    assert_error(&out, 1, DECRYPT_VALUE_1, DECRYPT_HELP);
}

const BENCH_HELP: &str = "pass `--millis` above 0 and `--sizes` between 0 and 67108864 bytes, e.g. `--sizes 64,1024 --millis 300`";

#[test]
fn bench_runs_and_validates() {
    let out = run(&mut cell(&["bench", "--sizes", "64", "--millis", "20"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("encrypt") && stdout(&out).contains("ratio"));
    let out = run(&mut cell(&["bench", "--millis", "0"]));
    assert_error(
        &out,
        2,
        "the time per measurement must be above 0 ms",
        BENCH_HELP,
    );
    let out = run(&mut cell(&["bench", "--sizes", "64,67108865"]));
    assert_error(
        &out,
        2,
        "a cell of 67108865 bytes is over the limit of 67108864 bytes",
        BENCH_HELP,
    );
}

#[test]
fn csv_refusals_write_nothing() {
    let k = keys();
    let input = write_csv(&k.dir);
    let ring = k.dir.join("ring.json");
    let out_path = k.dir.join("o.csv");
    let base = [
        "encrypt",
        "--key-file",
        p(&k.key),
        "--keyring",
        p(&ring),
        "--blind-index",
        "--table",
        "users",
        "--csv",
        p(&input),
        "--out",
        p(&out_path),
    ];
    let out = run(cell(&base).args(["--column", "ssn", "--row-key", "ssn"]));
    assert_error(
        &out,
        2,
        "the row key `ssn` is the column being processed",
        "pass another column to `--row-key`, such as the primary key",
    );
    let out = run(cell(&base).args(["--column", "email"]));
    assert_error(
        &out,
        2,
        &format!("column `email` is not in `{}`", p(&input)),
        "its columns are `id`, `name`, `ssn`; pass one of them to `--column`",
    );
    assert!(!ring.exists() && !out_path.exists(), "nothing written");

    let escaped = k.dir.join("escaped.csv");
    std::fs::write(&escaped, b"id,\x1b[2Jssn\n1,a\n").unwrap();
    let out = run(
        cell(&["encrypt", "--key-file", p(&k.key), "--table", "t"]).args([
            "--column",
            "ssn",
            "--csv",
            p(&escaped),
            "--out",
            p(&out_path),
        ]),
    );
    assert_error(
        &out,
        2,
        &format!("column `ssn` is not in `{}`", p(&escaped)),
        "its columns are `id`, `\\u{1b}[2Jssn`; pass one of them to `--column`",
    );

    #[cfg(unix)]
    {
        let target = k.dir.join("target.csv");
        std::os::unix::fs::symlink(&target, &out_path).unwrap();
        let out = run(cell(&base).args(["--column", "ssn", "--row-key", "id"]));
        assert_error(
            &out,
            2,
            &format!("`{}` already exists", p(&out_path)),
            "choose a new `--out` path, outputs are never overwritten",
        );
        assert!(!target.exists() && !ring.exists());
    }
}

#[test]
fn csv_row_keys_bind_their_bytes() {
    let k = keys();
    let input = k.dir.join("latin1.csv");
    // Two Latin-1 row keys that are not UTF-8 and differ.
    std::fs::write(&input, b"id,ssn\n\xe9,a\n\xe8,b\n").unwrap();
    let enc = k.dir.join("enc.csv");
    let base = ["--key-file", p(&k.key), "--table", "t", "--column", "ssn"];
    let out = run(cell(&[
        "encrypt",
        "--csv",
        p(&input),
        "--out",
        p(&enc),
        "--row-key",
        "id",
    ])
    .args(base));
    assert!(out.status.success(), "{}", stderr(&out));
    let sealed = std::fs::read(&enc).unwrap();
    let lines: Vec<&[u8]> = sealed.split(|&b| b == b'\n').collect();
    let (first, second) = (&lines[1][2..], &lines[2][2..]);
    let swapped = k.dir.join("swapped.csv");
    std::fs::write(
        &swapped,
        [b"id,ssn\n\xe9,", second, b"\n\xe8,", first, b"\n"].concat(),
    )
    .unwrap();
    let dec = k.dir.join("dec.csv");
    let out = run(cell(&[
        "decrypt",
        "--csv",
        p(&swapped),
        "--out",
        p(&dec),
        "--row-key",
        "id",
    ])
    .args(base));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a value moved to another row does not decrypt"
    );
    let out = run(cell(&[
        "decrypt",
        "--csv",
        p(&enc),
        "--out",
        p(&dec),
        "--row-key",
        "id",
    ])
    .args(base));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&dec).unwrap(), b"id,ssn\n\xe9,a\n\xe8,b\n");
}
