//! Every registered check has `decision/checks/<id>.toml` and every such file belongs to a registered check; the
//! metadata parses, names its own id, and never names a compliance framework (frameworks point at checks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use atrest::audit::checks;
use atrest::catalog::Catalog;

#[test]
fn every_check_has_metadata_and_every_metadata_file_has_a_check() {
    let registered: BTreeSet<String> = checks::ALL.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(registered.len(), checks::ALL.len(), "duplicate check ids");
    let dir = crate::support::repo_path("decision/checks");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        registered, files,
        "check registry and decision/checks/*.toml differ"
    );
    let sources: BTreeSet<String> =
        std::fs::read_dir(crate::support::repo_path("src/audit/checks"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|stem| stem != "mod")
            .collect();
    assert_eq!(
        registered, sources,
        "every check lives in src/audit/checks/<id>.rs"
    );
}

#[test]
fn metadata_is_complete_and_framework_free() {
    let metas = &Catalog::embedded().unwrap().checks;
    assert_eq!(metas.len(), checks::ALL.len());
    for meta in metas {
        for (field, value) in [
            ("title", &meta.title),
            ("service", &meta.service),
            ("resource_type", &meta.resource_type),
            ("risk", &meta.risk),
            ("remediation", &meta.remediation),
        ] {
            assert!(!value.trim().is_empty(), "{}: empty {field}", meta.id);
        }
        let text =
            format!("{} {} {}", meta.title, meta.risk, meta.remediation).to_ascii_lowercase();
        let words: BTreeSet<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        for framework in [
            "pci", "cis", "nist", "hipaa", "fsbp", "iso", "soc", "gdpr", "fedramp",
        ] {
            assert!(
                !words.contains(framework),
                "{} names a framework ({framework})",
                meta.id
            );
        }
        assert!(!text.contains("800-53"), "{} names a framework", meta.id);
    }
}

#[test]
fn a_malformed_file_is_reported_by_name() {
    let with = |path: &'static str, text: &'static str| {
        let mut files: Vec<(&str, &str)> = atrest::catalog::embedded_files().to_vec();
        files.push((path, text));
        Catalog::from_files(&files).unwrap_err().to_string()
    };
    let err = with("checks/x_check.toml", "id = \"x_check\"\n");
    assert!(err.contains("decision/checks/x_check.toml: "), "{err}");
    assert!(err.contains("missing field `title`"), "{err}");
    let err = with(
        "checks/x_check.toml",
        "id = \"y\"\ntitle=\"t\"\nseverity=\"low\"\nservice=\"s\"\nresource_type=\"r\"\nrisk=\"r\"\nremediation=\"r\"\n",
    );
    assert!(
        err.contains("decision/checks/x_check.toml: id `y` must equal the file name `x_check`"),
        "{err}"
    );
}
