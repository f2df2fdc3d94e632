//! A test handler and helpers shared by the front-end tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::dns::wire::QueryView;
use common::frontend::{
    serve, BoundFrontend, DnsHandler, FrontendConfig, FrontendError, Query, Reply, Transport,
};
use common::shutdown::{Shutdown, ShutdownTrigger};
use tokio::task::JoinHandle;

/// Echoes each query back with QR set. Names starting with the label `slow`
/// answer after `slow_delay` (Pending); `detach` answers after `slow_delay`
/// through the query's responder (Detached; no answer over TCP); `drop` gets no answer; `thread` answers
/// later (Pending) with rcode 0 only when the reply future ran on the thread
/// that received the query and that thread is a UDP receive thread (SERVFAIL
/// otherwise).
pub struct EchoHandler {
    pub slow_delay: Duration,
    pub seen: AtomicUsize,
}

impl EchoHandler {
    pub fn new(slow_delay: Duration) -> Arc<Self> {
        Arc::new(EchoHandler {
            slow_delay,
            seen: AtomicUsize::new(0),
        })
    }
}

fn echo(wire: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(wire);
    out[2] |= 0x80;
}

impl DnsHandler for EchoHandler {
    fn handle(&self, query: &Query<'_>, out: &mut Vec<u8>) -> Reply {
        self.seen.fetch_add(1, Ordering::Relaxed);
        assert!(out.is_empty(), "the front end clears `out`");
        let Ok(view) = QueryView::parse(query.wire) else {
            return Reply::Drop;
        };
        let name = view.qname_wire();
        if name.starts_with(b"\x04drop") {
            return Reply::Drop;
        }
        if name.starts_with(b"\x04slow") {
            let mut reply = Vec::new();
            echo(query.wire, &mut reply);
            let delay = self.slow_delay;
            return Reply::Pending(Box::pin(async move {
                tokio::time::sleep(delay).await;
                Some(reply)
            }));
        }
        if name.starts_with(b"\x06thread") {
            let mut reply = Vec::new();
            echo(query.wire, &mut reply);
            let received_on = std::thread::current().id();
            let udp_thread = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("udp-"));
            return Reply::Pending(Box::pin(async move {
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                let same = std::thread::current().id() == received_on;
                reply[3] = if same && udp_thread { 0 } else { 2 };
                Some(reply)
            }));
        }
        if name.starts_with(b"\x06detach") {
            // Answer later through the responder, held for the drain (UDP only).
            let Some(responder) = query.responder.cloned() else {
                return Reply::Drop;
            };
            let held = responder.hold();
            let mut reply = Vec::new();
            echo(query.wire, &mut reply);
            let (peer, delay) = (query.peer, self.slow_delay);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                responder.send(&reply, peer);
                drop(held);
            });
            return Reply::Detached;
        }
        if name.starts_with(b"\x09transport") {
            // Answer with the transport in the rcode, for asserting on Query fields.
            echo(query.wire, out);
            out[3] = match query.transport {
                Transport::Udp => 1,
                Transport::Tcp => 2,
                Transport::Tls => 3,
            };
            return Reply::Ready;
        }
        echo(query.wire, out);
        Reply::Ready
    }
}

/// A query for `name` (dotted, no trailing dot), type A, with `id`.
pub fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

pub fn id_of(msg: &[u8]) -> u16 {
    u16::from_be_bytes([msg[0], msg[1]])
}

pub fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A config with UDP and TCP on 127.0.0.1:0 and short timeouts.
pub fn config() -> FrontendConfig {
    FrontendConfig {
        udp: vec![localhost()],
        tcp: vec![localhost()],
        tcp_idle_timeout: Duration::from_secs(5),
        drain_timeout: Duration::from_secs(5),
        ..FrontendConfig::default()
    }
}

pub struct Running {
    pub udp: Vec<SocketAddr>,
    pub tcp: Vec<SocketAddr>,
    pub tls: Vec<SocketAddr>,
    pub trigger: ShutdownTrigger,
    pub task: JoinHandle<Result<(), FrontendError>>,
}

pub fn start<H: DnsHandler>(cfg: FrontendConfig, handler: Arc<H>) -> Running {
    let bound = BoundFrontend::bind(cfg).unwrap();
    let (trigger, shutdown) = Shutdown::new();
    Running {
        udp: bound.udp_addrs(),
        tcp: bound.tcp_addrs(),
        tls: bound.tls_addrs(),
        trigger,
        task: tokio::spawn(serve(bound, handler, shutdown)),
    }
}

/// Awaits `fut` for at most 5 s.
pub async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .expect("timed out")
}
