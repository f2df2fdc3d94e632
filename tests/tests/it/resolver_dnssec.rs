//! DNSSEC data through our resolver (which does not validate): queries go
//! upstream with DO, RRSIGs and NSEC proofs are kept and cached, DO clients get
//! them, other clients do not, and AD is never claimed. The proof that nothing
//! is lost: a validating Unbound that forwards to us marks every answer secure,
//! fresh and from our cache alike.

use std::time::Duration;

use e2e::daemon::Signal;
use e2e::dig::{Dig, DigResult};
use e2e::fake_dns::Hierarchy;

use crate::fake_dns_selftest::debian_unbound;
use crate::resolver_support::{spawn_unbound, TestResolver};

fn types_in(records: &[e2e::dig::RecordLine]) -> Vec<&str> {
    records.iter().map(|r| r.rtype.as_str()).collect()
}

/// The RRSIG lines of `r` that sign `rtype`.
fn rrsigs_over<'a>(r: &'a DigResult, rtype: &str) -> Vec<&'a e2e::dig::RecordLine> {
    r.answer
        .iter()
        .chain(&r.authority)
        .filter(|l| l.rtype == "RRSIG" && l.rdata.split_whitespace().next() == Some(rtype))
        .collect()
}

#[tokio::test]
async fn do_clients_get_signatures_and_proofs_others_do_not() {
    let ours = TestResolver::start("").await;

    let www = ours
        .dig()
        .dnssec()
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(www.answers_of("A"), vec!["192.0.2.30"], "{}", www.raw);
    assert_eq!(rrsigs_over(&www, "A").len(), 1, "{}", www.raw);
    assert!(!www.has_flag("ad"), "we validate nothing: {}", www.raw);

    let nx = ours
        .dig()
        .dnssec()
        .run("nope.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(nx.status, "NXDOMAIN");
    let nsecs = nx.authority.iter().filter(|l| l.rtype == "NSEC").count();
    assert_eq!(nsecs, 2, "covering and wildcard NSEC: {}", nx.raw);
    assert_eq!(rrsigs_over(&nx, "NSEC").len(), 2, "{}", nx.raw);
    assert_eq!(rrsigs_over(&nx, "SOA").len(), 1, "{}", nx.raw);

    let wild = ours
        .dig()
        .dnssec()
        .run("w1.wild.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(wild.answers_of("A"), vec!["192.0.2.31"], "{}", wild.raw);
    assert_eq!(
        types_in(&wild.authority),
        vec!["NSEC", "RRSIG"],
        "a wildcard answer keeps its proof: {}",
        wild.raw
    );

    // From cache: the same records, without DO none of the DNSSEC ones.
    let upstream = ours.hierarchy.total_queries();
    let plain = ours.q("www.signed.com", "A").await;
    assert_eq!(types_in(&plain.answer), vec!["A"], "{}", plain.raw);
    let plain_nx = ours.q("nope.signed.com", "A").await;
    assert_eq!(
        types_in(&plain_nx.authority),
        vec!["SOA"],
        "{}",
        plain_nx.raw
    );
    let no_edns = ours
        .dig()
        .edns(false)
        .run("w1.wild.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(types_in(&no_edns.answer), vec!["A"], "{}", no_edns.raw);
    assert!(no_edns.authority.is_empty(), "{}", no_edns.raw);
    let again = ours
        .dig()
        .dnssec()
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(types_in(&again.answer), vec!["A", "RRSIG"], "{}", again.raw);
    assert_eq!(
        ours.hierarchy.total_queries(),
        upstream,
        "all of the above came from cache"
    );
    // Asked for by type, an RRSIG RRset is data, DO or not.
    let sigs = ours.q("mail.signed.com", "RRSIG").await;
    assert_eq!(
        types_in(&sigs.answer),
        vec!["RRSIG", "RRSIG"],
        "the MX's and the NSEC's: {}",
        sigs.raw
    );
    ours.stop().await;
}

#[tokio::test]
async fn a_validating_unbound_forwarding_to_us_finds_everything_secure() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    let ours = TestResolver::start_with(hierarchy, "", "").await;
    let forward = format!(
        "  trust-anchor: \"{anchor}\"\nforward-zone:\n  name: \".\"\n  forward-addr: {}\n",
        ours.ip
    );
    let (mut unbound, ip) = spawn_unbound(
        debian_unbound(),
        &ours.hierarchy,
        2,
        "validator iterator",
        &forward,
    )
    .await;
    let cases = [
        ("www.signed.com", "A", "NOERROR"),
        ("alias.signed.com", "A", "NOERROR"),
        ("mail.signed.com", "MX", "NOERROR"),
        ("w2.wild.signed.com", "A", "NOERROR"),
        ("www.signed.com", "AAAA", "NOERROR"),
        ("wild.signed.com", "A", "NOERROR"),
        ("nope.signed.com", "A", "NXDOMAIN"),
    ];
    // Warm our cache first with plain queries: what Unbound then gets is our
    // cached copy, which must still hold every signature and proof.
    for (name, rtype, status) in cases {
        assert_eq!(ours.q(name, rtype).await.status, status, "{name} {rtype}");
    }
    for (name, rtype, status) in cases {
        let r = Dig::new(ip).dnssec().run(name, rtype).await.unwrap();
        assert_eq!(r.status, status, "{name} {rtype}: {}", r.raw);
        assert!(
            r.has_flag("ad"),
            "{name} {rtype} is not secure through us: {}\n{}",
            r.raw,
            unbound.log()
        );
    }
    unbound.signal(Signal::Term).unwrap();
    let _ = unbound.wait_exit(Duration::from_secs(10)).await;
    ours.stop().await;
}

/// Our resolver on `hierarchy`, validating (`module-config: "validator
/// iterator"`) with the server: lines `anchor_lines` (anchors and any more).
async fn validating(hierarchy: Hierarchy, anchor_lines: &str) -> TestResolver {
    let extra = format!("  module-config: \"validator iterator\"\n{anchor_lines}");
    TestResolver::start_with(hierarchy, &extra, "").await
}

/// Issue 15, RFC 4035 §5 and RFC 6840 §5.8: validating with the island's
/// anchor, secure answers (positive, CNAME, MX, wildcard, NODATA, NXDOMAIN)
/// carry AD for clients that set DO or AD, never for others; names under no
/// anchor are served without AD.
#[tokio::test]
async fn validating_with_a_trust_anchor_sets_ad_on_secure_answers() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    let lines = format!("  trust-anchor: \"{anchor}\"\n  val-log-level: 1\n");
    let ours = validating(hierarchy, &lines).await;
    let cases = [
        ("www.signed.com", "A", "NOERROR"),
        ("alias.signed.com", "A", "NOERROR"),
        ("mail.signed.com", "MX", "NOERROR"),
        ("w2.wild.signed.com", "A", "NOERROR"),
        ("www.signed.com", "AAAA", "NOERROR"),
        ("nope.signed.com", "A", "NXDOMAIN"),
    ];
    for (name, rtype, status) in cases {
        let r = ours.dig().dnssec().run(name, rtype).await.unwrap();
        assert_eq!(r.status, status, "{name} {rtype}: {}", r.raw);
        assert!(r.has_flag("ad"), "{name} {rtype} not secure: {}", r.raw);
        // From cache, a client that sets neither DO nor AD gets no AD.
        let plain = ours.dig().arg("+noadflag").run(name, rtype).await.unwrap();
        assert_eq!(plain.status, status);
        assert!(!plain.has_flag("ad"), "{name} {rtype}: {}", plain.raw);
        // kdig sets AD without DO: AD back (RFC 6840 §5.8).
        let kdig = e2e::dig::Dig::kdig(ours.ip)
            .port(ours.udp.port())
            .arg("+adflag")
            .run(name, rtype)
            .await
            .unwrap();
        assert!(kdig.has_flag("ad"), "{name} {rtype}: {}", kdig.raw);
    }
    // No anchor above example.com: answered, never AD.
    let unanchored = ours
        .dig()
        .dnssec()
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(unanchored.answers_of("A"), vec!["192.0.2.1"]);
    assert!(!unanchored.has_flag("ad"), "{}", unanchored.raw);
    let scrape = ours.scrape().await;
    assert!(
        scrape
            .value("unbound_answers_secure_total", &[])
            .unwrap_or(0.0)
            >= 12.0
    );
    assert!(
        scrape
            .value("unbound_validations_total", &[("outcome", "secure")])
            .unwrap_or(0.0)
            >= 6.0
    );
    ours.stop().await;
}

/// Issue 15, RFC 8914 and RFC 4035 §3.2.2: with an anchor that matches no key
/// of the zone every answer is bogus: SERVFAIL with EDE 9 (DNSKEY Missing),
/// counted; a client setting CD gets the data, without AD.
#[tokio::test]
async fn a_broken_chain_is_servfail_with_an_extended_error_and_cd_gets_the_data() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    // Same key tag and algorithm, another digest.
    let mut words: Vec<String> = anchor.split_whitespace().map(str::to_string).collect();
    let digest = words.last_mut().unwrap();
    *digest = digest.chars().rev().collect();
    let wrong = words.join(" ");
    let ours = validating(hierarchy, &format!("  trust-anchor: \"{wrong}\"\n")).await;
    let r = ours
        .dig()
        .dnssec()
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(r.status, "SERVFAIL", "{}", r.raw);
    assert!(r.raw.contains("EDE: 9"), "{}", r.raw);
    let cd = ours
        .dig()
        .dnssec()
        .arg("+cd")
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(cd.answers_of("A"), vec!["192.0.2.30"], "{}", cd.raw);
    assert!(!cd.has_flag("ad"), "{}", cd.raw);
    let scrape = ours.scrape().await;
    assert!(scrape.value("unbound_answers_bogus", &[]).unwrap_or(0.0) >= 1.0);
    assert!(
        scrape
            .value("unbound_validation_failures_total", &[("ede", "9")])
            .unwrap_or(0.0)
            >= 1.0
    );
    ours.stop().await;
}

