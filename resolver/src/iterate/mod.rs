//! The iterator: resolves a question from the root (or a forward/stub zone) down,
//! following referrals, CNAME and DNAME chains, and glue-less NS names.
//!
//! `Recursor::resolve(name, type, now)` runs one resolution under per-query work
//! limits (upstream queries, referrals, chain length, NS-lookup depth, wall time).
//! Server choice follows measured RTT (`infra`), replies are classified into
//! [`step::Step`] values, and only in-bailiwick data is cached.

mod ask;
mod caps;
pub mod delegation;
pub mod hints;
pub mod infra;
pub mod learn;
pub mod nocut;
pub mod private;
mod referral_path;
mod shared;
pub mod step;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_delegation;
#[cfg(test)]
mod tests_hardening;
#[cfg(test)]
mod tests_infra;
#[cfg(test)]
mod tests_ratelimit;
#[cfg(test)]
mod tests_replies;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::time::{timeout_at, Instant};

use crate::cache::{RrsetCache, Trust};
use crate::config::{Config, WorkLimits};
use crate::error::ResolveError;
use crate::ratelimit::ZoneLimiter;
use crate::transport::Transport;
use ask::Budget;
use delegation::{DelegationPoint, ServerKind};
use hints::RootHints;
use infra::Infra;
use private::PrivateAddresses;
use step::{classify, LameReason, Step};

/// The outcome of a resolution, ready to become a response.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// NOERROR or NXDOMAIN.
    pub rcode: ResponseCode,
    /// Answer section: chain records and the final RRset.
    pub answers: Vec<Record>,
    /// Authority section: the SOA of a negative answer, and the DNSSEC proofs
    /// (NSEC/NSEC3, RRSIGs) the servers sent.
    pub authorities: Vec<Record>,
}

/// Iteration settings taken from the config.
#[derive(Clone, Debug)]
pub struct IterOptions {
    /// `qname-minimisation`.
    pub qname_minimisation: bool,
    /// `qname-minimisation-strict`.
    pub qname_minimisation_strict: bool,
    /// `do-not-query-localhost`.
    pub do_not_query_localhost: bool,
    /// `do-not-query-address` netblocks.
    pub do_not_query_address: Vec<ipnet::IpNet>,
    /// `do-ip4` (for outgoing queries).
    pub do_ip4: bool,
    /// `do-ip6` (for outgoing queries).
    pub do_ip6: bool,
    /// `edns-buffer-size` advertised upstream.
    pub edns_payload: u16,
    /// Per-query work limits.
    pub limits: WorkLimits,
    /// `private-address` / `private-domain` (DNS-rebinding protection).
    pub private: PrivateAddresses,
    /// `harden-glue`: off keeps a referral's out-of-bailiwick glue.
    pub harden_glue: bool,
    /// `harden-referral-path`: cache a zone's NS set only from its own servers.
    pub harden_referral_path: bool,
    /// `use-caps-for-id` (0x20).
    pub use_caps_for_id: bool,
    /// `caps-exempt` names (no 0x20 at or below them).
    pub caps_exempt: Vec<Name>,
}

impl IterOptions {
    /// From the runtime config.
    pub fn from_config(config: &Config) -> Self {
        let server = &config.server;
        Self {
            qname_minimisation: server.qname_minimisation,
            qname_minimisation_strict: server.qname_minimisation_strict,
            do_not_query_localhost: server.do_not_query_localhost,
            do_not_query_address: server.do_not_query_address.clone(),
            do_ip4: server.do_ip4,
            do_ip6: server.do_ip6,
            edns_payload: server.edns_buffer_size,
            limits: server.limits,
            private: PrivateAddresses::new(
                server.private_address.clone(),
                server.private_domain.clone(),
            ),
            harden_glue: server.harden_glue,
            harden_referral_path: server.harden_referral_path,
            use_caps_for_id: server.use_caps_for_id,
            caps_exempt: server.caps_exempt.clone(),
        }
    }
}

/// A forward or stub zone from the config.
#[derive(Clone, Debug)]
struct ConfiguredZone {
    zone: Name,
    addrs: Vec<SocketAddr>,
    hosts: Vec<Name>,
    kind: ServerKind,
}

