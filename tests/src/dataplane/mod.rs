//! The data plane end to end without a cluster: network namespaces standing in
//! for the pods of `k8s/base`, wired as the manifests wire them.
//!
//! ```text
//!  event LAN 192.168.1.0/24 (bridge lan0 in the router)
//!  ├─ client 192.168.1.10 ── dig, kdig, dns-load
//!  ├─ dhcpcN (no address) ── udhcpc / dhclient
//!  └─ [dhcp4 192.168.1.2]   only in the flat-LAN variant (Dhcp::FlatLan)
//!  router 192.168.1.1 ── the LAN's gateway; ISC dhcrelay to 192.168.139.67
//!                         (Dhcp::Relayed); everything else routed to the node
//!  node ── the Kubernetes node: routes, and nftables DNAT standing in for
//!  │       MetalLB + kube-proxy:
//!  │         LoadBalancer lb      192.168.139.53 udp/tcp 53, tcp 853 → lb pod
//!  │         LoadBalancer dhcp4   192.168.139.67 udp 67               → dhcp4 pod
//!  │         ClusterIP kube-dns   10.96.0.10 udp/tcp 53               → dns pod
//!  │         ClusterIP redis      10.96.0.20 tcp 6379                 → redis pod
//!  ├─ dns   10.244.2.2      dns-stub (CoreDNS): resolver-headless.noc-poc.svc.cluster.local
//!  │                        → the live resolver pods, redis.noc-poc.svc.cluster.local → 10.96.0.20
//!  ├─ lb    10.244.10.2     lb: discovers its backends through the pod's resolv.conf
//!  ├─ resN  10.244.2N.2     resolver: cachedb to redis.noc-poc.svc.cluster.local:6379
//!  ├─ redis 10.244.30.2     redis-server
//!  ├─ dhcp4 10.244.40.2     dhcp4 behind its Service (Dhcp::Relayed)
//!  └─ auth  10.53.0.0/24    fake-dns: the fixture hierarchy (the Internet); root hints point here
//! ```
//!
//! Each pod is its own namespace joined to the node by a veth pair on a /24
//! of its own (`10.244.<k>.1` node side, `.2` pod side), so every packet
//! between pods crosses the node's IP layer and its conntrack, as kube-proxy
//! needs (a shared bridge would need br_netfilter). The lb and the resolvers
//! get a kubelet-style `resolv.conf` (`/etc/netns/<name>/resolv.conf`, which
//! `ip netns exec` mounts over `/etc/resolv.conf`): search
//! `noc-poc.svc.cluster.local …`, nameserver 10.96.0.10, `ndots:5`.
//!
//! The configs mirror `k8s/base/*/configs` and the Deployments' arguments
//! (ports, policy, discovery interval, health checks, lameduck, cachedb
//! settings, Redis settings, Kea options; dhcp4 as `k8s/base/dhcp4` or as the
//! `k8s/components/dhcp4-hostnetwork` variant); what differs is said where it
//! is written: file paths, root hints pointing at the fake hierarchy, no
//! `local.jaws-ug.jp` forward zone, and text logs rather than JSON.
//!
//! Namespaces are named `dp-<pid>-<seq>-<role>` and deleted when the
//! [`Cluster`] drops, after every process in them is killed, on failure or
//! panic too; namespaces, their processes and `/etc/netns` entries left by a
//! test process that no longer exists (killed before its drops ran) are swept
//! at the next start. Clusters run one at a time (a process-wide lock held by
//! each), so the fault figures of one test are not skewed by another
//! cluster's CPU use on a small machine.
//!
//! - [`stub`]: the cluster DNS stand-in (`dns-stub` binary).
//! - [`load`]: the bounded query load and its report (`dns-load` binary).

mod configs;
pub mod load;
pub mod stub;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use tokio::sync::MutexGuard;
use tokio::time::Instant;

use crate::daemon::{cargo_bin, Daemon, Signal};
use crate::dig::Dig;
use crate::metrics::Scrape;
use crate::netns::{bridge_port, Netns};

pub use self::load::Load;
use self::load::LoadReport;

