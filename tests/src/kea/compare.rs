//! Byte-for-byte comparison of two replies to the same request, and when
//! they differ, a report a person can act on: each header field that
//! differs, sname and file as text, the option order, and each option by
//! code with both servers' data in hex (and as text when printable).

use std::fmt::Write as _;

use super::message::{hex, Message};

/// Names of the options a reader meets most, for the report.
fn option_name(code: u8) -> &'static str {
    match code {
        1 => "subnet-mask",
        2 => "time-offset",
        3 => "routers",
        6 => "domain-name-servers",
        12 => "host-name",
        15 => "domain-name",
        23 => "default-ip-ttl",
        28 => "broadcast-address",
        42 => "ntp-servers",
        43 => "vendor-encapsulated-options",
        51 => "dhcp-lease-time",
        53 => "dhcp-message-type",
        54 => "dhcp-server-identifier",
        55 => "dhcp-parameter-request-list",
        56 => "dhcp-message",
        58 => "dhcp-renewal-time",
        59 => "dhcp-rebinding-time",
        60 => "vendor-class-identifier",
        61 => "dhcp-client-identifier",
        66 => "tftp-server-name",
        67 => "boot-file-name",
        77 => "user-class",
        82 => "dhcp-agent-options",
        93 => "client-system",
        119 => "domain-search",
        121 => "classless-static-route",
        124 => "vivco-suboptions",
        125 => "vivso-suboptions",
        _ => "",
    }
}

fn describe(code: u8) -> String {
    match option_name(code) {
        "" => format!("option {code}"),
        name => format!("option {code} ({name})"),
    }
}

fn show(data: &[u8]) -> String {
    let printable = !data.is_empty() && data.iter().all(|b| (0x20..0x7f).contains(b));
    if printable {
        format!("{} {:?}", hex(data), String::from_utf8_lossy(data))
    } else {
        format!("{} ({} bytes)", hex(data), data.len())
    }
}

/// `None` when `kea` and `ours` are the same bytes; otherwise what differs.
pub fn differences(kea: &[u8], ours: &[u8]) -> Option<String> {
    if kea == ours {
        return None;
    }
    let (k, o) = match (Message::parse(kea), Message::parse(ours)) {
        (Ok(k), Ok(o)) => (k, o),
        (k, o) => {
            return Some(format!(
                "  undecodable: Kea {:?}, ours {:?}\n  Kea  {}\n  ours {}\n",
                k.err(),
                o.err(),
                hex(kea),
                hex(ours)
            ))
        }
    };
    let mut out = String::new();
    header(&mut out, &k, &o);
    options(&mut out, &k, &o);
    if k.pads != o.pads || k.trailer != o.trailer || kea.len() != ours.len() {
        let _ = writeln!(
            out,
            "  length {} vs ours {}; pad options {} vs {}; after the end option {} vs {} bytes",
            kea.len(),
            ours.len(),
            k.pads,
            o.pads,
            k.trailer.len(),
            o.trailer.len()
        );
    }
    if out.is_empty() {
        let at = kea.iter().zip(ours).position(|(a, b)| a != b).unwrap_or(0);
        let _ = writeln!(out, "  first differing byte at offset {at}");
    }
    Some(out)
}

fn header(out: &mut String, k: &Message, o: &Message) {
    let mut field = |name: &str, a: String, b: String| {
        if a != b {
            let _ = writeln!(out, "  {name}: Kea {a}, ours {b}");
        }
    };
    field(
        "op/htype/hlen/hops",
        format!("{:?}", k.op),
        format!("{:?}", o.op),
    );
    field("xid", format!("{:#x}", k.xid), format!("{:#x}", o.xid));
    field("secs", k.secs.to_string(), o.secs.to_string());
    field(
        "flags",
        format!("{:#06x}", k.flags),
        format!("{:#06x}", o.flags),
    );
    field("ciaddr", k.ciaddr.to_string(), o.ciaddr.to_string());
    field("yiaddr", k.yiaddr.to_string(), o.yiaddr.to_string());
    field("siaddr", k.siaddr.to_string(), o.siaddr.to_string());
    field("giaddr", k.giaddr.to_string(), o.giaddr.to_string());
    field("chaddr", hex(&k.chaddr), hex(&o.chaddr));
    if k.sname != o.sname {
        field(
            "sname",
            format!("{:?} ({})", k.sname_text(), hex(&k.sname)),
            format!("{:?} ({})", o.sname_text(), hex(&o.sname)),
        );
    }
    if k.file != o.file {
        field(
            "file",
            format!("{:?} ({})", k.file_text(), hex(&k.file)),
            format!("{:?} ({})", o.file_text(), hex(&o.file)),
        );
    }
}

