//! Cache-poisoning defences against the mock internet (issue 19):
//! `use-caps-for-id` (0x20) with Unbound's fallback for servers that do not
//! echo case, `caps-exempt`, no 0x20 over TLS, `harden-referral-path`, and
//! out-of-bailiwick records that must not reach the cache (iter_scrub.c).

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::time::Instant;

use crate::cache::Trust;
use crate::error::ResolveError;
use crate::transport::mock::{
    a_addresses, config, example_internet, ip, name, no_case_echo, plain, recursor, Behaviour,
    MockTransport, EXAMPLE_NET, EXAMPLE_NS1, EXAMPLE_NS2, FORWARDER, TLD,
};

const CAPS: &str = "  qname-minimisation: no\n  use-caps-for-id: yes\n";

/// Queries to either example.com. server, as (with 0x20, without).
fn example_com_caps(net: &MockTransport) -> (usize, usize) {
    let servers = [ip(EXAMPLE_NS1), ip(EXAMPLE_NS2)];
    let sent: Vec<_> = net
        .sent()
        .into_iter()
        .filter(|s| servers.contains(&s.server))
        .collect();
    let caps = sent.iter().filter(|s| s.caps).count();
    (caps, sent.len() - caps)
}

/// No 0x20 echo, and another address for www than the zone holds.
fn no_echo_other_answer(query: &Query, reply: Message) -> Option<Message> {
    let mut reply = no_case_echo(query, reply)?;
    for record in &mut reply.answers {
        record.data = RData::A(A::new(192, 0, 2, 66));
    }
    Some(reply)
}

/// draft-vixie-dnsext-dns0x20: every query goes out in random case; servers
/// that echo it are answered at the first query, no fallback.
#[tokio::test]
async fn caps_queries_are_answered_at_once_by_servers_that_echo_case() {
    let net = example_internet();
    let recursor = recursor(&net, &config(CAPS));
    let answer = recursor
        .resolve(&name("www.example.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(a_addresses(&answer), vec!["192.0.2.80"]);
    assert!(net.sent().iter().all(|s| s.caps), "{:?}", net.sent());
    assert_eq!(example_com_caps(&net), (1, 0));
}

/// Unbound's caps_fallback: when no server echoes the case, the question is
/// asked again without 0x20 of every server (three replies per address, the
/// mismatched one counting as the first) and the agreeing answer is taken.
#[tokio::test]
async fn servers_that_do_not_echo_case_are_answered_through_the_fallback() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(no_case_echo));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(no_case_echo));
    let recursor = recursor(&net, &config(CAPS));
    let answer = recursor
        .resolve(&name("www.example.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(a_addresses(&answer), vec!["192.0.2.80"]);
    // Both asked with 0x20 (each failed), then 2×3−1 agreeing replies without.
    assert_eq!(example_com_caps(&net), (2, 5));
}

/// "0x20 failed, then got different replies in fallback": SERVFAIL, nothing
/// cached.
#[tokio::test]
async fn fallback_replies_that_differ_are_servfail() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(no_case_echo));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(no_echo_other_answer));
    let recursor = recursor(&net, &config(CAPS));
    let error = recursor
        .resolve(&name("www.example.com."), RecordType::A)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ResolveError::CapsFallbackDiffers { .. }),
        "{error:?}"
    );
}

