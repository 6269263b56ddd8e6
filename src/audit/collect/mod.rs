//! The collectors: read-only calls to STS, IAM, Organizations, EC2/EBS, RDS and KMS, fanned out over regions with bounded
//! concurrency, paginating every list. A failing call becomes a [`CollectError`] in the inventory and collection goes
//! on. Retries and backoff are the SDK's (standard mode; `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` are honoured).

use std::future::Future;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::calls::{ApiLimits, CallStats};
use super::clock::now_rfc3339;
use super::inventory::{CollectError, Inventory};
use super::select::{DbTag, RegionSelection};

pub mod accounts;
mod ec2;
mod iam;
mod kms;
mod limiter;
mod meter;
mod organizations;
pub use organizations::OrgReader;
pub mod permissions;
mod rds;
mod sts;

/// What to read and how hard to push.
#[derive(Clone, Debug)]
pub struct CollectOptions {
    pub regions: RegionSelection,
    pub db_tag: DbTag,
    /// Regions read at the same time.
    pub region_concurrency: usize,
    /// Per-resource calls (snapshot attributes, key details) in flight per region and service.
    pub call_concurrency: usize,
    /// The run's meter and per-service limits: clones share them, so every account of a run does.
    pub api: ApiCalls,
    /// Auditing an organisation: its structure and policies as the caller reads them, for every account (instead
    /// of each account asking for itself).
    pub organization: Option<OrgReader>,
}

impl CollectOptions {
    pub fn new(regions: RegionSelection, db_tag: DbTag) -> Self {
        CollectOptions {
            regions,
            db_tag,
            region_concurrency: 8,
            call_concurrency: 16,
            api: ApiCalls::default(),
            organization: None,
        }
    }
}

/// Every SDK client of a run counts its calls on one meter and waits for its service's permit.
#[derive(Clone, Debug, Default)]
pub struct ApiCalls {
    meter: meter::CallMeter,
    limiter: limiter::Limiter,
    /// The account the clients read, in a run of several: its clients retry and back off on their own.
    account: Option<Arc<str>>,
}

impl ApiCalls {
    pub fn new(limits: ApiLimits) -> Self {
        ApiCalls {
            meter: meter::CallMeter::default(),
            limiter: limiter::Limiter::new(limits),
            account: None,
        }
    }

    /// The same meter and limits, for the clients of one account of a run of several.
    pub(crate) fn for_account(&self, account: &str) -> Self {
        ApiCalls {
            account: Some(account.into()),
            ..self.clone()
        }
    }

    /// The retry partition of a client of `service` in `region`. AWS's request quotas are per account and Region,
    /// but the SDK's default partition (`<service>-<region>`) is one per process: every account's clients would draw
    /// on one retry token bucket and one adaptive rate limiter, so that a throttled account slowed every other one,
    /// and a run of hundreds could exhaust the retries of all. In a run of several accounts each account gets its own.
    pub(crate) fn retry_partition(
        &self,
        service: &str,
        region: &str,
    ) -> Option<aws_sdk_sts::config::retry::RetryPartition> {
        let account = self.account.as_deref()?;
        Some(aws_sdk_sts::config::retry::RetryPartition::new(format!(
            "{service}-{region}-{account}"
        )))
    }

    /// What the run called so far, with the limits it ran under.
    pub fn stats(&self) -> CallStats {
        let mut stats = self.meter.stats();
        stats.limits = self
            .limiter
            .limits()
            .iter()
            .map(|(service, n)| (service.to_string(), n))
            .collect();
        stats
    }

    /// Runs one call (or one paginated listing) of `service` under its limit.
    pub(crate) async fn run<F: Future>(&self, service: &str, call: F) -> F::Output {
        self.limiter.run(service, call).await
    }

    /// The interceptor to add to every client built for the run.
    pub(crate) fn meter(&self) -> meter::CallMeter {
        self.meter.clone()
    }
}

/// Told about units of work (one per region and service) so a caller can draw progress.
pub trait Progress: Send + Sync {
    /// More work is known.
    fn add(&self, units: usize);
    /// One unit finished.
    fn done(&self, label: &str);
}

/// Progress that nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {
    fn add(&self, _units: usize) {}
    fn done(&self, _label: &str) {}
}

