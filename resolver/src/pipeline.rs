//! The per-query pipeline: one [`Stage`] array, built from the config when the
//! engine is, run in order for every query until a stage answers or drops it.
//! Each stage is a method returning a [`Flow`]; what a stage learns for later
//! ones is a named field of the [`Request`] context.
//!
//! Execution order (Unbound's `worker_handle_request`, then its mesh):
//!
//! 1. **access**: `access-control` deny drops the query before anything is read
//!    from it, so a denied client learns nothing, not even FORMERR or NOTIMP
//!    (Unbound checks its ACL before `worker_check_request`).
//! 2. **parse**: header and question peeked from the wire (no full parse);
//!    responses dropped, malformed queries answered FORMERR; the query is
//!    counted and its EDNS facts noted; with `answer-cookie: yes` its DNS
//!    cookie is judged ([`crate::cookie`]; a malformed one is FORMERR).
//! 3. **ip_ratelimit**: `ip-ratelimit` counts every query of a client
//!    address before the cache; the excess is dropped without a reply, 1 in
//!    `ip-ratelimit-factor` of it served anyway (Unbound's `worker_handle_request`
//!    checks it right after counting the query); a valid cookie is held to
//!    `ip-ratelimit-cookie` instead.
//! 4. **admit**: refused clients get REFUSED; unknown EDNS versions BADVERS;
//!    other opcodes NOTIMP; queries with answer or authority records or for a
//!    meta type FORMERR; other classes and zone transfers REFUSED;
//!    `allow_cookie` clients over UDP without a valid cookie BADCOOKIE, or
//!    REFUSED with TC when they sent none.
//! 5. **cache** (HOT PATH): a fresh message-cache entry is copied out with ID,
//!    case, flags and TTLs patched; answered synchronously, nothing allocated.
//!    Local-zone names are never inserted in the cache, so looking the cache up
//!    before the local zones gives the same answers as Unbound's order.
//! 6. **local_zone**: local-zone / local-data, Unbound's default zones.
//! 7. **resolve**: `*_nonlocal` clients and RD=0 queries stop here; a denial
//!    the validated caches already prove (aggressive NSEC, RFC 8198; below a
//!    secure NXDOMAIN, RFC 8020: `pipeline/synth.rs`) is answered at once
//!    without asking upstream; identical
//!    questions in flight share one background resolution (coalescing); the
//!    request list is bounded and overflow is answered SERVFAIL at once;
//!    answers are prefetched near expiry and served expired (RFC 8767) when
//!    configured.
//!
//! The background resolution ([`Engine::resolve_and_cache`]) runs the modules
//! of `module-config` in Unbound's order: the validator checks every answer
//! the iterator or cachedb produces before it is cached; a bogus one is kept
//! (with its data, for CD clients) and answered SERVFAIL with an Extended DNS
//! Error to everyone else.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use common::dns::edns::{find_opt, find_option, udp_reply_limit, EdnsInfo, OPTION_COOKIE};
use common::dns::truncate::truncate_to;
use common::dns::wire::{self, QueryView, HEADER_LEN};
use common::frontend::{DnsHandler, Query, Reply, Transport as Proto};
use common::shutdown::Shutdown;
use hickory_proto::op::{Message, MessageType, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::access::Access;
use crate::cache::message::{
    append_client_opt, append_opt, append_opt_with_ede, push_option, ClientEdns, Freshness,
    TtlPatch,
};
use crate::cache::{CachedMessage, MessageCache, MessageKey, TtlPolicy};
use crate::cachedb::{Cachedb, Lookup};
use crate::config::{AccessAction, Config};
use crate::cookie::{self, ServerCookies};
use crate::error::ResolveError;
use crate::iterate::{Answer, Recursor};
use crate::local_zone::{LocalAction, LocalZones};
use crate::metrics::Metrics;
use crate::ratelimit::{IpLimiter, Verdict};
use crate::request_list::{Joined, RequestList};
use crate::transport::Transport;
use crate::validator::{Security, Validator};

mod synth;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_replies;

/// What one resolution produced for everyone waiting on it.
type Outcome = Result<Arc<CachedMessage>, &'static str>;

/// Clients waiting on one resolution at most; more get SERVFAIL at once and
/// count as request-list overflow (bounds memory under a flood of one name).
const MAX_WAITERS_PER_KEY: usize = 512;

/// Unbound's NORR_TTL (util/data/msgparse.h): the lifetime of a message with
/// no TTL of its own, a negative answer without SOA, or a SERVFAIL.
const NORR_TTL: u32 = 5;

/// How long a SERVFAIL is remembered, so clients retrying a broken name do not
/// each re-run the whole iteration.
const SERVFAIL_TTL: u32 = NORR_TTL;

/// How long resolutions in flight may still finish once the process stops
/// (after the lameduck period): long enough for an answer already on its way,
/// far shorter than an upstream timeout.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

/// Removes a finished (or panicked) resolution from the request list and hands
/// its outcome to every waiter. A jostled entry's guard finds nobody to tell.
struct InflightGuard<T: Transport> {
    engine: Arc<Engine<T>>,
    key: MessageKey,
    id: u64,
    outcome: Outcome,
}

impl<T: Transport> Drop for InflightGuard<T> {
    fn drop(&mut self) {
        let inflight = &self.engine.inflight;
        let waiters = inflight.finish(self.key.as_bytes(), self.id);
        self.engine
            .metrics
            .request_list_current
            .set(inflight.len() as f64);
        for waiter in waiters {
            let _ = waiter.send(self.outcome.clone());
        }
    }
}

/// Serving options taken from the config.
#[derive(Clone, Debug)]
struct ServeOptions {
    prefetch: bool,
    serve_expired: bool,
    serve_expired_ttl: u32,
    serve_expired_reply_ttl: u32,
    serve_expired_client_timeout: Duration,
    edns_payload: u16,
    max_udp_size: u16,
    /// Iteration and validation together for one question (4.5 s by default).
    resolution_budget: Duration,
    /// `harden-below-nxdomain`: names below a cached secure NXDOMAIN are NXDOMAIN.
    harden_below_nxdomain: bool,
    /// `qname-minimisation`: an ancestor's NXDOMAIN may be cached for type A.
    qname_minimisation: bool,
}

/// What a stage decided.
#[derive(Debug)]
enum Flow {
    /// Go on to the next stage.
    Continue,
    /// Answer: [`Reply::Ready`] when the reply is written into `out`,
    /// [`Reply::Pending`] when it comes from a resolution.
    Respond(Reply),
    /// Send nothing.
    Drop,
}

impl Flow {
    /// The reply is in `out`.
    const READY: Flow = Flow::Respond(Reply::Ready);
}

/// One step of the per-query pipeline. A stage whose data only it uses owns
/// that data (the access table, the local zones).
#[derive(Debug)]
enum Stage {
    /// `access-control`: deny drops; the action is kept for later stages.
    Access(Access),
    /// Header, question and EDNS read off the wire.
    Parse,
    /// `ip-ratelimit`: None when off.
    IpRatelimit(Option<IpLimiter>),
    /// Queries and clients we answer with an rcode alone.
    Admit,
    /// HOT PATH: the message cache.
    Cache,
    /// `local-zone:` / `local-data:` and the default local zones.
    LocalZone(LocalZones),
    /// Recursion: coalesced, bounded, in the background.
    Resolve,
}

/// Number of stages (the array lives in the engine: nothing per query).
const STAGE_COUNT: usize = 7;

/// Builds the stage array from the config, in execution order.
fn stages(config: &Config) -> [Stage; STAGE_COUNT] {
    [
        Stage::Access(Access::new(&config.access_control)),
        Stage::Parse,
        Stage::IpRatelimit(IpLimiter::new(&config.server.ip_ratelimit, Instant::now())),
        Stage::Admit,
        Stage::Cache,
        Stage::LocalZone(LocalZones::new(config)),
        Stage::Resolve,
    ]
}

/// Client facts the reply needs, copied out of the query.
#[derive(Clone, Copy, Debug)]
struct ClientFacts {
    edns: Option<ClientEdns>,
    udp_limit: Option<usize>,
}

/// What the parse stage read: everything later stages need from the wire.
#[derive(Clone, Copy, Debug)]
struct Parsed<'w> {
    /// Header and question, borrowed from the receive buffer.
    view: QueryView<'w>,
    /// How to shape the reply (EDNS, UDP size).
    facts: ClientFacts,
    /// The client's EDNS version, when it sent an OPT.
    edns_version: Option<u8>,
}

