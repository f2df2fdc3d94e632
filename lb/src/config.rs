//! The lb's configuration: a TOML file (documented in the README), or the
//! quick-start command line `lb --listen ADDR:PORT BACKEND:PORT...`.
//!
//! Every error names the file, the line and the key. Unknown keys are errors
//! (a misspelt key silently ignored is a production outage waiting to happen).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::config::{ConfigError, ConfigErrorKind, Location};
use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

pub use crate::cache::CacheConfig;
use crate::cache::Prefetch;
use crate::nodelocal::iface::{Interface, LinkKind};
use crate::nodelocal::rules::{Backend as FirewallBackend, FallbackChains, Firewall, Ruleset};
pub use crate::nodelocal::NodeLocalConfig;
pub use crate::ratelimit::{Excess, RateLimitConfig};

/// The default DNS port.
const DNS_PORT: u16 = 53;
/// The default DoT port.
const DOT_PORT: u16 = 853;

/// How queries are spread over the backends that are up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The backend with the fewest queries in flight (dnsdist `leastOutstanding`,
    /// the seed's choice); ties go to the lowest `order`, then the lowest
    /// average response time.
    LeastOutstanding,
    /// Each backend in turn (dnsdist `roundrobin`).
    RoundRobin,
    /// At random, in proportion to `weight` (dnsdist `wrandom`).
    WeightedRandom,
    /// The lowest `order` that is up (dnsdist `firstAvailable`).
    FirstAvailable,
    /// Consistent hashing on the query name (dnsdist `chashed`): each name goes to
    /// one backend, whose cache then holds it; a backend going down moves only
    /// its own names.
    ConsistentHash,
}

impl Policy {
    /// The name used in the config file and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::LeastOutstanding => "leastOutstanding",
            Policy::RoundRobin => "roundRobin",
            Policy::WeightedRandom => "wrandom",
            Policy::FirstAvailable => "firstAvailable",
            Policy::ConsistentHash => "chashed",
        }
    }

    fn parse(name: &str) -> Option<Policy> {
        let policy = match name.to_ascii_lowercase().as_str() {
            "leastoutstanding" => Policy::LeastOutstanding,
            "roundrobin" => Policy::RoundRobin,
            "wrandom" | "weightedrandom" => Policy::WeightedRandom,
            "firstavailable" => Policy::FirstAvailable,
            "chashed" | "consistenthash" => Policy::ConsistentHash,
            _ => return None,
        };
        Some(policy)
    }
}

/// One backend resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    /// Label in logs and metrics (default: the address).
    pub name: String,
    /// Where queries go.
    pub addr: SocketAddr,
    /// Share of traffic under `wrandom` and of hash space under `chashed`.
    pub weight: u32,
    /// Preference under `firstAvailable` (lowest first) and the tie-break of
    /// `leastOutstanding`.
    pub order: u32,
    /// Node-local mode: it serves the cluster zones (over TCP), not the rest.
    pub cluster: bool,
}

/// Active health checking (dnsdist's `checkName`/`checkInterval`/`checkTimeout`,
/// `rise` and `maxCheckFailures`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// Send checks at all; without them every backend is considered up unless
    /// live traffic times out.
    pub enabled: bool,
    /// The name asked (wire format is built at start).
    pub qname: String,
    /// Its type (numeric).
    pub qtype: u16,
    /// Time between checks of one backend.
    pub interval: Duration,
    /// How long a check may take.
    pub timeout: Duration,
    /// Consecutive successes that bring a down backend up.
    pub rise: u32,
    /// Consecutive failures (checks or live-traffic timeouts) that take an up
    /// backend down.
    pub fall: u32,
    /// Passive health (dnsdist's lazy checks): a backend whose live traffic
    /// fails (SERVFAIL or timeout) this percentage of the time or more, over
    /// its last `passive_window` answers, goes down until active checks bring
    /// it back. 0 (the default, as dnsdist's lazy checks are opt-in): off.
    /// Needs active checks. Every resolver failing at once (an upstream
    /// outage) would take them all down, so pick it with care.
    pub passive_threshold: u32,
    /// Live outcomes remembered per backend (at most 128).
    pub passive_window: u32,
    /// Outcomes needed before the rate is judged.
    pub passive_min_samples: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            enabled: true,
            qname: "a.root-servers.net.".into(),
            qtype: 1,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            passive_threshold: 0,
            passive_window: 100,
            passive_min_samples: 20,
        }
    }
}

/// Backends from a DNS name (dnsdist's seed re-resolved the headless Service
/// every 10 s from Lua; this is built in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The name whose A and AAAA records are the backends.
    pub name: String,
    /// The backends' port.
    pub port: u16,
    /// How often the name is resolved again.
    pub interval: Duration,
    /// How long one lookup may take.
    pub timeout: Duration,
    /// A DNS server to ask; `None`: the system resolver (/etc/resolv.conf, as a
    /// pod's points at the cluster DNS).
    pub server: Option<SocketAddr>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (`None`: the quick-start command line).
    pub source: Option<PathBuf>,
    /// UDP listen addresses.
    pub udp: Vec<SocketAddr>,
    /// TCP listen addresses.
    pub tcp: Vec<SocketAddr>,
    /// DoT listen addresses.
    pub tls: Vec<SocketAddr>,
    /// DoT certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// DoT private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// UDP receive threads per listen address.
    pub threads: NonZeroUsize,
    /// How many TCP and DoT clients may hold connections, and for how long.
    pub tcp_limits: TcpLimits,
    /// The static backends.
    pub backends: Vec<BackendConfig>,
    /// More backends from a DNS name.
    pub discovery: Option<Discovery>,
    /// How queries are spread.
    pub policy: Policy,
    /// How long one attempt at a backend may take before the query is retried
    /// once on another backend (dnsdist `udpTimeout`).
    pub timeout: Duration,
    /// Queries in flight per backend at most (dnsdist's per-backend UDP
    /// outstanding table); past it the query goes elsewhere or is refused.
    pub max_outstanding: usize,
    /// Active checks.
    pub health: HealthConfig,
    /// Client networks allowed to query; others are dropped (dnsdist
    /// `setACL`). Default: loopback and private ranges, as dnsdist's.
    pub acl: Vec<IpNet>,
    /// /metrics, /healthz and /readyz (`--metrics-addr` wins).
    pub metrics_addr: Option<SocketAddr>,
    /// Per-client-IP rate limiting; `None`: off.
    pub rate_limit: Option<RateLimitConfig>,
    /// The packet cache; `None`: off (the default).
    pub cache: Option<CacheConfig>,
    /// Node-local mode (`[node-local]`); `None`: an ordinary lb.
    pub node_local: Option<NodeLocalConfig>,
}

/// dnsdist's default ACL: loopback, RFC 1918, RFC 6598, link-local, ULA.
pub const DEFAULT_ACL: &[&str] = &[
    "127.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "192.168.0.0/16",
    "172.16.0.0/12",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

fn default_acl() -> Vec<IpNet> {
    DEFAULT_ACL.iter().filter_map(|n| n.parse().ok()).collect()
}

/// The slow-loris defences of the TCP and DoT listeners (`[listen]`), passed
/// to the shared front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// `tcp-idle-timeout`: close a connection with no complete query this long
    /// (dnsdist `setTCPRecvTimeout`); shortened for new connections when over
    /// half the slots are in use.
    pub idle_timeout: Duration,
    /// `tcp-max-connections`: TCP plus DoT connections at once.
    pub max_connections: usize,
    /// `tcp-max-connections-per-client`: connections one address (IPv6: /64)
    /// may hold (dnsdist `setMaxTCPConnectionsPerClient`); `None`: half of
    /// `max_connections`.
    pub max_connections_per_client: Option<usize>,
    /// `tls-handshake-timeout`: how long a DoT handshake may take.
    pub tls_handshake_timeout: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            idle_timeout: Duration::from_secs(30),
            max_connections: 1000,
            max_connections_per_client: None,
            tls_handshake_timeout: Duration::from_secs(5),
        }
    }
}

fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

impl Config {
    /// The quick start: listen on `listen` (UDP and TCP) and spread over
    /// `backends` with the default policy, like `dnsdist -l ADDR BACKEND...`.
    pub fn quick_start(
        listen: &[SocketAddr],
        backends: &[SocketAddr],
    ) -> Result<Config, ConfigError> {
        if backends.is_empty() {
            return Err(ConfigError {
                location: None,
                key: "backends".into(),
                kind: ConfigErrorKind::Invalid(
                    "no backends: give BACKEND:PORT arguments or -c FILE".into(),
                ),
            });
        }
        let listen = if listen.is_empty() {
            vec![SocketAddr::from(([127, 0, 0, 1], DNS_PORT))]
        } else {
            listen.to_vec()
        };
        Ok(Config {
            source: None,
            udp: listen.clone(),
            tcp: listen,
            tls: Vec::new(),
            tls_cert: None,
            tls_key: None,
            threads: default_threads(),
            tcp_limits: TcpLimits::default(),
            backends: backends
                .iter()
                .map(|&addr| BackendConfig {
                    name: addr.to_string(),
                    addr,
                    weight: 1,
                    order: 1,
                    cluster: false,
                })
                .collect(),
            discovery: None,
            policy: Policy::LeastOutstanding,
            timeout: Duration::from_secs(1),
            max_outstanding: 65_535,
            health: HealthConfig::default(),
            acl: default_acl(),
            metrics_addr: None,
            rate_limit: None,
            cache: None,
            node_local: None,
        })
    }

    /// Reads and validates the TOML file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Validates `text` as if read from `path`: each section by its own step
    /// (`Source::listen`, `Source::backends`, ...), the checks they share
    /// (addresses, durations, ranges) in `Source`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = Source { text, path };
        let raw: RawConfig = toml::from_str(text).map_err(|e| file.toml_error(&e))?;
        let node_local = raw
            .node_local
            .as_ref()
            .map(|n| file.node_local(n))
            .transpose()?;
        let default_listen = node_local.as_ref().map(|n| {
            let addrs = n
                .interface
                .addrs
                .iter()
                .map(|ip| SocketAddr::new(*ip, DNS_PORT));
            RawListenDefault(addrs.collect())
        });
        let Listening {
            udp,
            tcp,
            tls,
            tls_cert,
            tls_key,
            threads,
            tcp_limits,
        } = file.listen(&raw.listen.unwrap_or_default(), default_listen.as_ref())?;
        let mut raw_backends = raw.backends.unwrap_or_default();
        if let (Some(n), true) = (&node_local, raw_backends.servers.is_empty()) {
            // Node-local mode without backends: the node's own upstreams.
            let path = raw
                .node_local
                .as_ref()
                .and_then(|r| r.resolv_conf.as_ref())
                .map_or_else(
                    || PathBuf::from("/etc/resolv.conf"),
                    |p| PathBuf::from(p.get_ref()),
                );
            raw_backends.servers = resolv_conf_servers(&path, &n.interface.addrs)?;
        }
        let Backends {
            backends,
            discovery,
            timeout,
            max_outstanding,
        } = file.backends(&raw_backends)?;
        Ok(Config {
            source: Some(path.to_path_buf()),
            udp,
            tcp,
            tls,
            tls_cert,
            tls_key,
            threads,
            tcp_limits,
            backends,
            discovery,
            policy: file.policy(raw.policy.as_ref())?,
            timeout,
            max_outstanding,
            health: file.health(raw.health.as_ref())?,
            acl: file.acl(raw.acl.as_ref().and_then(|a| a.allow.as_ref()))?,
            metrics_addr: raw
                .metrics
                .as_ref()
                .and_then(|m| m.addr.as_ref())
                .map(|a| file.addr(a, "metrics.addr", 8083))
                .transpose()?,
            rate_limit: raw
                .rate_limit
                .as_ref()
                .map(|r| file.rate_limit(r))
                .transpose()?,
            cache: match &raw.cache {
                Some(c) if c.enabled.unwrap_or(true) => Some(file.cache(c)?),
                _ => None,
            },
            node_local,
        })
    }

    /// The one-screen summary `--check-config` prints.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let source = self
            .source
            .as_ref()
            .map_or("<command line>".to_string(), |p| p.display().to_string());
        let _ = writeln!(s, "config: {source}: OK");
        let list = |addrs: &[SocketAddr]| {
            if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(
            s,
            "listen: udp {} | tcp {} | dot {}",
            list(&self.udp),
            list(&self.tcp),
            list(&self.tls)
        );
        let _ = writeln!(s, "threads: {} per UDP address", self.threads);
        let _ = writeln!(s, "policy: {}", self.policy.as_str());
        let _ = writeln!(
            s,
            "backends ({} static), timeout {} ms, at most {} in flight each:",
            self.backends.len(),
            self.timeout.as_millis(),
            self.max_outstanding
        );
        for b in &self.backends {
            let _ = writeln!(
                s,
                "  {} {} weight {} order {}",
                b.name, b.addr, b.weight, b.order
            );
        }
        if let Some(d) = &self.discovery {
            let server = d
                .server
                .map_or("the system resolver".to_string(), |a| a.to_string());
            let _ = writeln!(
                s,
                "  + every address of {} port {}, re-resolved every {} ms through {server}",
                d.name,
                d.port,
                d.interval.as_millis()
            );
        }
        if self.health.enabled {
            let _ = writeln!(
                s,
                "health: {} type {} every {} ms, timeout {} ms, rise {} fall {}",
                self.health.qname,
                self.health.qtype,
                self.health.interval.as_millis(),
                self.health.timeout.as_millis(),
                self.health.rise,
                self.health.fall
            );
        } else {
            let _ = writeln!(
                s,
                "health: active checks off (live-traffic timeouts still count)"
            );
        }
        let _ = writeln!(s, "acl: {} networks allowed", self.acl.len());
        match &self.cache {
            None => {
                let _ = writeln!(s, "packet cache: off");
            }
            Some(c) => {
                let stale = c
                    .serve_stale
                    .map_or("off".to_string(), |d| format!("{} s", d.as_secs()));
                let prefetch = c.prefetch.map_or("off".to_string(), |p| {
                    format!(
                        "after {} hits within {} s, at {} % of the TTL left",
                        p.amount,
                        p.window.as_secs(),
                        p.percentage
                    )
                });
                let _ = writeln!(
                    s,
                    "packet cache: {} answers (max TTL {} s), {} denials (max TTL {} s), min TTL {} s, at most {} KiB, serve-stale {stale}, prefetch {prefetch}",
                    c.size,
                    c.max_ttl.as_secs(),
                    c.denial_size,
                    c.denial_max_ttl.as_secs(),
                    c.min_ttl.as_secs(),
                    c.max_memory >> 10
                );
            }
        }
        match &self.rate_limit {
            None => {
                let _ = writeln!(s, "rate limit: off");
            }
            Some(r) => {
                let _ = writeln!(
                    s,
                    "rate limit: {} QPS per client, burst {}, excess {:?}",
                    r.qps, r.burst, r.excess
                );
            }
        }
        if let Some(n) = &self.node_local {
            let addrs: Vec<String> = n.interface.addrs.iter().map(IpAddr::to_string).collect();
            let rules = &n.firewall.rules;
            let fallback = match (&rules.fallback_chain, rules.fallback) {
                (Some(c), _) if c.udp == c.tcp => format!("jump to {}", c.udp),
                (Some(c), _) => format!("jump to {} (UDP), {} (TCP)", c.udp, c.tcp),
                (None, Some(addr)) => format!("DNAT to {addr}"),
                (None, None) => "none".to_string(),
            };
            let _ =
                writeln!(
                s,
                "node-local: {} on {} ({}), rules by {}, fallback {fallback}{}, checked every {} s",
                addrs.join(", "),
                n.interface.name,
                n.interface.kind.as_str(),
                n.firewall.backend.as_str(),
                if n.keep_fallback { " (kept at exit)" } else { "" },
                n.check_interval.as_secs()
            );
            let _ = writeln!(
                s,
                "node-local: {} to {} over TCP, everything else to the backends above",
                n.cluster_zones.join(", "),
                n.cluster_dns
            );
        }
        s
    }
}

