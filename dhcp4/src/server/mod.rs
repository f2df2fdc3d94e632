//! The DHCPv4 protocol (RFC 2131/2132) as Kea 2.2 serves it: one request in,
//! at most one reply and the lease changes to make durable out. No sockets
//! and no clock here, so every state of the exchange is tested with plain
//! packets.
//!
//! The caller writes [`Outcome::changes`] to the lease file and only then
//! sends [`Outcome::reply`]: an ACK never leaves before its lease is on disk.
//!
//! Module map: [`classes`] (client classification), [`select`] (subnet
//! selection and shared networks), [`hosts`] (reservation lookup),
//! [`exchange`] (DISCOVER, REQUEST, RELEASE, DECLINE, INFORM), [`reply`]
//! (reply assembly), [`lifetime`] (valid lifetime, T1/T2).

mod admin;
pub use admin::{AdminError, Written};
mod classes;
mod exchange;
mod hosts;
mod leases;
mod lifetime;
mod names;
mod outcome;
mod reply;
mod request;
mod select;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_classes;
#[cfg(test)]
mod tests_kea;
#[cfg(test)]
mod tests_reply;

use std::collections::HashMap;
use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;

use crate::alloc::{ClientKey, SubnetAllocator};
use crate::classify::{Packet, PacketMeta};
use crate::config::model::{Config, Reservation};
use crate::lease::Lease;
use crate::packet;

use classes::{ClassSet, ClassTable, Classifier, DROP, KNOWN, UNKNOWN};
use hosts::HostIndex;
use request::Request;

pub use outcome::{Destination, Interface, Outcome, Received, Reply, Restored, SubnetStats};

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
    pub const RENEWAL_TIME: u8 = 58;
    pub const REBINDING_TIME: u8 = 59;
    pub const CLIENT_ID: u8 = 61;
    pub const CLIENT_FQDN: u8 = 81;
    pub const RELAY_AGENT: u8 = 82;
    pub const SUBNET_SELECTION: u8 = 118;
    pub const VIVSO: u8 = 125;
}

/// One subnet: where its configuration is and its allocation state.
#[derive(Debug)]
struct SubnetState {
    /// Its position in `Config::subnets`.
    cfg: usize,
    id: u32,
    network: u32,
    mask: u32,
    /// Its shared network (index in `Server::networks`).
    shared: Option<usize>,
    /// Its `client-class` and its network's, as class indices.
    guard: Option<u16>,
    network_guard: Option<u16>,
    /// Each pool's `client-class`.
    pool_guards: Vec<Option<u16>>,
    /// Its `require-client-classes`, and each pool's.
    required: Vec<u16>,
    pool_required: Vec<Vec<u16>>,
    hosts: HostIndex,
    /// Option 54 from the configuration (behind a Service, the address
    /// clients can reach), else the receiving interface's address.
    server_id: Option<Ipv4Addr>,
    alloc: SubnetAllocator,
}

impl SubnetState {
    fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask == self.network
    }
}

/// One shared network: its subnets in Kea's order (by id).
#[derive(Debug)]
struct NetworkState {
    members: Vec<usize>,
    required: Vec<u16>,
    /// The subnet that last gave out a free address (Kea's
    /// getPreferredSubnet starts there).
    last_allocated: Option<usize>,
}

/// The DHCPv4 server's state: configuration, allocations, leases.
#[derive(Debug)]
pub struct Server {
    config: Config,
    classes: ClassTable,
    /// Sorted by subnet id (Kea's order for selection and shared networks).
    subnets: Vec<SubnetState>,
    networks: Vec<NetworkState>,
    global_hosts: HostIndex,
    /// The latest entry per address: leases, declines, reclaimed leases
    /// kept for their clients' return. What compaction writes.
    leases: HashMap<Ipv4Addr, Lease>,
    /// Reclaimed leases' addresses by client, per subnet id: a returning
    /// client gets its old address back when it is still free.
    previous: HashMap<(u32, ClientKey), Ipv4Addr>,
    /// The classes of the packet being handled (buffers kept between packets).
    scratch: ClassSet,
    /// A class the packet is in before classification (HA's scope class).
    injected: Option<u16>,
}

