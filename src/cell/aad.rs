//! The buffer a cell's associated data (its header, then its context's encoding) is assembled in, once per cell.

/// Associated data up to this length (a compact or self-contained header and most contexts) is assembled inline.
pub(crate) const INLINE_AAD: usize = 256;

/// Kept per thread and reused from cell to cell, so the per-cell paths neither allocate nor clear a buffer.
///
/// Inline rather than on the heap for another reason too: a heap block, even one a thread owns, may share a cache
/// line with what another thread reads (allocators recycle small blocks across threads). Written for every cell, such
/// a buffer made two threads decrypting at once run at 1.4 times one thread.
pub(crate) struct AadBuf {
    inline: [u8; INLINE_AAD],
    /// Longer associated data (a long context, or a self-contained header with a long wrapped key).
    heap: Vec<u8>,
}

impl AadBuf {
    pub(crate) const fn new() -> Self {
        Self {
            inline: [0; INLINE_AAD],
            heap: Vec::new(),
        }
    }

    /// `header || context`, in this buffer (overwriting what the previous cell left).
    #[inline]
    pub(crate) fn assemble(&mut self, header: &[u8], context: &[u8]) -> &[u8] {
        if let Some(buf) = self.inline.get_mut(..header.len() + context.len()) {
            let (h, c) = buf.split_at_mut(header.len());
            h.copy_from_slice(header);
            c.copy_from_slice(context);
            return buf;
        }
        self.heap.clear();
        self.heap.extend_from_slice(header);
        self.heap.extend_from_slice(context);
        &self.heap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_associated_data_are_the_header_then_the_context() {
        let mut buf = AadBuf::new();
        assert_eq!(buf.assemble(b"head", b"ctx"), b"headctx");
        // A shorter one after a longer one: nothing of the first is left in what is returned.
        assert_eq!(buf.assemble(b"h", b""), b"h");
        let long = vec![7u8; INLINE_AAD];
        let joined = [b"hdr".as_slice(), &long].concat();
        assert_eq!(buf.assemble(b"hdr", &long), joined.as_slice());
        assert_eq!(buf.assemble(b"", &long[..INLINE_AAD]), long.as_slice());
        assert_eq!(buf.assemble(b"x", b"y"), b"xy");
    }
}
