//! Every key Kea 2.2 to 3.0 knows in a `Dhcp4` configuration, per map, and
//! what we do with it (Kea's bin/dhcp4/dhcp4_lexer.ll lists them with the
//! maps they belong to).
//!
//! A key is read by the section code ([`Handling::Use`]); accepted with a
//! named warning because skipping it changes neither answers nor exposure
//! ([`Handling::Warn`]); or refused as "not supported: FEATURE" because
//! skipping it would change what clients get ([`Handling::Unsupported`]),
//! unless it is written at the value that does nothing. A key in no table is
//! a typo: [`ConfigErrorKind::Unknown`], never "not supported".

use common::config::{ConfigError, ConfigErrorKind};

use super::json::Value;
use super::walk::{Loader, Obj};

/// A value at which a key does nothing.
#[derive(Clone, Copy)]
pub(crate) enum Noop {
    /// `""`, `[]`, `{}`, `null`, `false` or `0`.
    Empty,
    /// One of these strings (a default spelled out).
    Strs(&'static [&'static str]),
}

/// What a key does.
#[derive(Clone, Copy)]
pub(crate) enum Handling {
    /// Read by the section code.
    Use,
    /// Documentation (`comment`, `user-context`): accepted silently.
    Quiet,
    /// Accepted; the message says what happens instead.
    Warn(&'static str),
    /// Accepted silently at its no-op value, else as [`Handling::Warn`].
    WarnUnless(Noop, &'static str),
    /// Refused, naming the feature.
    Unsupported(&'static str),
    /// Accepted silently at its no-op value, else refused.
    UnsupportedUnless(Noop, &'static str),
}

use Handling::{Quiet, Unsupported, UnsupportedUnless, Use, Warn, WarnUnless};
use Noop::{Empty, Strs};

/// Keys of the document's top-level map.
pub(crate) const TOP: &[(&str, Handling)] = &[
    ("Dhcp4", Use),
    ("Dhcp6", Warn("ignored: not the DHCPv4 server's")),
    ("DhcpDdns", Warn("ignored: not the DHCPv4 server's")),
    ("Control-agent", Warn("ignored: not the DHCPv4 server's")),
    ("Netconf", Warn("ignored: not the DHCPv4 server's")),
    ("Logging", Warn("ignored: logs go to stderr in our format")),
];

const DOC: [(&str, Handling); 2] = [("comment", Quiet), ("user-context", Quiet)];

const DDNS_OFF: &str = "ignored: DNS updates are not sent (dhcp-ddns.enable-updates is off)";
const LEASE_CACHE: &str = "lease caching (cache-threshold, cache-max-age)";

/// Parameters a subnet inherits, valid in `Dhcp4`, `shared-networks` and
/// `subnet4`.
const NETWORK: &[(&str, Handling)] = &[
    ("valid-lifetime", Use),
    ("min-valid-lifetime", Use),
    ("max-valid-lifetime", Use),
    ("renew-timer", Use),
    ("rebind-timer", Use),
    ("calculate-tee-times", Use),
    ("t1-percent", Use),
    ("t2-percent", Use),
    ("match-client-id", Use),
    ("authoritative", Use),
    ("next-server", Use),
    ("server-hostname", Use),
    ("boot-file-name", Use),
    ("option-data", Use),
    ("reservations-global", Use),
    ("reservations-in-subnet", Use),
    ("reservations-out-of-pool", Use),
    ("reservation-mode", Use),
    (
        "store-extended-info",
        Warn("ignored: leases keep no relay details"),
    ),
    ("cache-threshold", UnsupportedUnless(Empty, LEASE_CACHE)),
    ("cache-max-age", UnsupportedUnless(Empty, LEASE_CACHE)),
    ("ddns-send-updates", Warn(DDNS_OFF)),
    ("ddns-override-no-update", Warn(DDNS_OFF)),
    ("ddns-override-client-update", Warn(DDNS_OFF)),
    ("ddns-generated-prefix", Warn(DDNS_OFF)),
    ("ddns-update-on-renew", Warn(DDNS_OFF)),
    ("ddns-use-conflict-resolution", Warn(DDNS_OFF)),
    ("ddns-conflict-resolution-mode", Warn(DDNS_OFF)),
    ("ddns-ttl-percent", Warn(DDNS_OFF)),
    ("ddns-ttl", Warn(DDNS_OFF)),
    ("ddns-ttl-min", Warn(DDNS_OFF)),
    ("ddns-ttl-max", Warn(DDNS_OFF)),
    (
        "ddns-qualifying-suffix",
        UnsupportedUnless(Empty, "host name qualification (ddns-qualifying-suffix)"),
    ),
    (
        "ddns-replace-client-name",
        UnsupportedUnless(
            Strs(&["never"]),
            "host name replacement (ddns-replace-client-name)",
        ),
    ),
    (
        "hostname-char-set",
        UnsupportedUnless(
            Strs(&["", "[^A-Za-z0-9.-]"]),
            "host name sanitizing (hostname-char-set)",
        ),
    ),
    (
        "hostname-char-replacement",
        UnsupportedUnless(Empty, "host name sanitizing (hostname-char-replacement)"),
    ),
    (
        "allocator",
        UnsupportedUnless(
            Strs(&["iterative"]),
            "address allocators other than iterative (allocator)",
        ),
    ),
    (
        "offer-lifetime",
        UnsupportedUnless(Empty, "offer lifetime (offer-lifetime)"),
    ),
];

/// Keys of `Dhcp4` besides [`NETWORK`].
const GLOBAL: &[(&str, Handling)] = &[
    ("interfaces-config", Use),
    ("lease-database", Use),
    ("expired-leases-processing", Use),
    ("echo-client-id", Use),
    ("decline-probation-period", Use),
    ("option-def", Use),
    ("client-classes", Use),
    ("host-reservation-identifiers", Use),
    ("reservations", Use),
    ("shared-networks", Use),
    ("subnet4", Use),
    ("hooks-libraries", Use),
    ("dhcp-ddns", Use),
    ("hosts-database", Use),
    ("hosts-databases", Use),
    ("compatibility", Use),
    ("loggers", Warn("ignored: logs go to stderr in our format")),
    ("control-socket", Use),
    ("control-sockets", Use),
    ("multi-threading", Warn("ignored: our threading is our own")),
    (
        "dhcp-queue-control",
        Warn("ignored: packets are not queued"),
    ),
    (
        "sanity-checks",
        Warn("ignored: leases are always checked against the subnets at load"),
    ),
    (
        "server-tag",
        WarnUnless(Empty, "ignored: only a config backend reads it"),
    ),
    (
        "statistic-default-sample-count",
        Warn("ignored: statistics are Prometheus metrics"),
    ),
    (
        "statistic-default-sample-age",
        Warn("ignored: statistics are Prometheus metrics"),
    ),
    (
        "parked-packet-limit",
        Warn("ignored: no hook parks packets"),
    ),
    ("ip-reservations-unique", Use),
    (
        "reservations-lookup-first",
        Warn("ignored: a lookup order that changes speed, not answers"),
    ),
    (
        "early-global-reservations-lookup",
        UnsupportedUnless(
            Empty,
            "early global reservations lookup (early-global-reservations-lookup)",
        ),
    ),
    (
        "dhcp4o6-port",
        UnsupportedUnless(Empty, "DHCPv4-over-DHCPv6 (dhcp4o6-port)"),
    ),
    (
        "config-control",
        UnsupportedUnless(Empty, "config backend (config-control)"),
    ),
    (
        "stash-agent-options",
        UnsupportedUnless(Empty, "stash-agent-options"),
    ),
];

/// Keys of a `subnet4` entry besides [`NETWORK`].
const SUBNET: &[(&str, Handling)] = &[
    ("id", Use),
    ("subnet", Use),
    ("pools", Use),
    ("reservations", Use),
    ("relay", Use),
    ("interface", Use),
    ("client-class", Use),
    ("client-classes", Use),
    ("require-client-classes", Use),
    ("evaluate-additional-classes", Use),
    (
        "4o6-interface",
        UnsupportedUnless(Empty, "DHCPv4-over-DHCPv6 (4o6-interface)"),
    ),
    (
        "4o6-interface-id",
        UnsupportedUnless(Empty, "DHCPv4-over-DHCPv6 (4o6-interface-id)"),
    ),
    (
        "4o6-subnet",
        UnsupportedUnless(Empty, "DHCPv4-over-DHCPv6 (4o6-subnet)"),
    ),
];

/// Keys of a `shared-networks` entry besides [`NETWORK`].
const SHARED: &[(&str, Handling)] = &[
    ("name", Use),
    ("subnet4", Use),
    ("relay", Use),
    ("interface", Use),
    ("client-class", Use),
    ("client-classes", Use),
    ("require-client-classes", Use),
    ("evaluate-additional-classes", Use),
];

/// Keys of a `pools` entry.
pub(crate) const POOL: &[(&str, Handling)] = &[
    ("pool", Use),
    ("option-data", Use),
    ("client-class", Use),
    ("client-classes", Use),
    ("require-client-classes", Use),
    ("evaluate-additional-classes", Use),
    ("pool-id", Warn("ignored: pool statistics are not kept")),
    DOC[0],
    DOC[1],
];

/// Keys of a `reservations` entry.
pub(crate) const RESERVATION: &[(&str, Handling)] = &[
    ("hw-address", Use),
    ("duid", Use),
    ("circuit-id", Use),
    ("client-id", Use),
    ("flex-id", Use),
    ("ip-address", Use),
    ("hostname", Use),
    ("option-data", Use),
    ("client-classes", Use),
    ("next-server", Use),
    ("server-hostname", Use),
    ("boot-file-name", Use),
    DOC[0],
    DOC[1],
];

/// Keys of a `client-classes` entry.
pub(crate) const CLASS: &[(&str, Handling)] = &[
    ("name", Use),
    ("test", Use),
    ("option-data", Use),
    ("next-server", Use),
    ("server-hostname", Use),
    ("boot-file-name", Use),
    ("valid-lifetime", Use),
    ("min-valid-lifetime", Use),
    ("max-valid-lifetime", Use),
    ("only-if-required", Use),
    ("only-in-additional-list", Use),
    ("option-def", Use),
    (
        "template-test",
        Unsupported("template classes (template-test)"),
    ),
    (
        "offer-lifetime",
        UnsupportedUnless(Empty, "offer lifetime (offer-lifetime)"),
    ),
    DOC[0],
    DOC[1],
];

/// Keys of an `option-data` entry.
pub(crate) const OPTION_DATA: &[(&str, Handling)] = &[
    ("name", Use),
    ("code", Use),
    ("space", Use),
    ("data", Use),
    ("csv-format", Use),
    ("always-send", Use),
    ("never-send", Use),
    DOC[0],
    DOC[1],
];

/// Keys of an `option-def` entry.
pub(crate) const OPTION_DEF: &[(&str, Handling)] = &[
    ("name", Use),
    ("code", Use),
    ("type", Use),
    ("record-types", Use),
    ("space", Use),
    ("encapsulate", Use),
    ("array", Use),
    DOC[0],
    DOC[1],
];

/// Keys of `interfaces-config`.
pub(crate) const INTERFACES: &[(&str, Handling)] = &[
    ("interfaces", Use),
    ("dhcp-socket-type", Use),
    (
        "outbound-interface",
        WarnUnless(
            Strs(&["same-as-inbound"]),
            "ignored: replies leave by the interface the request came in on",
        ),
    ),
    ("re-detect", Warn("ignored: interfaces are read at start")),
    (
        "service-sockets-require-all",
        Warn("ignored: a socket that cannot be opened is an error"),
    ),
    (
        "service-sockets-max-retries",
        Warn("ignored: a socket that cannot be opened is an error"),
    ),
    (
        "service-sockets-retry-wait-time",
        Warn("ignored: a socket that cannot be opened is an error"),
    ),
    DOC[0],
    DOC[1],
];

const SQL_ONLY: &str = "ignored: the memfile backend has no database server";

/// Keys of `lease-database`.
pub(crate) const LEASE_DB: &[(&str, Handling)] = &[
    ("type", Use),
    ("name", Use),
    ("persist", Use),
    ("lfc-interval", Use),
    (
        "max-row-errors",
        Warn("ignored: bad rows are skipped and logged"),
    ),
    ("host", Warn(SQL_ONLY)),
    ("port", Warn(SQL_ONLY)),
    ("user", Warn(SQL_ONLY)),
    ("password", Warn(SQL_ONLY)),
    ("connect-timeout", Warn(SQL_ONLY)),
    ("read-timeout", Warn(SQL_ONLY)),
    ("write-timeout", Warn(SQL_ONLY)),
    ("tcp-user-timeout", Warn(SQL_ONLY)),
    ("max-reconnect-tries", Warn(SQL_ONLY)),
    ("reconnect-wait-time", Warn(SQL_ONLY)),
    ("on-fail", Warn(SQL_ONLY)),
    ("retry-on-startup", Warn(SQL_ONLY)),
    ("trust-anchor", Warn(SQL_ONLY)),
    ("cert-file", Warn(SQL_ONLY)),
    ("key-file", Warn(SQL_ONLY)),
    ("cipher-list", Warn(SQL_ONLY)),
    ("readonly", Warn(SQL_ONLY)),
    DOC[0],
    DOC[1],
];

/// Keys of `expired-leases-processing`.
pub(crate) const EXPIRED: &[(&str, Handling)] = &[
    ("reclaim-timer-wait-time", Use),
    ("hold-reclaimed-time", Use),
    (
        "flush-reclaimed-timer-wait-time",
        Warn("ignored: reclaimed leases leave the file at compaction"),
    ),
    (
        "max-reclaim-leases",
        Warn("ignored: every expired lease is reclaimed in one run"),
    ),
    (
        "max-reclaim-time",
        Warn("ignored: every expired lease is reclaimed in one run"),
    ),
    (
        "unwarned-reclaim-cycles",
        Warn("ignored: every expired lease is reclaimed in one run"),
    ),
    DOC[0],
    DOC[1],
];

/// Keys of `dhcp-ddns`.
pub(crate) const DHCP_DDNS: &[(&str, Handling)] = &[
    ("enable-updates", Use),
    ("server-ip", Warn(DDNS_OFF)),
    ("server-port", Warn(DDNS_OFF)),
    ("sender-ip", Warn(DDNS_OFF)),
    ("sender-port", Warn(DDNS_OFF)),
    ("max-queue-size", Warn(DDNS_OFF)),
    ("ncr-protocol", Warn(DDNS_OFF)),
    ("ncr-format", Warn(DDNS_OFF)),
    ("override-no-update", Warn(DDNS_OFF)),
    ("override-client-update", Warn(DDNS_OFF)),
    ("generated-prefix", Warn(DDNS_OFF)),
    (
        "qualifying-suffix",
        UnsupportedUnless(
            Empty,
            "host name qualification (dhcp-ddns.qualifying-suffix)",
        ),
    ),
    (
        "replace-client-name",
        UnsupportedUnless(
            Strs(&["never"]),
            "host name replacement (dhcp-ddns.replace-client-name)",
        ),
    ),
    (
        "hostname-char-set",
        UnsupportedUnless(
            Strs(&["", "[^A-Za-z0-9.-]"]),
            "host name sanitizing (dhcp-ddns.hostname-char-set)",
        ),
    ),
    (
        "hostname-char-replacement",
        UnsupportedUnless(
            Empty,
            "host name sanitizing (dhcp-ddns.hostname-char-replacement)",
        ),
    ),
    DOC[0],
    DOC[1],
];

/// Keys of `compatibility`.
pub(crate) const COMPATIBILITY: &[(&str, Handling)] = &[
    (
        "lenient-option-parsing",
        Warn("ignored: malformed options are skipped as a lenient Kea does"),
    ),
    (
        "ignore-dhcp-server-identifier",
        UnsupportedUnless(Empty, "ignore-dhcp-server-identifier"),
    ),
    (
        "ignore-rai-link-selection",
        UnsupportedUnless(Empty, "ignore-rai-link-selection"),
    ),
    (
        "exclude-first-last-24",
        UnsupportedUnless(Empty, "exclude-first-last-24"),
    ),
    DOC[0],
    DOC[1],
];

/// Keys of a `hooks-libraries` entry.
pub(crate) const HOOK: &[(&str, Handling)] =
    &[("library", Use), ("parameters", Use), DOC[0], DOC[1]];

/// Keys of a Control Agent file's top-level map.
pub(crate) const AGENT_TOP: &[(&str, Handling)] = &[
    ("Control-agent", Use),
    ("Logging", Warn("ignored: logs go to stderr in our format")),
    DOC[0],
    DOC[1],
];

/// Keys of `Control-agent`.
pub(crate) const AGENT: &[(&str, Handling)] = &[
    ("http-host", Use),
    ("http-port", Use),
    ("authentication", Use),
    ("trust-anchor", Use),
    ("cert-file", Use),
    ("key-file", Use),
    ("cert-required", Use),
    (
        "control-sockets",
        Warn("ignored: dhcp4 answers the commands itself (the agent forwarded them)"),
    ),
    (
        "hooks-libraries",
        UnsupportedUnless(Empty, "Control Agent hooks (hooks-libraries)"),
    ),
    ("loggers", Warn("ignored: logs go to stderr in our format")),
    DOC[0],
    DOC[1],
];

/// Keys of `control-socket` and of each `control-sockets` entry.
pub(crate) const CONTROL_SOCKET: &[(&str, Handling)] = &[
    ("socket-type", Use),
    ("socket-name", Use),
    ("socket-address", Use),
    ("socket-port", Use),
    ("authentication", Use),
    ("trust-anchor", Use),
    ("cert-file", Use),
    ("key-file", Use),
    ("cert-required", Use),
    (
        "http-headers",
        UnsupportedUnless(Empty, "custom HTTP response headers (http-headers)"),
    ),
    DOC[0],
    DOC[1],
];

/// Keys of a control socket's `authentication`.
pub(crate) const AUTHENTICATION: &[(&str, Handling)] = &[
    ("type", Use),
    ("realm", Use),
    ("directory", Use),
    ("clients", Use),
    DOC[0],
    DOC[1],
];

/// Keys of an `authentication.clients` entry.
pub(crate) const AUTH_CLIENT: &[(&str, Handling)] = &[
    ("user", Use),
    ("password", Use),
    ("user-file", Use),
    ("password-file", Use),
    DOC[0],
    DOC[1],
];

/// Keys of `relay`.
pub(crate) const RELAY: &[(&str, Handling)] = &[("ip-addresses", Use), ("ip-address", Use)];

/// The tables a map of `scope` is checked against.
#[derive(Clone, Copy)]
pub(crate) enum Scope {
    /// `Dhcp4`.
    Global,
    /// A `shared-networks` entry.
    Shared,
    /// A `subnet4` entry.
    Subnet,
}

/// Checks every key of a network-level map (`Dhcp4`, a shared network, a subnet).
pub(crate) fn check_network(
    loader: &mut Loader,
    obj: &Obj<'_>,
    scope: Scope,
) -> Result<(), ConfigError> {
    check_in(loader, obj, &network_tables(scope))
}

/// The tables of a network-level map.
fn network_tables(scope: Scope) -> [&'static [(&'static str, Handling)]; 3] {
    let own = match scope {
        Scope::Global => GLOBAL,
        Scope::Shared => SHARED,
        Scope::Subnet => SUBNET,
    };
    [own, NETWORK, &DOC]
}

/// Checks every key of `obj` against `table`.
pub(crate) fn check(
    loader: &mut Loader,
    obj: &Obj<'_>,
    table: &[(&str, Handling)],
) -> Result<(), ConfigError> {
    check_in(loader, obj, &[table])
}

/// How `key` is handled by the first of `tables` that lists it.
fn handling(tables: &[&[(&str, Handling)]], key: &str) -> Option<Handling> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|(name, _)| *name == key)
        .map(|(_, h)| *h)
}

