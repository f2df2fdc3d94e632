//! The known-key table: every unbound.conf key, per clause, and what we do with it.
//!
//! A key is either honoured (mapped onto [`Config`]), accepted with a named warning
//! that says what happens instead (it is harmless to skip), or refused with an
//! `Unsupported` error (skipping it would change answers or exposure). A key that is
//! in none of the tables is an `Unknown` error naming file, line and key: nothing is
//! silently ignored. After every directive is applied, [`Builder::finish`] fills in
//! Unbound's implied defaults and checks what only the whole file can tell
//! (a TLS key without its certificate, a zone without servers, duplicate zones).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use common::config::value::{
    parse_ip_net, parse_millis, parse_port, parse_seconds, parse_size, parse_u32, parse_usize,
    parse_yes_no,
};
use common::config::{ConfigError, ConfigErrorKind, ConfigWarning, Location};
use hickory_proto::rr::{Name, Record};
use hickory_proto::serialize::txt::Parser;
use ipnet::IpNet;

mod rate_keys;

use super::default::{default_interfaces, AS112_ZONES, DNS_PORT, DOT_PORT, LOCAL_DATA_DEFAULT_TTL};
use super::unbound::{Clause, Directive, Parsed};
use super::{
    AccessAction, AccessRule, AnchorConfig, AnchorSource, CachedbConfig, Config, ForwardZone,
    ListenAddr, LocalZone, LocalZoneType, Module, RedisTopology, ServerConfig, StubZone,
    UpstreamAddr, UpstreamHost,
};

/// Applies a lexed file onto Unbound's defaults and validates the result.
pub(crate) fn build(parsed: Parsed, source: Option<PathBuf>) -> Result<Config, ConfigError> {
    let mut builder = Builder::new(source, parsed.base_dir);
    builder.warnings = parsed.warnings;
    for directive in &parsed.directives {
        builder.directive(directive)?;
    }
    builder.finish()
}

type ApplyFn = fn(&mut Builder, &Directive) -> Result<(), ConfigError>;

