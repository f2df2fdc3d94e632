//! Kea's own expectations as vectors (each cites its source), parse errors
//! with positions, and the expressions of the stock and example configs.

use super::parse;
use super::tests::{compile, eval, names, value_is, Builder};

fn quote(s: &str) -> String {
    format!("'{s}'")
}

/// `lib/eval/tests/token_unittest.cc`, `substring*` tests: (string, start,
/// length, result).
const SUBSTRING: &[(&str, &str, &str, &str)] = &[
    ("foobar", "0", "6", "foobar"),
    ("foobar", "0", "all", "foobar"),
    ("foobar", "0", "123456", "foobar"),
    ("foobar", "-6", "all", "foobar"),
    ("foobar", "3", "3", "bar"),
    ("foobar", "3", "all", "bar"),
    ("foobar", "-3", "all", "bar"),
    ("foobar", "-3", "123", "bar"),
    ("foobar", "1", "4", "ooba"),
    ("foobar", "-5", "4", "ooba"),
    ("foobar", "-1", "-4", "ooba"),
    ("foobar", "5", "-4", "ooba"),
    ("foobar", "5", "all", "r"),
    ("foobar", "5", "1", "r"),
    ("foobar", "5", "5", "r"),
    ("foobar", "-1", "all", "r"),
    ("foobar", "-1", "1", "r"),
    ("foobar", "-1", "5", "r"),
    ("foobar", "0", "-4", ""),
    ("foobar", "1", "-4", "f"),
    ("foobar", "2", "-4", "fo"),
    ("foobar", "3", "-4", "foo"),
    ("foobar", "3", "4", "bar"),
    ("foobar", "4", "4", "ar"),
    ("foobar", "5", "4", "r"),
    ("foobar", "6", "4", ""),
    ("foobar", "-7", "1", ""),
    ("foobar", "-7", "-11", ""),
    ("foobar", "-7", "all", ""),
    ("foobar", "6", "1", ""),
    ("foobar", "6", "-11", ""),
    ("foobar", "6", "all", ""),
    ("", "0", "all", ""),
    ("foobar", "0", "0", ""),
];

#[test]
fn kea_substring_vectors() {
    let p = Builder::discover().build();
    for (s, start, len, want) in SUBSTRING {
        let text = format!("substring({}, {start}, {len})", quote(s));
        assert!(
            value_is(&text, &p, want.as_bytes()),
            "{text} should be '{want}'"
        );
    }
}

/// `token_unittest.cc`, `split` and `splitMultipleDelims`: (input, delims,
/// field, result).
const SPLIT: &[(&str, &str, &str, &str)] = &[
    ("", ".", "1", ""),
    (".two.three..five.", "", "1", ".two.three..five."),
    (".two.three..five.", ".", "0", ""),
    (".two.three..five.", ".", "1", ""),
    (".two.three..five.", ".", "2", "two"),
    (".two.three..five.", ".", "3", "three"),
    (".two.three..five.", ".", "4", ""),
    (".two.three..five.", ".", "5", "five"),
    (".two.three..five.", ".", "6", ""),
    (".two.three..five.", ".", "7", ""),
    ("just_one", ".", "1", "just_one"),
    (".two:three.:five.", ".:", "2", "two"),
    (".two:three.:five.", ".:", "3", "three"),
    (".two:three.:five.", ".:", "4", ""),
    (".two:three.:five.", ".:", "5", "five"),
    (".two:three.:five.", ".:", "-1", ""),
];

#[test]
fn kea_split_vectors() {
    let p = Builder::discover().build();
    for (s, delims, field, want) in SPLIT {
        let text = format!("split({}, {}, {field})", quote(s), quote(delims));
        assert!(
            value_is(&text, &p, want.as_bytes()),
            "{text} should be '{want}'"
        );
    }
}

