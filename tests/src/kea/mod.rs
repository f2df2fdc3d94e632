//! Differential testing of our `dhcp4` against Debian's Kea 2.2: the same
//! config text and the same scripted client exchanges against each server
//! in turn, in the same namespaces on the same addresses, then every reply
//! compared byte for byte (and the lease files line by line).
//!
//! A test runs Kea first and asserts on Kea's replies the facts its scenario
//! is about (so a broken scenario is caught against the reference), then
//! runs ours and compares: a failure always says which side broke.
//!
//! Run (as root: network namespaces): `cargo build -p dhcp4 --bins`, then
//! `cargo test -p e2e --test it dhcp4_kea`. The scenarios' configs are
//! `tests/fixtures/dhcp4/*.json` (each checked with `kea-dhcp4 -t` by a test);
//! a failure message says which server broke and, for a difference, shows
//! each differing header field and option with both servers' bytes, then
//! both transcripts.
//!
//! - [`message`]: building requests, decoding replies without normalising.
//! - [`compare`]: the byte comparison and its per-field, per-option report.
//! - [`config`]: pointing an operator's file at the test's interface and
//!   lease file, changing nothing else.
//! - [`server`]: the namespaces, starting and stopping either server, and the
//!   `dhcp-probe` process that sends for the clients.

pub mod compare;
pub mod config;
pub mod message;
pub mod server;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};

pub use message::{Message, Request};
pub use server::{Running, Server, Topology};

use server::Probe;

/// The fixture `tests/fixtures/dhcp4/<name>` as text.
pub fn fixture(name: &str) -> anyhow::Result<String> {
    let path = fixture_path(name);
    std::fs::read_to_string(&path).with_context(|| path.display().to_string())
}

/// Where fixture `name` is.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/dhcp4")
        .join(name)
}

/// One request of a scripted exchange.
#[derive(Debug, Clone)]
pub struct Step {
    /// Names the step in reports and lookups.
    pub label: String,
    /// What is sent.
    pub request: Request,
    /// A step whose reply (an OFFER) this REQUEST selects: its yiaddr goes
    /// in option 50 and its server identifier in option 54, first.
    pub selects: Option<String>,
}

impl Step {
    /// Sends `request` as it is.
    pub fn send(label: &str, request: Request) -> Step {
        Step {
            label: label.into(),
            request,
            selects: None,
        }
    }

    /// A DISCOVER → OFFER, REQUEST → ACK exchange: `discover` as given
    /// (steps `"<label> offer"`), then the same request as a REQUEST with
    /// the same xid and options selecting that offer (`"<label> ack"`).
    pub fn dora(label: &str, discover: Request) -> [Step; 2] {
        let offer = format!("{label} offer");
        let mut request = discover.clone();
        request.kind = message::REQUEST;
        [
            Step::send(&offer, discover),
            Step::select(&format!("{label} ack"), &offer, request),
        ]
    }

    /// Sends `request` (a REQUEST) selecting the offer answered to step
    /// `offer`, as a client in SELECTING state does (RFC 2131 §4.3.2).
    pub fn select(label: &str, offer: &str, request: Request) -> Step {
        Step {
            label: label.into(),
            request,
            selects: Some(offer.into()),
        }
    }
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The step's label.
    pub label: String,
    /// The bytes sent.
    pub request: Vec<u8>,
    /// The reply, if one came within the probe's wait.
    pub reply: Option<Vec<u8>>,
}

/// One line of a memfile lease file, its columns as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseLine(pub Vec<String>);

impl LeaseLine {
    /// Column `i` ("" when absent).
    pub fn column(&self, i: usize) -> &str {
        self.0.get(i).map_or("", String::as_str)
    }
    /// The leased address.
    pub fn address(&self) -> &str {
        self.column(0)
    }
    /// The hardware address.
    pub fn hwaddr(&self) -> &str {
        self.column(1)
    }
    /// The client identifier.
    pub fn client_id(&self) -> &str {
        self.column(2)
    }
    /// The valid lifetime in seconds.
    pub fn valid_lifetime(&self) -> &str {
        self.column(3)
    }
    /// The subnet id.
    pub fn subnet_id(&self) -> &str {
        self.column(5)
    }
    /// The hostname.
    pub fn hostname(&self) -> &str {
        self.column(8)
    }
    /// The columns compared between the servers: all but `expire` (a clock
    /// reading) and `user_context`.
    fn comparable(&self) -> Vec<(&'static str, &str)> {
        const NAMES: [&str; 10] = [
            "address",
            "hwaddr",
            "client_id",
            "valid_lifetime",
            "expire",
            "subnet_id",
            "fqdn_fwd",
            "fqdn_rev",
            "hostname",
            "state",
        ];
        NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 4)
            .map(|(i, name)| (*name, self.column(i)))
            .collect()
    }
}

