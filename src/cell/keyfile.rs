//! A local key file: a 256-bit root key for offline use and tests, modelled on the AWS Encryption SDK's raw AES
//! keyring. Data keys are wrapped with AES-256-GCM under a key derived from the root key; the associated data binds
//! the file's key id and the data key's scope, so a wrapped key unwraps under its own file and scope only.
//!
//! File format (ASCII, exactly three lines, each ending in `\n`; docs/format.md, "Key file"):
//!
//! ```text
//! atrest-keyfile v1
//! id <32 lowercase hex digits: a random 128-bit key id>
//! key <64 lowercase hex digits: the 256-bit root key>
//! ```
//!
//! The file is created with [`crate::fsutil::create_private`] (new, mode 0600, never through a symlink), and refused
//! when group or others may read it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use super::context::encode_map;
use super::error::{CellError, ProviderError, shown_path};
use super::index::IndexKey;
use super::keys::{DataKey, GeneratedKey, KeyProvider, KeyScope, ProviderKind, fill_random};
use super::suite::{NONCE_LEN, TAG_LEN, hkdf_expand};
use crate::error::Help;
use crate::fsutil;

const HEADER: &str = "atrest-keyfile v1";
const KEY_ID_LEN: usize = 16;
const ROOT_LEN: usize = 32;
const WRAP_AAD_LABEL: &[u8] = b"atrest-keyfile-v1";
const HKDF_SALT: &[u8] = b"atrest-keyfile-v1";
/// A wrapped data key: key id, nonce, encrypted key, tag.
pub const WRAPPED_LEN: usize = KEY_ID_LEN + NONCE_LEN + 32 + TAG_LEN;
/// A key file is about 130 bytes; anything much larger is not one.
const MAX_FILE_LEN: u64 = 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    #[error("`{}` already exists", shown_path(path))]
    Exists { path: PathBuf },
    #[error("cannot {action} key file `{}`: {source}", shown_path(path))]
    Io {
        action: IoAction,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not an atrest key file", shown_path(path))]
    Malformed { path: PathBuf },
    #[error(
        "key file `{}` may be read by other users (mode {mode:04o})",
        shown_path(path)
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error(transparent)]
    Crypto(#[from] CellError),
}

/// What a key file failed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoAction {
    Create,
    Write,
    Read,
}

impl std::fmt::Display for IoAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IoAction::Create => "create",
            IoAction::Write => "write",
            IoAction::Read => "read",
        })
    }
}

impl Help for KeyFileError {
    fn help(&self) -> Option<String> {
        match self {
            Self::Exists { .. } => {
                Some("choose a new path, a key file is never overwritten".into())
            }
            Self::Io {
                action: IoAction::Read,
                ..
            } => Some("check the path of the key file".into()),
            Self::Io { .. } => Some("check that its directory exists and is writable".into()),
            Self::Malformed { .. } => Some("pass a key file that atrest wrote".into()),
            Self::Permissions { path, .. } => Some(format!("run `chmod 600 {}`", shown_path(path))),
            Self::Crypto(e) => e.help(),
        }
    }

    fn is_usage(&self) -> bool {
        match self {
            Self::Io { action, .. } => *action == IoAction::Read,
            Self::Crypto(e) => e.is_usage(),
            _ => true,
        }
    }
}

/// The key-file provider. Holds the derived wrapping key and blind-index root, never the file's text.
pub struct KeyFileProvider {
    id: String,
    key_id: [u8; KEY_ID_LEN],
    wrap: LessSafeKey,
    index_root: IndexKey,
}