/// `token_unittest.cc` `tohexstring`, `integerToText`, `addressToText`,
/// `lcase`/`ucase` and `evaluate_unittest.cc` expectations.
#[test]
fn kea_function_vectors() {
    let p = Builder::discover().build();
    let cases: &[(&str, &[u8])] = &[
        ("hexstring('foo', '-')", b"66-6f-6f"),
        ("hexstring('', '-')", b""),
        ("hexstring(0x01, ':')", b"01"),
        ("int8totext(0xff)", b"-1"),
        ("int16totext(0xffff)", b"-1"),
        ("int32totext(0xffffffff)", b"-1"),
        ("uint8totext(0xff)", b"255"),
        ("uint16totext(0xffff)", b"65535"),
        ("uint32totext(0xffffffff)", b"4294967295"),
        ("addrtotext(10.0.0.1)", b"10.0.0.1"),
        ("addrtotext(2001:db8::1)", b"2001:db8::1"),
        ("lcase('LoWeR')", b"lower"),
        ("ucase('uPpEr')", b"UPPER"),
        ("concat('foo', 'bar')", b"foobar"),
        ("ifelse('a' == 'a', 'foo', 'bar')", b"foo"),
        ("ifelse('a' == 'b', 'foo', 'bar')", b"bar"),
        ("0x1", &[1]),
        ("123", &[0, 0, 0, 123]),
    ];
    for (text, want) in cases {
        assert!(value_is(text, &p, want), "{text}");
    }
    // token_unittest.cc integerToText: a wrong width is an EvalTypeError.
    assert!(!eval("int8totext('0123456789') == ''", &p));
}

/// Parse errors: (expression, 1-based position, part of the message).
const PARSE_ERRORS: &[(&str, usize, &str)] = &[
    ("optin[60].hex == 'a'", 1, "unknown token 'optin'"),
    ("option[60].hex == 'a", 19, "unterminated string"),
    ("(option[60].exists", 19, "expected ')'"),
    ("option[256].exists", 8, "0..255"),
    (
        "option[no-such-option].exists",
        8,
        "option 'no-such-option' is not defined",
    ),
    ("option[60].hex", 15, "must be a boolean"),
    ("'a'", 4, "must be a boolean"),
    ("pkt6.msgtype == 1", 1, "not supported in DHCPv4: pkt6"),
    (
        "relay6[0].peeraddr == ::1",
        1,
        "not supported in DHCPv4: relay6",
    ),
    ("'a' == 'b' == 'c'", 12, "unexpected '=='"),
    ("member('A') == 'b'", 13, "a string is needed here"),
    ("'a' and member('B')", 5, "a boolean is needed here"),
    ("not 'a'", 8, "a boolean is needed here"),
    ("option[60].foo == 'a'", 12, "unknown token 'foo'"),
    (
        "option[60].data == 'a'",
        12,
        "expected 'hex', 'text' or 'exists'",
    ),
    ("pkt4.len == 1", 6, "pkt4 field"),
    ("substring('a', x, 1) == 'a'", 16, "unknown token 'x'"),
    ("substring('a', 0) == 'a'", 17, "expected ','"),
    ("vendor-class[4491].data[256] == 'a'", 25, "0..255"),
    ("vendor[-1].exists", 8, "0..4294967295"),
    ("-1 == 'a'", 1, "0..4294967295"),
    ("member(KNOWN)", 8, "unknown token 'KNOWN'"),
    ("option[60].exists and", 22, "end of expression"),
    ("option[60].exists $", 19, "invalid character '$'"),
    ("1.2.3.999 == 'a'", 1, "IP address"),
    ("", 1, "end of expression"),
    ("member('A')\r", 12, "invalid character"),
];

#[test]
fn parse_errors_name_the_position() {
    for (text, position, message) in PARSE_ERRORS {
        match parse(text, &names) {
            Ok(_) => panic!("{text} parsed"),
            Err(e) => {
                assert_eq!(e.position, *position, "{text}: {e}");
                assert!(e.message.contains(message), "{text}: {e}");
            }
        }
    }
}

