//! The official ESDK decrypt vectors in `../shared/vectors/esdk/` (see its README): every case the raw AES and raw
//! RSA keyrings cover decrypts to its plaintext, every must-fail case fails. Prints the counts and the cases out of
//! scope with their reasons.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use atrest::esdk::{
    CommitmentPolicy, Decryptor, EncryptionContext, Keyring, MultiKeyring, RawAesKeyring,
    RawRsaKeyring, RsaPadding,
};
use base64::Engine;
use serde_json::Value;

fn root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/esdk");
    assert!(
        dir.join("README.md").is_file(),
        "the ESDK vectors are missing: expected them in {}",
        dir.display()
    );
    dir
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn file_uri(dir: &Path, uri: &str) -> PathBuf {
    dir.join(uri.strip_prefix("file://").expect("file:// uri"))
}

fn context(v: &Value) -> EncryptionContext {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// One keyring from a key description (v4 `master-keys` entry, or v5 `raw` description); `Err` is out of scope.
fn raw_keyring(desc: &Value, keys: &Value) -> Result<Arc<dyn Keyring>, String> {
    let kind = desc["type"].as_str().unwrap_or_default();
    if kind != "raw" {
        return Err(format!("keyring type `{kind}` needs AWS"));
    }
    let key = &keys["keys"][desc["key"].as_str().unwrap()];
    let name = key["key-id"].as_str().unwrap();
    let namespace = desc["provider-id"].as_str().unwrap();
    match desc["encryption-algorithm"].as_str().unwrap() {
        "aes" => {
            let material = base64::engine::general_purpose::STANDARD
                .decode(key["material"].as_str().unwrap())
                .unwrap();
            Ok(Arc::new(
                RawAesKeyring::new(namespace, name, &material).unwrap(),
            ))
        }
        "rsa" => {
            let padding = match (
                desc["padding-algorithm"].as_str().unwrap(),
                desc["padding-hash"].as_str(),
            ) {
                ("pkcs1", _) => RsaPadding::Pkcs1,
                ("oaep-mgf1", Some("sha1")) => RsaPadding::OaepSha1,
                ("oaep-mgf1", Some("sha256")) => RsaPadding::OaepSha256,
                ("oaep-mgf1", Some("sha384")) => RsaPadding::OaepSha384,
                ("oaep-mgf1", Some("sha512")) => RsaPadding::OaepSha512,
                other => return Err(format!("RSA padding {other:?}")),
            };
            Ok(Arc::new(
                RawRsaKeyring::from_pem(
                    namespace,
                    name,
                    padding,
                    key["material"].as_str().unwrap(),
                )
                .unwrap(),
            ))
        }
        other => Err(format!("raw keyring algorithm `{other}`")),
    }
}

fn v5_keyring(desc: &Value, keys: &Value) -> Result<Arc<dyn Keyring>, String> {
    match desc["type"].as_str().unwrap_or_default() {
        "multi-keyring" => {
            let mut multi = MultiKeyring::default();
            if !desc["generator"].is_null() {
                multi.push(v5_keyring(&desc["generator"], keys)?);
            }
            for child in desc["childKeyrings"].as_array().into_iter().flatten() {
                multi.push(v5_keyring(child, keys)?);
            }
            Ok(Arc::new(multi))
        }
        "required-encryption-context-cmm" => v5_keyring(&desc["underlying"], keys),
        _ => raw_keyring(desc, keys),
    }
}

struct Case {
    name: String,
    keyring: Result<Arc<dyn Keyring>, String>,
    reproduced: EncryptionContext,
    ciphertext: PathBuf,
    /// `None`: must fail.
    plaintext: Option<PathBuf>,
}

fn cases() -> Vec<Case> {
    let root = root();
    let mut manifests = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("manifest.json" | "decrypt-manifest.json")
            ) {
                manifests.push(p);
            }
        }
    }
    manifests.sort();
    let mut out = Vec::new();
    for path in manifests {
        let dir = path.parent().unwrap().to_path_buf();
        let set = dir.strip_prefix(&root).unwrap().display().to_string();
        let m = read_json(&path);
        let keys = read_json(&file_uri(&dir, m["keys"].as_str().unwrap()));
        let must_fail = set.contains("invalid-");
        let version = m["manifest"]["version"].as_u64().unwrap();
        for (id, t) in m["tests"].as_object().unwrap() {
            let name = format!("{set}/{id}");
            let case = if version == 5 {
                let s = &t["decryption-scenario"];
                Case {
                    name,
                    keyring: v5_keyring(&s["decryptKeyDescription"], &keys),
                    reproduced: context(&s["reproduced-encryption-context"]),
                    ciphertext: file_uri(&dir, s["ciphertext"].as_str().unwrap()),
                    plaintext: Some(file_uri(&dir, s["result"].as_str().unwrap())),
                }
            } else {
                let keyrings: Result<Vec<_>, _> = t["master-keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| raw_keyring(k, &keys))
                    .collect();
                let plaintext = t["result"]["output"]["plaintext"]
                    .as_str()
                    .filter(|_| !must_fail)
                    .map(|p| file_uri(&dir, p));
                Case {
                    name,
                    keyring: keyrings.map(|k| Arc::new(MultiKeyring::new(k)) as Arc<dyn Keyring>),
                    reproduced: context(&t["encryption-context"]),
                    ciphertext: file_uri(&dir, t["ciphertext"].as_str().unwrap()),
                    plaintext,
                }
            };
            out.push(case);
        }
    }
    out
}

