//! Kea 2.2 with libdhcp_ha.so as the hot-standby partner of our server, in
//! both roles: the pair converges, leases replicate to the partner before
//! the client's ACK, the standby takes over (partner-down) when the
//! primary is killed with SIGKILL, the primary comes back, syncs the
//! survivor's leases and the pair returns to hot-standby; no address is
//! ever given to two clients.
//!
//! Kea 2.2 without multi-threading takes its partner's commands through
//! kea-ctrl-agent (basic authentication, as operators run it), which
//! forwards them to kea-dhcp4's UNIX control socket; ours listens on its
//! own peer URL and, off loopback, checks the credentials of its own peer
//! entry (the ones Kea sends to it).
//!
//! Topology (all addresses inside the test's namespaces): a `lan`
//! namespace holding bridge `br0` at `<net>.254` (the clients), ours at
//! `<net>.1` and Kea at `<net>.2`, each on a bridge port. Clients are
//! directly connected: their broadcasts reach both servers; only the
//! server whose scope they are in answers.
//!
//! Run (as root): `cargo build -p dhcp4 --bins && cargo build -p e2e --bins`,
//! then `cargo test -p e2e --test it dhcp4_ha_kea`.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use e2e::daemon::Signal;
use e2e::kea::message::{mac, ACK, DISCOVER, OFFER, REQUEST};
use e2e::kea::server::{Probe, KEA_BIN};
use e2e::kea::{Message, Request};
use e2e::netns::{bridge_port, Netns};
use e2e::Daemon;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;
use tokio::time::Instant;

use crate::dhcp4_support::{lease_lines, start_ours, FileLease};

const HOOKS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks";
const AGENT_BIN: &str = "/usr/sbin/kea-ctrl-agent";
/// HA and command-channel port of both servers (ours, Kea's agent).
const HA_PORT: u16 = 8000;
/// Heartbeat every second, partner lost after 3 s (the brief's values).
const HEARTBEAT_MS: u32 = 1000;
const MAX_RESPONSE_MS: u32 = 3000;
/// Bound on reaching a state (start-up, sync, failover).
const STATE_BOUND: Duration = Duration::from_secs(60);
/// Bound on one control command's round trip.
const COMMAND_BOUND: Duration = Duration::from_secs(15);

/// Which implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Kea,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Kea => "kea",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Ours => Side::Kea,
            Side::Kea => Side::Ours,
        }
    }
}

/// The two servers, Kea's agent and their namespaces. Fields drop in
/// order: the processes before the namespaces they run in.
struct Pair {
    ours: Option<Daemon>,
    kea: Option<Daemon>,
    _agent: Daemon,
    net: [u8; 3],
    dir: PathBuf,
    ours_ns: Netns,
    kea_ns: Netns,
    lan: Netns,
}

