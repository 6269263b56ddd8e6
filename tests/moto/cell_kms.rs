//! The KMS key provider against the local AWS endpoint (moto server), in its own region (eu-west-3): data keys from
//! GenerateDataKey and Decrypt with the encryption context, calls counted on the wire, rotation, and the CLI.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::sync::Arc;

use crate::support::sent::Sent;
use crate::support::{atrest, moto_endpoint, stderr, stdout};
use atrest::cell::{
    CacheLimits, CellEncryptor, CellError, Context, KeyFileProvider, KeyProvider, Keyring,
    KmsProvider, KmsSetupError, ProviderError,
};
use aws_config::BehaviorVersion;
use aws_sdk_kms::config::{Credentials, Region};

const REGION: &str = "eu-west-3";

/// A fresh SDK configuration (its own connection pool) for the local endpoint.
fn sdk_config(runtime: &tokio::runtime::Runtime) -> aws_config::SdkConfig {
    runtime.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(moto_endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load(),
    )
}

struct Setup {
    _runtime: tokio::runtime::Runtime,
    keys: Vec<String>,
}

/// Creates `n` KMS keys in the test region.
fn setup(n: usize) -> Setup {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = aws_sdk_kms::Client::new(&sdk_config(&runtime));
    let keys = (0..n)
        .map(|_| {
            let out = runtime
                .block_on(client.create_key().description("atrest cell test").send())
                .unwrap();
            out.key_metadata.unwrap().arn.unwrap()
        })
        .collect();
    Setup {
        _runtime: runtime,
        keys,
    }
}

/// A provider whose client counts its calls; its configuration is loaded on a runtime of its own.
fn provider(key: &str) -> (Arc<KmsProvider>, Sent) {
    let calls = Sent::kms_operations();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = sdk_config(&runtime);
    drop(runtime);
    let config = aws_sdk_kms::config::Builder::from(&base)
        .interceptor(calls.clone())
        .build();
    let provider = KmsProvider::new(aws_sdk_kms::Client::from_conf(config), key).unwrap();
    (Arc::new(provider), calls)
}

#[test]
fn generate_and_decrypt_carry_the_encryption_context() {
    let s = setup(1);
    let (kms, calls) = provider(&s.keys[0]);
    let ssn = Context::new("users", "ssn").unwrap();
    let generated = kms.generate(&ssn.scope()).unwrap();
    assert_eq!(
        kms.unwrap_key(&generated.wrapped, &ssn.scope())
            .unwrap()
            .expose(),
        generated.plaintext.expose()
    );
    let phone = Context::new("users", "phone").unwrap();
    assert_eq!(
        kms.unwrap_key(&generated.wrapped, &phone.scope())
            .unwrap_err(),
        ProviderError::Rejected
    );
    assert_eq!(calls.count("GenerateDataKey"), 1);
    assert_eq!(calls.count("Decrypt"), 2);
}

#[test]
fn cells_round_trip_and_kms_refuses_another_column() {
    let s = setup(1);
    let (kms, _) = provider(&s.keys[0]);
    let cells = CellEncryptor::builder(kms.clone()).build().unwrap();
    let ctx = Context::new("users", "ssn").unwrap().with_row("1").unwrap();
    let sealed = cells.encrypt(&ctx, b"078-05-1120").unwrap();
    // A new encryptor has no cached key: Decrypt goes to KMS.
    let reader = CellEncryptor::builder(kms).build().unwrap();
    assert_eq!(reader.decrypt(&ctx, &sealed).unwrap(), b"078-05-1120");
    let other = Context::new("users", "phone")
        .unwrap()
        .with_row("1")
        .unwrap();
    assert_eq!(
        reader.decrypt(&other, &sealed).unwrap_err(),
        CellError::Decrypt
    );
}

/// N = 1,000 cells, message limit L = 100: at most ceil(N / L) = 10 GenerateDataKey calls on the wire.
#[test]
fn generate_data_key_calls_stay_within_ceil_n_over_l() {
    const N: usize = 1000;
    const L: u64 = 100;
    let s = setup(1);
    let (kms, calls) = provider(&s.keys[0]);
    let cells = CellEncryptor::builder(kms)
        .limits(CacheLimits {
            max_messages: L,
            ..CacheLimits::default()
        })
        .keyring(Arc::new(Keyring::in_memory()))
        .build()
        .unwrap();
    let rows: Vec<Context> = (0..N)
        .map(|i| {
            Context::new("users", "ssn")
                .unwrap()
                .with_row(i.to_string())
                .unwrap()
        })
        .collect();
    for chunk in rows.chunks(64) {
        let batch: Vec<(&Context, &[u8])> = chunk.iter().map(|c| (c, b"v".as_slice())).collect();
        cells.encrypt_batch(&batch).unwrap();
    }
    for row in &rows[..7] {
        cells.encrypt(row, b"single").unwrap();
    }
    let total = N + 7;
    assert!(
        calls.count("GenerateDataKey") <= total.div_ceil(L as usize),
        "{:?}",
        calls.len()
    );
    assert_eq!(calls.count("GenerateDataKey"), total.div_ceil(L as usize));
    assert_eq!(calls.count("Decrypt"), 0);
}

