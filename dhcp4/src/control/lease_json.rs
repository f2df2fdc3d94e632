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

/// Reads `aa:bb:cc`, `aa-bb-cc`, `aabbcc` or `a:b:c` (Kea's spellings).
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    crate::config::hex_bytes(text)
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

/// `ip-address` of `args`.
pub fn address(args: &Map<String, Value>) -> Result<Option<Ipv4Addr>, String> {
    string(args, "ip-address")?
        .map(|text| {
            text.parse::<Ipv4Addr>().map_err(|_| {
                format!("Failed to convert string to address '{text}': Invalid argument")
            })
        })
        .transpose()
}

/// Reads a lease from lease4-add or lease4-update arguments at Unix time
/// `now`; `valid_lifetime(subnet_id, address)` gives the subnet's default
/// lifetime when `valid-lft` is not given.
pub fn from_json(
    args: &Map<String, Value>,
    now: u64,
    valid_lifetime: impl Fn(u32, Ipv4Addr) -> Option<u32>,
) -> Result<Lease, String> {
    let address = address(args)?.ok_or("missing parameter 'ip-address'")?;
    let subnet_id = u32::try_from(integer(args, "subnet-id")?.unwrap_or(0))
        .map_err(|_| "'subnet-id' is out of range")?;
    let hw = string(args, "hw-address")?.ok_or("missing parameter 'hw-address'")?;
    let hwaddr = parse_hex(hw).ok_or_else(|| format!("invalid hw-address '{hw}'"))?;
    let client_id = string(args, "client-id")?
        .filter(|s| !s.is_empty())
        .map(|text| parse_hex(text).ok_or_else(|| format!("invalid client-id '{text}'")))
        .transpose()?;
    let valid = match integer(args, "valid-lft")? {
        Some(v) => u32::try_from(v).map_err(|_| "'valid-lft' is out of range")?,
        None => valid_lifetime(subnet_id, address).ok_or_else(|| {
            format!("subnet-id not specified and failed to find a subnet for address {address}")
        })?,
    };
    let expire = match integer(args, "expire")? {
        Some(0) => {
            return Err(format!(
                "expiration time must be positive for address {address}"
            ))
        }
        Some(expire) => {
            if expire < u64::from(valid) {
                return Err(format!(
                    "expiration time must be greater than valid lifetime for address {address}"
                ));
            }
            expire
        }
        None => now.saturating_add(u64::from(valid)),
    };
    let hostname = string(args, "hostname")?.unwrap_or("").to_string();
    let fqdn_fwd = boolean(args, "fqdn-fwd")?.unwrap_or(false);
    let fqdn_rev = boolean(args, "fqdn-rev")?.unwrap_or(false);
    if hostname.is_empty() && (fqdn_fwd || fqdn_rev) {
        return Err(
            "No hostname specified and either forward or reverse fqdn was set to true.".into(),
        );
    }
    let state = match integer(args, "state")? {
        None => LeaseState::Default,
        Some(code) => u32::try_from(code)
            .ok()
            .and_then(LeaseState::from_code)
            .ok_or_else(|| format!("Invalid state value: {code}, has to be 0..2"))?,
    };
    let user_context = match args.get("user-context") {
        None => String::new(),
        Some(context @ Value::Object(_)) => context.to_string(),
        Some(_) => return Err("Invalid user context '...' is not a JSON map.".into()),
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
    let mut args = map.clone();
    args.insert("expire".into(), Value::from(cltt.saturating_add(valid)));
    from_json(&args, cltt, |_, _| None).ok()
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
        assert_eq!(from_json(&input, 5, |_, _| None), Ok(lease));
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
        let lease = from_json(&minimal, 100, |_, _| Some(4000));
        assert_eq!(
            lease.as_ref().map(|l| (l.valid_lifetime, l.expire)),
            Ok((4000, 4100))
        );
        assert!(from_json(&minimal, 100, |_, _| None).is_err(), "no subnet");
        for (bad, why) in [
            (json!({"hw-address": "1a:1b:1c:1d:1e:1f"}), "ip-address"),
            (json!({"ip-address": "192.0.2.1"}), "hw-address"),
            (
                json!({"ip-address": "192.0.2.300", "hw-address": "1a"}),
                "convert",
            ),
            (
                json!({"ip-address": "192.0.2.1", "hw-address": "zz"}),
                "hw-address",
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
            match from_json(&args(bad), 100, |_, _| Some(4000)) {
                Err(text) => assert!(text.contains(why), "{why}: {text}"),
                Ok(lease) => panic!("{lease:?} accepted"),
            }
        }
    }
}
