//! Entry points for the cargo fuzz targets (`lb/fuzz/`) and for the corpus
//! replay test (`tests/fuzz_corpus.rs`), so `cargo test` runs every committed
//! corpus file through the same code the fuzzer ran. Compiled with the
//! `fuzzing` feature only.
//!
//! Both run the real query path ([`Lb`]'s `handle`: ACL, header peek, packet
//! cache, policy, the UDP forwarder's ID rewriting and outstanding table) and
//! its response path (the forwarder's `deliver`: ID and question matching,
//! the client's ID restored, the packet cache filled). The backend is a
//! loopback UDP socket the harness reads the forwarded query from and answers
//! by handing the reply to `deliver` directly; the clock is paused, so a
//! timeout costs no wall time. Each input gets a fresh [`Lb`] (and so an empty
//! packet cache); the backend is shared and never goes down (no health
//! checks). A broken invariant panics.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::acl::Acl;
use common::dns::wire::{question_section_end, QueryView};
use common::frontend::{DnsHandler, Query, Reply, Transport};
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::backend::{Backend, Passive};
use crate::cache::CacheConfig;
use crate::config::{BackendConfig, Policy};
use crate::handler::{Lb, Routing};
use crate::metrics::LbMetrics;
use crate::policy::Selector;

/// The fuzzed client (the ACL allows 127.0.0.0/8 only).
const CLIENT: &str = "127.0.0.1:40000";

/// RCODE SERVFAIL.
const SERVFAIL: u8 = 2;

/// A client query of [`QUERIES`]: name, type, RD/CD flags byte, and the EDNS
/// payload and DO bit when it has an OPT.
pub type ClientSpec = (&'static str, u16, u8, Option<(u16, bool)>);

/// The client queries of [`response_path`]: the fuzzed input's first byte
/// picks one (its index modulo the length): (name, type, RD/CD flags byte,
/// EDNS payload and DO bit when the query has an OPT).
pub const QUERIES: &[ClientSpec] = &[
    ("www.example.com.", 1, 0x01, None),
    ("www.example.com.", 1, 0x01, Some((1232, true))),
    ("www.Example.COM.", 28, 0x01, Some((4096, false))),
    ("example.com.", 2, 0x01, Some((1232, true))),
    ("example.com.", 48, 0x01, Some((1232, true))),
    ("nothere.example.com.", 1, 0x01, Some((512, false))),
    ("alias.example.com.", 5, 0x00, None),
    ("example.com.", 15, 0x01, Some((1232, false))),
    (".", 2, 0x01, Some((1232, true))),
];

/// The shared backend: a loopback socket in its place, and the lb side.
struct Bench {
    /// Where the lb's forwarder sends; the harness reads it.
    upstream: UdpSocket,
    backend: Arc<Backend>,
    metrics: LbMetrics,
}

/// One bench per process; the lock keeps tests running in parallel from
/// reading each other's queries.
fn bench() -> &'static Mutex<Bench> {
    static BENCH: OnceLock<Mutex<Bench>> = OnceLock::new();
    BENCH.get_or_init(|| {
        let upstream = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        upstream
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("nonblocking: {e}"));
        let addr = upstream
            .local_addr()
            .unwrap_or_else(|e| panic!("local address: {e}"));
        let registry = crate::server::registry();
        let metrics = LbMetrics::new(&registry);
        let config = BackendConfig {
            name: "fuzz".into(),
            addr,
            weight: 1,
            order: 1,
            cluster: false,
        };
        let backend = Backend::connect(
            config,
            64,
            &registry,
            &metrics,
            Duration::from_millis(50),
            false,
        )
        .unwrap_or_else(|e| panic!("backend: {e}"));
        Mutex::new(Bench {
            upstream,
            backend,
            metrics,
        })
    })
}

