//! The fake DNS hierarchy behaves as its README says, through real sockets, the real
//! `dig`/`kdig`, and (when installed) a real Unbound resolving against it.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use e2e::daemon::{Daemon, Signal};
use e2e::dig::{query, query_with, Dig, DigResult, QueryOptions, Transport};
use e2e::fake_dns::{responders, Hierarchy};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::time::Instant;

fn ip(h: &Hierarchy, host: u8) -> IpAddr {
    h.addr(host)
}

fn sock(h: &Hierarchy, host: u8) -> SocketAddr {
    SocketAddr::new(h.addr(host), 53)
}

fn norec_fast() -> QueryOptions {
    QueryOptions {
        recursion_desired: false,
        timeout: Duration::from_millis(800),
        ..QueryOptions::default()
    }
}

async fn dig(h: &Hierarchy, host: u8, name: &str, rtype: &str) -> DigResult {
    Dig::new(ip(h, host))
        .norec()
        .run(name, rtype)
        .await
        .unwrap_or_else(|e| panic!("dig {name} {rtype}: {e:#}"))
}

/// RFC 1034 §4.3.2 step 3b: the root refers to com. with the glue for a.nic.com.
#[tokio::test]
async fn root_refers_with_glue() {
    let h = Hierarchy::start_unique().await.unwrap();
    let r = dig(&h, 1, "www.example.com", "A").await;
    assert_eq!(r.status, "NOERROR", "{}", r.raw);
    assert!(!r.has_flag("aa"), "{}", r.raw);
    assert!(r.answer.is_empty());
    assert_eq!(r.authority.len(), 1, "{}", r.raw);
    assert_eq!(
        (r.authority[0].name.as_str(), r.authority[0].rtype.as_str()),
        ("com.", "NS")
    );
    assert_eq!(r.authority[0].rdata, "a.nic.com.");
    let glue = format!("127.{}.0.2", h.net());
    assert_eq!(r.additional.len(), 1, "{}", r.raw);
    assert_eq!(
        (
            r.additional[0].name.as_str(),
            r.additional[0].rdata.as_str()
        ),
        ("a.nic.com.", glue.as_str())
    );
    // Priming (RFC 8109): `. NS` is answered with the root server's address.
    let r = dig(&h, 1, ".", "NS").await;
    assert!(r.has_flag("aa"));
    assert_eq!(r.answers_of("NS"), ["a.root-servers.net."]);
    assert_eq!(r.additional[0].rdata, format!("127.{}.0.1", h.net()));
    assert!(h.root_hints().contains(&format!(
        "a.root-servers.net.\t3600000\tIN\tA\t127.{}.0.1",
        h.net()
    )));
}

/// RFC 1034 §4.3.2 step 3a: an exact match is an authoritative answer; EDNS is echoed.
#[tokio::test]
async fn leaf_answers_authoritatively() {
    let h = Hierarchy::start_unique().await.unwrap();
    let r = dig(&h, 10, "www.example.com", "A").await;
    assert_eq!(r.status, "NOERROR");
    assert!(
        r.has_flag("qr") && r.has_flag("aa") && !r.has_flag("ra"),
        "{}",
        r.raw
    );
    assert!(r.edns, "{}", r.raw);
    assert_eq!(r.answers_of("A"), ["192.0.2.1"]);
    assert_eq!(r.answer[0].ttl, 3600);
    let r = dig(&h, 10, "short-ttl.example.com", "A").await;
    assert_eq!(r.answer[0].ttl, 2);
    let r = dig(&h, 10, "mail.example.com", "MX").await;
    assert_eq!(r.answers_of("MX"), ["10 mx.example.com."]);
    // kdig parses the same way.
    let r = Dig::kdig(ip(&h, 10))
        .norec()
        .tcp()
        .run("dual.example.com", "AAAA")
        .await
        .unwrap();
    assert_eq!(r.status, "NOERROR", "{}", r.raw);
    assert!(r.has_flag("aa"));
    assert_eq!(r.answers_of("AAAA"), ["2001:db8::6"]);
}

