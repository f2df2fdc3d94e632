//! The harness for the packet path, shared by the fuzz target
//! (`dhcp4/fuzz/fuzz_targets/packet.rs`, which takes this file with
//! `#[path]`) and the corpus regression test (`tests/fuzz_corpus.rs`).
//!
//! One input is one datagram. It goes to [`dhcp4::packet::decode`] and, on a
//! fresh [`Server`], through `handle()` on three interfaces (one with an
//! address in the subnet, one without an address, one with an address in no
//! subnet), twice, then once more after everything has expired. Every
//! outcome is checked: no reply to what does not decode; a reply decodes,
//! is a BOOTREPLY with the request's xid, hardware address and relay
//! address, the message type it claims, the interface's address as server
//! identifier and option 82 echoed byte for byte; an OFFER or an ACK gives a
//! pool or reserved address of 192.168.1.0/24 (0.0.0.0 for an INFORM's
//! ACK), a NAK gives none; every lease change is in the subnet.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::OnceLock;

use dhcp4::config::model::Config;
use dhcp4::packet;
use dhcp4::server::{Destination, Interface, Outcome, Received, Server};
use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode, OptionCode};

/// One subnet, a pool, two reservations (by hardware address and by client
/// id, both outside the pool), a relay address, global and subnet options.
const CONFIG: &str = r#"{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0", "eth1", "eth2" ] },
  "valid-lifetime": 600, "renew-timer": 300, "rebind-timer": 500,
  "decline-probation-period": 60,
  "expired-leases-processing": { "hold-reclaimed-time": 3600 },
  "option-data": [
    { "name": "domain-name-servers", "data": "192.168.1.53, 10.96.0.53" },
    { "name": "domain-name", "data": "fuzz.example" } ],
  "client-classes": [
    { "name": "pxe", "test": "substring(option[60].hex,0,9) == 'PXEClient'",
      "next-server": "192.168.1.2", "boot-file-name": "pxelinux.0",
      "option-data": [ { "name": "tftp-server-name", "data": "tftp.fuzz" } ] },
    { "name": "relayed", "test": "relay4[1].exists and not (relay4[2].hex == 0x00)",
      "option-data": [ { "name": "ntp-servers", "data": "192.168.1.3" } ] },
    { "name": "lab",
      "test": "split(option[77].text, ',', 2) == 'lab' or member('pxe')",
      "valid-lifetime": 300, "min-valid-lifetime": 100, "max-valid-lifetime": 900 },
    { "name": "known-lab",
      "test": "member('KNOWN') and not (ifelse(option[61].exists, hexstring(option[61].hex, ':'), pkt4.mac) == '')",
      "option-data": [ { "name": "domain-name", "data": "known.fuzz" } ] },
    { "name": "odd-xid", "only-if-required": true,
      "test": "substring(uint32totext(pkt4.transid), -1, 1) == '7'",
      "option-data": [ { "name": "time-offset", "data": "-3600" } ] },
    { "name": "DROP", "test": "option[60].text == 'drop-me'" } ],
  "subnet4": [ {
    "require-client-classes": [ "odd-xid" ],
    "id": 1, "subnet": "192.168.1.0/24",
    "pools": [ { "pool": "192.168.1.100 - 192.168.1.200" } ],
    "relay": { "ip-addresses": [ "10.0.0.1" ] },
    "option-data": [
      { "name": "routers", "data": "192.168.1.1" },
      { "name": "classless-static-route",
        "data": "10.0.0.0/8 - 192.168.1.1, 0.0.0.0/0 - 192.168.1.1" },
      { "code": 252, "csv-format": false, "data": "0A:0B" } ],
    "reservations": [
      { "hw-address": "02:00:00:00:00:0a", "ip-address": "192.168.1.10",
        "hostname": "printer" },
      { "client-id": "01:02:00:00:00:00:0b", "ip-address": "192.168.1.20" } ]
  } ] } }"#;

/// The subnet and what may be handed out in it.
const NETWORK: u32 = 0xc0a8_0100;
const MASK: u32 = 0xffff_ff00;
const POOL: (u32, u32) = (0xc0a8_0164, 0xc0a8_01c8);
const RESERVED: [Ipv4Addr; 2] = [
    Ipv4Addr::new(192, 168, 1, 10),
    Ipv4Addr::new(192, 168, 1, 20),
];

/// Unix time of the first request.
const START: u64 = 1_700_000_000;

fn config() -> &'static Config {
    static PARSED: OnceLock<Config> = OnceLock::new();
    PARSED.get_or_init(
        || match dhcp4::config::load_str(CONFIG, Path::new("fuzz.json")) {
            Ok((config, _)) => config,
            Err(error) => panic!("the harness's configuration does not parse: {error}"),
        },
    )
}

