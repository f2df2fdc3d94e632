//! Relays (ISC dhcrelay with option 82, and many relayed clients with an
//! option 82 the server must echo), kill -9 under load with every ACKed
//! lease kept, and lease files shared with Kea in both directions.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use e2e::daemon::{cargo_bin, Signal};
use e2e::netns::{link, Lan, Netns};
use e2e::Daemon;

use crate::dhcp4_support::{
    hook_script, kea_lan_config, latest, lease_lines, start_ours, start_ours_with, temp_dir,
    wait_event, METRICS_PORT,
};

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_string()).collect()
}

/// Runs `dhcp-load` in `ns` to completion; returns its output.
async fn load(ns: &Netns, args: &[String]) -> String {
    let bin = cargo_bin("dhcp-load").unwrap().display().to_string();
    let mut daemon = ns.spawn(&bin, args).unwrap();
    let status = daemon.wait_exit(Duration::from_secs(90)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "dhcp-load: {status:?}\n{}",
        daemon.log()
    );
    daemon.log()
}

fn summary_field(output: &str, key: &str) -> u64 {
    let line = output
        .lines()
        .find(|l| l.starts_with("summary "))
        .unwrap_or_else(|| panic!("no summary in {output}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

fn acks(output: &str) -> Vec<(String, Ipv4Addr)> {
    output
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("ack")).then_some(())?;
            Some((w.next()?.to_string(), w.next()?.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn relayed_clients_get_addresses_of_their_relay_subnet_and_option_82_back() {
    let server = Netns::create("srv").unwrap();
    let relay = Netns::create("rly").unwrap();
    let client = Netns::create("cli").unwrap();
    let loader = Netns::create("ldr").unwrap();
    link(
        &server,
        "up0",
        "10.70.0.1/24",
        &relay,
        "up1",
        "10.70.0.2/24",
    )
    .unwrap();
    link(
        &relay,
        "down0",
        "192.168.70.1/24",
        &client,
        "eth0",
        "192.168.70.254/32",
    )
    .unwrap();
    client.ip(&["addr", "flush", "dev", "eth0"]).unwrap();
    link(
        &server,
        "up9",
        "10.71.0.1/24",
        &loader,
        "eth0",
        "10.71.0.2/24",
    )
    .unwrap();
    server
        .ip(&["route", "add", "192.168.70.0/24", "via", "10.70.0.2"])
        .unwrap();
    let dir = temp_dir("relay");
    let leases = dir.join("leases.csv");
    let config = dir.join("kea-dhcp4.conf");
    std::fs::write(
        &config,
        format!(
            r#"{{ "Dhcp4": {{
  "interfaces-config": {{ "interfaces": [ "up0", "up9" ] }},
  "lease-database": {{ "type": "memfile", "name": "{}" }},
  "valid-lifetime": 1200,
  "subnet4": [
    {{ "id": 1, "subnet": "10.70.0.0/24" }},
    {{ "id": 2, "subnet": "192.168.70.0/24",
       "relay": {{ "ip-addresses": [ "192.168.70.1" ] }},
       "pools": [ {{ "pool": "192.168.70.50 - 192.168.70.60" }} ],
       "option-data": [ {{ "name": "routers", "data": "192.168.70.1" }} ] }},
    {{ "id": 3, "subnet": "10.71.0.0/24", "pools": [ {{ "pool": "10.71.0.100 - 10.71.0.199" }} ] }}
  ]
}} }}"#,
            leases.display()
        ),
    )
    .unwrap();
    let _ours = start_ours(&server, &config).await.unwrap();

    // A real relay agent (ISC dhcrelay, adding option 82) and a real client.
    let _dhcrelay = relay
        .spawn(
            "dhcrelay",
            &["-d", "-4", "-a", "-id", "down0", "-iu", "up1", "10.70.0.1"],
        )
        .unwrap();
    let (script, events) = hook_script(&dir, "udhcpc-relayed");
    let udhcpc = client
        .spawn(
            "busybox",
            &[
                "udhcpc",
                "-f",
                "-q",
                "-i",
                "eth0",
                "-t",
                "10",
                "-T",
                "1",
                "-s",
                &script.display().to_string(),
            ],
        )
        .unwrap();
    let bound = wait_event(&events, "bound", 0, &udhcpc).await.unwrap();
    let ip: Ipv4Addr = bound.get("ip").parse().unwrap();
    let last = ip.octets()[3];
    assert!(
        ip.octets()[..3] == [192, 168, 70] && (50..=60).contains(&last),
        "{bound:?}"
    );
    assert_eq!(bound.get("routers"), "192.168.70.1");
    let lease = latest(&leases, ip).unwrap().unwrap();
    assert_eq!(lease.valid_lifetime, 1200);

    // 60 clients behind one relay that adds option 82: every reply echoes
    // it, every client gets its own address from the relay's subnet.
    let output = load(
        &loader,
        &strings(&[
            "--relay",
            "10.71.0.2",
            "--server",
            "10.71.0.1",
            "--count",
            "60",
            "--window",
            "16",
            "--option82",
            "01046c6f61640206020000000001",
            "--deadline",
            "30",
        ]),
    )
    .await;
    assert_eq!(summary_field(&output, "acked"), 60, "{output}");
    assert_eq!(summary_field(&output, "echo_bad"), 0, "{output}");
    let got = acks(&output);
    let distinct: HashSet<Ipv4Addr> = got.iter().map(|(_, ip)| *ip).collect();
    assert_eq!(distinct.len(), 60, "{output}");
    assert!(distinct
        .iter()
        .all(|ip| ip.octets()[..3] == [10, 71, 0] && (100..=199).contains(&ip.octets()[3])));
    // The pool has 100 addresses: 60 more clients find 40, the rest none.
    let more = load(
        &loader,
        &strings(&[
            "--relay",
            "10.71.0.2",
            "--server",
            "10.71.0.1",
            "--count",
            "60",
            "--first",
            "1000",
            "--window",
            "16",
            "--deadline",
            "30",
        ]),
    )
    .await;
    assert_eq!(summary_field(&more, "acked"), 40, "{more}");
    let scrape = server.scrape(METRICS_PORT).unwrap();
    let subnet3 = [("subnet", "10.71.0.0/24"), ("subnet_id", "3")];
    assert_eq!(
        scrape.value("kea_dhcp4_addresses_assigned_total", &subnet3),
        Some(100.0)
    );
    assert!(scrape.value("kea_dhcp4_allocations_failed_total", &subnet3) >= Some(20.0));
}

/// A server namespace and a load namespace on `10.<octet>.0.0/16`
/// (server .1, relay .2), and a config with one big pool whose memfile
/// lease database has `lease_extra` (JSON members) added.
struct LoadBench {
    server: Netns,
    loader: Netns,
    dir: std::path::PathBuf,
    leases: std::path::PathBuf,
    config: std::path::PathBuf,
}

impl LoadBench {
    fn new(octet: u8, name: &str, lease_extra: &str) -> LoadBench {
        let server = Netns::create("srv").unwrap();
        let loader = Netns::create("ldr").unwrap();
        link(
            &server,
            "eth0",
            &format!("10.{octet}.0.1/16"),
            &loader,
            "eth0",
            &format!("10.{octet}.0.2/16"),
        )
        .unwrap();
        let dir = temp_dir(name);
        let leases = dir.join("leases.csv");
        let config = dir.join("kea-dhcp4.conf");
        std::fs::write(
            &config,
            format!(
                r#"{{ "Dhcp4": {{
  "interfaces-config": {{ "interfaces": [ "eth0" ] }},
  "lease-database": {{ "type": "memfile", "name": "{}"{lease_extra} }},
  "valid-lifetime": 3600,
  "subnet4": [ {{ "id": 1, "subnet": "10.{octet}.0.0/16", "pools": [ {{ "pool": "10.{octet}.1.0 - 10.{octet}.255.254" }} ] }} ]
}} }}"#,
                leases.display()
            ),
        )
        .unwrap();
        LoadBench {
            server,
            loader,
            dir,
            leases,
            config,
        }
    }
}

