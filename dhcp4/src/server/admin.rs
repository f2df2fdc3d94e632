//! Leases changed from outside the protocol: an operator's lease commands
//! (Kea's lease_cmds) and the HA partner's lease updates. Each change keeps
//! the allocator and the lease table in step and returns the entries to
//! append to the lease file.

use std::net::Ipv4Addr;

use crate::alloc::Access;
use crate::lease::{Lease, LeaseState};

use super::Server;

/// Why a lease cannot be written as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No configured subnet holds the address (or not the one named).
    #[error("{0}")]
    NoSubnet(String),
    /// `lease4-add` of an address that already has a lease.
    #[error("IPv4 lease already exists.")]
    Exists,
    /// `lease4-update` of an address that has none (without force-create).
    #[error("failed to update the lease with address {0} - no such lease")]
    Missing(Ipv4Addr),
    /// The allocator refused the address.
    #[error("{0}")]
    Refused(String),
}

/// What a successful add or update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The address had no lease: one was created.
    Added,
    /// The address's lease was replaced.
    Updated,
}

impl Server {
    /// The index of the subnet that holds `addr`: subnet `id` when given
    /// (non-zero), else the first subnet whose range holds it.
    fn admin_subnet(&self, addr: Ipv4Addr, id: u32) -> Result<usize, AdminError> {
        if id == 0 {
            return self
                .subnets
                .iter()
                .position(|s| s.contains(addr))
                .ok_or_else(|| {
                    AdminError::NoSubnet(format!(
                        "subnet-id not specified and failed to find a subnet for address {addr}"
                    ))
                });
        }
        let Some(index) = self.subnets.iter().position(|s| s.id == id) else {
            return Err(AdminError::NoSubnet(format!(
                "Invalid subnet-id: No IPv4 subnet with subnet-id={id} currently configured."
            )));
        };
        if self.subnets.get(index).is_some_and(|s| s.contains(addr)) {
            return Ok(index);
        }
        let prefix = self
            .subnets
            .get(index)
            .and_then(|s| self.config.subnets.get(s.cfg))
            .map_or_else(String::new, |s| format!("{}/{}", s.network, s.prefix_len));
        Err(AdminError::NoSubnet(format!(
            "The address {addr} does not belong to subnet {prefix}, subnet-id={id}"
        )))
    }

    /// Writes `lease` (`lease4-add` when `replace` is false, else
    /// `lease4-update` with `force_create`) at Unix time `now`. Returns what
    /// it did and the lease file entries.
    pub fn write_lease(
        &mut self,
        mut lease: Lease,
        replace: bool,
        force_create: bool,
        now: u64,
    ) -> Result<(Written, Vec<Lease>), AdminError> {
        let index = self.admin_subnet(lease.address, lease.subnet_id)?;
        let existed = self
            .leases
            .get(&lease.address)
            .is_some_and(|l| !l.is_deletion());
        match (existed, replace) {
            (true, false) => return Err(AdminError::Exists),
            (false, true) if !force_create => return Err(AdminError::Missing(lease.address)),
            _ => {}
        }
        let Some(subnet) = self.subnets.get(index) else {
            return Err(AdminError::NoSubnet(format!(
                "no subnet for {}",
                lease.address
            )));
        };
        lease.subnet_id = subnet.id;
        let key = self.key(index, lease.client_id.as_deref(), &lease.hwaddr);
        let mut changes = Vec::new();
        // The client's lease at another address in this subnet gives way:
        // the allocator keeps one per client per subnet.
        let previous = subnet.alloc.lease_of(&key).filter(|&a| a != lease.address);
        if let Some(old) = previous {
            if let Some(mut gone) = self.leases.remove(&old) {
                gone.valid_lifetime = 0;
                changes.push(gone);
            }
        }
        let Some(subnet) = self.subnets.get_mut(index) else {
            return Err(AdminError::NoSubnet(format!(
                "no subnet for {}",
                lease.address
            )));
        };
        subnet.alloc.vacate(lease.address);
        if let Some(old) = previous {
            subnet.alloc.vacate(old);
        }
        match lease.state {
            LeaseState::Declined => subnet.alloc.quarantine(lease.address, lease.expire),
            LeaseState::Default | LeaseState::ExpiredReclaimed => {
                let access = Access {
                    pool_allowed: &|_| true,
                    reservation: Some(lease.address),
                };
                let expire = if lease.state == LeaseState::Default {
                    lease.expire
                } else {
                    now.min(lease.expire)
                };
                subnet
                    .alloc
                    .commit(&key, lease.address, now, expire, &access)
                    .map_err(|e| AdminError::Refused(e.to_string()))?;
            }
        }
        changes.push(lease.clone());
        self.leases.insert(lease.address, lease);
        let written = if existed {
            Written::Updated
        } else {
            Written::Added
        };
        Ok((written, changes))
    }

