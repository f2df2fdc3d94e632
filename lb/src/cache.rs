//! The optional packet cache (off by default, as dnsdist's): whole responses
//! keyed on the question (name without regard to case, type, class) plus the
//! DO and CD bits and whether the query had EDNS, served with the client's ID,
//! the client's spelling of the name and every TTL reduced by the entry's age.
//!
//! Two parts with capacities of their own, as CoreDNS's `success` and
//! `denial` (node-local-dns' settings): answers (NOERROR with records) are
//! kept for their smallest TTL, capped by `max-ttl`; denials (NXDOMAIN, or
//! NOERROR without answers) for RFC 2308's negative TTL, the smaller of the
//! SOA's TTL and MINIMUM, capped by `denial-max-ttl`, and not at all without
//! an SOA. Either lives at least `min-ttl`. Truncated responses, other
//! rcodes and records with a zero TTL are not kept.
//!
//! With `serve-stale`, an entry that expired less than that long ago is the
//! answer when no backend gives one (timeouts, every backend down, a
//! backend's SERVFAIL), with its TTLs at 30 s (RFC 8767 §4).
//!
//! HOT PATH: a hit is one or two concurrent-map lookups, one copy and the
//! TTL patch.

use std::sync::Arc;
use std::time::Duration;

use common::dns::edns::EdnsInfo;
use common::dns::wire::{layout, patch_ttls, set_ttls, QueryView};
use quick_cache::sync::Cache;
use tokio::time::Instant;

/// The TTL of a stale answer (RFC 8767 §4: 30 s is recommended).
pub const STALE_TTL: u32 = 30;

/// The packet-cache settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Answers kept at most (`size`).
    pub size: usize,
    /// The longest an answer is served, whatever its TTLs say.
    pub max_ttl: Duration,
    /// Denials kept at most (`denial-size`; default: `size`).
    pub denial_size: usize,
    /// The longest a denial is served (`denial-max-ttl`; CoreDNS's 1800 s).
    pub denial_max_ttl: Duration,
    /// The shortest any entry is kept (`min-ttl`; default 0).
    pub min_ttl: Duration,
    /// How long past expiry an entry may still answer when no backend does
    /// (`serve-stale`; default off).
    pub serve_stale: Option<Duration>,
}

