//! DNS-rebinding protection (`private-address`, `private-domain`), issue 15: the
//! resolver binary and Debian's Unbound, given the same lines, strip the same
//! private addresses from upstream answers and keep local data.

use std::time::Duration;

use e2e::daemon::Signal;
use e2e::dig::{Dig, DigResult};
use e2e::fake_dns::Hierarchy;

use crate::fake_dns_selftest::debian_unbound;
use crate::resolver_process::spawn_resolver_on;
use crate::resolver_support::spawn_unbound;

/// The server: lines both resolvers get.
const PRIVATE: &str = "  private-address: 10.0.0.0/8
  private-address: 172.16.0.0/12
  private-address: 192.168.0.0/16
  private-address: 169.254.0.0/16
  private-address: fd00::/8
  private-address: fe80::/10
  private-domain: \"intranet.example.net\"
  local-data: \"printer.lan. A 192.168.1.50\"
";

/// (name, type, (status, answers)) as both resolvers must reply.
type Case = (
    &'static str,
    &'static str,
    (&'static str, &'static [&'static str]),
);

async fn ask(ip: std::net::IpAddr, name: &str, rtype: &str) -> DigResult {
    Dig::new(ip)
        .wait(Duration::from_secs(5))
        .run(name, rtype)
        .await
        .unwrap_or_else(|e| panic!("dig {name} {rtype}: {e:#}"))
}

/// (status, sorted answer rdata of `rtype`): what must match Unbound's reply.
fn outcome(r: &DigResult, rtype: &str) -> (String, Vec<String>) {
    let mut answers: Vec<String> = r.answers_of(rtype).iter().map(|s| s.to_string()).collect();
    answers.sort();
    (r.status.clone(), answers)
}

/// unbound.conf(5) private-address: "Any occurrence of such addresses are
/// removed from DNS answers"; private-domain allows a name and its subdomains
/// to hold them; "by default all the local-data that you configured is allowed
/// to". iter_scrub.c removes an RRset left empty and does not SERVFAIL.
#[tokio::test]
async fn private_addresses_are_stripped_like_unbound() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut ours, dns, _) = spawn_resolver_on(&hierarchy, 1, PRIVATE).await;
    let (mut unbound, unbound_ip) =
        spawn_unbound(debian_unbound(), &hierarchy, 2, "iterator", PRIVATE).await;

    let cases: [Case; 8] = [
        // Every record private: the RRset goes, the answer is NOERROR with no data.
        ("rebind.example.net", "A", ("NOERROR", &[])),
        ("rebind.example.net", "AAAA", ("NOERROR", &[])),
        // Only the private record goes.
        ("mixed.example.net", "A", ("NOERROR", &["192.0.2.14"])),
        // Under private-domain: kept.
        ("intranet.example.net", "A", ("NOERROR", &["192.168.20.1"])),
        (
            "db.intranet.example.net",
            "A",
            ("NOERROR", &["192.168.20.2"]),
        ),
        // Local data: kept.
        ("printer.lan", "A", ("NOERROR", &["192.168.1.50"])),
        // Public data: untouched.
        ("www.example.net", "A", ("NOERROR", &["192.0.2.11"])),
        ("www.example.com", "A", ("NOERROR", &["192.0.2.1"])),
    ];
    for (name, rtype, (status, answers)) in cases {
        let want = (
            status.to_string(),
            answers.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        let theirs = ask(unbound_ip, name, rtype).await;
        assert_eq!(
            outcome(&theirs, rtype),
            want,
            "Unbound, {name} {rtype}: {}\n{}",
            theirs.raw,
            unbound.log()
        );
        let mine = Dig::new(dns.ip())
            .port(dns.port())
            .wait(Duration::from_secs(5))
            .run(name, rtype)
            .await
            .unwrap();
        assert_eq!(
            outcome(&mine, rtype),
            want,
            "ours, {name} {rtype}: {}\n{}",
            mine.raw,
            ours.log()
        );
    }

    ours.signal(Signal::Term).unwrap();
    unbound.signal(Signal::Term).unwrap();
    let _ = ours.wait_exit(Duration::from_secs(10)).await;
    let _ = unbound.wait_exit(Duration::from_secs(10)).await;
}

/// Without private-address the same names resolve to their private addresses:
/// the protection above is the config's doing, not the fixture's.
#[tokio::test]
async fn without_private_address_private_answers_pass() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut ours, dns, _) = spawn_resolver_on(&hierarchy, 1, "").await;
    let r = Dig::new(dns.ip())
        .port(dns.port())
        .run("rebind.example.net", "A")
        .await
        .unwrap();
    assert_eq!(r.answers_of("A"), vec!["10.11.12.13"], "{}", r.raw);
    ours.signal(Signal::Term).unwrap();
    let _ = ours.wait_exit(Duration::from_secs(10)).await;
}
