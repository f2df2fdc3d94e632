//! One part of the packet cache (answers or denials): bounded in entries
//! and in bytes, each entry one allocation.
//!
//! Why not a general-purpose cache crate: a node-local agent is judged by
//! its resident memory, and a general map of `key -> Arc<value>` costs
//! three allocations and about 290 bytes for a 60-byte answer. Here an
//! entry is one record (`[Record]`: its times, its key, its TTL offsets and
//! the response without the question, which a hit takes from the query)
//! in a slot of a slab, found through a table of slot numbers: about 110
//! bytes for the same answer. Lookups take a shard's read lock and copy the
//! record out under it, so a hit costs no reference count.
//!
//! When a shard is full (in entries or bytes) the entry that expires first
//! among a few taken from a random place goes, as CoreDNS evicts at random,
//! with a preference for the dead.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

/// What an entry costs beyond its record: its slot and its share of the
/// table (counted against the byte bound).
pub const ENTRY_OVERHEAD: usize = 32;

/// How many occupied slots an eviction compares.
const EVICTION_SAMPLE: usize = 4;

/// The bytes of a record before its key.
const HEAD: usize = 17;

/// A cached response as stored: one allocation.
///
/// | bytes | field |
/// |---|---|
/// | 0..8 | stored, milliseconds since the cache's epoch |
/// | 8..12 | lifetime, seconds |
/// | 12..14 | key length |
/// | 14..16 | number of TTL offsets |
/// | 16 | tag (node-local: the zone it counts under) |
/// | 17.. | key, TTL offsets (u16 each, into the response), header (12), the sections after the question |
#[derive(Clone, Copy)]
pub struct Record<'a>(&'a [u8]);

/// What a record is made of.
pub struct NewRecord<'a> {
    /// When it was stored (milliseconds since the cache's epoch).
    pub stored_ms: u64,
    /// How long it may be served, in seconds.
    pub lifetime_secs: u32,
    /// The count it is kept under.
    pub tag: u8,
    /// The cache key.
    pub key: &'a [u8],
    /// Where the response's TTLs are.
    pub ttl_offsets: &'a [u16],
    /// The response's header.
    pub header: &'a [u8],
    /// The response after its question.
    pub tail: &'a [u8],
}

impl NewRecord<'_> {
    /// The record's bytes, or None when a length does not fit its field.
    pub fn build(&self) -> Option<Box<[u8]>> {
        let key_len = u16::try_from(self.key.len()).ok()?;
        let offsets = u16::try_from(self.ttl_offsets.len()).ok()?;
        let len = HEAD
            + self.key.len()
            + 2 * self.ttl_offsets.len()
            + self.header.len()
            + self.tail.len();
        let mut bytes = Vec::with_capacity(len);
        bytes.extend_from_slice(&self.stored_ms.to_le_bytes());
        bytes.extend_from_slice(&self.lifetime_secs.to_le_bytes());
        bytes.extend_from_slice(&key_len.to_le_bytes());
        bytes.extend_from_slice(&offsets.to_le_bytes());
        bytes.push(self.tag);
        bytes.extend_from_slice(self.key);
        for offset in self.ttl_offsets {
            bytes.extend_from_slice(&offset.to_le_bytes());
        }
        bytes.extend_from_slice(self.header);
        bytes.extend_from_slice(self.tail);
        Some(bytes.into_boxed_slice())
    }
}

impl<'a> Record<'a> {
    fn u16_at(&self, at: usize) -> usize {
        usize::from(u16::from_le_bytes([self.0[at], self.0[at + 1]]))
    }

    /// When it was stored (milliseconds since the cache's epoch).
    pub fn stored_ms(&self) -> u64 {
        let mut b = [0; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }

    /// How long it may be served, in seconds.
    pub fn lifetime_secs(&self) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.0[8..12]);
        u32::from_le_bytes(b)
    }

    /// When it stops being an answer (milliseconds since the epoch).
    pub fn expires_ms(&self) -> u64 {
        self.stored_ms() + u64::from(self.lifetime_secs()) * 1000
    }

    /// The count it is kept under.
    pub fn tag(&self) -> u8 {
        self.0[16]
    }

    /// The cache key.
    pub fn key(&self) -> &'a [u8] {
        &self.0[HEAD..HEAD + self.u16_at(12)]
    }

    /// Where the response's TTLs are.
    pub fn ttl_offsets(&self) -> impl Iterator<Item = u16> + 'a {
        let start = HEAD + self.u16_at(12);
        let bytes = &self.0[start..start + 2 * self.u16_at(14)];
        bytes
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
    }

    /// The response's header and the sections after its question.
    pub fn header_and_tail(&self) -> (&'a [u8], &'a [u8]) {
        let start = HEAD + self.u16_at(12) + 2 * self.u16_at(14);
        let rest = &self.0[start..];
        rest.split_at(12.min(rest.len()))
    }
}

