//! UDP forwarding to one backend: a connected socket, a bounded table of
//! queries in flight indexed by the ID we put on the wire, and a receive loop
//! that hands each response to the query it answers.
//!
//! The client's ID is replaced by one unique among this backend's queries in
//! flight and restored on the way back; a response whose ID is not in flight,
//! or whose question differs from the query's, is dropped and counted
//! (a late answer to a query already given up on, or garbage).
//!
//! Two kinds of waiter: a UDP client ([`ClientQuery`]), whose response the
//! receive loop sends straight back through the front end's responder (no task,
//! no future per query: the hot path), with deadlines kept in send order so
//! [`UdpForwarder::expired`] finds the late ones without scanning; and a task
//! ([`Ticket`]: health checks, TCP and DoT clients) that awaits its response.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use common::dns::wire::set_id;
use common::frontend::{InFlight, Responder};
use metrics::Counter;
use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::nodelocal::metrics::Asked;
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
    /// The backend was removed and its forwarder closed.
    #[error("backend removed")]
    Closed,
}

/// A UDP client's query in flight: everything needed to answer it from the
/// receive loop, to retry it elsewhere, or to answer SERVFAIL.
pub struct ClientQuery {
    /// The front end's way back to the client.
    pub responder: Responder,
    /// The client.
    pub peer: SocketAddr,
    /// When the front end received it.
    pub received_at: Instant,
    /// The query as the client sent it.
    pub wire: Vec<u8>,
    /// 0 for the first backend, 1 for the retry.
    pub attempt: u8,
    /// Keeps the shutdown drain waiting until the query is answered or dropped.
    pub held: InFlight,
    /// Where the response goes in the packet cache, when it is on.
    pub cache_key: Option<Vec<u8>>,
    /// Node-local mode: its zone and type, for the CoreDNS-named series.
    pub asked: Option<Asked>,
}

/// A query in flight for a task. Dropping it (timed out, or its client gone)
/// frees its table slot; a response arriving later is counted as unmatched.
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
        // Close the receiver first: `forget` only frees a slot whose task
        // waiter has no receiver, so a slot already answered and reused by
        // another query is left alone.
        drop(self.reply.take());
        self.forwarder.forget(self.id);
    }
}

/// A datagram being sent: on the stack up to 512 bytes, else on the heap.
struct SendBuf {
    small: [u8; 512],
    len: usize,
    large: Vec<u8>,
}

impl SendBuf {
    fn new() -> SendBuf {
        SendBuf {
            small: [0; 512],
            len: 0,
            large: Vec::new(),
        }
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        if bytes.len() <= self.small.len() {
            self.small[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        } else {
            self.large = bytes.to_vec();
        }
    }
}

impl std::ops::Deref for SendBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        if self.large.is_empty() {
            &self.small[..self.len]
        } else {
            &self.large
        }
    }
}

enum Waiter {
    Task(oneshot::Sender<Vec<u8>>),
    Client(ClientQuery),
}

struct Slot {
    client_id: u16,
    question: u64,
    sent_at: Instant,
    /// Which insertion this is, so a deadline matches only its own query.
    serial: u64,
    waiter: Waiter,
}

struct Table {
    /// Indexed by ID; boxed, so the 65,536 empty slots of each backend's
    /// table cost 512 KiB (unboxed they cost about 14 MiB, measured in the
    /// node-local RSS bench) for one small allocation per query.
    slots: Box<[Option<Box<Slot>>]>,
    next: u16,
    used: usize,
    max: usize,
    serial: u64,
    /// Set by [`UdpForwarder::close`]: nothing more is accepted.
    closed: bool,
    /// (deadline, id, serial) of client queries, in send order (the timeout
    /// is the same for all, so deadlines never decrease).
    deadlines: VecDeque<(Instant, u16, u64)>,
}

impl Table {
    /// A free ID (not yet taken), or `None` when `max` are in flight.
    fn reserve(&mut self) -> Option<u16> {
        if self.used >= self.max {
            return None;
        }
        // At most `max` (<= 65535) slots are taken, so a free one is near.
        for _ in 0..=u16::MAX {
            let id = self.next;
            self.next = self.next.wrapping_add(1);
            if self.slots[usize::from(id)].is_none() {
                return Some(id);
            }
        }
        None
    }

