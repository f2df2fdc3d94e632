//! Unbound's rate limits against random-subdomain (water-torture) floods:
//! `ratelimit` (queries sent to a zone's servers, per delegation point name)
//! and `ip-ratelimit` (queries accepted per client address). Both count the
//! demand per second over Unbound's 2-second rate window (`infra_rate_max`,
//! [`Window`]); the zone limit adds a hard cap on queries actually sent
//! ([`SendCap`]), stricter than Unbound (see [`ZoneLimitConfig::qps`]).
//!
//! The tables are bounded by `ratelimit-size` / `ip-ratelimit-size` bytes and
//! evict as a cache does (quick_cache's sharded S3-FIFO in place of Unbound's
//! LRU slab hash; `*-slabs` sets the shard count). HOT PATH: one shard read
//! lock, one `Arc` clone and one small per-entry mutex per check; nothing is
//! allocated once a key has its entry.
//!
//! Time goes in: every check takes `now`, so the logic is tested with an
//! injected clock.
//!
//! The lb's per-client limit (`lb/src/ratelimit.rs`) is dnsdist's
//! MaxQPSIPRule, a token bucket with a burst and a never-evicting table: a
//! different rule from Unbound's per-second demand window, so it is not
//! shared with this one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::Name;
use metrics::Counter;
use parking_lot::Mutex;
use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};
use tokio::time::Instant;

/// Seconds of demand kept per key (Unbound's RATE_WINDOW).
const RATE_WINDOW: u32 = 2;

/// Slots of the send cap's sliding window.
const SLOTS: usize = 11;

/// Length of one slot: the cap looks back over the current slot and the
/// SLOTS - 1 before it, a window of at least one second wherever a second
/// starts, so no span of one second sees more than the limit.
const SLOT: Duration = Duration::from_millis(100);

/// Unbound's defaults (config_file.c): `ratelimit-size` / `ip-ratelimit-size` 4m.
pub const DEFAULT_TABLE_SIZE: u64 = 4 * 1024 * 1024;

/// Unbound's `ratelimit-factor` / `ip-ratelimit-factor` default.
pub const DEFAULT_FACTOR: u32 = 10;

/// Bytes charged per table entry beyond its key (table slot, `Arc`, mutex,
/// counters): what `*-size` is divided by.
const ENTRY_OVERHEAD: u64 = 96;

/// Size and sharding of one rate table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableConfig {
    /// `ratelimit-size` / `ip-ratelimit-size`: bytes the table may hold.
    pub size: u64,
    /// `ratelimit-slabs` / `ip-ratelimit-slabs`: shards (a power of 2);
    /// None lets the table pick from the CPU count, as Unbound does.
    pub slabs: Option<usize>,
}

impl Default for TableConfig {
    fn default() -> Self {
        Self {
            size: DEFAULT_TABLE_SIZE,
            slabs: None,
        }
    }
}

/// Unbound's `ratelimit*` keys: the limit on queries sent to each zone's servers.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneLimitConfig {
    /// `ratelimit:` queries per second per zone (delegation point); 0 turns
    /// every zone limit off, overrides included (as Unbound).
    ///
    /// Deviation from Unbound, on purpose: Unbound compares the demand (queries
    /// it wanted to send this second) with the limit and lets 1 in
    /// `ratelimit-factor` of the excess through, so a flood gets about
    /// limit + excess / factor queries a second to the zone (2N and more). Ours
    /// also caps the queries actually sent, retries over EDNS and TCP included:
    /// no span of one second sees more than this many to the zone's servers.
    pub qps: u32,
    /// `ratelimit-for-domain:` the limit for exactly this zone (0: none).
    pub for_domain: Vec<(Name, u32)>,
    /// `ratelimit-below-domain:` the limit for zones under this name, the
    /// closest enclosing one winning (0: none).
    pub below_domain: Vec<(Name, u32)>,
    /// `ratelimit-factor:` over the limit, 1 in this many new queries may
    /// compete for the capacity left under the cap (0: none may). In Unbound
    /// they are sent whatever the cap; ours never exceed it.
    pub factor: u32,
    /// `ratelimit-backoff:` the zone stays limited while the demand of either
    /// second of the 2-second window is over the limit (else only the current
    /// second counts).
    pub backoff: bool,
    /// `ratelimit-size` / `ratelimit-slabs`.
    pub table: TableConfig,
}

