//! The AWS KMS keyring of the ESDK (specification: `framework/aws-kms/aws-kms-keyring.md`), in strict mode: a list
//! of KMS keys, the first of which generates each data key (`GenerateDataKey`) while the others encrypt it too
//! (`Encrypt`); decryption calls `Decrypt` for each encrypted data key of provider `aws-kms` whose key ARN is in the
//! list, with that ARN as the key id, until one succeeds. Every call carries the message's encryption context.
//!
//! Like [`crate::cell::KmsProvider`], the keyring owns a small tokio runtime and blocks on each call: do not call it
//! from async code (use `tokio::task::spawn_blocking`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_kms::Client;
use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::primitives::Blob;
use zeroize::Zeroizing;

use super::context;
use super::error::EsdkError;
use super::keyring::{Generated, Keyring};
use super::message::{EdkRef, EncryptedDataKey};
use super::suite::Suite;
use crate::aws::AwsSettings;
use crate::cell::{CellError, KmsSetupError, ProviderError, Source};

/// The provider ID of every encrypted data key an AWS KMS keyring writes.
pub const PROVIDER_ID: &str = "aws-kms";

/// The strict AWS KMS keyring (a multi-keyring of the specification's single-key KMS keyrings, as the ESDKs'
/// strict master key providers are).
pub struct AwsKmsKeyring {
    client: Client,
    key_ids: Vec<String>,
    grant_tokens: Vec<String>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for AwsKmsKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKmsKeyring")
            .field("key_ids", &self.key_ids)
            .finish_non_exhaustive()
    }
}

impl Drop for AwsKmsKeyring {
    fn drop(&mut self) {
        // Dropping a runtime inside async code would panic; a background shutdown never does.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Whether `id` is a KMS key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`), the only form the specification
/// accepts as the provider info of an encrypted data key.
pub fn is_key_arn(id: &str) -> bool {
    let parts: Vec<&str> = id.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "kms", region, account, resource]
            if !partition.is_empty() && !region.is_empty() && !account.is_empty()
                && resource.strip_prefix("key/").is_some_and(|k| !k.is_empty())
    )
}

fn service<E, R>(operation: &'static str, e: SdkError<E, R>) -> EsdkError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    provider(ProviderError::Kms {
        operation,
        source: Source(Arc::new(e)),
    })
}

fn provider(e: ProviderError) -> EsdkError {
    EsdkError::Cell(CellError::Provider(e))
}

fn answer(operation: &'static str, what: &'static str) -> EsdkError {
    provider(ProviderError::KmsAnswer { operation, what })
}

/// The KMS encryption context of a serialized ESDK encryption context.
fn context_map(serialized: &[u8]) -> Result<HashMap<String, String>, EsdkError> {
    Ok(context::parse(serialized)?.into_iter().collect())
}

impl AwsKmsKeyring {
    /// A keyring over an existing client. The first of `key_ids` (a key ARN, key id or alias) generates data keys;
    /// decryption only uses the ones that are key ARNs, since encrypted data keys name their key by ARN.
    pub fn new(client: Client, key_ids: Vec<String>) -> Result<Self, KmsSetupError> {
        if key_ids.is_empty() || key_ids.iter().any(String::is_empty) {
            return Err(KmsSetupError::EmptyKeyId);
        }
        Ok(AwsKmsKeyring {
            client,
            key_ids,
            grant_tokens: Vec::new(),
            runtime: Some(crate::cell::kms_runtime()?),
        })
    }

    /// A keyring configured like the command line: profile, region and endpoint from `settings`.
    pub fn from_settings(
        settings: &AwsSettings,
        key_ids: Vec<String>,
    ) -> Result<Self, KmsSetupError> {
        let runtime = crate::cell::kms_runtime()?;
        let config = runtime.block_on(settings.load())?;
        let mut keyring = Self::new(Client::new(&config), key_ids)?;
        if let Some(spare) = keyring.runtime.replace(runtime) {
            spare.shutdown_background();
        }
        Ok(keyring)
    }

    /// Grant tokens passed with every call.
    pub fn with_grant_tokens(mut self, tokens: Vec<String>) -> Self {
        self.grant_tokens = tokens;
        self
    }

    pub fn key_ids(&self) -> &[String] {
        &self.key_ids
    }

