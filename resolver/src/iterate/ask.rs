//! Asking a zone's servers: which server next (the infra cache's choice),
//! timeouts and retries, servers that mishandle EDNS, TC fallback to TCP, and
//! the parallel lookup of NS addresses for glue-less delegations. The per-query
//! work limits ([`Budget`]) are counted here.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use tokio::time::Instant;

use super::delegation::{DelegationPoint, ServerKind};
use super::infra::Choice;
use super::shared::{Asked, LeadId, Part, FOLLOW_WAIT};
use super::{group_rrsets, record_ip, Answer, Recursor};
use crate::cache::Trust;
use crate::error::{ResolveError, TransportError};
use crate::ratelimit::{Admission, Attempt};
use crate::transport::{QueryOptions, Reply, Transport};

/// A server address that failed this often (timeouts, errors) is not asked again
/// in this resolution; the RTO doubles after each timeout (Unbound's
/// outbound-msg-retry: 5).
pub(super) const MAX_FAILURES_PER_SERVER: u8 = 5;

/// NS-name address lookups (one name, one family) per delegation (Unbound's
/// target-fetch limits and MAX_TARGET_NX): a referral to dozens of glue-less names must not turn one
/// client query into hundreds of upstream ones (NXNS, CVE-2020-12662).
const MAX_TARGET_FETCHES: u8 = 6;

/// NS names of a glue-less delegation whose addresses are looked up at once
/// (each for A and AAAA as do-ip4/do-ip6 allow); the first address found wins.
const PARALLEL_TARGETS: usize = 2;

/// Work done so far for one client query. Upstream queries are counted in one
/// counter shared by the parallel NS-address lookups, so they cannot together
/// exceed the limit; the rest is per branch.
pub(super) struct Budget<'q> {
    /// Cached RRsets with this many seconds or fewer left count as misses
    /// (prefetch must ask upstream, not re-read what is about to expire).
    pub(super) leeway: u32,
    queries: &'q AtomicU32,
    /// Referrals followed.
    pub(super) referrals: u32,
    ns_depth: u32,
    /// Names whose addresses are being looked up, to break NS cycles.
    resolving_ns: Vec<Name>,
    /// This NS-address lookup was answered by a referral's glue (so its
    /// records are glue, not an answer, and are cached as such already).
    pub(super) answered_by_glue: bool,
    /// Shared questions this resolution and those it is nested in lead.
    leads: Vec<LeadId>,
}

impl<'q> Budget<'q> {
    /// A fresh budget counting upstream queries in `queries`.
    pub(super) fn new(leeway: u32, queries: &'q AtomicU32) -> Self {
        Self {
            leeway,
            queries,
            referrals: 0,
            ns_depth: 0,
            resolving_ns: Vec::new(),
            answered_by_glue: false,
            leads: Vec::new(),
        }
    }

    /// Counts one upstream query: false once the limit is spent.
    pub(super) fn spend_query(&self, limit: u32) -> bool {
        self.queries.fetch_add(1, Ordering::Relaxed) < limit
    }

    /// A budget for a side query of this resolution (harden-referral-path's
    /// NS check): the same upstream-query count, NS-lookup state and
    /// shared-question leads (it must not wait for a question this resolution
    /// leads), its own referral count.
    pub(super) fn sibling(&self) -> Self {
        Self {
            leeway: self.leeway,
            queries: self.queries,
            referrals: self.referrals,
            ns_depth: self.ns_depth,
            resolving_ns: self.resolving_ns.clone(),
            answered_by_glue: false,
            leads: self.leads.clone(),
        }
    }

    /// The budget of a lookup of `ns`'s addresses started from this one.
    fn fork(&self, ns: &Name) -> Self {
        let mut resolving_ns = Vec::with_capacity(self.resolving_ns.len() + 1);
        resolving_ns.extend(self.resolving_ns.iter().cloned());
        resolving_ns.push(ns.clone());
        Self {
            leeway: self.leeway,
            queries: self.queries,
            referrals: self.referrals,
            ns_depth: self.ns_depth + 1,
            resolving_ns,
            answered_by_glue: false,
            leads: self.leads.clone(),
        }
    }

    /// True for the lookup of an NS name's addresses (not a client's question).
    pub(super) fn is_address_lookup(&self) -> bool {
        self.ns_depth > 0
    }
}

/// An open query's outcome: the server, how it was asked, and the reply.
type Exchanged = (SocketAddr, QueryOptions, Result<Reply, TransportError>);

