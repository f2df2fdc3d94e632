//! Servers that cannot be reached, through sockets: a child zone whose own NS
//! set points at a dead server (the parent's NS and glue still lead to an
//! answer), dead servers answered SERVFAIL before a stub
//! resolver gives up, and SIGTERM with queries still waiting on dead servers.

use std::time::Duration;

use e2e::daemon::Signal;
use e2e::dig::Dig;
use e2e::fake_dns::Hierarchy;

use crate::resolver_process::spawn_resolver;
use crate::resolver_support::TestResolver;

/// moved.com.'s own NS set (learned from the answer to `moved.com. NS`, with
/// ns-new's address in the additional section) names ns-new, where nothing
/// listens; com.'s referral names ns1. Ours goes back to the parent's NS and
/// glue and answers. (Unbound 1.17 learns the same NS set and then does not
/// answer www.moved.com. within 30 s: it keeps retrying ns-new.)
#[tokio::test]
async fn dead_child_ns_set_falls_back_to_the_parent_side() {
    let ours = TestResolver::start("").await;
    let dig = ours.dig().wait(Duration::from_secs(8));
    let ns = dig.clone().run("moved.com", "NS").await.unwrap();
    assert_eq!(ns.answers_of("NS"), ["ns-new.moved.com."], "{}", ns.raw);
    let www = dig.run("www.moved.com", "A").await.unwrap();
    assert_eq!(www.status, "NOERROR", "{}", www.raw);
    assert_eq!(www.answers_of("A"), ["192.0.2.60"], "{}", www.raw);
    ours.stop().await;
}

/// Every server of example.com. drops what it gets: the client hears SERVFAIL
/// within its first 5 s attempt (dig +time=5 +tries=1), not silence.
#[tokio::test]
async fn dead_servers_answer_servfail_before_a_stub_gives_up() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    hierarchy
        .server_for_zone("example.com.")
        .set_drop_percent(100);
    let ours = TestResolver::start_with(hierarchy, "", "").await;
    let reply = ours
        .dig()
        .wait(Duration::from_secs(5))
        .run("www.example.com", "A")
        .await
        .unwrap();
    assert!(!reply.timed_out(), "{}", reply.raw);
    assert_eq!(reply.status, "SERVFAIL", "{}", reply.raw);
    ours.stop().await;
}

/// SIGTERM while a query waits on a dead server: the pending client is
/// answered SERVFAIL and the process exits after the lameduck period (0.5 s
/// here) and a short drain, without waiting out the upstream timeouts (which
/// run to 4.5 s).
#[tokio::test]
async fn sigterm_does_not_wait_out_dead_servers() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    hierarchy
        .server_for_zone("example.com.")
        .set_drop_percent(100);
    let (mut daemon, dns, _metrics) = spawn_resolver(&hierarchy, "").await;
    let dig = Dig::new(dns.ip())
        .port(dns.port())
        .wait(Duration::from_secs(8));
    let pending = tokio::spawn(async move { dig.run("www.example.com", "A").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    daemon.signal(Signal::Term).unwrap();
    let status = daemon.wait_exit(Duration::from_secs(3)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        daemon.log()
    );
    let reply = pending.await.unwrap().unwrap();
    assert_eq!(reply.status, "SERVFAIL", "{}", reply.raw);
}
