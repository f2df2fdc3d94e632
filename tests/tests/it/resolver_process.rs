//! The resolver binary as operators run it: exit codes, --check-config, signals
//! and readiness, the metrics endpoint, DoT with kdig.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::daemon::{cargo_bin, Daemon, Signal};
use e2e::dig::Dig;
use e2e::fake_dns::Hierarchy;
use e2e::metrics::{http_get, scrape};

use crate::resolver_support::scratch_dir;

pub(crate) fn resolver_bin() -> std::path::PathBuf {
    cargo_bin("resolver").expect("resolver binary built (cargo test builds it)")
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// --check-config on the seed's config prints a summary and exits 0.
#[test]
fn check_config_accepts_the_seed_config() {
    let out = Command::new(resolver_bin())
        .args(["--check-config", "-c"])
        .arg(fixtures().join("unbound/seed-noc.conf"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("local.jaws-ug.jp"), "{stdout}");
}

/// Issue 15: --check-config says whether DNSSEC validation is on and with
/// which anchors: the built-in IANA root anchors without a file, none for the
/// seed's "cachedb iterator", an anchor file's keys; a missing anchor file
/// exits 64 naming the config line and key.
#[test]
fn check_config_reports_validation_and_trust_anchors() {
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(resolver_bin())
            .arg("--check-config")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = run(&[]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("DNSSEC validation: on; trust anchors: . (DS 20326 alg 8, DS 38696 alg 8)"),
        "{stdout}"
    );
    let seed = fixtures().join("unbound/seed-noc.conf");
    let (code, stdout, _) = run(&["-c".as_ref(), seed.as_os_str()]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("DNSSEC validation: off (no validator in module-config)"),
        "{stdout}"
    );
    let dir = scratch_dir("anchors");
    std::fs::write(
        dir.join("example.ds"),
        "example. 3600 IN DS 12345 13 2 ABCDEF0123\n",
    )
    .unwrap();
    let conf = dir.join("unbound.conf");
    std::fs::write(
        &conf,
        "server:\n  trust-anchor-file: example.ds\n  domain-insecure: corp.example\n",
    )
    .unwrap();
    let (code, stdout, _) = run(&["-c".as_ref(), conf.as_os_str()]);
    assert_eq!(code, Some(0));
    assert!(
        stdout
            .contains("trust anchors: example. (DS 12345 alg 13); domain-insecure: corp.example."),
        "{stdout}"
    );
    std::fs::write(
        &conf,
        "server:\n  verbosity: 1\n  auto-trust-anchor-file: missing.key\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&["-c".as_ref(), conf.as_os_str()]);
    assert_eq!(code, Some(64));
    assert!(
        stderr.contains(&format!("{}:3: auto-trust-anchor-file", conf.display())),
        "{stderr}"
    );
}

/// A bad config exits 64 (EX_USAGE) naming file, line and key.
#[test]
fn bad_config_exits_64_naming_file_line_and_key() {
    let dir = scratch_dir("badconf");
    let path = dir.join("bad.conf");
    std::fs::write(&path, "server:\n  verbosity: 1\n  no-such-option: yes\n").unwrap();
    let out = Command::new(resolver_bin())
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("no-such-option"), "{stderr}");
}

pub(crate) async fn spawn_resolver(
    hierarchy: &Hierarchy,
    extra: &str,
) -> (Daemon, SocketAddr, SocketAddr) {
    spawn_resolver_on(hierarchy, 1, extra).await
}

pub(crate) async fn spawn_resolver_on(
    hierarchy: &Hierarchy,
    host: u8,
    extra: &str,
) -> (Daemon, SocketAddr, SocketAddr) {
    let (daemon, dns, metrics, _) = spawn_resolver_with_path(hierarchy, host, extra).await;
    (daemon, dns, metrics)
}

/// Starts the resolver binary on 127.<net>.1.<host>:53 with `extra` config
/// lines; also returns the config file's path.
pub(crate) async fn spawn_resolver_with_path(
    hierarchy: &Hierarchy,
    host: u8,
    extra: &str,
) -> (Daemon, SocketAddr, SocketAddr, std::path::PathBuf) {
    let dir = scratch_dir("proc");
    let hints = dir.join("root.hints");
    hierarchy.write_root_hints(&hints).unwrap();
    let ip = e2e::test_addr(hierarchy.net(), host);
    let path = dir.join("unbound.conf");
    std::fs::write(
        &path,
        format!("server:\n  interface: {ip}\n  port: 53\n  do-not-query-localhost: no\n  root-hints: \"{}\"\n{extra}", hints.display()),
    )
    .unwrap();
    let metrics = SocketAddr::new(ip, e2e::free_port());
    let mut daemon = Daemon::spawn(
        &resolver_bin(),
        &[
            "-c".into(),
            path.display().to_string(),
            "--metrics-addr".into(),
            metrics.to_string(),
            "--lameduck".into(),
            "0.5".into(),
        ],
    )
    .unwrap();
    daemon
        .wait_ready(metrics, Duration::from_secs(10))
        .await
        .unwrap();
    (daemon, SocketAddr::new(ip, 53), metrics, path)
}

/// SIGTERM: /readyz turns 503 at once, queries are still answered during the
/// lameduck period, then the process exits 0.
#[tokio::test]
async fn sigterm_lameduck_then_clean_exit() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut daemon, dns, metrics) = spawn_resolver(&hierarchy, "").await;
    assert_eq!(http_get(metrics, "/healthz").await.unwrap().0, 200);
    daemon.signal(Signal::Term).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(http_get(metrics, "/readyz").await.unwrap().0, 503);
    let during = Dig::new(dns.ip())
        .port(dns.port())
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(during.status, "NOERROR", "{}", during.raw);
    let status = daemon
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("exited");
    assert!(status.success(), "{status:?}\n{}", daemon.log());
}

