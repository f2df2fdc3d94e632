//! Runtime configuration of the resolver: typed values, invalid states unwritable.
//!
//! `unbound.rs` lexes unbound.conf (following `include:`) into located directives;
//! `apply.rs` maps each known directive onto this [`Config`] (unknown → error naming
//! file, line and key; harmless → named warning); `default.rs` is the embedded
//! configuration `cargo run -p resolver` uses when no file is given.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use common::config::ConfigWarning;
use hickory_proto::rr::{Name, Record};
use ipnet::IpNet;

/// Everything the resolver needs to run, after validation.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file the config was read from; `None` for the embedded default.
    pub source: Option<PathBuf>,
    /// The `server:` clause.
    pub server: ServerConfig,
    /// `access-control:` rules in file order (the defaults are added by the ACL).
    pub access_control: Vec<AccessRule>,
    /// `local-zone:` entries in file order.
    pub local_zones: Vec<LocalZone>,
    /// `local-data:` records in file order.
    pub local_data: Vec<Record>,
    /// `local-zone: <name> nodefault` names: built-in default zones to drop.
    pub nodefault: Vec<Name>,
    /// `forward-zone:` clauses.
    pub forward_zones: Vec<ForwardZone>,
    /// `stub-zone:` clauses.
    pub stub_zones: Vec<StubZone>,
    /// `module-config:` modules in order.
    pub modules: Vec<Module>,
    /// `cachedb:` clause, when present.
    pub cachedb: Option<CachedbConfig>,
    /// Named warnings for accepted-but-ignored keys, to log at start.
    pub warnings: Vec<ConfigWarning>,
}

/// The `server:` clause.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `interface:` addresses; a port given as `addr@port` overrides `port`.
    pub interfaces: Vec<ListenAddr>,
    /// `port:` for interfaces that name none (Unbound: 53).
    pub port: u16,
    /// `num-threads:` worker threads, one UDP socket each.
    pub num_threads: NonZeroUsize,
    /// `do-ip4:`.
    pub do_ip4: bool,
    /// `do-ip6:`.
    pub do_ip6: bool,
    /// `do-udp:`.
    pub do_udp: bool,
    /// `do-tcp:`.
    pub do_tcp: bool,
    /// `root-hints:` file; `None` uses the built-in IANA hints.
    pub root_hints: Option<PathBuf>,
    /// `msg-cache-size:` in bytes.
    pub msg_cache_size: u64,
    /// `rrset-cache-size:` in bytes.
    pub rrset_cache_size: u64,
    /// `cache-min-ttl:` seconds.
    pub cache_min_ttl: u32,
    /// `cache-max-ttl:` seconds.
    pub cache_max_ttl: u32,
    /// `cache-max-negative-ttl:` seconds.
    pub cache_max_negative_ttl: u32,
    /// `prefetch:` refresh popular entries before they expire.
    pub prefetch: bool,
    /// `serve-expired:` answer from expired entries (RFC 8767).
    pub serve_expired: bool,
    /// `serve-expired-ttl:` how long past expiry an entry may be served; 0 = no limit.
    pub serve_expired_ttl: u32,
    /// `serve-expired-reply-ttl:` TTL put on expired answers (Unbound: 30).
    pub serve_expired_reply_ttl: u32,
    /// `serve-expired-client-timeout:` try to resolve this long before serving expired; 0 = serve at once.
    pub serve_expired_client_timeout: Duration,
    /// `qname-minimisation:` (RFC 9156).
    pub qname_minimisation: bool,
    /// `qname-minimisation-strict:` no fallback to the full name on NXDOMAIN.
    pub qname_minimisation_strict: bool,
    /// `harden-glue:` drop out-of-bailiwick glue.
    pub harden_glue: bool,
    /// `do-not-query-localhost:` refuse to send queries to 127/8 and ::1.
    pub do_not_query_localhost: bool,
    /// `edns-buffer-size:` advertised upstream and the cap for client replies (Unbound: 1232).
    pub edns_buffer_size: u16,
    /// `num-queries-per-thread:` request list size per worker.
    pub num_queries_per_thread: usize,
    /// `incoming-num-tcp:` TCP connections per worker.
    pub incoming_num_tcp: usize,
    /// `tcp-idle-timeout:` for client TCP connections.
    pub tcp_idle_timeout: Duration,
    /// `tls-service-key:` PEM private key for DoT.
    pub tls_service_key: Option<PathBuf>,
    /// `tls-service-pem:` PEM certificate chain for DoT.
    pub tls_service_pem: Option<PathBuf>,
    /// `tls-port:` interfaces with this port serve DoT (Unbound: 853).
    pub tls_port: u16,
    /// `so-reuseport:` one UDP socket per worker sharing the port.
    pub so_reuseport: bool,
    /// `verbosity:` 0..=5, mapped onto the tracing level when RUST_LOG is unset.
    pub verbosity: u8,
    /// `max-udp-size:` cap on UDP replies whatever the client advertises.
    pub max_udp_size: u16,
    /// `infra-host-ttl:` how long per-server RTT and lameness are remembered.
    pub infra_host_ttl: Duration,
    /// Limits on the work one client query may cause.
    pub limits: WorkLimits,
}

