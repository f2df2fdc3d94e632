//! Unbound's cachedb layout, so Unbound replicas and ours share one keyspace.
//!
//! - **key**: upper-case hex SHA-256 of the lower-cased wire qname, qtype and
//!   qclass (big-endian), then `secret-seed` (`calc_hash` in cachedb/cachedb.c);
//!   the bytes before the seed are exactly our [`MessageKey`].
//! - **value**: the wire answer (ID 0, an OPT record with DO set), then two
//!   big-endian u64s: the store time and the expiry, in Unix seconds
//!   (`prep_data`). TTLs in the message are as they were at store time; a
//!   reader subtracts the age (`parse_data`, `adjust_msg_ttl`).
//!
//! Only NOERROR, NXDOMAIN and YXDOMAIN answers with a lifetime are written (a
//! TTL 0 entry is useless and Unbound's issue #1445 is a crash on a bad blob);
//! anything read is checked before use: it must walk as DNS, be a response,
//! and answer exactly the question asked.

use common::dns::wire::{self, HEADER_LEN};
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::time::Instant;

use crate::cache::{CachedMessage, MessageKey};

/// Length of a key: 64 hex digits.
pub const KEY_LEN: usize = 64;

/// Store time plus expiry appended to the message.
const TRAILER_LEN: usize = 16;

/// UDP size in the stored OPT record (Unbound's EDNS_ADVERTISED_SIZE).
const STORED_EDNS_SIZE: u16 = 1232;

/// Response codes worth sharing: NOERROR, NXDOMAIN, YXDOMAIN.
const SHAREABLE_RCODES: [u8; 3] = [0, 3, 6];

/// The Redis key for a message-cache key and secret seed.
pub fn redis_key(key: &MessageKey, secret_seed: &str) -> [u8; KEY_LEN] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update(secret_seed.as_bytes());
    let digest = hasher.finalize();
    let mut out = [0u8; KEY_LEN];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    out
}

/// Why a value read from Redis was not used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BlobError {
    /// Shorter than a header plus the trailer.
    #[error("value too short ({0} bytes)")]
    TooShort(usize),
    /// The message does not walk as DNS.
    #[error("not a DNS message: {0}")]
    Malformed(String),
    /// Not a response, not one question, or another question than asked.
    #[error("answers another question")]
    WrongQuestion,
    /// An rcode that is never shared (SERVFAIL, REFUSED, ...).
    #[error("rcode {0} is not cacheable")]
    Rcode(u8),
    /// Expiry before store time.
    #[error("expiry before store time")]
    BadTimes,
}

/// A value read back, ready for the memory cache.
#[derive(Debug)]
pub struct Decoded {
    /// The answer with TTLs reduced by its age (or set for serve-expired).
    pub entry: CachedMessage,
    /// Seconds of life left (0 when expired).
    pub remaining: u32,
    /// Its whole lifetime when stored (expiry minus store time).
    pub lifetime: u32,
    /// Seconds since it was stored.
    pub age: u32,
}

/// Encodes a cached answer (`wire`: ID 0, no OPT, TTLs as of `stored_unix`)
/// into the shared layout. None for an answer that must not be shared.
pub fn encode(key: &MessageKey, wire_msg: &[u8], ttl: u32, stored_unix: u64) -> Option<Vec<u8>> {
    if ttl == 0 || wire_msg.len() < HEADER_LEN {
        return None;
    }
    if !SHAREABLE_RCODES.contains(&wire::rcode(wire_msg)) {
        return None;
    }
    let qname_len = key.as_bytes().len().checked_sub(4)?;
    let mut out = Vec::with_capacity(wire_msg.len() + 11 + TRAILER_LEN);
    out.extend_from_slice(wire_msg);
    wire::set_id(&mut out, 0);
    // The question in lower case, as the key hashes it (and as Unbound stores it).
    let question = out.get_mut(HEADER_LEN..HEADER_LEN + qname_len)?;
    question.make_ascii_lowercase();
    crate::cache::message::append_opt(&mut out, STORED_EDNS_SIZE, true);
    out.extend_from_slice(&stored_unix.to_be_bytes());
    out.extend_from_slice(&stored_unix.saturating_add(u64::from(ttl)).to_be_bytes());
    Some(out)
}

