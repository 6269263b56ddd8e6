//! The planner's inputs: requirements TOML and fleet inventories (CSV and TOML). Any bytes must parse or fail with
//! a message, and whatever parses must plan without panicking.
#![no_main]

use atrest::advisor::plan::{self, inventory, runbook::Principals};
use atrest::advisor::Requirements;
use atrest::catalog::Catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(catalog) = Catalog::embedded() else { return };
    let base = Requirements::from_toml(catalog, text, "fuzz.toml", &[]).unwrap_or_else(|_| Requirements::defaults(catalog));
    let principals = Principals::placeholders("111122223333");
    for rows in [inventory::from_csv(text, "fuzz.csv"), inventory::from_toml(text, "fuzz.toml")].into_iter().flatten() {
        let _ = plan::plan(catalog, &base, &rows, &principals);
    }
});
