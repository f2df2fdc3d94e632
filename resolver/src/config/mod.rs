//! Runtime configuration of the resolver: typed values, invalid states unwritable.
//!
//! `unbound.rs` lexes unbound.conf (following `include:`) into located directives;
//! `apply.rs` maps each known directive onto this [`Config`] (unknown → error naming
//! file, line and key; harmless → named warning); `default.rs` is the embedded
//! configuration `cargo run -p resolver` uses when no file is given.

pub mod default;
pub mod unbound;

mod apply;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::config::{ConfigError, ConfigWarning, Location};
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
    /// DNSSEC validation settings (active when `validator` is in `modules` and
    /// at least one trust anchor is configured, as in Unbound).
    pub validation: ValidationConfig,
    /// Named warnings for accepted-but-ignored keys, to log at start.
    pub warnings: Vec<ConfigWarning>,
}

/// DNS cookies for clients (RFC 7873, RFC 9018): whether to answer them and
/// with which secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CookieConfig {
    /// `answer-cookie:` (Unbound: no).
    pub answer: bool,
    /// `cookie-secret:` the secret; None = 128 random bits at start.
    pub secret: Option<crate::cookie::Secret>,
    /// `cookie-secret-file:` the secrets read from it when the config was
    /// loaded (active first, then staging); when set, `cookie-secret` is ignored.
    pub file_secrets: Option<Vec<crate::cookie::Secret>>,
}

/// Secrets stay out of logs: only whether they are set.
impl fmt::Debug for CookieConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieConfig")
            .field("answer", &self.answer)
            .field("secret", &self.secret.is_some())
            .field("file_secrets", &self.file_secrets.as_ref().map(Vec::len))
            .finish()
    }
}

impl CookieConfig {
    /// The secrets to use, as Unbound picks them: the file's, else
    /// `cookie-secret`, else a random one (a new one each time this is called).
    pub fn secrets(&self) -> Vec<crate::cookie::Secret> {
        match (&self.file_secrets, self.secret) {
            (Some(secrets), _) => secrets.clone(),
            (None, Some(secret)) => vec![secret],
            (None, None) => vec![crate::cookie::random_secret()],
        }
    }
}

/// The `server:` clause.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `interface:` addresses; a port given as `addr@port` overrides `port`.
    pub interfaces: Vec<ListenAddr>,
    /// `interface-automatic:` listen on `0.0.0.0` and `::` (instead of
    /// `interfaces`) and answer UDP from the address each query was sent to.
    pub interface_automatic: bool,
    /// `interface-automatic-ports:` the ports interface-automatic listens on;
    /// empty means `port`.
    pub interface_automatic_ports: Vec<u16>,
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
    /// `harden-referral-path:` fetch each referral's NS set from the child's
    /// own servers and cache only that, not the referral (Unbound's default: no).
    pub harden_referral_path: bool,
    /// `use-caps-for-id:` random case of the query name's letters on each
    /// upstream query (0x20), checked in the reply (a blind spoofer must guess it).
    pub use_caps_for_id: bool,
    /// `caps-exempt:` (alias `caps-whitelist:`) names at and below which 0x20
    /// is not used (servers known not to echo case).
    pub caps_exempt: Vec<Name>,
    /// `do-not-query-localhost:` refuse to send queries to 127/8 and ::1.
    pub do_not_query_localhost: bool,
    /// `do-not-query-address:` servers in these netblocks are never asked.
    pub do_not_query_address: Vec<IpNet>,
    /// `edns-buffer-size:` advertised upstream and the cap for client replies (Unbound: 1232).
    pub edns_buffer_size: u16,
    /// DNS cookies answered to clients (`answer-cookie:` and its secrets).
    pub cookies: CookieConfig,
    /// `num-queries-per-thread:` request list size per worker.
    pub num_queries_per_thread: usize,
    /// `jostle-timeout:` when the request list is full, a new query may replace
    /// the oldest jostle-able one (the second half of the list) that has run
    /// longer than this, so slow or silent servers cannot hold the list.
    pub jostle_timeout: Duration,
    /// `incoming-num-tcp:` TCP connections per worker.
    pub incoming_num_tcp: usize,
    /// `tcp-idle-timeout:` for client TCP connections.
    pub tcp_idle_timeout: Duration,
    /// `tcp-connection-limit:` connections each netblock may hold at once.
    pub tcp_connection_limits: Vec<(IpNet, u32)>,
    /// `tls-service-key:` PEM private key for DoT.
    pub tls_service_key: Option<PathBuf>,
    /// `tls-service-pem:` PEM certificate chain for DoT.
    pub tls_service_pem: Option<PathBuf>,
    /// `tls-cert-bundle:` CA bundle for verifying DoT upstreams; None = the system store.
    pub tls_cert_bundle: Option<PathBuf>,
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
    /// `infra-cache-numhosts:` servers the infra cache remembers at most.
    pub infra_cache_numhosts: usize,
    /// Limits on the work one client query may cause.
    pub limits: WorkLimits,
    /// `ratelimit*`: queries sent per zone (delegation point) per second.
    pub ratelimit: crate::ratelimit::ZoneLimitConfig,
    /// `ip-ratelimit*`: queries accepted per client address per second.
    pub ip_ratelimit: crate::ratelimit::IpLimitConfig,
    /// `private-address:` netblocks removed from upstream A/AAAA answers.
    pub private_address: Vec<IpNet>,
    /// `private-domain:` names (and their subdomains) allowed to hold private addresses.
    pub private_domain: Vec<Name>,
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
    /// As allow, but UDP queries need a valid DNS cookie (RFC 7873): a client
    /// cookie alone or a bad one gets BADCOOKIE with a fresh cookie, none gets
    /// REFUSED with TC (retry over TCP); stream transports are served.
    AllowCookie,
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
    /// `validator`: DNSSEC validation against the configured trust anchors.
    Validator,
    /// `cachedb`: the shared Redis cache.
    Cachedb,
    /// `iterator`: recursion.
    Iterator,
}

