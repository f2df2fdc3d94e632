//! DNS cookies (RFC 7873, RFC 9018), issue 19 "cache poisoning": to clients
//! with `answer-cookie: yes` (dig and kdig as the clients, the server cookie
//! checked against RFC 9018 with the configured secret), and to upstream
//! servers (a fake authority that does cookies sees ours, gets its own back,
//! rotates it, and forges replies with another client's cookie).
//!
//! Unbound 1.17 (the differential reference elsewhere) has no answer-cookie
//! and sends no cookies upstream, so these tests check the RFCs' behaviour;
//! interoperability with BIND and newer Unbound rests on the RFC 9018 test
//! vectors the unit tests reproduce byte for byte and on dig's and kdig's own
//! cookie checks here.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use e2e::dig::DigResult;
use e2e::fake_dns::cookies::query_cookie;
use e2e::fake_dns::responders::POISON_V4;
use e2e::fake_dns::Hierarchy;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, RecordType};
use resolver::cookie::{self, ServerCookies, Status};
use tokio::net::UdpSocket;

use crate::resolver_support::TestResolver;

const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";
const CLIENT_COOKIE: &str = "2464c4abcf10c957";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The COOKIE dig or kdig printed (`; COOKIE: <hex> (good)`, kdig may split
/// client and server cookie with a space), and whether it said "good".
fn printed_cookie(result: &DigResult) -> (Vec<u8>, bool) {
    let line = result
        .raw
        .lines()
        .find(|l| l.contains("COOKIE:"))
        .unwrap_or_else(|| panic!("no COOKIE in:\n{}", result.raw));
    let after = line.split("COOKIE:").nth(1).unwrap();
    let digits: String = after
        .split('(')
        .next()
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    (unhex(&digits), line.contains("good"))
}

fn secret() -> cookie::Secret {
    cookie::parse_secret(SECRET).unwrap()
}

async fn cookie_resolver() -> TestResolver {
    TestResolver::start(&format!(
        "  answer-cookie: yes\n  cookie-secret: \"{SECRET}\"\n"
    ))
    .await
}

/// A source address of our own on the resolver's loopback net, so the test
/// knows the client address the server cookie is bound to.
fn client_ip(r: &TestResolver) -> IpAddr {
    e2e::test_addr(r.hierarchy.net(), 200)
}

/// RFC 7873 §5.2.3 and RFC 9018 §4: `dig +cookie` gets a 16-byte server
/// cookie that is the RFC 9018 SipHash of its client cookie and address under
/// the configured secret (so BIND or Unbound sharing the secret would accept
/// it), dig reports it good, and the answer is normal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dig_cookie_gets_an_rfc9018_server_cookie() {
    let r = cookie_resolver().await;
    let ip = client_ip(&r);
    let source = ip.to_string();
    let first = r
        .dig()
        .arg("-b")
        .arg(&source)
        .arg(&format!("+cookie={CLIENT_COOKIE}"))
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(first.status, "NOERROR", "{}", first.raw);
    assert_eq!(first.answers_of("A"), ["192.0.2.1"]);
    let (cookie, good) = printed_cookie(&first);
    assert!(good, "dig did not find its client cookie: {}", first.raw);
    assert_eq!(cookie.len(), 24, "{}", first.raw);
    assert_eq!(hex(&cookie[..8]), CLIENT_COOKIE);
    assert_eq!(cookie[8], 1, "RFC 9018 version");
    let stamp = u32::from_be_bytes(cookie[12..16].try_into().unwrap());
    let server_cookies = ServerCookies::new(&[secret()]);
    let verdict = server_cookies.answer(&cookie, ip, stamp + 1).unwrap();
    assert_eq!(verdict.status, Status::Valid);
    // The same cookie from another address is not this client's.
    let other = e2e::test_addr(r.hierarchy.net(), 201);
    let verdict = server_cookies.answer(&cookie, other, stamp + 1).unwrap();
    assert_eq!(verdict.status, Status::Invalid);

    // kdig's cookie check agrees.
    let kdig = e2e::dig::Dig::kdig(r.ip)
        .port(r.udp.port())
        .arg("-b")
        .arg(&source)
        .arg("+cookie")
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(kdig.status, "NOERROR", "{}", kdig.raw);
    let (cookie, _) = printed_cookie(&kdig);
    assert_eq!(cookie.len(), 24, "{}", kdig.raw);
    let stamp = u32::from_be_bytes(cookie[12..16].try_into().unwrap());
    let verdict = server_cookies.answer(&cookie, ip, stamp).unwrap();
    assert_eq!(verdict.status, Status::Valid, "{}", kdig.raw);
    r.stop().await;
}

