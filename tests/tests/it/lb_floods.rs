//! Issue 19, resource exhaustion at the lb: its per-backend outstanding table
//! holds its bound under a flood towards a backend that never answers, while
//! a healthy backend keeps answering; the per-client rate limit drops a
//! flooding client while another is served.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use e2e::fake_backend::Mode;
use e2e::metrics::scrape;
use hickory_proto::op::{Message, ResponseCode};
use tokio::net::UdpSocket;

use crate::lb::{servers, start_lb, Net};

/// 127.<net>.3.<k>: a client address of the test's net.
fn client(net: &Net, k: u8) -> IpAddr {
    match net.lb().ip() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            IpAddr::from([o[0], o[1], 3, k])
        }
        other => other,
    }
}

/// Sends `count` queries for unique names from `source` as fast as the
/// socket takes them, without waiting for replies; returns the socket so the
/// caller can count what came back.
async fn blast(lb: SocketAddr, source: IpAddr, tag: &str, count: usize) -> UdpSocket {
    let socket = UdpSocket::bind(SocketAddr::new(source, 0)).await.unwrap();
    for i in 0..count {
        let wire = e2e::dig::a_query_wire(&format!("{tag}{i}.flood.example."), i as u16).unwrap();
        socket.send_to(&wire, lb).await.unwrap();
    }
    socket
}

/// Replies waiting on `socket` (until 500 ms pass without one).
async fn drain(socket: &UdpSocket) -> usize {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf)).await
    {
        n += 1;
    }
    n
}

/// One query from `source`, answered NOERROR within 3 s.
async fn answered(lb: SocketAddr, source: IpAddr, name: &str) -> bool {
    let socket = UdpSocket::bind(SocketAddr::new(source, 0)).await.unwrap();
    socket
        .send_to(&e2e::dig::a_query_wire(name, 4242).unwrap(), lb)
        .await
        .unwrap();
    let mut buf = [0u8; 2048];
    match tokio::time::timeout(Duration::from_secs(3), socket.recv(&mut buf)).await {
        Ok(Ok(n)) => Message::from_vec(&buf[..n])
            .is_ok_and(|m| m.response_code == ResponseCode::NoError && m.metadata.id == 4242),
        _ => false,
    }
}

/// dnsdist's per-backend outstanding table (`max-outstanding`): a flood of
/// unique names with one backend silent fills that backend's table to its
/// bound and no further (dnsdist_server_outstanding), the excess goes to the
/// healthy backend or is counted as overflow, and a legitimate client is
/// answered throughout.
#[tokio::test]
async fn silent_backend_outstanding_table_stays_at_its_bound() {
    let net = Net::new();
    let backends = net.backends(2).await;
    backends[0].set_mode(Mode::Silent);
    let config = format!(
        "policy = \"roundrobin\"\n{}max-outstanding = 50\n[health]\nenabled = false\n",
        servers(&backends, &[])
    );
    // servers() writes timeout = "300ms"; queries to the silent one wait that long.
    let (_lb, metrics) = start_lb(&net, &config).await;
    let flooder = blast(net.lb(), client(&net, 1), "a", 3_000).await;
    let during = scrape(metrics).await.unwrap();
    let mut legit = 0;
    for i in 0..10 {
        if answered(net.lb(), client(&net, 2), &format!("legit{i}.example.")).await {
            legit += 1;
        }
    }
    let _ = drain(&flooder).await;
    let after = scrape(metrics).await.unwrap();
    let silent = [("server", "b1")];
    let peak = during
        .value("dnsdist_server_outstanding", &silent)
        .unwrap()
        .max(after.value("dnsdist_server_outstanding", &silent).unwrap());
    assert!(
        peak <= 50.0,
        "silent backend's table over its bound: {peak}"
    );
    // Measured: the table sat at exactly 50 with thousands of overflows.
    assert!(
        after.sum("dnsdist_outstanding_overflows", &[]) > 0.0,
        "the flood filled the silent backend's table"
    );
    assert_eq!(legit, 10, "legitimate client answered during the flood");
}

/// dnsdist MaxQPSIPRule (`[rate-limit]`): a client flooding 2000 queries
/// gets about its burst answered and the rest dropped (dnsdist_rule_drop),
/// while another client at a normal pace is answered every time.
#[tokio::test]
async fn rate_limit_drops_the_flooder_and_serves_others() {
    let net = Net::new();
    let backends = net.backends(1).await;
    let config = format!(
        "{}[health]\nenabled = false\n[rate-limit]\nqps = 20\nburst = 50\naction = \"drop\"\n",
        servers(&backends, &[])
    );
    let (_lb, metrics) = start_lb(&net, &config).await;
    let flooder = blast(net.lb(), client(&net, 1), "f", 2_000).await;
    let mut legit = 0;
    for i in 0..10 {
        if answered(net.lb(), client(&net, 2), &format!("legit{i}.example.")).await {
            legit += 1;
        }
    }
    let flood_answered = drain(&flooder).await;
    assert_eq!(legit, 10, "the other client is served");
    // Burst 50 at once, then 20 a second over the few seconds the test runs.
    assert!(
        flood_answered < 400,
        "flooder got {flood_answered} of 2000 answered"
    );
    let m = scrape(metrics).await.unwrap();
    assert!(m.sum("dnsdist_rule_drop", &[]) >= 1_000.0);
}
