//! Field encryption of a live PostgreSQL column, in place: encrypt an existing plaintext column (or into a new
//! one), rotate it under new data keys, or restore the plaintext, in batches that are verified before they commit,
//! never overwrite a row the application changed meanwhile, and resume after a crash from a checkpoint kept in the
//! database.
//!
//! Every value is bound to its table, column and row ([`row_id`] of its row key), so an application reads it back
//! with [`CellEncryptor::decrypt`] and the same [`Context`](crate::cell::Context). The core is
//! [`crate::cell`]; this module only reads and writes rows.
//!
//! A run: [`resolve`] checks the table, the columns, their types and the role's privileges (nothing is written);
//! [`migrate`] checks the first rows of its range against the key (a ciphertext under another key or context stops
//! it before any write), takes its shard in the checkpoint table and processes the batches; [`estimate`] is the
//! dry run.

mod batch;
mod checkpoint;
mod codec;
mod connect;
mod error;
mod estimate;
mod plan;
mod shard;
mod verify;

use std::time::{Duration, Instant};

use postgres::Client;

pub use codec::Codec;
pub use connect::connect;
pub use error::{MigrateError, Privilege};
pub use estimate::{Estimate, estimate};
pub use plan::{Plan, resolve};
pub use shard::Shard;

use crate::cell::{BlindIndex, Context};

/// Rows per batch by default: one transaction, one key lookup, one `getrandom` call each.
pub const DEFAULT_BATCH: usize = 1000;
/// The largest batch (one statement's arrays).
pub const MAX_BATCH: usize = 100_000;

/// What a run does to the column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Plaintext in, ciphertext out.
    Encrypt,
    /// Ciphertext in, plaintext out (the roll-back).
    Decrypt,
    /// Ciphertext in, ciphertext under new data keys out.
    Rotate,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Encrypt => "encrypt",
            Direction::Decrypt => "decrypt",
            Direction::Rotate => "rotate",
        }
    }
}

/// The column to migrate.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// `table` or `schema.table`; bound to every value as given.
    pub table: String,
    pub column: String,
    /// Write into this column (added as `bytea`, or `text` for a decryption, when missing) instead of in place.
    pub into: Option<String>,
    /// The columns that bind each value to its row; empty: the primary key.
    pub row_key: Vec<String>,
    /// Fill this column (added as `bytea` when missing) with a blind index of this many bytes.
    pub blind_index: Option<(String, usize)>,
    /// The column name bound to every value; by default the plaintext column's.
    pub context_column: Option<String>,
}

/// The row bound to a value: the row key's text form (`id::text`), or for a composite key the JSON array of the
/// text forms, e.g. `["7","2026-01-01"]`.
pub fn row_id(key: &[String]) -> String {
    match key {
        [one] => one.clone(),
        many => serde_json::to_string(many).unwrap_or_default(),
    }
}

/// The context a value of `plan`'s column in row `key` is bound to.
pub fn context(plan: &Plan, key: &[String]) -> Result<Context, MigrateError> {
    Ok(Context::new(&plan.context_table, &plan.context_column)?.with_row(row_id(key))?)
}

/// How a run goes.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub batch: usize,
    pub shard: Shard,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: DEFAULT_BATCH,
            shard: Shard::ALL,
        }
    }
}

/// Where a run is, reported after each batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Rows of the range done so far, this run and those before it.
    pub done: u64,
    /// Non-null rows in the range when the run started.
    pub total: u64,
    /// Rows done by this process.
    pub done_here: u64,
    pub elapsed: Duration,
}

