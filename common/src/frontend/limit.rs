//! Who may hold a TCP or DoT connection, and for how long: the defences
//! against slow-loris clients that open connections and never finish a query.
//!
//! Three limits apply at accept: the client's netblock (Unbound
//! `tcp-connection-limit NETBLOCK LIMIT`, longest prefix wins, one count
//! shared by every address in the block), then one client address (ours:
//! Unbound has no such cap, so a single address could take every slot; see
//! [`super::FrontendConfig::tcp_max_connections_per_client`]), then the total
//! (Unbound `incoming-num-tcp` per thread), checked last so that a newcomer
//! the other limits refuse evicts nobody.
//!
//! Each admitted connection gets its idle timeout from the load at accept, as
//! Unbound's `setup_tcp_handler` (util/netevent.c): over 50 % of the slots in
//! use, a hundredth of the configured value; over 65 %, a five-hundredth; over
//! 80 %, nothing; never under 200 ms. The idle timer runs from the last
//! complete query, so a client trickling a frame one byte at a time is closed
//! when it runs out, however often it sends a byte.
//!
//! With every slot taken, a new connection from an address that holds fewer
//! connections than another address does (fair share: ours, Unbound has
//! none) takes the slot of the oldest
//! *evictable* connection, which is closed: one that sent bytes but holds
//! only part of a frame, with nothing in flight (a slow loris). A connection
//! that never sent a byte is not evictable (its query may be waiting unread
//! in the socket) and is left to its load-shortened idle timeout. Connections
//! with queries in flight, or idle after a complete query, are never evicted
//! for a newcomer (Unbound has no eviction: a loris attacker that reopens
//! every closed connection keeps its slots and legitimate clients wait in the
//! backlog). A newcomer from an address that holds as many as any other, or
//! its per-client cap, is parked instead: held unread for a few seconds, then closed (at most half
//! the process's file descriptors are parked; beyond that it is closed at
//! once). A loris spread over a few addresses that fill the table cannot
//! churn it, and its parked connections are not reopened meanwhile, so its
//! reconnects do not keep the listen backlog full: a legitimate client's
//! connection is reached soon, where closing the loris's at once let it
//! reopen them faster than they could be accepted. Only when nothing is evictable do the accept loops stop accepting
//! until a slot frees (as Unbound stops listening): new connections wait in
//! the listen backlog, and since connections accepted under load time out
//! within 200 ms, a legitimate client is served after a short wait instead of
//! being turned away.
//!
//! Accepting is not the per-query hot path: the per-address table is one
//! mutex-guarded map, entries removed when their last connection closes, so
//! it never holds more entries than there are open connections. The
//! evictable connections are another, ordered by age; a connection locks it
//! at accept, at close and when it becomes evictable or stops being so
//! (a frame split across segments), never per query otherwise.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::acl::Acl;

/// Unbound's `TCP_QUERY_TIMEOUT_MINIMUM`: the shortest idle timeout load may impose.
pub(super) const MIN_LOADED_TIMEOUT: Duration = Duration::from_millis(200);

/// How long a parked connection is held, unread, before it is closed.
pub(super) const PARK_TIME: Duration = Duration::from_secs(3);

/// Open TCP + DoT connections, bounded in total, per netblock and per client.
#[derive(Debug)]
pub(super) struct ConnLimits {
    open: AtomicUsize,
    /// Connections parked (see [`ConnLimits::try_park`]), at most `park_max`.
    parked: AtomicUsize,
    park_max: usize,
    max: usize,
    per_client: usize,
    clients: Mutex<HashMap<IpAddr, usize>>,
    /// Netblock → index into `blocks`.
    netblocks: Acl<usize>,
    blocks: Vec<Block>,
    idle_timeout: Duration,
    /// Signalled when a slot frees or a connection becomes evictable, for
    /// accept loops waiting for room.
    freed: Notify,
    /// The connections a newcomer may evict, oldest first.
    evictable: Mutex<Evictable>,
}

/// The evictable connections: by age (a ticket drawn each time a connection
/// becomes evictable, so the smallest is the one evictable the longest) for
/// picking the oldest, by connection id for finding one's entry when its
/// state changes.
#[derive(Debug, Default)]
struct Evictable {
    /// Ticket → connection id and what evicts it.
    by_age: BTreeMap<u64, (u64, Arc<SlotState>)>,
    /// Connection id → its ticket.
    ticket: HashMap<u64, u64>,
    next_ticket: u64,
    next_id: u64,
}

