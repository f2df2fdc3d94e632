//! The packet-filter rules of the node-local-dns contract, for iptables
//! (iptables-nft and iptables-legacy nodes) and nftables:
//!
//! - **NOTRACK** for queries to the agent's addresses (raw PREROUTING) and
//!   its replies (raw OUTPUT), as node-cache installs them, so DNS never
//!   meets the conntrack races the agent exists to avoid. The PREROUTING
//!   rule matches only while a socket is bound to the address itself
//!   (`-m socket --nowildcard`; nftables `socket wildcard 0`).
//! - **The fallback** in the nat table: a query to an agent address that no
//!   socket listens on (the agent crashed, or is restarting) is tracked,
//!   and DNAT'd to the cluster DNS Service, so a dead agent never blackholes
//!   DNS (seed 004's `-m socket` chain).
//! - At SIGTERM the rules go to **handover**: no NOTRACK on the way in and
//!   the DNAT unconditional, so every new query goes to the cluster DNS
//!   while the agent answers what it has (its sockets stay bound through the
//!   drain, and a query queued on a socket that closes is lost: measured,
//!   26 of 4,000 at 500 q/s on a busy machine); at exit they go to
//!   **absent**: only the fallback DNAT stays (so a query to the link-local
//!   address still reaches the cluster DNS until the next agent starts), or
//!   nothing at all with `keep-fallback = false`.
//!
//! The rules are plain text (iptables argument lists, one nftables table):
//! [`Ruleset`] builds them, [`Firewall`] applies, checks and removes them
//! by running the node's own `iptables`/`nft` binaries, as node-cache does.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;

/// Which tool writes the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `iptables`/`ip6tables` (iptables-nft on current distributions).
    Iptables,
    /// `iptables-legacy`/`ip6tables-legacy` (nodes whose kube-proxy uses them).
    IptablesLegacy,
    /// One `nft` table (`inet node_local_dns`).
    Nftables,
    /// No rules (the operator manages them).
    None,
}

impl Backend {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Iptables => "iptables",
            Backend::IptablesLegacy => "iptables-legacy",
            Backend::Nftables => "nftables",
            Backend::None => "none",
        }
    }

    /// Parses the config spelling.
    pub fn parse(text: &str) -> Option<Backend> {
        [
            Backend::Iptables,
            Backend::IptablesLegacy,
            Backend::Nftables,
            Backend::None,
        ]
        .into_iter()
        .find(|b| b.as_str() == text)
    }
}

/// Which rule set is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The agent serves: NOTRACK while it listens, the fallback when not.
    Serving,
    /// The agent is stopping: every new query goes to the fallback.
    Handover,
    /// No agent: only the fallback DNAT.
    Absent,
}

impl Phase {
    const ALL: [Phase; 3] = [Phase::Serving, Phase::Handover, Phase::Absent];
}

/// What the rules are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    /// The agent's addresses (link-local and optionally the cluster DNS Service's).
    pub local: Vec<IpAddr>,
    /// The DNS port (53).
    pub port: u16,
    /// The health endpoint's port on the agent's addresses (node-cache
    /// exempts the liveness probe's connections from conntrack too).
    pub health_port: Option<u16>,
    /// Where a query goes when no agent listens (the cluster DNS Service):
    /// DNAT'd to this address, which must then need no further NAT on the
    /// node (kube-proxy in IPVS mode, an eBPF service implementation, or
    /// the endpoints' own address).
    pub fallback: Option<SocketAddr>,
    /// iptables only: jump to these nat chains instead of the DNAT (with
    /// kube-proxy in iptables mode, its `KUBE-SVC-...` chains of the cluster
    /// DNS Service, as seed 004 does).
    pub fallback_chain: Option<FallbackChains>,
}

/// kube-proxy's chains of the cluster DNS Service, one per protocol (its
/// `KUBE-SVC-...` chain of the `dns` port only DNATs UDP, of `dns-tcp` only
/// TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackChains {
    /// The chain UDP queries jump to.
    pub udp: String,
    /// The chain TCP queries jump to.
    pub tcp: String,
}

