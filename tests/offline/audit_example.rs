//! `examples/inventory.json`, the saved inventory the README audits without AWS: it must keep showing every
//! option, failures of every severity the checks declare, and more than one region.

use std::collections::BTreeSet;

use crate::support::cli::json;
use crate::support::{atrest, repo_path, run};

#[test]
fn the_example_inventory_shows_every_option_every_severity_and_several_regions() {
    let out = run(atrest().current_dir(repo_path("")).args([
        "audit",
        "--inventory-in",
        "examples/inventory.json",
        "--format",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);

    let options: BTreeSet<u64> = report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["option"].as_u64())
        .collect();
    assert_eq!(options, (1..=7).collect(), "options placed");
    assert!(
        report["databases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["option"] == "unencrypted"),
        "no unencrypted database"
    );

    // Every severity a check declares in decision/checks/ fails at least once.
    let declared: BTreeSet<String> = std::fs::read_dir(repo_path("decision/checks"))
        .unwrap()
        .map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let table: toml::Table = toml::from_str(&text).unwrap();
            table["severity"].as_str().unwrap().to_string()
        })
        .collect();
    let failed: BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["severity"].as_str().unwrap().to_string())
        .collect();
    assert!(declared.len() >= 3, "{declared:?}");
    assert_eq!(failed, declared, "severities that fail");

    let regions: BTreeSet<&str> = report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["region"].as_str().unwrap())
        .collect();
    assert!(regions.len() >= 2, "{regions:?}");
}
