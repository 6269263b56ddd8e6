//! Round trip with a real ESDK: messages atrest writes are decrypted by the Python AWS Encryption SDK (pinned in
//! the test venv, `scripts/moto-requirements.txt`), and messages it writes are decrypted by atrest, with the raw AES
//! keyring and with the AWS KMS keyring against the local endpoint (Python's `StrictAwsKmsMasterKeyProvider`).

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

mod kms {
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    use super::{python, root};
    use crate::support::{atrest, moto_endpoint, stderr, stdout};
    use atrest::cell::{CellError, Context, ProviderError};
    use atrest::esdk::{
        AwsKmsKeyring, EncryptionContext, EsdkEncryptor, EsdkError, KMS_PROVIDER_ID, cell_context,
        message,
    };
    use aws_config::BehaviorVersion;
    use aws_sdk_kms::config::{Credentials, Region};

    use crate::support::sent::Sent;

    const REGION: &str = "ap-northeast-3";

    fn client(calls: Option<&Sent>) -> aws_sdk_kms::Client {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let base = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(REGION))
                .endpoint_url(moto_endpoint())
                .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .load(),
        );
        let mut config = aws_sdk_kms::config::Builder::from(&base);
        if let Some(calls) = calls {
            config = config.interceptor(calls.clone());
        }
        aws_sdk_kms::Client::from_conf(config.build())
    }

    /// Creates `n` KMS keys in the test region; returns their ARNs.
    fn keys(n: usize) -> Vec<String> {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let kms = client(None);
        (0..n)
            .map(|_| {
                let out = runtime
                    .block_on(kms.create_key().description("atrest esdk test").send())
                    .unwrap();
                out.key_metadata.unwrap().arn.unwrap()
            })
            .collect()
    }

    fn keyring(arns: &[&String]) -> (Arc<AwsKmsKeyring>, Sent) {
        let calls = Sent::kms_operations();
        let ids = arns.iter().map(|a| (*a).clone()).collect();
        let keyring = AwsKmsKeyring::new(client(Some(&calls)), ids).unwrap();
        (Arc::new(keyring), calls)
    }

    fn encryptor(keyring: &Arc<AwsKmsKeyring>, signed: bool) -> EsdkEncryptor {
        EsdkEncryptor::builder(keyring.clone())
            .signed(signed)
            .build()
            .unwrap()
    }

    /// Runs the Python ESDK with a strict KMS provider of `arn` on `input`; `None` when it fails.
    fn python_kms(
        mode: &str,
        arn: &str,
        ctx: &EncryptionContext,
        suite: u16,
        input: &[u8],
    ) -> Option<(Vec<u8>, String)> {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::write(&src, input).unwrap();
        let out = Command::new(python())
            .arg(root().join("tests/esdk/python_esdk_kms.py"))
            .args([mode, &moto_endpoint(), arn])
            .arg(serde_json::to_string(ctx).unwrap())
            .arg(format!("{suite:04x}"))
            .arg(&src)
            .arg(&dst)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!("python {mode}: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        Some((
            std::fs::read(&dst).unwrap(),
            String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        ))
    }

    #[test]
    fn python_esdk_and_atrest_read_each_others_kms_messages() {
        let arns = keys(2);
        let (ring, _) = keyring(&[&arns[0]]);
        let cell = Context::new("users", "ssn")
            .unwrap()
            .with_row("42")
            .unwrap();
        let ctx = cell_context(&cell).unwrap();
        let other = Context::new("users", "ssn")
            .unwrap()
            .with_row("43")
            .unwrap();
        let mut checked = 0;
        for signed in [false, true] {
            let suite = if signed { 0x0578 } else { 0x0478 };
            let e = encryptor(&ring, signed);
            for len in [0usize, 64, 5000] {
                let plain: Vec<u8> = (0..len).map(|i| (i * 11) as u8).collect();
                // atrest -> Python: one encrypted data key, provider `aws-kms`, the key ARN as provider info.
                let msg = e.encrypt_cell(&cell, &plain).unwrap();
                let parsed = message::parse(&msg, &Default::default()).unwrap();
                let edks = &parsed.header.edks;
                assert_eq!(edks.len(), 1);
                assert_eq!(edks[0].provider_id, KMS_PROVIDER_ID.as_bytes());
                assert_eq!(edks[0].provider_info, arns[0].as_bytes());
                let (back, printed) = python_kms("decrypt", &arns[0], &ctx, suite, &msg)
                    .expect("python decrypts atrest's message");
                assert_eq!(back, plain, "python decrypt of {suite:04x}, {len} bytes");
                assert_eq!(printed, format!("{suite:04x}"));
                // Python's strict provider refuses a message of a key it was not given.
                assert!(python_kms("decrypt", &arns[1], &ctx, suite, &msg).is_none());
                // Python -> atrest
                let (msg, _) = python_kms("encrypt", &arns[0], &ctx, suite, &plain).unwrap();
                assert_eq!(&*e.decrypt_cell(&cell, &msg).unwrap(), &plain[..]);
                assert_eq!(
                    e.decrypt_cell(&other, &msg).unwrap_err(),
                    EsdkError::Decrypt
                );
                checked += 2;
            }
        }
        println!("esdk python kms round trip: {checked} messages each way checked");
    }

    #[test]
    fn strict_mode_decrypts_only_the_listed_keys_and_caches_data_keys() {
        let arns = keys(2);
        let (both, _) = keyring(&[&arns[0], &arns[1]]);
        let scope: EncryptionContext = [("tenant".to_owned(), "a".to_owned())].into();
        // Two keys: the first generates, the second encrypts the same data key; each alone decrypts.
        let msg = encryptor(&both, false).encrypt(&scope, b"value").unwrap();
        let parsed = message::parse(&msg, &Default::default()).unwrap();
        let infos: Vec<&[u8]> = parsed.header.edks.iter().map(|e| e.provider_info).collect();
        assert_eq!(infos, [arns[0].as_bytes(), arns[1].as_bytes()]);
        for arn in &arns {
            let (ring, calls) = keyring(&[arn]);
            let d = encryptor(&ring, false).decrypt(&msg, &scope).unwrap();
            assert_eq!(&*d.plaintext, b"value");
            assert_eq!(calls.count("Decrypt"), 1);
        }
        // A keyring of another key makes no call at all and fails opaquely.
        let third = keys(1);
        let (stranger, calls) = keyring(&[&third[0]]);
        let err = encryptor(&stranger, false)
            .decrypt(&msg, &scope)
            .unwrap_err();
        assert_eq!(err, EsdkError::Decrypt);
        assert_eq!(calls.count("Decrypt"), 0);
        // A key id that is not an ARN never matches an encrypted data key (the ESDK's strict rule).
        let key_id = arns[0].rsplit('/').next().unwrap().to_owned();
        let (by_id, calls) = keyring(&[&key_id]);
        let e = encryptor(&by_id, false);
        assert_eq!(e.decrypt(&msg, &scope).unwrap_err(), EsdkError::Decrypt);
        assert_eq!(calls.count("Decrypt"), 0);
        // ... but it encrypts, and the message names the key by its ARN.
        let mine = e.encrypt(&scope, b"x").unwrap();
        let parsed = message::parse(&mine, &Default::default()).unwrap();
        assert_eq!(parsed.header.edks[0].provider_info, arns[0].as_bytes());

        // One context: one GenerateDataKey per cache window, one Decrypt per encrypted data key.
        let (ring, calls) = keyring(&[&arns[0]]);
        let writer = encryptor(&ring, false);
        let msgs: Vec<Vec<u8>> = (0..20)
            .map(|i| writer.encrypt(&scope, format!("v{i}").as_bytes()).unwrap())
            .collect();
        assert_eq!(calls.count("GenerateDataKey"), 1);
        assert_eq!(calls.count("Encrypt"), 0);
        let (ring, calls) = keyring(&[&arns[0]]);
        let reader = encryptor(&ring, false);
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(
                &*reader.decrypt(m, &scope).unwrap().plaintext,
                format!("v{i}").as_bytes()
            );
        }
        assert_eq!(calls.count("Decrypt"), 1);
        // Row-bound cells: KMS binds each encrypted data key to its row, so one call per row.
        let (ring, calls) = keyring(&[&arns[0]]);
        let writer = encryptor(&ring, false);
        for row in ["1", "2", "1"] {
            let c = Context::new("users", "ssn").unwrap().with_row(row).unwrap();
            writer.encrypt_cell(&c, b"x").unwrap();
        }
        assert_eq!(calls.count("GenerateDataKey"), 2);
    }

    #[test]
    fn an_unreachable_kms_is_not_a_bad_message() {
        let arns = keys(1);
        let (ring, _) = keyring(&[&arns[0]]);
        let scope: EncryptionContext = [("tenant".to_owned(), "a".to_owned())].into();
        let msg = encryptor(&ring, false).encrypt(&scope, b"value").unwrap();
        // Nothing listens on port 9 of the loopback interface.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let base = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(REGION))
                .endpoint_url("http://127.0.0.1:9")
                .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .load(),
        );
        drop(runtime);
        let dead = AwsKmsKeyring::new(aws_sdk_kms::Client::new(&base), vec![arns[0].clone()]);
        let e = encryptor(&Arc::new(dead.unwrap()), false);
        let err = e.decrypt(&msg, &scope).unwrap_err();
        assert!(
            matches!(
                err,
                EsdkError::Cell(CellError::Provider(ProviderError::Kms { .. }))
            ),
            "{err:?}"
        );
    }

    #[test]
    fn cli_encrypts_and_decrypts_esdk_with_kms() {
        let arns = keys(1);
        let endpoint = moto_endpoint();
        let kms = [
            "--kms-key-id",
            &arns[0],
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint,
        ];
        let ctx = [
            "--format", "esdk", "--table", "users", "--column", "ssn", "--row", "7",
        ];
        let cli = |verb: &str, values: &[&str]| {
            let mut cmd = atrest();
            cmd.arg("cell").arg(verb).args(kms).args(ctx).args(values);
            cmd.stdin(Stdio::null());
            crate::support::run(&mut cmd)
        };
        let out = cli("encrypt", &["078-05-1120"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let sealed = stdout(&out).trim().to_owned();
        let out = cli("decrypt", &[&sealed]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), "078-05-1120\n");
        // Python reads what the command line wrote.
        use base64::Engine;
        let msg = base64::engine::general_purpose::STANDARD
            .decode(&sealed)
            .unwrap();
        let cell = Context::new("users", "ssn").unwrap().with_row("7").unwrap();
        let ec = cell_context(&cell).unwrap();
        let (plain, _) = python_kms("decrypt", &arns[0], &ec, 0x0478, &msg).unwrap();
        assert_eq!(plain, b"078-05-1120");
    }
}
