//! [`EsdkEncryptor`], the ESDK-format counterpart of [`crate::cell::CellEncryptor`]: writes committing messages
//! (suite 0x0478, or the signed 0x0578) that every official ESDK decrypts, and reads ESDK messages, with a data-key
//! cache under the same [`CacheLimits`] as the cell format.
//!
//! Caching follows the ESDK's caching CMM: an entry belongs to one algorithm suite and one encryption context (for
//! cells: the table, column and free values, the row excluded), and is retired by age, message count or bytes.
//! Every message still gets its own message ID, and so its own derived key and commit key, and its encrypted data
//! key is wrapped under the message's whole encryption context (the row included), which a raw keyring does
//! locally at the cost of one AES-GCM (or RSA) operation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::encoding::{AsBigEndian, EcPublicKeyCompressedBin};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::cache::{DecryptCache, EncryptCache, Materials};
use super::context::{self, EncryptionContext, PUBLIC_KEY_KEY, RESERVED_PREFIX};
use super::decrypt::{self, CommitmentPolicy, Decrypted};
use super::error::EsdkError;
use super::keyring::Keyring;
use super::message::{
    self, BODY_AAD_FINAL, BODY_AAD_FRAME, BodyAad, EncryptedDataKey, FINAL_FRAME_MARK, Limits,
    Message,
};
use super::suite::{self, COMMIT_KEY_LEN, IV_LEN, MessageKey, Suite, TAG_LEN};
use crate::cell::format::MAX_PLAINTEXT_LEN;
use crate::cell::{CacheLimits, Context, ROW_KEY};

/// The ESDK's default frame length.
pub const DEFAULT_FRAME_LEN: u32 = 4096;
/// The largest frame length this encryptor writes (the ESDK's own maximum is 2^31 - 1).
pub const MAX_FRAME_LEN: u32 = 1 << 26;

/// Bytes of a version 2 header besides the context and the encrypted data keys: version, suite, message ID, the
/// two length fields, content type, frame length, commit key and tag.
const HEADER_FIXED_LEN: usize = 1 + 2 + 32 + 2 + 1 + 4 + COMMIT_KEY_LEN + TAG_LEN;
/// The most a frame adds to its content: final-frame mark, sequence number, IV, length, tag.
const FRAME_OVERHEAD: usize = 4 + 4 + IV_LEN + 4 + TAG_LEN;
/// An ECDSA P-384 signature in DER and its length field.
const SIGNATURE_MAX_LEN: usize = 2 + 104;

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
        Ok(EsdkEncryptor::new(self))
    }
}

struct Caches {
    encrypt: EncryptCache,
    decrypt: DecryptCache,
}

/// Encrypts and decrypts ESDK messages. Thread-safe: share one per process.
pub struct EsdkEncryptor {
    keyring: Arc<dyn Keyring>,
    suite: &'static Suite,
    frame_len: u32,
    cache_limits: CacheLimits,
    limits: Limits,
    policy: CommitmentPolicy,
    /// Boxed: an encryptor is often one variant of an enum beside much smaller ones.
    caches: Box<Caches>,
    /// The length of the last message's locally wrapped data keys, so the next message's buffer is sized once.
    edk_len_hint: AtomicUsize,
}

impl std::fmt::Debug for EsdkEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsdkEncryptor")
            .field("suite", &format_args!("{:04X}", self.suite.id))
            .field("frame_len", &self.frame_len)
            .finish_non_exhaustive()
    }
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

/// The serialized ESDK context of a cell, and that of its scope, without building a map: the cell's canonical
/// encodings are the ESDK's serialization of the same pairs (sorted by key bytes, 2-byte counts and lengths; a cell
/// context is never empty), which `cell_encodings_are_the_esdk_serialization` checks.
fn cell_serialized(context: &Context) -> Result<(&[u8], &[u8]), EsdkError> {
    if context.row_bytes().is_some() && context.row().is_none() {
        return Err(EsdkError::RowNotText);
    }
    Ok((context.encoded(), context.encoded_scope()))
}