impl Pair {
    /// Namespaces, configs and Kea's agent for a pair on `net.0/24` whose
    /// primary is `primary`; neither server is started.
    async fn new(name: &str, net: [u8; 3], primary: Side) -> anyhow::Result<Pair> {
        let lan = Netns::create("halan")?;
        lan.ip(&["link", "add", "br0", "type", "bridge"])?;
        lan.ip(&[
            "addr",
            "add",
            &format!("{}/24", addr(net, 254)),
            "dev",
            "br0",
        ])?;
        lan.ip(&["link", "set", "br0", "up"])?;
        // Limited broadcast (255.255.255.255) needs a route to leave by.
        lan.ip(&["route", "add", "default", "dev", "br0"])?;
        let ours_ns = Netns::create("haours")?;
        let kea_ns = Netns::create("hakea")?;
        bridge_port(&lan, "br0", "pours", &ours_ns)?;
        bridge_port(&lan, "br0", "pkea", &kea_ns)?;
        ours_ns.ip(&[
            "addr",
            "add",
            &format!("{}/24", addr(net, 1)),
            "dev",
            "eth0",
        ])?;
        kea_ns.ip(&[
            "addr",
            "add",
            &format!("{}/24", addr(net, 2)),
            "dev",
            "eth0",
        ])?;

        // Short: UNIX socket paths are limited to 107 bytes.
        let dir = std::env::temp_dir().join(format!("ha-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        for side in [Side::Ours, Side::Kea] {
            std::fs::write(
                dir.join(format!("{}.json", side.name())),
                dhcp4_config(&dir, net, side, primary),
            )?;
        }
        let agent_conf = dir.join("agent.json");
        std::fs::write(&agent_conf, agent_config(&dir, net))?;
        let env_dir = dir.display().to_string();
        let mut agent = kea_ns.spawn(
            "env",
            &[
                format!("KEA_PIDFILE_DIR={env_dir}"),
                format!("KEA_LOCKFILE_DIR={env_dir}"),
                AGENT_BIN.into(),
                "-c".into(),
                agent_conf.display().to_string(),
            ],
        )?;
        agent
            .wait_log("CTRL_AGENT_HTTP_SERVICE_STARTED", Duration::from_secs(20))
            .await?;
        Ok(Pair {
            ours: None,
            kea: None,
            _agent: agent,
            net,
            dir,
            ours_ns,
            kea_ns,
            lan,
        })
    }

    fn addr(&self, side: Side) -> Ipv4Addr {
        addr(self.net, if side == Side::Ours { 1 } else { 2 })
    }

    fn socket(&self, side: Side) -> PathBuf {
        self.dir.join(format!("{}.sock", side.name()))
    }

    fn leases(&self, side: Side) -> PathBuf {
        self.dir.join(format!("{}-leases.csv", side.name()))
    }

    /// Starts `side` (again); returns once it serves its control socket.
    async fn start(&mut self, side: Side) -> anyhow::Result<()> {
        let config = self.dir.join(format!("{}.json", side.name()));
        match side {
            Side::Ours => self.ours = Some(start_ours(&self.ours_ns, &config).await?),
            Side::Kea => {
                let env_dir = self.dir.display().to_string();
                let mut kea = self.kea_ns.spawn(
                    "env",
                    &[
                        format!("KEA_PIDFILE_DIR={env_dir}"),
                        format!("KEA_LOCKFILE_DIR={env_dir}"),
                        KEA_BIN.into(),
                        "-c".into(),
                        config.display().to_string(),
                    ],
                )?;
                kea.wait_log("DHCP4_STARTED", Duration::from_secs(20))
                    .await?;
                self.kea = Some(kea);
            }
        }
        Ok(())
    }

    fn daemon(&self, side: Side) -> Option<&Daemon> {
        match side {
            Side::Ours => self.ours.as_ref(),
            Side::Kea => self.kea.as_ref(),
        }
    }

    /// SIGKILL to `side`, reaped.
    async fn kill(&mut self, side: Side) -> anyhow::Result<()> {
        let slot = match side {
            Side::Ours => &mut self.ours,
            Side::Kea => &mut self.kea,
        };
        let mut daemon = slot.take().context("not running")?;
        daemon.signal(Signal::Kill)?;
        if daemon.wait_exit(Duration::from_secs(10)).await.is_none() {
            bail!("{} survived SIGKILL", side.name());
        }
        eprintln!(
            "{} killed; its log: {}",
            side.name(),
            daemon.log_path().display()
        );
        Ok(())
    }

    /// Both logs, for failure messages.
    fn logs(&self) -> String {
        let log = |side: Side| {
            self.daemon(side)
                .map_or_else(|| "(not running)".into(), Daemon::log)
        };
        format!(
            "--- ours:\n{}\n--- kea:\n{}",
            tail(&log(Side::Ours)),
            tail(&log(Side::Kea))
        )
    }

    /// `command` with `arguments` over `side`'s UNIX control socket.
    async fn command(&self, side: Side, command: &str, arguments: Value) -> anyhow::Result<Value> {
        let mut request = json!({ "command": command });
        if !arguments.is_null() {
            request["arguments"] = arguments;
        }
        let socket = self.socket(side);
        let exchange = async {
            let mut stream = UnixStream::connect(&socket)
                .await
                .with_context(|| format!("connecting to {}", socket.display()))?;
            stream.write_all(request.to_string().as_bytes()).await?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await?;
            serde_json::from_str::<Value>(&answer).with_context(|| format!("answer {answer:?}"))
        };
        tokio::time::timeout(COMMAND_BOUND, exchange)
            .await
            .with_context(|| format!("{} gave no answer to {command}", side.name()))?
    }

    /// `side`'s own HA state by status-get, with the partner's as it sees it.
    async fn states(&self, side: Side) -> anyhow::Result<(String, String)> {
        let answer = self.command(side, "status-get", Value::Null).await?;
        let servers = &answer["arguments"]["high-availability"][0]["ha-servers"];
        let local = servers["local"]["state"]
            .as_str()
            .with_context(|| format!("no local state in {answer}"))?;
        let remote = servers["remote"]["last-state"].as_str().unwrap_or("");
        Ok((local.to_string(), remote.to_string()))
    }

    /// Waits (up to [`STATE_BOUND`]) until `side` is in `want` and, when
    /// `partner` is given, sees its partner in that state; returns how long
    /// it took.
    async fn wait_state(
        &self,
        side: Side,
        want: &str,
        partner: Option<&str>,
    ) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let mut last = (String::new(), String::new());
        while start.elapsed() < STATE_BOUND {
            if let Ok(states) = self.states(side).await {
                if states.0 == want && partner.is_none_or(|p| states.1 == p) {
                    return Ok(start.elapsed());
                }
                last = states;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "{} not {want} (partner {partner:?}) within {STATE_BOUND:?} (last: {} with partner {:?})\n{}",
            side.name(),
            last.0,
            last.1,
            self.logs()
        )
    }

    /// Waits until both servers are in hot-standby, each seeing the other
    /// there.
    async fn wait_converged(&self) -> anyhow::Result<()> {
        for side in [Side::Ours, Side::Kea] {
            let took = self
                .wait_state(side, "hot-standby", Some("hot-standby"))
                .await?;
            eprintln!("{} in hot-standby after {took:?} more", side.name());
        }
        Ok(())
    }

    /// A client (chaddr `chaddr`) getting an address: DISCOVER, REQUEST
    /// selecting the offer; the ACK. Up to five attempts (the server may be
    /// changing state).
    async fn dora(&self, chaddr: [u8; 6], xid: u32) -> anyhow::Result<Message> {
        let mut probe = Probe::direct(&self.lan, Duration::from_secs(2))?;
        let ack = self.dora_with(&mut probe, chaddr, xid).await;
        probe.close().await?;
        ack
    }

    async fn dora_with(
        &self,
        probe: &mut Probe,
        chaddr: [u8; 6],
        xid: u32,
    ) -> anyhow::Result<Message> {
        let mut seen = Vec::new();
        for attempt in 0..5u32 {
            let xid = xid + attempt * 2;
            let discover = Request::new(DISCOVER, xid, chaddr).prl(&[1, 3, 6, 51, 54]);
            let Some(offer) = probe.exchange(&discover.encode()).await? else {
                seen.push(format!("attempt {attempt}: no offer"));
                continue;
            };
            let offer = Message::parse(&offer).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            if offer.kind() != OFFER {
                seen.push(format!("attempt {attempt}: {offer:?}"));
                continue;
            }
            let server = offer.option_addr(54).context("offer without server id")?;
            let request = Request::new(REQUEST, xid + 1, chaddr)
                .option(50, offer.yiaddr.octets())
                .option(54, server.octets())
                .prl(&[1, 3, 6, 51, 54]);
            match probe.exchange(&request.encode()).await? {
                Some(reply) => {
                    let reply = Message::parse(&reply).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    if reply.kind() == ACK {
                        return Ok(reply);
                    }
                    seen.push(format!("attempt {attempt}: {reply:?}"));
                }
                None => seen.push(format!("attempt {attempt}: no ack")),
            }
        }
        bail!("no lease for {chaddr:02x?}: {seen:#?}\n{}", self.logs())
    }

    /// The `hw-address` of `side`'s lease of `ip` (lease4-get), if any.
    async fn lease_of(&self, side: Side, ip: Ipv4Addr) -> anyhow::Result<Option<String>> {
        let answer = self
            .command(side, "lease4-get", json!({ "ip-address": ip.to_string() }))
            .await?;
        let answer = if answer.is_array() {
            answer[0].clone()
        } else {
            answer
        };
        match answer["result"].as_i64() {
            Some(0) => Ok(answer["arguments"]["hw-address"]
                .as_str()
                .map(str::to_string)),
            Some(3) => Ok(None),
            _ => bail!("{} lease4-get {ip}: {answer}", side.name()),
        }
    }

    /// Checks that `side` holds the lease of `ip` for `chaddr` now, by
    /// lease4-get and in its lease file, without waiting: a partner's lease
    /// update is acknowledged before the client's ACK goes out, and a
    /// returning server syncs before it leaves syncing, so the lease is
    /// there by the time the test looks.
    async fn has_lease(&self, side: Side, ip: Ipv4Addr, chaddr: [u8; 6]) -> anyhow::Result<()> {
        let want = mac_text(chaddr);
        let by_command = self.lease_of(side, ip).await?;
        let in_file = lease_lines(&self.leases(side))?
            .iter()
            .rev()
            .find(|l| l.address == ip)
            .is_some_and(|l| l.hwaddr == want && l.state == 0);
        if by_command.as_deref() == Some(want.as_str()) && in_file {
            return Ok(());
        }
        bail!(
            "{} does not hold {ip} for {want} (lease4-get: {by_command:?}); lease file:\n{}\n{}",
            side.name(),
            std::fs::read_to_string(self.leases(side)).unwrap_or_default(),
            self.logs()
        )
    }
}

fn addr(net: [u8; 3], host: u8) -> Ipv4Addr {
    Ipv4Addr::new(net[0], net[1], net[2], host)
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The last 150 lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(150)..].join("\n")
}

