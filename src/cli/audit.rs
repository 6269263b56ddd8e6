//! `atrest audit`: read an AWS account (or a saved inventory), run the checks, classify the databases, report.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{AwsArgs, CliError, CliResult, Outcome};
use crate::audit::inventory::Inventory;
use crate::audit::run::{self, Source};
use crate::audit::select::{DEFAULT_DB_TAG, DbTag, RegionSelection};
use crate::audit::store;
use crate::model::Severity;
use crate::report::{self, Format};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Regions to read: `all` (every region enabled for the account) or a comma-separated list
    /// [default: the configured region]
    #[arg(long, value_name = "all|LIST")]
    pub regions: Option<String>,
    /// EC2 instances with this tag are self-managed database hosts; `KEY=*` matches any value
    #[arg(long, value_name = "KEY=VALUE", default_value = DEFAULT_DB_TAG)]
    pub db_tag: String,
    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Exit with code 3 when a failed finding has this severity or higher
    /// (informational, low, medium, high, critical)
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Save what was read (the inventory, JSON) to FILE, to audit it again later with --inventory-in
    #[arg(long, value_name = "FILE")]
    pub inventory_out: Option<PathBuf>,
    /// Audit a saved inventory instead of reading AWS (no network, no credentials)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["regions", "db_tag", "inventory_out", "profile", "region", "endpoint_url"]
    )]
    pub inventory_in: Option<PathBuf>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

pub fn run(args: AuditArgs, out: &mut dyn Write) -> CliResult {
    if let Some(path) = &args.inventory_out {
        store::check_writable(path).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let (inventory, source) = match &args.inventory_in {
        Some(path) => (
            store::load(path).map_err(|e| CliError::usage(e.to_string()))?,
            Source::SavedInventory,
        ),
        None => {
            let regions = match &args.regions {
                Some(text) => {
                    RegionSelection::parse(text).map_err(|e| CliError::usage(e.to_string()))?
                }
                None => RegionSelection::Configured,
            };
            let db_tag = DbTag::parse(&args.db_tag).map_err(|e| CliError::usage(e.to_string()))?;
            (
                live(
                    &args.aws,
                    regions,
                    db_tag,
                    "audit a saved inventory with `--inventory-in FILE`",
                )?,
                Source::Aws,
            )
        }
    };
    if let Some(path) = &args.inventory_out {
        store::save(path, &inventory).map_err(|e| CliError::failure(e.to_string()))?;
    }
    let report = run::audit(&inventory, source).map_err(|e| CliError::failure(e.to_string()))?;
    report::render(&report, args.format, out)?;
    out.flush()?;
    if !report.errors.is_empty() {
        eprintln!(
            "warning: {} API call(s) failed; the audit went on without them and the report lists them under errors",
            report.errors.len()
        );
    }
    match args.fail_on {
        Some(threshold) if report.failures_at_or_above(threshold) > 0 => {
            Ok(Outcome::ThresholdReached)
        }
        _ => Ok(Outcome::Success),
    }
}

/// Reads the account (with a progress bar on a terminal). `offline_hint` says what to do in a build without AWS.
#[cfg(not(feature = "aws"))]
pub(super) fn live(
    _aws: &AwsArgs,
    _regions: RegionSelection,
    _db_tag: DbTag,
    offline_hint: &str,
) -> Result<Inventory, CliError> {
    Err(CliError::usage(format!(
        "this atrest was built without AWS support (feature `aws`); {offline_hint}"
    )))
}

/// Reads the account (with a progress bar on a terminal). `offline_hint` says what to do in a build without AWS.
#[cfg(feature = "aws")]
pub(super) fn live(
    aws: &AwsArgs,
    regions: RegionSelection,
    db_tag: DbTag,
    _offline_hint: &str,
) -> Result<Inventory, CliError> {
    use std::io::IsTerminal;
    use std::sync::Arc;

    use crate::audit::collect::{self, CollectOptions, NoProgress, Progress};
    use crate::aws::{AwsSetupError, block_on};

    let settings = aws.settings();
    settings
        .validate()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(progress::Bar::default()));
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => bar.clone(),
        None => Arc::new(NoProgress),
    };
    let options = CollectOptions::new(regions.clone(), db_tag);
    let result = block_on(async {
        let config = match settings.load().await {
            Ok(config) => config,
            // With an explicit region list, the first listed region serves the account-wide calls.
            Err(AwsSetupError::NoRegion) => match &regions {
                RegionSelection::List(list) if !list.is_empty() => {
                    let mut fallback = settings.clone();
                    fallback.region = Some(list[0].clone());
                    fallback.load().await?
                }
                _ => return Err(AwsSetupError::NoRegion),
            },
            Err(e) => return Err(e),
        };
        Ok(collect::collect(&config, &options, progress).await)
    });
    if let Some(bar) = bar {
        bar.clear();
    }
    match result {
        Ok(Ok(inventory)) => Ok(inventory),
        Ok(Err(e @ (AwsSetupError::NoRegion | AwsSetupError::BadEndpoint(_)))) => {
            Err(CliError::usage(e.to_string()))
        }
        Ok(Err(e)) | Err(e) => Err(CliError::failure(e.to_string())),
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