/// The query path: `wire` is a client's datagram. What is forwarded must be
/// the query with only its ID changed; the backend answers it (one A record);
/// every reply carries the client's ID with QR set; asked again (now maybe
/// from the packet cache) the client gets the same bytes.
pub fn query_path(wire: &[u8]) {
    let bench = bench().lock();
    let lb = lb(&bench);
    let first = exchange(&bench, &lb, wire, answer_to);
    let second = exchange(&bench, &lb, wire, answer_to);
    if let Some(reply) = &first {
        check_header(wire, reply);
    }
    same_reply(wire, first.as_deref(), second.as_deref());
}

/// The response path: `data[0]` picks a client query of [`QUERIES`], the rest
/// is the backend's reply to it (its ID set to the forwarded query's). The
/// client gets that reply with its own ID, or the lb's SERVFAIL; asked again
/// (now maybe from the packet cache), the same bytes.
pub fn response_path(data: &[u8]) {
    let Some((&pick, response)) = data.split_first() else {
        return;
    };
    let query = client_query(QUERIES[usize::from(pick) % QUERIES.len()]);
    let bench = bench().lock();
    let lb = lb(&bench);
    let reply_with = |sent: &[u8]| {
        let mut wire = response.to_vec();
        if let (Some(id), Some(sent_id)) = (wire.get_mut(..2), sent.get(..2)) {
            id.copy_from_slice(sent_id);
        }
        wire
    };
    let first = exchange(&bench, &lb, &query, reply_with);
    let second = exchange(&bench, &lb, &query, reply_with);
    let Some(reply) = &first else {
        panic!("a well-formed query got no reply");
    };
    check_header(&query, reply);
    let passed_on = reply.len() == response.len() && reply.get(2..) == response.get(2..);
    assert!(
        passed_on || is_servfail(&query, reply),
        "the client got neither the backend's reply nor SERVFAIL: {reply:02x?}"
    );
    same_reply(&query, first.as_deref(), second.as_deref());
}

/// A fresh handler (empty packet cache) over the shared backend.
fn lb(bench: &Bench) -> Lb {
    let mut acl = Acl::new();
    for net in ["127.0.0.0/8", "::1/128"] {
        acl.insert(net.parse().unwrap_or_else(|e| panic!("{net}: {e}")), ());
    }
    let routing = Routing {
        cluster: None,
        selector: Selector::new(Policy::FirstAvailable, vec![bench.backend.clone()]),
        acl,
        timeout: Duration::from_millis(100),
        fall: 1,
        checks_enabled: false,
        passive: Passive {
            threshold: 0,
            window: 100,
            min_samples: 20,
            checks_enabled: false,
        },
        rate_limit: None,
    };
    let cache = CacheConfig::with_size(64, Duration::from_secs(3600));
    Lb::new(routing, bench.metrics.clone(), None, Some(&cache))
}

/// What the client gets for `wire` over UDP (without a responder, so the
/// reply comes back as a future): a query forwarded to the backend is
/// answered with `respond(forwarded datagram)`.
fn exchange(
    bench: &Bench,
    lb: &Lb,
    wire: &[u8],
    respond: impl Fn(&[u8]) -> Vec<u8>,
) -> Option<Vec<u8>> {
    drain(&bench.upstream);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let query = Query {
            wire,
            peer: CLIENT.parse().unwrap_or_else(|e| panic!("client: {e}")),
            local: SocketAddr::from(([127, 0, 0, 1], 53)),
            transport: Transport::Udp,
            received_at: Instant::now(),
            responder: None,
        };
        let mut out = Vec::new();
        let mut pending = match lb.handle(&query, &mut out) {
            Reply::Ready => return Some(out),
            Reply::Drop => return None,
            Reply::Detached => panic!("detached without a responder"),
            Reply::Pending(pending) => pending,
        };
        // The first poll sends the query and starts waiting for its answer.
        if let Poll::Ready(reply) = pending
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            return reply;
        }
        if let Some(sent) = forwarded(&bench.upstream) {
            assert!(
                sent.len() == wire.len() && sent.get(2..) == wire.get(2..),
                "the forwarded query is not the client's: {sent:02x?}"
            );
            let mut response = respond(&sent);
            bench.backend.forwarder.deliver(&mut response, &|_, _, _| {
                panic!("no UDP client waits on this backend")
            });
        }
        pending.await
    })
}

