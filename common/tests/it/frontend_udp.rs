//! UDP front end: Ready and Pending replies, drops, malformed input, SO_REUSEPORT
//! sockets sharing a port, and the shutdown drain.

use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::frontend::{BoundFrontend, FrontendConfig};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::support::{config, id_of, localhost, query, start, within, EchoHandler};

async fn client() -> UdpSocket {
    UdpSocket::bind(localhost()).await.unwrap()
}

async fn recv(sock: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 65535];
    let (n, _) = within(sock.recv_from(&mut buf)).await.unwrap();
    buf.truncate(n);
    buf
}

/// The synchronous path: the reply is written from the handler's `out` buffer.
#[tokio::test]
async fn ready_reply_is_sent_back() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(10)));
    let c = client().await;
    for id in 0..50u16 {
        let q = query(id, "www.example.com");
        c.send_to(&q, srv.udp[0]).await.unwrap();
        let r = recv(&c).await;
        assert_eq!(id_of(&r), id);
        assert_eq!(r[2] & 0x80, 0x80, "QR set");
        assert_eq!(&r[3..], &q[3..]);
    }
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// The deferred path: a Pending reply is sent when its future completes, and a
/// fast query sent after a slow one is answered first.
#[tokio::test]
async fn pending_reply_is_sent_when_ready() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(300)));
    let c = client().await;
    c.send_to(&query(1, "slow.example"), srv.udp[0])
        .await
        .unwrap();
    c.send_to(&query(2, "fast.example"), srv.udp[0])
        .await
        .unwrap();
    assert_eq!(id_of(&recv(&c).await), 2);
    assert_eq!(id_of(&recv(&c).await), 1);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Drop sends nothing; garbage is handed to the handler and does not stop the loop.
#[tokio::test]
async fn drops_and_garbage_get_no_reply() {
    let handler = EchoHandler::new(Duration::from_millis(10));
    let srv = start(config(), handler.clone());
    let c = client().await;
    c.send_to(&query(1, "drop.example"), srv.udp[0])
        .await
        .unwrap();
    c.send_to(&[0xFF; 3], srv.udp[0]).await.unwrap();
    c.send_to(&[], srv.udp[0]).await.unwrap();
    c.send_to(&query(2, "ok.example"), srv.udp[0])
        .await
        .unwrap();
    assert_eq!(
        id_of(&recv(&c).await),
        2,
        "only the valid query is answered"
    );
    assert_eq!(handler.seen.load(Ordering::Relaxed), 4);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Several SO_REUSEPORT sockets on port 0 share the port the first one picked,
/// and every one of them answers.
#[tokio::test]
async fn reuseport_sockets_share_one_port() {
    let cfg = FrontendConfig {
        udp_sockets_per_addr: NonZeroUsize::new(4).unwrap(),
        reuseport: true,
        udp_recv_buffer: Some(1 << 20),
        udp_send_buffer: Some(1 << 20),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    assert_eq!(srv.udp.len(), 1);
    assert_ne!(srv.udp[0].port(), 0);
    // Many client ports so the kernel's hash spreads them over the sockets.
    for id in 0..64u16 {
        let c = client().await;
        c.send_to(&query(id, "a.example"), srv.udp[0])
            .await
            .unwrap();
        assert_eq!(id_of(&recv(&c).await), id);
    }
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Without SO_REUSEPORT, the receive tasks share one socket.
#[tokio::test]
async fn shared_socket_without_reuseport() {
    let cfg = FrontendConfig {
        udp_sockets_per_addr: NonZeroUsize::new(3).unwrap(),
        reuseport: false,
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let c = client().await;
    for id in 0..20u16 {
        c.send_to(&query(id, "a.example"), srv.udp[0])
            .await
            .unwrap();
        assert_eq!(id_of(&recv(&c).await), id);
    }
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// A bind conflict surfaces from `bind`, naming the address.
#[tokio::test]
async fn bind_conflict_is_an_error() {
    let taken = std::net::UdpSocket::bind(localhost()).unwrap();
    let addr = taken.local_addr().unwrap();
    let cfg = FrontendConfig {
        udp: vec![addr],
        tcp: vec![],
        reuseport: false,
        ..FrontendConfig::default()
    };
    let err = BoundFrontend::bind(cfg).unwrap_err().to_string();
    assert!(err.contains(&addr.to_string()), "{err}");
}

/// IPv6 sockets bind with IPV6_V6ONLY (skipped where the host has no IPv6 loopback).
#[tokio::test]
async fn ipv6_loopback() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        return;
    }
    let cfg = FrontendConfig {
        udp: vec!["[::1]:0".parse().unwrap()],
        tcp: vec![],
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let c = UdpSocket::bind("[::1]:0").await.unwrap();
    c.send_to(&query(6, "v6.example"), srv.udp[0])
        .await
        .unwrap();
    assert_eq!(id_of(&recv(&c).await), 6);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Shutdown stops receiving but drains a Pending reply before `serve` returns.
#[tokio::test]
async fn shutdown_drains_pending_reply() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(400)));
    let c = client().await;
    c.send_to(&query(9, "slow.example"), srv.udp[0])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fired = Instant::now();
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
    let took = fired.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "serve returned before the drain: {took:?}"
    );
    // The reply was sent before serve returned.
    let mut buf = [0u8; 512];
    let (n, _) = c.try_recv_from(&mut buf).expect("reply already delivered");
    assert_eq!(id_of(&buf[..n]), 9);
    // Nothing listens any more.
    c.send_to(&query(10, "fast.example"), srv.udp[0])
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), c.recv_from(&mut buf))
            .await
            .is_err()
    );
}

/// A Pending reply that outlives `drain_timeout` is abandoned.
#[tokio::test]
async fn drain_timeout_abandons_pending_reply() {
    let cfg = FrontendConfig {
        drain_timeout: Duration::from_millis(200),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_secs(30)));
    let c = client().await;
    c.send_to(&query(9, "slow.example"), srv.udp[0])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fired = Instant::now();
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
    let took = fired.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(3),
        "{took:?}"
    );
}
