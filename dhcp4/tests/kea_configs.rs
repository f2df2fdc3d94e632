//! Debian's stock Kea file and ISC's kea4 examples (package kea-doc) load,
//! or are refused as "not supported: FEATURE" — never as an unknown key.

use std::path::Path;

use common::config::ConfigErrorKind;

/// What a file is expected to do, and why.
enum Expect {
    /// Loads.
    Loads,
    /// Invalid for us: the message says why.
    Invalid(&'static str),
    /// Refused: the message names this feature.
    Unsupported(&'static str),
}

use Expect::{Invalid, Loads, Unsupported};

/// Every file of /usr/share/doc/kea/examples/kea4 (Kea 2.2), with its outcome.
const EXAMPLES: &[(&str, Expect)] = &[
    ("advanced.json", Loads),
    // Both list a MySQL host database (and DHCPv4-over-DHCPv6, a config backend).
    (
        "all-keys-netconf.json",
        Unsupported("host database (hosts-databases, mysql)"),
    ),
    (
        "all-keys.json",
        Unsupported("host database (hosts-databases, mysql)"),
    ),
    // Every standard option with data, in the dhcp4, docsis3-v4 and vendor spaces.
    ("all-options.json", Loads),
    ("backends.json", Loads),
    // Option 43 defined per class, classes depending on KNOWN.
    ("classify.json", Loads),
    ("classify2.json", Loads),
    ("comments.json", Loads),
    (
        "config-backend.json",
        Unsupported("config backend hook (mysql_cb)"),
    ),
    ("dhcpv4-over-dhcpv6.json", Unsupported("DHCPv4-over-DHCPv6")),
    // host-reservation-identifiers lists flex-id, which only the hook fills in.
    ("global-reservations.json", Unsupported("flex_id hook")),
    // ISC's HA example listens on a LAN address without credentials: our
    // listener answers lease commands, so it must be given basic-auth.
    (
        "ha-load-balancing-primary.json",
        Invalid("give its peer entry basic-auth-user and basic-auth-password"),
    ),
    ("hooks-radius.json", Unsupported("flex_id hook")),
    // A site-specific hook library: what it does to answers is unknown.
    ("hooks.json", Unsupported("hook library security.so")),
    ("leases-expiration.json", Loads),
    ("multiple-options.json", Loads),
    (
        "mysql-reservations.json",
        Unsupported("host database (hosts-database, mysql)"),
    ),
    (
        "pgsql-reservations.json",
        Unsupported("host database (hosts-databases, postgresql)"),
    ),
    ("reservations.json", Unsupported("flex_id hook")),
    ("several-subnets.json", Loads),
    ("shared-network.json", Loads),
    ("single-subnet.json", Loads),
    // Option 43 per vendor class, sub-options in a custom space.
    ("vendor-specific.json", Loads),
    ("vivso.json", Loads),
    (
        "with-ddns.json",
        Unsupported("DDNS updates (enable-updates true)"),
    ),
];

fn check(path: &Path, expect: &Expect) -> Result<(), String> {
    let result = dhcp4::config::load_file(path);
    match (result, expect) {
        (Ok(_), Loads) => Ok(()),
        (Err(e), Unsupported(feature))
            if matches!(e.kind, ConfigErrorKind::Unsupported(_))
                && e.to_string().contains(feature) =>
        {
            Ok(())
        }
        (Err(e), Invalid(why)) if e.to_string().contains(why) => Ok(()),
        (Ok(_), Invalid(why)) => Err(format!("{}: loaded, expected: {why}", path.display())),
        (Ok(_), Unsupported(feature)) => Err(format!(
            "{}: loaded, expected not supported: {feature}",
            path.display()
        )),
        (Err(e), _) => Err(format!("{}: {e}", path.display())),
    }
}

#[test]
fn isc_kea4_examples_load_or_name_the_unsupported_feature() {
    let dir = Path::new("/usr/share/doc/kea/examples/kea4");
    let mut failures = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/test.sh installs kea-doc)", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in &names {
        match EXAMPLES.iter().find(|(file, _)| file == name) {
            Some((_, expect)) => {
                if let Err(e) = check(&dir.join(name), expect) {
                    failures.push(e);
                }
            }
            None => failures.push(format!("{name}: not in the table")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn debians_stock_file_loads_unchanged() {
    let path = Path::new("/etc/kea/kea-dhcp4.conf");
    let (config, warnings) = dhcp4::config::load_file(path).unwrap_or_else(|e| panic!("{e}"));
    let [subnet] = &config.subnets[..] else {
        panic!("{:?}", config.subnets)
    };
    assert_eq!(subnet.id, 1);
    assert_eq!(subnet.reservations.len(), 6);
    assert_eq!(config.options.len(), 5);
    assert_eq!(config.classes.len(), 1);
    assert_eq!(
        config.classes[0].boot.server_hostname.as_deref(),
        Some("hal9000")
    );
    let said = |what: &str| warnings.iter().any(|w| w.message.contains(what));
    assert!(said("extraneous comma"), "{warnings:?}");
    assert!(said("no \"id\": numbered 1"), "{warnings:?}");
    assert!(said("flex-id needs the flex_id hook"), "{warnings:?}");
}

#[test]
fn the_repositorys_own_kea_files_load_without_warnings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in [
        "k8s/base/dhcp4/configs/kea-dhcp4.conf",
        "k8s/components/dhcp4-hostnetwork/configs/kea-dhcp4.conf",
    ] {
        let (config, warnings) =
            dhcp4::config::load_file(&root.join(file)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!config.subnets.is_empty(), "{file}");
        assert!(warnings.is_empty(), "{file}: {warnings:?}");
    }
}

/// A small deterministic generator (no dependency for a bounded fuzz loop).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap_or(0) % n.max(1)
    }
}

#[test]
fn mangled_stock_files_are_refused_or_loaded_never_a_panic() {
    let text = std::fs::read_to_string("/etc/kea/kea-dhcp4.conf").unwrap_or_else(|e| panic!("{e}"));
    let original: Vec<char> = text.chars().collect();
    let alphabet: Vec<char> = "{}[],:\"'\\/*#<?>-.0123456789eE truenlfalsx\n"
        .chars()
        .collect();
    let mut rng = Lcg(16);
    let mut refused = 0;
    for _ in 0..1500 {
        let mut chars = original.clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(chars.len());
            let c = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 => {
                    chars.remove(at);
                }
                1 => chars.insert(at, c),
                _ => chars[at] = c,
            }
        }
        let mangled: String = chars.into_iter().collect();
        match dhcp4::config::load_str(&mangled, Path::new("/etc/kea/kea-dhcp4.conf")) {
            Ok(_) => {}
            Err(e) => {
                assert!(e.location.is_some(), "{e}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0);
}
