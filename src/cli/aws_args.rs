use clap::Args;

/// The connection flags every AWS-facing command shares. Like the AWS CLI, a flag beats the environment
/// (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), which beats the config files.
#[derive(Args, Clone, Debug, Default)]
pub struct AwsArgs {
    /// Named profile from the shared AWS config and credentials files
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS Region to call (default: from the environment or the profile)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this URL instead of the public endpoints (as the AWS CLI's --endpoint-url)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[cfg(feature = "aws")]
impl AwsArgs {
    pub fn settings(&self) -> crate::aws::AwsSettings {
        crate::aws::AwsSettings {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}
