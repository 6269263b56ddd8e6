//! From an inventory to a report: run every check, attach the catalog's severity, classify the databases, sort,
//! and count.

use std::collections::BTreeMap;

use super::catalog::{self, CatalogError};
use super::checks;
use super::classify;
use super::inventory::Inventory;
use crate::model::{Finding, Severity, Status};
use crate::report::{CheckSummary, REPORT_SCHEMA_VERSION, Report, Summary};

/// Where the inventory came from, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Aws,
    SavedInventory,
}

/// Audits an inventory. Fails only if the embedded check metadata is broken (a build defect, caught by tests).
pub fn audit(inventory: &Inventory, source: Source) -> Result<Report, CatalogError> {
    let metas = catalog::load()?;
    let mut findings: Vec<Finding> = Vec::new();
    let mut per_check: Vec<CheckSummary> = Vec::new();
    for (check, meta) in checks::ALL.iter().zip(&metas) {
        let mut summary = CheckSummary {
            id: meta.id.clone(),
            title: meta.title.clone(),
            severity: meta.severity,
            pass: 0,
            fail: 0,
            not_applicable: 0,
        };
        for r in (check.run)(inventory) {
            match r.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::NotApplicable => summary.not_applicable += 1,
            }
            findings.push(Finding {
                check: meta.id.clone(),
                status: r.status,
                severity: meta.severity,
                resource: r.resource,
                region: r.region,
                message: r.message,
            });
        }
        per_check.push(summary);
    }
    findings.sort_by(|a, b| {
        (&a.check, &a.resource, &a.region, a.status, &a.message).cmp(&(
            &b.check,
            &b.resource,
            &b.region,
            b.status,
            &b.message,
        ))
    });
    per_check.sort_by(|a, b| a.id.cmp(&b.id));

    let databases = classify::classify(inventory);
    let mut errors = inventory.errors.clone();
    errors.sort();
    errors.dedup();

    let mut failed_by_severity: BTreeMap<Severity, usize> =
        Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in findings.iter().filter(|f| f.status == Status::Fail) {
        *failed_by_severity.entry(f.severity).or_default() += 1;
    }
    let mut databases_by_option: BTreeMap<String, usize> = BTreeMap::new();
    for d in &databases {
        *databases_by_option.entry(d.option.label()).or_default() += 1;
    }
    let count = |s: Status| findings.iter().filter(|f| f.status == s).count();
    let summary = Summary {
        pass: count(Status::Pass),
        fail: count(Status::Fail),
        not_applicable: count(Status::NotApplicable),
        failed_by_severity,
        databases_by_option,
        errors: errors.len(),
        checks: per_check,
    };
    let mut regions = inventory.regions.clone();
    regions.sort();
    regions.dedup();
    Ok(Report {
        schema_version: REPORT_SCHEMA_VERSION,
        generator: format!("atrest {}", env!("CARGO_PKG_VERSION")),
        account: inventory.account.clone(),
        regions,
        started: inventory.started.clone(),
        finished: inventory.finished.clone(),
        source: match source {
            Source::Aws => "aws",
            Source::SavedInventory => "inventory",
        }
        .to_string(),
        summary,
        findings,
        databases,
        errors,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::audit::testkit::*;
    use crate::report::{Format, render};

    fn sample() -> Inventory {
        let mut inv = inventory();
        inv.kms_keys.push(key("k1"));
        inv.rds_instances.push(rds_instance("b-db", None));
        inv.rds_instances
            .push(rds_instance("a-db", Some(&key_arn("k1"))));
        inv.ebs_snapshots
            .push(ebs_snapshot("snap-1", None, public()));
        inv
    }

    #[test]
    fn every_check_has_valid_metadata() {
        let metas = catalog::load().unwrap();
        assert_eq!(metas.len(), checks::ALL.len());
    }

    #[test]
    fn findings_are_sorted_and_counted() {
        let report = audit(&sample(), Source::SavedInventory).unwrap();
        let keys: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.check.clone(), f.resource.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(report.summary.fail, 3, "{:#?}", report.findings);
        assert_eq!(report.summary.failed_by_severity[&Severity::Critical], 1);
        assert_eq!(report.failures_at_or_above(Severity::High), 2);
        assert_eq!(report.failures_at_or_above(Severity::Critical), 1);
        assert_eq!(
            report.summary.databases_by_option.get("unencrypted"),
            Some(&1)
        );
    }

    #[test]
    fn every_format_renders() {
        let report = audit(&sample(), Source::SavedInventory).unwrap();
        for format in [Format::Table, Format::Json, Format::Markdown] {
            let mut out = Vec::new();
            render(&report, format, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("b-db"), "{format:?}: {text}");
        }
        let mut out = Vec::new();
        render(&report, Format::Json, &mut out).unwrap();
        let back: Report = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, report);
    }
}
