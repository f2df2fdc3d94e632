//! Subnets, pools, shared networks, inheritance, numbering and reservations.

use crate::config::model::IdentifierType;

use super::{ip, load, refuse, warned};

#[test]
fn subnets_without_id_are_numbered_as_kea_2_2_with_a_warning() {
    let (config, warnings) = load(
        r#""shared-networks": [ { "name": "lan", "subnet4": [ { "subnet": "10.0.1.0/24" } ] } ],
           "subnet4": [ { "subnet": "10.0.2.0/24" }, { "id": 7, "subnet": "10.0.3.0/24" },
                        { "subnet": "10.0.4.0/24" } ]"#,
    );
    let ids: Vec<_> = config.subnets.iter().map(|s| (s.network, s.id)).collect();
    assert_eq!(
        ids,
        vec![
            (ip("10.0.1.0"), 1),
            (ip("10.0.2.0"), 2),
            (ip("10.0.3.0"), 7),
            (ip("10.0.4.0"), 3)
        ]
    );
    let numbered: Vec<_> = warnings
        .iter()
        .filter(|w| w.message.contains("no \"id\""))
        .collect();
    assert_eq!(numbered.len(), 3);
    assert_eq!(numbered[0].key, "Dhcp4.shared-networks[0].subnet4[0]");
    assert!(
        numbered[1].message.contains("write \"id\": 2"),
        "{}",
        numbered[1]
    );
}

#[test]
fn duplicate_ids_and_prefixes_are_errors() {
    let written = refuse(
        r#""subnet4": [ { "id": 1, "subnet": "10.0.1.0/24" },
 { "id": 1, "subnet": "10.0.2.0/24" } ]"#,
    );
    assert!(
        written.starts_with(
            "/etc/kea/t.json:3: Dhcp4.subnet4[1].id: invalid value: duplicate subnet id 1"
        ),
        "{written}"
    );
    let numbered = refuse(
        r#""subnet4": [ { "id": 1, "subnet": "10.0.1.0/24" }, { "subnet": "10.0.2.0/24" } ]"#,
    );
    assert!(
        numbered.contains("duplicate subnet id 1 (numbered here, written for subnet 10.0.1.0/24)"),
        "{numbered}"
    );
    let prefix = refuse(
        r#""subnet4": [ { "id": 1, "subnet": "10.0.1.0/24" }, { "id": 2, "subnet": "10.0.1.0/24" } ]"#,
    );
    assert!(
        prefix.contains("Dhcp4.subnet4[1].subnet: invalid value: 10.0.1.0/24 is defined twice"),
        "{prefix}"
    );
}

#[test]
fn pools_as_ranges_and_prefixes_inside_their_subnet() {
    let (config, _) = load(
        r#""subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [
             { "pool": "192.0.2.10 - 192.0.2.20" }, { "pool": "192.0.2.128/26", "client-class": "voip",
               "require-client-classes": [ "a" ], "evaluate-additional-classes": [ "b" ] },
             { "pool": "192.0.2.30-192.0.2.30", "client-classes": [ "phones" ] } ] } ]"#,
    );
    let pools = &config.subnets[0].pools;
    assert_eq!(
        (pools[0].first, pools[0].last),
        (ip("192.0.2.10"), ip("192.0.2.20"))
    );
    assert_eq!(
        (pools[1].first, pools[1].last),
        (ip("192.0.2.128"), ip("192.0.2.191"))
    );
    assert_eq!(pools[1].client_class.as_deref(), Some("voip"));
    assert_eq!(pools[1].require_client_classes, vec!["a", "b"]);
    assert_eq!(pools[2].client_class.as_deref(), Some("phones"));
    let outside = refuse(
        "\"subnet4\": [ { \"id\": 1, \"subnet\": \"192.0.2.0/24\", \"pools\": [\n { \"pool\": \"192.0.2.1 - 192.0.2.9\" },\n { \"pool\": \"192.0.3.1 - 192.0.3.9\" } ] } ]",
    );
    assert_eq!(outside, "/etc/kea/t.json:4: Dhcp4.subnet4[0].pools[1].pool: invalid value: 192.0.3.1 - 192.0.3.9 is not within the subnet 192.0.2.0/24");
    let overlap = refuse(
        r#""subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [
 { "pool": "192.0.2.1 - 192.0.2.9" }, { "pool": "192.0.2.5 - 192.0.2.20" } ] } ]"#,
    );
    assert!(
        overlap.contains("overlaps Dhcp4.subnet4[0].pools[0]"),
        "{overlap}"
    );
}

