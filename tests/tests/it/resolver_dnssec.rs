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
