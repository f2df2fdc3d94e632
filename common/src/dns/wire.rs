//! Zero-copy access to DNS messages on the wire (RFC 1035 §4.1): the header, the
//! single question of a query, and the byte layout of a response's records.
//!
//! HOT PATH: nothing here allocates except [`layout`] (called once per cache
//! insert, not per query) and the caller-supplied output buffers. Every accessor
//! bounds-checks, so hostile input yields a [`WireError`], never a panic.

use std::borrow::Borrow;
use std::ops::Range;

/// Length of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;

/// Longest wire name, root byte included (RFC 1035 §2.3.4: "255 octets or less").
pub const MAX_NAME_LEN: usize = 255;

/// Longest label (RFC 1035 §2.3.4: "63 octets or less").
pub const MAX_LABEL_LEN: usize = 63;

/// Largest message any transport carries (the TCP length prefix is 16 bits).
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize;

/// The OPT pseudo-RR type (RFC 6891 §6.1.1).
pub const TYPE_OPT: u16 = 41;
/// SOA.
pub const TYPE_SOA: u16 = 6;
/// RRSIG record type (RFC 4034 §3).
pub const TYPE_RRSIG: u16 = 46;
/// NSEC record type (RFC 4034 §4).
pub const TYPE_NSEC: u16 = 47;
/// NSEC3 record type (RFC 5155 §3).
pub const TYPE_NSEC3: u16 = 50;

/// Header flag bits, as in the second 16-bit word of the header.
pub mod flags {
    /// Query (0) or response (1).
    pub const QR: u16 = 0x8000;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
    /// Authentic data (RFC 4035 §3.2.3).
    pub const AD: u16 = 0x0020;
    /// Checking disabled (RFC 4035 §3.2.2).
    pub const CD: u16 = 0x0010;
}

/// Response codes used by the fast paths (RFC 1035 §4.1.1, RFC 6895 §2.3).
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused by policy.
    pub const REFUSED: u8 = 5;
}

/// Why a message could not be read. Small and `Copy`: it is returned on the hot path.
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than the header, or a field runs past the end of the message.
    #[error("message too short")]
    Short,
    /// Longer than 65535 bytes, which no DNS transport can carry.
    #[error("message longer than 65535 bytes")]
    TooLong,
    /// A label of a reserved type (0x40/0x80 prefix), a label over 63 bytes, a
    /// name over 255 bytes, or a compression pointer that does not point backwards.
    #[error("malformed domain name")]
    BadName,
    /// The question of a query is compressed or cut short.
    #[error("malformed question")]
    BadQuestion,
    /// A query must carry exactly one question (RFC 9619); this one has the count given.
    #[error("query has {0} questions, expected 1")]
    QdCount(u16),
    /// A resource record runs past the end of the message.
    #[error("resource record truncated")]
    TruncatedRecord,
    /// The OPT record is malformed (non-root owner, bad option layout) or repeated
    /// (RFC 6891 §6.1.1: "If a query message with more than one OPT RR is received,
    /// a FORMERR (RCODE=1) MUST be returned").
    #[error("malformed or duplicate OPT record")]
    BadOpt,
}

#[inline]
fn u16_at(buf: &[u8], pos: usize) -> Result<u16, WireError> {
    match buf.get(pos..pos + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(WireError::Short),
    }
}

