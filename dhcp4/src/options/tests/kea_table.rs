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
