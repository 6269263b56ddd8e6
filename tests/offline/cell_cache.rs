//! The data-key cache: provider calls per message limit, single flight, partitions, age and entry bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use atrest::cell::{
    CacheLimits, CellEncryptor, Context, DataKey, GeneratedKey, KeyCache, KeyProvider, KeyScope,
    Keyring, ProviderError, ProviderKind,
};

use crate::support::providers::Counting;

fn limits(messages: u64) -> CacheLimits {
    CacheLimits {
        max_messages: messages,
        ..CacheLimits::default()
    }
}

/// N = 100,000 cells through the batch API (as the CLI encrypts a CSV file), message limit L = 1,000.
#[test]
fn generate_calls_never_exceed_ceil_n_over_l() {
    const N: usize = 100_000;
    const L: u64 = 1_000;
    let provider = Counting::new(Duration::ZERO);
    let cells = CellEncryptor::builder(provider.clone())
        .limits(limits(L))
        .keyring(Arc::new(Keyring::in_memory()))
        .build()
        .unwrap();
    let ctx = Context::new("users", "ssn").unwrap();
    let rows: Vec<Context> = (0..1024)
        .map(|i| ctx.clone().with_row(i.to_string()).unwrap())
        .collect();
    let mut done = 0;
    while done < N {
        let n = (N - done).min(rows.len());
        let batch: Vec<(&Context, &[u8])> = rows[..n]
            .iter()
            .map(|c| (c, b"078-05-1120".as_slice()))
            .collect();
        assert_eq!(cells.encrypt_batch(&batch).unwrap().len(), n);
        done += n;
    }
    let calls = provider.generated.load(Ordering::SeqCst);
    assert!(
        calls as u64 <= (N as u64).div_ceil(L),
        "{calls} GenerateDataKey calls for {N} cells"
    );
    assert_eq!(calls as u64, (N as u64).div_ceil(L));
}

#[test]
fn single_cells_also_respect_the_message_limit() {
    let provider = Counting::new(Duration::ZERO);
    let cells = CellEncryptor::builder(provider.clone())
        .limits(limits(7))
        .build()
        .unwrap();
    let ctx = Context::new("t", "c").unwrap();
    for _ in 0..100 {
        cells.encrypt(&ctx, b"x").unwrap();
    }
    assert_eq!(
        provider.generated.load(Ordering::SeqCst),
        100usize.div_ceil(7)
    );
}

