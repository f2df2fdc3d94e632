//! The DNS front end shared by the resolver and the lb: UDP, TCP and DoT listeners
//! feeding one [`DnsHandler`]. Wire bytes in, wire bytes out: the front end never
//! parses a message, so the handler owns EDNS, truncation and every counter.
//!
//! Threads: each UDP receive loop runs on its own OS thread with a
//! single-threaded tokio runtime (Unbound's thread-per-socket model): the
//! Pending work it spawns (a cache miss's resolution) stays on that thread, so
//! no query crosses threads. TCP and DoT run on the caller's runtime.
//!
//! HOT PATH: on Linux the UDP loop receives up to `udp_batch` datagrams per
//! recvmmsg and sends the ready replies with one sendmmsg (`mmsg`), reusing its
//! receive and reply buffers; a handler that answers synchronously
//! ([`Reply::Ready`]) costs no allocation and no task spawn. Only [`Reply::Pending`] (cache miss, proxied
//! query) spawns a task (UDP) or joins the connection's in-flight set (TCP, DoT).
//!
//! Drain: when the [`Shutdown`] token fires, listeners stop receiving and
//! accepting, TCP connections stop reading and finish the queries they hold, and
//! [`serve`] waits for in-flight work up to `drain_timeout`, then abandons it.

mod conn;
mod limit;
#[cfg(target_os = "linux")]
mod mmsg;
mod udp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::shutdown::Shutdown;
use crate::tls::{TlsError, TlsFiles, TlsReloader};

/// How a query reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Plain UDP: the handler must fit the reply to the client's size.
    Udp,
    /// Plain TCP, length-prefixed (RFC 7766).
    Tcp,
    /// DNS over TLS (RFC 7858).
    Tls,
}

impl Transport {
    /// Lower-case name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// One query as received: raw bytes plus where and when they came from.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The message exactly as received (unvalidated).
    pub wire: &'a [u8],
    /// The client.
    pub peer: SocketAddr,
    /// Our address. For UDP this is the socket's bound address, which is the
    /// wildcard when listening on `0.0.0.0` or `::`, unless
    /// [`FrontendConfig::udp_pktinfo`] gives the query's destination address.
    pub local: SocketAddr,
    /// UDP, TCP or DoT.
    pub transport: Transport,
    /// When the front end took the message off the socket.
    pub received_at: tokio::time::Instant,
    /// For UDP: the way to answer later without a [`Reply::Pending`] future
    /// (return [`Reply::Detached`] after keeping a clone). `None` for TCP and DoT.
    pub responder: Option<&'a Responder>,
}

/// Answers a UDP query after `handle` returned [`Reply::Detached`]: a handle on
/// the socket the query came in on. A proxy keeps one per query in flight and
/// answers from wherever the upstream response arrives, with no task or
/// future per query.
#[derive(Clone)]
pub struct Responder {
    socket: udp::ResponderSocket,
    tracker: Tracker,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").finish_non_exhaustive()
    }
}

/// Keeps the front end's drain waiting while a detached query is unanswered;
/// drop it when the query is answered or given up on.
#[derive(Debug)]
pub struct InFlight {
    _tracked: Tracked,
}

impl Responder {
    /// Sends `reply` to `peer` now when the socket has room, else from a task of
    /// the current runtime once it has. Failures are logged, not returned (a
    /// lost UDP reply is what the network does anyway).
    pub fn send(&self, reply: &[u8], peer: SocketAddr) {
        self.socket.send(reply, peer);
    }

    /// Marks a detached query in flight for the shutdown drain.
    pub fn hold(&self) -> InFlight {
        InFlight {
            _tracked: self.tracker.track(),
        }
    }
}

/// A reply computed later: `None` means send nothing.
pub type PendingReply = Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send + 'static>>;

/// What the handler did with a query.
pub enum Reply {
    /// The reply is in `out`; send it now.
    Ready,
    /// Send nothing (malformed, policy drop, or a response sent to us).
    Drop,
    /// The reply comes later (cache miss, proxied query).
    Pending(PendingReply),
    /// The handler kept the query's [`Responder`] and answers through it (or
    /// not): the front end does nothing more. Only for queries that had one.
    Detached,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Ready => f.write_str("Ready"),
            Reply::Drop => f.write_str("Drop"),
            Reply::Pending(_) => f.write_str("Pending(..)"),
            Reply::Detached => f.write_str("Detached"),
        }
    }
}