/// The request context: the query as received, then what each stage learned
/// for the ones after it. HOT PATH: lives on the stack; only `qname` (off the
/// cache-hit path) allocates.
struct Request<'q, 'w> {
    /// The query as the front end received it (wire, peer, transport, time).
    query: &'q Query<'w>,
    /// `access-control` action for the peer (access). Until access runs the
    /// client is refused: fail closed.
    action: AccessAction,
    /// Header, question and client facts (parse).
    parsed: Option<Parsed<'w>>,
    /// Message-cache key; None for a name too long to key (cache).
    key: Option<MessageKey>,
    /// An expired entry serve-expired may use if resolution is slow or fails (cache).
    stale: Option<Arc<CachedMessage>>,
    /// The question name, parsed (local_zone).
    qname: Option<Name>,
    /// The client sent a server cookie we made, recently, for its address
    /// (RFC 7873 §5.2.4; parse, with `answer-cookie: yes`): it has seen our
    /// replies, so its source address is not spoofed. What Unbound's
    /// `ip-ratelimit-cookie` rates separately.
    valid_cookie: bool,
    /// The client sent a COOKIE option (parse, with `answer-cookie: yes`):
    /// `allow_cookie` answers BADCOOKIE rather than REFUSED when it is not valid.
    cookie_sent: bool,
}

impl<'q, 'w> Request<'q, 'w> {
    fn new(query: &'q Query<'w>) -> Self {
        Self {
            query,
            action: AccessAction::Refuse,
            parsed: None,
            key: None,
            stale: None,
            qname: None,
            valid_cookie: false,
            cookie_sent: false,
        }
    }
}

/// Everything the pipeline shares across queries and tasks.
pub struct Engine<T: Transport> {
    stages: [Stage; STAGE_COUNT],
    /// Whole-answer cache.
    pub messages: MessageCache,
    /// The iterator (with its RRset and infra caches).
    pub recursor: Recursor<T>,
    /// Metric handles.
    pub metrics: Metrics,
    policy: TtlPolicy,
    options: ServeOptions,
    /// Resolutions in flight (Unbound's mesh), with jostling.
    inflight: RequestList<Outcome>,
    /// The shared Redis cache, when configured.
    cachedb: Option<Arc<Cachedb>>,
    /// The DNSSEC validator, when `validator` is in module-config and an
    /// anchor is configured.
    validator: Option<Validator>,
    /// How verdicts are served (`val-permissive-mode`, `ignore-cd-flag`, `val-bogus-ttl`).
    serving: ValidationServing,
    /// `answer-cookie: yes`: the server secrets for clients' DNS cookies.
    cookies: Option<ServerCookies>,
    /// Fires when the process stops: resolutions still waiting on upstream
    /// servers then get [`SHUTDOWN_GRACE`] to finish and are answered SERVFAIL,
    /// so a stop never waits out slow or dead servers.
    shutdown: Shutdown,
}

/// How the validator's verdicts reach clients.
#[derive(Clone, Copy, Debug)]
struct ValidationServing {
    /// `val-permissive-mode`: bogus answers are served, without AD.
    permissive: bool,
    /// `ignore-cd-flag`: CD is not honoured.
    ignore_cd: bool,
    /// `val-bogus-ttl`: how long a bogus verdict is cached.
    bogus_ttl: u32,
}

impl<T: Transport> std::fmt::Debug for Engine<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("messages", &self.messages)
            .finish_non_exhaustive()
    }
}

/// The DNS handler given to the front end. The engine behind it can be swapped
/// whole (SIGHUP reload) while queries are in flight: each query works on the
/// engine it started with.
pub struct Pipeline<T: Transport> {
    engine: Arc<ArcSwap<Engine<T>>>,
}

impl<T: Transport> Clone for Pipeline<T> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
        }
    }
}

impl<T: Transport> Pipeline<T> {
    /// Builds the pipeline from config and its parts.
    pub fn new(
        config: &Config,
        messages: MessageCache,
        recursor: Recursor<T>,
        metrics: Metrics,
        cachedb: Option<Arc<Cachedb>>,
        validator: Option<Validator>,
        shutdown: Shutdown,
    ) -> Self {
        let server = &config.server;
        let engine = Engine {
            stages: stages(config),
            messages,
            recursor,
            metrics,
            policy: ttl_policy(config),
            options: ServeOptions {
                prefetch: server.prefetch,
                serve_expired: server.serve_expired,
                serve_expired_ttl: server.serve_expired_ttl,
                serve_expired_reply_ttl: server.serve_expired_reply_ttl,
                serve_expired_client_timeout: server.serve_expired_client_timeout,
                edns_payload: server.edns_buffer_size,
                max_udp_size: server.max_udp_size,
                resolution_budget: server.limits.resolution_timeout,
                harden_below_nxdomain: config.validation.harden_below_nxdomain,
                qname_minimisation: server.qname_minimisation,
            },
            inflight: RequestList::new(
                server
                    .num_queries_per_thread
                    .saturating_mul(server.num_threads.get()),
                server.jostle_timeout,
            ),
            cachedb,
            validator,
            serving: ValidationServing {
                permissive: config.validation.permissive,
                ignore_cd: config.validation.ignore_cd_flag,
                bogus_ttl: config.validation.bogus_ttl,
            },
            cookies: server
                .cookies
                .answer
                .then(|| ServerCookies::new(&server.cookies.secrets())),
            shutdown,
        };
        Self {
            engine: Arc::new(ArcSwap::from_pointee(engine)),
        }
    }

