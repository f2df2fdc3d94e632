//! The message types: DISCOVER and REQUEST through Kea's allocation engine
//! order (reservation, the client's lease, its requested address, a free
//! one, subnet after subnet of a shared network), RELEASE, DECLINE, INFORM.

use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;

use crate::alloc::{Access, AllocError, ClientKey, SubnetAllocator};
use crate::classify::Packet;
use crate::lease::{Lease, LeaseState};

use super::classes::ClassSet;
use super::hosts::Found;
use super::request::Request;
use super::{Outcome, Received, Server, OFFER_HOLD_SECS};

/// One request being served, classified and with its hosts found.
pub(super) struct Exchange<'r, 'a> {
    pub request: &'r Request<'a>,
    pub packet: &'r Packet<'a>,
    pub set: &'r mut ClassSet,
    pub hosts: &'r Found,
    /// The subnet selection chose.
    pub selected: usize,
    /// Option 54 for the reply.
    pub server_id: Ipv4Addr,
    pub now: u64,
}

impl Server {
    /// Runs `f` on subnet `s`'s allocator with what the client may take
    /// there (the pools its classes open, its reserved address).
    fn with_access<T>(
        &mut self,
        s: usize,
        set: &ClassSet,
        hosts: &Found,
        f: impl FnOnce(&mut SubnetAllocator, &Access<'_>) -> T,
    ) -> Option<T> {
        let reservation = self.reserved_address(s, hosts);
        let subnet = self.subnets.get_mut(s)?;
        let guards = &subnet.pool_guards;
        let allowed = |pool: usize| set.allows(guards.get(pool).copied().flatten());
        let access = Access {
            pool_allowed: &allowed,
            reservation,
        };
        Some(f(&mut subnet.alloc, &access))
    }

    /// The client's key in subnet `s`.
    fn client(&self, s: usize, request: &Request<'_>) -> ClientKey {
        self.key(s, request.client_id, request.hwaddr)
    }

    /// Holds `addr` in subnet `s` for the client, when it may have it.
    fn hold(&mut self, s: usize, addr: Ipv4Addr, cx: &Exchange<'_, '_>) -> bool {
        let key = self.client(s, cx.request);
        let (now, hold) = (cx.now, cx.now + OFFER_HOLD_SECS);
        self.with_access(s, cx.set, cx.hosts, |alloc, access| {
            alloc.offer_addr(&key, addr, now, hold, access).is_ok()
        }) == Some(true)
    }

    /// The subnets of the walk from `start` the client may use.
    fn walk(&self, start: usize, set: &ClassSet) -> impl Iterator<Item = usize> + '_ {
        let supported: Vec<usize> = (0..self.ring_len(start))
            .map(|k| self.ring_at(start, k))
            .filter(|&s| self.supports(s, set))
            .collect();
        supported.into_iter()
    }

    /// DISCOVER: an address held for the client and an OFFER (Kea's
    /// discoverLease4), or silence when there is none.
    pub(super) fn discover(&mut self, cx: &mut Exchange<'_, '_>) -> Outcome {
        let chosen = self.choose(cx);
        let Some((s, addr)) = chosen else {
            let id = self.subnets.get(cx.selected).map_or(0, |s| s.id);
            return Outcome {
                allocation_failed: Some(id),
                ..Outcome::silent(Received::Discover)
            };
        };
        let lifetime = self.lifetime_for(s, cx.set, cx.request);
        let reply = self.answer(cx, s, MessageType::Offer, addr, Some(lifetime));
        Outcome {
            received: Received::Discover,
            reply: Some(reply),
            changes: Vec::new(),
            allocation_failed: None,
            assigned: None,
        }
    }

