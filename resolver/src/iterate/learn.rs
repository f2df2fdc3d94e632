//! What iteration keeps from a reply besides its [`super::step::Step`]: the
//! parent's view of each delegation (its NS names and glue, tried when the
//! child's own servers fail), the child's NS set and addresses (which replace
//! the parent's once a child server sends them), and, with `harden-glue: no`,
//! out-of-bailiwick glue (so a delegation cycle can be broken, as Unbound does).

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use quick_cache::sync::Cache;
use tokio::time::Instant;

use super::record_ip;

/// Delegations remembered at most (one per zone seen in a referral).
const CAPACITY: usize = 10_000;

/// A parent-side delegation is kept at most this long, whatever its NS TTL says
/// (Unbound's default cache-max-ttl).
const MAX_TTL: u32 = 86_400;

/// A referral as the parent zone's servers gave it: NS names and their glue.
#[derive(Debug)]
pub struct ParentDelegation {
    /// Glue addresses of the referral's NS names.
    pub addrs: Vec<IpAddr>,
    /// The referral's NS names that came without glue.
    pub glueless: Vec<Name>,
    stored_at: Instant,
    ttl: u32,
}

/// The parent-side NS and glue of every zone a referral led to (Unbound's
/// "parent-side" NS and glue), kept apart from the RRset cache where the
/// child's NS set replaces the parent's once learned: when the child's servers
/// or their addresses do not work, the parent's still lead somewhere.
pub struct ParentSide {
    zones: Cache<Name, Arc<ParentDelegation>>,
}

impl std::fmt::Debug for ParentSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentSide")
            .field("zones", &self.zones.len())
            .finish()
    }
}

impl Default for ParentSide {
    fn default() -> Self {
        Self {
            zones: Cache::new(CAPACITY),
        }
    }
}

impl ParentSide {
    /// Remembers the referral to `zone`: its NS records and glue.
    pub fn store(&self, zone: &Name, ns: &[Record], glue: &[Record], now: Instant) {
        let names = ns_names(ns);
        if names.is_empty() {
            return;
        }
        let addrs = glue
            .iter()
            .filter(|g| names.contains(&g.name))
            .filter_map(record_ip)
            .collect();
        let glueless = names
            .into_iter()
            .filter(|name| !glue.iter().any(|g| g.name == *name))
            .collect();
        let ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0).min(MAX_TTL);
        if ttl == 0 {
            return;
        }
        let delegation = ParentDelegation {
            addrs,
            glueless,
            stored_at: now,
            ttl,
        };
        self.zones.insert(zone.to_lowercase(), Arc::new(delegation));
    }

    /// The parent's delegation to `zone`, while its TTL lasts.
    pub fn get(&self, zone: &Name, now: Instant) -> Option<Arc<ParentDelegation>> {
        let found = self.zones.get(&zone.to_lowercase())?;
        let age = now.saturating_duration_since(found.stored_at).as_secs();
        (age < u64::from(found.ttl)).then_some(found)
    }
}

/// The child's own NS set for `zone` in an authoritative reply from one of its
/// servers (authority section, or the answer to an NS query), with the
/// in-zone addresses of those names from the additional section.
pub fn child_ns(reply: &Message, zone: &Name) -> Option<(Vec<Record>, Vec<Record>)> {
    if !reply.metadata.authoritative {
        return None;
    }
    let is_zone_ns = |r: &&Record| r.record_type() == RecordType::NS && r.name == *zone;
    let mut ns: Vec<Record> = reply
        .authorities
        .iter()
        .filter(is_zone_ns)
        .cloned()
        .collect();
    if ns.is_empty() {
        ns = reply.answers.iter().filter(is_zone_ns).cloned().collect();
    }
    if ns.is_empty() {
        return None;
    }
    let names = ns_names(&ns);
    let addrs = addresses_of(reply, &names)
        .filter(|r| zone.zone_of(&r.name))
        .cloned()
        .collect();
    Some((ns, addrs))
}

/// `harden-glue: no`: the addresses of a referral's NS names that lie outside
/// the referring zone (the classifier keeps only in-bailiwick glue). Unbound
/// then stores them in its cache, where the NS address lookup finds them.
pub fn foreign_glue(reply: &Message, referring_zone: &Name, ns: &[Record]) -> Vec<Record> {
    let names = ns_names(ns);
    addresses_of(reply, &names)
        .filter(|r| !referring_zone.zone_of(&r.name))
        .cloned()
        .collect()
}

/// The A and AAAA records of the additional section owned by one of `names`.
fn addresses_of<'a>(reply: &'a Message, names: &'a [Name]) -> impl Iterator<Item = &'a Record> {
    reply
        .additionals
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .filter(move |r| names.contains(&r.name))
}

/// The target names of NS records.
fn ns_names(ns: &[Record]) -> Vec<Name> {
    ns.iter()
        .filter_map(|r| match &r.data {
            RData::NS(target) => Some(target.0.clone()),
            _ => None,
        })
        .collect()
}
