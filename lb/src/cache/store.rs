//! One part of the packet cache (answers or denials): bounded in entries
//! and in bytes, its records packed in segments.
//!
//! Why not a general-purpose cache crate: a node-local agent is judged by
//! its resident memory, and a general map of `key -> Arc<value>` costs
//! three allocations and about 290 bytes for a 60-byte answer. Here an
//! entry is one record ([`Record`]: its times, its key, its TTL offsets and
//! the response without its ID, QDCOUNT and question, which a hit takes from
//! the query) written end to end into 16 KiB segments, found through a
//! table of (segment, offset) handles: about 85 bytes for the same answer,
//! with no allocator rounding. Lookups take a shard's read lock and copy the
//! record out under it.
//!
//! Segments are a log: a replaced or removed record is garbage until its
//! segment is reclaimed. When garbage passes a quarter of what the segments
//! hold, the oldest segment is cleaned: its live records move to the end,
//! those expired past the stale window are dropped. When a shard is full
//! (in entries or bytes) its oldest segment is evicted, live records and
//! all (CoreDNS evicts at random; the oldest first is as good for TTL-bound
//! data and costs nothing to find).

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

/// What an entry costs beyond its record: its share of the table (a handle,
/// with prefetch a heat word, a control byte, free buckets), counted against
/// the byte bound.
pub const ENTRY_OVERHEAD: usize = 12;

/// The size of a segment (a larger record gets a segment of its own).
const SEGMENT: usize = 16 << 10;

/// Handles: the segment's id in the high bits, the offset in the low 14.
const OFFSET_BITS: u32 = 14;
const ID_MASK: u32 = (1 << (32 - OFFSET_BITS)) - 1;

/// The bytes of a record before its key.
const HEAD: usize = 14;

/// A cached response as stored.
///
/// | bytes | field |
/// |---|---|
/// | 0..2 | the record's length (a longer one is not kept) |
/// | 2..6 | stored, in tenths of a second since the cache's epoch |
/// | 6..10 | lifetime, seconds |
/// | 10 | key length (a longer key is not kept) |
/// | 11..13 | number of TTL offsets |
/// | 13 | tag (node-local: the zone it counts under) |
/// | 14.. | key, TTL offsets (u16 each, into the response), the header's flags and AN/NS/AR counts (8), the sections after the question |
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
    /// The response's 12-byte header.
    pub header: &'a [u8],
    /// The response after its question.
    pub tail: &'a [u8],
}

impl NewRecord<'_> {
    /// The record's length, or None when a field does not fit.
    fn len(&self) -> Option<usize> {
        u8::try_from(self.key.len()).ok()?;
        u16::try_from(self.ttl_offsets.len()).ok()?;
        if self.header.len() != 12 {
            return None;
        }
        let len = HEAD + self.key.len() + 2 * self.ttl_offsets.len() + 8 + self.tail.len();
        u16::try_from(len).ok()?;
        Some(len)
    }

    /// Writes the record (of [`NewRecord::len`] bytes) into `out`.
    fn write(&self, out: &mut [u8]) {
        let len = out.len() as u16;
        let stored = u32::try_from(self.stored_ms / 100).unwrap_or(u32::MAX);
        out[..2].copy_from_slice(&len.to_le_bytes());
        out[2..6].copy_from_slice(&stored.to_le_bytes());
        out[6..10].copy_from_slice(&self.lifetime_secs.to_le_bytes());
        out[10] = self.key.len() as u8;
        out[11..13].copy_from_slice(&(self.ttl_offsets.len() as u16).to_le_bytes());
        out[13] = self.tag;
        let mut at = HEAD;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(self.key);
        for offset in self.ttl_offsets {
            put(&offset.to_le_bytes());
        }
        put(&self.header[2..4]);
        put(&self.header[6..12]);
        put(self.tail);
    }
}