    /// The subnet and address to offer, in Kea's order.
    fn choose(&mut self, cx: &Exchange<'_, '_>) -> Option<(usize, Ipv4Addr)> {
        if let Some((s, addr)) = self.address_reservation(cx.selected, cx.hosts, cx.set) {
            if self.hold(s, addr, cx) {
                return Some((s, addr));
            }
        }
        let walk: Vec<usize> = self.walk(cx.selected, cx.set).collect();
        // The client's own address (offered or leased) in the first subnet
        // where it has one, unless a reservation or a pool guard now keeps
        // it from it.
        for &s in &walk {
            let key = self.client(s, cx.request);
            let Some(current) = self.subnets.get(s).and_then(|sub| sub.alloc.current(&key)) else {
                continue;
            };
            if self.hold(s, current, cx) {
                return Some((s, current));
            }
            break;
        }
        // The address its reclaimed lease had (Kea finds the client's
        // expired lease before it looks at the address asked for).
        for &s in &walk {
            let key = self.client(s, cx.request);
            let id = self.subnets.get(s).map_or(0, |sub| sub.id);
            let Some(&previous) = self.previous.get(&(id, key)) else {
                continue;
            };
            if self.hold(s, previous, cx) {
                return Some((s, previous));
            }
        }
        // The address it asks for, in the subnet whose pools hold it.
        if let Some(hint) = cx.request.requested {
            let in_pool = walk.iter().copied().find(|&s| {
                self.with_access(s, cx.set, cx.hosts, |alloc, access| {
                    alloc.in_allowed_pool(hint, access)
                }) == Some(true)
            });
            if let Some(s) = in_pool.filter(|&s| self.hold(s, hint, cx)) {
                return Some((s, hint));
            }
        }
        self.allocate_free(cx)
    }

    /// A free address, from the subnet that last gave one out (Kea's
    /// getPreferredSubnet) and on to the next subnet when one is full.
    fn allocate_free(&mut self, cx: &Exchange<'_, '_>) -> Option<(usize, Ipv4Addr)> {
        let start = self.preferred(cx.selected);
        let hold = cx.now + OFFER_HOLD_SECS;
        for s in self.walk(start, cx.set).collect::<Vec<_>>() {
            let key = self.client(s, cx.request);
            let offered = self.with_access(s, cx.set, cx.hosts, |alloc, access| {
                alloc.offer_free(&key, hold, access)
            });
            if let Some(Ok(addr)) = offered {
                let network = self.subnets.get(s).and_then(|sub| sub.shared);
                if let Some(network) = network.and_then(|n| self.networks.get_mut(n)) {
                    network.last_allocated = Some(s);
                }
                return Some((s, addr));
            }
        }
        None
    }

    /// The subnet of `selected`'s network that last gave out a free
    /// address, when it has the same class guard; else `selected`.
    fn preferred(&self, selected: usize) -> usize {
        let Some(subnet) = self.subnets.get(selected) else {
            return selected;
        };
        let last = subnet
            .shared
            .and_then(|n| self.networks.get(n))
            .and_then(|n| n.last_allocated);
        match last.and_then(|l| Some((l, self.subnets.get(l)?))) {
            Some((l, other)) if other.guard == subnet.guard => l,
            _ => selected,
        }
    }

    /// The client's lease in the walk from `selected`, with its subnet.
    fn lease_in_walk(&self, cx: &Exchange<'_, '_>) -> Option<(usize, Ipv4Addr)> {
        self.walk(cx.selected, cx.set).find_map(|s| {
            let key = self.client(s, cx.request);
            Some((s, self.subnets.get(s)?.alloc.lease_of(&key)?))
        })
    }

