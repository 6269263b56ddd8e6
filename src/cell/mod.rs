//! Envelope encryption of single database fields (cells).
//!
//! Each scope (table, column and free context values) gets a data key from a [`KeyProvider`] (AWS KMS, or a local
//! key file offline); the data key is cached within limits ([`CacheLimits`]) and every cell is sealed with
//! AES-256-GCM under a key derived from it, with the cell's full [`Context`] (row included) as associated data. A
//! ciphertext decrypts under one data key only (key commitment) and only in its own table, column and row.
//!
//! Two ciphertext forms (normative specification: `docs/format.md`): self-contained, where the wrapped data key
//! travels with the value, and compact, where a 16-byte reference points into a [`Keyring`] and the value grows by
//! 47 bytes. Every decryption failure is the one opaque [`CellError::Decrypt`].
//!
//! The core is synchronous. The KMS provider blocks on a small runtime of its own, so async code should call the
//! encryptor inside `tokio::task::spawn_blocking`.
//!
//! ```
//! use std::sync::Arc;
//! use atrest::cell::{CellEncryptor, Context, KeyFileProvider, Keyring};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let provider = Arc::new(KeyFileProvider::create(&dir.path().join("cell.key"))?);
//! let keyring = Arc::new(Keyring::open(&dir.path().join("keyring.json"))?);
//! let cells = CellEncryptor::builder(provider).keyring(keyring).build()?;
//!
//! let ssn = Context::new("users", "ssn")?.with_row("42")?;
//! let sealed = cells.encrypt(&ssn, b"078-05-1120")?;
//! assert_eq!(sealed.len(), 11 + 47);
//! assert_eq!(cells.decrypt(&ssn, &sealed)?, b"078-05-1120");
//!
//! // The same bytes in another row do not decrypt.
//! let other_row = Context::new("users", "ssn")?.with_row("43")?;
//! assert!(cells.decrypt(&other_row, &sealed).is_err());
//! # Ok(())
//! # }
//! ```

mod aad;
pub mod bench;
mod cache;
mod context;
pub mod csv;
mod encryptor;
mod error;
pub mod format;
mod index;
mod keyfile;
mod keyring;
mod keys;
#[cfg(feature = "aws")]
mod kms;
mod suite;
pub mod text;

pub use cache::{CacheLimits, KeyCache, NIST_RANDOM_IV_LIMIT};
pub use context::{COLUMN_KEY, Context, MAX_CONTEXT_LEN, ROW_KEY, TABLE_KEY};
pub use encryptor::{Builder, CellEncryptor, Form};
pub use error::{
    CellError, ContextError, KeyringError, KeyringProblem, LimitsError, ProviderError, Source,
};
pub use index::{BlindIndex, DEFAULT_INDEX_LEN, IndexKey, MAX_INDEX_LEN, MIN_INDEX_LEN};
pub use keyfile::{IoAction, KeyFileError, KeyFileProvider};
pub use keyring::{Allowance, Keyring, KeyringEntry, Leased};
pub use keys::{DATA_KEY_LEN, DataKey, GeneratedKey, KeyProvider, KeyScope, ProviderKind};
#[cfg(feature = "aws")]
pub use kms::{KmsProvider, KmsSetupError};
#[cfg(feature = "aws")]
pub(crate) use kms::{refuses_the_value, runtime as kms_runtime};
pub use suite::{COMMITMENT_LEN, KEY_REF_LEN, NONCE_LEN, SUITE_ID, TAG_LEN, commitment_of};
