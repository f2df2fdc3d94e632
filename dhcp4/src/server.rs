//! The DHCPv4 protocol (RFC 2131/2132): one request in, at most one reply
//! and the lease changes to make durable out. No sockets and no clock here,
//! so every state of the exchange is tested with plain packets.
//!
//! The caller writes [`Outcome::changes`] to the lease file and only then
//! sends [`Outcome::reply`]: an ACK never leaves before its lease is on disk.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode};

use crate::alloc::{ClientKey, SubnetAllocator};
use crate::config::{Config, OptionData, Subnet};
use crate::lease::{Lease, LeaseState};
use crate::packet;
use crate::wire::{Header, ReplyWriter};

/// Seconds an offered address is held for its client (Kea 2.2 holds none;
/// without a hold two clients in a burst can be offered the same address).
pub const OFFER_HOLD_SECS: u64 = 10;

/// Option codes used here.
mod code {
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTERS: u8 = 3;
    pub const DNS_SERVERS: u8 = 6;
    pub const HOST_NAME: u8 = 12;
    pub const DOMAIN_NAME: u8 = 15;
    pub const LEASE_TIME: u8 = 51;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const MESSAGE: u8 = 56;
    pub const RENEWAL_TIME: u8 = 58;
    pub const REBINDING_TIME: u8 = 59;
    pub const RELAY_AGENT: u8 = 82;
}

/// Options sent whether or not the client asked (Kea's basic options).
const ALWAYS_SENT: [u8; 4] = [
    code::SUBNET_MASK,
    code::ROUTERS,
    code::DNS_SERVERS,
    code::DOMAIN_NAME,
];

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
}

impl Outcome {
    fn silent(received: Received) -> Outcome {
        Outcome {
            received,
            reply: None,
            changes: Vec::new(),
            allocation_failed: None,
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

/// What [`Server::restore`] did with the lease file's leases.
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

/// One subnet: its configuration and allocation state.
#[derive(Debug)]
struct SubnetState {
    config: Subnet,
    network: u32,
    mask: u32,
    /// Global options overridden by the subnet's, by code.
    options: Vec<OptionData>,
    /// Option 54 from the configuration (behind a Service, the address
    /// clients can reach), else the receiving interface's address.
    server_id: Option<Ipv4Addr>,
    alloc: SubnetAllocator,
}

/// A subnet's figures for the metrics.
fn subnet_stats(subnet: &SubnetState) -> SubnetStats {
    let (assigned, declined) = subnet.alloc.counts();
    SubnetStats {
        id: subnet.config.id,
        prefix: format!("{}/{}", subnet.config.network, subnet.config.prefix_len),
        total: subnet.alloc.total(),
        assigned,
        declined,
    }
}

impl SubnetState {
    fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask == self.network
    }

    /// Who the client is: the identity its reservation names, if it has
    /// one (a reservation by hw-address holds even when the client sends a
    /// client id), else its client id under match-client-id, else its
    /// hardware address.
    fn key(&self, client_id: Option<&[u8]>, hwaddr: &[u8]) -> ClientKey {
        if self.alloc.has_reservations() {
            if let Some(id) = client_id {
                let key = ClientKey::ClientId(id.to_vec());
                if self.alloc.is_reserved_for(&key) {
                    return key;
                }
            }
            let key = ClientKey::HwAddr(hwaddr.to_vec());
            if self.alloc.is_reserved_for(&key) {
                return key;
            }
        }
        match client_id {
            Some(id) if self.config.match_client_id => ClientKey::ClientId(id.to_vec()),
            _ => ClientKey::HwAddr(hwaddr.to_vec()),
        }
    }

    fn option(&self, code: u8) -> Option<&OptionData> {
        self.options.iter().find(|o| o.code == code)
    }
}

/// The fields of a request the protocol needs, taken out of dhcproto's message.
struct Request<'a> {
    message: &'a Message,
    kind: MessageType,
    hwaddr: &'a [u8],
    client_id: Option<&'a [u8]>,
    requested: Option<Ipv4Addr>,
    server_id: Option<Ipv4Addr>,
    parameters: Vec<u8>,
    hostname: Option<String>,
    relay_agent: Option<&'a [u8]>,
}

/// The DHCPv4 server's state: subnets, allocations, leases.
#[derive(Debug)]
pub struct Server {
    subnets: Vec<SubnetState>,
    /// The latest entry per address: leases, declines, reclaimed leases
    /// kept for their clients' return. What compaction writes.
    leases: HashMap<Ipv4Addr, Lease>,
    /// Reclaimed leases' addresses by client, per subnet index: a returning
    /// client gets its old address back when it is still free.
    previous: HashMap<(usize, ClientKey), Ipv4Addr>,
    decline_probation: u32,
    hold_reclaimed: u32,
}

impl Server {
    /// A server for `config` with no leases yet.
    pub fn new(config: &Config) -> Server {
        let subnets = config
            .subnets
            .iter()
            .map(|subnet| {
                let mask = prefix_mask(subnet.prefix_len);
                let mut options = subnet.options.clone();
                for global in &config.options {
                    if !options.iter().any(|o| o.code == global.code) {
                        options.push(global.clone());
                    }
                }
                let server_id = options
                    .iter()
                    .find(|o| o.code == code::SERVER_ID)
                    .and_then(|o| <[u8; 4]>::try_from(o.data.get(..4)?).ok())
                    .map(Ipv4Addr::from);
                options.retain(|o| o.code != code::SERVER_ID);
                let reservations = subnet.reservations.iter().flat_map(|r| {
                    let mut keys = Vec::new();
                    if let Some(id) = &r.client_id {
                        keys.push((ClientKey::ClientId(id.clone()), r.ip_address));
                    }
                    if let Some(hw) = &r.hw_address {
                        keys.push((ClientKey::HwAddr(hw.clone()), r.ip_address));
                    }
                    keys
                });
                SubnetState {
                    network: u32::from(subnet.network) & mask,
                    mask,
                    options,
                    server_id,
                    alloc: SubnetAllocator::new(&subnet.pools, reservations),
                    config: subnet.clone(),
                }
            })
            .collect();
        Server {
            subnets,
            leases: HashMap::new(),
            previous: HashMap::new(),
            decline_probation: config.decline_probation_period,
            hold_reclaimed: config.hold_reclaimed_time,
        }
    }

