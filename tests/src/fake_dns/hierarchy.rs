//! The fixture hierarchy: every server of `tests/fixtures/zones/manifest` on
//! `127.<net>.0.<host>:53`.
//!
//! Manifest format, one server per line (`#` starts a comment):
//! `<host> <zone file>... [+refused] [+signed [signing flags]]`. The same file
//! may be listed under several hosts (secondaries); `+refused` starts that
//! server with `set_refused(true)`; `+signed` signs that line's zones with a key
//! made at start ([`Hierarchy::trust_anchor`] gives its DS), and the flags of
//! [`SignSpec::apply_flag`] choose the algorithm, DS digest, NSEC3 and a
//! [`Fault`](super::dnssec::Fault).
//!
//! Chain of trust: zones are signed deepest first, and a signed zone's DS is
//! added to its parent zone (the loaded zone with the longest apex above it)
//! when that parent is signed too, before the parent is signed. A signed zone
//! under an unsigned parent (`signed.com.` under `com.`) is an island whose
//! only anchor is [`Hierarchy::trust_anchor`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use hickory_proto::rr::{Name, RData, RecordType};

use super::authority::Catalog;
use super::dnssec::{
    Fault, SignSpec, DOWNGRADE_SECOND_ALGORITHM, KEYTRAP_DECOYS, KEYTRAP_SIGNATURES,
};
use super::server::FakeServer;
use super::signer::{Validity, ZoneKey};
use super::zone::{Signing, Zone};

/// The fixture directory of this crate (`tests/fixtures/zones`).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("zones")
}

/// The DNS port every fake server listens on.
pub const DNS_PORT: u16 = 53;

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Last octet of the server address `127.<net>.0.<host>`.
    pub host: u8,
    /// Zone files, relative to the manifest's directory.
    pub files: Vec<String>,
    /// Start with `set_refused(true)`.
    pub refused: bool,
    /// Sign the zones of this line, and how (`None`: unsigned).
    pub signing: Option<SignSpec>,
}

/// Parses the manifest text.
pub fn parse_manifest(text: &str) -> anyhow::Result<Vec<ManifestEntry>> {
    let mut entries: Vec<ManifestEntry> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut tokens = line.split_whitespace();
        let host_text = tokens.next().unwrap_or("");
        let host: u8 = host_text
            .parse()
            .ok()
            .filter(|h| (1..=250).contains(h))
            .ok_or_else(|| {
                anyhow!(
                    "manifest line {}: host `{host_text}` is not 1..=250",
                    index + 1
                )
            })?;
        if entries.iter().any(|e| e.host == host) {
            bail!("manifest line {}: host {host} listed twice", index + 1);
        }
        let mut entry = ManifestEntry {
            host,
            files: Vec::new(),
            refused: false,
            signing: None,
        };
        let mut spec = SignSpec::default();
        let mut signing_flags = false;
        for token in tokens {
            match token {
                "+refused" => entry.refused = true,
                "+signed" => entry.signing = Some(SignSpec::default()),
                flag if flag.starts_with('+') => {
                    let known = spec
                        .apply_flag(&flag[1..])
                        .with_context(|| format!("manifest line {}", index + 1))?;
                    if !known {
                        bail!("manifest line {}: unknown flag `{flag}`", index + 1);
                    }
                    signing_flags = true;
                }
                file => entry.files.push(file.to_string()),
            }
        }
        match (&entry.signing, signing_flags) {
            (Some(_), _) => entry.signing = Some(spec),
            (None, true) => bail!(
                "manifest line {}: signing flags without `+signed`",
                index + 1
            ),
            (None, false) => {}
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// The address of fixture host `host` in net `net`: `127.<net>.0.<host>`.
pub fn host_addr(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, net, 0, host))
}

/// `127.<net>.0.<host>`, or `<a>.<b>.<c>.<host>` with a prefix.
fn placed_addr(net: u8, prefix: Option<[u8; 3]>, host: u8) -> IpAddr {
    match prefix {
        None => host_addr(net, host),
        Some([a, b, c]) => IpAddr::V4(Ipv4Addr::new(a, b, c, host)),
    }
}

/// A running fake DNS hierarchy. Dropping it stops every server.
#[derive(Debug)]
pub struct Hierarchy {
    net: u8,
    /// Servers on `<a>.<b>.<c>.<host>` instead of `127.<net>.0.<host>`
    /// ([`Hierarchy::start_from_prefix`]).
    prefix: Option<[u8; 3]>,
    servers: BTreeMap<u8, FakeServer>,
    /// (zone apex, host) in manifest order.
    zone_hosts: Vec<(Name, u8)>,
    root_hints: String,
    /// `<apex> DS <tag> <alg> <digest type> <digest>` of every signed zone.
    trust_anchors: Vec<(Name, String)>,
}

