//! The AWS Encryption SDK (ESDK) message format: read what the ESDKs for Java, Python, JavaScript, .NET, Go and Rust
//! write, and write messages they read (`docs/esdk.md`).
//!
//! - [`message`]: the strict parser (version 1 and 2 headers, framed and non-framed bodies, footers) with limits;
//! - [`Decryptor`]: every algorithm suite, key commitment per [`CommitmentPolicy`], ECDSA signatures verified;
//! - [`EsdkEncryptor`]: committing messages (0x0478, 0x0578) with a data-key cache, and cells in ESDK form;
//! - keyrings: [`RawAesKeyring`], [`RawRsaKeyring`], [`MultiKeyring`] and, with the `aws` feature, the strict AWS
//!   KMS keyring `AwsKmsKeyring`;
//!
//! Every decryption failure of a message is the one opaque [`EsdkError::Decrypt`]; a key service failing for every
//! message alike (AWS KMS unreachable or throttled) is its own error.

mod cache;
mod context;
mod decrypt;
mod encryptor;
mod error;
mod keyring;
#[cfg(feature = "aws")]
mod kms;
pub mod message;
mod reader;
pub mod suite;
pub mod text;

pub use context::{
    EncryptionContext, PUBLIC_KEY_KEY, RESERVED_PREFIX, serialize as serialize_context,
};
pub use decrypt::{CommitmentPolicy, Decrypted, Decryptor};
pub use encryptor::{DEFAULT_FRAME_LEN, EsdkBuilder, EsdkEncryptor, MAX_FRAME_LEN, cell_context};
pub use error::EsdkError;
pub use keyring::{Generated, Keyring, MultiKeyring, RawAesKeyring, RawRsaKeyring, RsaPadding};
#[cfg(feature = "aws")]
pub use kms::{AwsKmsKeyring, PROVIDER_ID as KMS_PROVIDER_ID, is_key_arn};
pub use message::{EdkRef, EncryptedDataKey, Limits};
