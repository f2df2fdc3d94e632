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
/// a random contender instead of the fastest, so RTTs stay current.
const EXPLORE_ONE_IN: u32 = 20;
/// Weight of one exchange in a server's loss estimate, a share of exchanges
/// that timed out: the plain mean over its first 16 exchanges, then weighted
/// towards the recent ones. One lost packet in a long run of replies moves it
/// to 1/16, so a fast server that drops one query is not traded for a slower
/// one, while two in a row, or one in two, are.
const LOSS_WEIGHT: f64 = 1.0 / 16.0;
/// A measured server expected to answer within this is close enough: untried
/// servers of the zone are then left to exploration rather than tried first.
/// A faster one would save at most this much a query, while a slower one
/// costs its patience (at least MIN_RTO) and a second query.
const CLOSE_ENOUGH: Duration = Duration::from_millis(20);
/// Hosts and lameness entries remembered by default (Unbound's
/// infra-cache-numhosts default).
pub const DEFAULT_NUMHOSTS: usize = 10_000;

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
    /// Share of recent exchanges that timed out (see [`LOSS_WEIGHT`]).
    loss: f64,
    /// Exchanges counted into `loss` (saturating).
    exchanges: u16,
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
            loss: 0.0,
            exchanges: 0,
            last_timeout: None,
            no_edns_until: None,
            updated: now,
        }
    }

    fn is_dead(&self) -> bool {
        self.timeouts >= DEAD_AFTER
    }

    /// Folds one exchange's outcome (1: timed out, 0: answered) into the
    /// loss share.
    fn fold_loss(&mut self, lost: f64) {
        self.exchanges = self.exchanges.saturating_add(1);
        let weight = (1.0 / f64::from(self.exchanges)).max(LOSS_WEIGHT);
        self.loss += weight * (lost - self.loss);
    }

    /// When a dead server may be probed again.
    fn probe_after(&self) -> Option<Instant> {
        let shift = u32::from(self.timeouts.saturating_sub(DEAD_AFTER)).min(16);
        let interval = PROBE_INTERVAL
            .saturating_mul(1 << shift)
            .min(MAX_PROBE_INTERVAL);
        self.last_timeout.map(|at| at + interval)
    }

    /// Expected cost of asking this server, in ms, lower is better: its
    /// smoothed RTT plus its loss share of its (backed-off) timeout, the wait
    /// a lost query costs; the timeout alone for a server that never answered;
    /// 0 for a server never asked (Knot Resolver's srtt 0).
    fn score_ms(&self) -> f64 {
        let rto_ms = self.rto.as_secs_f64() * 1000.0;
        if self.measured {
            self.srtt_ms + self.loss * rto_ms
        } else if self.timeouts > 0 {
            rto_ms
        } else {
            0.0
        }
    }
}

/// The infra cache's pick of a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The server to ask.
    pub server: SocketAddr,
    /// For a gamble (a dead server's probe, an exploration): how long to wait
    /// before also asking the fastest server (its timeout); the gamble's query
    /// stays open meanwhile. None: wait the server's own timeout.
    pub patience: Option<Duration>,
}

impl Choice {
    fn plain(server: SocketAddr) -> Self {
        Self {
            server,
            patience: None,
        }
    }
}

