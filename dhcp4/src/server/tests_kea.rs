//! Kea 2.2's behaviour, one test per rule, on hand-built configurations
//! (`config::model`) and plain packets.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;

use super::{Interface, Outcome, Server};
use crate::config::model::{
    BootFields, ClientClass, Config, Identifier, IdentifierType, Lifetime, Pool, Reservation,
    ReservationModes, SharedNetwork, SocketType, Subnet, Timers,
};
use crate::options::{ConfiguredOption, OptionDefs};

pub(super) const RELAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(super) const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

pub(super) fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

pub(super) fn opt(code: u8, data: &[u8]) -> ConfiguredOption {
    ConfiguredOption {
        code,
        data: data.to_vec(),
        always_send: false,
        never_send: false,
    }
}

pub(super) fn pool(first: &str, last: &str, class: Option<&str>) -> Pool {
    Pool {
        first: ip(first),
        last: ip(last),
        options: Vec::new(),
        vendor_options: Vec::new(),
        client_class: class.map(str::to_string),
        require_client_classes: Vec::new(),
    }
}

/// Subnet `id` of 10.0.`id`.0/24 with `pools`, selected by the relay.
pub(super) fn subnet(id: u32, pools: Vec<Pool>) -> Subnet {
    Subnet {
        id,
        network: Ipv4Addr::new(10, 0, u8::try_from(id).unwrap(), 0),
        prefix_len: 24,
        pools,
        options: Vec::new(),
        vendor_options: Vec::new(),
        reservations: Vec::new(),
        shared_network: None,
        relay_addresses: vec![RELAY],
        interface: None,
        client_class: None,
        require_client_classes: Vec::new(),
        lifetime: Lifetime {
            default: 3600,
            min: 3600,
            max: 3600,
        },
        timers: Timers {
            renew: None,
            rebind: None,
            calculate: false,
            t1_percent: 0.5,
            t2_percent: 0.875,
        },
        match_client_id: true,
        authoritative: false,
        reservation_modes: ReservationModes {
            global: false,
            in_subnet: true,
            out_of_pool: false,
        },
        boot: BootFields::default(),
    }
}

pub(super) fn class(name: &str) -> ClientClass {
    ClientClass {
        name: name.into(),
        test: None,
        only_if_required: false,
        depends_on_known: false,
        options: Vec::new(),
        vendor_options: Vec::new(),
        boot: BootFields::default(),
        lifetime: None,
    }
}

pub(super) fn reservation(kind: IdentifierType, value: &[u8], addr: Option<&str>) -> Reservation {
    Reservation {
        identifier: Identifier {
            kind,
            value: value.to_vec(),
        },
        ip_address: addr.map(ip),
        hostname: None,
        options: Vec::new(),
        vendor_options: Vec::new(),
        client_classes: Vec::new(),
        boot: BootFields::default(),
    }
}

pub(super) fn config(subnets: Vec<Subnet>) -> Config {
    Config {
        interfaces: vec!["eth0".into()],
        socket_type: SocketType::Udp,
        lease_file: None,
        persist: false,
        lfc_interval: 0,
        reclaim_timer_wait_time: 10,
        hold_reclaimed_time: 3600,
        decline_probation_period: 86_400,
        echo_client_id: true,
        host_identifiers: vec![
            IdentifierType::HwAddress,
            IdentifierType::Duid,
            IdentifierType::CircuitId,
            IdentifierType::ClientId,
        ],
        option_defs: OptionDefs::default(),
        options: Vec::new(),
        vendor_options: Vec::new(),
        classes: Vec::new(),
        reservations: Vec::new(),
        shared_networks: Vec::new(),
        subnets,
        boot: BootFields::default(),
        control: Default::default(),
        ha: None,
        document: Default::default(),
    }
}

pub(super) fn via() -> Interface {
    Interface {
        name: "eth0".into(),
        addr: Some(SERVER),
    }
}

/// A relayed request of `kind` from client `n` (hardware address
/// 02:00:00:00:00:n) with `options`.
pub(super) fn relayed(kind: u8, n: u8, options: &[(u8, &[u8])]) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 1;
    p[1] = 1;
    p[2] = 6;
    p[3] = 1;
    p[4..8].copy_from_slice(&[0x12, 0x34, 0, n]);
    p[24..28].copy_from_slice(&RELAY.octets());
    p[28..34].copy_from_slice(&[2, 0, 0, 0, 0, n]);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    for (code, data) in options {
        p.push(*code);
        p.push(u8::try_from(data.len()).unwrap());
        p.extend_from_slice(data);
    }
    p.push(255);
    p
}

