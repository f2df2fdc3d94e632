//! Message cache: whole answers kept as wire bytes, served by copying and patching.
//!
//! HOT PATH: a hit costs one hash lookup, one memcpy of the stored answer, and a
//! patch of the ID, the client's qname case, the header flags and each TTL (their
//! offsets were found once at insert). No DNS parse, no allocation beyond `out`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::dns::wire::{self, QueryView};
use hickory_proto::op::Message;
use hickory_proto::rr::Record;
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use tokio::time::Instant;

use crate::validator::Security;

/// Seconds before a refresh of the same entry may be tried again.
const REFRESH_RETRY_SECS: u32 = 5;

/// Longest key: 255-byte name + type + class + flags.
const MAX_KEY: usize = 255 + 5;

/// A cache key built on the stack: lower-cased wire qname, qtype, qclass.
#[derive(Clone)]
pub struct MessageKey {
    len: usize,
    bytes: [u8; MAX_KEY],
}

impl MessageKey {
    /// Builds the key for a question (qname in uncompressed wire form).
    pub fn new(qname_wire: &[u8], qtype: u16, qclass: u16) -> Option<Self> {
        let len = qname_wire.len() + 4;
        if len > MAX_KEY {
            return None;
        }
        let mut bytes = [0u8; MAX_KEY];
        for (dst, src) in bytes.iter_mut().zip(qname_wire) {
            *dst = src.to_ascii_lowercase();
        }
        let n = qname_wire.len();
        bytes[n..n + 2].copy_from_slice(&qtype.to_be_bytes());
        bytes[n + 2..n + 4].copy_from_slice(&qclass.to_be_bytes());
        Some(Self { len, bytes })
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageKey({:?})", self.as_bytes())
    }
}

/// One cached answer.
#[derive(Debug)]
pub struct CachedMessage {
    /// The response with ID 0, no OPT record, TTLs as received (after clamping),
    /// DNSSEC records included: what DO clients and Redis get.
    wire: Box<[u8]>,
    /// Offsets of every TTL field in `wire`.
    ttl_offsets: Box<[u16]>,
    /// The same answer without RRSIG/NSEC/NSEC3, for clients that did not set
    /// DO (RFC 4035 §3.2.1); None when `wire` has none to remove.
    plain: Option<Box<PlainVariant>>,
    /// When it was stored.
    stored_at: Instant,
    /// Lifetime in seconds from `stored_at` (the smallest TTL).
    ttl: u32,
    /// What the validator said of it (travels with the entry, RFC 4035 §4.5).
    security: Security,
    /// Seconds after `stored_at` (plus one; 0 = never) of the last refresh
    /// started, so only one runs at a time and a failed one is retried later.
    refresh_claimed: AtomicU32,
}

/// The copy of an answer served to clients without DO.
#[derive(Debug)]
struct PlainVariant {
    wire: Box<[u8]>,
    ttl_offsets: Box<[u16]>,
}

/// How fresh a cached answer is at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Still valid: seconds elapsed since store, seconds left.
    Fresh {
        /// Seconds since the answer was stored.
        elapsed: u32,
        /// Seconds until it expires.
        remaining: u32,
    },
    /// Expired this many seconds ago.
    Expired {
        /// Seconds since expiry.
        ago: u32,
    },
}

impl CachedMessage {
    /// Prepares a response for caching and serving: zeroes the ID, strips the OPT
    /// record (each client gets its own), and finds every TTL. `ttl` is the
    /// entry's lifetime; record TTLs must already be clamped. None when the wire
    /// cannot be walked.
    pub fn from_wire(mut wire: Vec<u8>, ttl: u32, now: Instant) -> Option<Self> {
        let layout = wire::layout(&wire).ok()?;
        let mut ttl_offsets = layout.ttl_offsets;
        if let Some(opt) = layout.opt {
            if opt.end != wire.len() || wire.len() < wire::HEADER_LEN {
                return None;
            }
            wire.truncate(opt.start);
            let arcount = u16::from_be_bytes([wire[10], wire[11]]).saturating_sub(1);
            wire[10..12].copy_from_slice(&arcount.to_be_bytes());
            ttl_offsets.retain(|offset| usize::from(*offset) < opt.start);
        }
        wire::set_id(&mut wire, 0);
        // Should the copy without DNSSEC records fail to build (a record hickory
        // cannot re-encode), every client gets the full answer: extra records
        // a client ignores beat a SERVFAIL.
        let plain = layout
            .has_dnssec
            .then(|| without_dnssec(&wire))
            .flatten()
            .and_then(|stripped| {
                let offsets = wire::layout(&stripped).ok()?.ttl_offsets;
                Some(Box::new(PlainVariant {
                    wire: stripped.into_boxed_slice(),
                    ttl_offsets: offsets.into_boxed_slice(),
                }))
            });
        Some(Self {
            wire: wire.into_boxed_slice(),
            ttl_offsets: ttl_offsets.into_boxed_slice(),
            plain,
            stored_at: now,
            ttl,
            security: Security::Unchecked,
            refresh_claimed: AtomicU32::new(0),
        })
    }