/// The Dhcp4 config of `side`: the same subnet, pool and HA parameters on
/// both (as operators keep them), this server's name, interface, lease
/// file and control socket.
fn dhcp4_config(dir: &Path, net: [u8; 3], side: Side, primary: Side) -> String {
    let role = |s: Side| if s == primary { "primary" } else { "standby" };
    let p = format!("{}.{}.{}", net[0], net[1], net[2]);
    format!(
        r#"{{
  "Dhcp4": {{
    "interfaces-config": {{ "interfaces": [ "eth0" ] }},
    "control-socket": {{ "socket-type": "unix", "socket-name": "{dir}/{this}.sock" }},
    "lease-database": {{ "type": "memfile", "persist": true, "name": "{dir}/{this}-leases.csv", "lfc-interval": 0 }},
    "valid-lifetime": 600,
    "hooks-libraries": [
      {{ "library": "{HOOKS}/libdhcp_lease_cmds.so" }},
      {{ "library": "{HOOKS}/libdhcp_ha.so",
        "parameters": {{ "high-availability": [ {{
          "this-server-name": "{this}",
          "mode": "hot-standby",
          "heartbeat-delay": {HEARTBEAT_MS},
          "max-response-delay": {MAX_RESPONSE_MS},
          "max-ack-delay": 5000,
          "max-unacked-clients": 0,
          "sync-timeout": 10000,
          "peers": [
            {{ "name": "ours", "url": "http://{p}.1:{HA_PORT}/", "role": "{ours_role}",
               "basic-auth-user": "ha", "basic-auth-password": "ours-secret" }},
            {{ "name": "kea", "url": "http://{p}.2:{HA_PORT}/", "role": "{kea_role}",
               "basic-auth-user": "ha", "basic-auth-password": "kea-secret" }}
          ]
        }} ] }} }}
    ],
    "subnet4": [ {{
      "id": 1,
      "subnet": "{p}.0/24",
      "pools": [ {{ "pool": "{p}.100 - {p}.150" }} ],
      "option-data": [ {{ "name": "routers", "data": "{p}.254" }} ]
    }} ],
    "loggers": [ {{ "name": "kea-dhcp4", "output_options": [ {{ "output": "stdout" }} ], "severity": "INFO" }} ]
  }}
}}
"#,
        dir = dir.display(),
        this = side.name(),
        ours_role = role(Side::Ours),
        kea_role = role(Side::Kea),
    )
}

