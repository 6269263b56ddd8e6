//! The AWS KMS key provider: `GenerateDataKey` (AES_256) makes data keys, `Decrypt` unwraps them and `Encrypt`
//! wraps an existing key (rotation). The data key's scope is passed as the KMS encryption context, so KMS refuses a
//! wrapped key under another table or column, and CloudTrail shows which table and column each call served.
//!
//! The provider owns a small tokio runtime and blocks on each SDK call, which keeps the cell core synchronous. Do not
//! call it from async code (it returns an error rather than block a runtime thread): use
//! `tokio::task::spawn_blocking`.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_kms::Client;
use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use zeroize::Zeroizing;

use super::error::{ProviderError, Source};
use super::keys::{DataKey, GeneratedKey, KeyProvider, KeyScope, ProviderKind};
use crate::aws::{AwsSettings, AwsSetupError};
use crate::error::Help;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsSetupError {
    #[error(transparent)]
    Aws(#[from] AwsSetupError),
    #[error(
        "the KMS key provider blocks on its own runtime and cannot be created inside an async runtime"
    )]
    InsideRuntime,
    #[error("the KMS key id is empty")]
    EmptyKeyId,
}

impl Help for KmsSetupError {
    fn help(&self) -> Option<String> {
        match self {
            Self::Aws(e) => e.help(),
            Self::InsideRuntime => {
                Some("create and call it from `tokio::task::spawn_blocking`".into())
            }
            Self::EmptyKeyId => Some("pass a key ARN, key id or alias".into()),
        }
    }

    fn is_usage(&self) -> bool {
        match self {
            Self::Aws(e) => e.is_usage(),
            _ => true,
        }
    }
}

pub struct KmsProvider {
    client: Client,
    key_id: String,
    id: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for KmsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsProvider")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Drop for KmsProvider {
    fn drop(&mut self) {
        // Dropping a runtime inside async code would panic; a background shutdown never does.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, KmsSetupError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(KmsSetupError::InsideRuntime);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("atrest-kms")
        .enable_all()
        .build()
        .map_err(|e| KmsSetupError::Aws(AwsSetupError::Runtime(e)))
}

fn context_map(scope: &KeyScope) -> HashMap<String, String> {
    scope.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn unavailable<E, R>(operation: &'static str, e: SdkError<E, R>) -> ProviderError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    ProviderError::Kms {
        operation,
        source: Source(Arc::new(e)),
    }
}

impl KmsProvider {
    /// A provider over an existing client. `key_id` is a key ARN, key id, alias name or alias ARN.
    pub fn new(client: Client, key_id: impl Into<String>) -> Result<Self, KmsSetupError> {
        let key_id = key_id.into();
        if key_id.is_empty() {
            return Err(KmsSetupError::EmptyKeyId);
        }
        Ok(KmsProvider {
            client,
            id: format!("aws-kms:{key_id}"),
            key_id,
            runtime: Some(runtime()?),
        })
    }

    /// A provider configured like the command line: profile, region and endpoint from `settings`.
    pub fn from_settings(
        settings: &AwsSettings,
        key_id: impl Into<String>,
    ) -> Result<Self, KmsSetupError> {
        let runtime = runtime()?;
        let config = runtime.block_on(settings.load())?;
        let mut provider = Self::new(Client::new(&config), key_id)?;
        if let Some(spare) = provider.runtime.replace(runtime) {
            spare.shutdown_background();
        }
        Ok(provider)
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn block<F: Future>(&self, future: F) -> Result<F::Output, ProviderError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(ProviderError::InsideRuntime);
        }
        match &self.runtime {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(ProviderError::ShutDown),
        }
    }
}

fn data_key(operation: &'static str, blob: Option<Blob>) -> Result<DataKey, ProviderError> {
    let bytes = Zeroizing::new(blob.map(Blob::into_inner).unwrap_or_default());
    DataKey::from_slice(&bytes).map_err(|_| ProviderError::KmsAnswer {
        operation,
        what: "a data key that is not 32 bytes",
    })
}

