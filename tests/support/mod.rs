//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod browser;
pub mod cli;
pub mod private_moto;
pub mod providers;
#[cfg(feature = "aws")]
pub mod seed;
#[cfg(feature = "aws")]
pub mod sent;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The local AWS endpoint (moto server on 127.0.0.1) started by `scripts/test.sh`.
/// Tests that need it fail loudly rather than skip.
pub fn moto_endpoint() -> String {
    match std::env::var("ATREST_TEST_ENDPOINT") {
        Ok(url) if url.starts_with("http://127.0.0.1:") => url,
        Ok(url) => {
            panic!("ATREST_TEST_ENDPOINT={url} is not a loopback URL; tests only talk to 127.0.0.1")
        }
        Err(_) => panic!(
            "this test needs the local AWS endpoint: run `scripts/test.sh`, or `eval \"$(scripts/moto-start.sh)\"` \
             and export ATREST_TEST_ENDPOINT before `cargo test`"
        ),
    }
}

/// A loopback port nothing listens on: where an AWS call goes when a test forgets to name the local endpoint.
pub const NOWHERE: &str = "http://127.0.0.1:9";

/// The built `atrest` binary, with an environment that can reach nothing but loopback: any AWS call a test does
/// not point at the local endpoint goes to a closed loopback port and fails at once.
pub fn atrest() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atrest"));
    cmd.env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", NOWHERE)
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "2")
        .env("NO_COLOR", "1");
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(output) => output,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs a future on a fresh current-thread runtime (test set-up code is synchronous).
#[cfg(feature = "aws")]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(f),
        Err(e) => panic!("cannot start a runtime: {e}"),
    }
}

/// SDK configuration for seeding the local AWS endpoint in `region`: fixed test credentials, no retries (the
/// endpoint answers at once or not at all).
#[cfg(feature = "aws")]
pub async fn moto_sdk_config(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(moto_endpoint())
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "atrest-tests",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// The exit status of an audit of the saved inventory at `path`: 4 (partial) when it records failed API calls,
/// else 0.
pub fn saved_audit_exit(path: &std::path::Path) -> i32 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match value["errors"].as_array() {
        Some(errors) if !errors.is_empty() => 4,
        _ => 0,
    }
}
