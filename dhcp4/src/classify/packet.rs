//! A received packet as Kea's `Pkt4::unpack` sees it: the fixed header, and
//! an index of where each option starts, built once; option values are read
//! from the bytes on demand (borrowed; owned only when Kea would have fused
//! repeated instances or re-packed sub-options in code order).

use std::borrow::Cow;

use super::PacketMeta;

/// BOOTP header length before the magic cookie (Kea's `DHCPV4_PKT_HDR_LEN`).
pub(super) const HEADER_LEN: usize = 236;
const COOKIE: [u8; 4] = [99, 130, 83, 99];
const OPTIONS_START: usize = HEADER_LEN + 4;
/// Kea's `HWAddr::MAX_HWADDR_LEN`: a longer `hlen` makes Kea drop the packet.
const MAX_HWADDR_LEN: usize = 20;
/// Relay agent information (RFC 3046).
pub(super) const RELAY_AGENT: u8 = 82;
/// V-I vendor class (RFC 3925).
pub(super) const VIVCO: u8 = 124;
/// V-I vendor-specific information (RFC 3925).
pub(super) const VIVSO: u8 = 125;

/// The standard DHCPv4 options Kea 2.2 defines as `string`
/// (`std_option_defs.h`): Kea trims trailing NULs and ignores an option that
/// is empty or all NULs.
const STRING_OPTIONS: &[u8] = &[
    12, 14, 15, 17, 18, 40, 47, 56, 60, 62, 64, 66, 67, 86, 87, 98, 100, 101, 113, 114,
];

/// Where the first instance of an option lies and whether more follow.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Offset of the first instance's code byte; 0 = absent.
    first: u16,
    /// Instances seen.
    count: u8,
}

/// A received DHCPv4 packet as expressions see it: the raw bytes with an index
/// of where each option lies, built once per packet.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) meta: PacketMeta<'a>,
    slots: [Slot; 256],
    /// Where option parsing stopped (the end, `END`, a truncated option or a
    /// malformed option 125).
    options_end: usize,
    /// Whether Kea fused repeated options (RFC 3396); it does not when an
    /// option 125 stopped parsing.
    fuse: bool,
    valid: bool,
}

