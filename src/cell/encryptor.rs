//! The cell encryptor: envelope encryption of single values with a cached data key per scope (table, column, free
//! values), the cell's full context bound as associated data, in either ciphertext form.

use std::cell::RefCell;
use std::sync::Arc;

use ring::digest;

use super::aad::AadBuf;
use super::cache::{CacheLimits, Fresh, KeyCache, KeyName, PARTITION_LEN, new_owner};
use super::context::Context;
use super::error::{CellError, KeyringError};
use super::format::{self, Decoded, KeyBinding, MAX_PLAINTEXT_LEN};
use super::index::BlindIndex;
use super::keyring::{self, Keyring, KeyringEntry};
use super::keys::{DataKey, KeyProvider, fill_random};
use super::suite::{CellKey, KEY_REF_LEN, NONCE_LEN, TAG_LEN};

const PURPOSE_ENCRYPT: u8 = b'E';
/// Decryption keys of the two forms are cached apart: a compact key was found in the keyring (check 7), a
/// self-contained one came with its own wrapped key, so a hit for one form never skips a check of the other.
const PURPOSE_OPEN_COMPACT: u8 = b'C';
const PURPOSE_OPEN_SELF_CONTAINED: u8 = b'S';
/// Reseals by [`CellEncryptor::rewrap_value`], counted against the data key's message and byte limits.
const PURPOSE_REWRAP: u8 = b'R';

/// Which ciphertext form [`CellEncryptor::encrypt`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// The wrapped data key travels in every value.
    SelfContained,
    /// A 16-byte reference to a keyring entry (47 bytes of overhead).
    Compact,
}

/// Configures a [`CellEncryptor`].
pub struct Builder {
    provider: Arc<dyn KeyProvider>,
    cache: Option<Arc<KeyCache>>,
    limits: CacheLimits,
    partition: String,
    keyring: Option<Arc<Keyring>>,
}

impl Builder {
    /// Limits of the encryptor's own cache (ignored when a shared cache is given).
    pub fn limits(mut self, limits: CacheLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Shares a cache with other encryptors; partitions keep their keys apart.
    pub fn cache(mut self, cache: Arc<KeyCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// A label that separates this encryptor's keys from others in a shared cache (e.g. an application name).
    pub fn partition(mut self, label: impl Into<String>) -> Self {
        self.partition = label.into();
        self
    }

    /// Writes the compact form, storing each data key once in `keyring`.
    pub fn keyring(mut self, keyring: Arc<Keyring>) -> Self {
        self.keyring = Some(keyring);
        self
    }

    pub fn build(self) -> Result<CellEncryptor, CellError> {
        let cache = match self.cache {
            Some(cache) => cache,
            None => Arc::new(KeyCache::new(self.limits)?),
        };
        // A digest of the length-prefixed label and provider id: no pair can imitate another, and every cache
        // lookup hashes 16 bytes instead of both names.
        let mut ctx = digest::Context::new(&digest::SHA256);
        // The keyring too: a key found in one keyring must not answer a lookup in another.
        let keyring = self
            .keyring
            .as_ref()
            .map_or(0u64, |k| k.instance())
            .to_be_bytes();
        for part in [
            self.partition.as_bytes(),
            self.provider.id().as_bytes(),
            &keyring,
        ] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut partition = [0u8; PARTITION_LEN];
        partition.copy_from_slice(
            ctx.finish()
                .as_ref()
                .get(..PARTITION_LEN)
                .ok_or(CellError::Internal("partition digest length"))?,
        );
        Ok(CellEncryptor {
            provider: self.provider,
            cache,
            owner: new_owner(),
            partition,
            // The keyring does not record partitions, so only the default one borrows keys from it.
            borrows: self.partition.is_empty(),
            keyring: self.keyring,
        })
    }
}

/// Encrypts and decrypts cells. Thread-safe: share one per process (`Arc`), the cache is inside.
pub struct CellEncryptor {
    provider: Arc<dyn KeyProvider>,
    cache: Arc<KeyCache>,
    /// What this encryptor's keys are known by in a thread's slots.
    owner: u64,
    partition: [u8; PARTITION_LEN],
    /// Takes shares of data keys other processes made (docs/format.md, "Keyring file").
    borrows: bool,
    keyring: Option<Arc<Keyring>>,
}

impl std::fmt::Debug for CellEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellEncryptor")
            .field("provider", &self.provider.id())
            .field("form", &self.form())
            .finish_non_exhaustive()
    }
}

