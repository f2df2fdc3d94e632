//! Kea 2.2 with libdhcp_ha.so as the hot-standby partner of our server, in
//! both roles: the pair converges, leases replicate to the partner before
//! the client's ACK, the standby takes over (partner-down) when the
//! primary is killed with SIGKILL, the primary comes back, syncs the
//! survivor's leases and the pair returns to hot-standby; no address is
//! ever given to two clients.
//!
//! The same pair in load-balancing, in both roles, with pools split by the
//! classes `HA_server1` / `HA_server2` as Kea advises: each client is
//! answered by the server of the scope its RFC 3074 hash (of the client
//! id, else chaddr) falls in, from that scope's pool, and the partner
//! holds the lease; when one server is killed with SIGKILL the survivor
//! goes through communication-recovery (Kea's load-balancing default
//! delayed-updates-limit is 100) to partner-down and serves the dead
//! one's scope from the dead one's pool; the dead one returns, syncs, and
//! the pair is back in load-balancing.
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
    /// Its file names (config, lease file, control socket).
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

/// The HA mode of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    HotStandby,
    LoadBalancing,
}

impl Mode {
    /// The mode's name in the config, which is also its normal state.
    fn name(self) -> &'static str {
        match self {
            Mode::HotStandby => "hot-standby",
            Mode::LoadBalancing => "load-balancing",
        }
    }

    /// The role of the server that is not the primary.
    fn other_role(self) -> &'static str {
        match self {
            Mode::HotStandby => "standby",
            Mode::LoadBalancing => "secondary",
        }
    }
}

/// What both servers' HA configs say.
#[derive(Debug, Clone, Copy)]
struct Setup {
    mode: Mode,
    primary: Side,
    /// 0 (the brief's value): partner-down once max-response-delay has
    /// passed without contact, whatever the clients do.
    max_unacked_clients: u32,
}

impl Setup {
    fn new(mode: Mode, primary: Side) -> Setup {
        Setup {
            mode,
            primary,
            max_unacked_clients: 0,
        }
    }
}

