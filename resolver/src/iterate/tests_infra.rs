//! Server selection through the mock internet: which servers were asked, and
//! how, once the infra cache knows them (dead servers, servers that mishandle
//! EDNS, lameness per type, glue-less NS names looked up in parallel).

use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::time::Instant;

use super::Recursor;
use crate::cache::RrsetCache;
use crate::iterate::infra::Infra;
use crate::pipeline::ttl_policy;
use crate::transport::mock::{
    a_addresses, config, example_hints, example_internet, ip, name, root_and_tlds, Behaviour,
    MockTransport, EXAMPLE_NS1, EXAMPLE_NS2,
};

/// A recursor without QNAME minimisation whose infra cache always picks the
/// best server (no exploration draw), so each test knows who is asked.
fn recursor(net: &MockTransport) -> Recursor<MockTransport> {
    let config = config("  qname-minimisation: no\n");
    Recursor::new(
        net.clone(),
        RrsetCache::new(1 << 20, ttl_policy(&config)),
        std::sync::Arc::new(Infra::new(config.server.infra_host_ttl).without_exploration()),
        example_hints(),
        &config,
    )
}

/// The A addresses of `qname` as the recursor resolves them.
async fn addresses(recursor: &Recursor<MockTransport>, qname: &str) -> Vec<String> {
    let answer = recursor
        .resolve(&name(qname), RecordType::A)
        .await
        .unwrap_or_else(|e| panic!("{qname}: {e}"));
    a_addresses(&answer)
}

/// A server that times out once is not asked on the next resolution while
/// the other one works.
#[tokio::test]
async fn server_that_timed_out_is_not_asked_again_while_another_works() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Timeout);
    let recursor = recursor(&net);
    // ns1 was fast once: it is asked first, and times out.
    recursor
        .infra
        .record_rtt(ip(EXAMPLE_NS1), Duration::from_millis(1), Instant::now());
    recursor
        .infra
        .record_rtt(ip(EXAMPLE_NS2), Duration::from_millis(50), Instant::now());
    assert_eq!(
        addresses(&recursor, "www.example.com.").await,
        ["192.0.2.80"]
    );
    assert_eq!(
        net.queries_to(EXAMPLE_NS1),
        1,
        "ns1 (measured fastest) is tried"
    );
    net.clear_log();
    assert_eq!(
        addresses(&recursor, "deep.www.example.com.").await,
        ["192.0.2.81"]
    );
    assert_eq!(net.queries_to(EXAMPLE_NS1), 0);
    assert_eq!(net.queries_to(EXAMPLE_NS2), 1);
}

/// A reply later than the server's RTO is still taken: the next server is
/// asked when the RTO passes, but the first query stays open, so the slow
/// server is asked once, not again after the other one fails too.
#[tokio::test]
async fn reply_after_the_rto_is_still_taken_while_the_next_server_is_asked() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Delay(Duration::from_millis(600)));
    net.behave(EXAMPLE_NS2, Behaviour::Delay(Duration::from_secs(3)));
    let recursor = recursor(&net);
    assert_eq!(
        addresses(&recursor, "www.example.com.").await,
        ["192.0.2.80"]
    );
    assert_eq!(net.queries_to(EXAMPLE_NS1), 1);
    assert_eq!(net.queries_to(EXAMPLE_NS2), 1);
    // The late reply was measured: ns1 is known as alive, not timed out.
    assert!(!recursor.infra.is_dead(ip(EXAMPLE_NS1), Instant::now()));
    assert!(recursor.infra.rto(ip(EXAMPLE_NS1), Instant::now()) > Duration::from_millis(600));
}

/// A dead server (timed out again and again) is skipped before its probe is
/// due, even when the other server is slower.
#[tokio::test]
async fn dead_server_is_skipped_for_a_slower_live_one() {
    let net = example_internet();
    net.behave(EXAMPLE_NS2, Behaviour::Delay(Duration::from_millis(20)));
    let recursor = recursor(&net);
    for _ in 0..3 {
        recursor
            .infra
            .record_timeout(ip(EXAMPLE_NS1), Instant::now());
    }
    for qname in ["www.example.com.", "deep.www.example.com."] {
        addresses(&recursor, qname).await;
    }
    assert_eq!(net.queries_to(EXAMPLE_NS1), 0);
    assert_eq!(net.queries_to(EXAMPLE_NS2), 2);
}

/// Whether each query sent to `server` so far carried OPT, in order.
fn edns_sent_to(net: &MockTransport, server: &str) -> Vec<bool> {
    net.sent()
        .iter()
        .filter(|s| s.server == ip(server))
        .map(|s| s.edns)
        .collect()
}

