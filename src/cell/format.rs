//! Encoding and strict decoding of cell ciphertexts, as specified in docs/format.md. Decoding fails, with the one
//! opaque [`CellError::Decrypt`], on an unknown version, suite or form, a bad length, or missing bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::CellError;
use super::keys::ProviderKind;
use super::suite::{COMMITMENT_LEN, KEY_REF_LEN, NONCE_LEN, SUITE_ID, TAG_LEN};

pub const VERSION: u8 = 0x01;
pub const FORM_SELF_CONTAINED: u8 = 0x01;
pub const FORM_COMPACT: u8 = 0x02;

/// Largest plaintext of one cell (64 MiB).
pub const MAX_PLAINTEXT_LEN: usize = 1 << 26;
/// Largest wrapped data key the self-contained form carries.
pub const MAX_WRAPPED_LEN: usize = 1024;
/// Bytes the compact form adds to the plaintext: 3 header bytes, key reference, nonce, tag.
pub const COMPACT_OVERHEAD: usize = 3 + KEY_REF_LEN + NONCE_LEN + TAG_LEN;

/// How a ciphertext names its data key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyBinding<'a> {
    /// The wrapped data key travels with the value.
    SelfContained {
        provider: ProviderKind,
        wrapped: &'a [u8],
        commitment: &'a [u8; COMMITMENT_LEN],
    },
    /// A reference into a keyring.
    Compact { key_ref: &'a [u8; KEY_REF_LEN] },
}

/// A decoded ciphertext, borrowing from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Everything before the nonce; it starts the associated data.
    pub header: &'a [u8],
    pub binding: KeyBinding<'a>,
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the 16-byte tag.
    pub body: &'a [u8],
}

impl Decoded<'_> {
    /// The key reference: the compact form's field, or the first 16 bytes of the self-contained commitment.
    pub fn key_ref(&self) -> [u8; KEY_REF_LEN] {
        let mut r = [0u8; KEY_REF_LEN];
        match self.binding {
            KeyBinding::SelfContained { commitment, .. } => {
                r.copy_from_slice(&commitment[..KEY_REF_LEN])
            }
            KeyBinding::Compact { key_ref } => r = *key_ref,
        }
        r
    }

    pub fn plaintext_len(&self) -> usize {
        self.body.len().saturating_sub(TAG_LEN)
    }
}

/// A cursor that never reads past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CellError> {
        if self.0.len() < n {
            return Err(CellError::Decrypt);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, CellError> {
        self.take(1).map(|b| b.first().copied().unwrap_or(0))
    }

    fn array<const N: usize>(&mut self) -> Result<&'a [u8; N], CellError> {
        self.take(N)
            .and_then(|s| s.try_into().map_err(|_| CellError::Decrypt))
    }
}

/// Decodes a binary ciphertext. The body runs to the end of the input, so there are no trailing bytes to accept.
///
/// A well-formed compact value, the common one, is read at fixed offsets ([`compact`]); everything else goes
/// through [`decode_generic`], which rejects what `compact` did not take. Both accept and reject the same inputs (a
/// property test and the `decode` fuzz target check it).
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, CellError> {
    match compact(bytes) {
        Some(compact) => Ok(compact.decoded()),
        None => decode_generic(bytes),
    }
}

/// Bytes of the compact header: version, suite, form, key reference.
pub const COMPACT_HEADER_LEN: usize = 3 + KEY_REF_LEN;

/// A compact ciphertext's fields, borrowing from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compact<'a> {
    /// Everything before the nonce; it starts the associated data.
    pub header: &'a [u8; COMPACT_HEADER_LEN],
    pub nonce: &'a [u8; NONCE_LEN],
    /// Ciphertext followed by the 16-byte tag.
    pub body: &'a [u8],
}

impl<'a> Compact<'a> {
    pub fn key_ref(&self) -> &'a [u8; KEY_REF_LEN] {
        let [_, _, _, key_ref @ ..] = self.header;
        key_ref
    }

    fn decoded(self) -> Decoded<'a> {
        Decoded {
            header: self.header,
            binding: KeyBinding::Compact {
                key_ref: self.key_ref(),
            },
            nonce: *self.nonce,
            body: self.body,
        }
    }
}

/// A well-formed compact ciphertext at fixed offsets, or `None` for anything else (which [`decode`] then decides):
/// the per-cell path's check, with no error to build or drop.
#[inline]
pub fn compact(bytes: &[u8]) -> Option<Compact<'_>> {
    // One range check for the whole length; the splits below then cannot fail.
    if !(COMPACT_OVERHEAD..=COMPACT_OVERHEAD + MAX_PLAINTEXT_LEN).contains(&bytes.len()) {
        return None;
    }
    let (header, rest) = bytes.split_first_chunk::<COMPACT_HEADER_LEN>()?;
    let (nonce, body) = rest.split_first_chunk::<NONCE_LEN>()?;
    if !header.starts_with(&[VERSION, SUITE_ID, FORM_COMPACT]) {
        return None;
    }
    Some(Compact {
        header,
        nonce,
        body,
    })
}

