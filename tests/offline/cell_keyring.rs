//! The keyring under concurrent writers and a rewrap, its blind-index roots, and the checks a warm cache must not
//! skip (docs/format.md, sections 2.5 and 7).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use atrest::cell::format::{self, KeyBinding};
use atrest::cell::{
    CellEncryptor, CellError, Context, DataKey, GeneratedKey, KeyFileProvider, KeyProvider,
    KeyScope, Keyring, KeyringError, ProviderError, ProviderKind,
};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;

use crate::support::{atrest, stderr, stdout};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn cell(args: &[&str]) -> Command {
    let mut cmd = atrest();
    cmd.arg("cell").args(args);
    cmd
}

fn keygen(path: &Path) {
    let out = cell(&["keygen", "--out", p(path)])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A writer that has opened the keyring and waits for its value on standard input.
fn writer(key: &Path, ring: &Path, column: &str) -> Child {
    cell(&[
        "encrypt",
        "--key-file",
        p(key),
        "--keyring",
        p(ring),
        "--table",
        "users",
        "--column",
        column,
        "--row",
        "1",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

fn feed(mut child: Child, value: &str) -> std::process::Output {
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{value}").unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn decrypts(key: &Path, ring: &Path, column: &str, value: &str) -> Option<String> {
    let out = cell(&[
        "decrypt",
        "--key-file",
        p(key),
        "--keyring",
        p(ring),
        "--table",
        "users",
        "--column",
        column,
        "--row",
        "1",
        value,
    ])
    .stdin(Stdio::null())
    .output()
    .unwrap();
    out.status
        .success()
        .then(|| stdout(&out).trim_end().to_owned())
}

/// N writer processes around `cell rewrap`: some finish before it, some race it, some opened the keyring before it
/// and write after it. Afterwards every value a writer printed decrypts with the new key and none with the old
/// one, and the writers that came too late were refused rather than wrapping a key under the retired one.
#[test]
fn rewrap_while_writers_run_leaves_every_value_under_the_new_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new, ring) = (
        dir.path().join("old.key"),
        dir.path().join("new.key"),
        dir.path().join("ring.json"),
    );
    keygen(&old);
    keygen(&new);
    const N: usize = 12;
    let columns: Vec<String> = (0..N).map(|i| format!("c{i}")).collect();
    // A third written before the rewrap.
    let mut results = Vec::new();
    for column in &columns[..N / 3] {
        results.push((column.clone(), feed(writer(&old, &ring, column), column)));
    }
    // A third opened before the rewrap and fed only after it (stale copies of the keyring).
    let stale: Vec<(String, Child)> = columns[N / 3..2 * N / 3]
        .iter()
        .map(|c| (c.clone(), writer(&old, &ring, c)))
        .collect();
    // Give them time to open the keyring.
    std::thread::sleep(std::time::Duration::from_millis(300));
    // A third fed while the rewrap runs.
    let racing: Vec<(String, Child)> = columns[2 * N / 3..]
        .iter()
        .map(|c| (c.clone(), writer(&old, &ring, c)))
        .collect();
    let rewrap = cell(&[
        "rewrap",
        "--keyring",
        p(&ring),
        "--key-file",
        p(&old),
        "--to-key-file",
        p(&new),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    for (column, child) in racing {
        results.push((column.clone(), feed(child, &column)));
    }
    let rewrap = rewrap.wait_with_output().unwrap();
    assert!(rewrap.status.success(), "{}", stderr(&rewrap));
    let mut refused = 0;
    for (column, child) in stale {
        let out = feed(child, &column);
        if !out.status.success() {
            refused += 1;
        }
        results.push((column, out));
    }
    assert_eq!(refused, N / 3, "every stale writer is refused");
    let mut written = 0;
    for (column, out) in &results {
        if !out.status.success() {
            let err = stderr(out);
            assert!(err.contains("is wrapped by `keyfile:"), "{column}: {err}");
            continue;
        }
        written += 1;
        let value = stdout(out).trim_end().to_owned();
        assert_eq!(
            decrypts(&new, &ring, column, &value).as_deref(),
            Some(column.as_str()),
            "{column} under the new key"
        );
        assert_eq!(
            decrypts(&old, &ring, column, &value),
            None,
            "{column} under the old key"
        );
    }
    assert!(written >= N / 3, "{written}");
    let keyring = Keyring::open_existing(&ring).unwrap();
    assert_eq!(keyring.len(), written);
    let new_id = KeyFileProvider::open(&new).unwrap().id().to_owned();
    assert_eq!(keyring.wrapped_by(), Some(new_id));
    // A writer with the new key goes on adding to the rewrapped keyring.
    let out = feed(writer(&new, &ring, "late"), "late");
    assert!(out.status.success(), "{}", stderr(&out));
}

fn scope_of(ctx: &Context) -> KeyScope {
    ctx.scope()
}

#[test]
fn blind_index_roots_are_committed_and_never_silently_made_again() {
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let keyring = Arc::new(Keyring::in_memory());
    let cells = CellEncryptor::builder(provider.clone())
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let ctx = Context::new("users", "ssn").unwrap().with_row("1").unwrap();
    let index = cells.blind_index(&ctx, 16).unwrap().compute(b"078-05-1120");
    cells.encrypt(&ctx, b"078-05-1120").unwrap();
    let json: serde_json::Value = serde_json::from_str(&keyring.to_json().unwrap()).unwrap();
    let reader = |json: &serde_json::Value| {
        let ring = Arc::new(Keyring::from_json(&json.to_string()).unwrap());
        CellEncryptor::builder(provider.clone())
            .keyring(ring)
            .build()
            .unwrap()
    };
    assert_eq!(
        reader(&json)
            .blind_index(&ctx, 16)
            .unwrap()
            .compute(b"078-05-1120"),
        index
    );
    // A root replaced by another one (wrapped for the same scope, so it unwraps): its commitment does not match.
    let mut planted = json.clone();
    let mut index_scope = scope_of(&ctx);
    index_scope.insert("atrest:purpose".into(), "blind-index".into());
    let other = provider.generate(&index_scope).unwrap();
    planted["index_keys"][0]["wrapped"] = base64_std(&other.wrapped).into();
    let e = reader(&planted).blind_index(&ctx, 16).unwrap_err();
    assert_eq!(e, CellError::Keyring(KeyringError::IndexKeyCommitment));
    // A root removed while the column has data keys: refused, not made again.
    let mut removed = json.clone();
    removed["index_keys"] = serde_json::json!([]);
    let e = reader(&removed).blind_index(&ctx, 16).unwrap_err();
    assert!(
        matches!(e, CellError::Keyring(KeyringError::IndexKeyMissing { .. })),
        "{e:?}"
    );
    // A root without its commitment (an earlier version's) is read, but never used.
    let mut bare = json;
    bare["index_keys"][0]
        .as_object_mut()
        .unwrap()
        .remove("commitment");
    let e = reader(&bare).blind_index(&ctx, 16).unwrap_err();
    assert!(
        matches!(
            e,
            CellError::Keyring(KeyringError::IndexKeyUncommitted { .. })
        ),
        "{e:?}"
    );
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A provider whose data keys the test knows, so it can forge values the way someone holding the data key would.
struct KnownKeys;

const KNOWN: [u8; 32] = [0x42; 32];

impl KeyProvider for KnownKeys {
    fn id(&self) -> &str {
        "known"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::KeyFile
    }
    fn generate(&self, _scope: &KeyScope) -> Result<GeneratedKey, ProviderError> {
        Ok(GeneratedKey {
            plaintext: DataKey::from_bytes(KNOWN),
            wrapped: [b"wrapped:".as_slice(), &KNOWN].concat(),
        })
    }
    fn unwrap_key(&self, wrapped: &[u8], _scope: &KeyScope) -> Result<DataKey, ProviderError> {
        wrapped
            .strip_prefix(b"wrapped:".as_slice())
            .ok_or(ProviderError::Rejected)
            .and_then(DataKey::from_slice)
    }
    fn wrap_key(&self, key: &DataKey, _scope: &KeyScope) -> Result<Vec<u8>, ProviderError> {
        Ok([b"wrapped:".as_slice(), key.expose()].concat())
    }
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// Seals `plaintext` under the known data key with `header` (docs/format.md, sections 2 and 4).
fn forge(header: &[u8], ctx: &Context, plaintext: &[u8]) -> Vec<u8> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"atrest-cell-v1").extract(&KNOWN);
    let mut cell_key = [0u8; 32];
    prk.expand(&[&[1u8], b"DERIVEKEY"], Len(32))
        .unwrap()
        .fill(&mut cell_key)
        .unwrap();
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cell_key).unwrap());
    let aad = [header, ctx.encoded()].concat();
    let mut out = header.to_vec();
    out.extend_from_slice(&[7u8; 12]);
    let mut body = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([7u8; 12]),
        Aad::from(&aad),
        &mut body,
    )
    .unwrap();
    out.extend_from_slice(&body);
    out
}

/// Spec checks 3, 5 and 7 hold on a cache hit too: a value the data key's holder forged with another provider
/// byte, a garbage wrapped key, or in the compact form for a reader without a keyring is refused even right after
/// a valid value warmed the cache.
#[test]
fn a_warm_cache_skips_no_check_of_the_spec() {
    let cells = CellEncryptor::builder(Arc::new(KnownKeys)).build().unwrap();
    let ctx = Context::new("users", "ssn").unwrap().with_row("1").unwrap();
    let valid = cells.encrypt(&ctx, b"first").unwrap();
    let decoded = format::decode(&valid).unwrap();
    let KeyBinding::SelfContained {
        wrapped,
        commitment,
        ..
    } = decoded.binding
    else {
        panic!("self-contained")
    };
    // The forgery recipe itself is right: the same header forges a value that opens.
    assert_eq!(
        cells
            .decrypt(&ctx, &forge(decoded.header, &ctx, b"forged"))
            .unwrap(),
        b"forged"
    );
    let mut header = Vec::new();
    format::write_self_contained_header(&mut header, ProviderKind::AwsKms, wrapped, commitment)
        .unwrap();
    let other_provider = forge(&header, &ctx, b"provider 0x02 accepted");
    let mut header = Vec::new();
    format::write_self_contained_header(&mut header, ProviderKind::KeyFile, &[0], commitment)
        .unwrap();
    let garbage_wrapped = forge(&header, &ctx, b"garbage wrapped ok");
    let mut header = Vec::new();
    format::write_compact_header(&mut header, &decoded.key_ref());
    let compact = forge(&header, &ctx, b"compact without keyring");
    for forged in [&other_provider, &garbage_wrapped, &compact] {
        assert_eq!(cells.decrypt(&ctx, &valid).unwrap(), b"first");
        assert_eq!(cells.decrypt(&ctx, forged).unwrap_err(), CellError::Decrypt);
        let batch = cells.decrypt_batch(&[(&ctx, &valid), (&ctx, forged)]);
        assert_eq!(batch[0].as_deref().unwrap(), b"first");
        assert_eq!(batch[1].clone().unwrap_err(), CellError::Decrypt);
    }
    // Encryptors that share a cache but not a keyring: a key found through one keyring does not answer a lookup
    // through the other, which does not hold it (check 7).
    let cache = Arc::new(atrest::cell::KeyCache::new(Default::default()).unwrap());
    let with_ring = |ring: Keyring| {
        CellEncryptor::builder(Arc::new(KnownKeys))
            .cache(cache.clone())
            .keyring(Arc::new(ring))
            .build()
            .unwrap()
    };
    let writer = with_ring(Keyring::in_memory());
    let sealed = writer.encrypt(&ctx, b"a").unwrap();
    assert_eq!(writer.decrypt(&ctx, &sealed).unwrap(), b"a");
    let other = with_ring(Keyring::in_memory());
    assert_eq!(
        other.decrypt(&ctx, &sealed).unwrap_err(),
        CellError::Decrypt
    );
}

/// Writers in separate processes share a scope's data key through the keyring instead of adding one entry each:
/// each takes a sixteenth of the key's limits, recorded in the file under the lock, so 20 writers of one column
/// make two keys (16 shares of the first, 4 of the second), and together never exceed one key's limits.
#[test]
fn writer_processes_share_a_scopes_data_key_within_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ring) = (dir.path().join("k.key"), dir.path().join("ring.json"));
    keygen(&key);
    const N: usize = 20;
    let children: Vec<Child> = (0..N).map(|_| writer(&key, &ring, "ssn")).collect();
    let values: Vec<String> = children
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            let out = feed(child, &format!("v{i}"));
            assert!(out.status.success(), "{}", stderr(&out));
            stdout(&out).trim_end().to_owned()
        })
        .collect();
    for (i, value) in values.iter().enumerate() {
        assert_eq!(
            decrypts(&key, &ring, "ssn", value).as_deref(),
            Some(format!("v{i}").as_str())
        );
    }
    let keyring = Keyring::open_existing(&ring).unwrap();
    let entries = keyring.entries();
    assert_eq!(entries.len(), 2, "one entry per 16 writers, not one each");
    let limits = atrest::cell::CacheLimits::default();
    let mut shares = 0;
    for entry in &entries {
        let leased = entry.leased.expect("a new entry records its shares");
        assert!(leased.messages <= limits.max_messages && leased.bytes <= limits.max_bytes);
        shares += leased.messages / limits.max_messages.div_ceil(16);
    }
    assert_eq!(shares, N as u64, "every writer took exactly one share");
}

