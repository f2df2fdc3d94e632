//! EDNS(0) peeking (RFC 6891): the OPT record's UDP payload size, version, DO bit
//! and options, found without parsing the rest of the message.

use std::ops::Range;

use super::wire::{read_record, QueryView, WireError, TYPE_OPT};

/// Option code of EDNS Client Subnet (RFC 7871 §6).
pub const OPTION_CLIENT_SUBNET: u16 = 8;
/// Option code of DNS Cookies (RFC 7873 §4).
pub const OPTION_COOKIE: u16 = 10;
/// Option code of EDNS(0) padding (RFC 7830 §3).
pub const OPTION_PADDING: u16 = 12;

/// What the OPT record of a message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdnsInfo {
    /// Requestor's UDP payload size (the OPT CLASS field), as sent: may be below 512.
    pub udp_payload: u16,
    /// EDNS version (0 today).
    pub version: u8,
    /// DNSSEC OK (RFC 3225).
    pub do_bit: bool,
    /// Upper 8 bits of the extended RCODE.
    pub ext_rcode: u8,
    /// Byte range of the whole OPT record in the message.
    pub opt: Range<usize>,
    /// Byte range of the OPT RDATA (the options) in the message.
    pub options: Range<usize>,
}

/// Finds the OPT record of the message `view` was parsed from: skips the answer
/// and authority records and scans the additional section.
///
/// Errors on a truncated record, an OPT whose owner is not the root, options that
/// overrun the RDATA, or a second OPT (RFC 6891 §6.1.1 requires FORMERR).
pub fn find_opt(buf: &[u8], view: &QueryView<'_>) -> Result<Option<EdnsInfo>, WireError> {
    let mut pos = view.question_end();
    let skip = usize::from(view.ancount()) + usize::from(view.nscount());
    for _ in 0..skip {
        pos = read_record(buf, pos)?.end;
    }
    let mut found: Option<EdnsInfo> = None;
    for _ in 0..view.arcount() {
        let rr = read_record(buf, pos)?;
        if rr.rtype == TYPE_OPT {
            if found.is_some() {
                return Err(WireError::BadOpt);
            }
            // RFC 6891 §6.1.2: "NAME domain name MUST be 0 (root domain)".
            if rr.fixed != rr.start + 1 || buf[rr.start] != 0 {
                return Err(WireError::BadOpt);
            }
            let f = rr.fixed;
            let info = EdnsInfo {
                udp_payload: u16::from_be_bytes([buf[f + 2], buf[f + 3]]),
                ext_rcode: buf[f + 4],
                version: buf[f + 5],
                do_bit: buf[f + 6] & 0x80 != 0,
                opt: rr.start..rr.end,
                options: rr.rdata..rr.end,
            };
            check_options(&buf[info.options.clone()])?;
            found = Some(info);
        }
        pos = rr.end;
    }
    Ok(found)
}

/// Checks that the RDATA of an OPT record is a well-formed list of options.
fn check_options(mut rdata: &[u8]) -> Result<(), WireError> {
    while !rdata.is_empty() {
        if rdata.len() < 4 {
            return Err(WireError::BadOpt);
        }
        let len = usize::from(u16::from_be_bytes([rdata[2], rdata[3]]));
        rdata = rdata.get(4 + len..).ok_or(WireError::BadOpt)?;
    }
    Ok(())
}

/// Iterates over the options of an OPT record as `(code, data)`.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            return None;
        }
        let code = u16::from_be_bytes([self.rest[0], self.rest[1]]);
        let len = usize::from(u16::from_be_bytes([self.rest[2], self.rest[3]]));
        let Some(data) = self.rest.get(4..4 + len) else {
            self.rest = &[];
            return None;
        };
        self.rest = &self.rest[4 + len..];
        Some((code, data))
    }
}

/// The options of the OPT record `info` describes, read from `buf` (the same message).
/// Yields nothing when `info` does not belong to `buf`.
pub fn options<'a>(buf: &'a [u8], info: &EdnsInfo) -> Options<'a> {
    Options {
        rest: buf.get(info.options.clone()).unwrap_or(&[]),
    }
}

/// The data of the first option with `code`, if any.
pub fn find_option<'a>(buf: &'a [u8], info: &EdnsInfo, code: u16) -> Option<&'a [u8]> {
    options(buf, info).find(|(c, _)| *c == code).map(|(_, d)| d)
}