#[test]
fn parameters_inherit_global_then_shared_network_then_subnet() {
    let (config, _) = load(
        r#""valid-lifetime": 100, "renew-timer": 40, "match-client-id": false, "authoritative": true,
           "next-server": "192.0.2.1", "boot-file-name": "pxelinux.0", "reservation-mode": "global",
           "shared-networks": [ { "name": "lan", "valid-lifetime": 200, "server-hostname": "tftp",
             "relay": { "ip-addresses": [ "10.9.0.1" ] }, "interface": "eth1", "client-class": "lan-class",
             "reservations-global": false,
             "subnet4": [ { "id": 1, "subnet": "10.0.1.0/24", "next-server": "10.0.1.5" },
                          { "id": 2, "subnet": "10.0.2.0/24", "valid-lifetime": 300,
                            "relay": { "ip-address": "10.9.0.2" }, "client-class": "own" } ] } ],
           "subnet4": [ { "id": 3, "subnet": "10.0.3.0/24", "reservations-out-of-pool": true } ]"#,
    );
    let [a, b, c] = &config.subnets[..] else {
        panic!("{:?}", config.subnets)
    };
    assert_eq!(
        (a.lifetime.default, b.lifetime.default, c.lifetime.default),
        (200, 300, 100)
    );
    assert_eq!((a.timers.renew, c.timers.renew), (Some(40), Some(40)));
    assert!(!a.match_client_id && a.authoritative);
    assert_eq!(a.boot.next_server, Some(ip("10.0.1.5")));
    assert_eq!(b.boot.next_server, Some(ip("192.0.2.1")));
    assert_eq!(a.boot.server_hostname.as_deref(), Some("tftp"));
    assert_eq!(c.boot.server_hostname, None);
    assert_eq!(c.boot.boot_file_name.as_deref(), Some("pxelinux.0"));
    assert_eq!(a.relay_addresses, vec![ip("10.9.0.1")]);
    assert_eq!(b.relay_addresses, vec![ip("10.9.0.2")]);
    assert_eq!(a.interface.as_deref(), Some("eth1"));
    assert_eq!(a.client_class.as_deref(), Some("lan-class"));
    assert_eq!(b.client_class.as_deref(), Some("own"));
    assert_eq!((a.shared_network, c.shared_network), (Some(0), None));
    assert_eq!(
        config.shared_networks[0].client_class.as_deref(),
        Some("lan-class")
    );
    // reservation-mode "global" at the top; the network turns global lookups off.
    let (ma, mc) = (a.reservation_modes, c.reservation_modes);
    assert_eq!(
        (ma.global, ma.in_subnet, ma.out_of_pool),
        (false, false, false)
    );
    assert_eq!(
        (mc.global, mc.in_subnet, mc.out_of_pool),
        (true, false, true)
    );
}

#[test]
fn reservation_mode_maps_as_kea_and_conflicts_are_errors() {
    for (mode, expected) in [
        ("disabled", (false, false, false)),
        ("out-of-pool", (false, true, true)),
        ("global", (true, false, false)),
        ("all", (false, true, false)),
    ] {
        let (config, _) = load(&format!(
            r#""subnet4": [ {{ "id": 1, "subnet": "10.0.1.0/24", "reservation-mode": "{mode}" }} ]"#
        ));
        let m = config.subnets[0].reservation_modes;
        assert_eq!((m.global, m.in_subnet, m.out_of_pool), expected, "{mode}");
    }
    let both = refuse(r#""reservation-mode": "all", "reservations-global": true"#);
    assert!(
        both.contains("Dhcp4.reservation-mode: invalid value: cannot be used with"),
        "{both}"
    );
}

#[test]
fn a_subnet_interface_must_match_its_shared_network() {
    let message = refuse(
        r#""shared-networks": [ { "name": "n", "interface": "eth0",
 "subnet4": [ { "id": 1, "subnet": "10.0.1.0/24", "interface": "eth1" } ] } ]"#,
    );
    assert!(
        message.contains("Dhcp4.shared-networks[0].subnet4[0].interface: invalid value"),
        "{message}"
    );
    let dup = refuse(r#""shared-networks": [ { "name": "n" }, { "name": "n" } ]"#);
    assert!(dup.contains("Dhcp4.shared-networks[1].name"), "{dup}");
}

