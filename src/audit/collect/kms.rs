//! KMS: the account's keys (ListKeys, ListAliases, DescribeKey) with their rotation status and key policy, plus
//! any other key an encrypted resource refers to (by id, alias or ARN; DescribeKey resolves every form). Each key is
//! described once per run. An AWS managed key (ListAliases names it `alias/aws/…`) that no resource uses is not
//! read at all, and an AWS managed key's policy only when a resource uses it: the policy checks judge customer
//! managed keys, and the access analysis only the keys behind resources.

use aws_config::SdkConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::Region;
use aws_sdk_kms::types::KeyMetadata;

use super::{ApiCalls, Ctx, api_error, bounded, drain, timestamp};
use crate::audit::inventory::{CollectError, Inventory, KeyRef, KmsGrant, KmsKey, account_of};

const SERVICE: &str = "kms";

fn client(config: &SdkConfig, region: &str, api: &ApiCalls) -> Client {
    let mut conf = aws_sdk_kms::config::Builder::from(config)
        .region(Region::new(region.to_string()))
        .interceptor(api.meter());
    conf.set_retry_partition(api.retry_partition(SERVICE, region));
    let conf = conf.build();
    Client::from_conf(conf)
}

/// `references` are (resource region, key reference) pairs from the encrypted resources of every region read.
pub(crate) async fn collect(ctx: &Ctx, region: &str, references: &[(String, String)]) -> Inventory {
    let client = client(&ctx.config, region, &ctx.api);
    let api = &ctx.api;
    let mut part = Inventory::default();
    let (mut e1, mut e2) = (Vec::new(), Vec::new());
    // The largest pages each listing allows: 100 aliases, 1,000 keys.
    let (aliases, keys) = tokio::join!(
        api.run(SERVICE, async {
            drain!(
                client
                    .list_aliases()
                    .limit(100)
                    .into_paginator()
                    .items()
                    .send(),
                e1,
                region,
                SERVICE,
                "ListAliases"
            )
        }),
        api.run(SERVICE, async {
            drain!(
                client
                    .list_keys()
                    .limit(1000)
                    .into_paginator()
                    .items()
                    .send(),
                e2,
                region,
                SERVICE,
                "ListKeys"
            )
        }),
    );
    part.errors.extend(e1.into_iter().chain(e2));
    let aliases: Vec<(String, String)> = aliases
        .iter()
        .filter_map(|a| Some((a.alias_name()?.to_string(), a.target_key_id()?.to_string())))
        .collect();

    let listed = listed_keys(ctx, region, &keys, &aliases);
    let jobs: Vec<(String, Vec<String>, Use)> = listed
        .kms_keys
        .iter()
        .filter_map(|k| {
            let used = references.iter().any(|(resource_region, reference)| {
                listed
                    .resolve_key(resource_region, reference)
                    .is_some_and(|r| r.key_id == k.key_id)
            });
            // An AWS managed key (its reserved alias says so) that no resource uses is outside every check.
            if !used && k.aliases.iter().any(|a| a.starts_with("alias/aws/")) {
                return None;
            }
            let usage = if used { Use::Used } else { Use::Unknown };
            Some((k.key_id.clone(), k.aliases.clone(), usage))
        })
        .collect();
    let (described, errors) = bounded(
        jobs,
        ctx.calls,
        (region, SERVICE, "DescribeKey"),
        |(id, names, usage)| {
            let (client, region) = (client.clone(), region.to_string());
            let (api, account) = (ctx.api.clone(), ctx.account.clone());
            async move {
                describe(
                    &client,
                    &api,
                    &region,
                    account.as_deref(),
                    &id,
                    names,
                    usage,
                )
                .await
            }
        },
    )
    .await;
    part.errors.extend(errors);
    for (key, errors) in described {
        part.kms_keys.extend(key);
        part.errors.extend(errors);
    }

    // Keys the region's resources use that ListKeys did not return (other accounts, or reached only by alias).
    for (resource_region, reference) in references {
        let (resource_region, reference) = (resource_region.as_str(), reference.as_str());
        let Some(parsed) = KeyRef::parse(reference) else {
            continue;
        };
        let key_region = parsed.region(resource_region).to_string();
        if key_region != region && ctx.regions.contains(&key_region) {
            continue; // that region's own pass reads it
        }
        if resolves(&mut part, &ctx.account, resource_region, reference) {
            continue;
        }
        if key_region != region && !ctx.first_describe(&key_region, reference) {
            continue; // another region's resources named it the same way: that pass describes it
        }
        let alias = match parsed {
            // DescribeKey on a reserved alias whose AWS managed key does not exist yet creates that key: a read-only
            // audit must not, so such a reference stays unresolved (the key does not exist).
            KeyRef::Alias(a) | KeyRef::AliasArn { alias: a, .. } if a.starts_with("alias/aws/") => {
                continue;
            }
            KeyRef::Alias(a) | KeyRef::AliasArn { alias: a, .. } => vec![a.to_string()],
            _ => Vec::new(),
        };
        let other = if key_region == region {
            client.clone()
        } else {
            self::client(&ctx.config, &key_region, api)
        };
        let (key, errors) = describe(
            &other,
            api,
            &key_region,
            ctx.account.as_deref(),
            reference,
            alias,
            Use::Used,
        )
        .await;
        part.errors.extend(errors);
        if let Some(key) = key {
            match part.kms_keys.iter_mut().find(|k| k.arn == key.arn) {
                Some(known) => known.aliases.extend(key.aliases),
                None => part.kms_keys.push(key),
            }
        }
    }
    part
}

