//! Fake authoritative DNS hierarchy on loopback, built on hickory-proto messages.
//!
//! - [`zone`]: zone files (`@NET@` substitution, DNAME support) → indexed [`Zone`]s.
//! - [`signer`]: DNSSEC keys, RRSIGs, NSEC and NSEC3 records for zones marked `+signed`.
//! - [`dnssec`]: the signing flags of the manifest and the DNSSEC faults.
//! - [`authority`]: the RFC 1034 §4.3.2 answer algorithm over a [`Catalog`].
//! - [`server`]: [`FakeServer`], UDP+TCP on one address, fault switches, counters.
//! - [`responders`]: misbehaving handlers as plain functions.
//! - [`cookies`]: DNS cookies on a fake server (log, server cookie, BADCOOKIE, forgeries).
//! - [`hierarchy`]: [`Hierarchy`], every server of the fixture manifest on
//!   `127.<net>.0.<host>:53`, plus root hints.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use e2e::fake_dns::{responders, Hierarchy};
//! let h = Hierarchy::start(e2e::unique_net()).await?;
//! h.write_root_hints(std::path::Path::new("/tmp/root.hints"))?;
//! h.server_for_zone("example.com.").set_servfail(true);
//! h.server_for_zone("example.net.").set_responder(Some(std::sync::Arc::new(responders::bad_txid)));
//! # Ok(()) }
//! ```

pub mod authority;
pub mod cookies;
pub mod dnssec;
pub mod hierarchy;
pub mod responders;
pub mod server;
pub mod signer;
pub mod zone;

pub use authority::{Catalog, EDNS_PAYLOAD};
pub use hierarchy::{fixtures_dir, host_addr, Hierarchy, DNS_PORT};
pub use server::{FakeServer, Responder};
pub use zone::Zone;