    /// Takes a lease from the HA partner's lease database (Kea's sync): one
    /// we lack, or one whose last transmission is newer than ours. Returns
    /// the lease file entries (none when ours is as new).
    ///
    /// Our allocator keeps one lease per client per subnet, so a partner's
    /// lease for a client that holds another address here is taken only
    /// when it is active and newer than that one (the client moved); an
    /// older one, or one the partner keeps only as history (expired,
    /// reclaimed), never evicts the client's current lease: that would free
    /// an address the client still uses.
    pub fn merge_lease(&mut self, lease: Lease, now: u64) -> Result<Vec<Lease>, AdminError> {
        let cltt = |l: &Lease| l.expire.saturating_sub(u64::from(l.valid_lifetime));
        if let Some(ours) = self.leases.get(&lease.address) {
            if !ours.is_deletion() && cltt(ours) >= cltt(&lease) {
                return Ok(Vec::new());
            }
        }
        let index = self.admin_subnet(lease.address, lease.subnet_id)?;
        let key = self.key(index, lease.client_id.as_deref(), &lease.hwaddr);
        let elsewhere = self
            .subnets
            .get(index)
            .and_then(|s| s.alloc.lease_of(&key))
            .filter(|&a| a != lease.address)
            .and_then(|a| self.leases.get(&a));
        if let Some(current) = elsewhere {
            let active = lease.state == LeaseState::Default && !lease.expired_at(now);
            if !active || cltt(current) >= cltt(&lease) {
                return Ok(Vec::new());
            }
        }
        self.write_lease(lease, true, true, now)
            .map(|(_, changes)| changes)
    }

    /// Deletes the lease of `addr` (`lease4-del`): the entry to append, or
    /// `None` when there was none.
    pub fn delete_lease(&mut self, addr: Ipv4Addr) -> Option<Lease> {
        let mut gone = self.leases.remove(&addr)?;
        if let Some(subnet) = self.subnets.iter_mut().find(|s| s.contains(addr)) {
            subnet.alloc.vacate(addr);
        }
        self.previous.retain(|_, a| *a != addr);
        gone.valid_lifetime = 0;
        Some(gone)
    }

    /// Deletes every lease of subnet `id`, or of every subnet (`lease4-wipe`):
    /// the entries to append.
    pub fn wipe_leases(&mut self, id: Option<u32>) -> Vec<Lease> {
        let doomed: Vec<Ipv4Addr> = self
            .leases
            .values()
            .filter(|l| id.is_none_or(|id| l.subnet_id == id))
            .map(|l| l.address)
            .collect();
        doomed
            .into_iter()
            .filter_map(|addr| self.delete_lease(addr))
            .collect()
    }

    /// The default valid lifetime of the subnet that would hold `addr`
    /// (subnet `id` when non-zero), for a lease written without one; or
    /// Kea's reason why no subnet holds it.
    pub fn default_lifetime(&self, id: u32, addr: Ipv4Addr) -> Result<u32, AdminError> {
        let index = self.admin_subnet(addr, id)?;
        self.subnets
            .get(index)
            .and_then(|subnet| self.config.subnets.get(subnet.cfg))
            .map(|s| s.lifetime.default)
            .ok_or_else(|| AdminError::NoSubnet(format!("no subnet for {addr}")))
    }