/// A reply that fails the case check is a failure of that server: the other
/// server, which echoes, answers with 0x20 and no fallback runs.
#[tokio::test]
async fn a_server_not_echoing_case_is_passed_over_for_one_that_does() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(no_case_echo));
    let recursor = recursor(&net, &config(CAPS));
    // ns1 first: ns2 looks dead until it is needed.
    crate::transport::mock::prefer_ns1(&recursor);
    let answer = recursor
        .resolve(&name("www.example.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(a_addresses(&answer), vec!["192.0.2.80"]);
    assert_eq!(example_com_caps(&net), (2, 0));
}

/// caps-exempt (and its old name caps-whitelist): no 0x20 at or below the
/// names listed, so servers there that lowercase are answered directly.
#[tokio::test]
async fn caps_exempt_names_are_asked_without_0x20() {
    for key in ["caps-exempt", "caps-whitelist"] {
        let net = example_internet();
        net.behave(EXAMPLE_NS1, Behaviour::Rewrite(no_case_echo));
        net.behave(EXAMPLE_NS2, Behaviour::Rewrite(no_case_echo));
        let recursor = recursor(&net, &config(&format!("{CAPS}  {key}: example.com\n")));
        let answer = recursor
            .resolve(&name("www.example.com."), RecordType::A)
            .await
            .unwrap();
        assert_eq!(a_addresses(&answer), vec!["192.0.2.80"]);
        assert_eq!(example_com_caps(&net), (0, 1), "{key}");
        // Other names still get it.
        net.clear_log();
        recursor
            .resolve(&name("www.example.net."), RecordType::A)
            .await
            .unwrap();
        assert!(net.sent().iter().all(|s| s.caps), "{key}");
    }
}

/// Forwarders get 0x20 as Unbound sends it (their replies are checked the
/// same way), except over TLS, whose channel is authenticated already.
#[tokio::test]
async fn forwarders_get_0x20_except_over_tls() {
    for (tls, caps) in [("no", true), ("yes", false)] {
        let net = example_internet();
        let text = format!(
            "{CAPS}forward-zone:\n  name: corp.example.com\n  forward-addr: {FORWARDER}\n  forward-tls-upstream: {tls}\n"
        );
        let recursor = recursor(&net, &config(&text));
        let answer = recursor
            .resolve(&name("host.corp.example.com."), RecordType::A)
            .await
            .unwrap();
        assert_eq!(a_addresses(&answer), vec!["10.1.2.3"]);
        let sent = net.sent();
        assert!(
            sent.iter()
                .filter(|s| s.server == ip(FORWARDER))
                .all(|s| s.caps == caps),
            "tls {tls}: {sent:?}"
        );
    }
}

/// The NS names cached for `zone` at `trust` or better.
fn cached_ns(recursor: &super::Recursor<MockTransport>, zone: &str, trust: Trust) -> Vec<String> {
    recursor
        .rrsets
        .get(&name(zone), RecordType::NS, trust, Instant::now())
        .map(|entry| {
            entry
                .records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::NS(ns) => Some(ns.0.to_ascii()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// com.'s referral to example.com. names a third server the zone itself
/// does not list (a stale or forged delegation).
fn referral_with_extra_ns(_query: &Query, mut reply: Message) -> Option<Message> {
    if reply
        .authorities
        .iter()
        .any(|r| r.name == name("example.com.") && r.record_type() == RecordType::NS)
    {
        reply.authorities.push(Record::from_rdata(
            name("example.com."),
            172800,
            RData::NS(NS(name("ns.attacker.net."))),
        ));
    }
    Some(reply)
}

/// harden-referral-path (iterator.c generate_ns_check): each referral's zone
/// is asked for its own NS set, which is what the cache keeps (answer trust);
/// the referral itself serves only the resolution that got it. Off (the
/// default), the referral is cached and no NS query is sent.
#[tokio::test]
async fn harden_referral_path_caches_the_zones_own_ns_set_only() {
    for hardened in [false, true] {
        let net = example_internet();
        net.behave(TLD, Behaviour::Rewrite(referral_with_extra_ns));
        let text = format!(
            "  qname-minimisation: no\n  harden-referral-path: {}\n",
            if hardened { "yes" } else { "no" }
        );
        let recursor = recursor(&net, &config(&text));
        let answer = recursor
            .resolve(&name("www.example.com."), RecordType::A)
            .await
            .unwrap();
        assert_eq!(a_addresses(&answer), vec!["192.0.2.80"]);
        let asked_ns = net
            .sent()
            .iter()
            .filter(|s| s.qtype == RecordType::NS && s.name == name("example.com."))
            .count();
        let cached = cached_ns(&recursor, "example.com.", Trust::Referral);
        if hardened {
            assert_eq!(asked_ns, 1);
            assert_eq!(
                cached,
                vec!["ns1.example.com.", "ns2.example.com."],
                "the zone's own NS set"
            );
            assert_eq!(cached_ns(&recursor, "example.com.", Trust::Answer).len(), 2);
            // The referral's glue is not cached either.
            let glue = recursor.rrsets.get(
                &name("ns1.example.com."),
                RecordType::A,
                Trust::Glue,
                Instant::now(),
            );
            assert!(glue.is_none(), "{glue:?}");
        } else {
            assert_eq!(asked_ns, 0);
            assert!(
                cached.contains(&"ns.attacker.net.".to_string()),
                "{cached:?}"
            );
        }
    }
}

/// harden-referral-path: a question for a zone's NS set stores the referral
/// (Unbound: "only store referral if we asked for it") and sends no extra
/// check; DS questions, answered above the cut, send none either.
#[tokio::test]
async fn harden_referral_path_sends_no_check_for_ns_and_ds_questions() {
    let net = example_internet();
    let recursor = recursor(
        &net,
        &config("  qname-minimisation: no\n  harden-referral-path: yes\n"),
    );
    recursor
        .resolve(&name("example.com."), RecordType::NS)
        .await
        .unwrap();
    assert_eq!(
        net.asked(EXAMPLE_NS1).len() + net.asked(EXAMPLE_NS2).len(),
        1
    );
    let fresh = example_internet();
    let recursor = crate::transport::mock::recursor(
        &fresh,
        &config("  qname-minimisation: no\n  harden-referral-path: yes\n"),
    );
    let _ = recursor
        .resolve(&name("example.net."), RecordType::DS)
        .await;
    assert!(fresh.sent().iter().all(|s| s.qtype == RecordType::DS));
    assert_eq!(fresh.queries_to(EXAMPLE_NET), 0);
}

/// A reply from example.com.'s server that carries records for example.net.
/// in every section: an answer, an NS set and glue pointing elsewhere.
fn poisoning_reply(_query: &Query, mut reply: Message) -> Option<Message> {
    let poison = || {
        Record::from_rdata(
            name("www.example.net."),
            86400,
            RData::A(A::new(6, 6, 6, 6)),
        )
    };
    reply.answers.push(poison());
    reply.authorities.push(Record::from_rdata(
        name("example.net."),
        86400,
        RData::NS(NS(name("ns.attacker.com."))),
    ));
    reply.additionals.push(poison());
    reply.additionals.push(Record::from_rdata(
        name("ns.example.net."),
        86400,
        RData::A(A::new(6, 6, 6, 7)),
    ));
    Some(reply)
}

/// iter_scrub.c scrub_sanitize: "remove ALL rrsets that aren't children of
/// the originating zone": example.com.'s servers cannot plant example.net.
/// data in any section; example.net. is then resolved from its own server.
#[tokio::test]
async fn out_of_bailiwick_records_in_any_section_are_not_cached() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(poisoning_reply));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(poisoning_reply));
    let recursor = plain(&net);
    let answer = recursor
        .resolve(&name("www.example.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(a_addresses(&answer), vec!["192.0.2.80"]);
    let answer = recursor
        .resolve(&name("www.example.net."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(a_addresses(&answer), vec!["192.0.2.90"]);
    assert_eq!(net.queries_to(EXAMPLE_NET), 1);
    assert_eq!(
        cached_ns(&recursor, "example.net.", Trust::ForeignGlue),
        vec!["ns.example.net."]
    );
}

/// A CNAME out of the zone with the target's "answer" beside it: the target
/// is resolved from its own zone, not taken from the alias's server.
#[tokio::test]
async fn answer_for_a_cname_target_in_another_zone_is_not_taken() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(poisoning_reply));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(poisoning_reply));
    let recursor = plain(&net);
    let answer = recursor
        .resolve(&name("alias.example.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(a_addresses(&answer), vec!["192.0.2.90"]);
}

/// Drops queries whose name has a capital letter (a middlebox that eats
/// 0x20 queries): only lowercase questions get an answer.
fn drop_mixed_case(query: &Query, reply: Message) -> Option<Message> {
    let mixed = query
        .name()
        .to_ascii()
        .bytes()
        .any(|b| b.is_ascii_uppercase());
    (!mixed).then_some(reply)
}

/// "Capsforid: timeouts, starting fallback": after three timeouts of 0x20
/// queries the question goes without it, and the agreeing replies answer.
/// (A draw with no capital among the 17 letters, 2^-17, would be answered
/// at once; the name is long for that reason.)
#[tokio::test]
async fn three_timeouts_start_the_fallback() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(drop_mixed_case));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(drop_mixed_case));
    let recursor = recursor(&net, &config(CAPS));
    let answer = recursor
        .resolve(&name("deep.www.example.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(a_addresses(&answer), vec!["192.0.2.81"]);
    let (caps, plain) = example_com_caps(&net);
    assert_eq!(caps, 3, "three timeouts, then the fallback");
    assert_eq!(plain, 5);
}
