//! One option's data from its definition, as Kea's
//! `OptionDefinition::optionFactory` builds it: the comma-separated text is
//! written field by field (`writeToBuffer`), then the buffer goes through the
//! option class Kea picks for the definition, whose unpack/pack round trip
//! checks it and sometimes reshapes it (sub-options sorted by code, trailing
//! NULs of a string dropped, fields past a fixed-size value dropped).

use std::net::{IpAddr, Ipv6Addr};

use super::special::{special_format, tuples, SZTP_REDIRECT};
use super::text::{decode_hex, fqdn_to_wire, parse_bool, parse_int, tokens, trim, wire_name_len};
use super::DataType::{
    self, Binary, Boolean, Empty, Fqdn, Int16, Int32, Int8, Internal, Ipv4Address, Ipv6Address,
    Ipv6Prefix, Psid, Record, Tuple, Uint16, Uint32, Uint8,
};
use super::OptionDef;

/// Encodes `csv-format` text per `def` (`optionFactory(u, type, values)`).
pub(super) fn from_csv(def: &OptionDef, data: &str) -> Result<Vec<u8>, String> {
    let values = tokens(data, ',', true);
    let mut buf = Vec::new();
    if def.data_type == Record {
        let fields = &def.record_types;
        if fields.len() > values.len() {
            return Err(format!(
                "number of data fields for the option type '{}' is greater than number of values provided.",
                def.code
            ));
        }
        for (field, value) in fields.iter().zip(&values) {
            write_value(def, trim(value), *field, &mut buf)?;
        }
        if let Some(last) = fields.last().filter(|_| def.array) {
            for value in values.iter().skip(fields.len()) {
                write_value(def, trim(value), *last, &mut buf)?;
            }
        }
    } else if def.array {
        for value in &values {
            write_value(def, trim(value), def.data_type, &mut buf)?;
        }
    } else if def.data_type == Internal {
        if values.is_empty() {
            return Err("no option value specified".to_string());
        }
        // Kea joins the tokens back, re-escaping their commas, and hands the
        // text to the option's own parser.
        let joined: Vec<String> = values.iter().map(|v| v.replace(',', "\\,")).collect();
        buf.extend_from_slice(joined.join(",").as_bytes());
    } else if let Some(first) = values.first() {
        write_value(def, trim(first), def.data_type, &mut buf)?;
    } else if def.data_type != Empty {
        return Err("no option value specified".to_string());
    }
    from_buffer(def, buf, true)
}

/// `writeToBuffer`: one value of `data_type`.
fn write_value(
    def: &OptionDef,
    value: &str,
    data_type: DataType,
    buf: &mut Vec<u8>,
) -> Result<(), String> {
    match data_type {
        Binary => {
            let bytes = decode_hex(value)
                .map_err(|e| format!("unable to cast {value} to binary data type: {e}"))?;
            buf.extend_from_slice(&bytes);
        }
        Boolean => buf.push(u8::from(parse_bool(value)?)),
        Int8 => buf.extend_from_slice(&int::<i8>(value)?.to_be_bytes()),
        Int16 => buf.extend_from_slice(&int::<i16>(value)?.to_be_bytes()),
        Int32 => buf.extend_from_slice(&int::<i32>(value)?.to_be_bytes()),
        Uint8 => buf.extend_from_slice(&int::<u8>(value)?.to_be_bytes()),
        Uint16 => buf.extend_from_slice(&int::<u16>(value)?.to_be_bytes()),
        Uint32 => buf.extend_from_slice(&int::<u32>(value)?.to_be_bytes()),
        // Kea writes whichever family the text is (`writeAddress`), so an
        // IPv6 address in an IPv4 field is 16 bytes; the option's class then
        // checks or cuts the length.
        Ipv4Address | Ipv6Address => match value.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => buf.extend_from_slice(&a.octets()),
            Ok(IpAddr::V6(a)) => buf.extend_from_slice(&a.octets()),
            Err(_) => {
                return Err(format!(
                    "provided address {value} is not a valid IPv4 or IPv6 address."
                ))
            }
        },
        Ipv6Prefix => write_prefix(value, buf)?,
        Psid => write_psid(value, buf)?,
        DataType::String => buf.extend_from_slice(value.as_bytes()),
        Fqdn => fqdn_to_wire(value, buf)?,
        Tuple => {
            let len = value.len();
            if def.code == SZTP_REDIRECT {
                let len16 = u16::try_from(len)
                    .map_err(|_| format!("invalid tuple value (size {len} larger than 65535)"))?;
                buf.extend_from_slice(&len16.to_be_bytes());
            } else {
                let len8 = u8::try_from(len)
                    .map_err(|_| format!("invalid tuple value (size {len} larger than 255)"))?;
                buf.push(len8);
            }
            buf.extend_from_slice(value.as_bytes());
        }
        Empty | Record | Internal => {
            return Err(
                "attempt to write invalid option data field type into the option buffer"
                    .to_string(),
            )
        }
    }
    Ok(())
}

