//! CIDR → action table with longest-prefix match, consulted once per packet
//! (resolver `access-control:`, lb ACL).
//!
//! HOT PATH: [`Acl::lookup`] does not allocate. Per address family the table keeps only
//! the prefix lengths actually present, longest first, each a `HashMap` from masked
//! address to action; a lookup masks the address once per present length and stops at
//! the first hit, which is the longest matching prefix. A typical table has a handful
//! of distinct lengths (`/0`, `/8`, `/16`, `/24`, `/32`), so that is a handful of probes.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for
//! an IPv4 client) are matched as IPv4, and a rule written for the mapped range
//! (`::ffff:10.0.0.0/104`) is stored as the IPv4 rule it means (`10.0.0.0/8`), as
//! Unbound does.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A longest-prefix-match table from networks to actions.
#[derive(Clone, Debug)]
pub struct Acl<A: Copy> {
    v4: Family<u32, A>,
    v6: Family<u128, A>,
}

/// The rules of one address family, grouped by prefix length, longest first.
#[derive(Clone, Debug)]
struct Family<K, A> {
    levels: Vec<Level<K, A>>,
}

#[derive(Clone, Debug)]
struct Level<K, A> {
    prefix_len: u8,
    mask: K,
    rules: HashMap<K, A>,
}

impl<A: Copy> Default for Acl<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Copy> Acl<A> {
    /// An empty table: every lookup is `None`.
    pub fn new() -> Self {
        Self {
            v4: Family { levels: Vec::new() },
            v6: Family { levels: Vec::new() },
        }
    }

    /// Adds a rule. Host bits are masked (`10.1.2.3/8` is `10.0.0.0/8`); inserting the
    /// same network again replaces its action. A network inside `::ffff:0:0/96` with a
    /// prefix of at least 96 is stored as the IPv4 network it maps.
    pub fn insert(&mut self, net: IpNet, action: A) {
        match net {
            IpNet::V4(net) => self.insert_v4(net, action),
            IpNet::V6(net) => match mapped_v4_net(net) {
                Some(v4) => self.insert_v4(v4, action),
                None => {
                    let len = net.prefix_len();
                    let mask = mask_v6(len);
                    self.v6
                        .insert(len, mask, u128::from(net.addr()) & mask, action);
                }
            },
        }
    }

    fn insert_v4(&mut self, net: Ipv4Net, action: A) {
        let len = net.prefix_len();
        let mask = mask_v4(len);
        self.v4
            .insert(len, mask, u32::from(net.addr()) & mask, action);
    }

    /// The action of the longest prefix containing `ip`, if any. IPv4-mapped IPv6
    /// addresses are looked up as IPv4.
    ///
    /// HOT PATH: no allocation; one hash probe per distinct prefix length present.
    pub fn lookup(&self, ip: IpAddr) -> Option<A> {
        match ip {
            IpAddr::V4(v4) => self.lookup_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.lookup_v4(v4),
                None => self.v6.lookup(u128::from(v6)),
            },
        }
    }

    fn lookup_v4(&self, ip: Ipv4Addr) -> Option<A> {
        self.v4.lookup(u32::from(ip))
    }

    /// Number of rules (after replacement and masking).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when the table has no rules.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K, A> Family<K, A>
where
    K: Copy + Eq + std::hash::Hash + std::ops::BitAnd<Output = K>,
    A: Copy,
{
    fn insert(&mut self, prefix_len: u8, mask: K, key: K, action: A) {
        // Levels are sorted by prefix length, descending.
        match self
            .levels
            .binary_search_by(|level| prefix_len.cmp(&level.prefix_len))
        {
            Ok(i) => {
                self.levels[i].rules.insert(key, action);
            }
            Err(i) => {
                let rules = HashMap::from([(key, action)]);
                self.levels.insert(
                    i,
                    Level {
                        prefix_len,
                        mask,
                        rules,
                    },
                );
            }
        }
    }

    fn lookup(&self, addr: K) -> Option<A> {
        self.levels
            .iter()
            .find_map(|level| level.rules.get(&(addr & level.mask)).copied())
    }

    fn len(&self) -> usize {
        self.levels.iter().map(|level| level.rules.len()).sum()
    }
}

fn mask_v4(prefix_len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix_len.min(32)))
        .unwrap_or(0)
}

fn mask_v6(prefix_len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix_len.min(128)))
        .unwrap_or(0)
}

