//! Cache poisoning by servers on the path (issue 19), beside /usr/sbin/unbound
//! on its own copy of the hierarchy: out-of-bailiwick records (iter_scrub.c)
//! and harden-referral-path (iterator.c generate_ns_check).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use e2e::dig::Dig;
use e2e::fake_dns::Hierarchy;
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::fake_dns_selftest::debian_unbound;
use crate::resolver_support::{spawn_unbound, TestResolver};

/// example.com.'s server in the fixture hierarchy.
const EXAMPLE_COM_HOST: u8 = 10;
/// example.net.'s server.
const EXAMPLE_NET_HOST: u8 = 11;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// example.com.'s server answering www.example.com. A with example.net. data
/// planted in every section: an answer, an NS set and glue to an attacker.
fn plant_example_net(req: &Message) -> Option<Message> {
    let query = req.queries.first()?;
    if query.name().to_lowercase() != name("www.example.com.")
        || query.query_type() != RecordType::A
    {
        return None;
    }
    let mut resp = e2e::fake_dns::authority::response_to(req);
    resp.metadata.authoritative = true;
    let poison = || {
        Record::from_rdata(
            name("www.example.net."),
            86400,
            RData::A(A::new(6, 6, 6, 6)),
        )
    };
    resp.add_answer(Record::from_rdata(
        query.name().clone(),
        3600,
        RData::A(A::new(192, 0, 2, 1)),
    ));
    resp.add_answer(poison());
    resp.add_authority(Record::from_rdata(
        name("example.net."),
        86400,
        RData::NS(NS(name("ns.attacker.example.com."))),
    ));
    resp.add_additional(poison());
    resp.add_additional(Record::from_rdata(
        name("ns.attacker.example.com."),
        86400,
        RData::A(A::new(6, 6, 6, 7)),
    ));
    Some(resp)
}

/// The A answers and status of `name` from a resolver.
async fn ask(ip: IpAddr, port: u16, name: &str) -> (String, Vec<String>) {
    let answer = Dig::new(ip)
        .port(port)
        .wait(Duration::from_secs(8))
        .run(name, "A")
        .await
        .unwrap();
    let addresses = answer
        .answers_of("A")
        .iter()
        .map(|a| a.to_string())
        .collect();
    (answer.status.clone(), addresses)
}

/// iter_scrub.c scrub_sanitize ("remove ALL rrsets that aren't children of
/// the originating zone"): example.com.'s server cannot plant example.net.
/// data through any section. Ours and Unbound give the real addresses of
/// both names, and example.net. is asked of its own server.
#[tokio::test]
async fn out_of_bailiwick_records_are_not_cached_like_unbound() {
    let ours_net = Hierarchy::start_unique().await.unwrap();
    let theirs_net = Hierarchy::start_unique().await.unwrap();
    for h in [&ours_net, &theirs_net] {
        h.server(EXAMPLE_COM_HOST)
            .unwrap()
            .set_responder(Some(Arc::new(plant_example_net)));
    }
    let ours = TestResolver::start_with(ours_net, "", "").await;
    let (unbound, unbound_ip) =
        spawn_unbound(debian_unbound(), &theirs_net, 1, "iterator", "").await;
    for (qname, want) in [
        ("www.example.com", "192.0.2.1"),
        ("www.example.net", "192.0.2.11"),
    ] {
        let our = ask(ours.ip, ours.udp.port(), qname).await;
        let their = ask(unbound_ip, 53, qname).await;
        assert_eq!(our, their, "{qname}\n{}", unbound.log());
        assert_eq!(
            our,
            ("NOERROR".to_string(), vec![want.to_string()]),
            "{qname}"
        );
    }
    for h in [&ours.hierarchy, &Arc::new(theirs_net)] {
        let asked = h
            .server(EXAMPLE_NET_HOST)
            .unwrap()
            .queries_for("www.example.net.", RecordType::A);
        assert!(asked >= 1, "example.net.'s own server was not asked");
    }
    drop(unbound);
    ours.stop().await;
}

/// NS queries for example.com. its own server has received (waits a little:
/// Unbound sends its check as a detached sub-query).
async fn ns_checks(hierarchy: &Hierarchy) -> u64 {
    let server = hierarchy.server(EXAMPLE_COM_HOST).unwrap();
    for _ in 0..40 {
        if server.queries_for("example.com.", RecordType::NS) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.queries_for("example.com.", RecordType::NS)
}

/// harden-referral-path: yes makes both resolvers ask the zone a referral led
/// to (example.com.) for its own NS set while resolving www.example.com.;
/// with the default (no) ours sends no such query.
#[tokio::test]
async fn harden_referral_path_asks_the_zone_for_its_ns_set_like_unbound() {
    let ours_net = Hierarchy::start_unique().await.unwrap();
    let theirs_net = Hierarchy::start_unique().await.unwrap();
    let plain_net = Hierarchy::start_unique().await.unwrap();
    let line = "  harden-referral-path: yes\n";
    let ours = TestResolver::start_with(ours_net, line, "").await;
    let plain = TestResolver::start_with(plain_net, "", "").await;
    let (unbound, unbound_ip) =
        spawn_unbound(debian_unbound(), &theirs_net, 1, "iterator", line).await;
    let our = ask(ours.ip, ours.udp.port(), "www.example.com").await;
    let their = ask(unbound_ip, 53, "www.example.com").await;
    assert_eq!(our, their, "{}", unbound.log());
    assert_eq!(our, ("NOERROR".to_string(), vec!["192.0.2.1".to_string()]));
    assert!(
        ns_checks(&ours.hierarchy).await >= 1,
        "ours sent no NS check"
    );
    assert!(
        ns_checks(&theirs_net).await >= 1,
        "unbound sent no NS check"
    );
    let unhardened = ask(plain.ip, plain.udp.port(), "www.example.com").await;
    assert_eq!(unhardened, our);
    assert_eq!(
        plain
            .hierarchy
            .server(EXAMPLE_COM_HOST)
            .unwrap()
            .queries_for("example.com.", RecordType::NS),
        0
    );
    drop(unbound);
    ours.stop().await;
    plain.stop().await;
    theirs_net.shutdown().await;
}