/// The largest UDP reply a client accepts: 512 without EDNS (RFC 1035 §4.2.1);
/// with EDNS its advertised payload, raised to 512 (RFC 6891 §6.2.5: "Values lower
/// than 512 MUST be treated as equal to 512") and capped at `server_max`.
pub fn udp_reply_limit(edns: Option<&EdnsInfo>, server_max: u16) -> usize {
    match edns {
        None => 512,
        Some(e) => usize::from(e.udp_payload.clamp(512, server_max.max(512))),
    }
}

/// Appends a minimal OPT record (root owner, no options) to `out` without touching
/// the header counts: the caller bumps ARCOUNT.
pub fn write_opt(out: &mut Vec<u8>, udp_payload: u16, do_bit: bool) {
    out.push(0);
    out.extend_from_slice(&TYPE_OPT.to_be_bytes());
    out.extend_from_slice(&udp_payload.to_be_bytes());
    out.extend_from_slice(&[0, 0, if do_bit { 0x80 } else { 0 }, 0]);
    out.extend_from_slice(&[0, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_with_opt(payload: u16, do_bit: bool, options: &[u8]) -> Vec<u8> {
        let mut q = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1];
        q.extend_from_slice(b"\x07example\x00\x00\x01\x00\x01");
        q.push(0);
        q.extend_from_slice(&TYPE_OPT.to_be_bytes());
        q.extend_from_slice(&payload.to_be_bytes());
        q.extend_from_slice(&[0, 0, if do_bit { 0x80 } else { 0 }, 0]);
        q.extend_from_slice(&(options.len() as u16).to_be_bytes());
        q.extend_from_slice(options);
        q
    }

    #[test]
    fn finds_opt_and_options() {
        let opts = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 0];
        let q = query_with_opt(1232, true, &opts);
        let v = QueryView::parse(&q).unwrap();
        let e = find_opt(&q, &v).unwrap().unwrap();
        assert_eq!(e.udp_payload, 1232);
        assert!(e.do_bit);
        assert_eq!((e.version, e.ext_rcode), (0, 0));
        assert_eq!(e.opt.end, q.len());
        assert_eq!(e.opt.start, v.question_end());
        let all: Vec<_> = options(&q, &e).collect();
        assert_eq!(
            all,
            vec![(10, &[1, 2, 3, 4, 5, 6, 7, 8][..]), (12, &[][..])]
        );
        assert_eq!(find_option(&q, &e, OPTION_PADDING), Some(&[][..]));
        assert_eq!(find_option(&q, &e, OPTION_CLIENT_SUBNET), None);
    }

    #[test]
    fn no_opt_and_bad_opts() {
        let mut q = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x00\x00\x01\x00\x01");
        let v = QueryView::parse(&q).unwrap();
        assert_eq!(find_opt(&q, &v).unwrap(), None);

        let q = query_with_opt(4096, false, &[0, 10, 0, 1, 1]);
        let cut = &q[..q.len() - 1];
        let v = QueryView::parse(cut).unwrap();
        assert_eq!(find_opt(cut, &v).unwrap_err(), WireError::TruncatedRecord);

        // The option claims 3 bytes of data; RDLENGTH leaves it 1.
        let q = query_with_opt(4096, false, &[0, 10, 0, 3, 1]);
        let v = QueryView::parse(&q).unwrap();
        assert_eq!(find_opt(&q, &v).unwrap_err(), WireError::BadOpt);

        // Two OPT records.
        let mut q = query_with_opt(4096, false, &[]);
        let opt = q[25..].to_vec();
        q.extend_from_slice(&opt);
        q[11] = 2;
        let v = QueryView::parse(&q).unwrap();
        assert_eq!(find_opt(&q, &v).unwrap_err(), WireError::BadOpt);
    }

    #[test]
    fn reply_limits() {
        let q = query_with_opt(100, false, &[]);
        let v = QueryView::parse(&q).unwrap();
        let mut e = find_opt(&q, &v).unwrap().unwrap();
        assert_eq!(udp_reply_limit(None, 1232), 512);
        assert_eq!(udp_reply_limit(Some(&e), 1232), 512);
        e.udp_payload = 4096;
        assert_eq!(udp_reply_limit(Some(&e), 1232), 1232);
        e.udp_payload = 1000;
        assert_eq!(udp_reply_limit(Some(&e), 1232), 1000);
        assert_eq!(udp_reply_limit(Some(&e), 100), 512);
    }

    #[test]
    fn written_opt_is_found() {
        let mut q = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1];
        q.extend_from_slice(b"\x00\x00\x01\x00\x01");
        write_opt(&mut q, 1232, true);
        let v = QueryView::parse(&q).unwrap();
        let e = find_opt(&q, &v).unwrap().unwrap();
        assert_eq!((e.udp_payload, e.do_bit), (1232, true));
    }
}
