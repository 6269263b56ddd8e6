//! What changed between two bundles: new failures, fixed findings, resources that appeared or went away, and
//! controls whose status changed. Reads `findings.json`, `controls.json` and `inventory.json` of each bundle (check
//! them first with `atrest evidence verify`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::bundle::{CONTROLS_FILE, FINDINGS_FILE, INVENTORY_FILE};
use crate::audit::controls::{ControlStatus, Matrix};
use crate::audit::inventory::Inventory;
use crate::audit::report::Report;
use crate::model::{Finding, Severity, Status};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    #[error("cannot read `{path}`: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid {what}: {detail}")]
    Malformed {
        path: String,
        what: &'static str,
        detail: String,
    },
}

impl crate::error::Help for DiffError {
    fn help(&self) -> Option<String> {
        Some(
            match self {
                DiffError::Unreadable { .. } => {
                    "pass two directories written by `atrest evidence build --out`"
                }
                DiffError::Malformed { .. } => "was the bundle written by this version of atrest?",
            }
            .to_string(),
        )
    }

    fn is_usage(&self) -> bool {
        true
    }
}

/// The parts of a bundle a diff reads.
pub struct Bundle {
    pub dir: String,
    pub report: Report,
    pub matrix: Matrix,
    pub inventory: Inventory,
}

fn read(path: &Path) -> Result<Vec<u8>, DiffError> {
    std::fs::read(path).map_err(|source| DiffError::Unreadable {
        path: path.display().to_string(),
        source,
    })
}

pub fn load(dir: &Path) -> Result<Bundle, DiffError> {
    let json = |name: &str| -> Result<(String, Vec<u8>), DiffError> {
        let path = dir.join(name);
        Ok((path.display().to_string(), read(&path)?))
    };
    let (path, bytes) = json(FINDINGS_FILE)?;
    let report: Report = serde_json::from_slice(&bytes).map_err(|e| DiffError::Malformed {
        path,
        what: "findings file",
        detail: e.to_string(),
    })?;
    let (path, bytes) = json(CONTROLS_FILE)?;
    let matrix: Matrix = serde_json::from_slice(&bytes).map_err(|e| DiffError::Malformed {
        path,
        what: "control matrix",
        detail: e.to_string(),
    })?;
    let organisation = dir.join(super::org::INVENTORIES_DIR);
    let inventory = if !dir.join(INVENTORY_FILE).exists() && organisation.is_dir() {
        organisation_inventory(&organisation)?
    } else {
        let (path, bytes) = json(INVENTORY_FILE)?;
        let text = String::from_utf8_lossy(&bytes);
        crate::audit::store::from_json(&path, &text).map_err(|e| DiffError::Malformed {
            path: path.clone(),
            what: "inventory",
            detail: e.to_string(),
        })?
    };
    Ok(Bundle {
        dir: dir.display().to_string(),
        report,
        matrix,
        inventory,
    })
}

/// The resources of every account of an organisation bundle (`inventories/*.json`), as one inventory.
fn organisation_inventory(dir: &Path) -> Result<Inventory, DiffError> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DiffError::Malformed {
            path: dir.display().to_string(),
            what: "inventories directory",
            detail: e.to_string(),
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut all = Inventory::default();
    for path in files {
        let shown = path.display().to_string();
        let bytes = read(&path)?;
        let inv = crate::audit::store::from_json(&shown, &String::from_utf8_lossy(&bytes))
            .map_err(|e| DiffError::Malformed {
                path: shown.clone(),
                what: "inventory",
                detail: e.to_string(),
            })?;
        all.rds_instances.extend(inv.rds_instances);
        all.rds_clusters.extend(inv.rds_clusters);
        all.rds_snapshots.extend(inv.rds_snapshots);
        all.rds_cluster_snapshots.extend(inv.rds_cluster_snapshots);
        all.ebs_volumes.extend(inv.ebs_volumes);
        all.ebs_snapshots.extend(inv.ebs_snapshots);
        all.db_hosts.extend(inv.db_hosts);
        all.kms_keys.extend(inv.kms_keys);
    }
    Ok(all)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Side {
    pub bundle: String,
    pub account: Option<String>,
    pub finished: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingChange {
    pub check: String,
    pub severity: Severity,
    pub resource: String,
    pub region: String,
    /// The new finding's message (new failures), or what became of the failure (fixed).
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ResourceChange {
    pub kind: &'static str,
    pub resource: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlChange {
    pub framework: String,
    pub control: String,
    pub title: String,
    pub old: Option<ControlStatus>,
    pub new: Option<ControlStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub schema_version: u32,
    pub old: Side,
    pub new: Side,
    pub new_failures: Vec<FindingChange>,
    pub fixed: Vec<FindingChange>,
    pub added_resources: Vec<ResourceChange>,
    pub removed_resources: Vec<ResourceChange>,
    pub control_changes: Vec<ControlChange>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.new_failures.is_empty()
            && self.fixed.is_empty()
            && self.added_resources.is_empty()
            && self.removed_resources.is_empty()
            && self.control_changes.is_empty()
    }
}

type Key<'a> = (&'a str, &'a str, &'a str);

fn by_key(report: &Report) -> BTreeMap<Key<'_>, &Finding> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                (f.check.as_str(), f.resource.as_str(), f.region.as_str()),
                f,
            )
        })
        .collect()
}