impl CellEncryptor {
    pub fn builder(provider: Arc<dyn KeyProvider>) -> Builder {
        Builder {
            provider,
            cache: None,
            limits: CacheLimits::default(),
            partition: String::new(),
            keyring: None,
        }
    }

    pub fn form(&self) -> Form {
        if self.keyring.is_some() {
            Form::Compact
        } else {
            Form::SelfContained
        }
    }

    pub fn provider(&self) -> &dyn KeyProvider {
        self.provider.as_ref()
    }

    pub fn cache(&self) -> &KeyCache {
        &self.cache
    }

    /// Encrypts one cell under the context's data key (one `getrandom` call for the nonce).
    pub fn encrypt(&self, context: &Context, plaintext: &[u8]) -> Result<Vec<u8>, CellError> {
        check_len(plaintext.len())?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        self.cache.with_encrypt_key(
            &self.key_name(PURPOSE_ENCRYPT, None, context),
            plaintext.len(),
            &|| self.new_key(context),
            |key, aad| self.seal(key, context, nonce, plaintext, aad),
        )
    }

    /// Encrypts many cells (a row, a chunk of a column): one key lookup per run of cells with the same scope and
    /// one `getrandom` call for all nonces. Cells may have different rows and columns.
    pub fn encrypt_batch(&self, cells: &[(&Context, &[u8])]) -> Result<Vec<Vec<u8>>, CellError> {
        let sizes: Vec<usize> = cells.iter().map(|(_, p)| p.len()).collect();
        if let Some(&len) = sizes.iter().find(|&&len| len > MAX_PLAINTEXT_LEN) {
            return Err(CellError::TooLarge {
                len,
                max: MAX_PLAINTEXT_LEN,
            });
        }
        let mut nonces = vec![0u8; cells.len() * NONCE_LEN];
        fill_random(&mut nonces)?;
        let mut out = Vec::with_capacity(cells.len());
        let mut start = 0;
        while let Some(&(first, _)) = cells.get(start) {
            // The run of cells that share `first`'s scope.
            let mut end = start + 1;
            while let Some(&(ctx, _)) = cells.get(end) {
                if ctx.encoded_scope() != first.encoded_scope() {
                    break;
                }
                end += 1;
            }
            let cache_key = self.cache_key(PURPOSE_ENCRYPT, None, first);
            while start < end {
                let run_sizes = sizes.get(start..end).unwrap_or_default();
                let (key, covered) = self
                    .cache
                    .reserve_fresh(&cache_key, run_sizes, &|| self.new_key(first))?;
                for i in start..start + covered {
                    let (ctx, plain) = cells
                        .get(i)
                        .copied()
                        .ok_or_else(|| CellError::Internal("batch index"))?;
                    let mut nonce = [0u8; NONCE_LEN];
                    nonce.copy_from_slice(
                        nonces
                            .get(i * NONCE_LEN..(i + 1) * NONCE_LEN)
                            .unwrap_or(&[0; NONCE_LEN]),
                    );
                    out.push(with_scratch(|aad| self.seal(&key, ctx, nonce, plain, aad))?);
                }
                start += covered;
            }
        }
        Ok(out)
    }

    /// Decrypts one cell. Every failure is [`CellError::Decrypt`], except a key provider that cannot be reached.
    pub fn decrypt(&self, context: &Context, ciphertext: &[u8]) -> Result<Vec<u8>, CellError> {
        // The common case first: a compact value under a key this thread holds (fixed offsets, no lock). It makes
        // the same checks as the general path: the compact form needs a keyring (check 7), and nothing else of the
        // value is left to check against a cached key.
        if let (Some(cell), Some(_)) = (format::compact(ciphertext), &self.keyring) {
            let name = self.key_name(PURPOSE_OPEN_COMPACT, Some(cell.key_ref()), context);
            let opened = self.cache.with_held_decrypt_key(&name, &|key, aad| {
                open(key, cell.header, context, cell.nonce, cell.body, aad)
            });
            match opened {
                Some(Some(plaintext)) => return Ok(plaintext),
                Some(None) => return Err(CellError::Decrypt),
                None => {}
            }
        }
        self.decrypt_decoded(context, &format::decode(ciphertext)?)
    }

