//! The chain of trust (RFC 4035 §5.1-5.2) and the key cache.
//!
//! From the closest trust anchor, walk down toward a signer one label at a
//! time: ask for the DS of the next name (answered by the zone we hold keys
//! for), then either the DS set is there and verified (fetch and verify the
//! child's DNSKEY set: a new secure zone), or NSEC/NSEC3 prove there is no DS
//! (an insecure delegation ends the walk; a name that is no zone cut is
//! stepped over). What each step learned is kept per name in a bounded cache
//! (`key-cache-size`), bogus results for `val-bogus-ttl`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use tokio::time::Instant;

use super::anchor::{AnchorSet, ZoneAnchor};
use super::autotrust::{AutoTrust, DnskeyProbe};
use super::denial::{self, DenialLimits, DsDenial, Nsec3Budget};
use super::names::label_count;
use super::records::FLAG_REVOKE;
use super::records::{Dnskey, Ds, Rrsig};
use super::verify::{verify_rrset, Clock, VerifiedSigs, Work};
use super::{Bogus, Ede, Fetch};
use crate::iterate::Answer;

/// Longest a validated key set or zone status is kept, whatever its TTL.
const MAX_KEY_TTL: u32 = 86400;
/// Shortest: a status with a zero TTL would be re-fetched for every RRset of one answer.
const MIN_KEY_TTL: u32 = 5;
/// Verified signatures remembered (about 100 bytes each).
const VERIFIED_SIGS: usize = 16 * 1024;
/// DS and DNSKEY fetches per validation (a deep chain is a handful).
const MAX_FETCHES: u32 = 24;

/// What is known about a name on the way down from an anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneStatus {
    /// A zone apex whose DNSKEY set verified: these keys sign its data.
    Secure(Arc<[Dnskey]>),
    /// Provably unsigned from here down.
    Insecure,
    /// The chain is broken here.
    Bogus(Bogus),
    /// Not a zone cut: the parent's keys still apply below it.
    NotACut,
}

#[derive(Debug)]
struct KeyEntry {
    status: ZoneStatus,
    expires: Instant,
}

#[derive(Clone)]
struct KeyWeighter;

impl Weighter<Name, Arc<KeyEntry>> for KeyWeighter {
    fn weight(&self, key: &Name, value: &Arc<KeyEntry>) -> u64 {
        let keys = match &value.status {
            ZoneStatus::Secure(keys) => keys.iter().map(|k| k.rdata.len() + 48).sum(),
            ZoneStatus::Bogus(b) => b.reason.len(),
            _ => 0,
        };
        (key.len() + keys + 128) as u64
    }
}

/// The key cache: zone statuses by lower-cased name, bounded by bytes.
pub struct KeyCache {
    entries: Cache<Name, Arc<KeyEntry>, KeyWeighter>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl KeyCache {
    /// A cache of about `bytes` (`key-cache-size`).
    pub fn new(bytes: u64) -> Self {
        let bytes = bytes.max(64 * 1024);
        let estimated = usize::try_from(bytes / 400).unwrap_or(usize::MAX).max(64);
        Self {
            entries: Cache::with_weighter(estimated, bytes, KeyWeighter),
        }
    }

    fn get(&self, name: &Name, now: Instant) -> Option<ZoneStatus> {
        self.entries
            .get(name)
            .filter(|e| e.expires > now)
            .map(|e| e.status.clone())
    }

    fn put(&self, name: &Name, status: ZoneStatus, ttl: u32, now: Instant) {
        let ttl = ttl.clamp(MIN_KEY_TTL, MAX_KEY_TTL);
        let entry = KeyEntry {
            status,
            expires: now + Duration::from_secs(u64::from(ttl)),
        };
        self.entries.insert(name.to_lowercase(), Arc::new(entry));
    }

    /// Number of cached statuses (`unbound_key_cache_count`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes accounted (`unbound_memory_caches_bytes{cache="key"}`).
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }
}

/// The state of one validation: clock, work and fetch budgets.
#[derive(Debug)]
pub struct Session {
    /// Validity periods are judged at this time.
    pub clock: Clock,
    /// Public-key operations left.
    pub work: Work,
    /// NSEC3 hashes left.
    pub nsec3: Nsec3Budget,
    /// Seconds until the first signature of the answer expires: no record of
    /// it may be cached longer (RFC 4035 §5.3.3).
    pub ttl_cap: u32,
    fetches: u32,
}

