//! Cell encryption against raw ring AES-256-GCM, measured in the same run.
//!
//! Nonce strategy, the same on both sides: a single cell takes a fresh 96-bit nonce from the OS generator
//! (`ring::rand::SystemRandom`, one `getrandom` call); a batch takes all its nonces in one `getrandom` call.
//! Run: `cargo bench --no-default-features --bench cell` (figures in docs/performance.md).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use atrest::cell::{
    BlindIndex, CacheLimits, CellEncryptor, CellError, Context, IndexKey, KeyFileProvider, Keyring,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const SIZES: [usize; 7] = [16, 64, 256, 1024, 4096, 65536, 1 << 20];

struct Fixture {
    compact: CellEncryptor,
    self_contained: CellEncryptor,
    ctx: Context,
    raw: LessSafeKey,
    rng: SystemRandom,
}

fn fixture() -> Fixture {
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap_or_else(|e| panic!("{e}")));
    let compact = CellEncryptor::builder(provider.clone())
        .keyring(Arc::new(Keyring::in_memory()))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let self_contained = CellEncryptor::builder(provider)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let ctx = Context::new("users", "ssn")
        .and_then(|c| c.with_row("1234567"))
        .unwrap_or_else(|e| panic!("{e}"));
    let rng = SystemRandom::new();
    let mut key = [0u8; 32];
    rng.fill(&mut key).unwrap_or_else(|_| panic!("rng"));
    let raw =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap_or_else(|_| panic!("key")));
    Fixture {
        compact,
        self_contained,
        ctx,
        raw,
        rng,
    }
}

fn raw_seal(f: &Fixture, plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    f.rng.fill(&mut nonce).unwrap_or_else(|_| panic!("rng"));
    let mut out = Vec::with_capacity(12 + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = f
        .raw
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut out[12..],
        )
        .unwrap_or_else(|_| panic!("seal"));
    out.extend_from_slice(tag.as_ref());
    out
}

/// The associated data the compact form authenticates for this fixture (header and context), for a raw baseline
/// that does the same GHASH work.
fn same_aad(f: &Fixture) -> Vec<u8> {
    vec![0xa5; 19 + f.ctx.encoded().len()]
}

fn raw_seal_aad(f: &Fixture, plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    f.rng.fill(&mut nonce).unwrap_or_else(|_| panic!("rng"));
    let mut out = Vec::with_capacity(12 + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = f
        .raw
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[12..],
        )
        .unwrap_or_else(|_| panic!("seal"));
    out.extend_from_slice(tag.as_ref());
    out
}

fn raw_open_aad(f: &Fixture, sealed: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&sealed[..12]);
    let mut buf = sealed[12..].to_vec();
    let len = f
        .raw
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .unwrap_or_else(|_| panic!("open"))
        .len();
    buf.truncate(len);
    buf
}

fn raw_open(f: &Fixture, sealed: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&sealed[..12]);
    let mut buf = sealed[12..].to_vec();
    let len = f
        .raw
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
        .unwrap_or_else(|_| panic!("open"))
        .len();
    buf.truncate(len);
    buf
}