impl std::fmt::Debug for KeyFileProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFileProvider")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl KeyFileProvider {
    /// Creates a new key file (never overwriting one) and returns its provider.
    pub fn create(path: &Path) -> Result<Self, KeyFileError> {
        let mut root = Zeroizing::new([0u8; ROOT_LEN]);
        let mut key_id = [0u8; KEY_ID_LEN];
        fill_random(&mut root[..])?;
        fill_random(&mut key_id)?;
        // The key's hex is written straight into zeroized memory (no temporary `String`).
        let mut text = Zeroizing::new(String::with_capacity(
            HEADER.len() + 4 + 2 * KEY_ID_LEN + 5 + 2 * ROOT_LEN + 1,
        ));
        text.push_str(HEADER);
        text.push_str("\nid ");
        text.push_str(&hex::encode(key_id));
        text.push_str("\nkey ");
        for b in root.iter() {
            for nibble in [b >> 4, b & 0x0f] {
                text.push(char::from(
                    b"0123456789abcdef"
                        .get(usize::from(nibble))
                        .copied()
                        .unwrap_or(b'0'),
                ));
            }
        }
        text.push('\n');
        let mut file = fsutil::create_private(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists {
                path: path.to_owned(),
            },
            _ => io_error(IoAction::Create, path, e),
        })?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(IoAction::Write, path, e))?;
        Self::from_parts(key_id, &root)
    }

    /// Opens an existing key file.
    pub fn open(path: &Path) -> Result<Self, KeyFileError> {
        let file = std::fs::File::open(path).map_err(|e| io_error(IoAction::Read, path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file
                .metadata()
                .map_err(|e| io_error(IoAction::Read, path, e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(KeyFileError::Permissions {
                    path: path.to_owned(),
                    mode: mode & 0o7777,
                });
            }
        }
        // Room for the whole bounded read up front: a growing buffer would free copies of the key unzeroized.
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_FILE_LEN as usize + 1));
        let malformed = || KeyFileError::Malformed {
            path: path.to_owned(),
        };
        file.take(MAX_FILE_LEN)
            .read_to_end(&mut bytes)
            .map_err(|_| malformed())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed())?;
        let (key_id, root) = parse(text).ok_or_else(malformed)?;
        Self::from_parts(key_id, &root)
    }

    /// A provider with a random root key that lives in memory only (benchmarks, tests). Its data keys cannot be
    /// unwrapped once it is dropped.
    pub fn ephemeral() -> Result<Self, CellError> {
        let mut root = Zeroizing::new([0u8; ROOT_LEN]);
        let mut key_id = [0u8; KEY_ID_LEN];
        fill_random(&mut root[..])?;
        fill_random(&mut key_id)?;
        Self::from_parts(key_id, &root).map_err(|e| match e {
            KeyFileError::Crypto(c) => c,
            _ => CellError::Internal("ephemeral key file"),
        })
    }

    fn from_parts(key_id: [u8; KEY_ID_LEN], root: &[u8; ROOT_LEN]) -> Result<Self, KeyFileError> {
        let mut wrap = Zeroizing::new([0u8; 32]);
        hkdf_expand(HKDF_SALT, root, &[b"wrap"], &mut wrap[..])?;
        let mut index = Zeroizing::new([0u8; 32]);
        hkdf_expand(HKDF_SALT, root, &[b"blind-index"], &mut index[..])?;
        let unbound = UnboundKey::new(&aead::AES_256_GCM, &wrap[..])
            .map_err(|_| CellError::Internal("aes key length"))?;
        Ok(KeyFileProvider {
            id: format!("keyfile:{}", hex::encode(key_id)),
            key_id,
            wrap: LessSafeKey::new(unbound),
            index_root: IndexKey::from_zeroizing(index),
        })
    }

    /// The file's key id, in hex (safe to print).
    pub fn key_id(&self) -> String {
        hex::encode(self.key_id)
    }

    /// The long-lived root of this file's blind indexes: stable across data keys, so equality search keeps
    /// working after rotation of data keys.
    pub fn index_root(&self) -> &IndexKey {
        &self.index_root
    }

    fn aad(&self, scope: &KeyScope) -> Vec<u8> {
        let mut aad = Vec::with_capacity(WRAP_AAD_LABEL.len() + KEY_ID_LEN + 64);
        aad.extend_from_slice(WRAP_AAD_LABEL);
        aad.extend_from_slice(&self.key_id);
        encode_map(scope, &mut aad);
        aad
    }
}

