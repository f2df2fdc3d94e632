//! Plain DNS (UDP and TCP) and DoT through the lb's LoadBalancer address, in
//! the namespaces of `e2e::dataplane` wired as `k8s/base` wires the pods:
//! client → MetalLB address (DNAT on the node) → lb pod → resolver pods
//! found through the headless Service → the fake hierarchy, with every
//! replica sharing answers through Redis.

use std::time::Duration;

use e2e::dataplane::{report, Load};

use crate::dataplane_support::{cluster, DOT_NAME};

/// Issue 6, "plain and DoT queries through the lb": dig over UDP and TCP and
/// kdig over DoT (certificate checked) get the fixture's answers through the
/// LoadBalancer address; the lb saw the client's own address (no SNAT,
/// `externalTrafficPolicy: Local`); answers reach Redis and the other
/// replicas answer them from there; a no-fault load loses nothing.
#[tokio::test]
async fn plain_and_dot_queries_through_the_loadbalancer_address() {
    let mut cluster = cluster(3).await;

    let udp = cluster.dig().run("www.example.com", "A").await.unwrap();
    assert_eq!(udp.status, "NOERROR", "{}", udp.raw);
    assert_eq!(udp.answers_of("A"), ["192.0.2.1"], "{}", udp.raw);
    assert!(udp.has_flag("ra"), "{}", udp.raw);
    let tcp = cluster
        .dig()
        .tcp()
        .run("alias.example.com", "A")
        .await
        .unwrap();
    assert_eq!(tcp.status, "NOERROR", "{}", tcp.raw);
    assert_eq!(tcp.answers_of("CNAME"), ["www.example.com."], "{}", tcp.raw);
    assert_eq!(tcp.answers_of("A"), ["192.0.2.1"], "{}", tcp.raw);
    let ca = cluster.tls_cert().unwrap().to_path_buf();
    let dot = cluster
        .kdig_dot(&ca, DOT_NAME)
        .run("chain.example.com", "A")
        .await
        .unwrap();
    assert_eq!(dot.status, "NOERROR", "{}", dot.raw);
    assert_eq!(dot.answers_of("A"), ["192.0.2.99"], "{}", dot.raw);
    let nx = cluster.dig().run("nope.example.com", "A").await.unwrap();
    assert_eq!(nx.status, "NXDOMAIN", "{}", nx.raw);
    // A certificate for another name is refused: the DoT port really is TLS.
    let wrong = cluster
        .kdig_dot(&ca, "other.example")
        .run("www.example.com", "A")
        .await;
    assert!(
        wrong.as_ref().map_or(true, |r| r.status != "NOERROR"),
        "{wrong:?}"
    );

    let lb = cluster.scrape_lb().unwrap();
    assert!(lb.sum("dnsdist_queries", &[]) >= 4.0, "{lb:?}");
    // Redis got the answers (through the Service name and its ClusterIP).
    let mut keys = 0;
    for _ in 0..50 {
        keys = cluster.redis_dbsize().unwrap();
        if keys >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(keys >= 3, "{keys} keys in Redis");

    // Every replica answers www.example.com from Redis or its own cache, none
    // from recursion it has not done: asked directly (pod IPs are routed
    // from the LAN, as the cluster network is from the nodes).
    for i in 1..=3 {
        let ip = cluster.resolver_ip(i).unwrap();
        let r = e2e::dig::Dig::new(ip.into())
            .netns(cluster.client.name())
            .run("www.example.com", "A")
            .await
            .unwrap();
        assert_eq!(r.answers_of("A"), ["192.0.2.1"], "resolver {i}: {}", r.raw);
    }
    let shared: f64 = (1..=3)
        .map(|i| {
            cluster
                .scrape_resolver(i)
                .unwrap()
                .sum("unbound_cachedb_hits_total", &[])
        })
        .sum();
    assert!(shared >= 1.0, "no replica answered from Redis");

    // No fault: nothing lost (UDP with every 10th query over TCP).
    let load = Load::new(600, 200, "q{i}.none.wild.net").tcp_every(10);
    let result = cluster.run_load(&load).await.unwrap();
    report("none", &result);
    assert_eq!(result.sent, 600, "{result:?}");
    assert_eq!((result.lost, result.failed), (0, 0), "{result:?}");
}