fn by_size(c: &mut Criterion) {
    let f = fixture();
    let aad = same_aad(&f);
    for (op, encrypt) in [("encrypt", true), ("decrypt", false)] {
        let mut group = c.benchmark_group(op);
        for size in SIZES {
            let plain = vec![0x5au8; size];
            group.throughput(Throughput::Bytes(size as u64));
            if size >= 65536 {
                group.sample_size(20);
            }
            let compact = f
                .compact
                .encrypt(&f.ctx, &plain)
                .unwrap_or_else(|e| panic!("{e}"));
            let self_contained = f
                .self_contained
                .encrypt(&f.ctx, &plain)
                .unwrap_or_else(|e| panic!("{e}"));
            let raw = raw_seal(&f, &plain);
            let raw_aad = raw_seal_aad(&f, &plain, &aad);
            if encrypt {
                group.bench_with_input(BenchmarkId::new("ring-raw", size), &plain, |b, p| {
                    b.iter(|| raw_seal(&f, black_box(p)))
                });
                group.bench_with_input(
                    BenchmarkId::new("ring-raw-same-aad", size),
                    &plain,
                    |b, p| b.iter(|| raw_seal_aad(&f, black_box(p), &aad)),
                );
                group.bench_with_input(BenchmarkId::new("cell-compact", size), &plain, |b, p| {
                    b.iter(|| f.compact.encrypt(&f.ctx, black_box(p)))
                });
                group.bench_with_input(
                    BenchmarkId::new("cell-self-contained", size),
                    &plain,
                    |b, p| b.iter(|| f.self_contained.encrypt(&f.ctx, black_box(p))),
                );
            } else {
                group.bench_with_input(BenchmarkId::new("ring-raw", size), &raw, |b, s| {
                    b.iter(|| raw_open(&f, black_box(s)))
                });
                group.bench_with_input(
                    BenchmarkId::new("ring-raw-same-aad", size),
                    &raw_aad,
                    |b, s| b.iter(|| raw_open_aad(&f, black_box(s), &aad)),
                );
                group.bench_with_input(BenchmarkId::new("cell-compact", size), &compact, |b, s| {
                    b.iter(|| f.compact.decrypt(&f.ctx, black_box(s)))
                });
                group.bench_with_input(
                    BenchmarkId::new("cell-self-contained", size),
                    &self_contained,
                    |b, s| b.iter(|| f.self_contained.decrypt(&f.ctx, black_box(s))),
                );
            }
        }
        group.finish();
    }
}