/// Shared by every task of one collection.
pub(crate) struct Ctx {
    pub config: SdkConfig,
    pub account: Option<String>,
    pub partition: String,
    pub db_tag: DbTag,
    pub calls: usize,
    pub api: ApiCalls,
    /// The regions being read, so that a key referenced across regions is described once.
    pub regions: Vec<String>,
    /// Keys of regions not being read, by (key region, reference), that a region's pass has claimed to describe.
    pub described: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
    pub progress: Arc<dyn Progress>,
}

impl Ctx {
    /// Whether this is the first pass to ask for the key `reference` in `key_region` (the others skip it).
    pub fn first_describe(&self, key_region: &str, reference: &str) -> bool {
        let mut claimed = self.described.lock().unwrap_or_else(|e| e.into_inner());
        claimed.insert((key_region.to_string(), reference.to_string()))
    }
}

/// Reads the account. Never fails: what could not be read is listed in `errors`.
pub async fn collect(
    config: &SdkConfig,
    options: &CollectOptions,
    progress: Arc<dyn Progress>,
) -> Inventory {
    let home = config.region().map(|r| r.to_string()).unwrap_or_default();
    progress.add(1);
    let identity = sts::identity(config, &home, &options.api).await;
    progress.done("sts");
    collect_known(config, options, progress, identity).await
}

/// Reads the account whose identity was already asked for.
pub(crate) async fn collect_known(
    config: &SdkConfig,
    options: &CollectOptions,
    progress: Arc<dyn Progress>,
    identity: Result<sts::Identity, CollectError>,
) -> Inventory {
    let mut inv = Inventory {
        started: now_rfc3339(),
        ..Inventory::default()
    };
    let home = config.region().map(|r| r.to_string()).unwrap_or_default();
    match identity {
        Ok(id) => {
            inv.account = Some(id.account);
            inv.caller_arn = id.arn;
            inv.partition = id.partition;
        }
        Err(e) => inv.errors.push(e),
    }

    progress.add(2);
    let api = &options.api;
    match iam::alias(config, &home, api).await {
        Ok(alias) => inv.account_name = alias,
        Err(e) => inv.errors.push(e),
    }
    match iam::collect(config, &home, api).await {
        Ok(details) => inv.iam = Some(details),
        Err(e) => inv.errors.push(e),
    }
    progress.done("iam");
    let account = inv.account.as_deref();
    inv.organization = match &options.organization {
        Some(reader) => {
            organizations::collect_with(reader, &home, api, account, &mut inv.errors).await
        }
        None => organizations::collect(config, &home, api, account, &mut inv.errors).await,
    };
    progress.done("organizations");

    let regions = match &options.regions {
        RegionSelection::Configured => vec![home.clone()],
        RegionSelection::List(list) => list.clone(),
        RegionSelection::All => match ec2::enabled_regions(config, &home, api).await {
            // The account's credentials are valid in its own partition only.
            Ok(list) if list.iter().any(|r| region_partition(r) == inv.partition) => list
                .into_iter()
                .filter(|r| region_partition(r) == inv.partition)
                .collect(),
            Ok(_) => vec![home.clone()],
            Err(e) => {
                inv.errors.push(e);
                vec![home.clone()]
            }
        },
    };
    inv.regions = regions.clone();
    progress.add(regions.len() * 3);

    let ctx = Arc::new(Ctx {
        config: config.clone(),
        account: inv.account.clone(),
        partition: inv.partition.clone(),
        db_tag: options.db_tag.clone(),
        calls: options.call_concurrency.max(1),
        api: options.api.clone(),
        regions: regions.clone(),
        described: Default::default(),
        progress,
    });
    let permits = Arc::new(Semaphore::new(options.region_concurrency.max(1)));
    // Resources first, then keys: a region's key pass must know every resource that names its keys, in any region.
    per_region(&ctx, &regions, &permits, Phase::Resources, &mut inv).await;
    let references = Arc::new(key_references(&inv));
    per_region(&ctx, &regions, &permits, Phase::Keys(references), &mut inv).await;
    normalise(&mut inv);
    inv.finished = now_rfc3339();
    inv
}

#[derive(Clone)]
enum Phase {
    Resources,
    /// With every key reference of the account's resources.
    Keys(Arc<Vec<(String, String)>>),
}

