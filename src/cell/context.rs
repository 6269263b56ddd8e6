//! The encryption context: where a cell lives (table, column, row) plus free key/values, and its canonical encoding
//! (docs/format.md, "Context encoding"), which is bound into every cell as AEAD associated data.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::{CellError, ContextError};

/// Reserved context keys. Free keys must not start with `atrest:`.
pub const TABLE_KEY: &str = "atrest:table";
pub const COLUMN_KEY: &str = "atrest:column";
pub const ROW_KEY: &str = "atrest:row";
pub const RESERVED_PREFIX: &str = "atrest:";

/// Upper bound on one encoded context, in bytes (KMS accepts at most 8,192 characters of encryption context).
pub const MAX_CONTEXT_LEN: usize = 8192;

/// Where a cell lives. The table, column and free values choose the data key (its *scope*); the row is bound to
/// each cell only, so one data key serves every row of a column. Its canonical encodings are computed when it is
/// built, so encrypting many cells under one context does not encode it again.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Context {
    table: String,
    column: String,
    /// Bytes: a row set from text binds its UTF-8 bytes; a CSV row key binds its raw bytes, UTF-8 or not.
    row: Option<Vec<u8>>,
    extra: BTreeMap<String, String>,
    encoded: Vec<u8>,
    /// Shared by the clones of a context that differ only in their row, so the data-key cache can recognise a scope
    /// it holds by its address before comparing bytes.
    encoded_scope: Arc<[u8]>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("table", &self.table)
            .field("column", &self.column)
            .field("row", &self.row.as_deref().map(String::from_utf8_lossy))
            .field("extra", &self.extra)
            .finish()
    }
}

impl Context {
    /// A context for a column of a table. Both names must be non-empty.
    pub fn new(table: impl Into<String>, column: impl Into<String>) -> Result<Self, CellError> {
        let (table, column) = (table.into(), column.into());
        if table.is_empty() {
            return Err(ContextError::EmptyTable.into());
        }
        if column.is_empty() {
            return Err(ContextError::EmptyColumn.into());
        }
        let mut ctx = Context {
            table,
            column,
            row: None,
            extra: BTreeMap::new(),
            encoded: Vec::new(),
            encoded_scope: Arc::from([]),
        };
        ctx.check_len()?;
        Ok(ctx)
    }

    /// The same context bound to one row (its primary key, as text).
    pub fn with_row(self, row: impl Into<String>) -> Result<Self, CellError> {
        self.with_row_bytes(row.into().into_bytes())
    }

    /// The same context bound to a row given as bytes (a CSV field, say), which need not be UTF-8. Text binds
    /// exactly as with [`Context::with_row`]; bytes that are not UTF-8 bind as themselves, so two such rows never
    /// share a context (docs/format.md, "Context encoding").
    pub fn with_row_bytes(mut self, row: impl Into<Vec<u8>>) -> Result<Self, CellError> {
        self.row = Some(row.into());
        self.check_row_len()?;
        Ok(self)
    }

    /// Replaces the row in place (the batch paths reuse one context per column).
    pub fn set_row(&mut self, row: Option<&str>) -> Result<(), CellError> {
        Ok(self.set_row_bytes(row.map(str::as_bytes))?)
    }

    /// Replaces the row in place with bytes (see [`Context::with_row_bytes`]).
    pub fn set_row_bytes(&mut self, row: Option<&[u8]>) -> Result<(), ContextError> {
        let old = std::mem::replace(&mut self.row, row.map(<[u8]>::to_vec));
        self.check_row_len().inspect_err(|_| self.row = old)
    }

