//! One fake authoritative server: UDP and TCP on the same address, runtime fault
//! switches and query counters.
//!
//! Per query, in order: count it → maybe drop it (`set_drop_percent`) → wait
//! (`set_delay`) → the responder, if set and it returns `Some` → REFUSED if
//! `set_refused` → SERVFAIL if `set_servfail` → the authoritative answer (its question
//! lowercased if `set_lowercase_question`). Over UDP the
//! reply is then cut to header + question (+ OPT) with TC=1 when `set_always_truncate`
//! is on or it exceeds the client's limit (512 bytes without EDNS, else the client's
//! advertised payload; RFC 6891 §7). TCP (RFC 7766, 2-byte length framing) always
//! gets the full reply. With `set_cookies` the reply carries DNS cookies (see
//! [`cookies`](super::cookies)); with `set_forge_cookie` a forged UDP reply goes
//! out before the real one.
//!
//! HOT PATH: with no delay the UDP reply is computed inline in the receive task (no
//! spawn); several receive tasks share the socket so all runtime threads serve it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RecordType};
use parking_lot::{Mutex, RwLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::authority::{error_response, Catalog};
use super::cookies::CookieState;

/// A misbehaving handler: `Some(reply)` is sent as is, `None` falls through to the
/// normal logic. Plain functions from [`responders`](super::responders) fit.
pub type Responder = Arc<dyn Fn(&Message) -> Option<Message> + Send + Sync>;

/// How long an idle TCP connection is kept open.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Distinct (qname, qtype) pairs counted per server: a unique-name benchmark
/// would otherwise grow the map without bound. Later new questions still count
/// in the totals, not in [`FakeServer::queries_for`].
const MAX_TRACKED_QUESTIONS: usize = 100_000;
/// Receive buffer requested for each UDP socket (benchmarks send bursts).
const UDP_BUFFER: usize = 4 << 20;

#[derive(Default)]
struct Faults {
    delay_us: AtomicU64,
    drop_percent: AtomicU8,
    servfail: AtomicBool,
    refused: AtomicBool,
    always_truncate: AtomicBool,
    lowercase_question: AtomicBool,
    has_responder: AtomicBool,
    responder: RwLock<Option<Responder>>,
}

#[derive(Default)]
struct Counters {
    total: AtomicU64,
    udp: AtomicU64,
    tcp: AtomicU64,
    by_question: Mutex<HashMap<(LowerName, RecordType), u64>>,
}

struct Shared {
    catalog: Catalog,
    faults: Faults,
    cookies: CookieState,
    counters: Counters,
    stop: watch::Sender<bool>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Udp,
    Tcp,
}

/// A running fake authoritative server. Dropping it stops it.
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let zones: Vec<String> = self
            .shared
            .catalog
            .zones()
            .map(|z| z.origin().to_string())
            .collect();
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .field("zones", &zones)
            .finish()
    }
}

