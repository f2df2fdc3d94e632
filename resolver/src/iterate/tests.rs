//! The iterator against the mock internet (`transport::mock`): referrals,
//! server selection and retries, CNAME chains, work limits, QNAME
//! minimisation and forward zones, asserted on the answer and on the queries
//! each server received.

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::time::Instant;

use super::{Answer, Recursor};
use crate::error::ResolveError;
use crate::iterate::infra::UNKNOWN_RTO;
use crate::transport::mock::{
    a_addresses as addresses, config, example_internet, ip, name, plain, prefer_ns1, recursor,
    Behaviour, MockTransport, EXAMPLE_NET, EXAMPLE_NS1, EXAMPLE_NS2, FORWARDER, GLUELESS, ROOT,
    TLD,
};

/// Resolves `qname`/`qtype` with `recursor`.
async fn resolve(
    recursor: &Recursor<MockTransport>,
    qname: &str,
    qtype: RecordType,
) -> Result<Answer, ResolveError> {
    recursor.resolve(&name(qname), qtype).await
}

/// The record types of an answer section, in order.
fn types(answer: &Answer) -> Vec<RecordType> {
    answer.answers.iter().map(|r| r.record_type()).collect()
}

/// The questions example.com.'s two servers received, in the order sent
/// (which of the two gets each is the infra cache's random choice).
fn asked_of_example_com(net: &MockTransport) -> Vec<(String, RecordType)> {
    let servers = [ip(EXAMPLE_NS1), ip(EXAMPLE_NS2)];
    net.sent()
        .iter()
        .filter(|s| servers.contains(&s.server))
        .map(|s| (s.name.to_ascii(), s.qtype))
        .collect()
}

/// A server that answers NXDOMAIN where the name exists without data (some
/// servers do so for empty non-terminals; RFC 9156 §3 relaxed mode copes).
fn nxdomain_for_nodata(_query: &Query, mut reply: Message) -> Option<Message> {
    let nodata = reply.metadata.authoritative && reply.answers.is_empty();
    if reply.metadata.response_code == ResponseCode::NoError && nodata {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    Some(reply)
}

/// RFC 1034 §5.3.3: resolution starts at the root and follows referrals
/// (NS + glue) down to the zone holding the name; the next query for that zone
/// starts at the cached delegation, not at the root.
#[tokio::test]
async fn referrals_lead_from_the_root_through_the_tld_to_the_leaf() {
    let net = example_internet();
    let recursor = plain(&net);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert_eq!(addresses(&answer), ["192.0.2.80"]);
    assert_eq!(net.queries_to(ROOT), 1);
    assert_eq!(net.queries_to(TLD), 1);
    assert_eq!(net.queries_to(EXAMPLE_NS1) + net.queries_to(EXAMPLE_NS2), 1);
    assert!(net.sent().iter().all(|s| !s.rd && s.edns && !s.tcp));

    net.clear_log();
    let answer = resolve(&recursor, "deep.www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.81"]);
    assert_eq!(net.sent().len(), 1, "{:?}", net.sent());
}

/// RFC 1034 §5.3.3 step 4: a referral whose NS name has no glue (ns.example.com.
/// for glueless.com.) has that name's address resolved first, then the zone is asked.
#[tokio::test]
async fn glueless_ns_name_is_resolved_before_the_zone_is_asked() {
    let net = example_internet();
    let recursor = plain(&net);
    let answer = resolve(&recursor, "www.glueless.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.100"]);
    let ns_lookup = ("ns.example.com.".to_string(), RecordType::A);
    let leaf_asked = asked_of_example_com(&net);
    assert!(leaf_asked.contains(&ns_lookup), "{leaf_asked:?}");
    assert_eq!(
        net.asked(GLUELESS),
        [("www.glueless.com.".to_string(), RecordType::A)]
    );
}

/// RFC 4697 §2.1 (lame delegation): a server that answers REFUSED for its zone
/// is marked lame and the next server is asked; later queries avoid it.
#[tokio::test]
async fn lame_server_is_skipped_and_the_next_one_answers() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rcode(ResponseCode::Refused));
    let recursor = plain(&net);
    prefer_ns1(&recursor);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.80"]);
    assert_eq!(net.queries_to(EXAMPLE_NS1), 1);
    assert_eq!(net.queries_to(EXAMPLE_NS2), 1);
    assert!(recursor.infra.is_lame(
        ip(EXAMPLE_NS1),
        &name("example.com."),
        RecordType::A,
        Instant::now()
    ));

    net.clear_log();
    resolve(&recursor, "deep.www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(net.queries_to(EXAMPLE_NS1), 0, "{:?}", net.sent());
}

