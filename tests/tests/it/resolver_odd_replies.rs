//! Odd replies through sockets (issue 17): lame.com.'s two servers (host 15,
//! started without its REFUSED switch, and host 17) misbehave as told, and our
//! resolver binary answers what Debian's Unbound 1.17 answers on the same
//! hierarchy: an authoritative upward referral is lame (the other server
//! answers), stray records leave NODATA and no lame server, an empty NOERROR
//! without SOA is NODATA cached for 5 s, and a reply with no question or
//! another question is rejected at once (the other server answers; with both
//! broken, each is asked once and the client gets SERVFAIL).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use e2e::daemon::{Daemon, Signal};
use e2e::dig::{Dig, DigResult};
use e2e::fake_dns::responders::{self, POISON_V4};
use e2e::fake_dns::{FakeServer, Hierarchy, Responder};
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

use crate::fake_dns_selftest::debian_unbound;
use crate::resolver_process::spawn_resolver;
use crate::resolver_support::spawn_unbound;

/// lame.com.'s first server, started REFUSED by the manifest.
const NS1: u8 = 15;
/// lame.com.'s second server.
const NS2: u8 = 17;
/// Distinct names asked until the misbehaving server has been asked at least
/// once. Unbound picks among lame.com.'s two servers at random. Ours tries an
/// untried server first only until one answers within 20 ms, as both do on
/// loopback; after that it explores the other one query in 20, so 200 names
/// miss it with odds of about 1 in 50,000. A server found bad is then
/// avoided, so it is asked about once.
const MAX_NAMES: usize = 200;

/// Ours (the binary) and Unbound, both iterating `hierarchy`.
struct Pair {
    ours: Daemon,
    ours_ip: IpAddr,
    metrics: std::net::SocketAddr,
    unbound: Daemon,
    unbound_ip: IpAddr,
}

impl Pair {
    async fn start(hierarchy: &Hierarchy) -> Self {
        let (ours, dns, metrics) = spawn_resolver(hierarchy, "").await;
        let (unbound, unbound_ip) =
            spawn_unbound(debian_unbound(), hierarchy, 2, "iterator", "").await;
        Self {
            ours,
            ours_ip: dns.ip(),
            metrics,
            unbound,
            unbound_ip,
        }
    }