/// RFC 6891 §7: a server that answers FORMERR to EDNS is asked without OPT
/// again, and remembered: the next resolution sends it no OPT at all.
#[tokio::test]
async fn edns_broken_server_gets_no_opt_on_the_next_resolution() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::NoEdns);
    net.behave(EXAMPLE_NS2, Behaviour::Timeout);
    let recursor = recursor(&net);
    assert_eq!(
        addresses(&recursor, "www.example.com.").await,
        ["192.0.2.80"]
    );
    let first = edns_sent_to(&net, EXAMPLE_NS1);
    assert_eq!(first, [true, false]);
    net.clear_log();
    assert_eq!(
        addresses(&recursor, "deep.www.example.com.").await,
        ["192.0.2.81"]
    );
    let second = edns_sent_to(&net, EXAMPLE_NS1);
    assert_eq!(second, [false]);
}

/// REFUSED for AAAA only: what a server lame for one type sends.
fn refuses_aaaa(query: &Query, mut reply: Message) -> Option<Message> {
    if query.query_type() == RecordType::AAAA {
        reply.metadata.response_code = ResponseCode::Refused;
        reply.metadata.authoritative = false;
        reply.answers.clear();
        reply.authorities.clear();
    }
    Some(reply)
}

/// A server lame for AAAA is marked lame for AAAA only: it is skipped for the
/// next AAAA question and still asked (first) for A.
#[tokio::test]
async fn server_lame_for_aaaa_is_still_asked_for_a() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(refuses_aaaa));
    let recursor = recursor(&net);
    let zone = name("example.com.");
    // ns1 was fast once: it is asked first for AAAA, and refuses.
    recursor
        .infra
        .record_rtt(ip(EXAMPLE_NS1), Duration::from_millis(1), Instant::now());
    recursor
        .infra
        .record_rtt(ip(EXAMPLE_NS2), Duration::from_millis(50), Instant::now());
    recursor
        .resolve(&name("www.example.com."), RecordType::AAAA)
        .await
        .unwrap();
    let now = Instant::now();
    assert!(recursor
        .infra
        .is_lame(ip(EXAMPLE_NS1), &zone, RecordType::AAAA, now));
    assert!(!recursor
        .infra
        .is_lame(ip(EXAMPLE_NS1), &zone, RecordType::A, now));
    // ns2 is now the measured one; make ns1 the faster so A goes to it.
    recursor
        .infra
        .record_rtt(ip(EXAMPLE_NS2), Duration::from_millis(200), now);
    net.clear_log();
    recursor
        .resolve(&name("deep.www.example.com."), RecordType::AAAA)
        .await
        .unwrap();
    assert_eq!(net.queries_to(EXAMPLE_NS1), 0, "lame for AAAA");
    net.clear_log();
    assert_eq!(
        addresses(&recursor, "deep.www.example.com.").await,
        ["192.0.2.81"]
    );
    assert_eq!(net.queries_to(EXAMPLE_NS1), 1, "not lame for A");
    assert_eq!(net.queries_to(EXAMPLE_NS2), 0);
}

/// The hoster of two.com.'s glue-less NS names.
const HOSTER: &str = "198.51.100.40";
/// two.com.'s servers (a.hoster.net. and b.hoster.net.).
const TWO_A: &str = "198.51.100.41";
/// See TWO_A.
const TWO_B: &str = "198.51.100.42";

/// Root → com./net. → two.com. served by two glue-less names in hoster.net.,
/// whose server answers after a delay (so lookups overlap).
fn glueless_internet() -> MockTransport {
    let net = MockTransport::new();
    root_and_tlds(
        &net,
        "\
two.com. 172800 NS a.hoster.net.
two.com. 172800 NS b.hoster.net.
",
        "\
hoster.net. 172800 NS ns.hoster.net.
ns.hoster.net. 172800 A 198.51.100.40
",
    );
    net.zone(
        HOSTER,
        "hoster.net.",
        "\
hoster.net. 3600 SOA ns.hoster.net. hostmaster.hoster.net. 1 3600 600 86400 300
hoster.net. 3600 NS ns.hoster.net.
ns.hoster.net. 3600 A 198.51.100.40
a.hoster.net. 3600 A 198.51.100.41
b.hoster.net. 3600 A 198.51.100.42
",
    );
    let two = "\
two.com. 3600 SOA a.hoster.net. hostmaster.two.com. 1 3600 600 86400 300
two.com. 3600 NS a.hoster.net.
two.com. 3600 NS b.hoster.net.
www.two.com. 300 A 192.0.2.2
";
    net.zone(TWO_A, "two.com.", two);
    net.zone(TWO_B, "two.com.", two);
    net.behave(HOSTER, Behaviour::Delay(Duration::from_millis(20)));
    net
}