/// `::ffff:a.b.c.d/n` with `n >= 96` as the IPv4 network `a.b.c.d/(n - 96)`.
fn mapped_v4_net(net: Ipv6Net) -> Option<Ipv4Net> {
    let len = net.prefix_len().checked_sub(96)?;
    let addr: Ipv6Addr = net.addr();
    let v4 = addr.to_ipv4_mapped()?;
    Ipv4Net::new(v4, len).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Action {
        Allow,
        Refuse,
        Deny,
    }
    use Action::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn empty_table_matches_nothing() {
        let acl: Acl<Action> = Acl::new();
        assert!(acl.is_empty());
        assert_eq!(acl.len(), 0);
        assert_eq!(acl.lookup(ip("10.0.0.1")), None);
        assert_eq!(acl.lookup(ip("::1")), None);
    }

    #[test]
    fn longest_prefix_wins_regardless_of_insert_order() {
        let mut acl = Acl::new();
        acl.insert(net("10.1.2.0/24"), Deny);
        acl.insert(net("10.0.0.0/8"), Allow);
        acl.insert(net("10.1.0.0/16"), Refuse);
        acl.insert(net("10.1.2.3/32"), Allow);
        assert_eq!(acl.lookup(ip("10.9.9.9")), Some(Allow));
        assert_eq!(acl.lookup(ip("10.1.9.9")), Some(Refuse));
        assert_eq!(acl.lookup(ip("10.1.2.9")), Some(Deny));
        assert_eq!(acl.lookup(ip("10.1.2.3")), Some(Allow));
        assert_eq!(acl.lookup(ip("11.0.0.1")), None);
        assert_eq!(acl.len(), 4);
    }

    #[test]
    fn same_net_replaces() {
        let mut acl = Acl::new();
        acl.insert(net("192.168.0.0/16"), Refuse);
        acl.insert(net("192.168.0.0/16"), Allow);
        assert_eq!(acl.lookup(ip("192.168.3.4")), Some(Allow));
        assert_eq!(acl.len(), 1);
    }

    #[test]
    fn host_bits_are_masked() {
        let mut acl = Acl::new();
        acl.insert(net("10.1.2.3/8"), Refuse);
        acl.insert(net("10.0.0.0/8"), Allow);
        assert_eq!(acl.len(), 1, "10.1.2.3/8 and 10.0.0.0/8 are the same rule");
        assert_eq!(acl.lookup(ip("10.200.0.1")), Some(Allow));
        acl.insert(net("2001:db8::1/32"), Deny);
        assert_eq!(acl.lookup(ip("2001:db8:ffff::9")), Some(Deny));
        assert_eq!(acl.len(), 2);
    }

    #[test]
    fn slash_zero_is_the_default_per_family() {
        let mut acl = Acl::new();
        acl.insert(net("0.0.0.0/0"), Refuse);
        acl.insert(net("::/0"), Deny);
        acl.insert(net("127.0.0.0/8"), Allow);
        acl.insert(net("::1/128"), Allow);
        assert_eq!(acl.lookup(ip("8.8.8.8")), Some(Refuse));
        assert_eq!(acl.lookup(ip("127.0.0.1")), Some(Allow));
        assert_eq!(acl.lookup(ip("2001:db8::1")), Some(Deny));
        assert_eq!(acl.lookup(ip("::1")), Some(Allow));
        assert_eq!(acl.lookup(ip("::2")), Some(Deny));
    }

    #[test]
    fn families_are_separate() {
        let mut acl = Acl::new();
        acl.insert(net("0.0.0.0/0"), Allow);
        assert_eq!(acl.lookup(ip("2001:db8::1")), None);
        let mut acl = Acl::new();
        acl.insert(net("::/0"), Allow);
        assert_eq!(acl.lookup(ip("192.0.2.1")), None);
    }

    #[test]
    fn v6_longest_prefix() {
        let mut acl = Acl::new();
        acl.insert(net("fc00::/7"), Allow);
        acl.insert(net("fd00:1::/32"), Refuse);
        acl.insert(net("fd00:1:2:3::/64"), Deny);
        assert_eq!(acl.lookup(ip("fc12::1")), Some(Allow));
        assert_eq!(acl.lookup(ip("fd00:1:9::1")), Some(Refuse));
        assert_eq!(acl.lookup(ip("fd00:1:2:3::abcd")), Some(Deny));
        assert_eq!(acl.lookup(ip("fe80::1")), None);
    }

    #[test]
    fn mapped_addresses_match_as_v4() {
        let mut acl = Acl::new();
        acl.insert(net("10.0.0.0/8"), Allow);
        acl.insert(net("::/0"), Deny);
        assert_eq!(acl.lookup(ip("::ffff:10.1.2.3")), Some(Allow));
        assert_eq!(
            acl.lookup(ip("::ffff:11.1.2.3")),
            None,
            "mapped addresses do not fall back to ::/0"
        );
        // IPv4-compatible (deprecated, ::a.b.c.d) is not mapped: it stays IPv6.
        assert_eq!(acl.lookup(ip("::10.1.2.3")), Some(Deny));
    }

    #[test]
    fn rules_written_as_mapped_v6_are_v4_rules() {
        let mut acl = Acl::new();
        acl.insert(net("::ffff:192.168.0.0/112"), Allow);
        assert_eq!(acl.lookup(ip("192.168.7.7")), Some(Allow));
        assert_eq!(acl.lookup(ip("::ffff:192.168.7.7")), Some(Allow));
        acl.insert(net("192.168.0.0/16"), Refuse);
        assert_eq!(
            acl.len(),
            1,
            "the mapped rule and the v4 rule are the same rule"
        );
        assert_eq!(acl.lookup(ip("192.168.7.7")), Some(Refuse));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_v4(0), 0);
        assert_eq!(mask_v4(8), 0xff00_0000);
        assert_eq!(mask_v4(32), u32::MAX);
        assert_eq!(mask_v6(0), 0);
        assert_eq!(mask_v6(128), u128::MAX);
        assert_eq!(mask_v6(64), u128::MAX << 64);
    }
}
