//! A fake backend resolver for the lb's tests: on UDP and TCP at its address it
//! answers every query with one A record `192.0.2.<tag>` (TTL 60), so a test
//! can tell which backend answered. It counts the queries it sees per name and
//! can be made slow, silent, SERVFAIL, or truncating over UDP; [`FakeBackend::stop`]
//! closes its sockets as a killed pod would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;

/// How the backend answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One A record.
    Answer = 0,
    /// Nothing at all.
    Silent = 1,
    /// SERVFAIL, no records.
    Servfail = 2,
    /// Over UDP: TC set, no records; over TCP: the full answer.
    TruncateUdp = 3,
}

#[derive(Debug, Default)]
struct State {
    tag: u8,
    delay_ms: AtomicU64,
    mode: AtomicU8,
    queries: AtomicU64,
    tcp_connections: AtomicU64,
    /// The most queries one TCP connection had waiting for their answers at
    /// once: above 1 only if the client pipelines.
    peak_pipelined: AtomicU64,
    /// Queries seen per lower-cased dotted name.
    names: Mutex<HashMap<String, u64>>,
}

/// A running fake backend; dropping it stops it.
#[derive(Debug)]
pub struct FakeBackend {
    addr: SocketAddr,
    state: Arc<State>,
    tasks: Option<JoinSet<()>>,
}

