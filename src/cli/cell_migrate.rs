//! `atrest cell migrate` and `atrest cell rotate`: a live PostgreSQL column encrypted, decrypted or rotated in
//! place by `crate::migrate`; this file turns flags into a target and adds the flag names to hints.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use super::cell::{MAIN_FLAGS, hint, provider};
use super::cell_args::KeySource;
pub use super::cell_migrate_args::*;
use super::{CliError, Outcome};
use crate::cell::{BlindIndex, CellEncryptor, KeyProvider, Keyring};
use crate::error::Help;
use crate::migrate::{self, Direction, MigrateError, Options, Progress, Shard, Target};

pub fn migrate(args: &MigrateArgs, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let direction = match args.decrypt {
        true => Direction::Decrypt,
        false => Direction::Encrypt,
    };
    if args.blind_index.is_some() {
        BlindIndex::check_len(args.index_length)
            .map_err(hint("pass `--index-length` between 1 and 32"))?;
    }
    let target = Target {
        into: args.into.clone(),
        blind_index: args.blind_index.clone().map(|c| (c, args.index_length)),
        ..target(&args.column)
    };
    let from = provider(&args.key, MAIN_FLAGS)?;
    let cells = encryptor(&from, keyring(&args.column)?)?;
    run(
        &args.db,
        &args.column,
        &target,
        direction,
        &cells,
        None,
        out,
    )
}

pub fn rotate(args: &RotateArgs, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let from = provider(&args.key, MAIN_FLAGS)?;
    let to = match (&args.to_key_file, &args.to_kms_key_id) {
        (None, None) => Arc::clone(&from),
        _ => {
            let to = KeySource {
                key_file: args.to_key_file.clone(),
                kms_key_id: args.to_kms_key_id.clone(),
                aws: args.key.aws.clone(),
            };
            provider(&to, ["--to-key-file", "--to-kms-key-id"])?
        }
    };
    let keyring = keyring(&args.column)?;
    let cells = encryptor(&from, keyring.clone())?;
    // Its own cache, so new data keys; the same keyring, which stores them too.
    let new = encryptor(&to, keyring)?;
    let target = target(&args.column);
    run(
        &args.db,
        &args.column,
        &target,
        Direction::Rotate,
        &cells,
        Some(&new),
        out,
    )
}

fn target(args: &ColumnArgs) -> Target {
    Target {
        table: args.table.clone(),
        column: args.column.clone(),
        row_key: args.row_key.clone(),
        context_column: args.context_column.clone(),
        ..Target::default()
    }
}

fn keyring(args: &ColumnArgs) -> Result<Option<Arc<Keyring>>, CliError> {
    let Some(path) = &args.keyring else {
        return Ok(None);
    };
    let keyring = Keyring::open(path).map_err(hint(
        "pass a file written by `atrest cell encrypt --keyring`",
    ))?;
    Ok(Some(Arc::new(keyring)))
}

fn encryptor(
    provider: &Arc<dyn KeyProvider>,
    keyring: Option<Arc<Keyring>>,
) -> Result<CellEncryptor, CliError> {
    let mut builder = CellEncryptor::builder(Arc::clone(provider));
    if let Some(keyring) = keyring {
        builder = builder.keyring(keyring);
    }
    Ok(builder.build()?)
}

fn run(
    db: &DbArgs,
    args: &ColumnArgs,
    target: &Target,
    direction: Direction,
    cells: &CellEncryptor,
    to: Option<&CellEncryptor>,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let shard: Shard = args
        .shard
        .parse()
        .map_err(hint("pass `--shard INDEX/COUNT`, e.g. `--shard 0/4`"))?;
    let options = Options {
        batch: args.batch_size,
        shard,
    };
    let mut client = migrate::connect(db.database_url.as_deref()).map_err(flag_hint)?;
    let plan = migrate::resolve(&mut client, target, direction).map_err(flag_hint)?;
    if args.dry_run {
        let estimate = migrate::estimate(&mut client, &plan, cells, &options).map_err(flag_hint)?;
        writeln!(
            out,
            "dry run: {} column `{}` of `{}`, shard {shard}",
            direction.name(),
            target.column,
            target.table
        )?;
        write!(out, "{estimate}")?;
        return Ok(Outcome::Success);
    }
    let show = !args.no_progress && std::io::stderr().is_terminal();
    let mut bar = |p: &Progress| {
        if show {
            draw(p);
        }
    };
    let summary = migrate::migrate(&mut client, &plan, cells, to, &options, &mut bar);
    if show {
        eprintln!();
    }
    let summary = summary.map_err(flag_hint)?;
    let verb = match direction {
        Direction::Encrypt => "encrypted",
        Direction::Decrypt => "decrypted",
        Direction::Rotate => "rotated",
    };
    let (column, table) = (&target.column, &target.table);
    if summary.already_done {
        writeln!(
            out,
            "shard {shard} of this migration is already done; nothing to do"
        )?;
        return Ok(Outcome::Success);
    }
    let resumed = if summary.resumed {
        ", resumed from its checkpoint"
    } else {
        ""
    };
    writeln!(
        out,
        "{verb} column `{column}` of `{table}` (shard {shard}{resumed}): {} rows, {} written, {} already done, {} changed meanwhile and done again",
        summary.rows, summary.written, summary.skipped, summary.conflicts
    )?;
    Ok(Outcome::Success)
}

/// One line on stderr: done/total, rows/s, ETA.
fn draw(p: &Progress) {
    let width = 30usize;
    let frac = if p.total == 0 {
        1.0
    } else {
        p.done as f64 / p.total as f64
    };
    let filled = ((frac.clamp(0.0, 1.0)) * width as f64) as usize;
    let rate = p.rate();
    let left = p.total.saturating_sub(p.done) as f64 / rate.max(1e-9);
    let eta = left as u64;
    eprint!(
        "\r[{}{}] {}/{} rows  {:.0} rows/s  ETA {}m{:02}s ",
        "#".repeat(filled),
        " ".repeat(width - filled),
        p.done,
        p.total,
        rate,
        eta / 60,
        eta % 60
    );
}

/// The library's error with the flag that fixes it named.
fn flag_hint(e: MigrateError) -> CliError {
    let extra = match &e {
        MigrateError::Connect { .. } | MigrateError::Settings { .. } => {
            Some("check `--database-url` (or DATABASE_URL, or the PG* variables), the server and the credentials".into())
        }
        MigrateError::WrongType { .. } => {
            Some("pass `--into NEW_COLUMN` to write the ciphertexts into a new bytea column".into())
        }
        MigrateError::NoColumn { .. } => e.help().map(|h| format!("{h}; pass one of them to `--column`")),
        MigrateError::NoPrimaryKey { .. } => Some("pass `--row-key COLUMN[,COLUMN...]`".into()),
        MigrateError::RowKeyIsColumn { .. } => Some("pass another column to `--row-key`".into()),
        MigrateError::BadShard { .. } => Some("pass `--shard INDEX/COUNT`, e.g. `--shard 0/4`".into()),
        MigrateError::BadBatch { .. } => Some("pass `--batch-size` between 1 and 100000".into()),
        MigrateError::ForeignCiphertext { .. } => Some(
            "check `--key-file` or `--kms-key-id`, `--keyring`, `--table`, `--column` and `--row-key` (nothing was written)".into(),
        ),
        _ => None,
    };
    let err = CliError::from(e);
    match extra {
        Some(h) => err.with_help(h),
        None => err,
    }
}