impl Default for ZoneLimitConfig {
    fn default() -> Self {
        Self {
            qps: 0,
            for_domain: Vec::new(),
            below_domain: Vec::new(),
            factor: DEFAULT_FACTOR,
            backoff: false,
            table: TableConfig::default(),
        }
    }
}

/// Unbound's `ip-ratelimit*` keys: the limit on queries accepted per client address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpLimitConfig {
    /// `ip-ratelimit:` queries per second per client address, checked before
    /// the cache; the excess is dropped without a reply (0: off).
    pub qps: u32,
    /// `ip-ratelimit-cookie:` the limit instead for queries with a valid DNS
    /// cookie (`answer-cookie: yes`): an address that echoed our server cookie
    /// is no spoofed source, so it may ask more (0: not limited, as Unbound;
    /// they still count toward the address's rate).
    pub cookie_qps: u32,
    /// `ip-ratelimit-factor:` 1 in this many queries over the limit is served
    /// anyway, as Unbound (0: none; never for queries with a valid cookie).
    pub factor: u32,
    /// `ip-ratelimit-backoff:` as `ratelimit-backoff`, per address.
    pub backoff: bool,
    /// `ip-ratelimit-size` / `ip-ratelimit-slabs`.
    pub table: TableConfig,
}

impl Default for IpLimitConfig {
    fn default() -> Self {
        Self {
            qps: 0,
            cookie_qps: 0,
            factor: DEFAULT_FACTOR,
            backoff: false,
            table: TableConfig::default(),
        }
    }
}

/// Demand per second over the last two seconds (Unbound's `rate_data`).
#[derive(Clone, Copy, Debug, Default)]
struct Demand {
    /// Second numbers (1-based; 0 = slot unused).
    seconds: [u32; RATE_WINDOW as usize],
    counts: [u32; RATE_WINDOW as usize],
}

impl Demand {
    /// Unbound's `infra_rate_max`: this second's count, or with `backoff`
    /// the highest count of the seconds in the window.
    fn rate(&self, second: u32, backoff: bool) -> u32 {
        let mut max = 0;
        for (at, count) in self.seconds.iter().zip(self.counts) {
            if *at == 0 {
                continue;
            }
            if backoff {
                if second.saturating_sub(*at) <= RATE_WINDOW {
                    max = max.max(count);
                }
            } else if *at == second {
                return count;
            }
        }
        max
    }

    /// Counts one query at `second`; returns the rate before and after it
    /// (Unbound's `premax` and `max`).
    fn count(&mut self, second: u32, backoff: bool) -> (u32, u32) {
        let before = self.rate(second, backoff);
        let index = match self.seconds.iter().position(|at| *at == second) {
            Some(index) => index,
            None => {
                let oldest = if self.seconds[0] <= self.seconds[1] {
                    0
                } else {
                    1
                };
                self.seconds[oldest] = second;
                self.counts[oldest] = 0;
                oldest
            }
        };
        self.counts[index] = self.counts[index].saturating_add(1);
        (before, self.rate(second, backoff))
    }

    /// Takes back one query counted at `second` (Unbound's `infra_ratelimit_dec`).
    fn uncount(&mut self, second: u32) {
        if let Some(index) = self.seconds.iter().position(|at| *at == second) {
            self.counts[index] = self.counts[index].saturating_sub(1);
        }
    }
}

/// Unbound's verdict on one query against a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The demand is within the limit.
    Within,
    /// Over the limit, but this is the 1 in `factor` let through.
    Slipped,
    /// Over the limit.
    Limited,
}

/// One check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// The verdict.
    pub verdict: Verdict,
    /// This query took the demand over the limit (Unbound logs "ratelimit
    /// exceeded" then: once a second, or once an episode with backoff).
    pub first_over: bool,
}

/// The demand window of one key, with the count of queries over the limit
/// that picks which of them slip through.
#[derive(Clone, Copy, Debug, Default)]
pub struct Window {
    demand: Demand,
    excess: u32,
}

impl Window {
    /// Counts one query at `second` (1-based) against `limit`. Over it, every
    /// `factor`-th query of the episode slips through (Unbound draws 1 in
    /// `factor` at random; counting gives the same share, deterministically).
    pub fn check(&mut self, second: u32, limit: u32, factor: u32, backoff: bool) -> Check {
        let (before, after) = self.demand.count(second, backoff);
        if after <= limit {
            return Check {
                verdict: Verdict::Within,
                first_over: false,
            };
        }
        let first_over = before <= limit;
        self.excess = if first_over {
            1
        } else {
            self.excess.saturating_add(1)
        };
        let slipped = factor != 0 && self.excess % factor == 0;
        Check {
            verdict: if slipped {
                Verdict::Slipped
            } else {
                Verdict::Limited
            },
            first_over,
        }
    }

