//! Real clients on a classified LAN (issue 16, "Proof": udhcpc `-V`,
//! dhclient with a user class, dhcpcd on a shared network). Each client
//! runs against Kea 2.2 first and then against ours, on the same config
//! (`fixtures/dhcp4/clients.json`) and the same namespaces; what the client
//! applied (its hook script's environment, its interface address) must be
//! what the class or the shared network gives, and the same from both.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::kea::config::adapt;
use e2e::kea::{fixture, Running, Server};
use e2e::netns::{Lan, Netns};
use e2e::Daemon;

use crate::dhcp4_support::temp_dir;

/// A hook script at `dir/hook` that configures the address it was given (so
/// the client's interface shows what it applied) and then saves the event's
/// environment in `dir/events/<n>-<event>` (written aside, then renamed once
/// the address is in place, so a reader never sees half of it, nor an event
/// whose address is not applied yet). It serves udhcpc (`$1`,
/// `$ip`, `$mask`) and dhclient / dhcpcd (`$reason`, `$new_ip_address`).
fn hook(dir: &Path) -> (PathBuf, PathBuf) {
    let events = dir.join("events");
    std::fs::create_dir_all(&events).unwrap();
    let script = dir.join("hook");
    let text = format!(
        r#"#!/bin/sh
d="{events}"
n=$(ls "$d" | wc -l)
env > "$d/.$n"
case "${{reason:-$1}}" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
  BOUND|RENEW|REBOOT) ip addr flush dev "$interface"; ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
esac
mv "$d/.$n" "$d/$n-${{reason:-$1}}"
exit 0
"#,
        events = events.display()
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, events)
}

/// Waits (15 s at most) for an event file named `<n>-<event>`; returns its
/// environment.
async fn wait_event(events: &Path, event: &str, client: &Daemon) -> BTreeMap<String, String> {
    for _ in 0..300 {
        let found = std::fs::read_dir(events)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .split_once('-')
                    .is_some_and(|(_, name)| name == event)
            });
        if let Some(entry) = found {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            return text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no {event} event in {} after 15 s; client log:\n{}",
        events.display(),
        client.log()
    )
}