impl Session {
    /// A fresh session at `clock`, sharing `memo` of verified signatures.
    pub fn new(clock: Clock, memo: Arc<VerifiedSigs>) -> Self {
        Self {
            clock,
            work: Work::new(super::verify::MAX_VERIFICATIONS, memo),
            nsec3: Nsec3Budget::new(super::denial::MAX_NSEC3_HASHES),
            ttl_cap: u32::MAX,
            fetches: 0,
        }
    }
}

/// The keys that sign a name's data, as far as the chain of trust reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keys {
    /// No trust anchor above the name.
    Indeterminate,
    /// The name is in an insecure part of the tree.
    Insecure,
    /// The chain is broken.
    Bogus(Bogus),
    /// `zone` is the deepest secure zone at or above the name, with its keys.
    Secure {
        /// The zone apex.
        zone: Name,
        /// Its verified DNSKEYs.
        keys: Arc<[Dnskey]>,
    },
}

/// One RRset of a section with the signatures that cover it.
#[derive(Debug)]
pub struct SignedRrset<'a> {
    /// Owner name.
    pub owner: &'a Name,
    /// Type.
    pub rtype: RecordType,
    /// The records.
    pub records: Vec<&'a Record>,
    /// Their RRSIGs, parsed (malformed ones dropped).
    pub sigs: Vec<Rrsig>,
}

impl SignedRrset<'_> {
    /// The smallest TTL of the RRset.
    pub fn ttl(&self) -> u32 {
        self.records.iter().map(|r| r.ttl).min().unwrap_or(0)
    }
}

/// Splits `records` into RRsets (owner and type, case-insensitive) with their signatures.
pub fn signed_rrsets(records: &[Record]) -> Vec<SignedRrset<'_>> {
    // Indexed by (owner, type): a reply of thousands of records costs linear
    // work, not a comparison of every record with every set (Name hashes
    // and compares case-insensitively).
    let mut index: HashMap<(&Name, RecordType), usize> = HashMap::new();
    let mut sets: Vec<SignedRrset<'_>> = Vec::new();
    for record in records {
        let rtype = record.record_type();
        if rtype == RecordType::RRSIG {
            continue;
        }
        match index.get(&(&record.name, rtype)) {
            Some(&i) => sets[i].records.push(record),
            None => {
                index.insert((&record.name, rtype), sets.len());
                sets.push(SignedRrset {
                    owner: &record.name,
                    rtype,
                    records: vec![record],
                    sigs: Vec::new(),
                });
            }
        }
    }
    for record in records {
        let Some(sig) = Rrsig::from_record(record) else {
            continue;
        };
        if let Some(&i) = index.get(&(&record.name, sig.type_covered)) {
            sets[i].sigs.push(sig);
        }
    }
    sets
}

/// The verified denial records of one zone in a section.
#[derive(Debug)]
pub struct Proofs {
    /// NSEC, NSEC3 and SOA records whose signatures verified.
    pub records: Vec<Record>,
    /// How long they may be kept: their TTLs, capped by their signatures.
    pub ttl: u32,
    /// An RRset of the zone failed verification.
    pub rejected: bool,
}

/// Anchors, negative anchors and the key cache: what walks chains of trust.
#[derive(Debug)]
pub struct Chain {
    anchors: arc_swap::ArcSwap<AnchorSet>,
    /// RFC 5011 trust points (`auto-trust-anchor-file`), fed every DNSKEY set
    /// fetched for their zones.
    autotrust: Option<parking_lot::Mutex<AutoTrust>>,
    domain_insecure: Vec<Name>,
    cache: KeyCache,
    /// Signatures verified before (shared by every validation).
    verified: Arc<VerifiedSigs>,
    bogus_ttl: u32,
    limits: DenialLimits,
    /// `harden-algo-downgrade`: every DS algorithm must sign the DNSKEY set.
    algo_downgrade: bool,
}