    /// Counts one query at `second` that no limit applies to (a valid cookie
    /// with `ip-ratelimit-cookie: 0`): it still adds to the demand.
    pub fn count(&mut self, second: u32, backoff: bool) -> Check {
        self.demand.count(second, backoff);
        Check {
            verdict: Verdict::Within,
            first_over: false,
        }
    }

    /// True while the demand of either second of the window is over `limit`:
    /// the key is under a flood (the sends to it are paced, see [`SendCap`]).
    pub fn is_pressed(&self, second: u32, limit: u32) -> bool {
        self.demand.rate(second, true) > limit
    }

    /// Takes back a query counted within the limit at `second` that was not
    /// sent after all, so it leaves room for the next one.
    pub fn refund(&mut self, second: u32) {
        self.demand.uncount(second);
    }
}

/// Queries sent over a sliding window of SLOTS slots of SLOT each: a hard
/// cap no one-second span can exceed, however the seconds are aligned.
///
/// While the zone's demand is over its limit (a flood), the sends are also
/// paced: at most `limit / (SLOTS - 1)` (rounded up) in one slot. Without
/// pacing the whole limit went out in one burst each time the window freed
/// (every 1.1 s), and the burst of resolutions and their replies delayed
/// everything else on the threads; tests/bench/attacks.sh showed it as the
/// legitimate clients' slowest answers, 110 queries apart at 100 q/s.
/// Within the limit a burst is left alone: a cold cache may send the whole
/// limit at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendCap {
    last_slot: u64,
    counts: [u32; SLOTS],
    total: u32,
}

impl SendCap {
    fn advance(&mut self, slot: u64) {
        if slot <= self.last_slot {
            return;
        }
        if slot - self.last_slot >= SLOTS as u64 {
            self.counts = [0; SLOTS];
            self.total = 0;
        } else {
            for passed in self.last_slot + 1..=slot {
                let index = (passed % SLOTS as u64) as usize;
                self.total -= self.counts[index];
                self.counts[index] = 0;
            }
        }
        self.last_slot = slot;
    }

    /// True when `limit` sends were made over the window ending at `slot`,
    /// or, with `paced`, when `slot` has had its share of them.
    pub fn is_spent(&mut self, slot: u64, limit: u32, paced: bool) -> bool {
        self.advance(slot);
        let in_slot = self.counts[(slot % SLOTS as u64) as usize];
        self.total >= limit || (paced && in_slot >= limit.div_ceil(SLOTS as u32 - 1))
    }

    /// Takes one send at `slot` unless the cap is spent (see
    /// [`SendCap::is_spent`]).
    pub fn try_take(&mut self, slot: u64, limit: u32, paced: bool) -> bool {
        if self.is_spent(slot, limit, paced) {
            return false;
        }
        self.counts[(slot % SLOTS as u64) as usize] += 1;
        self.total += 1;
        true
    }
}

/// The clock of a table: seconds (1-based, for [`Window`]) and slots (for
/// [`SendCap`]) since the table was made.
#[derive(Clone, Copy, Debug)]
struct Clock {
    epoch: Instant,
}

impl Clock {
    fn second(&self, now: Instant) -> u32 {
        let secs = now.saturating_duration_since(self.epoch).as_secs();
        u32::try_from(secs).unwrap_or(u32::MAX - 1) + 1
    }

    fn slot(&self, now: Instant) -> u64 {
        let millis = now.saturating_duration_since(self.epoch).as_millis();
        u64::try_from(millis / SLOT.as_millis()).unwrap_or(u64::MAX)
    }
}

/// A bounded, sharded table of per-key state.
struct Table<K, V> {
    entries: Cache<K, Arc<Mutex<V>>, KeyWeighter>,
}

/// Charges each entry its key's bytes plus ENTRY_OVERHEAD and the state.
#[derive(Clone)]
struct KeyWeighter;

/// Bytes a key takes.
trait KeyBytes {
    fn key_bytes(&self) -> u64;
}

impl KeyBytes for Name {
    fn key_bytes(&self) -> u64 {
        (std::mem::size_of::<Name>() + self.len()) as u64
    }
}

impl KeyBytes for IpAddr {
    fn key_bytes(&self) -> u64 {
        std::mem::size_of::<IpAddr>() as u64
    }
}

