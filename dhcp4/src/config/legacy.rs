//! Kea's `Dhcp4` JSON, the subset an operator's file for this network uses
//! (SYSTEM.md): interfaces, the memfile lease database, timers, subnets with
//! pools, options, reservations and relay addresses, global options and
//! reservations, match-client-id, authoritative, expired-leases-processing.
//!
//! Kea allows `//`, `#` and `/* */` comments; they are removed (keeping line
//! breaks, so JSON syntax errors keep their line numbers) before parsing. A key
//! we do not know is an error naming its path (`Dhcp4.subnet4[0].pool`); a key
//! that only tunes what Kea does around serving (loggers, control socket,
//! multi-threading, hooks) is a warning naming it, since an operator's Kea
//! file has them and skipping them changes no answer.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON (after comments are removed).
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// A key with a value we cannot use, or a key we do not know.
    #[error("{path}: {key}: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Where in the document (`Dhcp4.subnet4[0].pools[1].pool`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// One option to send: its code and its wire data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionData {
    /// The option code.
    pub code: u8,
    /// The option's data as it goes on the wire.
    pub data: Vec<u8>,
}

/// A host reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The hardware address it matches, if by hardware address.
    pub hw_address: Option<Vec<u8>>,
    /// The client identifier it matches, if by client id.
    pub client_id: Option<Vec<u8>>,
    /// The reserved address.
    pub ip_address: Ipv4Addr,
    /// The host name to hand out, if any.
    pub hostname: Option<String>,
}

/// One `subnet4` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// Kea's subnet id.
    pub id: u32,
    /// Network address.
    pub network: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Pools as inclusive ranges.
    pub pools: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// Options for this subnet (over the global ones).
    pub options: Vec<OptionData>,
    /// Reservations in this subnet.
    pub reservations: Vec<Reservation>,
    /// Relay addresses (giaddr) that select this subnet.
    pub relay_addresses: Vec<Ipv4Addr>,
    /// Lease lifetime, seconds.
    pub valid_lifetime: u32,
    /// T1, seconds, when set.
    pub renew_timer: Option<u32>,
    /// T2, seconds, when set.
    pub rebind_timer: Option<u32>,
    /// Match clients by client id (else hardware address).
    pub match_client_id: bool,
    /// NAK requests for addresses we do not know (Kea's `authoritative`).
    pub authoritative: bool,
    /// The interface whose directly connected clients this subnet serves.
    pub interface: Option<String>,
}

/// The parts of the configuration the server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Interfaces to listen on (`eth0`, `eth0/192.0.2.1`, `*`).
    pub interfaces: Vec<String>,
    /// `raw` or `udp`.
    pub dhcp_socket_type: String,
    /// The memfile path (`lease-database.name`).
    pub lease_file: Option<PathBuf>,
    /// Keep leases on disk (`persist`).
    pub persist: bool,
    /// Seconds between lease file compactions; 0 = never.
    pub lfc_interval: u32,
    /// Seconds between reclamation runs of expired leases.
    pub reclaim_timer_wait_time: u32,
    /// Seconds a reclaimed lease stays in the file for its client's return.
    pub hold_reclaimed_time: u32,
    /// Seconds a declined address stays in quarantine.
    pub decline_probation_period: u32,
    /// Options for every subnet.
    pub options: Vec<OptionData>,
    /// The subnets.
    pub subnets: Vec<Subnet>,
}

/// Keys read but not used, with why skipping them is harmless.
const HARMLESS: &[(&str, &str)] = &[
    ("loggers", "logs go to stderr in our format"),
    (
        "control-socket",
        "no control channel; metrics and probes are on HTTP",
    ),
    ("multi-threading", "our threading is our own"),
    (
        "hooks-libraries",
        "hooks are not loaded; lease commands are not available",
    ),
    (
        "sanity-checks",
        "leases are always checked against the subnets at load",
    ),
    ("dhcp-queue-control", "packets are not queued"),
    (
        "calculate-tee-times",
        "T1/T2 default to 50% and 87.5% of the lifetime",
    ),
    ("comment", "a comment"),
    (
        "user-context",
        "kept by Kea for its users, unused by serving",
    ),
];

