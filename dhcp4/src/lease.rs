//! One DHCPv4 lease as Kea's memfile keeps it.

use std::net::Ipv4Addr;

/// Kea's lease states (`state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// In use (Kea: 0, "default").
    Default,
    /// Declined by its client; quarantined for the probation period (1).
    Declined,
    /// Expired and reclaimed, kept for the client's return (2).
    ExpiredReclaimed,
}

impl LeaseState {
    /// The number Kea writes.
    pub fn code(self) -> u32 {
        match self {
            LeaseState::Default => 0,
            LeaseState::Declined => 1,
            LeaseState::ExpiredReclaimed => 2,
        }
    }

    /// The state Kea wrote as `code`, if it is one we know.
    pub fn from_code(code: u32) -> Option<LeaseState> {
        match code {
            0 => Some(LeaseState::Default),
            1 => Some(LeaseState::Declined),
            2 => Some(LeaseState::ExpiredReclaimed),
            _ => None,
        }
    }
}

/// A lease: who holds which address, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The leased address (the key: one lease per address).
    pub address: Ipv4Addr,
    /// The client's hardware address (chaddr), possibly empty.
    pub hwaddr: Vec<u8>,
    /// The client identifier (option 61), when the client sent one.
    pub client_id: Option<Vec<u8>>,
    /// Seconds the lease is valid from its last transmission; 0 in the file
    /// means the lease was deleted (released).
    pub valid_lifetime: u32,
    /// Unix time the lease expires (client last transmission + lifetime).
    pub expire: u64,
    /// The subnet the address belongs to.
    pub subnet_id: u32,
    /// DNS forward update done (Kea's fqdn_fwd).
    pub fqdn_fwd: bool,
    /// DNS reverse update done (Kea's fqdn_rev).
    pub fqdn_rev: bool,
    /// The client's host name, possibly empty.
    pub hostname: String,
    /// Default, declined or expired-reclaimed.
    pub state: LeaseState,
    /// Kea's user context (JSON text), possibly empty.
    pub user_context: String,
}

impl Lease {
    /// Whether the lease has run out at Unix time `now`.
    pub fn expired_at(&self, now: u64) -> bool {
        self.expire <= now
    }

    /// Whether the file entry deletes the lease (Kea writes a released lease
    /// with a valid lifetime of 0).
    pub fn is_deletion(&self) -> bool {
        self.valid_lifetime == 0
    }
}