/// The file being read, for turning spans into lines.
struct Source<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Source<'_> {
    fn location(&self, span: Range<usize>) -> Location {
        let end = span.start.min(self.text.len());
        let line = self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Location::new(
            self.path.to_path_buf(),
            u32::try_from(line).unwrap_or(u32::MAX),
        )
    }

    fn invalid(
        &self,
        span: Option<Range<usize>>,
        key: impl Into<String>,
        why: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            location: Some(self.location(span.unwrap_or(0..0))),
            key: key.into(),
            kind: ConfigErrorKind::Invalid(why.into()),
        }
    }

    /// A TOML syntax or schema error (unknown key, wrong type) at its line.
    fn toml_error(&self, error: &toml::de::Error) -> ConfigError {
        let message = error.message().to_string();
        let key = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .unwrap_or_default()
            .to_string();
        let kind = if key.is_empty() {
            ConfigErrorKind::Syntax(message)
        } else {
            ConfigErrorKind::Unknown
        };
        ConfigError {
            location: Some(self.location(error.span().unwrap_or(0..0))),
            key,
            kind,
        }
    }

    fn addr(
        &self,
        value: &Spanned<String>,
        key: &str,
        default_port: u16,
    ) -> Result<SocketAddr, ConfigError> {
        parse_addr(value.get_ref(), default_port).ok_or_else(|| {
            self.invalid(
                Some(value.span()),
                key,
                format!("`{}` is not an IP address with an optional port (e.g. 10.0.0.1:53 or [2001:db8::1]:53)", value.get_ref()),
            )
        })
    }

    fn addrs(
        &self,
        values: &Option<Vec<Spanned<String>>>,
        key: &str,
        default_port: u16,
    ) -> Result<Vec<SocketAddr>, ConfigError> {
        values
            .iter()
            .flatten()
            .map(|v| self.addr(v, key, default_port))
            .collect()
    }

    fn duration(
        &self,
        value: Option<&Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) => parse_duration(v.get_ref())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    self.invalid(
                        Some(v.span()),
                        key,
                        format!(
                            "`{}` is not a duration (e.g. 500ms, 1s, 2m, 1h, 1d)",
                            v.get_ref()
                        ),
                    )
                }),
        }
    }

    /// `value` when `ok` accepts it (`default` when absent); else an error at
    /// its line saying `why`.
    fn bounded<T: Copy>(
        &self,
        value: Option<&Spanned<T>>,
        key: &str,
        default: T,
        ok: impl Fn(&T) -> bool,
        why: &str,
    ) -> Result<T, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) if ok(v.get_ref()) => Ok(*v.get_ref()),
            Some(v) => Err(self.invalid(Some(v.span()), key, why)),
        }
    }

    /// A number of at least `min` (`default` when absent).
    fn at_least<T: Copy + PartialOrd + std::fmt::Display>(
        &self,
        value: Option<&Spanned<T>>,
        key: &str,
        min: T,
        default: T,
    ) -> Result<T, ConfigError> {
        self.bounded(
            value,
            key,
            default,
            |v| *v >= min,
            &format!("must be at least {min}"),
        )
    }

    /// A number within `range` (`default` when absent).
    fn within<T: Copy + PartialOrd + std::fmt::Display>(
        &self,
        value: Option<&Spanned<T>>,
        key: &str,
        range: std::ops::RangeInclusive<T>,
        default: T,
    ) -> Result<T, ConfigError> {
        let why = format!("must be {} to {}", range.start(), range.end());
        self.bounded(value, key, default, |v| range.contains(v), &why)
    }
}

/// The `[listen]` section, validated.
struct Listening {
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    tls: Vec<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    threads: NonZeroUsize,
    tcp_limits: TcpLimits,
}

/// The `[backends]` section, validated.
struct Backends {
    backends: Vec<BackendConfig>,
    discovery: Option<Discovery>,
    timeout: Duration,
    max_outstanding: usize,
}

