//! DHCP on the event LAN of the data plane: real clients (busybox udhcpc and
//! ISC dhclient) get leases from dhcp4 whose DNS server option is the lb's
//! LoadBalancer address, resolve names through it, and keep their addresses
//! across dhcp4 being killed with SIGKILL and restarted. Both wirings of the
//! manifests: `k8s/base` (dhcp4 behind its LoadBalancer Service, the LAN's
//! router relaying to it) and `k8s/components/dhcp4-hostnetwork` (dhcp4 on
//! the LAN itself).

/// The server identifier a client must see: the Service address when
/// relayed, the server's own LAN address otherwise.
fn server_id(dhcp: Dhcp) -> String {
    match dhcp {
        Dhcp::Relayed => DHCP_VIP.to_string(),
        Dhcp::FlatLan | Dhcp::Off => DHCP_LAN_ADDR.to_string(),
    }
}

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::dataplane::{
    dhcp_hook, report_line, Cluster, Dhcp, DHCP_LAN_ADDR, DHCP_VIP, LAN_GATEWAY, LB_VIP,
};
use e2e::dig::Dig;
use e2e::Daemon;

use crate::dataplane_support::cluster_with_dhcp;
use crate::dhcp4_support::{events, lease_lines, Event};

/// Which real client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Udhcpc,
    Dhclient,
}

/// One DHCP client in LAN namespace `index` of the cluster.
struct Client {
    kind: Kind,
    index: usize,
    script: PathBuf,
    events: PathBuf,
    dir: PathBuf,
    process: Option<Daemon>,
}

