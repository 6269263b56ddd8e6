//! `atrest plan`: per-database recommendations, runbooks and key policies for a fleet inventory.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::advise::{catalog, today};
use super::requirements::{RequirementFlags, requirements};
use super::{CliError, CliResult, Outcome};
use crate::advisor::plan::{self, inventory, render, runbook::Principals};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Tables for a terminal
    #[default]
    Table,
    /// Machine-readable, with `schema_version`
    Json,
    /// Fleet summary, then a compact section per database
    Markdown,
    /// A Markdown architecture decision record, for `atrest evidence build --attach`
    Adr,
    /// A CloudFormation template: keys, aliases, policies, rotation, EBS default, option groups, the SCP
    Cloudformation,
    /// Terraform (HCL): the same resources, one provider per Region
    Terraform,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Fleet inventory: CSV with a header row, or TOML with [[database]] tables (docs/plan.md)
    #[arg(
        long,
        short = 'i',
        value_name = "FILE",
        required_unless_present = "from_audit",
        conflicts_with = "from_audit"
    )]
    pub inventory: Option<PathBuf>,
    /// Build the fleet from what an audit found: `atrest audit --format json` output or a saved inventory
    #[arg(long, value_name = "FILE")]
    pub from_audit: Option<PathBuf>,
    /// Requirements every database starts from (TOML); rows add their data classes and overrides
    #[arg(long, short = 'r', value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// AWS account id used in key policies and ARNs
    #[arg(long, value_name = "ID", default_value = "111122223333")]
    pub account_id: String,
    /// IAM principal that administers (never uses) the keys
    #[arg(long, value_name = "ARN")]
    pub key_admin: Option<String>,
    /// IAM principal that operates the databases and uses storage keys through RDS/EC2
    #[arg(long, value_name = "ARN")]
    pub db_operator: Option<String>,
    /// IAM principal of the application that writes cell-encrypted values (data keys, re-wrap)
    #[arg(long, value_name = "ARN")]
    pub app_principal: Option<String>,
    /// IAM principal that only reads cell-encrypted values (decrypt)
    #[arg(long, value_name = "ARN")]
    pub app_reader: Option<String>,
    /// The only role the generated SCP lets change key policies
    #[arg(long, value_name = "ARN")]
    pub break_glass_role: Option<String>,
    /// Also write key policies, the SCP, one script per database and wave, and full runbooks into DIR
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Account that receives shared snapshots (repeatable)
    #[arg(long = "share-with", value_name = "ACCOUNT_ID")]
    pub share_with: Vec<String>,
    #[command(flatten)]
    pub flags: RequirementFlags,
}

fn account_id(s: &str, flag: &str) -> Result<(), CliError> {
    if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(
            CliError::usage(format!("`{flag} {s}` is not a 12-digit AWS account id"))
                .with_help("pass the account id as 12 digits, e.g. `123456789012`"),
        )
    }
}

fn read_inventory(file: &std::path::Path) -> Result<Vec<inventory::DatabaseRow>, CliError> {
    let path = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| {
        CliError::usage(format!("cannot read inventory `{path}`: {e}")).with_help("check the path")
    })?;
    let rows = if path.ends_with(".toml") {
        inventory::from_toml(&text, &path)
    } else if path.ends_with(".csv") {
        inventory::from_csv(&text, &path)
    } else {
        return Err(
            CliError::usage(format!("inventory `{path}` must end in .csv or .toml")).with_help(
                "name the file `.csv` (a header row) or `.toml` (`[[database]]` tables)",
            ),
        );
    }?;
    Ok(rows)
}

fn json(value: &impl serde::Serialize, out: &mut dyn Write) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| CliError::failure(e.to_string()))?;
    writeln!(out)?;
    Ok(())
}

pub fn run(args: PlanArgs, out: &mut dyn Write) -> CliResult {
    // A fleet's plan is megabytes of lines: write them in large blocks, not one system call per line.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    let outcome = write_plan(args, &mut buffered)?;
    buffered.flush()?;
    Ok(outcome)
}

fn write_plan(args: PlanArgs, out: &mut dyn Write) -> CliResult {
    let catalog = catalog()?;
    account_id(&args.account_id, "--account-id")?;
    for a in &args.share_with {
        account_id(a, "--share-with")?;
    }
    let rows = match (&args.inventory, &args.from_audit) {
        (_, Some(file)) => {
            let path = file.display().to_string();
            let text = std::fs::read_to_string(file).map_err(|e| {
                CliError::usage(format!("cannot read audit output `{path}`: {e}"))
                    .with_help("check the path")
            })?;
            let estate = plan::estate::from_audit(catalog, &text, &path)?;
            if !estate.skipped.is_empty() {
                eprintln!(
                    "warning: {} resource(s) without a known engine left out: {}",
                    estate.skipped.len(),
                    estate.skipped.join(", ")
                );
            }
            estate.rows
        }
        (Some(file), None) => read_inventory(file)?,
        (None, None) => {
            return Err(CliError::usage("no fleet to plan")
                .with_help("pass `--inventory FILE` or `--from-audit FILE`"));
        }
    };
    let base = match (&args.requirements, args.flags.is_empty()) {
        (None, true) => crate::advisor::Requirements::defaults(catalog),
        (file, _) => requirements(catalog, file.as_ref(), &args.flags)?,
    };
    let mut principals = Principals::placeholders(&args.account_id);
    if let Some(a) = args.key_admin {
        principals.key_admin = a;
    }
    if let Some(a) = args.db_operator {
        principals.db_operator = a;
    }
    if let Some(a) = args.app_principal {
        principals.app = a;
    }
    if let Some(a) = args.app_reader {
        principals.app_reader = a;
    }
    if let Some(a) = args.break_glass_role {
        principals.break_glass = a;
    }
    principals.share_with = args.share_with;
    let plan = plan::plan(catalog, &base, &rows, &principals)?;
    let dir = args.out.as_ref().map(|d| d.display().to_string());
    if let Some(d) = &args.out {
        plan::script::write_out(&plan, catalog, &args.account_id, d).map_err(|e| {
            CliError::failure(format!(
                "cannot write the plan's files into `{}`: {e}",
                d.display()
            ))
            .with_help("check that the directory is writable")
        })?;
    }
    let files = dir.as_deref().map(|dir| render::Files { dir });
    match args.format {
        PlanFormat::Table => render::text(&plan, out)?,
        PlanFormat::Markdown => render::markdown(&plan, files.as_ref(), out)?,
        PlanFormat::Adr => crate::report::adr::plan(&plan, catalog, &today(), out)?,
        PlanFormat::Json => json(&plan, out)?,
        PlanFormat::Cloudformation => json(
            &plan::iac::cloudformation(&plan, catalog, &args.account_id),
            out,
        )?,
        PlanFormat::Terraform => writeln!(
            out,
            "{}",
            plan::iac::terraform(&plan, catalog, &args.account_id)
        )?,
    }
    Ok(Outcome::Success)
}