pub(super) fn reply(outcome: &Outcome) -> &[u8] {
    &outcome.reply.as_ref().unwrap().bytes
}

pub(super) fn yiaddr(outcome: &Outcome) -> Ipv4Addr {
    let bytes = reply(outcome);
    Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19])
}

/// The reply's options in wire order.
pub(super) fn options(outcome: &Outcome) -> Vec<(u8, Vec<u8>)> {
    let bytes = reply(outcome);
    let mut at = 240;
    let mut list = Vec::new();
    while bytes[at] != 255 {
        let len = usize::from(bytes[at + 1]);
        list.push((bytes[at], bytes[at + 2..at + 2 + len].to_vec()));
        at += 2 + len;
    }
    assert_eq!(at + 1, bytes.len(), "END is the last byte");
    list
}

pub(super) fn option(outcome: &Outcome, code: u8) -> Option<Vec<u8>> {
    options(outcome)
        .into_iter()
        .find(|(c, _)| *c == code)
        .map(|(_, d)| d)
}

pub(super) fn discover(server: &mut Server, n: u8, options: &[(u8, &[u8])]) -> Outcome {
    server.handle(&relayed(1, n, options), &via(), 1000)
}

/// DISCOVER, then REQUEST of the offered address: the ACK.
pub(super) fn lease(server: &mut Server, n: u8, options: &[(u8, &[u8])]) -> Outcome {
    let offer = discover(server, n, options);
    let addr = yiaddr(&offer).octets();
    let mut request: Vec<(u8, &[u8])> = options.to_vec();
    let server_id = SERVER.octets();
    request.push((50, &addr));
    request.push((54, &server_id));
    let ack = server.handle(&relayed(3, n, &request), &via(), 1000);
    assert_eq!(ack.reply.as_ref().map(|r| r.kind), Some(MessageType::Ack));
    ack
}

#[test]
fn a_subnet_client_class_guard_lets_only_members_select_it() {
    let mut gold = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    gold.client_class = Some("VENDOR_CLASS_gold".into());
    let mut server = Server::new(&config(vec![
        gold,
        subnet(2, vec![pool("10.0.2.10", "10.0.2.20", None)]),
    ]));
    assert_eq!(yiaddr(&discover(&mut server, 1, &[])), ip("10.0.2.10"));
    // Kea's built-in class is VENDOR_CLASS_ and option 60's text (trailing
    // NULs left out).
    let offer = discover(&mut server, 2, &[(60, b"gold\0")]);
    assert_eq!(yiaddr(&offer), ip("10.0.1.10"));
}

#[test]
fn a_pool_client_class_guard_gives_its_addresses_only_to_members() {
    let mut server = Server::new(&config(vec![subnet(
        1,
        vec![
            pool("10.0.1.10", "10.0.1.10", Some("VENDOR_CLASS_pxe")),
            pool("10.0.1.20", "10.0.1.20", None),
        ],
    )]));
    assert_eq!(yiaddr(&discover(&mut server, 1, &[])), ip("10.0.1.20"));
    // Asking for a guarded address does not get it either.
    let hinted = discover(&mut server, 2, &[(50, &[10, 0, 1, 10])]);
    assert!(hinted.reply.is_none(), "the only open address is held");
    assert_eq!(hinted.allocation_failed, Some(1));
    assert_eq!(
        yiaddr(&discover(&mut server, 3, &[(60, b"pxe")])),
        ip("10.0.1.10")
    );
}

#[test]
fn known_and_unknown_follow_the_host_lookup() {
    let mut s = subnet(
        1,
        vec![
            pool("10.0.1.10", "10.0.1.10", Some("KNOWN")),
            pool("10.0.1.20", "10.0.1.20", Some("UNKNOWN")),
        ],
    );
    // A reservation without an address still makes its client KNOWN.
    s.reservations = vec![reservation(
        IdentifierType::HwAddress,
        &[2, 0, 0, 0, 0, 7],
        None,
    )];
    let mut server = Server::new(&config(vec![s]));
    assert_eq!(yiaddr(&discover(&mut server, 7, &[])), ip("10.0.1.10"));
    assert_eq!(yiaddr(&discover(&mut server, 8, &[])), ip("10.0.1.20"));
}

