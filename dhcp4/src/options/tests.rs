//! Option definitions and encoding against Kea 2.6: the expected bytes come
//! from Kea's own unit tests where they have one (cited), else from the Kea
//! code path named beside the test.

use super::table::{AGENT_SPACE, DOCSIS_SPACE, VENDOR_ENCAPSULATED_SPACE};
use super::DataType::{self, *};
use super::*;

fn spec(name: &str, data: &str) -> OptionDataSpec {
    OptionDataSpec {
        name: Some(name.to_string()),
        data: data.to_string(),
        ..OptionDataSpec::default()
    }
}

fn encode(defs: &OptionDefs, name: &str, data: &str) -> Result<Vec<u8>, OptionError> {
    defs.encode(&spec(name, data)).map(|o| o.option.data)
}

fn std_encode(name: &str, data: &str) -> Vec<u8> {
    match encode(&OptionDefs::standard(), name, data) {
        Ok(bytes) => bytes,
        Err(e) => panic!("{name} = {data:?}: {e}"),
    }
}

fn def(name: &str, code: u8, space: &str, data_type: DataType) -> OptionDef {
    OptionDef {
        name: name.to_string(),
        code,
        space: space.to_string(),
        data_type,
        record_types: Vec::new(),
        array: false,
        encapsulate: None,
    }
}

/// A sample value per type and the bytes Kea's `writeToBuffer` makes of it.
fn sample(data_type: DataType) -> (&'static str, Vec<u8>) {
    match data_type {
        Binary => ("0a0B", vec![0x0a, 0x0b]),
        Boolean => ("true", vec![1]),
        Int8 => ("-2", vec![0xfe]),
        Int16 => ("-2", vec![0xff, 0xfe]),
        Int32 => ("-3600", (-3600i32).to_be_bytes().to_vec()),
        Uint8 => ("7", vec![7]),
        Uint16 => ("1500", vec![0x05, 0xdc]),
        Uint32 => ("86400", 86400u32.to_be_bytes().to_vec()),
        Ipv4Address => ("192.0.2.1", vec![192, 0, 2, 1]),
        Ipv6Address => ("2001:db8::1", {
            let mut v = vec![0x20, 0x01, 0x0d, 0xb8];
            v.extend_from_slice(&[0; 11]);
            v.push(1);
            v
        }),
        Ipv6Prefix => ("2001:db8::/32", vec![32, 0x20, 0x01, 0x0d, 0xb8]),
        Psid => ("8/4", vec![4, 0x80, 0x00]),
        DataType::String => ("text", b"text".to_vec()),
        Fqdn => ("Example.com", b"\x07Example\x03com\x00".to_vec()),
        Tuple => ("abc", b"\x03abc".to_vec()),
        Empty | Record | Internal => ("", Vec::new()),
    }
}

/// Every standard definition encodes a value of its type (the special
/// classes of `factorySpecialFormatOption` get values of their own format).
#[test]
fn every_standard_definition_encodes_a_sample() {
    let defs = OptionDefs::standard();
    let specials: &[(&str, &str, &[u8])] = &[
        (
            "fqdn",
            "5, 0, 0, Host.Example.com",
            b"\x05\x00\x00\x04host\x07example\x03com\x00",
        ),
        (
            "classless-static-route",
            "10.0.0.0/8 - 10.0.0.1",
            &[8, 10, 10, 0, 0, 1],
        ),
        (
            "vivco-suboptions",
            "4491, 03616263",
            &[0, 0, 0x11, 0x8b, 3, b'a', b'b', b'c'],
        ),
        ("vivso-suboptions", "4491", &[0, 0, 0x11, 0x8b, 0]),
        ("v4-sztp-redirect", "abc", &[0, 3, b'a', b'b', b'c']),
    ];
    let mut walked = 0;
    for row in table::DHCP4
        .iter()
        .chain(table::AGENT)
        .chain(table::LAST_RESORT)
        .chain(table::DOCSIS)
    {
        let space = [(table::AGENT, AGENT_SPACE), (table::DOCSIS, DOCSIS_SPACE)]
            .iter()
            .find(|(rows, _)| rows.iter().any(|r| std::ptr::eq(r, row)))
            .map_or(DHCP4_SPACE, |(_, s)| *s);
        let mut option = spec(row.name, "");
        option.space = Some(space.to_string());
        let expected = if let Some((_, text, bytes)) =
            specials.iter().find(|(n, _, _)| *n == row.name)
        {
            option.data = text.to_string();
            bytes.to_vec()
        } else if row.name == "v4-dnr" {
            option.csv_format = Some(false);
            option.data = "00 01".to_string();
            vec![0, 1]
        } else if row.data_type == Record {
            let (texts, bytes): (Vec<_>, Vec<_>) = row.record.iter().map(|t| sample(*t)).unzip();
            option.data = texts.join(", ");
            bytes.concat()
        } else {
            let (text, bytes) = sample(row.data_type);
            option.data = text.to_string();
            bytes
        };
        let got = defs.encode(&option).map(|o| o.option.data);
        assert_eq!(got, Ok(expected), "{space}.{} ({})", row.name, row.code);
        walked += 1;
    }
    assert_eq!(walked, 123 + 20 + 1 + 2);
    assert_eq!(
        table::DHCP4.len(),
        123,
        "Kea 2.6 defines 123 standard DHCPv4 options"
    );
}

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
    assert!(encode(&defs, "routers", "2001:db8::1").is_err());
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