impl FakeServer {
    /// Binds UDP and TCP on `addr` (port 0 picks one free port for both) and serves
    /// `catalog`. Must be called inside a tokio runtime.
    pub async fn start(addr: SocketAddr, catalog: Catalog) -> anyhow::Result<Self> {
        let udp = bind_udp(addr).with_context(|| format!("binding UDP {addr}"))?;
        let addr = udp.local_addr()?;
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding TCP {addr}"))?;
        let udp = Arc::new(udp);
        let (stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            catalog,
            faults: Faults::default(),
            cookies: CookieState::default(),
            counters: Counters::default(),
            stop,
        });
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
        let mut tasks = Vec::with_capacity(workers + 1);
        for _ in 0..workers {
            tasks.push(tokio::spawn(udp_loop(
                Arc::clone(&udp),
                Arc::clone(&shared),
            )));
        }
        tasks.push(tokio::spawn(tcp_loop(tcp, Arc::clone(&shared))));
        Ok(Self {
            addr,
            shared,
            tasks,
        })
    }

    /// The address served (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The apex names of the zones served.
    pub fn zones(&self) -> Vec<Name> {
        self.shared
            .catalog
            .zones()
            .map(|z| z.origin().clone())
            .collect()
    }

    /// Delays every reply by `delay` (zero: answer at once). Replies are delayed
    /// independently, so this adds latency without serializing queries.
    pub fn set_delay(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.shared.faults.delay_us.store(us, Ordering::Relaxed);
    }

    /// Drops this percentage of queries without reply (values above 100 mean 100).
    pub fn set_drop_percent(&self, percent: u8) {
        self.shared
            .faults
            .drop_percent
            .store(percent.min(100), Ordering::Relaxed);
    }

    /// Answers every query with SERVFAIL.
    pub fn set_servfail(&self, on: bool) {
        self.shared.faults.servfail.store(on, Ordering::Relaxed);
    }

    /// Answers every query with REFUSED (takes precedence over SERVFAIL).
    pub fn set_refused(&self, on: bool) {
        self.shared.faults.refused.store(on, Ordering::Relaxed);
    }

    /// Sets TC=1 with empty sections on every UDP reply (TCP is unaffected).
    pub fn set_always_truncate(&self, on: bool) {
        self.shared
            .faults
            .always_truncate
            .store(on, Ordering::Relaxed);
    }

    /// Echoes the question in lowercase whatever case it came in (servers and
    /// middleboxes that defeat use-caps-for-id, 0x20).
    pub fn set_lowercase_question(&self, on: bool) {
        self.shared
            .faults
            .lowercase_question
            .store(on, Ordering::Relaxed);
    }

    /// Installs (or with `None` removes) a misbehaving handler; see [`Responder`].
    pub fn set_responder(&self, responder: Option<Responder>) {
        let on = responder.is_some();
        *self.shared.faults.responder.write() = responder;
        self.shared
            .faults
            .has_responder
            .store(on, Ordering::Release);
    }

    /// DNS cookies ([`cookies`](super::cookies)): log queries' COOKIE options,
    /// answer with a server cookie, BADCOOKIE for a stale one.
    pub fn set_cookies(&self, on: bool) {
        self.shared.cookies.set_on(on);
    }

    /// Before each real UDP reply, send a forged one whose COOKIE option
    /// carries another client cookie (see [`cookies`](super::cookies)).
    pub fn set_forge_cookie(&self, on: bool) {
        self.shared.cookies.set_forge(on);
    }

    /// Changes the server cookie: queries with the old one get BADCOOKIE.
    pub fn rotate_cookie(&self) {
        self.shared.cookies.rotate();
    }

    /// The COOKIE option of every query since cookies were switched on or the
    /// log cleared (empty for a query without one).
    pub fn cookie_log(&self) -> Vec<Vec<u8>> {
        self.shared.cookies.log()
    }

    /// Empties [`FakeServer::cookie_log`].
    pub fn clear_cookie_log(&self) {
        self.shared.cookies.clear_log();
    }

    /// Clears every fault: no delay, no loss, no SERVFAIL/REFUSED, no forced TC,
    /// no responder, no forged cookies.
    pub fn clear_faults(&self) {
        self.set_forge_cookie(false);
        self.set_delay(Duration::ZERO);
        self.set_drop_percent(0);
        self.set_servfail(false);
        self.set_refused(false);
        self.set_always_truncate(false);
        self.set_lowercase_question(false);
        self.set_responder(None);
    }

    /// Queries received (UDP + TCP), including dropped ones.
    pub fn queries(&self) -> u64 {
        self.shared.counters.total.load(Ordering::Relaxed)
    }

    /// Queries received over UDP.
    pub fn udp_queries(&self) -> u64 {
        self.shared.counters.udp.load(Ordering::Relaxed)
    }

    /// Queries received over TCP.
    pub fn tcp_queries(&self) -> u64 {
        self.shared.counters.tcp.load(Ordering::Relaxed)
    }

    /// Queries received for `name` (case-insensitive, trailing dot optional) and `rtype`.
    /// Exact for the first 100,000 distinct questions since the last reset.
    pub fn queries_for(&self, name: &str, rtype: RecordType) -> u64 {
        let Ok(mut name) = Name::from_ascii(name) else {
            return 0;
        };
        name.set_fqdn(true);
        let key = (LowerName::new(&name), rtype);
        self.shared
            .counters
            .by_question
            .lock()
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// Every `(qname, qtype)` asked so far with its count (lower-cased names).
    pub fn query_log(&self) -> Vec<(Name, RecordType, u64)> {
        let map = self.shared.counters.by_question.lock();
        let mut log: Vec<_> = map
            .iter()
            .map(|((name, rtype), n)| (Name::from(name), *rtype, *n))
            .collect();
        log.sort_by(|a, b| a.0.cmp(&b.0).then(u16::from(a.1).cmp(&u16::from(b.1))));
        log
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        let c = &self.shared.counters;
        c.total.store(0, Ordering::Relaxed);
        c.udp.store(0, Ordering::Relaxed);
        c.tcp.store(0, Ordering::Relaxed);
        c.by_question.lock().clear();
    }

    /// Stops serving and waits until the sockets are closed.
    pub async fn shutdown(mut self) {
        self.stop_tasks();
        for task in self.tasks.drain(..) {
            // A cancelled task's JoinError is the expected outcome here.
            let _ = task.await;
        }
    }

    fn stop_tasks(&self) {
        self.shared.stop.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

fn bind_udp(addr: SocketAddr) -> anyhow::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = socket.set_recv_buffer_size(UDP_BUFFER);
    let _ = socket.set_send_buffer_size(UDP_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(UdpSocket::from_std(socket.into())?)
}

async fn udp_loop(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65535];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(_) => {
                // Transient (e.g. ICMP-reported errors); never spin.
                tokio::task::yield_now().await;
                continue;
            }
        };
        let Some(req) = admit(&shared, &buf[..len], Proto::Udp) else {
            continue;
        };
        if let Some(forged) = shared.cookies.forged(&req).and_then(|m| m.to_vec().ok()) {
            let _ = socket.send_to(&forged, peer).await;
        }
        let delay = shared.faults.delay_us.load(Ordering::Relaxed);
        if delay == 0 {
            if let Some(bytes) = respond(&shared, &req, Proto::Udp) {
                let _ = socket.send_to(&bytes, peer).await;
            }
        } else {
            let socket = Arc::clone(&socket);
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut stop = shared.stop.subscribe();
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_micros(delay)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                if let Some(bytes) = respond(&shared, &req, Proto::Udp) {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            });
        }
    }
}

