//! Client classes and option data through the options and expression APIs.

use super::{load, refuse};

#[test]
fn classes_load_in_order_with_their_settings() {
    let (config, _) = load(
        r#""client-classes": [
             { "name": "voip", "test": "substring(option[60].hex,0,6) == 'Aastra'",
               "next-server": "192.0.2.254", "server-hostname": "hal9000", "boot-file-name": "/dev/null",
               "valid-lifetime": 600, "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.1" } ] },
             { "name": "late", "only-if-required": true },
             { "name": "later", "only-in-additional-list": true },
             { "name": "plain" } ]"#,
    );
    let names: Vec<_> = config.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["voip", "late", "later", "plain"]);
    let voip = &config.classes[0];
    assert!(voip.test.is_some());
    assert_eq!(voip.boot.server_hostname.as_deref(), Some("hal9000"));
    assert_eq!(
        voip.lifetime.map(|l| (l.min, l.default, l.max)),
        Some((600, 600, 600))
    );
    assert_eq!(voip.options.len(), 1);
    assert_eq!(voip.options[0].code, 6);
    assert_eq!(voip.options[0].data, vec![192, 0, 2, 1]);
    assert!(config.classes[1].only_if_required && config.classes[2].only_if_required);
    assert!(config.classes[3].test.is_none() && !config.classes[3].only_if_required);
}

#[test]
fn a_bad_expression_names_the_class_and_the_position() {
    let message = refuse(
        "\"client-classes\": [ { \"name\": \"broken\",\n \"test\": \"option[60].hex == \" } ]",
    );
    assert!(message.starts_with("/etc/kea/t.json:3: Dhcp4.client-classes[0].test: invalid value: class \"broken\": at position"), "{message}");
}

#[test]
fn member_must_name_a_class_defined_before_or_a_built_in_one() {
    let message =
        refuse(r#""client-classes": [ { "name": "a", "test": "member('b')" }, { "name": "b" } ]"#);
    assert!(
        message.contains("class \"a\": member('b') names a class not defined before it"),
        "{message}"
    );
    let (config, _) = load(
        r#""client-classes": [ { "name": "k", "test": "member('KNOWN')" },
             { "name": "via", "test": "member('k') and member('ALL')" },
             { "name": "free", "test": "member('VENDOR_CLASS_docsis3.0') or member('DROP') or member('BOOTP')" } ]"#,
    );
    let depends: Vec<_> = config.classes.iter().map(|c| c.depends_on_known).collect();
    assert_eq!(depends, vec![true, true, false]);
}