    /// Decrypts a decoded cell of either form, unwrapping its data key on a cache miss.
    #[inline(never)]
    fn decrypt_decoded(
        &self,
        context: &Context,
        decoded: &Decoded<'_>,
    ) -> Result<Vec<u8>, CellError> {
        let purpose = self.open_purpose(decoded)?;
        let key_ref = decoded.key_ref();
        self.cache.with_decrypt_key(
            &self.key_name(purpose, Some(&key_ref), context),
            &|| self.unwrap_for(context, decoded),
            &|key: &CellKey, aad: &mut AadBuf| match decoded.binding {
                KeyBinding::SelfContained { commitment, .. } if !key.commits_to(commitment) => {
                    Err(CellError::Decrypt)
                }
                // Another wrapped key than the cached one (a rewrapped copy, or garbage): checked itself.
                KeyBinding::SelfContained { wrapped, .. } if key.wrapped() != wrapped => {
                    open_decoded(&self.unwrap_for(context, decoded)?, context, decoded, aad)
                }
                _ => open_decoded(key, context, decoded, aad),
            },
        )
    }

    /// Decrypts many cells: consecutive cells under the same data key and scope (a chunk of a column) share one
    /// cache lookup. Each cell gets its own result, so one damaged value does not hide the others.
    pub fn decrypt_batch(&self, cells: &[(&Context, &[u8])]) -> Vec<Result<Vec<u8>, CellError>> {
        with_scratch(|aad| {
            // The last key looked up, by the bytes of its name.
            let mut previous: Option<(Vec<u8>, Arc<CellKey>)> = None;
            cells
                .iter()
                .map(|&(context, ciphertext)| {
                    let decoded = format::decode(ciphertext)?;
                    let purpose = self.open_purpose(&decoded)?;
                    let key_ref = decoded.key_ref();
                    let name = self.key_name(purpose, Some(&key_ref), context);
                    let cached = match &previous {
                        Some((bytes, k)) if name.is(bytes) => Arc::clone(k),
                        _ => {
                            let bytes = name.to_vec();
                            let k = self
                                .cache
                                .get(&bytes, &|| self.unwrap_for(context, &decoded))?;
                            previous = Some((bytes, Arc::clone(&k)));
                            k
                        }
                    };
                    let cached = self.checked_hit(cached, context, &decoded)?;
                    open_decoded(&cached, context, &decoded, aad)
                })
                .collect()
        })
    }

    /// The blind index of a context's column, `len` bytes long. Its root key comes from the keyring when there is
    /// one (stored there on first use, so it survives rotation), else from the provider (a key file holds one);
    /// a KMS key without a keyring has none.
    pub fn blind_index(&self, context: &Context, len: usize) -> Result<BlindIndex, CellError> {
        BlindIndex::check_len(len)?;
        let root = match (&self.keyring, self.provider.blind_index_root()) {
            (Some(keyring), _) => keyring.index_root(self.provider.as_ref(), &context.scope())?,
            (None, Some(root)) => root,
            (None, None) => return Err(CellError::NoIndexKey),
        };
        BlindIndex::new(&root, context, len)
    }

    /// Decrypts and encrypts again under the scope's current data key (moves cells off an old data key).
    pub fn reencrypt(&self, context: &Context, ciphertext: &[u8]) -> Result<Vec<u8>, CellError> {
        let plaintext = zeroize::Zeroizing::new(self.decrypt(context, ciphertext)?);
        self.encrypt(context, &plaintext)
    }

