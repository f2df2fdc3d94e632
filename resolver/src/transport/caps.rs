//! `use-caps-for-id` (draft-vixie-dnsext-dns0x20): the letters of the query
//! name go out in random case, and a reply is ours only if its question
//! echoes that case byte for byte. A blind spoofer must then guess one bit per
//! letter besides the ID and the port. Unbound's serviced_perturb_qname and
//! serviced_check_qname, on the wire: hickory's `Name` equality ignores case,
//! so the comparison is on raw label bytes.
//!
//! A reply that passes has the original case put back into its question
//! before it is parsed, so names compressed against the question (the answer's
//! owner names) reach the cache as they were asked (Unbound lowercases them).

use hickory_proto::rr::RecordType;

/// Where the question name starts in a DNS message (after the header).
const QNAME_OFFSET: usize = 12;

/// The longest name on the wire (RFC 1035 §3.1).
const MAX_NAME: usize = 255;

/// The question name of one query as sent, and as it was before its case was
/// randomised. Kept on the stack: no allocation per query.
#[derive(Clone, Debug)]
pub struct Perturbed {
    sent: [u8; MAX_NAME],
    original: [u8; MAX_NAME],
    len: usize,
    check: bool,
}

impl Perturbed {
    /// Randomises the case of each letter of the question name of the query
    /// `wire` (in place) and remembers both spellings. `qtype` PTR is sent
    /// perturbed but not checked, as Unbound does ("compatibility with cisco
    /// dns guard boxes that mess up reverse queries 0x20 contents"). None if
    /// `wire` holds no well-formed uncompressed question name.
    pub fn perturb(wire: &mut [u8], qtype: RecordType) -> Option<Self> {
        let len = name_len(wire)?;
        let name = wire.get_mut(QNAME_OFFSET..QNAME_OFFSET + len)?;
        let mut original = [0u8; MAX_NAME];
        original.get_mut(..len)?.copy_from_slice(name);
        let mut bits = 0u64;
        let mut left = 0u32;
        let mut at = 0usize;
        while let Some(&label) = name.get(at) {
            let label = usize::from(label);
            for byte in name.get_mut(at + 1..at + 1 + label)? {
                if !byte.is_ascii_alphabetic() {
                    continue;
                }
                if left == 0 {
                    bits = rand::random();
                    left = 64;
                }
                *byte = if bits & 1 == 1 {
                    byte.to_ascii_uppercase()
                } else {
                    byte.to_ascii_lowercase()
                };
                bits >>= 1;
                left -= 1;
            }
            if label == 0 {
                break;
            }
            at += 1 + label;
        }
        let mut sent = [0u8; MAX_NAME];
        sent.get_mut(..len)?.copy_from_slice(name);
        Some(Self {
            sent,
            original,
            len,
            check: qtype != RecordType::PTR,
        })
    }

    /// The name as sent (tests and the mock internet read it).
    pub fn sent(&self) -> &[u8] {
        self.sent.get(..self.len).unwrap_or_default()
    }

    /// Whether the reply `wire` echoes the name exactly as sent; when it does,
    /// the original case is written back into it. A reply without a question
    /// passes here (the question checks decide about it: only error replies may
    /// leave it out, as in Unbound).
    pub fn echoed(&self, wire: &mut [u8]) -> bool {
        let qdcount = match (wire.get(4), wire.get(5)) {
            (Some(&hi), Some(&lo)) => u16::from_be_bytes([hi, lo]),
            _ => return false,
        };
        if qdcount == 0 || !self.check {
            return true;
        }
        let Some(echo) = wire.get_mut(QNAME_OFFSET..QNAME_OFFSET + self.len) else {
            return false;
        };
        // Byte for byte: the same label lengths (a compression pointer in the
        // first name can only point into the header, so it never matches) and
        // the same letters in the same case.
        if echo != self.sent() {
            return false;
        }
        echo.copy_from_slice(self.original.get(..self.len).unwrap_or_default());
        true
    }
}

