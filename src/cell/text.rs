//! Values as text, in batches: arguments or the lines of a reader in, one base64 ciphertext (and optionally a hex
//! blind index) or one plaintext per line out. Each batch of [`BATCH`] values costs one key lookup and one
//! `getrandom` call; a failure names the values it concerns.

use std::fmt;
use std::io::{BufRead, Write};

use super::context::Context;
use super::encryptor::CellEncryptor;
use super::error::{CellError, ContextError, KeyringError, ProviderError};
use super::format;
use super::index::BlindIndex;
use crate::error::Help;

/// Values per batch, for text values and CSV records alike.
pub const BATCH: usize = 1024;

/// Which values a failure concerns (numbered from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Values { first: usize, last: usize },
    Value(usize),
    Records { first: usize, last: usize },
    Record { record: usize, line: u64 },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Values { first, last } => write!(f, "values {first} to {last}"),
            Position::Value(n) => write!(f, "value {n}"),
            Position::Records { first, last } => write!(f, "CSV records {first} to {last}"),
            Position::Record { record, line } => write!(f, "CSV record {record} (line {line})"),
        }
    }
}

/// A batch of values that failed, and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    #[error("cannot get a data key for {at}: {source}")]
    DataKey { at: Position, source: ProviderError },
    #[error("cannot store the data key for {at}: {source}")]
    StoreKey { at: Position, source: KeyringError },
    #[error("cannot encrypt {at}: {source}")]
    Encrypt { at: Position, source: CellError },
    #[error("cannot unwrap the data key of {at}: {source}")]
    UnwrapKey { at: Position, source: ProviderError },
    /// Opaque like [`CellError::Decrypt`].
    #[error("cannot decrypt {at}: wrong key, wrong context or a damaged value")]
    Decrypt { at: Position },
    #[error("the row of {at} is too long: {source}")]
    Row { at: Position, source: ContextError },
    #[error("cannot read the values: {0}")]
    Read(#[source] std::io::Error),
    #[error("cannot write the output: {0}")]
    Write(#[source] std::io::Error),
    /// A failure before the first value (the blind-index key, say).
    #[error(transparent)]
    Cell(#[from] CellError),
}

impl BatchError {
    /// Places an encryption error.
    pub fn encrypting(at: Position, e: CellError) -> Self {
        match e {
            CellError::Provider(source) => BatchError::DataKey { at, source },
            CellError::Keyring(source) => BatchError::StoreKey { at, source },
            source => BatchError::Encrypt { at, source },
        }
    }

    /// Places a decryption error: every failure but an unreachable provider is the one opaque decryption error.
    pub fn decrypting(at: Position, e: CellError) -> Self {
        match e {
            CellError::Provider(source) => BatchError::UnwrapKey { at, source },
            _ => BatchError::Decrypt { at },
        }
    }
}

impl Help for BatchError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::DataKey { source, .. } | Self::UnwrapKey { source, .. } => return source.help(),
            Self::StoreKey { source, .. } => return source.help(),
            Self::Encrypt { source, .. } => return source.help(),
            Self::Decrypt { .. } => {
                "check the table, the column, the row, the keyring and the key source".into()
            }
            Self::Row { .. } => "the row values must be shorter".into(),
            Self::Read(_) => "check the input".into(),
            Self::Write(_) => "check the output".into(),
            Self::Cell(e) => return e.help(),
        })
    }

    fn is_usage(&self) -> bool {
        match self {
            Self::Encrypt { source, .. } | Self::Cell(source) => source.is_usage(),
            Self::Row { .. } => true,
            _ => false,
        }
    }
}

