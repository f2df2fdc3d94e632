//! Iteration from the root through the fake hierarchy: referrals, glue and
//! glue-less NS, CNAME/DNAME chains across zones, negative answers, TC → TCP,
//! lame and looping delegations. Every answer is checked with the real `dig`.

use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::resolver_support::TestResolver;

/// RFC 1034 §5.3.3: a recursive answer from the root down (RA set, AA clear).
#[tokio::test]
async fn resolves_from_the_root_with_glue() {
    let r = TestResolver::start("").await;
    let a = r.q("www.example.com", "A").await;
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    assert_eq!(a.answers_of("A"), vec!["192.0.2.1"], "{}", a.raw);
    assert!(a.has_flag("ra") && !a.has_flag("aa"), "{}", a.raw);
    r.stop().await;
}

/// RFC 2308 §2.1 and §2.2: NXDOMAIN and NODATA carry the SOA with TTL = SOA minimum.
#[tokio::test]
async fn nxdomain_and_nodata_carry_the_soa() {
    let r = TestResolver::start("").await;
    let nx = r.q("nope.example.com", "A").await;
    assert_eq!(nx.status, "NXDOMAIN", "{}", nx.raw);
    assert_eq!(nx.authority.len(), 1, "{}", nx.raw);
    assert_eq!(nx.authority[0].rtype, "SOA");
    assert!(nx.authority[0].ttl <= 300, "{}", nx.raw);
    let nodata = r.q("www.example.com", "AAAA").await;
    assert_eq!(nodata.status, "NOERROR", "{}", nodata.raw);
    assert!(nodata.answer.is_empty(), "{}", nodata.raw);
    assert_eq!(nodata.authority[0].rtype, "SOA", "{}", nodata.raw);
    r.stop().await;
}

/// RFC 1034 §3.6.2: a CNAME chain crossing three zones is followed to the end.
#[tokio::test]
async fn cname_chain_across_zones() {
    let r = TestResolver::start("").await;
    let a = r.q("chain.example.com", "A").await;
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    assert_eq!(a.answers_of("CNAME").len(), 2, "{}", a.raw);
    assert_eq!(a.answers_of("A"), vec!["192.0.2.99"], "{}", a.raw);
    r.stop().await;
}

/// hickory-dns #3373: a long cold CNAME chain must resolve promptly: each
/// link is followed from what the resolver already learnt, so no server is
/// asked the same question twice.
#[tokio::test]
async fn long_cname_chain_resolves_cold() {
    let r = TestResolver::start("").await;
    let a = r.q("long1.example.com", "A").await;
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    assert_eq!(a.answers_of("CNAME").len(), 8, "{}", a.raw);
    assert_eq!(a.answers_of("A"), vec!["192.0.2.88"], "{}", a.raw);
    for (host, server) in r.hierarchy.servers() {
        let log = server.query_log();
        assert!(
            log.iter().all(|(_, _, n)| *n == 1),
            "server {host} was asked a question again: {log:?}"
        );
    }
    r.stop().await;
}

/// RFC 6672 §3: a DNAME redirects the subtree; the CNAME is synthesized.
#[tokio::test]
async fn dname_is_followed() {
    let r = TestResolver::start("").await;
    let a = r.q("x.dn.example.com", "A").await;
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    assert_eq!(a.answers_of("DNAME"), vec!["example.org."], "{}", a.raw);
    assert_eq!(a.answers_of("CNAME"), vec!["x.example.org."], "{}", a.raw);
    assert_eq!(a.answers_of("A"), vec!["192.0.2.120"], "{}", a.raw);
    r.stop().await;
}

/// RFC 1034 §5.3.3 step 4c: a delegation without glue needs the NS address resolved first.
#[tokio::test]
async fn glueless_delegation() {
    let r = TestResolver::start("").await;
    let a = r.q("www.glueless.com", "A").await;
    assert_eq!(a.answers_of("A"), vec!["192.0.2.13"], "{}", a.raw);
    r.stop().await;
}

/// Wildcards and child delegations below a second-level zone.
#[tokio::test]
async fn wildcard_and_child_zone() {
    let r = TestResolver::start("").await;
    let w = r.q("anything-123.wild.net", "A").await;
    assert_eq!(w.answers_of("A"), vec!["198.51.100.1"], "{}", w.raw);
    let sub = r.q("www.sub.example.com", "A").await;
    assert_eq!(sub.status, "NOERROR", "{}", sub.raw);
    assert!(!sub.answers_of("A").is_empty(), "{}", sub.raw);
    r.stop().await;
}