#[test]
fn rewrap_from_one_kms_key_to_another_and_to_a_key_file() {
    let s = setup(2);
    let (old, _) = provider(&s.keys[0]);
    let (new, _) = provider(&s.keys[1]);
    let keyring = Arc::new(Keyring::in_memory());
    let cells = CellEncryptor::builder(old.clone())
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let ctx = Context::new("users", "ssn").unwrap().with_row("9").unwrap();
    let sealed = cells.encrypt(&ctx, b"v").unwrap();
    assert_eq!(keyring.rewrap(old.as_ref(), new.as_ref()).unwrap(), 1);
    let reader = CellEncryptor::builder(new.clone())
        .keyring(keyring.clone())
        .build()
        .unwrap();
    assert_eq!(reader.decrypt(&ctx, &sealed).unwrap(), b"v");
    let file = Arc::new(KeyFileProvider::ephemeral().unwrap());
    assert_eq!(keyring.rewrap(new.as_ref(), file.as_ref()).unwrap(), 1);
    let offline = CellEncryptor::builder(file)
        .keyring(keyring)
        .build()
        .unwrap();
    assert_eq!(offline.decrypt(&ctx, &sealed).unwrap(), b"v");

    let sc = CellEncryptor::builder(old.clone()).build().unwrap();
    let value = sc.encrypt(&ctx, b"w").unwrap();
    let moved = sc.rewrap_value(&ctx, &value, new.as_ref()).unwrap();
    assert_eq!(
        CellEncryptor::builder(new)
            .build()
            .unwrap()
            .decrypt(&ctx, &moved)
            .unwrap(),
        b"w"
    );
}

#[test]
fn the_provider_refuses_to_block_inside_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = sdk_config(&runtime);
    let made =
        runtime.block_on(async { KmsProvider::new(aws_sdk_kms::Client::new(&config), "alias/x") });
    assert!(matches!(made, Err(KmsSetupError::InsideRuntime)));
    assert!(matches!(
        KmsProvider::new(aws_sdk_kms::Client::new(&config), ""),
        Err(KmsSetupError::EmptyKeyId)
    ));
}

fn cli(args: &[&str]) -> std::process::Command {
    let mut cmd = atrest();
    cmd.arg("cell").args(args).stdin(Stdio::null());
    cmd
}

#[test]
fn cli_encrypts_and_decrypts_with_kms() {
    let s = setup(1);
    let endpoint = moto_endpoint();
    let kms = [
        "--kms-key-id",
        &s.keys[0],
        "--region",
        REGION,
        "--endpoint-url",
        &endpoint,
    ];
    let ctx = ["--table", "users", "--column", "ssn", "--row", "5"];
    let out = crate::support::run(
        cli(&["encrypt"])
            .args(kms)
            .args(ctx)
            .args(["078-05-1120", "219-09-9999"]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let out = crate::support::run(cli(&["decrypt"]).args(kms).args(ctx).args(&lines));
    assert_eq!(
        stdout(&out),
        "078-05-1120\n219-09-9999\n",
        "{}",
        stderr(&out)
    );

    // KMS cannot be reached: the data key cannot be unwrapped (not a decryption failure).
    let down = [
        "--kms-key-id",
        &s.keys[0],
        "--region",
        REGION,
        "--endpoint-url",
        "http://127.0.0.1:9",
    ];
    let out = crate::support::run(cli(&["decrypt"]).args(down).args(ctx).arg(&lines[0]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let (message, help) = err.split_once('\n').unwrap();
    assert!(
        message.starts_with("error: cannot unwrap the data key of value 1: KMS Decrypt: "),
        "{err}"
    );
    assert_eq!(
        help,
        "  help: check the key id, `--region` and the credentials\n"
    );
}

#[test]
fn cli_kms_errors() {
    let s = setup(1);
    let endpoint = moto_endpoint();
    let ctx = ["--table", "users", "--column", "ssn", "v"];
    let out = crate::support::run(
        cli(&[
            "encrypt",
            "--kms-key-id",
            &s.keys[0],
            "--endpoint-url",
            &endpoint,
        ])
        .args(ctx)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // The set-up error carries its hint on the help line.
    assert!(
        stderr(&out).contains("no AWS region is set\n  help: pass `--region REGION`"),
        "{}",
        stderr(&out)
    );

    let out = crate::support::run(
        cli(&[
            "encrypt",
            "--kms-key-id",
            &s.keys[0],
            "--region",
            REGION,
            "--endpoint-url",
            "localhost",
        ])
        .args(ctx),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .starts_with("error: `localhost` is not a valid endpoint URL\n  help: pass a full URL"),
        "{}",
        stderr(&out)
    );

    let out = crate::support::run(
        cli(&[
            "encrypt",
            "--kms-key-id",
            "",
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint,
        ])
        .args(ctx),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: the KMS key id is empty\n  help: pass a key ARN, key id or alias\n"
    );

    let missing = "arn:aws:kms:eu-west-3:123456789012:key/00000000-0000-0000-0000-000000000000";
    let out = crate::support::run(
        cli(&[
            "encrypt",
            "--kms-key-id",
            missing,
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint,
        ])
        .args(ctx),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .starts_with("error: cannot get a data key for values 1 to 1: KMS GenerateDataKey"),
        "{}",
        stderr(&out)
    );

    let out = crate::support::run(
        cli(&[
            "encrypt",
            "--kms-key-id",
            &s.keys[0],
            "--region",
            REGION,
            "--endpoint-url",
            &endpoint,
            "--blind-index",
        ])
        .args(ctx),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: `--blind-index` with `--kms-key-id` needs `--keyring FILE` to hold the index key\n  \
         help: pass `--keyring FILE`, or use `--key-file FILE`, whose key also derives blind indexes\n"
    );

    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring.json");
    let kms = [
        "--kms-key-id",
        s.keys[0].as_str(),
        "--region",
        REGION,
        "--endpoint-url",
        endpoint.as_str(),
    ];
    let out = crate::support::run(
        cli(&[
            "encrypt",
            "--keyring",
            ring.to_str().unwrap(),
            "--blind-index",
        ])
        .args(kms)
        .args(ctx),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&ring).unwrap();
    assert!(
        text.contains("\"provider\": \"aws-kms\"") && text.contains("blind-index"),
        "{text}"
    );
}
