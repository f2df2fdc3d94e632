//! The data plane's config files, mirroring `k8s/base/*/configs` (and
//! `k8s/base/redis/redis.conf`); each says what differs from its ConfigMap,
//! and the tests at the end hold them to exactly that.

use std::path::{Path, PathBuf};

use super::{DHCP_VIP, HEADLESS, LAN_GATEWAY, LB_METRICS, LB_VIP};

/// The resolver's unbound.conf: `k8s/base/resolver/configs/unbound.conf`
/// with root hints pointing at the fake hierarchy and without its
/// `local.jaws-ug.jp` forward zone (no Route 53 endpoints here).
pub(super) fn resolver_conf(hints: &Path) -> String {
    format!(
        r#"# Mirrors k8s/base/resolver/configs/unbound.conf.
server:
    verbosity: 1
    interface: 0.0.0.0
    port: 53
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    num-threads: 2
    so-reuseport: yes
    chroot: ""
    username: ""
    do-daemonize: no
    use-syslog: no
    logfile: ""
    access-control: 127.0.0.0/8 allow
    access-control: 10.0.0.0/8 allow
    access-control: 172.16.0.0/12 allow
    access-control: 192.168.0.0/16 allow
    access-control: 0.0.0.0/0 refuse
    msg-cache-size: 64m
    rrset-cache-size: 128m
    cache-min-ttl: 0
    cache-max-ttl: 86400
    cache-max-negative-ttl: 3600
    prefetch: yes
    serve-expired: yes
    serve-expired-ttl: 86400
    qname-minimisation: yes
    harden-glue: yes
    num-queries-per-thread: 4096
    incoming-num-tcp: 100
    edns-buffer-size: 1232
    module-config: "cachedb iterator"
    # Test only: the fake hierarchy is the Internet here.
    root-hints: "{hints}"

include: "cachedb.conf"
"#,
        hints = hints.display()
    )
}

/// `k8s/base/resolver/configs/cachedb.conf` as is: Redis by its Service name.
pub(super) const CACHEDB_CONF: &str = r#"# Mirrors k8s/base/resolver/configs/cachedb.conf.
cachedb:
    backend: "redis"
    redis-server-host: redis.noc-poc.svc.cluster.local
    redis-server-port: 6379
    redis-timeout: 100
    redis-expire-records: yes
    secret-seed: "default"
"#;

/// `k8s/base/lb/configs/lb.toml` with the Secret's paths replaced.
pub(super) fn lb_toml(tls: Option<&(PathBuf, PathBuf)>) -> String {
    let tls = match tls {
        Some((cert, key)) => format!(
            "tls = [\"0.0.0.0:853\"]\ntls-cert = \"{}\"\ntls-key = \"{}\"\n",
            cert.display(),
            key.display()
        ),
        None => String::new(),
    };
    format!(
        r#"# Mirrors k8s/base/lb/configs/lb.toml.
policy = "leastOutstanding"

[listen]
udp = ["0.0.0.0:53"]
tcp = ["0.0.0.0:53"]
{tls}threads = 2

[backends]
timeout = "1s"
max-outstanding = 65535
# Through the pod's resolv.conf (the cluster DNS), as in the manifests.
discover = "{HEADLESS}."
discover-port = 53
discover-interval = "1s"

[health]
query = "localhost."
qtype = "A"
interval = "1s"
timeout = "1s"
rise = 1
fall = 3
passive-threshold = 50
passive-window = 100
passive-min-samples = 20

[acl]
allow = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]

[metrics]
addr = "0.0.0.0:{LB_METRICS}"
"#
    )
}

/// `k8s/components/dhcp4-hostnetwork/configs/kea-dhcp4.conf`, the flat-LAN
/// variant of `k8s/base/dhcp4/configs/kea-dhcp4.conf`: the server on the LAN
/// itself (raw sockets, its own address as server identifier) instead of
/// behind a relay and the Service address. Its LAN leg is `eth0` here.
pub(super) fn kea_conf(lease_file: &Path) -> String {
    kea_conf_with(lease_file, "raw", "")
}

/// `k8s/base/dhcp4/configs/kea-dhcp4.conf`: behind the `dhcp4` LoadBalancer
/// Service, relayed traffic only (UDP sockets), the Service address as server
/// identifier so renewals come back through it.
pub(super) fn kea_conf_relayed(lease_file: &Path) -> String {
    let server_id =
        format!(",\n      {{ \"name\": \"dhcp-server-identifier\", \"data\": \"{DHCP_VIP}\" }}");
    kea_conf_with(lease_file, "udp", &server_id)
}

