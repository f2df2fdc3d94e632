//! UDP: one OS thread per receive loop, each with its own single-threaded tokio
//! runtime, as Unbound runs one event loop per thread. A loop owns its socket (an
//! SO_REUSEPORT socket of its own, or a duplicate of a shared one), its buffers
//! and the tasks it spawns: a cache miss resolved for one of its clients runs on
//! the same thread, so no query crosses threads and no worker wakes another.
//!
//! On Linux, with `udp_batch` > 1, each wakeup takes up to `udp_batch`
//! datagrams with one recvmmsg(2), runs the handler on each, and sends the
//! Ready replies with one sendmmsg(2) (see [`super::mmsg`]). The socket is
//! registered for readability only: a UDP socket is writable nearly always, and
//! an EPOLLOUT registration would wake the loop for the send-buffer space every
//! reply frees. A send that meets a full buffer waits on a short-lived
//! writability registration of a duplicate descriptor instead. Elsewhere, or
//! with `udp_batch` <= 1, one recv_from and one send_to per query.
//!
//! With `udp_blocking` (Linux, `udp_batch` > 1) the thread runs no event loop:
//! it sleeps in recvmmsg(MSG_WAITFORONE) and sends with sendmmsg, two system
//! calls per wakeup instead of four (epoll_wait, recvmmsg, sendmmsg and the
//! recvmmsg that finds the socket empty). Pending replies then run on the
//! runtime that started the front end. For handlers that answer UDP inline or
//! detached (the lb), not for ones that resolve per thread (the resolver).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{
    DnsHandler, FrontendError, PendingReply, Query, Reply, Responder, Shared, Transport, UdpBound,
};

/// The largest datagram payload over IPv4/IPv6 without jumbograms.
const RECV_BUF: usize = 65_535;

/// Capacity reserved up front for each reply buffer.
const OUT_CAPACITY: usize = 4096;

/// A running UDP receive thread.
pub(super) struct Worker {
    thread: JoinHandle<()>,
    /// Closed when the thread's runtime has finished (its sender is dropped).
    done: oneshot::Receiver<()>,
}

impl Worker {
    /// Waits (asynchronously) for the thread to finish its drain, then joins it.
    pub(super) async fn join(self) {
        let _ = self.done.await;
        if self.thread.join().is_err() {
            tracing::warn!("UDP receive thread panicked");
        }
    }
}

/// A thread that registered its socket and waits for the go-ahead, so that a
/// failure on any socket leaves nothing serving.
pub(super) struct Starting {
    worker: Worker,
    registered: oneshot::Receiver<Result<(), FrontendError>>,
    go: oneshot::Sender<()>,
}

/// Starts one thread per receive loop (`tasks` per bound socket), registers each
/// socket with its thread's runtime and, once every one has succeeded, lets them
/// all serve until `shared.shutdown`, then drain. On the first failure the
/// started threads exit without serving and the error is returned.
pub(super) async fn start<H: DnsHandler>(
    sockets: Vec<UdpBound>,
    handler: &Arc<H>,
    shared: &Arc<Shared>,
    batch: usize,
    blocking: bool,
) -> Result<Vec<Worker>, FrontendError> {
    let mode = if blocking && cfg!(target_os = "linux") && batch > 1 {
        LoopMode::Blocking(tokio::runtime::Handle::current())
    } else {
        LoopMode::EventLoop
    };
    let mut starting = Vec::new();
    let mut failure = None;
    'spawn: for bound in sockets {
        for _ in 0..bound.tasks {
            // Each thread registers its own descriptor with its own runtime.
            let spawned = bound.socket.try_clone().and_then(|socket| {
                spawn_thread(
                    starting.len(),
                    socket,
                    bound.local,
                    handler.clone(),
                    shared.clone(),
                    Batching {
                        batch,
                        pktinfo: bound.pktinfo,
                    },
                    mode.clone(),
                )
            });
            match spawned {
                Ok(s) => starting.push(s),
                Err(source) => {
                    failure = Some(FrontendError::Register {
                        proto: "udp",
                        addr: bound.local,
                        source,
                    });
                    break 'spawn;
                }
            }
        }
    }
    let mut gates = Vec::with_capacity(starting.len());
    let mut workers = Vec::with_capacity(starting.len());
    for s in starting {
        let registered = s.registered.await.unwrap_or_else(|_| {
            Err(FrontendError::Register {
                proto: "udp",
                addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                source: io::Error::other("UDP receive thread exited while starting"),
            })
        });
        if let Err(error) = registered {
            failure.get_or_insert(error);
        }
        gates.push(s.go);
        workers.push(s.worker);
    }
    if let Some(error) = failure {
        // Dropping the gates tells every registered thread to exit unserved.
        drop(gates);
        for worker in workers {
            worker.join().await;
        }
        return Err(error);
    }
    for go in gates {
        let _ = go.send(());
    }
    Ok(workers)
}