/// A slab slot: a record and its popularity, for prefetch.
struct Slot {
    record: Option<Box<[u8]>>,
    heat: AtomicU32,
}

/// One lock's worth of a part.
struct Shard {
    /// Slot numbers, by the hash of their record's key.
    index: HashTable<u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    entries: usize,
    bytes: usize,
    /// xorshift state for the eviction's starting point.
    rng: u64,
}

/// Per-tag counts of a part.
#[derive(Default)]
struct TagCounts {
    entries: AtomicUsize,
    evictions: AtomicU64,
}

/// One part: a bounded map from cache key to record.
pub struct Part {
    shards: Box<[RwLock<Shard>]>,
    hasher: DefaultHashBuilder,
    max_entries: usize,
    max_bytes: usize,
    bytes: AtomicUsize,
    tags: Box<[TagCounts]>,
}

/// The entries and evictions counted under one tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagStats {
    /// Entries held.
    pub entries: usize,
    /// Entries evicted to make room since the start.
    pub evictions: u64,
}

impl Part {
    /// A part of at most `entries` entries and `bytes` bytes (records and
    /// [`ENTRY_OVERHEAD`]), counting under `tags` tags.
    pub fn new(entries: usize, bytes: usize, tags: usize) -> Part {
        let entries = entries.max(1);
        // About 64 entries a shard at least; 32 shards at most.
        let shards = (entries / 64).clamp(1, 32).next_power_of_two();
        let hasher = DefaultHashBuilder::default();
        Part {
            shards: (0..shards)
                .map(|i| {
                    RwLock::new(Shard {
                        index: HashTable::new(),
                        slots: Vec::new(),
                        free: Vec::new(),
                        entries: 0,
                        bytes: 0,
                        rng: 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1),
                    })
                })
                .collect(),
            hasher,
            max_entries: entries.div_ceil(shards),
            max_bytes: bytes.div_ceil(shards),
            bytes: AtomicUsize::new(0),
            tags: (0..tags.max(1)).map(|_| TagCounts::default()).collect(),
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        // The table uses the hash's low and top bits; the shard takes others.
        let bits = (hash >> 32) as usize;
        &self.shards[bits & (self.shards.len() - 1)]
    }

    /// Calls `found` with the record under `key` and its heat while the
    /// shard is locked for reading.
    pub fn with<R>(
        &self,
        key: &[u8],
        found: impl FnOnce(Record<'_>, &AtomicU32) -> R,
    ) -> Option<R> {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash).read();
        let &slot = shard.index.find(hash, |&i| shard.key_of(i) == Some(key))?;
        let slot = &shard.slots[slot as usize];
        let record = slot.record.as_deref()?;
        Some(found(Record(record), &slot.heat))
    }

