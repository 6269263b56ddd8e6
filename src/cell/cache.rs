//! A bounded cache of derived data keys with single-flight filling.
//!
//! An entry for encryption lives until it reaches its age, message or byte limit; an entry for decryption until its
//! age limit. Entries are keyed by a partition (a caller's label plus the provider's id), the purpose, and the key's
//! scope (table, column, free values), so two uses never share a data key. Callers that miss the same key at the same
//! time wait for one provider call instead of each making their own.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::aad::AadBuf;
use super::error::{CellError, LimitsError};
use super::format::MAX_PLAINTEXT_LEN;
use super::suite::{CellKey, KEY_REF_LEN};

/// NIST SP 800-38D section 8.3: with random 96-bit IVs, at most 2^32 invocations of the encryption per key.
pub const NIST_RANDOM_IV_LIMIT: u64 = 1 << 32;

/// Bytes of the partition digest that starts every cache key.
pub(crate) const PARTITION_LEN: usize = 16;

/// What names a cached data key: the encryptor's partition, the purpose, the key reference (decryption) and the
/// scope's canonical encoding. Its bytes, in this order, are the key of the shared map; the per-cell path compares
/// a thread's slots against the parts themselves, so it never builds those bytes on a hit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyName<'a> {
    /// The encryptor that asks ([`new_owner`]): it has one cache and one partition for life, so a thread's slots
    /// are matched by this number instead of both.
    pub owner: u64,
    pub partition: &'a [u8; PARTITION_LEN],
    pub purpose: u8,
    pub key_ref: Option<&'a [u8; KEY_REF_LEN]>,
    pub scope: &'a Arc<[u8]>,
}

impl KeyName<'_> {
    fn len(&self) -> usize {
        PARTITION_LEN + 1 + self.key_ref.map_or(0, |r| r.len()) + self.scope.len()
    }

    /// Appends the name's bytes (the shared map's key) to `out`.
    pub(crate) fn write_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.len());
        out.extend_from_slice(self.partition);
        out.push(self.purpose);
        if let Some(r) = self.key_ref {
            out.extend_from_slice(r);
        }
        out.extend_from_slice(self.scope);
    }

    pub(crate) fn to_vec(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.write_into(&mut out);
        out
    }

    /// The fixed-size part of the name, kept by a slot so the per-cell path compares arrays, not parsed bytes.
    fn head(&self) -> NameHead {
        NameHead {
            owner: self.owner,
            purpose: self.purpose,
            key_ref: self.key_ref.copied(),
        }
    }

    /// Whether a slot holds the key of this name: the same owner (so the same cache and partition), purpose and key
    /// reference, and its scope is the same allocation or equal bytes. Two live allocations never share an address,
    /// and the slot keeps its own alive and unchanged, so the same address holds the same bytes.
    #[inline]
    fn held_by(&self, slot: &Slot) -> bool {
        let head = &slot.head;
        head.key_ref.as_ref() == self.key_ref
            && head.owner == self.owner
            && head.purpose == self.purpose
            && (Arc::ptr_eq(&slot.scope, self.scope) || *slot.scope == **self.scope)
    }

    /// Whether `bytes` are this name's partition, purpose and key reference, and nothing else.
    fn prefix_is(&self, bytes: &[u8]) -> bool {
        let Some((partition, rest)) = bytes.split_first_chunk::<PARTITION_LEN>() else {
            return false;
        };
        let Some((&purpose, rest)) = rest.split_first() else {
            return false;
        };
        let rest = match self.key_ref {
            Some(key_ref) => match rest.split_first_chunk::<KEY_REF_LEN>() {
                Some((r, rest)) if r == key_ref => rest,
                _ => return false,
            },
            None => rest,
        };
        rest.is_empty() && partition == self.partition && purpose == self.purpose
    }

    /// Whether `bytes` are this name's bytes: the same test as `bytes == self.to_vec()`, without building them.
    pub(crate) fn is(&self, bytes: &[u8]) -> bool {
        let Some((prefix, scope)) = bytes
            .len()
            .checked_sub(self.scope.len())
            .and_then(|n| bytes.split_at_checked(n))
        else {
            return false;
        };
        *scope == **self.scope && self.prefix_is(prefix)
    }
}

