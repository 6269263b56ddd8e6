//! [`EsdkEncryptor`], the ESDK-format counterpart of [`crate::cell::CellEncryptor`]: writes committing messages
//! (suite 0x0478, or the signed 0x0578) that every official ESDK decrypts, and reads ESDK messages, with a data-key
//! cache under the same [`CacheLimits`] as the cell format.
//!
//! Caching follows the ESDK's caching CMM: an entry belongs to one algorithm suite and one encryption context (for
//! cells: the table, column and free values, the row excluded), and is retired by age, message count or bytes.
//! Every message still gets its own message ID, and so its own derived key and commit key, and its encrypted data
//! key is wrapped under the message's whole encryption context (the row included), which a raw keyring does
//! locally at the cost of one AES-GCM (or RSA) operation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsBigEndian, EcPublicKeyCompressedBin};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::context::{self, EncryptionContext, PUBLIC_KEY_KEY, RESERVED_PREFIX};
use super::decrypt::{self, CommitmentPolicy, Decrypted};
use super::error::EsdkError;
use super::keyring::Keyring;
use super::message::{
    self, BODY_AAD_FINAL, BODY_AAD_FRAME, EncryptedDataKey, FINAL_FRAME_MARK, Limits,
};
use super::suite::{self, IV_LEN, MessageKey, Suite, TAG_LEN};
use crate::cell::format::MAX_PLAINTEXT_LEN;
use crate::cell::{CacheLimits, Context, ROW_KEY};

/// The ESDK's default frame length.
pub const DEFAULT_FRAME_LEN: u32 = 4096;
/// The largest frame length this encryptor writes (the ESDK's own maximum is 2^31 - 1).
pub const MAX_FRAME_LEN: u32 = 1 << 26;

/// Configures an [`EsdkEncryptor`].
pub struct EsdkBuilder {
    keyring: Arc<dyn Keyring>,
    suite: &'static Suite,
    frame_len: u32,
    cache: CacheLimits,
    limits: Limits,
    policy: CommitmentPolicy,
}

impl EsdkBuilder {
    /// Signs every message (suite 0x0578, ECDSA P-384); the default is 0x0478.
    pub fn signed(mut self, signed: bool) -> Self {
        self.suite = if signed {
            suite::committing_signed()
        } else {
            suite::committing()
        };
        self
    }

    /// The suite to encrypt with: 0x0478 or 0x0578 (the committing suites).
    pub fn suite_id(mut self, id: u16) -> Result<Self, EsdkError> {
        self.suite = suite::by_id(id)
            .filter(|s| s.is_committing())
            .ok_or(EsdkError::EncryptSuite { suite: id })?;
        Ok(self)
    }

    pub fn frame_len(mut self, len: u32) -> Self {
        self.frame_len = len;
        self
    }

    /// Limits of the data-key cache.
    pub fn cache_limits(mut self, limits: CacheLimits) -> Self {
        self.cache = limits;
        self
    }

    /// Limits of the messages accepted for decryption.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The commitment policy of decryption (encryption always commits).
    pub fn policy(mut self, policy: CommitmentPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn build(self) -> Result<EsdkEncryptor, EsdkError> {
        self.cache.validate()?;
        if self.frame_len == 0 || self.frame_len > MAX_FRAME_LEN {
            return Err(EsdkError::FrameLength {
                len: self.frame_len,
                max: MAX_FRAME_LEN,
            });
        }
        if self.limits.max_encrypted_data_keys == 0 {
            return Err(EsdkError::NoDataKeys);
        }
        Ok(EsdkEncryptor {
            keyring: self.keyring,
            suite: self.suite,
            frame_len: self.frame_len,
            cache_limits: self.cache,
            limits: self.limits,
            policy: self.policy,
            encrypt_cache: Mutex::new(HashMap::new()),
            decrypt_cache: Mutex::new(HashMap::new()),
        })
    }
}

/// What one cache entry shares between messages: the data key, for the signed suite the signing key, and for a
/// keyring that calls a key service the encrypted data keys (bound to the entry's whole encryption context).
struct Materials {
    data_key: Zeroizing<Vec<u8>>,
    signing: Option<(EcdsaKeyPair, String)>,
    edks: Option<Vec<EncryptedDataKey>>,
}

struct EncryptEntry {
    materials: Arc<Materials>,
    created: Instant,
    messages_left: u64,
    bytes_left: u64,
}

struct DecryptEntry {
    data_key: Arc<Zeroizing<Vec<u8>>>,
    created: Instant,
}

/// Encrypts and decrypts ESDK messages. Thread-safe: share one per process.
pub struct EsdkEncryptor {
    keyring: Arc<dyn Keyring>,
    suite: &'static Suite,
    frame_len: u32,
    cache_limits: CacheLimits,
    limits: Limits,
    policy: CommitmentPolicy,
    encrypt_cache: Mutex<HashMap<Vec<u8>, EncryptEntry>>,
    decrypt_cache: Mutex<HashMap<[u8; 32], DecryptEntry>>,
}

impl std::fmt::Debug for EsdkEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsdkEncryptor")
            .field("suite", &format_args!("{:04X}", self.suite.id))
            .field("frame_len", &self.frame_len)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn random<const N: usize>() -> Result<[u8; N], EsdkError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| EsdkError::Random)?;
    Ok(out)
}

