//! Pooled, pipelined TCP connections to one backend, for the queries of TCP and
//! DoT clients: up to `MAX_CONNECTIONS` connections, each carrying many
//! queries at once under IDs unique on that connection, with responses matched
//! by ID in whatever order they come back (RFC 7766 §6.2.1.1). A connection
//! is opened when none has room, and dropped on error, end of stream, or after
//! `IDLE` without queries.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::dns::tcp::{read_frame, write_frame};
use common::dns::wire::set_id;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Connections per backend at most.
const MAX_CONNECTIONS: usize = 4;
/// Queries in flight on one connection before another is opened.
const PER_CONNECTION: usize = 100;
/// A connection unused this long is closed.
const IDLE: Duration = Duration::from_secs(10);

struct Connection {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    waiters: Mutex<HashMap<u16, oneshot::Sender<Vec<u8>>>>,
    next_id: Mutex<u16>,
    in_flight: AtomicUsize,
    alive: AtomicBool,
}

impl Connection {
    fn register(&self) -> Option<(u16, oneshot::Receiver<Vec<u8>>)> {
        let mut waiters = self.waiters.lock();
        let mut next = self.next_id.lock();
        for _ in 0..=u16::MAX {
            let id = *next;
            *next = next.wrapping_add(1);
            if let std::collections::hash_map::Entry::Vacant(slot) = waiters.entry(id) {
                let (tx, rx) = oneshot::channel();
                slot.insert(tx);
                return Some((id, rx));
            }
        }
        None
    }
}

/// The TCP connections to one backend.
pub struct TcpPool {
    backend: SocketAddr,
    connections: Mutex<Vec<Arc<Connection>>>,
    /// Held while a connection is opened, so a burst opens one, not many.
    opening: tokio::sync::Mutex<()>,
    /// Connections opened so far (for tests and logs).
    opened: AtomicUsize,
}

impl TcpPool {
    /// An empty pool for `backend`.
    pub fn new(backend: SocketAddr) -> TcpPool {
        TcpPool {
            backend,
            connections: Mutex::new(Vec::new()),
            opening: tokio::sync::Mutex::new(()),
            opened: AtomicUsize::new(0),
        }
    }

    /// Connections opened since start.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// A live connection with room, if any: the one with the fewest queries in flight.
    fn pick(&self) -> Option<Arc<Connection>> {
        let mut connections = self.connections.lock();
        connections.retain(|c| c.alive.load(Ordering::Acquire));
        let best = connections
            .iter()
            .min_by_key(|c| c.in_flight.load(Ordering::Relaxed))?;
        let room = best.in_flight.load(Ordering::Relaxed) < PER_CONNECTION;
        let full = connections.len() >= MAX_CONNECTIONS;
        (room || full).then(|| best.clone())
    }

    async fn open(&self) -> Option<Arc<Connection>> {
        let stream = match TcpStream::connect(self.backend).await {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(backend = %self.backend, %error, "TCP connect to backend failed");
                return None;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut reader, writer) = stream.into_split();
        let connection = Arc::new(Connection {
            writer: tokio::sync::Mutex::new(writer),
            waiters: Mutex::new(HashMap::new()),
            next_id: Mutex::new(rand::random()),
            in_flight: AtomicUsize::new(0),
            alive: AtomicBool::new(true),
        });
        self.opened.fetch_add(1, Ordering::Relaxed);
        self.connections.lock().push(connection.clone());
        let reading = connection.clone();
        let backend = self.backend;
        tokio::spawn(async move {
            let mut frame = Vec::new();
            loop {
                let idle = reading.in_flight.load(Ordering::Relaxed) == 0;
                let limit = if idle {
                    IDLE
                } else {
                    Duration::from_secs(3600)
                };
                match tokio::time::timeout(limit, read_frame(&mut reader, &mut frame)).await {
                    Ok(Ok(true)) if frame.len() >= 2 => {
                        let id = u16::from_be_bytes([frame[0], frame[1]]);
                        if let Some(tx) = reading.waiters.lock().remove(&id) {
                            let _ = tx.send(std::mem::take(&mut frame));
                        }
                    }
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) | Ok(Err(_)) => break,
                    // Idle too long with nothing in flight: close.
                    Err(_) if reading.in_flight.load(Ordering::Relaxed) == 0 => break,
                    Err(_) => {}
                }
            }
            reading.alive.store(false, Ordering::Release);
            // Waiters see their senders dropped: their queries fail over.
            reading.waiters.lock().clear();
            let _ = reading.writer.lock().await.shutdown().await;
            tracing::debug!(%backend, "TCP connection to backend closed");
        });
        Some(connection)
    }

    /// Sends `query` over a pooled connection and waits up to `limit` for the
    /// response (the client's ID restored); `None` on failure or timeout.
    pub async fn query(&self, query: &[u8], limit: Duration) -> Option<Vec<u8>> {
        if query.len() < 12 {
            return None;
        }
        let client_id = u16::from_be_bytes([query[0], query[1]]);
        let exchange = async {
            let connection = match self.pick() {
                Some(c) => c,
                None => {
                    let _opening = self.opening.lock().await;
                    // Another query may have opened one meanwhile.
                    match self.pick() {
                        Some(c) => c,
                        None => self.open().await?,
                    }
                }
            };
            let (id, rx) = connection.register()?;
            connection.in_flight.fetch_add(1, Ordering::AcqRel);
            let _done = InFlightGuard {
                connection: &connection,
                id,
            };
            let mut wire = query.to_vec();
            set_id(&mut wire, id);
            let written = {
                let mut writer = connection.writer.lock().await;
                write_frame(&mut *writer, &wire).await
            };
            if written.is_err() {
                connection.alive.store(false, Ordering::Release);
                return None;
            }
            let mut response = rx.await.ok()?;
            set_id(&mut response, client_id);
            Some(response)
        };
        tokio::time::timeout(limit, exchange).await.ok().flatten()
    }
}

/// When a query is done (answered, failed or timed out): forgets its waiter and
/// decrements the connection's in-flight count.
struct InFlightGuard<'a> {
    connection: &'a Arc<Connection>,
    id: u16,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.connection.waiters.lock().remove(&self.id);
        self.connection.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
