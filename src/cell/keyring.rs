//! The keyring of the compact form: each wrapped data key stored once, found by its 16-byte key reference (the first
//! bytes of the key's commitment), plus the wrapped roots of blind indexes. A JSON file (docs/format.md, "Keyring
//! file") or memory only.
//!
//! A file-backed keyring writes a new entry to disk before the data key encrypts anything, so no ciphertext can
//! outlive its key. Writers take an advisory lock on `<file>.lock`, merge what other processes added, and replace
//! the file atomically (write a temporary file, then rename).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::error::CellError;
use super::format::MAX_WRAPPED_LEN;
use super::index::IndexKey;
use super::keys::{KeyProvider, ProviderKind, Scope, ct_eq};
use super::suite::{COMMITMENT_LEN, KEY_REF_LEN, SUITE_ID, commitment_of};

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
    pub scope: Scope,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

#[derive(Clone, Debug, Default)]
struct State {
    keys: BTreeMap<[u8; KEY_REF_LEN], KeyringEntry>,
    index_keys: BTreeMap<Scope, (ProviderKind, Vec<u8>)>,
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
    scope: Scope,
    created: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexJson {
    scope: Scope,
    provider: String,
    wrapped: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn bad(message: impl Into<String>) -> CellError {
    CellError::Keyring(message.into())
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
        scope: &Scope,
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
            return Err(bad(
                "the blind-index key was wrapped by another kind of key provider",
            ));
        }
        let key = provider
            .unwrap_key(&wrapped, &scope)
            .map_err(|e| bad(format!("cannot unwrap the blind-index key: {e}")))?;
        Ok(IndexKey::from_bytes(*key.expose()))
    }

    /// Rewraps every stored key from `from` to `to` (a new KMS key or key file). The data keys, and so every cell,
    /// stay as they are. All or nothing: the first key that fails to unwrap or verify stops the rewrap unchanged.
    /// Returns how many keys were rewrapped.
    pub fn rewrap(&self, from: &dyn KeyProvider, to: &dyn KeyProvider) -> Result<usize, CellError> {
        self.update(|state| {
            let mut next = state.clone();
            for entry in next.keys.values_mut() {
                let key = from.unwrap_key(&entry.wrapped, &entry.scope).map_err(|e| {
                    bad(format!(
                        "key `{}` cannot be unwrapped: {e}",
                        hex::encode(entry.key_ref)
                    ))
                })?;
                if !ct_eq(&commitment_of(&key)?, &entry.commitment) {
                    return Err(bad(format!(
                        "key `{}` does not match its commitment",
                        hex::encode(entry.key_ref)
                    )));
                }
                entry.wrapped = to.wrap_key(&key, &entry.scope)?;
                entry.provider = to.kind();
            }
            for (scope, (kind, wrapped)) in next.index_keys.iter_mut() {
                let key = from
                    .unwrap_key(wrapped, scope)
                    .map_err(|e| bad(format!("a blind-index key cannot be unwrapped: {e}")))?;
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
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| bad(format!("cannot open `{}`: {e}", lock_path.display())))?;
        lock_file
            .lock()
            .map_err(|e| bad(format!("cannot lock `{}`: {e}", lock_path.display())))?;
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
        scope: Scope,
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

fn read_file(path: &Path) -> Result<Option<State>, CellError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(format!("cannot read `{}`: {e}", path.display()))),
    };
    let mut text = String::new();
    file.take(MAX_FILE_LEN + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("cannot read `{}`: {e}", path.display())))?;
    if text.len() as u64 > MAX_FILE_LEN {
        return Err(bad(format!(
            "`{}` is larger than {MAX_FILE_LEN} bytes",
            path.display()
        )));
    }
    parse(&text)
        .map(Some)
        .map_err(|e| bad(format!("`{}` is not a valid keyring: {e}", path.display())))
}

fn write_atomically(path: &Path, text: &str) -> Result<(), CellError> {
    let tmp = sibling(path, &format!(".tmp.{}", std::process::id()));
    let fail = |e: std::io::Error| bad(format!("cannot write `{}`: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(fail)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)?;
    // The rename is durable only once the directory is; best effort where directories cannot be opened.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        dir.sync_all().map_err(fail)?;
    }
    Ok(())
}

fn parse(text: &str) -> Result<State, CellError> {
    let file: FileJson = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(bad(format!("expected format `{FORMAT}` version {VERSION}")));
    }
    let mut state = State::default();
    for e in file.keys {
        let mut key_ref = [0u8; KEY_REF_LEN];
        let mut commitment = [0u8; COMMITMENT_LEN];
        hex::decode_to_slice(&e.key_ref, &mut key_ref)
            .map_err(|_| bad(format!("bad ref `{}`", e.key_ref)))?;
        hex::decode_to_slice(&e.commitment, &mut commitment)
            .map_err(|_| bad(format!("bad commitment for ref `{}`", e.key_ref)))?;
        if commitment[..KEY_REF_LEN] != key_ref || e.suite != SUITE_ID {
            return Err(bad(format!(
                "ref `{}` does not match its commitment or suite",
                e.key_ref
            )));
        }
        let provider = ProviderKind::from_name(&e.provider)
            .ok_or_else(|| bad(format!("unknown provider `{}`", e.provider)))?;
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
            return Err(bad(format!("ref `{}` appears twice", e.key_ref)));
        }
    }
    for i in file.index_keys {
        let provider = ProviderKind::from_name(&i.provider)
            .ok_or_else(|| bad(format!("unknown provider `{}`", i.provider)))?;
        let wrapped = decode_wrapped(&i.wrapped)?;
        if state
            .index_keys
            .insert(i.scope, (provider, wrapped))
            .is_some()
        {
            return Err(bad("a blind-index scope appears twice"));
        }
    }
    Ok(state)
}

fn decode_wrapped(text: &str) -> Result<Vec<u8>, CellError> {
    STANDARD
        .decode(text)
        .ok()
        .filter(|w| !w.is_empty() && w.len() <= MAX_WRAPPED_LEN)
        .ok_or_else(|| bad("a wrapped key is not base64 of 1 to 1024 bytes"))
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
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| bad(e.to_string()))?;
    text.push('\n');
    Ok(text)
}
