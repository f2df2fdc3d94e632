//! Option 121, classless static routes (RFC 3442), as Kea 2.6's
//! `OptionClasslessStaticRoute` reads it: the text form
//! `10.0.0.0/8 - 10.2.3.1, 10.229.0.128/25 - 10.1.0.3` or the wire form
//! (mask width, significant octets of the destination, router).

use std::net::Ipv4Addr;

use super::text::{tokens, trim};

/// Encodes option 121's data; `text_form` when it came from `csv-format` text.
pub(super) fn encode(buf: &[u8], text_form: bool) -> Result<Vec<u8>, String> {
    if buf.len() < 5 {
        return Err(format!(
            "DHCPv4 OptionClasslessStaticRoute 121 has invalid length={}, must be at least 5.",
            buf.len()
        ));
    }
    if text_form {
        let text = String::from_utf8_lossy(buf);
        from_text(&text)
    } else {
        check_wire(buf)?;
        Ok(buf.to_vec())
    }
}

/// `parseConfigData`: routes split at commas, each `prefix/len - router`.
/// The destination's significant octets are written as given (Kea does not
/// clear host bits).
fn from_text(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for route in tokens(text, ',', false) {
        let parts = tokens(trim(&route), '-', false);
        let [prefix, router] = parts.as_slice() else {
            return Err("DHCPv4 OptionClasslessStaticRoute 121 has invalid value, option definition must have comma separated routes formatted as in example: 10.229.0.128/25 - 10.229.0.1".to_string());
        };
        let prefix = trim(prefix);
        let (addr, len) = prefix.split_once('/').ok_or_else(|| {
            format!("DHCPv4 OptionClasslessStaticRoute 121 has invalid value, provided IPv4 prefix {prefix} is not valid.")
        })?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| {
            format!("DHCPv4 OptionClasslessStaticRoute 121 has invalid value, provided subnet_addr {addr} is not a valid IPv4 address.")
        })?;
        let width = len.parse::<i16>().ok().and_then(|w| u8::try_from(w).ok()).filter(|w| *w <= 32).ok_or_else(|| {
            format!("DHCPv4 OptionClasslessStaticRoute 121 has invalid value, provided prefix len {len} is not valid.")
        })?;
        let router = trim(router);
        let router: Ipv4Addr = router.parse().map_err(|_| {
            format!("DHCPv4 OptionClasslessStaticRoute 121 has invalid value, provided router address {router} is not a valid IPv4 address.")
        })?;
        out.push(width);
        out.extend_from_slice(addr.octets().get(..significant(width)).unwrap_or_default());
        out.extend_from_slice(&router.octets());
    }
    Ok(out)
}

/// Octets of the destination RFC 3442 §1 keeps for a mask width.
fn significant(width: u8) -> usize {
    usize::from(width).div_ceil(8)
}

/// `parseWireData`: every route complete, widths at most 32.
fn check_wire(mut buf: &[u8]) -> Result<(), String> {
    while let [width, rest @ ..] = buf {
        if *width > 32 {
            return Err(format!(
                "DHCPv4 OptionClasslessStaticRoute 121 has invalid value, provided width of subnet mask {width} is not valid."
            ));
        }
        let len = significant(*width) + 4;
        buf = rest
            .get(len..)
            .ok_or_else(|| "DHCPv4 OptionClasslessStaticRoute 121 is truncated.".to_string())?;
    }
    Ok(())
}
