//! Organisation bundles: `atrest evidence build --accounts ... [--shard I/N]` writes one inventory per account under
//! `inventories/` and a `run.json`; `atrest evidence merge` checks shard bundles (signature first, then that they are
//! the shards of one run, each shard and account once) and writes one signed organisation bundle.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::audit_args::AccountList;
use super::evidence::BuildArgs;
use super::{CliError, CliResult, Outcome};
use crate::audit::org::OrgAudit;
use crate::audit::report::Report;
use crate::audit::run::Source;
use crate::audit::{clock, store};
use crate::catalog::Catalog;
#[cfg(feature = "aws")]
use crate::evidence::org::RunInfo;
use crate::evidence::org::{self, INVENTORIES_DIR};
use crate::evidence::{bundle, signing};

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Directory to write the merged bundle into; it must not exist yet or be empty
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The public key every shard bundle must be signed with
    #[arg(long, value_name = "FILE")]
    pub public_key: PathBuf,
    /// Sign the merged manifest with this Ed25519 private key
    #[arg(long, value_name = "KEYFILE")]
    pub signing_key: PathBuf,
    /// The shard bundles (from `atrest evidence build --accounts ... --shard I/N`), every shard of one run
    #[arg(value_name = "SHARD", required = true, num_args = 1..)]
    pub shards: Vec<PathBuf>,
}

fn written(
    out: &mut dyn Write,
    dir: &std::path::Path,
    files: usize,
    key: &signing::SigningKey,
    report: &Report,
) -> CliResult {
    writeln!(
        out,
        "wrote organisation bundle `{}`: {} account(s), {} file(s) listed in manifest.json, signed (key sha256 {})",
        dir.display(),
        report.accounts.len(),
        files,
        key.public_key().fingerprint()
    )?;
    writeln!(
        out,
        "{} finding(s) failed, {} passed",
        report.summary.fail, report.summary.pass
    )?;
    out.flush()?;
    if !report.errors.is_empty() {
        eprintln!(
            "warning: {} API call(s) failed; the bundle lists them under errors",
            report.errors.len()
        );
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Success)
}

#[cfg(feature = "aws")]
fn require_key(args: &BuildArgs) -> Result<signing::SigningKey, CliError> {
    match &args.signing_key {
        Some(path) => Ok(signing::SigningKey::load(path)?),
        None => Err(
            CliError::usage("an organisation bundle must be signed").with_help(
                "pass `--signing-key KEYFILE` (from `atrest evidence keygen`), so that its shards can be merged and verified",
            ),
        ),
    }
}

#[cfg(not(feature = "aws"))]
pub fn build(_args: BuildArgs, _accounts: AccountList, _out: &mut dyn Write) -> CliResult {
    Err(CliError::usage(
        "this atrest was built without AWS support (feature `aws`)",
    ))
}

#[cfg(feature = "aws")]
pub fn build(args: BuildArgs, accounts: AccountList, out: &mut dyn Write) -> CliResult {
    if !args.attach.is_empty() {
        return Err(
            CliError::usage("`--attach` does not apply to an organisation bundle").with_help(
                "attach decision records to the bundle of one account, or keep them beside the organisation bundle",
            ),
        );
    }
    bundle::check_out_dir(&args.out)
        .map_err(|e| CliError::from(e).or_help("choose another `--out`"))?;
    let key = require_key(&args)?;
    let catalog = Catalog::embedded()?;
    let inventories = args.out.join(INVENTORIES_DIR);
    super::audit_org::prepare_out_dir(&inventories)?;
    let run = super::audit_org::collect_org(
        &args.source,
        &args.org,
        accounts,
        Some(inventories),
        catalog,
        &Default::default(),
    )?;
    let info = RunInfo::new(
        &run.all_accounts,
        run.shard.map(|s| (s.index, s.count)),
        run.report.accounts.iter().map(|a| a.id.clone()).collect(),
        &catalog.version,
    );
    let w = bundle::build_org(
        &args.out,
        bundle::OrgInput {
            report: &run.report,
            catalog,
            run: &info,
            signing_key: Some(&key),
            built: clock::now_rfc3339(),
        },
    )?;
    written(out, &args.out, w.manifest.files.len(), &key, &run.report)
}

pub fn merge(args: MergeArgs, out: &mut dyn Write) -> CliResult {
    bundle::check_out_dir(&args.out)
        .map_err(|e| CliError::from(e).or_help("choose another `--out`"))?;
    let public = signing::PublicKey::load(&args.public_key)?;
    let key = signing::SigningKey::load(&args.signing_key)?;
    let catalog = Catalog::embedded()?;
    let shards = org::check_shards(&args.shards, &public)?;
    let Some(run) = org::merged_run(&shards) else {
        return Err(CliError::usage("no shard bundle given"));
    };
    if run.catalog_version != catalog.version {
        return Err(CliError::usage(format!(
            "the shards were audited with catalog version {}, this atrest has {}",
            run.catalog_version, catalog.version
        ))
        .with_help("merge with the atrest version that built the shards"));
    }
    let dir = args.out.join(INVENTORIES_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::failure(format!("cannot create `{}`: {e}", dir.display())))?;
    let mut audit = OrgAudit::new(catalog, Source::Aws);
    for shard in &shards {
        for (id, path) in shard.run.accounts.iter().zip(&shard.inventories) {
            let bytes = org::read(path)?;
            let inventory = store::from_json(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            )?;
            audit.add(id, None, &inventory)?;
            std::fs::write(dir.join(format!("{id}.json")), &bytes).map_err(|e| {
                CliError::failure(format!("cannot write into `{}`: {e}", dir.display()))
            })?;
        }
    }
    let report = audit.finish();
    let w = bundle::build_org(
        &args.out,
        bundle::OrgInput {
            report: &report,
            catalog,
            run: &run,
            signing_key: Some(&key),
            built: clock::now_rfc3339(),
        },
    )?;
    written(out, &args.out, w.manifest.files.len(), &key, &report)
}
