//! Where addresses come from and for how long, differentially (issue 16):
//! a shared network whose first subnet fills up, and lease lifetimes
//! bounded by min-/max-valid-lifetime with calculated T1/T2. Kea 2.2 first,
//! its replies checked for the scenario's facts, then ours compared byte
//! for byte, lease files included.

use std::net::Ipv4Addr;

use e2e::kea::message::{mac, ACK, DISCOVER};
use e2e::kea::{fixture, same, Differential, Request, Server, Step, Topology};

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// Kea manual "Shared Networks in DHCPv4": when the subnet selected for a
/// client has no free address, the allocator moves on to the next subnet
/// of the shared network; the reply carries that subnet's options and the
/// shared network's.
#[tokio::test]
async fn the_third_client_of_a_full_subnet_gets_the_next_subnet_of_the_shared_network() {
    let d = Differential::new(
        "shared",
        fixture("shared.json").unwrap(),
        Topology::lan().unwrap(),
    )
    .unwrap();
    let mut steps = Vec::new();
    for n in 1..=3u8 {
        steps.extend(Step::dora(
            &format!("client {n}"),
            Request::new(DISCOVER, 0x8000 + u32::from(n), mac(6, n)).prl(&[1, 3, 6, 15]),
        ));
    }

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let got: Vec<Ipv4Addr> = (1..=3)
        .map(|n| kea.reply(&format!("client {n} ack")).unwrap().yiaddr)
        .collect();
    assert_eq!(
        got,
        [ip("192.0.2.100"), ip("192.0.2.101"), ip("198.51.100.100")],
        "{}",
        kea.dump()
    );
    let third = kea.reply("client 3 ack").unwrap();
    assert_eq!(
        third.option(3),
        Some(vec![198, 51, 100, 1]),
        "{}",
        kea.dump()
    );
    assert_eq!(third.option(1), Some(vec![255, 255, 255, 0]));
    assert_eq!(third.option_text(15).as_deref(), Some("office.example.org"));
    assert_eq!(kea.lease(ip("198.51.100.100")).unwrap().subnet_id(), "2");

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}

/// Kea manual "Lease Lifetime" / "T1 and T2 Times": a requested lease time
/// (option 51, RFC 2132 §9.2) is granted when within the bounds, clamped
/// to min- or max-valid-lifetime otherwise, the default when none is
/// asked; a class's bounds apply to its members; T1 and T2 are
/// t1-percent and t2-percent of the lease.
#[tokio::test]
async fn requested_lease_times_are_clamped_and_t1_t2_calculated() {
    let d = Differential::new(
        "lifetimes",
        fixture("lifetimes.json").unwrap(),
        Topology::lan().unwrap(),
    )
    .unwrap();
    let cases: [(&str, Option<u32>, Option<&str>, u32); 6] = [
        ("above", Some(2000), None, 900),
        ("below", Some(100), None, 300),
        ("within", Some(450), None, 450),
        ("default", None, None, 600),
        ("class above", Some(2000), Some("short"), 240),
        ("class default", None, Some("short"), 120),
    ];
    let mut steps = Vec::new();
    for (n, (label, asked, vendor, _)) in cases.iter().enumerate() {
        let n = u8::try_from(n).unwrap();
        let mut discover =
            Request::new(DISCOVER, 0x9000 + u32::from(n), mac(7, n)).prl(&[1, 3, 51, 58, 59]);
        if let Some(asked) = asked {
            discover = discover.option(51, asked.to_be_bytes());
        }
        if let Some(vendor) = vendor {
            discover = discover.option(60, vendor);
        }
        steps.extend(Step::dora(label, discover));
    }

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    for (label, _, _, want) in cases {
        for step in [format!("{label} offer"), format!("{label} ack")] {
            let r = kea.reply(&step).unwrap();
            assert_eq!(r.option_u32(51), Some(want), "{step}: {}", kea.dump());
            let t1 = r.option_u32(58).unwrap_or(0);
            let t2 = r.option_u32(59).unwrap_or(0);
            assert!(
                t1.abs_diff(want / 4) <= 1,
                "{step}: T1 {t1}: {}",
                kea.dump()
            );
            assert!(t2.abs_diff(want * 3 / 4) <= 1, "{step}: T2 {t2}");
        }
        let ack = kea.reply(&format!("{label} ack")).unwrap();
        assert_eq!(ack.kind(), ACK);
        let lease = kea.lease(ack.yiaddr).unwrap();
        assert_eq!(lease.valid_lifetime(), want.to_string(), "{}", kea.dump());
    }

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}

/// Kea manual "Shared Networks in DHCPv4" with relays: a relay address
/// given at the shared-network level selects the whole network for a giaddr
/// outside every subnet; the network's options reach every subnet's
/// clients, and allocation moves to the next subnet when one is full.
#[tokio::test]
async fn a_relayed_shared_network_is_selected_by_its_relay_address() {
    let giaddr = ip("10.20.0.1");
    let topology = Topology::new(ip("192.0.2.1"), ip("192.0.2.254"), &[giaddr]).unwrap();
    let d = Differential::new(
        "shared-relay",
        fixture("shared-relay.json").unwrap(),
        topology,
    )
    .unwrap();
    let mut steps = Vec::new();
    for n in 1..=2u8 {
        steps.extend(Step::dora(
            &format!("client {n}"),
            Request::new(DISCOVER, 0x8100 + u32::from(n), mac(12, n))
                .prl(&[1, 3, 6])
                .relayed(giaddr),
        ));
    }

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let first = kea.reply("client 1 ack").unwrap();
    assert_eq!(first.yiaddr, ip("172.16.0.10"), "{}", kea.dump());
    assert_eq!(first.option(3), Some(vec![172, 16, 0, 1]));
    let second = kea.reply("client 2 ack").unwrap();
    assert_eq!(second.yiaddr, ip("172.16.1.10"), "{}", kea.dump());
    assert_eq!(second.option(3), Some(vec![172, 16, 1, 1]));
    for reply in [&first, &second] {
        assert_eq!(
            reply.option(6),
            Some(vec![172, 16, 0, 53]),
            "{}",
            kea.dump()
        );
        assert_eq!(reply.giaddr, giaddr);
    }
    assert_eq!(kea.lease(ip("172.16.1.10")).unwrap().subnet_id(), "22");

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}