impl Chain {
    /// A chain over `anchors`.
    pub fn new(
        anchors: AnchorSet,
        autotrust: Option<AutoTrust>,
        domain_insecure: Vec<Name>,
        key_cache_size: u64,
        bogus_ttl: u32,
        limits: DenialLimits,
        algo_downgrade: bool,
    ) -> Self {
        Self {
            anchors: arc_swap::ArcSwap::from_pointee(anchors),
            autotrust: autotrust.map(parking_lot::Mutex::new),
            domain_insecure,
            cache: KeyCache::new(key_cache_size),
            verified: Arc::new(VerifiedSigs::new(VERIFIED_SIGS)),
            bogus_ttl,
            limits,
            algo_downgrade,
        }
    }

    /// A validation session at `clock`.
    pub fn session(&self, clock: Clock) -> Session {
        Session::new(clock, self.verified.clone())
    }

    /// Signatures verified and remembered so far.
    pub fn verified_signatures(&self) -> usize {
        self.verified.len()
    }

    /// The key cache (for gauges).
    pub fn cache(&self) -> &KeyCache {
        &self.cache
    }

    /// The anchors in force.
    pub fn anchors(&self) -> Arc<AnchorSet> {
        self.anchors.load_full()
    }

    /// The next RFC 5011 active refresh (Unix seconds), if any zone is tracked.
    pub fn next_probe(&self) -> Option<u64> {
        self.autotrust.as_ref()?.lock().next_probe()
    }

    /// RFC 5011 §2.3 active refresh: fetches the DNSKEY set of every tracked
    /// zone due at `now_unix` and feeds it to its trust point. A trusted key
    /// set that changed replaces the zone's anchors and its cached keys.
    pub async fn probe_due<F: Fetch>(&self, fetch: &F, clock: Clock, now_unix: u64) {
        let due: Vec<Name> = match &self.autotrust {
            Some(auto) => auto.lock().due(now_unix).cloned().collect(),
            None => return,
        };
        for zone in due {
            let mut session = self.session(clock);
            let status = match fetch.fetch(&zone, RecordType::DNSKEY).await {
                Ok(answer) => {
                    let anchors = self.anchors.load_full();
                    match anchors.closest(&zone).filter(|(z, _)| **z == zone) {
                        Some((_, anchor)) => {
                            let anchor = anchor.clone();
                            Some(self.verify_anchor_keys(
                                &zone,
                                &anchor,
                                &answer,
                                now_unix,
                                &mut session,
                            ))
                        }
                        None => None,
                    }
                }
                Err(error) => {
                    tracing::info!(%zone, %error, "RFC 5011 probe: DNSKEY lookup failed");
                    if let Some(auto) = &self.autotrust {
                        if let Some(anchor) = auto.lock().probe_failed(&zone, now_unix) {
                            self.replace_anchor(&zone, anchor);
                        }
                    }
                    None
                }
            };
            if let Some((status, ttl)) = status {
                let ttl = if matches!(status, ZoneStatus::Bogus(_)) {
                    self.bogus_ttl
                } else {
                    ttl
                };
                self.cache.put(&zone, status, ttl, Instant::now());
            }
        }
    }

    fn replace_anchor(&self, zone: &Name, anchor: ZoneAnchor) {
        let current = self.anchors.load_full();
        if current.zones().any(|(z, a)| z == zone && *a == anchor) {
            return;
        }
        let mut next = (*current).clone();
        next.replace_zone(zone, anchor);
        self.anchors.store(Arc::new(next));
        tracing::info!(%zone, "trust anchors updated (RFC 5011)");
    }

    /// NSEC3 and denial limits.
    pub fn limits(&self) -> &DenialLimits {
        &self.limits
    }

    /// Whether `name` is at or below a `domain-insecure` name.
    pub fn is_domain_insecure(&self, name: &Name) -> bool {
        self.domain_insecure.iter().any(|d| d.zone_of(name))
    }