/// Where a resolution starts: see [`Recursor::closest_cut`].
enum Cut<'a> {
    /// A configured forward or stub zone.
    Configured(&'a ConfiguredZone),
    /// A cached NS set: the zone it is for, and the set.
    Cached(Name, std::sync::Arc<crate::cache::RrsetEntry>),
    /// Nothing closer: the root hints.
    Root,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Entirely empty NOERROR replies (no SOA) taken before one is accepted as
/// NODATA (Unbound's EMPTY_NODATA_RETRY_COUNT): the first sends us to another
/// server.
const EMPTY_NODATA_RETRY_COUNT: u8 = 2;

/// RFC 9156 §2.3: at most this many minimised queries per zone; the first
/// MINIMISE_ONE_LAB add one label each, later ones take bigger strides.
const MAX_MINIMISE_COUNT: u8 = 10;
/// See MAX_MINIMISE_COUNT.
const MINIMISE_ONE_LAB: u8 = 4;

/// The number of labels of the next minimised name (RFC 9156 §2.3, Unbound's scheme).
fn next_qmin_labels(current: u8, full: u8, steps: u8) -> u8 {
    if steps >= MAX_MINIMISE_COUNT || current >= full {
        return full;
    }
    let remaining = full - current;
    let stride = if steps < MINIMISE_ONE_LAB {
        1
    } else {
        let left = MAX_MINIMISE_COUNT - steps;
        remaining.div_ceil(left).max(1)
    };
    current.saturating_add(stride).min(full)
}

/// The recursive resolver engine.
pub struct Recursor<T: Transport> {
    transport: T,
    /// What iteration learned.
    pub rrsets: RrsetCache,
    /// Per-server RTT and lameness.
    pub infra: Arc<Infra>,
    hints: RootHints,
    zones: Vec<ConfiguredZone>,
    options: IterOptions,
    /// Names minimised queries found to be no zone cut.
    no_cuts: nocut::NoCuts,
    /// Each delegation as the parent gave it, for when the child's servers fail.
    parent_side: learn::ParentSide,
    /// Upstream questions in flight, asked once for every resolution needing them.
    shared: shared::SharedQuestions,
    /// `ratelimit`: queries sent per zone; None when off.
    ratelimit: Option<ZoneLimiter>,
}

impl<T: Transport> std::fmt::Debug for Recursor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recursor")
            .field("zones", &self.zones.len())
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Recursor<T> {
    /// Builds the engine from config pieces.
    pub fn new(
        transport: T,
        rrsets: RrsetCache,
        infra: Arc<Infra>,
        hints: RootHints,
        config: &Config,
    ) -> Self {
        let mut zones = Vec::new();
        for forward in &config.forward_zones {
            let tls = if forward.tls_upstream {
                forward
                    .addrs
                    .iter()
                    .map(|a| {
                        (
                            a.addr,
                            a.tls_name
                                .clone()
                                .unwrap_or_else(|| a.addr.ip().to_string()),
                        )
                    })
                    .collect()
            } else {
                HashMap::new()
            };
            zones.push(ConfiguredZone {
                zone: forward.name.clone(),
                addrs: forward.addrs.iter().map(|a| a.addr).collect(),
                hosts: forward.hosts.iter().map(|h| h.name.clone()).collect(),
                kind: ServerKind::Forward {
                    first: forward.first,
                    tls,
                },
            });
        }
        for stub in &config.stub_zones {
            zones.push(ConfiguredZone {
                zone: stub.name.clone(),
                addrs: stub.addrs.iter().map(|a| a.addr).collect(),
                hosts: stub.hosts.iter().map(|h| h.name.clone()).collect(),
                kind: ServerKind::Stub { first: stub.first },
            });
        }
        // Deepest zone first, so the first match is the longest.
        zones.sort_by_key(|z| std::cmp::Reverse(z.zone.num_labels()));
        Self {
            transport,
            rrsets,
            infra,
            hints,
            zones,
            options: IterOptions::from_config(config),
            no_cuts: nocut::NoCuts::default(),
            parent_side: learn::ParentSide::default(),
            shared: shared::SharedQuestions::default(),
            ratelimit: None,
        }
    }

    /// Limits the queries sent to each zone's servers (`ratelimit`).
    pub fn with_zone_ratelimit(mut self, limiter: Option<ZoneLimiter>) -> Self {
        self.ratelimit = limiter;
        self
    }

    /// `ratelimit`, before any resolution work: true when (`name`, `qtype`)
    /// would have to be asked of a zone whose send cap is spent right now
    /// (nothing cached answers it, no forwarder serves it), so the query can
    /// be answered SERVFAIL at once. Under a random-subdomain flood this
    /// keeps the flood's names from each taking a resolution task only to
    /// meet the limit at the send point; counted, demand included, as there.
    pub fn rate_limited_now(&self, name: &Name, qtype: RecordType) -> bool {
        let Some(limiter) = &self.ratelimit else {
            return false;
        };
        let now = Instant::now();
        let cached = |rtype| self.rrsets.get(name, rtype, Trust::Answer, now).is_some();
        if cached(qtype) || cached(RecordType::CNAME) {
            return false;
        }
        let zone = match self.closest_cut(name, qtype, true, now) {
            Cut::Configured(configured)
                if matches!(configured.kind, ServerKind::Forward { .. }) =>
            {
                return false;
            }
            Cut::Configured(configured) => configured.zone.clone(),
            Cut::Cached(zone, _) => zone,
            Cut::Root => Name::root(),
        };
        match limiter.refuse_while_spent(&zone, now) {
            Some(admission) => {
                ask::log_over_limit(&zone, admission, name, qtype);
                true
            }
            None => false,
        }
    }

    /// Resolves (`name`, `qtype`) within the configured time budget.
    pub async fn resolve(&self, name: &Name, qtype: RecordType) -> Result<Answer, ResolveError> {
        self.resolve_with_leeway(name, qtype, 0).await
    }

    /// Like [`Recursor::resolve`], but cached RRsets with `leeway` seconds or
    /// fewer left are ignored (Unbound's prefetch leeway).
    pub async fn resolve_with_leeway(
        &self,
        name: &Name,
        qtype: RecordType,
        leeway: u32,
    ) -> Result<Answer, ResolveError> {
        let deadline = Instant::now() + self.options.limits.resolution_timeout;
        let queries = AtomicU32::new(0);
        let mut budget = Budget::new(leeway, &queries);
        timeout_at(
            deadline,
            self.resolve_with(name.clone(), qtype, &mut budget),
        )
        .await
        .map_err(|_| ResolveError::Timeout)?
    }

    fn resolve_with<'a>(
        &'a self,
        qname: Name,
        qtype: RecordType,
        budget: &'a mut Budget<'_>,
    ) -> BoxFuture<'a, Result<Answer, ResolveError>> {
        Box::pin(async move {
            let mut chain: Vec<Record> = Vec::new();
            // Proofs gathered along the chain (a wildcard CNAME's NSEC in one
            // zone, the denial in the last), for the authority section.
            let mut proofs: Vec<Record> = Vec::new();
            let mut name = qname.clone();
            let max_chain = self.options.limits.max_cname_chain;
            for _ in 0..=max_chain {
                let now = Instant::now();
                let usable = |entry: &std::sync::Arc<crate::cache::RrsetEntry>| {
                    entry
                        .remaining(now)
                        .is_some_and(|left| left > budget.leeway)
                };
                if let Some(entry) = self
                    .rrsets
                    .get(&name, qtype, Trust::Answer, now)
                    .filter(usable)
                {
                    chain.extend(entry.records_at(now));
                    return Ok(Answer {
                        rcode: ResponseCode::NoError,
                        answers: chain,
                        authorities: proofs,
                    });
                }
                if qtype != RecordType::CNAME {
                    if let Some(entry) = self
                        .rrsets
                        .get(&name, RecordType::CNAME, Trust::Answer, now)
                        .filter(usable)
                    {
                        let target = entry.records.iter().find_map(|r| match &r.data {
                            RData::CNAME(c) => Some(c.0.clone()),
                            _ => None,
                        });
                        if let Some(target) = target {
                            chain.extend(entry.records_at(now));
                            name = target;
                            continue;
                        }
                    }
                }
                match self.iterate(&name, qtype, budget).await? {
                    Step::Answer { records, proof } => {
                        // An NS-address lookup's addresses are kept (or
                        // not, when they are glue) by the lookup itself.
                        if !budget.is_address_lookup() {
                            self.cache_chain_target(&qname, &records, Instant::now());
                        }
                        chain.extend(records);
                        proofs.extend(proof);
                        return Ok(Answer {
                            rcode: ResponseCode::NoError,
                            answers: chain,
                            authorities: proofs,
                        });
                    }
                    Step::Cname {
                        records,
                        target,
                        proof,
                    } => {
                        if chain.iter().chain(records.iter()).any(|r| r.name == target) {
                            return Err(ResolveError::Limit("CNAME loop"));
                        }
                        chain.extend(records);
                        proofs.extend(proof);
                        name = target;
                    }
                    Step::NoData {
                        records,
                        soa,
                        proof,
                    } => {
                        chain.extend(records);
                        let mut authorities: Vec<Record> = soa.into_iter().collect();
                        authorities.extend(proofs);
                        authorities.extend(proof);
                        return Ok(Answer {
                            rcode: ResponseCode::NoError,
                            answers: chain,
                            authorities,
                        });
                    }
                    Step::NxDomain {
                        records,
                        soa,
                        proof,
                    } => {
                        chain.extend(records);
                        let mut authorities: Vec<Record> = soa.into_iter().collect();
                        authorities.extend(proofs);
                        authorities.extend(proof);
                        return Ok(Answer {
                            rcode: ResponseCode::NXDomain,
                            answers: chain,
                            authorities,
                        });
                    }
                    Step::Referral { .. } | Step::Lame(_) => {
                        return Err(ResolveError::AllServersFailed {
                            zone: name.to_string(),
                        });
                    }
                }
            }
            Err(ResolveError::Limit("CNAME chain"))
        })
    }

    /// Iterates for one name until a final step (never Referral or Lame).
    async fn iterate(
        &self,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget<'_>,
    ) -> Result<Step, ResolveError> {
        let mut dp = self.find_delegation(name, qtype, true);
        match self.iterate_from(&mut dp, name, qtype, budget).await {
            Err(error) if dp.falls_back() => {
                tracing::debug!(zone = %dp.zone, %error, "forward/stub failed; falling back to iteration");
                let mut dp = self.find_delegation(name, qtype, false);
                self.iterate_from(&mut dp, name, qtype, budget).await
            }
            other => other,
        }
    }

    async fn iterate_from(
        &self,
        dp: &mut DelegationPoint,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget<'_>,
    ) -> Result<Step, ResolveError> {
        let limits = self.options.limits;
        let mut minimise = self.options.qname_minimisation && !dp.is_forward();
        let mut qmin_labels = dp.zone.num_labels();
        let mut qmin_steps = 0u8;
        let mut empty_replies = 0u8;
        // harden-referral-path: the zone a referral led to, whose NS set is
        // fetched beside the next query to it.
        let mut ns_check: Option<DelegationPoint> = None;
        loop {
            if minimise {
                qmin_labels = next_qmin_labels(qmin_labels, name.num_labels(), qmin_steps);
                qmin_steps = qmin_steps.saturating_add(1);
                // A name this zone already answered for itself is no cut:
                // go one label further without asking again.
                let now = Instant::now();
                while qmin_labels < name.num_labels()
                    && self
                        .no_cuts
                        .contains(&name.trim_to(usize::from(qmin_labels)), now)
                {
                    qmin_labels += 1;
                }
            }
            let full = !minimise || qmin_labels >= name.num_labels();
            let (ask_name, ask_type) = if full {
                (name.clone(), qtype)
            } else {
                (name.trim_to(usize::from(qmin_labels)), RecordType::A)
            };
            let (mut reply, server) = match ns_check.take() {
                Some(check) => {
                    self.ask_beside_referral_check(dp, &ask_name, ask_type, budget, check, qtype)
                        .await?
                }
                None => self.ask_shared(dp, &ask_name, ask_type, budget).await?,
            };
            // Unbound scrubs every upstream reply before classifying it.
            let scrubbed = self.options.private.scrub(&mut reply);
            // Data is trusted only within the zone the servers were asked as,
            // forwarders included (a forwarder for example.org vouches for
            // example.org, not for com.); only `forward-zone: "."` covers all.
            let step = match classify(
                &reply,
                &dp.zone,
                &ask_name,
                ask_type,
                limits.max_cname_chain,
            ) {
                // An answer whose every address was private is NOERROR with no
                // data (iter_resptype.c: an emptied message is an ANSWER, from a
                // forwarder as from an authority), not a lame server.
                Step::Lame(LameReason::Empty) if scrubbed.answers > 0 => Step::NoData {
                    records: Vec::new(),
                    soa: None,
                    proof: Vec::new(),
                },
                step => step,
            };
            // iter_resptype.c: an entirely empty NOERROR (no SOA) is taken as
            // NODATA only once another server said the same, or none is left
            // (the one asked is put last, not marked lame).
            if full && step.is_empty_nodata(&reply, &dp.zone) && scrubbed.answers == 0 {
                empty_replies += 1;
                if empty_replies < EMPTY_NODATA_RETRY_COUNT {
                    tracing::debug!(%server, zone = %dp.zone, "empty reply; asking another server");
                    dp.failed(server);
                    continue;
                }
            }
            let now = Instant::now();
            if dp.kind == ServerKind::Iterative
                && !matches!(step, Step::Referral { .. } | Step::Lame(_))
            {
                self.keep_child_ns(&reply, &dp.zone, now);
            }
            match step {
                Step::Lame(reason) if !full && !self.options.qname_minimisation_strict => {
                    // Relaxed QNAME minimisation (Unbound's default): a server that
                    // chokes on the minimised name gets the full name instead.
                    tracing::debug!(%server, zone = %dp.zone, ?reason, "minimised query failed; asking the full name");
                    minimise = false;
                    continue;
                }
                Step::Lame(reason) => {
                    tracing::debug!(%server, zone = %dp.zone, ?reason, "lame server");
                    // A forwarder's odd reply is thrown away for this query only
                    // (Unbound: THROWAWAY when RD was set), not remembered as lame.
                    if !dp.is_forward() {
                        self.infra.mark_lame(server.ip(), &dp.zone, ask_type, now);
                    }
                    dp.exclude(server);
                    continue;
                }
                Step::Referral { zone, ns, glue } => {
                    if dp.is_forward() {
                        dp.exclude(server);
                        continue;
                    }
                    budget.referrals += 1;
                    if budget.referrals > limits.max_referrals {
                        return Err(ResolveError::Limit("referrals"));
                    }
                    let store = self.stores_referral(&zone, name, qtype);
                    if store {
                        self.cache_referral(&zone, &ns, &glue, now);
                    } else {
                        self.parent_side.store(&zone, &ns, &glue, now);
                    }
                    if let Some(records) = glue_answer(budget, &zone, name, qtype, &glue) {
                        budget.answered_by_glue = true;
                        return Ok(Step::Answer {
                            records,
                            proof: Vec::new(),
                        });
                    }
                    let mut glue = glue;
                    if !self.options.harden_glue {
                        let foreign = learn::foreign_glue(&reply, &dp.zone, &ns);
                        for rrset in group_rrsets(&foreign).into_iter().filter(|_| store) {
                            self.rrsets.insert(rrset, Trust::ForeignGlue, now);
                        }
                        glue.extend(foreign);
                    }
                    *dp = self.delegation_from(&zone, &ns, &glue, now);
                    if !store {
                        ns_check = Some(dp.clone());
                    }
                    qmin_labels = dp.zone.num_labels();
                    qmin_steps = 0;
                    continue;
                }
                Step::Answer { .. } | Step::Cname { .. } | Step::NoData { .. } if !full => {
                    // The zone answered for the minimised name itself: no cut
                    // there, for as long as that answer may be cached.
                    self.no_cuts.insert(&ask_name, step_ttl(&step), now);
                    continue;
                }
                _ if !full => {
                    // A minimised query: only referrals matter. NXDOMAIN for an
                    // ancestor means nothing below exists (RFC 8020) in strict mode;
                    // relaxed mode (Unbound's default) asks the full name instead,
                    // since some servers answer NXDOMAIN for empty non-terminals.
                    if let Step::NxDomain { soa, proof, .. } = &step {
                        if self.options.qname_minimisation_strict {
                            return Ok(Step::NxDomain {
                                records: Vec::new(),
                                soa: soa.clone(),
                                proof: proof.clone(),
                            });
                        }
                        minimise = false;
                    }
                    continue;
                }
                final_step => {
                    self.cache_final(&final_step, now);
                    return Ok(final_step);
                }
            }
        }
    }

    /// The closest delegation for `name`: a configured forward/stub zone, a
    /// cached NS set, or the root hints.
    fn find_delegation(
        &self,
        name: &Name,
        qtype: RecordType,
        use_configured: bool,
    ) -> DelegationPoint {
        let now = Instant::now();
        match self.closest_cut(name, qtype, use_configured, now) {
            Cut::Configured(zone) => self.configured_delegation(zone, now),
            Cut::Cached(zone, ns) => {
                let mut dp = self.delegation_from(&zone, &ns.records, &[], now);
                dp.parent_side = self.parent_side.get(&zone, now);
                dp
            }
            Cut::Root => {
                let addrs = self
                    .hints
                    .addrs
                    .iter()
                    .map(|(_, ip)| SocketAddr::new(*ip, 53))
                    .collect();
                DelegationPoint::new(Name::root(), addrs, Vec::new(), ServerKind::Iterative)
            }
        }
    }

    /// Where [`Recursor::find_delegation`] starts for `name`, without building
    /// the delegation point: the configured forward zone it falls in, else
    /// the deepest cached NS set that is of use (above a configured stub
    /// zone's cut, that zone), else the root.
    fn closest_cut(
        &self,
        name: &Name,
        qtype: RecordType,
        use_configured: bool,
        now: Instant,
    ) -> Cut<'_> {
        let configured = if use_configured {
            self.zones.iter().find(|z| z.zone.zone_of(name))
        } else {
            None
        };
        if let Some(zone) = configured.filter(|z| matches!(z.kind, ServerKind::Forward { .. })) {
            // Everything at or below a forward zone goes to the forwarders, whatever
            // delegations the cache has seen below it.
            return Cut::Configured(zone);
        }
        // DS lives in the parent zone (RFC 4035 §3.1.4.1): start the search above it.
        let mut ancestor = if qtype == RecordType::DS && !name.is_root() {
            name.base_name()
        } else {
            name.clone()
        };
        let floor = configured.map_or(0, |z| z.zone.num_labels());
        loop {
            if ancestor.num_labels() < floor
                || (ancestor.num_labels() == floor && configured.is_some())
            {
                break;
            }
            if let Some(ns) = self
                .rrsets
                .get(&ancestor, RecordType::NS, Trust::Referral, now)
            {
                if !self.is_useless_cut(&ancestor, &ns.records, now) {
                    return Cut::Cached(ancestor, ns);
                }
            }
            if ancestor.is_root() {
                break;
            }
            ancestor = ancestor.base_name();
        }
        configured.map_or(Cut::Root, Cut::Configured)
    }

    /// Unbound's iter_dp_is_useless: no address known for any NS name, and
    /// every NS name inside the zone itself, so the addresses could only come
    /// from glue we no longer have; the parent is asked again instead.
    fn is_useless_cut(&self, zone: &Name, ns: &[Record], now: Instant) -> bool {
        ns.iter().all(|record| match &record.data {
            RData::NS(target) => zone.zone_of(&target.0) && !self.has_cached_addr(&target.0, now),
            _ => true,
        })
    }

    /// True when an address of `host` is cached.
    fn has_cached_addr(&self, host: &Name, now: Instant) -> bool {
        self.cached_addr_sets(host, now)
            .any(|entry| entry.records.iter().any(|r| record_ip(r).is_some()))
    }

    /// The delegation point of a forward or stub zone from the config.
    fn configured_delegation(&self, zone: &ConfiguredZone, now: Instant) -> DelegationPoint {
        let mut dp = DelegationPoint::new(
            zone.zone.clone(),
            zone.addrs.clone(),
            zone.hosts.clone(),
            zone.kind.clone(),
        );
        // Forward/stub host names are resolved from their cached addresses when known.
        let known: Vec<IpAddr> = zone
            .hosts
            .iter()
            .flat_map(|h| self.cached_addrs(h, now))
            .collect();
        dp.add_addrs(known);
        dp
    }

    fn delegation_from(
        &self,
        zone: &Name,
        ns: &[Record],
        glue: &[Record],
        now: Instant,
    ) -> DelegationPoint {
        let mut addrs = Vec::new();
        let mut unresolved = Vec::new();
        for record in ns {
            let RData::NS(target) = &record.data else {
                continue;
            };
            let mut ips: Vec<IpAddr> = glue
                .iter()
                .filter(|g| g.name == target.0)
                .filter_map(record_ip)
                .collect();
            if ips.is_empty() {
                ips = self.cached_addrs(&target.0, now);
            }
            if ips.is_empty() {
                unresolved.push(target.0.clone());
            }
            for ip in ips {
                let addr = SocketAddr::new(ip, 53);
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
        }
        let mut dp = DelegationPoint::new(zone.clone(), addrs, unresolved, ServerKind::Iterative);
        dp.known_names = ns
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(target) => Some(target.0.clone()),
                _ => None,
            })
            .collect();
        dp
    }

    fn cached_addrs(&self, name: &Name, now: Instant) -> Vec<IpAddr> {
        self.cached_addr_sets(name, now)
            .flat_map(|entry| {
                entry
                    .records
                    .iter()
                    .filter_map(record_ip)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The cached A then AAAA RRsets of `name` (glue included), looked up as
    /// they are taken.
    fn cached_addr_sets<'a>(
        &'a self,
        name: &'a Name,
        now: Instant,
    ) -> impl Iterator<Item = std::sync::Arc<crate::cache::RrsetEntry>> + 'a {
        [RecordType::A, RecordType::AAAA]
            .into_iter()
            .filter_map(move |t| self.rrsets.get(name, t, Trust::ForeignGlue, now))
    }

    /// Keeps a referral to `zone`: its NS set (until the child's own replaces
    /// it), its glue, and both again as the parent-side copy.
    fn cache_referral(&self, zone: &Name, ns: &[Record], glue: &[Record], now: Instant) {
        self.rrsets.insert(ns.to_vec(), Trust::Referral, now);
        for rrset in group_rrsets(glue) {
            self.rrsets.insert(rrset, Trust::Glue, now);
        }
        self.parent_side.store(zone, ns, glue, now);
    }

    /// The child's own NS set in an authoritative reply from one of its
    /// servers replaces the parent's copy (RFC 2181 §5.4.1 ranking), with the
    /// in-zone addresses of those servers the reply carried.
    fn keep_child_ns(&self, reply: &hickory_proto::op::Message, zone: &Name, now: Instant) {
        let Some((ns, addrs)) = learn::child_ns(reply, zone) else {
            return;
        };
        self.rrsets.insert(ns, Trust::Answer, now);
        for rrset in group_rrsets(&addrs) {
            self.rrsets.insert(rrset, Trust::AuthAdditional, now);
        }
    }

    /// Keeps what iteration reuses: NS sets and CNAME/DNAME links (so chains
    /// through popular aliases are not re-walked). Final answers are not copied
    /// here (but see [`Self::cache_chain_target`]): the message cache holds
    /// them as compact wire, and a hickory Record costs ~270 bytes before its
    /// heap data. Wildcard expansions stay out: they need their proof.
    fn cache_final(&self, step: &Step, now: Instant) {
        let records = match step {
            Step::Answer { records, .. } | Step::Cname { records, .. } => records,
            Step::NoData { records, .. } | Step::NxDomain { records, .. } => records,
            _ => return,
        };
        self.cache_answer_rrsets(records, now, |r| {
            matches!(
                r.record_type(),
                RecordType::CNAME | RecordType::DNAME | RecordType::NS
            )
        });
    }

    /// Keeps the answer RRsets of a CNAME chain's target (any owner but the
    /// name asked) in the RRset cache. The final answer to the name asked
    /// lives in the message cache only, but a target is shared by every name
    /// that points at it (a CDN's edge name), and the next chain to reach it
    /// finds it here instead of asking again.
    fn cache_chain_target(&self, asked: &Name, records: &[Record], now: Instant) {
        self.cache_answer_rrsets(records, now, |r| {
            r.record_type() != RecordType::CNAME && r.name != *asked
        });
    }

    /// Caches at answer trust each RRset of `records` whose first record
    /// `keep` accepts, except wildcard expansions (valid only with their
    /// proof, which the RRset cache does not hold).
    fn cache_answer_rrsets(
        &self,
        records: &[Record],
        now: Instant,
        keep: impl Fn(&Record) -> bool,
    ) {
        for rrset in group_rrsets(records) {
            if rrset.first().is_some_and(&keep) && !crate::dnssec::is_wildcard_expansion(&rrset) {
                self.rrsets.insert(rrset, Trust::Answer, now);
            }
        }
    }

    /// Number of servers in the infra cache.
    pub fn infra_len(&self) -> usize {
        self.infra.len()
    }
}