/// An open query stays open this many RTOs (the next server is asked after one).
const HARD_TIMEOUT_FACTOR: u32 = 3;

/// One NS-address lookup of a parallel batch.
struct Fork<'q> {
    ns: Name,
    rtype: RecordType,
    budget: Budget<'q>,
    done: bool,
}

impl<T: Transport> Recursor<T> {
    /// Asks the servers of `dp` for `name`/`qtype`, or, when another
    /// resolution is asking them that already, takes its reply. If that one
    /// fails, this one asks for itself; if it takes longer than FOLLOW_WAIT,
    /// this one asks too and takes whichever reply comes first. It never waits
    /// for a question it is asking itself further up.
    pub(super) async fn ask_shared(
        &self,
        dp: &mut DelegationPoint,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget<'_>,
    ) -> Result<Asked, ResolveError> {
        match self
            .shared
            .join(&dp.zone, name, qtype, &dp.kind, &budget.leads)
        {
            Part::Lead(lead) => {
                budget.leads.push(lead.id());
                let asked = self.ask_zone(dp, name, qtype, budget).await;
                budget.leads.pop();
                let asked = asked?;
                lead.finish(&asked);
                Ok(asked)
            }
            Part::Follow(mut reply) => {
                match tokio::time::timeout(FOLLOW_WAIT, &mut reply).await {
                    Ok(Ok(asked)) => return Ok(asked),
                    Ok(Err(_)) => return self.ask_zone(dp, name, qtype, budget).await,
                    Err(_) => {}
                }
                let own = self.ask_zone(dp, name, qtype, budget);
                tokio::pin!(own);
                tokio::select! {
                    result = &mut own => result,
                    Ok(asked) = &mut reply => Ok(asked),
                }
            }
            Part::Nested => self.ask_zone(dp, name, qtype, budget).await,
        }
    }

    /// Asks the servers of `dp` until one gives a usable reply. A server that
    /// has not answered within its RTO counts as timed out and the next one is
    /// asked, but its query stays open (up to HARD_TIMEOUT_FACTOR × RTO): a late
    /// reply is still taken, so jitter costs no more queries than a timeout
    /// does and less time. `caps`: with 0x20 ([`super::caps`]).
    pub(super) async fn ask_servers(
        &self,
        dp: &mut DelegationPoint,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget<'_>,
        caps: bool,
    ) -> Result<Asked, ResolveError> {
        let query = {
            let mut q = Query::query(name.clone(), qtype);
            q.set_query_class(DNSClass::IN);
            q
        };
        let mut inflight = FuturesUnordered::new();
        // Servers with a query open, and whether its RTO has passed (the
        // timeout counted).
        let mut waiting: Vec<(SocketAddr, bool)> = Vec::new();
        let timeouts_at_start = dp.timeouts();
        loop {
            if caps && Self::caps_timed_out(dp, timeouts_at_start) {
                return Err(ResolveError::AllServersFailed {
                    zone: dp.zone.to_string(),
                });
            }
            let next = match self.pick_server(dp, &query, budget, &waiting).await {
                Ok(choice) => Some(choice),
                Err(error) if inflight.is_empty() => return Err(error),
                Err(_) => None,
            };
            let Some(Choice { server, patience }) = next else {
                // Nothing new to ask: wait for the queries still open.
                if let Some(done) = inflight.next().await {
                    if let Some(message) = self.settle(dp, &mut waiting, done, &query, budget).await
                    {
                        return Ok(message);
                    }
                }
                continue;
            };
            let options = Self::with_caps(self.options_for(dp, server), caps);
            let soft = options.timeout;
            // A gamble (probe, exploration) waits only as long as the fastest
            // server would before that one is asked too; that is no timeout of
            // the gamble's own, which stays open until its hard timeout.
            let wait = patience.map_or(soft, |p| p.min(soft));
            let gamble_cut = wait < soft;
            tracing::trace!(%server, zone = %dp.zone, %name, ?qtype, ?patience, "asking");
            let asked = &query;
            waiting.push((server, false));
            inflight.push(async move {
                let mut open = options;
                open.timeout = soft.saturating_mul(HARD_TIMEOUT_FACTOR);
                let result = self.transport.exchange(server, asked, &open).await;
                (server, open, result)
            });
            let patience = tokio::time::sleep(wait);
            tokio::pin!(patience);
            loop {
                tokio::select! {
                    biased;
                    Some(done) = inflight.next() => {
                        if let Some(message) = self.settle(dp, &mut waiting, done, &query, budget).await {
                            return Ok(message);
                        }
                    }
                    () = &mut patience => {
                        tracing::trace!(%server, ?wait, gamble_cut, "no reply yet");
                        if gamble_cut {
                            self.infra.record_slower_than(server.ip(), wait, Instant::now());
                        } else {
                            self.infra.record_timeout(server.ip(), Instant::now());
                            dp.failed(server);
                            if let Some(entry) = waiting.iter_mut().find(|(w, _)| *w == server) {
                                entry.1 = true;
                            }
                        }
                        break;
                    }
                }
                if !waiting.iter().any(|(w, _)| *w == server) {
                    break;
                }
            }
        }
    }