/// The ESDK encryption context of a cell: table, column, free values and the row, under atrest's key names.
pub fn cell_context(context: &Context) -> Result<EncryptionContext, EsdkError> {
    let mut ec = context.scope();
    match (context.row(), context.row_bytes()) {
        (Some(row), _) => {
            ec.insert(ROW_KEY.to_owned(), row.to_owned());
        }
        (None, Some(_)) => return Err(EsdkError::RowNotText),
        (None, None) => {}
    }
    Ok(ec)
}

/// The serialized encryption context of a message: `context` and, for a signed suite, its verification key.
fn serialized_context(
    context: &EncryptionContext,
    signing: Option<&(EcdsaKeyPair, String)>,
) -> Result<Vec<u8>, EsdkError> {
    match signing {
        Some((_, public)) => {
            let mut full = context.clone();
            full.insert(PUBLIC_KEY_KEY.to_owned(), public.clone());
            context::serialize(&full)
        }
        None => context::serialize(context),
    }
}

impl EsdkEncryptor {
    pub fn builder(keyring: Arc<dyn Keyring>) -> EsdkBuilder {
        EsdkBuilder {
            keyring,
            suite: suite::committing(),
            frame_len: DEFAULT_FRAME_LEN,
            cache: CacheLimits::default(),
            limits: Limits::default(),
            policy: CommitmentPolicy::default(),
        }
    }

    pub fn suite_id(&self) -> u16 {
        self.suite.id
    }

    /// Whether `bytes` is an ESDK message this encryptor would read (its header and body parse within the limits);
    /// says nothing of whether it decrypts.
    pub fn is_message(&self, bytes: &[u8]) -> bool {
        message::parse(bytes, &self.limits).is_ok()
    }

    /// Whether the keyring wraps data keys locally; one that calls a key service (AWS KMS) binds each encrypted
    /// data key to a message's whole context, row included, so it makes one call per row.
    pub fn wraps_locally(&self) -> bool {
        self.keyring.wraps_locally()
    }

    pub fn cache_limits(&self) -> CacheLimits {
        self.cache_limits
    }

    /// The same suite, frame length and limits under a fresh random raw AES key that is never stored: messages of
    /// the same shape for a trial, with no key service call.
    pub fn throwaway(&self) -> Result<EsdkEncryptor, EsdkError> {
        let mut raw = random::<32>()?;
        let keyring = super::RawAesKeyring::new("atrest", "throwaway", &raw);
        zeroize::Zeroize::zeroize(&mut raw);
        Ok(EsdkEncryptor {
            keyring: Arc::new(keyring?),
            suite: self.suite,
            frame_len: self.frame_len,
            cache_limits: self.cache_limits,
            limits: self.limits,
            policy: self.policy,
            encrypt_cache: Mutex::new(HashMap::new()),
            decrypt_cache: Mutex::new(HashMap::new()),
        })
    }

    /// Encrypts one value of a cell: its context (row included) becomes the message's encryption context.
    pub fn encrypt_cell(&self, context: &Context, plaintext: &[u8]) -> Result<Vec<u8>, EsdkError> {
        let ec = cell_context(context)?;
        if !self.keyring.wraps_locally() {
            // A key service binds the encrypted data key to the whole context, row included.
            return self.encrypt(&ec, plaintext);
        }
        let mut scope = ec.clone();
        scope.remove(ROW_KEY);
        self.encrypt_with(&ec, &context::serialize(&scope)?, plaintext)
    }

