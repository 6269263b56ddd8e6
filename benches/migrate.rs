//! `cell migrate` against the physical limit of the job: a plain `UPDATE` of the same column, with the same batch
//! size (each batch read by key range, written through one `UPDATE ... FROM unnest(...)`, one transaction), on the
//! same server, with 1 and 2 workers. The table is restored to plaintext outside the timed part of each iteration.
//!
//! Needs a PostgreSQL server: `scripts/bench-migrate.sh` starts a throw-away one and runs this with
//! `ATREST_BENCH_PG_URL` set (figures in docs/performance.md). Without it the benchmark says so and does nothing.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use atrest::cell::{CellEncryptor, KeyFileProvider, Keyring};
use atrest::migrate::{self, Codec, Direction, Options, Shard, Target};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use postgres::{Client, NoTls};

const ROWS: i64 = 20_000;
const BATCH: usize = 1000;

fn url() -> Option<String> {
    std::env::var("ATREST_BENCH_PG_URL").ok()
}

/// A database of its own with `bench(id bigint primary key, v text)` and a plaintext copy to restore from.
fn setup(server: &str) -> String {
    let mut admin = Client::connect(server, NoTls).unwrap();
    admin
        .batch_execute("DROP DATABASE IF EXISTS atrest_bench WITH (FORCE)")
        .unwrap();
    admin.batch_execute("CREATE DATABASE atrest_bench").unwrap();
    let url = format!("{}/atrest_bench", server.rsplit_once('/').unwrap().0);
    let mut c = Client::connect(&url, NoTls).unwrap();
    c.batch_execute(&format!(
        "CREATE TABLE bench_orig AS SELECT g::bigint AS id, md5(g::text) AS v FROM generate_series(1, {ROWS}) g;
         CREATE TABLE bench (id bigint PRIMARY KEY, v text);"
    ))
    .unwrap();
    url
}

fn restore(url: &str) {
    let mut c = Client::connect(url, NoTls).unwrap();
    c.batch_execute("TRUNCATE bench; INSERT INTO bench SELECT * FROM bench_orig")
        .unwrap();
    c.batch_execute("VACUUM ANALYZE bench").unwrap();
    c.batch_execute("DROP TABLE IF EXISTS atrest_checkpoint")
        .unwrap();
}

/// The baseline: every row of ids in `[lo, hi)` rewritten (reversed), batch by batch.
fn plain_update(url: &str, lo: i64, hi: i64) {
    let mut c = Client::connect(url, NoTls).unwrap();
    let select = c
        .prepare("SELECT id::text, v FROM bench WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3")
        .unwrap();
    let update = c
        .prepare(
            "UPDATE bench AS t SET v = u.new FROM unnest($1::text[], $2::text[], $3::text[]) AS u(k, old, new) \
             WHERE t.id = u.k::bigint AND t.v IS NOT DISTINCT FROM u.old RETURNING t.id",
        )
        .unwrap();
    let mut last = lo - 1;
    loop {
        let rows = c.query(&select, &[&last, &hi, &(BATCH as i64)]).unwrap();
        let Some(end) = rows.last() else { break };
        last = end.get::<_, String>(0).parse().unwrap();
        let keys: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let old: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
        let new: Vec<String> = old.iter().map(|v| v.chars().rev().collect()).collect();
        let mut tx = c.transaction().unwrap();
        tx.query(&update, &[&keys, &old, &new]).unwrap();
        tx.commit().unwrap();
    }
}

fn migrate_shard(url: &str, cells: &CellEncryptor, shard: Shard) {
    let mut c = migrate::connect(Some(url)).unwrap();
    let target = Target {
        table: "bench".into(),
        column: "v".into(),
        ..Target::default()
    };
    let plan = migrate::resolve(&mut c, &target, Direction::Encrypt).unwrap();
    let options = Options {
        batch: BATCH,
        shard,
    };
    let summary = migrate::migrate(
        &mut c,
        &plan,
        Codec::Cell(cells),
        None,
        &options,
        &mut |_| {},
    )
    .unwrap();
    assert!(summary.written > 0 || summary.already_done);
}

fn bench(c: &mut Criterion) {
    let Some(server) = url() else {
        eprintln!(
            "ATREST_BENCH_PG_URL is not set: skipping the migration benchmark (run scripts/bench-migrate.sh)"
        );
        return;
    };
    let url = setup(&server);
    let key = || Arc::new(KeyFileProvider::ephemeral().unwrap());
    // The self-contained form (142 bytes per cell with a key file) and the compact form (47 bytes, a keyring).
    let forms = [
        (
            "cell_migrate",
            Arc::new(CellEncryptor::builder(key()).build().unwrap()),
        ),
        (
            "cell_migrate_compact",
            Arc::new(
                CellEncryptor::builder(key())
                    .keyring(Arc::new(Keyring::in_memory()))
                    .build()
                    .unwrap(),
            ),
        ),
    ];
    let mut group = c.benchmark_group("migrate");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(ROWS as u64));
    for workers in [1u32, 2] {
        group.bench_with_input(
            BenchmarkId::new("plain_update", workers),
            &workers,
            |b, &w| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        restore(&url);
                        let start = Instant::now();
                        let step = ROWS / i64::from(w) + 1;
                        std::thread::scope(|s| {
                            for i in 0..i64::from(w) {
                                let url = &url;
                                s.spawn(move || {
                                    plain_update(url, i * step + 1, (i + 1) * step + 1)
                                });
                            }
                        });
                        total += start.elapsed();
                    }
                    total
                });
            },
        );
        for (name, cells) in &forms {
            group.bench_with_input(BenchmarkId::new(*name, workers), &workers, |b, &w| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        restore(&url);
                        let start = Instant::now();
                        std::thread::scope(|s| {
                            for i in 0..w {
                                let url = &url;
                                s.spawn(move || {
                                    migrate_shard(url, cells, Shard::new(i, w).unwrap())
                                });
                            }
                        });
                        total += start.elapsed();
                    }
                    total
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