/// Reads and checks the configuration at `path`; warnings (keys skipped on
/// purpose) are returned beside it.
pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses configuration text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let clean = strip_comments(text);
    let root: Value = serde_json::from_str(&clean).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut ctx = Ctx {
        path,
        warnings: Vec::new(),
    };
    let top = ctx.object(&root, "")?;
    let mut dhcp4 = None;
    for (key, value) in top {
        match key.as_str() {
            "Dhcp4" => dhcp4 = Some(value),
            "Logging" | "Control-agent" | "DhcpDdns" | "Dhcp6" | "Netconf" => {
                ctx.warnings
                    .push(format!("{key}: ignored (not the DHCPv4 server's)"));
            }
            _ => return Err(ctx.err(key, "unknown top-level key; expected Dhcp4")),
        }
    }
    let dhcp4 = dhcp4.ok_or_else(|| ctx.err("Dhcp4", "missing"))?;
    let config = ctx.dhcp4(dhcp4)?;
    Ok((config, ctx.warnings))
}

/// Removes `//`, `#` and `/* */` comments outside strings, keeping newlines.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('#', _) | ('/', Some('/')) => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                    }
                    if last == '*' && skipped == '/' {
                        break;
                    }
                    last = skipped;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

struct Ctx<'a> {
    path: &'a Path,
    warnings: Vec<String>,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Key {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn object<'v>(
        &self,
        value: &'v Value,
        key: &str,
    ) -> Result<&'v Map<String, Value>, ConfigError> {
        value.as_object().ok_or_else(|| {
            self.err(
                if key.is_empty() { "(top)" } else { key },
                "expected an object",
            )
        })
    }

    fn array<'v>(&self, value: &'v Value, key: &str) -> Result<&'v Vec<Value>, ConfigError> {
        value
            .as_array()
            .ok_or_else(|| self.err(key, "expected a list"))
    }

    fn string<'v>(&self, value: &'v Value, key: &str) -> Result<&'v str, ConfigError> {
        value
            .as_str()
            .ok_or_else(|| self.err(key, "expected a string"))
    }

    fn boolean(&self, value: &Value, key: &str) -> Result<bool, ConfigError> {
        value
            .as_bool()
            .ok_or_else(|| self.err(key, "expected true or false"))
    }

    fn number(&self, value: &Value, key: &str) -> Result<u32, ConfigError> {
        value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.err(key, "expected a number from 0 to 4294967295"))
    }

    fn ipv4(&self, text: &str, key: &str) -> Result<Ipv4Addr, ConfigError> {
        text.trim()
            .parse()
            .map_err(|_| self.err(key, format!("{text:?} is not an IPv4 address")))
    }

    fn harmless(&mut self, key: &str, at: &str) -> bool {
        match HARMLESS.iter().find(|(name, _)| *name == key) {
            Some((_, why)) => {
                self.warnings.push(format!("{at}: ignored ({why})"));
                true
            }
            None => false,
        }
    }

    fn dhcp4(&mut self, value: &Value) -> Result<Config, ConfigError> {
        let map = self.object(value, "Dhcp4")?;
        let mut config = Config {
            interfaces: Vec::new(),
            dhcp_socket_type: "raw".into(),
            lease_file: None,
            persist: true,
            lfc_interval: 3600,
            reclaim_timer_wait_time: 10,
            hold_reclaimed_time: 3600,
            decline_probation_period: 86_400,
            options: Vec::new(),
            subnets: Vec::new(),
        };
        let mut defaults = SubnetDefaults {
            valid_lifetime: 7200,
            renew_timer: None,
            rebind_timer: None,
            match_client_id: true,
            authoritative: false,
        };
        let mut subnets = None;
        for (key, value) in map {
            let at = format!("Dhcp4.{key}");
            match key.as_str() {
                "interfaces-config" => {
                    for (k, v) in self.object(value, &at)? {
                        let at = format!("{at}.{k}");
                        match k.as_str() {
                            "interfaces" => {
                                for (i, name) in self.array(v, &at)?.iter().enumerate() {
                                    config.interfaces.push(
                                        self.string(name, &format!("{at}[{i}]"))?.to_string(),
                                    );
                                }
                            }
                            "dhcp-socket-type" => {
                                let kind = self.string(v, &at)?;
                                if kind != "raw" && kind != "udp" {
                                    return Err(self.err(&at, "expected \"raw\" or \"udp\""));
                                }
                                config.dhcp_socket_type = kind.to_string();
                            }
                            "re-detect"
                            | "outbound-interface"
                            | "service-sockets-max-retries"
                            | "service-sockets-retry-wait-time" => {
                                self.warnings
                                    .push(format!("{at}: ignored (interfaces are fixed in a pod)"));
                            }
                            other => {
                                if !self.harmless(other, &at) {
                                    return Err(self.err(&at, "unknown key"));
                                }
                            }
                        }
                    }
                }
                "lease-database" => {
                    for (k, v) in self.object(value, &at)? {
                        let at = format!("{at}.{k}");
                        match k.as_str() {
                            "type" => {
                                if self.string(v, &at)? != "memfile" {
                                    return Err(self.err(&at, "only \"memfile\" is supported"));
                                }
                            }
                            "persist" => config.persist = self.boolean(v, &at)?,
                            "name" => config.lease_file = Some(PathBuf::from(self.string(v, &at)?)),
                            "lfc-interval" => config.lfc_interval = self.number(v, &at)?,
                            "max-row-errors" => {
                                self.warnings.push(format!(
                                    "{at}: ignored (bad rows are skipped and logged)"
                                ));
                            }
                            other => {
                                if !self.harmless(other, &at) {
                                    return Err(self.err(&at, "unknown key"));
                                }
                            }
                        }
                    }
                }
                "expired-leases-processing" => {
                    for (k, v) in self.object(value, &at)? {
                        let at = format!("{at}.{k}");
                        match k.as_str() {
                            "reclaim-timer-wait-time" => {
                                config.reclaim_timer_wait_time = self.number(v, &at)?;
                            }
                            "hold-reclaimed-time" => {
                                config.hold_reclaimed_time = self.number(v, &at)?
                            }
                            "flush-reclaimed-timer-wait-time"
                            | "max-reclaim-leases"
                            | "max-reclaim-time"
                            | "unwarned-reclaim-cycles" => {
                                self.number(v, &at)?;
                            }
                            other => {
                                if !self.harmless(other, &at) {
                                    return Err(self.err(&at, "unknown key"));
                                }
                            }
                        }
                    }
                }
                "valid-lifetime" => defaults.valid_lifetime = self.number(value, &at)?,
                "renew-timer" => defaults.renew_timer = Some(self.number(value, &at)?),
                "rebind-timer" => defaults.rebind_timer = Some(self.number(value, &at)?),
                "match-client-id" => defaults.match_client_id = self.boolean(value, &at)?,
                "authoritative" => defaults.authoritative = self.boolean(value, &at)?,
                "option-data" => config.options = self.options(value, &at)?,
                "decline-probation-period" => {
                    config.decline_probation_period = self.number(value, &at)?;
                }
                "subnet4" => subnets = Some((value, at)),
                other => {
                    if !self.harmless(other, &at) {
                        return Err(self.err(&at, "unknown key"));
                    }
                }
            }
        }
        if let Some((value, at)) = subnets {
            for (i, subnet) in self.array(value, &at)?.iter().enumerate() {
                let subnet = self.subnet(subnet, &format!("{at}[{i}]"), &defaults)?;
                if config.subnets.iter().any(|s| s.id == subnet.id) {
                    return Err(self.err(
                        &format!("{at}[{i}].id"),
                        format!("subnet id {} is used twice", subnet.id),
                    ));
                }
                config.subnets.push(subnet);
            }
        }
        Ok(config)
    }

    fn subnet(
        &mut self,
        value: &Value,
        at: &str,
        defaults: &SubnetDefaults,
    ) -> Result<Subnet, ConfigError> {
        let map = self.object(value, at)?;
        let mut subnet = Subnet {
            id: 0,
            network: Ipv4Addr::UNSPECIFIED,
            prefix_len: 0,
            pools: Vec::new(),
            options: Vec::new(),
            reservations: Vec::new(),
            relay_addresses: Vec::new(),
            valid_lifetime: defaults.valid_lifetime,
            renew_timer: defaults.renew_timer,
            rebind_timer: defaults.rebind_timer,
            match_client_id: defaults.match_client_id,
            authoritative: defaults.authoritative,
            interface: None,
        };
        let mut have_subnet = false;
        for (key, value) in map {
            let at = format!("{at}.{key}");
            match key.as_str() {
                "id" => subnet.id = self.number(value, &at)?,
                "subnet" => {
                    let text = self.string(value, &at)?;
                    let (net, len) = text
                        .split_once('/')
                        .ok_or_else(|| self.err(&at, format!("{text:?} is not ADDRESS/LENGTH")))?;
                    subnet.network = self.ipv4(net, &at)?;
                    subnet.prefix_len =
                        len.parse::<u8>().ok().filter(|l| *l <= 32).ok_or_else(|| {
                            self.err(&at, format!("{len:?} is not a prefix length"))
                        })?;
                    have_subnet = true;
                }
                "pools" => {
                    for (i, pool) in self.array(value, &at)?.iter().enumerate() {
                        let at = format!("{at}[{i}]");
                        for (k, v) in self.object(pool, &at)? {
                            let at = format!("{at}.{k}");
                            match k.as_str() {
                                "pool" => {
                                    let range = self.pool(self.string(v, &at)?, &at)?;
                                    subnet.pools.push(range);
                                }
                                "option-data" => {
                                    subnet.options.extend(self.options(v, &at)?);
                                }
                                other => {
                                    if !self.harmless(other, &at) {
                                        return Err(self.err(&at, "unknown key"));
                                    }
                                }
                            }
                        }
                    }
                }
                "option-data" => subnet.options.extend(self.options(value, &at)?),
                "reservations" => {
                    for (i, r) in self.array(value, &at)?.iter().enumerate() {
                        subnet
                            .reservations
                            .push(self.reservation(r, &format!("{at}[{i}]"))?);
                    }
                }
                "relay" => {
                    for (k, v) in self.object(value, &at)? {
                        let at = format!("{at}.{k}");
                        match k.as_str() {
                            "ip-addresses" => {
                                for (i, a) in self.array(v, &at)?.iter().enumerate() {
                                    let at = format!("{at}[{i}]");
                                    subnet
                                        .relay_addresses
                                        .push(self.ipv4(self.string(a, &at)?, &at)?);
                                }
                            }
                            "ip-address" => subnet
                                .relay_addresses
                                .push(self.ipv4(self.string(v, &at)?, &at)?),
                            _ => return Err(self.err(&at, "unknown key")),
                        }
                    }
                }
                "valid-lifetime" => subnet.valid_lifetime = self.number(value, &at)?,
                "renew-timer" => subnet.renew_timer = Some(self.number(value, &at)?),
                "rebind-timer" => subnet.rebind_timer = Some(self.number(value, &at)?),
                "match-client-id" => subnet.match_client_id = self.boolean(value, &at)?,
                "authoritative" => subnet.authoritative = self.boolean(value, &at)?,
                "interface" => subnet.interface = Some(self.string(value, &at)?.to_string()),
                other => {
                    if !self.harmless(other, &at) {
                        return Err(self.err(&at, "unknown key"));
                    }
                }
            }
        }
        if !have_subnet {
            return Err(self.err(&format!("{at}.subnet"), "missing"));
        }
        if subnet.id == 0 {
            return Err(self.err(
                &format!("{at}.id"),
                "missing or 0 (leases refer to subnets by id)",
            ));
        }
        let (first, last) = subnet_range(subnet.network, subnet.prefix_len);
        for (i, (a, b)) in subnet.pools.iter().enumerate() {
            if u32::from(*a) < first || u32::from(*b) > last {
                return Err(self.err(
                    &format!("{at}.pools[{i}].pool"),
                    format!(
                        "{a} - {b} is outside {}/{}",
                        subnet.network, subnet.prefix_len
                    ),
                ));
            }
        }
        let mut seen: BTreeMap<Ipv4Addr, usize> = BTreeMap::new();
        for (i, r) in subnet.reservations.iter().enumerate() {
            if let Some(j) = seen.insert(r.ip_address, i) {
                return Err(self.err(
                    &format!("{at}.reservations[{i}].ip-address"),
                    format!("{} is also reserved by reservations[{j}]", r.ip_address),
                ));
            }
        }
        Ok(subnet)
    }

    fn pool(&self, text: &str, at: &str) -> Result<(Ipv4Addr, Ipv4Addr), ConfigError> {
        if let Some((a, b)) = text.split_once('-') {
            let (a, b) = (self.ipv4(a, at)?, self.ipv4(b, at)?);
            if u32::from(a) > u32::from(b) {
                return Err(self.err(at, format!("{text:?}: the range ends before it starts")));
            }
            return Ok((a, b));
        }
        if let Some((net, len)) = text.split_once('/') {
            let net = self.ipv4(net, at)?;
            let len = len
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= 32)
                .ok_or_else(|| self.err(at, format!("{text:?} is not a prefix")))?;
            let (first, last) = subnet_range(net, len);
            return Ok((Ipv4Addr::from(first), Ipv4Addr::from(last)));
        }
        Err(self.err(
            at,
            format!("{text:?} is neither FIRST - LAST nor ADDRESS/LENGTH"),
        ))
    }

    fn reservation(&mut self, value: &Value, at: &str) -> Result<Reservation, ConfigError> {
        let mut r = Reservation {
            hw_address: None,
            client_id: None,
            ip_address: Ipv4Addr::UNSPECIFIED,
            hostname: None,
        };
        for (k, v) in self.object(value, at)? {
            let at = format!("{at}.{k}");
            match k.as_str() {
                "hw-address" => r.hw_address = Some(self.hex(self.string(v, &at)?, &at)?),
                "client-id" => r.client_id = Some(self.hex(self.string(v, &at)?, &at)?),
                "ip-address" => r.ip_address = self.ipv4(self.string(v, &at)?, &at)?,
                "hostname" => r.hostname = Some(self.string(v, &at)?.to_string()),
                other => {
                    if !self.harmless(other, &at) {
                        return Err(self.err(&at, "unknown key"));
                    }
                }
            }
        }
        if r.hw_address.is_none() && r.client_id.is_none() {
            return Err(self.err(at, "a reservation needs hw-address or client-id"));
        }
        if r.ip_address.is_unspecified() {
            return Err(self.err(&format!("{at}.ip-address"), "missing"));
        }
        Ok(r)
    }

    /// Kea's hex forms: `01:02:ab`, `01-02-ab`, `0102ab`, `0x0102ab`.
    fn hex(&self, text: &str, at: &str) -> Result<Vec<u8>, ConfigError> {
        parse_hex(text).ok_or_else(|| self.err(at, format!("{text:?} is not hexadecimal")))
    }

    fn options(&mut self, value: &Value, at: &str) -> Result<Vec<OptionData>, ConfigError> {
        let mut out = Vec::new();
        for (i, entry) in self.array(value, at)?.iter().enumerate() {
            let at = format!("{at}[{i}]");
            let map = self.object(entry, &at)?;
            let mut name = None;
            let mut code = None;
            let mut data = String::new();
            let mut csv = true;
            for (k, v) in map {
                let key = format!("{at}.{k}");
                match k.as_str() {
                    "name" => name = Some(self.string(v, &key)?.to_string()),
                    "code" => {
                        code = Some(
                            u8::try_from(self.number(v, &key)?)
                                .ok()
                                .filter(|c| *c != 0 && *c != 255)
                                .ok_or_else(|| {
                                    self.err(&key, "expected an option code from 1 to 254")
                                })?,
                        );
                    }
                    "data" => data = self.string(v, &key)?.to_string(),
                    "csv-format" => csv = self.boolean(v, &key)?,
                    "space" => {
                        if self.string(v, &key)? != "dhcp4" {
                            return Err(
                                self.err(&key, "only the \"dhcp4\" option space is supported")
                            );
                        }
                    }
                    "always-send" | "never-send" => {
                        self.boolean(v, &key)?;
                        self.warnings.push(format!(
                            "{key}: ignored (options follow the client's request list)"
                        ));
                    }
                    other => {
                        if !self.harmless(other, &key) {
                            return Err(self.err(&key, "unknown key"));
                        }
                    }
                }
            }
            let known = name.as_deref().map(|n| {
                KNOWN_OPTIONS.iter().find(|o| o.name == n).ok_or_else(|| {
                    self.err(
                        &format!("{at}.name"),
                        format!("unknown option {n:?}; give its code and csv-format false"),
                    )
                })
            });
            let spec = match (known, code) {
                (Some(spec), _) => Some(spec?),
                (None, Some(c)) => KNOWN_OPTIONS.iter().find(|o| o.code == c),
                (None, None) => return Err(self.err(&at, "an option needs a name or a code")),
            };
            let code = code.or(spec.map(|s| s.code)).unwrap_or_default();
            let bytes = if !csv {
                parse_hex(&data).ok_or_else(|| {
                    self.err(
                        &format!("{at}.data"),
                        format!("{data:?} is not hexadecimal"),
                    )
                })?
            } else {
                let kind = spec.map_or(Kind::Text, |s| s.kind);
                encode_option(kind, &data).map_err(|why| self.err(&format!("{at}.data"), why))?
            };
            if bytes.len() > 255 && !matches!(spec.map(|s| s.kind), Some(Kind::Routes)) {
                return Err(self.err(&format!("{at}.data"), "longer than 255 bytes"));
            }
            out.push(OptionData { code, data: bytes });
        }
        Ok(out)
    }
}

