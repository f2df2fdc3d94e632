//! Kea 2.6's built-in option definitions, row for row as
//! `lib/dhcp/std_option_defs.h` (`STANDARD_V4_OPTION_DEFINITIONS`,
//! `DHCP_AGENT_OPTION_DEFINITIONS`, `LAST_RESORT_V4_OPTION_DEFINITIONS`) and
//! `lib/dhcp/docsis3_option_defs.h` (`DOCSIS3_V4_OPTION_DEFINITIONS`, which
//! Kea serves as the `vendor-4491` space) write them.

use super::DataType::{self, *};

/// The space option 82's sub-options live in.
pub const AGENT_SPACE: &str = "dhcp-agent-options-space";
/// The space option 43's sub-options live in.
pub const VENDOR_ENCAPSULATED_SPACE: &str = "vendor-encapsulated-options-space";
/// The CableLabs (DOCSIS) vendor space of option 125.
pub const DOCSIS_SPACE: &str = "vendor-4491";
/// The name Kea 2.2 also registers the DOCSIS definitions under
/// (`DOCSIS3_V4_OPTION_SPACE`); ISC's `all-options.json` writes options in it.
/// No option here encapsulates it: its options load and are not sent.
pub const DOCSIS_LEGACY_SPACE: &str = "docsis3-v4";

/// One built-in definition.
pub(super) struct StdDef {
    pub name: &'static str,
    pub code: u8,
    pub data_type: DataType,
    pub array: bool,
    pub record: &'static [DataType],
    pub encapsulate: Option<&'static str>,
}

const fn std_def(
    name: &'static str,
    code: u8,
    data_type: DataType,
    array: bool,
    record: &'static [DataType],
    encapsulate: Option<&'static str>,
) -> StdDef {
    StdDef {
        name,
        code,
        data_type,
        array,
        record,
        encapsulate,
    }
}

