//! Terminal tables (tabled) and Markdown tables from plain rows, shared by every report writer.

use tabled::builder::Builder;
use tabled::settings::Style;

/// Makes text safe to print on a terminal: control characters (an escape sequence in a tag value, say) are shown
/// escaped instead of being interpreted; newlines are kept.
pub fn printable(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

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
            let cell = printable(cell);
            match wrap_columns.iter().find(|(column, _)| *column == i) {
                Some(&(_, width)) => wrap(&cell, width),
                None => cell,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_interpreted() {
        assert_eq!(printable("db\u{1b}[31mred"), "db\\u{1b}[31mred");
        assert_eq!(printable("two\nlines"), "two\nlines");
        let t = text(&["name"], &[vec!["x\u{7}y".to_string()]], &[]);
        assert!(!t.contains('\u{7}'));
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        assert_eq!(wrap("a bb ccc dddd", 6), "a bb\nccc\ndddd");
    }
}
