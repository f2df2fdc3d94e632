//! Differential vectors recorded from Debian's Kea 2.2.0: each expression
//! was the test of a class whose option Kea put in its OFFER, and each packet
//! a relayed DISCOVER (giaddr 10.9.0.2) sent to Kea on interface `clsA0`
//! (10.9.0.1) in a network namespace; the numbers are the expressions whose
//! class's option came back. `member('UNKNOWN')` and `member('ALL')` held.

use std::net::Ipv4Addr;

use super::{parse, Packet, PacketMeta};

/// The expressions, numbered from 0.
const EXPRESSIONS: &[&str] = &[
    "substring(option[60].hex,0,9) == 'PXEClient'",
    "option[60].hex == 'PXEClient:Arch:00000'",
    "hexstring(option[82].hex, '') == '0203726964010465746831'",
    "hexstring(option[82].hex, '') == '0104657468310203726964'",
    "relay4[1].hex == 'eth1'",
    "relay4[2].text == 'type=002, len=003: 72:69:64'",
    "option[53].text == 'type=053, len=001: 01'",
    "option[53].text == 'type=053, len=001: 1 (uint8)'",
    "pkt4.mac == 0x001122334455",
    "pkt4.hlen == 6 and pkt4.htype == 1",
    "pkt4.giaddr == 10.9.0.2",
    "pkt4.msgtype == 1",
    "pkt4.transid == 0x12345678",
    "pkt.iface == 'clsA0'",
    "pkt.src == 10.9.0.2 and pkt.dst == 10.9.0.1",
    "vendor[9999].exists",
    "vendor.enterprise == 9999",
    "vendor[9999].option[2].hex == 'ab'",
    "hexstring(option[125].hex, '') == '0000270f0701016302026162'",
    "vendor-class[4491].data == 'abc'",
    "vendor-class[4491].data[1] == 'de'",
    "vendor-class.enterprise == 4491",
    "option[77].hex == 'abcd'",
    "option[12].hex == 'host'",
    "addrtotext(pkt4.giaddr) == '10.9.0.2'",
    "not (addrtotext('abc') == '')",
    "member('UNKNOWN') and not member('KNOWN')",
    "option[61].text == 'type=061, len=007: 01:00:11:22:33:44:55'",
    "option[60].text == 'PXEClient:Arch:00000'",
    "option[12].exists and option[60].exists and not option[125].exists",
    "substring(option[60].hex,0,6) == 'Aastra'",
    "uint32totext(pkt.len) == '289'",
    "uint32totext(pkt.len) == '276'",
    "uint32totext(pkt.len) == '253'",
    "option[53].text == 'type=053, len=001: 1 (uint8)'",
    "option[50].text == 'type=050, len=004: 10.9.0.150 (ipv4-address)'",
    "option[51].text == 'type=051, len=004: 3600 (uint32)'",
    "option[55].text == 'type=055, len=003: 1(uint8) 3(uint8) 6(uint8)'",
    "option[57].text == 'type=057, len=002: 1500 (uint16)'",
    "option[93].text == 'type=093, len=004: 0(uint16) 7(uint16)'",
    "option[2].text == 'type=002, len=004: -1 (int32)'",
    "option[19].text == 'type=019, len=001: true (boolean)'",
    "option[3].text == 'type=003, len=008: 1.2.3.4 5.6.7.8'",
    "hexstring(option[125].text, '') == '747970653d3132352c206c656e3d3031323a2039393939202875696e743332292037202875696e7438292c0a6f7074696f6e733a0a2020747970653d3030312c206c656e3d3030313a2036330a2020747970653d3030322c206c656e3d3030323a2036313a3632'",
    "hexstring(option[124].text, '') == '747970653d3132342c206c656e3d31352c2020656e74657270726973652069643d3078313138622c20646174612d6c656e303d332c2076656e646f722d636c6173732d64617461303d27616263272c20656e74657270726973652069643d3078313138622c20646174612d6c656e313d322c2076656e646f722d636c6173732d64617461313d27646527'",
    "hexstring(option[82].text, '') == '747970653d3038322c206c656e3d3031313a2c0a6f7074696f6e733a0a2020747970653d3030312c206c656e3d3030343a2036353a37343a36383a33310a2020747970653d3030322c206c656e3d3030333a2037323a36393a3634'",
    "option[77].text == 'type=077, len=004: 61:62:63:64'",
    "substring(option[125].text, 0, 18) == 'type=125, len=012:'",
    "substring(option[124].text, 0, 16) == 'type=124, len=15'",
    "substring(option[82].text, 0, 18) == 'type=082, len=011:'",
    "hexstring(option[125].text, '') == ''",
    "vendor[*].option[1].text == 'type=001, len=001: 63'",
    "pkt4.msgtype == 0x00000001",
    "pkt4.htype == 0x01",
    "substring(pkt4.transid, -1, all) == 0x78",
];

/// (packet as hex, the expressions Kea matched).
const PACKETS: &[(&str, &[usize])] = &[
    // p1
    ("0101060112345678000000000000000000000000000000000a09000200112233445500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253633501013d07010011223344553c16505845436c69656e743a417263683a303030303000000c05686f737400520b0203726964010465746831ff", &[0, 1, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 23, 24, 26, 27, 28, 29, 31, 34, 45, 49, 50, 52, 54]),
    // p2
    ("0101060112345678000000000000000000000000000000000a09000200112233445500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253633501017d0c0000270f07020261620101637c0f0000118b03616263000000090264654d0261624d026364ff", &[7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 24, 26, 32, 34, 43, 44, 46, 47, 48, 51, 52, 54]),
    // p3
    ("0101060100000000000000000000000000000000000000000a09000200112233445500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253633501013c0c4161737472612036373537697d030000010c046c617465ff", &[7, 8, 9, 10, 11, 13, 14, 24, 26, 30, 33, 34, 50, 52]),
];

/// p4 was sent with the second batch only (expressions from `BATCH_2`).
const BATCH_2: usize = 31;
const P4: (&str, &[usize]) = ("0101060112345678000000000000000000000000000000000a090002001122334455000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382536335010132040a090096330400000e103703010306390205dc5d04000000070204ffffffff13010103080102030405060708ff", &[3, 4, 5, 6, 7, 8, 9, 10, 11, 19, 21, 23]);

fn decode(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| hex.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

fn check(hex: &str, matched: &[usize], first: usize) {
    let meta = PacketMeta {
        iface: "clsA0",
        src: Ipv4Addr::new(10, 9, 0, 2),
        dst: Ipv4Addr::new(10, 9, 0, 1),
    };
    let bytes = decode(hex);
    let packet = Packet::new(&bytes, meta);
    let names = |n: &str| (n == "host-name").then_some(12);
    for (i, text) in EXPRESSIONS.iter().enumerate().skip(first) {
        let expression = match parse(text, &names) {
            Ok(e) => e,
            Err(e) => panic!("{text}: {e}"),
        };
        let ours = expression.matches(&packet, &|c| c == "UNKNOWN" || c == "ALL");
        let index = i - first;
        assert_eq!(
            ours,
            matched.contains(&index),
            "expression {i} `{text}` on {}",
            hex.get(480..).unwrap_or(hex)
        );
    }
}

#[test]
fn evaluation_matches_kea_2_2() {
    for (hex, matched) in PACKETS {
        check(hex, matched, 0);
    }
    check(P4.0, P4.1, BATCH_2);
}