impl Hierarchy {
    /// Starts the fixture hierarchy (`tests/fixtures/zones/`) on `127.<net>.0.0/24`.
    ///
    /// Binding port 53 needs root or `CAP_NET_BIND_SERVICE`; any `127.0.0.0/8` address
    /// works on Linux without configuring `lo`. Fails (nothing left running) when any
    /// address is taken, e.g. by a parallel test on the same net.
    pub async fn start(net: u8) -> anyhow::Result<Self> {
        Self::start_from(net, &fixtures_dir()).await
    }

    /// Starts the fixture hierarchy on the first free net from
    /// [`unique_net`](crate::daemon::unique_net) (up to 16 tries).
    pub async fn start_unique() -> anyhow::Result<Self> {
        let mut last = None;
        for _ in 0..16 {
            match Self::start(crate::daemon::unique_net()).await {
                Ok(h) => return Ok(h),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no free net")))
    }

    /// Starts the hierarchy described by `dir/manifest` on `127.<net>.0.0/24`.
    pub async fn start_from(net: u8, dir: &Path) -> anyhow::Result<Self> {
        if !(1..=250).contains(&net) {
            bail!("net {net} is not in 1..=250");
        }
        Self::start_placed(net, None, dir).await
    }

    /// Starts the hierarchy described by `dir/manifest` on `<a>.<b>.<c>.<host>:53`
    /// (`prefix` = `[a, b, c]`), for a hierarchy reached over a routed link rather
    /// than loopback (the data-plane tests run it in a network namespace of its
    /// own). Zone data written `127.@NET@.0.<host>` is served as `<a>.<b>.<c>.<host>`,
    /// so glue and root hints point at the servers. The addresses must be local
    /// where this runs (e.g. `ip route add local <a>.<b>.<c>.0/24 dev lo`).
    pub async fn start_from_prefix(prefix: [u8; 3], dir: &Path) -> anyhow::Result<Self> {
        Self::start_placed(0, Some(prefix), dir).await
    }

    async fn start_placed(net: u8, prefix: Option<[u8; 3]>, dir: &Path) -> anyhow::Result<Self> {
        let manifest_path = dir.join("manifest");
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let entries = parse_manifest(&text)?;
        let mut loaded: BTreeMap<String, (Zone, Option<SignSpec>)> = BTreeMap::new();
        for entry in &entries {
            for file in &entry.files {
                if let Some((_, spec)) = loaded.get(file) {
                    if *spec != entry.signing {
                        bail!("{file} is listed with different signing flags");
                    }
                    continue;
                }
                let path = dir.join(file);
                let zone = match prefix {
                    None => Zone::load(&path, net)?,
                    Some([a, b, c]) => {
                        let text = std::fs::read_to_string(&path)
                            .with_context(|| format!("reading {}", path.display()))?
                            .replace("127.@NET@.0.", &format!("{a}.{b}.{c}."));
                        Zone::parse(&text, Some(&path), net)
                            .with_context(|| format!("loading {}", path.display()))?
                    }
                };
                loaded.insert(file.clone(), (zone, entry.signing.clone()));
            }
        }
        let trust_anchors = sign_all(&mut loaded)?;
        let zones: HashMap<String, Arc<Zone>> = loaded
            .into_iter()
            .map(|(file, (zone, _))| (file, Arc::new(zone)))
            .collect();
        let mut servers = BTreeMap::new();
        let mut zone_hosts = Vec::new();
        for entry in &entries {
            let mut catalog = Catalog::new();
            for file in &entry.files {
                let zone = zones
                    .get(file)
                    .ok_or_else(|| anyhow!("{file} was not loaded"))?;
                zone_hosts.push((zone.origin().clone(), entry.host));
                catalog.insert(Arc::clone(zone));
            }
            let addr = SocketAddr::new(placed_addr(net, prefix, entry.host), DNS_PORT);
            let server = FakeServer::start(addr, catalog)
                .await
                .with_context(|| format!("starting fake server for host {}", entry.host))?;
            server.set_refused(entry.refused);
            servers.insert(entry.host, server);
        }
        let root = zones
            .values()
            .find(|z| z.origin().is_root())
            .ok_or_else(|| anyhow!("no root zone in {}", manifest_path.display()))?;
        let root_hints = hints_text(root)?;
        Ok(Self {
            net,
            prefix,
            servers,
            zone_hosts,
            root_hints,
            trust_anchors,
        })
    }

    /// The DS of every signed zone, in presentation form.
    pub fn trust_anchors(&self) -> impl Iterator<Item = &str> {
        self.trust_anchors.iter().map(|(_, ds)| ds.as_str())
    }

    /// The DS of signed zone `zone` (e.g. `"signed.com."`) in presentation
    /// form, as an Unbound `trust-anchor:` takes it.
    pub fn trust_anchor(&self, zone: &str) -> Option<&str> {
        let mut name = Name::from_ascii(zone).ok()?;
        name.set_fqdn(true);
        self.trust_anchors
            .iter()
            .find(|(apex, _)| *apex == name)
            .map(|(_, ds)| ds.as_str())
    }

    /// The net octet: servers are on `127.<net>.0.<host>`.
    pub fn net(&self) -> u8 {
        self.net
    }

    /// `127.<net>.0.<host>` (or `<prefix>.<host>` when started with a prefix).
    pub fn addr(&self, host: u8) -> IpAddr {
        placed_addr(self.net, self.prefix, host)
    }

    /// The root server's address and port (host 1, port 53).
    pub fn root_addr(&self) -> SocketAddr {
        SocketAddr::new(self.addr(1), DNS_PORT)
    }

    /// The server on `host`, if the manifest has one.
    pub fn server(&self, host: u8) -> Option<&FakeServer> {
        self.servers.get(&host)
    }

    /// Every server, by host.
    pub fn servers(&self) -> impl Iterator<Item = (u8, &FakeServer)> {
        self.servers.iter().map(|(h, s)| (*h, s))
    }

    /// Every server for `zone` (several for lame.com.), in manifest order.
    pub fn servers_for_zone(&self, zone: &str) -> Vec<&FakeServer> {
        let Ok(mut name) = Name::from_ascii(zone) else {
            return Vec::new();
        };
        name.set_fqdn(true);
        self.zone_hosts
            .iter()
            .filter(|(apex, _)| *apex == name)
            .filter_map(|(_, host)| self.servers.get(host))
            .collect()
    }

    /// The first server (manifest order) for `zone`, e.g. `"example.com."`.
    ///
    /// # Panics
    /// When no server serves `zone`: a typo in a test.
    pub fn server_for_zone(&self, zone: &str) -> &FakeServer {
        self.servers_for_zone(zone)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no fake server serves zone {zone}"))
    }

    /// Sum of [`FakeServer::queries`] over all servers.
    pub fn total_queries(&self) -> u64 {
        self.servers.values().map(FakeServer::queries).sum()
    }

    /// Resets every server's counters.
    pub fn reset_counters(&self) {
        self.servers.values().for_each(FakeServer::reset_counters);
    }

    /// A root hints file (BIND / Unbound `root-hints:` format) pointing at the fake root.
    pub fn root_hints(&self) -> String {
        self.root_hints.clone()
    }

    /// Writes [`root_hints`](Self::root_hints) to `path`.
    pub fn write_root_hints(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, &self.root_hints)
            .with_context(|| format!("writing root hints {}", path.display()))
    }

    /// Stops every server and waits for the sockets to close.
    pub async fn shutdown(mut self) {
        let servers = std::mem::take(&mut self.servers);
        for server in servers.into_values() {
            server.shutdown().await;
        }
    }
}

/// Signs every zone that has a [`SignSpec`], deepest apex first, putting each
/// one's DS into its signed parent first. Returns `(apex, "<apex> DS ...")`
/// for every signed zone: the DS its parent publishes (for `+badds`, the
/// digest of a key the zone does not have).
fn sign_all(
    loaded: &mut BTreeMap<String, (Zone, Option<SignSpec>)>,
) -> anyhow::Result<Vec<(Name, String)>> {
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut order: Vec<(u8, String)> = loaded
        .iter()
        .filter(|(_, (_, spec))| spec.is_some())
        .map(|(file, (zone, _))| (zone.origin().num_labels(), file.clone()))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let rsa = super::signer::rsa_key_path();
    let mut anchors = Vec::new();
    for (_, file) in order {
        let Some((zone, Some(spec))) = loaded.get(&file).cloned() else {
            continue;
        };
        let mut zone = zone;
        let apex = zone.origin().clone();
        let key = ZoneKey::generate_for(spec.algorithm, &rsa)?;
        let other = match spec.fault {
            Some(Fault::WrongKey | Fault::BadDs) => {
                Some(ZoneKey::generate_for(spec.algorithm, &rsa)?)
            }
            Some(Fault::AlgDowngrade) => {
                Some(ZoneKey::generate_for(DOWNGRADE_SECOND_ALGORITHM, &rsa)?)
            }
            _ => None,
        };
        let ds_key = match spec.fault {
            Some(Fault::BadDs) => other.as_ref().unwrap_or(&key),
            _ => &key,
        };
        let ds = ds_key.ds(&apex, zone.soa().ttl, spec.ds_digest)?;
        anchors.push((
            apex.clone(),
            format!("{apex} DS {}", ds_key.ds_text(&apex, spec.ds_digest)?),
        ));
        let parent = loaded
            .iter_mut()
            .filter(|(_, (p, _))| p.origin() != &apex && p.origin().zone_of(&apex))
            .max_by_key(|(_, (p, _))| p.origin().num_labels());
        if let Some((_, (parent, Some(_)))) = parent {
            parent
                .add_record(ds)
                .with_context(|| format!("DS of {apex} in {}", parent.origin()))?;
            if let (Some(Fault::AlgDowngrade), Some(second)) = (spec.fault, &other) {
                parent
                    .add_record(second.ds(&apex, zone.soa().ttl, spec.ds_digest)?)
                    .with_context(|| format!("second DS of {apex}"))?;
            }
        }
        let mut signing = Signing::new(&key, now_unix);
        signing.nsec3 = spec.nsec3.clone();
        match spec.fault {
            Some(Fault::Expired) => signing.validity = Validity::expired(now_unix),
            Some(Fault::NotYetValid) => signing.validity = Validity::not_yet_valid(now_unix),
            Some(Fault::WrongKey) => signing.rrset_key = other.as_ref().unwrap_or(&key),
            Some(Fault::KeyTrap) => {
                signing.decoys = KEYTRAP_DECOYS;
                signing.forged = KEYTRAP_SIGNATURES;
            }
            Some(Fault::AlgDowngrade) => signing.forged_second = other.as_ref(),
            _ => {}
        }
        zone.sign(&signing)
            .with_context(|| format!("signing {file}"))?;
        zone.set_filter(spec.fault.and_then(Fault::filter));
        if let Some(entry) = loaded.get_mut(&file) {
            entry.0 = zone;
        }
    }
    Ok(anchors)
}

/// Root hints from the root zone: its apex NS RRset and the A/AAAA it holds for them.
fn hints_text(root: &Zone) -> anyhow::Result<String> {
    let apex = root
        .node(&Name::root().into())
        .and_then(|n| n.get(RecordType::NS))
        .ok_or_else(|| anyhow!("root zone has no NS"))?;
    let mut out = String::from("; fake root hints (e2e fake_dns)\n");
    for ns in apex {
        let RData::NS(target) = &ns.data else {
            continue;
        };
        let _ = writeln!(out, ".\t3600000\tIN\tNS\t{}", target.0);
        for addr in root.addresses_of(&target.0) {
            let (rtype, ip) = match &addr.data {
                RData::A(a) => ("A", a.0.to_string()),
                RData::AAAA(a) => ("AAAA", a.0.to_string()),
                _ => continue,
            };
            let _ = writeln!(out, "{}\t3600000\tIN\t{rtype}\t{ip}", target.0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_flags_and_rejects_junk() {
        let m = parse_manifest("# c\n1 root.zone\n15 lame.zone +refused # x\n18 s.zone +signed\n")
            .unwrap();
        assert_eq!(m.len(), 3);
        assert!(m[1].refused && m[1].signing.is_none());
        assert!(m[2].signing.is_some() && !m[2].refused);
        let m = parse_manifest("5 t.zone +signed +alg=15 +ds=4 +keytrap\n").unwrap();
        let spec = m[0].signing.as_ref().unwrap();
        assert_eq!((spec.algorithm, spec.ds_digest), (15, 4));
        assert_eq!(spec.fault, Some(Fault::KeyTrap));
        assert!(
            parse_manifest("5 t.zone +expired").is_err(),
            "fault without +signed"
        );
        assert!(parse_manifest("0 a").is_err());
        assert!(parse_manifest("3 a +what").is_err());
        assert!(parse_manifest("3 a\n3 b").is_err());
    }

    #[test]
    fn fixture_zones_all_load() {
        let dir = fixtures_dir();
        let m = parse_manifest(&std::fs::read_to_string(dir.join("manifest")).unwrap()).unwrap();
        for entry in m {
            for file in entry.files {
                Zone::load(&dir.join(&file), 7).unwrap();
            }
        }
    }
}
