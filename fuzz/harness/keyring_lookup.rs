//! One input through the keyring parser and every lookup path that a value or a keyring from untrusted storage
//! reaches: parse and render back, lookups of references taken from the input (in memory and in a file that the
//! input replaces between lookups, so the change detection and the remembered misses run), and decryption of a value
//! spliced from the input right after a valid value warmed the cache, one cell at a time and in a batch. Nothing may
//! panic, and nothing but the valid value may decrypt. Shared by the fuzz target `keyring_lookup` and the offline
//! property test `cell_fuzz`, so both run the same inputs.

use std::sync::{Arc, OnceLock};

use atrest::cell::{CellEncryptor, Context, KeyFileProvider, Keyring};

struct Fixture {
    compact: CellEncryptor,
    self_contained: CellEncryptor,
    ctx: Context,
    valid_compact: Vec<u8>,
    valid_self_contained: Vec<u8>,
    dir: std::path::PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let provider = Arc::new(KeyFileProvider::ephemeral().unwrap_or_else(|e| panic!("{e}")));
        let compact = CellEncryptor::builder(provider.clone())
            .keyring(Arc::new(Keyring::in_memory()))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let self_contained = CellEncryptor::builder(provider)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let ctx = Context::new("users", "ssn")
            .and_then(|c| c.with_row("1"))
            .unwrap_or_else(|e| panic!("{e}"));
        let valid_compact = compact
            .encrypt(&ctx, b"valid")
            .unwrap_or_else(|e| panic!("{e}"));
        let valid_self_contained = self_contained
            .encrypt(&ctx, b"valid")
            .unwrap_or_else(|e| panic!("{e}"));
        let dir =
            std::env::temp_dir().join(format!("atrest-keyring-lookup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        Fixture {
            compact,
            self_contained,
            ctx,
            valid_compact,
            valid_self_contained,
            dir,
        }
    })
}

fn refs(data: &[u8]) -> Vec<[u8; 16]> {
    data.chunks(16)
        .take(8)
        .map(|c| {
            let mut r = [0u8; 16];
            for (d, s) in r.iter_mut().zip(c) {
                *d = *s;
            }
            r
        })
        .collect()
}

pub fn run(data: &[u8]) {
    let f = fixture();
    let (mode, rest) = data.split_first().map_or((0, data), |(m, r)| (*m, r));
    // The parser, and what parses renders back to the same entries.
    if let Ok(text) = std::str::from_utf8(rest)
        && let Ok(ring) = Keyring::from_json(text)
    {
        let again = ring.to_json().unwrap_or_else(|e| panic!("{e}"));
        let back = Keyring::from_json(&again).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.entries(), ring.entries());
        assert_eq!(back.wrapped_by(), ring.wrapped_by());
        for r in refs(rest) {
            assert_eq!(ring.find(&r), ring.get(&r));
        }
    }
    // A file-backed keyring whose file the input replaces: lookups never panic, and find what the file holds.
    if mode & 1 == 1 {
        let path = f.dir.join(format!("ring-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        if let Ok(ring) = Keyring::open(&path) {
            for r in refs(rest) {
                assert!(ring.find(&r).is_none());
            }
            let _ = std::fs::write(&path, rest);
            let on_disk = std::str::from_utf8(rest)
                .ok()
                .and_then(|t| Keyring::from_json(t).ok());
            for r in refs(rest) {
                let found = ring.find(&r);
                if let Some(entry) = &found {
                    assert!(
                        on_disk
                            .as_ref()
                            .is_some_and(|d| d.get(&r).as_ref() == Some(entry))
                    );
                }
                assert_eq!(ring.find(&r), found, "a second lookup agrees");
            }
        }
    }
    // A value spliced from the input, decrypted right after a valid one warmed the cache.
    let (cells, valid) = if mode & 2 == 0 {
        (&f.compact, &f.valid_compact)
    } else {
        (&f.self_contained, &f.valid_self_contained)
    };
    let at = usize::from(mode >> 2) % (valid.len() + 1);
    let mut forged = valid.get(..at).unwrap_or_default().to_vec();
    forged.extend_from_slice(rest);
    let expect_ok = forged == *valid;
    assert_eq!(
        cells.decrypt(&f.ctx, valid).ok().as_deref(),
        Some(&b"valid"[..])
    );
    assert_eq!(cells.decrypt(&f.ctx, &forged).is_ok(), expect_ok);
    let batch = cells.decrypt_batch(&[(&f.ctx, valid), (&f.ctx, &forged), (&f.ctx, valid)]);
    assert!(batch.first().is_some_and(Result::is_ok));
    assert_eq!(batch.get(1).is_some_and(Result::is_ok), expect_ok);
    assert!(batch.get(2).is_some_and(Result::is_ok));
    // A reader without a keyring never opens a compact value (check 7 holds with a warm cache too).
    if mode & 2 == 0 {
        assert!(f.self_contained.decrypt(&f.ctx, &forged).is_err());
    }
}