    /// Fills the free slot `id`; returns the insertion's serial.
    fn put(&mut self, id: u16, make: impl FnOnce(u64) -> Slot) -> u64 {
        self.serial += 1;
        self.slots[usize::from(id)] = Some(Box::new(make(self.serial)));
        self.used += 1;
        self.serial
    }

    fn insert(&mut self, make: impl FnOnce(u64) -> Slot) -> Option<u16> {
        let id = self.reserve()?;
        self.put(id, make);
        Some(id)
    }

    fn take(&mut self, id: u16) -> Option<Slot> {
        let slot = self.slots[usize::from(id)].take().map(|slot| *slot);
        if slot.is_some() {
            self.used -= 1;
        }
        slot
    }
}

/// The UDP path to one backend.
pub struct UdpForwarder {
    /// Every send passes MSG_DONTWAIT, so no sender ever blocks on it.
    socket: socket2::Socket,
    /// The same socket (blocking, with a receive timeout) for the backend's
    /// own thread to wait in.
    receiver: std::net::UdpSocket,
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
    /// queries in flight. A receive waits at most `tick`.
    pub fn connect(
        backend: SocketAddr,
        max_outstanding: usize,
        unmatched: Counter,
        tick: Duration,
    ) -> io::Result<UdpForwarder> {
        let local: SocketAddr = if backend.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(backend),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        socket.bind(&local.into())?;
        socket.connect(&backend.into())?;
        socket.set_read_timeout(Some(tick))?;
        let receiver = std::net::UdpSocket::from(socket.try_clone()?);
        let slots = (0..=usize::from(u16::MAX)).map(|_| None).collect();
        Ok(UdpForwarder {
            socket,
            receiver,
            backend,
            table: Mutex::new(Table {
                slots,
                next: rand::random(),
                used: 0,
                max: max_outstanding.clamp(1, 65_535),
                serial: 0,
                closed: false,
                deadlines: VecDeque::new(),
            }),
            unmatched,
        })
    }

    /// Queries in flight now.
    pub fn outstanding(&self) -> usize {
        self.table.lock().used
    }