/// Where a trust anchor comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorSource {
    /// `trust-anchor-file:` DS or DNSKEY records in zone-file format.
    File(PathBuf),
    /// `auto-trust-anchor-file:` the same, tracked by RFC 5011 and written back.
    AutoFile(PathBuf),
    /// `trust-anchor:` one record inline.
    Inline(String),
    /// The IANA root anchors built in (the embedded default).
    IanaRoot,
}

/// One configured trust anchor source, with where the config named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorConfig {
    /// What to read.
    pub source: AnchorSource,
    /// The line that configured it (None for the embedded default).
    pub location: Option<Location>,
}

/// DNSSEC validation settings: Unbound's trust-anchor and `val-*` keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationConfig {
    /// Trust anchors in file order; they are read at start (like root hints),
    /// see [`ValidationConfig::load_anchors`].
    pub anchors: Vec<AnchorConfig>,
    /// `domain-insecure:` names below which nothing is validated (negative trust anchors).
    pub domain_insecure: Vec<Name>,
    /// `val-override-date:` validate as if it were this Unix time (tests); None = now.
    pub override_date: Option<u32>,
    /// `val-bogus-ttl:` seconds a bogus answer is remembered.
    pub bogus_ttl: u32,
    /// `val-permissive-mode:` bogus answers are served (without AD) instead of SERVFAIL.
    pub permissive: bool,
    /// `val-clean-additional:` drop unsigned additional records from secure answers.
    pub clean_additional: bool,
    /// `val-log-level:` 1 logs one line per bogus answer (name, type, reason).
    pub log_level: u8,
    /// `root-key-sentinel:` answer RFC 8509 sentinel names by the root's
    /// trust anchors (Unbound's default: yes).
    pub root_key_sentinel: bool,
    /// `ignore-cd-flag:` validate even when the client sets CD.
    pub ignore_cd_flag: bool,
    /// `harden-dnssec-stripped:` a signed zone's data without signatures is bogus
    /// (no: it is treated as insecure).
    pub harden_dnssec_stripped: bool,
    /// `key-cache-size:` bytes for validated DNSKEY sets and zone statuses.
    pub key_cache_size: u64,
    /// `aggressive-nsec:` denials are synthesized from validated NSEC records
    /// kept from earlier answers (RFC 8198), so a flood of random names under
    /// a signed zone is answered without asking it (Unbound 1.15+: yes).
    pub aggressive_nsec: bool,
    /// `neg-cache-size:` bytes for the NSEC records kept for `aggressive-nsec`.
    pub neg_cache_size: u64,
    /// `harden-below-nxdomain:` a name below a cached DNSSEC-secure NXDOMAIN
    /// is NXDOMAIN without asking (RFC 8020).
    pub harden_below_nxdomain: bool,
    /// `harden-algo-downgrade:` every supported algorithm in a zone's DS set
    /// must sign its DNSKEY set (no: one suffices, RFC 6840 §5.11).
    pub harden_algo_downgrade: bool,
    /// `val-sig-skew-min:` seconds of clock skew tolerated at least.
    pub sig_skew_min: u32,
    /// `val-sig-skew-max:` seconds of clock skew tolerated at most.
    pub sig_skew_max: u32,
    /// `val-nsec3-keysize-iterations:` NSEC3 iterations above this make a denial
    /// insecure (RFC 9276 §3.2; Unbound 1.19+: 150).
    pub nsec3_max_iterations: u16,
    /// RFC 5011 timers for `auto-trust-anchor-file`.
    pub autotrust: AutotrustTimers,
}