async fn tcp_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut stop = shared.stop.subscribe();
            tokio::select! {
                () = serve_tcp(stream, &shared) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}

/// One TCP connection: length-prefixed messages answered in order until EOF,
/// an error or [`TCP_IDLE`] without a query.
async fn serve_tcp(mut stream: TcpStream, shared: &Shared) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut msg).await.is_err() {
            return;
        }
        let Some(req) = admit(shared, &msg, Proto::Tcp) else {
            continue;
        };
        let delay = shared.faults.delay_us.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_micros(delay)).await;
        }
        let Some(bytes) = respond(shared, &req, Proto::Tcp) else {
            continue;
        };
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&bytes);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// Parses and counts a query; `None` when it is not a query or is dropped.
fn admit(shared: &Shared, bytes: &[u8], proto: Proto) -> Option<Message> {
    let req = Message::from_vec(bytes).ok()?;
    if req.message_type != MessageType::Query {
        return None;
    }
    let counters = &shared.counters;
    counters.total.fetch_add(1, Ordering::Relaxed);
    match proto {
        Proto::Udp => counters.udp.fetch_add(1, Ordering::Relaxed),
        Proto::Tcp => counters.tcp.fetch_add(1, Ordering::Relaxed),
    };
    if let Some(q) = req.queries.first() {
        let key = (LowerName::new(q.name()), q.query_type());
        let mut map = counters.by_question.lock();
        let tracked = map.len();
        if let Some(count) = map.get_mut(&key) {
            *count += 1;
        } else if tracked < MAX_TRACKED_QUESTIONS {
            map.insert(key, 1);
        }
    }
    let drop = shared.faults.drop_percent.load(Ordering::Relaxed);
    if drop > 0 && rand::random_range(0..100u8) < drop {
        return None;
    }
    Some(req)
}

/// `resp` with its question names in lowercase.
fn lowercase_question(mut resp: Message) -> Message {
    for query in &mut resp.queries {
        let lower = query.name().to_lowercase();
        query.set_name(lower);
    }
    resp
}

/// Builds the reply bytes for an admitted query; `None` sends nothing.
fn respond(shared: &Shared, req: &Message, proto: Proto) -> Option<Vec<u8>> {
    let faults = &shared.faults;
    let mut resp = None;
    if faults.has_responder.load(Ordering::Acquire) {
        if let Some(responder) = faults.responder.read().as_ref() {
            resp = responder(req);
        }
    }
    let resp = match resp {
        Some(resp) => resp,
        None if faults.refused.load(Ordering::Relaxed) => {
            error_response(req, ResponseCode::Refused)
        }
        None if faults.servfail.load(Ordering::Relaxed) => {
            error_response(req, ResponseCode::ServFail)
        }
        None => shared.catalog.answer(req),
    };
    let resp = if faults.lowercase_question.load(Ordering::Relaxed) {
        lowercase_question(resp)
    } else {
        resp
    };
    let resp = shared.cookies.apply(req, resp);
    let bytes = resp.to_vec().ok()?;
    if proto == Proto::Tcp {
        return Some(bytes);
    }
    let limit = usize::from(req.max_payload());
    if faults.always_truncate.load(Ordering::Relaxed) || bytes.len() > limit {
        return resp.truncate().to_vec().ok();
    }
    Some(bytes)
}
