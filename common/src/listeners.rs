//! The sockets a daemon serves on, bound before its runtime starts, so bind
//! errors are reported at start and tests can bind port 0 and read the ports.

use std::net::SocketAddr;

use crate::frontend::{BoundFrontend, FrontendConfig, FrontendError};

/// DNS listeners plus the admin (metrics, health) listener.
#[derive(Debug)]
pub struct Listeners {
    /// UDP, TCP and DoT listeners.
    pub dns: BoundFrontend,
    /// The metrics/health HTTP listener, if any.
    pub admin: Option<std::net::TcpListener>,
}

/// Why the listeners could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// A DNS listener (or the DoT certificate) failed.
    #[error(transparent)]
    Dns(#[from] FrontendError),
    /// The admin endpoint's address could not be bound.
    #[error("cannot listen on {addr} for metrics: {source}")]
    Admin {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Listeners {
    /// Binds the DNS listeners of `frontend` and the admin endpoint at `admin`.
    pub fn bind(frontend: FrontendConfig, admin: Option<SocketAddr>) -> Result<Self, ListenError> {
        let dns = BoundFrontend::bind(frontend)?;
        let admin = admin
            .map(|addr| {
                crate::admin::bind(addr).map_err(|source| ListenError::Admin { addr, source })
            })
            .transpose()?;
        Ok(Self { dns, admin })
    }
}