/// Issue 15, RFC 5011: an `auto-trust-anchor-file` holding only the zone's DS
/// validates, and the file is written back in Unbound's autotrust format with
/// the DNSKEY the DS matched now VALID (so Unbound and we can both read it).
#[tokio::test]
async fn auto_trust_anchor_file_validates_and_is_written_back() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    let dir = crate::resolver_support::scratch_dir("autotrust");
    let file = dir.join("signed.com.key");
    std::fs::write(&file, format!("{anchor}\n")).unwrap();
    let lines = format!("  auto-trust-anchor-file: \"{}\"\n", file.display());
    let ours = validating(hierarchy, &lines).await;
    let r = ours
        .dig()
        .dnssec()
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert!(r.has_flag("ad"), "{}", r.raw);
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&file).unwrap();
        if text.contains(";;state=2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text.starts_with("; autotrust trust anchor file"), "{text}");
    assert!(
        text.contains("DNSKEY\t257 3 13") && text.contains(";;state=2 [  VALID  ]"),
        "{text}"
    );
    ours.stop().await;
}

/// Issue 15: serve-expired and refreshes keep working with validation. With
/// entries living one second (cache-max-ttl), an expired secure answer is
/// served with AD while the zone's server fails (RFC 8767), and the refresh
/// that hit starts (the same background resolution prefetch uses) replaces
/// it with a newly validated answer, still AD.
#[tokio::test]
async fn serve_expired_and_prefetch_keep_the_verdict() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    let lines = format!(
        "  trust-anchor: \"{anchor}\"\n  cache-max-ttl: 1\n  serve-expired: yes\n  serve-expired-client-timeout: 0\n  prefetch: yes\n"
    );
    let ours = validating(hierarchy, &lines).await;
    let first = ours
        .dig()
        .dnssec()
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert!(first.has_flag("ad"), "{}", first.raw);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let signed = ours.hierarchy.server_for_zone("signed.com.");
    signed.set_servfail(true);
    let stale = ours
        .dig()
        .dnssec()
        .run("www.signed.com", "A")
        .await
        .unwrap();
    assert_eq!(stale.answers_of("A"), vec!["192.0.2.30"], "{}", stale.raw);
    assert!(
        stale.has_flag("ad"),
        "an expired secure answer stays secure: {}",
        stale.raw
    );
    assert_eq!(
        stale.answer[0].ttl, 30,
        "serve-expired-reply-ttl: {}",
        stale.raw
    );
    signed.set_servfail(false);
    // The stale hit started a refresh; once it lands the answer is fresh and secure.
    let upstream = signed.queries();
    let mut fresh = stale;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fresh = ours
            .dig()
            .dnssec()
            .run("www.signed.com", "A")
            .await
            .unwrap();
        if fresh.answer.first().is_some_and(|r| r.ttl <= 1) {
            break;
        }
    }
    assert!(fresh.answer[0].ttl <= 1, "refreshed: {}", fresh.raw);
    assert!(fresh.has_flag("ad"), "{}", fresh.raw);
    assert!(
        signed.queries() > upstream,
        "the refresh asked the zone again"
    );
    ours.stop().await;
}

