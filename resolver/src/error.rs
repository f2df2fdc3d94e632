//! Errors of the resolver, each with the side that caused it, so one `match`
//! picks the rcode and the metric label.

use std::net::SocketAddr;

/// Who is at fault for an error: decides rcode and metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client sent something we cannot serve.
    Client,
    /// The authoritative servers (or forwarders) failed us.
    Upstream,
    /// Our own fault (I/O on our sockets, limits).
    Internal,
}

/// Why one upstream exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No acceptable reply before the timeout.
    #[error("timeout querying {0}")]
    Timeout(SocketAddr),
    /// A socket operation failed.
    #[error("i/o error querying {addr}: {source}")]
    Io {
        /// The server.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The reply could not be decoded.
    #[error("malformed reply from {0}")]
    Malformed(SocketAddr),
    /// A reply with our ID from the server asked, but not to our question (none,
    /// another one, several, or QR unset): rejected at once, not waited out.
    #[error("reply from {0} does not answer the question asked")]
    Mismatch(SocketAddr),
    /// `use-caps-for-id`: a reply with our ID whose question does not echo the
    /// random case of the name sent (a spoof, or a server that lowercases).
    #[error("reply from {0} does not echo the 0x20 case of the question")]
    CaseMismatch(SocketAddr),
    /// The server address is not one we may query (do-not-query-localhost, disabled family).
    #[error("server {0} not allowed by configuration")]
    NotAllowed(SocketAddr),
}

/// Why a resolution failed; every variant is answered with SERVFAIL.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Every server for a zone failed or was lame.
    #[error("all servers failed for zone {zone}")]
    AllServersFailed {
        /// The zone whose servers failed.
        zone: String,
    },
    /// No address could be found for any name server of a zone.
    #[error("no usable name server address for zone {zone}")]
    NoServers {
        /// The zone.
        zone: String,
    },
    /// `use-caps-for-id`: the servers' replies, asked again without 0x20 after
    /// a case mismatch, were not all the same (Unbound: "0x20 failed, then got
    /// different replies in fallback").
    #[error("0x20 fallback got different replies for zone {zone}")]
    CapsFallbackDiffers {
        /// The zone whose servers disagreed.
        zone: String,
    },
    /// A per-query work limit was reached (referrals, CNAME chain, NS depth, queries).
    #[error("work limit reached: {0}")]
    Limit(&'static str),
    /// `ratelimit`: the zone's servers got all the queries they may have
    /// from us this second (answered SERVFAIL, as Unbound).
    #[error("ratelimit exceeded for zone {zone}")]
    RateLimited {
        /// The zone whose limit was reached.
        zone: String,
    },
    /// The whole resolution exceeded its time budget.
    #[error("resolution timed out")]
    Timeout,
    /// The process is stopping: resolutions still waiting are answered now.
    #[error("shutting down")]
    ShuttingDown,
    /// Too many resolutions in flight (request list full).
    #[error("request list full")]
    RequestListFull,
    /// A query could not be encoded.
    #[error("cannot encode query: {0}")]
    Encode(String),
}

impl ResolveError {
    /// The label of [`ResolveError::RateLimited`], also counted by the
    /// pipeline when it turns a query away before its resolution starts.
    pub const RATE_LIMITED: &'static str = "ratelimited";

    /// The side at fault.
    pub fn side(&self) -> Side {
        match self {
            ResolveError::AllServersFailed { .. }
            | ResolveError::NoServers { .. }
            | ResolveError::CapsFallbackDiffers { .. }
            | ResolveError::Timeout => Side::Upstream,
            ResolveError::Limit(_) => Side::Upstream,
            ResolveError::RequestListFull
            | ResolveError::RateLimited { .. }
            | ResolveError::Encode(_)
            | ResolveError::ShuttingDown => Side::Internal,
        }
    }

    /// Short label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            ResolveError::AllServersFailed { .. } => "all_servers_failed",
            ResolveError::NoServers { .. } => "no_servers",
            ResolveError::CapsFallbackDiffers { .. } => "caps_fallback_differs",
            ResolveError::Limit(_) => "limit",
            ResolveError::RateLimited { .. } => Self::RATE_LIMITED,
            ResolveError::Timeout => "timeout",
            ResolveError::ShuttingDown => "shutdown",
            ResolveError::RequestListFull => "request_list_full",
            ResolveError::Encode(_) => "encode",
        }
    }
}

/// Errors that stop the daemon (bind, runtime).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Config was loaded but cannot be served (e.g. unreadable root hints).
    #[error("{0}")]
    Config(#[from] common::config::ConfigError),
    /// The DNS front end failed.
    #[error("front end: {0}")]
    Frontend(#[from] common::frontend::FrontendError),
    /// A listener could not be bound.
    #[error(transparent)]
    Listen(#[from] common::listeners::ListenError),
    /// DoT keys could not be loaded.
    #[error("tls: {0}")]
    Tls(#[from] common::tls::TlsError),
    /// I/O on an admin or other socket.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
