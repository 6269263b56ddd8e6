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
            "`--format esdk` works on values, not with `--csv` or `--keyring`\n  help: pass the values",
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
