//! Issue 19, random-subdomain (water-torture) floods: `ratelimit` caps the
//! queries sent to the attacked zone's servers (at most N in any second,
//! stricter than Unbound, which lets about N + excess / factor through) and
//! answers the excess SERVFAIL, while other zones and cached names are
//! served; `ip-ratelimit` drops a flooding client's excess before the cache.
//! Through real sockets, with small limits, and beside Debian's Unbound.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e2e::fake_dns::Hierarchy;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::fake_dns_selftest::debian_unbound;
use crate::resolver_support::{spawn_unbound, TestResolver};

/// example.org's server in the fixture hierarchy: the attacked zone.
const EXAMPLE_ORG: u8 = 12;
/// example.com's server.
const EXAMPLE_COM: u8 = 10;
/// example.net's server.
const EXAMPLE_NET: u8 = 11;

/// Sampled query counts are compared over spans this long: shorter than a
/// second by more than loopback jitter, so a limit of N per second holds.
const SPAN: Duration = Duration::from_millis(950);

/// A client address of the test's net that is neither a server nor the resolver.
fn client_addr(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, net, 2, host))
}

/// What a flood got back.
#[derive(Debug, Default)]
struct Flood {
    sent: usize,
    rcodes: HashMap<ResponseCode, usize>,
}

impl Flood {
    fn answered(&self) -> usize {
        self.rcodes.values().sum()
    }

    fn count(&self, rcode: ResponseCode) -> usize {
        self.rcodes.get(&rcode).copied().unwrap_or(0)
    }
}

/// Sends `qps` queries a second for `duration` from `source` to `server`,
/// query `i` for `name(i)` (type A), and gathers the replies until a second
/// after the last query.
async fn flood(
    source: IpAddr,
    server: SocketAddr,
    name: impl Fn(usize) -> String,
    qps: usize,
    duration: Duration,
) -> Flood {
    let socket = Arc::new(UdpSocket::bind(SocketAddr::new(source, 0)).await.unwrap());
    let replies: Arc<parking_lot::Mutex<HashMap<u16, ResponseCode>>> = Arc::default();
    let receiver = {
        let socket = socket.clone();
        let replies = replies.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((len, _)) = socket.recv_from(&mut buf).await {
                if let Ok(reply) = Message::from_vec(&buf[..len]) {
                    replies
                        .lock()
                        .insert(reply.metadata.id, reply.metadata.response_code);
                }
            }
        })
    };
    let ticks = (duration.as_millis() / 10) as usize;
    let per_tick = qps.div_ceil(100);
    let mut interval = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0usize;
    for _ in 0..ticks {
        interval.tick().await;
        for _ in 0..per_tick {
            let wire = e2e::dig::a_query_wire(&name(sent), sent as u16).unwrap();
            socket.send_to(&wire, server).await.unwrap();
            sent += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    receiver.abort();
    let mut result = Flood {
        sent,
        ..Flood::default()
    };
    for rcode in replies.lock().values().copied() {
        *result.rcodes.entry(rcode).or_default() += 1;
    }
    result
}

/// Samples a counter every 20 ms until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    /// (time before the read, count, time after the read).
    task: JoinHandle<Vec<(Instant, u64, Instant)>>,
}

impl Sampler {
    fn start(hierarchy: Arc<Hierarchy>, host: u8) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let read = || {
                    let before = Instant::now();
                    let count = hierarchy.server(host).unwrap().queries();
                    (before, count, Instant::now())
                };
                while !stop.load(Ordering::Relaxed) {
                    samples.push(read());
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                samples.push(read());
                samples
            })
        };
        Self { stop, task }
    }

    /// The most queries counted between two reads whose whole extent (from
    /// before the first read to after the second) is at most `span`, and the total.
    async fn finish(self, span: Duration) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.task.await.unwrap();
        let mut most = 0;
        for (i, (start, before, _)) in samples.iter().enumerate() {
            for (_, after, end) in &samples[i + 1..] {
                if end.duration_since(*start) > span {
                    break;
                }
                most = most.max(after - before);
            }
        }
        let total = samples.last().map_or(0, |s| s.1) - samples.first().map_or(0, |s| s.1);
        (most, total)
    }
}

/// Resolves www.example.org (and so the delegations down to it) through
/// `server`, then zeroes the servers' counters.
async fn warm_up(hierarchy: &Hierarchy, server: SocketAddr) {
    let reply = e2e::dig::query(
        server,
        "www.example.org",
        RecordType::A,
        e2e::dig::Transport::Udp,
    )
    .await
    .unwrap();
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    hierarchy.reset_counters();
}