#[test]
fn concurrent_misses_share_one_provider_call() {
    let provider = Counting::new(Duration::from_millis(100));
    let cells = Arc::new(CellEncryptor::builder(provider.clone()).build().unwrap());
    let barrier = Arc::new(Barrier::new(8));
    let ctx = Context::new("t", "c").unwrap();
    let sealed: Vec<Vec<u8>> = (0..8)
        .map(|_| {
            let (cells, barrier, ctx) = (cells.clone(), barrier.clone(), ctx.clone());
            std::thread::spawn(move || {
                barrier.wait();
                cells.encrypt(&ctx, b"v").unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(provider.generated.load(Ordering::SeqCst), 1);

    // The same for decryption by a fresh encryptor: one unwrap for eight concurrent readers.
    let reader = Arc::new(CellEncryptor::builder(provider.clone()).build().unwrap());
    let value = sealed[0].clone();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (reader, barrier, ctx, value) =
                (reader.clone(), barrier.clone(), ctx.clone(), value.clone());
            std::thread::spawn(move || {
                barrier.wait();
                reader.decrypt(&ctx, &value).unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), b"v");
    }
    assert_eq!(provider.unwrapped.load(Ordering::SeqCst), 1);
}

#[test]
fn scopes_and_partitions_never_share_a_data_key() {
    let provider = Counting::new(Duration::ZERO);
    let shared = Arc::new(KeyCache::new(CacheLimits::default()).unwrap());
    let keyring = Arc::new(Keyring::in_memory());
    let a = CellEncryptor::builder(provider.clone())
        .cache(shared.clone())
        .partition("app-a")
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let b = CellEncryptor::builder(provider.clone())
        .cache(shared.clone())
        .partition("app-b")
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let ssn = Context::new("users", "ssn").unwrap();
    let phone = Context::new("users", "phone").unwrap();
    let staff = Context::new("staff", "ssn").unwrap();
    let mut refs = std::collections::HashSet::new();
    for cells in [&a, &b] {
        for ctx in [&ssn, &phone, &staff] {
            let sealed = cells.encrypt(ctx, b"x").unwrap();
            refs.insert(sealed[3..19].to_vec());
            let again = cells.encrypt(ctx, b"y").unwrap();
            assert_eq!(
                &sealed[3..19],
                &again[3..19],
                "the cache serves the second cell"
            );
        }
    }
    assert_eq!(refs.len(), 6);
    assert_eq!(provider.generated.load(Ordering::SeqCst), 6);
}

#[test]
fn age_limit_forces_a_new_key() {
    let provider = Counting::new(Duration::ZERO);
    let cells = CellEncryptor::builder(provider.clone())
        .limits(CacheLimits {
            max_age: Duration::from_millis(30),
            ..CacheLimits::default()
        })
        .build()
        .unwrap();
    let ctx = Context::new("t", "c").unwrap();
    cells.encrypt(&ctx, b"x").unwrap();
    cells.encrypt(&ctx, b"x").unwrap();
    std::thread::sleep(Duration::from_millis(40));
    cells.encrypt(&ctx, b"x").unwrap();
    assert_eq!(provider.generated.load(Ordering::SeqCst), 2);
}

#[test]
fn entry_bound_holds() {
    let provider = Counting::new(Duration::ZERO);
    let cells = CellEncryptor::builder(provider)
        .limits(CacheLimits {
            max_entries: 4,
            ..CacheLimits::default()
        })
        .build()
        .unwrap();
    for i in 0..20 {
        cells
            .encrypt(&Context::new("t", format!("c{i}")).unwrap(), b"x")
            .unwrap();
        assert!(cells.cache().len() <= 4);
    }
}

#[test]
fn limits_are_validated() {
    let bad = [
        CacheLimits {
            max_entries: 0,
            ..CacheLimits::default()
        },
        CacheLimits {
            max_age: Duration::ZERO,
            ..CacheLimits::default()
        },
        CacheLimits {
            max_messages: 0,
            ..CacheLimits::default()
        },
        CacheLimits {
            max_messages: (1 << 32) + 1,
            ..CacheLimits::default()
        },
        CacheLimits {
            max_bytes: 1024,
            ..CacheLimits::default()
        },
    ];
    for limits in bad {
        assert!(KeyCache::new(limits).is_err(), "{limits:?}");
    }
    assert!(
        KeyCache::new(CacheLimits {
            max_messages: 1 << 32,
            ..CacheLimits::default()
        })
        .is_ok()
    );
}

#[test]
fn provider_failure_reaches_every_waiter_and_is_not_cached() {
    struct Failing(AtomicUsize);
    impl KeyProvider for Failing {
        fn id(&self) -> &str {
            "failing"
        }
        fn kind(&self) -> ProviderKind {
            ProviderKind::AwsKms
        }
        fn generate(&self, _: &KeyScope) -> Result<GeneratedKey, ProviderError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            Err(ProviderError::unavailable("throttled"))
        }
        fn unwrap_key(&self, _: &[u8], _: &KeyScope) -> Result<DataKey, ProviderError> {
            Err(ProviderError::Rejected)
        }
        fn wrap_key(&self, _: &DataKey, _: &KeyScope) -> Result<Vec<u8>, ProviderError> {
            Err(ProviderError::Rejected)
        }
    }
    let provider = Arc::new(Failing(AtomicUsize::new(0)));
    let cells = Arc::new(CellEncryptor::builder(provider.clone()).build().unwrap());
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (cells, barrier) = (cells.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                cells
                    .encrypt(&Context::new("t", "c").unwrap(), b"x")
                    .unwrap_err()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().to_string().contains("throttled"));
    }
    assert!(provider.0.load(Ordering::SeqCst) < 4);
    cells
        .encrypt(&Context::new("t", "c").unwrap(), b"x")
        .unwrap_err();
}
