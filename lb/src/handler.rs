//! The query path: ACL, a header-and-question peek (no full parse), a backend
//! by policy, forwarding with one retry on another backend after a timeout,
//! and SERVFAIL at once when no backend is up.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use common::acl::Acl;
use common::dns::wire::{write_error_reply, QueryView};
use common::frontend::{DnsHandler, Query, Reply, Transport};
use ipnet::IpNet;
use tokio::time::Instant;

use crate::backend::{Backend, Passive};
use crate::cache::{self, CacheConfig, PacketCache};
use crate::config::Config;
use crate::forward::{ClientQuery, SendError};
use crate::metrics::LbMetrics;
use crate::policy::Selector;
use crate::ratelimit::{Excess, RateLimiter};

/// RCODE SERVFAIL.
const SERVFAIL: u8 = 2;
/// RCODE REFUSED.
const REFUSED: u8 = 5;

/// What can change on SIGHUP: backends and policy, and the ACL.
pub struct Routing {
    /// Backends and policy.
    pub selector: Selector,
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

impl Routing {
    /// Routing for `config` over already connected `backends`.
    pub fn new(config: &Config, backends: Vec<Arc<Backend>>) -> Routing {
        let mut acl = Acl::new();
        for net in &config.acl {
            acl.insert(*net, ());
        }
        Routing {
            selector: Selector::new(config.policy, backends),
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
    /// Lives as long as the process: reloads and backend changes keep it.
    cache: Option<PacketCache>,
}

impl Lb {
    /// A handler routing by `routing`, with the packet cache `cache` (if any).
    pub fn new(routing: Routing, metrics: LbMetrics, cache: Option<&CacheConfig>) -> Lb {
        Lb {
            inner: Arc::new(Inner {
                routing: ArcSwap::from_pointee(routing),
                metrics,
                cache: cache.map(PacketCache::new),
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

    /// `backend` answered a UDP client after `rtt`: pass the response on.
    pub fn answered(&self, backend: &Backend, client: ClientQuery, response: &[u8], rtt: Duration) {
        let metrics = &self.inner.metrics;
        backend.answered(rtt);
        let servfail = response.len() >= 4 && response[3] & 0x0F == SERVFAIL;
        if servfail {
            metrics.servfail_responses.increment(1);
        }
        backend.live_outcome(servfail, self.inner.routing.load().passive);
        client.responder.send(response, client.peer);
        if let (Some(packets), Some(key)) = (&self.inner.cache, client.cache_key) {
            packets.put(key, response);
        }
        metrics.responses.increment(1);
        metrics
            .latency
            .record(client.received_at.elapsed().as_secs_f64());
    }

    /// `backend` did not answer a UDP client in time: retry once on another
    /// backend that is up, else SERVFAIL.
    pub fn timed_out(&self, backend: &Arc<Backend>, client: ClientQuery) {
        let inner = &self.inner;
        let routing = inner.routing.load();
        inner.metrics.downstream_timeouts.increment(1);
        backend.timed_out(routing.fall, routing.checks_enabled);
        backend.live_outcome(true, routing.passive);
        self.reroute(backend, client);
    }

    /// A UDP client's query that `backend` will not answer (timed out, or the
    /// backend was removed): once more on another backend that is up, else
    /// SERVFAIL.
    pub fn reroute(&self, backend: &Arc<Backend>, mut client: ClientQuery) {
        let inner = &self.inner;
        let routing = inner.routing.load();
        if client.attempt > 0 {
            inner.servfail(client);
            return;
        }
        client.attempt = 1;
        let qname = QueryView::parse(&client.wire)
            .map(|v| v.qname_wire())
            .unwrap_or_default();
        match routing.selector.choose(qname, Some(backend)).cloned() {
            Some(next) => {
                inner.metrics.retries.increment(1);
                inner.dispatch(&routing, &next, client);
            }
            None => inner.servfail(client),
        }
    }
}

impl DnsHandler for Lb {
    fn handle(&self, query: &Query<'_>, out: &mut Vec<u8>) -> Reply {
        let inner = &self.inner;
        let metrics = &inner.metrics;
        let routing = inner.routing.load_full();
        if routing.acl.lookup(query.peer.ip()).is_none() {
            metrics.acl_drops.increment(1);
            return Reply::Drop;
        }
        let view = match QueryView::parse(query.wire) {
            Ok(view) if !view.is_response() => view,
            _ => {
                metrics.noncompliant_queries.increment(1);
                return Reply::Drop;
            }
        };
        metrics.queries.increment(1);
        if let Some(limiter) = &routing.rate_limit {
            if !limiter.allow(query.peer.ip(), query.received_at) {
                return match limiter.config().excess {
                    Excess::Drop => {
                        metrics.rule_drop.increment(1);
                        Reply::Drop
                    }
                    Excess::Refuse => {
                        metrics.rule_refused.increment(1);
                        metrics.responses.increment(1);
                        write_error_reply(&view, REFUSED, true, out);
                        Reply::Ready
                    }
                };
            }
        }
        let mut cache_key = None;
        if let Some(packets) = &inner.cache {
            let edns = common::dns::edns::find_opt(query.wire, &view)
                .ok()
                .flatten();
            let limit = match query.transport {
                Transport::Udp => common::dns::edns::udp_reply_limit(edns.as_ref(), u16::MAX),
                _ => usize::from(u16::MAX),
            };
            let key = cache::key(&view, edns.as_ref());
            if packets.get(&key, &view, limit, out) {
                metrics.cache_hits.increment(1);
                metrics.responses.increment(1);
                metrics
                    .latency
                    .record(query.received_at.elapsed().as_secs_f64());
                return Reply::Ready;
            }
            metrics.cache_misses.increment(1);
            cache_key = Some(key);
        }
        let Some(first) = routing.selector.choose(view.qname_wire(), None).cloned() else {
            metrics.no_policy.increment(1);
            metrics.servfail_responses.increment(1);
            metrics.responses.increment(1);
            write_error_reply(&view, SERVFAIL, true, out);
            metrics
                .latency
                .record(query.received_at.elapsed().as_secs_f64());
            return Reply::Ready;
        };
        if let Some(responder) = query.responder {
            // UDP: the response goes straight back from the backend's receive loop.
            let client = ClientQuery {
                responder: responder.clone(),
                peer: query.peer,
                received_at: query.received_at,
                wire: query.wire.to_vec(),
                attempt: 0,
                held: responder.hold(),
                cache_key,
            };
            inner.dispatch(&routing, &first, client);
            return Reply::Detached;
        }
        let inner = self.inner.clone();
        let wire = query.wire.to_vec();
        let transport = query.transport;
        let received_at = query.received_at;
        Reply::Pending(Box::pin(async move {
            let reply = inner.forward(&routing, first, &wire, transport).await;
            if let (Some(packets), Some(key)) = (&inner.cache, cache_key) {
                packets.put(key, &reply);
            }
            inner.metrics.responses.increment(1);
            inner
                .metrics
                .latency
                .record(received_at.elapsed().as_secs_f64());
            Some(reply)
        }))
    }
}

/// Why one attempt at a backend gave no answer.
enum Failure {
    Timeout,
    Full,
    Send,
}

impl Inner {
    /// Sends a UDP client's query to `first`, or when that fails at once, to
    /// one other backend that is up; SERVFAIL when none takes it.
    fn dispatch(&self, routing: &Routing, first: &Arc<Backend>, mut client: ClientQuery) {
        let mut backend = first.clone();
        loop {
            backend.metrics.queries.increment(1);
            match backend.forwarder.send_client(client, routing.timeout) {
                Ok(()) => return,
                Err((error, returned)) => {
                    client = returned;
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
                }
            }
            if client.attempt > 0 {
                self.servfail(client);
                return;
            }
            client.attempt = 1;
            let qname = QueryView::parse(&client.wire)
                .map(|v| v.qname_wire())
                .unwrap_or_default();
            // The routing in force now: a reload may have replaced `routing`.
            let current = self.routing.load();
            match current.selector.choose(qname, Some(&backend)) {
                Some(next) => {
                    self.metrics.retries.increment(1);
                    backend = next.clone();
                }
                None => {
                    self.servfail(client);
                    return;
                }
            }
        }
    }

    /// Answers a UDP client SERVFAIL.
    fn servfail(&self, client: ClientQuery) {
        self.metrics.servfail_responses.increment(1);
        let mut out = Vec::new();
        if let Ok(view) = QueryView::parse(&client.wire) {
            write_error_reply(&view, SERVFAIL, true, &mut out);
            client.responder.send(&out, client.peer);
            self.metrics.responses.increment(1);
            self.metrics
                .latency
                .record(client.received_at.elapsed().as_secs_f64());
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
        for attempt in 0..2 {
            match self.attempt(routing, &backend, wire, transport).await {
                Ok(response) => {
                    let servfail = response.len() >= 4 && response[3] & 0x0F == SERVFAIL;
                    if servfail {
                        self.metrics.servfail_responses.increment(1);
                    }
                    backend.live_outcome(servfail, routing.passive);
                    return response;
                }
                Err(Failure::Timeout) => {
                    self.metrics.downstream_timeouts.increment(1);
                    backend.timed_out(routing.fall, routing.checks_enabled);
                    backend.live_outcome(true, routing.passive);
                }
                Err(Failure::Full) => self.metrics.outstanding_overflows.increment(1),
                Err(Failure::Send) => self.metrics.downstream_send_errors.increment(1),
            }
            if attempt > 0 {
                break;
            }
            let qname = QueryView::parse(wire)
                .map(|v| v.qname_wire())
                .unwrap_or_default();
            match routing.selector.choose(qname, Some(&backend)) {
                Some(next) => {
                    self.metrics.retries.increment(1);
                    backend = next.clone();
                }
                None => break,
            }
        }
        self.metrics.servfail_responses.increment(1);
        let mut out = Vec::new();
        if let Ok(view) = QueryView::parse(wire) {
            write_error_reply(&view, SERVFAIL, true, &mut out);
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
        backend.metrics.queries.increment(1);
        let started = Instant::now();
        if transport != Transport::Udp {
            let response = backend
                .tcp
                .query(wire, routing.timeout)
                .await
                .ok_or(Failure::Timeout)?;
            backend.answered(started.elapsed());
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
        backend.answered(started.elapsed());
        Ok(response)
    }
}
