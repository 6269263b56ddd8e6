//! Checking a bundle against its manifest: every listed file present with its SHA-256 and size, no file added, and
//! (with a public key) the manifest's signature. Every problem is reported, not just the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::manifest::{MANIFEST_FILE, Manifest, SIGNATURE_FILE, is_safe_path, sha256_hex};
use super::signing::{PublicKey, SignatureFile};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("`{path}` is not a directory")]
    NotADirectory { path: String },
    #[error("cannot read bundle `{path}`: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
}

impl crate::error::Help for VerifyError {
    fn help(&self) -> Option<String> {
        Some(
            match self {
                VerifyError::NotADirectory { .. } => {
                    "pass the directory that `atrest evidence build --out` wrote"
                }
                VerifyError::Unreadable { .. } => "check the path and its permissions",
            }
            .to_string(),
        )
    }

    fn is_usage(&self) -> bool {
        true
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureState {
    /// The manifest carries a valid signature by the given key.
    Valid,
    /// There is a problem with the signature (listed among the problems).
    Bad,
    /// No key was given (`--no-signature`): only the hashes were checked.
    NotChecked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    ManifestMissing,
    ManifestInvalid {
        detail: String,
    },
    Changed {
        path: String,
        expected_sha256: String,
        actual_sha256: String,
        expected_bytes: u64,
        actual_bytes: u64,
    },
    Removed {
        path: String,
    },
    Added {
        path: String,
    },
    NotAFile {
        path: String,
    },
    UnsafePath {
        path: String,
    },
    SignatureMissing,
    SignatureMalformed {
        detail: String,
    },
    SignatureInvalid {
        detail: String,
    },
}

impl Problem {
    pub fn describe(&self) -> String {
        match self {
            Problem::ManifestMissing => format!(
                "{MANIFEST_FILE} is missing: this is not an evidence bundle, or its manifest was removed"
            ),
            Problem::ManifestInvalid { detail } => {
                format!("{MANIFEST_FILE} is not a valid manifest: {detail}")
            }
            Problem::Changed {
                path,
                expected_sha256,
                actual_sha256,
                expected_bytes,
                actual_bytes,
            } => format!(
                "changed: {path} (sha256 {actual_sha256}, {actual_bytes} bytes; the manifest lists {expected_sha256}, {expected_bytes} bytes)"
            ),
            Problem::Removed { path } => {
                format!("removed: {path} (listed in the manifest, not in the bundle)")
            }
            Problem::Added { path } => {
                format!("added: {path} (in the bundle, not in the manifest)")
            }
            Problem::NotAFile { path } => {
                format!("not a regular file: {path} (links and devices do not belong in a bundle)")
            }
            Problem::UnsafePath { path } => {
                format!("the manifest lists `{path}`, a path outside the bundle")
            }
            Problem::SignatureMissing => format!(
                "{SIGNATURE_FILE} is missing: the bundle is not signed (build it with --signing-key, or verify with --no-signature to check only the hashes)"
            ),
            Problem::SignatureMalformed { detail } => {
                format!("{SIGNATURE_FILE} is not a valid signature file: {detail}")
            }
            Problem::SignatureInvalid { detail } => format!("bad signature: {detail}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub bundle: String,
    pub intact: bool,
    pub files_checked: usize,
    pub signature: SignatureState,
    /// Fingerprint (SHA-256) of the key that verified the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    pub problems: Vec<Problem>,
}

/// Every entry under `dir`, relative and `/`-separated: regular files, and anything else (links, devices) apart.
fn walk(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeSet<String>,
    others: &mut Vec<String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &rel, files, others)?;
        } else if kind.is_file() {
            files.insert(rel);
        } else {
            others.push(rel);
        }
    }
    Ok(())
}

pub fn verify(dir: &Path, key: Option<&PublicKey>) -> Result<Verification, VerifyError> {
    let shown = dir.display().to_string();
    let unreadable = |source| VerifyError::Unreadable {
        path: shown.clone(),
        source,
    };
    let meta = std::fs::metadata(dir).map_err(unreadable)?;
    if !meta.is_dir() {
        return Err(VerifyError::NotADirectory { path: shown });
    }
    let mut present = BTreeSet::new();
    let mut others = Vec::new();
    walk(dir, "", &mut present, &mut others).map_err(unreadable)?;
    let mut v = Verification {
        bundle: dir.display().to_string(),
        intact: false,
        files_checked: 0,
        signature: if key.is_some() {
            SignatureState::Bad
        } else {
            SignatureState::NotChecked
        },
        signed_by: None,
        problems: others
            .into_iter()
            .map(|path| Problem::NotAFile { path })
            .collect(),
    };
    if !present.contains(MANIFEST_FILE) {
        v.problems.push(Problem::ManifestMissing);
        return Ok(v);
    }
    let manifest_bytes = std::fs::read(dir.join(MANIFEST_FILE)).map_err(unreadable)?;
    let manifest = match Manifest::from_bytes(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            v.problems.push(Problem::ManifestInvalid {
                detail: e.to_string(),
            });
            return Ok(v);
        }
    };

    let mut listed: BTreeMap<&str, &super::manifest::FileEntry> = BTreeMap::new();
    for entry in &manifest.files {
        if !is_safe_path(&entry.path) || entry.path == MANIFEST_FILE || entry.path == SIGNATURE_FILE
        {
            v.problems.push(Problem::UnsafePath {
                path: entry.path.clone(),
            });
            continue;
        }
        if listed.insert(entry.path.as_str(), entry).is_some() {
            v.problems.push(Problem::ManifestInvalid {
                detail: format!("`{}` is listed twice", entry.path),
            });
        }
    }
    for (path, entry) in &listed {
        if !present.contains(*path) {
            v.problems.push(Problem::Removed {
                path: path.to_string(),
            });
            continue;
        }
        let bytes = std::fs::read(dir.join(path)).map_err(unreadable)?;
        v.files_checked += 1;
        let actual = sha256_hex(&bytes);
        if actual != entry.sha256 || bytes.len() as u64 != entry.bytes {
            v.problems.push(Problem::Changed {
                path: path.to_string(),
                expected_sha256: entry.sha256.clone(),
                actual_sha256: actual,
                expected_bytes: entry.bytes,
                actual_bytes: bytes.len() as u64,
            });
        }
    }
    for path in &present {
        if path != MANIFEST_FILE && path != SIGNATURE_FILE && !listed.contains_key(path.as_str()) {
            v.problems.push(Problem::Added { path: path.clone() });
        }
    }

    if let Some(key) = key {
        match signature(dir, &present, &manifest_bytes, key) {
            Ok(()) => {
                v.signature = SignatureState::Valid;
                v.signed_by = Some(key.fingerprint());
            }
            Err(p) => v.problems.push(p),
        }
    }
    v.intact = v.problems.is_empty();
    Ok(v)
}

fn signature(
    dir: &Path,
    present: &BTreeSet<String>,
    manifest: &[u8],
    key: &PublicKey,
) -> Result<(), Problem> {
    if !present.contains(SIGNATURE_FILE) {
        return Err(Problem::SignatureMissing);
    }
    let bytes =
        std::fs::read(dir.join(SIGNATURE_FILE)).map_err(|e| Problem::SignatureMalformed {
            detail: e.to_string(),
        })?;
    let sig: SignatureFile =
        serde_json::from_slice(&bytes).map_err(|e| Problem::SignatureMalformed {
            detail: e.to_string(),
        })?;
    // Only the form atrest writes is accepted, so that no byte of the file can change unnoticed.
    let mut canonical =
        serde_json::to_vec_pretty(&sig).map_err(|e| Problem::SignatureMalformed {
            detail: e.to_string(),
        })?;
    canonical.push(b'\n');
    if canonical != bytes {
        return Err(Problem::SignatureMalformed {
            detail: "it is not in the form atrest writes; it was edited".to_string(),
        });
    }
    let given = key.fingerprint();
    if key.verify(manifest, &sig) {
        if sig.public_key_sha256 != given {
            return Err(Problem::SignatureInvalid {
                detail: format!(
                    "{SIGNATURE_FILE} names signing key {}, but the signature is by the given key {given}; the file was edited",
                    sig.public_key_sha256
                ),
            });
        }
        return Ok(());
    }
    Err(Problem::SignatureInvalid {
        detail: if sig.public_key_sha256 != given {
            format!(
                "{SIGNATURE_FILE} names signing key {}, not the given public key {given}; check that --public-key is the key the bundle was signed with",
                sig.public_key_sha256
            )
        } else {
            format!(
                "the signature does not match {MANIFEST_FILE}: the manifest or the signature was altered"
            )
        },
    })
}

/// The verification as text, one line per problem, then the verdict.
pub fn render_text(v: &Verification, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for p in &v.problems {
        writeln!(out, "{}", p.describe())?;
    }
    if v.intact {
        let sig = match (&v.signature, &v.signed_by) {
            (SignatureState::Valid, Some(fp)) => format!("signature valid (key sha256 {fp})"),
            _ => "signature not checked (--no-signature)".to_string(),
        };
        writeln!(
            out,
            "bundle `{}` is intact: {} file(s) match {MANIFEST_FILE}; {sig}",
            v.bundle, v.files_checked
        )
    } else {
        writeln!(
            out,
            "bundle `{}` FAILED verification: {} problem(s)",
            v.bundle,
            v.problems.len()
        )
    }
}