/// The datagram the forwarder sent to the backend, if any. Datagrams with
/// QR set are skipped: the lb forwards queries only, and other tests on this
/// host (spoofing races) spray forged answers at random loopback ports.
fn forwarded(upstream: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = vec![0; 65_535];
    loop {
        let len = upstream.recv(&mut buf).ok()?;
        if buf.get(2).is_some_and(|flags| flags & 0x80 == 0) {
            buf.truncate(len);
            return Some(buf);
        }
    }
}

/// Throws away datagrams a panicking run left behind.
fn drain(upstream: &UdpSocket) {
    while forwarded(upstream).is_some() {}
}

/// The backend's answer to a forwarded query: its header and question, QR,
/// AA and RA set, and one A record.
fn answer_to(sent: &[u8]) -> Vec<u8> {
    let Ok(end) = question_section_end(sent) else {
        return Vec::new();
    };
    let mut wire = sent[..end].to_vec();
    wire[2] = 0x84 | (wire[2] & 0x01);
    wire[3] = 0x80;
    wire[4..12].copy_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
    wire.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1]);
    wire
}

/// Panics unless `second` is `first`, but for the spelling of the question
/// name (a cache hit has the client's, the backend's reply its own).
fn same_reply(query: &[u8], first: Option<&[u8]>, second: Option<&[u8]>) {
    let qname_len = QueryView::parse(query).map_or(0, |view| view.qname_wire().len());
    let fold = |reply: &[u8]| {
        let mut reply = reply.to_vec();
        let one_question = reply.get(4..6) == Some(&[0, 1]);
        if let (true, Some(name)) = (one_question, reply.get_mut(12..12 + qname_len)) {
            name.make_ascii_lowercase();
        }
        reply
    };
    assert_eq!(
        first.map(fold),
        second.map(fold),
        "the same query got another reply"
    );
}

/// A reply to `query`: at least a header, the query's ID, QR set.
fn check_header(query: &[u8], reply: &[u8]) {
    assert!(reply.len() >= 12, "a reply of {} bytes", reply.len());
    assert_eq!(
        reply.get(..2),
        query.get(..2),
        "the reply carries another ID"
    );
    assert_ne!(reply[2] & 0x80, 0, "the reply has QR clear");
}

/// The lb's own SERVFAIL to `query`: its header and question, no records.
fn is_servfail(query: &[u8], reply: &[u8]) -> bool {
    let Ok(view) = QueryView::parse(query) else {
        return false;
    };
    let question = view.header_and_question();
    reply.len() == question.len()
        && reply[3] & 0x0F == SERVFAIL
        && reply[12..] == question[12..]
        && reply[6..12] == [0; 6]
}

/// The wire form of one of [`QUERIES`], ID 0x1234.
fn client_query((name, qtype, flags, edns): ClientSpec) -> Vec<u8> {
    let mut wire = vec![
        0x12,
        0x34,
        flags,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        u8::from(edns.is_some()),
    ];
    wire.extend(crate::wire::encode_name(name).unwrap_or_else(|| panic!("bad name {name}")));
    wire.extend_from_slice(&qtype.to_be_bytes());
    wire.extend_from_slice(&[0, 1]);
    if let Some((payload, do_bit)) = edns {
        wire.extend_from_slice(&[0, 0, 41]);
        wire.extend_from_slice(&payload.to_be_bytes());
        wire.extend_from_slice(&[0, 0, if do_bit { 0x80 } else { 0 }, 0, 0, 0]);
    }
    wire
}
