//! `INDEX/COUNT`: one worker's part of the table, a range of the row key. The ranges are cut once, by the first
//! worker of a run, and kept in the checkpoint table, so workers that start later (or again) take the same ones.

use std::fmt;
use std::str::FromStr;

use postgres::GenericClient;

use super::error::MigrateError;
use super::plan::Plan;

/// One worker's share: shard `index` of `count`, numbered from 0 (as Kubernetes Indexed Jobs and AWS Batch array
/// jobs number theirs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole table.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Self, MigrateError> {
        if count == 0 || index >= count {
            return Err(MigrateError::BadShard {
                given: format!("{index}/{count}"),
            });
        }
        Ok(Shard { index, count })
    }
}

impl FromStr for Shard {
    type Err = MigrateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MigrateError::BadShard {
            given: s.to_owned(),
        };
        let (i, c) = s.split_once('/').ok_or_else(bad)?;
        let (i, c) = (
            i.trim().parse().map_err(|_| bad())?,
            c.trim().parse().map_err(|_| bad())?,
        );
        Shard::new(i, c).map_err(|_| bad())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A range of row keys (text forms): from `lower` (inclusive) to `upper` (exclusive), open where `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Range {
    pub lower: Option<Vec<String>>,
    pub upper: Option<Vec<String>>,
    /// No row can be in it (more shards than rows).
    pub empty: bool,
}

/// Cuts the table into `count` ranges of about as many rows each, at the keys found at each `n * i / count`.
pub(crate) fn cut(
    client: &mut impl GenericClient,
    plan: &Plan,
    count: u32,
) -> Result<Vec<Range>, MigrateError> {
    let q = || MigrateError::query("cut the table into shards", &plan.table);
    let rows: i64 = client
        .query_one(&format!("SELECT count(*) FROM {} t", plan.table), &[])
        .map_err(q())?
        .get(0);
    let select = format!(
        "SELECT {} FROM {} t ORDER BY {} OFFSET $1 LIMIT 1",
        plan.key_texts(),
        plan.table,
        plan.key_list()
    );
    let mut bounds: Vec<Option<Vec<String>>> = Vec::new();
    for i in 1..i64::from(count) {
        let offset = rows * i / i64::from(count);
        let row = client.query_opt(&select, &[&offset]).map_err(q())?;
        bounds.push(row.map(|r| {
            (0..plan.keys.len())
                .map(|k| r.get::<_, String>(k))
                .collect()
        }));
    }
    let mut ranges = Vec::new();
    let mut lower: Option<Vec<String>> = None;
    let mut ended = false;
    for i in 0..count as usize {
        if ended {
            ranges.push(Range {
                empty: true,
                ..Range::default()
            });
            continue;
        }
        let upper = match bounds.get(i) {
            Some(Some(b)) if Some(b) == lower.as_ref() => {
                // The same key twice (fewer rows than shards): an empty range.
                ranges.push(Range {
                    empty: true,
                    ..Range::default()
                });
                continue;
            }
            Some(Some(b)) => Some(b.clone()),
            Some(None) | None => {
                ended = true;
                None
            }
        };
        ranges.push(Range {
            lower: lower.clone(),
            upper: upper.clone(),
            empty: false,
        });
        lower = upper;
    }
    Ok(ranges)
}
