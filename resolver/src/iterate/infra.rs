//! Per-server infrastructure cache: smoothed RTT and variance, timeouts with
//! exponential backoff, dead servers probed only now and then, servers that
//! mishandle EDNS, and lameness per zone and query type, so iteration asks
//! the fastest working server first (Knot Resolver's selection, Unbound's
//! infra cache).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::{Name, RecordType};
use metrics::{Counter, Histogram};
use quick_cache::sync::Cache;
use rand::Rng;
use tokio::time::Instant;

/// Unbound's UNKNOWN_SERVER_NICENESS: the timeout for a server never measured.
pub const UNKNOWN_RTO: Duration = Duration::from_millis(376);
/// Unbound's RTT_MIN_TIMEOUT.
const MIN_RTO: Duration = Duration::from_millis(50);
/// Cap on one exchange's timeout: a resolution has about 5 s, and several
/// servers must fit in it even after backoff.
const MAX_RTO: Duration = Duration::from_millis(1500);
/// Consecutive timeouts after which a server counts as dead: skipped while
/// another candidate exists, probed only once per probe interval.
const DEAD_AFTER: u8 = 3;
/// The first probe interval of a dead server; it doubles with every further
/// timeout up to MAX_PROBE_INTERVAL.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// See PROBE_INTERVAL (Unbound keeps a server blocked for at most 120 s too).
const MAX_PROBE_INTERVAL: Duration = Duration::from_secs(120);
/// Exploration share (Knot Resolver's EPSILON_NOMIN / EPSILON_DENOM: 1 in 20):
/// a random usable server instead of the fastest, so RTTs stay current.
const EXPLORE_ONE_IN: u32 = 20;
/// Hosts and lameness entries remembered (Unbound's infra-cache-numhosts).
const CAPACITY: usize = 10_000;

/// What a server was found lame for: Unbound keeps lame_type_A apart from
/// lame_other, so a server that fails AAAA queries is still asked for A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LameKind {
    A,
    Other,
}

impl LameKind {
    fn of(qtype: RecordType) -> Self {
        if qtype == RecordType::A {
            Self::A
        } else {
            Self::Other
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct HostInfo {
    srtt_ms: f64,
    rttvar_ms: f64,
    rto: Duration,
    measured: bool,
    /// Consecutive timeouts (reset by any reply).
    timeouts: u8,
    /// When the last timeout happened; a dead server's probe interval counts from it.
    last_timeout: Option<Instant>,
    /// Until when queries go without OPT (FORMERR/NOTIMP to EDNS, infra-host-ttl).
    no_edns_until: Option<Instant>,
    updated: Instant,
}

impl HostInfo {
    fn unknown(now: Instant) -> Self {
        Self {
            srtt_ms: 0.0,
            rttvar_ms: 0.0,
            rto: UNKNOWN_RTO,
            measured: false,
            timeouts: 0,
            last_timeout: None,
            no_edns_until: None,
            updated: now,
        }
    }

    fn is_dead(&self) -> bool {
        self.timeouts >= DEAD_AFTER
    }

    /// When a dead server may be probed again.
    fn probe_after(&self) -> Option<Instant> {
        let shift = u32::from(self.timeouts.saturating_sub(DEAD_AFTER)).min(16);
        let interval = PROBE_INTERVAL
            .saturating_mul(1 << shift)
            .min(MAX_PROBE_INTERVAL);
        self.last_timeout.map(|at| at + interval)
    }

    /// Expected cost of asking this server, in ms, lower is better. Unknown
    /// servers score 0, as in Knot Resolver (srtt 0): each is tried once early,
    /// which is the exploration that finds the fast ones on a cold cache.
    fn score_ms(&self) -> f64 {
        if self.timeouts > 0 {
            self.rto.as_secs_f64() * 1000.0
        } else if self.measured {
            self.srtt_ms
        } else {
            0.0
        }
    }
}

/// The infra metric handles (Prometheus; no-ops in unit tests).
#[derive(Clone, Debug)]
pub struct InfraMetrics {
    /// unbound_upstream_timeouts_total: exchanges that timed out.
    pub timeouts: Counter,
    /// unbound_lame_servers_total: servers marked lame (for a zone and type).
    pub lame: Counter,
    /// unbound_upstream_rtt_seconds: measured round trips.
    pub rtt: Histogram,
}

impl InfraMetrics {
    /// Handles that record nothing (tests, tools).
    pub fn noop() -> Self {
        Self {
            timeouts: Counter::noop(),
            lame: Counter::noop(),
            rtt: Histogram::noop(),
        }
    }
}

/// The infra cache.
pub struct Infra {
    hosts: Cache<IpAddr, HostInfo>,
    lame: Cache<(IpAddr, Name, LameKind), Instant>,
    host_ttl: Duration,
    metrics: InfraMetrics,
}

impl std::fmt::Debug for Infra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Infra")
            .field("hosts", &self.hosts.len())
            .finish()
    }
}

impl Infra {
    /// An infra cache remembering servers for `host_ttl` (infra-host-ttl).
    pub fn new(host_ttl: Duration) -> Self {
        Self {
            hosts: Cache::new(CAPACITY),
            lame: Cache::new(CAPACITY),
            host_ttl,
            metrics: InfraMetrics::noop(),
        }
    }

