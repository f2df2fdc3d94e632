//! Real DHCP clients (busybox udhcpc, ISC dhclient, dhcpcd) in their own
//! network namespaces on a bridged LAN get leases from our server with the
//! configured options, renew, reboot and release; the lease file and the
//! metrics say the same.

use std::net::Ipv4Addr;
use std::time::Duration;

use e2e::daemon::Signal;
use e2e::netns::Lan;

use crate::dhcp4_support::{
    hook_script, lan_config, latest, lease_lines, start_ours, temp_dir, wait_event, METRICS_PORT,
};

fn in_pool(addr: Ipv4Addr, prefix: [u8; 3]) -> bool {
    let o = addr.octets();
    o[..3] == prefix && (100..=200).contains(&o[3])
}

#[tokio::test]
async fn udhcpc_gets_a_lease_with_the_options_renews_and_releases() {
    let prefix = [192, 168, 61];
    let lan = Lan::new(prefix, 1).unwrap();
    let dir = temp_dir("udhcpc");
    let leases = dir.join("leases.csv");
    let config = dir.join("kea-dhcp4.conf");
    std::fs::write(&config, lan_config("br0", prefix, &leases)).unwrap();
    let server = start_ours(&lan.server, &config).await.unwrap();
    let (script, events) = hook_script(&dir, "udhcpc-hook");

    let client = lan.clients[0]
        .spawn(
            "busybox",
            &[
                "udhcpc",
                "-f",
                "-i",
                "eth0",
                "-t",
                "5",
                "-T",
                "1",
                "-O",
                "staticroutes",
                "-s",
                &script.display().to_string(),
            ],
        )
        .unwrap();
    let bound = wait_event(&events, "bound", 0, &client).await.unwrap();
    let ip: Ipv4Addr = bound.get("ip").parse().unwrap();
    assert!(in_pool(ip, prefix), "{ip} not in the pool; {bound:?}");
    assert_eq!(bound.get("mask"), "255.255.255.0");
    assert_eq!(bound.get("routers"), "192.168.61.1");
    assert_eq!(bound.get("dns"), "192.168.61.1 192.168.61.2");
    assert_eq!(bound.get("domain"), "event.example");
    assert_eq!(bound.get("lease"), "600");
    assert_eq!(bound.get("server"), "192.168.61.1");
    assert_eq!(
        bound.get("routes"),
        "10.99.0.0/16 192.168.61.254",
        "option 121 as udhcpc decodes it"
    );
    let first = latest(&leases, ip)
        .unwrap()
        .expect("the ACKed lease is in the file");
    assert_eq!(first.valid_lifetime, 600);
    assert!(
        first.client_id.starts_with("01:"),
        "udhcpc sends a client id: {first:?}"
    );

    // Renew (SIGUSR1): a unicast REQUEST from the bound address; same
    // address, later expiry on disk.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.signal(Signal::Usr1).unwrap();
    let renewed = wait_event(&events, "renew", 1, &client).await.unwrap();
    assert_eq!(renewed.get("ip"), ip.to_string());
    let after = latest(&leases, ip).unwrap().unwrap();
    assert!(after.expire > first.expire, "{first:?} then {after:?}");

    // Release (SIGUSR2): the lease is deleted on disk (Kea writes lifetime 0).
    client.signal(Signal::Usr2).unwrap();
    let mut released = None;
    for _ in 0..100 {
        if let Some(l) = latest(&leases, ip)
            .unwrap()
            .filter(|l| l.valid_lifetime == 0)
        {
            released = Some(l);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        released.is_some(),
        "no deletion in {}",
        std::fs::read_to_string(&leases).unwrap()
    );

    let scrape = lan.server.scrape(METRICS_PORT).unwrap();
    let received =
        |op: &str| scrape.value("kea_dhcp4_packets_received_total", &[("operation", op)]);
    let sent = |op: &str| scrape.value("kea_dhcp4_packets_sent_total", &[("operation", op)]);
    assert!(received("discover") >= Some(1.0), "{scrape:?}");
    assert!(received("request") >= Some(2.0));
    assert_eq!(received("release"), Some(1.0));
    assert!(sent("offer") >= Some(1.0));
    assert!(sent("ack") >= Some(2.0));
    let subnet = [("subnet", "192.168.61.0/24"), ("subnet_id", "1")];
    assert_eq!(
        scrape.value("kea_dhcp4_addresses_total", &subnet),
        Some(101.0)
    );
    assert_eq!(
        scrape.value("kea_dhcp4_addresses_assigned_total", &subnet),
        Some(0.0)
    );
    assert!(lan.server.http_ok(METRICS_PORT, "/healthz").unwrap());
    drop(client);
    drop(server);
}

#[tokio::test]
async fn dhclient_gets_a_lease_then_reboots_into_it_and_releases() {
    let prefix = [192, 168, 62];
    let lan = Lan::new(prefix, 1).unwrap();
    let dir = temp_dir("dhclient");
    let leases = dir.join("leases.csv");
    let config = dir.join("kea-dhcp4.conf");
    std::fs::write(&config, lan_config("br0", prefix, &leases)).unwrap();
    let _server = start_ours(&lan.server, &config).await.unwrap();
    let (script, events) = hook_script(&dir, "dhclient-hook");
    let script = script.display().to_string();
    let client_leases = dir.join("dhclient.leases").display().to_string();
    let pid_file = dir.join("dhclient.pid").display().to_string();
    let client_args = |extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = vec![
            "-4".into(),
            "-sf".into(),
            script.clone(),
            "-lf".into(),
            client_leases.clone(),
            "-pf".into(),
            pid_file.clone(),
            "-cf".into(),
            "/dev/null".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_string()));
        args.push("eth0".into());
        args
    };
    let ns = &lan.clients[0];

    let args = client_args(&["-d", "-1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut first = ns.spawn("dhclient", &args).unwrap();
    let bound = wait_event(&events, "BOUND", 0, &first).await.unwrap();
    let ip: Ipv4Addr = bound.get("ip").parse().unwrap();
    assert!(in_pool(ip, prefix), "{bound:?}");
    assert_eq!(bound.get("routers"), "192.168.62.1");
    assert_eq!(bound.get("dns"), "192.168.62.1 192.168.62.2");
    assert_eq!(bound.get("domain"), "event.example");
    assert_eq!(bound.get("lease"), "600");
    assert_eq!(bound.get("mask"), "255.255.255.0");
    first.signal(Signal::Term).unwrap();
    first.wait_exit(Duration::from_secs(5)).await;
    let seen = crate::dhcp4_support::events(&events).len();

    // A restart: dhclient remembers the lease and asks for it (INIT-REBOOT,
    // no server id); the server confirms it.
    let mut second = ns.spawn("dhclient", &args).unwrap();
    let reboot = wait_event(&events, "REBOOT", seen, &second).await.unwrap();
    assert_eq!(reboot.get("ip"), ip.to_string());
    second.signal(Signal::Term).unwrap();
    second.wait_exit(Duration::from_secs(5)).await;

    // dhclient -r: a RELEASE from the bound address.
    let release = client_args(&["-r"]);
    let release: Vec<&str> = release.iter().map(String::as_str).collect();
    let out = ns.run("dhclient", &release).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut deleted = false;
    for _ in 0..100 {
        if latest(&leases, ip)
            .unwrap()
            .is_some_and(|l| l.valid_lifetime == 0)
        {
            deleted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        deleted,
        "no release in {}",
        std::fs::read_to_string(&leases).unwrap()
    );
}

#[tokio::test]
async fn dhcpcd_and_a_reserved_client_get_their_addresses() {
    let prefix = [192, 168, 63];
    let lan = Lan::new(prefix, 2).unwrap();
    let dir = temp_dir("dhcpcd");
    let leases = dir.join("leases.csv");
    let config = dir.join("kea-dhcp4.conf");
    std::fs::write(&config, lan_config("br0", prefix, &leases)).unwrap();
    let _server = start_ours(&lan.server, &config).await.unwrap();

    // Client 1 has the reserved hardware address.
    lan.clients[1]
        .ip(&["link", "set", "eth0", "address", "02:00:00:00:00:99"])
        .unwrap();
    let mut got = Vec::new();
    for (i, name) in [(0, "dhcpcd-a"), (1, "dhcpcd-reserved")] {
        let (script, events) = hook_script(&dir, name);
        let script = script.display().to_string();
        let mut client = lan.clients[i]
            .spawn(
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
                    &script,
                    "eth0",
                ],
            )
            .unwrap();
        let bound = wait_event(&events, "BOUND", 0, &client).await.unwrap();
        client.wait_exit(Duration::from_secs(10)).await;
        got.push(bound);
    }
    let a: Ipv4Addr = got[0].get("ip").parse().unwrap();
    assert!(in_pool(a, prefix), "{:?}", got[0]);
    assert_eq!(got[0].get("routers"), "192.168.63.1");
    assert_eq!(got[0].get("dns"), "192.168.63.1 192.168.63.2");
    assert_eq!(
        got[1].get("ip"),
        "192.168.63.10",
        "the reservation: {:?}",
        got[1]
    );
    let reserved = latest(&leases, "192.168.63.10".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(reserved.hwaddr, "02:00:00:00:00:99");
    assert_eq!(reserved.hostname, "reserved");
    assert!(lease_lines(&leases).unwrap().iter().all(|l| l.state == 0));
}
