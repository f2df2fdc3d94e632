//! Each token on hand-built packets.

use std::net::Ipv4Addr;

use super::{parse, Expression, Packet, PacketMeta};

/// Builds a BOOTREQUEST: fixed header, magic cookie, options, END.
pub(super) struct Builder {
    header: [u8; 236],
    options: Vec<u8>,
}

impl Builder {
    /// A DISCOVER from 00:11:22:33:44:55, xid 0x12345678.
    pub(super) fn discover() -> Builder {
        let mut header = [0u8; 236];
        header[0] = 1;
        header[1] = 1;
        header[2] = 6;
        header[4..8].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        header[28..34].copy_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        Builder {
            header,
            options: Vec::new(),
        }
        .option(53, &[1])
    }

    /// Appends option `code` with `data`.
    pub(super) fn option(mut self, code: u8, data: &[u8]) -> Builder {
        self.options.push(code);
        self.options.push(u8::try_from(data.len()).unwrap_or(255));
        self.options.extend_from_slice(data);
        self
    }

    /// Appends raw option bytes (for truncation tests).
    pub(super) fn raw(mut self, bytes: &[u8]) -> Builder {
        self.options.extend_from_slice(bytes);
        self
    }

    /// Sets header byte(s) at `offset`.
    pub(super) fn header(mut self, offset: usize, bytes: &[u8]) -> Builder {
        self.header[offset..offset + bytes.len()].copy_from_slice(bytes);
        self
    }

    /// The datagram.
    pub(super) fn build(&self) -> Vec<u8> {
        let mut out = self.header.to_vec();
        out.extend_from_slice(&[99, 130, 83, 99]);
        out.extend_from_slice(&self.options);
        out.push(255);
        out
    }
}

pub(super) fn meta() -> PacketMeta<'static> {
    PacketMeta {
        iface: "eth0",
        src: Ipv4Addr::new(192, 0, 2, 1),
        dst: Ipv4Addr::new(192, 0, 2, 254),
    }
}

/// Option names for the tests: the few standard ones used.
pub(super) fn names(name: &str) -> Option<u8> {
    match name {
        "host-name" => Some(12),
        "vendor-class-identifier" => Some(60),
        "dhcp-agent-options" => Some(82),
        _ => None,
    }
}

pub(super) fn compile(text: &str) -> Expression {
    match parse(text, &names) {
        Ok(e) => e,
        Err(e) => panic!("{text}: {e}"),
    }
}

/// Evaluates boolean `text` on `packet` with member('KNOWN') true.
pub(super) fn eval(text: &str, packet: &[u8]) -> bool {
    let packet = Packet::new(packet, meta());
    compile(text).matches(&packet, &|name| name == "KNOWN")
}

/// Whether string expression `text` evaluates to `expected` on `packet`.
pub(super) fn value_is(text: &str, packet: &[u8], expected: &[u8]) -> bool {
    let literal = if expected.is_empty() {
        "''".to_string()
    } else {
        let hex: String = expected.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{hex}")
    };
    eval(&format!("({text}) == {literal}"), packet)
}

fn relayed() -> Vec<u8> {
    Builder::discover()
        .header(24, &[10, 0, 0, 1])
        .option(60, b"PXEClient:Arch:00000\0\0")
        .option(82, &[2, 3, b'r', b'i', b'd', 1, 4, b'e', b't', b'h', b'1'])
        .build()
}

#[test]
fn option_hex_text_exists() {
    let p = relayed();
    assert!(
        value_is("option[60].hex", &p, b"PXEClient:Arch:00000"),
        "trailing NULs trimmed"
    );
    assert!(value_is(
        "option[vendor-class-identifier].text",
        &p,
        b"PXEClient:Arch:00000"
    ));
    assert!(eval("option[60].exists", &p));
    assert!(!eval("option[61].exists", &p));
    assert!(value_is("option[61].hex", &p, b""));
    assert!(value_is("option[61].text", &p, b""));
    assert!(value_is(
        "option[53].text",
        &p,
        b"type=053, len=001: 1 (uint8)"
    ));
    assert!(value_is(
        "option[61].text",
        &Builder::discover().option(61, &[1, 2]).build(),
        b"type=061, len=002: 01:02"
    ));
}

