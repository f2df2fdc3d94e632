//! Classification with expressions (Kea's "Using Expressions in
//! Classification"): DROP, the pass after the host lookup, required
//! classes, reserved classes that change the first pass, guards.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use super::tests_kea::{
    class, config, discover, opt, option, pool, reply, reservation, subnet, yiaddr,
};
use super::Received;
use crate::config::model::{ClientClass, IdentifierType, ReservationModes};

/// Class `name` with `test` (option names are not used: codes only).
fn tested(name: &str, test: &str) -> ClientClass {
    let expression = crate::classify::parse(test, &|_| None).unwrap();
    let depends_on_known = test.contains("KNOWN");
    ClientClass {
        test: Some(expression),
        depends_on_known,
        ..class(name)
    }
}

#[test]
fn the_drop_class_drops_the_packet_as_a_drop() {
    let mut cfg = config(vec![subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)])]);
    cfg.classes = vec![tested("DROP", "option[60].text == 'scanner'")];
    let mut server = super::Server::new(&cfg);
    let dropped = discover(&mut server, 1, &[(60, b"scanner")]);
    assert_eq!(dropped.received, Received::Drop);
    assert!(dropped.reply.is_none());
    assert!(discover(&mut server, 2, &[(60, b"laptop")]).reply.is_some());
}

#[test]
fn a_class_test_picks_the_subnet_and_the_pool() {
    let mut phones = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    phones.client_class = Some("phones".into());
    let other = subnet(
        2,
        vec![
            pool("10.0.2.10", "10.0.2.10", Some("phones")),
            pool("10.0.2.20", "10.0.2.20", None),
        ],
    );
    let mut cfg = config(vec![phones, other]);
    cfg.classes = vec![tested(
        "phones",
        "substring(option[60].hex, 0, 4) == 'SIP/'",
    )];
    let mut server = super::Server::new(&cfg);
    assert_eq!(
        yiaddr(&discover(&mut server, 1, &[(60, b"SIP/2.0 phone")])),
        Ipv4Addr::new(10, 0, 1, 10)
    );
    assert_eq!(
        yiaddr(&discover(&mut server, 2, &[(60, b"laptop")])),
        Ipv4Addr::new(10, 0, 2, 20)
    );
}

#[test]
fn classes_testing_known_are_evaluated_after_the_host_lookup() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.reservations = vec![reservation(
        IdentifierType::HwAddress,
        &[2, 0, 0, 0, 0, 7],
        None,
    )];
    let mut cfg = config(vec![s]);
    let mut guests = tested("guests", "not member('KNOWN')");
    guests.options = vec![opt(15, b"guest.example")];
    let mut staff = tested("staff", "member('KNOWN')");
    staff.options = vec![opt(15, b"staff.example")];
    cfg.classes = vec![guests, staff];
    let mut server = super::Server::new(&cfg);
    let known = discover(&mut server, 7, &[(55, &[15])]);
    assert_eq!(option(&known, 15).unwrap(), b"staff.example");
    let unknown = discover(&mut server, 8, &[(55, &[15])]);
    assert_eq!(option(&unknown, 15).unwrap(), b"guest.example");
}

#[test]
fn required_classes_are_evaluated_after_allocation() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    if let Some(p) = s.pools.first_mut() {
        p.require_client_classes = vec!["late".into()];
    }
    let mut cfg = config(vec![s]);
    let mut late = tested("late", "option[60].text == 'pxe'");
    late.only_if_required = true;
    late.boot.boot_file_name = Some("late.efi".into());
    late.options = vec![opt(42, &[10, 0, 0, 123])];
    cfg.classes = vec![late];
    let mut server = super::Server::new(&cfg);
    let pxe = discover(&mut server, 1, &[(60, b"pxe"), (55, &[42])]);
    assert_eq!(option(&pxe, 42).unwrap(), [10, 0, 0, 123]);
    assert_eq!(&reply(&pxe)[108..116], b"late.efi");
    let other = discover(&mut server, 2, &[(60, b"other"), (55, &[42])]);
    assert_eq!(option(&other, 42), None);
}

#[test]
fn a_global_reservations_classes_replace_what_the_first_pass_decided() {
    // Kea's own example: second_class is "not member('first_class')"; a
    // host put in first_class must not stay in second_class.
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.reservation_modes = ReservationModes {
        global: true,
        in_subnet: false,
        out_of_pool: false,
    };
    let mut cfg = config(vec![s]);
    let mut first = class("first_class");
    first.options = vec![opt(15, b"first.example")];
    let mut second = tested("second_class", "not member('first_class')");
    second.options = vec![opt(15, b"second.example")];
    cfg.classes = vec![first, second];
    let mut host = reservation(IdentifierType::HwAddress, &[2, 0, 0, 0, 0, 5], None);
    host.client_classes = vec!["first_class".into()];
    cfg.reservations = vec![host];
    let mut server = super::Server::new(&cfg);
    let reserved = discover(&mut server, 5, &[(55, &[15])]);
    assert_eq!(option(&reserved, 15).unwrap(), b"first.example");
    let other = discover(&mut server, 6, &[(55, &[15])]);
    assert_eq!(option(&other, 15).unwrap(), b"second.example");
}

#[test]
fn pkt_src_is_the_relay_and_pkt_iface_the_receiving_interface() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.client_class = Some("via_relay".into());
    let mut cfg = config(vec![s]);
    cfg.classes = vec![tested(
        "via_relay",
        "pkt.src == 10.0.0.1 and pkt.iface == 'eth0'",
    )];
    let mut server = super::Server::new(&cfg);
    assert!(discover(&mut server, 1, &[]).reply.is_some());
}
