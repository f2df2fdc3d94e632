//! The little DNS the lb writes itself: health-check queries, and the question
//! fingerprint that ties a backend's response to the query it answers.

use std::hash::{BuildHasher, Hasher};

/// Record types a health check may ask for, by name.
const QTYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("SRV", 33),
];

/// The numeric type for `name` (`A`, `AAAA`, ... or `TYPE123`).
pub fn qtype_from_name(name: &str) -> Option<u16> {
    let upper = name.trim().to_ascii_uppercase();
    if let Some(&(_, code)) = QTYPES.iter().find(|(n, _)| *n == upper) {
        return Some(code);
    }
    upper.strip_prefix("TYPE").and_then(|n| n.parse().ok())
}

/// `name` (dotted, absolute or not) in wire format, or `None` when a label is
/// empty or too long or the whole name exceeds 255 bytes.
pub fn encode_name(name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 2);
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return None;
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    (out.len() <= 255).then_some(out)
}

/// A recursion-desired query for `qname_wire`/`qtype` with id 0 (the forwarder
/// assigns the id).
pub fn build_query(qname_wire: &[u8], qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(12 + qname_wire.len() + 4);
    q.extend_from_slice(&[0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(qname_wire);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// A fixed-key hasher, so fingerprints agree across threads and restarts
/// (the hash only matches responses to queries; it guards against nothing).
#[derive(Clone, Copy, Default)]
struct FixedState;

impl BuildHasher for FixedState {
    type Hasher = std::collections::hash_map::DefaultHasher;
    fn build_hasher(&self) -> Self::Hasher {
        std::collections::hash_map::DefaultHasher::new()
    }
}

/// A fingerprint of a message's question section (name compared without
/// regard to ASCII case, type and class), or `None` when there is no single
/// well-formed question.
pub fn question_hash(msg: &[u8]) -> Option<u64> {
    if msg.len() < 12 || u16::from_be_bytes([msg[4], msg[5]]) != 1 {
        return None;
    }
    let end = common::dns::wire::question_section_end(msg).ok()?;
    let mut h = FixedState.build_hasher();
    for &b in &msg[12..end] {
        h.write_u8(b.to_ascii_lowercase());
    }
    Some(h.finish())
}

/// A hash of the query name alone (case-insensitive) for consistent hashing.
pub fn name_hash(qname_wire: &[u8]) -> u64 {
    let mut h = FixedState.build_hasher();
    for &b in qname_wire {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

/// The index of the zone among `zones` (lower-case wire names) that
/// `qname_wire` is in, the most specific winning (the name is walked from
/// its first label towards the root); None when it is in none.
pub fn closest_zone<'z>(
    zones: impl Iterator<Item = &'z [u8]> + Clone,
    qname_wire: &[u8],
) -> Option<usize> {
    let mut at = 0;
    while let Some(&len) = qname_wire.get(at) {
        let rest = &qname_wire[at..];
        if let Some(i) = zones.clone().position(|z| z.eq_ignore_ascii_case(rest)) {
            return Some(i);
        }
        if len == 0 {
            return None;
        }
        at += 1 + usize::from(len);
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_and_queries() {
        assert_eq!(
            encode_name("a.root-servers.net.").unwrap(),
            b"\x01a\x0croot-servers\x03net\x00"
        );
        assert_eq!(encode_name(".").unwrap(), b"\x00");
        assert!(encode_name("a..b").is_none());
        assert!(encode_name(&"x".repeat(64)).is_none());
        assert_eq!(qtype_from_name("aaaa"), Some(28));
        assert_eq!(qtype_from_name("TYPE65"), Some(65));
        assert_eq!(qtype_from_name("bogus"), None);
        let q = build_query(b"\x01a\x00", 1);
        let v = common::dns::wire::QueryView::parse(&q).unwrap();
        assert!(v.rd());
        assert_eq!((v.qtype(), v.qclass()), (1, 1));
    }

    #[test]
    fn question_hash_ignores_case_and_id_but_not_type() {
        let a = build_query(b"\x03WwW\x07example\x00", 1);
        let mut b = build_query(b"\x03www\x07EXAMPLE\x00", 1);
        b[0] = 7;
        let c = build_query(b"\x03www\x07example\x00", 28);
        assert_eq!(question_hash(&a), question_hash(&b));
        assert_ne!(question_hash(&a), question_hash(&c));
        assert_eq!(question_hash(&a[..11]), None);
        assert_eq!(name_hash(b"\x01A\x00"), name_hash(b"\x01a\x00"));
    }
}