    /// The keys for data at `target` (a signer name or an owner without
    /// signatures): the deepest secure zone found walking down from the anchor.
    pub async fn keys_for<F: Fetch>(
        &self,
        fetch: &F,
        target: &Name,
        session: &mut Session,
    ) -> Keys {
        if self.is_domain_insecure(target) {
            return Keys::Insecure;
        }
        let anchors = self.anchors.load_full();
        let Some((anchor_zone, anchor)) = anchors.closest(target) else {
            return Keys::Indeterminate;
        };
        let now = Instant::now();
        let mut zone = anchor_zone.clone();
        let mut keys = match self.cache.get(&zone, now) {
            Some(status) => status,
            None => {
                let status = self.prime(fetch, &zone, anchor, session).await;
                match &status.0 {
                    ZoneStatus::Bogus(bogus) if bogus.budget => {}
                    ZoneStatus::Bogus(_) => {
                        self.cache.put(&zone, status.0.clone(), self.bogus_ttl, now)
                    }
                    _ => self.cache.put(&zone, status.0.clone(), status.1, now),
                }
                status.0
            }
        };
        let mut position = zone.clone();
        loop {
            let current = match &keys {
                ZoneStatus::Secure(current) => current.clone(),
                ZoneStatus::Insecure => return Keys::Insecure,
                ZoneStatus::Bogus(bogus) => return Keys::Bogus(bogus.clone()),
                ZoneStatus::NotACut => {
                    return Keys::Bogus(Bogus::new(Ede::DnssecBogus, "internal: no keys"))
                }
            };
            // Labels counted as trim_to counts them (a `*` label included):
            // each step goes one label deeper, so the walk always ends.
            let depth = label_count(&position);
            if depth >= label_count(target) {
                return Keys::Secure {
                    zone,
                    keys: current,
                };
            }
            let next = target.trim_to(depth + 1);
            if label_count(&next) <= depth {
                return Keys::Bogus(Bogus::new(
                    Ede::DnssecBogus,
                    "internal: no progress toward the signer",
                ));
            }
            let status = match self.cache.get(&next, Instant::now()) {
                Some(status) => status,
                None => {
                    let (status, ttl) = self.step(fetch, &zone, &current, &next, session).await;
                    match &status {
                        // A spent budget says nothing about the zone: not cached.
                        ZoneStatus::Bogus(bogus) if bogus.budget => {}
                        ZoneStatus::Bogus(_) => {
                            self.cache
                                .put(&next, status.clone(), self.bogus_ttl, Instant::now())
                        }
                        _ => self.cache.put(&next, status.clone(), ttl, Instant::now()),
                    }
                    status
                }
            };
            match status {
                ZoneStatus::NotACut => {}
                other => {
                    zone = next.clone();
                    keys = other;
                }
            }
            position = next;
        }
    }

    /// Verifies the anchor zone's DNSKEY set against its anchors.
    async fn prime<F: Fetch>(
        &self,
        fetch: &F,
        zone: &Name,
        anchor: &ZoneAnchor,
        session: &mut Session,
    ) -> (ZoneStatus, u32) {
        if !anchor.has_supported() {
            // RFC 4035 §5.2 / Unbound: an anchor only of algorithms we cannot
            // verify makes the zone insecure.
            return (ZoneStatus::Insecure, MAX_KEY_TTL);
        }
        let answer = match self.lookup(fetch, zone, RecordType::DNSKEY, session).await {
            Ok(answer) => answer,
            Err(bogus) => return (ZoneStatus::Bogus(bogus.at(format!("DNSKEY {zone}"))), 0),
        };
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verify_anchor_keys(zone, anchor, &answer, now_unix, session)
    }

    /// Verifies a fetched DNSKEY answer of an anchored zone against its
    /// anchors, and tells the zone's RFC 5011 trust point what was seen.
    fn verify_anchor_keys(
        &self,
        zone: &Name,
        anchor: &ZoneAnchor,
        answer: &Answer,
        now_unix: u64,
        session: &mut Session,
    ) -> (ZoneStatus, u32) {
        let status = self.verify_against_anchor(zone, anchor, answer, session);
        if let Some(auto) = &self.autotrust {
            if let Some(set) = find_rrset(&answer.answers, zone, RecordType::DNSKEY) {
                let keys: Vec<Dnskey> = set
                    .records
                    .iter()
                    .filter_map(|r| Dnskey::from_record(r))
                    .collect();
                let expirations: Vec<u32> = set.sigs.iter().map(|s| s.expiration).collect();
                let revoked = self_signed_revoked(&set, zone, &keys, session);
                let probe = DnskeyProbe {
                    keys: &keys,
                    ttl: set.ttl(),
                    sig_expirations: &expirations,
                    revoked_self_signed: &revoked,
                    verified: matches!(status.0, ZoneStatus::Secure(_)),
                };
                let updated = auto.lock().observe(zone, &probe, now_unix);
                if let Some(updated) = updated {
                    self.replace_anchor(zone, updated);
                }
            }
        }
        status
    }

