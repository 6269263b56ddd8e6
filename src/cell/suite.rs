//! The one algorithm suite of format version 1: AES-256-GCM with a cell key and a key commitment both derived from
//! the data key with HKDF-SHA256 (docs/format.md, "Key derivation and commitment"). Derivation happens once per data
//! key, when it enters the cache, so the per-cell path is one AEAD call.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use zeroize::Zeroizing;

use super::error::CellError;
use super::keys::{DataKey, ProviderKind, ct_eq};

/// Suite id 0x01: AES-256-GCM, HKDF-SHA256 key derivation, 256-bit key commitment.
pub const SUITE_ID: u8 = 0x01;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
pub const COMMITMENT_LEN: usize = 32;
/// The compact form's key reference: the first 16 bytes of the commitment.
pub const KEY_REF_LEN: usize = 16;

const HKDF_SALT: &[u8] = b"atrest-cell-v1";
const DERIVE_LABEL: &[u8] = b"DERIVEKEY";
const COMMIT_LABEL: &[u8] = b"COMMITKEY";

/// A data key ready for use: the AES key schedule of its derived cell key, its commitment, and (for the
/// self-contained form and the keyring) its wrapped form.
pub struct CellKey {
    aead: LessSafeKey,
    commitment: [u8; COMMITMENT_LEN],
    provider: ProviderKind,
    wrapped: Vec<u8>,
}

impl std::fmt::Debug for CellKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CellKey([redacted])")
    }
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 with the suite's salt: `Expand(Extract(salt, ikm), info, len)`.
pub(crate) fn hkdf_expand(
    salt: &[u8],
    ikm: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Result<(), CellError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| CellError::Internal("hkdf output length"))
}

/// The commitment of a data key, without building the AEAD key (used by rotation and the keyring checks).
pub fn commitment_of(key: &DataKey) -> Result<[u8; COMMITMENT_LEN], CellError> {
    let mut commitment = [0u8; COMMITMENT_LEN];
    hkdf_expand(
        HKDF_SALT,
        key.expose(),
        &[&[SUITE_ID], COMMIT_LABEL],
        &mut commitment,
    )?;
    Ok(commitment)
}

impl CellKey {
    pub fn derive(
        key: &DataKey,
        provider: ProviderKind,
        wrapped: Vec<u8>,
    ) -> Result<Self, CellError> {
        let mut cell_key = Zeroizing::new([0u8; 32]);
        hkdf_expand(
            HKDF_SALT,
            key.expose(),
            &[&[SUITE_ID], DERIVE_LABEL],
            &mut cell_key[..],
        )?;
        let commitment = commitment_of(key)?;
        let unbound = UnboundKey::new(&aead::AES_256_GCM, &cell_key[..])
            .map_err(|_| CellError::Internal("aes key length"))?;
        Ok(CellKey {
            aead: LessSafeKey::new(unbound),
            commitment,
            provider,
            wrapped,
        })
    }

    pub fn commitment(&self) -> &[u8; COMMITMENT_LEN] {
        &self.commitment
    }

    pub fn key_ref(&self) -> [u8; KEY_REF_LEN] {
        let mut r = [0u8; KEY_REF_LEN];
        r.copy_from_slice(&self.commitment[..KEY_REF_LEN]);
        r
    }

    /// Constant-time check of a commitment read from a ciphertext or a keyring.
    pub fn commits_to(&self, commitment: &[u8]) -> bool {
        ct_eq(&self.commitment, commitment)
    }

    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    pub fn wrapped(&self) -> &[u8] {
        &self.wrapped
    }

    /// Encrypts `in_out[from..]` in place and appends the tag.
    pub fn seal_tail(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut Vec<u8>,
        from: usize,
    ) -> Result<(), CellError> {
        let body = in_out
            .get_mut(from..)
            .ok_or_else(|| CellError::Internal("seal offset"))?;
        let tag = self
            .aead
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
            .map_err(|_| CellError::Internal("aes-gcm input length"))?;
        in_out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Decrypts `ciphertext || tag` in place; returns the plaintext's length, or `None` if it does not authenticate.
    #[inline]
    pub fn open(&self, nonce: [u8; NONCE_LEN], aad: &[u8], in_out: &mut [u8]) -> Option<usize> {
        self.aead
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            .map(|plain| plain.len())
            .ok()
    }
}