/// What a key does.
#[derive(Clone, Copy)]
pub(crate) enum Handling {
    /// Honoured: the function maps the value onto the config.
    Apply(ApplyFn),
    /// Accepted; a warning with this message says what happens instead.
    Warn(&'static str),
    /// Accepted silently when the value is the first string (it is what we do
    /// anyway, e.g. `do-daemonize: no`), else as [`Handling::Warn`].
    WarnUnless(&'static str, &'static str),
    /// Refused: skipping it would change answers or exposure.
    Unsupported(&'static str),
    /// Accepted silently when the value is the first string (`tls-upstream: no`), else refused.
    UnsupportedUnless(&'static str, &'static str),
}

/// One row of the known-key table.
pub(crate) struct KeyDef {
    /// The key, without its colon.
    pub(crate) key: &'static str,
    /// A value as an operator would write it (the tests apply every row with it).
    pub(crate) example: &'static str,
    /// What the key does.
    pub(crate) handling: Handling,
}

const fn apply(key: &'static str, example: &'static str, f: ApplyFn) -> KeyDef {
    KeyDef {
        key,
        example,
        handling: Handling::Apply(f),
    }
}
const fn warn(key: &'static str, example: &'static str, why: &'static str) -> KeyDef {
    KeyDef {
        key,
        example,
        handling: Handling::Warn(why),
    }
}
const fn warn_unless(
    key: &'static str,
    example: &'static str,
    ok: &'static str,
    why: &'static str,
) -> KeyDef {
    KeyDef {
        key,
        example,
        handling: Handling::WarnUnless(ok, why),
    }
}
const fn unsupported(key: &'static str, example: &'static str, why: &'static str) -> KeyDef {
    KeyDef {
        key,
        example,
        handling: Handling::Unsupported(why),
    }
}
const fn unsupported_unless(
    key: &'static str,
    example: &'static str,
    ok: &'static str,
    why: &'static str,
) -> KeyDef {
    KeyDef {
        key,
        example,
        handling: Handling::UnsupportedUnless(ok, why),
    }
}

// What happens instead, one message per family of keys.
const LOGGING: &str = "logs go to stderr; RUST_LOG and --log-format choose level and format";
const QUERY_LOG: &str =
    "per-query logging is not implemented; query, reply and SERVFAIL counts are in the unbound_* metrics";
const STATS: &str =
    "statistics are always exported as Prometheus metrics (unbound_* names, cumulative and \
                     extended) on the metrics port; this key has no effect";
const IDENTITY: &str =
    "CHAOS-class queries (id.server, hostname.bind, version.bind, trustanchor.unbound) are refused: \
     identity and version are always hidden; this key has no effect";
const SLABS: &str = "caches are sharded internally; the slab count has no effect";
const SOCKETS: &str = "socket and buffer tuning is automatic; this key has no effect";
const OUTGOING: &str = "upstream queries use UDP with TCP on truncation, from the pod's address; this key has no effect";
const INFRA: &str =
    "server selection (RTT, timeouts, lameness) is built in; only infra-host-ttl is configurable";
const DLV: &str = "DLV was retired in 2017 (Unbound ignores it too); this key has no effect";
const ZONEMD: &str =
    "ZONEMD applies to auth-zone, which is not implemented; this key has no effect";
const HARDEN: &str = "this hardening option is not implemented (harden-glue, -dnssec-stripped, \
     -below-nxdomain, -referral-path and -algo-downgrade are); this key has no effect";
const WAIT_LIMIT: &str = "queries waiting for recursion are not limited per client address \
     (ip-ratelimit, jostle-timeout and num-queries-per-thread bound a flooding client); \
     this key has no effect";
const ECS: &str =
    "only the subnetcache module reads this key, and module-config cannot list it here (as in Unbound \
     without subnetcache, no client subnet is sent); this key has no effect";
const TLS_TUNING: &str = "TLS uses rustls defaults (TLS 1.2 and 1.3); this key has no effect";
const DOH: &str =
    "DNS over HTTPS and over QUIC are not implemented; no listener is opened for this key";
const PADDING: &str =
    "EDNS padding (RFC 7830, RFC 8467) is not implemented; refusing rather than sending unpadded TLS traffic";
const PADDING_SIZE: &str = "EDNS padding is not implemented (pad-responses/pad-queries are refused when yes); this key has no effect";
const TCP_UPSTREAM: &str =
    "upstream queries use UDP, with TCP only after truncation; TCP for every upstream query is not implemented";
const TLS_RESTRICT: &str =
    "TLS versions and cipher suites are rustls' defaults (TLS 1.2 and 1.3, AEAD suites only); \
     refusing rather than ignoring a restriction you asked for";
const EDE: &str = "Extended DNS Errors are not added to replies; this key has no effect";
const PROCESS: &str =
    "the process runs in the foreground as the container's non-root user; this key has no effect";
const DNS64: &str = "only the dns64 module reads this key, and module-config cannot list it here \
                     (as in Unbound without dns64, nothing is synthesized); this key has no effect";
const NAT64: &str = "NAT64 upstream addressing is not implemented";
const IPSECMOD: &str = "the ipsecmod module is not implemented; this key has no effect";
const TAGS: &str = "tags and views are not implemented; refusing rather than answering differently";
const REMOTE: &str =
    "unbound-control is not available: metrics are served over HTTP on the metrics port and a \
                      config change takes a restart (rolling update); this key has no effect";
const REDIS_REPLICA: &str =
    "replica reads are not implemented; every read and write goes to redis-server-host; this key has no effect";

/// `server:` keys (util/configlexer.lex), in the order of Unbound's lexer.
pub(crate) static SERVER_KEYS: &[KeyDef] = &[
    apply("verbosity", "1", verbosity),
    apply("qname-minimisation", "yes", qname_minimisation),
    apply("qname-minimisation-strict", "no", qname_minimisation_strict),
    apply("num-threads", "2", num_threads),
    apply("port", "53", port),
    warn("outgoing-range", "8192", OUTGOING),
    warn("outgoing-port-permit", "32768-60999", OUTGOING),
    warn("outgoing-port-avoid", "0-32767", OUTGOING),
    warn("outgoing-num-tcp", "10", OUTGOING),
    apply("incoming-num-tcp", "10", incoming_num_tcp),
    apply("do-ip4", "yes", do_ip4),
    apply("do-ip6", "yes", do_ip6),
    unsupported_unless("do-nat64", "yes", "no", NAT64),
    warn("prefer-ip4", "no", OUTGOING),
    warn("prefer-ip6", "no", OUTGOING),
    apply("do-udp", "yes", do_udp),
    apply("do-tcp", "yes", do_tcp),
    unsupported_unless("tcp-upstream", "yes", "no", TCP_UPSTREAM),
    warn("udp-upstream-without-downstream", "no", OUTGOING),
    warn("tcp-mss", "0", SOCKETS),
    warn("outgoing-tcp-mss", "0", SOCKETS),
    apply("tcp-idle-timeout", "30000", tcp_idle_timeout),
    warn("max-reuse-tcp-queries", "200", OUTGOING),
    warn("tcp-reuse-timeout", "60000", OUTGOING),
    warn("tcp-auth-query-timeout", "3000", OUTGOING),
    warn("edns-tcp-keepalive", "no", SOCKETS),
    warn("edns-tcp-keepalive-timeout", "120000", SOCKETS),
    warn("sock-queue-timeout", "0", SOCKETS),
    unsupported_unless(
        "tls-upstream",
        "yes",
        "no",
        "DoT to every upstream is not implemented; set forward-tls-upstream: yes in each forward-zone",
    ),
    unsupported_unless(
        "ssl-upstream",
        "yes",
        "no",
        "DoT to every upstream is not implemented; set forward-tls-upstream: yes in each forward-zone",
    ),
    apply("tls-service-key", "/etc/unbound/tls/tls.key", tls_service_key),
    apply("ssl-service-key", "/etc/unbound/tls/tls.key", tls_service_key),
    apply("tls-service-pem", "/etc/unbound/tls/tls.crt", tls_service_pem),
    apply("ssl-service-pem", "/etc/unbound/tls/tls.crt", tls_service_pem),
    apply("tls-port", "853", tls_port),
    apply("ssl-port", "853", tls_port),
    apply("tls-cert-bundle", "/etc/ssl/certs/ca-certificates.crt", tls_cert_bundle),
    apply("ssl-cert-bundle", "/etc/ssl/certs/ca-certificates.crt", tls_cert_bundle),
    warn("tls-win-cert", "no", TLS_TUNING),
    warn("tls-system-cert", "no", TLS_TUNING),
    unsupported("tls-additional-port", "8853", "DoT is served on tls-port only"),
    unsupported("tls-additional-ports", "8853", "DoT is served on tls-port only"),
    unsupported("additional-tls-port", "8853", "DoT is served on tls-port only"),
    unsupported("additional-ssl-port", "8853", "DoT is served on tls-port only"),
    warn("tls-session-ticket-keys", "/etc/unbound/ticket.key", TLS_TUNING),
    unsupported("tls-ciphers", "ECDHE-RSA-AES256-GCM-SHA384", TLS_RESTRICT),
    unsupported("tls-ciphersuites", "TLS_AES_256_GCM_SHA384", TLS_RESTRICT),
    warn("tls-use-sni", "yes", TLS_TUNING),
    unsupported("tls-protocols", "TLSv1.3", TLS_RESTRICT),
    warn("https-port", "443", DOH),
    warn("http-endpoint", "/dns-query", DOH),
    warn("http-max-streams", "100", DOH),
    warn("http-query-buffer-size", "4m", DOH),
    warn("http-response-buffer-size", "4m", DOH),
    warn("http-nodelay", "yes", DOH),
    warn("http-notls-downstream", "no", DOH),
    warn("quic-port", "853", DOH),
    warn("quic-size", "8m", DOH),
    warn_unless("use-systemd", "yes", "no", PROCESS),
    warn_unless("do-daemonize", "yes", "no", PROCESS),
    apply("interface", "0.0.0.0", interface),
    apply("ip-address", "0.0.0.0", interface),
    warn(
        "outgoing-interface",
        "192.0.2.53",
        "upstream queries leave from the pod's own address; this key has no effect",
    ),
    apply("interface-automatic", "yes", interface_automatic),
    apply("interface-automatic-ports", "\"53 853\"", interface_automatic_ports),
    warn("so-rcvbuf", "4m", SOCKETS),
    warn("so-sndbuf", "4m", SOCKETS),
    apply("so-reuseport", "yes", so_reuseport),
    warn("ip-transparent", "no", SOCKETS),
    warn("ip-freebind", "no", SOCKETS),
    warn("ip-dscp", "0", SOCKETS),
    warn_unless("chroot", "/var/lib/unbound", "", PROCESS),
    warn_unless("username", "unbound", "", PROCESS),
    apply("directory", "/etc/unbound", directory),
    warn_unless("logfile", "/var/log/unbound.log", "", LOGGING),
    warn_unless("pidfile", "/run/unbound.pid", "", PROCESS),
    apply("root-hints", "/etc/unbound/root.hints", root_hints),
    warn("stream-wait-size", "4m", SOCKETS),
    apply("edns-buffer-size", "1232", edns_buffer_size),
    warn("msg-buffer-size", "65552", SOCKETS),
    apply("msg-cache-size", "64m", msg_cache_size),
    warn("msg-cache-slabs", "4", SLABS),
    apply("rrset-cache-size", "128m", rrset_cache_size),
    warn("rrset-cache-slabs", "4", SLABS),
    apply("cache-max-ttl", "86400", cache_max_ttl),
    apply("cache-max-negative-ttl", "3600", cache_max_negative_ttl),
    unsupported_unless(
        "cache-min-negative-ttl",
        "60",
        "0",
        "a floor on negative-answer TTLs is not implemented: negative answers keep their SOA-derived TTL (capped by cache-max-negative-ttl)",
    ),
    apply("cache-min-ttl", "60", cache_min_ttl),
    apply("infra-host-ttl", "900", infra_host_ttl),
    warn("infra-lame-ttl", "120", INFRA),
    warn("infra-cache-slabs", "4", SLABS),
    apply("infra-cache-numhosts", "10000", infra_cache_numhosts),
    warn("infra-cache-lame-size", "10k", INFRA),
    warn("infra-cache-min-rtt", "50", INFRA),
    warn("infra-cache-max-rtt", "120000", INFRA),
    warn("infra-keep-probing", "no", INFRA),
    apply("num-queries-per-thread", "1024", num_queries_per_thread),
    apply("jostle-timeout", "200", jostle_timeout),
    warn("delay-close", "0", SOCKETS),
    warn_unless(
        "udp-connect",
        "no",
        "yes",
        "upstream UDP sockets are always connected (only the server's replies are read); this key has no effect",
    ),
    apply("target-fetch-policy", "\"3 2 1 0 0\"", target_fetch_policy),
    warn("harden-short-bufsize", "yes", HARDEN),
    warn("harden-large-queries", "no", HARDEN),
    apply("harden-glue", "yes", harden_glue),
    warn("harden-unverified-glue", "no", HARDEN),
    apply("harden-below-nxdomain", "yes", harden_below_nxdomain),
    apply("harden-referral-path", "no", harden_referral_path),
    warn("harden-unknown-additional", "no", HARDEN),
    apply("use-caps-for-id", "yes", use_caps_for_id),
    apply("caps-whitelist", "example.com", caps_exempt),
    apply("caps-exempt", "example.com", caps_exempt),
    warn("unwanted-reply-threshold", "10000000", HARDEN),
    apply("private-address", "10.0.0.0/8", private_address),
    apply("private-domain", "example.internal", private_domain),
    apply("prefetch", "yes", prefetch),
    unsupported_unless(
        "deny-any",
        "yes",
        "no",
        "answering ANY queries with an empty reply is not implemented; ANY is resolved",
    ),
    apply("do-not-query-address", "192.0.2.0/24", do_not_query_address),
    apply("do-not-query-localhost", "yes", do_not_query_localhost),
    apply("access-control", "10.0.0.0/8 allow", access_control),
    unsupported("interface-action", "0.0.0.0 allow", TAGS),
    warn("send-client-subnet", "192.0.2.1", ECS),
    warn("client-subnet-zone", "example.com", ECS),
    warn("client-subnet-always-forward", "no", ECS),
    warn("client-subnet-opcode", "8", ECS),
    warn("max-client-subnet-ipv4", "24", ECS),
    warn("max-client-subnet-ipv6", "56", ECS),
    warn("min-client-subnet-ipv4", "0", ECS),
    warn("min-client-subnet-ipv6", "0", ECS),
    warn("max-ecs-tree-size-ipv4", "100", ECS),
    warn("max-ecs-tree-size-ipv6", "100", ECS),
    warn_unless("hide-identity", "no", "yes", IDENTITY),
    warn_unless("hide-version", "no", "yes", IDENTITY),
    warn_unless("hide-trustanchor", "no", "yes", IDENTITY),
    warn("hide-http-user-agent", "yes", IDENTITY),
    warn("identity", "noc-resolver", IDENTITY),
    warn("version", "1.0", IDENTITY),
    warn("http-user-agent", "resolver", IDENTITY),
    warn("nsid", "ascii_noc", IDENTITY),
    apply("module-config", "\"cachedb iterator\"", module_config),
    warn("dlv-anchor", "\"dlv.isc.org. DNSKEY 257 3 5 AQ\"", DLV),
    warn("dlv-anchor-file", "/etc/unbound/dlv.key", DLV),
    apply("trust-anchor-file", "/etc/unbound/root.key", trust_anchor_file),
    apply("auto-trust-anchor-file", "/var/lib/unbound/root.key", auto_trust_anchor_file),
    unsupported(
        "trusted-keys-file",
        "/etc/unbound/keys.conf",
        "BIND's trusted-keys format is not read; write the keys as DS or DNSKEY lines in a trust-anchor-file",
    ),
    apply(
        "trust-anchor",
        "\". DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\"",
        trust_anchor,
    ),
    warn_unless(
        "trust-anchor-signaling",
        "yes",
        "no",
        "RFC 8145 key-tag queries are not sent to the root; answers and validation are unaffected",
    ),
    apply("root-key-sentinel", "no", root_key_sentinel),
    apply("domain-insecure", "example.internal", domain_insecure),
    apply("val-override-date", "20260101000000", val_override_date),
    apply("val-sig-skew-min", "3600", val_sig_skew_min),
    apply("val-sig-skew-max", "86400", val_sig_skew_max),
    warn(
        "val-max-restart",
        "5",
        "a bogus answer is not re-fetched from other servers; the validator's work is bounded per query instead",
    ),
    apply("val-bogus-ttl", "60", val_bogus_ttl),
    apply("val-clean-additional", "yes", val_clean_additional),
    apply("val-permissive-mode", "no", val_permissive_mode),
    apply("val-log-level", "1", val_log_level),
    apply(
        "val-nsec3-keysize-iterations",
        "\"1024 150 2048 150 4096 150\"",
        val_nsec3_keysize_iterations,
    ),
    apply("aggressive-nsec", "yes", aggressive_nsec),
    apply("ignore-cd-flag", "no", ignore_cd_flag),
    unsupported_unless(
        "disable-edns-do",
        "yes",
        "no",
        "queries always go upstream with DO; answers without DNSSEC records are not implemented",
    ),
    warn_unless("fake-dsa", "yes", "no", "DSA is never validated (RFC 8624); zones signed only with it are insecure"),
    warn_unless("fake-sha1", "yes", "no", "SHA-1 signatures are validated for real"),
    apply("key-cache-size", "4m", key_cache_size),
    warn("key-cache-slabs", "4", SLABS),
    apply("harden-dnssec-stripped", "yes", harden_dnssec_stripped),
    apply("harden-algo-downgrade", "yes", harden_algo_downgrade),
    warn(
        "prefetch-key",
        "yes",
        "DNSKEY sets are fetched when a validation needs them, not ahead; answers are unaffected",
    ),
    apply("neg-cache-size", "1m", neg_cache_size),
    warn("zonemd-permissive-mode", "no", ZONEMD),
    warn("zonemd-check", "no", ZONEMD),
    warn("zonemd-reject-absence", "no", ZONEMD),
    apply("add-holddown", "2592000", add_holddown),
    apply("del-holddown", "2592000", del_holddown),
    apply("keep-missing", "31622400", keep_missing),
    apply("permit-small-holddown", "no", permit_small_holddown),
    warn(
        "insecure-lan-zones",
        "yes",
        "private reverse zones are answered by the default local zones and never validated; this key has no effect",
    ),
    apply("serve-expired", "yes", serve_expired),
    apply("serve-expired-ttl", "86400", serve_expired_ttl),
    unsupported_unless(
        "serve-expired-ttl-reset",
        "yes",
        "no",
        "resetting an expired entry's serve-expired-ttl after a failed refresh is not implemented; \
         expired answers stop being served serve-expired-ttl after expiry",
    ),
    apply("serve-expired-reply-ttl", "30", serve_expired_reply_ttl),
    apply("serve-expired-client-timeout", "1800", serve_expired_client_timeout),
    warn("ede-serve-expired", "no", EDE),
    unsupported_unless(
        "serve-original-ttl",
        "yes",
        "no",
        "answers carry the remaining cache TTL; serving the original TTL is not implemented",
    ),
    warn_unless("use-syslog", "yes", "no", LOGGING),
    warn("log-identity", "unbound", LOGGING),
    warn("log-time-ascii", "yes", LOGGING),
    warn("log-time-iso", "yes", LOGGING),
    warn("log-queries", "no", QUERY_LOG),
    warn("log-replies", "no", QUERY_LOG),
    warn("log-tag-queryreply", "no", QUERY_LOG),
    warn("log-local-actions", "no", QUERY_LOG),
    warn("log-servfail", "no", QUERY_LOG),
    warn("log-destaddr", "no", QUERY_LOG),
    apply("local-zone", "example.internal. static", local_zone),
    apply("local-data", "\"www.example.internal. A 192.0.2.10\"", local_data),
    apply("local-data-ptr", "\"192.0.2.10 www.example.internal.\"", local_data_ptr),
    apply("unblock-lan-zones", "no", unblock_lan_zones),
    warn("statistics-interval", "0", STATS),
    warn("statistics-cumulative", "no", STATS),
    warn("extended-statistics", "yes", STATS),
    warn("statistics-inhibit-zero", "yes", STATS),
    warn("shm-enable", "no", STATS),
    warn("shm-key", "11777", STATS),
    unsupported_unless(
        "minimal-responses",
        "no",
        "yes",
        "replies are always minimal (no NS or glue added to positive answers); minimal-responses: no is not implemented",
    ),
    warn(
        "rrset-roundrobin",
        "yes",
        "records keep the order they were cached in (an RRset is unordered, RFC 2181 §5); this key has no effect",
    ),
    warn("unknown-server-time-limit", "376", INFRA),
    warn(
        "discard-timeout",
        "1900",
        "a client query is bounded by the resolver's resolution timeout instead; this key has no effect",
    ),
    warn("wait-limit", "1000", WAIT_LIMIT),
    warn("wait-limit-cookie", "10000", WAIT_LIMIT),
    warn("wait-limit-netblock", "192.0.2.0/24 -1", WAIT_LIMIT),
    warn("wait-limit-cookie-netblock", "192.0.2.0/24 -1", WAIT_LIMIT),
    apply("max-udp-size", "1232", max_udp_size),
    warn("dns64-prefix", "64:ff9b::/96", DNS64),
    warn("dns64-synthall", "no", DNS64),
    warn("dns64-ignore-aaaa", "example.com", DNS64),
    warn(
        "nat64-prefix",
        "64:ff9b::/96",
        "only do-nat64 reads this key, and do-nat64: yes is refused; this key has no effect",
    ),
    unsupported("define-tag", "\"block office\"", TAGS),
    unsupported("local-zone-tag", "example.com. block", TAGS),
    unsupported("access-control-tag", "10.0.0.0/8 block", TAGS),
    unsupported("access-control-tag-action", "10.0.0.0/8 block refuse", TAGS),
    unsupported("access-control-tag-data", "10.0.0.0/8 block \"A 127.0.0.1\"", TAGS),
    unsupported("access-control-view", "10.0.0.0/8 office", TAGS),
    unsupported("interface-tag", "0.0.0.0 block", TAGS),
    unsupported("interface-tag-action", "0.0.0.0 block refuse", TAGS),
    unsupported("interface-tag-data", "0.0.0.0 block \"A 127.0.0.1\"", TAGS),
    unsupported("interface-view", "0.0.0.0 office", TAGS),
    unsupported("local-zone-override", "example.com. 10.0.0.0/8 refuse", TAGS),
    unsupported("response-ip-tag", "192.0.2.0/24 block", TAGS),
    unsupported(
        "response-ip",
        "192.0.2.0/24 always_refuse",
        "response-ip (the respip module) is not implemented",
    ),
    unsupported(
        "response-ip-data",
        "192.0.2.0/24 \"A 127.0.0.1\"",
        "response-ip (the respip module) is not implemented",
    ),
    warn(
        "disable-dnssec-lame-check",
        "no",
        "servers are not probed for DNSSEC lameness; a bogus answer is SERVFAIL either way",
    ),
    apply("ip-ratelimit", "1000", rate_keys::ip_ratelimit),
    apply("ip-ratelimit-cookie", "10000", rate_keys::ip_ratelimit_cookie),
    apply("ratelimit", "1000", rate_keys::ratelimit),
    apply("ip-ratelimit-slabs", "4", rate_keys::ip_ratelimit_slabs),
    apply("ratelimit-slabs", "4", rate_keys::ratelimit_slabs),
    apply("ip-ratelimit-size", "4m", rate_keys::ip_ratelimit_size),
    apply("ratelimit-size", "4m", rate_keys::ratelimit_size),
    apply("ratelimit-for-domain", "example.com 1000", rate_keys::ratelimit_for_domain),
    apply("ratelimit-below-domain", "example.com 1000", rate_keys::ratelimit_below_domain),
    apply("ip-ratelimit-factor", "10", rate_keys::ip_ratelimit_factor),
    apply("ratelimit-factor", "10", rate_keys::ratelimit_factor),
    apply("ip-ratelimit-backoff", "no", rate_keys::ip_ratelimit_backoff),
    apply("ratelimit-backoff", "no", rate_keys::ratelimit_backoff),
    apply("tcp-connection-limit", "192.0.2.0/24 10", tcp_connection_limit),
    warn("outbound-msg-retry", "5", OUTGOING),
    warn(
        "max-sent-count",
        "32",
        "the upstream query budget is max-global-quota (per client query); this key has no effect",
    ),
    apply("max-query-restarts", "11", max_query_restarts),
    apply("max-global-quota", "200", max_global_quota),
    warn("low-rtt", "45", INFRA),
    warn("low-rtt-pct", "0", INFRA),
    warn("low-rtt-permil", "0", INFRA),
    warn("fast-server-permil", "0", INFRA),
    warn("fast-server-num", "3", INFRA),
    unsupported_unless("pad-responses", "yes", "no", PADDING),
    warn("pad-responses-block-size", "468", PADDING_SIZE),
    unsupported_unless("pad-queries", "yes", "no", PADDING),
    warn("pad-queries-block-size", "128", PADDING_SIZE),
    warn("ipsecmod-enabled", "no", IPSECMOD),
    warn("ipsecmod-ignore-bogus", "no", IPSECMOD),
    warn("ipsecmod-hook", "/usr/bin/true", IPSECMOD),
    warn("ipsecmod-max-ttl", "3600", IPSECMOD),
    warn("ipsecmod-whitelist", "example.com", IPSECMOD),
    warn("ipsecmod-allow", "example.com", IPSECMOD),
    warn("ipsecmod-strict", "no", IPSECMOD),
    apply("answer-cookie", "yes", answer_cookie),
    apply("cookie-secret", "000102030405060708090a0b0c0d0e0f", cookie_secret),
    apply("cookie-secret-file", "\"\"", cookie_secret_file),
    warn("edns-client-string", "192.0.2.0/24 noc", "EDNS client strings are not sent; this key has no effect"),
    warn("edns-client-string-opcode", "65001", "EDNS client strings are not sent; this key has no effect"),
    warn("ede", "no", EDE),
    warn("dns-error-reporting", "no", EDE),
    unsupported(
        "proxy-protocol-port",
        "10053",
        "PROXY protocol is not implemented; a port expecting it would misread every query",
    ),
    warn("iter-scrub-ns", "20", HARDEN),
    warn("iter-scrub-cname", "11", HARDEN),
];

/// `forward-zone:` keys.
pub(crate) static FORWARD_KEYS: &[KeyDef] = &[
    apply("name", "example.com", zone_name),
    apply("forward-addr", "192.0.2.53@53", forward_addr),
    apply("forward-host", "ns.example.net", forward_host),
    apply("forward-first", "no", forward_first),
    apply("forward-tls-upstream", "no", forward_tls_upstream),
    apply("forward-ssl-upstream", "no", forward_tls_upstream),
    unsupported_unless(
        "forward-no-cache",
        "yes",
        "no",
        "answers from forwarders are always cached; not caching a zone is not implemented",
    ),
    unsupported_unless("forward-tcp-upstream", "yes", "no", TCP_UPSTREAM),
];

/// `stub-zone:` keys.
pub(crate) static STUB_KEYS: &[KeyDef] = &[
    apply("name", "example.com", zone_name),
    apply("stub-addr", "192.0.2.53", stub_addr),
    apply("stub-host", "ns.example.net", stub_host),
    apply("stub-first", "no", stub_first),
    apply("stub-prime", "no", stub_prime),
    unsupported_unless(
        "stub-no-cache",
        "yes",
        "no",
        "answers from stub servers are always cached; not caching a zone is not implemented",
    ),
    unsupported_unless(
        "stub-tls-upstream",
        "yes",
        "no",
        "DoT to stub servers is not implemented; use a forward-zone with forward-tls-upstream",
    ),
    unsupported_unless(
        "stub-ssl-upstream",
        "yes",
        "no",
        "DoT to stub servers is not implemented; use a forward-zone with forward-tls-upstream",
    ),
    unsupported_unless("stub-tcp-upstream", "yes", "no", TCP_UPSTREAM),
];

/// `cachedb:` keys.
pub(crate) static CACHEDB_KEYS: &[KeyDef] = &[
    apply("backend", "redis", cachedb_backend),
    apply("secret-seed", "noc-poc", cachedb_secret_seed),
    apply("redis-server-host", "redis.noc-poc.svc.cluster.local", redis_server_host),
    apply("redis-server-port", "6379", redis_server_port),
    apply("redis-server-path", "/run/redis/redis.sock", redis_server_path),
    apply("redis-server-password", "s3cret", redis_server_password),
    apply("redis-timeout", "100", redis_timeout),
    apply("redis-expire-records", "no", redis_expire_records),
    apply("redis-logical-db", "0", redis_logical_db),
    apply("cachedb-no-store", "no", cachedb_no_store),
    apply("redis-sentinel", "redis-sentinel.noc-poc.svc:26379", redis_sentinel),
    apply("redis-sentinel-master", "mymaster", redis_sentinel_master),
    apply("redis-cluster-node", "redis-cluster-0.noc-poc.svc:6379", redis_cluster_node),
    warn(
        "cachedb-check-when-serve-expired",
        "yes",
        "with serve-expired, Redis is consulted before an expired answer is served; this key has no effect",
    ),
    warn(
        "redis-command-timeout",
        "0",
        "redis-timeout bounds every Redis operation; this key has no effect",
    ),
    warn(
        "redis-connect-timeout",
        "0",
        "redis-timeout bounds every Redis operation; this key has no effect",
    ),
    warn("redis-replica-server-host", "redis-replica", REDIS_REPLICA),
    warn("redis-replica-server-port", "6379", REDIS_REPLICA),
    warn("redis-replica-server-path", "/run/redis/replica.sock", REDIS_REPLICA),
    warn("redis-replica-server-password", "s3cret", REDIS_REPLICA),
    warn("redis-replica-timeout", "100", REDIS_REPLICA),
    warn("redis-replica-command-timeout", "0", REDIS_REPLICA),
    warn("redis-replica-connect-timeout", "0", REDIS_REPLICA),
    warn("redis-replica-logical-db", "0", REDIS_REPLICA),
];

/// `remote-control:` keys: all accepted with a warning.
pub(crate) static REMOTE_CONTROL_KEYS: &[KeyDef] = &[
    warn_unless("control-enable", "yes", "no", REMOTE),
    warn("control-interface", "127.0.0.1", REMOTE),
    warn("control-port", "8953", REMOTE),
    warn("control-use-cert", "yes", REMOTE),
    warn("server-key-file", "/etc/unbound/unbound_server.key", REMOTE),
    warn(
        "server-cert-file",
        "/etc/unbound/unbound_server.pem",
        REMOTE,
    ),
    warn(
        "control-key-file",
        "/etc/unbound/unbound_control.key",
        REMOTE,
    ),
    warn(
        "control-cert-file",
        "/etc/unbound/unbound_control.pem",
        REMOTE,
    ),
];

/// `python:` keys. Unbound accepts an empty clause (its example.conf has one);
/// a script is refused, since no module runs it.
pub(crate) static PYTHON_KEYS: &[KeyDef] = &[unsupported(
    "python-script",
    "/etc/unbound/ubmodule-tst.py",
    "python modules are not implemented; no script can run (module-config cannot list python)",
)];

/// `dynlib:` keys: as `python:`, an empty clause is accepted and a library refused.
pub(crate) static DYNLIB_KEYS: &[KeyDef] = &[unsupported(
    "dynlib-file",
    "/usr/lib/unbound/dynlib.so",
    "dynamic library modules are not implemented; no library can load (module-config cannot list dynlib)",
)];

/// Why a clause we do not implement is refused.
pub(crate) fn unsupported_clause(name: &str) -> Option<&'static str> {
    Some(match name {
        "auth-zone" => "auth-zone is not implemented; use local-zone/local-data, or a stub-zone to the zone's primary",
        "view" => "views are not implemented",
        "rpz" => "response policy zones are not implemented",
        "dnscrypt" => "DNSCrypt is not implemented; DoT is (tls-service-key, tls-service-pem)",
        "ipset" => "the ipset module is not implemented",
        _ => return None,
    })
}

/// The table for `clause`, if it has one.
pub(crate) fn table(clause: &Clause) -> &'static [KeyDef] {
    match clause {
        Clause::Server => SERVER_KEYS,
        Clause::ForwardZone(_) => FORWARD_KEYS,
        Clause::StubZone(_) => STUB_KEYS,
        Clause::Cachedb => CACHEDB_KEYS,
        Clause::RemoteControl => REMOTE_CONTROL_KEYS,
        Clause::Other(name) if name == "python" => PYTHON_KEYS,
        Clause::Other(name) if name == "dynlib" => DYNLIB_KEYS,
        Clause::Other(_) => &[],
    }
}

