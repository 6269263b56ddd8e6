//! The flags of `atrest audit`: the inventory source, the output, and the accounts of an organisation audit.

use std::path::PathBuf;

use clap::Args;

use super::inventory::InventorySource;
use super::{CliError, ReportFormat};
use crate::model::Severity;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub source: InventorySource,
    #[command(flatten)]
    pub org: OrgArgs,
    /// Write each account's inventory to DIR/<account>.json as soon as it is read; audit the directory again
    /// later with `--inventory-in DIR` (an organisation evidence bundle keeps them under `inventories/` instead)
    #[arg(long, value_name = "DIR", requires = "accounts")]
    pub out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Report format
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Exit with code 3 when a failed finding has this severity or higher
    /// (informational, low, medium, high, critical)
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Save what was read (the inventory, JSON) to FILE, to audit it again later with --inventory-in
    #[arg(long, value_name = "FILE", conflicts_with_all = ["inventory_in", "accounts"])]
    pub inventory_out: Option<PathBuf>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

/// How hard a live audit may call AWS, and whether to say what it called.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Calls in flight per service for the whole run (all accounts and regions), as SERVICE=N pairs, e.g.
    /// `kms=4,rds=4`; services not named keep their defaults (ec2=16, rds=8, kms=8, iam=2, organizations=2,
    /// sts=8)
    #[arg(long, value_name = "SERVICE=N,...", conflicts_with = "inventory_in")]
    pub api_limits: Option<String>,
    /// Print the API calls made, per `service:Operation`, and the most in flight per service, as one JSON line
    /// on stderr (`stats: {...}`)
    #[arg(long, conflicts_with = "inventory_in")]
    pub stats: bool,
}

impl ApiArgs {
    pub fn limits(&self) -> Result<crate::audit::calls::ApiLimits, CliError> {
        match &self.api_limits {
            Some(text) => Ok(crate::audit::calls::ApiLimits::parse(text)?),
            None => Ok(crate::audit::calls::ApiLimits::default()),
        }
    }

    /// `--stats`: one line on stderr.
    pub fn print(&self, stats: Option<&crate::audit::calls::CallStats>) {
        if let (true, Some(stats)) = (self.stats, stats) {
            let line = serde_json::to_string(stats).unwrap_or_default();
            eprintln!("stats: {line}");
        }
    }
}

/// Several accounts in one run, each read through a role assumed in it.
#[derive(Debug, Args)]
pub struct OrgArgs {
    /// Audit several accounts through `--role-name`: `org` (every account of the caller's organisation that is not
    /// suspended; needs the management or a delegated administrator account) or a comma-separated list of
    /// account ids
    #[arg(
        long,
        value_name = "org|LIST",
        requires = "role_name",
        conflicts_with = "inventory_in"
    )]
    pub accounts: Option<String>,
    /// The role to assume in each account (`arn:<partition>:iam::<account>:role/NAME`)
    #[arg(long, value_name = "NAME", requires = "accounts")]
    pub role_name: Option<String>,
    /// The external id the role's trust policy asks for (`sts:ExternalId`)
    #[arg(long, value_name = "ID", requires = "accounts")]
    pub external_id: Option<String>,
    /// The session name of the assumed role, as CloudTrail shows it
    #[arg(long, value_name = "NAME", default_value = "atrest-audit")]
    pub role_session_name: String,
    /// Set this source identity on every assumed role session (the role's trust policy must allow
    /// `sts:SetSourceIdentity`); CloudTrail keeps it through role chaining
    #[arg(long, value_name = "NAME", requires = "accounts")]
    pub source_identity: Option<String>,
    /// How long each assumed role session lasts, in seconds (900 to 43200, within the role's maximum session
    /// duration; default: the role's one hour). Sessions are renewed shortly before they expire, so a run may last
    /// longer than this
    #[arg(long, value_name = "SECONDS", requires = "accounts", value_parser = clap::value_parser!(u64).range(900..=43200))]
    pub role_duration: Option<u64>,
    /// Accounts read at the same time
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_accounts_in_flight: u16,
    /// Audit only shard INDEX (from 0) of COUNT: every COUNT-th account of the sorted account list, starting at
    /// INDEX. `env/COUNT` takes INDEX from `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) or
    /// `AWS_BATCH_JOB_ARRAY_INDEX` (AWS Batch array job)
    #[arg(long, value_name = "INDEX/COUNT", requires = "accounts")]
    pub shard: Option<String>,
}