/// Runs one phase in every region, a few regions at a time, and merges what each read into `inv`.
async fn per_region(
    ctx: &Arc<Ctx>,
    regions: &[String],
    permits: &Arc<Semaphore>,
    phase: Phase,
    inv: &mut Inventory,
) {
    let mut tasks = JoinSet::new();
    let mut names = std::collections::HashMap::new();
    for region in regions {
        let (ctx, permits, phase) = (ctx.clone(), permits.clone(), phase.clone());
        let region = region.clone();
        let name = region.clone();
        let handle = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            match phase {
                Phase::Resources => region_resources(&ctx, &region).await,
                Phase::Keys(references) => {
                    let part = kms::collect(&ctx, &region, &references).await;
                    ctx.progress.done(&format!("{region} kms"));
                    part
                }
            }
        });
        names.insert(handle.id(), name);
    }
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((_, part)) => merge(inv, part),
            Err(e) => inv.errors.push(CollectError {
                account: None,
                region: names.get(&e.id()).cloned().unwrap_or_default(),
                service: "atrest".into(),
                operation: "collect".into(),
                message: format!("the region's collection stopped: {e}"),
            }),
        }
    }
}

async fn region_resources(ctx: &Ctx, region: &str) -> Inventory {
    let (rds, ec2) = tokio::join!(
        async {
            let part = rds::collect(ctx, region).await;
            ctx.progress.done(&format!("{region} rds"));
            part
        },
        async {
            let part = ec2::collect(ctx, region).await;
            ctx.progress.done(&format!("{region} ec2"));
            part
        }
    );
    let mut part = Inventory::default();
    merge(&mut part, rds);
    merge(&mut part, ec2);
    part
}

/// Every key reference (id, alias or ARN) of encrypted resources, with the region of the resource.
fn key_references(part: &Inventory) -> Vec<(String, String)> {
    let mut refs: Vec<(String, String)> = Vec::new();
    let mut add = |region: &str, key: &Option<String>, encrypted: bool| {
        if let (true, Some(k)) = (encrypted, key) {
            refs.push((region.to_string(), k.clone()));
        }
    };
    for i in &part.rds_instances {
        add(&i.region, &i.kms_key_id, i.storage_encrypted);
    }
    for c in &part.rds_clusters {
        add(&c.region, &c.kms_key_id, c.storage_encrypted);
    }
    for s in part.rds_snapshots.iter().chain(&part.rds_cluster_snapshots) {
        add(&s.region, &s.kms_key_id, s.encrypted);
    }
    for v in &part.ebs_volumes {
        add(&v.region, &v.kms_key_id, v.encrypted);
    }
    for s in &part.ebs_snapshots {
        add(&s.region, &s.kms_key_id, s.encrypted);
    }
    for s in &part.ebs_region_settings {
        add(&s.region, &s.default_kms_key_id, true);
    }
    refs.sort();
    refs.dedup();
    refs
}

fn merge(into: &mut Inventory, part: Inventory) {
    into.rds_instances.extend(part.rds_instances);
    into.rds_clusters.extend(part.rds_clusters);
    into.rds_snapshots.extend(part.rds_snapshots);
    into.rds_cluster_snapshots
        .extend(part.rds_cluster_snapshots);
    into.rds_option_groups.extend(part.rds_option_groups);
    into.ebs_volumes.extend(part.ebs_volumes);
    into.ebs_snapshots.extend(part.ebs_snapshots);
    into.ebs_region_settings.extend(part.ebs_region_settings);
    into.db_hosts.extend(part.db_hosts);
    into.kms_keys.extend(part.kms_keys);
    into.errors.extend(part.errors);
}

/// Sorts every list so that the same account gives the same inventory, and drops keys seen twice.
fn normalise(inv: &mut Inventory) {
    inv.regions.sort();
    inv.regions.dedup();
    inv.rds_instances.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.rds_clusters.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.rds_snapshots.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.rds_cluster_snapshots.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.rds_option_groups
        .sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
    inv.ebs_volumes.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.ebs_snapshots.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.ebs_region_settings
        .sort_by(|a, b| a.region.cmp(&b.region));
    inv.db_hosts.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.kms_keys.sort_by(|a, b| a.arn.cmp(&b.arn));
    inv.kms_keys.dedup_by(|later, earlier| {
        if later.arn == earlier.arn {
            for alias in later.aliases.drain(..) {
                if !earlier.aliases.contains(&alias) {
                    earlier.aliases.push(alias);
                }
            }
            true
        } else {
            false
        }
    });
    inv.errors.sort();
    inv.errors.dedup();
}