    /// Sends `query` under a fresh ID for a task to await.
    pub async fn send(&self, query: &[u8]) -> Result<Ticket<'_>, SendError> {
        let question = question_hash(query).ok_or(SendError::Malformed)?;
        let client_id = u16::from_be_bytes([query[0], query[1]]);
        let (tx, rx) = oneshot::channel();
        let now = Instant::now();
        let id = self
            .table
            .lock()
            .insert(|serial| Slot {
                client_id,
                question,
                sent_at: now,
                serial,
                waiter: Waiter::Task(tx),
            })
            .ok_or(SendError::Full)?;
        let ticket = Ticket {
            forwarder: self,
            id,
            reply: Some(rx),
        };
        let mut wire = query.to_vec();
        set_id(&mut wire, id);
        self.socket.send_with_flags(&wire, libc::MSG_DONTWAIT)?;
        Ok(ticket)
    }

    /// Sends a UDP client's query under a fresh ID, without waiting: the
    /// response goes to the client from [`UdpForwarder::receive`], and the query
    /// comes back from [`UdpForwarder::expired`] after `timeout`. On failure the
    /// query is handed back to try elsewhere.
    ///
    /// HOT PATH: one short table lock (not held across the send), one
    /// non-blocking send, no allocation for a query up to 512 bytes.
    // The Err hands the query back by value for the retry: no allocation on the
    // failure path, and the Ok path carries nothing.
    #[allow(clippy::result_large_err)]
    pub fn send_client(
        &self,
        mut client: ClientQuery,
        timeout: Duration,
    ) -> Result<(), (SendError, ClientQuery)> {
        let mut copy = SendBuf::new();
        let Some(question) = question_hash(&client.wire) else {
            return Err((SendError::Malformed, client));
        };
        let client_id = u16::from_be_bytes([client.wire[0], client.wire[1]]);
        let now = Instant::now();
        let (id, serial) = {
            let mut table = self.table.lock();
            if table.closed {
                return Err((SendError::Closed, client));
            }
            let Some(id) = table.reserve() else {
                return Err((SendError::Full, client));
            };
            set_id(&mut client.wire, id);
            // The datagram is copied out before the client moves into the slot
            // (the slot is filled before the send, so the response always finds it).
            copy.extend_from_slice(&client.wire);
            let serial = table.put(id, |serial| Slot {
                client_id,
                question,
                sent_at: now,
                serial,
                waiter: Waiter::Client(client),
            });
            table.deadlines.push_back((now + timeout, id, serial));
            (id, serial)
        };
        if let Err(error) = self.socket.send_with_flags(&copy, libc::MSG_DONTWAIT) {
            let mut table = self.table.lock();
            let ours = table.slots[usize::from(id)]
                .as_ref()
                .is_some_and(|slot| slot.serial == serial);
            if ours {
                if let Some(Slot {
                    waiter: Waiter::Client(mut client),
                    ..
                }) = table.take(id)
                {
                    set_id(&mut client.wire, client_id);
                    return Err((SendError::Io(error), client));
                }
            }
        }
        Ok(())
    }

    /// The client queries whose deadline has passed, taken out of the table
    /// (with the client's ID back in place).
    pub fn expired(&self, now: Instant) -> Vec<ClientQuery> {
        let mut out = Vec::new();
        let mut table = self.table.lock();
        while let Some(&(deadline, id, serial)) = table.deadlines.front() {
            if deadline > now {
                break;
            }
            table.deadlines.pop_front();
            let current = table.slots[usize::from(id)]
                .as_ref()
                .is_some_and(|slot| slot.serial == serial);
            if !current {
                continue;
            }
            if let Some(Slot {
                client_id,
                waiter: Waiter::Client(mut client),
                ..
            }) = table.take(id)
            {
                set_id(&mut client.wire, client_id);
                out.push(client);
            }
        }
        out
    }

    /// Stops accepting queries and hands back every client query still in
    /// flight (client IDs restored), for the caller to send elsewhere; task
    /// waiters see their tickets close.
    pub fn close(&self) -> Vec<ClientQuery> {
        let mut table = self.table.lock();
        table.closed = true;
        table.deadlines.clear();
        let mut out = Vec::new();
        for id in 0..=u16::MAX {
            if let Some(Slot {
                client_id,
                waiter: Waiter::Client(mut client),
                ..
            }) = table.take(id)
            {
                set_id(&mut client.wire, client_id);
                out.push(client);
            }
        }
        out
    }

    /// Frees the slot `id` if it holds a task waiter whose receiver is gone.
    fn forget(&self, id: u16) {
        let mut table = self.table.lock();
        let gone = matches!(
            table.slots[usize::from(id)].as_deref(),
            Some(Slot { waiter: Waiter::Task(tx), .. }) if tx.is_closed()
        );
        if gone {
            table.take(id);
        }
    }

    /// Receives responses on the calling thread (blocking) while `keep_going`
    /// says so: a task's response goes to its ticket; a UDP client's is passed
    /// to `answer` with the client's ID restored and the backend's response
    /// time. At least every `tick` the client queries past their deadline are
    /// passed to `late`.
    pub fn receive_blocking(
        &self,
        answer: impl Fn(ClientQuery, &[u8], Duration),
        late: impl Fn(ClientQuery),
        keep_going: impl Fn() -> bool,
        tick: Duration,
    ) {
        let mut buf = vec![0u8; 65_535];
        let mut last_sweep = Instant::now();
        while keep_going() {
            match self.receiver.recv(&mut buf) {
                Ok(len) => self.deliver(&mut buf[..len], &answer),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    // ICMP port unreachable surfaces as ECONNREFUSED on a connected
                    // socket: the backend is down; timeouts will say so.
                    tracing::debug!(backend = %self.backend, %error, "receive from backend failed");
                }
            }
            let now = Instant::now();
            if now.duration_since(last_sweep) >= tick {
                last_sweep = now;
                for client in self.expired(now) {
                    late(client);
                }
            }
        }
    }

    /// Hands the response `msg` to the query it answers (the fuzz harness
    /// calls it directly, in place of the receive loop).
    pub(crate) fn deliver(&self, msg: &mut [u8], answer: &impl Fn(ClientQuery, &[u8], Duration)) {
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
        match slot.waiter {
            Waiter::Task(tx) => {
                let _ = tx.send(msg.to_vec());
            }
            Waiter::Client(mut client) => {
                // The client's own ID back in its query too (a stale answer is built from it).
                set_id(&mut client.wire, slot.client_id);
                answer(client, msg, slot.sent_at.elapsed());
            }
        }
    }
}