fn options(out: &mut String, k: &Message, o: &Message) {
    if k.codes() != o.codes() {
        let _ = writeln!(
            out,
            "  option order: Kea {:?}\n                ours {:?}",
            k.codes(),
            o.codes()
        );
    }
    let mut codes = k.codes();
    codes.extend(o.codes());
    let mut seen = Vec::new();
    for code in codes {
        if seen.contains(&code) {
            continue;
        }
        seen.push(code);
        let pieces = |m: &Message| -> Vec<Vec<u8>> {
            m.options
                .iter()
                .filter(|(c, _)| *c == code)
                .map(|(_, d)| d.clone())
                .collect()
        };
        let (a, b) = (pieces(k), pieces(o));
        if a == b {
            continue;
        }
        let render = |p: &[Vec<u8>]| -> String {
            match p {
                [] => "absent".to_string(),
                [one] => show(one),
                many => many.iter().map(|d| show(d)).collect::<Vec<_>>().join(" + "),
            }
        };
        let _ = writeln!(
            out,
            "  {}:\n    Kea  {}\n    ours {}",
            describe(code),
            render(&a),
            render(&b)
        );
    }
}

/// A one-screen summary of a reply: type, addresses, boot fields, options.
pub fn summary(bytes: &[u8]) -> String {
    let Ok(m) = Message::parse(bytes) else {
        return format!("undecodable {}", hex(bytes));
    };
    let mut out = format!(
        "type {} yiaddr {} siaddr {} giaddr {} flags {:#06x} sname {:?} file {:?}, {} bytes",
        m.kind(),
        m.yiaddr,
        m.siaddr,
        m.giaddr,
        m.flags,
        m.sname_text(),
        m.file_text(),
        bytes.len()
    );
    for (code, data) in &m.options {
        let _ = write!(out, "\n      {}: {}", describe(*code), show(data));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::differences;
    use crate::kea::message::{Request, OFFER};

    fn reply(options: &[(u8, &[u8])], file: &str) -> Vec<u8> {
        let mut request = Request::new(OFFER, 7, [2, 0, 0, 0, 0, 1]);
        for (code, data) in options {
            request = request.option(*code, data);
        }
        let mut bytes = request.encode();
        bytes[0] = 2;
        bytes[108..108 + file.len()].copy_from_slice(file.as_bytes());
        bytes
    }

    #[test]
    fn identical_replies_have_no_differences() {
        let a = reply(&[(1, &[255, 255, 255, 0]), (3, &[192, 0, 2, 1])], "boot");
        assert_eq!(differences(&a, &a.clone()), None);
    }

    #[test]
    fn order_data_boot_fields_and_padding_are_each_reported() {
        let kea = reply(&[(1, &[255, 255, 255, 0]), (3, &[192, 0, 2, 1])], "a.efi");
        let mut ours = reply(&[(3, &[192, 0, 2, 9]), (1, &[255, 255, 255, 0])], "b.efi");
        ours.extend_from_slice(&[0, 0, 0]);
        let report = differences(&kea, &ours).unwrap();
        assert!(report.contains("option order: Kea [53, 1, 3]"), "{report}");
        assert!(
            report.contains("option 3 (routers):\n    Kea  c0000201"),
            "{report}"
        );
        assert!(report.contains(r#"file: Kea "a.efi""#), "{report}");
        assert!(
            report.contains("after the end option 0 vs 3 bytes"),
            "{report}"
        );
        assert!(!report.contains("option 1 "), "{report}");
    }
}
