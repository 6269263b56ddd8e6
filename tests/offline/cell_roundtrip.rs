//! Round trips at the size edges, tamper and truncation rejection, context binding, rotation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use atrest::cell::format::{self, COMPACT_OVERHEAD, KeyBinding};
use atrest::cell::{CellEncryptor, CellError, Context, KeyFileProvider, KeyProvider, Keyring};

fn self_contained() -> (CellEncryptor, Arc<KeyFileProvider>) {
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let cells = CellEncryptor::builder(provider.clone()).build().unwrap();
    (cells, provider)
}

fn compact() -> (CellEncryptor, Arc<Keyring>) {
    let keyring = Arc::new(Keyring::in_memory());
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let cells = CellEncryptor::builder(provider)
        .keyring(keyring.clone())
        .build()
        .unwrap();
    (cells, keyring)
}

fn ctx(row: &str) -> Context {
    Context::new("users", "ssn").unwrap().with_row(row).unwrap()
}

/// 0..=1 MiB: every power-of-two edge and the AES block edges around it.
fn edge_sizes() -> Vec<usize> {
    let mut sizes = vec![0, 1, 2, 11, 12, 13];
    let mut p = 16;
    while p <= 1 << 20 {
        sizes.extend([p - 1, p, p + 1]);
        p *= 2;
    }
    sizes.retain(|&s| s <= 1 << 20);
    sizes
}

#[test]
fn round_trip_at_every_size_edge_in_both_forms() {
    let (sc, _) = self_contained();
    let (cp, _) = compact();
    let c = ctx("1");
    for size in edge_sizes() {
        let plain: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        for cells in [&sc, &cp] {
            let sealed = cells.encrypt(&c, &plain).unwrap();
            assert_eq!(cells.decrypt(&c, &sealed).unwrap(), plain, "size {size}");
        }
        assert_eq!(
            cp.encrypt(&c, &plain).unwrap().len(),
            size + COMPACT_OVERHEAD
        );
    }
    const { assert!(COMPACT_OVERHEAD <= 48) };
}

fn assert_rejects_every_flip_and_truncation(cells: &CellEncryptor, c: &Context, sealed: &[u8]) {
    for bit in 0..sealed.len() * 8 {
        let mut bad = sealed.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            cells.decrypt(c, &bad).unwrap_err(),
            CellError::Decrypt,
            "bit {bit}"
        );
    }
    for len in 0..sealed.len() {
        assert_eq!(
            cells.decrypt(c, &sealed[..len]).unwrap_err(),
            CellError::Decrypt,
            "length {len}"
        );
    }
    let mut longer = sealed.to_vec();
    longer.push(0);
    assert_eq!(cells.decrypt(c, &longer).unwrap_err(), CellError::Decrypt);
}

#[test]
fn every_bit_flip_and_truncation_is_rejected_compact() {
    let (cells, _) = compact();
    let c = ctx("7");
    let sealed = cells.encrypt(&c, b"hello").unwrap();
    assert_rejects_every_flip_and_truncation(&cells, &c, &sealed);
}

#[test]
fn every_bit_flip_and_truncation_is_rejected_self_contained() {
    let (cells, _) = self_contained();
    let c = ctx("7");
    let sealed = cells.encrypt(&c, b"hello").unwrap();
    assert_rejects_every_flip_and_truncation(&cells, &c, &sealed);
    let empty = cells.encrypt(&c, b"").unwrap();
    assert_rejects_every_flip_and_truncation(&cells, &c, &empty);
}

#[test]
fn sampled_bit_flips_of_a_large_cell_are_rejected() {
    let (cells, _) = compact();
    let c = ctx("7");
    let sealed = cells.encrypt(&c, &vec![9u8; 1 << 20]).unwrap();
    let mut state = 0x9e3779b97f4a7c15u64;
    for _ in 0..48 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bit = (state % (sealed.len() as u64 * 8)) as usize;
        let mut bad = sealed.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            cells.decrypt(&c, &bad).unwrap_err(),
            CellError::Decrypt,
            "bit {bit}"
        );
    }
    assert_eq!(
        cells.decrypt(&c, &sealed[..sealed.len() - 1]).unwrap_err(),
        CellError::Decrypt
    );
}