    /// Takes back the leases read from the lease file at `now`.
    pub fn restore(&mut self, leases: impl IntoIterator<Item = Lease>, now: u64) -> Restored {
        let mut restored = Restored::default();
        for lease in leases {
            let Some(index) = self
                .subnets
                .iter()
                .position(|s| s.config.id == lease.subnet_id && s.contains(lease.address))
                .or_else(|| self.subnets.iter().position(|s| s.contains(lease.address)))
            else {
                restored
                    .skipped
                    .push((lease.address, "no configured subnet holds it".into()));
                continue;
            };
            let subnet = &mut self.subnets[index];
            let key = subnet.key(lease.client_id.as_deref(), &lease.hwaddr);
            match lease.state {
                LeaseState::Declined if !lease.expired_at(now) => {
                    subnet.alloc.quarantine(lease.address, lease.expire);
                    restored.declined += 1;
                }
                LeaseState::Default if !lease.expired_at(now) => {
                    if let Err(error) = subnet.alloc.commit(&key, lease.address, now, lease.expire)
                    {
                        restored.skipped.push((lease.address, error.to_string()));
                        continue;
                    }
                    restored.active += 1;
                }
                LeaseState::Declined => continue,
                LeaseState::Default | LeaseState::ExpiredReclaimed => {
                    if lease.expire + u64::from(self.hold_reclaimed) <= now {
                        continue;
                    }
                    self.previous.insert((index, key), lease.address);
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
        self.subnets.iter().map(subnet_stats).collect()
    }

    /// The figures of subnet `id` alone (cheap: no pool walk).
    pub fn subnet_stats(&self, id: u32) -> Option<SubnetStats> {
        self.subnets
            .iter()
            .find(|s| s.config.id == id)
            .map(subnet_stats)
    }

    /// Reclaims what ran out by `now` (Kea's expired-leases-processing):
    /// expired leases become "expired-reclaimed" (kept `hold-reclaimed-time`
    /// for their clients' return), quarantines end. Returns the entries to
    /// append to the lease file.
    pub fn reclaim(&mut self, now: u64) -> Vec<Lease> {
        let mut changes = Vec::new();
        for (index, subnet) in self.subnets.iter_mut().enumerate() {
            for addr in subnet.alloc.expire(now) {
                if let Some(lease) = self.leases.get_mut(&addr) {
                    if lease.state == LeaseState::Default && lease.expired_at(now) {
                        lease.state = LeaseState::ExpiredReclaimed;
                        let key = subnet.key(lease.client_id.as_deref(), &lease.hwaddr);
                        self.previous.insert((index, key), addr);
                        changes.push(lease.clone());
                    }
                }
            }
        }
        let hold = u64::from(self.hold_reclaimed);
        let mut gone = Vec::new();
        self.leases.retain(|_, lease| {
            let keep = match lease.state {
                LeaseState::Default => true,
                LeaseState::Declined => !lease.expired_at(now),
                LeaseState::ExpiredReclaimed => lease.expire + hold > now,
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

    /// Handles one datagram that came in on `via` at Unix time `now`.
    pub fn handle(&mut self, bytes: &[u8], via: &Interface, now: u64) -> Outcome {
        let Ok(message) = packet::decode(bytes) else {
            return Outcome::silent(Received::ParseFailed);
        };
        let Some(request) = Request::read(&message) else {
            return Outcome::silent(Received::Drop);
        };
        let received = match request.kind {
            MessageType::Discover => Received::Discover,
            MessageType::Request => Received::Request,
            MessageType::Release => Received::Release,
            MessageType::Decline => Received::Decline,
            MessageType::Inform => Received::Inform,
            _ => return Outcome::silent(Received::Unknown),
        };
        let Some(index) = self.select_subnet(&message, via) else {
            return Outcome::silent(Received::Drop);
        };
        let server_id = self.subnets[index].server_id.or(via.addr);
        let Some(server_id) = server_id else {
            return Outcome::silent(Received::Drop);
        };
        let mut outcome = match request.kind {
            MessageType::Discover => self.discover(index, &request, server_id, now),
            MessageType::Request => self.request(index, &request, server_id, now),
            MessageType::Release => self.release(index, &request, server_id),
            MessageType::Decline => self.decline(index, &request, server_id, now),
            _ => self.inform(index, &request, server_id),
        };
        outcome.received = received;
        outcome
    }

    /// The subnet for a request: by relay address, by the client's own
    /// address, then by the receiving interface (Kea's order).
    fn select_subnet(&self, message: &Message, via: &Interface) -> Option<usize> {
        let giaddr = message.giaddr();
        if !giaddr.is_unspecified() {
            return self
                .subnets
                .iter()
                .position(|s| s.config.relay_addresses.contains(&giaddr))
                .or_else(|| self.subnets.iter().position(|s| s.contains(giaddr)));
        }
        let ciaddr = message.ciaddr();
        if !ciaddr.is_unspecified() {
            if let Some(index) = self.subnets.iter().position(|s| s.contains(ciaddr)) {
                return Some(index);
            }
        }
        self.subnets
            .iter()
            .position(|s| s.config.interface.as_deref() == Some(via.name.as_str()))
            .or_else(|| {
                let addr = via.addr?;
                self.subnets.iter().position(|s| s.contains(addr))
            })
    }

    fn discover(
        &mut self,
        index: usize,
        request: &Request<'_>,
        server_id: Ipv4Addr,
        now: u64,
    ) -> Outcome {
        let subnet = &mut self.subnets[index];
        let key = subnet.key(request.client_id, request.hwaddr);
        let hint = request
            .requested
            .or_else(|| self.previous.get(&(index, key.clone())).copied());
        match subnet.alloc.offer(&key, hint, now, now + OFFER_HOLD_SECS) {
            Ok(addr) => {
                let reply = self.reply(index, request, MessageType::Offer, addr, server_id);
                Outcome {
                    received: Received::Discover,
                    reply: Some(reply),
                    changes: Vec::new(),
                    allocation_failed: None,
                }
            }
            Err(_) => Outcome {
                allocation_failed: Some(subnet.config.id),
                ..Outcome::silent(Received::Discover)
            },
        }
    }

    fn request(
        &mut self,
        index: usize,
        request: &Request<'_>,
        server_id: Ipv4Addr,
        now: u64,
    ) -> Outcome {
        let ciaddr = request.message.ciaddr();
        let subnet = &mut self.subnets[index];
        let key = subnet.key(request.client_id, request.hwaddr);
        let authoritative = subnet.config.authoritative;
        let addr = if let Some(chosen) = request.server_id {
            // SELECTING: the client answers one server's offer.
            if chosen != server_id {
                subnet.alloc.withdraw_offer(&key);
                return Outcome::silent(Received::Request);
            }
            match request
                .requested
                .or(Some(ciaddr).filter(|a| !a.is_unspecified()))
            {
                Some(addr) => addr,
                None => return Outcome::silent(Received::Drop),
            }
        } else if let Some(requested) = request.requested.filter(|_| ciaddr.is_unspecified()) {
            // INIT-REBOOT: the client checks the address it remembers.
            if !subnet.contains(requested) {
                return self.nak(index, request, server_id, "address not on this network");
            }
            match subnet.alloc.lease_of(&key) {
                Some(known) if known == requested => {}
                Some(_) => return self.nak(index, request, server_id, "not the client's address"),
                // RFC 2131 §4.3.2: no record of this client, stay silent
                // unless authoritative (then it gets the address if free).
                None if !authoritative => return Outcome::silent(Received::Request),
                None => {}
            }
            requested
        } else if !ciaddr.is_unspecified() {
            // RENEWING (unicast) or REBINDING (broadcast).
            ciaddr
        } else {
            return Outcome::silent(Received::Drop);
        };
        let subnet = &mut self.subnets[index];
        if !subnet.contains(addr) {
            return self.nak(index, request, server_id, "address not on this network");
        }
        let previous = subnet.alloc.lease_of(&key);
        let lifetime = subnet.config.valid_lifetime;
        let expire = now + u64::from(lifetime);
        if let Err(error) = subnet.alloc.commit(&key, addr, now, expire) {
            return self.nak(index, request, server_id, &error.to_string());
        }
        let mut changes = Vec::with_capacity(2);
        if let Some(old) = previous.filter(|old| *old != addr) {
            if let Some(mut gone) = self.leases.remove(&old) {
                gone.valid_lifetime = 0;
                changes.push(gone);
            }
        }
        self.previous.remove(&(index, key));
        let subnet = &self.subnets[index];
        let hostname = reservation_hostname(&subnet.config, request)
            .or_else(|| request.hostname.clone())
            .unwrap_or_default();
        let lease = Lease {
            address: addr,
            hwaddr: request.hwaddr.to_vec(),
            client_id: request.client_id.map(<[u8]>::to_vec),
            valid_lifetime: lifetime,
            expire,
            subnet_id: subnet.config.id,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname,
            state: LeaseState::Default,
            user_context: String::new(),
        };
        changes.push(lease.clone());
        self.leases.insert(addr, lease);
        let reply = self.reply(index, request, MessageType::Ack, addr, server_id);
        Outcome {
            received: Received::Request,
            reply: Some(reply),
            changes,
            allocation_failed: None,
        }
    }

    fn release(&mut self, index: usize, request: &Request<'_>, server_id: Ipv4Addr) -> Outcome {
        if request.server_id.is_some_and(|id| id != server_id) {
            return Outcome::silent(Received::Release);
        }
        let addr = request.message.ciaddr();
        let subnet = &mut self.subnets[index];
        let key = subnet.key(request.client_id, request.hwaddr);
        let mut outcome = Outcome::silent(Received::Release);
        if subnet.alloc.lease_of(&key) == Some(addr) && subnet.alloc.release(&key, addr) {
            if let Some(mut gone) = self.leases.remove(&addr) {
                gone.valid_lifetime = 0;
                outcome.changes.push(gone);
            }
        }
        outcome
    }

    fn decline(
        &mut self,
        index: usize,
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
        let subnet = &mut self.subnets[index];
        let key = subnet.key(request.client_id, request.hwaddr);
        let until = now + u64::from(self.decline_probation);
        if subnet.alloc.lease_of(&key) == Some(addr) && subnet.alloc.decline(&key, addr, until) {
            // Kea keeps a declined lease without its client's identity.
            let lease = Lease {
                address: addr,
                hwaddr: Vec::new(),
                client_id: None,
                valid_lifetime: self.decline_probation.max(1),
                expire: until,
                subnet_id: subnet.config.id,
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

    fn inform(&mut self, index: usize, request: &Request<'_>, server_id: Ipv4Addr) -> Outcome {
        let reply = self.reply(
            index,
            request,
            MessageType::Ack,
            Ipv4Addr::UNSPECIFIED,
            server_id,
        );
        Outcome {
            received: Received::Inform,
            reply: Some(reply),
            changes: Vec::new(),
            allocation_failed: None,
        }
    }

    fn nak(&self, _index: usize, request: &Request<'_>, server_id: Ipv4Addr, why: &str) -> Outcome {
        let message = request.message;
        let giaddr = message.giaddr();
        let mut flags = u16::from(message.flags());
        if !giaddr.is_unspecified() {
            // RFC 2131 §4.3.2: the relay must broadcast a NAK to the client.
            flags |= 0x8000;
        }
        let mut writer = ReplyWriter::new(&Header {
            htype: u8::from(message.htype()),
            hlen: message.hlen(),
            xid: message.xid(),
            flags,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            giaddr,
            chaddr: request.hwaddr,
        });
        writer.option(code::MESSAGE_TYPE, &[u8::from(MessageType::Nak)]);
        writer.option(code::SERVER_ID, &server_id.octets());
        writer.option(code::MESSAGE, why.as_bytes());
        if let Some(relay) = request.relay_agent {
            writer.option(code::RELAY_AGENT, relay);
        }
        let to = if giaddr.is_unspecified() {
            Destination::Broadcast
        } else {
            Destination::Relay(giaddr)
        };
        Outcome {
            received: Received::Request,
            reply: Some(Reply {
                bytes: writer.finish(),
                to,
                kind: MessageType::Nak,
            }),
            changes: Vec::new(),
            allocation_failed: None,
        }
    }

    /// An OFFER or ACK for `addr` (unspecified for an INFORM's ACK) with the
    /// options the client asked for and the basic ones.
    fn reply(
        &self,
        index: usize,
        request: &Request<'_>,
        kind: MessageType,
        addr: Ipv4Addr,
        server_id: Ipv4Addr,
    ) -> Reply {
        let subnet = &self.subnets[index];
        let message = request.message;
        let inform = request.kind == MessageType::Inform;
        let mut writer = ReplyWriter::new(&Header {
            htype: u8::from(message.htype()),
            hlen: message.hlen(),
            xid: message.xid(),
            flags: u16::from(message.flags()),
            ciaddr: if inform || kind == MessageType::Ack {
                message.ciaddr()
            } else {
                Ipv4Addr::UNSPECIFIED
            },
            yiaddr: addr,
            giaddr: message.giaddr(),
            chaddr: request.hwaddr,
        });
        writer.option(code::MESSAGE_TYPE, &[u8::from(kind)]);
        writer.option(code::SERVER_ID, &server_id.octets());
        let mut sent: Vec<u8> = Vec::with_capacity(16);
        sent.extend_from_slice(&[code::MESSAGE_TYPE, code::SERVER_ID, code::RELAY_AGENT]);
        if !inform {
            let lifetime = subnet.config.valid_lifetime;
            let t1 = subnet.config.renew_timer.unwrap_or(lifetime / 2);
            let t2 = subnet
                .config
                .rebind_timer
                .unwrap_or((u64::from(lifetime) * 7 / 8) as u32);
            writer.option(code::LEASE_TIME, &lifetime.to_be_bytes());
            if t1 < lifetime && t1 < t2 {
                writer.option(code::RENEWAL_TIME, &t1.to_be_bytes());
            }
            if t2 < lifetime {
                writer.option(code::REBINDING_TIME, &t2.to_be_bytes());
            }
            sent.extend_from_slice(&[code::LEASE_TIME, code::RENEWAL_TIME, code::REBINDING_TIME]);
        }
        let hostname = reservation_hostname(&subnet.config, request);
        let wanted = request.parameters.iter().chain(ALWAYS_SENT.iter());
        for &wanted in wanted {
            if sent.contains(&wanted) {
                continue;
            }
            sent.push(wanted);
            if wanted == code::SUBNET_MASK && subnet.option(wanted).is_none() {
                writer.option(wanted, &subnet.mask.to_be_bytes());
            } else if wanted == code::HOST_NAME && subnet.option(wanted).is_none() {
                if let Some(name) = &hostname {
                    writer.option(wanted, name.as_bytes());
                }
            } else if let Some(option) = subnet.option(wanted) {
                writer.option(wanted, &option.data);
            }
        }
        if let Some(relay) = request.relay_agent {
            writer.option(code::RELAY_AGENT, relay);
        }
        Reply {
            bytes: writer.finish(),
            to: destination(message, request.hwaddr, addr, inform),
            kind,
        }
    }
}

impl<'a> Request<'a> {
    /// The request's fields, or `None` for what a server does not answer
    /// (replies, BOOTP without a message type, a hardware address longer
    /// than chaddr).
    fn read(message: &'a Message) -> Option<Request<'a>> {
        if message.opcode() != Opcode::BootRequest || message.hlen() > 16 {
            return None;
        }
        let options = message.opts();
        let kind = options.msg_type()?;
        let mut request = Request {
            message,
            kind,
            hwaddr: message.chaddr(),
            client_id: None,
            requested: None,
            server_id: None,
            parameters: Vec::new(),
            hostname: None,
            relay_agent: None,
        };
        for (_, option) in options.iter() {
            match option {
                DhcpOption::ClientIdentifier(id) if !id.is_empty() => {
                    request.client_id = Some(id);
                }
                DhcpOption::RequestedIpAddress(addr) => request.requested = Some(*addr),
                DhcpOption::ServerIdentifier(addr) => request.server_id = Some(*addr),
                DhcpOption::ParameterRequestList(codes) => {
                    request.parameters = codes.iter().map(|&c| u8::from(c)).collect();
                }
                DhcpOption::Hostname(name) => request.hostname = Some(name.clone()),
                DhcpOption::Unknown(raw) => match u8::from(raw.code()) {
                    code::RELAY_AGENT => request.relay_agent = Some(raw.data()),
                    code::HOST_NAME => {
                        request.hostname = Some(String::from_utf8_lossy(raw.data()).into_owned());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        Some(request)
    }
}

/// RFC 2131 §4.1: where an OFFER or ACK goes.
fn destination(message: &Message, hwaddr: &[u8], yiaddr: Ipv4Addr, inform: bool) -> Destination {
    let giaddr = message.giaddr();
    if !giaddr.is_unspecified() {
        return Destination::Relay(giaddr);
    }
    let ciaddr = message.ciaddr();
    if !ciaddr.is_unspecified() {
        return Destination::Unicast(ciaddr);
    }
    if message.flags().broadcast() || inform || yiaddr.is_unspecified() {
        return Destination::Broadcast;
    }
    match <[u8; 6]>::try_from(hwaddr) {
        Ok(mac) if u8::from(message.htype()) == 1 => Destination::Hardware { addr: yiaddr, mac },
        _ => Destination::Broadcast,
    }
}

/// The host name of the client's reservation, if it has one with a name.
fn reservation_hostname(subnet: &Subnet, request: &Request<'_>) -> Option<String> {
    subnet
        .reservations
        .iter()
        .find(|r| {
            r.hw_address.as_deref() == Some(request.hwaddr)
                || (r.client_id.is_some() && r.client_id.as_deref() == request.client_id)
        })
        .and_then(|r| r.hostname.clone())
}

/// The netmask of a prefix length.
fn prefix_mask(len: u8) -> u32 {
    match len {
        0 => 0,
        len => u32::MAX << (32 - u32::from(len.min(32))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::path::Path;

    const CONFIG: &str = r#"{ "Dhcp4": {
      "valid-lifetime": 600,
      "decline-probation-period": 300,
      "subnet4": [ { "id": 1, "subnet": "192.168.1.0/24",
        "pools": [ { "pool": "192.168.1.100 - 192.168.1.101" } ],
        "option-data": [ { "name": "routers", "data": "192.168.1.1" } ] } ] } }"#;

    fn server(authoritative: bool) -> Server {
        let text = CONFIG.replace(
            "\"valid-lifetime\": 600,",
            &format!("\"valid-lifetime\": 600, \"authoritative\": {authoritative},"),
        );
        let (config, _) = crate::config::parse(&text, Path::new("t.json")).unwrap();
        Server::new(&config)
    }

    fn lan() -> Interface {
        Interface {
            name: "eth0".into(),
            addr: Some(Ipv4Addr::new(192, 168, 1, 1)),
        }
    }

    /// A request from client `n` (hardware address 02:..:n).
    fn packet(kind: u8, n: u8, ciaddr: [u8; 4], options: &[(u8, &[u8])]) -> Vec<u8> {
        let mut p = vec![0u8; 236];
        p[0] = 1;
        p[1] = 1;
        p[2] = 6;
        p[4..8].copy_from_slice(&[0, 0, 0, n]);
        p[12..16].copy_from_slice(&ciaddr);
        p[28..34].copy_from_slice(&[2, 0, 0, 0, 0, n]);
        p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
        for (code, data) in options {
            p.push(*code);
            p.push(data.len() as u8);
            p.extend_from_slice(data);
        }
        p.push(255);
        p
    }

    fn kind(outcome: &Outcome) -> Option<MessageType> {
        outcome.reply.as_ref().map(|r| r.kind)
    }

    fn yiaddr(outcome: &Outcome) -> Ipv4Addr {
        let reply = packet::decode(&outcome.reply.as_ref().unwrap().bytes).unwrap();
        reply.yiaddr()
    }

    /// DISCOVER then REQUEST (SELECTING): the leased address.
    fn lease(server: &mut Server, n: u8, now: u64) -> Ipv4Addr {
        let offer = server.handle(&packet(1, n, [0; 4], &[]), &lan(), now);
        let addr = yiaddr(&offer);
        let ack = server.handle(
            &packet(
                3,
                n,
                [0; 4],
                &[(50, &addr.octets()), (54, &[192, 168, 1, 1])],
            ),
            &lan(),
            now,
        );
        assert_eq!(kind(&ack), Some(MessageType::Ack));
        addr
    }

    #[test]
    fn a_client_choosing_another_server_frees_its_offer() {
        let mut server = server(false);
        let offer = server.handle(&packet(1, 1, [0; 4], &[]), &lan(), 100);
        let offered = yiaddr(&offer);
        let other = server.handle(
            &packet(
                3,
                1,
                [0; 4],
                &[(50, &offered.octets()), (54, &[10, 9, 9, 9])],
            ),
            &lan(),
            100,
        );
        assert_eq!(other.reply, None);
        assert!(other.changes.is_empty());
        // Both addresses are free again for two other clients.
        let a = lease(&mut server, 2, 100);
        let b = lease(&mut server, 3, 100);
        assert_ne!(a, b);
    }

    #[test]
    fn init_reboot_is_acked_naked_or_ignored_as_rfc_2131_says() {
        let mut server = server(false);
        let addr = lease(&mut server, 1, 100);
        let reboot = |server: &mut Server, n: u8, addr: [u8; 4]| {
            server.handle(&packet(3, n, [0; 4], &[(50, &addr)]), &lan(), 200)
        };
        assert_eq!(
            kind(&reboot(&mut server, 1, addr.octets())),
            Some(MessageType::Ack)
        );
        let wrong_net = reboot(&mut server, 1, [10, 0, 0, 5]);
        assert_eq!(kind(&wrong_net), Some(MessageType::Nak));
        assert_eq!(wrong_net.reply.unwrap().to, Destination::Broadcast);
        assert_eq!(
            kind(&reboot(&mut server, 1, [192, 168, 1, 101])),
            Some(MessageType::Nak)
        );
        // No record of client 2: a non-authoritative server stays silent...
        assert_eq!(reboot(&mut server, 2, [192, 168, 1, 101]).reply, None);
        // ...an authoritative one gives it the address if free, else NAKs.
        let mut auth = self::server(true);
        let taken = lease(&mut auth, 1, 100);
        assert_eq!(
            kind(&reboot(&mut auth, 2, taken.octets())),
            Some(MessageType::Nak)
        );
        let free = if taken.octets()[3] == 100 {
            [192, 168, 1, 101]
        } else {
            [192, 168, 1, 100]
        };
        assert_eq!(kind(&reboot(&mut auth, 2, free)), Some(MessageType::Ack));
    }

    #[test]
    fn renewal_is_unicast_and_extends_the_lease() {
        let mut server = server(false);
        let addr = lease(&mut server, 1, 100);
        let renew = server.handle(&packet(3, 1, addr.octets(), &[]), &lan(), 400);
        assert_eq!(kind(&renew), Some(MessageType::Ack));
        assert_eq!(renew.reply.unwrap().to, Destination::Unicast(addr));
        assert_eq!(renew.changes[0].expire, 1000);
        assert_eq!(server.lease(addr).unwrap().expire, 1000);
    }

    #[test]
    fn declined_addresses_are_quarantined_then_reclaimed() {
        let mut server = server(false);
        let addr = lease(&mut server, 1, 100);
        let decline = server.handle(&packet(4, 1, [0; 4], &[(50, &addr.octets())]), &lan(), 100);
        assert_eq!(decline.received, Received::Decline);
        assert_eq!(decline.changes[0].state, LeaseState::Declined);
        assert!(decline.changes[0].hwaddr.is_empty());
        // Two addresses, one quarantined: the second client gets the other,
        // the third none.
        let other = lease(&mut server, 2, 100);
        assert_ne!(other, addr);
        let none = server.handle(&packet(1, 3, [0; 4], &[]), &lan(), 100);
        assert_eq!(none.reply, None);
        assert_eq!(none.allocation_failed, Some(1));
        assert_eq!(server.stats()[0].declined, 1);
        // After the probation period the address is back.
        let changes = server.reclaim(401);
        assert!(changes
            .iter()
            .any(|l| l.address == addr && l.valid_lifetime == 0));
        assert_eq!(lease(&mut server, 3, 401), addr);
    }

    #[test]
    fn inform_gets_options_but_no_address_and_no_lease() {
        let mut server = server(false);
        let inform = server.handle(
            &packet(8, 1, [192, 168, 1, 50], &[(55, &[3, 51])]),
            &lan(),
            100,
        );
        assert_eq!(inform.received, Received::Inform);
        assert!(inform.changes.is_empty());
        let reply = inform.reply.unwrap();
        assert_eq!(
            reply.to,
            Destination::Unicast(Ipv4Addr::new(192, 168, 1, 50))
        );
        let message = packet::decode(&reply.bytes).unwrap();
        assert_eq!(message.yiaddr(), Ipv4Addr::UNSPECIFIED);
        assert!(message
            .opts()
            .get(dhcproto::v4::OptionCode::Router)
            .is_some());
        assert!(message
            .opts()
            .get(dhcproto::v4::OptionCode::AddressLeaseTime)
            .is_none());
    }

    #[test]
    fn expired_leases_are_reclaimed_and_their_clients_get_them_back() {
        let mut server = server(false);
        let addr = lease(&mut server, 1, 100);
        let changes = server.reclaim(700);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].state, LeaseState::ExpiredReclaimed);
        assert_eq!(server.stats()[0].assigned, 0);
        let offer = server.handle(&packet(1, 1, [0; 4], &[]), &lan(), 701);
        assert_eq!(yiaddr(&offer), addr);
    }

    #[test]
    fn replies_to_clients_without_an_address_go_to_their_hardware_address() {
        let mut server = server(false);
        let offer = server.handle(&packet(1, 7, [0; 4], &[]), &lan(), 100);
        match offer.reply.unwrap().to {
            Destination::Hardware { mac, .. } => assert_eq!(mac, [2, 0, 0, 0, 0, 7]),
            other => panic!("{other:?}"),
        }
        let mut broadcast = packet(1, 8, [0; 4], &[]);
        broadcast[10] = 0x80;
        let offer = server.handle(&broadcast, &lan(), 100);
        assert_eq!(offer.reply.unwrap().to, Destination::Broadcast);
    }
}