/// A glue-less delegation: both NS names' addresses are looked up at once,
/// A and AAAA each, and the first address found is used.
#[tokio::test]
async fn glueless_ns_names_are_looked_up_in_parallel_for_a_and_aaaa() {
    let net = glueless_internet();
    let recursor = recursor(&net);
    assert_eq!(addresses(&recursor, "www.two.com.").await, ["192.0.2.2"]);
    let mut asked = net.asked(HOSTER);
    asked.sort();
    let expected = [
        ("a.hoster.net.".to_string(), RecordType::A),
        ("a.hoster.net.".to_string(), RecordType::AAAA),
        ("b.hoster.net.".to_string(), RecordType::A),
        ("b.hoster.net.".to_string(), RecordType::AAAA),
    ];
    assert_eq!(asked, expected);
    assert_eq!(
        net.queries_to(TWO_A) + net.queries_to(TWO_B),
        1,
        "one two.com. server answers"
    );
}

/// With do-ip6: no, NS names are looked up for A only.
#[tokio::test]
async fn glueless_lookups_follow_do_ip6() {
    let net = glueless_internet();
    let config = config("  qname-minimisation: no\n  do-ip6: no\n");
    let recursor = Recursor::new(
        net.clone(),
        RrsetCache::new(1 << 20, ttl_policy(&config)),
        std::sync::Arc::new(Infra::new(config.server.infra_host_ttl).without_exploration()),
        example_hints(),
        &config,
    );
    assert_eq!(addresses(&recursor, "www.two.com.").await, ["192.0.2.2"]);
    assert!(net
        .asked(HOSTER)
        .iter()
        .all(|(_, qtype)| *qtype == RecordType::A));
}

/// Two resolutions needing the same reply at the same time share the
/// upstream question: example.com.'s slow servers are asked once (the root
/// and com. answer the first resolution before the second starts), and both
/// get the answer.
#[tokio::test]
async fn concurrent_resolutions_share_each_upstream_question() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Delay(Duration::from_millis(50)));
    net.behave(EXAMPLE_NS2, Behaviour::Delay(Duration::from_millis(50)));
    let recursor = recursor(&net);
    let (first, second) = tokio::join!(
        addresses(&recursor, "www.example.com."),
        addresses(&recursor, "www.example.com.")
    );
    assert_eq!(first, ["192.0.2.80"]);
    assert_eq!(second, first);
    let asked: Vec<_> = net.sent().iter().map(|s| s.server).collect();
    assert_eq!(
        asked.len(),
        3,
        "root, com., then example.com. once: {asked:?}"
    );
    assert_eq!(recursor.shared.len(), 0, "nothing left in flight");
}

/// A resolution that waited FOLLOW_WAIT for another's slow query asks for
/// itself, and still takes the other's reply when that comes first (here
/// the only server that answers takes 1.8 s).
#[tokio::test(start_paused = true)]
async fn a_follower_that_stops_waiting_still_takes_the_leads_late_reply() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Timeout);
    net.behave(EXAMPLE_NS2, Behaviour::Delay(Duration::from_millis(1800)));
    let recursor = recursor(&net);
    // ns1 looks fast (asked first, 50 ms timeout); ns2 slow (1.5 s timeout).
    let now = Instant::now();
    recursor
        .infra
        .record_rtt(ip(EXAMPLE_NS1), Duration::from_millis(1), now);
    recursor
        .infra
        .record_rtt(ip(EXAMPLE_NS2), Duration::from_millis(1000), now);
    let start = Instant::now();
    let timed = |qname: &'static str| {
        let recursor = &recursor;
        async move {
            let answer = addresses(recursor, qname).await;
            (answer, start.elapsed())
        }
    };
    let ((first, lead_took), (second, follow_took)) =
        tokio::join!(timed("www.example.com."), timed("www.example.com."));
    assert_eq!(first, ["192.0.2.80"]);
    assert_eq!(second, first);
    // The follower's own query to ns2 would answer 1.8 s after it gave up
    // waiting (at 1.5 s); the lead's reply, at about 1.8 s, is taken instead.
    assert!(lead_took < Duration::from_secs(2), "{lead_took:?}");
    assert!(
        follow_took <= lead_took + Duration::from_millis(100),
        "{follow_took:?} vs {lead_took:?}"
    );
}
