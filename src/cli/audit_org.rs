//! `atrest audit --accounts org|LIST --role-name NAME`: every account through a role assumed in it, a few at a
//! time, each audited as it arrives (and saved to `--out-dir`), as one report grouped by account. Also
//! `atrest audit --inventory-in DIR`: the same report from a directory of saved inventories, one at a time.

use std::io::Write;
use std::path::Path;

use super::audit::outcome;
use super::audit_args::{AccountList, AuditArgs};
use super::{CliError, CliResult};
use crate::audit::org::OrgAudit;
use crate::audit::provenance::Provenance;
use crate::audit::report::Report;
use crate::audit::run::Source;
use crate::audit::{clock, controls, store};
use crate::catalog::Catalog;
use crate::report::{self, AuditView};

/// Renders an organisation report and picks the exit status.
fn finish(args: &AuditArgs, report: &Report, catalog: &Catalog, out: &mut dyn Write) -> CliResult {
    let matrix = controls::build(report, &catalog.frameworks, &[]);
    let provenance = Provenance::new(report, catalog, None, None, clock::now_rfc3339());
    let view = AuditView {
        report,
        controls: &matrix,
        provenance: &provenance,
        attachments: &[],
        catalog,
        in_bundle: false,
        access: None,
    };
    report::render(&view, args.format.into(), out)?;
    out.flush()?;
    Ok(outcome(report, args.fail_on))
}

/// The saved inventories of a directory (`*.json`, by name), audited one at a time.
pub fn saved(args: &AuditArgs, dir: &Path, out: &mut dyn Write) -> CliResult {
    let catalog = Catalog::embedded()?;
    let files = inventory_files(dir)?;
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "directory `{}` holds no inventory (`*.json`)",
            dir.display()
        ))
        .with_help("write one with `atrest audit --accounts ... --out-dir DIR`"));
    }
    let mut org = OrgAudit::new(catalog, Source::SavedInventory);
    for path in files {
        let inventory = store::load(&path)?;
        let id = inventory.account.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        org.add(&id, None, &inventory)?;
    }
    let report = org.finish();
    finish(args, &report, catalog, out)
}

fn inventory_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, CliError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::usage(format!("cannot read directory `{}`: {e}", dir.display())))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(not(feature = "aws"))]
pub fn run(_args: &AuditArgs, _accounts: AccountList, _out: &mut dyn Write) -> CliResult {
    Err(
        CliError::usage("this atrest was built without AWS support (feature `aws`)")
            .with_help("audit saved inventories with `--inventory-in DIR`"),
    )
}