/// RFC 2308 §2.1/§2.2: NXDOMAIN and NODATA carry the SOA, TTL = min(TTL, MINIMUM) = 300.
#[tokio::test]
async fn negative_answers_carry_soa() {
    let h = Hierarchy::start_unique().await.unwrap();
    let r = dig(&h, 10, "nope.example.com", "A").await;
    assert_eq!(r.status, "NXDOMAIN");
    assert!(r.has_flag("aa"));
    assert_eq!(r.authority.len(), 1);
    assert_eq!(
        (r.authority[0].rtype.as_str(), r.authority[0].ttl),
        ("SOA", 300)
    );
    assert!(r.authority[0].rdata.ends_with(" 300"), "{}", r.raw);
    for (name, rtype) in [
        ("www.example.com", "AAAA"),
        ("ent.example.com", "A"),
        ("b.ent.example.com", "A"),
    ] {
        let r = dig(&h, 10, name, rtype).await;
        assert_eq!(r.status, "NOERROR", "{name}: {}", r.raw);
        assert!(r.answer.is_empty(), "{name}: {}", r.raw);
        assert_eq!(r.authority[0].rtype, "SOA", "{name}");
    }
    // A zone the server does not serve is refused.
    let r = dig(&h, 10, "www.example.org", "A").await;
    assert_eq!(r.status, "REFUSED");
}

/// RFC 4592 §3.3.1: the wildcard answers any non-existent name, owner = QNAME;
/// explicit names are not overridden.
#[tokio::test]
async fn wildcard_synthesis() {
    let h = Hierarchy::start_unique().await.unwrap();
    let r = dig(&h, 14, "q-123.wild.net", "A").await;
    assert!(r.has_flag("aa"));
    assert_eq!(r.answer[0].name, "q-123.wild.net.");
    assert_eq!(r.answers_of("A"), ["198.51.100.1"]);
    let r = dig(&h, 14, "deep.er.wild.net", "AAAA").await;
    assert_eq!(r.answers_of("AAAA"), ["2001:db8::1"]);
    let r = dig(&h, 14, "exact.wild.net", "A").await;
    assert_eq!(r.answers_of("A"), ["198.51.100.2"]);
    let r = dig(&h, 14, "exact.wild.net", "AAAA").await;
    assert_eq!(r.status, "NOERROR");
    assert!(r.answer.is_empty());
    let r = dig(&h, 14, "ns.wild.net", "A").await;
    assert_eq!(r.answers_of("A"), [format!("127.{}.0.14", h.net())]);
}

/// RFC 6672 §3.3: DNAME plus a synthesized CNAME; the target is in another zone,
/// so the server stops there.
#[tokio::test]
async fn dname_synthesis() {
    let h = Hierarchy::start_unique().await.unwrap();
    let r = dig(&h, 10, "x.dn.example.com", "A").await;
    assert_eq!(r.status, "NOERROR", "{}", r.raw);
    assert_eq!(r.answer.len(), 2, "{}", r.raw);
    assert_eq!(
        (r.answer[0].name.as_str(), r.answer[0].rtype.as_str()),
        ("dn.example.com.", "DNAME")
    );
    assert_eq!(r.answer[0].rdata, "example.org.");
    assert_eq!(
        (r.answer[1].name.as_str(), r.answer[1].rtype.as_str()),
        ("x.dn.example.com.", "CNAME")
    );
    assert_eq!(r.answer[1].rdata, "x.example.org.");
    // In-zone CNAMEs are chased, out-of-zone ones are not.
    let r = dig(&h, 10, "alias.example.com", "A").await;
    assert_eq!(r.answers_of("CNAME"), ["www.example.com."]);
    assert_eq!(r.answers_of("A"), ["192.0.2.1"]);
    let r = dig(&h, 10, "chain.example.com", "A").await;
    assert_eq!(r.answers_of("CNAME"), ["c1.example.net."]);
    assert!(r.answers_of("A").is_empty());
}