/// An iptables rule: table, chain, match-and-target arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptRule {
    /// `raw`, `nat` or `filter`.
    pub table: &'static str,
    /// A built-in chain, or [`CHAIN`].
    pub chain: &'static str,
    /// Everything after the chain name.
    pub args: Vec<String>,
}

/// Our nat chain (the name node-cache and seed 004 use).
pub const CHAIN: &str = "NODE-LOCAL-DNS";

/// Our nftables table (family inet).
pub const NFT_TABLE: &str = "node_local_dns";

impl Ruleset {
    /// The iptables rules of `phase` for the addresses of one family
    /// (`v6`: ip6tables), in order: built-in chain rules are inserted at
    /// the top of their chain, [`CHAIN`]'s appended in this order.
    pub fn iptables(&self, phase: Phase, v6: bool) -> Vec<IptRule> {
        let mut rules = Vec::new();
        let port = self.port.to_string();
        let addrs: Vec<&IpAddr> = self.local.iter().filter(|a| a.is_ipv6() == v6).collect();
        let rule = |table, chain, args: &[&str]| IptRule {
            table,
            chain,
            args: args.iter().map(|s| s.to_string()).collect(),
        };
        for addr in addrs.iter().filter(|_| phase != Phase::Absent) {
            let a = addr.to_string();
            for proto in ["udp", "tcp"] {
                if phase == Phase::Serving {
                    rules.push(rule(
                        "raw",
                        "PREROUTING",
                        &[
                            "-d",
                            &a,
                            "-p",
                            proto,
                            "--dport",
                            &port,
                            "-m",
                            "socket",
                            "--nowildcard",
                            "-j",
                            "NOTRACK",
                        ],
                    ));
                }
                // Replies and node-local (hostNetwork) queries: not tracked, as node-cache.
                rules.push(rule(
                    "raw",
                    "OUTPUT",
                    &["-s", &a, "-p", proto, "--sport", &port, "-j", "NOTRACK"],
                ));
                rules.push(rule(
                    "raw",
                    "OUTPUT",
                    &["-d", &a, "-p", proto, "--dport", &port, "-j", "NOTRACK"],
                ));
                rules.push(rule(
                    "filter",
                    "INPUT",
                    &["-d", &a, "-p", proto, "--dport", &port, "-j", "ACCEPT"],
                ));
                rules.push(rule(
                    "filter",
                    "OUTPUT",
                    &["-s", &a, "-p", proto, "--sport", &port, "-j", "ACCEPT"],
                ));
            }
            if let Some(health) = self.health_port {
                let h = health.to_string();
                rules.push(rule(
                    "raw",
                    "OUTPUT",
                    &["-d", &a, "-p", "tcp", "--dport", &h, "-j", "NOTRACK"],
                ));
                rules.push(rule(
                    "raw",
                    "OUTPUT",
                    &["-s", &a, "-p", "tcp", "--sport", &h, "-j", "NOTRACK"],
                ));
            }
        }
        let Some(fallback) = self.fallback.filter(|f| f.is_ipv6() == v6) else {
            return rules;
        };
        for addr in &addrs {
            let a = addr.to_string();
            for proto in ["udp", "tcp"] {
                rules.push(rule(
                    "nat",
                    "PREROUTING",
                    &["-d", &a, "-p", proto, "--dport", &port, "-j", CHAIN],
                ));
            }
        }
        if phase == Phase::Serving {
            rules.push(rule(
                "nat",
                CHAIN,
                &["-m", "socket", "--nowildcard", "-j", "RETURN"],
            ));
        }
        if let Some(chains) = &self.fallback_chain {
            for (proto, chain) in [("udp", &chains.udp), ("tcp", &chains.tcp)] {
                rules.push(rule("nat", CHAIN, &["-p", proto, "-j", chain]));
            }
            return rules;
        }
        let to = fallback.to_string();
        for proto in ["udp", "tcp"] {
            rules.push(rule(
                "nat",
                CHAIN,
                &["-p", proto, "-j", "DNAT", "--to-destination", &to],
            ));
        }
        rules
    }