/// `STANDARD_V4_OPTION_DEFINITIONS`: the `dhcp4` space. An operator's
/// `option-def` may not redefine these (Kea's `CfgOptionDef::add`).
pub(super) const DHCP4: &[StdDef] = &[
    std_def("subnet-mask", 1, Ipv4Address, false, &[], None),
    std_def("time-offset", 2, Int32, false, &[], None),
    std_def("routers", 3, Ipv4Address, true, &[], None),
    std_def("time-servers", 4, Ipv4Address, true, &[], None),
    std_def("name-servers", 5, Ipv4Address, true, &[], None),
    std_def("domain-name-servers", 6, Ipv4Address, true, &[], None),
    std_def("log-servers", 7, Ipv4Address, true, &[], None),
    std_def("cookie-servers", 8, Ipv4Address, true, &[], None),
    std_def("lpr-servers", 9, Ipv4Address, true, &[], None),
    std_def("impress-servers", 10, Ipv4Address, true, &[], None),
    std_def(
        "resource-location-servers",
        11,
        Ipv4Address,
        true,
        &[],
        None,
    ),
    std_def("host-name", 12, String, false, &[], None),
    std_def("boot-size", 13, Uint16, false, &[], None),
    std_def("merit-dump", 14, String, false, &[], None),
    std_def("domain-name", 15, String, false, &[], None),
    std_def("swap-server", 16, Ipv4Address, false, &[], None),
    std_def("root-path", 17, String, false, &[], None),
    std_def("extensions-path", 18, String, false, &[], None),
    std_def("ip-forwarding", 19, Boolean, false, &[], None),
    std_def("non-local-source-routing", 20, Boolean, false, &[], None),
    std_def("policy-filter", 21, Ipv4Address, true, &[], None),
    std_def("max-dgram-reassembly", 22, Uint16, false, &[], None),
    std_def("default-ip-ttl", 23, Uint8, false, &[], None),
    std_def("path-mtu-aging-timeout", 24, Uint32, false, &[], None),
    std_def("path-mtu-plateau-table", 25, Uint16, true, &[], None),
    std_def("interface-mtu", 26, Uint16, false, &[], None),
    std_def("all-subnets-local", 27, Boolean, false, &[], None),
    std_def("broadcast-address", 28, Ipv4Address, false, &[], None),
    std_def("perform-mask-discovery", 29, Boolean, false, &[], None),
    std_def("mask-supplier", 30, Boolean, false, &[], None),
    std_def("router-discovery", 31, Boolean, false, &[], None),
    std_def(
        "router-solicitation-address",
        32,
        Ipv4Address,
        false,
        &[],
        None,
    ),
    std_def("static-routes", 33, Ipv4Address, true, &[], None),
    std_def("trailer-encapsulation", 34, Boolean, false, &[], None),
    std_def("arp-cache-timeout", 35, Uint32, false, &[], None),
    std_def("ieee802-3-encapsulation", 36, Boolean, false, &[], None),
    std_def("default-tcp-ttl", 37, Uint8, false, &[], None),
    std_def("tcp-keepalive-interval", 38, Uint32, false, &[], None),
    std_def("tcp-keepalive-garbage", 39, Boolean, false, &[], None),
    std_def("nis-domain", 40, String, false, &[], None),
    std_def("nis-servers", 41, Ipv4Address, true, &[], None),
    std_def("ntp-servers", 42, Ipv4Address, true, &[], None),
    std_def("netbios-name-servers", 44, Ipv4Address, true, &[], None),
    std_def("netbios-dd-server", 45, Ipv4Address, true, &[], None),
    std_def("netbios-node-type", 46, Uint8, false, &[], None),
    std_def("netbios-scope", 47, String, false, &[], None),
    std_def("font-servers", 48, Ipv4Address, true, &[], None),
    std_def("x-display-manager", 49, Ipv4Address, true, &[], None),
    std_def("dhcp-requested-address", 50, Ipv4Address, false, &[], None),
    std_def("dhcp-lease-time", 51, Uint32, false, &[], None),
    std_def("dhcp-option-overload", 52, Uint8, false, &[], None),
    std_def("dhcp-message-type", 53, Uint8, false, &[], None),
    std_def("dhcp-server-identifier", 54, Ipv4Address, false, &[], None),
    std_def("dhcp-parameter-request-list", 55, Uint8, true, &[], None),
    std_def("dhcp-message", 56, String, false, &[], None),
    std_def("dhcp-max-message-size", 57, Uint16, false, &[], None),
    std_def("dhcp-renewal-time", 58, Uint32, false, &[], None),
    std_def("dhcp-rebinding-time", 59, Uint32, false, &[], None),
    std_def("vendor-class-identifier", 60, String, false, &[], None),
    std_def("dhcp-client-identifier", 61, Binary, false, &[], None),
    std_def("nwip-domain-name", 62, String, false, &[], None),
    std_def("nwip-suboptions", 63, Binary, false, &[], None),
    std_def("nisplus-domain-name", 64, String, false, &[], None),
    std_def("nisplus-servers", 65, Ipv4Address, true, &[], None),
    std_def("tftp-server-name", 66, String, false, &[], None),
    std_def("boot-file-name", 67, String, false, &[], None),
    std_def("mobile-ip-home-agent", 68, Ipv4Address, true, &[], None),
    std_def("smtp-server", 69, Ipv4Address, true, &[], None),
    std_def("pop-server", 70, Ipv4Address, true, &[], None),
    std_def("nntp-server", 71, Ipv4Address, true, &[], None),
    std_def("www-server", 72, Ipv4Address, true, &[], None),
    std_def("finger-server", 73, Ipv4Address, true, &[], None),
    std_def("irc-server", 74, Ipv4Address, true, &[], None),
    std_def("streettalk-server", 75, Ipv4Address, true, &[], None),
    std_def(
        "streettalk-directory-assistance-server",
        76,
        Ipv4Address,
        true,
        &[],
        None,
    ),
    std_def("user-class", 77, Binary, false, &[], None),
    std_def(
        "slp-directory-agent",
        78,
        Record,
        true,
        &[Boolean, Ipv4Address],
        None,
    ),
    std_def(
        "slp-service-scope",
        79,
        Record,
        false,
        &[Boolean, String],
        None,
    ),
    std_def(
        "fqdn",
        81,
        Record,
        false,
        &[Uint8, Uint8, Uint8, Fqdn],
        None,
    ),
    std_def(
        "dhcp-agent-options",
        82,
        Empty,
        false,
        &[],
        Some(AGENT_SPACE),
    ),
    std_def("nds-servers", 85, Ipv4Address, true, &[], None),
    std_def("nds-tree-name", 86, String, false, &[], None),
    std_def("nds-context", 87, String, false, &[], None),
    std_def("bcms-controller-names", 88, Fqdn, true, &[], None),
    std_def("bcms-controller-address", 89, Ipv4Address, true, &[], None),
    std_def("authenticate", 90, Binary, false, &[], None),
    std_def("client-last-transaction-time", 91, Uint32, false, &[], None),
    std_def("associated-ip", 92, Ipv4Address, true, &[], None),
    std_def("client-system", 93, Uint16, true, &[], None),
    std_def(
        "client-ndi",
        94,
        Record,
        false,
        &[Uint8, Uint8, Uint8],
        None,
    ),
    std_def("uuid-guid", 97, Record, false, &[Uint8, Binary], None),
    std_def("uap-servers", 98, String, false, &[], None),
    std_def("geoconf-civic", 99, Binary, false, &[], None),
    std_def("pcode", 100, String, false, &[], None),
    std_def("tcode", 101, String, false, &[], None),
    std_def("v6-only-preferred", 108, Uint32, false, &[], None),
    std_def("netinfo-server-address", 112, Ipv4Address, true, &[], None),
    std_def("netinfo-server-tag", 113, String, false, &[], None),
    std_def("v4-captive-portal", 114, String, false, &[], None),
    std_def("auto-config", 116, Uint8, false, &[], None),
    std_def("name-service-search", 117, Uint16, true, &[], None),
    std_def("subnet-selection", 118, Ipv4Address, false, &[], None),
    std_def("domain-search", 119, Fqdn, true, &[], None),
    std_def("classless-static-route", 121, Internal, false, &[], None),
    std_def(
        "vivco-suboptions",
        124,
        Record,
        false,
        &[Uint32, Binary],
        None,
    ),
    std_def("vivso-suboptions", 125, Uint32, false, &[], None),
    std_def("pana-agent", 136, Ipv4Address, true, &[], None),
    std_def("v4-lost", 137, Fqdn, false, &[], None),
    std_def("capwap-ac-v4", 138, Ipv4Address, true, &[], None),
    std_def("sip-ua-cs-domains", 141, Fqdn, true, &[], None),
    std_def("v4-sztp-redirect", 143, Tuple, true, &[], None),
    std_def(
        "rdnss-selection",
        146,
        Record,
        true,
        &[Uint8, Ipv4Address, Ipv4Address, Fqdn],
        None,
    ),
    std_def("status-code", 151, Record, false, &[Uint8, String], None),
    std_def("base-time", 152, Uint32, false, &[], None),
    std_def("start-time-of-state", 153, Uint32, false, &[], None),
    std_def("query-start-time", 154, Uint32, false, &[], None),
    std_def("query-end-time", 155, Uint32, false, &[], None),
    std_def("dhcp-state", 156, Uint8, false, &[], None),
    std_def("data-source", 157, Uint8, false, &[], None),
    std_def("v4-portparams", 159, Record, false, &[Uint8, Psid], None),
    std_def("v4-dnr", 162, Internal, false, &[], None),
    std_def(
        "option-6rd",
        212,
        Record,
        true,
        &[Uint8, Uint8, Ipv6Address, Ipv4Address],
        None,
    ),
    std_def("v4-access-domain", 213, Fqdn, false, &[], None),
];

