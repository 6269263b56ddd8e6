//! Several accounts in one run: the organisation's accounts (Organizations ListAccounts, paginated, suspended ones
//! skipped), a role assumed in each through STS, and each account read like a single one, a few accounts at a time.
//!
//! The role's credentials come from aws-config's `AssumeRoleProvider` behind the SDK's identity cache, which
//! refreshes them before they expire, so a long run never calls with expired credentials. `AssumeRoleProvider`
//! cannot set a source identity; with `--source-identity` a provider of the same shape here calls AssumeRole with
//! `SourceIdentity` (which needs `sts:SetSourceIdentity` in the role's trust policy), behind the same cache.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use tokio::task::JoinSet;

pub use super::OrgReader;
use super::{ApiCalls, CollectOptions, NoProgress, Progress, api_error, collect_known, sts};
use crate::audit::clock::now_rfc3339;
use crate::audit::inventory::{CollectError, Inventory};

/// One account to audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    /// Its Organizations name, when the list came from the organisation.
    pub name: Option<String>,
}

/// The role assumed in every account.
#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    pub external_id: Option<String>,
    pub session_name: String,
    pub source_identity: Option<String>,
    /// How long each session lasts (STS `DurationSeconds`); `None` is the role's default of one hour. The
    /// identity cache asks for a new session 10 to 15 seconds before this runs out, however long the run.
    pub duration: Option<std::time::Duration>,
}

/// The caller's account and partition (STS GetCallerIdentity with the caller's own credentials).
pub async fn caller(config: &SdkConfig, api: &ApiCalls) -> Result<(String, String), CollectError> {
    let home = home(config);
    let id = sts::identity(config, &home, api).await?;
    Ok((id.account, id.partition))
}

/// Every account of the caller's organisation that is not suspended, by id. Only the management account or a
/// delegated administrator may list them.
pub async fn organization(config: &SdkConfig, api: &ApiCalls) -> Result<Vec<Target>, CollectError> {
    let home = home(config);
    let conf = aws_sdk_organizations::config::Builder::from(config)
        .interceptor(api.meter())
        .build();
    let client = aws_sdk_organizations::Client::from_conf(conf);
    api.run("organizations", list_accounts(&client, &home))
        .await
}

async fn list_accounts(
    client: &aws_sdk_organizations::Client,
    home: &str,
) -> Result<Vec<Target>, CollectError> {
    // 20 accounts a page, the most ListAccounts allows.
    let mut pages = client
        .list_accounts()
        .max_results(20)
        .into_paginator()
        .send();
    let mut targets = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error(home, "organizations", "ListAccounts", &e))?;
        for a in page.accounts() {
            let suspended = a.status().is_some_and(|s| s.as_str() == "SUSPENDED")
                || a.state().is_some_and(|s| {
                    matches!(s.as_str(), "SUSPENDED" | "PENDING_CLOSURE" | "CLOSED")
                });
            if let (false, Some(id)) = (suspended, a.id()) {
                targets.push(Target {
                    id: id.to_string(),
                    name: a.name().map(str::to_string),
                });
            }
        }
    }
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    targets.dedup_by(|a, b| a.id == b.id);
    Ok(targets)
}

fn home(config: &SdkConfig) -> String {
    config.region().map(|r| r.to_string()).unwrap_or_default()
}

/// The configuration whose calls land in `account` as `role`.
pub async fn assumed(base: &SdkConfig, partition: &str, account: &str, role: &Role) -> SdkConfig {
    let arn = format!("arn:{partition}:iam::{account}:role/{}", role.name);
    let provider = match &role.source_identity {
        None => {
            let mut builder = AssumeRoleProvider::builder(arn).session_name(&role.session_name);
            if let Some(id) = &role.external_id {
                builder = builder.external_id(id);
            }
            if let Some(duration) = role.duration {
                builder = builder.session_length(duration);
            }
            SharedCredentialsProvider::new(builder.configure(base).build().await)
        }
        Some(source) => SharedCredentialsProvider::new(source_identity_provider(
            base,
            arn,
            role.clone(),
            source.clone(),
        )),
    };
    base.to_builder().credentials_provider(provider).build()
}