    /// The same entry with the validator's verdict attached.
    pub fn with_security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// The validator's verdict on this answer.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// Freshness at `now`.
    pub fn freshness(&self, now: Instant) -> Freshness {
        let elapsed = now.saturating_duration_since(self.stored_at).as_secs();
        let elapsed = u32::try_from(elapsed).unwrap_or(u32::MAX);
        if elapsed < self.ttl {
            Freshness::Fresh {
                elapsed,
                remaining: self.ttl - elapsed,
            }
        } else {
            Freshness::Expired {
                ago: elapsed - self.ttl,
            }
        }
    }

    /// The original lifetime in seconds.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// The stored response code.
    pub fn rcode(&self) -> u8 {
        wire::rcode(&self.wire)
    }

    /// The stored wire answer (ID 0, TTLs as stored).
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Claims the right to refresh this entry at `now`: true for one caller,
    /// then again only after REFRESH_RETRY (a refresh that failed is retried).
    pub fn claim_refresh(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.stored_at).as_secs();
        let stamp = u32::try_from(elapsed)
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1);
        let last = self.refresh_claimed.load(Ordering::Acquire);
        if last != 0 && stamp.saturating_sub(last) < REFRESH_RETRY_SECS {
            return false;
        }
        self.refresh_claimed
            .compare_exchange(last, stamp, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Writes the answer for `query` into `out`: its ID, its qname case, its RD and
    /// CD bits, AD when `authentic` (the caller applies RFC 6840 §5.8), TTLs
    /// reduced by `elapsed` (or all set to `fixed_ttl` for an expired answer),
    /// DNSSEC records only when the client set DO, and an OPT record when the
    /// client sent one.
    pub fn write_reply(
        &self,
        query: &QueryView<'_>,
        client_edns: Option<ClientEdns>,
        ttl: TtlPatch,
        authentic: bool,
        out: &mut Vec<u8>,
    ) {
        let dnssec_ok = client_edns.is_some_and(|edns| edns.do_bit);
        let (stored, ttl_offsets) = match (&self.plain, dnssec_ok) {
            (Some(plain), false) => (&plain.wire, &plain.ttl_offsets),
            _ => (&self.wire, &self.ttl_offsets),
        };
        out.extend_from_slice(stored);
        wire::set_id(out, query.id());
        // Echo the client's spelling of the name (0x20 clients check it).
        let qname = query.qname_wire();
        if let Some(dst) = out.get_mut(wire::HEADER_LEN..wire::HEADER_LEN + qname.len()) {
            dst.copy_from_slice(qname);
        }
        // Flags: keep QR, opcode, RA and RCODE from the stored answer; RD and CD
        // from the query; AD only from our own validation (RFC 4035 §3.2.3),
        // whatever another cachedb writer stored.
        let query_flags = query.flags();
        if out.len() >= 4 {
            let mut flags = u16::from_be_bytes([out[2], out[3]]);
            const RD: u16 = 0x0100;
            const CD: u16 = 0x0010;
            const AA: u16 = 0x0400;
            const TC: u16 = 0x0200;
            const AD: u16 = 0x0020;
            flags &= !(RD | CD | AA | TC | AD);
            flags |= query_flags & (RD | CD);
            if authentic {
                flags |= AD;
            }
            out[2..4].copy_from_slice(&flags.to_be_bytes());
        }
        match ttl {
            TtlPatch::Elapsed(elapsed) => wire::patch_ttls(out, ttl_offsets, elapsed),
            TtlPatch::Fixed(value) => wire::set_ttls(out, ttl_offsets, value),
        }
        if let Some(edns) = client_edns {
            append_client_opt(out, &edns);
        }
    }
}

