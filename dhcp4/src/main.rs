//! `dhcp4`: parse arguments, load the Kea config, bind, and call `dhcp4::run::run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use common::cli::CommonArgs;
use common::exit::{EX_FAILURE, EX_USAGE};

/// A DHCPv4 server (drop-in for Kea's kea-dhcp4 with memfile leases).
///
/// Reads Kea's `Dhcp4` JSON: `dhcp4 -c /etc/kea/kea-dhcp4.conf`.
#[derive(clap::Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Server port (clients get replies on the next one), as Kea's `-p`.
    #[arg(short = 'p', long = "port", default_value_t = dhcp4::run::DEFAULT_PORT)]
    port: u16,
    /// Seconds to keep serving (not ready) after SIGTERM before stopping.
    #[arg(long, default_value_t = 0.0)]
    lameduck: f64,
    /// Milliseconds the lease writer gathers lease changes before one write
    /// and fsync covers them all (0: commit each at once). Every ACK still
    /// waits for its lease to be durable; this trades that much ACK latency
    /// for far less CPU per lease at moderate rates.
    #[arg(long, value_name = "MS", default_value_t = dhcp4::run::DEFAULT_COMMIT_WINDOW_MS)]
    commit_window: f64,
    /// Milliseconds a receive thread may let requests queue before it reads
    /// them, when they come fast enough (over 16 per window): one wakeup then
    /// serves many, which costs far less CPU at high rates (0: never wait).
    #[arg(long, value_name = "MS", default_value_t = dhcp4::run::DEFAULT_RECEIVE_WINDOW_MS)]
    receive_window: f64,
    /// Kea 2.2's Control Agent file (`kea-ctrl-agent.conf`): dhcp4 serves
    /// its HTTP listener (host, port, authentication, TLS) itself.
    #[arg(long, value_name = "FILE")]
    control_agent: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Args = common::cli::parse_args();
    let (Some(commit), Some(receive)) = (
        milliseconds("--commit-window", args.commit_window),
        milliseconds("--receive-window", args.receive_window),
    ) else {
        return ExitCode::from(EX_USAGE);
    };
    let windows = dhcp4::run::Windows { commit, receive };
    let path = args
        .common
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("/etc/kea/kea-dhcp4.conf"));
    let loaded = load(&path, args.control_agent.as_deref());
    let summary = |(config, warnings): &Loaded| Ok(dhcp4::run::summary(config, &path, warnings));
    let (config, warnings) = match common::cli::start(&args.common, loaded, summary, |_| "info") {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let metrics_addr = args
        .common
        .admin_addr(None, dhcp4::run::DEFAULT_METRICS_ADDR);
    let registry = common::metrics::Registry::default();
    let bound = match dhcp4::run::bind(&config, args.port, metrics_addr, windows, &registry) {
        Ok(bound) => bound,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::from(EX_FAILURE);
        }
    };
    let lameduck = Duration::try_from_secs_f64(args.lameduck).unwrap_or(Duration::ZERO);
    let code = common::exit::run_until_signal("dhcp4", 2, lameduck, move |readiness, shutdown| {
        dhcp4::run::run(config, Some(path), bound, registry, readiness, shutdown)
    });
    // A `shutdown` command's `exit-value`, as Kea exits with it.
    match dhcp4::control::EXIT_VALUE.load(std::sync::atomic::Ordering::Relaxed) {
        0 => code,
        value => ExitCode::from(value),
    }
}

/// A Kea config and the warnings its keys drew.
type Loaded = (
    dhcp4::config::model::Config,
    Vec<common::config::ConfigWarning>,
);

/// The Kea config at `path`, with the Control Agent file's listener when
/// `agent` names one.
fn load(path: &Path, agent: Option<&Path>) -> Result<Loaded, String> {
    let (mut config, mut warnings) = dhcp4::config::load_file(path).map_err(|e| e.to_string())?;
    if let Some(agent) = agent {
        let (listener, agent_warnings) =
            dhcp4::config::load_agent_file(agent).map_err(|e| e.to_string())?;
        config.control.http.push(listener);
        warnings.extend(agent_warnings);
    }
    Ok((config, warnings))
}

/// `ms` milliseconds as a duration, or `None` after saying why `flag` is wrong.
fn milliseconds(flag: &str, ms: f64) -> Option<Duration> {
    let duration = Duration::try_from_secs_f64(ms / 1000.0).ok();
    if duration.is_none() {
        eprintln!("dhcp4: {flag} must be a number of milliseconds, 0 or more");
    }
    duration
}
