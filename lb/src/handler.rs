//! The query path: ACL, a header-and-question peek (no full parse), a backend
//! by policy, forwarding with one retry on another backend after a timeout,
//! and SERVFAIL at once when no backend is up. The way back (a backend's
//! response, timeout or removal reaching the UDP client) is the child module
//! [`response`]; a retry's backend is [`Inner::next_backend`] and our own
//! SERVFAIL [`Inner::write_servfail`], for both directions.

mod response;

pub use response::{serve_backend, TIMEOUT_TICK};

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use common::acl::Acl;
use common::dns::wire::{write_error_reply, QueryView};
use common::frontend::{DnsHandler, Query, Reply, Transport};
use ipnet::IpNet;
use tokio::time::Instant;

use crate::backend::{Backend, Passive};
use crate::cache::{self, CacheConfig, Hit, PacketCache};
use crate::config::Config;
use crate::config::Policy;
use crate::forward::{ClientQuery, SendError};
use crate::metrics::LbMetrics;
use crate::nodelocal::metrics::{rcode_of, Asked, CorednsMetrics, Plugin};
use crate::policy::Selector;
use crate::ratelimit::{Excess, RateLimiter};
use crate::wire::closest_zone;

/// RCODE SERVFAIL.
pub(crate) const SERVFAIL: u8 = 2;
/// RCODE REFUSED.
const REFUSED: u8 = 5;

/// What can change on SIGHUP: backends and policy, and the ACL.
pub struct Routing {
    /// Backends and policy (in node-local mode, for names outside the
    /// cluster zones).
    pub selector: Selector,
    /// Node-local mode: the cluster zones and the cluster DNS that serves them.
    pub cluster: Option<ClusterRoute>,
    /// Allowed client networks.
    pub acl: Acl<()>,
    /// One attempt's time limit.
    pub timeout: Duration,
    /// Consecutive failures that take a backend down.
    pub fall: u32,
    /// Whether active checks run (and so may bring a backend back).
    pub checks_enabled: bool,
    /// Passive health settings.
    pub passive: Passive,
    /// Per-client rate limiting.
    pub rate_limit: Option<RateLimiter>,
}

/// Node-local mode's cluster zones (the cluster domain and the reverse
/// zones): names under them go to the cluster DNS, over TCP, as
/// node-local-dns forwards them (no UDP loss on the way to kube-dns).
pub struct ClusterRoute {
    /// The zones, lower-case wire names.
    zones: Vec<Vec<u8>>,
    /// The cluster DNS.
    selector: Selector,
}

impl ClusterRoute {
    /// True when `qname_wire` is one of the zones or under one.
    fn covers(&self, qname_wire: &[u8]) -> bool {
        closest_zone(self.zones.iter().map(Vec::as_slice), qname_wire).is_some()
    }
}

/// Where one query goes.
pub struct Route<'a> {
    /// The backends to choose from.
    pub selector: &'a Selector,
    /// Over TCP whatever the client used (the cluster zones).
    pub tcp: bool,
}

impl Routing {
    /// Routing for `config` over already connected `backends`.
    pub fn new(config: &Config, backends: Vec<Arc<Backend>>) -> Routing {
        let mut acl = Acl::new();
        for net in &config.acl {
            acl.insert(*net, ());
        }
        let (cluster, ordinary): (Vec<_>, Vec<_>) =
            backends.into_iter().partition(|b| b.config.cluster);
        let cluster = config.node_local.as_ref().map(|n| ClusterRoute {
            zones: n
                .cluster_zones
                .iter()
                .filter_map(|z| crate::wire::encode_name(z))
                .map(|z| z.to_ascii_lowercase())
                .collect(),
            selector: Selector::new(Policy::LeastOutstanding, cluster),
        });
        Routing {
            selector: Selector::new(config.policy, ordinary),
            cluster,
            acl,
            timeout: config.timeout,
            fall: config.health.fall,
            checks_enabled: config.health.enabled,
            passive: Passive {
                threshold: config.health.passive_threshold,
                window: config.health.passive_window,
                min_samples: config.health.passive_min_samples,
                checks_enabled: config.health.enabled,
            },
            rate_limit: config.rate_limit.clone().map(RateLimiter::new),
        }
    }

