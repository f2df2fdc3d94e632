//! A generated fake internet for the cold-cache benchmark, deterministic from a seed.
//!
//! Servers are `<prefix>.<host>` (one /24):
//! - 1, 2: the root (`a`/`b.root-servers.net`);
//! - 3..=14: six TLDs, two servers each (`a`/`b.nic.<tld>`, glue in the root);
//! - 20..=35: eight DNS hosting providers (`dnsprovN.<tld>`, two servers each),
//!   serving their own zone and their customers' zones;
//! - 36..=39 and 240..=243: two CDNs (`cdnN.<tld>`) and their edge zones
//!   (`edgeN.<tld>`), so `www` names run through CNAME chains across three zones;
//! - 40..=219: self-hosted zones, two servers each with glue;
//! - 220..=229: dead addresses (100 % loss, nothing listens);
//! - 230..=239: lame servers (REFUSED to everything).
//!
//! Customer zones (`siteN.<tld>`): 45 % self-hosted with glue, 40 % at a provider
//! (glueless: the NS names live in the provider's zone), and 15 % with a third NS
//! that is dead or lame. Every server has a round-trip delay drawn log-uniformly
//! from 5 to 150 ms, 10 % jitter and 1 % loss. The query list draws zones and names
//! in them with Zipf popularity (s = 1.0 over zones, 1.2 over names in a zone),
//! mostly A, some AAAA and a few NXDOMAIN.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of customer zones.
    pub zones: usize,
    /// Length of the query list.
    pub queries: usize,
    /// First three octets of the server addresses, e.g. `10.77.0`.
    pub prefix: String,
}

/// A name the root answers itself (A 192.0.2.254), to check that a resolver runs.
pub const PROBE: &str = "probe.";
const TLDS: [&str; 6] = ["com", "net", "org", "io", "de", "uk"];
/// Share of customer zones per TLD (percent, same order as [`TLDS`]).
const TLD_WEIGHTS: [u32; 6] = [40, 15, 15, 10, 10, 10];
const PROVIDERS: u8 = 8;
const SELF_HOSTS: std::ops::RangeInclusive<u8> = 40..=219;
const DEAD_HOSTS: std::ops::RangeInclusive<u8> = 220..=229;
const LAME_HOSTS: std::ops::RangeInclusive<u8> = 230..=239;
/// Labels of every customer zone, most popular first (`@` is the apex).
const LABELS: [&str; 16] = [
    "www", "@", "api", "mail", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10", "h11",
    "h12",
];

/// How a customer zone is delegated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Two in-zone NS with glue.
    Glue,
    /// Two NS in a provider's zone, no glue.
    Provider,
    /// Glue, plus a third NS at a dead address.
    DeadNs,
    /// Glue, plus a third NS at a lame server.
    LameNs,
    /// Provider, plus a third in-zone NS at a dead address.
    ProviderDeadNs,
}

/// The generated files, in memory.
#[derive(Debug, Default)]
pub struct Internet {
    /// Zone file name → text.
    files: BTreeMap<String, String>,
    /// Server host → zone files it serves.
    hosts: BTreeMap<u8, Vec<String>>,
    /// Lame hosts (`+refused`).
    lame: Vec<u8>,
    /// Link table lines.
    links: String,
    /// dnsperf input: `<name> <type>` per line.
    queries: String,
    /// `<zone> <kind>` per customer zone.
    catalog: String,
    /// A name with an A record, for checking that a resolver answers ([`PROBE`]).
    known: String,
}

struct Gen {
    rng: StdRng,
    prefix: String,
    internet: Internet,
}