/// The two servers, Kea's agent and their namespaces. Fields drop in
/// order: the processes before the namespaces they run in.
struct Pair {
    setup: Setup,
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
    /// Namespaces, configs and Kea's agent for a pair set up as `setup` on
    /// `net.0/24`; neither server is started.
    async fn new(name: &str, net: [u8; 3], setup: Setup) -> anyhow::Result<Pair> {
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
                dhcp4_config(&dir, net, side, setup),
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
            setup,
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

    /// Waits until both servers are in the mode's normal state
    /// (hot-standby, load-balancing), each seeing the other there.
    async fn wait_converged(&self) -> anyhow::Result<()> {
        let normal = self.setup.mode.name();
        for side in [Side::Ours, Side::Kea] {
            let took = self.wait_state(side, normal, Some(normal)).await?;
            eprintln!("{} in {normal} after {took:?} more", side.name());
        }
        Ok(())
    }

    /// A client (chaddr `chaddr`) getting an address: DISCOVER, REQUEST
    /// selecting the offer; the ACK. Up to five attempts (the server may be
    /// changing state).
    async fn dora(&self, chaddr: [u8; 6], xid: u32) -> anyhow::Result<Message> {
        self.dora_as(chaddr, None, xid).await
    }

    /// [`Pair::dora`] by a client that sends `client_id` (option 61) when
    /// given.
    async fn dora_as(
        &self,
        chaddr: [u8; 6],
        client_id: Option<&[u8]>,
        xid: u32,
    ) -> anyhow::Result<Message> {
        let mut probe = Probe::direct(&self.lan, Duration::from_secs(2))?;
        let ack = self.dora_with(&mut probe, chaddr, client_id, xid).await;
        probe.close().await?;
        ack
    }

    async fn dora_with(
        &self,
        probe: &mut Probe,
        chaddr: [u8; 6],
        client_id: Option<&[u8]>,
        xid: u32,
    ) -> anyhow::Result<Message> {
        let with_id = |request: Request| match client_id {
            Some(id) => request.option(61, id),
            None => request,
        };
        let mut seen = Vec::new();
        for attempt in 0..5u32 {
            let xid = xid + attempt * 2;
            let discover = with_id(Request::new(DISCOVER, xid, chaddr)).prl(&[1, 3, 6, 51, 54]);
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
            let request = with_id(Request::new(REQUEST, xid + 1, chaddr))
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

/// Peer name of the primary: its scope, and the class `HA_server1` its
/// clients get.
const PRIMARY_NAME: &str = "server1";
/// Peer name of the standby or secondary.
const OTHER_NAME: &str = "server2";

/// The host part of the first and last address of the pool of `scope`
/// (0: the primary's, 1: the secondary's) in load-balancing, guarded by
/// the class `HA_<scope's server>` as Kea advises.
const LB_POOLS: [(u8, u8); 2] = [(100, 149), (150, 199)];

/// The Dhcp4 config of `side`: the same subnet, pools and HA parameters on
/// both (as operators keep them), this server's name, interface, lease
/// file and control socket. Load-balancing keeps Kea's default
/// delayed-updates-limit (100), so a server that loses its partner goes to
/// communication-recovery before partner-down.
fn dhcp4_config(dir: &Path, net: [u8; 3], side: Side, setup: Setup) -> String {
    let Setup {
        mode,
        primary,
        max_unacked_clients,
    } = setup;
    let role = |s: Side| {
        if s == primary {
            "primary"
        } else {
            mode.other_role()
        }
    };
    let peer = |s: Side| {
        if s == primary {
            PRIMARY_NAME
        } else {
            OTHER_NAME
        }
    };
    let p = format!("{}.{}.{}", net[0], net[1], net[2]);
    let pools = match mode {
        Mode::HotStandby => format!(r#"{{ "pool": "{p}.100 - {p}.150" }}"#),
        Mode::LoadBalancing => [PRIMARY_NAME, OTHER_NAME]
            .iter()
            .zip(LB_POOLS)
            .map(|(name, (first, last))| {
                format!(r#"{{ "pool": "{p}.{first} - {p}.{last}", "client-class": "HA_{name}" }}"#)
            })
            .collect::<Vec<_>>()
            .join(",\n        "),
    };
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
          "this-server-name": "{this_peer}",
          "mode": "{mode}",
          "heartbeat-delay": {HEARTBEAT_MS},
          "max-response-delay": {MAX_RESPONSE_MS},
          "max-ack-delay": 5000,
          "max-unacked-clients": {max_unacked_clients},
          "sync-timeout": 10000,
          "peers": [
            {{ "name": "{ours_peer}", "url": "http://{p}.1:{HA_PORT}/", "role": "{ours_role}",
               "basic-auth-user": "ha", "basic-auth-password": "ours-secret" }},
            {{ "name": "{kea_peer}", "url": "http://{p}.2:{HA_PORT}/", "role": "{kea_role}",
               "basic-auth-user": "ha", "basic-auth-password": "kea-secret" }}
          ]
        }} ] }} }}
    ],
    "subnet4": [ {{
      "id": 1,
      "subnet": "{p}.0/24",
      "pools": [ {pools} ],
      "option-data": [ {{ "name": "routers", "data": "{p}.254" }} ]
    }} ],
    "loggers": [ {{ "name": "kea-dhcp4", "output_options": [ {{ "output": "stdout" }} ], "severity": "INFO" }} ]
  }}
}}
"#,
        dir = dir.display(),
        this = side.name(),
        this_peer = peer(side),
        mode = mode.name(),
        ours_peer = peer(Side::Ours),
        kea_peer = peer(Side::Kea),
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
    let mut pair = Pair::new(name, net, Setup::new(Mode::HotStandby, primary))
        .await
        .unwrap();
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

/// RFC 3074 §5's mixing table, copied from the HA spec (not from our
/// server, so the test checks the server against the spec).
const RFC3074_TABLE: [u8; 256] = [
    251, 175, 119, 215, 81, 14, 79, 191, 103, 49, 181, 143, 186, 157, 0, 232, 31, 32, 55, 60, 152,
    58, 17, 237, 174, 70, 160, 144, 220, 90, 57, 223, 59, 3, 18, 140, 111, 166, 203, 196, 134, 243,
    124, 95, 222, 179, 197, 65, 180, 48, 36, 15, 107, 46, 233, 130, 165, 30, 123, 161, 209, 23, 97,
    16, 40, 91, 219, 61, 100, 10, 210, 109, 250, 127, 22, 138, 29, 108, 244, 67, 207, 9, 178, 204,
    74, 98, 126, 249, 167, 116, 34, 77, 193, 200, 121, 5, 20, 113, 71, 35, 128, 13, 182, 94, 25,
    226, 227, 199, 75, 27, 41, 245, 230, 224, 43, 225, 177, 26, 155, 150, 212, 142, 218, 115, 241,
    73, 88, 105, 39, 114, 62, 255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12, 84, 82,
    163, 44, 139, 228, 236, 205, 242, 217, 11, 187, 146, 159, 64, 86, 239, 195, 42, 106, 198, 118,
    112, 184, 172, 87, 2, 173, 117, 176, 229, 247, 253, 137, 185, 99, 164, 102, 147, 45, 66, 231,
    52, 141, 211, 194, 206, 246, 238, 56, 110, 78, 248, 63, 240, 189, 93, 92, 51, 53, 183, 19, 171,
    72, 50, 33, 104, 101, 69, 8, 252, 83, 120, 76, 135, 85, 54, 202, 125, 188, 213, 96, 235, 136,
    208, 162, 129, 190, 132, 156, 38, 47, 1, 7, 254, 24, 4, 216, 131, 89, 21, 28, 133, 37, 153,
    149, 80, 170, 68, 6, 169, 234, 151,
];