/// What one server answered to a whole script.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Which server.
    pub server: Server,
    /// Each step's exchange, in order.
    pub exchanges: Vec<Exchange>,
    /// The lease file's data lines after the script.
    pub leases: Vec<LeaseLine>,
    /// The server's log.
    pub log: String,
}

impl Transcript {
    /// The decoded reply to step `label`; an error (with the log) if there
    /// was none.
    pub fn reply(&self, label: &str) -> anyhow::Result<Message> {
        let exchange = self
            .exchanges
            .iter()
            .find(|e| e.label == label)
            .with_context(|| format!("no step {label:?}"))?;
        let Some(bytes) = &exchange.reply else {
            bail!("{}: no reply to {label:?}; log:\n{}", self.server, self.log);
        };
        Ok(Message::parse(bytes)?)
    }

    /// Whether step `label` got no reply.
    pub fn silent(&self, label: &str) -> bool {
        self.exchanges
            .iter()
            .any(|e| e.label == label && e.reply.is_none())
    }

    /// The last lease file line for `address`.
    pub fn lease(&self, address: Ipv4Addr) -> Option<&LeaseLine> {
        let text = address.to_string();
        self.leases.iter().rev().find(|l| l.address() == text)
    }

    /// A readable account of every exchange (for assertion messages).
    pub fn dump(&self) -> String {
        let mut out = format!("{} transcript:\n", self.server);
        for e in &self.exchanges {
            let reply = e
                .reply
                .as_deref()
                .map_or_else(|| "no reply".to_string(), compare::summary);
            let _ = writeln!(out, "  {}: {reply}", e.label);
        }
        for l in &self.leases {
            let _ = writeln!(out, "  lease: {}", l.0.join(","));
        }
        out
    }
}

/// One scenario: a config text, a topology, a directory for files.
#[derive(Debug)]
pub struct Differential {
    /// The namespaces both servers run in, one after the other.
    pub topology: Topology,
    config: String,
    dir: PathBuf,
    wait: Duration,
}

impl Differential {
    /// A scenario named `name` serving `config` (Kea JSON; its interface
    /// list and lease file are adapted per run) in `topology`.
    pub fn new(name: &str, config: String, topology: Topology) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("kea-diff-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
        Ok(Differential {
            topology,
            config,
            dir,
            wait: Duration::from_millis(1500),
        })
    }

    /// Runs `steps` against `server` (started fresh with an empty lease
    /// file, stopped at the end); errors name the server.
    pub async fn run(&self, server: Server, steps: &[Step]) -> anyhow::Result<Transcript> {
        self.run_inner(server, steps)
            .await
            .with_context(|| format!("running the script against {server}"))
    }

    async fn run_inner(&self, server: Server, steps: &[Step]) -> anyhow::Result<Transcript> {
        let dir = self.dir.join(server.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let leases = dir.join("leases4.csv");
        let text = config::adapt(
            &self.config,
            server::SERVER_IF,
            &leases.display().to_string(),
        )?;
        let config = dir.join("kea-dhcp4.conf");
        std::fs::write(&config, text)?;
        let running = Running::start(server, &self.topology.server, &config, &dir).await?;
        let result = self.script(steps).await;
        let log = running.stop().await;
        let exchanges = result.with_context(|| format!("log:\n{log}"))?;
        Ok(Transcript {
            server,
            exchanges,
            leases: read_leases(&leases)?,
            log,
        })
    }

    async fn script(&self, steps: &[Step]) -> anyhow::Result<Vec<Exchange>> {
        let mut probes: BTreeMap<Ipv4Addr, Probe> = BTreeMap::new();
        let mut done: Vec<Exchange> = Vec::new();
        for step in steps {
            let mut request = step.request.clone();
            if let Some(offer) = &step.selects {
                let reply = done
                    .iter()
                    .find(|e| &e.label == offer)
                    .and_then(|e| e.reply.as_deref())
                    .with_context(|| format!("{}: no offer {offer:?} to select", step.label))?;
                let offer = Message::parse(reply)?;
                let server_id = offer.option(54).unwrap_or_default();
                request.options.insert(0, (54, server_id));
                request
                    .options
                    .insert(0, (50, offer.yiaddr.octets().to_vec()));
            }
            let probe = match probes.entry(request.giaddr) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(Probe::spawn(&self.topology, request.giaddr, self.wait)?)
                }
            };
            let bytes = request.encode();
            let reply = probe.exchange(&bytes).await?;
            done.push(Exchange {
                label: step.label.clone(),
                request: bytes,
                reply,
            });
        }
        Ok(done)
    }
}