/// The length of the uncompressed question name at the start of `wire`'s
/// question section, root label included.
fn name_len(wire: &[u8]) -> Option<usize> {
    let mut at = QNAME_OFFSET;
    loop {
        let label = usize::from(*wire.get(at)?);
        if label > 63 {
            return None;
        }
        at += 1 + label;
        if label == 0 {
            let len = at - QNAME_OFFSET;
            return (len <= MAX_NAME).then_some(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{encode_query, QueryOptions};
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::Name;
    use std::time::Duration;

    fn wire(name: &str, qtype: RecordType) -> Vec<u8> {
        let query = Query::query(Name::from_ascii(name).unwrap(), qtype);
        let options = QueryOptions {
            tcp: false,
            tls_name: None,
            timeout: Duration::from_secs(1),
            edns_payload: Some(1232),
            recursion_desired: false,
            caps: false,
        };
        encode_query(&query, &options).unwrap().1
    }

    /// Only letters change, only in case, and a long name gets both cases
    /// (64 random bits per draw, so names past 64 letters are covered too).
    #[test]
    fn perturbs_only_the_case_of_letters() {
        let name = format!("{}.x-1.example.com.", "a".repeat(60));
        let mut query = wire(&name, RecordType::A);
        let before = query.clone();
        let caps = Perturbed::perturb(&mut query, RecordType::A).unwrap();
        assert_eq!(query.len(), before.len());
        assert!(query
            .iter()
            .zip(&before)
            .all(|(a, b)| a.eq_ignore_ascii_case(b)));
        let sent = caps.sent();
        assert!(sent.iter().any(u8::is_ascii_uppercase), "{sent:?}");
        assert!(sent.iter().any(u8::is_ascii_lowercase), "{sent:?}");
        assert!(sent.contains(&b'-') && sent.contains(&b'1'));
        let decoded = Message::from_vec(&query).unwrap();
        assert_eq!(decoded.queries[0].name().to_ascii().len(), name.len());
    }

    /// serviced_check_qname: the exact case passes and the original spelling is
    /// put back; any other case, or another name, fails.
    #[test]
    fn accepts_only_the_exact_echo_and_restores_the_case() {
        let mut query = wire("www.example.com.", RecordType::A);
        let caps = Perturbed::perturb(&mut query, RecordType::A).unwrap();
        let mut echo = query.clone();
        assert!(caps.echoed(&mut echo));
        assert_eq!(
            &echo[12..29],
            &wire("www.example.com.", RecordType::A)[12..29]
        );

        let mut lower = query.clone();
        lower[12..29].make_ascii_lowercase();
        let mut upper = query.clone();
        upper[12..29].make_ascii_uppercase();
        // One of the two differs from the sent case (unless the draw made
        // every letter that case, 2^-13 each; then the other one differs).
        let lower_ok = caps.echoed(&mut lower.clone());
        let upper_ok = caps.echoed(&mut upper.clone());
        assert!(!(lower_ok && upper_ok));
        let mut other = wire("www.example.net.", RecordType::A);
        assert!(!caps.echoed(&mut other));
    }

    /// PTR replies are not checked (Unbound's exception for middleboxes);
    /// a reply without a question is left to the question checks.
    #[test]
    fn ptr_and_question_less_replies_pass() {
        let mut query = wire("1.2.0.192.in-addr.arpa.", RecordType::PTR);
        let caps = Perturbed::perturb(&mut query, RecordType::PTR).unwrap();
        let mut lower = query.clone();
        lower[12..20].make_ascii_uppercase();
        assert!(caps.echoed(&mut lower));

        let mut query = wire("www.example.com.", RecordType::A);
        let caps = Perturbed::perturb(&mut query, RecordType::A).unwrap();
        let mut empty = query[..12].to_vec();
        empty[4] = 0;
        empty[5] = 0;
        assert!(caps.echoed(&mut empty));
        assert!(!caps.echoed(&mut [0u8; 3]));
    }
}
