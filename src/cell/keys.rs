//! Key providers and key material. A [`KeyProvider`] creates data keys and unwraps them; it is synchronous so the
//! cell core needs no async runtime (the KMS provider blocks on its own small runtime; async callers should call
//! the encryptor from `tokio::task::spawn_blocking`).

use std::collections::BTreeMap;

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::error::{CellError, ProviderError};
use super::index::IndexKey;

/// Length of a data key: AES-256.
pub const DATA_KEY_LEN: usize = 32;

/// The scope a data key serves: the context without the row, as KMS sees it.
pub type KeyScope = BTreeMap<String, String>;

/// A plaintext data key. Zeroized on drop; no `Display`, and `Debug` prints `[redacted]`.
pub struct DataKey(Zeroizing<[u8; DATA_KEY_LEN]>);

impl DataKey {
    pub fn from_bytes(bytes: [u8; DATA_KEY_LEN]) -> Self {
        DataKey(Zeroizing::new(bytes))
    }

    /// Copies a key from a slice, which must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProviderError> {
        let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
        if bytes.len() != DATA_KEY_LEN {
            return Err(ProviderError::Rejected);
        }
        key.copy_from_slice(bytes);
        Ok(DataKey(key))
    }

    /// A fresh key from the operating system's generator.
    pub fn random() -> Result<Self, CellError> {
        let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
        fill_random(&mut key[..])?;
        Ok(DataKey(key))
    }

    pub fn expose(&self) -> &[u8; DATA_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

/// Which kind of provider wrapped a data key; recorded in the self-contained form and in the keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    KeyFile,
    AwsKms,
}

impl ProviderKind {
    pub fn tag(self) -> u8 {
        match self {
            ProviderKind::KeyFile => 0x01,
            ProviderKind::AwsKms => 0x02,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0x01 => Some(ProviderKind::KeyFile),
            0x02 => Some(ProviderKind::AwsKms),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::KeyFile => "keyfile",
            ProviderKind::AwsKms => "aws-kms",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [ProviderKind::KeyFile, ProviderKind::AwsKms]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// A new data key: its plaintext (to derive the cell key) and its wrapped form (to store).
pub struct GeneratedKey {
    pub plaintext: DataKey,
    pub wrapped: Vec<u8>,
}

/// Creates, unwraps and wraps data keys under a master key (a KMS key, a key file). Implementations must bind
/// `scope` to the wrapped key (KMS encryption context, AEAD associated data) so that unwrapping under another scope
/// fails with [`ProviderError::Rejected`].
pub trait KeyProvider: Send + Sync {
    /// Names the provider and its master key (e.g. `keyfile:<id>`); part of the cache partition.
    fn id(&self) -> &str;

    fn kind(&self) -> ProviderKind;

    fn generate(&self, scope: &KeyScope) -> Result<GeneratedKey, ProviderError>;

    fn unwrap_key(&self, wrapped: &[u8], scope: &KeyScope) -> Result<DataKey, ProviderError>;

    /// Wraps an existing data key (rotation to a new master key).
    fn wrap_key(&self, key: &DataKey, scope: &KeyScope) -> Result<Vec<u8>, ProviderError>;

    /// The long-lived root of this provider's blind indexes, if it holds one (a key file does; a KMS key cannot
    /// hand out a key of its own, so its index roots live in a keyring).
    fn blind_index_root(&self) -> Option<IndexKey> {
        None
    }
}

/// Fills `out` from the operating system's generator (one `getrandom` call for the whole slice).
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), CellError> {
    SystemRandom::new().fill(out).map_err(|_| CellError::Random)
}

/// Equality in time independent of where the first difference is.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
