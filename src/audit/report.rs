//! The audit's result: every finding, every database's placement, every collection error, and the counts, in a
//! fixed order. Produced by [`super::run`]; the report writers only render it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::classify::Database;
use super::inventory::CollectError;
use crate::model::{Finding, Severity, Status};

/// Bumped when a field changes meaning or is removed; additions keep the version.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything an audit found, in a fixed order: findings by check, resource, region; databases by resource;
/// errors by region, service, operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// `atrest <version>`.
    pub generator: String,
    /// The audited account; `None` in an audit of several accounts (see `accounts`).
    pub account: Option<String>,
    /// The account's IAM alias, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// In an audit of several accounts: each account with its counts, by account id. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSummary>,
    pub regions: Vec<String>,
    /// When the account was read (for a saved inventory: when it was collected).
    pub started: String,
    pub finished: String,
    /// `aws` (read now) or `inventory` (a saved inventory).
    pub source: String,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub databases: Vec<Database>,
    pub errors: Vec<CollectError>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    /// Failed findings per severity (every severity listed, zeros included).
    pub failed_by_severity: BTreeMap<Severity, usize>,
    /// Databases per option (`1`..`7`, `unencrypted`, `undetermined`).
    pub databases_by_option: BTreeMap<String, usize>,
    pub errors: usize,
    pub checks: Vec<CheckSummary>,
}

/// One account of an audit of several accounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub regions: Vec<String>,
    /// `complete`, `partial` (some calls failed) or `unread` (nothing could be read, e.g. its role could not be
    /// assumed): what was not read is unknown, never safe.
    pub coverage: String,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    pub databases: usize,
    pub errors: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
}

impl Report {
    /// The failed findings at or above `threshold`.
    pub fn failures_at_or_above(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.status == Status::Fail && f.severity >= threshold)
            .count()
    }

    /// Failed findings on a database, on its EBS volumes and on the keys behind it.
    pub fn failures_for<'a>(&'a self, db: &Database) -> Vec<&'a Finding> {
        let volumes: Vec<&str> = db.evidence.volumes.iter().map(|v| v.id.as_str()).collect();
        let keys: Vec<&str> = db
            .evidence
            .keys
            .iter()
            .filter_map(|k| k.arn.as_deref())
            .collect();
        self.findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .filter(|f| {
                f.resource == db.resource
                    || keys.contains(&f.resource.as_str())
                    || f.resource
                        .split_once(":volume/")
                        .is_some_and(|(_, id)| volumes.contains(&id))
            })
            .collect()
    }
}