/// RFC 6891 §7 / RFC 7766: a reply over the client's UDP limit is TC=1 with empty
/// sections; TCP gets it all. Without EDNS the limit is 512.
#[tokio::test]
async fn truncation_over_udp_full_answer_over_tcp() {
    let h = Hierarchy::start_unique().await.unwrap();
    let r = Dig::new(ip(&h, 10))
        .norec()
        .ignore_tc()
        .run("big.example.com", "TXT")
        .await
        .unwrap();
    assert!(r.has_flag("tc"), "{}", r.raw);
    assert!(r.answer.is_empty());
    let r = Dig::new(ip(&h, 10))
        .norec()
        .tcp()
        .run("big.example.com", "TXT")
        .await
        .unwrap();
    assert!(!r.has_flag("tc"));
    assert_eq!(r.answers_of("TXT").len(), 40);
    // A large EDNS buffer gets it over UDP.
    let opts = QueryOptions {
        payload: 4096,
        ..norec_fast()
    };
    let m = query_with(
        sock(&h, 10),
        "big.example.com",
        RecordType::TXT,
        Transport::Udp,
        opts,
    )
    .await
    .unwrap();
    assert!(!m.truncation && m.answers.len() == 40);
    // No EDNS: 512 bytes, no OPT in the reply.
    let opts = QueryOptions {
        edns: false,
        ..norec_fast()
    };
    let m = query_with(
        sock(&h, 10),
        "big.example.com",
        RecordType::TXT,
        Transport::Udp,
        opts,
    )
    .await
    .unwrap();
    assert!(m.truncation && m.answers.is_empty() && m.edns.is_none());
    let m = query_with(
        sock(&h, 10),
        "www.example.com",
        RecordType::A,
        Transport::Udp,
        opts,
    )
    .await
    .unwrap();
    assert!(!m.truncation && m.edns.is_none());
}

/// A glue-less delegation: the NS is out of bailiwick for com., so no additional data.
#[tokio::test]
async fn glueless_referral_has_no_glue() {
    let h = Hierarchy::start_unique().await.unwrap();
    let r = dig(&h, 2, "www.glueless.com", "A").await;
    assert!(!r.has_flag("aa"));
    assert_eq!(r.authority[0].rdata, "ns1.example.net.");
    assert!(r.additional.is_empty(), "{}", r.raw);
    let r = dig(&h, 2, "www.loop1.com", "A").await;
    assert_eq!(r.authority[0].rdata, "ns.loop2.com.");
    assert!(r.additional.is_empty(), "{}", r.raw);
    // The sub-delegation inside example.com carries its in-zone glue.
    let r = dig(&h, 10, "www.sub.example.com", "A").await;
    assert!(!r.has_flag("aa"));
    assert_eq!(r.authority[0].rdata, "ns1.sub.example.com.");
    assert_eq!(r.additional[0].rdata, format!("127.{}.0.16", h.net()));
}

/// RFC 5452 §9.1 (0x20): the question is echoed with the case it was asked in.
#[tokio::test]
async fn qname_case_is_preserved() {
    let h = Hierarchy::start_unique().await.unwrap();
    for transport in [Transport::Udp, Transport::Tcp] {
        let m = query(sock(&h, 10), "WwW.ExAmPlE.CoM.", RecordType::A, transport)
            .await
            .unwrap();
        assert_eq!(m.queries[0].name().to_ascii(), "WwW.ExAmPlE.CoM.");
        assert!(m.authoritative);
        assert_eq!(m.answers.len(), 1);
    }
}