/// The daemon's query pipeline, as the front end sees it.
pub trait DnsHandler: Send + Sync + 'static {
    /// Synchronous fast path: write the reply into `out` (cleared by the caller)
    /// and return Ready; or Drop; or defer with Pending (a cache miss, a proxied
    /// query). For UDP the handler itself is responsible for fitting the reply to
    /// the client's size (it knows EDNS); the frontend never parses.
    ///
    /// HOT PATH: called inline by the receive loop; must not block.
    fn handle(&self, query: &Query<'_>, out: &mut Vec<u8>) -> Reply;
}

/// Listener addresses and limits.
#[derive(Debug, Clone)]
pub struct FrontendConfig {
    /// UDP listen addresses.
    pub udp: Vec<SocketAddr>,
    /// TCP listen addresses.
    pub tcp: Vec<SocketAddr>,
    /// DoT listen addresses; needs `tls_files`.
    pub tls: Vec<SocketAddr>,
    /// Certificate and key for DoT.
    pub tls_files: Option<TlsFiles>,
    /// Receive threads per UDP address (Unbound `num-threads`; default: the CPU
    /// count), each with its own single-threaded runtime. With `reuseport` each
    /// gets its own SO_REUSEPORT socket (the kernel spreads clients across them);
    /// without, the threads share one socket.
    /// Measured on 2 cores: one socket 130k QPS, two 148k.
    pub udp_sockets_per_addr: NonZeroUsize,
    /// Set SO_REUSEPORT on every listening socket (Unbound `so-reuseport`).
    pub reuseport: bool,
    /// SO_RCVBUF for UDP sockets (Unbound `so-rcvbuf`); `None` keeps the kernel default.
    pub udp_recv_buffer: Option<usize>,
    /// SO_SNDBUF for UDP sockets (Unbound `so-sndbuf`); `None` keeps the kernel default.
    pub udp_send_buffer: Option<usize>,
    /// Datagrams taken per receive system call on Linux (recvmmsg; the batch's
    /// Ready replies go out with one sendmmsg), at most 1024. 0 or 1: one
    /// recvfrom and one sendto per query, as on other platforms. Each receive
    /// task reserves 64 KiB of (lazily committed) buffer per slot. Measured on 2
    /// cores with dnsperf over loopback: 32 makes ~3.7x fewer socket syscalls
    /// but only ~4% less server CPU per query, since per-packet network-stack
    /// work, not the syscall count, dominates.
    pub udp_batch: usize,
    /// On Linux with `udp_batch` > 1: receive threads sleep in a blocking
    /// recvmmsg instead of running an event loop, which halves the system calls
    /// per wakeup at low load; Pending replies then run on the runtime that
    /// called [`serve`]. For handlers that answer UDP inline or detached (the
    /// lb); a handler that resolves on the receiving thread wants `false`.
    pub udp_blocking: bool,
    /// Close a TCP or DoT connection idle this long (Unbound `tcp-idle-timeout`).
    /// Also bounds each write to a client that does not read.
    pub tcp_idle_timeout: Duration,
    /// Open TCP plus DoT connections at most; a new one over the limit is closed at once.
    /// Over half of them in use, new connections get shorter idle timeouts, as
    /// Unbound's: a hundredth over 50 %, a five-hundredth over 65 %, the 200 ms
    /// minimum over 80 %.
    pub tcp_max_connections: usize,
    /// Open connections one client may hold (an IPv4 address; an IPv6 /64), so one
    /// client cannot take every slot and starve the others; `None`: half of
    /// `tcp_max_connections`, rounded up. Unbound has no such cap (its
    /// `tcp-connection-limit` needs the client's netblock named in advance).
    pub tcp_max_connections_per_client: Option<usize>,
    /// Unbound's `tcp-connection-limit NETBLOCK LIMIT`: connections the whole
    /// netblock may hold at once (longest prefix applies; 0 refuses the block).
    pub tcp_connection_limits: Vec<(IpNet, u32)>,
    /// Pending queries per connection at most; past it the connection stops reading
    /// until a reply completes.
    pub tcp_max_in_flight_per_conn: usize,
    /// Give up on a TLS handshake after this long (or the connection's idle
    /// timeout, when load made that shorter).
    pub tls_handshake_timeout: Duration,
    /// How often to check the certificate files for changes.
    pub tls_reload_interval: Duration,
    /// How long [`serve`] waits for in-flight work after shutdown.
    pub drain_timeout: Duration,
    /// Unbound's `interface-automatic` (Linux): UDP sockets bound to a wildcard
    /// address (`0.0.0.0`, `::`) read each query's destination address
    /// (IP_PKTINFO, IPV6_RECVPKTINFO), show it as [`Query::local`] and send the
    /// reply from it, so a client that sent to one of the host's addresses gets
    /// its answer from that address (node-local caches on a link-local address
    /// rely on it). Such sockets always take the recvmmsg/sendmmsg loop. Replies
    /// a handler sends itself through a [`Responder`] ([`Reply::Detached`]) leave
    /// from the address the kernel picks. Elsewhere than Linux, binding fails.
    pub udp_pktinfo: bool,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        FrontendConfig {
            udp: Vec::new(),
            tcp: Vec::new(),
            tls: Vec::new(),
            tls_files: None,
            udp_sockets_per_addr: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            reuseport: true,
            udp_recv_buffer: None,
            udp_send_buffer: None,
            udp_batch: 32,
            udp_blocking: false,
            tcp_idle_timeout: Duration::from_secs(30),
            tcp_max_connections: 1000,
            tcp_max_connections_per_client: None,
            tcp_connection_limits: Vec::new(),
            tcp_max_in_flight_per_conn: 100,
            tls_handshake_timeout: Duration::from_secs(5),
            tls_reload_interval: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(5),
            udp_pktinfo: false,
        }
    }
}