#[test]
fn built_in_classes_and_duplicates_are_checked() {
    let dup = refuse(r#""client-classes": [ { "name": "a" }, { "name": "a" } ]"#);
    assert!(
        dup.contains("Dhcp4.client-classes[1].name: invalid value: class \"a\" is already defined"),
        "{dup}"
    );
    let known = refuse(r#""client-classes": [ { "name": "KNOWN", "test": "member('ALL')" } ]"#);
    assert!(
        known.contains("built-in class \"KNOWN\" cannot have a test"),
        "{known}"
    );
    let drop = refuse(r#""client-classes": [ { "name": "DROP", "only-if-required": true } ]"#);
    assert!(drop.contains("cannot be only-if-required"), "{drop}");
}

#[test]
fn option_data_at_every_scope_and_errors_on_the_field() {
    let (config, _) = load(
        r#""option-def": [ { "name": "my-opt", "code": 222, "type": "uint16" } ],
           "option-data": [ { "name": "my-opt", "data": "258" } ],
           "shared-networks": [ { "name": "n", "option-data": [ { "code": 15, "data": "example.org" } ],
             "subnet4": [ { "id": 1, "subnet": "10.0.1.0/24", "option-data": [ { "name": "routers", "data": "10.0.1.1" } ],
               "pools": [ { "pool": "10.0.1.10 - 10.0.1.20", "option-data": [ { "name": "default-ip-ttl", "data": "0xf0" } ] } ],
               "reservations": [ { "hw-address": "01:02:03:04:05:06", "option-data": [ { "name": "host-name", "data": "h" } ] } ] } ] } ]"#,
    );
    let codes = |options: &[crate::options::ConfiguredOption]| -> Vec<(u8, Vec<u8>)> {
        options.iter().map(|o| (o.code, o.data.clone())).collect()
    };
    assert_eq!(codes(&config.options), vec![(222, vec![1, 2])]);
    assert_eq!(
        codes(&config.shared_networks[0].options),
        vec![(15, b"example.org".to_vec())]
    );
    let subnet = &config.subnets[0];
    assert_eq!(codes(&subnet.options), vec![(3, vec![10, 0, 1, 1])]);
    assert_eq!(codes(&subnet.pools[0].options), vec![(23, vec![0xf0])]);
    assert_eq!(
        codes(&subnet.reservations[0].options),
        vec![(12, b"h".to_vec())]
    );
    let unknown = refuse("\"subnet4\": [ { \"id\": 1, \"subnet\": \"10.0.1.0/24\",\n \"option-data\": [ { \"name\": \"no-such-option\", \"data\": \"1\" } ] } ]");
    assert!(
        unknown.starts_with("/etc/kea/t.json:3: Dhcp4.subnet4[0].option-data[0]."),
        "{unknown}"
    );
    let bad_def = refuse(r#""option-def": [ { "name": "x", "code": 300, "type": "uint8" } ]"#);
    assert!(
        bad_def.contains("Dhcp4.option-def[0].code: invalid value: 300 is not from 0 to 255"),
        "{bad_def}"
    );
}

#[test]
fn a_class_may_define_option_43_for_its_vendor() {
    let (config, _) = load(
        r#""option-def": [ { "name": "vlanid", "code": 2, "space": "339", "type": "uint32" } ],
           "client-classes": [ { "name": "VENDOR_CLASS_339",
             "option-def": [ { "name": "vendor-encapsulated-options", "code": 43, "type": "empty", "encapsulate": "339" } ],
             "option-data": [ { "name": "vendor-encapsulated-options" },
                              { "name": "vlanid", "space": "339", "data": "123" } ] } ]"#,
    );
    let options = &config.classes[0].options;
    assert_eq!(options.len(), 1);
    assert_eq!(
        (options[0].code, options[0].data.as_slice()),
        (43, &[2, 4, 0, 0, 0, 123][..])
    );
    let other = refuse(
        r#""client-classes": [ { "name": "c", "option-def": [ { "name": "x", "code": 200, "type": "uint8" } ] } ]"#,
    );
    assert!(other.contains("Dhcp4.client-classes[0].option-def[0].code: invalid value: a class may define only option 43"), "{other}");
}

#[test]
fn a_guard_naming_no_class_warns_where_it_is_written() {
    let (_, warnings) = load(
        r#""client-classes": [ { "name": "voip" } ],
           "shared-networks": [ { "name": "n", "client-class": "lab",
             "subnet4": [ { "id": 1, "subnet": "10.0.1.0/24" } ] } ],
           "subnet4": [ { "id": 2, "subnet": "10.0.2.0/24", "client-class": "voiP",
             "require-client-classes": [ "voip", "KNOWN" ],
             "pools": [ { "pool": "10.0.2.10 - 10.0.2.20", "client-class": "tagged" } ],
             "reservations": [ { "hw-address": "01:02:03:04:05:06", "client-classes": [ "tagged" ] } ] } ]"#,
    );
    let keys: Vec<&str> = warnings
        .iter()
        .filter(|w| w.message.contains("is not defined"))
        .map(|w| w.key.as_str())
        .collect();
    assert_eq!(
        keys,
        vec![
            "Dhcp4.shared-networks[0].client-class",
            "Dhcp4.subnet4[0].client-class"
        ]
    );
}
