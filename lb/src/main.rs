//! `lb`: parse arguments, load the config, bind, and call `lb::run`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use common::cli::CommonArgs;
use common::exit::{EX_FAILURE, EX_USAGE};
use lb::Config;

/// A DNS load balancer (drop-in for dnsdist in front of resolvers).
///
/// Quick start, like `dnsdist -l ADDR BACKEND...`:
/// `lb --listen 127.0.0.1:5300 127.0.0.1:5301 127.0.0.1:5302`
#[derive(clap::Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Listen on ADDR:PORT, UDP and TCP (repeatable; quick start without -c).
    #[arg(short = 'l', long = "listen", value_name = "ADDR:PORT")]
    listen: Vec<SocketAddr>,
    /// Backends for the quick start (without -c).
    #[arg(value_name = "BACKEND:PORT")]
    backends: Vec<SocketAddr>,
    /// Seconds to keep serving (not ready) after SIGTERM before draining.
    #[arg(long, default_value_t = 1.0)]
    lameduck: f64,
}

/// mimalloc: every forwarded query allocates (its copy, its task), and the
/// allocator's per-thread caches keep that off the global lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Args = common::cli::parse_args();
    let loaded = match &args.common.config {
        Some(path) if args.backends.is_empty() && args.listen.is_empty() => Config::load(path),
        Some(_) => {
            eprintln!("lb: give either -c FILE or --listen/BACKEND arguments, not both");
            return ExitCode::from(EX_USAGE);
        }
        None => Config::quick_start(&args.listen, &args.backends),
    };
    let config = match common::cli::start(&args.common, loaded, |c| Ok(c.summary()), |_| "info") {
        Ok(config) => config,
        Err(code) => return code,
    };
    let metrics_addr = args.common.admin_addr(
        config.metrics_addr,
        lb::server::default_metrics_addr(&config),
    );
    let registry = lb::server::registry();
    let agent = match lb::server::node_local(&config, &registry) {
        Ok(agent) => agent,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::from(EX_FAILURE);
        }
    };
    let listeners = match lb::server::bind(&config, metrics_addr) {
        Ok(listeners) => listeners,
        Err(error) => {
            tracing::error!(%error, "cannot bind");
            return ExitCode::from(EX_FAILURE);
        }
    };
    let lameduck = Duration::try_from_secs_f64(args.lameduck).unwrap_or(Duration::ZERO);
    let threads = config.threads.get();
    common::exit::run_until_signal("lb", threads, lameduck, move |readiness, shutdown| {
        lb::run(config, listeners, registry, agent, readiness, shutdown)
    })
}