/// `wire` without its RRSIG, NSEC and NSEC3 records, except those of the
/// type asked for (a client may ask for an RRSIG or NSEC RRset by name).
/// Re-encoded rather than cut: a later record may compress against a removed
/// one. Runs once per cached signed answer, never per reply.
fn without_dnssec(wire: &[u8]) -> Option<Vec<u8>> {
    let mut message = Message::from_vec(wire).ok()?;
    let qtype = message.queries.first()?.query_type();
    let keep = |record: &Record| {
        let rtype = record.record_type();
        rtype == qtype || !wire::is_dnssec_type(u16::from(rtype))
    };
    message.answers.retain(keep);
    message.authorities.retain(keep);
    message.additionals.retain(keep);
    message.to_vec().ok()
}

/// How to set TTLs in a reply from cache.
#[derive(Clone, Copy, Debug)]
pub enum TtlPatch {
    /// Subtract the seconds the answer has spent in cache.
    Elapsed(u32),
    /// Set every TTL to this value (serve-expired).
    Fixed(u32),
}

/// What the reply's OPT record must say.
#[derive(Clone, Copy, Debug)]
pub struct ClientEdns {
    /// Our advertised UDP payload size.
    pub payload: u16,
    /// Echo of the client's DO bit (RFC 3225).
    pub do_bit: bool,
    /// Our COOKIE option for the client (RFC 7873 §5.2), when `answer-cookie`
    /// is on and the client sent one; fixed-size, so the reply path stays
    /// allocation-free.
    pub cookie: Option<crate::cookie::ReplyCookie>,
}

/// Appends the OPT record the client gets: our payload size, its DO bit and,
/// when there is one, our COOKIE option; bumps ARCOUNT.
pub fn append_client_opt(out: &mut Vec<u8>, edns: &ClientEdns) {
    let start = out.len();
    append_opt(out, edns.payload, edns.do_bit);
    if let Some(cookie) = &edns.cookie {
        push_option(out, start, common::dns::edns::OPTION_COOKIE, cookie);
    }
}

