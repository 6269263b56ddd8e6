//! A quick measurement of cell encryption on this machine next to raw AES-256-GCM from `ring`, in alternating rounds
//! so that a change in the machine's load hits both alike. `benches/cell.rs` (criterion) is the thorough one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use super::context::Context;
use super::encryptor::CellEncryptor;
use super::error::CellError;
use super::format::MAX_PLAINTEXT_LEN;
use super::keyfile::KeyFileProvider;
use super::keyring::Keyring;
use crate::error::Help;

/// What is measured, in one line.
pub const DESCRIPTION: &str = "cell encryption (compact form, cached data key) vs raw ring AES-256-GCM without associated data, in alternating rounds (medians); both take a fresh 96-bit nonce from the OS per call";

/// Alternating rounds per measurement.
const ROUNDS: u32 = 15;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    #[error("the time per measurement must be above 0 ms")]
    ZeroBudget,
    #[error("no cell sizes to measure")]
    NoSizes,
    #[error("a cell of {size} bytes is over the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("benchmark failed: {0}")]
    Cell(#[from] CellError),
}

impl Help for BenchError {
    fn help(&self) -> Option<String> {
        match self {
            Self::ZeroBudget => Some("give each measurement some milliseconds, 300 say".into()),
            Self::NoSizes | Self::TooLarge { .. } => Some(format!(
                "measure sizes between 0 and {MAX_PLAINTEXT_LEN} bytes"
            )),
            Self::Cell(e) => e.help(),
        }
    }

    fn is_usage(&self) -> bool {
        !matches!(self, Self::Cell(_))
    }
}

/// The sizes to measure and the time spent on each measurement, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    sizes: Vec<usize>,
    budget: Duration,
}

impl BenchConfig {
    pub fn new(sizes: Vec<usize>, budget: Duration) -> Result<Self, BenchError> {
        if budget.is_zero() {
            return Err(BenchError::ZeroBudget);
        }
        if sizes.is_empty() {
            return Err(BenchError::NoSizes);
        }
        if let Some(&size) = sizes.iter().find(|&&s| s > MAX_PLAINTEXT_LEN) {
            return Err(BenchError::TooLarge {
                size,
                max: MAX_PLAINTEXT_LEN,
            });
        }
        Ok(BenchConfig { sizes, budget })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Encrypt,
    Decrypt,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
        }
    }
}

/// One size and operation: median calls per second of each side, and the median of the per-round ratios.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BenchRow {
    pub size: usize,
    pub op: Op,
    pub cell_ops: f64,
    pub ring_ops: f64,
    /// `cell / ring`, the median of the rounds' ratios.
    pub ratio: f64,
}

impl BenchRow {
    /// Megabytes (10^6 bytes) per second of plaintext, cell side.
    pub fn cell_mbs(&self) -> f64 {
        self.cell_ops * self.size as f64 / 1e6
    }

    /// Megabytes per second of plaintext, ring side.
    pub fn ring_mbs(&self) -> f64 {
        self.ring_ops * self.size as f64 / 1e6
    }
}

/// The rows of a run; its `Display` is the table `atrest cell bench` prints, [`DESCRIPTION`] first.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    pub rows: Vec<BenchRow>,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{DESCRIPTION}")?;
        writeln!(
            f,
            "{:>9}  {:<7}  {:>12}  {:>10}  {:>12}  {:>10}  {:>6}",
            "size", "op", "cell ops/s", "cell MB/s", "ring ops/s", "ring MB/s", "ratio"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>9}  {:<7}  {:>12.0}  {:>10.1}  {:>12.0}  {:>10.1}  {:>6.2}",
                r.size,
                r.op.name(),
                r.cell_ops,
                r.cell_mbs(),
                r.ring_ops,
                r.ring_mbs(),
                r.ratio
            )?;
        }
        Ok(())
    }
}

