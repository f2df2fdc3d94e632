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

fn lan() -> Topology {
    Topology::lan().unwrap()
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

/// Vendor classes: VENDOR_CLASS_<option 60> sends option 43 encapsulating
/// the option-def'd sub-options (Kea manual 8.2.17 "Support for
/// Vendor-Specific Options"), and a vivso reservation answers a DOCSIS
/// modem's option 125 request (RFC 3925) with its enterprise's options.
#[tokio::test]
async fn a_vendor_class_gets_option_43_and_a_modem_its_vivso_options() {
    let d = Differential::new("vendor", fixture("vendor.json").unwrap(), lan()).unwrap();
    let mut steps = Vec::new();
    steps.extend(Step::dora(
        "phone",
        Request::new(DISCOVER, 0x3001, mac(2, 1))
            .option(60, "acme-phone")
            .prl(&[1, 3, 6, 43]),
    ));
    // Option 125 from the modem: enterprise 4491, sub-option 1 (ORO)
    // asking for sub-option 2 (TFTP servers).
    steps.extend(Step::dora(
        "modem",
        Request::new(DISCOVER, 0x3002, mac(2, 2))
            .option(61, [1, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67])
            .option(125, [0, 0, 0x11, 0x8b, 3, 1, 1, 2])
            .prl(&[1, 3, 6, 125]),
    ));
    steps.extend(Step::dora(
        "other",
        Request::new(DISCOVER, 0x3003, mac(2, 3))
            .option(60, "other-vendor")
            .prl(&[1, 3, 6, 43]),
    ));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let mut sub_options = Vec::new();
    sub_options.extend_from_slice(&[1, 28]);
    sub_options.extend_from_slice(b"https://acs.example.org/cwmp");
    sub_options.extend_from_slice(&[2, 2, 0, 42, 3, 8, 192, 0, 2, 5, 192, 0, 2, 6]);
    for step in ["phone offer", "phone ack"] {
        let r = kea.reply(step).unwrap();
        assert_eq!(r.option(43), Some(sub_options.clone()), "{}", kea.dump());
    }
    let modem = kea.reply("modem ack").unwrap();
    assert_eq!(modem.yiaddr, ip("192.0.2.204"), "{}", kea.dump());
    let vivso = modem.option(125).unwrap_or_default();
    assert!(
        vivso.starts_with(&[0, 0, 0x11, 0x8b]) && vivso.ends_with(&[10, 1, 1, 202, 10, 1, 1, 203]),
        "{}",
        kea.dump()
    );
    assert!(!kea.reply("other ack").unwrap().has(43), "{}", kea.dump());

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}

/// User classes (option 77, RFC 3004) tested by expressions on its bytes:
/// each class's options override the global ones for its members only.
#[tokio::test]
async fn user_classes_get_their_own_options() {
    let d = Differential::new("userclass", fixture("userclass.json").unwrap(), lan()).unwrap();
    let prl: &[u8] = &[1, 3, 6, 15, 42, 67];
    let mut steps = Vec::new();
    for (n, (label, class)) in [
        ("ipxe", Some("iPXE")),
        ("lab", Some("lab-bench-3")),
        ("none", None),
    ]
    .into_iter()
    .enumerate()
    {
        let n = u8::try_from(n).unwrap();
        let mut discover = Request::new(DISCOVER, 0x4000 + u32::from(n), mac(3, n));
        if let Some(class) = class {
            discover = discover.option(77, class);
        }
        steps.extend(Step::dora(label, discover.prl(prl)));
    }

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let ipxe = kea.reply("ipxe ack").unwrap();
    assert_eq!(
        ipxe.option_text(67).as_deref(),
        Some("http://192.0.2.10/boot.ipxe"),
        "{}",
        kea.dump()
    );
    assert_eq!(ipxe.option_text(15).as_deref(), Some("example.org"));
    let lab = kea.reply("lab ack").unwrap();
    assert_eq!(
        lab.option_text(15).as_deref(),
        Some("lab.example.org"),
        "{}",
        kea.dump()
    );
    assert_eq!(lab.option(42), Some(vec![192, 0, 2, 123]));
    assert!(!lab.has(67));
    let none = kea.reply("none ack").unwrap();
    assert_eq!(none.option_text(15).as_deref(), Some("example.org"));
    assert!(!none.has(42) && !none.has(67), "{}", kea.dump());

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}

/// The DROP class (Kea manual "The DROP Class"): its members get no reply
/// to any message; others are served as usual.
#[tokio::test]
async fn the_drop_class_is_never_answered() {
    let d = Differential::new("drop", fixture("drop.json").unwrap(), lan()).unwrap();
    let mut steps = Vec::new();
    steps.extend(Step::dora(
        "served",
        Request::new(DISCOVER, 0x5001, mac(10, 1)).prl(&[1, 3]),
    ));
    steps.push(Step::send(
        "bad vendor",
        Request::new(DISCOVER, 0x5002, mac(10, 3))
            .option(60, "bad-client")
            .prl(&[1, 3]),
    ));
    steps.push(Step::send(
        "bad mac",
        Request::new(DISCOVER, 0x5003, mac(10, 2)).prl(&[1, 3]),
    ));
    steps.push(Step::send(
        "bad mac request",
        Request::new(e2e::kea::message::REQUEST, 0x5004, mac(10, 2))
            .option(50, [192, 0, 2, 150])
            .prl(&[1, 3]),
    ));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    assert_eq!(
        kea.reply("served ack").unwrap().kind(),
        ACK,
        "{}",
        kea.dump()
    );
    for step in ["bad vendor", "bad mac", "bad mac request"] {
        assert!(kea.silent(step), "{step}: {}", kea.dump());
    }

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    for step in ["bad vendor", "bad mac", "bad mac request"] {
        assert!(ours.silent(step), "ours answered {step}: {}", ours.dump());
    }
    same(&kea, &ours).unwrap();
}
