//! A bounds-checked big-endian reader: every short read is [`EsdkError::Decrypt`].

use super::error::EsdkError;

pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], EsdkError> {
        // `let else` rather than `ok_or`: an error value made eagerly is dropped on every read, a cost on the hot path.
        let Some((end, out)) = self
            .pos
            .checked_add(n)
            .and_then(|end| Some((end, self.bytes.get(self.pos..end)?)))
        else {
            return Err(EsdkError::Decrypt);
        };
        self.pos = end;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], EsdkError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, EsdkError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub fn u16(&mut self) -> Result<u16, EsdkError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, EsdkError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, EsdkError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A field with a 2-byte length prefix.
    pub fn bytes_u16(&mut self) -> Result<&'a [u8], EsdkError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    pub fn utf8_u16(&mut self) -> Result<&'a str, EsdkError> {
        std::str::from_utf8(self.bytes_u16()?).map_err(|_| EsdkError::Decrypt)
    }

    /// The bytes read so far.
    pub fn consumed(&self) -> &'a [u8] {
        self.bytes.get(..self.pos).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), EsdkError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(EsdkError::Decrypt)
        }
    }
}