    /// The current engine (caches, metrics), for the admin endpoint and tests.
    pub fn engine(&self) -> Arc<Engine<T>> {
        self.engine.load_full()
    }

    /// Replaces the engine with `other`'s (config reload). Queries already in
    /// flight finish on the old one.
    pub fn replace_with(&self, other: Pipeline<T>) {
        self.engine.store(other.engine.load_full());
    }
}

/// The TTL clamps from the config.
pub fn ttl_policy(config: &Config) -> TtlPolicy {
    TtlPolicy {
        min: config.server.cache_min_ttl,
        max: config.server.cache_max_ttl,
        max_negative: config.server.cache_max_negative_ttl,
    }
}

impl<T: Transport> DnsHandler for Pipeline<T> {
    /// Runs the stages in order. HOT PATH: no allocation, no boxing, one
    /// `match` per stage.
    fn handle(&self, query: &Query<'_>, out: &mut Vec<u8>) -> Reply {
        let engine = &*self.engine.load();
        let mut request = Request::new(query);
        for stage in &engine.stages {
            let flow = match stage {
                Stage::Access(access) => engine.access(access, &mut request),
                Stage::Parse => engine.parse(&mut request, out),
                Stage::IpRatelimit(limiter) => engine.ip_ratelimit(limiter.as_ref(), &request),
                Stage::Admit => engine.admit(&request, out),
                Stage::Cache => engine.cache(&mut request, out),
                Stage::LocalZone(local) => engine.local_zone(local, &mut request, out),
                Stage::Resolve => engine.resolve(&mut request, out),
            };
            match flow {
                Flow::Continue => {}
                Flow::Respond(reply) => return reply,
                Flow::Drop => return Reply::Drop,
            }
        }
        // The resolve stage always answers; a stage list without it drops.
        Reply::Drop
    }
}

/// The stages, in execution order.
impl<T: Transport> Engine<T> {
    /// access: deny drops before the query is even parsed.
    fn access(&self, access: &Access, request: &mut Request<'_, '_>) -> Flow {
        request.action = access.action(request.query.peer.ip());
        if request.action == AccessAction::Deny {
            self.metrics.unwanted_queries.increment(1);
            return Flow::Drop;
        }
        Flow::Continue
    }