/// The keys ListKeys returned, with their aliases: enough to tell which of them the region's resources name.
fn listed_keys(
    ctx: &Ctx,
    region: &str,
    keys: &[aws_sdk_kms::types::KeyListEntry],
    aliases: &[(String, String)],
) -> Inventory {
    let kms_keys = keys
        .iter()
        .filter_map(|k| {
            let id = k.key_id()?;
            Some(KmsKey {
                key_id: id.to_string(),
                arn: k.key_arn().unwrap_or_default().to_string(),
                region: region.to_string(),
                aliases: aliases
                    .iter()
                    .filter(|(_, target)| target == id)
                    .map(|(name, _)| name.clone())
                    .collect(),
                ..KmsKey::default()
            })
        })
        .collect();
    Inventory {
        account: ctx.account.clone(),
        kms_keys,
        ..Inventory::default()
    }
}

/// Whether a resource is known to use the key being described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Used,
    Unknown,
}

async fn key_policy(
    client: &Client,
    api: &ApiCalls,
    region: &str,
    key_id: &str,
) -> Result<Option<String>, CollectError> {
    let request = client
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default");
    api.run(SERVICE, request.send())
        .await
        .map(|out| out.policy().map(str::to_string))
        .map_err(|e| api_error(region, SERVICE, "GetKeyPolicy", &e))
}

/// Whether `reference` already resolves among the keys read so far.
fn resolves(part: &mut Inventory, account: &Option<String>, region: &str, reference: &str) -> bool {
    part.account = account.clone();
    let found = part.resolve_key(region, reference).is_some();
    part.account = None;
    found
}

