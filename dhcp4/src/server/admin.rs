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
    pub fn merge_lease(&mut self, lease: Lease, now: u64) -> Result<Vec<Lease>, AdminError> {
        let cltt = |l: &Lease| l.expire.saturating_sub(u64::from(l.valid_lifetime));
        if let Some(ours) = self.leases.get(&lease.address) {
            if !ours.is_deletion() && cltt(ours) >= cltt(&lease) {
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