#[inline]
fn u32_at(buf: &[u8], pos: usize) -> Option<u32> {
    let b = buf.get(pos..pos + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A validated view of a query: header plus its one question, borrowed from the
/// receive buffer. Parsing touches only the header and the question name.
#[derive(Debug, Clone, Copy)]
pub struct QueryView<'a> {
    buf: &'a [u8],
    /// Offset just past the question name's root byte.
    qname_end: usize,
}

impl<'a> QueryView<'a> {
    /// Validates the header and the single question.
    ///
    /// Rejects: a buffer shorter than the header or longer than 65535 bytes,
    /// QDCOUNT other than 1, labels over 63 bytes, names over 255 bytes, reserved
    /// label types and compression pointers (a query's question is the first name in
    /// the message, so there is nothing earlier to point at).
    pub fn parse(buf: &'a [u8]) -> Result<QueryView<'a>, WireError> {
        if buf.len() < HEADER_LEN {
            return Err(WireError::Short);
        }
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(WireError::TooLong);
        }
        let qd = u16::from_be_bytes([buf[4], buf[5]]);
        if qd != 1 {
            return Err(WireError::QdCount(qd));
        }
        let mut pos = HEADER_LEN;
        loop {
            let Some(&len) = buf.get(pos) else {
                return Err(WireError::BadQuestion);
            };
            if len & 0xC0 != 0 {
                // Compression pointer (0xC0) or a reserved label type (0x40, 0x80).
                return Err(WireError::BadQuestion);
            }
            pos += 1 + usize::from(len);
            if pos - HEADER_LEN > MAX_NAME_LEN {
                return Err(WireError::BadName);
            }
            if len == 0 {
                break;
            }
        }
        if buf.len() < pos + 4 {
            return Err(WireError::BadQuestion);
        }
        Ok(QueryView {
            buf,
            qname_end: pos,
        })
    }

    /// The whole message this view was parsed from.
    pub fn message(&self) -> &'a [u8] {
        self.buf
    }

    /// Message ID.
    pub fn id(&self) -> u16 {
        u16::from_be_bytes([self.buf[0], self.buf[1]])
    }

    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// True when the QR bit is set: this is a response, not a query.
    pub fn is_response(&self) -> bool {
        self.flags() & flags::QR != 0
    }

    /// The 4-bit opcode (0 = QUERY).
    pub fn opcode(&self) -> u8 {
        (self.buf[2] >> 3) & 0x0F
    }

    /// Recursion desired.
    pub fn rd(&self) -> bool {
        self.flags() & flags::RD != 0
    }

    /// Checking disabled.
    pub fn cd(&self) -> bool {
        self.flags() & flags::CD != 0
    }

    /// Authentic data.
    pub fn ad(&self) -> bool {
        self.flags() & flags::AD != 0
    }

    /// The question name as on the wire, uncompressed, root byte included. Case is
    /// preserved; see [`lowercase_name_into`] for cache keys.
    pub fn qname_wire(&self) -> &'a [u8] {
        &self.buf[HEADER_LEN..self.qname_end]
    }

    /// QTYPE.
    pub fn qtype(&self) -> u16 {
        u16::from_be_bytes([self.buf[self.qname_end], self.buf[self.qname_end + 1]])
    }

    /// QCLASS.
    pub fn qclass(&self) -> u16 {
        u16::from_be_bytes([self.buf[self.qname_end + 2], self.buf[self.qname_end + 3]])
    }

    /// Offset just past the question: where the answer section starts.
    pub fn question_end(&self) -> usize {
        self.qname_end + 4
    }

    /// The header and question bytes, `buf[..question_end()]`.
    pub fn header_and_question(&self) -> &'a [u8] {
        &self.buf[..self.question_end()]
    }

    /// ANCOUNT.
    pub fn ancount(&self) -> u16 {
        u16::from_be_bytes([self.buf[6], self.buf[7]])
    }

    /// NSCOUNT.
    pub fn nscount(&self) -> u16 {
        u16::from_be_bytes([self.buf[8], self.buf[9]])
    }

    /// ARCOUNT.
    pub fn arcount(&self) -> u16 {
        u16::from_be_bytes([self.buf[10], self.buf[11]])
    }
}

/// Rewrites the message ID (the lb's query-id remap). A buffer shorter than two
/// bytes is left alone.
#[inline]
pub fn set_id(buf: &mut [u8], id: u16) {
    if let Some(b) = buf.get_mut(0..2) {
        b.copy_from_slice(&id.to_be_bytes());
    }
}

/// The message ID, or `None` when the buffer is shorter than two bytes.
#[inline]
pub fn id(buf: &[u8]) -> Option<u16> {
    u16_at(buf, 0).ok()
}

/// The 4-bit header RCODE. Callers validate the header first: a buffer shorter
/// than [`HEADER_LEN`] reads as 0.
#[inline]
pub fn rcode(buf: &[u8]) -> u8 {
    buf.get(3).map_or(0, |b| b & 0x0F)
}

/// Sets the 4-bit header RCODE; a buffer shorter than the header is left alone.
#[inline]
pub fn set_rcode(buf: &mut [u8], rcode: u8) {
    if buf.len() >= HEADER_LEN {
        buf[3] = (buf[3] & 0xF0) | (rcode & 0x0F);
    }
}

/// The flags word, or `None` when the buffer is shorter than the header.
#[inline]
pub fn header_flags(buf: &[u8]) -> Option<u16> {
    if buf.len() < HEADER_LEN {
        return None;
    }
    Some(u16::from_be_bytes([buf[2], buf[3]]))
}

