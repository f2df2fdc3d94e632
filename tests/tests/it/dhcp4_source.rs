//! `pkt.src` in a class test is the datagram's IP source, as in Kea: a relay
//! that forwards from one address with another in giaddr (dhcrelay sends
//! from its upstream interface, giaddr names the downstream one) is told
//! apart from one whose giaddr is its source.

use std::net::Ipv4Addr;
use std::time::Duration;

use e2e::kea::message::{mac, DISCOVER, OFFER};
use e2e::kea::server::{Probe, SERVER_IF};
use e2e::kea::{Message, Request, Running, Server, Topology};

/// The relay address clients' subnet is selected by (giaddr).
const GIADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 1);
/// Another address of the relay, the source the DROP class matches.
const UPSTREAM: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 1);

fn config(leases: &str) -> String {
    format!(
        r#"{{ "Dhcp4": {{
  "interfaces-config": {{ "interfaces": [ "{SERVER_IF}" ], "dhcp-socket-type": "udp" }},
  "lease-database": {{ "type": "memfile", "name": "{leases}" }},
  "client-classes": [ {{ "name": "DROP", "test": "pkt.src == {UPSTREAM}" }} ],
  "subnet4": [ {{ "id": 1, "subnet": "10.77.1.0/24",
    "relay": {{ "ip-addresses": [ "{GIADDR}" ] }},
    "pools": [ {{ "pool": "10.77.1.100 - 10.77.1.200" }} ] }} ],
  "loggers": [ {{ "name": "kea-dhcp4", "output_options": [ {{ "output": "stdout" }} ], "severity": "INFO" }} ]
}} }}"#
    )
}

#[tokio::test]
async fn a_class_on_pkt_src_sees_the_relays_source_address_not_its_giaddr() {
    let topology = Topology::new(
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 254),
        &[GIADDR, UPSTREAM],
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("dhcp4-source-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kea-dhcp4.conf");
    let leases = dir.join("leases4.csv");
    std::fs::write(&path, config(&leases.display().to_string())).unwrap();
    let running = Running::start(Server::Ours, &topology.server, &path, &dir)
        .await
        .unwrap();
    let wait = Duration::from_millis(1500);

    // Sent from the giaddr itself: served.
    let mut at_giaddr = Probe::spawn(&topology, GIADDR, wait).unwrap();
    let discover = Request::new(DISCOVER, 0x7701, mac(77, 1)).relayed(GIADDR);
    let reply = at_giaddr.exchange(&discover.encode()).await.unwrap();
    let offer = Message::parse(&reply.unwrap_or_else(|| panic!("no offer"))).unwrap();
    assert_eq!(offer.kind(), OFFER);

    // The same giaddr sent from the relay's other address: DROP.
    let mut upstream = Probe::spawn(&topology, UPSTREAM, wait).unwrap();
    let discover = Request::new(DISCOVER, 0x7702, mac(77, 2)).relayed(GIADDR);
    let reply = upstream.exchange(&discover.encode()).await.unwrap();
    assert!(reply.is_none(), "a reply came back to the upstream address");

    let scrape = topology.server.scrape(9547).unwrap();
    let received =
        |op: &str| scrape.value("kea_dhcp4_packets_received_total", &[("operation", op)]);
    let sent = scrape.value("kea_dhcp4_packets_sent_total", &[("operation", "offer")]);
    assert_eq!(
        received("discover"),
        Some(1.0),
        "the dropped DISCOVER was counted as handled"
    );
    assert_eq!(
        received("drop"),
        Some(1.0),
        "the DROP class did not match pkt.src"
    );
    assert_eq!(sent, Some(1.0), "an offer went out for the dropped request");

    drop((at_giaddr, upstream));
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
