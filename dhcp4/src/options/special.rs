//! The `dhcp4` options Kea builds with a class of their own
//! (`OptionDefinition::factorySpecialFormatOption`): 79, 81, 121 (see
//! [`super::routes`]), 124, 125, 143, 162. Each class reads the buffer
//! written from the text (or hex) and packs it again; these functions check
//! and reshape it the same way.

use super::encode::{parse_suboptions, push_suboption};
use super::text::{name_bytes_to_wire, wire_name_len, wire_to_text};

/// The `dhcp4` codes Kea builds with a dedicated class
/// (`factorySpecialFormatOption`).
pub(super) const SLP_SERVICE_SCOPE: u8 = 79;
pub(super) const CLIENT_FQDN: u8 = 81;
pub(super) const CLASSLESS_STATIC_ROUTE: u8 = 121;
pub(super) const VIVCO: u8 = 124;
/// Option 125, whose data is an enterprise id and that id's sub-options.
pub(super) const VIVSO: u8 = 125;
pub(super) const SZTP_REDIRECT: u8 = 143;
pub(super) const V4_DNR: u8 = 162;

/// The options Kea gives a class of their own in `dhcp4`.
pub(super) fn special_format(
    code: u8,
    buf: &[u8],
    text_form: bool,
) -> Result<Option<Vec<u8>>, String> {
    match code {
        SLP_SERVICE_SCOPE => match buf.first() {
            Some(0 | 1) => Ok(Some(buf.to_vec())),
            Some(v) => Err(format!("unable to read the buffer as boolean value. Invalid value {v}")),
            None => Err("SLP Service Scope option is truncated".to_string()),
        },
        CLIENT_FQDN => client_fqdn(buf).map(Some),
        CLASSLESS_STATIC_ROUTE => super::routes::encode(buf, text_form).map(Some),
        VIVCO => {
            vendor_class(buf)?;
            Ok(Some(buf.to_vec()))
        }
        VIVSO => vendor_specific(buf).map(Some),
        SZTP_REDIRECT => {
            tuples(buf, true)?;
            Ok(Some(buf.to_vec()))
        }
        V4_DNR if text_form => {
            Err("the text form of v4-dnr (option 162) is not supported; write its data as hex with csv-format false".to_string())
        }
        _ => Ok(None),
    }
}

/// Length-prefixed strings back to back (`OptionOpaqueDataTuples`).
pub(super) fn tuples(mut buf: &[u8], two_byte: bool) -> Result<(), String> {
    while !buf.is_empty() {
        let (len, head) = if two_byte {
            match buf {
                [a, b, ..] => (usize::from(u16::from_be_bytes([*a, *b])), 2),
                _ => return Err("truncated opaque data tuple length".to_string()),
            }
        } else {
            (usize::from(buf.first().copied().unwrap_or_default()), 1)
        };
        buf = buf
            .get(head + len..)
            .ok_or_else(|| format!("read opaque data tuple of {len} bytes is truncated"))?;
    }
    Ok(())
}

/// Option 124 (`OptionVendorClass`, V4): an enterprise id, a tuple, and for
/// each further tuple the same enterprise id again.
fn vendor_class(buf: &[u8]) -> Result<(), String> {
    if buf.len() < 5 {
        return Err(format!(
            "parsed Vendor Class option data truncated to size {}",
            buf.len()
        ));
    }
    let id = buf.get(..4).unwrap_or_default();
    let mut rest = buf.get(4..).unwrap_or_default();
    loop {
        let len = usize::from(*rest.first().ok_or("truncated opaque data tuple")?);
        rest = rest.get(1 + len..).ok_or("truncated opaque data tuple")?;
        if rest.is_empty() {
            return Ok(());
        }
        if rest.get(..4) != Some(id) {
            return Err("V-I Vendor Class option with two different enterprise ids".to_string());
        }
        rest = rest.get(4..).unwrap_or_default();
        if rest.len() < 2 {
            return Err("truncated DHCPv4 V-I Vendor Class option - it should contain enterprise id followed by opaque data field tuple".to_string());
        }
    }
}

/// Option 125 (`OptionVendor`, V4): enterprise id, data-len, sub-options;
/// data-len is recomputed and the sub-options sorted by code when packed.
fn vendor_specific(buf: &[u8]) -> Result<Vec<u8>, String> {
    let id = buf.get(..4).ok_or_else(|| {
        format!(
            "Truncated vendor-specific information option, length={}",
            buf.len()
        )
    })?;
    let inner = match buf.get(4..) {
        Some([len, rest @ ..]) => rest.get(..usize::from(*len)).unwrap_or(rest),
        _ => &[],
    };
    let mut data = id.to_vec();
    data.push(0);
    fold_vendor_suboptions(&mut data, parse_suboptions(inner));
    Ok(data)
}

/// Adds sub-options to an option 125's data (enterprise id, data-len, ...)
/// keeping them sorted by code and data-len their total, which Kea keeps in
/// a byte (it wraps past 255 as Kea's `uint8_t` does).
pub(super) fn fold_vendor_suboptions(data: &mut Vec<u8>, mut subs: Vec<(u8, Vec<u8>)>) {
    let mut all = parse_suboptions(data.get(5..).unwrap_or_default());
    for sub in subs.drain(..) {
        if !all.iter().any(|(code, _)| *code == sub.0) {
            all.push(sub);
        }
    }
    all.sort_by_key(|(code, _)| *code);
    data.truncate(5);
    for (code, sub) in &all {
        push_suboption(data, *code, sub);
    }
    let total = data.len().saturating_sub(5);
    if let Some(len) = data.get_mut(4) {
        *len = (total % 256) as u8;
    }
}

/// Option 81 (`Option4ClientFqdn`): flags, two rcodes, the name, lower
/// case. With the E flag the name is wire format (a partial one, without its
/// final 0, stays partial); without it Kea reads the bytes as a text name and
/// writes that name's text, final dot left out unless the text ended in one:
/// `0, 0, 0, Example.com` (whose field is wire format) became
/// `\007example\003com\000` in Kea 2.2's OFFER.
fn client_fqdn(buf: &[u8]) -> Result<Vec<u8>, String> {
    let [flags, rcode1, rcode2, name @ ..] = buf else {
        return Err("DHCPv4 Client FQDN Option (81) is truncated".to_string());
    };
    if flags & 0x09 == 0x09 {
        return Err("both N and S flag of the DHCPv4 Client FQDN Option are set. According to RFC 4702, if the N bit is 1 the S bit MUST be 0".to_string());
    }
    let mut data = vec![*flags, *rcode1, *rcode2];
    if name.is_empty() {
        return Ok(data);
    }
    if flags & 0x04 == 0 {
        let mut wire = Vec::new();
        name_bytes_to_wire(name, &mut wire).map_err(|e| {
            format!("failed to parse the domain-name in DHCPv4 Client FQDN Option: {e}")
        })?;
        wire.make_ascii_lowercase();
        data.extend_from_slice(&wire_to_text(&wire, name.last() != Some(&b'.')));
        return Ok(data);
    }
    let partial = name.last() != Some(&0);
    let mut full = name.to_vec();
    if partial {
        full.push(0);
    }
    let len = wire_name_len(&full)?;
    let mut wire = full.get(..len).unwrap_or_default().to_ascii_lowercase();
    if partial {
        wire.pop();
    }
    data.extend_from_slice(&wire);
    Ok(data)
}
