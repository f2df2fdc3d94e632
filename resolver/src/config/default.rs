//! Unbound's defaults, and the embedded configuration `cargo run -p resolver` uses when
//! no file is given.
//!
//! Every default below quotes where Unbound sets it: `config_create()` in
//! util/config_file.c for options, iterator/iterator.h for the iterator's hard limits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use super::{
    AnchorConfig, AnchorSource, CachedbConfig, Config, CookieConfig, ListenAddr, Module,
    RedisTopology, ServerConfig, ValidationConfig, WorkLimits,
};

/// Unbound's `UNBOUND_DNS_PORT`.
pub const DNS_PORT: u16 = 53;
/// Unbound's `UNBOUND_DNS_OVER_TLS_PORT` (`tls-port` default).
pub const DOT_PORT: u16 = 853;
/// Port of the embedded default (no file): unprivileged, so a developer's
/// `cargo run -p resolver` works without root.
pub const EMBEDDED_PORT: u16 = 5353;
/// Default TTL of `local-data` records that give none (Unbound's localzone.c: 3600).
pub const LOCAL_DATA_DEFAULT_TTL: u32 = 3600;

/// The AS112 and private-use reverse zones Unbound serves as empty local zones unless
/// `unblock-lan-zones: yes` (util/as112.c, used by localzone.c `local_zone_enter_defaults`).
pub const AS112_ZONES: &[&str] = &[
    "10.in-addr.arpa.",
    "16.172.in-addr.arpa.",
    "17.172.in-addr.arpa.",
    "18.172.in-addr.arpa.",
    "19.172.in-addr.arpa.",
    "20.172.in-addr.arpa.",
    "21.172.in-addr.arpa.",
    "22.172.in-addr.arpa.",
    "23.172.in-addr.arpa.",
    "24.172.in-addr.arpa.",
    "25.172.in-addr.arpa.",
    "26.172.in-addr.arpa.",
    "27.172.in-addr.arpa.",
    "28.172.in-addr.arpa.",
    "29.172.in-addr.arpa.",
    "30.172.in-addr.arpa.",
    "31.172.in-addr.arpa.",
    "168.192.in-addr.arpa.",
    "0.in-addr.arpa.",
    "64.100.in-addr.arpa.",
    "65.100.in-addr.arpa.",
    "66.100.in-addr.arpa.",
    "67.100.in-addr.arpa.",
    "68.100.in-addr.arpa.",
    "69.100.in-addr.arpa.",
    "70.100.in-addr.arpa.",
    "71.100.in-addr.arpa.",
    "72.100.in-addr.arpa.",
    "73.100.in-addr.arpa.",
    "74.100.in-addr.arpa.",
    "75.100.in-addr.arpa.",
    "76.100.in-addr.arpa.",
    "77.100.in-addr.arpa.",
    "78.100.in-addr.arpa.",
    "79.100.in-addr.arpa.",
    "80.100.in-addr.arpa.",
    "81.100.in-addr.arpa.",
    "82.100.in-addr.arpa.",
    "83.100.in-addr.arpa.",
    "84.100.in-addr.arpa.",
    "85.100.in-addr.arpa.",
    "86.100.in-addr.arpa.",
    "87.100.in-addr.arpa.",
    "88.100.in-addr.arpa.",
    "89.100.in-addr.arpa.",
    "90.100.in-addr.arpa.",
    "91.100.in-addr.arpa.",
    "92.100.in-addr.arpa.",
    "93.100.in-addr.arpa.",
    "94.100.in-addr.arpa.",
    "95.100.in-addr.arpa.",
    "96.100.in-addr.arpa.",
    "97.100.in-addr.arpa.",
    "98.100.in-addr.arpa.",
    "99.100.in-addr.arpa.",
    "100.100.in-addr.arpa.",
    "101.100.in-addr.arpa.",
    "102.100.in-addr.arpa.",
    "103.100.in-addr.arpa.",
    "104.100.in-addr.arpa.",
    "105.100.in-addr.arpa.",
    "106.100.in-addr.arpa.",
    "107.100.in-addr.arpa.",
    "108.100.in-addr.arpa.",
    "109.100.in-addr.arpa.",
    "110.100.in-addr.arpa.",
    "111.100.in-addr.arpa.",
    "112.100.in-addr.arpa.",
    "113.100.in-addr.arpa.",
    "114.100.in-addr.arpa.",
    "115.100.in-addr.arpa.",
    "116.100.in-addr.arpa.",
    "117.100.in-addr.arpa.",
    "118.100.in-addr.arpa.",
    "119.100.in-addr.arpa.",
    "120.100.in-addr.arpa.",
    "121.100.in-addr.arpa.",
    "122.100.in-addr.arpa.",
    "123.100.in-addr.arpa.",
    "124.100.in-addr.arpa.",
    "125.100.in-addr.arpa.",
    "126.100.in-addr.arpa.",
    "127.100.in-addr.arpa.",
    "254.169.in-addr.arpa.",
    "2.0.192.in-addr.arpa.",
    "100.51.198.in-addr.arpa.",
    "113.0.203.in-addr.arpa.",
    "255.255.255.255.in-addr.arpa.",
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
    "d.f.ip6.arpa.",
    "8.e.f.ip6.arpa.",
    "9.e.f.ip6.arpa.",
    "a.e.f.ip6.arpa.",
    "b.e.f.ip6.arpa.",
    "8.b.d.0.1.0.0.2.ip6.arpa.",
];

