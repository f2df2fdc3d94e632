//! `lb`: a DNS load balancer that replaces dnsdist.
//!
//! Module map:
//! - [`config`]: the TOML file and the quick-start command line.
//! - [`handler`]: the query path (ACL, policy, forwarding, retry, SERVFAIL).
//! - [`policy`]: leastOutstanding, roundRobin, wrandom, firstAvailable, chashed.
//! - [`backend`]: a backend's state (up/down) and metrics.
//! - [`reconcile`]: config and discovery changes applied to the running lb.
//! - [`discovery`]: backends from a DNS name, re-resolved on an interval.
//! - [`forward`]: UDP to a backend with ID rewriting and a bounded table.
//! - `fuzzing` (feature `fuzzing`): the fuzz targets' entry points, shared with the corpus replay test.
//! - [`tcp_pool`]: pooled, pipelined TCP to a backend for TCP and DoT clients.
//! - [`health`]: active checks.
//! - [`ratelimit`]: per-client token buckets.
//! - [`cache`]: the optional packet cache.
//! - [`metrics`]: `dnsdist_*` metrics.
//! - [`nodelocal`]: node-local mode: the agent's interface and packet-filter rules.
//! - [`server`]: wiring into the shared front end and admin endpoint.
//! - [`wire`]: check queries and question fingerprints.

pub mod backend;
pub mod cache;
pub mod config;
pub mod discovery;
pub mod error;
pub mod forward;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod handler;
pub mod health;
pub mod metrics;
pub mod nodelocal;
pub mod policy;
pub mod ratelimit;
pub mod reconcile;
pub mod server;
pub mod tcp_pool;
pub mod wire;

pub use config::Config;
pub use error::Error;
pub use server::{run, Listeners};
