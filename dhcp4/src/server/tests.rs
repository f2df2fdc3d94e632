//! The protocol's exchanges (RFC 2131 states, durability, reclamation) with
//! plain packets through a one-subnet Kea configuration.
#![allow(clippy::unwrap_used)]
use super::*;
use crate::lease::LeaseState;
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
    let (config, _) = crate::config::load_str(&text, Path::new("t.json")).unwrap();
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
    // No record of client 2: a non-authoritative server stays silent, an
    // authoritative one NAKs (Kea's DHCP4_PACKET_NAK_0002).
    assert_eq!(reboot(&mut server, 2, [192, 168, 1, 101]).reply, None);
    let mut auth = self::server(true);
    let taken = lease(&mut auth, 1, 100);
    let free = if taken.octets()[3] == 100 {
        [192, 168, 1, 101]
    } else {
        [192, 168, 1, 100]
    };
    assert_eq!(kind(&reboot(&mut auth, 2, free)), Some(MessageType::Nak));
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