    /// The same cache, counting into `metrics`.
    pub fn with_metrics(mut self, metrics: InfraMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    fn info(&self, addr: IpAddr, now: Instant) -> Option<HostInfo> {
        self.hosts
            .get(&addr)
            .filter(|h| now.saturating_duration_since(h.updated) < self.host_ttl)
    }

    /// The timeout to use for `addr` now. A dead server's probe gets the
    /// unknown-server timeout: one that came back answers within it, and a
    /// still dead one costs no more than a new server would.
    pub fn rto(&self, addr: IpAddr, now: Instant) -> Duration {
        self.info(addr, now).map_or(
            UNKNOWN_RTO,
            |h| {
                if h.is_dead() {
                    UNKNOWN_RTO
                } else {
                    h.rto
                }
            },
        )
    }

    /// Records a measured round trip (RFC 6298 smoothing); the server is alive.
    pub fn record_rtt(&self, addr: IpAddr, rtt: Duration, now: Instant) {
        self.metrics.rtt.record(rtt.as_secs_f64());
        let sample = rtt.as_secs_f64() * 1000.0;
        let mut info = self.info(addr, now).unwrap_or(HostInfo::unknown(now));
        if info.measured {
            info.rttvar_ms = 0.75 * info.rttvar_ms + 0.25 * (info.srtt_ms - sample).abs();
            info.srtt_ms = 0.875 * info.srtt_ms + 0.125 * sample;
        } else {
            info.srtt_ms = sample;
            info.rttvar_ms = sample / 2.0;
            info.measured = true;
        }
        info.timeouts = 0;
        info.last_timeout = None;
        info.updated = now;
        let rto_ms = info.srtt_ms + 4.0 * info.rttvar_ms;
        info.rto = Duration::from_secs_f64((rto_ms / 1000.0).max(0.0)).clamp(MIN_RTO, MAX_RTO);
        self.hosts.insert(addr, info);
    }

    /// Records a timeout: the RTO doubles (exponential backoff), and after
    /// DEAD_AFTER in a row the server is dead until a probe gets a reply.
    pub fn record_timeout(&self, addr: IpAddr, now: Instant) {
        self.metrics.timeouts.increment(1);
        let mut info = self.info(addr, now).unwrap_or(HostInfo::unknown(now));
        info.rto = (info.rto * 2).min(MAX_RTO);
        info.timeouts = info.timeouts.saturating_add(1);
        info.last_timeout = Some(now);
        info.updated = now;
        self.hosts.insert(addr, info);
    }

    /// True while `addr` keeps timing out (see [`DEAD_AFTER`]).
    pub fn is_dead(&self, addr: IpAddr, now: Instant) -> bool {
        self.info(addr, now).is_some_and(|h| h.is_dead())
    }

    /// Remembers that `addr` answers queries with OPT by FORMERR or NOTIMP
    /// (RFC 6891 §7), for infra-host-ttl.
    pub fn record_no_edns(&self, addr: IpAddr, now: Instant) {
        let mut info = self.info(addr, now).unwrap_or(HostInfo::unknown(now));
        info.no_edns_until = Some(now + self.host_ttl);
        self.hosts.insert(addr, info);
    }

    /// True when queries to `addr` should go without OPT.
    pub fn no_edns(&self, addr: IpAddr, now: Instant) -> bool {
        self.info(addr, now)
            .and_then(|h| h.no_edns_until)
            .is_some_and(|until| now < until)
    }

    /// Marks `addr` lame for `zone` and questions of `qtype` (REFUSED,
    /// SERVFAIL, not authoritative, a referral upwards).
    pub fn mark_lame(&self, addr: IpAddr, zone: &Name, qtype: RecordType, now: Instant) {
        self.metrics.lame.increment(1);
        self.lame
            .insert((addr, zone.to_lowercase(), LameKind::of(qtype)), now);
    }

    /// True when `addr` was found lame for `zone` and `qtype`'s kind (A or
    /// other) within infra-host-ttl.
    pub fn is_lame(&self, addr: IpAddr, zone: &Name, qtype: RecordType, now: Instant) -> bool {
        self.lame
            .get(&(addr, zone.to_lowercase(), LameKind::of(qtype)))
            .is_some_and(|at| now.saturating_duration_since(at) < self.host_ttl)
    }

    /// Picks the server to ask next among `candidates` (not yet failed in this
    /// resolution): usually the one with the lowest expected RTT (unknown ones
    /// first, see `score_ms`), one time in EXPLORE_ONE_IN a random usable one.
    /// Lame servers (for this zone and type) and dead ones are skipped while
    /// another exists; a dead one whose probe interval has passed is usable
    /// (and its probe slot taken, so one query probes it, not every query).
    pub fn select(
        &self,
        candidates: &[SocketAddr],
        zone: &Name,
        qtype: RecordType,
        now: Instant,
    ) -> Option<SocketAddr> {
        let first = *candidates.first()?;
        let mut usable: Vec<(SocketAddr, f64, bool)> = Vec::with_capacity(candidates.len());
        // The best of the rest when nothing is usable: dead before lame.
        let mut fallback: Option<(SocketAddr, bool, f64)> = None;
        for &addr in candidates {
            let info = self.info(addr.ip(), now);
            let score = info.map_or(0.0, |h| h.score_ms());
            let dead = info.is_some_and(|h| h.is_dead());
            let probe_due = dead
                && info
                    .and_then(|h| h.probe_after())
                    .is_some_and(|at| now >= at);
            let lame = self.is_lame(addr.ip(), zone, qtype, now);
            if lame || (dead && !probe_due) {
                let better = fallback.is_none_or(|(_, best_lame, best)| {
                    (lame, score).partial_cmp(&(best_lame, best)) == Some(std::cmp::Ordering::Less)
                });
                if better {
                    fallback = Some((addr, lame, score));
                }
                continue;
            }
            usable.push((addr, score, probe_due));
        }
        let Some(&(best, _, _)) = usable.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
            return Some(fallback.map_or(first, |(addr, _, _)| addr));
        };
        let mut rng = rand::rng();
        let due = usable.iter().find(|(_, _, due)| *due).map(|(a, _, _)| *a);
        let chosen = match due {
            // A dead server whose interval has passed gets this query as its probe.
            Some(probe) => probe,
            None if usable.len() > 1 && rng.random_ratio(1, EXPLORE_ONE_IN) => usable
                .get(rng.random_range(0..usable.len()))
                .map_or(best, |(addr, _, _)| *addr),
            None => best,
        };
        if due == Some(chosen) {
            self.take_probe_slot(chosen.ip(), now);
        }
        Some(chosen)
    }

    /// Moves a dead server's next probe one interval on (the probe is under way).
    fn take_probe_slot(&self, addr: IpAddr, now: Instant) {
        if let Some(mut info) = self.info(addr, now) {
            info.last_timeout = Some(now);
            self.hosts.insert(addr, info);
        }
    }

    /// Number of servers remembered.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when no server is remembered.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}
