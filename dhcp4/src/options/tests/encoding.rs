//! Text and hex to bytes per type (`writeToBuffer`, the option classes).

use super::*;

/// Signed integers (`time-offset` is int32) and Kea's integer forms: decimal,
/// `0x` hex, hex a C++ `std::hex` stream reads, range checks.
#[test]
fn integers_signed_hex_and_ranges() {
    assert_eq!(std_encode("time-offset", "-1"), vec![0xff; 4]);
    assert_eq!(std_encode("time-offset", "0x10"), vec![0, 0, 0, 16]);
    assert_eq!(std_encode("default-ip-ttl", "ff"), vec![255]);
    assert_eq!(std_encode("interface-mtu", " 1500 "), vec![5, 220]);
    let defs = OptionDefs::standard();
    let err = encode(&defs, "default-ip-ttl", "256").unwrap_err();
    assert_eq!(err.field, "data");
    assert!(
        err.message.contains("'256'") && err.message.contains("0..255"),
        "{}",
        err.message
    );
    assert!(encode(&defs, "interface-mtu", "-1").is_err());
    assert!(encode(&defs, "time-offset", "2147483648").is_err());
    assert!(encode(&defs, "dhcp-lease-time", "ten").is_err());
}

#[test]
fn booleans_as_kea_reads_them() {
    assert_eq!(std_encode("ip-forwarding", "TRUE"), vec![1]);
    assert_eq!(std_encode("ip-forwarding", "0"), vec![0]);
    assert_eq!(std_encode("ip-forwarding", "1"), vec![1]);
    assert!(encode(&OptionDefs::standard(), "ip-forwarding", "2").is_err());
}