/// Every documented metric name is exported (CoreDNS metric_naming_test), and
/// the response-time histogram has real buckets.
#[tokio::test]
async fn metrics_endpoint_exports_every_documented_name() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (_daemon, dns, metrics) = spawn_resolver(&hierarchy, "").await;
    let _ = Dig::new(dns.ip())
        .port(dns.port())
        .run("www.example.com", "A")
        .await
        .unwrap();
    let _ = Dig::new(dns.ip())
        .port(dns.port())
        .run("www.example.com", "A")
        .await
        .unwrap();
    let m = scrape(metrics).await.unwrap();
    for name in resolver::metrics::METRIC_NAMES {
        let present =
            m.has(name) || m.has(&format!("{name}_bucket")) || m.has(&format!("{name}_count"));
        assert!(present, "metric {name} missing");
    }
    assert!(m
        .value("unbound_response_time_seconds_bucket", &[("le", "0.001")])
        .is_some());
    assert!(m.sum("unbound_queries_total", &[]) >= 2.0);
    assert!(
        m.value("unbound_answer_rcodes_total", &[("rcode", "NOERROR")])
            .unwrap_or(0.0)
            >= 2.0
    );
    assert!(
        m.value("unbound_query_types_total", &[("type", "A")])
            .unwrap_or(0.0)
            >= 2.0
    );
}

/// DoT (RFC 7858) with kdig: tls-service-key/pem and tls-port serve TLS.
#[tokio::test]
async fn dot_with_kdig() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let dir = scratch_dir("dot");
    let cert = rcgen::generate_simple_self_signed(vec!["resolver.test".to_string()]).unwrap();
    let (pem, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.signing_key.serialize_pem()).unwrap();
    let ip = e2e::test_addr(hierarchy.net(), 1);
    let extra = format!(
        "  interface: {ip}@853\n  tls-port: 853\n  tls-service-pem: \"{}\"\n  tls-service-key: \"{}\"\n",
        pem.display(),
        key.display()
    );
    let (_daemon, _dns, _metrics) = spawn_resolver(&hierarchy, &extra).await;
    let a = Dig::kdig(ip)
        .port(853)
        .tls()
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    assert_eq!(a.answers_of("A"), vec!["192.0.2.1"], "{}", a.raw);
}

