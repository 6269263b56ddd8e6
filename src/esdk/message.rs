//! The strict parser of ESDK messages (specification: `data-format/message-header.md`, `message-body.md`,
//! `message-footer.md`): version 1 and 2 headers, framed and non-framed bodies, the footer of the signed suites.
//! The whole message must be consumed; every deviation, and every limit exceeded, is [`EsdkError::Decrypt`].
//!
//! Parsing checks structure only; [`super::decrypt`] checks keys, tags and signatures.

use super::context::{self, EncryptionContext};
use super::error::EsdkError;
use super::reader::Reader;
use super::suite::{self, COMMIT_KEY_LEN, IV_LEN, Suite, TAG_LEN};

/// Version 1 headers carry this message type.
pub const TYPE_CUSTOMER_AED: u8 = 0x80;
/// The sequence number end that marks the final frame.
pub const FINAL_FRAME_MARK: u32 = u32::MAX;
/// A non-framed body holds at most 2^36 - 32 bytes (the AES-GCM limit).
pub const MAX_NON_FRAMED_LEN: u64 = (1 << 36) - 32;

pub const BODY_AAD_FRAME: &[u8] = b"AWSKMSEncryptionClient Frame";
pub const BODY_AAD_FINAL: &[u8] = b"AWSKMSEncryptionClient Final Frame";
pub const BODY_AAD_SINGLE: &[u8] = b"AWSKMSEncryptionClient Single Block";

/// What a parser accepts beyond the format's own bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Encrypted data keys in one header (the ESDK's `maxEncryptedDataKeys`); at least 1.
    pub max_encrypted_data_keys: u16,
    /// Frames in one body, the final frame included; the format allows 2^32 - 1.
    pub max_frames: u32,
}

impl Default for Limits {
    /// 16 encrypted data keys, 2^32 - 1 frames (the format's own bound).
    fn default() -> Self {
        Limits {
            max_encrypted_data_keys: 16,
            max_frames: u32::MAX,
        }
    }
}

/// One encrypted data key as it is stored in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdkRef<'a> {
    pub provider_id: &'a [u8],
    pub provider_info: &'a [u8],
    pub ciphertext: &'a [u8],
}

/// An encrypted data key made by a keyring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedDataKey {
    pub provider_id: Vec<u8>,
    pub provider_info: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl EncryptedDataKey {
    pub fn as_ref(&self) -> EdkRef<'_> {
        EdkRef {
            provider_id: &self.provider_id,
            provider_info: &self.provider_info,
            ciphertext: &self.ciphertext,
        }
    }
}

/// A parsed header.
#[derive(Debug)]
pub struct Header<'a> {
    pub version: u8,
    pub suite: &'static Suite,
    pub message_id: &'a [u8],
    /// The serialized encryption context as stored (checked by [`context::validate`]).
    pub context: &'a [u8],
    pub edks: Vec<EdkRef<'a>>,
    /// Zero for a non-framed body.
    pub frame_len: u32,
    /// The commit key (version 2), empty in version 1.
    pub suite_data: &'a [u8],
    /// The header body: every byte the header authentication tag covers.
    pub body: &'a [u8],
    /// The IV of the header authentication (zero in version 2).
    pub iv: [u8; IV_LEN],
    pub tag: &'a [u8],
}

impl Header<'_> {
    /// The stored encryption context as a map.
    pub fn context_map(&self) -> Result<EncryptionContext, EsdkError> {
        context::parse(self.context)
    }
}

/// One frame, or the whole non-framed body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub seq: u32,
    pub is_final: bool,
    pub iv: [u8; IV_LEN],
    pub ciphertext: &'a [u8],
    pub tag: &'a [u8],
}

impl Frame<'_> {
    /// The body AAD content string of this frame.
    pub fn aad_label(&self, framed: bool) -> &'static [u8] {
        match (framed, self.is_final) {
            (false, _) => BODY_AAD_SINGLE,
            (true, false) => BODY_AAD_FRAME,
            (true, true) => BODY_AAD_FINAL,
        }
    }
}

/// A parsed message.
#[derive(Debug)]
pub struct Message<'a> {
    pub header: Header<'a>,
    pub frames: Vec<Frame<'a>>,
    /// The bytes the footer's signature covers (header and body).
    pub signed: &'a [u8],
    /// The DER signature of the signed suites.
    pub signature: Option<&'a [u8]>,
}

