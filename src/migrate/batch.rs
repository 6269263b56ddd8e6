//! One batch: read rows past the checkpoint, decide each row (write, or skip: already done), encrypt or decrypt in
//! one call, write with compare-and-set on the values read, read the written values back and verify them, record
//! the checkpoint, commit. Rows the application changed in between are locked, read again and done in the same
//! transaction, so no update is lost and no row is left behind.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{GenericClient, Statement, Transaction};
use zeroize::Zeroizing;

use super::checkpoint::{self, Counts};
use super::codec::Codec;
use super::error::MigrateError;
use super::plan::{Column, Plan, Storage, ident};
use super::shard::{Range, Shard};
use super::verify::{self, Action};
use super::{Direction, row_id};
use crate::cell::{BlindIndex, Context};

/// How often a row that keeps changing is read again before the run gives up.
const MAX_RETRIES: usize = 5;

/// A row as read: its key (text forms) and the values of the source and destination columns.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub key: Vec<String>,
    pub src: Option<Vec<u8>>,
    pub dst: Option<Vec<u8>>,
}

/// The prepared statements of one worker and the keys it uses.
pub(crate) struct Worker<'a> {
    pub plan: &'a Plan,
    /// Decrypts what is there (and encrypts, except in a rotation).
    pub cells: Codec<'a>,
    /// Encrypts the new values: `cells`, or the new keys (or format) of a rotation.
    pub writer: Codec<'a>,
    pub index: Option<BlindIndex>,
    pub shard: Shard,
    first: Statement,
    after: Statement,
    update: Statement,
    relock: Statement,
    /// Records progress in the checkpoint table (none in a dry run's trial).
    advance: Option<Statement>,
    range: Range,
    batch: i64,
}

