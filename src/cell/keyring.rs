//! The keyring of the compact form: each wrapped data key stored once, found by its 16-byte key reference (the first
//! bytes of the key's commitment), plus the wrapped roots of blind indexes. A JSON file (docs/format.md, "Keyring
//! file") or memory only.
//!
//! A file-backed keyring writes a new entry to disk before the data key encrypts anything, so no ciphertext can
//! outlive its key. Writers take an advisory lock on `<file>.lock`, reload the file under it (what is on disk wins
//! over what this process read earlier, so a rewrap by another process is never undone), check that the result
//! stays under the size a reader accepts, and replace the file atomically (write a private temporary file with an
//! unpredictable name, then rename). The file names the master key that wraps it (`wrapped_by`); a writer holding
//! another key (one that a rewrap retired) is refused, so no new entry is wrapped under a retired key.
//!
//! Lookups of unknown references re-read the file only when it changed since it was last read (length,
//! modification time, inode), so a forged reference costs one `stat`, not a parse.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::error::{CellError, KeyringError, KeyringProblem};
use super::format::{MAX_PLAINTEXT_LEN, MAX_WRAPPED_LEN};
use super::index::IndexKey;
use super::keys::{KeyProvider, KeyScope, ProviderKind, ct_eq};
use super::suite::{COMMITMENT_LEN, KEY_REF_LEN, SUITE_ID, commitment_of};
use crate::fsutil;

const FORMAT: &str = "atrest-keyring";
const VERSION: u32 = 1;
/// The scope key that marks a blind-index root (never a data key).
pub const PURPOSE_KEY: &str = "atrest:purpose";
const PURPOSE_INDEX: &str = "blind-index";
/// A keyring file larger than this is refused by readers, and never written (about 300,000 entries).
pub const MAX_FILE_LEN: u64 = 128 << 20;
/// Unknown references remembered between changes of the file (then forgotten all at once).
const MAX_MISSING: usize = 4096;

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
    /// What every process together has taken of this key's limits, when known. Only a key that records it is
    /// lent to another process (an entry of an earlier version, with no record, may be used up already).
    pub leased: Option<Leased>,
}

/// Cells and plaintext bytes that processes have reserved under one data key (each process encrypts at most what
/// it reserved), so that all of them together stay within one key's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leased {
    pub messages: u64,
    pub bytes: u64,
}

/// A process reserves this fraction of a data key's limits at a time, so that up to this many processes share one
/// key before a new one is made.
const LEASE_SHARES: u64 = 16;

/// What one process may encrypt under a key it takes from the keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    pub messages: u64,
    pub bytes: u64,
}

impl Allowance {
    /// The next share of `limits` that `leased` leaves, or `None` when not even one share of a maximal cell fits.
    fn next(leased: Leased, max_messages: u64, max_bytes: u64) -> Option<Self> {
        let messages_left = max_messages.checked_sub(leased.messages)?;
        let bytes_left = max_bytes.checked_sub(leased.bytes)?;
        let allowance = Allowance {
            messages: messages_left.min(max_messages.div_ceil(LEASE_SHARES).max(1)),
            bytes: bytes_left.min(
                max_bytes
                    .div_ceil(LEASE_SHARES)
                    .max(MAX_PLAINTEXT_LEN as u64),
            ),
        };
        // Every allowance holds at least one cell of any size, so a caller is never lent a share too small to use.
        (allowance.messages > 0 && allowance.bytes >= MAX_PLAINTEXT_LEN as u64).then_some(allowance)
    }

    fn add_to(self, leased: Leased) -> Leased {
        Leased {
            messages: leased.messages.saturating_add(self.messages),
            bytes: leased.bytes.saturating_add(self.bytes),
        }
    }
}

