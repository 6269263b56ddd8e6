//! EC2/EBS: volumes, snapshots owned by the account with their `createVolumePermission`, the region's encryption
//! by default and default key, and the instances tagged as database hosts.

use aws_config::SdkConfig;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::Region;
use aws_sdk_ec2::types::{Filter, PermissionGroup, SnapshotAttributeName};

use super::{ApiCalls, Ctx, api_error, bounded, drain};
use crate::audit::inventory::{
    CollectError, DbHost, EbsRegionSettings, EbsSnapshot, EbsVolume, Inventory, Sharing,
};

const SERVICE: &str = "ec2";

fn client(config: &SdkConfig, region: &str, api: &ApiCalls) -> Client {
    let mut conf = aws_sdk_ec2::config::Builder::from(config)
        .region(Region::new(region.to_string()))
        .interceptor(api.meter());
    conf.set_retry_partition(api.retry_partition(SERVICE, region));
    let conf = conf.build();
    Client::from_conf(conf)
}

/// The regions enabled for the account (DescribeRegions without opted-out regions).
pub(crate) async fn enabled_regions(
    config: &SdkConfig,
    home: &str,
    api: &ApiCalls,
) -> Result<Vec<String>, CollectError> {
    let out = api
        .run(SERVICE, client(config, home, api).describe_regions().send())
        .await
        .map_err(|e| api_error(home, SERVICE, "DescribeRegions", &e))?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    regions.dedup();
    Ok(regions)
}

pub(crate) async fn collect(ctx: &Ctx, region: &str) -> Inventory {
    let client = client(&ctx.config, region, &ctx.api);
    let api = &ctx.api;
    let mut part = Inventory::default();
    let (mut e1, mut e2, mut e3) = (Vec::new(), Vec::new(), Vec::new());

    // No `MaxResults`: without it these Describe actions answer with every item at once, the fewest calls.
    let snapshots_request = {
        let mut r = client.describe_snapshots().owner_ids("self");
        // Some endpoints ignore OwnerIds; the owner-id filter keeps foreign public snapshots out.
        if let Some(account) = &ctx.account {
            r = r.filters(Filter::builder().name("owner-id").values(account).build());
        }
        r
    };
    let hosts_request = {
        let tag = match &ctx.db_tag.value {
            None => Filter::builder()
                .name("tag-key")
                .values(&ctx.db_tag.key)
                .build(),
            Some(value) => Filter::builder()
                .name(format!("tag:{}", ctx.db_tag.key))
                .values(value)
                .build(),
        };
        client.describe_instances().filters(tag)
    };
    let (volumes, snapshots, reservations, by_default, default_key) = tokio::join!(
        api.run(SERVICE, async {
            drain!(
                client.describe_volumes().into_paginator().items().send(),
                e1,
                region,
                SERVICE,
                "DescribeVolumes"
            )
        }),
        api.run(SERVICE, async {
            drain!(
                snapshots_request.into_paginator().items().send(),
                e2,
                region,
                SERVICE,
                "DescribeSnapshots"
            )
        }),
        api.run(SERVICE, async {
            drain!(
                hosts_request.into_paginator().items().send(),
                e3,
                region,
                SERVICE,
                "DescribeInstances"
            )
        }),
        async {
            api.run(SERVICE, client.get_ebs_encryption_by_default().send())
                .await
                .map(|o| o.ebs_encryption_by_default())
                .map_err(|e| api_error(region, SERVICE, "GetEbsEncryptionByDefault", &e))
        },
        async {
            api.run(SERVICE, client.get_ebs_default_kms_key_id().send())
                .await
                .map(|o| o.kms_key_id().map(str::to_string))
                .map_err(|e| api_error(region, SERVICE, "GetEbsDefaultKmsKeyId", &e))
        },
    );
    part.errors.extend(e1.into_iter().chain(e2).chain(e3));

    let mut settings = EbsRegionSettings {
        region: region.to_string(),
        ..EbsRegionSettings::default()
    };
    match by_default {
        Ok(on) => settings.encryption_by_default = on,
        Err(e) => part.errors.push(e),
    }
    match default_key {
        Ok(key) => settings.default_kms_key_id = key,
        Err(e) => part.errors.push(e),
    }
    part.ebs_region_settings.push(settings);

    let account = ctx.account.as_deref().unwrap_or("");
    part.ebs_volumes = volumes
        .iter()
        .map(|v| {
            let id = v.volume_id().unwrap_or_default().to_string();
            EbsVolume {
                arn: v.volume_arn().map(str::to_string).unwrap_or_else(|| {
                    format!("arn:{}:ec2:{region}:{account}:volume/{id}", ctx.partition)
                }),
                region: region.to_string(),
                encrypted: v.encrypted().unwrap_or(false),
                kms_key_id: v.kms_key_id().map(str::to_string),
                attached_to: v
                    .attachments()
                    .iter()
                    .filter_map(|a| a.instance_id().map(str::to_string))
                    .collect(),
                id,
            }
        })
        .collect();

    part.db_hosts = reservations
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| {
            !matches!(
                i.state().and_then(|s| s.name()).map(|n| n.as_str()),
                Some("terminated") | Some("shutting-down")
            )
        })
        .map(|i| {
            let id = i.instance_id().unwrap_or_default().to_string();
            DbHost {
                arn: format!("arn:{}:ec2:{region}:{account}:instance/{id}", ctx.partition),
                region: region.to_string(),
                state: i
                    .state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string()),
                tags: i
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_string(),
                            t.value().unwrap_or_default().to_string(),
                        ))
                    })
                    .collect(),
                volume_ids: i
                    .block_device_mappings()
                    .iter()
                    .filter_map(|m| m.ebs().and_then(|e| e.volume_id()).map(str::to_string))
                    .collect(),
                id,
            }
        })
        .collect();

    let owned: Vec<EbsSnapshot> = snapshots
        .iter()
        .filter(|s| ctx.account.is_none() || s.owner_id() == ctx.account.as_deref())
        .map(|s| {
            let id = s.snapshot_id().unwrap_or_default().to_string();
            EbsSnapshot {
                arn: format!("arn:{}:ec2:{region}::snapshot/{id}", ctx.partition),
                region: region.to_string(),
                volume_id: s.volume_id().map(str::to_string),
                encrypted: s.encrypted().unwrap_or(false),
                kms_key_id: s.kms_key_id().map(str::to_string),
                sharing: Sharing::default(),
                id,
            }
        })
        .collect();
    let (snapshots, errors) = with_sharing(ctx, &client, region, owned).await;
    part.ebs_snapshots = snapshots;
    part.errors.extend(errors);
    part
}