impl<'a> Record<'a> {
    /// The record at the start of `bytes` (which holds at least its head).
    fn at(bytes: &'a [u8]) -> Record<'a> {
        let len = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
        Record(&bytes[..len])
    }

    fn u16_at(&self, at: usize) -> usize {
        usize::from(u16::from_le_bytes([self.0[at], self.0[at + 1]]))
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes([self.0[at], self.0[at + 1], self.0[at + 2], self.0[at + 3]])
    }

    /// When it was stored (milliseconds since the cache's epoch, to a tenth
    /// of a second).
    pub fn stored_ms(&self) -> u64 {
        u64::from(self.u32_at(2)) * 100
    }

    /// How long it may be served, in seconds.
    pub fn lifetime_secs(&self) -> u32 {
        self.u32_at(6)
    }

    /// When it stops being an answer (milliseconds since the epoch).
    pub fn expires_ms(&self) -> u64 {
        self.stored_ms() + u64::from(self.lifetime_secs()) * 1000
    }

    /// The count it is kept under.
    pub fn tag(&self) -> u8 {
        self.0[13]
    }

    /// The cache key.
    pub fn key(&self) -> &'a [u8] {
        &self.0[HEAD..HEAD + usize::from(self.0[10])]
    }

    /// Where the response's TTLs are.
    pub fn ttl_offsets(&self) -> impl Iterator<Item = u16> + 'a {
        let start = HEAD + usize::from(self.0[10]);
        let bytes = &self.0[start..start + 2 * self.u16_at(11)];
        bytes
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
    }

    /// The header's flags and AN/NS/AR counts (8 bytes), and the sections
    /// after the question.
    pub fn flags_counts_and_tail(&self) -> (&'a [u8], &'a [u8]) {
        let start = HEAD + usize::from(self.0[10]) + 2 * self.u16_at(11);
        self.0[start..].split_at(8)
    }
}

/// An index entry: where the record is, and with prefetch its popularity.
pub trait Slot {
    /// An entry for the record at `handle`, not yet hit.
    fn new(handle: u32) -> Self;
    /// Where the record is.
    fn handle(&self) -> u32;
    /// Its popularity, when kept.
    fn heat(&self) -> Option<&AtomicU32>;
    /// The same entry for the record moved to `handle`.
    fn moved(&self, handle: u32) -> Self;
}

/// An index entry without popularity (prefetch off): 4 bytes.
pub struct Plain(u32);

impl Slot for Plain {
    fn new(handle: u32) -> Self {
        Plain(handle)
    }
    fn handle(&self) -> u32 {
        self.0
    }
    fn heat(&self) -> Option<&AtomicU32> {
        None
    }
    fn moved(&self, handle: u32) -> Self {
        Plain(handle)
    }
}

/// An index entry with its popularity (prefetch on): 8 bytes.
pub struct Heated {
    handle: u32,
    heat: AtomicU32,
}

impl Slot for Heated {
    fn new(handle: u32) -> Self {
        Heated {
            handle,
            heat: AtomicU32::new(0),
        }
    }
    fn handle(&self) -> u32 {
        self.handle
    }
    fn heat(&self) -> Option<&AtomicU32> {
        Some(&self.heat)
    }
    fn moved(&self, handle: u32) -> Self {
        Heated {
            handle,
            heat: AtomicU32::new(self.heat.load(Ordering::Relaxed)),
        }
    }
}

/// A segment of the log.
struct Segment {
    bytes: Box<[u8]>,
    used: usize,
}

/// The segments of a shard, oldest first, and the id of the oldest.
struct Log {
    segments: VecDeque<Segment>,
    first_id: u32,
}

