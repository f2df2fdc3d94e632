//! Issue 19: denials answered from validated NSEC records without asking the
//! signed zone again, the defence against random-subdomain floods on signed
//! zones, through real sockets against the fake hierarchy's signed `ok.sec.`
//! (host 32, NSEC chain: apex → alias → alias2 → cross → dn → host.ent →
//! mail → ns → sub → a.sub → z.sub → txt → *.wild → www → apex).
//!
//! - RFC 8198 (`aggressive-nsec`, Unbound's default yes): after one NXDOMAIN,
//!   names the same NSEC covers are NXDOMAIN with AD from the cache; after one
//!   NODATA, other types at the name likewise.
//! - RFC 8020 (`harden-below-nxdomain`, default yes): a name below a cached
//!   secure NXDOMAIN is NXDOMAIN; an insecure NXDOMAIN is not trusted so.
//! - `harden-algo-downgrade`: `algdown.sec.` (host 52) has a DS set of
//!   algorithms 13 and 15 and only the algorithm-13 signature verifies:
//!   bogus when hardened, secure by default.
//! - Each scenario is replayed against Debian's Unbound 1.17 and the
//!   verdicts (rcode, AD, whether upstream was asked) compared.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use e2e::daemon::Daemon;
use e2e::dig::{query_with, QueryOptions, Transport};
use e2e::fake_dns::Hierarchy;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::fake_dns_selftest::debian_unbound;
use crate::resolver_support::{scratch_dir, spawn_unbound, TestResolver};

/// Host of `ok.sec.` (signed, NSEC).
const OK_SEC: u8 = 32;
/// Host of `insecure.sec.` (unsigned child of `sec.`).
const INSECURE_SEC: u8 = 33;
/// Host of `algdown.sec.` (DS of two algorithms, one signature verifies).
const ALGDOWN_SEC: u8 = 52;

/// What a client sees, and whether the zone's server was asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    question: String,
    rcode: ResponseCode,
    ad: bool,
    upstream: bool,
}

/// Ours or Unbound, validating from the fake root's anchor, with `keys`.
struct Subject {
    hierarchy: Arc<Hierarchy>,
    addr: SocketAddr,
    ours: Option<TestResolver>,
    unbound: Option<Daemon>,
}

/// The trust-anchor file for `hierarchy`'s root.
fn anchor_file(hierarchy: &Hierarchy) -> PathBuf {
    let path = scratch_dir("aggressive-nsec").join("root.ds");
    let ds = hierarchy
        .trust_anchor(".")
        .expect("the fixture root is signed");
    std::fs::write(&path, format!("{ds}\n")).unwrap();
    path
}

impl Subject {
    async fn ours(keys: &str) -> Self {
        let hierarchy = Hierarchy::start_unique().await.unwrap();
        let extra = format!(
            "  module-config: \"validator iterator\"\n  trust-anchor-file: \"{}\"\n{keys}",
            anchor_file(&hierarchy).display()
        );
        let ours = TestResolver::start_with(hierarchy, &extra, "").await;
        Self {
            hierarchy: ours.hierarchy.clone(),
            addr: ours.udp,
            ours: Some(ours),
            unbound: None,
        }
    }

    async fn unbound(keys: &str) -> Self {
        let hierarchy = Hierarchy::start_unique().await.unwrap();
        let extra = format!(
            "  trust-anchor-file: \"{}\"\n{keys}",
            anchor_file(&hierarchy).display()
        );
        let (daemon, ip) = spawn_unbound(
            debian_unbound(),
            &hierarchy,
            2,
            "validator iterator",
            &extra,
        )
        .await;
        Self {
            hierarchy: Arc::new(hierarchy),
            addr: SocketAddr::new(ip, 53),
            ours: None,
            unbound: Some(daemon),
        }
    }