    /// parse: header and question, EDNS; counts the query.
    fn parse<'w>(&self, request: &mut Request<'_, 'w>, out: &mut Vec<u8>) -> Flow {
        let query = request.query;
        let Ok(view) = QueryView::parse(query.wire) else {
            return formerr(query.wire, out);
        };
        if view.is_response() {
            return Flow::Drop;
        }
        let metrics = &self.metrics;
        metrics.queries.increment(1);
        count_query(metrics, query, &view);
        let Ok(edns) = find_opt(query.wire, &view) else {
            return formerr(query.wire, out);
        };
        if let Some(opt) = &edns {
            metrics.query_edns_present.increment(1);
            if opt.do_bit {
                metrics.query_edns_do.increment(1);
            }
        }
        let udp_limit = (query.transport == Proto::Udp)
            .then(|| udp_reply_limit(edns.as_ref(), self.options.max_udp_size));
        let mut facts = ClientFacts {
            edns: edns.as_ref().map(|opt| ClientEdns {
                payload: self.options.edns_payload,
                do_bit: opt.do_bit,
                cookie: None,
            }),
            udp_limit,
        };
        if let (Some(cookies), Some(opt), Some(client)) = (&self.cookies, &edns, &mut facts.edns) {
            match answer_cookie(cookies, query, opt) {
                Ok(None) => {}
                Ok(Some(answer)) => {
                    client.cookie = answer.reply;
                    request.cookie_sent = true;
                    request.valid_cookie = answer.status.is_valid();
                }
                // RFC 7873 §5.2.2: a COOKIE option of a bad length is FORMERR.
                Err(_) => {
                    let received_at = query.received_at;
                    return self.error_reply(&view, facts, ResponseCode::FormErr, received_at, out);
                }
            }
        }
        request.parsed = Some(Parsed {
            view,
            facts,
            edns_version: edns.map(|opt| opt.version),
        });
        Flow::Continue
    }

    /// ip_ratelimit: drops a client address's queries over `ip-ratelimit`,
    /// logging the first of each episode as Unbound does.
    fn ip_ratelimit(&self, limiter: Option<&IpLimiter>, request: &Request<'_, '_>) -> Flow {
        let Some(limiter) = limiter else {
            return Flow::Continue;
        };
        let query = request.query;
        let check = limiter.check(query.peer.ip(), request.valid_cookie, query.received_at);
        let cookie = if request.valid_cookie { "(cookie)" } else { "" };
        if check.first_over {
            let question = request.parsed.map(|p| p.view).and_then(|view| {
                parse_qname(view.qname_wire()).map(|name| (name, RecordType::from(view.qtype())))
            });
            match question {
                Some((qname, qtype)) => tracing::info!(
                    "ip_ratelimit exceeded {} {}{cookie} {qname} IN {qtype}",
                    query.peer.ip(),
                    limiter.limit(request.valid_cookie)
                ),
                None => tracing::info!(
                    "ip_ratelimit exceeded {} {}{cookie} (no query name)",
                    query.peer.ip(),
                    limiter.limit(request.valid_cookie)
                ),
            }
        }
        if check.verdict == Verdict::Limited {
            self.metrics.queries_ip_ratelimited.increment(1);
            return Flow::Drop;
        }
        Flow::Continue
    }

    /// admit: what is answered with an rcode alone, whoever asks.
    fn admit(&self, request: &Request<'_, '_>, out: &mut Vec<u8>) -> Flow {
        let Some(Parsed {
            view,
            facts,
            edns_version,
        }) = request.parsed
        else {
            return Flow::Drop;
        };
        let received_at = request.query.received_at;
        if request.action == AccessAction::Refuse {
            self.metrics.unwanted_queries.increment(1);
            return self.error_reply(&view, facts, ResponseCode::Refused, received_at, out);
        }
        if edns_version.is_some_and(|version| version != 0) {
            // RFC 6891 §6.1.3: an unknown EDNS version gets BADVERS with our version (0).
            wire::write_error_reply(&view, 0, true, out);
            append_opt_with_rcode(out, self.options.edns_payload, false, 1);
            self.metrics.count_rcode(0, false);
            return Flow::READY;
        }
        if view.opcode() != 0 {
            return self.error_reply(&view, facts, ResponseCode::NotImp, received_at, out);
        }
        if view.ancount() != 0 || view.nscount() != 0 || is_meta_qtype(view.qtype()) {
            // A query with answers or authority, or for a meta type (OPT, TSIG,
            // TKEY, MAILA/MAILB, 128-248), is malformed for a resolver (Unbound: FORMERR).
            return self.error_reply(&view, facts, ResponseCode::FormErr, received_at, out);
        }
        if view.qclass() != u16::from(DNSClass::IN) || matches!(view.qtype(), 251 | 252) {
            // Zone transfers and other classes are not a resolver's business.
            return self.error_reply(&view, facts, ResponseCode::Refused, received_at, out);
        }
        if request.action == AccessAction::AllowCookie
            && request.query.transport == Proto::Udp
            && !request.valid_cookie
        {
            return self.cookie_required(&view, facts, request.cookie_sent, received_at, out);
        }
        Flow::Continue
    }

    /// `allow_cookie` over UDP without a valid cookie, as Unbound's worker
    /// answers it: BADCOOKIE with a fresh cookie to retry with when the client
    /// sent one (RFC 7873 §5.2.3), else REFUSED with TC set (retry over TCP)
    /// and an Extended DNS Error saying why.
    fn cookie_required(
        &self,
        view: &QueryView<'_>,
        facts: ClientFacts,
        cookie_sent: bool,
        received_at: Instant,
        out: &mut Vec<u8>,
    ) -> Flow {
        let rcode = if cookie_sent {
            u16::from(ResponseCode::BADCOOKIE)
        } else {
            u16::from(ResponseCode::Refused)
        };
        wire::write_error_reply(view, (rcode & 0x0F) as u8, true, out);
        if let Some(edns) = facts.edns {
            let opt_start = out.len();
            if cookie_sent {
                append_client_opt(out, &edns);
            } else {
                let text = "DNS Cookie needed for UDP replies";
                append_opt_with_ede(out, edns.payload, edns.do_bit, 0, text);
            }
            // Owner (1) + type (2) + class (2): the TTL's first byte is the
            // upper eight bits of the extended rcode (BADCOOKIE = 23 → 1).
            if let Some(byte) = out.get_mut(opt_start + 5) {
                *byte = (rcode >> 4) as u8;
            }
        }
        if !cookie_sent {
            out[2] |= 0x02; // TC: ask again over TCP
        }
        // Counted by the header's four bits, as Unbound's server_stats_insrcode.
        self.metrics.count_rcode((rcode & 0x0F) as u8, false);
        self.metrics
            .response_time
            .record(received_at.elapsed().as_secs_f64());
        Flow::READY
    }

    /// cache (HOT PATH): a fresh entry answers at once (and may start a
    /// prefetch); an expired one answers at once or is kept as the stand-in
    /// for a slow or failed resolution (serve-expired).
    fn cache(self: &Arc<Self>, request: &mut Request<'_, '_>, out: &mut Vec<u8>) -> Flow {
        let Some(Parsed { view, facts, .. }) = request.parsed else {
            return Flow::Drop;
        };
        request.key = MessageKey::new(view.qname_wire(), view.qtype(), view.qclass());
        let action = request.action;
        let may_use_cache = matches!(
            action,
            AccessAction::Allow | AccessAction::AllowSnoop | AccessAction::AllowCookie
        ) && (view.rd() || action == AccessAction::AllowSnoop);
        let (Some(key), true) = (&request.key, may_use_cache) else {
            return Flow::Continue;
        };
        let Some(entry) = self.messages.get(key) else {
            return Flow::Continue;
        };
        let received_at = request.query.received_at;
        let now = Instant::now();
        match entry.freshness(now) {
            Freshness::Fresh { elapsed, remaining } => {
                self.metrics.cache_hits.increment(1);
                let ttl = TtlPatch::Elapsed(elapsed);
                self.finish(&entry, &view, facts, ttl, received_at, out);
                if self.options.prefetch
                    && remaining.saturating_mul(10) <= entry.ttl()
                    && entry.claim_refresh(now)
                {
                    self.metrics.prefetches.increment(1);
                    self.spawn_refresh(&view, key, remaining);
                }
                Flow::READY
            }
            Freshness::Expired { ago } if self.may_serve_expired(ago) => {
                if !self.options.serve_expired_client_timeout.is_zero() {
                    request.stale = Some(entry);
                    return Flow::Continue;
                }
                self.metrics.cache_hits.increment(1);
                self.metrics.expired.increment(1);
                let ttl = TtlPatch::Fixed(self.options.serve_expired_reply_ttl);
                self.finish(&entry, &view, facts, ttl, received_at, out);
                if entry.claim_refresh(now) {
                    self.spawn_refresh(&view, key, 0);
                }
                Flow::READY
            }
            Freshness::Expired { .. } => Flow::Continue,
        }
    }

    /// local_zone: local data answers, refuses or drops; other names go on.
    fn local_zone(
        &self,
        local: &LocalZones,
        request: &mut Request<'_, '_>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(Parsed { view, facts, .. }) = request.parsed else {
            return Flow::Drop;
        };
        let Some(qname) = parse_qname(view.qname_wire()) else {
            return formerr(request.query.wire, out);
        };
        let received_at = request.query.received_at;
        let qtype = RecordType::from(view.qtype());
        match local.lookup(&qname, qtype) {
            LocalAction::Answer {
                rcode,
                answers,
                authorities,
            } => {
                let answer = Answer {
                    rcode,
                    answers,
                    authorities,
                };
                match self.cache_entry(&qname, qtype, &answer, Security::Unchecked, Instant::now())
                {
                    Some((entry, _)) => {
                        let ttl = TtlPatch::Elapsed(0);
                        self.finish(&entry, &view, facts, ttl, received_at, out);
                        Flow::READY
                    }
                    None => {
                        self.error_reply(&view, facts, ResponseCode::ServFail, received_at, out)
                    }
                }
            }
            LocalAction::Refuse => {
                self.error_reply(&view, facts, ResponseCode::Refused, received_at, out)
            }
            LocalAction::Drop => Flow::Drop,
            LocalAction::Resolve => {
                request.qname = Some(qname);
                Flow::Continue
            }
        }
    }

    /// resolve: recursion for those allowed it, coalesced with identical
    /// questions in flight; the reply comes when the resolution ends.
    fn resolve(self: &Arc<Self>, request: &mut Request<'_, '_>, out: &mut Vec<u8>) -> Flow {
        let Some(Parsed { view, facts, .. }) = request.parsed else {
            return Flow::Drop;
        };
        let received_at = request.query.received_at;
        match request.action {
            AccessAction::DenyNonLocal => {
                self.metrics.unwanted_queries.increment(1);
                return Flow::Drop;
            }
            AccessAction::RefuseNonLocal => {
                self.metrics.unwanted_queries.increment(1);
                return self.error_reply(&view, facts, ResponseCode::Refused, received_at, out);
            }
            _ => {}
        }
        if !view.rd() {
            // "allow" serves recursion only; RD=0 is cache snooping, which needs
            // allow_snoop and is answered from cache alone (above).
            return self.error_reply(&view, facts, ResponseCode::Refused, received_at, out);
        }
        let (Some(key), Some(qname)) = (&request.key, request.qname.take()) else {
            return formerr(request.query.wire, out);
        };
        self.metrics.cache_misses.increment(1);
        let qtype = RecordType::from(view.qtype());
        if let Some(entry) = self.cached_denial(view.qname_wire(), &qname, qtype) {
            // Aggressive NSEC or below-NXDOMAIN: proven without asking upstream.
            self.finish(&entry, &view, facts, TtlPatch::Elapsed(0), received_at, out);
            return Flow::READY;
        }
        let stale = request.stale.take();
        if !self.inflight.contains(key.as_bytes()) && self.recursor.rate_limited_now(&qname, qtype)
        {
            // The resolution would fail at the zone's spent send cap: fail now.
            self.metrics.count_error(ResolveError::RATE_LIMITED);
            self.metrics.recursive_replies.increment(1);
            self.metrics
                .record_recursion(received_at.elapsed().as_secs_f64());
            return self.fail_now(stale.as_deref(), &view, facts, received_at, out);
        }
        let Some(receiver) = self.coalesce(key, qname, qtype, 0) else {
            self.metrics.request_list_exceeded.increment(1);
            return self.fail_now(stale.as_deref(), &view, facts, received_at, out);
        };
        // Keep only header and question (bounded), not whatever else the datagram carried.
        let mut wire = view.header_and_question().to_vec();
        if let Some(counts) = wire.get_mut(6..HEADER_LEN) {
            counts.fill(0);
        }
        let waiting = Waiting {
            wire,
            facts,
            stale,
            received_at,
        };
        Flow::Respond(Reply::Pending(Box::pin(
            self.clone().answer_when_resolved(waiting, receiver),
        )))
    }
}

