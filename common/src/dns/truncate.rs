//! Fit a UDP reply to the client's size: header and question, TC set, and the OPT
//! record kept so the client still sees our EDNS parameters.
//!
//! RFC 2181 §9: "Where TC is set, the partial RRSet that would not completely fit
//! may be left in the response" — we take the simpler route every major resolver
//! takes for UDP (Unbound, dnsdist): drop all records, set TC, and let the client
//! retry over TCP. RFC 6891 §7: the OPT RR "MUST" be included in a truncated reply
//! to an EDNS query, so it is re-appended.

use super::wire::{flags, layout, question_section_end, HEADER_LEN};

/// Shortens `resp` to at most `limit` bytes when it is longer: keeps header and
/// question, sets TC, zeroes AN/NS/AR, then re-appends the OPT record (ARCOUNT 1)
/// if the response had one and it fits. Returns whether it truncated.
///
/// Never allocates: the OPT record is moved down in place. A response too
/// malformed to walk is cut to its header with TC set and every count zeroed.
pub fn truncate_to(resp: &mut Vec<u8>, limit: usize) -> bool {
    if resp.len() <= limit {
        return false;
    }
    if resp.len() < HEADER_LEN {
        // Not a DNS message; nothing sensible fits.
        resp.clear();
        return true;
    }
    let (keep, opt) = match layout(resp) {
        Ok(l) => (l.question_end, l.opt),
        Err(_) => match question_section_end(resp) {
            Ok(q) => (q, None),
            Err(_) => (HEADER_LEN, None),
        },
    };
    let keep = if keep > limit { HEADER_LEN } else { keep };
    let mut ar = 0u16;
    if let Some(opt) = opt {
        if keep + opt.len() <= limit {
            resp.copy_within(opt.clone(), keep);
            resp.truncate(keep + opt.len());
            ar = 1;
        } else {
            resp.truncate(keep);
        }
    } else {
        resp.truncate(keep);
    }
    let f = u16::from_be_bytes([resp[2], resp[3]]) | flags::TC;
    resp[2..4].copy_from_slice(&f.to_be_bytes());
    if keep == HEADER_LEN {
        resp[4..6].fill(0);
    }
    resp[6..10].fill(0);
    resp[10..12].copy_from_slice(&ar.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::edns::{find_opt, write_opt};
    use crate::dns::wire::QueryView;

    /// A response to `example. A` with `n` A records and an OPT record at the end.
    fn response(n: u16, with_opt: bool) -> Vec<u8> {
        let mut r = vec![0, 9, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        r.extend_from_slice(b"\x07example\x00\x00\x01\x00\x01");
        for i in 0..n {
            r.extend_from_slice(&[
                0xC0,
                12,
                0,
                1,
                0,
                1,
                0,
                0,
                1,
                0,
                0,
                4,
                10,
                0,
                (i >> 8) as u8,
                i as u8,
            ]);
        }
        r[6..8].copy_from_slice(&n.to_be_bytes());
        if with_opt {
            write_opt(&mut r, 1232, true);
            r[11] = 1;
        }
        r
    }

    #[test]
    fn short_enough_is_untouched() {
        let mut r = response(3, true);
        let before = r.clone();
        assert!(!truncate_to(&mut r, 512));
        assert_eq!(r, before);
    }

    #[test]
    fn truncation_keeps_question_and_opt() {
        let mut r = response(100, true);
        assert!(r.len() > 512);
        assert!(truncate_to(&mut r, 512));
        let v = QueryView::parse(&r).unwrap();
        assert_eq!(v.flags() & flags::TC, flags::TC);
        assert_eq!((v.ancount(), v.nscount(), v.arcount()), (0, 0, 1));
        assert_eq!(v.qname_wire(), b"\x07example\x00");
        let e = find_opt(&r, &v).unwrap().unwrap();
        assert_eq!((e.udp_payload, e.do_bit), (1232, true));
        assert_eq!(r.len(), v.question_end() + 11);
    }

    #[test]
    fn truncation_without_opt() {
        let mut r = response(100, false);
        assert!(truncate_to(&mut r, 512));
        let v = QueryView::parse(&r).unwrap();
        assert_eq!((v.ancount(), v.nscount(), v.arcount()), (0, 0, 0));
        assert_eq!(r.len(), v.question_end());
    }

    #[test]
    fn malformed_is_cut_to_header() {
        let mut r = response(100, true);
        r[12] = 0x80; // a reserved label type in the question
        assert!(truncate_to(&mut r, 512));
        assert_eq!(r.len(), HEADER_LEN);
        assert_eq!(&r[4..12], &[0; 8]);
        assert_eq!(r[2] & 0x02, 0x02);
    }
}