/// A `forward-zone:`/`stub-zone:` clause while it is being read.
struct ZoneDraft {
    header: Location,
    name: Option<(Name, Location)>,
    addrs: Vec<(IpAddr, Option<u16>, Option<String>)>,
    hosts: Vec<UpstreamHost>,
    first: bool,
    tls_upstream: bool,
    prime: bool,
}

impl ZoneDraft {
    fn new(header: Location) -> Self {
        Self {
            header,
            name: None,
            addrs: Vec::new(),
            hosts: Vec::new(),
            first: false,
            tls_upstream: false,
            prime: false,
        }
    }
}

/// The `cachedb:` clause while it is being read.
struct CachedbDraft {
    header: Location,
    backend: Option<Location>,
    secret_seed: Option<Location>,
    /// `redis-sentinel:` endpoints, with the first one's location.
    sentinels: Vec<(String, u16)>,
    first_sentinel: Option<Location>,
    /// `redis-sentinel-master:` and where it was set.
    sentinel_master: Option<(String, Location)>,
    /// `redis-cluster-node:` endpoints, with the first one's location.
    cluster_nodes: Vec<(String, u16)>,
    first_cluster_node: Option<Location>,
    config: CachedbConfig,
}

/// Locations of keys whose values are checked against each other at the end.
#[derive(Default)]
struct Seen {
    num_threads: Option<Location>,
    do_ip4: Option<Location>,
    do_ip6: Option<Location>,
    do_udp: Option<Location>,
    do_tcp: Option<Location>,
    tls_service_key: Option<Location>,
    tls_service_pem: Option<Location>,
    cache_min_ttl: Option<Location>,
    cache_max_ttl: Option<Location>,
    module_config: Option<Location>,
}