/// Issue 15, real clients: BIND's `delv` validates for itself, through our
/// validating resolver, from the island's DS: positive, wildcard and
/// NXDOMAIN answers reach it with every signature and proof it needs.
#[tokio::test]
async fn delv_validates_our_answers_itself() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let anchor = hierarchy.trust_anchor("signed.com.").unwrap().to_string();
    let ours = validating(hierarchy, &format!("  trust-anchor: \"{anchor}\"\n")).await;
    // "signed.com. DS <tag> <alg> <digest type> <hex>" in delv's anchor syntax.
    let words: Vec<&str> = anchor.split_whitespace().collect();
    let [owner, .., tag, alg, digest_type, hex] = words.as_slice() else {
        panic!("unexpected anchor {anchor}");
    };
    let dir = crate::resolver_support::scratch_dir("delv");
    let anchors = dir.join("anchors.conf");
    std::fs::write(
        &anchors,
        format!(
            "trust-anchors {{ \"{owner}\" static-ds {tag} {alg} {digest_type} \"{hex}\"; }};\n"
        ),
    )
    .unwrap();
    for (name, expect) in [
        ("www.signed.com", "; fully validated"),
        ("w6.wild.signed.com", "; fully validated"),
        ("nope.signed.com", "; negative response, fully validated"),
    ] {
        let out = tokio::process::Command::new("delv")
            .arg(format!("@{}", ours.ip))
            .args(["-p", &ours.udp.port().to_string(), "-a"])
            .arg(&anchors)
            .args(["+root=signed.com", name, "A"])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains(expect), "delv {name}: {text}");
    }
    ours.stop().await;
}
