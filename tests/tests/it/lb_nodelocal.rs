//! The lb in node-local mode, in network namespaces: a node with the
//! agent's interface (link type `ifb`: this kernel has no `dummy`) and its
//! rules, a client pod behind it, and a cluster-DNS namespace holding the
//! lb's backend and the cluster DNS reached through a DNAT'd Service
//! address. Two stubs tell the paths apart: the backend answers x.test with
//! 2.2.2.2 (the agent answered), the cluster DNS with 1.1.1.1 (the fallback);
//! only the cluster DNS knows the cluster's names (3.3.3.3, 4.4.4.4).
//!
//! ```text
//!  pod 10.k.0.2 ── node 10.k.0.1 [lb on 169.254.20.10, iface + rules]
//!                       10.k.1.1 ── cluster-dns ns: backend stub 10.k.1.2,
//!                                   cluster DNS 10.k.1.3 behind the
//!                                   Service 10.k.96.10 (DNAT, as kube-proxy)
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use e2e::daemon::{cargo_bin, unique_net, Daemon, Signal};
use e2e::dataplane::load::LoadReport;
use e2e::dataplane::stub::write_records;
use e2e::dig::Dig;
use e2e::netns::{link, Netns};

use crate::resolver_support::scratch_dir;

const AGENT: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 20, 10));
/// The backend's answer: the agent served the query.
const VIA_AGENT: &str = "2.2.2.2";
/// The cluster DNS's answer: the fallback served it.
const VIA_FALLBACK: &str = "1.1.1.1";
/// A cluster name, which only the cluster DNS knows.
const IN_CLUSTER: &str = "3.3.3.3";
/// A name in a reverse zone, which only the cluster DNS knows.
const IN_CLUSTER_REVERSE: &str = "4.4.4.4";

fn bin(name: &str) -> String {
    cargo_bin(name)
        .unwrap_or_else(|e| panic!("{name} built (cargo build --workspace --bins): {e:#}"))
        .display()
        .to_string()
}

/// The namespaces, the stubs and the agent's config.
struct Node {
    /// The node's interface name (unique, so a leak is easy to attribute).
    iface: String,
    config: PathBuf,
    metrics_port: u16,
    _stubs: Vec<Daemon>,
    pod: Netns,
    cluster: Netns,
    node: Netns,
}

