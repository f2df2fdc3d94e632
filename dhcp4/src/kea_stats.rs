//! Kea's statistics, under Kea's names, for `statistic-get` and its
//! friends: operators' scripts and Stork read these, where dashboards read
//! the Prometheus metrics.
//!
//! HOT PATH: a packet bumps two atomic counters and their change times; no
//! lock. Per-subnet counters change only on rare events (an allocation
//! failure, a reclamation) and sit behind a mutex; per-subnet address counts
//! are read from the server when asked for.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::server::SubnetStats;

/// The global counters, by Kea's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Every packet received.
    Received,
    /// DHCPDISCOVER received.
    DiscoverReceived,
    /// DHCPOFFER received (a server's packet: dropped).
    OfferReceived,
    /// DHCPREQUEST received.
    RequestReceived,
    /// DHCPACK received (dropped).
    AckReceived,
    /// DHCPNAK received (dropped).
    NakReceived,
    /// DHCPRELEASE received.
    ReleaseReceived,
    /// DHCPDECLINE received.
    DeclineReceived,
    /// DHCPINFORM received.
    InformReceived,
    /// Other message types received.
    UnknownReceived,
    /// Packets that could not be parsed.
    ParseFailed,
    /// Packets dropped for any reason.
    ReceiveDrop,
    /// Every packet sent.
    Sent,
    /// DHCPOFFER sent.
    OfferSent,
    /// DHCPACK sent.
    AckSent,
    /// DHCPNAK sent.
    NakSent,
    /// DISCOVERs and REQUESTs for which no address could be found.
    AllocationFail,
    /// Expired leases reclaimed.
    ReclaimedLeases,
    /// Declined addresses whose probation ended.
    ReclaimedDeclined,
    /// Addresses given to clients that did not hold them (not renewals).
    CumulativeAssigned,
}

/// Every global counter, in the order Kea lists them.
pub const STATS: [Stat; 20] = [
    Stat::AckReceived,
    Stat::AckSent,
    Stat::DeclineReceived,
    Stat::DiscoverReceived,
    Stat::InformReceived,
    Stat::NakReceived,
    Stat::NakSent,
    Stat::OfferReceived,
    Stat::OfferSent,
    Stat::ParseFailed,
    Stat::ReceiveDrop,
    Stat::Received,
    Stat::ReleaseReceived,
    Stat::RequestReceived,
    Stat::Sent,
    Stat::UnknownReceived,
    Stat::ReclaimedDeclined,
    Stat::ReclaimedLeases,
    Stat::AllocationFail,
    Stat::CumulativeAssigned,
];

impl Stat {
    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Received => "pkt4-received",
            Stat::DiscoverReceived => "pkt4-discover-received",
            Stat::OfferReceived => "pkt4-offer-received",
            Stat::RequestReceived => "pkt4-request-received",
            Stat::AckReceived => "pkt4-ack-received",
            Stat::NakReceived => "pkt4-nak-received",
            Stat::ReleaseReceived => "pkt4-release-received",
            Stat::DeclineReceived => "pkt4-decline-received",
            Stat::InformReceived => "pkt4-inform-received",
            Stat::UnknownReceived => "pkt4-unknown-received",
            Stat::ParseFailed => "pkt4-parse-failed",
            Stat::ReceiveDrop => "pkt4-receive-drop",
            Stat::Sent => "pkt4-sent",
            Stat::OfferSent => "pkt4-offer-sent",
            Stat::AckSent => "pkt4-ack-sent",
            Stat::NakSent => "pkt4-nak-sent",
            Stat::AllocationFail => "v4-allocation-fail",
            Stat::ReclaimedLeases => "reclaimed-leases",
            Stat::ReclaimedDeclined => "reclaimed-declined-addresses",
            Stat::CumulativeAssigned => "cumulative-assigned-addresses",
        }
    }

    fn index(self) -> usize {
        STATS.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Per-subnet counters Kea keeps as `subnet[ID].NAME`.
pub const SUBNET_COUNTERS: [&str; 4] = [
    "cumulative-assigned-addresses",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
    "v4-allocation-fail",
];

/// Per-subnet counts read from the allocator.
pub const SUBNET_GAUGES: [&str; 3] = [
    "total-addresses",
    "assigned-addresses",
    "declined-addresses",
];

/// The global count of declined addresses (the sum over the subnets).
pub const GLOBAL_DECLINED: &str = "declined-addresses";

/// One counter: its value and when it last changed (µs since the epoch).
#[derive(Debug, Default)]
struct Counter {
    value: AtomicI64,
    changed: AtomicU64,
}

/// A statistic's value and the time it took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The value.
    pub value: i64,
    /// When it was set.
    pub at: SystemTime,
}

