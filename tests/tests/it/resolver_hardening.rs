//! Regression tests for resolver hardening: each test reproduces a scenario a
//! review found (forwarder poisoning, NXNS amplification, QNAME-minimisation
//! budget, CNAME into a child zone, DS at the parent, BADVERS, SERVFAIL
//! caching, refresh retry after a failed serve-expired refresh).

use std::sync::Arc;
use std::time::Duration;

use e2e::fake_dns::Hierarchy;
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::{A, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::resolver_support::TestResolver;

/// A forwarder answering for example.org cannot vouch for example.com: the
/// out-of-zone tail of its CNAME chain is resolved by iteration (Unbound's scrubber).
#[tokio::test]
async fn forwarder_cannot_poison_names_outside_its_zone() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let forwarder = hierarchy.addr(12);
    hierarchy
        .server(12)
        .unwrap()
        .set_responder(Some(Arc::new(|req: &Message| {
            let mut resp = e2e::fake_dns::authority::response_to(req);
            let www_org = Name::from_ascii("www.example.org.").ok()?;
            let www_com = Name::from_ascii("www.example.com.").ok()?;
            resp.add_answer(Record::from_rdata(
                www_org,
                300,
                RData::CNAME(CNAME(www_com.clone())),
            ));
            resp.add_answer(Record::from_rdata(
                www_com,
                86400,
                RData::A(A::new(203, 0, 113, 66)),
            ));
            Some(resp)
        })));
    let clause = format!("forward-zone:\n  name: \"example.org\"\n  forward-addr: {forwarder}\n");
    let r = TestResolver::start_with(hierarchy, "", &clause).await;
    let via = r.q("www.example.org", "A").await;
    assert_eq!(via.answers_of("A"), vec!["192.0.2.1"], "{}", via.raw);
    let direct = r.q("www.example.com", "A").await;
    assert_eq!(direct.answers_of("A"), vec!["192.0.2.1"], "{}", direct.raw);
    r.stop().await;
}

/// NXNS (CVE-2020-12662): a referral to 40 glue-less names that do not exist
/// costs a bounded number of upstream queries, not one per name.
#[tokio::test]
async fn nxns_referral_is_bounded() {
    let r = TestResolver::start("").await;
    let a = r
        .dig()
        .wait(Duration::from_secs(5))
        .run("www.nxns.com", "A")
        .await
        .unwrap();
    assert_eq!(a.status, "SERVFAIL", "{}", a.raw);
    let net = r.hierarchy.server_for_zone("example.net.").queries();
    assert!(
        net <= 16,
        "{net} queries to example.net for one client query"
    );
    r.stop().await;
}

/// RFC 9156 §2.3: a deep name in one zone resolves (successful minimised queries
/// do not use up the zone's servers, and strides cap the number of steps).
#[tokio::test]
async fn deep_names_resolve_with_qname_minimisation() {
    let r = TestResolver::start("").await;
    let a = r.q("1.2.3.4.5.6.7.8.9.10.11.12.wild.net", "A").await;
    assert_eq!(a.answers_of("A"), vec!["198.51.100.1"], "{}", a.raw);
    let wild = r.hierarchy.server_for_zone("wild.net.").queries();
    assert!(wild <= 11, "{wild} queries to wild.net");
    r.stop().await;
}

/// A CNAME into a delegated child zone is followed into the child on the first query.
#[tokio::test]
async fn cname_into_child_zone_is_followed() {
    let r = TestResolver::start("").await;
    let a = r.q("tosub.example.com", "A").await;
    assert_eq!(
        a.answers_of("CNAME"),
        vec!["www.sub.example.com."],
        "{}",
        a.raw
    );
    assert_eq!(a.answers_of("A"), vec!["192.0.2.16"], "{}", a.raw);
    r.stop().await;
}

/// RFC 4035 §3.1.4.1: DS is asked of the parent zone, even with the child cached.
#[tokio::test]
async fn ds_goes_to_the_parent() {
    let r = TestResolver::start("").await;
    let _ = r.q("www.example.com", "A").await;
    let _ = r.q("example.com", "DS").await;
    let com = r.hierarchy.server_for_zone("com.");
    assert!(
        com.queries_for("example.com.", RecordType::DS) >= 1,
        "{:?}",
        com.query_log()
    );
    let child = r.hierarchy.server_for_zone("example.com.");
    assert_eq!(child.queries_for("example.com.", RecordType::DS), 0);
    r.stop().await;
}

/// RFC 6891 §6.1.3: an unknown EDNS version is answered BADVERS.
#[tokio::test]
async fn unknown_edns_version_gets_badvers() {
    let r = TestResolver::start("").await;
    let a = r
        .dig()
        .arg("+edns=1")
        .arg("+noednsneg")
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(a.status, "BADVERS", "{}", a.raw);
    assert_eq!(r.hierarchy.total_queries(), 0);
    r.stop().await;
}

/// A SERVFAIL is remembered briefly: a client retrying does not re-run the iteration.
#[tokio::test]
async fn servfail_is_cached_briefly() {
    let r = TestResolver::start("").await;
    assert_eq!(r.q("www.loop1.com", "A").await.status, "SERVFAIL");
    let total = r.hierarchy.total_queries();
    assert_eq!(r.q("www.loop1.com", "A").await.status, "SERVFAIL");
    assert_eq!(r.hierarchy.total_queries(), total);
    r.stop().await;
}

/// A serve-expired refresh that failed is retried later, so the answer becomes
/// fresh again once the authority recovers.
#[tokio::test]
async fn failed_refresh_is_retried_after_recovery() {
    let r = TestResolver::start("  serve-expired: yes\n  serve-expired-client-timeout: 0\n").await;
    let _ = r.q("short-ttl.example.com", "A").await;
    let leaf = r.hierarchy.server_for_zone("example.com.");
    leaf.set_servfail(true);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let stale = r.q("short-ttl.example.com", "A").await;
    assert_eq!(stale.answer[0].ttl, 30, "{}", stale.raw);
    leaf.set_servfail(false);
    tokio::time::sleep(Duration::from_millis(5600)).await;
    let _ = r.q("short-ttl.example.com", "A").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = r.q("short-ttl.example.com", "A").await;
    assert!(fresh.answer[0].ttl <= 2, "{}", fresh.raw);
    r.stop().await;
}
