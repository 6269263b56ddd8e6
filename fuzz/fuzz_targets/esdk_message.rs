//! ESDK messages from untrusted storage: the strict parser and the whole decryption path (raw AES keyring, both
//! commitment policies). Nothing may panic, a parsed message accounts for every byte, and nothing but a message made
//! under the fixture's key may decrypt.
#![no_main]

use std::sync::{Arc, OnceLock};

use atrest::esdk::{CommitmentPolicy, Decryptor, EncryptionContext, EsdkEncryptor, Limits, RawAesKeyring, message};
use libfuzzer_sys::fuzz_target;

fn fixture() -> &'static (Arc<RawAesKeyring>, EsdkEncryptor) {
    static F: OnceLock<(Arc<RawAesKeyring>, EsdkEncryptor)> = OnceLock::new();
    F.get_or_init(|| {
        // The key of the official vectors' raw AES keyring, so their messages are useful seeds.
        let key: Vec<u8> = (0u8..32).map(|i| (i / 10) * 16 + i % 10).collect();
        let keyring = Arc::new(
            RawAesKeyring::new("aws-raw-vectors-persistant", "aes-256", &key).unwrap_or_else(|e| panic!("{e}")),
        );
        let e = EsdkEncryptor::builder(keyring.clone()).build().unwrap_or_else(|e| panic!("{e}"));
        (keyring, e)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = message::parse(data, &Limits::default()) {
        let body: usize = msg.frames.iter().map(|f| f.ciphertext.len() + f.tag.len()).sum();
        assert!(msg.header.body.len() + body <= data.len());
        assert!(msg.signed.len() <= data.len());
    }
    let (keyring, e) = fixture();
    let none = EncryptionContext::new();
    let _ = Decryptor::new(keyring.as_ref())
        .policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
        .decrypt(data, &none);
    let _ = e.decrypt(data, &none);
});