impl FrontendConfig {
    /// [`FrontendConfig::tcp_max_connections_per_client`] with its default applied.
    pub fn per_client_connections(&self) -> usize {
        self.tcp_max_connections_per_client
            .unwrap_or(self.tcp_max_connections.div_ceil(2))
            .max(1)
    }
}

/// Why the front end could not start.
#[derive(thiserror::Error, Debug)]
pub enum FrontendError {
    /// Creating, configuring or binding a socket failed.
    #[error("cannot listen on {proto} {addr}: {source}")]
    Bind {
        /// "udp", "tcp" or "tls".
        proto: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// DoT addresses were given without certificate files.
    #[error("DoT listeners configured without a TLS certificate and key")]
    MissingTlsFiles,
    /// The certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A bound socket could not be handed to the tokio runtime.
    #[error("cannot register {proto} socket {addr} with the runtime: {source}")]
    Register {
        /// "udp", "tcp" or "tls".
        proto: &'static str,
        /// The socket's address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// A UDP socket and how many receive threads share it.
#[derive(Debug)]
struct UdpBound {
    socket: std::net::UdpSocket,
    local: SocketAddr,
    tasks: usize,
    /// The socket reports destination addresses (see [`FrontendConfig::udp_pktinfo`]).
    pktinfo: bool,
}

#[derive(Debug)]
struct TcpBound {
    listener: std::net::TcpListener,
    local: SocketAddr,
}

/// Every socket bound and the certificate loaded, ready for [`serve`].
#[derive(Debug)]
pub struct BoundFrontend {
    udp: Vec<UdpBound>,
    tcp: Vec<TcpBound>,
    tls: Vec<TcpBound>,
    tls_reloader: Option<TlsReloader>,
    cfg: FrontendConfig,
}

fn bind_err(proto: &'static str, addr: SocketAddr) -> impl FnOnce(io::Error) -> FrontendError {
    move |source| FrontendError::Bind {
        proto,
        addr,
        source,
    }
}

fn new_socket(addr: SocketAddr, ty: Type, proto: Protocol, reuseport: bool) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() {
        // One socket per family: a `::` listener must not swallow IPv4 traffic.
        socket.set_only_v6(true)?;
    }
    if reuseport {
        set_reuseport(&socket)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
))]
fn set_reuseport(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
)))]
fn set_reuseport(_socket: &Socket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_REUSEPORT is not available on this platform",
    ))
}