    /// Decrypts one value of a cell: the message's stored encryption context must be the cell's, exactly.
    pub fn decrypt_cell(
        &self,
        context: &Context,
        message: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EsdkError> {
        let ec = cell_context(context).map_err(|_| EsdkError::Decrypt)?;
        let decrypted = self.decrypt(message, &ec)?;
        let mut stored = decrypted.context;
        stored.remove(PUBLIC_KEY_KEY);
        if stored != ec {
            return Err(EsdkError::Decrypt);
        }
        Ok(decrypted.plaintext)
    }

    /// Encrypts `plaintext` under `context`, with the cached data key of this context.
    pub fn encrypt(
        &self,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EsdkError> {
        self.encrypt_with(context, &context::serialize(context)?, plaintext)
    }

    /// Decrypts an ESDK message written by any ESDK (every suite the policy allows). `reproduced` is the context
    /// the caller expects; pairs not stored in the message are authenticated (the required encryption context).
    pub fn decrypt(
        &self,
        message: &[u8],
        reproduced: &EncryptionContext,
    ) -> Result<Decrypted, EsdkError> {
        let msg = message::parse(message, &self.limits)?;
        let (full, only_auth, suite) = decrypt::check_materials(&msg, reproduced, self.policy)?;
        let full = context::serialize(&full)?;
        let data_key = self.data_key_for(suite, &full, &msg.header.edks)?;
        let plaintext =
            decrypt::decrypt_with_key(&msg, &data_key, &context::serialize(&only_auth)?)?;
        Ok(Decrypted {
            plaintext,
            context: msg.header.context,
            suite_id: suite.id,
        })
    }

    /// The data key of a message: from the decryption cache (keyed by suite, encrypted data keys and context, as
    /// the ESDK's caching CMM does) or from the keyring.
    fn data_key_for(
        &self,
        suite: &'static Suite,
        context: &[u8],
        edks: &[message::EdkRef<'_>],
    ) -> Result<Arc<Zeroizing<Vec<u8>>>, EsdkError> {
        let mut d = digest::Context::new(&digest::SHA256);
        d.update(&suite.id.to_be_bytes());
        for edk in edks {
            for part in [edk.provider_id, edk.provider_info, edk.ciphertext] {
                d.update(&(part.len() as u64).to_be_bytes());
                d.update(part);
            }
        }
        d.update(context);
        let mut id = [0u8; 32];
        id.copy_from_slice(d.finish().as_ref());
        let now = Instant::now();
        if let Some(e) = lock(&self.decrypt_cache).get(&id)
            && now.duration_since(e.created) < self.cache_limits.max_age
        {
            return Ok(Arc::clone(&e.data_key));
        }
        let key = Arc::new(
            self.keyring
                .unwrap(suite, context, edks)?
                .ok_or(EsdkError::Decrypt)?,
        );
        let mut cache = lock(&self.decrypt_cache);
        let max_age = self.cache_limits.max_age;
        cache.retain(|_, e| now.duration_since(e.created) < max_age);
        if cache.len() >= self.cache_limits.max_entries
            && let Some(oldest) = cache.iter().min_by_key(|(_, e)| e.created).map(|(k, _)| *k)
        {
            cache.remove(&oldest);
        }
        cache.insert(
            id,
            DecryptEntry {
                data_key: Arc::clone(&key),
                created: now,
            },
        );
        Ok(key)
    }

    /// A new data key (from the keyring when it calls a key service, else random), with the signing key of a signed
    /// suite and, from a key service, the encrypted data keys bound to `context`.
    fn new_materials(&self, context: &EncryptionContext) -> Result<Materials, EsdkError> {
        let signing = match self.suite.signature {
            Some(_) => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING)
                    .map_err(|_| EsdkError::Random)?;
                let point: EcPublicKeyCompressedBin<'_> = pair
                    .public_key()
                    .as_be_bytes()
                    .map_err(|_| EsdkError::Internal("public key"))?;
                let encoded = STANDARD.encode(point.as_ref());
                Some((pair, encoded))
            }
            None => None,
        };
        let (data_key, edks) = if self.keyring.wraps_locally() {
            (Zeroizing::new(random::<32>()?.to_vec()), None)
        } else {
            let serialized = serialized_context(context, signing.as_ref())?;
            let (key, edks) = self.keyring.generate(self.suite, &serialized)?;
            (key, Some(edks))
        };
        if data_key.len() != self.suite.key_len {
            return Err(EsdkError::Internal("data key length"));
        }
        Ok(Materials {
            data_key,
            signing,
            edks,
        })
    }

    /// Takes one message of `len` bytes from the cache entry of `scope`, or makes a new entry for messages under
    /// `context` (which `scope` identifies whole when the keyring does not wrap locally).
    fn reserve(
        &self,
        scope: &[u8],
        context: &EncryptionContext,
        len: usize,
    ) -> Result<Arc<Materials>, EsdkError> {
        let now = Instant::now();
        let len = len as u64;
        let limits = self.cache_limits;
        {
            let mut cache = lock(&self.encrypt_cache);
            if let Some(e) = cache.get_mut(scope) {
                if now.duration_since(e.created) < limits.max_age
                    && e.messages_left > 0
                    && e.bytes_left >= len
                {
                    e.messages_left -= 1;
                    e.bytes_left -= len;
                    return Ok(Arc::clone(&e.materials));
                }
                cache.remove(scope);
            }
        }
        // New materials are made without the lock, so a slow key service (or a signing key) does not stall the
        // writers of other contexts; writers racing on one context each make an entry, and the last one stays.
        let materials = Arc::new(self.new_materials(context)?);
        let mut cache = lock(&self.encrypt_cache);
        if cache.len() >= limits.max_entries
            && !cache.contains_key(scope)
            && let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| k.clone())
        {
            cache.remove(&oldest);
        }
        cache.insert(
            scope.to_vec(),
            EncryptEntry {
                materials: Arc::clone(&materials),
                created: now,
                messages_left: limits.max_messages.saturating_sub(1),
                bytes_left: limits.max_bytes.saturating_sub(len),
            },
        );
        Ok(materials)
    }

