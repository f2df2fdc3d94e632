//! The document and its `Dhcp4` map: global settings, then the sections in
//! the order Kea reads them (option definitions before option data, classes
//! before subnets, shared networks' subnets before `subnet4`).

use std::path::PathBuf;

use common::config::ConfigError;

use super::classes::{client_classes, warn_undefined, Place};
use super::json::Node;
use super::known_keys::{self, unsupported, Scope};
use super::model::{Config, SocketType};
use super::network::NetworkParams;
use super::options::{option_data, option_defs};
use super::reservations::{host_identifiers, reservations};
use super::shared::shared_networks;
use super::subnets::{number, subnet, Parent};
use super::walk::{index, Loader, Obj};
use crate::options::OptionDefs;

/// Builds the model from the parsed document.
pub(crate) fn config(loader: &mut Loader, root: &Node) -> Result<Config, ConfigError> {
    let top = Obj::new(root, "")?;
    known_keys::check(loader, &top, known_keys::TOP)?;
    let entry = top.get("Dhcp4").ok_or_else(|| {
        ConfigError::invalid(
            top.location,
            "Dhcp4",
            "missing: the document has no Dhcp4 map",
        )
    })?;
    let dhcp4 = Obj::new(&entry.value, "Dhcp4")?;
    refusals(loader, &dhcp4)?;
    known_keys::check_network(loader, &dhcp4, Scope::Global)?;

    loader.shared_reserved_ips = dhcp4.bool("ip-reservations-unique")? == Some(false);
    let mut config = server_settings(loader, &dhcp4)?;
    let mut defs = OptionDefs::standard();
    option_defs(loader, &mut defs, &dhcp4)?;
    (config.options, config.vendor_options) = option_data(loader, &defs, &dhcp4)?;
    config.classes = client_classes(loader, &defs, &dhcp4)?;
    config.host_identifiers = host_identifiers(&dhcp4)?;
    config.reservations = reservations(loader, &defs, &dhcp4, None)?;

    let global = NetworkParams::parse(&dhcp4)?.over(&NetworkParams::kea_defaults());
    config.boot = global.boot.clone();
    let mut read = Vec::new();
    config.shared_networks = shared_networks(loader, &defs, &dhcp4, &global, &mut read)?;
    let parent = Parent {
        params: &global,
        shared: None,
        relay: None,
        interface: None,
        client_class: None,
    };
    let path = dhcp4.key("subnet4");
    for (i, node) in dhcp4
        .list("subnet4")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        read.push(subnet(loader, &defs, node, index(&path, i), &parent)?);
    }
    let places: Vec<Place> = read
        .iter()
        .map(|r| (r.location.clone(), r.path.clone()))
        .collect();
    config.subnets = number(loader, read)?;
    let path = dhcp4.key("shared-networks");
    let networks: Vec<Place> = dhcp4
        .list("shared-networks")?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, node)| (node.location.clone(), index(&path, i)))
        .collect();
    warn_undefined(loader, &config, &places, &networks);
    config.option_defs = defs;
    Ok(config)
}

/// Sections whose mere presence at a working value is refused.
fn refusals(loader: &mut Loader, dhcp4: &Obj<'_>) -> Result<(), ConfigError> {
    hooks(loader, dhcp4)?;
    for key in ["hosts-database", "hosts-databases"] {
        let Some(entry) = dhcp4.get(key) else {
            continue;
        };
        let first = match &entry.value.value {
            super::json::Value::List(items) => items.first(),
            _ => Some(&entry.value),
        };
        if let Some(db) = first {
            let obj = Obj::new(db, &entry.key)?;
            let kind = obj.str("type")?.unwrap_or("unknown type");
            return Err(unsupported(
                &entry.location,
                dhcp4.key(key),
                format!("host database ({key}, {kind})"),
            ));
        }
    }
    if let Some(entry) = dhcp4.get("dhcp-ddns") {
        let path = dhcp4.key("dhcp-ddns");
        let ddns = Obj::new(&entry.value, &path)?;
        known_keys::check(loader, &ddns, known_keys::DHCP_DDNS)?;
        if ddns.bool("enable-updates")? == Some(true) {
            return Err(unsupported(
                ddns.loc("enable-updates"),
                ddns.key("enable-updates"),
                "DDNS updates (enable-updates true)",
            ));
        }
    }
    if let Some(entry) = dhcp4.get("compatibility") {
        let path = dhcp4.key("compatibility");
        known_keys::check(
            loader,
            &Obj::new(&entry.value, &path)?,
            known_keys::COMPATIBILITY,
        )?;
    }
    Ok(())
}

