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
//! rcodes and records with a zero TTL are not kept. Both parts together hold
//! at most `max-memory` bytes (records and their index; shared in
//! proportion to the parts' sizes), whatever the entry counts allow.
//!
//! With `serve-stale`, an entry that expired less than that long ago is the
//! answer when no backend gives one (timeouts, every backend down, a
//! backend's SERVFAIL), with its TTLs at 30 s (RFC 8767 §4).
//!
//! With `prefetch` (CoreDNS's): an entry asked for `amount` times without a
//! gap of `prefetch-window` is fetched again, once, when a hit finds less
//! than `prefetch-percentage` of its lifetime left, so popular names never
//! miss.
//!
//! HOT PATH: a hit is one or two table lookups under a shard's read lock,
//! one copy and the TTL patch. Record times are kept to a tenth of a
//! second.

mod store;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::dns::edns::EdnsInfo;
use common::dns::wire::{layout, patch_ttls, set_ttls, QueryView};
use tokio::time::Instant;

pub use store::TagStats;
use store::{AnyPart, NewRecord, Record};

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
    /// The most bytes both parts hold, records and index (`max-memory`;
    /// default [`DEFAULT_MAX_MEMORY`]).
    pub max_memory: usize,
    /// Refreshing popular entries before they expire (`prefetch`; default off).
    pub prefetch: Option<Prefetch>,
}

/// `max-memory`'s default: 64 MiB, within a node-local agent's usual limit.
pub const DEFAULT_MAX_MEMORY: usize = 64 << 20;

/// When a hit refreshes its entry (CoreDNS's `prefetch AMOUNT DURATION
/// PERCENTAGE%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefetch {
    /// Hits that make an entry popular (`prefetch`).
    pub amount: u16,
    /// The longest gap between those hits (`prefetch-window`; default 1 min).
    pub window: Duration,
    /// Refresh when less than this share of the lifetime is left
    /// (`prefetch-percentage`; default 10).
    pub percentage: u8,
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
            max_memory: DEFAULT_MAX_MEMORY,
            prefetch: None,
        }
    }
}

/// A hit: the answer is written; `Refresh` also asks the caller to fetch
/// the entry again now (prefetch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Answered from the cache.
    Answered,
    /// Answered, and the entry is popular and about to expire: fetch it again.
    Refresh,
}