impl<'a> Worker<'a> {
    #[allow(
        clippy::too_many_arguments,
        reason = "a constructor of the worker's parts"
    )]
    pub fn new(
        client: &mut impl GenericClient,
        plan: &'a Plan,
        cells: Codec<'a>,
        writer: Codec<'a>,
        index: Option<BlindIndex>,
        shard: Shard,
        range: Range,
        batch: usize,
        record: bool,
    ) -> Result<Self, MigrateError> {
        let q = |action| MigrateError::query(action, &plan.table);
        let mut prepare = |sql: String| client.prepare(&sql).map_err(q("prepare a statement"));
        Ok(Worker {
            first: prepare(select_sql(plan, &range, false))?,
            after: prepare(select_sql(plan, &range, true))?,
            update: prepare(update_sql(plan))?,
            relock: prepare(relock_sql(plan))?,
            advance: match record {
                true => Some(prepare(checkpoint::advance_sql(plan))?),
                false => None,
            },
            plan,
            cells,
            writer,
            index,
            shard,
            range,
            batch: i64::try_from(batch).unwrap_or(i64::MAX),
        })
    }

    /// Reads the next batch after `last` (from the range's start when `None`).
    pub fn read(
        &self,
        client: &mut impl GenericClient,
        last: Option<&[String]>,
    ) -> Result<Vec<Row>, MigrateError> {
        let statement = match last {
            Some(_) => &self.after,
            None => &self.first,
        };
        let mut params = range_params(&self.range, last);
        params.push(&self.batch);
        let rows = client
            .query(statement, &params)
            .map_err(MigrateError::query("read a batch", &self.plan.table))?;
        Ok(rows.iter().map(|r| parse_row(self.plan, r)).collect())
    }

    /// Does one batch in `tx` (commit is the caller's), its checkpoint included when the worker records one.
    pub fn process(
        &self,
        tx: &mut Transaction<'_>,
        rows: Vec<Row>,
    ) -> Result<Counts, MigrateError> {
        let mut counts = Counts {
            done: i64::try_from(rows.len()).unwrap_or(i64::MAX),
            ..Counts::default()
        };
        let last = rows.last().map(|r| r.key.clone());
        let mut pending = rows;
        for attempt in 0..=MAX_RETRIES {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                counts.conflicts += i64::try_from(pending.len()).unwrap_or(0);
                pending = self.relock(tx, &pending)?;
                if pending.is_empty() {
                    break;
                }
            }
            if attempt == MAX_RETRIES {
                let row = pending.first().map(|r| row_id(&r.key)).unwrap_or_default();
                return Err(MigrateError::KeepsChanging { row });
            }
            let (written, skipped, lost) = self.write(tx, pending)?;
            counts.written += written;
            counts.skipped += skipped;
            pending = lost;
        }
        if let (Some(statement), Some(last)) = (&self.advance, last) {
            checkpoint::advance(tx, statement, self.plan, self.shard, &last, counts)?;
        }
        Ok(counts)
    }

    /// Writes what the rows need; returns (written, skipped, rows changed since they were read).
    fn write(
        &self,
        tx: &mut Transaction<'_>,
        rows: Vec<Row>,
    ) -> Result<(i64, i64, Vec<Row>), MigrateError> {
        let plan = self.plan;
        let mut writes: Vec<(Row, Context, Action)> = Vec::new();
        let mut skipped = 0i64;
        for row in rows {
            let ctx = Context::new(&plan.context_table, &plan.context_column)?
                .with_row(row_id(&row.key))?;
            match verify::decide(plan, self.cells, self.writer, &ctx, &row)? {
                Action::Skip => skipped += 1,
                action => writes.push((row, ctx, action)),
            }
        }
        if writes.is_empty() {
            return Ok((0, skipped, Vec::new()));
        }
        // One call encrypts the batch: one key lookup per run of the same scope, one getrandom call.
        let to_seal: Vec<(&Context, &[u8])> = writes
            .iter()
            .filter_map(|(_, ctx, a)| match a {
                Action::Encrypt(plain) => Some((ctx, plain.as_slice())),
                _ => None,
            })
            .collect();
        let mut sealed = self.writer.seal_batch(&to_seal)?.into_iter();
        let mut news: Vec<Vec<u8>> = Vec::with_capacity(writes.len());
        let mut plains: Vec<&[u8]> = Vec::with_capacity(writes.len());
        for (_, _, a) in &writes {
            match a {
                Action::Encrypt(plain) => {
                    let ct = sealed
                        .next()
                        .ok_or(crate::cell::CellError::Internal("batch length"))?;
                    news.push(Codec::store(plan.dest.storage, &ct));
                    plains.push(plain);
                }
                Action::Restore(plain) => {
                    news.push(plain.to_vec());
                    plains.push(plain);
                }
                Action::Skip => {}
            }
        }
        let index: Option<Vec<Option<Vec<u8>>>> = match (&self.index, &plan.index) {
            (Some(ix), Some((col, _))) => Some(
                plains
                    .iter()
                    .map(|p| {
                        let raw = ix.compute(p);
                        Some(match col.storage {
                            Storage::Bytea => raw,
                            _ => hex::encode(raw).into_bytes(),
                        })
                    })
                    .collect(),
            ),
            _ => None,
        };

        let keys: Vec<Vec<&str>> = (0..plan.keys.len())
            .map(|k| {
                writes
                    .iter()
                    .map(|(r, _, _)| r.key.get(k).map_or("", String::as_str))
                    .collect()
            })
            .collect();
        let old = Values::of(
            plan.source.storage,
            writes.iter().map(|(r, _, _)| r.src.as_deref()),
        );
        let old_dst = Values::of(
            plan.dest.storage,
            writes.iter().map(|(r, _, _)| r.dst.as_deref()),
        );
        let new = Values::of(plan.dest.storage, news.iter().map(|n| Some(n.as_slice())));
        let idx = match (&index, &plan.index) {
            (Some(ix), Some((col, _))) => {
                Some(Values::of(col.storage, ix.iter().map(|i| i.as_deref())))
            }
            _ => None,
        };
        let mut params: Vec<&(dyn ToSql + Sync)> =
            keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
        params.push(old.sql());
        if !plan.in_place() {
            params.push(old_dst.sql());
        }
        params.push(new.sql());
        if let Some(i) = &idx {
            params.push(i.sql());
        }
        let returned = tx
            .query(&self.update, &params)
            .map_err(MigrateError::query("write a batch", &plan.table))?;
        let mut back: HashMap<Vec<String>, Option<Vec<u8>>> = returned
            .iter()
            .map(|r| {
                let key: Vec<String> = (0..plan.keys.len()).map(|k| r.get(k)).collect();
                (key, read_value(plan.dest.storage, r, plan.keys.len()))
            })
            .collect();
        // Every value written reads back as the original, or the batch is rolled back.
        let mut lost = Vec::new();
        let mut written = 0i64;
        for ((row, ctx, _), (new, plain)) in writes.iter().zip(news.iter().zip(plains)) {
            let Some(stored) = back.remove(&row.key) else {
                lost.push(row.clone());
                continue;
            };
            let ok = stored.as_deref() == Some(new.as_slice())
                && match plan.direction {
                    Direction::Decrypt => true,
                    _ => verify::opens_to(plan.dest.storage, self.writer, ctx, new, plain),
                };
            if !ok {
                return Err(MigrateError::VerifyFailed {
                    row: row_id(&row.key),
                });
            }
            written += 1;
        }
        Ok((written, skipped, lost))
    }

    /// Locks the rows that changed under the batch and reads them again.
    fn relock(&self, tx: &mut Transaction<'_>, rows: &[Row]) -> Result<Vec<Row>, MigrateError> {
        let keys: Vec<Vec<&str>> = (0..self.plan.keys.len())
            .map(|k| {
                rows.iter()
                    .map(|r| r.key.get(k).map_or("", String::as_str))
                    .collect()
            })
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
        let again = tx
            .query(&self.relock, &params)
            .map_err(MigrateError::query(
                "read changed rows again",
                &self.plan.table,
            ))?;
        Ok(again.iter().map(|r| parse_row(self.plan, r)).collect())
    }
}