impl Message<'_> {
    pub fn is_framed(&self) -> bool {
        self.header.frame_len != 0
    }

    /// The plaintext length the frames promise.
    pub fn plaintext_len(&self) -> usize {
        self.frames.iter().map(|f| f.ciphertext.len()).sum()
    }
}

/// Parses a whole message.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Message<'a>, EsdkError> {
    let mut r = Reader::new(bytes);
    let header = parse_header(&mut r, limits)?;
    let frames = if header.frame_len == 0 {
        vec![parse_non_framed(&mut r)?]
    } else {
        parse_frames(&mut r, header.frame_len, limits.max_frames)?
    };
    let signed = r.consumed();
    let signature = match header.suite.signature {
        Some(_) => {
            let sig = r.bytes_u16()?;
            if sig.is_empty() {
                return Err(EsdkError::Decrypt);
            }
            Some(sig)
        }
        None => None,
    };
    r.finish()?;
    Ok(Message {
        header,
        frames,
        signed,
        signature,
    })
}

/// Parses the header (and its authentication) from the start of `r`.
pub fn parse_header<'a>(r: &mut Reader<'a>, limits: &Limits) -> Result<Header<'a>, EsdkError> {
    let version = r.u8()?;
    match version {
        1 => {
            if r.u8()? != TYPE_CUSTOMER_AED {
                return Err(EsdkError::Decrypt);
            }
        }
        2 => {}
        _ => return Err(EsdkError::Decrypt),
    }
    let Some(suite) = suite::by_id(r.u16()?) else {
        return Err(EsdkError::Decrypt);
    };
    if suite.message_version() != version {
        return Err(EsdkError::Decrypt);
    }
    let message_id = r.take(suite.message_id_len())?;
    let context = r.bytes_u16()?;
    context::validate(context)?;
    let count = r.u16()?;
    if count == 0 || count > limits.max_encrypted_data_keys {
        return Err(EsdkError::Decrypt);
    }
    let mut edks = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        edks.push(EdkRef {
            provider_id: r.bytes_u16()?,
            provider_info: r.bytes_u16()?,
            ciphertext: r.bytes_u16()?,
        });
    }
    let framed = match r.u8()? {
        1 => false,
        2 => true,
        _ => return Err(EsdkError::Decrypt),
    };
    let suite_data: &[u8];
    let frame_len;
    if version == 1 {
        if r.u32()? != 0 || usize::from(r.u8()?) != IV_LEN {
            return Err(EsdkError::Decrypt);
        }
        frame_len = r.u32()?;
        suite_data = &[];
    } else {
        frame_len = r.u32()?;
        suite_data = r.take(COMMIT_KEY_LEN)?;
    }
    if framed != (frame_len != 0) {
        return Err(EsdkError::Decrypt);
    }
    let body = r.consumed();
    let iv = if version == 1 {
        r.array::<IV_LEN>()?
    } else {
        [0; IV_LEN]
    };
    let tag = r.take(TAG_LEN)?;
    Ok(Header {
        version,
        suite,
        message_id,
        context,
        edks,
        frame_len,
        suite_data,
        body,
        iv,
        tag,
    })
}

fn parse_non_framed<'a>(r: &mut Reader<'a>) -> Result<Frame<'a>, EsdkError> {
    let iv = r.array::<IV_LEN>()?;
    let len = r.u64()?;
    if len > MAX_NON_FRAMED_LEN {
        return Err(EsdkError::Decrypt);
    }
    let ciphertext = r.take(usize::try_from(len).map_err(|_| EsdkError::Decrypt)?)?;
    let tag = r.take(TAG_LEN)?;
    Ok(Frame {
        seq: 1,
        is_final: true,
        iv,
        ciphertext,
        tag,
    })
}

