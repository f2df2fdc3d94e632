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
        // Only a response carrying the question it is keyed under: a backend
        // may answer without one (passed on to that client, as dnsdist does),
        // and a hit writes the client's name over the question's bytes, which
        // in such a response are a record's (a corrupt answer for everyone).
        let same_question = QueryView::parse(response).is_ok_and(|view| {
            let own = self::key(&view, None);
            key.len() == own.len() && key[..key.len() - 1] == own[..own.len() - 1]
        });
        if !same_question {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// `www.Example.com. A IN` with ID 0x1234 and RD.
    fn query() -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x03www\x07Example\x03com\x00\x00\x01\x00\x01");
        q
    }

    fn cache() -> PacketCache {
        PacketCache::new(&CacheConfig {
            size: 8,
            max_ttl: Duration::from_secs(3600),
        })
    }

    /// Found by the `response_path` fuzz target: a NOERROR or NXDOMAIN
    /// without a question (a backend's, accepted for the ID in flight) was
    /// cached, and every later hit wrote the client's name over the first
    /// record, serving a corrupt message until its TTL ran out.
    #[tokio::test]
    async fn a_response_without_the_question_is_not_cached() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = cache();
        // NXDOMAIN, QDCOUNT 0, one SOA in the authority section.
        let mut response = vec![0x12, 0x34, 0x81, 0x83, 0, 0, 0, 0, 0, 1, 0, 0];
        response
            .extend_from_slice(b"\x07example\x03com\x00\x00\x06\x00\x01\x00\x00\x0e\x10\x00\x16");
        response.extend_from_slice(b"\x00\x00\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x02\x58\x00\x01\x51\x80\x00\x00\x01\x2c");
        packets.put(key(&view, None), &response);
        assert!(packets.is_empty());
        // Another question under this key: not cached either.
        let mut other = query();
        other[3] = 0x80;
        other[2] = 0x81;
        other[13] = b'x';
        packets.put(key(&view, None), &other);
        assert!(packets.is_empty());
    }

    /// The question's own response is cached and served with the client's
    /// ID and spelling of the name.
    #[tokio::test]
    async fn a_response_with_the_question_is_served_in_the_clients_spelling() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = cache();
        let mut response = wire.clone();
        response[2] = 0x81;
        response[3] = 0x80;
        response[7] = 1;
        response[17..24].copy_from_slice(b"EXAMPLE");
        response.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1]);
        packets.put(key(&view, None), &response);
        assert_eq!(packets.len(), 1);
        let mut out = Vec::new();
        assert!(packets.get(&key(&view, None), &view, 512, &mut out));
        assert_eq!(&out[12..29], &wire[12..29]);
        assert_eq!(&out[29..], &response[29..]);
    }
}
