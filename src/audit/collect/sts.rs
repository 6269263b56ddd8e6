//! STS GetCallerIdentity: the audited account, its partition, and who read it.

use aws_config::SdkConfig;

use super::{ApiCalls, api_error};
use crate::audit::inventory::CollectError;

pub(crate) struct Identity {
    pub account: String,
    pub arn: Option<String>,
    pub partition: String,
}

pub(crate) async fn identity(
    config: &SdkConfig,
    region: &str,
    api: &ApiCalls,
) -> Result<Identity, CollectError> {
    let mut conf = aws_sdk_sts::config::Builder::from(config).interceptor(api.meter());
    conf.set_retry_partition(api.retry_partition("sts", region));
    let conf = conf.build();
    let client = aws_sdk_sts::Client::from_conf(conf);
    let out = api
        .run("sts", client.get_caller_identity().send())
        .await
        .map_err(|e| api_error(region, "sts", "GetCallerIdentity", &e))?;
    let account = out.account().unwrap_or_default().to_string();
    let partition = out
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string();
    Ok(Identity {
        account,
        arn: out.arn().map(str::to_string),
        partition,
    })
}
