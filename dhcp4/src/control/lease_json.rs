//! A lease as Kea's lease commands write it in JSON (Lease4::toElement) and
//! read it (lease_cmds' Lease4Parser): `ip-address`, `hw-address`,
//! `client-id`, `valid-lft`, `cltt` (or `expire` on input), `subnet-id`,
//! `fqdn-fwd`, `fqdn-rev`, `hostname`, `state`, `user-context`.

use std::net::Ipv4Addr;

use serde_json::{json, Map, Value};

use crate::lease::{Lease, LeaseState};

/// Bytes as Kea prints hardware addresses and client ids: `aa:bb:cc`.
pub fn hex_colon(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        text.push_str(&format!("{b:02x}"));
    }
    text
}

/// Reads a hardware address as Kea's lease commands do (HWAddr::fromText,
/// util's decodeColonSeparatedHexString): colon-separated groups of one or
/// two hex digits (`aa:bb:cc`, `a:b:c`; `""` is empty). Errors are Kea's
/// texts: `aa-bb-cc` and `aabbcc` are refused.
pub fn colon_hex(text: &str) -> Result<Vec<u8>, String> {
    let groups: Vec<&str> = text.split(':').collect();
    let mut bytes = Vec::with_capacity(groups.len());
    for group in &groups {
        if groups.len() > 1 && group.is_empty() {
            return Err(format!(
                "two consecutive separators (':') specified in a decoded string '{text}'"
            ));
        }
        if group.len() > 2 {
            return Err(format!("invalid format of the decoded string '{text}'"));
        }
        if let Some(bad) = group.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!(
                "'{bad}' is not a valid hexadecimal digit in decoded string '{text}'"
            ));
        }
        if !group.is_empty() {
            bytes.push(u8::from_str_radix(group, 16).map_err(|e| e.to_string())?);
        }
    }
    Ok(bytes)
}

/// Reads a client identifier as Kea does (ClientId::fromText, util's
/// decodeFormattedHexString): colon-separated like [`colon_hex`], or plain
/// hex digits with an optional `0x` (an odd count gets a leading `0`).
pub fn formatted_hex(text: &str) -> Result<Vec<u8>, String> {
    if text.contains(':') {
        return colon_hex(text);
    }
    let digits = match text.strip_prefix("0x") {
        Some(rest) if text.len() > 2 => rest,
        _ => text,
    };
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| {
            padded
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| format!("'{text}' is not a valid string of hexadecimal digits"))
}

/// The lease as Kea's lease commands return it.
pub fn to_json(lease: &Lease) -> Value {
    let mut map = Map::new();
    map.insert("ip-address".into(), json!(lease.address.to_string()));
    map.insert("hw-address".into(), json!(hex_colon(&lease.hwaddr)));
    if let Some(id) = &lease.client_id {
        map.insert("client-id".into(), json!(hex_colon(id)));
    }
    map.insert("valid-lft".into(), json!(lease.valid_lifetime));
    map.insert(
        "cltt".into(),
        json!(lease.expire.saturating_sub(u64::from(lease.valid_lifetime))),
    );
    map.insert("subnet-id".into(), json!(lease.subnet_id));
    map.insert("fqdn-fwd".into(), json!(lease.fqdn_fwd));
    map.insert("fqdn-rev".into(), json!(lease.fqdn_rev));
    map.insert("hostname".into(), json!(lease.hostname));
    map.insert("state".into(), json!(lease.state.code()));
    if !lease.user_context.is_empty() {
        if let Ok(context) = serde_json::from_str::<Value>(&lease.user_context) {
            map.insert("user-context".into(), context);
        }
    }
    Value::Object(map)
}

/// `key` of `args` as a string, if present.
pub fn string<'a>(args: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match args.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("'{key}' is not a string")),
    }
}

/// `key` of `args` as a whole number, if present.
pub fn integer(args: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match args.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("'{key}' is not an integer")),
    }
}

/// `key` of `args` as a boolean, if present.
pub fn boolean(args: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match args.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("'{key}' is not a boolean")),
    }
}

/// A field of lease4-add/update as Kea's SimpleParser getters read it:
/// a value of the wrong type is Kea's "invalid type" error.
fn field<'a, T>(
    args: &'a Map<String, Value>,
    key: &str,
    read: impl Fn(&'a Value) -> Option<T>,
) -> Result<Option<T>, String> {
    match args.get(key) {
        None => Ok(None),
        Some(value) => read(value)
            .map(Some)
            .ok_or_else(|| format!("invalid type specified for parameter '{key}'")),
    }
}

/// A 32-bit field (getUint32): an integer out of range is Kea's
/// "out of range value" error.
fn field_u32(args: &Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    field(args, key, Value::as_i64)?
        .map(|v| {
            u32::try_from(v)
                .map_err(|_| format!("out of range value ({v}) specified for parameter '{key}'"))
        })
        .transpose()
}

