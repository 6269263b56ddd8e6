//! The findings as OCSF 1.6.0 Detection Findings (class 2004), one event per finding, as one JSON array. The field
//! mapping is documented in docs/output-formats.md.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use super::{AuditView, short_resource};
use crate::audit::controls::controls_by_check;
use crate::audit::report::Report;
use crate::catalog::checks::CheckMeta;
use crate::catalog::frameworks::Framework;
use crate::digest::sha256_hex;
use crate::model::{Finding, Severity, Status};

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.6.0";
pub const CLASS_UID: u32 = 2004;
pub const CATEGORY_UID: u32 = 2;
/// Activity 1: Create.
pub const ACTIVITY_ID: u32 = 1;

pub fn render(view: &AuditView<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let events = events(
        view.report,
        &view.catalog.checks,
        &view.catalog.frameworks,
        &view.provenance.built,
    );
    serde_json::to_writer_pretty(&mut *out, &events).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// OCSF `severity_id`: 1 Informational .. 5 Critical.
pub fn severity_id(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// A finding's stable id: the same check, account, region and resource give the same id in every run, so a SIEM
/// can follow one finding over time.
pub fn finding_uid(account: Option<&str>, f: &Finding) -> String {
    let key = format!(
        "{}\n{}\n{}\n{}",
        account.unwrap_or(""),
        f.check,
        f.region,
        f.resource
    );
    format!("atrest-{}-{}", f.check, &sha256_hex(key.as_bytes())[..24])
}

/// The events; `built` (when the output is written) is the event time of a report that recorded no audit time.
pub fn events(
    report: &Report,
    metas: &[CheckMeta],
    frameworks: &[Framework],
    built: &str,
) -> Vec<Value> {
    let metas: BTreeMap<&str, &CheckMeta> = metas.iter().map(|m| (m.id.as_str(), m)).collect();
    let mapped = controls_by_check(frameworks);
    let time = parse_rfc3339_millis(&report.finished)
        .or_else(|| parse_rfc3339_millis(&report.started))
        .or_else(|| parse_rfc3339_millis(built))
        .unwrap_or(0);
    let version = env!("CARGO_PKG_VERSION");
    report
        .findings
        .iter()
        .map(|f| {
            let meta = metas.get(f.check.as_str());
            let (sev_id, sev) = severity_id(f.severity);
            let status_code = match f.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::NotApplicable => "NOT_APPLICABLE",
            };
            let mut compliance: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (framework, control) in mapped.get(&f.check).into_iter().flatten() {
                compliance
                    .entry(framework.clone())
                    .or_default()
                    .push(control.clone());
            }
            let partition = f.resource.split(':').nth(1).unwrap_or("aws");
            let mut cloud = json!({
                "provider": "AWS",
                "region": f.region,
                "cloud_partition": partition,
            });
            // The finding's own account in an audit of several accounts, else the report's. The name is the
            // Organizations name or IAM alias; an account with neither is named by its id, since consumers of OCSF
            // (Prowler's models among them) require a name. Left out when the account is unknown.
            let account = f.account.as_deref().or(report.account.as_deref());
            if let Some(a) = account
                && let Some(cloud) = cloud.as_object_mut()
            {
                let name = match &f.account {
                    Some(_) => f.account_name.as_deref(),
                    None => report.account_name.as_deref(),
                }
                .unwrap_or(a);
                cloud.insert(
                    "account".into(),
                    json!({ "uid": a, "name": name, "type": "AWS Account", "type_id": 10 }),
                );
            }
            let mut event = json!({
                "activity_id": ACTIVITY_ID,
                "activity_name": "Create",
                "category_uid": CATEGORY_UID,
                "category_name": "Findings",
                "class_uid": CLASS_UID,
                "class_name": "Detection Finding",
                "type_uid": CLASS_UID * 100 + ACTIVITY_ID,
                "type_name": "Detection Finding: Create",
                "time": time,
                "severity_id": sev_id,
                "severity": sev,
                "status_id": 1,
                "status": "New",
                "status_code": status_code,
                "status_detail": f.message,
                "is_alert": f.status == Status::Fail,
                "message": f.message,
                "metadata": {
                    "version": OCSF_VERSION,
                    "product": {
                        "name": "atrest",
                        "uid": "atrest",
                        "vendor_name": "atrest",
                        "version": version,
                    },
                    "event_code": f.check,
                    "profiles": ["cloud"],
                },
                "finding_info": {
                    "uid": finding_uid(account, f),
                    "title": meta.map(|m| m.title.as_str()).unwrap_or(f.check.as_str()),
                    "desc": meta.map(|m| m.risk.as_str()).unwrap_or(""),
                    "types": ["Encryption at rest"],
                    "created_time": time,
                    "analytic": {
                        "uid": f.check,
                        "name": f.check,
                        "type_id": 1,
                        "type": "Rule",
                    },
                },
                "cloud": cloud,
                "resources": [{
                    "uid": f.resource,
                    "name": short_resource(&f.resource),
                    "type": meta.map(|m| m.resource_type.as_str()).unwrap_or(""),
                    "region": f.region,
                    "cloud_partition": partition,
                }],
                "unmapped": {
                    "atrest": {
                        "check": f.check,
                        "status": f.status.as_str(),
                        "compliance": compliance,
                    }
                },
            });
            if let Some(m) = meta
                && let Some(event) = event.as_object_mut()
            {
                event.insert("remediation".into(), json!({ "desc": m.remediation }));
            }
            event
        })
        .collect()
}

/// Milliseconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SSZ` (fractions and offsets accepted).
pub fn parse_rfc3339_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { text.get(r)?.parse().ok() };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        let ms: String = digits.chars().chain("000".chars()).take(3).collect();
        millis = ms.parse().ok()?;
        rest = &frac[digits.len()..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let h: i64 = o.get(1..3)?.parse().ok()?;
            let mi: i64 = o.get(4..6)?.parse().ok()?;
            let s = h * 3600 + mi * 60;
            if o.starts_with('-') { -s } else { s }
        }
        _ => return None,
    };
    let days = days_from_civil(y, m, d);
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss - offset_secs) * 1000 + millis)
}

/// Proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_millis("2026-11-20T10:00:00Z"),
            Some(1_795_168_800_000)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-20T11:00:00.250+01:00"),
            Some(1_795_168_800_250)
        );
        assert_eq!(
            parse_rfc3339_millis("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "",
            "2026-11-20",
            "2026-13-01T00:00:00Z",
            "2026-11-20T10:00:00",
        ] {
            assert_eq!(parse_rfc3339_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn clock_round_trip() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_168_800);
        let text = crate::audit::clock::rfc3339(t);
        assert_eq!(parse_rfc3339_millis(&text), Some(1_795_168_800_000));
    }
}