    fn verify_against_anchor(
        &self,
        zone: &Name,
        anchor: &ZoneAnchor,
        answer: &Answer,
        session: &mut Session,
    ) -> (ZoneStatus, u32) {
        verify_dnskey_set(
            zone,
            answer,
            |key| {
                anchor.keys.iter().any(|a| a.rdata == key.rdata)
                    || anchor
                        .ds
                        .iter()
                        .any(|ds| ds.is_supported() && ds.matches(zone, key))
            },
            "its trust anchor",
            session,
        )
    }

    /// One step down: what the DS answer for `next` says, under `zone`'s keys.
    async fn step<F: Fetch>(
        &self,
        fetch: &F,
        zone: &Name,
        keys: &[Dnskey],
        next: &Name,
        session: &mut Session,
    ) -> (ZoneStatus, u32) {
        let answer = match self.lookup(fetch, next, RecordType::DS, session).await {
            Ok(answer) => answer,
            Err(bogus) => return (ZoneStatus::Bogus(bogus.at(format!("DS {next}"))), 0),
        };
        if let Some(set) = find_rrset(&answer.answers, next, RecordType::DS) {
            return self
                .child_keys(fetch, zone, keys, next, &set, session)
                .await;
        }
        if let Some(set) = find_rrset(&answer.answers, next, RecordType::CNAME) {
            // An alias is data in the parent zone, never a zone cut.
            return match verify_rrset(
                &set.records,
                &set.sigs,
                zone,
                keys,
                &session.clock,
                &mut session.work,
            ) {
                Ok(verified) => (ZoneStatus::NotACut, set.ttl().min(verified.ttl_limit())),
                Err(bogus) => (ZoneStatus::Bogus(bogus.at(format!("CNAME {next}"))), 0),
            };
        }
        if !matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
            return (
                ZoneStatus::Bogus(Bogus::new(
                    Ede::DnssecBogus,
                    format!("DS {next}: {}", answer.rcode),
                )),
                0,
            );
        }
        let proofs = self.verified_proofs(&answer.authorities, zone, keys, session);
        let ttl = proofs.ttl;
        match denial::prove_no_ds(
            next,
            zone,
            &proofs.records,
            &self.limits,
            &mut session.nsec3,
        ) {
            DsDenial::InsecureDelegation => (ZoneStatus::Insecure, ttl),
            DsDenial::NotACut => (ZoneStatus::NotACut, ttl),
            DsDenial::Bogus(denial::DenialFailure::Nsec3BudgetExhausted) => (
                ZoneStatus::Bogus(Bogus::budget(format!(
                    "no DS for {next}: NSEC3 hash limit reached"
                ))),
                0,
            ),
            DsDenial::Bogus(failure) => (
                ZoneStatus::Bogus(Bogus::new(
                    Ede::NsecMissing,
                    format!("no DS for {next} and no valid proof of it ({failure})"),
                )),
                0,
            ),
        }
    }

    /// A verified DS set for `next`: fetch and verify the child's DNSKEY set.
    async fn child_keys<F: Fetch>(
        &self,
        fetch: &F,
        zone: &Name,
        keys: &[Dnskey],
        next: &Name,
        ds_set: &SignedRrset<'_>,
        session: &mut Session,
    ) -> (ZoneStatus, u32) {
        let ds_verified = match verify_rrset(
            &ds_set.records,
            &ds_set.sigs,
            zone,
            keys,
            &session.clock,
            &mut session.work,
        ) {
            Ok(verified) => verified,
            Err(bogus) => return (ZoneStatus::Bogus(bogus.at(format!("DS {next}"))), 0),
        };
        let mut ds: Vec<Ds> = ds_set
            .records
            .iter()
            .filter_map(|r| Ds::from_record(r))
            .filter(Ds::is_supported)
            .collect();
        // RFC 4509 §3 (Unbound's val_favorite_ds_algo): with a SHA-256 or
        // SHA-384 DS present, a SHA-1 DS is ignored, so a broken strong
        // digest cannot be bypassed through a weak one.
        if ds.iter().any(|d| d.digest_type != 1) {
            ds.retain(|d| d.digest_type != 1);
        }
        let ds_ttl = ds_set.ttl().min(ds_verified.ttl_limit());
        if ds.is_empty() {
            // RFC 4035 §5.2: no DS with an algorithm and digest we support: insecure.
            return (ZoneStatus::Insecure, ds_ttl);
        }
        let answer = match self.lookup(fetch, next, RecordType::DNSKEY, session).await {
            Ok(answer) => answer,
            Err(bogus) => {
                return (
                    ZoneStatus::Bogus(
                        Bogus::new(Ede::DnskeyMissing, bogus.reason).at(format!("DNSKEY {next}")),
                    ),
                    0,
                )
            }
        };
        let (status, ttl) = verify_dnskey_set(
            next,
            &answer,
            |key| ds.iter().any(|d| d.matches(next, key)),
            "its DS",
            session,
        );
        if self.algo_downgrade && matches!(status, ZoneStatus::Secure(_)) {
            if let Some(bogus) = missing_ds_algorithm(next, &answer, &ds, session) {
                return (ZoneStatus::Bogus(bogus), 0);
            }
        }
        (status, ttl.min(ds_ttl))
    }

    /// The NSEC/NSEC3 (and SOA) records of `section` whose signatures by
    /// `zone` verify, how long they may be kept (TTLs capped by their
    /// signatures), and whether an RRset that claims to be `zone`'s (signed
    /// as `zone`, or its unsigned SOA) failed: a secure zone's authority
    /// section must verify whole, as Unbound's.
    pub fn verified_proofs(
        &self,
        section: &[Record],
        zone: &Name,
        keys: &[Dnskey],
        session: &mut Session,
    ) -> Proofs {
        let mut proofs = Proofs {
            records: Vec::new(),
            ttl: u32::MAX,
            rejected: false,
        };
        for set in signed_rrsets(section) {
            if !matches!(
                set.rtype,
                RecordType::NSEC | RecordType::NSEC3 | RecordType::SOA
            ) {
                continue;
            }
            let claims_zone = set.sigs.iter().any(|s| s.signer == *zone)
                || (set.sigs.is_empty() && set.rtype == RecordType::SOA && set.owner == zone);
            match verify_rrset(
                &set.records,
                &set.sigs,
                zone,
                keys,
                &session.clock,
                &mut session.work,
            ) {
                Ok(verified) => {
                    proofs.ttl = proofs.ttl.min(set.ttl()).min(verified.ttl_limit());
                    proofs
                        .records
                        .extend(set.records.iter().map(|r| (*r).clone()));
                }
                Err(_) if claims_zone => proofs.rejected = true,
                Err(_) => {}
            }
        }
        if proofs.ttl == u32::MAX {
            proofs.ttl = 0;
        }
        proofs
    }

    async fn lookup<F: Fetch>(
        &self,
        fetch: &F,
        name: &Name,
        qtype: RecordType,
        session: &mut Session,
    ) -> Result<Answer, Bogus> {
        session.fetches += 1;
        if session.fetches > MAX_FETCHES {
            return Err(Bogus::budget("too many DS/DNSKEY lookups for one answer"));
        }
        fetch
            .fetch(name, qtype)
            .await
            .map_err(|e| Bogus::new(Ede::DnssecBogus, format!("lookup failed: {e}")))
    }
}