/// A new signing key of the signed suite and its compressed public point in base64.
fn signing_key() -> Result<(EcdsaKeyPair, String), EsdkError> {
    let pair =
        EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).map_err(|_| EsdkError::Random)?;
    let point: EcPublicKeyCompressedBin<'_> = pair
        .public_key()
        .as_be_bytes()
        .map_err(|_| EsdkError::Internal("public key"))?;
    let encoded = STANDARD.encode(point.as_ref());
    Ok((pair, encoded))
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

    fn new(b: EsdkBuilder) -> Self {
        EsdkEncryptor {
            caches: Box::new(Caches {
                encrypt: EncryptCache::new(b.cache),
                decrypt: DecryptCache::new(b.cache),
            }),
            keyring: b.keyring,
            suite: b.suite,
            frame_len: b.frame_len,
            cache_limits: b.cache,
            limits: b.limits,
            policy: b.policy,
            edk_len_hint: AtomicUsize::new(0),
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
        Ok(EsdkEncryptor::new(EsdkBuilder {
            keyring: Arc::new(keyring?),
            suite: self.suite,
            frame_len: self.frame_len,
            cache: self.cache_limits,
            limits: self.limits,
            policy: self.policy,
        }))
    }

    /// Encrypts one value of a cell: its context (row included) becomes the message's encryption context.
    pub fn encrypt_cell(&self, context: &Context, plaintext: &[u8]) -> Result<Vec<u8>, EsdkError> {
        let (full, scope) = cell_serialized(context)?;
        if !self.keyring.wraps_locally() {
            // A key service binds the encrypted data key to the whole context, row included.
            return self.seal(full, full, plaintext);
        }
        self.seal(full, scope, plaintext)
    }

    /// Decrypts one value of a cell: the message's stored encryption context must be the cell's, exactly.
    pub fn decrypt_cell(
        &self,
        context: &Context,
        message: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EsdkError> {
        let (full, _) = cell_serialized(context).map_err(|_| EsdkError::Decrypt)?;
        let msg = message::parse(message, &self.limits)?;
        if msg.header.context == full {
            // The stored context is the cell's, byte for byte (so canonical): nothing is only authenticated, and
            // no map is built.
            let suite = decrypt::check_suite(&msg, self.policy)?;
            return self.with_data_key(suite, full, &msg, |key| {
                decrypt::decrypt_with_key(&msg, key, &[])
            });
        }
        // Another encoding of the same pairs, or a signed message (its stored context adds the verification key).
        let ec = cell_context(context).map_err(|_| EsdkError::Decrypt)?;
        let decrypted = self.decrypt_parsed(&msg, &ec)?;
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
        if let Some(k) = context.keys().find(|k| k.starts_with(RESERVED_PREFIX)) {
            return Err(EsdkError::ReservedKey { key: k.clone() });
        }
        let serialized = context::serialize(context)?;
        self.seal(&serialized, &serialized, plaintext)
    }

    /// Decrypts an ESDK message written by any ESDK (every suite the policy allows). `reproduced` is the context
    /// the caller expects; pairs not stored in the message are authenticated (the required encryption context).
    pub fn decrypt(
        &self,
        message: &[u8],
        reproduced: &EncryptionContext,
    ) -> Result<Decrypted, EsdkError> {
        let msg = message::parse(message, &self.limits)?;
        self.decrypt_parsed(&msg, reproduced)
    }

    fn decrypt_parsed(
        &self,
        msg: &Message<'_>,
        reproduced: &EncryptionContext,
    ) -> Result<Decrypted, EsdkError> {
        let m = decrypt::check_materials(msg, reproduced, self.policy)?;
        let plaintext = self.with_data_key(m.suite, &m.full, msg, |key| {
            decrypt::decrypt_with_key(msg, key, &m.only_authenticated)
        })?;
        Ok(Decrypted {
            plaintext,
            context: m.stored,
            suite_id: m.suite.id,
        })
    }

    /// Runs `f` with the data key of a message: unwrapped on the spot by a keyring that does so as cheaply as a
    /// lookup, else from the decryption cache or the keyring.
    fn with_data_key<R>(
        &self,
        suite: &'static Suite,
        context: &[u8],
        msg: &Message<'_>,
        f: impl FnOnce(&[u8]) -> Result<R, EsdkError>,
    ) -> Result<R, EsdkError> {
        let edks = &msg.header.edks;
        let unwrap = || {
            self.keyring
                .unwrap(suite, context, edks)?
                .ok_or(EsdkError::Decrypt)
        };
        if self.keyring.unwraps_cheaply() {
            return f(&unwrap()?);
        }
        f(&self
            .caches
            .decrypt
            .data_key(suite.id, context, edks, unwrap)?)
    }

    /// New materials for messages under the serialized `scope` (the whole context when the keyring does not wrap
    /// locally): a data key (from the keyring when it calls a key service, else random), the signing key of a signed
    /// suite and, from a key service, the encrypted data keys.
    fn new_materials(&self, scope: &[u8]) -> Result<Materials, EsdkError> {
        if let Some((k, _)) =
            context::pairs(scope).find(|(k, _)| k.starts_with(RESERVED_PREFIX.as_bytes()))
        {
            return Err(EsdkError::ReservedKey {
                key: String::from_utf8_lossy(k).into_owned(),
            });
        }
        let signing = match self.suite.signature {
            Some(_) => Some(signing_key()?),
            None => None,
        };
        let (data_key, edk_section) = if self.keyring.wraps_locally() {
            (Zeroizing::new(random::<32>()?.to_vec()), None)
        } else {
            let mut serialized = Vec::new();
            match &signing {
                Some((_, public)) => {
                    context::serialize_with(scope, PUBLIC_KEY_KEY, public, &mut serialized)?;
                }
                None => serialized.extend_from_slice(scope),
            }
            let (key, edks) = self.keyring.generate(self.suite, &serialized)?;
            let refs: Vec<_> = edks.iter().map(EncryptedDataKey::as_ref).collect();
            let mut section = Vec::new();
            message::write_edks(&mut section, &refs)?;
            (key, Some(section))
        };
        if data_key.len() != self.suite.key_len {
            return Err(EsdkError::Internal("data key length"));
        }
        Ok(Materials {
            data_key,
            signing,
            edk_section,
        })
    }

    /// Writes one message under the serialized context `full`, with the cached data key of the serialized `scope`.
    fn seal(&self, full: &[u8], scope: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EsdkError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(EsdkError::TooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_LEN,
            });
        }
        let entry = self
            .caches
            .encrypt
            .reserve(scope, plaintext.len(), || self.new_materials(scope))?;
        let materials = &entry.materials;
        // One call to the generator for the message ID and the IV of a locally wrapped data key.
        let fresh = random::<{ 32 + IV_LEN }>()?;
        let (message_id, iv) = fresh.split_at(32);
        let mut wrap_iv = [0u8; IV_LEN];
        wrap_iv.copy_from_slice(iv);
        let key = MessageKey::derive(self.suite, materials.data_key.as_slice(), message_id)?;
        let commit = key.commit_key().ok_or(EsdkError::Internal("commit key"))?;

        let frame = self.frame_len as usize;
        let frames = plaintext.len() / frame + 1;
        let public_pair = materials
            .signing
            .as_ref()
            .map_or(0, |(_, p)| 4 + PUBLIC_KEY_KEY.len() + p.len());
        let edk_len = match &materials.edk_section {
            Some(section) => section.len(),
            None => self.edk_len_hint.load(Ordering::Relaxed),
        };
        let mut out = Vec::with_capacity(
            HEADER_FIXED_LEN
                + full.len()
                + public_pair
                + edk_len
                + plaintext.len()
                + frames * FRAME_OVERHEAD
                + if materials.signing.is_some() {
                    SIGNATURE_MAX_LEN
                } else {
                    0
                },
        );
        let stored;
        let stored_context = match &materials.signing {
            Some((_, public)) => {
                let mut with_key = Vec::with_capacity(full.len() + public_pair + 2);
                context::serialize_with(full, PUBLIC_KEY_KEY, public, &mut with_key)?;
                stored = with_key;
                &stored[..]
            }
            None => full,
        };
        message::write_v2_header_start(&mut out, self.suite, message_id, stored_context)?;
        match &materials.edk_section {
            Some(section) => out.extend_from_slice(section),
            None => {
                let at = out.len();
                self.keyring.wrap_into(
                    self.suite,
                    stored_context,
                    materials.data_key.as_slice(),
                    wrap_iv,
                    &mut out,
                )?;
                self.edk_len_hint.store(out.len() - at, Ordering::Relaxed);
            }
        }
        message::write_v2_header_end(&mut out, self.frame_len, commit);
        let tag = key.tag([0; IV_LEN], &out)?;
        out.extend_from_slice(&tag);

        // Regular frames while more than one frame remains; the final frame holds the rest (possibly nothing).
        let mut seq: u32 = 1;
        let mut rest = plaintext;
        while rest.len() > frame {
            let (chunk, tail) = rest.split_at(frame);
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&suite::frame_iv(seq));
            let aad = BodyAad::new(message_id, BODY_AAD_FRAME, seq, chunk.len() as u64)?;
            key.seal_append(suite::frame_iv(seq), aad.as_bytes(), chunk, &mut out)?;
            seq = seq
                .checked_add(1)
                .ok_or(EsdkError::Internal("frame count"))?;
            rest = tail;
        }
        out.extend_from_slice(&FINAL_FRAME_MARK.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&suite::frame_iv(seq));
        out.extend_from_slice(&(rest.len() as u32).to_be_bytes());
        let aad = BodyAad::new(message_id, BODY_AAD_FINAL, seq, rest.len() as u64)?;
        key.seal_append(suite::frame_iv(seq), aad.as_bytes(), rest, &mut out)?;

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
        // The encrypted data key is wrapped per message, so the data key shows in what it decrypts to: count the
        // distinct data keys that the keyring unwraps.
        let limits = CacheLimits {
            max_messages: 2,
            ..CacheLimits::default()
        };
        let e = EsdkEncryptor::builder(keyring())
            .cache_limits(limits)
            .build()
            .unwrap();
        let data_key = |e: &EsdkEncryptor| {
            let msg = e.encrypt(&ec(&[("a", "b")]), b"x").unwrap();
            let parsed = message::parse(&msg, &Limits::default()).unwrap();
            keyring()
                .unwrap(e.suite, parsed.header.context, &parsed.header.edks)
                .unwrap()
                .unwrap()
                .to_vec()
        };
        let a = data_key(&e);
        assert_eq!(data_key(&e), a);
        assert_ne!(data_key(&e), a);
        let aged = EsdkEncryptor::builder(keyring())
            .cache_limits(CacheLimits {
                max_age: Duration::from_millis(1),
                ..CacheLimits::default()
            })
            .build()
            .unwrap();
        let b = data_key(&aged);
        std::thread::sleep(Duration::from_millis(3));
        assert_ne!(data_key(&aged), b);
    }

    #[test]
    fn cell_encodings_are_the_esdk_serialization() {
        let contexts = [
            Context::new("users", "ssn").unwrap(),
            Context::new("users", "ssn")
                .unwrap()
                .with_row("42")
                .unwrap(),
            Context::new("t", "c")
                .unwrap()
                .with("aaa", "first")
                .unwrap()
                .with("atrest", "between")
                .unwrap()
                .with("b", "")
                .unwrap()
                .with("zzz", "last")
                .unwrap()
                .with_row("row 7")
                .unwrap(),
        ];
        for ctx in contexts {
            let full = cell_context(&ctx).unwrap();
            let mut scope = full.clone();
            scope.remove(ROW_KEY);
            let (encoded, encoded_scope) = cell_serialized(&ctx).unwrap();
            assert_eq!(encoded, context::serialize(&full).unwrap(), "{ctx:?}");
            assert_eq!(
                encoded_scope,
                context::serialize(&scope).unwrap(),
                "{ctx:?}"
            );
        }
        let bytes = Context::new("t", "c")
            .unwrap()
            .with_row_bytes(vec![0xff])
            .unwrap();
        assert_eq!(cell_serialized(&bytes).unwrap_err(), EsdkError::RowNotText);
    }

    #[test]
    fn one_scope_key_still_binds_each_cells_context() {
        let e = EsdkEncryptor::builder(keyring()).build().unwrap();
        let a = Context::new("users", "ssn").unwrap().with_row("1").unwrap();
        let b = Context::new("users", "ssn").unwrap().with_row("2").unwrap();
        let other_column = Context::new("users", "dob").unwrap().with_row("1").unwrap();
        let tenant = Context::new("users", "ssn")
            .unwrap()
            .with("tenant", "x")
            .unwrap()
            .with_row("1")
            .unwrap();
        let ma = e.encrypt_cell(&a, b"va").unwrap();
        let mb = e.encrypt_cell(&b, b"vb").unwrap();
        assert_eq!(&*e.decrypt_cell(&a, &ma).unwrap(), b"va");
        assert_eq!(&*e.decrypt_cell(&b, &mb).unwrap(), b"vb");
        for wrong in [&b, &other_column, &tenant] {
            assert_eq!(e.decrypt_cell(wrong, &ma).unwrap_err(), EsdkError::Decrypt);
        }
        // The fast path's messages are the general path's: both decrypt each other's.
        let map = cell_context(&a).unwrap();
        assert_eq!(&*e.decrypt(&ma, &map).unwrap().plaintext, b"va");
        let general = e.encrypt(&map, b"vg").unwrap();
        assert_eq!(&*e.decrypt_cell(&a, &general).unwrap(), b"vg");
        assert_eq!(
            e.decrypt_cell(&b, &general).unwrap_err(),
            EsdkError::Decrypt
        );
        // A free key the ESDK reserves is refused on the cell path too.
        let reserved = Context::new("users", "ssn")
            .unwrap()
            .with("aws-crypto-x", "1")
            .unwrap();
        assert!(matches!(
            e.encrypt_cell(&reserved, b"v"),
            Err(EsdkError::ReservedKey { .. })
        ));
    }

    /// A message under `ctx` written by hand (the writer refuses some contexts that a forger need not).
    fn forge(e: &EsdkEncryptor, ctx: &Context) -> Vec<u8> {
        let (full, _) = cell_serialized(ctx).unwrap();
        let data_key = [9u8; 32];
        let id = [1u8; 32];
        let key = MessageKey::derive(e.suite, &data_key, &id).unwrap();
        let mut msg = Vec::new();
        message::write_v2_header_start(&mut msg, e.suite, &id, full).unwrap();
        keyring()
            .wrap_into(e.suite, full, &data_key, [2; IV_LEN], &mut msg)
            .unwrap();
        message::write_v2_header_end(&mut msg, 4096, key.commit_key().unwrap());
        let tag = key.tag([0; IV_LEN], &msg).unwrap();
        msg.extend_from_slice(&tag);
        msg.extend_from_slice(&FINAL_FRAME_MARK.to_be_bytes());
        msg.extend_from_slice(&1u32.to_be_bytes());
        msg.extend_from_slice(&suite::frame_iv(1));
        msg.extend_from_slice(&1u32.to_be_bytes());
        let aad = BodyAad::new(&id, BODY_AAD_FINAL, 1, 1).unwrap();
        key.seal_append(suite::frame_iv(1), aad.as_bytes(), b"v", &mut msg)
            .unwrap();
        msg
    }

    #[test]
    fn unsigned_message_with_a_verification_key_is_refused_on_the_cell_path() {
        let e = EsdkEncryptor::builder(keyring()).build().unwrap();
        let cell = |name: &str| {
            Context::new("t", "c")
                .unwrap()
                .with(name, "x")
                .unwrap()
                .with_row("1")
                .unwrap()
        };
        let ordinary = cell("aws-crypto-publi");
        assert_eq!(
            &*e.decrypt_cell(&ordinary, &forge(&e, &ordinary)).unwrap(),
            b"v"
        );
        let verification_key = cell(PUBLIC_KEY_KEY);
        assert!(e.encrypt_cell(&verification_key, b"v").is_err());
        assert_eq!(
            e.decrypt_cell(&verification_key, &forge(&e, &verification_key))
                .unwrap_err(),
            EsdkError::Decrypt
        );
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