/// Accumulates directives onto a [`Config`].
pub(crate) struct Builder {
    config: Config,
    base_dir: PathBuf,
    warnings: Vec<ConfigWarning>,
    interfaces: Vec<(ListenAddr, Location)>,
    seen: Seen,
    forward: Vec<ZoneDraft>,
    stub: Vec<ZoneDraft>,
    cachedb: Option<CachedbDraft>,
    access_seen: HashMap<IpNet, Location>,
    local_zone_seen: HashMap<Name, Location>,
    unblock_lan_zones: bool,
}

fn invalid(d: &Directive, why: impl Into<String>) -> ConfigError {
    ConfigError::invalid(&d.location, d.key.as_str(), why)
}

fn unsupported_error(d: &Directive, why: impl Into<String>) -> ConfigError {
    ConfigError::at(
        &d.location,
        d.key.as_str(),
        ConfigErrorKind::Unsupported(why.into()),
    )
}

/// The single value of `d`.
fn one(d: &Directive) -> Result<&str, ConfigError> {
    match d.args.as_slice() {
        [value] => Ok(value),
        args => Err(invalid(
            d,
            format!("expected 1 value, found {}", args.len()),
        )),
    }
}

/// The two values of `d`.
fn two(d: &Directive) -> Result<(&str, &str), ConfigError> {
    match d.args.as_slice() {
        [a, b] => Ok((a, b)),
        args => Err(invalid(
            d,
            format!("expected 2 values, found {}", args.len()),
        )),
    }
}

fn yes_no(d: &Directive) -> Result<bool, ConfigError> {
    parse_yes_no(one(d)?).map_err(|e| invalid(d, e))
}

fn u32_of(d: &Directive) -> Result<u32, ConfigError> {
    parse_u32(one(d)?).map_err(|e| invalid(d, e))
}

fn usize_of(d: &Directive) -> Result<usize, ConfigError> {
    parse_usize(one(d)?).map_err(|e| invalid(d, e))
}

fn size_of(d: &Directive) -> Result<u64, ConfigError> {
    parse_size(one(d)?).map_err(|e| invalid(d, e))
}

fn path_of(d: &Directive) -> Result<Option<PathBuf>, ConfigError> {
    let value = one(d)?;
    Ok((!value.is_empty()).then(|| PathBuf::from(value)))
}

