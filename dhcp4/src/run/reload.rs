//! SIGHUP and config-reload: the configuration file read again and served from the next
//! packet on, leases kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::shutdown::Shutdown;

use super::Shared;
use crate::clock::unix_now;
use crate::config::model::Config;

/// SIGHUP: [`reload`] from `path` on each hangup until shutdown.
pub(super) fn spawn_on_sighup(path: PathBuf, shared: Arc<Shared>, shutdown: Shutdown) {
    common::shutdown::reload_on_hangup(shutdown, move || {
        let (shared, path) = (shared.clone(), path.clone());
        async move { reload(&shared, &path, "SIGHUP").await }
    });
}

/// Kea's config-reload: the file at `path` is read again and, when it
/// loads, served from the next packet on with every lease kept; a file that
/// does not load leaves the running configuration (the error names its
/// location). Interfaces, sockets, the lease file and timers are set at
/// start: changing them is logged as needing a restart.
/// `trigger` (SIGHUP, config-reload) opens the log lines.
pub(crate) async fn reload(shared: &Shared, path: &Path, trigger: &str) -> Result<(), String> {
    // Files (and their includes) are read off the async workers.
    let reading = path.to_path_buf();
    let fresh = match tokio::task::spawn_blocking(move || crate::config::load_file(&reading)).await
    {
        Ok(Ok((fresh, warnings))) => {
            for warning in &warnings {
                tracing::warn!("{warning}");
            }
            fresh
        }
        Ok(Err(error)) => return Err(error.to_string()),
        Err(error) => return Err(error.to_string()),
    };
    apply(shared, &fresh, trigger, &path.display().to_string());
    Ok(())
}

/// Serves `fresh` from the next packet on, keeping every lease (the
/// reload's and config-set's last step); `trigger` opens the log lines and
/// `from` names where the configuration came from.
pub(crate) fn apply(shared: &Shared, fresh: &Config, trigger: &str, from: &str) {
    let restored = {
        let mut server = shared.server.lock();
        for what in needs_restart(server.config(), fresh) {
            tracing::warn!("{trigger}: {what} changed; restart to apply it");
        }
        server.reconfigure(fresh, unix_now())
    };
    for (addr, why) in &restored.skipped {
        tracing::warn!(%addr, %why, "{trigger}: lease not kept");
    }
    tracing::info!(
        config = from,
        active = restored.active,
        declined = restored.declined,
        expired = restored.expired,
        "{trigger}: config reloaded"
    );
}

/// What a reload cannot change while running.
fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if old.interfaces != new.interfaces || old.socket_type != new.socket_type {
        changed.push("interfaces-config");
    }
    if old.lease_file != new.lease_file || old.persist != new.persist {
        changed.push("lease-database");
    }
    if old.lfc_interval != new.lfc_interval
        || old.reclaim_timer_wait_time != new.reclaim_timer_wait_time
    {
        changed.push("a lease file or reclamation timer");
    }
    if old.control != new.control {
        changed.push("control-socket(s)");
    }
    if old.ha != new.ha {
        changed.push("the HA hook's parameters");
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_names_what_only_a_restart_changes() {
        let text = r#"{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] },
          "subnet4": [ { "id": 1, "subnet": "10.0.0.0/24" } ] } }"#;
        let path = std::path::Path::new("t.json");
        let (old, _) = crate::config::load_str(text, path).unwrap_or_else(|e| panic!("{e}"));
        let mut new = old.clone();
        new.subnets.clear();
        assert!(needs_restart(&old, &new).is_empty(), "subnets reload live");
        new.interfaces = vec!["eth1".into()];
        new.lease_file = Some(PathBuf::from("/tmp/other.csv"));
        assert_eq!(
            needs_restart(&old, &new),
            ["interfaces-config", "lease-database"]
        );
    }
}