    /// The nftables table of `phase`, as one `nft -f` script that replaces
    /// the table atomically.
    pub fn nftables(&self, phase: Phase) -> String {
        let port = self.port;
        let mut s = String::new();
        // Declaring then deleting makes the script work whether or not the table exists.
        let _ = writeln!(s, "table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}");
        let _ = writeln!(s, "table inet {NFT_TABLE} {{");
        let set = |v6: bool| {
            let list: Vec<String> = self
                .local
                .iter()
                .filter(|a| a.is_ipv6() == v6)
                .map(IpAddr::to_string)
                .collect();
            (!list.is_empty()).then(|| format!("{{ {} }}", list.join(", ")))
        };
        let families: Vec<(&str, String)> = [(false, "ip"), (true, "ip6")]
            .into_iter()
            .filter_map(|(v6, family)| set(v6).map(|addrs| (family, addrs)))
            .collect();
        if phase == Phase::Absent {
            self.nft_nat(&mut s, phase, &families);
            let _ = writeln!(s, "}}");
            return s;
        }
        let _ = writeln!(
            s,
            "  chain raw_prerouting {{\n    type filter hook prerouting priority raw; policy accept;"
        );
        if phase == Phase::Serving {
            for (family, addrs) in &families {
                let _ = writeln!(
                    s,
                    "    {family} daddr {addrs} meta l4proto {{ udp, tcp }} th dport {port} socket wildcard 0 notrack"
                );
            }
        }
        let _ = writeln!(s, "  }}");
        let _ = writeln!(
            s,
            "  chain raw_output {{\n    type filter hook output priority raw; policy accept;"
        );
        for (family, addrs) in &families {
            let _ = writeln!(
                s,
                "    {family} saddr {addrs} meta l4proto {{ udp, tcp }} th sport {port} notrack"
            );
            let _ = writeln!(
                s,
                "    {family} daddr {addrs} meta l4proto {{ udp, tcp }} th dport {port} notrack"
            );
            if let Some(health) = self.health_port {
                let _ = writeln!(s, "    {family} daddr {addrs} tcp dport {health} notrack");
                let _ = writeln!(s, "    {family} saddr {addrs} tcp sport {health} notrack");
            }
        }
        let _ = writeln!(s, "  }}");
        self.nft_nat(&mut s, phase, &families);
        let _ = writeln!(s, "}}");
        s
    }

    /// The nat chain of the nftables table: the fallback.
    fn nft_nat(&self, s: &mut String, phase: Phase, families: &[(&str, String)]) {
        let Some(fallback) = self.fallback else {
            return;
        };
        let port = self.port;
        let family = if fallback.is_ipv6() { "ip6" } else { "ip" };
        let _ = writeln!(
            s,
            "  chain nat_prerouting {{\n    type nat hook prerouting priority dstnat - 10; policy accept;"
        );
        if let Some((_, addrs)) = families.iter().find(|(f, _)| *f == family) {
            let rule =
                format!("{family} daddr {addrs} meta l4proto {{ udp, tcp }} th dport {port}");
            if phase == Phase::Serving {
                let _ = writeln!(s, "    {rule} socket wildcard 0 return");
            }
            let _ = writeln!(s, "    {rule} dnat {family} to {fallback}");
        }
        let _ = writeln!(s, "  }}");
    }
}

/// Why rules could not be applied, checked or removed.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The tool could not be run at all.
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The binary.
        tool: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The tool refused a rule.
    #[error("{tool} {args}: {stderr}")]
    Refused {
        /// The binary.
        tool: String,
        /// Its arguments.
        args: String,
        /// What it said.
        stderr: String,
    },
}

/// Applies, checks and removes a [`Ruleset`] with one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firewall {
    /// Which tool.
    pub backend: Backend,
    /// What the rules are about.
    pub rules: Ruleset,
}