/// Error codes of `Decrypt` that depend on the value (its wrapped key or its context) rather than on the service
/// or the credentials. A value moved into a scope the role may not decrypt gets `AccessDeniedException` under
/// the key policies atrest recommends (conditions on the encryption context), and a forged key id gets
/// `NotFoundException`: both are the one opaque decryption failure, like a damaged wrapped key.
const VALUE_CODES: [&str; 6] = [
    "InvalidCiphertextException",
    "IncorrectKeyException",
    "InvalidKeyUsageException",
    "AccessDeniedException",
    "NotFoundException",
    "InvalidGrantTokenException",
];

/// Whether a `Decrypt` failure is the value's fault (and so opaque); throttling, a disabled key, an internal
/// error or an unreachable endpoint stay visible, since they concern every value alike.
pub(crate) fn refuses_the_value(e: &DecryptError) -> bool {
    use aws_sdk_kms::error::ProvideErrorMetadata;
    matches!(
        e,
        DecryptError::InvalidCiphertextException(_)
            | DecryptError::IncorrectKeyException(_)
            | DecryptError::InvalidKeyUsageException(_)
            | DecryptError::NotFoundException(_)
            | DecryptError::InvalidGrantTokenException(_)
    ) || e.code().is_some_and(|code| VALUE_CODES.contains(&code))
}

impl KeyProvider for KmsProvider {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::AwsKms
    }

    fn generate(&self, scope: &KeyScope) -> Result<GeneratedKey, ProviderError> {
        let call = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context_map(scope)))
            .send();
        let out = self
            .block(call)?
            .map_err(|e| unavailable("GenerateDataKey", e))?;
        let wrapped = out
            .ciphertext_blob
            .map(Blob::into_inner)
            .filter(|w| !w.is_empty())
            .ok_or(ProviderError::KmsAnswer {
                operation: "GenerateDataKey",
                what: "no ciphertext",
            })?;
        Ok(GeneratedKey {
            plaintext: data_key("GenerateDataKey", out.plaintext)?,
            wrapped,
        })
    }

    fn unwrap_key(&self, wrapped: &[u8], scope: &KeyScope) -> Result<DataKey, ProviderError> {
        let call = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(context_map(scope)))
            .send();
        match self.block(call)? {
            Ok(out) => data_key("Decrypt", out.plaintext),
            Err(e) => match e.as_service_error() {
                Some(service) if refuses_the_value(service) => Err(ProviderError::Rejected),
                _ => Err(unavailable("Decrypt", e)),
            },
        }
    }

    fn wrap_key(&self, key: &DataKey, scope: &KeyScope) -> Result<Vec<u8>, ProviderError> {
        // The SDK takes the plaintext by value and keeps copies in its request buffers, which this crate cannot
        // zeroize (docs/cell.md, "Key material in memory").
        let call = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(key.expose().to_vec()))
            .set_encryption_context(Some(context_map(scope)))
            .send();
        let out = self.block(call)?.map_err(|e| unavailable("Encrypt", e))?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .filter(|w| !w.is_empty())
            .ok_or(ProviderError::KmsAnswer {
                operation: "Encrypt",
                what: "no ciphertext",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::error::ErrorMetadata;

    fn unhandled(code: &str) -> DecryptError {
        DecryptError::generic(ErrorMetadata::builder().code(code).build())
    }

    #[test]
    fn value_dependent_decrypt_failures_are_opaque_and_service_failures_are_not() {
        for code in VALUE_CODES {
            assert!(refuses_the_value(&unhandled(code)), "{code}");
        }
        for code in [
            "ThrottlingException",
            "DisabledException",
            "KMSInternalException",
            "KMSInvalidStateException",
            "KeyUnavailableException",
            "DependencyTimeoutException",
        ] {
            assert!(!refuses_the_value(&unhandled(code)), "{code}");
        }
    }
}