fn entry_json(ring: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ring).unwrap()).unwrap()
}

/// An entry without a record of its shares (an earlier version's) may be used up already: it is never lent, and
/// an entry older than the writer's age limit is not either; both make the writer add a key of its own.
#[test]
fn entries_of_unknown_use_or_past_their_age_are_never_lent() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ring) = (dir.path().join("k.key"), dir.path().join("ring.json"));
    keygen(&key);
    let first = feed(writer(&key, &ring, "ssn"), "a");
    assert!(first.status.success(), "{}", stderr(&first));
    // As an earlier version wrote it: no `leased`.
    let mut json = entry_json(&ring);
    json["keys"][0].as_object_mut().unwrap().remove("leased");
    std::fs::write(&ring, serde_json::to_string(&json).unwrap()).unwrap();
    let second = feed(writer(&key, &ring, "ssn"), "b");
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(Keyring::open_existing(&ring).unwrap().len(), 2);
    // Now age every entry past the default hour.
    let mut json = entry_json(&ring);
    for entry in json["keys"].as_array_mut().unwrap() {
        let created = entry["created"].as_u64().unwrap();
        entry["created"] = (created - 7200).into();
    }
    std::fs::write(&ring, serde_json::to_string(&json).unwrap()).unwrap();
    let third = feed(writer(&key, &ring, "ssn"), "c");
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(Keyring::open_existing(&ring).unwrap().len(), 3);
    for (out, plain) in [(&first, "a"), (&second, "b"), (&third, "c")] {
        let value = stdout(out).trim_end().to_owned();
        assert_eq!(decrypts(&key, &ring, "ssn", &value).as_deref(), Some(plain));
    }
}