    /// Rewraps the data key inside a self-contained value under `to` (a new KMS key or key file). The data key stays
    /// the same; the cell is sealed again because its header, wrapped key included, is authenticated.
    pub fn rewrap_value(
        &self,
        context: &Context,
        ciphertext: &[u8],
        to: &dyn KeyProvider,
    ) -> Result<Vec<u8>, CellError> {
        let decoded = format::decode(ciphertext)?;
        let KeyBinding::SelfContained {
            provider,
            wrapped,
            commitment,
        } = decoded.binding
        else {
            return Err(CellError::Decrypt);
        };
        if provider != self.provider.kind() {
            return Err(CellError::Decrypt);
        }
        let scope = context.scope();
        let key = self
            .provider
            .unwrap_key(wrapped, &scope)
            .map_err(CellError::from_unwrap)?;
        if !super::keys::ct_eq(&super::suite::commitment_of(&key)?, commitment) {
            return Err(CellError::Decrypt);
        }
        // The header (and so the new wrapped key) is authenticated, so the cell is sealed again under the same data
        // key with a fresh nonce. The reseals count against the data key's limits like any encryption: the cache
        // entry of (new master key, data key) holds the budget, and the rewrapped key it made is reused.
        let plaintext = zeroize::Zeroizing::new(self.decrypt(context, ciphertext)?);
        let mut budget_key = self.cache_key(PURPOSE_REWRAP, Some(&decoded.key_ref()), context);
        budget_key.extend_from_slice(to.id().as_bytes());
        let (key, _) = self.cache.reserve(&budget_key, &[plaintext.len()], &|| {
            let rewrapped = to.wrap_key(&key, &scope)?;
            CellKey::derive(&key, to.kind(), rewrapped)
        })?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        with_scratch(|aad| self.seal_with(&key, false, context, nonce, &plaintext, aad))
    }

