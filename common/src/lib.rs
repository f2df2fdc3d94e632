//! Plumbing the three daemons (lb, resolver, dhcp4) share.
//!
//! Module map:
//! - [`cli`]: clap arguments every daemon takes (`-c`, `--check-config`, `--log-format`, `--metrics-addr`).
//! - [`exit`]: exit codes (64 for bad config or usage, 1 for runtime failure).
//! - [`logging`]: tracing subscriber, text or JSON.
//! - [`shutdown`]: SIGTERM/SIGINT → lameduck → stop token; SIGHUP stream.
//! - [`readiness`]: `/readyz` state built from per-subsystem latches.
//! - [`admin`]: the small HTTP server for `/metrics`, `/healthz`, `/readyz`.
//! - [`metrics`]: a Prometheus registry passed by handle (no global recorder).
//! - [`acl`]: CIDR → action table with longest-prefix match.
//! - [`config`]: `Location`, `ConfigError` (`file:line: key: …`), shared value parsers.
//! - [`dns`]: zero-copy header/question/EDNS access, truncation, TCP framing.
//! - [`frontend`]: UDP (SO_REUSEPORT per worker), TCP (pipelined) and DoT listeners feeding one handler.
//! - [`listeners`]: a daemon's DNS and admin sockets, bound before it runs.
//! - [`tls`]: rustls server config from PEM files, reloaded when the files change.
// Unsafe code is denied crate-wide; the one exception is the recvmmsg/sendmmsg
// wrapper `frontend::mmsg`, which allows it for itself.
#![cfg_attr(not(test), deny(unsafe_code))]

pub mod acl;
pub mod admin;
pub mod cli;
pub mod config;
pub mod dns;
pub mod exit;
pub mod frontend;
pub mod listeners;
pub mod logging;
pub mod metrics;
pub mod readiness;
pub mod shutdown;
pub mod tls;
