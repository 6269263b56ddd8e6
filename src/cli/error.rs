//! How a failed command ends: `error: <message>` on stderr, then `  help: <hint>` when there is one, and the exit
//! code of its kind. Library errors convert through [`Help`]; the CLI adds flag-specific hints with
//! [`CliError::with_help`].

use crate::error::Help;

/// Who is at fault, which picks the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input from the user: exit 2.
    Usage,
    /// A failure while running: exit 1.
    Failure,
}

/// A failure that stops a command.
#[derive(Debug)]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
    pub help: Option<String>,
    /// The reader went away (`atrest ... | head`): not an error.
    pub broken_pipe: bool,
}

impl CliError {
    /// Bad input from the user (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            kind: ErrorKind::Usage,
            message: message.into(),
            help: None,
            broken_pipe: false,
        }
    }

    /// A failure while running (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            kind: ErrorKind::Failure,
            message: message.into(),
            help: None,
            broken_pipe: false,
        }
    }

    /// Replaces the hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Keeps the library's hint, or sets this one where it had none.
    pub fn or_help(mut self, help: impl Into<String>) -> Self {
        if self.help.is_none() {
            self.help = Some(help.into());
        }
        self
    }

    /// The same error, blamed on the input (exit 2): e.g. a check made before any work starts.
    pub fn as_usage(mut self) -> Self {
        self.kind = ErrorKind::Usage;
        self
    }

    /// The same error, as a failure while running (exit 1): e.g. embedded data that does not load.
    pub fn as_failure(mut self) -> Self {
        self.kind = ErrorKind::Failure;
        self
    }

    pub fn code(&self) -> u8 {
        match self.kind {
            ErrorKind::Usage => 2,
            ErrorKind::Failure => 1,
        }
    }

    /// The lines printed on stderr: `error: ...` and, with a hint, `  help: ...`.
    pub fn render(&self) -> String {
        match &self.help {
            Some(help) => format!("error: {}\n  help: {help}", self.message),
            None => format!("error: {}", self.message),
        }
    }
}

impl<E: Help + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError {
            broken_pipe: is_broken_pipe(&e),
            kind: if e.is_usage() {
                ErrorKind::Usage
            } else {
                ErrorKind::Failure
            },
            message: e.to_string(),
            help: e.help(),
        }
    }
}

impl Help for std::io::Error {}

/// Whether `e` or anything in its cause chain is a broken pipe.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cause = c.source();
    }
    false
}
