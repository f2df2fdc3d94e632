//! Shared pieces of the DHCP tests: Kea configs, starting our server (or
//! Kea) inside a namespace, client hook scripts that record what each real
//! client was given, and reading the memfile.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use e2e::daemon::cargo_bin;
use e2e::netns::Netns;
use e2e::Daemon;

/// The metrics port our server uses inside its namespace.
pub const METRICS_PORT: u16 = 9547;

/// A fresh directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dhcp4-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Kea `Dhcp4` config for a LAN `prefix.0/24` served on `interface`:
/// pool .100-.200, routers .1, two DNS servers, a domain, a classless
/// static route, a reservation for 02:00:00:00:00:99 (.10, "reserved").
pub fn lan_config(interface: &str, prefix: [u8; 3], lease_file: &Path) -> String {
    kea_lan_config(interface, prefix, lease_file, 3600, true)
}

/// [`lan_config`] with the LFC interval given, and option 121 optional
/// (Kea 2.2 has no text format for it).
pub fn kea_lan_config(
    interface: &str,
    prefix: [u8; 3],
    lease_file: &Path,
    lfc_interval: u32,
    routes: bool,
) -> String {
    let p = format!("{}.{}.{}", prefix[0], prefix[1], prefix[2]);
    let route = if routes {
        format!(
            r#",
        {{ "name": "classless-static-route", "data": "10.99.0.0/16 - {p}.254" }}"#
        )
    } else {
        String::new()
    };
    format!(
        r#"{{
  // as an operator writes it, comments and all
  "Dhcp4": {{
    "interfaces-config": {{ "interfaces": [ "{interface}" ] }},
    "lease-database": {{ "type": "memfile", "persist": true, "name": "{lease}", "lfc-interval": {lfc_interval} }},
    "valid-lifetime": 600,
    "authoritative": true,
    /* global options */
    "option-data": [
      {{ "name": "domain-name-servers", "data": "{p}.1, {p}.2" }},
      {{ "name": "domain-name", "data": "event.example" }}
    ],
    "subnet4": [ {{
      "id": 1,
      "subnet": "{p}.0/24",
      "pools": [ {{ "pool": "{p}.100 - {p}.200" }} ],
      "option-data": [
        {{ "name": "routers", "data": "{p}.1" }}{route}
      ],
      "reservations": [
        {{ "hw-address": "02:00:00:00:00:99", "ip-address": "{p}.10", "hostname": "reserved" }}
      ]
    }} ],
    "loggers": [ {{ "name": "kea-dhcp4", "output_options": [ {{ "output": "stdout" }} ], "severity": "INFO" }} ]
  }}
}}
"#,
        lease = lease_file.display()
    )
}

/// Our server, started in `ns` with `config`, ready (its /readyz is 200).
pub async fn start_ours(ns: &Netns, config: &Path) -> anyhow::Result<Daemon> {
    start_ours_with(ns, config, &[]).await
}

/// Like [`start_ours`], with `extra` arguments after the usual ones.
pub async fn start_ours_with(ns: &Netns, config: &Path, extra: &[&str]) -> anyhow::Result<Daemon> {
    let bin = cargo_bin("dhcp4")?;
    let mut args: Vec<String> = vec![
        "netns".into(),
        "exec".into(),
        ns.name().into(),
        bin.display().to_string(),
        "-c".into(),
        config.display().to_string(),
        "--metrics-addr".into(),
        format!("127.0.0.1:{METRICS_PORT}"),
    ];
    args.extend(extra.iter().map(|arg| (*arg).to_string()));
    let mut daemon = Daemon::spawn(Path::new("ip"), &args)?;
    for _ in 0..200 {
        if ns.http_ok(METRICS_PORT, "/readyz")? {
            return Ok(daemon);
        }
        if let Some(status) = daemon.try_exit() {
            bail!("dhcp4 exited ({status}); log:\n{}", daemon.log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("dhcp4 never became ready; log:\n{}", daemon.log())
}

/// A client hook script at `dir/name` recording events in `dir/name.events`
/// (see [`e2e::dhcp::hook_script`]).
pub fn hook_script(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    e2e::dhcp::hook_script(dir, name).unwrap()
}

/// One recorded client event: `key=value` pairs.
#[derive(Debug, Clone)]
pub struct Event(pub Vec<(String, String)>);

impl Event {
    /// The value of `key` ("" when absent).
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The events recorded so far.
pub fn events(path: &Path) -> Vec<Event> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            // Values may hold spaces (two DNS servers): split on " key=".
            let mut pairs = Vec::new();
            let mut rest = line;
            while let Some((key, after)) = rest.split_once('=') {
                let next = after.match_indices(' ').map(|(i, _)| i).find(|&i| {
                    let tail = &after[i + 1..];
                    tail.split_once('=').is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase())
                    })
                });
                match next {
                    Some(i) => {
                        pairs.push((key.trim().to_string(), after[..i].to_string()));
                        rest = &after[i + 1..];
                    }
                    None => {
                        pairs.push((key.trim().to_string(), after.to_string()));
                        break;
                    }
                }
            }
            Event(pairs)
        })
        .collect()
}

/// Waits until an event named `name` (after `skip` earlier events) is
/// recorded; returns it.
pub async fn wait_event(
    path: &Path,
    name: &str,
    skip: usize,
    what: &Daemon,
) -> anyhow::Result<Event> {
    for _ in 0..300 {
        if let Some(event) = events(path)
            .into_iter()
            .skip(skip)
            .find(|e| e.get("event") == name)
        {
            return Ok(event);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "no {name} event in {} after 15 s; events: {:?}\nclient log:\n{}",
        path.display(),
        events(path),
        what.log()
    )
}

/// One memfile line, the columns the tests read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLease {
    pub address: Ipv4Addr,
    pub hwaddr: String,
    pub client_id: String,
    pub valid_lifetime: u64,
    pub expire: u64,
    pub hostname: String,
    pub state: u32,
}

/// Every data line of a memfile, in order.
pub fn lease_lines(path: &Path) -> anyhow::Result<Vec<FileLease>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if !header.starts_with("address,hwaddr,client_id,valid_lifetime,expire,subnet_id") {
        bail!("{}: not a Kea lease file header: {header}", path.display());
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 10 {
                bail!("short line {line:?}");
            }
            Ok(FileLease {
                address: f[0].parse()?,
                hwaddr: f[1].to_string(),
                client_id: f[2].to_string(),
                valid_lifetime: f[3].parse()?,
                expire: f[4].parse()?,
                hostname: f[8].to_string(),
                state: f[9].parse()?,
            })
        })
        .collect()
}

/// The latest memfile entry for `address`.
pub fn latest(path: &Path, address: Ipv4Addr) -> anyhow::Result<Option<FileLease>> {
    Ok(lease_lines(path)?
        .into_iter()
        .rev()
        .find(|l| l.address == address))
}