#[tokio::test]
async fn kill_9_under_load_keeps_every_acked_lease_and_clients_get_them_back() {
    let LoadBench {
        server,
        loader,
        dir,
        leases,
        config,
    } = LoadBench::new(72, "kill9", r#", "lfc-interval": 1"#);
    let ours = start_ours(&server, &config).await.unwrap();
    let bin = cargo_bin("dhcp-load").unwrap().display().to_string();
    let running = loader
        .spawn(
            &bin,
            &[
                "--relay",
                "10.72.0.2",
                "--server",
                "10.72.0.1",
                "--count",
                "50000",
                "--window",
                "64",
                "--deadline",
                "60",
            ],
        )
        .unwrap();
    // Let it run a while (compactions every second included), then kill -9
    // the server mid-stream.
    let mut enough = false;
    for _ in 0..600 {
        if acks(&running.log()).len() >= 1500 {
            enough = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        enough,
        "load never got 1500 ACKs:\n{}\nserver:\n{}",
        running.log(),
        ours.log()
    );
    ours.signal(Signal::Kill).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.signal(Signal::Kill).unwrap();
    drop(ours);
    let acked = acks(&running.log());
    drop(running);
    assert!(acked.len() >= 1500);

    // Every ACKed lease is on disk, for its client.
    let on_disk = lease_lines(&leases).unwrap();
    let mut last = std::collections::HashMap::new();
    for line in &on_disk {
        last.insert(line.address, line.clone());
    }
    for (mac, ip) in &acked {
        let entry = last
            .get(ip)
            .unwrap_or_else(|| panic!("ACKed {ip} for {mac} missing from the lease file"));
        assert_eq!(&entry.hwaddr, mac, "{ip}");
        assert!(entry.valid_lifetime > 0, "{entry:?}");
    }

    // Restarted, the server offers every client its address again.
    let restarted = start_ours(&server, &config).await.unwrap();
    assert!(
        restarted.log().contains("leases replayed"),
        "{}",
        restarted.log()
    );
    let acks_file = dir.join("acks.txt");
    let text: String = acked
        .iter()
        .map(|(mac, ip)| format!("ack {mac} {ip}\n"))
        .collect();
    std::fs::write(&acks_file, text).unwrap();
    let verify = load(
        &loader,
        &strings(&[
            "--relay",
            "10.72.0.2",
            "--server",
            "10.72.0.1",
            "--window",
            "64",
            "--deadline",
            "60",
            "--verify",
            &acks_file.display().to_string(),
        ]),
    )
    .await;
    assert_eq!(summary_field(&verify, "mismatched"), 0, "{verify}");
    assert_eq!(
        summary_field(&verify, "matched"),
        acked.len() as u64,
        "{verify}"
    );
}

#[tokio::test]
async fn requests_queued_behind_the_receive_window_are_all_answered_once() {
    let LoadBench {
        server,
        loader,
        leases,
        config,
        ..
    } = LoadBench::new(73, "receive-window", "");
    // A window far longer than the default, so that requests pile up in the
    // socket while the receive thread waits, and are read in batches.
    let _ours = start_ours_with(&server, &config, &["--receive-window", "20"])
        .await
        .unwrap();
    let clients = 3000;
    let output = load(
        &loader,
        &strings(&[
            "--relay",
            "10.73.0.2",
            "--server",
            "10.73.0.1",
            "--count",
            &clients.to_string(),
            "--window",
            "64",
            "--deadline",
            "60",
        ]),
    )
    .await;
    assert_eq!(summary_field(&output, "acked"), clients, "{output}");
    // No request was lost in the queue and sent again after 500 ms.
    assert_eq!(summary_field(&output, "retransmitted"), 0, "{output}");
    let acked = acks(&output);
    let distinct: HashSet<Ipv4Addr> = acked.iter().map(|(_, ip)| *ip).collect();
    assert_eq!(distinct.len(), acked.len(), "an address ACKed twice");
    assert_eq!(lease_lines(&leases).unwrap().len(), acked.len());

    let scrape = server.scrape(METRICS_PORT).unwrap();
    let waits = scrape.sum("dhcp4_receive_waits_total", &[]);
    assert!(waits > 0.0, "the receive thread never waited");
    // Every request was read and answered once.
    for (operation, sent) in [("discover", "offer"), ("request", "ack")] {
        let received = scrape.sum(
            "kea_dhcp4_packets_received_total",
            &[("operation", operation)],
        );
        let replied = scrape.sum("kea_dhcp4_packets_sent_total", &[("operation", sent)]);
        assert_eq!(received, clients as f64, "{operation} received");
        assert_eq!(replied, clients as f64, "{sent} sent");
    }
}

#[tokio::test]
async fn a_lease_file_written_by_kea_is_ours_and_kea_reads_ours() {
    let prefix = [192, 168, 64];
    let lan = Lan::new(prefix, 2).unwrap();
    let dir = temp_dir("kea-file");
    let leases = dir.join("kea-leases4.csv");
    let kea_config = dir.join("kea-dhcp4.conf");
    std::fs::write(
        &kea_config,
        kea_lan_config("br0", prefix, &leases, 0, false),
    )
    .unwrap();
    let kea = |dir: &Path| {
        let all = strings(&[
            "netns",
            "exec",
            lan.server.name(),
            "env",
            &format!("KEA_PIDFILE_DIR={}", dir.display()),
            &format!("KEA_LOCKFILE_DIR={}", dir.display()),
            "kea-dhcp4",
            "-c",
            &kea_config.display().to_string(),
        ]);
        Daemon::spawn(Path::new("ip"), &all).unwrap()
    };
    let lease_from = |client: usize, round: &str| {
        let (script, events) = hook_script(&dir, &format!("udhcpc-{client}-{round}"));
        let daemon = lan.clients[client]
            .spawn(
                "busybox",
                &[
                    "udhcpc",
                    "-f",
                    "-q",
                    "-i",
                    "eth0",
                    "-t",
                    "15",
                    "-T",
                    "1",
                    "-s",
                    &script.display().to_string(),
                ],
            )
            .unwrap();
        (daemon, events)
    };

    // Round 1, Kea: two clients, .100 and .101 (Kea's iterative allocator).
    let mut first = kea(&dir);
    let mut got = Vec::new();
    for client in 0..2 {
        let (udhcpc, events) = lease_from(client, "kea");
        let bound = wait_event(&events, "bound", 0, &udhcpc).await.unwrap();
        got.push(bound.get("ip").parse::<Ipv4Addr>().unwrap());
    }
    first.signal(Signal::Term).unwrap();
    assert!(first.wait_exit(Duration::from_secs(10)).await.is_some());
    assert_ne!(got[0], got[1]);
    let written = lease_lines(&leases).unwrap();
    assert!(
        written.iter().any(|l| l.address == got[1]),
        "Kea wrote: {written:?}"
    );

    // Round 2, ours on Kea's file: client 1 alone gets its Kea address back
    // (a server that had not read the file would start at the pool's start).
    let mut ours = start_ours(&lan.server, &kea_config).await.unwrap();
    let (udhcpc, events) = lease_from(1, "ours");
    let bound = wait_event(&events, "bound", 0, &udhcpc).await.unwrap();
    assert_eq!(bound.get("ip"), got[1].to_string(), "{}", ours.log());
    drop(udhcpc);
    ours.signal(Signal::Term).unwrap();
    assert!(ours.wait_exit(Duration::from_secs(10)).await.is_some());

    // Round 3, Kea on our (compacted, rewritten) file: the same again.
    let second = kea(&dir);
    let (udhcpc, events) = lease_from(1, "kea-again");
    let bound = wait_event(&events, "bound", 0, &udhcpc).await.unwrap();
    assert_eq!(
        bound.get("ip"),
        got[1].to_string(),
        "Kea did not read our file; Kea's log:\n{}",
        second.log()
    );
    assert!(!second.log().contains("ROW_ERROR"), "{}", second.log());
}
