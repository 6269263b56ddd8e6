//! `atrest evidence`: signing keys, evidence bundles (build, verify, diff) and the compliance frameworks.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::inventory::InventorySource;
use super::{CliError, CliResult, Outcome};
use crate::audit::controls::ControlStatus;
use crate::audit::{clock, run};
use crate::catalog::Catalog;
use crate::evidence::{attach, bundle, diff, signing, verify};
use crate::report;

#[derive(Debug, Args)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    pub command: EvidenceCommand,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Create an Ed25519 key pair for signing bundles: KEYFILE (private, mode 0600) and KEYFILE.pub
    Keygen(KeygenArgs),
    /// Audit the account (or a saved inventory) and write an evidence bundle into a new, empty directory
    Build(Box<BuildArgs>),
    /// Check a bundle against its manifest and signature; exit 1 on any problem
    Verify(VerifyArgs),
    /// Show what changed between two bundles
    Diff(DiffArgs),
    /// Merge the shard bundles of one organisation run into one signed organisation bundle
    Merge(super::evidence_org::MergeArgs),
    /// List the compliance frameworks, their controls and the checks behind them
    Frameworks(FrameworksArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the private key; the public key goes to the same path plus `.pub`
    #[arg(long, value_name = "KEYFILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Directory to write the bundle into; it must not exist yet or be empty
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub source: InventorySource,
    #[command(flatten)]
    pub org: super::audit_args::OrgArgs,
    /// Sign the manifest with this Ed25519 private key (from `atrest evidence keygen`)
    #[arg(long, value_name = "KEYFILE")]
    pub signing_key: Option<PathBuf>,
    /// Add a file as evidence for manual controls (repeatable): a decision record from
    /// `atrest advise|plan --format adr`, a cell keyring or key file (only a description is kept), or any file
    #[arg(long = "attach", value_name = "FILE")]
    pub attach: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// One line per problem, then the verdict
    #[default]
    Table,
    /// Machine-readable
    Json,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle directory
    pub dir: PathBuf,
    /// The signer's public key (the `.pub` file from `atrest evidence keygen`)
    #[arg(long, value_name = "FILE", required_unless_present = "no_signature")]
    pub public_key: Option<PathBuf>,
    /// Check only the files against the manifest; do not check a signature
    #[arg(long, conflicts_with = "public_key")]
    pub no_signature: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: VerifyFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Tables for a terminal
    #[default]
    Table,
    /// Markdown, for a ticket or a change record
    Markdown,
    /// Machine-readable
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older bundle directory
    pub old: PathBuf,
    /// The newer bundle directory
    pub new: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
}

#[derive(Debug, Args)]
pub struct FrameworksArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: VerifyFormat,
}

pub fn run(args: EvidenceArgs, out: &mut dyn Write) -> CliResult {
    match args.command {
        EvidenceCommand::Keygen(a) => keygen(a, out),
        EvidenceCommand::Build(a) => build(*a, out),
        EvidenceCommand::Verify(a) => verify_bundle(a, out),
        EvidenceCommand::Diff(a) => diff_bundles(a, out),
        EvidenceCommand::Merge(a) => super::evidence_org::merge(a, out),
        EvidenceCommand::Frameworks(a) => frameworks(a, out),
    }
}

fn keygen(args: KeygenArgs, out: &mut dyn Write) -> CliResult {
    let public = signing::generate(&args.out)?;
    writeln!(
        out,
        "wrote private key `{}` (mode 0600; keep it secret) and public key `{}`\npublic key sha256 {}",
        args.out.display(),
        signing::public_key_path(&args.out).display(),
        public.fingerprint()
    )?;
    Ok(Outcome::Success)
}

fn build(args: BuildArgs, out: &mut dyn Write) -> CliResult {
    if let Some(accounts) = args.org.accounts()? {
        return super::evidence_org::build(args, accounts, out);
    }
    // Everything the user passed is checked before the account is read.
    let plan = args.source.plan()?;
    bundle::check_out_dir(&args.out)
        .map_err(|e| CliError::from(e).or_help("choose another `--out`"))?;
    let key = match &args.signing_key {
        Some(path) => Some(signing::SigningKey::load(path)?),
        None => None,
    };
    let attachments = attach::prepare_all(&args.attach)?;
    let catalog = Catalog::embedded()?;
    let (inventory, source) = args.source.load(
        plan,
        "build the bundle from a saved inventory with `--inventory-in FILE`",
    )?;
    let report = run::audit(&inventory, catalog, source)?;
    let written = bundle::build(
        &args.out,
        bundle::Input {
            inventory: &inventory,
            report: &report,
            catalog,
            attachments: &attachments,
            signing_key: key.as_ref(),
            built: clock::now_rfc3339(),
        },
    )?;
    let manifest = &written.manifest;
    let failing: Vec<String> = written
        .controls
        .frameworks
        .iter()
        .flat_map(|fw| {
            fw.controls
                .iter()
                .filter(|c| c.status == ControlStatus::Fail)
                .map(move |c| format!("{} {}", fw.name, c.id))
        })
        .collect();
    writeln!(
        out,
        "wrote evidence bundle `{}`: {} file(s) listed in manifest.json{}",
        args.out.display(),
        manifest.files.len(),
        match &key {
            Some(k) => format!(", signed (key sha256 {})", k.public_key().fingerprint()),
            None => ", not signed".to_string(),
        }
    )?;
    writeln!(
        out,
        "{} finding(s) failed, {} passed; failing controls: {}",
        report.summary.fail,
        report.summary.pass,
        if failing.is_empty() {
            "none".to_string()
        } else {
            failing.join(", ")
        }
    )?;
    writeln!(
        out,
        "open `{}` for the report",
        args.out.join(bundle::HTML_FILE).display()
    )?;
    out.flush()?;
    if key.is_none() {
        eprintln!(
            "warning: the bundle is not signed; pass --signing-key KEYFILE (from `atrest evidence keygen`) so that `evidence verify` can show who wrote it"
        );
    }
    if !report.errors.is_empty() {
        eprintln!(
            "warning: {} API call(s) failed; the bundle lists them under errors",
            report.errors.len()
        );
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Success)
}

fn verify_bundle(args: VerifyArgs, out: &mut dyn Write) -> CliResult {
    let key = match &args.public_key {
        Some(path) => Some(signing::PublicKey::load(path)?),
        None => None,
    };
    let v = verify::verify(&args.dir, key.as_ref())?;
    match args.format {
        VerifyFormat::Table => verify::render_text(&v, out)?,
        VerifyFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &v)
                .map_err(|e| CliError::failure(e.to_string()))?;
            writeln!(out)?;
        }
    }
    Ok(if v.intact {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

fn diff_bundles(args: DiffArgs, out: &mut dyn Write) -> CliResult {
    let old = diff::load(&args.old)?;
    let new = diff::load(&args.new)?;
    let d = diff::diff(&old, &new);
    match args.format {
        DiffFormat::Table => diff::render_table(&d, out)?,
        DiffFormat::Markdown => diff::render_markdown(&d, out)?,
        DiffFormat::Json => diff::render_json(&d, out)?,
    }
    Ok(Outcome::Success)
}

fn frameworks(args: FrameworksArgs, out: &mut dyn Write) -> CliResult {
    let catalog = crate::catalog::Catalog::embedded()?;
    match args.format {
        VerifyFormat::Json => report::frameworks::json(&catalog.frameworks, out)?,
        VerifyFormat::Table => report::frameworks::table(&catalog.frameworks, out)?,
    }
    Ok(Outcome::Success)
}
