//! SIGHUP (Kea's `config-reload` meaning, issue 16): the running `dhcp4`
//! reads its file again; options and classes change for the next packet,
//! every lease is kept (in the file and in the allocator: a leased client is
//! offered its own address again), and a broken file is logged with its
//! location while the previous configuration keeps serving.

use std::net::Ipv4Addr;
use std::time::Duration;

use e2e::daemon::Signal;
use e2e::kea::message::{mac, ACK, DISCOVER, OFFER, REQUEST};
use e2e::kea::server::{Probe, SERVER_IF};
use e2e::kea::{config, fixture, read_leases, Message, Request, Running, Server, Topology};

/// Options the test clients ask for: domain name and NTP servers.
const PRL: &[u8] = &[1, 3, 6, 15, 42];

/// The class the reloaded file adds: clients sending user class `lab` get
/// NTP servers.
const LAB_CLASS: &str = r#""client-classes": [ { "name": "lab",
      "test": "option[77].hex == 'lab'",
      "option-data": [ { "name": "ntp-servers", "data": "192.0.2.123" } ] } ],
    "valid-lifetime": 3600,"#;

/// DISCOVER then REQUEST for the offered address; the ACK.
async fn dora(probe: &mut Probe, xid: u32, chaddr: [u8; 6]) -> Message {
    let offer = probe
        .ask(Request::new(DISCOVER, xid, chaddr).prl(PRL))
        .await
        .unwrap();
    assert_eq!(offer.kind(), OFFER);
    let request = Request::new(REQUEST, xid + 1, chaddr)
        .option(50, offer.yiaddr.octets())
        .option(54, offer.option(54).unwrap_or_default())
        .prl(PRL);
    let ack = probe.ask(request).await.unwrap();
    assert_eq!(ack.kind(), ACK, "{ack:?}");
    ack
}

/// Sends SIGHUP and waits (bounded) until the log shows `outcome` once more
/// than before.
async fn hang_up(running: &Running, outcome: &str) -> String {
    let before = running.log().matches(outcome).count();
    running.signal(Signal::Hup).unwrap();
    for _ in 0..200 {
        let log = running.log();
        if log.matches(outcome).count() > before {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {outcome:?} after SIGHUP; log:\n{}", running.log());
}

#[tokio::test]
async fn sighup_applies_new_options_and_classes_keeps_leases_and_survives_a_broken_file() {
    let topology = Topology::lan().unwrap();
    let dir = std::env::temp_dir().join(format!("dhcp4-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let leases = dir.join("leases4.csv");
    let path = dir.join("kea-dhcp4.conf");
    let first = config::adapt(
        &fixture("basic.json").unwrap(),
        SERVER_IF,
        &leases.display().to_string(),
    )
    .unwrap();
    std::fs::write(&path, &first).unwrap();
    let running = Running::start(Server::Ours, &topology.server, &path, &dir)
        .await
        .unwrap();
    let mut probe = Probe::spawn(
        &topology,
        Ipv4Addr::UNSPECIFIED,
        Duration::from_millis(1500),
    )
    .unwrap();

    let mut leased = Vec::new();
    for n in 1..=3u8 {
        let ack = dora(&mut probe, 0x5100 + u32::from(n) * 2, mac(51, n)).await;
        assert_eq!(ack.option_text(15).as_deref(), Some("example.org"));
        leased.push((mac(51, n), ack.yiaddr));
    }

    // The same file with another domain name and a class.
    let second = first
        .replace("\"example.org\"", "\"reloaded.example\"")
        .replacen("\"valid-lifetime\": 3600,", LAB_CLASS, 1);
    assert_ne!(
        second, first,
        "the fixture changed: the edit no longer applies"
    );
    std::fs::write(&path, &second).unwrap();
    hang_up(&running, "SIGHUP: config reloaded").await;

    // In reverse order: a server that forgot its leases would offer the
    // last client the first client's address.
    for (n, (chaddr, address)) in leased.iter().rev().enumerate() {
        let offer = probe
            .ask(Request::new(DISCOVER, 0x5200 + n as u32, *chaddr).prl(PRL))
            .await
            .unwrap();
        assert_eq!(
            offer.yiaddr, *address,
            "the lease was kept in the allocator"
        );
        assert_eq!(offer.option_text(15).as_deref(), Some("reloaded.example"));
        assert!(!offer.has(42), "not in the class: no NTP servers");
    }
    let lab = probe
        .ask(
            Request::new(DISCOVER, 0x5300, mac(51, 9))
                .option(77, "lab")
                .prl(PRL),
        )
        .await
        .unwrap();
    assert_eq!(lab.option_addr(42), Some(Ipv4Addr::new(192, 0, 2, 123)));
    let on_disk = read_leases(&leases).unwrap();
    for (_, address) in &leased {
        assert!(
            on_disk.iter().any(|l| l.address() == address.to_string()),
            "{address} missing from the lease file"
        );
    }

    // A broken file: logged with file and line, the second config stays.
    let broken = second.replacen("\"subnet4\"", "\"subnet4\" ::", 1);
    std::fs::write(&path, &broken).unwrap();
    let line = broken
        .lines()
        .position(|l| l.contains("\"subnet4\" ::"))
        .unwrap()
        + 1;
    let log = hang_up(&running, "SIGHUP: config not reloaded").await;
    let location = format!("{}:{line}", path.display());
    assert!(log.contains(&location), "{location} not in the log:\n{log}");
    let still = probe
        .ask(
            Request::new(DISCOVER, 0x5400, mac(51, 10))
                .option(77, "lab")
                .prl(PRL),
        )
        .await
        .unwrap();
    assert_eq!(still.option_text(15).as_deref(), Some("reloaded.example"));
    assert_eq!(still.option_addr(42), Some(Ipv4Addr::new(192, 0, 2, 123)));

    drop(probe);
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
