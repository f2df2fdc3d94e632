//! Front-end benchmark: serves a cache-hit-like handler on `BENCH_ADDR`
//! (default 127.0.0.1:5399) for `BENCH_SECS` seconds (default 20), for dnsperf
//! to load, so the front end's cost can be measured apart from any cache:
//!
//! ```text
//! BENCH_SECS=30 cargo run --release -p common --example frontend_bench &
//! dnsperf -s 127.0.0.1 -p 5399 -d queries.txt -c 10 -T 1 -l 20
//! ```
//!
//! `BENCH_SOCKETS` sets the SO_REUSEPORT sockets (default 2) and
//! `BENCH_UDP_BATCH` the datagrams per recvmmsg (default: the front end's
//! default; 1 for one recvfrom/sendto per query).

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use common::dns::edns::{find_opt, udp_reply_limit, write_opt};
use common::dns::truncate::truncate_to;
use common::dns::wire::{flags, QueryView};
use common::frontend::{serve, BoundFrontend, DnsHandler, FrontendConfig, Query, Reply, Transport};
use common::shutdown::Shutdown;

/// What a cache hit costs minus the lookup: parse, EDNS, build a one-A reply,
/// fit it to the client's size.
struct CacheHitLike;

impl DnsHandler for CacheHitLike {
    fn handle(&self, query: &Query<'_>, out: &mut Vec<u8>) -> Reply {
        let Ok(view) = QueryView::parse(query.wire) else {
            return Reply::Drop;
        };
        let Ok(edns) = find_opt(query.wire, &view) else {
            return Reply::Drop;
        };
        out.extend_from_slice(view.header_and_question());
        let f = (view.flags() & (flags::RD | flags::CD)) | flags::QR | flags::RA;
        out[2..4].copy_from_slice(&f.to_be_bytes());
        out[6..12].copy_from_slice(&[0, 1, 0, 0, 0, u8::from(edns.is_some())]);
        out.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        if let Some(e) = &edns {
            write_opt(out, 1232, e.do_bit);
        }
        if query.transport == Transport::Udp {
            truncate_to(out, udp_reply_limit(edns.as_ref(), 1232));
        }
        Reply::Ready
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let addr: SocketAddr = std::env::var("BENCH_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:5399".into())
        .parse()
        .unwrap();
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let sockets: usize = std::env::var("BENCH_SOCKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let udp_batch: usize = std::env::var("BENCH_UDP_BATCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(FrontendConfig::default().udp_batch);
    let cfg = FrontendConfig {
        udp: vec![addr],
        tcp: vec![addr],
        udp_sockets_per_addr: NonZeroUsize::new(sockets).unwrap(),
        udp_recv_buffer: Some(4 << 20),
        udp_send_buffer: Some(4 << 20),
        udp_batch,
        ..FrontendConfig::default()
    };
    let bound = BoundFrontend::bind(cfg).unwrap();
    let (trigger, shutdown) = Shutdown::new();
    let task = tokio::spawn(serve(bound, Arc::new(CacheHitLike), shutdown));
    eprintln!("serving on {addr} for {secs} s (udp_batch {udp_batch})");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    trigger.fire();
    task.await.unwrap().unwrap();
}
