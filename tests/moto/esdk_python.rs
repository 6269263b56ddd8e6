//! Round trip with a real ESDK: messages atrest writes are decrypted by the Python AWS Encryption SDK (pinned in
//! the test venv, `scripts/moto-requirements.txt`), and messages it writes are decrypted by atrest, raw AES keyring.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use atrest::cell::Context;
use atrest::esdk::{EncryptionContext, EsdkEncryptor, RawAesKeyring, cell_context};

const KEY: [u8; 32] = [0x42; 32];
const NAMESPACE: &str = "atrest-test";
const NAME: &str = "esdk-roundtrip";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let out = Command::new(root().join("scripts/moto-env.sh"))
        .output()
        .expect("scripts/moto-env.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("bin/python")
}

/// Runs the Python ESDK on `input`; returns its output bytes and what it printed.
fn run_python(
    py: &Path,
    mode: &str,
    ctx: &EncryptionContext,
    suite: u16,
    input: &[u8],
) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::write(&src, input).unwrap();
    let out = Command::new(py)
        .arg(root().join("tests/esdk/python_esdk.py"))
        .args([mode, &hex::encode(KEY), NAMESPACE, NAME])
        .arg(serde_json::to_string(ctx).unwrap())
        .arg(format!("{suite:04x}"))
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read(&dst).unwrap(),
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    )
}

fn encryptor(signed: bool) -> EsdkEncryptor {
    let keyring = Arc::new(RawAesKeyring::new(NAMESPACE, NAME, &KEY).unwrap());
    EsdkEncryptor::builder(keyring)
        .signed(signed)
        .build()
        .unwrap()
}

#[test]
fn python_esdk_reads_atrest_and_atrest_reads_python_esdk() {
    let py = python();
    let cell = Context::new("users", "ssn")
        .unwrap()
        .with_row("42")
        .unwrap();
    let ctx = cell_context(&cell).unwrap();
    let mut checked = 0;
    for signed in [false, true] {
        let suite = if signed { 0x0578 } else { 0x0478 };
        let e = encryptor(signed);
        for len in [0usize, 64, 4096, 10_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            // atrest -> Python
            let msg = e.encrypt_cell(&cell, &plain).unwrap();
            let (back, printed) = run_python(&py, "decrypt", &ctx, suite, &msg);
            assert_eq!(back, plain, "python decrypt of {suite:04x}, {len} bytes");
            assert_eq!(printed, format!("{suite:04x}"));
            // Python -> atrest
            let (msg, _) = run_python(&py, "encrypt", &ctx, suite, &plain);
            assert_eq!(&*e.decrypt_cell(&cell, &msg).unwrap(), &plain[..]);
            let other = Context::new("users", "ssn")
                .unwrap()
                .with_row("43")
                .unwrap();
            assert!(e.decrypt_cell(&other, &msg).is_err());
            checked += 2;
        }
    }
    println!("esdk python round trip: {checked} messages each way checked");
}
