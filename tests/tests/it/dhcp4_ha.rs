//! A pair of ours in Kea's HA modes, in network namespaces: the pair
//! converges, leases replicate before the ACK, kill -9 of the active server
//! under load lets the partner serve within the configured delays, no
//! address is ever given to two clients, every ACKed lease survives in the
//! survivor's lease file, and the killed server comes back, synchronises
//! and serves again.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::daemon::{cargo_bin, Signal};
use e2e::netns::{bridge_port, Netns};
use e2e::Daemon;

use crate::dhcp4_control::command;
use crate::dhcp4_support::{lease_lines, start_ours, temp_dir, METRICS_PORT};

/// The pair's HA timing: heartbeats every second, the partner declared
/// down after three silent seconds.
const HEARTBEAT_MS: u32 = 1000;
const MAX_RESPONSE_MS: u32 = 3000;

/// How long a pair may take to reach its normal state.
const CONVERGE: Duration = Duration::from_secs(20);

/// The LAN `10.<octet>.0.0/16`: the relay (the load generator) at .0.2 on
/// a bridge in its own namespace, server `n` at `.0.1n`.
struct Pair {
    relay: Netns,
    servers: Vec<Netns>,
    dir: PathBuf,
    octet: u8,
}

impl Pair {
    fn new(octet: u8, name: &str) -> Pair {
        let relay = Netns::create("rly").unwrap();
        relay.ip(&["link", "add", "br0", "type", "bridge"]).unwrap();
        relay
            .ip(&["addr", "add", &format!("10.{octet}.0.2/16"), "dev", "br0"])
            .unwrap();
        relay.ip(&["link", "set", "br0", "up"]).unwrap();
        let mut servers = Vec::new();
        for n in 1..=2u8 {
            let server = Netns::create(&format!("s{n}")).unwrap();
            bridge_port(&relay, "br0", &format!("p{n}"), &server).unwrap();
            server
                .ip(&[
                    "addr",
                    "add",
                    &format!("10.{octet}.0.1{n}/16"),
                    "dev",
                    "eth0",
                ])
                .unwrap();
            servers.push(server);
        }
        Pair {
            relay,
            servers,
            dir: temp_dir(name),
            octet,
        }
    }

