//! `delay-relay`: hold each packet between two network namespaces for its server's
//! delay and drop the lost ones (this kernel has no `netem`), see [`e2e::relay`].
//!
//! ```text
//! delay-relay --client-ns cold-res --server-ns cold-srv --table links.txt \
//!     [--tun cold0] [--seed 1] [--stats FILE] [--lifetime 3600]
//! ```
//! Opens TUN device `--tun` in each namespace and prints `ready: <tun> in <ns>, <ns>`;
//! the caller then gives the devices addresses and routes (each side routes the
//! other side's prefix via its device). Every 100 ms it writes the counters to
//! `--stats` (one line: `to_servers <packets> <dns udp> <tcp syn> <lost> <overflow>
//! <ignored> from_servers ...`). Runs until SIGTERM, SIGINT or `--lifetime`
//! seconds; the devices vanish with the process. Exit 64 on bad arguments, 1 on a
//! runtime failure.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Parser;
use e2e::relay::{LinkTable, Relay};
use tokio::time::Instant;

/// Relay IPv4 between two namespaces through TUN devices, with per-server delay and loss.
#[derive(Debug, Parser)]
#[command(name = "delay-relay", version)]
struct Args {
    /// Namespace of the clients (resolvers), under /run/netns.
    #[arg(long)]
    client_ns: String,
    /// Namespace of the servers, under /run/netns.
    #[arg(long)]
    server_ns: String,
    /// Link table: `<ipv4> <rtt ms> <jitter ms> <loss %>` per server address.
    #[arg(long)]
    table: PathBuf,
    /// TUN device name, the same in both namespaces.
    #[arg(long, default_value = "cold0")]
    tun: String,
    /// Seed of the jitter and loss draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Counters file, rewritten every 100 ms.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Exit after this many seconds.
    #[arg(long, default_value_t = 3600)]
    lifetime: u64,
}

fn main() -> ExitCode {
    let args: Args = match e2e::tool::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    e2e::tool::exit_code("delay-relay", run(&args))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let table = LinkTable::load(&args.table)?;
    enter_netns(&args.client_ns)?;
    let client = open_tun(&args.tun)?;
    enter_netns(&args.server_ns)?;
    let server = open_tun(&args.tun)?;
    let relay = Relay::start(client, server, table, args.seed)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "ready: {} in {}, {}",
            args.tun, args.client_ns, args.server_ns
        )?;
        out.flush()?;
    }
    let end = Instant::now() + Duration::from_secs(args.lifetime);
    let mut last = String::new();
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
        let line = relay.stats_line();
        if line != last {
            if let Some(path) = &args.stats {
                write_atomically(path, &line)?;
            }
            last = line;
        }
    }
    eprintln!("delay-relay: lifetime over: {last}");
    Ok(())
}

/// Writes `path` through a temporary file and a rename, so readers never see half a line.
fn write_atomically(path: &Path, line: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{line}\n"))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// Opens TUN device `name` (IFF_TUN | IFF_NO_PI) in the calling thread's namespace.
#[allow(unsafe_code)] // one ioctl; no safe wrapper among the dependencies
fn open_tun(name: &str) -> anyhow::Result<File> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 15 {
        bail!("TUN name `{name}` must be 1..=15 bytes");
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .context("opening /dev/net/tun")?;
    // struct ifreq: 16 bytes of name, then a union whose first member is a short.
    let mut ifreq = [0u8; 40];
    if let Some(slot) = ifreq.get_mut(..bytes.len()) {
        slot.copy_from_slice(bytes);
    }
    let flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    if let Some(slot) = ifreq.get_mut(16..18) {
        slot.copy_from_slice(&flags.to_ne_bytes());
    }
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, which `ifreq` (40 bytes)
    // covers; the fd stays open for the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, ifreq.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("TUNSETIFF {name}"));
    }
    Ok(file)
}

/// Moves the calling thread into network namespace `name` (`/run/netns/<name>`).
#[allow(unsafe_code)] // one setns; no safe wrapper among the dependencies
fn enter_netns(name: &str) -> anyhow::Result<()> {
    let path = Path::new("/run/netns").join(name);
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: setns on an open namespace fd; it changes only this thread's namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("setns {name}"));
    }
    Ok(())
}
