//! Writing an evidence bundle: a new (or empty) directory with the inventory, the findings, the control matrix,
//! the HTML and Markdown reports, the OCSF findings, the attachments, and a manifest that lists the SHA-256 of
//! every file, optionally signed.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::attach::Prepared;
use super::framework::{self, FrameworkError};
use super::manifest::{
    Attachment, BundleInfo, FileEntry, MANIFEST_FILE, Manifest, SIGNATURE_FILE, sha256_hex,
};
use super::matrix::{self, AttachmentRef};
use super::signing::SigningKey;
use crate::audit::inventory::Inventory;
use crate::report::{self, Format, Report};

pub const INVENTORY_FILE: &str = "inventory.json";
pub const FINDINGS_FILE: &str = "findings.json";
pub const CONTROLS_FILE: &str = "controls.json";
pub const HTML_FILE: &str = "report.html";
pub const MARKDOWN_FILE: &str = "report.md";
pub const OCSF_FILE: &str = "findings.ocsf.json";
pub const ATTACHMENTS_DIR: &str = "attachments";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "output directory `{path}` is not empty; evidence build writes only into a new or empty directory, so choose another --out"
    )]
    NotEmpty { path: String },
    #[error("--out `{path}` exists and is not a directory; choose another --out")]
    NotADirectory { path: String },
    #[error(
        "cannot use output directory `{path}`: {source}; check that its parent exists and is writable"
    )]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Frameworks(#[from] FrameworkError),
    #[error("{0}")]
    Internal(String),
}

/// Checks, before anything is read, that `--out` is a new or empty directory whose parent exists.
pub fn check_out_dir(path: &Path) -> Result<(), BundleError> {
    let shown = path.display().to_string();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut entries = std::fs::read_dir(path).map_err(|source| BundleError::Directory {
                path: shown.clone(),
                source,
            })?;
            if entries.next().is_some() {
                return Err(BundleError::NotEmpty { path: shown });
            }
            Ok(())
        }
        Ok(_) => Err(BundleError::NotADirectory { path: shown }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if parent.is_dir() {
                Ok(())
            } else {
                Err(BundleError::Directory {
                    path: shown,
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "its parent directory does not exist",
                    ),
                })
            }
        }
        Err(source) => Err(BundleError::Directory {
            path: shown,
            source,
        }),
    }
}

/// What goes into a bundle.
pub struct Input<'a> {
    pub inventory: &'a Inventory,
    pub report: &'a Report,
    pub attachments: &'a [Prepared],
    pub signing_key: Option<&'a SigningKey>,
}

/// Writes the bundle and returns its manifest.
pub fn build(out: &Path, input: Input<'_>) -> Result<Manifest, BundleError> {
    check_out_dir(out)?;
    std::fs::create_dir_all(out).map_err(|source| BundleError::Directory {
        path: out.display().to_string(),
        source,
    })?;
    let frameworks = framework::embedded()?;
    let attachments: Vec<Attachment> = input
        .attachments
        .iter()
        .map(|a| Attachment {
            path: format!("{ATTACHMENTS_DIR}/{}", a.name),
            kind: a.kind,
            original_name: a.original_name.clone(),
            derived: a.derived.clone(),
            sha256: sha256_hex(&a.bytes),
        })
        .collect();
    let refs: Vec<AttachmentRef> = attachments
        .iter()
        .map(|a| AttachmentRef {
            path: a.path.clone(),
            kind: a.kind,
        })
        .collect();
    let matrix = matrix::build(input.report, &frameworks, &refs);
    let info = BundleInfo::for_report(
        input.report,
        input.inventory.caller_arn.clone(),
        Some(input.inventory.partition.clone()),
        &frameworks,
        attachments,
    )
    .map_err(BundleError::Internal)?;

    let mut writer = Writer {
        dir: out.to_path_buf(),
        files: Vec::new(),
    };
    writer.json(INVENTORY_FILE, input.inventory)?;
    writer.json(FINDINGS_FILE, input.report)?;
    writer.json(CONTROLS_FILE, &matrix)?;
    let mut md = Vec::new();
    super::markdown::render(input.report, &matrix, &info, &mut md)
        .map_err(|e| writer.err(MARKDOWN_FILE, e))?;
    writer.file(MARKDOWN_FILE, &md)?;
    let mut html = Vec::new();
    report::html::render_page(
        &report::html::Page {
            report: input.report,
            matrix: &matrix,
            info: &info,
            in_bundle: true,
        },
        &mut html,
    )
    .map_err(|e| writer.err(HTML_FILE, e))?;
    writer.file(HTML_FILE, &html)?;
    let mut ocsf = Vec::new();
    report::render(input.report, Format::Ocsf, &mut ocsf).map_err(|e| writer.err(OCSF_FILE, e))?;
    writer.file(OCSF_FILE, &ocsf)?;
    if !input.attachments.is_empty() {
        let dir = out.join(ATTACHMENTS_DIR);
        std::fs::create_dir(&dir).map_err(|e| writer.err(ATTACHMENTS_DIR, e))?;
        for a in input.attachments {
            writer.file(&format!("{ATTACHMENTS_DIR}/{}", a.name), &a.bytes)?;
        }
    }
    let mut files = writer.files.clone();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest { info, files };
    let bytes = manifest
        .to_bytes()
        .map_err(|e| BundleError::Internal(e.to_string()))?;
    writer.raw(MANIFEST_FILE, &bytes)?;
    if let Some(key) = input.signing_key {
        let sig = key.sign(&bytes);
        let mut sig_bytes =
            serde_json::to_vec_pretty(&sig).map_err(|e| BundleError::Internal(e.to_string()))?;
        sig_bytes.push(b'\n');
        writer.raw(SIGNATURE_FILE, &sig_bytes)?;
    }
    Ok(manifest)
}

struct Writer {
    dir: PathBuf,
    files: Vec<FileEntry>,
}

impl Writer {
    fn err(&self, name: &str, source: std::io::Error) -> BundleError {
        BundleError::Write {
            path: self.dir.join(name).display().to_string(),
            source,
        }
    }

    fn raw(&self, name: &str, bytes: &[u8]) -> Result<(), BundleError> {
        let path = self.dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| self.err(name, e))?;
        file.write_all(bytes).map_err(|e| self.err(name, e))?;
        file.sync_all().map_err(|e| self.err(name, e))
    }

    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), BundleError> {
        self.raw(name, bytes)?;
        self.files.push(FileEntry {
            path: name.to_string(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        });
        Ok(())
    }

    fn json<T: serde::Serialize>(&mut self, name: &str, value: &T) -> Result<(), BundleError> {
        let mut bytes =
            serde_json::to_vec_pretty(value).map_err(|e| BundleError::Internal(e.to_string()))?;
        bytes.push(b'\n');
        self.file(name, &bytes)
    }
}