fn micros(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The server's Kea statistics.
#[derive(Debug)]
pub struct Statistics {
    counters: Vec<Counter>,
    subnets: Mutex<BTreeMap<(u32, &'static str), Sample>>,
    /// Counts read from the allocator that an operator reset: the count at
    /// the reset, so they read 0 then and follow the changes from there, as
    /// Kea's do.
    offsets: Mutex<BTreeMap<String, i64>>,
    started: SystemTime,
}

impl Default for Statistics {
    fn default() -> Self {
        let started = SystemTime::now();
        let counters = STATS
            .iter()
            .map(|_| Counter {
                value: AtomicI64::new(0),
                changed: AtomicU64::new(micros(started)),
            })
            .collect();
        Statistics {
            counters,
            subnets: Mutex::new(BTreeMap::new()),
            offsets: Mutex::new(BTreeMap::new()),
            started,
        }
    }
}

impl Statistics {
    /// Adds `by` to `stat`.
    pub fn add(&self, stat: Stat, by: i64) {
        if let Some(counter) = self.counters.get(stat.index()) {
            counter.value.fetch_add(by, Ordering::Relaxed);
            counter
                .changed
                .store(micros(SystemTime::now()), Ordering::Relaxed);
        }
    }

    /// Adds `by` to subnet `id`'s counter `name` (one of [`SUBNET_COUNTERS`]).
    pub fn add_subnet(&self, id: u32, name: &'static str, by: i64) {
        let now = SystemTime::now();
        let mut subnets = self.subnets.lock();
        let sample = subnets.entry((id, name)).or_insert(Sample {
            value: 0,
            at: self.started,
        });
        sample.value += by;
        sample.at = now;
    }

    /// Every statistic with its latest sample, by Kea's name: the global
    /// counters, then per subnet of `subnets` its counters and counts.
    pub fn all(&self, subnets: &[SubnetStats]) -> BTreeMap<String, Sample> {
        let mut all = BTreeMap::new();
        for (stat, counter) in STATS.iter().zip(&self.counters) {
            all.insert(
                stat.name().to_string(),
                Sample {
                    value: counter.value.load(Ordering::Relaxed),
                    at: UNIX_EPOCH + Duration::from_micros(counter.changed.load(Ordering::Relaxed)),
                },
            );
        }
        let kept = self.subnets.lock();
        for subnet in subnets {
            for name in SUBNET_COUNTERS {
                let sample = kept.get(&(subnet.id, name)).copied().unwrap_or(Sample {
                    value: 0,
                    at: self.started,
                });
                all.insert(format!("subnet[{}].{name}", subnet.id), sample);
            }
        }
        drop(kept);
        let now = SystemTime::now();
        let offsets = self.offsets.lock();
        for (name, value) in gauges(subnets) {
            let value = value - offsets.get(&name).copied().unwrap_or(0);
            all.insert(name, Sample { value, at: now });
        }
        all
    }

    /// Sets a statistic back to 0 (`statistic-reset`; counts of
    /// `subnets` read 0 from now on and follow the changes); false when no
    /// statistic has that name.
    pub fn reset(&self, name: &str, subnets: &[SubnetStats]) -> bool {
        let now = SystemTime::now();
        if let Some((gauge, value)) = gauges(subnets).into_iter().find(|(n, _)| n == name) {
            self.offsets.lock().insert(gauge, value);
            return true;
        }
        if let Some(i) = STATS.iter().position(|s| s.name() == name) {
            if let Some(counter) = self.counters.get(i) {
                counter.value.store(0, Ordering::Relaxed);
                counter.changed.store(micros(now), Ordering::Relaxed);
                return true;
            }
        }
        let Some((id, counter)) = subnet_name(name) else {
            return false;
        };
        let Some(&counter) = SUBNET_COUNTERS.iter().find(|c| **c == counter) else {
            return false;
        };
        self.subnets
            .lock()
            .insert((id, counter), Sample { value: 0, at: now });
        true
    }

    /// Sets every statistic back to 0 (`statistic-reset-all`), the counts
    /// of `subnets` included.
    pub fn reset_all(&self, subnets: &[SubnetStats]) {
        self.offsets.lock().extend(gauges(subnets));
        let now = micros(SystemTime::now());
        for counter in &self.counters {
            counter.value.store(0, Ordering::Relaxed);
            counter.changed.store(now, Ordering::Relaxed);
        }
        let at = SystemTime::now();
        for sample in self.subnets.lock().values_mut() {
            *sample = Sample { value: 0, at };
        }
    }
}

/// The counts read from the allocator, by Kea's name: per subnet its
/// addresses, assigned (Kea counts a declined lease as assigned too: it is
/// in the database until its probation ends) and declined ones, and the
/// declined ones of all subnets.
fn gauges(subnets: &[SubnetStats]) -> Vec<(String, i64)> {
    let mut gauges = Vec::with_capacity(subnets.len() * SUBNET_GAUGES.len() + 1);
    let mut declined_total = 0i64;
    for subnet in subnets {
        let counts = [
            i64::try_from(subnet.total).unwrap_or(i64::MAX),
            i64::from(subnet.assigned) + i64::from(subnet.declined),
            i64::from(subnet.declined),
        ];
        declined_total += i64::from(subnet.declined);
        for (name, value) in SUBNET_GAUGES.iter().zip(counts) {
            gauges.push((format!("subnet[{}].{name}", subnet.id), value));
        }
    }
    gauges.push((GLOBAL_DECLINED.to_string(), declined_total));
    gauges
}

/// `subnet[ID].NAME` split into its id and name.
fn subnet_name(name: &str) -> Option<(u32, &str)> {
    let rest = name.strip_prefix("subnet[")?;
    let (id, name) = rest.split_once("].")?;
    Some((id.parse().ok()?, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(id: u32) -> SubnetStats {
        SubnetStats {
            id,
            prefix: "192.0.2.0/24".into(),
            total: 100,
            assigned: 7,
            declined: 1,
        }
    }

    #[test]
    fn counters_and_subnet_figures_under_keas_names() {
        let stats = Statistics::default();
        stats.add(Stat::Received, 3);
        stats.add(Stat::DiscoverReceived, 2);
        stats.add_subnet(5, "reclaimed-leases", 4);
        let all = stats.all(&[subnet(5)]);
        assert_eq!(all.get("pkt4-received").map(|s| s.value), Some(3));
        assert_eq!(all.get("pkt4-discover-received").map(|s| s.value), Some(2));
        assert_eq!(all.get("pkt4-ack-sent").map(|s| s.value), Some(0));
        assert_eq!(
            all.get("subnet[5].reclaimed-leases").map(|s| s.value),
            Some(4)
        );
        assert_eq!(
            all.get("subnet[5].v4-allocation-fail").map(|s| s.value),
            Some(0)
        );
        assert_eq!(
            all.get("subnet[5].total-addresses").map(|s| s.value),
            Some(100)
        );
        assert_eq!(
            all.get("subnet[5].assigned-addresses").map(|s| s.value),
            Some(8),
            "as in Kea, a declined lease is an assigned address too"
        );
        assert_eq!(
            all.get("subnet[5].declined-addresses").map(|s| s.value),
            Some(1)
        );
        let two = stats.all(&[subnet(5), subnet(6)]);
        assert_eq!(
            two.get("declined-addresses").map(|s| s.value),
            Some(2),
            "the global count is the subnets' sum"
        );
    }

    #[test]
    fn resets_set_every_statistic_to_zero_and_counts_follow_changes_from_there() {
        let stats = Statistics::default();
        stats.add(Stat::Received, 3);
        stats.add_subnet(5, "reclaimed-leases", 4);
        let now = [subnet(5)];
        assert!(stats.reset("pkt4-received", &now));
        assert!(stats.reset("subnet[5].reclaimed-leases", &now));
        assert!(stats.reset("subnet[5].assigned-addresses", &now));
        assert!(!stats.reset("no-such-statistic", &now));
        let all = stats.all(&now);
        let value = |all: &BTreeMap<String, Sample>, name: &str| all.get(name).map(|s| s.value);
        assert_eq!(value(&all, "pkt4-received"), Some(0));
        assert_eq!(value(&all, "subnet[5].reclaimed-leases"), Some(0));
        assert_eq!(value(&all, "subnet[5].assigned-addresses"), Some(0));
        // Two more leases after the reset: Kea's count reads 2.
        let mut later = subnet(5);
        later.assigned += 2;
        assert_eq!(
            value(&stats.all(&[later.clone()]), "subnet[5].assigned-addresses"),
            Some(2)
        );
        assert_eq!(
            value(&stats.all(&[later.clone()]), "subnet[5].total-addresses"),
            Some(100)
        );
        stats.add(Stat::Sent, 1);
        stats.reset_all(&[later.clone()]);
        let all = stats.all(&[later]);
        assert_eq!(value(&all, "pkt4-sent"), Some(0));
        assert_eq!(value(&all, "subnet[5].total-addresses"), Some(0));
        assert_eq!(value(&all, "declined-addresses"), Some(0));
    }
}
