//! Option encoding and selection, differentially (issue 16, "Options"):
//! the standard option table written byte for byte as Kea writes each
//! type, and always-send across scopes. Kea 2.2 first, its replies checked
//! for the scenario's facts, then ours compared byte for byte.

use e2e::kea::message::{mac, DISCOVER};
use e2e::kea::{fixture, same, Differential, Request, Server, Step, Topology};

/// Every code a client can ask for: 1 to 254.
fn every_code() -> Vec<u8> {
    (1..=254).collect()
}

/// RFC 2132 and the later option RFCs through Kea's standard definitions:
/// a client asking for every code (option 55 with 1..254) gets every
/// configured option, each encoded as its type says (int32 two's
/// complement, booleans as one byte, arrays, records, FQDNs in wire form,
/// binary as given).
#[tokio::test]
async fn every_standard_option_is_encoded_as_kea_encodes_it() {
    let d = Differential::new(
        "alloptions",
        fixture("alloptions.json").unwrap(),
        Topology::lan().unwrap(),
    )
    .unwrap();
    let steps = Step::dora(
        "all",
        Request::new(DISCOVER, 0xa001, mac(8, 1)).prl(&every_code()),
    );

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let ack = kea.reply("all ack").unwrap();
    // Spot checks of each kind of data, from the RFCs' formats.
    let cases: [(u8, &[u8]); 12] = [
        (2, &(-18000i32).to_be_bytes()),
        (3, &[192, 0, 2, 1, 192, 0, 2, 3]),
        (19, &[0]),
        (20, &[1]),
        (23, &[0xf0]),
        (25, &[0, 68, 1, 40, 2, 64, 3, 238, 5, 212]),
        (
            119,
            b"\x07example\x03org\x00\x07example\x03com\x00".as_slice(),
        ),
        (121, &[0x18, 0x0a, 0x63, 0x00, 0xc0, 0x00, 0x02, 0xfe]),
        (159, &[2, 8, 0x12, 0x00]),
        (224, &[0xff, 0xff, 0, 2, 0xfe, 0xd4]),
        (227, &[0xde, 0xad, 0xbe, 0xef]),
        (228, &i32::MIN.to_be_bytes()),
    ];
    for (code, want) in cases {
        assert_eq!(
            ack.option(code).as_deref(),
            Some(want),
            "option {code}: {}",
            kea.dump()
        );
    }
    assert!(ack.options.len() > 90, "{}", kea.dump());

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}

/// Kea manual "Standard DHCPv4 Options" (always-send): a flagged option
/// goes to clients that did not request it, from any scope (global, class,
/// pool, reservation), with the value of the most specific scope defining
/// it; unflagged options only when requested.
#[tokio::test]
async fn always_send_options_from_every_scope() {
    let d = Differential::new(
        "alwayssend",
        fixture("alwayssend.json").unwrap(),
        Topology::lan().unwrap(),
    )
    .unwrap();
    let mut steps = Vec::new();
    steps.extend(Step::dora(
        "plain",
        Request::new(DISCOVER, 0xb001, mac(9, 1)).prl(&[1, 3]),
    ));
    steps.extend(Step::dora(
        "classy",
        Request::new(DISCOVER, 0xb002, mac(9, 2))
            .option(60, "classy")
            .prl(&[1, 3]),
    ));
    steps.extend(Step::dora(
        "reserved",
        Request::new(DISCOVER, 0xb003, mac(9, 3)).prl(&[1, 3]),
    ));
    steps.extend(Step::dora(
        "asks ntp",
        Request::new(DISCOVER, 0xb004, mac(9, 4)).prl(&[1, 3, 42]),
    ));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let plain = kea.reply("plain ack").unwrap();
    assert_eq!(
        plain.option(2),
        Some(3600i32.to_be_bytes().to_vec()),
        "{}",
        kea.dump()
    );
    assert_eq!(plain.option_text(15).as_deref(), Some("subnet.example.org"));
    assert_eq!(
        plain.option(7),
        Some(vec![192, 0, 2, 7]),
        "pool's always-send"
    );
    assert!(!plain.has(42) && !plain.has(8) && !plain.has(9));
    assert_eq!(
        kea.reply("classy ack").unwrap().option(8),
        Some(vec![192, 0, 2, 8])
    );
    let reserved = kea.reply("reserved ack").unwrap();
    assert_eq!(
        reserved.option(9),
        Some(vec![192, 0, 2, 9]),
        "{}",
        kea.dump()
    );
    assert!(!reserved.has(42));
    assert_eq!(
        kea.reply("asks ntp ack").unwrap().option(42),
        Some(vec![192, 0, 2, 42])
    );

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}
