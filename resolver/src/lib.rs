//! A recursive DNS resolver that replaces Unbound: it reads unbound.conf,
//! iterates from the root hints (or forwards/stubs per zone), caches whole
//! answers and RRsets, and exports unbound_exporter's metric names.
//!
//! Module map:
//! - [`config`]: unbound.conf lexer (`config::unbound`), key table, runtime `Config`, embedded default.
//! - [`pipeline`]: the per-query stages in order (access → parse → ip-ratelimit → admit → cache → local zone → resolve), then the background resolution (cachedb → iterator → store).
//! - [`cookie`]: DNS cookies answered to clients (RFC 7873, RFC 9018 server cookies).
//! - [`access`]: access-control with safe defaults (never an open resolver).
//! - [`local_zone`]: local-zone/local-data and Unbound's default local zones.
//! - [`cache`]: message cache (wire answers patched on the way out) and RRset cache.
//! - [`cachedb`]: the Redis cache shared by every replica, in Unbound's cachedb layout.
//! - [`dnssec`]: RRSIGs and NSEC/NSEC3 proofs carried with the data (not validated).
//! - [`iterate`]: the iterator (delegations, reply classification, infra cache, root hints).
//! - [`transport`]: one question to one server over UDP/TCP/DoT, replies validated.
//! - [`validator`]: DNSSEC validation: trust anchors, chain of trust, signatures, denial proofs.
//! - [`ratelimit`]: Unbound's `ratelimit` (queries sent per zone, hard-capped) and `ip-ratelimit` (queries accepted per client).
//! - [`metrics`]: every `unbound_*` metric, declared once.
//! - [`server`]: wiring: builds the pipeline, binds nothing itself, serves until shutdown.
//! - [`error`]: error types with the side at fault.
//! - `fuzzing` (feature `fuzzing`): the fuzz targets' entry points, shared with the corpus replay test.
#![forbid(unsafe_code)]

pub mod access;
pub mod cache;
pub mod cachedb;
pub mod config;
pub mod cookie;
pub mod dnssec;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod iterate;
pub mod local_zone;
pub mod metrics;
pub mod pipeline;
pub mod ratelimit;
pub mod request_list;
pub mod server;
pub mod transport;
pub mod validator;

pub use config::Config;
pub use error::Error;
pub use server::{run, Listeners};
