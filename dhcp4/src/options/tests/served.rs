//! Encapsulation, and the bytes Kea serves for a whole scope.

use super::*;

/// Option 125: `4491` is the enterprise id; the scope's `always-send`
/// `vendor-4491` options become its sub-options behind a data-len byte
/// (`OptionVendor::pack`), sorted by code. Kea 2.2 served
/// `0000118b0a02080a0000010a000002` with `tftp-servers` always-send and
/// `0000118b00` without (client asking for 125 in its PRL, no vendor ORO):
/// the others are added per packet, so they come back from `vendor_options`.
#[test]
fn vivso_carries_persistent_vendor_options() {
    let defs = OptionDefs::standard();
    let mut tftp = spec("tftp-servers", "10.0.0.2, 10.0.0.1");
    tftp.space = Some(DOCSIS_SPACE.to_string());
    tftp.always_send = true;
    let mut oro = spec("oro", "2");
    oro.space = Some(DOCSIS_SPACE.to_string());
    let options: Vec<SpacedOption> = [spec("vivso-suboptions", "4491"), oro, tftp]
        .iter()
        .map(|s| defs.encode(s))
        .collect::<Result<_, _>>()
        .unwrap();
    let vendor = defs.vendor_options(&options);
    let codes: Vec<(u32, u8, bool)> = vendor
        .iter()
        .map(|v| (v.enterprise, v.option.code, v.option.always_send))
        .collect();
    assert_eq!(codes, vec![(4491, 1, false), (4491, 2, true)]);
    let out = defs.encapsulate(options.clone());
    assert_eq!(out.len(), 1, "vendor options are only sub-options");
    assert_eq!(out[0].code, 125);
    assert_eq!(
        out[0].data,
        vec![0, 0, 0x11, 0x8b, 10, 2, 8, 10, 0, 0, 2, 10, 0, 0, 1]
    );
    let quiet: Vec<SpacedOption> = options
        .into_iter()
        .map(|mut o| {
            o.option.always_send = false;
            o
        })
        .collect();
    assert_eq!(defs.encapsulate(quiet)[0].data, vec![0, 0, 0x11, 0x8b, 0]);
    let mut built = vivso_header(4491);
    add_vendor_suboptions(&mut built, vec![(2, vec![10, 0, 0, 1]), (1, vec![2])]);
    add_vendor_suboptions(&mut built, vec![(1, vec![3])]);
    assert_eq!(built, vec![0, 0, 0x11, 0x8b, 9, 1, 1, 2, 2, 4, 10, 0, 0, 1]);
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

/// The bytes Debian's Kea 2.2 put in a DHCPOFFER for these `option-data`
/// entries (one subnet scope, relayed DISCOVER asking for each code; run in
/// network namespaces while writing this module). Option 121 is absent:
/// Kea 2.2 has no definition for it.
#[test]
fn bytes_kea_2_2_served() {
    let mut defs = OptionDefs::standard();
    let mut pp = def("pp", 201, DHCP4_SPACE, Record);
    pp.record_types = vec![Ipv6Prefix, Psid];
    let mut tup = def("tup", 202, DHCP4_SPACE, Tuple);
    tup.array = true;
    for d in [
        def("unifi", 1, VENDOR_ENCAPSULATED_SPACE, Ipv4Address),
        def("label", 2, VENDOR_ENCAPSULATED_SPACE, DataType::String),
        pp,
        tup,
    ] {
        assert_eq!(defs.add(d), Ok(()));
    }
    let in_space = |name: &str, space: &str, data: &str| OptionDataSpec {
        space: Some(space.to_string()),
        ..spec(name, data)
    };
    let hex = |name: &str, data: &str| OptionDataSpec {
        csv_format: Some(false),
        ..spec(name, data)
    };
    let scope = [
        spec("time-offset", "-3600"),
        spec("domain-search", "Example.com, sub.example.com."),
        spec("host-name", "a\\,b"),
        spec("slp-directory-agent", "true, 192.0.2.1, 192.0.2.2"),
        spec("vendor-encapsulated-options", ""),
        in_space("label", VENDOR_ENCAPSULATED_SPACE, "x"),
        in_space("unifi", VENDOR_ENCAPSULATED_SPACE, "192.168.0.1"),
        spec("pp", "2001:db8:FFFF::/34, 8/4"),
        spec("tup", "ab, c"),
        spec("default-ip-ttl", "ff"),
        spec("vivso-suboptions", "4491"),
        OptionDataSpec {
            always_send: true,
            ..in_space("tftp-servers", DOCSIS_SPACE, "10.0.0.1, 10.0.0.2")
        },
        OptionDataSpec {
            code: Some(222),
            data: "0x0102".to_string(),
            ..OptionDataSpec::default()
        },
        spec("path-mtu-plateau-table", "68, 296"),
        hex("merit-dump", "'ab'"),
        spec("ip-forwarding", "TRUE"),
        spec("nis-domain", "x\\\\y"),
        spec("root-path", "a\\qb"),
        spec("extensions-path", "  spaced  "),
        spec("fqdn", "0, 0, 0, Example.com"),
    ];
    let encoded: Vec<SpacedOption> = scope
        .iter()
        .map(|s| defs.encode(s))
        .collect::<Result<_, _>>()
        .unwrap();
    let served: Vec<(u8, std::string::String)> = defs
        .encapsulate(encoded)
        .iter()
        .map(|o| (o.code, o.data.iter().map(|b| format!("{b:02x}")).collect()))
        .collect();
    let kea: Vec<(u8, &str)> = vec![
        (2, "fffff1f0"),
        (
            119,
            "074578616d706c6503636f6d0003737562076578616d706c6503636f6d00",
        ),
        (12, "612c62"),
        (78, "01c0000201c0000202"),
        (43, "0104c0a80001020178"),
        (201, "2220010db8c0048000"),
        (202, "0261620163"),
        (23, "ff"),
        (125, "0000118b0a02080a0000010a000002"),
        (222, "0102"),
        (25, "00440128"),
        (14, "6162"),
        (19, "01"),
        (40, "785c79"),
        (17, "615c7162"),
        (18, "737061636564"),
        (81, "0000005c3030376578616d706c655c303033636f6d5c303030"),
    ];
    let kea: Vec<(u8, std::string::String)> =
        kea.into_iter().map(|(c, h)| (c, h.to_string())).collect();
    assert_eq!(served, kea);
}
