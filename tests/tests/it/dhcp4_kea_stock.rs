//! Debian's stock `/etc/kea/kea-dhcp4.conf` (issue 16, "Proof": it loads
//! unchanged but for its interface list and lease file, and serves a
//! client as Kea does), and the differential fixtures' own validity: each
//! is a config Kea 2.2 accepts.

use std::net::Ipv4Addr;

use e2e::kea::config::adapt;
use e2e::kea::message::{mac, DISCOVER};
use e2e::kea::server::KEA_BIN;
use e2e::kea::{fixture_path, same, Differential, Request, Server, Step, Topology};
use e2e::netns::Netns;

const STOCK: &str = "/etc/kea/kea-dhcp4.conf";

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// Every file under `tests/fixtures/dhcp4` passes `kea-dhcp4 -t` as it is
/// (so a differential failure is never a config Kea would refuse). Kea
/// checks that the interfaces named exist: it runs in a namespace with an
/// `eth0`, the name the fixtures use.
#[test]
fn every_differential_fixture_is_a_config_kea_accepts() {
    let ns = Netns::create("kdchk").unwrap();
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
    ])
    .unwrap();
    let dir = fixture_path("");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let out = ns.command(KEA_BIN).arg("-t").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{} rejected by Kea:\n{}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} fixtures in {}",
        dir.display()
    );
}

/// The test's adaptation of the stock file changes exactly two things: the
/// interface list and the lease file name (added to `lease-database`).
#[test]
fn adapting_the_stock_file_changes_only_its_interfaces_and_lease_file() {
    let stock = std::fs::read_to_string(STOCK).unwrap();
    let adapted = adapt(&stock, "srv0", "/tmp/leases.csv").unwrap();
    let interfaces = adapted.find(r#"[ "srv0" ]"#).expect("interface list set");
    let name = r#" "name": "/tmp/leases.csv","#;
    let at = adapted.find(name).expect("lease file named");
    let mut restored = adapted.clone();
    restored.replace_range(at..at + name.len(), "");
    restored.replace_range(interfaces..interfaces + r#"[ "srv0" ]"#.len(), "[ ]");
    assert_eq!(restored, stock);
}

/// The stock file against both servers: a plain client, the "voip" class
/// (option 60 "Aastra...": next-server, server-hostname, boot-file-name),
/// and the reservations by client id (hostname; boot fields; vivso).
#[tokio::test]
async fn debians_stock_config_serves_clients_as_kea_does() {
    let stock = std::fs::read_to_string(STOCK).unwrap();
    // The file's control socket lives in /run/kea, which the Debian
    // service's RuntimeDirectory creates at boot; outside systemd, make it.
    std::fs::create_dir_all("/run/kea").unwrap();
    // The pool is 192.0.2.1-200 and reservations .201-.206: the server
    // and the clients' namespace sit above them.
    let topology = Topology::new(ip("192.0.2.250"), ip("192.0.2.251"), &[]).unwrap();
    let d = Differential::new("stock", stock, topology).unwrap();
    let prl: &[u8] = &[1, 3, 6, 15, 23, 67, 119];
    let mut steps = Vec::new();
    steps.extend(Step::dora(
        "plain",
        Request::new(DISCOVER, 0xc001, mac(11, 1)).prl(prl),
    ));
    steps.extend(Step::dora(
        "voip",
        Request::new(DISCOVER, 0xc002, mac(11, 2))
            .option(60, "Aastra6731i")
            .prl(prl),
    ));
    steps.extend(Step::dora(
        "snowflake",
        Request::new(DISCOVER, 0xc003, mac(11, 3))
            .option(61, [1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66])
            .option(12, "snow")
            .prl(&[1, 3, 6, 12]),
    ));
    steps.extend(Step::dora(
        "boot fields",
        Request::new(DISCOVER, 0xc004, mac(11, 4))
            .option(61, [1, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f])
            .prl(prl),
    ));
    steps.extend(Step::dora(
        "modem",
        Request::new(DISCOVER, 0xc005, mac(11, 5))
            .option(61, [1, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67])
            .option(125, [0, 0, 0x11, 0x8b, 3, 1, 1, 2])
            .prl(&[1, 3, 125]),
    ));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let plain = kea.reply("plain ack").unwrap();
    let o = plain.yiaddr.octets();
    assert!(
        o[..3] == [192, 0, 2] && (1..=200).contains(&o[3]),
        "{}",
        kea.dump()
    );
    assert_eq!(plain.option(6), Some(vec![192, 0, 2, 1, 192, 0, 2, 2]));
    assert_eq!(plain.option_text(15).as_deref(), Some("example.org"));
    assert_eq!(plain.option(23), Some(vec![0xf0]), "default-ip-ttl");
    assert_eq!(plain.option_u32(51), Some(3600));
    let voip = kea.reply("voip ack").unwrap();
    assert_eq!(voip.siaddr, ip("192.0.2.254"), "{}", kea.dump());
    assert_eq!(voip.sname_text(), "hal9000");
    assert_eq!(voip.file_text(), "/dev/null");
    let snowflake = kea.reply("snowflake ack").unwrap();
    assert_eq!(snowflake.yiaddr, ip("192.0.2.202"), "{}", kea.dump());
    assert_eq!(
        snowflake.option_text(12).as_deref(),
        Some("special-snowflake")
    );
    let boot = kea.reply("boot fields ack").unwrap();
    assert_eq!(boot.yiaddr, ip("192.0.2.205"));
    assert_eq!(
        (boot.siaddr, boot.file_text()),
        (ip("192.0.2.1"), "/dev/null".into())
    );
    let modem = kea.reply("modem ack").unwrap();
    assert_eq!(modem.yiaddr, ip("192.0.2.204"));
    assert!(modem.has(125), "{}", kea.dump());

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}
