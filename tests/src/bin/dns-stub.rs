//! `dns-stub`: the cluster DNS stand-in of the data-plane tests (see
//! `e2e::dataplane::stub`): answers A queries from a records file it re-reads
//! for every query.
//!
//! ```text
//! dns-stub --listen 0.0.0.0:53 --records FILE [--tcp]
//! ```
//! Prints `ready: <addr>` once bound and runs until SIGTERM or SIGINT. Exit 64
//! on bad arguments, 1 on a runtime failure.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

/// Answer A queries from a records file (`<name> <IPv4>` per line).
#[derive(Debug, Parser)]
#[command(name = "dns-stub", version)]
struct Args {
    /// UDP address to serve on.
    #[arg(long)]
    listen: SocketAddr,
    /// The records file.
    #[arg(long)]
    records: PathBuf,
    /// Also answer over TCP on the same address.
    #[arg(long)]
    tcp: bool,
}

fn main() -> ExitCode {
    let args: Args = match e2e::tool::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    match e2e::tool::runtime(
        "dns-stub",
        &mut tokio::runtime::Builder::new_current_thread(),
    ) {
        Ok(runtime) => e2e::tool::exit_code("dns-stub", runtime.block_on(run(args))),
        Err(code) => code,
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let socket = e2e::dataplane::stub::bind(args.listen).await?;
    let tcp = match args.tcp {
        true => Some(tokio::net::TcpListener::bind(args.listen).await?),
        false => None,
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready: {}", args.listen)?;
        out.flush()?;
    }
    let over_tcp = async {
        match tcp {
            Some(listener) => e2e::dataplane::stub::serve_tcp(listener, &args.records).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = e2e::dataplane::stub::serve(socket, &args.records) => {}
        () = over_tcp => {}
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