impl Evictable {
    fn insert(&mut self, id: u64, state: &Arc<SlotState>) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.by_age.insert(ticket, (id, state.clone()));
        self.ticket.insert(id, ticket);
    }

    fn remove(&mut self, id: u64) {
        if let Some(ticket) = self.ticket.remove(&id) {
            self.by_age.remove(&ticket);
        }
    }
}

/// What the accept path shares with one connection to evict it.
#[derive(Debug, Default)]
struct SlotState {
    /// Signalled (with a stored permit) when the connection is evicted.
    evict: Notify,
    /// Its slot now belongs to the newcomer that evicted it: closing does
    /// not free a slot.
    handed_over: AtomicBool,
}

/// One `tcp-connection-limit` netblock.
#[derive(Debug)]
struct Block {
    limit: usize,
    open: AtomicUsize,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The client's netblock holds its `tcp-connection-limit`.
    Netblock,
    /// Every slot is taken.
    Total,
    /// The client's address holds its share.
    Client,
    /// Every slot is taken and the client's address holds as many as any
    /// other: it may not evict.
    Share,
}

impl Refused {
    /// For the debug log line.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Refused::Netblock => "netblock connection limit reached",
            Refused::Total => "connection limit reached",
            Refused::Client => "per-client connection limit reached",
            Refused::Share => "connection limit reached and the client holds its fair share",
        }
    }
}

/// A parked connection's place, given back when dropped.
#[derive(Debug)]
pub(super) struct Parked {
    limits: Arc<ConnLimits>,
}

impl Drop for Parked {
    fn drop(&mut self) {
        self.limits.parked.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How many connections may be parked: half the file descriptors the
/// process may open (the soft `RLIMIT_NOFILE`, read from /proc/self/limits;
/// 1024 where that cannot be read), less the connection slots, so parking
/// never starves sockets and files of descriptors.
fn park_max(max: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        })
        .unwrap_or(1024);
    (soft / 2).saturating_sub(max)
}

/// A connection's claim on the limits, released when dropped.
#[derive(Debug)]
pub(super) struct ConnSlot {
    limits: Arc<ConnLimits>,
    client: IpAddr,
    block: Option<usize>,
    /// This connection's idle timeout, shortened by the load at accept.
    pub(super) idle_timeout: Duration,
    /// Key of this connection in the evictable table.
    id: u64,
    state: Arc<SlotState>,
}

impl ConnSlot {
    /// Resolves once a newcomer evicted this connection: the connection
    /// must close (its slot is already the newcomer's).
    pub(super) async fn evicted(&self) {
        self.state.evict.notified().await;
    }

    /// Records whether the connection may be evicted: true when it has no
    /// query in flight and holds part of a frame. A connection starts not evictable, so a newcomer whose query
    /// waits unread in its socket is not evicted before it is read. Call only
    /// on a change, since it takes the table's lock. Evictable again, it
    /// counts as the newest.
    pub(super) fn set_evictable(&self, evictable: bool) {
        let mut table = self.limits.evictable.lock();
        table.remove(self.id);
        if evictable && !self.state.handed_over.load(Ordering::Acquire) {
            table.insert(self.id, &self.state);
            drop(table);
            self.limits.freed.notify_waiters();
        }
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.limits.evictable.lock().remove(self.id);
        if !self.state.handed_over.load(Ordering::Acquire) {
            self.limits.open.fetch_sub(1, Ordering::AcqRel);
            self.limits.freed.notify_waiters();
        }
        if let Some(block) = self.block.and_then(|i| self.limits.blocks.get(i)) {
            block.open.fetch_sub(1, Ordering::AcqRel);
        }
        self.limits.release_client(self.client);
    }
}

/// The key one client's connections are counted under: the IPv4 address (an
/// IPv4-mapped IPv6 address counts as IPv4), or the IPv6 /64, since one IPv6
/// host commonly holds a whole /64 and could otherwise pick a fresh address
/// per connection.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Unbound's `setup_tcp_handler`: the idle timeout for a connection accepted
/// when `open` of `max` slots are in use (this one included).
pub(super) fn loaded_timeout(configured: Duration, open: usize, max: usize) -> Duration {
    let usage = open.saturating_mul(100) / max.max(1);
    let scaled = match usage {
        0..=50 => configured,
        51..=65 => configured / 100,
        66..=80 => configured / 500,
        _ => Duration::ZERO,
    };
    scaled.max(MIN_LOADED_TIMEOUT.min(configured))
}