/// Every resource ARN in an inventory, with its kind.
pub fn resources(inv: &Inventory) -> BTreeSet<ResourceChange> {
    let mut out = BTreeSet::new();
    let mut add = |kind: &'static str, arn: &str| {
        out.insert(ResourceChange {
            kind,
            resource: arn.to_string(),
        });
    };
    inv.rds_instances
        .iter()
        .for_each(|r| add("rds_instance", &r.arn));
    inv.rds_clusters
        .iter()
        .for_each(|r| add("rds_cluster", &r.arn));
    inv.rds_snapshots
        .iter()
        .for_each(|r| add("rds_snapshot", &r.arn));
    inv.rds_cluster_snapshots
        .iter()
        .for_each(|r| add("rds_cluster_snapshot", &r.arn));
    inv.ebs_volumes
        .iter()
        .for_each(|r| add("ebs_volume", &r.arn));
    inv.ebs_snapshots
        .iter()
        .for_each(|r| add("ebs_snapshot", &r.arn));
    inv.db_hosts.iter().for_each(|r| add("ec2_db_host", &r.arn));
    inv.kms_keys.iter().for_each(|r| add("kms_key", &r.arn));
    out
}

pub fn diff(old: &Bundle, new: &Bundle) -> Diff {
    let (o, n) = (by_key(&old.report), by_key(&new.report));
    let change = |f: &Finding, message: String| FindingChange {
        check: f.check.clone(),
        severity: f.severity,
        resource: f.resource.clone(),
        region: f.region.clone(),
        message,
    };
    let new_failures = n
        .iter()
        .filter(|(k, f)| {
            f.status == Status::Fail && o.get(*k).is_none_or(|was| was.status != Status::Fail)
        })
        .map(|(_, f)| change(f, f.message.clone()))
        .collect();
    let fixed = o
        .iter()
        .filter(|(_, f)| f.status == Status::Fail)
        .filter_map(|(k, f)| match n.get(k) {
            Some(now) if now.status == Status::Fail => None,
            Some(now) => Some(change(f, format!("now {}: {}", now.status, now.message))),
            None => Some(change(
                f,
                "no longer judged: the resource is gone or out of scope".to_string(),
            )),
        })
        .collect();
    let (ro, rn) = (resources(&old.inventory), resources(&new.inventory));
    let mut control_changes = Vec::new();
    let controls = |m: &Matrix| -> BTreeMap<(String, String), (String, ControlStatus)> {
        m.frameworks
            .iter()
            .flat_map(|fw| {
                fw.controls.iter().map(move |c| {
                    (
                        (format!("{} {}", fw.name, fw.version), c.id.clone()),
                        (c.title.clone(), c.status),
                    )
                })
            })
            .collect()
    };
    let (co, cn) = (controls(&old.matrix), controls(&new.matrix));
    let keys: BTreeSet<&(String, String)> = co.keys().chain(cn.keys()).collect();
    for key in keys {
        let (a, b) = (co.get(key), cn.get(key));
        if a.map(|x| x.1) != b.map(|x| x.1) {
            control_changes.push(ControlChange {
                framework: key.0.clone(),
                control: key.1.clone(),
                title: b.or(a).map(|x| x.0.clone()).unwrap_or_default(),
                old: a.map(|x| x.1),
                new: b.map(|x| x.1),
            });
        }
    }
    let side = |b: &Bundle| Side {
        bundle: b.dir.clone(),
        account: b.report.account.clone(),
        finished: b.report.finished.clone(),
    };
    Diff {
        schema_version: 1,
        old: side(old),
        new: side(new),
        new_failures,
        fixed,
        added_resources: rn.difference(&ro).cloned().collect(),
        removed_resources: ro.difference(&rn).cloned().collect(),
        control_changes,
    }
}

