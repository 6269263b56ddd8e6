//! ESDK messages as text, one value per line: what `atrest cell encrypt/decrypt --format esdk` prints and reads
//! (standard base64 of each whole message), the same in a CSV column ([`ColumnCipher`]), and the raw AES
//! wrapping-key file those commands use.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::encryptor::EsdkEncryptor;
use super::error::EsdkError;
use crate::cell::csv::ColumnCipher;
use crate::cell::text::Values;
use crate::cell::{BlindIndex, CellError, Context, ContextError};

/// A wrapping-key file is one line of hex or base64; anything larger is not one.
const MAX_KEY_FILE_LEN: u64 = 1024;

/// Reads a raw AES wrapping key: 16, 24 or 32 bytes as hex or standard base64 on one line.
pub fn read_wrapping_key(path: &Path) -> Result<Zeroizing<Vec<u8>>, EsdkError> {
    let shown = path.to_owned();
    let meta = std::fs::metadata(path).map_err(|e| EsdkError::KeyFileRead {
        path: shown.clone(),
        source: e.into(),
    })?;
    if meta.len() > MAX_KEY_FILE_LEN {
        return Err(EsdkError::KeyFileMalformed { path: shown });
    }
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| EsdkError::KeyFileRead {
                path: shown.clone(),
                source: e.into(),
            })?,
        );
    let line = text.trim();
    let key = hex::decode(line)
        .ok()
        .or_else(|| STANDARD.decode(line).ok())
        .map(Zeroizing::new)
        .ok_or_else(|| EsdkError::KeyFileMalformed {
            path: shown.clone(),
        })?;
    match key.len() {
        16 | 24 | 32 => Ok(key),
        len => Err(EsdkError::WrappingKeyLen { len }),
    }
}

/// Called with each value's 1-based position and bytes.
type EachValue<'a> = dyn FnMut(usize, &[u8]) -> Result<(), EsdkError> + 'a;

fn each_value(values: Values<'_>, f: &mut EachValue<'_>) -> Result<usize, EsdkError> {
    match values {
        Values::Args(args) => {
            for (i, v) in args.iter().enumerate() {
                f(i + 1, v.as_bytes())?;
            }
            Ok(args.len())
        }
        Values::Lines(lines) => {
            let mut n = 0;
            loop {
                let mut line = Vec::new();
                let read = lines
                    .read_until(b'\n', &mut line)
                    .map_err(|e| EsdkError::Io { source: e.into() })?;
                if read == 0 {
                    return Ok(n);
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                }
                n += 1;
                f(n, &line)?;
            }
        }
    }
}

fn write_line(out: &mut dyn Write, bytes: &[u8]) -> Result<(), EsdkError> {
    out.write_all(bytes)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|e| EsdkError::Io { source: e.into() })
}

/// Encrypts each value into one ESDK message under `context`, printed as base64; returns the count.
pub fn encrypt_values(
    enc: &EsdkEncryptor,
    context: &Context,
    values: Values<'_>,
    out: &mut dyn Write,
) -> Result<usize, EsdkError> {
    each_value(values, &mut |_, v| {
        let msg = enc.encrypt_cell(context, v)?;
        write_line(out, STANDARD.encode(msg).as_bytes())
    })
}

/// Decrypts each base64 ESDK message under `context` and prints its plaintext; returns the count. A value that does
/// not decrypt is [`EsdkError::Value`] with its position (1-based); a key service failure is returned as it is.
pub fn decrypt_values(
    enc: &EsdkEncryptor,
    context: &Context,
    values: Values<'_>,
    out: &mut dyn Write,
) -> Result<usize, EsdkError> {
    each_value(values, &mut |n, v| {
        let plain = STANDARD
            .decode(v)
            .map_err(|_| EsdkError::Decrypt)
            .and_then(|msg| enc.decrypt_cell(context, &msg))
            .map_err(|e| match e {
                // A key service that fails for every value alike says why.
                EsdkError::Cell(CellError::Provider(_)) => e,
                _ => EsdkError::Value { value: n },
            })?;
        write_line(out, &plain)
    })
}

/// An encryption failure as the cell module's batches report it.
pub(crate) fn cell_error(e: EsdkError) -> CellError {
    match e {
        EsdkError::Cell(c) => c,
        EsdkError::TooLarge { len, max } => CellError::TooLarge { len, max },
        EsdkError::ContextTooLong { len, max } => ContextError::TooLong { len, max }.into(),
        EsdkError::RowNotText => ContextError::RowNotText.into(),
        EsdkError::Random => CellError::Random,
        EsdkError::Internal(what) => CellError::Internal(what),
        _ => CellError::Internal("ESDK encryption"),
    }
}

/// A CSV column of base64 ESDK messages, one per cell, each under its cell's encryption context.
impl ColumnCipher for EsdkEncryptor {
    fn seal_batch(&self, cells: &[(&Context, &[u8])]) -> Result<Vec<String>, CellError> {
        cells
            .iter()
            .map(|(context, value)| {
                let msg = self.encrypt_cell(context, value).map_err(cell_error)?;
                Ok(STANDARD.encode(msg))
            })
            .collect()
    }

    fn open_batch(
        &self,
        contexts: &[&Context],
        texts: &[&[u8]],
    ) -> Vec<Result<Vec<u8>, CellError>> {
        contexts
            .iter()
            .zip(texts)
            .map(|(context, text)| {
                let msg = STANDARD.decode(text).map_err(|_| CellError::Decrypt)?;
                match self.decrypt_cell(context, &msg) {
                    Ok(plain) => Ok(plain.to_vec()),
                    Err(EsdkError::Cell(e @ CellError::Provider(_))) => Err(e),
                    Err(_) => Err(CellError::Decrypt),
                }
            })
            .collect()
    }

    /// ESDK messages have no blind index.
    fn blind_index(&self, _: &Context, _: usize) -> Result<BlindIndex, CellError> {
        Err(CellError::NoIndexKey)
    }
}
