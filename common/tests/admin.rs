//! The admin HTTP server through a real socket on 127.0.0.1: routes, readiness,
//! keep-alive, malformed input, limits and shutdown.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::admin::{self, AdminState, METRICS_CONTENT_TYPE};
use common::metrics::Registry;
use common::readiness::Readiness;
use common::shutdown::{Shutdown, ShutdownTrigger};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

struct Server {
    addr: SocketAddr,
    readiness: Readiness,
    scrapes: Arc<AtomicUsize>,
    trigger: ShutdownTrigger,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start() -> Server {
    let listener = admin::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let registry = Registry::new(&[]);
    let gauge = registry.gauge("test_scrapes", "Scrapes seen by the hook.", &[]);
    registry
        .counter(
            "test_requests_total",
            "Requests.",
            &[("proto", "udp".into())],
        )
        .increment(7);
    let scrapes = Arc::new(AtomicUsize::new(0));
    let seen = scrapes.clone();
    let readiness = Readiness::new();
    let state = AdminState {
        registry,
        readiness: readiness.clone(),
        before_scrape: Some(Arc::new(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.set(n as f64);
        })),
        probes: Vec::new(),
    };
    let (trigger, shutdown) = Shutdown::new();
    let task = tokio::spawn(admin::serve(listener, state, shutdown));
    Server {
        addr,
        readiness,
        scrapes,
        trigger,
        task,
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response; `head` means the request was HEAD (no body follows).
async fn read_reply(reader: &mut BufReader<TcpStream>, head: bool) -> Reply {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status: u16 = line
        .split(' ')
        .nth(1)
        .unwrap_or_else(|| panic!("status line {line:?}"))
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut reply = Reply {
        status,
        headers,
        body: String::new(),
    };
    let length: usize = reply.header("content-length").unwrap().parse().unwrap();
    if !head {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.unwrap();
        reply.body = String::from_utf8(body).unwrap();
    }
    reply
}

async fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(addr).await.unwrap())
}