/// The dhcp4 config both wirings share: `socket_type` for
/// `dhcp-socket-type`, `more_options` appended to the global option-data.
fn kea_conf_with(lease_file: &Path, socket_type: &str, more_options: &str) -> String {
    format!(
        r#"// Mirrors k8s/base/dhcp4/configs/kea-dhcp4.conf or its hostNetwork variant.
{{
  "Dhcp4": {{
    "interfaces-config": {{ "interfaces": [ "eth0" ], "dhcp-socket-type": "{socket_type}" }},
    "lease-database": {{
      "type": "memfile",
      "persist": true,
      "name": "{lease}",
      "lfc-interval": 3600
    }},
    "valid-lifetime": 3600,
    "renew-timer": 900,
    "rebind-timer": 1800,
    "match-client-id": true,
    "authoritative": true,
    "expired-leases-processing": {{
      "reclaim-timer-wait-time": 10,
      "hold-reclaimed-time": 3600
    }},
    "option-data": [
      {{ "name": "domain-name-servers", "data": "{LB_VIP}" }}{more_options}
    ],
    "subnet4": [
      {{
        "id": 1,
        "subnet": "192.168.1.0/24",
        "pools": [ {{ "pool": "192.168.1.100 - 192.168.1.200" }} ],
        "option-data": [
          {{ "name": "routers", "data": "{LAN_GATEWAY}" }}
        ]
      }}
    ]
  }}
}}
"#,
        lease = lease_file.display()
    )
}

/// `k8s/base/redis/redis.conf`, plus where to keep its (unused) files and
/// staying in the foreground.
pub(super) fn redis_conf(data: &Path) -> String {
    format!(
        "# Mirrors k8s/base/redis/redis.conf.\nbind 0.0.0.0\nprotected-mode no\nport 6379\nsave \"\"\nappendonly no\nmaxmemory 256mb\nmaxmemory-policy allkeys-lru\ntcp-keepalive 60\ndaemonize no\ndir {}\n",
        data.display()
    )
}

/// Each file above against its ConfigMap in `k8s/`, with only the
/// differences its doc comment names: a ConfigMap edited without its mirror
/// (or the other way round) fails here.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The file at `path` under `k8s/`.
    fn k8s(path: &str) -> String {
        let full = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../k8s")
            .join(path);
        std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    /// The lines that say something: comments (`#`, `//`) and blank lines
    /// dropped, indentation trimmed, lines matching `skip` left out.
    fn meaningful(text: &str, skip: &[&str]) -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("//"))
            .filter(|line| !skip.iter().any(|s| line.starts_with(s)))
            .map(str::to_owned)
            .collect()
    }

    /// A Kea JSON file with comment lines and all whitespace removed, so
    /// that layout does not count.
    fn kea_compact(text: &str) -> String {
        meaningful(text, &[])
            .concat()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    #[test]
    fn the_resolver_files_mirror_their_configmaps() {
        let hints = Path::new("/tmp/root.hints");
        assert_eq!(
            meaningful(&resolver_conf(hints), &["root-hints:"]),
            meaningful(
                &k8s("base/resolver/configs/unbound.conf"),
                &["include: \"forward-zones.conf\""]
            )
        );
        assert_eq!(
            meaningful(CACHEDB_CONF, &[]),
            meaningful(&k8s("base/resolver/configs/cachedb.conf"), &[])
        );
    }

    #[test]
    fn the_lb_file_mirrors_its_configmap() {
        let secret = (
            PathBuf::from("/etc/lb/tls/tls.crt"),
            PathBuf::from("/etc/lb/tls/tls.key"),
        );
        assert_eq!(
            meaningful(&lb_toml(Some(&secret)), &[]),
            meaningful(&k8s("base/lb/configs/lb.toml"), &[])
        );
    }

    #[test]
    fn the_dhcp4_files_mirror_their_configmaps() {
        let volume = Path::new("/data/dhcp4.leases");
        assert_eq!(
            kea_compact(&kea_conf_relayed(volume)),
            kea_compact(&k8s("base/dhcp4/configs/kea-dhcp4.conf"))
        );
        // The hostNetwork variant's LAN leg is the node's eth1; here eth0.
        assert_eq!(
            kea_compact(&kea_conf(volume)),
            kea_compact(
                &k8s("components/dhcp4-hostnetwork/configs/kea-dhcp4.conf")
                    .replace(r#""interfaces": [ "eth1" ]"#, r#""interfaces": [ "eth0" ]"#)
            )
        );
    }

    #[test]
    fn the_redis_file_mirrors_its_configmap() {
        assert_eq!(
            meaningful(
                &redis_conf(Path::new("/tmp/redis")),
                &["daemonize ", "dir "]
            ),
            meaningful(&k8s("base/redis/redis.conf"), &[])
        );
    }
}