/// A share is a lease on cells: an in-process writer whose share runs out takes the next share of the same key,
/// and once all shares are taken a new key is made; no key ever seals more than its limit.
#[test]
fn shares_never_add_up_to_more_than_one_keys_message_limit() {
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let keyring = Arc::new(Keyring::in_memory());
    let limits = atrest::cell::CacheLimits {
        max_messages: 32,
        ..Default::default()
    };
    // Three writers with caches of their own, as three processes would have.
    let writers: Vec<CellEncryptor> = (0..3)
        .map(|_| {
            CellEncryptor::builder(provider.clone())
                .keyring(keyring.clone())
                .limits(limits)
                .build()
                .unwrap()
        })
        .collect();
    let ctx = Context::new("users", "ssn").unwrap();
    let mut per_key: std::collections::HashMap<Vec<u8>, u64> = Default::default();
    for round in 0..40 {
        for w in &writers {
            let sealed = w.encrypt(&ctx, format!("{round}").as_bytes()).unwrap();
            *per_key.entry(sealed[3..19].to_vec()).or_default() += 1;
        }
    }
    // 120 cells, at most 32 per key: at least 4 keys, and every key within its limit.
    assert!(per_key.values().all(|&n| n <= 32), "{per_key:?}");
    assert_eq!(per_key.len(), 4, "{per_key:?}");
    for entry in keyring.entries() {
        assert!(entry.leased.unwrap().messages <= 32);
    }
}

