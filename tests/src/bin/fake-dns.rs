//! `fake-dns`: serve the fixture hierarchy from the command line (for the benchmark
//! that runs Unbound and our resolver side by side against it).
//!
//! ```text
//! fake-dns --net 200 [--zones DIR] [--root-hints-out FILE] [--threads N]
//! fake-dns --prefix 10.53.0 [--zones DIR] [--root-hints-out FILE]
//! ```
//! Prints `root-hints: <path>`, one `trust-anchor: <apex> DS ...` per signed
//! zone, then `ready: <n> servers on 127.<net>.0.0/24` (or `<prefix>.0/24`), and
//! runs until SIGTERM or SIGINT. Exit 64 on bad arguments, 1 on a runtime failure.
//! With `--prefix` the servers listen on `<prefix>.<host>` (addresses that must be
//! local, e.g. in a network namespace with `ip route add local <prefix>.0/24 dev lo`)
//! and the zones' `127.@NET@.0.<host>` glue becomes `<prefix>.<host>`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use e2e::fake_dns::{fixtures_dir, Hierarchy};
use tokio::signal::unix::{signal, SignalKind};

/// Serve the e2e fake DNS hierarchy on 127.<net>.0.<host>:53.
#[derive(Debug, Parser)]
#[command(name = "fake-dns", version)]
struct Args {
    /// Second octet of the 127.<net>.0.0/24 addresses (1..=250).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=250), required_unless_present = "prefix", conflicts_with = "prefix")]
    net: Option<u8>,
    /// Serve on `<a>.<b>.<c>.<host>` instead (three octets, e.g. `10.53.0`).
    #[arg(long, value_parser = parse_prefix)]
    prefix: Option<[u8; 3]>,
    /// Directory holding `manifest` and the zone files.
    #[arg(long)]
    zones: Option<PathBuf>,
    /// Where to write the root hints (default: $TMPDIR/fake-dns-<net>.hints).
    #[arg(long)]
    root_hints_out: Option<PathBuf>,
    /// Runtime worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args: Args = match e2e::tool::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    match e2e::tool::runtime("fake-dns", &mut builder) {
        Ok(runtime) => e2e::tool::exit_code("fake-dns", runtime.block_on(run(args))),
        Err(code) => code,
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let zones = args.zones.unwrap_or_else(fixtures_dir);
    // (hierarchy, its /24 for the ready line, the default hints file's tag)
    let (hierarchy, place, tag) = match (args.prefix, args.net) {
        (Some(prefix), _) => {
            let place = format!("{}.{}.{}", prefix[0], prefix[1], prefix[2]);
            let hierarchy = Hierarchy::start_from_prefix(prefix, &zones).await?;
            (hierarchy, place.clone(), place)
        }
        (None, Some(net)) => (
            Hierarchy::start_from(net, &zones).await?,
            format!("127.{net}.0"),
            net.to_string(),
        ),
        (None, None) => anyhow::bail!("--net or --prefix is required"),
    };
    let hints = args
        .root_hints_out
        .unwrap_or_else(|| std::env::temp_dir().join(format!("fake-dns-{tag}.hints")));
    hierarchy.write_root_hints(&hints)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "root-hints: {}", hints.display())?;
        for anchor in hierarchy.trust_anchors() {
            writeln!(out, "trust-anchor: {anchor}")?;
        }
        writeln!(
            out,
            "ready: {} servers on {place}.0/24 (zones from {})",
            hierarchy.servers().count(),
            zones.display()
        )?;
        out.flush()?;
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    let total = hierarchy.total_queries();
    hierarchy.shutdown().await;
    eprintln!("fake-dns: stopped after {total} queries");
    Ok(())
}

/// `a.b.c` → `[a, b, c]`.
fn parse_prefix(text: &str) -> Result<[u8; 3], String> {
    let octets: Vec<u8> = text
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{text}`: {e}"))?;
    <[u8; 3]>::try_from(octets).map_err(|_| format!("`{text}` is not three octets (a.b.c)"))
}