/// Reads a lease from lease4-add or lease4-update arguments at Unix time
/// `now`; `valid_lifetime(subnet_id, address)` gives the subnet's default
/// lifetime (used when `valid-lft` is not given), or Kea's reason why no
/// subnet holds the address.
pub fn from_json(
    args: &Map<String, Value>,
    now: u64,
    valid_lifetime: impl Fn(u32, Ipv4Addr) -> Result<u32, String>,
) -> Result<Lease, String> {
    let text = field(args, "ip-address", Value::as_str)?.ok_or("missing parameter 'ip-address'")?;
    let address = text.parse::<Ipv4Addr>().map_err(|_| {
        format!("Failed to convert '{text}' to address: Failed to convert string to address '{text}': Invalid argument")
    })?;
    let hw = field(args, "hw-address", Value::as_str)?.ok_or("missing parameter 'hw-address'")?;
    let hwaddr = colon_hex(hw)?;
    // The subnet is checked next, even when valid-lft is given, as Kea does.
    let subnet_id = field_u32(args, "subnet-id")?.unwrap_or(0);
    let default_valid = valid_lifetime(subnet_id, address)?;
    let client_id = field(args, "client-id", Value::as_str)?
        .filter(|s| !s.is_empty())
        .map(formatted_hex)
        .transpose()?;
    let valid = field_u32(args, "valid-lft")?.unwrap_or(default_valid);
    let expire = match field(args, "expire", Value::as_i64)? {
        Some(..=0) => {
            return Err(format!(
                "expiration time must be positive for address {address}"
            ))
        }
        Some(expire) => {
            let expire = expire.unsigned_abs();
            if expire < u64::from(valid) {
                return Err(format!(
                    "expiration time must be greater than valid lifetime for address {address}"
                ));
            }
            expire
        }
        None => now.saturating_add(u64::from(valid)),
    };
    // Kea stores host names in lower case (Lease4Parser).
    let fqdn_fwd = field(args, "fqdn-fwd", Value::as_bool)?.unwrap_or(false);
    let fqdn_rev = field(args, "fqdn-rev", Value::as_bool)?.unwrap_or(false);
    let hostname = field(args, "hostname", Value::as_str)?
        .unwrap_or("")
        .to_ascii_lowercase();
    if hostname.is_empty() && (fqdn_fwd || fqdn_rev) {
        return Err(
            "No hostname specified and either forward or reverse fqdn was set to true.".into(),
        );
    }
    let state = match field_u32(args, "state")? {
        None => LeaseState::Default,
        Some(code) => LeaseState::from_code(code)
            .ok_or_else(|| format!("Invalid state value: {code}, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)"))?,
    };
    let user_context = match args.get("user-context") {
        None => String::new(),
        Some(context @ Value::Object(_)) => context.to_string(),
        Some(other) => {
            return Err(format!(
                "Invalid user context '{}' is not a JSON map.",
                super::kea_text(other)
            ))
        }
    };
    Ok(Lease {
        address,
        hwaddr,
        client_id,
        valid_lifetime: valid,
        expire,
        subnet_id,
        fqdn_fwd,
        fqdn_rev,
        hostname,
        state,
        user_context,
    })
}

