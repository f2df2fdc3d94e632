//! `cold-internet`: write a fake internet for the cold-cache benchmark
//! (`tests/bench/coldcache.sh`), deterministic from a seed: zone files and a
//! manifest for `fake-dns --prefix`, a link table for `delay-relay`, and a query
//! list for dnsperf.
//!
//! ```text
//! cold-internet --out DIR [--seed 17] [--zones 300] [--queries 5000] [--prefix 10.77.0]
//! ```
//! See [`e2e::cold_internet`] for the topology.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use e2e::cold_internet::{Internet, Plan};

/// Generate the cold-cache benchmark's hierarchy, link table and query list.
#[derive(Debug, Parser)]
#[command(name = "cold-internet", version)]
struct Args {
    /// Output directory (created; files in it are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 17)]
    seed: u64,
    /// Number of customer zones (second-level domains).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=2000))]
    zones: u32,
    /// Length of the query list.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    queries: u32,
    /// First three octets of the servers' addresses.
    #[arg(long, default_value = "10.77.0")]
    prefix: String,
}

fn main() -> ExitCode {
    let args: Args = match e2e::tool::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let plan = Plan {
        seed: args.seed,
        zones: args.zones as usize,
        queries: args.queries as usize,
        prefix: args.prefix,
    };
    e2e::tool::exit_code(
        "cold-internet",
        Internet::generate(&plan).and_then(|internet| internet.write(&args.out)),
    )
}
