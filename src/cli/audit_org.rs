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
    if let Some(dir) = &args.out_dir {
        prepare_out_dir(dir)?;
    }
    let (catalog, limits) = (Catalog::embedded()?, args.api.limits()?);
    let (source, org) = (&args.source, &args.org);
    let run = collect_org(
        source,
        org,
        accounts,
        args.out_dir.clone(),
        catalog,
        &limits,
    )?;
    args.api.print(Some(&run.stats));
    finish(args, &run.report, catalog, out)
}

/// What an organisation run read: the report, the whole sorted account list, and the shard it took.
#[cfg(feature = "aws")]
pub struct OrgRun {
    pub report: Report,
    pub all_accounts: Vec<String>,
    pub shard: Option<super::audit_args::Shard>,
    pub stats: crate::audit::calls::CallStats,
}

/// Reads the accounts (`out_dir`, when given, must exist: each inventory is written there as it is read).
#[cfg(feature = "aws")]
pub fn collect_org(
    source: &super::inventory::InventorySource,
    org_args: &super::audit_args::OrgArgs,
    accounts: AccountList,
    out_dir: Option<std::path::PathBuf>,
    catalog: &'static Catalog,
    limits: &crate::audit::calls::ApiLimits,
) -> Result<OrgRun, CliError> {
    use std::io::IsTerminal;
    use std::sync::Arc;

    use super::inventory::{Plan, caller_error, endpoint_help};
    use crate::audit::collect::accounts::{self as collect_accounts, Role, Target};
    use crate::audit::collect::{ApiCalls, CollectOptions, NoProgress, Progress};
    use crate::aws::block_on;

    let Plan::Live { regions, db_tag } = source.plan()? else {
        return Err(CliError::usage(
            "`--accounts` reads AWS: it cannot audit a saved inventory",
        ));
    };
    let shard = org_args.shard()?;
    let role = Role {
        name: org_args.role_name.clone().unwrap_or_default(),
        external_id: org_args.external_id.clone(),
        session_name: org_args.role_session_name.clone(),
        source_identity: org_args.source_identity.clone(),
        duration: org_args.role_duration.map(std::time::Duration::from_secs),
    };
    let settings = source.aws.settings();
    settings.validate().map_err(endpoint_help)?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(progress::AccountBar::new()));
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => bar.clone(),
        None => Arc::new(NoProgress),
    };
    let mut options = CollectOptions::new(regions.clone(), db_tag);
    options.api = ApiCalls::new(limits.clone());
    let in_flight = usize::from(org_args.max_accounts_in_flight);

    let result: Result<OrgRun, CliError> = block_on(async {
        let config = super::inventory::load_config(&settings, &regions)
            .await
            .map_err(endpoint_help)?;
        let (_, partition) = collect_accounts::caller(&config, &options.api)
            .await
            .map_err(caller_error)?;
        let targets: Vec<Target> = match &accounts {
            AccountList::Organization => collect_accounts::organization(&config, &options.api)
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
        let all_accounts: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
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
        // The organisation's structure and policies, read once by the caller that listed its accounts.
        let reader = matches!(accounts, AccountList::Organization)
            .then(|| collect_accounts::OrgReader::new(&config, &options.api));
        let options = CollectOptions {
            organization: reader,
            ..options.clone()
        };
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
        Ok(OrgRun {
            report: org.finish(),
            all_accounts,
            shard,
            stats: options.api.stats(),
        })
    })
    .map_err(endpoint_help)
    .and_then(|r| r);
    if let Some(bar) = bar {
        bar.clear();
    }
    result
}

/// `--out-dir`: created when missing; an existing one must hold no inventory yet, so runs never mix.
#[cfg(feature = "aws")]
pub fn prepare_out_dir(dir: &Path) -> Result<(), CliError> {
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
#[path = "audit_progress.rs"]
mod progress;