/// Option 125: `4491` is the enterprise id; `vendor-4491` options become its
/// sub-options behind a data-len byte (`OptionVendor::pack`), sorted by code.
#[test]
fn vivso_carries_vendor_space_options() {
    let defs = OptionDefs::standard();
    let mut tftp = spec("tftp-servers", "10.0.0.1, 10.0.0.2");
    tftp.space = Some(DOCSIS_SPACE.to_string());
    let mut oro = spec("oro", "2");
    oro.space = Some(DOCSIS_SPACE.to_string());
    let options: Vec<SpacedOption> = [spec("vivso-suboptions", "4491"), tftp, oro]
        .iter()
        .map(|s| defs.encode(s))
        .collect::<Result<_, _>>()
        .unwrap();
    let out = defs.encapsulate(options);
    assert_eq!(out.len(), 1, "vendor options are only sub-options");
    assert_eq!(out[0].code, 125);
    assert_eq!(
        out[0].data,
        vec![0, 0, 0x11, 0x8b, 13, 1, 1, 2, 2, 8, 10, 0, 0, 1, 10, 0, 0, 2]
    );
}

/// Option 43 carries `vendor-encapsulated-options-space` (Kea's last-resort
/// definition); sub-options sorted by code, the first of a code kept.
#[test]
fn option_43_carries_its_space() {
    let mut defs = OptionDefs::standard();
    assert_eq!(
        defs.add(def("unifi", 1, VENDOR_ENCAPSULATED_SPACE, Ipv4Address)),
        Ok(())
    );
    assert_eq!(
        defs.add(def("label", 2, VENDOR_ENCAPSULATED_SPACE, DataType::String)),
        Ok(())
    );
    let mut label = spec("label", "x");
    label.space = Some(VENDOR_ENCAPSULATED_SPACE.to_string());
    let mut unifi = spec("unifi", "192.168.0.1");
    unifi.space = Some(VENDOR_ENCAPSULATED_SPACE.to_string());
    let mut unifi2 = unifi.clone();
    unifi2.data = "10.0.0.1".to_string();
    let specs = [
        spec("routers", "192.0.2.1"),
        label,
        spec("vendor-encapsulated-options", ""),
        unifi,
        unifi2,
    ];
    let options: Vec<SpacedOption> = specs
        .iter()
        .map(|s| defs.encode(s))
        .collect::<Result<_, _>>()
        .unwrap();
    let out = defs.encapsulate(options);
    let codes: Vec<u8> = out.iter().map(|o| o.code).collect();
    assert_eq!(codes, vec![3, 43], "order written, sub-options removed");
    assert_eq!(out[1].data, vec![1, 4, 192, 168, 0, 1, 2, 1, b'x']);
    let alone = defs.encapsulate(vec![defs
        .encode(&spec("vendor-encapsulated-options", ""))
        .unwrap()]);
    assert_eq!(
        alone[0].data,
        Vec::<u8>::new(),
        "a carrier without sub-options stays as configured"
    );
}

