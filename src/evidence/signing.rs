//! Ed25519 signing of bundle manifests (ring). The user holds the private key: `atrest evidence keygen` writes it as
//! PKCS#8 PEM with mode 0600 (created exclusively, never replacing a file) and the public key beside it as
//! SubjectPublicKeyInfo PEM (`<file>.pub`), the forms OpenSSL reads. Key bytes are kept in `Zeroizing` buffers and
//! never printed; the key types have no `Debug`.
//!
//! The signature covers `CONTEXT || 0x00 || manifest.json bytes`, so a signature made for a bundle cannot be replayed
//! as a signature over anything else made with the same key.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::manifest::sha256_hex;

/// Domain separation for manifest signatures.
pub const CONTEXT: &str = "atrest-evidence-manifest-v1";
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING }.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// Larger files are not keys.
const MAX_KEY_FILE: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("cannot read key `{path}`: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is {found}")]
    WrongType {
        path: String,
        found: String,
        expected: String,
    },
    #[error("`{path}` is not a valid key: {detail}")]
    Malformed { path: String, detail: String },
    #[error("signing key `{path}` can be read by group or others (mode {mode:03o})")]
    TooOpen { path: String, mode: u32 },
    #[error("`{path}` already exists")]
    Exists { path: String },
    #[error("cannot write key `{path}`: {source}")]
    Unwritable {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot generate a key: the system random number generator failed")]
    Random,
}

impl crate::error::Help for SigningKeyError {
    fn help(&self) -> Option<String> {
        match self {
            SigningKeyError::Unreadable { .. } => Some(
                "check the path, or create a key pair with `atrest evidence keygen --out FILE`"
                    .into(),
            ),
            SigningKeyError::WrongType { expected, .. } => Some(expected.clone()),
            SigningKeyError::Malformed { .. } => {
                Some("create a key pair with `atrest evidence keygen --out FILE`".into())
            }
            SigningKeyError::TooOpen { path, .. } => {
                Some(format!("restrict it with `chmod 600 {path}`"))
            }
            SigningKeyError::Exists { .. } => Some(
                "keygen never replaces a key: choose another path, or move the old key away".into(),
            ),
            SigningKeyError::Unwritable { .. } => {
                Some("check that the directory exists and is writable".into())
            }
            SigningKeyError::Random => None,
        }
    }

    fn is_usage(&self) -> bool {
        !matches!(self, SigningKeyError::Random)
    }
}

const EXPECT_PRIVATE: &str =
    "signing needs the Ed25519 private key written by `atrest evidence keygen` (PKCS#8)";
const EXPECT_PUBLIC: &str = "verifying needs the Ed25519 public key written by `atrest evidence keygen` (the `.pub` file beside the private key)";

/// The private signing key. No `Debug`, no `Display`: it is never printed.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

/// An Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
}

/// `manifest.sig`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// `ed25519`.
    pub algorithm: String,
    /// [`CONTEXT`].
    pub context: String,
    /// The signer's public key fingerprint (SHA-256 of the 32 key bytes), to name the key in messages. The
    /// signature, not this field, is what verification trusts.
    pub public_key_sha256: String,
    /// Base64 (standard, padded) of the 64-byte signature.
    pub signature: String,
}

/// What a key file holds, as far as its envelope shows.
enum Decoded {
    Der(Zeroizing<Vec<u8>>),
    Pem {
        label: String,
        der: Zeroizing<Vec<u8>>,
    },
    CellKeyFile,
}

fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, SigningKeyError> {
    let shown = path.display().to_string();
    let unreadable = |source| SigningKeyError::Unreadable {
        path: shown.clone(),
        source,
    };
    match crate::fsutil::read_bounded(path, MAX_KEY_FILE) {
        Ok(bytes) => Ok(Zeroizing::new(bytes)),
        Err(crate::fsutil::ReadError::Io { source, .. }) => Err(unreadable(source)),
        Err(crate::fsutil::ReadError::NotAFile { .. }) => {
            Err(unreadable(std::io::Error::other("not a regular file")))
        }
        Err(crate::fsutil::ReadError::TooLarge { .. }) => Err(SigningKeyError::Malformed {
            path: shown,
            detail: format!(
                "{} bytes is too large for a key file",
                std::fs::metadata(path).map_or(MAX_KEY_FILE + 1, |m| m.len())
            ),
        }),
    }
}

