//! The small HTTP/1.1 server on the metrics port: `/metrics`, `/healthz`, `/readyz`
//! (resolver :9167, lb :8083, dhcp4 :9547).
//!
//! No HTTP library: the only clients are Prometheus, the kubelet and curl, and three
//! fixed GET routes do not justify hyper. What the server does accept is bounded: a
//! request head is at most [`MAX_HEAD`] bytes and must arrive within [`READ_TIMEOUT`],
//! at most [`MAX_CONNECTIONS`] connections are served at once, and request bodies are
//! never read (a request announcing one is answered, then the connection is closed).
//!
//! Keep-alive is supported (Prometheus reuses its scrape connection): HTTP/1.1
//! connections stay open unless the client sends `Connection: close`; HTTP/1.0 ones
//! close unless it sends `Connection: keep-alive`. Pipelined requests are answered in
//! order.
//!
//! - `GET /metrics`: 200, `text/plain; version=0.0.4; charset=utf-8`, after running the
//!   [`AdminState::before_scrape`] hook.
//! - `GET /healthz`: 200 `ok` while the process runs (liveness).
//! - `GET /readyz`: 200 `ready` or 503 `not ready`, from [`Readiness`].
//! - `GET` of a daemon's own [`Probe`] path: 200 `yes` or 503 `no` (dhcp4's
//!   `/serving`: whether it answers DHCP now, for an HA pair's Services).
//! - `HEAD` of each: the same status and headers, no body. Other paths: 404. Other
//!   methods: 405 with `Allow: GET, HEAD`. A malformed request: 400, then close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::metrics::Registry;
use crate::readiness::Readiness;
use crate::shutdown::Shutdown;

/// Largest request head (request line and headers) accepted, in bytes.
pub const MAX_HEAD: usize = 8 * 1024;

/// Time allowed for a whole request head to arrive, and for an idle keep-alive
/// connection to send its next request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed to write one response to a slow reader.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 64;

/// Content type of `/metrics`: the Prometheus text exposition format 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// What the admin endpoints serve.
#[derive(Clone)]
pub struct AdminState {
    /// Rendered on `/metrics`.
    pub registry: Registry,
    /// Answers `/readyz`.
    pub readiness: Readiness,
    /// Runs just before each `/metrics` render, to refresh gauges that are cheaper to
    /// read on demand than to keep current (cache sizes, uptime). Runs on a runtime
    /// worker: keep it short and non-blocking.
    pub before_scrape: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Extra yes/no endpoints of the daemon.
    pub probes: Vec<Probe>,
}

