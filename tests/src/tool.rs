//! The parts of `main` the harness's tool binaries (`fake-dns`, `dns-stub`,
//! `dns-load`) share, so they agree on exit codes: 64 for bad arguments, 1
//! for a runtime failure, each error prefixed with the tool's name.

use std::process::ExitCode;

/// Parses the command line into `A`; `Err` holds the exit code once clap
/// has printed why (64 for bad arguments, 0 after `--help` or `--version`).
pub fn parse_args<A: clap::Parser>() -> Result<A, ExitCode> {
    A::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(64)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Builds the runtime `builder` describes (with I/O and time enabled); on
/// failure says so as `name` and gives exit code 1.
pub fn runtime(
    name: &str,
    builder: &mut tokio::runtime::Builder,
) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("{name}: building runtime: {e}");
        ExitCode::from(1)
    })
}

/// The exit code for how the tool's run ended; an error is printed as `name`.
pub fn exit_code(name: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::from(1)
        }
    }
}
