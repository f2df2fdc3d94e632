//! `option[..].text` of Kea 2.2's typed standard DHCPv4 options: Kea renders
//! a non-string option with its class's `toText` (`OptionInt`,
//! `OptionIntArray`, `Option4AddrLst`, `OptionCustom`, `OptionVendor`,
//! `OptionVendorClass`), which names the type after each value.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::packet::{self, VIVCO, VIVSO};
use super::text::generic_text;

/// How Kea's standard definition types an option (`std_option_defs.h`),
/// for the types whose `toText` is reproduced here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `OptionInt<T>`: one integer of `width` bytes.
    Int { width: usize, signed: bool },
    /// `OptionIntArray<T>`: integers of `width` bytes (Kea reads the signed
    /// array types as unsigned).
    IntArray { width: usize },
    /// `OptionCustom` holding one IPv4 address.
    Addr,
    /// `Option4AddrLst`.
    AddrList,
    /// `OptionCustom` holding one boolean.
    Bool,
    /// `OptionCustom` holding a record: 1-byte integers, then optionally
    /// opaque bytes to the end.
    Record { uint8s: usize, binary: bool },
}

fn format_of(code: u8) -> Option<Format> {
    let int = |width, signed| Some(Format::Int { width, signed });
    match code {
        1 | 16 | 28 | 32 | 50 | 54 | 118 => Some(Format::Addr),
        3..=11
        | 21
        | 33
        | 41
        | 42
        | 44
        | 45
        | 48
        | 49
        | 65
        | 68..=76
        | 85
        | 89
        | 92
        | 112
        | 136
        | 138 => Some(Format::AddrList),
        2 => int(4, true),
        13 | 22 | 26 | 57 => int(2, false),
        23 | 37 | 46 | 52 | 53 | 116 => int(1, false),
        24 | 35 | 38 | 51 | 58 | 59 | 91 | 108 => int(4, false),
        25 | 93 | 117 => Some(Format::IntArray { width: 2 }),
        55 => Some(Format::IntArray { width: 1 }),
        19 | 20 | 27 | 29..=31 | 34 | 36 | 39 => Some(Format::Bool),
        94 => Some(Format::Record {
            uint8s: 3,
            binary: false,
        }),
        97 => Some(Format::Record {
            uint8s: 1,
            binary: true,
        }),
        _ => None,
    }
}

fn type_name(width: usize, signed: bool) -> &'static str {
    match (width, signed) {
        (1, false) => "uint8",
        (1, true) => "int8",
        (2, false) => "uint16",
        (2, true) => "int16",
        (4, false) => "uint32",
        _ => "int32",
    }
}

fn integer(bytes: &[u8], signed: bool) -> i64 {
    let unsigned = bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    let bits = 8 * u32::try_from(bytes.len()).unwrap_or(8);
    if signed && bits > 0 && bits < 64 && unsigned >> (bits - 1) == 1 {
        i64::try_from(unsigned).unwrap_or(0) - (1i64 << bits)
    } else {
        i64::try_from(unsigned).unwrap_or(0)
    }
}

/// Whether Kea can build its class for `code` from `data`; when it cannot,
/// `Pkt4::unpack` throws and Kea drops the packet.
pub(super) fn well_formed(code: u8, data: &[u8]) -> bool {
    match format_of(code) {
        Some(Format::Int { width, .. }) => data.len() >= width,
        Some(Format::IntArray { width }) => !data.is_empty() && data.len() % width == 0,
        Some(Format::AddrList) => data.len() % 4 == 0,
        Some(Format::Addr) => data.len() >= 4,
        Some(Format::Bool) => !data.is_empty(),
        Some(Format::Record { uint8s, .. }) => data.len() >= uint8s,
        None => true,
    }
}

/// How many bytes of `data` Kea keeps for `code`: an `OptionCustom` of
/// fixed-size fields drops what follows them (a 5-byte option 50 packs as 4).
pub(super) fn kept_len(code: u8, data: &[u8]) -> usize {
    let kept = match format_of(code) {
        Some(Format::Addr) => 4,
        Some(Format::Bool) => 1,
        Some(Format::Record {
            uint8s,
            binary: false,
        }) => uint8s,
        _ => data.len(),
    };
    kept.min(data.len())
}

/// Whether Kea's class for `code` keeps no raw data, so that fusing
/// repeated instances leaves the fused option's data empty.
pub(super) fn loses_data_when_fused(code: u8) -> bool {
    code == VIVCO
        || matches!(
            format_of(code),
            Some(Format::Int { .. } | Format::IntArray { .. } | Format::AddrList)
        )
}