/// A [`KeyName`] without its scope, by value, its partition stood for by its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NameHead {
    owner: u64,
    purpose: u8,
    key_ref: Option<[u8; KEY_REF_LEN]>,
}

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
    /// Shared with the threads that hold a lease of it, so every cell is counted exactly once.
    budget: Arc<Budget>,
}

/// What a data key may still encrypt: the message and byte limits left.
struct Budget(Mutex<Left>);

#[derive(Clone, Copy)]
struct Left {
    messages: u64,
    bytes: u64,
}

/// A data key made or reused for encryption, with what this process may encrypt under it (its limits, for a key it
/// made alone; a share of them, for a key a keyring lends across processes) and how long it has been in use.
pub(crate) struct Fresh {
    pub key: Arc<CellKey>,
    pub messages: u64,
    pub bytes: u64,
    pub age: Duration,
}

impl Fresh {
    pub(crate) fn whole(key: CellKey, limits: &CacheLimits) -> Self {
        Fresh {
            key: Arc::new(key),
            messages: limits.max_messages,
            bytes: limits.max_bytes,
            age: Duration::ZERO,
        }
    }

    /// Decryption counts nothing.
    fn for_decrypt(key: CellKey) -> Self {
        Fresh {
            key: Arc::new(key),
            messages: u64::MAX,
            bytes: u64::MAX,
            age: Duration::ZERO,
        }
    }
}

impl Budget {
    fn new(messages: u64, bytes: u64) -> Self {
        Budget(Mutex::new(Left { messages, bytes }))
    }

    fn messages_left(&self) -> u64 {
        lock(&self.0).messages
    }

    /// Takes the leading cells of `sizes` that fit: their count and bytes.
    fn take(&self, sizes: &[usize]) -> (u64, bool) {
        let mut left = lock(&self.0);
        let (mut cells, mut bytes) = (0u64, 0u64);
        for &size in sizes {
            let next = bytes.saturating_add(size as u64);
            if cells >= left.messages || next > left.bytes {
                break;
            }
            bytes = next;
            cells += 1;
        }
        left.messages -= cells;
        left.bytes -= bytes;
        (cells, left.messages == 0)
    }

    /// Takes a lease for one thread: up to [`LEASE_MESSAGES`] messages and [`LEASE_BYTES`] bytes (at least `len`),
    /// or nothing if not even one cell of `len` bytes fits.
    fn lease(&self, len: usize) -> Option<Left> {
        let mut left = lock(&self.0);
        let len = len as u64;
        if left.messages == 0 || left.bytes < len {
            return None;
        }
        let lease = Left {
            messages: left.messages.min(LEASE_MESSAGES),
            bytes: left.bytes.min(len.max(LEASE_BYTES)),
        };
        left.messages -= lease.messages;
        left.bytes -= lease.bytes;
        Some(lease)
    }
}

/// Messages one thread takes from a data key's budget at a time (the cells of a lease are counted when it is
/// taken, so the limits hold exactly; what a thread leaves unused is lost, never reused).
pub(crate) const LEASE_MESSAGES: u64 = 1024;
/// Bytes one thread takes at a time (or one cell, if larger).
const LEASE_BYTES: u64 = 16 << 20;

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
///
/// The per-cell path does not take the cache's lock: each thread keeps its last few keys in thread-local slots,
/// with a lease of messages and bytes taken from the key's shared budget, and only goes to the shared map when a
/// lease runs out, the key reaches its age, or the scope is new to the thread.
pub struct KeyCache {
    limits: CacheLimits,
    entries: Mutex<Entries>,
    flights: Mutex<HashMap<Vec<u8>, Arc<Flight>, KeyHasher>>,
    /// Bumped when the encryption entries are dropped (after a fork): older slots are not used again.
    generation: AtomicU64,
    /// The process that filled the encryption entries.
    pid: AtomicU32,
}

