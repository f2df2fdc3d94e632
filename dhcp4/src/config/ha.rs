//! The HA hook's configuration (libdhcp_ha.so's `parameters`), read with
//! Kea 2.2's defaults, ranges and validation rules, and one rule of ours:
//! our listener on this server's URL answers commands that change leases,
//! so off loopback it needs basic authentication or client certificates.

use std::net::SocketAddr;
use std::path::PathBuf;

use common::config::{ConfigError, Location};

use super::json::Value;
use super::model::{Ha, HaMode, HaPause, HaPeer, HaRole, HaUrl, HttpTls};
use super::walk::{index, Loader, Obj};

/// Kea's HA state names a `state-machine` entry may pause.
const STATES: &[&str] = &[
    "backup",
    "communication-recovery",
    "hot-standby",
    "load-balancing",
    "in-maintenance",
    "partner-down",
    "partner-in-maintenance",
    "passive-backup",
    "ready",
    "syncing",
    "terminated",
    "waiting",
];

/// The HA configuration, when a hooks-libraries entry loads libdhcp_ha.so.
pub(crate) fn from_hooks(loader: &mut Loader, dhcp4: &Obj<'_>) -> Result<Option<Ha>, ConfigError> {
    let mut found = None;
    dhcp4.each_map("hooks-libraries", |hook| {
        let library = hook.str("library")?.unwrap_or("");
        if found.is_none()
            && (library.contains("libdhcp_ha") || library.contains("high_availability"))
        {
            found = Some(from_hook(loader, hook)?);
        }
        Ok(())
    })?;
    Ok(found)
}

/// The `high-availability` list of one hook entry's `parameters`: exactly
/// one map, as Kea 2.2 reads it.
fn from_hook(loader: &mut Loader, hook: &Obj<'_>) -> Result<Ha, ConfigError> {
    let params_path = hook.key("parameters");
    let Some(entry) = hook.get("parameters") else {
        return Err(ConfigError::invalid(
            hook.loc("library"),
            params_path,
            "HA configuration must not be null",
        ));
    };
    let params = Obj::new(&entry.value, &params_path)?;
    let list_path = params.key("high-availability");
    let list = params.list("high-availability")?.ok_or_else(|| {
        ConfigError::invalid(
            params.location,
            list_path.clone(),
            "HA configuration must not be null",
        )
    })?;
    let [only] = list else {
        return Err(ConfigError::invalid(
            params.loc("high-availability"),
            list_path,
            "invalid number of configurations in the HA configuration list. Expected exactly one configuration",
        ));
    };
    let one = index(&list_path, 0);
    parse(loader, &Obj::new(only, &one)?)
}

/// An integer key within `0..=max`, Kea's texts for the rest.
fn bounded(obj: &Obj<'_>, key: &str, max: u32, default: u32) -> Result<u32, ConfigError> {
    let Some(entry) = obj.get(key) else {
        return Ok(default);
    };
    match entry.value.value {
        Value::Int(n) if n < 0 => Err(ConfigError::invalid(
            &entry.location,
            obj.key(key),
            format!("'{key}' must not be negative"),
        )),
        Value::Int(n) if n > i64::from(max) => Err(ConfigError::invalid(
            &entry.location,
            obj.key(key),
            format!("'{key}' must not be greater than {max}"),
        )),
        Value::Int(n) => Ok(u32::try_from(n).unwrap_or(max)),
        _ => Err(ConfigError::invalid(
            &entry.location,
            obj.key(key),
            format!("invalid type specified for parameter '{key}'"),
        )),
    }
}

/// The keys Kea 2.2's HA hook reads in its map and in each peer.
const HA_KEYS: &[&str] = &[
    "this-server-name",
    "mode",
    "heartbeat-delay",
    "max-response-delay",
    "max-ack-delay",
    "max-unacked-clients",
    "send-lease-updates",
    "sync-leases",
    "sync-timeout",
    "sync-page-limit",
    "delayed-updates-limit",
    "wait-backup-ack",
    "multi-threading",
    "trust-anchor",
    "cert-file",
    "key-file",
    "require-client-certs",
    "restrict-commands",
    "peers",
    "state-machine",
    "comment",
    "user-context",
];
const PEER_KEYS: &[&str] = &[
    "name",
    "url",
    "role",
    "auto-failover",
    "basic-auth-user",
    "basic-auth-password",
    "basic-auth-password-file",
    "trust-anchor",
    "cert-file",
    "key-file",
    "comment",
    "user-context",
];

