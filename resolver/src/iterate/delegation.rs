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
    /// Every NS name this delegation has named, resolved or not: the
    /// parent-side fallback adds only names not among them.
    pub known_names: Vec<Name>,
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
    /// Servers whose replies failed the 0x20 check in this resolution: asked
    /// again without it in the use-caps-for-id fallback.
    pub caps_failed: Vec<SocketAddr>,
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
            known_names: unresolved.clone(),
            unresolved,
            addrs,
            failures: HashMap::new(),
            target_fetches: 0,
            kind,
            parent_side: None,
            caps_failed: Vec::new(),
        }
    }

    /// Adds the parent-side glue addresses and the NS names this delegation
    /// has not named yet (once), with a fresh allowance of target fetches for
    /// them: returns true when that gave something new to try.
    pub fn fall_back_to_parent_side(&mut self) -> bool {
        let Some(parent) = self.parent_side.take() else {
            return false;
        };
        let known = self.addrs.len();
        self.add_addrs(parent.addrs.iter().copied());
        let mut added = self.addrs.len() > known;
        let mut new_names = false;
        for name in &parent.glueless {
            if !self.known_names.contains(name) {
                self.known_names.push(name.clone());
                self.unresolved.push(name.clone());
                new_names = true;
            }
        }
        if new_names {
            self.target_fetches = 0;
            added = true;
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

    /// Failed exchanges counted so far (timeouts and the like; servers ruled
    /// out do not count).
    pub fn timeouts(&self) -> u32 {
        self.failures
            .values()
            .filter(|&&count| count != u8::MAX)
            .map(|&count| u32::from(count))
            .sum()
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
    fn parent_side_adds_only_names_not_already_named_and_only_once() {
        use hickory_proto::rr::{rdata::NS, RData, Record};
        use tokio::time::Instant;
        let zone = Name::from_ascii("gl.com.").unwrap();
        let named = Name::from_ascii("ns.a.net.").unwrap();
        let fresh = Name::from_ascii("ns.c.net.").unwrap();
        let ns: Vec<Record> = [&named, &fresh]
            .into_iter()
            .map(|n| Record::from_rdata(zone.clone(), 3600, RData::NS(NS(n.clone()))))
            .collect();
        let parents = super::super::learn::ParentSide::default();
        let now = Instant::now();
        parents.store(&zone, &ns, &[], now);
        let mut dp = DelegationPoint::new(
            zone.clone(),
            Vec::new(),
            vec![named.clone()],
            ServerKind::Iterative,
        );
        dp.unresolved.clear();
        dp.target_fetches = 6;
        dp.parent_side = parents.get(&zone, now);
        assert!(dp.fall_back_to_parent_side());
        assert_eq!(dp.unresolved, vec![fresh]);
        assert_eq!(dp.target_fetches, 0);
        assert!(!dp.fall_back_to_parent_side(), "only once");
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
