//! A DHCPv4 server that replaces ISC Kea, reading Kea's configuration and
//! lease files.
//!
//! Module map:
//! - [`config`]: Kea's `Dhcp4` JSON subset, errors naming the key path.
//! - [`lease`]: one lease as Kea's memfile keeps it.
//! - [`alloc`]: address allocation in a subnet (pools, reservations, offer
//!   holds, quarantine) with a two-level free bitmap, no pool scans.
//! - [`memfile`]: Kea's memfile CSV, replay at start, durable appends with
//!   group commit, atomic compaction.
//! - [`packet`]: DHCPv4 decoding that keeps every option (dhcproto for the
//!   fixed part; options walked TLV by TLV, undecodable ones kept raw).
//! - [`server`]: the protocol (RFC 2131): one request in, the reply and the
//!   lease changes out; no sockets, no clock.
//! - [`wire`]: reply encoding.
//! - [`net`]: interfaces, per-interface UDP sockets, the packet socket for
//!   unicast to clients without an address.
//! - [`run`]: the daemon: receive loops, durable writes before replies,
//!   reclamation and compaction timers, admin endpoints.
//! - [`metrics`]: kea-exporter's metric names.
//! - [`error`]: errors naming the file and line at fault.
#![deny(unsafe_code)]

pub mod alloc;
pub mod classify;
pub mod clock;
pub mod config;
pub mod control;
pub mod error;
pub mod ha;
pub mod kea_stats;
pub mod lease;
pub mod memfile;
pub mod metrics;
pub mod net;
pub mod options;
pub mod packet;
pub mod run;
pub mod server;
pub mod wire;

pub use error::{LeaseFileError, LineError};
pub use lease::{Lease, LeaseState};
pub use memfile::{LeaseFile, Replay};