    fn block<F: Future>(&self, future: F) -> Result<F::Output, EsdkError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(provider(ProviderError::InsideRuntime));
        }
        match &self.runtime {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(provider(ProviderError::ShutDown)),
        }
    }

    fn grant_tokens(&self) -> Option<Vec<String>> {
        (!self.grant_tokens.is_empty()).then(|| self.grant_tokens.clone())
    }

    /// The encrypted data key of a KMS answer: its key id must be a key ARN.
    fn edk(
        operation: &'static str,
        key_id: Option<String>,
        blob: Option<Blob>,
    ) -> Result<EncryptedDataKey, EsdkError> {
        let key_id = key_id
            .filter(|k| is_key_arn(k))
            .ok_or_else(|| answer(operation, "no key ARN"))?;
        let ciphertext = blob
            .map(Blob::into_inner)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| answer(operation, "no ciphertext"))?;
        Ok(EncryptedDataKey {
            provider_id: PROVIDER_ID.as_bytes().to_vec(),
            provider_info: key_id.into_bytes(),
            ciphertext,
        })
    }

    /// `Encrypt` of `data_key` under `key_id`.
    fn encrypt_under(
        &self,
        key_id: &str,
        context: &HashMap<String, String>,
        data_key: &[u8],
    ) -> Result<EncryptedDataKey, EsdkError> {
        // The SDK takes the plaintext by value and keeps copies in its request buffers, which this crate cannot
        // zeroize (docs/cell.md, "Key material in memory").
        let call = self
            .client
            .encrypt()
            .key_id(key_id)
            .plaintext(Blob::new(data_key.to_vec()))
            .set_encryption_context(Some(context.clone()))
            .set_grant_tokens(self.grant_tokens())
            .send();
        let out = self.block(call)?.map_err(|e| service("Encrypt", e))?;
        Self::edk("Encrypt", out.key_id, out.ciphertext_blob)
    }

    /// `Decrypt` of one encrypted data key: `None` when KMS refuses it (wrong key, context or bytes).
    fn decrypt_one(
        &self,
        suite: &Suite,
        arn: &str,
        context: &HashMap<String, String>,
        ciphertext: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, EsdkError> {
        let call = self
            .client
            .decrypt()
            .key_id(arn)
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context(Some(context.clone()))
            .set_grant_tokens(self.grant_tokens())
            .send();
        match self.block(call)? {
            Ok(out) => {
                let key = Zeroizing::new(out.plaintext.map(Blob::into_inner).unwrap_or_default());
                // The specification: the answer names the key asked for, and the key has the suite's length.
                if out.key_id.as_deref() != Some(arn) || key.len() != suite.key_len {
                    return Ok(None);
                }
                Ok(Some(key))
            }
            Err(e) => match e.as_service_error() {
                Some(s) if crate::cell::refuses_the_value(s) => Ok(None),
                _ => Err(service("Decrypt", e)),
            },
        }
    }
}

impl Keyring for AwsKmsKeyring {
    fn generate(&self, suite: &Suite, context: &[u8]) -> Result<Generated, EsdkError> {
        let map = context_map(context)?;
        let (generator, others) = self.key_ids.split_first().ok_or(EsdkError::NoKeyring)?;
        let bytes = i32::try_from(suite.key_len).map_err(|_| EsdkError::Internal("key length"))?;
        let call = self
            .client
            .generate_data_key()
            .key_id(generator)
            .number_of_bytes(bytes)
            .set_encryption_context(Some(map.clone()))
            .set_grant_tokens(self.grant_tokens())
            .send();
        let out = self
            .block(call)?
            .map_err(|e| service("GenerateDataKey", e))?;
        let key = Zeroizing::new(out.plaintext.map(Blob::into_inner).unwrap_or_default());
        if key.len() != suite.key_len {
            return Err(answer("GenerateDataKey", "a data key of the wrong length"));
        }
        let mut edks = vec![Self::edk(
            "GenerateDataKey",
            out.key_id,
            out.ciphertext_blob,
        )?];
        for key_id in others {
            edks.push(self.encrypt_under(key_id, &map, &key)?);
        }
        Ok((key, edks))
    }

    fn wrap(
        &self,
        _suite: &Suite,
        context: &[u8],
        data_key: &[u8],
    ) -> Result<Vec<EncryptedDataKey>, EsdkError> {
        let map = context_map(context)?;
        self.key_ids
            .iter()
            .map(|key_id| self.encrypt_under(key_id, &map, data_key))
            .collect()
    }

    fn unwrap(
        &self,
        suite: &Suite,
        context: &[u8],
        edks: &[EdkRef<'_>],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, EsdkError> {
        let map = context_map(context).map_err(|_| EsdkError::Decrypt)?;
        let mut failure = None;
        for edk in edks {
            if edk.provider_id != PROVIDER_ID.as_bytes() {
                continue;
            }
            // Strict mode: only the keys of the list, named by ARN exactly.
            let Some(arn) = std::str::from_utf8(edk.provider_info)
                .ok()
                .filter(|a| is_key_arn(a) && self.key_ids.iter().any(|k| k == a))
            else {
                continue;
            };
            match self.decrypt_one(suite, arn, &map, edk.ciphertext) {
                Ok(Some(key)) => return Ok(Some(key)),
                Ok(None) => {}
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        failure.map_or(Ok(None), Err)
    }

    fn wraps_locally(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_arns() {
        for ok in [
            "arn:aws:kms:us-west-2:658956600833:key/b3537ef1-d8dc-4780-9f5a-55776cbb2f7f",
            "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-80bd8ecdcd4342aebd84b7dc9da498a7",
        ] {
            assert!(is_key_arn(ok), "{ok}");
        }
        for bad in [
            "b3537ef1-d8dc-4780-9f5a-55776cbb2f7f",
            "alias/atrest",
            "arn:aws:kms:us-west-2:658956600833:alias/atrest",
            "arn:aws:kms:us-west-2:658956600833:key/",
            "arn:aws:s3:us-west-2:658956600833:key/x",
            "arn::kms:us-west-2:658956600833:key/x",
        ] {
            assert!(!is_key_arn(bad), "{bad}");
        }
    }
}