/// The partition a region belongs to, from its name.
fn region_partition(region: &str) -> &'static str {
    match region {
        r if r.starts_with("cn-") => "aws-cn",
        r if r.starts_with("us-gov-") => "aws-us-gov",
        r if r.starts_with("us-isob-") => "aws-iso-b",
        r if r.starts_with("us-iso-") => "aws-iso",
        r if r.starts_with("eu-isoe-") => "aws-iso-e",
        r if r.starts_with("us-isof-") => "aws-iso-f",
        _ => "aws",
    }
}

/// One line for a failed call: the AWS error code and message, or the SDK's explanation (connection refused,
/// unparseable response...) with the HTTP status when there was one.
pub(crate) fn api_error<E>(
    region: &str,
    service: &str,
    operation: &str,
    err: &SdkError<E, HttpResponse>,
) -> CollectError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let detail = error_chain(err);
            match err.raw_response().map(|r| r.status().as_u16()) {
                // A denial whose body the SDK could not read (some endpoints answer in another protocol).
                Some(403) => format!("AccessDenied: HTTP 403: {detail}"),
                Some(status) => format!("HTTP {status}: {detail}"),
                None => detail,
            }
        }
    };
    CollectError {
        account: None,
        region: region.to_string(),
        service: service.to_string(),
        operation: operation.to_string(),
        message: truncate(&message, 300),
    }
}

/// The error and its sources, joined with `: ` (without the Debug dump that `DisplayErrorContext` adds).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

fn truncate(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max).collect();
    cut.push('…');
    cut
}

/// Runs `f` over `items`, at most `limit` at a time, and returns the results in input order. A task that stops
/// without a result (it cannot, short of a panic in a dependency) is reported as an error for `what`.
pub(crate) async fn bounded<T, R, F, Fut>(
    items: Vec<T>,
    limit: usize,
    what: (&str, &str, &str),
    f: F,
) -> (Vec<R>, Vec<CollectError>)
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = JoinSet::new();
    let total = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let permits = permits.clone();
        let fut = f(item);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, fut.await)
        });
    }
    let mut results: Vec<(usize, R)> = Vec::with_capacity(total);
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => results.push(pair),
            Err(e) => errors.push(CollectError {
                account: None,
                region: what.0.to_string(),
                service: what.1.to_string(),
                operation: what.2.to_string(),
                message: format!("a call stopped without an answer: {e}"),
            }),
        }
    }
    results.sort_by_key(|(index, _)| *index);
    (results.into_iter().map(|(_, r)| r).collect(), errors)
}

/// Drains a paginator's item stream, keeping what arrived before an error and recording the error.
macro_rules! drain {
    ($stream:expr, $errors:expr, $region:expr, $service:expr, $operation:expr) => {{
        let mut stream = $stream;
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(item) => items.push(item),
                Err(e) => {
                    $errors.push($crate::audit::collect::api_error(
                        $region, $service, $operation, &e,
                    ));
                    break;
                }
            }
        }
        items
    }};
}
pub(crate) use drain;

/// Formats an SDK timestamp as RFC 3339.
pub(crate) fn timestamp(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

#[cfg(test)]
mod tests {
    use super::ApiCalls;

    #[test]
    fn each_account_of_a_run_retries_in_a_partition_of_its_own() {
        let run = ApiCalls::default();
        assert!(run.retry_partition("kms", "eu-west-1").is_none());
        let a = run.for_account("111111111111");
        let b = run.for_account("222222222222");
        let name = |api: &ApiCalls| {
            api.retry_partition("kms", "eu-west-1")
                .map(|p| p.to_string())
        };
        assert_eq!(name(&a).as_deref(), Some("kms-eu-west-1-111111111111"));
        assert_ne!(name(&a), name(&b));
        assert_ne!(
            name(&a),
            a.retry_partition("kms", "us-east-1").map(|p| p.to_string())
        );
    }
}