/// Skips the name starting at `pos` and returns the offset just past it.
///
/// A compression pointer ends the name in place (the pointer is two bytes), so
/// skipping never follows pointers and cannot loop. The pointer must still point
/// backwards (RFC 1035 §4.1.4: "a prior occurrence of the same name").
pub fn skip_name(buf: &[u8], mut pos: usize) -> Result<usize, WireError> {
    let start = pos;
    loop {
        let Some(&len) = buf.get(pos) else {
            return Err(WireError::Short);
        };
        match len & 0xC0 {
            0x00 => {
                pos += 1 + usize::from(len);
                if pos - start > MAX_NAME_LEN {
                    return Err(WireError::BadName);
                }
                if len == 0 {
                    return Ok(pos);
                }
            }
            0xC0 => {
                let Some(&low) = buf.get(pos + 1) else {
                    return Err(WireError::Short);
                };
                let target = usize::from(u16::from_be_bytes([len & 0x3F, low]));
                if target >= pos {
                    return Err(WireError::BadName);
                }
                return Ok(pos + 2);
            }
            _ => return Err(WireError::BadName),
        }
    }
}

/// Reads the possibly compressed name at `pos`, appending its uncompressed wire
/// form (root byte included) to `out`, and returns the offset just past the name
/// in the message.
///
/// Loop-safe: every pointer must point strictly before the label that holds it,
/// so the walk always moves towards the start of the message.
pub fn read_name_into(buf: &[u8], pos: usize, out: &mut Vec<u8>) -> Result<usize, WireError> {
    let out_start = out.len();
    let mut cur = pos;
    let mut end: Option<usize> = None;
    loop {
        let Some(&len) = buf.get(cur) else {
            out.truncate(out_start);
            return Err(WireError::Short);
        };
        match len & 0xC0 {
            0x00 => {
                let label_end = cur + 1 + usize::from(len);
                let Some(label) = buf.get(cur..label_end) else {
                    out.truncate(out_start);
                    return Err(WireError::Short);
                };
                if out.len() - out_start + label.len() > MAX_NAME_LEN {
                    out.truncate(out_start);
                    return Err(WireError::BadName);
                }
                out.extend_from_slice(label);
                if len == 0 {
                    return Ok(end.unwrap_or(label_end));
                }
                cur = label_end;
            }
            0xC0 => {
                let Some(&low) = buf.get(cur + 1) else {
                    out.truncate(out_start);
                    return Err(WireError::Short);
                };
                let target = usize::from(u16::from_be_bytes([len & 0x3F, low]));
                if target >= cur {
                    out.truncate(out_start);
                    return Err(WireError::BadName);
                }
                if end.is_none() {
                    end = Some(cur + 2);
                }
                cur = target;
            }
            _ => {
                out.truncate(out_start);
                return Err(WireError::BadName);
            }
        }
    }
}

/// Appends `name_wire` to `out` with ASCII letters lower-cased (RFC 4343: DNS
/// names compare case-insensitively), for cache keys. Length bytes are at most 63,
/// below `'A'`, so they pass through unchanged. `out` is not cleared.
#[inline]
pub fn lowercase_name_into(name_wire: &[u8], out: &mut Vec<u8>) {
    out.reserve(name_wire.len());
    out.extend(name_wire.iter().map(u8::to_ascii_lowercase));
}

/// Where the records of a message sit: enough to patch TTLs of a stored answer
/// without parsing it again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Offset just past the question section.
    pub question_end: usize,
    /// Byte offset of the TTL field of every record in the answer, authority and
    /// additional sections, except the OPT pseudo-record.
    pub ttl_offsets: Vec<u16>,
    /// Smallest TTL among those records; `None` when there are none. A TTL with
    /// the top bit set counts as 0 (RFC 2181 §8).
    pub min_ttl: Option<u32>,
    /// Byte range of the OPT record, owner name to end of RDATA.
    pub opt: Option<Range<usize>>,
    /// Whether any record is DNSSEC data (RRSIG, NSEC or NSEC3): what a client
    /// that did not set DO must not be sent (RFC 4035 §3.2.1).
    pub has_dnssec: bool,
    /// The negative-caching TTL of RFC 2308 §5: the smaller of the TTL and
    /// the MINIMUM field of the first SOA in the authority section; `None`
    /// without one.
    pub negative_ttl: Option<u32>,
}