/// What a hook library does to answers, matched on its file name.
enum Hook {
    /// Harmless to skip: commands, statistics, logging.
    Harmless,
    /// Served natively (lease_cmds, HA): read elsewhere, loaded silently.
    Served,
    /// Changes what clients get: refused, naming the feature.
    Changes(&'static str),
}

/// Hook libraries by a part of their file name, most specific first.
const HOOKS: &[(&str, Hook)] = &[
    ("lease_cmds", Hook::Served),
    ("libdhcp_ha", Hook::Served),
    ("stat_cmds", Hook::Harmless),
    ("host_cmds", Hook::Harmless),
    ("subnet_cmds", Hook::Harmless),
    ("class_cmds", Hook::Harmless),
    ("cb_cmds", Hook::Harmless),
    ("legal_log", Hook::Harmless),
    ("perfmon", Hook::Harmless),
    ("host_cache", Hook::Harmless),
    ("rbac", Hook::Harmless),
    ("ddns_gss_tsig", Hook::Harmless),
    ("flex_option", Hook::Changes("flex_option hook")),
    ("flex_id", Hook::Changes("flex_id hook")),
    ("radius", Hook::Changes("RADIUS hook")),
    ("run_script", Hook::Changes("run_script hook")),
    ("high_availability", Hook::Served),
    ("bootp", Hook::Changes("BOOTP hook")),
    ("lease_query", Hook::Changes("leasequery hook")),
    ("limits", Hook::Changes("rate limits hook")),
    ("ping_check", Hook::Changes("ping_check hook")),
    ("user_chk", Hook::Changes("user_chk hook")),
    ("mysql_cb", Hook::Changes("config backend hook (mysql_cb)")),
    ("pgsql_cb", Hook::Changes("config backend hook (pgsql_cb)")),
    ("libdhcp_mysql", Hook::Harmless),
    ("libdhcp_pgsql", Hook::Harmless),
];

/// `hooks-libraries`: harmless hooks warn, hooks that change answers are refused.
fn hooks(loader: &mut Loader, dhcp4: &Obj<'_>) -> Result<(), ConfigError> {
    dhcp4.each_map("hooks-libraries", |obj| {
        known_keys::check(loader, obj, known_keys::HOOK)?;
        let library = obj.required_str("library")?;
        let file = std::path::Path::new(library)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or(library);
        let key = obj.key("library");
        match HOOKS.iter().find(|(part, _)| file.contains(part)) {
            Some((_, Hook::Served)) => {}
            Some((_, Hook::Harmless)) => loader.warn(
                obj.loc("library"),
                &key,
                format!("ignored: {file} is not loaded (its commands and logs are not available; answers do not change)"),
            ),
            Some((_, Hook::Changes(feature))) => {
                return Err(unsupported(obj.loc("library"), key, format!("{feature} ({file})")))
            }
            None => {
                return Err(unsupported(
                    obj.loc("library"),
                    key,
                    format!("hook library {file} (what it changes in answers is unknown)"),
                ))
            }
        }
        Ok(())
    })
}

/// Interfaces, lease database, expiry and the other server-wide settings.
fn server_settings(loader: &mut Loader, dhcp4: &Obj<'_>) -> Result<Config, ConfigError> {
    let mut config = Config {
        interfaces: Vec::new(),
        socket_type: SocketType::Raw,
        lease_file: None,
        persist: true,
        lfc_interval: 3600,
        reclaim_timer_wait_time: 10,
        hold_reclaimed_time: 3600,
        decline_probation_period: dhcp4.u32("decline-probation-period")?.unwrap_or(86_400),
        echo_client_id: dhcp4.bool("echo-client-id")?.unwrap_or(true),
        host_identifiers: Vec::new(),
        option_defs: OptionDefs::default(),
        options: Vec::new(),
        vendor_options: Vec::new(),
        classes: Vec::new(),
        reservations: Vec::new(),
        shared_networks: Vec::new(),
        subnets: Vec::new(),
        boot: Default::default(),
        control: super::control::sockets(loader, dhcp4)?,
        ha: super::ha::from_hooks(loader, dhcp4)?,
        document: Default::default(),
    };
    if let Some(entry) = dhcp4.get("interfaces-config") {
        let path = dhcp4.key("interfaces-config");
        let obj = Obj::new(&entry.value, &path)?;
        known_keys::check(loader, &obj, known_keys::INTERFACES)?;
        config.interfaces = obj.strings("interfaces")?;
        config.socket_type = match obj.str("dhcp-socket-type")? {
            None | Some("raw") => SocketType::Raw,
            Some("udp") => SocketType::Udp,
            Some(other) => {
                return Err(ConfigError::invalid(
                    obj.loc("dhcp-socket-type"),
                    obj.key("dhcp-socket-type"),
                    format!("{other:?}: expected \"raw\" or \"udp\""),
                ))
            }
        };
    }
    if let Some(entry) = dhcp4.get("lease-database") {
        let path = dhcp4.key("lease-database");
        let obj = Obj::new(&entry.value, &path)?;
        known_keys::check(loader, &obj, known_keys::LEASE_DB)?;
        match obj.str("type")? {
            None | Some("memfile") => {}
            Some(kind @ ("mysql" | "postgresql" | "cql")) => {
                return Err(unsupported(
                    obj.loc("type"),
                    obj.key("type"),
                    format!("SQL lease backend ({kind})"),
                ))
            }
            Some(other) => {
                return Err(ConfigError::invalid(
                    obj.loc("type"),
                    obj.key("type"),
                    format!("{other:?}: expected \"memfile\", \"mysql\" or \"postgresql\""),
                ))
            }
        }
        config.lease_file = obj
            .str("name")?
            .filter(|n| !n.is_empty())
            .map(PathBuf::from);
        config.persist = obj.bool("persist")?.unwrap_or(true);
        config.lfc_interval = obj.u32("lfc-interval")?.unwrap_or(3600);
    }
    if let Some(entry) = dhcp4.get("expired-leases-processing") {
        let path = dhcp4.key("expired-leases-processing");
        let obj = Obj::new(&entry.value, &path)?;
        known_keys::check(loader, &obj, known_keys::EXPIRED)?;
        config.reclaim_timer_wait_time = obj.u32("reclaim-timer-wait-time")?.unwrap_or(10);
        config.hold_reclaimed_time = obj.u32("hold-reclaimed-time")?.unwrap_or(3600);
    }
    Ok(config)
}
