//! The cell pillar's errors. Every way a ciphertext can fail to decrypt (format, tag, unwrap, context, commitment)
//! is the one variant [`CellError::Decrypt`], so an attacker learns nothing from which check failed.
//!
//! The errors are cloneable because callers waiting on one key provider call (single flight) all receive its
//! outcome; the sources that are not cloneable themselves (I/O, JSON, AWS SDK errors) are shared as a [`Source`].

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::suite::KEY_REF_LEN;
use crate::error::Help;

/// A shared error source: cloneable, and equal only to its own clones (so the errors that hold one stay `Clone` and
/// `PartialEq`).
#[derive(Debug)]
pub struct Source<E: ?Sized = dyn StdError + Send + Sync + 'static>(pub Arc<E>);

impl<E: ?Sized> Clone for Source<E> {
    fn clone(&self) -> Self {
        Source(Arc::clone(&self.0))
    }
}

impl<E: ?Sized> PartialEq for Source<E> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<E: ?Sized> Eq for Source<E> {}

impl<E: fmt::Display + ?Sized> fmt::Display for Source<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: StdError + ?Sized> StdError for Source<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for Source<E> {
    fn from(e: E) -> Self {
        Source(Arc::new(e))
    }
}

const RETRY: &str = "run again, and report it if it persists";

/// A failure of a key provider (KMS, key file).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider refused the wrapped key: wrong key, wrong context, or damaged bytes. Decryption reports it as
    /// [`CellError::Decrypt`].
    #[error("the wrapped data key was rejected")]
    Rejected,
    /// An AWS KMS call failed (network, credentials, throttling, a disabled or missing key).
    #[error("KMS {operation}: {}", Chain(&*source.0))]
    Kms {
        operation: &'static str,
        #[source]
        source: Source,
    },
    /// AWS KMS answered without the bytes it should have returned.
    #[error("KMS {operation} returned {what}")]
    KmsAnswer {
        operation: &'static str,
        what: &'static str,
    },
    /// The KMS provider was called from inside an async runtime, where blocking would stall it.
    #[error("the KMS key provider cannot block inside an async runtime")]
    InsideRuntime,
    #[error("the KMS key provider was shut down")]
    ShutDown,
    #[error("the operating system's random number generator failed")]
    Random,
    /// A cryptographic primitive refused its input; unreachable with the limits this module enforces.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// Any other provider could not be reached or refused the call for a reason unrelated to the wrapped key.
    #[error("{}", Chain(&*source.0))]
    Unavailable {
        #[source]
        source: Source,
    },
}

impl ProviderError {
    /// An [`ProviderError::Unavailable`] error, for key providers outside this crate.
    pub fn unavailable(source: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Self {
        ProviderError::Unavailable {
            source: Source(Arc::from(source.into())),
        }
    }
}

impl Help for ProviderError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::Rejected => {
                "use the key the data key was made with, under the same table and column".into()
            }
            Self::Kms { .. } | Self::KmsAnswer { .. } => {
                "check the key id, the region and the credentials".into()
            }
            Self::InsideRuntime => "create and call it from `tokio::task::spawn_blocking`".into(),
            Self::ShutDown | Self::Random | Self::Internal(_) => RETRY.into(),
            Self::Unavailable { .. } => "check that the key provider can be reached".into(),
        })
    }
}

/// A context that cannot be encoded or names a reserved key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    #[error("the table name is empty")]
    EmptyTable,
    #[error("the column name is empty")]
    EmptyColumn,
    #[error("the context key `{}` is empty or uses the reserved prefix `atrest:`", shown(key.as_bytes()))]
    ReservedKey { key: String },
    #[error("the encoded context is {len} bytes, over the limit of {max}")]
    TooLong { len: usize, max: usize },
    /// A format whose context holds text only (the ESDK's encryption context) met a row of other bytes.
    #[error("the row is not UTF-8 text, which this format's context requires")]
    RowNotText,
}

/// Cache limits out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitsError {
    #[error("the cache must hold at least one entry")]
    NoEntries,
    #[error("the maximum age must be above zero")]
    ZeroAge,
    #[error("{messages} messages per data key is outside 1..={max} (NIST SP 800-38D, random IVs)")]
    Messages { messages: u64, max: u64 },
    #[error("{bytes} bytes per data key is less than one maximal cell ({min})")]
    Bytes { bytes: u64, min: u64 },
}

