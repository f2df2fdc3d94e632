//! The shared Redis cache (cachedb) against a real redis-server each test
//! starts: replicas share answers, TTLs keep counting down across them, and
//! a dead, restarted, frozen or polluted Redis never costs a correct answer.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use e2e::daemon::Signal;
use e2e::dig::{query, Transport};
use e2e::fake_dns::Hierarchy;
use e2e::metrics::{scrape, Scrape};
use e2e::redis::{RedisCluster, RedisSentinel, RedisServer};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use resolver::cache::MessageKey;
use resolver::cachedb::blob;
use tokio::time::Instant;

use crate::resolver_process::spawn_resolver_on;
use crate::resolver_support::TestResolver;

/// Server lines that turn the module on.
const MODULES: &str = "  module-config: \"cachedb iterator\"\n";

/// Polls `admin`'s metrics until `name` (summed over labels) reaches `at_least`.
async fn wait_metric(admin: SocketAddr, name: &str, at_least: f64) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = scrape(admin).await.unwrap();
        if m.sum(name, &[]) >= at_least {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{name} stayed at {} (wanted {at_least})",
            m.sum(name, &[])
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until the breaker gauge reads `open`.
async fn wait_breaker(admin: SocketAddr, open: bool) {
    let want = if open { 1.0 } else { 0.0 };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = scrape(admin).await.unwrap();
        if m.value("unbound_cachedb_breaker_open", &[]) == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "breaker never became {}",
            if open { "open" } else { "closed" }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn replica(hierarchy: &Arc<Hierarchy>, host: u8, redis: &RedisServer) -> TestResolver {
    TestResolver::start_replica(hierarchy.clone(), host, MODULES, &redis.unbound_clause("")).await
}

/// Replica A resolves; replica B, started afterwards, answers from Redis with
/// no query reaching the authorities, and a TTL lower by the time that passed.
#[tokio::test]
async fn a_second_replica_answers_from_redis_without_asking_upstream() {
    let redis = RedisServer::start().await.unwrap();
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let a = replica(&hierarchy, 1, &redis).await;
    let first = a.q("www.example.com", "A").await;
    assert_eq!(first.answers_of("A"), vec!["192.0.2.1"], "{}", first.raw);
    let negative = a.q("nope.example.com", "A").await;
    assert_eq!(negative.status, "NXDOMAIN");
    wait_metric(a.admin, "unbound_cachedb_writes_total", 2.0).await;
    assert_eq!(redis.dbsize().await.unwrap(), 2, "one key per answer");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let upstream = hierarchy.total_queries();
    let b = replica(&hierarchy, 2, &redis).await;
    let second = b.q("www.example.com", "A").await;
    let negative_b = b.q("nope.example.com", "A").await;
    assert_eq!(
        hierarchy.total_queries(),
        upstream,
        "replica B must not query the authorities for what A resolved"
    );
    assert_eq!(second.answers_of("A"), vec!["192.0.2.1"], "{}", second.raw);
    assert_eq!(negative_b.status, "NXDOMAIN", "{}", negative_b.raw);
    assert!(
        second.answer[0].ttl < first.answer[0].ttl,
        "TTL must keep decreasing across replicas: A said {}, B said {}",
        first.answer[0].ttl,
        second.answer[0].ttl
    );
    let m = b.scrape().await;
    assert_eq!(m.sum("unbound_cachedb_hits_total", &[]), 2.0);
    assert_eq!(
        m.sum("unbound_cachedb_writes_total", &[]),
        0.0,
        "a hit is not written back"
    );
    // B now has them in memory: a third query touches neither Redis nor upstream.
    let _ = b.q("www.example.com", "A").await;
    assert_eq!(b.scrape().await.sum("unbound_cachedb_hits_total", &[]), 2.0);
    a.stop().await;
    b.stop().await;
}

/// Redis killed while clients query: no SERVFAIL, every answer in bounded
/// time, the outage logged once (not per query); restarted: used again.
#[tokio::test]
async fn redis_killed_under_load_then_restarted() {
    let mut redis = RedisServer::start().await.unwrap();
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let extra = format!("{MODULES}{}", redis.unbound_clause(""));
    let (mut daemon, dns, metrics) = spawn_resolver_on(&hierarchy, 1, &extra).await;
    wait_breaker(metrics, false).await;
    for i in 0..20 {
        let reply = query(
            dns,
            &format!("w{i}.wild.net"),
            RecordType::A,
            Transport::Udp,
        )
        .await
        .unwrap();
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    }
    wait_metric(metrics, "unbound_cachedb_writes_total", 20.0).await;

    redis.kill();
    let load = (0..4).map(|worker| {
        tokio::spawn(async move {
            let mut codes = Vec::new();
            for i in 0..100 {
                // Half are memory hits, half new names that need Redis then recursion.
                let name = if i % 2 == 0 {
                    format!("w{}.wild.net", i % 20)
                } else {
                    format!("k{worker}-{i}.wild.net")
                };
                // Within the client's timer (2 s): a query waits at most
                // for a failed connection to Redis, then recursion.
                let reply = query(dns, &name, RecordType::A, Transport::Udp)
                    .await
                    .unwrap();
                codes.push(reply.metadata.response_code);
            }
            codes
        })
    });
    for worker in load {
        let codes = worker.await.unwrap();
        assert!(
            codes.iter().all(|code| *code == ResponseCode::NoError),
            "every query answered NOERROR while Redis is down: {codes:?}"
        );
    }
    wait_breaker(metrics, true).await;
    let log = daemon.log();
    let failing = log.matches("Redis is failing").count();
    let unreachable = log.matches("Redis is unreachable").count();
    assert!(
        failing <= 1 && unreachable <= 1 && failing + unreachable >= 1,
        "the outage is logged once per state change, not per query:\n{log}"
    );

    redis.restart().await.unwrap();
    wait_breaker(metrics, false).await;
    assert!(
        daemon.log().contains("Redis is reachable"),
        "{}",
        daemon.log()
    );
    let writes = scrape(metrics)
        .await
        .unwrap()
        .sum("unbound_cachedb_writes_total", &[]);
    let reply = query(dns, "after-restart.wild.net", RecordType::A, Transport::Udp)
        .await
        .unwrap();
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    wait_metric(metrics, "unbound_cachedb_writes_total", writes + 1.0).await;
    assert!(
        redis.dbsize().await.unwrap() >= 1,
        "writes resumed after the restart"
    );
    daemon.signal(Signal::Term).unwrap();
    assert!(daemon.wait_exit(Duration::from_secs(10)).await.is_some());
}

/// A frozen Redis (accepts, never answers): each lookup costs at most the
/// timeout until the breaker opens, then nothing; thawed, it is used again.
#[tokio::test]
async fn a_frozen_redis_costs_at_most_the_timeout_then_nothing() {
    let redis = RedisServer::start().await.unwrap();
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let r = TestResolver::start_replica(
        hierarchy.clone(),
        1,
        MODULES,
        &redis.unbound_clause("  redis-timeout: 100\n"),
    )
    .await;
    wait_breaker(r.admin, false).await;
    let _ = r.q("www.example.com", "A").await;
    redis.freeze(true).unwrap();
    for i in 0..8 {
        let reply = query(
            r.udp,
            &format!("f{i}.wild.net"),
            RecordType::A,
            Transport::Udp,
        )
        .await
        .unwrap();
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    }
    let m = r.scrape().await;
    assert!(
        m.sum("unbound_cachedb_timeouts_total", &[("op", "get")]) >= 1.0
            && m.sum("unbound_cachedb_timeouts_total", &[]) >= 3.0,
        "lookups and writes timed out, three in a row opened the breaker: {:?}",
        m.samples
            .iter()
            .filter(|s| s.name.starts_with("unbound_cachedb"))
            .collect::<Vec<_>>()
    );
    assert_eq!(m.value("unbound_cachedb_breaker_open", &[]), Some(1.0));
    assert!(
        m.sum("unbound_cachedb_skipped_total", &[("op", "get")]) >= 1.0,
        "then bypassed"
    );
    // At most the timeout: no more than the three timeouts in a row that
    // open the breaker were lookups; the others were skipped.
    assert!(
        m.sum("unbound_cachedb_timeouts_total", &[("op", "get")]) <= 3.0,
        "lookups waited after the breaker opened: {:?}",
        m.samples
            .iter()
            .filter(|s| s.name.starts_with("unbound_cachedb"))
            .collect::<Vec<_>>()
    );
    redis.freeze(false).unwrap();
    wait_breaker(r.admin, false).await;
    let _ = r.q("thawed.wild.net", "A").await;
    let hits_before = r.scrape().await.sum("unbound_cachedb_hits_total", &[]);
    wait_metric(r.admin, "unbound_cachedb_writes_total", 1.0).await;
    let other =
        TestResolver::start_replica(hierarchy.clone(), 2, MODULES, &redis.unbound_clause("")).await;
    let _ = other.q("thawed.wild.net", "A").await;
    assert_eq!(
        other.scrape().await.sum("unbound_cachedb_hits_total", &[]),
        1.0
    );
    assert_eq!(hits_before, 0.0);
    r.stop().await;
    other.stop().await;
}

/// Garbage under a key, a value for another question, a key of the wrong
/// Redis type: ignored and counted; the answer comes from recursion and the
/// resolver replaces the bad value with a good one.
#[tokio::test]
async fn garbage_values_are_ignored_and_replaced() {
    let redis = RedisServer::start().await.unwrap();
    let mut conn = redis.client().await.unwrap();
    let www = MessageKey::new(b"\x03www\x07example\x03com\x00", 1, 1).unwrap();
    let www_key = blob::redis_key(&www, "default");
    let _: () = redis::cmd("SET")
        .arg(&www_key[..])
        .arg(b"\x00\x01garbage that is not DNS at all, long enough to be parsed".as_slice())
        .query_async(&mut conn)
        .await
        .unwrap();
    let mail = MessageKey::new(b"\x04mail\x07example\x03com\x00", 15, 1).unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&blob::redis_key(&mail, "default")[..])
        .arg("a list, not a string")
        .query_async(&mut conn)
        .await
        .unwrap();

    let r = TestResolver::start(&format!("{MODULES}{}", redis.unbound_clause(""))).await;
    wait_breaker(r.admin, false).await;
    let reply = r.q("www.example.com", "A").await;
    assert_eq!(reply.answers_of("A"), vec!["192.0.2.1"], "{}", reply.raw);
    let mx = r.q("mail.example.com", "MX").await;
    assert_eq!(mx.status, "NOERROR", "{}", mx.raw);
    let m = r.scrape().await;
    assert_eq!(m.sum("unbound_cachedb_invalid_total", &[]), 1.0);
    assert!(
        m.sum("unbound_cachedb_errors_total", &[("op", "get")]) >= 1.0,
        "WRONGTYPE counted"
    );
    assert_eq!(m.sum("unbound_cachedb_hits_total", &[]), 0.0);

    wait_metric(r.admin, "unbound_cachedb_writes_total", 1.0).await;
    let stored: Vec<u8> = redis::cmd("GET")
        .arg(&www_key[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let decoded = blob::decode(&www, &stored, unix_now(), Instant::now(), 86_400, 30)
        .expect("the garbage was replaced with a valid entry");
    assert!(decoded.remaining > 0);
    r.stop().await;
}

/// redis-expire-records gives every key a Redis expiry equal to the answer's
/// TTL, so Redis does not fill with dead entries.
#[tokio::test]
async fn expire_records_sets_the_ttl_as_redis_expiry() {
    let redis = RedisServer::start().await.unwrap();
    let r = TestResolver::start(&format!(
        "{MODULES}{}",
        redis.unbound_clause("  redis-expire-records: yes\n")
    ))
    .await;
    wait_breaker(r.admin, false).await;
    let reply = r.q("www.example.com", "A").await;
    let ttl = reply.answer[0].ttl;
    wait_metric(r.admin, "unbound_cachedb_writes_total", 1.0).await;
    let key = blob::redis_key(
        &MessageKey::new(b"\x03www\x07example\x03com\x00", 1, 1).unwrap(),
        "default",
    );
    let mut conn = redis.client().await.unwrap();
    let redis_ttl: i64 = redis::cmd("TTL")
        .arg(&key[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        redis_ttl > 0 && redis_ttl <= i64::from(ttl),
        "Redis TTL {redis_ttl} vs answer TTL {ttl}"
    );
    r.stop().await;
}

/// An expired Redis entry for `www.example.com A` (192.0.2.77, stored 1000 s
/// ago with a 60 s TTL), as another replica would have left it.
async fn plant_expired_entry(redis: &RedisServer) {
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::{rdata::A, Name, RData, Record};
    let name = Name::from_ascii("www.example.com.").unwrap();
    let mut message = Message::new(0, MessageType::Response, OpCode::Query);
    message.metadata.recursion_available = true;
    message.add_query(Query::query(name.clone(), RecordType::A));
    message.add_answer(Record::from_rdata(
        name,
        60,
        RData::A(A::new(192, 0, 2, 77)),
    ));
    let key = MessageKey::new(b"\x03www\x07example\x03com\x00", 1, 1).unwrap();
    let value = blob::encode(&key, &message.to_vec().unwrap(), 60, unix_now() - 1000).unwrap();
    let mut conn = redis.client().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(&blob::redis_key(&key, "default")[..])
        .arg(value)
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// With serve-expired, an expired entry in Redis stands in when recursion
/// fails (TTL serve-expired-reply-ttl); without it, the entry is not used.
#[tokio::test]
async fn expired_redis_entries_serve_only_with_serve_expired() {
    let redis = RedisServer::start().await.unwrap();
    plant_expired_entry(&redis).await;
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    hierarchy.server_for_zone("example.com.").set_servfail(true);
    let stale_ok = TestResolver::start_replica(
        hierarchy.clone(),
        1,
        &format!("{MODULES}  serve-expired: yes\n"),
        &redis.unbound_clause(""),
    )
    .await;
    wait_breaker(stale_ok.admin, false).await;
    let reply = stale_ok.q("www.example.com", "A").await;
    assert_eq!(reply.answers_of("A"), vec!["192.0.2.77"], "{}", reply.raw);
    assert_eq!(
        reply.answer[0].ttl, 30,
        "serve-expired-reply-ttl: {}",
        reply.raw
    );
    let m = stale_ok.scrape().await;
    assert!(m.sum("unbound_expired_total", &[]) >= 1.0);
    assert_eq!(m.sum("unbound_cachedb_hits_total", &[]), 1.0);

    let strict = replica(&hierarchy, 2, &redis).await;
    wait_breaker(strict.admin, false).await;
    let reply = strict.q("www.example.com", "A").await;
    assert_eq!(
        reply.status, "SERVFAIL",
        "an expired entry is not served: {}",
        reply.raw
    );
    assert_eq!(
        strict.scrape().await.sum("unbound_cachedb_hits_total", &[]),
        0.0
    );
    stale_ok.stop().await;
    strict.stop().await;
}

/// redis-server-path: a replica on the unix socket and one on TCP share entries.
#[tokio::test]
async fn unix_socket_and_tcp_replicas_share_entries() {
    let redis = RedisServer::start().await.unwrap();
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let unix = format!(
        "cachedb:\n  backend: \"redis\"\n  redis-server-path: \"{}\"\n",
        redis.socket_path().display()
    );
    let a = TestResolver::start_replica(hierarchy.clone(), 1, MODULES, &unix).await;
    wait_breaker(a.admin, false).await;
    let _ = a.q("www.example.com", "A").await;
    wait_metric(a.admin, "unbound_cachedb_writes_total", 1.0).await;
    let upstream = hierarchy.total_queries();
    let b = replica(&hierarchy, 2, &redis).await;
    let reply = b.q("www.example.com", "A").await;
    assert_eq!(reply.answers_of("A"), vec!["192.0.2.1"]);
    assert_eq!(hierarchy.total_queries(), upstream);
    a.stop().await;
    b.stop().await;
}

/// Through Redis Sentinel: the master is found by asking the sentinel, and
/// a second replica reads what the first wrote.
#[tokio::test]
async fn sentinel_named_master_is_shared() {
    let master = RedisServer::start().await.unwrap();
    let sentinel = RedisSentinel::start(master.port()).await.unwrap();
    let clause = format!(
        "cachedb:\n  backend: \"redis\"\n  redis-sentinel: 127.0.0.1:{}\n  redis-sentinel-master: mymaster\n",
        sentinel.port()
    );
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let a = TestResolver::start_replica(hierarchy.clone(), 1, MODULES, &clause).await;
    wait_breaker(a.admin, false).await;
    let _ = a.q("www.example.com", "A").await;
    wait_metric(a.admin, "unbound_cachedb_writes_total", 1.0).await;
    assert_eq!(
        master.dbsize().await.unwrap(),
        1,
        "written to the master the sentinel named"
    );
    let upstream = hierarchy.total_queries();
    let b = TestResolver::start_replica(hierarchy.clone(), 2, MODULES, &clause).await;
    let reply = b.q("www.example.com", "A").await;
    assert_eq!(reply.answers_of("A"), vec!["192.0.2.1"]);
    assert_eq!(hierarchy.total_queries(), upstream);
    assert_eq!(b.scrape().await.sum("unbound_cachedb_hits_total", &[]), 1.0);
    a.stop().await;
    b.stop().await;
}

/// Through Redis Cluster: keys spread over the slots of three masters; a
/// second replica reads them all back.
#[tokio::test]
async fn cluster_spreads_keys_and_shares_them() {
    let cluster = RedisCluster::start(3).await.unwrap();
    let mut clause = "cachedb:\n  backend: \"redis\"\n".to_string();
    for node in &cluster.nodes {
        clause.push_str(&format!(
            "  redis-cluster-node: 127.0.0.1:{}\n",
            node.port()
        ));
    }
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let a = TestResolver::start_replica(hierarchy.clone(), 1, MODULES, &clause).await;
    wait_breaker(a.admin, false).await;
    for i in 0..30 {
        let _ = a.q(&format!("c{i}.wild.net"), "A").await;
    }
    wait_metric(a.admin, "unbound_cachedb_writes_total", 30.0).await;
    assert_eq!(cluster.dbsize().await.unwrap(), 30);
    let mut used = 0;
    for node in &cluster.nodes {
        used += usize::from(node.dbsize().await.unwrap() > 0);
    }
    assert!(used >= 2, "keys land on several masters");
    let upstream = hierarchy.total_queries();
    let b = TestResolver::start_replica(hierarchy.clone(), 2, MODULES, &clause).await;
    wait_breaker(b.admin, false).await;
    for i in 0..30 {
        let reply = b.q(&format!("c{i}.wild.net"), "A").await;
        assert_eq!(reply.status, "NOERROR");
    }
    assert_eq!(
        hierarchy.total_queries(),
        upstream,
        "all 30 came from the cluster"
    );
    assert_eq!(
        b.scrape().await.sum("unbound_cachedb_hits_total", &[]),
        30.0
    );
    a.stop().await;
    b.stop().await;
}

/// Where `tests/bench/build_unbound_cachedb.sh` (run by `scripts/test.sh`)
/// installs an Unbound built with cachedb; `UNBOUND_CACHEDB` overrides it.
fn unbound_with_cachedb() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("UNBOUND_CACHEDB").map_or_else(
        || std::path::PathBuf::from("/var/cache/noc-tests/unbound-cachedb/sbin/unbound"),
        std::path::PathBuf::from,
    );
    path.is_file().then_some(path)
}

/// A real Unbound with cachedb on 127.<net>.1.<host>, same hierarchy and Redis.
async fn spawn_unbound(
    unbound: &std::path::Path,
    hierarchy: &Hierarchy,
    host: u8,
    redis: &RedisServer,
) -> (e2e::Daemon, std::net::IpAddr) {
    crate::resolver_support::spawn_unbound(
        unbound,
        hierarchy,
        host,
        "cachedb iterator",
        &redis.unbound_clause(""),
    )
    .await
}

/// Mixed fleet: Unbound (built with cachedb) and ours share one Redis keyspace.
/// What Unbound stored, ours answers without recursion; what ours stored, a
/// fresh Unbound answers without recursion.
#[tokio::test]
async fn unbound_and_ours_read_each_others_entries() {
    let Some(unbound) = unbound_with_cachedb() else {
        eprintln!(
            "\n!!!!! SKIPPED unbound_and_ours_read_each_others_entries: no Unbound built with cachedb \
             (tests/bench/build_unbound_cachedb.sh failed or was not run; see scripts/test.sh output) !!!!!\n"
        );
        return;
    };
    let redis = RedisServer::start().await.unwrap();
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());

    // Unbound writes, ours reads.
    let (mut first_unbound, unbound_ip) = spawn_unbound(&unbound, &hierarchy, 3, &redis).await;
    for (name, rtype) in [("www.example.com", "A"), ("nope.example.com", "A")] {
        let r = e2e::dig::Dig::new(unbound_ip)
            .run(name, rtype)
            .await
            .unwrap();
        assert!(
            matches!(r.status.as_str(), "NOERROR" | "NXDOMAIN"),
            "{}",
            r.raw
        );
    }
    assert_eq!(
        redis.dbsize().await.unwrap(),
        2,
        "Unbound stored both answers"
    );
    first_unbound.signal(Signal::Term).unwrap();
    let _ = first_unbound.wait_exit(Duration::from_secs(10)).await;
    let upstream = hierarchy.total_queries();
    let ours = replica(&hierarchy, 1, &redis).await;
    wait_breaker(ours.admin, false).await;
    let www = ours.q("www.example.com", "A").await;
    assert_eq!(www.answers_of("A"), vec!["192.0.2.1"], "{}", www.raw);
    assert_eq!(ours.q("nope.example.com", "A").await.status, "NXDOMAIN");
    assert_eq!(
        hierarchy.total_queries(),
        upstream,
        "ours answered Unbound's entries without recursion"
    );
    let m = ours.scrape().await;
    assert_eq!(m.sum("unbound_cachedb_hits_total", &[]), 2.0);
    assert_eq!(m.sum("unbound_cachedb_invalid_total", &[]), 0.0);

    // Ours writes, a fresh Unbound reads.
    let mail = ours.q("mail.example.com", "MX").await;
    assert_eq!(mail.status, "NOERROR", "{}", mail.raw);
    let wild = ours.q("w7.wild.net", "A").await;
    wait_metric(ours.admin, "unbound_cachedb_writes_total", 2.0).await;
    let upstream = hierarchy.total_queries();
    let (second_unbound, unbound_ip) = spawn_unbound(&unbound, &hierarchy, 4, &redis).await;
    let mx = e2e::dig::Dig::new(unbound_ip)
        .run("mail.example.com", "MX")
        .await
        .unwrap();
    let a = e2e::dig::Dig::new(unbound_ip)
        .run("w7.wild.net", "A")
        .await
        .unwrap();
    assert_eq!(mx.status, "NOERROR", "{}\n{}", mx.raw, second_unbound.log());
    assert_eq!(mx.answers_of("MX"), mail.answers_of("MX"), "{}", mx.raw);
    assert_eq!(a.answers_of("A"), wild.answers_of("A"), "{}", a.raw);
    assert_eq!(
        hierarchy.total_queries(),
        upstream,
        "Unbound answered our entries without recursion:\n{}",
        second_unbound.log()
    );
    ours.stop().await;
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Rewrites the Redis entry for `key` without its RRSIG/NSEC records (the
/// message re-encoded, store time and expiry kept): what a writer that asks
/// upstream without DO would have stored.
async fn strip_signatures_in_redis(redis: &RedisServer, key: &MessageKey) {
    use hickory_proto::op::Message;
    let redis_key = blob::redis_key(key, "default");
    let mut conn = redis.client().await.unwrap();
    let value: Vec<u8> = redis::cmd("GET")
        .arg(&redis_key[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let (wire, trailer) = value.split_at(value.len() - 16);
    let mut message = Message::from_vec(wire).unwrap();
    let before = message.answers.len() + message.authorities.len();
    let unsigned = |r: &hickory_proto::rr::Record| {
        !matches!(r.record_type(), RecordType::RRSIG | RecordType::NSEC)
    };
    message.answers.retain(unsigned);
    message.authorities.retain(unsigned);
    assert!(
        message.answers.len() + message.authorities.len() < before,
        "the stored entry had signatures to strip"
    );
    let mut stripped = message.to_vec().unwrap();
    stripped.extend_from_slice(trailer);
    let _: () = redis::cmd("SET")
        .arg(&redis_key[..])
        .arg(stripped)
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// A DNSSEC-signed zone across a mixed fleet whose Unbound validates (as the
/// system we replace runs it: `validator cachedb iterator` with a trust
/// anchor). Unbound re-validates what it reads from Redis: our entries carry
/// every RRSIG and NSEC, so it answers them secure (AD) without asking the
/// authority; an entry stripped of its signatures is not accepted (control).
/// The other way, ours serves Unbound's signed entries with their proofs to
/// DO clients and without them to others.
#[tokio::test]
async fn signed_entries_are_shared_with_a_validating_unbound() {
    let Some(unbound) = unbound_with_cachedb() else {
        eprintln!(
            "\n!!!!! SKIPPED signed_entries_are_shared_with_a_validating_unbound: no Unbound built with \
             cachedb (tests/bench/build_unbound_cachedb.sh failed or was not run; see scripts/test.sh output) !!!!!\n"
        );
        return;
    };
    let redis = RedisServer::start().await.unwrap();
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    let signed = hierarchy.server_for_zone("signed.com.");

    // Ours writes: plain client queries, yet what reaches Redis is signed.
    let ours = replica(&hierarchy, 1, &redis).await;
    let cases = [
        ("www.signed.com", "A", "NOERROR"),
        ("alias.signed.com", "A", "NOERROR"),
        ("w3.wild.signed.com", "A", "NOERROR"),
        ("www.signed.com", "AAAA", "NOERROR"),
        ("nope.signed.com", "A", "NXDOMAIN"),
    ];
    for (name, rtype, status) in cases {
        assert_eq!(ours.q(name, rtype).await.status, status, "{name} {rtype}");
    }
    assert_eq!(ours.q("mail.signed.com", "MX").await.status, "NOERROR");
    wait_metric(
        ours.admin,
        "unbound_cachedb_writes_total",
        cases.len() as f64 + 1.0,
    )
    .await;
    let mail_key = MessageKey::new(b"\x04mail\x06signed\x03com\x00", 15, 1).unwrap();
    strip_signatures_in_redis(&redis, &mail_key).await;

    signed.reset_counters();
    // aggressive-nsec off: Unbound would otherwise synthesize later wildcard
    // and denial answers from what it validated (RFC 8198), which never
    // reach cachedb, and the write-back half below would have nothing to read.
    let clauses = format!(
        "  trust-anchor: \"{anchor}\"\n  aggressive-nsec: no\n{}",
        redis.unbound_clause("")
    );
    let (mut validating, unbound_ip) = crate::resolver_support::spawn_unbound(
        &unbound,
        &hierarchy,
        3,
        "validator cachedb iterator",
        &clauses,
    )
    .await;
    for (name, rtype, status) in cases {
        let r = e2e::dig::Dig::new(unbound_ip)
            .dnssec()
            .run(name, rtype)
            .await
            .unwrap();
        assert_eq!(r.status, status, "{name} {rtype}: {}", r.raw);
        assert!(
            r.has_flag("ad"),
            "{name} {rtype} from our entry is not secure: {}\n{}",
            r.raw,
            validating.log()
        );
        let rtype = RecordType::from_str(rtype).unwrap();
        assert_eq!(
            signed.queries_for(name, rtype),
            0,
            "Unbound took {name} {rtype} from Redis, not the authority"
        );
    }
    let control = e2e::dig::Dig::new(unbound_ip)
        .dnssec()
        .run("mail.signed.com", "MX")
        .await
        .unwrap();
    let refetched = signed.queries_for("mail.signed.com", RecordType::MX);
    assert!(
        control.status == "SERVFAIL" || refetched > 0,
        "an unsigned entry for a signed zone must not pass validation from Redis \
         (status {}, authority asked {refetched} times): {}",
        control.status,
        control.raw
    );

    // Unbound writes (validated, signed), a fresh replica of ours reads.
    for name in ["w4.wild.signed.com", "gone.signed.com"] {
        let r = e2e::dig::Dig::new(unbound_ip)
            .dnssec()
            .run(name, "A")
            .await
            .unwrap();
        assert!(r.has_flag("ad"), "{}", r.raw);
    }
    validating.signal(Signal::Term).unwrap();
    let _ = validating.wait_exit(Duration::from_secs(10)).await;
    hierarchy.reset_counters();
    let reader = replica(&hierarchy, 2, &redis).await;
    wait_breaker(reader.admin, false).await;
    let wild = reader
        .dig()
        .dnssec()
        .run("w4.wild.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(wild.answers_of("A"), vec!["192.0.2.31"], "{}", wild.raw);
    assert!(
        wild.answer.iter().any(|l| l.rtype == "RRSIG")
            && wild.authority.iter().any(|l| l.rtype == "NSEC"),
        "Unbound's signatures and proof reach a DO client: {}",
        wild.raw
    );
    assert!(!wild.has_flag("ad"), "{}", wild.raw);
    let gone = reader
        .dig()
        .dnssec()
        .run("gone.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(gone.status, "NXDOMAIN");
    assert!(
        gone.authority.iter().any(|l| l.rtype == "NSEC"),
        "{}",
        gone.raw
    );
    let plain = reader.q("w4.wild.signed.com", "A").await;
    assert!(
        plain.answer.iter().all(|l| l.rtype == "A") && plain.authority.is_empty(),
        "no DNSSEC records without DO: {}",
        plain.raw
    );
    assert_eq!(
        hierarchy.total_queries(),
        0,
        "ours answered Unbound's signed entries from Redis: {:?}",
        hierarchy
            .servers()
            .map(|(h, s)| (h, s.query_log()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        reader.scrape().await.sum("unbound_cachedb_hits_total", &[]),
        2.0
    );
    reader.stop().await;
    ours.stop().await;
}

/// Issue 15: entries read from Redis are validated before they are served as
/// secure. A non-validating replica writes signed answers; a validating one
/// (`validator cachedb iterator`, the island's anchor) answers them with AD
/// and without asking the authority; an entry stripped of its signatures in
/// Redis is not served (bogus there) and is resolved afresh, secure.
#[tokio::test]
async fn a_validating_replica_validates_what_it_reads_from_redis() {
    let redis = RedisServer::start().await.unwrap();
    let hierarchy = Arc::new(Hierarchy::start_unique().await.unwrap());
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    let signed = hierarchy.server_for_zone("signed.com.");
    let writer = replica(&hierarchy, 1, &redis).await;
    let cases = [
        ("www.signed.com", "A", "NOERROR"),
        ("w5.wild.signed.com", "A", "NOERROR"),
        ("nope.signed.com", "A", "NXDOMAIN"),
        ("mail.signed.com", "MX", "NOERROR"),
    ];
    for (name, rtype, status) in cases {
        assert_eq!(writer.q(name, rtype).await.status, status, "{name} {rtype}");
    }
    wait_metric(
        writer.admin,
        "unbound_cachedb_writes_total",
        cases.len() as f64,
    )
    .await;
    let mail_key = MessageKey::new(b"\x04mail\x06signed\x03com\x00", 15, 1).unwrap();
    strip_signatures_in_redis(&redis, &mail_key).await;
    // The validator's own DS/DNSKEY lookups are not in Redis: warm them first.
    let extra =
        format!("  module-config: \"validator cachedb iterator\"\n  trust-anchor: \"{anchor}\"\n");
    let reader =
        TestResolver::start_replica(hierarchy.clone(), 2, &extra, &redis.unbound_clause("")).await;
    let warm = reader
        .dig()
        .dnssec()
        .run("signed.com", "DNSKEY")
        .await
        .unwrap();
    assert!(warm.has_flag("ad"), "{}", warm.raw);
    signed.reset_counters();
    for (name, rtype, status) in &cases[..3] {
        let r = reader.dig().dnssec().run(name, rtype).await.unwrap();
        assert_eq!(r.status, *status, "{name} {rtype}: {}", r.raw);
        assert!(r.has_flag("ad"), "{name} {rtype}: {}", r.raw);
        let rtype = RecordType::from_str(rtype).unwrap();
        assert_eq!(
            signed.queries_for(name, rtype),
            0,
            "{name} {rtype} came from Redis"
        );
    }
    let mail = reader
        .dig()
        .dnssec()
        .run("mail.signed.com", "MX")
        .await
        .unwrap();
    assert_eq!(mail.status, "NOERROR", "{}", mail.raw);
    assert!(
        mail.has_flag("ad"),
        "re-resolved and validated: {}",
        mail.raw
    );
    assert!(
        signed.queries_for("mail.signed.com", RecordType::MX) > 0,
        "the stripped Redis entry must not be served"
    );
    writer.stop().await;
    reader.stop().await;
}
