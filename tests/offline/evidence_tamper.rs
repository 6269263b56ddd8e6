//! Tamper detection byte by byte, through the library: every single-bit change anywhere in `manifest.sig`, and in
//! every byte of `manifest.json`, is caught. (`evidence_cli.rs` flips one byte in each file of a bundle through the
//! binary.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atrest::audit::run::{Source, audit};
use atrest::audit::store;
use atrest::evidence::bundle::{self, Input};
use atrest::evidence::signing::{self, PublicKey, SignatureFile, SigningKey};
use atrest::evidence::verify::verify;

fn signed_bundle(dir: &std::path::Path) -> (std::path::PathBuf, PublicKey) {
    let key_path = dir.join("k");
    let public = signing::generate(&key_path).unwrap();
    let key = SigningKey::load(&key_path).unwrap();
    let inventory = store::load(&crate::support::repo_path(
        "tests/fixtures/evidence/inventory.json",
    ))
    .unwrap();
    let catalog = atrest::catalog::Catalog::embedded().unwrap();
    let report = audit(&inventory, catalog, Source::SavedInventory).unwrap();
    let out = dir.join("bundle");
    bundle::build(
        &out,
        Input {
            inventory: &inventory,
            report: &report,
            catalog,
            attachments: &[],
            signing_key: Some(&key),
            built: "2026-12-01T00:00:00Z".to_string(),
        },
    )
    .unwrap();
    (out, public)
}

#[test]
fn every_bit_of_the_signature_file_matters() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, public) = signed_bundle(dir.path());
    assert!(verify(&bundle, Some(&public)).unwrap().intact);
    let sig_path = bundle.join("manifest.sig");
    let original = std::fs::read(&sig_path).unwrap();
    let mut caught = 0;
    for i in 0..original.len() {
        for bit in [0x01u8, 0x80] {
            let mut bytes = original.clone();
            bytes[i] ^= bit;
            std::fs::write(&sig_path, &bytes).unwrap();
            let v = verify(&bundle, Some(&public)).unwrap();
            assert!(
                !v.intact,
                "byte {i} bit {bit:#04x} of manifest.sig went unnoticed"
            );
            caught += 1;
        }
    }
    std::fs::write(&sig_path, &original).unwrap();
    assert!(verify(&bundle, Some(&public)).unwrap().intact);
    note(&format!(
        "manifest.sig: {caught} single-bit changes, all caught"
    ));
}

#[test]
fn every_byte_of_the_manifest_is_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, public) = signed_bundle(dir.path());
    let manifest = std::fs::read(bundle.join("manifest.json")).unwrap();
    let sig: SignatureFile =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.sig")).unwrap()).unwrap();
    assert!(public.verify(&manifest, &sig));
    for i in 0..manifest.len() {
        let mut bytes = manifest.clone();
        bytes[i] ^= 0x01;
        assert!(
            !public.verify(&bytes, &sig),
            "byte {i} of manifest.json is not covered"
        );
    }
    let mut longer = manifest.clone();
    longer.push(b' ');
    assert!(!public.verify(&longer, &sig));
    assert!(!public.verify(&manifest[..manifest.len() - 1], &sig));
    note(&format!(
        "manifest.json: {} one-byte changes, all caught by the signature",
        manifest.len()
    ));
}

/// Prints past the test harness's output capture, so the figure shows in a normal `cargo test` run.
fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