/// Verifies the DNSKEY set of `zone` in `answer`: one of its keys that
/// `trusted` accepts (it matches an anchor or a DS) must sign it (RFC 4035
/// §5.2). Secure gives every key of the set; the TTL is capped by the set's
/// and its signature's.
fn verify_dnskey_set(
    zone: &Name,
    answer: &Answer,
    trusted: impl Fn(&Dnskey) -> bool,
    vouched_by: &str,
    session: &mut Session,
) -> (ZoneStatus, u32) {
    let Some(set) = find_rrset(&answer.answers, zone, RecordType::DNSKEY) else {
        let reason = format!("no DNSKEY set for {zone}, which {vouched_by} vouches for");
        return (ZoneStatus::Bogus(Bogus::new(Ede::DnskeyMissing, reason)), 0);
    };
    let dnskeys: Vec<Dnskey> = set
        .records
        .iter()
        .filter_map(|r| Dnskey::from_record(r))
        .collect();
    let vouched: Vec<Dnskey> = dnskeys.iter().filter(|k| trusted(k)).cloned().collect();
    if vouched.is_empty() {
        let reason = format!("no DNSKEY of {zone} matches {vouched_by}");
        return (ZoneStatus::Bogus(Bogus::new(Ede::DnskeyMissing, reason)), 0);
    }
    match verify_rrset(
        &set.records,
        &set.sigs,
        zone,
        &vouched,
        &session.clock,
        &mut session.work,
    ) {
        Ok(verified) => (
            ZoneStatus::Secure(dnskeys.into()),
            set.ttl().min(verified.ttl_limit()),
        ),
        Err(bogus) => (ZoneStatus::Bogus(bogus.at(format!("DNSKEY {zone}"))), 0),
    }
}