/// Every fault switch does what it says and can be switched back at runtime.
#[tokio::test]
async fn fault_switches() {
    let h = Hierarchy::start_unique().await.unwrap();
    let s = h.server_for_zone("example.com.");
    let addr = s.addr();
    let ask = |transport| {
        query_with(
            addr,
            "www.example.com",
            RecordType::A,
            transport,
            norec_fast(),
        )
    };

    s.set_delay(Duration::from_millis(300));
    let started = Instant::now();
    ask(Transport::Udp).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    s.set_delay(Duration::ZERO);

    s.set_drop_percent(100);
    assert!(ask(Transport::Udp).await.is_err());
    assert!(ask(Transport::Tcp).await.is_err());
    s.set_drop_percent(0);
    ask(Transport::Udp).await.unwrap();

    s.set_servfail(true);
    assert_eq!(
        ask(Transport::Udp).await.unwrap().response_code,
        ResponseCode::ServFail
    );
    s.set_refused(true);
    assert_eq!(
        ask(Transport::Tcp).await.unwrap().response_code,
        ResponseCode::Refused
    );
    s.set_servfail(false);
    s.set_refused(false);

    s.set_always_truncate(true);
    let m = ask(Transport::Udp).await.unwrap();
    assert!(m.truncation && m.answers.is_empty());
    assert_eq!(ask(Transport::Tcp).await.unwrap().answers.len(), 1);
    s.set_always_truncate(false);

    // bad_txid: the client ignores a reply with another id, so it times out.
    s.set_responder(Some(Arc::new(responders::bad_txid)));
    assert!(ask(Transport::Udp).await.is_err());
    s.set_responder(Some(Arc::new(responders::wrong_question)));
    let m = ask(Transport::Udp).await.unwrap();
    assert_eq!(m.queries[0].name().to_ascii(), "wrong-question.invalid.");
    s.set_responder(Some(Arc::new(responders::lame_noerror)));
    let m = ask(Transport::Udp).await.unwrap();
    assert!(!m.authoritative && m.answers.is_empty() && m.authorities.is_empty());
    s.set_responder(Some(Arc::new(responders::out_of_bailiwick_glue)));
    let m = ask(Transport::Udp).await.unwrap();
    assert_eq!(m.answers[0].data, RData::A(responders::POISON_V4.into()));
    assert!(m
        .additionals
        .iter()
        .any(|r| r.name.to_ascii() == "ns.example.org."));
    // A responder returning None falls through to the real answer.
    s.set_responder(Some(Arc::new(|_: &Message| None)));
    assert_eq!(ask(Transport::Udp).await.unwrap().answers.len(), 1);

    s.clear_faults();
    let r = dig(&h, 10, "www.example.com", "A").await;
    assert_eq!(r.answers_of("A"), ["192.0.2.1"]);
    // Host 15 starts lame (REFUSED); host 17 serves the same zone normally.
    assert_eq!(dig(&h, 15, "www.lame.com", "A").await.status, "REFUSED");
    assert_eq!(
        dig(&h, 17, "www.lame.com", "A").await.answers_of("A"),
        ["192.0.2.17"]
    );
}

/// Counters count per transport and per question, case-insensitively, and reset.
#[tokio::test]
async fn counters_count() {
    let h = Hierarchy::start_unique().await.unwrap();
    let s = h.server_for_zone("example.com.");
    s.set_drop_percent(100);
    let _ = query_with(
        s.addr(),
        "WWW.example.com",
        RecordType::A,
        Transport::Udp,
        norec_fast(),
    )
    .await;
    s.set_drop_percent(0);
    query(s.addr(), "www.example.com", RecordType::A, Transport::Udp)
        .await
        .unwrap();
    query(s.addr(), "www.example.com", RecordType::A, Transport::Tcp)
        .await
        .unwrap();
    query(s.addr(), "mail.example.com", RecordType::MX, Transport::Tcp)
        .await
        .unwrap();
    assert_eq!((s.queries(), s.udp_queries(), s.tcp_queries()), (4, 2, 2));
    assert_eq!(s.queries_for("www.example.com.", RecordType::A), 3);
    assert_eq!(s.queries_for("WWW.EXAMPLE.COM", RecordType::A), 3);
    assert_eq!(s.queries_for("www.example.com", RecordType::AAAA), 0);
    assert_eq!(h.total_queries(), 4);
    h.reset_counters();
    assert_eq!(
        (s.queries(), s.queries_for("www.example.com", RecordType::A)),
        (0, 0)
    );
}

type Resolved = anyhow::Result<(ResponseCode, Vec<Record>)>;