fn io_error(action: IoAction, path: &Path, source: std::io::Error) -> KeyFileError {
    KeyFileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn parse(text: &str) -> Option<([u8; KEY_ID_LEN], Zeroizing<[u8; ROOT_LEN]>)> {
    let rest = text.strip_prefix(HEADER)?.strip_prefix('\n')?;
    let rest = rest.strip_prefix("id ")?;
    let (id_hex, rest) = rest.split_once('\n')?;
    let key_hex = rest.strip_prefix("key ")?.strip_suffix('\n')?;
    let lower_hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !lower_hex(id_hex) || !lower_hex(key_hex) {
        return None;
    }
    let mut key_id = [0u8; KEY_ID_LEN];
    hex::decode_to_slice(id_hex, &mut key_id).ok()?;
    let mut root = Zeroizing::new([0u8; ROOT_LEN]);
    hex::decode_to_slice(key_hex, &mut root[..]).ok()?;
    Some((key_id, root))
}

impl KeyProvider for KeyFileProvider {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::KeyFile
    }

    fn generate(&self, scope: &KeyScope) -> Result<GeneratedKey, ProviderError> {
        let plaintext = DataKey::random().map_err(|_| ProviderError::Random)?;
        let wrapped = self.wrap_key(&plaintext, scope)?;
        Ok(GeneratedKey { plaintext, wrapped })
    }

    fn unwrap_key(&self, wrapped: &[u8], scope: &KeyScope) -> Result<DataKey, ProviderError> {
        if wrapped.len() != WRAPPED_LEN {
            return Err(ProviderError::Rejected);
        }
        let (key_id, rest) = wrapped.split_at(KEY_ID_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        if key_id != self.key_id {
            return Err(ProviderError::Rejected);
        }
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ProviderError::Rejected)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = self
            .wrap
            .open_in_place(nonce, Aad::from(self.aad(scope)), &mut buf[..])
            .map_err(|_| ProviderError::Rejected)?;
        DataKey::from_slice(plain)
    }

    fn wrap_key(&self, key: &DataKey, scope: &KeyScope) -> Result<Vec<u8>, ProviderError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce).map_err(|_| ProviderError::Random)?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(key.expose());
        let body = out
            .get_mut(KEY_ID_LEN + NONCE_LEN..)
            .ok_or(ProviderError::Rejected)?;
        let tag = self
            .wrap
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(scope)),
                body,
            )
            .map_err(|_| ProviderError::Internal("aes-gcm refused to wrap a data key"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn blind_index_root(&self) -> Option<IndexKey> {
        Some(self.index_root.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(column: &str) -> KeyScope {
        [("atrest:table", "t"), ("atrest:column", column)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn create_open_wrap_unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let created = KeyFileProvider::create(&path).unwrap();
        assert!(matches!(
            KeyFileProvider::create(&path),
            Err(KeyFileError::Exists { .. })
        ));
        let opened = KeyFileProvider::open(&path).unwrap();
        assert_eq!(created.id(), opened.id());
        let generated = created.generate(&scope("c")).unwrap();
        let back = opened.unwrap_key(&generated.wrapped, &scope("c")).unwrap();
        assert_eq!(back.expose(), generated.plaintext.expose());
        assert!(matches!(
            opened.unwrap_key(&generated.wrapped, &scope("d")),
            Err(ProviderError::Rejected)
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                KeyFileProvider::open(&path),
                Err(KeyFileError::Permissions { .. })
            ));
        }
    }

    #[test]
    fn another_file_cannot_unwrap() {
        let a = KeyFileProvider::ephemeral().unwrap();
        let b = KeyFileProvider::ephemeral().unwrap();
        let generated = a.generate(&scope("c")).unwrap();
        assert!(matches!(
            b.unwrap_key(&generated.wrapped, &scope("c")),
            Err(ProviderError::Rejected)
        ));
    }

    #[test]
    fn parse_is_strict() {
        let good = format!(
            "{HEADER}\nid {}\nkey {}\n",
            "ab".repeat(16),
            "cd".repeat(32)
        );
        assert!(parse(&good).is_some());
        assert!(parse(&good.replace("ab", "AB")).is_none());
        assert!(parse(&format!("{good}\n")).is_none());
        assert!(parse(good.trim_end()).is_none());
        assert!(parse(&good.replace("id ", "id  ")).is_none());
    }
}