impl<'a> Packet<'a> {
    /// Indexes `bytes` (a whole BOOTP/DHCP message) for evaluation.
    pub fn new(bytes: &'a [u8], meta: PacketMeta<'a>) -> Packet<'a> {
        let mut packet = Packet {
            bytes,
            meta,
            slots: [Slot::default(); 256],
            options_end: OPTIONS_START,
            fuse: true,
            valid: false,
        };
        let hlen = bytes.get(2).copied().map_or(0, usize::from);
        if bytes.len() < OPTIONS_START
            || bytes.get(HEADER_LEN..OPTIONS_START) != Some(&COOKIE[..])
            || hlen > MAX_HWADDR_LEN
        {
            return packet;
        }
        packet.valid = packet.index();
        packet
    }

    /// Whether Kea would process this packet at all: it drops one with a
    /// short header, no magic cookie, an `hlen` over 20, a malformed option
    /// 124 or a standard integer or address option of an impossible length
    /// (e.g. option 51 of 3 bytes). Expressions on an invalid packet see
    /// what was indexed.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Walks the options as `LibDHCP::unpackOptions4`; false when Kea would
    /// drop the packet.
    fn index(&mut self) -> bool {
        let bytes = self.bytes;
        let mut at = OPTIONS_START;
        let mut valid = true;
        while let Some(&code) = bytes.get(at) {
            match code {
                255 => break,
                0 => {
                    at += 1;
                    continue;
                }
                _ => {}
            }
            let Some(&len) = bytes.get(at + 1) else { break };
            let Some(data) = bytes.get(at + 2..at + 2 + usize::from(len)) else {
                break;
            };
            if code == VIVSO {
                let Some((enterprise, block)) = vendor_option(data) else {
                    self.fuse = false;
                    break;
                };
                valid &= super::format::vendor_well_formed(enterprise, block);
            }
            if code == VIVCO && vendor_class_tuples(data).is_none()
                || !super::format::well_formed(code, data)
            {
                valid = false;
            }
            let keep = !STRING_OPTIONS.contains(&code) || !trim_nuls(data).is_empty();
            let slot = &mut self.slots[usize::from(code)];
            if keep {
                if slot.count == 0 {
                    slot.first = u16::try_from(at).unwrap_or(u16::MAX);
                }
                slot.count = slot.count.saturating_add(1);
            }
            at += 2 + usize::from(len);
        }
        self.options_end = at.min(bytes.len());
        valid
    }

    /// The instances of option `code`, each as Kea stores it (strings
    /// trimmed, empty strings skipped).
    pub(super) fn instances(&self, code: u8) -> impl Iterator<Item = &'a [u8]> + '_ {
        let slot = self.slots[usize::from(code)];
        let start = if slot.count == 0 {
            self.options_end
        } else {
            usize::from(slot.first)
        };
        let region = self.bytes.get(start..self.options_end).unwrap_or(&[]);
        let is_string = STRING_OPTIONS.contains(&code);
        OptionIter { rest: region }
            .filter(move |(c, _)| *c == code)
            .map(move |(_, data)| if is_string { trim_nuls(data) } else { data })
            .filter(move |data| !is_string || !data.is_empty())
    }

    /// How many instances of `code` Kea keeps as separate options (1 after
    /// fusing), 0 when absent.
    pub(super) fn count(&self, code: u8) -> usize {
        let count = usize::from(self.slots[usize::from(code)].count);
        if self.fuse {
            count.min(1)
        } else {
            count
        }
    }

    /// The option's data as Kea holds it: repeated instances concatenated
    /// (RFC 3396) unless Kea stopped before fusing, in which case the first.
    pub(super) fn data(&self, code: u8) -> Option<Cow<'a, [u8]>> {
        let slot = self.slots[usize::from(code)];
        if slot.count == 0 {
            return None;
        }
        let mut instances = self.instances(code);
        let first = instances.next()?;
        if slot.count == 1 || !self.fuse {
            return Some(Cow::Borrowed(first));
        }
        let mut all = first.to_vec();
        instances.for_each(|data| all.extend_from_slice(data));
        Some(Cow::Owned(all))
    }

    /// Whether Kea replaced several instances of `code` by one fused generic
    /// option (which is no longer an `OptionVendor`, `OptionInt`, ...).
    pub(super) fn fused(&self, code: u8) -> bool {
        self.fuse && self.slots[usize::from(code)].count > 1
    }

    /// Whether repeated options (and sub-options) are fused.
    pub(super) fn fuses(&self) -> bool {
        self.fuse
    }

    /// A fixed header field at `offset`, `len` bytes.
    pub(super) fn field(&self, offset: usize, len: usize) -> &'a [u8] {
        self.bytes.get(offset..offset + len).unwrap_or(&[])
    }

    /// `pkt4.mac`: the first `hlen` bytes of chaddr (zero-padded past 16).
    pub(super) fn mac(&self) -> Cow<'a, [u8]> {
        let hlen = self
            .bytes
            .get(2)
            .copied()
            .map_or(0, usize::from)
            .min(MAX_HWADDR_LEN);
        if hlen <= 16 {
            return Cow::Borrowed(self.field(28, hlen));
        }
        let mut mac = self.field(28, 16).to_vec();
        mac.resize(hlen, 0);
        Cow::Owned(mac)
    }

    /// The codes of the options present, in code order.
    pub(super) fn codes(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|c| self.slots[usize::from(*c)].count > 0)
    }
}

/// Iterates `(code, data)` of a code/length/data list (sub-options: PAD and
/// END are ordinary codes there), stopping at a truncated entry.
pub(super) struct OptionIter<'a> {
    pub(super) rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&code, tail) = self.rest.split_first()?;
            if code == 0 || code == 255 {
                self.rest = if code == 0 { tail } else { &[] };
                continue;
            }
            let (&len, tail) = tail.split_first()?;
            let data = tail.get(..usize::from(len))?;
            self.rest = &tail[usize::from(len)..];
            return Some((code, data));
        }
    }
}

