//! TCP front end (RFC 7766): pipelining with out-of-order replies, the in-flight
//! bound, idle timeout, connection limit and the shutdown drain.

use std::time::Duration;

use common::dns::tcp::{append_frame, read_frame, write_frame};
use common::frontend::FrontendConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::{config, id_of, query, start, within, EchoHandler};

async fn read_reply(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    assert!(
        within(read_frame(s, &mut buf)).await.unwrap(),
        "connection closed"
    );
    buf
}

/// Reads until the server closes; true if it closed (EOF or reset) in time.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(limit, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// A connection to `server` from the loopback address `ip`: another client.
async fn connect_from(ip: &str, server: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::new(ip.parse().unwrap(), 0))
        .unwrap();
    socket.connect(server).await.unwrap()
}

/// RFC 7766 §6.2.1.1: queries pipelined in one segment are processed
/// concurrently and answered as they are ready, so the fast reply overtakes the slow.
#[tokio::test]
async fn pipelined_fast_reply_overtakes_slow() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(300)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    let mut burst = Vec::new();
    append_frame(&mut burst, &query(1, "slow.example")).unwrap();
    append_frame(&mut burst, &query(2, "fast.example")).unwrap();
    s.write_all(&burst).await.unwrap();
    assert_eq!(id_of(&read_reply(&mut s).await), 2);
    assert_eq!(id_of(&read_reply(&mut s).await), 1);
    // The connection stays usable.
    write_frame(&mut s, &query(3, "again.example"))
        .await
        .unwrap();
    assert_eq!(id_of(&read_reply(&mut s).await), 3);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Many queries in one write get every reply, in order for Ready ones.