/// RFC 1035 §7.2 / Unbound's infra cache: a server that does not answer in
/// time is left for another server of the zone, and its timeout backs off.
#[tokio::test]
async fn timeout_moves_on_to_another_server_and_backs_off() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Timeout);
    let recursor = plain(&net);
    prefer_ns1(&recursor);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.80"]);
    assert_eq!(net.queries_to(EXAMPLE_NS1), 1);
    assert_eq!(net.queries_to(EXAMPLE_NS2), 1);
    assert!(recursor.infra.rto(ip(EXAMPLE_NS1), Instant::now()) > UNKNOWN_RTO);
}

/// RFC 7766 §5: "a resolver SHOULD retry the query over TCP" when the UDP
/// reply has TC=1; the TCP answer is the one used.
#[tokio::test]
async fn truncated_udp_reply_is_retried_over_tcp() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::TruncateUdp)
        .behave(EXAMPLE_NS2, Behaviour::TruncateUdp);
    let recursor = plain(&net);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.80"]);
    // root, TLD and the leaf over UDP; the leaf once more over TCP.
    assert_eq!(net.by_transport(), (3, 1));
    let leaf: Vec<bool> = net
        .sent()
        .iter()
        .filter(|s| s.server == ip(EXAMPLE_NS1) || s.server == ip(EXAMPLE_NS2))
        .map(|s| s.tcp)
        .collect();
    assert_eq!(leaf, [false, true]);
}

/// RFC 6891 §7: a server that answers FORMERR to a query with an OPT record
/// may not implement EDNS; the query is sent again without one.
#[tokio::test]
async fn formerr_to_an_edns_query_is_retried_without_edns() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::NoEdns)
        .behave(EXAMPLE_NS2, Behaviour::NoEdns);
    let recursor = plain(&net);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.80"]);
    let leaf: Vec<bool> = net
        .sent()
        .iter()
        .filter(|s| s.server == ip(EXAMPLE_NS1) || s.server == ip(EXAMPLE_NS2))
        .map(|s| s.edns)
        .collect();
    assert_eq!(leaf, [true, false]);
}

/// RFC 1034 §3.6.2: a CNAME whose target is in another zone is followed by
/// resolving the target from its own zone; the answer holds the whole chain.
#[tokio::test]
async fn cname_chain_is_followed_across_zones() {
    let net = example_internet();
    let recursor = plain(&net);
    let answer = resolve(&recursor, "alias.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(types(&answer), [RecordType::CNAME, RecordType::A]);
    assert_eq!(addresses(&answer), ["192.0.2.90"]);
    assert_eq!(
        net.asked(EXAMPLE_NET),
        [("www.example.net.".to_string(), RecordType::A)]
    );
}

/// RFC 1034 §3.6.2 ("CNAME loops should be detected"): a chain that comes back
/// to a name already in it fails instead of going round.
#[tokio::test]
async fn cname_loop_across_zones_is_detected() {
    let net = example_internet();
    let recursor = plain(&net);
    let error = resolve(&recursor, "loop.example.com.", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ResolveError::Limit("CNAME loop")),
        "{error:?}"
    );
}

/// Unbound's max-query-restarts (`WorkLimits::max_cname_chain`): a chain of
/// four cross-zone CNAMEs needs four restarts; with three allowed it fails.
#[tokio::test]
async fn cname_chain_longer_than_the_limit_fails() {
    let net = example_internet();
    let mut conf = config("  qname-minimisation: no\n");
    conf.server.limits.max_cname_chain = 4;
    let answer = resolve(&recursor(&net, &conf), "hop1.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.83"]);
    assert_eq!(answer.answers.len(), 5);

    conf.server.limits.max_cname_chain = 3;
    let error = resolve(&recursor(&net, &conf), "hop1.example.com.", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ResolveError::Limit("CNAME chain")),
        "{error:?}"
    );
}

/// Unbound's MAX_REFERRAL_COUNT (`WorkLimits::max_referrals`): root → com →
/// example.com takes two referrals, which two allow; with one the leaf is never asked.
#[tokio::test]
async fn referral_budget_stops_the_descent() {
    let net = example_internet();
    let mut conf = config("  qname-minimisation: no\n");
    conf.server.limits.max_referrals = 2;
    resolve(&recursor(&net, &conf), "www.example.com.", RecordType::A)
        .await
        .unwrap();
    net.clear_log();
    conf.server.limits.max_referrals = 1;
    let error = resolve(&recursor(&net, &conf), "www.example.com.", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ResolveError::Limit("referrals")),
        "{error:?}"
    );
    assert_eq!(net.queries_to(EXAMPLE_NS1) + net.queries_to(EXAMPLE_NS2), 0);
}