/// Sub-options: every code is an option (no PAD/END), as Kea parses an
/// encapsulated space with `check` off.
pub(super) fn sub_options(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&code, tail) = rest.split_first()?;
        let (&len, tail) = tail.split_first()?;
        let value = tail.get(..usize::from(len))?;
        rest = &tail[usize::from(len)..];
        Some((code, value))
    })
}

/// Option 125 as Kea's `OptionVendor` reads it: the enterprise id and the
/// sub-options of the first data block; `None` when Kea would stop parsing.
pub(super) fn vendor_option(data: &[u8]) -> Option<(u32, &[u8])> {
    let (id, rest) = data.split_first_chunk::<4>()?;
    let enterprise = u32::from_be_bytes(*id);
    let Some((&block_len, block)) = rest.split_first() else {
        return Some((enterprise, &[]));
    };
    let block = block.get(..usize::from(block_len))?;
    let whole = sub_options(block).map(|(_, d)| d.len() + 2).sum::<usize>();
    (whole == block.len()).then_some((enterprise, block))
}

/// Option 124 as Kea's `OptionVendorClass` reads it: the enterprise id and
/// the number of data tuples; `None` when Kea would refuse the packet.
pub(super) fn vendor_class_tuples(data: &[u8]) -> Option<(u32, usize)> {
    let (id, rest) = data.split_first_chunk::<4>()?;
    let mut count = 0;
    let mut offset = 0;
    while offset < rest.len() {
        let len = usize::from(*rest.get(offset)?);
        rest.get(offset + 1..offset + 1 + len)?;
        offset += 1 + len;
        count += 1;
        if offset != rest.len() {
            offset += 4;
            if offset + 1 >= rest.len() {
                return None;
            }
        }
    }
    Some((u32::from_be_bytes(*id), count))
}

/// Tuple `index` of option 124's data (already validated).
pub(super) fn vendor_class_tuple(data: &[u8], index: usize) -> Option<&[u8]> {
    let rest = data.get(4..)?;
    let mut offset = 0;
    for i in 0..=index {
        let len = usize::from(*rest.get(offset)?);
        let tuple = rest.get(offset + 1..offset + 1 + len)?;
        if i == index {
            return Some(tuple);
        }
        offset += 1 + len + 4;
    }
    None
}

/// Kea's `seekTrimmed(.., 0)`: without trailing NULs.
fn trim_nuls(data: &[u8]) -> &[u8] {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &data[..end]
}

/// Whether `code` is a standard string option (its `.text` is its value).
pub(super) fn is_string_option(code: u8) -> bool {
    STRING_OPTIONS.contains(&code)
}

/// The data of sub-option `sub` in `parent` (an option's data), instances
/// fused when `fuse` (Kea fuses sub-options as it fuses options).
pub(super) fn sub_option<'p>(parent: &Cow<'p, [u8]>, sub: u8, fuse: bool) -> Option<Cow<'p, [u8]>> {
    let pick = |data: &[u8]| -> Option<(std::ops::Range<usize>, bool)> {
        let mut found = sub_options(data).filter(|(c, _)| *c == sub).map(|(_, d)| d);
        let first = found.next()?;
        let start = first.as_ptr() as usize - data.as_ptr() as usize;
        Some((start..start + first.len(), fuse && found.next().is_some()))
    };
    let data: &[u8] = parent;
    let (range, repeated) = pick(data)?;
    if repeated {
        let mut all = Vec::new();
        sub_options(data)
            .filter(|(c, _)| *c == sub)
            .for_each(|(_, d)| all.extend_from_slice(d));
        return Some(Cow::Owned(all));
    }
    match parent {
        Cow::Borrowed(p) => p.get(range).map(Cow::Borrowed),
        Cow::Owned(v) => v.get(range).map(|d| Cow::Owned(d.to_vec())),
    }
}
