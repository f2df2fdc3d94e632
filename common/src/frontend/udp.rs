//! UDP receive loops.
//!
//! On Linux each loop is an OS thread of its own (`udp-N`) that blocks in
//! recvmmsg(2) on its socket (an SO_REUSEPORT socket of its own, or a duplicate
//! of a shared one), runs the handler on every datagram of the batch, and sends
//! the batch's Ready replies with one blocking sendmmsg(2): no event loop, no
//! readiness registration, no task switch between a query and its answer. This
//! is the cheapest way through the kernel's UDP path (measured in
//! tests/bench/resolver.sh against a zero-work C server doing the same). The
//! thread runs inside the caller's runtime context, so a Pending reply (a cache
//! miss, a proxied query) becomes a task there and is sent from it with a
//! non-blocking send. The socket's receive timeout bounds how long a loop takes
//! to notice shutdown.
//!
//! Elsewhere, one tokio task per loop with one recv_from and one send_to per
//! query.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{DnsHandler, FrontendError, PendingReply, Shared, UdpBound};
#[cfg(not(target_os = "linux"))]
use super::{Query, Reply, Transport};

/// The largest datagram payload over IPv4/IPv6 without jumbograms.
const RECV_BUF: usize = 65_535;

/// Capacity reserved up front for each reply buffer.
const OUT_CAPACITY: usize = 4096;

/// Running UDP receive loops, joined after the drain.
pub(super) struct Loops {
    #[cfg(target_os = "linux")]
    threads: Vec<threads::Worker>,
    tasks: tokio::task::JoinSet<()>,
}

impl Loops {
    /// Waits for every loop to stop (they stop when `shared.shutdown` fires).
    pub(super) async fn join(mut self) {
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(error) = joined {
                tracing::warn!(%error, "UDP receive task failed");
            }
        }
        #[cfg(target_os = "linux")]
        for worker in self.threads {
            worker.join().await;
        }
    }
}

/// Starts `tasks` receive loops per bound socket, each on its own descriptor.
/// On a failure nothing is left serving and the error is returned.
pub(super) fn start<H: DnsHandler>(
    sockets: Vec<UdpBound>,
    handler: &Arc<H>,
    shared: &Arc<Shared>,
    batch: usize,
) -> Result<Loops, FrontendError> {
    let mut descriptors = Vec::new();
    for bound in sockets {
        for _ in 0..bound.tasks {
            let socket = bound
                .socket
                .try_clone()
                .map_err(|source| FrontendError::Register {
                    proto: "udp",
                    addr: bound.local,
                    source,
                })?;
            descriptors.push((socket, bound.local));
        }
    }
    #[cfg(target_os = "linux")]
    {
        let threads = threads::start(descriptors, handler, shared, batch)?;
        Ok(Loops {
            threads,
            tasks: tokio::task::JoinSet::new(),
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = batch;
        let mut registered = Vec::with_capacity(descriptors.len());
        for (socket, local) in descriptors {
            let socket = tokio::net::UdpSocket::from_std(socket).map_err(|source| {
                FrontendError::Register {
                    proto: "udp",
                    addr: local,
                    source,
                }
            })?;
            registered.push((Arc::new(socket), local));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (socket, local) in registered {
            tasks.spawn(run_single(socket, local, handler.clone(), shared.clone()));
        }
        Ok(Loops { tasks })
    }
}

/// One datagram per receive call, as a tokio task.
#[cfg(not(target_os = "linux"))]
async fn run_single<H: DnsHandler>(
    socket: Arc<tokio::net::UdpSocket>,
    local: SocketAddr,
    handler: Arc<H>,
    shared: Arc<Shared>,
) {
    let mut buf = vec![0u8; RECV_BUF];
    let mut out: Vec<u8> = Vec::with_capacity(OUT_CAPACITY);
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
            received_at: tokio::time::Instant::now(),
        };
        match handler.handle(&query, &mut out) {
            Reply::Ready => socket.send_reply(&out, peer).await,
            Reply::Drop => {}
            Reply::Pending(reply) => spawn_pending(reply, socket.clone(), peer, &shared),
        }
    }
}

/// Where a late reply goes out.
trait ReplySocket: Send + Sync + 'static {
    /// Sends `reply` (if not empty) to `peer`; a failure is logged, not returned.
    fn send_reply(
        &self,
        reply: &[u8],
        peer: SocketAddr,
    ) -> impl std::future::Future<Output = ()> + Send;
}