impl Internet {
    /// Builds the whole internet of `plan`.
    pub fn generate(plan: &Plan) -> anyhow::Result<Self> {
        let mut g = Gen {
            rng: StdRng::seed_from_u64(plan.seed),
            prefix: plan.prefix.clone(),
            internet: Internet::default(),
        };
        g.links();
        let mut tlds: BTreeMap<&str, String> = BTreeMap::new();
        for tld in TLDS {
            tlds.insert(
                tld,
                soa_ns(
                    &format!("{tld}."),
                    &[format!("a.nic.{tld}."), format!("b.nic.{tld}.")],
                ),
            );
        }
        g.root();
        let providers = g.providers(&mut tlds);
        let cdns = g.cdns(&mut tlds);
        let zones = g.customers(plan.zones, &providers, &cdns, &mut tlds);
        for (index, tld) in TLDS.iter().enumerate() {
            let file = format!("{tld}.zone");
            let text = tlds.remove(tld).unwrap_or_default();
            g.internet.files.insert(file.clone(), text);
            let first = 3 + 2 * u8::try_from(index)?;
            for host in [first, first + 1] {
                g.internet.hosts.entry(host).or_default().push(file.clone());
            }
        }
        g.queries(plan.queries, &zones);
        g.internet.known = format!("{PROBE}\n");
        Ok(g.internet)
    }

    /// Writes `manifest`, the zone files, `links.txt`, `queries.txt`, `zones.txt`
    /// and `known.txt` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
        };
        for (file, text) in &self.files {
            write(file, text)?;
        }
        let mut manifest = String::from("# generated by cold-internet\n");
        for (host, files) in &self.hosts {
            writeln!(manifest, "{host} {}", files.join(" "))?;
        }
        for host in &self.lame {
            writeln!(manifest, "{host} +refused")?;
        }
        write("manifest", &manifest)?;
        write("links.txt", &self.links)?;
        write("queries.txt", &self.queries)?;
        write("zones.txt", &self.catalog)?;
        write("known.txt", &self.known)
    }
}

impl Gen {
    fn addr(&self, host: u8) -> String {
        format!("{}.{host}", self.prefix)
    }

    /// Every host's delay, jitter and loss; dead hosts lose everything.
    fn links(&mut self) {
        let mut text = String::from("# <server> <rtt ms> <jitter ms> <loss %>\n");
        for host in 1..=250u8 {
            let addr = self.addr(host);
            if DEAD_HOSTS.contains(&host) {
                let _ = writeln!(text, "{addr} 0 0 100");
                continue;
            }
            let rtt = (5f64.ln() + self.rng.random::<f64>() * (150f64.ln() - 5f64.ln())).exp();
            let _ = writeln!(text, "{addr} {rtt:.1} {:.1} 1", rtt / 10.0);
        }
        self.internet.links = text;
    }

    fn root(&mut self) {
        let mut text = soa_ns(
            ".",
            &["a.root-servers.net.".into(), "b.root-servers.net.".into()],
        );
        for (name, host) in [("a", 1), ("b", 2)] {
            let _ = writeln!(
                text,
                "{name}.root-servers.net. 86400 IN A {}",
                self.addr(host)
            );
        }
        // Answered by the root itself, so checking a resolver warms nothing but the root.
        let _ = writeln!(text, "{PROBE} 86400 IN A 192.0.2.254");
        for (index, tld) in TLDS.iter().enumerate() {
            let first = 3 + 2 * index as u8;
            for (name, host) in [("a", first), ("b", first + 1)] {
                let _ = writeln!(text, "{tld}. 172800 IN NS {name}.nic.{tld}.");
                let _ = writeln!(text, "{name}.nic.{tld}. 172800 IN A {}", self.addr(host));
            }
        }
        self.internet.files.insert("root.zone".into(), text);
        for host in [1, 2] {
            self.internet
                .hosts
                .entry(host)
                .or_default()
                .push("root.zone".into());
        }
    }

    /// Adds a delegation of `apex` to `ns` (with `glue` addresses) to its TLD's zone.
    fn delegate(
        tlds: &mut BTreeMap<&str, String>,
        apex: &str,
        ns: &[String],
        glue: &[(String, String)],
    ) {
        let tld = apex.trim_end_matches('.').rsplit('.').next().unwrap_or("");
        if let Some(text) = tlds.get_mut(tld) {
            for name in ns {
                let _ = writeln!(text, "{apex} 172800 IN NS {name}");
            }
            for (name, addr) in glue {
                let _ = writeln!(text, "{name} 172800 IN A {addr}");
            }
        }
    }

