//! Kea 2.2's reply assembly, one test per rule: lifetimes and T1/T2,
//! always-send and never-send, packing order, echo-client-id, option 125,
//! boot fields, option 81.
#![allow(clippy::unwrap_used)]

use super::tests_kea::{
    class, config, discover, ip, lease, opt, option, options, pool, reply, reservation, subnet,
    yiaddr, RELAY, SERVER,
};
use super::{Destination, Server};
use crate::config::model::{BootFields, IdentifierType, Lifetime};
use crate::options::{ConfiguredOption, VendorOption};

#[test]
fn option_51_is_bounded_by_the_lifetime_and_a_class_lifetime_wins() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.lifetime = Lifetime {
        default: 600,
        min: 300,
        max: 900,
    };
    let mut cfg = config(vec![s]);
    let mut short = class("VENDOR_CLASS_short");
    short.lifetime = Some(Lifetime {
        default: 120,
        min: 60,
        max: 180,
    });
    cfg.classes = vec![short];
    let mut server = Server::new(&cfg);
    let asked = |secs: u32| secs.to_be_bytes();
    let ack = lease(&mut server, 1, &[(51, &asked(60))]);
    assert_eq!(option(&ack, 51).unwrap(), 300u32.to_be_bytes());
    assert_eq!(ack.changes.last().unwrap().valid_lifetime, 300);
    let offer = discover(&mut server, 2, &[(51, &asked(86_400))]);
    assert_eq!(option(&offer, 51).unwrap(), 900u32.to_be_bytes());
    let offer = discover(&mut server, 3, &[]);
    assert_eq!(option(&offer, 51).unwrap(), 600u32.to_be_bytes());
    let classed = discover(&mut server, 4, &[(60, b"short"), (51, &asked(1000))]);
    assert_eq!(option(&classed, 51).unwrap(), 180u32.to_be_bytes());
}

#[test]
fn t1_and_t2_are_calculated_only_when_asked_as_set_tee_times() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.lifetime = Lifetime {
        default: 1001,
        min: 1001,
        max: 1001,
    };
    let mut server = Server::new(&config(vec![s.clone()]));
    let plain = discover(&mut server, 1, &[]);
    assert_eq!((option(&plain, 58), option(&plain, 59)), (None, None));
    s.timers.calculate = true;
    let mut server = Server::new(&config(vec![s]));
    let calculated = discover(&mut server, 1, &[]);
    assert_eq!(option(&calculated, 58).unwrap(), 501u32.to_be_bytes());
    assert_eq!(option(&calculated, 59).unwrap(), 876u32.to_be_bytes());
}

#[test]
fn always_send_sends_unrequested_and_never_send_hides_a_wider_scope() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    let mut hidden = opt(3, &[10, 0, 1, 1]);
    hidden.never_send = true;
    s.options = vec![hidden];
    let mut cfg = config(vec![s]);
    let mut ntp = opt(42, &[10, 0, 0, 123]);
    ntp.always_send = true;
    cfg.options = vec![ntp, opt(3, &[10, 9, 9, 1]), opt(44, &[10, 0, 0, 44])];
    let mut server = Server::new(&cfg);
    let offer = discover(&mut server, 1, &[(55, &[3])]);
    assert_eq!(option(&offer, 42).unwrap(), [10, 0, 0, 123]);
    assert_eq!(option(&offer, 3), None, "routers are never sent");
    assert_eq!(option(&offer, 44), None, "not asked for, not always sent");
}

#[test]
fn options_are_packed_as_pack_options4_message_type_first_82_last() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.options = vec![
        opt(3, &[10, 0, 1, 1]),
        opt(6, &[10, 0, 1, 53]),
        opt(15, b"x"),
    ];
    let mut server = Server::new(&config(vec![s]));
    let offer = discover(
        &mut server,
        1,
        &[
            (82, &[1, 1, 7]),
            (61, &[1, 2, 0, 0, 0, 0, 1]),
            (55, &[15, 3]),
        ],
    );
    let codes: Vec<u8> = options(&offer).iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, [53, 1, 3, 6, 15, 51, 54, 61, 82]);
    assert_eq!(option(&offer, 54).unwrap(), SERVER.octets());
    assert_eq!(offer.reply.as_ref().unwrap().to, Destination::Relay(RELAY));
    assert_eq!(reply(&offer)[3], 1, "hops copied");
}

#[test]
fn echo_client_id_false_leaves_option_61_out() {
    let mut cfg = config(vec![subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)])]);
    cfg.echo_client_id = false;
    let mut server = Server::new(&cfg);
    let offer = discover(&mut server, 1, &[(61, &[1, 2, 0, 0, 0, 0, 1])]);
    assert_eq!(option(&offer, 61), None);
}