    /// Each resolver by name with its address.
    fn both(&self) -> [(&'static str, IpAddr); 2] {
        [("ours", self.ours_ip), ("unbound", self.unbound_ip)]
    }

    fn logs(&self) -> String {
        format!(
            "--- ours\n{}\n--- unbound\n{}",
            self.ours.log(),
            self.unbound.log()
        )
    }

    async fn stop(mut self) {
        for daemon in [&mut self.ours, &mut self.unbound] {
            daemon.signal(Signal::Term).unwrap();
            let _ = daemon.wait_exit(Duration::from_secs(10)).await;
        }
    }
}

/// A hierarchy where lame.com.'s host 15 serves (not REFUSED) with `bad` as
/// its responder, and host 17 with `other` (None: it behaves).
async fn lame_com(bad: Responder, other: Option<Responder>) -> Hierarchy {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let ns1 = server(&hierarchy, NS1);
    ns1.set_refused(false);
    ns1.set_responder(Some(bad));
    server(&hierarchy, NS2).set_responder(other);
    hierarchy
}

fn server(hierarchy: &Hierarchy, host: u8) -> &FakeServer {
    hierarchy
        .server(host)
        .expect("lame.com. server in the manifest")
}

/// `responder` for www.lame.com. A only; everything else answered as usual.
fn for_www_a(responder: fn(&Message) -> Option<Message>) -> Responder {
    Arc::new(move |req: &Message| {
        let q = req.queries.first()?;
        let www = q.name().to_ascii().eq_ignore_ascii_case("www.lame.com.");
        (www && q.query_type() == RecordType::A)
            .then(|| responder(req))
            .flatten()
    })
}

async fn dig(ip: IpAddr, name: &str, rtype: &str) -> DigResult {
    Dig::new(ip)
        .wait(Duration::from_secs(8))
        .run(name, rtype)
        .await
        .unwrap_or_else(|e| panic!("dig @{ip} {name} {rtype}: {e:#}"))
}

/// Asks `n0.lame.com.`, `n1.lame.com.`, ... (NXDOMAIN from the good server)
/// until host 15 has been asked; returns the replies.
async fn until_ns1_asked(hierarchy: &Hierarchy, ip: IpAddr) -> Vec<DigResult> {
    let mut replies = Vec::new();
    for i in 0..MAX_NAMES {
        replies.push(dig(ip, &format!("n{i}.lame.com"), "A").await);
        if server(hierarchy, NS1).queries() > 0 {
            break;
        }
    }
    replies
}

/// Lameness (issue 17): host 15 answers every question with AA set, no answer,
/// no SOA and the root's NS set. Both resolvers take it for lame and get every
/// answer from host 17.
#[tokio::test]
async fn authoritative_upward_referral_is_lame_and_the_other_server_answers() {
    let hierarchy = lame_com(Arc::new(responders::aa_upward_referral), None).await;
    let pair = Pair::start(&hierarchy).await;
    for (who, ip) in pair.both() {
        hierarchy.reset_counters();
        for reply in until_ns1_asked(&hierarchy, ip).await {
            assert_eq!(
                reply.status,
                "NXDOMAIN",
                "{who}: {}\n{}",
                reply.raw,
                pair.logs()
            );
        }
        assert!(
            server(&hierarchy, NS1).queries() > 0,
            "{who} never asked host 15"
        );
        let www = dig(ip, "www.lame.com", "A").await;
        assert_eq!(www.answers_of("A"), ["192.0.2.17"], "{who}: {}", www.raw);
    }
    pair.stop().await;
}

/// [`responders::stray_types`] with AA clear.
fn stray_types_not_aa(req: &Message) -> Option<Message> {
    let mut resp = responders::stray_types(req)?;
    resp.metadata.authoritative = false;
    Some(resp)
}

/// Stray records (issue 17): both servers answer www.lame.com. A with only a
/// AAAA and a TXT (no SOA; AA set, then AA clear). Both resolvers answer
/// NOERROR without data (no forged address), and the servers still answer
/// other names (not lame).
#[tokio::test]
async fn stray_records_leave_nodata_and_no_lame_server() {
    for flavour in [responders::stray_types, stray_types_not_aa] {
        let stray = for_www_a(flavour);
        let hierarchy = lame_com(stray.clone(), Some(stray)).await;
        let pair = Pair::start(&hierarchy).await;
        for (who, ip) in pair.both() {
            let www = dig(ip, "www.lame.com", "A").await;
            assert_eq!(www.status, "NOERROR", "{who}: {}\n{}", www.raw, pair.logs());
            assert!(www.answer.is_empty(), "{who}: {}", www.raw);
            assert!(
                !www.raw.contains(&POISON_V4.to_string()),
                "{who}: {}",
                www.raw
            );
            let other = dig(ip, "nope.lame.com", "A").await;
            assert_eq!(other.status, "NXDOMAIN", "{who}: {}", other.raw);
        }
        pair.stop().await;
    }
}

/// Empty NOERROR without SOA (issue 17): both servers answer www.lame.com. A
/// with every section empty. Both resolvers answer NOERROR without data (not
/// SERVFAIL) and keep it 5 s (Unbound's NORR_TTL): asked again at once, no
/// server hears the question; 6 s later, one does.
#[tokio::test]
async fn empty_noerror_is_nodata_cached_for_five_seconds() {
    let empty = for_www_a(responders::lame_noerror);
    let hierarchy = lame_com(empty.clone(), Some(empty)).await;
    let pair = Pair::start(&hierarchy).await;
    let asked = || {
        [NS1, NS2]
            .iter()
            .map(|&h| server(&hierarchy, h).queries_for("www.lame.com.", RecordType::A))
            .sum::<u64>()
    };
    for (who, ip) in pair.both() {
        let first = dig(ip, "www.lame.com", "A").await;
        assert_eq!(
            first.status,
            "NOERROR",
            "{who}: {}\n{}",
            first.raw,
            pair.logs()
        );
        assert!(first.answer.is_empty(), "{who}: {}", first.raw);
        let after_first = asked();
        assert!(after_first > 0, "{who}");
        let second = dig(ip, "www.lame.com", "A").await;
        assert_eq!(second.status, "NOERROR", "{who}: {}", second.raw);
        assert_eq!(
            asked(),
            after_first,
            "{who}: the second answer came from the cache"
        );
        tokio::time::sleep(Duration::from_secs(6)).await;
        let third = dig(ip, "www.lame.com", "A").await;
        assert_eq!(third.status, "NOERROR", "{who}: {}", third.raw);
        assert!(asked() > after_first, "{who}: expired after 5 s");
    }
    pair.stop().await;
}

/// No question, another question (issue 17): host 15 answers with the right
/// id but no question section (then, in a second round, another question).
/// Both resolvers get every answer from host 17; ours counts the rejected
/// replies as unwanted.
#[tokio::test]
async fn reply_without_or_with_another_question_moves_on_to_the_other_server() {
    for bad in [responders::no_question, responders::wrong_question] {
        let hierarchy = lame_com(Arc::new(bad), None).await;
        let pair = Pair::start(&hierarchy).await;
        for (who, ip) in pair.both() {
            hierarchy.reset_counters();
            for reply in until_ns1_asked(&hierarchy, ip).await {
                assert_eq!(
                    reply.status,
                    "NXDOMAIN",
                    "{who}: {}\n{}",
                    reply.raw,
                    pair.logs()
                );
            }
            assert!(
                server(&hierarchy, NS1).queries() > 0,
                "{who} never asked host 15"
            );
            let www = dig(ip, "www.lame.com", "A").await;
            assert_eq!(www.answers_of("A"), ["192.0.2.17"], "{who}: {}", www.raw);
        }
        let scrape = e2e::metrics::scrape(pair.metrics).await.unwrap();
        let unwanted = scrape.value("unbound_unwanted_replies_total", &[]);
        assert!(unwanted.is_some_and(|n| n >= 1.0), "{unwanted:?}");
        // Rejected at once, not waited out: no upstream query of ours timed out.
        let timeouts = scrape.value("unbound_upstream_timeouts_total", &[]);
        assert_eq!(timeouts, Some(0.0), "{}", pair.logs());
        pair.stop().await;
    }
}

/// With both servers replying without a question, ours asks each once (a
/// rejected reply is not retried like a timeout) and answers SERVFAIL, as
/// Unbound does.
#[tokio::test]
async fn both_servers_without_question_is_servfail_after_one_query_each() {
    let bad = for_www_a(responders::no_question);
    let hierarchy = lame_com(bad.clone(), Some(bad)).await;
    let pair = Pair::start(&hierarchy).await;
    for (who, ip) in pair.both() {
        hierarchy.reset_counters();
        let www = dig(ip, "www.lame.com", "A").await;
        assert_eq!(
            www.status,
            "SERVFAIL",
            "{who}: {}\n{}",
            www.raw,
            pair.logs()
        );
        if who == "ours" {
            for host in [NS1, NS2] {
                let asked = server(&hierarchy, host).queries_for("www.lame.com.", RecordType::A);
                assert_eq!(asked, 1, "host {host}");
            }
        }
    }
    pair.stop().await;
}
