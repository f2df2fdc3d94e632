//! The text forms Kea reads option data in, with Kea's exact rules:
//! `isc::util::str::tokens` (escaped delimiters), `trim`, the hex forms of
//! `decodeFormattedHexString` / `decodeHex`, `quotedStringToBinary`, and
//! `isc::dns::Name`'s text-to-wire conversion.

/// Splits `text` at `delim` as Kea's `str::tokens` does: runs of delimiters
/// are one, empty tokens are dropped, and with `escape` a `\` keeps the next
/// delimiter (`\,`) or backslash (`\\`) literally; before any other character
/// the backslash itself is kept.
pub(super) fn tokens(text: &str, delim: char, escape: bool) -> Vec<String> {
    let mut result = Vec::new();
    let mut token = String::new();
    let mut in_token = false;
    let mut escaped = false;
    for c in text.chars() {
        if c == delim {
            if !in_token {
                continue;
            }
            if escaped {
                escaped = false;
                token.push(c);
            } else {
                if !token.is_empty() {
                    result.push(std::mem::take(&mut token));
                }
                in_token = false;
            }
        } else if escape && c == '\\' {
            in_token = true;
            if escaped {
                escaped = false;
                token.push(c);
            } else {
                escaped = true;
            }
        } else {
            in_token = true;
            if escaped {
                escaped = false;
                token.push('\\');
            }
            token.push(c);
        }
    }
    if escaped {
        token.push('\\');
    }
    if !token.is_empty() {
        result.push(token);
    }
    result
}

/// Kea's `str::trim`: strips spaces, tabs and newlines at both ends.
pub(super) fn trim(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n'])
}

/// Kea's `encode::decodeHex`: hex digits of either case, whitespace skipped,
/// an even number of digits.
pub(super) fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
            continue;
        }
        let digit = c
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or_else(|| format!("'{c}' is not a hexadecimal digit in '{text}'"))?;
        match high.take() {
            Some(h) => out.push(h << 4 | digit),
            None => high = Some(digit),
        }
    }
    if high.is_some() {
        return Err(format!("odd number of hexadecimal digits in '{text}'"));
    }
    Ok(out)
}

/// Option data without `csv-format`: Kea's `quotedStringToBinary` (text in
/// single quotes, trimmed inside) else `decodeFormattedHexString` (`01:02`,
/// `01 02`, `0x0102`, `0102`, an odd digit count padded with a leading 0).
pub(super) fn decode_option_binary(text: &str) -> Result<Vec<u8>, String> {
    let trimmed = trim(text);
    if trimmed.len() > 1 && trimmed.starts_with('\'') && trimmed.ends_with('\'') {
        let inner = trim(trimmed.get(1..trimmed.len() - 1).unwrap_or_default());
        if !inner.is_empty() {
            return Ok(inner.as_bytes().to_vec());
        }
    }
    let bad = || format!("option data is not a valid string of hexadecimal digits: {text}");
    if text.contains(':') {
        return decode_separated(text, ':').ok_or_else(bad);
    }
    if text.contains(' ') {
        return decode_separated(text, ' ').ok_or_else(bad);
    }
    let digits = match text.strip_prefix("0x") {
        Some(rest) if text.len() > 2 => rest,
        _ => text,
    };
    let padded = if text.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    decode_hex(&padded).map_err(|_| bad())
}

/// `decodeSeparatedHexString`: one or two hex digits between separators, no
/// empty part unless the whole text is empty.
fn decode_separated(text: &str, sep: char) -> Option<Vec<u8>> {
    let parts: Vec<&str> = text.split(sep).collect();
    let mut out = Vec::with_capacity(parts.len());
    for part in &parts {
        if part.is_empty() {
            if parts.len() > 1 {
                return None;
            }
            continue;
        }
        if part.len() > 2 || !part.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        out.push(u8::from_str_radix(part, 16).ok()?);
    }
    Some(out)
}

/// Kea's `lexicalCastWithRangeCheck`: decimal (optionally signed), else what
/// a C++ `std::hex` stream reads (optional sign, optional `0x`, hex digits),
/// then the range of the target type.
pub(super) fn parse_int(text: &str, min: i64, max: i64) -> Result<i64, String> {
    let value = match text.parse::<i64>() {
        Ok(v) => v,
        Err(_) => parse_stream_hex(text)
            .ok_or_else(|| format!("unable to convert the value '{text}' to integer data type"))?,
    };
    if value < min || value > max {
        return Err(format!(
            "unable to convert '{text}' to numeric type. This value is expected to be in the range of {min}..{max}"
        ));
    }
    Ok(value)
}

fn parse_stream_hex(text: &str) -> Option<i64> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))
        .unwrap_or(rest);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = i64::from_str_radix(digits, 16).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Kea's `OptionDefinition::convertToBool`: `true`/`false` in any case, else
