//! Organisation bundles: one inventory per account under `inventories/`, and `run.json`, which says which run and
//! which shard of it the bundle holds, so that shard bundles can be merged into one organisation bundle: each shard's
//! signature is checked first, overlapping or mismatched shards are refused, and the merged manifest is signed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::signing::PublicKey;
use super::verify::{self, SignatureState};
use crate::digest::sha256_hex;

pub const INVENTORIES_DIR: &str = "inventories";
pub const RUN_FILE: &str = "run.json";
pub const RUN_FORMAT: &str = "atrest-organisation-run";

/// Which run and which part of it a bundle holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub format: String,
    /// SHA-256 of the run's whole sorted account list (one id per line): shards of one run share it.
    pub accounts_digest: String,
    /// How many accounts the whole run has.
    pub accounts_total: usize,
    /// How many shards the run was split into (1: not sharded).
    pub shard_count: usize,
    /// The shards this bundle holds, sorted (one for a shard bundle, all for a merged one).
    pub shards: Vec<usize>,
    /// The accounts this bundle holds, sorted.
    pub accounts: Vec<String>,
    pub tool_version: String,
    pub catalog_version: String,
}

impl RunInfo {
    pub fn new(
        all_accounts: &[String],
        shard: Option<(usize, usize)>,
        accounts: Vec<String>,
        catalog_version: &str,
    ) -> RunInfo {
        let (shards, shard_count) = match shard {
            Some((index, count)) => (vec![index], count),
            None => (vec![0], 1),
        };
        let mut accounts = accounts;
        accounts.sort();
        RunInfo {
            format: RUN_FORMAT.to_string(),
            accounts_digest: accounts_digest(all_accounts),
            accounts_total: all_accounts.len(),
            shard_count,
            shards,
            accounts,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            catalog_version: catalog_version.to_string(),
        }
    }
}