/// A domain name as unbound.conf writes zone names: with or without the final dot.
fn name_of(d: &Directive, text: &str) -> Result<Name, ConfigError> {
    if text.is_empty() {
        return Err(invalid(d, "empty domain name (write \".\" for the root)"));
    }
    let mut name =
        Name::from_ascii(text).map_err(|e| invalid(d, format!("bad domain name `{text}`: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

impl Builder {
    fn new(source: Option<PathBuf>, base_dir: PathBuf) -> Self {
        Self {
            config: Config::with_server(source, ServerConfig::default()),
            base_dir,
            warnings: Vec::new(),
            interfaces: Vec::new(),
            seen: Seen::default(),
            forward: Vec::new(),
            stub: Vec::new(),
            cachedb: None,
            access_seen: HashMap::new(),
            local_zone_seen: HashMap::new(),
            unblock_lan_zones: false,
        }
    }

    fn server(&mut self) -> &mut ServerConfig {
        &mut self.config.server
    }

    fn warn(&mut self, d: &Directive, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            location: d.location.clone(),
            key: d.key.clone(),
            message: message.into(),
        });
    }

    fn directive(&mut self, d: &Directive) -> Result<(), ConfigError> {
        if d.key == d.clause.name() && d.args.is_empty() {
            return self.clause_header(d);
        }
        if let Clause::Other(name) = &d.clause {
            if name == "dnstap" && d.key.starts_with("dnstap") {
                let enabled = d.key == "dnstap-enable" && d.args.iter().any(|a| a == "yes");
                if d.key != "dnstap-enable" || enabled {
                    self.warn(d, "dnstap is not implemented; no dnstap output is produced");
                }
                return Ok(());
            }
        }
        let Some(def) = table(&d.clause).iter().find(|def| def.key == d.key) else {
            return Err(self.unknown(d));
        };
        match def.handling {
            Handling::Apply(f) => f(self, d).map_err(|mut error| {
                // A value that does not parse: show how the key is written.
                if let ConfigErrorKind::Invalid(why) = &mut error.kind {
                    if why.contains("expected") {
                        why.push_str(&format!(" (example: `{}: {}`)", def.key, def.example));
                    }
                }
                error
            }),
            Handling::Warn(why) => {
                self.warn(d, why);
                Ok(())
            }
            Handling::WarnUnless(ok, why) => {
                if !matches_harmless(d, ok) {
                    self.warn(d, why);
                }
                Ok(())
            }
            Handling::Unsupported(why) => Err(unsupported_error(d, why)),
            Handling::UnsupportedUnless(ok, why) => {
                if matches_harmless(d, ok) {
                    Ok(())
                } else {
                    Err(unsupported_error(d, why))
                }
            }
        }
    }

    /// An unknown key, or a known key in the wrong clause.
    fn unknown(&self, d: &Directive) -> ConfigError {
        let elsewhere: Vec<&str> = [
            ("server:", SERVER_KEYS),
            ("forward-zone:", FORWARD_KEYS),
            ("stub-zone:", STUB_KEYS),
            ("cachedb:", CACHEDB_KEYS),
            ("remote-control:", REMOTE_CONTROL_KEYS),
            ("python:", PYTHON_KEYS),
            ("dynlib:", DYNLIB_KEYS),
        ]
        .into_iter()
        .filter(|(_, keys)| keys.iter().any(|def| def.key == d.key))
        .map(|(clause, _)| clause)
        .collect();
        if elsewhere.is_empty() {
            ConfigError::at(&d.location, d.key.as_str(), ConfigErrorKind::Unknown)
        } else {
            invalid(
                d,
                format!(
                    "belongs in a {} clause, not in {}",
                    elsewhere.join(" or "),
                    d.clause
                ),
            )
        }
    }

    fn clause_header(&mut self, d: &Directive) -> Result<(), ConfigError> {
        match &d.clause {
            Clause::Server | Clause::RemoteControl => {}
            Clause::ForwardZone(_) => self.forward.push(ZoneDraft::new(d.location.clone())),
            Clause::StubZone(_) => self.stub.push(ZoneDraft::new(d.location.clone())),
            Clause::Cachedb => {
                // Several cachedb: clauses set the same options, as in Unbound.
                if self.cachedb.is_none() {
                    self.cachedb = Some(CachedbDraft {
                        header: d.location.clone(),
                        backend: None,
                        secret_seed: None,
                        sentinels: Vec::new(),
                        first_sentinel: None,
                        sentinel_master: None,
                        cluster_nodes: Vec::new(),
                        first_cluster_node: None,
                        config: CachedbConfig::default(),
                    });
                }
            }
            // An empty python:/dynlib: clause does nothing; their keys are refused.
            Clause::Other(name) if matches!(name.as_str(), "dnstap" | "python" | "dynlib") => {}
            Clause::Other(name) => {
                let why = unsupported_clause(name).unwrap_or("this clause is not implemented");
                return Err(unsupported_error(d, why));
            }
        }
        Ok(())
    }

    fn zone(&mut self, d: &Directive) -> Result<&mut ZoneDraft, ConfigError> {
        let (list, index) = match d.clause {
            Clause::ForwardZone(i) => (&mut self.forward, i),
            Clause::StubZone(i) => (&mut self.stub, i),
            _ => {
                return Err(invalid(
                    d,
                    "only valid in a forward-zone: or stub-zone: clause",
                ))
            }
        };
        list.get_mut(index).ok_or_else(|| {
            ConfigError::invalid(&d.location, d.key.as_str(), "zone clause header missing")
        })
    }

    fn cachedb_draft(&mut self, d: &Directive) -> Result<&mut CachedbDraft, ConfigError> {
        self.cachedb.as_mut().ok_or_else(|| {
            ConfigError::invalid(
                &d.location,
                d.key.as_str(),
                "only valid in a cachedb: clause",
            )
        })
    }

    /// Unbound's implied defaults and the checks that need the whole file.
    fn finish(mut self) -> Result<Config, ConfigError> {
        let server = &self.config.server;
        if !server.do_ip4 && !server.do_ip6 {
            let at = self.seen.do_ip6.as_ref().or(self.seen.do_ip4.as_ref());
            return Err(whole_file_error(
                at,
                "do-ip6",
                "do-ip4 and do-ip6 are both no: nothing to listen on",
            ));
        }
        if !server.do_udp && !server.do_tcp {
            let at = self.seen.do_tcp.as_ref().or(self.seen.do_udp.as_ref());
            return Err(whole_file_error(
                at,
                "do-tcp",
                "do-udp and do-tcp are both no: nothing to serve",
            ));
        }
        self.finish_interfaces()?;
        self.finish_tls()?;
        self.finish_ttls()?;
        self.finish_zones()?;
        self.finish_cachedb()?;
        self.finish_paths();
        if self.unblock_lan_zones {
            for zone in AS112_ZONES {
                if let Ok(name) = Name::from_ascii(zone) {
                    if !self.config.nodefault.contains(&name) {
                        self.config.nodefault.push(name);
                    }
                }
            }
        }
        self.config.warnings = self.warnings;
        Ok(self.config)
    }

    fn finish_interfaces(&mut self) -> Result<(), ConfigError> {
        let (do_ip4, do_ip6) = (self.config.server.do_ip4, self.config.server.do_ip6);
        if self.config.interface_automatic() {
            // listen_dnsport.c listening_ports_open: with interface-automatic the
            // wildcard addresses are bound and interface: lines are not used.
            // Silently listening wider than the file says is an exposure change:
            // refuse the contradiction instead.
            if let Some((first, at)) = self.interfaces.first() {
                return Err(ConfigError::invalid(
                    at,
                    "interface",
                    format!(
                        "interface-automatic: yes binds 0.0.0.0 and :: and Unbound ignores interface: lines \
                         such as {}; remove them, or set interface-automatic: no",
                        first.ip
                    ),
                ));
            }
        }
        if self.interfaces.is_empty() {
            self.config.server.interfaces = default_interfaces(do_ip4, do_ip6);
            return Ok(());
        }
        for (addr, location) in &self.interfaces {
            let (family, enabled, switch) = match addr.ip {
                IpAddr::V4(_) => ("IPv4", do_ip4, "do-ip4"),
                IpAddr::V6(_) => ("IPv6", do_ip6, "do-ip6"),
            };
            if !enabled {
                return Err(ConfigError::invalid(
                    location,
                    "interface",
                    format!("{} is an {family} address but {switch} is no", addr.ip),
                ));
            }
        }
        self.config.server.interfaces = self.interfaces.iter().map(|(addr, _)| *addr).collect();
        Ok(())
    }

    fn finish_tls(&self) -> Result<(), ConfigError> {
        match (&self.seen.tls_service_key, &self.seen.tls_service_pem) {
            (Some(at), None) => Err(ConfigError::invalid(
                at,
                "tls-service-key",
                "tls-service-pem is not set: DoT needs both the key and the certificate",
            )),
            (None, Some(at)) => Err(ConfigError::invalid(
                at,
                "tls-service-pem",
                "tls-service-key is not set: DoT needs both the key and the certificate",
            )),
            _ => Ok(()),
        }
    }

    fn finish_ttls(&self) -> Result<(), ConfigError> {
        let server = &self.config.server;
        if server.cache_min_ttl > server.cache_max_ttl {
            let (at, key) = match (&self.seen.cache_min_ttl, &self.seen.cache_max_ttl) {
                (Some(at), _) => (Some(at), "cache-min-ttl"),
                (None, at) => (at.as_ref(), "cache-max-ttl"),
            };
            return Err(whole_file_error(
                at,
                key,
                format!(
                    "cache-min-ttl ({}) is greater than cache-max-ttl ({})",
                    server.cache_min_ttl, server.cache_max_ttl
                ),
            ));
        }
        Ok(())
    }

    fn finish_zones(&mut self) -> Result<(), ConfigError> {
        let mut names: HashMap<Name, (&'static str, Location)> = HashMap::new();
        for (kind, drafts) in [("forward-zone", &self.forward), ("stub-zone", &self.stub)] {
            for draft in drafts {
                let Some((name, at)) = &draft.name else {
                    return Err(ConfigError::invalid(
                        &draft.header,
                        kind,
                        "clause has no name:",
                    ));
                };
                if draft.addrs.is_empty() && draft.hosts.is_empty() {
                    let servers = if kind == "forward-zone" {
                        "forward-addr or forward-host"
                    } else {
                        "stub-addr or stub-host"
                    };
                    return Err(ConfigError::invalid(
                        &draft.header,
                        kind,
                        format!("zone {name} has no {servers}"),
                    ));
                }
                if let Some((other_kind, other_at)) = names.get(name) {
                    return Err(ConfigError::invalid(
                        at,
                        "name",
                        format!("zone {name} is already a {other_kind} at {other_at}"),
                    ));
                }
                names.insert(name.clone(), (kind, at.clone()));
            }
        }
        let upstreams = |draft: &ZoneDraft| -> Vec<UpstreamAddr> {
            let default_port = if draft.tls_upstream {
                DOT_PORT
            } else {
                DNS_PORT
            };
            draft
                .addrs
                .iter()
                .map(|(ip, port, tls_name)| UpstreamAddr {
                    addr: SocketAddr::new(*ip, port.unwrap_or(default_port)),
                    tls_name: tls_name.clone(),
                })
                .collect()
        };
        for draft in &self.forward {
            let Some((name, _)) = &draft.name else {
                continue;
            };
            self.config.forward_zones.push(ForwardZone {
                name: name.clone(),
                addrs: upstreams(draft),
                hosts: draft.hosts.clone(),
                first: draft.first,
                tls_upstream: draft.tls_upstream,
            });
        }
        for draft in &self.stub {
            let Some((name, _)) = &draft.name else {
                continue;
            };
            self.config.stub_zones.push(StubZone {
                name: name.clone(),
                addrs: upstreams(draft),
                hosts: draft.hosts.clone(),
                first: draft.first,
                prime: draft.prime,
            });
        }
        Ok(())
    }

    /// Keeps `modules` and `cachedb` consistent: `Module::Cachedb` is in `modules`
    /// exactly when `cachedb` is `Some`.
    fn finish_cachedb(&mut self) -> Result<(), ConfigError> {
        let module = self.config.modules.contains(&Module::Cachedb);
        match self.cachedb.take() {
            Some(mut draft) => {
                if draft.backend.is_none() {
                    return Err(ConfigError::invalid(
                        &draft.header,
                        "cachedb",
                        "no backend: given (Unbound's default is its in-memory testframe backend); \
                         write `backend: \"redis\"`",
                    ));
                }
                if let (Some((_, at)), None) = (&draft.sentinel_master, &draft.first_sentinel) {
                    self.warnings.push(ConfigWarning {
                        location: at.clone(),
                        key: "redis-sentinel-master".to_string(),
                        message: "no redis-sentinel: endpoint is given, so this key has no effect"
                            .to_string(),
                    });
                }
                draft.config.topology = draft_topology(&mut draft)?;
                if module {
                    self.config.cachedb = Some(draft.config);
                } else {
                    self.warnings.push(ConfigWarning {
                        location: draft.header,
                        key: "cachedb".to_string(),
                        message: "module-config does not list cachedb, so this clause has no effect \
                                  (as in Unbound); write module-config: \"cachedb iterator\" to use Redis"
                            .to_string(),
                    });
                }
            }
            None if module => {
                self.config.modules.retain(|m| *m != Module::Cachedb);
                if let Some(at) = self.seen.module_config.clone() {
                    self.warnings.push(ConfigWarning {
                        location: at,
                        key: "module-config".to_string(),
                        message:
                            "cachedb is listed but there is no cachedb: clause, so there is no \
                                  shared cache (Unbound would use its testframe backend)"
                                .to_string(),
                    });
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Relative file names resolve against `directory:` (Unbound chdirs there) or the
    /// config file's directory.
    fn finish_paths(&mut self) {
        let base = self.base_dir.clone();
        let resolve = |path: &mut Option<PathBuf>| {
            if let Some(p) = path {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        };
        let server = &mut self.config.server;
        resolve(&mut server.root_hints);
        resolve(&mut server.tls_service_key);
        resolve(&mut server.tls_service_pem);
        resolve(&mut server.tls_cert_bundle);
        if let Some(cachedb) = &mut self.config.cachedb {
            resolve(&mut cachedb.path);
        }
    }
}

fn whole_file_error(at: Option<&Location>, key: &str, why: impl Into<String>) -> ConfigError {
    ConfigError {
        location: at.cloned(),
        key: key.to_string(),
        kind: ConfigErrorKind::Invalid(why.into()),
    }
}

/// Whether the directive's value is the harmless one (`no`, `0`, `""`).
fn matches_harmless(d: &Directive, ok: &str) -> bool {
    let value = d.args.join(" ");
    value.eq_ignore_ascii_case(ok)
}

// ---- server: -------------------------------------------------------------------

fn verbosity(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    // Unbound takes any number; levels above 5 log like 5.
    b.server().verbosity = u32_of(d)?.min(5) as u8;
    Ok(())
}

fn qname_minimisation(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().qname_minimisation = yes_no(d)?;
    Ok(())
}

fn qname_minimisation_strict(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().qname_minimisation_strict = yes_no(d)?;
    Ok(())
}

fn num_threads(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let n = usize_of(d)?;
    b.server().num_threads =
        NonZeroUsize::new(n).ok_or_else(|| invalid(d, "num-threads must be at least 1"))?;
    b.seen.num_threads = Some(d.location.clone());
    Ok(())
}

fn port(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().port = parse_port(one(d)?).map_err(|e| invalid(d, e))?;
    Ok(())
}

fn incoming_num_tcp(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().incoming_num_tcp = usize_of(d)?;
    Ok(())
}

fn do_ip4(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().do_ip4 = yes_no(d)?;
    b.seen.do_ip4 = Some(d.location.clone());
    Ok(())
}

fn do_ip6(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().do_ip6 = yes_no(d)?;
    b.seen.do_ip6 = Some(d.location.clone());
    Ok(())
}

fn do_udp(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().do_udp = yes_no(d)?;
    b.seen.do_udp = Some(d.location.clone());
    Ok(())
}

fn do_tcp(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().do_tcp = yes_no(d)?;
    b.seen.do_tcp = Some(d.location.clone());
    Ok(())
}

fn tcp_idle_timeout(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let value = parse_millis(one(d)?).map_err(|e| invalid(d, e))?;
    // configparser.y clamps to 1..=120000 ms.
    let clamped = value.clamp(Duration::from_millis(1), Duration::from_millis(120_000));
    if clamped != value {
        b.warn(
            d,
            format!(
                "clamped to {} ms (Unbound's range is 1 to 120000 ms)",
                clamped.as_millis()
            ),
        );
    }
    b.server().tcp_idle_timeout = clamped;
    Ok(())
}

fn tcp_connection_limit(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let (net, limit) = two(d)?;
    let written = parse_ip_net(net).map_err(|e| invalid(d, e))?;
    let net = written.trunc();
    // configparser.y: "positive number expected" for a negative limit.
    let limit: u32 = limit.parse().map_err(|_| {
        invalid(
            d,
            format!("limit `{limit}`: a non-negative number expected"),
        )
    })?;
    let limits = &mut b.server().tcp_connection_limits;
    if limits.iter().any(|(seen, _)| *seen == net) {
        // tcl_list_insert: "duplicate tcl address ignored", the first applies.
        b.warn(
            d,
            format!("duplicate limit for {net}: the first one applies (as in Unbound)"),
        );
        return Ok(());
    }
    limits.push((net, limit));
    Ok(())
}

fn tls_service_key(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let path = path_of(d)?;
    b.seen.tls_service_key = path.is_some().then(|| d.location.clone());
    b.server().tls_service_key = path;
    Ok(())
}

fn tls_service_pem(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let path = path_of(d)?;
    b.seen.tls_service_pem = path.is_some().then(|| d.location.clone());
    b.server().tls_service_pem = path;
    Ok(())
}

fn tls_cert_bundle(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().tls_cert_bundle = path_of(d)?;
    Ok(())
}

fn tls_port(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().tls_port = parse_port(one(d)?).map_err(|e| invalid(d, e))?;
    Ok(())
}

fn interface(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let text = one(d)?;
    let (addr, port) = match text.rsplit_once('@') {
        Some((addr, port)) => (addr, Some(parse_port(port).map_err(|e| invalid(d, e))?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| {
        let name_like = addr.chars().any(|c| c.is_ascii_alphabetic())
            && addr.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-');
        if name_like {
            unsupported_error(
                d,
                format!(
                    "interface names such as `{addr}` are not supported; give an address (0.0.0.0 or :: for all)"
                ),
            )
        } else {
            invalid(d, format!("expected an IP address, optionally with @port, found `{text}`"))
        }
    })?;
    b.interfaces
        .push((ListenAddr { ip, port }, d.location.clone()));
    Ok(())
}

fn interface_automatic(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().interface_automatic = yes_no(d)?;
    Ok(())
}

/// `interface-automatic-ports: "53 853"`: port numbers separated by spaces
/// (listen_dnsport.c: each 0..=65535, anything else is an error).
fn interface_automatic_ports(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let text = one(d)?;
    let ports = text
        .split_whitespace()
        .map(|word| {
            word.parse::<u16>().map_err(|_| {
                invalid(
                    d,
                    format!("expected port numbers separated by spaces such as \"53 853\", found `{word}`"),
                )
            })
        })
        .collect::<Result<Vec<u16>, ConfigError>>()?;
    b.server().interface_automatic_ports = ports;
    Ok(())
}

fn so_reuseport(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().so_reuseport = yes_no(d)?;
    Ok(())
}

fn directory(_: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    // The lexer already follows it for includes and reports the final base directory.
    one(d).map(|_| ())
}

fn root_hints(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().root_hints = path_of(d)?;
    Ok(())
}

/// `edns-buffer-size`/`max-udp-size`: at least 12 (a header), clamped to 65535, as configparser.y.
fn udp_size(b: &mut Builder, d: &Directive) -> Result<u16, ConfigError> {
    let n = u32_of(d)?;
    if n < 12 {
        return Err(invalid(d, format!("{n} is too small: at least 12 bytes")));
    }
    if n > 65535 {
        b.warn(d, "clamped to 65535");
    }
    Ok(n.min(65535) as u16)
}

fn edns_buffer_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().edns_buffer_size = udp_size(b, d)?;
    Ok(())
}

fn max_udp_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().max_udp_size = udp_size(b, d)?;
    Ok(())
}

fn answer_cookie(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().cookies.answer = yes_no(d)?;
    Ok(())
}

/// `cookie-secret: "<128 bit hex>"`, as Unbound's parser wants it.
fn cookie_secret(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let secret = crate::cookie::parse_secret(one(d)?)
        .ok_or_else(|| invalid(d, "expected 128 bit hex string"))?;
    b.server().cookies.secret = Some(secret);
    Ok(())
}

/// `cookie-secret-file:` read now, as Unbound reads it at start (a missing or
/// corrupt file is fatal there); a reload reads it again, which is how a
/// rolled secret takes effect.
fn cookie_secret_file(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let Some(path) = path_of(d)? else {
        b.server().cookies.file_secrets = None;
        return Ok(());
    };
    let path = if path.is_relative() {
        b.base_dir.join(path)
    } else {
        path
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| invalid(d, format!("could not read {}: {e}", path.display())))?;
    let secrets = crate::cookie::parse_secret_file(&text)
        .map_err(|e| invalid(d, format!("{}: {e}", path.display())))?;
    b.server().cookies.file_secrets = Some(secrets);
    Ok(())
}

fn msg_cache_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().msg_cache_size = size_of(d)?;
    Ok(())
}

fn rrset_cache_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().rrset_cache_size = size_of(d)?;
    Ok(())
}

fn cache_max_ttl(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().cache_max_ttl = u32_of(d)?;
    b.seen.cache_max_ttl = Some(d.location.clone());
    Ok(())
}

fn cache_max_negative_ttl(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().cache_max_negative_ttl = u32_of(d)?;
    Ok(())
}

fn cache_min_ttl(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().cache_min_ttl = u32_of(d)?;
    b.seen.cache_min_ttl = Some(d.location.clone());
    Ok(())
}

fn infra_host_ttl(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().infra_host_ttl = parse_seconds(one(d)?).map_err(|e| invalid(d, e))?;
    Ok(())
}

fn infra_cache_numhosts(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let n = usize_of(d)?;
    if n == 0 {
        return Err(invalid(d, "must be at least 1"));
    }
    b.server().infra_cache_numhosts = n;
    Ok(())
}

fn num_queries_per_thread(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let n = usize_of(d)?;
    if n == 0 {
        return Err(invalid(d, "must be at least 1"));
    }
    b.server().num_queries_per_thread = n;
    Ok(())
}

fn jostle_timeout(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    // configparser.y: a number of milliseconds ("number expected" otherwise).
    b.server().jostle_timeout = parse_millis(one(d)?).map_err(|e| invalid(d, e))?;
    Ok(())
}

fn target_fetch_policy(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let text = one(d)?;
    let levels: Vec<i64> = text
        .split_whitespace()
        .map(|n| n.parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            invalid(
                d,
                format!("expected numbers such as \"3 2 1 0 0\", found `{text}`"),
            )
        })?;
    if levels.is_empty() {
        return Err(invalid(
            d,
            "expected at least one number, such as \"3 2 1 0 0\"",
        ));
    }
    // iter_utils.c read_fetch_policy: max_dependency_depth = count - 1.
    let depth = u32::try_from(levels.len() - 1).map_err(|_| invalid(d, "too many levels"))?;
    b.server().limits.max_ns_depth = depth;
    if levels != [3, 2, 1, 0, 0] {
        b.warn(
            d,
            format!(
                "only the number of levels is used (at most {depth} nested name-server address lookups); \
                 name-server addresses are fetched on demand"
            ),
        );
    }
    Ok(())
}

fn harden_glue(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().harden_glue = yes_no(d)?;
    Ok(())
}

/// `private-address: <IP or netblock>` (iter_priv.c read_addrs: netblockstrtoaddr,
/// which masks host bits; a duplicate is ignored).
fn private_address(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let written = parse_ip_net(one(d)?).map_err(|e| invalid(d, e))?;
    let net = written.trunc();
    if net != written {
        b.warn(
            d,
            format!("{written} has host bits set; {net} is treated as private"),
        );
    }
    if !b.server().private_address.contains(&net) {
        b.server().private_address.push(net);
    }
    Ok(())
}

/// `harden-referral-path: yes|no`.
fn harden_referral_path(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().harden_referral_path = yes_no(d)?;
    Ok(())
}

/// `use-caps-for-id: yes|no`.
fn use_caps_for_id(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().use_caps_for_id = yes_no(d)?;
    Ok(())
}

/// `caps-exempt: <name>` and its older spelling `caps-whitelist:` (Unbound
/// keeps both in one list): 0x20 is not used at or below the name.
fn caps_exempt(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let name = name_of(d, one(d)?)?;
    if !b.server().caps_exempt.contains(&name) {
        b.server().caps_exempt.push(name);
    }
    Ok(())
}

/// `private-domain: <name>`: the name and everything below it may hold private addresses.
fn private_domain(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let name = name_of(d, one(d)?)?;
    if !b.server().private_domain.contains(&name) {
        b.server().private_domain.push(name);
    }
    Ok(())
}

fn prefetch(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().prefetch = yes_no(d)?;
    Ok(())
}

/// `do-not-query-address: <IP or netblock>` (iterator/iter_donotq.c): servers at
/// these addresses are never asked; host bits are masked as Unbound's
/// netblockstrtoaddr does.
fn do_not_query_address(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let written = parse_ip_net(one(d)?).map_err(|e| invalid(d, e))?;
    let net = written.trunc();
    if net != written {
        b.warn(
            d,
            format!("{written} has host bits set; {net} is never queried"),
        );
    }
    if !b.server().do_not_query_address.contains(&net) {
        b.server().do_not_query_address.push(net);
    }
    Ok(())
}

fn do_not_query_localhost(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().do_not_query_localhost = yes_no(d)?;
    Ok(())
}

fn serve_expired(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().serve_expired = yes_no(d)?;
    Ok(())
}

fn serve_expired_ttl(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().serve_expired_ttl = u32_of(d)?;
    Ok(())
}

fn serve_expired_reply_ttl(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().serve_expired_reply_ttl = u32_of(d)?;
    Ok(())
}

fn serve_expired_client_timeout(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().serve_expired_client_timeout = parse_millis(one(d)?).map_err(|e| invalid(d, e))?;
    Ok(())
}

fn max_query_restarts(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.server().limits.max_cname_chain = u32_of(d)?;
    Ok(())
}

fn max_global_quota(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let n = u32_of(d)?;
    if n == 0 {
        return Err(invalid(d, "must be at least 1: no query could be sent"));
    }
    b.server().limits.max_upstream_queries = n;
    Ok(())
}

fn unblock_lan_zones(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.unblock_lan_zones = yes_no(d)?;
    Ok(())
}

fn access_control(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let (net, action) = two(d)?;
    let written = parse_ip_net(net).map_err(|e| invalid(d, e))?;
    let net = written.trunc();
    if net != written {
        b.warn(
            d,
            format!("{written} has host bits set; the rule applies to {net}"),
        );
    }
    let action = match action {
        "allow" => AccessAction::Allow,
        "allow_snoop" => AccessAction::AllowSnoop,
        "deny" => AccessAction::Deny,
        "refuse" => AccessAction::Refuse,
        "deny_non_local" => AccessAction::DenyNonLocal,
        "refuse_non_local" => AccessAction::RefuseNonLocal,
        "allow_cookie" => AccessAction::AllowCookie,
        "allow_setrd" => {
            return Err(unsupported_error(
                d,
                format!(
                    "action {action} is not implemented; use allow, allow_snoop, allow_cookie, \
                     deny, refuse, deny_non_local or refuse_non_local"
                ),
            ))
        }
        other => {
            return Err(invalid(
                d,
                format!(
                    "unknown action `{other}`; expected allow, allow_snoop, allow_cookie, deny, \
                     refuse, deny_non_local or refuse_non_local"
                ),
            ))
        }
    };
    if let Some(first) = b.access_seen.get(&net) {
        // acl_list_insert keeps the first rule for a netblock ("duplicate acl address ignored").
        let message =
            format!("duplicate rule for {net}: the one at {first} applies (as in Unbound)");
        b.warn(d, message);
        return Ok(());
    }
    b.access_seen.insert(net, d.location.clone());
    b.config.access_control.push(AccessRule { net, action });
    Ok(())
}

fn module_config(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let text = one(d)?;
    let mut modules = Vec::new();
    for word in text.split_whitespace() {
        let module = match word {
            "iterator" => Module::Iterator,
            "validator" => Module::Validator,
            "cachedb" => Module::Cachedb,
            "respip" | "dns64" | "python" | "dynlib" | "subnetcache" | "ipsecmod" | "ipset" => {
                return Err(unsupported_error(
                    d,
                    format!(
                        "module {word} is not implemented; available: validator, cachedb, iterator"
                    ),
                ))
            }
            other => {
                return Err(invalid(
                    d,
                    format!("unknown module `{other}`; expected validator, cachedb, iterator"),
                ))
            }
        };
        if modules.contains(&module) {
            return Err(invalid(d, format!("module {word} is listed twice")));
        }
        modules.push(module);
    }
    if modules.last() != Some(&Module::Iterator) {
        return Err(invalid(
            d,
            format!("`{text}`: iterator must be the last module, e.g. \"cachedb iterator\""),
        ));
    }
    b.config.modules = modules;
    b.seen.module_config = Some(d.location.clone());
    Ok(())
}

fn trust_anchor_file(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    add_anchor_file(b, d, AnchorSource::File)
}

fn auto_trust_anchor_file(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    add_anchor_file(b, d, AnchorSource::AutoFile)
}

fn add_anchor_file(
    b: &mut Builder,
    d: &Directive,
    kind: fn(PathBuf) -> AnchorSource,
) -> Result<(), ConfigError> {
    let Some(path) = path_of(d)? else {
        // Unbound accepts an empty name and reads nothing.
        return Ok(());
    };
    let path = if path.is_relative() {
        b.base_dir.join(path)
    } else {
        path
    };
    b.config.validation.anchors.push(AnchorConfig {
        source: kind(path),
        location: Some(d.location.clone()),
    });
    Ok(())
}

/// `trust-anchor: "<owner> DS|DNSKEY ..."`: read now, so a typo names this line.
fn trust_anchor(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let text = d.args.join(" ");
    match crate::validator::anchor::parse_anchor_text(&text) {
        Ok(lines) if !lines.is_empty() => {}
        Ok(_) => return Err(invalid(d, "expected a DS or DNSKEY record")),
        Err(e) => return Err(invalid(d, e.reason)),
    }
    b.config.validation.anchors.push(AnchorConfig {
        source: AnchorSource::Inline(text),
        location: Some(d.location.clone()),
    });
    Ok(())
}

fn root_key_sentinel(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.root_key_sentinel = yes_no(d)?;
    Ok(())
}

fn domain_insecure(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let name = name_of(d, one(d)?)?;
    if !b.config.validation.domain_insecure.contains(&name) {
        b.config.validation.domain_insecure.push(name);
    }
    Ok(())
}

/// `val-override-date`: `YYYYMMDDHHMMSS` or seconds since the epoch; 0 or "" = now.
fn val_override_date(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let text = one(d)?;
    b.config.validation.override_date = match text {
        "" | "0" => None,
        digits if digits.len() == 14 && digits.bytes().all(|c| c.is_ascii_digit()) => Some(
            parse_rrsig_date(digits)
                .ok_or_else(|| invalid(d, format!("`{text}` is not a valid date")))?,
        ),
        other => Some(other.parse::<u32>().map_err(|_| {
            invalid(
                d,
                format!("`{other}`: expected YYYYMMDDHHMMSS or seconds since 1970"),
            )
        })?),
    };
    Ok(())
}

/// Seconds since the epoch of a `YYYYMMDDHHMMSS` UTC date (RFC 4034 §3.2).
fn parse_rrsig_date(digits: &str) -> Option<u32> {
    let field = |range: std::ops::Range<usize>| digits.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1970..=2106).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u32::try_from(days * 86400 + hour * 3600 + minute * 60 + second).ok()
}

fn val_sig_skew_min(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.sig_skew_min = u32_of(d)?;
    Ok(())
}

fn val_sig_skew_max(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.sig_skew_max = u32_of(d)?;
    Ok(())
}

fn val_bogus_ttl(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.bogus_ttl = u32_of(d)?;
    Ok(())
}

fn val_clean_additional(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.clean_additional = yes_no(d)?;
    Ok(())
}

fn val_permissive_mode(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.permissive = yes_no(d)?;
    Ok(())
}

fn val_log_level(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let level = u32_of(d)?;
    b.config.validation.log_level = u8::try_from(level.min(2)).unwrap_or(2);
    Ok(())
}

/// `val-nsec3-keysize-iterations: "<keysize> <iterations> ..."`: NSEC3
/// iterations above the largest listed make a denial insecure.
fn val_nsec3_keysize_iterations(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let words: Vec<&str> = d.args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.is_empty() || words.len() % 2 != 0 {
        return Err(invalid(
            d,
            "expected pairs of key size and iterations, e.g. \"1024 150\"",
        ));
    }
    let mut max = 0u16;
    for pair in words.chunks(2) {
        let parse = |w: &str| {
            w.parse::<u16>()
                .map_err(|_| invalid(d, format!("`{w}` is not a number")))
        };
        parse(pair[0])?;
        max = max.max(parse(pair[1])?);
    }
    b.config.validation.nsec3_max_iterations = max;
    Ok(())
}

fn ignore_cd_flag(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.ignore_cd_flag = yes_no(d)?;
    Ok(())
}

fn key_cache_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.key_cache_size = size_of(d)?;
    Ok(())
}

fn harden_dnssec_stripped(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.harden_dnssec_stripped = yes_no(d)?;
    Ok(())
}

fn aggressive_nsec(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.aggressive_nsec = yes_no(d)?;
    Ok(())
}

fn neg_cache_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.neg_cache_size = size_of(d)?;
    Ok(())
}

fn harden_below_nxdomain(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.harden_below_nxdomain = yes_no(d)?;
    Ok(())
}

fn harden_algo_downgrade(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.harden_algo_downgrade = yes_no(d)?;
    Ok(())
}

fn add_holddown(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.autotrust.add_holddown = Duration::from_secs(u64::from(u32_of(d)?));
    Ok(())
}

fn del_holddown(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.autotrust.del_holddown = Duration::from_secs(u64::from(u32_of(d)?));
    Ok(())
}

fn keep_missing(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.autotrust.keep_missing = Duration::from_secs(u64::from(u32_of(d)?));
    Ok(())
}

fn permit_small_holddown(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    b.config.validation.autotrust.permit_small_holddown = yes_no(d)?;
    Ok(())
}

fn local_zone(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let (name, kind) = two(d)?;
    let name = name_of(d, name)?;
    let kind = match kind {
        "nodefault" => {
            if !b.config.nodefault.contains(&name) {
                b.config.nodefault.push(name);
            }
            return Ok(());
        }
        "static" => LocalZoneType::Static,
        "refuse" => LocalZoneType::Refuse,
        "deny" => LocalZoneType::Deny,
        "redirect" => LocalZoneType::Redirect,
        "transparent" => LocalZoneType::Transparent,
        "typetransparent" => LocalZoneType::TypeTransparent,
        "always_nxdomain" => LocalZoneType::AlwaysNxdomain,
        "always_refuse" => LocalZoneType::AlwaysRefuse,
        "always_transparent" => LocalZoneType::AlwaysTransparent,
        "always_nodata" => LocalZoneType::AlwaysNodata,
        "always_deny" => LocalZoneType::AlwaysDeny,
        "inform" => LocalZoneType::Inform,
        "inform_deny" => LocalZoneType::InformDeny,
        "inform_redirect" | "block_a" | "always_null" | "noview" | "ipset" => {
            return Err(unsupported_error(d, format!("local-zone type {kind} is not implemented")))
        }
        other => {
            return Err(invalid(
                d,
                format!(
                    "unknown local-zone type `{other}`; expected static, deny, refuse, redirect, transparent, \
                     typetransparent, inform, inform_deny, always_transparent, always_refuse, always_nxdomain, \
                     always_nodata, always_deny or nodefault"
                ),
            ))
        }
    };
    if let Some(first) = b.local_zone_seen.get(&name) {
        // localzone.c lz_enter_zone: "duplicate local-zone", the first one stays.
        let message =
            format!("duplicate local-zone {name}: the one at {first} applies (as in Unbound)");
        b.warn(d, message);
        return Ok(());
    }
    b.local_zone_seen.insert(name.clone(), d.location.clone());
    b.config.local_zones.push(LocalZone { name, kind });
    Ok(())
}

fn local_data(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let records = parse_rr(d, one(d)?)?;
    b.config.local_data.extend(records);
    Ok(())
}

fn local_data_ptr(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    // config_file.c cfg_ptr_reverse: "IP [between stuff] name" -> "reversed-IP. [between stuff] PTR name".
    let text = one(d)?;
    let words: Vec<&str> = text.split_whitespace().collect();
    let [ip, middle @ .., name] = words.as_slice() else {
        return Err(invalid(d, format!("expected \"IP name\", found `{text}`")));
    };
    let ip: IpAddr = ip.parse().map_err(|_| {
        invalid(
            d,
            format!("expected an IP address before the name, found `{ip}`"),
        )
    })?;
    let rr = format!("{} {} PTR {}", reverse_name(ip), middle.join(" "), name);
    let records = parse_rr(d, &rr)?;
    b.config.local_data.extend(records);
    Ok(())
}

/// `192.0.2.1` → `1.2.0.192.in-addr.arpa.`; IPv6 → the nibble form under `ip6.arpa.`.
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa.")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            out.push_str("ip6.arpa.");
            out
        }
    }
}