/// RFC 9018 §4.3 as Unbound applies it: a valid server cookie under half an
/// hour old is echoed unchanged; one over half an hour old, a forged one, or
/// one for another address is answered normally with a fresh cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_cookie_sent_back_is_echoed_or_renewed() {
    let r = cookie_resolver().await;
    let ip = client_ip(&r);
    let source = ip.to_string();
    let now = cookie::unix_now();
    let client: [u8; 8] = unhex(CLIENT_COOKIE).try_into().unwrap();
    let ask = |sent: Vec<u8>| {
        let dig = r
            .dig()
            .arg("-b")
            .arg(&source)
            .arg(&format!("+cookie={}", hex(&sent)));
        async move { dig.run("www.example.com", "A").await.unwrap() }
    };

    let recent = cookie::write(client, ip, &secret(), now - 600);
    let reply = ask(recent.to_vec()).await;
    assert_eq!(reply.status, "NOERROR", "{}", reply.raw);
    assert_eq!(printed_cookie(&reply).0, recent, "a valid cookie is echoed");

    let old = cookie::write(client, ip, &secret(), now - 2400);
    let reply = ask(old.to_vec()).await;
    let (renewed, _) = printed_cookie(&reply);
    assert_ne!(renewed, old);
    assert!(u32::from_be_bytes(renewed[12..16].try_into().unwrap()) >= now);

    let other_secret = [9u8; 16];
    for bad in [
        cookie::write(client, ip, &other_secret, now),
        cookie::write(
            client,
            e2e::test_addr(r.hierarchy.net(), 201),
            &secret(),
            now,
        ),
    ] {
        let reply = ask(bad.to_vec()).await;
        assert_eq!(reply.status, "NOERROR", "{}", reply.raw);
        assert_eq!(reply.answers_of("A"), ["192.0.2.1"]);
        let (fresh, _) = printed_cookie(&reply);
        assert_ne!(fresh, bad);
        let stamp = u32::from_be_bytes(fresh[12..16].try_into().unwrap());
        let verdict = ServerCookies::new(&[secret()])
            .answer(&fresh, ip, stamp)
            .unwrap();
        assert_eq!(verdict.status, Status::Valid);
    }
    r.stop().await;
}

/// A query for www.example.com. A with `cookie` as its COOKIE option.
fn query_with_cookie(cookie: &[u8]) -> Vec<u8> {
    let mut message = Message::new(0x1234, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(
        Name::from_ascii("www.example.com.").unwrap(),
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.options_mut()
        .insert(EdnsOption::Unknown(10, cookie.to_vec()));
    message.set_edns(edns);
    message.to_vec().unwrap()
}

async fn ask_raw(server: SocketAddr, wire: &[u8]) -> Message {
    let socket = UdpSocket::bind(SocketAddr::new(server.ip(), 0))
        .await
        .unwrap();
    socket.send_to(wire, server).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buf))
        .await
        .expect("no reply")
        .unwrap();
    Message::from_vec(&buf[..len]).unwrap()
}

/// RFC 7873 §5.2.2: a COOKIE option shorter than 8 bytes, between 9 and 15,
/// or over 40 is malformed: FORMERR (Unbound: "badly formatted cookie").
/// Without answer-cookie (Unbound's default) the option is ignored: a normal
/// answer with no cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_cookie_is_formerr() {
    let r = cookie_resolver().await;
    for len in [0usize, 3, 7, 9, 15, 41] {
        let reply = ask_raw(r.udp, &query_with_cookie(&vec![0xab; len])).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::FormErr,
            "{len} bytes"
        );
        assert!(reply.answers.is_empty());
    }
    for len in [8usize, 16, 40] {
        let reply = ask_raw(r.udp, &query_with_cookie(&vec![0xab; len])).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NoError,
            "{len} bytes"
        );
        let cookie = query_cookie(&reply).expect("a server cookie");
        assert_eq!(cookie.len(), 24);
        assert_eq!(cookie[..8], [0xab; 8]);
    }
    r.stop().await;

    let plain = TestResolver::start("").await;
    let reply = ask_raw(plain.udp, &query_with_cookie(&[0xab; 3])).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(query_cookie(&reply), None);
    let reply = ask_raw(plain.udp, &query_with_cookie(&[0xab; 8])).await;
    assert_eq!(query_cookie(&reply), None);
    plain.stop().await;
}