#[test]
fn a_circuit_id_reservation_gives_its_address_options_and_boot_fields() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    let mut r = reservation(IdentifierType::CircuitId, b"port7", Some("10.0.1.99"));
    r.options = vec![opt(66, b"tftp.example")];
    r.boot = BootFields {
        next_server: Some(ip("10.0.1.5")),
        server_hostname: None,
        boot_file_name: Some("pxelinux.0".into()),
    };
    s.reservations = vec![r];
    s.boot.boot_file_name = Some("subnet.efi".into());
    let mut cfg = config(vec![s]);
    cfg.host_identifiers = vec![IdentifierType::CircuitId];
    let mut server = Server::new(&cfg);
    let agent: &[u8] = &[1, 5, b'p', b'o', b'r', b't', b'7'];
    let offer = discover(&mut server, 1, &[(82, agent), (55, &[66])]);
    assert_eq!(yiaddr(&offer), ip("10.0.1.99"));
    let bytes = reply(&offer);
    assert_eq!(&bytes[20..24], &[10, 0, 1, 5], "siaddr");
    assert_eq!(
        &bytes[108..118],
        b"pxelinux.0",
        "the host's file over the subnet's"
    );
    assert_eq!(option(&offer, 66).unwrap(), b"tftp.example");
    assert_eq!(option(&offer, 82).unwrap(), agent);
    // Another port: no reservation, the subnet's boot file.
    let other = discover(&mut server, 2, &[(82, &[1, 1, b'x'])]);
    assert_eq!(&reply(&other)[108..118], b"subnet.efi");
}

#[test]
fn client_id_and_duid_reservations_match_option_61_as_kea() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.reservations = vec![
        reservation(
            IdentifierType::ClientId,
            &[1, 2, 0, 0, 0, 0, 1],
            Some("10.0.1.51"),
        ),
        // An RFC 4361 client id: type 255, IAID, then the DUID.
        reservation(IdentifierType::Duid, &[0, 1, 0xaa, 0xbb], Some("10.0.1.52")),
    ];
    let mut server = Server::new(&config(vec![s]));
    let by_client_id = discover(&mut server, 1, &[(61, &[1, 2, 0, 0, 0, 0, 1])]);
    assert_eq!(yiaddr(&by_client_id), ip("10.0.1.51"));
    assert_eq!(
        option(&by_client_id, 61).unwrap(),
        [1, 2, 0, 0, 0, 0, 1],
        "echoed (echo-client-id)"
    );
    let by_duid = discover(
        &mut server,
        2,
        &[(61, &[255, 0, 0, 0, 9, 0, 1, 0xaa, 0xbb])],
    );
    assert_eq!(yiaddr(&by_duid), ip("10.0.1.52"));
}

#[test]
fn a_hw_address_reservation_sends_its_hostname_in_lower_case() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    let mut r = reservation(
        IdentifierType::HwAddress,
        &[2, 0, 0, 0, 0, 3],
        Some("10.0.1.30"),
    );
    r.hostname = Some("Printer".into());
    s.reservations = vec![r];
    let mut server = Server::new(&config(vec![s]));
    let ack = lease(&mut server, 3, &[]);
    assert_eq!(yiaddr(&ack), ip("10.0.1.30"));
    assert_eq!(option(&ack, 12).unwrap(), b"printer");
    assert_eq!(ack.changes.last().unwrap().hostname, "printer");
    // Without a reservation the client's own name comes back cleaned.
    let own = discover(&mut server, 4, &[(12, b"My_Laptop")]);
    assert_eq!(option(&own, 12).unwrap(), b"mylaptop");
}

