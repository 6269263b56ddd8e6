//! The cell pillar's errors. Every way a ciphertext can fail to decrypt (format, tag, unwrap, context, commitment)
//! is the one variant [`CellError::Decrypt`], so an attacker learns nothing from which check failed.

/// A failure of a key provider (KMS, key file). Cloneable so that callers waiting on one provider call (single
/// flight) can all receive its outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The provider refused the wrapped key: wrong key, wrong context, or damaged bytes. Decryption reports it as
    /// [`CellError::Decrypt`].
    #[error("the wrapped data key was rejected")]
    Rejected,
    /// The provider could not be reached or refused the call for a reason unrelated to the wrapped key
    /// (network, credentials, throttling, a disabled key).
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    /// Opaque on purpose.
    #[error("decryption failed")]
    Decrypt,
    #[error("invalid encryption context: {0}")]
    Context(String),
    #[error("the plaintext is {len} bytes, over the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("key provider: {0}")]
    Provider(KeyError),
    #[error("invalid cache limits: {0}")]
    Limits(String),
    #[error("keyring: {0}")]
    Keyring(String),
    #[error("the operating system's random number generator failed")]
    Random,
    /// A cryptographic primitive refused its input; unreachable with the limits this module enforces.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl CellError {
    /// Maps a provider failure met while decrypting: a rejected key is a decryption failure like any other.
    pub(crate) fn from_unwrap(e: KeyError) -> Self {
        match e {
            KeyError::Rejected => CellError::Decrypt,
            other => CellError::Provider(other),
        }
    }
}

impl From<KeyError> for CellError {
    fn from(e: KeyError) -> Self {
        CellError::Provider(e)
    }
}
