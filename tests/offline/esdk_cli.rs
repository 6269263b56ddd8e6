//! `atrest cell encrypt/decrypt --format esdk` end to end through the real binary.

use std::process::{Command, Output, Stdio};

use crate::support::{atrest, stderr, stdout};

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    crate::support::run(cmd)
}

fn esdk(verb: &str, key: &std::path::Path, row: &str, values: &[&str]) -> Output {
    let mut cmd = atrest();
    cmd.args(["cell", verb, "--format", "esdk", "--esdk-key"])
        .arg(key)
        .args(["--table", "users", "--column", "ssn", "--row", row])
        .args(values);
    run(&mut cmd)
}

#[test]
fn encrypts_and_decrypts_esdk_messages() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("wrap.hex");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    let out = esdk("encrypt", &key, "42", &["078-05-1120", "x"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    // Every line is a version 2 message of suite 0x0478.
    use base64::Engine;
    let msg = base64::engine::general_purpose::STANDARD
        .decode(&lines[0])
        .unwrap();
    assert_eq!(&msg[..3], &[2, 0x04, 0x78]);
    let args: Vec<&str> = lines.iter().map(String::as_str).collect();
    let back = esdk("decrypt", &key, "42", &args);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(stdout(&back), "078-05-1120\nx\n");
    // Another row does not decrypt; the error names the value.
    let wrong = esdk("decrypt", &key, "43", &args);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).starts_with("error: value 1 is not an ESDK message"),
        "{}",
        stderr(&wrong)
    );
    assert!(stderr(&wrong).contains("\n  help: "));
}

