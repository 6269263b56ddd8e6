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
pub const DESCRIPTION: &str = "cell encryption (compact form, cached data key) vs raw ring AES-256-GCM with the same associated data (header and context) and without any, in alternating rounds (medians); every side takes a fresh 96-bit nonce from the OS per call";

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
    /// Raw ring with the same associated data as the cell: the physical limit.
    pub ring_aad_ops: f64,
    /// Raw ring without associated data.
    pub ring_ops: f64,
    /// `cell / ring with the same associated data`, the median of the rounds' ratios.
    pub ratio_aad: f64,
    /// `cell / ring without associated data`, the median of the rounds' ratios.
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
            "{:>9}  {:<7}  {:>12}  {:>10}  {:>12}  {:>12}  {:>10}  {:>9}  {:>6}",
            "size",
            "op",
            "cell ops/s",
            "cell MB/s",
            "ring+aad/s",
            "ring ops/s",
            "ring MB/s",
            "ratio aad",
            "ratio"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>9}  {:<7}  {:>12.0}  {:>10.1}  {:>12.0}  {:>12.0}  {:>10.1}  {:>9.2}  {:>6.2}",
                r.size,
                r.op.name(),
                r.cell_ops,
                r.cell_mbs(),
                r.ring_aad_ops,
                r.ring_ops,
                r.ring_mbs(),
                r.ratio_aad,
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
    // The associated data a compact cell authenticates here: its 19-byte header and the encoded context.
    let aad = [vec![0xa5u8; 19].as_slice(), ctx.encoded()].concat();
    let mut rows = Vec::with_capacity(config.sizes.len() * 2);
    for &size in &config.sizes {
        let plain = vec![0x5au8; size];
        let sealed = cells.encrypt(&ctx, &plain)?;
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce).map_err(|_| CellError::Random)?;
        let seal_once = |ad: &[u8]| {
            let mut buf = plain.clone();
            raw.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(ad),
                &mut buf,
            )
            .map(|()| buf)
            .map_err(|_| CellError::Internal("aes-gcm input length"))
        };
        let (raw_sealed, raw_sealed_aad) = (seal_once(&[])?, seal_once(&aad)?);
        // Each side as a cell is: a nonce from the OS, a new output buffer, one AEAD call.
        let seal_raw = |ad: &[u8]| {
            let mut n = [0u8; 12];
            let _ = rng.fill(&mut n);
            let mut buf = Vec::with_capacity(12 + plain.len() + 16);
            buf.extend_from_slice(&n);
            buf.extend_from_slice(&plain);
            let tag = raw.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(n),
                Aad::from(ad),
                buf.get_mut(12..).unwrap_or_default(),
            );
            if let Ok(tag) = tag {
                buf.extend_from_slice(tag.as_ref());
            }
            buf.len()
        };
        let open_raw = |sealed: &[u8], ad: &[u8]| {
            let mut buf = sealed.to_vec();
            raw.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(ad), &mut buf)
                .map(|p| p.len())
                .unwrap_or(0)
        };
        let encrypt = rounds(
            config.budget,
            &mut [
                &mut || cells.encrypt(&ctx, &plain).map(|v| v.len()).unwrap_or(0),
                &mut || seal_raw(&aad),
                &mut || seal_raw(&[]),
            ],
        );
        let decrypt = rounds(
            config.budget,
            &mut [
                &mut || cells.decrypt(&ctx, &sealed).map(|v| v.len()).unwrap_or(0),
                &mut || open_raw(&raw_sealed_aad, &aad),
                &mut || open_raw(&raw_sealed, &[]),
            ],
        );
        for (op, m) in [(Op::Encrypt, encrypt), (Op::Decrypt, decrypt)] {
            rows.push(BenchRow {
                size,
                op,
                cell_ops: m.ops.first().copied().unwrap_or(0.0),
                ring_aad_ops: m.ops.get(1).copied().unwrap_or(0.0),
                ring_ops: m.ops.get(2).copied().unwrap_or(0.0),
                ratio_aad: m.ratios.get(1).copied().unwrap_or(0.0),
                ratio: m.ratios.get(2).copied().unwrap_or(0.0),
            });
        }
    }
    Ok(BenchReport { rows })
}

/// Medians of a set of operations measured in alternating rounds.
pub struct Measured {
    /// Calls per second of each operation.
    pub ops: Vec<f64>,
    /// The median per-round ratio of the first operation to each (the first is 1).
    pub ratios: Vec<f64>,
}

/// Measures each operation in [`ROUNDS`] alternating rounds within about `budget` each, so that a change in the
/// machine's load hits all alike.
pub fn rounds(budget: Duration, ops: &mut [&mut dyn FnMut() -> usize]) -> Measured {
    let slice = budget / ROUNDS;
    let n = ops.len();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); n];
    for op in ops.iter_mut() {
        rate(slice / 4, op);
    }
    for _ in 0..ROUNDS {
        let round: Vec<f64> = ops.iter_mut().map(|op| rate(slice, op)).collect();
        let first = round.first().copied().unwrap_or(0.0);
        for (i, &r) in round.iter().enumerate() {
            if let (Some(v), Some(q)) = (rates.get_mut(i), ratios.get_mut(i)) {
                v.push(r);
                q.push(first / r);
            }
        }
    }
    Measured {
        ops: rates.into_iter().map(median).collect(),
        ratios: ratios.into_iter().map(median).collect(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Calls `op` repeatedly for about `budget` and returns calls per second.
fn rate(budget: Duration, op: &mut dyn FnMut() -> usize) -> f64 {
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
        assert!(
            rows.iter()
                .all(|r| r.cell_ops > 0.0 && r.ring_ops > 0.0 && r.ring_aad_ops > 0.0)
        );
        let text = report.to_string();
        assert!(
            text.starts_with(DESCRIPTION) && text.lines().count() == 6,
            "{text}"
        );
    }
}