    fn addr(&self, n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, self.octet, 0, 10 + n)
    }

    fn leases(&self, n: u8) -> PathBuf {
        self.dir.join(format!("leases{n}.csv"))
    }

    fn socket(&self, n: u8) -> PathBuf {
        self.dir.join(format!("s{n}.sock"))
    }

    /// Server `n`'s config: `mode`, the roles of server1 and server2, and
    /// pools (load-balancing splits them by HA class, as Kea advises); the
    /// peers speak HTTP with basic authentication.
    fn config(&self, n: u8, mode: &str, roles: [&str; 2], pools: &str) -> PathBuf {
        self.config_with(n, mode, roles, pools, None, "")
    }

    /// [`Pair::config`], over HTTPS with client certificates when `tls`
    /// names the files (CA, certificate, key) instead of basic auth, with
    /// `extra` members in the HA map.
    fn config_with(
        &self,
        n: u8,
        mode: &str,
        roles: [&str; 2],
        pools: &str,
        tls: Option<&[PathBuf; 3]>,
        extra: &str,
    ) -> PathBuf {
        let o = self.octet;
        let peer = |m: u8| {
            let role = roles[usize::from(m - 1)];
            match tls {
                Some(_) => format!(
                    r#"{{ "name": "server{m}", "url": "https://10.{o}.0.1{m}:8001/", "role": "{role}" }}"#
                ),
                None => format!(
                    r#"{{ "name": "server{m}", "url": "http://10.{o}.0.1{m}:8001/", "role": "{role}",
                         "basic-auth-user": "ha", "basic-auth-password": "pair-secret" }}"#
                ),
            }
        };
        let files = match tls {
            Some([ca, cert, key]) => format!(
                r#""trust-anchor": "{}", "cert-file": "{}", "key-file": "{}","#,
                ca.display(),
                cert.display(),
                key.display()
            ),
            None => String::new(),
        };
        let text = format!(
            r#"{{ "Dhcp4": {{
  "interfaces-config": {{ "interfaces": [ "eth0" ] }},
  "lease-database": {{ "type": "memfile", "name": "{leases}" }},
  "control-socket": {{ "socket-type": "unix", "socket-name": "{socket}" }},
  "valid-lifetime": 3600,
  "hooks-libraries": [
    {{ "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so" }},
    {{ "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so",
       "parameters": {{ "high-availability": [ {{
         "this-server-name": "server{n}", "mode": "{mode}",
         "heartbeat-delay": {HEARTBEAT_MS}, "max-response-delay": {MAX_RESPONSE_MS},
         "max-ack-delay": 1000, "max-unacked-clients": 0, {files} {extra}
         "peers": [ {p1}, {p2} ] }} ] }} }} ],
  "subnet4": [ {{ "id": 1, "subnet": "10.{o}.0.0/16", "pools": [ {pools} ] }} ]
}} }}"#,
            leases = self.leases(n).display(),
            socket = self.socket(n).display(),
            p1 = peer(1),
            p2 = peer(2),
        );
        let path = self.dir.join(format!("s{n}.json"));
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn start(&self, n: u8, config: &Path) -> Daemon {
        start_ours(&self.servers[usize::from(n - 1)], config)
            .await
            .unwrap()
    }

    /// Starts both servers with `configs` and waits until both are in the
    /// mode's normal `state`.
    async fn start_both(&self, configs: &[PathBuf; 2], state: &str) -> (Daemon, Daemon) {
        let one = self.start(1, &configs[0]).await;
        let two = self.start(2, &configs[1]).await;
        self.wait_both(state, &[&one, &two]).await;
        (one, two)
    }

    /// Waits until both servers are in `state`.
    async fn wait_both(&self, state: &str, logs: &[&Daemon]) {
        for n in 1..=2 {
            self.wait_state(n, state, CONVERGE, logs).await;
        }
    }

    /// Server `n`'s HA state, from status-get.
    async fn state(&self, n: u8) -> Option<String> {
        let answer = command(&self.socket(n), r#"{ "command": "status-get" }"#)
            .await
            .ok()?;
        local_state(&answer)
    }

    /// Waits (bounded) until server `n` is in `state`.
    async fn wait_state(&self, n: u8, state: &str, within: Duration, logs: &[&Daemon]) {
        let deadline = tokio::time::Instant::now() + within;
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            last = self.state(n).await;
            if last.as_deref() == Some(state) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let logs: Vec<String> = logs.iter().map(|d| d.log()).collect();
        panic!(
            "server{n} not {state} within {within:?} (last: {last:?}); logs:\n{}",
            logs.join("\n----\n")
        );
    }

    /// Starts the load generator: `count` clients through the relay to
    /// both servers.
    fn load(&self, count: u32, deadline_s: u32) -> Daemon {
        let bin = cargo_bin("dhcp-load").unwrap().display().to_string();
        let relay = format!("10.{}.0.2", self.octet);
        let (s1, s2) = (self.addr(1).to_string(), self.addr(2).to_string());
        let (count, deadline) = (count.to_string(), deadline_s.to_string());
        self.relay
            .spawn(
                &bin,
                &[
                    "--relay",
                    &relay,
                    "--server",
                    &s1,
                    "--server",
                    &s2,
                    "--count",
                    &count,
                    "--window",
                    "32",
                    "--deadline",
                    &deadline,
                ],
            )
            .unwrap()
    }
}

/// The `state` of the `local` server in a status-get answer.
fn local_state(answer: &str) -> Option<String> {
    let local = answer.split("\"local\": {").nth(1)?;
    let after = local.split("\"state\": \"").nth(1)?;
    Some(after.split('"').next()?.to_string())
}