#[test]
fn reservations_by_every_identifier() {
    let (config, warnings) = load(
        r#""reservations": [ { "hw-address": "1a:1b:1c:1d:1e:1f", "hostname": "pc" } ],
           "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "reservations": [
             { "duid": "01:02:03:04:05", "ip-address": "192.0.2.203" },
             { "circuit-id": "'eth0/1'", "ip-address": "192.0.2.204", "client-classes": [ "relayed" ] },
             { "client-id": "01:11:22:33:44:55:66", "next-server": "192.0.2.1",
               "server-hostname": "hal9000", "boot-file-name": "/dev/null" },
             { "flex-id": "'s0mEVaLue'", "ip-address": "192.0.2.206" },
             { "hw-address": "aabbccddeeff", "ip-address": "" },
             { "hw-address": "'ab'" } ] } ]"#,
    );
    let global = &config.reservations[0];
    assert_eq!(global.identifier.kind, IdentifierType::HwAddress);
    assert_eq!(
        global.identifier.value,
        vec![0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f]
    );
    assert_eq!(global.hostname.as_deref(), Some("pc"));
    let r = &config.subnets[0].reservations;
    assert_eq!(r[0].identifier.kind, IdentifierType::Duid);
    assert_eq!(r[0].ip_address, Some(ip("192.0.2.203")));
    assert_eq!(
        (r[1].identifier.kind, r[1].identifier.value.as_slice()),
        (IdentifierType::CircuitId, &b"eth0/1"[..])
    );
    assert_eq!(r[1].client_classes, vec!["relayed"]);
    assert_eq!(
        r[2].identifier.value,
        vec![1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]
    );
    assert_eq!(r[2].boot.server_hostname.as_deref(), Some("hal9000"));
    assert_eq!(r[2].ip_address, None);
    assert_eq!(r[3].identifier.kind, IdentifierType::FlexId);
    assert!(warned(
        &warnings,
        "Dhcp4.subnet4[0].reservations[3].flex-id"
    ));
    assert_eq!(r[4].ip_address, None);
    assert_eq!(r[5].identifier.value, b"ab".to_vec());
}

#[test]
fn reservation_errors_are_located() {
    let two = refuse(
        r#""reservations": [ { "hw-address": "01:02:03:04:05:06", "client-id": "01:02" } ]"#,
    );
    assert!(two.contains("Dhcp4.reservations[0].client-id: invalid value: hw-address and client-id are mutually exclusive"), "{two}");
    let none = refuse(r#""reservations": [ { "ip-address": "192.0.2.1" } ]"#);
    assert!(
        none.contains("Dhcp4.reservations[0]: invalid value: needs one of"),
        "{none}"
    );
    let zero = refuse(
        r#""reservations": [ { "hw-address": "01:02:03:04:05:06", "ip-address": "0.0.0.0" } ]"#,
    );
    assert!(
        zero.contains(
            "Dhcp4.reservations[0].ip-address: invalid value: 0.0.0.0 cannot be reserved"
        ),
        "{zero}"
    );
    let bad_hex = refuse(r#""reservations": [ { "hw-address": "zz:01" } ]"#);
    assert!(
        bad_hex.contains("Dhcp4.reservations[0].hw-address: invalid value"),
        "{bad_hex}"
    );
    let outside = refuse(
        r#""subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "reservations": [
 { "hw-address": "01:02:03:04:05:06", "ip-address": "10.0.0.1" } ] } ]"#,
    );
    assert!(outside.starts_with("/etc/kea/t.json:3: Dhcp4.subnet4[0].reservations[0].ip-address: invalid value: 10.0.0.1 is not within"), "{outside}");
    let shared = refuse(
        r#""reservations": [ { "hw-address": "01:02:03:04:05:06", "ip-address": "10.0.0.1" },
 { "hw-address": "01:02:03:04:05:07", "ip-address": "10.0.0.1" } ]"#,
    );
    assert!(
        shared.contains(
            "Dhcp4.reservations[1].ip-address: invalid value: 10.0.0.1 is already reserved"
        ),
        "{shared}"
    );
    let (config, _) = load(
        r#""ip-reservations-unique": false, "reservations": [
 { "hw-address": "01:02:03:04:05:06", "ip-address": "10.0.0.1" }, { "hw-address": "01:02:03:04:05:07", "ip-address": "10.0.0.1" } ]"#,
    );
    assert_eq!(config.reservations.len(), 2);
    let twice = refuse(
        r#""reservations": [ { "hw-address": "01:02:03:04:05:06" }, { "hw-address": "01:02:03:04:05:06" } ]"#,
    );
    assert!(
        twice.contains("Dhcp4.reservations[1]: invalid value: a second reservation"),
        "{twice}"
    );
}