/// A yes/no endpoint: `GET path` answers 200 `yes` when `check` holds, else
/// 503 `no`. Runs on a runtime worker: keep it cheap.
#[derive(Clone)]
pub struct Probe {
    /// Its path (`/serving`).
    pub path: &'static str,
    /// The answer.
    pub check: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl AdminState {
    /// State with no scrape hook.
    pub fn new(registry: Registry, readiness: Readiness) -> Self {
        Self {
            registry,
            readiness,
            before_scrape: None,
            probes: Vec::new(),
        }
    }
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("registry", &self.registry)
            .field("readiness", &self.readiness)
            .field("before_scrape", &self.before_scrape.is_some())
            .field(
                "probes",
                &self.probes.iter().map(|p| p.path).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Binds the admin listener: `SO_REUSEADDR` (a restarted daemon rebinds at once despite
/// `TIME_WAIT`), non-blocking, ready for [`serve`]. Synchronous, so `main` can bind
/// before the runtime starts and fail with a clear error. An IPv6 wildcard address
/// also accepts IPv4 where the system allows it.
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Best effort: some systems refuse dual-stack sockets.
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// Serves the admin endpoints on `listener` in a task of its own until
/// `shutdown`; a failure is logged and the daemon keeps serving without them.
pub fn spawn(listener: std::net::TcpListener, state: AdminState, shutdown: Shutdown) {
    tokio::spawn(async move {
        if let Err(error) = serve(listener, state, shutdown).await {
            tracing::error!(%error, "admin endpoint failed");
        }
    });
}

/// Serves the admin endpoints on `listener` until `shutdown` fires, then closes the
/// listener and every open connection and returns `Ok`.
///
/// Errors only if the listener cannot be registered with the runtime. Failed accepts
/// (e.g. out of file descriptors) are logged and retried after a short pause: a
/// broken scrape endpoint must not take the daemon down.
pub async fn serve(
    listener: std::net::TcpListener,
    state: AdminState,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let local = listener.local_addr()?;
    tracing::info!(proto = "http", addr = %local, "listening");
    let state = Arc::new(state);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if connections.len() >= MAX_CONNECTIONS {
                        tracing::debug!(%peer, "admin: too many connections; closing");
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, state.clone(), shutdown.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "admin: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    connections.shutdown().await;
    tracing::debug!(addr = %local, "admin endpoint stopped");
    Ok(())
}

/// Serves requests on one connection until the client closes it, asks to, idles past
/// [`READ_TIMEOUT`], sends something malformed, or shutdown fires.
async fn connection(mut stream: TcpStream, state: Arc<AdminState>, shutdown: Shutdown) {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut filled = 0usize;
    loop {
        // Read until a whole request head is buffered.
        let head_len = loop {
            filled = skip_leading_newlines(&mut buf, filled);
            if let Some(end) = find_head_end(&buf[..filled]) {
                break end;
            }
            if filled == buf.len() {
                let _ = write_response(
                    &mut stream,
                    &Response::error(431, "Request Header Fields Too Large"),
                    false,
                    false,
                )
                .await;
                return;
            }
            let read = tokio::select! {
                () = shutdown.requested() => return,
                read = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut buf[filled..])) => read,
            };
            match read {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => filled += n,
                Err(_elapsed) => {
                    if filled > 0 {
                        let _ = write_response(
                            &mut stream,
                            &Response::error(408, "Request Timeout"),
                            false,
                            false,
                        )
                        .await;
                    }
                    return;
                }
            }
        };
        let request = parse_head(&buf[..head_len]);
        buf.copy_within(head_len..filled, 0);
        filled -= head_len;

        let (response, keep_alive, head_only) = match request {
            Ok(request) => {
                let keep_alive =
                    request.keep_alive && !request.has_body && !shutdown.is_requested();
                (
                    respond(&state, &request),
                    keep_alive,
                    request.method == Method::Head,
                )
            }
            Err(reason) => {
                tracing::debug!(reason, "admin: malformed request");
                (Response::error(400, "Bad Request"), false, false)
            }
        };
        match write_response(&mut stream, &response, keep_alive, head_only).await {
            Ok(()) if keep_alive => {}
            _ => return,
        }
    }
}

/// Drops CR/LF bytes before a request line (RFC 9112 §2.2: a server SHOULD ignore at
/// least one empty line received before the request-line). Returns the new fill.
fn skip_leading_newlines(buf: &mut [u8], filled: usize) -> usize {
    let skip = buf[..filled]
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if skip > 0 {
        buf.copy_within(skip..filled, 0);
    }
    filled - skip
}

/// Length of the request head including its terminating empty line (`\r\n\r\n`, or a
/// bare `\n\n`, which RFC 9112 §2.2 lets a recipient accept).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        match buf.get(i + 1..) {
            Some([b'\n', ..]) => Some(i + 2),
            Some([b'\r', b'\n', ..]) => Some(i + 3),
            _ => None,
        }
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Other,
}

#[derive(Debug, PartialEq, Eq)]
struct Request {
    method: Method,
    /// The path without query string.
    path: String,
    keep_alive: bool,
    /// The request announces a body, which is never read: the connection closes after it.
    has_body: bool,
}

/// Parses a request head (request line and header fields). Errors name what is wrong,
/// for the debug log.
fn parse_head(head: &[u8]) -> Result<Request, &'static str> {
    let head = std::str::from_utf8(head).map_err(|_| "not UTF-8")?;
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let request_line = lines.next().ok_or("empty")?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("request line is not `METHOD TARGET VERSION`");
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err("bad method");
    }
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err("unsupported HTTP version"),
    };
    let path = origin_path(target).ok_or("bad request target")?;
    let mut has_body = false;
    let mut close = false;
    let mut keep_alive_asked = false;
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or("header line without colon")?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err("bad header name");
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep_alive_asked |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            let length: u64 = value.parse().map_err(|_| "bad content-length")?;
            has_body |= length > 0;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            has_body = true;
        }
    }
    if close {
        keep_alive = false;
    } else if keep_alive_asked {
        keep_alive = true;
    }
    Ok(Request {
        method,
        path: path.to_string(),
        keep_alive,
        has_body,
    })
}