fn parse_frames<'a>(
    r: &mut Reader<'a>,
    frame_len: u32,
    max_frames: u32,
) -> Result<Vec<Frame<'a>>, EsdkError> {
    let mut frames = Vec::new();
    let full = usize::try_from(frame_len).map_err(|_| EsdkError::Decrypt)?;
    let mut expected: u32 = 1;
    loop {
        if expected > max_frames {
            return Err(EsdkError::Decrypt);
        }
        let first = r.u32()?;
        let is_final = first == FINAL_FRAME_MARK;
        let seq = if is_final { r.u32()? } else { first };
        if seq != expected {
            return Err(EsdkError::Decrypt);
        }
        let iv = r.array::<IV_LEN>()?;
        let len = if is_final {
            let len = r.u32()?;
            if len > frame_len {
                return Err(EsdkError::Decrypt);
            }
            usize::try_from(len).map_err(|_| EsdkError::Decrypt)?
        } else {
            full
        };
        let ciphertext = r.take(len)?;
        let tag = r.take(TAG_LEN)?;
        frames.push(Frame {
            seq,
            is_final,
            iv,
            ciphertext,
            tag,
        });
        if is_final {
            return Ok(frames);
        }
        let Some(next) = expected.checked_add(1) else {
            return Err(EsdkError::Decrypt);
        };
        expected = next;
    }
}

/// The longest message ID (version 2) and content string (the single block's, checked below), the sequence number
/// and the content length.
const MAX_BODY_AAD_LEN: usize = 32 + BODY_AAD_SINGLE.len() + 4 + 8;
const _: () = assert!(
    BODY_AAD_SINGLE.len() >= BODY_AAD_FINAL.len() && BODY_AAD_SINGLE.len() >= BODY_AAD_FRAME.len()
);

/// The body AAD of a frame, on the stack: message id || content string || sequence number || content length.
pub struct BodyAad {
    bytes: [u8; MAX_BODY_AAD_LEN],
    len: usize,
}

impl BodyAad {
    pub fn new(
        message_id: &[u8],
        label: &[u8],
        seq: u32,
        content_len: u64,
    ) -> Result<Self, EsdkError> {
        let mut aad = BodyAad {
            bytes: [0; MAX_BODY_AAD_LEN],
            len: 0,
        };
        for part in [
            message_id,
            label,
            &seq.to_be_bytes(),
            &content_len.to_be_bytes(),
        ] {
            let Some(dst) = aad.bytes.get_mut(aad.len..aad.len + part.len()) else {
                return Err(EsdkError::Internal("body AAD length"));
            };
            dst.copy_from_slice(part);
            aad.len += part.len();
        }
        Ok(aad)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Writes the start of a version 2 header: version, suite, message ID and the serialized context; the encrypted
/// data keys ([`write_edks`]) and [`write_v2_header_end`] follow.
pub fn write_v2_header_start(
    out: &mut Vec<u8>,
    suite: &Suite,
    message_id: &[u8],
    serialized_context: &[u8],
) -> Result<(), EsdkError> {
    out.push(2);
    out.extend_from_slice(&suite.id.to_be_bytes());
    out.extend_from_slice(message_id);
    put_u16_bytes(out, serialized_context)
}

/// Writes the encrypted data key section: the count, then each key.
pub fn write_edks(out: &mut Vec<u8>, edks: &[EdkRef<'_>]) -> Result<(), EsdkError> {
    let count = u16::try_from(edks.len()).map_err(|_| EsdkError::TooManyDataKeys {
        count: edks.len(),
        max: usize::from(u16::MAX),
    })?;
    out.extend_from_slice(&count.to_be_bytes());
    for edk in edks {
        write_edk(out, edk)?;
    }
    Ok(())
}

/// Writes one encrypted data key.
pub fn write_edk(out: &mut Vec<u8>, edk: &EdkRef<'_>) -> Result<(), EsdkError> {
    for part in [edk.provider_id, edk.provider_info, edk.ciphertext] {
        put_u16_bytes(out, part)?;
    }
    Ok(())
}

/// Ends a version 2 header body (everything the header tag covers) of a framed message.
pub fn write_v2_header_end(out: &mut Vec<u8>, frame_len: u32, commit_key: &[u8]) {
    out.push(2);
    out.extend_from_slice(&frame_len.to_be_bytes());
    out.extend_from_slice(commit_key);
}

pub fn put_u16_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), EsdkError> {
    let len =
        u16::try_from(bytes.len()).map_err(|_| EsdkError::Internal("field over 65535 bytes"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}