/// What is wrong inside a keyring's JSON.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringProblem {
    #[error("{0}")]
    Json(Source<serde_json::Error>),
    #[error("expected format `atrest-keyring` version 1")]
    Version,
    #[error("bad ref `{}`", shown(key_ref.as_bytes()))]
    BadRef { key_ref: String },
    #[error("bad commitment for ref `{}`", shown(key_ref.as_bytes()))]
    BadCommitment { key_ref: String },
    #[error("ref `{}` does not match its commitment or suite", shown(key_ref.as_bytes()))]
    RefMismatch { key_ref: String },
    #[error("unknown provider `{}`", shown(name.as_bytes()))]
    UnknownProvider { name: String },
    #[error("ref `{}` appears twice", shown(key_ref.as_bytes()))]
    DuplicateRef { key_ref: String },
    #[error("a blind-index scope appears twice")]
    DuplicateIndexScope,
    #[error("a wrapped key is not base64 of 1 to 1024 bytes")]
    Wrapped,
    #[error("a blind-index key has no commitment of 64 lowercase hex digits")]
    BadIndexCommitment,
}

/// A keyring that cannot be read, written or used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    #[error("keyring `{}` does not exist", shown_path(path))]
    Missing { path: PathBuf },
    #[error("cannot read keyring `{}`: {source}", shown_path(path))]
    Read {
        path: PathBuf,
        #[source]
        source: Source<std::io::Error>,
    },
    #[error("cannot write keyring `{}`: {source}", shown_path(path))]
    Write {
        path: PathBuf,
        #[source]
        source: Source<std::io::Error>,
    },
    #[error("cannot lock `{}`: {source}", shown_path(lock))]
    Lock {
        lock: PathBuf,
        #[source]
        source: Source<std::io::Error>,
    },
    #[error("keyring `{}` is larger than {max} bytes", shown_path(path))]
    TooLarge { path: PathBuf, max: u64 },
    /// Writing the entry would make the file larger than readers accept; nothing was written.
    #[error(
        "keyring `{}` would grow to {len} bytes, over the limit of {max}",
        shown_path(path)
    )]
    Full { path: PathBuf, len: u64, max: u64 },
    /// The keyring is wrapped by another master key than the one given (it was rewrapped since, or is another's).
    #[error("{} is wrapped by `{}`, not by `{}`", Named(path.as_deref(), "the keyring"), shown(wrapped_by.as_bytes()), shown(given.as_bytes()))]
    WrappedBy {
        path: Option<PathBuf>,
        wrapped_by: String,
        given: String,
    },
    /// A column has data keys in the keyring but its blind-index key is gone: a new one would not match old indexes.
    #[error("{} has data keys for this column but no blind-index key; if it was removed, a new one would not match the existing indexes", Named(path.as_deref(), "the keyring"))]
    IndexKeyMissing { path: Option<PathBuf> },
    #[error("{} is not a valid keyring: {problem}", Named(path.as_deref(), "the text"))]
    Invalid {
        path: Option<PathBuf>,
        problem: KeyringProblem,
    },
    #[error("the blind-index key was wrapped by another kind of key provider")]
    IndexKeyProvider,
    #[error("the blind-index key does not match its commitment")]
    IndexKeyCommitment,
    /// A root stored by an earlier version, before roots carried a commitment.
    #[error("{} holds a blind-index key without a commitment (written by an earlier version)", Named(path.as_deref(), "the keyring"))]
    IndexKeyUncommitted { path: Option<PathBuf> },
    #[error("cannot unwrap the blind-index key: {source}")]
    IndexKeyUnwrap { source: ProviderError },
    #[error("key `{}` cannot be unwrapped: {source}", hex::encode(key_ref))]
    Unwrap {
        key_ref: [u8; KEY_REF_LEN],
        source: ProviderError,
    },
    #[error("key `{}` does not match its commitment", hex::encode(key_ref))]
    Commitment { key_ref: [u8; KEY_REF_LEN] },
}

impl Help for ContextError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::EmptyTable | Self::EmptyColumn => {
                "name the table and the column the values belong to".into()
            }
            Self::ReservedKey { .. } => {
                "use a non-empty key that does not start with `atrest:`".into()
            }
            Self::TooLong { .. } => "shorten the names and values".into(),
            Self::RowNotText => "bind the cells to a text column, such as the primary key".into(),
        })
    }

    fn is_usage(&self) -> bool {
        true
    }
}

impl Help for LimitsError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::NoEntries => "allow at least one entry".into(),
            Self::ZeroAge => "allow each data key some time".into(),
            Self::Messages { max, .. } => format!("allow 1 to {max} cells per data key"),
            Self::Bytes { min, .. } => format!("allow at least {min} bytes per data key"),
        })
    }

    fn is_usage(&self) -> bool {
        true
    }
}

impl Help for KeyringProblem {
    fn help(&self) -> Option<String> {
        Some("pass a keyring file that atrest wrote".into())
    }

    fn is_usage(&self) -> bool {
        true
    }
}