/// The cache.
pub struct PacketCache {
    answers: Box<dyn AnyPart>,
    denials: Box<dyn AnyPart>,
    /// What the records' times count from.
    epoch: Instant,
    max_ttl: Duration,
    denial_max_ttl: Duration,
    min_ttl: Duration,
    serve_stale: Option<Duration>,
    prefetch: Option<Prefetch>,
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

/// The heat word of an entry: the second of its last hit (low 16 bits), its
/// hits without a long gap (15 bits) and whether its refresh was asked for.
const HITS_SHIFT: u32 = 16;
const HITS_MAX: u32 = 0x7FFF;
const REFRESH_ASKED: u32 = 1 << 31;

impl PacketCache {
    /// An empty cache for `config`, counting entries under `tags` tags
    /// (node-local: one per zone).
    pub fn new(config: &CacheConfig, tags: usize) -> PacketCache {
        let (size, denial_size) = (config.size.max(1), config.denial_size.max(1));
        let answer_bytes = (config.max_memory as u128 * size as u128
            / (size as u128 + denial_size as u128)) as usize;
        let linger = config
            .serve_stale
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        PacketCache {
            answers: store::part(size, answer_bytes, tags, linger, config.prefetch.is_some()),
            denials: store::part(
                denial_size,
                config.max_memory - answer_bytes,
                tags,
                linger,
                config.prefetch.is_some(),
            ),
            epoch: Instant::now(),
            max_ttl: config.max_ttl,
            denial_max_ttl: config.denial_max_ttl,
            min_ttl: config.min_ttl,
            serve_stale: config.serve_stale,
            prefetch: config.prefetch,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Writes the cached answer to the query `view` into `out` when there is a
    /// live one no larger than `limit` bytes.
    pub fn get(
        &self,
        key: &[u8],
        view: &QueryView<'_>,
        limit: usize,
        out: &mut Vec<u8>,
    ) -> Option<Hit> {
        let now = self.now_ms();
        self.lookup(key, |record, heat| {
            let age = now.saturating_sub(record.stored_ms());
            let lifetime = u64::from(record.lifetime_secs()) * 1000;
            if age >= lifetime || reply_len(record, view) > limit {
                return None;
            }
            write(record, view, out);
            let elapsed = u32::try_from(age / 1000).unwrap_or(u32::MAX);
            patch_ttls(out, record.ttl_offsets(), elapsed);
            Some(if self.refresh_due(heat, now, lifetime - age, lifetime) {
                Hit::Refresh
            } else {
                Hit::Answered
            })
        })
    }

    /// Counts a hit on an entry with `left` of its `lifetime` (ms) to go;
    /// true once when it is popular and about to expire (prefetch).
    fn refresh_due(&self, heat: Option<&AtomicU32>, now_ms: u64, left: u64, lifetime: u64) -> bool {
        let (Some(prefetch), Some(heat)) = (self.prefetch, heat) else {
            return false;
        };
        let second = (now_ms / 1000) as u32 & 0xFFFF;
        let window = prefetch.window.as_secs();
        let mut due = false;
        let _ = heat.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
            let last = word & 0xFFFF;
            let hits = (word >> HITS_SHIFT) & HITS_MAX;
            let asked = word & REFRESH_ASKED != 0;
            let gap = u64::from(second.wrapping_sub(last) & 0xFFFF);
            let hits = if hits == 0 || gap >= window {
                1
            } else {
                (hits + 1).min(HITS_MAX)
            };
            due = !asked
                && hits >= u32::from(prefetch.amount)
                && left * 100 <= lifetime * u64::from(prefetch.percentage);
            let flag = if asked || due { REFRESH_ASKED } else { 0 };
            Some(second | hits << HITS_SHIFT | flag)
        });
        due
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
        let now = self.now_ms();
        let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        self.lookup(key, |record, _| {
            let age = now.saturating_sub(record.stored_ms());
            let lifetime = u64::from(record.lifetime_secs()) * 1000;
            if age >= lifetime.saturating_add(window) || reply_len(record, view) > limit {
                return None;
            }
            write(record, view, out);
            set_ttls(out, record.ttl_offsets(), STALE_TTL);
            Some(())
        })
        .is_some()
    }

    /// `found` on the entry under `key` in either part.
    fn lookup<R>(
        &self,
        key: &[u8],
        mut found: impl FnMut(Record<'_>, Option<&AtomicU32>) -> Option<R>,
    ) -> Option<R> {
        let mut result = None;
        let mut visit = |record: Record<'_>, heat: Option<&AtomicU32>| result = found(record, heat);
        if !self.answers.visit(key, &mut visit) {
            self.denials.visit(key, &mut visit);
        }
        result
    }

    /// Keeps `response` under `key` if it can be cached, counted under `tag`.
    pub fn put(&self, key: Vec<u8>, response: &[u8], tag: u8) {
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
        // and a hit writes the client's question in place of the response's.
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
        if shape.question_end != 12 + key.len() - 1 {
            return;
        }
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
        let record = NewRecord {
            stored_ms: self.now_ms(),
            lifetime_secs: u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX),
            tag,
            key: &key,
            ttl_offsets: &shape.ttl_offsets,
            header: &response[..12],
            tail: &response[shape.question_end..],
        };
        // A name whose answer changed kind leaves the other part.
        let (into, other) = if denial {
            (&self.denials, &self.answers)
        } else {
            (&self.answers, &self.denials)
        };
        other.remove(&key);
        into.insert(&record);
    }

    /// Entries held: (answers, denials).
    pub fn counts(&self) -> (usize, usize) {
        (self.answers.len(), self.denials.len())
    }

    /// What is counted under `tag`: (answers, denials).
    pub fn tag_stats(&self, tag: u8) -> (TagStats, TagStats) {
        (self.answers.tag_stats(tag), self.denials.tag_stats(tag))
    }

