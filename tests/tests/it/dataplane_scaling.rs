//! The resolvers scaled 1 → 3 → 1 under load with the lb following the
//! headless Service, as `kubectl scale deployment/resolver` does in the
//! cluster: new pods start, become ready and join the Service's addresses;
//! removed pods get SIGTERM and leave the addresses at once, answering
//! through their lameduck period meanwhile.

use std::time::Duration;

use e2e::dataplane::{report, report_line, Load};

use crate::dataplane_support::cluster;

/// Issue 6, "resolvers scaled 1 to 3 and back with the lb following": the lb
/// adds the new resolvers as the Service name's answer grows and traffic
/// reaches them (the lb's per-backend counters and the resolvers' own); it
/// drops the removed ones as the answer shrinks and they get no more
/// queries; no query is lost or failed on the way up or down.
#[tokio::test]
async fn resolvers_scale_from_one_to_three_and_back_with_the_lb_following() {
    let mut cluster = cluster(1).await;

    // Scale up under load: pods 2 and 3 start, become ready, then join the
    // headless Service's answer.
    let mut up = cluster
        .start_load(&Load::new(1000, 200, "q{i}.up.wild.net").tcp_every(10))
        .unwrap();
    up.started().await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    cluster.start_resolver(2).await.unwrap();
    cluster.start_resolver(3).await.unwrap();
    cluster.publish(&[1, 2, 3]).unwrap();
    cluster.wait_lb_backends(&[1, 2, 3]).await.unwrap();
    let up = up.finish().await.unwrap();
    report("scale-up-1-to-3", &up);
    assert_eq!((up.lost, up.failed), (0, 0), "{up:?}");

    // Traffic reaches the new ones: a burst of concurrent queries spreads
    // over the three (leastOutstanding sends a query to the backend with the
    // fewest in flight, so only a burst that keeps queries in flight spreads;
    // a trickle all goes to the fastest), counted by the lb and by each
    // resolver.
    let lb_before: Vec<f64> = (1..=3).map(|i| cluster.lb_queries_to(i).unwrap()).collect();
    let res_before: Vec<f64> = (1..=3)
        .map(|i| cluster.resolver_queries(i).unwrap())
        .collect();
    let spread = cluster
        .run_load(&Load::new(600, 3000, "q{i}.three.wild.net").concurrency(64))
        .await
        .unwrap();
    assert_eq!((spread.lost, spread.failed), (0, 0), "{spread:?}");
    let mut sent = Vec::new();
    for i in 1..=3 {
        let lb = cluster.lb_queries_to(i).unwrap() - lb_before[i - 1];
        let own = cluster.resolver_queries(i).unwrap() - res_before[i - 1];
        sent.push(lb);
        assert!(own >= lb, "resolver {i} counted {own} of the lb's {lb}");
    }
    report_line(&format!(
        "burst of {} queries over 3 resolvers: the lb sent {sent:?}",
        spread.sent
    ));
    // Evenly spread in practice (about a third each, measured); a twentieth
    // is enough to show each new backend is in the rotation.
    #[allow(clippy::cast_precision_loss)]
    let floor = spread.sent as f64 / 20.0;
    assert!(
        sent.iter().all(|&n| n >= floor),
        "the lb left a resolver (nearly) out: {sent:?}"
    );

    // Scale down under load, as Kubernetes does it: pods 2 and 3 get SIGTERM
    // and leave the headless Service's answer at the same moment; their
    // lameduck (5 s) keeps them answering what the lb still sends until its
    // discovery (every 1 s) drops them.
    let mut down = cluster
        .start_load(&Load::new(1000, 200, "q{i}.down.wild.net").tcp_every(10))
        .unwrap();
    down.started().await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    cluster.terminate_resolver(2).unwrap();
    cluster.terminate_resolver(3).unwrap();
    cluster.publish(&[1]).unwrap();
    cluster.wait_lb_backends(&[1]).await.unwrap();
    // Queries already forwarded complete; then nothing more arrives (not
    // even health checks: the lb forgot them), while they are still up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left: Vec<f64> = (2..=3)
        .map(|i| cluster.resolver_queries(i).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for i in 2..=3 {
        assert_eq!(
            cluster.resolver_queries(i).unwrap(),
            left[i - 2],
            "resolver {i} still got queries after the lb dropped it"
        );
    }
    cluster.wait_resolver_exit(2).await.unwrap();
    cluster.wait_resolver_exit(3).await.unwrap();
    let down = down.finish().await.unwrap();
    report("scale-down-3-to-1", &down);
    assert_eq!((down.lost, down.failed), (0, 0), "{down:?}");
    let lb = cluster.scrape_lb().unwrap();
    let changes = |c: &str| lb.sum("dnsdist_backend_changes", &[("change", c)]);
    assert_eq!((changes("added"), changes("removed")), (3.0, 2.0), "{lb:?}");
}
