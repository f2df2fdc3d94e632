//! The loader end to end: Kea text in, model or located error out.

use std::net::Ipv4Addr;
use std::path::Path;

use common::config::{ConfigError, ConfigErrorKind, ConfigWarning};

use super::load_str;
use super::model::{Config, IdentifierType, SocketType};

mod classes;
mod ha;
mod refusals;
mod subnets;

const FILE: &str = "/etc/kea/t.json";

/// Loads `dhcp4` (the inside of the `Dhcp4` map), panicking on error.
fn load(dhcp4: &str) -> (Config, Vec<ConfigWarning>) {
    load_str(&format!("{{ \"Dhcp4\": {{ {dhcp4} }} }}"), Path::new(FILE))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Loads a whole document that must be refused.
fn refuse_doc(text: &str) -> ConfigError {
    match load_str(text, Path::new(FILE)) {
        Ok(_) => panic!("loaded: {text}"),
        Err(e) => e,
    }
}

/// Loads `dhcp4` (written from line 2 on) that must be refused; the error's text.
fn refuse(dhcp4: &str) -> String {
    refuse_doc(&format!("{{ \"Dhcp4\": {{\n{dhcp4} }} }}")).to_string()
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn warned(warnings: &[ConfigWarning], key: &str) -> bool {
    warnings.iter().any(|w| w.key == key)
}

#[test]
fn a_minimal_file_gets_keas_defaults() {
    let (config, warnings) = load(r#""subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]"#);
    assert!(warnings.is_empty(), "{warnings:?}");
    let subnet = &config.subnets[0];
    assert_eq!(
        (
            subnet.lifetime.default,
            subnet.lifetime.min,
            subnet.lifetime.max
        ),
        (7200, 7200, 7200)
    );
    assert!(subnet.match_client_id);
    assert!(!subnet.authoritative);
    assert!(!subnet.timers.calculate);
    assert_eq!(
        (subnet.timers.t1_percent, subnet.timers.t2_percent),
        (0.5, 0.875)
    );
    let modes = subnet.reservation_modes;
    assert_eq!(
        (modes.global, modes.in_subnet, modes.out_of_pool),
        (false, true, false)
    );
    assert_eq!(config.socket_type, SocketType::Raw);
    assert!(config.echo_client_id);
    assert_eq!(config.decline_probation_period, 86_400);
    assert_eq!(
        config.host_identifiers,
        vec![
            IdentifierType::HwAddress,
            IdentifierType::Duid,
            IdentifierType::CircuitId,
            IdentifierType::ClientId
        ]
    );
    assert_eq!((config.persist, config.lfc_interval), (true, 3600));
}

#[test]
fn server_wide_settings_are_read() {
    let (config, _) = load(
        r#""interfaces-config": { "interfaces": [ "eth0", "eth1/192.0.2.1" ], "dhcp-socket-type": "udp" },
           "lease-database": { "type": "memfile", "name": "/var/lib/kea/l.csv", "persist": false, "lfc-interval": 0 },
           "expired-leases-processing": { "reclaim-timer-wait-time": 5, "hold-reclaimed-time": 60 },
           "decline-probation-period": 30, "echo-client-id": false,
           "host-reservation-identifiers": [ "circuit-id", "hw-address" ]"#,
    );
    assert_eq!(config.interfaces, vec!["eth0", "eth1/192.0.2.1"]);
    assert_eq!(config.socket_type, SocketType::Udp);
    assert_eq!(
        config.lease_file.as_deref(),
        Some(Path::new("/var/lib/kea/l.csv"))
    );
    assert_eq!((config.persist, config.lfc_interval), (false, 0));
    assert_eq!(
        (config.reclaim_timer_wait_time, config.hold_reclaimed_time),
        (5, 60)
    );
    assert_eq!(config.decline_probation_period, 30);
    assert!(!config.echo_client_id);
    assert_eq!(
        config.host_identifiers,
        vec![IdentifierType::CircuitId, IdentifierType::HwAddress]
    );
    let bcast = refuse(r#""next-server": "255.255.255.255""#);
    assert!(
        bcast.contains("Dhcp4.next-server: invalid value: must not be the broadcast address"),
        "{bcast}"
    );
    let bad = refuse(r#""interfaces-config": { "dhcp-socket-type": "packet" }"#);
    assert!(
        bad.starts_with(
            "/etc/kea/t.json:2: Dhcp4.interfaces-config.dhcp-socket-type: invalid value"
        ),
        "{bad}"
    );
}

#[test]
fn keys_at_their_no_op_value_load_silently() {
    let (config, warnings) = load(
        r#""next-server": "", "server-hostname": "", "boot-file-name": "", "server-tag": "",
           "ddns-qualifying-suffix": "", "ddns-replace-client-name": "never",
           "dhcp-ddns": { "enable-updates": false }, "dhcp4o6-port": 0, "config-control": {},
           "option-data": [], "option-def": [], "client-classes": [], "hooks-libraries": [],
           "reservations": [], "shared-networks": [], "hosts-databases": [],
           "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [], "4o6-subnet": "",
                          "next-server": "", "relay": { "ip-addresses": [] } } ]"#,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.boot, Default::default());
    assert_eq!(config.subnets[0].boot, Default::default());
}

#[test]
fn harmless_keys_warn_naming_the_key_and_kea_3_spellings_are_known() {
    let (_, warnings) = load(
        r#""loggers": [],
           "multi-threading": { "enable-multi-threading": true }, "server-tag": "a",
           "ddns-send-updates": false, "comment": "kept quiet",
           "hooks-libraries": [ { "library": "/usr/lib/kea/hooks/libdhcp_stat_cmds.so" } ]"#,
    );
    for key in [
        "Dhcp4.loggers",
        "Dhcp4.multi-threading",
        "Dhcp4.server-tag",
        "Dhcp4.ddns-send-updates",
        "Dhcp4.hooks-libraries[0].library",
    ] {
        assert!(warned(&warnings, key), "{key} not in {warnings:?}");
    }
    assert!(!warned(&warnings, "Dhcp4.comment"));
    let stat_cmds = warnings
        .iter()
        .find(|w| w.key == "Dhcp4.hooks-libraries[0].library");
    assert!(stat_cmds.is_some_and(|w| w.message.contains("libdhcp_stat_cmds.so")));
}

#[test]
fn an_unknown_key_reads_as_a_typo_with_its_path_and_line() {
    let message = refuse("\"valid-lifetim\": 10");
    assert_eq!(
        message,
        "/etc/kea/t.json:2: Dhcp4.valid-lifetim: unknown option"
    );
    let nested = refuse(
        "\"subnet4\": [ { \"id\": 1, \"subnet\": \"192.0.2.0/24\",\n \"pools\": [ { \"pool\": \"192.0.2.1 - 192.0.2.9\" },\n { \"pol\": \"x\" } ] } ]",
    );
    assert_eq!(
        nested,
        "/etc/kea/t.json:4: Dhcp4.subnet4[0].pools[1].pol: unknown option"
    );
    let top = refuse_doc("{ \"Dhcp4\": {}, \"Dhcp5\": {} }");
    assert!(matches!(top.kind, ConfigErrorKind::Unknown));
    assert_eq!(top.key, "Dhcp5");
}

#[test]
fn lifetimes_follow_keas_triplet_rules() {
    let (config, _) = load(
        r#""min-valid-lifetime": 100, "valid-lifetime": 200, "max-valid-lifetime": 300,
           "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" },
                        { "id": 2, "subnet": "192.0.3.0/24", "max-valid-lifetime": 50 },
                        { "id": 3, "subnet": "192.0.4.0/24", "valid-lifetime": 60, "min-valid-lifetime": 10 } ]"#,
    );
    let l: Vec<_> = config
        .subnets
        .iter()
        .map(|s| (s.lifetime.min, s.lifetime.default, s.lifetime.max))
        .collect();
    assert_eq!(l, vec![(100, 200, 300), (50, 50, 50), (10, 60, 60)]);
    let both = refuse(r#""min-valid-lifetime": 1, "max-valid-lifetime": 9"#);
    assert!(both.contains("need a valid-lifetime"), "{both}");
    let order = refuse("\"valid-lifetime\": 10,\n \"max-valid-lifetime\": 5");
    assert!(order.starts_with("/etc/kea/t.json:2: Dhcp4.valid-lifetime: invalid value: 10 is greater than max-valid-lifetime (5)"), "{order}");
}

#[test]
fn timers_and_percentages_are_checked() {
    let (config, _) = load(
        r#""renew-timer": 100, "rebind-timer": 200, "calculate-tee-times": true, "t1-percent": 0.4, "t2-percent": .8,
           "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "rebind-timer": 300 } ]"#,
    );
    let timers = config.subnets[0].timers;
    assert_eq!((timers.renew, timers.rebind), (Some(100), Some(300)));
    assert!(timers.calculate);
    assert_eq!((timers.t1_percent, timers.t2_percent), (0.4, 0.8));
    let inverted = refuse("\"renew-timer\": 300, \"rebind-timer\": 200");
    assert!(
        inverted
            .contains("Dhcp4.renew-timer: invalid value: 300 is greater than rebind-timer (200)"),
        "{inverted}"
    );
    assert!(refuse("\"t2-percent\": 1.5").contains("Dhcp4.t2-percent"));
    let crossed = refuse("\"t1-percent\": 0.9, \"t2-percent\": 0.8");
    assert!(
        crossed.contains("Dhcp4.t1-percent: invalid value: 0.9 must be less than t2-percent (0.8)"),
        "{crossed}"
    );
}

#[test]
fn an_included_file_keeps_its_own_locations_in_errors() {
    let dir = super::test_dir::TestDir::new("load-include");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write(
        "subnets.json",
        "{ \"id\": 1, \"subnet\": \"192.0.2.0/24\" },\n{ \"id\": 2,\n  \"subnett\": \"x\" }",
    );
    write(
        "kea.conf",
        "{ \"Dhcp4\": {\n \"subnet4\": [ <?include \"subnets.json\"?> ] } }",
    );
    let error = super::load_file(&dir.path().join("kea.conf"))
        .err()
        .unwrap_or_else(|| panic!("loaded"));
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3: Dhcp4.subnet4[1].subnett: unknown option",
            dir.path().join("subnets.json").display()
        )
    );
}

#[test]
fn control_sockets_of_kea_2_and_kea_3_are_read() {
    let (config, warnings) = load(
        r#""control-socket": { "socket-type": "unix", "socket-name": "/run/kea/ctrl" },
           "control-sockets": [ { "socket-type": "http", "socket-port": 8004,
             "authentication": { "type": "basic", "realm": "kea",
               "clients": [ { "user": "admin", "password": "1234" } ] } } ]"#,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        config.control.unix.as_deref(),
        Some(Path::new("/run/kea/ctrl"))
    );
    let http = &config.control.http[0];
    assert_eq!(http.addr.to_string(), "127.0.0.1:8004");
    let auth = http
        .auth
        .as_ref()
        .map(|a| (a.realm.as_str(), a.clients.clone()));
    assert_eq!(
        auth,
        Some(("kea", vec![("admin".to_string(), "1234".to_string())]))
    );
    assert!(http.tls.is_none());
}

#[test]
fn an_open_or_half_configured_http_control_socket_is_refused() {
    let open =
        refuse(r#""control-sockets": [ { "socket-type": "http", "socket-address": "0.0.0.0" } ]"#);
    assert!(
        open.contains("Dhcp4.control-sockets[0].socket-address") && open.contains("authentication"),
        "{open}"
    );
    let half = refuse(
        r#""control-sockets": [ { "socket-type": "https", "cert-file": "/c.pem", "cert-required": false } ]"#,
    );
    assert!(half.contains("key-file"), "{half}");
    let anchorless = refuse(
        r#""control-sockets": [ { "socket-type": "https", "cert-file": "/c.pem", "key-file": "/k.pem" } ]"#,
    );
    assert!(anchorless.contains("trust-anchor"), "{anchorless}");
    let nobody = refuse(
        r#""control-sockets": [ { "socket-type": "http", "authentication": { "clients": [] } } ]"#,
    );
    assert!(nobody.contains("no clients"), "{nobody}");
}