impl Help for KeyringError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::Missing { .. }
            | Self::Read { .. }
            | Self::TooLarge { .. }
            | Self::Invalid { .. } => "pass a keyring file that atrest wrote".into(),
            Self::Write { .. } | Self::Lock { .. } => {
                "check that the keyring file and its directory are writable".into()
            }
            Self::Full { .. } => {
                "start a new keyring file for new data keys and keep this one for decryption".into()
            }
            Self::WrappedBy { wrapped_by, .. } => format!(
                "use the key `{}` that wraps the keyring now",
                shown(wrapped_by.as_bytes())
            ),
            Self::IndexKeyMissing { .. } => {
                "restore the keyring from a backup that holds the blind-index key; to index a column first encrypted without one, keep its new data keys in a new keyring".into()
            }
            Self::IndexKeyCommitment => "restore the keyring from a backup".into(),
            Self::IndexKeyUncommitted { .. } => {
                "check that the keyring file is the one you wrote, then record its blind-index commitments with `atrest cell commit-index-roots` and the keyring's master key".into()
            }
            Self::IndexKeyProvider
            | Self::IndexKeyUnwrap { .. }
            | Self::Unwrap { .. }
            | Self::Commitment { .. } => {
                "use the key source the keyring was written with (nothing was changed)".into()
            }
        })
    }

    fn is_usage(&self) -> bool {
        // A keyring another key wrapped is the wrong input, except while rewrapping (the caller's call).
        !matches!(
            self,
            Self::Write { .. }
                | Self::Lock { .. }
                | Self::Full { .. }
                | Self::Unwrap { .. }
                | Self::Commitment { .. }
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CellError {
    /// Opaque on purpose.
    #[error("decryption failed")]
    Decrypt,
    #[error("invalid encryption context: {0}")]
    Context(#[from] ContextError),
    #[error("the plaintext is {len} bytes, over the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("key provider: {0}")]
    Provider(#[from] ProviderError),
    #[error("invalid cache limits: {0}")]
    Limits(#[from] LimitsError),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The encode side: a wrapped data key too long for the self-contained form.
    #[error("a wrapped data key of {wrapped_len} bytes does not fit the format (1 to {max} bytes)")]
    Format { wrapped_len: usize, max: usize },
    #[error("a blind index is {min} to {max} bytes long, not {len}")]
    IndexLength { len: usize, min: usize, max: usize },
    /// A blind index needs a long-lived key: a key file holds one, a KMS key does not.
    #[error("no key for the blind index: the key provider holds none and there is no keyring")]
    NoIndexKey,
    #[error("the operating system's random number generator failed")]
    Random,
    /// A cryptographic primitive refused its input; unreachable with the limits this module enforces.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl CellError {
    /// Maps a provider failure met while decrypting: a rejected key is a decryption failure like any other.
    pub(crate) fn from_unwrap(e: ProviderError) -> Self {
        match e {
            ProviderError::Rejected => CellError::Decrypt,
            other => CellError::Provider(other),
        }
    }
}

impl Help for CellError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::Decrypt => {
                "check the key, the context and the keyring the value was written with".into()
            }
            Self::Context(c) => return c.help(),
            Self::Limits(l) => return l.help(),
            Self::TooLarge { .. } => "split the value or keep it outside the database".into(),
            Self::Provider(p) => return p.help(),
            Self::Keyring(k) => return k.help(),
            Self::IndexLength { min, max, .. } => format!("use {min} to {max} bytes"),
            Self::NoIndexKey => "keep the blind-index key in a keyring".into(),
            Self::Format { .. } | Self::Random | Self::Internal(_) => RETRY.into(),
        })
    }

    fn is_usage(&self) -> bool {
        match self {
            Self::Context(_) | Self::TooLarge { .. } | Self::IndexLength { .. } => true,
            Self::NoIndexKey | Self::Limits(_) => true,
            Self::Keyring(k) => k.is_usage(),
            _ => false,
        }
    }
}

/// An error and its causes on one line, `a: b: c` (causes that repeat their parent's text are skipped).
pub(crate) struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(c) = cause {
            let next = c.to_string();
            if !text.contains(&next) {
                text.push_str(": ");
                text.push_str(&next);
            }
            cause = c.source();
        }
        f.write_str(&shown(text.as_bytes()))
    }
}

/// `` `path` `` when there is a path, else a description such as `the CSV input`.
pub(crate) struct Named<'a>(pub Option<&'a Path>, pub &'static str);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "`{}`", shown_path(path)),
            None => f.write_str(self.1),
        }
    }
}

/// Bytes made safe for one line of a terminal: valid UTF-8 is kept except control characters (newlines included),
/// which are escaped like Rust string literals; bytes that are not UTF-8 are shown as `\xNN`.
pub(crate) fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A path made safe for one line of a terminal (see [`shown`]).
pub(crate) fn shown_path(path: &Path) -> String {
    shown(path.as_os_str().as_encoded_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_control_characters_and_stray_bytes_only() {
        assert_eq!(shown("ssn ü".as_bytes()), "ssn ü");
        assert_eq!(shown(b"a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(shown(b"caf\xe9"), "caf\\xe9");
    }
}
