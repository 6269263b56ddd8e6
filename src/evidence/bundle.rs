//! Writing an evidence bundle: a new (or empty) directory with the inventory, the findings, the control matrix,
//! the HTML and Markdown reports, the OCSF findings, the attachments, and a manifest that lists the SHA-256 of
//! every file, optionally signed.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::attach::Prepared;
use super::manifest::{Attachment, FileEntry, MANIFEST_FILE, Manifest, SIGNATURE_FILE};
use super::signing::SigningKey;
use crate::audit::controls::{self, AttachmentRef};
use crate::audit::inventory::Inventory;
use crate::audit::provenance::Provenance;
use crate::audit::report::Report;
use crate::catalog::Catalog;
use crate::digest::sha256_hex;
use crate::report::{self, AuditView, Format};

pub const INVENTORY_FILE: &str = "inventory.json";
pub const FINDINGS_FILE: &str = "findings.json";
pub const CONTROLS_FILE: &str = "controls.json";
pub const HTML_FILE: &str = "report.html";
pub const MARKDOWN_FILE: &str = "report.md";
pub const OCSF_FILE: &str = "findings.ocsf.json";
/// Who can use the key behind each database (`atrest access --format json`).
pub const ACCESS_FILE: &str = "access.json";
/// The same as a Markdown page.
pub const ACCESS_MARKDOWN_FILE: &str = "access.md";
pub const ATTACHMENTS_DIR: &str = "attachments";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error("output directory `{path}` is not empty")]
    NotEmpty { path: String },
    #[error("output path `{path}` exists and is not a directory")]
    NotADirectory { path: String },
    #[error("cannot use output directory `{path}`: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot serialise `{file}`: {source}")]
    Serialise {
        file: &'static str,
        source: serde_json::Error,
    },
}

impl crate::error::Help for BundleError {
    fn help(&self) -> Option<String> {
        Some(
            match self {
                BundleError::NotEmpty { .. } => {
                    "a bundle is written only into a new or empty directory: choose another"
                }
                BundleError::NotADirectory { .. } => "choose a new or empty directory",
                BundleError::Directory { .. } => "check that its parent exists and is writable",
                BundleError::Write { .. } => {
                    "check the free space and permissions of the directory"
                }
                BundleError::Serialise { .. } => "run again, and report it if it persists",
            }
            .to_string(),
        )
    }

    fn is_usage(&self) -> bool {
        matches!(
            self,
            BundleError::NotEmpty { .. }
                | BundleError::NotADirectory { .. }
                | BundleError::Directory { .. }
        )
    }
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
    pub catalog: &'a Catalog,
    pub attachments: &'a [Prepared],
    pub signing_key: Option<&'a SigningKey>,
    /// When the bundle is written (RFC 3339, UTC).
    pub built: String,
}

/// What a written bundle says: its manifest and its control matrix.
pub struct Written {
    pub manifest: Manifest,
    pub controls: controls::Matrix,
}

/// Writes the bundle.
pub fn build(out: &Path, input: Input<'_>) -> Result<Written, BundleError> {
    check_out_dir(out)?;
    std::fs::create_dir_all(out).map_err(|source| BundleError::Directory {
        path: out.display().to_string(),
        source,
    })?;
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
    let matrix = controls::build(input.report, &input.catalog.frameworks, &refs);
    let provenance = Provenance::new(
        input.report,
        input.catalog,
        input.inventory.caller_arn.clone(),
        Some(input.inventory.partition.clone()),
        input.built.clone(),
    );
    let access = crate::audit::access::analyse(input.inventory, None);
    let view = AuditView {
        report: input.report,
        controls: &matrix,
        provenance: &provenance,
        attachments: &attachments,
        catalog: input.catalog,
        in_bundle: true,
        access: Some(&access),
    };

    let mut writer = Writer {
        dir: out.to_path_buf(),
        files: Vec::new(),
    };
    writer.json(INVENTORY_FILE, input.inventory)?;
    writer.json(FINDINGS_FILE, input.report)?;
    writer.json(CONTROLS_FILE, &matrix)?;
    let mut access_json = Vec::new();
    report::access::json(&access, &mut access_json).map_err(|e| writer.err(ACCESS_FILE, e))?;
    writer.file(ACCESS_FILE, &access_json)?;
    let mut access_md = Vec::new();
    report::access::render(
        &access,
        report::access::AccessFormat::Markdown,
        &mut access_md,
    )
    .map_err(|e| writer.err(ACCESS_MARKDOWN_FILE, e))?;
    writer.file(ACCESS_MARKDOWN_FILE, &access_md)?;
    let mut md = Vec::new();
    report::evidence_md::render(&view, &mut md).map_err(|e| writer.err(MARKDOWN_FILE, e))?;
    writer.file(MARKDOWN_FILE, &md)?;
    let mut html = Vec::new();
    report::render(&view, Format::Html, &mut html).map_err(|e| writer.err(HTML_FILE, e))?;
    writer.file(HTML_FILE, &html)?;
    let mut ocsf = Vec::new();
    report::render(&view, Format::Ocsf, &mut ocsf).map_err(|e| writer.err(OCSF_FILE, e))?;
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
    let manifest = Manifest::new(provenance, attachments, files);
    let bytes = manifest
        .to_bytes()
        .map_err(|source| BundleError::Serialise {
            file: MANIFEST_FILE,
            source,
        })?;
    writer.raw(MANIFEST_FILE, &bytes)?;
    if let Some(key) = input.signing_key {
        let sig = key.sign(&bytes);
        let mut sig_bytes =
            serde_json::to_vec_pretty(&sig).map_err(|source| BundleError::Serialise {
                file: SIGNATURE_FILE,
                source,
            })?;
        sig_bytes.push(b'\n');
        writer.raw(SIGNATURE_FILE, &sig_bytes)?;
    }
    Ok(Written {
        manifest,
        controls: matrix,
    })
}

