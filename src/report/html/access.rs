//! The page's access section: for each database, the key behind it and who can use that key.

use std::fmt::Write as _;

use super::escape::esc;
use crate::audit::access::AccessReport;
use crate::report::access::{HEADERS, database_line, database_rows, key_rows};

pub(super) fn access(report: Option<&AccessReport>, h: &mut String) {
    let Some(r) = report else {
        return;
    };
    h.push_str("<section id=\"access\">\n<h2>Who can use each database's key</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"sub\">Every principal and action that can reach the key (from the key policy, grants, IAM policies, permissions boundaries, SCPs and RCPs). Inputs: IAM policies {}, SCPs {}, RCPs {}. What was not collected makes a verdict unknown, never allowed or denied.</p>",
        esc(r.inputs.iam),
        esc(r.inputs.scps),
        esc(r.inputs.rcps)
    );
    if r.databases.is_empty() {
        h.push_str("<p>No database was found.</p>\n</section>\n");
        return;
    }
    for d in &r.databases {
        let _ = writeln!(h, "<h3>{}</h3>", esc(&database_line(r, d)));
        let Some(key) = database_rows(r, d) else {
            continue;
        };
        let rows = key_rows(key);
        if rows.is_empty() {
            h.push_str("<p>No principal can use the key.</p>\n");
            continue;
        }
        h.push_str("<table class=\"access\"><tr>");
        for name in HEADERS {
            let _ = write!(h, "<th>{name}</th>");
        }
        h.push_str("</tr>\n");
        for row in rows {
            h.push_str("<tr>");
            for cell in row {
                let _ = write!(h, "<td>{}</td>", esc(&cell));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n");
}