#[test]
fn explains_a_missing_or_bad_key() {
    let mut cmd = atrest();
    cmd.args([
        "cell", "encrypt", "--format", "esdk", "--table", "t", "--column", "c", "v",
    ]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`--format esdk` needs `--esdk-key FILE`"),
        "{}",
        stderr(&out)
    );
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("short.hex");
    std::fs::write(&key, "abcd\n").unwrap();
    let out = esdk("encrypt", &key, "1", &["v"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("an AES wrapping key has 16, 24 or 32 bytes, not 2"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_esdk_usage_error_has_a_hint() {
    use crate::support::cli::assert_error_style;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("wrap.b64");
    std::fs::write(&key, "q80=\n").unwrap();
    let good = dir.path().join("good.hex");
    std::fs::write(&good, "00".repeat(32)).unwrap();
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let missing = dir.path().join("missing");
    let base = [
        "cell", "encrypt", "--format", "esdk", "--table", "t", "--column", "c",
    ];
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--esdk-key".into(),
                good.display().to_string(),
                "--keyring".into(),
                "k.json".into(),
                "v".into(),
            ],
            "`--format esdk` cannot be used with `--keyring`\n  help: ESDK messages are wrapped by",
        ),
        (
            vec!["--key-file".into(), good.display().to_string(), "v".into()],
            "`--format esdk` cannot be used with `--key-file`",
        ),
        (
            vec![
                "--esdk-key".into(),
                good.display().to_string(),
                "--blind-index".into(),
                "v".into(),
            ],
            "`--format esdk` cannot be used with `--blind-index`",
        ),
        (
            vec!["v".into()],
            "`--format esdk` needs `--esdk-key FILE` or `--kms-key-id ARN`",
        ),
        (
            vec![
                "--esdk-key".into(),
                good.display().to_string(),
                "--csv".into(),
                "in.csv".into(),
            ],
            "`--csv` needs `--out NEW.csv`",
        ),
        (
            vec![
                "--esdk-key".into(),
                good.display().to_string(),
                "--csv".into(),
                missing.display().to_string(),
                "--out".into(),
                dir.path().join("o.csv").display().to_string(),
            ],
            "cannot read",
        ),
        (
            vec![
                "--esdk-key".into(),
                good.display().to_string(),
                "--esdk-key-name".into(),
                "plain".into(),
                "v".into(),
            ],
            "`--esdk-key-name plain` is not NAMESPACE/NAME",
        ),
        (
            vec![
                "--esdk-key".into(),
                missing.display().to_string(),
                "v".into(),
            ],
            "cannot read the wrapping key file",
        ),
        (
            vec![
                "--esdk-key".into(),
                garbage.display().to_string(),
                "v".into(),
            ],
            "does not hold a wrapping key as one line of hex or base64",
        ),
        (
            vec!["--esdk-key".into(), key.display().to_string(), "v".into()],
            "an AES wrapping key has 16, 24 or 32 bytes, not 2",
        ),
    ];
    for (args, needle) in cases {
        let mut cmd = atrest();
        cmd.args(base).args(&args);
        let out = run(&mut cmd);
        assert_error_style(&out, 2, needle);
    }
}

fn esdk_csv(
    verb: &str,
    key: &std::path::Path,
    input: &std::path::Path,
    out: &std::path::Path,
) -> Output {
    let mut cmd = atrest();
    cmd.args(["cell", verb, "--format", "esdk", "--esdk-key"])
        .arg(key)
        .args([
            "--table",
            "users",
            "--column",
            "ssn",
            "--row-key",
            "id",
            "--csv",
        ])
        .arg(input)
        .arg("--out")
        .arg(out);
    run(&mut cmd)
}

#[test]
fn encrypts_and_decrypts_a_csv_column_of_esdk_messages() {
    use atrest::cell::Context;
    use atrest::esdk::{EsdkEncryptor, RawAesKeyring};
    use base64::Engine;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("wrap.hex");
    std::fs::write(&key, "cd".repeat(32)).unwrap();
    let input = dir.path().join("users.csv");
    let plain = "id,name,ssn\n1,Ann,078-05-1120\n2,Bob,219-09-9999\n3,\"Cy, Jr\",\n";
    std::fs::write(&input, plain).unwrap();
    let sealed = dir.path().join("sealed.csv");
    let out = esdk_csv("encrypt", &key, &input, &sealed);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("encrypted column `ssn` of 3 rows"),
        "{}",
        stdout(&out)
    );
    // Each cell is a base64 ESDK message under the table, column and its row's `id`, which any ESDK reads back with
    // that encryption context.
    let esdk = EsdkEncryptor::builder(Arc::new(
        RawAesKeyring::new("atrest", "atrest", &[0xcd; 32]).unwrap(),
    ))
    .build()
    .unwrap();
    let mut reader = csv::Reader::from_path(&sealed).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    for (record, expected) in records.iter().zip(["078-05-1120", "219-09-9999", ""]) {
        let msg = base64::engine::general_purpose::STANDARD
            .decode(&record[2])
            .unwrap();
        let ctx = Context::new("users", "ssn")
            .unwrap()
            .with_row(&record[0])
            .unwrap();
        assert_eq!(
            &*esdk.decrypt_cell(&ctx, &msg).unwrap(),
            expected.as_bytes()
        );
    }
    let back = dir.path().join("back.csv");
    let out = esdk_csv("decrypt", &key, &sealed, &back);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&back).unwrap(), plain);

    // Two rows' cells swapped: the first moved cell fails, naming its record, and no output is left.
    let text = std::fs::read_to_string(&sealed).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cell = |l: &str| l.rsplit(',').next().unwrap().to_owned();
    let (a, b) = (cell(lines[1]), cell(lines[2]));
    let swapped = format!(
        "{}\n{}\n{}\n{}\n",
        lines[0],
        lines[1].replace(&a, &b),
        lines[2].replace(&b, &a),
        lines[3]
    );
    let moved = dir.path().join("moved.csv");
    std::fs::write(&moved, swapped).unwrap();
    let none = dir.path().join("none.csv");
    let out = esdk_csv("decrypt", &key, &moved, &none);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: cannot decrypt CSV record 1 (line 2)"),
        "{}",
        stderr(&out)
    );
    assert!(!none.exists());

    // The ESDK's encryption context is text: a row key that is not UTF-8 is refused, not converted.
    let binary = dir.path().join("binary.csv");
    std::fs::write(&binary, b"id,ssn\n\xff\xfe,078-05-1120\n").unwrap();
    let out = esdk_csv("encrypt", &key, &binary, &dir.path().join("b.csv"));
    crate::support::cli::assert_error_style(&out, 2, "the row is not UTF-8 text");
}
