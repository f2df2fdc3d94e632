//! The leases the server keeps: taken back from the lease file or across a
//! reload, reclaimed when they run out, counted for the metrics.

use std::net::Ipv4Addr;

use crate::alloc::Access;
use crate::config::model::Config;
use crate::lease::{Lease, LeaseState};

use super::{Restored, Server, SubnetState, SubnetStats};

/// A subnet's figures for the metrics.
fn subnet_stats(config: &Config, subnet: &SubnetState) -> SubnetStats {
    let (assigned, declined) = subnet.alloc.counts();
    let (network, prefix_len) = config
        .subnets
        .get(subnet.cfg)
        .map_or((Ipv4Addr::UNSPECIFIED, 0), |s| (s.network, s.prefix_len));
    SubnetStats {
        id: subnet.id,
        prefix: format!("{network}/{prefix_len}"),
        total: subnet.alloc.total(),
        assigned,
        declined,
    }
}

impl Server {
    /// Takes back the leases read from the lease file at `now`.
    pub fn restore(&mut self, leases: impl IntoIterator<Item = Lease>, now: u64) -> Restored {
        let mut restored = Restored::default();
        for lease in leases {
            let Some(index) = self
                .subnets
                .iter()
                .position(|s| s.id == lease.subnet_id && s.contains(lease.address))
                .or_else(|| self.subnets.iter().position(|s| s.contains(lease.address)))
            else {
                restored
                    .skipped
                    .push((lease.address, "no configured subnet holds it".into()));
                continue;
            };
            let key = self.key(index, lease.client_id.as_deref(), &lease.hwaddr);
            let Some(subnet) = self.subnets.get_mut(index) else {
                continue;
            };
            match lease.state {
                LeaseState::Declined if !lease.expired_at(now) => {
                    subnet.alloc.quarantine(lease.address, lease.expire);
                    restored.declined += 1;
                }
                LeaseState::Default if !lease.expired_at(now) => {
                    // A lease is the client's whatever pool or reservation
                    // it came from.
                    let access = Access {
                        pool_allowed: &|_| true,
                        reservation: Some(lease.address),
                    };
                    let committed =
                        subnet
                            .alloc
                            .commit(&key, lease.address, now, lease.expire, &access);
                    if let Err(error) = committed {
                        restored.skipped.push((lease.address, error.to_string()));
                        continue;
                    }
                    restored.active += 1;
                }
                LeaseState::Declined => continue,
                LeaseState::Default | LeaseState::ExpiredReclaimed => {
                    if lease
                        .expire
                        .saturating_add(u64::from(self.config.hold_reclaimed_time))
                        <= now
                    {
                        continue;
                    }
                    self.previous.insert((subnet.id, key), lease.address);
                    restored.expired += 1;
                }
            }
            let mut lease = lease;
            if lease.state == LeaseState::Default && lease.expired_at(now) {
                lease.state = LeaseState::ExpiredReclaimed;
            }
            self.leases.insert(lease.address, lease);
        }
        restored
    }

    /// Every entry a compacted lease file keeps.
    pub fn entries(&self) -> impl Iterator<Item = &Lease> {
        self.leases.values()
    }

    /// The entry for `addr`, if any.
    pub fn lease(&self, addr: Ipv4Addr) -> Option<&Lease> {
        self.leases.get(&addr)
    }

    /// Per-subnet figures.
    pub fn stats(&self) -> Vec<SubnetStats> {
        self.subnets
            .iter()
            .map(|s| subnet_stats(&self.config, s))
            .collect()
    }

    /// The figures of subnet `id` alone (cheap: no pool walk).
    pub fn subnet_stats(&self, id: u32) -> Option<SubnetStats> {
        self.subnets
            .iter()
            .find(|s| s.id == id)
            .map(|s| subnet_stats(&self.config, s))
    }

    /// Reclaims what ran out by `now` (Kea's expired-leases-processing):
    /// expired leases become "expired-reclaimed" (kept `hold-reclaimed-time`
    /// for their clients' return), quarantines end. Returns the entries to
    /// append to the lease file.
    pub fn reclaim(&mut self, now: u64) -> Vec<Lease> {
        let mut changes = Vec::new();
        for index in 0..self.subnets.len() {
            let Some(subnet) = self.subnets.get_mut(index) else {
                continue;
            };
            let id = subnet.id;
            for addr in subnet.alloc.expire(now) {
                let Some(lease) = self.leases.get_mut(&addr) else {
                    continue;
                };
                if lease.state == LeaseState::Default && lease.expired_at(now) {
                    lease.state = LeaseState::ExpiredReclaimed;
                    changes.push(lease.clone());
                }
            }
            for lease in changes.iter().filter(|l| l.subnet_id == id) {
                let key = self.key(index, lease.client_id.as_deref(), &lease.hwaddr);
                self.previous.insert((id, key), lease.address);
            }
        }
        let hold = u64::from(self.config.hold_reclaimed_time);
        let mut gone = Vec::new();
        self.leases.retain(|_, lease| {
            let keep = match lease.state {
                LeaseState::Default => true,
                LeaseState::Declined => !lease.expired_at(now),
                LeaseState::ExpiredReclaimed => lease.expire.saturating_add(hold) > now,
            };
            if !keep {
                gone.push(lease.clone());
            }
            keep
        });
        for mut lease in gone {
            if lease.state == LeaseState::Declined {
                lease.valid_lifetime = 0;
                changes.push(lease);
            }
        }
        self.previous.retain(|_, addr| {
            self.leases
                .get(addr)
                .is_some_and(|l| l.state == LeaseState::ExpiredReclaimed)
        });
        changes
    }
}