    /// Bytes held by both parts (records and index).
    pub fn memory(&self) -> usize {
        self.answers.bytes() + self.denials.bytes()
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

/// The size of `record` as the reply to `view`.
fn reply_len(record: Record<'_>, view: &QueryView<'_>) -> usize {
    view.header_and_question().len() + record.flags_counts_and_tail().1.len()
}

/// Writes `record` as the reply to `view` into `out`: the client's ID and
/// question (the key ignores only case, so its length is the record's) in
/// the record's header.
fn write(record: Record<'_>, view: &QueryView<'_>, out: &mut Vec<u8>) {
    let (flags_counts, tail) = record.flags_counts_and_tail();
    let question = view.header_and_question();
    out.clear();
    out.extend_from_slice(&question[..2]);
    out.extend_from_slice(&flags_counts[..2]);
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&flags_counts[2..]);
    out.extend_from_slice(&question[12..]);
    out.extend_from_slice(tail);
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
        PacketCache::new(&CacheConfig::with_size(8, Duration::from_secs(3600)), 1)
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
        packets.put(key(&view, None), &response, 0);
        assert!(packets.is_empty());
        // Another question under this key: not cached either.
        let mut other = query();
        other[3] = 0x80;
        other[2] = 0x81;
        other[13] = b'x';
        packets.put(key(&view, None), &other, 0);
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
        packets.put(key(&view, None), &response, 0);
        assert_eq!(packets.len(), 1);
        let mut out = Vec::new();
        assert!(packets
            .get(&key(&view, None), &view, 512, &mut out)
            .is_some());
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
        let packets = PacketCache::new(&settings(), 1);
        packets.put(key(&view, None), &nxdomain(None), 0);
        assert!(packets.is_empty(), "no SOA, not cached");
        packets.put(key(&view, None), &nxdomain(Some((3600, 300))), 0);
        assert_eq!(packets.counts(), (0, 1));
        let mut out = Vec::new();
        tokio::time::advance(Duration::from_secs(299)).await;
        assert!(packets
            .get(&key(&view, None), &view, 512, &mut out)
            .is_some());
        assert_eq!(out[3] & 0x0F, 3);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            packets
                .get(&key(&view, None), &view, 512, &mut out)
                .is_none(),
            "past MINIMUM"
        );

        let capped = PacketCache::new(
            &CacheConfig {
                denial_max_ttl: Duration::from_secs(5),
                ..settings()
            },
            1,
        );
        capped.put(key(&view, None), &nxdomain(Some((3600, 300))), 0);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(
            capped
                .get(&key(&view, None), &view, 512, &mut out)
                .is_none(),
            "past denial-max-ttl"
        );
    }

