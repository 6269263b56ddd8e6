//! `manifest.json`: what a bundle holds and where it came from. Every file of the bundle is listed with its SHA-256
//! and size; the manifest itself is what `manifest.sig` signs.

use serde::{Deserialize, Serialize};

pub use crate::audit::provenance::Attachment;
use crate::audit::provenance::Provenance;

/// Bumped when a field changes meaning or is removed.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;
/// The value of `format`, so that a manifest says what it is.
pub const BUNDLE_FORMAT: &str = "atrest-evidence-bundle";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const SIGNATURE_FILE: &str = "manifest.sig";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the bundle directory, `/`-separated.
    pub path: String,
    /// Lowercase hex.
    pub sha256: String,
    pub bytes: u64,
}

/// What the manifest says. Its JSON is the provenance's fields between `format` and `attachments`, in this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub format: String,
    #[serde(flatten)]
    pub provenance: Provenance,
    pub attachments: Vec<Attachment>,
    /// Every file of the bundle except `manifest.json` and `manifest.sig`, sorted by path.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    pub fn new(
        provenance: Provenance,
        attachments: Vec<Attachment>,
        files: Vec<FileEntry>,
    ) -> Manifest {
        Manifest {
            schema_version: MANIFEST_SCHEMA_VERSION,
            format: BUNDLE_FORMAT.to_string(),
            provenance,
            attachments,
            files,
        }
    }

    /// The manifest as written to disk: pretty JSON, newline-terminated.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(BUNDLE_FORMAT) => {}
            _ => return Err(ManifestError::Format),
        }
        match value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(MANIFEST_SCHEMA_VERSION) => {}
            Some(found) => return Err(ManifestError::SchemaVersion { found }),
            None => return Err(ManifestError::NoSchemaVersion),
        }
        serde_json::from_value(value).map_err(ManifestError::Json)
    }
}

/// Why a `manifest.json` cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("{0}")]
    Json(serde_json::Error),
    #[error("`format` is not `{BUNDLE_FORMAT}`")]
    Format,
    #[error("schema version {found}; this atrest reads version {MANIFEST_SCHEMA_VERSION}")]
    SchemaVersion { found: u64 },
    #[error("no `schema_version` number")]
    NoSchemaVersion,
}

pub use crate::digest::sha256_hex;

/// Whether a manifest path stays inside the bundle: relative, `/`-separated, no `.`/`..`/empty components.
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert!(is_safe_path("report.html"));
        assert!(is_safe_path("attachments/adr.md"));
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b"] {
            assert!(!is_safe_path(bad), "{bad}");
        }
    }
}