/// A client waiting on a resolution: what its reply needs once it ends.
struct Waiting {
    /// Header and question of the query, counts zeroed.
    wire: Vec<u8>,
    facts: ClientFacts,
    /// serve-expired stand-in.
    stale: Option<Arc<CachedMessage>>,
    received_at: Instant,
}

impl<T: Transport> Engine<T> {
    /// The deferred half of the resolve stage: waits for the resolution (at
    /// most serve-expired-client-timeout when a stale answer can stand in) and
    /// writes the reply.
    async fn answer_when_resolved(
        self: Arc<Self>,
        waiting: Waiting,
        receiver: oneshot::Receiver<Outcome>,
    ) -> Option<Vec<u8>> {
        let Waiting {
            wire,
            facts,
            stale,
            received_at,
        } = waiting;
        let view = QueryView::parse(&wire).ok()?;
        let timeout = self.options.serve_expired_client_timeout;
        let outcome = match (&stale, timeout.is_zero()) {
            (Some(_), false) => tokio::time::timeout(timeout, receiver)
                .await
                .ok()
                .and_then(Result::ok),
            _ => receiver.await.ok(),
        };
        let mut out = Vec::with_capacity(512);
        match (outcome, stale) {
            (Some(Ok(entry)), _) => {
                let ttl = TtlPatch::Elapsed(0);
                self.finish(&entry, &view, facts, ttl, received_at, &mut out);
            }
            (_, Some(stale)) => {
                self.metrics.expired.increment(1);
                let ttl = TtlPatch::Fixed(self.options.serve_expired_reply_ttl);
                self.finish(&stale, &view, facts, ttl, received_at, &mut out);
            }
            // Jostled out of the request list: no reply, as Unbound's
            // mesh_make_new_space deletes the state with its reply list.
            (None, None) => return None,
            (Some(Err(_)), None) => {
                let rcode = ResponseCode::ServFail;
                self.error_reply(&view, facts, rcode, received_at, &mut out);
            }
        }
        self.metrics.recursive_replies.increment(1);
        self.metrics
            .record_recursion(received_at.elapsed().as_secs_f64());
        Some(out)
    }

    /// Answers a query whose resolution cannot start: the expired answer
    /// serve-expired keeps, else SERVFAIL.
    fn fail_now(
        &self,
        stale: Option<&CachedMessage>,
        view: &QueryView<'_>,
        facts: ClientFacts,
        received_at: Instant,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(stale) = stale else {
            return self.error_reply(view, facts, ResponseCode::ServFail, received_at, out);
        };
        self.metrics.expired.increment(1);
        let ttl = TtlPatch::Fixed(self.options.serve_expired_reply_ttl);
        self.finish(stale, view, facts, ttl, received_at, out);
        Flow::READY
    }

    fn may_serve_expired(&self, ago: u32) -> bool {
        self.options.serve_expired
            && (self.options.serve_expired_ttl == 0 || ago <= self.options.serve_expired_ttl)
    }

    /// Writes `entry` as the reply to `view`, fitted to UDP, and counts it.
    /// The validator's verdict decides: a bogus answer is SERVFAIL with its
    /// Extended DNS Error unless the client set CD (RFC 4035 §3.2.2) or
    /// `val-permissive-mode` is on; a secure one carries AD when the client
    /// set AD or DO (RFC 6840 §5.8), CD or not, as Unbound does (RFC 6840
    /// §5.9: with CD the data is returned whatever its status, and AD still
    /// says it was authenticated).
    fn finish(
        &self,
        entry: &CachedMessage,
        view: &QueryView<'_>,
        facts: ClientFacts,
        ttl: TtlPatch,
        received_at: Instant,
        out: &mut Vec<u8>,
    ) {
        let checking_disabled = view.cd() && !self.serving.ignore_cd;
        let authentic = match entry.security() {
            Security::Bogus(bogus) if !checking_disabled && !self.serving.permissive => {
                self.metrics.validation.answers_bogus.increment(1);
                wire::write_error_reply(view, 2, true, out);
                if let Some(edns) = facts.edns {
                    let opt_start = out.len();
                    append_opt_with_ede(
                        out,
                        edns.payload,
                        edns.do_bit,
                        bogus.ede.code(),
                        &bogus.reason,
                    );
                    if let Some(cookie) = &edns.cookie {
                        push_option(out, opt_start, OPTION_COOKIE, cookie);
                    }
                }
                self.metrics.count_rcode(2, false);
                self.metrics
                    .response_time
                    .record(received_at.elapsed().as_secs_f64());
                return;
            }
            Security::Secure => {
                self.metrics.validation.answers_secure.increment(1);
                view.ad() || facts.edns.is_some_and(|e| e.do_bit)
            }
            _ => false,
        };
        entry.write_reply(view, facts.edns, ttl, authentic, out);
        if let Some(limit) = facts.udp_limit {
            truncate_to(out, limit);
        }
        let rcode = entry.rcode();
        let nodata = rcode == 0 && out.len() >= HEADER_LEN && out[6] == 0 && out[7] == 0;
        self.metrics.count_rcode(rcode, nodata);
        self.metrics
            .response_time
            .record(received_at.elapsed().as_secs_f64());
    }

