//! UDP receive loop: one task per socket (or several sharing one socket when
//! SO_REUSEPORT is off), with buffers reused for the task's lifetime.
//!
//! On Linux, with `udp_batch` > 1, each wakeup takes up to `udp_batch`
//! datagrams with one recvmmsg(2), runs the handler on each, and sends the
//! Ready replies with one sendmmsg(2) (see [`super::mmsg`]); elsewhere, or with
//! `udp_batch` <= 1, one recv_from and one send_to per query.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{DnsHandler, PendingReply, Query, Reply, Shared, Transport};

/// The largest datagram payload over IPv4/IPv6 without jumbograms.
const RECV_BUF: usize = 65_535;

/// Capacity reserved up front for each reply buffer.
const OUT_CAPACITY: usize = 4096;

/// Receives until shutdown; answers Ready replies inline and spawns a task per
/// Pending one. `batch` is the most datagrams taken per receive call (Linux).
pub(super) async fn run<H: DnsHandler>(
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    handler: Arc<H>,
    shared: Arc<Shared>,
    batch: usize,
) {
    #[cfg(target_os = "linux")]
    if batch > 1 {
        return batched::run(socket, local, handler, shared, batch).await;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = batch;
    run_single(socket, local, handler, shared).await
}

/// One datagram per receive call.
async fn run_single<H: DnsHandler>(
    socket: Arc<UdpSocket>,
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
            received_at: Instant::now(),
        };
        match handler.handle(&query, &mut out) {
            Reply::Ready => send(&socket, &out, peer).await,
            Reply::Drop => {}
            Reply::Pending(reply) => spawn_pending(reply, socket.clone(), peer, &shared),
        }
    }
}

#[cfg(target_os = "linux")]
mod batched {
    use std::net::SocketAddr;
    use std::os::fd::{AsRawFd, RawFd};
    use std::sync::Arc;

    use tokio::io::Interest;
    use tokio::net::UdpSocket;
    use tokio::time::Instant;

    use super::super::mmsg::{RecvBatch, SendBatch, MAX_BATCH};
    use super::super::{DnsHandler, Query, Reply, Shared, Transport};
    use super::{spawn_pending, OUT_CAPACITY, RECV_BUF};

    /// Up to `batch` datagrams per recvmmsg, their Ready replies in one sendmmsg.
    pub(super) async fn run<H: DnsHandler>(
        socket: Arc<UdpSocket>,
        local: SocketAddr,
        handler: Arc<H>,
        shared: Arc<Shared>,
        batch: usize,
    ) {
        let batch = batch.min(MAX_BATCH);
        let fd = socket.as_raw_fd();
        let mut rx = RecvBatch::new(batch, RECV_BUF);
        let mut tx = SendBatch::new(batch);
        // outs[k] holds the k-th Ready reply of the batch, for peers[k].
        let mut outs: Vec<Vec<u8>> = (0..batch)
            .map(|_| Vec::with_capacity(OUT_CAPACITY))
            .collect();
        let mut peers: Vec<SocketAddr> = Vec::with_capacity(batch);
        let stop = shared.shutdown.requested();
        tokio::pin!(stop);
        loop {
            let got = tokio::select! {
                biased;
                _ = &mut stop => break,
                r = socket.async_io(Interest::READABLE, || rx.recv(fd)) => match r {
                    Ok(got) => got,
                    Err(error) => {
                        tracing::debug!(proto = "udp", addr = %local, %error, "recv failed");
                        continue;
                    }
                },
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
                    Reply::Pending(reply) => spawn_pending(reply, socket.clone(), peer, &shared),
                }
            }
            send_all(&socket, fd, &mut tx, &outs[..peers.len()], &peers).await;
        }
    }

    /// Sends `msgs[k]` to `peers[k]` for every k, in as few sendmmsg calls as the
    /// kernel allows: a partial send is continued from the first unsent message,
    /// WouldBlock waits for writability (tokio's `async_io`), and a message the
    /// kernel refuses is logged and skipped, as a failed send_to would be.
    async fn send_all(
        socket: &UdpSocket,
        fd: RawFd,
        tx: &mut SendBatch,
        msgs: &[Vec<u8>],
        peers: &[SocketAddr],
    ) {
        let mut sent = 0;
        while sent < msgs.len() {
            let r = socket
                .async_io(Interest::WRITABLE, || {
                    tx.send(fd, &msgs[sent..], &peers[sent..])
                })
                .await;
            match r {
                Ok(n) if n > 0 => sent += n,
                Ok(_) => {
                    // sendmmsg never reports zero for a non-empty batch; do not spin.
                    tracing::debug!(proto = "udp", peer = %peers[sent], len = msgs[sent].len(), "send failed: nothing sent");
                    sent += 1;
                }
                Err(error) => {
                    tracing::debug!(proto = "udp", peer = %peers[sent], %error, len = msgs[sent].len(), "send failed");
                    sent += 1;
                }
            }
        }
    }
}

async fn send(socket: &UdpSocket, reply: &[u8], peer: SocketAddr) {
    if reply.is_empty() {
        return;
    }
    if let Err(error) = socket.send_to(reply, peer).await {
        tracing::debug!(proto = "udp", %peer, %error, len = reply.len(), "send failed");
    }
}

fn spawn_pending(reply: PendingReply, socket: Arc<UdpSocket>, peer: SocketAddr, shared: &Shared) {
    let tracked = shared.tracker.track();
    let abort = shared.abort.clone();
    tokio::spawn(async move {
        let _tracked = tracked;
        tokio::select! {
            biased;
            reply = reply => {
                if let Some(reply) = reply {
                    send(&socket, &reply, peer).await;
                }
            }
            _ = abort.requested() => {}
        }
    });
}
