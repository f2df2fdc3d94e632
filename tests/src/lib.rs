//! End-to-end harness shared by every integration test and the benchmark.
//!
//! Module map:
//! - [`fake_dns`]: authoritative servers for a fake DNS hierarchy on `127.<net>.0.<host>:53`
//!   (zone fixtures in `tests/fixtures/zones/`), with fault injection and query counters.
//! - [`daemon`]: spawn one of our binaries, wait for `/readyz`, signal it, keep its log;
//!   [`daemon::free_port`] and [`daemon::unique_net`] hand out collision-free addresses.
//! - [`fake_backend`]: a fake backend resolver for the lb's tests (answers, counts,
//!   slow, silent, SERVFAIL, truncating; stoppable).
//! - [`dig`]: run the real `dig` / `kdig` and parse their output, plus a small Rust
//!   client ([`dig::query`]) built on hickory-proto messages.
//! - [`metrics`]: scrape a Prometheus `/metrics` endpoint over raw HTTP and look values up.
//! - [`netns`]: network namespaces for the DHCP tests (a bridged LAN of client
//!   namespaces, routed links to relays); [`dhcp`]: a relay-side DHCP client
//!   used by the `dhcp-load` binary.
//! - [`redis`]: a real `redis-server` on a free loopback port, killable, restartable
//!   and freezable, for the shared-cache tests.
//! - [`dataplane`]: the whole data plane in network namespaces wired as the
//!   Kubernetes manifests wire it (client, LoadBalancer DNAT, lb, resolvers,
//!   Redis, a cluster-DNS stub, the fake hierarchy, dhcp4 on a LAN), for the
//!   end-to-end fault tests; its `dns-stub` and `dns-load` binaries.
//! - [`kea`]: differential tests against Debian's Kea 2.2: the same config and
//!   scripted client exchanges against Kea and ours, replies compared byte for
//!   byte (the `dhcp-probe` binary sends for the clients).
//! - [`slowloris`]: a slow-loris TCP/DoT client (its `slowloris` binary drives
//!   `tests/bench/attacks.sh`).
//! - [`wire`]: the DNS question parsing shared by the stub and the fake backend.
//! - [`spoof`]: a blind spoofer (forged replies from a server's address with
//!   guessed IDs and ports) for the spoofing race; its `dns-spoof` binary.
//! - [`tool`]: the `main` parts those binaries and `fake-dns` share (exit codes).
//!
//! Address plan: a test owns one `net` octet (see [`daemon::unique_net`]). The fake
//! hierarchy uses `127.<net>.0.<host>`; daemons under test should listen on
//! `127.<net>.1.<n>` (see [`daemon::test_addr`]), so nothing collides across parallel tests.

#![forbid(unsafe_code)]

pub mod cold_internet;
pub mod daemon;
pub mod dataplane;
pub mod dhcp;
pub mod dig;
pub mod fake_backend;
pub mod fake_dns;
pub mod kea;
pub mod metrics;
pub mod netns;
pub mod redis;
pub mod relay;
pub mod slowloris;
pub mod spoof;
pub mod tool;
pub mod wire;

pub use daemon::{free_port, test_addr, unique_net, Daemon};
pub use fake_dns::{FakeServer, Hierarchy};
