//! Caching: answers from cache with decremented TTLs, negative caching
//! (RFC 2308), TTL clamps, coalescing of identical questions, request-list
//! overflow, prefetch and serve-expired (RFC 8767).

use std::time::Duration;

use hickory_proto::rr::RecordType;

use e2e::dig::{query, Transport};

use crate::resolver_support::TestResolver;

/// A second query is answered from cache: no upstream query, TTL decremented.
#[tokio::test]
async fn second_query_is_a_cache_hit_with_decremented_ttl() {
    let r = TestResolver::start("").await;
    let first = r.q("www.example.com", "A").await;
    let leaf = r.hierarchy.server_for_zone("example.com.");
    let before = leaf.queries();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = r.q("www.example.com", "A").await;
    assert_eq!(
        leaf.queries(),
        before,
        "a cache hit must not query upstream"
    );
    assert_eq!(second.answers_of("A"), vec!["192.0.2.1"]);
    assert!(
        second.answer[0].ttl < first.answer[0].ttl,
        "{} then {}",
        first.answer[0].ttl,
        second.answer[0].ttl
    );
    let m = r.scrape().await;
    assert!(m.sum("unbound_cache_hits_total", &[]) >= 1.0);
    assert!(m.sum("unbound_cache_misses_total", &[]) >= 1.0);
    r.stop().await;
}

/// RFC 2308 §5: NXDOMAIN is cached (for the SOA minimum) like a positive answer.
#[tokio::test]
async fn nxdomain_is_cached() {
    let r = TestResolver::start("").await;
    assert_eq!(r.q("nope.example.com", "A").await.status, "NXDOMAIN");
    let total = r.hierarchy.total_queries();
    let again = r.q("nope.example.com", "A").await;
    assert_eq!(again.status, "NXDOMAIN", "{}", again.raw);
    assert_eq!(r.hierarchy.total_queries(), total);
    r.stop().await;
}

/// cache-max-ttl caps the TTL handed to clients; cache-min-ttl raises short ones.
#[tokio::test]
async fn ttl_clamps_apply() {
    let r = TestResolver::start(
        "  cache-max-ttl: 60\n  cache-min-ttl: 30\n  cache-max-negative-ttl: 40\n",
    )
    .await;
    let capped = r.q("www.example.com", "A").await;
    assert!(capped.answer[0].ttl <= 60, "{}", capped.raw);
    let raised = r.q("short-ttl.example.com", "A").await;
    assert!(raised.answer[0].ttl >= 29, "{}", raised.raw);
    let negative = r.q("nope.example.com", "A").await;
    assert!(negative.authority[0].ttl <= 40, "{}", negative.raw);
    r.stop().await;
}

/// Identical questions in flight share one upstream resolution: 20 clients
/// asking at once while the authority is slow cause one resolution (its
/// timeout retransmissions included), not twenty.
#[tokio::test]
async fn concurrent_identical_questions_share_one_resolution() {
    let r = TestResolver::start("").await;
    // Warm the delegation so only the leaf question is outstanding.
    let _ = r.q("mail.example.com", "MX").await;
    let leaf = r.hierarchy.server_for_zone("example.com.");
    leaf.set_delay(Duration::from_millis(300));
    let server = r.udp;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(async move {
                query(server, "www.example.com.", RecordType::A, Transport::Udp).await
            })
        })
        .collect();
    for task in tasks {
        let reply = task.await.unwrap().unwrap();
        assert_eq!(reply.answers.len(), 1, "{reply:?}");
    }
    let upstream = leaf.queries_for("www.example.com.", RecordType::A);
    assert!(
        (1..=5).contains(&upstream),
        "{upstream} upstream queries for 20 coalesced clients"
    );
    let m = r.scrape().await;
    assert!(m.sum("unbound_cache_misses_total", &[]) >= 20.0);
    r.stop().await;
}

/// Unbound's request list: overflow is answered SERVFAIL at once and counted.
#[tokio::test]
async fn request_list_overflow_is_answered_promptly() {
    let r = TestResolver::start("  num-queries-per-thread: 2\n").await;
    let _ = r.q("mail.example.com", "MX").await;
    r.hierarchy
        .server_for_zone("wild.net.")
        .set_delay(Duration::from_millis(800));
    let _ = r.q("warm.wild.net", "A").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let dig = r.dig();
        tasks.push(tokio::spawn(async move {
            dig.run(&format!("n{i}.wild.net"), "A").await.unwrap()
        }));
    }
    let mut servfails = 0.0;
    for task in tasks {
        let a = task.await.unwrap();
        match a.status.as_str() {
            "NOERROR" => {}
            "SERVFAIL" => servfails += 1.0,
            _ => panic!("neither answered nor refused at once: {}", a.raw),
        }
    }
    // At once: the slow server answers every query it gets (800 ms, within
    // the client's 2 s), so each SERVFAIL is an overflow, answered without
    // waiting for a slot.
    let m = r.scrape().await;
    let exceeded = m.sum("unbound_request_list_exceeded_total", &[]);
    assert!(servfails >= 1.0, "no SERVFAIL for overflow");
    assert_eq!(servfails, exceeded, "each overflow answered SERVFAIL");
    r.stop().await;
}

/// RFC 8767: with serve-expired, an expired answer is served (TTL 30) when the
/// authority is down, and counted.
#[tokio::test]
async fn serve_expired_answers_when_upstream_fails() {
    let r = TestResolver::start("  serve-expired: yes\n").await;
    let fresh = r.q("short-ttl.example.com", "A").await;
    assert_eq!(fresh.status, "NOERROR", "{}", fresh.raw);
    r.hierarchy
        .server_for_zone("example.com.")
        .set_servfail(true);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let stale = r.q("short-ttl.example.com", "A").await;
    assert_eq!(stale.status, "NOERROR", "{}", stale.raw);
    assert_eq!(stale.answer[0].ttl, 30, "{}", stale.raw);
    let m = r.scrape().await;
    assert!(m.sum("unbound_expired_total", &[]) >= 1.0);
    r.stop().await;
}

/// Without serve-expired, an expired entry is not served: the failure shows.
#[tokio::test]
async fn expired_entries_are_not_served_by_default() {
    let r = TestResolver::start("").await;
    let _ = r.q("short-ttl.example.com", "A").await;
    r.hierarchy
        .server_for_zone("example.com.")
        .set_servfail(true);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let after = r.q("short-ttl.example.com", "A").await;
    assert_eq!(after.status, "SERVFAIL", "{}", after.raw);
    r.stop().await;
}

/// Prefetch: a hit in the last 10% of the TTL refreshes the entry in the background.
#[tokio::test]
async fn prefetch_refreshes_popular_entries() {
    let r = TestResolver::start("  prefetch: yes\n  cache-max-ttl: 10\n").await;
    let _ = r.q("www.example.com", "A").await;
    let leaf = r.hierarchy.server_for_zone("example.com.");
    let before = leaf.queries_for("www.example.com.", RecordType::A);
    tokio::time::sleep(Duration::from_millis(9200)).await;
    let hit = r.q("www.example.com", "A").await;
    assert_eq!(hit.status, "NOERROR");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        leaf.queries_for("www.example.com.", RecordType::A),
        before + 1
    );
    let m = r.scrape().await;
    assert!(m.sum("unbound_prefetches_total", &[]) >= 1.0);
    r.stop().await;
}
