//! What a loaded Kea `Dhcp4` configuration means to the server: every value
//! resolved at load (inheritance global → shared network → subnet applied,
//! option data encoded, expressions parsed), so serving reads and never
//! interprets text.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::classify::Expression;
use crate::options::{ConfiguredOption, OptionDefs, VendorOption};

/// Kea's `interfaces-config.dhcp-socket-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SocketType {
    /// Packet sockets: replies reach clients without an address (Kea's default).
    #[default]
    Raw,
    /// UDP sockets only (relayed traffic, or clients that take broadcast).
    Udp,
}

/// The kinds of host identifier a reservation can name, in Kea's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierType {
    /// `hw-address`: the client's chaddr.
    HwAddress,
    /// `duid`: the DUID in an RFC 4361 client identifier (type 255).
    Duid,
    /// `circuit-id`: sub-option 1 of the relay agent information (option 82).
    CircuitId,
    /// `client-id`: option 61 whole.
    ClientId,
    /// `flex-id`: computed by Kea's flex_id hook; never matches here.
    FlexId,
}

/// A reservation's identifier: its kind and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identifier {
    /// Which identifier.
    pub kind: IdentifierType,
    /// Its bytes.
    pub value: Vec<u8>,
}

/// `next-server`, `server-hostname`, `boot-file-name`: the BOOTP fields PXE
/// clients read (siaddr, sname, file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootFields {
    /// siaddr.
    pub next_server: Option<Ipv4Addr>,
    /// sname.
    pub server_hostname: Option<String>,
    /// file.
    pub boot_file_name: Option<String>,
}

/// `valid-lifetime` with its `min-`/`max-` bounds (each defaults to the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Given when the client asks for none.
    pub default: u32,
    /// The least a client asking for less gets.
    pub min: u32,
    /// The most a client asking for more gets.
    pub max: u32,
}

/// How T1 and T2 are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timers {
    /// `renew-timer`.
    pub renew: Option<u32>,
    /// `rebind-timer`.
    pub rebind: Option<u32>,
    /// `calculate-tee-times`.
    pub calculate: bool,
    /// `t1-percent`.
    pub t1_percent: f64,
    /// `t2-percent`.
    pub t2_percent: f64,
}

/// Where reservations are looked up (`reservations-global`,
/// `reservations-in-subnet`, `reservations-out-of-pool`, or the older
/// `reservation-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationModes {
    /// Global reservations apply.
    pub global: bool,
    /// The subnet's reservations apply.
    pub in_subnet: bool,
    /// Reserved addresses lie outside the pools (no pool check needed).
    pub out_of_pool: bool,
}

/// One host reservation (global or in a subnet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// What the client is recognised by.
    pub identifier: Identifier,
    /// The reserved address, if any (a reservation may only carry options).
    pub ip_address: Option<Ipv4Addr>,
    /// The host name to hand out.
    pub hostname: Option<String>,
    /// Options for this host, above every other scope.
    pub options: Vec<ConfiguredOption>,
    /// Options of `vendor-<enterprise>` spaces in this scope, for option 125
    /// per packet (Kea's appendRequestedVendorOptions).
    pub vendor_options: Vec<VendorOption>,
    /// Classes the host is put in.
    pub client_classes: Vec<String>,
    /// Boot fields for this host.
    pub boot: BootFields,
}

/// One `client-classes` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientClass {
    /// Its name.
    pub name: String,
    /// Its `test`; none means membership only by reservation or requirement.
    pub test: Option<Expression>,
    /// `only-if-required` / `only-in-additional-list`: evaluated only when a
    /// scope requires it.
    pub only_if_required: bool,
    /// Its `test` uses `member('KNOWN')` / `member('UNKNOWN')` (directly or
    /// through another class): evaluated after the reservation lookup.
    pub depends_on_known: bool,
    /// Options for members.
    pub options: Vec<ConfiguredOption>,
    /// Options of `vendor-<enterprise>` spaces in this scope, for option 125
    /// per packet (Kea's appendRequestedVendorOptions).
    pub vendor_options: Vec<VendorOption>,
    /// Boot fields for members.
    pub boot: BootFields,
    /// Lifetime for members, when the class sets one.
    pub lifetime: Option<Lifetime>,
}

/// One pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// First address.
    pub first: Ipv4Addr,
    /// Last address (inclusive).
    pub last: Ipv4Addr,
    /// Options for leases from this pool.
    pub options: Vec<ConfiguredOption>,
    /// Options of `vendor-<enterprise>` spaces in this scope, for option 125
    /// per packet (Kea's appendRequestedVendorOptions).
    pub vendor_options: Vec<VendorOption>,
    /// Only clients of this class may use it.
    pub client_class: Option<String>,
    /// Classes evaluated for clients given an address from this pool.
    pub require_client_classes: Vec<String>,
}

