//! The keyring of the compact form: each wrapped data key stored once, found by its 16-byte key reference (the first
//! bytes of the key's commitment), plus the wrapped roots of blind indexes. A JSON file (docs/format.md, "Keyring
//! file") or memory only.
//!
//! A file-backed keyring writes a new entry to disk before the data key encrypts anything, so no ciphertext can
//! outlive its key. Writers take an advisory lock on `<file>.lock`, merge what other processes added, and replace
//! the file atomically (write a private temporary file with an unpredictable name, then rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::error::{CellError, KeyringError, KeyringProblem};
use super::format::MAX_WRAPPED_LEN;
use super::index::IndexKey;
use super::keys::{KeyProvider, KeyScope, ProviderKind, ct_eq};
use super::suite::{COMMITMENT_LEN, KEY_REF_LEN, SUITE_ID, commitment_of};
use crate::fsutil;

const FORMAT: &str = "atrest-keyring";
const VERSION: u32 = 1;
/// The scope key that marks a blind-index root (never a data key).
pub const PURPOSE_KEY: &str = "atrest:purpose";
const PURPOSE_INDEX: &str = "blind-index";
/// A keyring file larger than this is refused (about 200,000 entries).
const MAX_FILE_LEN: u64 = 128 << 20;

/// One wrapped data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyringEntry {
    pub key_ref: [u8; KEY_REF_LEN],
    pub provider: ProviderKind,
    pub wrapped: Vec<u8>,
    pub commitment: [u8; COMMITMENT_LEN],
    pub scope: KeyScope,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

#[derive(Clone, Debug, Default)]
struct State {
    keys: BTreeMap<[u8; KEY_REF_LEN], KeyringEntry>,
    index_keys: BTreeMap<KeyScope, (ProviderKind, Vec<u8>)>,
}