/// 1,024 cells of 64 B per iteration: one key lookup and one `getrandom` call for all nonces, on both sides.
fn batch(c: &mut Criterion) {
    let f = fixture();
    const N: usize = 1024;
    let rows: Vec<Context> = (0..N)
        .map(|i| {
            f.ctx
                .clone()
                .with_row(i.to_string())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let plain = vec![0x5au8; 64];
    let cells: Vec<(&Context, &[u8])> = rows.iter().map(|c| (c, plain.as_slice())).collect();
    let mut group = c.benchmark_group("batch-encrypt-1024x64B");
    group.throughput(Throughput::Bytes((N * 64) as u64));
    group.bench_function("ring-raw", |b| {
        b.iter(|| {
            let mut nonces = vec![0u8; N * 12];
            f.rng.fill(&mut nonces).unwrap_or_else(|_| panic!("rng"));
            nonces
                .chunks_exact(12)
                .map(|n| {
                    let mut nonce = [0u8; 12];
                    nonce.copy_from_slice(n);
                    let mut out = Vec::with_capacity(12 + 64 + 16);
                    out.extend_from_slice(&nonce);
                    out.extend_from_slice(&plain);
                    let tag = f
                        .raw
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key(nonce),
                            Aad::empty(),
                            &mut out[12..],
                        )
                        .unwrap_or_else(|_| panic!("seal"));
                    out.extend_from_slice(tag.as_ref());
                    out
                })
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("cell-compact", |b| {
        b.iter(|| f.compact.encrypt_batch(black_box(&cells)))
    });
    group.finish();

    let sealed = f.compact.encrypt_batch(&cells).unwrap();
    let opened: Vec<(&Context, &[u8])> = rows
        .iter()
        .zip(&sealed)
        .map(|(c, s)| (c, s.as_slice()))
        .collect();
    let raw: Vec<Vec<u8>> = (0..N).map(|_| raw_seal(&f, &plain)).collect();
    let mut group = c.benchmark_group("batch-decrypt-1024x64B");
    group.throughput(Throughput::Bytes((N * 64) as u64));
    group.bench_function("ring-raw", |b| {
        b.iter(|| {
            raw.iter()
                .map(|s| raw_open(&f, black_box(s)))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("cell-compact", |b| {
        b.iter(|| f.compact.decrypt_batch(black_box(&opened)))
    });
    group.finish();
}

/// A data key per cell: key-file wrap (AES-GCM), HKDF derivation and commitment, keyring entry, cache insert.
fn cache_miss(c: &mut Criterion) {
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap_or_else(|e| panic!("{e}")));
    let limits = CacheLimits {
        max_messages: 1,
        ..CacheLimits::default()
    };
    let cells = CellEncryptor::builder(provider.clone())
        .limits(limits)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let ctx = Context::new("users", "ssn").unwrap_or_else(|e| panic!("{e}"));
    let sealed = cells
        .encrypt(&ctx, b"078-05-1120")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("cache-miss");
    group.bench_function("encrypt-new-data-key", |b| {
        b.iter(|| cells.encrypt(&ctx, black_box(b"078-05-1120")))
    });
    group.bench_function("decrypt-unwrap-data-key", |b| {
        b.iter(|| {
            // A fresh encryptor has an empty cache, so each decrypt unwraps the data key.
            let reader = CellEncryptor::builder(provider.clone())
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            reader.decrypt(&ctx, black_box(&sealed))
        })
    });
    group.finish();
}

fn blind_index(c: &mut Criterion) {
    let root = IndexKey::from_bytes([7u8; 32]);
    let ctx = Context::new("users", "ssn").unwrap_or_else(|e| panic!("{e}"));
    let index = BlindIndex::new(&root, &ctx, 16).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("blind-index");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hmac-sha256-16B-of-11B-value", |b| {
        b.iter(|| index.compute(black_box(b"078-05-1120")))
    });
    group.finish();
}

/// 64 B cells on 1, 2 (and, on larger machines, all) threads at once, all sharing one encryptor, next to raw ring
/// with the same associated data on as many threads. One iteration is one cell on every thread, so the throughput
/// in elements per second is the total rate; the scaling is that rate over the 1-thread rate.
/// What the threads benchmark keeps of a cell's output: its length, as of raw ring's, so both sides consume and
/// drop their output the same way (turning the `Result` into an `Option` instead cost the cell about 10 ns a call).
fn consumed(out: Result<Vec<u8>, CellError>) -> usize {
    out.map_or(0, |v| v.len())
}

fn threads(c: &mut Criterion) {
    let f = fixture();
    let aad = same_aad(&f);
    let plain = vec![0x5au8; 64];
    let compact = f
        .compact
        .encrypt(&f.ctx, &plain)
        .unwrap_or_else(|e| panic!("{e}"));
    let raw_aad = raw_seal_aad(&f, &plain, &aad);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut counts = vec![1, 2];
    if cores > 2 {
        counts.push(cores);
    }
    /// Runs `op` `iters` times on each of `n` threads at once; the wall time of the slowest.
    fn on_threads(n: usize, iters: u64, op: &(dyn Fn() + Sync)) -> Duration {
        let start = std::sync::Barrier::new(n);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        let t = std::time::Instant::now();
                        for _ in 0..iters {
                            op();
                        }
                        t.elapsed()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| panic!("thread")))
                .max()
                .unwrap_or_default()
        })
    }
    for (op, encrypt) in [
        ("threads-encrypt-64B", true),
        ("threads-decrypt-64B", false),
    ] {
        let mut group = c.benchmark_group(op);
        for &n in &counts {
            group.throughput(Throughput::Elements(n as u64));
            type Op<'a> = Box<dyn Fn() + Sync + 'a>;
            let (cell, raw): (Op<'_>, Op<'_>) = if encrypt {
                (
                    Box::new(|| {
                        black_box(consumed(f.compact.encrypt(&f.ctx, black_box(&plain))));
                    }),
                    Box::new(|| {
                        black_box(raw_seal_aad(&f, black_box(&plain), &aad).len());
                    }),
                )
            } else {
                (
                    Box::new(|| {
                        black_box(consumed(f.compact.decrypt(&f.ctx, black_box(&compact))));
                    }),
                    Box::new(|| {
                        black_box(raw_open_aad(&f, black_box(&raw_aad), &aad).len());
                    }),
                )
            };
            group.bench_function(BenchmarkId::new("ring-raw-same-aad", n), |b| {
                b.iter_custom(|iters| on_threads(n, iters, &*raw))
            });
            group.bench_function(BenchmarkId::new("cell-compact-shared", n), |b| {
                b.iter_custom(|iters| on_threads(n, iters, &*cell))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = by_size, threads, batch, cache_miss, blind_index
}
criterion_main!(benches);