/// Decodes a value read for `key` at `now_unix`. `max_ttl` caps the lifetime
/// (cache-max-ttl); `expired_ttl` is what TTLs become in an expired entry.
pub fn decode(
    key: &MessageKey,
    value: &[u8],
    now_unix: u64,
    now: Instant,
    max_ttl: u32,
    expired_ttl: u32,
) -> Result<Decoded, BlobError> {
    if value.len() < HEADER_LEN + TRAILER_LEN {
        return Err(BlobError::TooShort(value.len()));
    }
    let (message, trailer) = value.split_at(value.len() - TRAILER_LEN);
    let stored = u64::from_be_bytes(trailer[..8].try_into().map_err(|_| BlobError::BadTimes)?);
    let expiry = u64::from_be_bytes(trailer[8..].try_into().map_err(|_| BlobError::BadTimes)?);
    if expiry < stored {
        return Err(BlobError::BadTimes);
    }
    check_question(key, message)?;
    let rcode = wire::rcode(message);
    if !SHAREABLE_RCODES.contains(&rcode) {
        return Err(BlobError::Rcode(rcode));
    }
    let layout = wire::layout(message).map_err(|e| BlobError::Malformed(e.to_string()))?;
    let lifetime = u32::try_from(expiry - stored)
        .unwrap_or(u32::MAX)
        .min(max_ttl);
    // A value from the future (clock skew) is taken as just stored (Unbound: "adjust by zero").
    let age = u32::try_from(now_unix.saturating_sub(stored)).unwrap_or(u32::MAX);
    let remaining = lifetime.saturating_sub(age);
    let mut message = message.to_vec();
    for &offset in &layout.ttl_offsets {
        let at = usize::from(offset);
        let Some(field) = message.get_mut(at..at + 4) else {
            continue;
        };
        let ttl = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
        // RFC 2181 §8: a TTL with the top bit set means zero.
        let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
        let ttl = if remaining == 0 {
            expired_ttl
        } else {
            ttl.min(max_ttl).saturating_sub(age).min(remaining)
        };
        field.copy_from_slice(&ttl.to_be_bytes());
    }
    let entry = CachedMessage::from_wire(message, remaining, now)
        .ok_or_else(|| BlobError::Malformed("cannot be cached".to_string()))?;
    Ok(Decoded {
        entry,
        remaining,
        lifetime,
        age,
    })
}

