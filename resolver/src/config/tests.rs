//! Tests of the unbound.conf reader: every key in the table, Unbound's defaults,
//! includes, errors that name file:line: key, warnings, local data, listen
//! addresses, and every fixture operators' files are modelled on.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::config::{ConfigError, ConfigErrorKind};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::apply::{
    Handling, KeyDef, CACHEDB_KEYS, DYNLIB_KEYS, FORWARD_KEYS, PYTHON_KEYS, REMOTE_CONTROL_KEYS,
    SERVER_KEYS, STUB_KEYS,
};
use super::default::AS112_ZONES;
use super::*;

const CONF: &str = "/etc/unbound/unbound.conf";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse_str(text, Path::new(CONF))
}

fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(config) => config,
        Err(e) => panic!("expected {text:?} to parse, got: {e}"),
    }
}

fn err(text: &str) -> ConfigError {
    match parse(text) {
        Ok(_) => panic!("expected {text:?} to fail"),
        Err(e) => e,
    }
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// Asserts the error is at `line` of the main file, about `key`, and its text has `needle`.
fn assert_error(e: &ConfigError, line: u32, key: &str, needle: &str) {
    let text = e.to_string();
    assert_eq!(e.location.as_ref().map(|l| l.line), Some(line), "{text}");
    assert_eq!(e.key, key, "{text}");
    assert!(text.contains(needle), "{text:?} should contain {needle:?}");
}

fn has_warning(config: &Config, key: &str) -> bool {
    config.warnings.iter().any(|w| w.key == key)
}

/// A scratch directory removed on drop (no tempfile crate in the workspace).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("resolver-config-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---- defaults -------------------------------------------------------------------

/// Unbound's config_create() defaults when the file only opens `server:`.
#[test]
fn defaults_are_unbounds() {
    let config = ok("server:\n");
    let s = &config.server;
    assert_eq!(
        s.interfaces,
        vec![
            ListenAddr {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: None
            },
            ListenAddr {
                ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
                port: None
            },
        ]
    );
    assert_eq!(s.port, 53);
    assert_eq!(s.num_threads.get(), 1);
    assert!(s.do_ip4 && s.do_ip6 && s.do_udp && s.do_tcp);
    assert_eq!(s.root_hints, None);
    assert_eq!(s.msg_cache_size, 4 * 1024 * 1024);
    assert_eq!(s.rrset_cache_size, 4 * 1024 * 1024);
    assert_eq!(
        (s.cache_min_ttl, s.cache_max_ttl, s.cache_max_negative_ttl),
        (0, 86400, 3600)
    );
    assert!(!s.prefetch && !s.serve_expired);
    assert_eq!(s.serve_expired_ttl, 86400);
    assert_eq!(s.serve_expired_reply_ttl, 30);
    assert_eq!(s.serve_expired_client_timeout, Duration::from_millis(1800));
    assert!(s.qname_minimisation && !s.qname_minimisation_strict);
    assert!(s.harden_glue && s.do_not_query_localhost && s.so_reuseport);
    assert_eq!(s.edns_buffer_size, 1232);
    assert_eq!(s.max_udp_size, 1232);
    assert_eq!(s.num_queries_per_thread, 1024);
    assert_eq!(s.incoming_num_tcp, 10);
    assert_eq!(s.tcp_idle_timeout, Duration::from_secs(30));
    assert_eq!(s.infra_host_ttl, Duration::from_secs(900));
    assert_eq!(
        (s.tls_service_key.clone(), s.tls_service_pem.clone()),
        (None, None)
    );
    assert_eq!(s.tls_port, 853);
    assert_eq!(s.verbosity, 1);
    let l = s.limits;
    assert_eq!(
        (
            l.max_referrals,
            l.max_cname_chain,
            l.max_ns_depth,
            l.max_upstream_queries
        ),
        (130, 11, 4, 200)
    );
    assert_eq!(l.resolution_timeout, Duration::from_millis(4500));
    // Unbound's default module-config; with no trust anchor nothing is validated.
    assert_eq!(config.modules, vec![Module::Validator, Module::Iterator]);
    assert!(config.validation.anchors.is_empty());
    assert_eq!(config.validation, super::ValidationConfig::default());
    assert!(config.cachedb.is_none());
    assert!(config.access_control.is_empty() && config.local_zones.is_empty());
    assert!(config.forward_zones.is_empty() && config.stub_zones.is_empty());
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert_eq!(config.source.as_deref(), Some(Path::new(CONF)));
}

#[test]
fn an_empty_file_is_all_defaults() {
    let config = ok("# nothing but a comment\n\n");
    assert_eq!(config.server.port, 53);
    assert_eq!(config.server.interfaces.len(), 2);
}

#[test]
fn embedded_default_listens_on_loopback_5353_without_a_file() {
    let config = Config::embedded_default();
    assert_eq!(config.source, None);
    assert!(config.cachedb.is_none());
    // A validating resolver with IANA's root anchors built in.
    assert_eq!(config.modules, vec![Module::Validator, Module::Iterator]);
    assert_eq!(
        config.validation.anchors,
        vec![super::AnchorConfig {
            source: super::AnchorSource::IanaRoot,
            location: None
        }]
    );
    let anchors = config.validation.load_anchors().unwrap();
    assert_eq!(anchors.closest(&Name::root()).unwrap().1.ds.len(), 2);
    assert_eq!(config.server.root_hints, None);
    let (udp, tcp, tls) = config.listen_addrs();
    let addr: SocketAddr = "127.0.0.1:5353".parse().unwrap();
    assert_eq!((udp, tcp, tls), (vec![addr], vec![addr], vec![]));
    assert_eq!(config.server.msg_cache_size, 4 * 1024 * 1024);
    assert!(config.summary().contains("embedded default"));
}

#[test]
fn no_interface_and_no_ipv6_listens_on_127_0_0_1_only() {
    let config = ok("server:\n do-ip6: no\n");
    assert_eq!(
        config.server.interfaces,
        vec![ListenAddr {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None
        }]
    );
}

// ---- the key table ------------------------------------------------------------------

/// A config text that puts `def` in `clause` with the other lines the clause needs.
fn line_for(clause: &str, def: &KeyDef, value: &str) -> String {
    let line = format!("    {}: {}\n", def.key, value);
    match clause {
        "server" => {
            let mut text = format!("server:\n{line}");
            if def.key.ends_with("service-key") {
                text.push_str("    tls-service-pem: /tls/tls.crt\n");
            }
            if def.key.ends_with("service-pem") {
                text.push_str("    tls-service-key: /tls/tls.key\n");
            }
            text
        }
        "forward-zone" | "stub-zone" => {
            let mut text = format!("{clause}:\n");
            if def.key != "name" {
                text.push_str("    name: example.org\n");
            }
            if !def.key.ends_with("-addr") && !def.key.ends_with("-host") {
                let prefix = clause.trim_end_matches("-zone");
                text.push_str(&format!("    {prefix}-addr: 192.0.2.1\n"));
            }
            text + &line
        }
        "cachedb" => {
            let mut text =
                "server:\n    module-config: \"cachedb iterator\"\ncachedb:\n".to_string();
            if def.key != "backend" {
                text.push_str("    backend: redis\n");
            }
            text + &line
        }
        _ => format!("{clause}:\n{line}"),
    }
}

/// Every key of every table parses with its example value and does what its row says.
#[test]
fn every_key_in_the_table_is_handled() {
    let tables: [(&str, &[KeyDef]); 7] = [
        ("server", SERVER_KEYS),
        ("forward-zone", FORWARD_KEYS),
        ("stub-zone", STUB_KEYS),
        ("cachedb", CACHEDB_KEYS),
        ("remote-control", REMOTE_CONTROL_KEYS),
        ("python", PYTHON_KEYS),
        ("dynlib", DYNLIB_KEYS),
    ];
    let mut checked = 0;
    for (clause, table) in tables {
        for def in table {
            let text = line_for(clause, def, def.example);
            let result = parse(&text);
            match def.handling {
                Handling::Apply(_) => {
                    if let Err(e) = result {
                        panic!("{clause}: {}: {} failed: {e}", def.key, def.example);
                    }
                }
                Handling::Warn(message) | Handling::WarnUnless(_, message) => {
                    let config = result.unwrap_or_else(|e| panic!("{text}: {e}"));
                    let warning = config.warnings.iter().find(|w| w.key == def.key);
                    let warning =
                        warning.unwrap_or_else(|| panic!("{text}: no warning for {}", def.key));
                    assert_eq!(warning.message, message);
                    assert_eq!(
                        warning.location.line,
                        text.lines()
                            .position(|l| l.trim_start().starts_with(&format!("{}:", def.key)))
                            .unwrap() as u32
                            + 1
                    );
                }
                Handling::Unsupported(_) | Handling::UnsupportedUnless(_, _) => {
                    let e = result
                        .err()
                        .unwrap_or_else(|| panic!("{text}: should be refused"));
                    assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)), "{e}");
                    assert_eq!(e.key, def.key);
                }
            }
            if let Handling::WarnUnless(harmless, _) | Handling::UnsupportedUnless(harmless, _) =
                def.handling
            {
                let value = if harmless.is_empty() {
                    "\"\""
                } else {
                    harmless
                };
                let text = line_for(clause, def, value);
                let config = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
                assert!(
                    !has_warning(&config, def.key),
                    "{text}: harmless value warned"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 250, "only {checked} keys");
}

#[test]
fn every_clause_header_is_handled() {
    for clause in unbound::CLAUSES {
        let result = parse(&format!("{clause}:\n"));
        match *clause {
            "server" | "remote-control" | "dnstap" | "python" | "dynlib" => {
                assert!(result.is_ok(), "{clause}")
            }
            "forward-zone" | "stub-zone" | "cachedb" => {
                // An empty zone or cachedb clause is incomplete.
                assert!(
                    matches!(result.unwrap_err().kind, ConfigErrorKind::Invalid(_)),
                    "{clause}"
                );
            }
            _ => {
                let e = result.unwrap_err();
                assert!(
                    matches!(e.kind, ConfigErrorKind::Unsupported(_)),
                    "{clause}: {e}"
                );
                assert_eq!(e.key, *clause);
            }
        }
    }
}

/// Unbound's own example.conf has empty `python:` and `dynlib:` clauses: accepted.
/// A script or library is refused naming file, line and key.
#[test]
fn empty_python_and_dynlib_clauses_are_accepted_their_keys_refused() {
    let config =
        ok("server:\n verbosity: 1\npython:\ndynlib:\nremote-control:\n control-enable: no\n");
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let e = err("server:\npython:\n  python-script: \"/etc/unbound/x.py\"\n");
    assert_error(&e, 3, "python-script", "not supported: python modules");
    assert_eq!(
        e.to_string().split(": not supported").next(),
        Some("/etc/unbound/unbound.conf:3: python-script")
    );
    let e = err("dynlib:\n  dynlib-file: \"/usr/lib/x.so\"\n");
    assert_error(&e, 2, "dynlib-file", "not supported: dynamic library");
    let e = err("server:\n  python-script: x.py\n");
    assert_error(&e, 2, "python-script", "belongs in a python: clause");
}

fn lexer_keys() -> Vec<(String, String, usize)> {
    let text = fs::read_to_string(fixtures_dir().join("lexer-keys-1.22.0.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace();
            let clause = words.next().unwrap().to_string();
            let key = words.next().unwrap().to_string();
            let values = words.next().unwrap().parse().unwrap();
            (clause, key, values)
        })
        .collect()
}

/// Every key Unbound 1.22's lexer knows is in our tables, so an operator's key is
/// never called an "unknown option" (which reads like a typo): it is honoured,
/// warned about or refused as not supported, or its whole clause is refused.
#[test]
fn every_unbound_1_22_key_is_known() {
    let keys = lexer_keys();
    assert!(keys.len() > 380, "{} keys", keys.len());
    let mut missing = Vec::new();
    for (clause, key, values) in &keys {
        let table: &[KeyDef] = match clause.as_str() {
            "clause" => {
                assert!(unbound::CLAUSES.contains(&key.as_str()), "clause {key}");
                continue;
            }
            "server" => SERVER_KEYS,
            "forward-zone" => FORWARD_KEYS,
            "stub-zone" => STUB_KEYS,
            "cachedb" => CACHEDB_KEYS,
            "remote-control" => REMOTE_CONTROL_KEYS,
            "python" => PYTHON_KEYS,
            "dynlib" => DYNLIB_KEYS,
            "dnstap" => {
                let e = parse(&format!("dnstap:\n {key}: yes\n"));
                assert!(e.is_ok(), "dnstap {key}: {e:?}");
                continue;
            }
            refused => {
                // auth-zone, view, rpz, dnscrypt, ipset: the header is refused first.
                let args = vec!["x"; *values].join(" ");
                let e = err(&format!("{refused}:\n {key}: {args}\n"));
                assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)), "{e}");
                assert_eq!(e.key, refused);
                continue;
            }
        };
        if !table.iter().any(|def| def.key == key) {
            missing.push(format!("{clause}: {key}"));
        }
    }
    assert!(missing.is_empty(), "not in our tables: {missing:?}");
}

