//! Every standard option Kea 2.2 and 2.6 define alike, with a sample value
//! of its type, against the bytes Debian's Kea 2.2 served for it: all of them
//! `always-send` in one subnet, a relayed DISCOVER, the OFFER read back (run
//! in network namespaces while writing this module). Options the server
//! fills itself (50-59, 61, 81, 82) and the special classes tested elsewhere
//! are left out.

use super::*;

/// (name, data, Kea's bytes in hex).
const KEA_2_2_OFFER: &[(&str, &str, &str)] = &[
    ("time-offset", "-3600", "fffff1f0"),
    ("time-servers", "192.0.2.1", "c0000201"),
    ("name-servers", "192.0.2.1", "c0000201"),
    ("log-servers", "192.0.2.1", "c0000201"),
    ("cookie-servers", "192.0.2.1", "c0000201"),
    ("lpr-servers", "192.0.2.1", "c0000201"),
    ("impress-servers", "192.0.2.1", "c0000201"),
    ("resource-location-servers", "192.0.2.1", "c0000201"),
    ("boot-size", "1500", "05dc"),
    ("merit-dump", "text", "74657874"),
    ("swap-server", "192.0.2.1", "c0000201"),
    ("root-path", "text", "74657874"),
    ("extensions-path", "text", "74657874"),
    ("ip-forwarding", "true", "01"),
    ("non-local-source-routing", "true", "01"),
    ("policy-filter", "192.0.2.1", "c0000201"),
    ("max-dgram-reassembly", "1500", "05dc"),
    ("default-ip-ttl", "7", "07"),
    ("path-mtu-aging-timeout", "86400", "00015180"),
    ("path-mtu-plateau-table", "1500", "05dc"),
    ("interface-mtu", "1500", "05dc"),
    ("all-subnets-local", "true", "01"),
    ("broadcast-address", "192.0.2.1", "c0000201"),
    ("perform-mask-discovery", "true", "01"),
    ("mask-supplier", "true", "01"),
    ("router-discovery", "true", "01"),
    ("router-solicitation-address", "192.0.2.1", "c0000201"),
    ("static-routes", "192.0.2.1", "c0000201"),
    ("trailer-encapsulation", "true", "01"),
    ("arp-cache-timeout", "86400", "00015180"),
    ("ieee802-3-encapsulation", "true", "01"),
    ("default-tcp-ttl", "7", "07"),
    ("tcp-keepalive-interval", "86400", "00015180"),
    ("tcp-keepalive-garbage", "true", "01"),
    ("nis-domain", "text", "74657874"),
    ("nis-servers", "192.0.2.1", "c0000201"),
    ("ntp-servers", "192.0.2.1", "c0000201"),
    ("netbios-name-servers", "192.0.2.1", "c0000201"),
    ("netbios-dd-server", "192.0.2.1", "c0000201"),
    ("netbios-node-type", "7", "07"),
    ("netbios-scope", "text", "74657874"),
    ("font-servers", "192.0.2.1", "c0000201"),
    ("x-display-manager", "192.0.2.1", "c0000201"),
    ("vendor-class-identifier", "text", "74657874"),
    ("nwip-domain-name", "text", "74657874"),
    ("nwip-suboptions", "0a0B", "0a0b"),
    ("nisplus-domain-name", "text", "74657874"),
    ("nisplus-servers", "192.0.2.1", "c0000201"),
    ("tftp-server-name", "text", "74657874"),
    ("boot-file-name", "text", "74657874"),
    ("mobile-ip-home-agent", "192.0.2.1", "c0000201"),
    ("smtp-server", "192.0.2.1", "c0000201"),
    ("pop-server", "192.0.2.1", "c0000201"),
    ("nntp-server", "192.0.2.1", "c0000201"),
    ("www-server", "192.0.2.1", "c0000201"),
    ("finger-server", "192.0.2.1", "c0000201"),
    ("irc-server", "192.0.2.1", "c0000201"),
    ("streettalk-server", "192.0.2.1", "c0000201"),
    (
        "streettalk-directory-assistance-server",
        "192.0.2.1",
        "c0000201",
    ),
    ("user-class", "0a0B", "0a0b"),
    ("slp-directory-agent", "true, 192.0.2.1", "01c0000201"),
    ("slp-service-scope", "true, text", "0174657874"),
    ("nds-servers", "192.0.2.1", "c0000201"),
    ("nds-tree-name", "text", "74657874"),
    ("nds-context", "text", "74657874"),
    (
        "bcms-controller-names",
        "Example.com",
        "074578616d706c6503636f6d00",
    ),
    ("bcms-controller-address", "192.0.2.1", "c0000201"),
    ("authenticate", "0a0B", "0a0b"),
    ("client-last-transaction-time", "86400", "00015180"),
    ("associated-ip", "192.0.2.1", "c0000201"),
    ("client-system", "1500", "05dc"),
    ("client-ndi", "7, 7, 7", "070707"),
    ("uuid-guid", "7, 0a0B", "070a0b"),
    ("uap-servers", "text", "74657874"),
    ("geoconf-civic", "0a0B", "0a0b"),
    ("pcode", "text", "74657874"),
    ("tcode", "text", "74657874"),
    ("v6-only-preferred", "86400", "00015180"),
    ("netinfo-server-address", "192.0.2.1", "c0000201"),
    ("netinfo-server-tag", "text", "74657874"),
    ("v4-captive-portal", "text", "74657874"),
    ("auto-config", "7", "07"),
    ("name-service-search", "1500", "05dc"),
    ("subnet-selection", "192.0.2.1", "c0000201"),
    ("domain-search", "Example.com", "074578616d706c6503636f6d00"),
    ("pana-agent", "192.0.2.1", "c0000201"),
    ("v4-lost", "Example.com", "074578616d706c6503636f6d00"),
    ("capwap-ac-v4", "192.0.2.1", "c0000201"),
    (
        "sip-ua-cs-domains",
        "Example.com",
        "074578616d706c6503636f6d00",
    ),
    (
        "rdnss-selection",
        "7, 192.0.2.1, 192.0.2.1, Example.com",
        "07c0000201c0000201074578616d706c6503636f6d00",
    ),
    ("v4-portparams", "7, 8/4", "07048000"),
    (
        "option-6rd",
        "7, 7, 2001:db8::1, 192.0.2.1",
        "070720010db8000000000000000000000001c0000201",
    ),
    (
        "v4-access-domain",
        "Example.com",
        "074578616d706c6503636f6d00",
    ),
];