#[test]
fn another_row_column_table_or_free_value_cannot_decrypt() {
    for (cells, _) in [
        self_contained(),
        (compact().0, Arc::new(KeyFileProvider::ephemeral().unwrap())),
    ] {
        let here = Context::new("users", "ssn")
            .unwrap()
            .with("tenant", "a")
            .unwrap()
            .with_row("1")
            .unwrap();
        let sealed = cells.encrypt(&here, b"078-05-1120").unwrap();
        assert_eq!(cells.decrypt(&here, &sealed).unwrap(), b"078-05-1120");
        let elsewhere = [
            Context::new("users", "ssn")
                .unwrap()
                .with("tenant", "a")
                .unwrap()
                .with_row("2")
                .unwrap(),
            Context::new("users", "ssn")
                .unwrap()
                .with("tenant", "a")
                .unwrap(),
            Context::new("users", "phone")
                .unwrap()
                .with("tenant", "a")
                .unwrap()
                .with_row("1")
                .unwrap(),
            Context::new("staff", "ssn")
                .unwrap()
                .with("tenant", "a")
                .unwrap()
                .with_row("1")
                .unwrap(),
            Context::new("users", "ssn")
                .unwrap()
                .with("tenant", "b")
                .unwrap()
                .with_row("1")
                .unwrap(),
            Context::new("users", "ssn").unwrap().with_row("1").unwrap(),
        ];
        for other in &elsewhere {
            assert_eq!(
                cells.decrypt(other, &sealed).unwrap_err(),
                CellError::Decrypt,
                "{other:?}"
            );
        }
    }
}

#[test]
fn another_key_cannot_decrypt() {
    let (a, _) = self_contained();
    let (b, _) = self_contained();
    let sealed = a.encrypt(&ctx("1"), b"x").unwrap();
    assert_eq!(
        b.decrypt(&ctx("1"), &sealed).unwrap_err(),
        CellError::Decrypt
    );
    let (ca, _) = compact();
    let (cb, _) = compact();
    let sealed = ca.encrypt(&ctx("1"), b"x").unwrap();
    assert_eq!(
        cb.decrypt(&ctx("1"), &sealed).unwrap_err(),
        CellError::Decrypt
    );
}

#[test]
fn a_wrapped_key_from_another_data_key_fails_the_commitment() {
    let (cells, provider) = self_contained();
    let c = ctx("1");
    let sealed = cells.encrypt(&c, b"secret").unwrap();
    // A second data key of the same scope, wrapped by the same provider: it unwraps fine, but is not committed to.
    let other = provider.generate(&c.scope()).unwrap();
    let decoded = format::decode(&sealed).unwrap();
    let KeyBinding::SelfContained {
        provider: kind,
        commitment,
        ..
    } = decoded.binding
    else {
        panic!()
    };
    let mut forged = Vec::new();
    format::write_self_contained_header(&mut forged, kind, &other.wrapped, commitment).unwrap();
    forged.extend_from_slice(&decoded.nonce);
    forged.extend_from_slice(decoded.body);
    let fresh = CellEncryptor::builder(provider).build().unwrap();
    assert_eq!(fresh.decrypt(&c, &forged).unwrap_err(), CellError::Decrypt);
    assert_eq!(fresh.decrypt(&c, &sealed).unwrap(), b"secret");
}

#[test]
fn a_keyring_entry_that_breaks_its_commitment_is_refused() {
    let (cells, keyring) = compact();
    let c = ctx("1");
    let sealed = cells.encrypt(&c, b"secret").unwrap();
    let json = keyring.to_json().unwrap();
    // Swap the wrapped key for another data key's: the stored commitment no longer matches.
    let provider = KeyFileProvider::ephemeral().unwrap();
    let mut entry = keyring.entries().remove(0);
    let fresh = Arc::new(Keyring::from_json(&json).unwrap());
    let other = provider.generate(&c.scope()).unwrap();
    entry.wrapped = other.wrapped;
    fresh.insert(entry).unwrap();
    let reader = CellEncryptor::builder(Arc::new(provider))
        .keyring(fresh)
        .build()
        .unwrap();
    assert_eq!(reader.decrypt(&c, &sealed).unwrap_err(), CellError::Decrypt);
}

#[test]
fn keyring_file_round_trip_across_encryptors() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let ring = dir.path().join("ring.json");
    let provider = Arc::new(KeyFileProvider::create(&key).unwrap());
    let writer = CellEncryptor::builder(provider)
        .keyring(Arc::new(Keyring::open(&ring).unwrap()))
        .build()
        .unwrap();
    let sealed = writer.encrypt(&ctx("1"), b"abc").unwrap();
    let reader = CellEncryptor::builder(Arc::new(KeyFileProvider::open(&key).unwrap()))
        .keyring(Arc::new(Keyring::open(&ring).unwrap()))
        .build()
        .unwrap();
    assert_eq!(reader.decrypt(&ctx("1"), &sealed).unwrap(), b"abc");
}

