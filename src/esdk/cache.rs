//! The data-key caches of [`super::EsdkEncryptor`], under the ESDK caching CMM's rules: an encryption entry belongs
//! to one encryption context (for cells: the scope, the row excluded) and is retired by age, message count or bytes;
//! a decryption entry belongs to one suite, set of encrypted data keys and context, and is retired by age.
//!
//! The per-message path of encryption takes no lock: each thread keeps weak references to the entries it used last
//! in thread-local slots, and an entry's message and byte budgets are atomics that every thread draws from, so the
//! limits hold exactly across threads. The shared map owns the entries: an entry it drops (retired or evicted) frees
//! and zeroizes its key at once, and the slots that still name it find nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Instant;

use aws_lc_rs::digest;
use aws_lc_rs::signature::EcdsaKeyPair;
use zeroize::Zeroizing;

use super::error::EsdkError;
use super::message::EdkRef;
use crate::cell::CacheLimits;

/// What one cache entry shares between messages: the data key, for the signed suite the signing key and its
/// encoded public key, and for a keyring that calls a key service the header section of the encrypted data keys
/// (bound to the entry's whole encryption context), serialized once.
pub(super) struct Materials {
    pub data_key: Zeroizing<Vec<u8>>,
    pub signing: Option<(EcdsaKeyPair, String)>,
    pub edk_section: Option<Vec<u8>>,
}

/// An encryption entry: its materials and what they may still encrypt.
pub(super) struct EncryptEntry {
    pub materials: Materials,
    expires: Instant,
    messages_left: AtomicU64,
    bytes_left: AtomicU64,
}

impl EncryptEntry {
    /// Takes one message of `len` bytes, or fails when the entry is too old or its budget is spent. A message counted
    /// whose bytes then do not fit retires the entry (as the ESDK does), so no count is ever given back.
    fn take(&self, len: u64, now: Instant) -> bool {
        if now >= self.expires {
            return false;
        }
        let dec = |n: &AtomicU64, by: u64| {
            n.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(by)
            })
            .is_ok()
        };
        if !dec(&self.messages_left, 1) {
            return false;
        }
        if dec(&self.bytes_left, len) {
            return true;
        }
        self.messages_left.store(0, Ordering::Release);
        false
    }
}

/// Slots per thread: the columns of a row, say, each keep their entry.
const SLOTS: usize = 4;

struct Slot {
    cache: u64,
    scope: Vec<u8>,
    entry: Weak<EncryptEntry>,
}

#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    /// The next slot to replace (round robin).
    next: usize,
}

thread_local! {
    static SLOTS_TLS: RefCell<Slots> = RefCell::new(Slots::default());
}

fn next_cache_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update of the maps is one insert or remove, so a poisoned lock's data is still sound.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The encryption cache, keyed by the serialized scope.
pub(super) struct EncryptCache {
    /// Unique in this process: slots name the cache they came from.
    id: u64,
    limits: CacheLimits,
    map: Mutex<HashMap<Vec<u8>, Arc<EncryptEntry>>>,
}

