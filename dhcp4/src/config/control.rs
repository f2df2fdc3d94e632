//! Where Kea's command channel listens: Kea 2.2's `control-socket` (one UNIX
//! socket) and Kea 3's `control-sockets` (a list of UNIX, `http` and `https`
//! listeners with basic authentication and TLS, as its Control Agent had).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use common::config::ConfigError;

use super::known_keys;
use super::model::{BasicAuth, ControlSockets, HttpControl, HttpTls};
use super::walk::{Loader, Obj};

/// Kea's default HTTP command port.
pub const DEFAULT_HTTP_PORT: u16 = 8000;

/// Reads `control-socket` and `control-sockets`.
pub(crate) fn sockets(loader: &mut Loader, dhcp4: &Obj<'_>) -> Result<ControlSockets, ConfigError> {
    let mut sockets = ControlSockets::default();
    if let Some(entry) = dhcp4.get("control-socket") {
        let path = dhcp4.key("control-socket");
        let obj = Obj::new(&entry.value, &path)?;
        socket(loader, &obj, &mut sockets)?;
    }
    dhcp4.each_map("control-sockets", |obj| socket(loader, obj, &mut sockets))?;
    Ok(sockets)
}

/// One socket entry, added to `sockets`.
fn socket(
    loader: &mut Loader,
    obj: &Obj<'_>,
    sockets: &mut ControlSockets,
) -> Result<(), ConfigError> {
    known_keys::check(loader, obj, known_keys::CONTROL_SOCKET)?;
    match obj.str("socket-type")?.unwrap_or("unix") {
        "unix" => {
            if sockets.unix.is_some() {
                return Err(ConfigError::invalid(
                    obj.location,
                    obj.path,
                    "a second UNIX control socket: Kea serves one",
                ));
            }
            sockets.unix = Some(PathBuf::from(obj.required_str("socket-name")?));
            Ok(())
        }
        kind @ ("http" | "https") => {
            if obj.get("socket-name").is_some() {
                return Err(ConfigError::invalid(
                    obj.loc("socket-name"),
                    obj.key("socket-name"),
                    format!("not a key of {kind} control sockets (they listen on socket-address and socket-port)"),
                ));
            }
            sockets.http.push(http(loader, obj, kind == "https")?);
            Ok(())
        }
        other => Err(ConfigError::invalid(
            obj.loc("socket-type"),
            obj.key("socket-type"),
            format!("{other:?}: expected \"unix\", \"http\" or \"https\""),
        )),
    }
}

/// An `http` or `https` entry.
fn http(loader: &mut Loader, obj: &Obj<'_>, https: bool) -> Result<HttpControl, ConfigError> {
    let addr = listen_addr(obj, "socket-address", "socket-port")?;
    let auth = match obj.get("authentication") {
        Some(entry) => {
            let path = obj.key("authentication");
            let auth = Obj::new(&entry.value, &path)?;
            Some(authentication(loader, &auth, "")?)
        }
        None => None,
    };
    let tls = tls(obj, https)?;
    let settings = HttpControl { addr, auth, tls };
    refuse_open(&settings, obj, "socket-address")?;
    Ok(settings)
}

/// A listener's address from `host_key` (an IP; Kea's default 127.0.0.1)
/// and `port_key` (Kea's default 8000).
pub(crate) fn listen_addr(
    obj: &Obj<'_>,
    host_key: &str,
    port_key: &str,
) -> Result<SocketAddr, ConfigError> {
    let ip = match obj.str(host_key)? {
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(text) => text.parse().map_err(|_| {
            ConfigError::invalid(
                obj.loc(host_key),
                obj.key(host_key),
                format!("{text:?} is not an IP address"),
            )
        })?,
    };
    let port = match obj.u32(port_key)? {
        None => DEFAULT_HTTP_PORT,
        Some(port) => u16::try_from(port)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| {
                ConfigError::invalid(
                    obj.loc(port_key),
                    obj.key(port_key),
                    format!("{port} is out of range (1 to 65535)"),
                )
            })?,
    };
    Ok(SocketAddr::new(ip, port))
}

/// Our rule for every command listener: one other hosts can reach needs
/// authentication (the address is at `key` of `obj`).
pub(crate) fn refuse_open(
    settings: &HttpControl,
    obj: &Obj<'_>,
    key: &str,
) -> Result<(), ConfigError> {
    if settings.auth.is_none() && !settings.addr.ip().is_loopback() {
        return Err(ConfigError::invalid(
            obj.loc(key),
            obj.key(key),
            format!(
                "{} is reachable from other hosts: configure authentication for it, or listen on a loopback address",
                settings.addr
            ),
        ));
    }
    Ok(())
}

