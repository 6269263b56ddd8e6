//! The dry run: what a migration will cost before it starts. Rows and bytes come from the table, the growth of each
//! cell from the ciphertext form, the KMS calls from the cache limits, and the rate from one real batch written
//! inside a transaction that is rolled back (under a throw-away key, so no KMS call and no keyring entry is made).

use std::fmt;
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient};

use super::batch::{self, Worker};
use super::codec::{Codec, stored_len};
use super::error::MigrateError;
use super::plan::{Plan, Storage, ident};
use super::shard::{self, Range};
use super::{Direction, Options, row_id};
use crate::cell::format::COMPACT_OVERHEAD;
use crate::cell::{Context, Form, ProviderKind};

/// USD per 10,000 KMS requests (symmetric keys, us-east-1, 2026).
pub const KMS_PRICE_PER_10K: f64 = 0.03;
/// Bytes a self-contained value adds under a key file (docs/cell.md).
const KEY_FILE_OVERHEAD: u64 = 142;
/// About as many under a KMS key (its wrapped key's length varies a little).
const KMS_OVERHEAD: u64 = 250;
/// What an ESDK message's KMS-wrapped data key takes beyond a raw AES one: a key ARN and a KMS ciphertext blob
/// against a namespace, a name and 48 bytes (about; the blob's length varies a little).
#[cfg(feature = "esdk")]
const KMS_EDK_EXTRA: u64 = 185;

/// What a migration of one shard will take.
#[derive(Clone, Debug)]
pub struct Estimate {
    pub direction: Direction,
    /// Non-null values in the shard's range.
    pub rows: u64,
    /// Their stored size today.
    pub bytes: u64,
    /// Bytes each cell grows by on average (negative: it shrinks, as in a decryption or a conversion to the
    /// compact form).
    pub added_per_cell: i64,
    pub added_total: i64,
    /// Data keys made or unwrapped, and as many KMS requests with a KMS key (none with a key file).
    pub data_keys: u64,
    pub kms_calls: u64,
    pub kms_cost_usd: f64,
    /// Rows per second of one batch written and rolled back.
    pub rate: f64,
    pub duration: Duration,
}

/// Non-null values in `range`.
pub(crate) fn count(
    client: &mut impl GenericClient,
    plan: &Plan,
    range: &Range,
) -> Result<u64, MigrateError> {
    Ok(sizes(client, plan, range)?.0)
}

fn sizes(
    client: &mut impl GenericClient,
    plan: &Plan,
    range: &Range,
) -> Result<(u64, u64), MigrateError> {
    if range.empty {
        return Ok((0, 0));
    }
    let (conds, _) = batch::range_where(plan, range, false);
    let size = match plan.source.storage {
        Storage::Other => format!("octet_length(t.{}::text)", ident(&plan.source.name)),
        _ => format!("octet_length(t.{})", ident(&plan.source.name)),
    };
    let sql = format!(
        "SELECT count(*), coalesce(sum({size}), 0)::int8 FROM {} t WHERE {conds}",
        plan.table
    );
    let row = client
        .query_one(&sql, &batch::range_params(range, None))
        .map_err(MigrateError::query("count the rows", &plan.table))?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok((n(row.get(0)), n(row.get(1))))
}

/// The estimate for `options.shard` of `plan`: `cells` opens what is there (and seals, except in a rotation, where
/// `to` seals).
pub fn estimate(
    client: &mut Client,
    plan: &Plan,
    cells: Codec<'_>,
    to: Option<Codec<'_>>,
    options: &Options,
) -> Result<Estimate, MigrateError> {
    let writer = to.unwrap_or(cells);
    let ranges = shard::cut(client, plan, options.shard.count)?;
    let range = ranges
        .get(options.shard.index as usize)
        .cloned()
        .unwrap_or_default();
    let (rows, bytes) = sizes(client, plan, &range)?;
    let avg = bytes.checked_div(rows).unwrap_or(0);
    let sample = batch::probe(client, plan, 1)?
        .first()
        .map(|r| row_id(&r.key))
        .unwrap_or_else(|| "0".into());
    let ctx = Context::new(&plan.context_table, &plan.context_column)?.with_row(sample)?;
    // The plaintext's average length, then what a cell of it takes once the run is done.
    let plain = match plan.direction {
        Direction::Encrypt => avg,
        _ => raw_len(plan.source.storage, avg).saturating_sub(overhead(cells, &ctx, avg)?),
    };
    let after = match plan.direction {
        Direction::Decrypt => plain,
        _ => stored_len(plan.dest.storage, plain + overhead(writer, &ctx, plain)?),
    };
    let added_per_cell = i64::try_from(after).unwrap_or(i64::MAX) - i64::try_from(avg).unwrap_or(0);
    let rate = trial(client, plan, cells, writer, options, &range)?;
    let duration = Duration::from_secs_f64(if rate > 0.0 { rows as f64 / rate } else { 0.0 });
    let keys = |codec: Codec<'_>| -> (u64, bool) {
        let (limits, kms, per_row) = match codec {
            Codec::Cell(c) => (
                *c.cache().limits(),
                c.provider().kind() == ProviderKind::AwsKms,
                false,
            ),
            #[cfg(feature = "esdk")]
            Codec::Esdk(e) => (e.cache_limits(), !e.wraps_locally(), !e.wraps_locally()),
        };
        if rows == 0 {
            return (0, kms);
        }
        if per_row {
            // A key service binds each encrypted data key to the message's whole context, row included.
            return (rows, kms);
        }
        let by_count = rows.div_ceil(limits.max_messages.max(1)).max(1);
        let by_age = (duration.as_secs() / limits.max_age.as_secs().max(1)) + 1;
        (by_count.max(by_age), kms)
    };
    // Data keys unwrapped to read (decryption, rotation) and made to write (encryption, rotation).
    let (read, read_kms) = match plan.direction {
        Direction::Encrypt => (0, false),
        _ => keys(cells),
    };
    let (made, made_kms) = match plan.direction {
        Direction::Decrypt => (0, false),
        _ => keys(writer),
    };
    let data_keys = read + made;
    let kms_calls = if read_kms { read } else { 0 } + if made_kms { made } else { 0 };
    Ok(Estimate {
        direction: plan.direction,
        rows,
        bytes,
        added_per_cell,
        added_total: added_per_cell.saturating_mul(i64::try_from(rows).unwrap_or(i64::MAX)),
        data_keys,
        kms_calls,
        kms_cost_usd: kms_calls as f64 * KMS_PRICE_PER_10K / 10_000.0,
        rate,
        duration,
    })
}

