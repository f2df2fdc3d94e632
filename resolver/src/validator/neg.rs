//! The negative cache for aggressive use of NSEC (RFC 8198): Unbound's
//! `validator/val_neg.c`.
//!
//! NSEC records (with their RRSIGs) of answers the validator found secure are
//! kept per zone in canonical order, beside the zone's SOA. A later question
//! whose name one of them covers or matches is answered from them alone:
//! NXDOMAIN (the name and the wildcard at its closest encloser are denied) or
//! NODATA (the name exists without the type, or the wildcard does), with the
//! NSECs, their RRSIGs and the SOA in the authority section, as Unbound's
//! `val_neg_getmsg`. No upstream query: this is what keeps a flood of random
//! names under a signed zone off that zone's servers.
//!
//! As in Unbound 1.17, only NSEC is used (NSEC3 hashes make random names
//! land in few spans too, but Unbound does not synthesize from them, and
//! Opt-Out spans prove nothing). Records only enter from secure answers, so
//! their signatures were verified; what comes out is secure. A positive
//! wildcard answer is not synthesized here (the question goes upstream).
//!
//! Memory is bounded by `neg-cache-size`: entries are charged their wire size
//! plus an overhead, and the oldest inserted go first when it is full.
//! Entries live `min(NSEC TTL, SOA TTL, SOA MINIMUM)` (RFC 8198 §5.4).

use std::collections::{BTreeMap, VecDeque};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use parking_lot::RwLock;

use super::denial::{self, DenialLimits, Nsec3Budget, Proof};
use super::names::{canonical_cmp, is_subdomain, same_name, shared_ancestor, wildcard_of};
use super::nsec::parse_nsec;
use super::records::Rrsig;
use crate::iterate::Answer;

/// Bytes charged per record on top of its owner and RDATA (the `Record`
/// struct and the tree node holding it), so the bound holds for real memory.
const RECORD_OVERHEAD: u64 = 96;

/// A name ordered canonically (RFC 4034 §6.1), the tree key of a zone's NSECs.
#[derive(Clone, Debug)]
struct Canonical(Name);

impl PartialEq for Canonical {
    fn eq(&self, other: &Self) -> bool {
        same_name(&self.0, &other.0)
    }
}
impl Eq for Canonical {}
impl PartialOrd for Canonical {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Canonical {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        canonical_cmp(&self.0, &other.0)
    }
}

/// An RRset (records and RRSIGs) with the Unix second it expires.
#[derive(Debug, Clone)]
struct Kept {
    records: Vec<Record>,
    expires: u64,
    bytes: u64,
    /// Insertion number, to tell a re-inserted entry from its old queue slot.
    seq: u64,
}

impl Kept {
    fn fresh(&self, now_unix: u64) -> bool {
        self.expires > now_unix
    }

    /// The records with their TTLs set to the seconds left.
    fn at(&self, now_unix: u64) -> impl Iterator<Item = Record> + '_ {
        let left = u32::try_from(self.expires.saturating_sub(now_unix)).unwrap_or(u32::MAX);
        self.records.iter().map(move |r| {
            let mut r = r.clone();
            r.ttl = left;
            r
        })
    }
}

/// One signed zone's SOA and NSECs.
#[derive(Debug, Default)]
struct Zone {
    soa: Option<Kept>,
    nsecs: BTreeMap<Canonical, Kept>,
}

#[derive(Debug, Default)]
struct Inner {
    zones: BTreeMap<Canonical, Zone>,
    /// (zone, owner) in insertion order; the owner equals the zone for its SOA.
    order: VecDeque<(Canonical, Canonical, u64)>,
    /// Entries held (each has one current slot in `order`; replaced ones
    /// leave stale slots, compacted away).
    live: usize,
    bytes: u64,
    seq: u64,
}

/// The negative cache: see the module docs.
#[derive(Debug)]
pub struct NegCache {
    inner: RwLock<Inner>,
    max_bytes: u64,
    limits: DenialLimits,
}

/// A denial synthesized from the cache.
#[derive(Debug, Clone)]
pub struct Synthesized {
    /// NXDOMAIN or NOERROR (NODATA), the proofs and SOA in the authority section.
    pub answer: Answer,
}