/// an integer that must be 0 or 1.
pub(super) fn parse_bool(text: &str) -> Result<bool, String> {
    if text.eq_ignore_ascii_case("true") {
        return Ok(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Ok(false);
    }
    match text.parse::<i32>() {
        Ok(0) => Ok(false),
        Ok(1) => Ok(true),
        Ok(_) => Err(format!("unable to convert '{text}' to boolean data type")),
        Err(_) => Err(format!(
            "unable to covert the value '{text}' to boolean data type"
        )),
    }
}

/// Longest DNS label and name (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;
const MAX_NAME: usize = 255;

/// `isc::dns::Name` from text, written in wire format without compression
/// and with the case as written (`OptionDataTypeUtil::writeFqdn`): labels
/// split at unescaped dots, `\DDD` and `\X` escapes, the trailing dot
/// optional, `.` alone the root.
pub(super) fn fqdn_to_wire(text: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    name_bytes_to_wire(text.as_bytes(), buf)
}

/// [`fqdn_to_wire`] over bytes that need not be UTF-8 (Kea reads option 81's
/// name as text whatever its bytes).
pub(super) fn name_bytes_to_wire(bytes: &[u8], buf: &mut Vec<u8>) -> Result<(), String> {
    let lossy = String::from_utf8_lossy(bytes);
    let text = lossy.as_ref();
    if bytes.is_empty() {
        return Err("empty domain name".to_string());
    }
    if bytes == b"." {
        buf.push(0);
        return Ok(());
    }
    let start = buf.len();
    let mut label: Vec<u8> = Vec::with_capacity(MAX_LABEL);
    let mut i = 0;
    let mut ended_with_dot = false;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or_default();
        ended_with_dot = false;
        match b {
            b'.' => {
                push_label(text, &label, buf)?;
                label.clear();
                ended_with_dot = true;
                i += 1;
            }
            b'\\' => {
                let (value, used) = unescape(bytes.get(i + 1..).unwrap_or_default())
                    .ok_or_else(|| format!("bad escape in domain name '{text}'"))?;
                label.push(value);
                i += 1 + used;
            }
            _ => {
                label.push(b);
                i += 1;
            }
        }
    }
    if !ended_with_dot {
        push_label(text, &label, buf)?;
    }
    buf.push(0);
    if buf.len() - start > MAX_NAME {
        return Err(format!(
            "domain name '{text}' is longer than {MAX_NAME} bytes"
        ));
    }
    Ok(())
}

/// `isc::dns::Name::toText`: labels joined by dots, `"().;\\@$` escaped with a
/// backslash, bytes outside `!`..`~` as `\DDD`; the final dot left out when
/// `omit_final_dot`.
pub(super) fn wire_to_text(wire: &[u8], omit_final_dot: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len() + 1);
    let mut rest = wire;
    while let [len, tail @ ..] = rest {
        if *len == 0 {
            break;
        }
        let label = tail.get(..usize::from(*len)).unwrap_or(tail);
        for &c in label {
            match c {
                b'"' | b'(' | b')' | b'.' | b';' | b'\\' | b'@' | b'$' => {
                    out.extend_from_slice(&[b'\\', c])
                }
                0x21..=0x7e => out.push(c),
                _ => out.extend_from_slice(format!("\\{c:03}").as_bytes()),
            }
        }
        out.push(b'.');
        rest = tail.get(label.len()..).unwrap_or_default();
    }
    if out.is_empty() {
        out.push(b'.');
    }
    if omit_final_dot && out.len() > 1 {
        out.pop();
    }
    out
}

fn push_label(text: &str, label: &[u8], buf: &mut Vec<u8>) -> Result<(), String> {
    if label.is_empty() {
        return Err(format!("empty label in domain name '{text}'"));
    }
    let len = u8::try_from(label.len())
        .ok()
        .filter(|l| usize::from(*l) <= MAX_LABEL)
        .ok_or_else(|| format!("label longer than {MAX_LABEL} bytes in domain name '{text}'"))?;
    buf.push(len);
    buf.extend_from_slice(label);
    Ok(())
}

/// The byte a `\` escape stands for and how many bytes after the backslash
/// it used: `\DDD` (decimal, at most 255) or `\X`.
fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if !first.is_ascii_digit() {
        return Some((first, 1));
    }
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some((u8::try_from(value).ok()?, 3))
}

/// Reads one uncompressed wire-format name at the start of `buf` and returns
/// its length (Kea reads names in option data with `isc::dns::Name`).
pub(super) fn wire_name_len(buf: &[u8]) -> Result<usize, String> {
    let mut pos = 0;
    loop {
        let len = usize::from(
            *buf.get(pos)
                .ok_or_else(|| "domain name in option data is truncated".to_string())?,
        );
        if len == 0 {
            pos += 1;
            break;
        }
        if len > MAX_LABEL {
            return Err("domain name in option data has a bad label length".to_string());
        }
        pos += 1 + len;
        if pos >= MAX_NAME {
            return Err(format!(
                "domain name in option data is longer than {MAX_NAME} bytes"
            ));
        }
    }
    if pos > buf.len() {
        return Err("domain name in option data is truncated".to_string());
    }
    Ok(pos)
}