/// The share of a new key that its maker reserves.
pub(crate) fn first_share(max_messages: u64, max_bytes: u64) -> Allowance {
    // A fresh record always has a share left (the limits hold at least one maximal cell).
    Allowance::next(Leased::default(), max_messages, max_bytes).unwrap_or(Allowance {
        messages: max_messages,
        bytes: max_bytes,
    })
}

/// The limits a process applies to the data keys it takes from a keyring (its key cache's).
#[derive(Clone, Copy, Debug)]
pub struct ShareLimits {
    pub max_age_secs: u64,
    pub max_messages: u64,
    pub max_bytes: u64,
}

/// A wrapped blind-index root and the commitment of its plaintext (checked on every unwrap). Keyrings of earlier
/// versions stored roots without one: such a root is refused until `Keyring::commit_index_roots` records it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct IndexEntry {
    provider: ProviderKind,
    wrapped: Vec<u8>,
    commitment: Option<[u8; COMMITMENT_LEN]>,
}

#[derive(Clone, Debug, Default)]
struct State {
    /// The id of the master key that wraps every entry ([`KeyProvider::id`]), once a writer has recorded it.
    wrapped_by: Option<String>,
    keys: BTreeMap<[u8; KEY_REF_LEN], KeyringEntry>,
    index_keys: BTreeMap<KeyScope, IndexEntry>,
    /// The file as it was when last read, to skip re-reading an unchanged file.
    stamp: Option<Stamp>,
    /// References looked up and not found since the file was last read.
    missing: HashSet<[u8; KEY_REF_LEN]>,
}

impl State {
    /// Takes what is on disk: the file's entries replace this process's copies (a rewrap elsewhere wins), entries
    /// only this process holds stay.
    fn absorb(&mut self, on_disk: State) {
        if on_disk.wrapped_by.is_some() {
            self.wrapped_by = on_disk.wrapped_by;
        }
        self.keys.extend(on_disk.keys);
        self.index_keys.extend(on_disk.index_keys);
        self.stamp = on_disk.stamp;
        self.missing.clear();
    }
}

/// What identifies one version of the keyring file: a rename replaces the inode, a write changes length or time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

fn stamp_of(meta: &std::fs::Metadata) -> Stamp {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode,
    }
}

fn current_stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path).ok().map(|m| stamp_of(&m))
}

pub struct Keyring {
    path: Option<PathBuf>,
    /// Unique per keyring value in this process (part of an encryptor's cache partition).
    instance: u64,
    /// The largest file written or read: [`MAX_FILE_LEN`] (smaller in tests).
    max_len: u64,
    state: Mutex<State>,
}

