//! Kea's command channel through the interfaces operators use: the UNIX
//! `control-socket` (compared answer by answer with Kea 2.2 running the
//! lease_cmds hook), HTTP with basic authentication driven by the real
//! `kea-shell`, leases that survive a restart, and the channel's limits.
//!
//! Run: `cargo build -p dhcp4 --bins`, then
//! `cargo test -p e2e --test it dhcp4_control` (as root: the persistence test
//! runs in network namespaces). Each test owns its ports, files and sockets.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use e2e::daemon::{cargo_bin, free_port};
use e2e::kea::message::{mac, ACK, DISCOVER, OFFER, REQUEST};
use e2e::kea::server::{Probe, KEA_BIN, SERVER_IF};
use e2e::kea::{config, fixture, Request, Running, Server, Topology};
use e2e::Daemon;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UnixStream};

/// Kea's lease commands hook (Debian's kea-dhcp4-server package).
const LEASE_CMDS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so";

/// Bound on one command's round trip.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

/// A fresh directory for one test's files (short: socket paths are limited
/// to 107 bytes).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One subnet 192.0.2.0/24 (id 1, pool .10-.200: 191 addresses, valid
/// lifetime 7200), the lease_cmds hook, a memfile in `dir`, the UNIX
/// control socket `dir/<socket>`, and `extra` global keys (ending in a
/// comma). `interfaces` is Kea's list.
fn config_text(dir: &Path, interfaces: &str, socket: &str, extra: &str) -> String {
    format!(
        r#"{{
  "Dhcp4": {{
    "interfaces-config": {{ {interfaces} }},
    "control-socket": {{ "socket-type": "unix", "socket-name": "{dir}/{socket}" }},
    "lease-database": {{ "type": "memfile", "persist": true, "name": "{dir}/leases4.csv", "lfc-interval": 0 }},
    "hooks-libraries": [ {{ "library": "{LEASE_CMDS}" }} ],
    {extra}
    "valid-lifetime": 7200,
    "subnet4": [ {{ "id": 1, "subnet": "192.0.2.0/24", "pools": [ {{ "pool": "192.0.2.10 - 192.0.2.200" }} ] }} ],
    "loggers": [ {{ "name": "kea-dhcp4", "output_options": [ {{ "output": "stdout" }} ], "severity": "INFO" }} ]
  }}
}}
"#,
        dir = dir.display()
    )
}

/// Our interfaces: loopback, UDP sockets (no raw socket, no namespace).
const OURS_INTERFACES: &str = r#""interfaces": [ "lo" ], "dhcp-socket-type": "udp""#;

/// Our server on loopback with `text` as `dir/dhcp4.json`, a free DHCP port
/// and metrics port, ready (its /readyz answers 200) within 20 s.
async fn start_ours(dir: &Path, text: &str) -> anyhow::Result<Daemon> {
    start_ours_with(dir, text, &[]).await
}

/// [`start_ours`] with `extra` arguments.
async fn start_ours_with(dir: &Path, text: &str, extra: &[String]) -> anyhow::Result<Daemon> {
    let path = dir.join("dhcp4.json");
    std::fs::write(&path, text)?;
    let metrics = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let mut args = vec![
        "-c".into(),
        path.display().to_string(),
        "-p".into(),
        free_port().to_string(),
        "--metrics-addr".into(),
        metrics.to_string(),
    ];
    args.extend(extra.iter().cloned());
    let mut daemon = Daemon::spawn(&cargo_bin("dhcp4")?, &args)?;
    daemon.wait_ready(metrics, Duration::from_secs(20)).await?;
    Ok(daemon)
}