/// A server's expected cost, unknown servers 0 (see [`HostInfo::score_ms`]).
fn score(info: Option<HostInfo>) -> f64 {
    info.map_or(0.0, |h| h.score_ms())
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
    numhosts: usize,
    hosts: Cache<IpAddr, HostInfo>,
    lame: Cache<(IpAddr, Name, LameKind), Instant>,
    host_ttl: Duration,
    /// One selection in this many explores (0: never, for deterministic tests).
    explore_one_in: u32,
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
            numhosts: DEFAULT_NUMHOSTS,
            hosts: Cache::new(DEFAULT_NUMHOSTS),
            lame: Cache::new(DEFAULT_NUMHOSTS),
            host_ttl,
            explore_one_in: EXPLORE_ONE_IN,
            metrics: InfraMetrics::noop(),
        }
    }

    /// How long servers are remembered (`infra-host-ttl`).
    pub fn host_ttl(&self) -> Duration {
        self.host_ttl
    }

    /// An empty cache remembering at most `numhosts` servers (and as many
    /// lameness marks): Unbound's `infra-cache-numhosts`, so a flood that
    /// makes us meet many servers cannot grow it past the configured count.
    pub fn with_numhosts(mut self, numhosts: usize) -> Self {
        let numhosts = numhosts.max(1);
        self.numhosts = numhosts;
        self.hosts = Cache::new(numhosts);
        self.lame = Cache::new(numhosts);
        self
    }

    /// Servers remembered at most (`infra-cache-numhosts`).
    pub fn numhosts(&self) -> usize {
        self.numhosts
    }

    /// The same cache always picking the best server (tests that assert who
    /// was asked must not depend on the exploration draw).
    #[cfg(test)]
    pub(crate) fn without_exploration(mut self) -> Self {
        self.explore_one_in = 0;
        self
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
        self.smooth(addr, rtt, true, now);
    }

    /// A gamble (an untried or explored server) had not answered after
    /// `bound`, when the fastest server was asked too: its RTT is at least
    /// that. An untried server becomes measured at `bound`, so it is not
    /// gambled on again by every query (its late reply, if it comes while the
    /// query is still open, is a real sample); a dead one stays dead and a
    /// slower measured one keeps its figure.
    pub fn record_slower_than(&self, addr: IpAddr, bound: Duration, now: Instant) {
        let bound_ms = bound.as_secs_f64() * 1000.0;
        let known = self.info(addr, now);
        if known.is_some_and(|h| h.is_dead() || (h.measured && h.srtt_ms >= bound_ms)) {
            return;
        }
        self.smooth(addr, bound, false, now);
    }

    /// Folds one RTT sample into the server's smoothed RTT and variance
    /// (RFC 6298), resetting its timeouts; a reply (`replied`, not a
    /// censored sample) also counts against its loss share.
    fn smooth(&self, addr: IpAddr, rtt: Duration, replied: bool, now: Instant) {
        let sample = rtt.as_secs_f64() * 1000.0;
        let mut info = self.info(addr, now).unwrap_or(HostInfo::unknown(now));
        if replied {
            info.fold_loss(0.0);
        }
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
        info.fold_loss(1.0);
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
        // The common case asks nothing of the cache (and lowercases no name).
        if self.lame.is_empty() {
            return false;
        }
        self.lame
            .get(&(addr, zone.to_lowercase(), LameKind::of(qtype)))
            .is_some_and(|at| now.saturating_duration_since(at) < self.host_ttl)
    }

    /// The server [`Infra::choose`] picks (tests that only ask who).
    #[cfg(test)]
    pub fn select(
        &self,
        candidates: &[SocketAddr],
        zone: &Name,
        qtype: RecordType,
        now: Instant,
    ) -> Option<SocketAddr> {
        self.choose(candidates, zone, qtype, now).map(|c| c.server)
    }

    /// Picks the server to ask next among `candidates` (not yet failed in this
    /// resolution). Lame servers (for this zone and type) and dead ones are
    /// skipped while another exists; a dead one whose probe interval has
    /// passed is probed by this query (its probe slot taken, so one query
    /// probes it, not every one).
    ///
    /// Untried servers go first, at random among them (Knot Resolver's
    /// unknown-first: on a cold cache each server of a zone is measured
    /// early, so the fast one is found at once), unless a measured one is
    /// [`CLOSE_ENOUGH`] already. Then the lowest expected
    /// cost (RTT and loss), except one time in EXPLORE_ONE_IN, when a random
    /// contender is explored: a live server expected to answer within the
    /// best one's timeout. One measured slower than that is not explored (each
    /// try would end in asking the best one too, a second query) until its
    /// entry expires and it is untried again. A probe, an untried server or
    /// an exploration is a gamble on a server that may be slow or dead: while
    /// a measured server exists, its [`Choice::patience`] is the fastest
    /// measured server's timeout, after which that one is asked too, so
    /// finding out costs a client little.
    pub fn choose(
        &self,
        candidates: &[SocketAddr],
        zone: &Name,
        qtype: RecordType,
        now: Instant,
    ) -> Option<Choice> {
        let first = *candidates.first()?;
        let mut usable: Vec<(SocketAddr, Option<HostInfo>)> = Vec::with_capacity(candidates.len());
        // The best of the rest when nothing is usable: dead before lame.
        let mut fallback: Option<(SocketAddr, bool, f64)> = None;
        let mut probe: Option<SocketAddr> = None;
        for &addr in candidates {
            let info = self.info(addr.ip(), now);
            let dead = info.is_some_and(|h| h.is_dead());
            let probe_due = dead
                && info
                    .and_then(|h| h.probe_after())
                    .is_some_and(|at| now >= at);
            let lame = self.is_lame(addr.ip(), zone, qtype, now);
            if lame || (dead && !probe_due) {
                let score = score(info);
                let better = fallback.is_none_or(|(_, best_lame, best)| {
                    (lame, score).partial_cmp(&(best_lame, best)) == Some(std::cmp::Ordering::Less)
                });
                if better {
                    fallback = Some((addr, lame, score));
                }
                continue;
            }
            if probe_due && probe.is_none() {
                probe = Some(addr);
            } else if !probe_due {
                usable.push((addr, info));
            }
        }
        let measured = usable
            .iter()
            .filter(|(_, info)| info.is_some_and(|h| h.measured))
            .min_by(|a, b| score(a.1).total_cmp(&score(b.1)))
            .map(|(_, info)| (info.map_or(UNKNOWN_RTO, |h| h.rto), score(*info)));
        let gamble = |server: SocketAddr| Choice {
            server,
            patience: measured.map(|(rto, _)| rto),
        };
        if let Some(server) = probe {
            self.take_probe_slot(server.ip(), now);
            return Some(gamble(server));
        }
        if usable.is_empty() {
            return Some(Choice::plain(fallback.map_or(first, |(addr, _, _)| addr)));
        }
        let mut rng = rand::rng();
        let untried: Vec<SocketAddr> = usable
            .iter()
            .filter(|(_, info)| info.is_none_or(|h| !h.measured && h.timeouts == 0))
            .map(|(addr, _)| *addr)
            .collect();
        let close_enough =
            measured.is_some_and(|(_, best)| best < CLOSE_ENOUGH.as_secs_f64() * 1000.0);
        if !untried.is_empty() && !close_enough {
            let server = untried.get(rng.random_range(0..untried.len())).copied()?;
            return Some(gamble(server));
        }
        // Untried servers left to exploration (see CLOSE_ENOUGH) are no best.
        let (best, best_info) = usable
            .iter()
            .filter(|(addr, _)| !untried.contains(addr))
            .min_by(|a, b| score(a.1).total_cmp(&score(b.1)))
            .copied()?;
        if self.explore_one_in > 0 && rng.random_ratio(1, self.explore_one_in) {
            let best_rto_ms = best_info.map_or(UNKNOWN_RTO, |h| h.rto).as_secs_f64() * 1000.0;
            let contenders: Vec<SocketAddr> = usable
                .iter()
                .filter(|(addr, info)| *addr != best && score(*info) < best_rto_ms)
                .map(|(addr, _)| *addr)
                .collect();
            if let Some(&server) = contenders.get(rng.random_range(0..contenders.len().max(1))) {
                return Some(gamble(server));
            }
        }
        Some(Choice::plain(best))
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

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(900);

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn zone() -> Name {
        Name::from_ascii("example.com.").unwrap()
    }

    /// infra-cache-numhosts: meeting more servers than that evicts, the cache
    /// does not grow past it (quick_cache may keep a little under).
    #[test]
    fn numhosts_bounds_the_servers_remembered() {
        let infra = Infra::new(TTL).with_numhosts(100);
        let now = Instant::now();
        for i in 0..5_000u32 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            infra.record_rtt(IpAddr::V4(ip), Duration::from_millis(5), now);
        }
        assert!(infra.len() <= 100, "{}", infra.len());
        assert_eq!(infra.numhosts(), 100);
    }

    #[test]
    fn fastest_is_preferred_and_the_others_explored_now_and_then() {
        let infra = Infra::new(TTL);
        let now = Instant::now();
        let (fast, slow) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.record_rtt(fast.ip(), Duration::from_millis(5), now);
        infra.record_rtt(slow.ip(), Duration::from_millis(30), now);
        let picks: Vec<SocketAddr> = (0..2000)
            .filter_map(|_| infra.select(&[slow, fast], &zone(), RecordType::A, now))
            .collect();
        let slow_picks = picks.iter().filter(|a| **a == slow).count();
        assert_eq!(picks.len(), 2000);
        assert!(slow_picks > 0, "the slower server is never explored");
        assert!(
            slow_picks < 200,
            "{slow_picks} of 2000 picks went to the slower server"
        );
    }

    #[test]
    fn untried_servers_go_first_with_the_measured_ones_patience_then_the_fastest() {
        let infra = Infra::new(TTL);
        let now = Instant::now();
        let (known, unknown) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.record_rtt(known.ip(), CLOSE_ENOUGH + Duration::from_millis(10), now);
        let known_rto = infra.rto(known.ip(), now);
        assert_eq!(
            infra.choose(&[known, unknown], &zone(), RecordType::A, now),
            Some(Choice {
                server: unknown,
                patience: Some(known_rto),
            })
        );
        infra.record_rtt(unknown.ip(), CLOSE_ENOUGH * 3, now);
        let picks: Vec<Choice> = (0..2000)
            .filter_map(|_| infra.choose(&[unknown, known], &zone(), RecordType::A, now))
            .collect();
        let explored: Vec<&Choice> = picks.iter().filter(|c| c.server == unknown).collect();
        assert!(!explored.is_empty(), "the slower server is never explored");
        assert!(
            explored.len() < 200,
            "{} of 2000 picks explored",
            explored.len()
        );
        assert!(explored.iter().all(|c| c.patience == Some(known_rto)));
        assert!(picks
            .iter()
            .filter(|c| c.server == known)
            .all(|c| c.patience.is_none()));
    }

    #[test]
    fn untried_servers_are_only_explored_once_a_measured_one_is_close_enough() {
        let infra = Infra::new(TTL);
        let now = Instant::now();
        let (close, unknown) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.record_rtt(close.ip(), CLOSE_ENOUGH / 2, now);
        let picks: Vec<Choice> = (0..2000)
            .filter_map(|_| infra.choose(&[unknown, close], &zone(), RecordType::A, now))
            .collect();
        let explored: Vec<&Choice> = picks.iter().filter(|c| c.server == unknown).collect();
        assert!(!explored.is_empty(), "the untried server is never explored");
        assert!(
            explored.len() < 200,
            "{} of 2000 picks tried it",
            explored.len()
        );
        let close_rto = infra.rto(close.ip(), now);
        assert!(explored.iter().all(|c| c.patience == Some(close_rto)));
    }

    #[test]
    fn a_server_slower_than_the_best_ones_timeout_is_not_explored() {
        let infra = Infra::new(TTL);
        let now = Instant::now();
        let (fast, slow) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.record_rtt(fast.ip(), Duration::from_millis(5), now);
        infra.record_rtt(slow.ip(), Duration::from_millis(30), now);
        let fast_rto = infra.rto(fast.ip(), now);
        // Measured slower than the fast one's timeout: exploring it would
        // end in asking the fast one too, every time.
        infra.record_rtt(slow.ip(), fast_rto * 4, now);
        let explored = (0..2000)
            .filter(|_| infra.select(&[fast, slow], &zone(), RecordType::A, now) == Some(slow))
            .count();
        assert_eq!(explored, 0);
        // Once forgotten it is untried, and tried first again (unless the
        // fast one is close enough).
        let later = now + TTL;
        infra.record_rtt(fast.ip(), CLOSE_ENOUGH * 2, later);
        assert_eq!(
            infra.select(&[fast, slow], &zone(), RecordType::A, later),
            Some(slow)
        );
    }

    #[test]
    fn one_lost_query_keeps_the_fastest_server_first_and_two_in_a_row_do_not() {
        let infra = Infra::new(TTL).without_exploration();
        let now = Instant::now();
        let (fast, slower) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        for _ in 0..20 {
            infra.record_rtt(fast.ip(), Duration::from_millis(6), now);
            infra.record_rtt(slower.ip(), Duration::from_millis(17), now);
        }
        let pick = || infra.select(&[slower, fast], &zone(), RecordType::A, now);
        assert_eq!(pick(), Some(fast));
        infra.record_timeout(fast.ip(), now);
        assert_eq!(
            pick(),
            Some(fast),
            "one loss among replies is no reason to switch"
        );
        infra.record_rtt(fast.ip(), Duration::from_millis(6), now);
        infra.record_timeout(fast.ip(), now);
        infra.record_timeout(fast.ip(), now);
        assert_eq!(pick(), Some(slower), "two timeouts in a row are");
        infra.record_rtt(fast.ip(), Duration::from_millis(6), now);
        assert_eq!(pick(), Some(fast), "a reply brings it back");
    }

    #[test]
    fn a_gamble_cut_short_counts_as_at_least_that_slow_but_never_revives_the_dead() {
        let infra = Infra::new(TTL).without_exploration();
        let now = Instant::now();
        let (fast, gamble, dead) = (
            addr("127.0.0.1:53"),
            addr("127.0.0.2:53"),
            addr("127.0.0.3:53"),
        );
        infra.record_rtt(fast.ip(), Duration::from_millis(5), now);
        infra.record_slower_than(gamble.ip(), Duration::from_millis(50), now);
        assert_eq!(
            infra.choose(&[gamble, fast], &zone(), RecordType::A, now),
            Some(Choice::plain(fast)),
            "no longer untried, and slower than the fast one"
        );
        for _ in 0..DEAD_AFTER {
            infra.record_timeout(dead.ip(), now);
        }
        infra.record_slower_than(dead.ip(), Duration::from_millis(50), now);
        assert!(infra.is_dead(dead.ip(), now));
    }

    #[test]
    fn untried_servers_are_picked_at_random_while_none_is_measured() {
        let infra = Infra::new(TTL).without_exploration();
        let now = Instant::now();
        let servers = [
            addr("127.0.0.1:53"),
            addr("127.0.0.2:53"),
            addr("127.0.0.3:53"),
        ];
        let picks: Vec<Choice> = (0..300)
            .filter_map(|_| infra.choose(&servers, &zone(), RecordType::A, now))
            .collect();
        for server in servers {
            assert!(
                picks.iter().any(|c| c.server == server),
                "{server} never picked"
            );
        }
        assert!(picks.iter().all(|c| c.patience.is_none()));
    }

    #[test]
    fn a_dead_servers_probe_waits_only_as_long_as_the_live_servers_timeout() {
        let infra = Infra::new(TTL).without_exploration();
        let start = Instant::now();
        let (dead, live) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.record_rtt(live.ip(), Duration::from_millis(20), start);
        for _ in 0..DEAD_AFTER {
            infra.record_timeout(dead.ip(), start);
        }
        let later = start + PROBE_INTERVAL + Duration::from_millis(1);
        assert_eq!(
            infra.choose(&[dead, live], &zone(), RecordType::A, later),
            Some(Choice {
                server: dead,
                patience: Some(infra.rto(live.ip(), later)),
            })
        );
    }

    #[test]
    fn timeouts_back_off_exponentially_up_to_the_cap() {
        let infra = Infra::new(TTL);
        let now = Instant::now();
        let ip = addr("127.0.0.1:53").ip();
        assert_eq!(infra.rto(ip, now), UNKNOWN_RTO);
        infra.record_timeout(ip, now);
        assert_eq!(infra.rto(ip, now), UNKNOWN_RTO * 2);
        infra.record_timeout(ip, now);
        assert_eq!(infra.rto(ip, now), MAX_RTO);
        assert!(!infra.is_dead(ip, now));
        infra.record_timeout(ip, now);
        assert!(infra.is_dead(ip, now));
        // A dead server's probe waits no longer than a new server's query.
        assert_eq!(infra.rto(ip, now), UNKNOWN_RTO);
        infra.record_rtt(ip, Duration::from_millis(20), now);
        assert!(!infra.is_dead(ip, now));
        assert!(infra.rto(ip, now) < UNKNOWN_RTO);
    }

    #[test]
    fn dead_server_is_skipped_and_probed_once_per_interval() {
        let infra = Infra::new(TTL);
        let start = Instant::now();
        let (dead, live) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.record_rtt(live.ip(), Duration::from_millis(100), start);
        for _ in 0..DEAD_AFTER {
            infra.record_timeout(dead.ip(), start);
        }
        let pick = |now| infra.select(&[dead, live], &zone(), RecordType::A, now);
        let soon = start + PROBE_INTERVAL / 2;
        assert!((0..500).all(|_| pick(soon) == Some(live)));
        // Alone, a dead server is still asked.
        assert_eq!(
            infra.select(&[dead], &zone(), RecordType::A, soon),
            Some(dead)
        );
        let later = start + PROBE_INTERVAL + Duration::from_millis(1);
        assert_eq!(pick(later), Some(dead), "the probe is due");
        assert!(
            (0..500).all(|_| pick(later) == Some(live)),
            "one query probes, not every one"
        );
        // Another timeout doubles the interval.
        infra.record_timeout(dead.ip(), later);
        let after_one = later + PROBE_INTERVAL + Duration::from_millis(1);
        assert!((0..500).all(|_| pick(after_one) == Some(live)));
        assert_eq!(pick(later + PROBE_INTERVAL * 2), Some(dead));
    }

    #[test]
    fn edns_fallback_is_remembered_for_the_host_ttl() {
        let ttl = Duration::from_secs(60);
        let infra = Infra::new(ttl);
        let now = Instant::now();
        let ip = addr("127.0.0.1:53").ip();
        assert!(!infra.no_edns(ip, now));
        infra.record_no_edns(ip, now);
        assert!(infra.no_edns(ip, now + ttl / 2));
        assert!(!infra.no_edns(ip, now + ttl));
    }

    #[test]
    fn lameness_is_per_zone_and_a_apart_from_other_types() {
        let infra = Infra::new(TTL).without_exploration();
        let now = Instant::now();
        let (a, b) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.mark_lame(a.ip(), &zone(), RecordType::AAAA, now);
        assert!(infra.is_lame(a.ip(), &zone(), RecordType::AAAA, now));
        assert!(infra.is_lame(a.ip(), &zone(), RecordType::MX, now));
        assert!(!infra.is_lame(a.ip(), &zone(), RecordType::A, now));
        assert!(!infra.is_lame(a.ip(), &Name::root(), RecordType::AAAA, now));
        assert!(!infra.is_lame(a.ip(), &zone(), RecordType::AAAA, now + TTL));
        infra.record_rtt(a.ip(), Duration::from_millis(5), now);
        infra.record_rtt(b.ip(), Duration::from_millis(50), now);
        assert_eq!(infra.select(&[a, b], &zone(), RecordType::A, now), Some(a));
        for _ in 0..50 {
            assert_eq!(
                infra.select(&[a, b], &zone(), RecordType::AAAA, now),
                Some(b)
            );
        }
        assert_eq!(infra.select(&[a], &zone(), RecordType::AAAA, now), Some(a));
    }

    #[test]
    fn with_nothing_usable_a_dead_server_comes_before_a_lame_one() {
        let infra = Infra::new(TTL);
        let now = Instant::now();
        let (lame, dead) = (addr("127.0.0.1:53"), addr("127.0.0.2:53"));
        infra.record_rtt(lame.ip(), Duration::from_millis(1), now);
        infra.mark_lame(lame.ip(), &zone(), RecordType::A, now);
        for _ in 0..DEAD_AFTER {
            infra.record_timeout(dead.ip(), now);
        }
        assert_eq!(
            infra.select(&[lame, dead], &zone(), RecordType::A, now),
            Some(dead)
        );
    }

    #[test]
    fn everything_is_forgotten_after_the_host_ttl() {
        let ttl = Duration::from_secs(60);
        let infra = Infra::new(ttl);
        let now = Instant::now();
        let ip = addr("127.0.0.1:53").ip();
        for _ in 0..DEAD_AFTER {
            infra.record_timeout(ip, now);
        }
        assert!(infra.is_dead(ip, now + ttl / 2));
        assert!(!infra.is_dead(ip, now + ttl));
        assert_eq!(infra.rto(ip, now + ttl), UNKNOWN_RTO);
    }
}