/// Kea's `toText` of option `code` with `data` (a present, non-string,
/// non-82 option).
pub(super) fn option_text(code: u8, data: &[u8]) -> String {
    match code {
        VIVSO => vendor_text(data),
        VIVCO => vendor_class_text(data),
        _ => typed_text(code, data, format_of(code), 0),
    }
    .unwrap_or_else(|| generic_text(code, data, 0))
}

/// The DOCSIS 3 (enterprise 4491) sub-options of option 125 Kea defines
/// (`docsis3_option_defs.h`): `oro` and `tftp-servers`.
const DOCSIS: u32 = 4491;

fn vendor_format(enterprise: u32, code: u8) -> Option<Format> {
    match (enterprise, code) {
        (DOCSIS, 1) => Some(Format::IntArray { width: 1 }),
        (DOCSIS, 2) => Some(Format::AddrList),
        _ => None,
    }
}

/// `toText` of sub-option `code` of option 125 from `enterprise`.
pub(super) fn vendor_sub_text(enterprise: u32, code: u8, data: &[u8], indent: usize) -> String {
    typed_text(code, data, vendor_format(enterprise, code), indent)
        .unwrap_or_else(|| generic_text(code, data, indent))
}

/// Whether Kea can build the sub-options of option 125's `block` from
/// `enterprise` with its vendor definitions.
pub(super) fn vendor_well_formed(enterprise: u32, block: &[u8]) -> bool {
    packet::sub_options(block).all(|(code, data)| match vendor_format(enterprise, code) {
        Some(Format::IntArray { width }) => !data.is_empty() && data.len() % width == 0,
        Some(Format::AddrList) => data.len() % 4 == 0,
        _ => true,
    })
}

/// The `toText` of the class `format` names, `None` when `data` does not
/// fit it.
fn typed_text(code: u8, data: &[u8], format: Option<Format>, indent: usize) -> Option<String> {
    let header = format!("{:indent$}type={code:03}, len={:03}:", "", data.len());
    match format? {
        Format::Int { width, signed } if data.len() == width => Some(format!(
            "{header} {} ({})",
            integer(data, signed),
            type_name(width, signed)
        )),
        Format::IntArray { width } if data.len() % width == 0 => {
            let name = type_name(width, false);
            Some(data.chunks(width).fold(header, |mut out, v| {
                let _ = write!(out, " {}({name})", integer(v, false));
                out
            }))
        }
        Format::Addr => <[u8; 4]>::try_from(data)
            .ok()
            .map(|a| format!("{header} {} (ipv4-address)", Ipv4Addr::from(a))),
        Format::AddrList if data.len() % 4 == 0 => {
            Some(data.chunks(4).fold(header, |mut out, a| {
                let octets: [u8; 4] = a.try_into().unwrap_or([0; 4]);
                let _ = write!(out, " {}", Ipv4Addr::from(octets));
                out
            }))
        }
        Format::Bool if data.len() == 1 => Some(format!("{header} {} (boolean)", data == [1])),
        Format::Record { uint8s, binary } => {
            let (ints, rest) = data.split_at_checked(uint8s)?;
            let mut out = ints.iter().fold(header, |mut out, v| {
                let _ = write!(out, " {v} (uint8)");
                out
            });
            if binary {
                let hex: String = rest.iter().map(|b| format!("{b:02X}")).collect();
                let _ = write!(out, " {hex} (binary)");
            }
            Some(out)
        }
        _ => None,
    }
}

/// `OptionVendor::toText`: enterprise id, data length, sub-options.
fn vendor_text(data: &[u8]) -> Option<String> {
    let (id, block) = packet::vendor_option(data)?;
    let subs: Vec<(u8, &[u8])> = packet::sub_options(block).collect();
    let mut sorted = subs.clone();
    sorted.sort_by_key(|(c, _)| *c);
    let len: usize = 5 + block.len();
    let mut out = format!(
        "type=125, len={len:03}: {id} (uint32) {} (uint8)",
        block.len()
    );
    if !sorted.is_empty() {
        out.push_str(",\noptions:");
        for (c, d) in sorted {
            let _ = write!(out, "\n{}", vendor_sub_text(id, c, d, 2));
        }
    }
    Some(out)
}

/// `OptionVendorClass::toText`: enterprise id before every tuple.
fn vendor_class_text(data: &[u8]) -> Option<String> {
    let (id, tuples) = packet::vendor_class_tuples(data)?;
    let mut out = format!("type=124, len={}, ", data.len());
    for i in 0..tuples {
        let tuple = packet::vendor_class_tuple(data, i)?;
        let sep = if i == 0 { " " } else { ", " };
        let _ = write!(
            out,
            "{sep}enterprise id=0x{id:x}, data-len{i}={}, vendor-class-data{i}='{}'",
            tuple.len(),
            String::from_utf8_lossy(tuple)
        );
    }
    if tuples == 0 {
        let _ = write!(out, " enterprise id=0x{id:x}");
    }
    Some(out)
}
