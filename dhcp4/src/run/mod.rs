//! The daemon: sockets bound, leases replayed, requests served, leases
//! reclaimed and compacted on Kea's timers, metrics and probes on HTTP.
//!
//! Each request is handled under the server's lock, and its lease changes
//! are queued to the lease file while the lock is still held (so the file
//! keeps the order of the changes). The reply leaves once the write is
//! durable; the writer's group commit makes one fsync cover every request
//! waiting at that moment.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use common::admin::{self, AdminState};
use common::metrics::Registry;
use common::readiness::Readiness;
use common::shutdown::Shutdown;
use parking_lot::Mutex;

use crate::clock::unix_now;
use crate::config::model::{Config, SocketType};

mod reload;
pub(crate) use reload::{apply, reload};
mod summary;

use crate::lease::LeaseState;
use crate::memfile::{LeaseFile, Replay};
use crate::metrics::Metrics;
use crate::net::{self, HardwareSender, NetError, NetInterface};
use crate::server::{Destination, Interface, Reply, Server};
use crate::LeaseFileError;
pub use summary::summary;

/// kea-exporter's port: metrics, `/healthz`, `/readyz`.
pub const DEFAULT_METRICS_ADDR: &str = "0.0.0.0:9547";
/// Kea's default memfile path, used when the config names none.
pub const DEFAULT_LEASE_FILE: &str = "/var/lib/kea/kea-leases4.csv";
/// The DHCP server port.
pub const DEFAULT_PORT: u16 = 67;
/// How long the lease writer gathers changes before a group commit (ms).
pub const DEFAULT_COMMIT_WINDOW_MS: f64 = 5.0;
/// How long a receive thread may let requests queue when they come fast (ms).
pub const DEFAULT_RECEIVE_WINDOW_MS: f64 = 1.0;

/// The latency the daemon may add to replies to spend less CPU per lease
/// (0 for either: none).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// How long the lease writer gathers changes before one write and fsync.
    pub commit: Duration,
    /// How long a receive thread lets requests queue before it reads them,
    /// when they arrive fast enough to fill [`RECEIVE_TARGET`] in that time.
    pub receive: Duration,
}

