//! The two servers under comparison, started one at a time in the same
//! namespace on the same addresses (so the server identifier and every
//! address in a reply match), and the probe that speaks for the clients.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::daemon::{cargo_bin, Daemon, Signal};
use crate::netns::{link, Netns};

use super::message::hex;

/// Which server a run is against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Debian's `/usr/sbin/kea-dhcp4` (2.2), the reference.
    Kea,
    /// Our `dhcp4` binary (`cargo build -p dhcp4 --bins`).
    Ours,
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Server::Kea => "Kea",
            Server::Ours => "ours",
        })
    }
}

/// Kea's binary.
pub const KEA_BIN: &str = "/usr/sbin/kea-dhcp4";
/// The server's interface in its namespace.
pub const SERVER_IF: &str = "srv0";
/// Our metrics (readiness) port inside the server's namespace.
const METRICS_PORT: u16 = 9547;

/// A server namespace and a client namespace joined by one link: the
/// server's `srv0` and the client's `eth0` on one /24, plus relay networks
/// whose first address (the giaddr) is on the client's `eth0` and which the
/// server routes through the client. Nothing else is in either namespace.
#[derive(Debug)]
pub struct Topology {
    /// Holds the DHCP server.
    pub server: Netns,
    /// Holds the probe (the clients, or the relay agent in front of them).
    pub client: Netns,
    /// The server's address on the link.
    pub server_addr: Ipv4Addr,
    /// The client namespace's address on the link.
    pub client_addr: Ipv4Addr,
}

impl Topology {
    /// The LAN of the direct-client scenarios: the server at 192.0.2.1, the
    /// clients' namespace at 192.0.2.254, no relay.
    pub fn lan() -> anyhow::Result<Self> {
        Self::new(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 254),
            &[],
        )
    }

    /// A link with the server at `server` and the client at `client` (both
    /// /24), and the relay addresses `relays` (each a /24's giaddr) on the
    /// client's side.
    pub fn new(server: Ipv4Addr, client: Ipv4Addr, relays: &[Ipv4Addr]) -> anyhow::Result<Self> {
        let server_ns = Netns::create("kdsrv")?;
        let client_ns = Netns::create("kdcli")?;
        link(
            &server_ns,
            SERVER_IF,
            &format!("{server}/24"),
            &client_ns,
            "eth0",
            &format!("{client}/24"),
        )?;
        // Limited broadcast (255.255.255.255) needs a route to leave by.
        client_ns.ip(&["route", "add", "default", "dev", "eth0"])?;
        for relay in relays {
            client_ns.ip(&["addr", "add", &format!("{relay}/24"), "dev", "eth0"])?;
            let o = relay.octets();
            let net = format!("{}.{}.{}.0/24", o[0], o[1], o[2]);
            server_ns.ip(&["route", "add", &net, "via", &client.to_string()])?;
        }
        Ok(Topology {
            server: server_ns,
            client: client_ns,
            server_addr: server,
            client_addr: client,
        })
    }
}

/// A server running in the topology's server namespace.
#[derive(Debug)]
pub struct Running {
    /// Which one.
    pub server: Server,
    daemon: Daemon,
}