fn next_instance() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wrapped_by: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leased: Option<Leased>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexJson {
    scope: KeyScope,
    provider: String,
    wrapped: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commitment: Option<String>,
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

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Keyring {
    /// A keyring that lives in memory; persist it with [`Keyring::to_json`].
    pub fn in_memory() -> Self {
        Keyring {
            path: None,
            instance: next_instance(),
            max_len: MAX_FILE_LEN,
            state: Mutex::new(State::default()),
        }
    }

    /// Opens an existing keyring file.
    pub fn open_existing(path: &Path) -> Result<Self, CellError> {
        let state = read_file(path, MAX_FILE_LEN)?.ok_or_else(|| KeyringError::Missing {
            path: path.to_owned(),
        })?;
        Ok(Keyring {
            path: Some(path.to_owned()),
            instance: next_instance(),
            max_len: MAX_FILE_LEN,
            state: Mutex::new(state),
        })
    }

    /// Opens a keyring file, or starts an empty one that is created on the first new key.
    pub fn open(path: &Path) -> Result<Self, CellError> {
        let state = read_file(path, MAX_FILE_LEN)?.unwrap_or_default();
        Ok(Keyring {
            path: Some(path.to_owned()),
            instance: next_instance(),
            max_len: MAX_FILE_LEN,
            state: Mutex::new(state),
        })
    }

    pub fn from_json(text: &str) -> Result<Self, CellError> {
        Ok(Keyring {
            path: None,
            instance: next_instance(),
            max_len: MAX_FILE_LEN,
            state: Mutex::new(parse(text)?),
        })
    }

    pub fn to_json(&self) -> Result<String, CellError> {
        render(&lock(&self.state))
    }

    pub(crate) fn instance(&self) -> u64 {
        self.instance
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

    /// Like [`Keyring::get`], but on a miss a file-backed keyring reads its file again if it changed since it was
    /// last read (another process may have added the key). A reference that is still unknown is remembered, so a
    /// value naming a forged reference costs a `stat` of the file, not a parse of it.
    pub fn find(&self, key_ref: &[u8; KEY_REF_LEN]) -> Option<KeyringEntry> {
        let path = {
            let state = lock(&self.state);
            if let Some(entry) = state.keys.get(key_ref) {
                return Some(entry.clone());
            }
            let path = self.path.as_deref()?;
            // Unchanged since it was read (or still absent, for a reference already missed): nothing new to find.
            if current_stamp(path) == state.stamp
                && (state.stamp.is_some() || state.missing.contains(key_ref))
            {
                return None;
            }
            path.to_owned()
        };
        let on_disk = read_file(&path, self.max_len).ok().flatten();
        let mut state = lock(&self.state);
        if let Some(on_disk) = on_disk {
            state.absorb(on_disk);
        }
        let found = state.keys.get(key_ref).cloned();
        if found.is_none() {
            if state.missing.len() >= MAX_MISSING {
                state.missing.clear();
            }
            state.missing.insert(*key_ref);
        }
        found
    }

    /// The id of the master key that wraps this keyring's entries, once a writer has recorded it.
    pub fn wrapped_by(&self) -> Option<String> {
        lock(&self.state).wrapped_by.clone()
    }

    pub fn entries(&self) -> Vec<KeyringEntry> {
        lock(&self.state).keys.values().cloned().collect()
    }

    /// Adds a data key (and writes the file, if any, before returning). Entries already on disk keep their
    /// wrapping. This does not check which master key wrapped `entry`; encryptors add their keys through a path that
    /// refuses a key other than the keyring's `wrapped_by`.
    pub fn insert(&self, entry: KeyringEntry) -> Result<(), CellError> {
        self.update(|state| {
            state.keys.insert(entry.key_ref, entry);
            Ok(())
        })
    }

    /// Adds a data key that `provider` wrapped, refused when the keyring is wrapped by another master key (it was
    /// rewrapped since this process opened it): an entry under a retired key would undo the rotation for it.
    pub(crate) fn insert_wrapped(
        &self,
        entry: KeyringEntry,
        provider: &dyn KeyProvider,
    ) -> Result<(), CellError> {
        self.update(|state| {
            claim(state, provider, self.path.as_deref())?;
            state.keys.insert(entry.key_ref, entry);
            Ok(())
        })
    }

    /// The blind-index root of a context's scope, unwrapped from the keyring and checked against its stored
    /// commitment; made by `provider` and stored on first use. It never changes afterwards (rewrap keeps the key
    /// itself), so indexes stay comparable. A root is never made again for a scope whose data keys are in the
    /// keyring already: its old root was removed, and a new one would silently stop old indexes from matching.
    pub fn index_root(
        &self,
        provider: &dyn KeyProvider,
        scope: &KeyScope,
    ) -> Result<IndexKey, CellError> {
        let mut index_scope = scope.clone();
        index_scope.insert(PURPOSE_KEY.to_owned(), PURPOSE_INDEX.to_owned());
        let stored = lock(&self.state).index_keys.get(&index_scope).cloned();
        let entry = match stored {
            Some(found) => found,
            None => {
                let generated = provider.generate(&index_scope)?;
                let commitment = commitment_of(&generated.plaintext)?;
                let made = IndexEntry {
                    provider: provider.kind(),
                    wrapped: generated.wrapped,
                    commitment: Some(commitment),
                };
                let path = self.path.as_deref();
                self.update(|state| {
                    // Another process may have stored a root first: the one the keyring holds wins.
                    if let Some(existing) = state.index_keys.get(&index_scope) {
                        return Ok(existing.clone());
                    }
                    if state.keys.values().any(|e| e.scope == *scope) {
                        return Err(KeyringError::IndexKeyMissing {
                            path: path.map(Path::to_owned),
                        }
                        .into());
                    }
                    claim(state, provider, path)?;
                    state.index_keys.insert(index_scope.clone(), made.clone());
                    Ok(made)
                })?
            }
        };
        if entry.provider != provider.kind() {
            return Err(KeyringError::IndexKeyProvider.into());
        }
        let Some(commitment) = entry.commitment else {
            return Err(KeyringError::IndexKeyUncommitted {
                path: self.path.clone(),
            }
            .into());
        };
        let key = provider
            .unwrap_key(&entry.wrapped, &index_scope)
            .map_err(|source| KeyringError::IndexKeyUnwrap { source })?;
        if !ct_eq(&commitment_of(&key)?, &commitment) {
            return Err(KeyringError::IndexKeyCommitment.into());
        }
        Ok(IndexKey::from_data_key(&key))
    }

    /// Records the commitment of every blind-index root that has none (keyrings of earlier versions stored roots
    /// without one, and such roots are refused). Each root is unwrapped under `provider`, which must be the
    /// keyring's master key; whoever runs this vouches that the roots in the file are the ones they made. All or
    /// nothing. Returns how many roots were recorded.
    pub fn commit_index_roots(&self, provider: &dyn KeyProvider) -> Result<usize, CellError> {
        let path = self.path.as_deref();
        self.update(|state| {
            if state
                .wrapped_by
                .as_deref()
                .is_some_and(|by| by != provider.id())
            {
                claim(state, provider, path)?;
            }
            let mut count = 0;
            for (scope, index) in state.index_keys.iter_mut() {
                if index.commitment.is_some() {
                    continue;
                }
                if index.provider != provider.kind() {
                    return Err(KeyringError::IndexKeyProvider.into());
                }
                let key = provider
                    .unwrap_key(&index.wrapped, scope)
                    .map_err(|source| KeyringError::IndexKeyUnwrap { source })?;
                index.commitment = Some(commitment_of(&key)?);
                count += 1;
            }
            Ok(count)
        })
    }

    /// Lends this process a share of a data key another process (or this one) already made for `scope`: the
    /// youngest entry under `provider` that is younger than `limits.max_age_secs` and has a share of its message
    /// and byte limits left. The share is recorded in the file before it is returned, so processes never reserve
    /// the same cells twice, and together never more than one key's limits. `None` when no entry qualifies (the
    /// caller makes a new key); nothing is written then.
    pub(crate) fn lend(
        &self,
        scope: &KeyScope,
        provider: &dyn KeyProvider,
        limits: ShareLimits,
    ) -> Result<Option<(KeyringEntry, Allowance)>, CellError> {
        let path = self.path.as_deref();
        let now = now_unix();
        self.update(|state| {
            if state.keys.values().all(|e| e.scope != *scope) {
                return Ok(None);
            }
            // Refuse a keyring another master key wraps; record this one only once a key is lent.
            if state
                .wrapped_by
                .as_deref()
                .is_some_and(|by| by != provider.id())
            {
                claim(state, provider, path)?;
            }
            let candidate = state
                .keys
                .values_mut()
                .filter(|e| e.scope == *scope && e.provider == provider.kind())
                .filter(|e| now.saturating_sub(e.created) < limits.max_age_secs && e.created <= now)
                .filter_map(|e| {
                    let allowance =
                        Allowance::next(e.leased?, limits.max_messages, limits.max_bytes)?;
                    Some((e, allowance))
                })
                .max_by_key(|(e, _)| e.created);
            let lent = candidate.map(|(entry, allowance)| {
                if let Some(leased) = entry.leased.as_mut() {
                    *leased = allowance.add_to(*leased);
                }
                (entry.clone(), allowance)
            });
            if lent.is_some() {
                claim(state, provider, path)?;
            }
            Ok(lent)
        })
    }

    /// Rewraps every stored key from `from` to `to` (a new KMS key or key file). The data keys, and so every cell,
    /// stay as they are. All or nothing: the first key that fails to unwrap or verify stops the rewrap unchanged.
    /// Returns how many keys were rewrapped.
    pub fn rewrap(&self, from: &dyn KeyProvider, to: &dyn KeyProvider) -> Result<usize, CellError> {
        let path = self.path.as_deref();
        self.update(|state| {
            if let Some(by) = &state.wrapped_by
                && by != from.id()
            {
                return Err(KeyringError::WrappedBy {
                    path: path.map(Path::to_owned),
                    wrapped_by: by.clone(),
                    given: from.id().to_owned(),
                }
                .into());
            }
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
            for (scope, index) in next.index_keys.iter_mut() {
                // A rotation never vouches for a root on the way: an uncommitted one is recorded explicitly first.
                let commitment =
                    index
                        .commitment
                        .ok_or_else(|| KeyringError::IndexKeyUncommitted {
                            path: path.map(Path::to_owned),
                        })?;
                let key = from
                    .unwrap_key(&index.wrapped, scope)
                    .map_err(|source| KeyringError::IndexKeyUnwrap { source })?;
                if !ct_eq(&commitment_of(&key)?, &commitment) {
                    return Err(KeyringError::IndexKeyCommitment.into());
                }
                index.wrapped = to.wrap_key(&key, scope)?;
                index.provider = to.kind();
            }
            next.wrapped_by = Some(to.id().to_owned());
            let count = next.keys.len() + next.index_keys.len();
            *state = next;
            Ok(count)
        })
    }

    /// Applies `change` to the state; for a file, under the lock, to the file as it is on disk now (its entries
    /// win over this process's copies), and writes it if it stays within [`MAX_FILE_LEN`].
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
        if let Some(on_disk) = read_file(path, self.max_len)? {
            state.absorb(on_disk);
        }
        let mut next = state.clone();
        let out = change(&mut next)?;
        if next.wrapped_by == state.wrapped_by
            && next.keys == state.keys
            && next.index_keys == state.index_keys
        {
            // Nothing changed: no write, and the lock is released.
            return Ok(out);
        }
        let text = render(&next)?;
        if text.len() as u64 > self.max_len {
            return Err(KeyringError::Full {
                path: path.clone(),
                len: text.len() as u64,
                max: self.max_len,
            }
            .into());
        }
        next.stamp = write_atomically(path, &text)?;
        next.missing.clear();
        *state = next;
        Ok(out)
    }
}

/// Records `provider` as the keyring's master key, or refuses it if another one wraps the keyring.
fn claim(
    state: &mut State,
    provider: &dyn KeyProvider,
    path: Option<&Path>,
) -> Result<(), CellError> {
    match &state.wrapped_by {
        Some(by) if by != provider.id() => Err(KeyringError::WrappedBy {
            path: path.map(Path::to_owned),
            wrapped_by: by.clone(),
            given: provider.id().to_owned(),
        }
        .into()),
        Some(_) => Ok(()),
        None => {
            state.wrapped_by = Some(provider.id().to_owned());
            Ok(())
        }
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
            leased: None,
        }
    }

    /// The same entry, recording that its maker reserved `allowance` of it.
    pub fn leased_to_maker(mut self, allowance: Allowance) -> Self {
        self.leased = Some(allowance.add_to(Leased::default()));
        self
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn read_file(path: &Path, max_len: u64) -> Result<Option<State>, KeyringError> {
    #[cfg(test)]
    tests::READS.with(|r| r.set(r.get() + 1));
    // Taken before the read: a change during the read makes the next lookup read again.
    let stamp = current_stamp(path);
    let bytes = match fsutil::read_bounded(path, max_len) {
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
    let mut state = parse(&text).map_err(|e| match e {
        KeyringError::Invalid { problem, .. } => KeyringError::Invalid {
            path: Some(path.to_owned()),
            problem,
        },
        other => other,
    })?;
    state.stamp = stamp;
    Ok(Some(state))
}

/// Writes `text` to a fresh private file beside `path` (an unpredictable name, created new, so a planted file or
/// symlink is never written through), then renames it over `path`.
/// Returns the stamp of the file written.
fn write_atomically(path: &Path, text: &str) -> Result<Option<Stamp>, KeyringError> {
    use std::io::Write;
    let fail = |e: std::io::Error| KeyringError::Write {
        path: path.to_owned(),
        source: e.into(),
    };
    let (tmp, mut file) = fsutil::create_private_beside(path).map_err(fail)?;
    let mut stamp = None;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            stamp = file.metadata().ok().map(|m| stamp_of(&m));
            std::fs::rename(&tmp, path)
        });
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
    Ok(stamp)
}

fn parse(text: &str) -> Result<State, KeyringError> {
    let file: FileJson =
        serde_json::from_str(text).map_err(|e| invalid(KeyringProblem::Json(e.into())))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(invalid(KeyringProblem::Version));
    }
    let mut state = State {
        wrapped_by: file.wrapped_by,
        ..State::default()
    };
    for e in file.keys {
        let mut key_ref = [0u8; KEY_REF_LEN];
        let mut commitment = [0u8; COMMITMENT_LEN];
        let problem = |make: fn(String) -> KeyringProblem| invalid(make(e.key_ref.clone()));
        if !lower_hex(&e.key_ref, &mut key_ref) {
            return Err(problem(|key_ref| KeyringProblem::BadRef { key_ref }));
        }
        if !lower_hex(&e.commitment, &mut commitment) {
            return Err(problem(|key_ref| KeyringProblem::BadCommitment { key_ref }));
        }
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
            leased: e.leased,
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
        let commitment = match &i.commitment {
            None => None,
            Some(text) => {
                let mut commitment = [0u8; COMMITMENT_LEN];
                if !lower_hex(text, &mut commitment) {
                    return Err(invalid(KeyringProblem::BadIndexCommitment));
                }
                Some(commitment)
            }
        };
        let entry = IndexEntry {
            provider,
            wrapped,
            commitment,
        };
        if state.index_keys.insert(i.scope, entry).is_some() {
            return Err(invalid(KeyringProblem::DuplicateIndexScope));
        }
    }
    Ok(state)
}