/// Measures every size: encryption and decryption, cell and raw ring, with an in-memory key file and keyring.
pub fn run(config: &BenchConfig) -> Result<BenchReport, BenchError> {
    let provider = Arc::new(KeyFileProvider::ephemeral()?);
    let cells = CellEncryptor::builder(provider)
        .keyring(Arc::new(Keyring::in_memory()))
        .build()?;
    let ctx = Context::new("users", "ssn")?.with_row("42")?;
    let rng = SystemRandom::new();
    let mut raw_key = [0u8; 32];
    rng.fill(&mut raw_key).map_err(|_| CellError::Random)?;
    let raw = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &raw_key)
            .map_err(|_| CellError::Internal("aes key length"))?,
    );
    let mut rows = Vec::with_capacity(config.sizes.len() * 2);
    for &size in &config.sizes {
        let plain = vec![0x5au8; size];
        let sealed = cells.encrypt(&ctx, &plain)?;
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce).map_err(|_| CellError::Random)?;
        let mut raw_sealed = plain.clone();
        raw.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut raw_sealed,
        )
        .map_err(|_| CellError::Internal("aes-gcm input length"))?;

        let seal_raw = || {
            let mut n = [0u8; 12];
            let _ = rng.fill(&mut n);
            let mut buf = Vec::with_capacity(plain.len() + 16);
            buf.extend_from_slice(&plain);
            let _ = raw.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(n),
                Aad::empty(),
                &mut buf,
            );
            buf.len()
        };
        let open_raw = || {
            let mut buf = raw_sealed.clone();
            raw.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
                .map(|p| p.len())
                .unwrap_or(0)
        };
        let encrypt = paired(
            config.budget,
            || cells.encrypt(&ctx, &plain).map(|v| v.len()).unwrap_or(0),
            seal_raw,
        );
        let decrypt = paired(
            config.budget,
            || cells.decrypt(&ctx, &sealed).map(|v| v.len()).unwrap_or(0),
            open_raw,
        );
        for (op, (cell_ops, ring_ops, ratio)) in [(Op::Encrypt, encrypt), (Op::Decrypt, decrypt)] {
            rows.push(BenchRow {
                size,
                op,
                cell_ops,
                ring_ops,
                ratio,
            });
        }
    }
    Ok(BenchReport { rows })
}

/// Measures `a` and `b` in [`ROUNDS`] alternating rounds within about `budget` each, so that a change in the
/// machine's load hits both alike. Returns the median calls per second of each and the median of the per-round
/// ratios `a / b`.
pub fn paired(
    budget: Duration,
    mut a: impl FnMut() -> usize,
    mut b: impl FnMut() -> usize,
) -> (f64, f64, f64) {
    let slice = budget / ROUNDS;
    let (mut ra, mut rb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    rate(slice / 4, &mut a);
    rate(slice / 4, &mut b);
    for _ in 0..ROUNDS {
        let x = rate(slice, &mut a);
        let y = rate(slice, &mut b);
        ra.push(x);
        rb.push(y);
        ratios.push(x / y);
    }
    (median(ra), median(rb), median(ratios))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Calls `op` repeatedly for about `budget` and returns calls per second.
fn rate(budget: Duration, op: &mut impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    let mut sink = 0usize;
    while start.elapsed() < budget {
        for _ in 0..8 {
            sink = sink.wrapping_add(std::hint::black_box(op()));
        }
        calls += 8;
    }
    std::hint::black_box(sink);
    calls as f64 / start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked_and_every_size_gets_both_operations() {
        assert!(matches!(
            BenchConfig::new(vec![64], Duration::ZERO),
            Err(BenchError::ZeroBudget)
        ));
        assert!(matches!(
            BenchConfig::new(vec![], Duration::from_millis(1)),
            Err(BenchError::NoSizes)
        ));
        assert!(matches!(
            BenchConfig::new(vec![MAX_PLAINTEXT_LEN + 1], Duration::from_millis(1)),
            Err(BenchError::TooLarge { .. })
        ));
        let report =
            run(&BenchConfig::new(vec![0, 64], Duration::from_millis(15)).unwrap()).unwrap();
        let rows = &report.rows;
        let ops: Vec<(usize, Op)> = rows.iter().map(|r| (r.size, r.op)).collect();
        assert_eq!(
            ops,
            [
                (0, Op::Encrypt),
                (0, Op::Decrypt),
                (64, Op::Encrypt),
                (64, Op::Decrypt)
            ]
        );
        assert!(rows.iter().all(|r| r.cell_ops > 0.0 && r.ring_ops > 0.0));
        let text = report.to_string();
        assert!(
            text.starts_with(DESCRIPTION) && text.lines().count() == 6,
            "{text}"
        );
    }
}
