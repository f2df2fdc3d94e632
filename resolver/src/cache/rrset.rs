//! RRset cache: what the iterator learned, by owner name and type, with a trust
//! level so glue never overrides (or answers as) authoritative data.

use std::sync::Arc;

use hickory_proto::rr::{Name, Record, RecordType};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use tokio::time::Instant;

use super::TtlPolicy;

/// How much an RRset is believed (RFC 2181 §5.4.1 ranking, simplified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Out-of-bailiwick glue kept under `harden-glue: no`: used only where
    /// nothing better is known, and never replaces anything.
    ForeignGlue,
    /// Additional-section address records of a referral: only for reaching servers.
    Glue,
    /// Addresses of a zone's servers in the additional section of that zone's
    /// own authoritative reply: above the parent's glue (RFC 2181 §5.4.1).
    AuthAdditional,
    /// NS records of a referral (the parent's copy).
    Referral,
    /// Authoritative data from the answer or authority section of an AA reply.
    Answer,
}

/// One cached RRset.
#[derive(Debug)]
pub struct RrsetEntry {
    /// The records, TTLs as received (clamped).
    pub records: Vec<Record>,
    /// When stored.
    pub stored_at: Instant,
    /// Lifetime in seconds.
    pub ttl: u32,
    /// Trust level.
    pub trust: Trust,
}

impl RrsetEntry {
    /// Seconds left at `now`, or None when expired.
    pub fn remaining(&self, now: Instant) -> Option<u32> {
        let elapsed = now.saturating_duration_since(self.stored_at).as_secs();
        let elapsed = u32::try_from(elapsed).unwrap_or(u32::MAX);
        self.ttl.checked_sub(elapsed).filter(|left| *left > 0)
    }

    /// The records with TTLs reduced to what is left at `now`.
    pub fn records_at(&self, now: Instant) -> Vec<Record> {
        let left = self.remaining(now).unwrap_or(0);
        self.records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.ttl = r.ttl.min(left);
                r
            })
            .collect()
    }
}

#[derive(Clone)]
struct RrsetWeighter;

impl Weighter<(Name, RecordType), Arc<RrsetEntry>> for RrsetWeighter {
    fn weight(&self, key: &(Name, RecordType), value: &Arc<RrsetEntry>) -> u64 {
        // Names and rdata are heap-allocated; estimate generously.
        let per_record = 64 + key.0.len();
        (96 + key.0.len() + value.records.len() * per_record) as u64
    }
}

/// The RRset cache, bounded by `rrset-cache-size` bytes.
pub struct RrsetCache {
    entries: Cache<(Name, RecordType), Arc<RrsetEntry>, RrsetWeighter>,
    policy: TtlPolicy,
}

impl std::fmt::Debug for RrsetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RrsetCache")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl RrsetCache {
    /// A cache holding at most about `bytes` of RRsets.
    pub fn new(bytes: u64, policy: TtlPolicy) -> Self {
        let bytes = bytes.max(64 * 1024);
        let estimated = usize::try_from(bytes / 300).unwrap_or(usize::MAX).max(64);
        Self {
            entries: Cache::with_weighter(estimated, bytes, RrsetWeighter),
            policy,
        }
    }

    /// The unexpired RRset for (name, type) trusted at least `min_trust`.
    pub fn get(
        &self,
        name: &Name,
        rtype: RecordType,
        min_trust: Trust,
        now: Instant,
    ) -> Option<Arc<RrsetEntry>> {
        let entry = self.entries.get(&(name.clone(), rtype))?;
        (entry.trust >= min_trust && entry.remaining(now).is_some()).then_some(entry)
    }

    /// Stores one RRset (all records share owner and type). A lower-trust RRset
    /// never replaces an unexpired higher-trust one (RFC 2181 §5.4.1).
    pub fn insert(&self, mut records: Vec<Record>, trust: Trust, now: Instant) {
        let Some(first) = records.first() else { return };
        let key = (first.name.to_lowercase(), first.record_type());
        if let Some(existing) = self.entries.get(&key) {
            if existing.trust > trust && existing.remaining(now).is_some() {
                return;
            }
        }
        // RFC 2181 §8: a TTL with the top bit set means zero.
        let ttl = records
            .iter()
            .map(|r| if r.ttl > i32::MAX as u32 { 0 } else { r.ttl })
            .min()
            .unwrap_or(0);
        let ttl = self.policy.positive(ttl);
        if ttl == 0 {
            return;
        }
        for record in &mut records {
            record.ttl = ttl;
        }
        let entry = RrsetEntry {
            records,
            stored_at: now,
            ttl,
            trust,
        };
        self.entries.insert(key, Arc::new(entry));
    }

    /// Number of cached RRsets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes accounted to cached RRsets.
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }
}