    /// REQUEST: the lease committed and an ACK, a NAK, or silence, as Kea's
    /// assignLease and requestLease4 decide.
    pub(super) fn request(&mut self, cx: &mut Exchange<'_, '_>) -> Outcome {
        let request = cx.request;
        let ciaddr = request.message.ciaddr();
        let authoritative = self.config_of(cx.selected).is_some_and(|c| c.authoritative);
        let addr = if let Some(chosen) = request.server_id {
            // SELECTING: the client answers one server's offer.
            if chosen != cx.server_id {
                for s in self.walk(cx.selected, cx.set).collect::<Vec<_>>() {
                    let key = self.client(s, request);
                    if let Some(subnet) = self.subnets.get_mut(s) {
                        subnet.alloc.withdraw_offer(&key);
                    }
                }
                return Outcome::silent(Received::Request);
            }
            match request
                .requested
                .or(Some(ciaddr).filter(|a| !a.is_unspecified()))
            {
                Some(addr) => addr,
                None => return Outcome::silent(Received::Drop),
            }
        } else if let Some(requested) = request.requested {
            // INIT-REBOOT: the client checks the address it remembers. An
            // unknown client gets silence, or a NAK when authoritative.
            match self.lease_in_walk(cx) {
                Some((_, known)) if known == requested => {}
                Some(_) => return self.nak(cx.request, cx.server_id),
                None if !authoritative => return Outcome::silent(Received::Request),
                None => return self.nak(cx.request, cx.server_id),
            }
            requested
        } else if !ciaddr.is_unspecified() {
            // RENEWING (unicast) or REBINDING (broadcast).
            ciaddr
        } else {
            return Outcome::silent(Received::Drop);
        };
        self.commit(cx, addr)
    }

    /// Leases `addr` to the client and ACKs it, or NAKs.
    fn commit(&mut self, cx: &mut Exchange<'_, '_>, addr: Ipv4Addr) -> Outcome {
        let (request, now) = (cx.request, cx.now);
        let walk: Vec<usize> = self.walk(cx.selected, cx.set).collect();
        let holding = walk
            .iter()
            .copied()
            .find(|&s| self.subnets.get(s).is_some_and(|sub| sub.contains(addr)));
        let Some(s) = holding else {
            // Kea drops a request for an address no subnet of its network
            // has (DHCP4_UNKNOWN_ADDRESS_REQUESTED).
            return Outcome::silent(Received::Request);
        };
        // A client with a reservation asking for another address is NAKed
        // while its reserved one is free (Kea's requestLease4).
        if let Some((rs, reserved)) = self.address_reservation(cx.selected, cx.hosts, cx.set) {
            let key = self.client(rs, request);
            let free = self.with_access(rs, cx.set, cx.hosts, |alloc, access| {
                alloc.may_take(&key, reserved, now, access)
            }) == Some(true);
            if reserved != addr && free {
                return self.nak(cx.request, cx.server_id);
            }
        }
        let key = self.client(s, request);
        let lifetime = self.lifetime_for(s, cx.set, request);
        let expire = now + u64::from(lifetime);
        let previous = self.subnets.get(s).and_then(|sub| sub.alloc.lease_of(&key));
        let committed = self.with_access(s, cx.set, cx.hosts, |alloc, access| {
            alloc.commit(&key, addr, now, expire, access)
        });
        match committed {
            Some(Ok(())) => {}
            Some(Err(AllocError::OutOfPool(_))) if !self.in_some_pool(&walk, addr) => {
                // Kea drops a request for an address no pool knows.
                return Outcome::silent(Received::Request);
            }
            _ => return self.nak(cx.request, cx.server_id),
        }
        let mut changes = Vec::with_capacity(2);
        let mut gone = previous
            .filter(|old| *old != addr)
            .into_iter()
            .collect::<Vec<_>>();
        // A lease the client had in another subnet of the network ends.
        for &other in walk.iter().filter(|&&o| o != s) {
            let key = self.client(other, request);
            if let Some(subnet) = self.subnets.get_mut(other) {
                if let Some(old) = subnet.alloc.lease_of(&key) {
                    subnet.alloc.release(&key, old);
                    gone.push(old);
                }
            }
        }
        for old in gone {
            if let Some(mut ended) = self.leases.remove(&old) {
                ended.valid_lifetime = 0;
                changes.push(ended);
            }
        }
        let id = self.subnets.get(s).map_or(0, |sub| sub.id);
        self.previous.remove(&(id, key));
        let reply = self.answer(cx, s, MessageType::Ack, addr, Some(lifetime));
        let lease = Lease {
            address: addr,
            hwaddr: request.hwaddr.to_vec(),
            client_id: request.client_id.map(<[u8]>::to_vec),
            valid_lifetime: lifetime,
            expire,
            subnet_id: id,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: self.lease_hostname(s, cx, addr),
            state: LeaseState::Default,
            user_context: String::new(),
        };
        changes.push(lease.clone());
        self.leases.insert(addr, lease);
        Outcome {
            received: Received::Request,
            reply: Some(reply),
            changes,
            allocation_failed: None,
            assigned: (previous != Some(addr)).then_some(id),
        }
    }