impl NegCache {
    /// An empty cache of at most `max_bytes` (`neg-cache-size`).
    pub fn new(max_bytes: u64, limits: DenialLimits) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            max_bytes,
            limits,
        }
    }

    /// Bytes in use (for the memory gauge and tests).
    pub fn bytes(&self) -> u64 {
        self.inner.read().bytes
    }

    /// NSEC records held.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .zones
            .values()
            .map(|z| z.nsecs.len())
            .sum()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the NSECs of `answer`, which the validator found secure
    /// (Unbound `val_neg_addreply`): those signed by the zone whose SOA the
    /// authority section carries (or, without SOA, by the NSECs' signer),
    /// with owner and next name inside it.
    /// No entry outlives `ttl_cap` seconds (the signatures' remaining validity).
    pub fn insert(&self, answer: &Answer, now_unix: u64, ttl_cap: Option<u32>) {
        let auth = &answer.authorities;
        let soa = auth.iter().find(|r| r.record_type() == RecordType::SOA);
        let Some(zone) = soa.map(|s| s.name.clone()).or_else(|| nsec_signer(auth)) else {
            return;
        };
        let soa_limit = soa.map_or(u32::MAX, |s| match &s.data {
            RData::SOA(data) => s.ttl.min(data.minimum),
            _ => s.ttl,
        });
        let soa_limit = soa_limit.min(ttl_cap.unwrap_or(u32::MAX));
        let mut sets: Vec<(Name, Kept)> = Vec::new();
        for nsec in auth.iter().filter(|r| r.record_type() == RecordType::NSEC) {
            let Some(parsed) = parse_nsec(nsec) else {
                continue;
            };
            if !is_subdomain(&nsec.name, &zone) || !is_subdomain(&parsed.next, &zone) {
                continue;
            }
            let sigs = covering_sigs(auth, &nsec.name, RecordType::NSEC, &zone);
            if sigs.is_empty() {
                continue;
            }
            let ttl = nsec.ttl.min(soa_limit).min(ttl_cap.unwrap_or(u32::MAX));
            sets.push((nsec.name.clone(), kept(nsec, sigs, ttl, now_unix)));
        }
        if sets.is_empty() {
            return;
        }
        let soa_set = soa.map(|s| {
            let sigs = covering_sigs(auth, &s.name, RecordType::SOA, &zone);
            kept(s, sigs, soa_limit, now_unix)
        });
        let mut inner = self.inner.write();
        let zone = Canonical(zone);
        if let Some(soa) = soa_set.filter(|s| !s.records.is_empty()) {
            inner.put(&zone, None, soa);
        }
        for (owner, set) in sets {
            inner.put(&zone, Some(Canonical(owner)), set);
        }
        inner.shrink_to(self.max_bytes);
    }

    /// A denial for (`qname`, `qtype`) proven by cached NSECs, if one is
    /// (Unbound `val_neg_getmsg`). None sends the question upstream.
    pub fn synthesize(
        &self,
        qname: &Name,
        qtype: RecordType,
        now_unix: u64,
    ) -> Option<Synthesized> {
        let inner = self.inner.read();
        let (zone_name, zone) = inner.closest_zone(qname)?;
        let soa = zone.soa.as_ref().filter(|s| s.fresh(now_unix))?;
        let nsec = zone.covering(qname, now_unix)?;
        let mut budget = Nsec3Budget::new(0);
        let limits = &self.limits;
        let first: Vec<Record> = nsec.records.clone();
        let nodata = qtype != RecordType::ANY
            && denial::prove_nodata(qname, qtype, zone_name, &first, limits, &mut budget)
                == Proof::Secure;
        let (rcode, proofs) = if nodata {
            (ResponseCode::NoError, vec![nsec])
        } else {
            // The name is denied; the wildcard at its closest encloser decides
            // between NXDOMAIN and a wildcard NODATA.
            let owner = &nsec.records.first()?.name;
            let next = parse_nsec(nsec.records.first()?)?.next;
            let encloser = longer(shared_ancestor(owner, qname), shared_ancestor(&next, qname));
            let wildcard = wildcard_of(&encloser)?;
            let wild = zone.covering(&wildcard, now_unix)?;
            let mut proofs = vec![nsec];
            if !same_name(&wild.records.first()?.name, owner) {
                proofs.push(wild);
            }
            let records: Vec<Record> = proofs.iter().flat_map(|k| k.records.clone()).collect();
            if denial::prove_nxdomain(qname, zone_name, &records, limits, &mut budget)
                == Proof::Secure
            {
                (ResponseCode::NXDomain, proofs)
            } else if qtype != RecordType::ANY
                && denial::prove_nodata(qname, qtype, zone_name, &records, limits, &mut budget)
                    == Proof::Secure
            {
                (ResponseCode::NoError, proofs)
            } else {
                return None;
            }
        };
        let mut authorities: Vec<Record> = proofs.iter().flat_map(|k| k.at(now_unix)).collect();
        authorities.extend(soa.at(now_unix));
        Some(Synthesized {
            answer: Answer {
                rcode,
                answers: Vec::new(),
                authorities,
            },
        })
    }
}

impl Inner {
    /// The deepest cached zone at or above `qname`.
    fn closest_zone(&self, qname: &Name) -> Option<(&Name, &Zone)> {
        let mut name = qname.clone();
        loop {
            if let Some((key, zone)) = self.zones.get_key_value(&Canonical(name.clone())) {
                return Some((&key.0, zone));
            }
            if name.is_root() {
                return None;
            }
            name = name.base_name();
        }
    }

