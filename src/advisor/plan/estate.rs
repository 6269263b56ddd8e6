//! A fleet from what an audit found (`plan --from-audit`): an `atrest audit --format json` report, or an inventory
//! saved with `audit --inventory-out`. Each RDS instance, Aurora cluster and tagged EC2 database host becomes a row
//! with its engine, current hosting and encryption (from the key manager behind it); a saved inventory adds the
//! engine version, the Regions that hold copies of its snapshots, and cross-account snapshot sharing.
//!
//! The file is read as JSON values, not through the audit's types: the advisor does not depend on the audit layer.

use std::collections::BTreeMap;

use serde_json::Value;

use super::inventory::{DatabaseRow, InventoryError};
use crate::catalog::Catalog;

/// Rows, and the resources that could not become rows (no engine known), by id.
#[derive(Debug, Default)]
pub struct Estate {
    pub rows: Vec<DatabaseRow>,
    pub skipped: Vec<String>,
}

fn error(file: &str, message: String) -> InventoryError {
    InventoryError {
        at: file.to_string(),
        message,
        help: Some(
            "pass the JSON that `atrest audit --format json` prints, or an inventory saved with `--inventory-out`"
                .into(),
        ),
    }
}

/// The catalog id of an engine as AWS names it (`db2-se` -> `db2`).
fn engine_id(catalog: &Catalog, aws: &str) -> Option<String> {
    let aws = aws.to_ascii_lowercase();
    catalog
        .engines
        .engine
        .iter()
        .find(|e| e.id == aws)
        .or_else(|| {
            catalog
                .engines
                .engine
                .iter()
                .find(|e| e.rds_engine.as_deref() == Some(aws.as_str()))
        })
        .map(|e| e.id.clone())
}