fn status(s: Option<ControlStatus>) -> String {
    s.map(|s| s.to_string())
        .unwrap_or_else(|| "(absent)".to_string())
}

/// A section of a diff: title, column headers, rows.
type Section = (&'static str, Vec<&'static str>, Vec<Vec<String>>);

/// The sections of a diff, shared by the table and Markdown writers.
fn sections(d: &Diff) -> Vec<Section> {
    let findings = |list: &[FindingChange]| -> Vec<Vec<String>> {
        list.iter()
            .map(|f| {
                vec![
                    f.severity.to_string(),
                    f.check.clone(),
                    f.region.clone(),
                    f.resource.clone(),
                    f.message.clone(),
                ]
            })
            .collect()
    };
    let resources = |list: &[ResourceChange]| -> Vec<Vec<String>> {
        list.iter()
            .map(|r| vec![r.kind.to_string(), r.resource.clone()])
            .collect()
    };
    vec![
        (
            "New failures",
            vec!["severity", "check", "region", "resource", "message"],
            findings(&d.new_failures),
        ),
        (
            "Fixed",
            vec!["severity", "check", "region", "resource", "now"],
            findings(&d.fixed),
        ),
        (
            "Controls that changed status",
            vec!["framework", "control", "title", "old", "new"],
            d.control_changes
                .iter()
                .map(|c| {
                    vec![
                        c.framework.clone(),
                        c.control.clone(),
                        c.title.clone(),
                        status(c.old),
                        status(c.new),
                    ]
                })
                .collect(),
        ),
        (
            "New resources",
            vec!["kind", "resource"],
            resources(&d.added_resources),
        ),
        (
            "Removed resources",
            vec!["kind", "resource"],
            resources(&d.removed_resources),
        ),
    ]
}

fn headline(d: &Diff) -> String {
    format!(
        "{} new failure(s), {} fixed, {} control(s) changed status, {} new and {} removed resource(s)",
        d.new_failures.len(),
        d.fixed.len(),
        d.control_changes.len(),
        d.added_resources.len(),
        d.removed_resources.len()
    )
}

pub fn render_table(d: &Diff, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "evidence diff: `{}` ({}) -> `{}` ({})",
        d.old.bundle, d.old.finished, d.new.bundle, d.new.finished
    )?;
    for (title, headers, rows) in sections(d) {
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}")?;
        writeln!(
            out,
            "{}",
            crate::table::text(&headers, &rows, &[(2, 40), (4, 60)])
        )?;
    }
    writeln!(out, "\n{}", headline(d))
}

pub fn render_markdown(d: &Diff, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(out, "# Evidence diff\n")?;
    writeln!(out, "- Old: `{}` (read {})", d.old.bundle, d.old.finished)?;
    writeln!(out, "- New: `{}` (read {})", d.new.bundle, d.new.finished)?;
    writeln!(out, "- {}\n", headline(d))?;
    for (title, headers, rows) in sections(d) {
        writeln!(out, "## {title}\n")?;
        if rows.is_empty() {
            writeln!(out, "None.\n")?;
        } else {
            writeln!(out, "{}", crate::table::markdown(&headers, &rows))?;
        }
    }
    Ok(())
}

pub fn render_json(d: &Diff, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, d).map_err(std::io::Error::from)?;
    writeln!(out)
}