/// `DHCP_AGENT_OPTION_DEFINITIONS`: option 82's sub-options, also protected.
pub(super) const AGENT: &[StdDef] = &[
    std_def("circuit-id", 1, Binary, false, &[], None),
    std_def("remote-id", 2, Binary, false, &[], None),
    std_def("docsis-device-class", 4, Uint32, false, &[], None),
    std_def("link-selection", 5, Ipv4Address, false, &[], None),
    std_def("subscriber-id", 6, String, false, &[], None),
    std_def("radius", 7, Binary, false, &[], None),
    std_def("auth", 8, Binary, false, &[], None),
    std_def("vendor-specific-info", 9, Binary, false, &[], None),
    std_def("relay-flags", 10, Uint8, false, &[], None),
    std_def("server-id-override", 11, Ipv4Address, false, &[], None),
    std_def("relay-id", 12, Binary, false, &[], None),
    std_def("access-techno-type", 13, Uint16, false, &[], None),
    std_def("access-network-name", 14, String, false, &[], None),
    std_def("access-point-name", 15, String, false, &[], None),
    std_def("access-point-bssid", 16, Binary, false, &[], None),
    std_def("operator-id", 17, Uint32, false, &[], None),
    std_def("operator-realm", 18, String, false, &[], None),
    std_def("relay-port", 19, Uint16, false, &[], None),
    std_def("virtual-subnet-select", 151, Binary, false, &[], None),
    std_def("virtual-subnet-select-ctrl", 152, Empty, false, &[], None),
];

/// `LAST_RESORT_V4_OPTION_DEFINITIONS`: option 43 when the operator did not
/// define it. Kea looks these up last, so an `option-def` of code 43 in
/// `dhcp4` replaces it.
pub(super) const LAST_RESORT: &[StdDef] = &[std_def(
    "vendor-encapsulated-options",
    43,
    Empty,
    false,
    &[],
    Some(VENDOR_ENCAPSULATED_SPACE),
)];

/// `DOCSIS3_V4_OPTION_DEFINITIONS`, Kea's definitions for enterprise 4491
/// (`LibDHCP::getVendorOptionDefs`); an operator's `option-def` in
/// `vendor-4491` is looked up before them.
pub(super) const DOCSIS: &[StdDef] = &[
    std_def("oro", 1, Uint8, true, &[], None),
    std_def("tftp-servers", 2, Ipv4Address, true, &[], None),
];