/// forward-tls-upstream (RFC 7858 §3.2): a forward zone reached over DoT, the
/// upstream's certificate verified by name against tls-cert-bundle.
#[tokio::test]
async fn forward_zone_over_tls_verifies_the_upstream() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let dir = scratch_dir("dotfwd");
    let cert = rcgen::generate_simple_self_signed(vec!["upstream.test".to_string()]).unwrap();
    let (pem, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.signing_key.serialize_pem()).unwrap();
    let upstream_ip = e2e::test_addr(hierarchy.net(), 1);
    let upstream_extra = format!(
        "  interface: {upstream_ip}@853\n  tls-port: 853\n  tls-service-pem: \"{}\"\n  tls-service-key: \"{}\"\n",
        pem.display(),
        key.display()
    );
    let (_upstream, _, upstream_metrics) = spawn_resolver_on(&hierarchy, 1, &upstream_extra).await;
    let forwarder_extra = format!(
        "  tls-cert-bundle: \"{}\"\nforward-zone:\n  name: \"example.org\"\n  forward-addr: {upstream_ip}@853#upstream.test\n  forward-tls-upstream: yes\n",
        pem.display()
    );
    let (_forwarder, dns, _) = spawn_resolver_on(&hierarchy, 2, &forwarder_extra).await;
    let a = Dig::new(dns.ip())
        .port(dns.port())
        .run("c2.example.org", "A")
        .await
        .unwrap();
    assert_eq!(a.answers_of("A"), vec!["192.0.2.99"], "{}", a.raw);
    let m = scrape(upstream_metrics).await.unwrap();
    assert!(
        m.sum("unbound_query_tls_total", &[]) >= 1.0,
        "the upstream saw no DoT query"
    );

    // A name that does not match the certificate is refused: no answer over TLS.
    let wrong_extra = format!(
        "  tls-cert-bundle: \"{}\"\nforward-zone:\n  name: \"example.org\"\n  forward-addr: {upstream_ip}@853#wrong.test\n  forward-tls-upstream: yes\n",
        pem.display()
    );
    let (_wrong, wrong_dns, _) = spawn_resolver_on(&hierarchy, 3, &wrong_extra).await;
    let refused = Dig::new(wrong_dns.ip())
        .port(wrong_dns.port())
        .wait(Duration::from_secs(5))
        .run("c2.example.org", "A")
        .await
        .unwrap();
    assert_eq!(refused.status, "SERVFAIL", "{}", refused.raw);
}

/// SIGHUP reloads the config like Unbound: new local data is served; a broken
/// file is reported (file:line: key) and the running config stays.
#[tokio::test]
async fn sighup_reloads_config_and_keeps_running_on_a_bad_one() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut daemon, dns, _metrics, path) = spawn_resolver_with_path(
        &hierarchy,
        1,
        "  local-data: \"printer.lan. 60 IN A 10.0.0.1\"\n",
    )
    .await;
    let dig = Dig::new(dns.ip()).port(dns.port());
    let ask = || dig.run("printer.lan", "A");
    assert_eq!(ask().await.unwrap().answers_of("A"), vec!["10.0.0.1"]);

    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("10.0.0.1", "10.0.0.2");
    std::fs::write(&path, &text).unwrap();
    daemon.signal(Signal::Hup).unwrap();
    daemon
        .wait_log("config reloaded", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ask().await.unwrap().answers_of("A"), vec!["10.0.0.2"]);

    std::fs::write(&path, format!("{text}  not-a-real-option: 1\n")).unwrap();
    daemon.signal(Signal::Hup).unwrap();
    daemon
        .wait_log("not-a-real-option", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        ask().await.unwrap().answers_of("A"),
        vec!["10.0.0.2"],
        "{}",
        daemon.log()
    );
}

/// SIGHUP starts the caches empty (as Unbound's reload does) but keeps what
/// was learned about servers (RTT, dead, lame) while `infra-host-ttl` is
/// unchanged: the next answer is asked upstream again, of servers already known.
#[tokio::test]
async fn sighup_empties_the_caches_but_keeps_the_infra_cache() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut daemon, dns, metrics, _path) = spawn_resolver_with_path(&hierarchy, 1, "").await;
    let dig = Dig::new(dns.ip()).port(dns.port());
    let first = dig.run("www.example.com", "A").await.unwrap();
    assert_eq!(first.status, "NOERROR", "{}", first.raw);
    let infra = |m: &e2e::metrics::Scrape| m.value("unbound_infra_cache_count", &[]);
    let before = infra(&scrape(metrics).await.unwrap());
    assert!(before.is_some_and(|n| n >= 3.0), "{before:?}");

    daemon.signal(Signal::Hup).unwrap();
    daemon
        .wait_log("config reloaded", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(infra(&scrape(metrics).await.unwrap()), before, "infra kept");
    hierarchy.reset_counters();
    let again = dig.run("www.example.com", "A").await.unwrap();
    assert_eq!(again.status, "NOERROR", "{}", again.raw);
    assert!(
        hierarchy.server_for_zone("example.com.").queries() >= 1,
        "the answer cache starts empty"
    );
}