/// Unbound's max-global-quota (`WorkLimits::max_upstream_queries`): root, TLD
/// and leaf take three queries, which three allow; with two, no third is sent.
#[tokio::test]
async fn upstream_query_budget_caps_the_queries_sent() {
    let net = example_internet();
    let mut conf = config("  qname-minimisation: no\n");
    conf.server.limits.max_upstream_queries = 3;
    resolve(&recursor(&net, &conf), "www.example.com.", RecordType::A)
        .await
        .unwrap();
    net.clear_log();
    conf.server.limits.max_upstream_queries = 2;
    let error = resolve(&recursor(&net, &conf), "www.example.com.", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ResolveError::Limit("upstream queries")),
        "{error:?}"
    );
    assert_eq!(net.sent().len(), 2);
}

/// RFC 9156 §3: each server is asked for one label more than the zone it is
/// authoritative for, and only the leaf zone's servers see the full name.
#[tokio::test]
async fn qname_minimisation_shows_each_zone_one_label_more() {
    let net = example_internet();
    let recursor = recursor(&net, &config(""));
    let answer = resolve(&recursor, "deep.www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.81"]);
    assert_eq!(net.asked(ROOT), [("com.".to_string(), RecordType::A)]);
    assert_eq!(
        net.asked(TLD),
        [("example.com.".to_string(), RecordType::A)]
    );
    let leaf = asked_of_example_com(&net);
    assert_eq!(
        leaf,
        [
            ("www.example.com.".to_string(), RecordType::A),
            ("deep.www.example.com.".to_string(), RecordType::A),
        ]
    );
}

/// RFC 9156 §2.3 with a cache, as Unbound: a name the zone already answered
/// for itself (data or NODATA, no referral) is no cut, so the next resolution
/// below it is not minimised through it again.
#[tokio::test]
async fn a_name_known_to_be_no_cut_is_not_asked_again() {
    let net = example_internet();
    let recursor = recursor(&net, &config(""));
    resolve(&recursor, "deep.www.example.com.", RecordType::A)
        .await
        .unwrap();
    net.clear_log();
    let _ = resolve(&recursor, "deep.www.example.com.", RecordType::AAAA).await;
    assert_eq!(
        asked_of_example_com(&net),
        [("deep.www.example.com.".to_string(), RecordType::AAAA)]
    );
}

/// RFC 9156 §3 (relaxed, Unbound's default): a server answering NXDOMAIN for a
/// minimised empty non-terminal is asked the full name at once (not the next
/// minimised one), which exists.
#[tokio::test]
async fn relaxed_qname_minimisation_asks_the_full_name_after_nxdomain() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(nxdomain_for_nodata))
        .behave(EXAMPLE_NS2, Behaviour::Rewrite(nxdomain_for_nodata));
    let recursor = recursor(&net, &config(""));
    let answer = resolve(&recursor, "deep.x.ent.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.84"]);
    let leaf = asked_of_example_com(&net);
    assert_eq!(
        leaf,
        [
            ("ent.example.com.".to_string(), RecordType::A),
            ("deep.x.ent.example.com.".to_string(), RecordType::A),
        ]
    );
}

/// RFC 9156 §2.3 with RFC 8020 (strict mode): NXDOMAIN for a minimised name
/// means nothing below it exists, and is the answer.
#[tokio::test]
async fn strict_qname_minimisation_takes_nxdomain_for_an_ancestor_as_final() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(nxdomain_for_nodata))
        .behave(EXAMPLE_NS2, Behaviour::Rewrite(nxdomain_for_nodata));
    let recursor = recursor(&net, &config("  qname-minimisation-strict: yes\n"));
    let answer = resolve(&recursor, "x.ent.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(answer.rcode, ResponseCode::NXDomain);
    assert!(answer.answers.is_empty());
}

