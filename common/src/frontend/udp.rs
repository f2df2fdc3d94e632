//! UDP receive loop: one task per socket (or several sharing one socket when
//! SO_REUSEPORT is off), one reused receive buffer, one reused reply buffer.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{DnsHandler, PendingReply, Query, Reply, Shared, Transport};

/// The largest datagram payload over IPv4/IPv6 without jumbograms.
const RECV_BUF: usize = 65_535;

/// Receives until shutdown; answers Ready replies inline and spawns a task per
/// Pending one.
pub(super) async fn run<H: DnsHandler>(
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    handler: Arc<H>,
    shared: Arc<Shared>,
) {
    let mut buf = vec![0u8; RECV_BUF];
    let mut out: Vec<u8> = Vec::with_capacity(4096);
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
