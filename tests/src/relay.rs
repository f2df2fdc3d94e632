//! A delay/loss relay between two network namespaces, for benchmarks and tests at
//! real distances on a kernel without `netem`: one TUN device in each namespace,
//! and every IPv4 packet read from one is written to the other after it has been
//! held for the delay of the server it goes to or comes from, or dropped.
//!
//! The "client" side (a) holds the resolvers, the "server" side (b) the
//! authoritative servers. A [`LinkTable`] gives each server address a round-trip
//! delay, a jitter and a loss rate; each direction holds a packet for half the
//! delay plus a random share of half the jitter and drops it with half the loss
//! rate, so one query and its reply see about the table's figures. The
//! `delay-relay` binary opens the devices (that part needs `unsafe` ioctls).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::time::Instant;

/// Packets held at once per direction; more are dropped (and counted).
pub const QUEUE_LIMIT: usize = 65_536;

/// Largest packet read from a TUN device.
const MTU_BUF: usize = 65_536;

/// How one server address is reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Round-trip delay added to every exchange.
    pub rtt: Duration,
    /// Extra random round-trip delay, uniform in `0..=jitter`.
    pub jitter: Duration,
    /// Share of exchanges lost, 0.0..=1.0 (1.0: a dead server).
    pub loss: f64,
}

impl Link {
    /// No delay, no loss: addresses missing from the table.
    pub const DIRECT: Link = Link {
        rtt: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
    };
}

/// Server address → [`Link`].
#[derive(Debug, Clone, Default)]
pub struct LinkTable {
    links: HashMap<Ipv4Addr, Link>,
}

impl LinkTable {
    /// Parses `<ipv4> <rtt ms> <jitter ms> <loss %>` lines (`#` starts a comment).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut links = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [addr, rtt, jitter, loss] = fields.as_slice() else {
                bail!(
                    "link table line {}: want `<ipv4> <rtt ms> <jitter ms> <loss %>`",
                    index + 1
                );
            };
            let at = || format!("link table line {}", index + 1);
            let addr: Ipv4Addr = addr.parse().with_context(at)?;
            let rtt: f64 = rtt.parse().with_context(at)?;
            let jitter: f64 = jitter.parse().with_context(at)?;
            let loss: f64 = loss.parse().with_context(at)?;
            if !(0.0..=600_000.0).contains(&rtt) || !(0.0..=600_000.0).contains(&jitter) {
                bail!("{}: delays must be 0..=600000 ms", at());
            }
            if !(0.0..=100.0).contains(&loss) {
                bail!("{}: loss must be 0..=100 %", at());
            }
            let link = Link {
                rtt: Duration::from_secs_f64(rtt / 1000.0),
                jitter: Duration::from_secs_f64(jitter / 1000.0),
                loss: loss / 100.0,
            };
            links.insert(addr, link);
        }
        Ok(Self { links })
    }

    /// Reads and parses a table file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| path.display().to_string())
    }

    /// The link of `addr` ([`Link::DIRECT`] when not listed).
    pub fn get(&self, addr: Ipv4Addr) -> Link {
        self.links.get(&addr).copied().unwrap_or(Link::DIRECT)
    }
}

/// Counters of one direction.
#[derive(Debug, Default)]
pub struct DirectionStats {
    /// IPv4 packets read.
    pub packets: AtomicU64,
    /// UDP datagrams to or from port 53.
    pub dns_udp: AtomicU64,
    /// TCP segments with SYN set and ACK clear (new connections).
    pub tcp_syn: AtomicU64,
    /// Dropped by the loss roll.
    pub lost: AtomicU64,
    /// Dropped because the queue was full.
    pub overflow: AtomicU64,
    /// Not IPv4, or too short to parse.
    pub ignored: AtomicU64,
}

impl DirectionStats {
    /// `packets dns_udp tcp_syn lost overflow ignored`.
    pub fn line(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} {} {} {} {} {}",
            get(&self.packets),
            get(&self.dns_udp),
            get(&self.tcp_syn),
            get(&self.lost),
            get(&self.overflow),
            get(&self.ignored)
        )
    }
}