/// A lease as a peer's `lease4-get-page` lists it (with `cltt`, Kea's
/// Lease4::fromElement); `None` when it does not parse.
pub fn from_page(element: &Value) -> Option<Lease> {
    let Value::Object(map) = element else {
        return None;
    };
    let cltt = integer(map, "cltt").ok()??;
    let valid = integer(map, "valid-lft").ok()??;
    let subnet = integer(map, "subnet-id").ok()??;
    if subnet == 0 || cltt == 0 {
        return None;
    }
    let valid_lft = u32::try_from(valid).ok()?;
    let mut args = map.clone();
    args.insert("expire".into(), Value::from(cltt.saturating_add(valid)));
    // from_json asks for the subnet's default lifetime even when valid-lft
    // is given (Kea's order of checks); a page element always carries it.
    from_json(&args, cltt, |_, _| Ok(valid_lft)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_lease_reads_back_what_it_wrote() {
        let lease = Lease {
            address: Ipv4Addr::new(192, 0, 2, 10),
            hwaddr: vec![0x08, 0, 0x27, 1, 2, 3],
            client_id: Some(vec![1, 8, 0, 0x27, 1, 2, 3]),
            valid_lifetime: 3600,
            expire: 1_000_000 + 3600,
            subnet_id: 1,
            fqdn_fwd: true,
            fqdn_rev: false,
            hostname: "pc.example.org.".into(),
            state: LeaseState::Default,
            user_context: r#"{"comment":"hi"}"#.into(),
        };
        let json = to_json(&lease);
        assert_eq!(json["hw-address"], "08:00:27:01:02:03");
        assert_eq!(json["client-id"], "01:08:00:27:01:02:03");
        assert_eq!(json["cltt"], 1_000_000);
        assert_eq!(json["user-context"]["comment"], "hi");
        let mut input = args(json);
        input.remove("cltt");
        input.insert("expire".into(), json!(1_003_600));
        assert_eq!(from_json(&input, 5, |_, _| Ok(7200)), Ok(lease));
    }

    #[test]
    fn identifiers_decode_as_keas_hex_parsers_do() {
        assert_eq!(colon_hex("a:b:c:d:e:1"), Ok(vec![10, 11, 12, 13, 14, 1]));
        assert_eq!(colon_hex("AA:bb"), Ok(vec![0xaa, 0xbb]));
        assert_eq!(colon_hex(""), Ok(vec![]));
        assert_eq!(
            colon_hex("AA-BB-CC-DD-EE-FF"),
            Err("invalid format of the decoded string 'AA-BB-CC-DD-EE-FF'".into())
        );
        assert_eq!(
            colon_hex("aabbcc"),
            Err("invalid format of the decoded string 'aabbcc'".into())
        );
        assert_eq!(
            colon_hex("zz"),
            Err("'z' is not a valid hexadecimal digit in decoded string 'zz'".into())
        );
        assert_eq!(
            colon_hex("aa::bb"),
            Err("two consecutive separators (':') specified in a decoded string 'aa::bb'".into())
        );
        assert_eq!(formatted_hex("ABCD"), Ok(vec![0xab, 0xcd]));
        assert_eq!(formatted_hex("0x102"), Ok(vec![0x01, 0x02]));
        assert_eq!(formatted_hex("01:02:03"), Ok(vec![1, 2, 3]));
        assert_eq!(
            formatted_hex("xyz"),
            Err("'xyz' is not a valid string of hexadecimal digits".into())
        );
    }

    #[test]
    fn fields_of_the_wrong_type_get_keas_parser_errors() {
        let with = |extra: Value| {
            let mut map = args(json!({"ip-address": "192.0.2.1", "hw-address": "1a"}));
            map.extend(args(extra));
            from_json(&map, 100, |_, _| Ok(4000)).err()
        };
        assert_eq!(
            with(json!({"valid-lft": -5})),
            Some("out of range value (-5) specified for parameter 'valid-lft'".into())
        );
        assert_eq!(
            with(json!({"fqdn-fwd": "yes"})),
            Some("invalid type specified for parameter 'fqdn-fwd'".into())
        );
        assert_eq!(
            with(json!({"subnet-id": "1"})),
            Some("invalid type specified for parameter 'subnet-id'".into())
        );
        assert_eq!(
            with(json!({"expire": -1})),
            Some("expiration time must be positive for address 192.0.2.1".into())
        );
    }

    #[test]
    fn a_page_element_reads_with_its_cltt() {
        let element = json!({"ip-address": "192.0.2.7", "hw-address": "0a:0b", "cltt": 1000,
            "valid-lft": 600, "subnet-id": 2, "fqdn-fwd": false, "fqdn-rev": false,
            "hostname": "", "state": 0});
        let lease = from_page(&element);
        assert_eq!(
            lease.as_ref().map(|l| (l.expire, l.subnet_id)),
            Some((1600, 2))
        );
        let mut no_subnet = element.clone();
        no_subnet["subnet-id"] = json!(0);
        assert_eq!(from_page(&no_subnet), None);
    }

    #[test]
    fn defaults_and_refusals_as_kea_has_them() {
        let minimal = args(json!({"ip-address": "192.0.2.1", "hw-address": "1a:1b:1c:1d:1e:1f"}));
        let lease = from_json(&minimal, 100, |_, _| Ok(4000));
        assert_eq!(
            lease.as_ref().map(|l| (l.valid_lifetime, l.expire)),
            Ok((4000, 4100))
        );
        assert_eq!(
            from_json(&minimal, 100, |_, _| Err("no subnet".into())),
            Err("no subnet".into())
        );
        for (bad, why) in [
            (json!({"hw-address": "1a:1b:1c:1d:1e:1f"}), "ip-address"),
            (json!({"ip-address": "192.0.2.1"}), "hw-address"),
            (
                json!({"ip-address": "192.0.2.300", "hw-address": "1a"}),
                "convert",
            ),
            (
                json!({"ip-address": "192.0.2.1", "hw-address": "zz"}),
                "hexadecimal digit",
            ),
            (
                json!({"ip-address": "192.0.2.1", "hw-address": "1a", "state": 7}),
                "state",
            ),
            (
                json!({"ip-address": "192.0.2.1", "hw-address": "1a", "fqdn-fwd": true}),
                "hostname",
            ),
            (
                json!({"ip-address": "192.0.2.1", "hw-address": "1a", "expire": 0}),
                "positive",
            ),
        ] {
            match from_json(&args(bad), 100, |_, _| Ok(4000)) {
                Err(text) => assert!(text.contains(why), "{why}: {text}"),
                Ok(lease) => panic!("{lease:?} accepted"),
            }
        }
    }
}
