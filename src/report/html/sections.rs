//! The page's sections, in the order `render_page` writes them: head, provenance, at a glance, one per framework,
//! databases, resources, API errors, attachments.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::chart::{Bar, COLORS, badge, bar_chart, finding_badge, severity_badge, status_badge};
use super::escape::{esc, rich, slug};
use super::{AuditView, STYLE, csp, evidence_line, short_resource};
use crate::audit::classify::Placement;
use crate::audit::controls::{ControlResult, ControlStatus, FrameworkResult, ResourceResult};
use crate::model::{Severity, Status};

/// The seven options as (number, title), from the catalog.
fn options<'a>(page: &AuditView<'a>) -> Vec<(u8, &'a str)> {
    page.catalog
        .numbered_options()
        .filter_map(|o| o.file.number.map(|n| (n, o.file.title.as_str())))
        .collect()
}

pub(super) fn head(page: &AuditView<'_>, h: &mut String) {
    let account = page
        .provenance
        .account
        .as_deref()
        .unwrap_or("(unknown account)");
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Encryption at rest: compliance evidence for account {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        csp(),
        esc(account)
    );
}

/// The account, or how many accounts an audit of several read.
fn account_label(page: &AuditView<'_>) -> String {
    match page.report.accounts.len() {
        0 => page
            .provenance
            .account
            .clone()
            .unwrap_or_else(|| "(unknown)".into()),
        n => format!("{n} accounts"),
    }
}

/// An audit of several accounts: each account with its coverage and counts.
pub(super) fn accounts(page: &AuditView<'_>, h: &mut String) {
    let r = page.report;
    if r.accounts.is_empty() {
        return;
    }
    h.push_str("<section id=\"accounts\">\n<h2>Accounts</h2>\n<p class=\"sub\">An account that is <b>partial</b> or <b>unread</b> was not fully read: what is missing is unknown, not safe.</p>\n<table><tr><th>account</th><th>name</th><th>coverage</th><th class=\"num\">databases</th><th class=\"num\">pass</th><th class=\"num\">fail</th><th class=\"num\">API errors</th></tr>\n");
    for a in &r.accounts {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&a.id),
            esc(a.name.as_deref().unwrap_or("")),
            esc(&a.coverage),
            a.databases,
            a.pass,
            a.fail,
            a.errors
        );
    }
    h.push_str("</table>\n</section>\n");
}

