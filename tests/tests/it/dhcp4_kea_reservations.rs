//! Reservations, differentially (issue 16): relayed clients reserved by
//! circuit id (option 82 sub-option 1, RFC 3046) under
//! `host-reservation-identifiers`, and reservations that carry a hostname,
//! boot fields and options. Kea 2.2 first, with the scenario's facts
//! checked on its replies, then ours compared byte for byte, lease files
//! included.

use std::net::Ipv4Addr;

use e2e::kea::message::{mac, ACK, DISCOVER};
use e2e::kea::{fixture, same, Differential, Request, Server, Step, Topology};

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// Option 82 with circuit id `circuit` and remote id "relay-1".
fn agent_options(circuit: &[u8]) -> Vec<u8> {
    let mut data = vec![1, u8::try_from(circuit.len()).unwrap()];
    data.extend_from_slice(circuit);
    data.extend_from_slice(&[2, 7]);
    data.extend_from_slice(b"relay-1");
    data
}

/// Kea manual 8.3.4 "Reserving an IPv4 Address by Circuit ID" (and
/// `host-reservation-identifiers` order): the circuit id wins, the hardware
/// address is looked up next, others get the pool; every reply echoes
/// option 82 (RFC 3046 §2.2).
#[tokio::test]
async fn relayed_clients_reserved_by_circuit_id_then_hardware_address() {
    let giaddr = ip("10.10.0.1");
    let topology = Topology::new(ip("192.0.2.1"), ip("192.0.2.254"), &[giaddr]).unwrap();
    let d = Differential::new("circuit", fixture("circuit.json").unwrap(), topology).unwrap();
    let relayed = |xid, n, circuit: &[u8]| {
        Request::new(DISCOVER, xid, mac(4, n))
            .prl(&[1, 3, 6, 12])
            .option(82, agent_options(circuit))
            .relayed(giaddr)
    };
    let mut steps = Vec::new();
    steps.extend(Step::dora("port-7", relayed(0x6001, 1, b"port-7")));
    steps.extend(Step::dora("port-8", relayed(0x6002, 2, &[0, 1, 0, 8])));
    steps.extend(Step::dora("by-mac", relayed(0x6003, 3, b"port-99")));
    steps.extend(Step::dora("unknown", relayed(0x6004, 4, b"port-100")));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    for (step, want) in [
        ("port-7", "10.10.0.7"),
        ("port-8", "10.10.0.8"),
        ("by-mac", "10.10.0.9"),
        ("unknown", "10.10.0.100"),
    ] {
        let ack = kea.reply(&format!("{step} ack")).unwrap();
        assert_eq!(ack.kind(), ACK, "{}", kea.dump());
        assert_eq!(ack.yiaddr, ip(want), "{step}: {}", kea.dump());
        assert_eq!(ack.giaddr, giaddr);
        assert!(ack.has(82), "option 82 echoed: {}", kea.dump());
    }
    assert_eq!(
        kea.reply("port-7 ack").unwrap().option_text(12).as_deref(),
        Some("port-7")
    );
    assert_eq!(kea.lease(ip("10.10.0.7")).unwrap().subnet_id(), "10");
    assert_eq!(kea.lease(ip("10.10.0.9")).unwrap().valid_lifetime(), "7200");

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}

/// Kea manual 8.3.5-8.3.7: a reservation's hostname (option 12), its
/// next-server / server-hostname / boot-file-name (siaddr, sname, file) and
/// its option-data, which win over the subnet's and the global options.
#[tokio::test]
async fn reservations_with_options_hostname_and_boot_fields() {
    let d = Differential::new(
        "reservation",
        fixture("reservation.json").unwrap(),
        Topology::lan().unwrap(),
    )
    .unwrap();
    let prl: &[u8] = &[1, 3, 6, 7, 12, 15];
    let mut steps = Vec::new();
    steps.extend(Step::dora(
        "printer",
        Request::new(DISCOVER, 0x7001, mac(5, 1)).prl(prl),
    ));
    steps.extend(Step::dora(
        "kiosk",
        Request::new(DISCOVER, 0x7002, mac(5, 9))
            .option(61, [1, 2, 0xd1, 0xf0, 0, 5, 2])
            .prl(prl),
    ));
    steps.extend(Step::dora(
        "plain",
        Request::new(DISCOVER, 0x7003, mac(5, 3)).prl(prl),
    ));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    for step in ["printer offer", "printer ack"] {
        let r = kea.reply(step).unwrap();
        assert_eq!(r.yiaddr, ip("192.0.2.50"), "{}", kea.dump());
        assert_eq!(r.siaddr, ip("192.0.2.10"));
        assert_eq!(r.sname_text(), "boot.example.org");
        assert_eq!(r.file_text(), "printer.cfg");
        assert_eq!(r.option_text(12).as_deref(), Some("printer"));
        assert_eq!(r.option(6), Some(vec![192, 0, 2, 53, 192, 0, 2, 54]));
        assert_eq!(r.option(7), Some(vec![192, 0, 2, 55]));
    }
    let kiosk = kea.reply("kiosk ack").unwrap();
    assert_eq!(kiosk.yiaddr, ip("192.0.2.51"), "{}", kea.dump());
    assert_eq!(kiosk.option_text(15).as_deref(), Some("kiosk.example.org"));
    assert_eq!(kiosk.option(6), Some(vec![192, 0, 2, 1]));
    let plain = kea.reply("plain ack").unwrap();
    assert_eq!(plain.option_text(15).as_deref(), Some("example.org"));
    assert!(!plain.has(7) && plain.siaddr.is_unspecified());
    assert_eq!(kea.lease(ip("192.0.2.50")).unwrap().hostname(), "printer");

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}
