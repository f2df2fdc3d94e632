//! TCP and DoT: accept loops with a connection limit, and one connection handler,
//! generic over the stream, that serves pipelined queries (RFC 7766 §6.2.1.1:
//! "the server MUST ... process them concurrently and send responses as they are
//! ready, potentially out of order").

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::limit::{ConnSlot, Parked, Refused, PARK_TIME};
use super::{DnsHandler, PendingReply, Query, Reply, Shared, Transport};
use crate::dns::tcp::{append_frame, FrameReader};
use crate::tls::TlsReloader;

/// Pause after an accept error (EMFILE and friends) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// How long a graceful close (FIN, TLS close_notify) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Accepts until shutdown. With every slot taken a new connection evicts the
/// oldest evictable one (see [`super::limit`]); with none evictable the loop
/// waits for a slot to free (the connection waits in the backlog); over a
/// netblock's or a client's limit, a new connection is closed at once.
pub(super) async fn accept_loop<H: DnsHandler>(
    listener: TcpListener,
    local: SocketAddr,
    transport: Transport,
    tls: Option<TlsReloader>,
    handler: Arc<H>,
    shared: Arc<Shared>,
) {
    let proto = transport.as_str();
    let stop = shared.shutdown.requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = shared.conns.room() => {}
        }
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok(got) => got,
                Err(error) => {
                    tracing::debug!(proto, addr = %local, %error, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let admitted = loop {
            match shared.conns.try_acquire(peer.ip()) {
                // What was evictable at `room` no longer is: wait for room
                // again, with this connection held as it would wait in the backlog.
                Err(Refused::Total) => tokio::select! {
                    biased;
                    _ = &mut stop => return,
                    _ = shared.conns.room() => {}
                },
                other => break other,
            }
        };
        let slot = match admitted {
            Ok(slot) => slot,
            Err(refused @ (Refused::Share | Refused::Client)) => {
                park(stream, refused, shared.conns.try_park(), &shared);
                continue;
            }
            Err(refused) => {
                tracing::debug!(proto, %peer, max = shared.conns.max(), "{}; closing", refused.as_str());
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(proto, %peer, %error, "TCP_NODELAY failed");
        }
        let conn_local = stream.local_addr().unwrap_or(local);
        let tracked = shared.tracker.track();
        let acceptor = tls.as_ref().map(|r| TlsAcceptor::from(r.current()));
        let handler = handler.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let _tracked = tracked;
            let abort = shared.abort.clone();
            tokio::select! {
                biased;
                _ = abort.requested() => {}
                _ = slot.evicted() => tracing::debug!(proto, %peer, "evicted for a new connection; closing"),
                _ = connection(stream, peer, conn_local, acceptor, &slot, &*handler, &shared) => {}
            }
        });
    }
}

/// Holds a connection refused because its address holds enough already
/// (`refused`: its per-client cap or its fair share) unread for
/// [`PARK_TIME`] (or until the server stops), then closes it; with no room
/// to park it, closes it at once.
fn park(stream: TcpStream, refused: Refused, parked: Option<Parked>, shared: &Arc<Shared>) {
    let Some(parked) = parked else {
        tracing::debug!("{}; closing", refused.as_str());
        return;
    };
    let stop = shared.shutdown.clone();
    tokio::spawn(async move {
        let _held = (stream, parked);
        tokio::select! {
            () = tokio::time::sleep(PARK_TIME) => {}
            () = stop.requested() => {}
        }
    });
}

/// Serves one accepted connection: plain TCP, or DoT when `acceptor` is given.
async fn connection<H: DnsHandler>(
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    slot: &ConnSlot,
    handler: &H,
    shared: &Shared,
) {
    let Some(acceptor) = acceptor else {
        serve_stream(stream, peer, local, Transport::Tcp, slot, handler, shared).await;
        return;
    };
    // Under load the connection's whole budget shrinks, the handshake's too.
    let handshake = shared.handshake_timeout.min(slot.idle_timeout);
    match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => serve_stream(tls, peer, local, Transport::Tls, slot, handler, shared).await,
        Ok(Err(error)) => tracing::debug!(proto = "tls", %peer, %error, "TLS handshake failed"),
        Err(_) => tracing::debug!(proto = "tls", %peer, "TLS handshake timed out"),
    }
}

