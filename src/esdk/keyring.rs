//! ESDK keyrings: raw AES (`framework/raw-aes-keyring.md`), raw RSA (`framework/raw-rsa-keyring.md`) and a
//! multi-keyring that tries its children in order.
//!
//! RSA is done with aws-lc-rs because `ring` has no RSA encryption (OAEP or PKCS#1 v1.5) at all.

use std::sync::Arc;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
    OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::error::EsdkError;
use super::message::{self, EdkRef, EncryptedDataKey};
use super::suite::{self, IV_LEN, Suite, TAG_LEN};

/// A data key and its encrypted data keys, as a keyring generates them.
pub type Generated = (Zeroizing<Vec<u8>>, Vec<EncryptedDataKey>);

/// Wraps and unwraps data keys. `context` is the serialized encryption context of the message (including the keys
/// that are only authenticated).
pub trait Keyring: Send + Sync {
    /// Makes a new data key of `suite` and wraps it (the keyring's `OnEncrypt` without a data key). By default a
    /// random key from the operating system, wrapped by [`Keyring::wrap`].
    fn generate(&self, suite: &Suite, context: &[u8]) -> Result<Generated, EsdkError> {
        let mut key = Zeroizing::new(vec![0u8; suite.key_len]);
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| EsdkError::Random)?;
        let edks = self.wrap(suite, context, &key)?;
        Ok((key, edks))
    }

    /// Wraps `data_key` for one message.
    fn wrap(
        &self,
        suite: &Suite,
        context: &[u8],
        data_key: &[u8],
    ) -> Result<Vec<EncryptedDataKey>, EsdkError>;

    /// Appends the header section of [`Keyring::wrap`]'s encrypted data keys (the count, then each key) to `out`.
    /// `iv` is 12 fresh bytes from the operating system's generator, drawn with the message ID, for a keyring that
    /// needs a random IV; a keyring that writes in place overrides this to skip the intermediate buffers.
    fn wrap_into(
        &self,
        suite: &Suite,
        context: &[u8],
        data_key: &[u8],
        iv: [u8; IV_LEN],
        out: &mut Vec<u8>,
    ) -> Result<(), EsdkError> {
        let _ = iv;
        let edks = self.wrap(suite, context, data_key)?;
        let refs: Vec<_> = edks.iter().map(EncryptedDataKey::as_ref).collect();
        message::write_edks(out, &refs)
    }

    /// Unwraps the first encrypted data key this keyring can: `None` when it can unwrap none of them, an error only
    /// when a key service failed for a reason unrelated to the message (unreachable, throttled, a disabled key).
    fn unwrap(
        &self,
        suite: &Suite,
        context: &[u8],
        edks: &[EdkRef<'_>],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, EsdkError>;

    /// Whether [`Keyring::wrap`] is a local computation. A keyring that calls a key service (AWS KMS) says `false`,
    /// and an encryptor then caches its encrypted data keys with the data key, per whole encryption context.
    fn wraps_locally(&self) -> bool {
        true
    }

    /// Whether [`Keyring::unwrap`] costs no more than a cache lookup (one AES-GCM open under a key in memory): an
    /// encryptor then unwraps every message's data key instead of caching it. False for RSA and key services.
    fn unwraps_cheaply(&self) -> bool {
        false
    }
}

/// The raw AES keyring: AES-GCM under a static 128, 192 or 256-bit wrapping key, the encryption context as AAD.
pub struct RawAesKeyring {
    namespace: String,
    name: String,
    key: LessSafeKey,
}

impl std::fmt::Debug for RawAesKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawAesKeyring")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

const AES_TAG_BITS: u32 = (TAG_LEN * 8) as u32;

impl RawAesKeyring {
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        wrapping_key: &[u8],
    ) -> Result<Self, EsdkError> {
        let alg = match wrapping_key.len() {
            16 => &aead::AES_128_GCM,
            24 => &aead::AES_192_GCM,
            32 => &aead::AES_256_GCM,
            len => return Err(EsdkError::WrappingKeyLen { len }),
        };
        let key = UnboundKey::new(alg, wrapping_key).map_err(|_| EsdkError::Internal("aes key"))?;
        Ok(RawAesKeyring {
            namespace: namespace.into(),
            name: name.into(),
            key: LessSafeKey::new(key),
        })
    }

    /// The provider info of a wrapped key: key name || tag length in bits || IV length || IV.
    fn info(&self, iv: &[u8; IV_LEN]) -> Vec<u8> {
        let mut info = Vec::with_capacity(self.name.len() + 8 + IV_LEN);
        info.extend_from_slice(self.name.as_bytes());
        info.extend_from_slice(&AES_TAG_BITS.to_be_bytes());
        info.extend_from_slice(&(IV_LEN as u32).to_be_bytes());
        info.extend_from_slice(iv);
        info
    }

    fn unwrap_one(
        &self,
        suite: &Suite,
        context: &[u8],
        edk: &EdkRef<'_>,
    ) -> Option<Zeroizing<Vec<u8>>> {
        if edk.provider_id != self.namespace.as_bytes() {
            return None;
        }
        let rest = edk.provider_info.strip_prefix(self.name.as_bytes())?;
        let (tag_bits, rest) = rest.split_first_chunk::<4>()?;
        let (iv_len, iv) = rest.split_first_chunk::<4>()?;
        if u32::from_be_bytes(*tag_bits) != AES_TAG_BITS
            || u32::from_be_bytes(*iv_len) != IV_LEN as u32
            || iv.len() != IV_LEN
            || edk.ciphertext.len() != suite.key_len + TAG_LEN
        {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(iv).ok()?;
        let mut buf = Zeroizing::new(edk.ciphertext.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .ok()?
            .len();
        buf.truncate(len);
        Some(buf)
    }
}

impl Keyring for RawAesKeyring {
    fn wrap(
        &self,
        _suite: &Suite,
        context: &[u8],
        data_key: &[u8],
    ) -> Result<Vec<EncryptedDataKey>, EsdkError> {
        let mut iv = [0u8; IV_LEN];
        SystemRandom::new()
            .fill(&mut iv)
            .map_err(|_| EsdkError::Random)?;
        let mut ciphertext = Vec::with_capacity(data_key.len() + TAG_LEN);
        suite::seal_append(&self.key, iv, context, data_key, &mut ciphertext)?;
        Ok(vec![EncryptedDataKey {
            provider_id: self.namespace.as_bytes().to_vec(),
            provider_info: self.info(&iv),
            ciphertext,
        }])
    }

    /// One encrypted data key written in place: the data key is sealed where its ciphertext goes.
    fn wrap_into(
        &self,
        _suite: &Suite,
        context: &[u8],
        data_key: &[u8],
        iv: [u8; IV_LEN],
        out: &mut Vec<u8>,
    ) -> Result<(), EsdkError> {
        out.extend_from_slice(&1u16.to_be_bytes());
        message::put_u16_bytes(out, self.namespace.as_bytes())?;
        let info_len = self.name.len() + 8 + IV_LEN;
        out.extend_from_slice(
            &u16::try_from(info_len)
                .map_err(|_| EsdkError::Internal("key name length"))?
                .to_be_bytes(),
        );
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&AES_TAG_BITS.to_be_bytes());
        out.extend_from_slice(&(IV_LEN as u32).to_be_bytes());
        out.extend_from_slice(&iv);
        let sealed_len = u16::try_from(data_key.len() + TAG_LEN)
            .map_err(|_| EsdkError::Internal("data key length"))?;
        out.extend_from_slice(&sealed_len.to_be_bytes());
        suite::seal_append(&self.key, iv, context, data_key, out)
    }

    fn unwraps_cheaply(&self) -> bool {
        true
    }

    fn unwrap(
        &self,
        suite: &Suite,
        context: &[u8],
        edks: &[EdkRef<'_>],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, EsdkError> {
        Ok(edks
            .iter()
            .find_map(|edk| self.unwrap_one(suite, context, edk)))
    }
}

/// The padding of a raw RSA keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaPadding {
    Pkcs1,
    OaepSha1,
    OaepSha256,
    OaepSha384,
    OaepSha512,
}

impl RsaPadding {
    fn oaep(self) -> Option<&'static OaepAlgorithm> {
        match self {
            RsaPadding::Pkcs1 => None,
            RsaPadding::OaepSha1 => Some(&OAEP_SHA1_MGF1SHA1),
            RsaPadding::OaepSha256 => Some(&OAEP_SHA256_MGF1SHA256),
            RsaPadding::OaepSha384 => Some(&OAEP_SHA384_MGF1SHA384),
            RsaPadding::OaepSha512 => Some(&OAEP_SHA512_MGF1SHA512),
        }
    }
}