/// Expressions Kea's own tests parse (`context_unittest.cc`), all accepted.
#[test]
fn kea_context_expressions_parse() {
    for text in [
        "'foo' + 'bar' == 'foobar'",
        "'a' + 'b' + 'c' == 'abc'",
        "'a' + ('b' + 'c') == 'abc'",
        "option[123].text == 'foo'",
        "option[host-name].text == 'foo'",
        "option[ host-name ].hex == 0x666F6F",
        "relay4[13].exists",
        "pkt4.ciaddr == 192.0.2.1",
        "pkt.len == 0x00000100",
        "vendor[4491].option[1].exists",
        "vendor-class[*].data[3] == 0x1234",
        "member('ALL') and not member('DROP')",
        "split(option[12].text, '.', 2) == 'example'",
        "option[82].option[1].hex == 0x0102",
        "option[\nhost-name\t].exists and\tmember('A')",
    ] {
        assert!(
            parse(text, &names).is_ok(),
            "{text}: {:?}",
            parse(text, &names)
        );
    }
}

/// Debian's stock `/etc/kea/kea-dhcp4.conf` and ISC's `doc/examples/kea4`
/// `classify.json` / `classify2.json`.
#[test]
fn stock_and_example_expressions() {
    let aastra = Builder::discover().option(60, b"Aastra 6757i").build();
    let other = Builder::discover().option(60, b"MSFT 5.0").build();
    assert!(eval("substring(option[60].hex,0,6) == 'Aastra'", &aastra));
    assert!(!eval("substring(option[60].hex,0,6) == 'Aastra'", &other));
    let mac = Builder::discover().header(28, &[1, 2, 3, 4, 5, 6]).build();
    assert!(eval("pkt4.mac == 0x010203040506", &mac));
    assert!(!eval("pkt4.mac == 0x010203040506", &aastra));
    assert!(eval("pkt4.msgtype == 1", &aastra));
    let zero_xid = Builder::discover().header(4, &[0, 0, 0, 0]).build();
    assert!(eval("pkt4.transid == 0", &zero_xid));
    assert!(!eval("pkt4.transid == 0", &aastra));
    assert!(eval("member('ALL') or member('KNOWN')", &aastra));
    let voip = compile("member('VoIP') and member('KNOWN')");
    assert_eq!(voip.members(), vec!["VoIP", "KNOWN"]);
    let packet = super::Packet::new(&aastra, super::tests::meta());
    assert!(voip.matches(&packet, &|n| n == "VoIP" || n == "KNOWN"));
    assert!(!voip.matches(&packet, &|n| n == "KNOWN"));
}