impl Log {
    fn record(&self, handle: u32) -> Record<'_> {
        let index = (handle >> OFFSET_BITS).wrapping_sub(self.first_id) & ID_MASK;
        let offset = (handle & ((1 << OFFSET_BITS) - 1)) as usize;
        Record::at(&self.segments[index as usize].bytes[offset..])
    }

    /// Whether `len` more bytes fit in the newest segment.
    fn fits(&self, len: usize) -> bool {
        self.segments
            .back()
            .is_some_and(|s| s.bytes.len() - s.used >= len)
    }

    /// Writes `len` bytes with `write` at the end, in a new segment when
    /// the newest is full; the record's handle and the bytes of a new
    /// segment (0 when none was needed).
    fn append(&mut self, len: usize, write: impl FnOnce(&mut [u8])) -> (u32, usize) {
        let mut grown = 0;
        if !self.fits(len) {
            let size = SEGMENT.max(len);
            self.segments.push_back(Segment {
                bytes: vec![0; size].into_boxed_slice(),
                used: 0,
            });
            grown = size;
        }
        let id = self.first_id.wrapping_add(self.segments.len() as u32 - 1) & ID_MASK;
        let Some(segment) = self.segments.back_mut() else {
            unreachable!("a segment was just made")
        };
        let offset = segment.used;
        write(&mut segment.bytes[offset..offset + len]);
        segment.used += len;
        (id << OFFSET_BITS | offset as u32, grown)
    }
}

/// One lock's worth of a part.
struct Shard<S> {
    index: HashTable<S>,
    log: Log,
    entries: usize,
    /// Bytes of the records the index points to.
    live: usize,
    /// Bytes written into the segments (live records and garbage).
    used: usize,
    /// Bytes of the segments.
    held: usize,
}

/// Per-tag counts of a part.
#[derive(Default)]
struct TagCounts {
    entries: AtomicUsize,
    evictions: AtomicU64,
}

/// One part: a bounded map from cache key to record, its index entries
/// of type `S`.
pub struct Part<S> {
    shards: Box<[RwLock<Shard<S>>]>,
    hasher: DefaultHashBuilder,
    max_entries: usize,
    max_bytes: usize,
    /// How long past expiry a record may still serve (serve-stale): older
    /// ones are dropped when their segment is cleaned.
    linger_ms: u64,
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

/// What happens to the live records of a segment being reclaimed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reclaim {
    /// Cleaning: fresh ones move to the end.
    Keep { now_ms: u64 },
    /// Making room: all go.
    Evict,
}