/// The load-balancing scope of a client key (client-id data, else
/// chaddr): 0 the primary's, 1 the secondary's (Kea's QueryFilter).
fn lb_scope(key: &[u8]) -> usize {
    let mut h = key.len() as u8;
    for &b in key.iter().rev() {
        h = RFC3074_TABLE[usize::from(h ^ b)];
    }
    usize::from(h % 2)
}

/// Clients of one scenario, picked by the scope their chaddr hashes to.
struct Clients {
    scenario: u8,
    next: u8,
}

impl Clients {
    /// The next chaddr whose hash falls in `scope`.
    fn next_in(&mut self, scope: usize) -> [u8; 6] {
        loop {
            self.next = self.next.checked_add(1).expect("out of clients");
            let chaddr = mac(self.scenario, self.next);
            if lb_scope(&chaddr) == scope {
                return chaddr;
            }
        }
    }
}

impl Pair {
    /// The server whose scope is `scope` (0 the primary's, 1 the
    /// secondary's).
    fn server_of(&self, scope: usize) -> Side {
        if scope == 0 {
            self.setup.primary
        } else {
            self.setup.primary.other()
        }
    }

    /// The scope `side` serves in load-balancing.
    fn scope_of(&self, side: Side) -> usize {
        usize::from(side != self.setup.primary)
    }

    /// The OFFERs and ACKs `side` has sent (statistic-get
    /// pkt4-offer-sent + pkt4-ack-sent); `None` when it is not running.
    async fn replies_sent(&self, side: Side) -> anyhow::Result<Option<i64>> {
        if self.daemon(side).is_none() {
            return Ok(None);
        }
        let mut sum = 0;
        for name in ["pkt4-offer-sent", "pkt4-ack-sent"] {
            let answer = self
                .command(side, "statistic-get", json!({ "name": name }))
                .await?;
            // [[value, timestamp], ...], newest first; absent until counted.
            sum += answer["arguments"][name][0][0].as_i64().unwrap_or(0);
        }
        Ok(Some(sum))
    }

    /// A load-balancing client (`chaddr`, `client_id`) whose hash is in
    /// `scope` gets an address from `server` (its server id) out of
    /// `scope`'s pool, the other server (when running) sends it neither
    /// OFFER nor ACK, and `server` holds the lease (lease4-get and lease
    /// file).
    async fn lb_lease(
        &self,
        (chaddr, client_id): ([u8; 6], Option<&[u8]>),
        scope: usize,
        server: Side,
        xid: u32,
    ) -> anyhow::Result<Ipv4Addr> {
        let key = client_id.unwrap_or(&chaddr);
        anyhow::ensure!(
            lb_scope(key) == scope,
            "test error: {key:02x?} not in {scope}"
        );
        let silent = server.other();
        let before = self.replies_sent(silent).await?;
        let served = self.replies_sent(server).await?.unwrap_or(0);
        let ack = self.dora_as(chaddr, client_id, xid).await?;
        let after = self.replies_sent(silent).await?;
        // The counters are read right: the server's own moved by OFFER + ACK.
        let served_now = self.replies_sent(server).await?.unwrap_or(0);
        anyhow::ensure!(
            served_now >= served + 2,
            "{} replies sent {served} -> {served_now}",
            server.name()
        );
        if before != after {
            bail!(
                "{} answered {chaddr:02x?} of the partner's scope {scope} (replies sent {before:?} -> {after:?})\n{}",
                silent.name(),
                self.logs()
            );
        }
        let ip = ack.yiaddr;
        let (first, last) = LB_POOLS[scope];
        if ack.option_addr(54) != Some(self.addr(server))
            || !(first..=last).contains(&ip.octets()[3])
        {
            bail!(
                "{chaddr:02x?} (scope {scope}) should get an address of .{first}-.{last} from {}: {ack:?}\n{}",
                server.name(),
                self.logs()
            );
        }
        self.has_lease(server, ip, chaddr).await?;
        eprintln!(
            "{chaddr:02x?} (scope {scope}) got {ip} from {}",
            server.name()
        );
        Ok(ip)
    }

