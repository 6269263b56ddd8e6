//! The inputs of the fuzz target `keyring_lookup` as a property test, so every offline run covers the keyring
//! parser and the lookup paths too: random bytes, and mutations of a valid keyring and of valid values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/harness/keyring_lookup.rs"]
mod harness;

use proptest::prelude::*;

fn valid_keyring() -> String {
    use std::sync::Arc;
    let ring = Arc::new(atrest::cell::Keyring::in_memory());
    let cells = atrest::cell::CellEncryptor::builder(Arc::new(
        atrest::cell::KeyFileProvider::ephemeral().unwrap(),
    ))
    .keyring(ring.clone())
    .build()
    .unwrap();
    let ctx = atrest::cell::Context::new("t", "c").unwrap();
    cells.blind_index(&ctx, 16).unwrap();
    cells.encrypt(&ctx, b"x").unwrap();
    ring.to_json().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        harness::run(&data);
    }

    #[test]
    fn mutated_keyrings(mode in any::<u8>(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4)) {
        let mut bytes = valid_keyring().into_bytes();
        for (at, byte) in flips {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        let mut data = vec![mode];
        data.extend_from_slice(&bytes);
        harness::run(&data);
    }
}
