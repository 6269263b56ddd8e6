//! `atrest plan`: a fleet inventory from a migration-planning session -> a recommendation, an ordered runbook and
//! least-privilege key policies per database.

pub mod estate;
pub mod fleet;
mod hosts;
pub mod iac;
pub mod inventory;
mod overlays;
pub mod policy;
pub mod rds;
pub mod render;
pub mod runbook;
pub mod script;
pub mod sharing;

use std::collections::BTreeMap;

use serde::Serialize;

use super::engine::{EngineSupport, Recommendation, SCHEMA_VERSION, evaluate};
use super::requirements::{Requirements, RequirementsError};
use crate::catalog::Catalog;
use inventory::{DATA_CLASSES, DatabaseRow};
use runbook::{Principals, ProposedKey, Step};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatabasePlan {
    pub name: String,
    pub engine: String,
    pub version: String,
    pub region: String,
    pub current_hosting: String,
    pub current_encryption: String,
    pub data_classes: Vec<String>,
    pub recommendation: Recommendation,
    pub downtime: fleet::Downtime,
    pub runbook: Vec<Step>,
    pub keys: Vec<ProposedKey>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub schema_version: u32,
    pub catalog_version: String,
    /// How many databases land on each option (`0` = no option meets the requirements).
    pub summary: BTreeMap<u8, usize>,
    /// Decisions taken once: the EBS default key per Region, the SCP, the migration waves.
    pub fleet: fleet::Fleet,
    pub databases: Vec<DatabasePlan>,
}

/// A fleet row whose values the requirements schema refuses.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PlanError(#[from] pub RequirementsError);

impl crate::error::Help for PlanError {
    fn help(&self) -> Option<String> {
        self.0.help()
    }

    fn is_usage(&self) -> bool {
        true
    }
}

/// The requirements for one row: the base, then what its data classes and current state imply, then its overrides.
pub fn row_requirements(
    catalog: &Catalog,
    base: &Requirements,
    row: &DatabaseRow,
) -> Result<Requirements, PlanError> {
    let mut req = base.clone();
    let set = |req: &mut Requirements, key: &str, value: &str, why: &str| {
        req.set(catalog, key, value, why).map_err(PlanError)
    };
    set(
        &mut req,
        "database.engine",
        &row.engine,
        &format!("{} engine", row.origin),
    )?;
    set(
        &mut req,
        "database.version",
        &row.version,
        &format!("{} version", row.origin),
    )?;
    let mut regimes: Vec<String> = req.list("data.regimes").to_vec();
    for class in &row.data_classes {
        if let Some((_, regime)) = DATA_CLASSES.iter().find(|(c, _)| c == class)
            && !regimes.iter().any(|r| r == regime)
        {
            regimes.push(regime.to_string());
        }
    }
    set(
        &mut req,
        "data.regimes",
        &regimes.join(","),
        &format!("{} data_classes", row.origin),
    )?;
    let migration = match (row.hosting.as_str(), row.encryption.as_str()) {
        ("on-prem", _) => "greenfield",
        (_, "none") => "existing-unencrypted",
        (_, "rds-kms" | "ebs-kms") => req.text("operations.migration"),
        _ => "rekey",
    }
    .to_string();
    set(
        &mut req,
        "operations.migration",
        &migration,
        &format!("{} hosting/encryption", row.origin),
    )?;
    if !row.copy_regions.is_empty() {
        set(
            &mut req,
            "data.multi_region",
            "true",
            &format!("{} copy_regions", row.origin),
        )?;
    }
    for (key, value) in &row.overrides {
        set(&mut req, key, value, &format!("{} override", row.origin))?;
    }
    Ok(req)
}

pub fn plan(
    catalog: &Catalog,
    base: &Requirements,
    rows: &[DatabaseRow],
    principals: &Principals,
) -> Result<Plan, PlanError> {
    // First every recommendation, because which storage keys are shared is a decision over the whole fleet.
    let mut recommendations = Vec::with_capacity(rows.len());
    for row in rows {
        let req = row_requirements(catalog, base, row)?;
        let support = EngineSupport::embedded(catalog, &row.engine);
        recommendations.push(evaluate(catalog, &req, &support));
    }
    let members: Vec<(String, Option<sharing::Scope>, Vec<String>)> = rows
        .iter()
        .zip(&recommendations)
        .map(|(row, rec)| {
            let mut regions = vec![row.region.clone()];
            for r in &row.copy_regions {
                if !regions.contains(r) {
                    regions.push(r.clone());
                }
            }
            (row.name.clone(), sharing::scope(row, rec), regions)
        })
        .collect();
    let shared = sharing::assign(&members);
    let mut databases = Vec::new();
    let mut summary = BTreeMap::new();
    for (row, rec) in rows.iter().zip(recommendations) {
        *summary
            .entry(rec.recommended.as_ref().map_or(0, |r| r.option))
            .or_insert(0) += 1;
        let shared_storage = sharing::aliases_of(&shared, &row.name);
        let (steps, keys) = runbook::build(row, &rec, catalog, principals, shared_storage);
        let mut d = DatabasePlan {
            name: row.name.clone(),
            engine: row.engine.clone(),
            version: row.version.clone(),
            region: row.region.clone(),
            current_hosting: row.hosting.clone(),
            current_encryption: row.encryption.clone(),
            data_classes: row.data_classes.clone(),
            recommendation: rec,
            downtime: fleet::Downtime {
                class: fleet::DowntimeClass::None,
                estimate_minutes: None,
                basis: String::new(),
            },
            runbook: steps,
            keys,
        };
        d.downtime = fleet::downtime(&d, row.size_gib);
        databases.push(d);
    }
    let fleet = fleet::build(&databases, &shared, principals);
    Ok(Plan {
        schema_version: SCHEMA_VERSION,
        catalog_version: catalog.version.clone(),
        summary,
        fleet,
        databases,
    })
}

impl Plan {
    /// The storage key a database uses in a Region: its own, or the one it shares with other databases.
    pub fn storage_key(&self, database: &str, region: &str) -> Option<&ProposedKey> {
        let own = self
            .databases
            .iter()
            .filter(|d| d.name == database)
            .flat_map(|d| d.keys.iter());
        own.chain(self.fleet.shared_keys.iter())
            .filter(|k| k.region == region && k.used_by.iter().any(|u| u == database))
            .find(|k| k.purpose.contains("storage"))
    }
}