/// The fixed part of a resource record after its owner name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordHeader {
    /// Offset of the owner name.
    pub start: usize,
    /// Offset of the TYPE field.
    pub fixed: usize,
    /// TYPE.
    pub rtype: u16,
    /// Offset of the RDATA.
    pub rdata: usize,
    /// Offset just past the RDATA.
    pub end: usize,
}

/// Reads the record starting at `pos`.
pub(crate) fn read_record(buf: &[u8], pos: usize) -> Result<RecordHeader, WireError> {
    let fixed = skip_name(buf, pos).map_err(|e| match e {
        WireError::Short => WireError::TruncatedRecord,
        other => other,
    })?;
    let rdata = fixed + 10;
    if buf.len() < rdata {
        return Err(WireError::TruncatedRecord);
    }
    let rtype = u16::from_be_bytes([buf[fixed], buf[fixed + 1]]);
    let rdlen = usize::from(u16::from_be_bytes([buf[fixed + 8], buf[fixed + 9]]));
    let end = rdata + rdlen;
    if buf.len() < end {
        return Err(WireError::TruncatedRecord);
    }
    Ok(RecordHeader {
        start: pos,
        fixed,
        rtype,
        rdata,
        end,
    })
}

/// Offset just past the question section, for any QDCOUNT.
pub fn question_section_end(buf: &[u8]) -> Result<usize, WireError> {
    if buf.len() < HEADER_LEN {
        return Err(WireError::Short);
    }
    if buf.len() > MAX_MESSAGE_LEN {
        return Err(WireError::TooLong);
    }
    let qd = u16::from_be_bytes([buf[4], buf[5]]);
    let mut pos = HEADER_LEN;
    for _ in 0..qd {
        pos = skip_name(buf, pos).map_err(|_| WireError::BadQuestion)? + 4;
        if pos > buf.len() {
            return Err(WireError::BadQuestion);
        }
    }
    Ok(pos)
}

/// Total record count of the answer, authority and additional sections.
fn record_count(buf: &[u8]) -> usize {
    let an = usize::from(u16::from_be_bytes([buf[6], buf[7]]));
    let ns = usize::from(u16::from_be_bytes([buf[8], buf[9]]));
    let ar = usize::from(u16::from_be_bytes([buf[10], buf[11]]));
    an + ns + ar
}

/// RRSIG, NSEC and NSEC3: the record types that carry DNSSEC proofs rather
/// than data, sent only to clients that set DO (RFC 4035 §3.2.1).
pub fn is_dnssec_type(rtype: u16) -> bool {
    matches!(rtype, TYPE_RRSIG | TYPE_NSEC | TYPE_NSEC3)
}

/// Walks every record of a message (any QDCOUNT) and records where its TTLs and
/// its OPT record are. Trailing bytes after the last record are ignored.
pub fn layout(buf: &[u8]) -> Result<Layout, WireError> {
    let question_end = question_section_end(buf)?;
    let count = record_count(buf);
    let mut out = Layout {
        question_end,
        ttl_offsets: Vec::with_capacity(count.min(64)),
        min_ttl: None,
        opt: None,
        has_dnssec: false,
        negative_ttl: None,
    };
    let answers = usize::from(u16::from_be_bytes([buf[6], buf[7]]));
    let authority = answers..answers + usize::from(u16::from_be_bytes([buf[8], buf[9]]));
    let mut pos = question_end;
    for index in 0..count {
        let rr = read_record(buf, pos)?;
        if rr.rtype == TYPE_OPT {
            if out.opt.is_some() {
                return Err(WireError::BadOpt);
            }
            out.opt = Some(rr.start..rr.end);
        } else {
            out.has_dnssec |= is_dnssec_type(rr.rtype);
            let ttl_at = rr.fixed + 4;
            let ttl = u32_at(buf, ttl_at).ok_or(WireError::TruncatedRecord)?;
            // RFC 2181 §8: "it is hereby specified that a TTL value is an unsigned
            // number, with a minimum value of 0, and a maximum value of 2147483647
            // ... Implementations should treat a TTL received with the most
            // significant bit set as if the entire value received was zero."
            let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
            out.min_ttl = Some(out.min_ttl.map_or(ttl, |m| m.min(ttl)));
            if rr.rtype == TYPE_SOA && authority.contains(&index) && out.negative_ttl.is_none() {
                // MINIMUM is the last 32 bits of the SOA's RDATA (two names,
                // at least a byte each, then five 32-bit fields).
                let minimum = (rr.end >= rr.rdata + 22)
                    .then(|| u32_at(buf, rr.end - 4))
                    .flatten();
                out.negative_ttl = minimum.map(|m| ttl.min(m));
            }
            // question_section_end rejected buffers over 65535 bytes.
            out.ttl_offsets
                .push(u16::try_from(ttl_at).map_err(|_| WireError::TooLong)?);
        }
        pos = rr.end;
    }
    Ok(out)
}

