//! Names a zone's servers answered for themselves: no zone cut there.
//!
//! QNAME minimisation (RFC 9156) asks each zone one label more at a time.
//! When a minimised query is answered with data or NODATA rather than a
//! referral, that name is no delegation; Unbound then answers the same
//! minimised question from its cache next time. Remembering just that fact
//! spares the repeated query for every new name below an empty non-terminal
//! or a wildcard's parent (measured: 2 upstream queries per new
//! `*.wild.signed.com` name instead of Unbound's 1).

use std::time::Duration;

use hickory_proto::rr::Name;
use quick_cache::sync::Cache;
use tokio::time::Instant;

/// How many names are remembered at most.
const CAPACITY: usize = 16 * 1024;
/// Longest a name is remembered, whatever TTL its answer had.
const MAX_TTL: u32 = 3600;

/// Names known not to be zone cuts, each until its answer's TTL runs out.
pub struct NoCuts {
    names: Cache<Name, Instant>,
}

impl std::fmt::Debug for NoCuts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoCuts")
            .field("len", &self.names.len())
            .finish()
    }
}

impl Default for NoCuts {
    fn default() -> Self {
        Self {
            names: Cache::new(CAPACITY),
        }
    }
}

impl NoCuts {
    /// Remembers that `name` is no zone cut for `ttl` seconds from `now`.
    pub fn insert(&self, name: &Name, ttl: u32, now: Instant) {
        let ttl = ttl.min(MAX_TTL);
        if ttl > 0 {
            self.names
                .insert(name.clone(), now + Duration::from_secs(u64::from(ttl)));
        }
    }

    /// Whether `name` is known, at `now`, not to be a zone cut.
    pub fn contains(&self, name: &Name, now: Instant) -> bool {
        self.names.get(name).is_some_and(|until| until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remembered name counts until its TTL runs out, and a zero TTL is not kept.
    #[test]
    fn names_expire_with_their_ttl() {
        let cuts = NoCuts::default();
        let now = Instant::now();
        let name = Name::from_ascii("wild.example.").unwrap();
        cuts.insert(&name, 2, now);
        assert!(cuts.contains(&name, now + Duration::from_secs(1)));
        assert!(!cuts.contains(&name, now + Duration::from_secs(2)));
        let other = Name::from_ascii("zero.example.").unwrap();
        cuts.insert(&other, 0, now);
        assert!(!cuts.contains(&other, now));
    }
}