/// An NS-address lookup is done once a referral to a zone holding the name
/// carries the address as glue: Unbound and Knot Resolver take a server's
/// address from any referral's glue, and asking the child for it again would
/// cost a query and a round trip. In-bailiwick glue only; None for a client's
/// question, which needs the child's authoritative answer.
fn glue_answer(
    budget: &Budget<'_>,
    zone: &Name,
    name: &Name,
    qtype: RecordType,
    glue: &[Record],
) -> Option<Vec<Record>> {
    if !budget.is_address_lookup() || !zone.zone_of(name) {
        return None;
    }
    let records: Vec<Record> = glue
        .iter()
        .filter(|r| r.record_type() == qtype && r.name == *name)
        .cloned()
        .collect();
    (!records.is_empty()).then_some(records)
}

/// How long a final step may be cached: its records' smallest TTL, or for
/// NODATA the SOA's (RFC 2308 §5).
fn step_ttl(step: &Step) -> u32 {
    let records = match step {
        Step::Answer { records, .. } | Step::Cname { records, .. } => records,
        Step::NoData { soa, .. } => {
            return soa.as_ref().map_or(0, |soa| match &soa.data {
                RData::SOA(data) => soa.ttl.min(data.minimum),
                _ => 0,
            });
        }
        _ => return 0,
    };
    records.iter().map(|r| r.ttl).min().unwrap_or(0)
}

/// The address in an A or AAAA record.
fn record_ip(record: &Record) -> Option<IpAddr> {
    match &record.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
        _ => None,
    }
}

/// Splits records into RRsets (same owner and type), keeping order. An RRSIG
/// joins the RRset it signs, after its records; signatures whose RRset is not
/// in `records` are dropped (a set of signatures alone is not an RRset to cache).
pub fn group_rrsets(records: &[Record]) -> Vec<Vec<Record>> {
    let mut sets: Vec<Vec<Record>> = Vec::new();
    for record in records {
        let rtype = crate::dnssec::rrset_type(record);
        match sets.iter_mut().find(|set| {
            set.first().is_some_and(|first| {
                first.name == record.name && crate::dnssec::rrset_type(first) == rtype
            })
        }) {
            Some(set) => set.push(record.clone()),
            None => sets.push(vec![record.clone()]),
        }
    }
    for set in &mut sets {
        // Stable: data first in received order, then its signatures.
        set.sort_by_key(|r| r.record_type() == RecordType::RRSIG);
    }
    sets.retain(|set| {
        set.first()
            .is_some_and(|r| r.record_type() != RecordType::RRSIG)
    });
    sets
}