/// The lb's LoadBalancer address (`k8s/base/lb/service.yaml`).
pub const LB_VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 139, 53);
/// The cluster DNS Service address (kube-dns) in the pods' resolv.conf.
pub const KUBE_DNS: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
/// The Redis Service's ClusterIP.
pub const REDIS_SERVICE: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 20);
/// The event LAN's gateway (the router), `routers` in the DHCP options.
pub const LAN_GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
/// dhcp4's LoadBalancer address (`k8s/base/dhcp4/service.yaml`), its server
/// identifier when relayed.
pub const DHCP_VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 139, 67);
/// dhcp4's address on the LAN in the flat-LAN variant.
pub const DHCP_LAN_ADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 2);
/// The router's end of its link to the node.
const ROUTER_UPLINK: Ipv4Addr = Ipv4Addr::new(10, 0, 100, 1);
/// The node's end of its link to the router.
const NODE_TO_ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 100, 2);
/// The static client's address on the LAN.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
/// The fake hierarchy's /24 (in the `auth` namespace).
pub const AUTH_PREFIX: [u8; 3] = [10, 53, 0];
/// The resolvers' headless Service (`k8s/base/resolver/service.yaml`).
pub const HEADLESS: &str = "resolver-headless.noc-poc.svc.cluster.local";
/// The Redis Service's name, as the resolvers' cachedb.conf has it.
pub const REDIS_NAME: &str = "redis.noc-poc.svc.cluster.local";
/// Resolver pods that can exist (the scaling test goes 1 → 3 → 1).
pub const MAX_RESOLVERS: usize = 3;
/// The lb's metrics port (`[metrics] addr` in lb.toml).
pub const LB_METRICS: u16 = 8083;
/// The resolvers' metrics port.
pub const RESOLVER_METRICS: u16 = 9167;
/// dhcp4's metrics port.
pub const DHCP_METRICS: u16 = 9547;

/// Prefix of every namespace name (`dp-<pid>-<seq>-<role>`).
const NS_PREFIX: &str = "dp";
/// Pod numbers: pod k is `10.244.<k>.2`.
const DNS_POD: u8 = 2;
const LB_POD: u8 = 10;
const REDIS_POD: u8 = 30;
const DHCP_POD: u8 = 40;

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Resolver pods running and listed in the headless Service at start
    /// (1..=[`MAX_RESOLVERS`]).
    pub resolvers: usize,
    /// Whether and how dhcp4 runs.
    pub dhcp: Dhcp,
    /// DHCP client namespaces on the LAN (no address until they get a lease).
    pub dhcp_clients: usize,
    /// The DoT certificate and key (the `lb-tls` Secret); without them the lb
    /// serves no DoT.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// How dhcp4 is wired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dhcp {
    /// Not started.
    #[default]
    Off,
    /// As `k8s/base/dhcp4`: a pod behind the `dhcp4` LoadBalancer Service
    /// (192.168.139.67, DNAT on the node), which is also its server
    /// identifier; the LAN's router relays to it (ISC dhcrelay).
    Relayed,
    /// As `k8s/components/dhcp4-hostnetwork`: the server has a leg on the
    /// LAN (192.168.1.2) and clients' broadcasts reach it directly.
    FlatLan,
}

/// One pod: its namespace, address and process.
#[derive(Debug)]
struct Pod {
    ns: Netns,
    ip: Ipv4Addr,
    daemon: Option<Daemon>,
}

/// The namespaces and processes of one data plane. Dropping it kills every
/// process, then deletes the namespaces and their `/etc/netns` entries.
#[derive(Debug)]
pub struct Cluster {
    /// Scratch directory (configs, logs of the DHCP clients, lease file).
    pub dir: PathBuf,
    /// The node: routes and the Service translation.
    pub node: Netns,
    /// The event LAN's router (its gateway, and the DHCP relay).
    pub router: Netns,
    /// The static client on the LAN.
    pub client: Netns,
    /// DHCP clients on the LAN.
    pub dhcp_clients: Vec<Netns>,
    auth: Pod,
    dns: Pod,
    redis: Pod,
    lb: Pod,
    resolvers: Vec<Pod>,
    dhcp4: Pod,
    dhcp: Dhcp,
    /// ISC dhcrelay in the router (with [`Dhcp::Relayed`]).
    relay: Option<Daemon>,
    tls: Option<(PathBuf, PathBuf)>,
    /// `/etc/netns/<name>` directories made for the pods.
    etc: Vec<PathBuf>,
    /// One cluster at a time; released last.
    _turn: MutexGuard<'static, ()>,
}

