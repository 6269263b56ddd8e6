//! `atrest access`: who can use the KMS key behind each database (or, with `--principal`, what one principal can
//! use), from the key policies, grants, IAM policies, permissions boundaries, SCPs and RCPs of the account.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::inventory::InventorySource;
use super::{CliError, CliResult, Outcome};
use crate::audit::access;
use crate::report::access::{AccessFormat, render};

#[derive(Debug, Args)]
pub struct AccessArgs {
    #[command(flatten)]
    pub source: InventorySource,
    /// Only this principal (an IAM user, role or account root ARN, or a service principal such as
    /// `rds.amazonaws.com`): what it can do with the key of each database, explicit denies included
    #[arg(long, value_name = "ARN")]
    pub principal: Option<String>,
    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One table per database, for a terminal
    Table,
    /// Every database, key and row as JSON (`schema_version` 1)
    Json,
    /// One Markdown table per database
    Markdown,
}

pub fn run(args: AccessArgs, out: &mut dyn Write) -> CliResult {
    let plan = args.source.plan()?;
    if let Some(p) = &args.principal {
        check_principal(p)?;
    }
    let (inventory, _) = args.source.load(
        plan,
        "analyse a saved inventory with `--inventory-in FILE` (from `atrest audit --inventory-out`)",
    )?;
    let report = access::analyse(&inventory, args.principal.as_deref());
    let format = match args.format {
        Format::Table => AccessFormat::Table,
        Format::Json => AccessFormat::Json,
        Format::Markdown => AccessFormat::Markdown,
    };
    render(&report, format, out)?;
    out.flush()?;
    let missing = [report.inputs.iam, report.inputs.scps, report.inputs.rcps]
        .iter()
        .filter(|s| **s == "not collected")
        .count();
    if !inventory.errors.is_empty() || missing > 0 {
        eprintln!(
            "warning: the inventory is partial ({} failed API call(s), {missing} input(s) not collected); verdicts that depend on what is missing are unknown",
            inventory.errors.len()
        );
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Success)
}

/// A principal is an ARN (`arn:PARTITION:iam::ACCOUNT:...`, `arn:PARTITION:sts::...`) or a service principal.
fn check_principal(p: &str) -> Result<(), CliError> {
    let arn = p.starts_with("arn:") && p.split(':').count() >= 6;
    let service = !p.starts_with("arn:") && p.ends_with(".amazonaws.com");
    if arn || service || p == access::ANYONE {
        return Ok(());
    }
    Err(
        CliError::usage(format!("`{p}` is not a principal ARN or a service principal"))
            .with_help(
                "pass `--principal arn:aws:iam::111122223333:role/NAME`, an account root `arn:aws:iam::111122223333:root`, or a service such as `rds.amazonaws.com`",
            ),
    )
}
