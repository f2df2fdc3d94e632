//! The lb binary in front of fake backends, through real sockets: the quick
//! start with dig, each policy's distribution, failover when a backend is
//! killed under load, SERVFAIL at once with every backend down, the ACL,
//! truncation for TCP clients, config errors, and its metrics.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e2e::daemon::{cargo_bin, free_port, test_addr, unique_net, Daemon, Signal};
use e2e::dig::{query_with, Dig, QueryOptions, Transport};
use e2e::fake_backend::{FakeBackend, FakeDirectory, Mode};
use e2e::metrics::scrape;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use tokio::time::Instant;

use crate::resolver_support::scratch_dir;

fn lb_bin() -> PathBuf {
    cargo_bin("lb").expect("lb binary built (cargo build --workspace --bins)")
}

/// A test's network: the lb on 127.<net>.1.1:53, backends on 127.<net>.2.<k>:53.
pub(crate) struct Net {
    net: u8,
}

impl Net {
    pub(crate) fn new() -> Net {
        Net { net: unique_net() }
    }
    pub(crate) fn lb(&self) -> SocketAddr {
        SocketAddr::new(test_addr(self.net, 1), 53)
    }
    fn backend(&self, k: u8) -> SocketAddr {
        SocketAddr::new(IpAddr::from([127, self.net, 2, k]), 53)
    }
    pub(crate) async fn backends(&self, n: u8) -> Vec<FakeBackend> {
        let mut out = Vec::new();
        for k in 1..=n {
            out.push(FakeBackend::start(self.backend(k), k).await.unwrap());
        }
        out
    }
}

/// Starts the lb with the TOML `config` (listen and metrics filled in), waits
/// until it is ready, and returns it with its metrics address.
pub(crate) async fn start_lb(net: &Net, config: &str) -> (Daemon, SocketAddr) {
    let (daemon, metrics, _) = start_lb_with_path(net, config).await;
    (daemon, metrics)
}

/// The lb's config file text: `config` (top-level keys first, then tables),
/// then the listen and metrics tables.
fn lb_toml(net: &Net, metrics: SocketAddr, config: &str) -> String {
    format!(
        "{config}\n[listen]\nudp = [\"{lb}\"]\ntcp = [\"{lb}\"]\nthreads = 2\n\n[metrics]\naddr = \"{metrics}\"\n",
        lb = net.lb()
    )
}

/// [`start_lb`], also returning the config file's path.
async fn start_lb_with_path(net: &Net, config: &str) -> (Daemon, SocketAddr, PathBuf) {
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let dir = scratch_dir("lb");
    let path = dir.join("lb.toml");
    std::fs::write(&path, lb_toml(net, metrics, config)).unwrap();
    let mut daemon = Daemon::spawn(&lb_bin(), &["-c".into(), path.display().to_string()]).unwrap();
    daemon
        .wait_ready(metrics, Duration::from_secs(10))
        .await
        .unwrap();
    (daemon, metrics, path)
}

/// The `[backends]` table for `backends`, with a 300 ms timeout so that tests
/// of failure move on quickly.
pub(crate) fn servers(backends: &[FakeBackend], extra: &[&str]) -> String {
    servers_with_timeout(backends, extra, "300ms")
}

/// [`servers`] with a 5 s timeout, for tests that count the queries each
/// backend saw while none fails: on a loaded machine a 300 ms timeout fires
/// for a slow but healthy backend, and the retry is one query more.
fn patient_servers(backends: &[FakeBackend]) -> String {
    servers_with_timeout(backends, &[], "5s")
}

/// The `[backends]` table for `backends` with `timeout`; `extra` adds keys
/// to each server's inline table.
fn servers_with_timeout(backends: &[FakeBackend], extra: &[&str], timeout: &str) -> String {
    let mut s = format!("[backends]\ntimeout = \"{timeout}\"\nservers = [\n");
    for (i, b) in backends.iter().enumerate() {
        let more = extra.get(i).copied().unwrap_or("");
        s.push_str(&format!(
            "  {{ addr = \"{}\", name = \"b{}\"{more} }},\n",
            b.addr(),
            i + 1
        ));
    }
    s.push_str("]\n");
    s
}

const QUICK_CHECKS: &str =
    "[health]\ninterval = \"100ms\"\ntimeout = \"200ms\"\nquery = \"health.check.\"\n";

/// The last octet of the A record answered (which backend answered), or
/// `None` for no answer.
async fn ask(
    lb: SocketAddr,
    name: &str,
    transport: Transport,
) -> Option<(ResponseCode, Option<u8>)> {
    let options = QueryOptions {
        timeout: Duration::from_secs(2),
        ..QueryOptions::default()
    };
    let msg = query_with(lb, name, RecordType::A, transport, options)
        .await
        .ok()?;
    let tag = msg.answers.iter().find_map(|r| match &r.data {
        RData::A(a) => Some(a.0.octets()[3]),
        _ => None,
    });
    Some((msg.response_code, tag))
}

