//! A key provider that counts its calls: how the cache tests see how often the real provider is asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atrest::cell::{
    DataKey, GeneratedKey, KeyFileProvider, KeyProvider, KeyScope, ProviderError, ProviderKind,
};

/// Counts calls and optionally slows `generate` and `unwrap_key` down, around an ephemeral key-file provider.
pub struct Counting {
    pub inner: KeyFileProvider,
    pub generated: AtomicUsize,
    pub unwrapped: AtomicUsize,
    pub delay: Duration,
}

impl Counting {
    pub fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Counting {
            inner: KeyFileProvider::ephemeral().unwrap(),
            generated: AtomicUsize::new(0),
            unwrapped: AtomicUsize::new(0),
            delay,
        })
    }

    /// `generate` calls so far.
    pub fn generated(&self) -> usize {
        self.generated.load(Ordering::SeqCst)
    }

    /// `unwrap_key` calls so far.
    pub fn unwrapped(&self) -> usize {
        self.unwrapped.load(Ordering::SeqCst)
    }
}

impl KeyProvider for Counting {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }
    fn generate(&self, scope: &KeyScope) -> Result<GeneratedKey, ProviderError> {
        self.generated.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        self.inner.generate(scope)
    }
    fn unwrap_key(&self, wrapped: &[u8], scope: &KeyScope) -> Result<DataKey, ProviderError> {
        self.unwrapped.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        self.inner.unwrap_key(wrapped, scope)
    }
    fn wrap_key(&self, key: &DataKey, scope: &KeyScope) -> Result<Vec<u8>, ProviderError> {
        self.inner.wrap_key(key, scope)
    }
}
