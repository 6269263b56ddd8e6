//! Keyring files from untrusted storage: parsing never panics, and what parses renders back to a parseable file.
#![no_main]

use atrest::cell::Keyring;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(ring) = Keyring::from_json(text) {
            let again = ring.to_json().unwrap_or_else(|e| panic!("{e}"));
            let back = Keyring::from_json(&again).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back.entries(), ring.entries());
        }
    }
});