/// Decodes field by field, both forms: the reference [`decode`] is checked against.
pub fn decode_generic(bytes: &[u8]) -> Result<Decoded<'_>, CellError> {
    let mut r = Reader(bytes);
    if r.byte()? != VERSION || r.byte()? != SUITE_ID {
        return Err(CellError::Decrypt);
    }
    let binding = match r.byte()? {
        FORM_SELF_CONTAINED => {
            let provider = ProviderKind::from_tag(r.byte()?).ok_or(CellError::Decrypt)?;
            let len = u16::from_be_bytes(*r.array::<2>()?) as usize;
            if len == 0 || len > MAX_WRAPPED_LEN {
                return Err(CellError::Decrypt);
            }
            let wrapped = r.take(len)?;
            let commitment = r.array::<COMMITMENT_LEN>()?;
            KeyBinding::SelfContained {
                provider,
                wrapped,
                commitment,
            }
        }
        FORM_COMPACT => KeyBinding::Compact {
            key_ref: r.array::<KEY_REF_LEN>()?,
        },
        _ => return Err(CellError::Decrypt),
    };
    let header = bytes
        .get(..bytes.len() - r.0.len())
        .ok_or(CellError::Decrypt)?;
    let nonce = *r.array::<NONCE_LEN>()?;
    let body = r.0;
    if body.len() < TAG_LEN || body.len() - TAG_LEN > MAX_PLAINTEXT_LEN {
        return Err(CellError::Decrypt);
    }
    Ok(Decoded {
        header,
        binding,
        nonce,
        body,
    })
}

/// Writes the header (everything before the nonce) of a self-contained ciphertext.
pub fn write_self_contained_header(
    out: &mut Vec<u8>,
    provider: ProviderKind,
    wrapped: &[u8],
    commitment: &[u8; COMMITMENT_LEN],
) -> Result<(), CellError> {
    let len = u16::try_from(wrapped.len())
        .ok()
        .filter(|&n| n > 0 && usize::from(n) <= MAX_WRAPPED_LEN)
        .ok_or(CellError::Format {
            wrapped_len: wrapped.len(),
            max: MAX_WRAPPED_LEN,
        })?;
    out.extend_from_slice(&[VERSION, SUITE_ID, FORM_SELF_CONTAINED, provider.tag()]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(wrapped);
    out.extend_from_slice(commitment);
    Ok(())
}

/// Bytes of a self-contained header besides its wrapped key: version, suite, form, provider, length, commitment.
pub const SELF_CONTAINED_FIXED_LEN: usize = 6 + COMMITMENT_LEN;

/// Writes the header of a compact ciphertext.
pub fn write_compact_header(out: &mut Vec<u8>, key_ref: &[u8; KEY_REF_LEN]) {
    out.extend_from_slice(&[VERSION, SUITE_ID, FORM_COMPACT]);
    out.extend_from_slice(key_ref);
}

/// The text form: standard base64 with padding.
pub fn to_text(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Parses the text form strictly (standard alphabet, padding required, no whitespace, canonical trailing bits).
pub fn from_text(text: &str) -> Result<Vec<u8>, CellError> {
    STANDARD.decode(text).map_err(|_| CellError::Decrypt)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Inputs that reach every branch: arbitrary bytes behind a prefix of a valid header of either form.
    fn candidates() -> impl Strategy<Value = Vec<u8>> {
        let prefix = prop_oneof![
            Just(vec![]),
            Just(vec![VERSION]),
            Just(vec![VERSION, SUITE_ID]),
            Just(vec![VERSION, SUITE_ID, FORM_COMPACT]),
            Just(vec![VERSION, SUITE_ID, FORM_SELF_CONTAINED]),
            Just(vec![VERSION, SUITE_ID, FORM_SELF_CONTAINED, 1, 0, 4]),
        ];
        (prefix, proptest::collection::vec(any::<u8>(), 0..120)).prop_map(|(mut p, tail)| {
            p.extend_from_slice(&tail);
            p
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        #[test]
        fn the_fast_and_generic_decoders_agree(bytes in candidates()) {
            let fast = decode(&bytes);
            prop_assert_eq!(fast, decode_generic(&bytes));
            if let Some(compact) = compact(&bytes) {
                prop_assert_eq!(Ok(compact.decoded()), decode_generic(&bytes));
            }
        }
    }

    #[test]
    fn the_fast_decoder_takes_exactly_the_compact_prefix() {
        let mut cell = vec![VERSION, SUITE_ID, FORM_COMPACT];
        cell.extend_from_slice(&[9; KEY_REF_LEN + NONCE_LEN + TAG_LEN]);
        assert!(compact(&cell).is_some());
        for short in [
            cell.len() - 1,
            COMPACT_HEADER_LEN + NONCE_LEN,
            COMPACT_HEADER_LEN,
            COMPACT_HEADER_LEN - 1,
        ] {
            assert!(compact(&cell[..short]).is_none(), "{short} bytes");
            assert!(decode(&cell[..short]).is_err(), "{short} bytes");
        }
        let mut oversized = cell.clone();
        oversized.resize(
            COMPACT_HEADER_LEN + NONCE_LEN + MAX_PLAINTEXT_LEN + TAG_LEN + 1,
            0,
        );
        assert!(compact(&oversized).is_none());
        assert!(decode(&oversized).is_err());
        for at in 0..3 {
            let mut other = cell.clone();
            other[at] ^= 0x80;
            assert!(compact(&other).is_none());
            assert!(decode(&other).is_err());
        }
        let decoded = decode(&cell).unwrap();
        assert_eq!(decoded.header.len(), COMPACT_HEADER_LEN);
        assert_eq!(decoded.body.len(), TAG_LEN);
        assert_eq!(decoded.key_ref(), [9; KEY_REF_LEN]);
    }
}