/// The quick start (`lb --listen ADDR BACKEND...`) answers dig through a backend,
/// over UDP and TCP, and exports dnsdist's metric names.
#[tokio::test]
async fn quick_start_answers_dig_over_udp_and_tcp() {
    let net = Net::new();
    let backends = net.backends(2).await;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut daemon = Daemon::spawn(
        &lb_bin(),
        &[
            "--listen".into(),
            net.lb().to_string(),
            backends[0].addr().to_string(),
            backends[1].addr().to_string(),
            "--metrics-addr".into(),
            metrics.to_string(),
        ],
    )
    .unwrap();
    daemon
        .wait_ready(metrics, Duration::from_secs(10))
        .await
        .unwrap();
    for tcp in [false, true] {
        let mut dig = Dig::new(net.lb().ip()).port(53);
        if tcp {
            dig = dig.tcp();
        }
        let r = dig.run("www.example.test", "A").await.unwrap();
        assert_eq!(r.status, "NOERROR", "{}", r.raw);
        let answer = r.answers_of("A");
        assert!(
            answer == ["192.0.2.1"] || answer == ["192.0.2.2"],
            "{}",
            r.raw
        );
    }
    let s = scrape(metrics).await.unwrap();
    assert!(s.sum("dnsdist_queries", &[]) >= 2.0);
    assert!(s.sum("dnsdist_responses", &[]) >= 2.0);
    assert!(s.has("dnsdist_server_queries"));
    assert_eq!(
        s.value(
            "dnsdist_server_status",
            &[("server", &backends[0].addr().to_string())]
        ),
        Some(1.0)
    );
    assert!(s.has("dnsdist_latency_seconds_bucket"));
    daemon.signal(Signal::Term).unwrap();
    assert!(daemon
        .wait_exit(Duration::from_secs(10))
        .await
        .is_some_and(|s| s.success()));
}

