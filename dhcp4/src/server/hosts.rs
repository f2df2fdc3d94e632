//! Host reservations indexed by identifier, looked up in the order of
//! `host-reservation-identifiers` without copying the request's bytes.

use std::collections::HashMap;

use crate::config::model::{IdentifierType, Reservation};

use super::request::Request;

/// The reservations of one scope (global, or one subnet) by identifier.
#[derive(Debug, Clone, Default)]
pub(super) struct HostIndex {
    by_kind: HashMap<IdentifierType, HashMap<Vec<u8>, usize>>,
}

impl HostIndex {
    /// Indexes `reservations` (the first of two with one identifier wins).
    pub fn new(reservations: &[Reservation]) -> HostIndex {
        let mut index = HostIndex::default();
        for (position, r) in reservations.iter().enumerate() {
            index
                .by_kind
                .entry(r.identifier.kind)
                .or_default()
                .entry(r.identifier.value.clone())
                .or_insert(position);
        }
        index
    }

    /// The position of the client's reservation: the first identifier in
    /// `order` the request carries and a reservation names.
    pub fn find(&self, order: &[IdentifierType], request: &Request<'_>) -> Option<usize> {
        if self.by_kind.is_empty() {
            return None;
        }
        order.iter().find_map(|&kind| {
            let value = request.identifier(kind)?;
            self.by_kind.get(&kind)?.get(value).copied()
        })
    }
}

/// The reservations found for one client: the global one and one per
/// subnet of its shared network (Kea's `ctx.hosts_`).
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Position in `Config::reservations`.
    pub global: Option<usize>,
    /// (subnet state index, position in that subnet's reservations).
    subnets: Vec<(usize, usize)>,
}

impl Found {
    /// Records the subnet reservation `position` of subnet `s`.
    pub fn add(&mut self, s: usize, position: usize) {
        self.subnets.push((s, position));
    }

    /// The position of the client's reservation in subnet `s`.
    pub fn in_subnet(&self, s: usize) -> Option<usize> {
        self.subnets
            .iter()
            .find(|(subnet, _)| *subnet == s)
            .map(|&(_, r)| r)
    }

    /// Whether no reservation was found (the client is UNKNOWN).
    pub fn is_empty(&self) -> bool {
        self.global.is_none() && self.subnets.is_empty()
    }
}