impl CacheConfig {
    /// `size` entries of each kind, answers for at most `max_ttl`, the
    /// other settings at their defaults.
    pub fn with_size(size: usize, max_ttl: Duration) -> CacheConfig {
        CacheConfig {
            size,
            max_ttl,
            denial_size: size,
            denial_max_ttl: Duration::from_secs(1800),
            min_ttl: Duration::ZERO,
            serve_stale: None,
        }
    }
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
    answers: Cache<Vec<u8>, Arc<Entry>>,
    denials: Cache<Vec<u8>, Arc<Entry>>,
    max_ttl: Duration,
    denial_max_ttl: Duration,
    min_ttl: Duration,
    serve_stale: Option<Duration>,
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
            answers: Cache::new(config.size.max(1)),
            denials: Cache::new(config.denial_size.max(1)),
            max_ttl: config.max_ttl,
            denial_max_ttl: config.denial_max_ttl,
            min_ttl: config.min_ttl,
            serve_stale: config.serve_stale,
        }
    }

    /// Writes the cached answer to the query `view` into `out` when there is a
    /// live one no larger than `limit` bytes.
    pub fn get(&self, key: &[u8], view: &QueryView<'_>, limit: usize, out: &mut Vec<u8>) -> bool {
        let Some(entry) = self.lookup(key) else {
            return false;
        };
        let age = entry.stored.elapsed();
        if age >= entry.lifetime || entry.wire.len() > limit {
            return false;
        }
        write(&entry, view, out);
        let elapsed = u32::try_from(age.as_secs()).unwrap_or(u32::MAX);
        patch_ttls(out, &entry.ttl_offsets, elapsed);
        true
    }

    /// With `serve-stale`: writes an entry for `view` that expired less than
    /// that long ago into `out`, its TTLs at [`STALE_TTL`], when no backend
    /// gave an answer. False when there is none (or serve-stale is off).
    pub fn get_stale(
        &self,
        key: &[u8],
        view: &QueryView<'_>,
        limit: usize,
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(window) = self.serve_stale else {
            return false;
        };
        let Some(entry) = self.lookup(key) else {
            return false;
        };
        if entry.stored.elapsed() >= entry.lifetime + window || entry.wire.len() > limit {
            return false;
        }
        write(&entry, view, out);
        set_ttls(out, &entry.ttl_offsets, STALE_TTL);
        true
    }

    fn lookup(&self, key: &[u8]) -> Option<Arc<Entry>> {
        self.answers.get(key).or_else(|| self.denials.get(key))
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
        let denial = rcode == 3 || response[6..8] == [0, 0];
        let (ttl, cap) = if denial {
            (shape.negative_ttl, self.denial_max_ttl)
        } else {
            (shape.min_ttl, self.max_ttl)
        };
        let Some(ttl) = ttl.filter(|&t| t > 0) else {
            return;
        };
        let lifetime = Duration::from_secs(u64::from(ttl))
            .min(cap)
            .max(self.min_ttl);
        let entry = Arc::new(Entry {
            wire: response.to_vec(),
            ttl_offsets: shape.ttl_offsets,
            stored: Instant::now(),
            lifetime,
        });
        // A name whose answer changed kind leaves the other part.
        let (into, other) = if denial {
            (&self.denials, &self.answers)
        } else {
            (&self.answers, &self.denials)
        };
        other.remove(&key);
        into.insert(key, entry);
    }

    /// Entries held: (answers, denials).
    pub fn counts(&self) -> (usize, usize) {
        (self.answers.len(), self.denials.len())
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.answers.len() + self.denials.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes `entry` as the reply to `view` into `out`: the client's ID and
/// its spelling of the name (same length: the key ignores only case).
fn write(entry: &Entry, view: &QueryView<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&entry.wire);
    let question = view.header_and_question();
    out[..2].copy_from_slice(&question[..2]);
    let name_end = 12 + view.qname_wire().len();
    if out.len() >= name_end {
        out[12..name_end].copy_from_slice(view.qname_wire());
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
        PacketCache::new(&CacheConfig::with_size(8, Duration::from_secs(3600)))
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

    /// The answer to [`query`]: one A record with `ttl`.
    fn answer(ttl: u32) -> Vec<u8> {
        let mut response = query();
        response[2] = 0x81;
        response[3] = 0x80;
        response[7] = 1;
        response.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        response.extend_from_slice(&ttl.to_be_bytes());
        response.extend_from_slice(&[0, 4, 192, 0, 2, 1]);
        response
    }

    /// NXDOMAIN for [`query`] with example.com's SOA (TTL `ttl`, MINIMUM
    /// `minimum`), or without an SOA.
    fn nxdomain(soa: Option<(u32, u32)>) -> Vec<u8> {
        let mut response = query();
        response[2] = 0x81;
        response[3] = 0x83;
        if let Some((ttl, minimum)) = soa {
            response[9] = 1;
            response.extend_from_slice(&[0xc0, 16, 0, 6, 0, 1]);
            response.extend_from_slice(&ttl.to_be_bytes());
            response.extend_from_slice(&[0, 29, 2, b'n', b's', 0xc0, 16, 1, b'h', 0xc0, 16]);
            for field in [1u32, 7200, 900, 1_209_600, minimum] {
                response.extend_from_slice(&field.to_be_bytes());
            }
        }
        response
    }

    fn settings() -> CacheConfig {
        CacheConfig::with_size(8, Duration::from_secs(3600))
    }

    /// RFC 2308 §5: a denial lives for the smaller of the SOA's TTL and
    /// MINIMUM (capped by denial-max-ttl), in the denial part; without an
    /// SOA it is not kept.
    #[tokio::test(start_paused = true)]
    async fn denials_live_for_the_negative_ttl_of_their_soa() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(&settings());
        packets.put(key(&view, None), &nxdomain(None));
        assert!(packets.is_empty(), "no SOA, not cached");
        packets.put(key(&view, None), &nxdomain(Some((3600, 300))));
        assert_eq!(packets.counts(), (0, 1));
        let mut out = Vec::new();
        tokio::time::advance(Duration::from_secs(299)).await;
        assert!(packets.get(&key(&view, None), &view, 512, &mut out));
        assert_eq!(out[3] & 0x0F, 3);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            !packets.get(&key(&view, None), &view, 512, &mut out),
            "past MINIMUM"
        );

        let capped = PacketCache::new(&CacheConfig {
            denial_max_ttl: Duration::from_secs(5),
            ..settings()
        });
        capped.put(key(&view, None), &nxdomain(Some((3600, 300))));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(
            !capped.get(&key(&view, None), &view, 512, &mut out),
            "past denial-max-ttl"
        );
    }

    /// A name whose answer changes kind moves between the parts.
    #[tokio::test(start_paused = true)]
    async fn answers_and_denials_have_parts_of_their_own() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(&settings());
        packets.put(key(&view, None), &answer(60));
        assert_eq!(packets.counts(), (1, 0));
        packets.put(key(&view, None), &nxdomain(Some((60, 60))));
        assert_eq!(packets.counts(), (0, 1));
    }

    /// min-ttl keeps an entry longer than its records say.
    #[tokio::test(start_paused = true)]
    async fn min_ttl_keeps_short_lived_entries() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(&CacheConfig {
            min_ttl: Duration::from_secs(10),
            ..settings()
        });
        packets.put(key(&view, None), &answer(1));
        tokio::time::advance(Duration::from_secs(5)).await;
        let mut out = Vec::new();
        assert!(packets.get(&key(&view, None), &view, 512, &mut out));
    }

    /// serve-stale: past its TTL an entry is no answer, but is the stale
    /// answer (TTL 30) within the window, and nothing after it.
    #[tokio::test(start_paused = true)]
    async fn stale_entries_answer_only_within_the_window() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(&CacheConfig {
            serve_stale: Some(Duration::from_secs(120)),
            ..settings()
        });
        packets.put(key(&view, None), &answer(60));
        let mut out = Vec::new();
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!packets.get(&key(&view, None), &view, 512, &mut out));
        assert!(packets.get_stale(&key(&view, None), &view, 512, &mut out));
        let ttl_at = out.len() - 10;
        assert_eq!(out[ttl_at..ttl_at + 4], STALE_TTL.to_be_bytes());
        assert_eq!(out[..2], wire[..2], "the client's ID");
        tokio::time::advance(Duration::from_secs(120)).await;
        assert!(
            !packets.get_stale(&key(&view, None), &view, 512, &mut out),
            "past the window"
        );
        let off = PacketCache::new(&settings());
        off.put(key(&view, None), &answer(60));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(
            !off.get_stale(&key(&view, None), &view, 512, &mut out),
            "serve-stale off"
        );
    }
}