#[test]
fn standard_options_match_kea_2_2_bytes() {
    let defs = OptionDefs::standard();
    for (name, data, kea) in KEA_2_2_OFFER {
        let ours: std::string::String = std_encode(name, data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&ours, kea, "{name} = {data:?}");
        assert!(defs.by_name(DHCP4_SPACE, name).is_some());
    }
    assert_eq!(KEA_2_2_OFFER.len(), 93);
}

/// Kea's text and hex edge cases against the bytes Debian's Kea 2.2 served
/// (same netns run as `KEA_2_2_OFFER`): empty tokens, `0x` and bare hex
/// integers, escapes, the hex forms, quoted text, extra bytes dropped from a
/// fixed-size field, a record's extra values ignored.
const KEA_2_2_EDGES: &[(&str, &str, Option<bool>, &str)] = &[
    (
        "domain-name-servers",
        "192.0.2.1,,192.0.2.2",
        None,
        "c0000201c0000202",
    ),
    ("interface-mtu", "0x5dc", None, "05dc"),
    ("default-ip-ttl", "1e", None, "1e"),
    ("ip-forwarding", "1", None, "01"),
    ("nis-domain", "a\\,b\\\\c\\d", None, "612c625c635c64"),
    ("nwip-suboptions", "01 02 0a", None, "01020a"),
    ("user-class", "1:2:a", Some(false), "01020a"),
    ("authenticate", "0x0102", Some(false), "0102"),
    ("geoconf-civic", "102", Some(false), "0102"),
    ("root-path", "'  padded  '", Some(false), "706164646564"),
    ("slp-service-scope", "false, ", None, "00"),
    ("domain-search", "a.b.,c", None, "0161016200016300"),
    (
        "v4-lost",
        "Example.COM.",
        None,
        "074578616d706c6503434f4d00",
    ),
    (
        "vivco-suboptions",
        "4491, 0f BA AD AB BA D0 00 00 00 00 00 00 00 00 CA FE",
        None,
        "0000118b0fbaadabbad00000000000000000cafe",
    ),
    ("name-service-search", "6, 41", None, "00060029"),
    ("path-mtu-plateau-table", "68 , 296", None, "00440128"),
    ("time-offset", "-0x10", None, "fffffff0"),
    (
        "subnet-selection",
        "c0 00 02 01 ff",
        Some(false),
        "c0000201",
    ),
    (
        "bcms-controller-names",
        "A.example,b.example",
        None,
        "0141076578616d706c65000162076578616d706c6500",
    ),
    ("client-system", "7,0x10", None, "00070010"),
    (
        "uuid-guid",
        "0, 00112233445566778899aabbccddeeff",
        None,
        "0000112233445566778899aabbccddeeff",
    ),
];

#[test]
fn text_and_hex_edge_cases_match_kea_2_2_bytes() {
    let defs = OptionDefs::standard();
    for (name, data, csv_format, kea) in KEA_2_2_EDGES {
        let option = OptionDataSpec {
            csv_format: *csv_format,
            ..spec(name, data)
        };
        let ours: std::string::String = match defs.encode(&option) {
            Ok(o) => o.option.data.iter().map(|b| format!("{b:02x}")).collect(),
            Err(e) => panic!("{name} = {data:?}: {e}"),
        };
        assert_eq!(&ours, kea, "{name} = {data:?}");
    }
    let undefined = OptionDataSpec {
        code: Some(224),
        data: "01 02".to_string(),
        ..OptionDataSpec::default()
    };
    assert_eq!(
        defs.encode(&undefined).map(|o| o.option.data),
        Ok(vec![1, 2])
    );
    // Kea 2.2: "option data is not a valid string of hexadecimal digits: x".
    let not_hex = OptionDataSpec {
        csv_format: Some(false),
        ..spec("extensions-path", "x")
    };
    let err = defs.encode(&not_hex).unwrap_err();
    assert_eq!(
        (err.field, err.message.as_str()),
        (
            "data",
            "option data is not a valid string of hexadecimal digits: x"
        )
    );
}