fn int<T: TryFrom<i64> + Bounded>(value: &str) -> Result<T, String> {
    let v = parse_int(value, T::MIN, T::MAX)?;
    T::try_from(v).map_err(|_| format!("unable to convert '{value}' to numeric type"))
}

/// The range of an integer option field.
trait Bounded {
    const MIN: i64;
    const MAX: i64;
}

macro_rules! bounded {
    ($($t:ty),*) => {$(impl Bounded for $t {
        const MIN: i64 = <$t>::MIN as i64;
        const MAX: i64 = <$t>::MAX as i64;
    })*};
}
bounded!(i8, i16, i32, u8, u16, u32);

/// `ipv6-prefix`: `addr/len`, whitespace ignored; the length byte then the
/// significant bytes, the last masked (`OptionDataTypeUtil::writePrefix`).
fn write_prefix(value: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    let text: std::string::String = value.chars().filter(|c| !matches!(c, ' ' | '\t')).collect();
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("provided address/prefix {value} is not valid."))?;
    let addr: Ipv6Addr = addr
        .parse()
        .map_err(|_| format!("provided address {addr} is not a valid IPv6 address."))?;
    let len = parse_int(len, 0, 128).map_err(|_| format!("provided prefix {len} is not valid."))?;
    let len = u8::try_from(len).map_err(|_| format!("provided prefix {len} is not valid."))?;
    buf.push(len);
    let bytes = usize::from(len).div_ceil(8);
    let octets = addr.octets();
    buf.extend_from_slice(octets.get(..bytes).unwrap_or_default());
    let pad = (8 - len % 8) % 8;
    if pad > 0 {
        if let Some(last) = buf.last_mut() {
            *last = (*last >> pad) << pad;
        }
    }
    Ok(())
}

/// `psid`: `psid/len`; the length byte then the PSID left-aligned in 16 bits
/// (`OptionDataTypeUtil::writePsid`).
fn write_psid(value: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    let text: std::string::String = value.chars().filter(|c| !matches!(c, ' ' | '\t')).collect();
    let (psid, len) = text
        .split_once('/')
        .ok_or_else(|| format!("provided PSID value {value} is not valid"))?;
    let psid = int::<u16>(psid).map_err(|_| format!("provided PSID {psid} is not valid"))?;
    let len = int::<u8>(len).map_err(|_| format!("provided PSID length {len} is not valid"))?;
    if len > 16 {
        return Err(format!(
            "invalid PSID length value {len}, this value is expected to be in range of 0 to 16"
        ));
    }
    if len > 0 && u32::from(psid) > (0xFFFF_u32 >> (16 - u32::from(len))) {
        return Err(format!(
            "invalid PSID value {psid} for a specified PSID length {len}"
        ));
    }
    let shifted =
        u16::try_from((u32::from(psid) << (16 - u32::from(len))) & 0xFFFF).unwrap_or_default();
    buf.push(len);
    buf.extend_from_slice(&shifted.to_be_bytes());
    Ok(())
}