struct SubnetDefaults {
    valid_lifetime: u32,
    renew_timer: Option<u32>,
    rebind_timer: Option<u32>,
    match_client_id: bool,
    authoritative: bool,
}

/// How an option's `data` text becomes bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Comma-separated IPv4 addresses.
    Addresses,
    /// One 32-bit number.
    U32,
    /// Text as is.
    Text,
    /// Classless static routes (RFC 3442): `net/len - router, ...`.
    Routes,
}

struct KnownOption {
    name: &'static str,
    code: u8,
    kind: Kind,
}

/// The options this network's files name, with Kea's names.
const KNOWN_OPTIONS: &[KnownOption] = &[
    KnownOption {
        name: "subnet-mask",
        code: 1,
        kind: Kind::Addresses,
    },
    KnownOption {
        name: "time-offset",
        code: 2,
        kind: Kind::U32,
    },
    KnownOption {
        name: "routers",
        code: 3,
        kind: Kind::Addresses,
    },
    KnownOption {
        name: "domain-name-servers",
        code: 6,
        kind: Kind::Addresses,
    },
    KnownOption {
        name: "host-name",
        code: 12,
        kind: Kind::Text,
    },
    KnownOption {
        name: "domain-name",
        code: 15,
        kind: Kind::Text,
    },
    KnownOption {
        name: "broadcast-address",
        code: 28,
        kind: Kind::Addresses,
    },
    KnownOption {
        name: "ntp-servers",
        code: 42,
        kind: Kind::Addresses,
    },
    KnownOption {
        name: "dhcp-lease-time",
        code: 51,
        kind: Kind::U32,
    },
    KnownOption {
        name: "dhcp-server-identifier",
        code: 54,
        kind: Kind::Addresses,
    },
    KnownOption {
        name: "dhcp-renewal-time",
        code: 58,
        kind: Kind::U32,
    },
    KnownOption {
        name: "dhcp-rebinding-time",
        code: 59,
        kind: Kind::U32,
    },
    KnownOption {
        name: "tftp-server-name",
        code: 66,
        kind: Kind::Text,
    },
    KnownOption {
        name: "boot-file-name",
        code: 67,
        kind: Kind::Text,
    },
    KnownOption {
        name: "domain-search",
        code: 119,
        kind: Kind::Text,
    },
    KnownOption {
        name: "classless-static-route",
        code: 121,
        kind: Kind::Routes,
    },
];

