//! `atrest options`, `atrest explain` and `atrest advise`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::requirements::{RequirementFlags, requirements};
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
    Ok(Catalog::embedded()?)
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
        ReportFormat::Json => render::options_json(catalog, out)?,
    }
    Ok(Outcome::Success)
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An option number (1-7) or the id of an option, overlay, rule, fact, price or engine
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
        render::explain_option(catalog, option, out)?;
    } else if let Some(rule) = catalog.rule(id) {
        render::explain_rule(rule, out)?;
    } else if let Some(fact) = catalog.fact(id) {
        render::explain_fact(fact, out)?;
    } else if let Some(price) = catalog.price(id) {
        render::explain_price(price, out)?;
    } else if let Some(engine) = catalog.engine(id) {
        render::explain_engine(catalog, engine, out)?;
    } else {
        return Err(
            CliError::usage(format!("nothing is called `{id}`")).with_help(format!(
                "{} (run `atrest options` for the options)",
                suggest::hint(id, catalog.all_ids())
            )),
        );
    }
    Ok(Outcome::Success)
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
    /// Show options or variants side by side for these requirements, e.g. `1,2` or `6:tde-wallet,6:tde-kms-wrapped`
    #[arg(long, value_name = "PICKS", value_delimiter = ',')]
    pub compare: Vec<String>,
    /// Fit terminal tables to this many columns (default on a terminal: `COLUMNS`, else the terminal's width;
    /// otherwise 100)
    #[arg(long, value_name = "COLUMNS")]
    pub width: Option<usize>,
    #[command(flatten)]
    pub flags: RequirementFlags,
    #[command(flatten)]
    pub aws: AwsArgs,
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
            .map_err(super::inventory::endpoint_help)?;
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
        Err(
            CliError::usage("`--live` needs AWS support, which this build left out")
                .with_help("rebuild with default features (`cargo build`)"),
        )
    }
}

/// The width to fit: `--width`; on a terminal `COLUMNS` (shells rarely export it), else the terminal's own width;
/// otherwise (a pipe, a file) a fixed default, so saved output does not depend on who ran it.
fn width(flag: Option<usize>) -> usize {
    use std::io::IsTerminal;
    flag.or_else(|| {
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return None;
        }
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
            .or_else(|| terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0)))
    })
    .unwrap_or(render::DEFAULT_WIDTH)
}

fn compare(
    catalog: &Catalog,
    req: &Requirements,
    support: &EngineSupport,
    args: &AdviseArgs,
    out: &mut dyn Write,
) -> CliResult {
    if args.compare.len() < 2 {
        return Err(
            CliError::usage("`--compare` needs at least two picks").with_help(
                "for example `--compare 1,2` or `--compare 6:tde-wallet,6:tde-kms-wrapped`",
            ),
        );
    }
    let picks = args
        .compare
        .iter()
        .map(|p| advisor::compare::parse_pick(catalog, p))
        .collect::<Result<Vec<_>, _>>()?;
    let columns = advisor::compare::compare(catalog, req, support, &picks);
    match args.format {
        DecisionFormat::Table => render::compare_text(&columns, width(args.width), out)?,
        DecisionFormat::Markdown | DecisionFormat::Adr => render::compare_markdown(&columns, out)?,
        DecisionFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &columns)
                .map_err(|e| CliError::failure(e.to_string()))?;
            writeln!(out)?;
        }
    }
    Ok(Outcome::Success)
}

pub fn advise(args: AdviseArgs, out: &mut dyn Write) -> CliResult {
    let catalog = catalog()?;
    let req = requirements(catalog, args.requirements.as_ref(), &args.flags)?;
    let support = engine_support(catalog, &req, args.live, &args.aws)?;
    if !args.compare.is_empty() {
        return compare(catalog, &req, &support, &args, out);
    }
    let rec = advisor::evaluate(catalog, &req, &support);
    match args.format {
        DecisionFormat::Table => render::recommendation_text(&rec, width(args.width), out)?,
        DecisionFormat::Markdown => render::recommendation_markdown(&rec, catalog, out)?,
        DecisionFormat::Adr => crate::report::adr::recommendation(&rec, catalog, &today(), out)?,
        DecisionFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &rec)
                .map_err(|e| CliError::failure(e.to_string()))?;
            writeln!(out)?;
        }
    }
    Ok(Outcome::Success)
}