    /// Keeps `record` (built by [`NewRecord::build`]), replacing what was
    /// under its key and evicting to stay within the bounds. Returns false
    /// when the record alone is over a shard's byte bound.
    pub fn insert(&self, record: Box<[u8]>) -> bool {
        let cost = record.len() + ENTRY_OVERHEAD;
        if cost > self.max_bytes {
            return false;
        }
        let key = Record(&record).key();
        let hash = self.hasher.hash_one(key);
        let tag = self.tag(Record(&record).tag());
        let mut shard = self.shard(hash).write();
        if let Some(&i) = shard.index.find(hash, |&i| shard.key_of(i) == Some(key)) {
            let slot = &mut shard.slots[i as usize];
            let old = slot.record.replace(record);
            slot.heat.store(0, Ordering::Relaxed);
            let old_cost = old.as_ref().map_or(0, |r| r.len() + ENTRY_OVERHEAD);
            if let Some(old) = &old {
                self.tags[self.tag(Record(old).tag())]
                    .entries
                    .fetch_sub(1, Ordering::Relaxed);
            }
            self.tags[tag].entries.fetch_add(1, Ordering::Relaxed);
            shard.bytes = shard.bytes + cost - old_cost;
            self.bytes.fetch_add(cost, Ordering::Relaxed);
            self.bytes.fetch_sub(old_cost, Ordering::Relaxed);
            drop(shard);
            return true;
        }
        while shard.entries >= self.max_entries || shard.bytes + cost > self.max_bytes {
            let Some(victim) = shard.victim() else {
                break;
            };
            self.remove_slot(&mut shard, victim, true);
        }
        let slot = match shard.free.pop() {
            Some(i) => {
                shard.slots[i as usize] = Slot {
                    record: Some(record),
                    heat: AtomicU32::new(0),
                };
                i
            }
            None => {
                let Ok(i) = u32::try_from(shard.slots.len()) else {
                    return false;
                };
                shard.slots.push(Slot {
                    record: Some(record),
                    heat: AtomicU32::new(0),
                });
                i
            }
        };
        let Shard { index, slots, .. } = &mut *shard;
        index.insert_unique(hash, slot, |&i| {
            let key = slots[i as usize]
                .record
                .as_deref()
                .map_or(&[][..], |r| Record(r).key());
            self.hasher.hash_one(key)
        });
        shard.entries += 1;
        shard.bytes += cost;
        self.bytes.fetch_add(cost, Ordering::Relaxed);
        self.tags[tag].entries.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Drops the entry under `key`, if any.
    pub fn remove(&self, key: &[u8]) {
        let hash = self.hasher.hash_one(key);
        let mut shard = self.shard(hash).write();
        if let Some(&i) = shard.index.find(hash, |&i| shard.key_of(i) == Some(key)) {
            self.remove_slot(&mut shard, i, false);
        }
    }

    /// Empties slot `i`: out of the index, onto the free list, uncounted.
    fn remove_slot(&self, shard: &mut Shard, i: u32, evicted: bool) {
        let Some(record) = shard.slots[i as usize].record.take() else {
            return;
        };
        let hash = self.hasher.hash_one(Record(&record).key());
        if let Ok(entry) = shard.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        shard.free.push(i);
        let cost = record.len() + ENTRY_OVERHEAD;
        shard.entries -= 1;
        shard.bytes -= cost;
        self.bytes.fetch_sub(cost, Ordering::Relaxed);
        let counts = &self.tags[self.tag(Record(&record).tag())];
        counts.entries.fetch_sub(1, Ordering::Relaxed);
        if evicted {
            counts.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn tag(&self, tag: u8) -> usize {
        usize::from(tag).min(self.tags.len() - 1)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.tags
            .iter()
            .map(|t| t.entries.load(Ordering::Relaxed))
            .sum()
    }

    /// Bytes held (records and their overhead).
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// What is counted under `tag`.
    pub fn tag_stats(&self, tag: u8) -> TagStats {
        let counts = &self.tags[self.tag(tag)];
        TagStats {
            entries: counts.entries.load(Ordering::Relaxed),
            evictions: counts.evictions.load(Ordering::Relaxed),
        }
    }
}

impl Shard {
    fn key_of(&self, i: u32) -> Option<&[u8]> {
        self.slots[i as usize]
            .record
            .as_deref()
            .map(|r| Record(r).key())
    }

    /// The slot to evict: of a few occupied ones taken at random, the one
    /// that expires first.
    fn victim(&mut self) -> Option<u32> {
        let len = self.slots.len();
        if self.entries == 0 || len == 0 {
            return None;
        }
        let mut best: Option<(u64, u32)> = None;
        for _ in 0..EVICTION_SAMPLE {
            let start = (self.next_random() % len as u64) as usize;
            let occupied = (0..len).map(|step| (start + step) % len).find_map(|i| {
                let record = self.slots[i].record.as_deref()?;
                Some((Record(record).expires_ms(), i as u32))
            });
            if let Some((expires, i)) = occupied {
                if best.is_none_or(|(e, _)| expires < e) {
                    best = Some((expires, i));
                }
            }
        }
        best.map(|(_, i)| i)
    }

    /// xorshift64.
    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn record(name: &str, stored_ms: u64, lifetime_secs: u32, tag: u8, tail: usize) -> Box<[u8]> {
        NewRecord {
            stored_ms,
            lifetime_secs,
            tag,
            key: name.as_bytes(),
            ttl_offsets: &[40, 60],
            header: &[0xAB; 12],
            tail: &vec![7; tail],
        }
        .build()
        .unwrap()
    }

    #[test]
    fn a_record_reads_back_what_it_was_built_from() {
        let bytes = record("www.example", 1234, 60, 3, 5);
        let r = Record(&bytes);
        assert_eq!(r.stored_ms(), 1234);
        assert_eq!(r.lifetime_secs(), 60);
        assert_eq!(r.expires_ms(), 61_234);
        assert_eq!(r.tag(), 3);
        assert_eq!(r.key(), b"www.example");
        assert_eq!(r.ttl_offsets().collect::<Vec<_>>(), [40, 60]);
        let (header, tail) = r.header_and_tail();
        assert_eq!(header, [0xAB; 12]);
        assert_eq!(tail, [7; 5]);
    }

    #[test]
    fn entries_are_found_replaced_and_removed_with_their_counts() {
        let part = Part::new(100, 1 << 20, 2);
        assert!(part.insert(record("a", 0, 60, 0, 10)));
        assert!(part.insert(record("b", 0, 60, 1, 10)));
        assert_eq!(part.with(b"a", |r, _| r.tag()), Some(0));
        assert_eq!(part.with(b"c", |r, _| r.tag()), None);
        // The same key again replaces, and may move to another tag.
        assert!(part.insert(record("a", 5, 60, 1, 20)));
        assert_eq!(part.len(), 2);
        assert_eq!(part.tag_stats(0).entries, 0);
        assert_eq!(part.tag_stats(1).entries, 2);
        assert_eq!(part.with(b"a", |r, _| r.stored_ms()), Some(5));
        let expected = 2 * (HEAD + 1 + 4 + 12 + ENTRY_OVERHEAD) + 10 + 20;
        assert_eq!(part.bytes(), expected);
        part.remove(b"a");
        part.remove(b"a");
        assert_eq!(part.len(), 1);
        assert_eq!(part.with(b"a", |r, _| r.tag()), None);
        assert_eq!(part.with(b"b", |r, _| r.tag()), Some(1));
    }

    #[test]
    fn the_entry_bound_holds_and_the_soonest_to_expire_tend_to_go_first() {
        // One shard of 100: 50 long-lived entries, 50 short-lived, then 50
        // more long-lived ones. Random eviction would keep about 30 of the
        // first 50 (each of 50 evictions takes one of 100); sampling for the
        // soonest to expire keeps far more (the seed is fixed: no flakes).
        let part = Part::new(100, usize::MAX, 1);
        for i in 0..50 {
            assert!(part.insert(record(&format!("long{i}"), 0, 3600, 0, 10)));
        }
        for i in 0..50 {
            assert!(part.insert(record(&format!("short{i}"), 0, 1, 0, 10)));
        }
        for i in 50..100 {
            assert!(part.insert(record(&format!("long{i}"), 0, 3600, 0, 10)));
            assert!(part.len() <= 100);
        }
        assert_eq!(part.len(), 100);
        assert_eq!(part.tag_stats(0).evictions, 50);
        let kept = (0..50)
            .filter(|i| {
                part.with(format!("long{i}").as_bytes(), |_, _| ())
                    .is_some()
            })
            .count();
        assert!(
            kept >= 40,
            "only {kept} of the first long-lived entries stayed"
        );
        assert!(
            part.with(b"long99", |_, _| ()).is_some(),
            "the newest is in"
        );
    }

    #[test]
    fn the_byte_bound_holds_and_a_record_over_it_is_refused() {
        let cost = HEAD + 4 + 4 + 12 + 100 + ENTRY_OVERHEAD;
        let part = Part::new(60, 10 * cost, 1);
        for i in 0..100 {
            assert!(part.insert(record(&format!("n{i:03}"), 0, 60, 0, 100)));
            assert!(part.bytes() <= 10 * cost, "{} bytes", part.bytes());
        }
        assert!(part.len() >= 9);
        assert!(!part.insert(record("huge", 0, 60, 0, 20 * cost)));
        assert!(part.with(b"huge", |_, _| ()).is_none());
    }
}