/// Appends one option to the OPT record that starts at `opt_start` and ends
/// `out` (just written by [`append_opt`]), and grows its RDLENGTH.
pub fn push_option(out: &mut Vec<u8>, opt_start: usize, code: u16, data: &[u8]) {
    // Owner (1) + type (2) + class (2) + TTL (4), then RDLENGTH.
    let rdlen_at = opt_start + 9;
    let Some(field) = out.get(rdlen_at..rdlen_at + 2) else {
        return;
    };
    let rdlen = u16::from_be_bytes([field[0], field[1]]);
    let added = (4 + data.len()) as u16;
    out[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.saturating_add(added).to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// Appends an OPT pseudo-RR carrying one Extended DNS Error option (RFC 8914
/// §2: OPTION-CODE 15, INFO-CODE, EXTRA-TEXT) and bumps ARCOUNT.
pub fn append_opt_with_ede(out: &mut Vec<u8>, payload: u16, do_bit: bool, code: u16, text: &str) {
    let text = &text.as_bytes()[..text.len().min(200)];
    let start = out.len();
    append_opt(out, payload, do_bit);
    let mut data = [0u8; 202];
    data[..2].copy_from_slice(&code.to_be_bytes());
    data[2..2 + text.len()].copy_from_slice(text);
    push_option(out, start, 15, &data[..2 + text.len()]);
}

/// Appends an OPT pseudo-RR with no options and bumps ARCOUNT.
pub fn append_opt(out: &mut Vec<u8>, payload: u16, do_bit: bool) {
    let flags: u16 = if do_bit { 0x8000 } else { 0 };
    out.push(0); // root owner
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // extended rcode, version
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // rdlength
    if out.len() >= wire::HEADER_LEN {
        let arcount = u16::from_be_bytes([out[10], out[11]]).saturating_add(1);
        out[10..12].copy_from_slice(&arcount.to_be_bytes());
    }
}

#[derive(Clone)]
struct MessageWeighter;

impl Weighter<Box<[u8]>, Arc<CachedMessage>> for MessageWeighter {
    fn weight(&self, key: &Box<[u8]>, value: &Arc<CachedMessage>) -> u64 {
        // Key, wire, offsets, and the fixed overhead of the entry and its Arc.
        let plain = value
            .plain
            .as_ref()
            .map_or(0, |p| p.wire.len() + p.ttl_offsets.len() * 2 + 16);
        (key.len() + value.wire.len() + value.ttl_offsets.len() * 2 + plain + 96) as u64
    }
}

/// The message cache, bounded by `msg-cache-size` bytes.
pub struct MessageCache {
    entries: Cache<Box<[u8]>, Arc<CachedMessage>, MessageWeighter>,
}

impl std::fmt::Debug for MessageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageCache")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl MessageCache {
    /// A cache holding at most about `bytes` of answers.
    pub fn new(bytes: u64) -> Self {
        let bytes = bytes.max(64 * 1024);
        // Estimated item count only sizes the index; weight bounds memory.
        let estimated = usize::try_from(bytes / 200).unwrap_or(usize::MAX).max(64);
        Self {
            entries: Cache::with_weighter(estimated, bytes, MessageWeighter),
        }
    }

    /// The entry for `key`, fresh or expired.
    pub fn get(&self, key: &MessageKey) -> Option<Arc<CachedMessage>> {
        self.entries.get(key.as_bytes())
    }

    /// Stores an answer built by [`CachedMessage::from_wire`].
    pub fn insert(&self, key: &MessageKey, entry: Arc<CachedMessage>) {
        self.entries.insert(key.as_bytes().into(), entry);
    }

    /// Number of cached answers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes accounted to cached answers.
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::{rdata::A, Name, RData, Record, RecordType};

    fn answer_wire() -> Vec<u8> {
        let mut m = Message::new(0x4242, MessageType::Response, OpCode::Query);
        m.metadata.recursion_available = true;
        m.metadata.authoritative = true;
        m.add_query(Query::query(
            Name::from_ascii("www.example.com.").unwrap(),
            RecordType::A,
        ));
        m.add_answer(Record::from_rdata(
            Name::from_ascii("www.example.com.").unwrap(),
            300,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        m.set_edns(hickory_proto::op::Edns::new());
        m.to_vec().unwrap()
    }

    fn client_query(name: &str, rd: bool, edns: bool) -> Vec<u8> {
        let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = rd;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        if edns {
            m.set_edns(hickory_proto::op::Edns::new());
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn reply_takes_the_clients_id_case_and_rd_and_ages_ttls() {
        let now = Instant::now();
        let entry = CachedMessage::from_wire(answer_wire(), 300, now).unwrap();
        let query = client_query("WwW.ExAmPle.CoM.", true, false);
        let view = QueryView::parse(&query).unwrap();
        let mut out = Vec::new();
        entry.write_reply(&view, None, TtlPatch::Elapsed(100), false, &mut out);
        let reply = Message::from_vec(&out).unwrap();
        assert_eq!(reply.metadata.id, 0x1234);
        assert!(reply.metadata.recursion_desired && reply.metadata.recursion_available);
        assert!(
            !reply.metadata.authoritative,
            "a cached answer is not authoritative"
        );
        assert_eq!(reply.queries[0].name().to_ascii(), "WwW.ExAmPle.CoM.");
        assert_eq!(reply.answers[0].ttl, 200);
        assert!(reply.edns.is_none(), "no OPT for a client that sent none");
    }

    #[test]
    fn edns_clients_get_an_opt_with_their_do_bit() {
        let entry = CachedMessage::from_wire(answer_wire(), 300, Instant::now()).unwrap();
        let query = client_query("www.example.com.", true, true);
        let view = QueryView::parse(&query).unwrap();
        let mut out = Vec::new();
        entry.write_reply(
            &view,
            Some(ClientEdns {
                payload: 1232,
                do_bit: true,
                cookie: None,
            }),
            TtlPatch::Fixed(30),
            false,
            &mut out,
        );
        let reply = Message::from_vec(&out).unwrap();
        let edns = reply.edns.expect("OPT present");
        assert_eq!(edns.max_payload(), 1232);
        assert!(edns.flags().dnssec_ok);
        assert_eq!(reply.answers[0].ttl, 30);
    }

    fn signed_answer_wire() -> Vec<u8> {
        let mut m = Message::from_vec(&answer_wire()).unwrap();
        m.metadata.authentic_data = true;
        m.add_answer(Record::from_rdata(
            Name::from_ascii("www.example.com.").unwrap(),
            300,
            RData::Unknown {
                code: RecordType::RRSIG,
                rdata: hickory_proto::rr::rdata::NULL::with(vec![0, 1, 13, 3, 0, 0, 1, 44]),
            },
        ));
        m.to_vec().unwrap()
    }

    #[test]
    fn dnssec_records_go_only_to_do_clients_and_ad_is_never_claimed() {
        let entry = CachedMessage::from_wire(signed_answer_wire(), 300, Instant::now()).unwrap();
        let query = client_query("www.example.com.", true, true);
        let view = QueryView::parse(&query).unwrap();
        let reply_for = |do_bit: bool, edns: bool| {
            let mut out = Vec::new();
            let client = edns.then_some(ClientEdns {
                payload: 1232,
                do_bit,
                cookie: None,
            });
            entry.write_reply(&view, client, TtlPatch::Elapsed(10), false, &mut out);
            Message::from_vec(&out).unwrap()
        };
        let with_do = reply_for(true, true);
        assert_eq!(with_do.answers.len(), 2);
        assert_eq!(with_do.answers[1].record_type(), RecordType::RRSIG);
        assert_eq!(with_do.answers[1].ttl, 290, "the signature ages too");
        assert!(!with_do.metadata.authentic_data, "nothing was validated");
        for plain in [reply_for(false, true), reply_for(false, false)] {
            assert_eq!(plain.answers.len(), 1, "{plain:?}");
            assert_eq!(plain.answers[0].record_type(), RecordType::A);
            assert_eq!(plain.answers[0].ttl, 290);
        }
        assert_eq!(
            entry.wire().len(),
            signed_answer_wire().len() - 11,
            "the shared copy keeps the RRSIG (only the OPT is gone)"
        );
    }

    #[test]
    fn freshness_counts_down_and_expires() {
        let now = Instant::now();
        let entry = CachedMessage::from_wire(answer_wire(), 10, now).unwrap();
        assert_eq!(
            entry.freshness(now),
            Freshness::Fresh {
                elapsed: 0,
                remaining: 10
            }
        );
        assert_eq!(
            entry.freshness(now + std::time::Duration::from_secs(12)),
            Freshness::Expired { ago: 2 }
        );
        assert!(entry.claim_refresh(now));
        assert!(!entry.claim_refresh(now), "only one refresh at a time");
        let later = now + std::time::Duration::from_secs(6);
        assert!(
            entry.claim_refresh(later),
            "a refresh that went nowhere is retried"
        );
    }

    #[test]
    fn keys_ignore_case_and_bound_length() {
        let a = MessageKey::new(b"\x03WWW\x07example\x03com\x00", 1, 1).unwrap();
        let b = MessageKey::new(b"\x03www\x07EXAMPLE\x03com\x00", 1, 1).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_ne!(
            a.as_bytes(),
            MessageKey::new(b"\x03www\x07example\x03com\x00", 28, 1)
                .unwrap()
                .as_bytes()
        );
        assert!(MessageKey::new(&[1u8; 300], 1, 1).is_none());
    }

    #[test]
    fn size_bound_evicts_instead_of_growing() {
        let cache = MessageCache::new(64 * 1024);
        let now = Instant::now();
        for i in 0..5_000u32 {
            let name = format!("\x08n{i:07}\x03com\x00");
            let key = MessageKey::new(name.as_bytes(), 1, 1).unwrap();
            cache.insert(
                &key,
                Arc::new(CachedMessage::from_wire(answer_wire(), 300, now).unwrap()),
            );
        }
        assert!(
            cache.weight() <= 64 * 1024,
            "weight {} over the bound",
            cache.weight()
        );
        assert!(cache.len() < 5_000 && !cache.is_empty());
    }

    /// RFC 8914 §2: the EDE option rides in the OPT record, after any other.
    #[test]
    fn extended_dns_error_option_is_well_formed() {
        let query = client_query("www.example.com.", true, true);
        let view = QueryView::parse(&query).unwrap();
        let mut out = Vec::new();
        wire::write_error_reply(&view, 2, true, &mut out);
        append_opt_with_ede(&mut out, 1232, true, 7, "signature expired");
        let message = Message::from_vec(&out).unwrap();
        let edns = message.edns.as_ref().expect("OPT present");
        assert!(edns.flags().dnssec_ok);
        let bytes = &out[out.len() - 2 - "signature expired".len()..];
        assert_eq!(&bytes[..2], &7u16.to_be_bytes());
        assert_eq!(&bytes[2..], b"signature expired");
        assert_eq!(wire::rcode(&out), 2);
    }

    /// RFC 4035 §3.2.3: AD comes from our own verdict only, never from what was stored.
    #[test]
    fn ad_bit_is_set_only_when_asked() {
        let entry = CachedMessage::from_wire(answer_wire(), 300, Instant::now())
            .unwrap()
            .with_security(Security::Secure);
        let query = client_query("www.example.com.", true, true);
        let view = QueryView::parse(&query).unwrap();
        for authentic in [false, true] {
            let mut out = Vec::new();
            entry.write_reply(&view, None, TtlPatch::Elapsed(0), authentic, &mut out);
            assert_eq!(out[3] & 0x20 != 0, authentic);
        }
        assert_eq!(entry.security(), &Security::Secure);
    }
}