impl Server {
    /// A server for `config` with no leases yet.
    pub fn new(config: &Config) -> Server {
        let classes = ClassTable::new(config);
        let guard = |name: &Option<String>| name.as_deref().and_then(|n| classes.index(n));
        let global_server_id = server_id_option(&config.options);
        let mut order: Vec<usize> = (0..config.subnets.len()).collect();
        order.sort_by_key(|&i| config.subnets.get(i).map_or(0, |s| s.id));
        let mut subnets = Vec::with_capacity(order.len());
        for cfg in order {
            let Some(subnet) = config.subnets.get(cfg) else {
                continue;
            };
            let network = subnet
                .shared_network
                .and_then(|n| config.shared_networks.get(n));
            let mask = prefix_mask(subnet.prefix_len);
            let pools: Vec<(Ipv4Addr, Ipv4Addr)> =
                subnet.pools.iter().map(|p| (p.first, p.last)).collect();
            let reserved = subnet.reservations.iter().filter_map(|r| r.ip_address);
            subnets.push(SubnetState {
                cfg,
                id: subnet.id,
                network: u32::from(subnet.network) & mask,
                mask,
                shared: network.and(subnet.shared_network),
                guard: guard(&subnet.client_class),
                network_guard: network.and_then(|n| guard(&n.client_class)),
                pool_guards: subnet
                    .pools
                    .iter()
                    .map(|p| guard(&p.client_class))
                    .collect(),
                required: classes.indices(&subnet.require_client_classes),
                pool_required: subnet
                    .pools
                    .iter()
                    .map(|p| classes.indices(&p.require_client_classes))
                    .collect(),
                hosts: HostIndex::new(&subnet.reservations),
                server_id: server_id_option(&subnet.options)
                    .or_else(|| network.and_then(|n| server_id_option(&n.options)))
                    .or(global_server_id),
                alloc: SubnetAllocator::new(&pools, reserved),
            });
        }
        let networks = config
            .shared_networks
            .iter()
            .enumerate()
            .map(|(n, network)| NetworkState {
                members: (0..subnets.len())
                    .filter(|&s| subnets.get(s).is_some_and(|s| s.shared == Some(n)))
                    .collect(),
                required: classes.indices(&network.require_client_classes),
                last_allocated: None,
            })
            .collect();
        Server {
            global_hosts: HostIndex::new(&config.reservations),
            config: config.clone(),
            classes,
            subnets,
            networks,
            leases: HashMap::new(),
            previous: HashMap::new(),
            scratch: ClassSet::default(),
            injected: None,
        }
    }

    /// Serves `config` from now on, keeping every lease: each is taken back
    /// into the new subnets as [`Server::restore`] takes the lease file's
    /// (a lease whose subnet is gone is dropped and reported).
    pub fn reconfigure(&mut self, config: &Config, now: u64) -> Restored {
        let leases: Vec<Lease> = self.leases.drain().map(|(_, l)| l).collect();
        *self = Server::new(config);
        self.restore(leases, now)
    }

    /// The configuration being served.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Who the client is in subnet `s`: its client id under
    /// match-client-id, else its hardware address.
    fn key(&self, s: usize, client_id: Option<&[u8]>, hwaddr: &[u8]) -> ClientKey {
        let match_client_id = self
            .subnets
            .get(s)
            .and_then(|s| self.config.subnets.get(s.cfg))
            .is_some_and(|c| c.match_client_id);
        match client_id {
            Some(id) if match_client_id => ClientKey::ClientId(id.to_vec()),
            _ => ClientKey::HwAddr(hwaddr.to_vec()),
        }
    }

    /// Handles one datagram that came in on `via` at Unix time `now`. Its
    /// source address, for `pkt.src` in classification tests, is taken to
    /// be the relay's (giaddr), else the client's (ciaddr), else 0.0.0.0.
    pub fn handle(&mut self, bytes: &[u8], via: &Interface, now: u64) -> Outcome {
        self.handle_from(bytes, via, None, now)
    }

    /// Handles one datagram from `source` (when the caller knows it) that
    /// came in on `via` at `now`.
    pub fn handle_from(
        &mut self,
        bytes: &[u8],
        via: &Interface,
        source: Option<Ipv4Addr>,
        now: u64,
    ) -> Outcome {
        self.handle_classed(bytes, via, source, None, now)
    }

    /// As [`Server::handle_from`], the packet already in class `class`
    /// (HA's `HA_<scope>`, which pools and tests may name).
    pub fn handle_classed(
        &mut self,
        bytes: &[u8],
        via: &Interface,
        source: Option<Ipv4Addr>,
        class: Option<&str>,
        now: u64,
    ) -> Outcome {
        self.injected = class.and_then(|name| self.classes.index(name));
        let Ok(message) = packet::decode(bytes) else {
            return Outcome::silent(Received::ParseFailed);
        };
        let Some(request) = Request::read(&message) else {
            return Outcome::silent(Received::Drop);
        };
        // Kea's sanityCheck: no server id in a DISCOVER, and some way to
        // tell the client apart.
        let anonymous = request.hwaddr.is_empty() && request.client_id.is_none();
        if anonymous || (request.kind == MessageType::Discover && request.server_id.is_some()) {
            return Outcome::silent(Received::Drop);
        }
        let received = match request.kind {
            MessageType::Discover => Received::Discover,
            MessageType::Request => Received::Request,
            MessageType::Release => Received::Release,
            MessageType::Decline => Received::Decline,
            MessageType::Inform => Received::Inform,
            _ => return Outcome::silent(Received::Unknown),
        };
        let (giaddr, ciaddr) = (message.giaddr(), message.ciaddr());
        let unicast = !giaddr.is_unspecified() || !ciaddr.is_unspecified();
        let meta = PacketMeta {
            iface: &via.name,
            src: source.unwrap_or(if giaddr.is_unspecified() {
                ciaddr
            } else {
                giaddr
            }),
            dst: match via.addr {
                Some(addr) if unicast => addr,
                _ => Ipv4Addr::BROADCAST,
            },
        };
        let packet = Packet::new(bytes, meta);
        let mut set = std::mem::take(&mut self.scratch);
        let mut outcome = self.serve(&request, &packet, via, &mut set, now);
        self.scratch = set;
        if outcome.received != Received::Drop {
            outcome.received = received;
        }
        outcome
    }

