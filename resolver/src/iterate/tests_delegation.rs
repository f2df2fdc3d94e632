//! Parent and child disagreeing about a zone's servers, and NS cycles, against
//! the mock internet: the child's NS set replaces the parent's once learned,
//! the parent's NS and glue are the last resort when the child's fail, and
//! `harden-glue: no` uses out-of-bailiwick glue to break a cycle.

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::time::Instant;

use crate::cache::Trust;
use crate::transport::mock::{
    a_addresses as addresses, config, name, recursor, root_and_tlds, Behaviour, MockTransport, TLD,
};

/// moved.com.'s server as com. names it (ns1.moved.com.).
const MOVED: &str = "198.51.100.60";
/// The server moved.com.'s own NS set names (ns-new.moved.com.): dead.
const MOVED_CHILD: &str = "198.51.100.61";
/// The address readdr.com.'s own zone gives its server: dead.
const READDR_CHILD: &str = "198.51.100.62";
/// The address com.'s glue gives readdr.com.'s server: working.
const READDR: &str = "198.51.100.63";
/// The server of cyc.com. and cyc.net., each delegated to a name in the other.
const CYCLE: &str = "198.51.100.64";
/// evil.com.'s server: delegates sub.evil.com. to ns1.readdr.com. with its own
/// (out-of-bailiwick) glue for that name.
const EVIL: &str = "198.51.100.65";

/// The root delegates com. and net. to [`TLD`], which delegates the test zones.
fn internet() -> MockTransport {
    let net = MockTransport::new();
    root_and_tlds(
        &net,
        "\
moved.com. 172800 NS ns1.moved.com.
ns1.moved.com. 172800 A 198.51.100.60
readdr.com. 172800 NS ns1.readdr.com.
ns1.readdr.com. 172800 A 198.51.100.63
cyc.com. 172800 NS ns.cyc.net.
ns.cyc.net. 172800 A 198.51.100.64
evil.com. 172800 NS ns.evil.com.
ns.evil.com. 172800 A 198.51.100.65
",
        "\
cyc.net. 172800 NS ns.cyc.com.
ns.cyc.com. 172800 A 198.51.100.64
",
    );
    net.zone(
        MOVED,
        "moved.com.",
        "\
moved.com. 3600 SOA ns1.moved.com. hostmaster.moved.com. 1 3600 600 86400 300
moved.com. 3600 NS ns-new.moved.com.
ns-new.moved.com. 3600 A 198.51.100.61
www.moved.com. 300 A 192.0.2.60
www2.moved.com. 300 A 192.0.2.61
",
    );
    net.behave(MOVED, Behaviour::Rewrite(with_child_ns_moved));
    net.behave(MOVED_CHILD, Behaviour::Timeout);
    net.zone(
        READDR,
        "readdr.com.",
        "\
readdr.com. 3600 SOA ns1.readdr.com. hostmaster.readdr.com. 1 3600 600 86400 300
readdr.com. 3600 NS ns1.readdr.com.
ns1.readdr.com. 3600 A 198.51.100.62
www.readdr.com. 300 A 192.0.2.62
www2.readdr.com. 300 A 192.0.2.63
",
    );
    net.behave(READDR, Behaviour::Rewrite(with_child_ns_readdr));
    net.behave(READDR_CHILD, Behaviour::Timeout);
    let cycle = "\
cyc.com. 3600 SOA ns.cyc.net. hostmaster.cyc.com. 1 3600 600 86400 300
cyc.com. 3600 NS ns.cyc.net.
www.cyc.com. 300 A 192.0.2.64
";
    net.zone(CYCLE, "cyc.com.", cycle);
    net.zone(
        CYCLE,
        "cyc.net.",
        "\
cyc.net. 3600 SOA ns.cyc.com. hostmaster.cyc.net. 1 3600 600 86400 300
cyc.net. 3600 NS ns.cyc.com.
",
    );
    net.zone(
        EVIL,
        "evil.com.",
        "\
evil.com. 3600 SOA ns.evil.com. hostmaster.evil.com. 1 3600 600 86400 300
evil.com. 3600 NS ns.evil.com.
ns.evil.com. 3600 A 198.51.100.65
sub.evil.com. 3600 NS ns1.readdr.com.
ns1.readdr.com. 3600 A 6.6.6.6
",
    );
    net
}

/// An authoritative answer with the zone's own NS set in the authority
/// section and that server's address in the additional (as BIND sends by default).
fn with_child_ns(mut reply: Message, zone: &str, ns: &str, addr: [u8; 4]) -> Option<Message> {
    if reply.metadata.authoritative && !reply.answers.is_empty() {
        reply.authorities.push(Record::from_rdata(
            name(zone),
            3600,
            RData::NS(NS(name(ns))),
        ));
        reply.additionals.push(Record::from_rdata(
            name(ns),
            3600,
            RData::A(A::new(addr[0], addr[1], addr[2], addr[3])),
        ));
    }
    Some(reply)
}

