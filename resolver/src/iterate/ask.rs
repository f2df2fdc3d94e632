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
use super::{group_rrsets, record_ip, Answer, Recursor};
use crate::cache::Trust;
use crate::error::{ResolveError, TransportError};
use crate::transport::{QueryOptions, Transport};

/// A server address that failed this often (timeouts, errors) is not asked again
/// in this resolution; the RTO doubles after each timeout (Unbound's
/// outbound-msg-retry: 5).
const MAX_FAILURES_PER_SERVER: u8 = 5;

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
        }
    }

    /// Counts one upstream query: false once the limit is spent.
    fn spend_query(&self, limit: u32) -> bool {
        self.queries.fetch_add(1, Ordering::Relaxed) < limit
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
        }
    }
}

/// One NS-address lookup of a parallel batch.
struct Fork<'q> {
    ns: Name,
    rtype: RecordType,
    budget: Budget<'q>,
    done: bool,
}

impl<T: Transport> Recursor<T> {
    /// Asks the servers of `dp` until one gives a usable reply.
    pub(super) async fn ask_zone(
        &self,
        dp: &mut DelegationPoint,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget<'_>,
    ) -> Result<(Message, SocketAddr), ResolveError> {
        let limits = self.options.limits;
        let query = {
            let mut q = Query::query(name.clone(), qtype);
            q.set_query_class(DNSClass::IN);
            q
        };
        loop {
            let now = Instant::now();
            let usable = |addrs: Vec<SocketAddr>| -> Vec<SocketAddr> {
                addrs
                    .into_iter()
                    .filter(|a| self.may_query(a.ip()))
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
            let Some(server) = self.infra.select(&candidates, &dp.zone, qtype, now) else {
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
            if !budget.spend_query(limits.max_upstream_queries) {
                return Err(ResolveError::Limit("upstream queries"));
            }
            if let Some(message) = self.exchange(dp, server, &query, budget).await {
                return Ok((message, server));
            }
        }
    }

    /// One exchange with `server`, with the EDNS and TCP fallbacks; None when
    /// the server failed (recorded in `dp` and the infra cache).
    async fn exchange(
        &self,
        dp: &mut DelegationPoint,
        server: SocketAddr,
        query: &Query,
        budget: &Budget<'_>,
    ) -> Option<Message> {
        let limits = self.options.limits;
        let ip = server.ip();
        let now = Instant::now();
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
        };
        if options.tls_name.is_some() {
            options.timeout = options.timeout.max(Duration::from_secs(2));
        }
        let reply = match self.transport.exchange(server, query, &options).await {
            Ok(reply) => reply,
            Err(TransportError::Timeout(_)) => {
                self.infra.record_timeout(ip, Instant::now());
                dp.failed(server);
                return None;
            }
            Err(error) => {
                tracing::debug!(%server, %error, "query failed");
                dp.exclude(server);
                return None;
            }
        };
        self.infra.record_rtt(ip, reply.rtt, Instant::now());
        let mut message = reply.message;
        if rejects_edns(&message) && options.edns_payload.is_some() {
            // RFC 6891 §7: a server that does not speak EDNS; ask again without
            // it, and remember it for infra-host-ttl when that works.
            options.edns_payload = None;
            if !budget.spend_query(limits.max_upstream_queries) {
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
        if message.metadata.truncation && !reply.stream {
            // RFC 7766: the full answer comes over TCP.
            options.tcp = true;
            options.timeout = options.timeout.max(Duration::from_secs(1)) * 3;
            if !budget.spend_query(limits.max_upstream_queries) {
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
        Some(message)
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
                    (fork.rtype, result)
                })
                .collect();
            while let Some((rtype, result)) = pending.next().await {
                if let Ok(answer) = result {
                    found.extend(self.keep_addresses(&answer, rtype));
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

    /// Caches the `rtype` addresses of an NS-name lookup and returns them.
    fn keep_addresses(&self, answer: &Answer, rtype: RecordType) -> Vec<IpAddr> {
        // Server addresses are what the RRset cache is for: keep them (final
        // answers of client queries live in the message cache).
        let addresses: Vec<Record> = answer
            .answers
            .iter()
            .filter(|r| crate::dnssec::rrset_type(r) == rtype)
            .cloned()
            .collect();
        for rrset in group_rrsets(&addresses) {
            self.rrsets.insert(rrset, Trust::Answer, Instant::now());
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