impl EncryptCache {
    pub fn new(limits: CacheLimits) -> Self {
        EncryptCache {
            id: next_cache_id(),
            limits,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The entry of `scope` with one message of `len` bytes taken from it; on a miss `make` makes new materials
    /// (without the lock, so a slow key service does not stall the writers of other scopes; writers racing on one
    /// scope each make an entry, and the last one stays).
    pub fn reserve(
        &self,
        scope: &[u8],
        len: usize,
        make: impl FnOnce() -> Result<Materials, EsdkError>,
    ) -> Result<Arc<EncryptEntry>, EsdkError> {
        let now = Instant::now();
        let len = len as u64;
        if let Some(entry) = self.slot_entry(scope)
            && entry.take(len, now)
        {
            return Ok(entry);
        }
        let found = {
            let mut map = lock(&self.map);
            match map.get(scope) {
                Some(e) if e.take(len, now) => Some(Arc::clone(e)),
                Some(_) => {
                    map.remove(scope);
                    None
                }
                None => None,
            }
        };
        let entry = match found {
            Some(entry) => entry,
            None => self.insert(scope, make()?, len, now)?,
        };
        self.remember(scope, &entry);
        Ok(entry)
    }

    fn insert(
        &self,
        scope: &[u8],
        materials: Materials,
        len: u64,
        now: Instant,
    ) -> Result<Arc<EncryptEntry>, EsdkError> {
        let limits = self.limits;
        let entry = Arc::new(EncryptEntry {
            materials,
            expires: now + limits.max_age,
            messages_left: AtomicU64::new(limits.max_messages),
            bytes_left: AtomicU64::new(limits.max_bytes),
        });
        if !entry.take(len, now) {
            return Err(EsdkError::Internal("cache limits"));
        }
        let mut map = lock(&self.map);
        if map.len() >= limits.max_entries
            && !map.contains_key(scope)
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(scope.to_vec(), Arc::clone(&entry));
        Ok(entry)
    }

    fn slot_entry(&self, scope: &[u8]) -> Option<Arc<EncryptEntry>> {
        SLOTS_TLS.with(|cell| {
            let slots = cell.try_borrow().ok()?;
            slots
                .slots
                .iter()
                .find(|s| s.cache == self.id && s.scope == scope)
                .and_then(|s| s.entry.upgrade())
        })
    }

    fn remember(&self, scope: &[u8], entry: &Arc<EncryptEntry>) {
        SLOTS_TLS.with(|cell| {
            let Ok(mut slots) = cell.try_borrow_mut() else {
                return;
            };
            let slot = Slot {
                cache: self.id,
                scope: scope.to_vec(),
                entry: Arc::downgrade(entry),
            };
            let Slots { slots, next } = &mut *slots;
            if let Some(s) = slots
                .iter_mut()
                .find(|s| s.cache == self.id && s.scope == scope)
            {
                *s = slot;
            } else if slots.len() < SLOTS {
                slots.push(slot);
            } else if let Some(s) = slots.get_mut(*next % SLOTS) {
                *s = slot;
                *next = next.wrapping_add(1);
            }
        });
    }
}

struct DecryptEntry {
    data_key: Arc<Zeroizing<Vec<u8>>>,
    created: Instant,
}

/// The decryption cache, for keyrings whose unwrap costs more than a lookup (RSA, key services).
pub(super) struct DecryptCache {
    limits: CacheLimits,
    map: Mutex<HashMap<[u8; 32], DecryptEntry>>,
}

impl DecryptCache {
    pub fn new(limits: CacheLimits) -> Self {
        DecryptCache {
            limits,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The data key of a message: cached by suite, encrypted data keys and context (as the ESDK's caching CMM
    /// does), or from `unwrap`.
    pub fn data_key(
        &self,
        suite_id: u16,
        context: &[u8],
        edks: &[EdkRef<'_>],
        unwrap: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, EsdkError>,
    ) -> Result<Arc<Zeroizing<Vec<u8>>>, EsdkError> {
        let mut d = digest::Context::new(&digest::SHA256);
        d.update(&suite_id.to_be_bytes());
        for edk in edks {
            for part in [edk.provider_id, edk.provider_info, edk.ciphertext] {
                d.update(&(part.len() as u64).to_be_bytes());
                d.update(part);
            }
        }
        d.update(context);
        let mut id = [0u8; 32];
        id.copy_from_slice(d.finish().as_ref());
        let now = Instant::now();
        let max_age = self.limits.max_age;
        if let Some(e) = lock(&self.map).get(&id)
            && now.duration_since(e.created) < max_age
        {
            return Ok(Arc::clone(&e.data_key));
        }
        let key = Arc::new(unwrap()?);
        let mut map = lock(&self.map);
        map.retain(|_, e| now.duration_since(e.created) < max_age);
        if map.len() >= self.limits.max_entries
            && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.created).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            id,
            DecryptEntry {
                data_key: Arc::clone(&key),
                created: now,
            },
        );
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn materials(byte: u8) -> Result<Materials, EsdkError> {
        Ok(Materials {
            data_key: Zeroizing::new(vec![byte; 32]),
            signing: None,
            edk_section: None,
        })
    }

    fn key_of(cache: &EncryptCache, scope: &[u8], len: usize, next: u8) -> u8 {
        let entry = cache.reserve(scope, len, || materials(next)).unwrap();
        entry.materials.data_key[0]
    }

    #[test]
    fn entries_retire_by_messages_bytes_and_age() {
        let limits = CacheLimits {
            max_messages: 2,
            max_bytes: 1 << 20,
            ..CacheLimits::default()
        };
        let cache = EncryptCache::new(limits);
        assert_eq!(key_of(&cache, b"a", 1, 1), 1);
        assert_eq!(key_of(&cache, b"a", 1, 2), 1);
        // The third message needs a new key, from the slot's path and the map's alike.
        assert_eq!(key_of(&cache, b"a", 1, 3), 3);
        // Bytes: a message over what is left retires the entry.
        assert_eq!(key_of(&cache, b"b", 1 << 20, 4), 4);
        assert_eq!(key_of(&cache, b"b", 1, 5), 5);
        let aged = EncryptCache::new(CacheLimits {
            max_age: Duration::from_millis(1),
            ..CacheLimits::default()
        });
        assert_eq!(key_of(&aged, b"a", 1, 6), 6);
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(key_of(&aged, b"a", 1, 7), 7);
    }

    #[test]
    fn scopes_and_caches_do_not_share_keys() {
        let one = EncryptCache::new(CacheLimits::default());
        let two = EncryptCache::new(CacheLimits::default());
        assert_eq!(key_of(&one, b"a", 1, 1), 1);
        assert_eq!(key_of(&one, b"b", 1, 2), 2);
        assert_eq!(key_of(&two, b"a", 1, 3), 3);
        assert_eq!(key_of(&one, b"a", 1, 9), 1);
    }

    #[test]
    fn limits_hold_across_threads() {
        let cache = Arc::new(EncryptCache::new(CacheLimits {
            max_messages: 100,
            ..CacheLimits::default()
        }));
        let made = Arc::new(AtomicU64::new(0));
        let uses = Arc::new(Mutex::new(HashMap::<u8, u64>::new()));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (cache, made, uses) =
                    (Arc::clone(&cache), Arc::clone(&made), Arc::clone(&uses));
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        let entry = cache
                            .reserve(b"s", 1, || {
                                let n = made.fetch_add(1, Ordering::Relaxed);
                                materials(u8::try_from(n).unwrap())
                            })
                            .unwrap();
                        *lock(&uses).entry(entry.materials.data_key[0]).or_default() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // 1,000 messages at most 100 per data key, counted across the threads.
        let uses = lock(&uses);
        assert_eq!(uses.values().sum::<u64>(), 1000);
        assert!(uses.values().all(|&n| n <= 100), "{uses:?}");
        assert!(uses.len() >= 10);
    }

    #[test]
    fn an_evicted_entry_is_not_used_from_a_slot() {
        let cache = EncryptCache::new(CacheLimits {
            max_entries: 1,
            ..CacheLimits::default()
        });
        assert_eq!(key_of(&cache, b"a", 1, 1), 1);
        assert_eq!(key_of(&cache, b"b", 1, 2), 2);
        assert_eq!(key_of(&cache, b"a", 1, 3), 3);
    }
}