impl<S: Slot> Part<S> {
    /// A part of at most `entries` entries and `bytes` bytes (segments and
    /// [`ENTRY_OVERHEAD`] an entry), counting under `tags` tags, whose
    /// records may serve `linger_ms` past expiry.
    pub fn new(entries: usize, bytes: usize, tags: usize, linger_ms: u64) -> Part<S> {
        let entries = entries.max(1);
        // At least 2048 entries and 4 segments a shard; 8 shards at most
        // (2 to 4 threads share them); a power of two.
        let most = (entries / 2048).min(bytes / (4 * SEGMENT)).clamp(1, 8);
        let mut shards = 1;
        while shards * 2 <= most {
            shards *= 2;
        }
        Part {
            shards: (0..shards)
                .map(|_| {
                    RwLock::new(Shard {
                        index: HashTable::new(),
                        log: Log {
                            segments: VecDeque::new(),
                            first_id: 0,
                        },
                        entries: 0,
                        live: 0,
                        used: 0,
                        held: 0,
                    })
                })
                .collect(),
            hasher: DefaultHashBuilder::default(),
            max_entries: entries.div_ceil(shards),
            max_bytes: bytes.div_ceil(shards),
            linger_ms,
            bytes: AtomicUsize::new(0),
            tags: (0..tags.max(1)).map(|_| TagCounts::default()).collect(),
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard<S>> {
        // The table uses the hash's low and top bits; the shard takes others.
        let bits = (hash >> 32) as usize;
        &self.shards[bits & (self.shards.len() - 1)]
    }

    /// Calls `found` with the record under `key` and its heat (with
    /// prefetch) while the shard is locked for reading.
    pub fn with<R>(
        &self,
        key: &[u8],
        found: impl FnOnce(Record<'_>, Option<&AtomicU32>) -> R,
    ) -> Option<R> {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash).read();
        let log = &shard.log;
        let slot = shard
            .index
            .find(hash, |s| log.record(s.handle()).key() == key)?;
        Some(found(log.record(slot.handle()), slot.heat()))
    }

    /// Keeps `new`, replacing what was under its key and making room to
    /// stay within the bounds. False when it cannot be kept (a field too
    /// long, or the record alone over a shard's byte bound).
    pub fn insert(&self, new: &NewRecord<'_>) -> bool {
        let Some(len) = new.len() else {
            return false;
        };
        if len.max(SEGMENT) + ENTRY_OVERHEAD > self.max_bytes {
            return false;
        }
        let hash = self.hasher.hash_one(new.key);
        let tag = self.tag(new.tag);
        let mut shard = self.shard(hash).write();
        let replaced = {
            let Shard { index, log, .. } = &mut *shard;
            index
                .find_entry(hash, |s| log.record(s.handle()).key() == new.key)
                .ok()
                .map(|entry| {
                    let old = log.record(entry.get().handle());
                    let (old_len, old_tag) = (old.0.len(), old.tag());
                    entry.remove();
                    (old_len, old_tag)
                })
        };
        if let Some((old_len, old_tag)) = replaced {
            shard.entries -= 1;
            shard.live -= old_len;
            self.tags[self.tag(old_tag)]
                .entries
                .fetch_sub(1, Ordering::Relaxed);
            self.bytes.fetch_sub(ENTRY_OVERHEAD, Ordering::Relaxed);
        }
        self.make_room(&mut shard, len);
        let (handle, grown) = shard.log.append(len, |out| new.write(out));
        let Shard { index, log, .. } = &mut *shard;
        index.insert_unique(hash, S::new(handle), |s| {
            self.hasher.hash_one(log.record(s.handle()).key())
        });
        shard.entries += 1;
        shard.live += len;
        shard.used += len;
        shard.held += grown;
        self.bytes
            .fetch_add(grown + ENTRY_OVERHEAD, Ordering::Relaxed);
        self.tags[tag].entries.fetch_add(1, Ordering::Relaxed);
        self.clean(&mut shard, new.stored_ms);
        true
    }

    /// Evicts the oldest segments until one more record of `len` bytes fits
    /// within the bounds.
    fn make_room(&self, shard: &mut Shard<S>, len: usize) {
        loop {
            let grow = if shard.log.fits(len) {
                0
            } else {
                SEGMENT.max(len)
            };
            let over_entries = shard.entries >= self.max_entries;
            let over_bytes =
                shard.held + grow + (shard.entries + 1) * ENTRY_OVERHEAD > self.max_bytes;
            let too_many = shard.log.segments.len() >= ID_MASK as usize;
            if !(over_entries || over_bytes || too_many) || shard.log.segments.is_empty() {
                return;
            }
            self.reclaim_front(shard, Reclaim::Evict);
        }
    }

    /// Cleans the oldest segment while garbage is over a quarter of what
    /// the segments hold.
    fn clean(&self, shard: &mut Shard<S>, now_ms: u64) {
        if shard.log.segments.len() >= 4 && (shard.used - shard.live) * 4 > shard.used {
            self.reclaim_front(shard, Reclaim::Keep { now_ms });
        }
    }

    /// Frees the oldest segment: its live records move to the end
    /// (cleaning, when fresh) or leave the index.
    fn reclaim_front(&self, shard: &mut Shard<S>, how: Reclaim) {
        let Some(front) = shard.log.segments.front() else {
            return;
        };
        let id = shard.log.first_id;
        let (size, used) = (front.bytes.len(), front.used);
        let mut offset = 0;
        while offset < used {
            let start = offset;
            let (len, tag, expires, key_hash) = {
                let record = Record::at(&shard.log.segments[0].bytes[start..]);
                let key_hash = self.hasher.hash_one(record.key());
                (record.0.len(), record.tag(), record.expires_ms(), key_hash)
            };
            offset += len;
            let handle = id << OFFSET_BITS | start as u32;
            let Ok(entry) = shard.index.find_entry(key_hash, |s| s.handle() == handle) else {
                continue;
            };
            if let Reclaim::Keep { now_ms } = how {
                if expires.saturating_add(self.linger_ms) > now_ms {
                    let (old, _) = entry.remove();
                    let bytes = shard.log.segments[0].bytes[start..start + len].to_vec();
                    let (moved, grown) = shard.log.append(len, |out| out.copy_from_slice(&bytes));
                    let Shard { index, log, .. } = &mut *shard;
                    index.insert_unique(key_hash, old.moved(moved), |s| {
                        self.hasher.hash_one(log.record(s.handle()).key())
                    });
                    shard.used += len;
                    shard.held += grown;
                    self.bytes.fetch_add(grown, Ordering::Relaxed);
                    continue;
                }
            }
            entry.remove();
            shard.entries -= 1;
            shard.live -= len;
            self.bytes.fetch_sub(ENTRY_OVERHEAD, Ordering::Relaxed);
            let counts = &self.tags[self.tag(tag)];
            counts.entries.fetch_sub(1, Ordering::Relaxed);
            if how == Reclaim::Evict {
                counts.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        shard.log.segments.pop_front();
        shard.log.first_id = id.wrapping_add(1) & ID_MASK;
        shard.used -= used;
        shard.held -= size;
        self.bytes.fetch_sub(size, Ordering::Relaxed);
    }

    /// Drops the entry under `key`, if any (its record becomes garbage).
    pub fn remove(&self, key: &[u8]) {
        let hash = self.hasher.hash_one(key);
        let mut shard = self.shard(hash).write();
        let removed = {
            let Shard { index, log, .. } = &mut *shard;
            index
                .find_entry(hash, |s| log.record(s.handle()).key() == key)
                .ok()
                .map(|entry| {
                    let old = log.record(entry.get().handle());
                    let removed = (old.0.len(), old.tag());
                    entry.remove();
                    removed
                })
        };
        if let Some((len, tag)) = removed {
            shard.entries -= 1;
            shard.live -= len;
            self.bytes.fetch_sub(ENTRY_OVERHEAD, Ordering::Relaxed);
            self.tags[self.tag(tag)]
                .entries
                .fetch_sub(1, Ordering::Relaxed);
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

    /// Bytes held (segments and the entries' overhead).
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

/// A part whatever its index entries: prefetch on ([`Heated`]) or off
/// ([`Plain`], 4 bytes less an entry).
pub trait AnyPart: Send + Sync {
    /// Calls `found` with the record under `key` and its heat while the
    /// shard is locked for reading; false when there is none.
    fn visit(&self, key: &[u8], found: &mut dyn FnMut(Record<'_>, Option<&AtomicU32>)) -> bool;
    /// [`Part::insert`].
    fn insert(&self, new: &NewRecord<'_>) -> bool;
    /// [`Part::remove`].
    fn remove(&self, key: &[u8]);
    /// [`Part::len`].
    fn len(&self) -> usize;
    /// [`Part::bytes`].
    fn bytes(&self) -> usize;
    /// [`Part::tag_stats`].
    fn tag_stats(&self, tag: u8) -> TagStats;
}

impl<S: Slot + Send + Sync> AnyPart for Part<S> {
    fn visit(&self, key: &[u8], found: &mut dyn FnMut(Record<'_>, Option<&AtomicU32>)) -> bool {
        self.with(key, found).is_some()
    }
    fn insert(&self, new: &NewRecord<'_>) -> bool {
        Part::insert(self, new)
    }
    fn remove(&self, key: &[u8]) {
        Part::remove(self, key);
    }
    fn len(&self) -> usize {
        Part::len(self)
    }
    fn bytes(&self) -> usize {
        Part::bytes(self)
    }
    fn tag_stats(&self, tag: u8) -> TagStats {
        Part::tag_stats(self, tag)
    }
}

/// A part (see [`Part::new`]) with heat for prefetch when `heated`.
pub fn part(
    entries: usize,
    bytes: usize,
    tags: usize,
    linger_ms: u64,
    heated: bool,
) -> Box<dyn AnyPart> {
    if heated {
        Box::new(Part::<Heated>::new(entries, bytes, tags, linger_ms))
    } else {
        Box::new(Part::<Plain>::new(entries, bytes, tags, linger_ms))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const HEADER: [u8; 12] = [0xAA, 0xBB, 1, 2, 0, 1, 3, 4, 5, 6, 7, 8];

    fn record<'a>(
        name: &'a str,
        stored_ms: u64,
        lifetime_secs: u32,
        tag: u8,
        tail: &'a [u8],
    ) -> NewRecord<'a> {
        NewRecord {
            stored_ms,
            lifetime_secs,
            tag,
            key: name.as_bytes(),
            ttl_offsets: &[40, 60],
            header: &HEADER,
            tail,
        }
    }

    /// The bytes a record of `name` with a `tail`-byte tail takes.
    fn cost(name: &str, tail: usize) -> usize {
        HEAD + name.len() + 4 + 8 + tail
    }

    #[test]
    fn a_record_reads_back_what_it_was_built_from() {
        let new = record("www.example", 1234, 60, 3, &[7; 5]);
        let mut bytes = vec![0; new.len().unwrap()];
        new.write(&mut bytes);
        let r = Record::at(&bytes);
        assert_eq!(r.0.len(), cost("www.example", 5));
        assert_eq!(r.stored_ms(), 1200, "tenths of a second");
        assert_eq!(r.lifetime_secs(), 60);
        assert_eq!(r.expires_ms(), 61_200);
        assert_eq!(r.tag(), 3);
        assert_eq!(r.key(), b"www.example");
        assert_eq!(r.ttl_offsets().collect::<Vec<_>>(), [40, 60]);
        let (flags_counts, tail) = r.flags_counts_and_tail();
        assert_eq!(flags_counts, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(tail, [7; 5]);
    }

    #[test]
    fn entries_are_found_replaced_and_removed_with_their_counts() {
        let part = Part::<Heated>::new(100, 1 << 20, 2, 0);
        assert!(part.insert(&record("a", 0, 60, 0, &[1; 10])));
        assert!(part.insert(&record("b", 0, 60, 1, &[2; 10])));
        assert_eq!(part.with(b"a", |r, _| r.tag()), Some(0));
        assert_eq!(part.with(b"c", |r, _| r.tag()), None);
        // The same key again replaces, and may move to another tag.
        assert!(part.insert(&record("a", 500, 60, 1, &[3; 20])));
        assert_eq!(part.len(), 2);
        assert_eq!(part.tag_stats(0).entries, 0);
        assert_eq!(part.tag_stats(1).entries, 2);
        assert_eq!(part.with(b"a", |r, _| r.stored_ms()), Some(500));
        assert_eq!(
            part.with(b"a", |r, _| r.flags_counts_and_tail().1.to_vec()),
            Some(vec![3; 20])
        );
        assert_eq!(part.bytes(), SEGMENT + 2 * ENTRY_OVERHEAD);
        part.remove(b"a");
        part.remove(b"a");
        assert_eq!(part.len(), 1);
        assert_eq!(part.bytes(), SEGMENT + ENTRY_OVERHEAD);
        assert_eq!(part.with(b"a", |r, _| r.tag()), None);
        assert_eq!(part.with(b"b", |r, _| r.tag()), Some(1));
    }

    #[test]
    fn the_entry_bound_holds_and_the_oldest_go_first() {
        let part = Part::<Heated>::new(1000, usize::MAX, 1, 0);
        for i in 0..5000 {
            assert!(part.insert(&record(&format!("n{i:05}"), 0, 60, 0, &[0; 40])));
            assert!(part.len() <= 1000);
        }
        assert!(part.len() > 800, "{}", part.len());
        let evicted = part.tag_stats(0).evictions;
        assert_eq!(evicted as usize, 5000 - part.len());
        assert!(part.with(b"n00000", |_, _| ()).is_none(), "the oldest went");
        assert!(
            part.with(b"n04999", |_, _| ()).is_some(),
            "the newest stayed"
        );
    }

    #[test]
    fn the_byte_bound_holds_and_a_record_over_it_is_refused() {
        let bound = 4 * SEGMENT;
        let part = Part::<Heated>::new(100_000, bound, 1, 0);
        for i in 0..2000 {
            assert!(part.insert(&record(&format!("n{i:05}"), 0, 60, 0, &[0; 100])));
            assert!(part.bytes() <= bound, "{} bytes", part.bytes());
        }
        assert!(part.len() > 200, "{}", part.len());
        assert!(!part.insert(&record("huge", 0, 60, 0, &vec![0; bound])));
        assert!(part.with(b"huge", |_, _| ()).is_none());
        // A record larger than a segment gets one of its own.
        assert!(part.insert(&record("big", 0, 60, 0, &vec![9; SEGMENT + 10])));
        assert_eq!(
            part.with(b"big", |r, _| r.flags_counts_and_tail().1.len()),
            Some(SEGMENT + 10)
        );
        assert!(part.bytes() <= bound);
        let roomy = Part::<Heated>::new(10, 1 << 30, 1, 0);
        assert!(roomy.insert(&record("fits", 0, 60, 0, &vec![0; 65_000])));
        assert!(
            !roomy.insert(&record("over", 0, 60, 0, &vec![0; 65_535])),
            "over a u16"
        );
        assert!(
            !roomy.insert(&record(&"k".repeat(256), 0, 60, 0, &[0])),
            "a key over 255"
        );
    }

    /// Replacing the same names over and over leaves garbage that cleaning
    /// reclaims: the live entries stay, with their heat, and the segments
    /// stay near what they hold; records expired past the stale window go.
    #[test]
    fn cleaning_reclaims_garbage_and_keeps_live_records() {
        // One shard (under 2048 entries).
        let part = Part::<Heated>::new(2000, usize::MAX, 1, 1000);
        for i in 0..200 {
            assert!(part.insert(&record(&format!("keep{i:03}"), 0, 3600, 0, &[0; 50])));
        }
        part.with(b"keep000", |_, heat| {
            heat.unwrap().store(7, Ordering::Relaxed)
        });
        for round in 0..500u64 {
            for i in 0..20 {
                let name = format!("churn{i:02}");
                assert!(part.insert(&record(&name, round * 100, 3600, 0, &[0; 50])));
            }
        }
        assert_eq!(part.len(), 220);
        for i in 0..200 {
            assert!(part
                .with(format!("keep{i:03}").as_bytes(), |_, _| ())
                .is_some());
        }
        assert_eq!(
            part.with(b"keep000", |_, h| h.unwrap().load(Ordering::Relaxed)),
            Some(7)
        );
        let live = 220 * cost("keep000", 50);
        assert!(
            part.bytes() < 2 * live + 4 * SEGMENT,
            "{} bytes for {live} live",
            part.bytes()
        );
        assert_eq!(part.tag_stats(0).evictions, 0);

        // Expired past the stale window (1 s): dropped when cleaned.
        let short = Part::<Heated>::new(2000, usize::MAX, 1, 1000);
        for i in 0..200 {
            assert!(short.insert(&record(&format!("old{i:03}"), 0, 1, 0, &[0; 50])));
        }
        for round in 0..500u64 {
            let name = format!("churn{:02}", round % 20);
            assert!(short.insert(&record(&name, 10_000 + round, 3600, 0, &[0; 50])));
        }
        assert!(short.len() < 220, "{}", short.len());
        assert!(short.with(b"old000", |_, _| ()).is_none());
    }
}