impl ConnLimits {
    /// Limits from the front-end settings.
    pub(super) fn new(
        max: usize,
        per_client: usize,
        netblocks: &[(IpNet, u32)],
        idle_timeout: Duration,
    ) -> Self {
        let mut table = Acl::new();
        let mut blocks = Vec::with_capacity(netblocks.len());
        for (net, limit) in netblocks {
            table.insert(*net, blocks.len());
            blocks.push(Block {
                limit: usize::try_from(*limit).unwrap_or(usize::MAX),
                open: AtomicUsize::new(0),
            });
        }
        ConnLimits {
            open: AtomicUsize::new(0),
            parked: AtomicUsize::new(0),
            park_max: park_max(max),
            max,
            per_client: per_client.max(1),
            clients: Mutex::new(HashMap::new()),
            netblocks: table,
            blocks,
            idle_timeout,
            freed: Notify::new(),
            evictable: Mutex::new(Evictable::default()),
        }
    }

    /// The total limit.
    pub(super) fn max(&self) -> usize {
        self.max
    }

    /// Returns once fewer than the total limit are open or a connection is
    /// evictable. With every slot taken by connections that may not be
    /// evicted, the accept loops wait here, so new connections queue in the
    /// listen backlog until a slot frees (Unbound stops listening when its
    /// TCP handlers are all in use), rather than being closed at once.
    pub(super) async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.open.load(Ordering::Acquire) < self.max
                || !self.evictable.lock().by_age.is_empty()
            {
                return;
            }
            freed.await;
        }
    }

    /// Evicts the oldest evictable connection and hands its slot over to the
    /// caller; false if none is evictable.
    fn evict_oldest(&self) -> bool {
        let mut table = self.evictable.lock();
        let Some((_, (id, victim))) = table.by_age.pop_first() else {
            return false;
        };
        table.ticket.remove(&id);
        drop(table);
        victim.handed_over.store(true, Ordering::Release);
        victim.evict.notify_one();
        tracing::debug!(
            max = self.max,
            "connection limit reached; evicted the oldest idle connection"
        );
        true
    }

    /// Admits a connection from `peer`, or says which limit refuses it.
    pub(super) fn try_acquire(self: &Arc<Self>, peer: IpAddr) -> Result<ConnSlot, Refused> {
        let block = self.netblocks.lookup(peer);
        if let Some(b) = block.and_then(|i| self.blocks.get(i)) {
            if b.open.fetch_add(1, Ordering::AcqRel) >= b.limit {
                b.open.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::Netblock);
            }
        }
        let release_block = || {
            if let Some(b) = block.and_then(|i| self.blocks.get(i)) {
                b.open.fetch_sub(1, Ordering::AcqRel);
            }
        };
        let client = client_key(peer);
        {
            let mut clients = self.clients.lock();
            let held = clients.entry(client).or_insert(0);
            if *held >= self.per_client {
                drop(clients);
                release_block();
                // With every slot taken by connections that may not be
                // evicted, wait for room as any newcomer would: one of this
                // client's own connections may be the one to free.
                if self.open.load(Ordering::Acquire) >= self.max
                    && self.evictable.lock().by_age.is_empty()
                {
                    return Err(Refused::Total);
                }
                return Err(Refused::Client);
            }
            *held += 1;
        }
        let mut open = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        if open > self.max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            let refused = if !self.holds_less_than_another(client) {
                Some(Refused::Share)
            } else if !self.evict_oldest() {
                Some(Refused::Total)
            } else {
                None
            };
            if let Some(refused) = refused {
                self.release_client(client);
                release_block();
                return Err(refused);
            }
            // The evicted connection's slot is ours: the count stays.
            open = self.max;
        }
        let state = Arc::new(SlotState::default());
        let id = {
            let mut table = self.evictable.lock();
            let id = table.next_id;
            table.next_id += 1;
            id
        };
        Ok(ConnSlot {
            limits: self.clone(),
            client,
            block,
            idle_timeout: loaded_timeout(self.idle_timeout, open, self.max),
            id,
            state,
        })
    }

    /// Parks a connection refused because its address holds enough already
    /// ([`Refused::Client`], [`Refused::Share`]):
    /// it is held unread for [`PARK_TIME`], then closed. A loris's parked
    /// connection is not reopened meanwhile, so its reconnects cannot keep
    /// the listen backlog full in front of legitimate clients. None when
    /// half the process's file descriptors are parked: close it at once.
    pub(super) fn try_park(self: &Arc<Self>) -> Option<Parked> {
        if self.parked.fetch_add(1, Ordering::AcqRel) >= self.park_max {
            self.parked.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Parked {
            limits: self.clone(),
        })
    }

    /// Fair share at a full table: whether `client` (its newcomer already
    /// counted) held fewer connections than some other address does. Only
    /// such a newcomer may evict: addresses that hold as many as anyone are
    /// closed at once, so a loris spread over a few addresses cannot churn
    /// the table, and its reconnects cost one accept and one close each.
    fn holds_less_than_another(&self, client: IpAddr) -> bool {
        let clients = self.clients.lock();
        let mine = clients
            .get(&client)
            .map_or(0, |held| held.saturating_sub(1));
        clients
            .iter()
            .any(|(other, held)| *other != client && *held > mine)
    }

    fn release_client(&self, client: IpAddr) {
        let mut clients = self.clients.lock();
        if let Some(held) = clients.get_mut(&client) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                clients.remove(&client);
            }
        }
    }

    /// Clients with at least one connection open (the per-client table's size).
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.clients.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// util/netevent.c setup_tcp_handler: >50 % → /100, >65 % → /500, >80 % → 0,
    /// never under 200 ms.
    #[test]
    fn timeout_shrinks_with_load_as_unbound() {
        let t = Duration::from_secs(30);
        assert_eq!(loaded_timeout(t, 5, 10), t);
        assert_eq!(loaded_timeout(t, 6, 10), Duration::from_millis(300));
        assert_eq!(loaded_timeout(t, 7, 10), MIN_LOADED_TIMEOUT);
        assert_eq!(loaded_timeout(t, 9, 10), MIN_LOADED_TIMEOUT);
        assert_eq!(
            loaded_timeout(Duration::from_secs(120), 7, 10),
            Duration::from_millis(240)
        );
        // A configured value under the minimum stays as configured.
        assert_eq!(
            loaded_timeout(Duration::from_millis(50), 10, 10),
            Duration::from_millis(50)
        );
    }

    /// tcp-connection-limit: the count is per netblock, shared by its addresses;
    /// the longest prefix applies; a limit of 0 refuses the block.
    #[test]
    fn netblock_limit_is_shared_by_the_block() {
        let nets = [
            ("10.0.0.0/8".parse().unwrap(), 2),
            ("10.9.0.0/16".parse().unwrap(), 0),
        ];
        let limits = Arc::new(ConnLimits::new(100, 100, &nets, Duration::from_secs(1)));
        let a = limits.try_acquire(ip("10.0.0.1")).unwrap();
        let _b = limits.try_acquire(ip("10.0.0.2")).unwrap();
        assert_eq!(
            limits.try_acquire(ip("10.0.0.3")).unwrap_err(),
            Refused::Netblock
        );
        assert_eq!(
            limits.try_acquire(ip("10.9.0.1")).unwrap_err(),
            Refused::Netblock
        );
        assert!(limits.try_acquire(ip("192.0.2.1")).is_ok());
        drop(a);
        assert!(limits.try_acquire(ip("10.0.0.3")).is_ok());
    }

    /// One address (or IPv6 /64) cannot take more than its share; others still can,
    /// and the table forgets a client once its connections close.
    #[test]
    fn per_client_cap_leaves_room_for_others() {
        let limits = Arc::new(ConnLimits::new(4, 2, &[], Duration::from_secs(1)));
        let a1 = limits.try_acquire(ip("2001:db8::1")).unwrap();
        let a2 = limits.try_acquire(ip("2001:db8::2")).unwrap();
        assert_eq!(
            limits.try_acquire(ip("2001:db8::3")).unwrap_err(),
            Refused::Client
        );
        let b1 = limits.try_acquire(ip("192.0.2.1")).unwrap();
        let b2 = limits.try_acquire(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(
            limits.try_acquire(ip("198.51.100.1")).unwrap_err(),
            Refused::Total
        );
        assert_eq!(limits.clients(), 2);
        drop((a1, a2, b1, b2));
        assert_eq!(limits.clients(), 0);
        assert_eq!(limits.open.load(Ordering::Acquire), 0);
    }

    /// A refused connection gives back what it took from the other limits.
    #[test]
    fn refusal_releases_partial_claims() {
        let nets = [("192.0.2.0/24".parse().unwrap(), 10)];
        let limits = Arc::new(ConnLimits::new(10, 1, &nets, Duration::from_secs(1)));
        let _a = limits.try_acquire(ip("192.0.2.1")).unwrap();
        for _ in 0..5 {
            assert_eq!(
                limits.try_acquire(ip("192.0.2.1")).unwrap_err(),
                Refused::Client
            );
        }
        assert_eq!(limits.open.load(Ordering::Acquire), 1);
        assert_eq!(limits.blocks[0].open.load(Ordering::Acquire), 1);
    }

    /// With every slot taken, a newcomer takes the slot of the oldest
    /// evictable connection, which is told to close; connections that are
    /// not evictable keep theirs, and with none evictable the newcomer is refused.
    #[tokio::test]
    async fn newcomer_evicts_the_oldest_evictable() {
        let limits = Arc::new(ConnLimits::new(3, 3, &[], Duration::from_secs(30)));
        let busy = limits.try_acquire(ip("192.0.2.1")).unwrap();
        let older = limits.try_acquire(ip("192.0.2.2")).unwrap();
        older.set_evictable(true);
        let newer = limits.try_acquire(ip("192.0.2.3")).unwrap();
        newer.set_evictable(true);
        // Evictable again: it now counts as the newest.
        older.set_evictable(false);
        older.set_evictable(true);
        let first = limits.try_acquire(ip("198.51.100.1")).unwrap();
        tokio::time::timeout(Duration::from_secs(5), newer.evicted())
            .await
            .unwrap();
        assert_eq!(limits.open.load(Ordering::Acquire), 3);
        let second = limits.try_acquire(ip("198.51.100.2")).unwrap();
        older.evicted().await;
        assert_eq!(
            limits.try_acquire(ip("198.51.100.3")).unwrap_err(),
            Refused::Total
        );
        // The evicted connections' slots were handed over: closing frees none.
        drop((older, newer));
        assert_eq!(limits.open.load(Ordering::Acquire), 3);
        assert_eq!(limits.clients(), 3);
        drop((busy, first, second));
        assert_eq!(limits.open.load(Ordering::Acquire), 0);
        assert!(limits.evictable.lock().ticket.is_empty());
    }

    /// Fair share at a full table: addresses that hold as many as anyone are
    /// closed at once, evicting nobody; an address holding fewer evicts the
    /// oldest evictable connection.
    #[tokio::test]
    async fn only_an_address_under_its_share_may_evict() {
        let limits = Arc::new(ConnLimits::new(4, 4, &[], Duration::from_secs(30)));
        let mut held: Vec<ConnSlot> = ["192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.2"]
            .into_iter()
            .map(|peer| limits.try_acquire(ip(peer)).unwrap())
            .collect();
        for slot in &held {
            slot.set_evictable(true);
        }
        for peer in ["192.0.2.1", "192.0.2.2"] {
            assert_eq!(limits.try_acquire(ip(peer)).unwrap_err(), Refused::Share);
        }
        assert_eq!(limits.evictable.lock().by_age.len(), 4, "nobody evicted");
        let newcomer = limits.try_acquire(ip("198.51.100.1")).unwrap();
        let evicted = held.remove(0);
        tokio::time::timeout(Duration::from_secs(5), evicted.evicted())
            .await
            .unwrap();
        drop(evicted);
        // 192.0.2.1 now holds one, fewer than 192.0.2.2: it may evict again.
        let back = limits.try_acquire(ip("192.0.2.1")).unwrap();
        held[0].evicted().await;
        assert_eq!(limits.open.load(Ordering::Acquire), 4);
        drop((held, newcomer, back));
        assert_eq!(limits.open.load(Ordering::Acquire), 0);
        assert_eq!(limits.clients(), 0);
    }

    /// `room` returns while a connection is evictable, though every slot is taken.
    #[tokio::test]
    async fn room_while_a_connection_is_evictable() {
        let limits = Arc::new(ConnLimits::new(1, 1, &[], Duration::from_secs(30)));
        let held = limits.try_acquire(ip("192.0.2.1")).unwrap();
        held.set_evictable(true);
        tokio::time::timeout(Duration::from_secs(5), limits.room())
            .await
            .unwrap();
        held.set_evictable(false);
        let waiting = tokio::time::timeout(Duration::from_millis(50), limits.room()).await;
        assert!(waiting.is_err(), "no room with the only slot busy");
        let (freed, ()) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(5), limits.room()),
            async { held.set_evictable(true) }
        );
        freed.unwrap();
    }

    /// The load at accept sets the connection's timeout.
    #[test]
    fn slot_carries_the_loaded_timeout() {
        let limits = Arc::new(ConnLimits::new(4, 4, &[], Duration::from_secs(30)));
        let first = limits.try_acquire(ip("192.0.2.1")).unwrap();
        let second = limits.try_acquire(ip("192.0.2.1")).unwrap();
        let third = limits.try_acquire(ip("192.0.2.1")).unwrap();
        assert_eq!(first.idle_timeout, Duration::from_secs(30));
        assert_eq!(second.idle_timeout, Duration::from_secs(30));
        assert_eq!(third.idle_timeout, MIN_LOADED_TIMEOUT);
    }
}