/// The data lines of a memfile (none when the file does not exist).
pub fn read_leases(path: &Path) -> anyhow::Result<Vec<LeaseLine>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let mut lines = text.lines();
    if let Some(header) = lines.next() {
        if !header.starts_with("address,hwaddr,client_id,valid_lifetime,expire,subnet_id") {
            bail!("{}: not a Kea lease file: {header}", path.display());
        }
    }
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| LeaseLine(l.split(',').map(str::to_string).collect()))
        .collect())
}

/// Compares the replies of `ours` with `kea`'s, step by step, byte for
/// byte; `Err` holds a report of every difference.
pub fn same_replies(kea: &Transcript, ours: &Transcript) -> anyhow::Result<()> {
    let mut report = String::new();
    for (k, o) in kea.exchanges.iter().zip(&ours.exchanges) {
        match (&k.reply, &o.reply) {
            (None, None) => {}
            (Some(_), None) => {
                let _ = writeln!(report, "step {:?}: Kea replied, ours did not", k.label);
            }
            (None, Some(o)) => {
                let _ = writeln!(
                    report,
                    "step {:?}: ours replied, Kea did not: {}",
                    k.label,
                    compare::summary(o)
                );
            }
            (Some(kb), Some(ob)) => {
                if let Some(diff) = compare::differences(kb, ob) {
                    let _ = write!(report, "step {:?} differs:\n{diff}", k.label);
                }
            }
        }
    }
    if kea.exchanges.len() != ours.exchanges.len() {
        let _ = writeln!(report, "step counts differ");
    }
    if report.is_empty() {
        return Ok(());
    }
    bail!(
        "ours answers differently from Kea 2.2:\n{report}\n{}\n{}",
        kea.dump(),
        ours.dump()
    )
}

/// The lease files' latest line per address, compared column by column
/// (all but `expire` and `user_context`).
pub fn same_leases(kea: &Transcript, ours: &Transcript) -> anyhow::Result<()> {
    let latest = |t: &Transcript| -> BTreeMap<String, LeaseLine> {
        t.leases
            .iter()
            .map(|l| (l.address().to_string(), l.clone()))
            .collect()
    };
    let (k, o) = (latest(kea), latest(ours));
    let mut report = String::new();
    for address in k
        .keys()
        .chain(o.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (k.get(address), o.get(address)) {
            (Some(a), Some(b)) => {
                for ((name, x), (_, y)) in a.comparable().into_iter().zip(b.comparable()) {
                    if x != y {
                        let _ = writeln!(report, "lease {address}: {name} Kea {x:?}, ours {y:?}");
                    }
                }
            }
            (Some(_), None) => {
                let _ = writeln!(report, "lease {address}: in Kea's file, not ours");
            }
            (None, Some(_)) => {
                let _ = writeln!(report, "lease {address}: in our file, not Kea's");
            }
            (None, None) => {}
        }
    }
    if report.is_empty() {
        return Ok(());
    }
    bail!(
        "our lease file differs from Kea's:\n{report}\n{}\n{}",
        kea.dump(),
        ours.dump()
    )
}

/// [`same_replies`] and [`same_leases`], both reported when both differ.
pub fn same(kea: &Transcript, ours: &Transcript) -> anyhow::Result<()> {
    match (same_replies(kea, ours), same_leases(kea, ours)) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        (Err(replies), Err(leases)) => {
            // The lease report without its transcripts (the replies' has them).
            let leases = leases.to_string();
            let head = leases.split("\n\n").next().unwrap_or_default();
            bail!("{head}\n\n{replies}")
        }
    }
}