    /// Answers with just a response code (REFUSED, SERVFAIL, NOTIMP, FORMERR),
    /// built on the wire: same ID, opcode, RD and CD; no allocation.
    fn error_reply(
        &self,
        view: &QueryView<'_>,
        facts: ClientFacts,
        rcode: ResponseCode,
        received_at: Instant,
        out: &mut Vec<u8>,
    ) -> Flow {
        let code = u16::from(rcode);
        wire::write_error_reply(view, (code & 0x0F) as u8, true, out);
        if let Some(edns) = facts.edns {
            append_client_opt(out, &edns);
        }
        self.metrics.count_rcode((code & 0x0F) as u8, false);
        self.metrics
            .response_time
            .record(received_at.elapsed().as_secs_f64());
        Flow::READY
    }

    /// Registers interest in (key); starts the resolution if none is in flight.
    /// None when the request list is full.
    fn coalesce(
        self: &Arc<Self>,
        key: &MessageKey,
        qname: Name,
        qtype: RecordType,
        leeway: u32,
    ) -> Option<oneshot::Receiver<Outcome>> {
        let (receiver, id) =
            match self
                .inflight
                .join(key.as_bytes(), MAX_WAITERS_PER_KEY, Instant::now())
            {
                Joined::Waiting(receiver) => return Some(receiver),
                Joined::Full => return None,
                Joined::Started {
                    receiver,
                    id,
                    jostled,
                } => {
                    if jostled {
                        self.metrics.request_list_overwritten.increment(1);
                    }
                    (receiver, id)
                }
            };
        self.metrics
            .request_list_current
            .set(self.inflight.len() as f64);
        let engine = self.clone();
        let key = key.clone();
        let registered = key.clone();
        // The resolution runs in its own task: a client that goes away (TCP close,
        // serve-expired client timeout) does not cancel work others wait for;
        // jostling does.
        let task = tokio::spawn(async move {
            // Whatever happens to this task (even a panic or an abort), the entry
            // leaves the request list and every waiter gets an answer.
            let mut guard = InflightGuard {
                engine: engine.clone(),
                key,
                id,
                outcome: Err("internal"),
            };
            guard.outcome = engine
                .resolve_and_cache(&guard.key, &qname, qtype, leeway)
                .await;
        });
        self.inflight
            .set_task(registered.as_bytes(), id, task.abort_handle());
        Some(receiver)
    }

    /// Starts a background refresh (prefetch, stale refresh) unless one is in flight.
    fn spawn_refresh(self: &Arc<Self>, view: &QueryView<'_>, key: &MessageKey, leeway: u32) {
        if let Some(qname) = parse_qname(view.qname_wire()) {
            // Dropping the receiver is fine: the cache is what we want updated.
            let _ = self.coalesce(key, qname, RecordType::from(view.qtype()), leeway);
        }
    }
}

/// What the cachedb module found for a key.
#[derive(Debug)]
enum CachedbHit {
    /// A fresh answer: serve it, no recursion.
    Fresh(Arc<CachedMessage>),
    /// An expired answer serve-expired may use: it stands in for a failed
    /// recursion, and new queries may be served it meanwhile.
    Expired(Arc<CachedMessage>),
    /// Nothing usable, or no cachedb configured.
    Miss,
}

/// The background resolution, as named steps in Unbound's `module-config`
/// order (`validator cachedb iterator`, the validator not implemented yet): a
/// question goes down the modules (cachedb lookup, then the iterator), the
/// answer comes back up (store into the memory cache and cachedb).
///
/// ```text
/// cachedb_lookup ─ Fresh ──[validate entry]──► memory cache ──► done
///      │  Expired (kept as stand-in) / Miss
///      ▼
/// iterate ─ Ok(Answer) ──[validate answer]──► cache_entry ──► store ──► done
///      └─ Err ──► remember_failure (SERVFAIL for SERVFAIL_TTL; the expired
///                 cachedb entry, if any, is served instead)
/// ```
///
/// VALIDATOR SEAM: a DNSSEC validator is one more step in two places, both
/// marked `[validate ...]` above and in [`Engine::resolve_and_cache`]:
/// between `iterate` returning an [`Answer`] and [`Engine::cache_entry`]
/// turning it into what both caches store (a bogus answer becomes SERVFAIL
/// and is never stored), and between `cachedb_lookup` returning an entry and
/// serving it (another replica wrote it; it is checked like any answer).
/// Nothing else needs to move: each step takes and returns plain values.
impl<T: Transport> Engine<T> {
    /// Runs the resolution steps for (`qname`, `qtype`), see above. `leeway`:
    /// for a prefetch, the seconds the memory entry has left.
    async fn resolve_and_cache(
        &self,
        key: &MessageKey,
        qname: &Name,
        qtype: RecordType,
        leeway: u32,
    ) -> Outcome {
        // 1. cachedb; what another replica wrote is validated like any answer.
        let stand_in = match self.cachedb_lookup(key, qname, qtype, leeway).await {
            CachedbHit::Fresh(entry) => {
                self.messages.insert(key, entry.clone());
                return Ok(entry);
            }
            CachedbHit::Expired(entry) => {
                if self.messages.get(key).is_none() {
                    self.messages.insert(key, entry.clone());
                }
                Some(entry)
            }
            CachedbHit::Miss => None,
        };
        // 2. iterator, then 3. validator on what it answered.
        let outcome = match self
            .bounded(self.iterate_and_validate(qname, qtype, leeway))
            .await
        {
            Ok((answer, security)) => {
                match self.cache_entry(qname, qtype, &answer, security, Instant::now()) {
                    // 4. store: memory cache at once, cachedb in the background.
                    Some((entry, ttl)) => {
                        self.store(key, &entry, ttl);
                        Ok(entry)
                    }
                    None => Err("encode"),
                }
            }
            Err(error) => Err(self.remember_failure(key, qname, qtype, &error)),
        };
        match (outcome, stand_in) {
            (Err(_), Some(stale)) => {
                self.metrics.expired.increment(1);
                Ok(stale)
            }
            (outcome, _) => outcome,
        }
    }

