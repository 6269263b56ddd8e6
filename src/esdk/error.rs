//! The ESDK module's one error type. Every way a message can fail to decrypt (format, limits, commitment policy,
//! keyring, commitment, tag, signature) is the one variant [`EsdkError::Decrypt`], as in the cell format.

use std::path::PathBuf;

use crate::cell::{CellError, Source};
use crate::error::Help;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EsdkError {
    /// The message is malformed, over a limit, refused by the commitment policy, not decryptable by the keyring, or
    /// fails its commitment, tag or signature check.
    #[error("the ESDK message cannot be decrypted")]
    Decrypt,
    #[error("algorithm suite `{suite:04X}` does not commit to its key, so it cannot encrypt")]
    EncryptSuite { suite: u16 },
    #[error("an AES wrapping key has 16, 24 or 32 bytes, not {len}")]
    WrappingKeyLen { len: usize },
    #[error("the RSA key cannot be read as PKCS#8 (private) or SubjectPublicKeyInfo (public) PEM")]
    RsaKey,
    #[error("the RSA keyring `{name}` holds a public key only, so it cannot decrypt")]
    PublicOnly { name: String },
    #[error("the encryption context key `{key}` is reserved by the ESDK")]
    ReservedKey { key: String },
    #[error("the encryption context is {len} bytes serialized, over the limit of {max}")]
    ContextTooLong { len: usize, max: usize },
    #[error("the row of an ESDK field must be UTF-8 text")]
    RowNotText,
    #[error("the plaintext is {len} bytes, over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("the frame length must be between 1 and {max} bytes, not {len}")]
    FrameLength { len: u32, max: u32 },
    #[error("at least one encrypted data key must be allowed")]
    NoDataKeys,
    #[error("the message has {count} encrypted data keys, over the limit of {max}")]
    TooManyDataKeys { count: usize, max: usize },
    #[error("value {value} is not an ESDK message that this key and context decrypt")]
    Value { value: usize },
    #[error("cannot read the wrapping key file `{}`: {source}", path.display())]
    KeyFileRead {
        path: PathBuf,
        #[source]
        source: Source<std::io::Error>,
    },
    #[error("`{}` does not hold a wrapping key as one line of hex or base64", path.display())]
    KeyFileMalformed { path: PathBuf },
    #[error("{source}")]
    Io {
        #[source]
        source: Source<std::io::Error>,
    },
    #[error("no keyring to encrypt with")]
    NoKeyring,
    #[error("the operating system's random number generator failed")]
    Random,
    #[error(transparent)]
    Cell(#[from] CellError),
    /// A cryptographic primitive refused its input; unreachable with the limits this module enforces.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Help for EsdkError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::Decrypt => {
                "use the wrapping key and encryption context the message was written with".into()
            }
            Self::EncryptSuite { .. } => "encrypt with suite `0478` or `0578`".into(),
            Self::WrappingKeyLen { .. } => "pass a 128, 192 or 256-bit key".into(),
            Self::RsaKey => {
                "pass the key in PEM as written by `openssl genpkey` or `openssl pkey -pubout`"
                    .into()
            }
            Self::PublicOnly { .. } => "pass the private key of the pair".into(),
            Self::ReservedKey { .. } => {
                "rename the key, the `aws-crypto-` prefix belongs to the ESDK".into()
            }
            Self::ContextTooLong { .. } => "use fewer or shorter context values".into(),
            Self::RowNotText => "pass the row identifier as text".into(),
            Self::TooLarge { .. } => "split the value".into(),
            Self::FrameLength { .. } => "choose a frame length such as 4096".into(),
            Self::NoDataKeys | Self::TooManyDataKeys { .. } => {
                "allow as many encrypted data keys as the writers add".into()
            }
            Self::Value { .. } => {
                "check that the value is a whole base64 ESDK message of this table, column and row"
                    .into()
            }
            Self::KeyFileRead { .. } => "check the path of the wrapping key file".into(),
            Self::KeyFileMalformed { .. } => {
                "write the 16, 24 or 32-byte key as hex or base64 on one line".into()
            }
            Self::Io { .. } => "check the input and output streams".into(),
            Self::NoKeyring => "configure a raw AES or RSA keyring".into(),
            Self::Random | Self::Internal(_) => "run again, and report it if it persists".into(),
            Self::Cell(e) => return e.help(),
        })
    }

    fn is_usage(&self) -> bool {
        match self {
            Self::Random | Self::Internal(_) | Self::Io { .. } => false,
            Self::Cell(e) => e.is_usage(),
            _ => true,
        }
    }
}