/// `authentication`: basic, its realm and its clients (passwords inline or in
/// files under `directory`, as Kea reads them).
pub(crate) fn authentication(
    loader: &mut Loader,
    obj: &Obj<'_>,
    default_realm: &str,
) -> Result<BasicAuth, ConfigError> {
    known_keys::check(loader, obj, known_keys::AUTHENTICATION)?;
    match obj.str("type")?.unwrap_or("basic") {
        "basic" => {}
        other => {
            return Err(ConfigError::invalid(
                obj.loc("type"),
                obj.key("type"),
                format!("{other:?}: the only authentication type is \"basic\""),
            ))
        }
    }
    let directory = obj.str("directory")?.map(PathBuf::from);
    let mut clients = Vec::new();
    obj.each_map("clients", |client| {
        known_keys::check(loader, client, known_keys::AUTH_CLIENT)?;
        clients.push(credential(client, directory.as_deref())?);
        Ok(())
    })?;
    if clients.is_empty() {
        return Err(ConfigError::invalid(
            obj.loc("clients"),
            obj.key("clients"),
            "no clients: nobody could send a command",
        ));
    }
    Ok(BasicAuth {
        realm: obj.str("realm")?.unwrap_or(default_realm).to_string(),
        clients,
    })
}

/// One client: `user` and `password` inline, or from `user-file` and
/// `password-file`, or both from a `password-file` holding `user:password`.
fn credential(client: &Obj<'_>, directory: Option<&Path>) -> Result<(String, String), ConfigError> {
    let read = |key: &str| -> Result<Option<String>, ConfigError> {
        let Some(name) = client.str(key)? else {
            return Ok(None);
        };
        let file = match directory {
            Some(dir) if Path::new(name).is_relative() => dir.join(name),
            _ => PathBuf::from(name),
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            ConfigError::invalid(
                client.loc(key),
                client.key(key),
                format!("{}: {e}", file.display()),
            )
        })?;
        Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
    };
    let user = match client.str("user")? {
        Some(user) => Some(user.to_string()),
        None => read("user-file")?,
    };
    let password = match client.str("password")? {
        Some(password) => Some(password.to_string()),
        None => read("password-file")?,
    };
    match (user, password) {
        (Some(user), password) if !user.is_empty() => {
            if user.contains(':') {
                return Err(ConfigError::invalid(
                    client.loc("user"),
                    client.key("user"),
                    "a user name may not contain ':'",
                ));
            }
            Ok((user, password.unwrap_or_default()))
        }
        (None, Some(both)) => match both.split_once(':') {
            Some((user, password)) if !user.is_empty() => {
                Ok((user.to_string(), password.to_string()))
            }
            _ => Err(ConfigError::invalid(
                client.loc("password-file"),
                client.key("password-file"),
                "without a user, the file must hold user:password",
            )),
        },
        _ => Err(ConfigError::invalid(
            client.location,
            client.path,
            "a client needs a user (user or user-file)",
        )),
    }
}

/// The TLS keys of a listener: all three files or none (`https` needs them).
pub(crate) fn tls(obj: &Obj<'_>, required: bool) -> Result<Option<HttpTls>, ConfigError> {
    let file = |key| -> Result<Option<PathBuf>, ConfigError> {
        Ok(obj.str(key)?.filter(|s| !s.is_empty()).map(PathBuf::from))
    };
    let (cert, key, trust_anchor) = (file("cert-file")?, file("key-file")?, file("trust-anchor")?);
    let cert_required = obj.bool("cert-required")?.unwrap_or(true);
    match (cert, key) {
        (Some(cert), Some(key)) => {
            if cert_required && trust_anchor.is_none() {
                return Err(ConfigError::invalid(
                    obj.loc("trust-anchor"),
                    obj.key("trust-anchor"),
                    "required to check client certificates (or set cert-required to false)",
                ));
            }
            Ok(Some(HttpTls {
                cert,
                key,
                trust_anchor,
                cert_required,
            }))
        }
        (None, None) if !required && trust_anchor.is_none() => Ok(None),
        (cert, _) => {
            let missing = if cert.is_none() {
                "cert-file"
            } else {
                "key-file"
            };
            Err(ConfigError::invalid(
                obj.loc(missing),
                obj.key(missing),
                "required for TLS (trust-anchor, cert-file and key-file go together)",
            ))
        }
    }
}