/// One step per section.
impl Source<'_> {
    /// `[listen]`: something to listen on (in node-local mode, by default
    /// UDP and TCP on the agent's addresses), the DoT files as a pair, threads.
    fn listen(
        &self,
        listen: &RawListen,
        default: Option<&RawListenDefault>,
    ) -> Result<Listening, ConfigError> {
        let mut udp = self.addrs(&listen.udp, "listen.udp", DNS_PORT)?;
        let mut tcp = self.addrs(&listen.tcp, "listen.tcp", DNS_PORT)?;
        let tls = self.addrs(&listen.tls, "listen.tls", DOT_PORT)?;
        if let Some(RawListenDefault(addrs)) = default {
            if listen.udp.is_none() && listen.tcp.is_none() {
                udp.clone_from(addrs);
                tcp.clone_from(addrs);
            }
        }
        if udp.is_empty() && tcp.is_empty() && tls.is_empty() {
            return Err(self.invalid(
                None,
                "listen",
                "nothing to listen on: set listen.udp, listen.tcp or listen.tls",
            ));
        }
        let (tls_cert, tls_key) = match (&listen.tls_cert, &listen.tls_key) {
            (Some(c), Some(k)) => (
                Some(PathBuf::from(c.get_ref())),
                Some(PathBuf::from(k.get_ref())),
            ),
            (None, None) if tls.is_empty() => (None, None),
            (None, None) => {
                let at = listen
                    .tls
                    .as_ref()
                    .and_then(|v| v.first())
                    .map(Spanned::span);
                return Err(self.invalid(
                    at,
                    "listen.tls-cert",
                    "DoT listeners need tls-cert and tls-key",
                ));
            }
            (Some(c), None) => {
                return Err(self.invalid(
                    Some(c.span()),
                    "listen.tls-key",
                    "tls-cert is set but tls-key is not",
                ))
            }
            (None, Some(k)) => {
                return Err(self.invalid(
                    Some(k.span()),
                    "listen.tls-cert",
                    "tls-key is set but tls-cert is not",
                ))
            }
        };
        let threads = self.within(
            listen.threads.as_ref(),
            "listen.threads",
            1..=256,
            default_threads().get(),
        )?;
        Ok(Listening {
            udp,
            tcp,
            tls,
            tls_cert,
            tls_key,
            threads: NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN),
            tcp_limits: self.tcp_limits(listen)?,
        })
    }

    /// The `[listen]` TCP keys; counts must be at least 1.
    fn tcp_limits(&self, listen: &RawListen) -> Result<TcpLimits, ConfigError> {
        let default = TcpLimits::default();
        Ok(TcpLimits {
            idle_timeout: self.duration(
                listen.tcp_idle_timeout.as_ref(),
                "listen.tcp-idle-timeout",
                default.idle_timeout,
            )?,
            max_connections: self.at_least(
                listen.tcp_max_connections.as_ref(),
                "listen.tcp-max-connections",
                1,
                default.max_connections,
            )?,
            max_connections_per_client: listen
                .tcp_max_connections_per_client
                .as_ref()
                .map(|n| self.at_least(Some(n), "listen.tcp-max-connections-per-client", 1, 1))
                .transpose()?,
            tls_handshake_timeout: self.duration(
                listen.tls_handshake_timeout.as_ref(),
                "listen.tls-handshake-timeout",
                default.tls_handshake_timeout,
            )?,
        })
    }

    /// `[backends]`: the static list (no name or address twice), discovery,
    /// and at least one of them.
    fn backends(&self, raw: &RawBackends) -> Result<Backends, ConfigError> {
        let mut backends = Vec::with_capacity(raw.servers.len());
        for (i, server) in raw.servers.iter().enumerate() {
            let key = format!("backends.servers[{i}]");
            let addr = self.addr(&server.addr, &format!("{key}.addr"), DNS_PORT)?;
            let weight = self.at_least(server.weight.as_ref(), &format!("{key}.weight"), 1, 1)?;
            let name = server.name.clone().unwrap_or_else(|| addr.to_string());
            if backends
                .iter()
                .any(|b: &BackendConfig| b.name == name || b.addr == addr)
            {
                return Err(self.invalid(
                    Some(server.addr.span()),
                    format!("{key}.addr"),
                    format!("backend {name} ({addr}) is listed twice"),
                ));
            }
            backends.push(BackendConfig {
                name,
                addr,
                weight,
                order: server.order.unwrap_or(1),
                cluster: false,
            });
        }
        let discovery = raw
            .discover
            .as_ref()
            .map(|name| self.discovery(name, raw))
            .transpose()?;
        if backends.is_empty() && discovery.is_none() {
            return Err(self.invalid(
                None,
                "backends.servers",
                "no backends: list backends.servers or set backends.discover",
            ));
        }
        Ok(Backends {
            backends,
            discovery,
            timeout: self.duration(
                raw.timeout.as_ref(),
                "backends.timeout",
                Duration::from_secs(1),
            )?,
            max_outstanding: self.within(
                raw.max_outstanding.as_ref(),
                "backends.max-outstanding",
                1..=65_535,
                65_535,
            )?,
        })
    }

    /// `backends.discover` (the name) and its `discover-*` keys.
    fn discovery(
        &self,
        name: &Spanned<String>,
        raw: &RawBackends,
    ) -> Result<Discovery, ConfigError> {
        let text = name.get_ref().trim();
        if text.is_empty() || crate::wire::encode_name(text).is_none() {
            return Err(self.invalid(
                Some(name.span()),
                "backends.discover",
                format!("`{text}` is not a domain name"),
            ));
        }
        Ok(Discovery {
            name: text.to_string(),
            port: self.within(
                raw.discover_port.as_ref(),
                "backends.discover-port",
                1..=u16::MAX,
                DNS_PORT,
            )?,
            interval: self.duration(
                raw.discover_interval.as_ref(),
                "backends.discover-interval",
                Duration::from_secs(1),
            )?,
            timeout: self.duration(
                raw.discover_timeout.as_ref(),
                "backends.discover-timeout",
                Duration::from_secs(1),
            )?,
            server: raw
                .discover_server
                .as_ref()
                .map(|a| self.addr(a, "backends.discover-server", DNS_PORT))
                .transpose()?,
        })
    }

    /// `policy`.
    fn policy(&self, policy: Option<&Spanned<String>>) -> Result<Policy, ConfigError> {
        let Some(p) = policy else {
            return Ok(Policy::LeastOutstanding);
        };
        Policy::parse(p.get_ref()).ok_or_else(|| {
            self.invalid(Some(p.span()), "policy", format!("unknown policy `{}` (expected leastOutstanding, roundRobin, wrandom, firstAvailable or chashed)", p.get_ref()))
        })
    }

    /// `[health]`: the check query, its timing, and the passive thresholds.
    fn health(&self, raw: Option<&RawHealth>) -> Result<HealthConfig, ConfigError> {
        let mut health = HealthConfig::default();
        let Some(h) = raw else {
            return Ok(health);
        };
        if let Some(enabled) = h.enabled {
            health.enabled = enabled;
        }
        if let Some(name) = &h.query {
            let mut qname = name.get_ref().trim().to_string();
            if !qname.ends_with('.') {
                qname.push('.');
            }
            if crate::wire::encode_name(&qname).is_none() {
                return Err(self.invalid(
                    Some(name.span()),
                    "health.query",
                    format!("`{}` is not a valid domain name", name.get_ref()),
                ));
            }
            health.qname = qname;
        }
        if let Some(t) = &h.qtype {
            health.qtype = crate::wire::qtype_from_name(t.get_ref()).ok_or_else(|| {
                self.invalid(
                    Some(t.span()),
                    "health.qtype",
                    format!("unknown type `{}`", t.get_ref()),
                )
            })?;
        }
        health.interval = self.duration(h.interval.as_ref(), "health.interval", health.interval)?;
        health.timeout = self.duration(h.timeout.as_ref(), "health.timeout", health.timeout)?;
        health.passive_threshold = self.bounded(
            h.passive_threshold.as_ref(),
            "health.passive-threshold",
            health.passive_threshold,
            |t| *t <= 100,
            "a percentage: 0 (off) to 100",
        )?;
        health.passive_window = self.within(
            h.passive_window.as_ref(),
            "health.passive-window",
            1..=128,
            health.passive_window,
        )?;
        health.rise = self.at_least(h.rise.as_ref(), "health.rise", 1, health.rise)?;
        health.fall = self.at_least(h.fall.as_ref(), "health.fall", 1, health.fall)?;
        health.passive_min_samples = self.at_least(
            h.passive_min_samples.as_ref(),
            "health.passive-min-samples",
            1,
            health.passive_min_samples,
        )?;
        Ok(health)
    }

    /// `acl.allow`: networks or single addresses; absent, dnsdist's default.
    fn acl(&self, allow: Option<&Vec<Spanned<String>>>) -> Result<Vec<IpNet>, ConfigError> {
        let Some(list) = allow else {
            return Ok(default_acl());
        };
        list.iter()
            .map(|n| {
                let text = n.get_ref().trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        self.invalid(
                            Some(n.span()),
                            "acl.allow",
                            format!("`{text}` is not an address or network"),
                        )
                    })
            })
            .collect()
    }

    /// `[cache]` (when enabled).
    fn cache(&self, c: &RawCache) -> Result<CacheConfig, ConfigError> {
        let size = self.at_least(c.size.as_ref(), "cache.size", 1, 100_000)?;
        let max_ttl = self.duration(
            c.max_ttl.as_ref(),
            "cache.max-ttl",
            Duration::from_secs(86_400),
        )?;
        let defaults = CacheConfig::with_size(size, max_ttl);
        Ok(CacheConfig {
            denial_size: self.at_least(c.denial_size.as_ref(), "cache.denial-size", 1, size)?,
            denial_max_ttl: self.duration(
                c.denial_max_ttl.as_ref(),
                "cache.denial-max-ttl",
                defaults.denial_max_ttl,
            )?,
            min_ttl: match &c.min_ttl {
                None => Duration::ZERO,
                Some(v) => self.duration(Some(v), "cache.min-ttl", Duration::ZERO)?,
            },
            serve_stale: c
                .serve_stale
                .as_ref()
                .map(|v| self.duration(Some(v), "cache.serve-stale", Duration::ZERO))
                .transpose()?,
            max_memory: match &c.max_memory {
                None => defaults.max_memory,
                Some(v) => self.memory_size(v, "cache.max-memory")?,
            },
            prefetch: self.prefetch(c)?,
            ..defaults
        })
    }

    /// `cache.max-memory`: bytes as a number, or a size such as "64m"
    /// (Unbound's suffixes); 64 KiB at least.
    fn memory_size(&self, value: &Spanned<toml::Value>, key: &str) -> Result<usize, ConfigError> {
        const LEAST: u64 = 64 << 10;
        let bytes = match value.get_ref() {
            toml::Value::Integer(n) => {
                u64::try_from(*n).map_err(|_| "must not be negative".to_string())
            }
            toml::Value::String(text) => common::config::value::parse_size(text),
            _ => Err("expected a number of bytes or a size such as \"64m\"".to_string()),
        };
        match bytes {
            Ok(n) if n >= LEAST => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Ok(_) => Err(self.invalid(Some(value.span()), key, "must be at least 64k")),
            Err(why) => Err(self.invalid(Some(value.span()), key, why)),
        }
    }

    /// `node-local.fallback-chain`: one chain for both protocols or `{ udp
    /// = ..., tcp = ... }`, iptables chain names (as kube-proxy's
    /// `KUBE-SVC-...`: letters, digits, `-` and `_`, 1 to 28 characters).
    fn fallback_chains(&self, raw: &Spanned<toml::Value>) -> Result<FallbackChains, ConfigError> {
        let key = "node-local.fallback-chain";
        let shape = || {
            self.invalid(
                Some(raw.span()),
                key,
                "expected a chain name, or { udp = \"CHAIN\", tcp = \"CHAIN\" }",
            )
        };
        let (udp, tcp) = match raw.get_ref() {
            toml::Value::String(chain) => (chain, chain),
            toml::Value::Table(t) if t.len() == 2 => match (t.get("udp"), t.get("tcp")) {
                (Some(toml::Value::String(u)), Some(toml::Value::String(t))) => (u, t),
                _ => return Err(shape()),
            },
            _ => return Err(shape()),
        };
        for chain in [udp, tcp] {
            let valid = (1..=28).contains(&chain.len())
                && chain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(self.invalid(
                    Some(raw.span()),
                    key,
                    format!("`{chain}` is not an iptables chain name"),
                ));
            }
        }
        Ok(FallbackChains {
            udp: udp.clone(),
            tcp: tcp.clone(),
        })
    }

    /// `cache.prefetch` (the hits that make an entry popular) with its
    /// `prefetch-window` and `prefetch-percentage`, which need it.
    fn prefetch(&self, c: &RawCache) -> Result<Option<Prefetch>, ConfigError> {
        let Some(amount) = &c.prefetch else {
            let orphan = [
                c.prefetch_window
                    .as_ref()
                    .map(|v| (v.span(), "cache.prefetch-window")),
                c.prefetch_percentage
                    .as_ref()
                    .map(|v| (v.span(), "cache.prefetch-percentage")),
            ];
            return match orphan.into_iter().flatten().next() {
                Some((span, key)) => Err(self.invalid(Some(span), key, "needs cache.prefetch")),
                None => Ok(None),
            };
        };
        let window = self.duration(
            c.prefetch_window.as_ref(),
            "cache.prefetch-window",
            Duration::from_secs(60),
        )?;
        if window > Duration::from_secs(3600) {
            let span = c.prefetch_window.as_ref().map(|v| v.span());
            return Err(self.invalid(span, "cache.prefetch-window", "must be at most 1h"));
        }
        Ok(Some(Prefetch {
            amount: self.at_least(Some(amount), "cache.prefetch", 1, 1)?,
            window,
            percentage: self.within(
                c.prefetch_percentage.as_ref(),
                "cache.prefetch-percentage",
                1..=100,
                10,
            )?,
        }))
    }

    /// `[node-local]`: the interface, the agent's addresses and the rules.
    fn node_local(&self, raw: &RawNodeLocal) -> Result<NodeLocalConfig, ConfigError> {
        let local: Vec<IpAddr> = match &raw.local_ip {
            None => vec![IpAddr::from([169, 254, 20, 10])],
            Some(list) => list
                .iter()
                .map(|ip| {
                    ip.get_ref().trim().parse::<IpAddr>().map_err(|_| {
                        self.invalid(
                            Some(ip.span()),
                            "node-local.local-ip",
                            format!("`{}` is not an IP address", ip.get_ref()),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if local.is_empty() {
            return Err(self.invalid(None, "node-local.local-ip", "at least one address"));
        }
        let name = match &raw.interface {
            None => "nodelocaldns".to_string(),
            Some(n) => {
                let text = n.get_ref();
                // IFNAMSIZ is 16 with the NUL; no '/', no whitespace, not "." or "..".
                let valid = !text.is_empty()
                    && text.len() < 16
                    && text != "."
                    && text != ".."
                    && !text.contains(|c: char| c == '/' || c.is_whitespace() || c == ':');
                if !valid {
                    return Err(self.invalid(
                        Some(n.span()),
                        "node-local.interface",
                        format!("`{text}` is not an interface name (1 to 15 characters, no '/', ':' or spaces)"),
                    ));
                }
                text.clone()
            }
        };
        let kind = match &raw.link_type {
            None => LinkKind::Dummy,
            Some(k) => LinkKind::parse(k.get_ref()).ok_or_else(|| {
                self.invalid(
                    Some(k.span()),
                    "node-local.link-type",
                    format!(
                        "unknown link type `{}` (expected dummy or ifb)",
                        k.get_ref()
                    ),
                )
            })?,
        };
        let backend = match &raw.firewall {
            None => FirewallBackend::Iptables,
            Some(b) => FirewallBackend::parse(b.get_ref()).ok_or_else(|| {
                self.invalid(
                    Some(b.span()),
                    "node-local.firewall",
                    format!(
                        "unknown firewall `{}` (expected iptables, iptables-legacy, nftables or none)",
                        b.get_ref()
                    ),
                )
            })?,
        };
        let fallback = raw
            .fallback
            .as_ref()
            .map(|a| self.addr(a, "node-local.fallback", DNS_PORT))
            .transpose()?;
        if fallback.is_none() && backend != FirewallBackend::None {
            return Err(self.invalid(
                None,
                "node-local.fallback",
                "required with a firewall: the cluster DNS Service address that answers when the agent is down",
            ));
        }
        if let Some(chain) = &raw.fallback_chain {
            if !matches!(
                backend,
                FirewallBackend::Iptables | FirewallBackend::IptablesLegacy
            ) {
                return Err(ConfigError {
                    location: Some(self.location(chain.span())),
                    key: "node-local.fallback-chain".into(),
                    kind: ConfigErrorKind::Unsupported(format!(
                        "fallback-chain with firewall = {}",
                        backend.as_str()
                    )),
                });
            }
        }
        if let (Some(target), Some(spanned), None) = (fallback, &raw.fallback, &raw.fallback_chain)
        {
            if local.contains(&target.ip()) {
                return Err(self.invalid(
                    Some(spanned.span()),
                    "node-local.fallback",
                    format!(
                        "{} is one of the agent's own addresses: with the agent down a DNAT there reaches nothing (use the cluster DNS Service's address, or fallback-chain with kube-proxy's chain for it)",
                        target.ip()
                    ),
                ));
            }
        }
        let cluster_dns = match &raw.cluster_dns {
            Some(a) => self.addr(a, "node-local.cluster-dns", DNS_PORT)?,
            None => fallback.ok_or_else(|| {
                self.invalid(
                    None,
                    "node-local.cluster-dns",
                    "required without a fallback: where the cluster zones are forwarded",
                )
            })?,
        };
        if local.contains(&cluster_dns.ip()) {
            let span = raw
                .cluster_dns
                .as_ref()
                .or(raw.fallback.as_ref())
                .map(Spanned::span);
            return Err(self.invalid(
                span,
                "node-local.cluster-dns",
                format!(
                    "{} is one of the agent's own addresses: forwarding there would loop (use the kube-dns-upstream Service)",
                    cluster_dns.ip()
                ),
            ));
        }
        let zone = |value: &Spanned<String>, key: &str| {
            let text = value.get_ref().trim().trim_end_matches('.');
            if text.is_empty() || crate::wire::encode_name(text).is_none() {
                return Err(self.invalid(
                    Some(value.span()),
                    key,
                    format!("`{}` is not a domain name", value.get_ref()),
                ));
            }
            Ok(text.to_string())
        };
        let mut cluster_zones = vec![match &raw.cluster_domain {
            Some(d) => zone(d, "node-local.cluster-domain")?,
            None => "cluster.local".to_string(),
        }];
        match &raw.reverse_zones {
            None => cluster_zones.extend(["in-addr.arpa".into(), "ip6.arpa".into()]),
            Some(zones) => {
                for z in zones {
                    cluster_zones.push(zone(z, "node-local.reverse-zones")?);
                }
            }
        }
        let health_addr = match &raw.health_addr {
            Some(a) => self.addr(a, "node-local.health-addr", 8080)?,
            None => SocketAddr::new(local[0], 8080),
        };
        Ok(NodeLocalConfig {
            health_addr,
            cluster_dns,
            cluster_zones,
            interface: Interface {
                name,
                kind,
                addrs: local.clone(),
            },
            firewall: Firewall {
                backend,
                rules: Ruleset {
                    local,
                    port: DNS_PORT,
                    health_port: Some(health_addr.port()),
                    fallback,
                    fallback_chain: raw
                        .fallback_chain
                        .as_ref()
                        .map(|c| self.fallback_chains(c))
                        .transpose()?,
                },
            },
            check_interval: self.duration(
                raw.check_interval.as_ref(),
                "node-local.check-interval",
                Duration::from_secs(60),
            )?,
            keep_fallback: raw.keep_fallback.unwrap_or(true),
        })
    }

    /// `[rate-limit]`: qps is required; burst defaults to it.
    fn rate_limit(&self, r: &RawRateLimit) -> Result<RateLimitConfig, ConfigError> {
        let Some(qps) = &r.qps else {
            return Err(self.invalid(
                None,
                "rate-limit.qps",
                "required when [rate-limit] is present",
            ));
        };
        let qps = self.bounded(
            Some(qps),
            "rate-limit.qps",
            0.0,
            |q| q.is_finite() && *q > 0.0,
            "must be above 0",
        )?;
        let burst = self.bounded(
            r.burst.as_ref(),
            "rate-limit.burst",
            qps.max(1.0),
            |b| b.is_finite() && *b >= 1.0,
            "must be at least 1",
        )?;
        let excess = match r
            .action
            .as_ref()
            .map(|a| (a.get_ref().to_ascii_lowercase(), a.span()))
        {
            None => Excess::Drop,
            Some((a, _)) if a == "drop" => Excess::Drop,
            Some((a, _)) if a == "refuse" || a == "refused" => Excess::Refuse,
            Some((a, span)) => {
                return Err(self.invalid(
                    Some(span),
                    "rate-limit.action",
                    format!("unknown action `{a}` (expected drop or refuse)"),
                ))
            }
        };
        Ok(RateLimitConfig {
            qps,
            burst,
            excess,
            max_clients: self.at_least(
                r.max_clients.as_ref(),
                "rate-limit.max-clients",
                1,
                100_000,
            )?,
        })
    }
}

/// The `nameserver` lines of the resolv.conf at `path`, as backends, for
/// node-local mode (node-local-dns forwards what is not the cluster's to
/// the node's upstreams). An agent address among them would loop: refused.
fn resolv_conf_servers(path: &Path, agent: &[IpAddr]) -> Result<Vec<RawServer>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    let mut servers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(word) = words.next() else { continue };
        // A link-local IPv6 server's zone (fe80::1%eth0) cannot be used from here.
        let Ok(ip) = word.parse::<IpAddr>() else {
            continue;
        };
        let at = Location::new(path.to_path_buf(), u32::try_from(i + 1).unwrap_or(u32::MAX));
        if agent.contains(&ip) {
            return Err(ConfigError {
                location: Some(at),
                key: "nameserver".into(),
                kind: ConfigErrorKind::Invalid(format!(
                    "{ip} is the node-local agent itself: forwarding there would loop (list [backends] servers instead)"
                )),
            });
        }
        servers.push(RawServer {
            addr: Spanned::new(0..0, ip.to_string()),
            name: Some(format!("upstream-{ip}")),
            weight: None,
            order: None,
        });
    }
    if servers.is_empty() {
        return Err(ConfigError {
            location: Some(Location::new(path.to_path_buf(), 1)),
            key: "nameserver".into(),
            kind: ConfigErrorKind::Invalid(
                "no nameserver: node-local mode forwards to these without [backends] servers"
                    .into(),
            ),
        });
    }
    Ok(servers)
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`.
pub fn parse_addr(text: &str, default_port: u16) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, default_port))
}

/// `500ms`, `1s`, `1.5s`, `2m`, `1h`, `1d`; a bare number is seconds (at most 1 day).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = text.strip_suffix('d') {
        (n, 86_400.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0 && value * scale <= 86_400.0)
        .then(|| Duration::from_secs_f64(value * scale))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    listen: Option<RawListen>,
    backends: Option<RawBackends>,
    policy: Option<Spanned<String>>,
    health: Option<RawHealth>,
    acl: Option<RawAcl>,
    metrics: Option<RawMetrics>,
    rate_limit: Option<RawRateLimit>,
    cache: Option<RawCache>,
    node_local: Option<RawNodeLocal>,
}

/// The listen addresses node-local mode implies when `[listen]` names none.
struct RawListenDefault(Vec<SocketAddr>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNodeLocal {
    local_ip: Option<Vec<Spanned<String>>>,
    interface: Option<Spanned<String>>,
    link_type: Option<Spanned<String>>,
    firewall: Option<Spanned<String>>,
    fallback: Option<Spanned<String>>,
    fallback_chain: Option<Spanned<toml::Value>>,
    check_interval: Option<Spanned<String>>,
    keep_fallback: Option<bool>,
    cluster_dns: Option<Spanned<String>>,
    cluster_domain: Option<Spanned<String>>,
    reverse_zones: Option<Vec<Spanned<String>>>,
    resolv_conf: Option<Spanned<String>>,
    health_addr: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCache {
    enabled: Option<bool>,
    size: Option<Spanned<usize>>,
    max_ttl: Option<Spanned<String>>,
    denial_size: Option<Spanned<usize>>,
    denial_max_ttl: Option<Spanned<String>>,
    min_ttl: Option<Spanned<String>>,
    serve_stale: Option<Spanned<String>>,
    max_memory: Option<Spanned<toml::Value>>,
    prefetch: Option<Spanned<u16>>,
    prefetch_window: Option<Spanned<String>>,
    prefetch_percentage: Option<Spanned<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRateLimit {
    qps: Option<Spanned<f64>>,
    burst: Option<Spanned<f64>>,
    action: Option<Spanned<String>>,
    max_clients: Option<Spanned<usize>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawListen {
    udp: Option<Vec<Spanned<String>>>,
    tcp: Option<Vec<Spanned<String>>>,
    tls: Option<Vec<Spanned<String>>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    threads: Option<Spanned<usize>>,
    tcp_idle_timeout: Option<Spanned<String>>,
    tcp_max_connections: Option<Spanned<usize>>,
    tcp_max_connections_per_client: Option<Spanned<usize>>,
    tls_handshake_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBackends {
    #[serde(default)]
    servers: Vec<RawServer>,
    timeout: Option<Spanned<String>>,
    max_outstanding: Option<Spanned<usize>>,
    discover: Option<Spanned<String>>,
    discover_port: Option<Spanned<u16>>,
    discover_interval: Option<Spanned<String>>,
    discover_timeout: Option<Spanned<String>>,
    discover_server: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawServer {
    addr: Spanned<String>,
    name: Option<String>,
    weight: Option<Spanned<u32>>,
    order: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawHealth {
    enabled: Option<bool>,
    query: Option<Spanned<String>>,
    qtype: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    rise: Option<Spanned<u32>>,
    fall: Option<Spanned<u32>>,
    passive_threshold: Option<Spanned<u32>>,
    passive_window: Option<Spanned<u32>>,
    passive_min_samples: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAcl {
    allow: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMetrics {
    addr: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/lb/lb.toml"))
    }

    const SEED: &str = r#"
policy = "leastOutstanding"

[listen]
udp = ["0.0.0.0:53"]
tcp = ["0.0.0.0:53"]

[backends]
timeout = "800ms"
servers = [
  { addr = "10.244.0.11:53" },
  { addr = "10.244.0.12", weight = 2, order = 2, name = "unbound-b" },
]
"#;

    #[test]
    fn parses_a_full_file() {
        let c = parse(SEED).unwrap();
        assert_eq!(c.udp, vec!["0.0.0.0:53".parse().unwrap()]);
        assert_eq!(c.backends.len(), 2);
        assert_eq!(c.backends[1].addr, "10.244.0.12:53".parse().unwrap());
        assert_eq!((c.backends[1].weight, c.backends[1].order), (2, 2));
        assert_eq!(c.backends[1].name, "unbound-b");
        assert_eq!(c.backends[0].name, "10.244.0.11:53");
        assert_eq!(c.timeout, Duration::from_millis(800));
        assert_eq!(c.policy, Policy::LeastOutstanding);
        assert_eq!(c.acl.len(), DEFAULT_ACL.len());
        assert!(c
            .summary()
            .contains("unbound-b 10.244.0.12:53 weight 2 order 2"));
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("[listen]\nudp = [\"127.0.0.1:53\"]\n\n[backends]\nservers = [{ addr = \"127.0.0.1:5300\" }]\ntimout = \"1s\"\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("/etc/lb/lb.toml:6: timout: unknown option"),
            "{text}"
        );
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let cases: &[(&str, &str)] = &[
            ("[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\nservers = [{ addr = \"nonsense\" }]\n", "/etc/lb/lb.toml:4: backends.servers[0].addr: invalid value"),
            ("\npolicy = \"fastest\"\n[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n", "/etc/lb/lb.toml:2: policy: invalid value: unknown policy `fastest`"),
            ("policy = \"roundrobin\"\n[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n[health]\ninterval = \"soon\"\n", "/etc/lb/lb.toml:7: health.interval: invalid value"),
            ("[listen]\ntls = [\"0.0.0.0\"]\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n", "/etc/lb/lb.toml:2: listen.tls-cert: invalid value"),
            ("[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\nservers = []\n", "/etc/lb/lb.toml:1: backends.servers: invalid value: no backends"),
            ("[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\ndiscover = \"a..b\"\n", "/etc/lb/lb.toml:4: backends.discover: invalid value"),
            ("[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\ndiscover = \"svc.local\"\ndiscover-interval = \"0s\"\n", "/etc/lb/lb.toml:5: backends.discover-interval: invalid value"),
            ("[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\nservers = [{ addr = \"1.1.1.1\", weight = 0 }]\n", "/etc/lb/lb.toml:4: backends.servers[0].weight: invalid value"),
            ("[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n[acl]\nallow = [\"10.0.0.0/8\", \"everyone\"]\n", "/etc/lb/lb.toml:6: acl.allow: invalid value"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}\n  wanted: {want}");
        }
    }

    /// `[cache]`: max-memory as bytes or a size, prefetch with its
    /// defaults, and the errors naming line and key.
    #[test]
    fn cache_memory_and_prefetch() {
        let base = "[listen]\nudp = [\"1.2.3.4:53\"]\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n[cache]\n";
        let cache = |extra: &str| parse(&format!("{base}{extra}")).map(|c| c.cache.unwrap());
        let c = cache("").unwrap();
        assert_eq!((c.max_memory, c.prefetch), (64 << 20, None));
        assert_eq!(
            cache("max-memory = \"16m\"\n").unwrap().max_memory,
            16 << 20
        );
        assert_eq!(cache("max-memory = 1048576\n").unwrap().max_memory, 1 << 20);
        let p = cache("prefetch = 3\n").unwrap().prefetch.unwrap();
        assert_eq!(
            (p.amount, p.window, p.percentage),
            (3, Duration::from_secs(60), 10)
        );
        let p = cache("prefetch = 1\nprefetch-window = \"10s\"\nprefetch-percentage = 25\n")
            .unwrap()
            .prefetch
            .unwrap();
        assert_eq!(
            (p.amount, p.window, p.percentage),
            (1, Duration::from_secs(10), 25)
        );
        for (extra, want) in [
            (
                "max-memory = \"1k\"\n",
                "/etc/lb/lb.toml:6: cache.max-memory: invalid value: must be at least 64k",
            ),
            (
                "max-memory = \"lots\"\n",
                "/etc/lb/lb.toml:6: cache.max-memory: invalid value: expected a size",
            ),
            (
                "max-memory = -1\n",
                "/etc/lb/lb.toml:6: cache.max-memory: invalid value",
            ),
            (
                "prefetch = 0\n",
                "/etc/lb/lb.toml:6: cache.prefetch: invalid value",
            ),
            (
                "prefetch-window = \"10s\"\n",
                "/etc/lb/lb.toml:6: cache.prefetch-window: invalid value: needs cache.prefetch",
            ),
            (
                "prefetch = 2\nprefetch-percentage = 0\n",
                "/etc/lb/lb.toml:7: cache.prefetch-percentage: invalid value",
            ),
            (
                "prefetch = 2\nprefetch-window = \"2h\"\n",
                "/etc/lb/lb.toml:7: cache.prefetch-window: invalid value: must be at most 1h",
            ),
        ] {
            let e = cache(extra).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}\n  wanted: {want}");
        }
    }

    /// The example in the README's lb section is a valid config.
    #[test]
    fn readme_example_parses() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("## lb").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let c = parse(text).unwrap();
        assert_eq!(c.tls, vec!["0.0.0.0:853".parse().unwrap()]);
        assert_eq!(c.backends.len(), 2);
        assert_eq!(c.policy, Policy::LeastOutstanding);
        assert_eq!(c.metrics_addr, Some("0.0.0.0:8083".parse().unwrap()));
        assert_eq!(c.tcp_limits.max_connections_per_client, Some(500));
    }

    #[test]
    fn node_local_upstreams_come_from_resolv_conf() {
        let dir = std::env::temp_dir().join(format!("lb-resolv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let resolv = dir.join("resolv.conf");
        std::fs::write(&resolv, "# node\nsearch example.net\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver 2001:db8::53\noptions ndots:1\n").unwrap();
        let text = format!(
            "[node-local]\nfallback = \"10.96.0.10\"\nresolv-conf = \"{}\"\n",
            resolv.display()
        );
        let c = parse(&text).unwrap();
        let addrs: Vec<String> = c.backends.iter().map(|b| b.addr.to_string()).collect();
        assert_eq!(addrs, ["10.0.0.2:53", "[2001:db8::53]:53"]);
        std::fs::write(&resolv, "nameserver 169.254.20.10\n").unwrap();
        let e = parse(&text).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}:1: nameserver: invalid value: 169.254.20.10 is the node-local agent itself",
                resolv.display()
            )),
            "{e}"
        );
        std::fs::write(&resolv, "search x\n").unwrap();
        assert!(parse(&text)
            .unwrap_err()
            .to_string()
            .contains("no nameserver"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn readme_node_local_example_parses() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("### Node-local mode").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let c = parse(text).unwrap();
        let n = c.node_local.unwrap();
        assert_eq!(n.interface.name, "nodelocaldns");
        assert_eq!(n.interface.kind, LinkKind::Dummy);
        assert_eq!(c.udp, vec!["169.254.20.10:53".parse().unwrap()]);
        assert_eq!(n.cluster_dns, "10.96.0.11:53".parse().unwrap());
        assert_eq!(c.backends[0].addr, "10.0.0.2:53".parse().unwrap());
    }

    /// The slow-loris keys of `[listen]` reach the front end; defaults as the
    /// front end's; a zero count or duration is refused at its line.
    #[test]
    fn tcp_limits_reach_the_front_end() {
        let c = parse("[listen]\ntcp = [\"127.0.0.1:53\"]\ntcp-idle-timeout = \"2s\"\ntcp-max-connections = 40\ntcp-max-connections-per-client = 4\ntls-handshake-timeout = \"500ms\"\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n").unwrap();
        let f = crate::server::frontend_config(&c);
        assert_eq!(f.tcp_idle_timeout, Duration::from_secs(2));
        assert_eq!(f.tcp_max_connections, 40);
        assert_eq!(f.per_client_connections(), 4);
        assert_eq!(f.tls_handshake_timeout, Duration::from_millis(500));
        let d = crate::server::frontend_config(&parse(SEED).unwrap());
        assert_eq!(
            (d.tcp_max_connections, d.per_client_connections()),
            (1000, 500)
        );
        for (text, want) in [
            ("[listen]\ntcp = [\"127.0.0.1:53\"]\ntcp-max-connections = 0\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n", "/etc/lb/lb.toml:3: listen.tcp-max-connections: invalid value"),
            ("[listen]\ntcp = [\"127.0.0.1:53\"]\ntcp-idle-timeout = \"0s\"\n[backends]\nservers = [{ addr = \"1.1.1.1\" }]\n", "/etc/lb/lb.toml:3: listen.tcp-idle-timeout: invalid value"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}\n  wanted: {want}");
        }
    }

    #[test]
    fn node_local_section() {
        let c = parse("[node-local]\nlink-type = \"ifb\"\nfirewall = \"nftables\"\nfallback = \"10.96.0.10\"\ncheck-interval = \"5s\"\n[backends]\nservers = [{ addr = \"10.96.0.11\" }]\n").unwrap();
        let n = c.node_local.as_ref().unwrap();
        let agent: SocketAddr = "169.254.20.10:53".parse().unwrap();
        assert_eq!((c.udp.clone(), c.tcp.clone()), (vec![agent], vec![agent]));
        assert_eq!(n.interface.name, "nodelocaldns");
        assert_eq!(n.interface.kind, LinkKind::Ifb);
        assert_eq!(n.firewall.backend, FirewallBackend::Nftables);
        assert_eq!(
            n.firewall.rules.fallback,
            Some("10.96.0.10:53".parse().unwrap())
        );
        assert_eq!(n.check_interval, Duration::from_secs(5));
        assert!(n.keep_fallback);
        assert_eq!(n.cluster_dns, "10.96.0.10:53".parse().unwrap());
        assert_eq!(
            n.cluster_zones,
            ["cluster.local", "in-addr.arpa", "ip6.arpa"]
        );
        assert!(c.summary().contains("node-local: 169.254.20.10 on nodelocaldns (ifb), rules by nftables, fallback DNAT to 10.96.0.10:53 (kept at exit)"), "{}", c.summary());
        // kube-proxy's chains, one for both protocols or one each.
        let chains = |value: &str| {
            let text = format!("[node-local]\nfallback = \"10.96.0.10\"\nfallback-chain = {value}\n[backends]\nservers = [{{ addr = \"10.96.0.11\" }}]\n");
            let c = parse(&text).unwrap();
            let chains = c.node_local.unwrap().firewall.rules.fallback_chain.unwrap();
            (chains.udp, chains.tcp)
        };
        assert_eq!(
            chains("\"KUBE-SVC-A\""),
            ("KUBE-SVC-A".into(), "KUBE-SVC-A".into())
        );
        assert_eq!(
            chains("{ udp = \"KUBE-SVC-A\", tcp = \"KUBE-SVC-B\" }"),
            ("KUBE-SVC-A".into(), "KUBE-SVC-B".into())
        );
        for (text, want) in [
            ("[node-local]\nfallback = \"10.96.0.10\"\nlink-type = \"veth\"\n", "/etc/lb/lb.toml:3: node-local.link-type: invalid value: unknown link type `veth`"),
            ("[node-local]\nlocal-ip = [\"169.254.20.10\"]\n", "/etc/lb/lb.toml:1: node-local.fallback: invalid value: required with a firewall"),
            ("[node-local]\nfallback = \"10.96.0.10\"\nfirewall = \"nftables\"\nfallback-chain = \"KUBE-SVC-X\"\n", "/etc/lb/lb.toml:4: node-local.fallback-chain: not supported: fallback-chain with firewall = nftables"),
            ("[node-local]\nfallback = \"10.96.0.10\"\ninterface = \"a/b\"\n", "/etc/lb/lb.toml:3: node-local.interface: invalid value"),
            ("[node-local]\nfallback = \"10.96.0.10\"\nbogus = 1\n", "/etc/lb/lb.toml:3: bogus: unknown option"),
            ("[node-local]\nlocal-ip = [\"169.254.20.10\", \"10.96.0.10\"]\nfallback = \"10.96.0.10\"\nfallback-chain = \"KUBE-SVC-TCOU7JCQXEZGVUNU\"\n", "/etc/lb/lb.toml:3: node-local.cluster-dns: invalid value: 10.96.0.10 is one of the agent's own addresses"),
            ("[node-local]\nlocal-ip = [\"169.254.20.10\", \"10.96.0.10\"]\nfallback = \"10.96.0.10\"\ncluster-dns = \"10.96.0.11\"\n", "/etc/lb/lb.toml:3: node-local.fallback: invalid value: 10.96.0.10 is one of the agent's own addresses"),
            ("[node-local]\nfallback = \"10.96.0.10\"\ncluster-domain = \"a..b\"\n", "/etc/lb/lb.toml:3: node-local.cluster-domain: invalid value"),
            ("[node-local]\nfallback = \"10.96.0.10\"\nfallback-chain = \"KUBE SVC\"\n", "/etc/lb/lb.toml:3: node-local.fallback-chain: invalid value: `KUBE SVC` is not an iptables chain name"),
            ("[node-local]\nfallback = \"10.96.0.10\"\nfallback-chain = { udp = \"KUBE-SVC-A\" }\n", "/etc/lb/lb.toml:3: node-local.fallback-chain: invalid value: expected a chain name, or { udp"),
        ] {
            let text = format!("{text}[backends]\nservers = [{{ addr = \"10.96.0.11\" }}]\n");
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}\n  wanted: {want}");
        }
    }

    #[test]
    fn discovery_alone_is_enough() {
        let c = parse("[listen]\nudp = [\"0.0.0.0:53\"]\n[backends]\ndiscover = \"unbound-headless.noc-poc.svc.cluster.local\"\n").unwrap();
        let d = c.discovery.unwrap();
        assert_eq!(
            (d.port, d.interval, d.server),
            (53, Duration::from_secs(1), None)
        );
        assert!(c.backends.is_empty());
    }

    #[test]
    fn every_policy_name_parses() {
        for (name, policy) in [
            ("leastOutstanding", Policy::LeastOutstanding),
            ("roundrobin", Policy::RoundRobin),
            ("wrandom", Policy::WeightedRandom),
            ("firstAvailable", Policy::FirstAvailable),
            ("chashed", Policy::ConsistentHash),
        ] {
            assert_eq!(Policy::parse(name), Some(policy));
            assert_eq!(Policy::parse(policy.as_str()), Some(policy));
        }
    }

    #[test]
    fn quick_start_defaults() {
        let c = Config::quick_start(
            &["127.0.0.1:5300".parse().unwrap()],
            &["127.0.0.1:5301".parse().unwrap()],
        )
        .unwrap();
        assert_eq!(c.udp, c.tcp);
        assert_eq!(c.policy, Policy::LeastOutstanding);
        assert!(Config::quick_start(&[], &[]).is_err());
    }

    #[test]
    fn durations_and_addresses() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("2d"), None, "at most a day");
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_addr("[::1]", 53), Some("[::1]:53".parse().unwrap()));
        assert_eq!(
            parse_addr("10.0.0.1", 853),
            Some("10.0.0.1:853".parse().unwrap())
        );
        assert_eq!(parse_addr("host:53", 53), None);
    }
}