/// RFC 7873 §5.1 and §5.3, upstream: our first query to a cookie-aware
/// server carries a client cookie alone; later ones carry the server cookie
/// it returned; after the server rotates its cookie, its BADCOOKIE is retried
/// once with the new one and the client still gets its answer. Servers that
/// do not do cookies (root, com here) keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_server_cookie_is_learned_sent_back_and_refreshed() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    hierarchy.server_for_zone("example.com.").set_cookies(true);
    let r = TestResolver::start_with(hierarchy, "", "").await;
    let server = r.hierarchy.server_for_zone("example.com.");

    let first = r.q("www.example.com", "A").await;
    assert_eq!(first.answers_of("A"), ["192.0.2.1"]);
    let log = server.cookie_log();
    assert_eq!(log[0].len(), 8, "first query: client cookie alone: {log:?}");
    let client = log[0].clone();

    server.clear_cookie_log();
    let second = r.q("mx.example.com", "A").await;
    assert_eq!(second.answers_of("A"), ["192.0.2.25"]);
    let log = server.cookie_log();
    let learned: Vec<u8> = client.iter().map(|b| b ^ 0x5a).collect();
    let expected = [client.clone(), learned.clone()].concat();
    assert!(!log.is_empty());
    assert!(log.iter().all(|c| *c == expected), "{log:?}");

    server.rotate_cookie();
    server.clear_cookie_log();
    let third = r.q("dual.example.com", "A").await;
    assert_eq!(third.answers_of("A"), ["192.0.2.6"]);
    let log = server.cookie_log();
    let rotated: Vec<u8> = client.iter().map(|b| b ^ 0x5a ^ 1).collect();
    assert_eq!(log.first(), Some(&expected), "{log:?}");
    assert_eq!(
        log.last(),
        Some(&[client.clone(), rotated].concat()),
        "{log:?}"
    );
    assert_eq!(
        server.queries_for("dual.example.com", RecordType::A),
        2,
        "BADCOOKIE retried once with the new cookie"
    );
    r.stop().await;
}

/// RFC 7873 §5.3, the spoofing race: before every real reply, a forged one
/// with the right ID and question but another client's cookie reaches us
/// first. It is ignored (counted as unwanted), the real answer is taken, and
/// the poison address never reaches a client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_reply_with_another_client_cookie_is_ignored() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let server = hierarchy.server_for_zone("example.com.");
    server.set_cookies(true);
    server.set_forge_cookie(true);
    let r = TestResolver::start_with(hierarchy, "", "").await;

    for (name, address) in [
        ("www.example.com", "192.0.2.1"),
        ("mx.example.com", "192.0.2.25"),
        ("dual.example.com", "192.0.2.6"),
    ] {
        let reply = r.q(name, "A").await;
        assert_eq!(reply.status, "NOERROR", "{}", reply.raw);
        assert_eq!(reply.answers_of("A"), [address], "{}", reply.raw);
        assert!(!reply.raw.contains(&POISON_V4.to_string()));
    }
    let forged = r
        .scrape()
        .await
        .value("unbound_unwanted_replies_total", &[])
        .unwrap_or(0.0);
    assert!(forged >= 3.0, "forged replies counted: {forged}");
    r.stop().await;
}