/// One `interface:` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenAddr {
    /// The address to bind.
    pub ip: IpAddr,
    /// `@port` suffix, if written.
    pub port: Option<u16>,
}

/// Per-query work limits (Unbound's `max-*` and hard-coded iterator limits).
#[derive(Clone, Copy, Debug)]
pub struct WorkLimits {
    /// Referrals followed for one name before giving up (Unbound: MAX_REFERRAL_COUNT 130).
    pub max_referrals: u32,
    /// CNAME/DNAME links followed (Unbound: MAX_RESTART_COUNT 11).
    pub max_cname_chain: u32,
    /// Nested NS-address lookups (glue-less delegations) (Unbound: MAX_TARGET_NX / depth).
    pub max_ns_depth: u32,
    /// Upstream queries sent for one client query in total.
    pub max_upstream_queries: u32,
    /// Wall-clock budget for one resolution.
    pub resolution_timeout: Duration,
}

/// What `access-control:` does for a netblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessAction {
    /// Serve recursion.
    Allow,
    /// Serve recursion and also cache snooping (RD=0).
    AllowSnoop,
    /// Drop silently.
    Deny,
    /// Answer REFUSED.
    Refuse,
    /// Drop unless the query is for local data.
    DenyNonLocal,
    /// REFUSED unless the query is for local data.
    RefuseNonLocal,
}

/// One `access-control: <netblock> <action>` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessRule {
    /// The netblock.
    pub net: IpNet,
    /// The action.
    pub action: AccessAction,
}

/// Unbound's local-zone types we implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalZoneType {
    /// Answer from local data; NXDOMAIN/NODATA otherwise.
    Static,
    /// REFUSED unless local data matches.
    Refuse,
    /// Drop unless local data matches.
    Deny,
    /// Local data at the apex answers every name below it.
    Redirect,
    /// Local data if it matches, else resolve normally.
    Transparent,
    /// Like transparent, but a local name without the asked type resolves normally.
    TypeTransparent,
    /// NXDOMAIN for every name, even with local data.
    AlwaysNxdomain,
    /// REFUSED for every name, even with local data.
    AlwaysRefuse,
    /// Resolve normally, even with local data.
    AlwaysTransparent,
    /// NODATA for every name.
    AlwaysNodata,
    /// Drop every query.
    AlwaysDeny,
    /// Like transparent, and logs the client.
    Inform,
    /// Like deny, and logs the client.
    InformDeny,
}

/// One `local-zone: <name> <type>` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalZone {
    /// The zone apex.
    pub name: Name,
    /// What to do for names in it.
    pub kind: LocalZoneType,
}

/// A `forward-zone:` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardZone {
    /// `name:` the zone forwarded ("." forwards everything).
    pub name: Name,
    /// `forward-addr:` upstreams.
    pub addrs: Vec<UpstreamAddr>,
    /// `forward-host:` upstream names, resolved by the resolver itself.
    pub hosts: Vec<UpstreamHost>,
    /// `forward-first:` on failure, fall back to normal recursion.
    pub first: bool,
    /// `forward-tls-upstream:` talk DoT to the upstreams.
    pub tls_upstream: bool,
}

/// A `stub-zone:` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StubZone {
    /// `name:` the zone.
    pub name: Name,
    /// `stub-addr:` authoritative servers.
    pub addrs: Vec<UpstreamAddr>,
    /// `stub-host:` authoritative server names.
    pub hosts: Vec<UpstreamHost>,
    /// `stub-first:` on failure, fall back to normal recursion.
    pub first: bool,
    /// `stub-prime:` ask the stub for the zone's NS set first.
    pub prime: bool,
}

/// `IP[@port][#tls-auth-name]` as forward-addr and stub-addr write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamAddr {
    /// Address and port (53, or 853 with TLS, when not written).
    pub addr: SocketAddr,
    /// `#name` for TLS certificate verification.
    pub tls_name: Option<String>,
}

/// `name[@port][#tls-auth-name]` as forward-host and stub-host write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamHost {
    /// The host name to resolve.
    pub name: Name,
    /// Port, when written.
    pub port: Option<u16>,
    /// `#name` for TLS certificate verification.
    pub tls_name: Option<String>,
}

/// `module-config:` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// `validator` (accepted with a warning: DNSSEC validation is not implemented).
    Validator,
    /// `cachedb`: the shared Redis cache.
    Cachedb,
    /// `iterator`: recursion.
    Iterator,
}

/// The `cachedb:` clause (Redis shared cache).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedbConfig {
    /// `backend:` only "redis" is supported.
    pub backend: String,
    /// `redis-server-host:`.
    pub host: String,
    /// `redis-server-port:`.
    pub port: u16,
    /// `redis-server-path:` unix socket, overrides host/port.
    pub path: Option<PathBuf>,
    /// `redis-server-password:`.
    pub password: Option<String>,
    /// `redis-timeout:` per operation.
    pub timeout: Duration,
    /// `redis-expire-records:` set EX on stored entries.
    pub expire_records: bool,
    /// `redis-logical-db:`.
    pub logical_db: u32,
    /// `secret-seed:` mixed into every key hash (Unbound: "default").
    pub secret_seed: String,
}