impl Default for WorkLimits {
    /// Unbound's iterator limits.
    fn default() -> Self {
        Self {
            // iterator/iterator.h: `#define MAX_REFERRAL_COUNT 130`.
            max_referrals: 130,
            // `max-query-restarts` default 11 (config_file.c; MAX_RESTART_COUNT before it was
            // configurable): each CNAME/DNAME followed is one restart.
            max_cname_chain: 11,
            // `target-fetch-policy: "3 2 1 0 0"`: five levels, so max_dependency_depth =
            // 5 - 1 = 4 nested lookups of a name server's address (iter_utils.c read_fetch_policy).
            max_ns_depth: 4,
            // `max-global-quota` default 200: upstream queries for one client query and all
            // its sub-queries together (config_file.c).
            max_upstream_queries: 200,
            // Unbound has no wall-clock budget (its work is bounded by the counts above and
            // its server timeouts; a query to dead servers gets SERVFAIL after about 5 s).
            // Stub resolvers wait 5 s for their first attempt (glibc, dig): a SERVFAIL
            // just before that reaches the client, which then moves on or retries
            // (and meets the SERVFAIL cached for 5 s instead of a second 5 s wait).
            resolution_timeout: Duration::from_millis(4500),
        }
    }
}

impl Default for ServerConfig {
    /// Unbound's `server:` defaults (util/config_file.c `config_create`).
    ///
    /// `interfaces` is empty here: with no `interface:` lines, loading fills in
    /// 127.0.0.1 and ::1 (the families enabled), as Unbound listens on localhost.
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            interface_automatic: false,
            interface_automatic_ports: Vec::new(), // if_automatic_ports = ""
            port: DNS_PORT,
            num_threads: NonZeroUsize::MIN, // num_threads = 1
            do_ip4: true,
            do_ip6: true,
            do_udp: true,
            do_tcp: true,
            root_hints: None,
            msg_cache_size: 4 * 1024 * 1024, // msg_cache_size = 4 * 1024 * 1024
            rrset_cache_size: 4 * 1024 * 1024, // rrset_cache_size = 4 * 1024 * 1024
            cache_min_ttl: 0,                // min_ttl = 0
            cache_max_ttl: 86400,            // max_ttl = 3600 * 24
            cache_max_negative_ttl: 3600,    // max_negative_ttl = 3600
            prefetch: false,
            serve_expired: false,
            serve_expired_ttl: 86400, // serve_expired_ttl = 86400 (Unbound 1.23+)
            serve_expired_reply_ttl: 30,
            serve_expired_client_timeout: Duration::from_millis(1800), // 1800 ms (1.23+)
            qname_minimisation: true,
            qname_minimisation_strict: false,
            harden_glue: true,
            harden_referral_path: false, // harden_referral_path = 0
            use_caps_for_id: false,      // use_caps_bits_for_id = 0
            caps_exempt: Vec::new(),     // caps_whitelist = NULL
            do_not_query_localhost: true,
            do_not_query_address: Vec::new(), // donotqueryaddrs = NULL
            edns_buffer_size: 1232,           // "from DNS flagday recommendation"
            cookies: CookieConfig::default(), // do_answer_cookie = 0, no secret file
            num_queries_per_thread: 1024,     // libevent builds
            jostle_timeout: Duration::from_millis(200),
            incoming_num_tcp: 10,
            tcp_idle_timeout: Duration::from_secs(30), // 30 * 1000 ms
            tcp_connection_limits: Vec::new(),
            tls_service_key: None,
            tls_service_pem: None,
            tls_cert_bundle: None,
            tls_port: DOT_PORT,
            so_reuseport: true, // REUSEPORT_DEFAULT on Linux
            verbosity: 1,
            max_udp_size: 1232,
            infra_host_ttl: Duration::from_secs(900), // host_ttl = 900
            infra_cache_numhosts: 10_000,
            limits: WorkLimits::default(),
            ratelimit: crate::ratelimit::ZoneLimitConfig::default(), // ratelimit = 0, factor 10, 4m
            ip_ratelimit: crate::ratelimit::IpLimitConfig::default(), // ip_ratelimit = 0, factor 10, 4m
            private_address: Vec::new(),                              // private_address = NULL
            private_domain: Vec::new(),                               // private_domain = NULL
        }
    }
}