impl FakeBackend {
    /// Serves on `addr` (UDP and TCP; port 0 picks one free for both).
    /// `tag` is the last octet of the address it answers with.
    pub async fn start(addr: SocketAddr, tag: u8) -> anyhow::Result<FakeBackend> {
        let udp = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("bind udp {addr}"))?;
        let addr = udp.local_addr()?;
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("bind tcp {addr}"))?;
        let state = Arc::new(State {
            tag,
            ..State::default()
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(serve_udp(Arc::new(udp), state.clone()));
        tasks.spawn(serve_tcp(tcp, state.clone()));
        Ok(FakeBackend {
            addr,
            state,
            tasks: Some(tasks),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries seen (UDP and TCP).
    pub fn queries(&self) -> u64 {
        self.state.queries.load(Ordering::Relaxed)
    }

    /// TCP connections accepted.
    pub fn tcp_connections(&self) -> u64 {
        self.state.tcp_connections.load(Ordering::Relaxed)
    }

    /// The most queries one TCP connection had in flight at once (received,
    /// not yet answered): proof of pipelining that no clock takes part in.
    pub fn peak_pipelined(&self) -> u64 {
        self.state.peak_pipelined.load(Ordering::Relaxed)
    }

    /// Queries seen for names ending in `suffix` (dotted, lower case).
    pub fn queries_under(&self, suffix: &str) -> u64 {
        self.state
            .names
            .lock()
            .iter()
            .filter(|(name, _)| name.ends_with(suffix))
            .map(|(_, n)| n)
            .sum()
    }

    /// The names seen ending in `suffix`.
    pub fn names_under(&self, suffix: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .state
            .names
            .lock()
            .keys()
            .filter(|name| name.ends_with(suffix))
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Answers after `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.state.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Changes how it answers.
    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Closes its sockets, as a killed pod's would be.
    pub fn stop(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.abort_all();
        }
    }
}

impl Drop for FakeBackend {
    fn drop(&mut self) {
        self.stop();
    }
}

fn mode(state: &State) -> Mode {
    match state.mode.load(Ordering::Relaxed) {
        1 => Mode::Silent,
        2 => Mode::Servfail,
        3 => Mode::TruncateUdp,
        _ => Mode::Answer,
    }
}

/// The reply to `query`, or `None` to stay silent (or for garbage).
fn reply(state: &State, query: &[u8], over_tcp: bool) -> Option<Vec<u8>> {
    let (name, _, question_end) = crate::wire::question(query)?;
    let name = format!("{name}.");
    state.queries.fetch_add(1, Ordering::Relaxed);
    *state.names.lock().entry(name).or_default() += 1;
    let mode = mode(state);
    if mode == Mode::Silent {
        return None;
    }
    let mut out = query[..question_end].to_vec();
    let rd = query[2] & 0x01;
    out[2] = 0x80 | rd; // QR, opcode 0, RD copied
    out[3] = 0x80; // RA, NOERROR
    out[6..12].fill(0);
    match mode {
        Mode::Servfail => out[3] |= 2,
        Mode::TruncateUdp if !over_tcp => out[2] |= 0x02,
        _ => {
            out[7] = 1; // ANCOUNT
            out.extend_from_slice(&[
                0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, state.tag,
            ]);
        }
    }
    Some(out)
}

async fn delay(state: &State) {
    let ms = state.delay_ms.load(Ordering::Relaxed);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

async fn serve_udp(socket: Arc<UdpSocket>, state: Arc<State>) {
    let mut buf = vec![0u8; 65_535];
    let mut pending = JoinSet::new();
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Some(out) = reply(&state, &buf[..len], false) else {
            continue;
        };
        if state.delay_ms.load(Ordering::Relaxed) == 0 {
            let _ = socket.send_to(&out, peer).await;
        } else {
            let (socket, state) = (socket.clone(), state.clone());
            pending.spawn(async move {
                delay(&state).await;
                let _ = socket.send_to(&out, peer).await;
            });
            while pending.try_join_next().is_some() {}
        }
    }
}

async fn serve_tcp(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        state.tcp_connections.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        conns.spawn(async move {
            // Pipelined queries are answered concurrently, each after the delay,
            // in whatever order they finish (RFC 7766 §6.2.1.1).
            let (mut reader, writer) = stream.into_split();
            let writer = Arc::new(tokio::sync::Mutex::new(writer));
            let in_flight = Arc::new(AtomicU64::new(0));
            let mut answers = JoinSet::new();
            loop {
                let mut len = [0u8; 2];
                if reader.read_exact(&mut len).await.is_err() {
                    break;
                }
                let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if reader.read_exact(&mut msg).await.is_err() {
                    break;
                }
                let Some(out) = reply(&state, &msg, true) else {
                    continue;
                };
                let waiting = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                state.peak_pipelined.fetch_max(waiting, Ordering::Relaxed);
                let (state, writer, in_flight) = (state.clone(), writer.clone(), in_flight.clone());
                answers.spawn(async move {
                    delay(&state).await;
                    let mut framed = u16::try_from(out.len()).unwrap_or(0).to_be_bytes().to_vec();
                    framed.extend_from_slice(&out);
                    let _ = writer.lock().await.write_all(&framed).await;
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                });
                while answers.try_join_next().is_some() {}
            }
            while answers.join_next().await.is_some() {}
        });
        while conns.try_join_next().is_some() {}
    }
}

/// A fake DNS directory for the lb's backend discovery: answers A queries for
/// any name with the current address list (TTL 0), AAAA with no records.
#[derive(Debug)]
pub struct FakeDirectory {
    addr: SocketAddr,
    addrs: Arc<Mutex<Vec<std::net::Ipv4Addr>>>,
    lookups: Arc<AtomicU64>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeDirectory {
    /// Serves on `addr` (UDP) with `addrs` as the answer.
    pub async fn start(
        addr: SocketAddr,
        addrs: &[std::net::Ipv4Addr],
    ) -> anyhow::Result<FakeDirectory> {
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("bind udp {addr}"))?;
        let addr = socket.local_addr()?;
        let list = Arc::new(Mutex::new(addrs.to_vec()));
        let lookups = Arc::new(AtomicU64::new(0));
        let (served, counter) = (list.clone(), lookups.clone());
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_535];
            loop {
                let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let query = &buf[..len];
                if len < 12 || query[2] & 0x80 != 0 {
                    continue;
                }
                let Ok(end) = question_end(query) else {
                    continue;
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let qtype = u16::from_be_bytes([query[end - 4], query[end - 3]]);
                let mut out = query[..end].to_vec();
                out[2] = 0x84 | (query[2] & 0x01); // QR, AA, RD copied
                out[3] = 0x80;
                out[6..12].fill(0);
                if qtype == 1 {
                    let list = served.lock().clone();
                    out[6..8]
                        .copy_from_slice(&u16::try_from(list.len()).unwrap_or(0).to_be_bytes());
                    for ip in list {
                        out.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]);
                        out.extend_from_slice(&ip.octets());
                    }
                }
                let _ = socket.send_to(&out, peer).await;
            }
        });
        Ok(FakeDirectory {
            addr,
            addrs: list,
            lookups,
            task: Some(task),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes the answer.
    pub fn set(&self, addrs: &[std::net::Ipv4Addr]) {
        *self.addrs.lock() = addrs.to_vec();
    }

    /// Lookups answered so far.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Stops answering (closes the socket).
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for FakeDirectory {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The end of the question section of a one-question message.
fn question_end(msg: &[u8]) -> Result<usize, ()> {
    let mut pos = 12;
    loop {
        let len = usize::from(*msg.get(pos).ok_or(())?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return Err(());
        }
        pos += 1 + len;
    }
    let end = pos + 4;
    if msg.len() < end {
        return Err(());
    }
    Ok(end)
}
