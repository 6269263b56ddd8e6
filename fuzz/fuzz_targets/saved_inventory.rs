//! Saved inventories (`atrest audit --inventory-in`) may come from anywhere: any bytes must load or fail with an
//! error, and a loaded inventory must audit (checks and classification) without panicking.
#![no_main]

use atrest::audit::{run, store};
use atrest::catalog::Catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let catalog = Catalog::embedded().expect("the embedded catalog loads");
    if let Ok(inventory) = store::from_json("fuzz.json", text) {
        let _ = run::audit(&inventory, catalog, run::Source::SavedInventory);
    }
});
