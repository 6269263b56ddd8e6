//! Compliance frameworks as data: `decision/frameworks/<id>.toml`, embedded at build time. A framework lists its
//! controls and points each at check ids; checks never name frameworks. A control without checks is *manual*: a
//! person judges it from the evidence it names (`evidence`), which can be a file attached to the bundle.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::problems::Problems;
use crate::suggest;

/// What an attached file is, so that manual controls can say which attachments they take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttachmentKind {
    /// A Markdown architecture decision record from `atrest advise|plan --format adr`.
    DecisionRecord,
    /// A description of the cell-encryption configuration (keyring or key file), without key material.
    CellConfig,
    /// Anything else the user attached.
    Other,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::DecisionRecord => "decision-record",
            AttachmentKind::CellConfig => "cell-config",
            AttachmentKind::Other => "other",
        }
    }
}

/// `decision/frameworks/<id>.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub name: String,
    pub version: String,
    /// Where the framework's text is published.
    pub source: String,
    /// Dated facts (`decision/facts/<id>.toml`) about the framework itself.
    #[serde(default)]
    pub facts: Vec<String>,
    #[serde(rename = "control")]
    pub controls: Vec<Control>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub section: String,
    /// The checks that decide the control. Empty: the control is manual.
    #[serde(default)]
    pub checks: Vec<String>,
    /// For manual controls: what evidence to attach. Required when `checks` is empty.
    #[serde(default)]
    pub evidence: Option<String>,
    /// The attachment kinds that serve as this control's evidence.
    #[serde(default)]
    pub accepts: Vec<AttachmentKind>,
    /// What the checks do and do not show for this control.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub facts: Vec<String>,
}

impl Control {
    pub fn is_manual(&self) -> bool {
        self.checks.is_empty()
    }
}

impl Framework {
    /// `PCI DSS 4.0.1`.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// Parses and cross-checks the framework files (paths relative to `decision/`, e.g. `frameworks/pci-dss.toml`)
/// against the known check ids and fact ids, recording every problem. Sorted by id.
pub(super) fn parse_all(
    files: &[(&str, &str)],
    check_ids: &[&str],
    fact_ids: &[&str],
    problems: &mut Problems,
) -> Vec<Framework> {
    let mut frameworks = Vec::new();
    for (path, text) in files {
        if let Some(f) = problems.parse::<Framework>(path, text) {
            validate(path, &f, check_ids, fact_ids, problems);
            frameworks.push(f);
        }
    }
    if files.is_empty() {
        problems.add("frameworks/", "no framework files");
    }
    frameworks.sort_by(|a, b| a.id.cmp(&b.id));
    frameworks
}

fn validate(
    path: &str,
    f: &Framework,
    check_ids: &[&str],
    fact_ids: &[&str],
    problems: &mut Problems,
) {
    problems.expect_id_is_file_name(path, &f.id);
    let mut add = |msg: String| problems.add(path, msg);
    if !f.source.starts_with("https://") {
        add(format!("source `{}` must be an https:// URL", f.source));
    }
    if f.controls.is_empty() {
        add("no controls".to_string());
    }
    let unknown_fact = |owner: &str, id: &str, add: &mut dyn FnMut(String)| {
        if !fact_ids.contains(&id) {
            add(format!(
                "{owner}: unknown fact `{id}`; {}",
                suggest::hint(id, fact_ids.iter().copied())
            ));
        }
    };
    for fact in &f.facts {
        unknown_fact("framework", fact, &mut add);
    }
    let mut seen = BTreeSet::new();
    for c in &f.controls {
        let owner = format!("control `{}`", c.id);
        if !seen.insert(c.id.as_str()) {
            add(format!("{owner} is listed twice"));
        }
        if c.title.trim().is_empty() || c.section.trim().is_empty() {
            add(format!("{owner} needs a title and a section"));
        }
        for check in &c.checks {
            if !check_ids.contains(&check.as_str()) {
                add(format!(
                    "{owner}: unknown check `{check}`; {}",
                    suggest::hint(check, check_ids.iter().copied())
                ));
            }
        }
        let mut checks = BTreeSet::new();
        for check in &c.checks {
            if !checks.insert(check) {
                add(format!("{owner} lists check `{check}` twice"));
            }
        }
        if c.is_manual() && c.evidence.as_deref().is_none_or(|e| e.trim().is_empty()) {
            add(format!(
                "{owner} has no checks, so it is manual and needs `evidence` saying what to attach"
            ));
        }
        if c.accepts.contains(&AttachmentKind::Other) {
            add(format!(
                "{owner}: `accepts` names kinds of evidence (decision-record, cell-config), not `other`"
            ));
        }
        for fact in &c.facts {
            unknown_fact(&owner, fact, &mut add);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: &[&str] = &["rds_instance_storage_encrypted", "kms_key_rotation_enabled"];
    const FACTS: &[&str] = &["pci-3-5-1"];

    fn from_files(files: &[(&str, &str)]) -> Result<Vec<Framework>, String> {
        let mut problems = Problems::default();
        let frameworks = parse_all(files, CHECKS, FACTS, &mut problems);
        match problems.is_empty() {
            true => Ok(frameworks),
            false => Err(problems
                .0
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")),
        }
    }

    fn one(text: &str) -> Result<Vec<Framework>, String> {
        from_files(&[("frameworks/x.toml", text)])
    }

    const HEAD: &str =
        "id = \"x\"\nname = \"X\"\nversion = \"1\"\nsource = \"https://example.org/x\"\n";

    #[test]
    fn a_valid_framework_loads() {
        let text = format!(
            "{HEAD}[[control]]\nid = \"1\"\ntitle = \"t\"\nsection = \"s\"\nchecks = [\"kms_key_rotation_enabled\"]\n\
             [[control]]\nid = \"2\"\ntitle = \"t\"\nsection = \"s\"\nevidence = \"attach it\"\naccepts = [\"decision-record\"]\n"
        );
        let fw = one(&text).unwrap();
        assert_eq!(fw[0].controls.len(), 2);
        assert!(!fw[0].controls[0].is_manual());
        assert!(fw[0].controls[1].is_manual());
    }

    #[test]
    fn every_problem_is_reported() {
        let text = format!(
            "{HEAD}facts = [\"pci-3-5-2\"]\n\
             [[control]]\nid = \"1\"\ntitle = \"t\"\nsection = \"s\"\nchecks = [\"rds_instance_storage_encrypt\"]\n\
             [[control]]\nid = \"1\"\ntitle = \"t\"\nsection = \"s\"\n"
        );
        let err = one(&text).unwrap_err();
        assert!(
            err.contains("unknown check `rds_instance_storage_encrypt`; did you mean `rds_instance_storage_encrypted`?"),
            "{err}"
        );
        assert!(err.contains("unknown fact `pci-3-5-2`"), "{err}");
        assert!(err.contains("listed twice"), "{err}");
        assert!(err.contains("needs `evidence`"), "{err}");
    }

    #[test]
    fn unknown_keys_and_wrong_ids_are_errors() {
        let err = one(&format!("{HEAD}frameworks = 1\n[[control]]\nid=\"1\"\ntitle=\"t\"\nsection=\"s\"\nevidence=\"e\"\n"))
            .unwrap_err();
        assert!(err.contains("unknown field `frameworks`"), "{err}");
        let err = from_files(&[(
            "frameworks/y.toml",
            &format!("{HEAD}[[control]]\nid=\"1\"\ntitle=\"t\"\nsection=\"s\"\nevidence=\"e\"\n"),
        )])
        .unwrap_err();
        assert!(err.contains("must equal the file name `y`"), "{err}");
    }
}