/// Kea's HA hook ignores keys it does not know; a typo there silently
/// keeps a default, so each is named in a warning.
fn warn_unknown(loader: &mut Loader, obj: &Obj<'_>, known: &[&str]) {
    for entry in obj
        .entries
        .iter()
        .filter(|e| !known.contains(&e.key.as_str()))
    {
        loader.warn(
            &entry.location,
            &obj.key(&entry.key),
            "not a key of Kea's HA hook: ignored, as Kea ignores it (a typo?)",
        );
    }
}

fn parse(loader: &mut Loader, ha: &Obj<'_>) -> Result<Ha, ConfigError> {
    warn_unknown(loader, ha, HA_KEYS);
    for key in ["multi-threading"] {
        if let Some(entry) = ha.get(key) {
            if !matches!(entry.value.value, Value::Map(_)) {
                return Err(ConfigError::invalid(
                    &entry.location,
                    ha.key(key),
                    "multi-threading configuration must be a map",
                ));
            }
            loader.warn(
                &entry.location,
                &ha.key(key),
                "ignored: our threading is our own; the HA listener is always dedicated",
            );
        }
    }
    let this_server = ha.required_str("this-server-name")?.trim().to_string();
    let mode = match ha.required_str("mode")? {
        "load-balancing" => HaMode::LoadBalancing,
        "hot-standby" => HaMode::HotStandby,
        "passive-backup" => HaMode::PassiveBackup,
        other => {
            return Err(ConfigError::invalid(
                ha.loc("mode"),
                ha.key("mode"),
                format!("unsupported value '{other}' for mode parameter"),
            ))
        }
    };
    let global_tls = tls_files(ha)?;
    let peers_path = ha.key("peers");
    let peer_nodes = ha.list("peers")?.ok_or_else(|| {
        ConfigError::invalid(
            ha.location,
            peers_path.clone(),
            "'peers' parameter missing in HA configuration",
        )
    })?;
    let mut peers: Vec<HaPeer> = Vec::with_capacity(peer_nodes.len());
    for (i, node) in peer_nodes.iter().enumerate() {
        let at = index(&peers_path, i);
        let peer = Obj::new(node, &at)?;
        warn_unknown(loader, &peer, PEER_KEYS);
        let parsed = parse_peer(&peer, global_tls.as_ref())?;
        if peers.iter().any(|p| p.name == parsed.name) {
            return Err(ConfigError::invalid(
                peer.loc("name"),
                peer.key("name"),
                format!("peer with name '{}' already specified", parsed.name),
            ));
        }
        peers.push(parsed);
    }
    let config = Ha {
        this_server,
        mode,
        heartbeat_delay_ms: bounded(ha, "heartbeat-delay", 65_535, 10_000)?,
        max_response_delay_ms: bounded(ha, "max-response-delay", 65_535, 60_000)?,
        max_ack_delay_ms: bounded(ha, "max-ack-delay", 65_535, 10_000)?,
        max_unacked_clients: bounded(ha, "max-unacked-clients", u32::MAX, 10)?,
        send_lease_updates: ha.bool("send-lease-updates")?.unwrap_or(true),
        sync_leases: ha.bool("sync-leases")?.unwrap_or(true),
        sync_timeout_ms: bounded(ha, "sync-timeout", u32::MAX, 60_000)?,
        sync_page_limit: bounded(ha, "sync-page-limit", u32::MAX, 10_000)?,
        delayed_updates_limit: bounded(
            ha,
            "delayed-updates-limit",
            u32::MAX,
            if mode == HaMode::LoadBalancing {
                100
            } else {
                0
            },
        )?,
        wait_backup_ack: ha.bool("wait-backup-ack")?.unwrap_or(false),
        require_client_certs: ha.bool("require-client-certs")?.unwrap_or(true),
        restrict_commands: ha.bool("restrict-commands")?.unwrap_or(false),
        peers,
        pauses: pauses(ha)?,
    };
    validate(ha, &config)?;
    Ok(config)
}

/// TLS files of `obj` (the HA map or a peer): all three or none.
fn tls_files(obj: &Obj<'_>) -> Result<Option<(PathBuf, PathBuf, PathBuf)>, ConfigError> {
    let file = |key| -> Result<Option<PathBuf>, ConfigError> {
        Ok(obj.str(key)?.filter(|s| !s.is_empty()).map(PathBuf::from))
    };
    match (file("trust-anchor")?, file("cert-file")?, file("key-file")?) {
        (None, None, None) => Ok(None),
        (Some(ca), Some(cert), Some(key)) => Ok(Some((ca, cert, key))),
        (ca, cert, _) => {
            let missing = if ca.is_none() {
                "trust-anchor"
            } else if cert.is_none() {
                "cert-file"
            } else {
                "key-file"
            };
            Err(ConfigError::invalid(
                obj.loc(missing),
                obj.key(missing),
                format!("{missing} parameter is missing or empty: all or none of TLS parameters must be set"),
            ))
        }
    }
}