/// One `shared-networks` entry: subnets on one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedNetwork {
    /// Its name.
    pub name: String,
    /// Options of the shared-network scope (between subnet and classes).
    pub options: Vec<ConfiguredOption>,
    /// Options of `vendor-<enterprise>` spaces in this scope, for option 125
    /// per packet (Kea's appendRequestedVendorOptions).
    pub vendor_options: Vec<VendorOption>,
    /// Classes evaluated for clients in it.
    pub require_client_classes: Vec<String>,
    /// Only clients of this class may use its subnets (Kea checks it beside
    /// each subnet's own guard).
    pub client_class: Option<String>,
}

/// One `subnet4` entry with everything it inherits resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    /// Kea's subnet id (given, or numbered as Kea up to 2.4 numbered it).
    pub id: u32,
    /// Network address.
    pub network: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Pools.
    pub pools: Vec<Pool>,
    /// The subnet's own options.
    pub options: Vec<ConfiguredOption>,
    /// Options of `vendor-<enterprise>` spaces in this scope, for option 125
    /// per packet (Kea's appendRequestedVendorOptions).
    pub vendor_options: Vec<VendorOption>,
    /// Its reservations.
    pub reservations: Vec<Reservation>,
    /// The shared network it belongs to (index in [`Config::shared_networks`]).
    pub shared_network: Option<usize>,
    /// Relay addresses (giaddr) that select it (its own or its network's).
    pub relay_addresses: Vec<Ipv4Addr>,
    /// The interface whose directly connected clients it serves.
    pub interface: Option<String>,
    /// Only clients of this class may use it.
    pub client_class: Option<String>,
    /// Classes evaluated for clients in it.
    pub require_client_classes: Vec<String>,
    /// Lease lifetime and bounds.
    pub lifetime: Lifetime,
    /// T1/T2.
    pub timers: Timers,
    /// Match clients by client id (else hardware address).
    pub match_client_id: bool,
    /// NAK requests for addresses we do not know.
    pub authoritative: bool,
    /// Where reservations are looked up.
    pub reservation_modes: ReservationModes,
    /// Boot fields of the subnet scope.
    pub boot: BootFields,
}

/// Where Kea's command channel listens: Kea 2.2's `control-socket` (one
/// UNIX socket) or Kea 3's `control-sockets` (UNIX and HTTP listeners).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlSockets {
    /// The UNIX socket's path.
    pub unix: Option<PathBuf>,
    /// HTTP(S) listeners, answering as Kea's Control Agent does.
    pub http: Vec<HttpControl>,
}

/// One HTTP command listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpControl {
    /// Where it listens (`socket-address`, `socket-port`; Kea: 127.0.0.1:8000).
    pub addr: std::net::SocketAddr,
    /// Basic authentication, when configured.
    pub auth: Option<BasicAuth>,
    /// TLS, when `socket-type` is `https` (or the TLS files are given).
    pub tls: Option<HttpTls>,
}

/// HTTP basic authentication (`authentication` with `type: basic`).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The realm named in `WWW-Authenticate`.
    pub realm: String,
    /// Who may send commands: `(user, password)`.
    pub clients: Vec<(String, String)>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("realm", &self.realm)
            .field(
                "users",
                &self.clients.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// TLS of an HTTP command listener: Kea's `trust-anchor`, `cert-file`,
/// `key-file`, `cert-required`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTls {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to.
    pub trust_anchor: Option<PathBuf>,
    /// Whether a client must present a certificate (Kea's default: yes).
    pub cert_required: bool,
}

/// Kea's HA modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaMode {
    /// Both servers answer, each its half of the clients.
    LoadBalancing,
    /// The primary answers; the standby takes over when it fails.
    HotStandby,
    /// The primary answers and copies its leases to backups.
    PassiveBackup,
}

impl HaMode {
    /// Kea's spelling.
    pub fn name(self) -> &'static str {
        match self {
            HaMode::LoadBalancing => "load-balancing",
            HaMode::HotStandby => "hot-standby",
            HaMode::PassiveBackup => "passive-backup",
        }
    }
}

/// A peer's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HaRole {
    /// The primary.
    Primary,
    /// The other active server in load-balancing.
    Secondary,
    /// The passive server in hot-standby.
    Standby,
    /// Receives lease updates only.
    Backup,
}

impl HaRole {
    /// Kea's spelling.
    pub fn name(self) -> &'static str {
        match self {
            HaRole::Primary => "primary",
            HaRole::Secondary => "secondary",
            HaRole::Standby => "standby",
            HaRole::Backup => "backup",
        }
    }
}

