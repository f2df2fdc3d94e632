//! Errors of the lease store, naming the file (and line) at fault.

use std::path::PathBuf;

/// Why the lease file could not be read, written or compacted.
#[derive(Debug, thiserror::Error)]
pub enum LeaseFileError {
    /// An I/O failure on the file (or its directory).
    #[error("lease file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The header is not one of Kea's DHCPv4 memfile headers.
    #[error("lease file {path}: line 1: not a Kea DHCPv4 lease file header: {header:?}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What line 1 says.
        header: String,
    },
    /// The writer thread is gone (it failed an fsync, or the store was closed).
    #[error("lease file {path}: the writer stopped: {reason}")]
    WriterStopped {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Why one line of a lease file could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Fewer or more columns than the header.
    #[error("{found} columns, expected {expected}")]
    Columns {
        /// Columns on the line.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
    /// A column whose value does not parse.
    #[error("column {column}: {value:?} is not {what}")]
    Value {
        /// The column's name.
        column: &'static str,
        /// Its text.
        value: String,
        /// What it should be.
        what: &'static str,
    },
}
