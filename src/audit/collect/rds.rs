//! RDS: DB instances, DB clusters, DB snapshots and DB cluster snapshots with their sharing attributes, and the
//! option groups the instances use.

use std::collections::BTreeSet;

use aws_sdk_rds::Client;
use aws_sdk_rds::config::Region;

use super::{Ctx, api_error, bounded, drain};
use crate::audit::inventory::{
    CollectError, Inventory, RdsCluster, RdsInstance, RdsOptionGroup, RdsSnapshot, Sharing,
};

const SERVICE: &str = "rds";

fn client(ctx: &Ctx, region: &str) -> Client {
    let mut conf = aws_sdk_rds::config::Builder::from(&ctx.config)
        .region(Region::new(region.to_string()))
        .interceptor(ctx.api.meter());
    conf.set_retry_partition(ctx.api.retry_partition(SERVICE, region));
    let conf = conf.build();
    Client::from_conf(conf)
}

// The four listings page at 100 records, the most RDS allows (and its default).
pub(crate) async fn collect(ctx: &Ctx, region: &str) -> Inventory {
    let client = client(ctx, region);
    let api = &ctx.api;
    let mut part = Inventory::default();
    let (mut e1, mut e2, mut e3, mut e4) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (instances, clusters, snapshots, cluster_snapshots) = tokio::join!(
        api.run(SERVICE, async {
            drain!(
                client
                    .describe_db_instances()
                    .into_paginator()
                    .items()
                    .send(),
                e1,
                region,
                SERVICE,
                "DescribeDBInstances"
            )
        }),
        api.run(SERVICE, async {
            drain!(
                client
                    .describe_db_clusters()
                    .into_paginator()
                    .items()
                    .send(),
                e2,
                region,
                SERVICE,
                "DescribeDBClusters"
            )
        }),
        api.run(SERVICE, async {
            drain!(
                client
                    .describe_db_snapshots()
                    .into_paginator()
                    .items()
                    .send(),
                e3,
                region,
                SERVICE,
                "DescribeDBSnapshots"
            )
        }),
        api.run(SERVICE, async {
            drain!(
                client
                    .describe_db_cluster_snapshots()
                    .into_paginator()
                    .items()
                    .send(),
                e4,
                region,
                SERVICE,
                "DescribeDBClusterSnapshots"
            )
        }),
    );
    part.errors
        .extend(e1.into_iter().chain(e2).chain(e3).chain(e4));

    part.rds_instances = instances
        .iter()
        .map(|i| {
            let id = i.db_instance_identifier().unwrap_or_default().to_string();
            RdsInstance {
                arn: i
                    .db_instance_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| arn(ctx, region, "db", &id)),
                region: region.to_string(),
                engine: i.engine().unwrap_or_default().to_string(),
                engine_version: i.engine_version().map(str::to_string),
                storage_encrypted: i.storage_encrypted().unwrap_or(false),
                storage_encryption_type: i
                    .storage_encryption_type()
                    .map(|t| t.as_str().to_string()),
                kms_key_id: i.kms_key_id().map(str::to_string),
                cluster_id: i.db_cluster_identifier().map(str::to_string),
                option_groups: i
                    .option_group_memberships()
                    .iter()
                    .filter_map(|m| m.option_group_name().map(str::to_string))
                    .collect(),
                id,
            }
        })
        .collect();
    part.rds_clusters = clusters
        .iter()
        .map(|c| {
            let id = c.db_cluster_identifier().unwrap_or_default().to_string();
            RdsCluster {
                arn: c
                    .db_cluster_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| arn(ctx, region, "cluster", &id)),
                region: region.to_string(),
                engine: c.engine().unwrap_or_default().to_string(),
                engine_version: c.engine_version().map(str::to_string),
                storage_encrypted: c.storage_encrypted().unwrap_or(false),
                storage_encryption_type: c
                    .storage_encryption_type()
                    .map(|t| t.as_str().to_string()),
                kms_key_id: c.kms_key_id().map(str::to_string),
                id,
            }
        })
        .collect();
    let db_snapshots: Vec<RdsSnapshot> = snapshots
        .iter()
        .map(|s| {
            let id = s.db_snapshot_identifier().unwrap_or_default().to_string();
            RdsSnapshot {
                arn: s
                    .db_snapshot_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| arn(ctx, region, "snapshot", &id)),
                region: region.to_string(),
                source: s.db_instance_identifier().map(str::to_string),
                snapshot_type: s.snapshot_type().map(str::to_string),
                encrypted: s.encrypted().unwrap_or(false),
                kms_key_id: s.kms_key_id().map(str::to_string),
                sharing: Sharing::default(),
                id,
            }
        })
        .collect();
    let db_cluster_snapshots: Vec<RdsSnapshot> = cluster_snapshots
        .iter()
        .map(|s| {
            let id = s
                .db_cluster_snapshot_identifier()
                .unwrap_or_default()
                .to_string();
            RdsSnapshot {
                arn: s
                    .db_cluster_snapshot_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| arn(ctx, region, "cluster-snapshot", &id)),
                region: region.to_string(),
                source: s.db_cluster_identifier().map(str::to_string),
                snapshot_type: s.snapshot_type().map(str::to_string),
                encrypted: s.storage_encrypted().unwrap_or(false),
                kms_key_id: s.kms_key_id().map(str::to_string),
                sharing: Sharing::default(),
                id,
            }
        })
        .collect();

    let groups: BTreeSet<String> = part
        .rds_instances
        .iter()
        .flat_map(|i| i.option_groups.iter().cloned())
        .collect();
    let (snaps, cluster_snaps, groups) = tokio::join!(
        with_sharing(ctx, &client, region, db_snapshots, false),
        with_sharing(ctx, &client, region, db_cluster_snapshots, true),
        option_groups(ctx, &client, region, groups.into_iter().collect()),
    );
    part.rds_snapshots = snaps.0;
    part.rds_cluster_snapshots = cluster_snaps.0;
    part.rds_option_groups = groups.0;
    part.errors
        .extend(snaps.1.into_iter().chain(cluster_snaps.1).chain(groups.1));
    part
}

