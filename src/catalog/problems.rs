//! Problems found in the decision files, collected rather than stopping at the first, each naming its file.

use std::fmt;

/// One problem in one decision file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Relative to `decision/`; empty for the catalog as a whole.
    pub path: String,
    pub message: String,
    /// The fix, e.g. `did you mean `x`?`.
    pub help: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "decision/{}: {}", self.path, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

/// Collects problems as they are found.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.to_string(),
            message: message.into(),
            help: None,
        });
    }

    pub fn add_with_help(&mut self, path: &str, message: impl Into<String>, help: String) {
        self.0.push(Problem {
            path: path.to_string(),
            message: message.into(),
            help: Some(help),
        });
    }

    /// The one rule every decision file with an id follows: the id is the file name.
    pub fn expect_id_is_file_name(&mut self, path: &str, id: &str) {
        let stem = stem(path);
        if id != stem {
            self.add(path, format!("id `{id}` must equal the file name `{stem}`"));
        }
    }

    /// Parses one TOML file, recording a parse error as a problem.
    pub fn parse<T: serde::de::DeserializeOwned>(&mut self, path: &str, text: &str) -> Option<T> {
        match toml::from_str(text) {
            Ok(value) => Some(value),
            Err(e) => {
                self.add(path, e.to_string().trim());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `rules/x.toml` -> `x`.
pub fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".toml").unwrap_or(name)
}