#[test]
fn reservation_classes_join_and_their_options_follow_the_host_scope() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    let mut r = reservation(IdentifierType::HwAddress, &[2, 0, 0, 0, 0, 5], None);
    r.client_classes = vec!["voip".into()];
    r.options = vec![opt(15, b"host.example")];
    s.reservations = vec![r];
    s.options = vec![opt(15, b"subnet.example"), opt(6, &[10, 0, 1, 53])];
    let mut cfg = config(vec![s]);
    let mut voip = class("voip");
    voip.options = vec![opt(150, &[10, 0, 1, 66]), opt(6, &[10, 0, 9, 53])];
    cfg.classes = vec![voip];
    cfg.options = vec![opt(6, &[10, 9, 9, 53]), opt(150, &[10, 9, 9, 66])];
    let mut server = Server::new(&cfg);
    let offer = discover(&mut server, 5, &[(55, &[150])]);
    assert_eq!(
        option(&offer, 15).unwrap(),
        b"host.example",
        "host over subnet"
    );
    assert_eq!(
        option(&offer, 6).unwrap(),
        [10, 0, 1, 53],
        "subnet over class"
    );
    assert_eq!(
        option(&offer, 150).unwrap(),
        [10, 0, 1, 66],
        "class over global"
    );
    let stranger = discover(&mut server, 6, &[(55, &[150])]);
    assert_eq!(option(&stranger, 150).unwrap(), [10, 9, 9, 66]);
}

#[test]
fn required_classes_without_a_test_are_not_joined_in_kea_2_2() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.require_client_classes = vec!["late".into()];
    let mut cfg = config(vec![s]);
    let mut late = class("late");
    late.only_if_required = true;
    late.options = vec![opt(42, &[10, 0, 0, 123])];
    cfg.classes = vec![late];
    let mut server = Server::new(&cfg);
    let offer = discover(&mut server, 1, &[(55, &[42])]);
    assert_eq!(option(&offer, 42), None);
}

pub(super) fn shared(subnets: Vec<Subnet>) -> Config {
    let mut cfg = config(
        subnets
            .into_iter()
            .map(|mut s| {
                s.shared_network = Some(0);
                s
            })
            .collect(),
    );
    cfg.shared_networks = vec![SharedNetwork {
        name: "floor".into(),
        options: vec![opt(15, b"floor.example")],
        vendor_options: Vec::new(),
        require_client_classes: Vec::new(),
        client_class: None,
    }];
    cfg
}

#[test]
fn a_shared_network_moves_to_the_next_subnet_when_one_is_full() {
    let mut server = Server::new(&shared(vec![
        subnet(1, vec![pool("10.0.1.10", "10.0.1.10", None)]),
        subnet(2, vec![pool("10.0.2.10", "10.0.2.11", None)]),
    ]));
    let first = lease(&mut server, 1, &[]);
    assert_eq!(yiaddr(&first), ip("10.0.1.10"));
    let second = lease(&mut server, 2, &[(55, &[1, 15])]);
    assert_eq!(yiaddr(&second), ip("10.0.2.10"));
    assert_eq!(second.changes.last().unwrap().subnet_id, 2);
    assert_eq!(option(&second, 1).unwrap(), [255, 255, 255, 0]);
    assert_eq!(option(&second, 15).unwrap(), b"floor.example");
    // Its lease holds in whichever subnet it is.
    assert_eq!(yiaddr(&discover(&mut server, 2, &[])), ip("10.0.2.10"));
    assert_eq!(yiaddr(&discover(&mut server, 1, &[])), ip("10.0.1.10"));
}

#[test]
fn a_shared_network_honours_each_subnets_guard() {
    let mut gold = subnet(2, vec![pool("10.0.2.10", "10.0.2.11", None)]);
    gold.client_class = Some("VENDOR_CLASS_gold".into());
    let mut server = Server::new(&shared(vec![
        subnet(1, vec![pool("10.0.1.10", "10.0.1.10", None)]),
        gold,
    ]));
    assert_eq!(yiaddr(&lease(&mut server, 1, &[])), ip("10.0.1.10"));
    assert!(
        discover(&mut server, 2, &[]).reply.is_none(),
        "full for non-members"
    );
    assert_eq!(
        yiaddr(&discover(&mut server, 3, &[(60, b"gold")])),
        ip("10.0.2.10")
    );
}

