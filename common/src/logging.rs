//! Logging: a `tracing` subscriber writing to stderr, as text for people or JSON
//! for log collectors.
//!
//! `RUST_LOG` (the `tracing_subscriber::EnvFilter` syntax, e.g.
//! `info,resolver::iterate=debug`) overrides the daemon's default directive, which
//! usually comes from the config (`verbosity:` in unbound.conf).

use tracing_subscriber::EnvFilter;

/// Output format of the log lines (`--log-format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line, fields flattened, for log collectors.
    Json,
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// Installs the global subscriber: stderr, `format`, filtered by `RUST_LOG` when set
/// and valid, else by `default_directive` (e.g. `"info"` or `"warn,resolver=debug"`).
///
/// Safe to call more than once (tests do): only the first call installs anything;
/// later calls are no-ops. An invalid `RUST_LOG` is reported on stderr and the default
/// is used instead, so a typo never silences the daemon.
pub fn init(format: LogFormat, default_directive: &str) {
    let filter = filter(
        std::env::var(EnvFilter::DEFAULT_ENV).ok().as_deref(),
        default_directive,
    );
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in files or kubectl logs.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter);
    // `try_init` fails only when a global subscriber is already set: that is the
    // "second call is a no-op" case.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// The filter from `RUST_LOG` if given and valid, else from `default_directive`, else `info`.
fn filter(rust_log: Option<&str>, default_directive: &str) -> EnvFilter {
    if let Some(spec) = rust_log.filter(|s| !s.trim().is_empty()) {
        match EnvFilter::try_new(spec) {
            Ok(filter) => return filter,
            Err(error) => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("ignoring invalid RUST_LOG {spec:?}: {error}");
                }
            }
        }
    }
    EnvFilter::try_new(default_directive).unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_overrides_default() {
        assert_eq!(filter(Some("debug"), "warn").to_string(), "debug");
        assert_eq!(
            filter(None, "warn,resolver=debug").to_string(),
            filter(Some("warn,resolver=debug"), "x").to_string()
        );
        assert_eq!(filter(Some("  "), "warn").to_string(), "warn");
    }

    #[test]
    fn invalid_directives_fall_back() {
        assert_eq!(filter(Some("=[bad"), "warn").to_string(), "warn");
        assert_eq!(filter(None, "=[bad").to_string(), "info");
    }

    #[test]
    fn init_twice_is_a_no_op() {
        init(LogFormat::Json, "warn");
        init(LogFormat::Text, "info");
        tracing::info!("still fine");
    }
}