/// Raw option 43 data is read as sub-options and packed back sorted by code.
#[test]
fn option_43_hex_is_sub_options() {
    let defs = OptionDefs::standard();
    let mut raw = spec("vendor-encapsulated-options", "02:01:aa:01:04:c0:a8:01:0a");
    raw.csv_format = Some(false);
    let got = defs.encode(&raw).map(|o| o.option.data);
    assert_eq!(got, Ok(vec![1, 4, 192, 168, 1, 10, 2, 1, 0xaa]));
    assert!(
        encode(&defs, "vendor-encapsulated-options", "1").is_err(),
        "text data for an empty type"
    );
}

#[test]
fn option_def_validation_errors() {
    let mut defs = OptionDefs::standard();
    let cases: Vec<(OptionDef, &str, &str)> = vec![
        (
            def("-bad", 200, DHCP4_SPACE, Uint8),
            "name",
            "invalid option name '-bad'",
        ),
        (
            def("ok", 200, "bad space", Uint8),
            "space",
            "invalid option space name 'bad space'",
        ),
        (
            def("pad", 0, DHCP4_SPACE, Uint8),
            "code",
            "reserved for PAD",
        ),
        (
            def("end", 255, DHCP4_SPACE, Uint8),
            "code",
            "reserved for END",
        ),
        (
            def("dns", 6, DHCP4_SPACE, Uint8),
            "code",
            "unable to override definition of option '6' in standard option space 'dhcp4'",
        ),
        (
            def("routers", 200, DHCP4_SPACE, Uint8),
            "name",
            "unable to override definition of option 'routers'",
        ),
        (
            def("cid", 1, AGENT_SPACE, Binary),
            "code",
            "standard option space 'dhcp-agent-options-space'",
        ),
        (
            OptionDef {
                array: true,
                ..def("strs", 200, DHCP4_SPACE, DataType::String)
            },
            "array",
            "array of strings",
        ),
        (
            OptionDef {
                array: true,
                ..def("bins", 200, DHCP4_SPACE, Binary)
            },
            "array",
            "array of binary",
        ),
        (
            OptionDef {
                array: true,
                ..def("none", 200, DHCP4_SPACE, Empty)
            },
            "array",
            "array of empty",
        ),
        (
            OptionDef {
                record_types: vec![Uint8],
                ..def("r1", 200, DHCP4_SPACE, Record)
            },
            "record-types",
            "Expected at least 2 fields",
        ),
        (
            OptionDef {
                record_types: vec![DataType::String, Uint8],
                ..def("r2", 200, DHCP4_SPACE, Record)
            },
            "record-types",
            "string data field",
        ),
        (
            OptionDef {
                record_types: vec![Uint8, Empty],
                ..def("r3", 200, DHCP4_SPACE, Record)
            },
            "record-types",
            "invalid data type 'empty'",
        ),
        (
            OptionDef {
                record_types: vec![Uint8, Binary],
                array: true,
                ..def("r4", 200, DHCP4_SPACE, Record)
            },
            "array",
            "array of binary",
        ),
        (
            OptionDef {
                record_types: vec![Uint8, Uint8],
                ..def("r5", 200, DHCP4_SPACE, Uint8)
            },
            "record-types",
            "'record' option type must be used instead of 'uint8'",
        ),
        (
            OptionDef {
                array: true,
                encapsulate: Some("sub".into()),
                ..def("e1", 200, DHCP4_SPACE, Uint8)
            },
            "encapsulate",
            "may not encapsulate",
        ),
        (
            OptionDef {
                encapsulate: Some(DHCP4_SPACE.into()),
                ..def("e2", 200, DHCP4_SPACE, Uint8)
            },
            "encapsulate",
            "an option space it belongs to",
        ),
    ];
    for (bad, field, message) in cases {
        let err = defs.add(bad.clone()).unwrap_err();
        assert_eq!(err.field, field, "{bad:?}");
        assert!(err.message.contains(message), "{bad:?}: {}", err.message);
    }
    assert_eq!(defs.add(def("mine", 200, DHCP4_SPACE, Uint8)), Ok(()));
    let dup = defs.add(def("other", 200, DHCP4_SPACE, Uint8)).unwrap_err();
    assert_eq!(
        dup.message,
        "option definition with code '200' already exists in option space 'dhcp4'"
    );
    let dup = defs.add(def("mine", 201, DHCP4_SPACE, Uint8)).unwrap_err();
    assert_eq!(
        dup.message,
        "option definition with name 'mine' already exists in option space 'dhcp4'"
    );
    assert!(parse_data_type("uint64").is_err());
    assert_eq!(
        parse_record_types("uint8, ipv4-address,"),
        Ok(vec![Uint8, Ipv4Address])
    );
}