/// How many datagrams a receive call takes, and whether their destination
/// addresses are read (pktinfo, for wildcard sockets under interface-automatic).
#[derive(Clone, Copy)]
struct Batching {
    batch: usize,
    pktinfo: bool,
}

/// How a receive thread waits for datagrams.
#[derive(Clone)]
enum LoopMode {
    /// Its own current-thread runtime, woken by epoll.
    EventLoop,
    /// Blocking recvmmsg; Pending replies go to this runtime.
    Blocking(tokio::runtime::Handle),
}

fn spawn_thread<H: DnsHandler>(
    index: usize,
    socket: std::net::UdpSocket,
    local: SocketAddr,
    handler: Arc<H>,
    shared: Arc<Shared>,
    batching: Batching,
    mode: LoopMode,
) -> io::Result<Starting> {
    let (registered_tx, registered) = oneshot::channel();
    let (go, go_rx) = oneshot::channel::<()>();
    let (done_tx, done) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("udp-{index}"))
        .spawn(move || {
            let _done = done_tx;
            #[cfg(target_os = "linux")]
            if let LoopMode::Blocking(runtime) = mode {
                let socket = match batched::Blocking::new(socket, batching) {
                    Ok(socket) => socket,
                    Err(source) => {
                        let _ = registered_tx.send(Err(FrontendError::Register {
                            proto: "udp",
                            addr: local,
                            source,
                        }));
                        return;
                    }
                };
                let _ = registered_tx.send(Ok(()));
                if go_rx.blocking_recv().is_err() {
                    return;
                }
                let _entered = runtime.enter();
                batched::run_blocking(socket, local, &handler, &shared);
                return;
            }
            #[cfg(not(target_os = "linux"))]
            let _ = mode;
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(source) => {
                    let _ = registered_tx.send(Err(FrontendError::Register {
                        proto: "udp",
                        addr: local,
                        source,
                    }));
                    return;
                }
            };
            runtime.block_on(async move {
                let io = match UdpIo::register(socket, batching) {
                    Ok(io) => io,
                    Err(source) => {
                        let _ = registered_tx.send(Err(FrontendError::Register {
                            proto: "udp",
                            addr: local,
                            source,
                        }));
                        return;
                    }
                };
                let _ = registered_tx.send(Ok(()));
                if go_rx.await.is_err() {
                    return;
                }
                io.serve(local, &handler, &shared).await;
                // Pending replies spawned here run on this runtime: keep it
                // alive until the front end's drain ends, one way or the other.
                tokio::select! {
                    _ = shared.tracker.wait_idle() => {}
                    _ = shared.abort.requested() => {}
                }
            });
        })?;
    Ok(Starting {
        worker: Worker { thread, done },
        registered,
        go,
    })
}

