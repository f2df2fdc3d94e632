//! Option values as Kea renders them: `.hex` is the option re-packed by Kea
//! (`Option::toBinary`: sub-options in code order), `.text` is the value of a
//! string option and Kea's `toText` form otherwise.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::packet::{self, Packet, HEADER_LEN, RELAY_AGENT, VIVSO};

/// Kea's `TokenToHexString`: two lowercase digits per byte, `sep` between.
pub(super) fn hex_string(data: &[u8], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * (2 + sep.len()));
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out
}

/// `option[code].hex` of a present option.
pub(super) fn option_hex<'a>(packet: &Packet<'a>, code: u8) -> Cow<'a, [u8]> {
    let Some(data) = packet.data(code) else {
        return Cow::Borrowed(&[]);
    };
    match code {
        RELAY_AGENT => repack(data, packet.fuses()),
        VIVSO if packet.count(code) == 1 => vendor_hex(data, packet.fuses()),
        _ => data,
    }
}

/// The sub-options of option 125's first block.
pub(super) fn vendor_block(data: Cow<'_, [u8]>) -> Option<Cow<'_, [u8]>> {
    let (_, block) = packet::vendor_option(&data)?;
    let len = block.len();
    Some(match data {
        Cow::Borrowed(d) => Cow::Borrowed(d.get(5..5 + len)?),
        Cow::Owned(v) => Cow::Owned(v.get(5..5 + len)?.to_vec()),
    })
}

/// Option 125 as `OptionVendor::pack` writes it: enterprise id, data length,
/// the first block's sub-options in code order.
fn vendor_hex(data: Cow<'_, [u8]>, fuse: bool) -> Cow<'_, [u8]> {
    let Some((id, block)) = packet::vendor_option(&data) else {
        return data;
    };
    let subs = repack(Cow::Borrowed(block), fuse);
    if data.len() == 5 + block.len() && matches!(subs, Cow::Borrowed(_)) {
        return data;
    }
    let mut out = id.to_be_bytes().to_vec();
    out.push(u8::try_from(subs.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(&subs);
    Cow::Owned(out)
}

/// Sub-options re-packed as Kea packs them: in code order (stable), each
/// code's instances fused when `fuse`, a truncated tail dropped. Borrowed
/// when that is what the bytes already are.
fn repack(data: Cow<'_, [u8]>, fuse: bool) -> Cow<'_, [u8]> {
    let mut previous: Option<u8> = None;
    let mut whole = 0;
    let canonical = packet::sub_options(&data).all(|(code, d)| {
        whole += d.len() + 2;
        let ordered = previous.is_none_or(|p| p < code);
        previous = Some(code);
        ordered
    }) && whole == data.len();
    if canonical {
        return data;
    }
    let mut out = Vec::with_capacity(data.len());
    for code in 0..=255u8 {
        let mut instances = packet::sub_options(&data)
            .filter(|(c, _)| *c == code)
            .map(|(_, d)| d)
            .peekable();
        if instances.peek().is_none() {
            continue;
        }
        if fuse {
            let joined: Vec<u8> = instances.flatten().copied().collect();
            out.push(code);
            out.push(u8::try_from(joined.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(&joined);
        } else {
            for d in instances {
                out.push(code);
                out.push(u8::try_from(d.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(d);
            }
        }
    }
    Cow::Owned(out)
}

/// `option[code].text` of a present option.
pub(super) fn option_text<'a>(packet: &Packet<'a>, code: u8) -> Cow<'a, [u8]> {
    let Some(data) = packet.data(code) else {
        return Cow::Borrowed(&[]);
    };
    if packet::is_string_option(code) {
        return data;
    }
    let text = match code {
        RELAY_AGENT => {
            let subs = repack(data, packet.fuses());
            let mut text = format!("type={code:03}, len={:03}:", subs.len());
            let sub_text: Vec<String> = packet::sub_options(&subs)
                .map(|(c, d)| generic_text(c, d, 2))
                .collect();
            if !sub_text.is_empty() {
                let _ = write!(text, ",\noptions:\n{}", sub_text.join("\n"));
            }
            text
        }
        _ => super::format::option_text(code, &data),
    };
    Cow::Owned(text.into_bytes())
}

/// Kea's generic `Option::toText(indent)`: `type=NNN, len=NNN: aa:bb`.
pub(super) fn generic_text(code: u8, data: &[u8], indent: usize) -> String {
    let hex = String::from_utf8_lossy(&hex_string(data, b":")).into_owned();
    format!("{:indent$}type={code:03}, len={:03}: {hex}", "", data.len())
}

/// `pkt.len` as Kea's `Pkt4::len()`: the 236-byte header plus every option
/// as Kea would pack it (header and data; no cookie, PAD or END).
pub(super) fn pkt_len(packet: &Packet<'_>) -> u32 {
    let options: usize = packet
        .codes()
        .map(|code| packet.count(code) * 2 + option_hex(packet, code).len())
        .sum();
    u32::try_from(HEADER_LEN + options).unwrap_or(u32::MAX)
}