fn row(
    name: &str,
    engine: String,
    hosting: &str,
    encryption: &str,
    region: &str,
    file: &str,
) -> DatabaseRow {
    let mut overrides = BTreeMap::new();
    if hosting == "ec2" {
        // A host found on EC2 stays self-managed unless the planning session says otherwise.
        overrides.insert("database.hosting".to_string(), "self-managed".to_string());
    }
    DatabaseRow {
        name: name.to_string(),
        engine,
        version: String::new(),
        hosting: hosting.to_string(),
        encryption: encryption.to_string(),
        data_classes: Vec::new(),
        region: region.to_string(),
        read_replicas: Vec::new(),
        copy_regions: Vec::new(),
        trusted_services: Vec::new(),
        overrides,
        size_gib: None,
        sensitive_columns: Vec::new(),
        origin: format!("{file} (`{name}`)"),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn storage_encryption(prefix: &str, encrypted: bool, manager: Option<&str>) -> String {
    if !encrypted {
        return "none".into();
    }
    match manager {
        Some("aws_owned") if prefix == "rds" => "rds-aws-owned".into(),
        Some("aws_managed") => format!("{prefix}-aws-managed"),
        _ => format!("{prefix}-kms"),
    }
}

/// From an audit report's `databases`.
fn from_report(catalog: &Catalog, report: &Value, file: &str) -> Estate {
    let mut estate = Estate::default();
    for d in report["databases"].as_array().into_iter().flatten() {
        let id = text(d, "id");
        let Some(engine) = d["engine"].as_str().and_then(|e| engine_id(catalog, e)) else {
            estate.skipped.push(id.to_string());
            continue;
        };
        let ev = &d["evidence"];
        let manager = ev.pointer("/keys/0/manager").and_then(Value::as_str);
        let (hosting, encryption) = match text(d, "kind") {
            "rds_cluster" => (
                "aurora",
                storage_encryption("rds", ev["storage_encrypted"] == true, manager),
            ),
            "rds_instance" => (
                "rds",
                storage_encryption("rds", ev["storage_encrypted"] == true, manager),
            ),
            _ => {
                let declared = ev
                    .pointer("/declared/atrest:encryption")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let volumes = ev["volumes"].as_array().cloned().unwrap_or_default();
                let encrypted =
                    !volumes.is_empty() && volumes.iter().all(|v| v["encrypted"] == true);
                let enc = match declared {
                    "luks" => "luks".to_string(),
                    "tde" => "tde".to_string(),
                    _ => storage_encryption("ebs", encrypted, manager),
                };
                ("ec2", enc)
            }
        };
        let name = ev
            .pointer("/declared/atrest:database")
            .and_then(Value::as_str)
            .unwrap_or(id);
        estate.rows.push(row(
            name,
            engine,
            hosting,
            &encryption,
            text(d, "region"),
            file,
        ));
    }
    estate
}

/// From a saved inventory: richer (versions, snapshot copies and sharing).
fn from_inventory(catalog: &Catalog, inv: &Value, file: &str) -> Estate {
    let mut estate = Estate::default();
    let keys: BTreeMap<&str, &str> = inv["kms_keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            let manager = if k["key_manager"] == "AWS"
                || k["aliases"].as_array().is_some_and(|a| {
                    a.iter()
                        .any(|a| a.as_str().is_some_and(|a| a.starts_with("alias/aws/")))
                }) {
                "aws_managed"
            } else {
                "customer_managed"
            };
            (text(k, "arn"), manager)
        })
        .collect();
    let manager = |key: &str| keys.get(key).copied();
    let snapshots: Vec<&Value> = inv["rds_snapshots"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            inv["rds_cluster_snapshots"]
                .as_array()
                .into_iter()
                .flatten(),
        )
        .collect();
    let mut add = |id: &str,
                   engine: &str,
                   version: Option<&str>,
                   hosting: &str,
                   encryption: String,
                   region: &str| {
        let Some(engine) = engine_id(catalog, engine) else {
            estate.skipped.push(id.to_string());
            return;
        };
        let mut r = row(id, engine, hosting, &encryption, region, file);
        r.version = version.unwrap_or_default().to_string();
        for s in snapshots.iter().filter(|s| {
            let source = text(s, "source");
            source == id || source.ends_with(&format!(":{id}"))
        }) {
            let sregion = text(s, "region");
            if sregion != region && !r.copy_regions.iter().any(|c| c == sregion) {
                r.copy_regions.push(sregion.to_string());
            }
            if s.pointer("/sharing/accounts")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                r.overrides
                    .insert("data.snapshot_sharing".into(), "cross-account".into());
            }
        }
        estate.rows.push(r);
    };
    for i in inv["rds_instances"].as_array().into_iter().flatten() {
        if i["cluster_id"].is_string() {
            continue; // an Aurora member: planned with its cluster
        }
        let enc = storage_encryption(
            "rds",
            i["storage_encrypted"] == true,
            manager(text(i, "kms_key_id")),
        );
        add(
            text(i, "id"),
            text(i, "engine"),
            i["engine_version"].as_str(),
            "rds",
            enc,
            text(i, "region"),
        );
    }
    for c in inv["rds_clusters"].as_array().into_iter().flatten() {
        let enc = storage_encryption(
            "rds",
            c["storage_encrypted"] == true,
            manager(text(c, "kms_key_id")),
        );
        add(
            text(c, "id"),
            text(c, "engine"),
            c["engine_version"].as_str(),
            "aurora",
            enc,
            text(c, "region"),
        );
    }
    let volumes: BTreeMap<&str, &Value> = inv["ebs_volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (text(v, "id"), v))
        .collect();
    for h in inv["db_hosts"].as_array().into_iter().flatten() {
        let tags = &h["tags"];
        let name = tags["atrest:database"]
            .as_str()
            .filter(|n| !n.is_empty() && *n != "*")
            .unwrap_or(text(h, "id"));
        let vols: Vec<&Value> = h["volume_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().and_then(|v| volumes.get(v).copied()))
            .collect();
        let encrypted = !vols.is_empty() && vols.iter().all(|v| v["encrypted"] == true);
        let key_manager = vols
            .iter()
            .filter_map(|v| v["kms_key_id"].as_str())
            .find_map(&manager);
        let enc = match tags["atrest:encryption"].as_str() {
            Some("luks") => "luks".to_string(),
            Some("tde") => "tde".to_string(),
            _ => storage_encryption("ebs", encrypted, key_manager),
        };
        add(
            name,
            text(tags, "atrest:engine"),
            None,
            "ec2",
            enc,
            text(h, "region"),
        );
    }
    estate
}

/// Reads an audit report or a saved inventory.
pub fn from_audit(catalog: &Catalog, text: &str, file: &str) -> Result<Estate, InventoryError> {
    let v: Value = serde_json::from_str(text).map_err(|e| error(file, format!("not JSON: {e}")))?;
    let array = |key: &str| v.get(key).is_some_and(Value::is_array);
    let estate = if array("databases") {
        from_report(catalog, &v, file)
    } else if array("rds_instances") || array("db_hosts") {
        from_inventory(catalog, &v, file)
    } else {
        return Err(error(
            file,
            "neither an audit report (`databases`) nor a saved inventory (`rds_instances`)".into(),
        ));
    };
    if estate.rows.is_empty() {
        return Err(InventoryError {
            at: file.to_string(),
            message: "the audit found no database whose engine is known".into(),
            help: Some(
                "tag EC2 database hosts with `atrest:engine`, or plan from a CSV inventory".into(),
            ),
        });
    }
    Ok(estate)
}