/// Records in zone-file text, relative names under the root and a default TTL of
/// 3600 (Unbound's localzone.c), parsed by hickory's zone parser.
fn parse_rr(d: &Directive, text: &str) -> Result<Vec<Record>, ConfigError> {
    let text = text.trim();
    if text.starts_with('$') {
        return Err(invalid(
            d,
            "zone-file directives ($ORIGIN, $INCLUDE, $TTL) are not allowed here",
        ));
    }
    if text.is_empty() {
        return Err(invalid(d, "empty record"));
    }
    let zone = format!("$TTL {LOCAL_DATA_DEFAULT_TTL}\n{text}\n");
    let (_, sets) = Parser::new(zone, None, Some(Name::root()))
        .parse()
        .map_err(|e| invalid(d, format!("cannot parse record `{text}`: {e}")))?;
    let records: Vec<Record> = sets
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .collect();
    if records.is_empty() {
        return Err(invalid(d, format!("no record in `{text}`")));
    }
    Ok(records)
}

// ---- forward-zone: / stub-zone: ----------------------------------------------------

fn zone_name(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let name = name_of(d, one(d)?)?;
    let zone = b.zone(d)?;
    if let Some((first, at)) = &zone.name {
        return Err(invalid(d, format!("zone already named {first} at {at}")));
    }
    zone.name = Some((name, d.location.clone()));
    Ok(())
}