/// unbound.conf forward-zone: names under the zone go to the forwarder with
/// RD=1 (it recurses for us), never to the root.
#[tokio::test]
async fn forward_zone_asks_the_forwarder_with_rd_set() {
    let net = example_internet();
    let conf = config(&format!(
        "  qname-minimisation: no\nforward-zone:\n  name: corp.example.com\n  forward-addr: {FORWARDER}\n"
    ));
    let answer = resolve(
        &recursor(&net, &conf),
        "host.corp.example.com.",
        RecordType::A,
    )
    .await
    .unwrap();
    assert_eq!(addresses(&answer), ["10.1.2.3"]);
    assert_eq!(net.queries_to(ROOT), 0);
    let sent = net.sent();
    assert!(!sent.is_empty() && sent.iter().all(|s| s.server == ip(FORWARDER) && s.rd));
}

/// unbound.conf forward-first: when every forwarder fails, the name is resolved
/// by iteration from the root (RD=0); without it, the resolution fails.
#[tokio::test]
async fn forward_first_falls_back_to_iteration_when_the_forwarder_fails() {
    let net = example_internet();
    net.behave(FORWARDER, Behaviour::Timeout);
    let zone = format!("forward-zone:\n  name: corp.example.com\n  forward-addr: {FORWARDER}\n");
    let conf = config(&format!(
        "  qname-minimisation: no\n{zone}  forward-first: yes\n"
    ));
    let answer = resolve(
        &recursor(&net, &conf),
        "host.corp.example.com.",
        RecordType::A,
    )
    .await
    .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.99"]);
    assert!(net.queries_to(FORWARDER) >= 1);
    assert_eq!(net.queries_to(ROOT), 1);
    assert!(net
        .sent()
        .iter()
        .all(|s| s.rd == (s.server == ip(FORWARDER))));

    let conf = config(&format!("  qname-minimisation: no\n{zone}"));
    let error = resolve(
        &recursor(&net, &conf),
        "host.corp.example.com.",
        RecordType::A,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, ResolveError::AllServersFailed { .. }),
        "{error:?}"
    );
}

/// A CNAME chain's target is kept in the RRset cache: another name whose
/// chain ends there (a CDN's edge, shared by many sites) is answered without
/// asking anyone, while the name asked itself is left to the message cache.
#[tokio::test]
async fn a_chain_target_is_reused_by_the_next_chain_that_reaches_it() {
    let net = example_internet();
    let recursor = recursor(&net, &config("  qname-minimisation: no\n"));
    let first = resolve(&recursor, "hop1.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&first), ["192.0.2.83"]);
    net.clear_log();
    // hop2.example.com. -> hop2.example.net. -> hop3.example.com.: every
    // link and the target were learned by the first chain.
    let second = resolve(&recursor, "hop2.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&second), ["192.0.2.83"]);
    assert_eq!(
        types(&second),
        [RecordType::CNAME, RecordType::CNAME, RecordType::A]
    );
    assert!(net.sent().is_empty(), "asked again: {:?}", net.sent().len());
    // The name asked is not kept here: www.example.com. asked directly is
    // asked again (its answer lives in the pipeline's message cache).
    resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    net.clear_log();
    resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(asked_of_example_com(&net).len(), 1);
}

/// RFC 7873 §5.3: BADCOOKIE is asked again once (the transport has learned
/// the server's new cookie), and the retry is an upstream query of the
/// budget; a server that keeps answering BADCOOKIE is given up.
#[tokio::test]
async fn badcookie_is_retried_once_within_the_budget() {
    /// BADCOOKIE is an extended rcode: it needs an OPT record on the wire.
    fn badcookie(_: &Query, mut reply: Message) -> Option<Message> {
        reply.metadata.response_code = ResponseCode::BADCOOKIE;
        reply.answers.clear();
        reply.set_edns(hickory_proto::op::Edns::new());
        Some(reply)
    }
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(badcookie))
        .behave(EXAMPLE_NS2, Behaviour::Rewrite(badcookie));
    let stubborn = plain(&net);
    assert!(resolve(&stubborn, "www.example.com.", RecordType::A)
        .await
        .is_err());
    assert_eq!(net.queries_to(EXAMPLE_NS1), 2);
    assert_eq!(net.queries_to(EXAMPLE_NS2), 2);

    // Root and com cost 2; the first leaf query 1; its retry would be the 4th.
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(badcookie))
        .behave(EXAMPLE_NS2, Behaviour::Rewrite(badcookie));
    let mut conf = config("  qname-minimisation: no\n");
    conf.server.limits.max_upstream_queries = 3;
    let error = resolve(&recursor(&net, &conf), "www.example.com.", RecordType::A)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ResolveError::Limit("upstream queries")),
        "{error}"
    );
    assert_eq!(net.queries_to(EXAMPLE_NS1) + net.queries_to(EXAMPLE_NS2), 1);
}