/// Subtracts `elapsed` seconds from every TTL at `offsets`, saturating at 0.
/// Offsets that do not fit in `buf` are skipped.
pub fn patch_ttls(
    buf: &mut [u8],
    offsets: impl IntoIterator<Item = impl Borrow<u16>>,
    elapsed: u32,
) {
    for off in offsets {
        let off = usize::from(*off.borrow());
        if let Some(field) = buf.get_mut(off..off + 4) {
            let ttl = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
            field.copy_from_slice(&ttl.saturating_sub(elapsed).to_be_bytes());
        }
    }
}

/// Sets every TTL at `offsets` to `ttl`. Offsets that do not fit in `buf` are skipped.
pub fn set_ttls(buf: &mut [u8], offsets: impl IntoIterator<Item = impl Borrow<u16>>, ttl: u32) {
    let bytes = ttl.to_be_bytes();
    for off in offsets {
        let off = usize::from(*off.borrow());
        if let Some(field) = buf.get_mut(off..off + 4) {
            field.copy_from_slice(&bytes);
        }
    }
}

/// Writes into `out` (cleared first) a header-and-question reply to `query` with
/// the given RCODE: same ID, opcode, RD and CD, QR set, RA set when `ra`, no
/// records. Used for REFUSED, SERVFAIL and FORMERR-with-question fast paths.
pub fn write_error_reply(query: &QueryView<'_>, rcode: u8, ra: bool, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(query.header_and_question());
    let keep = query.flags() & (0x7800 | flags::RD | flags::CD);
    let mut f = keep | flags::QR | u16::from(rcode & 0x0F);
    if ra {
        f |= flags::RA;
    }
    out[2..4].copy_from_slice(&f.to_be_bytes());
    // QDCOUNT stays 1; AN, NS and AR become 0.
    out[6..12].fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NXDOMAIN for www.example.com with example.com's SOA (TTL `ttl`,
    /// MINIMUM `minimum`) in the authority section.
    fn nxdomain_with_soa(ttl: u32, minimum: u32) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 1, 0, 0];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 16, 0, 6, 0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&[0, 29, 2, b'n', b's', 0xc0, 16, 1, b'h', 0xc0, 16]);
        for field in [1u32, 7200, 900, 1_209_600, minimum] {
            m.extend_from_slice(&field.to_be_bytes());
        }
        m
    }

    #[test]
    fn negative_ttl_is_the_smaller_of_the_soa_ttl_and_minimum() {
        assert_eq!(
            layout(&nxdomain_with_soa(3600, 300)).unwrap().negative_ttl,
            Some(300)
        );
        assert_eq!(
            layout(&nxdomain_with_soa(60, 300)).unwrap().negative_ttl,
            Some(60)
        );
        let mut no_soa = nxdomain_with_soa(60, 300);
        no_soa[9] = 0;
        no_soa.truncate(33);
        assert_eq!(layout(&no_soa).unwrap().negative_ttl, None);
    }

    /// `www.Example.com. A IN`, RD set, id 0x1234.
    fn query() -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x03www\x07Example\x03com\x00");
        q.extend_from_slice(&[0, 1, 0, 1]);
        q
    }

    #[test]
    fn parses_header_and_question() {
        let q = query();
        let v = QueryView::parse(&q).unwrap();
        assert_eq!(v.id(), 0x1234);
        assert!(v.rd() && !v.cd() && !v.ad() && !v.is_response());
        assert_eq!(v.opcode(), 0);
        assert_eq!(v.qname_wire(), b"\x03www\x07Example\x03com\x00");
        assert_eq!((v.qtype(), v.qclass()), (1, 1));
        assert_eq!(v.question_end(), q.len());
        assert_eq!((v.ancount(), v.nscount(), v.arcount()), (0, 0, 0));
    }

    #[test]
    fn root_name_question() {
        let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1];
        let v = QueryView::parse(&q).unwrap();
        assert_eq!(v.qname_wire(), b"\x00");
        assert_eq!(v.qtype(), 2);
        q.pop();
        assert_eq!(QueryView::parse(&q).unwrap_err(), WireError::BadQuestion);
    }

    #[test]
    fn rejects_bad_questions() {
        let mut q = query();
        q[5] = 2;
        assert_eq!(QueryView::parse(&q).unwrap_err(), WireError::QdCount(2));
        let mut q = query();
        q[12] = 0xC0;
        assert_eq!(QueryView::parse(&q).unwrap_err(), WireError::BadQuestion);
        assert_eq!(QueryView::parse(&q[..11]).unwrap_err(), WireError::Short);
        // A 64-byte label has the 0x40 bit set: a reserved label type.
        let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64];
        q.extend_from_slice(&[b'a'; 64]);
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(QueryView::parse(&q).unwrap_err(), WireError::BadQuestion);
        // A 256-byte name.
        let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..4 {
            q.push(63);
            q.extend_from_slice(&[b'a'; 63]);
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(QueryView::parse(&q).unwrap_err(), WireError::BadName);
    }

    #[test]
    fn longest_legal_name_is_accepted() {
        // 3 × 63-byte labels + one 61-byte label + root = 255 bytes.
        let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..3 {
            q.push(63);
            q.extend_from_slice(&[b'a'; 63]);
        }
        q.push(61);
        q.extend_from_slice(&[b'b'; 61]);
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(QueryView::parse(&q).unwrap().qname_wire().len(), 255);
    }

    #[test]
    fn lowercases_letters_only() {
        let mut out = b"k".to_vec();
        lowercase_name_into(b"\x03WwW\x07Ex-4mPL\x00", &mut out);
        assert_eq!(out, b"k\x03www\x07ex-4mpl\x00");
    }

    #[test]
    fn skip_and_read_compressed_names() {
        // Header, then "a.b." at 12, then "c" + pointer to 12 at 17.
        let mut m = vec![0u8; 12];
        m.extend_from_slice(b"\x01a\x01b\x00");
        m.extend_from_slice(b"\x01c\xC0\x0C");
        assert_eq!(skip_name(&m, 12).unwrap(), 17);
        assert_eq!(skip_name(&m, 17).unwrap(), 21);
        let mut out = Vec::new();
        assert_eq!(read_name_into(&m, 17, &mut out).unwrap(), 21);
        assert_eq!(out, b"\x01c\x01a\x01b\x00");
        // A pointer to itself, and a forward pointer, are rejected.
        let mut bad = vec![0u8; 12];
        bad.extend_from_slice(&[0xC0, 12]);
        assert_eq!(skip_name(&bad, 12).unwrap_err(), WireError::BadName);
        assert_eq!(
            read_name_into(&bad, 12, &mut out).unwrap_err(),
            WireError::BadName
        );
        bad[13] = 20;
        assert_eq!(skip_name(&bad, 12).unwrap_err(), WireError::BadName);
    }

    #[test]
    fn ids_rcodes_and_ttls() {
        let mut q = query();
        set_id(&mut q, 0xBEEF);
        assert_eq!(id(&q), Some(0xBEEF));
        set_rcode(&mut q, rcode::REFUSED);
        assert_eq!(rcode(&q), 5);
        let mut short = [1u8];
        set_id(&mut short, 7);
        assert_eq!(short, [1]);
        assert_eq!(rcode(&short), 0);

        let mut buf = [0, 0, 0, 10, 0, 0, 1, 0, 0xFF];
        patch_ttls(&mut buf, [0, 4, 8], 20);
        assert_eq!(buf, [0, 0, 0, 0, 0, 0, 0, 236, 0xFF]);
        set_ttls(&mut buf, [0, 4, 7], 300);
        assert_eq!(buf, [0, 0, 1, 44, 0, 0, 1, 44, 0xFF]);
    }

    #[test]
    fn error_reply_keeps_question() {
        let q = query();
        let v = QueryView::parse(&q).unwrap();
        let mut out = vec![9; 3];
        write_error_reply(&v, rcode::REFUSED, true, &mut out);
        let r = QueryView::parse(&out).unwrap();
        assert!(r.is_response() && r.rd());
        assert_eq!(rcode(&out), rcode::REFUSED);
        assert_eq!(r.flags() & flags::RA, flags::RA);
        assert_eq!(r.qname_wire(), v.qname_wire());
        assert_eq!(out.len(), q.len());
    }
}
