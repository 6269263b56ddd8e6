//! ESDK-format messages of a 64 B value with a cached data key (suites 0x0478 and 0x0578, raw AES-256 keyring),
//! next to raw ring AES-256-GCM and atrest's compact cell form, in the same run. Also prints the message sizes.
//! Run: `cargo bench --bench esdk` (figures in docs/esdk.md).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark"
)]

use std::hint::black_box;
use std::sync::Arc;

use atrest::cell::{CellEncryptor, Context, KeyFileProvider, Keyring};
use atrest::esdk::{EsdkEncryptor, RawAesKeyring};
use criterion::{Criterion, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const SIZE: usize = 64;

fn raw_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap())
}

fn raw_seal(key: &LessSafeKey, rng: &SystemRandom, plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    rng.fill(&mut nonce).unwrap();
    let mut out = Vec::with_capacity(12 + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut out[12..],
        )
        .unwrap();
    out.extend_from_slice(tag.as_ref());
    out
}

fn raw_open(key: &LessSafeKey, sealed: &[u8]) -> Vec<u8> {
    let nonce: [u8; 12] = sealed[..12].try_into().unwrap();
    let mut buf = sealed[12..].to_vec();
    let len = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
        .unwrap()
        .len();
    buf.truncate(len);
    buf
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new("users", "ssn")
        .unwrap()
        .with_row("1234567")
        .unwrap();
    let plain = vec![0x5au8; SIZE];
    let keyring = Arc::new(RawAesKeyring::new("atrest", "bench", &[7; 32]).unwrap());
    let unsigned = EsdkEncryptor::builder(keyring.clone()).build().unwrap();
    let signed = EsdkEncryptor::builder(keyring)
        .signed(true)
        .build()
        .unwrap();
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let cells = CellEncryptor::builder(provider)
        .keyring(Arc::new(Keyring::in_memory()))
        .build()
        .unwrap();
    let raw = raw_key();
    let rng = SystemRandom::new();

    let m0478 = unsigned.encrypt_cell(&ctx, &plain).unwrap();
    let m0578 = signed.encrypt_cell(&ctx, &plain).unwrap();
    let compact = cells.encrypt(&ctx, &plain).unwrap();
    let sealed = raw_seal(&raw, &rng, &plain);
    println!(
        "sizes for a {SIZE} B value (context users/ssn/row 1234567): esdk 0478 {} B, esdk 0578 {} B, \
         atrest compact {} B, raw ring nonce+ciphertext+tag {} B",
        m0478.len(),
        m0578.len(),
        compact.len(),
        sealed.len()
    );

    let mut g = c.benchmark_group("esdk-64B-encrypt");
    g.bench_function("esdk 0478 cached key", |b| {
        b.iter(|| unsigned.encrypt_cell(&ctx, black_box(&plain)).unwrap())
    });
    g.bench_function("esdk 0578 cached key", |b| {
        b.iter(|| signed.encrypt_cell(&ctx, black_box(&plain)).unwrap())
    });
    g.bench_function("atrest compact", |b| {
        b.iter(|| cells.encrypt(&ctx, black_box(&plain)).unwrap())
    });
    g.bench_function("raw ring", |b| {
        b.iter(|| raw_seal(&raw, &rng, black_box(&plain)))
    });
    g.finish();

    let mut g = c.benchmark_group("esdk-64B-decrypt");
    g.bench_function("esdk 0478 cached key", |b| {
        b.iter(|| unsigned.decrypt_cell(&ctx, black_box(&m0478)).unwrap())
    });
    g.bench_function("esdk 0578 cached key", |b| {
        b.iter(|| signed.decrypt_cell(&ctx, black_box(&m0578)).unwrap())
    });
    g.bench_function("atrest compact", |b| {
        b.iter(|| cells.decrypt(&ctx, black_box(&compact)).unwrap())
    });
    g.bench_function("raw ring", |b| {
        b.iter(|| raw_open(&raw, black_box(&sealed)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