/// Kea's fallback definitions give way to an operator's: option 43 in `dhcp4`
/// and the DOCSIS `vendor-4491` codes.
#[test]
fn fallback_definitions_can_be_replaced() {
    let mut defs = OptionDefs::standard();
    let mut vsi = def("vendor-encapsulated-options", 43, DHCP4_SPACE, Empty);
    vsi.encapsulate = Some(VENDOR_ENCAPSULATED_SPACE.to_string());
    assert_eq!(defs.add(vsi), Ok(()));
    assert_eq!(
        defs.add(def("my-tftp", 2, DOCSIS_SPACE, DataType::String)),
        Ok(())
    );
    assert_eq!(
        defs.by_code(DOCSIS_SPACE, 2).map(|d| d.name.as_str()),
        Some("my-tftp")
    );
    assert_eq!(
        defs.by_code(DOCSIS_SPACE, 1).map(|d| d.name.as_str()),
        Some("oro")
    );
}

#[test]
fn names_codes_and_definitions_must_agree() {
    let defs = OptionDefs::standard();
    let err = encode(&defs, "no-such-option", "1").unwrap_err();
    assert_eq!(
        (err.field, err.message.as_str()),
        (
            "name",
            "definition for the option 'dhcp4.no-such-option' does not exist"
        )
    );
    let both = OptionDataSpec {
        name: Some("routers".into()),
        code: Some(6),
        data: "192.0.2.1".into(),
        ..OptionDataSpec::default()
    };
    let err = defs.encode(&both).unwrap_err();
    assert!(
        err.message.contains(
            "'routers' does not match the option definition: 'dhcp4.domain-name-servers'"
        ),
        "{}",
        err.message
    );
    let nothing = OptionDataSpec {
        data: "01".into(),
        ..OptionDataSpec::default()
    };
    assert_eq!(defs.encode(&nothing).map_err(|e| e.field), Err("name"));
    let csv_undefined = OptionDataSpec {
        code: Some(222),
        data: "1".into(),
        csv_format: Some(true),
        ..OptionDataSpec::default()
    };
    assert!(defs
        .encode(&csv_undefined)
        .unwrap_err()
        .message
        .contains("having code '222' does not exist"));
    let big = OptionDataSpec {
        code: Some(256),
        ..OptionDataSpec::default()
    };
    assert_eq!(defs.encode(&big).map_err(|e| e.field), Err("code"));
    let pad = OptionDataSpec {
        code: Some(0),
        ..OptionDataSpec::default()
    };
    assert_eq!(defs.encode(&pad).map_err(|e| e.field), Err("code"));
    let mut unknown_space = spec("circuit-id", "01");
    unknown_space.space = Some("foo-space".to_string());
    assert!(defs
        .encode(&unknown_space)
        .unwrap_err()
        .message
        .contains("'foo-space.circuit-id'"));
}

/// `never-send` without data is an empty option whatever the type; flags are kept.
#[test]
fn never_send_needs_no_data_and_flags_are_kept() {
    let defs = OptionDefs::standard();
    let mut hide = spec("domain-name-servers", "");
    hide.never_send = true;
    let got = defs.encode(&hide).unwrap();
    assert!(got.option.never_send && got.option.data.is_empty() && got.option.code == 6);
    let mut always = spec("domain-name", "example.org");
    always.always_send = true;
    assert!(defs.encode(&always).unwrap().option.always_send);
}

#[test]
fn lookups_and_standard_names() {
    let defs = OptionDefs::standard();
    assert_eq!(
        defs.by_code(DHCP4_SPACE, 2).map(|d| (d.data_type, d.array)),
        Some((Int32, false))
    );
    assert_eq!(
        defs.by_name(AGENT_SPACE, "circuit-id").map(|d| d.code),
        Some(1)
    );
    assert_eq!(
        defs.by_code(DHCP4_SPACE, 43)
            .and_then(|d| d.encapsulate.as_deref()),
        Some(VENDOR_ENCAPSULATED_SPACE)
    );
    assert_eq!(
        defs.by_code(DHCP4_SPACE, 82)
            .and_then(|d| d.encapsulate.as_deref()),
        Some(AGENT_SPACE)
    );
    assert_eq!(standard_name(23), Some("default-ip-ttl"));
    assert_eq!(standard_name(84), None);
}