    /// The next server to ask (not one with a query open), after looking up
    /// NS addresses or falling back to the parent's servers when needed.
    async fn pick_server(
        &self,
        dp: &mut DelegationPoint,
        query: &Query,
        budget: &mut Budget<'_>,
        waiting: &[(SocketAddr, bool)],
    ) -> Result<Choice, ResolveError> {
        let limits = self.options.limits;
        let qtype = query.query_type();
        loop {
            let usable = |addrs: Vec<SocketAddr>| -> Vec<SocketAddr> {
                addrs
                    .into_iter()
                    .filter(|a| self.may_query(a.ip()) && !waiting.iter().any(|(w, _)| w == a))
                    .collect()
            };
            // Servers that have not failed yet come first; once every known one has
            // failed at least once, look up the addresses of the NS names we have
            // none for (a dead glued server must not hide a working glue-less one),
            // and only then retry the failed ones with a longer timeout.
            let mut candidates = usable(dp.candidates(1));
            if candidates.is_empty()
                && !dp.unresolved.is_empty()
                && self.resolve_more_servers(dp, budget).await
            {
                continue;
            }
            // Every server the child named has failed: the parent's NS and
            // glue come next (Unbound's parent-side last resort).
            if candidates.is_empty() && dp.fall_back_to_parent_side() {
                continue;
            }
            if candidates.is_empty() {
                candidates = usable(dp.candidates(MAX_FAILURES_PER_SERVER));
            }
            let now = Instant::now();
            let Some(choice) = self.infra.choose(&candidates, &dp.zone, qtype, now) else {
                return Err(if dp.addrs.is_empty() {
                    ResolveError::NoServers {
                        zone: dp.zone.to_string(),
                    }
                } else {
                    ResolveError::AllServersFailed {
                        zone: dp.zone.to_string(),
                    }
                });
            };
            // A prefetch is no demand (Unbound lets it through to keep
            // valid data cached), but it is sent, so it counts to the cap.
            let attempt = if budget.leeway > 0 {
                Attempt::Exempt
            } else {
                Attempt::Query
            };
            if !self.may_send(dp, query, attempt) {
                return Err(ResolveError::RateLimited {
                    zone: dp.zone.to_string(),
                });
            }
            if !budget.spend_query(limits.max_upstream_queries) {
                return Err(ResolveError::Limit("upstream queries"));
            }
            return Ok(choice);
        }
    }

    /// `ratelimit`: whether one more query may go to `dp`'s servers now
    /// (forwarders are exempt, as in Unbound); logs the query that takes the
    /// zone over its limit, as Unbound's "ratelimit exceeded" line.
    fn may_send(&self, dp: &DelegationPoint, query: &Query, attempt: Attempt) -> bool {
        let Some(limiter) = &self.ratelimit else {
            return true;
        };
        if dp.is_forward() {
            return true;
        }
        let admission = limiter.admit(&dp.zone, attempt, Instant::now());
        log_over_limit(&dp.zone, admission, query.name(), query.query_type());
        admission.send
    }

    /// How to ask `server`: its RTO, OPT unless it mishandles EDNS, RD for
    /// forwarders, TLS where configured.
    pub(super) fn options_for(&self, dp: &DelegationPoint, server: SocketAddr) -> QueryOptions {
        let now = Instant::now();
        let ip = server.ip();
        let tls_name = match &dp.kind {
            ServerKind::Forward { tls, .. } => tls.get(&server).cloned(),
            _ => None,
        };
        let mut options = QueryOptions {
            tcp: false,
            tls_name,
            timeout: self.infra.rto(ip, now),
            edns_payload: (!self.infra.no_edns(ip, now)).then_some(self.options.edns_payload),
            recursion_desired: dp.is_forward(),
            caps: false,
        };
        if options.tls_name.is_some() {
            options.timeout = options.timeout.max(Duration::from_secs(2));
        }
        options
    }