/// One shard of the account list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the account at `position` of the sorted list is in this shard.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

/// The variables a scheduler sets to a worker's index, in the order they are read.
pub const SHARD_INDEX_VARIABLES: &[&str] = &["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

const SHARD_HELP: &str = "pass `--shard INDEX/COUNT` with 0 <= INDEX < COUNT (e.g. `--shard 0/3`), or `--shard env/COUNT` \
     in a Kubernetes Indexed Job or an AWS Batch array job";

/// Parses `--shard`; `env` reads an environment variable by name.
pub fn parse_shard(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, CliError> {
    let bad = || CliError::usage(format!("`{text}` is not a shard")).with_help(SHARD_HELP);
    let (index, count) = text.split_once('/').ok_or_else(bad)?;
    let count: usize = count.trim().parse().map_err(|_| bad())?;
    let index: usize = if index.trim() == "env" {
        let (name, value) = SHARD_INDEX_VARIABLES
            .iter()
            .find_map(|name| env(name).map(|v| (*name, v)))
            .ok_or_else(|| {
                CliError::usage(format!(
                    "`--shard {text}` reads the index from `{}`, but neither is set",
                    SHARD_INDEX_VARIABLES.join("` or `")
                ))
                .with_help(SHARD_HELP)
            })?;
        value.trim().parse().map_err(|_| {
            CliError::usage(format!("`{name}={value}` is not a shard index")).with_help(SHARD_HELP)
        })?
    } else {
        index.trim().parse().map_err(|_| bad())?
    };
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// Which accounts `--accounts` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountList {
    Organization,
    Ids(Vec<String>),
}

impl OrgArgs {
    pub fn shard(&self) -> Result<Option<Shard>, CliError> {
        self.shard
            .as_deref()
            .map(|text| parse_shard(text, |name| std::env::var(name).ok()))
            .transpose()
    }

    /// `None`: a single-account audit.
    pub fn accounts(&self) -> Result<Option<AccountList>, CliError> {
        let Some(text) = &self.accounts else {
            return Ok(None);
        };
        if text.trim().eq_ignore_ascii_case("org") {
            return Ok(Some(AccountList::Organization));
        }
        let mut ids: Vec<String> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.len() != 12 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CliError::usage(format!(
                    "`{part}` in `--accounts` is not a 12-digit AWS account id"
                ))
                .with_help(ACCOUNTS_HELP));
            }
            ids.push(part.to_string());
        }
        if ids.is_empty() {
            return Err(CliError::usage("`--accounts` names no account").with_help(ACCOUNTS_HELP));
        }
        ids.sort();
        ids.dedup();
        Ok(Some(AccountList::Ids(ids)))
    }
}

pub const ACCOUNTS_HELP: &str = "pass `--accounts org` or a comma-separated list such as `--accounts 111122223333,444455556666`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_of_api_limits_names_every_default() {
        let command = <ApiArgs as clap::Args>::augment_args(clap::Command::new("audit"));
        let arg = command
            .get_arguments()
            .find(|a| a.get_id() == "api_limits")
            .unwrap();
        let help = arg.get_help().unwrap().to_string();
        for (service, limit) in crate::audit::calls::SERVICES {
            assert!(
                help.contains(&format!("{service}={limit}")),
                "{service}: {help}"
            );
        }
    }

    #[test]
    fn shards_split_the_list_and_read_the_schedulers_index() {
        let none = |_: &str| None;
        assert_eq!(
            parse_shard("1/3", none).unwrap(),
            Shard { index: 1, count: 3 }
        );
        for bad in ["3/3", "0/0", "x/3", "1", "-1/3", "env/3"] {
            assert!(parse_shard(bad, none).is_err(), "{bad}");
        }
        let batch = |name: &str| (name == "AWS_BATCH_JOB_ARRAY_INDEX").then(|| "2".to_string());
        assert_eq!(parse_shard("env/3", batch).unwrap().index, 2);
        let both = |name: &str| {
            Some(
                if name == "JOB_COMPLETION_INDEX" {
                    "0"
                } else {
                    "2"
                }
                .to_string(),
            )
        };
        assert_eq!(parse_shard("env/3", both).unwrap().index, 0);
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for position in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(position)).count(), 1);
        }
    }
}