/// RFC 5011 timers (`add-holddown`, `del-holddown`, `keep-missing`,
/// `permit-small-holddown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutotrustTimers {
    /// A new key becomes trusted after being seen this long (RFC 5011 §2.4.1: 30 days).
    pub add_holddown: Duration,
    /// A revoked key is removed after this long.
    pub del_holddown: Duration,
    /// A missing key is forgotten after this long (0 = never).
    pub keep_missing: Duration,
    /// Allow hold-downs shorter than the DNSKEY TTL (testing).
    pub permit_small_holddown: bool,
}

impl Default for AutotrustTimers {
    fn default() -> Self {
        Self {
            add_holddown: Duration::from_secs(30 * 86400),
            del_holddown: Duration::from_secs(30 * 86400),
            keep_missing: Duration::from_secs(366 * 86400),
            permit_small_holddown: false,
        }
    }
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            anchors: Vec::new(),
            domain_insecure: Vec::new(),
            override_date: None,
            bogus_ttl: 60,
            permissive: false,
            clean_additional: true,
            log_level: 0,
            ignore_cd_flag: false,
            root_key_sentinel: true,
            harden_dnssec_stripped: true,
            key_cache_size: 4 * 1024 * 1024,
            aggressive_nsec: true,
            neg_cache_size: 1024 * 1024,
            harden_below_nxdomain: true,
            harden_algo_downgrade: false,
            sig_skew_min: 3600,
            sig_skew_max: 86400,
            nsec3_max_iterations: 150,
            autotrust: AutotrustTimers::default(),
        }
    }
}

impl ValidationConfig {
    /// Reads every anchor source: files are read here, at start (a missing or
    /// broken file is an error naming the config line and the anchor file's line).
    pub fn load_anchors(&self) -> Result<crate::validator::anchor::AnchorSet, ConfigError> {
        use crate::validator::anchor::{parse_anchor_text, AnchorSet};
        let mut set = AnchorSet::default();
        for anchor in &self.anchors {
            let key = match &anchor.source {
                AnchorSource::File(_) => "trust-anchor-file",
                AnchorSource::AutoFile(_) => "auto-trust-anchor-file",
                AnchorSource::Inline(_) => "trust-anchor",
                AnchorSource::IanaRoot => "trust-anchor",
            };
            let fail = |why: String| ConfigError {
                location: anchor.location.clone(),
                key: key.to_string(),
                kind: common::config::ConfigErrorKind::Invalid(why),
            };
            let (text, origin) = match &anchor.source {
                AnchorSource::File(path) | AnchorSource::AutoFile(path) => (
                    std::fs::read_to_string(path)
                        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?,
                    path.display().to_string(),
                ),
                AnchorSource::Inline(text) => (text.clone(), "trust-anchor".to_string()),
                AnchorSource::IanaRoot => (
                    crate::validator::anchor::ROOT_ANCHORS.to_string(),
                    "built-in".to_string(),
                ),
            };
            let lines = parse_anchor_text(&text).map_err(|e| fail(format!("{origin}: {e}")))?;
            if lines.is_empty() {
                return Err(fail(format!("{origin}: no DS or DNSKEY record")));
            }
            for line in lines {
                set.add(line);
            }
        }
        Ok(set)
    }