impl Client {
    fn new(cluster: &Cluster, kind: Kind, index: usize) -> Client {
        let dir = cluster.dir.join(format!("client{index}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (script, events) = dhcp_hook(&dir, "hook").unwrap();
        Client {
            kind,
            index,
            script,
            events,
            dir,
            process: None,
        }
    }

    /// Starts (or restarts) the client process.
    fn start(&mut self, cluster: &Cluster) {
        let script = self.script.display().to_string();
        let (program, args): (&str, Vec<String>) = match self.kind {
            Kind::Udhcpc => (
                "busybox",
                [
                    "udhcpc", "-f", "-i", "eth0", "-t", "5", "-T", "1", "-s", &script,
                ]
                .map(String::from)
                .to_vec(),
            ),
            Kind::Dhclient => (
                "dhclient",
                [
                    "-4",
                    "-d",
                    "-1",
                    "-sf",
                    &script,
                    "-lf",
                    &self.dir.join("dhclient.leases").display().to_string(),
                    "-pf",
                    &self.dir.join("dhclient.pid").display().to_string(),
                    "-cf",
                    "/dev/null",
                    "eth0",
                ]
                .map(String::from)
                .to_vec(),
            ),
        };
        self.process = None;
        self.process = Some(
            cluster.dhcp_clients[self.index]
                .spawn(program, &args)
                .unwrap(),
        );
    }

    /// Events recorded so far.
    fn seen(&self) -> usize {
        events(&self.events).len()
    }

    /// The first event after `skip` whose name is one of `names` (15 s at most).
    async fn wait(&self, names: &[&str], skip: usize) -> Event {
        for _ in 0..300 {
            if let Some(event) = events(&self.events)
                .into_iter()
                .skip(skip)
                .find(|e| names.contains(&e.get("event")))
            {
                return event;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "client {} ({:?}): no {names:?} after event {skip} in 15 s: {:?}; log:\n{}",
            self.index,
            self.kind,
            events(&self.events),
            self.process.as_ref().map(Daemon::log).unwrap_or_default()
        )
    }

    /// Waits for its first lease.
    async fn bound(&self) -> Event {
        self.wait(&["bound", "BOUND"], 0).await
    }
}

fn ip_of(event: &Event) -> Ipv4Addr {
    event
        .get("ip")
        .parse()
        .unwrap_or_else(|e| panic!("{event:?}: {e}"))
}

/// dig inside the client's namespace at the DNS server its lease named.
async fn resolve_via_lease(cluster: &Cluster, index: usize, lease: &Event, tcp: bool) {
    let server: IpAddr = lease
        .get("dns")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no DNS server in the lease {lease:?}"));
    let mut dig = Dig::new(server).netns(cluster.dhcp_clients[index].name());
    if tcp {
        dig = dig.tcp();
    }
    let r = dig.run("mail.example.com", "MX").await.unwrap();
    assert_eq!(r.status, "NOERROR", "client {index}: {}", r.raw);
    assert_eq!(r.answers_of("MX"), ["10 mx.example.com."], "{}", r.raw);
    let r = dig.run("www.example.com", "A").await.unwrap();
    assert_eq!(
        r.answers_of("A"),
        ["192.0.2.1"],
        "client {index}: {}",
        r.raw
    );
}

/// Issue 6, "a DHCP client's lease whose DNS server option points at the lb
/// resolves names through it": udhcpc and dhclient get leases naming the
/// LoadBalancer address as DNS server and the LAN's router as router, relayed
/// to dhcp4 behind its Service and from dhcp4 on the LAN; each asks that
/// server (UDP and TCP) from its leased address and gets the answers.
#[tokio::test]
async fn a_lease_names_the_loadbalancer_and_names_resolve_through_it() {
    for dhcp in [Dhcp::Relayed, Dhcp::FlatLan] {
        let cluster = cluster_with_dhcp(1, dhcp, 2).await;
        let mut clients = [
            Client::new(&cluster, Kind::Udhcpc, 0),
            Client::new(&cluster, Kind::Dhclient, 1),
        ];
        for client in &mut clients {
            client.start(&cluster);
        }
        for client in &clients {
            let lease = client.bound().await;
            assert_eq!(lease.get("dns"), LB_VIP.to_string(), "{lease:?}");
            assert_eq!(lease.get("routers"), LAN_GATEWAY.to_string(), "{lease:?}");
            assert_eq!(lease.get("server"), server_id(dhcp), "{lease:?}");
            let ip = ip_of(&lease);
            assert!((100..=200).contains(&ip.octets()[3]), "{lease:?}");
            resolve_via_lease(&cluster, client.index, &lease, false).await;
            resolve_via_lease(&cluster, client.index, &lease, true).await;
            report_line(&format!(
                "dhcp ({dhcp:?}): {:?} leased {ip} from {}; the DNS server in the lease, {}, answers through the lb",
                client.kind,
                lease.get("server"),
                lease.get("dns")
            ));
        }
    }
}

/// Issue 6, "dhcp4 killed with -9 and restarted": four clients (two udhcpc,
/// two dhclient) hold leases; dhcp4 is killed with SIGKILL (names still
/// resolve meanwhile: DNS does not depend on it), restarted on the same lease
/// file, and every client gets its own address back: udhcpc by renewing
/// (unicast REQUEST to the server identifier: through the Service's
/// translation when relayed), dhclient by restarting (INIT-REBOOT, relayed).
/// Both wirings. A new client then
/// gets an address none of them holds. Every ACKed lease was on disk before
/// its ACK, so none may be lost.
#[tokio::test]
async fn dhcp4_killed_with_sigkill_and_restarted_keeps_every_lease() {
    for dhcp in [Dhcp::Relayed, Dhcp::FlatLan] {
        let mut cluster = cluster_with_dhcp(1, dhcp, 5).await;
        let kinds = [Kind::Udhcpc, Kind::Udhcpc, Kind::Dhclient, Kind::Dhclient];
        let mut clients: Vec<Client> = kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| Client::new(&cluster, kind, i))
            .collect();
        for client in &mut clients {
            client.start(&cluster);
        }
        let mut held = Vec::new();
        for client in &clients {
            held.push(ip_of(&client.bound().await));
        }
        let on_disk = lease_file_addresses(&cluster.lease_file());
        for ip in &held {
            assert!(on_disk.contains(ip), "{ip} not in the lease file");
        }

        cluster.kill_dhcp4().await.unwrap();
        // The DNS path does not depend on dhcp4.
        let lease = clients[0].wait(&["bound"], 0).await;
        resolve_via_lease(&cluster, 0, &lease, false).await;
        cluster.start_dhcp4().await.unwrap();

        let mut kept = 0;
        let mut outcomes = Vec::new();
        for (client, ip) in clients.iter_mut().zip(&held) {
            let skip = client.seen();
            let event = match client.kind {
                Kind::Udhcpc => {
                    client
                        .process
                        .as_ref()
                        .unwrap()
                        .signal(e2e::daemon::Signal::Usr1)
                        .unwrap();
                    client.wait(&["renew", "bound", "nak"], skip).await
                }
                Kind::Dhclient => {
                    if let Some(mut old) = client.process.take() {
                        old.signal(e2e::daemon::Signal::Term).unwrap();
                        old.wait_exit(Duration::from_secs(5)).await;
                    }
                    client.start(&cluster);
                    client.wait(&["REBOOT", "BOUND"], skip).await
                }
            };
            let same = event.get("ip") == ip.to_string();
            kept += usize::from(same);
            outcomes.push(format!(
                "{:?} {ip} -> {} {}",
                client.kind,
                event.get("event"),
                event.get("ip")
            ));
        }
        let newcomer = {
            let mut client = Client::new(&cluster, Kind::Udhcpc, 4);
            client.start(&cluster);
            ip_of(&client.bound().await)
        };
        report_line(&format!(
            "fault=dhcp4-sigkill ({dhcp:?}) leases={} kept={kept} lost={} ({}); a new client got {newcomer}",
            held.len(),
            held.len() - kept,
            outcomes.join(", ")
        ));
        assert_eq!(kept, held.len(), "{outcomes:?}");
        assert!(!held.contains(&newcomer), "{newcomer} is already leased");
    }
}

/// Every address with a live lease in a memfile.
fn lease_file_addresses(path: &Path) -> Vec<Ipv4Addr> {
    lease_lines(path)
        .unwrap()
        .into_iter()
        .filter(|l| l.valid_lifetime > 0)
        .map(|l| l.address)
        .collect()
}