pub struct Keyring {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("path", &self.path)
            .field("keys", &lock(&self.state).keys.len())
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    format: String,
    version: u32,
    keys: Vec<EntryJson>,
    #[serde(default)]
    index_keys: Vec<IndexJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryJson {
    #[serde(rename = "ref")]
    key_ref: String,
    suite: u8,
    provider: String,
    wrapped: String,
    commitment: String,
    scope: KeyScope,
    created: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexJson {
    scope: KeyScope,
    provider: String,
    wrapped: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn invalid(problem: KeyringProblem) -> KeyringError {
    KeyringError::Invalid {
        path: None,
        problem,
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Keyring {
    /// A keyring that lives in memory; persist it with [`Keyring::to_json`].
    pub fn in_memory() -> Self {
        Keyring {
            path: None,
            state: Mutex::new(State::default()),
        }
    }

    /// Opens an existing keyring file.
    pub fn open_existing(path: &Path) -> Result<Self, CellError> {
        let state = read_file(path)?.ok_or_else(|| KeyringError::Missing {
            path: path.to_owned(),
        })?;
        Ok(Keyring {
            path: Some(path.to_owned()),
            state: Mutex::new(state),
        })
    }

    /// Opens a keyring file, or starts an empty one that is created on the first new key.
    pub fn open(path: &Path) -> Result<Self, CellError> {
        let state = read_file(path)?.unwrap_or_default();
        Ok(Keyring {
            path: Some(path.to_owned()),
            state: Mutex::new(state),
        })
    }

    pub fn from_json(text: &str) -> Result<Self, CellError> {
        Ok(Keyring {
            path: None,
            state: Mutex::new(parse(text)?),
        })
    }

    pub fn to_json(&self) -> Result<String, CellError> {
        render(&lock(&self.state))
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn len(&self) -> usize {
        lock(&self.state).keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, key_ref: &[u8; KEY_REF_LEN]) -> Option<KeyringEntry> {
        lock(&self.state).keys.get(key_ref).cloned()
    }

    /// Like [`Keyring::get`], but on a miss a file-backed keyring reads its file again (another process may have
    /// added the key since).
    pub fn find(&self, key_ref: &[u8; KEY_REF_LEN]) -> Option<KeyringEntry> {
        if let Some(entry) = self.get(key_ref) {
            return Some(entry);
        }
        let on_disk = self
            .path
            .as_deref()
            .and_then(|p| read_file(p).ok().flatten())?;
        let mut state = lock(&self.state);
        for (r, entry) in on_disk.keys {
            state.keys.entry(r).or_insert(entry);
        }
        state.keys.get(key_ref).cloned()
    }

    pub fn entries(&self) -> Vec<KeyringEntry> {
        lock(&self.state).keys.values().cloned().collect()
    }

    /// Adds a data key (and writes the file, if any, before returning).
    pub fn insert(&self, entry: KeyringEntry) -> Result<(), CellError> {
        self.update(|state| {
            state.keys.insert(entry.key_ref, entry);
            Ok(())
        })
    }

    /// The blind-index root of a context's scope: unwrapped from the keyring, or made by `provider` and stored on
    /// first use. It never changes afterwards (rewrap keeps the key itself), so indexes stay comparable.
    pub fn index_root(
        &self,
        provider: &dyn KeyProvider,
        scope: &KeyScope,
    ) -> Result<IndexKey, CellError> {
        let mut scope = scope.clone();
        scope.insert(PURPOSE_KEY.to_owned(), PURPOSE_INDEX.to_owned());
        let stored = lock(&self.state).index_keys.get(&scope).cloned();
        let (kind, wrapped) = match stored {
            Some(found) => found,
            None => {
                let generated = provider.generate(&scope)?;
                let wrapped = generated.wrapped;
                let kind = provider.kind();
                let (s, w) = (scope.clone(), wrapped.clone());
                self.update(move |state| {
                    state.index_keys.entry(s).or_insert((kind, w));
                    Ok(())
                })?;
                // Another process may have stored a root first; use the one the keyring holds.
                lock(&self.state)
                    .index_keys
                    .get(&scope)
                    .cloned()
                    .unwrap_or((kind, wrapped))
            }
        };
        if kind != provider.kind() {
            return Err(KeyringError::IndexKeyProvider.into());
        }
        let key = provider
            .unwrap_key(&wrapped, &scope)
            .map_err(|source| KeyringError::IndexKeyUnwrap { source })?;
        Ok(IndexKey::from_bytes(*key.expose()))
    }

    /// Rewraps every stored key from `from` to `to` (a new KMS key or key file). The data keys, and so every cell,
    /// stay as they are. All or nothing: the first key that fails to unwrap or verify stops the rewrap unchanged.
    /// Returns how many keys were rewrapped.
    pub fn rewrap(&self, from: &dyn KeyProvider, to: &dyn KeyProvider) -> Result<usize, CellError> {
        self.update(|state| {
            let mut next = state.clone();
            for entry in next.keys.values_mut() {
                let key = from
                    .unwrap_key(&entry.wrapped, &entry.scope)
                    .map_err(|source| KeyringError::Unwrap {
                        key_ref: entry.key_ref,
                        source,
                    })?;
                if !ct_eq(&commitment_of(&key)?, &entry.commitment) {
                    return Err(KeyringError::Commitment {
                        key_ref: entry.key_ref,
                    }
                    .into());
                }
                entry.wrapped = to.wrap_key(&key, &entry.scope)?;
                entry.provider = to.kind();
            }
            for (scope, (kind, wrapped)) in next.index_keys.iter_mut() {
                let key = from
                    .unwrap_key(wrapped, scope)
                    .map_err(|source| KeyringError::IndexKeyUnwrap { source })?;
                *wrapped = to.wrap_key(&key, scope)?;
                *kind = to.kind();
            }
            let count = next.keys.len() + next.index_keys.len();
            *state = next;
            Ok(count)
        })
    }

    /// Applies `change` to the state; for a file, under the lock, after merging the file's entries, and writes it.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, CellError>,
    ) -> Result<T, CellError> {
        let mut state = lock(&self.state);
        let Some(path) = &self.path else {
            return change(&mut state);
        };
        let lock_path = sibling(path, ".lock");
        let lock_error = |e: std::io::Error| KeyringError::Lock {
            lock: lock_path.clone(),
            source: e.into(),
        };
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(lock_error)?;
        lock_file.lock().map_err(lock_error)?;
        if let Some(on_disk) = read_file(path)? {
            for (r, entry) in on_disk.keys {
                state.keys.entry(r).or_insert(entry);
            }
            for (scope, key) in on_disk.index_keys {
                state.index_keys.entry(scope).or_insert(key);
            }
        }
        let mut next = state.clone();
        let out = change(&mut next)?;
        write_atomically(path, &render(&next)?)?;
        *state = next;
        Ok(out)
    }
}

impl KeyringEntry {
    /// An entry for a data key just made by a provider.
    pub fn new(
        commitment: [u8; COMMITMENT_LEN],
        provider: ProviderKind,
        wrapped: Vec<u8>,
        scope: KeyScope,
    ) -> Self {
        let mut key_ref = [0u8; KEY_REF_LEN];
        key_ref.copy_from_slice(&commitment[..KEY_REF_LEN]);
        KeyringEntry {
            key_ref,
            provider,
            wrapped,
            commitment,
            scope,
            created: now_unix(),
        }
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn read_file(path: &Path) -> Result<Option<State>, KeyringError> {
    let bytes = match fsutil::read_bounded(path, MAX_FILE_LEN) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(fsutil::ReadError::TooLarge { max, .. }) => {
            return Err(KeyringError::TooLarge {
                path: path.to_owned(),
                max,
            });
        }
        Err(fsutil::ReadError::Io { source, .. }) => {
            return Err(KeyringError::Read {
                path: path.to_owned(),
                source: source.into(),
            });
        }
        Err(_) => {
            let not_a_file =
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
            return Err(KeyringError::Read {
                path: path.to_owned(),
                source: not_a_file.into(),
            });
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| KeyringError::Read {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e).into(),
    })?;
    parse(&text).map(Some).map_err(|e| match e {
        KeyringError::Invalid { problem, .. } => KeyringError::Invalid {
            path: Some(path.to_owned()),
            problem,
        },
        other => other,
    })
}

/// Writes `text` to a fresh private file beside `path` (an unpredictable name, created new, so a planted file or
/// symlink is never written through), then renames it over `path`.
fn write_atomically(path: &Path, text: &str) -> Result<(), KeyringError> {
    use std::io::Write;
    let fail = |e: std::io::Error| KeyringError::Write {
        path: path.to_owned(),
        source: e.into(),
    };
    let (tmp, mut file) = fsutil::create_private_beside(path).map_err(fail)?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        // Best effort: do not leave the temporary file behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    // The rename is durable only once the directory is; best effort where directories cannot be opened.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        dir.sync_all().map_err(fail)?;
    }
    Ok(())
}

fn parse(text: &str) -> Result<State, KeyringError> {
    let file: FileJson =
        serde_json::from_str(text).map_err(|e| invalid(KeyringProblem::Json(e.into())))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(invalid(KeyringProblem::Version));
    }
    let mut state = State::default();
    for e in file.keys {
        let mut key_ref = [0u8; KEY_REF_LEN];
        let mut commitment = [0u8; COMMITMENT_LEN];
        let problem = |make: fn(String) -> KeyringProblem| invalid(make(e.key_ref.clone()));
        hex::decode_to_slice(&e.key_ref, &mut key_ref)
            .map_err(|_| problem(|key_ref| KeyringProblem::BadRef { key_ref }))?;
        hex::decode_to_slice(&e.commitment, &mut commitment)
            .map_err(|_| problem(|key_ref| KeyringProblem::BadCommitment { key_ref }))?;
        if commitment[..KEY_REF_LEN] != key_ref || e.suite != SUITE_ID {
            return Err(problem(|key_ref| KeyringProblem::RefMismatch { key_ref }));
        }
        let provider = ProviderKind::from_name(&e.provider).ok_or_else(|| {
            invalid(KeyringProblem::UnknownProvider {
                name: e.provider.clone(),
            })
        })?;
        let wrapped = decode_wrapped(&e.wrapped)?;
        let entry = KeyringEntry {
            key_ref,
            provider,
            wrapped,
            commitment,
            scope: e.scope,
            created: e.created,
        };
        if state.keys.insert(key_ref, entry).is_some() {
            return Err(invalid(KeyringProblem::DuplicateRef {
                key_ref: hex::encode(key_ref),
            }));
        }
    }
    for i in file.index_keys {
        let provider = ProviderKind::from_name(&i.provider).ok_or_else(|| {
            invalid(KeyringProblem::UnknownProvider {
                name: i.provider.clone(),
            })
        })?;
        let wrapped = decode_wrapped(&i.wrapped)?;
        if state
            .index_keys
            .insert(i.scope, (provider, wrapped))
            .is_some()
        {
            return Err(invalid(KeyringProblem::DuplicateIndexScope));
        }
    }
    Ok(state)
}

fn decode_wrapped(text: &str) -> Result<Vec<u8>, KeyringError> {
    STANDARD
        .decode(text)
        .ok()
        .filter(|w| !w.is_empty() && w.len() <= MAX_WRAPPED_LEN)
        .ok_or_else(|| invalid(KeyringProblem::Wrapped))
}

fn render(state: &State) -> Result<String, CellError> {
    let file = FileJson {
        format: FORMAT.to_owned(),
        version: VERSION,
        keys: state
            .keys
            .values()
            .map(|e| EntryJson {
                key_ref: hex::encode(e.key_ref),
                suite: SUITE_ID,
                provider: e.provider.name().to_owned(),
                wrapped: STANDARD.encode(&e.wrapped),
                commitment: hex::encode(e.commitment),
                scope: e.scope.clone(),
                created: e.created,
            })
            .collect(),
        index_keys: state
            .index_keys
            .iter()
            .map(|(scope, (kind, wrapped))| IndexJson {
                scope: scope.clone(),
                provider: kind.name().to_owned(),
                wrapped: STANDARD.encode(wrapped),
            })
            .collect(),
    };
    // Plain strings, numbers and string maps always serialize.
    let mut text = serde_json::to_string_pretty(&file)
        .map_err(|_| CellError::Internal("keyring serialization"))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_a_temporary_name_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        // The name the keyring once used for its temporary file.
        let planted = sibling(&path, &format!(".tmp.{}", std::process::id()));
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        let keyring = Keyring::open(&path).unwrap();
        let entry = KeyringEntry::new(
            [7; COMMITMENT_LEN],
            ProviderKind::KeyFile,
            vec![1; 76],
            KeyScope::new(),
        );
        keyring.insert(entry).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(Keyring::open(&path).unwrap().len(), 1);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.contains(".tmp.") || planted.ends_with(n)),
            "{names:?}"
        );
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        assert!(matches!(
            Keyring::open_existing(&path),
            Err(CellError::Keyring(KeyringError::Missing { .. }))
        ));
        std::fs::write(
            &path,
            r#"{"format":"atrest-keyring","version":2,"keys":[]}"#,
        )
        .unwrap();
        let e = Keyring::open(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "`{}` is not a valid keyring: expected format `atrest-keyring` version 1",
                path.display()
            )
        );
        assert!(crate::error::Help::is_usage(&e));
        let e = Keyring::from_json(r#"{"format":"atrest-keyring","version":1,"keys":[],"index_keys":[{"scope":{},"provider":"x\u001b","wrapped":"AA=="}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the text is not a valid keyring: unknown provider `x\\u{1b}`"
        );
    }
}