    /// Asks with DO (so AD is shown) and notes whether `host` was queried.
    async fn see(&self, name: &str, rtype: RecordType, host: u8) -> Seen {
        let server = self.hierarchy.server(host).expect("fixture host");
        let before = server.queries();
        let reply = ask(self.addr, name, rtype).await;
        Seen {
            question: format!("{name} {rtype}"),
            rcode: reply.metadata.response_code,
            ad: reply.metadata.authentic_data,
            upstream: server.queries() > before,
        }
    }

    async fn stop(self) {
        if let Some(ours) = self.ours {
            ours.stop().await;
        }
        drop(self.unbound);
    }
}

/// One question with DO=1 over UDP.
async fn ask(addr: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let options = QueryOptions {
        dnssec_ok: true,
        timeout: Duration::from_secs(5),
        ..QueryOptions::default()
    };
    query_with(addr, name, rtype, Transport::Udp, options)
        .await
        .unwrap_or_else(|e| panic!("{name} {rtype}: {e:#}"))
}

fn seen(question: &str, rcode: ResponseCode, ad: bool, upstream: bool) -> Seen {
    Seen {
        question: question.to_string(),
        rcode,
        ad,
        upstream,
    }
}

/// (a) RFC 8198 §5.1: NXDOMAIN for `nope.ok.sec.` brings the NSEC
/// `mail → ns`; `mb-flood.ok.sec.` lies in that span.
async fn nxdomain_scenario(s: &Subject) -> Vec<Seen> {
    vec![
        s.see("nope.ok.sec.", RecordType::A, OK_SEC).await,
        s.see("mb-flood.ok.sec.", RecordType::A, OK_SEC).await,
        s.see("mz-flood.ok.sec.", RecordType::AAAA, OK_SEC).await,
    ]
}

/// (b) RFC 8198 §5.2: NODATA for `www.ok.sec. TXT` brings the NSEC at
/// `www` (A, AAAA): MX and CAA there are NODATA too.
async fn nodata_scenario(s: &Subject) -> Vec<Seen> {
    vec![
        s.see("www.ok.sec.", RecordType::TXT, OK_SEC).await,
        s.see("www.ok.sec.", RecordType::MX, OK_SEC).await,
        s.see("www.ok.sec.", RecordType::CAA, OK_SEC).await,
    ]
}

/// (d) RFC 8020: below a secure NXDOMAIN (aggressive NSEC off, so only the
/// message cache can answer), and below an insecure one.
async fn below_scenario(s: &Subject) -> Vec<Seen> {
    vec![
        s.see("nope.ok.sec.", RecordType::A, OK_SEC).await,
        s.see("x.nope.ok.sec.", RecordType::A, OK_SEC).await,
        s.see("nope.insecure.sec.", RecordType::A, INSECURE_SEC)
            .await,
        s.see("x.nope.insecure.sec.", RecordType::A, INSECURE_SEC)
            .await,
    ]
}

/// (e) One answer from `algdown.sec.`.
async fn downgrade_scenario(s: &Subject) -> Vec<Seen> {
    vec![s.see("www.algdown.sec.", RecordType::A, ALGDOWN_SEC).await]
}

/// (e) `harden-algo-downgrade: yes` (Unbound's `algo_needs`): every
/// algorithm of the DS set must sign the DNSKEY set, so the zone whose
/// algorithm-15 signature is forged is bogus (SERVFAIL); by default one
/// algorithm suffices and the answer is secure.
#[tokio::test]
async fn harden_algo_downgrade_needs_every_ds_algorithm() {
    let s = Subject::ours("  harden-algo-downgrade: yes\n").await;
    let got = downgrade_scenario(&s).await;
    assert_eq!(
        got,
        vec![seen(
            "www.algdown.sec. A",
            ResponseCode::ServFail,
            false,
            true
        )]
    );
    s.stop().await;
    let s = Subject::ours("").await;
    let got = downgrade_scenario(&s).await;
    assert_eq!(
        got,
        vec![seen(
            "www.algdown.sec. A",
            ResponseCode::NoError,
            true,
            true
        )]
    );
    s.stop().await;
}

