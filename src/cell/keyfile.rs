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
//! The file is created with `create_new` and mode 0600, and refused when group or others may read it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use super::context::encode_map;
use super::error::{CellError, KeyError};
use super::index::IndexKey;
use super::keys::{DataKey, GeneratedKey, KeyProvider, ProviderKind, Scope, fill_random};
use super::suite::{NONCE_LEN, TAG_LEN, hkdf_expand};

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
pub enum KeyFileError {
    #[error("`{}` already exists", .0.display())]
    Exists(PathBuf),
    #[error("cannot {action} `{}`: {message}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("`{}` is not an atrest key file", .0.display())]
    Malformed(PathBuf),
    #[error("`{}` may be read by other users (mode {mode:04o})", path.display())]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{0}")]
    Crypto(#[from] CellError),
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
        let text = Zeroizing::new(format!(
            "{HEADER}\nid {}\nkey {}\n",
            hex::encode(key_id),
            hex::encode(&root[..])
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.to_owned()),
            _ => io_error("create", path, &e),
        })?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("write", path, &e))?;
        Self::from_parts(key_id, &root)
    }

    /// Opens an existing key file.
    pub fn open(path: &Path) -> Result<Self, KeyFileError> {
        let file = std::fs::File::open(path).map_err(|e| io_error("read", path, &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file
                .metadata()
                .map_err(|e| io_error("read", path, &e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(KeyFileError::Permissions {
                    path: path.to_owned(),
                    mode: mode & 0o7777,
                });
            }
        }
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_FILE_LEN)
            .read_to_string(&mut text)
            .map_err(|_| KeyFileError::Malformed(path.to_owned()))?;
        let (key_id, root) =
            parse(&text).ok_or_else(|| KeyFileError::Malformed(path.to_owned()))?;
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
            index_root: IndexKey::from_bytes(*index),
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

    fn aad(&self, scope: &Scope) -> Vec<u8> {
        let mut aad = Vec::with_capacity(WRAP_AAD_LABEL.len() + KEY_ID_LEN + 64);
        aad.extend_from_slice(WRAP_AAD_LABEL);
        aad.extend_from_slice(&self.key_id);
        encode_map(scope, &mut aad);
        aad
    }
}

fn io_error(action: &'static str, path: &Path, e: &std::io::Error) -> KeyFileError {
    KeyFileError::Io {
        action,
        path: path.to_owned(),
        message: e.to_string(),
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

    fn generate(&self, scope: &Scope) -> Result<GeneratedKey, KeyError> {
        let plaintext = DataKey::random().map_err(|e| KeyError::Unavailable(e.to_string()))?;
        let wrapped = self.wrap_key(&plaintext, scope)?;
        Ok(GeneratedKey { plaintext, wrapped })
    }

    fn unwrap_key(&self, wrapped: &[u8], scope: &Scope) -> Result<DataKey, KeyError> {
        if wrapped.len() != WRAPPED_LEN {
            return Err(KeyError::Rejected);
        }
        let (key_id, rest) = wrapped.split_at(KEY_ID_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        if key_id != self.key_id {
            return Err(KeyError::Rejected);
        }
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Rejected)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = self
            .wrap
            .open_in_place(nonce, Aad::from(self.aad(scope)), &mut buf[..])
            .map_err(|_| KeyError::Rejected)?;
        DataKey::from_slice(plain)
    }

    fn wrap_key(&self, key: &DataKey, scope: &Scope) -> Result<Vec<u8>, KeyError> {
        let unavailable = |e: CellError| KeyError::Unavailable(e.to_string());
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce).map_err(unavailable)?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(key.expose());
        let body = out
            .get_mut(KEY_ID_LEN + NONCE_LEN..)
            .ok_or(KeyError::Rejected)?;
        let tag = self
            .wrap
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(scope)),
                body,
            )
            .map_err(|_| KeyError::Unavailable("aes-gcm refused to wrap a data key".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(column: &str) -> Scope {
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
            Err(KeyFileError::Exists(_))
        ));
        let opened = KeyFileProvider::open(&path).unwrap();
        assert_eq!(created.id(), opened.id());
        let generated = created.generate(&scope("c")).unwrap();
        let back = opened.unwrap_key(&generated.wrapped, &scope("c")).unwrap();
        assert_eq!(back.expose(), generated.plaintext.expose());
        assert_eq!(
            opened
                .unwrap_key(&generated.wrapped, &scope("d"))
                .unwrap_err(),
            KeyError::Rejected
        );
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
        assert_eq!(
            b.unwrap_key(&generated.wrapped, &scope("c")).unwrap_err(),
            KeyError::Rejected
        );
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
