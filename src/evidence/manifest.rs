//! `manifest.json`: what a bundle holds and where it came from. Every file of the bundle is listed with its SHA-256
//! and size; the manifest itself is what `manifest.sig` signs.

use serde::{Deserialize, Serialize};

use super::framework::{AttachmentKind, Framework};
use crate::report::Report;

/// Bumped when a field changes meaning or is removed.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;
/// The value of `format`, so that a manifest says what it is.
pub const BUNDLE_FORMAT: &str = "atrest-evidence-bundle";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const SIGNATURE_FILE: &str = "manifest.sig";

/// Where the evidence came from: everything in the manifest but the file list. The HTML report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleInfo {
    pub schema_version: u32,
    pub format: String,
    /// `atrest`.
    pub tool: String,
    pub tool_version: String,
    /// The digest of the embedded decision data (options, rules, facts, checks, frameworks).
    pub catalog_version: String,
    pub frameworks: Vec<FrameworkRef>,
    /// The audited account (STS GetCallerIdentity; offline: from the inventory).
    pub account: Option<String>,
    /// Who read the account (STS GetCallerIdentity; offline: from the inventory, if it recorded it).
    pub caller_arn: Option<String>,
    pub partition: String,
    pub regions: Vec<String>,
    /// `aws` (read for this bundle) or `inventory` (a saved inventory).
    pub source: String,
    /// When the account was read (RFC 3339, UTC).
    pub started: String,
    pub finished: String,
    /// When the bundle was written.
    pub built: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRef {
    pub id: String,
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Path inside the bundle.
    pub path: String,
    pub kind: AttachmentKind,
    /// The name of the file given to `--attach`.
    pub original_name: String,
    /// Set when the bundle holds a description of the file instead of the file (key files, keyrings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<String>,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the bundle directory, `/`-separated.
    pub path: String,
    /// Lowercase hex.
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(flatten)]
    pub info: BundleInfo,
    /// Every file of the bundle except `manifest.json` and `manifest.sig`, sorted by path.
    pub files: Vec<FileEntry>,
}

impl BundleInfo {
    /// The provenance of a report. `caller_arn` and `partition` come from the inventory when there is one.
    pub fn for_report(
        report: &Report,
        caller_arn: Option<String>,
        partition: Option<String>,
        frameworks: &[Framework],
        attachments: Vec<Attachment>,
    ) -> Result<BundleInfo, String> {
        let catalog = crate::catalog::Catalog::embedded()
            .map_err(|e| format!("the embedded decision catalog is invalid: {e}"))?;
        let partition = partition
            .or_else(|| {
                report
                    .findings
                    .first()
                    .and_then(|f| f.resource.split(':').nth(1))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "aws".to_string());
        Ok(BundleInfo {
            schema_version: MANIFEST_SCHEMA_VERSION,
            format: BUNDLE_FORMAT.to_string(),
            tool: "atrest".to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            catalog_version: catalog.version.clone(),
            frameworks: frameworks
                .iter()
                .map(|f| FrameworkRef {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    version: f.version.clone(),
                })
                .collect(),
            account: report.account.clone(),
            caller_arn,
            partition,
            regions: report.regions.clone(),
            source: report.source.clone(),
            started: report.started.clone(),
            finished: report.finished.clone(),
            built: crate::audit::clock::now_rfc3339(),
            attachments,
        })
    }
}

impl Manifest {
    /// The manifest as written to disk: pretty JSON, newline-terminated.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Manifest, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(BUNDLE_FORMAT) => {}
            _ => return Err(format!("`format` is not `{BUNDLE_FORMAT}`")),
        }
        match value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(MANIFEST_SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "schema version {v}; this atrest reads version {MANIFEST_SCHEMA_VERSION}"
                ));
            }
            None => return Err("no `schema_version` number".to_string()),
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

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
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn paths_stay_inside() {
        assert!(is_safe_path("report.html"));
        assert!(is_safe_path("attachments/adr.md"));
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b"] {
            assert!(!is_safe_path(bad), "{bad}");
        }
    }
}