/// kea-ctrl-agent on Kea's URL: basic authentication with the credentials
/// of Kea's peer entry, forwarding to kea-dhcp4's control socket.
fn agent_config(dir: &Path, net: [u8; 3]) -> String {
    format!(
        r#"{{
  "Control-agent": {{
    "http-host": "{host}",
    "http-port": {HA_PORT},
    "authentication": {{ "type": "basic", "realm": "kea-control-agent",
      "clients": [ {{ "user": "ha", "password": "kea-secret" }} ] }},
    "control-sockets": {{ "dhcp4": {{ "socket-type": "unix", "socket-name": "{dir}/kea.sock" }} }},
    "loggers": [ {{ "name": "kea-ctrl-agent", "output_options": [ {{ "output": "stdout" }} ], "severity": "INFO" }} ]
  }}
}}
"#,
        host = addr(net, 2),
        dir = dir.display()
    )
}

/// Every address in both lease files is held by one client only: all the
/// lines of both files (every update, not only the latest) name one
/// hardware address per leased address.
fn one_client_per_address(pair: &Pair) -> anyhow::Result<()> {
    let mut holder: HashMap<Ipv4Addr, (String, Side)> = HashMap::new();
    for side in [Side::Ours, Side::Kea] {
        let lines: Vec<FileLease> = lease_lines(&pair.leases(side))?;
        for line in lines
            .iter()
            .filter(|l| l.state == 0 && l.valid_lifetime > 0)
        {
            match holder.get(&line.address) {
                Some((hw, first)) if *hw != line.hwaddr => bail!(
                    "{} given to {hw} (in {}'s file) and to {} (in {}'s file)",
                    line.address,
                    first.name(),
                    line.hwaddr,
                    side.name()
                ),
                Some(_) => {}
                None => {
                    holder.insert(line.address, (line.hwaddr.clone(), side));
                }
            }
        }
    }
    Ok(())
}