impl<K: KeyBytes, V> Weighter<K, Arc<Mutex<V>>> for KeyWeighter {
    fn weight(&self, key: &K, _: &Arc<Mutex<V>>) -> u64 {
        key.key_bytes() + ENTRY_OVERHEAD + std::mem::size_of::<V>() as u64
    }
}

impl<K, V> Table<K, V>
where
    K: KeyBytes + Eq + std::hash::Hash + Clone,
{
    fn new(config: TableConfig, typical_key: u64) -> Self {
        let per_entry = typical_key + ENTRY_OVERHEAD + std::mem::size_of::<V>() as u64;
        let size = config.size.max(per_entry * 64);
        let mut options = OptionsBuilder::new();
        options
            .estimated_items_capacity(usize::try_from(size / per_entry).unwrap_or(usize::MAX))
            .weight_capacity(size);
        if let Some(slabs) = config.slabs {
            options.shards(slabs);
        }
        let entries = match options.build() {
            Ok(options) => {
                Cache::with_options(options, KeyWeighter, Default::default(), Default::default())
            }
            Err(_) => Cache::with_weighter(64, size, KeyWeighter),
        };
        Self { entries }
    }

    /// The state of `key`, made with `fresh` when it has none (or was evicted).
    fn entry(&self, key: &K, fresh: impl FnOnce() -> V) -> Arc<Mutex<V>> {
        if let Some(entry) = self.entries.get(key) {
            return entry;
        }
        let entry = Arc::new(Mutex::new(fresh()));
        self.entries.insert(key.clone(), entry.clone());
        entry
    }

    /// The state of `key`, if it has one.
    fn get(&self, key: &K) -> Option<Arc<Mutex<V>>> {
        self.entries.get(key)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Why a query is about to be sent to a zone's servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A new query for a resolution: demand, limited as Unbound limits it.
    Query,
    /// A prefetch (Unbound exempts them, to keep valid data cached) or a
    /// retry of the same question (without EDNS, over TCP): not demand, but
    /// sent, so within the cap.
    Exempt,
}

/// The outcome of [`ZoneLimiter::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The query may be sent.
    pub send: bool,
    /// The zone's limit, when this query took its demand over it (log it).
    pub first_over: Option<u32>,
}

/// One zone's state: its limit (found once, when the entry is made), its
/// demand and what was sent.
#[derive(Debug)]
struct ZoneRate {
    limit: u32,
    window: Window,
    cap: SendCap,
}

/// `ratelimit`: the per-zone limit on queries sent upstream.
pub struct ZoneLimiter {
    table: Table<Name, ZoneRate>,
    clock: Clock,
    default_qps: u32,
    for_domain: HashMap<Name, u32>,
    below_domain: HashMap<Name, u32>,
    factor: u32,
    backoff: bool,
    /// unbound_query_ratelimited_total.
    limited: Counter,
}

