//! The lb's errors, reported with context at the edge (main).

/// Why the lb could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid (names file, line and key).
    #[error(transparent)]
    Config(#[from] common::config::ConfigError),
    /// A listener could not be bound or served.
    #[error(transparent)]
    Frontend(#[from] common::frontend::FrontendError),
    /// A listener could not be bound.
    #[error(transparent)]
    Listen(#[from] common::listeners::ListenError),
    /// The node-local interface or rules could not be set up.
    #[error("node-local set-up failed: {0}")]
    NodeLocal(#[from] crate::nodelocal::NodeLocalError),
    /// A backend socket or the admin listener failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