    /// Adds a free key/value (e.g. a tenant id). Free values are part of the data key's scope.
    pub fn with(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, CellError> {
        let key = key.into();
        if key.is_empty() || key.starts_with(RESERVED_PREFIX) {
            return Err(ContextError::ReservedKey { key }.into());
        }
        self.extra.insert(key, value.into());
        self.check_len()?;
        Ok(self)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn column(&self) -> &str {
        &self.column
    }

    /// The row as text; `None` when there is no row or the row is bytes that are not UTF-8 (see
    /// [`Context::row_bytes`]).
    pub fn row(&self) -> Option<&str> {
        self.row
            .as_deref()
            .and_then(|r| std::str::from_utf8(r).ok())
    }

    /// The row's bytes, as bound to the cell.
    pub fn row_bytes(&self) -> Option<&[u8]> {
        self.row.as_deref()
    }

    /// The key/values that choose the data key: everything but the row. Sorted by key; this map is what KMS sees
    /// as the encryption context.
    pub fn scope(&self) -> BTreeMap<String, String> {
        let mut map = self.extra.clone();
        map.insert(TABLE_KEY.to_owned(), self.table.clone());
        map.insert(COLUMN_KEY.to_owned(), self.column.clone());
        map
    }

    /// Appends the canonical encoding of the whole context (row included) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.encoded);
    }

    /// Appends the canonical encoding of the scope (the context without the row) to `out`.
    pub fn encode_scope_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.encoded_scope);
    }

    /// The canonical encoding of the whole context (row included).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The canonical encoding of the scope.
    pub fn encoded_scope(&self) -> &[u8] {
        &self.encoded_scope
    }

    /// The canonical encoding of the scope, shared with this context's clones.
    pub(crate) fn shared_scope(&self) -> &Arc<[u8]> {
        &self.encoded_scope
    }

    /// Canonical encoding: u16 count, then pairs sorted by key bytes, each `u16 len | key | u16 len | value`
    /// (big-endian). The reserved keys sort among the free ones like any other key.
    fn encode_pairs(&self, with_row: bool, out: &mut Vec<u8>) {
        let row = if with_row { self.row.as_deref() } else { None };
        let reserved = [
            (COLUMN_KEY, Some(self.column.as_bytes())),
            (ROW_KEY, row),
            (TABLE_KEY, Some(self.table.as_bytes())),
        ];
        let count = self.extra.len() + 2 + usize::from(row.is_some());
        put_u16(out, count);
        let mut reserved = reserved
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .peekable();
        let mut extra = self.extra.iter().peekable();
        // Merge two sorted sequences; keys never collide because free keys cannot use the reserved prefix.
        loop {
            let take_reserved = match (reserved.peek(), extra.peek()) {
                (Some((rk, _)), Some((ek, _))) => rk.as_bytes() < ek.as_bytes(),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (k, v) = if take_reserved {
                match reserved.next() {
                    Some(pair) => pair,
                    None => break,
                }
            } else {
                match extra.next() {
                    Some((k, v)) => (k.as_str(), v.as_bytes()),
                    None => break,
                }
            };
            put_u16(out, k.len());
            out.extend_from_slice(k.as_bytes());
            put_u16(out, v.len());
            out.extend_from_slice(v);
        }
    }

    fn encoded_len(&self) -> usize {
        let pair = |k: &str, v: &[u8]| 4 + k.len() + v.len();
        2 + pair(TABLE_KEY, self.table.as_bytes())
            + pair(COLUMN_KEY, self.column.as_bytes())
            + self.row.as_deref().map_or(0, |r| pair(ROW_KEY, r))
            + self
                .extra
                .iter()
                .map(|(k, v)| pair(k, v.as_bytes()))
                .sum::<usize>()
    }

    /// Checks the length and refreshes the cached encodings; every change but the row's goes through here.
    fn check_len(&mut self) -> Result<(), CellError> {
        self.check_row_len()?;
        let mut scope = Vec::with_capacity(self.encoded.len());
        self.encode_pairs(false, &mut scope);
        self.encoded_scope = scope.into();
        Ok(())
    }

    /// Checks the length and refreshes the full encoding after a change of the row (the scope stays as it is).
    fn check_row_len(&mut self) -> Result<(), ContextError> {
        let len = self.encoded_len();
        if len > MAX_CONTEXT_LEN {
            return Err(ContextError::TooLong {
                len,
                max: MAX_CONTEXT_LEN,
            });
        }
        let mut full = std::mem::take(&mut self.encoded);
        full.clear();
        self.encode_pairs(true, &mut full);
        self.encoded = full;
        Ok(())
    }
}

/// Canonical encoding of a key/value map (a scope), the same as [`Context::encode_scope_into`] for a context's scope.
pub fn encode_map(map: &BTreeMap<String, String>, out: &mut Vec<u8>) {
    put_u16(out, map.len());
    for (k, v) in map {
        put_u16(out, k.len());
        out.extend_from_slice(k.as_bytes());
        put_u16(out, v.len());
        out.extend_from_slice(v.as_bytes());
    }
}