    /// Steps 2 and 3: the iterator's answer and the validator's verdict on it,
    /// its TTLs capped by what the signatures allow.
    async fn iterate_and_validate(
        &self,
        qname: &Name,
        qtype: RecordType,
        leeway: u32,
    ) -> Result<(Answer, Security), ResolveError> {
        let mut answer = self.iterate(qname, qtype, leeway).await?;
        let (security, ttl_cap) = self.validate(qname, qtype, &answer).await;
        if let Some(cap) = ttl_cap {
            for record in answer
                .answers
                .iter_mut()
                .chain(answer.authorities.iter_mut())
            {
                record.ttl = record.ttl.min(cap);
            }
        }
        Ok((answer, security))
    }

    /// Runs `work` (iteration and validation together) within the resolution
    /// budget, and cuts it [`SHUTDOWN_GRACE`] after the process is told to
    /// stop: a client gets SERVFAIL (or the expired cachedb answer) in bounded
    /// time, and a stop never waits out upstream timeouts.
    async fn bounded<X>(
        &self,
        work: impl Future<Output = Result<X, ResolveError>>,
    ) -> Result<X, ResolveError> {
        let stopped = async {
            self.shutdown.requested().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            result = tokio::time::timeout(self.options.resolution_budget, work) => {
                result.unwrap_or(Err(ResolveError::Timeout))
            }
            () = stopped => Err(ResolveError::ShuttingDown),
        }
    }

    /// Step 1: the shared Redis cache, when configured. An entry is validated
    /// before it is used (it may come from a replica that does not validate,
    /// or from anyone who can write to Redis); a bogus one counts as a miss,
    /// so recursion gets the real answer.
    async fn cachedb_lookup(
        &self,
        key: &MessageKey,
        qname: &Name,
        qtype: RecordType,
        leeway: u32,
    ) -> CachedbHit {
        let Some(cachedb) = &self.cachedb else {
            return CachedbHit::Miss;
        };
        let Lookup::Found(found) = cachedb.lookup(key, leeway).await else {
            return CachedbHit::Miss;
        };
        let mut entry = found.entry;
        if self.validator.is_some() {
            let Some(answer) = answer_of(entry.wire()) else {
                return CachedbHit::Miss;
            };
            let (security, _) = self.validate(qname, qtype, &answer).await;
            if matches!(security, Security::Bogus(_)) {
                tracing::debug!(%qname, ?qtype, "cachedb entry is bogus; resolving instead");
                return CachedbHit::Miss;
            }
            entry = entry.with_security(security);
        }
        if found.remaining > 0 {
            CachedbHit::Fresh(Arc::new(entry))
        } else {
            CachedbHit::Expired(Arc::new(entry))
        }
    }

    /// Step 3: the validator's verdict on an answer (Unchecked when off), and
    /// how long its signatures allow it to be cached.
    async fn validate(
        &self,
        qname: &Name,
        qtype: RecordType,
        answer: &Answer,
    ) -> (Security, Option<u32>) {
        let Some(validator) = &self.validator else {
            return (Security::Unchecked, None);
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (security, ttl_cap) = validator
            .validate_with_ttl_cap(&self.recursor, qname, qtype, answer, now)
            .await;
        self.metrics.validation.count(&security);
        (security, ttl_cap)
    }

    /// Step 2: the iterator (recursion, or forwarding per zone).
    async fn iterate(
        &self,
        qname: &Name,
        qtype: RecordType,
        leeway: u32,
    ) -> Result<Answer, ResolveError> {
        self.recursor
            .resolve_with_leeway(qname, qtype, leeway)
            .await
    }

    /// Step 4: keeps an entry with a lifetime (`ttl` > 0) in the memory cache
    /// at once and queues it for cachedb (never a bogus one: other replicas
    /// would have to validate it again only to throw it away).
    fn store(&self, key: &MessageKey, entry: &Arc<CachedMessage>, ttl: u32) {
        if ttl == 0 {
            return;
        }
        self.messages.insert(key, entry.clone());
        if matches!(entry.security(), Security::Bogus(_)) {
            return;
        }
        if let Some(cachedb) = &self.cachedb {
            cachedb.store(key, entry, ttl);
        }
    }

    /// A failed resolution: counted, and remembered briefly as SERVFAIL
    /// unless an (expired) answer is there for serve-expired to use.
    fn remember_failure(
        &self,
        key: &MessageKey,
        qname: &Name,
        qtype: RecordType,
        error: &ResolveError,
    ) -> &'static str {
        tracing::debug!(%qname, ?qtype, %error, "resolution failed");
        self.metrics.count_error(error.label());
        if self.messages.get(key).is_none() {
            let failure = Answer {
                rcode: ResponseCode::ServFail,
                answers: Vec::new(),
                authorities: Vec::new(),
            };
            let mut question = Question::query(qname.clone(), qtype);
            question.set_query_class(DNSClass::IN);
            if let Some(entry) = build_wire(&question, &failure)
                .and_then(|w| CachedMessage::from_wire(w, SERVFAIL_TTL, Instant::now()))
            {
                self.messages.insert(key, Arc::new(entry));
            }
        }
        error.label()
    }

