//! `atrest cell migrate` and `atrest cell rotate`: a live PostgreSQL column encrypted, decrypted or rotated in
//! place by `crate::migrate`; this file turns flags into a target and adds the flag names to hints.

use std::io::{IsTerminal, Write};

use super::cell::hint;
use super::cell_args::Format;
pub use super::cell_migrate_args::*;
use super::cell_migrate_keys::{Side, keyring, sealer};
use super::{CliError, Outcome};
use crate::cell::BlindIndex;
use crate::error::Help;
use crate::migrate::{self, Codec, Direction, MigrateError, Options, Progress, Shard, Target};

pub fn migrate(args: &MigrateArgs, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let direction = match args.decrypt {
        true => Direction::Decrypt,
        false => Direction::Encrypt,
    };
    if args.blind_index.is_some() {
        BlindIndex::check_len(args.index_length)
            .map_err(hint("pass `--index-length` between 1 and 32"))?;
        if args.esdk.format == Format::Esdk {
            return Err(
                CliError::usage("`--blind-index` cannot be used with `--format esdk`")
                    .with_help("a blind index is made with atrest's cell format; fill it in a run without `--format esdk`"),
            );
        }
    }
    let target = Target {
        into: args.into.clone(),
        blind_index: args.blind_index.clone().map(|c| (c, args.index_length)),
        ..target(&args.column)
    };
    let side = Side {
        format: args.esdk.format,
        key_file: args.key.key_file.as_deref(),
        kms_key_id: args.key.kms_key_id.as_deref(),
        esdk_key: args.esdk.esdk_key.as_deref(),
        esdk_key_name: &args.esdk.esdk_key_name,
        flags: MAIN,
        format_flag: "--format",
    };
    let cells = sealer(
        &side,
        keyring(args.column.keyring.as_deref())?,
        &args.key.aws,
    )?;
    run(
        &args.db,
        &args.column,
        &target,
        direction,
        cells.codec(),
        None,
        out,
    )
}

/// The flags of the side a run reads (and, except in a rotation, writes).
const MAIN: [&str; 4] = [
    "--key-file",
    "--kms-key-id",
    "--esdk-key",
    "--esdk-key-name",
];
const TO: [&str; 4] = [
    "--to-key-file",
    "--to-kms-key-id",
    "--to-esdk-key",
    "--to-esdk-key-name",
];

pub fn rotate(args: &RotateArgs, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let from = Side {
        format: args.from_format,
        key_file: args.key.key_file.as_deref(),
        kms_key_id: args.key.kms_key_id.as_deref(),
        esdk_key: args.esdk_key.as_deref(),
        esdk_key_name: &args.esdk_key_name,
        flags: MAIN,
        format_flag: "--from-format",
    };
    let to_format = args.to_format.unwrap_or(args.from_format);
    let named =
        args.to_key_file.is_some() || args.to_kms_key_id.is_some() || args.to_esdk_key.is_some();
    // Without new key flags, the new data keys come from the same key source.
    let to = match named {
        true => Side {
            format: to_format,
            key_file: args.to_key_file.as_deref(),
            kms_key_id: args.to_kms_key_id.as_deref(),
            esdk_key: args.to_esdk_key.as_deref(),
            esdk_key_name: &args.to_esdk_key_name,
            flags: TO,
            format_flag: "--to-format",
        },
        false if to_format == from.format => Side { ..from },
        // Another format: only a KMS key serves both.
        false => Side {
            format: to_format,
            key_file: None,
            esdk_key: None,
            flags: TO,
            format_flag: "--to-format",
            ..from
        },
    };
    // A keyring belongs to a cell-format side (it stores the compact form's data keys) and is wrapped by one key.
    let ring = keyring(args.column.keyring.as_deref())?;
    let to_ring = match (&args.to_keyring, from.format) {
        (Some(path), _) => keyring(Some(path))?,
        (None, Format::Esdk) => ring.clone(),
        (None, Format::Cell) if named && ring.is_some() && to.format == Format::Cell => {
            return Err(CliError::usage(
                "`--keyring` is wrapped by the old key, so the new key's data keys need `--to-keyring NEW_FILE`",
            )
            .with_help("pass `--to-keyring`, or move the keyring to the new key first with `atrest cell rewrap`"));
        }
        (None, Format::Cell) => ring.clone(),
    };
    let (ring_from, ring_to) = match (from.format, to.format) {
        (Format::Cell, Format::Cell) => (ring, to_ring),
        (Format::Cell, Format::Esdk) => (ring, None),
        (Format::Esdk, Format::Cell) => (None, to_ring),
        (Format::Esdk, Format::Esdk) if ring.is_some() || to_ring.is_some() => {
            return Err(CliError::usage(
                "`--keyring` cannot be used with ESDK messages on both sides",
            )
            .with_help(
                "a keyring stores the data keys of atrest's compact form; drop `--keyring`",
            ));
        }
        (Format::Esdk, Format::Esdk) => (None, None),
    };
    let cells = sealer(&from, ring_from, &args.key.aws)?;
    // Its own cache, so new data keys, stored in the new side's keyring.
    let new = sealer(&to, ring_to, &args.key.aws)?;
    let target = target(&args.column);
    run(
        &args.db,
        &args.column,
        &target,
        Direction::Rotate,
        cells.codec(),
        Some(new.codec()),
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

fn run(
    db: &DbArgs,
    args: &ColumnArgs,
    target: &Target,
    direction: Direction,
    cells: Codec<'_>,
    to: Option<Codec<'_>>,
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
        let estimate =
            migrate::estimate(&mut client, &plan, cells, to, &options).map_err(flag_hint)?;
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
