//! What `--check-config` prints: the configuration as the server reads it,
//! and the warnings with their file and line.

use std::fmt::Write as _;

use common::config::ConfigWarning;

use super::lease_path;
use crate::config::model::{Config, SocketType};

/// What `--check-config` prints.
pub fn summary(config: &Config, path: &std::path::Path, warnings: &[ConfigWarning]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "config: {}: OK", path.display());
    let socket = match config.socket_type {
        SocketType::Raw => "raw",
        SocketType::Udp => "udp",
    };
    let _ = writeln!(
        s,
        "interfaces: {} ({socket} sockets)",
        config.interfaces.join(", "),
    );
    if config.persist {
        let compaction = match config.lfc_interval {
            0 => "never compacted: lfc-interval 0".to_string(),
            seconds => format!("compacted every {seconds} s"),
        };
        let _ = writeln!(
            s,
            "leases: memfile {} ({compaction})",
            lease_path(config).display(),
        );
    } else {
        let _ = writeln!(s, "leases: in memory only (persist false)");
    }
    if let Some(path) = &config.control.unix {
        let _ = writeln!(s, "control: UNIX socket {}", path.display());
    }
    for http in &config.control.http {
        let _ = writeln!(
            s,
            "control: {}://{} ({})",
            if http.tls.is_some() { "https" } else { "http" },
            http.addr,
            match &http.auth {
                Some(auth) => format!("basic authentication, {} clients", auth.clients.len()),
                None => "no authentication: loopback only".to_string(),
            }
        );
    }
    if let Some(ha) = &config.ha {
        let me = ha.peers.iter().find(|p| p.name == ha.this_server);
        let _ = writeln!(
            s,
            "ha: {} as {} ({}), listening on {}; heartbeat {} ms, partner down after {} ms{}",
            ha.mode.name(),
            ha.this_server,
            me.map_or("?", |p| p.role.name()),
            me.map_or("?", |p| p.url.text.as_str()),
            ha.heartbeat_delay_ms,
            ha.max_response_delay_ms,
            if ha.max_unacked_clients > 0 {
                format!(" and {} unacked clients", ha.max_unacked_clients)
            } else {
                String::new()
            }
        );
        for peer in ha.peers.iter().filter(|p| p.name != ha.this_server) {
            let _ = writeln!(
                s,
                "ha peer {} ({}): {}",
                peer.name,
                peer.role.name(),
                peer.url.text
            );
        }
    }
    if !config.classes.is_empty() {
        let names: Vec<&str> = config.classes.iter().map(|c| c.name.as_str()).collect();
        let _ = writeln!(s, "classes: {}", names.join(", "));
    }
    if !config.reservations.is_empty() || !config.options.is_empty() {
        let _ = writeln!(
            s,
            "global: {} reservations, {} options",
            config.reservations.len(),
            config.options.len()
        );
    }
    for network in &config.shared_networks {
        let _ = writeln!(
            s,
            "shared network {}: {} subnets{}",
            network.name,
            config
                .subnets
                .iter()
                .filter(|sub| sub
                    .shared_network
                    .and_then(|n| config.shared_networks.get(n))
                    .is_some_and(|n| n.name == network.name))
                .count(),
            guard_text(network.client_class.as_deref()),
        );
    }
    for subnet in &config.subnets {
        let _ = writeln!(s, "{}", subnet_line(config, subnet));
    }
    for warning in warnings {
        let _ = writeln!(s, "warning: {warning}");
    }
    s
}

/// ", only class NAME" for a class guard.
fn guard_text(guard: Option<&str>) -> String {
    guard.map_or_else(String::new, |class| format!(", only class {class}"))
}

/// One subnet of the `--check-config` summary.
fn subnet_line(config: &Config, subnet: &crate::config::model::Subnet) -> String {
    let pools: Vec<String> = subnet
        .pools
        .iter()
        .map(|p| {
            format!(
                "{}-{}{}",
                p.first,
                p.last,
                guard_text(p.client_class.as_deref())
            )
        })
        .collect();
    let network = subnet
        .shared_network
        .and_then(|n| config.shared_networks.get(n))
        .map_or_else(String::new, |n| format!(" (shared network {})", n.name));
    let lifetime = &subnet.lifetime;
    let bounds = if lifetime.min == lifetime.default && lifetime.max == lifetime.default {
        String::new()
    } else {
        format!(" ({}-{})", lifetime.min, lifetime.max)
    };
    format!(
        "subnet {} {}/{}{network}: pools {}, {} reservations, {} options, lifetime {} s{bounds}{}{}",
        subnet.id,
        subnet.network,
        subnet.prefix_len,
        if pools.is_empty() {
            "-".to_string()
        } else {
            pools.join(" ")
        },
        subnet.reservations.len(),
        subnet.options.len(),
        lifetime.default,
        guard_text(subnet.client_class.as_deref()),
        if subnet.authoritative {
            ", authoritative"
        } else {
            ""
        }
    )
}
