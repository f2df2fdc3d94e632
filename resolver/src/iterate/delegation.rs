//! Delegation points: the zone whose servers we ask next, their names and the
//! addresses known so far, and which were already tried.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::Name;

/// How a delegation point's servers are to be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// Authoritative servers found by iteration (RD=0, bailiwick = zone).
    Iterative,
    /// `stub-zone:` authoritative servers (RD=0).
    Stub {
        /// `stub-first:` fall back to iteration on failure.
        first: bool,
    },
    /// `forward-zone:` recursive upstreams (RD=1, answers trusted for any name).
    Forward {
        /// `forward-first:` fall back to iteration on failure.
        first: bool,
        /// TLS names per address, when `forward-tls-upstream` is on.
        tls: HashMap<SocketAddr, String>,
    },
}

/// Where to ask next.
#[derive(Clone, Debug)]
pub struct DelegationPoint {
    /// The zone the servers are authoritative for (or forward for).
    pub zone: Name,
    /// NS names whose addresses are not yet known.
    pub unresolved: Vec<Name>,
    /// Known server addresses.
    pub addrs: Vec<SocketAddr>,
    /// Attempts made per address during this resolution.
    pub attempts: HashMap<SocketAddr, u8>,
    /// How to ask.
    pub kind: ServerKind,
}

impl DelegationPoint {
    /// A delegation point with known addresses and names still to resolve.
    pub fn new(
        zone: Name,
        addrs: Vec<SocketAddr>,
        unresolved: Vec<Name>,
        kind: ServerKind,
    ) -> Self {
        Self {
            zone,
            unresolved,
            addrs,
            attempts: HashMap::new(),
            kind,
        }
    }

    /// Addresses that may still be tried (each at most `max_attempts` times).
    pub fn candidates(&self, max_attempts: u8) -> Vec<IpAddr> {
        self.addrs
            .iter()
            .filter(|a| self.attempts.get(*a).copied().unwrap_or(0) < max_attempts)
            .map(SocketAddr::ip)
            .collect()
    }

    /// The socket address (with port) for a chosen IP.
    pub fn socket_for(&self, ip: IpAddr) -> Option<SocketAddr> {
        self.addrs.iter().copied().find(|a| a.ip() == ip)
    }

    /// Counts an attempt on `addr`.
    pub fn attempted(&mut self, addr: SocketAddr) {
        *self.attempts.entry(addr).or_insert(0) += 1;
    }

    /// Rules `addr` out for the rest of this resolution (lame, broken).
    pub fn exclude(&mut self, addr: SocketAddr) {
        self.attempts.insert(addr, u8::MAX);
    }

    /// Adds newly resolved addresses (port 53), skipping known ones.
    pub fn add_addrs(&mut self, ips: impl IntoIterator<Item = IpAddr>) {
        for ip in ips {
            let addr = SocketAddr::new(ip, 53);
            if !self.addrs.contains(&addr) {
                self.addrs.push(addr);
            }
        }
    }

    /// True for forwarders (recursive upstreams).
    pub fn is_forward(&self) -> bool {
        matches!(self.kind, ServerKind::Forward { .. })
    }

    /// True when a failure should fall back to iteration (forward-first / stub-first).
    pub fn falls_back(&self) -> bool {
        matches!(
            self.kind,
            ServerKind::Forward { first: true, .. } | ServerKind::Stub { first: true }
        )
    }
}