/// Where the values come from: arguments, or the lines of a reader (a final `\n` or `\r\n` is not part of a value).
pub enum Values<'a> {
    Args(&'a [String]),
    Lines(&'a mut dyn BufRead),
}

/// What to do with the values: their context (row included) and, when encrypting, the length of a blind index to
/// print after each ciphertext. Checked when made, before any key is fetched.
#[derive(Clone, Debug)]
pub struct TextJob {
    context: Context,
    blind_index: Option<usize>,
}

impl TextJob {
    pub fn new(context: Context, blind_index: Option<usize>) -> Result<Self, CellError> {
        blind_index.map(BlindIndex::check_len).transpose()?;
        Ok(TextJob {
            context,
            blind_index,
        })
    }

    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// Encrypts each value and writes one line per value: its base64 ciphertext, then, with a blind index, a space and
/// the index in hex. Returns how many values were written.
pub fn encrypt_values(
    job: &TextJob,
    cells: &CellEncryptor,
    values: Values<'_>,
    out: &mut dyn Write,
) -> Result<usize, BatchError> {
    let ctx = &job.context;
    let index = job
        .blind_index
        .map(|len| cells.blind_index(ctx, len))
        .transpose()?;
    for_each_batch(values, &mut |batch, first| {
        let at = Position::Values {
            first: first + 1,
            last: first + batch.len(),
        };
        let pairs: Vec<(&Context, &[u8])> = batch.iter().map(|v| (ctx, v.as_slice())).collect();
        let sealed = cells
            .encrypt_batch(&pairs)
            .map_err(|e| BatchError::encrypting(at, e))?;
        for (value, sealed) in batch.iter().zip(sealed) {
            let line = match &index {
                Some(index) => format!(
                    "{} {}\n",
                    format::to_text(&sealed),
                    index.compute_hex(value)
                ),
                None => format!("{}\n", format::to_text(&sealed)),
            };
            out.write_all(line.as_bytes()).map_err(BatchError::Write)?;
        }
        Ok(())
    })
}

/// Decrypts each base64 value and writes its plaintext on a line. Stops at the first value that fails.
pub fn decrypt_values(
    job: &TextJob,
    cells: &CellEncryptor,
    values: Values<'_>,
    out: &mut dyn Write,
) -> Result<usize, BatchError> {
    for_each_batch(values, &mut |batch, first| {
        let contexts = vec![&job.context; batch.len()];
        for (i, plain) in cells
            .decrypt_text_batch(&contexts, batch)
            .into_iter()
            .enumerate()
        {
            let plain =
                plain.map_err(|e| BatchError::decrypting(Position::Value(first + i + 1), e))?;
            out.write_all(&plain)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(BatchError::Write)?;
        }
        Ok(())
    })
}

type Emit<'a> = dyn FnMut(&[Vec<u8>], usize) -> Result<(), BatchError> + 'a;

/// Feeds the values to `emit` in batches of at most [`BATCH`], with the number of values before each batch.
/// Returns how many values there were.
fn for_each_batch(values: Values<'_>, emit: &mut Emit<'_>) -> Result<usize, BatchError> {
    let lines = match values {
        Values::Args(args) => {
            let bytes: Vec<Vec<u8>> = args.iter().map(|v| v.as_bytes().to_vec()).collect();
            for (n, chunk) in bytes.chunks(BATCH).enumerate() {
                emit(chunk, n * BATCH)?;
            }
            return Ok(bytes.len());
        }
        Values::Lines(lines) => lines,
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut first = 0;
    loop {
        let mut line = Vec::new();
        let read = lines
            .read_until(b'\n', &mut line)
            .map_err(BatchError::Read)?;
        if read > 0 {
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            batch.push(line);
        }
        if batch.len() == BATCH || (read == 0 && !batch.is_empty()) {
            emit(&batch, first)?;
            first += batch.len();
            batch.clear();
        }
        if read == 0 {
            return Ok(first);
        }
    }
}

impl CellEncryptor {
    /// Decodes base64 texts and decrypts them in one batch (one key lookup per run of cells under the same data
    /// key). Each text gets its own result, in order; a text that is not base64 is a decryption failure.
    pub fn decrypt_text_batch<T: AsRef<[u8]>>(
        &self,
        contexts: &[&Context],
        texts: &[T],
    ) -> Vec<Result<Vec<u8>, CellError>> {
        let bytes: Vec<Result<Vec<u8>, CellError>> = texts
            .iter()
            .map(|t| {
                std::str::from_utf8(t.as_ref())
                    .map_err(|_| CellError::Decrypt)
                    .and_then(format::from_text)
            })
            .collect();
        let cells: Vec<(&Context, &[u8])> = contexts
            .iter()
            .zip(&bytes)
            .filter_map(|(c, b)| b.as_ref().ok().map(|b| (*c, b.as_slice())))
            .collect();
        // Realign: the opened results fill the places of the texts that decoded, in order.
        let mut opened = self.decrypt_batch(&cells).into_iter();
        bytes
            .into_iter()
            .map(|b| b.and_then(|_| opened.next().unwrap_or(Err(CellError::Decrypt))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cell::KeyFileProvider;

    fn cells() -> CellEncryptor {
        CellEncryptor::builder(Arc::new(KeyFileProvider::ephemeral().unwrap()))
            .build()
            .unwrap()
    }

    fn job(row: &str) -> TextJob {
        let ctx = Context::new("users", "ssn").unwrap().with_row(row).unwrap();
        TextJob::new(ctx, None).unwrap()
    }

    #[test]
    fn lines_round_trip_across_batches() {
        let cells = cells();
        let input: String = (0..BATCH + 3).map(|i| format!("v{i}\r\n")).collect();
        let mut sealed = Vec::new();
        let n = encrypt_values(
            &job("1"),
            &cells,
            Values::Lines(&mut input.as_bytes()),
            &mut sealed,
        )
        .unwrap();
        assert_eq!(n, BATCH + 3);
        let mut plain = Vec::new();
        decrypt_values(
            &job("1"),
            &cells,
            Values::Lines(&mut sealed.as_slice()),
            &mut plain,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            input.replace("\r\n", "\n")
        );
    }

    #[test]
    fn a_failure_names_its_value() {
        let cells = cells();
        let mut sealed = Vec::new();
        encrypt_values(&job("1"), &cells, Values::Args(&["a".into()]), &mut sealed).unwrap();
        let line = String::from_utf8(sealed).unwrap().trim_end().to_owned();
        let values = ["not base64!".to_owned(), line];
        let e =
            decrypt_values(&job("2"), &cells, Values::Args(&values), &mut Vec::new()).unwrap_err();
        assert!(
            matches!(
                e,
                BatchError::Decrypt {
                    at: Position::Value(1)
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "cannot decrypt value 1: wrong key, wrong context or a damaged value"
        );
    }

    #[test]
    fn text_batches_realign_after_undecodable_values() {
        let cells = cells();
        let ctx = job("1").context;
        let good = format::to_text(&cells.encrypt(&ctx, b"x").unwrap());
        let texts = ["%%".to_owned(), good.clone(), "".to_owned(), good];
        let out = cells.decrypt_text_batch(&[&ctx; 4], &texts);
        assert!(matches!(out[0], Err(CellError::Decrypt)));
        assert_eq!(out[1].as_deref().unwrap(), b"x");
        assert!(matches!(out[2], Err(CellError::Decrypt)));
        assert_eq!(out[3].as_deref().unwrap(), b"x");
    }
}