/// A millisecond clock that costs one atomic load to read: a background thread stores the time every millisecond
/// (reading `Instant::now` costs about 50 ns in a VM, as much as sealing a small cell). Readers compare against
/// deadlines taken 2 ms early, so a key is never used past its age because the clock lags a tick; a thread that
/// keeps using one key also checks the precise clock every [`PRECISE_EVERY`] cells (or lease), which bounds the use
/// past its age by a stalled clock thread, or in a child after `fork()`, where the clock thread does not run.
mod clock {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    /// Milliseconds since [`base`], plus one; 0 while no clock thread runs.
    static NOW: AtomicU64 = AtomicU64::new(0);
    static BASE: OnceLock<Instant> = OnceLock::new();
    static STARTED: std::sync::Once = std::sync::Once::new();
    const EARLY_MS: u64 = 2;

    fn base() -> Instant {
        *BASE.get_or_init(Instant::now)
    }

    fn millis(t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(base()).as_millis()).unwrap_or(u64::MAX)
    }

    /// Starts the clock thread once per process. If the thread cannot be made, the clock stays at its first tick, as
    /// a stalled one would, and the precise checks bound the use of a key past its age the same way.
    pub(super) fn start() {
        STARTED.call_once(|| {
            let base = base();
            let tick = move || {
                let ms = u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX);
                NOW.fetch_max(ms.saturating_add(1), Ordering::AcqRel);
            };
            // The first tick before any cache is used: a deadline taken before the thread's own first tick would
            // be 0, and its slot unusable.
            tick();
            let _ = std::thread::Builder::new()
                .name("atrest-clock".into())
                .spawn(move || {
                    loop {
                        tick();
                        std::thread::sleep(Duration::from_millis(1));
                    }
                });
        });
    }

    /// Now on this clock: milliseconds since the base plus one, never ahead of the precise time; 0 before the first
    /// tick ([`start`]).
    #[inline]
    pub(super) fn now() -> u64 {
        NOW.load(Ordering::Acquire)
    }

    /// A deadline on this clock, taken early by the clock's possible lag: a key is usable while [`now`] is below it.
    /// 0 (never usable) before the clock's first tick, which [`start`] makes before any cache exists.
    pub(super) fn deadline(deadline: Instant) -> u64 {
        match NOW.load(Ordering::Acquire) {
            0 => 0,
            _ => millis(deadline).saturating_sub(EARLY_MS).saturating_add(1),
        }
    }
}

/// A thread checks the precise clock at least every this many cells it decrypts with one cached key (encryption
/// checks it with every new lease, at most [`LEASE_MESSAGES`] cells apart).
const PRECISE_EVERY: u32 = 1024;

/// One key a thread used recently, for encryption (with its lease) or decryption.
struct Slot {
    generation: u64,
    cache_key: Vec<u8>,
    /// `cache_key` before its scope.
    head: NameHead,
    /// The scope at the end of `cache_key`, as the context that filled the slot shares it.
    scope: Arc<[u8]>,
    key: Arc<CellKey>,
    expires: Instant,
    /// `expires` on the cheap clock ([`clock::deadline`]).
    expires_tick: u64,
    /// Cells since the precise clock was last read (decryption).
    unchecked: std::cell::Cell<u32>,
    /// Encryption only: the shared budget and what this thread holds of it.
    budget: Option<Arc<Budget>>,
    lease: Left,
}

/// Slots per thread, for each purpose: the columns of a row, say, each keep their key.
const SLOTS: usize = 4;

/// A value on cache lines of its own: 128 bytes, a line and the neighbour that Intel cores fetch with it. A thread
/// writes its slots for every cell (counters, leases), and a block of the heap next to them may hold what another
/// thread reads for every cell: allocators recycle small blocks across threads, so a slot could share a line with
/// another thread's context (the associated data's buffer did, see `encryptor::open`).
#[repr(align(128))]
struct Lined<T>(T);

