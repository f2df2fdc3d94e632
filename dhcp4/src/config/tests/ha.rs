//! The HA hook's parameters: Kea's defaults, its validation texts, and our
//! rule for a listener reachable from other hosts.

use crate::config::model::{HaMode, HaPause, HaRole};

use super::{load, refuse};

/// A hooks-libraries list loading lease_cmds and HA with `ha` (the map's
/// body) and these `peers`.
fn hooks(ha: &str, peers: &str) -> String {
    format!(
        r#""hooks-libraries": [ {{ "library": "/usr/lib/kea/hooks/libdhcp_lease_cmds.so" }},
           {{ "library": "/usr/lib/kea/hooks/libdhcp_ha.so", "parameters": {{ "high-availability": [ {{
             {ha} "peers": [ {peers} ] }} ] }} }} ]"#
    )
}

const HS_PEERS: &str = r#"{ "name": "server1", "url": "http://127.0.0.1:8001/", "role": "primary" },
                         { "name": "server2", "url": "http://127.0.0.1:8002/", "role": "standby", "auto-failover": false }"#;

#[test]
fn a_hot_standby_pair_loads_with_keas_defaults() {
    let (config, warnings) = load(&hooks(
        r#""this-server-name": "server2", "mode": "hot-standby","#,
        HS_PEERS,
    ));
    assert!(warnings.is_empty(), "{warnings:?}");
    let Some(ha) = config.ha else {
        panic!("no HA");
    };
    assert_eq!(
        (ha.this_server.as_str(), ha.mode),
        ("server2", HaMode::HotStandby)
    );
    assert_eq!(
        (
            ha.heartbeat_delay_ms,
            ha.max_response_delay_ms,
            ha.max_ack_delay_ms,
            ha.max_unacked_clients
        ),
        (10_000, 60_000, 10_000, 10)
    );
    assert_eq!(
        (
            ha.sync_timeout_ms,
            ha.sync_page_limit,
            ha.delayed_updates_limit
        ),
        (60_000, 10_000, 0)
    );
    assert!(ha.send_lease_updates && ha.sync_leases && !ha.wait_backup_ack);
    assert_eq!(ha.peers[1].role, HaRole::Standby);
    assert!(!ha.peers[1].auto_failover && ha.peers[0].auto_failover);
    assert_eq!(ha.peers[0].url.addr.to_string(), "127.0.0.1:8001");
}

#[test]
fn load_balancing_defaults_to_a_backlog_and_pauses_are_read() {
    let (config, _) = load(&hooks(
        r#""this-server-name": "a", "mode": "load-balancing",
           "state-machine": { "states": [ { "state": "ready", "pause": "once" }, { "state": "waiting", "pause": "never" } ] },"#,
        r#"{ "name": "a", "url": "http://127.0.0.1:8001/", "role": "primary" },
           { "name": "b", "url": "http://127.0.0.1:8002", "role": "secondary" }"#,
    ));
    let ha = config.ha.unwrap_or_else(|| panic!("no HA"));
    assert_eq!(ha.delayed_updates_limit, 100);
    assert_eq!(ha.pauses, vec![("ready".to_string(), HaPause::Once)]);
    assert_eq!(ha.peers[1].url.path, "/");
}

#[test]
fn invalid_pairs_are_refused_with_keas_texts() {
    for (ha, peers, expected) in [
        (
            r#""this-server-name": "server1", "mode": "hot-standby", "delayed-updates-limit": 5,"#,
            HS_PEERS,
            "'delayed-updates-limit' must be set to 0 in the hot standby configuration",
        ),
        (
            r#""this-server-name": "server3", "mode": "hot-standby","#,
            HS_PEERS,
            "no peer configuration specified for the 'server3'",
        ),
        (
            r#""this-server-name": "server1", "mode": "load-balancing","#,
            HS_PEERS,
            "standby servers not allowed in the load balancing configuration",
        ),
        (
            r#""this-server-name": "server1", "mode": "hot-spare","#,
            HS_PEERS,
            "unsupported value 'hot-spare' for mode parameter",
        ),
        (
            r#""this-server-name": "server1", "mode": "hot-standby", "heartbeat-delay": 70000,"#,
            HS_PEERS,
            "'heartbeat-delay' must not be greater than 65535",
        ),
        (
            r#""this-server-name": "server1", "mode": "hot-standby","#,
            r#"{ "name": "server1", "url": "http://127.0.0.1:8001/", "role": "primary" },
               { "name": "server1", "url": "http://127.0.0.1:8002/", "role": "standby" }"#,
            "peer with name 'server1' already specified",
        ),
        (
            r#""this-server-name": "server1", "mode": "hot-standby","#,
            r#"{ "name": "server1", "url": "http://ha.example:8001/", "role": "primary" },
               { "name": "server2", "url": "http://127.0.0.1:8002/", "role": "standby" }"#,
            "the host must be an IP address",
        ),
        (
            r#""this-server-name": "server1", "mode": "hot-standby","#,
            r#"{ "name": "server1", "url": "https://127.0.0.1:8001/", "role": "primary" },
               { "name": "server2", "url": "http://127.0.0.1:8002/", "role": "standby" }"#,
            "https scheme is not supported for server server1 where TLS is disabled",
        ),
    ] {
        let message = refuse(&hooks(ha, peers));
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(
            message.contains("Dhcp4.hooks-libraries[1].parameters.high-availability[0]"),
            "{message}"
        );
    }
}

#[test]
fn a_listener_off_loopback_needs_credentials() {
    let open = r#"{ "name": "server1", "url": "http://192.0.2.1:8001/", "role": "primary" },
                  { "name": "server2", "url": "http://192.0.2.2:8002/", "role": "standby" }"#;
    let message = refuse(&hooks(
        r#""this-server-name": "server1", "mode": "hot-standby","#,
        open,
    ));
    assert!(message.contains("basic-auth-user"), "{message}");
    let guarded = r#"{ "name": "server1", "url": "http://192.0.2.1:8001/", "role": "primary",
                       "basic-auth-user": "ha", "basic-auth-password": "pw" },
                     { "name": "server2", "url": "http://192.0.2.2:8002/", "role": "standby" }"#;
    let (config, _) = load(&hooks(
        r#""this-server-name": "server1", "mode": "hot-standby","#,
        guarded,
    ));
    let auth = config.ha.and_then(|ha| ha.peers[0].basic_auth.clone());
    assert_eq!(auth, Some(("ha".to_string(), "pw".to_string())));
}

#[test]
fn a_key_the_hook_does_not_know_is_named_in_a_warning() {
    let (config, warnings) = load(&hooks(
        r#""this-server-name": "server1", "mode": "hot-standby", "heartbeat-dealy": 5,"#,
        r#"{ "name": "server1", "url": "http://127.0.0.1:8001/", "role": "primary", "auto-failvoer": false },
           { "name": "server2", "url": "http://127.0.0.1:8002/", "role": "standby" }"#,
    ));
    let keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
    assert!(
        keys.iter()
            .any(|k| k.ends_with("high-availability[0].heartbeat-dealy")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.ends_with("peers[0].auto-failvoer")),
        "{keys:?}"
    );
    assert_eq!(config.ha.map(|ha| ha.heartbeat_delay_ms), Some(10_000));
}
