//! `dhcp-load`: many DHCP clients behind one relay, for the durability
//! test. Run inside a test's namespace: it binds the relay address on port
//! 67, runs DISCOVER/OFFER/REQUEST/ACK for clients `first..first+count`
//! with `window` exchanges in flight, and prints `ack MAC IP` for every ACK
//! the moment it arrives (so a test that kills the server mid-run knows
//! exactly which leases were acknowledged, and by which server). With
//! several `--server`s (an HA pair) every request goes to each. `--verify FILE` instead sends a
//! DISCOVER for every `ack MAC IP` line of FILE and reports whether the
//! server offers each client the same address.
//!
//! Bounded: every exchange is retried at most 4 times, and the whole run
//! stops at `--deadline` seconds.

use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Parser;
use e2e::dhcp::{self, ReplyView};
use tokio::time::Instant;

/// Drive a DHCP server as a relay with many clients.
#[derive(Parser, Debug)]
struct Args {
    /// The relay's own address (giaddr); bound on port 67.
    #[arg(long)]
    relay: Ipv4Addr,
    /// The server's address; repeat it for an HA pair (every request goes
    /// to each, as a relay configured with both forwards it).
    #[arg(long, required = true)]
    server: Vec<Ipv4Addr>,
    /// Clients to run.
    #[arg(long, default_value_t = 100)]
    count: u32,
    /// Index of the first client (its MAC is 02:4c:<index>).
    #[arg(long, default_value_t = 0)]
    first: u32,
    /// Exchanges in flight.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Option 82 data (hex) added to every request; replies must echo it.
    #[arg(long)]
    option82: Option<String>,
    /// Seconds the whole run may take.
    #[arg(long, default_value_t = 60)]
    deadline: u64,
    /// Check offers against this file of `ack MAC IP` lines instead.
    #[arg(long)]
    verify: Option<PathBuf>,
}

/// Where one client is.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Discovering,
    Requesting { addr: Ipv4Addr, server: Ipv4Addr },
}

#[derive(Debug)]
struct Client {
    mac: [u8; 6],
    phase: Phase,
    sent: Instant,
    /// When the client began (the `secs` field counts from here, as real
    /// clients count, so an HA partner can tell unanswered clients).
    started: Instant,
    tries: u32,
    expected: Option<Ipv4Addr>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let option82 = match &args.option82 {
        Some(hex) => Some(parse_hex(hex).context("--option82")?),
        None => None,
    };
    let socket = UdpSocket::bind(SocketAddrV4::new(args.relay, 67))
        .with_context(|| format!("binding {}:67", args.relay))?;
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    let servers: Vec<SocketAddrV4> = args
        .server
        .iter()
        .map(|s| SocketAddrV4::new(*s, 67))
        .collect();
    let first_server = args
        .server
        .first()
        .copied()
        .unwrap_or(Ipv4Addr::UNSPECIFIED);

