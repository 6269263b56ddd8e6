//! `atrest audit`: read an AWS account (or a saved inventory), run the checks, classify the databases, report.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::inventory::InventorySource;
use super::{CliError, CliResult, Outcome, ReportFormat};
use crate::audit::controls;
use crate::audit::provenance::Provenance;
use crate::audit::{clock, run, store};
use crate::catalog::Catalog;
use crate::model::Severity;
use crate::report::{self, AuditView};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub source: InventorySource,
    /// Report format
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Exit with code 3 when a failed finding has this severity or higher
    /// (informational, low, medium, high, critical)
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Save what was read (the inventory, JSON) to FILE, to audit it again later with --inventory-in
    #[arg(long, value_name = "FILE", conflicts_with = "inventory_in")]
    pub inventory_out: Option<PathBuf>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

pub fn run(args: AuditArgs, out: &mut dyn Write) -> CliResult {
    let plan = args.source.plan()?;
    if let Some(path) = &args.inventory_out {
        store::check_writable(path).map_err(|e| CliError::from(e).as_usage())?;
    }
    let catalog = Catalog::embedded()?;
    let (inventory, source) = args
        .source
        .load(plan, "audit a saved inventory with `--inventory-in FILE`")?;
    if let Some(path) = &args.inventory_out {
        store::save(path, &inventory)?;
    }
    let report = run::audit(&inventory, catalog, source)?;
    let matrix = controls::build(&report, &catalog.frameworks, &[]);
    // A report outside a bundle names no caller, as before bundles recorded one.
    let provenance = Provenance::new(&report, catalog, None, None, clock::now_rfc3339());
    let access = crate::audit::access::analyse(&inventory, None);
    let view = AuditView {
        report: &report,
        controls: &matrix,
        provenance: &provenance,
        attachments: &[],
        catalog,
        in_bundle: false,
        access: Some(&access),
    };
    report::render(&view, args.format.into(), out)?;
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
        _ if !report.errors.is_empty() => Ok(Outcome::Partial),
        _ => Ok(Outcome::Success),
    }
}
