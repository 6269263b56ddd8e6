//! atrest's own table of progress, `atrest_checkpoint` in the migrated table's schema: one row per migration (job)
//! and shard, with its key range and the last row key committed. A batch and its checkpoint commit in one
//! transaction, so a run killed at any point resumes after the last batch that committed.

use postgres::{GenericClient, Transaction};

use super::error::MigrateError;
use super::plan::Plan;
use super::shard::{self, Range, Shard};

/// A shard as the checkpoint table has it.
#[derive(Clone, Debug)]
pub(crate) struct Claim {
    pub range: Range,
    /// The last row key committed, if any.
    pub last: Option<Vec<String>>,
    pub done: bool,
    /// Rows done before this process started (a resumed run).
    pub rows_before: i64,
}

const SCHEMA: &str = "(job text NOT NULL, shard integer NOT NULL, shards integer NOT NULL, \
    lower_key text[], upper_key text[], last_key text[], \
    rows_done bigint NOT NULL DEFAULT 0, rows_written bigint NOT NULL DEFAULT 0, \
    rows_skipped bigint NOT NULL DEFAULT 0, conflicts bigint NOT NULL DEFAULT 0, \
    state text NOT NULL DEFAULT 'running', started_at timestamptz NOT NULL DEFAULT now(), \
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, shard))";

/// Creates the table when missing and takes this worker's shard: a new run when there is none (or the last one
/// finished, every shard done), else the running one, whose shard count must match.
pub(crate) fn claim(
    client: &mut postgres::Client,
    plan: &Plan,
    shard: Shard,
) -> Result<Claim, MigrateError> {
    let cp = plan.checkpoint_table();
    let q = |action| MigrateError::query(action, &cp);
    let mut tx = client.transaction().map_err(q("start a transaction"))?;
    // One worker at a time creates the table and cuts the ranges.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('atrest_checkpoint'))",
        &[],
    )
    .map_err(q("lock the checkpoint table"))?;
    tx.batch_execute(&format!("CREATE TABLE IF NOT EXISTS {cp} {SCHEMA}"))
        .map_err(q("create the checkpoint table"))?;
    let count = i32::try_from(shard.count).unwrap_or(i32::MAX);
    let index = i32::try_from(shard.index).unwrap_or(i32::MAX);
    let rows = tx
        .query(
            &format!("SELECT shards, state FROM {cp} WHERE job = $1"),
            &[&plan.job_id],
        )
        .map_err(q("read the checkpoint table"))?;
    let running = rows.iter().any(|r| r.get::<_, String>(1) != "done");
    if running {
        let shards: i32 = rows.first().map_or(count, |r| r.get(0));
        if shards != count {
            return Err(MigrateError::ShardMismatch {
                running: u32::try_from(shards).unwrap_or(0),
                requested: shard.count,
            });
        }
    } else {
        tx.execute(&format!("DELETE FROM {cp} WHERE job = $1"), &[&plan.job_id])
            .map_err(q("reset the checkpoint table"))?;
        let ranges = shard::cut(&mut tx, plan, shard.count)?;
        let insert = format!(
            "INSERT INTO {cp} (job, shard, shards, lower_key, upper_key, state) VALUES ($1, $2, $3, $4, $5, $6)"
        );
        for (i, r) in ranges.iter().enumerate() {
            let i = i32::try_from(i).unwrap_or(i32::MAX);
            let state = if r.empty { "done" } else { "running" };
            tx.execute(
                &insert,
                &[&plan.job_id, &i, &count, &r.lower, &r.upper, &state],
            )
            .map_err(q("write the checkpoint table"))?;
        }
    }
    let row = tx
        .query_one(
            &format!("SELECT lower_key, upper_key, last_key, state, rows_done FROM {cp} WHERE job = $1 AND shard = $2"),
            &[&plan.job_id, &index],
        )
        .map_err(q("read the checkpoint table"))?;
    let done = row.get::<_, String>(3) == "done";
    let claim = Claim {
        range: Range {
            lower: row.get(0),
            upper: row.get(1),
            empty: done,
        },
        last: row.get(2),
        done,
        rows_before: row.get(4),
    };
    tx.commit().map_err(q("commit the checkpoint"))?;
    Ok(claim)
}

/// Counts of one batch.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub done: i64,
    pub written: i64,
    pub skipped: i64,
    pub conflicts: i64,
}

/// Records a batch inside its own transaction.
pub(crate) fn advance(
    tx: &mut Transaction<'_>,
    statement: &postgres::Statement,
    plan: &Plan,
    shard: Shard,
    last: &[String],
    c: Counts,
) -> Result<(), MigrateError> {
    let index = i32::try_from(shard.index).unwrap_or(i32::MAX);
    tx.execute(
        statement,
        &[
            &plan.job_id,
            &index,
            &last,
            &c.done,
            &c.written,
            &c.skipped,
            &c.conflicts,
        ],
    )
    .map_err(MigrateError::query(
        "write the checkpoint",
        &plan.checkpoint_table(),
    ))?;
    Ok(())
}

pub(crate) fn advance_sql(plan: &Plan) -> String {
    format!(
        "UPDATE {} SET last_key = $3, rows_done = rows_done + $4, rows_written = rows_written + $5, \
         rows_skipped = rows_skipped + $6, conflicts = conflicts + $7, updated_at = now() \
         WHERE job = $1 AND shard = $2",
        plan.checkpoint_table()
    )
}

/// Marks the shard done.
pub(crate) fn finish(
    client: &mut impl GenericClient,
    plan: &Plan,
    shard: Shard,
) -> Result<(), MigrateError> {
    let index = i32::try_from(shard.index).unwrap_or(i32::MAX);
    client
        .execute(
            &format!(
                "UPDATE {} SET state = 'done', updated_at = now() WHERE job = $1 AND shard = $2",
                plan.checkpoint_table()
            ),
            &[&plan.job_id, &index],
        )
        .map_err(MigrateError::query(
            "write the checkpoint",
            &plan.checkpoint_table(),
        ))?;
    Ok(())
}