/// Issue 19 / Unbound's `ratelimit`: a random-subdomain flood against
/// example.org. Its server gets at most N queries in any second from us,
/// clients get SERVFAIL for the excess, a name in another zone resolves during
/// the flood and the attacked zone's cached names still answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn water_torture_flood_is_capped_per_zone() {
    const LIMIT: u64 = 10;
    let r = TestResolver::start(&format!("  ratelimit: {LIMIT}\n")).await;
    warm_up(&r.hierarchy, r.udp).await;
    let sampler = Sampler::start(r.hierarchy.clone(), EXAMPLE_ORG);
    let started = Instant::now();
    let attack = tokio::spawn(flood(
        client_addr(r.hierarchy.net(), 1),
        r.udp,
        |i| format!("wt{i}.example.org"),
        200,
        Duration::from_secs(3),
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let other = r.q("www.example.net", "A").await;
    let cached = r.q("www.example.org", "A").await;
    let result = attack.await.unwrap();
    let elapsed = started.elapsed();
    let (most, total) = sampler.finish(SPAN).await;

    assert_eq!(other.answers_of("A"), vec!["192.0.2.11"], "{}", other.raw);
    assert_eq!(cached.answers_of("A"), vec!["192.0.2.12"], "{}", cached.raw);
    assert!(
        most <= LIMIT,
        "{most} queries to example.org within {SPAN:?}"
    );
    assert!(
        total <= LIMIT * (elapsed.as_secs() + 1),
        "{total} queries in {elapsed:?}"
    );
    assert!(total >= LIMIT * 2, "the capacity is used: {total}");
    assert!(
        result.count(ResponseCode::ServFail) >= result.sent / 2,
        "the excess gets SERVFAIL: {result:?}"
    );
    assert!(result.count(ResponseCode::NXDomain) > 0, "{result:?}");
    let scrape = r.scrape().await;
    assert!(scrape.sum("unbound_query_ratelimited_total", &[]) >= (result.sent / 2) as f64);
    r.stop().await;
}

/// Unbound's ratelimit-for-domain and ratelimit-below-domain: example.org
/// gets its own limit, example.com the one below com., and example.net, whose
/// limit is 0, is not limited at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_domain_limits_override_the_default() {
    let r = TestResolver::start(
        "  ratelimit: 1000\n  ratelimit-for-domain: example.org 5\n  \
         ratelimit-below-domain: com 3\n  ratelimit-for-domain: example.net 0\n",
    )
    .await;
    for name in ["www.example.org", "www.example.com", "www.example.net"] {
        assert_eq!(r.q(name, "A").await.status, "NOERROR");
    }
    r.hierarchy.reset_counters();
    let samplers = [EXAMPLE_ORG, EXAMPLE_COM, EXAMPLE_NET]
        .map(|host| Sampler::start(r.hierarchy.clone(), host));
    let net = r.hierarchy.net();
    let floods = ["example.org", "example.com", "example.net"]
        .into_iter()
        .enumerate()
        .map(|(n, zone)| {
            tokio::spawn(flood(
                client_addr(net, 10 + n as u8),
                r.udp,
                move |i| format!("pd{i}.{zone}"),
                100,
                Duration::from_millis(1500),
            ))
        })
        .collect::<Vec<_>>();
    let mut results = Vec::new();
    for f in floods {
        results.push(f.await.unwrap());
    }
    let [org, com, net_sampler] = samplers;
    let (org_most, _) = org.finish(SPAN).await;
    let (com_most, _) = com.finish(SPAN).await;
    let (_, net_total) = net_sampler.finish(SPAN).await;
    assert!(org_most <= 5, "example.org: {org_most}");
    assert!(org_most >= 3, "example.org's limit is 5, not 3: {org_most}");
    assert!(com_most <= 3, "example.com: {com_most}");
    assert!(
        net_total as usize >= results[2].sent * 9 / 10,
        "example.net is not limited: {net_total} of {}",
        results[2].sent
    );
    assert!(results[0].count(ResponseCode::ServFail) > results[0].sent / 2);
    assert_eq!(
        results[2].count(ResponseCode::ServFail),
        0,
        "{:?}",
        results[2]
    );
    r.stop().await;
}

/// Unbound's ip-ratelimit: one client address over its limit has the excess
/// dropped without a reply (before the cache), while another address is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_ratelimit_drops_one_clients_excess() {
    let r = TestResolver::start("  ip-ratelimit: 5\n  ip-ratelimit-factor: 0\n").await;
    let net = r.hierarchy.net();
    let burst = flood(
        client_addr(net, 1),
        r.udp,
        |_| "www.example.org".to_string(),
        5000,
        Duration::from_millis(10),
    )
    .await;
    assert_eq!(burst.sent, 50);
    // One burst may straddle two of the limiter's seconds.
    assert!(
        (1..=10).contains(&burst.answered()),
        "answered {} of {}",
        burst.answered(),
        burst.sent
    );
    let other = r
        .dig()
        .arg("-b")
        .arg(&client_addr(net, 2).to_string())
        .run("www.example.org", "A")
        .await
        .unwrap();
    assert_eq!(other.answers_of("A"), vec!["192.0.2.12"], "{}", other.raw);
    let scrape = r.scrape().await;
    assert!(
        scrape.sum("unbound_queries_ip_ratelimited_total", &[]) >= 40.0,
        "dropped queries are counted"
    );
    r.stop().await;
}