#[test]
fn option_82_is_repacked_in_code_order() {
    let p = relayed();
    assert!(value_is(
        "option[82].hex",
        &p,
        &[1, 4, b'e', b't', b'h', b'1', 2, 3, b'r', b'i', b'd']
    ));
    assert!(value_is("relay4[1].hex", &p, b"eth1"));
    assert!(value_is(
        "relay4[2].text",
        &p,
        b"type=002, len=003: 72:69:64"
    ));
    assert!(eval("relay4[2].exists and not relay4[5].exists", &p));
    assert!(value_is("option[82].option[1].hex", &p, b"eth1"));
    assert!(eval("option[82].option[2].exists", &p));
    assert!(!eval("option[60].option[1].exists", &p));
    let no_rai = Builder::discover().build();
    assert!(!eval("relay4[1].exists", &no_rai));
    assert!(value_is("relay4[1].hex", &no_rai, b""));
}

#[test]
fn repeated_options_are_fused() {
    let p = Builder::discover()
        .option(77, b"ab")
        .option(12, b"host")
        .option(77, b"cd")
        .build();
    assert!(value_is("option[77].hex", &p, b"abcd"));
    assert!(value_is("option[12].hex", &p, b"host"));
}

#[test]
fn repeated_typed_options_lose_their_data_as_in_kea() {
    // Kea fuses the instances into a generic option with the data of each
    // OptionInt (none): the hex is empty and pkt4.msgtype cannot be read
    // (checked against Kea 2.2: "Attempt to read uint8 from option 53 that
    // has size 0").
    let p = Builder::discover()
        .option(51, &[0, 0, 0, 1])
        .option(51, &[0, 0, 0, 2])
        .option(53, &[3])
        .build();
    assert!(eval("option[51].exists and option[51].hex == ''", &p));
    assert!(!eval(
        "pkt4.msgtype == 1 or pkt4.msgtype == 3 or pkt4.msgtype == 0",
        &p
    ));
    assert!(!eval("not (pkt4.msgtype == 1)", &p));
}

#[test]
fn all_nul_string_option_is_absent() {
    let p = Builder::discover()
        .option(12, &[0, 0])
        .option(60, &[])
        .build();
    assert!(!eval("option[12].exists", &p));
    assert!(!eval("option[60].exists", &p));
}

#[test]
fn truncated_option_ends_the_list() {
    let p = Builder::discover()
        .option(60, b"x")
        .raw(&[61, 9, 1])
        .build();
    assert!(eval("option[60].exists", &p));
    assert!(!eval("option[61].exists", &p));
    assert!(Packet::new(&p, meta()).is_valid());
}

#[test]
fn malformed_packets_do_not_panic() {
    for len in [0, 10, 236, 239, 240, 241, 243, 266, 267] {
        let full = relayed();
        let cut = &full[..len.min(full.len())];
        let packet = Packet::new(cut, meta());
        assert_eq!(packet.is_valid(), len >= 240, "length {len}");
        let seen = compile("option[60].exists").matches(&packet, &|_| false);
        assert_eq!(seen, len >= 267, "length {len}");
    }
    let bad_cookie = Builder::discover().header(0, &[1]).build();
    let mut broken = bad_cookie.clone();
    broken[236] = 0;
    assert!(!Packet::new(&broken, meta()).is_valid());
}

