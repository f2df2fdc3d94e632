//! UDP forwarding to one backend: a connected socket, a bounded table of
//! queries in flight indexed by the ID we put on the wire, and a receive loop
//! that hands each response to the query it answers.
//!
//! The client's ID is replaced by one unique among this backend's queries in
//! flight and restored on the way back; a response whose ID is not in flight,
//! or whose question differs from the query's, is dropped and counted
//! (a late answer to a query already given up on, or garbage).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use common::dns::wire::set_id;
use metrics::Counter;
use parking_lot::Mutex;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use crate::wire::question_hash;

/// Why a query could not be sent to this backend.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The outstanding table is full (`max-outstanding`).
    #[error("outstanding table full")]
    Full,
    /// The message has no single well-formed question.
    #[error("malformed query")]
    Malformed,
    /// The socket refused the datagram.
    #[error("send failed: {0}")]
    Io(#[from] io::Error),
}

/// A query in flight. Dropping it (timed out, or its client gone) frees its
/// table slot; a response arriving later is counted as unmatched.
#[derive(Debug)]
pub struct Ticket<'a> {
    forwarder: &'a UdpForwarder,
    id: u16,
    reply: Option<oneshot::Receiver<Vec<u8>>>,
}

impl Ticket<'_> {
    /// The response (client ID restored), or `None` if none came within `limit`.
    pub async fn wait(mut self, limit: Duration) -> Option<Vec<u8>> {
        let reply = self.reply.as_mut()?;
        match tokio::time::timeout(limit, reply).await {
            Ok(Ok(response)) => Some(response),
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        // Close the receiver first: `forget` only frees a slot whose query has
        // no receiver, so a slot already answered and reused by another query
        // is left alone.
        drop(self.reply.take());
        self.forwarder.forget(self.id);
    }
}

struct Slot {
    client_id: u16,
    question: u64,
    reply: oneshot::Sender<Vec<u8>>,
}

struct Table {
    slots: Box<[Option<Slot>]>,
    next: u16,
    used: usize,
    max: usize,
}

impl Table {
    fn insert(&mut self, slot: Slot) -> Option<u16> {
        if self.used >= self.max {
            return None;
        }
        // At most `max` (<= 65535) slots are taken, so a free one is near.
        for _ in 0..=u16::MAX {
            let id = self.next;
            self.next = self.next.wrapping_add(1);
            let entry = &mut self.slots[usize::from(id)];
            if entry.is_none() {
                *entry = Some(slot);
                self.used += 1;
                return Some(id);
            }
        }
        None
    }

    fn take(&mut self, id: u16) -> Option<Slot> {
        let slot = self.slots[usize::from(id)].take();
        if slot.is_some() {
            self.used -= 1;
        }
        slot
    }
}

/// The UDP path to one backend.
pub struct UdpForwarder {
    socket: UdpSocket,
    backend: SocketAddr,
    table: Mutex<Table>,
    unmatched: Counter,
}

impl std::fmt::Debug for UdpForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpForwarder")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl UdpForwarder {
    /// A socket on an ephemeral port connected to `backend` (the kernel then
    /// drops datagrams from anyone else), with room for `max_outstanding`
    /// queries in flight. Must be called inside a tokio runtime.
    pub async fn connect(
        backend: SocketAddr,
        max_outstanding: usize,
        unmatched: Counter,
    ) -> io::Result<UdpForwarder> {
        let local: SocketAddr = if backend.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(backend).await?;
        let slots = (0..=usize::from(u16::MAX)).map(|_| None).collect();
        Ok(UdpForwarder {
            socket,
            backend,
            table: Mutex::new(Table {
                slots,
                next: rand::random(),
                used: 0,
                max: max_outstanding.clamp(1, 65_535),
            }),
            unmatched,
        })
    }

    /// Queries in flight now.
    pub fn outstanding(&self) -> usize {
        self.table.lock().used
    }

    /// Sends `query` under a fresh ID.
    pub async fn send(&self, query: &[u8]) -> Result<Ticket<'_>, SendError> {
        let question = question_hash(query).ok_or(SendError::Malformed)?;
        let client_id = u16::from_be_bytes([query[0], query[1]]);
        let (tx, rx) = oneshot::channel();
        let id = self
            .table
            .lock()
            .insert(Slot {
                client_id,
                question,
                reply: tx,
            })
            .ok_or(SendError::Full)?;
        let ticket = Ticket {
            forwarder: self,
            id,
            reply: Some(rx),
        };
        let mut wire = query.to_vec();
        set_id(&mut wire, id);
        self.socket.send(&wire).await?;
        Ok(ticket)
    }

    /// Frees the slot `id` if its query's receiver is gone.
    fn forget(&self, id: u16) {
        let mut table = self.table.lock();
        if table.slots[usize::from(id)]
            .as_ref()
            .is_some_and(|slot| slot.reply.is_closed())
        {
            table.take(id);
        }
    }

    /// Receives responses until the socket fails for good or `stop` completes.
    pub async fn receive(&self, stop: impl std::future::Future<Output = ()>) {
        let mut buf = vec![0u8; 65_535];
        tokio::pin!(stop);
        loop {
            let len = tokio::select! {
                biased;
                _ = &mut stop => return,
                r = self.socket.recv(&mut buf) => match r {
                    Ok(len) => len,
                    Err(error) => {
                        // ICMP port unreachable surfaces here as ECONNREFUSED on a
                        // connected socket: the backend is down; timeouts will say so.
                        tracing::debug!(backend = %self.backend, %error, "receive from backend failed");
                        continue;
                    }
                },
            };
            self.deliver(&mut buf[..len]);
        }
    }

    fn deliver(&self, msg: &mut [u8]) {
        if msg.len() < 12 || msg[2] & 0x80 == 0 {
            self.unmatched.increment(1);
            return;
        }
        let id = u16::from_be_bytes([msg[0], msg[1]]);
        let question = question_hash(msg);
        // A response with no question (FORMERR, some SERVFAILs) for an ID in
        // flight is accepted, as dnsdist does.
        let no_question = u16::from_be_bytes([msg[4], msg[5]]) == 0;
        let slot = {
            let mut table = self.table.lock();
            let ours = table.slots[usize::from(id)]
                .as_ref()
                .is_some_and(|slot| no_question || Some(slot.question) == question);
            if ours {
                table.take(id)
            } else {
                None
            }
        };
        let Some(slot) = slot else {
            self.unmatched.increment(1);
            return;
        };
        set_id(msg, slot.client_id);
        let _ = slot.reply.send(msg.to_vec());
    }
}
