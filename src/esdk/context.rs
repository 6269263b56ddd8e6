//! The ESDK encryption context: UTF-8 key-value pairs, serialized sorted by key bytes (`framework/structures.md`,
//! "Serialization"): a pair count, then each key and value with a 2-byte length. The empty context serializes to no
//! bytes at all.

use std::collections::BTreeMap;

use super::error::EsdkError;
use super::reader::Reader;

/// The key under which a signed suite stores its verification key (base64 of the compressed point).
pub const PUBLIC_KEY_KEY: &str = "aws-crypto-public-key";
/// Keys with this prefix are reserved by the ESDK.
pub const RESERVED_PREFIX: &str = "aws-crypto-";
/// The serialized context must fit the header's 2-byte AAD length.
pub const MAX_SERIALIZED_LEN: usize = u16::MAX as usize;

/// An encryption context. `BTreeMap<String, _>` orders keys by their UTF-8 bytes, as the serialization requires.
pub type EncryptionContext = BTreeMap<String, String>;

/// Serializes `context` (nothing for the empty context).
pub fn serialize_into(context: &EncryptionContext, out: &mut Vec<u8>) -> Result<(), EsdkError> {
    if context.is_empty() {
        return Ok(());
    }
    let start = out.len();
    let count = u16::try_from(context.len()).map_err(|_| too_long(usize::MAX))?;
    out.extend_from_slice(&count.to_be_bytes());
    for (k, v) in context {
        for part in [k.as_bytes(), v.as_bytes()] {
            let len = u16::try_from(part.len()).map_err(|_| too_long(part.len()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    let len = out.len() - start;
    if len > MAX_SERIALIZED_LEN {
        out.truncate(start);
        return Err(too_long(len));
    }
    Ok(())
}

pub fn serialize(context: &EncryptionContext) -> Result<Vec<u8>, EsdkError> {
    let mut out = Vec::new();
    serialize_into(context, &mut out)?;
    Ok(out)
}

fn too_long(len: usize) -> EsdkError {
    EsdkError::ContextTooLong {
        len,
        max: MAX_SERIALIZED_LEN,
    }
}

/// Parses a header's AAD field strictly: a non-empty field holds at least one pair, every key and value is UTF-8, no
/// key repeats, and nothing follows the last pair.
pub fn parse(aad: &[u8]) -> Result<EncryptionContext, EsdkError> {
    let mut context = EncryptionContext::new();
    if aad.is_empty() {
        return Ok(context);
    }
    let mut r = Reader::new(aad);
    let count = r.u16()?;
    if count == 0 {
        return Err(EsdkError::Decrypt);
    }
    for _ in 0..count {
        let k = r.utf8_u16()?;
        let v = r.utf8_u16()?;
        if context.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(EsdkError::Decrypt);
        }
    }
    r.finish()?;
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_no_bytes_and_pairs_are_sorted() {
        assert!(serialize(&EncryptionContext::new()).unwrap().is_empty());
        let ctx: EncryptionContext = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let bytes = serialize(&ctx).unwrap();
        assert_eq!(bytes, b"\x00\x02\x00\x01a\x00\x011\x00\x01b\x00\x012");
        assert_eq!(parse(&bytes).unwrap(), ctx);
    }

    #[test]
    fn strict_parse() {
        for bad in [
            &b"\x00\x00"[..],
            b"\x00\x01\x00\x01a",
            b"\x00\x02\x00\x01a\x00\x00\x00\x01a\x00\x00",
            b"\x00\x01\x00\x01\xff\x00\x00",
            b"\x00\x01\x00\x01a\x00\x00\x00",
        ] {
            assert_eq!(parse(bad), Err(EsdkError::Decrypt), "{bad:?}");
        }
    }
}
