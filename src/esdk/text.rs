//! ESDK messages as text, one value per line: what `atrest cell encrypt/decrypt --format esdk` prints and reads
//! (standard base64 of each whole message), and the raw AES wrapping-key file those commands use.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::encryptor::EsdkEncryptor;
use super::error::EsdkError;
use crate::cell::Context;
use crate::cell::text::Values;

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
/// not decrypt is [`EsdkError::Value`] with its position (1-based).
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
            .map_err(|_| EsdkError::Value { value: n })?;
        write_line(out, &plain)
    })
}
