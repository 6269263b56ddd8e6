//! The frozen vectors of tests/vectors/cell/, written once by an independent generator (generate.py there) from
//! docs/format.md. They are only read here, never rewritten by the code under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use atrest::cell::{CellEncryptor, CellError, Context, KeyFileProvider, Keyring, format};

fn vectors() -> Vec<(String, serde_json::Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/cell");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn context(map: &serde_json::Value) -> Context {
    let map: BTreeMap<String, String> = serde_json::from_value(map.clone()).unwrap();
    let mut ctx = Context::new(&map["atrest:table"], &map["atrest:column"]).unwrap();
    if let Some(row) = map.get("atrest:row") {
        ctx = ctx.with_row(row).unwrap();
    }
    for (k, v) in map.iter().filter(|(k, _)| !k.starts_with("atrest:")) {
        ctx = ctx.with(k, v).unwrap();
    }
    ctx
}

fn key_file(v: &serde_json::Value, dir: &std::path::Path) -> Arc<KeyFileProvider> {
    let path = dir.join("vector.key");
    let text = format!(
        "atrest-keyfile v1\nid {}\nkey {}\n",
        v["key_file"]["id"].as_str().unwrap(),
        v["key_file"]["key"].as_str().unwrap()
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&path).unwrap(), text.as_bytes()).unwrap();
    Arc::new(KeyFileProvider::open(&path).unwrap())
}

#[test]
fn every_vector_gives_its_expected_result() {
    let all = vectors();
    assert!(all.len() >= 14, "vectors missing: {}", all.len());
    for (name, v) in &all {
        let dir = tempfile::tempdir().unwrap();
        let provider = key_file(v, dir.path());
        let mut builder = CellEncryptor::builder(provider);
        if let Some(ring) = v.get("keyring") {
            builder = builder.keyring(Arc::new(Keyring::from_json(&ring.to_string()).unwrap()));
        }
        let cells = builder.build().unwrap();
        let ctx = context(&v["context"]);
        let ciphertext = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
        let result = cells.decrypt(&ctx, &ciphertext);
        match v["result"].as_str().unwrap() {
            "ok" => {
                let want = hex::decode(v["plaintext"].as_str().unwrap()).unwrap();
                assert_eq!(
                    result.unwrap_or_else(|e| panic!("{name}: {e}")),
                    want,
                    "{name}"
                );
                if v.get("keyring").is_some() {
                    assert_eq!(ciphertext.len(), want.len() + 47, "{name}");
                }
            }
            "fail" => assert_eq!(result.unwrap_err(), CellError::Decrypt, "{name}"),
            other => panic!("{name}: unknown result {other}"),
        }
    }
}

#[test]
fn names_say_the_behaviour() {
    let all = vectors();
    assert!(all.len() >= 14, "vectors missing: {}", all.len());
    for (name, v) in all {
        let form_ok = name.starts_with("self-contained-") || name.starts_with("compact-");
        assert!(form_ok, "{name}");
        let fails = v["result"] == "fail";
        assert_eq!(
            fails,
            name.ends_with("-rejected") || name.contains("-is-not-"),
            "{name}"
        );
    }
}

#[test]
fn vectors_decode_to_their_declared_form() {
    let all = vectors();
    assert!(all.len() >= 14, "vectors missing: {}", all.len());
    let mut ok_vectors = 0;
    for (name, v) in all {
        let bytes = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
        if v["result"] == "ok" {
            let decoded = format::decode(&bytes).unwrap();
            let compact = matches!(decoded.binding, format::KeyBinding::Compact { .. });
            assert_eq!(compact, name.starts_with("compact-"), "{name}");
            ok_vectors += 1;
        }
    }
    assert!(ok_vectors >= 5, "only {ok_vectors} vectors decode");
}
