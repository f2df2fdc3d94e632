//! `dhcp-probe`: one DHCPv4 client socket inside a test's network namespace,
//! driven line by line, for the differential tests against Kea
//! (`e2e::kea`). Each line read from stdin is one request in hex; the probe
//! sends it to `--to`, waits up to `--wait-ms` for a BOOTREPLY with the same
//! xid and prints `reply HEX`, or `none` when nothing came. It exits at the
//! end of stdin or after `--deadline` seconds in all.
//!
//! Two ways to sit on the wire: as a relay agent (`--bind GIADDR:67 --to
//! SERVER:67`: the server answers the relay address), or as a directly
//! connected client (`--bind 0.0.0.0:68 --to 255.255.255.255:67
//! --broadcast`: requests carry the broadcast flag, so the server broadcasts
//! the reply to port 68).

use std::io::{BufRead as _, Write as _};
use std::net::{SocketAddrV4, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Parser;
use e2e::tool;
use tokio::time::Instant;

/// Send DHCP requests read from stdin and print the replies.
#[derive(Parser, Debug)]
struct Args {
    /// Local address and port to send from and receive on.
    #[arg(long)]
    bind: SocketAddrV4,
    /// Where requests go.
    #[arg(long)]
    to: SocketAddrV4,
    /// Allow sending to a broadcast address (SO_BROADCAST).
    #[arg(long)]
    broadcast: bool,
    /// Milliseconds to wait for each reply.
    #[arg(long, default_value_t = 2000)]
    wait_ms: u64,
    /// Seconds the whole run may take.
    #[arg(long, default_value_t = 120)]
    deadline: u64,
}

fn main() -> ExitCode {
    let args = match tool::parse_args::<Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    tool::exit_code("dhcp-probe", run(&args))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let socket = UdpSocket::bind(args.bind).with_context(|| format!("binding {}", args.bind))?;
    socket.set_broadcast(args.broadcast)?;
    let end = Instant::now() + Duration::from_secs(args.deadline);
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        let request = parse_hex(line.trim()).context("a request line")?;
        let Some(xid) = request.get(4..8).map(<[u8]>::to_vec) else {
            bail!("a request of {} bytes has no xid", request.len());
        };
        drain(&socket)?;
        socket
            .send_to(&request, args.to)
            .with_context(|| format!("sending to {}", args.to))?;
        let wait_end = (Instant::now() + Duration::from_millis(args.wait_ms)).min(end);
        match receive(&socket, &xid, wait_end)? {
            Some(reply) => writeln!(out, "reply {}", hex(&reply))?,
            None => writeln!(out, "none")?,
        }
        out.flush()?;
        if Instant::now() >= end {
            bail!("deadline of {} s reached", args.deadline);
        }
    }
    Ok(())
}

/// Discards datagrams already queued (late replies to an earlier request).
fn drain(socket: &UdpSocket) -> anyhow::Result<()> {
    socket.set_nonblocking(true)?;
    let mut buf = [0u8; 2048];
    for _ in 0..1024 {
        if socket.recv_from(&mut buf).is_err() {
            break;
        }
    }
    socket.set_nonblocking(false)?;
    Ok(())
}

/// The first BOOTREPLY carrying `xid` before `until`.
fn receive(socket: &UdpSocket, xid: &[u8], until: Instant) -> anyhow::Result<Option<Vec<u8>>> {
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(None);
        }
        socket.set_read_timeout(Some((until - now).max(Duration::from_millis(1))))?;
        match socket.recv_from(&mut buf) {
            Ok((len, _)) => {
                let reply = buf.get(..len).unwrap_or_default();
                if reply.first() == Some(&2) && reply.get(4..8) == Some(xid) {
                    return Ok(Some(reply.to_vec()));
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e).context("receiving"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &str) -> anyhow::Result<Vec<u8>> {
    if text.len() % 2 != 0 {
        bail!("odd number of hex digits");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            let pair = text.get(i..i + 2).context("hex digits")?;
            u8::from_str_radix(pair, 16).with_context(|| format!("bad hex {pair:?}"))
        })
        .collect()
}