/// RFC 7766 §6.2.1.1: a truncated upstream reply is retried over TCP; a client
/// on UDP with a small buffer gets TC and the full answer over TCP.
#[tokio::test]
async fn truncated_answers_fall_back_to_tcp() {
    let r = TestResolver::start("").await;
    let tcp = r.dig().tcp().run("big.example.com", "TXT").await.unwrap();
    assert_eq!(tcp.status, "NOERROR", "{}", tcp.raw);
    assert_eq!(tcp.answers_of("TXT").len(), 40, "{}", tcp.raw);
    assert!(r.hierarchy.server_for_zone("example.com.").tcp_queries() >= 1);
    let udp = r
        .dig()
        .ignore_tc()
        .bufsize(1232)
        .run("big.example.com", "TXT")
        .await
        .unwrap();
    assert!(udp.has_flag("tc"), "{}", udp.raw);
    r.stop().await;
}

/// A lame server (REFUSED) is skipped in favour of the working one.
#[tokio::test]
async fn lame_server_is_skipped() {
    let r = TestResolver::start("").await;
    for _ in 0..3 {
        let a = r.q("www.lame.com", "A").await;
        assert_eq!(a.answers_of("A"), vec!["192.0.2.17"], "{}", a.raw);
    }
    r.stop().await;
}

/// An NS loop without glue ends in SERVFAIL promptly, not a client timeout.
#[tokio::test]
async fn ns_loop_fails_fast() {
    let r = TestResolver::start("").await;
    let a = r
        .dig()
        .wait(Duration::from_secs(5))
        .run("www.loop1.com", "A")
        .await
        .unwrap();
    assert_eq!(a.status, "SERVFAIL", "{}", a.raw);
    // Promptly: the loop is seen in the referrals, not gone round until a
    // budget runs out.
    for (host, server) in r.hierarchy.servers() {
        let log = server.query_log();
        assert!(
            log.iter().all(|(_, _, n)| *n == 1),
            "server {host} was asked a question again: {log:?}"
        );
    }
    r.stop().await;
}

/// RFC 9156: with QNAME minimisation the root never sees the full name.
#[tokio::test]
async fn qname_minimisation_hides_the_full_name_from_the_root() {
    let r = TestResolver::start("").await;
    let a = r.q("www.example.com", "A").await;
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    let root = r.hierarchy.server_for_zone(".");
    assert!(root.queries() >= 1);
    assert_eq!(
        root.queries_for("www.example.com.", RecordType::A),
        0,
        "{:?}",
        root.query_log()
    );
    r.stop().await;
}

/// Without QNAME minimisation the full name goes to every server (Unbound's "no").
#[tokio::test]
async fn qname_minimisation_can_be_disabled() {
    let r = TestResolver::start("  qname-minimisation: no\n").await;
    let a = r.q("www.example.com", "A").await;
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    let root = r.hierarchy.server_for_zone(".");
    assert_eq!(
        root.queries_for("www.example.com.", RecordType::A),
        1,
        "{:?}",
        root.query_log()
    );
    r.stop().await;
}

/// A server that drops every query costs one timeout, then the other NS
/// answers, and the silent one is not asked again.
#[tokio::test]
async fn timeouts_move_on_to_another_server() {
    let r = TestResolver::start("").await;
    r.hierarchy.server(15).unwrap().set_refused(false);
    r.hierarchy.server(15).unwrap().set_drop_percent(100);
    let a = r.q("www.lame.com", "A").await;
    assert_eq!(a.answers_of("A"), vec!["192.0.2.17"], "{}", a.raw);
    // Which of the two is asked first is chosen at random: ask new names
    // until the silent one has had its query.
    let silent = r.hierarchy.server(15).unwrap();
    let mut asked = 1;
    while silent.queries() == 0 && asked < 30 {
        let a = r.q(&format!("n{asked}.lame.com"), "A").await;
        assert_eq!(a.status, "NXDOMAIN", "{}", a.raw);
        asked += 1;
    }
    assert_eq!(silent.queries(), 1, "never tried in {asked} names");
    // One timeout was its cost: the next names all go to the other.
    for i in 0..10 {
        let a = r.q(&format!("after{i}.lame.com"), "A").await;
        assert_eq!(a.status, "NXDOMAIN", "{}", a.raw);
    }
    assert_eq!(silent.queries(), 1, "{:?}", silent.query_log());
    r.stop().await;
}

/// Poisoning defence: out-of-bailiwick glue in a referral is never used or cached.
#[tokio::test]
async fn out_of_bailiwick_glue_is_ignored() {
    let r = TestResolver::start("").await;
    let com = r.hierarchy.server_for_zone("com.");
    com.set_responder(Some(std::sync::Arc::new(
        e2e::fake_dns::responders::out_of_bailiwick_glue,
    )));
    let _ = r.q("www.example.com", "A").await;
    com.set_responder(None);
    let victim = r.q("www.example.org", "A").await;
    assert!(!victim.raw.contains("203.0.113.66"), "{}", victim.raw);
    r.stop().await;
}
