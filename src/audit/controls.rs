//! The control matrix (the audit's compliance view, Prowler's compliance.py): for every framework, every control's status (pass, fail, manual, not applicable), the checks
//! that decide it, and the resources each check judged. A pure function of the audit report, the frameworks and the
//! attachments; `controls.json` in a bundle is this, serialised.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::report::Report;
use crate::catalog::frameworks::{AttachmentKind, Framework};
use crate::model::{Finding, Severity, Status};

/// Bumped when a field changes meaning or is removed.
pub const MATRIX_SCHEMA_VERSION: u32 = 1;

/// A control's (or a check's) verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    /// Every judged resource passed (at least one was judged).
    Pass,
    /// At least one resource failed.
    Fail,
    /// No check decides the control: a person judges it from the evidence named.
    Manual,
    /// The checks judged nothing (no resource in scope, or every finding was not applicable).
    NotApplicable,
}

impl ControlStatus {
    pub const ALL: [ControlStatus; 4] = [
        ControlStatus::Pass,
        ControlStatus::Fail,
        ControlStatus::Manual,
        ControlStatus::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Pass => "pass",
            ControlStatus::Fail => "fail",
            ControlStatus::Manual => "manual",
            ControlStatus::NotApplicable => "not_applicable",
        }
    }
}

impl std::fmt::Display for ControlStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Controls per status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub pass: usize,
    pub fail: usize,
    pub manual: usize,
    pub not_applicable: usize,
}

impl StatusCounts {
    pub fn add(&mut self, status: ControlStatus) {
        match status {
            ControlStatus::Pass => self.pass += 1,
            ControlStatus::Fail => self.fail += 1,
            ControlStatus::Manual => self.manual += 1,
            ControlStatus::NotApplicable => self.not_applicable += 1,
        }
    }