impl Running {
    /// Starts `server` in namespace `netns` on the config file `config`,
    /// with its pid and lock files in `dir`; returns once it serves (Kea: its
    /// log says DHCP4_STARTED; ours: /readyz answers 200), within 20 s.
    pub async fn start(
        server: Server,
        netns: &Netns,
        config: &Path,
        dir: &Path,
    ) -> anyhow::Result<Running> {
        let ns = netns.name().to_string();
        let config = config.display().to_string();
        let mut daemon = match server {
            Server::Kea => Daemon::spawn(
                Path::new("ip"),
                &[
                    "netns".into(),
                    "exec".into(),
                    ns,
                    "env".into(),
                    format!("KEA_PIDFILE_DIR={}", dir.display()),
                    format!("KEA_LOCKFILE_DIR={}", dir.display()),
                    KEA_BIN.into(),
                    "-c".into(),
                    config,
                ],
            )?,
            Server::Ours => Daemon::spawn(
                Path::new("ip"),
                &[
                    "netns".into(),
                    "exec".into(),
                    ns,
                    cargo_bin("dhcp4")?.display().to_string(),
                    "-c".into(),
                    config,
                    "--metrics-addr".into(),
                    format!("127.0.0.1:{METRICS_PORT}"),
                ],
            )?,
        };
        for _ in 0..400 {
            if let Some(status) = daemon.try_exit() {
                bail!(
                    "{server} exited ({status}) at start; log:\n{}",
                    daemon.log()
                );
            }
            let ready = match server {
                Server::Kea => daemon.log().contains("DHCP4_STARTED"),
                Server::Ours => netns.http_ok(METRICS_PORT, "/readyz")?,
            };
            if ready {
                return Ok(Running { server, daemon });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{server} not ready after 20 s; log:\n{}", daemon.log())
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and returns its log.
    pub async fn stop(mut self) -> String {
        let _ = self.daemon.signal(Signal::Term);
        if self
            .daemon
            .wait_exit(Duration::from_secs(10))
            .await
            .is_none()
        {
            let _ = self.daemon.signal(Signal::Kill);
            let _ = self.daemon.wait_exit(Duration::from_secs(5)).await;
        }
        self.daemon.log()
    }

    /// Sends `signal` to the server (SIGHUP: reload).
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        self.daemon.signal(signal)
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// A `dhcp-probe` process in the client namespace, bound either as the
/// relay agent at a giaddr (port 67, talking to the server's address) or
/// as a directly connected client (port 68, broadcasting).
#[derive(Debug)]
pub struct Probe {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    wait: Duration,
}

impl Probe {
    /// A probe for requests with giaddr `giaddr` (unspecified: direct).
    pub fn spawn(topology: &Topology, giaddr: Ipv4Addr, wait: Duration) -> anyhow::Result<Probe> {
        let (bind, to, broadcast) = if giaddr.is_unspecified() {
            (
                "0.0.0.0:68".to_string(),
                "255.255.255.255:67".to_string(),
                true,
            )
        } else {
            (
                format!("{giaddr}:67"),
                format!("{}:67", topology.server_addr),
                false,
            )
        };
        Self::spawn_in(&topology.client, &bind, &to, broadcast, wait)
    }

    /// A probe in `client` for directly connected clients: bound to port
    /// 68, broadcasting to port 67 (every server on the link hears it).
    pub fn direct(client: &Netns, wait: Duration) -> anyhow::Result<Probe> {
        Self::spawn_in(client, "0.0.0.0:68", "255.255.255.255:67", true, wait)
    }

    fn spawn_in(
        client: &Netns,
        bind: &str,
        to: &str,
        broadcast: bool,
        wait: Duration,
    ) -> anyhow::Result<Probe> {
        let bin: PathBuf = cargo_bin("dhcp-probe")?;
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", client.name()])
            .arg(bin)
            .args(["--bind", bind, "--to", to])
            .args(["--wait-ms", &wait.as_millis().to_string()]);
        if broadcast {
            command.arg("--broadcast");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("spawning dhcp-probe (cargo build -p e2e --bins)")?;
        let stdin = child.stdin.take().context("probe stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("probe stdout")?);
        Ok(Probe {
            child,
            stdin,
            stdout,
            wait,
        })
    }

    /// Ends the probe (end of its input) and waits, up to 5 s, until it
    /// has exited, so its port is free for the next one.
    pub async fn close(mut self) -> anyhow::Result<()> {
        drop(self.stdin);
        tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .context("dhcp-probe did not exit")??;
        Ok(())
    }

    /// Sends `request` and reads its reply; an error when none came.
    pub async fn ask(&mut self, request: super::Request) -> anyhow::Result<super::Message> {
        let reply = self
            .exchange(&request.encode())
            .await?
            .with_context(|| format!("no reply to {request:?}"))?;
        Ok(super::Message::parse(&reply)?)
    }

    /// Sends `request`; the reply, or `None` when none came in time.
    pub async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        self.stdin
            .write_all(format!("{}\n", hex(request)).as_bytes())
            .await
            .context("writing to dhcp-probe")?;
        self.stdin.flush().await?;
        let mut line = String::new();
        let read = tokio::time::timeout(
            self.wait + Duration::from_secs(5),
            self.stdout.read_line(&mut line),
        )
        .await
        .context("dhcp-probe did not answer")??;
        if read == 0 {
            let status = self.child.try_wait().ok().flatten();
            bail!("dhcp-probe ended ({status:?})");
        }
        let line = line.trim();
        if line == "none" {
            return Ok(None);
        }
        let Some(text) = line.strip_prefix("reply ") else {
            bail!("dhcp-probe said {line:?}");
        };
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .context("dhcp-probe printed bad hex")
            })
            .collect::<anyhow::Result<Vec<u8>>>()?;
        Ok(Some(bytes))
    }
}