/// (a) After one NXDOMAIN with its NSEC proofs, other names the same NSEC
/// covers are NXDOMAIN with AD and the zone's server is not asked.
#[tokio::test]
async fn rfc8198_nxdomain_for_covered_names_without_upstream() {
    let s = Subject::ours("").await;
    let got = nxdomain_scenario(&s).await;
    let nx = ResponseCode::NXDomain;
    assert_eq!(
        got,
        vec![
            seen("nope.ok.sec. A", nx, true, true),
            seen("mb-flood.ok.sec. A", nx, true, false),
            seen("mz-flood.ok.sec. AAAA", nx, true, false),
        ]
    );
    let reply = ask(s.addr, "mq-proof.ok.sec.", RecordType::A).await;
    let types: Vec<RecordType> = reply.authorities.iter().map(|r| r.record_type()).collect();
    for want in [RecordType::SOA, RecordType::NSEC, RecordType::RRSIG] {
        assert!(types.contains(&want), "{want} missing: {reply:?}");
    }
    let scrape = s.ours.as_ref().unwrap().scrape().await;
    let synthesized = scrape.value("unbound_query_aggressive_nsec", &[("rcode", "NXDOMAIN")]);
    assert_eq!(
        synthesized,
        Some(3.0),
        "{:?}",
        scrape.all("unbound_query_aggressive_nsec")
    );
    s.stop().await;
}

/// (b) After one NODATA, other types at the same name are NODATA with AD
/// from the cached NSEC, without upstream.
#[tokio::test]
async fn rfc8198_nodata_for_other_types_without_upstream() {
    let s = Subject::ours("").await;
    let got = nodata_scenario(&s).await;
    let ok = ResponseCode::NoError;
    assert_eq!(
        got,
        vec![
            seen("www.ok.sec. TXT", ok, true, true),
            seen("www.ok.sec. MX", ok, true, false),
            seen("www.ok.sec. CAA", ok, true, false),
        ]
    );
    let reply = ask(s.addr, "www.ok.sec.", RecordType::SRV).await;
    assert!(reply.answers.is_empty(), "{reply:?}");
    s.stop().await;
}

/// (c) `aggressive-nsec: no`: every new name goes upstream (the answers
/// are the same; with harden-below-nxdomain off nothing short-cuts them).
#[tokio::test]
async fn aggressive_nsec_no_asks_upstream() {
    let s = Subject::ours("  aggressive-nsec: no\n  harden-below-nxdomain: no\n").await;
    let got = nxdomain_scenario(&s).await;
    let nx = ResponseCode::NXDomain;
    assert_eq!(
        got,
        vec![
            seen("nope.ok.sec. A", nx, true, true),
            seen("mb-flood.ok.sec. A", nx, true, true),
            seen("mz-flood.ok.sec. AAAA", nx, true, true),
        ]
    );
    let got = nodata_scenario(&s).await;
    assert!(got.iter().all(|g| g.upstream && g.ad), "{got:?}");
    s.stop().await;
}

/// (d) RFC 8020 §2: below a cached secure NXDOMAIN the answer is NXDOMAIN
/// with AD and no upstream query; an insecure NXDOMAIN is not used
/// (Unbound: only DNSSEC-secure ones); `harden-below-nxdomain: no` asks.
#[tokio::test]
async fn rfc8020_below_secure_nxdomain_without_upstream() {
    let nx = ResponseCode::NXDomain;
    let s = Subject::ours("  aggressive-nsec: no\n").await;
    assert_eq!(
        below_scenario(&s).await,
        vec![
            seen("nope.ok.sec. A", nx, true, true),
            seen("x.nope.ok.sec. A", nx, true, false),
            seen("nope.insecure.sec. A", nx, false, true),
            seen("x.nope.insecure.sec. A", nx, false, true),
        ]
    );
    s.stop().await;
    let s = Subject::ours("  aggressive-nsec: no\n  harden-below-nxdomain: no\n").await;
    let got = below_scenario(&s).await;
    assert_eq!(got[1], seen("x.nope.ok.sec. A", nx, true, true));
    s.stop().await;
}

