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
        put(out, k.as_bytes(), v.as_bytes())?;
    }
    limit_from(out, start)
}

/// Fails, and takes back what was written from `start`, when the serialized context is over the limit.
fn limit_from(out: &mut Vec<u8>, start: usize) -> Result<(), EsdkError> {
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

/// Checks a header's AAD field as strictly as [`parse`] without building a map: keys in ascending byte order prove
/// there is no repeat; any other order falls back to [`parse`].
pub fn validate(aad: &[u8]) -> Result<(), EsdkError> {
    if aad.is_empty() {
        return Ok(());
    }
    let mut r = Reader::new(aad);
    let count = r.u16()?;
    if count == 0 {
        return Err(EsdkError::Decrypt);
    }
    let mut previous: Option<&str> = None;
    for _ in 0..count {
        let k = r.utf8_u16()?;
        r.utf8_u16()?;
        if previous.is_some_and(|p| p.as_bytes() >= k.as_bytes()) {
            return parse(aad).map(|_| ());
        }
        previous = Some(k);
    }
    r.finish()
}

/// The pairs of a serialized context that [`validate`] accepted, in stored order.
pub fn pairs(serialized: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut r = Reader::new(serialized);
    let count = if serialized.is_empty() {
        0
    } else {
        r.u16().unwrap_or(0)
    };
    (0..count).map_while(move |_| Some((r.bytes_u16().ok()?, r.bytes_u16().ok()?)))
}

/// Whether a serialized context holds `key`.
pub fn has_key(serialized: &[u8], key: &str) -> bool {
    pairs(serialized).any(|(k, _)| k == key.as_bytes())
}

/// Appends `serialized` (a canonical context without `key`) with the pair `key`/`value` added in its sorted place:
/// the stored context of a signed message, which adds its verification key to the caller's.
pub fn serialize_with(
    serialized: &[u8],
    key: &str,
    value: &str,
    out: &mut Vec<u8>,
) -> Result<(), EsdkError> {
    let start = out.len();
    let count = pairs(serialized).count() + 1;
    let count = u16::try_from(count).map_err(|_| too_long(usize::MAX))?;
    out.extend_from_slice(&count.to_be_bytes());
    let mut pending = Some((key.as_bytes(), value.as_bytes()));
    for (k, v) in pairs(serialized) {
        if let Some((pk, pv)) = pending.filter(|(pk, _)| *pk < k) {
            put(out, pk, pv)?;
            pending = None;
        }
        put(out, k, v)?;
    }
    if let Some((pk, pv)) = pending {
        put(out, pk, pv)?;
    }
    limit_from(out, start)
}

fn put(out: &mut Vec<u8>, k: &[u8], v: &[u8]) -> Result<(), EsdkError> {
    for part in [k, v] {
        let len = u16::try_from(part.len()).map_err(|_| too_long(part.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    Ok(())
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

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn adding_a_pair_to_serialized_bytes_matches_serializing_the_map() {
        for pairs in [
            &[][..],
            &[("a", "1")],
            &[("zz", "9")],
            &[("a", "1"), ("zz", "2")],
            &[("atrest:row", "4"), ("atrest:table", "t"), ("b", "")],
        ] {
            let base = ctx(pairs);
            let mut added = base.clone();
            added.insert(PUBLIC_KEY_KEY.to_owned(), "key".to_owned());
            let mut out = vec![0xEE];
            serialize_with(&serialize(&base).unwrap(), PUBLIC_KEY_KEY, "key", &mut out).unwrap();
            assert_eq!(out[1..], serialize(&added).unwrap()[..], "{pairs:?}");
            assert!(has_key(&out[1..], PUBLIC_KEY_KEY));
            assert!(!has_key(&serialize(&base).unwrap(), PUBLIC_KEY_KEY));
        }
    }

    #[test]
    fn validate_agrees_with_parse() {
        let unsorted = b"\x00\x02\x00\x01b\x00\x012\x00\x01a\x00\x011";
        assert!(validate(unsorted).is_ok());
        assert!(parse(unsorted).is_ok());
        assert!(validate(&serialize(&ctx(&[("a", "1"), ("b", "2")])).unwrap()).is_ok());
        assert!(validate(b"").is_ok());
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
            assert_eq!(validate(bad), Err(EsdkError::Decrypt), "{bad:?}");
        }
    }
}
