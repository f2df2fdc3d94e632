//! A DHCPv4 server that replaces ISC Kea, reading Kea's configuration and
//! lease files. Work in progress (issue 5): so far the lease store.
//!
//! Module map:
//! - [`lease`]: one lease as Kea's memfile keeps it.
//! - [`memfile`]: Kea's memfile CSV, replay at start, durable appends with
//!   group commit, atomic compaction.
//! - [`error`]: errors naming the file and line at fault.
#![forbid(unsafe_code)]

pub mod error;
pub mod lease;
pub mod memfile;

pub use error::{LeaseFileError, LineError};
pub use lease::{Lease, LeaseState};
pub use memfile::{LeaseFile, Replay};