/// A socket registered with the current thread's runtime, in the form its
/// receive loop uses.
enum UdpIo {
    #[cfg(target_os = "linux")]
    Batched(batched::Socket),
    Single(Arc<tokio::net::UdpSocket>),
}

impl UdpIo {
    /// Registers `socket` with the current runtime for the batched loop (Linux,
    /// `batch` > 1, or destination addresses wanted) or the one-datagram loop.
    fn register(socket: std::net::UdpSocket, batching: Batching) -> io::Result<UdpIo> {
        #[cfg(target_os = "linux")]
        if batching.batch > 1 || batching.pktinfo {
            return batched::Socket::register(socket, batching).map(UdpIo::Batched);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = batching;
        tokio::net::UdpSocket::from_std(socket).map(|s| UdpIo::Single(Arc::new(s)))
    }

    /// Receives until shutdown; answers Ready replies inline and spawns a task
    /// per Pending one.
    async fn serve<H: DnsHandler>(self, local: SocketAddr, handler: &Arc<H>, shared: &Arc<Shared>) {
        match self {
            #[cfg(target_os = "linux")]
            UdpIo::Batched(socket) => batched::run(socket, local, handler, shared).await,
            UdpIo::Single(socket) => run_single(socket, local, handler, shared).await,
        }
    }
}

/// One datagram per receive call.
async fn run_single<H: DnsHandler>(
    socket: Arc<tokio::net::UdpSocket>,
    local: SocketAddr,
    handler: &Arc<H>,
    shared: &Arc<Shared>,
) {
    let mut buf = vec![0u8; RECV_BUF];
    let mut out: Vec<u8> = Vec::with_capacity(OUT_CAPACITY);
    let responder = Responder {
        socket: ResponderSocket::Tokio(socket.clone()),
        tracker: shared.tracker.clone(),
    };
    let stop = shared.shutdown.requested();
    tokio::pin!(stop);
    loop {
        let (len, peer) = tokio::select! {
            biased;
            _ = &mut stop => break,
            r = socket.recv_from(&mut buf) => match r {
                Ok(got) => got,
                Err(error) => {
                    tracing::debug!(proto = "udp", addr = %local, %error, "recv failed");
                    continue;
                }
            },
        };
        out.clear();
        let query = Query {
            wire: &buf[..len],
            peer,
            local,
            transport: Transport::Udp,
            received_at: Instant::now(),
            responder: Some(&responder),
        };
        match handler.handle(&query, &mut out) {
            Reply::Ready => socket.send_reply(&out, peer, None).await,
            Reply::Drop | Reply::Detached => {}
            Reply::Pending(reply) => spawn_pending(reply, socket.clone(), peer, None, shared),
        }
    }
}

/// The socket behind a [`Responder`].
#[derive(Clone)]
pub(super) enum ResponderSocket {
    /// The batched loop's sending side (non-blocking std socket).
    #[cfg(target_os = "linux")]
    Batched(Arc<batched::Sender>),
    /// The one-datagram loop's tokio socket.
    Tokio(Arc<tokio::net::UdpSocket>),
}

impl ResponderSocket {
    /// Sends now when there is room, else from a task once there is.
    pub(super) fn send(&self, reply: &[u8], peer: SocketAddr) {
        if reply.is_empty() {
            return;
        }
        let sent = match self {
            #[cfg(target_os = "linux")]
            ResponderSocket::Batched(sender) => sender.try_send(reply, peer),
            ResponderSocket::Tokio(socket) => socket.try_send_to(reply, peer).map(|_| ()),
        };
        match sent {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    tracing::debug!(proto = "udp", %peer, "send buffer full outside a runtime; reply dropped");
                    return;
                };
                let (socket, reply) = (self.clone(), reply.to_vec());
                runtime.spawn(async move {
                    match socket {
                        #[cfg(target_os = "linux")]
                        ResponderSocket::Batched(sender) => {
                            sender.send_reply(&reply, peer, None).await
                        }
                        ResponderSocket::Tokio(socket) => {
                            socket.send_reply(&reply, peer, None).await
                        }
                    }
                });
            }
            Err(error) => {
                tracing::debug!(proto = "udp", %peer, %error, len = reply.len(), "send failed");
            }
        }
    }
}

