//! Counts the instructions of one cell operation against raw ring with the same associated data, under callgrind
//! (repeatable on a loaded machine, where wall clocks move by ±20 %):
//!
//! ```text
//! cargo build --release --no-default-features --example cell_instructions
//! valgrind --tool=callgrind --toggle-collect='*measured*' target/release/examples/cell_instructions decrypt 100000
//! ```
//!
//! The first argument picks the side and operation (`decrypt`, `ring-decrypt`, `encrypt`, `ring-encrypt`), the
//! second the number of 64 B cells; instructions per cell = the collected total / cells. Both sides of a pair do the
//! same work the API forces: a fresh output `Vec` per cell, the ciphertext copied into it once, a nonce from the OS
//! when sealing. The data key is cached (one warm-up cell before counting).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use atrest::cell::{CellEncryptor, Context, KeyFileProvider, Keyring};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const CELL: usize = 64;
/// The compact header: version, suite, form, 16-byte key reference.
const HEADER: usize = 19;

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "decrypt".into());
    let cells: u64 = args.next().map_or(100_000, |n| n.parse().expect("a count"));

    let provider = Arc::new(KeyFileProvider::ephemeral().expect("key file"));
    let encryptor = CellEncryptor::builder(provider)
        .keyring(Arc::new(Keyring::in_memory()))
        .build()
        .expect("encryptor");
    let ctx = Context::new("users", "ssn")
        .and_then(|c| c.with_row("1234567"))
        .expect("context");
    let plain = vec![0x5au8; CELL];
    let sealed = encryptor.encrypt(&ctx, &plain).expect("encrypt");
    assert_eq!(encryptor.decrypt(&ctx, &sealed).expect("decrypt"), plain);
    // The cache's millisecond clock thread has started by now; let it tick once, so the count does not depend on
    // when valgrind first schedules it.
    std::thread::sleep(std::time::Duration::from_millis(20));

    let rng = SystemRandom::new();
    let mut key = [0u8; 32];
    rng.fill(&mut key).expect("rng");
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("key"));
    let aad = [vec![0xa5u8; HEADER].as_slice(), ctx.encoded()].concat();
    let raw_sealed = raw_seal(&raw, &rng, &plain, &aad);

    let sink = match op.as_str() {
        "decrypt" => measured(cells, &mut || {
            encryptor
                .decrypt(&ctx, black_box(&sealed))
                .map_or(0, |v| v.len())
        }),
        "ring-decrypt" => measured(cells, &mut || {
            raw_open(&raw, black_box(&raw_sealed), &aad).len()
        }),
        "encrypt" => measured(cells, &mut || {
            encryptor
                .encrypt(&ctx, black_box(&plain))
                .map_or(0, |v| v.len())
        }),
        "ring-encrypt" => measured(cells, &mut || {
            raw_seal(&raw, &rng, black_box(&plain), &aad).len()
        }),
        other => panic!("unknown operation `{other}`"),
    };
    println!("{op}: {cells} cells of {CELL} B, {sink} bytes out");
}

/// The loop callgrind collects (`--toggle-collect='*measured*'`).
#[inline(never)]
fn measured(cells: u64, op: &mut dyn FnMut() -> usize) -> usize {
    let mut sink = 0usize;
    for _ in 0..cells {
        sink = sink.wrapping_add(black_box(op()));
    }
    sink
}

/// Raw ring sealing as a cell does: a nonce from the OS, a new buffer with the nonce and the plaintext, the tag.
fn raw_seal(raw: &LessSafeKey, rng: &SystemRandom, plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    rng.fill(&mut nonce).expect("rng");
    let mut out = Vec::with_capacity(12 + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = raw
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[12..],
        )
        .expect("seal");
    out.extend_from_slice(tag.as_ref());
    out
}

/// Raw ring opening as a cell does: the ciphertext copied once into a new buffer, opened in place, the tag cut off.
fn raw_open(raw: &LessSafeKey, sealed: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&sealed[..12]);
    let mut buf = sealed[12..].to_vec();
    let len = raw
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .expect("open")
        .len();
    buf.truncate(len);
    buf
}