/// Values as one array parameter of the column's type.
enum Values {
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Values {
    fn of<'v>(storage: Storage, values: impl Iterator<Item = Option<&'v [u8]>>) -> Self {
        match storage {
            Storage::Bytea => Values::Bytes(values.map(|v| v.map(<[u8]>::to_vec)).collect()),
            // Text values were read as text, or are base64, or checked UTF-8 plaintext.
            _ => Values::Text(
                values
                    .map(|v| v.map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect(),
            ),
        }
    }

    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Values::Text(v) => v,
            Values::Bytes(v) => v,
        }
    }
}

fn read_value(storage: Storage, row: &postgres::Row, i: usize) -> Option<Vec<u8>> {
    match storage {
        Storage::Bytea => row.get::<_, Option<Vec<u8>>>(i),
        _ => row.get::<_, Option<String>>(i).map(String::into_bytes),
    }
}

fn parse_row(plan: &Plan, r: &postgres::Row) -> Row {
    let n = plan.keys.len();
    let key: Vec<String> = (0..n).map(|k| r.get(k)).collect();
    let src = read_value(plan.source.storage, r, n);
    let dst = match plan.in_place() {
        true => src.clone(),
        false => read_value(plan.dest.storage, r, n + 1),
    };
    Row { key, src, dst }
}

/// The columns a batch reads: key texts, source, and the destination when it is another column.
fn columns(plan: &Plan) -> String {
    let mut cols = format!("{}, {}", plan.key_texts(), plan.source.read());
    if !plan.in_place() {
        cols.push_str(", ");
        cols.push_str(&dest_read(&plan.dest));
    }
    cols
}

/// A destination the run adds is read as NULL until it exists.
fn dest_read(c: &Column) -> String {
    match c.exists {
        true => c.read(),
        false => format!("NULL::{}", c.type_name),
    }
}

/// The first `limit` rows of the table, read before anything is written.
pub(crate) fn probe(
    client: &mut impl GenericClient,
    plan: &Plan,
    limit: usize,
) -> Result<Vec<Row>, MigrateError> {
    let sql = select_sql(plan, &Range::default(), false);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(&sql, &[&limit])
        .map_err(MigrateError::query("read the first rows", &plan.table))?;
    Ok(rows.iter().map(|r| parse_row(plan, r)).collect())
}