impl Firewall {
    /// Installs the rules of `phase`, replacing the other phase's; rules
    /// already present are left alone. Returns how many were added.
    pub fn apply(&self, phase: Phase) -> Result<usize, RulesError> {
        match self.backend {
            Backend::None => Ok(0),
            Backend::Nftables => {
                let missing = usize::from(!self.nft_present(phase)?);
                if missing > 0 {
                    nft_script(&self.rules.nftables(phase))?;
                }
                Ok(missing)
            }
            Backend::Iptables | Backend::IptablesLegacy => {
                let mut added = 0;
                for v6 in self.families() {
                    let tool = self.ipt_tool(v6);
                    let wanted = self.rules.iptables(phase, v6);
                    // Rules of the other phases that this one does not have go
                    // first, the nat chain's before the NOTRACK ones: with the
                    // NOTRACK rule gone but the socket RETURN still there, a
                    // query would get a conntrack entry without NAT, and its
                    // flow would keep going to the agent's socket after the
                    // hand-over until that closed (one query lost in CI).
                    let mut stale: Vec<IptRule> = Phase::ALL
                        .into_iter()
                        .filter(|p| *p != phase)
                        .flat_map(|p| self.rules.iptables(p, v6))
                        .filter(|rule| !wanted.contains(rule))
                        .collect();
                    stale.sort_by_key(|rule| rule.chain != CHAIN);
                    for rule in &stale {
                        ipt_delete_all(tool, rule)?;
                    }
                    added += ipt_ensure(tool, &wanted)?;
                }
                Ok(added)
            }
        }
    }

    /// Removes every rule of every phase, and our chain or table.
    pub fn remove(&self) -> Result<(), RulesError> {
        match self.backend {
            Backend::None => Ok(()),
            Backend::Nftables => nft_script(&format!(
                "table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n"
            )),
            Backend::Iptables | Backend::IptablesLegacy => {
                for v6 in self.families() {
                    let tool = self.ipt_tool(v6);
                    for phase in Phase::ALL {
                        for rule in self.rules.iptables(phase, v6) {
                            if rule.chain != CHAIN {
                                ipt_delete_all(tool, &rule)?;
                            }
                        }
                    }
                    // The chain may be absent; its flush and delete then fail harmlessly.
                    let _ = run(tool, &["-w", "-t", "nat", "-F", CHAIN]);
                    let _ = run(tool, &["-w", "-t", "nat", "-X", CHAIN]);
                }
                Ok(())
            }
        }
    }

    fn families(&self) -> Vec<bool> {
        let mut out = Vec::new();
        for v6 in [false, true] {
            if self.rules.local.iter().any(|a| a.is_ipv6() == v6) {
                out.push(v6);
            }
        }
        out
    }

    fn ipt_tool(&self, v6: bool) -> &'static str {
        match (self.backend, v6) {
            (Backend::IptablesLegacy, false) => "iptables-legacy",
            (Backend::IptablesLegacy, true) => "ip6tables-legacy",
            (_, false) => "iptables",
            (_, true) => "ip6tables",
        }
    }

    /// Whether our table holds exactly `phase`'s rules (compared as `nft`
    /// prints them would be fragile; the chains' rule counts and the
    /// presence of the socket match tell the phases apart).
    fn nft_present(&self, phase: Phase) -> Result<bool, RulesError> {
        let listing = match run("nft", &["list", "table", "inet", NFT_TABLE]) {
            Ok(out) => out,
            Err(RulesError::Refused { .. }) => return Ok(false),
            Err(error) => return Err(error),
        };
        let wanted = self.rules.nftables(phase);
        let rules_of = |text: &str| {
            text.lines()
                .map(str::trim)
                .filter(|l| l.contains("notrack") || l.contains("dnat") || l.contains("return"))
                .count()
        };
        let serving = listing.contains("socket wildcard 0");
        Ok(rules_of(&listing) == rules_of(&wanted) && serving == (phase == Phase::Serving))
    }
}

