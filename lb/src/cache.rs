//! The optional packet cache (off by default, as dnsdist's): whole responses
//! keyed on the question (name without regard to case, type, class) plus the
//! DO and CD bits and whether the query had EDNS, served with the client's ID,
//! the client's spelling of the name and every TTL reduced by the entry's age.
//! Only NOERROR and NXDOMAIN answers that are not truncated and whose every
//! TTL is above zero are kept, for at most their smallest TTL (capped by
//! `max-ttl`).
//!
//! HOT PATH: a hit is one concurrent-map lookup, one copy and the TTL patch.

use std::sync::Arc;
use std::time::Duration;

use common::dns::edns::EdnsInfo;
use common::dns::wire::{layout, patch_ttls, QueryView};
use quick_cache::sync::Cache;
use tokio::time::Instant;

/// The packet-cache settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Entries kept at most.
    pub size: usize,
    /// The longest an entry is served, whatever its TTLs say.
    pub max_ttl: Duration,
}

/// A cached response.
struct Entry {
    /// The response as the backend sent it (its ID is overwritten on use).
    wire: Vec<u8>,
    /// Where its TTLs are.
    ttl_offsets: Vec<u16>,
    /// When it was stored.
    stored: Instant,
    /// How long it may be served.
    lifetime: Duration,
}

/// The cache.
pub struct PacketCache {
    entries: Cache<Vec<u8>, Arc<Entry>>,
    max_ttl: Duration,
}

/// The cache key of a query: the lower-cased name, type, class, and a byte of
/// flags (DO, CD, EDNS present).
pub fn key(view: &QueryView<'_>, edns: Option<&EdnsInfo>) -> Vec<u8> {
    let name = view.qname_wire();
    let mut key = Vec::with_capacity(name.len() + 5);
    key.extend(name.iter().map(u8::to_ascii_lowercase));
    key.extend_from_slice(&view.qtype().to_be_bytes());
    key.extend_from_slice(&view.qclass().to_be_bytes());
    let flags = u8::from(edns.is_some_and(|e| e.do_bit))
        | u8::from(view.cd()) << 1
        | u8::from(edns.is_some()) << 2;
    key.push(flags);
    key
}

impl PacketCache {
    /// An empty cache for `config`.
    pub fn new(config: &CacheConfig) -> PacketCache {
        PacketCache {
            entries: Cache::new(config.size.max(1)),
            max_ttl: config.max_ttl,
        }
    }

    /// Writes the cached answer to the query `view` into `out` when there is a
    /// live one no larger than `limit` bytes.
    pub fn get(&self, key: &[u8], view: &QueryView<'_>, limit: usize, out: &mut Vec<u8>) -> bool {
        let Some(entry) = self.entries.get(key) else {
            return false;
        };
        let age = entry.stored.elapsed();
        if age >= entry.lifetime || entry.wire.len() > limit {
            return false;
        }
        out.clear();
        out.extend_from_slice(&entry.wire);
        // The client's ID and its spelling of the name (same length: the key
        // ignores only case).
        let question = view.header_and_question();
        out[..2].copy_from_slice(&question[..2]);
        let name_end = 12 + view.qname_wire().len();
        if out.len() >= name_end {
            out[12..name_end].copy_from_slice(view.qname_wire());
        }
        let elapsed = u32::try_from(age.as_secs()).unwrap_or(u32::MAX);
        patch_ttls(out, &entry.ttl_offsets, elapsed);
        true
    }

    /// Keeps `response` under `key` if it can be cached.
    pub fn put(&self, key: Vec<u8>, response: &[u8]) {
        if response.len() < 12 {
            return;
        }
        let rcode = response[3] & 0x0F;
        let truncated = response[2] & 0x02 != 0;
        if truncated || !(rcode == 0 || rcode == 3) {
            return;
        }
        let Ok(shape) = layout(response) else {
            return;
        };
        let Some(min_ttl) = shape.min_ttl.filter(|&t| t > 0) else {
            return;
        };
        let lifetime = Duration::from_secs(u64::from(min_ttl)).min(self.max_ttl);
        self.entries.insert(
            key,
            Arc::new(Entry {
                wire: response.to_vec(),
                ttl_offsets: shape.ttl_offsets,
                stored: Instant::now(),
                lifetime,
            }),
        );
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }
}
