//! Where an audit's inventory comes from, shared by `audit` and `evidence build`: read live from AWS (`--regions`,
//! `--db-tag` and the connection flags) or a saved inventory (`--inventory-in`).

use std::path::PathBuf;

use clap::Args;

use super::{AwsArgs, CliError};
use crate::audit::calls::{ApiLimits, CallStats};
use crate::audit::inventory::{Coverage, Inventory};
use crate::audit::run::Source;
use crate::audit::select::{DEFAULT_DB_TAG, DbTag, RegionSelection};
use crate::audit::store;

#[derive(Debug, Args)]
pub struct InventorySource {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Regions to read: `all` (every region enabled for the account) or a comma-separated list
    /// [default: the configured region]
    #[arg(long, value_name = "all|LIST")]
    pub regions: Option<String>,
    /// EC2 instances with this tag are self-managed database hosts; `KEY=*` matches any value
    #[arg(long, value_name = "KEY=VALUE", default_value = DEFAULT_DB_TAG)]
    pub db_tag: String,
    /// Use a saved inventory (from `atrest audit --inventory-out`) instead of reading AWS (no network, no
    /// credentials)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["regions", "db_tag", "profile", "region", "endpoint_url"]
    )]
    pub inventory_in: Option<PathBuf>,
}

/// The source, checked before anything is read.
pub enum Plan {
    Saved(PathBuf),
    Live {
        regions: RegionSelection,
        db_tag: DbTag,
    },
}

impl InventorySource {
    /// Checks the flags: nothing is read yet.
    pub fn plan(&self) -> Result<Plan, CliError> {
        if let Some(path) = &self.inventory_in {
            return Ok(Plan::Saved(path.clone()));
        }
        let regions = match &self.regions {
            Some(text) => RegionSelection::parse(text)
                .map_err(|e| CliError::from(e).with_help(REGIONS_HELP))?,
            None => RegionSelection::Configured,
        };
        let db_tag =
            DbTag::parse(&self.db_tag).map_err(|e| CliError::from(e).with_help(DB_TAG_HELP))?;
        Ok(Plan::Live { regions, db_tag })
    }

    /// Reads the inventory the plan names. `offline_hint` says what to do in a build without AWS.
    pub fn load(&self, plan: Plan, offline_hint: &str) -> Result<(Inventory, Source), CliError> {
        self.load_counted(plan, offline_hint, &ApiLimits::default())
            .map(|(inventory, source, _)| (inventory, source))
    }

    /// As [`Self::load`], a live read under `limits`, with the calls it made.
    pub fn load_counted(
        &self,
        plan: Plan,
        offline_hint: &str,
        limits: &ApiLimits,
    ) -> Result<(Inventory, Source, Option<CallStats>), CliError> {
        match plan {
            Plan::Saved(path) => Ok((store::load(&path)?, Source::SavedInventory, None)),
            Plan::Live { regions, db_tag } => {
                let (inventory, stats) = live(&self.aws, regions, db_tag, offline_hint, limits)?;
                read_something(&inventory)?;
                Ok((inventory, Source::Aws, Some(stats)))
            }
        }
    }
}

/// An audit that read nothing is an error, never an empty pass: say why and how to fix it.
fn read_something(inventory: &Inventory) -> Result<(), CliError> {
    match inventory.coverage() {
        Coverage::Nothing {
            no_credentials: true,
        } => Err(CliError::failure(format!(
            "no AWS credentials were found, so none of the {} API call(s) could be made",
            inventory.errors.len()
        ))
        .with_help(
            "the SDK's default chain was tried: environment (`AWS_ACCESS_KEY_ID`), profile files, web identity, SSO, \
             container and instance metadata; set credentials or pass `--profile NAME`",
        )),
        Coverage::Nothing {
            no_credentials: false,
        } => Err(CliError::failure(format!(
            "nothing could be read: all {} API call(s) failed, the first with `{}`",
            inventory.errors.len(),
            inventory
                .errors
                .first()
                .map(|e| format!("{} {}: {}", e.service, e.operation, e.message))
                .unwrap_or_default()
        ))
        .with_help("check `--endpoint-url`, the network, the region and the credentials")),
        Coverage::Complete | Coverage::Partial => Ok(()),
    }
}

const REGIONS_HELP: &str =
    "pass `--regions all` or a comma-separated list such as `--regions eu-west-1,us-east-1`";
const DB_TAG_HELP: &str =
    "pass `--db-tag KEY=VALUE`, or `KEY=*` for any value (e.g. `--db-tag atrest:database=*`)";

/// Reads the account (with a progress bar on a terminal). `offline_hint` says what to do in a build without AWS.
#[cfg(not(feature = "aws"))]
fn live(
    _aws: &AwsArgs,
    _regions: RegionSelection,
    _db_tag: DbTag,
    offline_hint: &str,
    _limits: &ApiLimits,
) -> Result<(Inventory, CallStats), CliError> {
    Err(
        CliError::usage("this atrest was built without AWS support (feature `aws`)")
            .with_help(offline_hint),
    )
}