/// Outcomes recorded from Debian's `kea-dhcp4` 2.2.0 `-t` on a config whose
/// class test is the expression: `None` = accepted, `Some(column)` = refused at
/// that 1-based column. Left out on purpose: `lcase`/`ucase` (Kea 2.6; 2.2
/// refuses them), `member` of an undefined class (the loader checks
/// `members()`), `relay6[..]` (refused at its start as not supported in
/// DHCPv4) and a misspelt keyword (named whole, at its start).
const KEA_2_2_PARSE: &[(&str, Option<usize>)] = &[
    ("option[60].hex", Some(15)),
    ("optin[60].hex == 'a'", Some(1)),
    ("option[60].hex == 'a", Some(19)),
    ("(option[60].exists", Some(19)),
    ("option[256].exists", Some(8)),
    ("option[no-such-option].exists", Some(8)),
    ("option[host-name].exists", None),
    ("option[ host-name ].exists", None),
    ("'a'", Some(4)),
    ("pkt6.msgtype == 1", Some(1)),
    ("'a' == 'b' == 'c'", Some(12)),
    ("member('VoIP') == 'b'", Some(16)),
    ("'a' and member('VoIP')", Some(5)),
    ("not 'a'", Some(8)),
    ("option[60].foo == 'a'", Some(12)),
    ("option[60].data == 'a'", Some(12)),
    ("pkt4.len == 1", Some(6)),
    ("substring('a', x, 1) == 'a'", Some(16)),
    ("substring('a', 0) == 'a'", Some(17)),
    ("vendor-class[4491].data[256] == 'a'", Some(25)),
    ("vendor[-1].exists", Some(8)),
    ("-1 == 'a'", Some(1)),
    ("member(KNOWN)", Some(8)),
    ("option[60].exists and", Some(22)),
    ("option[60].exists $", Some(19)),
    ("1.2.3.999 == 'a'", Some(1)),
    ("'a' + 'b' == 'ab'", None),
    ("'a' == 'b' + 'c'", None),
    ("'a' + 'b' + 'c' == 'abc'", None),
    ("not 'a' == 'b'", None),
    ("not not member('VoIP')", None),
    (
        "member('VoIP') and member('VoIP') or not member('VoIP')",
        None,
    ),
    ("(member('VoIP'))", None),
    ("('a') == 'a'", None),
    ("('a' == 'a')", None),
    ("ifelse(member('VoIP'), 'a', 'b') == 'a'", None),
    ("ifelse('a', 'a', 'b') == 'a'", Some(11)),
    ("substring('abc', 0, all) == 'a'", None),
    ("substring('abc', -1, -1) == 'a'", None),
    ("substring('abc', 99999999999, all) == 'a'", None),
    ("substring(option[60].hex, 0, 3) + 'x' == 'a'", None),
    ("split('a.b', '.', 1) == 'a'", None),
    ("split('a.b', '.', all) == 'a'", Some(19)),
    ("hexstring(pkt4.mac, ':') == 'a'", None),
    ("addrtotext(pkt4.giaddr) == '10.0.0.1'", None),
    ("int8totext(0x01) == '1'", None),
    ("uint32totext(pkt4.transid) == '1'", None),
    ("vendor.enterprise == 4491", None),
    ("vendor[*].exists", None),
    ("vendor[4491].option[1].hex == 0x01", None),
    ("vendor[4491].option[1].exists", None),
    ("vendor[4491].option[256].exists", Some(21)),
    ("vendor-class.enterprise == 4491", None),
    ("vendor-class[4491].exists", None),
    ("vendor-class[4491].data == 'a'", None),
    ("vendor-class[4491].data[0] == 'a'", None),
    ("vendor-class[4294967296].exists", Some(14)),
    ("relay4[1].hex == 'a'", None),
    ("relay4[1].text == 'a'", None),
    ("relay4[1].exists", None),
    ("relay4[1].option[2].exists", Some(11)),
    ("option[82].option[1].hex == 'a'", None),
    ("option[82].option[1].exists", None),
    ("pkt.iface == 'eth0'", None),
    ("pkt.src == 10.0.0.1", None),
    ("pkt.len == 100", None),
    ("pkt4.mac == 0x010203040506", None),
    ("pkt4.hlen == 6", None),
    ("pkt4.msgtype == 1", None),
    ("pkt4.transid == 0", None),
    ("member('ALL')", None),
    ("option[60].text == 'a'", None),
    ("option[text].exists", Some(8)),
    ("0x == 'a'", Some(2)),
    ("0xZ == 'a'", Some(2)),
    ("'a' == 0x0", None),
    ("'a' == 4294967296", Some(8)),
    ("'a' == 4294967295", None),
    ("'a' == 007", None),
    ("option[0].exists", None),
    ("option[255].exists", None),
    ("option[-1].exists", Some(8)),
    ("::1 == 'a'", None),
    ("fe80::1 == 'a'", None),
    ("1.2.3.4 == 'a'", None),
    ("true", Some(1)),
    ("option[60].exists == 'true'", Some(19)),
    ("'a'=='a'and'b'=='b'", None),
    ("concat('a','b','c') == 'abc'", Some(15)),
    ("concat('a') == 'a'", Some(11)),
    ("option [60] . hex == 'a'", None),
    ("option[60].hex=='a' or", Some(23)),
    ("pkt4 . mac == 0x01", None),
    ("member('VoIP') or member('VoIP') and 'a'", Some(41)),
];

#[test]
fn parse_outcomes_match_kea_2_2() {
    let names = |n: &str| (n == "host-name").then_some(12);
    for (text, kea) in KEA_2_2_PARSE {
        let ours = parse(text, &names).err().map(|e| e.position);
        assert_eq!(ours, *kea, "{text}: {:?}", parse(text, &names).err());
    }
}