/// `IP[@port][#tls-auth-name]` (Unbound's authextstrtoaddr); the port stays `None`
/// when not written, so the zone's TLS setting can pick 53 or 853 at the end.
fn upstream_addr(d: &Directive) -> Result<(IpAddr, Option<u16>, Option<String>), ConfigError> {
    let text = one(d)?;
    let (addr, tls_name) = match text.split_once('#') {
        Some((addr, name)) if !name.is_empty() => (addr, Some(name.to_string())),
        Some(_) => return Err(invalid(d, format!("empty TLS name after `#` in `{text}`"))),
        None => (text, None),
    };
    let (ip, port) = match addr.rsplit_once('@') {
        Some((ip, port)) => (ip, Some(parse_port(port).map_err(|e| invalid(d, e))?)),
        None => (addr, None),
    };
    let ip: IpAddr = ip.parse().map_err(|_| {
        invalid(
            d,
            format!("expected IP[@port][#tls-name] such as 10.0.0.2 or 1.1.1.1@853#cloudflare-dns.com, found `{text}`"),
        )
    })?;
    Ok((ip, port, tls_name))
}

/// `name[@port][#tls-auth-name]`.
fn upstream_host(d: &Directive) -> Result<UpstreamHost, ConfigError> {
    let text = one(d)?;
    let (host, tls_name) = match text.split_once('#') {
        Some((host, name)) if !name.is_empty() => (host, Some(name.to_string())),
        Some(_) => return Err(invalid(d, format!("empty TLS name after `#` in `{text}`"))),
        None => (text, None),
    };
    let (host, port) = match host.rsplit_once('@') {
        Some((host, port)) => (host, Some(parse_port(port).map_err(|e| invalid(d, e))?)),
        None => (host, None),
    };
    Ok(UpstreamHost {
        name: name_of(d, host)?,
        port,
        tls_name,
    })
}