#[test]
fn table_keys_are_unique_per_clause() {
    for table in [
        SERVER_KEYS,
        FORWARD_KEYS,
        STUB_KEYS,
        CACHEDB_KEYS,
        REMOTE_CONTROL_KEYS,
        PYTHON_KEYS,
        DYNLIB_KEYS,
    ] {
        let mut keys: Vec<&str> = table.iter().map(|d| d.key).collect();
        let before = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), before);
    }
}

/// Every honoured `server:` key lands in its field.
#[test]
fn honoured_server_keys_map_onto_the_config() {
    let config = ok(r#"
server:
    verbosity: 3
    qname-minimisation: no
    qname-minimisation-strict: yes
    num-threads: 4
    port: 5300
    incoming-num-tcp: 50
    do-ip4: yes
    do-ip6: yes
    do-udp: yes
    do-tcp: yes
    tcp-idle-timeout: 5000
    tls-service-key: "tls/tls.key"
    tls-service-pem: "/etc/tls/tls.crt"
    tls-port: 8853
    interface: 10.1.2.3
    ip-address: 2001:db8::1@5301
    so-reuseport: no
    root-hints: "root.hints"
    edns-buffer-size: 1400
    max-udp-size: 4096
    msg-cache-size: 32m
    rrset-cache-size: 100k
    cache-max-ttl: 7200
    cache-max-negative-ttl: 600
    cache-min-ttl: 30
    infra-host-ttl: 60
    num-queries-per-thread: 2048
    target-fetch-policy: "3 2 1 0 0 0"
    harden-glue: no
    prefetch: yes
    do-not-query-localhost: no
    serve-expired: yes
    serve-expired-ttl: 3600
    serve-expired-reply-ttl: 5
    serve-expired-client-timeout: 0
    max-query-restarts: 8
    max-global-quota: 64
    module-config: "iterator"
"#);
    let s = &config.server;
    assert_eq!(s.verbosity, 3);
    assert!(!s.qname_minimisation && s.qname_minimisation_strict);
    assert_eq!(s.num_threads.get(), 4);
    assert_eq!(s.port, 5300);
    assert_eq!(s.incoming_num_tcp, 50);
    assert_eq!(s.tcp_idle_timeout, Duration::from_millis(5000));
    assert_eq!(
        s.tls_service_key.as_deref(),
        Some(Path::new("/etc/unbound/tls/tls.key"))
    );
    assert_eq!(
        s.tls_service_pem.as_deref(),
        Some(Path::new("/etc/tls/tls.crt"))
    );
    assert_eq!(s.tls_port, 8853);
    assert_eq!(
        s.interfaces,
        vec![
            ListenAddr {
                ip: "10.1.2.3".parse().unwrap(),
                port: None
            },
            ListenAddr {
                ip: "2001:db8::1".parse().unwrap(),
                port: Some(5301)
            },
        ]
    );
    assert!(!s.so_reuseport);
    assert_eq!(
        s.root_hints.as_deref(),
        Some(Path::new("/etc/unbound/root.hints"))
    );
    assert_eq!((s.edns_buffer_size, s.max_udp_size), (1400, 4096));
    assert_eq!(
        (s.msg_cache_size, s.rrset_cache_size),
        (32 << 20, 100 << 10)
    );
    assert_eq!(
        (s.cache_min_ttl, s.cache_max_ttl, s.cache_max_negative_ttl),
        (30, 7200, 600)
    );
    assert_eq!(s.infra_host_ttl, Duration::from_secs(60));
    assert_eq!(s.num_queries_per_thread, 2048);
    assert_eq!(s.limits.max_ns_depth, 5);
    assert!(!s.harden_glue && s.prefetch && !s.do_not_query_localhost);
    assert!(s.serve_expired);
    assert_eq!((s.serve_expired_ttl, s.serve_expired_reply_ttl), (3600, 5));
    assert_eq!(s.serve_expired_client_timeout, Duration::ZERO);
    assert_eq!(
        (s.limits.max_cname_chain, s.limits.max_upstream_queries),
        (8, 64)
    );
    assert_eq!(config.modules, vec![Module::Iterator]);
    // The changed fetch policy is only partly honoured, and says so.
    assert!(has_warning(&config, "target-fetch-policy"));
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
}

#[test]
fn module_config_orders_modules_and_validator_is_honoured() {
    let config =
        ok("server:\n module-config: \"validator cachedb iterator\"\ncachedb:\n backend: redis\n");
    assert_eq!(
        config.modules,
        vec![Module::Validator, Module::Cachedb, Module::Iterator]
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);

    let config = ok("server:\n module-config: validator iterator\n");
    assert_eq!(config.modules, vec![Module::Validator, Module::Iterator]);

    let e = err("server:\n module-config: \"iterator cachedb\"\n");
    assert_error(&e, 2, "module-config", "iterator must be the last module");
    let e = err("server:\n module-config: \"respip iterator\"\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)), "{e}");
    assert_error(&e, 2, "module-config", "respip");
    let e = err("server:\n module-config: \"frobnicator iterator\"\n");
    assert_error(&e, 2, "module-config", "unknown module `frobnicator`");
    let e = err("server:\n module-config: \"iterator iterator\"\n");
    assert_error(&e, 2, "module-config", "twice");
}

#[test]
fn cachedb_module_and_clause_go_together() {
    let config = ok(
        "server:\n module-config: \"cachedb iterator\"\ncachedb:\n backend: \"redis\"\n redis-server-host: redis.example\n redis-server-port: 6380\n redis-timeout: 250\n redis-expire-records: yes\n redis-logical-db: 2\n redis-server-password: pw\n secret-seed: \"seed\"\n redis-server-path: redis.sock\n",
    );
    assert_eq!(config.modules, vec![Module::Cachedb, Module::Iterator]);
    let db = config.cachedb.unwrap();
    assert_eq!(db.backend, "redis");
    assert_eq!((db.host.as_str(), db.port), ("redis.example", 6380));
    assert_eq!(db.timeout, Duration::from_millis(250));
    assert!(db.expire_records);
    assert_eq!(db.logical_db, 2);
    assert_eq!(db.password.as_deref(), Some("pw"));
    assert_eq!(db.secret_seed, "seed");
    assert_eq!(
        db.path.as_deref(),
        Some(Path::new("/etc/unbound/redis.sock"))
    );

    // Unbound's cachedb defaults.
    let db = ok("server:\n module-config: \"cachedb iterator\"\ncachedb:\n backend: redis\n")
        .cachedb
        .unwrap();
    assert_eq!((db.host.as_str(), db.port), ("127.0.0.1", 6379));
    assert_eq!(db.timeout, Duration::from_millis(100));
    assert_eq!(
        (db.secret_seed.as_str(), db.expire_records, db.logical_db),
        ("default", false, 0)
    );
    assert_eq!((db.password, db.path), (None, None));

    // A clause without the module has no effect, and says so.
    let config = ok("cachedb:\n backend: redis\n");
    assert!(config.cachedb.is_none());
    assert_eq!(config.modules, vec![Module::Validator, Module::Iterator]);
    assert!(has_warning(&config, "cachedb"));

    // The module without a clause is dropped, and says so.
    let config = ok("server:\n module-config: \"cachedb iterator\"\n");
    assert!(config.cachedb.is_none());
    assert_eq!(config.modules, vec![Module::Iterator]);
    assert!(has_warning(&config, "module-config"));
}

#[test]
fn cachedb_errors() {
    let e = err("cachedb:\n backend: \"cachedb\"\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)), "{e}");
    assert_error(&e, 2, "backend", "only redis");
    let e = err("cachedb:\n redis-server-host: r\n");
    assert_error(&e, 1, "cachedb", "backend");
    let e = err("cachedb:\n backend: redis\n backend: redis\n");
    assert_error(
        &e,
        3,
        "backend",
        "already set at /etc/unbound/unbound.conf:2",
    );
    let e = err("cachedb:\n backend: redis\n secret-seed: a\n secret-seed: b\n");
    assert_error(&e, 4, "secret-seed", "only one");
    // Unbound only knows secret-seed in cachedb:.
    let e = err("server:\n secret-seed: x\n");
    assert_error(
        &e,
        2,
        "secret-seed",
        "belongs in a cachedb: clause, not in server:",
    );
    let e = err("cachedb:\n backend: redis\n redis-timeout: 1s\n");
    assert_error(&e, 3, "redis-timeout", "milliseconds");
    let e = err("server:\n module-config: \"cachedb iterator\"\ncachedb:\n backend: redis\n redis-sentinel: s1:26379\n redis-cluster-node: c1\n");
    assert_error(
        &e,
        6,
        "redis-cluster-node",
        "use one of Sentinel or Cluster",
    );
    let e = err("cachedb:\n backend: redis\n redis-sentinel: s1:99999\n");
    assert_error(&e, 3, "redis-sentinel", "port");
    let e = err("server:\n module-config: \"cachedb iterator\"\ncachedb:\n backend: redis\n redis-logical-db: 2\n redis-cluster-node: c1\n");
    assert_error(&e, 3, "redis-logical-db", "only database 0");
}

#[test]
fn cachedb_sentinel_cluster_and_no_store() {
    let config = ok("server:\n module-config: \"cachedb iterator\"\ncachedb:\n backend: redis\n redis-sentinel: s1\n redis-sentinel: [fd00::2]:26380\n redis-sentinel-master: noc\n cachedb-no-store: yes\n");
    let db = config.cachedb.expect("cachedb on");
    assert!(db.no_store);
    assert_eq!(
        db.topology,
        RedisTopology::Sentinel {
            sentinels: vec![("s1".into(), 26379), ("fd00::2".into(), 26380)],
            master: "noc".into(),
        }
    );
    let config = ok("server:\n module-config: \"cachedb iterator\"\ncachedb:\n backend: redis\n redis-cluster-node: c1:7000\n redis-cluster-node: c2\n");
    assert_eq!(
        config.cachedb.expect("cachedb on").topology,
        RedisTopology::Cluster {
            nodes: vec![("c1".into(), 7000), ("c2".into(), 6379)],
        }
    );
    let config = ok("server:\n module-config: \"cachedb iterator\"\ncachedb:\n backend: redis\n redis-sentinel-master: m\n");
    assert_eq!(
        config.cachedb.expect("cachedb on").topology,
        RedisTopology::Single
    );
    assert!(config
        .warnings
        .iter()
        .any(|w| w.key == "redis-sentinel-master"));
}

// ---- access-control, local zones, local data ---------------------------------------------

#[test]
fn access_control_actions_and_netblocks() {
    let config = ok("server:
 access-control: 10.0.0.0/8 allow
 access-control: 192.168.0.0/16 allow_snoop
 access-control: 0.0.0.0/0 refuse
 access-control: ::0/0 deny
 access-control: 172.16.0.0/12 deny_non_local
 access-control: 2001:db8::/32 refuse_non_local
 access-control: 192.0.2.7 allow
");
    let rules: Vec<(String, AccessAction)> = config
        .access_control
        .iter()
        .map(|r| (r.net.to_string(), r.action))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("10.0.0.0/8".into(), AccessAction::Allow),
            ("192.168.0.0/16".into(), AccessAction::AllowSnoop),
            ("0.0.0.0/0".into(), AccessAction::Refuse),
            ("::/0".into(), AccessAction::Deny),
            ("172.16.0.0/12".into(), AccessAction::DenyNonLocal),
            ("2001:db8::/32".into(), AccessAction::RefuseNonLocal),
            ("192.0.2.7/32".into(), AccessAction::Allow),
        ]
    );
    assert!(config.warnings.is_empty());
}

#[test]
fn access_control_host_bits_and_duplicates_warn() {
    let config =
        ok("server:\n access-control: 10.1.2.3/8 allow\n access-control: 10.0.0.0/8 refuse\n");
    assert_eq!(config.access_control.len(), 1);
    assert_eq!(config.access_control[0].net.to_string(), "10.0.0.0/8");
    assert_eq!(config.access_control[0].action, AccessAction::Allow);
    assert_eq!(config.warnings.len(), 2);
    assert!(config.warnings[0].message.contains("host bits"));
    assert!(config.warnings[1]
        .message
        .contains("/etc/unbound/unbound.conf:2 applies"));
    assert_eq!(config.warnings[1].location.line, 3);
}

#[test]
fn access_control_errors_name_the_action() {
    let e = err("server:\n access-control: 10.0.0.0/8 permit\n");
    assert_error(&e, 2, "access-control", "unknown action `permit`");
    let e = err("server:\n access-control: 10.0.0.0/8 allow_setrd\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)));
    assert_error(&e, 2, "access-control", "allow_setrd");
    let e = err("server:\n access-control: 10.0.0.0/33 allow\n");
    assert_error(&e, 2, "access-control", "10.0.0.0/33");
    let e = err("server:\n access-control: 10.0.0.0/8\n");
    assert_error(&e, 2, "access-control", "expects 2 values, found 1");
}

#[test]
fn local_zones_every_type_and_nodefault() {
    let types = [
        ("static", LocalZoneType::Static),
        ("refuse", LocalZoneType::Refuse),
        ("deny", LocalZoneType::Deny),
        ("redirect", LocalZoneType::Redirect),
        ("transparent", LocalZoneType::Transparent),
        ("typetransparent", LocalZoneType::TypeTransparent),
        ("always_nxdomain", LocalZoneType::AlwaysNxdomain),
        ("always_refuse", LocalZoneType::AlwaysRefuse),
        ("always_transparent", LocalZoneType::AlwaysTransparent),
        ("always_nodata", LocalZoneType::AlwaysNodata),
        ("always_deny", LocalZoneType::AlwaysDeny),
        ("inform", LocalZoneType::Inform),
        ("inform_deny", LocalZoneType::InformDeny),
    ];
    let mut text = "server:\n".to_string();
    for (i, (kind, _)) in types.iter().enumerate() {
        text.push_str(&format!(" local-zone: \"z{i}.example\" {kind}\n"));
    }
    text.push_str(
        " local-zone: \"localhost.\" nodefault\n local-zone: 10.in-addr.arpa. nodefault\n",
    );
    let config = ok(&text);
    for (i, (kind, expected)) in types.iter().enumerate() {
        assert_eq!(config.local_zones[i].name, name(&format!("z{i}.example.")));
        assert_eq!(config.local_zones[i].kind, *expected);
        assert_eq!(expected.as_str(), *kind);
    }
    assert_eq!(
        config.nodefault,
        vec![name("localhost."), name("10.in-addr.arpa.")]
    );

    let e = err("server:\n local-zone: example.com. block_a\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)));
    let e = err("server:\n local-zone: example.com. stattic\n");
    assert_error(&e, 2, "local-zone", "unknown local-zone type `stattic`");
    let config = ok("server:\n local-zone: a.example static\n local-zone: A.example. refuse\n");
    assert_eq!(config.local_zones.len(), 1);
    assert!(has_warning(&config, "local-zone"));
}

#[test]
fn unblock_lan_zones_drops_the_as112_defaults() {
    let config = ok("server:\n unblock-lan-zones: yes\n");
    assert_eq!(config.nodefault.len(), AS112_ZONES.len());
    assert!(config.nodefault.contains(&name("10.in-addr.arpa.")));
    assert!(config.nodefault.contains(&name("168.192.in-addr.arpa.")));
    assert!(ok("server:\n unblock-lan-zones: no\n").nodefault.is_empty());
}

fn rdata(record: &Record) -> String {
    record.data.to_string()
}

#[test]
fn local_data_records_parse_with_unbound_defaults() {
    let config = ok(r#"server:
 local-data: "www.example.internal. A 192.0.2.10"
 local-data: "v6.example.internal. 300 IN AAAA 2001:db8::10"
 local-data: 'txt.example.internal. TXT "hello world" "second string"'
 local-data: "example.internal. MX 10 mail.example.internal."
 local-data: "relative.example CNAME www.example.internal."
 local-data: mx2.example.internal. IN MX 20 mail2.example.internal.   # unquoted: rest of line
"#);
    let records = &config.local_data;
    assert_eq!(records.len(), 6);
    assert_eq!(records[0].name, name("www.example.internal."));
    assert_eq!(records[0].record_type(), RecordType::A);
    assert_eq!(records[0].ttl, 3600, "Unbound's default local-data TTL");
    assert_eq!(rdata(&records[0]), "192.0.2.10");
    assert_eq!(records[1].ttl, 300);
    assert_eq!(records[1].record_type(), RecordType::AAAA);
    match &records[2].data {
        RData::TXT(txt) => {
            let strings: Vec<String> = txt
                .txt_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            assert_eq!(strings, vec!["hello world", "second string"]);
        }
        other => panic!("expected TXT, got {other:?}"),
    }
    assert_eq!(records[3].record_type(), RecordType::MX);
    // Relative names are relative to the root, as in Unbound.
    assert_eq!(records[4].name, name("relative.example."));
    assert!(records[4].name.is_fqdn());
    assert_eq!(records[5].name, name("mx2.example.internal."));
    assert!(rdata(&records[5]).contains("mail2.example.internal"));
}

#[test]
fn local_data_ptr_builds_reverse_records() {
    let config = ok("server:
 local-data-ptr: \"192.0.2.10 www.example.internal\"
 local-data-ptr: \"2001:db8::1 600 v6.example.internal.\"
");
    let records = &config.local_data;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].name, name("10.2.0.192.in-addr.arpa."));
    assert_eq!(records[0].record_type(), RecordType::PTR);
    assert_eq!(records[0].ttl, 3600);
    assert_eq!(
        rdata(&records[0]).trim_end_matches('.'),
        "www.example.internal"
    );
    assert_eq!(
        records[1].name,
        name("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.")
    );
    assert_eq!(records[1].ttl, 600);

    let e = err("server:\n local-data-ptr: \"www.example.internal 192.0.2.10\"\n");
    assert_error(&e, 2, "local-data-ptr", "expected an IP address");
}

#[test]
fn bad_local_data_names_the_line() {
    let e = err("server:\n\n local-data: \"www.example.internal. A 999.0.2.10\"\n");
    assert_error(&e, 3, "local-data", "cannot parse record");
    let e = err("server:\n local-data: \"www.example.internal. BOGUSTYPE x\"\n");
    assert_error(&e, 2, "local-data", "cannot parse record");
    let e = err("server:\n local-data: \"$INCLUDE /etc/passwd\"\n");
    assert_error(&e, 2, "local-data", "not allowed");
}

// ---- forward and stub zones ---------------------------------------------------------

#[test]
fn forward_zone_addresses_ports_and_tls_names() {
    let config = ok("forward-zone:
    name: \"example.com\"
    forward-addr: 192.0.2.1
    forward-addr: 192.0.2.2@5353
    forward-addr: 2001:db8::53#dns.example.net
    forward-host: ns.example.net@54#ns.example.net
    forward-first: yes
forward-zone:
    name: .
    forward-tls-upstream: yes
    forward-addr: 1.1.1.1#cloudflare-dns.com
    forward-addr: 9.9.9.9@8853
forward-zone:
    name: legacy.example
    forward-ssl-upstream: yes
    forward-addr: 192.0.2.9
");
    let zones = &config.forward_zones;
    assert_eq!(zones.len(), 3);
    assert_eq!(zones[0].name, name("example.com."));
    let addrs: Vec<String> = zones[0].addrs.iter().map(ToString::to_string).collect();
    assert_eq!(
        addrs,
        vec![
            "192.0.2.1:53",
            "192.0.2.2:5353",
            "[2001:db8::53]:53#dns.example.net"
        ]
    );
    assert_eq!(
        zones[0].hosts,
        vec![UpstreamHost {
            name: name("ns.example.net."),
            port: Some(54),
            tls_name: Some("ns.example.net".into())
        }]
    );
    assert!(zones[0].first && !zones[0].tls_upstream);
    assert_eq!(zones[1].name, Name::root());
    assert!(zones[1].tls_upstream);
    // With TLS, an address without a port uses 853.
    assert_eq!(
        zones[1].addrs[0].addr,
        "1.1.1.1:853".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        zones[1].addrs[0].tls_name.as_deref(),
        Some("cloudflare-dns.com")
    );
    assert_eq!(
        zones[1].addrs[1].addr,
        "9.9.9.9:8853".parse::<SocketAddr>().unwrap()
    );
    assert!(zones[2].tls_upstream, "forward-ssl-upstream is an alias");
}

#[test]
fn stub_zone_keys() {
    let config = ok("stub-zone:
    name: corp.example
    stub-addr: 192.0.2.53
    stub-addr: 192.0.2.54@5353
    stub-host: ns1.corp.example
    stub-first: yes
    stub-prime: yes
");
    let zone = &config.stub_zones[0];
    assert_eq!(zone.name, name("corp.example."));
    assert_eq!(zone.addrs.len(), 2);
    assert_eq!(
        zone.addrs[1].addr,
        "192.0.2.54:5353".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(zone.hosts[0].name, name("ns1.corp.example."));
    assert!(zone.first && zone.prime);
}

#[test]
fn zone_validation_errors() {
    let e = err("server:\nforward-zone:\n forward-addr: 192.0.2.1\n");
    assert_error(&e, 2, "forward-zone", "no name");
    let e = err("forward-zone:\n name: example.com\n");
    assert_error(&e, 1, "forward-zone", "no forward-addr or forward-host");
    let e = err("stub-zone:\n name: example.com\n");
    assert_error(&e, 1, "stub-zone", "no stub-addr or stub-host");
    let e = err("forward-zone:\n name: example.com\n forward-addr: 192.0.2.1\nforward-zone:\n name: Example.COM.\n forward-addr: 192.0.2.2\n");
    assert_error(
        &e,
        5,
        "name",
        "already a forward-zone at /etc/unbound/unbound.conf:2",
    );
    let e = err("forward-zone:\n name: example.com\n forward-addr: 192.0.2.1\nstub-zone:\n name: example.com\n stub-addr: 192.0.2.2\n");
    assert_error(&e, 5, "name", "already a forward-zone");
    let e = err("forward-zone:\n name: a.example\n name: b.example\n forward-addr: 192.0.2.1\n");
    assert_error(&e, 3, "name", "already named");
    let e = err("forward-zone:\n name: a.example\n forward-addr: ns.example.net\n");
    assert_error(&e, 3, "forward-addr", "expected IP[@port][#tls-name]");
    let e = err("forward-zone:\n name: a.example\n forward-addr: 192.0.2.1@0\n");
    assert_error(&e, 3, "forward-addr", "port");
    let e = err("forward-zone:\n name: \"\"\n forward-addr: 192.0.2.1\n");
    assert_error(&e, 2, "name", "empty domain name");
    let e = err("server:\n forward-addr: 192.0.2.1\n");
    assert_error(
        &e,
        2,
        "forward-addr",
        "belongs in a forward-zone: clause, not in server:",
    );
}

// ---- other validation ---------------------------------------------------------------

#[test]
fn whole_file_validation_errors() {
    let e = err("server:\n tls-service-key: /tls/key.pem\n");
    assert_error(&e, 2, "tls-service-key", "tls-service-pem is not set");
    let e = err("server:\n tls-service-pem: /tls/cert.pem\n");
    assert_error(&e, 2, "tls-service-pem", "tls-service-key is not set");
    let e = err("server:\n interface: 0.0.0.0\n interface: ::0\n do-ip6: no\n");
    assert_error(&e, 3, "interface", "IPv6 address but do-ip6 is no");
    let e = err("server:\n do-ip4: no\n interface: 10.0.0.1\n");
    assert_error(&e, 3, "interface", "IPv4 address but do-ip4 is no");
    let e = err("server:\n num-threads: 0\n");
    assert_error(&e, 2, "num-threads", "at least 1");
    let e = err("server:\n cache-min-ttl: 7200\n cache-max-ttl: 3600\n");
    assert_error(&e, 2, "cache-min-ttl", "greater than cache-max-ttl");
    let e = err("server:\n cache-max-ttl: 0\n cache-min-ttl: 1\n");
    assert_error(
        &e,
        3,
        "cache-min-ttl",
        "(1) is greater than cache-max-ttl (0)",
    );
    let e = err("server:\n do-ip4: no\n do-ip6: no\n");
    assert_error(&e, 3, "do-ip6", "nothing to listen on");
    let e = err("server:\n do-udp: no\n do-tcp: no\n");
    assert_error(&e, 3, "do-tcp", "nothing to serve");
}

#[test]
fn bad_values_name_file_line_key_and_an_example() {
    let e = err("server:\n num-threads: two\n");
    assert_eq!(
        e.to_string(),
        "/etc/unbound/unbound.conf:2: num-threads: invalid value: expected a whole number from 0 to \
         18446744073709551615, found `two` (example: `num-threads: 2`)"
    );
    let e = err("server:\n  msg-cache-size: 4x\n");
    assert_error(&e, 2, "msg-cache-size", "expected a size");
    let e = err("server:\n prefetch: true\n");
    assert_error(&e, 2, "prefetch", "expected yes or no, found `true`");
    let e = err("server:\n port: 0\n");
    assert_error(&e, 2, "port", "1 to 65535");
    let e = err("server:\n interface: 10.0.0.300\n");
    assert_error(&e, 2, "interface", "expected an IP address");
    let e = err("server:\n interface: eth0\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)), "{e}");
    assert_error(&e, 2, "interface", "interface names");
    let e = err("server:\n edns-buffer-size: 11\n");
    assert_error(&e, 2, "edns-buffer-size", "too small");
    let e = err("server:\n serve-expired-client-timeout: 1.5\n");
    assert_error(&e, 2, "serve-expired-client-timeout", "milliseconds");
}

#[test]
fn unknown_keys_are_errors_naming_file_line_and_key() {
    let e = err("server:\n    verbosity: 1\n    frobnicate: yes\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unknown));
    assert_eq!(
        e.to_string(),
        "/etc/unbound/unbound.conf:3: frobnicate: unknown option"
    );
    // Keys are case-sensitive, as in Unbound.
    let e = err("server:\n Verbosity: 1\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unknown));
    let e = err("forward-zone:\n name: x.example\n forward-addr: 192.0.2.1\n stub-prime: yes\n");
    assert_error(&e, 4, "stub-prime", "belongs in a stub-zone: clause");
}

#[test]
fn values_are_clamped_like_unbound_with_a_warning() {
    let config = ok("server:\n tcp-idle-timeout: 500000\n max-udp-size: 70000\n verbosity: 9\n");
    assert_eq!(
        config.server.tcp_idle_timeout,
        Duration::from_millis(120_000)
    );
    assert_eq!(config.server.max_udp_size, 65535);
    assert_eq!(config.server.verbosity, 5);
    assert!(has_warning(&config, "tcp-idle-timeout") && has_warning(&config, "max-udp-size"));
}

#[test]
fn harmless_keys_warn_by_name_and_containers_defaults_do_not() {
    let config = ok("server:
 chroot: \"/var/lib/unbound\"
 username: \"unbound\"
 do-daemonize: yes
 logfile: /var/log/unbound.log
 statistics-interval: 60
 hide-version: no
remote-control:
 control-enable: yes
");
    for key in [
        "chroot",
        "username",
        "do-daemonize",
        "logfile",
        "statistics-interval",
        "hide-version",
        "control-enable",
    ] {
        assert!(has_warning(&config, key), "no warning for {key}");
    }
    assert!(config
        .warnings
        .iter()
        .any(|w| w.message.contains("non-root")));
    let quiet = ok("server:\n chroot: \"\"\n username: \"\"\n do-daemonize: no\n use-syslog: no\n logfile: \"\"\nremote-control:\n control-enable: no\n");
    assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
    // Warnings print as file:line: key: message.
    let shown = config.warnings[0].to_string();
    assert!(
        shown.starts_with("/etc/unbound/unbound.conf:2: chroot: "),
        "{shown}"
    );
}

/// Issue 15 audit: a key whose absence would change answers or weaken security
/// is refused naming it when it asks for what we do not do, and silent when it
/// asks for what we do anyway.
#[test]
fn keys_that_change_answers_or_security_are_refused_not_warned() {
    for (line, key) in [
        ("deny-any: yes", "deny-any"),
        ("minimal-responses: no", "minimal-responses"),
        ("serve-original-ttl: yes", "serve-original-ttl"),
        ("cache-min-negative-ttl: 30", "cache-min-negative-ttl"),
        ("serve-expired-ttl-reset: yes", "serve-expired-ttl-reset"),
        ("tcp-upstream: yes", "tcp-upstream"),
        ("pad-responses: yes", "pad-responses"),
        ("pad-queries: yes", "pad-queries"),
        ("tls-protocols: TLSv1.3", "tls-protocols"),
        ("tls-ciphers: ECDHE-RSA-AES256-GCM-SHA384", "tls-ciphers"),
        (
            "tls-ciphersuites: TLS_AES_256_GCM_SHA384",
            "tls-ciphersuites",
        ),
    ] {
        let e = err(&format!("server:\n {line}\n"));
        assert!(matches!(e.kind, ConfigErrorKind::Unsupported(_)), "{e}");
        assert_error(&e, 2, key, "not supported");
    }
    for (clause, line, key) in [
        ("forward-zone", "forward-no-cache: yes", "forward-no-cache"),
        (
            "forward-zone",
            "forward-tcp-upstream: yes",
            "forward-tcp-upstream",
        ),
        ("stub-zone", "stub-no-cache: yes", "stub-no-cache"),
        ("stub-zone", "stub-tcp-upstream: yes", "stub-tcp-upstream"),
    ] {
        let prefix = clause.trim_end_matches("-zone");
        let e = err(&format!(
            "{clause}:\n name: example.org\n {prefix}-addr: 192.0.2.1\n {line}\n"
        ));
        assert_error(&e, 4, key, "not supported");
    }
    let quiet = ok("server:
 deny-any: no
 minimal-responses: yes
 serve-original-ttl: no
 cache-min-negative-ttl: 0
 tcp-upstream: no
 pad-responses: no
 answer-cookie: no
 hide-identity: yes
 hide-version: yes
 hide-trustanchor: yes
forward-zone:
 name: example.org
 forward-addr: 192.0.2.1
 forward-no-cache: no
 forward-tcp-upstream: no
");
    assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
}

/// do-not-query-address (iter_donotq.c): netblocks, repeatable, host bits masked.
#[test]
fn do_not_query_address_is_honoured() {
    let config = ok("server:\n do-not-query-address: 192.0.2.0/24\n do-not-query-address: 2001:db8::1\n do-not-query-address: 198.51.100.7/24\n");
    let nets: Vec<String> = config
        .server
        .do_not_query_address
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["192.0.2.0/24", "2001:db8::1/128", "198.51.100.0/24"]);
    assert!(has_warning(&config, "do-not-query-address"));
    let e = err("server:\n do-not-query-address: ns.example\n");
    assert_error(&e, 2, "do-not-query-address", "ns.example");
}

#[test]
fn dnstap_clause_warns() {
    let config = ok("dnstap:\n dnstap-enable: yes\n dnstap-socket-path: /run/dnstap.sock\n");
    assert_eq!(config.warnings.len(), 2);
    assert!(ok("dnstap:\n dnstap-enable: no\n").warnings.is_empty());
    let e = err("dnstap:\n frob: 1\n");
    assert!(matches!(e.kind, ConfigErrorKind::Unknown));
}

// ---- lexer ------------------------------------------------------------------------

#[test]
fn several_directives_on_one_line_and_glued_values() {
    let config = ok("server: verbosity: 2 port: 5353\nserver:num-threads:3\n");
    assert_eq!(config.server.verbosity, 2);
    assert_eq!(config.server.port, 5353);
    assert_eq!(config.server.num_threads.get(), 3);
}

#[test]
fn quotes_comments_and_values_on_the_next_line() {
    let config = ok("server:   # the main clause
    # a full-line comment
\tinterface: '127.0.0.1'   # single quotes
    access-control:
        10.0.0.0/8
        allow
    msg-cache-size: \"8m\"
forward-zone:
    name: \"dot.example\"
    forward-addr: 1.1.1.1@853#cloudflare-dns.com # hash glued to the value is part of it
");
    assert_eq!(
        config.server.interfaces[0].ip,
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    );
    assert_eq!(config.access_control.len(), 1);
    assert_eq!(config.server.msg_cache_size, 8 << 20);
    let addr = &config.forward_zones[0].addrs[0];
    assert_eq!(addr.tls_name.as_deref(), Some("cloudflare-dns.com"));
}

#[test]
fn lexer_errors_name_the_line() {
    let e = err("server:\n interface: \"127.0.0.1\n");
    assert!(matches!(e.kind, ConfigErrorKind::Syntax(_)));
    assert_eq!(e.location.as_ref().map(|l| l.line), Some(2));
    assert!(e.to_string().contains("no closing"), "{e}");

    let e = err("verbosity: 1\n");
    assert_error(&e, 1, "verbosity", "outside any clause");

    let e = err("server:\n private-domain: example.com example.net\n");
    assert_error(&e, 2, "", "expected a `key:`, found `example.net`");

    let e =
        err("server:\n local-zone: example.com.\n local-data: \"a.example.com. A 192.0.2.1\"\n");
    assert_error(
        &e,
        2,
        "local-zone",
        "expects 2 values, found 1 before the next line's `local-data:`",
    );

    let e = err("server:\n port:\n");
    assert_error(&e, 2, "port", "end of the file");

    let e = err("server:\n \"quoted\": 1\n");
    assert!(matches!(e.kind, ConfigErrorKind::Syntax(_)), "{e}");
}

#[test]
fn crlf_files_count_lines_once() {
    let e = err("server:\r\n verbosity: 1\r\n bogus-key: 1\r\n");
    assert_eq!(e.location.as_ref().map(|l| l.line), Some(3));
}

#[test]
fn unbound_directive_list_keeps_clauses_and_locations() {
    let parsed = unbound::parse_text(
        "server:\n port: 53\nforward-zone:\n name: a\nforward-zone:\n name: b\nstub-zone:\n name: c\ncachedb:\n backend: redis\nremote-control:\n control-enable: no\nview:\n name: v\n",
        Path::new("/x/unbound.conf"),
    )
    .unwrap();
    let summary: Vec<(unbound::Clause, &str, u32)> = parsed
        .directives
        .iter()
        .map(|d| (d.clause.clone(), d.key.as_str(), d.location.line))
        .collect();
    use unbound::Clause::*;
    assert_eq!(
        summary,
        vec![
            (Server, "server", 1),
            (Server, "port", 2),
            (ForwardZone(0), "forward-zone", 3),
            (ForwardZone(0), "name", 4),
            (ForwardZone(1), "forward-zone", 5),
            (ForwardZone(1), "name", 6),
            (StubZone(0), "stub-zone", 7),
            (StubZone(0), "name", 8),
            (Cachedb, "cachedb", 9),
            (Cachedb, "backend", 10),
            (RemoteControl, "remote-control", 11),
            (RemoteControl, "control-enable", 12),
            (Other("view".into()), "view", 13),
            (Other("view".into()), "name", 14),
        ]
    );
    assert_eq!(parsed.directives[1].args, vec!["53"]);
    assert_eq!(
        &*parsed.directives[1].location.file,
        Path::new("/x/unbound.conf")
    );
}

// ---- includes ---------------------------------------------------------------------

#[test]
fn include_is_relative_to_the_config_directory_and_keeps_locations() {
    let dir = TempDir::new("relative");
    dir.write(
        "zones/forward.conf",
        "forward-zone:\n name: example.org\n forward-addr: 192.0.2.1\n",
    );
    dir.write("tail.conf", "    verbosity: 4\n    bad-key: 1\n");
    let main = dir.write(
        "unbound.conf",
        "server:\n port: 5353\ninclude: \"zones/forward.conf\"\nserver:\ninclude: tail.conf\n",
    );
    let e = Config::load(&main).unwrap_err();
    // The included file's own name and line.
    assert_eq!(e.location.as_ref().map(|l| l.line), Some(2));
    assert_eq!(
        e.location.as_ref().map(|l| l.file.to_path_buf()),
        Some(dir.0.join("tail.conf"))
    );
    assert_eq!(e.key, "bad-key");

    dir.write("tail.conf", "    verbosity: 4\n");
    let config = Config::load(&main).unwrap();
    assert_eq!(config.server.port, 5353);
    assert_eq!(
        config.server.verbosity, 4,
        "a plain include continues the current clause"
    );
    assert_eq!(config.forward_zones[0].name, name("example.org."));
    assert_eq!(config.source.as_deref(), Some(main.as_path()));
}

#[test]
fn include_glob_is_sorted_and_an_empty_match_warns() {
    let dir = TempDir::new("glob");
    dir.write("conf.d/20-b.conf", "server:\n verbosity: 2\n");
    dir.write("conf.d/10-a.conf", "server:\n verbosity: 1\n port: 1053\n");
    dir.write("conf.d/30-c.conf", "server:\n verbosity: 3\n");
    dir.write("conf.d/.hidden.conf", "server:\n bogus: 1\n");
    dir.write("conf.d/notes.txt", "not a config\n");
    let main = dir.write(
        "unbound.conf",
        "include: \"conf.d/*.conf\"\ninclude: conf.d/none-*.conf\ninclude: conf.d/{30-c,10-a}.conf\n",
    );
    let config = Config::load(&main).unwrap();
    // 10-a, 20-b, 30-c, then the brace expansion in its own order: 30-c, 10-a.
    assert_eq!(config.server.verbosity, 1);
    assert_eq!(config.server.port, 1053);
    let warning = config.warnings.iter().find(|w| w.key == "include").unwrap();
    assert_eq!(warning.location.line, 2);
    assert!(warning.message.contains("matched no files"));

    let parsed = unbound::parse_file(&main).unwrap();
    let verbosities: Vec<&str> = parsed
        .directives
        .iter()
        .filter(|d| d.key == "verbosity")
        .map(|d| d.args[0].as_str())
        .collect();
    assert_eq!(verbosities, vec!["1", "2", "3", "3", "1"]);
}

#[test]
fn include_loops_are_errors_naming_the_chain() {
    let dir = TempDir::new("loop");
    dir.write("a.conf", "server:\ninclude: b.conf\n");
    dir.write("b.conf", "include: a.conf\n");
    let main = dir.write("unbound.conf", "include: a.conf\n");
    let e = Config::load(&main).unwrap_err();
    assert!(matches!(e.kind, ConfigErrorKind::Syntax(_)));
    assert_eq!(e.key, "include");
    let text = e.to_string();
    assert!(text.contains("b.conf:1: include: "), "{text}");
    assert!(text.contains("include loop"), "{text}");
    assert!(
        text.contains("a.conf -> ") && text.ends_with("a.conf"),
        "{text}"
    );

    // Including the same file twice in a row is not a loop.
    dir.write("twice.conf", "server:\n verbosity: 2\n");
    let main = dir.write("ok.conf", "include: twice.conf\ninclude: twice.conf\n");
    assert!(Config::load(&main).is_ok());

    // A file that includes itself.
    let main = dir.write("self.conf", "include: self.conf\n");
    assert!(Config::load(&main)
        .unwrap_err()
        .to_string()
        .contains("include loop"));
}

#[test]
fn missing_files_are_io_errors() {
    let dir = TempDir::new("missing");
    let main = dir.write("unbound.conf", "server:\ninclude: \"nope.conf\"\n");
    let e = Config::load(&main).unwrap_err();
    assert!(matches!(e.kind, ConfigErrorKind::Io { .. }));
    assert_eq!(e.location.as_ref().map(|l| l.line), Some(2));
    assert!(e.to_string().contains("nope.conf"));

    let e = Config::load(&dir.0.join("absent.conf")).unwrap_err();
    assert!(matches!(e.kind, ConfigErrorKind::Io { .. }));
    assert!(e.location.is_none());
}

#[test]
fn include_toplevel_closes_the_clause() {
    let dir = TempDir::new("toplevel");
    dir.write(
        "zones.conf",
        "forward-zone:\n name: example.org\n forward-addr: 192.0.2.1\n",
    );
    let main = dir.write(
        "unbound.conf",
        "server:\n port: 5353\ninclude-toplevel: zones.conf\n verbosity: 2\n",
    );
    let e = Config::load(&main).unwrap_err();
    assert_eq!(e.location.as_ref().map(|l| l.line), Some(4));
    assert!(e.to_string().contains("outside any clause"), "{e}");

    let main = dir.write(
        "ok.conf",
        "server:\ninclude-toplevel: zones.conf\nserver:\n verbosity: 2\n",
    );
    let config = Config::load(&main).unwrap();
    assert_eq!(config.server.verbosity, 2);
    assert_eq!(config.forward_zones.len(), 1);
}

#[test]
fn directory_moves_relative_includes_and_files() {
    let dir = TempDir::new("directory");
    dir.write("etc/extra.conf", "server:\n verbosity: 3\n");
    let main = dir.write(
        "unbound.conf",
        "server:\n directory: etc\n root-hints: root.hints\ninclude: extra.conf\n",
    );
    let config = Config::load(&main).unwrap();
    assert_eq!(config.server.verbosity, 3);
    assert_eq!(
        config.server.root_hints,
        Some(dir.0.join("etc").join("root.hints"))
    );
}

// ---- listen addresses and summary ----------------------------------------------------

#[test]
fn listen_addrs_follow_ports_and_dot_rules() {
    let config = ok("server:
 interface: 0.0.0.0
 interface: 0.0.0.0@853
 interface: ::1@5353
 tls-service-key: /tls/key
 tls-service-pem: /tls/crt
");
    let (udp, tcp, tls) = config.listen_addrs();
    let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
    assert_eq!(udp, vec![sa("0.0.0.0:53"), sa("[::1]:5353")]);
    assert_eq!(tcp, vec![sa("0.0.0.0:53"), sa("[::1]:5353")]);
    assert_eq!(tls, vec![sa("0.0.0.0:853")]);

    // Without a key pair, port 853 is plain DNS.
    let config = ok("server:\n interface: 0.0.0.0@853\n");
    let (udp, tcp, tls) = config.listen_addrs();
    assert_eq!((udp.len(), tcp.len(), tls.len()), (1, 1, 0));

    // port: equal to tls-port makes every interface DoT.
    let config =
        ok("server:\n interface: 10.0.0.1\n port: 853\n tls-service-key: k\n tls-service-pem: c\n");
    let (udp, tcp, tls) = config.listen_addrs();
    assert_eq!(
        (udp.len(), tcp.len(), tls),
        (0, 0, vec![sa("10.0.0.1:853")])
    );

    let config = ok("server:\n interface: 10.0.0.1\n do-udp: no\n");
    let (udp, tcp, _) = config.listen_addrs();
    assert!(udp.is_empty());
    assert_eq!(tcp, vec![sa("10.0.0.1:53")]);
}

/// interface-automatic binds the wildcards on port: or on each
/// interface-automatic-ports port (listen_dnsport.c), UDP reading destinations.
#[test]
fn interface_automatic_binds_wildcards_on_its_ports() {
    let config = ok("server:\n interface-automatic: yes\n port: 5300\n");
    assert!(config.interface_automatic());
    let (udp, tcp, tls) = config.listen_addrs();
    let want: Vec<SocketAddr> = vec![
        "[::]:5300".parse().unwrap(),
        "0.0.0.0:5300".parse().unwrap(),
    ];
    assert_eq!((udp, tcp, tls.len()), (want.clone(), want, 0));
    assert!(crate::server::frontend_config(&config).udp_pktinfo);

    let config = ok("server:\n interface-automatic: yes\n do-ip6: no\n interface-automatic-ports: \"53 5353\"\n");
    let (udp, _, _) = config.listen_addrs();
    assert_eq!(
        udp,
        vec![
            "0.0.0.0:53".parse::<SocketAddr>().unwrap(),
            "0.0.0.0:5353".parse().unwrap()
        ]
    );
    assert!(config.summary().contains("interface-automatic"));

    // Unbound uses it only with UDP on.
    let config = ok("server:\n interface-automatic: yes\n do-udp: no\n interface: 127.0.0.1\n");
    assert!(!config.interface_automatic());
    assert!(!crate::server::frontend_config(&config).udp_pktinfo);
    let off = ok("server:\n interface: 0.0.0.0\n");
    assert!(!crate::server::frontend_config(&off).udp_pktinfo);

    let e = err("server:\n interface-automatic-ports: \"53 dns\"\n");
    assert_error(&e, 2, "interface-automatic-ports", "`dns`");
    let e = err("server:\n interface-automatic-ports: \"70000\"\n");
    assert_error(&e, 2, "interface-automatic-ports", "`70000`");
    // Unbound would ignore the interface: line and listen on every address: refused.
    let e = err("server:\n interface: 10.0.0.1\n interface-automatic: yes\n");
    assert_error(&e, 2, "interface", "interface-automatic");
}

#[test]
fn summary_shows_what_an_operator_checks() {
    let config = ok("server:
 interface: 0.0.0.0
 access-control: 10.0.0.0/8 allow
 module-config: \"cachedb iterator\"
 chroot: /var/lib/unbound
forward-zone:
 name: local.jaws-ug.jp
 forward-addr: 10.0.0.2
cachedb:
 backend: redis
 redis-server-host: redis.noc-poc.svc.cluster.local
");
    let summary = config.summary();
    for needle in [
        "config: /etc/unbound/unbound.conf",
        "listen udp: 0.0.0.0:53",
        "listen dot: off",
        "threads: 1",
        "msg 4 MiB",
        "max 86400 s",
        "access-control: 1 rule(s): 10.0.0.0/8 allow",
        "forward zone local.jaws-ug.jp. -> 10.0.0.2:53",
        "modules: cachedb iterator",
        "cachedb: redis redis.noc-poc.svc.cluster.local:6379",
        "warnings: 1",
        "unbound.conf:5: chroot:",
    ] {
        assert!(
            summary.contains(needle),
            "summary lacks {needle:?}:\n{summary}"
        );
    }
    assert!(summary.lines().count() < 40, "{summary}");
}

// ---- fixtures ---------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/unbound")
}

fn conf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            conf_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "conf") {
            out.push(path);
        }
    }
}

/// Every operator file under tests/fixtures/unbound parses (STYLE.md: every fixture is tested).
#[test]
fn every_fixture_parses() {
    let mut files = Vec::new();
    conf_files(&fixtures_dir(), &mut files);
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        match Config::load(&file) {
            Ok(config) => {
                let summary = config.summary();
                assert!(summary.contains(&file.display().to_string()));
            }
            Err(e) => panic!("{}: {e}", file.display()),
        }
    }
}

#[test]
fn seed_fixture_is_the_noc_setup() {
    let config = Config::load(&fixtures_dir().join("seed-noc.conf")).unwrap();
    let s = &config.server;
    assert_eq!(
        s.interfaces,
        vec![ListenAddr {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: None
        }]
    );
    assert_eq!(s.num_threads.get(), 2);
    assert!(!s.do_ip6);
    let nets: Vec<String> = config
        .access_control
        .iter()
        .map(|r| r.net.to_string())
        .collect();
    assert!(
        nets.contains(&"10.0.0.0/8".to_string()) && nets.contains(&"192.168.0.0/16".to_string())
    );
    assert_eq!(config.modules, vec![Module::Cachedb, Module::Iterator]);
    let zone = &config.forward_zones[0];
    assert_eq!(zone.name, name("local.jaws-ug.jp."));
    let addrs: Vec<String> = zone.addrs.iter().map(ToString::to_string).collect();
    assert_eq!(addrs, vec!["10.0.0.2:53", "10.0.0.3:53"]);
    let db = config.cachedb.as_ref().unwrap();
    assert_eq!(
        (db.host.as_str(), db.port),
        ("redis.noc-poc.svc.cluster.local", 6379)
    );
    // chroot "", do-daemonize no, hide-*: yes (CHAOS queries are refused anyway):
    // nothing to warn about; statistics and remote-control are named.
    for key in ["extended-statistics", "control-enable", "outgoing-range"] {
        assert!(has_warning(&config, key), "{key}");
    }
    assert!(!has_warning(&config, "chroot") && !has_warning(&config, "do-daemonize"));
    assert!(!has_warning(&config, "hide-identity") && !has_warning(&config, "hide-version"));
    let (udp, tcp, tls) = config.listen_addrs();
    assert_eq!(udp, vec!["0.0.0.0:53".parse::<SocketAddr>().unwrap()]);
    assert_eq!((tcp.len(), tls.len()), (1, 0));
}

#[test]
fn dot_fixture_serves_dot_on_853() {
    let config = Config::load(&fixtures_dir().join("dot-service.conf")).unwrap();
    let (udp, tcp, tls) = config.listen_addrs();
    assert_eq!(udp.len(), 2);
    assert_eq!(tcp.len(), 2);
    assert_eq!(
        tls,
        vec!["0.0.0.0:853".parse().unwrap(), "[::]:853".parse().unwrap()]
    );
    let zone = &config.forward_zones[0];
    assert!(zone.tls_upstream);
    assert_eq!(
        zone.addrs[2].addr,
        "9.9.9.9:853".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn local_data_fixture_has_records_and_stubs() {
    let config = Config::load(&fixtures_dir().join("local-data.conf")).unwrap();
    assert_eq!(config.local_data.len(), 7);
    assert!(
        config
            .local_data
            .iter()
            .any(|r| r.record_type() == RecordType::PTR
                && r.name == name("1.1.168.192.in-addr.arpa."))
    );
    assert_eq!(config.local_zones.len(), 3);
    assert!(config.nodefault.contains(&name("localhost.")));
    assert!(config.nodefault.contains(&name("10.in-addr.arpa.")));
    assert_eq!(config.stub_zones.len(), 2);
    assert_eq!(
        config.stub_zones[1].hosts[0].name,
        name("ns1.corp.example.")
    );
}

#[test]
fn distro_fixture_includes_its_snippets_at_top_level() {
    let config = Config::load(&fixtures_dir().join("distro-default.conf")).unwrap();
    assert_eq!(config.server.cache_min_ttl, 300);
    assert_eq!(
        config.validation.auto_files().collect::<Vec<_>>(),
        vec![Path::new("/var/lib/unbound/root.key")]
    );
    assert!(has_warning(&config, "control-interface"));
    assert!(!has_warning(&config, "private-address"));
    let private: Vec<String> = config
        .server
        .private_address
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        private,
        [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16",
            "fd00::/8",
            "fe80::/10"
        ]
    );
}

/// `private-address`/`private-domain` repeat, and a bad value names file, line and key.
#[test]
fn private_address_and_domain_are_repeatable_and_checked() {
    let config = ok("server:
 private-address: 10.0.0.0/8
 private-address: 192.168.1.7/16
 private-address: 2001:db8::1
 private-address: 10.0.0.0/8
 private-domain: corp.example
 private-domain: \"lan.\"
");
    let nets: Vec<String> = config
        .server
        .private_address
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::1/128"]);
    assert!(
        has_warning(&config, "private-address"),
        "host bits are named"
    );
    assert_eq!(
        config.server.private_domain,
        vec![name("corp.example."), name("lan.")]
    );
    let e = err("server:\n private-address: 10.0.0.0/33\n");
    assert_error(&e, 2, "private-address", "netblock");
    let e = err("server:\n private-address: intranet\n");
    assert_error(&e, 2, "private-address", "intranet");
    let e = err("server:\n private-domain: \"\"\n");
    assert_error(&e, 2, "private-domain", "empty domain name");
    let e = err("server:\n private-domain: a..b\n");
    assert_error(&e, 2, "private-domain", "a..b");
}

/// Validation keys map onto `ValidationConfig`, as Unbound reads them.
#[test]
fn validation_keys_are_honoured() {
    let config = ok("server:
 module-config: \"validator iterator\"
 trust-anchor-file: \"keys/root.ds\"
 auto-trust-anchor-file: /var/lib/unbound/root.key
 trust-anchor: \"example. DS 1 13 2 ABCDEF\"
 domain-insecure: corp.example
 val-override-date: \"20260101000000\"
 val-bogus-ttl: 30
 val-permissive-mode: yes
 val-log-level: 1
 val-nsec3-keysize-iterations: \"1024 50 2048 100\"
 ignore-cd-flag: yes
 harden-dnssec-stripped: no
 key-cache-size: 8m
 add-holddown: 60
");
    let v = &config.validation;
    assert_eq!(v.anchors.len(), 3);
    assert_eq!(
        v.anchors[0].source,
        super::AnchorSource::File(Path::new(CONF).parent().unwrap().join("keys/root.ds"))
    );
    assert_eq!(v.anchors[0].location.as_ref().unwrap().line, 3);
    assert_eq!(v.domain_insecure, vec![name("corp.example.")]);
    assert_eq!(v.override_date, Some(1_767_225_600));
    assert_eq!((v.bogus_ttl, v.permissive, v.log_level), (30, true, 1));
    assert_eq!(v.nsec3_max_iterations, 100);
    assert!(v.ignore_cd_flag && !v.harden_dnssec_stripped);
    assert_eq!(v.key_cache_size, 8 * 1024 * 1024);
    assert_eq!(v.autotrust.add_holddown, Duration::from_secs(60));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

/// A broken anchor is an error naming the line: never a silent downgrade.
#[test]
fn broken_trust_anchors_name_their_line() {
    let e = err("server:\n trust-anchor: \"example. DS 1 13 2 XYZ\"\n");
    assert_error(&e, 2, "trust-anchor", "hexadecimal");
    let e = err("server:\n val-override-date: 20261399000000\n");
    assert_error(&e, 2, "val-override-date", "not a valid date");
    let e = err("server:\n harden-algo-downgrade: maybe\n");
    assert_error(&e, 2, "harden-algo-downgrade", "");
    // A missing anchor file fails at start, naming the config line.
    let config = ok("server:\n auto-trust-anchor-file: /nonexistent/root.key\n");
    let e = config.validation.load_anchors().unwrap_err();
    assert_eq!(e.location.unwrap().line, 2);
    assert_eq!(e.key, "auto-trust-anchor-file");
}

/// The ratelimit* and ip-ratelimit* keys: Unbound's defaults and value
/// syntax; what Unbound's parser rejects is rejected at its file, line and key.
#[test]
fn ratelimit_keys() {
    let defaults = ok("server:\n");
    assert_eq!(
        defaults.server.ratelimit,
        crate::ratelimit::ZoneLimitConfig::default()
    );
    assert_eq!(defaults.server.ratelimit.qps, 0);
    assert_eq!(defaults.server.ratelimit.factor, 10);
    assert_eq!(defaults.server.ratelimit.table.size, 4 * 1024 * 1024);
    assert_eq!(defaults.server.ip_ratelimit.qps, 0);
    assert_eq!(defaults.server.ip_ratelimit.factor, 10);
    assert_eq!(defaults.server.ip_ratelimit.cookie_qps, 0);
    assert_eq!(
        ok("server:\n  ip-ratelimit-cookie: 300\n")
            .server
            .ip_ratelimit
            .cookie_qps,
        300
    );
    let e = err("server:\n  ip-ratelimit-cookie: many\n");
    assert_error(&e, 2, "ip-ratelimit-cookie", "ip-ratelimit-cookie");

    let c = ok(
        "server:\n  ratelimit: 100\n  ratelimit-factor: 0\n  ratelimit-backoff: yes\n  \
                ratelimit-size: 1m\n  ratelimit-slabs: 8\n  ratelimit-for-domain: example.com 5\n  \
                ratelimit-for-domain: EXAMPLE.com. 6\n  ratelimit-below-domain: com 0\n  \
                ip-ratelimit: 20\n  ip-ratelimit-factor: 2\n  ip-ratelimit-backoff: yes\n  \
                ip-ratelimit-size: 64k\n  ip-ratelimit-slabs: 2\n",
    );
    let zone = &c.server.ratelimit;
    assert_eq!((zone.qps, zone.factor, zone.backoff), (100, 0, true));
    assert_eq!(zone.table.size, 1024 * 1024);
    assert_eq!(zone.table.slabs, Some(8));
    assert_eq!(
        zone.for_domain,
        vec![(name("EXAMPLE.com."), 6)],
        "the later line wins"
    );
    assert_eq!(zone.below_domain, vec![(name("com."), 0)]);
    let ip = &c.server.ip_ratelimit;
    assert_eq!((ip.qps, ip.factor, ip.backoff), (20, 2, true));
    assert_eq!(ip.table.size, 64 * 1024);
    assert_eq!(ip.table.slabs, Some(2));
    assert!(!has_warning(&c, "ratelimit"));
    assert!(!has_warning(&c, "ip-ratelimit"));
    let summary = c.summary();
    assert!(
        summary.contains(
            "ratelimit: 100 queries/s sent per zone at most (2 overrides), factor 0, backoff yes"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("ip-ratelimit: 20 queries/s per client address, factor 2, backoff yes"),
        "{summary}"
    );
    assert!(!defaults.summary().contains("ratelimit"));

    for (line, key) in [
        ("ratelimit: lots", "ratelimit"),
        ("ratelimit-factor: x", "ratelimit-factor"),
        ("ip-ratelimit: x", "ip-ratelimit"),
        ("ratelimit-backoff: maybe", "ratelimit-backoff"),
        ("ip-ratelimit-size: big", "ip-ratelimit-size"),
        ("ratelimit-for-domain: example.com", "ratelimit-for-domain"),
        (
            "ratelimit-below-domain: example.com many",
            "ratelimit-below-domain",
        ),
    ] {
        let e = err(&format!("server:\n  {line}\n"));
        assert_error(&e, 2, key, key);
    }
    for key in ["ratelimit-slabs", "ip-ratelimit-slabs"] {
        let e = err(&format!("server:\n  {key}: 3\n"));
        assert_error(&e, 2, key, "power of 2");
    }
}

/// use-caps-for-id, caps-exempt (and Unbound's older caps-whitelist, one
/// list), harden-referral-path: Unbound's spellings and defaults (all off);
/// a value Unbound rejects names file, line and key.
#[test]
fn caps_and_referral_path_keys() {
    let s = ok("server:\n").server;
    assert!(!s.use_caps_for_id && !s.harden_referral_path && s.caps_exempt.is_empty());
    let s = ok("server:\n use-caps-for-id: yes\n caps-exempt: \"licdn.com\"\n caps-whitelist: senderbase.org\n caps-exempt: licdn.com.\n harden-referral-path: yes\n").server;
    assert!(s.use_caps_for_id && s.harden_referral_path);
    let exempt: Vec<String> = s.caps_exempt.iter().map(|n| n.to_ascii()).collect();
    assert_eq!(exempt, vec!["licdn.com.", "senderbase.org."]);
    let e = err("server:\n use-caps-for-id: maybe\n");
    assert_error(&e, 2, "use-caps-for-id", "");
    let e = err("server:\n\n harden-referral-path: 1\n");
    assert_error(&e, 3, "harden-referral-path", "");
}

/// DNS cookies (Unbound's answer-cookie, cookie-secret, cookie-secret-file):
/// off by default; a secret must be 128 bits of hex; the file's secrets win
/// over cookie-secret; a missing or corrupt file is an error naming the line.
#[test]
fn cookie_keys() {
    let config = ok("server:\n port: 53\n");
    assert_eq!(config.server.cookies, CookieConfig::default());
    assert_eq!(config.server.cookies.secrets().len(), 1);

    let config =
        ok("server:\n answer-cookie: yes\n cookie-secret: \"000102030405060708090a0b0c0d0e0f\"\n");
    assert!(config.server.cookies.answer);
    let secret: Vec<u8> = (0u8..16).collect();
    assert_eq!(
        config.server.cookies.secrets(),
        vec![<[u8; 16]>::try_from(secret).unwrap()]
    );

    let e = err("server:\n cookie-secret: 0001020304\n");
    assert_error(&e, 2, "cookie-secret", "expected 128 bit hex string");
    let e = err("server:\n answer-cookie: maybe\n");
    assert_error(&e, 2, "answer-cookie", "answer-cookie");

    let dir = TempDir::new("cookies");
    let file = dir.write(
        "secrets",
        "e5e973e5a6b2a43f48e7dc849e37bfcf\n000102030405060708090a0b0c0d0e0f\n",
    );
    let text = format!(
        "server:\n cookie-secret: \"ffffffffffffffffffffffffffffffff\"\n cookie-secret-file: \"{}\"\n",
        file.display()
    );
    let secrets = ok(&text).server.cookies.secrets();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0][0], 0xe5);
    assert_eq!(secrets[1][15], 0x0f);

    let missing = format!(
        "server:\n cookie-secret-file: \"{}/nope\"\n",
        dir.0.display()
    );
    assert_error(&err(&missing), 2, "cookie-secret-file", "could not read");
    let config = ok("server:\n access-control: 10.0.0.0/8 allow_cookie\n");
    let rule = config.access_control.last().unwrap();
    assert_eq!(rule.action, AccessAction::AllowCookie);
    assert_eq!(rule.action.to_string(), "allow_cookie");

    let corrupt = dir.write("corrupt", "e5e973e5\n");
    let text = format!("server:\n\n cookie-secret-file: {}\n", corrupt.display());
    assert_error(&err(&text), 3, "cookie-secret-file", "32 hex digits");
}

/// util/tcp_conn_limit.c: `tcp-connection-limit NETBLOCK LIMIT`, host bits
/// masked, the first entry for a netblock kept; a negative limit or a bad
/// netblock is refused ("positive number expected").
#[test]
fn tcp_connection_limit_netblocks() {
    let config = ok("server:\n    tcp-connection-limit: 192.0.2.7/24 3\n    tcp-connection-limit: 2001:db8::/32 0\n    tcp-connection-limit: 192.0.2.0/24 9\n");
    assert_eq!(
        config.server.tcp_connection_limits,
        vec![
            ("192.0.2.0/24".parse().unwrap(), 3),
            ("2001:db8::/32".parse().unwrap(), 0)
        ]
    );
    assert!(has_warning(&config, "tcp-connection-limit"));
    let frontend = crate::server::frontend_config(&config);
    assert_eq!(frontend.tcp_connection_limits.len(), 2);
    assert_error(
        &err("server:\n    tcp-connection-limit: 192.0.2.0/24 -1\n"),
        2,
        "tcp-connection-limit",
        "non-negative",
    );
    assert_error(
        &err("server:\n    tcp-connection-limit: 192.0.2.300/24 1\n"),
        2,
        "tcp-connection-limit",
        "192.0.2.300",
    );
}

/// configparser.y: `jostle-timeout` is milliseconds (default 200); not a number
/// is an error.
#[test]
fn jostle_timeout_in_milliseconds() {
    assert_eq!(
        ok("server:\n").server.jostle_timeout,
        Duration::from_millis(200)
    );
    let config = ok("server:\n    jostle-timeout: 50\n");
    assert_eq!(config.server.jostle_timeout, Duration::from_millis(50));
    assert!(!has_warning(&config, "jostle-timeout"));
    assert_error(
        &err("server:\n    jostle-timeout: soon\n"),
        2,
        "jostle-timeout",
        "soon",
    );
}

/// Issue 19: the cached-denial keys with Unbound 1.17's defaults
/// (`aggressive-nsec: yes`, `neg-cache-size: 1m`, `harden-below-nxdomain:
/// yes`, `harden-algo-downgrade: no`), honoured without a warning, and a
/// value Unbound rejects names file, line and key.
#[test]
fn cached_denial_keys_have_unbounds_defaults() {
    let v = ok("server:\n").validation;
    assert!(v.aggressive_nsec && v.harden_below_nxdomain && !v.harden_algo_downgrade);
    assert_eq!(v.neg_cache_size, 1024 * 1024);
    let config = ok("server:\n aggressive-nsec: no\n neg-cache-size: 4m\n \
         harden-below-nxdomain: no\n harden-algo-downgrade: yes\n");
    let v = &config.validation;
    assert!(!v.aggressive_nsec && !v.harden_below_nxdomain && v.harden_algo_downgrade);
    assert_eq!(v.neg_cache_size, 4 * 1024 * 1024);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let e = err("server:\n\n neg-cache-size: lots\n");
    assert_error(&e, 3, "neg-cache-size", "");
    let e = err("server:\n aggressive-nsec: sometimes\n");
    assert_error(&e, 2, "aggressive-nsec", "");
}

/// `infra-cache-numhosts` reaches the infra cache; 0 is refused.
#[test]
fn infra_cache_numhosts_is_honoured() {
    assert_eq!(ok("server:\n").server.infra_cache_numhosts, 10_000);
    let config = ok("server:\n    infra-cache-numhosts: 500\n");
    assert_eq!(config.server.infra_cache_numhosts, 500);
    assert!(!has_warning(&config, "infra-cache-numhosts"));
    assert_error(
        &err("server:\n    infra-cache-numhosts: 0\n"),
        2,
        "infra-cache-numhosts",
        "at least 1",
    );
}