/// Which way a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client side to server side: the server is the destination.
    ToServers,
    /// Server side to client side: the server is the source.
    FromServers,
}

/// The parts of an IPv4 header the relay looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// UDP to or from port 53.
    pub dns_udp: bool,
    /// TCP SYN without ACK.
    pub tcp_syn: bool,
}

/// Parses the IPv4 header (and the UDP ports or TCP flags) of `packet`; `None`
/// for anything else.
pub fn packet_info(packet: &[u8]) -> Option<PacketInfo> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header = usize::from(first & 0x0f) * 4;
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let b: [u8; 4] = packet.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    };
    let src = addr(12)?;
    let dst = addr(16)?;
    let protocol = *packet.get(9)?;
    let transport = packet.get(header..).unwrap_or(&[]);
    let port = |at: usize| {
        transport
            .get(at..at + 2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
    };
    let dns_udp = protocol == 17 && (port(0) == Some(53) || port(2) == Some(53));
    let tcp_syn = protocol == 6 && transport.get(13).is_some_and(|flags| flags & 0x12 == 0x02);
    Some(PacketInfo {
        src,
        dst,
        dns_udp,
        tcp_syn,
    })
}

/// One held packet, ordered by release time then arrival.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    due: Instant,
    seq: u64,
    packet: Vec<u8>,
}

#[derive(Debug, Default)]
struct Queue {
    heap: Mutex<BinaryHeap<Reverse<Held>>>,
    ready: Condvar,
}

/// The running relay: two directions, each a reader and a writer thread.
#[derive(Debug)]
pub struct Relay {
    /// Counters client → servers.
    pub to_servers: Arc<DirectionStats>,
    /// Counters servers → client.
    pub from_servers: Arc<DirectionStats>,
}

impl Relay {
    /// Starts relaying between `client_tun` and `server_tun` (threads run until the
    /// process exits or a device fails).
    pub fn start(
        client_tun: File,
        server_tun: File,
        table: LinkTable,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let table = Arc::new(table);
        let to_servers = Arc::new(DirectionStats::default());
        let from_servers = Arc::new(DirectionStats::default());
        let client_out = client_tun.try_clone().context("dup TUN fd")?;
        let server_out = server_tun.try_clone().context("dup TUN fd")?;
        spawn_direction(
            Direction::ToServers,
            client_tun,
            server_out,
            &table,
            &to_servers,
            seed,
        )?;
        spawn_direction(
            Direction::FromServers,
            server_tun,
            client_out,
            &table,
            &from_servers,
            seed ^ 0x5eed,
        )?;
        Ok(Self {
            to_servers,
            from_servers,
        })
    }

    /// `to_servers <counters> from_servers <counters>` (see [`DirectionStats::line`]).
    pub fn stats_line(&self) -> String {
        format!(
            "to_servers {} from_servers {}",
            self.to_servers.line(),
            self.from_servers.line()
        )
    }
}

fn spawn_direction(
    direction: Direction,
    input: File,
    output: File,
    table: &Arc<LinkTable>,
    stats: &Arc<DirectionStats>,
    seed: u64,
) -> anyhow::Result<()> {
    let queue = Arc::new(Queue::default());
    let (reader_queue, table, reader_stats) =
        (Arc::clone(&queue), Arc::clone(table), Arc::clone(stats));
    std::thread::Builder::new()
        .name(format!("{direction:?}-in"))
        .spawn(move || read_loop(direction, input, &table, &reader_stats, &reader_queue, seed))
        .context("spawning reader")?;
    std::thread::Builder::new()
        .name(format!("{direction:?}-out"))
        .spawn(move || write_loop(output, &queue))
        .context("spawning writer")?;
    Ok(())
}

