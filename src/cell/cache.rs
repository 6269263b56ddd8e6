//! A bounded cache of derived data keys with single-flight filling.
//!
//! An entry for encryption lives until it reaches its age, message or byte limit; an entry for decryption until its
//! age limit. Entries are keyed by a partition (a caller's label plus the provider's id), the purpose, and the key's
//! scope (table, column, free values), so two uses never share a data key. Callers that miss the same key at the same
//! time wait for one provider call instead of each making their own.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::error::{CellError, LimitsError};
use super::format::MAX_PLAINTEXT_LEN;
use super::suite::CellKey;

/// NIST SP 800-38D section 8.3: with random 96-bit IVs, at most 2^32 invocations of the encryption per key.
pub const NIST_RANDOM_IV_LIMIT: u64 = 1 << 32;

/// Limits on each cached data key and on the cache itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Entries kept at once; the oldest is evicted first.
    pub max_entries: usize,
    /// A data key is used for this long at most, then a new one is made (encryption) or unwrapped again (decryption).
    pub max_age: Duration,
    /// Cells encrypted under one data key, at most [`NIST_RANDOM_IV_LIMIT`].
    pub max_messages: u64,
    /// Plaintext bytes encrypted under one data key; at least one maximal cell.
    pub max_bytes: u64,
}

impl Default for CacheLimits {
    /// 1,000 entries, 1 hour, 2^30 cells (a quarter of NIST's 2^32), 2^36 bytes (64 GiB) per data key.
    fn default() -> Self {
        CacheLimits {
            max_entries: 1000,
            max_age: Duration::from_secs(3600),
            max_messages: 1 << 30,
            max_bytes: 1 << 36,
        }
    }
}

impl CacheLimits {
    pub fn validate(&self) -> Result<(), CellError> {
        let problem = if self.max_entries == 0 {
            LimitsError::NoEntries
        } else if self.max_age.is_zero() {
            LimitsError::ZeroAge
        } else if self.max_messages == 0 || self.max_messages > NIST_RANDOM_IV_LIMIT {
            LimitsError::Messages {
                messages: self.max_messages,
                max: NIST_RANDOM_IV_LIMIT,
            }
        } else if self.max_bytes < MAX_PLAINTEXT_LEN as u64 {
            LimitsError::Bytes {
                bytes: self.max_bytes,
                min: MAX_PLAINTEXT_LEN as u64,
            }
        } else {
            return Ok(());
        };
        Err(problem.into())
    }
}

struct Entry {
    key: Arc<CellKey>,
    created: Instant,
    messages_left: u64,
    bytes_left: u64,
}

/// The outcome of one provider call, shared with the callers that waited for it.
#[derive(Default)]
struct Flight {
    outcome: Mutex<Option<Result<(), CellError>>>,
    done: Condvar,
}

impl Flight {
    fn finish(&self, outcome: Result<(), CellError>) {
        *lock(&self.outcome) = Some(outcome);
        self.done.notify_all();
    }

    fn wait(&self) -> Result<(), CellError> {
        let mut outcome = lock(&self.outcome);
        loop {
            if let Some(result) = outcome.as_ref() {
                return result.clone();
            }
            outcome = self
                .done
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Ends a flight even if the leader unwinds, so that no waiter blocks forever.
struct FlightGuard<'a> {
    cache: &'a KeyCache,
    key: &'a [u8],
    flight: Arc<Flight>,
    outcome: Option<Result<(), CellError>>,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or(Err(CellError::Internal(
            "a key provider call did not return",
        )));
        self.flight.finish(outcome);
        lock(&self.cache.flights).remove(self.key);
    }
}

/// A data-key cache; share one between encryptors with `Arc` (partitions keep their keys apart).
pub struct KeyCache {
    limits: CacheLimits,
    entries: Mutex<Entries>,
    flights: Mutex<HashMap<Vec<u8>, Arc<Flight>, KeyHasher>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave an entry half-written (every update is a single assignment), so a poisoned
    // lock's data is still sound.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl KeyCache {
    pub fn new(limits: CacheLimits) -> Result<Self, CellError> {
        limits.validate()?;
        Ok(KeyCache {
            limits,
            entries: Mutex::new(Entries::default()),
            flights: Mutex::new(HashMap::with_hasher(KeyHasher::new())),
        })
    }