/// The same water-torture flood through ours and Debian's Unbound with the
/// same `ratelimit`: both answer the excess SERVFAIL; ours sends the attacked
/// zone at most N queries in any second (Unbound's count is reported, not
/// asserted: it lets 1 in ratelimit-factor of the excess through).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratelimit_against_unbound() {
    const LIMIT: u64 = 10;
    let extra = format!("  ratelimit: {LIMIT}\n");
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let ours = TestResolver::start_replica(hierarchy.clone(), 1, &extra, "").await;
    let (unbound, unbound_ip) =
        spawn_unbound(debian_unbound(), &hierarchy, 2, "iterator", &extra).await;
    let net = hierarchy.net();
    let mut figures = Vec::new();
    for (who, server) in [
        ("ours", ours.udp),
        ("unbound", SocketAddr::new(unbound_ip, 53)),
    ] {
        warm_up(&hierarchy, server).await;
        let sampler = Sampler::start(hierarchy.clone(), EXAMPLE_ORG);
        let result = flood(
            client_addr(net, 1),
            server,
            move |i| format!("{who}{i}.example.org"),
            200,
            Duration::from_secs(3),
        )
        .await;
        let (most, total) = sampler.finish(Duration::from_secs(1)).await;
        eprintln!(
            "{who}: 200 qps for 3 s against example.org with ratelimit {LIMIT}: \
             {total} upstream queries to example.org ({:.1}/s of flood), at most {most} \
             in any 1 s; client replies {:?} of {} sent",
            total as f64 / 3.0,
            result.rcodes,
            result.sent
        );
        assert!(
            result.count(ResponseCode::ServFail) > 0,
            "{who} answers the excess SERVFAIL: {result:?}"
        );
        figures.push((who, most, total));
    }
    let (_, ours_most, _) = figures[0];
    let (ours_span_most, _) = {
        // Ours again over spans short of a second by more than jitter.
        warm_up(&hierarchy, ours.udp).await;
        let sampler = Sampler::start(hierarchy.clone(), EXAMPLE_ORG);
        flood(
            client_addr(net, 3),
            ours.udp,
            |i| format!("again{i}.example.org"),
            200,
            Duration::from_secs(2),
        )
        .await;
        sampler.finish(SPAN).await
    };
    assert!(
        ours_span_most <= LIMIT,
        "ours: {ours_span_most} within {SPAN:?}"
    );
    assert!(ours_most <= LIMIT + 1, "ours: {ours_most} within 1 s");
    drop(unbound);
    ours.stop().await;
}

/// The same burst from one client through ours and Debian's Unbound with
/// `ip-ratelimit: 5` and factor 0: both drop the excess without a reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_ratelimit_against_unbound() {
    let extra = "  ip-ratelimit: 5\n  ip-ratelimit-factor: 0\n";
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let ours = TestResolver::start_replica(hierarchy.clone(), 1, extra, "").await;
    let (unbound, unbound_ip) =
        spawn_unbound(debian_unbound(), &hierarchy, 2, "iterator", extra).await;
    let net = hierarchy.net();
    for (who, server) in [
        ("ours", ours.udp),
        ("unbound", SocketAddr::new(unbound_ip, 53)),
    ] {
        let burst = flood(
            client_addr(net, 1),
            server,
            |_| "www.example.org".to_string(),
            5000,
            Duration::from_millis(10),
        )
        .await;
        eprintln!(
            "{who}: answered {} of {} (ip-ratelimit 5)",
            burst.answered(),
            burst.sent
        );
        assert!(
            (1..=10).contains(&burst.answered()),
            "{who} answered {} of {}",
            burst.answered(),
            burst.sent
        );
    }
    drop(unbound);
    ours.stop().await;
}

/// Unbound's log lines ("ratelimit exceeded ZONE LIMIT query NAME IN TYPE",
/// "ip_ratelimit exceeded ADDR LIMIT NAME IN TYPE") are written at the first
/// query over a limit, once a second, never once per limited query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_logged_once_a_second_not_per_query() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut daemon, dns, _) = crate::resolver_process::spawn_resolver(
        &hierarchy,
        "  verbosity: 1\n  ratelimit: 3\n  ip-ratelimit: 50\n",
    )
    .await;
    warm_up(&hierarchy, dns).await;
    let source = client_addr(hierarchy.net(), 1);
    let result = flood(
        source,
        dns,
        |i| format!("log{i}.example.org"),
        100,
        Duration::from_secs(2),
    )
    .await;
    assert!(result.count(ResponseCode::ServFail) > 0, "{result:?}");
    daemon
        .wait_log(
            "ratelimit exceeded example.org. 3 query log",
            Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", daemon.log()));
    daemon
        .wait_log(
            &format!("ip_ratelimit exceeded {source} 50 log"),
            Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", daemon.log()));
    let log = daemon.log();
    let zone_lines = log.matches("ratelimit exceeded example.org.").count();
    let ip_lines = log.matches("ip_ratelimit exceeded").count();
    // A 2-second flood spans at most 3 of the limiters' seconds.
    assert!(
        (1..=3).contains(&zone_lines),
        "{zone_lines} lines for {} limited queries\n{log}",
        result.count(ResponseCode::ServFail)
    );
    assert!((1..=3).contains(&ip_lines), "{ip_lines} lines\n{log}");
}
