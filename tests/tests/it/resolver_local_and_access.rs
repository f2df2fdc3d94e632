//! local-zone / local-data (and Unbound's default local zones), access-control,
//! forward-zone and stub-zone, each through real sockets.

use std::time::Duration;

use e2e::dig::Dig;
use e2e::fake_dns::Hierarchy;
use hickory_proto::rr::RecordType;

use crate::resolver_support::TestResolver;

/// Unbound's default zones answer locally: localhost, RFC 1918 reverse (AS112).
#[tokio::test]
async fn default_local_zones_never_leave_the_resolver() {
    let r = TestResolver::start("").await;
    let local = r.q("localhost", "A").await;
    assert_eq!(local.answers_of("A"), vec!["127.0.0.1"], "{}", local.raw);
    let reverse = r.q("1.1.168.192.in-addr.arpa", "PTR").await;
    assert_eq!(reverse.status, "NXDOMAIN", "{}", reverse.raw);
    let test = r.q("anything.test", "A").await;
    assert_eq!(test.status, "NXDOMAIN", "{}", test.raw);
    assert_eq!(
        r.hierarchy.total_queries(),
        0,
        "a default local zone was sent upstream"
    );
    r.stop().await;
}

/// local-zone types static, refuse, redirect, always_nxdomain, transparent; local-data; nodefault.
#[tokio::test]
async fn local_zone_types_behave_like_unbound() {
    let extra = r#"
  local-zone: "corp.example." static
  local-data: "printer.corp.example. 300 IN A 10.1.1.9"
  local-zone: "blocked.example." refuse
  local-zone: "ads.example." redirect
  local-data: "ads.example. 60 IN A 0.0.0.0"
  local-zone: "gone.example.com." always_nxdomain
  local-data: "override.example.com. 60 IN A 10.9.9.9"
  local-zone: "10.in-addr.arpa." nodefault
"#;
    let r = TestResolver::start(extra).await;
    let printer = r.q("printer.corp.example", "A").await;
    assert_eq!(printer.answers_of("A"), vec!["10.1.1.9"], "{}", printer.raw);
    assert_eq!(r.q("other.corp.example", "A").await.status, "NXDOMAIN");
    assert_eq!(r.q("printer.corp.example", "AAAA").await.status, "NOERROR");
    assert_eq!(r.q("x.blocked.example", "A").await.status, "REFUSED");
    let redirected = r.q("deep.tracker.ads.example", "A").await;
    assert_eq!(
        redirected.answers_of("A"),
        vec!["0.0.0.0"],
        "{}",
        redirected.raw
    );
    assert_eq!(r.q("www.gone.example.com", "A").await.status, "NXDOMAIN");
    // Transparent (implicit for bare local-data): the local name is local, the rest resolves.
    assert_eq!(
        r.q("override.example.com", "A").await.answers_of("A"),
        vec!["10.9.9.9"]
    );
    assert_eq!(
        r.q("www.example.com", "A").await.answers_of("A"),
        vec!["192.0.2.1"]
    );
    assert_eq!(
        r.hierarchy
            .server_for_zone("example.com.")
            .queries_for("override.example.com.", RecordType::A),
        0
    );
    r.stop().await;
}

/// access-control: refuse answers REFUSED, deny drops, allow serves; the most
/// specific netblock wins.
#[tokio::test]
async fn access_control_refuse_deny_allow() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let net = hierarchy.net();
    let extra = format!(
        "  access-control: 127.0.0.0/8 refuse\n  access-control: 127.{net}.1.2/32 allow\n  access-control: 127.{net}.1.3/32 deny\n"
    );
    let r = TestResolver::start_with(hierarchy, &extra, "").await;
    let allowed = r
        .dig()
        .arg(&format!("-b127.{net}.1.2"))
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(allowed.status, "NOERROR", "{}", allowed.raw);
    let refused = r
        .dig()
        .arg(&format!("-b127.{net}.1.4"))
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(refused.status, "REFUSED", "{}", refused.raw);
    let denied = r
        .dig()
        .wait(Duration::from_secs(1))
        .arg(&format!("-b127.{net}.1.3"))
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert!(denied.timed_out(), "{}", denied.raw);
    let m = r.scrape().await;
    assert!(m.sum("unbound_unwanted_queries_total", &[]) >= 2.0);
    r.stop().await;
}

/// Unbound's "allow" serves recursion only: RD=0 (cache snooping) is refused.
#[tokio::test]
async fn non_recursive_queries_need_allow_snoop() {
    let r = TestResolver::start("").await;
    let _ = r.q("www.example.com", "A").await;
    let snoop = r.dig().norec().run("www.example.com", "A").await.unwrap();
    assert_eq!(snoop.status, "REFUSED", "{}", snoop.raw);
    r.stop().await;
}

/// forward-zone: queries under the zone go to the forwarder with RD=1, never to the root.
#[tokio::test]
async fn forward_zone_sends_to_the_forwarder() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let forwarder = hierarchy.addr(12);
    let clause = format!("forward-zone:\n  name: \"example.org\"\n  forward-addr: {forwarder}\n");
    let r = TestResolver::start_with(hierarchy, "", &clause).await;
    let a = r.q("c2.example.org", "A").await;
    assert_eq!(a.answers_of("A"), vec!["192.0.2.99"], "{}", a.raw);
    assert_eq!(r.hierarchy.server_for_zone(".").queries(), 0);
    assert_eq!(r.hierarchy.server_for_zone("org.").queries(), 0);
    r.stop().await;
}

/// forward-first: when the forwarders fail, fall back to normal iteration.
#[tokio::test]
async fn forward_first_falls_back_to_iteration() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let dead = format!("127.{}.9.9", hierarchy.net());
    let clause = format!(
        "forward-zone:\n  name: \"example.org\"\n  forward-addr: {dead}\n  forward-first: yes\n"
    );
    let r = TestResolver::start_with(hierarchy, "", &clause).await;
    let a = r
        .dig()
        .wait(Duration::from_secs(4))
        .run("c2.example.org", "A")
        .await
        .unwrap();
    assert_eq!(a.answers_of("A"), vec!["192.0.2.99"], "{}", a.raw);
    r.stop().await;
}

/// stub-zone: the stub's authoritative servers are asked directly (RD=0).
#[tokio::test]
async fn stub_zone_asks_the_stub_servers() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let stub = hierarchy.addr(16);
    let clause = format!("stub-zone:\n  name: \"sub.example.com\"\n  stub-addr: {stub}\n");
    let r = TestResolver::start_with(hierarchy, "", &clause).await;
    let a = r.q("www.sub.example.com", "A").await;
    assert_eq!(a.status, "NOERROR", "{}", a.raw);
    assert!(!a.answers_of("A").is_empty(), "{}", a.raw);
    assert_eq!(r.hierarchy.server_for_zone(".").queries(), 0);
    r.stop().await;
}

/// EDNS: a client with EDNS gets an OPT back; one without gets none (RFC 6891 §7).
#[tokio::test]
async fn edns_is_echoed_only_to_edns_clients() {
    let r = TestResolver::start("").await;
    let with = r.q("www.example.com", "A").await;
    assert!(with.edns, "{}", with.raw);
    let without = r
        .dig()
        .edns(false)
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert!(!without.edns, "{}", without.raw);
    assert_eq!(without.answers_of("A"), vec!["192.0.2.1"]);
    let kdig = Dig::kdig(r.ip)
        .port(r.udp.port())
        .tcp()
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert_eq!(kdig.answers_of("A"), vec!["192.0.2.1"], "{}", kdig.raw);
    r.stop().await;
}
