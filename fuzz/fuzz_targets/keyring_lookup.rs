//! Keyring parsing and every lookup path a hostile keyring or value reaches (see `fuzz/harness/keyring_lookup.rs`).
#![no_main]

#[path = "../harness/keyring_lookup.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