    /// A name whose answer changes kind moves between the parts.
    #[tokio::test(start_paused = true)]
    async fn answers_and_denials_have_parts_of_their_own() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(&settings(), 1);
        packets.put(key(&view, None), &answer(60), 0);
        assert_eq!(packets.counts(), (1, 0));
        packets.put(key(&view, None), &nxdomain(Some((60, 60))), 0);
        assert_eq!(packets.counts(), (0, 1));
    }

    /// min-ttl keeps an entry longer than its records say.
    #[tokio::test(start_paused = true)]
    async fn min_ttl_keeps_short_lived_entries() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(
            &CacheConfig {
                min_ttl: Duration::from_secs(10),
                ..settings()
            },
            1,
        );
        packets.put(key(&view, None), &answer(1), 0);
        tokio::time::advance(Duration::from_secs(5)).await;
        let mut out = Vec::new();
        assert!(packets
            .get(&key(&view, None), &view, 512, &mut out)
            .is_some());
    }

    /// serve-stale: past its TTL an entry is no answer, but is the stale
    /// answer (TTL 30) within the window, and nothing after it.
    #[tokio::test(start_paused = true)]
    async fn stale_entries_answer_only_within_the_window() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(
            &CacheConfig {
                serve_stale: Some(Duration::from_secs(120)),
                ..settings()
            },
            1,
        );
        packets.put(key(&view, None), &answer(60), 0);
        let mut out = Vec::new();
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(packets
            .get(&key(&view, None), &view, 512, &mut out)
            .is_none());
        assert!(packets.get_stale(&key(&view, None), &view, 512, &mut out));
        let ttl_at = out.len() - 10;
        assert_eq!(out[ttl_at..ttl_at + 4], STALE_TTL.to_be_bytes());
        assert_eq!(out[..2], wire[..2], "the client's ID");
        tokio::time::advance(Duration::from_secs(120)).await;
        assert!(
            !packets.get_stale(&key(&view, None), &view, 512, &mut out),
            "past the window"
        );
        let off = PacketCache::new(&settings(), 1);
        off.put(key(&view, None), &answer(60), 0);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(
            !off.get_stale(&key(&view, None), &view, 512, &mut out),
            "serve-stale off"
        );
    }

    /// prefetch: the hit that finds a popular entry (amount hits without a
    /// gap of the window) with less than the percentage of its lifetime
    /// left asks for a refresh, once; a new answer starts over.
    #[tokio::test(start_paused = true)]
    async fn a_popular_entry_near_its_end_asks_for_one_refresh() {
        let wire = query();
        let view = QueryView::parse(&wire).unwrap();
        let packets = PacketCache::new(
            &CacheConfig {
                prefetch: Some(Prefetch {
                    amount: 2,
                    window: Duration::from_secs(60),
                    percentage: 10,
                }),
                ..settings()
            },
            1,
        );
        let mut out = Vec::new();
        let mut get = || packets.get(&key(&view, None), &view, 512, &mut out);
        packets.put(key(&view, None), &answer(100), 0);
        assert_eq!(get(), Some(Hit::Answered), "one hit: not popular yet");
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(
            get(),
            Some(Hit::Answered),
            "popular, but half its life left"
        );
        tokio::time::advance(Duration::from_secs(41)).await;
        assert_eq!(get(), Some(Hit::Refresh), "popular with 9 % left");
        assert_eq!(get(), Some(Hit::Answered), "asked once only");
        packets.put(key(&view, None), &answer(100), 0);
        let mut get = || packets.get(&key(&view, None), &view, 512, &mut out);
        assert_eq!(
            get(),
            Some(Hit::Answered),
            "the new answer's heat starts over"
        );
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(get(), Some(Hit::Answered));
        tokio::time::advance(Duration::from_secs(45)).await;
        assert_eq!(get(), Some(Hit::Refresh), "popular again, 5 % left");

        // Hits further apart than the window do not make it popular.
        let sparse = PacketCache::new(
            &CacheConfig {
                prefetch: Some(Prefetch {
                    amount: 2,
                    window: Duration::from_secs(5),
                    percentage: 10,
                }),
                ..settings()
            },
            1,
        );
        sparse.put(key(&view, None), &answer(100), 0);
        let mut out = Vec::new();
        for _ in 0..9 {
            let hit = sparse.get(&key(&view, None), &view, 512, &mut out);
            assert_eq!(hit, Some(Hit::Answered));
            tokio::time::advance(Duration::from_secs(10)).await;
        }
        assert_eq!(
            sparse.get(&key(&view, None), &view, 512, &mut out),
            Some(Hit::Answered),
            "9 % left, but one hit per 10 s"
        );
    }

    /// max-memory bounds what both parts hold, whatever their entry counts.
    #[tokio::test(start_paused = true)]
    async fn the_memory_bound_holds() {
        let packets = PacketCache::new(
            &CacheConfig {
                size: 10_000,
                denial_size: 10_000,
                max_memory: 64 << 10,
                ..settings()
            },
            1,
        );
        for i in 0..2000 {
            let mut wire = query();
            wire[13..16].copy_from_slice(format!("{:03}", i % 1000).as_bytes());
            wire[17] = b'a' + (i / 1000) as u8;
            let view = QueryView::parse(&wire).unwrap();
            let mut response = answer(60);
            response[12..29].copy_from_slice(&wire[12..29]);
            packets.put(key(&view, None), &response, 0);
            assert!(packets.memory() <= 64 << 10, "{} bytes", packets.memory());
        }
        let held = packets.counts().0;
        assert!(held > 150 && held < 2000, "{held} answers");
    }
}
