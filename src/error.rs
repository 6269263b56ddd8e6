//! What every library error offers the command line besides its message: a hint for the next step, and whether the
//! user's input was at fault. The message says what went wrong (lowercase, no final period, user input in
//! backticks, no line breaks); [`Help::help`] says what to do about it. Library messages and hints name no command
//! line flags: the CLI adds those.

/// The hint and the blame of an error, kept apart from its message.
pub trait Help: std::error::Error {
    /// The next step, printed by the CLI as `  help: ...` under the message.
    fn help(&self) -> Option<String> {
        None
    }

    /// True when the input was at fault (the CLI exits 2); false for a failure while running (exit 1).
    fn is_usage(&self) -> bool {
        false
    }
}