    /// Whether a pool of one of `subnets` holds `addr`, whoever may use it.
    fn in_some_pool(&self, subnets: &[usize], addr: Ipv4Addr) -> bool {
        subnets.iter().any(|&s| {
            self.subnets
                .get(s)
                .is_some_and(|sub| sub.alloc.in_allowed_pool(addr, &Access::OPEN))
        })
    }

    /// RELEASE: the client's lease ends.
    pub(super) fn release(
        &mut self,
        selected: usize,
        request: &Request<'_>,
        server_id: Ipv4Addr,
    ) -> Outcome {
        if request.server_id.is_some_and(|id| id != server_id) {
            return Outcome::silent(Received::Release);
        }
        let addr = request.message.ciaddr();
        let mut outcome = Outcome::silent(Received::Release);
        let Some(s) = self.lease_subnet(selected, addr) else {
            return outcome;
        };
        let key = self.client(s, request);
        let Some(subnet) = self.subnets.get_mut(s) else {
            return outcome;
        };
        if subnet.alloc.lease_of(&key) == Some(addr) && subnet.alloc.release(&key, addr) {
            if let Some(mut gone) = self.leases.remove(&addr) {
                gone.valid_lifetime = 0;
                outcome.changes.push(gone);
            }
        }
        outcome
    }

    /// The subnet of `selected`'s walk (guards aside) holding `addr`.
    fn lease_subnet(&self, selected: usize, addr: Ipv4Addr) -> Option<usize> {
        (0..self.ring_len(selected))
            .map(|k| self.ring_at(selected, k))
            .find(|&s| self.subnets.get(s).is_some_and(|sub| sub.contains(addr)))
    }

    /// DECLINE: the address is in use by someone else; quarantined.
    pub(super) fn decline(
        &mut self,
        selected: usize,
        request: &Request<'_>,
        server_id: Ipv4Addr,
        now: u64,
    ) -> Outcome {
        if request.server_id.is_some_and(|id| id != server_id) {
            return Outcome::silent(Received::Decline);
        }
        let mut outcome = Outcome::silent(Received::Decline);
        let Some(addr) = request.requested else {
            return outcome;
        };
        let Some(s) = self.lease_subnet(selected, addr) else {
            return outcome;
        };
        let key = self.client(s, request);
        let probation = self.config.decline_probation_period;
        let until = now + u64::from(probation);
        let Some(subnet) = self.subnets.get_mut(s) else {
            return outcome;
        };
        if subnet.alloc.lease_of(&key) == Some(addr) && subnet.alloc.decline(&key, addr, until) {
            // Kea keeps a declined lease without its client's identity.
            let lease = Lease {
                address: addr,
                hwaddr: Vec::new(),
                client_id: None,
                valid_lifetime: probation.max(1),
                expire: until,
                subnet_id: subnet.id,
                fqdn_fwd: false,
                fqdn_rev: false,
                hostname: String::new(),
                state: LeaseState::Declined,
                user_context: String::new(),
            };
            outcome.changes.push(lease.clone());
            self.leases.insert(addr, lease);
        }
        outcome
    }

    /// INFORM: options, no address, no lease.
    pub(super) fn inform(&mut self, cx: &mut Exchange<'_, '_>) -> Outcome {
        let reply = self.answer(
            cx,
            cx.selected,
            MessageType::Ack,
            Ipv4Addr::UNSPECIFIED,
            None,
        );
        Outcome {
            received: Received::Inform,
            reply: Some(reply),
            changes: Vec::new(),
            allocation_failed: None,
            assigned: None,
        }
    }
}