/// The path of an origin-form (`/metrics?x`) or absolute-form
/// (`http://host:9167/metrics`) request target, without its query.
fn origin_path(target: &str) -> Option<&str> {
    let path = if target.starts_with('/') {
        target
    } else {
        let rest = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))?;
        rest.find('/').map_or("/", |i| &rest[i..])
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    (!path.bytes().any(|b| b.is_ascii_control() || b == b' ')).then_some(path)
}

/// RFC 9110 §5.6.2 `tchar`: the characters of a method or header name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    allow: bool,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, reason: &'static str, body: &str) -> Self {
        Self {
            status,
            reason,
            content_type: TEXT_CONTENT_TYPE,
            allow: false,
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, reason: &'static str) -> Self {
        Self::text(status, reason, reason)
    }
}

fn respond(state: &AdminState, request: &Request) -> Response {
    let probe = state.probes.iter().find(|p| p.path == request.path);
    let known =
        probe.is_some() || matches!(request.path.as_str(), "/metrics" | "/healthz" | "/readyz");
    if request.method == Method::Other {
        if known {
            let mut response = Response::error(405, "Method Not Allowed");
            response.allow = true;
            return response;
        }
        return Response::error(404, "Not Found");
    }
    match request.path.as_str() {
        "/metrics" => {
            if let Some(hook) = &state.before_scrape {
                hook();
            }
            let body = state.registry.render().into_bytes();
            Response {
                status: 200,
                reason: "OK",
                content_type: METRICS_CONTENT_TYPE,
                allow: false,
                body,
            }
        }
        "/healthz" => Response::text(200, "OK", "ok"),
        "/readyz" if state.readiness.is_ready() => Response::text(200, "OK", "ready"),
        "/readyz" => Response::text(503, "Service Unavailable", "not ready"),
        _ => match probe {
            Some(probe) if (probe.check)() => Response::text(200, "OK", "yes"),
            Some(_) => Response::text(503, "Service Unavailable", "no"),
            None => Response::error(404, "Not Found"),
        },
    }
}

/// Writes one response under [`WRITE_TIMEOUT`]; half-closes the connection unless
/// `keep_alive`. `head_only` (a HEAD request) sends the headers of the full response.
async fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    keep_alive: bool,
    head_only: bool,
) -> std::io::Result<()> {
    tokio::time::timeout(
        WRITE_TIMEOUT,
        write_response_inner(stream, response, keep_alive, head_only),
    )
    .await
    .unwrap_or_else(|elapsed| Err(elapsed.into()))
}

async fn write_response_inner(
    stream: &mut TcpStream,
    response: &Response,
    keep_alive: bool,
    head_only: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n",
        response.status,
        response.reason,
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    if response.allow {
        out.extend_from_slice(b"Allow: GET, HEAD\r\n");
    }
    out.extend_from_slice(if keep_alive {
        b"Connection: keep-alive\r\n\r\n"
    } else {
        b"Connection: close\r\n\r\n"
    });
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    stream.write_all(&out).await?;
    stream.flush().await?;
    if !keep_alive {
        linger_close(stream).await;
    }
    Ok(())
}