/// A minimal iterative resolver (referrals, glue or glue-less NS, CNAME restarts,
/// skipping REFUSED servers) proving the fixture hierarchy is consistent end to end.
fn iterate<'a>(
    h: &'a Hierarchy,
    name: String,
    rtype: RecordType,
    depth: u8,
) -> Pin<Box<dyn Future<Output = Resolved> + 'a>> {
    Box::pin(async move {
        anyhow::ensure!(depth < 4, "NS resolution too deep at {name}");
        let mut qname = Name::from_ascii(&name)?;
        let mut chain = Vec::new();
        for _ in 0..12 {
            let mut servers = vec![h.root_addr()];
            let mut restarted = false;
            for _ in 0..8 {
                let mut reply = None;
                for server in &servers {
                    match query_with(
                        *server,
                        &qname.to_ascii(),
                        rtype,
                        Transport::Udp,
                        norec_fast(),
                    )
                    .await
                    {
                        Ok(m) if m.response_code != ResponseCode::Refused => {
                            reply = Some(m);
                            break;
                        }
                        _ => {}
                    }
                }
                let reply =
                    reply.ok_or_else(|| anyhow::anyhow!("no server answered for {qname}"))?;
                if reply.authoritative {
                    let mut current = qname.clone();
                    let mut found = false;
                    for record in &reply.answers {
                        chain.push(record.clone());
                        if record.name != current {
                            continue;
                        }
                        match &record.data {
                            RData::CNAME(target) => current = target.0.clone(),
                            _ if record.record_type() == rtype => found = true,
                            _ => {}
                        }
                    }
                    if !found && current != qname {
                        qname = current;
                        restarted = true;
                        break;
                    }
                    return Ok((reply.response_code, chain));
                }
                let ns: Vec<Name> = reply
                    .authorities
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::NS(ns) => Some(ns.0.clone()),
                        _ => None,
                    })
                    .collect();
                anyhow::ensure!(!ns.is_empty(), "lame reply for {qname}");
                let mut next = Vec::new();
                for target in ns {
                    let glue: Vec<SocketAddr> = reply
                        .additionals
                        .iter()
                        .filter(|r| r.name == target)
                        .filter_map(|r| match &r.data {
                            RData::A(a) => Some(SocketAddr::new(IpAddr::V4(a.0), 53)),
                            _ => None,
                        })
                        .collect();
                    if glue.is_empty() {
                        if let Ok((_, records)) =
                            iterate(h, target.to_ascii(), RecordType::A, depth + 1).await
                        {
                            next.extend(records.iter().filter_map(|r| match &r.data {
                                RData::A(a) => Some(SocketAddr::new(IpAddr::V4(a.0), 53)),
                                _ => None,
                            }));
                        }
                    } else {
                        next.extend(glue);
                    }
                }
                anyhow::ensure!(!next.is_empty(), "no address for any NS of {qname}");
                servers = next;
            }
            anyhow::ensure!(restarted, "referral depth exceeded for {qname}");
        }
        anyhow::bail!("CNAME chain too long for {name}")
    })
}

fn last_a(records: &[Record]) -> Option<String> {
    records.iter().rev().find_map(|r| match &r.data {
        RData::A(a) => Some(a.0.to_string()),
        _ => None,
    })
}