/// The option class's unpack/pack round trip over `buf` (`optionFactory(u,
/// type, begin, end)`); `text_form` is Kea's `convenient_notation` (the data
/// came from `csv-format` text).
pub(super) fn from_buffer(
    def: &OptionDef,
    buf: Vec<u8>,
    text_form: bool,
) -> Result<Vec<u8>, String> {
    if def.space == super::DHCP4_SPACE {
        if let Some(special) = special_format(def.code, &buf, text_form)? {
            return Ok(special);
        }
    }
    if def.data_type == Fqdn && def.array {
        return fqdn_list(buf);
    }
    let encapsulates = def.encapsulate.is_some();
    match def.data_type {
        Empty if !encapsulates => Ok(Vec::new()),
        Empty => Ok(with_suboptions(buf, 0)),
        Binary | Internal => Ok(buf),
        Int8 | Int16 | Int32 | Uint8 | Uint16 | Uint32 if !def.array => {
            let size = fixed_len(def.data_type);
            if buf.len() < size {
                return Err(format!("OptionInt {} truncated", def.code));
            }
            Ok(with_suboptions(buf, size))
        }
        Int8 | Int16 | Int32 | Uint8 | Uint16 | Uint32 => {
            if buf.is_empty() {
                return Err(format!("option {} empty", def.code));
            }
            if buf.len() % fixed_len(def.data_type) != 0 {
                return Err(format!("OptionIntArray {} truncated", def.code));
            }
            Ok(buf)
        }
        Ipv4Address | Ipv6Address if def.array => {
            let size = fixed_len(def.data_type);
            if buf.len() % size != 0 {
                return Err(format!(
                    "Option AddrLst {} has invalid length={}, must be divisible by {size}.",
                    def.code,
                    buf.len()
                ));
            }
            Ok(buf)
        }
        DataType::String if !def.array => {
            let end = buf.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
            if end == 0 {
                return Err(format!(
                    "failed to parse an option '{}' holding string value' was empty or contained only nuls",
                    def.code
                ));
            }
            let mut buf = buf;
            buf.truncate(end);
            Ok(buf)
        }
        Tuple if def.array => {
            tuples(&buf, false)?;
            Ok(buf)
        }
        _ => custom(def, buf),
    }
}

/// The size of a fixed-size type (`getDataTypeLen`), 0 for variable ones.
fn fixed_len(data_type: DataType) -> usize {
    match data_type {
        Boolean | Int8 | Uint8 => 1,
        Int16 | Uint16 => 2,
        Int32 | Uint32 | Ipv4Address => 4,
        Ipv6Address => 16,
        Psid => 3,
        _ => 0,
    }
}

/// Data followed by sub-options (`unpackOptions` then `packOptions`): the
/// sub-options are read as code/length/data until one is truncated (the rest
/// is dropped) and written back sorted by code, as Kea's option collection
/// (a multimap by code) packs them.
fn with_suboptions(mut buf: Vec<u8>, fixed: usize) -> Vec<u8> {
    let subs = parse_suboptions(buf.get(fixed..).unwrap_or_default());
    buf.truncate(fixed);
    for (code, data) in subs {
        push_suboption(&mut buf, code, &data);
    }
    buf
}

/// Code/length/data triples, stable-sorted by code, up to the first truncated one.
pub(super) fn parse_suboptions(mut rest: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let [code, len, tail @ ..] = rest {
        let Some(data) = tail.get(..usize::from(*len)) else {
            break;
        };
        out.push((*code, data.to_vec()));
        rest = tail.get(usize::from(*len)..).unwrap_or_default();
    }
    out.sort_by_key(|(code, _)| *code);
    out
}

/// Appends one sub-option (its data is at most 255 bytes: it came from a
/// length byte or the caller checked it).
pub(super) fn push_suboption(buf: &mut Vec<u8>, code: u8, data: &[u8]) {
    buf.push(code);
    buf.push(u8::try_from(data.len()).unwrap_or(u8::MAX));
    buf.extend_from_slice(data.get(..255).unwrap_or(data));
}

