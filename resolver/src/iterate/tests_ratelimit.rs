//! `ratelimit` at the send point, through the mock internet: retries over
//! TCP count to the zone's cap, the client query over it fails with
//! RateLimited (SERVFAIL), and forwarders are exempt (as in Unbound).

use hickory_proto::rr::RecordType;
use metrics::Counter;
use tokio::time::Instant;

use super::Recursor;
use crate::error::ResolveError;
use crate::ratelimit::ZoneLimiter;
use crate::transport::mock::{
    config, example_internet, name, recursor, Behaviour, MockTransport, EXAMPLE_NS1, EXAMPLE_NS2,
    FORWARDER,
};

/// A recursor over `net` with `text` as its server: lines, its zone limit on.
fn limited(net: &MockTransport, text: &str) -> Recursor<MockTransport> {
    let config = config(text);
    recursor(net, &config).with_zone_ratelimit(ZoneLimiter::new(
        &config.server.ratelimit,
        Counter::noop(),
        Instant::now(),
    ))
}

fn example_com_queries(net: &MockTransport) -> usize {
    net.queries_to(EXAMPLE_NS1) + net.queries_to(EXAMPLE_NS2)
}

/// Every query sent counts to the cap, the TCP retry after TC included: with
/// `ratelimit: 4` a zone whose servers truncate gets 4 queries (two
/// resolutions of two each), and the next resolution fails as rate limited.
#[tokio::test(start_paused = true)]
async fn tcp_retries_count_to_the_cap() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::TruncateUdp)
        .behave(EXAMPLE_NS2, Behaviour::TruncateUdp);
    let r = limited(
        &net,
        "  qname-minimisation: no\n  ratelimit: 4\n  ratelimit-factor: 0\n",
    );
    r.resolve(&name("www.example.com."), RecordType::A)
        .await
        .unwrap();
    let _ = r.resolve(&name("n0.example.com."), RecordType::A).await;
    assert_eq!(example_com_queries(&net), 4, "{:?}", net.sent());
    for i in 1..10 {
        let outcome = r
            .resolve(&name(&format!("n{i}.example.com.")), RecordType::A)
            .await;
        assert!(
            matches!(outcome, Err(ResolveError::RateLimited { ref zone }) if zone == "example.com."),
            "{outcome:?}"
        );
    }
    assert_eq!(example_com_queries(&net), 4, "nothing more was sent");
}

/// "Configured forwarders are excluded from ratelimiting" (unbound.conf(5)).
#[tokio::test(start_paused = true)]
async fn forwarders_are_exempt() {
    let net = example_internet();
    let r = limited(
        &net,
        &format!(
            "  qname-minimisation: no\n  ratelimit: 1\n  ratelimit-factor: 0\n\
             forward-zone:\n  name: corp.example.com\n  forward-addr: {FORWARDER}\n"
        ),
    );
    for i in 0..10 {
        let outcome = r
            .resolve(&name(&format!("n{i}.corp.example.com.")), RecordType::A)
            .await;
        assert!(
            !matches!(outcome, Err(ResolveError::RateLimited { .. })),
            "{outcome:?}"
        );
    }
    assert_eq!(net.queries_to(FORWARDER), 10);
}
