//! Issue 19, resource exhaustion: a unique-name flood (every name a cache
//! miss answered by a wildcard) keeps the resolver's resident memory within
//! its configured cache sizes plus a documented overhead.

use std::net::SocketAddr;
use std::time::Duration;

use e2e::fake_dns::Hierarchy;
use tokio::net::UdpSocket;

use crate::resolver_process::spawn_resolver;

/// VmRSS of process `pid`, bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Sends `count` queries for unique names `<tag>-<i>.wild.net` A, at most
/// `window` unanswered at once (each window waits up to 2 s for its replies);
/// returns how many were answered.
async fn flood(server: SocketAddr, tag: &str, count: usize, window: usize) -> usize {
    let socket = UdpSocket::bind(SocketAddr::new(server.ip(), 0))
        .await
        .unwrap();
    let mut answered = 0;
    let mut buf = vec![0u8; 2048];
    let mut sent = 0;
    while sent < count {
        let batch = window.min(count - sent);
        for i in 0..batch {
            let name = format!("{tag}-{}.wild.net.", sent + i);
            let wire = e2e::dig::a_query_wire(&name, (i % 65536) as u16).unwrap();
            socket.send_to(&wire, server).await.unwrap();
        }
        sent += batch;
        let mut got = 0;
        while got < batch {
            match tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf)).await {
                Ok(Ok(_)) => got += 1,
                _ => break,
            }
        }
        answered += got;
    }
    answered
}

/// What the flood may add to RSS beyond the configured cache sizes, as a
/// factor and a constant. Factor 2: the caches bound an *estimate* of each
/// entry's bytes (key, wire form, TTL offsets, a fixed 96 bytes), while the
/// heap also holds the decoded records, the hash tables' slack and the
/// allocator's per-size free lists. Constant 3 MiB: structures bounded by
/// count rather than bytes (infra cache and delegation memory, 10k entries
/// each; the request list) and the allocator's arenas settling.
/// Measured (debug build, 40k names after a 2k warm-up): 256k + 512k caches,
/// 0 to 2.1 MB; 1m + 2m, 3.1 to 6.4 MB; 64m + 128m (nothing evicted), 11.5 to
/// 15.7 MB, so an unbounded table would fail the 4.5 MiB bound below.
const OVERHEAD_FACTOR: u64 = 2;
const OVERHEAD_FIXED: u64 = 3 << 20;

const MSG_CACHE: u64 = 256 << 10;
const RRSET_CACHE: u64 = 512 << 10;

/// Unique names sent: enough to fill both small caches several times over
/// (each name costs about 430 bytes of RSS while nothing is evicted, so
/// 40k names kept would take about 17 MB, well past the bound).
const FLOOD: usize = 40_000;

/// RSS growth of a resolver with `msg_cache`/`rrset_cache` over a FLOOD of
/// unique names, after a warm-up that settles the allocator.
async fn rss_growth(msg_cache: &str, rrset_cache: &str) -> u64 {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let extra = format!(
        "  num-threads: 1\n  msg-cache-size: {msg_cache}\n  rrset-cache-size: {rrset_cache}\n"
    );
    let (daemon, dns, _metrics) = spawn_resolver(&hierarchy, &extra).await;
    let pid = daemon.pid();
    assert!(flood(dns, "warm", 2_000, 200).await >= 1_900);
    let before = rss(pid);
    let answered = flood(dns, "flood", FLOOD, 200).await;
    let after = rss(pid);
    assert!(
        answered >= FLOOD * 9 / 10,
        "flood mostly answered: {answered}"
    );
    let growth = after.saturating_sub(before);
    eprintln!("caches {msg_cache}/{rrset_cache}: rss {before} -> {after}, growth {growth}");
    growth
}

fn bound() -> u64 {
    (MSG_CACHE + RRSET_CACHE) * OVERHEAD_FACTOR + OVERHEAD_FIXED
}

/// Unique names (water torture without an attacked zone): every answer is
/// cached until the caches are full, then older ones are evicted; RSS grows by
/// at most msg-cache-size + rrset-cache-size times OVERHEAD_FACTOR plus
/// OVERHEAD_FIXED (4.5 MiB here).
#[tokio::test]
async fn unique_name_flood_keeps_rss_within_cache_sizes() {
    let growth = rss_growth("256k", "512k").await;
    assert!(
        growth <= bound(),
        "RSS grew {growth} bytes, bound {}",
        bound()
    );
}

/// The control that shows the measurement can fail: the same flood against
/// Unbound's default cache sizes (64m and 128m, which the flood cannot fill)
/// keeps every answer, and RSS grows past the bound the test above applies;
/// an unbounded table would do the same.
#[tokio::test]
async fn flood_into_caches_it_cannot_fill_grows_past_that_bound() {
    let growth = rss_growth("64m", "128m").await;
    assert!(
        growth > bound(),
        "RSS grew only {growth} bytes, bound {}",
        bound()
    );
}