/// `harden-algo-downgrade` (Unbound's `algo_needs` in `val_verify_DNSKEY_with_DS`):
/// every algorithm of the (supported) DS set must have a key the DS vouches
/// for whose signature verifies the DNSKEY set, so an attacker who strips
/// the signatures of the stronger algorithm cannot leave only the weaker.
/// The first algorithm without one, as a bogus reason.
fn missing_ds_algorithm(
    zone: &Name,
    answer: &Answer,
    ds: &[Ds],
    session: &mut Session,
) -> Option<Bogus> {
    let set = find_rrset(&answer.answers, zone, RecordType::DNSKEY)?;
    let keys: Vec<Dnskey> = set
        .records
        .iter()
        .filter_map(|r| Dnskey::from_record(r))
        .collect();
    let mut algorithms: Vec<u8> = ds.iter().map(|d| d.algorithm).collect();
    algorithms.sort_unstable();
    algorithms.dedup();
    algorithms.into_iter().find_map(|algorithm| {
        let vouched: Vec<Dnskey> = keys
            .iter()
            .filter(|k| k.algorithm == algorithm)
            .filter(|k| {
                ds.iter()
                    .any(|d| d.algorithm == algorithm && d.matches(zone, k))
            })
            .cloned()
            .collect();
        let signed = !vouched.is_empty()
            && verify_rrset(
                &set.records,
                &set.sigs,
                zone,
                &vouched,
                &session.clock,
                &mut session.work,
            )
            .is_ok();
        (!signed).then(|| {
            Bogus::new(
                Ede::DnssecBogus,
                format!(
                    "DNSKEY {zone}: no valid signature of algorithm {algorithm} of its DS set \
                     (harden-algo-downgrade)"
                ),
            )
        })
    })
}

/// The REVOKE+SEP keys of a DNSKEY set whose own signature verifies the set
/// (RFC 5011 §2.1: the owner of a key may always revoke it; Unbound's
/// `rr_is_selfsigned_revoked`).
fn self_signed_revoked(
    set: &SignedRrset<'_>,
    zone: &Name,
    keys: &[Dnskey],
    session: &mut Session,
) -> Vec<Dnskey> {
    keys.iter()
        .filter(|k| k.flags & FLAG_REVOKE != 0 && k.flags & super::records::FLAG_SEP != 0)
        .filter(|k| {
            verify_rrset(
                &set.records,
                &set.sigs,
                zone,
                std::slice::from_ref(*k),
                &session.clock,
                &mut session.work,
            )
            .is_ok()
        })
        .cloned()
        .collect()
}

/// The RRset (`owner`, `rtype`) of `records` with its signatures.
pub fn find_rrset<'a>(
    records: &'a [Record],
    owner: &Name,
    rtype: RecordType,
) -> Option<SignedRrset<'a>> {
    signed_rrsets(records)
        .into_iter()
        .find(|s| s.rtype == rtype && s.owner == owner)
}
