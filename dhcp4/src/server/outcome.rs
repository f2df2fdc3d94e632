//! What the protocol core hands back: the request's kind, the reply and
//! where it goes, the lease changes to make durable, figures for the
//! metrics.

use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;

use crate::lease::Lease;

/// The interface a request came in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its name (`eth0`).
    pub name: String,
    /// Its IPv4 address, when it has one.
    pub addr: Option<Ipv4Addr>,
}

/// Where a reply goes (RFC 2131 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// To the relay agent at `giaddr`, server port 67.
    Relay(Ipv4Addr),
    /// To the client's own address (`ciaddr`), port 68.
    Unicast(Ipv4Addr),
    /// To 255.255.255.255:68 on the receiving interface.
    Broadcast,
    /// To a client without an address yet: its hardware address and the
    /// offered address, port 68 (needs a packet socket; broadcast otherwise).
    Hardware {
        /// The offered address.
        addr: Ipv4Addr,
        /// The client's Ethernet address.
        mac: [u8; 6],
    },
}

/// A reply ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The encoded message.
    pub bytes: Vec<u8>,
    /// Where it goes.
    pub to: Destination,
    /// OFFER, ACK or NAK.
    pub kind: MessageType,
}

/// What came in, named as Kea's statistics name it (`pkt4-*-received`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// DHCPDISCOVER.
    Discover,
    /// DHCPREQUEST.
    Request,
    /// DHCPRELEASE.
    Release,
    /// DHCPDECLINE.
    Decline,
    /// DHCPINFORM.
    Inform,
    /// A DHCP message type a server does not take (OFFER, ACK from a client…).
    Unknown,
    /// Not a DHCP message we can decode.
    ParseFailed,
    /// Decoded, but dropped (no subnet, BOOTP, a reply opcode…).
    Drop,
}

impl Received {
    /// kea-exporter's `operation` label.
    pub fn label(self) -> &'static str {
        match self {
            Received::Discover => "discover",
            Received::Request => "request",
            Received::Release => "release",
            Received::Decline => "decline",
            Received::Inform => "inform",
            Received::Unknown => "unknown",
            Received::ParseFailed => "parse-failed",
            Received::Drop => "drop",
        }
    }
}

/// The result of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What the request was.
    pub received: Received,
    /// The reply, if one is due.
    pub reply: Option<Reply>,
    /// Lease file entries to make durable before the reply is sent.
    pub changes: Vec<Lease>,
    /// The subnet that could not allocate (pools exhausted), for the metrics.
    pub allocation_failed: Option<u32>,
    /// The subnet in which a client got an address it did not hold (not a
    /// renewal): Kea's cumulative-assigned-addresses.
    pub assigned: Option<u32>,
}

impl Outcome {
    pub(super) fn silent(received: Received) -> Outcome {
        Outcome {
            received,
            reply: None,
            changes: Vec::new(),
            allocation_failed: None,
            assigned: None,
        }
    }
}

/// Per-subnet figures for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetStats {
    /// The subnet id.
    pub id: u32,
    /// The subnet as `ADDRESS/LENGTH`.
    pub prefix: String,
    /// Addresses in its pools.
    pub total: u64,
    /// Addresses leased.
    pub assigned: u32,
    /// Addresses declined and in quarantine.
    pub declined: u32,
}

/// What [`Server::restore`](super::Server::restore) did with the lease file's leases.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Leases in force again.
    pub active: usize,
    /// Declined addresses back in quarantine.
    pub declined: usize,
    /// Expired leases kept for their clients' return.
    pub expired: usize,
    /// Leases that no longer fit the configuration, with why.
    pub skipped: Vec<(Ipv4Addr, String)>,
}