impl Default for CachedbConfig {
    /// Unbound's `cachedb:` defaults, with the backend we implement.
    fn default() -> Self {
        Self {
            // Unbound defaults to its in-memory "testframe" backend; we only have redis,
            // and require `backend: redis` to be written (see apply.rs).
            backend: "redis".to_string(),
            host: "127.0.0.1".to_string(),
            port: 6379,
            path: None,
            password: None,
            timeout: Duration::from_millis(100), // redis_timeout = 100 ms
            expire_records: false,
            logical_db: 0,
            secret_seed: "default".to_string(),
            no_store: false,
            topology: RedisTopology::Single,
        }
    }
}

impl Config {
    /// The configuration without any file: Unbound's defaults, listening on
    /// 127.0.0.1 port 5353 (unprivileged), in-memory cache only, built-in root hints,
    /// full recursion. This is what `cargo run -p resolver` uses.
    pub fn embedded_default() -> Config {
        let server = ServerConfig {
            interfaces: vec![ListenAddr {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: None,
            }],
            port: EMBEDDED_PORT,
            ..ServerConfig::default()
        };
        let mut config = Config::with_server(None, server);
        // A validating resolver out of the box, as distributions ship Unbound.
        config.validation.anchors.push(AnchorConfig {
            source: AnchorSource::IanaRoot,
            location: None,
        });
        config
    }

    /// An empty configuration around `server`: no ACL lines, zones, local data or cachedb.
    pub(crate) fn with_server(source: Option<std::path::PathBuf>, server: ServerConfig) -> Config {
        Config {
            source,
            server,
            access_control: Vec::new(),
            local_zones: Vec::new(),
            local_data: Vec::new(),
            nodefault: Vec::new(),
            forward_zones: Vec::new(),
            stub_zones: Vec::new(),
            // Unbound's default module-config; without a trust anchor the
            // validator has nothing to check and passes answers through.
            modules: vec![Module::Validator, Module::Iterator],
            cachedb: None,
            validation: ValidationConfig::default(),
            warnings: Vec::new(),
        }
    }
}

/// Unbound's listen addresses when no `interface:` is given: localhost of each family enabled.
pub(crate) fn default_interfaces(do_ip4: bool, do_ip6: bool) -> Vec<ListenAddr> {
    let mut out = Vec::new();
    if do_ip4 {
        out.push(ListenAddr {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None,
        });
    }
    if do_ip6 {
        out.push(ListenAddr {
            ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
            port: None,
        });
    }
    out
}