impl std::fmt::Debug for ZoneLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneLimiter")
            .field("qps", &self.default_qps)
            .field("zones", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl ZoneLimiter {
    /// The limiter `config` asks for (None with `ratelimit: 0`), counting
    /// queries turned away in `limited`, its clock starting at `now`.
    pub fn new(config: &ZoneLimitConfig, limited: Counter, now: Instant) -> Option<Self> {
        if config.qps == 0 {
            return None;
        }
        Some(Self {
            table: Table::new(config.table, 24),
            clock: Clock { epoch: now },
            default_qps: config.qps,
            for_domain: config.for_domain.iter().cloned().collect(),
            below_domain: config.below_domain.iter().cloned().collect(),
            factor: config.factor,
            backoff: config.backoff,
            limited,
        })
    }

    /// The limit for `zone` (Unbound's `infra_find_ratelimit`): its own
    /// `ratelimit-for-domain`, else the closest `ratelimit-below-domain`
    /// strictly above it, else `ratelimit`.
    pub fn limit_for(&self, zone: &Name) -> u32 {
        if let Some(limit) = self.for_domain.get(zone) {
            return *limit;
        }
        let mut name = zone.clone();
        while !name.is_root() {
            name = name.base_name();
            if let Some(limit) = self.below_domain.get(&name) {
                return *limit;
            }
        }
        self.default_qps
    }

    /// Decides whether one query may be sent to `zone`'s servers at `now`,
    /// and takes it from the zone's capacity if so.
    pub fn admit(&self, zone: &Name, attempt: Attempt, now: Instant) -> Admission {
        let entry = self.table.entry(zone, || ZoneRate {
            limit: self.limit_for(zone),
            window: Window::default(),
            cap: SendCap::default(),
        });
        let mut rate = entry.lock();
        let limit = rate.limit;
        if limit == 0 {
            return Admission {
                send: true,
                first_over: None,
            };
        }
        let second = self.clock.second(now);
        let verdict = match attempt {
            Attempt::Exempt => None,
            Attempt::Query => Some(rate.window.check(second, limit, self.factor, self.backoff)),
        };
        let first_over = verdict.filter(|c| c.first_over).map(|_| limit);
        let competes = verdict.is_none_or(|c| c.verdict != Verdict::Limited);
        let paced = rate.window.is_pressed(second, limit);
        let send = competes && rate.cap.try_take(self.clock.slot(now), limit, paced);
        if !send && verdict.is_some_and(|c| c.verdict == Verdict::Within) {
            // Within the demand limit but the cap is spent (the window of
            // sends reaches back into the previous second): the query is
            // not counted as demand, so the next ones get its place once the
            // cap frees, instead of the second being lost to the flood.
            rate.window.refund(second);
        }
        drop(rate);
        if !send {
            self.limited.increment(1);
        }
        Admission { send, first_over }
    }

    /// Turns away a new query for `zone` at `now` when the zone's send cap
    /// is spent, before any resolution work is done for it: the verdict
    /// [`ZoneLimiter::admit`] would give at the send point (demand counted
    /// the same way), learned without a resolution task. None while the cap
    /// has room or the zone is untracked: the query goes on to the iterator,
    /// whose send decides.
    pub fn refuse_while_spent(&self, zone: &Name, now: Instant) -> Option<Admission> {
        let entry = self.table.get(zone)?;
        let mut rate = entry.lock();
        let limit = rate.limit;
        let second = self.clock.second(now);
        let paced = rate.window.is_pressed(second, limit);
        if limit == 0 || !rate.cap.is_spent(self.clock.slot(now), limit, paced) {
            return None;
        }
        let check = rate.window.check(second, limit, self.factor, self.backoff);
        if check.verdict == Verdict::Within {
            rate.window.refund(second);
        }
        drop(rate);
        self.limited.increment(1);
        Some(Admission {
            send: false,
            first_over: check.first_over.then_some(limit),
        })
    }

    /// Zones tracked.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no zone is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `ip-ratelimit`: the per-client-address limit on queries accepted.
pub struct IpLimiter {
    table: Table<IpAddr, Window>,
    clock: Clock,
    qps: u32,
    cookie_qps: u32,
    factor: u32,
    backoff: bool,
}

impl std::fmt::Debug for IpLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpLimiter")
            .field("qps", &self.qps)
            .field("addresses", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl IpLimiter {
    /// The limiter `config` asks for (None with `ip-ratelimit: 0`), its clock
    /// starting at `now`.
    pub fn new(config: &IpLimitConfig, now: Instant) -> Option<Self> {
        if config.qps == 0 {
            return None;
        }
        Some(Self {
            table: Table::new(config.table, std::mem::size_of::<IpAddr>() as u64),
            clock: Clock { epoch: now },
            qps: config.qps,
            cookie_qps: config.cookie_qps,
            factor: config.factor,
            backoff: config.backoff,
        })
    }

    /// The limit a query is held to: `ip-ratelimit-cookie` with a valid
    /// cookie (0: none), else `ip-ratelimit`.
    pub fn limit(&self, valid_cookie: bool) -> u32 {
        if valid_cookie {
            self.cookie_qps
        } else {
            self.qps
        }
    }

    /// Counts one query from `ip` at `now` (Unbound's `infra_ip_ratelimit_inc`
    /// and the factor's slip in `check_ip_ratelimit`). Queries with a valid
    /// cookie count toward the same rate but are held to the cookie limit, and
    /// none of them slips through by the factor, as in Unbound.
    pub fn check(&self, ip: IpAddr, valid_cookie: bool, now: Instant) -> Check {
        let entry = self.table.entry(&ip, Window::default);
        let mut window = entry.lock();
        let second = self.clock.second(now);
        match (valid_cookie, self.limit(valid_cookie)) {
            (true, 0) => window.count(second, self.backoff),
            (true, limit) => window.check(second, limit, 0, self.backoff),
            (false, limit) => window.check(second, limit, self.factor, self.backoff),
        }
    }

    /// Addresses tracked.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