enum RsaKey {
    Private(PrivateDecryptingKey),
    Public(PublicEncryptingKey),
}

/// The raw RSA keyring: the data key encrypted to an RSA public key (OAEP or PKCS#1 v1.5), no AAD.
pub struct RawRsaKeyring {
    namespace: String,
    name: String,
    padding: RsaPadding,
    key: RsaKey,
}

impl std::fmt::Debug for RawRsaKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRsaKeyring")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("padding", &self.padding)
            .finish_non_exhaustive()
    }
}

/// The DER inside a PEM block with this label.
fn pem_der(pem: &str, label: &str) -> Option<Zeroizing<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem.get(start..)?.find(&end)?;
    let body: String = pem
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok().map(Zeroizing::new)
}

impl RawRsaKeyring {
    /// A keyring from a PEM key: `PRIVATE KEY` (PKCS#8, decrypts and encrypts) or `PUBLIC KEY` (encrypts only).
    pub fn from_pem(
        namespace: impl Into<String>,
        name: impl Into<String>,
        padding: RsaPadding,
        pem: &str,
    ) -> Result<Self, EsdkError> {
        let key = if let Some(der) = pem_der(pem, "PRIVATE KEY") {
            RsaKey::Private(PrivateDecryptingKey::from_pkcs8(&der).map_err(|_| EsdkError::RsaKey)?)
        } else if let Some(der) = pem_der(pem, "PUBLIC KEY") {
            RsaKey::Public(PublicEncryptingKey::from_der(&der).map_err(|_| EsdkError::RsaKey)?)
        } else {
            return Err(EsdkError::RsaKey);
        };
        Ok(RawRsaKeyring {
            namespace: namespace.into(),
            name: name.into(),
            padding,
            key,
        })
    }