    /// The auto-trust-anchor files (RFC 5011 tracked, written back when writable).
    pub fn auto_files(&self) -> impl Iterator<Item = &Path> {
        self.anchors.iter().filter_map(|a| match &a.source {
            AnchorSource::AutoFile(path) => Some(path.as_path()),
            _ => None,
        })
    }
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
    /// `cachedb-no-store: yes`: read from Redis, never write to it.
    pub no_store: bool,
    /// Where Redis is: one server (Unbound's keys), or ours for Redis' own HA.
    pub topology: RedisTopology,
}

/// How the resolver reaches Redis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RedisTopology {
    /// One server: `redis-server-host`/`-port` or `redis-server-path`.
    #[default]
    Single,
    /// Redis Sentinel (`redis-sentinel:` repeated, `redis-sentinel-master:`):
    /// the current master is asked of the sentinels, and asked again after a failover.
    Sentinel {
        /// Sentinel endpoints (host, port).
        sentinels: Vec<(String, u16)>,
        /// The monitored master's name.
        master: String,
    },
    /// Redis Cluster (`redis-cluster-node:` repeated): keys spread over its slots.
    Cluster {
        /// Seed nodes (host, port); the rest of the cluster is discovered.
        nodes: Vec<(String, u16)>,
    },
}

impl Config {
    /// Reads an unbound.conf file (and its includes) into a validated config.
    ///
    /// Errors name `file:line: key:`; warnings for accepted-but-ignored keys are in
    /// [`Config::warnings`], to log at start.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let parsed = unbound::parse_file(path)?;
        apply::build(parsed, Some(path.to_path_buf()))
    }

    /// Parses `text` as if it were the file `path` (includes and relative file names
    /// resolve against `path`'s directory). For tests and tools.
    pub fn parse_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let parsed = unbound::parse_text(text, path)?;
        apply::build(parsed, Some(path.to_path_buf()))
    }

    /// Whether DoT is served: both `tls-service-key` and `tls-service-pem` are set
    /// and TCP is enabled.
    pub fn dot_enabled(&self) -> bool {
        let server = &self.server;
        server.tls_service_key.is_some() && server.tls_service_pem.is_some() && server.do_tcp
    }

    /// The sockets to bind: `(udp, tcp, tls)`.
    ///
    /// Each `interface:` listens on its `@port`, else `port:`. As in Unbound
    /// (config_file.c `if_is_ssl`), an interface whose port equals `tls-port` serves
    /// DoT only, and only when the TLS key and certificate are set; otherwise it serves
    /// plain DNS on UDP (`do-udp`) and TCP (`do-tcp`). Addresses of a family turned
    /// off by `do-ip4`/`do-ip6` are left out.
    ///
    /// With `interface-automatic: yes` (and `do-udp`), `interface:` lines are
    /// ignored and `::` and `0.0.0.0` are bound on each `interface-automatic-ports`
    /// port, else on `port:`, as Unbound's listen_dnsport.c `listening_ports_open`
    /// does.
    pub fn listen_addrs(&self) -> (Vec<SocketAddr>, Vec<SocketAddr>, Vec<SocketAddr>) {
        let server = &self.server;
        let dot = self.dot_enabled();
        let (mut udp, mut tcp, mut tls) = (Vec::new(), Vec::new(), Vec::new());
        let automatic: Vec<ListenAddr>;
        let interfaces = if self.interface_automatic() {
            let ports = if server.interface_automatic_ports.is_empty() {
                vec![server.port]
            } else {
                server.interface_automatic_ports.clone()
            };
            automatic = ports
                .iter()
                .flat_map(|&port| {
                    [
                        IpAddr::from(Ipv6Addr::UNSPECIFIED),
                        IpAddr::from(Ipv4Addr::UNSPECIFIED),
                    ]
                    .map(|ip| ListenAddr {
                        ip,
                        port: Some(port),
                    })
                })
                .collect();
            &automatic
        } else {
            &server.interfaces
        };
        for interface in interfaces {
            let family_on = match interface.ip {
                IpAddr::V4(_) => server.do_ip4,
                IpAddr::V6(_) => server.do_ip6,
            };
            if !family_on {
                continue;
            }
            let port = interface.port.unwrap_or(server.port);
            let addr = SocketAddr::new(interface.ip, port);
            if dot && port == server.tls_port {
                push_unique(&mut tls, addr);
                continue;
            }
            if server.do_udp {
                push_unique(&mut udp, addr);
            }
            if server.do_tcp {
                push_unique(&mut tcp, addr);
            }
        }
        (udp, tcp, tls)
    }

    /// What `--check-config` says about DNSSEC: whether validation is on and
    /// with which trust anchors (the anchor files are read, so a broken one
    /// is reported here as it would be at start).
    pub fn validation_summary(&self) -> Result<String, ConfigError> {
        if !self.modules.contains(&Module::Validator) {
            return Ok("DNSSEC validation: off (no validator in module-config)".to_string());
        }
        let anchors = self.validation.load_anchors()?;
        if anchors.is_empty() {
            return Ok("DNSSEC validation: off (no trust anchor configured)".to_string());
        }
        let mut out = format!("DNSSEC validation: on; trust anchors: {anchors}");
        let auto: Vec<String> = self
            .validation
            .auto_files()
            .map(|p| p.display().to_string())
            .collect();
        if !auto.is_empty() {
            let _ = write!(out, "; RFC 5011 tracked: {}", auto.join(", "));
        }
        if !self.validation.domain_insecure.is_empty() {
            let names: Vec<String> = self
                .validation
                .domain_insecure
                .iter()
                .map(Name::to_string)
                .collect();
            let _ = write!(out, "; domain-insecure: {}", names.join(", "));
        }
        if self.validation.permissive {
            out.push_str("; val-permissive-mode: bogus answers are served");
        }
        Ok(out)
    }

    /// Whether interface-automatic is in effect (Unbound: only with `do-udp`).
    pub fn interface_automatic(&self) -> bool {
        self.server.interface_automatic && self.server.do_udp
    }

    /// One screen describing the effective configuration, for `--check-config`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; the results are ignored on purpose.
        let _ = self.write_summary(&mut out);
        out
    }

    fn write_summary(&self, out: &mut String) -> fmt::Result {
        const LIST_MAX: usize = 8;
        let server = &self.server;
        match &self.source {
            Some(path) => writeln!(out, "config: {}", path.display())?,
            None => writeln!(out, "config: embedded default (no file)")?,
        }
        let (udp, tcp, tls) = self.listen_addrs();
        writeln!(
            out,
            "listen udp: {}{}",
            join_or_none(&udp),
            if self.interface_automatic() {
                " (interface-automatic: replies leave from each query's destination address)"
            } else {
                ""
            }
        )?;
        writeln!(out, "listen tcp: {}", join_or_none(&tcp))?;
        match (&server.tls_service_pem, &server.tls_service_key) {
            (Some(pem), Some(key)) => writeln!(
                out,
                "listen dot: {} (cert {}, key {})",
                join_or_none(&tls),
                pem.display(),
                key.display()
            )?,
            _ => writeln!(out, "listen dot: off (no tls-service-key/pem)")?,
        }
        writeln!(
            out,
            "threads: {} (so-reuseport {}), {} queries and {} TCP connections per thread, TCP idle {} ms",
            server.num_threads,
            yes_no(server.so_reuseport),
            server.num_queries_per_thread,
            server.incoming_num_tcp,
            server.tcp_idle_timeout.as_millis()
        )?;
        writeln!(
            out,
            "cache: msg {}, rrset {}; ttl min {} s, max {} s, negative max {} s; prefetch {}",
            human_size(server.msg_cache_size),
            human_size(server.rrset_cache_size),
            server.cache_min_ttl,
            server.cache_max_ttl,
            server.cache_max_negative_ttl,
            yes_no(server.prefetch)
        )?;
        if server.serve_expired {
            writeln!(
                out,
                "serve-expired: yes, up to {} s past expiry, reply TTL {} s, client timeout {} ms",
                server.serve_expired_ttl,
                server.serve_expired_reply_ttl,
                server.serve_expired_client_timeout.as_millis()
            )?;
        } else {
            writeln!(out, "serve-expired: no")?;
        }
        let zone = &server.ratelimit;
        if zone.qps > 0 {
            writeln!(
                out,
                "ratelimit: {} queries/s sent per zone at most ({} overrides), factor {}, backoff {}",
                zone.qps,
                zone.for_domain.len() + zone.below_domain.len(),
                zone.factor,
                yes_no(zone.backoff)
            )?;
        }
        let ip = &server.ip_ratelimit;
        if ip.qps > 0 {
            writeln!(
                out,
                "ip-ratelimit: {} queries/s per client address, factor {}, backoff {}",
                ip.qps,
                ip.factor,
                yes_no(ip.backoff)
            )?;
        }
        let modules: Vec<&str> = self.modules.iter().map(|m| m.as_str()).collect();
        writeln!(
            out,
            "modules: {}; qname-minimisation {}{}; harden-glue {}; do-not-query-localhost {}",
            modules.join(" "),
            yes_no(server.qname_minimisation),
            if server.qname_minimisation_strict {
                " (strict)"
            } else {
                ""
            },
            yes_no(server.harden_glue),
            yes_no(server.do_not_query_localhost)
        )?;
        if !server.private_address.is_empty() {
            let nets: Vec<String> = server
                .private_address
                .iter()
                .map(ToString::to_string)
                .collect();
            let domains: Vec<String> = server
                .private_domain
                .iter()
                .map(ToString::to_string)
                .collect();
            writeln!(
                out,
                "private-address (stripped from upstream answers): {}; private-domain: {}",
                nets.join(" "),
                if domains.is_empty() {
                    "none".to_string()
                } else {
                    domains.join(" ")
                }
            )?;
        }
        let limits = &server.limits;
        writeln!(
            out,
            "root hints: {}; limits: {} referrals, {} CNAMEs, NS depth {}, {} upstream queries, {} s",
            server
                .root_hints
                .as_ref()
                .map_or_else(|| "built-in".to_string(), |p| p.display().to_string()),
            limits.max_referrals,
            limits.max_cname_chain,
            limits.max_ns_depth,
            limits.max_upstream_queries,
            limits.resolution_timeout.as_secs_f64()
        )?;
        writeln!(
            out,
            "edns-buffer-size {}, max-udp-size {}, infra-host-ttl {} s, verbosity {}",
            server.edns_buffer_size,
            server.max_udp_size,
            server.infra_host_ttl.as_secs(),
            server.verbosity
        )?;
        let rules: Vec<String> = self
            .access_control
            .iter()
            .take(LIST_MAX)
            .map(|r| format!("{} {}", r.net, r.action))
            .collect();
        writeln!(
            out,
            "access-control: {} rule(s){}{}",
            self.access_control.len(),
            if rules.is_empty() { "" } else { ": " },
            with_more(rules, self.access_control.len())
        )?;
        let zones: Vec<String> = self
            .local_zones
            .iter()
            .take(LIST_MAX)
            .map(|z| format!("{} {}", z.name, z.kind))
            .collect();
        writeln!(
            out,
            "local zones: {}{}{}; local data: {} record(s); nodefault: {}",
            self.local_zones.len(),
            if zones.is_empty() { "" } else { ": " },
            with_more(zones, self.local_zones.len()),
            self.local_data.len(),
            self.nodefault.len()
        )?;
        if self.forward_zones.is_empty() {
            writeln!(out, "forward zones: none")?;
        }
        for zone in &self.forward_zones {
            let upstreams: Vec<String> = zone
                .addrs
                .iter()
                .map(ToString::to_string)
                .chain(zone.hosts.iter().map(ToString::to_string))
                .collect();
            writeln!(
                out,
                "forward zone {} -> {} (first {}, tls {})",
                zone.name,
                upstreams.join(", "),
                yes_no(zone.first),
                yes_no(zone.tls_upstream)
            )?;
        }
        if self.stub_zones.is_empty() {
            writeln!(out, "stub zones: none")?;
        }
        for zone in &self.stub_zones {
            let servers: Vec<String> = zone
                .addrs
                .iter()
                .map(ToString::to_string)
                .chain(zone.hosts.iter().map(ToString::to_string))
                .collect();
            writeln!(
                out,
                "stub zone {} -> {} (first {}, prime {})",
                zone.name,
                servers.join(", "),
                yes_no(zone.first),
                yes_no(zone.prime)
            )?;
        }
        match &self.cachedb {
            Some(db) => {
                let target = match &db.path {
                    Some(path) => format!("unix:{}", path.display()),
                    None => format!("{}:{}", db.host, db.port),
                };
                let target = match &db.topology {
                    RedisTopology::Single => target,
                    RedisTopology::Sentinel { sentinels, master } => {
                        format!("sentinel master {master} via {}", join_endpoints(sentinels))
                    }
                    RedisTopology::Cluster { nodes } => {
                        format!("cluster via {}", join_endpoints(nodes))
                    }
                };
                writeln!(
                    out,
                    "cachedb: {} {} db {}, timeout {} ms, expire-records {}, no-store {}, password {}",
                    db.backend,
                    target,
                    db.logical_db,
                    db.timeout.as_millis(),
                    yes_no(db.expire_records),
                    yes_no(db.no_store),
                    if db.password.is_some() { "set" } else { "none" }
                )?;
            }
            None => writeln!(out, "cachedb: off (in-memory cache only)")?,
        }
        writeln!(out, "warnings: {}", self.warnings.len())?;
        for warning in &self.warnings {
            writeln!(out, "  {warning}")?;
        }
        Ok(())
    }
}

