//! `atrest options`, `atrest explain` and `atrest advise`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{AwsArgs, CliError, CliResult, Outcome};
use crate::advisor::{self, EngineSupport, Requirements, render};
use crate::catalog::Catalog;
use crate::suggest;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables for a terminal
    #[default]
    Table,
    /// Machine-readable, with `schema_version`
    Json,
    /// Ready to paste into a planning document
    Markdown,
}

/// Formats of `advise` and `plan`: the report formats plus a decision record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DecisionFormat {
    /// Tables for a terminal
    #[default]
    Table,
    /// Machine-readable, with `schema_version`
    Json,
    /// Ready to paste into a planning document
    Markdown,
    /// A Markdown architecture decision record, for `atrest evidence build --attach`
    Adr,
}

/// Today's date (UTC), for decision records.
pub fn today() -> String {
    crate::audit::clock::now_rfc3339()
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

pub fn catalog() -> Result<&'static Catalog, CliError> {
    Catalog::embedded()
        .map_err(|e| CliError::failure(format!("the embedded decision catalog is invalid: {e}")))
}

#[derive(Debug, Args)]
pub struct OptionsArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

pub fn options(args: OptionsArgs, out: &mut dyn Write) -> CliResult {
    let catalog = catalog()?;
    match args.format {
        ReportFormat::Table => render::options_table(catalog, out)?,
        ReportFormat::Markdown => {
            let rows = render::options_rows(catalog);
            writeln!(
                out,
                "{}",
                crate::table::markdown(&render::OPTION_HEADERS, &rows)
            )?;
        }
        ReportFormat::Json => {
            let options: Vec<_> = catalog.options.iter().map(|o| &o.file).collect();
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({ "schema_version": 1, "options": options }),
            )
            .map_err(|e| CliError::failure(e.to_string()))?;
            writeln!(out)?;
        }
    }
    Ok(Outcome::Success)
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An option number (1-7) or the id of an option, overlay, rule, fact or engine
    pub id: String,
}

pub fn explain(args: ExplainArgs, out: &mut dyn Write) -> CliResult {
    let catalog = catalog()?;
    let id = args.id.trim();
    let option = id
        .parse::<u8>()
        .ok()
        .and_then(|n| catalog.option_by_number(n))
        .or_else(|| catalog.option(id));
    if let Some(option) = option {
        render::explain_option(option, out)?;
    } else if let Some(rule) = catalog.rule(id) {
        let f = &rule.file;
        writeln!(out, "rule {} ({})", f.id, f.effect.as_str())?;
        if let Some(p) = f.points {
            writeln!(out, "points: {p:+}")?;
        }
        if let (Some(o), Some(l)) = (&f.overlay, f.level) {
            writeln!(out, "overlay: {o} ({l:?})")?;
        }
        writeln!(out, "when all of:")?;
        for c in &f.when {
            writeln!(out, "  {c}")?;
        }
        writeln!(out, "reason: {}", f.reason)?;
        if let Some(c) = &f.changed_since_2020 {
            writeln!(out, "2020 guidance: {c}")?;
        }
        if !f.facts.is_empty() {
            writeln!(out, "facts: {}", f.facts.join(", "))?;
        }
    } else if let Some(fact) = catalog.fact(id) {
        writeln!(out, "fact {}", fact.id)?;
        writeln!(out, "{}", fact.statement)?;
        writeln!(out, "source: {}", fact.source)?;
        let basis = match fact.date_basis {
            crate::catalog::schema::DateBasis::Published => "published",
            crate::catalog::schema::DateBasis::NotBefore => "not before",
        };
        writeln!(
            out,
            "date: {} ({basis}); confidence: {}; topic: {}",
            fact.date,
            fact.confidence.as_str(),
            fact.topic
        )?;
        if let Some(c) = &fact.changed_since_2020 {
            writeln!(out, "2020 guidance: {}\nnow: {}", c.was, c.now)?;
        }
    } else if let Some(engine) = catalog.engine(id) {
        let text = toml::to_string_pretty(engine).map_err(|e| CliError::failure(e.to_string()))?;
        writeln!(
            out,
            "engine {} ({}), {}\n\n{text}",
            engine.id, engine.name, catalog.engines.snapshot.note
        )?;
    } else {
        return Err(CliError::usage(format!(
            "nothing is called `{id}`; {} (run `atrest options` for the options)",
            suggest::hint(id, catalog.all_ids())
        )));
    }
    Ok(Outcome::Success)
}

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
                    "--set `{item}`: write section.key=value, e.g. `keys.fips=140-3-l3`"
                )));
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
            req.set(catalog, &key, &value, &flag)
                .map_err(|e| CliError::usage(e.0))?;
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
            "cannot read requirements file `{}`: {e}; check the path",
            path.display()
        ))
    })?;
    req.merge_toml(catalog, &text, &path.display().to_string(), &[])
        .map_err(|e| CliError::usage(e.0))
}

#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// Requirements file (TOML; schema in docs/requirements.md). Flags override its values.
    #[arg(long, short = 'r', value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: DecisionFormat,
    /// Refresh engine support from RDS (DescribeDBEngineVersions, DescribeOrderableDBInstanceOptions,
    /// DescribeOptionGroupOptions) instead of the embedded snapshot
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub flags: RequirementFlags,
    #[command(flatten)]
    pub aws: AwsArgs,
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
            .map_err(|e| CliError::failure(e.0))?;
        }
        None => {}
    }
    flags.apply(catalog, &mut req)?;
    Ok(req)
}

pub fn engine_support(
    catalog: &Catalog,
    req: &Requirements,
    live: bool,
    aws: &AwsArgs,
) -> Result<EngineSupport, CliError> {
    let engine = req.text("database.engine");
    if !live {
        return Ok(EngineSupport::embedded(catalog, engine));
    }
    #[cfg(feature = "aws")]
    {
        let settings = aws.settings();
        settings
            .validate()
            .map_err(|e| CliError::usage(e.to_string()))?;
        let base = EngineSupport::embedded(catalog, engine);
        let version = req.text("database.version").to_string();
        let engine = engine.to_string();
        crate::aws::block_on(async move {
            advisor::live::refresh(&settings, base, &engine, &version).await
        })
        .map_err(|e| CliError::failure(e.to_string()))?
        .map_err(|e| CliError::failure(e.to_string()))
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = aws;
        Err(CliError::usage(
            "`--live` needs AWS support, which this build left out; rebuild with default features (`cargo build`)",
        ))
    }
}

pub fn advise(args: AdviseArgs, out: &mut dyn Write) -> CliResult {
    let catalog = catalog()?;
    let req = requirements(catalog, args.requirements.as_ref(), &args.flags)?;
    let support = engine_support(catalog, &req, args.live, &args.aws)?;
    let rec = advisor::evaluate(catalog, &req, &support);
    match args.format {
        DecisionFormat::Table => render::recommendation_text(&rec, out)?,
        DecisionFormat::Markdown => render::recommendation_markdown(&rec, out)?,
        DecisionFormat::Adr => crate::evidence::adr::recommendation(&rec, catalog, &today(), out)?,
        DecisionFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &rec)
                .map_err(|e| CliError::failure(e.to_string()))?;
            writeln!(out)?;
        }
    }
    Ok(Outcome::Success)
}