pub fn accounts_digest(all: &[String]) -> String {
    let mut sorted: Vec<&str> = all.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut text = String::new();
    for id in sorted {
        text.push_str(id);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    #[error("shard bundle `{path}` does not verify: {detail}")]
    NotVerified { path: String, detail: String },
    #[error("`{path}` is not a bundle of an organisation run: {detail}")]
    NotAnOrgBundle { path: String, detail: String },
    #[error("shard bundles `{first}` and `{other}` are not of the same run: {what} differ")]
    Mismatch {
        first: String,
        other: String,
        what: &'static str,
    },
    #[error("shard bundles overlap: {what} `{item}` is in `{first}` and in `{other}`")]
    Overlap {
        what: &'static str,
        item: String,
        first: String,
        other: String,
    },
    #[error("shard(s) {missing} of {count} are missing")]
    Incomplete { missing: String, count: usize },
    #[error("cannot read `{path}`: {detail}")]
    Unreadable { path: String, detail: String },
}

impl crate::error::Help for MergeError {
    fn help(&self) -> Option<String> {
        Some(
            match self {
                MergeError::NotVerified { .. } => {
                    "check the bundle with `atrest evidence verify DIR --public-key KEY.pub`"
                }
                MergeError::NotAnOrgBundle { .. } => {
                    "merge bundles written by `atrest evidence build --accounts ... --shard I/N`"
                }
                MergeError::Mismatch { .. } => {
                    "merge only the shards of one run (same account list, shard count, atrest and catalog version)"
                }
                MergeError::Overlap { .. } => "pass each shard once",
                MergeError::Incomplete { .. } => "pass every shard of the run",
                MergeError::Unreadable { .. } => "check the path",
            }
            .to_string(),
        )
    }

    fn is_usage(&self) -> bool {
        true
    }
}

/// One checked shard: its directory, its run, and its inventory files.
pub struct Shard {
    pub dir: PathBuf,
    pub run: RunInfo,
    pub inventories: Vec<PathBuf>,
}

/// Checks every shard (signature first, then the run), and that together they are one whole run, each shard and
/// each account once.
pub fn check_shards(dirs: &[PathBuf], key: &PublicKey) -> Result<Vec<Shard>, MergeError> {
    let mut shards: Vec<Shard> = Vec::new();
    for dir in dirs {
        let shown = dir.display().to_string();
        let v = verify::verify(dir, Some(key)).map_err(|e| MergeError::NotVerified {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
        if !v.intact || v.signature != SignatureState::Valid {
            return Err(MergeError::NotVerified {
                path: shown,
                detail: v
                    .problems
                    .first()
                    .map(|p| p.describe())
                    .unwrap_or_else(|| "not signed by this key".to_string()),
            });
        }
        let text = std::fs::read(dir.join(RUN_FILE)).map_err(|e| MergeError::NotAnOrgBundle {
            path: shown.clone(),
            detail: format!("no readable `{RUN_FILE}`: {e}"),
        })?;
        let run: RunInfo =
            serde_json::from_slice(&text).map_err(|e| MergeError::NotAnOrgBundle {
                path: shown.clone(),
                detail: e.to_string(),
            })?;
        if run.format != RUN_FORMAT {
            return Err(MergeError::NotAnOrgBundle {
                path: shown,
                detail: format!("`{RUN_FILE}` is not `{RUN_FORMAT}`"),
            });
        }
        let inventories = run
            .accounts
            .iter()
            .map(|id| dir.join(INVENTORIES_DIR).join(format!("{id}.json")))
            .collect();
        shards.push(Shard {
            dir: dir.clone(),
            run,
            inventories,
        });
    }
    let Some(first) = shards.first() else {
        return Err(MergeError::Incomplete {
            missing: "all".into(),
            count: 0,
        });
    };
    let mut seen_shards: Vec<(usize, String)> = Vec::new();
    let mut seen_accounts: Vec<(String, String)> = Vec::new();
    for s in &shards {
        let mismatch = |what| MergeError::Mismatch {
            first: first.dir.display().to_string(),
            other: s.dir.display().to_string(),
            what,
        };
        if s.run.accounts_digest != first.run.accounts_digest
            || s.run.accounts_total != first.run.accounts_total
        {
            return Err(mismatch("their account lists"));
        }
        if s.run.shard_count != first.run.shard_count {
            return Err(mismatch("their shard counts"));
        }
        if s.run.tool_version != first.run.tool_version
            || s.run.catalog_version != first.run.catalog_version
        {
            return Err(mismatch("their atrest or catalog versions"));
        }
        let here = s.dir.display().to_string();
        for index in &s.run.shards {
            if let Some((_, other)) = seen_shards.iter().find(|(i, _)| i == index) {
                return Err(MergeError::Overlap {
                    what: "shard",
                    item: index.to_string(),
                    first: other.clone(),
                    other: here,
                });
            }
            seen_shards.push((*index, here.clone()));
        }
        for id in &s.run.accounts {
            if let Some((_, other)) = seen_accounts.iter().find(|(a, _)| a == id) {
                return Err(MergeError::Overlap {
                    what: "account",
                    item: id.clone(),
                    first: other.clone(),
                    other: here,
                });
            }
            seen_accounts.push((id.clone(), here.clone()));
        }
    }
    let present: BTreeSet<usize> = seen_shards.iter().map(|(i, _)| *i).collect();
    let missing: Vec<String> = (0..first.run.shard_count)
        .filter(|i| !present.contains(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Incomplete {
            missing: missing.join(", "),
            count: first.run.shard_count,
        });
    }
    Ok(shards)
}

/// The run of the merged bundle: every shard and account of the run.
pub fn merged_run(shards: &[Shard]) -> Option<RunInfo> {
    let first = shards.first()?;
    let mut run = first.run.clone();
    run.shards = (0..first.run.shard_count).collect();
    run.accounts = shards
        .iter()
        .flat_map(|s| s.run.accounts.iter().cloned())
        .collect();
    run.accounts.sort();
    Some(run)
}

/// Reads a file's bytes for the bundle writer.
pub fn read(path: &Path) -> Result<Vec<u8>, MergeError> {
    std::fs::read(path).map_err(|e| MergeError::Unreadable {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}