/// Runs `tool args`, returning its standard output.
fn run(tool: &str, args: &[&str]) -> Result<String, RulesError> {
    let output = Command::new(tool)
        .args(args)
        .output()
        .map_err(|source| RulesError::Spawn {
            tool: tool.to_string(),
            source,
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(RulesError::Refused {
            tool: tool.to_string(),
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Feeds `script` to `nft -f -`.
fn nft_script(script: &str) -> Result<(), RulesError> {
    use std::io::Write as _;
    let spawn_error = |source| RulesError::Spawn {
        tool: "nft".into(),
        source,
    };
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).map_err(spawn_error)?;
    }
    let output = child.wait_with_output().map_err(spawn_error)?;
    if output.status.success() {
        return Ok(());
    }
    Err(RulesError::Refused {
        tool: "nft".into(),
        args: "-f -".into(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

fn ipt_args<'a>(op: &'a str, rule: &'a IptRule) -> Vec<&'a str> {
    let mut args = vec!["-w", "-t", rule.table, op, rule.chain];
    args.extend(rule.args.iter().map(String::as_str));
    args
}

/// Whether `rule` is present (`-C`).
fn ipt_check(tool: &str, rule: &IptRule) -> Result<bool, RulesError> {
    match run(tool, &ipt_args("-C", rule)) {
        Ok(_) => Ok(true),
        Err(RulesError::Refused { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Deletes every copy of `rule`.
fn ipt_delete_all(tool: &str, rule: &IptRule) -> Result<(), RulesError> {
    while ipt_check(tool, rule)? {
        run(tool, &ipt_args("-D", rule))?;
    }
    Ok(())
}

/// Adds what is missing of `rules`: built-in chain rules at the top of
/// their chain, [`CHAIN`]'s each at its place in the order given (one
/// insert each, never a flush, so the chain is never seen empty).
fn ipt_ensure(tool: &str, rules: &[IptRule]) -> Result<usize, RulesError> {
    let mut added = 0;
    let ours: Vec<&IptRule> = rules.iter().filter(|r| r.chain == CHAIN).collect();
    if !ours.is_empty() && chain_len(tool)?.is_none() {
        run(tool, &["-w", "-t", "nat", "-N", CHAIN])?;
    }
    for (i, rule) in ours.iter().enumerate() {
        if !ipt_check(tool, rule)? {
            let position = (i + 1).to_string();
            let mut args = vec!["-w", "-t", "nat", "-I", CHAIN, &position];
            args.extend(rule.args.iter().map(String::as_str));
            run(tool, &args)?;
            added += 1;
        }
    }
    for rule in rules.iter().filter(|r| r.chain != CHAIN) {
        if !ipt_check(tool, rule)? {
            let mut args = vec!["-w", "-t", rule.table, "-I", rule.chain, "1"];
            args.extend(rule.args.iter().map(String::as_str));
            run(tool, &args)?;
            added += 1;
        }
    }
    Ok(added)
}

/// Rules in [`CHAIN`] now (None when it does not exist).
fn chain_len(tool: &str) -> Result<Option<usize>, RulesError> {
    match run(tool, &["-w", "-t", "nat", "-S", CHAIN]) {
        Ok(listing) => Ok(Some(
            listing.lines().filter(|l| l.starts_with("-A ")).count(),
        )),
        Err(RulesError::Refused { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ruleset() -> Ruleset {
        Ruleset {
            local: vec![
                "169.254.20.10".parse().unwrap(),
                "10.96.0.10".parse().unwrap(),
            ],
            port: 53,
            health_port: Some(8080),
            fallback: Some("10.96.0.11:53".parse().unwrap()),
            fallback_chain: None,
        }
    }

    #[test]
    fn serving_rules_notrack_only_while_listening_and_fall_back_otherwise() {
        let rules = ruleset().iptables(Phase::Serving, false);
        let text: Vec<String> = rules
            .iter()
            .map(|r| format!("-t {} -A {} {}", r.table, r.chain, r.args.join(" ")))
            .collect();
        assert!(text.contains(&"-t raw -A PREROUTING -d 169.254.20.10 -p udp --dport 53 -m socket --nowildcard -j NOTRACK".to_string()), "{text:#?}");
        assert!(text
            .contains(&"-t raw -A OUTPUT -s 10.96.0.10 -p tcp --sport 53 -j NOTRACK".to_string()));
        assert!(text.contains(
            &"-t nat -A PREROUTING -d 169.254.20.10 -p tcp --dport 53 -j NODE-LOCAL-DNS"
                .to_string()
        ));
        let chain: Vec<&String> = text
            .iter()
            .filter(|t| t.contains("-A NODE-LOCAL-DNS"))
            .collect();
        assert_eq!(
            chain,
            [
                "-t nat -A NODE-LOCAL-DNS -m socket --nowildcard -j RETURN",
                "-t nat -A NODE-LOCAL-DNS -p udp -j DNAT --to-destination 10.96.0.11:53",
                "-t nat -A NODE-LOCAL-DNS -p tcp -j DNAT --to-destination 10.96.0.11:53",
            ]
        );
        assert!(ruleset().iptables(Phase::Serving, true).is_empty());
        let jump = Ruleset {
            fallback_chain: Some(FallbackChains {
                udp: "KUBE-SVC-TCOU7JCQXEZGVUNU".into(),
                tcp: "KUBE-SVC-ERIFXISQEP7F7OF4".into(),
            }),
            ..ruleset()
        };
        let rules = jump.iptables(Phase::Serving, false);
        let last: Vec<String> = rules[rules.len() - 2..]
            .iter()
            .map(|r| format!("{} {}", r.chain, r.args.join(" ")))
            .collect();
        assert_eq!(
            last,
            [
                format!("{CHAIN} -p udp -j KUBE-SVC-TCOU7JCQXEZGVUNU"),
                format!("{CHAIN} -p tcp -j KUBE-SVC-ERIFXISQEP7F7OF4"),
            ]
        );
    }

    #[test]
    fn handover_sends_every_new_query_to_the_fallback() {
        let rules = ruleset().iptables(Phase::Handover, false);
        assert!(!rules
            .iter()
            .any(|r| r.chain == "PREROUTING" && r.table == "raw"));
        assert!(!rules.iter().any(|r| r.args.contains(&"RETURN".to_string())));
        assert!(
            rules
                .iter()
                .any(|r| r.table == "raw" && r.chain == "OUTPUT"),
            "replies still untracked"
        );
        let nft = ruleset().nftables(Phase::Handover);
        assert!(!nft.contains("socket"), "{nft}");
        assert!(nft.contains("dnat ip to 10.96.0.11:53"), "{nft}");
    }

    #[test]
    fn without_an_agent_only_the_fallback_stays() {
        let rules = ruleset().iptables(Phase::Absent, false);
        assert!(rules.iter().all(|r| r.table == "nat"), "{rules:#?}");
        assert!(!rules.iter().any(|r| r.args.contains(&"RETURN".to_string())));
        assert_eq!(
            rules
                .iter()
                .filter(|r| r.args.contains(&"DNAT".to_string()))
                .count(),
            2
        );
        let nft = ruleset().nftables(Phase::Absent);
        assert!(!nft.contains("socket") && !nft.contains("notrack"), "{nft}");
        assert!(nft.contains("dnat ip to 10.96.0.11:53"), "{nft}");
    }

    #[test]
    fn nftables_table_is_replaced_as_a_whole() {
        let nft = ruleset().nftables(Phase::Serving);
        assert!(nft.starts_with("table inet node_local_dns\ndelete table inet node_local_dns\n"));
        assert!(nft.contains("ip daddr { 169.254.20.10, 10.96.0.10 } meta l4proto { udp, tcp } th dport 53 socket wildcard 0 notrack"), "{nft}");
        assert!(nft.contains("socket wildcard 0 return"), "{nft}");
        let none = Ruleset {
            fallback: None,
            ..ruleset()
        };
        assert!(!none.nftables(Phase::Serving).contains("nat_prerouting"));
    }

    #[test]
    fn backend_names_round_trip() {
        for b in [
            Backend::Iptables,
            Backend::IptablesLegacy,
            Backend::Nftables,
            Backend::None,
        ] {
            assert_eq!(Backend::parse(b.as_str()), Some(b));
        }
        assert_eq!(Backend::parse("ipvs"), None);
    }
}