impl Node {
    /// Builds the namespaces and the stubs; `node_local` is the
    /// `[node-local]` table's extra keys (the firewall and its options).
    async fn new(node_local: &str) -> Node {
        let k = unique_net();
        let node = Netns::create_with_prefix("nlt", "node").unwrap();
        let pod = Netns::create_with_prefix("nlt", "pod").unwrap();
        let cluster = Netns::create_with_prefix("nlt", "dns").unwrap();
        link(
            &node,
            "vpod",
            &format!("10.{k}.0.1/24"),
            &pod,
            "eth0",
            &format!("10.{k}.0.2/24"),
        )
        .unwrap();
        link(
            &node,
            "vdns",
            &format!("10.{k}.1.1/24"),
            &cluster,
            "eth0",
            &format!("10.{k}.1.2/24"),
        )
        .unwrap();
        cluster
            .ip(&["addr", "add", &format!("10.{k}.1.3/24"), "dev", "eth0"])
            .unwrap();
        pod.ip(&["route", "add", "default", "via", &format!("10.{k}.0.1")])
            .unwrap();
        cluster
            .ip(&["route", "add", "default", "via", &format!("10.{k}.1.1")])
            .unwrap();
        // The Service range lives in the cluster namespace, where "kube-proxy" DNATs it.
        node.ip(&[
            "route",
            "add",
            &format!("10.{k}.96.0/24"),
            "via",
            &format!("10.{k}.1.2"),
        ])
        .unwrap();
        run_ok(&node, "sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        let service = format!("10.{k}.96.10");
        for proto in ["udp", "tcp"] {
            run_ok(
                &cluster,
                "iptables",
                &[
                    "-t",
                    "nat",
                    "-A",
                    "PREROUTING",
                    "-d",
                    &service,
                    "-p",
                    proto,
                    "--dport",
                    "53",
                    "-j",
                    "DNAT",
                    "--to-destination",
                    &format!("10.{k}.1.3:53"),
                ],
            );
        }
        let dir = scratch_dir("lb-nodelocal");
        let mut stubs = Vec::new();
        let cluster_names = [
            ("x.test", VIA_FALLBACK),
            ("web.default.svc.cluster.local", IN_CLUSTER),
            ("10.0.96.10.in-addr.arpa", IN_CLUSTER_REVERSE),
        ];
        for (host, names) in [(2, &[("x.test", VIA_AGENT)][..]), (3, &cluster_names[..])] {
            let records = dir.join(format!("records-{host}.txt"));
            let names: Vec<(&str, Ipv4Addr)> = names
                .iter()
                .map(|(n, a)| (*n, a.parse().unwrap()))
                .collect();
            write_records(&records, &names).unwrap();
            let listen = format!("10.{k}.1.{host}:53");
            let records = records.display().to_string();
            let mut stub = cluster
                .spawn(
                    &bin("dns-stub"),
                    &["--listen", &listen, "--records", &records, "--tcp"],
                )
                .unwrap();
            stub.wait_log("ready", Duration::from_secs(10))
                .await
                .unwrap();
            stubs.push(stub);
        }
        let iface = format!("nl{k}");
        let metrics_port = 9253;
        let config = dir.join("lb.toml");
        std::fs::write(
            &config,
            format!(
                "[node-local]\ninterface = \"{iface}\"\nlink-type = \"ifb\"\nfallback = \"{service}\"\ncheck-interval = \"200ms\"\n{node_local}\n\
                 [backends]\nservers = [{{ addr = \"10.{k}.1.2\" }}]\ntimeout = \"500ms\"\n\
                 [health]\nenabled = false\n\
                 [metrics]\naddr = \"127.0.0.1:{metrics_port}\"\n"
            ),
        )
        .unwrap();
        Node {
            iface,
            config,
            metrics_port,
            _stubs: stubs,
            pod,
            cluster,
            node,
        }
    }

    /// Starts the agent and waits until it serves.
    async fn start_agent(&self) -> Daemon {
        let config = self.config.display().to_string();
        let mut agent = self
            .node
            .spawn(&bin("lb"), &["-c", &config, "--lameduck", "1"])
            .unwrap();
        agent
            .wait_log("lb ready", Duration::from_secs(20))
            .await
            .unwrap();
        agent
    }

    /// The A records the pod gets for x.test from the agent's address
    /// (empty: no answer).
    async fn ask(&self) -> Vec<String> {
        self.ask_for("x.test").await
    }

    /// The A records the pod gets for `name` from the agent's address.
    async fn ask_for(&self, name: &str) -> Vec<String> {
        let result = Dig::new(AGENT)
            .netns(self.pod.name())
            .run(name, "A")
            .await
            .unwrap();
        result
            .answers_of("A")
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// The agent's interface and its address, if present.
    fn iface_present(&self) -> bool {
        let out = self
            .node
            .run("ip", &["-o", "addr", "show", "dev", &self.iface])
            .unwrap();
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("169.254.20.10/32")
    }

    /// `iptables -t TABLE -S` in the node.
    fn iptables(&self, table: &str) -> String {
        let out = self
            .node
            .run("iptables", &["-w", "-t", table, "-S"])
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `nft list ruleset` in the node.
    fn nft(&self) -> String {
        let out = self.node.run("nft", &["list", "ruleset"]).unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn run_ok(ns: &Netns, program: &str, args: &[&str]) {
    let out = ns.run(program, args).unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `check` every 50 ms for up to `limit`.
async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

/// iptables: the agent answers through its NOTRACK'd address; killed with
/// SIGKILL, the `-m socket` fallback answers through the cluster DNS; a new
/// agent takes over the leftovers; the checker puts back a deleted interface
/// and deleted rules; SIGTERM removes the interface and every rule but the
/// fallback, which keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iptables_agent_fallback_checker_and_teardown() {
    let node = Node::new("firewall = \"iptables\"").await;
    assert_eq!(
        node.ask().await,
        Vec::<String>::new(),
        "no agent, no rules: no answer"
    );

    let mut agent = node.start_agent().await;
    assert!(node.iface_present());
    let raw = node.iptables("raw");
    assert!(
        raw.contains("-A PREROUTING -d 169.254.20.10/32 -p udp -m udp --dport 53 -m socket --nowildcard -j CT --notrack")
            || raw.contains("-A PREROUTING -d 169.254.20.10/32 -p udp -m udp --dport 53 -m socket --nowildcard -j NOTRACK"),
        "{raw}"
    );
    assert_eq!(node.ask().await, [VIA_AGENT]);

    agent.signal(Signal::Kill).unwrap();
    agent.wait_exit(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        node.ask().await,
        [VIA_FALLBACK],
        "a dead agent falls back to the cluster DNS"
    );

    let mut agent = node.start_agent().await;
    assert_eq!(
        node.ask().await,
        [VIA_AGENT],
        "a new agent takes over the leftovers"
    );

    // Someone deletes the interface and the NOTRACK rules: the checker (every 200 ms) repairs.
    node.node.ip(&["link", "del", &node.iface]).unwrap();
    run_ok(
        &node.node,
        "iptables",
        &["-w", "-t", "raw", "-F", "PREROUTING"],
    );
    assert!(
        eventually(Duration::from_secs(5), || node.iface_present()
            && node.iptables("raw").contains("--nowildcard"))
        .await
    );
    assert_eq!(node.ask().await, [VIA_AGENT]);
    let scrape = node.node.scrape(node.metrics_port).unwrap();
    assert!(
        scrape
            .value("nodelocal_repairs_total", &[("what", "interface")])
            .unwrap_or(0.0)
            >= 1.0
    );
    assert!(
        scrape
            .value("nodelocal_repairs_total", &[("what", "rules")])
            .unwrap_or(0.0)
            >= 1.0
    );

    agent.signal(Signal::Term).unwrap();
    let status = agent.wait_exit(Duration::from_secs(10)).await.unwrap();
    assert!(status.success(), "{status}; log:\n{}", agent.log());
    assert!(!node.iface_present(), "interface removed at exit");
    assert!(
        !node.iptables("raw").contains("169.254.20.10"),
        "{}",
        node.iptables("raw")
    );
    assert!(!node.iptables("filter").contains("169.254.20.10"));
    let nat = node.iptables("nat");
    assert!(
        nat.contains("-A NODE-LOCAL-DNS -p udp -j DNAT"),
        "the fallback stays: {nat}"
    );
    assert!(!nat.contains("RETURN"), "{nat}");
    assert_eq!(
        node.ask().await,
        [VIA_FALLBACK],
        "after exit the fallback answers"
    );
}

/// nftables, with `keep-fallback = false`: the same contract from one
/// table, and at exit nothing is left (an uninstall).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nftables_agent_fallback_and_full_teardown() {
    let node = Node::new("firewall = \"nftables\"\nkeep-fallback = false").await;
    let mut agent = node.start_agent().await;
    let rules = node.nft();
    assert!(rules.contains("table inet node_local_dns"), "{rules}");
    assert!(rules.contains("socket wildcard 0 notrack"), "{rules}");
    assert_eq!(node.ask().await, [VIA_AGENT]);

    agent.signal(Signal::Kill).unwrap();
    agent.wait_exit(Duration::from_secs(5)).await.unwrap();
    assert_eq!(node.ask().await, [VIA_FALLBACK]);

    let mut agent = node.start_agent().await;
    assert_eq!(node.ask().await, [VIA_AGENT]);
    run_ok(
        &node.node,
        "nft",
        &["delete", "table", "inet", "node_local_dns"],
    );
    assert!(
        eventually(Duration::from_secs(5), || node
            .nft()
            .contains("node_local_dns"))
        .await
    );

    agent.signal(Signal::Term).unwrap();
    let status = agent.wait_exit(Duration::from_secs(10)).await.unwrap();
    assert!(status.success(), "{status}; log:\n{}", agent.log());
    assert!(!node.iface_present());
    assert!(!node.nft().contains("node_local_dns"), "{}", node.nft());
    assert_eq!(
        node.ask().await,
        Vec::<String>::new(),
        "nothing left: no answer"
    );
}

/// A rolling update under a steady load (500 q/s): at SIGTERM the rules
/// hand new queries to the cluster DNS while the old agent answers what it
/// has, the fallback answers until the new agent binds; not one query is
/// lost or fails (without the hand-over, 26 were lost on a busy machine:
/// queued on sockets that stayed bound through the drain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_under_load_loses_no_query() {
    let node = Node::new("firewall = \"iptables\"").await;
    let mut old = node.start_agent().await;
    let args = [
        "--server",
        "169.254.20.10:53",
        "--count",
        "4000",
        "--rate",
        "500",
        "--concurrency",
        "64",
        "--timeout-ms",
        "2000",
        "--max-ms",
        "15000",
        "--names",
        "x.test",
    ];
    let mut load = node.pod.spawn(&bin("dns-load"), &args).unwrap();
    load.wait_log("started", Duration::from_secs(10))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    old.signal(Signal::Term).unwrap();
    let status = old.wait_exit(Duration::from_secs(10)).await.unwrap();
    assert!(status.success(), "{status}");
    let _new = node.start_agent().await;
    let exit = load.wait_exit(Duration::from_secs(30)).await;
    assert!(
        exit.is_some_and(|s| s.success()),
        "dns-load: {exit:?}\n{}",
        load.log()
    );
    let report = LoadReport::parse(&load.log()).unwrap();
    assert_eq!(report.sent, 4000, "{}", report.line());
    assert_eq!((report.lost, report.failed), (0, 0), "{}", report.line());
    assert_eq!(node.ask().await, [VIA_AGENT], "the new agent serves");
}

/// fallback-chain: with kube-proxy in iptables mode the fallback jumps to
/// its chains of the cluster DNS Service, one per protocol (each DNATs only
/// its own, as kube-proxy's `KUBE-SVC-...` chains do): with the agent killed,
/// UDP and TCP queries are both answered by the cluster DNS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_chains_per_protocol_answer_udp_and_tcp() {
    let node = Node::new(
        "firewall = \"iptables\"\nfallback-chain = { udp = \"KUBE-SVC-NLUDP\", tcp = \"KUBE-SVC-NLTCP\" }",
    )
    .await;
    let k = node.iface.trim_start_matches("nl");
    let dns = format!("10.{k}.1.3:53");
    for (chain, proto) in [("KUBE-SVC-NLUDP", "udp"), ("KUBE-SVC-NLTCP", "tcp")] {
        run_ok(&node.node, "iptables", &["-w", "-t", "nat", "-N", chain]);
        let rule = [
            "-w",
            "-t",
            "nat",
            "-A",
            chain,
            "-p",
            proto,
            "-j",
            "DNAT",
            "--to-destination",
            &dns,
        ];
        run_ok(&node.node, "iptables", &rule);
    }
    let mut agent = node.start_agent().await;
    let nat = node.iptables("nat");
    assert!(
        nat.contains("-A NODE-LOCAL-DNS -p udp -j KUBE-SVC-NLUDP"),
        "{nat}"
    );
    assert!(
        nat.contains("-A NODE-LOCAL-DNS -p tcp -j KUBE-SVC-NLTCP"),
        "{nat}"
    );
    agent.signal(Signal::Kill).unwrap();
    agent.wait_exit(Duration::from_secs(5)).await.unwrap();
    for tcp in [false, true] {
        let mut dig = Dig::new(AGENT).netns(node.pod.name());
        if tcp {
            dig = dig.tcp();
        }
        let answer = dig.run("x.test", "A").await.unwrap();
        assert_eq!(
            answer.answers_of("A"),
            [VIA_FALLBACK],
            "tcp {tcp}: {}",
            answer.raw
        );
    }
}

/// Node-local forwarding: names in the cluster domain and the reverse zones
/// go to the cluster DNS, over TCP even for a UDP client (node-local-dns'
/// force_tcp), whatever their case; everything else goes to the backends.
/// The cache answers the same name in another case, counted per zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_zones_go_to_the_cluster_dns_over_tcp() {
    let node = Node::new("firewall = \"iptables\"\n[cache]\nsize = 100").await;
    let k = node.iface.trim_start_matches("nl");
    let dns = format!("10.{k}.1.3");
    // Counters on the cluster DNS's own address (after the Service DNAT).
    for spec in [&["-p", "tcp", "--syn"][..], &["-p", "udp", "-m", "udp"][..]] {
        let mut args = vec!["-w", "-A", "INPUT", "-d", &dns];
        args.extend(spec);
        args.extend(["--dport", "53", "-j", "ACCEPT"]);
        run_ok(&node.cluster, "iptables", &args);
    }
    let _agent = node.start_agent().await;
    assert_eq!(
        node.ask_for("web.default.svc.cluster.local").await,
        [IN_CLUSTER]
    );
    assert_eq!(
        node.ask_for("WEB.Default.SVC.Cluster.LOCAL").await,
        [IN_CLUSTER]
    );
    assert_eq!(
        node.ask_for("10.0.96.10.in-addr.arpa").await,
        [IN_CLUSTER_REVERSE]
    );
    assert_eq!(
        node.ask().await,
        [VIA_AGENT],
        "other names go to the backends"
    );
    assert_eq!(
        node.ask_for("web.default.svc.notcluster.local").await,
        Vec::<String>::new()
    );
    let counters = String::from_utf8_lossy(
        &node
            .cluster
            .run("iptables", &["-w", "-L", "INPUT", "-v", "-x", "-n"])
            .unwrap()
            .stdout,
    )
    .into_owned();
    // With -n the protocol column is numeric: 6 TCP, 17 UDP.
    let packets = |proto: &str| -> u64 {
        counters
            .lines()
            .find(|l| l.contains(&dns) && l.split_whitespace().nth(3) == Some(proto))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {proto} counter in:\n{counters}"))
    };
    assert!(
        packets("6") >= 1,
        "the cluster DNS saw no TCP connection:\n{counters}"
    );
    assert_eq!(
        packets("17"),
        0,
        "the cluster DNS was asked over UDP:\n{counters}"
    );

    // CoreDNS's names, per zone and per upstream, for the node-local dashboards.
    let scrape = node.node.scrape(node.metrics_port).unwrap();
    let cluster_a = [
        ("zone", "cluster.local."),
        ("proto", "udp"),
        ("family", "1"),
        ("type", "A"),
    ];
    assert_eq!(
        scrape.value("coredns_dns_requests_total", &cluster_a),
        Some(2.0)
    );
    let root_a = [("zone", "."), ("proto", "udp"), ("type", "A")];
    assert_eq!(
        scrape.value("coredns_dns_requests_total", &root_a),
        Some(2.0)
    );
    let reverse = [("zone", "in-addr.arpa."), ("type", "A")];
    assert_eq!(
        scrape.value("coredns_dns_requests_total", &reverse),
        Some(1.0)
    );
    for (plugin, count) in [("forward", 1.0), ("cache", 1.0)] {
        let answered = [
            ("zone", "cluster.local."),
            ("rcode", "NOERROR"),
            ("plugin", plugin),
        ];
        assert_eq!(
            scrape.value("coredns_dns_responses_total", &answered),
            Some(count),
            "{plugin}"
        );
    }
    let denied = [("zone", "."), ("rcode", "NXDOMAIN"), ("plugin", "forward")];
    assert_eq!(
        scrape.value("coredns_dns_responses_total", &denied),
        Some(1.0)
    );
    let to_cluster = format!("10.{k}.96.10:53");
    let to_backend = format!("10.{k}.1.2:53");
    assert_eq!(
        scrape.value("coredns_forward_requests_total", &[("to", &to_cluster)]),
        Some(2.0),
        "the second spelling of the name came from the cache"
    );
    assert_eq!(
        scrape.value("coredns_forward_requests_total", &[("to", &to_backend)]),
        Some(2.0)
    );
    let durations = [("to", to_cluster.as_str()), ("rcode", "NOERROR")];
    assert_eq!(
        scrape.value("coredns_forward_request_duration_seconds_count", &durations),
        Some(2.0)
    );
    let duration = [("zone", "cluster.local."), ("type", "A")];
    assert_eq!(
        scrape.value("coredns_dns_request_duration_seconds_count", &duration),
        Some(2.0)
    );
    let cluster_cache = [("zones", "cluster.local."), ("type", "success")];
    assert_eq!(
        scrape.value("coredns_cache_hits_total", &cluster_cache),
        Some(1.0)
    );
    assert_eq!(
        scrape.value("coredns_cache_misses_total", &[("zones", "cluster.local.")]),
        Some(1.0)
    );
    for zones in ["cluster.local.", "in-addr.arpa.", "."] {
        assert_eq!(
            scrape.value(
                "coredns_cache_entries",
                &[("zones", zones), ("type", "success")]
            ),
            Some(1.0),
            "{zones}"
        );
    }
    assert_eq!(
        scrape.value(
            "coredns_cache_entries",
            &[("zones", "ip6.arpa."), ("type", "success")]
        ),
        Some(0.0)
    );

    // /health on the agent's address, as CoreDNS's health plugin, from the pod.
    let health = node
        .pod
        .run(
            "busybox",
            &["wget", "-q", "-O", "-", "http://169.254.20.10:8080/health"],
        )
        .unwrap();
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
}