async fn request(addr: SocketAddr, raw: &str) -> Reply {
    let mut conn = connect(addr).await;
    conn.get_mut().write_all(raw.as_bytes()).await.unwrap();
    read_reply(&mut conn, raw.starts_with("HEAD")).await
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// True once the server has closed the connection (EOF, or a reset).
async fn closed(conn: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    match tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await {
        Ok(Ok(_)) => rest.is_empty(),
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

#[tokio::test]
async fn metrics_renders_registry_after_hook() {
    let server = start().await;
    let reply = get(server.addr, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(METRICS_CONTENT_TYPE));
    assert!(
        reply.body.contains("# TYPE test_requests_total counter\n"),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("test_requests_total{proto=\"udp\"} 7\n"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("test_scrapes 1\n"),
        "hook runs before render: {}",
        reply.body
    );
    let reply = get(server.addr, "/metrics?x=1").await;
    assert!(reply.body.contains("test_scrapes 2\n"), "{}", reply.body);
    assert_eq!(server.scrapes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn healthz_and_readyz_follow_readiness() {
    let server = start().await;
    let health = get(server.addr, "/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let ready = get(server.addr, "/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));

    let latch = server.readiness.latch("test");
    let ready = get(server.addr, "/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (503, "not ready"));
    latch.release();
    assert_eq!(get(server.addr, "/readyz").await.status, 200);

    server.readiness.begin_shutdown();
    assert_eq!(get(server.addr, "/readyz").await.status, 503);
    assert_eq!(
        get(server.addr, "/healthz").await.status,
        200,
        "liveness stays up during lameduck"
    );
}

#[tokio::test]
async fn unknown_path_and_method() {
    let server = start().await;
    assert_eq!(get(server.addr, "/").await.status, 404);
    assert_eq!(get(server.addr, "/metricsx").await.status, 404);
    let reply = request(
        server.addr,
        "DELETE /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn head_has_headers_but_no_body() {
    let server = start().await;
    let mut conn = connect(server.addr).await;
    conn.get_mut()
        .write_all(b"HEAD /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let head = read_reply(&mut conn, true).await;
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("2"))
    );
    // The next bytes on the wire are the second response, not a body.
    let next = read_reply(&mut conn, false).await;
    assert_eq!((next.status, next.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn keep_alive_serves_two_requests_on_one_connection() {
    let server = start().await;
    let mut conn = connect(server.addr).await;
    conn.get_mut()
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let first = read_reply(&mut conn, false).await;
    assert_eq!(
        (first.status, first.header("connection")),
        (200, Some("keep-alive"))
    );
    conn.get_mut()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let second = read_reply(&mut conn, false).await;
    assert_eq!(second.status, 200);
    assert!(second.body.contains("test_requests_total"));

    // Pipelined: both requests in one write, answered in order; the last asks to close.
    conn.get_mut()
        .write_all(b"GET /readyz HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut conn, false).await.status, 200);
    let last = read_reply(&mut conn, false).await;
    assert_eq!(
        (last.status, last.header("connection")),
        (404, Some("close"))
    );
    assert!(closed(&mut conn).await);
}

#[tokio::test]
async fn http10_closes_unless_asked_to_keep_alive() {
    let server = start().await;
    let mut conn = connect(server.addr).await;
    conn.get_mut()
        .write_all(b"GET /healthz HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut conn, false).await.status, 200);
    assert!(closed(&mut conn).await);

    let mut conn = connect(server.addr).await;
    conn.get_mut()
        .write_all(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut conn, false).await.status, 200);
    conn.get_mut()
        .write_all(b"GET /healthz HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut conn, false).await.status, 200);
}

#[tokio::test]
async fn malformed_request_gets_400_and_close() {
    let server = start().await;
    for garbage in [
        "hello there\r\n\r\n",
        "GET /metrics HTTP/9.9\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
    ] {
        let mut conn = connect(server.addr).await;
        conn.get_mut().write_all(garbage.as_bytes()).await.unwrap();
        let reply = read_reply(&mut conn, false).await;
        assert_eq!(reply.status, 400, "{garbage:?}");
        assert_eq!(reply.header("connection"), Some("close"));
        assert!(closed(&mut conn).await, "{garbage:?}");
    }
    // The server is still fine afterwards.
    assert_eq!(get(server.addr, "/healthz").await.status, 200);
}

#[tokio::test]
async fn oversized_head_is_rejected() {
    let server = start().await;
    let mut conn = connect(server.addr).await;
    let big = format!(
        "GET /metrics HTTP/1.1\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(admin::MAX_HEAD)
    );
    // The server may close before reading everything; ignore write errors.
    let _ = conn.get_mut().write_all(big.as_bytes()).await;
    assert_eq!(read_reply(&mut conn, false).await.status, 431);
}

#[tokio::test]
async fn request_with_body_is_answered_then_closed() {
    let server = start().await;
    let mut conn = connect(server.addr).await;
    conn.get_mut()
        .write_all(b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut conn, false).await.status, 405);
    assert!(closed(&mut conn).await);
}

#[tokio::test(start_paused = true)]
async fn slow_request_times_out_with_408() {
    let server = start().await;
    let mut conn = connect(server.addr).await;
    conn.get_mut()
        .write_all(b"GET /metrics HTTP/1.1\r\n")
        .await
        .unwrap();
    // Paused time auto-advances past the read timeout while the server waits.
    let reply = read_reply(&mut conn, false).await;
    assert_eq!(reply.status, 408);
    assert!(closed(&mut conn).await);
}

#[tokio::test]
async fn shutdown_stops_server_and_closes_idle_connections() {
    let server = start().await;
    let mut idle = connect(server.addr).await;
    idle.get_mut()
        .write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut idle, false).await.status, 200);

    server.trigger.fire();
    let result = tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok());
    assert!(
        closed(&mut idle).await,
        "keep-alive connection closed at shutdown"
    );
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "listener closed"
    );
}

#[test]
fn bind_works_outside_a_runtime_and_reuses_the_address() {
    let listener = admin::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    // SO_REUSEADDR: the same port can be bound again at once.
    let again = admin::bind(addr).unwrap();
    assert_eq!(again.local_addr().unwrap(), addr);
    // A port in use by a listening socket is still an error.
    assert!(admin::bind(addr).is_err());
}