pub(super) fn provenance(page: &AuditView<'_>, h: &mut String) {
    let i = page.provenance;
    let _ = write!(
        h,
        "<header>\n<h1>Encryption at rest: compliance evidence</h1>\n<p class=\"sub\">Account {} &middot; {} region(s) &middot; read {}</p>\n<dl class=\"meta\">\n",
        esc(&account_label(page)),
        i.regions.len(),
        esc(&i.finished)
    );
    let frameworks: Vec<String> = i
        .frameworks
        .iter()
        .map(|f| format!("{} {}", f.name, f.version))
        .collect();
    let rows: [(&str, String); 11] = [
        ("Tool", format!("{} {}", i.tool, i.tool_version)),
        ("Catalog version", i.catalog_version.clone()),
        ("Account", account_label(page)),
        (
            "Caller",
            i.caller_arn
                .clone()
                .unwrap_or_else(|| "(not recorded)".into()),
        ),
        ("Partition", i.partition.clone()),
        ("Regions", i.regions.join(", ")),
        (
            "Source",
            if i.source == "inventory" {
                "a saved inventory".to_string()
            } else {
                "read from AWS".to_string()
            },
        ),
        ("Audit started", i.started.clone()),
        ("Audit finished", i.finished.clone()),
        ("Report written", i.built.clone()),
        ("Frameworks", frameworks.join("; ")),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    h.push_str("</dl>\n<nav><a href=\"#glance\">At a glance</a>");
    for fw in &page.controls.frameworks {
        let _ = write!(
            h,
            "<a href=\"#{}\">{}</a>",
            slug(&["fw", &fw.id]),
            esc(&fw.name)
        );
    }
    if !page.report.accounts.is_empty() {
        h.push_str("<a href=\"#accounts\">Accounts</a>");
    }
    h.push_str("<a href=\"#databases\">Databases</a>");
    if page.access.is_some() {
        h.push_str("<a href=\"#access\">Access</a>");
    }
    h.push_str(
        "<a href=\"#resources\">Resources</a><a href=\"#errors\">API errors</a><a href=\"#attachments\">Attachments</a></nav>\n</header>\n<main>\n",
    );
}

pub(super) fn glance(page: &AuditView<'_>, h: &mut String) {
    let r = page.report;
    let s = &r.summary;
    h.push_str("<section id=\"glance\">\n<h2>At a glance</h2>\n<div class=\"cards\">");
    let fails: usize = page
        .controls
        .frameworks
        .iter()
        .map(|f| f.summary.fail)
        .sum();
    for (label, value) in [
        ("databases", r.databases.len().to_string()),
        ("failing controls", fails.to_string()),
        ("findings failed", s.fail.to_string()),
        ("findings passed", s.pass.to_string()),
        ("not applicable", s.not_applicable.to_string()),
        ("API errors", s.errors.to_string()),
    ] {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{}</b>{}</div>",
            esc(&value),
            esc(label)
        );
    }
    h.push_str("</div>\n<div class=\"charts\">\n");

    let rows: Vec<Bar> = page
        .controls
        .frameworks
        .iter()
        .map(|fw| {
            let parts = COLORS
                .iter()
                .map(|(st, color)| {
                    let n = fw.summary.get(*st);
                    (
                        n,
                        *color,
                        format!("{}: {n} control(s) {}", fw.name, st.as_str()),
                    )
                })
                .collect();
            (format!("{} {}", fw.name, fw.version), parts)
        })
        .collect();
    h.push_str(&bar_chart(
        "Controls by framework",
        &rows,
        &[
            ("pass", COLORS[0].1),
            ("fail", COLORS[1].1),
            ("manual", COLORS[2].1),
            ("n/a", COLORS[3].1),
        ],
    ));

    let sev_color = |s: Severity| match s {
        Severity::Critical => "#82071e",
        Severity::High => "#cf222e",
        Severity::Medium => "#bc4c00",
        Severity::Low => "#9a6700",
        Severity::Informational => "#57606a",
    };
    let mut by_sev: BTreeMap<Severity, (usize, usize)> = BTreeMap::new();
    for f in &r.findings {
        let e = by_sev.entry(f.severity).or_default();
        match f.status {
            Status::Pass => e.0 += 1,
            Status::Fail => e.1 += 1,
            Status::NotApplicable => {}
        }
    }
    let rows: Vec<Bar> = Severity::ALL
        .iter()
        .rev()
        .map(|sev| {
            let (pass, fail) = by_sev.get(sev).copied().unwrap_or_default();
            (
                sev.as_str().to_string(),
                vec![
                    (
                        fail,
                        sev_color(*sev),
                        format!("{fail} {sev} finding(s) failed"),
                    ),
                    (pass, COLORS[0].1, format!("{pass} {sev} finding(s) passed")),
                ],
            )
        })
        .collect();
    h.push_str(&bar_chart(
        "Findings by severity (failed, then passed)",
        &rows,
        &[
            ("failed (severity colour)", "#cf222e"),
            ("passed", COLORS[0].1),
        ],
    ));

    let mut rows: Vec<Bar> = options(page)
        .into_iter()
        .map(|(n, title)| {
            let count = s
                .databases_by_option
                .get(&n.to_string())
                .copied()
                .unwrap_or(0);
            (
                format!("{n}: {}", short_option(title)),
                vec![(count, "#0969da", format!("option {n}: {count} database(s)"))],
            )
        })
        .collect();
    for (label, color) in [("unencrypted", "#cf222e"), ("undetermined", "#8c959f")] {
        let count = s.databases_by_option.get(label).copied().unwrap_or(0);
        rows.push((
            label.to_string(),
            vec![(count, color, format!("{label}: {count} database(s)"))],
        ));
    }
    h.push_str(&bar_chart("Databases by encryption option", &rows, &[]));
    h.push_str("</div>\n");

    h.push_str("<table><tr><th>framework</th><th class=\"num\">pass</th><th class=\"num\">fail</th><th class=\"num\">manual</th><th class=\"num\">n/a</th><th>failing controls</th></tr>\n");
    for fw in &page.controls.frameworks {
        let failing: Vec<String> = fw
            .controls
            .iter()
            .filter(|c| c.status == ControlStatus::Fail)
            .map(|c| {
                format!(
                    "<a href=\"#{}\">{}</a>",
                    slug(&["c", &fw.id, &c.id]),
                    esc(&c.id)
                )
            })
            .collect();
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{}\">{} {}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            slug(&["fw", &fw.id]),
            esc(&fw.name),
            esc(&fw.version),
            fw.summary.pass,
            fw.summary.fail,
            fw.summary.manual,
            fw.summary.not_applicable,
            if failing.is_empty() {
                "none".to_string()
            } else {
                failing.join(", ")
            }
        );
    }
    h.push_str("</table>\n</section>\n");
}