/// (f) The same scenarios against Debian's Unbound 1.17 with the same
/// anchor and keys: rcode, AD and whether upstream was asked agree.
#[tokio::test]
async fn ours_and_unbound_agree_on_cached_denials() {
    type Scenario =
        for<'a> fn(
            &'a Subject,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Seen>> + 'a>>;
    let cases: [(&str, &str, Scenario); 6] = [
        ("nxdomain", "", |s| Box::pin(nxdomain_scenario(s))),
        ("nodata", "", |s| Box::pin(nodata_scenario(s))),
        (
            "off",
            "  aggressive-nsec: no\n  harden-below-nxdomain: no\n",
            |s| Box::pin(nxdomain_scenario(s)),
        ),
        ("below", "  aggressive-nsec: no\n", |s| {
            Box::pin(below_scenario(s))
        }),
        ("algo-yes", "  harden-algo-downgrade: yes\n", |s| {
            Box::pin(downgrade_scenario(s))
        }),
        ("algo-no", "", |s| Box::pin(downgrade_scenario(s))),
    ];
    let mut failures = Vec::new();
    for (what, keys, scenario) in cases {
        let theirs = Subject::unbound(keys).await;
        let expected = scenario(&theirs).await;
        theirs.stop().await;
        let ours = Subject::ours(keys).await;
        let got = scenario(&ours).await;
        ours.stop().await;
        if got != expected {
            failures.push(format!("{what}:\n unbound {expected:?}\n ours    {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Upstream queries to `ok.sec.` (host 32) while `names` random names under
/// it are asked, 32 at a time.
async fn flood(s: &Subject, names: usize) -> u64 {
    let server = s.hierarchy.server(OK_SEC).expect("ok.sec host");
    // Learn the zone's keys first, so only the flood is counted.
    ask(s.addr, "www.ok.sec.", RecordType::A).await;
    let before = server.queries();
    let labels: Vec<String> = (0..names)
        .map(|_| {
            (0..12)
                .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
                .collect()
        })
        .collect();
    for chunk in labels.chunks(32) {
        let asks = chunk.iter().map(|label| {
            let addr = s.addr;
            let name = format!("{label}.ok.sec.");
            tokio::spawn(async move {
                let reply = ask(addr, &name, RecordType::A).await;
                assert_eq!(
                    reply.metadata.response_code,
                    ResponseCode::NXDomain,
                    "{name}"
                );
            })
        });
        for task in asks.collect::<Vec<_>>() {
            task.await.unwrap();
        }
    }
    server.queries() - before
}

/// Issue 19 measurement: a random-subdomain flood under a signed zone.
/// With aggressive NSEC a name only reaches the zone while its NSEC span is
/// not yet cached (14 spans), so the zone sees a few dozen queries at most;
/// without it, one per name. Figures for ours and Unbound are printed.
#[tokio::test]
async fn random_subdomain_flood_mostly_answered_from_cache() {
    const NAMES: usize = 2000;
    let mut figures = Vec::new();
    for (who, keys) in [
        ("ours", "yes"),
        ("ours", "no"),
        ("unbound", "yes"),
        ("unbound", "no"),
    ] {
        let keys = format!("  aggressive-nsec: {keys}\n");
        let s = if who == "ours" {
            Subject::ours(&keys).await
        } else {
            Subject::unbound(&keys).await
        };
        let upstream = flood(&s, NAMES).await;
        s.stop().await;
        figures.push((who, keys.trim().to_string(), upstream));
    }
    eprintln!("random-subdomain flood, {NAMES} names under ok.sec.: upstream queries to ok.sec.");
    for (who, keys, upstream) in &figures {
        eprintln!("  {who:8} {keys:20} {upstream}");
    }
    let ours_yes = figures[0].2;
    let ours_no = figures[1].2;
    let unbound_yes = figures[2].2;
    assert!(ours_yes <= 64, "{figures:?}");
    assert!(ours_no >= NAMES as u64, "{figures:?}");
    assert!(ours_yes <= unbound_yes.max(1) * 2, "{figures:?}");
}