fn arn(ctx: &Ctx, region: &str, kind: &str, id: &str) -> String {
    format!(
        "arn:{}:rds:{region}:{}:{kind}:{id}",
        ctx.partition,
        ctx.account.as_deref().unwrap_or("")
    )
}

/// Reads the `restore` attribute of every snapshot that can be shared (not automated ones).
async fn with_sharing(
    ctx: &Ctx,
    client: &Client,
    region: &str,
    snapshots: Vec<RdsSnapshot>,
    cluster: bool,
) -> (Vec<RdsSnapshot>, Vec<CollectError>) {
    let operation = if cluster {
        "DescribeDBClusterSnapshotAttributes"
    } else {
        "DescribeDBSnapshotAttributes"
    };
    let (results, mut errors) = bounded(
        snapshots,
        ctx.calls,
        (region, SERVICE, operation),
        |mut snap| {
            let (client, api) = (client.clone(), ctx.api.clone());
            let region = region.to_string();
            async move {
                if snap.snapshot_type.as_deref() == Some("automated") {
                    return (snap, None);
                }
                let values = if cluster {
                    let request = client
                        .describe_db_cluster_snapshot_attributes()
                        .db_cluster_snapshot_identifier(&snap.id);
                    api.run(SERVICE, request.send())
                        .await
                        .map(|out| {
                            out.db_cluster_snapshot_attributes_result()
                                .map(|r| {
                                    r.db_cluster_snapshot_attributes()
                                        .iter()
                                        .filter(|a| a.attribute_name() == Some("restore"))
                                        .flat_map(|a| a.attribute_values().to_vec())
                                        .collect::<Vec<_>>()
                                })
                                .unwrap_or_default()
                        })
                        .map_err(|e| api_error(&region, SERVICE, operation, &e))
                } else {
                    let request = client
                        .describe_db_snapshot_attributes()
                        .db_snapshot_identifier(&snap.id);
                    api.run(SERVICE, request.send())
                        .await
                        .map(|out| {
                            out.db_snapshot_attributes_result()
                                .map(|r| {
                                    r.db_snapshot_attributes()
                                        .iter()
                                        .filter(|a| a.attribute_name() == Some("restore"))
                                        .flat_map(|a| a.attribute_values().to_vec())
                                        .collect::<Vec<_>>()
                                })
                                .unwrap_or_default()
                        })
                        .map_err(|e| api_error(&region, SERVICE, operation, &e))
                };
                match values {
                    Ok(values) => {
                        let mut accounts: Vec<String> =
                            values.iter().filter(|v| *v != "all").cloned().collect();
                        accounts.sort();
                        snap.sharing = Sharing {
                            known: true,
                            public: values.iter().any(|v| v == "all"),
                            accounts,
                        };
                        (snap, None)
                    }
                    Err(e) => (snap, Some(e)),
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

/// Reads each option group by name (listing them all is not needed, and not supported everywhere). A `default:`
/// group that does not exist has no options.
async fn option_groups(
    ctx: &Ctx,
    client: &Client,
    region: &str,
    names: Vec<String>,
) -> (Vec<RdsOptionGroup>, Vec<CollectError>) {
    const OPERATION: &str = "DescribeOptionGroups";
    let (results, mut errors) = bounded(names, ctx.calls, (region, SERVICE, OPERATION), |name| {
        let (client, api) = (client.clone(), ctx.api.clone());
        let region = region.to_string();
        async move {
            let request = client.describe_option_groups().option_group_name(&name);
            match api.run(SERVICE, request.send()).await {
                Ok(out) => {
                    let options = out
                        .option_groups_list()
                        .iter()
                        .filter(|g| g.option_group_name() == Some(name.as_str()))
                        .flat_map(|g| {
                            g.options()
                                .iter()
                                .filter_map(|o| o.option_name().map(str::to_string))
                        })
                        .collect();
                    Ok(RdsOptionGroup {
                        name,
                        region,
                        options,
                    })
                }
                Err(e)
                    if name.starts_with("default:")
                        && e.as_service_error()
                            .is_some_and(|s| s.is_option_group_not_found_fault()) =>
                {
                    Ok(RdsOptionGroup {
                        name,
                        region,
                        options: Vec::new(),
                    })
                }
                Err(e) => Err(api_error(&region, SERVICE, OPERATION, &e)),
            }
        }
    })
    .await;
    let mut groups = Vec::new();
    for r in results {
        match r {
            Ok(g) => groups.push(g),
            Err(e) => errors.push(e),
        }
    }
    (groups, errors)
}