impl Progress {
    /// Rows per second of this process.
    pub fn rate(&self) -> f64 {
        self.done_here as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows read (non-null values).
    pub rows: u64,
    pub written: u64,
    /// Rows already done (and left as they were).
    pub skipped: u64,
    /// Rows the application changed while they were being migrated, read again and done.
    pub conflicts: u64,
    pub batches: u64,
    /// The shard was already done (by an earlier run of the same migration).
    pub already_done: bool,
    /// The run continued from a checkpoint.
    pub resumed: bool,
}

/// Runs the migration `plan` over `options.shard`: `cells` opens what is there and seals the new values, except in
/// a rotation, where `to` (an encryptor with its own cache, so new data keys, or the other format) seals them.
pub fn migrate(
    client: &mut Client,
    plan: &Plan,
    cells: Codec<'_>,
    to: Option<Codec<'_>>,
    options: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, MigrateError> {
    if options.batch == 0 || options.batch > MAX_BATCH {
        return Err(MigrateError::BadBatch {
            given: options.batch,
            max: MAX_BATCH,
        });
    }
    let writer = to.unwrap_or(cells);
    let index = blind_index(plan, writer)?;
    // Before any write: the first rows open under this key and context (or are plaintext to encrypt).
    for row in batch::probe(client, plan, options.batch)? {
        let ctx = context(plan, &row.key)?;
        verify::decide(plan, cells, writer, &ctx, &row)?;
    }
    add_columns(client, plan)?;
    let mut plan = plan.clone();
    plan.dest.exists = true;
    if let Some((col, _)) = &mut plan.index {
        col.exists = true;
    }
    let plan = &plan;
    let claim = checkpoint::claim(client, plan, options.shard)?;
    let mut summary = Summary {
        already_done: claim.done,
        resumed: claim.last.is_some(),
        ..Summary::default()
    };
    if claim.done {
        return Ok(summary);
    }
    let worker = batch::Worker::new(
        client,
        plan,
        cells,
        writer,
        index,
        options.shard,
        claim.range.clone(),
        options.batch,
        true,
    )?;
    let total = estimate::count(client, plan, &claim.range)?;
    let start = Instant::now();
    let before = u64::try_from(claim.rows_before).unwrap_or(0);
    let mut last = claim.last;
    loop {
        let rows = worker.read(client, last.as_deref())?;
        let Some(end) = rows.last().map(|r| r.key.clone()) else {
            break;
        };
        let q = |action| MigrateError::query(action, &plan.table);
        let mut tx = client.transaction().map_err(q("start a transaction"))?;
        let counts = worker.process(&mut tx, rows)?;
        tx.commit().map_err(q("commit a batch"))?;
        last = Some(end);
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        summary.rows += n(counts.done);
        summary.written += n(counts.written);
        summary.skipped += n(counts.skipped);
        summary.conflicts += n(counts.conflicts);
        summary.batches += 1;
        progress(&Progress {
            done: before + summary.rows,
            total: total.max(before + summary.rows),
            done_here: summary.rows,
            elapsed: start.elapsed(),
        });
    }
    checkpoint::finish(client, plan, options.shard)?;
    Ok(summary)
}

/// The blind index of the plan's column, when it fills one.
fn blind_index(plan: &Plan, cells: Codec<'_>) -> Result<Option<BlindIndex>, MigrateError> {
    let Some((_, len)) = &plan.index else {
        return Ok(None);
    };
    let ctx = Context::new(&plan.context_table, &plan.context_column)?;
    Ok(Some(cells.blind_index(&ctx, *len)?))
}

/// Adds the destination and blind-index columns the run writes, when missing (nullable, no default: instant).
fn add_columns(client: &mut Client, plan: &Plan) -> Result<(), MigrateError> {
    let cols = [Some(&plan.dest), plan.index.as_ref().map(|i| &i.0)];
    for col in cols.into_iter().flatten().filter(|c| !c.exists) {
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}",
            plan.table,
            plan::ident(&col.name),
            col.type_name
        );
        client
            .batch_execute(&sql)
            .map_err(MigrateError::query("add a column", &plan.table))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_are_the_key_or_a_json_array() {
        assert_eq!(row_id(&["42".into()]), "42");
        assert_eq!(row_id(&["7".into(), "a\"b".into()]), r#"["7","a\"b"]"#);
    }

    #[test]
    fn shards_parse_from_index_and_count() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        for bad in ["4/4", "0/0", "1", "a/2", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