    /// A zone whose NS are `ns1`/`ns2.<apex>` on `hosts`, glued in its TLD.
    fn glued_zone(
        &mut self,
        tlds: &mut BTreeMap<&str, String>,
        apex: &str,
        hosts: &[u8],
    ) -> String {
        let ns: Vec<String> = (1..=hosts.len()).map(|i| format!("ns{i}.{apex}")).collect();
        let glue: Vec<(String, String)> = ns
            .iter()
            .cloned()
            .zip(hosts.iter().map(|h| self.addr(*h)))
            .collect();
        Self::delegate(tlds, apex, &ns, &glue);
        let mut text = soa_ns(apex, &ns);
        for (name, addr) in &glue {
            let _ = writeln!(text, "{name} 3600 IN A {addr}");
        }
        let file = format!("{apex}zone");
        for host in hosts {
            self.internet
                .hosts
                .entry(*host)
                .or_default()
                .push(file.clone());
        }
        text
    }

    /// Eight providers `dnsprovN.<tld>` on hosts 20..=35; returns their NS names.
    fn providers(&mut self, tlds: &mut BTreeMap<&str, String>) -> Vec<(Vec<String>, [u8; 2])> {
        let mut out = Vec::new();
        for n in 0..PROVIDERS {
            let apex = format!("dnsprov{n}.{}.", TLDS[usize::from(n) % TLDS.len()]);
            let hosts = [20 + 2 * n, 21 + 2 * n];
            let text = self.glued_zone(tlds, &apex, &hosts);
            self.internet.files.insert(format!("{apex}zone"), text);
            out.push((vec![format!("ns1.{apex}"), format!("ns2.{apex}")], hosts));
        }
        out
    }

    /// Two CDNs and their edge zones; returns (cdn apex, edge apex).
    fn cdns(&mut self, tlds: &mut BTreeMap<&str, String>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in 0..2u8 {
            let cdn = format!("cdn{n}.{}.", ["net", "com"][usize::from(n)]);
            let edge = format!("edge{n}.{}.", ["io", "org"][usize::from(n)]);
            let mut cdn_text = self.glued_zone(tlds, &cdn, &[36 + 2 * n, 37 + 2 * n]);
            let mut edge_text = self.glued_zone(tlds, &edge, &[240 + 2 * n, 241 + 2 * n]);
            for e in 0..40 {
                let _ = writeln!(edge_text, "e{e}.{edge} 300 IN A 198.51.100.{}", e + 1);
                let _ = writeln!(edge_text, "e{e}.{edge} 300 IN AAAA 2001:db8:{n}::{}", e + 1);
            }
            let _ = writeln!(cdn_text, "; customers' names are added below");
            self.internet.files.insert(format!("{cdn}zone"), cdn_text);
            self.internet.files.insert(format!("{edge}zone"), edge_text);
            out.push((cdn, edge));
        }
        out
    }