/// Why the daemon cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Interfaces or sockets.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The lease file.
    #[error(transparent)]
    LeaseFile(#[from] LeaseFileError),
    /// The admin listener.
    #[error("metrics endpoint {addr}: {source}")]
    Admin {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The control socket.
    #[error("control socket {path}: {source}")]
    ControlSocket {
        /// Its path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The HA service.
    #[error("HA: {0}")]
    Ha(String),
    /// An HTTP control listener.
    #[error(transparent)]
    ControlHttp(#[from] crate::control::http::HttpError),
    /// A socket could not join the runtime.
    #[error("{interface}: {source}")]
    Socket {
        /// The interface.
        interface: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What `main` prepares before the runtime starts, so a bad interface, a
/// port in use or an unreadable lease file fails at once with its name.
#[derive(Debug)]
pub struct Bound {
    sockets: Vec<(NetInterface, std::net::UdpSocket)>,
    admin: Option<std::net::TcpListener>,
    hardware: Option<HardwareSender>,
    leases: Option<(LeaseFile, Replay)>,
    port: u16,
    receive_window: Duration,
    control_unix: Option<(std::os::unix::net::UnixListener, PathBuf)>,
    control_http: Vec<crate::control::http::Listener>,
    ha: Option<Arc<crate::ha::HaService>>,
}

/// Opens the lease file (replaying it; its writer gathers changes for
/// `windows.commit` before each group commit), finds the interfaces and
/// binds their sockets on `port`, and the metrics listener.
pub fn bind(
    config: &Config,
    port: u16,
    metrics_addr: Option<SocketAddr>,
    windows: Windows,
    registry: &Registry,
) -> Result<Bound, RunError> {
    match net::raise_capabilities() {
        Ok(raised) if !raised.is_empty() => tracing::debug!(?raised, "capabilities made effective"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read or raise capabilities"),
    }
    let leases = if config.persist {
        let path = lease_path(config);
        Some(LeaseFile::open_with_window(&path, windows.commit)?)
    } else {
        None
    };
    let interfaces = net::interfaces(&config.interfaces)?;
    let mut sockets = Vec::with_capacity(interfaces.len());
    for interface in interfaces {
        let socket = net::bind_udp(&interface, port)?;
        sockets.push((interface, socket));
    }
    // Kea's "udp" sockets cannot reach a client that has no address but by
    // broadcast; "raw" (the default) unicasts through a packet socket.
    let hardware = if config.socket_type == SocketType::Raw {
        match HardwareSender::open() {
            Ok(sender) => Some(sender),
            Err(error) => {
                tracing::warn!(%error, "no packet socket (needs CAP_NET_RAW): replies to clients without an address are broadcast");
                None
            }
        }
    } else {
        None
    };
    let admin = match metrics_addr {
        Some(addr) => Some(admin::bind(addr).map_err(|source| RunError::Admin { addr, source })?),
        None => None,
    };
    let control_unix = match &config.control.unix {
        Some(path) => Some((
            crate::control::unix::bind(path).map_err(|source| RunError::ControlSocket {
                path: path.clone(),
                source,
            })?,
            path.clone(),
        )),
        None => None,
    };
    let mut control_http = config
        .control
        .http
        .iter()
        .map(|settings| crate::control::http::bind(settings, None))
        .collect::<Result<Vec<_>, _>>()?;
    let ha = match &config.ha {
        Some(ha) => {
            let (service, listener) = ha_bind(ha, registry)?;
            control_http.push(listener);
            Some(service)
        }
        None => None,
    };
    Ok(Bound {
        sockets,
        admin,
        hardware,
        leases,
        port,
        receive_window: windows.receive,
        control_unix,
        control_http,
        ha,
    })
}

/// The HA service and its listener on this server's own peer URL, which
/// answers the partner's commands and the operator's (only the HA set with
/// `restrict-commands`), with this server's peer credentials and TLS.
fn ha_bind(
    ha: &crate::config::model::Ha,
    registry: &Registry,
) -> Result<(Arc<crate::ha::HaService>, crate::control::http::Listener), RunError> {
    let service = crate::ha::HaService::new(ha, registry).map_err(RunError::Ha)?;
    let Some(me) = ha.peers.iter().find(|p| p.name == ha.this_server) else {
        return Err(RunError::Ha(format!(
            "no peer entry for {}",
            ha.this_server
        )));
    };
    let settings = crate::config::model::HttpControl {
        addr: me.url.addr,
        auth: me
            .basic_auth
            .clone()
            .map(|credentials| crate::config::model::BasicAuth {
                realm: String::new(),
                clients: vec![credentials],
            }),
        tls: me.tls.clone().map(|mut tls| {
            tls.cert_required = ha.require_client_certs;
            tls
        }),
    };
    let allowed = ha
        .restrict_commands
        .then_some(crate::ha::commands::RESTRICTED);
    let listener = crate::control::http::bind(&settings, allowed)?;
    Ok((Arc::new(service), listener))
}

/// The lease file's path: the configured one, else Kea's default.
pub fn lease_path(config: &Config) -> PathBuf {
    config
        .lease_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LEASE_FILE))
}

/// State shared by the receive loops, the timers and the command channel.
pub(crate) struct Shared {
    /// The protocol state: configuration, allocations, leases.
    pub(crate) server: Mutex<Server>,
    /// The lease file, when leases persist.
    pub(crate) leases: Option<LeaseFile>,
    /// Counters, Prometheus and Kea's.
    pub(crate) metrics: Metrics,
    hardware: Option<HardwareSender>,
    port: u16,
    /// Whether DHCP is served now (`dhcp-disable`, `dhcp-enable`, HA).
    pub(crate) switch: DhcpSwitch,
    /// High availability, when configured.
    pub(crate) ha: Option<Arc<crate::ha::HaService>>,
}

/// Who turned the DHCP service off: an operator, or HA (its own state or
/// the partner's `dhcp-disable` with origin `ha-partner`, one flag as in
/// Kea).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `dhcp-disable` without origin, or with origin `user`.
    User,
    /// The HA state machine or the partner.
    Ha,
}

/// Kea's DHCP service switch: served while no origin has it off.
#[derive(Debug, Default)]
pub(crate) struct DhcpSwitch {
    /// Per origin: 0 on; `u64::MAX` off; else the Unix time in ms at which
    /// it turns itself on again (`max-period`).
    off_until_ms: [std::sync::atomic::AtomicU64; 2],
}

impl DhcpSwitch {
    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX - 1))
    }

    /// Turns `origin`'s flag off (`disabled` false) or on, for `period`
    /// when given.
    pub(crate) fn set(&self, origin: Origin, disabled: bool, period: Option<Duration>) {
        let until = match (disabled, period) {
            (false, _) => 0,
            (true, None) => u64::MAX,
            (true, Some(p)) => Self::now_ms()
                .saturating_add(u64::try_from(p.as_millis()).unwrap_or(u64::MAX))
                .clamp(1, u64::MAX - 1),
        };
        if let Some(flag) = self.off_until_ms.get(origin as usize) {
            flag.store(until, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether requests are answered now.
    pub(crate) fn is_enabled(&self) -> bool {
        let now = std::cell::OnceCell::new();
        self.off_until_ms.iter().all(
            |flag| match flag.load(std::sync::atomic::Ordering::Relaxed) {
                0 => true,
                u64::MAX => false,
                until => *now.get_or_init(Self::now_ms) >= until,
            },
        )
    }
}

impl Shared {
    /// Whether this server answers DHCP now: its service is on and, in an
    /// HA pair, it serves a scope (`/serving`, for the Services that send
    /// relayed traffic to the server that answers it).
    pub(crate) fn serving(&self) -> bool {
        self.switch.is_enabled() && self.ha.as_ref().is_none_or(|ha| ha.serves_a_scope())
    }

    /// Merges leases fetched from the HA partner (Kea's lease4-get-page
    /// elements): a lease we lack, or one newer than ours by cltt, is
    /// taken and written to the lease file. Returns how many were taken.
    pub(crate) async fn merge_leases(&self, leases: &[serde_json::Value]) -> usize {
        let now = unix_now();
        let (taken, pending) = {
            let mut server = self.server.lock();
            let mut changes = Vec::new();
            for element in leases {
                let Some(lease) = crate::control::lease_json::from_page(element) else {
                    tracing::warn!(lease = %element, "HA: a synchronised lease does not parse; skipped");
                    continue;
                };
                match server.merge_lease(lease, now) {
                    Ok(taken) => changes.extend(taken),
                    Err(error) => tracing::warn!(%error, "HA: a synchronised lease was refused"),
                }
            }
            let pending = match (&self.leases, changes.is_empty()) {
                (Some(file), false) => Some(file.submit_append(&changes)),
                _ => None,
            };
            (changes.len(), pending)
        };
        if let Some(pending) = pending {
            let ok = pending.wait().await.is_ok();
            self.metrics.lease_written(taken, ok);
        }
        taken
    }
}

/// Serves until `shutdown` fires; SIGHUP re-reads `source` (the file the
/// configuration came from).
pub async fn run(
    config: Config,
    source: Option<PathBuf>,
    bound: Bound,
    registry: Registry,
    readiness: Readiness,
    shutdown: Shutdown,
) -> Result<(), RunError> {
    let latch = readiness.latch("dhcp4");
    // The daemon stops on the caller's shutdown or on a `shutdown` command.
    let (stop, shutdown) = {
        let (stop, inner) = Shutdown::new();
        let stop = Arc::new(stop);
        let forward = stop.clone();
        tokio::spawn(async move {
            shutdown.requested().await;
            forward.fire();
        });
        (stop, inner)
    };
    let metrics = Metrics::new(&registry);
    let mut server = Server::new(&config);
    let (leases, replay) = match bound.leases {
        Some((file, replay)) => (Some(file), Some(replay)),
        None => (None, None),
    };
    if let (Some(file), Some(replay)) = (&leases, replay) {
        for (line, error) in &replay.skipped {
            tracing::warn!(file = %file.path().display(), line, %error, "lease file: line skipped");
        }
        if replay.truncated_tail {
            tracing::warn!(file = %file.path().display(), "lease file: torn last line cut off (a crash mid-write)");
        }
        let restored = server.restore(replay.leases.into_values(), unix_now());
        for (addr, why) in &restored.skipped {
            tracing::warn!(%addr, %why, "lease not restored");
        }
        tracing::info!(
            file = %file.path().display(),
            lines = replay.lines,
            active = restored.active,
            declined = restored.declined,
            expired = restored.expired,
            "leases replayed"
        );
        // Start from a compact file: the replayed history may be long.
        file.submit_compact(server.entries()).wait().await?;
        metrics.compacted();
    }
    let shared = Arc::new(Shared {
        server: Mutex::new(server),
        leases,
        metrics,
        hardware: bound.hardware,
        port: bound.port,
        switch: DhcpSwitch::default(),
        ha: bound.ha,
    });

    if let Some(listener) = bound.admin {
        let hook = shared.clone();
        let state = AdminState {
            registry: registry.clone(),
            readiness: readiness.clone(),
            before_scrape: Some(Arc::new(move || {
                let stats = hook.server.lock().stats();
                let fsyncs = hook.leases.as_ref().map_or(0, LeaseFile::fsyncs);
                hook.metrics.refresh(&stats, fsyncs);
            })),
            probes: vec![admin::Probe {
                path: "/serving",
                check: {
                    let shared = shared.clone();
                    Arc::new(move || shared.serving())
                },
            }],
        };
        admin::spawn(listener, state, shutdown.clone());
    }

    let mut loops = tokio::task::JoinSet::new();
    for (interface, socket) in bound.sockets {
        let name = interface.name.clone();
        let blocking = socket
            .set_nonblocking(false)
            .and_then(|()| socket.set_read_timeout(Some(RECEIVE_POLL)));
        if let Err(source) = blocking {
            return Err(RunError::Socket {
                interface: name,
                source,
            });
        }
        tracing::info!(interface = %name, addr = ?interface.addr, port = shared.port, "listening");
        let replier = Arc::new(Replier {
            shared: shared.clone(),
            interface,
            socket,
        });
        let shutdown = shutdown.clone();
        let pace = Pace::new(bound.receive_window);
        loops.spawn_blocking(move || serve_interface(replier, pace, &shutdown));
    }
    loops.spawn(reclaim_timer(
        shared.clone(),
        config.reclaim_timer_wait_time,
        shutdown.clone(),
    ));
    loops.spawn(compaction_timer(
        shared.clone(),
        config.lfc_interval,
        shutdown.clone(),
    ));
    spawn_control(
        bound.control_unix,
        bound.control_http,
        Arc::new(crate::control::Control::new(
            shared.clone(),
            source.clone(),
            readiness.clone(),
            stop,
        )),
        &shutdown,
    );
    if let Some(ha) = &shared.ha {
        loops.spawn(crate::ha::machine::run(
            shared.clone(),
            ha.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(path) = source {
        reload::spawn_on_sighup(path, shared.clone(), shutdown.clone());
    }
    latch.release();
    tracing::info!(subnets = config.subnets.len(), "dhcp4 ready");
    while loops.join_next().await.is_some() {}
    if let Some(file) = &shared.leases {
        // Replies still waiting for their fsync leave before we return.
        if let Err(error) = file.submit_append(&[]).wait().await {
            tracing::error!(%error, "lease file: last writes not confirmed");
        }
    }
    tracing::info!("dhcp4 stopped");
    Ok(())
}

/// Serves the command channel's listeners until shutdown.
fn spawn_control(
    unix: Option<(std::os::unix::net::UnixListener, PathBuf)>,
    http: Vec<crate::control::http::Listener>,
    control: Arc<crate::control::Control>,
    shutdown: &Shutdown,
) {
    if let Some((listener, path)) = unix {
        let (control, shutdown) = (control.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(error) = crate::control::unix::serve(listener, path, control, shutdown).await
            {
                tracing::error!(%error, "control socket failed");
            }
        });
    }
    for listener in http {
        let (control, shutdown) = (control.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(error) = crate::control::http::serve(listener, control, shutdown).await {
                tracing::error!(%error, "control HTTP listener failed");
            }
        });
    }
}

/// How long a receive thread sleeps in `recv_from` before it looks for a
/// shutdown.
const RECEIVE_POLL: Duration = Duration::from_millis(200);

/// Sends the replies of one interface: from its receive thread, or from the
/// lease writer once a lease is durable.
struct Replier {
    shared: Arc<Shared>,
    interface: NetInterface,
    socket: std::net::UdpSocket,
}

impl Replier {
    /// Sends `reply` where RFC 2131 §4.1 says, and counts it.
    fn send(&self, reply: &Reply, arrived: Instant) {
        let shared = &self.shared;
        let client_port = shared.port.wrapping_add(1);
        let udp = |to: Ipv4Addr, port: u16| {
            self.socket
                .send_to(&reply.bytes, SocketAddrV4::new(to, port))
                .map(drop)
        };
        let result = match reply.to {
            Destination::Relay(relay) => udp(relay, shared.port),
            Destination::Unicast(client) => udp(client, client_port),
            Destination::Hardware { addr, mac } => match (&shared.hardware, self.interface.addr) {
                (Some(hardware), Some(source)) => hardware.send(
                    self.interface.index,
                    mac,
                    SocketAddrV4::new(source, shared.port),
                    SocketAddrV4::new(addr, client_port),
                    &reply.bytes,
                ),
                _ => udp(Ipv4Addr::BROADCAST, client_port),
            },
            Destination::Broadcast => udp(Ipv4Addr::BROADCAST, client_port),
        };
        match result {
            Ok(()) => shared
                .metrics
                .sent(reply.kind, arrived.elapsed().as_secs_f64()),
            Err(error) => {
                shared.metrics.send_error();
                tracing::debug!(%error, to = ?reply.to, "send failed");
            }
        }
    }
}

/// Receives, handles and answers requests on one interface, on a thread of
/// its own: a blocking receive costs one system call per packet, where an
/// event loop spends several (measured in tests/bench/README.md). Replies
/// that commit a lease leave from the lease writer once it is durable.
fn serve_interface(replier: Arc<Replier>, mut pace: Pace, shutdown: &Shutdown) {
    let via = Interface {
        name: replier.interface.name.clone(),
        addr: replier.interface.addr,
    };
    let mut buf = vec![0u8; 65_536];
    // Requests read after the last wait, not yet counted in the pace, and
    // whether that read stopped at its limit with more queued.
    let mut drained = 0;
    let mut backlog = false;
    while !shutdown.is_requested() {
        let (len, source) = match replier.socket.recv_from(&mut buf) {
            Ok((len, SocketAddr::V4(from))) => (len, Some(*from.ip())),
            Ok((len, SocketAddr::V6(_))) => (len, None),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(error) => {
                tracing::warn!(interface = %via.name, %error, "receive failed");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        handle_request(&replier, &via, &buf[..len], source);
        let Some(wait) = pace.batch_done(1 + drained, Instant::now()) else {
            drained = 0;
            continue;
        };
        if !backlog {
            replier.shared.metrics.receive_wait();
            std::thread::sleep(wait);
        }
        // What queued meanwhile is read without blocking, a bounded number
        // at a time so that a flood still lets the shutdown be seen; with
        // requests left over there is no waiting before the next round.
        drained = 0;
        backlog = true;
        while drained < DRAIN_LIMIT {
            match net::recv_queued(&replier.socket, &mut buf) {
                Ok(Some((len, source))) => {
                    handle_request(&replier, &via, &buf[..len], source);
                    drained += 1;
                }
                Ok(None) => {
                    backlog = false;
                    break;
                }
                Err(error) => {
                    tracing::warn!(interface = %via.name, %error, "receive failed");
                    backlog = false;
                    break;
                }
            }
        }
    }
}

/// Requests a receive thread reads without blocking after a wait, before it
/// looks for a shutdown again.
const DRAIN_LIMIT: u32 = 256;

/// Requests a receive thread aims to find queued each time it wakes, when
/// they come fast: waking once per request costs more CPU than handling it
/// (a context switch, and on a virtual machine an exit, per packet), and
/// this many at once keep the burst of replies small. Measured in
/// tests/bench/README.md.
pub const RECEIVE_TARGET: u32 = 16;

/// How often a receive thread measures the rate of requests.
const PACE_INTERVAL: Duration = Duration::from_millis(10);

/// How fast requests arrive on one interface, and so whether its receive
/// thread should let them queue before it reads again.
#[derive(Debug)]
struct Pace {
    /// The longest it lets them queue (zero: never).
    window: Duration,
    /// Start of the current measuring interval.
    since: Option<Instant>,
    /// Requests handled in it so far.
    counted: u32,
    /// Mean time between requests over the last full interval.
    gap: Option<Duration>,
}

impl Pace {
    /// A pace that lets requests queue for at most `window`.
    fn new(window: Duration) -> Pace {
        Pace {
            window,
            since: None,
            counted: 0,
            gap: None,
        }
    }

    /// Records a batch of `handled` requests done at `now`; returns how long
    /// to let requests queue before reading again: [`RECEIVE_TARGET`] of them
    /// at the measured rate, or `None` when that takes longer than the window.
    fn batch_done(&mut self, handled: u32, now: Instant) -> Option<Duration> {
        if self.window.is_zero() {
            return None;
        }
        // The batch that opens an interval arrived before it began.
        let Some(since) = self.since else {
            self.since = Some(now);
            return None;
        };
        self.counted = self.counted.saturating_add(handled);
        let elapsed = now.duration_since(since);
        if elapsed >= PACE_INTERVAL {
            self.gap = Some(elapsed / self.counted.max(1));
            self.since = Some(now);
            self.counted = 0;
        }
        let wait = self.gap?.saturating_mul(RECEIVE_TARGET);
        (wait <= self.window).then_some(wait)
    }
}

/// Handles one request and sends its reply: at once, or once the lease it
/// commits is durable and, with HA, acknowledged by the partner.
fn handle_request(
    replier: &Arc<Replier>,
    via: &Interface,
    request: &[u8],
    source: Option<Ipv4Addr>,
) {
    let shared = &replier.shared;
    let arrived = Instant::now();
    if !shared.switch.is_enabled() {
        shared.metrics.received(crate::server::Received::Drop);
        return;
    }
    let class = match shared.ha.as_deref().map(|ha| ha.admit(request)) {
        Some(crate::ha::Admission::Drop) => {
            shared.metrics.received(crate::server::Received::Drop);
            return;
        }
        Some(crate::ha::Admission::Serve(class)) => Some(class),
        None => None,
    };
    let mut server = shared.server.lock();
    let outcome = server.handle_classed(request, via, source, class, unix_now());
    if let Some(id) = outcome.allocation_failed {
        if let Some(stats) = server.subnet_stats(id) {
            shared.metrics.allocation_failed(&stats);
        }
    }
    shared.metrics.received(outcome.received);
    if let Some(subnet) = outcome.assigned {
        shared.metrics.assigned(subnet);
    }
    if outcome.changes.is_empty() {
        drop(server);
        if let Some(reply) = outcome.reply {
            replier.send(&reply, arrived);
        }
        return;
    }
    // The reply leaves when every part is done: the lease file's fsync and,
    // with HA, the partner's acknowledgement; a failed part drops it.
    let count = outcome.changes.len();
    let parts = usize::from(shared.leases.is_some()) + usize::from(shared.ha.is_some());
    let reply = outcome.reply;
    let sender = replier.clone();
    let join = Arc::new(crate::ha::updates::Join::new(
        parts.max(1),
        Box::new(move |ok| match (ok, reply) {
            (true, Some(reply)) => sender.send(&reply, arrived),
            (false, Some(_)) => {
                tracing::debug!("reply dropped: its lease is not durable or not acknowledged")
            }
            _ => {}
        }),
    ));
    if let Some(file) = &shared.leases {
        // Queued under the lock, so the file keeps the order of the changes.
        let written = replier.clone();
        let part = join.clone();
        file.submit_append_then(
            &outcome.changes,
            Box::new(move |result| {
                let ok = result.is_ok();
                written.shared.metrics.lease_written(count, ok);
                if let Err(error) = result {
                    tracing::error!(%error, "lease not durable; reply withheld");
                }
                part.complete(ok);
            }),
        );
    }
    // Under the lock too: the partner gets updates in the order the leases
    // changed.
    match &shared.ha {
        Some(ha) => {
            let part = join.clone();
            ha.dispatch(&outcome.changes, Box::new(move |ok| part.complete(ok)));
        }
        None if shared.leases.is_none() => join.complete(true),
        None => {}
    }
    drop(server);
}

/// Runs `tick` every `interval` seconds (never when 0) until shutdown: the
/// loop behind reclamation and compaction.
async fn every<F, Fut>(interval: u32, shutdown: Shutdown, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if interval == 0 {
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(u64::from(interval)));
    ticker.tick().await;
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            _ = ticker.tick() => {}
        }
        tick().await;
    }
}

/// Kea's expired-leases-processing: every `interval` seconds, reclaim.
async fn reclaim_timer(shared: Arc<Shared>, interval: u32, shutdown: Shutdown) {
    every(interval, shutdown, || reclaim(&shared)).await;
}

/// Reclaims what ran out, appends it to the lease file and counts it.
pub(crate) async fn reclaim(shared: &Shared) {
    let (pending, changes, stats) = {
        let mut server = shared.server.lock();
        let changes = server.reclaim(unix_now());
        let pending = match (&shared.leases, changes.is_empty()) {
            (Some(file), false) => Some(file.submit_append(&changes)),
            _ => None,
        };
        (pending, changes, server.stats())
    };
    for subnet in &stats {
        let in_subnet = |state| {
            changes
                .iter()
                .filter(|l| l.subnet_id == subnet.id && l.state == state)
                .count() as u64
        };
        let expired = in_subnet(LeaseState::ExpiredReclaimed);
        let declined = in_subnet(LeaseState::Declined);
        if expired + declined > 0 {
            shared.metrics.reclaimed(subnet, expired, declined);
        }
    }
    if let Some(pending) = pending {
        let ok = pending.wait().await.is_ok();
        shared.metrics.lease_written(changes.len(), ok);
    }
    if !changes.is_empty() {
        tracing::debug!(count = changes.len(), "leases reclaimed");
    }
}

/// Kea's LFC: every `interval` seconds, rewrite the lease file with only
/// the live entries (write, fsync, rename, fsync the directory).
async fn compaction_timer(shared: Arc<Shared>, interval: u32, shutdown: Shutdown) {
    if shared.leases.is_none() {
        return;
    }
    every(interval, shutdown, || compact(&shared)).await;
}

/// Rewrites the lease file with the live entries.
async fn compact(shared: &Shared) {
    let pending = {
        let server = shared.server.lock();
        shared
            .leases
            .as_ref()
            .map(|file| file.submit_compact(server.entries()))
    };
    if let Some(pending) = pending {
        match pending.wait().await {
            Ok(()) => shared.metrics.compacted(),
            Err(error) => tracing::error!(%error, "lease file compaction failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pace` one request every `gap` for `count` requests, one per
    /// batch; returns what it said after the last.
    fn feed(pace: &mut Pace, start: Instant, gap: Duration, count: u32) -> Option<Duration> {
        let mut said = None;
        for n in 1..=count {
            said = pace.batch_done(1, start + gap * n);
        }
        said
    }

    #[test]
    fn fast_requests_queue_for_the_target_slow_ones_never() {
        let start = Instant::now();
        let window = Duration::from_millis(1);
        // 20,000 requests/s: 16 of them take 800 µs, within the window.
        let mut pace = Pace::new(window);
        assert_eq!(
            feed(&mut pace, start, Duration::from_micros(50), 400),
            Some(Duration::from_micros(800))
        );
        // 4,000/s: 16 take 4 ms, longer than the window.
        let mut pace = Pace::new(window);
        assert_eq!(
            feed(&mut pace, start, Duration::from_micros(250), 100),
            None
        );
        // A zero window never waits, however fast they come.
        let mut pace = Pace::new(Duration::ZERO);
        assert_eq!(
            feed(&mut pace, start, Duration::from_micros(10), 2000),
            None
        );
    }

    #[test]
    fn the_first_interval_and_a_slowdown_do_not_wait() {
        let start = Instant::now();
        let gap = Duration::from_micros(50);
        let mut pace = Pace::new(Duration::from_millis(1));
        // Before a whole interval is measured there is no rate to go by.
        assert_eq!(feed(&mut pace, start, gap, 100), None);
        assert!(feed(&mut pace, start + gap * 100, gap, 300).is_some());
        // The next request 20 ms later ends the interval at a slow rate.
        let slow = start + gap * 400 + Duration::from_millis(20);
        assert_eq!(pace.batch_done(1, slow), None);
    }

    #[test]
    fn a_batch_counts_every_request_it_handled() {
        let start = Instant::now();
        let mut pace = Pace::new(Duration::from_millis(1));
        // After the batch that opens it, 10 ms of 10 batches of 20: 50 µs apart.
        let mut said = None;
        for n in 0..=10 {
            said = pace.batch_done(20, start + Duration::from_millis(n));
        }
        assert_eq!(said, Some(Duration::from_micros(800)));
    }
}