fn decode(path: &Path, bytes: &[u8]) -> Result<Decoded, SigningKeyError> {
    let malformed = |detail: &str| SigningKeyError::Malformed {
        path: path.display().to_string(),
        detail: detail.to_string(),
    };
    if bytes.starts_with(b"atrest-keyfile ") {
        return Ok(Decoded::CellKeyFile);
    }
    if bytes.first() == Some(&0x30) {
        return Ok(Decoded::Der(Zeroizing::new(bytes.to_vec())));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("neither PEM nor DER"))?;
    let text = text.trim_start();
    let Some(rest) = text.strip_prefix("-----BEGIN ") else {
        return Err(malformed("neither PEM nor DER"));
    };
    let Some((label, body)) = rest.split_once("-----") else {
        return Err(malformed("a PEM header without its closing dashes"));
    };
    let end = format!("-----END {label}-----");
    let Some((body, _)) = body.split_once(end.as_str()) else {
        return Err(malformed("a PEM block without its END line"));
    };
    let b64: Zeroizing<String> =
        Zeroizing::new(body.chars().filter(|c| !c.is_whitespace()).collect());
    let der = STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| malformed("the PEM body is not base64"))?;
    Ok(Decoded::Pem {
        label: label.to_string(),
        der: Zeroizing::new(der),
    })
}

fn pem(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(format!("-----BEGIN {label}-----\n"));
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn wrong(path: &Path, found: &str, expected: &str) -> SigningKeyError {
    SigningKeyError::WrongType {
        path: path.display().to_string(),
        found: found.to_string(),
        expected: expected.to_string(),
    }
}

#[cfg(unix)]
fn check_private_mode(path: &Path) -> Result<(), SigningKeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| SigningKeyError::Unreadable {
            path: path.display().to_string(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(SigningKeyError::TooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path) -> Result<(), SigningKeyError> {
    Ok(())
}

impl SigningKey {
    /// Reads a PKCS#8 Ed25519 private key (PEM or DER), refusing a file others may read.
    pub fn load(path: &Path) -> Result<SigningKey, SigningKeyError> {
        let bytes = read_key_file(path)?;
        let der = match decode(path, &bytes)? {
            Decoded::CellKeyFile => {
                return Err(wrong(path, "an atrest cell key file", EXPECT_PRIVATE));
            }
            Decoded::Pem { label, der } => match label.as_str() {
                "PRIVATE KEY" => der,
                "PUBLIC KEY" => return Err(wrong(path, "a public key", EXPECT_PRIVATE)),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(wrong(
                        path,
                        "a password-protected private key",
                        "--signing-key reads unencrypted PKCS#8 keys (kept safe by mode 0600); create one with `atrest evidence keygen`",
                    ));
                }
                other => {
                    return Err(wrong(
                        path,
                        &format!("a `{other}` PEM block"),
                        EXPECT_PRIVATE,
                    ));
                }
            },
            Decoded::Der(der) => der,
        };
        let pair = match Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
            Ok(pair) => pair,
            Err(e) => {
                return Err(if e.to_string() == "WrongAlgorithm" {
                    wrong(
                        path,
                        "a private key of another algorithm (not Ed25519)",
                        EXPECT_PRIVATE,
                    )
                } else if der.starts_with(&SPKI_PREFIX) {
                    wrong(path, "a public key", EXPECT_PRIVATE)
                } else {
                    SigningKeyError::Malformed {
                        path: path.display().to_string(),
                        detail: "not a PKCS#8 Ed25519 private key".to_string(),
                    }
                });
            }
        };
        check_private_mode(path)?;
        Ok(SigningKey { pair })
    }

    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey { bytes }
    }

    /// Signs a manifest (the exact bytes of `manifest.json`).
    pub fn sign(&self, manifest: &[u8]) -> SignatureFile {
        let sig = self.pair.sign(&signed_message(manifest));
        SignatureFile {
            algorithm: "ed25519".to_string(),
            context: CONTEXT.to_string(),
            public_key_sha256: self.public_key().fingerprint(),
            signature: STANDARD.encode(sig.as_ref()),
        }
    }
}

fn signed_message(manifest: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(CONTEXT.len() + 1 + manifest.len());
    msg.extend_from_slice(CONTEXT.as_bytes());
    msg.push(0);
    msg.extend_from_slice(manifest);
    msg
}