/// Where a late reply goes out.
trait ReplySocket: Send + Sync + 'static {
    /// Sends `reply` (if not empty) to `peer`, from the local address `source`
    /// when given (the query's destination); a failure is logged, not returned.
    fn send_reply(
        &self,
        reply: &[u8],
        peer: SocketAddr,
        source: Option<IpAddr>,
    ) -> impl std::future::Future<Output = ()> + Send;
}

impl ReplySocket for tokio::net::UdpSocket {
    /// The one-datagram loop never reads destination addresses (pktinfo
    /// sockets always take the batched loop), so `source` is always `None` here.
    async fn send_reply(&self, reply: &[u8], peer: SocketAddr, _source: Option<IpAddr>) {
        if reply.is_empty() {
            return;
        }
        if let Err(error) = self.send_to(reply, peer).await {
            tracing::debug!(proto = "udp", %peer, %error, len = reply.len(), "send failed");
        }
    }
}

/// Runs a Pending reply on this thread's runtime and sends it when it completes,
/// unless the drain is abandoned first.
fn spawn_pending<S: ReplySocket>(
    reply: PendingReply,
    socket: Arc<S>,
    peer: SocketAddr,
    source: Option<IpAddr>,
    shared: &Shared,
) {
    let tracked = shared.tracker.track();
    let abort = shared.abort.clone();
    tokio::spawn(async move {
        let _tracked = tracked;
        tokio::select! {
            biased;
            reply = reply => {
                if let Some(reply) = reply {
                    socket.send_reply(&reply, peer, source).await;
                }
            }
            _ = abort.requested() => {}
        }
    });
}

#[cfg(target_os = "linux")]
mod batched {
    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::{AsRawFd, RawFd};
    use std::sync::Arc;

    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;
    use tokio::time::Instant;

    use socket2::SockAddr;

    use super::super::mmsg::{register, send_from, RecvBatch, SendBatch, MAX_BATCH};
    use super::super::{DnsHandler, Query, Reply, Responder, Shared, Transport};
    use super::{spawn_pending, Batching, ReplySocket, ResponderSocket, OUT_CAPACITY, RECV_BUF};

    /// Sends that find the buffer full, then wait for room, at most this many
    /// times per reply before giving up on it (a reply is a datagram: dropping
    /// one under sustained overload is what the network would do).
    const SEND_ATTEMPTS: usize = 8;

    /// A UDP socket registered for readability only, its sending side and its
    /// batch size.
    pub(super) struct Socket {
        readable: AsyncFd<std::net::UdpSocket>,
        sender: Arc<Sender>,
        batch: usize,
        pktinfo: bool,
    }

    /// The sending side: a duplicate descriptor of the socket, unregistered,
    /// shared with Pending reply tasks.
    pub(in super::super) struct Sender {
        socket: std::net::UdpSocket,
    }

    impl Sender {
        fn as_raw_fd(&self) -> RawFd {
            self.socket.as_raw_fd()
        }

        /// One send_to that never waits (MSG_DONTWAIT: the descriptor is in
        /// blocking mode under the blocking loop).
        pub(super) fn try_send(&self, reply: &[u8], peer: SocketAddr) -> io::Result<()> {
            socket2::SockRef::from(&self.socket)
                .send_to_with_flags(reply, &SockAddr::from(peer), libc::MSG_DONTWAIT)
                .map(|_| ())
        }