    pub fn get(&self, status: ControlStatus) -> usize {
        match status {
            ControlStatus::Pass => self.pass,
            ControlStatus::Fail => self.fail,
            ControlStatus::Manual => self.manual,
            ControlStatus::NotApplicable => self.not_applicable,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.manual + self.not_applicable
    }
}

/// A file in the bundle that serves as evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// Path inside the bundle, e.g. `attachments/adr.md`.
    pub path: String,
    pub kind: AttachmentKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    pub schema_version: u32,
    pub frameworks: Vec<FrameworkResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkResult {
    pub id: String,
    pub name: String,
    pub version: String,
    pub source: String,
    pub summary: StatusCounts,
    pub controls: Vec<ControlResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlResult {
    pub id: String,
    pub title: String,
    pub section: String,
    pub status: ControlStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckRollup>,
    /// Manual controls: what evidence to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Attached files of the kinds this control accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRollup {
    pub check: String,
    pub title: String,
    pub severity: Severity,
    /// `pass`, `fail` or `not_applicable`.
    pub status: ControlStatus,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    /// Every finding of the check, failed first.
    pub resources: Vec<ResourceResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceResult {
    pub resource: String,
    pub region: String,
    pub status: Status,
    pub message: String,
}

impl ControlResult {
    /// Why the control stands as it does, in one sentence.
    pub fn explanation(&self) -> String {
        let c = self;
        match c.status {
            ControlStatus::Manual => {
                "No automated check decides this control; judge it from the evidence below.".to_string()
            }
            ControlStatus::NotApplicable => {
                "Not applicable: the checks found no resource in scope (or only not-applicable findings).".to_string()
            }
            ControlStatus::Pass => {
                let judged: usize = c.checks.iter().map(|k| k.pass).sum();
                format!("Met by the automated checks: all {judged} judged resource(s) passed.")
            }
            ControlStatus::Fail => {
                let failed: Vec<String> = c
                    .checks
                    .iter()
                    .filter(|k| k.fail > 0)
                    .map(|k| format!("{} resource(s) fail {}", k.fail, k.check))
                    .collect();
                format!("Not met: {}.", failed.join("; "))
            }
        }
    }
}

impl Matrix {
    /// A control by framework id and control id.
    pub fn control(&self, framework: &str, control: &str) -> Option<&ControlResult> {
        self.frameworks
            .iter()
            .find(|f| f.id == framework)?
            .controls
            .iter()
            .find(|c| c.id == control)
    }
}

/// The verdict of a set of findings: fail if any failed, pass if any passed, otherwise not applicable.
pub fn verdict<'a>(statuses: impl IntoIterator<Item = &'a Status>) -> ControlStatus {
    let (mut pass, mut fail) = (false, false);
    for s in statuses {
        match s {
            Status::Pass => pass = true,
            Status::Fail => fail = true,
            Status::NotApplicable => {}
        }
    }
    match (fail, pass) {
        (true, _) => ControlStatus::Fail,
        (false, true) => ControlStatus::Pass,
        (false, false) => ControlStatus::NotApplicable,
    }
}

/// Builds the matrix. Checks unknown to the report (none, once the frameworks are validated) count as judging
/// nothing.
pub fn build(report: &Report, frameworks: &[Framework], attachments: &[AttachmentRef]) -> Matrix {
    let mut by_check: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_check.entry(f.check.as_str()).or_default().push(f);
    }
    let meta: BTreeMap<&str, (&str, Severity)> = report
        .summary
        .checks
        .iter()
        .map(|c| (c.id.as_str(), (c.title.as_str(), c.severity)))
        .collect();
    let frameworks = frameworks
        .iter()
        .map(|fw| {
            let mut summary = StatusCounts::default();
            let controls = fw
                .controls
                .iter()
                .map(|c| {
                    let checks: Vec<CheckRollup> = c
                        .checks
                        .iter()
                        .map(|id| {
                            check_rollup(id, by_check.get(id.as_str()), meta.get(id.as_str()))
                        })
                        .collect();
                    let status = if c.is_manual() {
                        ControlStatus::Manual
                    } else if checks.iter().any(|k| k.status == ControlStatus::Fail) {
                        ControlStatus::Fail
                    } else if checks.iter().any(|k| k.status == ControlStatus::Pass) {
                        ControlStatus::Pass
                    } else {
                        ControlStatus::NotApplicable
                    };
                    summary.add(status);
                    ControlResult {
                        id: c.id.clone(),
                        title: c.title.clone(),
                        section: c.section.clone(),
                        status,
                        checks,
                        evidence: c.evidence.clone(),
                        attachments: attachments
                            .iter()
                            .filter(|a| c.accepts.contains(&a.kind))
                            .map(|a| a.path.clone())
                            .collect(),
                        note: c.note.clone(),
                        facts: c.facts.clone(),
                    }
                })
                .collect();
            FrameworkResult {
                id: fw.id.clone(),
                name: fw.name.clone(),
                version: fw.version.clone(),
                source: fw.source.clone(),
                summary,
                controls,
            }
        })
        .collect();
    Matrix {
        schema_version: MATRIX_SCHEMA_VERSION,
        frameworks,
    }
}

fn check_rollup(
    id: &str,
    findings: Option<&Vec<&Finding>>,
    meta: Option<&(&str, Severity)>,
) -> CheckRollup {
    let findings: &[&Finding] = findings.map(Vec::as_slice).unwrap_or(&[]);
    let mut resources: Vec<ResourceResult> = findings
        .iter()
        .map(|f| ResourceResult {
            resource: f.resource.clone(),
            region: f.region.clone(),
            status: f.status,
            message: f.message.clone(),
        })
        .collect();
    // Failed first, then passed, then not applicable; the report's order (resource, region) within each.
    resources.sort_by_key(|r| match r.status {
        Status::Fail => 0,
        Status::Pass => 1,
        Status::NotApplicable => 2,
    });
    let count = |s: Status| findings.iter().filter(|f| f.status == s).count();
    CheckRollup {
        check: id.to_string(),
        title: meta.map(|m| m.0.to_string()).unwrap_or_default(),
        severity: meta.map(|m| m.1).unwrap_or(Severity::Informational),
        status: verdict(findings.iter().map(|f| &f.status)),
        pass: count(Status::Pass),
        fail: count(Status::Fail),
        not_applicable: count(Status::NotApplicable),
        resources,
    }
}

/// The frameworks and controls each check is mapped to, as `{check: [(framework label, control id)]}`.
pub fn controls_by_check(frameworks: &[Framework]) -> BTreeMap<String, Vec<(String, String)>> {
    let mut map: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for fw in frameworks {
        for c in &fw.controls {
            for check in &c.checks {
                map.entry(check.clone())
                    .or_default()
                    .push((fw.label(), c.id.clone()));
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::report::{CheckSummary, Summary};
    use crate::catalog::frameworks::Control;

    fn finding(check: &str, status: Status, resource: &str) -> Finding {
        Finding {
            check: check.into(),
            status,
            severity: Severity::High,
            resource: resource.into(),
            region: "eu-west-1".into(),
            message: "m".into(),
            account: None,
            account_name: None,
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            schema_version: 1,
            generator: "atrest test".into(),
            account: Some("111122223333".into()),
            account_name: None,
            accounts: Vec::new(),
            regions: vec!["eu-west-1".into()],
            started: String::new(),
            finished: String::new(),
            source: "inventory".into(),
            summary: Summary {
                checks: vec![CheckSummary {
                    id: "a".into(),
                    title: "A".into(),
                    severity: Severity::High,
                    pass: 0,
                    fail: 0,
                    not_applicable: 0,
                }],
                ..Summary::default()
            },
            findings,
            databases: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn control(id: &str, checks: &[&str]) -> Control {
        Control {
            id: id.into(),
            title: "t".into(),
            section: "s".into(),
            checks: checks.iter().map(|c| c.to_string()).collect(),
            evidence: checks.is_empty().then(|| "attach".to_string()),
            accepts: vec![AttachmentKind::DecisionRecord],
            note: None,
            facts: Vec::new(),
        }
    }

    #[test]
    fn statuses_follow_the_findings() {
        let fw = Framework {
            id: "x".into(),
            name: "X".into(),
            version: "1".into(),
            source: "https://example.org".into(),
            facts: Vec::new(),
            controls: vec![
                control("fails", &["a", "b"]),
                control("passes", &["b"]),
                control("nothing", &["c"]),
                control("manual", &[]),
            ],
        };
        let r = report(vec![
            finding("a", Status::Pass, "r1"),
            finding("a", Status::Fail, "r2"),
            finding("b", Status::Pass, "r1"),
            finding("b", Status::NotApplicable, "r3"),
            finding("c", Status::NotApplicable, "r3"),
        ]);
        let adr = AttachmentRef {
            path: "attachments/adr.md".into(),
            kind: AttachmentKind::DecisionRecord,
        };
        let m = build(&r, &[fw], &[adr]);
        let status = |id: &str| m.control("x", id).unwrap().status;
        assert_eq!(status("fails"), ControlStatus::Fail);
        assert_eq!(status("passes"), ControlStatus::Pass);
        assert_eq!(status("nothing"), ControlStatus::NotApplicable);
        assert_eq!(status("manual"), ControlStatus::Manual);
        let fails = m.control("x", "fails").unwrap();
        assert_eq!(fails.checks[0].title, "A");
        assert_eq!(fails.checks[0].resources[0].resource, "r2", "failed first");
        assert_eq!(
            m.control("x", "manual").unwrap().attachments,
            vec!["attachments/adr.md"]
        );
        let s = &m.frameworks[0].summary;
        assert_eq!((s.pass, s.fail, s.manual, s.not_applicable), (1, 1, 1, 1));
    }
}