fn interfaces() -> [Interface; 3] {
    [
        Interface {
            name: "eth0".into(),
            addr: Some(Ipv4Addr::new(192, 168, 1, 1)),
        },
        Interface {
            name: "eth1".into(),
            addr: None,
        },
        Interface {
            name: "eth2".into(),
            addr: Some(Ipv4Addr::new(172, 16, 9, 9)),
        },
    ]
}

fn in_subnet(addr: Ipv4Addr) -> bool {
    u32::from(addr) & MASK == NETWORK
}

fn assignable(addr: Ipv4Addr) -> bool {
    (POOL.0..=POOL.1).contains(&u32::from(addr)) || RESERVED.contains(&addr)
}

/// Runs one input through the packet path and checks every outcome;
/// returns how many replies it checked.
pub fn run(data: &[u8]) -> usize {
    let decoded = packet::decode(data).ok();
    let mut server = Server::new(config());
    let vias = interfaces();
    let mut now = START;
    let mut replies = 0;
    for _ in 0..2 {
        for via in &vias {
            let outcome = server.handle(data, via, now);
            check(decoded.as_ref(), via, &outcome);
            replies += usize::from(outcome.reply.is_some());
        }
        now += 5;
    }
    // Offers, leases and quarantines all run out; the client comes back.
    now += 100_000;
    for lease in server.reclaim(now) {
        assert!(in_subnet(lease.address), "reclaimed {}", lease.address);
    }
    let outcome = server.handle(data, &vias[0], now);
    check(decoded.as_ref(), &vias[0], &outcome);
    replies + usize::from(outcome.reply.is_some())
}

fn check(request: Option<&Message>, via: &Interface, outcome: &Outcome) {
    let Some(request) = request else {
        assert_eq!(outcome.received, Received::ParseFailed);
        assert!(outcome.reply.is_none() && outcome.changes.is_empty());
        return;
    };
    assert_ne!(outcome.received, Received::ParseFailed, "it decodes");
    for lease in &outcome.changes {
        assert!(
            in_subnet(lease.address),
            "lease change for {}",
            lease.address
        );
    }
    let Some(reply) = &outcome.reply else {
        return;
    };
    // No server identifier is configured: the interface's address is it.
    let Some(server_id) = via.addr else {
        panic!("a reply on an interface without an address: {reply:?}");
    };
    assert!(
        request.opcode() == Opcode::BootRequest && request.hlen() <= 16,
        "answered a reply or an oversized hardware address"
    );
    let message = match packet::decode(&reply.bytes) {
        Ok(message) => message,
        Err(error) => panic!("the reply does not decode: {error}: {:02x?}", reply.bytes),
    };
    assert_eq!(
        reply.bytes.last(),
        Some(&255),
        "END last, unpadded as Kea's"
    );
    assert_eq!(message.opcode(), Opcode::BootReply);
    assert_eq!(message.xid(), request.xid());
    assert_eq!(message.hlen(), request.hlen());
    assert_eq!(message.chaddr(), request.chaddr());
    // Kea answers an INFORM with ciaddr, or one not relayed, straight to
    // the client, without the relay's address and option 82.
    let direct = request.opts().msg_type() == Some(MessageType::Inform)
        && (!request.ciaddr().is_unspecified() || request.giaddr().is_unspecified());
    let giaddr = if direct {
        Ipv4Addr::UNSPECIFIED
    } else {
        request.giaddr()
    };
    assert_eq!(message.giaddr(), giaddr);
    assert_eq!(message.opts().msg_type(), Some(reply.kind));
    assert_eq!(
        message.opts().get(OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(server_id))
    );
    // Kea echoes option 82 when it carries anything.
    let relay = request
        .opts()
        .get(OptionCode::RelayAgentInformation)
        .filter(|o| !direct && !matches!(o, DhcpOption::Unknown(raw) if raw.data().is_empty()));
    assert_eq!(
        message.opts().get(OptionCode::RelayAgentInformation),
        relay,
        "option 82 is echoed as it came"
    );
    if !giaddr.is_unspecified() {
        assert_eq!(reply.to, Destination::Relay(giaddr));
    }
    let yiaddr = message.yiaddr();
    match (reply.kind, outcome.received) {
        (MessageType::Offer, Received::Discover) | (MessageType::Ack, Received::Request) => {
            assert!(assignable(yiaddr), "{:?} of {yiaddr}", reply.kind);
            assert!(in_subnet(yiaddr));
        }
        (MessageType::Ack, Received::Inform) | (MessageType::Nak, Received::Request) => {
            assert_eq!(yiaddr, Ipv4Addr::UNSPECIFIED, "{:?}", reply.kind);
        }
        (kind, received) => panic!("{kind:?} in answer to {received:?}"),
    }
}
