//! Delegation points: the zone whose servers we ask next, their names and the
//! addresses known so far, and which were already tried.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::rr::Name;

use super::learn::ParentDelegation;

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
    /// Failed exchanges (timeouts, errors) per address during this resolution;
    /// successful ones do not count, so a zone asked many times (QNAME
    /// minimisation, deep names) never runs out of servers.
    pub failures: HashMap<SocketAddr, u8>,
    /// NS-name address lookups started for this delegation (NXNS defence).
    pub target_fetches: u8,
    /// How to ask.
    pub kind: ServerKind,
    /// The parent's NS names and glue for this zone, not yet tried: the last
    /// resort when the servers and addresses the child gave all fail.
    pub parent_side: Option<Arc<ParentDelegation>>,
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
            failures: HashMap::new(),
            target_fetches: 0,
            kind,
            parent_side: None,
        }
    }

    /// Adds the parent-side glue addresses and NS names (once): returns true
    /// when that gave an address or a name to resolve that was not there yet.
    pub fn fall_back_to_parent_side(&mut self) -> bool {
        let Some(parent) = self.parent_side.take() else {
            return false;
        };
        let known = self.addrs.len();
        self.add_addrs(parent.addrs.iter().copied());
        let mut added = self.addrs.len() > known;
        for name in &parent.glueless {
            if !self.unresolved.contains(name) {
                self.unresolved.push(name.clone());
                added = true;
            }
        }
        if added {
            tracing::debug!(zone = %self.zone, "child's servers failed; trying the parent's NS and glue");
        }
        added
    }

    /// Addresses that have failed fewer than `max_failures` times.
    pub fn candidates(&self, max_failures: u8) -> Vec<SocketAddr> {
        self.addrs
            .iter()
            .copied()
            .filter(|a| self.failures_of(*a) < max_failures)
            .collect()
    }

    /// Failures recorded for `addr`.
    pub fn failures_of(&self, addr: SocketAddr) -> u8 {
        self.failures.get(&addr).copied().unwrap_or(0)
    }

    /// Counts a failed exchange with `addr`.
    pub fn failed(&mut self, addr: SocketAddr) {
        let count = self.failures.entry(addr).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Rules `addr` out for the rest of this resolution (lame, broken).
    pub fn exclude(&mut self, addr: SocketAddr) {
        self.failures.insert(addr, u8::MAX);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_server_stays_excluded_and_counts_saturate() {
        let addr: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let mut dp =
            DelegationPoint::new(Name::root(), vec![addr], Vec::new(), ServerKind::Iterative);
        dp.exclude(addr);
        dp.failed(addr);
        assert_eq!(dp.failures_of(addr), u8::MAX);
        assert!(dp.candidates(5).is_empty());
    }

    #[test]
    fn same_ip_on_two_ports_are_distinct_servers() {
        let dead: SocketAddr = "127.0.0.12:5399".parse().unwrap();
        let live: SocketAddr = "127.0.0.12:53".parse().unwrap();
        let mut dp = DelegationPoint::new(
            Name::root(),
            vec![dead, live],
            Vec::new(),
            ServerKind::Iterative,
        );
        dp.exclude(dead);
        assert_eq!(dp.candidates(5), vec![live]);
    }
}
