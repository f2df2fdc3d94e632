//! Network namespaces for the DHCP tests: a LAN of client namespaces joined
//! by veth pairs to a bridge in the server's namespace, and a routed link to
//! a relay. Everything the tests send stays inside namespaces they made;
//! dropping the fixture deletes them (and with them their interfaces).

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use anyhow::{bail, Context as _};

use crate::daemon::Daemon;
use crate::metrics::Scrape;

/// One network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace named after this process, a counter and `role`,
    /// with its loopback up.
    pub fn create(role: &str) -> anyhow::Result<Netns> {
        Self::create_with_prefix("d4t", role)
    }

    /// Like [`create`](Self::create) with another prefix than `d4t`: the name
    /// is `<prefix>-<pid>-<counter>-<role>`.
    /// The first namespace made with a prefix first sweeps away those of
    /// earlier runs that were killed before their drops ran.
    pub fn create_with_prefix(prefix: &str, role: &str) -> anyhow::Result<Netns> {
        sweep_stale_once(prefix);
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}-{}-{}-{role}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name])?;
        let netns = Netns { name };
        netns.ip(&["link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs `ip ARGS` inside the namespace; fails with its stderr.
    pub fn ip(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Starts `program ARGS` inside the namespace as a [`Daemon`] (through `ip
    /// netns exec`, which execs it, so the PID is the program's own and the
    /// daemon's drop kills it).
    pub fn spawn(&self, program: &str, args: &[impl AsRef<str>]) -> anyhow::Result<Daemon> {
        let mut all: Vec<String> = vec![
            "netns".into(),
            "exec".into(),
            self.name.clone(),
            program.into(),
        ];
        all.extend(args.iter().map(|a| a.as_ref().to_string()));
        Daemon::spawn(Path::new("ip"), &all)
    }

    /// Runs `program ARGS` inside the namespace to completion.
    pub fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<Output> {
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("{program} {args:?} in {}", self.name))
    }

    /// Scrapes `/metrics` from `port` on the namespace's loopback (with
    /// busybox wget, run inside it).
    pub fn scrape(&self, port: u16) -> anyhow::Result<Scrape> {
        let url = format!("http://127.0.0.1:{port}/metrics");
        let out = self.run("busybox", &["wget", "-q", "-O", "-", &url])?;
        if !out.status.success() {
            bail!("wget {url}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Scrape::parse(&String::from_utf8_lossy(&out.stdout))
    }

    /// The HTTP status of `path` on `port` (busybox wget: 200 or an error).
    pub fn http_ok(&self, port: u16, path: &str) -> anyhow::Result<bool> {
        let url = format!("http://127.0.0.1:{port}{path}");
        Ok(self
            .run("busybox", &["wget", "-q", "-O", "/dev/null", &url])?
            .status
            .success())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Runs [`sweep_stale`] for `prefix` the first time this process asks.
fn sweep_stale_once(prefix: &str) {
    static SWEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut swept = SWEPT.lock().unwrap_or_else(PoisonError::into_inner);
    if !swept.iter().any(|done| done == prefix) {
        swept.push(prefix.to_owned());
        sweep_stale(prefix);
    }
}

/// Deletes namespaces and `/etc/netns` entries named `<prefix>-<pid>-…` whose
/// test process is gone (a run killed before its drops ran), killing the
/// processes still running in those namespaces first.
fn sweep_stale(prefix: &str) {
    let stale = |name: &str| -> bool {
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|rest| rest.split('-').next())
        else {
            return false;
        };
        !pid.is_empty()
            && pid.chars().all(|c| c.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists()
    };
    if let Ok(out) = Command::new("ip").args(["netns", "list"]).output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if stale(name) {
                // Daemons the dead test started live on as orphans in the
                // namespace: kill them (by PID) before deleting its name.
                if let Ok(pids) = Command::new("ip").args(["netns", "pids", name]).output() {
                    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                        let _ = Command::new("kill").args(["-KILL", pid]).output();
                    }
                }
                let _ = ip(&["netns", "del", name]);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/etc/netns") {
        for entry in entries.flatten() {
            if stale(&entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Plugs `ns` into `bridge` in `host`: a veth pair whose `port` end is a
/// port of the bridge and whose other end is `eth0` in `ns`, both up.
pub fn bridge_port(host: &Netns, bridge: &str, port: &str, ns: &Netns) -> anyhow::Result<()> {
    ip(&[
        "link",
        "add",
        port,
        "netns",
        host.name(),
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        ns.name(),
    ])?;
    host.ip(&["link", "set", port, "master", bridge])?;
    host.ip(&["link", "set", port, "up"])?;
    ns.ip(&["link", "set", "eth0", "up"])
}

/// Runs `ip ARGS` in the test's own namespace; fails with its stderr.
pub fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A LAN: the server's namespace holds bridge `br0` at `<prefix>.1/24`;
/// each client namespace has `eth0`, a veth whose peer is a bridge port.
#[derive(Debug)]
pub struct Lan {
    /// The clients' namespaces (dropped before the server's).
    pub clients: Vec<Netns>,
    /// The server's namespace.
    pub server: Netns,
    /// The first three octets of the LAN's /24.
    pub prefix: [u8; 3],
}

impl Lan {
    /// A LAN on `prefix.0/24` with `clients` client namespaces.
    pub fn new(prefix: [u8; 3], clients: usize) -> anyhow::Result<Lan> {
        let server = Netns::create("srv")?;
        server.ip(&["link", "add", "br0", "type", "bridge"])?;
        let gateway = Ipv4Addr::new(prefix[0], prefix[1], prefix[2], 1);
        server.ip(&["addr", "add", &format!("{gateway}/24"), "dev", "br0"])?;
        server.ip(&["link", "set", "br0", "up"])?;
        let mut lan = Lan {
            clients: Vec::new(),
            server,
            prefix,
        };
        for _ in 0..clients {
            lan.add_client()?;
        }
        Ok(lan)
    }

    /// Adds a client namespace; returns its index.
    pub fn add_client(&mut self) -> anyhow::Result<usize> {
        let index = self.clients.len();
        let client = Netns::create(&format!("c{index}"))?;
        bridge_port(&self.server, "br0", &format!("p{index}"), &client)?;
        self.clients.push(client);
        Ok(index)
    }

    /// The address `host` on the LAN.
    pub fn addr(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.prefix[0], self.prefix[1], self.prefix[2], host)
    }
}

/// Joins `a` and `b` with a veth pair named `a_if` / `b_if`, addressed
/// `a_addr` / `b_addr` (with their prefix lengths, `10.0.0.1/30`).
pub fn link(
    a: &Netns,
    a_if: &str,
    a_addr: &str,
    b: &Netns,
    b_if: &str,
    b_addr: &str,
) -> anyhow::Result<()> {
    ip(&[
        "link",
        "add",
        a_if,
        "netns",
        a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ])?;
    a.ip(&["addr", "add", a_addr, "dev", a_if])?;
    b.ip(&["addr", "add", b_addr, "dev", b_if])?;
    a.ip(&["link", "set", a_if, "up"])?;
    b.ip(&["link", "set", b_if, "up"])?;
    Ok(())
}