impl<T> std::ops::Deref for Lined<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Lined<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

struct Slots {
    encrypt: Vec<Lined<Slot>>,
    decrypt: Vec<Lined<Slot>>,
    /// The next slot to replace (round robin).
    next_encrypt: usize,
    next_decrypt: usize,
    /// Lent to the work done under a key (the associated data of a cell), so the per-cell path touches one
    /// thread-local and allocates no buffer of its own.
    aad: AadBuf,
}

thread_local! {
    static SLOTS_TLS: RefCell<Slots> = const {
        RefCell::new(Slots {
            encrypt: Vec::new(),
            decrypt: Vec::new(),
            next_encrypt: 0,
            next_decrypt: 0,
            aad: AadBuf::new(),
        })
    };
}

/// A number for a new encryptor, unique in the process: what its slots are known by ([`KeyName::owner`]).
pub(crate) fn new_owner() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn install(slots: &mut Vec<Lined<Slot>>, next: &mut usize, slot: Slot) -> usize {
    if let Some(i) = slots
        .iter()
        .position(|s| s.head.owner == slot.head.owner && s.cache_key == slot.cache_key)
    {
        if let Some(s) = slots.get_mut(i) {
            *s = Lined(slot);
        }
        return i;
    }
    if slots.len() < SLOTS {
        slots.push(Lined(slot));
        return slots.len() - 1;
    }
    let i = *next % SLOTS;
    *next = next.wrapping_add(1);
    if let Some(s) = slots.get_mut(i) {
        *s = Lined(slot);
    }
    i
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave an entry half-written (every update is a single assignment), so a poisoned
    // lock's data is still sound.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl KeyCache {
    pub fn new(limits: CacheLimits) -> Result<Self, CellError> {
        limits.validate()?;
        clock::start();
        Ok(KeyCache {
            limits,
            entries: Mutex::new(Entries::default()),
            flights: Mutex::new(HashMap::with_hasher(KeyHasher::new())),
            generation: AtomicU64::new(0),
            pid: AtomicU32::new(std::process::id()),
        })
    }

    /// After `fork()`, the child must not go on counting against its parent's budgets (the parent keeps using
    /// them, so both would count the same cells once each): the child drops every encryption entry and makes new
    /// data keys. Checked whenever the shared budgets are used (a new lease, a batch), so a child can seal at most
    /// the rest of the forking thread's leases (under [`LEASE_MESSAGES`] cells per key) before it notices.
    fn check_fork(&self) {
        let pid = std::process::id();
        if self.pid.load(Ordering::Acquire) == pid {
            return;
        }
        let mut entries = lock(&self.entries);
        if self.pid.load(Ordering::Acquire) != pid {
            entries
                .map
                .retain(|_, e| e.budget.messages_left() == u64::MAX);
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.pid.store(pid, Ordering::Release);
        }
    }

    /// Runs `seal` with a key for one cell of `len` bytes, counted against the key's limits, and a buffer for the
    /// cell's associated data. The fast path uses this thread's lease and takes no lock; `fill` makes a new
    /// key on a miss.
    #[inline]
    pub(crate) fn with_encrypt_key<R>(
        &self,
        name: &KeyName<'_>,
        len: usize,
        fill: &dyn Fn() -> Result<Fresh, CellError>,
        seal: impl FnOnce(&CellKey, &mut AadBuf) -> Result<R, CellError>,
    ) -> Result<R, CellError> {
        let generation = self.generation.load(Ordering::Acquire);
        let fast = SLOTS_TLS.with(|cell| {
            let Ok(mut slots) = cell.try_borrow_mut() else {
                return Err(seal);
            };
            let now = clock::now();
            let Slots { encrypt, aad, .. } = &mut *slots;
            let Some(slot) = encrypt
                .iter_mut()
                .find(|s| s.generation == generation && name.held_by(s))
            else {
                return Err(seal);
            };
            if now >= slot.expires_tick {
                return Err(seal);
            }
            if slot.lease.messages == 0 || slot.lease.bytes < len as u64 {
                // A new lease: the precise clock and the process id.
                if Instant::now() >= slot.expires {
                    return Err(seal);
                }
                self.check_fork();
                if self.generation.load(Ordering::Acquire) != generation {
                    return Err(seal);
                }
                match slot.budget.as_ref().and_then(|b| b.lease(len)) {
                    Some(lease) => slot.lease = lease,
                    None => return Err(seal),
                }
            }
            slot.lease.messages -= 1;
            slot.lease.bytes -= len as u64;
            Ok(seal(&slot.key, aad))
        });
        let seal = match fast {
            Ok(result) => return result,
            Err(seal) => seal,
        };
        // The slow path: the shared map (filling it on a miss), then a new lease for this thread.
        let cache_key = name.to_vec();
        self.check_fork();
        loop {
            if let Some((key, budget, expires, mut lease)) = self.lease_entry(&cache_key, len) {
                lease.messages -= 1;
                lease.bytes -= len as u64;
                let slot = Slot {
                    generation: self.generation.load(Ordering::Acquire),
                    cache_key,
                    head: name.head(),
                    scope: Arc::clone(name.scope),
                    key: Arc::clone(&key),
                    expires,
                    expires_tick: clock::deadline(expires),
                    unchecked: std::cell::Cell::new(0),
                    budget: Some(budget),
                    lease,
                };
                SLOTS_TLS.with(|cell| {
                    if let Ok(mut slots) = cell.try_borrow_mut() {
                        let Slots {
                            encrypt,
                            next_encrypt,
                            ..
                        } = &mut *slots;
                        install(encrypt, next_encrypt, slot);
                    }
                });
                return seal(&key, &mut AadBuf::new());
            }
            self.fill_once(&cache_key, fill)?;
        }
    }

    /// A lease of the entry for `cache_key`, removing the entry when it is exhausted or expired.
    fn lease_entry(
        &self,
        cache_key: &[u8],
        len: usize,
    ) -> Option<(Arc<CellKey>, Arc<Budget>, Instant, Left)> {
        let mut entries = lock(&self.entries);
        let map = &mut entries.map;
        let entry = map.get(cache_key)?;
        let expires = entry.created + self.limits.max_age;
        if Instant::now() >= expires {
            map.remove(cache_key);
            return None;
        }
        let Some(lease) = entry.budget.lease(len) else {
            map.remove(cache_key);
            return None;
        };
        let out = (
            Arc::clone(&entry.key),
            Arc::clone(&entry.budget),
            expires,
            lease,
        );
        if entry.budget.messages_left() == 0 {
            map.remove(cache_key);
        }
        Some(out)
    }

    /// Runs `open` with the key for decryption and a buffer for the cell's associated data, from this
    /// thread's slots (no lock) or the shared map (unwrapping the key, once for all concurrent callers, on a miss).
    pub(crate) fn with_decrypt_key<R>(
        &self,
        name: &KeyName<'_>,
        fill: &dyn Fn() -> Result<CellKey, CellError>,
        open: &impl Fn(&CellKey, &mut AadBuf) -> Result<R, CellError>,
    ) -> Result<R, CellError> {
        match self.with_held_decrypt_key(name, open) {
            Some(result) => result,
            None => self.with_fetched_decrypt_key(name, fill, open),
        }
    }

    /// The per-cell path: `open`'s result with a key this thread holds, within its age. `None` if there is none (or
    /// the thread's slots are in use further up the stack).
    #[inline]
    pub(crate) fn with_held_decrypt_key<R>(
        &self,
        name: &KeyName<'_>,
        open: &impl Fn(&CellKey, &mut AadBuf) -> R,
    ) -> Option<R> {
        SLOTS_TLS.with(|cell| {
            let mut slots = cell.try_borrow_mut().ok()?;
            let now = clock::now();
            let Slots { decrypt, aad, .. } = &mut *slots;
            let slot = decrypt
                .iter()
                .find(|s| now < s.expires_tick && name.held_by(s))?;
            let unchecked = slot.unchecked.get() + 1;
            if unchecked >= PRECISE_EVERY {
                if Instant::now() >= slot.expires {
                    return None;
                }
                slot.unchecked.set(0);
            } else {
                slot.unchecked.set(unchecked);
            }
            Some(open(&slot.key, aad))
        })
    }

    /// A key from the shared map, unwrapped on a miss, then held by this thread.
    #[inline(never)]
    fn with_fetched_decrypt_key<R>(
        &self,
        name: &KeyName<'_>,
        fill: &dyn Fn() -> Result<CellKey, CellError>,
        open: &impl Fn(&CellKey, &mut AadBuf) -> Result<R, CellError>,
    ) -> Result<R, CellError> {
        let cache_key = name.to_vec();
        let (key, expires) = loop {
            if let Some(found) = self.peek_until(&cache_key) {
                break found;
            }
            self.fill_once(&cache_key, &|| fill().map(Fresh::for_decrypt))?;
        };
        let slot = Slot {
            generation: 0,
            cache_key,
            head: name.head(),
            scope: Arc::clone(name.scope),
            key: Arc::clone(&key),
            expires,
            expires_tick: clock::deadline(expires),
            unchecked: std::cell::Cell::new(0),
            budget: None,
            lease: Left {
                messages: 0,
                bytes: 0,
            },
        };
        SLOTS_TLS.with(|cell| {
            if let Ok(mut slots) = cell.try_borrow_mut() {
                let Slots {
                    decrypt,
                    next_decrypt,
                    ..
                } = &mut *slots;
                install(decrypt, next_decrypt, slot);
            }
        });
        open(&key, &mut AadBuf::new())
    }

    fn peek_until(&self, cache_key: &[u8]) -> Option<(Arc<CellKey>, Instant)> {
        let mut entries = lock(&self.entries);
        let map = &mut entries.map;
        let entry = map.get(cache_key)?;
        let expires = entry.created + self.limits.max_age;
        if Instant::now() >= expires {
            map.remove(cache_key);
            return None;
        }
        Some((Arc::clone(&entry.key), expires))
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
        self.reserve_fresh(cache_key, sizes, &|| {
            fill().map(|key| Fresh::whole(key, &self.limits))
        })
    }

    /// Like [`KeyCache::reserve`], with a fill that says what this process may encrypt under the key it returns.
    pub(crate) fn reserve_fresh(
        &self,
        cache_key: &[u8],
        sizes: &[usize],
        fill: &dyn Fn() -> Result<Fresh, CellError>,
    ) -> Result<(Arc<CellKey>, usize), CellError> {
        self.check_fork();
        loop {
            if let Some(hit) = self.take(cache_key, sizes) {
                return Ok(hit);
            }
            self.fill_once(cache_key, fill)?;
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
            self.fill_once(cache_key, &|| fill().map(Fresh::for_decrypt))?;
        }
    }

    /// Adds a key for decryption that the caller already holds (one it just created).
    pub fn insert_for_decrypt(&self, cache_key: Vec<u8>, key: Arc<CellKey>) {
        self.insert(cache_key, key, u64::MAX, u64::MAX, Duration::ZERO);
    }

    fn take(&self, cache_key: &[u8], sizes: &[usize]) -> Option<(Arc<CellKey>, usize)> {
        let mut entries = lock(&self.entries);
        let map = &mut entries.map;
        let entry = map.get_mut(cache_key)?;
        if entry.created.elapsed() >= self.limits.max_age {
            map.remove(cache_key);
            return None;
        }
        let (cells, exhausted) = entry.budget.take(sizes);
        if cells == 0 {
            map.remove(cache_key);
            return None;
        }
        let key = Arc::clone(&entry.key);
        if exhausted {
            map.remove(cache_key);
        }
        Some((key, cells as usize))
    }

    pub(crate) fn peek(&self, cache_key: &[u8]) -> Option<Arc<CellKey>> {
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
        lock(&self.entries).map.get(cache_key).is_some_and(|e| {
            e.budget.messages_left() > 0 && e.created.elapsed() < self.limits.max_age
        })
    }

    /// Makes sure a provider call for `cache_key` has happened since the caller's miss: leads one, or waits for the
    /// one under way.
    fn fill_once(
        &self,
        cache_key: &[u8],
        fill: &dyn Fn() -> Result<Fresh, CellError>,
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
        let outcome = fill().map(|fresh| {
            self.insert(
                cache_key.to_vec(),
                fresh.key,
                fresh.messages,
                fresh.bytes,
                fresh.age,
            );
        });
        guard.outcome = Some(outcome.clone());
        drop(guard);
        outcome
    }

    fn insert(
        &self,
        cache_key: Vec<u8>,
        key: Arc<CellKey>,
        messages: u64,
        bytes: u64,
        age: Duration,
    ) {
        let mut entries = lock(&self.entries);
        // A key reused from a keyring expires when its first use does, not a full age after this process took it.
        let now = Instant::now();
        let created = now.checked_sub(age).unwrap_or(now);
        if !entries.map.contains_key(&cache_key) {
            while entries.map.len() >= self.limits.max_entries && entries.evict_oldest() {}
        }
        entries.order.push_back((cache_key.clone(), created));
        entries.map.insert(
            cache_key,
            Entry {
                key,
                created,
                budget: Arc::new(Budget::new(messages, bytes)),
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::cell::keys::{DataKey, ProviderKind};

    static SCOPE: std::sync::LazyLock<Arc<[u8]>> =
        std::sync::LazyLock::new(|| Arc::from(&b"scope"[..]));

    fn name() -> KeyName<'static> {
        KeyName {
            owner: 7,
            partition: &[7; PARTITION_LEN],
            purpose: b'k',
            key_ref: None,
            scope: &SCOPE,
        }
    }

    /// The slot test agrees with comparing the name's bytes, whether or not the scope is the same allocation.
    #[test]
    fn a_slot_is_found_by_the_bytes_of_its_name() {
        let scope: Arc<[u8]> = Arc::from(&b"users/ssn"[..]);
        let copy: Arc<[u8]> = Arc::from(&b"users/ssn"[..]);
        let other: Arc<[u8]> = Arc::from(&b"users/sso"[..]);
        let key_ref = [3; KEY_REF_LEN];
        let name = |scope, key_ref| KeyName {
            owner: 7,
            partition: &[7; PARTITION_LEN],
            purpose: b'C',
            key_ref,
            scope,
        };
        let held = name(&scope, Some(&key_ref));
        let slot = Slot {
            generation: 0,
            cache_key: held.to_vec(),
            head: held.head(),
            scope: Arc::clone(&scope),
            key: Arc::new(
                CellKey::derive(&DataKey::random().unwrap(), ProviderKind::KeyFile, vec![1])
                    .unwrap(),
            ),
            expires: Instant::now(),
            expires_tick: 0,
            unchecked: std::cell::Cell::new(0),
            budget: None,
            lease: Left {
                messages: 0,
                bytes: 0,
            },
        };
        for (probe, found) in [
            (name(&scope, Some(&key_ref)), true),
            (name(&copy, Some(&key_ref)), true),
            (name(&other, Some(&key_ref)), false),
            (name(&scope, Some(&[4; KEY_REF_LEN])), false),
            (name(&scope, None), false),
            (
                KeyName {
                    purpose: b'S',
                    ..held
                },
                false,
            ),
            // Another encryptor: another owner, whose partition may differ too.
            (
                KeyName {
                    owner: 8,
                    partition: &[8; PARTITION_LEN],
                    ..held
                },
                false,
            ),
        ] {
            assert_eq!(probe.held_by(&slot), found, "{probe:?}");
            assert_eq!(probe.is(&slot.cache_key), found, "{probe:?}");
            assert_eq!(probe.to_vec() == slot.cache_key, found, "{probe:?}");
        }
    }

    fn counting_fill(fills: &AtomicUsize) -> impl Fn() -> Result<CellKey, CellError> + '_ {
        move || {
            fills.fetch_add(1, Ordering::SeqCst);
            CellKey::derive(&DataKey::random()?, ProviderKind::KeyFile, vec![1; 76])
        }
    }

    /// A deadline taken as soon as a cache exists is usable: the clock has ticked once before `start` returns (a
    /// deadline of 0 would leave the first slots of a new process unusable, each cell taking a new lease).
    #[test]
    fn a_started_clock_has_ticked() {
        clock::start();
        assert_ne!(clock::now(), 0);
        assert!(clock::deadline(Instant::now() + Duration::from_secs(60)) > clock::now());
    }

    /// The fork check, driven by making the cache believe another process filled it (as in a child after `fork()`,
    /// whose pid differs from the one recorded): the rest of the thread's lease may still be used, then every
    /// encryption entry is dropped and a new data key is made; decryption entries stay.
    #[test]
    fn a_child_process_stops_using_its_parents_budgets_within_one_lease() {
        let cache = KeyCache::new(CacheLimits::default()).unwrap();
        let fills = AtomicUsize::new(0);
        let fill = || counting_fill(&fills)().map(|k| Fresh::whole(k, cache.limits()));
        let commitments = |n: usize| -> Vec<[u8; 32]> {
            (0..n)
                .map(|_| {
                    cache
                        .with_encrypt_key(&name(), 1, &fill, |k, _| Ok(*k.commitment()))
                        .unwrap()
                })
                .collect()
        };
        let first = commitments(1);
        cache.insert_for_decrypt(b"d".to_vec(), fill().unwrap().key);
        let before_fork = fills.load(Ordering::SeqCst);
        // "fork": the recorded pid is no longer ours.
        cache.pid.store(0, Ordering::SeqCst);
        let rest = commitments(LEASE_MESSAGES as usize - 1);
        assert!(rest.iter().all(|c| *c == first[0]), "the lease is used up");
        let after = commitments(1);
        assert_ne!(after[0], first[0], "a new data key after the lease");
        assert_eq!(fills.load(Ordering::SeqCst), before_fork + 1);
        assert_eq!(cache.pid.load(Ordering::SeqCst), std::process::id());
        assert!(cache.peek_until(b"d").is_some(), "decryption keys are kept");
        // Batches check at once.
        let batch = cache.reserve_fresh(b"b", &[1], &fill).unwrap().0;
        cache.pid.store(0, Ordering::SeqCst);
        let again = cache.reserve_fresh(b"b", &[1], &fill).unwrap().0;
        assert_ne!(batch.commitment(), again.commitment());
    }

    #[test]
    fn leases_count_every_cell_across_threads() {
        let limits = CacheLimits {
            max_messages: 3000,
            ..CacheLimits::default()
        };
        let cache = KeyCache::new(limits).unwrap();
        let fills = AtomicUsize::new(0);
        let fill = || counting_fill(&fills)().map(|k| Fresh::whole(k, &limits));
        let per_key = Mutex::new(HashMap::<[u8; 32], u64>::new());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..5000 {
                        let c = cache
                            .with_encrypt_key(&name(), 1, &fill, |k, _| Ok(*k.commitment()))
                            .unwrap();
                        *lock(&per_key).entry(c).or_default() += 1;
                    }
                });
            }
        });
        let per_key = per_key.into_inner().unwrap();
        assert!(per_key.values().all(|&n| n <= 3000), "{per_key:?}");
        assert_eq!(per_key.values().sum::<u64>(), 20_000);
    }
}
