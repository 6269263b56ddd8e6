//! AWS Organizations, where the caller can read it: the account's organisation (DescribeOrganization), the path from
//! the root down to the account (ListParents), and the SCPs and RCPs attached at each level (ListPoliciesForTarget,
//! DescribePolicy). A member account can usually describe its organisation but not list its policies: what could not
//! be read stays `None` and its error is recorded.
//!
//! Auditing a whole organisation, the management account (or delegated administrator) that listed the accounts
//! reads this once for all of them ([`OrgReader`]): the members are never asked what they cannot answer, and a
//! level shared by many accounts (the root, an OU) is listed once per run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::ProvideErrorMetadata as _;
use aws_sdk_organizations::types::{ParentType, PolicyType};

use super::{ApiCalls, api_error};
use crate::audit::inventory::{CollectError, OrgDetails, OrgPolicy};

const SERVICE: &str = "organizations";
/// Organisations nest at most five OUs deep; a longer chain means a loop in the answers.
const MAX_DEPTH: usize = 8;

/// The organisation as its management account (or a delegated administrator) sees it, shared by every account of
/// an organisation-wide run. What was read is remembered for the run (a failed read is asked again).
#[derive(Clone, Debug)]
pub struct OrgReader {
    client: Client,
    known: Arc<Mutex<Known>>,
    /// Held by one account's read at a time, so that a level is asked for once, not by every account in flight
    /// (each read after the first costs one ListParents).
    turn: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Default)]
struct Known {
    organization: Option<aws_sdk_organizations::types::Organization>,
    /// Each child's parent, by id, and whether the parent is the root.
    parents: HashMap<String, (String, bool)>,
    /// The policies of a type attached to a target: (target, type) to (id, name) pairs.
    attached: HashMap<(String, String), Vec<(String, String)>>,
    /// Policy types the organisation has not enabled.
    not_enabled: Vec<String>,
    documents: HashMap<String, OrgPolicy>,
}