#[test]
fn batch_uses_one_key_per_scope_and_matches_single_decrypt() {
    let (cells, keyring) = compact();
    let rows: Vec<Context> = (0..50).map(|i| ctx(&i.to_string())).collect();
    let phone: Vec<Context> = (0..50)
        .map(|i| {
            Context::new("users", "phone")
                .unwrap()
                .with_row(i.to_string())
                .unwrap()
        })
        .collect();
    let values: Vec<Vec<u8>> = (0..100).map(|i| format!("v{i}").into_bytes()).collect();
    let cells_in: Vec<(&Context, &[u8])> = rows
        .iter()
        .chain(&phone)
        .zip(&values)
        .map(|(c, v)| (c, v.as_slice()))
        .collect();
    let sealed = cells.encrypt_batch(&cells_in).unwrap();
    assert_eq!(keyring.len(), 2);
    for ((c, v), s) in cells_in.iter().zip(&sealed) {
        assert_eq!(&cells.decrypt(c, s).unwrap(), v);
    }
}

#[test]
fn reencrypt_moves_a_cell_to_the_current_data_key() {
    let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let keyring = Arc::new(Keyring::in_memory());
    let old = CellEncryptor::builder(provider.clone())
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let sealed = old.encrypt(&ctx("1"), b"v").unwrap();
    // Another partition never borrows the first encryptor's key, so it makes its own.
    let new = CellEncryptor::builder(provider)
        .keyring(keyring.clone())
        .partition("next")
        .build()
        .unwrap();
    let again = new.reencrypt(&ctx("1"), &sealed).unwrap();
    let (a, b) = (
        format::decode(&sealed).unwrap().key_ref(),
        format::decode(&again).unwrap().key_ref(),
    );
    assert_ne!(a, b, "a new encryptor starts a new data key");
    assert_eq!(keyring.len(), 2);
    assert_eq!(new.decrypt(&ctx("1"), &again).unwrap(), b"v");
}

#[test]
fn rewrap_keyring_and_self_contained_values_leave_cells_untouched() {
    let old = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let new = Arc::new(KeyFileProvider::ephemeral().unwrap());
    let keyring = Arc::new(Keyring::in_memory());
    let cells = CellEncryptor::builder(old.clone())
        .keyring(keyring.clone())
        .build()
        .unwrap();
    let sealed = cells.encrypt(&ctx("1"), b"v").unwrap();
    assert_eq!(keyring.rewrap(old.as_ref(), new.as_ref()).unwrap(), 1);
    let reader = CellEncryptor::builder(new.clone())
        .keyring(keyring.clone())
        .build()
        .unwrap();
    assert_eq!(reader.decrypt(&ctx("1"), &sealed).unwrap(), b"v");
    let stale = CellEncryptor::builder(old.clone())
        .keyring(keyring)
        .build()
        .unwrap();
    assert_eq!(
        stale.decrypt(&ctx("1"), &sealed).unwrap_err(),
        CellError::Decrypt
    );

    let sc = CellEncryptor::builder(old).build().unwrap();
    let value = sc.encrypt(&ctx("1"), b"w").unwrap();
    let moved = sc.rewrap_value(&ctx("1"), &value, new.as_ref()).unwrap();
    let (a, b) = (
        format::decode(&value).unwrap(),
        format::decode(&moved).unwrap(),
    );
    assert_eq!(a.key_ref(), b.key_ref(), "the data key stays the same");
    assert_ne!(a.header, b.header, "its wrapping changed");
    let sc_new = CellEncryptor::builder(new).build().unwrap();
    assert_eq!(sc_new.decrypt(&ctx("1"), &moved).unwrap(), b"w");
    assert!(
        sc.rewrap_value(&ctx("2"), &value, sc_new.provider())
            .is_err()
    );
}