/// Unbound's `access-control: ... allow_cookie` (worker.c, RFC 7873 §5.2.3):
/// over UDP a query without a cookie is REFUSED with TC and an Extended DNS
/// Error (dig then asks over TCP, which is served); a client cookie alone
/// gets BADCOOKIE with a server cookie, and dig's own BADCOOKIE retry with
/// that cookie is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_cookie_wants_a_valid_cookie_over_udp() {
    let r = TestResolver::start(&format!(
        "  answer-cookie: yes\n  cookie-secret: \"{SECRET}\"\n  access-control: 127.0.0.0/8 allow_cookie\n"
    ))
    .await;
    let ip = client_ip(&r);
    let source = ip.to_string();
    let dig = || r.dig().arg("-b").arg(&source);

    let refused = dig()
        .arg("+nocookie")
        .ignore_tc()
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(refused.status, "REFUSED", "{}", refused.raw);
    assert!(refused.has_flag("tc"), "{}", refused.raw);
    assert_eq!(refused.ede, [0], "{}", refused.raw);
    let tcp = dig()
        .arg("+nocookie")
        .tcp()
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(tcp.answers_of("A"), ["192.0.2.1"], "{}", tcp.raw);

    let bad = dig()
        .arg(&format!("+cookie={CLIENT_COOKIE}"))
        .arg("+nobadcookie")
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(bad.status, "BADCOOKIE", "{}", bad.raw);
    assert!(bad.answer.is_empty());
    let (cookie, good) = printed_cookie(&bad);
    assert!(good, "{}", bad.raw);
    let stamp = u32::from_be_bytes(cookie[12..16].try_into().unwrap());
    let verdict = ServerCookies::new(&[secret()])
        .answer(&cookie, ip, stamp)
        .unwrap();
    assert_eq!(verdict.status, Status::Valid);

    let retried = dig()
        .arg(&format!("+cookie={CLIENT_COOKIE}"))
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(retried.status, "NOERROR", "{}", retried.raw);
    assert_eq!(retried.answers_of("A"), ["192.0.2.1"]);
    assert!(retried.raw.contains("BADCOOKIE"), "{}", retried.raw);
    r.stop().await;
}

/// Sends `wire` from the resolver's own address and waits up to 500 ms: the
/// reply, or None when the query was dropped.
async fn try_ask(server: SocketAddr, wire: Vec<u8>) -> Option<Message> {
    let socket = UdpSocket::bind(SocketAddr::new(server.ip(), 0))
        .await
        .unwrap();
    socket.send_to(&wire, server).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf))
        .await
        .ok()?
        .unwrap();
    Some(Message::from_vec(&buf[..len]).unwrap())
}

/// `ip-ratelimit-cookie` (Unbound's check_ip_ratelimit): an address that
/// sends our valid server cookie is held to that limit (0: none) instead of
/// `ip-ratelimit`, and those queries still count toward the address's rate:
/// the same address without a cookie is then dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_ratelimit_cookie_sets_the_limit_for_valid_cookies() {
    let r = TestResolver::start(&format!(
        "  answer-cookie: yes\n  cookie-secret: \"{SECRET}\"\n  ip-ratelimit: 2\n  \
         ip-ratelimit-factor: 0\n  ip-ratelimit-cookie: 0\n"
    ))
    .await;
    let first = ask_raw(r.udp, &query_with_cookie(&unhex(CLIENT_COOKIE))).await;
    let cookie = query_cookie(&first).expect("a server cookie");
    assert_eq!(cookie.len(), 24, "client and server cookie");
    for i in 0..20 {
        let reply = try_ask(r.udp, query_with_cookie(&cookie)).await;
        let reply = reply.unwrap_or_else(|| panic!("query {i} with a valid cookie dropped"));
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    }
    let mut plain = query_with_cookie(&cookie);
    plain.truncate(plain.len() - 4 - cookie.len());
    let end = plain.len();
    plain[end - 2..].copy_from_slice(&[0, 0]); // the OPT's RDLENGTH: no options
                                               // At once, so that the burst falls in the seconds the cookie queries filled.
    let burst: Vec<_> = (0..10)
        .map(|_| tokio::spawn(try_ask(r.udp, plain.clone())))
        .collect();
    let mut answered = 0;
    for query in burst {
        answered += usize::from(query.await.unwrap().is_some());
    }
    assert!(
        answered <= 2,
        "{answered} of 10 queries without a cookie answered"
    );
    let scrape = r.scrape().await;
    assert!(scrape.sum("unbound_queries_ip_ratelimited_total", &[]) >= 8.0);
    r.stop().await;
}