#[cfg(not(target_os = "linux"))]
impl ReplySocket for tokio::net::UdpSocket {
    async fn send_reply(&self, reply: &[u8], peer: SocketAddr) {
        if reply.is_empty() {
            return;
        }
        if let Err(error) = self.send_to(reply, peer).await {
            tracing::debug!(proto = "udp", %peer, %error, len = reply.len(), "send failed");
        }
    }
}

/// Runs a Pending reply as a task of the current runtime and sends it when it
/// completes, unless the drain is abandoned first.
fn spawn_pending<S: ReplySocket>(
    reply: PendingReply,
    socket: Arc<S>,
    peer: SocketAddr,
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
                    socket.send_reply(&reply, peer).await;
                }
            }
            _ = abort.requested() => {}
        }
    });
}

#[cfg(target_os = "linux")]
mod threads {
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::thread::JoinHandle;
    use std::time::Duration;

    use tokio::io::Interest;
    use tokio::sync::oneshot;
    use tokio::time::Instant;

    use super::super::mmsg::{register, send_to_nowait, RecvBatch, SendBatch, MAX_BATCH};
    use super::super::{DnsHandler, FrontendError, Query, Reply, Shared, Transport};
    use super::{spawn_pending, ReplySocket, OUT_CAPACITY, RECV_BUF};

    /// How long a receive blocks before the loop looks at the stop flag: the
    /// most a loop lags behind shutdown.
    const RECV_TIMEOUT: Duration = Duration::from_millis(100);

    /// Non-blocking sends of one late reply that find the buffer full, each
    /// followed by a wait for room, before the reply is dropped (a reply is a
    /// datagram: dropping one under sustained overload is what the network does).
    const SEND_ATTEMPTS: usize = 8;

    /// A running receive thread.
    pub(super) struct Worker {
        thread: JoinHandle<()>,
        /// Closed when the thread finishes (its sender is dropped).
        done: oneshot::Receiver<()>,
    }

    impl Worker {
        /// Waits (asynchronously) for the thread to finish, then joins it.
        pub(super) async fn join(self) {
            let _ = self.done.await;
            if self.thread.join().is_err() {
                tracing::warn!("UDP receive thread panicked");
            }
        }
    }

    /// Puts every socket in blocking mode with a receive timeout, then starts one
    /// thread per socket. Must be called inside a tokio runtime: the threads
    /// enter it, and a task there raises their stop flag on shutdown.
    pub(super) fn start<H: DnsHandler>(
        sockets: Vec<(std::net::UdpSocket, SocketAddr)>,
        handler: &Arc<H>,
        shared: &Arc<Shared>,
        batch: usize,
    ) -> Result<Vec<Worker>, FrontendError> {
        for (socket, local) in &sockets {
            socket
                .set_nonblocking(false)
                .and_then(|()| socket.set_read_timeout(Some(RECV_TIMEOUT)))
                .map_err(|source| FrontendError::Register {
                    proto: "udp",
                    addr: *local,
                    source,
                })?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let runtime = tokio::runtime::Handle::current();
        let mut workers = Vec::with_capacity(sockets.len());
        for (index, (socket, local)) in sockets.into_iter().enumerate() {
            let (done_tx, done) = oneshot::channel::<()>();
            let sender = Arc::new(Sender { socket });
            let handler = handler.clone();
            let shared = shared.clone();
            let stop_flag = stop.clone();
            let runtime = runtime.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("udp-{index}"))
                .spawn(move || {
                    let _done = done_tx;
                    let _entered = runtime.enter();
                    serve(&sender, local, &*handler, &shared, &stop_flag, batch);
                });
            match spawned {
                Ok(thread) => workers.push(Worker { thread, done }),
                Err(source) => {
                    stop.store(true, Ordering::Release);
                    for worker in workers {
                        let _ = worker.thread.join();
                    }
                    return Err(FrontendError::Register {
                        proto: "udp",
                        addr: local,
                        source,
                    });
                }
            }
        }
        let shutdown = shared.shutdown.clone();
        tokio::spawn(async move {
            shutdown.requested().await;
            stop.store(true, Ordering::Release);
        });
        Ok(workers)
    }