    let mut queue: Vec<(u32, [u8; 6], Option<Ipv4Addr>)> = match &args.verify {
        Some(path) => read_acks(path)?
            .into_iter()
            .enumerate()
            .map(|(i, (mac, ip))| (i as u32, mac, Some(ip)))
            .collect(),
        None => (args.first..args.first + args.count)
            .map(|i| (i, dhcp::mac(i), None))
            .collect(),
    };
    queue.reverse();
    let total = queue.len();
    let deadline = Instant::now() + Duration::from_secs(args.deadline);
    let mut in_flight: HashMap<u32, Client> = HashMap::new();
    let (mut acked, mut failed, mut matched, mut mismatched, mut echo_bad) = (0, 0, 0, 0, 0);
    // Requests sent again because no reply came within 500 ms.
    let mut retransmitted = 0;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut buf = [0u8; 2048];
    let send = |client: &Client, xid: u32| -> std::io::Result<()> {
        let mut options: Vec<(u8, &[u8])> = Vec::new();
        let requested;
        let server_id;
        if let Phase::Requesting { addr, server } = client.phase {
            requested = addr.octets();
            server_id = server.octets();
            options.push((50, &requested));
            options.push((54, &server_id));
        }
        let mut client_id = vec![1u8];
        client_id.extend_from_slice(&client.mac);
        options.push((61, &client_id));
        options.push((55, &[1, 3, 6, 15, 51]));
        if let Some(data) = &option82 {
            options.push((82, data));
        }
        let kind = match client.phase {
            Phase::Discovering => dhcp::DISCOVER,
            Phase::Requesting { .. } => dhcp::REQUEST,
        };
        let mut packet = dhcp::request(
            kind,
            xid,
            client.mac,
            Ipv4Addr::UNSPECIFIED,
            args.relay,
            &options,
        );
        let secs = u16::try_from(client.started.elapsed().as_secs()).unwrap_or(u16::MAX);
        if let Some(field) = packet.get_mut(8..10) {
            field.copy_from_slice(&secs.to_be_bytes());
        }
        // Sent to every server; one that is gone must not stop the others.
        let mut sent = Err(std::io::Error::other("no server"));
        for server in &servers {
            if socket.send_to(&packet, server).is_ok() {
                sent = Ok(());
            }
        }
        sent
    };
    while (!queue.is_empty() || !in_flight.is_empty()) && Instant::now() < deadline {
        while in_flight.len() < args.window {
            let Some((xid, mac, expected)) = queue.pop() else {
                break;
            };
            let client = Client {
                mac,
                phase: Phase::Discovering,
                sent: Instant::now(),
                started: Instant::now(),
                tries: 1,
                expected,
            };
            send(&client, xid)?;
            in_flight.insert(xid, client);
        }
        match socket.recv_from(&mut buf) {
            Ok((len, _)) => {
                let Some(reply) = ReplyView::parse(&buf[..len]) else {
                    continue;
                };
                if let Some(data) = &option82 {
                    if reply.option(82) != Some(data.as_slice()) {
                        echo_bad += 1;
                    }
                }
                let Some(client) = in_flight.get_mut(&reply.xid) else {
                    continue;
                };
                match (reply.kind, client.phase) {
                    (dhcp::OFFER, Phase::Discovering) => {
                        if let Some(expected) = client.expected {
                            if expected == reply.yiaddr {
                                matched += 1;
                            } else {
                                mismatched += 1;
                                writeln!(
                                    out,
                                    "mismatch {} expected {expected} offered {}",
                                    dhcp::mac_text(&client.mac),
                                    reply.yiaddr
                                )?;
                            }
                            in_flight.remove(&reply.xid);
                            continue;
                        }
                        let server = reply.server_id().unwrap_or(first_server);
                        client.phase = Phase::Requesting {
                            addr: reply.yiaddr,
                            server,
                        };
                        client.sent = Instant::now();
                        client.tries = 1;
                        send(client, reply.xid)?;
                    }
                    (dhcp::ACK, Phase::Requesting { addr, server }) if addr == reply.yiaddr => {
                        writeln!(
                            out,
                            "ack {} {} {server}",
                            dhcp::mac_text(&client.mac),
                            reply.yiaddr
                        )?;
                        out.flush()?;
                        acked += 1;
                        in_flight.remove(&reply.xid);
                    }
                    (dhcp::NAK, _) => {
                        client.phase = Phase::Discovering;
                        client.sent = Instant::now();
                        send(client, reply.xid)?;
                    }
                    _ => {}
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => bail!("receive: {e}"),
        }
        let now = Instant::now();
        let mut gave_up = Vec::new();
        for (xid, client) in &mut in_flight {
            if now.duration_since(client.sent) > Duration::from_millis(500) {
                if client.tries >= 4 {
                    gave_up.push(*xid);
                } else {
                    client.tries += 1;
                    client.sent = now;
                    retransmitted += 1;
                    // A server that is gone refuses; keep trying until the deadline.
                    let _ = send(client, *xid);
                }
            }
        }
        for xid in gave_up {
            if let Some(client) = in_flight.remove(&xid) {
                failed += 1;
                writeln!(out, "fail {}", dhcp::mac_text(&client.mac))?;
            }
        }
    }
    writeln!(
        out,
        "summary total={total} acked={acked} failed={failed} unfinished={} matched={matched} mismatched={mismatched} echo_bad={echo_bad} retransmitted={retransmitted}",
        in_flight.len() + queue.len()
    )?;
    out.flush()?;
    Ok(())
}

/// `ack MAC IP` lines of a previous run.
fn read_acks(path: &PathBuf) -> anyhow::Result<Vec<([u8; 6], Ipv4Addr)>> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut acks = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        if words.next() != Some("ack") {
            continue;
        }
        let (Some(mac), Some(ip)) = (words.next(), words.next()) else {
            continue;
        };
        let bytes = parse_hex(&mac.replace(':', ""))?;
        let mac: [u8; 6] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("bad MAC {mac}"))?;
        acks.push((mac, ip.parse()?));
    }
    Ok(acks)
}

/// Hex text to bytes.
fn parse_hex(text: &str) -> anyhow::Result<Vec<u8>> {
    if text.len() % 2 != 0 {
        bail!("odd-length hex {text:?}");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).with_context(|| format!("hex {text:?}")))
        .collect()
}