fn forward_addr(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let addr = upstream_addr(d)?;
    b.zone(d)?.addrs.push(addr);
    Ok(())
}

fn forward_host(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let host = upstream_host(d)?;
    b.zone(d)?.hosts.push(host);
    Ok(())
}

fn forward_first(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let first = yes_no(d)?;
    b.zone(d)?.first = first;
    Ok(())
}

fn forward_tls_upstream(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let tls = yes_no(d)?;
    b.zone(d)?.tls_upstream = tls;
    Ok(())
}

fn stub_addr(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    forward_addr(b, d)
}

fn stub_host(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    forward_host(b, d)
}

fn stub_first(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    forward_first(b, d)
}

fn stub_prime(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let prime = yes_no(d)?;
    b.zone(d)?.prime = prime;
    Ok(())
}

// ---- cachedb: ------------------------------------------------------------------

fn cachedb_backend(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let backend = one(d)?;
    if backend != "redis" {
        return Err(unsupported_error(
            d,
            format!("backend `{backend}` is not implemented; only redis is"),
        ));
    }
    let draft = b.cachedb_draft(d)?;
    if let Some(first) = &draft.backend {
        // configparser.y: "cachedb backend override, there must be one backend".
        return Err(invalid(
            d,
            format!("backend already set at {first}; there must be one backend"),
        ));
    }
    draft.backend = Some(d.location.clone());
    draft.config.backend = backend.to_string();
    Ok(())
}

fn cachedb_secret_seed(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let seed = one(d)?.to_string();
    let draft = b.cachedb_draft(d)?;
    if let Some(first) = &draft.secret_seed {
        // configparser.y: "cachedb secret-seed override, there must be only one secret".
        return Err(invalid(
            d,
            format!("secret-seed already set at {first}; there must be only one"),
        ));
    }
    draft.secret_seed = Some(d.location.clone());
    draft.config.secret_seed = seed;
    Ok(())
}

fn redis_server_host(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let host = one(d)?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(invalid(
            d,
            format!("expected a host name or address, found `{host}`"),
        ));
    }
    b.cachedb_draft(d)?.config.host = host.to_string();
    Ok(())
}

fn redis_server_port(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let port = parse_port(one(d)?).map_err(|e| invalid(d, e))?;
    b.cachedb_draft(d)?.config.port = port;
    Ok(())
}

fn redis_server_path(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let path = path_of(d)?;
    b.cachedb_draft(d)?.config.path = path;
    Ok(())
}

fn redis_server_password(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let password = one(d)?;
    b.cachedb_draft(d)?.config.password = (!password.is_empty()).then(|| password.to_string());
    Ok(())
}

fn redis_timeout(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let timeout = parse_millis(one(d)?).map_err(|e| invalid(d, e))?;
    if timeout.is_zero() {
        return Err(invalid(d, "must be at least 1 ms"));
    }
    b.cachedb_draft(d)?.config.timeout = timeout;
    Ok(())
}

fn redis_expire_records(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let expire = yes_no(d)?;
    b.cachedb_draft(d)?.config.expire_records = expire;
    Ok(())
}

fn cachedb_no_store(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let no_store = yes_no(d)?;
    b.cachedb_draft(d)?.config.no_store = no_store;
    Ok(())
}

fn redis_sentinel(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let endpoint = host_port(d, 26379)?;
    let draft = b.cachedb_draft(d)?;
    draft
        .first_sentinel
        .get_or_insert_with(|| d.location.clone());
    draft.sentinels.push(endpoint);
    Ok(())
}

fn redis_sentinel_master(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let name = one(d)?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(invalid(
            d,
            format!("expected a master name, found `{name}`"),
        ));
    }
    b.cachedb_draft(d)?.sentinel_master = Some((name.to_string(), d.location.clone()));
    Ok(())
}

fn redis_cluster_node(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let endpoint = host_port(d, 6379)?;
    let draft = b.cachedb_draft(d)?;
    draft
        .first_cluster_node
        .get_or_insert_with(|| d.location.clone());
    draft.cluster_nodes.push(endpoint);
    Ok(())
}

/// `host`, `host:port`, `[v6]:port` or a bare IPv6 address, with `default_port`.
fn host_port(d: &Directive, default_port: u16) -> Result<(String, u16), ConfigError> {
    let text = one(d)?;
    let bad = || invalid(d, format!("expected host:port, found `{text}`"));
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else if text.matches(':').count() > 1 {
        (text, None)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    let port = match port {
        Some(port) => parse_port(port).map_err(|e| invalid(d, e))?,
        None => default_port,
    };
    Ok((host.to_string(), port))
}

/// The Redis topology a finished `cachedb:` clause describes.
fn draft_topology(draft: &mut CachedbDraft) -> Result<RedisTopology, ConfigError> {
    match (&draft.first_sentinel, &draft.first_cluster_node) {
        (Some(_), Some(cluster)) => Err(ConfigError::invalid(
            cluster,
            "redis-cluster-node",
            "redis-sentinel is also given; use one of Sentinel or Cluster",
        )),
        (Some(_), None) => Ok(RedisTopology::Sentinel {
            sentinels: std::mem::take(&mut draft.sentinels),
            master: draft
                .sentinel_master
                .take()
                .map_or_else(|| "mymaster".to_string(), |(name, _)| name),
        }),
        (None, Some(_)) => {
            if draft.config.logical_db != 0 {
                return Err(ConfigError::invalid(
                    &draft.header,
                    "redis-logical-db",
                    "Redis Cluster has only database 0",
                ));
            }
            Ok(RedisTopology::Cluster {
                nodes: std::mem::take(&mut draft.cluster_nodes),
            })
        }
        (None, None) => Ok(RedisTopology::Single),
    }
}

fn redis_logical_db(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    let db = u32_of(d)?;
    b.cachedb_draft(d)?.config.logical_db = db;
    Ok(())
}