    /// A socket in blocking mode, shared by its receive thread and the tasks
    /// sending its late replies.
    struct Sender {
        socket: std::net::UdpSocket,
    }

    impl Sender {
        /// Waits until the socket has send-buffer room, through a registration of
        /// a duplicate descriptor with the runtime that lasts only for this wait.
        async fn writable(&self) -> io::Result<()> {
            let fd = register(self.socket.try_clone()?, Interest::WRITABLE)?;
            let _ready = fd.writable().await?;
            Ok(())
        }
    }

    impl ReplySocket for Sender {
        async fn send_reply(&self, reply: &[u8], peer: SocketAddr) {
            if reply.is_empty() {
                return;
            }
            let fd = self.socket.as_raw_fd();
            for _ in 0..SEND_ATTEMPTS {
                match send_to_nowait(fd, reply, peer) {
                    Ok(_) => return,
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

    /// The receive loop: up to `batch` datagrams per recvmmsg, their Ready
    /// replies in one sendmmsg, until `stop` is raised.
    ///
    /// HOT PATH: no allocation per batch; one recvmmsg and one sendmmsg.
    fn serve<H: DnsHandler>(
        sender: &Arc<Sender>,
        local: SocketAddr,
        handler: &H,
        shared: &Shared,
        stop: &AtomicBool,
        batch: usize,
    ) {
        let batch = batch.clamp(1, MAX_BATCH);
        let fd = sender.socket.as_raw_fd();
        let mut rx = RecvBatch::new(batch, RECV_BUF);
        let mut tx = SendBatch::new(batch);
        // outs[k] holds the k-th Ready reply of the batch, for peers[k].
        let mut outs: Vec<Vec<u8>> = (0..batch)
            .map(|_| Vec::with_capacity(OUT_CAPACITY))
            .collect();
        let mut peers: Vec<SocketAddr> = Vec::with_capacity(batch);
        while !stop.load(Ordering::Acquire) {
            let got = match rx.recv_wait(fd) {
                Ok(got) => got,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(error) => {
                    tracing::debug!(proto = "udp", addr = %local, %error, "recv failed");
                    continue;
                }
            };
            let received_at = Instant::now();
            peers.clear();
            for i in 0..got {
                let (wire, peer) = rx.get(i);
                let Some(peer) = peer else {
                    tracing::debug!(proto = "udp", addr = %local, "datagram from a non-IP address");
                    continue;
                };
                let out = &mut outs[peers.len()];
                out.clear();
                let query = Query {
                    wire,
                    peer,
                    local,
                    transport: Transport::Udp,
                    received_at,
                };
                match handler.handle(&query, out) {
                    Reply::Ready if !out.is_empty() => peers.push(peer),
                    Reply::Ready | Reply::Drop => {}
                    Reply::Pending(reply) => spawn_pending(reply, sender.clone(), peer, shared),
                }
            }
            send_all(fd, &mut tx, &outs[..peers.len()], &peers);
        }
    }

    /// Sends `msgs[k]` to `peers[k]` for every k, in as few blocking sendmmsg
    /// calls as the kernel allows: a partial send is continued from the first
    /// unsent message, and a message the kernel refuses is logged and skipped,
    /// as a failed send_to would be.
    fn send_all(
        fd: std::os::fd::RawFd,
        tx: &mut SendBatch,
        msgs: &[Vec<u8>],
        peers: &[SocketAddr],
    ) {
        let mut sent = 0;
        while sent < msgs.len() {
            match tx.send_wait(fd, &msgs[sent..], &peers[sent..]) {
                Ok(n) if n > 0 => sent += n,
                Ok(_) => {
                    // sendmmsg never reports zero for a non-empty batch; do not spin.
                    tracing::debug!(proto = "udp", peer = %peers[sent], len = msgs[sent].len(), "send failed: nothing sent");
                    sent += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    tracing::debug!(proto = "udp", peer = %peers[sent], %error, len = msgs[sent].len(), "send failed");
                    sent += 1;
                }
            }
        }
    }
}
