//! Files given to `evidence build --attach`: decision records, descriptions of the cell-encryption configuration,
//! anything else. Key material never enters a bundle: a cell key file or keyring is replaced by a description
//! (ids, scopes, providers, dates; no key, no wrapped key, no commitment), and private keys are refused.

use std::path::Path;

use serde_json::{Value, json};

use crate::catalog::frameworks::AttachmentKind;
use crate::fsutil::ReadError;
pub use crate::report::adr::DECISION_RECORD_MARKER;
/// Larger attachments are refused: a bundle is evidence, not a backup.
pub const MAX_ATTACHMENT: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    #[error("cannot read attachment `{path}`: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("attachment `{path}` is {bytes} bytes, over the limit of 16 MiB")]
    TooLarge { path: String, bytes: u64 },
    #[error("attachment `{path}` holds key material ({what})")]
    KeyMaterial { path: String, what: String },
    #[error("two attachments are named `{name}`")]
    DuplicateName { name: String },
    #[error("attachment `{path}` looks like {what} but cannot be read as one: {detail}")]
    Malformed {
        path: String,
        what: String,
        detail: String,
    },
}

impl crate::error::Help for AttachError {
    fn help(&self) -> Option<String> {
        Some(
            match self {
                AttachError::Unreadable { .. } => "check the path",
                AttachError::TooLarge { .. } => {
                    "a bundle is evidence, not a backup: attach a summary"
                }
                AttachError::KeyMaterial { .. } => {
                    "a bundle never carries keys: attach a decision record or a description instead"
                }
                AttachError::DuplicateName { .. } => "rename one of them",
                AttachError::Malformed { .. } => "attach the file as atrest wrote it",
            }
            .to_string(),
        )
    }

    fn is_usage(&self) -> bool {
        true
    }
}

/// An attachment ready to be written into the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The file name inside `attachments/`.
    pub name: String,
    pub kind: AttachmentKind,
    pub original_name: String,
    /// What was derived instead of copying, e.g. `description of an atrest cell keyring`.
    pub derived: Option<String>,
    pub bytes: Vec<u8>,
}

/// Reads and classifies every `--attach` file before anything is collected, so a bad path fails fast.
pub fn prepare_all(paths: &[std::path::PathBuf]) -> Result<Vec<Prepared>, AttachError> {
    let mut out: Vec<Prepared> = Vec::new();
    for path in paths {
        let p = prepare(path)?;
        if out.iter().any(|o| o.name == p.name) {
            return Err(AttachError::DuplicateName { name: p.name });
        }
        out.push(p);
    }
    Ok(out)
}

pub fn prepare(path: &Path) -> Result<Prepared, AttachError> {
    let shown = path.display().to_string();
    let unreadable = |source| AttachError::Unreadable {
        path: shown.clone(),
        source,
    };
    let bytes = match crate::fsutil::read_bounded(path, MAX_ATTACHMENT) {
        Ok(bytes) => zeroize::Zeroizing::new(bytes),
        Err(ReadError::Io { source, .. }) => return Err(unreadable(source)),
        Err(ReadError::NotAFile { .. }) => {
            return Err(unreadable(std::io::Error::other("not a regular file")));
        }
        Err(ReadError::TooLarge { .. }) => {
            return Err(AttachError::TooLarge {
                path: shown,
                bytes: std::fs::metadata(path).map_or(MAX_ATTACHMENT + 1, |m| m.len()),
            });
        }
    };
    let original_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string());
    let safe = safe_name(&original_name);
    let key_material = |what: &str| AttachError::KeyMaterial {
        path: shown.clone(),
        what: what.to_string(),
    };

    if bytes.starts_with(b"atrest-keyfile ") {
        let description = keyfile_description(&bytes);
        return Ok(Prepared {
            name: format!("{safe}.description.json"),
            kind: AttachmentKind::CellConfig,
            original_name,
            derived: Some("description of an atrest cell key file (key id only)".to_string()),
            bytes: description,
        });
    }
    let text = std::str::from_utf8(&bytes).ok();
    if let Some(text) = text {
        for label in [
            "PRIVATE KEY-----",
            "RSA PRIVATE KEY-----",
            "EC PRIVATE KEY-----",
            "OPENSSH PRIVATE KEY-----",
            "ENCRYPTED PRIVATE KEY-----",
        ] {
            if text.contains(&format!("-----BEGIN {label}")) {
                return Err(key_material("a PEM private key"));
            }
        }
        if let Some(description) = keyring_description(text) {
            let description = description.map_err(|detail| AttachError::Malformed {
                path: shown.clone(),
                what: "an atrest cell keyring".to_string(),
                detail,
            })?;
            return Ok(Prepared {
                name: format!("{safe}.description.json"),
                kind: AttachmentKind::CellConfig,
                original_name,
                derived: Some(
                    "description of an atrest cell keyring (no wrapped keys or commitments)"
                        .to_string(),
                ),
                bytes: description,
            });
        }
        if text
            .lines()
            .take(3)
            .any(|l| l.trim() == DECISION_RECORD_MARKER)
        {
            return Ok(Prepared {
                name: safe,
                kind: AttachmentKind::DecisionRecord,
                original_name,
                derived: None,
                bytes: bytes.to_vec(),
            });
        }
    } else if ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&bytes).is_ok() {
        return Err(key_material("a DER private key"));
    }
    Ok(Prepared {
        name: safe,
        kind: AttachmentKind::Other,
        original_name,
        derived: None,
        bytes: bytes.to_vec(),
    })
}

