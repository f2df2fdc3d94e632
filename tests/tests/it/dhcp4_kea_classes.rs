//! Client classification, differentially (issue 16, "Proof"): PXE clients
//! by options 60 and 93, a vendor class with option 43 sub-options from an
//! option-def and a vivso (125) reservation, a user class (option 77), and
//! the DROP class. Each test runs the script against Kea 2.2 first and
//! checks on Kea's replies what the scenario is about, then runs ours and
//! compares every reply byte for byte (Kea manual, "Client
//! Classification").

use std::net::Ipv4Addr;

use e2e::kea::message::{mac, ACK, DISCOVER, OFFER};
use e2e::kea::{fixture, same, Differential, Request, Server, Step, Topology};

/// The LAN every direct-client scenario uses: server 192.0.2.1, the
/// clients' namespace at 192.0.2.254, no relay.
pub fn lan() -> Topology {
    Topology::new(
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 254),
        &[],
    )
    .unwrap()
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// PXE (Kea manual 8.2.19 "Support for PXE" style): the UEFI class gives
/// next-server, server-hostname, boot-file-name and options 66/67; the BIOS
/// class only its boot fields; a plain client none.
#[tokio::test]
async fn pxe_clients_get_the_boot_fields_and_options_of_their_class() {
    let d = Differential::new("pxe", fixture("pxe.json").unwrap(), lan()).unwrap();
    let prl: &[u8] = &[1, 3, 6, 43, 60, 66, 67];
    let pxe = |xid, n, vendor: &str, arch: [u8; 2]| {
        Request::new(DISCOVER, xid, mac(1, n))
            .option(57, 1260u16.to_be_bytes())
            .option(93, arch)
            .option(94, [1, 3, 16])
            .option(60, vendor)
            .prl(prl)
    };
    let mut steps = Vec::new();
    steps.extend(Step::dora(
        "uefi",
        pxe(0x1001, 1, "PXEClient:Arch:00007:UNDI:003016", [0, 7]),
    ));
    steps.extend(Step::dora(
        "bios",
        pxe(0x1002, 2, "PXEClient:Arch:00000:UNDI:002001", [0, 0]),
    ));
    steps.extend(Step::dora(
        "plain",
        Request::new(DISCOVER, 0x1003, mac(1, 3)).prl(prl),
    ));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    for step in ["uefi offer", "uefi ack"] {
        let r = kea.reply(step).unwrap();
        assert!(matches!(r.kind(), OFFER | ACK), "{}", kea.dump());
        assert_eq!(r.siaddr, ip("192.0.2.10"), "{step}: {}", kea.dump());
        assert_eq!(r.sname_text(), "tftp.example.org", "{}", kea.dump());
        assert_eq!(r.file_text(), "ipxe.efi", "{}", kea.dump());
        assert_eq!(r.option_text(66).as_deref(), Some("192.0.2.10"));
        assert_eq!(r.option_text(67).as_deref(), Some("ipxe.efi"));
    }
    let bios = kea.reply("bios ack").unwrap();
    assert_eq!(bios.siaddr, ip("192.0.2.11"), "{}", kea.dump());
    assert_eq!(bios.file_text(), "undionly.kpxe");
    assert!(!bios.has(66) && !bios.has(67), "{}", kea.dump());
    let plain = kea.reply("plain ack").unwrap();
    assert_eq!(plain.siaddr, Ipv4Addr::UNSPECIFIED, "{}", kea.dump());
    assert_eq!(plain.file_text(), "");
    assert!(!plain.has(66) && !plain.has(67));

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}