    /// The name of a cached key: partition digest, purpose, key reference (decryption), scope encoding.
    fn key_name<'a>(
        &'a self,
        purpose: u8,
        key_ref: Option<&'a [u8; KEY_REF_LEN]>,
        context: &'a Context,
    ) -> KeyName<'a> {
        KeyName {
            owner: self.owner,
            partition: &self.partition,
            purpose,
            key_ref,
            scope: context.shared_scope(),
        }
    }

    /// The bytes of [`Self::key_name`]: the shared map's key.
    fn cache_key(
        &self,
        purpose: u8,
        key_ref: Option<&[u8; KEY_REF_LEN]>,
        context: &Context,
    ) -> Vec<u8> {
        self.key_name(purpose, key_ref, context).to_vec()
    }

    /// A data key for `context`'s scope: a share of one already in the keyring (compact form), or a new one from
    /// the provider, stored in the keyring before it encrypts anything.
    fn new_key(&self, context: &Context) -> Result<Fresh, CellError> {
        let scope = context.scope();
        let limits = self.cache.limits();
        if let Some(keyring) = self.keyring.as_ref().filter(|_| self.borrows)
            && let Some(lent) = self.lent_key(keyring, context)?
        {
            return Ok(lent);
        }
        let generated = self.provider.generate(&scope)?;
        let key = CellKey::derive(
            &generated.plaintext,
            self.provider.kind(),
            generated.wrapped,
        )?;
        let mut fresh = Fresh::whole(key, limits);
        if let Some(keyring) = &self.keyring {
            // The maker takes the first share; other processes may take the rest.
            let allowance = keyring::first_share(limits.max_messages, limits.max_bytes);
            let entry = KeyringEntry::new(
                *fresh.key.commitment(),
                fresh.key.provider(),
                fresh.key.wrapped().to_vec(),
                scope,
            )
            .leased_to_maker(allowance);
            keyring.insert_wrapped(entry, self.provider.as_ref())?;
            fresh.messages = allowance.messages;
            fresh.bytes = allowance.bytes;
        }
        self.remember_for_decrypt(&generated.plaintext, &fresh.key, context)?;
        Ok(fresh)
    }

    /// A share of a data key the keyring already holds for the scope, unwrapped and checked against its
    /// commitment (a wrong key is an error, never a reason to make another).
    fn lent_key(&self, keyring: &Keyring, context: &Context) -> Result<Option<Fresh>, CellError> {
        let limits = self.cache.limits();
        let share = keyring::ShareLimits {
            max_age_secs: limits.max_age.as_secs(),
            max_messages: limits.max_messages,
            max_bytes: limits.max_bytes,
        };
        let scope = context.scope();
        let Some((entry, allowance)) = keyring.lend(&scope, self.provider.as_ref(), share)? else {
            return Ok(None);
        };
        let age = std::time::Duration::from_secs(keyring::now_unix().saturating_sub(entry.created));
        // A key this process made or unwrapped before is in its cache for decryption: no unwrap (no KMS call).
        let held = self.cache_key(PURPOSE_OPEN_COMPACT, Some(&entry.key_ref), context);
        if let Some(key) = self
            .cache
            .peek(&held)
            .filter(|k| k.commits_to(&entry.commitment))
        {
            return Ok(Some(Fresh {
                key,
                messages: allowance.messages,
                bytes: allowance.bytes,
                age,
            }));
        }
        let plaintext = self
            .provider
            .unwrap_key(&entry.wrapped, &scope)
            .map_err(|source| KeyringError::Unwrap {
                key_ref: entry.key_ref,
                source,
            })?;
        let key = CellKey::derive(&plaintext, entry.provider, entry.wrapped.clone())?;
        if !key.commits_to(&entry.commitment) {
            return Err(KeyringError::Commitment {
                key_ref: entry.key_ref,
            }
            .into());
        }
        self.remember_for_decrypt(&plaintext, &key, context)?;
        Ok(Some(Fresh {
            key: Arc::new(key),
            messages: allowance.messages,
            bytes: allowance.bytes,
            age,
        }))
    }

    /// Decrypting what this process writes under a key it holds needs no unwrap.
    fn remember_for_decrypt(
        &self,
        plaintext: &DataKey,
        key: &CellKey,
        context: &Context,
    ) -> Result<(), CellError> {
        let again = CellKey::derive(plaintext, key.provider(), key.wrapped().to_vec())?;
        let purpose = match self.keyring {
            Some(_) => PURPOSE_OPEN_COMPACT,
            None => PURPOSE_OPEN_SELF_CONTAINED,
        };
        let decrypt_key = self.cache_key(purpose, Some(&key.key_ref()), context);
        self.cache.insert_for_decrypt(decrypt_key, Arc::new(again));
        Ok(())
    }

    fn seal(
        &self,
        key: &CellKey,
        context: &Context,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
        aad: &mut AadBuf,
    ) -> Result<Vec<u8>, CellError> {
        self.seal_with(key, self.keyring.is_some(), context, nonce, plaintext, aad)
    }

    fn seal_with(
        &self,
        key: &CellKey,
        compact: bool,
        context: &Context,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
        aad: &mut AadBuf,
    ) -> Result<Vec<u8>, CellError> {
        // The output starts with the header; the associated data is the same header followed by the context.
        let header_len = if compact {
            format::COMPACT_HEADER_LEN
        } else {
            format::SELF_CONTAINED_FIXED_LEN + key.wrapped().len()
        };
        let mut out = Vec::with_capacity(header_len + NONCE_LEN + plaintext.len() + TAG_LEN);
        if compact {
            format::write_compact_header(&mut out, &key.key_ref());
        } else {
            format::write_self_contained_header(
                &mut out,
                key.provider(),
                key.wrapped(),
                key.commitment(),
            )?;
        }
        let aad = aad.assemble(&out, context.encoded());
        out.extend_from_slice(&nonce);
        let body_start = out.len();
        out.extend_from_slice(plaintext);
        key.seal_tail(nonce, aad, &mut out, body_start)?;
        Ok(out)
    }

    /// The checks a cached key cannot have made for this value (docs/format.md 2.5): the provider byte (3) and the
    /// keyring (7) before any lookup, so the cache state never decides.
    fn open_purpose(&self, decoded: &Decoded<'_>) -> Result<u8, CellError> {
        match decoded.binding {
            KeyBinding::Compact { .. } if self.keyring.is_none() => Err(CellError::Decrypt),
            KeyBinding::Compact { .. } => Ok(PURPOSE_OPEN_COMPACT),
            KeyBinding::SelfContained { provider, .. } if provider != self.provider.kind() => {
                Err(CellError::Decrypt)
            }
            KeyBinding::SelfContained { .. } => Ok(PURPOSE_OPEN_SELF_CONTAINED),
        }
    }

    /// A cached key checked against a self-contained value's own fields: the commitment (6), and the wrapped key
    /// (5): one that differs from the cached one (a rewrapped copy, or garbage) is unwrapped and checked itself.
    fn checked_hit(
        &self,
        key: Arc<CellKey>,
        context: &Context,
        decoded: &Decoded<'_>,
    ) -> Result<Arc<CellKey>, CellError> {
        match decoded.binding {
            KeyBinding::SelfContained { commitment, .. } if !key.commits_to(commitment) => {
                Err(CellError::Decrypt)
            }
            KeyBinding::SelfContained { wrapped, .. } if key.wrapped() != wrapped => {
                Ok(Arc::new(self.unwrap_for(context, decoded)?))
            }
            _ => Ok(key),
        }
    }

    fn unwrap_for(&self, context: &Context, decoded: &Decoded<'_>) -> Result<CellKey, CellError> {
        let scope = context.scope();
        let (provider, wrapped, commitment) = match decoded.binding {
            KeyBinding::SelfContained {
                provider,
                wrapped,
                commitment,
            } => (provider, wrapped.to_vec(), *commitment),
            KeyBinding::Compact { key_ref } => {
                let entry = self
                    .keyring
                    .as_ref()
                    .and_then(|k| k.find(key_ref))
                    .ok_or(CellError::Decrypt)?;
                (entry.provider, entry.wrapped, entry.commitment)
            }
        };
        if provider != self.provider.kind() {
            return Err(CellError::Decrypt);
        }
        let data_key = self
            .provider
            .unwrap_key(&wrapped, &scope)
            .map_err(CellError::from_unwrap)?;
        let key = CellKey::derive(&data_key, provider, wrapped)?;
        if !key.commits_to(&commitment) || !super::keys::ct_eq(&key.key_ref(), &decoded.key_ref()) {
            return Err(CellError::Decrypt);
        }
        Ok(key)
    }
}