/// A file name safe inside `attachments/`: ASCII letters, digits, `.`, `-`, `_`; nothing that starts with a dot.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "attachment".to_string()
    } else {
        cleaned
    }
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Only the `id` line of a key file; the `key` line is never read into the description.
fn keyfile_description(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let key_id = text
        .lines()
        .find_map(|l| l.strip_prefix("id "))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let version = text.lines().next().unwrap_or_default().trim().to_string();
    pretty(&json!({
        "description_of": "atrest cell key file",
        "format": version,
        "key_id": key_id,
        "key_material": "not included",
    }))
}

/// `None` when the text is not a keyring; otherwise its description or why it cannot be read.
fn keyring_description(text: &str) -> Option<Result<Vec<u8>, String>> {
    let value: Value = serde_json::from_str(text).ok()?;
    if value.get("format").and_then(Value::as_str) != Some("atrest-keyring") {
        return None;
    }
    let describe = || -> Result<Vec<u8>, String> {
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no `keys` array")?;
        let entries: Vec<Value> = keys
            .iter()
            .map(|k| {
                json!({
                    "ref": k.get("ref"),
                    "suite": k.get("suite"),
                    "provider": k.get("provider"),
                    "scope": k.get("scope"),
                    "created": k.get("created"),
                })
            })
            .collect();
        let index_keys: Vec<Value> = value
            .get("index_keys")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|k| json!({"scope": k.get("scope"), "provider": k.get("provider")}))
                    .collect()
            })
            .unwrap_or_default();
        Ok(pretty(&json!({
            "description_of": "atrest cell keyring",
            "version": value.get("version"),
            "data_keys": entries.len(),
            "keys": entries,
            "blind_index_keys": index_keys,
            "key_material": "not included: wrapped keys and commitments are left out",
        })))
    };
    Some(describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn kinds_are_recognised_and_keys_never_copied() {
        let dir = tempfile::tempdir().unwrap();
        let adr = file(
            dir.path(),
            "adr.md",
            format!("# ADR\n{DECISION_RECORD_MARKER}\n").as_bytes(),
        );
        assert_eq!(prepare(&adr).unwrap().kind, AttachmentKind::DecisionRecord);

        let secret = "ab".repeat(32);
        let keyfile = file(
            dir.path(),
            "cell.key",
            format!("atrest-keyfile v1\nid {}\nkey {secret}\n", "0f".repeat(16)).as_bytes(),
        );
        let p = prepare(&keyfile).unwrap();
        assert_eq!(p.kind, AttachmentKind::CellConfig);
        assert_eq!(p.name, "cell.key.description.json");
        let text = String::from_utf8(p.bytes).unwrap();
        assert!(!text.contains(&secret), "{text}");
        assert!(text.contains(&"0f".repeat(16)), "{text}");

        let keyring = file(
            dir.path(),
            "users.keyring.json",
            br#"{"format":"atrest-keyring","version":1,"keys":[{"ref":"aa","suite":1,"provider":"aws-kms","wrapped":"V1JBUFBFRA==","commitment":"cc","scope":{"table":"users"},"created":1}],"index_keys":[]}"#,
        );
        let p = prepare(&keyring).unwrap();
        let text = String::from_utf8(p.bytes).unwrap();
        assert!(!text.contains("V1JBUFBFRA=="), "{text}");
        assert!(!text.contains("commitment\""), "{text}");
        assert!(text.contains("\"users\""), "{text}");

        let pem = file(
            dir.path(),
            "k.pem",
            b"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n",
        );
        assert!(matches!(
            prepare(&pem),
            Err(AttachError::KeyMaterial { .. })
        ));

        let other = file(dir.path(), "notes .txt", b"hello");
        let p = prepare(&other).unwrap();
        assert_eq!(
            (p.kind, p.name.as_str()),
            (AttachmentKind::Other, "notes_.txt")
        );
        let err = prepare_all(&[adr.clone(), adr]).unwrap_err().to_string();
        assert!(err.contains("two attachments are named `adr.md`"), "{err}");
    }
}
