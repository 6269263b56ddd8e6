//! Decryption of whole ESDK messages (specification: `client-apis/decrypt.md`), with the Default CMM's and the
//! Required Encryption Context CMM's checks on the reproduced encryption context.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::context::{self, EncryptionContext, PUBLIC_KEY_KEY};
use super::error::EsdkError;
use super::keyring::Keyring;
use super::message::{self, BodyAad, Limits, Message};
use super::suite::{self, MessageKey, Signature, Suite};

/// The ESDK's commitment policies (`client-apis/client.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommitmentPolicy {
    /// Encrypt with non-committing suites only, decrypt any suite (ESDK 1.x behaviour).
    ForbidEncryptAllowDecrypt,
    /// Encrypt with committing suites, decrypt any suite (for migrating readers of legacy messages).
    RequireEncryptAllowDecrypt,
    /// Encrypt and decrypt committing suites only (the ESDK's default).
    #[default]
    RequireEncryptRequireDecrypt,
}

impl CommitmentPolicy {
    pub fn allows_decrypt(self, suite: &Suite) -> bool {
        suite.is_committing() || self != CommitmentPolicy::RequireEncryptRequireDecrypt
    }
}

/// A decrypted message.
#[derive(Debug)]
pub struct Decrypted {
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The encryption context stored in the header.
    pub context: EncryptionContext,
    pub suite_id: u16,
}

/// The encryption context of the decryption materials and the part of it that is only authenticated: the reproduced
/// context must agree with every stored pair it names, and its other pairs are authenticated, not stored (the
/// Default CMM, and the Required Encryption Context CMM with every reproduced key required).
pub fn merge_reproduced(
    stored: &EncryptionContext,
    reproduced: &EncryptionContext,
) -> Result<(EncryptionContext, EncryptionContext), EsdkError> {
    let mut full = stored.clone();
    let mut only_authenticated = EncryptionContext::new();
    for (k, v) in reproduced {
        match stored.get(k) {
            Some(s) if s == v => {}
            Some(_) => return Err(EsdkError::Decrypt),
            None => {
                only_authenticated.insert(k.clone(), v.clone());
                full.insert(k.clone(), v.clone());
            }
        }
    }
    Ok((full, only_authenticated))
}

/// Decrypts one message whose data key is already known (from a keyring or a cache).
pub fn decrypt_with_key(
    msg: &Message<'_>,
    data_key: &[u8],
    only_authenticated: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EsdkError> {
    let header = &msg.header;
    let suite = header.suite;
    let key = MessageKey::derive(suite, data_key, header.message_id)?;
    if !key.commits_to(header.suite_data) {
        return Err(EsdkError::Decrypt);
    }
    if only_authenticated.is_empty() {
        key.verify_tag(header.iv, header.body, header.tag)?;
    } else {
        let mut aad = Vec::with_capacity(header.body.len() + only_authenticated.len());
        aad.extend_from_slice(header.body);
        aad.extend_from_slice(only_authenticated);
        key.verify_tag(header.iv, &aad, header.tag)?;
    }
    if let (Some(alg), Some(sig)) = (suite.signature, msg.signature) {
        verify_signature(alg, header.context, msg.signed, sig)?;
    }
    let framed = msg.is_framed();
    let mut out = Zeroizing::new(Vec::with_capacity(msg.plaintext_len()));
    for frame in &msg.frames {
        // Framed bodies use the sequence number as IV; a frame that stores another IV is refused.
        if framed && frame.iv != suite::frame_iv(frame.seq) {
            return Err(EsdkError::Decrypt);
        }
        let aad = BodyAad::new(
            header.message_id,
            frame.aad_label(framed),
            frame.seq,
            frame.ciphertext.len() as u64,
        )?;
        key.open_append(
            frame.iv,
            aad.as_bytes(),
            frame.ciphertext,
            frame.tag,
            &mut out,
        )?;
    }
    Ok(out)
}

fn verify_signature(
    alg: Signature,
    context: &[u8],
    signed: &[u8],
    sig: &[u8],
) -> Result<(), EsdkError> {
    let (_, public) = context::pairs(context)
        .find(|(k, _)| *k == PUBLIC_KEY_KEY.as_bytes())
        .ok_or(EsdkError::Decrypt)?;
    let point = STANDARD.decode(public).map_err(|_| EsdkError::Decrypt)?;
    let (alg, point_len) = match alg {
        Signature::EcdsaP256Sha256 => (&signature::ECDSA_P256_SHA256_ASN1, 33),
        Signature::EcdsaP384Sha384 => (&signature::ECDSA_P384_SHA384_ASN1, 49),
    };
    // The specification stores the compressed point only.
    if point.len() != point_len {
        return Err(EsdkError::Decrypt);
    }
    UnparsedPublicKey::new(alg, &point)
        .verify(signed, sig)
        .map_err(|_| EsdkError::Decrypt)
}

/// Decrypts ESDK messages with one keyring.
pub struct Decryptor<'k> {
    keyring: &'k dyn Keyring,
    policy: CommitmentPolicy,
    limits: Limits,
}

