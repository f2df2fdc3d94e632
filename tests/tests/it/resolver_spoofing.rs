//! Cache poisoning through real sockets (issue 19): a blind spoofer floods
//! the resolver's outgoing query with forged answers while the authoritative
//! server answers slowly (RFC 5452 §3), with and without use-caps-for-id; and
//! 0x20 against servers that echo case and one that does not, beside
//! /usr/sbin/unbound with the same setting.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e2e::dig::Dig;
use e2e::fake_dns::Hierarchy;
use e2e::spoof::{spoof, SpoofSpec};
use hickory_proto::rr::{Name, RecordType};

use crate::fake_dns_selftest::debian_unbound;
use crate::resolver_support::{spawn_unbound, TestResolver};

/// example.net.'s only server in the fixture hierarchy.
const EXAMPLE_NET_HOST: u8 = 11;
/// www.example.net.'s real address (tests/fixtures/zones/example.net.zone).
const REAL: &str = "192.0.2.11";
/// The address the spoofer plants.
const POISON: Ipv4Addr = Ipv4Addr::new(6, 6, 6, 6);

fn v4(ip: IpAddr) -> Ipv4Addr {
    match ip {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(_) => panic!("the fake hierarchy is IPv4"),
    }
}

/// Waits (bounded) until `server` has seen a query for www.example.net. A.
async fn query_reached(hierarchy: &Hierarchy) {
    let server = hierarchy.server(EXAMPLE_NET_HOST).unwrap();
    for _ in 0..200 {
        if server.queries_for("www.example.net.", RecordType::A) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the resolver never asked example.net.'s server");
}

/// RFC 5452 §9.1: while example.net.'s server takes 3 s to answer, forged
/// replies from its address and port 53, for the name being asked, with the
/// poisoned address, go to every ephemeral port of the resolver's outgoing
/// address with random IDs until the answer comes. None is taken, with or
/// without 0x20: the client gets the real address, so does the next client
/// (from the cache), and the forgeries that hit the open socket were counted
/// as unwanted replies.
#[tokio::test]
async fn spoofing_race_gets_no_forged_answer_cached() {
    for caps in ["no", "yes"] {
        let hierarchy = Hierarchy::start_unique().await.unwrap();
        let server_ip = v4(hierarchy.addr(EXAMPLE_NET_HOST));
        let r = TestResolver::start_with(
            hierarchy,
            &format!("  use-caps-for-id: {caps}\n  qname-minimisation: no\n"),
            "",
        )
        .await;
        let server = r.hierarchy.server(EXAMPLE_NET_HOST).unwrap();
        // A first slow answer teaches the resolver the server is slow (its
        // RTO grows past 1.6 s, so a query stays open past 4.8 s), so the
        // race query waits for the real reply, within the 4.5 s resolution limit.
        server.set_delay(Duration::from_secs(1));
        let warm = r
            .dig()
            .wait(Duration::from_secs(5))
            .run("ns.example.net", "A")
            .await
            .unwrap();
        assert_eq!(warm.status, "NOERROR", "{}", warm.raw);
        server.set_delay(Duration::from_secs(3));
        let unwanted_before = r.scrape().await.sum("unbound_unwanted_replies_total", &[]);
        let client = r.dig().wait(Duration::from_secs(10));
        let asked = tokio::spawn(async move { client.run("www.example.net", "A").await });
        query_reached(&r.hierarchy).await;
        let spec = SpoofSpec {
            // The resolver's upstream sockets are bound to the wildcard, so its
            // queries to 127.x leave from 127.0.0.1.
            targets: vec![Ipv4Addr::LOCALHOST],
            server: server_ip,
            server_port: 53,
            qname: Name::from_ascii("www.example.net.").unwrap(),
            answer: POISON,
            ttl: 86_400,
            ports: 32768..=60999,
            count: 10_000_000,
            duration: Duration::from_secs(4),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stop_spoofer = Arc::clone(&stop);
        let spoofer = tokio::task::spawn_blocking(move || spoof(&spec, &stop_spoofer));
        let first = asked.await.unwrap().unwrap();
        stop.store(true, Ordering::Relaxed);
        let sent = spoofer.await.unwrap().unwrap();
        let again = r.q("www.example.net", "A").await;
        let unwanted =
            r.scrape().await.sum("unbound_unwanted_replies_total", &[]) - unwanted_before;
        let forged_taken = [&first, &again]
            .iter()
            .filter(|a| a.answers_of("A").contains(&POISON.to_string().as_str()))
            .count();
        eprintln!("caps {caps}: {sent} forged datagrams, {unwanted} unwanted replies counted, {forged_taken} forged answers taken");
        assert_eq!(forged_taken, 0, "caps {caps}: {}\n{}", first.raw, again.raw);
        assert_eq!(
            first.answers_of("A"),
            vec![REAL],
            "caps {caps}: {}",
            first.raw
        );
        assert_eq!(
            again.answers_of("A"),
            vec![REAL],
            "caps {caps}: {}",
            again.raw
        );
        assert!(
            unwanted >= 1.0,
            "caps {caps}: no forgery reached the open socket ({sent} sent)"
        );
        r.stop().await;
    }
}

/// The same race against /usr/sbin/unbound on its own copy of the hierarchy
/// (its source ports are drawn from 1024-65535, so the spoofer sweeps them
/// all; the server answers in 500 ms): Unbound takes no forged answer
/// either, with or without 0x20.
#[tokio::test]
async fn spoofing_race_unbound_takes_no_forged_answer_either() {
    for caps in ["no", "yes"] {
        let hierarchy = Hierarchy::start_unique().await.unwrap();
        let server_ip = v4(hierarchy.addr(EXAMPLE_NET_HOST));
        let (unbound, ip) = spawn_unbound(
            debian_unbound(),
            &hierarchy,
            1,
            "iterator",
            &format!("  use-caps-for-id: {caps}\n  qname-minimisation: no\n"),
        )
        .await;
        let server = hierarchy.server(EXAMPLE_NET_HOST).unwrap();
        // A 300 ms RTT gives Unbound an RTO of 617 ms; the race stays under it
        // (Unbound drops client replies older than its discard-timeout, 1.9 s).
        server.set_delay(Duration::from_millis(300));
        let warm = Dig::new(ip)
            .wait(Duration::from_secs(8))
            .run("ns.example.net", "A")
            .await
            .unwrap();
        assert_eq!(warm.status, "NOERROR", "{}\n{}", warm.raw, unbound.log());
        server.set_delay(Duration::from_millis(500));
        let client = Dig::new(ip).wait(Duration::from_secs(10));
        let asked = tokio::spawn(async move { client.run("www.example.net", "A").await });
        query_reached(&hierarchy).await;
        let spec = SpoofSpec {
            targets: vec![Ipv4Addr::LOCALHOST],
            server: server_ip,
            server_port: 53,
            qname: Name::from_ascii("www.example.net.").unwrap(),
            answer: POISON,
            ttl: 86_400,
            ports: 1024..=65535,
            count: 10_000_000,
            duration: Duration::from_secs(3),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stop_spoofer = Arc::clone(&stop);
        let spoofer = tokio::task::spawn_blocking(move || spoof(&spec, &stop_spoofer));
        let first = asked.await.unwrap().unwrap();
        stop.store(true, Ordering::Relaxed);
        let sent = spoofer.await.unwrap().unwrap();
        let again = Dig::new(ip).run("www.example.net", "A").await.unwrap();
        eprintln!(
            "unbound, caps {caps}: {sent} forged datagrams; answers {:?} then {:?}",
            first.answers_of("A"),
            again.answers_of("A")
        );
        assert_eq!(
            first.answers_of("A"),
            vec![REAL],
            "caps {caps}: {}\n{}",
            first.raw,
            unbound.log()
        );
        assert_eq!(
            again.answers_of("A"),
            vec![REAL],
            "caps {caps}: {}",
            again.raw
        );
        drop(unbound);
    }
}

/// Status and A answers of `name` from a resolver at `ip`:`port`.
async fn verdict(ip: IpAddr, port: u16, name: &str) -> (String, Vec<String>) {
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

/// use-caps-for-id beside Unbound 1.17: a server that echoes the case is
/// answered at the first query; one that lowercases the question (example.net.'s
/// here) is answered through the fallback (several queries without 0x20,
/// replies compared). Both resolvers reach the same verdict on both names.
#[tokio::test]
async fn caps_fallback_verdicts_match_unbound() {
    let ours_net = Hierarchy::start_unique().await.unwrap();
    let theirs_net = Hierarchy::start_unique().await.unwrap();
    for h in [&ours_net, &theirs_net] {
        h.server(EXAMPLE_NET_HOST)
            .unwrap()
            .set_lowercase_question(true);
    }
    let ours = TestResolver::start_with(ours_net, "  use-caps-for-id: yes\n", "").await;
    let (unbound, unbound_ip) = spawn_unbound(
        debian_unbound(),
        &theirs_net,
        1,
        "iterator",
        "  use-caps-for-id: yes\n",
    )
    .await;
    for (name, want) in [("www.example.com", "192.0.2.1"), ("www.example.net", REAL)] {
        let our = verdict(ours.ip, ours.udp.port(), name).await;
        let their = verdict(unbound_ip, 53, name).await;
        assert_eq!(our, their, "{name}\n{}", unbound.log());
        assert_eq!(
            our,
            ("NOERROR".to_string(), vec![want.to_string()]),
            "{name}"
        );
    }
    // Each asked the lowercasing server more than once (the fallback), the
    // echoing one once.
    let theirs_asked = theirs_net
        .server(EXAMPLE_NET_HOST)
        .unwrap()
        .queries_for("www.example.net.", RecordType::A);
    let ours_asked = ours
        .hierarchy
        .server(EXAMPLE_NET_HOST)
        .unwrap()
        .queries_for("www.example.net.", RecordType::A);
    eprintln!(
        "www.example.net. A to the lowercasing server: ours {ours_asked}, unbound {theirs_asked}"
    );
    assert!(ours_asked >= 3, "ours asked {ours_asked} times");
    assert!(theirs_asked >= 3, "unbound asked {theirs_asked} times");
    let ours_com = ours
        .hierarchy
        .server_for_zone("example.com.")
        .queries_for("www.example.com.", RecordType::A);
    assert_eq!(ours_com, 1);
    drop(unbound);
    ours.stop().await;
    theirs_net.shutdown().await;
}

/// A server that neither echoes the case nor gives the same answer twice
/// (a random address each time): the fallback's replies differ, so both
/// resolvers answer SERVFAIL ("0x20 failed, then got different replies in
/// fallback") instead of taking one of them.
#[tokio::test]
async fn caps_fallback_with_differing_replies_fails_like_unbound() {
    let ours_net = Hierarchy::start_unique().await.unwrap();
    let theirs_net = Hierarchy::start_unique().await.unwrap();
    for h in [&ours_net, &theirs_net] {
        let server = h.server(EXAMPLE_NET_HOST).unwrap();
        server.set_lowercase_question(true);
        server.set_responder(Some(Arc::new(random_www_address)));
    }
    let ours = TestResolver::start_with(ours_net, "  use-caps-for-id: yes\n", "").await;
    let (unbound, unbound_ip) = spawn_unbound(
        debian_unbound(),
        &theirs_net,
        1,
        "iterator",
        "  use-caps-for-id: yes\n",
    )
    .await;
    let our = verdict(ours.ip, ours.udp.port(), "www.example.net").await;
    let their = verdict(unbound_ip, 53, "www.example.net").await;
    assert_eq!(our, their, "{}", unbound.log());
    assert_eq!(our, ("SERVFAIL".to_string(), Vec::new()));
    drop(unbound);
    ours.stop().await;
    theirs_net.shutdown().await;
}

/// www.example.net. A answered with a random address in 198.18.0.0/16.
fn random_www_address(req: &hickory_proto::op::Message) -> Option<hickory_proto::op::Message> {
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};
    let query = req.queries.first()?;
    if query.name().to_lowercase() != Name::from_ascii("www.example.net.").ok()?
        || query.query_type() != RecordType::A
    {
        return None;
    }
    let mut resp = e2e::fake_dns::authority::response_to(req);
    resp.metadata.authoritative = true;
    let [c, d]: [u8; 2] = rand::random();
    resp.add_answer(Record::from_rdata(
        query.name().clone(),
        3600,
        RData::A(A::new(198, 18, c, d)),
    ));
    Some(resp)
}