/// DescribeKey, then the grants (own keys), the key policy (own customer managed keys) and the rotation status
/// (keys that can rotate). A key that does not exist is `None` without an error: it is an unknown key, reported by
/// the checks.
async fn describe(
    client: &Client,
    api: &ApiCalls,
    region: &str,
    account: Option<&str>,
    key: &str,
    aliases: Vec<String>,
    usage: Use,
) -> (Option<KmsKey>, Vec<CollectError>) {
    let mut errors = Vec::new();
    let metadata = match api
        .run(SERVICE, client.describe_key().key_id(key).send())
        .await
    {
        Ok(out) => match out.key_metadata() {
            Some(m) => m.clone(),
            None => return (None, errors),
        },
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            return (None, errors);
        }
        Err(e) => {
            errors.push(api_error(region, SERVICE, "DescribeKey", &e));
            return (None, errors);
        }
    };
    let mut k = from_metadata(&metadata, region, aliases);
    let own = account.is_none() || account_of(&k.arn) == account;
    // An AWS managed key's policy (`kms:ViaService` + `kms:CallerAccount`) matters only to the access analysis of
    // the resources that use it.
    if own && (k.is_customer_managed() || usage == Use::Used) {
        match key_policy(client, api, region, &k.key_id).await {
            Ok(policy) => k.policy = policy,
            Err(e) => errors.push(e),
        }
    }
    if own {
        k.grants = grants(client, api, region, &k.key_id, &mut errors).await;
    }
    let readable_state = !matches!(
        k.state(),
        "PendingDeletion" | "PendingImport" | "Unavailable"
    );
    if own && k.can_rotate_automatically() && readable_state {
        let request = client.get_key_rotation_status().key_id(&k.key_id);
        match api.run(SERVICE, request.send()).await {
            Ok(out) => k.rotation_enabled = Some(out.key_rotation_enabled()),
            Err(e) => errors.push(api_error(region, SERVICE, "GetKeyRotationStatus", &e)),
        }
    }
    (Some(k), errors)
}

/// Every grant on the key (ListGrants, paginated); `None` when the listing failed part-way or at once.
async fn grants(
    client: &Client,
    api: &ApiCalls,
    region: &str,
    key_id: &str,
    errors: &mut Vec<CollectError>,
) -> Option<Vec<KmsGrant>> {
    let before = errors.len();
    // 100 grants a page, the most ListGrants allows.
    let entries = api
        .run(SERVICE, async {
            drain!(
                client
                    .list_grants()
                    .key_id(key_id)
                    .limit(100)
                    .into_paginator()
                    .items()
                    .send(),
                errors,
                region,
                SERVICE,
                "ListGrants"
            )
        })
        .await;
    if errors.len() > before {
        return None;
    }
    let mut out: Vec<KmsGrant> = entries
        .iter()
        .map(|g| {
            let constraints = g.constraints();
            let context = |m: Option<&std::collections::HashMap<String, String>>| {
                m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default()
            };
            KmsGrant {
                grant_id: g.grant_id().unwrap_or_default().to_string(),
                name: g.name().filter(|n| !n.is_empty()).map(str::to_string),
                grantee_principal: g.grantee_principal().unwrap_or_default().to_string(),
                retiring_principal: g.retiring_principal().map(str::to_string),
                issuing_account: g.issuing_account().map(str::to_string),
                operations: g
                    .operations()
                    .iter()
                    .map(|o| o.as_str().to_string())
                    .collect(),
                encryption_context_equals: context(
                    constraints.and_then(|c| c.encryption_context_equals()),
                ),
                encryption_context_subset: context(
                    constraints.and_then(|c| c.encryption_context_subset()),
                ),
            }
        })
        .collect();
    out.sort_by(|a, b| a.grant_id.cmp(&b.grant_id));
    Some(out)
}

fn from_metadata(m: &KeyMetadata, region: &str, mut aliases: Vec<String>) -> KmsKey {
    aliases.sort();
    aliases.dedup();
    let arn = m.arn().unwrap_or_default().to_string();
    let region = KeyRef::parse(&arn)
        .map(|r| r.region(region).to_string())
        .unwrap_or_else(|| region.to_string());
    KmsKey {
        key_id: m.key_id().to_string(),
        region,
        aliases,
        key_manager: m.key_manager().map(|v| v.as_str().to_string()),
        origin: m.origin().map(|v| v.as_str().to_string()),
        custom_key_store_id: m.custom_key_store_id().map(str::to_string),
        key_spec: m.key_spec().map(|v| v.as_str().to_string()),
        key_usage: m.key_usage().map(|v| v.as_str().to_string()),
        key_state: m.key_state().map(|v| v.as_str().to_string()),
        deletion_date: timestamp(m.deletion_date()),
        multi_region: m.multi_region(),
        rotation_enabled: None,
        policy: None,
        grants: None,
        arn,
    }
}