impl OrgReader {
    /// Reads with `config`'s credentials (the caller's), counted and limited like every call of the run.
    pub fn new(config: &SdkConfig, api: &ApiCalls) -> Self {
        OrgReader {
            client: client(config, api),
            known: Arc::default(),
            turn: Arc::default(),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn client(config: &SdkConfig, api: &ApiCalls) -> Client {
    let conf = aws_sdk_organizations::config::Builder::from(config)
        .interceptor(api.meter())
        .build();
    Client::from_conf(conf)
}

/// `None` when not even DescribeOrganization could be read. With `config`, the account's own credentials.
pub(crate) async fn collect(
    config: &SdkConfig,
    region: &str,
    api: &ApiCalls,
    account: Option<&str>,
    errors: &mut Vec<CollectError>,
) -> Option<OrgDetails> {
    collect_with(&OrgReader::new(config, api), region, api, account, errors).await
}

/// The same, through a reader that may already know parts of the organisation.
pub(crate) async fn collect_with(
    reader: &OrgReader,
    region: &str,
    api: &ApiCalls,
    account: Option<&str>,
    errors: &mut Vec<CollectError>,
) -> Option<OrgDetails> {
    let _turn = reader.turn.lock().await;
    let client = &reader.client;
    let known = reader.known().organization.clone();
    let answer = match known {
        Some(org) => Ok(Some(org)),
        None => api
            .run(SERVICE, client.describe_organization().send())
            .await
            .map(|out| out.organization().cloned()),
    };
    let org = match answer {
        Ok(Some(org)) => {
            reader.known().organization = Some(org.clone());
            Some(org)
        }
        Ok(None) => None,
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
    let path = match path_to_root(reader, api, region, account).await {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            return Some(details);
        }
    };
    details.scps = levels(
        reader,
        api,
        region,
        &path,
        PolicyType::ServiceControlPolicy,
        errors,
    )
    .await;
    details.rcps = levels(
        reader,
        api,
        region,
        &path,
        PolicyType::ResourceControlPolicy,
        errors,
    )
    .await;
    details.path = Some(path);
    Some(details)
}

/// The targets from the root down to the account, root first.
async fn path_to_root(
    reader: &OrgReader,
    api: &ApiCalls,
    region: &str,
    account: &str,
) -> Result<Vec<String>, CollectError> {
    let mut path = vec![account.to_string()];
    let mut child = account.to_string();
    for _ in 0..MAX_DEPTH {
        let known = reader.known().parents.get(&child).cloned();
        let (id, root) = match known {
            Some(known) => known,
            None => {
                let out = api
                    .run(
                        SERVICE,
                        reader.client.list_parents().child_id(&child).send(),
                    )
                    .await
                    .map_err(|e| api_error(region, SERVICE, "ListParents", &e))?;
                let Some(parent) = out.parents().first() else {
                    break;
                };
                let id = parent.id().unwrap_or_default().to_string();
                let root = parent.r#type() == Some(&ParentType::Root) || id.starts_with("r-");
                reader
                    .known()
                    .parents
                    .insert(child.clone(), (id.clone(), root));
                (id, root)
            }
        };
        path.push(id.clone());
        if root {
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
    reader: &OrgReader,
    api: &ApiCalls,
    region: &str,
    path: &[String],
    kind: PolicyType,
    errors: &mut Vec<CollectError>,
) -> Option<Vec<Vec<OrgPolicy>>> {
    if reader
        .known()
        .not_enabled
        .contains(&kind.as_str().to_string())
    {
        return Some(path.iter().map(|_| Vec::new()).collect());
    }
    let mut out = Vec::with_capacity(path.len());
    for target in path {
        let slot = (target.clone(), kind.as_str().to_string());
        let known = reader.known().attached.get(&slot).cloned();
        let ids = match known {
            Some(ids) => ids,
            None => match attached(reader, api, target, &kind).await {
                Ok(Some(ids)) => {
                    reader.known().attached.insert(slot, ids.clone());
                    ids
                }
                Ok(None) => {
                    reader.known().not_enabled.push(kind.as_str().to_string());
                    return Some(path.iter().map(|_| Vec::new()).collect());
                }
                Err(e) => {
                    errors.push(api_error(region, SERVICE, "ListPoliciesForTarget", &e));
                    return None;
                }
            },
        };
        let mut level = Vec::with_capacity(ids.len());
        for (id, name) in ids {
            let known = reader.known().documents.get(&id).cloned();
            if let Some(known) = known {
                level.push(known);
                continue;
            }
            match api
                .run(
                    SERVICE,
                    reader.client.describe_policy().policy_id(&id).send(),
                )
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
                    reader.known().documents.insert(id, policy.clone());
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

type ListPoliciesError = aws_sdk_organizations::error::SdkError<
    aws_sdk_organizations::operation::list_policies_for_target::ListPoliciesForTargetError,
>;

/// The (id, name) of every policy of `kind` attached to `target`; `None` if the type is not enabled.
async fn attached(
    reader: &OrgReader,
    api: &ApiCalls,
    target: &str,
    kind: &PolicyType,
) -> Result<Option<Vec<(String, String)>>, ListPoliciesError> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // 20 is the most a page may hold.
        let request = reader
            .client
            .list_policies_for_target()
            .target_id(target)
            .filter(kind.clone())
            .max_results(20)
            .set_next_token(token.take());
        let page = match api.run(SERVICE, request.send()).await {
            Ok(page) => page,
            Err(e) if e.code() == Some("PolicyTypeNotEnabledException") => return Ok(None),
            Err(e) => return Err(e),
        };
        ids.extend(page.policies().iter().filter_map(|p| {
            Some((
                p.id()?.to_string(),
                p.name().unwrap_or_default().to_string(),
            ))
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(Some(ids));
        }
    }
}