    pub fn can_decrypt(&self) -> bool {
        matches!(self.key, RsaKey::Private(_))
    }

    fn decrypt(&self, key: &PrivateDecryptingKey, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(vec![0u8; key.key_size_bytes()]);
        let len = match self.padding.oaep() {
            Some(alg) => OaepPrivateDecryptingKey::new(key.clone())
                .ok()?
                .decrypt(alg, ciphertext, &mut out, None)
                .ok()?
                .len(),
            None => Pkcs1PrivateDecryptingKey::new(key.clone())
                .ok()?
                .decrypt(ciphertext, &mut out)
                .ok()?
                .len(),
        };
        out.truncate(len);
        Some(out)
    }
}

impl Keyring for RawRsaKeyring {
    fn wrap(
        &self,
        _suite: &Suite,
        _context: &[u8],
        data_key: &[u8],
    ) -> Result<Vec<EncryptedDataKey>, EsdkError> {
        let public = match &self.key {
            RsaKey::Private(k) => k.public_key(),
            RsaKey::Public(k) => k.clone(),
        };
        let mut out = vec![0u8; public.key_size_bytes()];
        let len = match self.padding.oaep() {
            Some(alg) => OaepPublicEncryptingKey::new(public)
                .and_then(|k| k.encrypt(alg, data_key, &mut out, None).map(|c| c.len()))
                .map_err(|_| EsdkError::Internal("rsa encrypt"))?,
            None => Pkcs1PublicEncryptingKey::new(public)
                .and_then(|k| k.encrypt(data_key, &mut out).map(|c| c.len()))
                .map_err(|_| EsdkError::Internal("rsa encrypt"))?,
        };
        out.truncate(len);
        Ok(vec![EncryptedDataKey {
            provider_id: self.namespace.as_bytes().to_vec(),
            provider_info: self.name.as_bytes().to_vec(),
            ciphertext: out,
        }])
    }

    fn unwrap(
        &self,
        suite: &Suite,
        _context: &[u8],
        edks: &[EdkRef<'_>],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, EsdkError> {
        let RsaKey::Private(key) = &self.key else {
            return Ok(None);
        };
        Ok(edks
            .iter()
            .filter(|e| {
                e.provider_id == self.namespace.as_bytes()
                    && e.provider_info == self.name.as_bytes()
            })
            .find_map(|e| self.decrypt(key, e.ciphertext))
            .filter(|k| k.len() == suite.key_len))
    }
}

/// Several keyrings: the first child generates the data key and every other wraps it too; decryption tries the
/// children in order (a child's service failure is returned only if no later child unwraps a key).
#[derive(Clone, Default)]
pub struct MultiKeyring {
    children: Vec<Arc<dyn Keyring>>,
}

impl std::fmt::Debug for MultiKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiKeyring")
            .field("children", &self.children.len())
            .finish()
    }
}

impl MultiKeyring {
    pub fn new(children: Vec<Arc<dyn Keyring>>) -> Self {
        MultiKeyring { children }
    }

    pub fn push(&mut self, child: Arc<dyn Keyring>) {
        self.children.push(child);
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

impl Keyring for MultiKeyring {
    fn generate(&self, suite: &Suite, context: &[u8]) -> Result<Generated, EsdkError> {
        let (generator, others) = self.children.split_first().ok_or(EsdkError::NoKeyring)?;
        let (key, mut edks) = generator.generate(suite, context)?;
        for child in others {
            edks.extend(child.wrap(suite, context, &key)?);
        }
        Ok((key, edks))
    }

    fn wraps_locally(&self) -> bool {
        self.children.iter().all(|c| c.wraps_locally())
    }

    fn unwraps_cheaply(&self) -> bool {
        self.children.iter().all(|c| c.unwraps_cheaply())
    }

    fn wrap(
        &self,
        suite: &Suite,
        context: &[u8],
        data_key: &[u8],
    ) -> Result<Vec<EncryptedDataKey>, EsdkError> {
        if self.children.is_empty() {
            return Err(EsdkError::NoKeyring);
        }
        let mut out = Vec::new();
        for child in &self.children {
            out.extend(child.wrap(suite, context, data_key)?);
        }
        Ok(out)
    }

    fn unwrap(
        &self,
        suite: &Suite,
        context: &[u8],
        edks: &[EdkRef<'_>],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, EsdkError> {
        let mut failure = None;
        for child in &self.children {
            match child.unwrap(suite, context, edks) {
                Ok(Some(key)) => return Ok(Some(key)),
                Ok(None) => {}
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        failure.map_or(Ok(None), Err)
    }
}
