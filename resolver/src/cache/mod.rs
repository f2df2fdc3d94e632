//! Caches: whole answers as wire bytes (`message`), RRsets for the iterator
//! (`rrset`), and the key both share.
//!
//! Time goes in: every lookup and insert takes `now` (tokio's monotonic clock), so
//! tests pause and advance time instead of sleeping.

pub mod message;
pub mod rrset;

pub use message::{CachedMessage, MessageCache, MessageKey};
pub use rrset::{RrsetCache, RrsetEntry, Trust};

/// TTL policy from `cache-min-ttl`, `cache-max-ttl` and `cache-max-negative-ttl`.
#[derive(Clone, Copy, Debug)]
pub struct TtlPolicy {
    /// Floor for positive TTLs.
    pub min: u32,
    /// Ceiling for positive TTLs.
    pub max: u32,
    /// Ceiling for negative (NXDOMAIN/NODATA) TTLs.
    pub max_negative: u32,
}

impl TtlPolicy {
    /// Clamps a positive TTL.
    pub fn positive(&self, ttl: u32) -> u32 {
        ttl.clamp(self.min, self.max.max(self.min))
    }

    /// Clamps a negative TTL (RFC 2308: min of SOA TTL and SOA MINIMUM, already taken).
    pub fn negative(&self, ttl: u32) -> u32 {
        ttl.min(self.max_negative)
            .max(self.min.min(self.max_negative))
    }
}