fn short_option(title: &str) -> String {
    title
        .replace("storage encryption", "storage")
        .replace("KMS custom key store", "custom key store")
        .replace(" (standard key store)", "")
        .replace(" (OS-level encryption)", "")
}

pub(super) fn framework(page: &AuditView<'_>, fw: &FrameworkResult, h: &mut String) {
    let _ = write!(
        h,
        "<section id=\"{}\">\n<h2>{} {}</h2>\n<p class=\"sub\">Source: <span class=\"mono\">{}</span> &middot; {} control(s): {} pass, {} fail, {} manual, {} not applicable</p>\n",
        slug(&["fw", &fw.id]),
        esc(&fw.name),
        esc(&fw.version),
        esc(&fw.source),
        fw.summary.total(),
        fw.summary.pass,
        fw.summary.fail,
        fw.summary.manual,
        fw.summary.not_applicable
    );
    h.push_str("<table><tr><th>control</th><th>title</th><th>status</th><th>checks</th><th class=\"num\">resources failed / judged</th></tr>\n");
    for c in &fw.controls {
        let failed: usize = c.checks.iter().map(|k| k.fail).sum();
        let judged: usize = c.checks.iter().map(|k| k.fail + k.pass).sum();
        let checks: Vec<String> = c
            .checks
            .iter()
            .map(|k| format!("<code>{}</code>", esc(&k.check)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            slug(&["c", &fw.id, &c.id]),
            esc(&c.id),
            esc(&c.title),
            status_badge(c.status),
            if checks.is_empty() {
                "manual evidence".to_string()
            } else {
                checks.join("<br>")
            },
            if c.checks.is_empty() {
                "&mdash;".to_string()
            } else {
                format!("{failed} / {judged}")
            }
        );
    }
    h.push_str("</table>\n");
    for c in &fw.controls {
        control(page, &fw.id, &fw.name, c, h);
    }
    h.push_str("</section>\n");
}

fn control(page: &AuditView<'_>, fw_id: &str, fw_name: &str, c: &ControlResult, h: &mut String) {
    let _ = write!(
        h,
        "<div class=\"control st-{}\" id=\"{}\">\n<h3>{} {} {}</h3>\n<p class=\"note\">{}</p>\n<p><b>{}</b></p>\n<p>{}</p>\n",
        c.status.as_str(),
        slug(&["c", fw_id, &c.id]),
        esc(fw_name),
        esc(&c.id),
        status_badge(c.status),
        esc(&c.section),
        esc(&c.title),
        rich(&c.explanation())
    );
    if let Some(note) = &c.note {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", rich(note));
    }
    if let Some(evidence) = &c.evidence {
        let _ = write!(
            h,
            "<div class=\"evidence\"><p><b>Evidence to attach:</b> {}</p>",
            rich(evidence)
        );
        if c.attachments.is_empty() {
            h.push_str("<p>Attached: none in this bundle.</p>");
        } else {
            let names: Vec<String> = c
                .attachments
                .iter()
                .map(|a| format!("<a href=\"#attachments\"><code>{}</code></a>", esc(a)))
                .collect();
            let _ = write!(h, "<p>Attached: {}</p>", names.join(", "));
        }
        h.push_str("</div>\n");
    }
    if !c.facts.is_empty() {
        let facts: Vec<String> = c
            .facts
            .iter()
            .map(|f| format!("<code>{}</code>", esc(f)))
            .collect();
        let _ = writeln!(
            h,
            "<p class=\"note\">Facts (see <code>atrest explain ID</code>): {}</p>",
            facts.join(", ")
        );
    }
    for k in &c.checks {
        let _ = writeln!(
            h,
            "<h4>{} <code>{}</code> {} {} &middot; {} failed, {} passed, {} not applicable</h4>",
            esc(&k.title),
            esc(&k.check),
            severity_badge(k.severity),
            status_badge(k.status),
            k.fail,
            k.pass,
            k.not_applicable
        );
        let failed: Vec<_> = k
            .resources
            .iter()
            .filter(|r| r.status == Status::Fail)
            .collect();
        let other: Vec<_> = k
            .resources
            .iter()
            .filter(|r| r.status != Status::Fail)
            .collect();
        if !failed.is_empty() {
            resource_table(&failed, h);
        }
        if !other.is_empty() {
            // Few rows are shown open; long lists fold so that failures stay visible.
            let open = if other.len() <= 12 || !page.in_bundle && other.len() <= 25 {
                " open"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<details{open}><summary>{} passed or not applicable</summary>",
                other.len()
            );
            resource_table(&other, h);
            h.push_str("</details>\n");
        }
        if k.resources.is_empty() {
            h.push_str("<p class=\"note\">No resource in scope.</p>\n");
        }
    }
    h.push_str("</div>\n");
}

fn resource_table(rows: &[&ResourceResult], h: &mut String) {
    h.push_str("<table><tr><th>status</th><th>resource</th><th>region</th><th>why</th></tr>\n");
    for r in rows {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><a href=\"#{}\"><code>{}</code></a></td><td>{}</td><td>{}</td></tr>",
            finding_badge(r.status),
            slug(&["r", &r.resource]),
            esc(&r.resource),
            esc(&r.region),
            rich(&r.message)
        );
    }
    h.push_str("</table>\n");
}

