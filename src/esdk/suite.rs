//! The eleven algorithm suites of the ESDK message format (specification: `framework/algorithm-suites.md`) and their
//! key derivations.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::constant_time;
// ring's HKDF: its SHA-512 uses the CPU's vector units where aws-lc's portable code was measured at twice the cost.
use ring::hkdf;
use zeroize::Zeroizing;

use super::error::EsdkError;

/// Every suite uses a 96-bit IV and a 128-bit tag.
pub const IV_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
/// The commit key of the committing suites (the header's algorithm suite data).
pub const COMMIT_KEY_LEN: usize = 32;

/// How the encryption key is derived from the data key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kdf {
    /// The data key is the encryption key.
    Identity,
    /// HKDF-SHA256, zero salt, info = suite id || message id.
    HkdfSha256,
    /// HKDF-SHA384, zero salt, info = suite id || message id.
    HkdfSha384,
    /// HKDF-SHA512, salt = message id, info = suite id || `DERIVEKEY`; commit key with info `COMMITKEY`.
    HkdfSha512Commit,
}

/// The signature of a signed suite (the footer), its verification key in the encryption context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature {
    EcdsaP256Sha256,
    EcdsaP384Sha384,
}

/// One algorithm suite.
#[derive(Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    /// AES key length in bytes: 16, 24 or 32; also the data key length.
    pub key_len: usize,
    pub kdf: Kdf,
    pub signature: Option<Signature>,
}

impl Suite {
    /// The message format version the suite is written in: 2 for the committing suites, else 1.
    pub fn message_version(&self) -> u8 {
        if self.is_committing() { 2 } else { 1 }
    }

    pub fn is_committing(&self) -> bool {
        self.kdf == Kdf::HkdfSha512Commit
    }

    /// The message ID length: 32 bytes in version 2, 16 in version 1.
    pub fn message_id_len(&self) -> usize {
        if self.is_committing() { 32 } else { 16 }
    }

    fn aead(&self) -> &'static aead::Algorithm {
        match self.key_len {
            16 => &aead::AES_128_GCM,
            24 => &aead::AES_192_GCM,
            _ => &aead::AES_256_GCM,
        }
    }
}

const fn suite(id: u16, key_len: usize, kdf: Kdf, signature: Option<Signature>) -> Suite {
    Suite {
        id,
        key_len,
        kdf,
        signature,
    }
}

/// Every suite the ESDK defines, in the specification's order.
pub static SUITES: [Suite; 11] = [
    suite(
        0x0578,
        32,
        Kdf::HkdfSha512Commit,
        Some(Signature::EcdsaP384Sha384),
    ),
    suite(0x0478, 32, Kdf::HkdfSha512Commit, None),
    suite(
        0x0378,
        32,
        Kdf::HkdfSha384,
        Some(Signature::EcdsaP384Sha384),
    ),
    suite(
        0x0346,
        24,
        Kdf::HkdfSha384,
        Some(Signature::EcdsaP384Sha384),
    ),
    suite(
        0x0214,
        16,
        Kdf::HkdfSha256,
        Some(Signature::EcdsaP256Sha256),
    ),
    suite(0x0178, 32, Kdf::HkdfSha256, None),
    suite(0x0146, 24, Kdf::HkdfSha256, None),
    suite(0x0114, 16, Kdf::HkdfSha256, None),
    suite(0x0078, 32, Kdf::Identity, None),
    suite(0x0046, 24, Kdf::Identity, None),
    suite(0x0014, 16, Kdf::Identity, None),
];

/// The suite with this id.
pub fn by_id(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// `ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY`, the committing suite without a signature.
pub fn committing() -> &'static Suite {
    // SUITES[1]; looked up so no index is needed.
    by_id(0x0478).unwrap_or(&COMMITTING)
}

/// `ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384`, the committing suite with a signature.
pub fn committing_signed() -> &'static Suite {
    by_id(0x0578).unwrap_or(&COMMITTING_SIGNED)
}

static COMMITTING: Suite = suite(0x0478, 32, Kdf::HkdfSha512Commit, None);
static COMMITTING_SIGNED: Suite = suite(
    0x0578,
    32,
    Kdf::HkdfSha512Commit,
    Some(Signature::EcdsaP384Sha384),
);

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) -> Result<(), EsdkError> {
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| EsdkError::Internal("hkdf"))
}

/// The message's encryption key (an AES-GCM key) and, for the committing suites, its commit key.
pub struct MessageKey {
    key: LessSafeKey,
    commit: Option<Zeroizing<[u8; COMMIT_KEY_LEN]>>,
}

