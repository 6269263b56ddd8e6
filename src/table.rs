//! Terminal tables (tabled) and Markdown tables from plain rows, shared by every report writer.

use tabled::builder::Builder;
use tabled::settings::Style;

/// Wraps each line of `text` at word boundaries to at most `width` columns (longer words stay whole).
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut current = String::new();
        for word in line.split_whitespace() {
            if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(current);
    }
    out.join("\n")
}

/// A terminal table; columns listed in `wrap` are wrapped at word boundaries to the given width.
pub fn text(headers: &[&str], rows: &[Vec<String>], wrap_columns: &[(usize, usize)]) -> String {
    let mut builder = Builder::default();
    builder.push_record(headers.iter().map(|h| h.to_string()));
    for row in rows {
        builder.push_record(row.iter().enumerate().map(|(i, cell)| {
            match wrap_columns.iter().find(|(column, _)| *column == i) {
                Some(&(_, width)) => wrap(cell, width),
                None => cell.clone(),
            }
        }));
    }
    let mut table = builder.build();
    table.with(Style::sharp());
    table.to_string()
}

/// A GitHub-flavoured Markdown table; pipes and newlines inside cells are escaped.
pub fn markdown(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', "<br>");
    let mut out = format!(
        "| {} |\n|{}|\n",
        headers.join(" | "),
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        out.push_str(&format!(
            "| {} |\n",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}