/// The IPv4 addresses on the client's eth0.
fn addresses(ns: &Netns) -> String {
    let out = ns
        .run("ip", &["-4", "-o", "addr", "show", "dev", "eth0"])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `client` (a function starting the real client in the LAN's client
/// namespace with a hook script) against Kea and then ours, each on a fresh
/// lease file, and calls `check` on the bound event's environment as soon
/// as each server's run is done (so Kea's is checked before ours runs);
/// then the two environments must be the same (but for the client's pid
/// and dhclient's absolute expiry time): the client applied the same.
async fn against_both<F, C>(name: &str, event: &str, client: F, check: C)
where
    F: Fn(&Netns, &Path, &Path) -> Daemon,
    C: Fn(Server, &BTreeMap<String, String>),
{
    let lan = Lan::new([192, 0, 2], 1).unwrap();
    let ns = &lan.clients[0];
    let mut envs: Vec<BTreeMap<String, String>> = Vec::new();
    for server in [Server::Kea, Server::Ours] {
        let dir = temp_dir(&format!("kea-clients-{name}-{server}"));
        let leases = dir.join("leases4.csv").display().to_string();
        let config = dir.join("kea-dhcp4.conf");
        std::fs::write(
            &config,
            adapt(&fixture("clients.json").unwrap(), "br0", &leases).unwrap(),
        )
        .unwrap();
        let running = Running::start(server, &lan.server, &config, &dir)
            .await
            .unwrap_or_else(|e| panic!("{server}: {e:#}"));
        ns.ip(&["addr", "flush", "dev", "eth0"]).unwrap();
        let (script, events) = hook(&dir);
        let mut daemon = client(ns, &script, &dir);
        let env = wait_event(&events, event, &daemon).await;
        let applied = addresses(ns);
        let ip = env
            .get("ip")
            .or_else(|| env.get("new_ip_address"))
            .cloned()
            .unwrap_or_default();
        assert!(
            !ip.is_empty() && applied.contains(&format!("inet {ip}/")),
            "{server}: the client applied {applied:?}, was given {ip:?}; server log:\n{}",
            running.log()
        );
        let _ = daemon.signal(e2e::daemon::Signal::Term);
        let _ = daemon.wait_exit(Duration::from_secs(5)).await;
        drop(daemon);
        running.stop().await;
        check(server, &env);
        envs.push(env);
    }
    let given = |env: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        env.iter()
            .filter(|(k, _)| !matches!(k.as_str(), "pid" | "new_expiry"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    if let [kea, ours] = envs.as_slice() {
        assert_eq!(
            given(ours),
            given(kea),
            "what the client was given: ours, then Kea"
        );
    }
}

/// busybox udhcpc with `-V acme-phone` (option 60) falls in the built-in
/// class VENDOR_CLASS_acme-phone: it receives the class's TFTP server
/// (option 66) and vendor option 43 (sub-option 1 "acs").
#[tokio::test]
async fn udhcpc_with_a_vendor_class_gets_the_class_options() {
    against_both(
        "udhcpc",
        "bound",
        |ns, script, _| {
            ns.spawn(
                "busybox",
                &[
                    "udhcpc",
                    "-f",
                    "-q",
                    "-i",
                    "eth0",
                    "-t",
                    "5",
                    "-T",
                    "1",
                    "-V",
                    "acme-phone",
                    "-O",
                    "tftp",
                    "-O",
                    "43",
                    "-s",
                    &script.display().to_string(),
                ],
            )
            .unwrap()
        },
        |server, env| {
            let get = |k: &str| env.get(k).map_or("", String::as_str);
            assert_eq!(get("tftp"), "tftp.acme.example", "{server}: {env:?}");
            assert_eq!(get("opt43"), "0103616373", "{server}: {env:?}");
            assert_eq!(get("domain"), "example.org", "{server}: {env:?}");
        },
    )
    .await;
}

/// ISC dhclient with `send user-class "lab-bench-3";` (option 77) falls in
/// the "lab" class: its domain name and NTP server replace the global ones.
#[tokio::test]
async fn dhclient_with_a_user_class_gets_the_class_options() {
    against_both(
        "dhclient",
        "BOUND",
        |ns, script, dir| {
            let conf = dir.join("dhclient.conf");
            std::fs::write(
                &conf,
                "send user-class \"lab-bench-3\";\n\
             request subnet-mask, routers, domain-name, domain-name-servers, ntp-servers;\n",
            )
            .unwrap();
            ns.spawn(
                "dhclient",
                &[
                    "-4",
                    "-d",
                    "-1",
                    "-sf",
                    &script.display().to_string(),
                    "-lf",
                    &dir.join("dhclient.leases").display().to_string(),
                    "-pf",
                    &dir.join("dhclient.pid").display().to_string(),
                    "-cf",
                    &conf.display().to_string(),
                    "eth0",
                ],
            )
            .unwrap()
        },
        |server, env| {
            let get = |k: &str| env.get(k).map_or("", String::as_str);
            assert_eq!(
                get("new_domain_name"),
                "lab.example.org",
                "{server}: {env:?}"
            );
            assert_eq!(get("new_ntp_servers"), "192.0.2.123", "{server}: {env:?}");
        },
    )
    .await;
}

/// dhcpcd on a shared network whose first subnet has no address for it
/// (its one pool address is reserved for another client): it is given an
/// address of the second subnet, with that subnet's router.
#[tokio::test]
async fn dhcpcd_gets_an_address_from_the_second_subnet_of_a_shared_network() {
    against_both(
        "dhcpcd",
        "BOUND",
        |ns, script, _| {
            ns.spawn(
                "dhcpcd",
                &[
                    "-4",
                    "-1",
                    "-B",
                    "-t",
                    "15",
                    "--noipv4ll",
                    "-f",
                    "/dev/null",
                    "-c",
                    &script.display().to_string(),
                    "eth0",
                ],
            )
            .unwrap()
        },
        |server, env| {
            let get = |k: &str| env.get(k).map_or("", String::as_str);
            assert_eq!(get("new_ip_address"), "198.51.100.100", "{server}: {env:?}");
            assert_eq!(get("new_routers"), "198.51.100.1", "{server}: {env:?}");
        },
    )
    .await;
}
