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
        })
    }

    /// Reads and validates the TOML file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Validates `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = Source { text, path };
        let raw: RawConfig = toml::from_str(text).map_err(|e| file.toml_error(&e))?;
        let listen = raw.listen.unwrap_or_default();
        let udp = file.addrs(&listen.udp, "listen.udp", DNS_PORT)?;
        let tcp = file.addrs(&listen.tcp, "listen.tcp", DNS_PORT)?;
        let tls = file.addrs(&listen.tls, "listen.tls", DOT_PORT)?;
        if udp.is_empty() && tcp.is_empty() && tls.is_empty() {
            return Err(ConfigError {
                location: Some(file.location(0..0)),
                key: "listen".into(),
                kind: ConfigErrorKind::Invalid(
                    "nothing to listen on: set listen.udp, listen.tcp or listen.tls".into(),
                ),
            });
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
                return Err(file.invalid(
                    at,
                    "listen.tls-cert",
                    "DoT listeners need tls-cert and tls-key",
                ));
            }
            (Some(c), None) => {
                return Err(file.invalid(
                    Some(c.span()),
                    "listen.tls-key",
                    "tls-cert is set but tls-key is not",
                ))
            }
            (None, Some(k)) => {
                return Err(file.invalid(
                    Some(k.span()),
                    "listen.tls-cert",
                    "tls-key is set but tls-cert is not",
                ))
            }
        };
        let threads = match &listen.threads {
            None => default_threads(),
            Some(n) => NonZeroUsize::new(*n.get_ref())
                .filter(|n| n.get() <= 256)
                .ok_or_else(|| {
                    file.invalid(Some(n.span()), "listen.threads", "must be 1 to 256")
                })?,
        };

        let tcp_limits = file.tcp_limits(&listen)?;

        let raw_backends = raw.backends.unwrap_or_default();
        let mut backends = Vec::with_capacity(raw_backends.servers.len());
        for (i, server) in raw_backends.servers.iter().enumerate() {
            let key = format!("backends.servers[{i}]");
            let addr = file.addr(&server.addr, &format!("{key}.addr"), DNS_PORT)?;
            let weight = match &server.weight {
                None => 1,
                Some(w) if *w.get_ref() >= 1 => *w.get_ref(),
                Some(w) => {
                    return Err(file.invalid(
                        Some(w.span()),
                        format!("{key}.weight"),
                        "must be at least 1",
                    ))
                }
            };
            let name = server.name.clone().unwrap_or_else(|| addr.to_string());
            if backends
                .iter()
                .any(|b: &BackendConfig| b.name == name || b.addr == addr)
            {
                return Err(file.invalid(
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
            });
        }
        let discovery = match &raw_backends.discover {
            None => None,
            Some(name) => {
                let text = name.get_ref().trim();
                if text.is_empty() || crate::wire::encode_name(text).is_none() {
                    return Err(file.invalid(
                        Some(name.span()),
                        "backends.discover",
                        format!("`{text}` is not a domain name"),
                    ));
                }
                let port = match &raw_backends.discover_port {
                    None => DNS_PORT,
                    Some(p) if *p.get_ref() > 0 => *p.get_ref(),
                    Some(p) => {
                        return Err(file.invalid(
                            Some(p.span()),
                            "backends.discover-port",
                            "must be 1 to 65535",
                        ))
                    }
                };
                let server = match &raw_backends.discover_server {
                    None => None,
                    Some(a) => Some(file.addr(a, "backends.discover-server", DNS_PORT)?),
                };
                Some(Discovery {
                    name: text.to_string(),
                    port,
                    interval: file.duration(
                        raw_backends.discover_interval.as_ref(),
                        "backends.discover-interval",
                        Duration::from_secs(1),
                    )?,
                    timeout: file.duration(
                        raw_backends.discover_timeout.as_ref(),
                        "backends.discover-timeout",
                        Duration::from_secs(1),
                    )?,
                    server,
                })
            }
        };
        if backends.is_empty() && discovery.is_none() {
            return Err(ConfigError {
                location: Some(file.location(0..0)),
                key: "backends.servers".into(),
                kind: ConfigErrorKind::Invalid(
                    "no backends: list backends.servers or set backends.discover".into(),
                ),
            });
        }
        let timeout = file.duration(
            raw_backends.timeout.as_ref(),
            "backends.timeout",
            Duration::from_secs(1),
        )?;
        let max_outstanding = match &raw_backends.max_outstanding {
            None => 65_535,
            Some(n) if (1..=65_535).contains(n.get_ref()) => *n.get_ref(),
            Some(n) => {
                return Err(file.invalid(
                    Some(n.span()),
                    "backends.max-outstanding",
                    "must be 1 to 65535",
                ))
            }
        };

        let policy = match &raw.policy {
            None => Policy::LeastOutstanding,
            Some(p) => Policy::parse(p.get_ref()).ok_or_else(|| {
                file.invalid(Some(p.span()), "policy", format!("unknown policy `{}` (expected leastOutstanding, roundRobin, wrandom, firstAvailable or chashed)", p.get_ref()))
            })?,
        };

        let mut health = HealthConfig::default();
        if let Some(h) = &raw.health {
            if let Some(enabled) = h.enabled {
                health.enabled = enabled;
            }
            if let Some(name) = &h.query {
                let mut qname = name.get_ref().trim().to_string();
                if !qname.ends_with('.') {
                    qname.push('.');
                }
                if crate::wire::encode_name(&qname).is_none() {
                    return Err(file.invalid(
                        Some(name.span()),
                        "health.query",
                        format!("`{}` is not a valid domain name", name.get_ref()),
                    ));
                }
                health.qname = qname;
            }
            if let Some(t) = &h.qtype {
                health.qtype = crate::wire::qtype_from_name(t.get_ref()).ok_or_else(|| {
                    file.invalid(
                        Some(t.span()),
                        "health.qtype",
                        format!("unknown type `{}`", t.get_ref()),
                    )
                })?;
            }
            health.interval =
                file.duration(h.interval.as_ref(), "health.interval", health.interval)?;
            health.timeout = file.duration(h.timeout.as_ref(), "health.timeout", health.timeout)?;
            if let Some(t) = &h.passive_threshold {
                if *t.get_ref() > 100 {
                    return Err(file.invalid(
                        Some(t.span()),
                        "health.passive-threshold",
                        "a percentage: 0 (off) to 100",
                    ));
                }
                health.passive_threshold = *t.get_ref();
            }
            if let Some(w) = &h.passive_window {
                if !(1..=128).contains(w.get_ref()) {
                    return Err(file.invalid(
                        Some(w.span()),
                        "health.passive-window",
                        "must be 1 to 128",
                    ));
                }
                health.passive_window = *w.get_ref();
            }
            for (value, key, slot) in [
                (&h.rise, "health.rise", &mut health.rise),
                (&h.fall, "health.fall", &mut health.fall),
                (
                    &h.passive_min_samples,
                    "health.passive-min-samples",
                    &mut health.passive_min_samples,
                ),
            ] {
                if let Some(v) = value {
                    if *v.get_ref() < 1 {
                        return Err(file.invalid(Some(v.span()), key, "must be at least 1"));
                    }
                    *slot = *v.get_ref();
                }
            }
        }

        let acl = match raw.acl.as_ref().and_then(|a| a.allow.as_ref()) {
            None => default_acl(),
            Some(list) => list
                .iter()
                .map(|n| {
                    let text = n.get_ref().trim();
                    text.parse::<IpNet>()
                        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            file.invalid(
                                Some(n.span()),
                                "acl.allow",
                                format!("`{text}` is not an address or network"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
        };

        let metrics_addr = match raw.metrics.as_ref().and_then(|m| m.addr.as_ref()) {
            None => None,
            Some(a) => Some(file.addr(a, "metrics.addr", 8083)?),
        };

        let cache = match &raw.cache {
            Some(c) if c.enabled.unwrap_or(true) => {
                let size = match &c.size {
                    None => 100_000,
                    Some(n) if *n.get_ref() >= 1 => *n.get_ref(),
                    Some(n) => {
                        return Err(file.invalid(
                            Some(n.span()),
                            "cache.size",
                            "must be at least 1",
                        ))
                    }
                };
                let max_ttl = file.duration(
                    c.max_ttl.as_ref(),
                    "cache.max-ttl",
                    Duration::from_secs(86_400),
                )?;
                Some(CacheConfig { size, max_ttl })
            }
            _ => None,
        };
        let rate_limit = match &raw.rate_limit {
            None => None,
            Some(r) => {
                let qps = match &r.qps {
                    Some(q) if q.get_ref().is_finite() && *q.get_ref() > 0.0 => *q.get_ref(),
                    Some(q) => {
                        return Err(file.invalid(
                            Some(q.span()),
                            "rate-limit.qps",
                            "must be above 0",
                        ))
                    }
                    None => {
                        return Err(file.invalid(
                            None,
                            "rate-limit.qps",
                            "required when [rate-limit] is present",
                        ))
                    }
                };
                let burst = match &r.burst {
                    None => qps.max(1.0),
                    Some(b) if b.get_ref().is_finite() && *b.get_ref() >= 1.0 => *b.get_ref(),
                    Some(b) => {
                        return Err(file.invalid(
                            Some(b.span()),
                            "rate-limit.burst",
                            "must be at least 1",
                        ))
                    }
                };
                let excess = match r
                    .action
                    .as_ref()
                    .map(|a| (a.get_ref().to_ascii_lowercase(), a.span()))
                {
                    None => Excess::Drop,
                    Some((a, _)) if a == "drop" => Excess::Drop,
                    Some((a, _)) if a == "refuse" || a == "refused" => Excess::Refuse,
                    Some((a, span)) => {
                        return Err(file.invalid(
                            Some(span),
                            "rate-limit.action",
                            format!("unknown action `{a}` (expected drop or refuse)"),
                        ))
                    }
                };
                let max_clients = match &r.max_clients {
                    None => 100_000,
                    Some(m) if *m.get_ref() >= 1 => *m.get_ref(),
                    Some(m) => {
                        return Err(file.invalid(
                            Some(m.span()),
                            "rate-limit.max-clients",
                            "must be at least 1",
                        ))
                    }
                };
                Some(RateLimitConfig {
                    qps,
                    burst,
                    excess,
                    max_clients,
                })
            }
        };

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
            policy,
            timeout,
            max_outstanding,
            health,
            acl,
            metrics_addr,
            rate_limit,
            cache,
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
                let _ = writeln!(
                    s,
                    "packet cache: {} entries, max TTL {} s",
                    c.size,
                    c.max_ttl.as_secs()
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

    /// The `[listen]` TCP keys; counts must be at least 1.
    fn tcp_limits(&self, listen: &RawListen) -> Result<TcpLimits, ConfigError> {
        let default = TcpLimits::default();
        let count = |value: &Option<Spanned<usize>>, key: &str| match value {
            Some(n) if *n.get_ref() == 0 => {
                Err(self.invalid(Some(n.span()), key, "must be at least 1"))
            }
            Some(n) => Ok(Some(*n.get_ref())),
            None => Ok(None),
        };
        Ok(TcpLimits {
            idle_timeout: self.duration(
                listen.tcp_idle_timeout.as_ref(),
                "listen.tcp-idle-timeout",
                default.idle_timeout,
            )?,
            max_connections: count(&listen.tcp_max_connections, "listen.tcp-max-connections")?
                .unwrap_or(default.max_connections),
            max_connections_per_client: count(
                &listen.tcp_max_connections_per_client,
                "listen.tcp-max-connections-per-client",
            )?,
            tls_handshake_timeout: self.duration(
                listen.tls_handshake_timeout.as_ref(),
                "listen.tls-handshake-timeout",
                default.tls_handshake_timeout,
            )?,
        })
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCache {
    enabled: Option<bool>,
    size: Option<Spanned<usize>>,
    max_ttl: Option<Spanned<String>>,
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
