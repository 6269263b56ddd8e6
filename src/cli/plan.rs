//! `atrest plan`: per-database recommendations, runbooks and key policies for a fleet inventory.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::advise::{DecisionFormat, catalog, today};
use super::requirements::{RequirementFlags, requirements};
use super::{CliError, CliResult, Outcome};
use crate::advisor::plan::{self, inventory, render, runbook::Principals};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Fleet inventory: CSV with a header row, or TOML with [[database]] tables (docs/plan.md)
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: PathBuf,
    /// Requirements every database starts from (TOML); rows add their data classes and overrides
    #[arg(long, short = 'r', value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: DecisionFormat,
    /// AWS account id used in key policies and ARNs
    #[arg(long, value_name = "ID", default_value = "111122223333")]
    pub account_id: String,
    /// IAM principal that administers (never uses) the keys
    #[arg(long, value_name = "ARN")]
    pub key_admin: Option<String>,
    /// IAM principal that operates the databases and uses storage keys through RDS/EC2
    #[arg(long, value_name = "ARN")]
    pub db_operator: Option<String>,
    /// IAM principal of the application that requests data keys for cell encryption
    #[arg(long, value_name = "ARN")]
    pub app_principal: Option<String>,
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

pub fn run(args: PlanArgs, out: &mut dyn Write) -> CliResult {
    let catalog = catalog()?;
    account_id(&args.account_id, "--account-id")?;
    for a in &args.share_with {
        account_id(a, "--share-with")?;
    }
    let path = args.inventory.display().to_string();
    let text = std::fs::read_to_string(&args.inventory).map_err(|e| {
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
    principals.share_with = args.share_with;
    let plan = plan::plan(catalog, &base, &rows, &principals)?;
    match args.format {
        DecisionFormat::Table => render::text(&plan, out)?,
        DecisionFormat::Markdown => render::markdown(&plan, out)?,
        DecisionFormat::Adr => crate::report::adr::plan(&plan, catalog, &today(), out)?,
        DecisionFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan)
                .map_err(|e| CliError::failure(e.to_string()))?;
            writeln!(out)?;
        }
    }
    Ok(Outcome::Success)
}
