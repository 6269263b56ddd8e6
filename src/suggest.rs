//! "Did you mean ...?" for unknown names typed by users or written in data files.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word_lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` or, with no close candidate, `; expected one of a, b, c`.
pub fn hint<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    match closest(word, candidates.clone()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            let all: Vec<&str> = candidates.into_iter().collect();
            if all.len() <= 12 {
                format!("expected one of: {}", all.join(", "))
            } else {
                let first: Vec<&str> = all.into_iter().take(12).collect();
                format!("expected one of: {}, ...", first.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let names = ["postgres", "mysql", "mariadb"];
        assert_eq!(closest("postgress", names), Some("postgres"));
        assert_eq!(closest("cassandra", names), None);
        assert_eq!(hint("mysq", names), "did you mean `mysql`?");
        assert_eq!(
            hint("zzz", names),
            "expected one of: postgres, mysql, mariadb"
        );
    }
}