impl<'k> Decryptor<'k> {
    pub fn new(keyring: &'k dyn Keyring) -> Self {
        Decryptor {
            keyring,
            policy: CommitmentPolicy::default(),
            limits: Limits::default(),
        }
    }

    pub fn policy(mut self, policy: CommitmentPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Decrypts `bytes`; `reproduced` is the encryption context the caller expects (empty: no expectation). Every
    /// failure of the message is [`EsdkError::Decrypt`]; only a key service failing for every message alike (AWS KMS
    /// unreachable or throttled) is its own error.
    pub fn decrypt(
        &self,
        bytes: &[u8],
        reproduced: &EncryptionContext,
    ) -> Result<Decrypted, EsdkError> {
        let msg = message::parse(bytes, &self.limits)?;
        let m = check_materials(&msg, reproduced, self.policy)?;
        let data_key = self
            .keyring
            .unwrap(m.suite, &m.full, &msg.header.edks)?
            .ok_or(EsdkError::Decrypt)?;
        let plaintext = decrypt_with_key(&msg, &data_key, &m.only_authenticated)?;
        Ok(Decrypted {
            plaintext,
            context: m.stored,
            suite_id: m.suite.id,
        })
    }
}

/// What decryption needs of a message's encryption context once the reproduced context is merged in.
pub struct Materials {
    pub suite: &'static Suite,
    /// The stored context.
    pub stored: EncryptionContext,
    /// The serialized context of the decryption materials (stored and reproduced pairs).
    pub full: Vec<u8>,
    /// The serialized pairs that are only authenticated, not stored.
    pub only_authenticated: Vec<u8>,
}

/// The commitment policy's check, and the Default CMM's on the verification key: a signed suite needs one in its
/// stored context, an unsigned one must not carry one.
pub fn check_suite(
    msg: &Message<'_>,
    policy: CommitmentPolicy,
) -> Result<&'static Suite, EsdkError> {
    let suite = msg.header.suite;
    if !policy.allows_decrypt(suite)
        || suite.signature.is_some() != context::has_key(msg.header.context, PUBLIC_KEY_KEY)
    {
        return Err(EsdkError::Decrypt);
    }
    Ok(suite)
}

/// The policy and Default CMM checks before any key is unwrapped, and the contexts they leave.
pub fn check_materials(
    msg: &Message<'_>,
    reproduced: &EncryptionContext,
    policy: CommitmentPolicy,
) -> Result<Materials, EsdkError> {
    let suite = check_suite(msg, policy)?;
    let stored = msg.header.context_map()?;
    let (full, only_auth) = merge_reproduced(&stored, reproduced)?;
    Ok(Materials {
        suite,
        full: context::serialize(&full)?,
        only_authenticated: context::serialize(&only_auth)?,
        stored,
    })
}