/// Reads `createVolumePermission` of every snapshot: group `all` is public, user ids are other accounts.
async fn with_sharing(
    ctx: &Ctx,
    client: &Client,
    region: &str,
    snapshots: Vec<EbsSnapshot>,
) -> (Vec<EbsSnapshot>, Vec<CollectError>) {
    const OPERATION: &str = "DescribeSnapshotAttribute";
    let (results, mut errors) = bounded(
        snapshots,
        ctx.calls,
        (region, SERVICE, OPERATION),
        |mut snap| {
            let (client, api) = (client.clone(), ctx.api.clone());
            let region = region.to_string();
            async move {
                let request = client
                    .describe_snapshot_attribute()
                    .snapshot_id(&snap.id)
                    .attribute(SnapshotAttributeName::CreateVolumePermission);
                let answer = api.run(SERVICE, request.send()).await;
                match answer {
                    Ok(out) => {
                        let permissions = out.create_volume_permissions();
                        let mut accounts: Vec<String> = permissions
                            .iter()
                            .filter_map(|p| p.user_id().map(str::to_string))
                            .collect();
                        accounts.sort();
                        snap.sharing = Sharing {
                            known: true,
                            public: permissions
                                .iter()
                                .any(|p| p.group() == Some(&PermissionGroup::All)),
                            accounts,
                        };
                        (snap, None)
                    }
                    Err(e) => (snap, Some(api_error(&region, SERVICE, OPERATION, &e))),
                }
            }
        },
    )
    .await;
    let mut out = Vec::with_capacity(results.len());
    for (snap, error) in results {
        errors.extend(error);
        out.push(snap);
    }
    (out, errors)
}