/// Checked against Kea 2.2 in a network namespace: it dropped each of the
/// first packets while parsing ("OptionInt 51 truncated", "Option4AddrLst 6
/// has invalid length=5", "option 55 empty", "OptionIntArray 93 truncated",
/// "option buffer truncated") and parsed the others (it then refuses an
/// empty client-id, but in the server, not in `Pkt4::unpack`).
#[test]
fn typed_options_of_impossible_length_make_the_packet_invalid() {
    for (code, data) in [
        (51, &[0, 1, 2][..]),
        (6, &[1, 2, 3, 4, 5]),
        (55, &[]),
        (93, &[0]),
        (50, &[10, 0, 0]),
    ] {
        let p = Builder::discover().option(code, data).build();
        assert!(
            !Packet::new(&p, meta()).is_valid(),
            "option {code} {data:?}"
        );
    }
    for (code, data) in [(51, &[0, 0, 1, 0, 9][..]), (6, &[]), (55, &[1]), (61, &[])] {
        let p = Builder::discover().option(code, data).build();
        assert!(Packet::new(&p, meta()).is_valid(), "option {code} {data:?}");
    }
}

#[test]
fn pkt4_fields() {
    let p = relayed();
    assert!(eval("pkt4.mac == 0x001122334455", &p));
    assert!(eval("pkt4.hlen == 6 and pkt4.htype == 1", &p));
    assert!(value_is("pkt4.hlen", &p, &[0, 0, 0, 6]));
    assert!(eval("pkt4.giaddr == 10.0.0.1", &p));
    assert!(eval(
        "pkt4.ciaddr == 0.0.0.0 and pkt4.yiaddr == 0.0.0.0 and pkt4.siaddr == 0.0.0.0",
        &p
    ));
    assert!(eval("pkt4.msgtype == 1", &p));
    assert!(eval("pkt4.transid == 0x12345678", &p));
    assert!(eval("pkt4.transid == 305419896", &p));
    let long_mac = Builder::discover().header(2, &[18]).build();
    assert!(value_is(
        "pkt4.mac",
        &long_mac,
        &[0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    ));
    let no_type = Builder {
        header: [0; 236],
        options: Vec::new(),
    }
    .build();
    assert!(eval("pkt4.msgtype == 0", &no_type));
}

#[test]
fn pkt_metadata() {
    let p = relayed();
    assert!(eval("pkt.iface == 'eth0'", &p));
    assert!(eval("pkt.src == 192.0.2.1 and pkt.dst == 192.0.2.254", &p));
    // Kea's Pkt4::len(): 236 + (2+1) option 53 + (2+20) option 60 (NULs
    // trimmed) + (2+11) option 82; the cookie and END are not counted.
    assert!(value_is(
        "pkt.len",
        &p,
        &(236u32 + 3 + 22 + 13).to_be_bytes()
    ));
}

#[test]
fn vendor_option_125() {
    // enterprise 4491, data-len 6, sub-options 2 ("ab") and 1 ("c").
    let p = Builder::discover()
        .option(125, &[0, 0, 0x11, 0x8b, 7, 2, 2, b'a', b'b', 1, 1, b'c'])
        .build();
    assert!(eval("vendor[4491].exists and vendor[*].exists", &p));
    assert!(!eval("vendor[4490].exists", &p));
    assert!(value_is("vendor.enterprise", &p, &4491u32.to_be_bytes()));
    assert!(eval("vendor.enterprise == 4491", &p));
    assert!(value_is("vendor[4491].option[2].hex", &p, b"ab"));
    assert!(eval("vendor[0].option[1].exists", &p));
    assert!(!eval("vendor[4491].option[3].exists", &p));
    assert!(value_is("vendor[4490].option[2].hex", &p, b""));
    assert!(value_is(
        "option[125].hex",
        &p,
        &[0, 0, 0x11, 0x8b, 7, 1, 1, b'c', 2, 2, b'a', b'b']
    ));
    let absent = Builder::discover().build();
    assert!(!eval("vendor[*].exists", &absent));
    assert!(value_is("vendor.enterprise", &absent, b""));
}

#[test]
fn malformed_125_stops_option_parsing() {
    let p = Builder::discover()
        .option(60, b"a")
        .option(125, &[0, 0, 1])
        .option(61, b"x")
        .build();
    assert!(eval("option[60].exists", &p));
    assert!(!eval("option[125].exists or option[61].exists", &p));
}

#[test]
fn vendor_class_124() {
    // enterprise 4491 with tuples "abc" and (after a second enterprise id) "de".
    let data = [
        0, 0, 0x11, 0x8b, 3, b'a', b'b', b'c', 0, 0, 0, 9, 2, b'd', b'e',
    ];
    let p = Builder::discover().option(124, &data).build();
    assert!(eval(
        "vendor-class[4491].exists and vendor-class[*].exists",
        &p
    ));
    assert!(!eval("vendor-class[1].exists", &p));
    assert!(value_is("vendor-class[4491].data", &p, b"abc"));
    assert!(value_is("vendor-class[4491].data[1]", &p, b"de"));
    assert!(value_is("vendor-class[4491].data[2]", &p, b""));
    assert!(value_is("vendor-class[1].data", &p, b""));
    assert!(value_is(
        "vendor-class.enterprise",
        &p,
        &4491u32.to_be_bytes()
    ));
    let truncated = Builder::discover()
        .option(124, &[0, 0, 0x11, 0x8b, 5, b'a'])
        .build();
    assert!(!Packet::new(&truncated, meta()).is_valid());
    assert!(!eval("vendor-class[*].exists", &truncated));
}

#[test]
fn string_functions() {
    let p = relayed();
    assert!(eval("substring(option[60].hex,0,9) == 'PXEClient'", &p));
    assert!(eval("substring(option[60].hex,-5,all) == '00000'", &p));
    assert!(eval(
        "concat('a', 'b') == 'ab' and 'a' + 'b' + 'c' == 'abc'",
        &p
    ));
    assert!(eval("ifelse(option[60].exists, 'yes', 'no') == 'yes'", &p));
    assert!(eval("hexstring(pkt4.mac, ':') == '00:11:22:33:44:55'", &p));
    assert!(eval("split(option[60].text, ':', 2) == 'Arch'", &p));
    assert!(eval("addrtotext(pkt4.giaddr) == '10.0.0.1'", &p));
    assert!(eval(
        "addrtotext(0x20010db8000000000000000000000001) == '2001:db8::1'",
        &p
    ));
    assert!(eval(
        "uint8totext(0xff) == '255' and int8totext(0xff) == '-1'",
        &p
    ));
    assert!(eval(
        "uint16totext(0x0102) == '258' and int16totext(0xfffe) == '-2'",
        &p
    ));
    assert!(eval(
        "uint32totext(pkt4.transid) == '305419896' and int32totext(0xffffffff) == '-1'",
        &p
    ));
    assert!(eval("lcase('AbC') == 'abc' and ucase('AbC') == 'ABC'", &p));
    assert!(eval("int8totext('') == ''", &p));
}

#[test]
fn evaluation_errors_do_not_match() {
    let p = relayed();
    assert!(!eval("addrtotext('abc') == ''", &p));
    assert!(!eval("not (addrtotext('abc') == '')", &p));
    assert!(!eval("uint16totext(0x01) == '1'", &p));
    assert!(!eval("member('KNOWN') or addrtotext('abc') == ''", &p));
    // Kea's lexical_cast<int> fails past i32: an error, unless the string is empty.
    assert!(!eval("substring('abc', 3000000000, all) == ''", &p));
    assert!(eval("substring('', 3000000000, all) == ''", &p));
}

#[test]
fn booleans_and_members() {
    let p = relayed();
    assert!(eval("member('KNOWN')", &p));
    assert!(!eval("member('UNKNOWN')", &p));
    assert!(eval(
        "not member('UNKNOWN') and (member('KNOWN') or 'a' == 'b')",
        &p
    ));
    assert!(eval("'a' == 'b' or 'c' == 'c' and not 'd' == 'e'", &p));
    assert!(!eval("not 'a' == 'a'", &p));
    let e = compile("member('A') and member('B') or member('A')");
    assert_eq!(e.members(), vec!["A", "B"]);
}

#[test]
fn integers_and_literals() {
    let p = relayed();
    assert!(value_is("1", &p, &[0, 0, 0, 1]));
    assert!(value_is("0xabc", &p, &[0x0a, 0xbc]));
    assert!(value_is("192.0.2.1", &p, &[192, 0, 2, 1]));
    assert!(value_is(
        "::1",
        &p,
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    ));
}

/// A small deterministic generator for the robustness tests.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

#[test]
fn random_packets_never_panic() {
    let expressions: Vec<Expression> = [
        "option[82].hex == '' or relay4[1].text == '' or option[82].text == ''",
        "vendor[*].option[1].text == '' or vendor.enterprise == 0 or option[125].text == ''",
        "vendor-class[*].data[3] == '' or vendor-class.enterprise == 0 or option[124].text == ''",
        "option[3].text == '' or option[55].text == '' or option[51].text == '' or option[50].text == ''",
        "pkt4.mac == pkt4.giaddr or pkt.len == 0 or pkt4.msgtype == 1 or pkt4.hlen == 0",
        "substring(option[60].hex, -3, -10) == split(option[12].hex, 'a', 2)",
    ]
    .iter()
    .map(|e| compile(e))
    .collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let mut bytes = Builder::discover().header(2, &[rng.byte() % 24]).build();
        bytes.truncate(240);
        let codes = [82, 125, 124, 3, 55, 51, 50, 53, 60, 12, 0, 255];
        for _ in 0..rng.byte() % 12 {
            let code = codes[usize::from(rng.byte()) % codes.len()];
            let len = rng.byte() % 24;
            bytes.push(code);
            bytes.push(len);
            (0..len).for_each(|_| bytes.push(rng.byte() % 8));
        }
        let cut = bytes.len() - usize::from(rng.byte() % 4) * (round % 2);
        let packet = Packet::new(&bytes[..cut], meta());
        for e in &expressions {
            e.matches(&packet, &|_| false);
        }
    }
}

