//! The compliance frameworks in `decision/frameworks/`: every file loads, every check id resolves, the controls the
//! project promises are present with the right numbers, and manual controls say what evidence to attach.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use atrest::catalog::Catalog;
use atrest::catalog::frameworks::Framework;

fn frameworks() -> Vec<Framework> {
    Catalog::embedded()
        .unwrap_or_else(|e| panic!("{e}"))
        .frameworks
        .clone()
}

fn control_ids(fw: &Framework) -> BTreeSet<&str> {
    fw.controls.iter().map(|c| c.id.as_str()).collect()
}

fn find<'a>(all: &'a [Framework], id: &str) -> &'a Framework {
    all.iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no framework `{id}`"))
}

#[test]
fn every_framework_file_loads() {
    let files: BTreeSet<String> =
        std::fs::read_dir(crate::support::repo_path("decision/frameworks"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
    let loaded: BTreeSet<String> = frameworks().into_iter().map(|f| f.id).collect();
    assert_eq!(files, loaded);
    assert_eq!(
        loaded,
        ["aws-fsbp", "cis-aws", "hipaa", "nist-800-53", "pci-dss"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[test]
fn a_dangling_check_id_fails_the_load() {
    let text = std::fs::read_to_string(crate::support::repo_path(
        "decision/frameworks/pci-dss.toml",
    ))
    .unwrap()
    .replacen(
        "\"kms_key_rotation_enabled\"",
        "\"kms_key_rotation_enable\"",
        1,
    );
    let files: Vec<(&str, &str)> = atrest::catalog::embedded_files()
        .iter()
        .map(|&(path, body)| match path {
            "frameworks/pci-dss.toml" => (path, text.as_str()),
            _ => (path, body),
        })
        .collect();
    let err = Catalog::from_files(&files).unwrap_err().to_string();
    assert!(
        err.contains("decision/frameworks/pci-dss.toml: control `3.7.4`: unknown check `kms_key_rotation_enable`; did you mean `kms_key_rotation_enabled`?"),
        "{err}"
    );
}

#[test]
fn the_promised_controls_are_present() {
    let all = frameworks();
    let expect = [
        ("pci-dss", &["3.5.1", "3.5.1.2", "3.6.1", "3.7.4"][..]),
        (
            "hipaa",
            &["164.312(a)(2)(iv)", "164.312(e)(2)(ii)", "164.306(d)(3)"][..],
        ),
        ("nist-800-53", &["SC-12", "SC-13", "SC-28", "SC-28(1)"][..]),
        ("cis-aws", &["2.2.1", "3.6", "5.1.1"][..]),
        (
            "aws-fsbp",
            &["RDS.3", "RDS.4", "RDS.27", "EC2.3", "EC2.7", "KMS.3"][..],
        ),
    ];
    for (fw, ids) in expect {
        let have = control_ids(find(&all, fw));
        for id in ids {
            assert!(have.contains(id), "{fw} lacks control {id}");
        }
    }
    assert_eq!(find(&all, "pci-dss").version, "4.0.1");
    assert_eq!(find(&all, "cis-aws").version, "5.0.0");
    assert_eq!(find(&all, "nist-800-53").version, "Rev. 5");
}

#[test]
fn key_rotation_is_cis_nist_pci_not_fsbp() {
    let all = frameworks();
    let fsbp = find(&all, "aws-fsbp");
    assert!(
        !control_ids(fsbp).contains("KMS.4"),
        "KMS.4 is not an FSBP control"
    );
    assert!(
        fsbp.controls
            .iter()
            .all(|c| !c.checks.iter().any(|k| k == "kms_key_rotation_enabled")),
        "rotation must not be mapped under FSBP"
    );
    let rotation = |fw: &str, control: &str| {
        find(&all, fw)
            .controls
            .iter()
            .find(|c| c.id == control)
            .unwrap()
            .checks
            .contains(&"kms_key_rotation_enabled".to_string())
    };
    assert!(rotation("cis-aws", "3.6"));
    assert!(rotation("pci-dss", "3.7.4"));
    assert!(rotation("nist-800-53", "SC-12"));
}

#[test]
fn cis_and_fsbp_numbers_point_at_the_right_checks() {
    let all = frameworks();
    let checks_of = |fw: &str, control: &str| -> Vec<String> {
        find(&all, fw)
            .controls
            .iter()
            .find(|c| c.id == control)
            .unwrap()
            .checks
            .clone()
    };
    assert!(checks_of("cis-aws", "2.2.1").contains(&"rds_instance_storage_encrypted".into()));
    assert_eq!(
        checks_of("cis-aws", "5.1.1"),
        vec!["ebs_default_encryption_enabled"]
    );
    assert_eq!(
        checks_of("aws-fsbp", "RDS.3"),
        vec!["rds_instance_storage_encrypted"]
    );
    assert_eq!(
        checks_of("aws-fsbp", "RDS.27"),
        vec!["rds_cluster_storage_encrypted"]
    );
    assert_eq!(checks_of("aws-fsbp", "EC2.3"), vec!["ebs_volume_encrypted"]);
    assert_eq!(
        checks_of("aws-fsbp", "EC2.7"),
        vec!["ebs_default_encryption_enabled"]
    );
    assert_eq!(
        checks_of("aws-fsbp", "KMS.3"),
        vec!["kms_key_in_use_not_pending_deletion"]
    );
    assert_eq!(
        checks_of("aws-fsbp", "RDS.4"),
        vec!["rds_snapshot_encrypted", "rds_cluster_snapshot_encrypted"]
    );
}

#[test]
fn manual_controls_name_their_evidence() {
    let all = frameworks();
    let mut manual = 0;
    for fw in &all {
        for c in fw.controls.iter().filter(|c| c.is_manual()) {
            manual += 1;
            let evidence = c.evidence.as_deref().unwrap_or("");
            assert!(evidence.len() > 40, "{} {}: evidence too thin", fw.id, c.id);
            assert!(
                !c.accepts.is_empty(),
                "{} {}: accepts no attachment",
                fw.id,
                c.id
            );
        }
    }
    let pci = find(&all, "pci-dss");
    let c = pci.controls.iter().find(|c| c.id == "3.5.1.2").unwrap();
    assert!(c.is_manual());
    assert!(c.evidence.as_deref().unwrap().contains("--format adr"));
    assert!(manual >= 6, "{manual}");
}

#[test]
fn every_check_is_mapped_and_its_facts_exist() {
    let all = frameworks();
    let mapped: BTreeSet<&str> = all
        .iter()
        .flat_map(|f| &f.controls)
        .flat_map(|c| &c.checks)
        .map(String::as_str)
        .collect();
    let catalog = Catalog::embedded().unwrap();
    for meta in &Catalog::embedded().unwrap().checks {
        assert!(
            mapped.contains(meta.id.as_str()),
            "check {} is in no framework",
            meta.id
        );
        for fact in &meta.facts {
            assert!(
                catalog.fact(fact).is_some(),
                "check {}: unknown fact {fact}",
                meta.id
            );
        }
    }
}

#[test]
fn docs_list_every_control() {
    let docs = std::fs::read_to_string(crate::support::repo_path("docs/evidence.md")).unwrap();
    for fw in frameworks() {
        for c in &fw.controls {
            assert!(
                docs.contains(&format!("| {} | {} |", c.id, c.title)),
                "docs/evidence.md lacks {} {}",
                fw.id,
                c.id
            );
        }
    }
}