    /// Stores `set` as the zone's SOA (`owner` None) or the NSEC at `owner`.
    fn put(&mut self, zone: &Canonical, owner: Option<Canonical>, mut set: Kept) {
        self.seq += 1;
        set.seq = self.seq;
        self.bytes += set.bytes;
        let entry = self.zones.entry(zone.clone()).or_default();
        let old = match &owner {
            Some(owner) => entry.nsecs.insert(owner.clone(), set),
            None => entry.soa.replace(set),
        };
        match old {
            Some(old) => self.bytes = self.bytes.saturating_sub(old.bytes),
            None => self.live += 1,
        }
        let owner = owner.unwrap_or_else(|| zone.clone());
        self.order.push_back((zone.clone(), owner, self.seq));
        if self.order.len() > 2 * self.live + 64 {
            // The same NSECs arrive again and again (every upstream denial
            // carries them): drop the slots of replaced entries.
            let zones = &self.zones;
            self.order
                .retain(|(zone, owner, seq)| current(zones, zone, owner, *seq));
        }
    }

    /// Drops the oldest entries until at most `max` bytes are held (Unbound
    /// `neg_make_space`). A zone without NSECs goes with its SOA.
    fn shrink_to(&mut self, max: u64) {
        while self.bytes > max {
            let Some((zone, owner, seq)) = self.order.pop_front() else {
                break;
            };
            let Some(entry) = self.zones.get_mut(&zone) else {
                continue;
            };
            let freed = if owner == zone && entry.soa.as_ref().is_some_and(|s| s.seq == seq) {
                entry.soa.take().map(|s| s.bytes)
            } else if entry.nsecs.get(&owner).is_some_and(|s| s.seq == seq) {
                entry.nsecs.remove(&owner).map(|s| s.bytes)
            } else {
                None
            };
            if let Some(freed) = freed {
                self.bytes = self.bytes.saturating_sub(freed);
                self.live = self.live.saturating_sub(1);
            }
            if entry.nsecs.is_empty() {
                if let Some(soa) = self.zones.remove(&zone).and_then(|z| z.soa) {
                    self.bytes = self.bytes.saturating_sub(soa.bytes);
                    self.live = self.live.saturating_sub(1);
                }
            }
        }
    }
}

impl Zone {
    /// The fresh NSEC with the greatest owner at or before `name` in canonical
    /// order: the one that matches or covers it, if any does.
    fn covering(&self, name: &Name, now_unix: u64) -> Option<&Kept> {
        self.nsecs
            .range(..=Canonical(name.clone()))
            .next_back()
            .map(|(_, kept)| kept)
            .filter(|k| k.fresh(now_unix))
    }
}

/// Whether the queue slot (`zone`, `owner`, `seq`) is the current one of
/// its entry (`owner` equal to `zone` for the zone's SOA).
fn current(
    zones: &BTreeMap<Canonical, Zone>,
    zone: &Canonical,
    owner: &Canonical,
    seq: u64,
) -> bool {
    zones.get(zone).is_some_and(|z| {
        let soa = owner == zone && z.soa.as_ref().is_some_and(|s| s.seq == seq);
        soa || z.nsecs.get(owner).is_some_and(|s| s.seq == seq)
    })
}

/// The longer (deeper) of two names.
fn longer(a: Name, b: Name) -> Name {
    if b.num_labels() > a.num_labels() {
        b
    } else {
        a
    }
}

/// `record` and its signatures, kept `ttl` seconds from `now_unix`.
fn kept(record: &Record, sigs: Vec<Record>, ttl: u32, now_unix: u64) -> Kept {
    let mut records = Vec::with_capacity(1 + sigs.len());
    records.push(record.clone());
    records.extend(sigs);
    let bytes = records.iter().map(record_bytes).sum();
    Kept {
        records,
        expires: now_unix + u64::from(ttl),
        bytes,
        seq: 0,
    }
}

/// What a record is charged.
fn record_bytes(record: &Record) -> u64 {
    let rdata = match &record.data {
        RData::Unknown { rdata, .. } => rdata.anything.len(),
        _ => 64,
    };
    (record.name.len() + rdata) as u64 + RECORD_OVERHEAD
}

/// The RRSIGs in `section` over (`owner`, `rtype`) made by `zone`.
fn covering_sigs(section: &[Record], owner: &Name, rtype: RecordType, zone: &Name) -> Vec<Record> {
    section
        .iter()
        .filter(|r| r.record_type() == RecordType::RRSIG && same_name(&r.name, owner))
        .filter(|r| {
            Rrsig::from_record(r)
                .is_some_and(|s| s.type_covered == rtype && same_name(&s.signer, zone))
        })
        .cloned()
        .collect()
}

/// The signer of the first signed NSEC (a reply without SOA; Unbound
/// `reply_nsec_signer`).
fn nsec_signer(section: &[Record]) -> Option<Name> {
    section
        .iter()
        .filter(|r| r.record_type() == RecordType::RRSIG)
        .filter_map(Rrsig::from_record)
        .find(|s| s.type_covered == RecordType::NSEC)
        .map(|s| s.signer)
}

#[cfg(test)]
mod tests;