/// Decodes exactly `out.len()` bytes of lowercase hex (the spec's only spelling: uppercase is refused).
fn lower_hex(text: &str, out: &mut [u8]) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && hex::decode_to_slice(text, out).is_ok()
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
        wrapped_by: state.wrapped_by.clone(),
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
                leased: e.leased,
            })
            .collect(),
        index_keys: state
            .index_keys
            .iter()
            .map(|(scope, i)| IndexJson {
                scope: scope.clone(),
                provider: i.provider.name().to_owned(),
                wrapped: STANDARD.encode(&i.wrapped),
                commitment: i.commitment.map(hex::encode),
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
    use crate::cell::KeyFileProvider;

    thread_local! {
        /// Reads of keyring files by this thread.
        pub(super) static READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn entry(byte: u8) -> KeyringEntry {
        KeyringEntry::new(
            [byte; COMMITMENT_LEN],
            ProviderKind::KeyFile,
            vec![1; 76],
            KeyScope::new(),
        )
    }

    #[test]
    fn a_write_that_would_pass_the_read_limit_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        let mut keyring = Keyring::open(&path).unwrap();
        keyring.insert(entry(1)).unwrap();
        let one = std::fs::metadata(&path).unwrap().len();
        // Room for the file as it is, not for one more entry.
        keyring.max_len = one + 100;
        let e = keyring.insert(entry(2)).unwrap_err();
        assert!(
            matches!(e, CellError::Keyring(KeyringError::Full { max, .. }) if max == one + 100),
            "{e:?}"
        );
        assert!(e.to_string().contains("would grow to"), "{e}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), one);
        assert_eq!(keyring.len(), 1);
        // The file is still readable within the same limit.
        assert_eq!(read_file(&path, one + 100).unwrap().unwrap().keys.len(), 1);
    }

    #[test]
    fn unknown_references_do_not_reread_an_unchanged_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        let writer = Keyring::open(&path).unwrap();
        writer.insert(entry(1)).unwrap();
        let reader = Keyring::open(&path).unwrap();
        let before = READS.with(std::cell::Cell::get);
        for i in 0..200u8 {
            let mut forged = [0xee; KEY_REF_LEN];
            forged[0] = i;
            assert!(reader.find(&forged).is_none());
        }
        assert_eq!(READS.with(std::cell::Cell::get), before);
        // Once the file changes, a lookup reads it again and finds what was added.
        writer.insert(entry(2)).unwrap();
        let reads = READS.with(std::cell::Cell::get);
        assert!(reader.find(&[2; KEY_REF_LEN]).is_some());
        assert_eq!(READS.with(std::cell::Cell::get), reads + 1);
        // A keyring whose file does not exist yet remembers what it missed.
        let absent = Keyring::open(&dir.path().join("none.json")).unwrap();
        assert!(absent.find(&[3; KEY_REF_LEN]).is_none());
        let reads = READS.with(std::cell::Cell::get);
        assert!(absent.find(&[3; KEY_REF_LEN]).is_none());
        assert_eq!(READS.with(std::cell::Cell::get), reads);
    }

    #[test]
    fn a_stale_handle_does_not_undo_a_rewrap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        let (old, new) = (
            KeyFileProvider::ephemeral().unwrap(),
            KeyFileProvider::ephemeral().unwrap(),
        );
        let scope: KeyScope = [("atrest:table".to_owned(), "t".to_owned())].into();
        let generated = old.generate(&scope).unwrap();
        let commitment = commitment_of(&generated.plaintext).unwrap();
        let stale = Keyring::open(&path).unwrap();
        stale
            .insert_wrapped(
                KeyringEntry::new(
                    commitment,
                    ProviderKind::KeyFile,
                    generated.wrapped,
                    scope.clone(),
                ),
                &old,
            )
            .unwrap();
        assert_eq!(Keyring::open(&path).unwrap().rewrap(&old, &new).unwrap(), 1);
        // The stale handle still holds the old wrapping; its next write must keep the rewrapped one.
        stale.insert(entry(9)).unwrap();
        let after = Keyring::open_existing(&path).unwrap();
        let mut key_ref = [0u8; KEY_REF_LEN];
        key_ref.copy_from_slice(&commitment[..KEY_REF_LEN]);
        let kept = after.get(&key_ref).unwrap();
        assert!(new.unwrap_key(&kept.wrapped, &scope).is_ok());
        assert!(old.unwrap_key(&kept.wrapped, &scope).is_err());
        // And a writer with the retired key is refused.
        let e = stale.insert_wrapped(entry(10), &old).unwrap_err();
        assert!(
            matches!(e, CellError::Keyring(KeyringError::WrappedBy { .. })),
            "{e:?}"
        );
        assert!(after.wrapped_by().as_deref() == Some(new.id()));
    }

    #[test]
    fn hex_must_be_lowercase() {
        let good = Keyring::in_memory();
        good.insert(entry(0xab)).unwrap();
        let json = good.to_json().unwrap();
        assert!(Keyring::from_json(&json).is_ok());
        let upper = json.replace(&"ab".repeat(16), &"AB".repeat(16));
        assert!(matches!(
            Keyring::from_json(&upper),
            Err(CellError::Keyring(KeyringError::Invalid {
                problem: KeyringProblem::BadRef { .. },
                ..
            }))
        ));
    }

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
        let e = Keyring::from_json(r#"{"format":"atrest-keyring","version":1,"keys":[],"index_keys":[{"scope":{},"provider":"x\u001b","wrapped":"AA==","commitment":""}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the text is not a valid keyring: unknown provider `x\\u{1b}`"
        );
    }

    fn limits() -> ShareLimits {
        ShareLimits {
            max_age_secs: 3600,
            max_messages: 1 << 30,
            max_bytes: 1 << 36,
        }
    }

    #[test]
    fn a_lend_that_finds_nothing_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        let keyring = Keyring::open(&path).unwrap();
        let provider = KeyFileProvider::ephemeral().unwrap();
        let lent = keyring.lend(&KeyScope::new(), &provider, limits()).unwrap();
        assert!(lent.is_none());
        assert!(!path.exists(), "no file is created for nothing");
        // An entry of unknown use: still nothing lent and the file is not rewritten.
        keyring.insert(entry(1)).unwrap();
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(
            keyring
                .lend(&KeyScope::new(), &provider, limits())
                .unwrap()
                .is_none()
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
    }

    #[test]
    fn shares_are_recorded_in_the_file_and_stop_at_the_limits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.json");
        let keyring = Keyring::open(&path).unwrap();
        let provider = KeyFileProvider::ephemeral().unwrap();
        let share = first_share(1 << 30, 1 << 36);
        assert_eq!(share.messages, 1 << 26);
        keyring
            .insert_wrapped(entry(2).leased_to_maker(share), &provider)
            .unwrap();
        for taken in 2..=LEASE_SHARES {
            let (lent, allowance) = keyring
                .lend(&KeyScope::new(), &provider, limits())
                .unwrap()
                .unwrap();
            assert_eq!(allowance, share);
            // Another process reading the file sees every share taken so far.
            let on_disk = Keyring::open_existing(&path).unwrap();
            let leased = on_disk.get(&lent.key_ref).unwrap().leased.unwrap();
            assert_eq!(leased.messages, taken * share.messages);
        }
        assert!(
            keyring
                .lend(&KeyScope::new(), &provider, limits())
                .unwrap()
                .is_none(),
            "all sixteen shares are taken"
        );
        // Another provider kind or another scope is never lent this key.
        let mut other = KeyScope::new();
        other.insert("tenant".into(), "b".into());
        assert!(keyring.lend(&other, &provider, limits()).unwrap().is_none());
    }

    #[test]
    fn a_keyring_wrapped_by_another_master_key_lends_nothing() {
        let keyring = Keyring::in_memory();
        let mine = KeyFileProvider::ephemeral().unwrap();
        let other = KeyFileProvider::ephemeral().unwrap();
        keyring
            .insert_wrapped(entry(3).leased_to_maker(first_share(64, 1 << 36)), &mine)
            .unwrap();
        assert!(matches!(
            keyring.lend(&KeyScope::new(), &other, limits()),
            Err(CellError::Keyring(KeyringError::WrappedBy { .. }))
        ));
    }

    #[test]
    fn a_share_always_holds_one_maximal_cell() {
        for (messages, bytes) in [
            (1, MAX_PLAINTEXT_LEN as u64),
            (17, 1 << 27),
            (1 << 32, 1 << 40),
        ] {
            let mut leased = Leased::default();
            while let Some(a) = Allowance::next(leased, messages, bytes) {
                assert!(a.messages >= 1 && a.bytes >= MAX_PLAINTEXT_LEN as u64);
                leased = a.add_to(leased);
                assert!(leased.messages <= messages && leased.bytes <= bytes);
            }
        }
    }
}
