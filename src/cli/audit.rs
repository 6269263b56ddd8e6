//! `atrest audit`: read an AWS account (or a saved inventory), run the checks, classify the databases, report.

use std::io::Write;

pub use super::audit_args::AuditArgs;
use super::{CliError, CliResult, Outcome};
use crate::audit::controls;
use crate::audit::provenance::Provenance;
use crate::audit::{clock, run, store};
use crate::catalog::Catalog;
use crate::model::Severity;
use crate::report::{self, AuditView};

pub fn run(args: AuditArgs, out: &mut dyn Write) -> CliResult {
    if let Some(accounts) = args.org.accounts()? {
        return super::audit_org::run(&args, accounts, out);
    }
    if let Some(dir) = args.source.inventory_in.as_deref().filter(|p| p.is_dir()) {
        return super::audit_org::saved(&args, dir, out);
    }
    let plan = args.source.plan()?;
    let limits = args.api.limits()?;
    if let Some(path) = &args.inventory_out {
        store::check_writable(path).map_err(|e| CliError::from(e).as_usage())?;
    }
    let catalog = Catalog::embedded()?;
    let (inventory, source, stats) = args.source.load_counted(
        plan,
        "audit a saved inventory with `--inventory-in FILE`",
        &limits,
    )?;
    args.api.print(stats.as_ref());
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
    Ok(outcome(&report, args.fail_on))
}

/// Warns about failed calls on stderr, and picks the exit status: 3 at `--fail-on`, else 4 when partial.
pub(super) fn outcome(report: &crate::audit::report::Report, fail_on: Option<Severity>) -> Outcome {
    if !report.errors.is_empty() {
        eprintln!(
            "warning: {} API call(s) failed; the audit went on without them and the report lists them under errors",
            report.errors.len()
        );
    }
    match fail_on {
        Some(threshold) if report.failures_at_or_above(threshold) > 0 => Outcome::ThresholdReached,
        _ if !report.errors.is_empty() => Outcome::Partial,
        _ => Outcome::Success,
    }
}