    /// The scopes `side` serves now, as its status-get tells, sorted.
    async fn scopes(&self, side: Side) -> anyhow::Result<Vec<String>> {
        let answer = self.command(side, "status-get", Value::Null).await?;
        let scopes = &answer["arguments"]["high-availability"][0]["ha-servers"]["local"]["scopes"];
        let mut scopes: Vec<String> = serde_json::from_value(scopes.clone())
            .with_context(|| format!("no local scopes in {answer}"))?;
        scopes.sort();
        Ok(scopes)
    }

    /// How many times `side`'s log shows it entering `state`.
    fn entered(&self, side: Side, state: &str) -> usize {
        // Kea: "HA_STATE_TRANSITION server transitions from LOAD-BALANCING
        // to COMMUNICATION-RECOVERY state"; ours: `HA state
        // from="load-balancing" to="communication-recovery"`.
        let kea = format!("to {} state", state.to_ascii_uppercase());
        let ours = format!("to=\"{state}\"");
        self.daemon(side).map_or(0, |d| {
            d.log()
                .lines()
                .filter(|line| line.contains(&kea) || line.contains(&ours))
                .count()
        })
    }
}

/// One failover in load-balancing: `victim` is killed with SIGKILL; the
/// survivor, which keeps Kea's default delayed-updates-limit of 100,
/// first goes to communication-recovery, then (max-unacked-clients 0)
/// to partner-down once max-response-delay has passed, and serves the
/// victim's scope from the victim's pool. The victim returns, syncs that
/// lease and the pair is back in load-balancing, where the victim serves
/// its scope again with the survivor holding the lease.
async fn lb_failover(
    pair: &mut Pair,
    clients: &mut Clients,
    victim: Side,
    xid: u32,
) -> anyhow::Result<()> {
    let survivor = victim.other();
    let lost = pair.scope_of(victim);
    pair.kill(victim).await?;
    let took = pair.wait_state(survivor, "partner-down", None).await?;
    eprintln!(
        "{} partner-down {took:?} after the kill (max-response-delay {MAX_RESPONSE_MS} ms)",
        survivor.name()
    );
    let both = vec![PRIMARY_NAME.to_string(), OTHER_NAME.to_string()];
    let scopes = pair.scopes(survivor).await?;
    anyhow::ensure!(
        scopes == both,
        "{} in partner-down serves {scopes:?}",
        survivor.name()
    );
    if pair.entered(survivor, "communication-recovery") == 0 {
        bail!(
            "{} went to partner-down without communication-recovery\n{}",
            survivor.name(),
            pair.logs()
        );
    }
    let orphan = clients.next_in(lost);
    let orphan_ip = pair.lb_lease((orphan, None), lost, survivor, xid).await?;
    // The survivor's own scope is still served.
    let own = clients.next_in(1 - lost);
    let own_ip = pair
        .lb_lease((own, None), 1 - lost, survivor, xid + 0x10)
        .await?;

    pair.start(victim).await?;
    pair.wait_converged().await?;
    pair.has_lease(victim, orphan_ip, orphan).await?;
    pair.has_lease(victim, own_ip, own).await?;

    let back = clients.next_in(lost);
    let back_ip = pair
        .lb_lease((back, None), lost, victim, xid + 0x20)
        .await?;
    pair.has_lease(survivor, back_ip, back).await?;
    Ok(())
}

