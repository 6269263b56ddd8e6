//! Property tests of the ESDK message parser and encryptor: arbitrary bytes never panic the parser, every message
//! round trips, and truncation, extension or a flipped bit never decrypts.

use std::sync::{Arc, OnceLock};

use atrest::esdk::{EncryptionContext, EsdkEncryptor, Limits, RawAesKeyring, message};
use proptest::prelude::*;

fn encryptors() -> &'static [EsdkEncryptor; 2] {
    static E: OnceLock<[EsdkEncryptor; 2]> = OnceLock::new();
    E.get_or_init(|| {
        let keyring = Arc::new(RawAesKeyring::new("props", "key", &[9; 32]).unwrap());
        [false, true].map(|signed| {
            EsdkEncryptor::builder(keyring.clone())
                .signed(signed)
                .frame_len(64)
                .build()
                .unwrap()
        })
    })
}

fn context() -> impl Strategy<Value = EncryptionContext> {
    prop::collection::btree_map("[a-z0-9ü]{1,8}", "[ -~]{0,12}", 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = message::parse(&bytes, &Limits::default());
        for e in encryptors() {
            prop_assert!(e.decrypt(&bytes, &EncryptionContext::new()).is_err());
        }
    }

    #[test]
    fn round_trip_and_tamper(
        signed in any::<bool>(),
        ctx in context(),
        plain in prop::collection::vec(any::<u8>(), 0..300),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let e = &encryptors()[usize::from(signed)];
        let msg = e.encrypt(&ctx, &plain).unwrap();
        let parsed = message::parse(&msg, &Limits::default()).unwrap();
        prop_assert_eq!(parsed.plaintext_len(), plain.len());
        prop_assert_eq!(&parsed.header.context_map().unwrap().len(), &(ctx.len() + usize::from(signed)));
        let d = e.decrypt(&msg, &ctx).unwrap();
        prop_assert_eq!(&*d.plaintext, &plain);
        // Truncated, extended or one bit flipped: never decrypts.
        prop_assert!(e.decrypt(&msg[..cut.index(msg.len())], &ctx).is_err());
        let mut longer = msg.clone();
        longer.push(0);
        prop_assert!(e.decrypt(&longer, &ctx).is_err());
        let mut bad = msg.clone();
        bad[flip.index(msg.len())] ^= 1 << bit;
        prop_assert!(e.decrypt(&bad, &ctx).is_err());
    }

    #[test]
    fn encrypted_data_key_limit_is_enforced(max in 0u16..3) {
        let e = &encryptors()[0];
        let msg = e.encrypt(&EncryptionContext::new(), b"x").unwrap();
        let limits = Limits { max_encrypted_data_keys: max, ..Limits::default() };
        // Every message written here has one encrypted data key.
        prop_assert_eq!(message::parse(&msg, &limits).is_ok(), max >= 1);
    }
}

#[test]
fn frame_limit_is_enforced() {
    let e = &encryptors()[0];
    // 64-byte frames: 200 bytes are three regular frames and a final one.
    let msg = e.encrypt(&EncryptionContext::new(), &[1; 200]).unwrap();
    let parsed = message::parse(&msg, &Limits::default()).unwrap();
    assert_eq!(parsed.frames.len(), 4);
    for (max, ok) in [(3, false), (4, true)] {
        let limits = Limits {
            max_frames: max,
            ..Limits::default()
        };
        assert_eq!(
            message::parse(&msg, &limits).is_ok(),
            ok,
            "max_frames {max}"
        );
    }
}