    /// Classifies, selects a subnet, finds the client's hosts and hands the
    /// request to its message type (Kea's processPacket and Dhcpv4Exchange).
    fn serve(
        &mut self,
        request: &Request<'_>,
        packet: &Packet<'_>,
        via: &Interface,
        set: &mut ClassSet,
        now: u64,
    ) -> Outcome {
        let classifier = Classifier {
            config: &self.config,
            table: &self.classes,
        };
        classifier.first_pass(set, packet, request.vendor_class, self.injected);
        if set.contains(DROP) {
            return Outcome::silent(Received::Drop);
        }
        let Some(selected) = self.select_subnet(request, via, set) else {
            return self.no_subnet(request, via);
        };
        let Some(server_id) = self
            .subnets
            .get(selected)
            .and_then(|s| s.server_id)
            .or(via.addr)
        else {
            return Outcome::silent(Received::Drop);
        };
        match request.kind {
            MessageType::Release => return self.release(selected, request, server_id),
            MessageType::Decline => return self.decline(selected, request, server_id, now),
            _ => {}
        }
        let hosts = self.find_hosts(selected, request, set);
        let classifier = Classifier {
            config: &self.config,
            table: &self.classes,
        };
        let global_classes = hosts
            .global
            .and_then(|g| self.config.reservations.get(g))
            .is_some_and(|r| !r.client_classes.is_empty());
        let current = self.current_host(selected, &hosts);
        let shared = self.subnets.get(selected).and_then(|s| s.shared).is_some();
        if global_classes || (!shared && current.is_some_and(|r| !r.client_classes.is_empty())) {
            let classes = current.map_or(&[][..], |r| &r.client_classes[..]);
            classifier.reserved(set, packet, classes, true);
        }
        set.insert(if hosts.is_empty() { UNKNOWN } else { KNOWN });
        classifier.evaluate(set, packet, true);
        if set.contains(DROP) {
            return Outcome::silent(Received::Drop);
        }
        let mut cx = exchange::Exchange {
            request,
            packet,
            set,
            hosts: &hosts,
            selected,
            server_id,
            now,
        };
        match request.kind {
            MessageType::Discover => self.discover(&mut cx),
            MessageType::Request => self.request(&mut cx),
            _ => self.inform(&mut cx),
        }
    }

    /// A request no subnet is found for: Kea NAKs a REQUEST and answers an
    /// INFORM bare when they were relayed or sent from an address (it drops
    /// what was broadcast on the link, and every DISCOVER).
    fn no_subnet(&self, request: &Request<'_>, via: &Interface) -> Outcome {
        let message = request.message;
        let addressed = !message.giaddr().is_unspecified() || !message.ciaddr().is_unspecified();
        match (request.kind, via.addr) {
            (MessageType::Request, Some(server_id)) if addressed => self.nak(request, server_id),
            (MessageType::Inform, Some(server_id)) if addressed => Outcome {
                received: Received::Inform,
                reply: Some(self.bare_inform_ack(request, server_id)),
                changes: Vec::new(),
                allocation_failed: None,
                assigned: None,
            },
            _ => Outcome::silent(Received::Drop),
        }
    }

    /// The reservation Kea calls the current host for subnet `s`: the
    /// subnet's own (when it looks in the subnet), else the global one
    /// (when it looks globally).
    fn current_host(&self, s: usize, hosts: &hosts::Found) -> Option<&Reservation> {
        let subnet = self.subnets.get(s)?;
        let modes = self.config.subnets.get(subnet.cfg)?.reservation_modes;
        if modes.in_subnet {
            if let Some(r) = hosts.in_subnet(s) {
                return self.config.subnets.get(subnet.cfg)?.reservations.get(r);
            }
        }
        if modes.global {
            return self.config.reservations.get(hosts.global?);
        }
        None
    }

    /// Whether the current host of subnet `s` is a global reservation.
    fn current_host_is_global(&self, s: usize, hosts: &hosts::Found) -> bool {
        let in_subnet = self
            .subnets
            .get(s)
            .and_then(|sub| self.config.subnets.get(sub.cfg))
            .is_some_and(|c| c.reservation_modes.in_subnet)
            && hosts.in_subnet(s).is_some();
        !in_subnet && self.current_host(s, hosts).is_some()
    }
}

/// The configured option 54 among `options`, if any.
fn server_id_option(options: &[crate::options::ConfiguredOption]) -> Option<Ipv4Addr> {
    options
        .iter()
        .find(|o| o.code == code::SERVER_ID && !o.never_send)
        .and_then(|o| <[u8; 4]>::try_from(o.data.get(..4)?).ok())
        .map(Ipv4Addr::from)
}

/// The netmask of a prefix length.
fn prefix_mask(len: u8) -> u32 {
    match len {
        0 => 0,
        len => u32::MAX << (32 - u32::from(len.min(32))),
    }
}