        /// [`Sender::try_send`] from the local address `source`, when given.
        fn try_send_from(
            &self,
            reply: &[u8],
            peer: SocketAddr,
            source: Option<IpAddr>,
        ) -> io::Result<()> {
            match source {
                Some(source) => {
                    send_from(self.as_raw_fd(), reply, peer, source, libc::MSG_DONTWAIT)
                }
                None => self.try_send(reply, peer),
            }
        }
    }

    impl Socket {
        /// Registers `socket` (non-blocking) with the current runtime for reads,
        /// to be served `batching.batch` datagrams per receive call.
        pub(super) fn register(
            socket: std::net::UdpSocket,
            batching: Batching,
        ) -> io::Result<Socket> {
            socket.set_nonblocking(true)?;
            let sender = Arc::new(Sender {
                socket: socket.try_clone()?,
            });
            let readable = register(socket, Interest::READABLE)?;
            Ok(Socket {
                readable,
                sender,
                batch: batching.batch.clamp(1, MAX_BATCH),
                pktinfo: batching.pktinfo,
            })
        }
    }

    impl Sender {
        /// Waits until the socket has send-buffer room, through a registration of
        /// a duplicate descriptor that lasts only for this wait (the receive
        /// registration does not ask for writability; see the module comment).
        async fn writable(&self) -> io::Result<()> {
            let fd = register(self.socket.try_clone()?, Interest::WRITABLE)?;
            let _ready = fd.writable().await?;
            Ok(())
        }
    }