    fn encrypt_with(
        &self,
        context: &EncryptionContext,
        scope: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EsdkError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(EsdkError::TooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_LEN,
            });
        }
        if let Some(k) = context.keys().find(|k| k.starts_with(RESERVED_PREFIX)) {
            return Err(EsdkError::ReservedKey { key: k.clone() });
        }
        let mut cache_key = Vec::with_capacity(2 + scope.len());
        cache_key.extend_from_slice(&self.suite.id.to_be_bytes());
        cache_key.extend_from_slice(scope);
        let materials = self.reserve(&cache_key, context, plaintext.len())?;

        let serialized = serialized_context(context, materials.signing.as_ref())?;
        let wrapped;
        let edks = match &materials.edks {
            Some(edks) => edks,
            None => {
                wrapped =
                    self.keyring
                        .wrap(self.suite, &serialized, materials.data_key.as_slice())?;
                &wrapped
            }
        };
        let edk_refs: Vec<_> = edks.iter().map(|e| e.as_ref()).collect();
        let message_id = random::<32>()?;
        let key = MessageKey::derive(self.suite, materials.data_key.as_slice(), &message_id)?;
        let commit = key.commit_key().ok_or(EsdkError::Internal("commit key"))?;

        let frame = self.frame_len as usize;
        let frames = plaintext.len() / frame + 1;
        let mut out = Vec::with_capacity(
            128 + serialized.len()
                + edks
                    .iter()
                    .map(|e| 6 + e.ciphertext.len() + e.provider_info.len() + e.provider_id.len())
                    .sum::<usize>()
                + plaintext.len()
                + frames * (4 + 4 + IV_LEN + 4 + TAG_LEN)
                + 2
                + 104,
        );
        message::write_v2_header_body(
            &mut out,
            self.suite,
            &message_id,
            &serialized,
            &edk_refs,
            self.frame_len,
            commit,
        )?;
        let header_len = out.len();
        let mut aad = out.clone();
        key.seal_append([0; IV_LEN], &aad, &[], &mut out)?;
        debug_assert_eq!(out.len(), header_len + TAG_LEN);

        // Regular frames while more than one frame remains; the final frame holds the rest (possibly nothing).
        let mut seq: u32 = 1;
        let mut rest = plaintext;
        while rest.len() > frame {
            let (chunk, tail) = rest.split_at(frame);
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&suite::frame_iv(seq));
            message::body_aad_into(
                &mut aad,
                &message_id,
                BODY_AAD_FRAME,
                seq,
                chunk.len() as u64,
            );
            key.seal_append(suite::frame_iv(seq), &aad, chunk, &mut out)?;
            seq = seq
                .checked_add(1)
                .ok_or(EsdkError::Internal("frame count"))?;
            rest = tail;
        }
        out.extend_from_slice(&FINAL_FRAME_MARK.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&suite::frame_iv(seq));
        out.extend_from_slice(&(rest.len() as u32).to_be_bytes());
        message::body_aad_into(
            &mut aad,
            &message_id,
            BODY_AAD_FINAL,
            seq,
            rest.len() as u64,
        );
        key.seal_append(suite::frame_iv(seq), &aad, rest, &mut out)?;

        if let Some((pair, _)) = &materials.signing {
            let sig = pair
                .sign(&SystemRandom::new(), &out)
                .map_err(|_| EsdkError::Internal("sign"))?;
            let sig = sig.as_ref();
            out.extend_from_slice(&(sig.len() as u16).to_be_bytes());
            out.extend_from_slice(sig);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::esdk::{Decryptor, RawAesKeyring};

    fn keyring() -> Arc<dyn Keyring> {
        Arc::new(RawAesKeyring::new("atrest", "test-key", &[7; 32]).unwrap())
    }

    fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn round_trips_both_suites_and_frame_boundaries() {
        for signed in [false, true] {
            let e = EsdkEncryptor::builder(keyring())
                .signed(signed)
                .frame_len(16)
                .build()
                .unwrap();
            for len in [0, 1, 15, 16, 17, 32, 33, 100] {
                let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let ctx = ec(&[("tenant", "a")]);
                let msg = e.encrypt(&ctx, &plain).unwrap();
                let d = e.decrypt(&msg, &ctx).unwrap();
                assert_eq!(*d.plaintext, plain);
                assert_eq!(d.suite_id, if signed { 0x0578 } else { 0x0478 });
                // The plain decryptor, without a cache, agrees.
                let k = keyring();
                assert_eq!(
                    *Decryptor::new(k.as_ref())
                        .decrypt(&msg, &ctx)
                        .unwrap()
                        .plaintext,
                    plain
                );
                // A wrong expected value fails.
                assert_eq!(
                    e.decrypt(&msg, &ec(&[("tenant", "b")])).unwrap_err(),
                    EsdkError::Decrypt
                );
            }
        }
    }

    #[test]
    fn every_flipped_bit_fails() {
        for signed in [false, true] {
            let e = EsdkEncryptor::builder(keyring())
                .signed(signed)
                .build()
                .unwrap();
            let msg = e.encrypt(&ec(&[("a", "b")]), b"secret").unwrap();
            for i in 0..msg.len() {
                let mut bad = msg.clone();
                bad[i] ^= 0x01;
                assert!(
                    e.decrypt(&bad, &EncryptionContext::new()).is_err(),
                    "byte {i}"
                );
            }
            for cut in 0..msg.len() {
                assert!(e.decrypt(&msg[..cut], &EncryptionContext::new()).is_err());
            }
            let mut longer = msg.clone();
            longer.push(0);
            assert!(e.decrypt(&longer, &EncryptionContext::new()).is_err());
        }
    }

    #[test]
    fn cells_bind_their_row() {
        let e = EsdkEncryptor::builder(keyring()).build().unwrap();
        let ctx = Context::new("users", "ssn")
            .unwrap()
            .with_row("42")
            .unwrap();
        let msg = e.encrypt_cell(&ctx, b"078-05-1120").unwrap();
        assert_eq!(&*e.decrypt_cell(&ctx, &msg).unwrap(), b"078-05-1120");
        let other = Context::new("users", "ssn")
            .unwrap()
            .with_row("43")
            .unwrap();
        assert_eq!(
            e.decrypt_cell(&other, &msg).unwrap_err(),
            EsdkError::Decrypt
        );
        let no_row = Context::new("users", "ssn").unwrap();
        assert_eq!(
            e.decrypt_cell(&no_row, &msg).unwrap_err(),
            EsdkError::Decrypt
        );
    }

    #[test]
    fn cache_entry_is_retired_by_message_count() {
        let limits = CacheLimits {
            max_messages: 2,
            ..CacheLimits::default()
        };
        let e = EsdkEncryptor::builder(keyring())
            .cache_limits(limits)
            .build()
            .unwrap();
        let key = |e: &EsdkEncryptor| {
            let m = e.reserve(b"scope", &EncryptionContext::new(), 1).unwrap();
            m.data_key.to_vec()
        };
        let a = key(&e);
        assert_eq!(key(&e), a);
        assert_ne!(key(&e), a);
        let aged = EsdkEncryptor::builder(keyring())
            .cache_limits(CacheLimits {
                max_age: Duration::from_nanos(1),
                ..CacheLimits::default()
            })
            .build()
            .unwrap();
        let b = key(&aged);
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(key(&aged), b);
    }

    #[test]
    fn refuses_reserved_keys_and_non_committing_suites() {
        let e = EsdkEncryptor::builder(keyring()).build().unwrap();
        assert!(matches!(
            e.encrypt(&ec(&[("aws-crypto-public-key", "x")]), b""),
            Err(EsdkError::ReservedKey { .. })
        ));
        assert!(EsdkEncryptor::builder(keyring()).suite_id(0x0178).is_err());
        assert!(
            EsdkEncryptor::builder(keyring())
                .frame_len(0)
                .build()
                .is_err()
        );
    }
}