fn check_in(
    loader: &mut Loader,
    obj: &Obj<'_>,
    tables: &[&[(&str, Handling)]],
) -> Result<(), ConfigError> {
    for entry in obj.entries {
        let key = obj.key(&entry.key);
        let handling = handling(tables, &entry.key).ok_or_else(|| {
            ConfigError::at(&entry.location, key.clone(), ConfigErrorKind::Unknown)
        })?;
        match handling {
            Use | Quiet => {}
            Warn(why) => loader.warn(&entry.location, &key, why),
            WarnUnless(noop, why) => {
                if !is_noop(&entry.value.value, noop) {
                    loader.warn(&entry.location, &key, why);
                }
            }
            Unsupported(feature) => return Err(unsupported(&entry.location, key, feature)),
            UnsupportedUnless(noop, feature) => {
                if !is_noop(&entry.value.value, noop) {
                    return Err(unsupported(&entry.location, key, feature));
                }
            }
        }
    }
    Ok(())
}

/// A "not supported: FEATURE" error.
pub(crate) fn unsupported(
    location: &common::config::Location,
    key: String,
    feature: impl Into<String>,
) -> ConfigError {
    ConfigError::at(location, key, ConfigErrorKind::Unsupported(feature.into()))
}

fn is_noop(value: &Value, noop: Noop) -> bool {
    match noop {
        Noop::Empty => match value {
            Value::Null | Value::Bool(false) | Value::Int(0) => true,
            Value::Float(f) => *f == 0.0,
            Value::Str(s) => s.is_empty(),
            Value::List(items) => items.is_empty(),
            Value::Map(entries) => entries.is_empty(),
            Value::Bool(true) | Value::Int(_) => false,
        },
        Noop::Strs(values) => matches!(value, Value::Str(s) if values.contains(&s.as_str())),
    }
}

#[cfg(test)]
#[path = "known_keys_tests.rs"]
mod tests;