#[cfg(feature = "aws")]
pub fn run(args: &AuditArgs, accounts: AccountList, out: &mut dyn Write) -> CliResult {
    use std::io::IsTerminal;
    use std::sync::Arc;

    use super::inventory::{Plan, endpoint_help};
    use crate::audit::collect::accounts::{self as collect_accounts, Role, Target};
    use crate::audit::collect::{CollectOptions, NoProgress, Progress};
    use crate::aws::block_on;

    let Plan::Live { regions, db_tag } = args.source.plan()? else {
        return Err(CliError::usage(
            "`--accounts` reads AWS: it cannot audit a saved inventory",
        ));
    };
    let shard = args.org.shard()?;
    if let Some(dir) = &args.org.out_dir {
        prepare_out_dir(dir)?;
    }
    let role = Role {
        name: args.org.role_name.clone().unwrap_or_default(),
        external_id: args.org.external_id.clone(),
        session_name: args.org.role_session_name.clone(),
        source_identity: args.org.source_identity.clone(),
    };
    let settings = args.source.aws.settings();
    settings.validate().map_err(endpoint_help)?;
    let catalog = Catalog::embedded()?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(progress::AccountBar::new()));
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => bar.clone(),
        None => Arc::new(NoProgress),
    };
    let options = CollectOptions::new(regions.clone(), db_tag);
    let in_flight = usize::from(args.org.max_accounts_in_flight);
    let out_dir = args.org.out_dir.clone();

    let result: Result<Report, CliError> = block_on(async {
        let config = super::inventory::load_config(&settings, &regions)
            .await
            .map_err(endpoint_help)?;
        let (_, partition) = collect_accounts::caller(&config)
            .await
            .map_err(caller_error)?;
        let targets: Vec<Target> = match &accounts {
            AccountList::Organization => collect_accounts::organization(&config)
                .await
                .map_err(|e| {
                    CliError::failure(format!(
                        "cannot list the organisation's accounts: {} {}: {}",
                        e.service, e.operation, e.message
                    ))
                    .with_help(
                        "run from the management account or a delegated administrator (organizations:ListAccounts), \
                         or pass `--accounts ID,ID`",
                    )
                })?,
            AccountList::Ids(ids) => ids
                .iter()
                .map(|id| Target {
                    id: id.clone(),
                    name: None,
                })
                .collect(),
        };
        if targets.is_empty() {
            return Err(CliError::failure("the organisation lists no active account"));
        }
        let targets: Vec<Target> = match shard {
            Some(s) => targets
                .into_iter()
                .enumerate()
                .filter(|(position, _)| s.holds(*position))
                .map(|(_, t)| t)
                .collect(),
            None => targets,
        };
        if targets.is_empty() {
            return Err(CliError::failure(
                "this shard holds no account: there are fewer accounts than shards",
            ));
        }
        let total = targets.len();
        let mut org = OrgAudit::new(catalog, Source::Aws);
        let mut failure: Option<CliError> = None;
        collect_accounts::collect_accounts(
            &config,
            &partition,
            targets,
            &role,
            &options,
            in_flight,
            progress,
            |target, inventory| {
                if failure.is_some() {
                    return;
                }
                if let Some(dir) = &out_dir {
                    let path = dir.join(format!("{}.json", target.id));
                    if let Err(e) = store::save(&path, &inventory) {
                        failure = Some(e.into());
                        return;
                    }
                }
                if let Err(e) = org.add(&target.id, target.name.as_deref(), &inventory) {
                    failure = Some(e.into());
                }
            },
        )
        .await;
        if let Some(e) = failure {
            return Err(e);
        }
        if org.read_nothing() {
            let report = org.finish();
            let first = report
                .errors
                .first()
                .map(|e| format!("{} {}: {}", e.service, e.operation, e.message))
                .unwrap_or_default();
            return Err(CliError::failure(format!(
                "none of the {total} account(s) could be read; the first error: {first}"
            ))
            .with_help(
                "check `--role-name`, `--external-id` and the role's trust policy in the member accounts \
                 (`atrest iam-policy audit` prints one)",
            ));
        }
        Ok(org.finish())
    })
    .map_err(endpoint_help)
    .and_then(|r| r);
    if let Some(bar) = bar {
        bar.clear();
    }
    let report = result?;
    finish(args, &report, catalog, out)
}

/// The caller's own identity could not be read: no credentials, or nothing reachable.
#[cfg(feature = "aws")]
fn caller_error(e: crate::audit::inventory::CollectError) -> CliError {
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

/// `--out-dir`: created when missing; an existing one must hold no inventory yet, so runs never mix.
#[cfg(feature = "aws")]
fn prepare_out_dir(dir: &Path) -> Result<(), CliError> {
    let help = "choose a new or empty directory for `--out-dir`";
    if dir.exists() {
        let files = inventory_files(dir).map_err(|e| e.with_help(help))?;
        if !files.is_empty() {
            return Err(CliError::usage(format!(
                "`--out-dir` `{}` already holds inventories",
                dir.display()
            ))
            .with_help(help));
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::usage(format!("cannot create `{}`: {e}", dir.display())).with_help(help)
    })
}

#[cfg(feature = "aws")]
mod progress {
    use std::io::Write;
    use std::sync::Mutex;
    use std::time::Instant;

    use crate::audit::collect::Progress;

    /// `[####....] 12/31 accounts, ETA 0:42` on stderr (only when stderr is a terminal).
    pub struct AccountBar {
        state: Mutex<(usize, usize)>,
        started: Instant,
    }

    impl AccountBar {
        pub fn new() -> Self {
            AccountBar {
                state: Mutex::new((0, 0)),
                started: Instant::now(),
            }
        }

        fn draw(&self) {
            let Ok(state) = self.state.lock() else { return };
            let (done, total) = *state;
            const WIDTH: usize = 24;
            let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
            let eta = match done {
                0 => "ETA --:--".to_string(),
                _ => {
                    let per = self.started.elapsed().as_secs_f64() / done as f64;
                    let left = (per * total.saturating_sub(done) as f64).round() as u64;
                    format!("ETA {}:{:02}", left / 60, left % 60)
                }
            };
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[2K[{}{}] {done}/{total} accounts, {eta}",
                "#".repeat(filled),
                ".".repeat(WIDTH - filled)
            );
        }

        pub fn clear(&self) {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }

    impl Progress for AccountBar {
        fn add(&self, units: usize) {
            if let Ok(mut state) = self.state.lock() {
                state.1 += units;
            }
            self.draw();
        }

        fn done(&self, _label: &str) {
            if let Ok(mut state) = self.state.lock() {
                state.0 += 1;
            }
            self.draw();
        }
    }
}
