//! Ciphertexts from untrusted storage: strict decoding, the text form, and the whole decryption path (both forms,
//! with and without a keyring). Nothing may panic, and nothing but a value made by the encryptor may decrypt.
#![no_main]

use std::sync::{Arc, OnceLock};

use atrest::cell::{CellEncryptor, Context, KeyFileProvider, Keyring, format};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    self_contained: CellEncryptor,
    compact: CellEncryptor,
    ctx: Context,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let provider = Arc::new(KeyFileProvider::ephemeral().unwrap_or_else(|e| panic!("{e}")));
        let self_contained = CellEncryptor::builder(provider.clone()).build().unwrap_or_else(|e| panic!("{e}"));
        let compact = CellEncryptor::builder(provider)
            .keyring(Arc::new(Keyring::in_memory()))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let ctx = Context::new("users", "ssn").and_then(|c| c.with_row("1")).unwrap_or_else(|e| panic!("{e}"));
        Fixture { self_contained, compact, ctx }
    })
}

fuzz_target!(|data: &[u8]| {
    // The compact fast path and the field-by-field decoder accept and reject the same inputs.
    assert_eq!(format::decode(data), format::decode_generic(data));
    if let Ok(decoded) = format::decode(data) {
        assert!(decoded.header.len() + 12 + decoded.body.len() == data.len());
        let _ = decoded.key_ref();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bytes) = format::from_text(text) {
            assert_eq!(format::to_text(&bytes), text, "the text form is canonical");
        }
    }
    let f = fixture();
    // Random bytes never name a data key these encryptors made.
    assert!(f.self_contained.decrypt(&f.ctx, data).is_err());
    assert!(f.compact.decrypt(&f.ctx, data).is_err());
});
