//! `resolver`: parse arguments, load the config, bind, and call `resolver::run`.

use std::process::ExitCode;
use std::time::Duration;

use common::cli::CommonArgs;
use common::exit::EX_FAILURE;
use resolver::Config;

/// A recursive DNS resolver that reads unbound.conf (drop-in for Unbound).
#[derive(clap::Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Stay in the foreground (accepted for `unbound -d` compatibility; always true).
    #[arg(short = 'd', hide = true)]
    foreground: bool,
    /// Seconds to keep serving (not ready) after SIGTERM before draining.
    #[arg(long, default_value_t = 1.0)]
    lameduck: f64,
}

/// mimalloc instead of glibc malloc: the miss path allocates per query (messages,
/// names, tasks), and cached entries are many small allocations; measured in
/// tests/bench/resolver.sh.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The metrics port unbound_exporter used.
const DEFAULT_METRICS_ADDR: &str = "0.0.0.0:9167";

fn main() -> ExitCode {
    let args: Args = common::cli::parse_args();
    let loaded = match &args.common.config {
        Some(path) => Config::load(path),
        None => Ok(Config::embedded_default()),
    };
    let summary = |config: &Config| {
        let validation = config.validation_summary().map_err(|e| e.to_string())?;
        Ok(format!("{}\n{validation}\n", config.summary()))
    };
    let level = |config: &Config| match config.server.verbosity {
        0 => "warn",
        1 => "info",
        2 => "info,resolver=debug",
        _ => "debug",
    };
    let config = match common::cli::start(&args.common, loaded, summary, level) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let metrics_addr = args.common.admin_addr(None, DEFAULT_METRICS_ADDR);
    let listeners = match resolver::server::bind(&config, metrics_addr) {
        Ok(listeners) => listeners,
        Err(error) => {
            tracing::error!(%error, "cannot bind");
            return ExitCode::from(EX_FAILURE);
        }
    };
    let lameduck = Duration::try_from_secs_f64(args.lameduck).unwrap_or(Duration::ZERO);
    let threads = config.server.num_threads.get();
    common::exit::run_until_signal("resolver", threads, lameduck, move |readiness, shutdown| {
        resolver::run(
            config,
            listeners,
            resolver::server::registry(),
            readiness,
            shutdown,
        )
    })
}