#[test]
fn official_decrypt_vectors() {
    let cases = cases();
    let mut passed = 0;
    let mut failed_as_required = 0;
    let mut strict_refusals = 0;
    let mut out_of_scope = BTreeMap::new();
    let mut wrong = Vec::new();
    for case in &cases {
        let keyring = match &case.keyring {
            Ok(k) => k,
            Err(reason) => {
                out_of_scope.insert(case.name.clone(), reason.clone());
                continue;
            }
        };
        let ciphertext = std::fs::read(&case.ciphertext).unwrap();
        let lenient =
            Decryptor::new(keyring.as_ref()).policy(CommitmentPolicy::RequireEncryptAllowDecrypt);
        let result = lenient.decrypt(&ciphertext, &case.reproduced);
        match (&case.plaintext, result) {
            (Some(p), Ok(d)) => {
                if *d.plaintext == std::fs::read(p).unwrap() {
                    passed += 1;
                } else {
                    wrong.push(format!("{}: wrong plaintext", case.name));
                }
                // Under the ESDK's default policy only the committing suites decrypt.
                let strict =
                    Decryptor::new(keyring.as_ref()).decrypt(&ciphertext, &case.reproduced);
                match (d.suite_id >= 0x0478, strict) {
                    (true, Ok(_)) => {}
                    (false, Err(_)) => strict_refusals += 1,
                    (committing, r) => wrong.push(format!(
                        "{}: strict policy gave {:?} for committing={committing}",
                        case.name,
                        r.map(|_| ())
                    )),
                }
            }
            (Some(_), Err(e)) => wrong.push(format!("{}: {e}", case.name)),
            (None, Err(_)) => failed_as_required += 1,
            (None, Ok(_)) => wrong.push(format!("{}: decrypted but must fail", case.name)),
        }
    }
    let must_fail = cases.iter().filter(|c| c.plaintext.is_none()).count();
    println!(
        "esdk vectors: {} cases, {passed} decrypted, {failed_as_required} of {must_fail} must-fail cases failed, \
         {} out of scope, {strict_refusals} legacy-suite cases refused under require-decrypt",
        cases.len(),
        out_of_scope.len()
    );
    for (name, reason) in &out_of_scope {
        println!("out of scope: {name}: {reason}");
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cases.len(), 321);
    assert_eq!(must_fail, 28);
    assert_eq!(failed_as_required, 28);
    assert_eq!(
        passed + failed_as_required + out_of_scope.len(),
        cases.len()
    );
}