#[test]
fn random_text_never_panics() {
    let alphabet: Vec<char> =
        "option[]().,'0x1-2 9:a==andornotrelay4pkt4vendor-class*+substringall\n\té"
            .chars()
            .collect();
    let mut rng = XorShift(42);
    for _ in 0..5000 {
        let len = usize::from(rng.byte() % 40);
        let text: String = (0..len)
            .map(|_| alphabet[usize::from(rng.byte()) % alphabet.len()])
            .collect();
        if let Err(e) = parse(&text, &names) {
            assert!(
                e.position >= 1 && e.position <= text.chars().count() + 1,
                "{text:?}: {e}"
            );
        }
    }
}

#[test]
fn nesting_is_bounded_so_a_hostile_test_cannot_overflow_the_stack() {
    let no_options = |_: &str| None;
    let shallow = format!("{}'a' == 'a'{}", "(".repeat(20), ")".repeat(20));
    assert!(parse(&shallow, &no_options).is_ok());
    let nots = format!("{}'a' == 'a'", "not ".repeat(20));
    assert!(parse(&nots, &no_options).is_ok());
    for deep in [
        format!("{}'a' == 'a'{}", "(".repeat(5000), ")".repeat(5000)),
        format!("{}'a' == 'a'", "not ".repeat(5000)),
        format!("{}'a'{} == 'a'", "lcase(".repeat(5000), ")".repeat(5000)),
    ] {
        let error = parse(&deep, &no_options).unwrap_err();
        assert!(error.message.contains("nested more than 64"), "{error}");
    }
}