    /// The customer zones; returns (apex, kind) in creation order.
    fn customers(
        &mut self,
        count: usize,
        providers: &[(Vec<String>, [u8; 2])],
        cdns: &[(String, String)],
        tlds: &mut BTreeMap<&str, String>,
    ) -> Vec<(String, Kind)> {
        let mut zones = Vec::new();
        let span = u32::from(*SELF_HOSTS.end() - *SELF_HOSTS.start()) + 1;
        for i in 0..count {
            let tld = self.pick_tld();
            let apex = format!("site{i}.{tld}.");
            let roll: f64 = self.rng.random();
            let kind = match roll {
                r if r < 0.45 => Kind::Glue,
                r if r < 0.85 => Kind::Provider,
                r if r < 0.90 => Kind::DeadNs,
                r if r < 0.95 => Kind::LameNs,
                _ => Kind::ProviderDeadNs,
            };
            let a = *SELF_HOSTS.start() + (self.rng.random_range(0..span) as u8);
            let b = *SELF_HOSTS.start()
                + ((u32::from(a - *SELF_HOSTS.start()) + self.rng.random_range(1..span)) % span)
                    as u8;
            let dead = self.rng.random_range(DEAD_HOSTS);
            let lame = self.rng.random_range(LAME_HOSTS);
            let mut text = match kind {
                Kind::Glue => self.glued_zone(tlds, &apex, &[a, b]),
                Kind::DeadNs => self.glued_zone(tlds, &apex, &[a, b, dead]),
                Kind::LameNs => self.glued_zone(tlds, &apex, &[a, lame, b]),
                Kind::Provider | Kind::ProviderDeadNs => {
                    let (ns, hosts) = &providers[self.rng.random_range(0..providers.len())];
                    let mut ns = ns.clone();
                    let mut glue = Vec::new();
                    if kind == Kind::ProviderDeadNs {
                        ns.push(format!("ns3.{apex}"));
                        glue.push((format!("ns3.{apex}"), self.addr(dead)));
                    }
                    Self::delegate(tlds, &apex, &ns, &glue);
                    let mut text = soa_ns(&apex, &ns);
                    for (name, addr) in &glue {
                        let _ = writeln!(text, "{name} 3600 IN A {addr}");
                    }
                    for host in hosts {
                        self.internet
                            .hosts
                            .entry(*host)
                            .or_default()
                            .push(format!("{apex}zone"));
                    }
                    text
                }
            };
            // The lame servers hold no zone (they answer REFUSED); the last
            // `retain` below takes the dead and lame hosts out of the manifest.
            if kind == Kind::LameNs && !self.internet.lame.contains(&lame) {
                self.internet.lame.push(lame);
            }
            self.records(&mut text, &apex, i, cdns, &zones);
            self.internet.files.insert(format!("{apex}zone"), text);
            let _ = writeln!(self.internet.catalog, "{apex} {kind:?}");
            zones.push((apex, kind));
        }
        self.internet
            .hosts
            .retain(|host, _| !DEAD_HOSTS.contains(host) && !LAME_HOSTS.contains(host));
        zones
    }

    /// The names of customer zone `apex` (number `i`): `www` is a CNAME into a CDN
    /// for a third of them, `api` a CNAME to an earlier zone's `www` for a tenth.
    fn records(
        &mut self,
        text: &mut String,
        apex: &str,
        i: usize,
        cdns: &[(String, String)],
        earlier: &[(String, Kind)],
    ) {
        let last = (i % 250) + 1;
        for label in LABELS {
            let name = if label == "@" {
                apex.to_string()
            } else {
                format!("{label}.{apex}")
            };
            match label {
                "www" if i % 3 == 0 => {
                    let (cdn, edge) = &cdns[i % cdns.len()];
                    let target = format!("site{i}.{cdn}");
                    let _ = writeln!(text, "{name} 3600 IN CNAME {target}");
                    let cdn_file = format!("{cdn}zone");
                    if let Some(cdn_text) = self.internet.files.get_mut(&cdn_file) {
                        let _ = writeln!(cdn_text, "{target} 300 IN CNAME e{}.{edge}", i % 40);
                    }
                }
                "api" if i % 10 == 7 && !earlier.is_empty() => {
                    let (other, _) = &earlier[self.rng.random_range(0..earlier.len())];
                    let _ = writeln!(text, "{name} 3600 IN CNAME www.{other}");
                }
                _ => {
                    let _ = writeln!(text, "{name} 3600 IN A 192.0.2.{last}");
                    if label == "www" || label == "@" {
                        let _ = writeln!(text, "{name} 3600 IN AAAA 2001:db8::{last}");
                    }
                }
            }
        }
    }