/// moved.com.'s server names another server (ns-new, dead) as the zone's NS.
fn with_child_ns_moved(_query: &Query, reply: Message) -> Option<Message> {
    with_child_ns(reply, "moved.com.", "ns-new.moved.com.", [198, 51, 100, 61])
}

/// readdr.com.'s server gives its own name another (dead) address than com.'s glue.
fn with_child_ns_readdr(_query: &Query, reply: Message) -> Option<Message> {
    with_child_ns(reply, "readdr.com.", "ns1.readdr.com.", [198, 51, 100, 62])
}

/// The NS names cached for `zone` at `trust` or above.
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

/// The child's NS set (ns-new, learned from an answer's authority section)
/// replaces the parent's; when its server is dead, the parent's NS and glue
/// (ns1, from com.) answer instead of a SERVFAIL.
#[tokio::test]
async fn dead_child_ns_set_falls_back_to_the_parents() {
    let net = internet();
    let recursor = recursor(&net, &config("  qname-minimisation: no\n"));
    let first = recursor
        .resolve(&name("www.moved.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&first), ["192.0.2.60"]);
    assert_eq!(
        cached_ns(&recursor, "moved.com.", Trust::Answer),
        ["ns-new.moved.com."],
        "the child's NS set replaces the referral's"
    );

    let second = recursor
        .resolve(&name("www2.moved.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(second.rcode, ResponseCode::NoError);
    assert_eq!(addresses(&second), ["192.0.2.61"]);
    assert!(
        net.queries_to(MOVED_CHILD) >= 1,
        "the child's server is tried first"
    );
    assert_eq!(
        net.asked(MOVED).last(),
        Some(&("www2.moved.com.".to_string(), RecordType::A))
    );
}

/// The child gives its own server another (dead) address than the parent's
/// glue: once the child's address fails, the parent's glue address is used.
#[tokio::test]
async fn dead_child_address_falls_back_to_the_parents_glue() {
    let net = internet();
    let recursor = recursor(&net, &config("  qname-minimisation: no\n"));
    let first = recursor
        .resolve(&name("www.readdr.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&first), ["192.0.2.62"]);
    net.clear_log();
    let second = recursor
        .resolve(&name("www2.readdr.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&second), ["192.0.2.63"]);
    assert!(
        net.queries_to(READDR_CHILD) >= 1,
        "the child's address is tried first"
    );
    assert_eq!(
        net.queries_to(TLD),
        0,
        "the parent-side glue is kept, not asked again"
    );
}

/// cyc.com. is served by ns.cyc.net. and cyc.net. by ns.cyc.com.: only the
/// out-of-bailiwick glue com. and net. send can break the cycle. With
/// `harden-glue: no` it is used (as Unbound does); with the default `yes` it
/// is dropped and the name cannot be resolved.
#[tokio::test]
async fn out_of_bailiwick_glue_breaks_an_ns_cycle_only_without_harden_glue() {
    let net = internet();
    let unhardened = recursor(
        &net,
        &config("  qname-minimisation: no\n  harden-glue: no\n"),
    );
    let answer = unhardened
        .resolve(&name("www.cyc.com."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.64"]);

    let hardened = recursor(&net, &config("  qname-minimisation: no\n"));
    let failed = hardened.resolve(&name("www.cyc.com."), RecordType::A).await;
    assert!(failed.is_err(), "{failed:?}");
    assert!(
        net.asked(CYCLE)
            .iter()
            .filter(|(asked, _)| asked == "www.cyc.com.")
            .count()
            == 1,
        "only the unhardened resolver reached cyc.com.'s server"
    );
}

/// With `harden-glue: no`, another zone's glue for readdr.com.'s server
/// (6.6.6.6 from evil.com.) does not replace the address readdr.com.'s own
/// authoritative reply gave: foreign glue never outranks anything.
#[tokio::test]
async fn foreign_glue_does_not_replace_the_childs_own_address() {
    let net = internet();
    let recursor = recursor(
        &net,
        &config("  qname-minimisation: no\n  harden-glue: no\n"),
    );
    recursor
        .resolve(&name("www.readdr.com."), RecordType::A)
        .await
        .unwrap();
    let _ = recursor
        .resolve(&name("x.sub.evil.com."), RecordType::A)
        .await;
    assert!(
        net.queries_to(EVIL) >= 1,
        "the referral with foreign glue was received"
    );
    let cached: Vec<String> = recursor
        .rrsets
        .get(
            &name("ns1.readdr.com."),
            RecordType::A,
            Trust::ForeignGlue,
            Instant::now(),
        )
        .map(|entry| {
            entry
                .records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(cached, ["198.51.100.62"]);
}

/// The names `server` was asked, in order.
fn names_asked_of(net: &MockTransport, server: &str) -> Vec<String> {
    net.sent()
        .iter()
        .filter(|s| s.server.to_string() == server)
        .map(|s| s.name.to_ascii())
        .collect()
}

/// hoster.com.'s server, which also serves customer.net.
const HOSTER: &str = "198.51.100.66";

/// A glue-less delegation whose NS name's address com. gives as glue in its
/// referral to the NS name's own zone: the lookup takes the glue and asks
/// the hoster nothing but the client's question, with QNAME minimisation and
/// without. The glue is still no answer: a client asking for the NS name
/// gets the hoster's own.
#[tokio::test]
async fn an_ns_address_in_a_referrals_glue_ends_the_lookup() {
    for qmin in ["yes", "no"] {
        let net = MockTransport::new();
        root_and_tlds(
            &net,
            "\
hoster.com. 172800 NS ns1.hoster.com.
ns1.hoster.com. 172800 A 198.51.100.66
",
            "customer.net. 172800 NS ns1.hoster.com.\n",
        );
        net.zone(
            HOSTER,
            "hoster.com.",
            "\
hoster.com. 3600 SOA ns1.hoster.com. hostmaster.hoster.com. 1 3600 600 86400 300
hoster.com. 3600 NS ns1.hoster.com.
ns1.hoster.com. 3600 A 198.51.100.66
",
        );
        net.zone(
            HOSTER,
            "customer.net.",
            "\
customer.net. 3600 SOA ns1.hoster.com. hostmaster.customer.net. 1 3600 600 86400 300
customer.net. 3600 NS ns1.hoster.com.
www.customer.net. 300 A 192.0.2.66
",
        );
        // IPv4 only: an AAAA lookup of ns1.hoster.com. would ask the hoster
        // (com. has no AAAA glue for it), whichever finished first.
        let recursor = recursor(
            &net,
            &config(&format!("  qname-minimisation: {qmin}\n  do-ip6: no\n")),
        );
        let answer = recursor
            .resolve(&name("www.customer.net."), RecordType::A)
            .await
            .unwrap();
        assert_eq!(addresses(&answer), ["192.0.2.66"]);
        let asked_of_hoster = names_asked_of(&net, HOSTER);
        assert_eq!(
            asked_of_hoster,
            ["www.customer.net."],
            "qname-minimisation: {qmin}"
        );
        let ns1 = name("ns1.hoster.com.");
        assert!(recursor
            .rrsets
            .get(&ns1, RecordType::A, Trust::Answer, Instant::now())
            .is_none());
        net.clear_log();
        recursor.resolve(&ns1, RecordType::A).await.unwrap();
        assert!(net
            .sent()
            .iter()
            .any(|s| s.server.to_string() == HOSTER && s.name == ns1));
    }
}

/// a.com.'s server, where ns.a.com. is an alias of ns.b.com.
const ALIASING: &str = "198.51.100.67";
/// b.com.'s server (ns.b.com., glued in com.), which serves customer.org.
const ALIASED: &str = "198.51.100.68";

/// An NS name that is a CNAME to a name whose address com. gives as glue:
/// the lookup follows the alias and ends at the glue, and that glue is not
/// cached as an answer on the way (as a chain target would be).
#[tokio::test]
async fn glue_reached_through_an_aliased_ns_name_stays_glue() {
    let net = MockTransport::new();
    root_and_tlds(
        &net,
        "\
a.com. 172800 NS ns1.a.com.
ns1.a.com. 172800 A 198.51.100.67
b.com. 172800 NS ns.b.com.
ns.b.com. 172800 A 198.51.100.68
",
        "customer.net. 172800 NS ns.a.com.\n",
    );
    net.zone(
        ALIASING,
        "a.com.",
        "\
a.com. 3600 SOA ns1.a.com. hostmaster.a.com. 1 3600 600 86400 300
a.com. 3600 NS ns1.a.com.
ns1.a.com. 3600 A 198.51.100.67
ns.a.com. 3600 CNAME ns.b.com.
",
    );
    net.zone(
        ALIASED,
        "b.com.",
        "\
b.com. 3600 SOA ns.b.com. hostmaster.b.com. 1 3600 600 86400 300
b.com. 3600 NS ns.b.com.
ns.b.com. 3600 A 198.51.100.68
",
    );
    net.zone(
        ALIASED,
        "customer.net.",
        "\
customer.net. 3600 SOA ns.a.com. hostmaster.customer.net. 1 3600 600 86400 300
customer.net. 3600 NS ns.a.com.
www.customer.net. 300 A 192.0.2.68
",
    );
    let recursor = recursor(&net, &config("  do-ip6: no\n"));
    let answer = recursor
        .resolve(&name("www.customer.net."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.68"]);
    assert_eq!(names_asked_of(&net, ALIASED), ["www.customer.net."]);
    let now = Instant::now();
    let target = name("ns.b.com.");
    assert!(recursor
        .rrsets
        .get(&target, RecordType::A, Trust::Answer, now)
        .is_none());
    assert!(recursor
        .rrsets
        .get(&target, RecordType::A, Trust::Glue, now)
        .is_some());
}