fn push_unique(list: &mut Vec<SocketAddr>, addr: SocketAddr) {
    if !list.contains(&addr) {
        list.push(addr);
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn join_or_none(addrs: &[SocketAddr]) -> String {
    if addrs.is_empty() {
        return "none".to_string();
    }
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_more(shown: Vec<String>, total: usize) -> String {
    let more = total.saturating_sub(shown.len());
    let mut text = shown.join(", ");
    if more > 0 {
        let _ = write!(text, ", and {more} more");
    }
    text
}

fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    const KIB: u64 = 1 << 10;
    if bytes >= MIB && bytes & (MIB - 1) == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes & (KIB - 1) == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

impl AccessAction {
    /// The action as unbound.conf writes it (`allow`, `refuse_non_local`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AccessAction::Allow => "allow",
            AccessAction::AllowSnoop => "allow_snoop",
            AccessAction::Deny => "deny",
            AccessAction::Refuse => "refuse",
            AccessAction::DenyNonLocal => "deny_non_local",
            AccessAction::RefuseNonLocal => "refuse_non_local",
            AccessAction::AllowCookie => "allow_cookie",
        }
    }
}

impl fmt::Display for AccessAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl LocalZoneType {
    /// The type as unbound.conf writes it (`static`, `always_nxdomain`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LocalZoneType::Static => "static",
            LocalZoneType::Refuse => "refuse",
            LocalZoneType::Deny => "deny",
            LocalZoneType::Redirect => "redirect",
            LocalZoneType::Transparent => "transparent",
            LocalZoneType::TypeTransparent => "typetransparent",
            LocalZoneType::AlwaysNxdomain => "always_nxdomain",
            LocalZoneType::AlwaysRefuse => "always_refuse",
            LocalZoneType::AlwaysTransparent => "always_transparent",
            LocalZoneType::AlwaysNodata => "always_nodata",
            LocalZoneType::AlwaysDeny => "always_deny",
            LocalZoneType::Inform => "inform",
            LocalZoneType::InformDeny => "inform_deny",
        }
    }
}

impl fmt::Display for LocalZoneType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Module {
    /// The module as `module-config:` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Module::Validator => "validator",
            Module::Cachedb => "cachedb",
            Module::Iterator => "iterator",
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ListenAddr {
    /// `addr` or `addr@port`, as `interface:` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}@{port}", self.ip),
            None => write!(f, "{}", self.ip),
        }
    }
}

impl fmt::Display for UpstreamAddr {
    /// `addr:port` with `#tls-name` when set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if let Some(name) = &self.tls_name {
            write!(f, "#{name}")?;
        }
        Ok(())
    }
}

impl fmt::Display for UpstreamHost {
    /// `name[@port][#tls-name]`, as `forward-host:` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(port) = self.port {
            write!(f, "@{port}")?;
        }
        if let Some(name) = &self.tls_name {
            write!(f, "#{name}")?;
        }
        Ok(())
    }
}

/// `host:port, host:port` for the config summary.
fn join_endpoints(endpoints: &[(String, u16)]) -> String {
    endpoints
        .iter()
        .map(|(host, port)| format!("{host}:{port}"))
        .collect::<Vec<_>>()
        .join(", ")
}