    impl ReplySocket for Sender {
        async fn send_reply(&self, reply: &[u8], peer: SocketAddr, source: Option<IpAddr>) {
            if reply.is_empty() {
                return;
            }
            for _ in 0..SEND_ATTEMPTS {
                match self.try_send_from(reply, peer, source) {
                    Ok(()) => return,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if let Err(error) = self.writable().await {
                            tracing::debug!(proto = "udp", %peer, %error, "cannot wait for send room");
                            return;
                        }
                    }
                    Err(error) => {
                        tracing::debug!(proto = "udp", %peer, %error, len = reply.len(), "send failed");
                        return;
                    }
                }
            }
            tracing::debug!(proto = "udp", %peer, len = reply.len(), "send buffer full; reply dropped");
        }
    }

    /// A batch's Ready replies: `outs[k]` goes to `peers[k]`, from `sources[k]`
    /// when the socket reads destination addresses (else `sources` stays empty).
    struct Replies {
        outs: Vec<Vec<u8>>,
        peers: Vec<SocketAddr>,
        sources: Vec<Option<IpAddr>>,
    }

    impl Replies {
        fn new(batch: usize) -> Replies {
            Replies {
                outs: (0..batch)
                    .map(|_| Vec::with_capacity(OUT_CAPACITY))
                    .collect(),
                peers: Vec::with_capacity(batch),
                sources: Vec::with_capacity(batch),
            }
        }

        fn ready(&self) -> usize {
            self.peers.len()
        }
    }

    /// A receive batch for `batching`: reading destination addresses or not.
    fn recv_batch(batch: usize, pktinfo: bool) -> RecvBatch {
        if pktinfo {
            RecvBatch::with_pktinfo(batch, RECV_BUF)
        } else {
            RecvBatch::new(batch, RECV_BUF)
        }
    }

    /// One received batch and what answering it needs.
    struct Batch<'a> {
        rx: &'a RecvBatch,
        got: usize,
        pktinfo: bool,
        local: SocketAddr,
        responder: &'a Responder,
        sender: &'a Arc<Sender>,
    }

    impl Batch<'_> {
        /// Runs the handler on each datagram: Ready replies land in `replies`,
        /// Pending ones are spawned. A datagram whose destination address is
        /// known shows it as the query's `local` and is answered from it.
        fn handle<H: DnsHandler>(
            &self,
            handler: &Arc<H>,
            shared: &Arc<Shared>,
            replies: &mut Replies,
        ) {
            let received_at = Instant::now();
            replies.peers.clear();
            replies.sources.clear();
            for i in 0..self.got {
                let (wire, peer) = self.rx.get(i);
                let Some(peer) = peer else {
                    tracing::debug!(proto = "udp", addr = %self.local, "datagram from a non-IP address");
                    continue;
                };
                let source = self.rx.destination(i);
                let local = source.map_or(self.local, |ip| SocketAddr::new(ip, self.local.port()));
                let out = &mut replies.outs[replies.peers.len()];
                out.clear();
                let query = Query {
                    wire,
                    peer,
                    local,
                    transport: Transport::Udp,
                    received_at,
                    responder: Some(self.responder),
                };
                match handler.handle(&query, out) {
                    Reply::Ready if !out.is_empty() => {
                        replies.peers.push(peer);
                        if self.pktinfo {
                            replies.sources.push(source);
                        }
                    }
                    Reply::Ready | Reply::Drop | Reply::Detached => {}
                    Reply::Pending(reply) => {
                        spawn_pending(reply, self.sender.clone(), peer, source, shared)
                    }
                }
            }
        }
    }

    /// Up to `batch` datagrams per recvmmsg, their Ready replies in one sendmmsg.
    pub(super) async fn run<H: DnsHandler>(
        socket: Socket,
        local: SocketAddr,
        handler: &Arc<H>,
        shared: &Arc<Shared>,
    ) {
        let batch = socket.batch;
        let sender = socket.sender.clone();
        let responder = Responder {
            socket: ResponderSocket::Batched(sender.clone()),
            tracker: shared.tracker.clone(),
        };
        let fd = socket.readable.as_raw_fd();
        let mut rx = recv_batch(batch, socket.pktinfo);
        let mut tx = SendBatch::new(batch);
        let mut replies = Replies::new(batch);
        let stop = shared.shutdown.requested();
        tokio::pin!(stop);
        loop {
            let got = tokio::select! {
                biased;
                _ = &mut stop => break,
                r = socket.readable.async_io(Interest::READABLE, |_| rx.recv(fd)) => match r {
                    Ok(got) => got,
                    Err(error) => {
                        tracing::debug!(proto = "udp", addr = %local, %error, "recv failed");
                        continue;
                    }
                },
            };
            let batch_in = Batch {
                rx: &rx,
                got,
                pktinfo: socket.pktinfo,
                local,
                responder: &responder,
                sender: &sender,
            };
            batch_in.handle(handler, shared, &mut replies);
            send_all(&sender, &mut tx, &replies).await;
        }
    }

    /// How often a blocking receive wakes with nothing, to notice shutdown.
    const SHUTDOWN_POLL: std::time::Duration = std::time::Duration::from_millis(100);

    /// A socket for the blocking loop: its descriptor in blocking mode with a
    /// receive timeout, and its sending side.
    pub(super) struct Blocking {
        socket: std::net::UdpSocket,
        sender: Arc<Sender>,
        batch: usize,
        pktinfo: bool,
    }

    impl Blocking {
        /// Puts `socket` in blocking mode with a short receive timeout, to be
        /// served `batching.batch` datagrams per receive call.
        pub(super) fn new(socket: std::net::UdpSocket, batching: Batching) -> io::Result<Blocking> {
            socket.set_nonblocking(false)?;
            socket.set_read_timeout(Some(SHUTDOWN_POLL))?;
            let sender = Arc::new(Sender {
                socket: socket.try_clone()?,
            });
            Ok(Blocking {
                socket,
                sender,
                batch: batching.batch.clamp(1, MAX_BATCH),
                pktinfo: batching.pktinfo,
            })
        }
    }

    /// The blocking loop: sleeps in recvmmsg until a datagram comes, answers
    /// the batch, sends its Ready replies with sendmmsg, until shutdown. Must
    /// run inside a runtime context (`Handle::enter`) for Pending replies.
    pub(super) fn run_blocking<H: DnsHandler>(
        socket: Blocking,
        local: SocketAddr,
        handler: &Arc<H>,
        shared: &Arc<Shared>,
    ) {
        let batch = socket.batch;
        let sender = socket.sender.clone();
        let responder = Responder {
            socket: ResponderSocket::Batched(sender.clone()),
            tracker: shared.tracker.clone(),
        };
        let fd = socket.socket.as_raw_fd();
        let mut rx = recv_batch(batch, socket.pktinfo);
        let mut tx = SendBatch::new(batch);
        let mut replies = Replies::new(batch);
        while !shared.shutdown.is_requested() {
            let got = match rx.recv_waiting(fd) {
                Ok(got) => got,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(error) => {
                    tracing::debug!(proto = "udp", addr = %local, %error, "recv failed");
                    continue;
                }
            };
            let batch_in = Batch {
                rx: &rx,
                got,
                pktinfo: socket.pktinfo,
                local,
                responder: &responder,
                sender: &sender,
            };
            batch_in.handle(handler, shared, &mut replies);
            send_all_blocking(&socket, &mut tx, &replies);
        }
    }

    /// [`send_all`] for the blocking loop: a batch that meets a full buffer is
    /// finished with blocking sends (the descriptor is in blocking mode), which
    /// is the loop's backpressure.
    fn send_all_blocking(socket: &Blocking, tx: &mut SendBatch, replies: &Replies) {
        let fd = socket.socket.as_raw_fd();
        let (msgs, peers) = (&replies.outs[..replies.ready()], &replies.peers);
        let source = |k: usize| replies.sources.get(k).copied().flatten();
        let mut sent = 0;
        while sent < msgs.len() {
            let sources = replies.sources.get(sent..).unwrap_or_default();
            match tx.send(fd, &msgs[sent..], &peers[sent..], sources) {
                Ok(n) if n > 0 => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let result = match source(sent) {
                        Some(from) => send_from(fd, &msgs[sent], peers[sent], from, 0),
                        None => socket.socket.send_to(&msgs[sent], peers[sent]).map(|_| ()),
                    };
                    if let Err(error) = result {
                        tracing::debug!(proto = "udp", peer = %peers[sent], %error, len = msgs[sent].len(), "send failed");
                    }
                    sent += 1;
                }
                Ok(_) | Err(_) => {
                    tracing::debug!(proto = "udp", peer = %peers[sent], len = msgs[sent].len(), "send failed");
                    sent += 1;
                }
            }
        }
    }

    /// Sends every Ready reply of `replies`, in as few sendmmsg calls as the
    /// kernel allows: a partial send is continued from the first unsent message,
    /// WouldBlock waits for room, and a message the kernel refuses is logged and
    /// skipped, as a failed send_to would be.
    async fn send_all(sender: &Sender, tx: &mut SendBatch, replies: &Replies) {
        let fd = sender.as_raw_fd();
        let (msgs, peers) = (&replies.outs[..replies.ready()], &replies.peers);
        let mut sent = 0;
        let mut waits = 0;
        while sent < msgs.len() {
            let sources = replies.sources.get(sent..).unwrap_or_default();
            match tx.send(fd, &msgs[sent..], &peers[sent..], sources) {
                Ok(n) if n > 0 => sent += n,
                Ok(_) => {
                    // sendmmsg never reports zero for a non-empty batch; do not spin.
                    tracing::debug!(proto = "udp", peer = %peers[sent], len = msgs[sent].len(), "send failed: nothing sent");
                    sent += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && waits < SEND_ATTEMPTS => {
                    waits += 1;
                    if let Err(error) = sender.writable().await {
                        tracing::debug!(proto = "udp", %error, "cannot wait for send room");
                        return;
                    }
                }
                Err(error) => {
                    tracing::debug!(proto = "udp", peer = %peers[sent], %error, len = msgs[sent].len(), "send failed");
                    sent += 1;
                }
            }
        }
    }
}