    pub fn limits(&self) -> &CacheLimits {
        &self.limits
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reserves a key for the leading cells of `sizes` (plaintext lengths, at least one): returns the key and how
    /// many cells it covers. `fill` makes a new key on a miss; concurrent missers share one call.
    pub fn reserve(
        &self,
        cache_key: &[u8],
        sizes: &[usize],
        fill: &dyn Fn() -> Result<CellKey, CellError>,
    ) -> Result<(Arc<CellKey>, usize), CellError> {
        loop {
            if let Some(hit) = self.take(cache_key, sizes) {
                return Ok(hit);
            }
            self.fill_once(cache_key, true, fill)?;
        }
    }

    /// Returns the key for decryption, unwrapping it (once, for all concurrent callers) on a miss.
    pub fn get(
        &self,
        cache_key: &[u8],
        fill: &dyn Fn() -> Result<CellKey, CellError>,
    ) -> Result<Arc<CellKey>, CellError> {
        loop {
            if let Some(key) = self.peek(cache_key) {
                return Ok(key);
            }
            self.fill_once(cache_key, false, fill)?;
        }
    }

    /// Adds a key for decryption that the caller already holds (one it just created).
    pub fn insert_for_decrypt(&self, cache_key: Vec<u8>, key: Arc<CellKey>) {
        self.insert(cache_key, key, u64::MAX, u64::MAX);
    }

    fn take(&self, cache_key: &[u8], sizes: &[usize]) -> Option<(Arc<CellKey>, usize)> {
        let mut entries = lock(&self.entries);
        let map = &mut entries.map;
        let entry = map.get_mut(cache_key)?;
        if entry.created.elapsed() >= self.limits.max_age {
            map.remove(cache_key);
            return None;
        }
        let (mut cells, mut bytes) = (0u64, 0u64);
        for &size in sizes {
            let next = bytes.saturating_add(size as u64);
            if cells >= entry.messages_left || next > entry.bytes_left {
                break;
            }
            bytes = next;
            cells += 1;
        }
        if cells == 0 {
            map.remove(cache_key);
            return None;
        }
        entry.messages_left -= cells;
        entry.bytes_left -= bytes;
        let key = Arc::clone(&entry.key);
        if entry.messages_left == 0 {
            map.remove(cache_key);
        }
        Some((key, cells as usize))
    }

    fn peek(&self, cache_key: &[u8]) -> Option<Arc<CellKey>> {
        let mut entries = lock(&self.entries);
        let map = &mut entries.map;
        let entry = map.get(cache_key)?;
        if entry.created.elapsed() >= self.limits.max_age {
            map.remove(cache_key);
            return None;
        }
        Some(Arc::clone(&entry.key))
    }

    fn usable(&self, cache_key: &[u8]) -> bool {
        lock(&self.entries)
            .map
            .get(cache_key)
            .is_some_and(|e| e.messages_left > 0 && e.created.elapsed() < self.limits.max_age)
    }

    /// Makes sure a provider call for `cache_key` has happened since the caller's miss: leads one, or waits for the
    /// one under way.
    fn fill_once(
        &self,
        cache_key: &[u8],
        for_encrypt: bool,
        fill: &dyn Fn() -> Result<CellKey, CellError>,
    ) -> Result<(), CellError> {
        let own = Arc::new(Flight::default());
        let waiting = {
            let mut flights = lock(&self.flights);
            if let Some(flight) = flights.get(cache_key) {
                Some(Arc::clone(flight))
            } else if self.usable(cache_key) {
                // Another leader filled the entry between our miss and now.
                return Ok(());
            } else {
                flights.insert(cache_key.to_vec(), Arc::clone(&own));
                None
            }
        };
        if let Some(flight) = waiting {
            return flight.wait();
        }
        let mut guard = FlightGuard {
            cache: self,
            key: cache_key,
            flight: own,
            outcome: None,
        };
        let outcome = fill().map(|key| {
            let (messages, bytes) = if for_encrypt {
                (self.limits.max_messages, self.limits.max_bytes)
            } else {
                (u64::MAX, u64::MAX)
            };
            self.insert(cache_key.to_vec(), Arc::new(key), messages, bytes);
        });
        guard.outcome = Some(outcome.clone());
        drop(guard);
        outcome
    }

    fn insert(&self, cache_key: Vec<u8>, key: Arc<CellKey>, messages: u64, bytes: u64) {
        let mut entries = lock(&self.entries);
        let created = Instant::now();
        if !entries.map.contains_key(&cache_key) {
            while entries.map.len() >= self.limits.max_entries && entries.evict_oldest() {}
        }
        entries.order.push_back((cache_key.clone(), created));
        entries.map.insert(
            cache_key,
            Entry {
                key,
                created,
                messages_left: messages,
                bytes_left: bytes,
            },
        );
        // Keys removed on use (exhausted, expired) leave stale places in the order; drop them now and then so the
        // queue stays within a small multiple of the entry bound.
        if entries.order.len() > self.limits.max_entries.saturating_mul(2).saturating_add(16) {
            let Entries { map, order } = &mut *entries;
            order.retain(|(k, t)| map.get(k).is_some_and(|e| e.created == *t));
        }
    }
}

/// The entries and their creation order (oldest first), so eviction is O(1) rather than a scan.
struct Entries {
    map: HashMap<Vec<u8>, Entry, KeyHasher>,
    order: VecDeque<(Vec<u8>, Instant)>,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            map: HashMap::with_hasher(KeyHasher::new()),
            order: VecDeque::new(),
        }
    }
}

/// A keyed multiply-rotate hash over 8-byte words, seeded per cache from the process's random hash keys. Faster
/// than SipHash on the 60 to 100-byte cache keys of the per-cell path. Collisions cannot be forced into a costly
/// state: entries are inserted only for keys the provider made or unwrapped, and there are at most `max_entries`.
#[derive(Clone, Copy)]
struct KeyHasher(u64);

impl KeyHasher {
    fn new() -> Self {
        KeyHasher(RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl BuildHasher for KeyHasher {
    type Hasher = WordHasher;

    fn build_hasher(&self) -> WordHasher {
        WordHasher(self.0)
    }
}

struct WordHasher(u64);

impl WordHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        if let Some(w) = word.get_mut(..rest.len()) {
            w.copy_from_slice(rest);
        }
        self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        // The splitmix64 finaliser, so every input bit reaches the bits the table uses.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Entries {
    /// Evicts the oldest live entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, created)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|e| e.created == created) {
                self.map.remove(&key);
                return true;
            }
        }
        false
    }
}
