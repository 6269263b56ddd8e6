//! Inline SVG charts and status badges: no script, no external image.

use std::fmt::Write as _;

use super::escape::esc;
use crate::audit::controls::ControlStatus;
use crate::model::{Severity, Status};

pub(super) const COLORS: [(ControlStatus, &str); 4] = [
    (ControlStatus::Pass, "#1a7f37"),
    (ControlStatus::Fail, "#cf222e"),
    (ControlStatus::Manual, "#8250df"),
    (ControlStatus::NotApplicable, "#8c959f"),
];

/// One bar of a chart: its label, then (value, colour, tooltip) segments.
pub(super) type Bar = (String, Vec<(usize, &'static str, String)>);

/// A horizontal stacked bar per row.
pub(super) fn bar_chart(title: &str, rows: &[Bar], legend: &[(&str, &str)]) -> String {
    let longest = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let (label_w, bar_w, row_h) = (longest * 7 + 16, 330usize, 26usize);
    let height = rows.len() * row_h + 34;
    let width = label_w + bar_w + 60;
    let max = rows
        .iter()
        .map(|(_, parts)| parts.iter().map(|p| p.0).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"12\" font-family=\"system-ui,sans-serif\">",
        esc(title),
        esc(title)
    );
    for (i, (label, parts)) in rows.iter().enumerate() {
        let y = i * row_h + 4;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#1f2328\">{}</text>",
            label_w - 8,
            y + 15,
            esc(label)
        );
        let mut x = label_w;
        let total: usize = parts.iter().map(|p| p.0).sum();
        for (value, color, tip) in parts {
            if *value == 0 {
                continue;
            }
            let w = (value * bar_w / max).max(2);
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"20\" fill=\"{color}\"><title>{}</title></rect>",
                esc(tip)
            );
            if w >= 18 {
                let _ = write!(
                    s,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#ffffff\">{value}</text>",
                    x + w / 2,
                    y + 14
                );
            }
            x += w;
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" fill=\"#59636e\">{total}</text>",
            x + 6,
            y + 15
        );
    }
    let mut lx = label_w;
    let ly = rows.len() * row_h + 14;
    for (name, color) in legend {
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{ly}\" width=\"12\" height=\"12\" fill=\"{color}\"></rect><text x=\"{}\" y=\"{}\" fill=\"#1f2328\">{}</text>",
            lx + 16,
            ly + 10,
            esc(name)
        );
        lx += 22 + name.len() * 7;
    }
    s.push_str("</svg></figure>");
    s
}

pub(super) fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge {}\">{}</span>", esc(class), esc(text))
}

pub(super) fn status_badge(s: ControlStatus) -> String {
    let label = match s {
        ControlStatus::Pass => "PASS",
        ControlStatus::Fail => "FAIL",
        ControlStatus::Manual => "MANUAL",
        ControlStatus::NotApplicable => "N/A",
    };
    badge(s.as_str(), label)
}

pub(super) fn finding_badge(s: Status) -> String {
    status_badge(match s {
        Status::Pass => ControlStatus::Pass,
        Status::Fail => ControlStatus::Fail,
        Status::NotApplicable => ControlStatus::NotApplicable,
    })
}

pub(super) fn severity_badge(s: Severity) -> String {
    badge(&format!("sev-{}", s.as_str()), s.as_str())
}