/// Reads the account (with a progress bar on a terminal). `offline_hint` says what to do in a build without AWS.
#[cfg(feature = "aws")]
fn live(
    aws: &AwsArgs,
    regions: RegionSelection,
    db_tag: DbTag,
    _offline_hint: &str,
    limits: &ApiLimits,
) -> Result<(Inventory, CallStats), CliError> {
    use std::io::IsTerminal;
    use std::sync::Arc;

    use crate::audit::collect::{self, ApiCalls, CollectOptions, NoProgress, Progress};
    use crate::aws::block_on;

    let settings = aws.settings();
    settings.validate().map_err(endpoint_help)?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(progress::Bar::default()));
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => bar.clone(),
        None => Arc::new(NoProgress),
    };
    let mut options = CollectOptions::new(regions.clone(), db_tag);
    options.api = ApiCalls::new(limits.clone());
    let result = block_on(async {
        let config = load_config(&settings, &regions).await?;
        Ok(collect::collect(&config, &options, progress).await)
    });
    if let Some(bar) = bar {
        bar.clear();
    }
    match result {
        Ok(Ok(inventory)) => Ok((inventory, options.api.stats())),
        Ok(Err(e)) | Err(e) => Err(endpoint_help(e)),
    }
}

/// The SDK configuration. With an explicit region list and no configured region, the first listed region serves
/// the account-wide calls.
#[cfg(feature = "aws")]
pub(super) async fn load_config(
    settings: &crate::aws::AwsSettings,
    regions: &RegionSelection,
) -> Result<aws_config::SdkConfig, crate::aws::AwsSetupError> {
    use crate::aws::AwsSetupError;
    match settings.load().await {
        Ok(config) => Ok(config),
        Err(AwsSetupError::NoRegion) => match regions {
            RegionSelection::List(list) if !list.is_empty() => {
                let mut fallback = settings.clone();
                fallback.region = list.first().cloned();
                fallback.load().await
            }
            _ => Err(AwsSetupError::NoRegion),
        },
        Err(e) => Err(e),
    }
}

/// The AWS set-up error with the flags that fix it.
#[cfg(feature = "aws")]
pub(super) fn endpoint_help(e: crate::aws::AwsSetupError) -> CliError {
    use crate::aws::AwsSetupError;
    let help = match &e {
        AwsSetupError::BadEndpoint(_) => Some(
            "pass a full URL such as `--endpoint-url https://rds.us-east-1.amazonaws.com` or `--endpoint-url http://127.0.0.1:5000`",
        ),
        AwsSetupError::NoRegion => Some("pass `--region REGION` or set `AWS_REGION`"),
        _ => None,
    };
    let error = CliError::from(e);
    match help {
        Some(h) => error.with_help(h),
        None => error,
    }
}

#[cfg(feature = "aws")]
mod progress {
    use std::io::Write;
    use std::sync::Mutex;

    use crate::audit::collect::Progress;

    /// A one-line progress bar on stderr (used only when stderr is a terminal).
    #[derive(Default)]
    pub struct Bar {
        state: Mutex<(usize, usize)>,
    }

    impl Bar {
        fn draw(&self, label: &str) {
            let Ok(state) = self.state.lock() else { return };
            let (done, total) = *state;
            const WIDTH: usize = 24;
            let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[2K[{}{}] {done}/{total} {label}",
                "#".repeat(filled),
                ".".repeat(WIDTH - filled)
            );
        }

        pub fn clear(&self) {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }

    impl Progress for Bar {
        fn add(&self, units: usize) {
            if let Ok(mut state) = self.state.lock() {
                state.1 += units;
            }
            self.draw("");
        }

        fn done(&self, label: &str) {
            if let Ok(mut state) = self.state.lock() {
                state.0 += 1;
            }
            self.draw(label);
        }
    }
}

/// The caller's own identity could not be read: no credentials, or nothing reachable.
#[cfg(feature = "aws")]
pub(super) fn caller_error(e: crate::audit::inventory::CollectError) -> CliError {
    if e.message.contains("no credentials found in chain") {
        CliError::failure("no AWS credentials were found, so no role can be assumed").with_help(
            "the SDK's default chain was tried: environment (`AWS_ACCESS_KEY_ID`), profile files, web identity, SSO, \
             container and instance metadata; set credentials or pass `--profile NAME`",
        )
    } else {
        CliError::failure(format!(
            "cannot identify the caller: {} {}: {}",
            e.service, e.operation, e.message
        ))
        .with_help("check `--endpoint-url`, the network, the region and the credentials")
    }
}
