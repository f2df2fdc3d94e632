//! The standard table, `option-def` checks, lookups.

use super::*;

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
