//! `dns-load`: the bounded query load of the data-plane fault tests (see
//! `e2e::dataplane::load`), run inside the client's network namespace.
//!
//! ```text
//! dns-load --server 192.168.139.53:53 --count 1500 --rate 250 --concurrency 32 \
//!          --timeout-ms 3000 --max-ms 8000 --names 'q{i}.wild.net' [--tcp-every 10]
//! ```
//! Prints `started` at once and one `load: sent=… answered=… failed=… lost=…`
//! line at the end. Exit 64 on bad arguments, 1 on a runtime failure.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use e2e::dataplane::load::{run, Load};

/// Send a bounded, paced DNS load and count what comes back.
#[derive(Debug, Parser)]
#[command(name = "dns-load", version)]
struct Args {
    /// Server address and port.
    #[arg(long)]
    server: SocketAddr,
    /// Queries to send at most.
    #[arg(long)]
    count: u64,
    /// Queries per second.
    #[arg(long)]
    rate: u32,
    /// Queries in flight at most.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Per-query reply timeout, ms.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
    /// No query is sent after this many ms.
    #[arg(long)]
    max_ms: u64,
    /// Query names; `{i}` is the query's index.
    #[arg(long)]
    names: String,
    /// Every N-th query over TCP (0: none).
    #[arg(long, default_value_t = 0)]
    tcp_every: u64,
}

fn main() -> ExitCode {
    let args: Args = match e2e::tool::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let spec = Load {
        count: args.count,
        rate: args.rate,
        concurrency: args.concurrency,
        timeout: Duration::from_millis(args.timeout_ms),
        max_time: Duration::from_millis(args.max_ms),
        names: args.names,
        tcp_every: args.tcp_every,
    };
    let runtime = match e2e::tool::runtime(
        "dns-load",
        tokio::runtime::Builder::new_multi_thread().worker_threads(1),
    ) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "started");
    let _ = out.flush();
    let report = runtime.block_on(run(args.server, &spec));
    match writeln!(out, "{}", report.line()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dns-load: {e}");
            ExitCode::from(1)
        }
    }
}