fn parse_peer(
    peer: &Obj<'_>,
    global_tls: Option<&(PathBuf, PathBuf, PathBuf)>,
) -> Result<HaPeer, ConfigError> {
    let name = peer.required_str("name")?.trim().to_string();
    if name.is_empty() {
        return Err(ConfigError::invalid(
            peer.loc("name"),
            peer.key("name"),
            "peer name must not be empty",
        ));
    }
    let role = match peer.required_str("role")? {
        "primary" => HaRole::Primary,
        "secondary" => HaRole::Secondary,
        "standby" => HaRole::Standby,
        "backup" => HaRole::Backup,
        other => {
            return Err(ConfigError::invalid(
                peer.loc("role"),
                peer.key("role"),
                format!("unsupported value '{other}' for role parameter"),
            ))
        }
    };
    let tls = tls_files(peer)?
        .or_else(|| global_tls.cloned())
        .map(|(ca, cert, key)| HttpTls {
            cert,
            key,
            trust_anchor: Some(ca),
            cert_required: true,
        });
    let url = parse_url(peer, &name, tls.is_some())?;
    let basic_auth = match peer.str("basic-auth-user")?.filter(|u| !u.is_empty()) {
        None => None,
        Some(user) => {
            if user.contains(':') {
                return Err(ConfigError::invalid(
                    peer.loc("basic-auth-user"),
                    peer.key("basic-auth-user"),
                    format!("user '{user}' must not contain a ':' in peer '{name}'"),
                ));
            }
            let password = match (peer.str("basic-auth-password")?, peer.str("basic-auth-password-file")?) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::invalid(
                        peer.loc("basic-auth-password-file"),
                        peer.key("basic-auth-password-file"),
                        format!("only one of basic-auth-password and basic-auth-password-file parameter can be configured in peer '{name}'"),
                    ))
                }
                (Some(password), None) => password.to_string(),
                (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| {
                    ConfigError::invalid(
                        peer.loc("basic-auth-password-file"),
                        peer.key("basic-auth-password-file"),
                        format!("bad password file in peer '{name}': {e}"),
                    )
                })?,
                (None, None) => String::new(),
            };
            Some((user.to_string(), password))
        }
    };
    Ok(HaPeer {
        name,
        url,
        role,
        auto_failover: peer.bool("auto-failover")?.unwrap_or(true),
        basic_auth,
        tls,
    })
}

/// `http://IP:PORT/PATH` (Kea takes only IP literals; the port defaults
/// to 80 or 443).
fn parse_url(peer: &Obj<'_>, name: &str, tls: bool) -> Result<HaUrl, ConfigError> {
    let text = peer.required_str("url")?;
    let bad = |why: String| ConfigError::invalid(peer.loc("url"), peer.key("url"), why);
    let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad(format!("invalid URL: {text} for server {name}")));
    };
    if https && !tls {
        return Err(bad(format!(
            "bad url '{text}': https scheme is not supported for server {name} where TLS is disabled"
        )));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let default_port = if https { 443 } else { 80 };
    let addr: SocketAddr = match authority.parse() {
        Ok(addr) => addr,
        Err(_) => match authority
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
        {
            Ok(ip) => SocketAddr::new(ip, default_port),
            Err(_) => {
                return Err(bad(format!(
                    "bad url '{text}': the host must be an IP address for server {name}"
                )))
            }
        },
    };
    Ok(HaUrl {
        text: text.to_string(),
        https,
        addr,
        path: path.to_string(),
    })
}

fn pauses(ha: &Obj<'_>) -> Result<Vec<(String, HaPause)>, ConfigError> {
    let Some(entry) = ha.get("state-machine") else {
        return Ok(Vec::new());
    };
    let path = ha.key("state-machine");
    let machine = Obj::new(&entry.value, &path)?;
    let mut pauses: Vec<(String, HaPause)> = Vec::new();
    machine.each_map("states", |state| {
        let name = state.required_str("state")?;
        if !STATES.contains(&name) {
            return Err(ConfigError::invalid(
                state.loc("state"),
                state.key("state"),
                format!("unknown state {name}"),
            ));
        }
        if pauses.iter().any(|(n, _)| n == name) {
            return Err(ConfigError::invalid(
                state.loc("state"),
                state.key("state"),
                format!("duplicated configuration for the '{name}' state"),
            ));
        }
        match state.str("pause")?.unwrap_or("never") {
            "never" => {}
            "always" => pauses.push((name.to_string(), HaPause::Always)),
            "once" => pauses.push((name.to_string(), HaPause::Once)),
            other => {
                return Err(ConfigError::invalid(
                    state.loc("pause"),
                    state.key("pause"),
                    format!("unsupported value {other} of 'pause' parameter"),
                ))
            }
        }
        Ok(())
    })?;
    Ok(pauses)
}