fn encode_option(kind: Kind, data: &str) -> Result<Vec<u8>, String> {
    match kind {
        Kind::Text => Ok(data.as_bytes().to_vec()),
        Kind::U32 => data
            .trim()
            .parse::<u32>()
            .map(|n| n.to_be_bytes().to_vec())
            .map_err(|_| format!("{data:?} is not a 32-bit number")),
        Kind::Addresses => {
            let mut out = Vec::new();
            for part in data.split(',') {
                let ip: Ipv4Addr = part
                    .trim()
                    .parse()
                    .map_err(|_| format!("{:?} is not an IPv4 address", part.trim()))?;
                out.extend_from_slice(&ip.octets());
            }
            Ok(out)
        }
        Kind::Routes => {
            let mut out = Vec::new();
            for route in data.split(',') {
                let (dest, router) = route
                    .split_once('-')
                    .ok_or_else(|| format!("{:?} is not NETWORK/LENGTH - ROUTER", route.trim()))?;
                let (net, len) = dest
                    .trim()
                    .split_once('/')
                    .ok_or_else(|| format!("{:?} is not NETWORK/LENGTH", dest.trim()))?;
                let net: Ipv4Addr = net
                    .parse()
                    .map_err(|_| format!("{net:?} is not an IPv4 address"))?;
                let len: u8 = len
                    .parse()
                    .ok()
                    .filter(|l| *l <= 32)
                    .ok_or_else(|| format!("{len:?} is not a prefix length"))?;
                let router: Ipv4Addr = router
                    .trim()
                    .parse()
                    .map_err(|_| format!("{:?} is not an IPv4 address", router.trim()))?;
                out.push(len);
                out.extend_from_slice(&net.octets()[..usize::from(len.div_ceil(8))]);
                out.extend_from_slice(&router.octets());
            }
            Ok(out)
        }
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    if text.contains([':', '-', ' ']) {
        return text
            .split([':', '-', ' '])
            .filter(|p| !p.is_empty())
            .map(|p| {
                (p.len() <= 2)
                    .then(|| u8::from_str_radix(p, 16).ok())
                    .flatten()
            })
            .collect();
    }
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// First and last address of `net/len` as numbers.
fn subnet_range(net: Ipv4Addr, len: u8) -> (u32, u32) {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    let first = u32::from(net) & mask;
    (first, first | !mask)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Shaped like Kea's doc/examples/kea4 files (written here, not copied).
    const EXAMPLE: &str = r#"
// An event network, as a Kea operator writes it.
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth0" ], "dhcp-socket-type": "raw" },
    # memfile, compacted hourly
    "lease-database": { "type": "memfile", "persist": true,
                        "name": "/data/dhcp4.leases", "lfc-interval": 3600 },
    "control-socket": { "socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket" },
    "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 4 },
    "expired-leases-processing": { "reclaim-timer-wait-time": 10, "hold-reclaimed-time": 3600 },
    "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
    "authoritative": true,
    "option-data": [ { "name": "domain-name-servers", "data": "10.96.0.53, 10.96.0.54" },
                     { "name": "domain-name", "data": "event.example" } ],
    /* attendees */
    "subnet4": [ {
      "id": 1, "subnet": "10.20.0.0/16",
      "pools": [ { "pool": "10.20.1.0 - 10.20.255.254" } ],
      "relay": { "ip-addresses": [ "10.20.0.1" ] },
      "option-data": [ { "name": "routers", "data": "10.20.0.1" },
                       { "code": 121, "data": "10.0.0.0/8 - 10.20.0.1, 0.0.0.0/0 - 10.20.0.1" },
                       { "code": 252, "csv-format": false, "data": "0A:0B" } ],
      "reservations": [ { "hw-address": "1a:1b:1c:1d:1e:1f", "ip-address": "10.20.0.10",
                          "hostname": "printer" } ]
    } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO" } ]
  }
}
"#;

    #[test]
    fn a_kea_style_file_parses_with_named_warnings() {
        let (config, warnings) = parse(EXAMPLE, Path::new("kea-dhcp4.conf")).unwrap();
        assert_eq!(config.interfaces, vec!["eth0"]);
        assert_eq!(config.lease_file, Some(PathBuf::from("/data/dhcp4.leases")));
        let s = &config.subnets[0];
        assert_eq!((s.id, s.prefix_len, s.valid_lifetime), (1, 16, 4000));
        assert!(s.authoritative && s.match_client_id);
        assert_eq!(
            s.pools,
            vec![(
                "10.20.1.0".parse().unwrap(),
                "10.20.255.254".parse().unwrap()
            )]
        );
        assert_eq!(
            s.relay_addresses,
            vec!["10.20.0.1".parse::<Ipv4Addr>().unwrap()]
        );
        assert_eq!(config.options[0].data, vec![10, 96, 0, 53, 10, 96, 0, 54]);
        assert_eq!(
            s.options[1],
            OptionData {
                code: 121,
                data: vec![8, 10, 10, 20, 0, 1, 0, 10, 20, 0, 1]
            }
        );
        assert_eq!(
            s.options[2],
            OptionData {
                code: 252,
                data: vec![0x0a, 0x0b]
            }
        );
        assert_eq!(
            s.reservations[0].hw_address,
            Some(vec![0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f])
        );
        for key in [
            "Dhcp4.control-socket",
            "Dhcp4.multi-threading",
            "Dhcp4.loggers",
        ] {
            assert!(
                warnings.iter().any(|w| w.starts_with(key)),
                "{key}: {warnings:?}"
            );
        }
    }

    #[test]
    fn errors_name_the_file_and_the_key_path() {
        let path = Path::new("/etc/kea/kea-dhcp4.conf");
        let cases = [
            (
                EXAMPLE.replace("\"pool\": \"10.20.1.0", "\"pool\": \"10.30.1.0"),
                "Dhcp4.subnet4[0].pools[0].pool",
            ),
            (
                EXAMPLE.replace("\"lfc-interval\"", "\"lfc-intervall\""),
                "Dhcp4.lease-database.lfc-intervall",
            ),
            (
                EXAMPLE.replace("\"routers\"", "\"routerz\""),
                "Dhcp4.subnet4[0].option-data[0].name",
            ),
            (
                EXAMPLE.replace("\"memfile\"", "\"mysql\""),
                "Dhcp4.lease-database.type",
            ),
            (
                EXAMPLE.replace("\"10.20.0.10\"", "\"10.20.0.300\""),
                "Dhcp4.subnet4[0].reservations[0].ip-address",
            ),
            (
                EXAMPLE.replace("\"10.96.0.53, 10.96.0.54\"", "\"10.96.0.53; 10.96.0.54\""),
                "Dhcp4.option-data[0].data",
            ),
        ];
        for (text, key) in cases {
            let err = parse(&text, path).unwrap_err().to_string();
            assert!(err.starts_with("/etc/kea/kea-dhcp4.conf: "), "{err}");
            assert!(err.contains(key), "{key}: {err}");
        }
        let err = parse("{ \"Dhcp4\": { \"valid-lifetime\": 10, }\n}", path).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { line: 1, .. }), "{err}");
    }

    #[test]
    fn comments_go_but_strings_keep_their_marks() {
        let text = "{ \"a\": \"x // y # z /* w */\", // gone\n \"b\": 1 /* gone\n too */ }";
        let clean = strip_comments(text);
        assert_eq!(clean, "{ \"a\": \"x // y # z /* w */\", \n \"b\": 1 \n }");
    }
}