/// A load-balancing pair with `primary` as the primary (the other is the
/// secondary), on `net.0/24`, pools split by the classes HA_server1 and
/// HA_server2: convergence, each scope served by its server from its pool
/// and replicated, then a failover of each server and back.
async fn load_balancing_with_failover(name: &str, net: [u8; 3], scenario: u8, primary: Side) {
    let mut pair = Pair::new(name, net, Setup::new(Mode::LoadBalancing, primary))
        .await
        .unwrap();
    pair.start(Side::Kea).await.unwrap();
    pair.start(Side::Ours).await.unwrap();
    let mut clients = Clients { scenario, next: 0 };

    // 1. Convergence: both reach load-balancing, each seeing the other
    // there, each serving its own scope.
    pair.wait_converged().await.unwrap();
    for side in [Side::Ours, Side::Kea] {
        let own = [PRIMARY_NAME, OTHER_NAME][pair.scope_of(side)];
        assert_eq!(pair.scopes(side).await.unwrap(), [own], "{}", side.name());
    }

    // 2. Each scope's client is answered by its server from its pool; the
    // partner holds the lease.
    for scope in [0, 1] {
        let server = pair.server_of(scope);
        let chaddr = clients.next_in(scope);
        let ip = pair
            .lb_lease(
                (chaddr, None),
                scope,
                server,
                0x4b00_0100 + scope as u32 * 0x10,
            )
            .await
            .unwrap();
        pair.has_lease(server.other(), ip, chaddr).await.unwrap();
    }
    // The client id, when sent, decides the scope, not chaddr: the spec's
    // vectors, aa:bb:cc:dd:ee:ff hashing to the secondary and client id
    // 01:aa:bb:cc:dd:ee:ff to the primary.
    let chaddr = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
    let client_id = [1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
    assert_eq!((lb_scope(&chaddr), lb_scope(&client_id)), (1, 0));
    let ip = pair
        .lb_lease((chaddr, Some(&client_id)), 0, primary, 0x4b00_0200)
        .await
        .unwrap();
    pair.has_lease(primary.other(), ip, chaddr).await.unwrap();

    // 3. Each server dies in turn, the other covers, and the pair recovers.
    lb_failover(&mut pair, &mut clients, primary.other(), 0x4b00_0300)
        .await
        .unwrap();
    lb_failover(&mut pair, &mut clients, primary, 0x4b00_0400)
        .await
        .unwrap();

    // 4. No address went to two clients, in either file.
    one_client_per_address(&pair).unwrap();
}

/// Ours primary, Kea 2.2 secondary, in load-balancing.
#[tokio::test]
async fn ours_primary_kea_secondary_load_balance_by_scope_fail_over_and_recover() {
    load_balancing_with_failover("lo", [10, 88, 0], 0x63, Side::Ours).await;
}

/// Kea 2.2 primary, ours secondary, in load-balancing.
#[tokio::test]
async fn kea_primary_ours_secondary_load_balance_by_scope_fail_over_and_recover() {
    load_balancing_with_failover("lk", [10, 89, 0], 0x64, Side::Kea).await;
}

/// Load-balancing through a network cut: with max-unacked-clients 10 (so
/// that the cut alone, without unanswered clients, never means
/// partner-down) ours goes to communication-recovery, answers a client of
/// its scope without waiting for Kea and queues the lease update; when the
/// link is back it sends Kea the backlog (lease4-update through Kea's
/// agent) and both return to load-balancing, Kea holding the lease.
#[tokio::test]
async fn ours_primary_kea_secondary_replay_the_communication_recovery_backlog() {
    let setup = Setup {
        max_unacked_clients: 10,
        ..Setup::new(Mode::LoadBalancing, Side::Ours)
    };
    let mut pair = Pair::new("lr", [10, 90, 0], setup).await.unwrap();
    pair.start(Side::Kea).await.unwrap();
    pair.start(Side::Ours).await.unwrap();
    let mut clients = Clients {
        scenario: 0x65,
        next: 0,
    };
    pair.wait_converged().await.unwrap();
    let scope = pair.scope_of(Side::Ours);

    let synced = [Side::Ours, Side::Kea].map(|side| pair.entered(side, "syncing"));

    // The cut: Kea's bridge port goes down.
    pair.lan.ip(&["link", "set", "pkea", "down"]).unwrap();
    let took = pair
        .wait_state(Side::Ours, "communication-recovery", None)
        .await
        .unwrap();
    eprintln!("ours in communication-recovery {took:?} after the cut");
    let chaddr = clients.next_in(scope);
    let ip = pair
        .lb_lease((chaddr, None), scope, Side::Ours, 0x4c00_0100)
        .await
        .unwrap();

    // The link is back: the backlog goes to Kea and the pair is whole.
    pair.lan.ip(&["link", "set", "pkea", "up"]).unwrap();
    pair.wait_converged().await.unwrap();
    pair.has_lease(Side::Kea, ip, chaddr).await.unwrap();
    // By the backlog, not by a new sync.
    let synced_now = [Side::Ours, Side::Kea].map(|side| pair.entered(side, "syncing"));
    assert_eq!(synced_now, synced, "{}", pair.logs());
    let chaddr = clients.next_in(1 - scope);
    let ip = pair
        .lb_lease((chaddr, None), 1 - scope, Side::Kea, 0x4c00_0200)
        .await
        .unwrap();
    pair.has_lease(Side::Ours, ip, chaddr).await.unwrap();
    one_client_per_address(&pair).unwrap();
}
