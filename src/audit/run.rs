//! From an inventory to a report: run every check, attach the catalog's severity, classify the databases, sort,
//! and count.

use std::collections::BTreeMap;

use super::checks;
use super::classify;
use super::inventory::Inventory;
use super::report::{CheckSummary, REPORT_SCHEMA_VERSION, Report, Summary};
use crate::catalog::Catalog;
use crate::model::{Finding, Severity, Status};

/// Where the inventory came from, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Aws,
    SavedInventory,
}

/// A registered check has no metadata in the catalog: a build defect, caught by the catalog tests.
#[derive(Debug, thiserror::Error)]
#[error("check `{id}` has no metadata in the decision catalog")]
pub struct MissingCheckMeta {
    pub id: &'static str,
}

impl crate::error::Help for MissingCheckMeta {
    fn help(&self) -> Option<String> {
        Some(format!(
            "add `decision/checks/{}.toml` and rebuild",
            self.id
        ))
    }
}

/// Audits an inventory against the catalog's check metadata and option titles.
pub fn audit(
    inventory: &Inventory,
    catalog: &Catalog,
    source: Source,
) -> Result<Report, MissingCheckMeta> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut per_check: Vec<CheckSummary> = Vec::new();
    for check in checks::ALL {
        let meta = catalog
            .check(check.id)
            .ok_or(MissingCheckMeta { id: check.id })?;
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
                account: None,
                account_name: None,
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

    let databases = classify::classify(inventory, catalog);
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
        account_name: inventory.account_name.clone(),
        accounts: Vec::new(),
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
mod tests {
    use super::*;
    use crate::audit::testkit::*;

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

    fn catalog() -> &'static Catalog {
        Catalog::embedded().unwrap()
    }

    #[test]
    fn every_check_has_valid_metadata() {
        for check in checks::ALL {
            assert!(catalog().check(check.id).is_some(), "{}", check.id);
        }
        assert_eq!(catalog().checks.len(), checks::ALL.len());
    }

    #[test]
    fn findings_are_sorted_and_counted() {
        let report = audit(&sample(), catalog(), Source::SavedInventory).unwrap();
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
    fn the_report_round_trips_through_json() {
        let report = audit(&sample(), catalog(), Source::SavedInventory).unwrap();
        let text = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
    }
}
