//! The command line: clap definitions and the dispatch to each pillar. `main.rs` only parses and maps exit codes.

use std::io::Write;

use clap::{Parser, Subcommand};

mod access;
mod advise;
mod audit;
mod audit_args;
mod audit_org;
mod aws_args;
mod cell;
mod cell_args;
mod cell_esdk;
#[cfg(feature = "postgres")]
mod cell_migrate;
mod cell_migrate_args;
#[cfg(feature = "postgres")]
mod cell_migrate_keys;
mod error;
mod evidence;
mod evidence_org;
mod iam_policy;
mod inventory;
mod plan;
mod requirements;

pub use aws_args::AwsArgs;
pub use error::{CliError, ErrorKind};

/// Encryption of databases at rest on AWS: advise and plan, audit and evidence, cell (field) encryption.
#[derive(Debug, Parser)]
#[command(name = "atrest", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the seven database-encryption-at-rest options
    Options(advise::OptionsArgs),
    /// Print an option, overlay, rule, fact or engine in full
    Explain(advise::ExplainArgs),
    /// Recommend an option for a set of requirements, rank the rest, and say why
    Advise(Box<advise::AdviseArgs>),
    /// Turn a fleet inventory into per-database plans: target option, runbook, key policies
    Plan(Box<plan::PlanArgs>),
    /// Audit an AWS account's databases for encryption at rest: checks, and each database's encryption option
    Audit(Box<audit::AuditArgs>),
    /// Who can use the KMS key behind each database: every principal x action, the way in, and the verdict
    Access(Box<access::AccessArgs>),
    /// Evidence bundles for auditors: build (signed), verify, diff; signing keys; the compliance frameworks
    Evidence(evidence::EvidenceArgs),
    /// Encrypt and decrypt single database fields (cells) with envelope encryption
    Cell(Box<cell::CellArgs>),
    /// IAM policies and CloudFormation templates for atrest's own roles
    IamPolicy(iam_policy::IamPolicyArgs),
}

/// What the process should exit with, besides the report it wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command ran, and what it checked did not hold (e.g. a bundle failed verification).
    CheckFailed,
    /// Exit 3: a finding at or above `--fail-on`.
    ThresholdReached,
    /// Exit 4: the audit ran, but some API calls failed, so its result is partial.
    Partial,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::CheckFailed => 1,
            Outcome::ThresholdReached => 3,
            Outcome::Partial => 4,
        }
    }
}

pub type CliResult = Result<Outcome, CliError>;

/// `--format` of `audit`: the library's [`crate::report::Format`], as clap sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Summary and details as tables, for a terminal
    Table,
    /// The whole report as JSON (`schema_version` 1)
    Json,
    /// Markdown tables, for tickets and pull requests
    Markdown,
    /// One self-contained HTML page: charts, control tables per framework, databases, resources
    Html,
    /// OCSF 1.6.0 Detection Findings (class 2004), one per finding, as a JSON array
    Ocsf,
}

impl From<ReportFormat> for crate::report::Format {
    fn from(f: ReportFormat) -> Self {
        use crate::report::Format;
        match f {
            ReportFormat::Table => Format::Table,
            ReportFormat::Json => Format::Json,
            ReportFormat::Markdown => Format::Markdown,
            ReportFormat::Html => Format::Html,
            ReportFormat::Ocsf => Format::Ocsf,
        }
    }
}

/// Runs one parsed command, writing its report to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> CliResult {
    match cli.command {
        Command::Options(args) => advise::options(args, out),
        Command::Explain(args) => advise::explain(args, out),
        Command::Advise(args) => advise::advise(*args, out),
        Command::Plan(args) => plan::run(*args, out),
        Command::Audit(args) => audit::run(*args, out),
        Command::Access(args) => access::run(*args, out),
        Command::Evidence(args) => evidence::run(args, out),
        Command::Cell(args) => cell::run(*args, out),
        Command::IamPolicy(args) => iam_policy::run(args, out),
    }
}