#[test]
fn vendor_options_follow_append_requested_vendor_options() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    // The carrier of enterprise 4491 without sub-options (Kea's
    // "vivso-suboptions" data "4491"), tftp-servers (2) in vendor-4491 and
    // an always-send sub-option 3 of enterprise 9.
    s.options = vec![opt(125, &[0, 0, 0x11, 0x8b, 0])];
    let sub = |enterprise: u32, code: u8, data: &[u8], always_send: bool| VendorOption {
        enterprise,
        option: ConfiguredOption {
            always_send,
            ..opt(code, data)
        },
    };
    s.vendor_options = vec![sub(4491, 2, &[10, 1, 1, 202], false), sub(9, 3, b"x", true)];
    let mut server = Server::new(&config(vec![s]));
    assert_eq!(option(&discover(&mut server, 1, &[]), 125), None);
    // Asked for in option 55: the carrier as configured.
    let asked = discover(&mut server, 2, &[(55, &[125])]);
    assert_eq!(option(&asked, 125).unwrap(), [0, 0, 0x11, 0x8b, 0]);
    // A modem whose ORO (sub-option 1) asks for sub-option 2.
    let modem = discover(
        &mut server,
        3,
        &[(55, &[125]), (125, &[0, 0, 0x11, 0x8b, 3, 1, 1, 2])],
    );
    assert_eq!(
        option(&modem, 125).unwrap(),
        [0, 0, 0x11, 0x8b, 6, 2, 4, 10, 1, 1, 202]
    );
    // Enterprise 9's client gets its always-send sub-option unasked.
    let nine = discover(&mut server, 4, &[(125, &[0, 0, 0, 9, 0])]);
    assert_eq!(option(&nine, 125).unwrap(), [0, 0, 0, 9, 3, 3, 1, b'x']);
}

#[test]
fn boot_fields_come_from_the_first_class_that_sets_them_over_the_subnet() {
    let mut s = subnet(1, vec![pool("10.0.1.10", "10.0.1.20", None)]);
    s.boot = BootFields {
        next_server: Some(ip("10.0.1.2")),
        server_hostname: Some("subnet-tftp".into()),
        boot_file_name: Some("subnet.efi".into()),
    };
    let mut cfg = config(vec![s]);
    let mut pxe = class("VENDOR_CLASS_PXEClient");
    pxe.boot.boot_file_name = Some("ipxe.efi".into());
    cfg.classes = vec![pxe];
    let mut server = Server::new(&cfg);
    let offer = discover(&mut server, 1, &[(60, b"PXEClient")]);
    let bytes = reply(&offer);
    assert_eq!(&bytes[20..24], &[10, 0, 1, 2]);
    assert_eq!(&bytes[44..55], b"subnet-tftp");
    assert_eq!(&bytes[108..117], b"ipxe.efi\0");
}

#[test]
fn option_81_is_answered_as_kea_2_2_answers_it_with_ddns_off() {
    let mut s = subnet(1, vec![pool("10.0.1.100", "10.0.1.120", None)]);
    let mut r = reservation(
        IdentifierType::HwAddress,
        &[2, 0, 0, 0, 0, 9],
        Some("10.0.1.9"),
    );
    r.hostname = Some("Printer9".into());
    s.reservations = vec![r];
    let mut server = Server::new(&config(vec![s]));
    // (client, its option 81, what Debian's Kea 2.2 answered in the OFFER)
    let cases: [(u8, &[u8], &[u8]); 7] = [
        (1, b"\x04\x00\x00\x06Laptop", b"\x0c\x00\x00\x06laptop\x00"),
        (
            2,
            b"\x00\x00\x00Laptop.Example.COM.",
            b"\x08\x00\x00laptop.example.com.",
        ),
        (
            3,
            b"\x01\xff\xff\x04host\x03lan\x00",
            b"\x0a\xff\xffhostlan.",
        ),
        (
            4,
            b"\x05\x00\x00\x04Host\x07Example\x00",
            b"\x0e\x00\x00\x04host\x07example\x00",
        ),
        (9, b"\x04\x00\x00\x03foo", b"\x0c\x00\x00\x08printer9\x00"),
        (6, b"\x04\x00\x00\x07my_host", b"\x0c\x00\x00\x06myhost\x00"),
        (7, b"\x00\x00\x00single", b"\x08\x00\x00single."),
    ];
    for (n, sent, answered) in cases {
        let offer = discover(&mut server, n, &[(81, sent), (12, b"ignored")]);
        assert_eq!(option(&offer, 81).unwrap(), answered, "client {n}");
        assert_eq!(option(&offer, 12), None, "option 81 wins over 12");
    }
    // No name at all: Kea generates one from the address.
    let offer = discover(&mut server, 5, &[(81, b"\x00\x00\x00")]);
    let name = format!("myhost-{}.", yiaddr(&offer).to_string().replace('.', "-"));
    assert_eq!(option(&offer, 81).unwrap()[3..], *name.as_bytes());
    let ack = lease(&mut server, 5, &[(81, b"\x00\x00\x00")]);
    assert_eq!(ack.changes.last().unwrap().hostname, name);
}
