use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = atrest::cli::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = atrest::cli::run(cli, &mut out).and_then(|outcome| {
        std::io::Write::flush(&mut out)?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        // A reader that went away (`atrest ... | head`) is not an error.
        Err(e) if e.broken_pipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::from(e.code())
        }
    }
}