fn read_loop(
    direction: Direction,
    mut input: File,
    table: &LinkTable,
    stats: &DirectionStats,
    queue: &Queue,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut buf = vec![0u8; MTU_BUF];
    let mut seq = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("delay-relay: {direction:?} read: {e}");
                return;
            }
        };
        let packet = buf.get(..n).unwrap_or(&[]);
        let Some(info) = packet_info(packet) else {
            stats.ignored.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        stats.packets.fetch_add(1, Ordering::Relaxed);
        stats
            .dns_udp
            .fetch_add(u64::from(info.dns_udp), Ordering::Relaxed);
        stats
            .tcp_syn
            .fetch_add(u64::from(info.tcp_syn), Ordering::Relaxed);
        let server = match direction {
            Direction::ToServers => info.dst,
            Direction::FromServers => info.src,
        };
        let link = table.get(server);
        if link.loss >= 1.0 || (link.loss > 0.0 && rng.random::<f64>() < link.loss / 2.0) {
            stats.lost.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let hold = link.rtt / 2 + link.jitter.mul_f64(rng.random::<f64>() / 2.0);
        seq += 1;
        let held = Held {
            due: Instant::now() + hold,
            seq,
            packet: packet.to_vec(),
        };
        let mut heap = queue.heap.lock().unwrap_or_else(|p| p.into_inner());
        if heap.len() >= QUEUE_LIMIT {
            stats.overflow.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        heap.push(Reverse(held));
        drop(heap);
        queue.ready.notify_one();
    }
}

fn write_loop(mut output: File, queue: &Queue) {
    loop {
        let packet = {
            let mut heap = queue.heap.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let now = Instant::now();
                let wait = match heap.peek() {
                    None => Duration::from_secs(1),
                    Some(Reverse(first)) if first.due <= now => break,
                    Some(Reverse(first)) => first.due - now,
                };
                heap = queue
                    .ready
                    .wait_timeout(heap, wait)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            match heap.pop() {
                Some(Reverse(held)) => held.packet,
                None => continue,
            }
        };
        if let Err(e) = output.write(&packet) {
            // A packet the kernel refuses (e.g. the device is down) is lost, as on a wire.
            if e.kind() != std::io::ErrorKind::Interrupted {
                eprintln!("delay-relay: write: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_defaults_to_direct() {
        let table = LinkTable::parse("# c\n10.77.0.1 40 4 1\n10.77.0.9 10 0 100 # dead\n").unwrap();
        let link = table.get(Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(link.rtt, Duration::from_millis(40));
        assert_eq!(link.jitter, Duration::from_millis(4));
        assert!((link.loss - 0.01).abs() < 1e-9);
        assert_eq!(table.get(Ipv4Addr::new(10, 77, 0, 9)).loss, 1.0);
        assert_eq!(table.get(Ipv4Addr::new(10, 77, 0, 2)), Link::DIRECT);
        assert!(LinkTable::parse("10.77.0.1 40 4").is_err());
        assert!(LinkTable::parse("10.77.0.1 40 4 101").is_err());
    }

    #[test]
    fn packet_info_reads_udp_dns_and_tcp_syn() {
        let mut udp = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 78, 0, 1, 10, 77, 0, 5,
        ];
        udp.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 8, 0, 0]);
        let info = packet_info(&udp).unwrap();
        assert_eq!(info.src, Ipv4Addr::new(10, 78, 0, 1));
        assert_eq!(info.dst, Ipv4Addr::new(10, 77, 0, 5));
        assert!(info.dns_udp && !info.tcp_syn);
        let mut tcp = udp[..20].to_vec();
        tcp[9] = 6;
        let mut segment = vec![0u8; 20];
        segment[13] = 0x02;
        tcp.extend_from_slice(&segment);
        assert!(packet_info(&tcp).unwrap().tcp_syn);
        if let Some(flags) = tcp.get_mut(33) {
            *flags = 0x12;
        }
        assert!(!packet_info(&tcp).unwrap().tcp_syn);
        assert!(packet_info(&[0x60, 0, 0]).is_none());
    }
}