    fn pick_tld(&mut self) -> &'static str {
        let total: u32 = TLD_WEIGHTS.iter().sum();
        let mut roll = self.rng.random_range(0..total);
        for (tld, weight) in TLDS.iter().zip(TLD_WEIGHTS) {
            if roll < weight {
                return tld;
            }
            roll -= weight;
        }
        TLDS[0]
    }

    /// `count` queries: a Zipf-popular zone, a Zipf-popular name in it, A (80 %),
    /// AAAA (17 %) or a name that does not exist (3 %).
    fn queries(&mut self, count: usize, zones: &[(String, Kind)]) {
        let mut order: Vec<&str> = zones.iter().map(|(apex, _)| apex.as_str()).collect();
        order.shuffle(&mut self.rng);
        let zone_cdf = zipf_cdf(order.len(), 1.0);
        let label_cdf = zipf_cdf(LABELS.len(), 1.2);
        let mut text = String::new();
        for n in 0..count {
            let apex = order[pick(&zone_cdf, self.rng.random())];
            let label = LABELS[pick(&label_cdf, self.rng.random())];
            let name = if label == "@" {
                apex.to_string()
            } else {
                format!("{label}.{apex}")
            };
            let roll: f64 = self.rng.random();
            if roll < 0.03 {
                let _ = writeln!(text, "nx{n}.{apex} A");
            } else if roll < 0.20 {
                let _ = writeln!(text, "{name} AAAA");
            } else {
                let _ = writeln!(text, "{name} A");
            }
        }
        self.internet.queries = text;
    }
}

/// SOA and NS records of `apex`.
fn soa_ns(apex: &str, ns: &[String]) -> String {
    let first = ns.first().map(String::as_str).unwrap_or(".");
    let mail = if apex == "." {
        "hostmaster.root-servers.net.".to_string()
    } else {
        format!("hostmaster.{apex}")
    };
    let mut text = format!(
        "$ORIGIN {apex}\n$TTL 3600\n{apex} 3600 IN SOA {first} {mail} 1 3600 900 604800 300\n"
    );
    for name in ns {
        let _ = writeln!(text, "{apex} 3600 IN NS {name}");
    }
    text
}

/// Cumulative Zipf weights `1/k^s`, k = 1..=n, normalised to end at 1.
fn zipf_cdf(n: usize, s: f64) -> Vec<f64> {
    let mut cdf: Vec<f64> = Vec::with_capacity(n);
    let mut sum = 0.0;
    for k in 1..=n {
        sum += 1.0 / (k as f64).powf(s);
        cdf.push(sum);
    }
    for v in &mut cdf {
        *v /= sum;
    }
    cdf
}

/// The first index whose cumulative weight reaches `u` (0..1).
fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|&c| c < u)
        .min(cdf.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            seed: 3,
            zones: 40,
            queries: 500,
            prefix: "10.77.0".into(),
        }
    }

    #[test]
    fn same_seed_same_internet() {
        let a = Internet::generate(&plan()).unwrap();
        let b = Internet::generate(&plan()).unwrap();
        assert_eq!(a.queries, b.queries);
        assert_eq!(a.files, b.files);
        let other = Internet::generate(&Plan { seed: 4, ..plan() }).unwrap();
        assert_ne!(a.queries, other.queries);
    }

    #[test]
    fn queries_are_skewed_and_dead_hosts_serve_nothing() {
        let internet = Internet::generate(&plan()).unwrap();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for line in internet.queries.lines() {
            *counts.entry(line).or_default() += 1;
        }
        let top = counts.values().max().copied().unwrap_or(0);
        assert!(top >= 10, "the most popular query repeats: {top}");
        assert!(
            counts.len() > 100,
            "many distinct queries: {}",
            counts.len()
        );
        assert!(internet
            .hosts
            .keys()
            .all(|h| !DEAD_HOSTS.contains(h) && !LAME_HOSTS.contains(h)));
        assert!(internet
            .links
            .contains(&format!("10.77.0.{} 0 0 100", DEAD_HOSTS.start())));
        assert_eq!(internet.known, "probe.\n");
    }

    #[test]
    fn zipf_pick_stays_in_range() {
        let cdf = zipf_cdf(5, 1.0);
        assert_eq!(pick(&cdf, 0.0), 0);
        assert_eq!(pick(&cdf, 0.999_999), 4);
        assert_eq!(pick(&cdf, 1.5), 4);
    }
}
