//! Kea 2.2's Control Agent configuration (`kea-ctrl-agent.conf`), read so
//! that its HTTP listener moves into dhcp4 unchanged: `http-host`,
//! `http-port`, `authentication`, the TLS files. The agent's
//! `control-sockets` named where it forwarded commands; dhcp4 answers them
//! itself, so they are not needed.

use std::path::Path;

use common::config::{ConfigError, ConfigWarning};

use super::control::{authentication, listen_addr, refuse_open, tls};
use super::json;
use super::known_keys;
use super::model::HttpControl;
use super::walk::{Loader, Obj};

/// The Control Agent's default realm.
const AGENT_REALM: &str = "kea-control-agent";

/// Reads the Control Agent configuration at `path` into the HTTP listener
/// it describes, with the warnings about keys read without effect.
pub fn load_agent_file(path: &Path) -> Result<(HttpControl, Vec<ConfigWarning>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    load_agent_str(&text, path)
}

/// [`load_agent_file`] of `text` read from `path`.
pub fn load_agent_str(
    text: &str,
    path: &Path,
) -> Result<(HttpControl, Vec<ConfigWarning>), ConfigError> {
    let mut loader = Loader::default();
    let root = json::parse_str(text, path, &mut loader.warnings)?;
    let top = Obj::new(&root, "")?;
    known_keys::check(&mut loader, &top, known_keys::AGENT_TOP)?;
    let entry = top.get("Control-agent").ok_or_else(|| {
        ConfigError::invalid(
            top.location,
            "Control-agent",
            "missing: the document has no Control-agent map",
        )
    })?;
    let agent = Obj::new(&entry.value, "Control-agent")?;
    known_keys::check(&mut loader, &agent, known_keys::AGENT)?;
    let auth = match agent.get("authentication") {
        Some(entry) => {
            let at = agent.key("authentication");
            let obj = Obj::new(&entry.value, &at)?;
            // Kea's agent: an empty client list means no authentication.
            if obj.list("clients")?.is_none_or(<[_]>::is_empty) {
                None
            } else {
                Some(authentication(&mut loader, &obj, AGENT_REALM)?)
            }
        }
        None => None,
    };
    let settings = HttpControl {
        addr: listen_addr(&agent, "http-host", "http-port")?,
        auth,
        tls: tls(&agent, false)?,
    };
    refuse_open(&settings, &agent, "http-host")?;
    Ok((settings, loader.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<(HttpControl, Vec<ConfigWarning>), ConfigError> {
        load_agent_str(text, Path::new("/etc/kea/kea-ctrl-agent.conf"))
    }

    #[test]
    fn debians_stock_agent_file_loads() {
        let path = Path::new("/etc/kea/kea-ctrl-agent.conf");
        let loaded = load_agent_file(path);
        let Ok((settings, warnings)) = loaded else {
            panic!("{loaded:?} (scripts/test.sh installs kea-ctrl-agent)");
        };
        assert_eq!(settings.addr.to_string(), "127.0.0.1:8000");
        assert!(settings.auth.is_none() && settings.tls.is_none());
        assert!(
            warnings
                .iter()
                .any(|w| w.key == "Control-agent.control-sockets"),
            "{warnings:?}"
        );
    }

    #[test]
    fn listener_authentication_and_tls_are_read_with_the_agents_defaults() {
        let (settings, _) = load(
            r#"{ "Control-agent": { "http-host": "10.0.0.5", "http-port": 8004,
                 "authentication": { "type": "basic", "clients": [ { "user": "admin", "password": "1234" } ] },
                 "trust-anchor": "/ca.pem", "cert-file": "/c.pem", "key-file": "/k.pem" } }"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.addr.to_string(), "10.0.0.5:8004");
        assert_eq!(
            settings.auth.as_ref().map(|a| a.realm.as_str()),
            Some("kea-control-agent")
        );
        assert!(settings.tls.as_ref().is_some_and(|t| t.cert_required));
    }

    #[test]
    fn an_open_listener_and_agent_hooks_are_refused() {
        let open = load(
            r#"{ "Control-agent": { "http-host": "0.0.0.0", "authentication": { "clients": [] } } }"#,
        );
        let message = open.map(drop).unwrap_err().to_string();
        assert!(
            message.contains("Control-agent.http-host") && message.contains("authentication"),
            "{message}"
        );
        let hooks = load(
            r#"{ "Control-agent": { "hooks-libraries": [ { "library": "/usr/lib/kea/hooks/libca_rbac.so" } ] } }"#,
        );
        let message = hooks.map(drop).unwrap_err().to_string();
        assert!(message.contains("not supported"), "{message}");
    }
}
