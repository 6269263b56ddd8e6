//! Escaping for the page: everything from the inventory (names, tags, messages) is attacker-controllable.

use std::fmt::Write as _;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => s.push('\u{fffd}'),
            c => s.push(c),
        }
    }
    s
}

/// Escapes `text` and turns `backtick` spans (as messages and the decision data write them) into `<code>`.
pub(super) fn rich(text: &str) -> String {
    let escaped = esc(text);
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len() < 3 {
        return escaped;
    }
    let mut s = String::with_capacity(escaped.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 && i + 1 < parts.len() {
            let _ = write!(s, "<code>{part}</code>");
        } else {
            if i % 2 == 1 {
                s.push('`');
            }
            s.push_str(part);
        }
    }
    s
}

/// An id usable in `id=` and `href="#..."`: lowercase ASCII letters, digits and `-`.
pub(super) fn slug(parts: &[&str]) -> String {
    let mut s = String::new();
    for part in parts {
        if !s.is_empty() {
            s.push('-');
        }
        let mut dash = false;
        for c in part.chars() {
            if c.is_ascii_alphanumeric() {
                s.push(c.to_ascii_lowercase());
                dash = false;
            } else if !dash {
                s.push('-');
                dash = true;
            }
        }
        while s.ends_with('-') {
            s.pop();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_slugs() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
        assert_eq!(
            slug(&["c", "hipaa", "164.312(a)(2)(iv)"]),
            "c-hipaa-164-312-a-2-iv"
        );
        assert_eq!(
            slug(&["r", "arn:aws:rds:eu-west-1:1:db:<x>"]),
            "r-arn-aws-rds-eu-west-1-1-db-x"
        );
    }
}
