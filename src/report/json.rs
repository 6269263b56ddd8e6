//! The report as one JSON document (pretty-printed, newline-terminated).

use std::io::Write;

use crate::audit::report::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}