    /// RFC 7873 §5.3: a BADCOOKIE reply taught the transport the server's
    /// fresh cookie; the question is asked once more with it, as one more
    /// upstream query of the budget. None when the budget is spent or the
    /// server fails (recorded); a second BADCOOKIE is returned as it is.
    async fn again_with_new_cookie(
        &self,
        dp: &mut DelegationPoint,
        server: SocketAddr,
        query: &Query,
        options: &QueryOptions,
        budget: &Budget<'_>,
    ) -> Option<Message> {
        if !budget.spend_query(self.options.limits.max_upstream_queries) {
            return None;
        }
        match self.transport.exchange(server, query, options).await {
            Ok(again) => Some(again.message),
            Err(_) => {
                dp.failed(server);
                None
            }
        }
    }

    /// Takes the outcome of one open query: the usable reply (after the EDNS
    /// and TCP fallbacks), or None with the failure recorded.
    pub(super) async fn settle(
        &self,
        dp: &mut DelegationPoint,
        waiting: &mut Vec<(SocketAddr, bool)>,
        (server, mut options, result): Exchanged,
        query: &Query,
        budget: &Budget<'_>,
    ) -> Option<(Message, SocketAddr)> {
        let counted = waiting.iter().any(|(w, counted)| *w == server && *counted);
        waiting.retain(|(w, _)| *w != server);
        let reply = match result {
            Ok(reply) => reply,
            Err(TransportError::Timeout(_)) => {
                // Counted already when its RTO passed, unless the transport
                // gave up first.
                if !counted {
                    self.infra.record_timeout(server.ip(), Instant::now());
                    dp.failed(server);
                }
                return None;
            }
            Err(error) => {
                tracing::debug!(%server, %error, "query failed");
                if matches!(error, TransportError::CaseMismatch(_)) {
                    dp.caps_failed.push(server);
                }
                dp.exclude(server);
                return None;
            }
        };
        let limits = self.options.limits;
        let ip = server.ip();
        self.infra.record_rtt(ip, reply.rtt, Instant::now());
        let mut message = reply.message;
        if rejects_edns(&message) && options.edns_payload.is_some() {
            // RFC 6891 §7: a server that does not speak EDNS; ask again without
            // it, and remember it for infra-host-ttl when that works.
            options.edns_payload = None;
            if !self.may_send(dp, query, Attempt::Exempt)
                || !budget.spend_query(limits.max_upstream_queries)
            {
                return None;
            }
            match self.transport.exchange(server, query, &options).await {
                Ok(plain) => {
                    if !rejects_edns(&plain.message) {
                        self.infra.record_no_edns(ip, Instant::now());
                    }
                    message = plain.message;
                }
                Err(_) => {
                    dp.failed(server);
                    return None;
                }
            }
        }
        if message.metadata.response_code == ResponseCode::BADCOOKIE && !reply.stream {
            message = self
                .again_with_new_cookie(dp, server, query, &options, budget)
                .await?;
        }
        if message.metadata.truncation && !reply.stream {
            // RFC 7766: the full answer comes over TCP.
            options.tcp = true;
            options.timeout = options.timeout.max(Duration::from_secs(1)) * 3;
            if !self.may_send(dp, query, Attempt::Exempt)
                || !budget.spend_query(limits.max_upstream_queries)
            {
                return None;
            }
            match self.transport.exchange(server, query, &options).await {
                Ok(full) => message = full.message,
                Err(error) => {
                    tracing::debug!(%server, %error, "TCP retry after TC failed");
                    dp.failed(server);
                    return None;
                }
            }
        }
        Some((message, server))
    }

    /// Whether we may send to `ip` (family switches, do-not-query-localhost,
    /// do-not-query-address).
    pub(super) fn may_query(&self, ip: IpAddr) -> bool {
        let family_ok = if ip.is_ipv4() {
            self.options.do_ip4
        } else {
            self.options.do_ip6
        };
        family_ok
            && !(self.options.do_not_query_localhost && ip.is_loopback())
            && !self
                .options
                .do_not_query_address
                .iter()
                .any(|net| net.contains(&ip))
    }