    /// Where a query for `qname_wire` goes.
    pub fn route(&self, qname_wire: &[u8]) -> Route<'_> {
        match &self.cluster {
            Some(cluster) if cluster.covers(qname_wire) => Route {
                selector: &cluster.selector,
                tcp: true,
            },
            _ => Route {
                selector: &self.selector,
                tcp: false,
            },
        }
    }

    /// Every backend, the cluster DNS included.
    pub fn backends(&self) -> Vec<Arc<Backend>> {
        let mut all = self.selector.backends().to_vec();
        if let Some(cluster) = &self.cluster {
            all.extend(cluster.selector.backends().iter().cloned());
        }
        all
    }

    /// Whether `net` is allowed (for tests and the summary).
    pub fn allows(&self, net: &IpNet) -> bool {
        self.acl.lookup(net.addr()).is_some()
    }
}

/// The lb's [`DnsHandler`].
pub struct Lb {
    inner: Arc<Inner>,
}

struct Inner {
    routing: ArcSwap<Routing>,
    metrics: LbMetrics,
    /// Node-local mode: the CoreDNS-named series.
    coredns: Option<CorednsMetrics>,
    /// Lives as long as the process: reloads and backend changes keep it.
    cache: Option<PacketCache>,
}

impl Lb {
    /// A handler routing by `routing`, with the packet cache `cache` (if
    /// any), counting in `metrics` and, in node-local mode, in `coredns`.
    pub fn new(
        routing: Routing,
        metrics: LbMetrics,
        coredns: Option<CorednsMetrics>,
        cache: Option<&CacheConfig>,
    ) -> Lb {
        let zones = coredns.as_ref().map_or(1, CorednsMetrics::zone_count);
        Lb {
            inner: Arc::new(Inner {
                routing: ArcSwap::from_pointee(routing),
                metrics,
                coredns,
                cache: cache.map(|config| PacketCache::new(config, zones)),
            }),
        }
    }

    /// The routing in force.
    pub fn routing(&self) -> Arc<Routing> {
        self.inner.routing.load_full()
    }

    /// Swaps in new routing; queries in flight finish on the old one.
    pub fn replace_routing(&self, routing: Routing) {
        self.inner.routing.store(Arc::new(routing));
    }
}

impl DnsHandler for Lb {
    /// The query path, one named step each: admit (ACL, a query, the
    /// client's rate), the packet cache, a backend by policy, then forward
    /// (UDP: detached to the backend's receive loop; TCP and DoT: a task).
    fn handle(&self, query: &Query<'_>, out: &mut Vec<u8>) -> Reply {
        let inner = &self.inner;
        let routing = inner.routing.load_full();
        let (view, tally) = match inner.admit(&routing, query, out) {
            Ok(admitted) => admitted,
            Err(reply) => return reply,
        };
        let cache_key = match inner.cached(&routing, query, &view, tally, out) {
            Ok(key) => key,
            Err(reply) => return reply,
        };
        let route = routing.route(view.qname_wire());
        let Some(first) = route.selector.choose(view.qname_wire(), None).cloned() else {
            inner.metrics.no_policy.increment(1);
            let udp = query.transport == Transport::Udp;
            if inner.stale(query.wire, cache_key.as_deref(), udp, tally.asked, out) {
                inner.count_response(tally, out, Plugin::Cache);
                return Reply::Ready;
            }
            inner.write_servfail(&view, out);
            inner.count_response(tally, out, Plugin::None);
            return Reply::Ready;
        };
        let tcp = route.tcp;
        if let Some(responder) = query.responder.filter(|_| !tcp) {
            // UDP: the response goes straight back from the backend's receive loop.
            let client = ClientQuery {
                responder: responder.clone(),
                peer: query.peer,
                received_at: query.received_at,
                wire: query.wire.to_vec(),
                attempt: 0,
                held: responder.hold(),
                cache_key,
                asked: tally.asked,
            };
            inner.dispatch(first, client);
            return Reply::Detached;
        }
        // A UDP client's answer fetched over TCP may not fit its UDP limit.
        let udp_limit = (tcp && query.transport == Transport::Udp).then(|| {
            let edns = common::dns::edns::find_opt(query.wire, &view)
                .ok()
                .flatten();
            common::dns::edns::udp_reply_limit(edns.as_ref(), u16::MAX)
        });
        let inner = self.inner.clone();
        let wire = query.wire.to_vec();
        let transport = if tcp { Transport::Tcp } else { query.transport };
        let udp = query.transport == Transport::Udp;
        Reply::Pending(Box::pin(async move {
            let mut reply = inner.forward(&routing, first, &wire, transport).await;
            let mut stale = Vec::new();
            if rcode_of(&reply) == SERVFAIL
                && inner.stale(&wire, cache_key.as_deref(), udp, tally.asked, &mut stale)
            {
                inner.count_response(tally, &stale, Plugin::Cache);
                return Some(stale);
            }
            if let Some(key) = cache_key {
                inner.store(key, &reply, tally.asked);
            }
            if let Some(limit) = udp_limit {
                // A UDP client's answer that came over TCP: TC when it does not fit.
                common::dns::truncate::truncate_to(&mut reply, limit);
            }
            inner.count_response(tally, &reply, Plugin::Forward);
            Some(reply)
        }))
    }
}