/// Kea 2.2 with `text` as `dir/kea-dhcp4.conf`, its pid and lock files in
/// `dir`, once its log says it started (within 20 s).
async fn start_kea(dir: &Path, text: &str) -> anyhow::Result<Daemon> {
    let path = dir.join("kea-dhcp4.conf");
    std::fs::write(&path, text)?;
    let env_dir = dir.display().to_string();
    let mut daemon = Daemon::spawn_with_env(
        Path::new(KEA_BIN),
        &["-c".into(), path.display().to_string()],
        &[
            ("KEA_PIDFILE_DIR", env_dir.as_str()),
            ("KEA_LOCKFILE_DIR", env_dir.as_str()),
        ],
    )?;
    for _ in 0..400 {
        if let Some(status) = daemon.try_exit() {
            bail!("kea-dhcp4 exited ({status}); log:\n{}", daemon.log());
        }
        if daemon.log().contains("DHCP4_STARTED") {
            return Ok(daemon);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("kea-dhcp4 did not start in 20 s; log:\n{}", daemon.log())
}

/// Sends `text` over the UNIX socket `socket` as one connection and reads
/// the answer to EOF (Kea's one command per connection).
pub(crate) async fn command(socket: &Path, text: &str) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = UnixStream::connect(socket)
            .await
            .with_context(|| format!("connecting to {}", socket.display()))?;
        stream.write_all(text.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        anyhow::Ok(answer)
    };
    tokio::time::timeout(COMMAND_TIMEOUT, exchange)
        .await
        .with_context(|| format!("no answer to {text} within {COMMAND_TIMEOUT:?}"))?
}

/// The `result` code of an answer in Kea's formatting.
fn result_code(answer: &str) -> Option<u32> {
    let at = answer.find("\"result\": ")? + "\"result\": ".len();
    let digits: String = answer[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `answer` with what must differ between two servers made equal: the
/// `cltt` of a lease (the second each server wrote it) and sample times
/// (`"2026-12-06 20:15:17.182970"`).
fn normalise(answer: &str) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut rest = answer;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\"cltt\": ") {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            out.push_str("\"cltt\": CLTT");
            rest = &after[digits..];
        } else if is_timestamp(rest) {
            out.push_str("\"TIME\"");
            rest = &rest[28..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Whether `text` starts with a quoted `YYYY-MM-DD HH:MM:SS.ffffff`.
fn is_timestamp(text: &str) -> bool {
    let Some(bytes) = text.as_bytes().get(..28) else {
        return false;
    };
    const SHAPE: &[u8; 28] = b"\"dddd-dd-dd dd:dd:dd.dddddd\"";
    bytes.iter().zip(SHAPE).all(|(b, s)| {
        if *s == b'd' {
            b.is_ascii_digit()
        } else {
            b == s
        }
    })
}

/// Kea's parser errors end in the position of the offending element in the
/// received text (`missing parameter 'hw-address' (<wire>:0:40)`).
/// DELIBERATE DIFFERENCE: ours names the key and not its character offset
/// (our JSON parser keeps no positions); the rest of the text is Kea's.
fn without_position(answer: &str) -> String {
    let mut out = answer.to_string();
    while let Some(start) = out.find("(<wire>:") {
        let Some(len) = out[start..].find(')') else {
            break;
        };
        // " (<wire>:0:40)" or "argument(<wire>:0:54)": drop the space too.
        let from = if out[..start].ends_with(' ') {
            start - 1
        } else {
            start
        };
        out.replace_range(from..start + len + 1, "");
    }
    out
}

/// How one answer is compared.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// Byte for byte after [`normalise`] and [`without_position`].
    Same,
    /// Only the result code; the reason names the deliberate difference.
    ResultOnly(&'static str),
    /// Like [`Check::Same`] after keeping only the newest sample of Kea's
    /// statistic. DELIBERATE DIFFERENCE: ours keeps no sample history
    /// (`statistic-get` answers the current value, read from the lease
    /// table, with the time of the read), Kea up to 20 samples per name.
    NewestSample,
}

/// One step of the differential script.
struct Step {
    label: &'static str,
    request: String,
    check: Check,
}

fn same(label: &'static str, request: &str) -> Step {
    Step {
        label,
        request: request.to_string(),
        check: Check::Same,
    }
}

fn newest(label: &'static str, request: &str) -> Step {
    Step {
        label,
        request: request.to_string(),
        check: Check::NewestSample,
    }
}

fn result_only(label: &'static str, request: &str, why: &'static str) -> Step {
    Step {
        label,
        request: request.to_string(),
        check: Check::ResultOnly(why),
    }
}

/// A normalised statistic answer with only its first (newest) sample:
/// every later `, [ N, "TIME" ]` removed.
fn newest_sample_only(answer: &str) -> String {
    let mut out = answer.to_string();
    let mut from = 0;
    while let Some(at) = out[from..].find(", [ ").map(|i| i + from) {
        let rest = &out[at + 4..];
        let digits = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .count();
        if digits > 0 && rest[digits..].starts_with(", \"TIME\" ]") {
            out.replace_range(at..at + 4 + digits + ", \"TIME\" ]".len(), "");
        } else {
            from = at + 1;
        }
    }
    out
}

/// `{"command": name, "arguments": args}` as a client sends it.
fn cmd(name: &str, args: &str) -> String {
    if args.is_empty() {
        format!(r#"{{"command":"{name}"}}"#)
    } else {
        format!(r#"{{"command":"{name}","arguments":{args}}}"#)
    }
}

/// The script: every lease command with good and bad arguments, the
/// statistics they move, and the generic commands' errors.
fn script() -> Vec<Step> {
    const FULL: &str = r#"{"ip-address":"192.0.2.50","hw-address":"1a:1b:1c:1d:1e:1f","client-id":"01:02:03:04","hostname":"myhost.example.org","valid-lft":3600,"fqdn-fwd":true,"fqdn-rev":false,"user-context":{"foo":"bar"}}"#;
    const HW: &str = r#""hw-address":"aa:bb:cc:dd:ee:01""#;
    let stat = |name: &str| cmd("statistic-get", &format!(r#"{{"name":"{name}"}}"#));
    let total = stat("subnet[1].total-addresses");
    let assigned = stat("subnet[1].assigned-addresses");
    vec![
        same("get-all of nothing", &cmd("lease4-get-all", "")),
        newest("assigned at start", &assigned),
        newest("total addresses", &total),
        // lease4-add
        same("add", &cmd("lease4-add", FULL)),
        same("add again", &cmd("lease4-add", FULL)),
        same(
            "add without hw-address",
            &cmd("lease4-add", r#"{"ip-address":"192.0.2.61"}"#),
        ),
        same(
            "add without ip-address",
            &cmd("lease4-add", &format!("{{{HW}}}")),
        ),
        same(
            "add in unknown subnet-id",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"192.0.2.61",{HW},"subnet-id":7}}"#),
            ),
        ),
        same(
            "add outside every subnet",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"10.0.0.1",{HW}}}"#),
            ),
        ),
        same(
            "add bogus address",
            &cmd("lease4-add", &format!(r#"{{"ip-address":"bogus",{HW}}}"#)),
        ),
        same(
            "add bad state",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"192.0.2.61",{HW},"state":3}}"#),
            ),
        ),
        same(
            "add fqdn without hostname",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"192.0.2.61",{HW},"fqdn-fwd":true,"hostname":""}}"#),
            ),
        ),
        same(
            "add user-context not a map",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"192.0.2.61",{HW},"user-context":"str"}}"#),
            ),
        ),
        same(
            "add dashed hw-address",
            &cmd(
                "lease4-add",
                r#"{"ip-address":"192.0.2.61","hw-address":"AA-BB-CC-DD-EE-FF"}"#,
            ),
        ),
        same(
            "add hw-address not hex",
            &cmd(
                "lease4-add",
                r#"{"ip-address":"192.0.2.61","hw-address":"zz"}"#,
            ),
        ),
        same("add without arguments", &cmd("lease4-add", "")),
        same(
            "add negative valid-lft",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"192.0.2.61",{HW},"valid-lft":-5}}"#),
            ),
        ),
        same(
            "add fqdn-fwd not a boolean",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"192.0.2.61",{HW},"fqdn-fwd":"yes"}}"#),
            ),
        ),
        same(
            "add a second",
            &cmd(
                "lease4-add",
                &format!(r#"{{"ip-address":"192.0.2.51",{HW},"hostname":"Other.Example.ORG"}}"#),
            ),
        ),
        same(
            "add a third, by client-id",
            &cmd(
                "lease4-add",
                r#"{"ip-address":"192.0.2.52","hw-address":"a:b:c:d:e:1","client-id":"01:AA"}"#,
            ),
        ),
        newest("assigned after three adds", &assigned),
        newest("total after adds", &total),
        // lease4-get
        same(
            "get by address",
            &cmd("lease4-get", r#"{"ip-address":"192.0.2.50"}"#),
        ),
        same(
            "get unknown address",
            &cmd("lease4-get", r#"{"ip-address":"192.0.2.99"}"#),
        ),
        same(
            "get by hw-address",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"hw-address","identifier":"1a:1b:1c:1d:1e:1f","subnet-id":1}"#,
            ),
        ),
        same(
            "get by client-id",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"client-id","identifier":"01:02:03:04","subnet-id":1}"#,
            ),
        ),
        same(
            "get unknown client-id",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"client-id","identifier":"01:02:03:05","subnet-id":1}"#,
            ),
        ),
        same(
            "get by duid",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"duid","identifier":"01:02","subnet-id":1}"#,
            ),
        ),
        same(
            "get by unknown identifier type",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"foo","identifier":"01:02","subnet-id":1}"#,
            ),
        ),
        same(
            "get without subnet-id",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"hw-address","identifier":"1a:1b:1c:1d:1e:1f"}"#,
            ),
        ),
        same("get with empty arguments", &cmd("lease4-get", "{}")),
        same("get without arguments", &cmd("lease4-get", "")),
        same(
            "get IPv6 address",
            &cmd("lease4-get", r#"{"ip-address":"2001:db8::1"}"#),
        ),
        same(
            "get address not a string",
            &cmd("lease4-get", r#"{"ip-address":5}"#),
        ),
        same(
            "get without identifier",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"hw-address","subnet-id":1}"#,
            ),
        ),
        same(
            "get without identifier-type",
            &cmd("lease4-get", r#"{"identifier":"01:02","subnet-id":1}"#),
        ),
        same(
            "get identifier not hex",
            &cmd(
                "lease4-get",
                r#"{"identifier-type":"hw-address","identifier":"zz","subnet-id":1}"#,
            ),
        ),
        // lease4-get-by-*
        same(
            "get-by-hw-address",
            &cmd(
                "lease4-get-by-hw-address",
                r#"{"hw-address":"1a:1b:1c:1d:1e:1f"}"#,
            ),
        ),
        same(
            "get-by-hw-address no match",
            &cmd(
                "lease4-get-by-hw-address",
                r#"{"hw-address":"1a:1b:1c:1d:1e:20"}"#,
            ),
        ),
        same(
            "get-by-hw-address without it",
            &cmd("lease4-get-by-hw-address", "{}"),
        ),
        same(
            "get-by-hw-address without arguments",
            &cmd("lease4-get-by-hw-address", ""),
        ),
        same(
            "get-by-client-id",
            &cmd("lease4-get-by-client-id", r#"{"client-id":"01:aa"}"#),
        ),
        same(
            "get-by-client-id no match",
            &cmd("lease4-get-by-client-id", r#"{"client-id":"01:ab"}"#),
        ),
        same(
            "get-by-hostname",
            &cmd(
                "lease4-get-by-hostname",
                r#"{"hostname":"myhost.example.org"}"#,
            ),
        ),
        same(
            "get-by-hostname ignores case",
            &cmd(
                "lease4-get-by-hostname",
                r#"{"hostname":"MYHOST.Example.org"}"#,
            ),
        ),
        same(
            "get-by-hostname stored in capitals",
            &cmd(
                "lease4-get-by-hostname",
                r#"{"hostname":"other.example.org"}"#,
            ),
        ),
        same(
            "get-by-hostname empty",
            &cmd("lease4-get-by-hostname", r#"{"hostname":""}"#),
        ),
        // lease4-get-all
        same("get-all", &cmd("lease4-get-all", "")),
        same(
            "get-all of subnet 1",
            &cmd("lease4-get-all", r#"{"subnets":[1]}"#),
        ),
        same(
            "get-all of subnet 2",
            &cmd("lease4-get-all", r#"{"subnets":[2]}"#),
        ),
        same("get-all with empty arguments", &cmd("lease4-get-all", "{}")),
        same(
            "get-all subnets not a list",
            &cmd("lease4-get-all", r#"{"subnets":1}"#),
        ),
        same(
            "get-all subnets not numbers",
            &cmd("lease4-get-all", r#"{"subnets":["a"]}"#),
        ),
        // lease4-get-page
        same(
            "page from the start",
            &cmd("lease4-get-page", r#"{"from":"start","limit":2}"#),
        ),
        same(
            "page from an address",
            &cmd("lease4-get-page", r#"{"from":"192.0.2.50","limit":2}"#),
        ),
        same(
            "page past the end",
            &cmd("lease4-get-page", r#"{"from":"192.0.2.52","limit":2}"#),
        ),
        same(
            "page of 0",
            &cmd("lease4-get-page", r#"{"from":"start","limit":0}"#),
        ),
        same(
            "page without limit",
            &cmd("lease4-get-page", r#"{"from":"start"}"#),
        ),
        same(
            "page without from",
            &cmd("lease4-get-page", r#"{"limit":2}"#),
        ),
        same(
            "page from nonsense",
            &cmd("lease4-get-page", r#"{"from":"xyz","limit":2}"#),
        ),
        same(
            "page from IPv6",
            &cmd("lease4-get-page", r#"{"from":"2001:db8::1","limit":2}"#),
        ),
        same(
            "page limit not a number",
            &cmd("lease4-get-page", r#"{"from":"start","limit":"2"}"#),
        ),
        same("page without arguments", &cmd("lease4-get-page", "")),
        // lease4-update
        same(
            "update existing",
            &cmd(
                "lease4-update",
                &format!(
                    r#"{{"ip-address":"192.0.2.51",{HW},"hostname":"renamed.example.org","valid-lft":1800}}"#
                ),
            ),
        ),
        same(
            "get the update",
            &cmd("lease4-get", r#"{"ip-address":"192.0.2.51"}"#),
        ),
        same(
            "update missing",
            &cmd(
                "lease4-update",
                r#"{"ip-address":"192.0.2.60","hw-address":"aa:bb:cc:dd:ee:02"}"#,
            ),
        ),
        same(
            "update missing with force-create",
            &cmd(
                "lease4-update",
                r#"{"ip-address":"192.0.2.60","hw-address":"aa:bb:cc:dd:ee:02","force-create":true}"#,
            ),
        ),
        same(
            "update existing with force-create",
            &cmd(
                "lease4-update",
                r#"{"ip-address":"192.0.2.60","hw-address":"aa:bb:cc:dd:ee:02","force-create":true}"#,
            ),
        ),
        same("update without arguments", &cmd("lease4-update", "")),
        same(
            "update without hw-address",
            &cmd("lease4-update", r#"{"ip-address":"192.0.2.61"}"#),
        ),
        newest("assigned after updates", &assigned),
        same(
            "add a declined one",
            &cmd(
                "lease4-add",
                r#"{"ip-address":"192.0.2.53","hw-address":"aa:bb:cc:dd:ee:03","state":1}"#,
            ),
        ),
        newest("assigned with a declined one", &assigned),
        newest(
            "declined in the subnet",
            &stat("subnet[1].declined-addresses"),
        ),
        newest("declined in all", &stat("declined-addresses")),
        // lease4-del
        same(
            "del by address",
            &cmd("lease4-del", r#"{"ip-address":"192.0.2.60"}"#),
        ),
        same(
            "del it again",
            &cmd("lease4-del", r#"{"ip-address":"192.0.2.60"}"#),
        ),
        same(
            "del by client-id",
            &cmd(
                "lease4-del",
                r#"{"identifier-type":"client-id","identifier":"01:aa","subnet-id":1}"#,
            ),
        ),
        same(
            "del unknown identifier",
            &cmd(
                "lease4-del",
                r#"{"identifier-type":"hw-address","identifier":"02:02:02:02:02:02","subnet-id":1}"#,
            ),
        ),
        same(
            "del update-ddns not a boolean",
            &cmd(
                "lease4-del",
                r#"{"ip-address":"192.0.2.50","update-ddns":"x"}"#,
            ),
        ),
        same("del without arguments", &cmd("lease4-del", "")),
        same(
            "del by duid",
            &cmd(
                "lease4-del",
                r#"{"identifier-type":"duid","identifier":"01:02","subnet-id":1}"#,
            ),
        ),
        newest("assigned after deletes", &assigned),
        // lease4-wipe
        same("wipe subnet 1", &cmd("lease4-wipe", r#"{"subnet-id":1}"#)),
        same("wipe it again", &cmd("lease4-wipe", r#"{"subnet-id":1}"#)),
        same("wipe without arguments", &cmd("lease4-wipe", "")),
        same(
            "wipe unknown subnet",
            &cmd("lease4-wipe", r#"{"subnet-id":9}"#),
        ),
        newest("assigned after wipe", &assigned),
        newest("declined after wipe", &stat("subnet[1].declined-addresses")),
        same("get-all after wipe", &cmd("lease4-get-all", "")),
        // statistics
        same("statistic unknown", &stat("nonexistent")),
        same("statistic without name", &cmd("statistic-get", "{}")),
        same(
            "statistic name not a string",
            &cmd("statistic-get", r#"{"name":5}"#),
        ),
        same(
            "reset unknown statistic",
            &cmd("statistic-reset", r#"{"name":"nonexistent"}"#),
        ),
        same("reset without arguments", &cmd("statistic-reset", "")),
        // A reset count reads 0 and follows the changes from there.
        same(
            "add before a reset",
            &cmd(
                "lease4-add",
                r#"{"ip-address":"192.0.2.80","hw-address":"1a:1b:1c:1d:1e:80"}"#,
            ),
        ),
        same(
            "reset a subnet's assigned count",
            &cmd(
                "statistic-reset",
                r#"{"name":"subnet[1].assigned-addresses"}"#,
            ),
        ),
        newest("assigned after its reset", &assigned),
        same(
            "add after the reset",
            &cmd(
                "lease4-add",
                r#"{"ip-address":"192.0.2.81","hw-address":"1a:1b:1c:1d:1e:81"}"#,
            ),
        ),
        newest("assigned counts from the reset", &assigned),
        same(
            "reset a subnet's total",
            &cmd("statistic-reset", r#"{"name":"subnet[1].total-addresses"}"#),
        ),
        newest("total after its reset", &stat("subnet[1].total-addresses")),
        // generic commands
        same("unknown command", &cmd("foo-bar", "")),
        same("no command", r#"{"arguments":{}}"#),
        same("command not a string", r#"{"command":5}"#),
        same(
            "unsupported top-level key",
            r#"{"command":"list-commands","extra":1}"#,
        ),
        same("not a map", "[1,2]"),
        same("not JSON at all", r#"x{"command":"version-get"}"#),
        result_only(
            "JSON syntax error",
            r#"{"command": }"#,
            // DELIBERATE: the text is our JSON parser's, not Kea's
            // ("error: unexpected character } in <wire>:0:13").
            "JSON syntax error texts",
        ),
        same("dhcp-disable", &cmd("dhcp-disable", "")),
        same("dhcp-enable", &cmd("dhcp-enable", "")),
        same("config-test without arguments", &cmd("config-test", "")),
        same("config-test without Dhcp4", &cmd("config-test", "{}")),
        result_only(
            "config-test of a broken subnet",
            &cmd("config-test", r#"{"Dhcp4":{"subnet4":[{"subnet":"bad"}]}}"#),
            // DELIBERATE: configuration errors are ours, located by key
            // path, not Kea's parser texts.
            "configuration error texts",
        ),
        same(
            "config-test of a good config",
            &cmd(
                "config-test",
                r#"{"Dhcp4":{"valid-lifetime":600,"subnet4":[{"id":1,"subnet":"192.0.2.0/24","pools":[{"pool":"192.0.2.10 - 192.0.2.20"}]}]}}"#,
            ),
        ),
    ]
}

/// Issue: Kea's command channel. The same commands over the UNIX control
/// socket to Kea 2.2 (with libdhcp_lease_cmds.so) and to ours (which serves
/// those commands natively), each answer compared byte for byte in Kea's
/// formatting except for clock readings and the differences named in
/// [`without_position`] and the script.
#[tokio::test]
async fn lease_and_statistic_commands_answer_as_kea_does() {
    let dir = temp_dir("diff");
    let kea_dir = dir.join("kea");
    let ours_dir = dir.join("ours");
    std::fs::create_dir_all(&kea_dir).unwrap();
    std::fs::create_dir_all(&ours_dir).unwrap();
    let kea_text = config_text(&kea_dir, r#""interfaces": [ ]"#, "kea.sock", "");
    let ours_text = config_text(&ours_dir, OURS_INTERFACES, "ours.sock", "");
    let kea = start_kea(&kea_dir, &kea_text).await.unwrap();
    let ours = start_ours(&ours_dir, &ours_text).await.unwrap();
    assert!(
        !ours.log().contains("lease_cmds"),
        "ours serves the lease_cmds hook's commands itself, silently; log:\n{}",
        ours.log()
    );
    let kea_socket = kea_dir.join("kea.sock");
    let ours_socket = ours_dir.join("ours.sock");

    let mut report = String::new();
    let mut transcript = String::new();
    for step in script() {
        let from_kea = command(&kea_socket, &step.request)
            .await
            .with_context(|| format!("Kea, {}; log:\n{}", step.label, kea.log()))
            .unwrap();
        let from_ours = command(&ours_socket, &step.request)
            .await
            .with_context(|| format!("ours, {}; log:\n{}", step.label, ours.log()))
            .unwrap();
        let note = match step.check {
            Check::ResultOnly(why) => format!(" (result only: {why})"),
            Check::Same | Check::NewestSample => String::new(),
        };
        transcript.push_str(&format!(
            "{}{note}: {}\n  Kea:  {from_kea}\n  ours: {from_ours}\n",
            step.label, step.request
        ));
        let differs = match step.check {
            Check::Same => normalise(&without_position(&from_kea)) != normalise(&from_ours),
            Check::NewestSample => {
                newest_sample_only(&normalise(&from_kea)) != normalise(&from_ours)
            }
            Check::ResultOnly(_) => {
                result_code(&from_kea).is_none()
                    || result_code(&from_kea) != result_code(&from_ours)
            }
        };
        if differs {
            report.push_str(&format!(
                "{}{note}: {}\n  Kea:  {from_kea}\n  ours: {from_ours}\n",
                step.label, step.request
            ));
        }
    }
    assert!(
        report.is_empty(),
        "ours answers differently from Kea 2.2:\n{report}\nwhole transcript:\n{transcript}"
    );
}

/// A raw HTTP request to `addr`; the status code and the body (the server
/// closes, or `Connection: close` makes it).
async fn http(addr: SocketAddr, request: &[u8]) -> anyhow::Result<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(COMMAND_TIMEOUT, exchange)
        .await
        .context("no HTTP response in time")??;
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("not an HTTP response: {response:?}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_string();
    Ok((code, body))
}

/// An HTTP control listener on `port` that admits admin:secret.
fn http_socket(port: u16) -> String {
    format!(
        r#""control-sockets": [ {{ "socket-type": "http", "socket-address": "127.0.0.1", "socket-port": {port},
      "authentication": {{ "type": "basic", "realm": "kea-control-agent",
        "clients": [ {{ "user": "admin", "password": "secret" }} ] }} }} ],"#
    )
}

/// Runs `kea-shell` against `port` with `args`, `stdin` as its arguments;
/// exit success, stdout, stderr (bounded: kea-shell's own timeout is 10 s).
async fn kea_shell(
    port: u16,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<(bool, String, String)> {
    let mut child = tokio::process::Command::new("kea-shell")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("running kea-shell (Debian package kea-ctrl-agent)")?;
    let mut input = child.stdin.take().context("kea-shell stdin")?;
    input.write_all(stdin.as_bytes()).await?;
    drop(input);
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .context("kea-shell did not finish in 30 s")??;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Issue: Kea's command channel over HTTP. Kea's own client, kea-shell
/// 2.2, drives ours as it drives Kea's Control Agent: basic
/// authentication, answers as JSON lists, `--service dhcp4` forwarding;
/// a wrong or missing password gets HTTP 401, which kea-shell reports.
#[tokio::test]
async fn kea_shell_drives_ours_over_http_with_basic_auth() {
    let dir = temp_dir("shell");
    let port = free_port();
    let text = config_text(&dir, OURS_INTERFACES, "ours.sock", &http_socket(port));
    let ours = start_ours(&dir, &text).await.unwrap();
    let admin = ["--auth-user", "admin", "--auth-password", "secret"];

    let (ok, out, err) = kea_shell(port, &admin, "").await.unwrap();
    assert!(ok, "list-commands: {out}{err}\nlog:\n{}", ours.log());
    assert!(
        out.starts_with(r#"[ { "arguments": [ "build-report", "#),
        "{out}"
    );
    assert!(
        out.contains(r#""lease4-add""#) && out.trim_end().ends_with(r#" ], "result": 0 } ]"#),
        "{out}"
    );

    let lease = r#""ip-address": "192.0.2.70", "hw-address": "1a:1b:1c:1d:1e:70", "hostname": "shell.example.org""#;
    let with_service = [&admin[..], &["--service", "dhcp4", "lease4-add"]].concat();
    let (ok, out, err) = kea_shell(port, &with_service, lease).await.unwrap();
    assert!(ok, "{out}{err}");
    assert_eq!(
        out.trim_end(),
        r#"[ { "result": 0, "text": "Lease for address 192.0.2.70, subnet-id 1 added." } ]"#
    );
    let get = [&admin[..], &["--service", "dhcp4", "lease4-get"]].concat();
    let (ok, out, err) = kea_shell(port, &get, r#""ip-address": "192.0.2.70""#)
        .await
        .unwrap();
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with(r#"[ { "arguments": { "cltt": "#)
            && out.contains(r#""hostname": "shell.example.org", "hw-address": "1a:1b:1c:1d:1e:70", "ip-address": "192.0.2.70", "state": 0, "subnet-id": 1, "valid-lft": 7200 }, "result": 0, "text": "IPv4 lease found." } ]"#),
        "{out}"
    );

    let wrong = ["--auth-user", "admin", "--auth-password", "wrong"];
    let (ok, out, err) = kea_shell(port, &wrong, "").await.unwrap();
    assert!(!ok, "a wrong password is refused: {out}");
    assert!(
        format!("{out}{err}").contains("HTTP Error 401: Unauthorized"),
        "{out}{err}"
    );
    let (ok, out, err) = kea_shell(port, &[], "").await.unwrap();
    assert!(!ok, "no credentials are refused: {out}");
    assert!(
        format!("{out}{err}").contains("HTTP Error 401: Unauthorized"),
        "{out}{err}"
    );
}

/// Kea 2.2's Control Agent file moves into ours unchanged
/// (`--control-agent`): its listener, realm and clients (a password file
/// under `directory` included) answer kea-shell; its `control-sockets` are
/// not needed.
#[tokio::test]
async fn a_control_agent_file_moves_into_ours() {
    let dir = temp_dir("agent");
    let port = free_port();
    std::fs::write(dir.join("ops.pw"), "ops:s3cret").unwrap();
    let agent = dir.join("kea-ctrl-agent.conf");
    std::fs::write(
        &agent,
        format!(
            r#"{{ "Control-agent": {{ "http-host": "127.0.0.1", "http-port": {port},
  "authentication": {{ "type": "basic", "directory": "{dir}",
    "clients": [ {{ "user": "admin", "password": "secret" }}, {{ "password-file": "ops.pw" }} ] }},
  "control-sockets": {{ "dhcp4": {{ "socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket" }} }},
  "hooks-libraries": [ ] }} }}"#,
            dir = dir.display()
        ),
    )
    .unwrap();
    // The same file is one Kea's own agent accepts.
    let checked = std::process::Command::new("kea-ctrl-agent")
        .arg("-t")
        .arg(&agent)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "kea-ctrl-agent -t: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let text = config_text(&dir, OURS_INTERFACES, "ours.sock", "");
    let extra = ["--control-agent".to_string(), agent.display().to_string()];
    let ours = start_ours_with(&dir, &text, &extra).await.unwrap();
    assert!(
        ours.log()
            .contains("Control-agent.control-sockets: ignored"),
        "{}",
        ours.log()
    );
    for (user, password) in [("admin", "secret"), ("ops", "s3cret")] {
        let auth = [
            "--auth-user",
            user,
            "--auth-password",
            password,
            "--service",
            "dhcp4",
            "status-get",
        ];
        let (ok, out, err) = kea_shell(port, &auth, "").await.unwrap();
        assert!(ok && out.contains(r#""result": 0"#), "{user}: {out}{err}");
    }
    let (ok, out, err) = kea_shell(port, &["--auth-user", "ops", "--auth-password", "x"], "")
        .await
        .unwrap();
    assert!(!ok && format!("{out}{err}").contains("401"), "{out}{err}");
}

/// `text` with the UNIX control socket `socket` added before its
/// `"valid-lifetime"`.
fn with_control_socket(text: &str, socket: &Path) -> String {
    let added = text.replacen(
        "\"valid-lifetime\"",
        &format!(
            "\"control-socket\": {{ \"socket-type\": \"unix\", \"socket-name\": \"{}\" }},\n    \"valid-lifetime\"",
            socket.display()
        ),
        1,
    );
    assert_ne!(added, text, "the fixture has no valid-lifetime any more");
    added
}

/// Issue: Kea's command channel, durability. A lease added over the socket
/// is in the lease file before the answer (it survives SIGTERM and a
/// restart), so is its deletion, and a lease a client acquired over DHCP is
/// visible to lease4-get.
#[tokio::test]
async fn leases_written_by_commands_survive_a_restart() {
    let topology = Topology::lan().unwrap();
    let dir = temp_dir("persist");
    let leases = dir.join("leases4.csv");
    let socket = dir.join("ctl.sock");
    let text = config::adapt(
        &fixture("basic.json").unwrap(),
        SERVER_IF,
        &leases.display().to_string(),
    )
    .unwrap();
    let path = dir.join("kea-dhcp4.conf");
    std::fs::write(&path, with_control_socket(&text, &socket)).unwrap();
    let get = cmd("lease4-get", r#"{"ip-address":"192.0.2.60"}"#);

    let running = Running::start(Server::Ours, &topology.server, &path, &dir)
        .await
        .unwrap();
    let added = command(
        &socket,
        &cmd(
            "lease4-add",
            r#"{"ip-address":"192.0.2.60","hw-address":"1a:1b:1c:1d:1e:60","hostname":"kept.example.org"}"#,
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        added,
        r#"{ "result": 0, "text": "Lease for address 192.0.2.60, subnet-id 1 added." }"#
    );
    // A client's lease, acquired over DHCP.
    let mut probe = Probe::spawn(
        &topology,
        Ipv4Addr::UNSPECIFIED,
        Duration::from_millis(1500),
    )
    .unwrap();
    let chaddr = mac(61, 1);
    let offer = probe
        .ask(Request::new(DISCOVER, 0x6100, chaddr))
        .await
        .unwrap();
    assert_eq!(offer.kind(), OFFER);
    let request = Request::new(REQUEST, 0x6101, chaddr)
        .option(50, offer.yiaddr.octets())
        .option(54, offer.option(54).unwrap_or_default());
    let ack = probe.ask(request).await.unwrap();
    assert_eq!(ack.kind(), ACK);
    let client = command(
        &socket,
        &cmd(
            "lease4-get",
            &format!(r#"{{"ip-address":"{}"}}"#, ack.yiaddr),
        ),
    )
    .await
    .unwrap();
    assert!(
        client.contains(&format!(
            r#""hw-address": "{}", "ip-address": "{}""#,
            chaddr.map(|b| format!("{b:02x}")).join(":"),
            ack.yiaddr
        )) && client.ends_with(r#""result": 0, "text": "IPv4 lease found." }"#),
        "{client}"
    );
    running.stop().await;

    let running = Running::start(Server::Ours, &topology.server, &path, &dir)
        .await
        .unwrap();
    let found = command(&socket, &get).await.unwrap();
    assert!(
        found.contains(r#""hostname": "kept.example.org""#)
            && found.ends_with(r#""result": 0, "text": "IPv4 lease found." }"#),
        "after a restart: {found}\nlog:\n{}",
        running.log()
    );
    let deleted = command(
        &socket,
        &cmd("lease4-del", r#"{"ip-address":"192.0.2.60"}"#),
    )
    .await
    .unwrap();
    assert_eq!(deleted, r#"{ "result": 0, "text": "IPv4 lease deleted." }"#);
    running.stop().await;

    let running = Running::start(Server::Ours, &topology.server, &path, &dir)
        .await
        .unwrap();
    let gone = command(&socket, &get).await.unwrap();
    assert_eq!(
        gone,
        r#"{ "result": 3, "text": "Lease not found." }"#,
        "log:\n{}",
        running.log()
    );
    running.stop().await;
}

/// Issue: Kea's command channel, security. Commands change leases and
/// files, so: an HTTP listener others can reach needs authentication (the
/// config is refused, exit 64), requests are bounded (4 MiB body, POST
/// only: 400), config-write stays in the config's directory, and
/// `shutdown` exits with the requested code and removes the socket.
#[tokio::test]
async fn the_channel_refuses_what_it_must_and_shutdown_exits_with_the_value() {
    let dir = temp_dir("limits");
    let open = config_text(
        &dir,
        OURS_INTERFACES,
        "open.sock",
        &format!(
            r#""control-sockets": [ {{ "socket-type": "http", "socket-address": "0.0.0.0", "socket-port": {} }} ],"#,
            free_port()
        ),
    );
    let open_path = dir.join("open.json");
    std::fs::write(&open_path, open).unwrap();
    let mut refused = Daemon::spawn(
        &cargo_bin("dhcp4").unwrap(),
        &[
            "-c".into(),
            open_path.display().to_string(),
            "-p".into(),
            free_port().to_string(),
            "--metrics-addr".into(),
            format!("127.0.0.1:{}", free_port()),
        ],
    )
    .unwrap();
    let status = refused.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(64),
        "log:\n{}",
        refused.log()
    );
    assert!(
        refused.log().contains("socket-address"),
        "the error names the key: {}",
        refused.log()
    );

    let port = free_port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let text = config_text(&dir, OURS_INTERFACES, "ours.sock", &http_socket(port));
    let mut ours = start_ours(&dir, &text).await.unwrap();
    let socket = dir.join("ours.sock");

    let big = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"command\":\"list-commands\",\"arguments\":{{\"pad\":\"",
        4 * 1024 * 1024 + 1
    );
    let (code, body) = http(addr, big.as_bytes()).await.unwrap();
    assert_eq!(
        (code, body.as_str()),
        (400, r#"{ "result": 400, "text": "Bad Request" }"#)
    );
    let (code, _) = http(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!(code, 400, "only POST");
    let list = r#"{"command":"list-commands"}"#;
    let (code, body) = http(
        addr,
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{list}",
            list.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(code, 200, "a good request still works: {body}");

    let elsewhere = temp_dir("limits-elsewhere");
    let target = elsewhere.join("written.json");
    let answer = command(
        &socket,
        &cmd(
            "config-write",
            &format!(r#"{{"filename":"{}"}}"#, target.display()),
        ),
    )
    .await
    .unwrap();
    assert_eq!(result_code(&answer), Some(1), "{answer}");
    assert!(!target.exists(), "config-write wrote {}", target.display());
    let beside = dir.join("written.json");
    let answer = command(
        &socket,
        &cmd(
            "config-write",
            &format!(r#"{{"filename":"{}"}}"#, beside.display()),
        ),
    )
    .await
    .unwrap();
    assert_eq!(result_code(&answer), Some(0), "{answer}");
    assert!(beside.exists(), "beside the config file is allowed");

    let answer = command(&socket, &cmd("shutdown", r#"{"exit-value":3}"#))
        .await
        .unwrap();
    assert_eq!(answer, r#"{ "result": 0, "text": "Shutting down." }"#);
    let status = ours.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(3),
        "log:\n{}",
        ours.log()
    );
    assert!(!socket.exists(), "the socket file is removed at shutdown");
}

#[test]
fn normalising_touches_only_clock_readings_and_positions() {
    let kea = r#"{ "arguments": { "cltt": 1796588172, "x": [ [ 0, "2026-12-06 20:15:17.182970" ] ] }, "result": 1, "text": "missing parameter 'hw-address' (<wire>:0:40)" }"#;
    assert_eq!(
        normalise(&without_position(kea)),
        r#"{ "arguments": { "cltt": CLTT, "x": [ [ 0, "TIME" ] ] }, "result": 1, "text": "missing parameter 'hw-address'" }"#
    );
    assert_eq!(
        without_position("Invalid argument(<wire>:0:54)"),
        "Invalid argument"
    );
    assert_eq!(result_code(kea), Some(1));
    assert_eq!(
        newest_sample_only(
            r#"{ "arguments": { "s": [ [ 2, "TIME" ], [ -1, "TIME" ], [ 0, "TIME" ] ] }, "result": 0 }"#
        ),
        r#"{ "arguments": { "s": [ [ 2, "TIME" ] ] }, "result": 0 }"#
    );
}