/// A keyring of an earlier version stored blind-index roots without a commitment: such a root is refused (it
/// could have been planted), rotation does not vouch for it on the way, and `cell commit-index-roots` with the
/// master key records it explicitly, after which the column's indexes match the ones written before.
#[test]
fn uncommitted_index_roots_are_refused_until_recorded_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ring) = (dir.path().join("k.key"), dir.path().join("ring.json"));
    keygen(&key);
    let encrypt = |value: &str| {
        cell(&[
            "encrypt",
            "--key-file",
            p(&key),
            "--keyring",
            p(&ring),
            "--table",
            "users",
            "--column",
            "email",
            "--blind-index",
            value,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap()
    };
    let first = encrypt("a@example.com");
    assert!(first.status.success(), "{}", stderr(&first));
    let index = stdout(&first)
        .trim_end()
        .split_once(' ')
        .unwrap()
        .1
        .to_owned();
    // As an earlier version wrote it.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ring).unwrap()).unwrap();
    json["index_keys"][0]
        .as_object_mut()
        .unwrap()
        .remove("commitment");
    std::fs::write(&ring, serde_json::to_string(&json).unwrap()).unwrap();
    let refused = encrypt("a@example.com");
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains("without a commitment") && err.contains("commit-index-roots"),
        "{err}"
    );
    let other = dir.path().join("other.key");
    keygen(&other);
    let rewrap = cell(&[
        "rewrap",
        "--keyring",
        p(&ring),
        "--key-file",
        p(&key),
        "--to-key-file",
        p(&other),
    ])
    .stdin(Stdio::null())
    .output()
    .unwrap();
    assert!(
        !rewrap.status.success(),
        "a rotation does not vouch for the root"
    );
    assert!(
        stderr(&rewrap).contains("without a commitment"),
        "{}",
        stderr(&rewrap)
    );
    let commit = |key: &Path| {
        cell(&[
            "commit-index-roots",
            "--keyring",
            p(&ring),
            "--key-file",
            p(key),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap()
    };
    let wrong = commit(&other);
    assert!(!wrong.status.success(), "another key cannot vouch");
    let out = commit(&key);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("recorded 1 blind-index commitments"),
        "{}",
        stdout(&out)
    );
    let again = encrypt("a@example.com");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again).trim_end().split_once(' ').unwrap().1, index);
    assert!(stdout(&commit(&key)).contains("recorded 0"));
}
