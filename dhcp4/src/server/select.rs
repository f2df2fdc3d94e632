//! Subnet selection as Kea's CfgSubnets4::selectSubnet, the walk over a
//! shared network's subnets (Kea's getNextSubnet), and what a client may
//! take in each.

use std::net::Ipv4Addr;

use super::classes::ClassSet;
use super::hosts::Found;
use super::request::Request;
use super::{Interface, Server};

impl Server {
    /// The subnet for a request: by link or subnet selection, then by relay
    /// address (a subnet's or its network's), then by the address that
    /// locates the client (giaddr, ciaddr), then by the receiving interface
    /// (its name, then its address), each time the first subnet by id
    /// whose class guards the client passes.
    pub(super) fn select_subnet(
        &self,
        request: &Request<'_>,
        via: &Interface,
        set: &ClassSet,
    ) -> Option<usize> {
        if let Some(addr) = request.selection_address() {
            return self.subnet_for(addr, set);
        }
        let message = request.message;
        let giaddr = message.giaddr();
        if !giaddr.is_unspecified() {
            let by_relay = (0..self.subnets.len()).find(|&s| {
                self.config_of(s)
                    .is_some_and(|c| c.relay_addresses.contains(&giaddr))
                    && self.supports(s, set)
            });
            return by_relay.or_else(|| self.subnet_for(giaddr, set));
        }
        let ciaddr = message.ciaddr();
        if !ciaddr.is_unspecified() {
            return self.subnet_for(ciaddr, set);
        }
        let by_name = (0..self.subnets.len()).find(|&s| {
            self.config_of(s)
                .is_some_and(|c| c.interface.as_deref() == Some(via.name.as_str()))
                && self.supports(s, set)
        });
        by_name.or_else(|| self.subnet_for(via.addr?, set))
    }

    /// The first subnet (by id) holding `addr` that the client may use.
    fn subnet_for(&self, addr: Ipv4Addr, set: &ClassSet) -> Option<usize> {
        (0..self.subnets.len()).find(|&s| {
            self.subnets.get(s).is_some_and(|sub| sub.contains(addr)) && self.supports(s, set)
        })
    }

    /// The configuration of subnet state `s`.
    pub(super) fn config_of(&self, s: usize) -> Option<&crate::config::model::Subnet> {
        self.config.subnets.get(self.subnets.get(s)?.cfg)
    }

    /// Whether the client passes subnet `s`'s class guard and its shared
    /// network's (Kea's Subnet4::clientSupported).
    pub(super) fn supports(&self, s: usize, set: &ClassSet) -> bool {
        self.subnets
            .get(s)
            .is_some_and(|sub| set.allows(sub.guard) && set.allows(sub.network_guard))
    }

    /// How many subnets the walk from `start` visits: its shared network's,
    /// or `start` alone.
    pub(super) fn ring_len(&self, start: usize) -> usize {
        self.members(start).map_or(1, <[usize]>::len)
    }

    /// The `k`-th subnet of the walk from `start` (its shared network's
    /// subnets by id, wrapping; `k` 0 is `start`).
    pub(super) fn ring_at(&self, start: usize, k: usize) -> usize {
        let Some(members) = self.members(start) else {
            return start;
        };
        let at = members.iter().position(|&m| m == start).unwrap_or(0);
        members
            .get((at + k) % members.len().max(1))
            .copied()
            .unwrap_or(start)
    }

    fn members(&self, s: usize) -> Option<&[usize]> {
        let network = self.subnets.get(s)?.shared?;
        let members = &self.networks.get(network)?.members;
        (!members.is_empty()).then_some(&members[..])
    }

    /// The client's reservations (Kea's AllocEngine::findReservation): the
    /// global one when the selected subnet looks globally, and in every
    /// subnet of the walk the client may use that looks in itself.
    pub(super) fn find_hosts(
        &self,
        selected: usize,
        request: &Request<'_>,
        set: &ClassSet,
    ) -> Found {
        let mut found = Found::default();
        let order = &self.config.host_identifiers;
        let Some(modes) = self.config_of(selected).map(|c| c.reservation_modes) else {
            return found;
        };
        if !modes.global && !modes.in_subnet {
            return found;
        }
        if modes.global {
            found.global = self.global_hosts.find(order, request);
        }
        for k in 0..self.ring_len(selected) {
            let s = self.ring_at(selected, k);
            let looks = self
                .config_of(s)
                .is_some_and(|c| c.reservation_modes.in_subnet);
            if !looks || !self.supports(s, set) {
                continue;
            }
            if let Some(position) = self
                .subnets
                .get(s)
                .and_then(|sub| sub.hosts.find(order, request))
            {
                found.add(s, position);
            }
        }
        found
    }

    /// The address the client's reservation gives it in subnet `s`.
    pub(super) fn reserved_address(&self, s: usize, hosts: &Found) -> Option<Ipv4Addr> {
        let subnet = self.subnets.get(s)?;
        let addr = self.current_host(s, hosts)?.ip_address?;
        subnet.contains(addr).then_some(addr)
    }

    /// The first reserved address of the walk from `selected` (Kea's
    /// hasAddressReservation): the global reservation's when the subnet
    /// looks globally, else a subnet's own; with the subnet it lies in.
    pub(super) fn address_reservation(
        &self,
        selected: usize,
        hosts: &Found,
        set: &ClassSet,
    ) -> Option<(usize, Ipv4Addr)> {
        (0..self.ring_len(selected))
            .map(|k| self.ring_at(selected, k))
            .filter(|&s| self.supports(s, set))
            .find_map(|s| Some((s, self.reserved_address(s, hosts)?)))
    }
}