pub(super) fn databases(page: &AuditView<'_>, h: &mut String) {
    let r = page.report;
    h.push_str("<section id=\"databases\">\n<h2>Databases and their encryption option</h2>\n");
    h.push_str("<p class=\"sub\">Every RDS instance that owns its storage, DB cluster and tagged EC2 database host, placed on one of the seven options.</p>\n");
    h.push_str("<table><tr><th>#</th><th>option</th><th class=\"num\">databases</th></tr>\n");
    for (n, title) in options(page) {
        let count = r
            .summary
            .databases_by_option
            .get(&n.to_string())
            .copied()
            .unwrap_or(0);
        let _ = writeln!(
            h,
            "<tr><td>{n}</td><td>{}</td><td class=\"num\">{count}</td></tr>",
            esc(title)
        );
    }
    for label in ["unencrypted", "undetermined"] {
        let count = r
            .summary
            .databases_by_option
            .get(label)
            .copied()
            .unwrap_or(0);
        let _ = writeln!(
            h,
            "<tr><td></td><td>{label}</td><td class=\"num\">{count}</td></tr>"
        );
    }
    h.push_str("</table>\n");
    if r.databases.is_empty() {
        h.push_str("<p>No database was found.</p>\n</section>\n");
        return;
    }
    h.push_str("<table class=\"dbs\"><tr><th>database</th><th>option</th><th>evidence</th><th>reasons</th><th>failed checks (the database, its volumes and keys)</th></tr>\n");
    for d in &r.databases {
        let option = match d.option {
            Placement::Option(n) => badge(
                "opt",
                &format!("{n}: {}", d.option_title.as_deref().unwrap_or("")),
            ),
            Placement::Unencrypted => badge("opt-unencrypted", "unencrypted"),
            Placement::Undetermined => badge("opt-undetermined", "undetermined"),
        };
        let reasons: Vec<String> = d
            .reasons
            .iter()
            .map(|x| format!("<code>{}</code>: {}", esc(&x.rule), rich(&x.text)))
            .collect();
        let fails: Vec<String> = r
            .failures_for(d)
            .iter()
            .map(|f| {
                format!(
                    "{} <code>{}</code> on <a href=\"#{}\"><code>{}</code></a>",
                    severity_badge(f.severity),
                    esc(&f.check),
                    slug(&["r", &f.resource]),
                    esc(short_resource(&f.resource))
                )
            })
            .collect();
        let account = match (&d.account, &d.account_name) {
            (Some(id), Some(name)) => format!("account {} ({})<br>", esc(id), esc(name)),
            (Some(id), None) => format!("account {}<br>", esc(id)),
            _ => String::new(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{account}<a href=\"#{}\"><b>{}</b></a><br>{} &middot; {} &middot; {}<br><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            slug(&["r", &d.resource]),
            esc(&d.id),
            esc(d.kind.as_str()),
            esc(d.engine.as_deref().unwrap_or("engine not reported")),
            esc(&d.region),
            esc(&d.resource),
            option,
            esc(&evidence_line(d)),
            reasons.join("<br>"),
            if fails.is_empty() {
                "none".to_string()
            } else {
                fails.join("<br>")
            }
        );
    }
    h.push_str("</table>\n</section>\n");
}

pub(super) fn resources(page: &AuditView<'_>, h: &mut String) {
    let r = page.report;
    let mut by_resource: BTreeMap<&str, Vec<&crate::model::Finding>> = BTreeMap::new();
    for f in &r.findings {
        by_resource.entry(f.resource.as_str()).or_default().push(f);
    }
    let _ = writeln!(
        h,
        "<section id=\"resources\">\n<h2>Resources</h2>\n<p class=\"sub\">{} resource(s) with findings; failed first.</p>",
        by_resource.len()
    );
    let mut ordered: Vec<(&str, Vec<&crate::model::Finding>)> = by_resource.into_iter().collect();
    ordered.sort_by_key(|(res, fs)| (!fs.iter().any(|f| f.status == Status::Fail), *res));
    for (resource, findings) in ordered {
        let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
        let _ = write!(
            h,
            "<h4 id=\"{}\">{} <code>{}</code> {}</h4>\n<table><tr><th>status</th><th>severity</th><th>check</th><th>region</th><th>message</th></tr>\n",
            slug(&["r", resource]),
            esc(short_resource(resource)),
            esc(resource),
            if failed > 0 {
                finding_badge(Status::Fail)
            } else {
                finding_badge(Status::Pass)
            }
        );
        for f in findings {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                finding_badge(f.status),
                severity_badge(f.severity),
                esc(&f.check),
                esc(&f.region),
                rich(&f.message)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n");
}

pub(super) fn errors(page: &AuditView<'_>, h: &mut String) {
    let r = page.report;
    h.push_str("<section id=\"errors\">\n<h2>API errors</h2>\n");
    if r.errors.is_empty() {
        h.push_str("<p>None: every call answered.</p>\n</section>\n");
        return;
    }
    h.push_str("<p class=\"sub\">The audit went on without these calls; what they would have read is missing from this report.</p>\n<table><tr><th>account</th><th>region</th><th>service</th><th>operation</th><th>message</th></tr>\n");
    for e in &r.errors {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(e.account.as_deref().or(r.account.as_deref()).unwrap_or("")),
            esc(&e.region),
            esc(&e.service),
            esc(&e.operation),
            esc(&e.message)
        );
    }
    h.push_str("</table>\n</section>\n");
}

pub(super) fn attachments(page: &AuditView<'_>, h: &mut String) {
    h.push_str("<section id=\"attachments\">\n<h2>Attachments</h2>\n");
    if page.attachments.is_empty() {
        h.push_str("<p>None. Manual controls name the evidence to attach with <code>atrest evidence build --attach FILE</code>.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<table><tr><th>file</th><th>kind</th><th>attached from</th><th>SHA-256</th></tr>\n",
    );
    for a in page.attachments {
        let from = match &a.derived {
            Some(d) => format!("{} ({})", a.original_name, d),
            None => a.original_name.clone(),
        };
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&a.path),
            esc(a.kind.as_str()),
            esc(&from),
            esc(&a.sha256)
        );
    }
    h.push_str("</table>\n</section>\n");
}
