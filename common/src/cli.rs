//! Command-line arguments every daemon takes; each daemon flattens [`CommonArgs`]
//! into its own `clap` parser and adds its own flags.
//!
//! ```
//! use clap::Parser;
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     common: common::cli::CommonArgs,
//! }
//! let args = Args::parse_from(["resolver", "-c", "/etc/unbound/unbound.conf", "--check-config"]);
//! assert!(args.common.check_config);
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::exit::EX_USAGE;
pub use crate::logging::LogFormat;

/// Parses the process arguments like `P::parse()`, but a usage error exits with
/// [`EX_USAGE`] (64, as a bad config does) instead of clap's 2; `--help` and
/// `--version` still print and exit 0.
pub fn parse_args<P: clap::Parser>() -> P {
    match P::try_parse() {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            std::process::exit(exit_code(&error));
        }
    }
}

/// The exit status for a clap outcome: 0 for `--help`/`--version`, else [`EX_USAGE`].
fn exit_code(error: &clap::Error) -> i32 {
    if error.use_stderr() {
        i32::from(EX_USAGE)
    } else {
        0
    }
}

/// Flags shared by `lb`, `resolver` and `dhcp4`.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Config file to read; without it the daemon uses its embedded default.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Validate the config, print a one-screen summary (or the error naming file, line and key), and exit.
    #[arg(long = "check-config")]
    pub check_config: bool,
    /// Log line format on stderr.
    #[arg(long = "log-format", value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Address for /metrics, /healthz and /readyz (so several instances can share a host);
    /// defaults to the daemon's usual port.
    #[arg(long = "metrics-addr", value_name = "ADDR:PORT")]
    pub metrics_addr: Option<SocketAddr>,
}

impl CommonArgs {
    /// The admin endpoint's address: `--metrics-addr`, else the config's
    /// (`configured`), else the daemon's usual one.
    pub fn admin_addr(&self, configured: Option<SocketAddr>, usual: &str) -> Option<SocketAddr> {
        self.metrics_addr
            .or(configured)
            .or_else(|| usual.parse().ok())
    }
}

/// The start every daemon's `main` shares once its arguments are parsed: a
/// config that did not load is printed as is (it names file, line and key)
/// and exits [`EX_USAGE`]; with `--check-config` the summary is printed (or
/// its error, exiting [`EX_USAGE`]) and the process exits 0; else logging
/// starts at the config's `level` and the config is handed back.
pub fn start<C, E: std::fmt::Display>(
    common: &CommonArgs,
    loaded: Result<C, E>,
    summary: impl FnOnce(&C) -> Result<String, String>,
    level: impl FnOnce(&C) -> &'static str,
) -> Result<C, std::process::ExitCode> {
    let usage = || std::process::ExitCode::from(EX_USAGE);
    let config = loaded.map_err(|error| {
        eprintln!("{error}");
        usage()
    })?;
    if common.check_config {
        let text = summary(&config).map_err(|error| {
            eprintln!("{error}");
            usage()
        })?;
        #[allow(clippy::print_stdout)]
        {
            print!("{text}");
        }
        return Err(std::process::ExitCode::SUCCESS);
    }
    crate::logging::init(common.log_format, level(&config));
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Args {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(short = 'd')]
        foreground: bool,
    }

    #[test]
    fn defaults() {
        let args = Args::try_parse_from(["x"]).unwrap();
        assert_eq!(args.common.config, None);
        assert!(!args.common.check_config);
        assert_eq!(args.common.log_format, LogFormat::Text);
        assert_eq!(args.common.metrics_addr, None);
        assert!(!args.foreground);
    }

    #[test]
    fn every_flag() {
        let args = Args::try_parse_from([
            "x",
            "-c",
            "/etc/unbound/unbound.conf",
            "--check-config",
            "--log-format",
            "json",
            "--metrics-addr",
            "127.0.0.1:19167",
            "-d",
        ])
        .unwrap();
        assert_eq!(
            args.common.config,
            Some(PathBuf::from("/etc/unbound/unbound.conf"))
        );
        assert!(args.common.check_config);
        assert_eq!(args.common.log_format, LogFormat::Json);
        assert_eq!(
            args.common.metrics_addr,
            Some("127.0.0.1:19167".parse().unwrap())
        );
        assert!(args.foreground);
        let long = Args::try_parse_from(["x", "--config=/a.conf", "--metrics-addr", "[::1]:9167"])
            .unwrap();
        assert_eq!(long.common.config, Some(PathBuf::from("/a.conf")));
        assert_eq!(
            long.common.metrics_addr,
            Some("[::1]:9167".parse().unwrap())
        );
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            &["x", "--log-format", "xml"][..],
            &["x", "--metrics-addr", "localhost"][..],
            &["x", "--nope"][..],
        ] {
            let err = Args::try_parse_from(argv).unwrap_err();
            assert_eq!(exit_code(&err), 64, "{argv:?}");
        }
        let help = Args::try_parse_from(["x", "--help"]).unwrap_err();
        assert_eq!(exit_code(&help), 0);
    }
}
