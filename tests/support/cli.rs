//! One-liners for driving the binary, and the house style of its error output.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{atrest, run, stderr, stdout};

/// Runs `atrest ARGS` with no standard input.
pub fn cmd(args: &[&str]) -> Output {
    run(atrest().args(args).stdin(Stdio::null()))
}

/// Runs `cmd` with `input` on its standard input (written from a thread, so a large input cannot dead-lock).
pub fn run_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// A path as a command-line argument.
pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Standard output parsed as JSON.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Asserts exit `code` and an error in the house style: standard error is `error: <message>` and, on the next line,
/// `  help: <hint>`; the message starts lowercase, has no final period and no line break. `needle` is looked for in
/// the two lines together, so it may span the message and the hint (`"message\n  help: hint"`).
pub fn assert_error_style(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    let mut lines = err.lines();
    let line = lines.next().unwrap_or_default();
    let message = line
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("no `error: ` prefix: {err}"));
    assert!(
        message.chars().next().is_some_and(|c| !c.is_uppercase()),
        "starts uppercase: {message}"
    );
    assert!(!message.ends_with('.'), "ends with a period: {message}");
    let help = lines
        .next()
        .and_then(|l| l.strip_prefix("  help: "))
        .unwrap_or_else(|| panic!("no `  help: ` line: {err}"));
    assert!(!help.is_empty(), "empty hint: {err}");
    let both = format!("{message}\n  help: {help}");
    assert!(both.contains(needle), "`{needle}` not in: {both}");
}

/// The same, and the message quotes the user's input (a flag, path or value) in backticks.
pub fn assert_error_quoting(out: &Output, code: i32, needle: &str) {
    assert_error_style(out, code, needle);
    assert!(stderr(out).contains('`'), "no backticks: {}", stderr(out));
}
