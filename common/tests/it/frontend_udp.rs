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

/// Each UDP socket is served by its own thread, and a Pending reply runs on the
/// thread that received its query (no query crosses threads), for every socket.
#[tokio::test]
async fn pending_replies_run_on_the_receiving_udp_thread() {
    let cfg = FrontendConfig {
        udp_sockets_per_addr: NonZeroUsize::new(3).unwrap(),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    // Several client ports, so SO_REUSEPORT spreads them over the sockets.
    for k in 0..12u16 {
        let c = client().await;
        c.send_to(&query(k, "thread.example"), srv.udp[0])
            .await
            .unwrap();
        let r = recv(&c).await;
        assert_eq!(id_of(&r), k);
        assert_eq!(r[3] & 0x0F, 0, "reply future left the receiving UDP thread");
    }
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// The detached path: the handler keeps the responder and answers later from
/// its own task, in any batch size and in the blocking loop; the drain waits
/// for a held query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_reply_goes_out_through_the_responder() {
    for (batch, blocking) in [(1, false), (32, false), (32, true)] {
        let cfg = FrontendConfig {
            udp_batch: batch,
            udp_blocking: blocking,
            ..config()
        };
        let srv = start(cfg, EchoHandler::new(Duration::from_millis(200)));
        let c = client().await;
        c.send_to(&query(7, "detach.example"), srv.udp[0])
            .await
            .unwrap();
        c.send_to(&query(8, "fast.example"), srv.udp[0])
            .await
            .unwrap();
        assert_eq!(id_of(&recv(&c).await), 8, "batch {batch}");
        let r = recv(&c).await;
        assert_eq!(id_of(&r), 7, "batch {batch}");
        assert_eq!(r[2] & 0x80, 0x80);
        // Shutdown while a detached query is held: the drain waits for it.
        c.send_to(&query(9, "detach.example"), srv.udp[0])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        srv.trigger.fire();
        assert_eq!(
            id_of(&recv(&c).await),
            9,
            "batch {batch}: answered during the drain"
        );
        within(srv.task).await.unwrap().unwrap();
    }
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

/// The blocking loop (no event loop on the receiving thread) answers Ready
/// replies inline, runs Pending ones on the runtime that started the front
/// end, and stops within its receive timeout on shutdown after the drain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_loop_serves_and_drains() {
    let cfg = FrontendConfig {
        udp_blocking: true,
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(300)));
    let c = client().await;
    c.send_to(&query(1, "slow.example"), srv.udp[0])
        .await
        .unwrap();
    c.send_to(&query(2, "fast.example"), srv.udp[0])
        .await
        .unwrap();
    assert_eq!(id_of(&recv(&c).await), 2, "Ready first");
    assert_eq!(id_of(&recv(&c).await), 1, "then the Pending one");
    c.send_to(&query(3, "slow.example"), srv.udp[0])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fired = Instant::now();
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
    let took = fired.elapsed();
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(2),
        "drained, then stopped promptly: {took:?}"
    );
    assert_eq!(id_of(&recv(&c).await), 3, "answered during the drain");
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

/// A burst sent without waiting lands several datagrams per receive call (on
/// Linux, recvmmsg); each is answered, dropped or deferred on its own, whatever
/// the batch size (0 and 1 take the one-datagram loop), in the event loop and
/// in the blocking loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_mixed_queries_any_batch_size() {
    for (batch, blocking) in [
        (0usize, false),
        (1, false),
        (3, false),
        (32, false),
        (3, true),
        (32, true),
    ] {
        let cfg = FrontendConfig {
            udp_batch: batch,
            udp_blocking: blocking,
            udp_sockets_per_addr: NonZeroUsize::MIN,
            udp_recv_buffer: Some(1 << 20),
            ..config()
        };
        let handler = EchoHandler::new(Duration::from_millis(50));
        let srv = start(cfg, handler.clone());
        let c = std::sync::Arc::new(client().await);
        let mut expected = std::collections::BTreeSet::new();
        let reader = {
            let c = c.clone();
            tokio::spawn(async move {
                let mut ids = std::collections::BTreeSet::new();
                let mut buf = vec![0u8; 65535];
                while let Ok(Ok((n, _))) =
                    tokio::time::timeout(Duration::from_millis(500), c.recv_from(&mut buf)).await
                {
                    assert!(ids.insert(id_of(&buf[..n])), "one reply per query");
                }
                ids
            })
        };
        let total = 100u16;
        for id in 0..total {
            let name = match id % 10 {
                0 => "drop.example",
                3 => "slow.example",
                _ => "fast.example",
            };
            if id % 10 != 0 {
                expected.insert(id);
            }
            c.send_to(&query(id, name), srv.udp[0]).await.unwrap();
            if id % 50 == 0 {
                c.send_to(&[0xFF; 5], srv.udp[0]).await.unwrap();
            }
        }
        let ids = within(reader).await.unwrap();
        assert_eq!(ids, expected, "batch {batch}, blocking {blocking}");
        assert_eq!(
            handler.seen.load(Ordering::Relaxed),
            usize::from(total) + 2,
            "batch {batch}"
        );
        srv.trigger.fire();
        within(srv.task).await.unwrap().unwrap();
    }
}

/// Within a batch every reply goes to its own sender: many clients with
/// interleaved queries each get exactly their own answers.
#[tokio::test]
async fn batched_replies_reach_their_own_senders() {
    let cfg = FrontendConfig {
        udp_sockets_per_addr: NonZeroUsize::MIN,
        udp_recv_buffer: Some(1 << 20),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let mut clients = Vec::new();
    for _ in 0..32 {
        clients.push(client().await);
    }
    for round in 0..4u16 {
        for (k, c) in clients.iter().enumerate() {
            let id = (k as u16) * 100 + round;
            c.send_to(&query(id, "a.example"), srv.udp[0])
                .await
                .unwrap();
        }
    }
    for (k, c) in clients.iter().enumerate() {
        let mut ids: Vec<u16> = Vec::new();
        for _ in 0..4 {
            ids.push(id_of(&recv(c).await));
        }
        ids.sort_unstable();
        let base = (k as u16) * 100;
        assert_eq!(ids, vec![base, base + 1, base + 2, base + 3]);
    }
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// A datagram near the UDP maximum arrives whole and its reply goes out whole,
/// between small ones in the same burst.
#[tokio::test]
async fn large_datagram_round_trips_in_a_batch() {
    let cfg = FrontendConfig {
        udp_sockets_per_addr: NonZeroUsize::MIN,
        udp_recv_buffer: Some(1 << 20),
        udp_send_buffer: Some(1 << 20),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let c = client().await;
    let mut big = query(2, "big.example");
    big.resize(65_000, 0xAB);
    c.send_to(&query(1, "a.example"), srv.udp[0]).await.unwrap();
    c.send_to(&big, srv.udp[0]).await.unwrap();
    c.send_to(&query(3, "a.example"), srv.udp[0]).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(recv(&c).await);
    }
    got.sort_by_key(|r| id_of(r));
    assert_eq!(id_of(&got[0]), 1);
    assert_eq!(got[1].len(), big.len());
    assert_eq!(&got[1][3..], &big[3..]);
    assert_eq!(id_of(&got[2]), 3);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}