impl MessageKey {
    /// Derives the keys of one message from its data key and message ID.
    pub fn derive(suite: &Suite, data_key: &[u8], message_id: &[u8]) -> Result<Self, EsdkError> {
        if data_key.len() != suite.key_len || message_id.len() != suite.message_id_len() {
            return Err(EsdkError::Decrypt);
        }
        let id = suite.id.to_be_bytes();
        let mut enc = Zeroizing::new([0u8; 32]);
        let Some(enc) = enc.get_mut(..suite.key_len) else {
            return Err(EsdkError::Decrypt);
        };
        let mut commit = None;
        match suite.kdf {
            Kdf::Identity => enc.copy_from_slice(data_key),
            Kdf::HkdfSha256 | Kdf::HkdfSha384 => {
                let alg = if suite.kdf == Kdf::HkdfSha256 {
                    hkdf::HKDF_SHA256
                } else {
                    hkdf::HKDF_SHA384
                };
                // An empty HMAC key is the same as the specification's zero salt of the hash length.
                let prk = hkdf::Salt::new(alg, &[]).extract(data_key);
                expand(&prk, &[&id, message_id], enc)?;
            }
            Kdf::HkdfSha512Commit => {
                let prk = hkdf::Salt::new(hkdf::HKDF_SHA512, message_id).extract(data_key);
                expand(&prk, &[&id, b"DERIVEKEY"], enc)?;
                let mut c = Zeroizing::new([0u8; COMMIT_KEY_LEN]);
                expand(&prk, &[b"COMMITKEY"], c.as_mut_slice())?;
                commit = Some(c);
            }
        }
        let key = UnboundKey::new(suite.aead(), enc).map_err(|_| EsdkError::Internal("aes key"))?;
        Ok(MessageKey {
            key: LessSafeKey::new(key),
            commit,
        })
    }

    /// The commit key to store in a version 2 header.
    pub fn commit_key(&self) -> Option<&[u8; COMMIT_KEY_LEN]> {
        self.commit.as_deref()
    }

    /// True when the stored commit key is this key's (constant time); true for the non-committing suites.
    pub fn commits_to(&self, stored: &[u8]) -> bool {
        match &self.commit {
            Some(c) => constant_time::verify_slices_are_equal(c.as_slice(), stored).is_ok(),
            None => stored.is_empty(),
        }
    }

    /// Decrypts `ciphertext` || `tag` appended to `out`; on failure `out` is restored to its old length.
    pub fn open_append(
        &self,
        iv: [u8; IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EsdkError> {
        let start = out.len();
        out.extend_from_slice(ciphertext);
        out.extend_from_slice(tag);
        let opened = match out.get_mut(start..) {
            Some(buf) => self
                .key
                .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(aad), buf)
                .map(|p| p.len())
                .ok(),
            None => None,
        };
        match opened {
            Some(len) => {
                out.truncate(start + len);
                Ok(())
            }
            None => {
                if let Some(rest) = out.get_mut(start..) {
                    zeroize::Zeroize::zeroize(rest);
                }
                out.truncate(start);
                Err(EsdkError::Decrypt)
            }
        }
    }

    /// The tag of `aad` alone (the header authentication of version 2).
    pub fn tag(&self, iv: [u8; IV_LEN], aad: &[u8]) -> Result<[u8; TAG_LEN], EsdkError> {
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), &mut [])
            .map_err(|_| EsdkError::Internal("seal"))?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Checks the tag of `aad` alone (the header authentication).
    pub fn verify_tag(&self, iv: [u8; IV_LEN], aad: &[u8], tag: &[u8]) -> Result<(), EsdkError> {
        let mut buf = [0u8; TAG_LEN];
        if tag.len() != TAG_LEN {
            return Err(EsdkError::Decrypt);
        }
        buf.copy_from_slice(tag);
        self.key
            .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(aad), &mut buf)
            .map(|_| ())
            .map_err(|_| EsdkError::Decrypt)
    }

    /// Encrypts `plaintext` appended to `out` and appends the tag.
    pub fn seal_append(
        &self,
        iv: [u8; IV_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EsdkError> {
        seal_append(&self.key, iv, aad, plaintext, out)
    }
}

/// AES-GCM: encrypts `plaintext` appended to `out` (in place, no intermediate buffer) and appends the tag.
pub fn seal_append(
    key: &LessSafeKey,
    iv: [u8; IV_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EsdkError> {
    let start = out.len();
    out.extend_from_slice(plaintext);
    let buf = out
        .get_mut(start..)
        .ok_or(EsdkError::Internal("seal buffer"))?;
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), buf)
        .map_err(|_| EsdkError::Internal("seal"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

/// The IV of frame `seq`: the sequence number, left padded with zeros.
pub fn frame_iv(seq: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    for (d, s) in iv.iter_mut().skip(IV_LEN - 4).zip(seq.to_be_bytes()) {
        *d = s;
    }
    iv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_versions_match() {
        assert_eq!(SUITES.len(), 11);
        for s in &SUITES {
            assert_eq!(by_id(s.id), Some(s));
            assert_eq!(s.message_version() == 2, s.id >> 8 >= 4);
        }
        assert_eq!(committing().id, 0x0478);
        assert_eq!(committing_signed().id, 0x0578);
        assert_eq!(frame_iv(0x01020304), [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn commitment_depends_on_key_and_message_id() {
        let s = committing();
        let a = MessageKey::derive(s, &[1; 32], &[2; 32]).unwrap();
        let b = MessageKey::derive(s, &[1; 32], &[3; 32]).unwrap();
        let c = MessageKey::derive(s, &[4; 32], &[2; 32]).unwrap();
        let ca = *a.commit_key().unwrap();
        assert!(a.commits_to(&ca));
        assert!(!b.commits_to(&ca));
        assert!(!c.commits_to(&ca));
        assert!(MessageKey::derive(s, &[1; 16], &[2; 32]).is_err());
    }
}
