//! An audit of several accounts as one report. Each account's inventory is audited on its own as soon as it is
//! read, and only its findings, databases and errors are kept: the inventory itself (IAM details, key policies,
//! grants) is dropped, or saved to its own file first, so memory follows the findings, not what was read.
//!
//! Every finding, database and error carries its account id (and name); the report lists each account with its
//! counts and its coverage, and an account that could not be read at all is `unread`, never a pass.

use std::collections::{BTreeMap, BTreeSet};

use super::inventory::{Coverage, Inventory};
use super::report::{AccountSummary, CheckSummary, REPORT_SCHEMA_VERSION, Report, Summary};
use super::run::{MissingCheckMeta, Source, audit};
use crate::catalog::Catalog;
use crate::model::{Severity, Status};

/// Every call of the account's own failed but STS GetCallerIdentity: no resource, no IAM, no region setting. Its
/// place in the organisation does not count: an organisation-wide run reads that with the caller's credentials.
fn read_only_identity(inv: &Inventory) -> bool {
    !inv.errors.is_empty()
        && inv.iam.is_none()
        && inv.rds_instances.is_empty()
        && inv.rds_clusters.is_empty()
        && inv.rds_snapshots.is_empty()
        && inv.rds_cluster_snapshots.is_empty()
        && inv.ebs_volumes.is_empty()
        && inv.ebs_snapshots.is_empty()
        && inv.db_hosts.is_empty()
        && inv.kms_keys.is_empty()
        && inv
            .ebs_region_settings
            .iter()
            .all(|r| r.encryption_by_default.is_none() && r.default_kms_key_id.is_none())
}

/// The accounts audited so far, merged.
pub struct OrgAudit<'a> {
    catalog: &'a Catalog,
    source: Source,
    merged: Report,
    checks: BTreeMap<String, CheckSummary>,
    regions: BTreeSet<String>,
}

impl<'a> OrgAudit<'a> {
    pub fn new(catalog: &'a Catalog, source: Source) -> Self {
        OrgAudit {
            catalog,
            source,
            merged: Report {
                schema_version: REPORT_SCHEMA_VERSION,
                generator: format!("atrest {}", env!("CARGO_PKG_VERSION")),
                account: None,
                account_name: None,
                accounts: Vec::new(),
                regions: Vec::new(),
                started: String::new(),
                finished: String::new(),
                source: match source {
                    Source::Aws => "aws",
                    Source::SavedInventory => "inventory",
                }
                .to_string(),
                summary: Summary::default(),
                findings: Vec::new(),
                databases: Vec::new(),
                errors: Vec::new(),
            },
            checks: BTreeMap::new(),
            regions: BTreeSet::new(),
        }
    }

    /// Audits one account's inventory and keeps its results. `id` is the account that was meant (the inventory
    /// may not know it when nothing could be read); `name` its Organizations name, which beats the IAM alias.
    pub fn add(
        &mut self,
        id: &str,
        name: Option<&str>,
        inventory: &Inventory,
    ) -> Result<(), MissingCheckMeta> {
        let name = name
            .map(str::to_string)
            .or_else(|| inventory.account_name.clone());
        let report = audit(inventory, self.catalog, self.source)?;
        let coverage = match inventory.coverage() {
            Coverage::Complete => "complete",
            _ if read_only_identity(inventory) => "unread",
            Coverage::Partial => "partial",
            Coverage::Nothing { .. } => "unread",
        };
        self.merged.accounts.push(AccountSummary {
            id: id.to_string(),
            name: name.clone(),
            regions: report.regions.clone(),
            coverage: coverage.to_string(),
            pass: report.summary.pass,
            fail: report.summary.fail,
            not_applicable: report.summary.not_applicable,
            databases: report.databases.len(),
            errors: report.errors.len(),
        });
        self.regions.extend(report.regions.iter().cloned());
        for c in report.summary.checks {
            let entry = self.checks.entry(c.id.clone()).or_insert(CheckSummary {
                pass: 0,
                fail: 0,
                not_applicable: 0,
                ..c.clone()
            });
            entry.pass += c.pass;
            entry.fail += c.fail;
            entry.not_applicable += c.not_applicable;
        }
        let earliest = |a: &mut String, b: &str| {
            if !b.is_empty() && (a.is_empty() || b < a.as_str()) {
                *a = b.to_string();
            }
        };
        earliest(&mut self.merged.started, &report.started);
        if report.finished > self.merged.finished {
            self.merged.finished = report.finished.clone();
        }
        for mut f in report.findings {
            f.account = Some(id.to_string());
            f.account_name = name.clone();
            self.merged.findings.push(f);
        }
        for mut d in report.databases {
            d.account = Some(id.to_string());
            d.account_name = name.clone();
            self.merged.databases.push(d);
        }
        for mut e in report.errors {
            e.account = Some(id.to_string());
            self.merged.errors.push(e);
        }
        Ok(())
    }