/// The whole story with `primary` as the primary (the other is the
/// standby), on `net.0/24`.
async fn hot_standby_with_failover(name: &str, net: [u8; 3], scenario: u8, primary: Side) {
    let standby = primary.other();
    let mut pair = Pair::new(name, net, primary).await.unwrap();
    pair.start(Side::Kea).await.unwrap();
    pair.start(Side::Ours).await.unwrap();

    // 1. Convergence: both reach hot-standby, each seeing the other there.
    pair.wait_converged().await.unwrap();

    // 2. A client is served by the primary; the standby has the lease
    // (lease4-get and lease file) from the primary's update.
    let first = mac(scenario, 1);
    let ack = pair.dora(first, 0x4a00_0100).await.unwrap();
    assert_eq!(ack.option_addr(54), Some(pair.addr(primary)), "{ack:?}");
    let ip1 = ack.yiaddr;
    pair.has_lease(primary, ip1, first).await.unwrap();
    pair.has_lease(standby, ip1, first).await.unwrap();

    // 3. The primary dies: the standby goes partner-down and serves.
    pair.kill(primary).await.unwrap();
    let took = pair
        .wait_state(standby, "partner-down", None)
        .await
        .unwrap();
    eprintln!(
        "{} partner-down {took:?} after the kill (max-response-delay {MAX_RESPONSE_MS} ms, heartbeat {HEARTBEAT_MS} ms)",
        standby.name()
    );
    let second = mac(scenario, 2);
    let ack = pair.dora(second, 0x4a00_0200).await.unwrap();
    assert_eq!(ack.option_addr(54), Some(pair.addr(standby)), "{ack:?}");
    let ip2 = ack.yiaddr;
    assert_ne!(ip2, ip1);
    pair.has_lease(standby, ip2, second).await.unwrap();

    // The primary returns, syncs the survivor's leases, and the pair is
    // back in hot-standby.
    pair.start(primary).await.unwrap();
    pair.wait_converged().await.unwrap();
    pair.has_lease(primary, ip2, second).await.unwrap();
    pair.has_lease(primary, ip1, first).await.unwrap();

    // The primary serves again and replicates again.
    let third = mac(scenario, 3);
    let ack = pair.dora(third, 0x4a00_0300).await.unwrap();
    assert_eq!(ack.option_addr(54), Some(pair.addr(primary)), "{ack:?}");
    let ip3 = ack.yiaddr;
    assert!(ip3 != ip1 && ip3 != ip2, "{ip1} {ip2} {ip3}");
    pair.has_lease(primary, ip3, third).await.unwrap();
    pair.has_lease(standby, ip3, third).await.unwrap();

    // 4. No address went to two clients, in either file.
    one_client_per_address(&pair).unwrap();
}

/// Ours primary, Kea 2.2 standby: Kea takes over when ours is killed and
/// hands the leases back when ours returns.
#[tokio::test]
async fn ours_primary_kea_standby_converge_replicate_fail_over_and_sync_back() {
    hot_standby_with_failover("op", [10, 86, 0], 0x61, Side::Ours).await;
}

/// Kea 2.2 primary, ours standby: ours takes over when Kea is killed and
/// hands the leases back when Kea returns.
#[tokio::test]
async fn kea_primary_ours_standby_converge_replicate_fail_over_and_sync_back() {
    hot_standby_with_failover("kp", [10, 87, 0], 0x62, Side::Kea).await;
}