/// Half-closes, then reads and discards what the client still sends (a body we did not
/// read, the rest of an oversized head) for a moment. Closing a socket with unread
/// input sends a reset, which can destroy the response before the client reads it.
async fn linger_close(stream: &mut TcpStream) {
    const LINGER: Duration = Duration::from_secs(2);
    const MAX_DISCARD: usize = 64 * 1024;
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let mut discarded = 0usize;
    let _ = tokio::time::timeout(LINGER, async {
        while discarded < MAX_DISCARD {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(18));
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET"),
            Some(27)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(find_head_end(b""), None);
    }

    #[test]
    fn leading_newlines_are_skipped() {
        let mut buf = *b"\r\n\r\nGET";
        let filled = skip_leading_newlines(&mut buf, 7);
        assert_eq!(&buf[..filled], b"GET");
    }

    #[test]
    fn parse_keep_alive_rules() {
        let r = parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            (r.method, r.path.as_str(), r.keep_alive, r.has_body),
            (Method::Get, "/metrics", true, false)
        );
        let r = parse_head(b"GET /metrics HTTP/1.1\r\nConnection: Close\r\n\r\n").unwrap();
        assert!(!r.keep_alive);
        let r = parse_head(b"HEAD /healthz HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!((r.method, r.keep_alive), (Method::Head, false));
        let r = parse_head(b"GET /readyz HTTP/1.0\r\nconnection: keep-alive\r\n\r\n").unwrap();
        assert!(r.keep_alive);
    }

    #[test]
    fn parse_targets_and_bodies() {
        let r = parse_head(b"GET /metrics?name[]=x HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.path, "/metrics");
        let r = parse_head(b"GET http://10.0.0.1:9167/readyz HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.path, "/readyz");
        let r = parse_head(b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!((r.method, r.has_body), (Method::Other, true));
        let r = parse_head(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert!(r.has_body);
    }

    #[test]
    fn parse_rejects_garbage() {
        for head in [
            &b"hello\r\n\r\n"[..],
            b"GET /metrics\r\n\r\n",
            b"GET  /metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/2.0\r\n\r\n",
            b"G(T /metrics HTTP/1.1\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\n",
        ] {
            assert!(
                parse_head(head).is_err(),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn routes() {
        let readiness = Readiness::new();
        let state = AdminState::new(Registry::new(&[]), readiness.clone());
        let req = |method, path: &str| Request {
            method,
            path: path.into(),
            keep_alive: true,
            has_body: false,
        };
        assert_eq!(respond(&state, &req(Method::Get, "/healthz")).body, b"ok");
        assert_eq!(respond(&state, &req(Method::Get, "/readyz")).status, 200);
        let latch = readiness.latch("test");
        assert_eq!(respond(&state, &req(Method::Get, "/readyz")).status, 503);
        latch.release();
        assert_eq!(respond(&state, &req(Method::Get, "/nope")).status, 404);
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = flag.clone();
        let mut probed = state.clone();
        probed.probes.push(Probe {
            path: "/serving",
            check: Arc::new(move || seen.load(std::sync::atomic::Ordering::Relaxed)),
        });
        assert_eq!(respond(&probed, &req(Method::Get, "/serving")).status, 503);
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(respond(&probed, &req(Method::Get, "/serving")).body, b"yes");
        assert_eq!(
            respond(&probed, &req(Method::Other, "/serving")).status,
            405
        );
        assert_eq!(respond(&state, &req(Method::Other, "/metrics")).status, 405);
        assert_eq!(respond(&state, &req(Method::Other, "/nope")).status, 404);
        let metrics = respond(&state, &req(Method::Head, "/metrics"));
        assert_eq!(
            (metrics.status, metrics.content_type),
            (200, METRICS_CONTENT_TYPE)
        );
    }
}