/// The lock that runs clusters one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Cluster {
    /// Builds the namespaces, wires them, and starts every server in `spec`;
    /// returns once the lb reports every listed resolver up.
    pub async fn start(spec: Spec) -> anyhow::Result<Cluster> {
        let turn = TURN.lock().await;
        check_tools()?;
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dataplane-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

        let node = Netns::create_with_prefix(NS_PREFIX, "node")?;
        let make_pod = |role: &str, k: u8| -> anyhow::Result<Pod> {
            let ns = Netns::create_with_prefix(NS_PREFIX, role)?;
            pod_link(&node, &ns, &format!("v{role}"), k)?;
            Ok(Pod {
                ns,
                ip: Ipv4Addr::new(10, 244, k, 2),
                daemon: None,
            })
        };
        let dns = make_pod("dns", DNS_POD)?;
        let redis = make_pod("redis", REDIS_POD)?;
        let lb = make_pod("lb", LB_POD)?;
        let mut resolvers = Vec::new();
        for i in 1..=MAX_RESOLVERS {
            let k = 20 + u8::try_from(i).unwrap_or(0);
            resolvers.push(make_pod(&format!("res{i}"), k)?);
        }
        // The "Internet": the fake hierarchy on 10.53.0.0/24, every address
        // local to its namespace (an AnyIP route), reached through the node.
        let auth_ns = Netns::create_with_prefix(NS_PREFIX, "auth")?;
        crate::netns::link(
            &node,
            "vauth",
            "10.255.0.1/30",
            &auth_ns,
            "eth0",
            "10.255.0.2/30",
        )?;
        let [a, b, c] = AUTH_PREFIX;
        auth_ns.ip(&[
            "route",
            "add",
            "local",
            &format!("{a}.{b}.{c}.0/24"),
            "dev",
            "lo",
        ])?;
        auth_ns.ip(&["route", "add", "default", "via", "10.255.0.1"])?;
        node.ip(&[
            "route",
            "add",
            &format!("{a}.{b}.{c}.0/24"),
            "via",
            "10.255.0.2",
        ])?;
        let auth = Pod {
            ns: auth_ns,
            ip: Ipv4Addr::new(10, 255, 0, 2),
            daemon: None,
        };

        // The event LAN's router (outside the cluster): the LAN's bridge and
        // gateway, routing everything else to the node.
        let router = Netns::create_with_prefix(NS_PREFIX, "router")?;
        crate::netns::link(
            &router,
            "uplink",
            &format!("{ROUTER_UPLINK}/30"),
            &node,
            "vrouter",
            &format!("{NODE_TO_ROUTER}/30"),
        )?;
        router.ip(&[
            "route",
            "add",
            "default",
            "via",
            &NODE_TO_ROUTER.to_string(),
        ])?;
        node.ip(&[
            "route",
            "add",
            "192.168.1.0/24",
            "via",
            &ROUTER_UPLINK.to_string(),
        ])?;
        router.ip(&["link", "add", "lan0", "type", "bridge"])?;
        router.ip(&["addr", "add", &format!("{LAN_GATEWAY}/24"), "dev", "lan0"])?;
        router.ip(&["link", "set", "lan0", "up"])?;
        let client = Netns::create_with_prefix(NS_PREFIX, "client")?;
        lan_port(&router, &client, "lpclient")?;
        client.ip(&["addr", "add", &format!("{CLIENT}/24"), "dev", "eth0"])?;
        client.ip(&["route", "add", "default", "via", &LAN_GATEWAY.to_string()])?;
        let dhcp4 = match spec.dhcp {
            // A pod behind the dhcp4 LoadBalancer Service, reached through
            // the router's relay.
            Dhcp::Off | Dhcp::Relayed => make_pod("dhcp4", DHCP_POD)?,
            // The hostNetwork variant: a leg on the LAN itself.
            Dhcp::FlatLan => {
                let ns = Netns::create_with_prefix(NS_PREFIX, "dhcp4")?;
                lan_port(&router, &ns, "lpdhcp4")?;
                ns.ip(&["addr", "add", &format!("{DHCP_LAN_ADDR}/24"), "dev", "eth0"])?;
                ns.ip(&["route", "add", "default", "via", &LAN_GATEWAY.to_string()])?;
                Pod {
                    ns,
                    ip: DHCP_LAN_ADDR,
                    daemon: None,
                }
            }
        };
        let mut dhcp_clients = Vec::new();
        for n in 0..spec.dhcp_clients {
            let ns = Netns::create_with_prefix(NS_PREFIX, &format!("dhcpc{n}"))?;
            lan_port(&router, &ns, &format!("lpc{n}"))?;
            dhcp_clients.push(ns);
        }

        let mut cluster = Cluster {
            dir,
            node,
            router,
            client,
            dhcp_clients,
            auth,
            dns,
            redis,
            lb,
            resolvers,
            dhcp4,
            dhcp: spec.dhcp,
            relay: None,
            tls: spec.tls.clone(),
            etc: Vec::new(),
            _turn: turn,
        };
        cluster.node_rules()?;
        run_ok(
            cluster
                .router
                .command("sh")
                .args(["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]),
        )?;
        // kubelet's resolv.conf for the pods that look names up.
        let mut pods: Vec<String> = vec![cluster.lb.ns.name().to_string()];
        pods.extend(cluster.resolvers.iter().map(|p| p.ns.name().to_string()));
        for name in pods {
            cluster.pod_resolv_conf(&name)?;
        }

        cluster.start_auth().await?;
        let live: Vec<usize> = (1..=spec.resolvers.clamp(1, MAX_RESOLVERS)).collect();
        cluster.publish(&live)?;
        cluster.start_dns().await?;
        cluster.start_redis().await?;
        for &i in &live {
            cluster.start_resolver(i).await?;
        }
        cluster.start_lb().await?;
        cluster.wait_lb_backends(&live).await?;
        match spec.dhcp {
            Dhcp::Off => {}
            Dhcp::FlatLan => cluster.start_dhcp4().await?,
            Dhcp::Relayed => {
                cluster.start_dhcp4().await?;
                cluster.start_relay().await?;
            }
        }
        Ok(cluster)
    }

    /// The node's forwarding and the Service translation (kube-proxy and
    /// MetalLB's part): DNAT only, no SNAT (the lb Service has
    /// `externalTrafficPolicy: Local`, so the lb sees the client's address).
    fn node_rules(&self) -> anyhow::Result<()> {
        // /proc/sys/net is the namespace's own for a process inside it.
        run_ok(
            self.node
                .command("sh")
                .args(["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]),
        )?;
        let lb = self.lb.ip;
        let dns = self.dns.ip;
        let redis = self.redis.ip;
        let dhcp4 = self.dhcp4.ip;
        let rules = format!(
            "table ip dataplane {{
    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        # MetalLB LoadBalancer Service lb (53/udp, 53/tcp, 853/tcp)
        ip daddr {LB_VIP} udp dport 53 dnat to {lb}:53
        ip daddr {LB_VIP} tcp dport 53 dnat to {lb}:53
        ip daddr {LB_VIP} tcp dport 853 dnat to {lb}:853
        # ClusterIP Service kube-dns
        ip daddr {KUBE_DNS} udp dport 53 dnat to {dns}:53
        ip daddr {KUBE_DNS} tcp dport 53 dnat to {dns}:53
        # ClusterIP Service redis
        ip daddr {REDIS_SERVICE} tcp dport 6379 dnat to {redis}:6379
        # MetalLB LoadBalancer Service dhcp4 (67/udp; relays and renewals)
        ip daddr {DHCP_VIP} udp dport 67 dnat to {dhcp4}:67
    }}
}}
"
        );
        let path = self.dir.join("node.nft");
        std::fs::write(&path, rules)?;
        run_ok(
            self.node
                .command("nft")
                .args(["-f", &path.display().to_string()]),
        )
    }

    /// `/etc/netns/<name>/resolv.conf` as kubelet writes a pod's.
    fn pod_resolv_conf(&mut self, name: &str) -> anyhow::Result<()> {
        let dir = Path::new("/etc/netns").join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        self.etc.push(dir.clone());
        std::fs::write(
            dir.join("resolv.conf"),
            format!(
                "search noc-poc.svc.cluster.local svc.cluster.local cluster.local\nnameserver {KUBE_DNS}\noptions ndots:5\n"
            ),
        )?;
        Ok(())
    }

    async fn start_auth(&mut self) -> anyhow::Result<()> {
        let [a, b, c] = AUTH_PREFIX;
        let hints = self.dir.join("root.hints");
        let mut daemon = self.auth.ns.spawn(
            &bin("fake-dns")?,
            &[
                "--prefix".into(),
                format!("{a}.{b}.{c}"),
                "--root-hints-out".into(),
                hints.display().to_string(),
                "--threads".into(),
                "1".into(),
            ],
        )?;
        daemon.wait_log("ready:", Duration::from_secs(20)).await?;
        self.auth.daemon = Some(daemon);
        Ok(())
    }

    async fn start_dns(&mut self) -> anyhow::Result<()> {
        let mut daemon = self.dns.ns.spawn(
            &bin("dns-stub")?,
            &[
                "--listen".into(),
                "0.0.0.0:53".into(),
                "--records".into(),
                self.records_path().display().to_string(),
            ],
        )?;
        daemon.wait_log("ready:", Duration::from_secs(10)).await?;
        self.dns.daemon = Some(daemon);
        Ok(())
    }

    fn records_path(&self) -> PathBuf {
        self.dir.join("cluster-dns.records")
    }

    /// Sets the headless Service's addresses to resolver pods `live`
    /// (1-based), as the endpoints controller does when pods become ready or
    /// start terminating.
    pub fn publish(&self, live: &[usize]) -> anyhow::Result<()> {
        let mut records: Vec<(&str, Ipv4Addr)> = vec![(REDIS_NAME, REDIS_SERVICE)];
        for &i in live {
            records.push((HEADLESS, self.resolver_ip(i)?));
        }
        stub::write_records(&self.records_path(), &records)
    }

    /// Starts Redis (again) with the settings of `k8s/base/redis/redis.conf`;
    /// empty, as a restarted cache pod is.
    pub async fn start_redis(&mut self) -> anyhow::Result<()> {
        self.redis.daemon = None;
        let data = self.dir.join("redis");
        std::fs::create_dir_all(&data)?;
        let conf = self.dir.join("redis.conf");
        std::fs::write(&conf, configs::redis_conf(&data))?;
        let mut daemon = self
            .redis
            .ns
            .spawn("redis-server", &[conf.display().to_string()])?;
        daemon
            .wait_log("Ready to accept connections", Duration::from_secs(10))
            .await?;
        self.redis.daemon = Some(daemon);
        Ok(())
    }

    /// Kills Redis (SIGKILL); its pod (namespace) stays, so connections to it
    /// are refused at once.
    pub async fn kill_redis(&mut self) {
        if let Some(mut daemon) = self.redis.daemon.take() {
            let _ = daemon.signal(Signal::Kill);
            daemon.wait_exit(Duration::from_secs(5)).await;
        }
    }

    /// Keys in Redis (`redis-cli DBSIZE` in its pod).
    pub fn redis_dbsize(&self) -> anyhow::Result<u64> {
        let out = self.redis.ns.run("redis-cli", &["-p", "6379", "DBSIZE"])?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .parse()
            .with_context(|| format!("redis-cli DBSIZE said {text:?}"))
    }

    /// Resolver pod `i`'s address (1-based).
    pub fn resolver_ip(&self, i: usize) -> anyhow::Result<Ipv4Addr> {
        Ok(self.resolver(i)?.ip)
    }

    fn resolver(&self, i: usize) -> anyhow::Result<&Pod> {
        i.checked_sub(1)
            .and_then(|k| self.resolvers.get(k))
            .ok_or_else(|| anyhow!("no resolver pod {i}"))
    }

    fn resolver_mut(&mut self, i: usize) -> anyhow::Result<&mut Pod> {
        i.checked_sub(1)
            .and_then(|k| self.resolvers.get_mut(k))
            .ok_or_else(|| anyhow!("no resolver pod {i}"))
    }

    /// Starts resolver pod `i` with the config of `k8s/base/resolver/configs`
    /// and waits until it is ready (it connects to Redis before that).
    pub async fn start_resolver(&mut self, i: usize) -> anyhow::Result<()> {
        let dir = self.dir.join(format!("res{i}"));
        std::fs::create_dir_all(&dir)?;
        let hints = self.dir.join("root.hints");
        std::fs::write(dir.join("unbound.conf"), configs::resolver_conf(&hints))?;
        std::fs::write(dir.join("cachedb.conf"), configs::CACHEDB_CONF)?;
        let bin = bin("resolver")?;
        let pod = self.resolver_mut(i)?;
        pod.daemon = None;
        let mut daemon = pod.ns.spawn(
            &bin,
            &[
                "-c".into(),
                dir.join("unbound.conf").display().to_string(),
                "--metrics-addr".into(),
                format!("0.0.0.0:{RESOLVER_METRICS}"),
                "--lameduck".into(),
                "5".into(),
            ],
        )?;
        wait_http_ok(&pod.ns, &mut daemon, RESOLVER_METRICS, "/readyz").await?;
        pod.daemon = Some(daemon);
        Ok(())
    }

    /// Kills resolver pod `i`'s process with SIGKILL (its namespace stays, as
    /// a pod whose container died keeps its IP until it is restarted).
    pub async fn kill_resolver(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut daemon) = self.resolver_mut(i)?.daemon.take() {
            daemon.signal(Signal::Kill)?;
            daemon.wait_exit(Duration::from_secs(5)).await;
        }
        Ok(())
    }

    /// Sends resolver pod `i` SIGTERM, as the kubelet does to a terminating
    /// pod: `/readyz` turns 503 and it keeps answering for its lameduck
    /// period (5 s, the Deployment's `--lameduck`), then drains and exits.
    pub fn terminate_resolver(&self, i: usize) -> anyhow::Result<()> {
        match &self.resolver(i)?.daemon {
            Some(daemon) => daemon.signal(Signal::Term),
            None => bail!("resolver {i} is not running"),
        }
    }

    /// Waits (20 s at most) for resolver pod `i` to exit after
    /// [`terminate_resolver`](Self::terminate_resolver); fails unless it exits 0.
    pub async fn wait_resolver_exit(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut daemon) = self.resolver_mut(i)?.daemon.take() {
            match daemon.wait_exit(Duration::from_secs(20)).await {
                Some(status) if status.success() => {}
                other => bail!(
                    "resolver {i} after SIGTERM: {other:?}; log:\n{}",
                    daemon.log()
                ),
            }
        }
        Ok(())
    }

    /// Resolver pod `i`'s metrics.
    pub fn scrape_resolver(&self, i: usize) -> anyhow::Result<Scrape> {
        self.resolver(i)?.ns.scrape(RESOLVER_METRICS)
    }

    /// `unbound_queries_total` of resolver pod `i`.
    pub fn resolver_queries(&self, i: usize) -> anyhow::Result<f64> {
        Ok(self.scrape_resolver(i)?.sum("unbound_queries_total", &[]))
    }

    async fn start_lb(&mut self) -> anyhow::Result<()> {
        let path = self.dir.join("lb.toml");
        std::fs::write(&path, configs::lb_toml(self.tls.as_ref()))?;
        let args = [
            "-c".into(),
            path.display().to_string(),
            "--lameduck".into(),
            "5".into(),
        ];
        let mut daemon = self.lb.ns.spawn(&bin("lb")?, &args)?;
        wait_http_ok(&self.lb.ns, &mut daemon, LB_METRICS, "/readyz").await?;
        self.lb.daemon = Some(daemon);
        Ok(())
    }

    /// The DoT certificate the lb serves (its own CA: self-signed).
    pub fn tls_cert(&self) -> Option<&Path> {
        self.tls.as_ref().map(|(cert, _)| cert.as_path())
    }

    /// The lb's metrics.
    pub fn scrape_lb(&self) -> anyhow::Result<Scrape> {
        self.lb.ns.scrape(LB_METRICS)
    }

    /// The lb's log so far.
    pub fn lb_log(&self) -> String {
        self.lb.daemon.as_ref().map(Daemon::log).unwrap_or_default()
    }

    /// The backends the lb has, by address, with `dnsdist_server_status`.
    pub fn lb_backends(&self) -> anyhow::Result<Vec<(String, f64)>> {
        Ok(self
            .scrape_lb()?
            .all("dnsdist_server_status")
            .into_iter()
            .filter_map(|s| Some((s.label("address")?.to_string(), s.value)))
            .collect())
    }

    /// `dnsdist_server_queries` of resolver pod `i` as the lb's backend
    /// (0 when the lb has no such backend).
    pub fn lb_queries_to(&self, i: usize) -> anyhow::Result<f64> {
        let address = format!("{}:53", self.resolver_ip(i)?);
        Ok(self
            .scrape_lb()?
            .sum("dnsdist_server_queries", &[("address", &address)]))
    }

    /// Waits (15 s at most) until the lb's backends are exactly resolver pods
    /// `live`, every one up.
    pub async fn wait_lb_backends(&self, live: &[usize]) -> anyhow::Result<()> {
        let want: BTreeSet<String> = live
            .iter()
            .map(|&i| Ok(format!("{}:53", self.resolver_ip(i)?)))
            .collect::<anyhow::Result<_>>()?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let backends = self.lb_backends()?;
            let have: BTreeSet<String> = backends.iter().map(|(a, _)| a.clone()).collect();
            if have == want && backends.iter().all(|(_, up)| *up == 1.0) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "lb backends {backends:?}, want {want:?} up; lb log:\n{}",
                    self.lb_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// dig from the client to the lb's LoadBalancer address.
    pub fn dig(&self) -> Dig {
        Dig::new(LB_VIP.into()).netns(self.client.name())
    }

    /// kdig over DoT from the client to the LoadBalancer address, checking
    /// the certificate against `ca` for `hostname`.
    pub fn kdig_dot(&self, ca: &Path, hostname: &str) -> Dig {
        Dig::kdig(LB_VIP.into())
            .netns(self.client.name())
            .port(853)
            .tls()
            .arg(&format!("+tls-ca={}", ca.display()))
            .arg(&format!("+tls-hostname={hostname}"))
    }

    /// Starts a bounded load from the client to the LoadBalancer address
    /// (the `dns-load` binary; see [`load`]).
    pub fn start_load(&mut self, load: &Load) -> anyhow::Result<LoadRun> {
        let args = vec![
            "--server".into(),
            SocketAddr::from((LB_VIP, 53)).to_string(),
            "--count".into(),
            load.count.to_string(),
            "--rate".into(),
            load.rate.to_string(),
            "--concurrency".into(),
            load.concurrency.to_string(),
            "--timeout-ms".into(),
            load.timeout.as_millis().to_string(),
            "--max-ms".into(),
            load.max_time.as_millis().to_string(),
            "--names".into(),
            load.names.clone(),
            "--tcp-every".into(),
            load.tcp_every.to_string(),
        ];
        let daemon = self.client.spawn(&bin("dns-load")?, &args)?;
        Ok(LoadRun {
            daemon,
            limit: load.max_time + load.timeout + Duration::from_secs(10),
        })
    }

    /// Runs `load` to its end.
    pub async fn run_load(&mut self, load: &Load) -> anyhow::Result<LoadReport> {
        self.start_load(load)?.finish().await
    }

    /// Starts dhcp4 (again) in its namespace on the LAN, with the settings
    /// of `k8s/base/dhcp4/configs/kea-dhcp4.conf`, and waits until it is ready.
    pub async fn start_dhcp4(&mut self) -> anyhow::Result<()> {
        self.dhcp4.daemon = None;
        let conf = self.dir.join("kea-dhcp4.conf");
        let text = match self.dhcp {
            Dhcp::Relayed => configs::kea_conf_relayed(&self.lease_file()),
            Dhcp::Off | Dhcp::FlatLan => configs::kea_conf(&self.lease_file()),
        };
        std::fs::write(&conf, text)?;
        let mut daemon = self.dhcp4.ns.spawn(
            &bin("dhcp4")?,
            &[
                "-c".into(),
                conf.display().to_string(),
                "--metrics-addr".into(),
                format!("127.0.0.1:{DHCP_METRICS}"),
            ],
        )?;
        wait_http_ok(&self.dhcp4.ns, &mut daemon, DHCP_METRICS, "/readyz").await?;
        self.dhcp4.daemon = Some(daemon);
        Ok(())
    }

    /// ISC dhcrelay in the router: from the LAN to the dhcp4 Service address,
    /// sourced from the LAN-side address (giaddr), as a router's DHCP helper
    /// does, so the server's replies to giaddr match the Service's
    /// translation on their way back.
    async fn start_relay(&mut self) -> anyhow::Result<()> {
        self.router.ip(&[
            "route",
            "add",
            &DHCP_VIP.to_string(),
            "via",
            &NODE_TO_ROUTER.to_string(),
            "src",
            &LAN_GATEWAY.to_string(),
        ])?;
        let args: Vec<String> = ["-d", "-4", "-id", "lan0", "-iu", "uplink"]
            .map(String::from)
            .into_iter()
            .chain([DHCP_VIP.to_string()])
            .collect();
        let mut relay = self.router.spawn("dhcrelay", &args)?;
        // dhcrelay logs each interface as it opens it, the fallback socket
        // last; a client's DISCOVER before that would be lost.
        relay
            .wait_log("Sending on   Socket/fallback", Duration::from_secs(10))
            .await?;
        self.relay = Some(relay);
        Ok(())
    }

    /// Kills dhcp4 with SIGKILL (kill -9).
    pub async fn kill_dhcp4(&mut self) -> anyhow::Result<()> {
        if let Some(mut daemon) = self.dhcp4.daemon.take() {
            daemon.signal(Signal::Kill)?;
            daemon.wait_exit(Duration::from_secs(5)).await;
        }
        Ok(())
    }

    /// dhcp4's lease file (on the "PVC": the cluster's scratch directory).
    pub fn lease_file(&self) -> PathBuf {
        self.dir.join("dhcp4.leases")
    }

    /// dhcp4's metrics.
    pub fn scrape_dhcp4(&self) -> anyhow::Result<Scrape> {
        self.dhcp4.ns.scrape(DHCP_METRICS)
    }

    /// The tail of every server's log, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut pods: Vec<(&str, &Pod)> = vec![
            ("auth", &self.auth),
            ("dns", &self.dns),
            ("redis", &self.redis),
            ("lb", &self.lb),
            ("dhcp4", &self.dhcp4),
        ];
        pods.extend(self.resolvers.iter().map(|p| ("resolver", p)));
        for (role, pod) in pods {
            if let Some(daemon) = &pod.daemon {
                let log = daemon.log();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                out.push_str(&format!(
                    "--- {role} {} ({}), last lines:\n",
                    pod.ip,
                    daemon.log_path().display()
                ));
                for line in tail.into_iter().rev() {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = writeln!(
                std::io::stderr(),
                "dataplane: failed; servers said:\n{}",
                self.logs()
            );
        }
        // Processes first (each Daemon's drop sends SIGKILL to its PID and
        // reaps it), then the namespaces (their fields' drops).
        self.relay = None;
        let pods = [
            &mut self.lb,
            &mut self.dhcp4,
            &mut self.redis,
            &mut self.dns,
            &mut self.auth,
        ];
        for pod in pods {
            pod.daemon = None;
        }
        for pod in &mut self.resolvers {
            pod.daemon = None;
        }
        for dir in &self.etc {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A running load.
#[derive(Debug)]
pub struct LoadRun {
    daemon: Daemon,
    limit: Duration,
}

impl LoadRun {
    /// Waits until the load has started (its first line).
    pub async fn started(&mut self) -> anyhow::Result<()> {
        self.daemon
            .wait_log("started", Duration::from_secs(10))
            .await
    }

    /// Waits for the end (bounded by the load's own limits plus 10 s) and
    /// reads its report.
    pub async fn finish(mut self) -> anyhow::Result<LoadReport> {
        match self.daemon.wait_exit(self.limit).await {
            Some(status) if status.success() => LoadReport::parse(&self.daemon.log()),
            other => bail!(
                "dns-load did not finish cleanly ({other:?}); output:\n{}",
                self.daemon.log()
            ),
        }
    }
}

/// Prints one line per fault to the test's stderr, past the test harness'
/// capture (so it shows in CI logs for passing tests too).
pub fn report(fault: &str, report: &LoadReport) {
    let line = format!(
        "dataplane: fault={fault} sent={} answered={} failed={} lost={} (tcp {}, {} ms){}{}",
        report.sent,
        report.answered,
        report.failed,
        report.lost,
        report.tcp_sent,
        report.elapsed_ms,
        if report.lost_at_ms.is_empty() {
            String::new()
        } else {
            format!(" lost at ms {:?}", report.lost_at_ms)
        },
        if report.failed_at_ms.is_empty() {
            String::new()
        } else {
            format!(" failed at ms {:?}", report.failed_at_ms)
        },
    );
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Prints a free-form per-fault line the same way as [`report`].
pub fn report_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "dataplane: {line}");
}

/// A client hook script for udhcpc and ISC dhclient at `dir/name` (the
/// dhcp4 tests' hook: events in `dir/name.events`, address and default
/// route configured).
pub fn dhcp_hook(dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    crate::dhcp::hook_script(dir, name).with_context(|| format!("writing hook {name}"))
}

/// Joins pod namespace `pod` to the node: `node_if` `10.244.<k>.1/24` in the
/// node, `eth0` `10.244.<k>.2/24` in the pod with its default route via the node.
fn pod_link(node: &Netns, pod: &Netns, node_if: &str, k: u8) -> anyhow::Result<()> {
    crate::netns::link(
        node,
        node_if,
        &format!("10.244.{k}.1/24"),
        pod,
        "eth0",
        &format!("10.244.{k}.2/24"),
    )?;
    pod.ip(&["route", "add", "default", "via", &format!("10.244.{k}.1")])
}

/// Puts `ns` on the LAN: `eth0` in it, `port` on the router's bridge `lan0`.
fn lan_port(router: &Netns, ns: &Netns, port: &str) -> anyhow::Result<()> {
    bridge_port(router, "lan0", port, ns)
}

/// Polls `GET http://127.0.0.1:<port><path>` inside `ns` until it is 200
/// (20 s at most); fails with the daemon's log when it exits first.
async fn wait_http_ok(
    ns: &Netns,
    daemon: &mut Daemon,
    port: u16,
    path: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if ns.http_ok(port, path)? {
            return Ok(());
        }
        if let Some(status) = daemon.try_exit() {
            bail!(
                "exited ({status}) before {path} was 200; log:\n{}",
                daemon.log()
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{path} on :{port} not 200 after 20 s; log:\n{}",
                daemon.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A binary: ours (the workspace's) or this crate's helpers, all built into
/// the same target directory.
fn bin(name: &str) -> anyhow::Result<String> {
    Ok(cargo_bin(name)
        .with_context(|| format!("the data-plane tests run target/<profile>/{name}"))?
        .display()
        .to_string())
}

/// Runs `command` to completion; fails with its stderr.
fn run_ok(command: &mut Command) -> anyhow::Result<()> {
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !out.status.success() {
        bail!(
            "{command:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Fails loudly, naming the Debian package, when a tool the data plane needs
/// is missing (`scripts/test.sh` installs them).
fn check_tools() -> anyhow::Result<()> {
    let tools = [
        ("ip", "iproute2"),
        ("nft", "nftables"),
        ("busybox", "busybox"),
        ("dhclient", "isc-dhcp-client"),
        ("dhcrelay", "isc-dhcp-relay"),
        ("redis-server", "redis-server"),
        ("redis-cli", "redis-tools"),
        ("dig", "dnsutils"),
        ("kdig", "knot-dnsutils"),
    ];
    let missing: Vec<String> = tools
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(tool, package)| format!("{tool} (Debian package {package})"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the data-plane tests need {}; install them (scripts/test.sh does)",
            missing.join(", ")
        );
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(tool).is_file())
}