/// One `peers` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct HaPeer {
    /// Its name (and the name of its scope).
    pub name: String,
    /// Where its command channel listens.
    pub url: HaUrl,
    /// Its role.
    pub role: HaRole,
    /// Whether its scope is taken over when it fails.
    pub auto_failover: bool,
    /// The basic-auth credentials requests to it carry (and, for this
    /// server's own entry, that requests to it must carry).
    pub basic_auth: Option<(String, String)>,
    /// TLS towards it (its own, else the global parameters).
    pub tls: Option<HttpTls>,
}

impl std::fmt::Debug for HaPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaPeer")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("role", &self.role)
            .field("auto_failover", &self.auto_failover)
            .field("basic_auth_user", &self.basic_auth.as_ref().map(|(u, _)| u))
            .field("tls", &self.tls)
            .finish()
    }
}

/// A peer URL: `http(s)://IP:PORT/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaUrl {
    /// The text as configured.
    pub text: String,
    /// `https`.
    pub https: bool,
    /// Address and port.
    pub addr: std::net::SocketAddr,
    /// The request path (`/` at least).
    pub path: String,
}

/// How a state's entry pauses the state machine (`state-machine.states`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaPause {
    /// Every time the state is entered.
    Always,
    /// The first time only.
    Once,
}

/// The HA hook's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha {
    /// `this-server-name`.
    pub this_server: String,
    /// `mode`.
    pub mode: HaMode,
    /// `heartbeat-delay` (ms; 0: no heartbeats).
    pub heartbeat_delay_ms: u32,
    /// `max-response-delay` (ms).
    pub max_response_delay_ms: u32,
    /// `max-ack-delay` (ms).
    pub max_ack_delay_ms: u32,
    /// `max-unacked-clients`.
    pub max_unacked_clients: u32,
    /// `send-lease-updates`.
    pub send_lease_updates: bool,
    /// `sync-leases`.
    pub sync_leases: bool,
    /// `sync-timeout` (ms).
    pub sync_timeout_ms: u32,
    /// `sync-page-limit`.
    pub sync_page_limit: u32,
    /// `delayed-updates-limit`.
    pub delayed_updates_limit: u32,
    /// `wait-backup-ack`.
    pub wait_backup_ack: bool,
    /// `require-client-certs` (on our listener, with TLS).
    pub require_client_certs: bool,
    /// `restrict-commands`: our listener answers only the HA set.
    pub restrict_commands: bool,
    /// Every peer, this server included, in the order written.
    pub peers: Vec<HaPeer>,
    /// States whose entry pauses the machine.
    pub pauses: Vec<(String, HaPause)>,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Interfaces to listen on (`eth0`, `eth0/192.0.2.1`, `*`).
    pub interfaces: Vec<String>,
    /// Socket type.
    pub socket_type: SocketType,
    /// The memfile path (`lease-database.name`).
    pub lease_file: Option<PathBuf>,
    /// Keep leases on disk (`persist`).
    pub persist: bool,
    /// Seconds between lease file compactions; 0 = never.
    pub lfc_interval: u32,
    /// Seconds between reclamation runs of expired leases.
    pub reclaim_timer_wait_time: u32,
    /// Seconds a reclaimed lease stays in the file for its client's return.
    pub hold_reclaimed_time: u32,
    /// Seconds a declined address stays in quarantine.
    pub decline_probation_period: u32,
    /// Echo the client's option 61 in replies (`echo-client-id`).
    pub echo_client_id: bool,
    /// `host-reservation-identifiers`, in lookup order.
    pub host_identifiers: Vec<IdentifierType>,
    /// Option definitions (standard and `option-def`).
    pub option_defs: OptionDefs,
    /// Global options.
    pub options: Vec<ConfiguredOption>,
    /// Options of `vendor-<enterprise>` spaces in this scope, for option 125
    /// per packet (Kea's appendRequestedVendorOptions).
    pub vendor_options: Vec<VendorOption>,
    /// Client classes in evaluation order.
    pub classes: Vec<ClientClass>,
    /// Global reservations.
    pub reservations: Vec<Reservation>,
    /// Shared networks.
    pub shared_networks: Vec<SharedNetwork>,
    /// Every subnet, those in shared networks included.
    pub subnets: Vec<Subnet>,
    /// Global boot fields.
    pub boot: BootFields,
    /// Where the command channel listens (`control-socket`, `control-sockets`).
    pub control: ControlSockets,
    /// High availability (the libdhcp_ha.so hook's parameters), when loaded.
    pub ha: Option<Ha>,
    /// The document as read (includes spliced in, comments dropped): what
    /// `config-get` answers and `config-write` writes.
    pub document: std::sync::Arc<serde_json::Value>,
}