/// Opens a decoded cell under its key.
fn open_decoded(
    key: &CellKey,
    context: &Context,
    decoded: &Decoded<'_>,
    aad: &mut AadBuf,
) -> Result<Vec<u8>, CellError> {
    open(
        key,
        decoded.header,
        context,
        &decoded.nonce,
        decoded.body,
        aad,
    )
    .ok_or(CellError::Decrypt)
}

/// Opens `body` (ciphertext and tag) under `key` with associated data `header || context`, into a new buffer;
/// `None` if it does not authenticate (the caller's one opaque error: the per-cell path returns a small value).
/// Generic over the header so the compact form's fixed-size one is copied without a call.
#[inline]
fn open<H: AsRef<[u8]> + ?Sized>(
    key: &CellKey,
    header: &H,
    context: &Context,
    nonce: &[u8; NONCE_LEN],
    body: &[u8],
    aad: &mut AadBuf,
) -> Option<Vec<u8>> {
    let aad = aad.assemble(header.as_ref(), context.encoded());
    let mut buf = body.to_vec();
    match key.open(*nonce, aad, &mut buf) {
        Some(len) => {
            buf.truncate(len);
            Some(buf)
        }
        None => {
            // A failed open leaves unauthenticated plaintext in the buffer (a wrapper that zeroizes on drop costs
            // every cell a call, for the buffer it has already given away).
            zeroize::Zeroize::zeroize(&mut buf);
            None
        }
    }
}

thread_local! {
    /// A per-thread buffer for the associated data of the batch paths (single cells borrow the cache's).
    static SCRATCH: RefCell<AadBuf> = const { RefCell::new(AadBuf::new()) };
}

/// Runs `f` with this thread's buffer for associated data (a fresh one if this thread is already using its own,
/// e.g. from a key provider that calls back into an encryptor).
fn with_scratch<R>(f: impl FnOnce(&mut AadBuf) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut AadBuf::new()),
    })
}

fn check_len(len: usize) -> Result<(), CellError> {
    if len > MAX_PLAINTEXT_LEN {
        return Err(CellError::TooLarge {
            len,
            max: MAX_PLAINTEXT_LEN,
        });
    }
    Ok(())
}
