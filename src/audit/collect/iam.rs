//! IAM: the account's users, groups and roles with their inline and attached managed policies, group membership and
//! permissions boundaries, and the managed policies' default versions (GetAccountAuthorizationDetails, paginated).
//! IAM is global: one call set per account, from the home region.

use aws_config::SdkConfig;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail};

use super::{ApiCalls, api_error};
use crate::audit::inventory::{
    CollectError, IamDetails, IamGroup, IamInlinePolicy, IamManagedPolicy, IamPrincipal,
};

const SERVICE: &str = "iam";
const OPERATION: &str = "GetAccountAuthorizationDetails";

/// Every page of GetAccountAuthorizationDetails; `Err` when any page failed (a partial listing is not kept: a
/// principal missing from it would look like one without access).
pub(crate) async fn collect(
    config: &SdkConfig,
    region: &str,
    api: &ApiCalls,
) -> Result<IamDetails, CollectError> {
    api.run(SERVICE, read(&client(config, api), region)).await
}

fn client(config: &SdkConfig, api: &ApiCalls) -> Client {
    let mut conf = aws_sdk_iam::config::Builder::from(config).interceptor(api.meter());
    conf.set_retry_partition(api.retry_partition(SERVICE, "global"));
    let conf = conf.build();
    Client::from_conf(conf)
}

async fn read(client: &Client, region: &str) -> Result<IamDetails, CollectError> {
    let mut details = IamDetails::default();
    // 1,000 is the most a page may hold (the default is 100).
    let mut pages = client
        .get_account_authorization_details()
        .max_items(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error(region, SERVICE, OPERATION, &e))?;
        for u in page.user_detail_list() {
            details.users.push(IamPrincipal {
                arn: u.arn().unwrap_or_default().to_string(),
                name: u.user_name().unwrap_or_default().to_string(),
                inline_policies: inline(u.user_policy_list()),
                attached_policies: attached(u.attached_managed_policies()),
                groups: u.group_list().to_vec(),
                permissions_boundary: u
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
            });
        }
        for r in page.role_detail_list() {
            details.roles.push(IamPrincipal {
                arn: r.arn().unwrap_or_default().to_string(),
                name: r.role_name().unwrap_or_default().to_string(),
                inline_policies: inline(r.role_policy_list()),
                attached_policies: attached(r.attached_managed_policies()),
                groups: Vec::new(),
                permissions_boundary: r
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
            });
        }
        for g in page.group_detail_list() {
            details.groups.push(IamGroup {
                arn: g.arn().unwrap_or_default().to_string(),
                name: g.group_name().unwrap_or_default().to_string(),
                inline_policies: inline(g.group_policy_list()),
                attached_policies: attached(g.attached_managed_policies()),
            });
        }
        for p in page.policies() {
            let default = p
                .policy_version_list()
                .iter()
                .find(|v| v.is_default_version())
                .or_else(|| p.policy_version_list().first());
            details.policies.push(IamManagedPolicy {
                arn: p.arn().unwrap_or_default().to_string(),
                // Some endpoints leave the name out; it is the ARN's last segment.
                name: p
                    .policy_name()
                    .or_else(|| p.arn().and_then(|a| a.rsplit('/').next()))
                    .unwrap_or_default()
                    .to_string(),
                document: default.and_then(|v| v.document()).map(decode_document),
            });
        }
    }
    details.users.sort_by(|a, b| a.arn.cmp(&b.arn));
    details.roles.sort_by(|a, b| a.arn.cmp(&b.arn));
    details.groups.sort_by(|a, b| a.arn.cmp(&b.arn));
    details.policies.sort_by(|a, b| a.arn.cmp(&b.arn));
    details.policies.dedup_by(|a, b| a.arn == b.arn);
    Ok(details)
}

fn inline(list: &[PolicyDetail]) -> Vec<IamInlinePolicy> {
    list.iter()
        .map(|p| IamInlinePolicy {
            name: p.policy_name().unwrap_or_default().to_string(),
            document: p.policy_document().map(decode_document).unwrap_or_default(),
        })
        .collect()
}

fn attached(list: &[AttachedPolicy]) -> Vec<String> {
    list.iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

/// IAM returns policy documents URL-encoded (RFC 3986); a document that already reads as JSON is kept as it is.
pub(crate) fn decode_document(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'%' if i + 2 < bytes.len() => {
                match bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The account's IAM alias (ListAccountAliases: an account has at most one), `None` when it has none.
pub(crate) async fn alias(
    config: &SdkConfig,
    region: &str,
    api: &ApiCalls,
) -> Result<Option<String>, CollectError> {
    let out = api
        .run(SERVICE, client(config, api).list_account_aliases().send())
        .await
        .map_err(|e| api_error(region, SERVICE, "ListAccountAliases", &e))?;
    Ok(out.account_aliases().first().cloned())
}

#[cfg(test)]
mod tests {
    use super::decode_document;

    #[test]
    fn documents_are_url_decoded_once() {
        assert_eq!(
            decode_document("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(decode_document(r#"{"a":"50%"}"#), r#"{"a":"50%"}"#);
        assert_eq!(decode_document("%7B%2"), "{%2");
    }
}