/// What goes into an organisation bundle, whose `inventories/` the collection already wrote (one file per account
/// of `run.accounts`).
pub struct OrgInput<'a> {
    pub report: &'a Report,
    pub catalog: &'a Catalog,
    pub run: &'a super::org::RunInfo,
    pub signing_key: Option<&'a SigningKey>,
    pub built: String,
}

/// Writes an organisation bundle into `out`, which holds `inventories/` already: the run, the findings, the control
/// matrix, the reports, the OCSF findings, and the manifest over all of them (inventories included), signed.
pub fn build_org(out: &Path, input: OrgInput<'_>) -> Result<Written, BundleError> {
    use super::org::{INVENTORIES_DIR, RUN_FILE};
    let matrix = controls::build(input.report, &input.catalog.frameworks, &[]);
    let provenance = Provenance::new(input.report, input.catalog, None, None, input.built.clone());
    let view = AuditView {
        report: input.report,
        controls: &matrix,
        provenance: &provenance,
        attachments: &[],
        catalog: input.catalog,
        in_bundle: true,
        access: None,
    };
    let mut writer = Writer {
        dir: out.to_path_buf(),
        files: Vec::new(),
    };
    for id in &input.run.accounts {
        writer.existing(&format!("{INVENTORIES_DIR}/{id}.json"))?;
    }
    writer.json(RUN_FILE, input.run)?;
    writer.json(FINDINGS_FILE, input.report)?;
    writer.json(CONTROLS_FILE, &matrix)?;
    let mut md = Vec::new();
    report::evidence_md::render(&view, &mut md).map_err(|e| writer.err(MARKDOWN_FILE, e))?;
    writer.file(MARKDOWN_FILE, &md)?;
    let mut html = Vec::new();
    report::render(&view, Format::Html, &mut html).map_err(|e| writer.err(HTML_FILE, e))?;
    writer.file(HTML_FILE, &html)?;
    let mut ocsf = Vec::new();
    report::render(&view, Format::Ocsf, &mut ocsf).map_err(|e| writer.err(OCSF_FILE, e))?;
    writer.file(OCSF_FILE, &ocsf)?;
    let mut files = writer.files.clone();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest::new(provenance, Vec::new(), files);
    let bytes = manifest
        .to_bytes()
        .map_err(|source| BundleError::Serialise {
            file: MANIFEST_FILE,
            source,
        })?;
    writer.raw(MANIFEST_FILE, &bytes)?;
    if let Some(key) = input.signing_key {
        let sig = key.sign(&bytes);
        let mut sig_bytes =
            serde_json::to_vec_pretty(&sig).map_err(|source| BundleError::Serialise {
                file: SIGNATURE_FILE,
                source,
            })?;
        sig_bytes.push(b'\n');
        writer.raw(SIGNATURE_FILE, &sig_bytes)?;
    }
    Ok(Written {
        manifest,
        controls: matrix,
    })
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

    /// Lists a file already written into the bundle.
    fn existing(&mut self, name: &str) -> Result<(), BundleError> {
        let bytes = std::fs::read(self.dir.join(name)).map_err(|e| self.err(name, e))?;
        self.files.push(FileEntry {
            path: name.to_string(),
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
        });
        Ok(())
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

    fn json<T: serde::Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), BundleError> {
        let mut bytes = serde_json::to_vec_pretty(value)
            .map_err(|source| BundleError::Serialise { file: name, source })?;
        bytes.push(b'\n');
        self.file(name, &bytes)
    }
}