/// What a reply's counters need of its query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tally {
    /// When the query arrived.
    pub(crate) received_at: Instant,
    /// Node-local mode: its zone and type for the CoreDNS-named series.
    pub(crate) asked: Option<Asked>,
}

/// Why one attempt at a backend gave no answer.
enum Failure {
    Timeout,
    Full,
    Send,
}

impl Inner {
    /// admit: a client the ACL allows, sending a query (not a response, a
    /// question we can read), within its rate; else the reply it gets
    /// (nothing, or REFUSED over the rate with `action = "refuse"`).
    fn admit<'w>(
        &self,
        routing: &Routing,
        query: &Query<'w>,
        out: &mut Vec<u8>,
    ) -> Result<(QueryView<'w>, Tally), Reply> {
        let metrics = &self.metrics;
        if routing.acl.lookup(query.peer.ip()).is_none() {
            metrics.acl_drops.increment(1);
            return Err(Reply::Drop);
        }
        let view = match QueryView::parse(query.wire) {
            Ok(view) if !view.is_response() => view,
            _ => {
                metrics.noncompliant_queries.increment(1);
                return Err(Reply::Drop);
            }
        };
        metrics.queries.increment(1);
        let tally = Tally {
            received_at: query.received_at,
            asked: self.coredns.as_ref().map(|c| {
                let tcp = query.transport != Transport::Udp;
                c.request(view.qname_wire(), view.qtype(), tcp, query.peer.is_ipv6())
            }),
        };
        let Some(limiter) = &routing.rate_limit else {
            return Ok((view, tally));
        };
        if limiter.allow(query.peer.ip(), query.received_at) {
            return Ok((view, tally));
        }
        match limiter.config().excess {
            Excess::Drop => {
                metrics.rule_drop.increment(1);
                Err(Reply::Drop)
            }
            Excess::Refuse => {
                metrics.rule_refused.increment(1);
                write_error_reply(&view, REFUSED, true, out);
                self.count_response(tally, out, Plugin::None);
                Err(Reply::Ready)
            }
        }
    }

    /// cache: the packet cache's answer written into `out` (`Err(Ready)`),
    /// or the key the response will be stored under (None: no cache). A hit
    /// on a popular entry about to expire also fetches it again.
    fn cached(
        self: &Arc<Self>,
        routing: &Arc<Routing>,
        query: &Query<'_>,
        view: &QueryView<'_>,
        tally: Tally,
        out: &mut Vec<u8>,
    ) -> Result<Option<Vec<u8>>, Reply> {
        let Some(packets) = &self.cache else {
            return Ok(None);
        };
        let edns = common::dns::edns::find_opt(query.wire, view).ok().flatten();
        let limit = match query.transport {
            Transport::Udp => common::dns::edns::udp_reply_limit(edns.as_ref(), u16::MAX),
            _ => usize::from(u16::MAX),
        };
        let key = cache::key(view, edns.as_ref());
        let hit = packets.get(&key, view, limit, out);
        if let (Some(coredns), Some(asked)) = (&self.coredns, tally.asked) {
            coredns.cache(asked, hit.is_some().then_some(out.as_slice()));
        }
        let Some(hit) = hit else {
            self.metrics.cache_misses.increment(1);
            return Ok(Some(key));
        };
        self.metrics.cache_hits.increment(1);
        self.count_response(tally, out, Plugin::Cache);
        if hit == Hit::Refresh {
            self.prefetch(routing, query.wire, key, tally.asked);
        }
        Err(Reply::Ready)
    }

    /// prefetch: fetches a popular entry again in the background (the
    /// client has its answer from the cache), so it never expires while
    /// in demand.
    fn prefetch(
        self: &Arc<Self>,
        routing: &Arc<Routing>,
        wire: &[u8],
        key: Vec<u8>,
        asked: Option<Asked>,
    ) {
        let Ok(view) = QueryView::parse(wire) else {
            return;
        };
        let route = routing.route(view.qname_wire());
        let Some(first) = route.selector.choose(view.qname_wire(), None).cloned() else {
            return;
        };
        let transport = if route.tcp {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        self.metrics.prefetches.increment(1);
        if let (Some(coredns), Some(asked)) = (&self.coredns, asked) {
            coredns.prefetched(asked);
        }
        let (inner, routing, wire) = (self.clone(), routing.clone(), wire.to_vec());
        tokio::spawn(async move {
            let reply = inner.forward(&routing, first, &wire, transport).await;
            inner.store(key, &reply, asked);
        });
    }

    /// Keeps a backend's `response` in the packet cache under `key`, and
    /// the cache's gauges in step.
    pub(crate) fn store(&self, key: Vec<u8>, response: &[u8], asked: Option<Asked>) {
        let Some(packets) = &self.cache else {
            return;
        };
        packets.put(key, response, asked.map_or(0, |a| a.tag()));
        let (answers, denials) = packets.counts();
        self.metrics.cache_answers.set(answers as f64);
        self.metrics.cache_denials.set(denials as f64);
        self.metrics.cache_memory.set(packets.memory() as f64);
        if let Some(coredns) = &self.coredns {
            coredns.cache_held(|tag| packets.tag_stats(tag));
        }
    }

    /// Sends a UDP client's query to `first`, or when that fails at once, to
    /// one other backend that is up; SERVFAIL when none takes it.
    fn dispatch(&self, first: Arc<Backend>, mut client: ClientQuery) {
        let mut backend = first;
        let timeout = self.routing.load().timeout;
        loop {
            backend.sent();
            let error = match backend.forwarder.send_client(client, timeout) {
                Ok(()) => return,
                Err((error, returned)) => {
                    client = returned;
                    error
                }
            };
            match error {
                SendError::Full => self.metrics.outstanding_overflows.increment(1),
                SendError::Closed => {}
                SendError::Malformed => {
                    self.metrics.noncompliant_queries.increment(1);
                    return;
                }
                SendError::Io(error) => {
                    tracing::debug!(backend = %backend.config.name, %error, "send to backend failed");
                    backend.metrics.send_errors.increment(1);
                    self.metrics.downstream_send_errors.increment(1);
                }
            }
            match self.next_backend(&client.wire, &mut client.attempt, &backend) {
                Some(next) => backend = next,
                None => return self.servfail_client(client),
            }
        }
    }

    /// The backend for a query's one retry after `failed` gave no answer:
    /// another that is up under the routing in force now (a reload may have
    /// replaced the one the query started on). None when the retry is used
    /// or no other backend is up: the caller answers SERVFAIL.
    fn next_backend(
        &self,
        wire: &[u8],
        attempt: &mut u8,
        failed: &Arc<Backend>,
    ) -> Option<Arc<Backend>> {
        if *attempt > 0 {
            return None;
        }
        *attempt = 1;
        let qname = QueryView::parse(wire)
            .map(|v| v.qname_wire())
            .unwrap_or_default();
        let next = self
            .routing
            .load()
            .route(qname)
            .selector
            .choose(qname, Some(failed))
            .cloned()?;
        self.metrics.retries.increment(1);
        Some(next)
    }

    /// A backend's response to a query: a SERVFAIL counts against the
    /// backend's passive health.
    fn judge_response(&self, backend: &Backend, response: &[u8], routing: &Routing) {
        let servfail = response.len() >= 4 && response[3] & 0x0F == SERVFAIL;
        if servfail {
            self.metrics.servfail_responses.increment(1);
        }
        backend.live_outcome(servfail, routing.passive);
    }

    /// A backend gave no response in time: counted, and against its health.
    fn judge_timeout(&self, backend: &Backend, routing: &Routing) {
        self.metrics.downstream_timeouts.increment(1);
        backend.timed_out(routing.fall, routing.checks_enabled);
        backend.live_outcome(true, routing.passive);
    }

    /// serve-stale: writes into `out` the expired answer to `wire` the cache
    /// still holds under `key` (sized for a UDP client when `udp`), when no
    /// backend gave one; false when there is none.
    fn stale(
        &self,
        wire: &[u8],
        key: Option<&[u8]>,
        udp: bool,
        asked: Option<Asked>,
        out: &mut Vec<u8>,
    ) -> bool {
        let (Some(packets), Some(key)) = (&self.cache, key) else {
            return false;
        };
        let Ok(view) = QueryView::parse(wire) else {
            return false;
        };
        let limit = if udp {
            let edns = common::dns::edns::find_opt(wire, &view).ok().flatten();
            common::dns::edns::udp_reply_limit(edns.as_ref(), u16::MAX)
        } else {
            usize::from(u16::MAX)
        };
        if !packets.get_stale(key, &view, limit, out) {
            return false;
        }
        self.metrics.served_stale.increment(1);
        if let (Some(coredns), Some(asked)) = (&self.coredns, asked) {
            coredns.served_stale(asked);
        }
        true
    }

    /// Our own SERVFAIL to `view` (no backend could answer it), counted.
    fn write_servfail(&self, view: &QueryView<'_>, out: &mut Vec<u8>) {
        self.metrics.servfail_responses.increment(1);
        write_error_reply(view, SERVFAIL, true, out);
    }

    /// Counts one reply given, written by `plugin`.
    fn count_response(&self, tally: Tally, reply: &[u8], plugin: Plugin) {
        let elapsed = tally.received_at.elapsed();
        self.metrics.responses.increment(1);
        self.metrics.latency.record(elapsed.as_secs_f64());
        if let (Some(coredns), Some(asked)) = (&self.coredns, tally.asked) {
            coredns.response(asked, rcode_of(reply), plugin, elapsed);
        }
    }

    /// The response to `wire`: from `first`, or after a timeout from one other
    /// backend that is up, or our SERVFAIL.
    async fn forward(
        &self,
        routing: &Routing,
        first: Arc<Backend>,
        wire: &[u8],
        transport: Transport,
    ) -> Vec<u8> {
        let mut backend = first;
        let mut attempt = 0;
        loop {
            match self.attempt(routing, &backend, wire, transport).await {
                Ok(response) => {
                    self.judge_response(&backend, &response, routing);
                    return response;
                }
                Err(Failure::Timeout) => self.judge_timeout(&backend, routing),
                Err(Failure::Full) => self.metrics.outstanding_overflows.increment(1),
                Err(Failure::Send) => self.metrics.downstream_send_errors.increment(1),
            }
            match self.next_backend(wire, &mut attempt, &backend) {
                Some(next) => backend = next,
                None => break,
            }
        }
        let mut out = Vec::new();
        if let Ok(view) = QueryView::parse(wire) {
            self.write_servfail(&view, &mut out);
        }
        out
    }

    /// One attempt: over the backend's pooled TCP connections for a TCP or DoT
    /// client, else over UDP.
    async fn attempt(
        &self,
        routing: &Routing,
        backend: &Backend,
        wire: &[u8],
        transport: Transport,
    ) -> Result<Vec<u8>, Failure> {
        backend.sent();
        let started = Instant::now();
        if transport != Transport::Udp {
            let response = backend
                .tcp
                .query(wire, routing.timeout)
                .await
                .ok_or(Failure::Timeout)?;
            backend.answered(started.elapsed(), &response);
            return Ok(response);
        }
        let ticket = match backend.forwarder.send(wire).await {
            Ok(ticket) => ticket,
            Err(SendError::Full) => return Err(Failure::Full),
            Err(error) => {
                tracing::debug!(backend = %backend.config.name, %error, "send to backend failed");
                backend.metrics.send_errors.increment(1);
                return Err(Failure::Send);
            }
        };
        let response = ticket.wait(routing.timeout).await.ok_or(Failure::Timeout)?;
        backend.answered(started.elapsed(), &response);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cluster_zones_cover_their_names_in_any_case_and_nothing_else() {
        let route = ClusterRoute {
            zones: ["cluster.local", "in-addr.arpa"]
                .iter()
                .map(|z| crate::wire::encode_name(z).unwrap())
                .collect(),
            selector: Selector::new(Policy::LeastOutstanding, Vec::new()),
        };
        let covers = |name: &str| route.covers(&crate::wire::encode_name(name).unwrap());
        for name in [
            "cluster.local",
            "web.default.svc.cluster.local",
            "WEB.Default.SVC.Cluster.LOCAL",
            "10.0.96.10.in-addr.arpa",
        ] {
            assert!(covers(name), "{name}");
        }
        for name in [
            "local",
            "notcluster.local",
            "cluster.local.example",
            "ip6.arpa",
            ".",
        ] {
            assert!(!covers(name), "{name}");
        }
    }
}