#[test]
fn a_reload_keeps_every_lease_and_serves_the_new_options() {
    let before = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    let mut server = Server::new(&config(vec![before.clone()]));
    let addr = yiaddr(&lease(&mut server, 1, &[]));
    let mut after = before;
    after.pools = vec![pool("10.0.1.10", "10.0.1.30", None)];
    after.options = vec![opt(3, &[10, 0, 1, 254])];
    let restored = server.reconfigure(&config(vec![after]), 1000);
    assert_eq!(restored.active, 1);
    assert_eq!(server.lease(addr).unwrap().subnet_id, 1);
    let again = discover(&mut server, 1, &[]);
    assert_eq!(yiaddr(&again), addr, "its lease is still its own");
    assert_eq!(option(&again, 3).unwrap(), [10, 0, 1, 254]);
    assert_ne!(yiaddr(&discover(&mut server, 2, &[])), addr);
    // A subnet that goes away takes its leases with it, reported.
    let gone = server.reconfigure(&config(vec![subnet(2, Vec::new())]), 1000);
    assert_eq!(gone.skipped.len(), 1);
}

#[test]
fn sanity_check_drops_a_discover_with_a_server_id_and_an_anonymous_client() {
    let mut server = Server::new(&config(vec![subnet(
        1,
        vec![pool("10.0.1.10", "10.0.1.20", None)],
    )]));
    let with_id = discover(&mut server, 1, &[(54, &SERVER.octets())]);
    assert_eq!(with_id.received, super::Received::Drop);
    assert!(with_id.reply.is_none());
    let mut anonymous = relayed(1, 2, &[]);
    anonymous[2] = 0;
    let outcome = server.handle(&anonymous, &via(), 1000);
    assert_eq!(outcome.received, super::Received::Drop);
    // With a client id it is served.
    let mut identified = relayed(1, 2, &[(61, &[0, 7])]);
    identified[2] = 0;
    assert!(server.handle(&identified, &via(), 1000).reply.is_some());
}

#[test]
fn a_relayed_request_no_subnet_takes_is_naked_and_an_inform_answered_bare() {
    let mut far = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    far.relay_addresses = vec![ip("10.9.9.9")];
    let mut server = Server::new(&config(vec![far]));
    assert!(discover(&mut server, 1, &[]).reply.is_none());
    let client_id: &[u8] = &[1, 2, 0, 0, 0, 0, 1];
    let request = server.handle(
        &relayed(3, 1, &[(50, &[10, 0, 1, 10]), (61, client_id)]),
        &via(),
        1000,
    );
    assert_eq!(
        request.reply.as_ref().map(|r| r.kind),
        Some(MessageType::Nak)
    );
    let codes: Vec<u8> = options(&request).iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, [53, 54, 61]);
    let inform = server.handle(&relayed(8, 1, &[(61, client_id)]), &via(), 1000);
    assert_eq!(option(&inform, 53).unwrap(), [5]);
    assert_eq!(options(&inform).len(), 3);
    assert_eq!(
        reply(&inform)[10],
        0x80,
        "a relayed INFORM's ACK is broadcast"
    );
}

#[test]
fn a_request_for_an_address_no_pool_knows_is_dropped_one_reserved_for_another_naked() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.reservations = vec![reservation(
        IdentifierType::HwAddress,
        &[2, 0, 0, 0, 0, 9],
        Some("10.0.1.9"),
    )];
    let mut server = Server::new(&config(vec![s]));
    let select = |server: &mut Server, addr: [u8; 4]| {
        server.handle(
            &relayed(3, 1, &[(50, &addr), (54, &SERVER.octets())]),
            &via(),
            1000,
        )
    };
    assert!(select(&mut server, [10, 99, 0, 5]).reply.is_none());
    assert!(
        select(&mut server, [10, 0, 1, 5]).reply.is_none(),
        "outside the pools"
    );
    let reserved = select(&mut server, [10, 0, 1, 9]);
    assert_eq!(
        reserved.reply.as_ref().map(|r| r.kind),
        Some(MessageType::Nak)
    );
}

#[test]
fn a_new_address_counts_as_assigned_and_a_repeated_request_does_not() {
    let mut server = Server::new(&config(vec![subnet(
        1,
        vec![pool("10.0.1.10", "10.0.1.20", None)],
    )]));
    let first = lease(&mut server, 1, &[]);
    assert_eq!(first.assigned, Some(1));
    // The same client asks again for the address it holds: a renewal.
    let again = lease(&mut server, 1, &[]);
    assert_eq!(again.assigned, None);
    assert_eq!(lease(&mut server, 2, &[]).assigned, Some(1));
}