    /// Turns an [`Answer`] (from the iterator or a local zone) and its
    /// validation verdict into the canonical cached form, with TTLs clamped by
    /// policy; returns it with its cache lifetime (0 = do not cache). A bogus
    /// verdict lives `val-bogus-ttl` seconds, whatever the records say.
    fn cache_entry(
        &self,
        qname: &Name,
        qtype: RecordType,
        answer: &Answer,
        security: Security,
        now: Instant,
    ) -> Option<(Arc<CachedMessage>, u32)> {
        let mut answer = answer.clone();
        let has_final = answer
            .answers
            .iter()
            .any(|r| r.record_type() == qtype || qtype == RecordType::ANY);
        let negative = answer.rcode == ResponseCode::NXDomain
            || (answer.rcode == ResponseCode::NoError && !has_final);
        for record in answer
            .answers
            .iter_mut()
            .chain(answer.authorities.iter_mut())
        {
            // RFC 2181 §8: a TTL with the top bit set means zero.
            if record.ttl > i32::MAX as u32 {
                record.ttl = 0;
            }
        }
        for record in &mut answer.answers {
            record.ttl = self.policy.positive(record.ttl);
        }
        for record in &mut answer.authorities {
            // A denial's SOA and its proofs (NSEC/NSEC3, RRSIGs) live as long as
            // the negative answer may.
            record.ttl = if negative || record.record_type() == RecordType::SOA {
                self.policy.negative(record.ttl)
            } else {
                self.policy.positive(record.ttl)
            };
        }
        let mut ttl = answer
            .answers
            .iter()
            .chain(answer.authorities.iter())
            .map(|r| r.ttl)
            .min()
            .unwrap_or(NORR_TTL);
        if negative
            && answer
                .authorities
                .iter()
                .all(|r| r.record_type() != RecordType::SOA)
        {
            // No SOA, no negative TTL (an empty NOERROR from a server that
            // sends none): kept briefly, as Unbound keeps a message with no
            // records (msgreply.c: rep->ttl = NORR_TTL), not turned to SERVFAIL.
            ttl = ttl.min(NORR_TTL);
        }
        if !matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
            ttl = 0;
        }
        let mut question = Question::query(qname.clone(), qtype);
        question.set_query_class(DNSClass::IN);
        if matches!(security, Security::Bogus(_)) {
            ttl = self.serving.bogus_ttl;
        }
        let wire = build_wire(&question, &answer)?;
        let entry = CachedMessage::from_wire(wire, ttl, now)?.with_security(security);
        Some((Arc::new(entry), ttl))
    }

    /// The shared Redis cache, when configured.
    pub fn cachedb(&self) -> Option<&Arc<Cachedb>> {
        self.cachedb.as_ref()
    }

    /// RFC 5011 active refresh: probes the tracked trust anchors that are due.
    /// Returns when the next probe is due (Unix seconds), if any anchor is tracked.
    pub async fn refresh_trust_anchors(&self) -> Option<u64> {
        let validator = self.validator.as_ref()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        validator.refresh_anchors(&self.recursor, now).await;
        validator.chain().next_probe()
    }

    /// Refreshes the gauges derived from cache sizes (called before a scrape).
    pub fn refresh_gauges(&self) {
        let metrics = &self.metrics;
        metrics.msg_cache_count.set(self.messages.len() as f64);
        metrics.memory_msg.set(self.messages.weight() as f64);
        metrics
            .rrset_cache_count
            .set(self.recursor.rrsets.len() as f64);
        metrics
            .memory_rrset
            .set(self.recursor.rrsets.weight() as f64);
        metrics
            .infra_cache_count
            .set(self.recursor.infra_len() as f64);
        if let Some(validator) = &self.validator {
            let keys = validator.chain().cache();
            metrics.validation.key_cache_count.set(keys.len() as f64);
            metrics.validation.memory_key.set(keys.weight() as f64);
        }
        metrics.refresh_average();
    }
}

/// Encodes a response for `question` (ID 0, RA set) with the answer's sections.
fn build_wire(question: &Question, answer: &Answer) -> Option<Vec<u8>> {
    let mut message = Message::new(0, MessageType::Response, OpCode::Query);
    message.metadata.recursion_available = true;
    message.metadata.response_code = answer.rcode;
    message.add_query(question.clone());
    message.answers = answer.answers.clone();
    message.authorities = answer.authorities.clone();
    message.to_vec().ok()
}

/// The sections of a stored wire answer, for the validator.
fn answer_of(wire: &[u8]) -> Option<Answer> {
    let message = Message::from_vec(wire).ok()?;
    Some(Answer {
        rcode: message.metadata.response_code,
        answers: message.answers,
        authorities: message.authorities,
    })
}

/// The qname as a hickory Name (allocates; off the cache-hit path).
fn parse_qname(qname_wire: &[u8]) -> Option<Name> {
    let mut decoder = BinDecoder::new(qname_wire);
    Name::read(&mut decoder).ok()
}

/// FORMERR for a query whose header is readable; drop otherwise.
fn formerr(wire: &[u8], out: &mut Vec<u8>) -> Flow {
    if wire.len() < HEADER_LEN || wire[2] & 0x80 != 0 {
        return Flow::Drop;
    }
    out.extend_from_slice(&wire[..HEADER_LEN]);
    out[2] = (out[2] & 0x79) | 0x80; // QR=1, keep opcode and RD, clear AA/TC
    out[3] = 0x80 | 0x01; // RA=1, RCODE=FORMERR
    out[4..12].fill(0);
    Flow::READY
}

/// The client's COOKIE option judged (`answer-cookie: yes`): our verdict and
/// the option for the reply; None without a COOKIE option; Err for a
/// malformed one (FORMERR).
fn answer_cookie(
    cookies: &ServerCookies,
    query: &Query<'_>,
    opt: &EdnsInfo,
) -> Result<Option<cookie::Answer>, cookie::Malformed> {
    let Some(option) = find_option(query.wire, opt, OPTION_COOKIE) else {
        return Ok(None);
    };
    cookies
        .answer(option, query.peer.ip(), cookie::unix_now())
        .map(Some)
}

fn count_query(metrics: &Metrics, query: &Query<'_>, view: &QueryView<'_>) {
    match query.transport {
        Proto::Udp => {}
        Proto::Tcp => metrics.query_tcp.increment(1),
        Proto::Tls => {
            metrics.query_tcp.increment(1);
            metrics.query_tls.increment(1);
        }
    }
    if query.peer.is_ipv6() {
        metrics.query_ipv6.increment(1);
    }
    if view.opcode() == 0 {
        metrics.opcode_query.increment(1);
    } else {
        metrics.opcode_other.increment(1);
    }
    if view.qclass() == 1 {
        metrics.class_in.increment(1);
    } else {
        metrics.class_other.increment(1);
    }
    metrics.count_type(view.qtype());
    if view.rd() {
        metrics.flag_rd.increment(1);
    }
    if view.cd() {
        metrics.flag_cd.increment(1);
    }
}

/// Meta query types a resolver must not forward (RFC 6895 §3.1): OPT, TKEY,
/// TSIG, MAILB, MAILA, and the 128-248 meta range.
fn is_meta_qtype(qtype: u16) -> bool {
    matches!(qtype, 41 | 249 | 250 | 253 | 254 | 128..=248)
}

/// Appends an OPT with an extended RCODE (BADVERS = 1 → rcode 16) and bumps ARCOUNT.
fn append_opt_with_rcode(out: &mut Vec<u8>, payload: u16, do_bit: bool, extended_rcode: u8) {
    let start = out.len();
    append_opt(out, payload, do_bit);
    // Owner (1) + type (2) + class (2), then the TTL field's first byte is the extended rcode.
    if let Some(byte) = out.get_mut(start + 5) {
        *byte = extended_rcode;
    }
}