/// AssumeRole with a source identity; the SDK's identity cache in front of it refreshes before expiry.
fn source_identity_provider(
    base: &SdkConfig,
    arn: String,
    role: Role,
    source: String,
) -> impl aws_credential_types::provider::ProvideCredentials + 'static {
    let client = aws_sdk_sts::Client::new(base);
    aws_credential_types::credential_fn::provide_credentials_fn(move || {
        let request = client
            .assume_role()
            .role_arn(arn.clone())
            .role_session_name(role.session_name.clone())
            .set_external_id(role.external_id.clone())
            .set_duration_seconds(role.duration.map(duration_seconds))
            .source_identity(source.clone());
        async move {
            let out = request
                .send()
                .await
                .map_err(CredentialsError::provider_error)?;
            let c = out.credentials().ok_or_else(|| {
                CredentialsError::unhandled("AssumeRole answered without credentials")
            })?;
            let expiry = std::time::SystemTime::try_from(*c.expiration()).ok();
            Ok(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_string()),
                expiry,
                "atrest-assume-role-source-identity",
            ))
        }
    })
}

/// STS takes whole seconds; a session is never asked to be shorter than what was configured.
fn duration_seconds(d: std::time::Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

/// Reads one account through the role. An account whose role cannot be assumed (or used) is one error and an
/// otherwise empty inventory: unread, never a pass.
pub async fn collect_account(
    base: &SdkConfig,
    partition: &str,
    target: &Target,
    role: &Role,
    options: &CollectOptions,
) -> Inventory {
    let home = home(base);
    let started = now_rfc3339();
    let config = assumed(base, partition, &target.id, role).await;
    let options = &CollectOptions {
        api: options.api.for_account(&target.id),
        ..options.clone()
    };
    let identity = match sts::identity(&config, &home, &options.api).await {
        Ok(id) => id,
        Err(e) => {
            return Inventory {
                started,
                finished: now_rfc3339(),
                errors: vec![CollectError {
                    account: Some(target.id.clone()),
                    region: home,
                    service: "sts".into(),
                    operation: "AssumeRole".into(),
                    message: format!(
                        "role `{}` could not be assumed or used ({} {}): {}",
                        role.name, e.service, e.operation, e.message
                    ),
                }],
                ..Inventory::default()
            };
        }
    };
    let mut inv = collect_known(&config, options, Arc::new(NoProgress), Ok(identity)).await;
    inv.started = started;
    if let Some(name) = &target.name {
        inv.account_name = Some(name.clone());
    }
    for e in &mut inv.errors {
        e.account = Some(target.id.clone());
    }
    inv
}

/// Reads every target, at most `in_flight` accounts at a time, and hands each inventory to `done` as soon as it is
/// read (in completion order), so that nothing but the accounts in flight is held.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the run; a struct would only rename them"
)]
pub async fn collect_accounts<F>(
    base: &SdkConfig,
    partition: &str,
    targets: Vec<Target>,
    role: &Role,
    options: &CollectOptions,
    in_flight: usize,
    progress: Arc<dyn Progress>,
    mut done: F,
) where
    F: FnMut(Target, Inventory),
{
    progress.add(targets.len());
    let mut queue = targets.into_iter();
    let mut tasks: JoinSet<(Target, Inventory)> = JoinSet::new();
    let mut names = std::collections::HashMap::new();
    for target in queue.by_ref().take(in_flight.max(1)) {
        let id = spawn_one(&mut tasks, base, partition, role, options, target.clone());
        names.insert(id, target);
    }
    while let Some(joined) = tasks.join_next_with_id().await {
        let (target, inv) = match joined {
            Ok((_, pair)) => pair,
            Err(e) => {
                let target = names.get(&e.id()).cloned().unwrap_or(Target {
                    id: String::new(),
                    name: None,
                });
                let inv = Inventory {
                    errors: vec![CollectError {
                        account: Some(target.id.clone()),
                        region: home(base),
                        service: "atrest".into(),
                        operation: "collect".into(),
                        message: format!("the account's collection stopped: {e}"),
                    }],
                    ..Inventory::default()
                };
                (target, inv)
            }
        };
        progress.done(&target.id);
        done(target, inv);
        if let Some(next) = queue.next() {
            let id = spawn_one(&mut tasks, base, partition, role, options, next.clone());
            names.insert(id, next);
        }
    }
}

fn spawn_one(
    tasks: &mut JoinSet<(Target, Inventory)>,
    base: &SdkConfig,
    partition: &str,
    role: &Role,
    options: &CollectOptions,
    target: Target,
) -> tokio::task::Id {
    let (base, partition, role, options) = (
        base.clone(),
        partition.to_string(),
        role.clone(),
        options.clone(),
    );
    tasks
        .spawn(async move {
            let inv = collect_account(&base, &partition, &target, &role, &options).await;
            (target, inv)
        })
        .id()
}