/// Arrays: each comma-separated value written in turn; runs of commas are one
/// (Kea's `str::tokens` drops empty tokens).
#[test]
fn address_and_integer_arrays() {
    assert_eq!(
        std_encode("domain-name-servers", "192.0.2.1, 192.0.2.2,,"),
        vec![192, 0, 2, 1, 192, 0, 2, 2]
    );
    assert_eq!(
        std_encode("path-mtu-plateau-table", "68, 296"),
        vec![0, 68, 1, 40]
    );
    assert_eq!(std_encode("routers", ""), Vec::<u8>::new());
    let defs = OptionDefs::standard();
    assert!(encode(&defs, "routers", "192.0.2.300").is_err());
    // Kea writes the 16 bytes of an IPv6 address given for IPv4 ones.
    assert_eq!(
        std_encode("routers", "2001:db8::1"),
        vec![0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(
        std_encode("subnet-mask", "2001:db8::1"),
        vec![0x20, 1, 0x0d, 0xb8]
    );
    let mut v6 = OptionDefs::standard();
    assert_eq!(v6.add(def("v6", 224, DHCP4_SPACE, Ipv6Address)), Ok(()));
    assert!(
        encode(&v6, "v6", "192.0.2.1").is_err(),
        "4 bytes do not fill an IPv6 field"
    );
    assert!(
        encode(&defs, "path-mtu-plateau-table", "").is_err(),
        "OptionIntArray refuses no data"
    );
}

/// Records: fields in order, the last one repeating when the definition is an
/// array (`slp-directory-agent` is boolean + IPv4 addresses).
#[test]
fn records_with_repeating_last_field() {
    assert_eq!(
        std_encode("slp-directory-agent", "true, 192.0.2.1, 192.0.2.2"),
        vec![1, 192, 0, 2, 1, 192, 0, 2, 2]
    );
    assert_eq!(
        std_encode("client-ndi", "1, 2, 1, 9"),
        vec![1, 2, 1],
        "extra values are ignored without array"
    );
    let err = encode(&OptionDefs::standard(), "client-ndi", "1, 2").unwrap_err();
    assert!(
        err.message.contains("greater than number of values"),
        "{}",
        err.message
    );
}

/// `domain-search` (119) is an fqdn array: names back to back, uncompressed,
/// case as written (`writeFqdn` without downcase, `factoryFqdnList`).
#[test]
fn fqdn_lists_are_uncompressed_wire_names() {
    assert_eq!(
        std_encode("domain-search", "Example.com, sub.example.com."),
        b"\x07Example\x03com\x00\x03sub\x07example\x03com\x00".to_vec()
    );
    assert_eq!(std_encode("v4-lost", "."), vec![0]);
    let defs = OptionDefs::standard();
    assert!(
        encode(&defs, "domain-search", "").is_err(),
        "FQDN list option has invalid length of 0"
    );
    assert!(encode(&defs, "domain-search", "a..b").is_err());
    assert_eq!(
        std_encode("domain-search", "a\\.b.c"),
        b"\x03a.b\x01c\x00".to_vec()
    );
}

/// Tuples: one length byte in DHCPv4, two for option 143 (Kea's
/// `writeToBuffer` special case for `v4-sztp-redirect`).
#[test]
fn tuples_are_length_prefixed() {
    let mut defs = OptionDefs::standard();
    let mut tuple = def("my-tuples", 200, DHCP4_SPACE, Tuple);
    tuple.array = true;
    assert_eq!(defs.add(tuple), Ok(()));
    assert_eq!(
        encode(&defs, "my-tuples", "ab, c").unwrap(),
        b"\x02ab\x01c".to_vec()
    );
    assert_eq!(
        std_encode("v4-sztp-redirect", "ab, c"),
        b"\x00\x02ab\x00\x01c".to_vec()
    );
}

/// Option 121 in Kea 2.6's text form; bytes from Kea's
/// `OptionClasslessStaticRouteTest.pack` (option_classless_static_route_unittest.cc).
#[test]
fn classless_static_routes_as_kea_packs_them() {
    let got = std_encode(
        "classless-static-route",
        "0.0.0.0/0 - 10.17.0.1,10.229.0.128/25-10.229.0.1, 10.27.129.0/24 - 10.27.129.1",
    );
    let kea = [
        0, 10, 17, 0, 1, 25, 10, 229, 0, 128, 10, 229, 0, 1, 24, 10, 27, 129, 10, 27, 129, 1,
    ];
    assert_eq!(got, kea.to_vec());
    let defs = OptionDefs::standard();
    for bad in [
        "10.229.0.128/25 10.229.0.1",
        "10.229.0.128 - 10.229.0.1",
        "1.2.3.4/64 - 10.229.0.1",
        "3001::5/64 - 10.229.0.1",
    ] {
        assert!(
            encode(&defs, "classless-static-route", bad).is_err(),
            "{bad}"
        );
    }
    let mut hex = spec("classless-static-route", "18 0a e5 00 0a e5 00 01");
    hex.csv_format = Some(false);
    assert_eq!(
        defs.encode(&hex).map(|o| o.option.data),
        Ok(vec![24, 10, 229, 0, 10, 229, 0, 1])
    );
    hex.data = "7d 0a e5 00 80 0a e5 00 01".to_string();
    assert!(defs.encode(&hex).is_err(), "mask width 125");
}

/// Prefix and PSID bytes from Kea's `OptionDataTypesTest.writePrefix` and
/// `writePsid` (option_data_types_unittest.cc).
#[test]
fn prefix_and_psid_fields() {
    let mut defs = OptionDefs::standard();
    let mut rec = def("pp", 201, DHCP4_SPACE, Record);
    rec.record_types = vec![Ipv6Prefix, Psid];
    assert_eq!(defs.add(rec), Ok(()));
    assert_eq!(
        encode(&defs, "pp", "2001:db8:FFFF::/34, 8/4").unwrap(),
        vec![34, 0x20, 0x01, 0x0d, 0xb8, 0xc0, 4, 0x80, 0x00]
    );
    assert_eq!(encode(&defs, "pp", "::/0, 6/0").unwrap(), vec![0, 0, 0, 0]);
    assert!(
        encode(&defs, "pp", "::/0, 16/4").is_err(),
        "PSID wider than its length"
    );
}

/// Data without a definition or with `csv-format: false` is hex in every form
/// `decodeFormattedHexString` takes, or text in single quotes.
#[test]
fn hex_forms() {
    let defs = OptionDefs::standard();
    for (text, bytes) in [
        ("01:02", vec![1, 2]),
        ("1:2", vec![1, 2]),
        ("01 02", vec![1, 2]),
        ("0x0102", vec![1, 2]),
        ("0102", vec![1, 2]),
        ("102", vec![1, 2]),
        ("'ab'", b"ab".to_vec()),
        ("", vec![]),
    ] {
        let option = OptionDataSpec {
            code: Some(222),
            data: text.to_string(),
            ..OptionDataSpec::default()
        };
        assert_eq!(
            defs.encode(&option).map(|o| o.option.data),
            Ok(bytes),
            "{text:?}"
        );
    }
    for bad in ["01::02", "0x", "zz", "001:02"] {
        let option = OptionDataSpec {
            code: Some(222),
            data: bad.to_string(),
            ..OptionDataSpec::default()
        };
        assert_eq!(
            defs.encode(&option).map_err(|e| e.field),
            Err("data"),
            "{bad:?}"
        );
    }
}

/// `\,` is a literal comma in data; an unescaped comma ends a string option's
/// value (Kea writes only the first token).
#[test]
fn escaped_comma_and_string_trimming() {
    assert_eq!(std_encode("host-name", "a\\,b"), b"a,b".to_vec());
    assert_eq!(std_encode("host-name", "a,b"), b"a".to_vec());
    assert_eq!(
        std_encode("domain-name", " example.org "),
        b"example.org".to_vec()
    );
    let defs = OptionDefs::standard();
    let mut hex = spec("host-name", "41 42 00 00");
    hex.csv_format = Some(false);
    assert_eq!(
        defs.encode(&hex).map(|o| o.option.data),
        Ok(b"AB".to_vec()),
        "trailing NULs dropped"
    );
    assert!(encode(&defs, "host-name", "").is_err());
}

/// Option 81: with the E flag a wire name in lower case (a partial one from
/// hex stays without its final 0); without it the text of the name Kea reads
/// from the field's bytes (see `bytes_kea_2_2_served` for Kea's own bytes).
#[test]
fn client_fqdn_forms() {
    assert_eq!(
        std_encode("fqdn", "4, 0, 0, A.b."),
        b"\x04\x00\x00\x01a\x01b\x00".to_vec()
    );
    let defs = OptionDefs::standard();
    let mut partial = spec("fqdn", "04 00 00 01 41");
    partial.csv_format = Some(false);
    assert_eq!(
        defs.encode(&partial).map(|o| o.option.data),
        Ok(vec![4, 0, 0, 1, b'a'])
    );
    let mut text = spec("fqdn", "01 00 00 61 2e 42 2e");
    text.csv_format = Some(false);
    assert_eq!(
        defs.encode(&text).map(|o| o.option.data),
        Ok(b"\x01\x00\x00a.b.".to_vec())
    );
    assert!(
        encode(&defs, "fqdn", "9, 0, 0, a.b").is_err(),
        "N and S both set"
    );
}