#[test]
fn text_form_is_strict_base64() {
    let (cells, _) = compact();
    let sealed = cells.encrypt(&ctx("1"), b"abc").unwrap();
    let text = format::to_text(&sealed);
    assert_eq!(format::from_text(&text).unwrap(), sealed);
    assert!(format::from_text(&format!("{text}\n")).is_err());
    assert!(format::from_text(text.trim_end_matches('=')).is_err());

    // The standard alphabet only: a known value whose text has both `+` and `/` is refused in the URL-safe form.
    let known = [0xfbu8, 0xef, 0xff, 0x3e, 0x3f];
    let known_text = format::to_text(&known);
    assert_eq!(known_text, "++//Pj8=");
    let url_safe = known_text.replace('+', "-").replace('/', "_");
    assert!(format::from_text(&url_safe).is_err(), "{url_safe}");
    assert!(format::from_text(&known_text.replace('+', "-")).is_err());
}

#[test]
fn oversize_plaintext_is_refused_before_any_key_call() {
    let (cells, keyring) = compact();
    let big = vec![0u8; format::MAX_PLAINTEXT_LEN + 1];
    assert!(matches!(
        cells.encrypt(&ctx("1"), &big),
        Err(CellError::TooLarge { .. })
    ));
    assert_eq!(keyring.len(), 0);
}

#[test]
fn decrypt_batch_reports_each_cell_and_checks_every_key() {
    let (cp, _) = compact();
    let (sc, _) = self_contained();
    let rows: Vec<Context> = (0..6).map(|i| ctx(&i.to_string())).collect();
    let phone = Context::new("users", "phone")
        .unwrap()
        .with_row("0")
        .unwrap();
    for cells in [&cp, &sc] {
        let mut sealed: Vec<Vec<u8>> = rows
            .iter()
            .map(|c| cells.encrypt(c, c.row().unwrap().as_bytes()).unwrap())
            .collect();
        sealed.push(cells.encrypt(&phone, b"p").unwrap());
        sealed[2][40] ^= 1;
        let mut contexts: Vec<&Context> = rows.iter().collect();
        contexts.push(&phone);
        contexts.swap(4, 5);
        let batch: Vec<(&Context, &[u8])> = contexts
            .iter()
            .zip(&sealed)
            .map(|(c, s)| (*c, s.as_slice()))
            .collect();
        let out = cells.decrypt_batch(&batch);
        assert_eq!(out[0].as_deref().unwrap(), b"0");
        assert_eq!(out[1].as_deref().unwrap(), b"1");
        assert_eq!(out[2].clone().unwrap_err(), CellError::Decrypt, "damaged");
        assert_eq!(out[3].as_deref().unwrap(), b"3");
        assert_eq!(
            out[4].clone().unwrap_err(),
            CellError::Decrypt,
            "row 5's context on row 4's value"
        );
        assert_eq!(out[5].clone().unwrap_err(), CellError::Decrypt);
        assert_eq!(
            out[6].as_deref().unwrap(),
            b"p",
            "another scope in the same batch"
        );
    }
    // A self-contained value whose header names another data key than the batch's previous cell.
    let (other, _) = self_contained();
    let foreign = other.encrypt(&rows[1], b"1").unwrap();
    let mine = sc.encrypt(&rows[0], b"0").unwrap();
    let out = sc.decrypt_batch(&[(&rows[0], &mine), (&rows[1], &foreign)]);
    assert!(out[0].is_ok() && out[1].is_err());
}

#[test]
fn two_writers_of_one_keyring_file_keep_each_others_keys() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let ring = dir.path().join("ring.json");
    let provider = Arc::new(KeyFileProvider::create(&key).unwrap());
    let writers: Vec<CellEncryptor> = (0..2)
        .map(|_| {
            CellEncryptor::builder(provider.clone())
                .keyring(Arc::new(Keyring::open(&ring).unwrap()))
                .build()
                .unwrap()
        })
        .collect();
    // Two columns: two data keys, one made by each writer.
    let a = writers[0].encrypt(&ctx("1"), b"a").unwrap();
    let phone = Context::new("users", "phone")
        .unwrap()
        .with_row("2")
        .unwrap();
    let b = writers[1].encrypt(&phone, b"b").unwrap();
    let reader = CellEncryptor::builder(provider)
        .keyring(Arc::new(Keyring::open(&ring).unwrap()))
        .build()
        .unwrap();
    assert_eq!(Keyring::open(&ring).unwrap().len(), 2);
    assert_eq!(reader.decrypt(&ctx("1"), &a).unwrap(), b"a");
    assert_eq!(reader.decrypt(&phone, &b).unwrap(), b"b");
    // The first writer finds the second writer's key by reading the file again.
    assert_eq!(writers[0].decrypt(&phone, &b).unwrap(), b"b");
}