    /// How many accounts were added.
    pub fn len(&self) -> usize {
        self.merged.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.merged.accounts.is_empty()
    }

    /// Whether no account could be read at all (an account whose every call but GetCallerIdentity failed counts
    /// as not read: who the caller is says nothing about the account's resources).
    pub fn read_nothing(&self) -> bool {
        self.merged.accounts.iter().all(|a| a.coverage == "unread")
    }

    /// The report: accounts by id, and within each account the usual order.
    pub fn finish(self) -> Report {
        let mut r = self.merged;
        r.accounts.sort_by(|a, b| a.id.cmp(&b.id));
        r.findings.sort_by(|a, b| {
            (&a.account, &a.check, &a.resource, &a.region, a.status).cmp(&(
                &b.account,
                &b.check,
                &b.resource,
                &b.region,
                b.status,
            ))
        });
        r.databases
            .sort_by(|a, b| (&a.account, &a.resource).cmp(&(&b.account, &b.resource)));
        r.errors.sort();
        r.errors.dedup();
        r.regions = self.regions.into_iter().collect();
        let count = |s: Status| r.findings.iter().filter(|f| f.status == s).count();
        let mut failed_by_severity: BTreeMap<Severity, usize> =
            Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for f in r.findings.iter().filter(|f| f.status == Status::Fail) {
            *failed_by_severity.entry(f.severity).or_default() += 1;
        }
        let mut databases_by_option: BTreeMap<String, usize> = BTreeMap::new();
        for d in &r.databases {
            *databases_by_option.entry(d.option.label()).or_default() += 1;
        }
        r.summary = Summary {
            pass: count(Status::Pass),
            fail: count(Status::Fail),
            not_applicable: count(Status::NotApplicable),
            failed_by_severity,
            databases_by_option,
            errors: r.errors.len(),
            checks: self.checks.into_values().collect(),
        };
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::inventory::CollectError;
    use crate::audit::testkit::*;

    fn account(id: &str) -> Inventory {
        let mut inv = inventory();
        inv.account = Some(id.into());
        inv.rds_instances.push(rds_instance("db", None));
        for i in &mut inv.rds_instances {
            i.arn = format!("arn:aws:rds:eu-west-1:{id}:db:db");
        }
        inv
    }

    #[test]
    fn every_result_carries_its_account_and_the_counts_add_up() {
        let catalog = Catalog::embedded().unwrap();
        let mut org = OrgAudit::new(catalog, Source::SavedInventory);
        org.add("222222222222", Some("payments"), &account("222222222222"))
            .unwrap();
        org.add("111111111111", None, &account("111111111111"))
            .unwrap();
        let unread = Inventory {
            errors: vec![CollectError {
                account: None,
                region: "eu-west-1".into(),
                service: "sts".into(),
                operation: "AssumeRole".into(),
                message: "AccessDenied: not authorized".into(),
            }],
            ..Inventory::default()
        };
        org.add("333333333333", None, &unread).unwrap();
        assert!(!org.read_nothing());
        let single = audit(&account("111111111111"), catalog, Source::SavedInventory).unwrap();
        let r = org.finish();
        assert_eq!(r.account, None);
        let ids: Vec<&str> = r.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["111111111111", "222222222222", "333333333333"]);
        assert_eq!(r.accounts[1].name.as_deref(), Some("payments"));
        assert_eq!(r.accounts[2].coverage, "unread");
        assert_eq!(r.accounts[0].coverage, "complete");
        assert_eq!(r.findings.len(), 2 * single.findings.len());
        assert_eq!(r.summary.fail, 2 * single.summary.fail);
        assert!(r.findings.iter().all(|f| f.account.is_some()));
        assert!(
            r.databases
                .iter()
                .all(|d| d.resource.contains(d.account.as_deref().unwrap()))
        );
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].account.as_deref(), Some("333333333333"));
        assert_eq!(r.summary.errors, 1);
        let first_other = r
            .findings
            .iter()
            .position(|f| f.account.as_deref() == Some("222222222222"))
            .unwrap();
        assert!(
            r.findings[..first_other]
                .iter()
                .all(|f| f.account.as_deref() == Some("111111111111")),
            "grouped by account"
        );
    }
}