/// A list of names (`factoryFqdnList`): each read and written back without
/// compression; an empty list is refused.
fn fqdn_list(buf: Vec<u8>) -> Result<Vec<u8>, String> {
    if buf.is_empty() {
        return Err("FQDN list option has invalid length of 0".to_string());
    }
    let mut pos = 0;
    while pos < buf.len() {
        pos += wire_name_len(buf.get(pos..).unwrap_or_default())?;
    }
    Ok(buf)
}

/// `OptionCustom`: the definition's fields read from the buffer and written
/// back; what follows a non-array option's fields is its sub-options when it
/// encapsulates a space, else dropped; a partial trailing array element is dropped.
fn custom(def: &OptionDef, buf: Vec<u8>) -> Result<Vec<u8>, String> {
    let mut pos = 0;
    let single = [def.data_type];
    let fields: &[DataType] = if def.data_type == Record {
        &def.record_types
    } else {
        &single
    };
    for field in fields {
        let len = field_len(def, *field, false, buf.get(pos..).unwrap_or_default())?;
        if def.data_type != Record && len == 0 {
            return Err("option buffer truncated".to_string());
        }
        pos += len;
    }
    if def.array {
        if let Some(last) = fields.last() {
            while pos < buf.len() {
                let Ok(len) = field_len(def, *last, true, buf.get(pos..).unwrap_or_default())
                else {
                    break;
                };
                if len == 0 {
                    break;
                }
                pos += len;
            }
        }
        let mut buf = buf;
        buf.truncate(pos);
        return Ok(buf);
    }
    if def.encapsulate.is_some() {
        return Ok(with_suboptions(buf, pos));
    }
    let mut buf = buf;
    buf.truncate(pos);
    Ok(buf)
}

/// `OptionCustom::bufferLength`: how many bytes one field takes.
fn field_len(
    def: &OptionDef,
    field: DataType,
    in_array: bool,
    rest: &[u8],
) -> Result<usize, String> {
    let size = fixed_len(field);
    if size > 0 {
        return if rest.len() >= size {
            Ok(size)
        } else {
            Err("option buffer truncated".to_string())
        };
    }
    match field {
        Fqdn => wire_name_len(rest),
        Binary | DataType::String if !def.array => Ok(rest.len()),
        Ipv6Prefix => {
            let Some(bits) = rest.first() else {
                return if in_array {
                    Err("option buffer truncated".to_string())
                } else {
                    Ok(0)
                };
            };
            if *bits > 128 {
                return Err(format!("invalid prefix length {bits}"));
            }
            let len = 1 + usize::from(*bits).div_ceil(8);
            if rest.len() < len {
                return Err(format!(
                    "unable to read a prefix having length of {bits} from a truncated buffer"
                ));
            }
            Ok(len)
        }
        Tuple => {
            let len = usize::from(*rest.first().ok_or("option buffer truncated")?);
            if rest.len() < 1 + len {
                return Err(format!(
                    "unable to read data from the buffer as tuple (length {len})"
                ));
            }
            Ok(1 + len)
        }
        _ => Err("option buffer truncated".to_string()),
    }
}

/// Where an encapsulating option's own fields end in its encoded data, so
/// sub-options can be merged after them; `None` when Kea's class for the
/// definition carries no sub-options (strings, binary, arrays).
pub(super) fn fixed_part(def: &OptionDef, data: &[u8]) -> Option<usize> {
    def.encapsulate.as_ref()?;
    match def.data_type {
        DataType::String | Binary | Internal => None,
        _ if def.array => None,
        Empty => Some(0),
        Int8 | Int16 | Int32 | Uint8 | Uint16 | Uint32 => Some(fixed_len(def.data_type)),
        _ => {
            let single = [def.data_type];
            let fields: &[DataType] = if def.data_type == Record {
                &def.record_types
            } else {
                &single
            };
            let mut pos = 0;
            for field in fields {
                pos += field_len(def, *field, false, data.get(pos..).unwrap_or_default()).ok()?;
            }
            Some(pos)
        }
    }
}