/// Sends `n` queries for distinct names under `suffix`, `concurrency` at a time;
/// returns how many got an answer.
async fn load(lb: SocketAddr, suffix: &str, n: usize, concurrency: usize) -> usize {
    let answered = Arc::new(AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let answered = answered.clone();
        let suffix = suffix.to_string();
        set.spawn(async move {
            for i in (worker..n).step_by(concurrency) {
                if let Some((ResponseCode::NoError, Some(_))) =
                    ask(lb, &format!("q{i}.{suffix}"), Transport::Udp).await
                {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    answered.load(Ordering::Relaxed) as usize
}

#[tokio::test]
async fn round_robin_spreads_evenly() {
    let net = Net::new();
    let backends = net.backends(3).await;
    let (_lb, _) = start_lb(
        &net,
        &format!(
            "policy = \"roundRobin\"\n{}[health]\nenabled = false\n",
            patient_servers(&backends)
        ),
    )
    .await;
    assert_eq!(load(net.lb(), "rr.test", 300, 1).await, 300);
    for b in &backends {
        assert_eq!(
            b.queries_under("rr.test."),
            100,
            "round robin must alternate exactly"
        );
    }
}

#[tokio::test]
async fn weighted_random_follows_weights() {
    let net = Net::new();
    let backends = net.backends(2).await;
    let (_lb, _) = start_lb(
        &net,
        &format!(
            "policy = \"wrandom\"\n{}[health]\nenabled = false\n",
            servers(&backends, &["", ", weight = 3"])
        ),
    )
    .await;
    assert_eq!(load(net.lb(), "wr.test", 800, 8).await, 800);
    let heavy = backends[1].queries_under("wr.test.") as f64 / 800.0;
    assert!((0.65..0.85).contains(&heavy), "weight 3 of 4 got {heavy}");
}

#[tokio::test]
async fn first_available_uses_the_lowest_order_until_it_fails() {
    let net = Net::new();
    let mut backends = net.backends(2).await;
    let (_lb, _) = start_lb(
        &net,
        &format!(
            "policy = \"firstAvailable\"\n{}{QUICK_CHECKS}",
            servers(&backends, &[", order = 2", ", order = 1"])
        ),
    )
    .await;
    assert_eq!(load(net.lb(), "fa.test", 50, 4).await, 50);
    assert_eq!(backends[1].queries_under("fa.test."), 50);
    assert_eq!(backends[0].queries_under("fa.test."), 0);
    backends[1].stop();
    // The retry covers the queries in flight; the health check takes it out.
    assert_eq!(load(net.lb(), "fa2.test", 50, 4).await, 50);
    assert_eq!(backends[0].queries_under("fa2.test."), 50);
}

#[tokio::test]
async fn consistent_hash_pins_each_name_to_one_backend() {
    let net = Net::new();
    let backends = net.backends(3).await;
    let (_lb, _) = start_lb(
        &net,
        &format!(
            "policy = \"chashed\"\n{}[health]\nenabled = false\n",
            patient_servers(&backends)
        ),
    )
    .await;
    // 200 names, each asked three times.
    for _ in 0..3 {
        assert_eq!(load(net.lb(), "ch.test", 200, 8).await, 200);
    }
    let mut total = 0;
    for b in &backends {
        let names = b.names_under("ch.test.");
        total += names.len();
        assert!(
            names.len() > 20,
            "a backend got only {} of 200 names",
            names.len()
        );
        assert_eq!(
            b.queries_under("ch.test."),
            names.len() as u64 * 3,
            "a name moved between backends"
        );
    }
    assert_eq!(total, 200, "every name on exactly one backend");
}

#[tokio::test]
async fn least_outstanding_avoids_a_slow_backend() {
    let net = Net::new();
    let backends = net.backends(2).await;
    backends[0].set_delay(Duration::from_millis(50));
    let (_lb, _) = start_lb(
        &net,
        &format!("{}[health]\nenabled = false\n", servers(&backends, &[])),
    )
    .await;
    assert_eq!(load(net.lb(), "lo.test", 400, 16).await, 400);
    let slow = backends[0].queries_under("lo.test.");
    assert!(slow < 100, "the slow backend got {slow} of 400");
}

/// A backend killed under load: the lb retries the queries in flight on the
/// other backend and the health check takes the dead one out; fewer than 0.1%
/// of queries are lost and the survivor carries the traffic within 2 s.
#[tokio::test]
async fn failover_when_a_backend_is_killed_under_load() {
    let net = Net::new();
    let mut backends = net.backends(2).await;
    let (_lb, metrics) =
        start_lb(&net, &format!("{}{QUICK_CHECKS}", servers(&backends, &[]))).await;
    let lb = net.lb();
    let sent = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let mut clients = tokio::task::JoinSet::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    for worker in 0..8u64 {
        let (sent, lost) = (sent.clone(), lost.clone());
        clients.spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline && i < 5_000 {
                sent.fetch_add(1, Ordering::Relaxed);
                match ask(lb, &format!("w{worker}-{i}.fo.test"), Transport::Udp).await {
                    Some((ResponseCode::NoError, Some(_))) => {}
                    _ => {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += 1;
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    backends[0].stop();
    while clients.join_next().await.is_some() {}
    let (sent, lost) = (sent.load(Ordering::Relaxed), lost.load(Ordering::Relaxed));
    assert!(sent > 1000, "load too light to mean anything: {sent}");
    assert!(lost * 1000 < sent, "lost {lost} of {sent}");
    // By the end of the load, 2 s after the kill, the dead backend is down.
    let s = scrape(metrics).await.unwrap();
    assert_eq!(
        s.value("dnsdist_server_status", &[("server", "b1")]),
        Some(0.0)
    );
    let answered_late = load(lb, "after.fo.test", 100, 4).await;
    assert_eq!(answered_late, 100);
    assert_eq!(backends[1].queries_under("after.fo.test."), 100);
}

/// With every backend down the lb answers SERVFAIL at once instead of letting
/// clients time out.
#[tokio::test]
async fn all_backends_down_is_servfail_at_once() {
    let net = Net::new();
    let mut backends = net.backends(2).await;
    let (_lb, metrics) =
        start_lb(&net, &format!("{}{QUICK_CHECKS}", servers(&backends, &[]))).await;
    for b in &mut backends {
        b.stop();
    }
    // Wait for the checks to notice (interval 100 ms, timeout 200 ms).
    let mut down = false;
    for _ in 0..50 {
        let s = scrape(metrics).await.unwrap();
        if s.sum("dnsdist_server_status", &[]) == 0.0 {
            down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(down, "backends never marked down");
    let before = scrape(metrics).await.unwrap();
    let r = Dig::new(net.lb().ip())
        .port(53)
        .run("x.down.test", "A")
        .await
        .unwrap();
    assert_eq!(r.status, "SERVFAIL", "{}", r.raw);
    // At once: answered with no backend chosen, so nothing was sent that
    // could have timed out first.
    let after = scrape(metrics).await.unwrap();
    let grew = |name: &str| after.sum(name, &[]) - before.sum(name, &[]);
    assert_eq!(grew("dnsdist_no_policy"), 1.0);
    assert_eq!(grew("dnsdist_server_queries"), 0.0);
    assert_eq!(grew("dnsdist_downstream_timeouts"), 0.0);
}

/// A backend that stops answering: the query is retried once on the other
/// backend while the client waits.
#[tokio::test]
async fn timeout_is_retried_on_another_backend() {
    let net = Net::new();
    let backends = net.backends(2).await;
    backends[0].set_mode(Mode::Silent);
    let (_lb, metrics) = start_lb(
        &net,
        &format!(
            "policy = \"roundRobin\"\n{}[health]\nenabled = false\n",
            servers(&backends, &[])
        ),
    )
    .await;
    for i in 0..10 {
        let got = ask(net.lb(), &format!("r{i}.retry.test"), Transport::Udp).await;
        assert_eq!(got, Some((ResponseCode::NoError, Some(2))));
    }
    let s = scrape(metrics).await.unwrap();
    assert!(s.sum("dnsdist_retries", &[]) >= 5.0);
    assert!(s.sum("dnsdist_downstream_timeouts", &[]) >= 5.0);
}

/// Clients outside the ACL get nothing; inside, answers.
#[tokio::test]
async fn acl_drops_clients_outside_it() {
    let net = Net::new();
    let backends = net.backends(1).await;
    let inside = test_addr(net.net, 9);
    let (_lb, metrics) = start_lb(
        &net,
        &format!(
            "{}[health]\nenabled = false\n[acl]\nallow = [\"{inside}/32\"]\n",
            servers(&backends, &[])
        ),
    )
    .await;
    let outside = Dig::new(net.lb().ip())
        .port(53)
        .arg("-b")
        .arg("127.0.0.1")
        .run("a.acl.test", "A")
        .await
        .unwrap();
    assert!(outside.timed_out(), "{}", outside.raw);
    let allowed = Dig::new(net.lb().ip())
        .port(53)
        .arg("-b")
        .arg(&inside.to_string())
        .run("a.acl.test", "A")
        .await
        .unwrap();
    assert_eq!(allowed.status, "NOERROR", "{}", allowed.raw);
    let s = scrape(metrics).await.unwrap();
    assert!(s.sum("dnsdist_acl_drops", &[]) >= 1.0);
}

/// A truncated answer goes to a UDP client as it is (TC set); a TCP client
/// gets the full answer, fetched from the backend over TCP.
#[tokio::test]
async fn truncation_passes_to_udp_and_is_resolved_for_tcp() {
    let net = Net::new();
    let backends = net.backends(1).await;
    backends[0].set_mode(Mode::TruncateUdp);
    let (_lb, _) = start_lb(
        &net,
        &format!("{}[health]\nenabled = false\n", servers(&backends, &[])),
    )
    .await;
    let udp = Dig::new(net.lb().ip())
        .port(53)
        .ignore_tc()
        .run("big.tc.test", "A")
        .await
        .unwrap();
    assert!(udp.has_flag("tc"), "{}", udp.raw);
    let tcp = Dig::new(net.lb().ip())
        .port(53)
        .tcp()
        .run("big.tc.test", "A")
        .await
        .unwrap();
    assert!(!tcp.has_flag("tc"), "{}", tcp.raw);
    assert_eq!(tcp.answers_of("A"), ["192.0.2.1"], "{}", tcp.raw);
}

/// A SERVFAIL from a backend is passed on (it answered; it is not a timeout).
#[tokio::test]
async fn backend_servfail_is_passed_through() {
    let net = Net::new();
    let backends = net.backends(1).await;
    backends[0].set_mode(Mode::Servfail);
    let (_lb, metrics) = start_lb(
        &net,
        &format!("{}[health]\nenabled = false\n", servers(&backends, &[])),
    )
    .await;
    assert_eq!(
        ask(net.lb(), "x.sf.test", Transport::Udp).await,
        Some((ResponseCode::ServFail, None))
    );
    let s = scrape(metrics).await.unwrap();
    assert!(s.sum("dnsdist_servfail_responses", &[]) >= 1.0);
}

/// SIGHUP under load swaps the backend set and policy without losing a query;
/// the change is logged and counted, and a broken file keeps the running config.
#[tokio::test]
async fn sighup_reload_under_load_swaps_backends() {
    let net = Net::new();
    let backends = net.backends(2).await;
    let only = |b: &FakeBackend| {
        format!("[backends]\ntimeout = \"5s\"\nservers = [{{ addr = \"{}\" }}]\n[health]\nenabled = false\n", b.addr())
    };
    let (mut daemon, metrics, path) = start_lb_with_path(&net, &only(&backends[0])).await;
    let lb = net.lb();
    // Clients query until told to stop (at most 20 000 queries), across the reload.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (sent, answered) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut clients = tokio::task::JoinSet::new();
    for worker in 0..8u64 {
        let (stop, sent, answered) = (stop.clone(), sent.clone(), answered.clone());
        clients.spawn(async move {
            for i in 0..2_500u64 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                match ask(lb, &format!("w{worker}-{i}.hup.test"), Transport::Udp).await {
                    Some((ResponseCode::NoError, Some(_))) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    other => eprintln!("not answered: w{worker}-{i}: {other:?}"),
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(
        &path,
        lb_toml(
            &net,
            metrics,
            &format!("policy = \"roundRobin\"\n{}", only(&backends[1])),
        ),
    )
    .unwrap();
    daemon.signal(Signal::Hup).unwrap();
    daemon
        .wait_log("SIGHUP: config reloaded", Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    while clients.join_next().await.is_some() {}
    let (sent, answered) = (
        sent.load(Ordering::Relaxed),
        answered.load(Ordering::Relaxed),
    );
    assert!(sent > 500, "load too light: {sent}");
    assert_eq!(answered, sent, "queries lost across the reload");
    assert!(backends[0].queries_under("hup.test.") > 0);
    assert!(backends[1].queries_under("hup.test.") > 0);
    assert_eq!(load(lb, "after.hup.test", 50, 4).await, 50);
    assert_eq!(backends[1].queries_under("after.hup.test."), 50);
    let s = scrape(metrics).await.unwrap();
    assert_eq!(
        s.value("dnsdist_backend_changes", &[("change", "added")]),
        Some(1.0)
    );
    assert_eq!(
        s.value("dnsdist_backend_changes", &[("change", "removed")]),
        Some(1.0)
    );
    // A broken file: logged with its line, the running config stays.
    std::fs::write(
        &path,
        lb_toml(
            &net,
            metrics,
            "[backends]\nservers = [{ addr = \"nowhere\" }]\n",
        ),
    )
    .unwrap();
    daemon.signal(Signal::Hup).unwrap();
    daemon
        .wait_log("config not reloaded", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        daemon.log().contains(&format!("{}:2", path.display())),
        "{}",
        daemon.log()
    );
    assert_eq!(load(lb, "still.hup.test", 20, 2).await, 20);
}

/// Polls the lb's metrics until `name{labels}` reaches `want` (10 s at most).
async fn wait_metric(metrics: SocketAddr, name: &str, labels: &[(&str, &str)], want: f64) {
    for _ in 0..100 {
        if scrape(metrics).await.unwrap().sum(name, labels) >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name}{labels:?} never reached {want}");
}

/// Backends from a DNS name: added and removed as the name's addresses change,
/// with no restart; queries in flight to a removed backend complete; a failing
/// lookup keeps the backends.
#[tokio::test]
async fn discovered_backends_follow_the_name() {
    let net = Net::new();
    let backends = net.backends(3).await;
    let ip = |k: u8| std::net::Ipv4Addr::new(127, net.net, 2, k);
    let mut directory =
        FakeDirectory::start(SocketAddr::from(([127, net.net, 3, 1], 53)), &[ip(1)])
            .await
            .unwrap();
    let config = format!(
        "policy = \"roundRobin\"\n[backends]\ntimeout = \"1s\"\ndiscover = \"resolvers.test\"\ndiscover-server = \"{}\"\ndiscover-interval = \"200ms\"\n[health]\nenabled = false\n",
        directory.addr()
    );
    let (lb_daemon, metrics) = start_lb(&net, &config).await;
    let lb = net.lb();
    assert_eq!(load(lb, "one.dis.test", 30, 2).await, 30);
    assert_eq!(backends[0].queries_under("one.dis.test."), 30);

    directory.set(&[ip(1), ip(2)]);
    wait_metric(
        metrics,
        "dnsdist_backend_changes",
        &[("change", "added")],
        2.0,
    )
    .await;
    assert_eq!(load(lb, "two.dis.test", 40, 1).await, 40);
    assert_eq!(backends[0].queries_under("two.dis.test."), 20);
    assert_eq!(backends[1].queries_under("two.dis.test."), 20);

    // Backend 1 becomes slow, then leaves the name while queries wait on it.
    backends[0].set_delay(Duration::from_millis(600));
    let in_flight = tokio::spawn(async move {
        let mut tags = Vec::new();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..6 {
            set.spawn(async move { ask(lb, &format!("f{i}.slow.dis.test"), Transport::Udp).await });
        }
        while let Some(r) = set.join_next().await {
            tags.push(r.unwrap());
        }
        tags
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    directory.set(&[ip(2), ip(3)]);
    wait_metric(
        metrics,
        "dnsdist_backend_changes",
        &[("change", "removed")],
        1.0,
    )
    .await;
    let tags = in_flight.await.unwrap();
    assert!(
        tags.iter()
            .all(|t| matches!(t, Some((ResponseCode::NoError, Some(_))))),
        "{tags:?}"
    );
    assert!(
        tags.contains(&Some((ResponseCode::NoError, Some(1)))),
        "in-flight queries to the removed backend completed there: {tags:?}"
    );
    assert_eq!(load(lb, "three.dis.test", 40, 1).await, 40);
    assert_eq!(backends[0].queries_under("three.dis.test."), 0);
    assert_eq!(backends[1].queries_under("three.dis.test."), 20);
    assert_eq!(backends[2].queries_under("three.dis.test."), 20);
    // The removed backend's series leave the scrape; the others stay.
    let s = scrape(metrics).await.unwrap();
    let gone = backends[0].addr().to_string();
    let stale: Vec<&str> = s
        .samples
        .iter()
        .filter(|m| m.label("address") == Some(gone.as_str()))
        .map(|m| m.name.as_str())
        .collect();
    assert!(stale.is_empty(), "series of the removed backend: {stale:?}");
    let third = backends[2].addr().to_string();
    assert!(
        s.value("dnsdist_server_queries", &[("address", third.as_str())])
            .is_some_and(|n| n >= 20.0),
        "the new backend's series are there"
    );
    assert_eq!(
        s.value("dnsdist_server_status", &[("address", third.as_str())]),
        Some(1.0)
    );

    // The directory goes away: lookups fail, the backends stay.
    directory.stop();
    wait_metric(metrics, "dnsdist_discovery_failures", &[], 2.0).await;
    assert_eq!(load(lb, "four.dis.test", 20, 2).await, 20);
    let log = lb_daemon.log();
    assert_eq!(
        log.matches("backend discovery failed").count(),
        1,
        "logged once per state change:\n{log}"
    );
}

/// Sends `n` A queries from a socket bound to `source`, as fast as they go, and
/// collects the rcodes of the replies that arrive within 1 s of the last send.
async fn burst_from(source: IpAddr, lb: SocketAddr, n: u16) -> Vec<u8> {
    let socket = tokio::net::UdpSocket::bind(SocketAddr::new(source, 0))
        .await
        .unwrap();
    for id in 0..n {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        q.extend_from_slice(b"\x01x\x02rl\x04test\x00\x00\x01\x00\x01");
        socket.send_to(&q, lb).await.unwrap();
    }
    let mut rcodes = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(Ok((len, _))) =
        tokio::time::timeout(Duration::from_secs(1), socket.recv_from(&mut buf)).await
    {
        if len >= 4 {
            rcodes.push(buf[3] & 0x0F);
        }
    }
    rcodes
}

/// Per-client rate limiting: a client over its rate gets REFUSED (or nothing,
/// with action drop) past its burst; another client keeps its own allowance.
#[tokio::test]
async fn rate_limit_refuses_or_drops_the_excess_per_client() {
    for (action, refused_expected) in [("refuse", true), ("drop", false)] {
        let net = Net::new();
        let backends = net.backends(1).await;
        let (_lb, metrics) = start_lb(
            &net,
            &format!("{}[health]\nenabled = false\n[rate-limit]\nqps = 5\nburst = 20\naction = \"{action}\"\n", servers(&backends, &[])),
        )
        .await;
        let noisy = burst_from(test_addr(net.net, 20), net.lb(), 100).await;
        let answered = noisy.iter().filter(|&&r| r == 0).count();
        let refused = noisy.iter().filter(|&&r| r == 5).count();
        assert!(
            (20..=22).contains(&answered),
            "{action}: {answered} answered past a burst of 20"
        );
        if refused_expected {
            assert_eq!(answered + refused, 100, "{action}: every query answered");
        } else {
            assert_eq!(refused, 0);
            assert_eq!(noisy.len(), answered, "{action}: the excess gets nothing");
        }
        let quiet = burst_from(test_addr(net.net, 21), net.lb(), 10).await;
        assert_eq!(quiet, vec![0; 10], "another client has its own bucket");
        let s = scrape(metrics).await.unwrap();
        let metric = if refused_expected {
            "dnsdist_rule_refused"
        } else {
            "dnsdist_rule_drop"
        };
        assert!(
            s.sum(metric, &[]) >= 78.0,
            "{metric}: {}",
            s.sum(metric, &[])
        );
    }
}

/// Writes a self-signed certificate for `name` into `dir/<version>/` and points
/// `dir/..data` at it, as Kubernetes mounts a Secret; returns the cert's PEM path.
fn secret_version(dir: &std::path::Path, version: &str, name: &str) -> PathBuf {
    let cert = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    let versioned = dir.join(version);
    std::fs::create_dir_all(&versioned).unwrap();
    std::fs::write(versioned.join("tls.crt"), cert.cert.pem()).unwrap();
    std::fs::write(versioned.join("tls.key"), cert.signing_key.serialize_pem()).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(version, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for file in ["tls.crt", "tls.key"] {
        let link = dir.join(file);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("..data/{file}"), &link).unwrap();
        }
    }
    versioned.join("tls.crt")
}

/// DoT with kdig, the certificate from a Kubernetes-style Secret mount, and
/// the certificate rotated by swapping the `..data` link: new handshakes get
/// the new certificate, with no restart.
#[tokio::test]
async fn dot_with_kdig_and_secret_rotation() {
    let net = Net::new();
    let backends = net.backends(1).await;
    let secret = scratch_dir("lb-secret");
    let first = secret_version(&secret, "..2026_11_22_v1", "lb-v1.test");
    let dot = SocketAddr::new(net.lb().ip(), 853);
    let config = format!(
        "{}[health]\nenabled = false\n[listen]\ntls = [\"{dot}\"]\ntls-cert = \"{}\"\ntls-key = \"{}\"\n",
        servers(&backends, &[]),
        secret.join("tls.crt").display(),
        secret.join("tls.key").display()
    );
    // start_lb appends its own [listen]; give the whole file here instead.
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let path = scratch_dir("lb-dot").join("lb.toml");
    std::fs::write(
        &path,
        format!(
            "{config}udp = [\"{lb}\"]\n[metrics]\naddr = \"{metrics}\"\n",
            lb = net.lb()
        ),
    )
    .unwrap();
    let mut daemon = Daemon::spawn(&lb_bin(), &["-c".into(), path.display().to_string()]).unwrap();
    daemon
        .wait_ready(metrics, Duration::from_secs(10))
        .await
        .unwrap();

    let verified = |ca: &PathBuf, name: &str| {
        Dig::kdig(dot.ip())
            .port(853)
            .tls()
            .arg(&format!("+tls-ca={}", ca.display()))
            .arg(&format!("+tls-hostname={name}"))
    };
    let r = verified(&first, "lb-v1.test")
        .run("www.dot.test", "A")
        .await
        .unwrap();
    assert_eq!(r.status, "NOERROR", "{}", r.raw);
    assert_eq!(r.answers_of("A"), ["192.0.2.1"], "{}", r.raw);

    let second = secret_version(&secret, "..2026_11_22_v2", "lb-v2.test");
    let mut rotated = false;
    for _ in 0..40 {
        let r = verified(&second, "lb-v2.test")
            .run("www.dot.test", "A")
            .await
            .unwrap();
        if r.status == "NOERROR" {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        rotated,
        "the rotated certificate was never served; log:\n{}",
        daemon.log()
    );
}

/// The packet cache (on in the config): a repeated question is answered
/// without reaching the backend, with the client's ID and spelling of the name
/// and TTLs reduced by the entry's age; the DO bit is part of the key; and with
/// no [cache] section every query reaches the backend.
#[tokio::test]
async fn packet_cache_answers_repeats_with_aged_ttls() {
    let net = Net::new();
    let backends = net.backends(1).await;
    let (_lb, metrics) = start_lb(
        &net,
        &format!(
            "{}[health]\nenabled = false\n[cache]\nsize = 1000\n",
            patient_servers(&backends)
        ),
    )
    .await;
    let dig = || Dig::new(net.lb().ip()).port(53);
    let first = dig().run("www.cache.test", "A").await.unwrap();
    assert_eq!(first.answer[0].ttl, 60, "{}", first.raw);
    for _ in 0..3 {
        let again = dig().run("www.cache.test", "A").await.unwrap();
        assert_eq!(again.answers_of("A"), ["192.0.2.1"], "{}", again.raw);
    }
    assert_eq!(
        backends[0].queries_under("www.cache.test."),
        1,
        "repeats answered from the cache"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let aged = dig().run("WWW.Cache.TEST", "A").await.unwrap();
    assert_eq!(aged.status, "NOERROR", "{}", aged.raw);
    assert!(aged.answer[0].ttl <= 58, "TTL not aged: {}", aged.raw);
    assert!(
        aged.raw.contains("WWW.Cache.TEST."),
        "the client's spelling: {}",
        aged.raw
    );
    assert_eq!(backends[0].queries_under("www.cache.test."), 1);
    let dnssec = dig().dnssec().run("www.cache.test", "A").await.unwrap();
    assert_eq!(dnssec.status, "NOERROR", "{}", dnssec.raw);
    assert_eq!(
        backends[0].queries_under("www.cache.test."),
        2,
        "DO is part of the key"
    );
    let s = scrape(metrics).await.unwrap();
    assert!(s.sum("dnsdist_cache_hits", &[]) >= 4.0);
    assert!(s.sum("dnsdist_cache_misses", &[]) >= 2.0);

    // Off by default.
    let net = Net::new();
    let backends = net.backends(1).await;
    let (_lb, _) = start_lb(
        &net,
        &format!("{}[health]\nenabled = false\n", patient_servers(&backends)),
    )
    .await;
    for _ in 0..3 {
        let r = Dig::new(net.lb().ip())
            .port(53)
            .run("www.cache.test", "A")
            .await
            .unwrap();
        assert_eq!(r.status, "NOERROR", "{}", r.raw);
    }
    assert_eq!(backends[0].queries_under("www.cache.test."), 3);
}

/// serve-stale: once an entry has expired, a backend that answers SERVFAIL
/// or not at all gets the stale entry served (TTL 30, RFC 8767) instead of
/// a SERVFAIL, within the window; a name never cached still gets SERVFAIL.
#[tokio::test]
async fn serve_stale_answers_when_the_backend_fails() {
    let net = Net::new();
    let backends = net.backends(1).await;
    let (_lb, metrics) = start_lb(
        &net,
        &format!(
            "{}[health]\nenabled = false\n[cache]\nsize = 100\nmax-ttl = \"1s\"\nserve-stale = \"1h\"\n",
            servers(&backends, &[])
        ),
    )
    .await;
    let dig = || Dig::new(net.lb().ip()).port(53);
    let fresh = dig().run("www.stale.test", "A").await.unwrap();
    assert_eq!(fresh.answers_of("A"), ["192.0.2.1"], "{}", fresh.raw);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for mode in [Mode::Servfail, Mode::Silent] {
        backends[0].set_mode(mode);
        let stale = dig().run("www.stale.test", "A").await.unwrap();
        assert_eq!(
            stale.answers_of("A"),
            ["192.0.2.1"],
            "{mode:?}: {}",
            stale.raw
        );
        assert_eq!(stale.answer[0].ttl, 30, "{}", stale.raw);
        let never = dig().run("never.stale.test", "A").await.unwrap();
        assert_eq!(never.status, "SERVFAIL", "{mode:?}: {}", never.raw);
    }
    let s = scrape(metrics).await.unwrap();
    assert_eq!(s.sum("lb_cache_served_stale_total", &[]), 2.0);
}

/// prefetch: a hit on a popular entry with less than prefetch-percentage
/// of its lifetime left fetches it again in the background, so the next
/// query after its old expiry is still a hit (without prefetch, a miss).
#[tokio::test]
async fn prefetch_refreshes_a_popular_entry_before_it_expires() {
    let net = Net::new();
    let backends = net.backends(1).await;
    let (_lb, metrics) = start_lb(
        &net,
        &format!(
            "{}[health]\nenabled = false\n[cache]\nsize = 100\nmax-ttl = \"4s\"\nprefetch = 1\nprefetch-percentage = 40\n",
            patient_servers(&backends)
        ),
    )
    .await;
    let dig = || Dig::new(net.lb().ip()).port(53);
    let name = "www.prefetch.test";
    let started = tokio::time::Instant::now();
    let first = dig().run(name, "A").await.unwrap();
    assert_eq!(first.answers_of("A"), ["192.0.2.1"], "{}", first.raw);
    assert_eq!(backends[0].queries_under("www.prefetch.test."), 1);
    // With less than 40 % of its 4 s lifetime left: answered from the
    // cache, and fetched again.
    tokio::time::sleep_until(started + Duration::from_millis(2700)).await;
    let due = dig().run(name, "A").await.unwrap();
    assert_eq!(due.answers_of("A"), ["192.0.2.1"], "{}", due.raw);
    let fetched_again = async {
        while backends[0].queries_under("www.prefetch.test.") < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_millis(1500), fetched_again)
        .await
        .expect("the due hit fetched the entry again");
    assert_eq!(backends[0].queries_under("www.prefetch.test."), 2);
    // Past the first answer's expiry: the refreshed entry answers (with
    // more than 40 % of its life left: no second refresh).
    tokio::time::sleep_until(started + Duration::from_millis(4400)).await;
    let after = dig().run(name, "A").await.unwrap();
    assert_eq!(after.answers_of("A"), ["192.0.2.1"], "{}", after.raw);
    assert_eq!(backends[0].queries_under("www.prefetch.test."), 2);
    let s = scrape(metrics).await.unwrap();
    assert_eq!(s.sum("lb_cache_prefetches_total", &[]), 1.0);
    assert_eq!(s.sum("dnsdist_cache_hits", &[]), 2.0);
    assert_eq!(
        s.value("lb_cache_entries", &[("type", "success")]),
        Some(1.0)
    );
}

/// Passive health: a backend whose live answers turn SERVFAIL goes down (its
/// active checks, which still pass, are a minute apart), and the traffic moves
/// to the other backend.
#[tokio::test]
async fn passive_health_takes_a_servfailing_backend_down() {
    let net = Net::new();
    let backends = net.backends(2).await;
    let (_lb, metrics) = start_lb(
        &net,
        &format!(
            "policy = \"roundRobin\"\n{}[health]\ninterval = \"60s\"\npassive-threshold = 20\npassive-window = 20\npassive-min-samples = 10\n",
            servers(&backends, &[])
        ),
    )
    .await;
    // The first active check has passed for both; now backend 1 breaks for live traffic.
    tokio::time::sleep(Duration::from_millis(200)).await;
    backends[0].set_mode(Mode::Servfail);
    let mut servfails = 0;
    for i in 0..40 {
        if let Some((ResponseCode::ServFail, _)) =
            ask(net.lb(), &format!("p{i}.passive.test"), Transport::Udp).await
        {
            servfails += 1;
        }
    }
    assert!(
        (10..=12).contains(&servfails),
        "backend 1 went down after its first 10 answers: {servfails}"
    );
    let s = scrape(metrics).await.unwrap();
    assert_eq!(
        s.value("dnsdist_server_status", &[("server", "b1")]),
        Some(0.0)
    );
    assert_eq!(load(net.lb(), "after.passive.test", 20, 2).await, 20);
    assert_eq!(backends[1].queries_under("after.passive.test."), 20);
}

/// TCP clients' queries go to the backend over a few pooled connections, many
/// queries in flight on each, answered as they complete.
#[tokio::test]
async fn tcp_clients_share_pooled_pipelined_connections() {
    let net = Net::new();
    let backends = net.backends(1).await;
    backends[0].set_delay(Duration::from_millis(300));
    let (_lb, _) = start_lb(
        &net,
        &format!("[backends]\ntimeout = \"5s\"\nservers = [{{ addr = \"{}\" }}]\n[health]\nenabled = false\n", backends[0].addr()),
    )
    .await;
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..40 {
        let lb = net.lb();
        clients.spawn(async move { ask(lb, &format!("t{i}.pool.test"), Transport::Tcp).await });
    }
    while let Some(r) = clients.join_next().await {
        assert_eq!(r.unwrap(), Some((ResponseCode::NoError, Some(1))));
    }
    // 40 client connections; a handful of backend connections.
    assert_eq!(backends[0].queries_under("pool.test."), 40);
    assert!(
        backends[0].tcp_connections() <= 4,
        "backend connections: {}",
        backends[0].tcp_connections()
    );
    // Pipelined: one backend connection carried several queries at once.
    assert!(
        backends[0].peak_pipelined() >= 2,
        "not pipelined: at most {} query in flight on a connection",
        backends[0].peak_pipelined()
    );
}

/// --check-config prints a summary; a bad file exits 64 naming file, line and
/// key; the quick start without backends exits 64.
#[test]
fn check_config_and_errors() {
    let dir = scratch_dir("lbconf");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[listen]\nudp = [\"0.0.0.0:53\"]\ntcp = [\"0.0.0.0:53\"]\n[backends]\nservers = [{ addr = \"10.244.0.11\" }, { addr = \"10.244.0.12\" }]\n",
    )
    .unwrap();
    let out = Command::new(lb_bin())
        .arg("--check-config")
        .arg("-c")
        .arg(&good)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("leastOutstanding") && stdout.contains("10.244.0.12:53"),
        "{stdout}"
    );

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[listen]\nudp = [\"0.0.0.0:53\"]\n[backends]\nservers = [{ addr = \"10.0.0.1\" }]\nretries = 3\n").unwrap();
    let out = Command::new(lb_bin()).arg("-c").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:5: retries", bad.display())),
        "{stderr}"
    );

    let out = Command::new(lb_bin())
        .args(["--listen", "127.0.0.1:5353"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no backends"));
}