/// A response with one question, exactly the one `key` was built from.
fn check_question(key: &MessageKey, message: &[u8]) -> Result<(), BlobError> {
    let key = key.as_bytes();
    let is_response = message[2] & 0x80 != 0;
    let qdcount = u16::from_be_bytes([message[4], message[5]]);
    if !is_response || qdcount != 1 {
        return Err(BlobError::WrongQuestion);
    }
    let question = message
        .get(HEADER_LEN..HEADER_LEN + key.len())
        .ok_or(BlobError::WrongQuestion)?;
    let qname_len = key.len() - 4;
    let same_name = question[..qname_len].eq_ignore_ascii_case(&key[..qname_len]);
    if !same_name || question[qname_len..] != key[qname_len..] {
        return Err(BlobError::WrongQuestion);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::{rdata::A, Name, RData, Record, RecordType};

    const NAME: &[u8] = b"\x03www\x07example\x03com\x00";

    fn key() -> MessageKey {
        MessageKey::new(NAME, 1, 1).unwrap()
    }

    fn answer(rcode: hickory_proto::op::ResponseCode, ttl: u32) -> Vec<u8> {
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.metadata.recursion_available = true;
        m.metadata.response_code = rcode;
        let name = Name::from_ascii("WWW.Example.com.").unwrap();
        m.add_query(Query::query(name.clone(), RecordType::A));
        m.add_answer(Record::from_rdata(
            name,
            ttl,
            RData::A(A::new(192, 0, 2, 7)),
        ));
        m.to_vec().unwrap()
    }

    #[test]
    fn key_is_unbounds_upper_hex_sha256_of_name_type_class_and_seed() {
        // hashlib.sha256(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01default")
        // .hexdigest().upper(), computed independently in Python.
        let expected = "2A96E6DD0FB58A26BCB57FF4DDFE4D165779A9830BADDBAC20C79FFC2C3DC02B";
        let got = redis_key(&key(), "default");
        assert_eq!(std::str::from_utf8(&got).unwrap(), expected);
        assert_eq!(
            redis_key(
                &MessageKey::new(b"\x03WWW\x07EXAMPLE\x03com\x00", 1, 1).unwrap(),
                "default"
            ),
            got,
            "case does not change the key"
        );
        assert_ne!(redis_key(&key(), "other"), got, "the seed changes the key");
    }

    #[test]
    fn round_trip_ages_ttls_and_keeps_the_answer() {
        let wire = answer(hickory_proto::op::ResponseCode::NoError, 300);
        let blob = encode(&key(), &wire, 300, 1_000).unwrap();
        let stored = Message::from_vec(&blob[..blob.len() - 16]).unwrap();
        assert!(
            stored.edns.as_ref().unwrap().flags().dnssec_ok,
            "OPT with DO, as Unbound writes"
        );
        assert_eq!(stored.queries[0].name().to_ascii(), "www.example.com.");
        assert_eq!(
            &blob[blob.len() - 16..blob.len() - 8],
            &1_000u64.to_be_bytes()
        );
        assert_eq!(&blob[blob.len() - 8..], &1_300u64.to_be_bytes());

        let now = Instant::now();
        let decoded = decode(&key(), &blob, 1_100, now, 86_400, 30).unwrap();
        assert_eq!(decoded.remaining, 200);
        assert_eq!(decoded.lifetime, 300);
        let read = Message::from_vec(decoded.entry.wire()).unwrap();
        assert_eq!(read.answers[0].ttl, 200);
        assert!(
            read.edns.is_none(),
            "the OPT is stripped: each client gets its own"
        );
    }

    #[test]
    fn expired_entries_decode_with_the_serve_expired_ttl() {
        let wire = answer(hickory_proto::op::ResponseCode::NoError, 60);
        let blob = encode(&key(), &wire, 60, 1_000).unwrap();
        let decoded = decode(&key(), &blob, 5_000, Instant::now(), 86_400, 30).unwrap();
        assert_eq!(decoded.remaining, 0);
        let read = Message::from_vec(decoded.entry.wire()).unwrap();
        assert_eq!(read.answers[0].ttl, 30);
    }

    #[test]
    fn nothing_unshareable_is_written() {
        let servfail = answer(hickory_proto::op::ResponseCode::ServFail, 300);
        assert!(encode(&key(), &servfail, 300, 1).is_none());
        let ok = answer(hickory_proto::op::ResponseCode::NoError, 300);
        assert!(encode(&key(), &ok, 0, 1).is_none(), "never a TTL 0 entry");
        assert!(encode(
            &key(),
            &answer(hickory_proto::op::ResponseCode::NXDomain, 300),
            300,
            1
        )
        .is_some());
    }

    #[test]
    fn garbage_and_foreign_values_are_rejected_not_trusted() {
        let now = Instant::now();
        assert_eq!(
            decode(&key(), b"junk", 1, now, 300, 30).unwrap_err(),
            BlobError::TooShort(4)
        );
        let mut noise = vec![0xffu8; 200];
        noise[4..6].copy_from_slice(&[0, 1]);
        assert!(decode(&key(), &noise, 1, now, 300, 30).is_err());
        let wire = answer(hickory_proto::op::ResponseCode::NoError, 300);
        let blob = encode(&key(), &wire, 300, 1_000).unwrap();
        let other = MessageKey::new(NAME, 28, 1).unwrap();
        assert_eq!(
            decode(&other, &blob, 1_000, now, 300, 30).unwrap_err(),
            BlobError::WrongQuestion
        );
        let mut truncated = blob.clone();
        truncated.drain(blob.len() - 30..blob.len() - 16);
        assert!(decode(&key(), &truncated, 1_000, now, 300, 30).is_err());
        let mut backwards = blob.clone();
        let n = backwards.len();
        backwards[n - 8..].copy_from_slice(&10u64.to_be_bytes());
        assert_eq!(
            decode(&key(), &backwards, 1_000, now, 300, 30).unwrap_err(),
            BlobError::BadTimes
        );
    }

    #[test]
    fn cache_max_ttl_caps_what_is_read() {
        let wire = answer(hickory_proto::op::ResponseCode::NoError, 90_000);
        let blob = encode(&key(), &wire, 90_000, 1_000).unwrap();
        let decoded = decode(&key(), &blob, 1_000, Instant::now(), 3_600, 30).unwrap();
        assert_eq!(decoded.remaining, 3_600);
        let read = Message::from_vec(decoded.entry.wire()).unwrap();
        assert_eq!(read.answers[0].ttl, 3_600);
    }
}
