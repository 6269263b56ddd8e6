//! Loading the AWS SDK configuration the way the AWS CLI does: `--profile`, `--region` and `--endpoint-url` flags
//! override the environment (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) and the
//! shared config files; credentials come from the default chain.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Connection settings shared by every AWS-facing command. Plain data: the CLI fills it from its flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsSetupError {
    #[error("`{0}` is not a valid endpoint URL")]
    BadEndpoint(String),
    #[error("no AWS region is set")]
    NoRegion,
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl crate::error::Help for AwsSetupError {
    fn help(&self) -> Option<String> {
        match self {
            AwsSetupError::BadEndpoint(_) => Some(
                "use a full URL such as `https://rds.us-east-1.amazonaws.com` or `http://127.0.0.1:5000`"
                    .into(),
            ),
            AwsSetupError::NoRegion => Some("set `AWS_REGION` or the profile's region".into()),
            AwsSetupError::Runtime(_) => None,
        }
    }

    fn is_usage(&self) -> bool {
        !matches!(self, AwsSetupError::Runtime(_))
    }
}

impl AwsSettings {
    /// Checks what can be checked before any network call.
    pub fn validate(&self) -> Result<(), AwsSetupError> {
        if let Some(url) = &self.endpoint_url {
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
            if !ok {
                return Err(AwsSetupError::BadEndpoint(url.clone()));
            }
        }
        Ok(())
    }

    /// Loads the SDK configuration. Fails when no region can be found, since every call here is regional.
    pub async fn load(&self) -> Result<SdkConfig, AwsSetupError> {
        self.validate()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(AwsSetupError::NoRegion);
        }
        Ok(adaptive_retries(config))
    }
}

/// The SDK's adaptive retry mode (standard retries plus a client-side rate limiter that slows down when throttled),
/// with the configured number of attempts, unless `AWS_RETRY_MODE` names a mode.
fn adaptive_retries(config: SdkConfig) -> SdkConfig {
    if std::env::var_os("AWS_RETRY_MODE").is_some() {
        return config;
    }
    let attempts = config.retry_config().map(|r| r.max_attempts()).unwrap_or(3);
    config
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::adaptive().with_max_attempts(attempts))
        .build()
}

/// Runs a future to completion on a fresh multi-threaded runtime (the CLI is synchronous at the top).
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, AwsSetupError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AwsSetupError::Runtime)?;
    Ok(runtime.block_on(future))
}

/// One line that says what went wrong with an AWS call: the service's error code and message, the HTTP status
/// of an answer that was not an AWS error (an endpoint that lacks the operation answers 500 with HTML), or why
/// the endpoint could not be reached.
pub fn sdk_error_summary<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> String {
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => {
                    let status = service.raw().status().as_u16();
                    if status >= 500 {
                        format!(
                            "HTTP {status} without an AWS error (the endpoint may not implement this operation)"
                        )
                    } else {
                        format!("HTTP {status} without an AWS error")
                    }
                }
            }
        }
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "connection failed"
            } else {
                "request not sent"
            };
            match failure.as_connector_error() {
                Some(connector) => format!("cannot reach the endpoint: {kind} ({connector})"),
                None => format!("cannot reach the endpoint: {kind}"),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_string(),
        SdkError::ResponseError(r) => {
            format!("unreadable response (HTTP {})", r.raw().status().as_u16())
        }
        SdkError::ConstructionFailure(_) => "the request could not be built".to_string(),
        _ => "unknown SDK error".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use aws_config::retry::{RetryConfig, RetryMode};

    use super::*;

    #[test]
    fn retries_are_adaptive_with_the_configured_attempts_unless_a_mode_is_named() {
        if std::env::var_os("AWS_RETRY_MODE").is_some() {
            return;
        }
        let config = SdkConfig::builder()
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .build();
        let retry = adaptive_retries(config).retry_config().cloned().unwrap();
        assert_eq!(retry.mode(), RetryMode::Adaptive);
        assert_eq!(retry.max_attempts(), 5);
    }
}
