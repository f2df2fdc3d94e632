//! Each feature we do not implement is refused naming file, line, key and
//! the feature, never as an unknown key.

use common::config::ConfigErrorKind;

use super::{refuse, refuse_doc};

/// `(the Dhcp4 text from line 2, the full expected message)`.
const REFUSALS: &[(&str, &str)] = &[
    (
        r#""lease-database": { "type": "mysql", "name": "kea" }"#,
        "/etc/kea/t.json:2: Dhcp4.lease-database.type: not supported: SQL lease backend (mysql)",
    ),
    (
        r#""lease-database": { "type": "postgresql" }"#,
        "/etc/kea/t.json:2: Dhcp4.lease-database.type: not supported: SQL lease backend (postgresql)",
    ),
    (
        r#""hosts-database": { "type": "mysql", "name": "kea" }"#,
        "/etc/kea/t.json:2: Dhcp4.hosts-database: not supported: host database (hosts-database, mysql)",
    ),
    (
        r#""hooks-libraries": [ { "library": "/usr/lib/kea/hooks/libdhcp_flex_id.so" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.hooks-libraries[0].library: not supported: flex_id hook (libdhcp_flex_id.so)",
    ),
    (
        r#""hooks-libraries": [ { "library": "libdhcp_flex_option.so" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.hooks-libraries[0].library: not supported: flex_option hook (libdhcp_flex_option.so)",
    ),
    (
        r#""hooks-libraries": [ { "library": "/usr/lib/kea/hooks/libdhcp_radius.so" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.hooks-libraries[0].library: not supported: RADIUS hook (libdhcp_radius.so)",
    ),
    (
        r#""hooks-libraries": [ { "library": "libdhcp_run_script.so" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.hooks-libraries[0].library: not supported: run_script hook (libdhcp_run_script.so)",
    ),
    (
        r#""hooks-libraries": [ { "library": "libdhcp_radius.so" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.hooks-libraries[0].library: not supported: RADIUS hook (libdhcp_radius.so)",
    ),
    (
        r#""hooks-libraries": [ { "library": "libdhcp_bootp.so" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.hooks-libraries[0].library: not supported: BOOTP hook (libdhcp_bootp.so)",
    ),
    (
        r#""hooks-libraries": [ { "library": "/opt/site/filter.so" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.hooks-libraries[0].library: not supported: hook library filter.so (what it changes in answers is unknown)",
    ),
    (
        r#""dhcp-ddns": { "enable-updates": true }"#,
        "/etc/kea/t.json:2: Dhcp4.dhcp-ddns.enable-updates: not supported: DDNS updates (enable-updates true)",
    ),
    (
        r#""config-control": { "config-databases": [ { "type": "mysql" } ] }"#,
        "/etc/kea/t.json:2: Dhcp4.config-control: not supported: config backend (config-control)",
    ),
    (
        r#""dhcp4o6-port": 6767"#,
        "/etc/kea/t.json:2: Dhcp4.dhcp4o6-port: not supported: DHCPv4-over-DHCPv6 (dhcp4o6-port)",
    ),
    (
        r#""host-reservation-identifiers": [ "hw-address", "flex-id" ]"#,
        "/etc/kea/t.json:2: Dhcp4.host-reservation-identifiers[1]: not supported: flex_id hook (libdhcp_flex_id.so): flex-id identifiers",
    ),
    (
        r#""ddns-replace-client-name": "always""#,
        "/etc/kea/t.json:2: Dhcp4.ddns-replace-client-name: not supported: host name replacement (ddns-replace-client-name)",
    ),
    (
        r#""subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "4o6-interface": "eth1" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.subnet4[0].4o6-interface: not supported: DHCPv4-over-DHCPv6 (4o6-interface)",
    ),
    (
        r#""client-classes": [ { "name": "t", "template-test": "option[60].hex" } ]"#,
        "/etc/kea/t.json:2: Dhcp4.client-classes[0].template-test: not supported: template classes (template-test)",
    ),
    (
        r#""shared-networks": [ { "name": "n", "cache-threshold": 0.25 } ]"#,
        "/etc/kea/t.json:2: Dhcp4.shared-networks[0].cache-threshold: not supported: lease caching (cache-threshold, cache-max-age)",
    ),
];

#[test]
fn each_refusal_names_file_line_key_and_feature() {
    for (text, expected) in REFUSALS {
        assert_eq!(&refuse(text), expected, "for {text}");
    }
}

#[test]
fn refusals_are_unsupported_and_typos_unknown() {
    let refused = refuse_doc(r#"{ "Dhcp4": { "lease-database": { "type": "mysql" } } }"#);
    assert!(matches!(refused.kind, ConfigErrorKind::Unsupported(_)));
    assert!(refused.to_string().contains("not supported: "));
    let typo = refuse_doc(r#"{ "Dhcp4": { "lease-databse": { "type": "memfile" } } }"#);
    assert!(matches!(typo.kind, ConfigErrorKind::Unknown));
    assert!(typo
        .to_string()
        .ends_with("Dhcp4.lease-databse: unknown option"));
}

#[test]
fn a_syntax_error_is_located() {
    let error = refuse_doc("{ \"Dhcp4\": {\n \"valid-lifetime\": 10\n \"renew-timer\": 5 } }");
    assert!(matches!(error.kind, ConfigErrorKind::Syntax(_)));
    assert!(
        error
            .to_string()
            .starts_with("/etc/kea/t.json:3: syntax error"),
        "{error}"
    );
}