/// Kea's HAConfig::validate, and our rule for the listener's exposure.
fn validate(ha: &Obj<'_>, config: &Ha) -> Result<(), ConfigError> {
    let at = |key: &str| -> (Location, String) { (ha.loc(key).clone(), ha.key(key)) };
    let fail = |key: &str, why: String| {
        let (loc, path) = at(key);
        ConfigError::invalid(&loc, path, why)
    };
    if config.this_server.is_empty() {
        return Err(fail(
            "this-server-name",
            "'this-server-name' value must not be empty".into(),
        ));
    }
    let Some(me) = config.peers.iter().find(|p| p.name == config.this_server) else {
        return Err(fail(
            "this-server-name",
            format!(
                "no peer configuration specified for the '{}'",
                config.this_server
            ),
        ));
    };
    let count = |role| config.peers.iter().filter(|p| p.role == role).count();
    for role in [HaRole::Primary, HaRole::Secondary, HaRole::Standby] {
        if count(role) > 1 {
            return Err(fail(
                "peers",
                format!("multiple {} servers specified", role.name()),
            ));
        }
    }
    let (primaries, secondaries, standbys) = (
        count(HaRole::Primary),
        count(HaRole::Secondary),
        count(HaRole::Standby),
    );
    match config.mode {
        HaMode::LoadBalancing => {
            if standbys > 0 {
                return Err(fail(
                    "peers",
                    "standby servers not allowed in the load balancing configuration".into(),
                ));
            }
            if secondaries == 0 {
                return Err(fail(
                    "peers",
                    "secondary server required in the load balancing configuration".into(),
                ));
            }
            if primaries == 0 {
                return Err(fail(
                    "peers",
                    "primary server required in the load balancing configuration".into(),
                ));
            }
            if config.wait_backup_ack {
                return Err(fail(
                    "wait-backup-ack",
                    "'wait-backup-ack' must be set to false in the load balancing configuration"
                        .into(),
                ));
            }
        }
        HaMode::HotStandby => {
            if secondaries > 0 {
                return Err(fail(
                    "peers",
                    "secondary servers not allowed in the hot standby configuration".into(),
                ));
            }
            if standbys == 0 {
                return Err(fail(
                    "peers",
                    "standby server required in the hot standby configuration".into(),
                ));
            }
            if primaries == 0 {
                return Err(fail(
                    "peers",
                    "primary server required in the hot standby configuration".into(),
                ));
            }
            if config.wait_backup_ack {
                return Err(fail(
                    "wait-backup-ack",
                    "'wait-backup-ack' must be set to false in the hot standby configuration"
                        .into(),
                ));
            }
            if config.delayed_updates_limit > 0 {
                return Err(fail(
                    "delayed-updates-limit",
                    "'delayed-updates-limit' must be set to 0 in the hot standby configuration"
                        .into(),
                ));
            }
        }
        HaMode::PassiveBackup => {
            if secondaries > 0 {
                return Err(fail(
                    "peers",
                    "secondary servers not allowed in the passive backup configuration".into(),
                ));
            }
            if standbys > 0 {
                return Err(fail(
                    "peers",
                    "standby servers not allowed in the passive backup configuration".into(),
                ));
            }
            if primaries == 0 {
                return Err(fail(
                    "peers",
                    "primary server required in the passive backup configuration".into(),
                ));
            }
            if config.delayed_updates_limit > 0 {
                return Err(fail(
                    "delayed-updates-limit",
                    "'delayed-updates-limit' must be set to 0 in the passive backup configuration"
                        .into(),
                ));
            }
        }
    }
    let guarded = me.basic_auth.is_some() || (me.tls.is_some() && config.require_client_certs);
    if !me.url.addr.ip().is_loopback() && !guarded {
        return Err(fail(
            "peers",
            format!(
                "{}: this server's listener at {} answers lease commands to other hosts: give its peer entry basic-auth-user and basic-auth-password (its partner sends them), or TLS with require-client-certs",
                me.name, me.url.text
            ),
        ));
    }
    Ok(())
}
