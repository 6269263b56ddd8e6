//! Saving and loading inventories (`--inventory-out`, `--inventory-in`) as JSON.

use std::path::Path;

use super::inventory::{INVENTORY_SCHEMA_VERSION, Inventory};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot read inventory `{path}`: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not an atrest inventory: {detail}")]
    Malformed { path: String, detail: String },
    #[error(
        "inventory `{path}` has schema version {found}, but this atrest reads version {INVENTORY_SCHEMA_VERSION}"
    )]
    Version { path: String, found: u64 },
    #[error("cannot write inventory `{path}`: {source}")]
    Unwritable {
        path: String,
        source: std::io::Error,
    },
}

impl crate::error::Help for StoreError {
    fn help(&self) -> Option<String> {
        Some(
            match self {
                StoreError::Unreadable { .. } => {
                    "check the path, or save one with `atrest audit --inventory-out FILE`"
                }
                StoreError::Malformed { .. } => "save one with `atrest audit --inventory-out FILE`",
                StoreError::Version { .. } => "collect it again with this version",
                StoreError::Unwritable { .. } => "check that the directory exists and is writable",
            }
            .to_string(),
        )
    }

    fn is_usage(&self) -> bool {
        !matches!(self, StoreError::Unwritable { .. })
    }
}

pub fn load(path: &Path) -> Result<Inventory, StoreError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| StoreError::Unreadable {
        path: shown.clone(),
        source,
    })?;
    from_json(&shown, &text)
}

/// Parses an inventory document; `path` only names it in errors.
pub fn from_json(path: &str, text: &str) -> Result<Inventory, StoreError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::Malformed {
            path: path.to_string(),
            detail: e.to_string(),
        })?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(INVENTORY_SCHEMA_VERSION) => {}
        Some(found) => {
            return Err(StoreError::Version {
                path: path.to_string(),
                found,
            });
        }
        None => {
            return Err(StoreError::Malformed {
                path: path.to_string(),
                detail: "no `schema_version` number".to_string(),
            });
        }
    }
    serde_json::from_value(value).map_err(|e| StoreError::Malformed {
        path: path.to_string(),
        detail: e.to_string(),
    })
}

/// Fails early, before a long collection, when `path` cannot be written: its directory does not exist.
pub fn check_writable(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(StoreError::Unwritable {
            path: path.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the directory does not exist",
            ),
        })
    }
}

pub fn save(path: &Path, inventory: &Inventory) -> Result<(), StoreError> {
    let unwritable = |source| StoreError::Unwritable {
        path: path.display().to_string(),
        source,
    };
    let mut text = serde_json::to_string_pretty(inventory)
        .map_err(|e| unwritable(std::io::Error::other(e)))?;
    text.push('\n');
    std::fs::write(path, text).map_err(unwritable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.json");
        let inv = crate::audit::testkit::inventory();
        save(&path, &inv).unwrap();
        assert_eq!(load(&path).unwrap(), inv);
    }

    #[test]
    fn errors_name_the_file() {
        let e = from_json("x.json", "[1,").unwrap_err().to_string();
        assert!(e.starts_with("`x.json` is not an atrest inventory"), "{e}");
        let e = from_json("x.json", r#"{"schema_version":7}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("schema version 7"), "{e}");
        let e = from_json("x.json", r#"{"kms_keys":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `schema_version`"), "{e}");
        let e = from_json("x.json", r#"{"schema_version":1,"kms_keys":[{"arn":1}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid type"), "{e}");
    }
}