/// Serves one connection: reads frames continuously, answers Ready queries at
/// once, drives Pending ones concurrently (at most `max_in_flight`) and writes
/// each reply as it completes. Replies produced together go out in one write.
///
/// Ends on: client EOF once every pending reply is written; idle timeout (no
/// complete query for `idle` while nothing is pending: bytes of an unfinished
/// frame do not reset it, so a client trickling a query byte by byte is closed
/// as an idle one); a write that cannot finish within `idle`; an I/O error;
/// shutdown (stop reading, finish pending). The idle timeout is the slot's;
/// the slot learns when the connection may be evicted (nothing in flight and
/// part of a frame buffered; a connection that never sent a byte is left to
/// its idle timeout).
pub(super) async fn serve_stream<S, H>(
    mut stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    slot: &ConnSlot,
    handler: &H,
    shared: &Shared,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    H: DnsHandler,
{
    let proto = transport.as_str();
    let idle = slot.idle_timeout;
    // Whether the slot table lists this connection as evictable.
    let mut evictable = false;
    let max_in_flight = shared.max_in_flight;
    let mut reader = FrameReader::new();
    let mut wbuf: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    let mut pending: FuturesUnordered<PendingReply> = FuturesUnordered::new();
    // Shutdown fired: take no new query, finish the pending ones.
    let mut draining = false;
    // The client closed its side: answer what it already sent, then close.
    let mut eof = false;
    let stop = shared.shutdown.requested();
    tokio::pin!(stop);
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);

    loop {
        // Every complete frame already buffered, while the in-flight bound allows.
        let mut got_query = false;
        while !draining && pending.len() < max_in_flight {
            let Some(wire) = reader.next_frame() else {
                break;
            };
            got_query = true;
            out.clear();
            let query = Query {
                wire,
                peer,
                local,
                transport,
                received_at: Instant::now(),
                responder: None,
            };
            match handler.handle(&query, &mut out) {
                Reply::Ready => push_reply(&mut wbuf, &out, proto, peer),
                // Without a responder there is nothing to answer through.
                Reply::Drop | Reply::Detached => {}
                Reply::Pending(reply) => pending.push(reply),
            }
        }
        if got_query && wbuf.is_empty() {
            idle_timer.as_mut().reset(Instant::now() + idle);
        }
        if !wbuf.is_empty() {
            match tokio::time::timeout(idle, write_flush(&mut stream, &wbuf)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!(proto, %peer, %error, "write failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(proto, %peer, "write timed out; closing");
                    return;
                }
            }
            wbuf.clear();
            idle_timer.as_mut().reset(Instant::now() + idle);
        }
        // Nothing in flight, so every complete frame was taken: what is
        // buffered is part of one.
        let now_evictable = pending.is_empty() && reader.buffered() > 0;
        if now_evictable != evictable {
            evictable = now_evictable;
            slot.set_evictable(evictable);
        }
        // With nothing pending, the loop above consumed every buffered frame.
        if (draining || eof) && pending.is_empty() {
            break;
        }
        let can_read = !draining && !eof && pending.len() < max_in_flight;
        let idle_armed = !draining && !eof && pending.is_empty();
        tokio::select! {
            biased;
            _ = &mut stop, if !draining => draining = true,
            Some(reply) = pending.next(), if !pending.is_empty() => {
                if let Some(reply) = reply {
                    push_reply(&mut wbuf, &reply, proto, peer);
                }
            }
            r = reader.read_more(&mut stream), if can_read => match r {
                Ok(0) => eof = true,
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(proto, %peer, %error, "read failed");
                    return;
                }
            },
            _ = &mut idle_timer, if idle_armed => {
                tracing::debug!(proto, %peer, "idle timeout; closing");
                break;
            }
        }
    }
    if tokio::time::timeout(CLOSE_TIMEOUT, stream.shutdown())
        .await
        .is_err()
    {
        tracing::debug!(proto, %peer, "close timed out");
    }
}

fn push_reply(wbuf: &mut Vec<u8>, reply: &[u8], proto: &'static str, peer: SocketAddr) {
    if reply.is_empty() {
        return;
    }
    if append_frame(wbuf, reply).is_err() {
        tracing::debug!(proto, %peer, len = reply.len(), "reply longer than 65535 bytes dropped");
    }
}

async fn write_flush<S: AsyncWrite + Unpin>(stream: &mut S, buf: &[u8]) -> std::io::Result<()> {
    stream.write_all(buf).await?;
    stream.flush().await
}