/// The fixture hierarchy resolves from the root as the README says.
#[tokio::test]
async fn fixture_hierarchy_resolves_from_root() {
    let h = Hierarchy::start_unique().await.unwrap();
    let net = h.net();
    let cases = [
        ("www.example.com.", "192.0.2.1".to_string()),
        ("chain.example.com.", "192.0.2.99".into()),
        ("long1.example.com.", "192.0.2.88".into()),
        ("x.dn.example.com.", "192.0.2.120".into()),
        ("www.sub.example.com.", "192.0.2.16".into()),
        ("www.glueless.com.", "192.0.2.13".into()),
        ("www.lame.com.", "192.0.2.17".into()),
        ("anything.wild.net.", "198.51.100.1".into()),
        ("a.root-servers.net.", format!("127.{net}.0.1")),
    ];
    for (name, want) in cases {
        let (rcode, records) = iterate(&h, name.into(), RecordType::A, 0).await.unwrap();
        assert_eq!(rcode, ResponseCode::NoError, "{name}");
        assert_eq!(last_a(&records), Some(want), "{name}: {records:?}");
    }
    let (_, records) = iterate(&h, "long1.example.com.".into(), RecordType::A, 0)
        .await
        .unwrap();
    assert_eq!(
        records
            .iter()
            .filter(|r| r.record_type() == RecordType::CNAME)
            .count(),
        8
    );
    let (rcode, _) = iterate(&h, "nope.example.com.".into(), RecordType::A, 0)
        .await
        .unwrap();
    assert_eq!(rcode, ResponseCode::NXDomain);
    assert!(iterate(&h, "www.loop1.com.".into(), RecordType::A, 0)
        .await
        .is_err());
}

/// The `fake-dns` binary serves the hierarchy, writes root hints and stops on SIGTERM;
/// also exercises `Daemon` and the metrics scraper against a tiny HTTP endpoint.
#[tokio::test]
async fn fake_dns_binary_and_daemon_helpers() {
    // A net whose root address is free (bounded probe).
    let net = (0..16)
        .map(|_| e2e::unique_net())
        .find(|net| {
            std::net::UdpSocket::bind((std::net::Ipv4Addr::new(127, *net, 0, 1), 53)).is_ok()
        })
        .expect("no free net in 16 tries");
    let hints =
        std::env::temp_dir().join(format!("e2e-selftest-{}-{net}.hints", std::process::id()));
    let args = vec![
        "--net".to_string(),
        net.to_string(),
        "--root-hints-out".into(),
        hints.display().to_string(),
        "--threads".into(),
        "2".into(),
    ];
    let mut daemon =
        Daemon::spawn(std::path::Path::new(env!("CARGO_BIN_EXE_fake-dns")), &args).unwrap();
    daemon
        .wait_log("ready:", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(std::fs::read_to_string(&hints)
        .unwrap()
        .contains(&format!("127.{net}.0.1")));
    let root = std::net::Ipv4Addr::new(127, net, 0, 1);
    let r = Dig::new(root.into())
        .norec()
        .run("example.com", "NS")
        .await
        .unwrap();
    assert_eq!(r.authority[0].rdata, "a.nic.com.", "{}", r.raw);

    // wait_ready and scrape against a one-shot HTTP server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        for _ in 0..4 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = if req.starts_with("GET /metrics") {
                "# TYPE up gauge\nup{job=\"x\"} 1\n"
            } else {
                "ok"
            };
            let reply = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}");
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    daemon
        .wait_ready(http, Duration::from_secs(5))
        .await
        .unwrap();
    let scrape = e2e::metrics::scrape(http).await.unwrap();
    assert!(scrape.has("up"));
    assert_eq!(scrape.value("up", &[("job", "x")]), Some(1.0));

    daemon.signal(Signal::Term).unwrap();
    let status = daemon
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("fake-dns did not exit");
    assert!(status.success(), "{status}: {}", daemon.log());
    assert!(daemon.log().contains("stopped after"));
    let _ = std::fs::remove_file(&hints);
}

