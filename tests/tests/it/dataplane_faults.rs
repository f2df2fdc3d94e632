//! Faults under a bounded load through the lb's LoadBalancer address: a
//! resolver pod's process killed with SIGKILL, and Redis killed. Each test
//! prints one `dataplane: fault=… sent=… answered=… failed=… lost=…` line.

use std::time::Duration;

use e2e::dataplane::{report, report_line, Load};

use crate::dataplane_support::cluster;

/// Issue 6, "a resolver killed under load": the busiest of 3 resolvers is killed with
/// SIGKILL while 400 queries/s (every 10th over TCP) go through the lb; the
/// endpoints controller drops it from the headless Service 2 s later (the
/// kubelet sees the container exit); then the container restarts in the same
/// pod and the lb takes it back.
///
/// The bound: dnsdist would lose the UDP queries in flight to the dead
/// resolver (it does not retry; the client's own retry covers them) plus those
/// it sends there until its health check marks it down. Our lb retries a
/// query once on another backend after its 1 s `timeout`, well inside a stub
/// resolver's 3 s here; leastOutstanding stops choosing a backend as soon as
/// its queries pile up; and TCP queries waiting on the lb's pooled connection
/// to the dead resolver fail over when that connection closes. So the window
/// (reported as the lb's retries: 1 or 2 queries in the runs measured) is
/// covered, and no query may go unanswered or fail.
#[tokio::test]
async fn a_resolver_killed_under_load_loses_no_query() {
    let mut cluster = cluster(3).await;
    let load = Load::new(2400, 400, "q{i}.kill.wild.net")
        .tcp_every(10)
        .concurrency(64);
    let mut run = cluster.start_load(&load).unwrap();
    run.started().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start: Vec<f64> = (1..=3).map(|i| cluster.lb_queries_to(i).unwrap()).collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // The victim is the resolver the lb was using most: leastOutstanding
    // favours the fastest, and killing an idle one would prove nothing.
    let busy: Vec<f64> = (1..=3)
        .map(|i| cluster.lb_queries_to(i).unwrap() - start[i - 1])
        .collect();
    let victim = (1..=3)
        .max_by(|&a, &b| busy[a - 1].total_cmp(&busy[b - 1]))
        .unwrap();
    let others: Vec<usize> = (1..=3).filter(|&i| i != victim).collect();
    cluster.kill_resolver(victim).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.publish(&others).unwrap();
    cluster.wait_lb_backends(&others).await.unwrap();
    let result = run.finish().await.unwrap();
    report("resolver-sigkill", &result);
    let lb = cluster.scrape_lb().unwrap();
    report_line(&format!(
        "resolver-sigkill: killed resolver {victim} (the lb's queries per resolver in the second before: {busy:?}); lb retries={} downstream timeouts={} servfails={}",
        lb.sum("dnsdist_retries", &[]),
        lb.sum("dnsdist_downstream_timeouts", &[]),
        lb.sum("dnsdist_servfail_responses", &[]),
    ));
    assert!(result.sent >= 2300, "load too light: {result:?}");
    assert_eq!((result.lost, result.failed), (0, 0), "{result:?}");

    // The container restarts in the same pod; the lb takes it back and
    // sends it traffic again.
    cluster.start_resolver(victim).await.unwrap();
    cluster.publish(&[1, 2, 3]).unwrap();
    cluster.wait_lb_backends(&[1, 2, 3]).await.unwrap();
    let after = cluster.lb_queries_to(victim).unwrap();
    let burst = cluster
        .run_load(&Load::new(300, 3000, "q{i}.back.wild.net").concurrency(64))
        .await
        .unwrap();
    assert_eq!((burst.lost, burst.failed), (0, 0), "{burst:?}");
    assert!(
        cluster.lb_queries_to(victim).unwrap() > after,
        "the restarted resolver gets no traffic"
    );
}

/// Issue 6, "Redis killed": Redis is killed with SIGKILL under load and
/// restarted empty 2 s later. Every Redis operation is bounded by
/// `redis-timeout` (100 ms) and a refused connection fails at once, then the
/// breaker skips Redis, so answers continue from the resolvers' own caches
/// and recursion: nothing may be lost or fail. After the restart the
/// breakers close and new answers are written to Redis again.
#[tokio::test]
async fn redis_killed_under_load_answers_continue() {
    let mut cluster = cluster(2).await;
    let load = Load::new(1250, 250, "q{i}.redis.wild.net").tcp_every(10);
    let mut run = cluster.start_load(&load).unwrap();
    run.started().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.kill_redis().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open: Vec<f64> = (1..=2)
        .map(|i| {
            cluster
                .scrape_resolver(i)
                .unwrap()
                .sum("unbound_cachedb_breaker_open", &[])
        })
        .collect();
    cluster.start_redis().await.unwrap();
    let result = run.finish().await.unwrap();
    report("redis-sigkill", &result);
    report_line(&format!(
        "redis-sigkill: breaker open on the resolvers while Redis was down: {open:?}"
    ));
    assert!(result.sent >= 1200, "load too light: {result:?}");
    assert_eq!((result.lost, result.failed), (0, 0), "{result:?}");
    // Each resolver opens its breaker after three failed operations; one
    // that got (almost) no queries while Redis was down may not have seen
    // three, so only the working one must have.
    assert!(
        open.contains(&1.0),
        "no resolver noticed Redis was gone: {open:?}"
    );

    // Redis is back (empty): the breakers close and new answers land there.
    let mut keys = 0;
    for n in 0..50 {
        let batch = cluster
            .run_load(&Load::new(20, 200, &format!("q{{i}}.again{n}.wild.net")))
            .await
            .unwrap();
        assert_eq!((batch.lost, batch.failed), (0, 0), "{batch:?}");
        keys = cluster.redis_dbsize().unwrap();
        if keys > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(keys > 0, "nothing written to the restarted Redis");
}