    /// Whether a subnet with this id is configured.
    pub fn has_subnet(&self, id: u32) -> bool {
        self.subnets.iter().any(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tests_kea::{config, ip, pool, subnet};

    fn lease(addr: &str, mac: u8, cltt: u64, state: LeaseState) -> Lease {
        Lease {
            address: ip(addr),
            hwaddr: vec![2, 0, 0, 0, 0, mac],
            client_id: None,
            valid_lifetime: 3600,
            expire: cltt + 3600,
            subnet_id: 1,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state,
            user_context: String::new(),
        }
    }

    fn server() -> Server {
        Server::new(&config(vec![subnet(
            1,
            vec![pool("10.0.1.10", "10.0.1.20", None)],
        )]))
    }

    #[test]
    fn a_partners_older_or_historic_lease_never_evicts_the_clients_current_one() {
        let now = 10_000;
        let mut server = server();
        let taken = server.merge_lease(lease("10.0.1.11", 7, now - 10, LeaseState::Default), now);
        assert_eq!(taken.map(|c| c.len()), Ok(1));
        // The partner still lists the client's older lease at .12, and a
        // reclaimed one at .13: both are skipped, .11 stays the client's.
        for old in [
            lease("10.0.1.12", 7, now - 100, LeaseState::Default),
            lease("10.0.1.13", 7, now, LeaseState::ExpiredReclaimed),
        ] {
            assert_eq!(server.merge_lease(old, now), Ok(Vec::new()));
        }
        assert!(server
            .lease(ip("10.0.1.11"))
            .is_some_and(|l| !l.is_deletion()));
        assert!(server.lease(ip("10.0.1.12")).is_none());
        // A newer active lease elsewhere means the client moved: taken, and
        // the old address is written as deleted.
        let moved = server.merge_lease(lease("10.0.1.14", 7, now - 1, LeaseState::Default), now);
        let changes = moved.unwrap_or_default();
        assert_eq!(changes.len(), 2);
        assert!(changes[0].is_deletion() && changes[0].address == ip("10.0.1.11"));
        // At the same address, the newer cltt wins either way.
        assert_eq!(
            server.merge_lease(lease("10.0.1.14", 7, now - 5, LeaseState::Default), now),
            Ok(Vec::new())
        );
    }

    #[test]
    fn lease_commands_keep_the_allocator_in_step() {
        let now = 10_000;
        let mut server = server();
        let added = server.write_lease(
            lease("10.0.1.15", 1, now, LeaseState::Default),
            false,
            false,
            now,
        );
        assert!(matches!(added, Ok((Written::Added, _))));
        let again = server.write_lease(
            lease("10.0.1.15", 2, now, LeaseState::Default),
            false,
            false,
            now,
        );
        assert_eq!(again.map(|(w, _)| w), Err(AdminError::Exists));
        let missing = server.write_lease(
            lease("10.0.1.16", 2, now, LeaseState::Default),
            true,
            false,
            now,
        );
        assert_eq!(
            missing.map(|(w, _)| w),
            Err(AdminError::Missing(ip("10.0.1.16")))
        );
        let outside = server.write_lease(
            lease("10.9.0.1", 2, now, LeaseState::Default),
            false,
            false,
            now,
        );
        assert!(matches!(outside, Err(AdminError::NoSubnet(_))));
        assert_eq!(server.stats()[0].assigned, 1);
        assert!(server
            .delete_lease(ip("10.0.1.15"))
            .is_some_and(|l| l.is_deletion()));
        assert_eq!(server.stats()[0].assigned, 0);
        assert_eq!(server.wipe_leases(None), Vec::new());
    }
}
