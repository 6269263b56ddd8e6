//! Property tests: round trip, tamper rejection, and the cache against a simple model of its limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use atrest::cell::{
    CacheLimits, CellEncryptor, CellError, Context, DataKey, GeneratedKey, KeyFileProvider,
    KeyProvider, KeyScope, Keyring, ProviderError, ProviderKind,
};
use proptest::prelude::*;

fn encryptors() -> &'static (CellEncryptor, CellEncryptor) {
    static CELLS: OnceLock<(CellEncryptor, CellEncryptor)> = OnceLock::new();
    CELLS.get_or_init(|| {
        let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
        let sc = CellEncryptor::builder(provider.clone()).build().unwrap();
        let cp = CellEncryptor::builder(provider)
            .keyring(Arc::new(Keyring::in_memory()))
            .build()
            .unwrap();
        (sc, cp)
    })
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_ü:]{1,12}"
}

fn context() -> impl Strategy<Value = Context> {
    (
        name(),
        name(),
        proptest::option::of(".{0,16}"),
        proptest::collection::btree_map("[a-z]{1,6}", ".{0,8}", 0..3),
    )
        .prop_map(|(t, c, row, extra)| {
            let mut ctx = Context::new(t, c).unwrap();
            if let Some(row) = row {
                ctx = ctx.with_row(row).unwrap();
            }
            for (k, v) in extra {
                ctx = ctx.with(k, v).unwrap();
            }
            ctx
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(ctx in context(), plain in proptest::collection::vec(any::<u8>(), 0..2048), compact in any::<bool>()) {
        let (sc, cp) = encryptors();
        let cells = if compact { cp } else { sc };
        let sealed = cells.encrypt(&ctx, &plain).unwrap();
        prop_assert_eq!(cells.decrypt(&ctx, &sealed).unwrap(), plain);
    }

    #[test]
    fn tamper_is_rejected(
        ctx in context(),
        plain in proptest::collection::vec(any::<u8>(), 0..256),
        at in any::<prop::sample::Index>(),
        flip in 1u8..,
        compact in any::<bool>(),
    ) {
        let (sc, cp) = encryptors();
        let cells = if compact { cp } else { sc };
        let mut sealed = cells.encrypt(&ctx, &plain).unwrap();
        let i = at.index(sealed.len());
        sealed[i] ^= flip;
        prop_assert_eq!(cells.decrypt(&ctx, &sealed).unwrap_err(), CellError::Decrypt);
    }

    #[test]
    fn other_row_is_rejected(ctx in context(), other in ".{0,16}", plain in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assume!(ctx.row() != Some(other.as_str()));
        let (_, cp) = encryptors();
        let sealed = cp.encrypt(&ctx, &plain).unwrap();
        let moved = ctx.clone().with_row(other).unwrap();
        prop_assert_eq!(cp.decrypt(&moved, &sealed).unwrap_err(), CellError::Decrypt);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (sc, cp) = encryptors();
        let ctx = Context::new("t", "c").unwrap();
        prop_assert!(sc.decrypt(&ctx, &bytes).is_err());
        prop_assert!(cp.decrypt(&ctx, &bytes).is_err());
    }

    /// The cache's provider calls equal a model that tracks messages left per scope.
    #[test]
    fn cache_matches_model(
        limit in 1u64..6,
        ops in proptest::collection::vec((0usize..4, 1usize..5), 1..60),
    ) {
        let provider = Arc::new(Counting(KeyFileProvider::ephemeral().unwrap(), AtomicUsize::new(0)));
        let cells = CellEncryptor::builder(provider.clone())
            .limits(CacheLimits { max_messages: limit, ..CacheLimits::default() })
            .build()
            .unwrap();
        let scopes: Vec<Context> = (0..4).map(|i| Context::new("t", format!("c{i}")).unwrap()).collect();
        let mut left: HashMap<usize, u64> = HashMap::new();
        let mut expected = 0usize;
        for (scope, count) in ops {
            // The model: a batch of `count` cells takes what the current key has left, then new keys.
            let mut todo = count as u64;
            while todo > 0 {
                let l = left.entry(scope).or_insert(0);
                if *l == 0 {
                    expected += 1;
                    *l = limit;
                }
                let take = todo.min(*l);
                *l -= take;
                todo -= take;
            }
            let batch: Vec<(&Context, &[u8])> = (0..count).map(|_| (&scopes[scope], b"v".as_slice())).collect();
            let sealed = cells.encrypt_batch(&batch).unwrap();
            for s in &sealed {
                prop_assert_eq!(cells.decrypt(&scopes[scope], s).unwrap(), b"v");
            }
            prop_assert_eq!(provider.1.load(Ordering::SeqCst), expected);
        }
    }
}

struct Counting(KeyFileProvider, AtomicUsize);

impl KeyProvider for Counting {
    fn id(&self) -> &str {
        self.0.id()
    }
    fn kind(&self) -> ProviderKind {
        self.0.kind()
    }
    fn generate(&self, scope: &KeyScope) -> Result<GeneratedKey, ProviderError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.generate(scope)
    }
    fn unwrap_key(&self, wrapped: &[u8], scope: &KeyScope) -> Result<DataKey, ProviderError> {
        self.0.unwrap_key(wrapped, scope)
    }
    fn wrap_key(&self, key: &DataKey, scope: &KeyScope) -> Result<Vec<u8>, ProviderError> {
        self.0.wrap_key(key, scope)
    }
}