fn bind_udp(
    addr: SocketAddr,
    cfg: &FrontendConfig,
    reuseport: bool,
) -> io::Result<std::net::UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP, reuseport)?;
    if let Some(n) = cfg.udp_recv_buffer {
        socket.set_recv_buffer_size(n)?;
    }
    if let Some(n) = cfg.udp_send_buffer {
        socket.set_send_buffer_size(n)?;
    }
    if wants_pktinfo(addr, cfg) {
        enable_pktinfo(&socket, addr.is_ipv6())?;
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Whether the UDP socket for `addr` reads destination addresses.
fn wants_pktinfo(addr: SocketAddr, cfg: &FrontendConfig) -> bool {
    cfg.udp_pktinfo && addr.ip().is_unspecified()
}

#[cfg(target_os = "linux")]
fn enable_pktinfo(socket: &Socket, ipv6: bool) -> io::Result<()> {
    mmsg::enable_pktinfo(socket, ipv6)
}

#[cfg(not(target_os = "linux"))]
fn enable_pktinfo(_socket: &Socket, _ipv6: bool) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "answering from the query's destination address (interface-automatic) needs Linux",
    ))
}

fn bind_tcp(addr: SocketAddr, reuseport: bool) -> io::Result<std::net::TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP, reuseport)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

fn bind_listeners(
    addrs: &[SocketAddr],
    proto: &'static str,
    reuseport: bool,
) -> Result<Vec<TcpBound>, FrontendError> {
    addrs
        .iter()
        .map(|&addr| {
            let listener = bind_tcp(addr, reuseport).map_err(bind_err(proto, addr))?;
            let local = listener.local_addr().map_err(bind_err(proto, addr))?;
            Ok(TcpBound { listener, local })
        })
        .collect()
}

impl BoundFrontend {
    /// Binds every socket synchronously (std sockets, non-blocking, via socket2)
    /// so bind errors surface before `serve` and tests can read ports. Callable
    /// outside a runtime. With port 0 and several reuseport sockets, the first bind
    /// picks the port and the rest reuse it. TCP and TLS listeners with port 0 each
    /// get their own port. IPv6 sockets set IPV6_V6ONLY.
    pub fn bind(cfg: FrontendConfig) -> Result<Self, FrontendError> {
        let tls_reloader = match (&cfg.tls_files, cfg.tls.is_empty()) {
            (_, true) => None,
            (None, false) => return Err(FrontendError::MissingTlsFiles),
            (Some(files), false) => Some(TlsReloader::load(files.clone())?),
        };
        let per_addr = cfg.udp_sockets_per_addr.get();
        let (sockets, tasks) = if cfg.reuseport {
            (per_addr, 1)
        } else {
            (1, per_addr)
        };
        let mut udp = Vec::with_capacity(cfg.udp.len() * sockets);
        for &addr in &cfg.udp {
            let mut addr_now = addr;
            for _ in 0..sockets {
                let socket =
                    bind_udp(addr_now, &cfg, cfg.reuseport).map_err(bind_err("udp", addr))?;
                let local = socket.local_addr().map_err(bind_err("udp", addr))?;
                // Port 0: the first socket picked the port, the others share it.
                addr_now = local;
                udp.push(UdpBound {
                    socket,
                    local,
                    tasks,
                    pktinfo: wants_pktinfo(addr, &cfg),
                });
            }
        }
        let tcp = bind_listeners(&cfg.tcp, "tcp", cfg.reuseport)?;
        let tls = bind_listeners(&cfg.tls, "tls", cfg.reuseport)?;
        Ok(BoundFrontend {
            udp,
            tcp,
            tls,
            tls_reloader,
            cfg,
        })
    }

    /// The bound UDP addresses, one per configured address.
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        let mut out: Vec<SocketAddr> = Vec::with_capacity(self.cfg.udp.len());
        for u in &self.udp {
            if !out.contains(&u.local) {
                out.push(u.local);
            }
        }
        out
    }

    /// The bound TCP addresses.
    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.iter().map(|t| t.local).collect()
    }

    /// The bound DoT addresses.
    pub fn tls_addrs(&self) -> Vec<SocketAddr> {
        self.tls.iter().map(|t| t.local).collect()
    }

    /// The certificate reloader, when DoT is configured (for a SIGHUP-triggered
    /// [`TlsReloader::reload`]).
    pub fn tls_reloader(&self) -> Option<&TlsReloader> {
        self.tls_reloader.as_ref()
    }
}