impl PublicKey {
    /// Reads an Ed25519 public key (SubjectPublicKeyInfo, PEM or DER).
    pub fn load(path: &Path) -> Result<PublicKey, SigningKeyError> {
        let bytes = read_key_file(path)?;
        let der = match decode(path, &bytes)? {
            Decoded::CellKeyFile => {
                return Err(wrong(path, "an atrest cell key file", EXPECT_PUBLIC));
            }
            Decoded::Pem { label, der } => match label.as_str() {
                "PUBLIC KEY" => der,
                "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                    return Err(wrong(path, "a private key", EXPECT_PUBLIC));
                }
                other => {
                    return Err(wrong(
                        path,
                        &format!("a `{other}` PEM block"),
                        EXPECT_PUBLIC,
                    ));
                }
            },
            Decoded::Der(der) => der,
        };
        if let Some(key) = der
            .strip_prefix(SPKI_PREFIX.as_slice())
            .and_then(|rest| <[u8; 32]>::try_from(rest).ok())
        {
            return Ok(PublicKey { bytes: key });
        }
        if Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).is_ok() {
            return Err(wrong(path, "a private key", EXPECT_PUBLIC));
        }
        // A SubjectPublicKeyInfo starts with SEQUENCE { SEQUENCE { OID ... } }: another algorithm's public key.
        if der.len() > 4
            && der.first() == Some(&0x30)
            && der.iter().skip(2).take(2).any(|b| *b == 0x30)
        {
            return Err(wrong(
                path,
                "a public key of another algorithm (not Ed25519)",
                EXPECT_PUBLIC,
            ));
        }
        Err(SigningKeyError::Malformed {
            path: path.display().to_string(),
            detail: "not an Ed25519 public key".to_string(),
        })
    }

    /// SHA-256 of the 32 key bytes, lowercase hex.
    pub fn fingerprint(&self) -> String {
        sha256_hex(&self.bytes)
    }

    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.bytes);
        pem("PUBLIC KEY", &der).to_string()
    }

    /// Whether `sig` is this key's signature over `manifest`.
    pub fn verify(&self, manifest: &[u8], sig: &SignatureFile) -> bool {
        if sig.algorithm != "ed25519" || sig.context != CONTEXT {
            return false;
        }
        let Ok(raw) = STANDARD.decode(sig.signature.as_bytes()) else {
            return false;
        };
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.bytes)
            .verify(&signed_message(manifest), &raw)
            .is_ok()
    }
}

/// The public key file written beside a private key: `<file>.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_os_string();
    name.push(".pub");
    PathBuf::from(name)
}

fn create_new(path: &Path, private: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

/// A new key pair: the private key at `out` (PKCS#8 PEM, mode 0600) and the public key at `out.pub`. Refuses to
/// replace either file. Returns the public key.
pub fn generate(out: &Path) -> Result<PublicKey, SigningKeyError> {
    let public_path = public_key_path(out);
    for p in [out, public_path.as_path()] {
        if p.symlink_metadata().is_ok() {
            return Err(SigningKeyError::Exists {
                path: p.display().to_string(),
            });
        }
    }
    let rng = SystemRandom::new();
    // ring's Document is a plain buffer without a zeroizing drop; it lives only for this copy.
    let pkcs8 = Zeroizing::new(
        Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| SigningKeyError::Random)?
            .as_ref()
            .to_vec(),
    );
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| SigningKeyError::Random)?;
    let public = SigningKey { pair }.public_key();
    let private_pem = pem("PRIVATE KEY", &pkcs8);

    let write = |path: &Path, private: bool, text: &[u8]| -> Result<(), SigningKeyError> {
        let map = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                SigningKeyError::Exists {
                    path: path.display().to_string(),
                }
            } else {
                SigningKeyError::Unwritable {
                    path: path.display().to_string(),
                    source,
                }
            }
        };
        let mut file = create_new(path, private).map_err(map)?;
        file.write_all(text).map_err(map)?;
        file.sync_all().map_err(map)
    };
    write(out, true, private_pem.as_bytes())?;
    if let Err(e) = write(&public_path, false, public.to_pem().as_bytes()) {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let public = generate(&key).unwrap();
        let signer = SigningKey::load(&key).unwrap();
        assert_eq!(signer.public_key(), public);
        assert_eq!(PublicKey::load(&public_key_path(&key)).unwrap(), public);
        let sig = signer.sign(b"manifest");
        assert!(public.verify(b"manifest", &sig));
        assert!(!public.verify(b"manifest!", &sig));
        let other = dir.path().join("other");
        let other = generate(&other).unwrap();
        assert!(!other.verify(b"manifest", &sig));
        assert_eq!(sig.public_key_sha256, public.fingerprint());
    }

    #[cfg(unix)]
    #[test]
    fn the_private_key_is_0600_and_never_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        generate(&key).unwrap();
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&key).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(matches!(
            generate(&key),
            Err(SigningKeyError::Exists { .. })
        ));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SigningKey::load(&key).err().unwrap();
        assert!(err.to_string().contains("mode 644"), "{err}");
        assert!(
            crate::error::Help::help(&err).is_some_and(|h| h.contains("chmod 600")),
            "{err}"
        );
    }

    #[test]
    fn keys_of_the_wrong_kind_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        generate(&key).unwrap();
        let public = public_key_path(&key);
        let err = SigningKey::load(&public).err().unwrap().to_string();
        assert!(err.contains("is a public key"), "{err}");
        let err = PublicKey::load(&key).err().unwrap().to_string();
        assert!(err.contains("is a private key"), "{err}");
        let cell = dir.path().join("cell.key");
        std::fs::write(&cell, "atrest-keyfile v1\nid 00\nkey 00\n").unwrap();
        let err = PublicKey::load(&cell).err().unwrap().to_string();
        assert!(err.contains("cell key file"), "{err}");
    }
}
