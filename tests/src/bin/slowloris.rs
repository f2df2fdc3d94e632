//! `slowloris`: hold many TCP (or DoT) connections to a DNS server with
//! frames that never complete, and report how many the server let it keep
//! (see [`e2e::slowloris`]).
//!
//! ```text
//! slowloris --target 127.0.0.1:53 --connections 200 --bytes-per-interval 1 \
//!     --interval-ms 1000 --duration-s 60 [--reopen] [--source 127.0.0.5 --source 127.0.0.6]
//! ```
//! Prints one line at the end:
//! `slowloris: opened=… failed=… closed_by_server=… held=… max_held=…`
//! (`opened` counts every connection, reopened ones too; `held`: still open
//! when the duration ended; `max_held`: the most open at once). Exit 64 on bad arguments,
//! 1 on a runtime failure.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use e2e::slowloris::{run, Attack};

/// Hold TCP connections to a DNS server with never-completed queries.
#[derive(Debug, Parser)]
#[command(name = "slowloris", version)]
struct Args {
    /// The server's TCP or DoT address and port.
    #[arg(long)]
    target: SocketAddr,
    /// Connections to open.
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Bytes sent per interval on each connection (0: one prefix byte, then hold).
    #[arg(long, default_value_t = 1)]
    bytes_per_interval: usize,
    /// Interval between sends, ms.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// How long to hold, seconds.
    #[arg(long, default_value_t = 30)]
    duration_s: u64,
    /// Source address to bind (repeat to spread connections over several).
    #[arg(long)]
    source: Vec<IpAddr>,
    /// Open a new connection whenever the server closes one.
    #[arg(long)]
    reopen: bool,
}

fn main() -> ExitCode {
    let args: Args = match e2e::tool::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let runtime = match e2e::tool::runtime(
        "slowloris",
        &mut tokio::runtime::Builder::new_current_thread(),
    ) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let attack = Attack {
        target: args.target,
        connections: args.connections,
        bytes_per_interval: args.bytes_per_interval,
        interval: Duration::from_millis(args.interval_ms.max(1)),
        duration: Duration::from_secs(args.duration_s),
        sources: args.source,
        reopen: args.reopen,
    };
    let outcome = runtime.block_on(run(attack));
    let printed = writeln!(std::io::stdout().lock(), "{outcome}");
    e2e::tool::exit_code("slowloris", printed.map_err(anyhow::Error::from))
}