/// `ack MAC IP SERVER` lines of dhcp-load's output.
fn acks(output: &str) -> Vec<(String, Ipv4Addr, Ipv4Addr)> {
    output
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("ack")).then_some(())?;
            Some((
                w.next()?.to_string(),
                w.next()?.parse().ok()?,
                w.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// The latest live entry per address of a lease file: address → MAC.
fn live(path: &Path) -> HashMap<Ipv4Addr, String> {
    let mut latest = HashMap::new();
    for line in lease_lines(path).unwrap() {
        if line.valid_lifetime > 0 && line.state == 0 {
            latest.insert(line.address, line.hwaddr);
        } else {
            latest.remove(&line.address);
        }
    }
    latest
}

/// Waits (bounded) for the load to have `count` ACKs in all.
async fn wait_acks(load: &Daemon, count: usize, servers: &[&Daemon]) {
    for _ in 0..600 {
        if acks(&load.log()).len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs: Vec<String> = servers.iter().map(|d| d.log()).collect();
    panic!(
        "load never got {count} ACKs:\n{}\nservers:\n{}",
        load.log(),
        logs.join("\n----\n")
    );
}

/// Checks the files of both servers against the ACKs: every ACKed lease
/// is in `survivor`'s file for its client, no address was ACKed to two
/// clients and, once the pair has synchronised (`synced`), no address is
/// held by two clients in the two files together. (Before that, a server
/// killed between its own fsync and its partner's acknowledgement keeps a
/// lease it never ACKed, as Kea does; synchronisation replaces it.)
fn check_files(pair: &Pair, acked: &[(String, Ipv4Addr, Ipv4Addr)], survivor: u8, synced: bool) {
    let files = [live(&pair.leases(1)), live(&pair.leases(2))];
    let kept = &files[usize::from(survivor - 1)];
    for (mac, ip, by) in acked {
        assert_eq!(
            kept.get(ip),
            Some(mac),
            "{ip} ACKed to {mac} by {by} is not in server{survivor}'s lease file"
        );
    }
    for (ip, mac) in files[0].iter().filter(|_| synced) {
        if let Some(other) = files[1].get(ip) {
            assert_eq!(
                mac, other,
                "{ip} is leased to {mac} by server1 and to {other} by server2"
            );
        }
    }
    let mut owners: HashMap<&Ipv4Addr, &String> = HashMap::new();
    for (mac, ip, _) in acked {
        if let Some(previous) = owners.insert(ip, mac) {
            assert_eq!(previous, mac, "{ip} ACKed to two clients");
        }
    }
}

#[tokio::test]
async fn hot_standby_fails_over_under_load_and_the_primary_returns_and_syncs() {
    let pair = Pair::new(81, "ha-hs");
    let o = pair.octet;
    let pool = format!(r#"{{ "pool": "10.{o}.1.0 - 10.{o}.255.254" }}"#);
    let roles = ["primary", "standby"];
    let configs = [
        pair.config(1, "hot-standby", roles, &pool),
        pair.config(2, "hot-standby", roles, &pool),
    ];
    let (primary, standby) = pair.start_both(&configs, "hot-standby").await;

    // Readiness for the DHCP Service: the primary serves, the standby not.
    assert!(pair.servers[0].http_ok(METRICS_PORT, "/serving").unwrap());
    assert!(!pair.servers[1].http_ok(METRICS_PORT, "/serving").unwrap());

    // Under load, the primary answers and copies each lease before its ACK.
    let load = pair.load(20_000, 60);
    wait_acks(&load, 800, &[&primary, &standby]).await;
    let before = acks(&load.log());
    assert!(
        before.iter().all(|(_, _, by)| *by == pair.addr(1)),
        "the standby answered in hot-standby"
    );
    // Every ACK waited for its update: the primary counted them sent.
    let scrape = pair.servers[0].scrape(METRICS_PORT).unwrap();
    let sent = scrape.value("dhcp4_ha_lease_updates_total", &[("result", "sent")]);
    assert!(
        sent >= Some(before.len() as f64),
        "{sent:?} updates for {} ACKs",
        before.len()
    );
    assert_eq!(
        scrape.value("dhcp4_ha_state", &[("state", "hot-standby")]),
        Some(1.0)
    );
    primary.signal(Signal::Kill).unwrap();
    drop(primary);
    let killed_at = before.len();

    // The standby takes over within heartbeat + max-response-delay (and the
    // machine's next run), and the clients keep getting addresses.
    pair.wait_state(2, "partner-down", Duration::from_secs(15), &[&standby])
        .await;
    assert!(pair.servers[1].http_ok(METRICS_PORT, "/serving").unwrap());
    let scrape = pair.servers[1].scrape(METRICS_PORT).unwrap();
    assert_eq!(
        scrape.value("dhcp4_ha_state", &[("state", "partner-down")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.value("dhcp4_ha_partner_state", &[("state", "unavailable")]),
        Some(1.0)
    );
    wait_acks(&load, killed_at + 500, &[&standby]).await;
    load.signal(Signal::Kill).unwrap();
    let acked = acks(&load.log());
    drop(load);
    assert!(
        acked.iter().any(|(_, _, by)| *by == pair.addr(2)),
        "the standby never answered"
    );
    check_files(&pair, &acked, 2, false);

    // The primary returns, takes the standby's leases and the pair is whole.
    let primary = pair.start(1, &configs[0]).await;
    pair.wait_both("hot-standby", &[&primary, &standby]).await;
    let synced = live(&pair.leases(1));
    for (mac, ip, by) in acked.iter().filter(|(_, _, by)| *by == pair.addr(2)) {
        assert_eq!(
            synced.get(ip),
            Some(mac),
            "{ip} given by {by} not synchronised to the primary"
        );
    }
    check_files(&pair, &acked, 1, true);
    let status = command(&pair.socket(1), r#"{ "command": "status-get" }"#)
        .await
        .unwrap();
    assert!(
        status.contains(r#""last-state": "hot-standby""#),
        "{status}"
    );
}

#[tokio::test]
async fn load_balancing_splits_the_clients_and_a_survivor_serves_them_all() {
    let pair = Pair::new(82, "ha-lb");
    let o = pair.octet;
    let pools = format!(
        r#"{{ "pool": "10.{o}.1.0 - 10.{o}.127.255", "client-class": "HA_server1" }},
           {{ "pool": "10.{o}.128.0 - 10.{o}.255.254", "client-class": "HA_server2" }}"#
    );
    let roles = ["primary", "secondary"];
    let configs = [
        pair.config(1, "load-balancing", roles, &pools),
        pair.config(2, "load-balancing", roles, &pools),
    ];
    let (one, two) = pair.start_both(&configs, "load-balancing").await;

    let load = pair.load(20_000, 60);
    wait_acks(&load, 1000, &[&one, &two]).await;
    let before = acks(&load.log());
    let by_two = before
        .iter()
        .filter(|(_, _, by)| *by == pair.addr(2))
        .count();
    // The hash splits clients about evenly: each server has a fair share.
    assert!(
        by_two > before.len() / 4 && by_two < before.len() * 3 / 4,
        "{by_two} of {} by server2",
        before.len()
    );
    for (_, ip, by) in &before {
        let upper = ip.octets()[2] >= 128;
        assert_eq!(
            upper,
            *by == pair.addr(2),
            "{ip} from {by}: outside its HA class's pool"
        );
    }
    two.signal(Signal::Kill).unwrap();
    drop(two);
    let killed_at = before.len();
    pair.wait_state(1, "partner-down", Duration::from_secs(15), &[&one])
        .await;
    wait_acks(&load, killed_at + 500, &[&one]).await;
    load.signal(Signal::Kill).unwrap();
    let acked = acks(&load.log());
    drop(load);
    // After the failover server1 also serves server2's clients, from
    // server2's pool.
    let after = &acked[killed_at..];
    assert!(
        after
            .iter()
            .any(|(_, ip, by)| *by == pair.addr(1) && ip.octets()[2] >= 128),
        "server1 never served server2's scope"
    );
    check_files(&pair, &acked, 1, false);
}

#[tokio::test]
async fn maintenance_hands_the_scope_over_and_back_and_scopes_can_be_set() {
    let pair = Pair::new(84, "ha-maint");
    let o = pair.octet;
    let pool = format!(r#"{{ "pool": "10.{o}.1.0 - 10.{o}.1.200" }}"#);
    let roles = ["primary", "standby"];
    let configs = [
        pair.config(1, "hot-standby", roles, &pool),
        pair.config(2, "hot-standby", roles, &pool),
    ];
    let (primary, standby) = pair.start_both(&configs, "hot-standby").await;
    let logs = [&primary, &standby];

    // The operator takes the primary out: the standby takes its scope.
    let answer = command(&pair.socket(2), r#"{ "command": "ha-maintenance-start" }"#)
        .await
        .unwrap();
    assert!(answer.contains("partner-in-maintenance state"), "{answer}");
    pair.wait_state(2, "partner-in-maintenance", CONVERGE, &logs)
        .await;
    pair.wait_state(1, "in-maintenance", CONVERGE, &logs).await;
    assert!(pair.servers[1].http_ok(METRICS_PORT, "/serving").unwrap());
    assert!(!pair.servers[0].http_ok(METRICS_PORT, "/serving").unwrap());
    // A second start is refused in that state, with Kea's text.
    let again = command(&pair.socket(2), r#"{ "command": "ha-maintenance-start" }"#)
        .await
        .unwrap();
    assert!(
        again.contains(r#""result": 1"#) && again.contains("from the partner-in-maintenance"),
        "{again}"
    );
    let load = pair.load(20, 30);
    wait_acks(&load, 20, &logs).await;
    let acked = acks(&load.log());
    drop(load);
    assert!(
        acked.iter().all(|(_, _, by)| *by == pair.addr(2)),
        "{acked:?}"
    );

    // Cancelled, the pair returns to hot-standby with the primary serving.
    let cancel = command(&pair.socket(2), r#"{ "command": "ha-maintenance-cancel" }"#)
        .await
        .unwrap();
    assert!(cancel.contains("successfully canceled"), "{cancel}");
    pair.wait_both("hot-standby", &logs).await;

    // ha-scopes: the standby takes the primary's scope by hand; an
    // unknown scope is refused and the scopes stay.
    let set = command(
        &pair.socket(2),
        r#"{ "command": "ha-scopes", "arguments": { "scopes": [ "server1" ] } }"#,
    )
    .await
    .unwrap();
    assert!(set.contains("New HA scopes configured."), "{set}");
    assert!(pair.servers[1].http_ok(METRICS_PORT, "/serving").unwrap());
    let bad = command(
        &pair.socket(2),
        r#"{ "command": "ha-scopes", "arguments": { "scopes": [ "server9" ] } }"#,
    )
    .await
    .unwrap();
    assert!(
        bad.contains("invalid server name specified 'server9'"),
        "{bad}"
    );
    assert!(pair.servers[1].http_ok(METRICS_PORT, "/serving").unwrap());
}

#[tokio::test]
async fn passive_backup_copies_every_lease_to_the_backup_before_the_ack() {
    let pair = Pair::new(85, "ha-backup");
    let o = pair.octet;
    let pool = format!(r#"{{ "pool": "10.{o}.1.0 - 10.{o}.1.250" }}"#);
    let roles = ["primary", "backup"];
    let wait = r#""wait-backup-ack": true,"#;
    let configs = [
        pair.config_with(1, "passive-backup", roles, &pool, None, wait),
        pair.config_with(2, "passive-backup", roles, &pool, None, wait),
    ];
    let primary = pair.start(1, &configs[0]).await;
    let backup = pair.start(2, &configs[1]).await;
    let logs = [&primary, &backup];
    pair.wait_state(1, "passive-backup", CONVERGE, &logs).await;
    pair.wait_state(2, "backup", CONVERGE, &logs).await;
    assert!(!pair.servers[1].http_ok(METRICS_PORT, "/serving").unwrap());
    let load = pair.load(200, 30);
    wait_acks(&load, 200, &logs).await;
    let acked = acks(&load.log());
    drop(load);
    assert!(
        acked.iter().all(|(_, _, by)| *by == pair.addr(1)),
        "the backup answered"
    );
    // wait-backup-ack: each ACK waited for the backup, so it has them all.
    check_files(&pair, &acked, 2, true);
}

/// A CA and one certificate for both servers' addresses (server and
/// client use): the files [CA, certificate, key] in `dir`.
fn pair_certificates(dir: &Path, addrs: [Ipv4Addr; 2]) -> [PathBuf; 3] {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa,
        KeyPair,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "dhcp4 HA test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut params = CertificateParams::new(addrs.map(|a| a.to_string()).to_vec()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "dhcp4 HA pair");
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let files = [
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    ];
    std::fs::write(&files[0], ca.pem()).unwrap();
    std::fs::write(&files[1], cert.pem()).unwrap();
    std::fs::write(&files[2], key.serialize_pem()).unwrap();
    files
}

#[tokio::test]
async fn a_pair_over_mutual_tls_replicates_and_refuses_a_client_without_a_certificate() {
    let pair = Pair::new(83, "ha-tls");
    let o = pair.octet;
    let files = pair_certificates(&pair.dir, [pair.addr(1), pair.addr(2)]);
    let pool = format!(r#"{{ "pool": "10.{o}.1.0 - 10.{o}.1.200" }}"#);
    let roles = ["primary", "standby"];
    let configs = [
        pair.config_with(1, "hot-standby", roles, &pool, Some(&files), ""),
        pair.config_with(2, "hot-standby", roles, &pool, Some(&files), ""),
    ];
    let (primary, standby) = pair.start_both(&configs, "hot-standby").await;
    let load = pair.load(50, 30);
    wait_acks(&load, 50, &[&primary, &standby]).await;
    let acked = acks(&load.log());
    drop(load);
    check_files(&pair, &acked, 2, true);
    // A client with the CA but no certificate of its own is refused in the
    // handshake; one with the pair's certificate is answered.
    let url = format!("https://{}:8001/", pair.addr(2));
    let ca = files[0].display().to_string();
    let body = r#"{"command": "ha-heartbeat", "service": ["dhcp4"]}"#;
    let curl = |extra: &[String]| {
        let mut args: Vec<String> = [
            "-sS",
            "--max-time",
            "5",
            "--cacert",
            &ca,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().cloned());
        args.push(url.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        pair.relay.run("curl", &args).unwrap()
    };
    let anonymous = curl(&[]);
    assert!(
        !anonymous.status.success(),
        "answered without a client certificate"
    );
    let known = curl(&[
        "--cert".into(),
        files[1].display().to_string(),
        "--key".into(),
        files[2].display().to_string(),
    ]);
    let text = String::from_utf8_lossy(&known.stdout);
    assert!(
        text.contains(r#""state": "hot-standby""#),
        "{text}{}",
        String::from_utf8_lossy(&known.stderr)
    );
}

#[test]
fn status_get_answers_give_the_local_state() {
    let answer = r#"{ "arguments": { "high-availability": [ { "ha-mode": "hot-standby", "ha-servers": { "local": { "role": "primary", "scopes": [ "server1" ], "state": "hot-standby" }, "remote": { "last-state": "ready" } } } ] }, "result": 0 }"#;
    assert_eq!(local_state(answer).as_deref(), Some("hot-standby"));
    assert_eq!(local_state(r#"{ "result": 1 }"#), None);
}
