//! The ciphertext formats a migration reads and writes: atrest's cell format, or the AWS Encryption SDK's messages
//! (feature `esdk`), so that a column other ESDK applications wrote converts to the compact form, and back.
//!
//! Both are stored the same way: the bytes in a `bytea` column, standard base64 in a text column. Every value is
//! bound to the same context (table, column, row) in either format.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::batch::Plain;
use super::error::MigrateError;
use super::plan::Storage;
use crate::cell::{BlindIndex, CellEncryptor, CellError, Context, KeyFileProvider, format};
#[cfg(feature = "esdk")]
use crate::esdk::{EsdkEncryptor, EsdkError};

/// How the values of a column are sealed and opened.
#[derive(Clone, Copy)]
pub enum Codec<'a> {
    /// atrest's cell format (self-contained, or compact with a keyring).
    Cell(&'a CellEncryptor),
    /// AWS Encryption SDK messages, with the cell's context as the message's encryption context.
    #[cfg(feature = "esdk")]
    Esdk(&'a EsdkEncryptor),
}

/// A codec of a dry run's own: the same format under a throw-away key, so a trial batch calls no key service and
/// writes no keyring entry.
pub(crate) enum Throwaway {
    Cell(CellEncryptor),
    #[cfg(feature = "esdk")]
    Esdk(EsdkEncryptor),
}

impl Throwaway {
    pub(crate) fn codec(&self) -> Codec<'_> {
        match self {
            Throwaway::Cell(c) => Codec::Cell(c),
            #[cfg(feature = "esdk")]
            Throwaway::Esdk(e) => Codec::Esdk(e),
        }
    }
}

impl<'a> Codec<'a> {
    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Cell(_) => "atrest",
            #[cfg(feature = "esdk")]
            Codec::Esdk(_) => "AWS Encryption SDK",
        }
    }

    /// The stored value as a ciphertext of this format, when it parses as one (base64 in a text column).
    pub(crate) fn ciphertext(self, storage: Storage, value: &[u8]) -> Option<Vec<u8>> {
        let bytes = match storage {
            Storage::Bytea => value.to_vec(),
            _ => STANDARD.decode(std::str::from_utf8(value).ok()?).ok()?,
        };
        let parses = match self {
            Codec::Cell(_) => format::decode(&bytes).is_ok(),
            #[cfg(feature = "esdk")]
            Codec::Esdk(e) => e.is_message(&bytes),
        };
        parses.then_some(bytes)
    }

    /// A ciphertext as stored in a column of `storage`.
    pub(crate) fn store(storage: Storage, ciphertext: &[u8]) -> Vec<u8> {
        match storage {
            Storage::Bytea => ciphertext.to_vec(),
            _ => STANDARD.encode(ciphertext).into_bytes(),
        }
    }

    /// Opens a ciphertext of this format; [`CellError::Decrypt`] when this key and context do not open it, a key
    /// service's failure as it is.
    pub(crate) fn open(self, context: &Context, ciphertext: &[u8]) -> Result<Plain, CellError> {
        match self {
            Codec::Cell(c) => c.decrypt(context, ciphertext).map(Plain::new),
            #[cfg(feature = "esdk")]
            Codec::Esdk(e) => match e.decrypt_cell(context, ciphertext) {
                Ok(plain) => Ok(plain),
                Err(EsdkError::Cell(err @ CellError::Provider(_))) => Err(err),
                Err(_) => Err(CellError::Decrypt),
            },
        }
    }

    /// Seals each value under its context.
    pub(crate) fn seal_batch(self, cells: &[(&Context, &[u8])]) -> Result<Vec<Vec<u8>>, CellError> {
        match self {
            Codec::Cell(c) => c.encrypt_batch(cells),
            #[cfg(feature = "esdk")]
            Codec::Esdk(e) => cells
                .iter()
                .map(|(context, value)| {
                    e.encrypt_cell(context, value)
                        .map_err(crate::esdk::text::cell_error)
                })
                .collect(),
        }
    }

    /// The blind index of a column: atrest's cell format only (ESDK messages have none).
    pub(crate) fn blind_index(
        self,
        context: &Context,
        len: usize,
    ) -> Result<BlindIndex, MigrateError> {
        match self {
            Codec::Cell(c) => Ok(c.blind_index(context, len)?),
            #[cfg(feature = "esdk")]
            Codec::Esdk(_) => Err(MigrateError::IndexNeedsCellFormat),
        }
    }

    /// The same format under a throw-away key.
    pub(crate) fn throwaway(self) -> Result<Throwaway, MigrateError> {
        match self {
            Codec::Cell(_) => Ok(Throwaway::Cell(
                CellEncryptor::builder(Arc::new(KeyFileProvider::ephemeral()?)).build()?,
            )),
            #[cfg(feature = "esdk")]
            Codec::Esdk(e) => Ok(Throwaway::Esdk(e.throwaway().map_err(esdk_setup)?)),
        }
    }
}

#[cfg(feature = "esdk")]
fn esdk_setup(e: EsdkError) -> MigrateError {
    match e {
        EsdkError::Cell(c) => MigrateError::Cell(c),
        other => MigrateError::Cell(crate::esdk::text::cell_error(other)),
    }
}

/// The bytes a stored value takes for `plain` bytes of plaintext sealed by `codec` (an average: the base64 of a
/// text column included).
pub(crate) fn stored_len(storage: Storage, raw: u64) -> u64 {
    match storage {
        Storage::Bytea => raw,
        _ => raw.div_ceil(3) * 4,
    }
}
