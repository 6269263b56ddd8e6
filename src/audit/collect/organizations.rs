//! AWS Organizations, where the caller can read it: the account's organisation (DescribeOrganization), the path from
//! the root down to the account (ListParents), and the SCPs and RCPs attached at each level (ListPoliciesForTarget,
//! DescribePolicy). A member account can usually describe its organisation but not list its policies: what could not
//! be read stays `None` and its error is recorded.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::ProvideErrorMetadata as _;
use aws_sdk_organizations::types::{ParentType, PolicyType};

use super::{ApiCalls, api_error};
use crate::audit::inventory::{CollectError, OrgDetails, OrgPolicy};

const SERVICE: &str = "organizations";
/// Organisations nest at most five OUs deep; a longer chain means a loop in the answers.
const MAX_DEPTH: usize = 8;

/// `None` when not even DescribeOrganization could be read.
pub(crate) async fn collect(
    config: &SdkConfig,
    region: &str,
    api: &ApiCalls,
    account: Option<&str>,
    errors: &mut Vec<CollectError>,
) -> Option<OrgDetails> {
    let conf = aws_sdk_organizations::config::Builder::from(config)
        .interceptor(api.meter())
        .build();
    let client = Client::from_conf(conf);
    let org = match api
        .run(SERVICE, client.describe_organization().send())
        .await
    {
        Ok(out) => out.organization().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) =>
        {
            return Some(OrgDetails::default());
        }
        Err(e) => {
            errors.push(api_error(region, SERVICE, "DescribeOrganization", &e));
            return None;
        }
    };
    let org = org?;
    let mut details = OrgDetails {
        id: org.id().map(str::to_string),
        management_account: org.master_account_id().map(str::to_string),
        ..OrgDetails::default()
    };
    let Some(account) = account else {
        return Some(details);
    };
    let path = match path_to_root(&client, api, region, account).await {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            return Some(details);
        }
    };
    let mut documents: HashMap<String, OrgPolicy> = HashMap::new();
    details.scps = levels(
        &client,
        api,
        region,
        &path,
        PolicyType::ServiceControlPolicy,
        &mut documents,
        errors,
    )
    .await;
    details.rcps = levels(
        &client,
        api,
        region,
        &path,
        PolicyType::ResourceControlPolicy,
        &mut documents,
        errors,
    )
    .await;
    details.path = Some(path);
    Some(details)
}

/// The targets from the root down to the account, root first.
async fn path_to_root(
    client: &Client,
    api: &ApiCalls,
    region: &str,
    account: &str,
) -> Result<Vec<String>, CollectError> {
    let mut path = vec![account.to_string()];
    let mut child = account.to_string();
    for _ in 0..MAX_DEPTH {
        let out = api
            .run(SERVICE, client.list_parents().child_id(&child).send())
            .await
            .map_err(|e| api_error(region, SERVICE, "ListParents", &e))?;
        let Some(parent) = out.parents().first() else {
            break;
        };
        let id = parent.id().unwrap_or_default().to_string();
        path.push(id.clone());
        if parent.r#type() == Some(&ParentType::Root) || id.starts_with("r-") {
            break;
        }
        child = id;
    }
    path.reverse();
    Ok(path)
}

/// The policies of one type at each level of `path`; `None` when a listing failed. A policy type the organisation
/// has not enabled answers with no policies (or `PolicyTypeNotEnabledException`): every level is then empty.
async fn levels(
    client: &Client,
    api: &ApiCalls,
    region: &str,
    path: &[String],
    kind: PolicyType,
    documents: &mut HashMap<String, OrgPolicy>,
    errors: &mut Vec<CollectError>,
) -> Option<Vec<Vec<OrgPolicy>>> {
    let mut out = Vec::with_capacity(path.len());
    for target in path {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // 20 is the most a page may hold.
            let request = client
                .list_policies_for_target()
                .target_id(target)
                .filter(kind.clone())
                .max_results(20)
                .set_next_token(token.take());
            let answer = api.run(SERVICE, request.send()).await;
            let page = match answer {
                Ok(page) => page,
                Err(e) if e.code() == Some("PolicyTypeNotEnabledException") => {
                    return Some(path.iter().map(|_| Vec::new()).collect());
                }
                Err(e) => {
                    errors.push(api_error(region, SERVICE, "ListPoliciesForTarget", &e));
                    return None;
                }
            };
            ids.extend(page.policies().iter().filter_map(|p| {
                Some((
                    p.id()?.to_string(),
                    p.name().unwrap_or_default().to_string(),
                ))
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut level = Vec::with_capacity(ids.len());
        for (id, name) in ids {
            if let Some(known) = documents.get(&id) {
                level.push(known.clone());
                continue;
            }
            match api
                .run(SERVICE, client.describe_policy().policy_id(&id).send())
                .await
            {
                Ok(answer) => {
                    let policy = OrgPolicy {
                        id: id.clone(),
                        name,
                        document: answer
                            .policy()
                            .and_then(|p| p.content())
                            .unwrap_or_default()
                            .to_string(),
                    };
                    documents.insert(id, policy.clone());
                    level.push(policy);
                }
                Err(e) => {
                    errors.push(api_error(region, SERVICE, "DescribePolicy", &e));
                    return None;
                }
            }
        }
        out.push(level);
    }
    Some(out)
}
