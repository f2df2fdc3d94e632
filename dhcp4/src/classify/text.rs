//! Option values as Kea renders them: `.hex` is the option re-packed by Kea
//! (`Option::toBinary`: sub-options in code order), `.text` is the value of a
//! string option and Kea's `toText` form otherwise.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::packet::{self, Packet, HEADER_LEN, RELAY_AGENT, VIVSO};

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Kea's `TokenToHexString`: two lowercase digits per byte, `sep` between.
pub(super) fn hex_string(data: &[u8], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * (2 + sep.len()));
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    out
}

/// `option[code].hex` of a present option.
pub(super) fn option_hex<'a>(packet: &Packet<'a>, code: u8) -> Cow<'a, [u8]> {
    let (data, subs) = parts(packet, code);
    match subs {
        None => data,
        Some(subs) if data.is_empty() => subs,
        Some(subs) => {
            let mut all = data.into_owned();
            all.extend_from_slice(&subs);
            Cow::Owned(all)
        }
    }
}

/// An option as Kea holds it: its own data and its packed sub-options.
/// Kea fuses repeated instances into one generic option whose data is the
/// instances' data concatenated: raw bytes for generic and `OptionCustom`
/// options (82 included), nothing for the classes that keep values apart
/// (`OptionInt`, arrays, address lists, 124, 125).
fn parts<'a>(packet: &Packet<'a>, code: u8) -> (Cow<'a, [u8]>, Option<Cow<'a, [u8]>>) {
    let empty = Cow::Borrowed(&[][..]);
    let Some(data) = packet.data(code) else {
        return (empty, None);
    };
    let fused = packet.fused(code);
    match code {
        RELAY_AGENT if fused => {
            let subs = repack(data.clone(), true);
            (data, Some(subs))
        }
        RELAY_AGENT => (empty, Some(repack(data, packet.fuses()))),
        VIVSO if fused => (empty, vendor_subs(packet).map(|s| repack(s, true))),
        VIVSO => (vendor_hex(data, packet.fuses()), None),
        _ if fused && super::format::loses_data_when_fused(code) => (empty, None),
        _ => {
            let kept = super::format::kept_len(code, &data);
            let data = match data {
                Cow::Borrowed(d) => Cow::Borrowed(d.get(..kept).unwrap_or(d)),
                Cow::Owned(mut v) => {
                    v.truncate(kept);
                    Cow::Owned(v)
                }
            };
            (data, None)
        }
    }
}

/// The sub-options Kea sees in option 125: the first block's, or, once
/// fused, every instance's first block.
pub(super) fn vendor_subs<'a>(packet: &Packet<'a>) -> Option<Cow<'a, [u8]>> {
    if !packet.fused(VIVSO) {
        return packet.data(VIVSO).and_then(vendor_block);
    }
    let mut all = Vec::new();
    for instance in packet.instances(VIVSO) {
        if let Some((_, block)) = packet::vendor_option(instance) {
            all.extend_from_slice(block);
        }
    }
    Some(Cow::Owned(all))
}

/// The sub-options of option 125's first block.
fn vendor_block(data: Cow<'_, [u8]>) -> Option<Cow<'_, [u8]>> {
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
    if packet::is_string_option(code) && !packet.fused(code) {
        return packet.data(code).unwrap_or_default();
    }
    let text = if code == RELAY_AGENT || packet.fused(code) {
        let (data, subs) = parts(packet, code);
        with_sub_options(
            code,
            &data,
            subs.as_deref().unwrap_or(&[]),
            code == RELAY_AGENT && !packet.fused(code),
        )
    } else {
        let (data, _) = parts(packet, code);
        super::format::option_text(code, &data)
    };
    Cow::Owned(text.into_bytes())
}

/// `toText` of an option with sub-options: Kea's generic form, or
/// `OptionCustom`'s (no blank after the colon) for option 82.
fn with_sub_options(code: u8, data: &[u8], subs: &[u8], custom: bool) -> String {
    let mut text = if custom {
        format!("type={code:03}, len={:03}:", data.len() + subs.len())
    } else {
        let hex = String::from_utf8_lossy(&hex_string(data, b":")).into_owned();
        format!("type={code:03}, len={:03}: {hex}", data.len() + subs.len())
    };
    let sub_text: Vec<String> = packet::sub_options(subs)
        .map(|(c, d)| generic_text(c, d, 2))
        .collect();
    if !sub_text.is_empty() {
        let _ = write!(text, ",\noptions:\n{}", sub_text.join("\n"));
    }
    text
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