/// The raw length of a ciphertext stored as `avg` bytes (base64 in a text column).
fn raw_len(storage: Storage, avg: u64) -> u64 {
    match storage {
        Storage::Bytea => avg,
        _ => avg / 4 * 3,
    }
}

/// Bytes a ciphertext of `codec` adds to a plaintext of `len` bytes under `ctx`.
#[cfg_attr(
    not(feature = "esdk"),
    allow(unused_variables, reason = "ESDK messages only")
)]
fn overhead(codec: Codec<'_>, ctx: &Context, len: u64) -> Result<u64, MigrateError> {
    match codec {
        Codec::Cell(c) => Ok(match (c.form(), c.provider().kind()) {
            (Form::Compact, _) => COMPACT_OVERHEAD as u64,
            (Form::SelfContained, ProviderKind::KeyFile) => KEY_FILE_OVERHEAD,
            (Form::SelfContained, ProviderKind::AwsKms) => KMS_OVERHEAD,
        }),
        #[cfg(feature = "esdk")]
        Codec::Esdk(e) => {
            // Measured on one message of that length: under the keyring itself when it is local, else under a
            // throw-away raw AES key plus what a KMS-wrapped data key takes beyond it.
            let plain = vec![0u8; usize::try_from(len).unwrap_or(0).min(1 << 20)];
            let (sealed, extra) = if e.wraps_locally() {
                (codec.seal_batch(&[(ctx, &plain)])?, 0)
            } else {
                let t = codec.throwaway()?;
                (t.codec().seal_batch(&[(ctx, &plain)])?, KMS_EDK_EXTRA)
            };
            let total = sealed.first().map_or(0, |m| m.len() as u64);
            Ok(total.saturating_sub(plain.len() as u64) + extra)
        }
    }
}

/// Rows per second of one batch done in a transaction that is rolled back.
fn trial(
    client: &mut Client,
    plan: &Plan,
    cells: Codec<'_>,
    writer: Codec<'_>,
    options: &Options,
    range: &Range,
) -> Result<f64, MigrateError> {
    if range.empty {
        return Ok(0.0);
    }
    let q = |action| MigrateError::query(action, &plan.table);
    let throwaway = writer.throwaway()?;
    let writer = match plan.direction {
        // Decryption seals nothing; the others seal under the throw-away key.
        Direction::Decrypt => cells,
        _ => throwaway.codec(),
    };
    let mut plan = plan.clone();
    let start = Instant::now();
    let mut tx = client.transaction().map_err(q("start a transaction"))?;
    tx.batch_execute("SET LOCAL lock_timeout = '2s'")
        .map_err(q("start a transaction"))?;
    for col in [Some(&mut plan.dest), plan.index.as_mut().map(|i| &mut i.0)]
        .into_iter()
        .flatten()
    {
        if !col.exists {
            let sql = format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                plan.table,
                ident(&col.name),
                col.type_name
            );
            tx.batch_execute(&sql).map_err(q("add a column"))?;
            col.exists = true;
        }
    }
    let index = match &plan.index {
        Some((_, len)) => {
            let ctx = Context::new(&plan.context_table, &plan.context_column)?;
            Some(writer.blind_index(&ctx, *len)?)
        }
        None => None,
    };
    let worker = Worker::new(
        &mut tx,
        &plan,
        cells,
        writer,
        index,
        options.shard,
        range.clone(),
        options.batch,
        false,
    )?;
    let rows = worker.read(&mut tx, None)?;
    let n = rows.len();
    worker.process(&mut tx, rows)?;
    tx.rollback().map_err(q("roll the trial back"))?;
    Ok(n as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.duration.as_secs();
        writeln!(f, "rows:            {}", self.rows)?;
        writeln!(f, "stored bytes:    {}", self.bytes)?;
        writeln!(f, "bytes per cell:  {:+}", self.added_per_cell)?;
        writeln!(f, "bytes in total:  {:+}", self.added_total)?;
        writeln!(f, "data keys:       {}", self.data_keys)?;
        writeln!(
            f,
            "KMS calls:       {} (about ${:.4})",
            self.kms_calls, self.kms_cost_usd
        )?;
        writeln!(
            f,
            "measured rate:   {:.0} rows/s (one batch, rolled back)",
            self.rate
        )?;
        writeln!(
            f,
            "expected time:   {}h {:02}m {:02}s",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}
