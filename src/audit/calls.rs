//! The API calls of an audit as plain data: how many calls each service may have in flight in one run
//! (`--api-limits`), and what a run called (`--stats`). The collectors enforce the limits and fill the counts.

use std::collections::BTreeMap;

use serde::Serialize;

/// Every service the audit calls, with its default number of calls in flight for one run (shared by all its
/// accounts and regions). The quotas they are sized to are per account and Region, so one run stays under them
/// with room for the account's other callers:
///
/// * `ec2`: each Describe* action has its own token bucket (100 tokens, refilled at 20 per second).
/// * `rds`: all RDS actions share one bucket (a burst of 300, 12 per second sustained).
/// * `kms`: per-operation quotas per second (ListKeys, ListAliases, DescribeKey, GetKeyPolicy,
///   GetKeyRotationStatus, ListGrants), shared with everything else in the account that manages keys.
/// * `iam`, `organizations`: global services with low quotas and large pages (GetAccountAuthorizationDetails).
/// * `sts`: GetCallerIdentity once per account.
pub const SERVICES: &[(&str, usize)] = &[
    ("ec2", 16),
    ("rds", 8),
    ("kms", 8),
    ("iam", 2),
    ("organizations", 2),
    ("sts", 8),
];

/// The most calls in flight a limit may allow: more would only move the queue from here to the service.
pub const MAX_LIMIT: usize = 256;

/// Calls in flight per service, for one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    limits: BTreeMap<&'static str, usize>,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            limits: SERVICES.iter().copied().collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiLimitsError {
    #[error("`{0}` is not SERVICE=N")]
    Malformed(String),
    #[error("`{0}` is not a service the audit calls")]
    UnknownService(String),
    #[error("`{0}` is not a number of calls from 1 to {MAX_LIMIT}")]
    BadLimit(String),
}

impl crate::error::Help for ApiLimitsError {
    fn help(&self) -> Option<String> {
        let names: Vec<&str> = SERVICES.iter().map(|(name, _)| *name).collect();
        Some(format!(
            "pass SERVICE=N pairs separated by commas, e.g. `kms=4,rds=4`; services: {}",
            names.join(", ")
        ))
    }

    fn is_usage(&self) -> bool {
        true
    }
}

impl ApiLimits {
    /// The defaults, changed by `SERVICE=N` pairs separated by commas (`kms=4,rds=2`).
    pub fn parse(text: &str) -> Result<Self, ApiLimitsError> {
        let mut limits = ApiLimits::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| ApiLimitsError::Malformed(pair.to_string()))?;
            let name = name.trim().to_ascii_lowercase();
            let service = SERVICES
                .iter()
                .map(|(known, _)| *known)
                .find(|known| *known == name)
                .ok_or(ApiLimitsError::UnknownService(name))?;
            let limit = value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiLimitsError::BadLimit(value.trim().to_string()))?;
            limits.limits.insert(service, limit);
        }
        Ok(limits)
    }

    /// The limit of `service` (a name of [`SERVICES`]); a service not listed gets the smallest default.
    pub fn get(&self, service: &str) -> usize {
        self.limits
            .get(service)
            .copied()
            .unwrap_or_else(|| self.limits.values().copied().min().unwrap_or(1))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        self.limits.iter().map(|(name, limit)| (*name, *limit))
    }
}

/// What one run called: every operation by `service:Operation` (an operation retried counts once), the attempts
/// including retries, and the most calls that were in flight at once per service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    pub calls: BTreeMap<String, u64>,
    pub total: u64,
    pub attempts: u64,
    pub peak_in_flight: BTreeMap<String, usize>,
    pub limits: BTreeMap<String, usize>,
}

impl CallStats {
    /// Calls of one service (`kms`), all operations.
    pub fn service_total(&self, service: &str) -> u64 {
        let prefix = format!("{service}:");
        self.calls
            .iter()
            .filter(|(op, _)| op.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_start_from_the_defaults_and_take_overrides() {
        let limits = ApiLimits::parse("kms=3, RDS=1").unwrap();
        assert_eq!(limits.get("kms"), 3);
        assert_eq!(limits.get("rds"), 1);
        assert_eq!(limits.get("ec2"), 16);
        assert_eq!(ApiLimits::parse("").unwrap(), ApiLimits::default());
        for bad in ["kms", "kms=0", "kms=x", "s3=4", "kms=100000"] {
            assert!(ApiLimits::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_totals_add_up_their_operations() {
        let mut stats = CallStats::default();
        stats.calls.insert("kms:DescribeKey".into(), 3);
        stats.calls.insert("kms:ListKeys".into(), 1);
        stats.calls.insert("kmsx:Other".into(), 7);
        assert_eq!(stats.service_total("kms"), 4);
    }
}