// Lengths are bounded by MAX_CONTEXT_LEN (< 65,536) before any encoding, so the conversion cannot truncate.
fn put_u16(out: &mut Vec<u8>, n: usize) {
    let n = u16::try_from(n).unwrap_or(u16::MAX);
    out.extend_from_slice(&n.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_sorted_and_length_prefixed() {
        let ctx = Context::new("t", "c").unwrap().with_row("1").unwrap();
        let mut out = Vec::new();
        ctx.encode_into(&mut out);
        let mut want = vec![0, 3];
        for (k, v) in [(COLUMN_KEY, "c"), (ROW_KEY, "1"), (TABLE_KEY, "t")] {
            want.extend_from_slice(&(k.len() as u16).to_be_bytes());
            want.extend_from_slice(k.as_bytes());
            want.extend_from_slice(&(v.len() as u16).to_be_bytes());
            want.extend_from_slice(v.as_bytes());
        }
        assert_eq!(out, want);
    }

    #[test]
    fn free_keys_merge_in_order() {
        let ctx = Context::new("t", "c")
            .unwrap()
            .with("zz", "1")
            .unwrap()
            .with("aa", "2")
            .unwrap();
        let mut out = Vec::new();
        ctx.encode_scope_into(&mut out);
        let keys: Vec<_> = ctx.scope().into_keys().collect();
        assert_eq!(keys, ["aa", COLUMN_KEY, TABLE_KEY, "zz"]);
        assert_eq!(&out[..2], &[0, 4]);
        assert_eq!(&out[4..6], b"aa");
    }

    #[test]
    fn scope_encoding_matches_map_encoding() {
        let ctx = Context::new("t", "c")
            .unwrap()
            .with("tenant", "7")
            .unwrap()
            .with_row("9")
            .unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        ctx.encode_scope_into(&mut a);
        encode_map(&ctx.scope(), &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn rows_share_the_scope_encoding_and_free_values_change_it() {
        let base = Context::new("t", "c").unwrap().with("tenant", "7").unwrap();
        let row = base.clone().with_row("9").unwrap();
        let mut moved = row.clone();
        moved.set_row(Some("10")).unwrap();
        for ctx in [&row, &moved] {
            assert!(Arc::ptr_eq(base.shared_scope(), ctx.shared_scope()));
            assert_ne!(base.encoded(), ctx.encoded());
        }
        let other = row.with("region", "eu").unwrap();
        assert!(!Arc::ptr_eq(base.shared_scope(), other.shared_scope()));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        other.encode_scope_into(&mut a);
        encode_map(&other.scope(), &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn no_row_differs_from_empty_row() {
        let a = Context::new("t", "c").unwrap();
        let b = a.clone().with_row("").unwrap();
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        a.encode_into(&mut ea);
        b.encode_into(&mut eb);
        assert_ne!(ea, eb);
    }

    #[test]
    fn text_rows_bind_their_utf8_bytes_and_other_bytes_bind_as_themselves() {
        let base = Context::new("t", "c").unwrap();
        let text = base.clone().with_row("é").unwrap();
        let same = base.clone().with_row_bytes("é".as_bytes()).unwrap();
        assert_eq!(text.encoded(), same.encoded());
        let e9 = base.clone().with_row_bytes(*b"\xe9").unwrap();
        let e8 = base.with_row_bytes(*b"\xe8").unwrap();
        assert_ne!(e9.encoded(), e8.encoded(), "no lossy collapse");
        assert_eq!(e9.row(), None);
        assert_eq!(e9.row_bytes(), Some(&b"\xe9"[..]));
    }

    #[test]
    fn rejects_reserved_and_empty_names() {
        assert!(Context::new("", "c").is_err());
        assert!(Context::new("t", "").is_err());
        assert!(
            Context::new("t", "c")
                .unwrap()
                .with("atrest:x", "v")
                .is_err()
        );
        assert!(Context::new("t", "c").unwrap().with("", "v").is_err());
        assert!(
            Context::new("t", "c")
                .unwrap()
                .with_row("x".repeat(9000))
                .is_err()
        );
    }
}