/// Real Unbound resolves the fixture names through the fake hierarchy: the same
/// setup the benchmark uses. `scripts/test.sh` installs unbound; without it this fails.
#[tokio::test]
async fn unbound_resolves_fixture_names() {
    let h = Hierarchy::start_unique().await.unwrap();
    let (mut daemon, listen) =
        crate::resolver_support::spawn_unbound(debian_unbound(), &h, 1, "iterator", "").await;
    let cases = [
        ("www.example.com", "192.0.2.1"),
        ("chain.example.com", "192.0.2.99"),
        ("long1.example.com", "192.0.2.88"),
        ("x.dn.example.com", "192.0.2.120"),
        ("www.sub.example.com", "192.0.2.16"),
        ("www.glueless.com", "192.0.2.13"),
        ("www.lame.com", "192.0.2.17"),
        ("u-1.wild.net", "198.51.100.1"),
    ];
    for (name, want) in cases {
        let r = Dig::new(listen)
            .wait(Duration::from_secs(5))
            .run(name, "A")
            .await
            .unwrap();
        assert_eq!(r.status, "NOERROR", "{name}: {}\n{}", r.raw, daemon.log());
        assert_eq!(
            r.answers_of("A").last().copied(),
            Some(want),
            "{name}: {}",
            r.raw
        );
    }
    let r = Dig::new(listen).run("nope.example.com", "A").await.unwrap();
    assert_eq!(r.status, "NXDOMAIN");
    let r = Dig::new(listen)
        .wait(Duration::from_secs(8))
        .run("www.loop1.com", "A")
        .await
        .unwrap();
    assert_eq!(r.status, "SERVFAIL", "{}", r.raw);
    daemon.signal(Signal::Term).unwrap();
    assert!(daemon.wait_exit(Duration::from_secs(10)).await.is_some());
}

/// Debian's Unbound, which `scripts/test.sh` installs.
pub(crate) fn debian_unbound() -> &'static std::path::Path {
    ["/usr/sbin/unbound", "/usr/bin/unbound"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("unbound is not installed: run ./scripts/test.sh (it installs Debian's unbound)")
        })
}

/// The `+signed` fixture zone passes a real validator: Unbound with the
/// hierarchy's trust anchor marks every kind of answer secure (AD), and with a
/// wrong anchor the same names are bogus (SERVFAIL), so the AD is earned.
#[tokio::test]
async fn signed_fixture_zone_validates_in_unbound() {
    let h = Hierarchy::start_unique().await.unwrap();
    let anchor = h.trust_anchor("signed.com.").expect("signed.com is signed");
    let trust = format!("  trust-anchor: \"{anchor}\"\n");
    let (mut unbound, ip) = crate::resolver_support::spawn_unbound(
        debian_unbound(),
        &h,
        1,
        "validator iterator",
        &trust,
    )
    .await;
    let cases = [
        ("www.signed.com", "A", "NOERROR", "192.0.2.30"),
        ("alias.signed.com", "A", "NOERROR", "192.0.2.30"),
        ("mail.signed.com", "MX", "NOERROR", "10 www.signed.com."),
        ("x7.wild.signed.com", "A", "NOERROR", "192.0.2.31"),
        ("www.signed.com", "AAAA", "NOERROR", ""),
        ("wild.signed.com", "A", "NOERROR", ""),
        ("nope.signed.com", "A", "NXDOMAIN", ""),
    ];
    for (name, rtype, status, want) in cases {
        let r = Dig::new(ip).dnssec().run(name, rtype).await.unwrap();
        assert_eq!(r.status, status, "{name} {rtype}: {}", r.raw);
        assert!(
            r.has_flag("ad"),
            "{name} {rtype} not secure: {}\n{}",
            r.raw,
            unbound.log()
        );
        assert_eq!(
            r.answers_of(rtype).last().copied().unwrap_or(""),
            want,
            "{}",
            r.raw
        );
    }
    unbound.signal(Signal::Term).unwrap();
    let _ = unbound.wait_exit(Duration::from_secs(10)).await;

    // The same zone under an anchor for another key: bogus, not merely insecure.
    let digest_start = anchor.rfind(' ').unwrap() + 1;
    let bad_anchor = format!("{}{}", &anchor[..digest_start], "AB".repeat(32));
    let (mut strict, ip) = crate::resolver_support::spawn_unbound(
        debian_unbound(),
        &h,
        2,
        "validator iterator",
        &format!("  trust-anchor: \"{bad_anchor}\"\n"),
    )
    .await;
    let r = Dig::new(ip)
        .dnssec()
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(r.status, "SERVFAIL", "{}\n{}", r.raw, strict.log());
    strict.signal(Signal::Term).unwrap();
    let _ = strict.wait_exit(Duration::from_secs(10)).await;
}
