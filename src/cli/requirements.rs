//! The requirement flags shared by `advise` and `plan`, and reading requirements from a file, the flags, or the
//! embedded example.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::advisor::Requirements;
use crate::catalog::Catalog;

/// Requirement flags; each sets one key of the requirements schema (docs/requirements.md).
#[derive(Debug, Default, Args)]
pub struct RequirementFlags {
    /// Database engine, as RDS names it (postgres, oracle-ee, sqlserver-se, aurora-mysql...) or any other name
    #[arg(long, value_name = "ENGINE", help_heading = "Requirements")]
    pub engine: Option<String>,
    /// Engine version, e.g. 16.4
    #[arg(long, value_name = "VERSION", help_heading = "Requirements")]
    pub engine_version: Option<String>,
    /// managed | self-managed | either
    #[arg(long, help_heading = "Requirements")]
    pub hosting: Option<String>,
    /// linux | windows
    #[arg(long, help_heading = "Requirements")]
    pub os: Option<String>,
    /// none | 140-3-l1 | 140-3-l2 | 140-3-l3
    #[arg(long, help_heading = "Requirements")]
    pub fips: Option<String>,
    /// shared-ok | single-tenant | customer-operated | outside-aws
    #[arg(long, help_heading = "Requirements")]
    pub hsm: Option<String>,
    /// aws-kms-ok | customer-held
    #[arg(long, help_heading = "Requirements")]
    pub custody: Option<String>,
    /// none | annual | custom-period | on-demand
    #[arg(long, help_heading = "Requirements")]
    pub rotation: Option<String>,
    /// volume | database | table | column | row | cell
    #[arg(long, help_heading = "Requirements")]
    pub granularity: Option<String>,
    /// none | key-admin-not-dba | dba-must-not-see-plaintext
    #[arg(long, help_heading = "Requirements")]
    pub separation: Option<String>,
    /// A compliance regime (repeatable): pci-pan hipaa fedramp-moderate fedramp-high nist-800-53 gdpr
    #[arg(long = "regime", value_name = "REGIME", help_heading = "Requirements")]
    pub regimes: Vec<String>,
    /// none | cross-region | cross-account
    #[arg(long, help_heading = "Requirements")]
    pub snapshot_sharing: Option<String>,
    /// The database is replicated to or restored in another Region
    #[arg(long, help_heading = "Requirements")]
    pub multi_region: bool,
    /// low | medium | high
    #[arg(long, help_heading = "Requirements")]
    pub capacity: Option<String>,
    /// minimal | moderate | high
    #[arg(long, help_heading = "Requirements")]
    pub budget: Option<String>,
    /// A licence already held (repeatable): oracle-ee-aso sqlserver-ee sqlserver-se mysql-enterprise mongodb-enterprise edb
    #[arg(
        long = "licence",
        value_name = "LICENCE",
        help_heading = "Requirements"
    )]
    pub licences: Vec<String>,
    /// greenfield | existing-unencrypted | rekey
    #[arg(long, help_heading = "Requirements")]
    pub migration: Option<String>,
    /// none | driver-only | ok
    #[arg(long, help_heading = "Requirements")]
    pub app_changes: Option<String>,
    /// standard | high-sla
    #[arg(long, help_heading = "Requirements")]
    pub availability: Option<String>,
    /// Any requirement as section.key=value (lists comma-separated), e.g. --set data.regimes=pci-pan,gdpr
    #[arg(long = "set", value_name = "KEY=VALUE", help_heading = "Requirements")]
    pub set: Vec<String>,
}

impl RequirementFlags {
    /// (flag, key, value) for every flag given.
    fn pairs(&self) -> Result<Vec<(String, String, String)>, CliError> {
        let mut pairs = Vec::new();
        let mut one = |flag: &str, key: &str, value: &Option<String>| {
            if let Some(v) = value {
                pairs.push((format!("--{flag}"), key.to_string(), v.clone()));
            }
        };
        one("engine", "database.engine", &self.engine);
        one("engine-version", "database.version", &self.engine_version);
        one("hosting", "database.hosting", &self.hosting);
        one("os", "database.os", &self.os);
        one("fips", "keys.fips", &self.fips);
        one("hsm", "keys.hsm", &self.hsm);
        one("custody", "keys.custody", &self.custody);
        one("rotation", "keys.rotation", &self.rotation);
        one("granularity", "data.granularity", &self.granularity);
        one("separation", "data.separation", &self.separation);
        one(
            "snapshot-sharing",
            "data.snapshot_sharing",
            &self.snapshot_sharing,
        );
        one("capacity", "operations.capacity", &self.capacity);
        one("budget", "operations.budget", &self.budget);
        one("migration", "operations.migration", &self.migration);
        one("app-changes", "operations.app_changes", &self.app_changes);
        one(
            "availability",
            "operations.availability",
            &self.availability,
        );
        if !self.regimes.is_empty() {
            pairs.push((
                "--regime".into(),
                "data.regimes".into(),
                self.regimes.join(","),
            ));
        }
        if !self.licences.is_empty() {
            pairs.push((
                "--licence".into(),
                "operations.licences".into(),
                self.licences.join(","),
            ));
        }
        if self.multi_region {
            pairs.push((
                "--multi-region".into(),
                "data.multi_region".into(),
                "true".into(),
            ));
        }
        for item in &self.set {
            let Some((key, value)) = item.split_once('=') else {
                return Err(CliError::usage(format!(
                    "`--set {item}` is not of the form `section.key=value`"
                ))
                .with_help("e.g. `--set keys.fips=140-3-l3`"));
            };
            pairs.push((
                "--set".into(),
                key.trim().to_string(),
                value.trim().to_string(),
            ));
        }
        Ok(pairs)
    }

    pub fn is_empty(&self) -> bool {
        self.pairs().map(|p| p.is_empty()).unwrap_or(false)
    }

    /// Applies the flags over `req`.
    pub fn apply(&self, catalog: &Catalog, req: &mut Requirements) -> Result<(), CliError> {
        for (flag, key, value) in self.pairs()? {
            req.set(catalog, &key, &value, &flag)?;
        }
        Ok(())
    }
}

/// Reads a requirements file, with errors that name it.
pub fn read_requirements(
    catalog: &Catalog,
    path: &PathBuf,
    req: &mut Requirements,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!(
            "cannot read requirements file `{}`: {e}",
            path.display()
        ))
        .with_help("check the path")
    })?;
    Ok(req.merge_toml(catalog, &text, &path.display().to_string(), &[])?)
}

/// Builds the requirements from the file and flags; with neither, the embedded example (said on stderr).
pub fn requirements(
    catalog: &Catalog,
    file: Option<&PathBuf>,
    flags: &RequirementFlags,
) -> Result<Requirements, CliError> {
    let mut req = Requirements::defaults(catalog);
    match file {
        Some(path) => read_requirements(catalog, path, &mut req)?,
        None if flags.is_empty() => {
            eprintln!(
                "no requirements given: advising on the embedded example (a PCI card-data PostgreSQL database); \
                 pass --requirements FILE or flags such as --engine and --fips"
            );
            req.merge_toml(
                catalog,
                &catalog.example_requirements,
                "decision/examples/requirements.toml",
                &[],
            )
            .map_err(|e| CliError::from(e).as_failure())?;
        }
        None => {}
    }
    flags.apply(catalog, &mut req)?;
    Ok(req)
}
