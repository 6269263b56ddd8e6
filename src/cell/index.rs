//! Blind indexes for equality search: `HMAC-SHA256(column key, value)` truncated to a chosen length, where the
//! column key is derived from a long-lived index root key and the column's scope. The root key never changes with
//! data keys (rotation, cache refreshes), so the same value always gets the same index and `WHERE ssn_idx = ?`
//! keeps working. What an index reveals is listed in docs/cell.md ("Blind index: what it leaks").

use ring::hmac;
use zeroize::Zeroizing;

use super::context::Context;
use super::error::CellError;
use super::suite::hkdf_expand;

const HKDF_SALT: &[u8] = b"atrest-blind-index-v1";
pub const INDEX_ROOT_LEN: usize = 32;
/// Index lengths allowed, in bytes.
pub const MIN_INDEX_LEN: usize = 1;
pub const MAX_INDEX_LEN: usize = 32;
/// The default length: 16 bytes, so that distinct values practically never share an index.
pub const DEFAULT_INDEX_LEN: usize = 16;

/// The root of a family of blind indexes. Zeroized on drop (clones too); `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct IndexKey(Zeroizing<[u8; INDEX_ROOT_LEN]>);

impl IndexKey {
    pub fn from_bytes(bytes: [u8; INDEX_ROOT_LEN]) -> Self {
        IndexKey(Zeroizing::new(bytes))
    }

    /// Copies a data key into a new root, with no copy outside zeroized memory.
    pub(crate) fn from_data_key(key: &super::keys::DataKey) -> Self {
        let mut root = Zeroizing::new([0u8; INDEX_ROOT_LEN]);
        root.copy_from_slice(key.expose());
        IndexKey(root)
    }

    /// Takes a root already in zeroized memory.
    pub(crate) fn from_zeroizing(root: Zeroizing<[u8; INDEX_ROOT_LEN]>) -> Self {
        IndexKey(root)
    }

    pub(crate) fn expose(&self) -> &[u8; INDEX_ROOT_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexKey([redacted])")
    }
}

/// The blind index of one column (the scope of a context: table, column and free values; the row is ignored).
pub struct BlindIndex {
    key: hmac::Key,
    len: usize,
}

impl std::fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindIndex")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl BlindIndex {
    pub fn new(root: &IndexKey, context: &Context, len: usize) -> Result<Self, CellError> {
        Self::check_len(len)?;
        let mut info = Vec::with_capacity(64);
        context.encode_scope_into(&mut info);
        let mut column_key = Zeroizing::new([0u8; 32]);
        hkdf_expand(HKDF_SALT, root.expose(), &[&info], &mut column_key[..])?;
        Ok(BlindIndex {
            key: hmac::Key::new(hmac::HMAC_SHA256, &column_key[..]),
            len,
        })
    }

    /// Checks an index length (in bytes) before anything is computed or stored.
    pub fn check_len(len: usize) -> Result<usize, CellError> {
        if (MIN_INDEX_LEN..=MAX_INDEX_LEN).contains(&len) {
            Ok(len)
        } else {
            Err(CellError::IndexLength {
                len,
                min: MIN_INDEX_LEN,
                max: MAX_INDEX_LEN,
            })
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The index of a value (exact bytes: normalise values first if `A` and `a` must match).
    pub fn compute(&self, value: &[u8]) -> Vec<u8> {
        let tag = hmac::sign(&self.key, value);
        tag.as_ref().iter().take(self.len).copied().collect()
    }

    /// The index as lowercase hex, the text form used by the command line.
    pub fn compute_hex(&self, value: &[u8]) -> String {
        hex::encode(self.compute(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_column_and_truncated() {
        let root = IndexKey::from_bytes([7; 32]);
        let ssn = Context::new("users", "ssn").unwrap();
        let a = BlindIndex::new(&root, &ssn.clone().with_row("1").unwrap(), 8).unwrap();
        let b = BlindIndex::new(&root, &ssn.with_row("2").unwrap(), 8).unwrap();
        assert_eq!(a.compute(b"123"), b.compute(b"123"));
        assert_eq!(a.compute(b"123").len(), 8);
        assert_ne!(a.compute(b"123"), a.compute(b"124"));
        let other = BlindIndex::new(&root, &Context::new("users", "phone").unwrap(), 8).unwrap();
        assert_ne!(a.compute(b"123"), other.compute(b"123"));
        assert!(BlindIndex::new(&root, &Context::new("t", "c").unwrap(), 0).is_err());
        assert!(BlindIndex::new(&root, &Context::new("t", "c").unwrap(), 33).is_err());
    }
}