/// The conditions of a range read (non-null source, after `last` or from the range's start, before its end), and
/// the number of the next parameter.
pub(crate) fn range_where(plan: &Plan, range: &Range, after: bool) -> (String, usize) {
    let mut conds = vec![format!("{} IS NOT NULL", plan.source.read())];
    let mut n = 1;
    let keys = plan.key_list();
    if after {
        conds.push(format!("({keys}) > {}", plan.key_params(n)));
        n += plan.keys.len();
    } else if range.lower.is_some() {
        conds.push(format!("({keys}) >= {}", plan.key_params(n)));
        n += plan.keys.len();
    }
    if range.upper.is_some() {
        conds.push(format!("({keys}) < {}", plan.key_params(n)));
        n += plan.keys.len();
    }
    (conds.join(" AND "), n)
}

/// The parameters of [`range_where`].
pub(crate) fn range_params<'p>(
    range: &'p Range,
    last: Option<&'p [String]>,
) -> Vec<&'p (dyn ToSql + Sync)> {
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
    let from = match last {
        Some(l) => Some(l),
        None => range.lower.as_deref(),
    };
    for k in from.into_iter().flatten() {
        params.push(k);
    }
    for k in range.upper.iter().flatten() {
        params.push(k);
    }
    params
}

fn select_sql(plan: &Plan, range: &Range, after: bool) -> String {
    let (conds, n) = range_where(plan, range, after);
    format!(
        "SELECT {} FROM {} t WHERE {conds} ORDER BY {} LIMIT ${n}",
        columns(plan),
        plan.table,
        plan.key_list()
    )
}

/// `unnest($1::text[], ...) AS v(k0, ...)` over the key columns, then the `extra` arrays.
fn unnest(plan: &Plan, extra: &[(&str, &str)]) -> String {
    let mut arrays: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for i in 0..plan.keys.len() {
        arrays.push(format!("${}::text[]", i + 1));
        names.push(format!("k{i}"));
    }
    for (name, ty) in extra {
        arrays.push(format!("${}::{ty}", arrays.len() + 1));
        names.push((*name).to_owned());
    }
    format!("unnest({}) AS v({})", arrays.join(", "), names.join(", "))
}

fn key_join(plan: &Plan) -> String {
    let casts: Vec<String> = plan
        .keys
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("v.k{i}::{ty}"))
        .collect();
    format!("({}) = ({})", plan.key_list(), casts.join(", "))
}

fn update_sql(plan: &Plan) -> String {
    let mut extra = vec![("old", plan.source.array())];
    if !plan.in_place() {
        extra.push(("old_dst", plan.dest.array()));
    }
    extra.push(("new", plan.dest.array()));
    let mut set = format!("{} = v.new", ident(&plan.dest.name));
    if let Some((col, _)) = &plan.index {
        extra.push(("idx", col.array()));
        set.push_str(&format!(", {} = v.idx", ident(&col.name)));
    }
    let mut cas = format!("{} IS NOT DISTINCT FROM v.old", plan.source.read());
    if !plan.in_place() {
        cas.push_str(&format!(
            " AND {} IS NOT DISTINCT FROM v.old_dst",
            plan.dest.read()
        ));
    }
    format!(
        "UPDATE {} AS t SET {set} FROM {} WHERE {} AND {cas} RETURNING {}, {}",
        plan.table,
        unnest(plan, &extra),
        key_join(plan),
        plan.key_texts(),
        plan.dest.read()
    )
}

fn relock_sql(plan: &Plan) -> String {
    format!(
        "SELECT {} FROM {} t JOIN {} ON {} WHERE {} IS NOT NULL FOR UPDATE OF t",
        columns(plan),
        plan.table,
        unnest(plan, &[]),
        key_join(plan),
        plan.source.read()
    )
}

/// Plaintext kept only as long as a batch needs it.
pub(crate) type Plain = Zeroizing<Vec<u8>>;