/// Counts in-flight work (pending UDP replies, open connections) for the drain.
#[derive(Debug, Clone, Default)]
struct Tracker {
    inner: Arc<TrackerInner>,
}

#[derive(Debug, Default)]
struct TrackerInner {
    count: AtomicUsize,
    idle: Notify,
}

/// Decrements the tracker when dropped.
#[derive(Debug)]
struct Tracked {
    inner: Arc<TrackerInner>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.inner.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

impl Tracker {
    fn track(&self) -> Tracked {
        self.inner.count.fetch_add(1, Ordering::AcqRel);
        Tracked {
            inner: self.inner.clone(),
        }
    }

    fn count(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// What every listener task shares.
#[derive(Debug)]
struct Shared {
    /// Fires on the graceful shutdown: stop receiving and accepting.
    shutdown: Shutdown,
    /// Fires when the drain times out: abandon in-flight work.
    abort: Shutdown,
    tracker: Tracker,
    conns: Arc<limit::ConnLimits>,
    max_in_flight: usize,
    handshake_timeout: Duration,
}

/// Serves until `shutdown` fires, then stops receiving/accepting and waits for
/// in-flight Pending replies and open TCP exchanges up to drain_timeout; returns
/// Ok after the drain.
pub async fn serve<H: DnsHandler>(
    bound: BoundFrontend,
    handler: Arc<H>,
    shutdown: Shutdown,
) -> Result<(), FrontendError> {
    let BoundFrontend {
        udp,
        tcp,
        tls,
        tls_reloader,
        cfg,
    } = bound;
    let (abort_trigger, abort) = Shutdown::new();
    let shared = Arc::new(Shared {
        shutdown: shutdown.clone(),
        abort,
        tracker: Tracker::default(),
        conns: Arc::new(limit::ConnLimits::new(
            cfg.tcp_max_connections,
            cfg.per_client_connections(),
            &cfg.tcp_connection_limits,
            cfg.tcp_idle_timeout,
        )),
        max_in_flight: cfg.tcp_max_in_flight_per_conn.max(1),
        handshake_timeout: cfg.tls_handshake_timeout,
    });

    // Register everything first so a failure leaves nothing running (the JoinSet
    // aborts its tasks when dropped; UDP threads wait for the go-ahead).
    let mut listeners = Vec::with_capacity(tcp.len() + tls.len());
    for (t, transport) in tcp
        .into_iter()
        .map(|t| (t, Transport::Tcp))
        .chain(tls.into_iter().map(|t| (t, Transport::Tls)))
    {
        let listener = tokio::net::TcpListener::from_std(t.listener).map_err(|source| {
            FrontendError::Register {
                proto: transport.as_str(),
                addr: t.local,
                source,
            }
        })?;
        listeners.push((listener, t.local, transport));
    }
    let mut logged: Vec<SocketAddr> = Vec::new();
    for u in &udp {
        if !logged.contains(&u.local) {
            tracing::info!(proto = "udp", addr = %u.local, "listening");
            logged.push(u.local);
        }
    }
    let udp_workers = udp::start(udp, &handler, &shared, cfg.udp_batch, cfg.udp_blocking).await?;

    let mut tasks = JoinSet::new();
    for (listener, local, transport) in listeners {
        tracing::info!(proto = transport.as_str(), addr = %local, "listening");
        let tls = match transport {
            Transport::Tls => tls_reloader.clone(),
            _ => None,
        };
        tasks.spawn(conn::accept_loop(
            listener,
            local,
            transport,
            tls,
            handler.clone(),
            shared.clone(),
        ));
    }
    if let Some(reloader) = &tls_reloader {
        reloader.spawn_watch(cfg.tls_reload_interval, shutdown.clone());
    }

    shutdown.requested().await;
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = joined {
            tracing::warn!(%error, "listener task failed");
        }
    }
    let in_flight = shared.tracker.count();
    if in_flight > 0 {
        tracing::info!(in_flight, "draining");
    }
    if tokio::time::timeout(cfg.drain_timeout, shared.tracker.wait_idle())
        .await
        .is_err()
    {
        tracing::warn!(
            in_flight = shared.tracker.count(),
            timeout_ms = cfg.drain_timeout.as_millis() as u64,
            "drain timed out; abandoning in-flight queries"
        );
        abort_trigger.fire();
    }
    for worker in udp_workers {
        worker.join().await;
    }
    Ok(())
}