    /// Looks up the addresses of more NS names of `dp` (glue-less delegation),
    /// up to PARALLEL_TARGETS names at once, A and AAAA each. Returns false
    /// when nothing more can be learned.
    pub(super) async fn resolve_more_servers(
        &self,
        dp: &mut DelegationPoint,
        budget: &mut Budget<'_>,
    ) -> bool {
        let max_depth = self.options.limits.max_ns_depth;
        // Each address family looked up counts as one fetch, so asking AAAA
        // beside A does not double what a referral to names that do not
        // exist (NXNS) can cost.
        let per_name = u8::from(self.options.do_ip4) + u8::from(self.options.do_ip6);
        while !dp.unresolved.is_empty() && dp.target_fetches < MAX_TARGET_FETCHES {
            let mut names: Vec<Name> = Vec::with_capacity(PARALLEL_TARGETS);
            while names.len() < PARALLEL_TARGETS
                && !dp.unresolved.is_empty()
                && dp.target_fetches < MAX_TARGET_FETCHES
            {
                dp.target_fetches = dp.target_fetches.saturating_add(per_name.max(1));
                let index = rand::random_range(0..dp.unresolved.len());
                let ns = dp.unresolved.swap_remove(index);
                if !budget.resolving_ns.contains(&ns) && budget.ns_depth < max_depth {
                    names.push(ns);
                }
            }
            if names.is_empty() {
                continue;
            }
            let (found, unfinished) = self.lookup_addresses(names, budget).await;
            // Names whose lookups were cut short may still be needed later.
            dp.unresolved.extend(unfinished);
            if !found.is_empty() {
                dp.add_addrs(found);
                return true;
            }
        }
        false
    }

    /// Resolves the addresses of `names` in parallel until one gives an
    /// address; returns the addresses and the names not fully looked up.
    async fn lookup_addresses(
        &self,
        names: Vec<Name>,
        budget: &mut Budget<'_>,
    ) -> (Vec<IpAddr>, Vec<Name>) {
        let families = [
            (RecordType::A, self.options.do_ip4),
            (RecordType::AAAA, self.options.do_ip6),
        ];
        let mut forks: Vec<Fork<'_>> = Vec::with_capacity(names.len() * families.len());
        for ns in &names {
            for (rtype, enabled) in families {
                if enabled {
                    forks.push(Fork {
                        ns: ns.clone(),
                        rtype,
                        budget: budget.fork(ns),
                        done: false,
                    });
                }
            }
        }
        let mut found = Vec::new();
        {
            let mut pending: FuturesUnordered<_> = forks
                .iter_mut()
                .map(|fork| async move {
                    let result = self
                        .resolve_with(fork.ns.clone(), fork.rtype, &mut fork.budget)
                        .await;
                    fork.done = true;
                    (fork.rtype, result, fork.budget.answered_by_glue)
                })
                .collect();
            while let Some((rtype, result, by_glue)) = pending.next().await {
                if let Ok(answer) = result {
                    found.extend(self.keep_addresses(&answer, rtype, !by_glue));
                }
                if !found.is_empty() {
                    break;
                }
            }
        }
        let base = budget.referrals;
        for fork in &forks {
            budget.referrals += fork.budget.referrals.saturating_sub(base);
        }
        let unfinished = names
            .into_iter()
            .filter(|ns| forks.iter().any(|f| !f.done && &f.ns == ns))
            .collect();
        (found, unfinished)
    }

    /// Returns the `rtype` addresses of an NS-name lookup, caching them as an
    /// answer when they are one (`cache`), not glue cached already.
    fn keep_addresses(&self, answer: &Answer, rtype: RecordType, cache: bool) -> Vec<IpAddr> {
        // Server addresses are what the RRset cache is for: keep them (final
        // answers of client queries live in the message cache).
        let addresses: Vec<Record> = answer
            .answers
            .iter()
            .filter(|r| crate::dnssec::rrset_type(r) == rtype)
            .cloned()
            .collect();
        if cache {
            for rrset in group_rrsets(&addresses) {
                self.rrsets.insert(rrset, Trust::Answer, Instant::now());
            }
        }
        addresses.iter().filter_map(record_ip).collect()
    }
}

/// FORMERR or NOTIMP: what servers that do not speak EDNS answer to an OPT.
fn rejects_edns(message: &Message) -> bool {
    matches!(
        message.metadata.response_code,
        ResponseCode::FormErr | ResponseCode::NotImp
    )
}

/// Unbound's "ratelimit exceeded" line, for the query that took `zone` over
/// its limit.
pub(super) fn log_over_limit(zone: &Name, admission: Admission, name: &Name, qtype: RecordType) {
    if let Some(limit) = admission.first_over {
        tracing::info!("ratelimit exceeded {zone} {limit} query {name} IN {qtype}");
    }
}