#[tokio::test]
async fn burst_of_ready_queries() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(10)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    let mut burst = Vec::new();
    for id in 0..500u16 {
        append_frame(&mut burst, &query(id, "www.example.com")).unwrap();
    }
    s.write_all(&burst).await.unwrap();
    for id in 0..500u16 {
        let r = read_reply(&mut s).await;
        assert_eq!(id_of(&r), id);
        assert_eq!(r[2] & 0x80, 0x80);
    }
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// A query trickling in one byte at a time is reassembled.
#[tokio::test]
async fn frame_split_across_segments() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(10)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut frame = Vec::new();
    append_frame(&mut frame, &query(77, "bytewise.example")).unwrap();
    for b in frame {
        s.write_all(&[b]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(id_of(&read_reply(&mut s).await), 77);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// With at most one query in flight, the connection stops reading until the slow
/// reply is out, so the fast one cannot overtake it.
#[tokio::test]
async fn in_flight_bound_applies_backpressure() {
    let cfg = FrontendConfig {
        tcp_max_in_flight_per_conn: 1,
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(200)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    let mut burst = Vec::new();
    append_frame(&mut burst, &query(1, "slow.example")).unwrap();
    append_frame(&mut burst, &query(2, "fast.example")).unwrap();
    s.write_all(&burst).await.unwrap();
    assert_eq!(id_of(&read_reply(&mut s).await), 1);
    assert_eq!(id_of(&read_reply(&mut s).await), 2);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Unbound's tcp-idle-timeout: a connection with no query for that long is closed;
/// each query resets the clock.
#[tokio::test]
async fn idle_connection_is_closed() {
    let cfg = FrontendConfig {
        tcp_idle_timeout: Duration::from_millis(500),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    for id in 0..4u16 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        write_frame(&mut s, &query(id, "keepalive.example"))
            .await
            .unwrap();
        assert_eq!(id_of(&read_reply(&mut s).await), id);
    }
    let quiet = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(3)).await);
    let took = quiet.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "closed too early: {took:?}"
    );
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// A slow Pending reply does not count as idle time.
#[tokio::test]
async fn pending_query_is_not_idle() {
    let cfg = FrontendConfig {
        tcp_idle_timeout: Duration::from_millis(200),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(500)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    write_frame(&mut s, &query(5, "slow.example"))
        .await
        .unwrap();
    assert_eq!(id_of(&read_reply(&mut s).await), 5);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Over `tcp_max_connections`, a new connection waits in the backlog (as
/// Unbound stops listening) and is served once a slot frees; the connection
/// that filled the last slot got the load-shortened idle timeout (200 ms), so
/// it is the one that frees it while the first keeps its full timeout.
#[tokio::test]
async fn connection_limit() {
    let cfg = FrontendConfig {
        tcp_max_connections: 2,
        tcp_max_connections_per_client: Some(2),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let mut a = TcpStream::connect(srv.tcp[0]).await.unwrap();
    let mut b = TcpStream::connect(srv.tcp[0]).await.unwrap();
    for (s, id) in [(&mut a, 1u16), (&mut b, 2)] {
        write_frame(s, &query(id, "x.example")).await.unwrap();
        assert_eq!(id_of(&read_reply(s).await), id);
    }
    let mut c = TcpStream::connect(srv.tcp[0]).await.unwrap();
    write_frame(&mut c, &query(3, "x.example")).await.unwrap();
    assert_eq!(
        id_of(&read_reply(&mut c).await),
        3,
        "served once b timed out"
    );
    assert!(
        closed_within(&mut b, Duration::from_secs(2)).await,
        "b (200 ms) closed"
    );
    // a (admitted at 50 %) keeps the configured 5 s timeout.
    write_frame(&mut a, &query(4, "x.example")).await.unwrap();
    assert_eq!(id_of(&read_reply(&mut a).await), 4);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Slow loris: a client that trickles one byte of a frame at a time is still
/// idle (only a complete query resets the timer), so it is closed after
/// tcp-idle-timeout however often it sends a byte.
#[tokio::test]
async fn trickling_client_is_closed_at_the_idle_timeout() {
    let cfg = FrontendConfig {
        tcp_idle_timeout: Duration::from_millis(500),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    let mut frame = Vec::new();
    append_frame(&mut frame, &query(9, "trickle.example")).unwrap();
    let started = Instant::now();
    let mut closed = false;
    // 100 ms a byte: the whole frame would need over 3 s, six idle timeouts.
    for byte in &frame {
        if s.write_all(std::slice::from_ref(byte)).await.is_err() {
            closed = true;
            break;
        }
        if closed_within(&mut s, Duration::from_millis(100)).await {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "trickling client kept its connection for {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// One client address holds at most its share of the slots (default half), so
/// another client still gets a connection while the first holds its maximum;
/// the first's connection over its share is parked (held unread), then closed.
#[tokio::test]
async fn one_client_cannot_take_every_slot() {
    let cfg = FrontendConfig {
        tcp_max_connections: 4,
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(srv.tcp[0]).await.unwrap());
    }
    // Over its share the third is parked: never read, closed after 3 s.
    let mut third = TcpStream::connect(srv.tcp[0]).await.unwrap();
    write_frame(&mut third, &query(5, "third.example"))
        .await
        .unwrap();
    let parked_at = tokio::time::Instant::now();
    assert!(
        closed_within(&mut third, Duration::from_secs(6)).await,
        "third connection from one address answered or kept"
    );
    assert!(
        parked_at.elapsed() >= Duration::from_secs(2),
        "parked, not closed at once"
    );
    // Another loopback address is another client.
    let other = tokio::net::TcpSocket::new_v4().unwrap();
    other.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut s = other.connect(srv.tcp[0]).await.unwrap();
    write_frame(&mut s, &query(7, "other.example"))
        .await
        .unwrap();
    assert_eq!(id_of(&read_reply(&mut s).await), 7);
    drop(held);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Slow loris against a full table: with every slot taken, a new client
/// evicts the oldest connection that holds only part of a frame (admitted at
/// low load, so its own idle timeout is the full 30 s: only eviction closes
/// it), and is answered; connections with a query in flight are never
/// evicted, and the next newcomer evicts the other partial connection.
#[tokio::test]
async fn newcomer_evicts_the_oldest_partial_connection() {
    let cfg = FrontendConfig {
        tcp_max_connections: 4,
        tcp_max_connections_per_client: Some(4),
        tcp_idle_timeout: Duration::from_secs(30),
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_secs(3)));
    let mut partial = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
        s.write_all(&[0, 40, 0xab]).await.unwrap();
        partial.push(s);
    }
    let mut busy = Vec::new();
    for id in [1u16, 2] {
        let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
        write_frame(&mut s, &query(id, "slow.example"))
            .await
            .unwrap();
        busy.push((s, id));
    }
    // Let the server read the slow queries before the newcomer arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut newcomer = connect_from("127.0.0.2", srv.tcp[0]).await;
    write_frame(&mut newcomer, &query(3, "new.example"))
        .await
        .unwrap();
    assert_eq!(id_of(&read_reply(&mut newcomer).await), 3);
    assert!(
        closed_within(&mut partial[0], Duration::from_secs(2)).await,
        "oldest partial connection evicted"
    );
    assert!(
        !closed_within(&mut partial[1], Duration::from_millis(300)).await,
        "younger partial connection kept"
    );
    // The newcomer, admitted at full load, closes after 200 ms idle; another
    // busy connection takes its slot.
    assert!(closed_within(&mut newcomer, Duration::from_secs(2)).await);
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    write_frame(&mut s, &query(5, "slow.example"))
        .await
        .unwrap();
    busy.push((s, 5));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = connect_from("127.0.0.3", srv.tcp[0]).await;
    write_frame(&mut second, &query(4, "new.example"))
        .await
        .unwrap();
    assert_eq!(id_of(&read_reply(&mut second).await), 4);
    assert!(
        closed_within(&mut partial[1], Duration::from_secs(2)).await,
        "the next newcomer evicts the partial connection left"
    );
    for (s, id) in &mut busy {
        assert_eq!(id_of(&read_reply(s).await), *id, "busy connection kept");
    }
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Shutdown: the connection stops taking queries but its Pending reply is written
/// before the connection closes and `serve` returns; idle connections close at once.
#[tokio::test]
async fn shutdown_drains_open_exchange() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(400)));
    let mut idle = TcpStream::connect(srv.tcp[0]).await.unwrap();
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    write_frame(&mut s, &query(8, "slow.example"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    srv.trigger.fire();
    assert!(
        closed_within(&mut idle, Duration::from_millis(300)).await,
        "idle connection closed at once"
    );
    assert_eq!(id_of(&read_reply(&mut s).await), 8);
    assert!(closed_within(&mut s, Duration::from_secs(2)).await);
    within(srv.task).await.unwrap().unwrap();
    assert!(
        TcpStream::connect(srv.tcp[0]).await.is_err(),
        "listener closed"
    );
}

/// The client half-closes after its query: the reply still comes back.
#[tokio::test]
async fn half_close_still_gets_reply() {
    let srv = start(config(), EchoHandler::new(Duration::from_millis(100)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    write_frame(&mut s, &query(11, "slow.example"))
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    assert_eq!(id_of(&read_reply(&mut s).await), 11);
    assert!(closed_within(&mut s, Duration::from_secs(2)).await);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Queries still buffered behind the in-flight bound when the client half-closes
/// are answered too.
#[tokio::test]
async fn half_close_with_queries_behind_the_bound() {
    let cfg = FrontendConfig {
        tcp_max_in_flight_per_conn: 1,
        ..config()
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(100)));
    let mut s = TcpStream::connect(srv.tcp[0]).await.unwrap();
    let mut burst = Vec::new();
    for id in 1..=3u16 {
        append_frame(&mut burst, &query(id, "slow.example")).unwrap();
    }
    s.write_all(&burst).await.unwrap();
    s.shutdown().await.unwrap();
    for id in 1..=3u16 {
        assert_eq!(id_of(&read_reply(&mut s).await), id);
    }
    assert!(closed_within(&mut s, Duration::from_secs(2)).await);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}
