//! `access-control:`: who may use the resolver. Never an open resolver: anything
//! not allowed is REFUSED.

use std::net::IpAddr;

use common::acl::Acl;
use ipnet::IpNet;

use crate::config::{AccessAction, AccessRule};

/// Netblocks allowed when the config has no access-control line at all:
/// loopback and the private ranges a cluster or event LAN uses.
const DEFAULT_ALLOWED: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// Always allowed unless a rule says otherwise (Unbound's own default).
const LOOPBACK: &[&str] = &["127.0.0.0/8", "::1/128"];

/// The access table.
#[derive(Clone, Debug)]
pub struct Access {
    acl: Acl<AccessAction>,
}

impl Access {
    /// With no `access-control:` lines: refuse all but loopback and the private
    /// ranges. With any: Unbound's defaults exactly (refuse all but loopback),
    /// then the rules, so an operator's list means what it says.
    pub fn new(rules: &[AccessRule]) -> Self {
        let mut acl = Acl::new();
        for default in ["0.0.0.0/0", "::/0"] {
            if let Ok(net) = default.parse::<IpNet>() {
                acl.insert(net, AccessAction::Refuse);
            }
        }
        let allowed_by_default: &[&str] = if rules.is_empty() {
            DEFAULT_ALLOWED
        } else {
            LOOPBACK
        };
        for allowed in allowed_by_default {
            if let Ok(net) = allowed.parse::<IpNet>() {
                acl.insert(net, AccessAction::Allow);
            }
        }
        for rule in rules {
            acl.insert(rule.net, rule.action);
        }
        Self { acl }
    }

    /// The action for a client address.
    pub fn action(&self, ip: IpAddr) -> AccessAction {
        self.acl.lookup(ip).unwrap_or(AccessAction::Refuse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_rules_private_ranges_are_allowed() {
        let access = Access::new(&[]);
        assert_eq!(
            access.action("10.1.2.3".parse().unwrap()),
            AccessAction::Allow
        );
        assert_eq!(
            access.action("172.16.0.1".parse().unwrap()),
            AccessAction::Allow
        );
        assert_eq!(
            access.action("fd00::1".parse().unwrap()),
            AccessAction::Allow
        );
        assert_eq!(
            access.action("8.8.8.8".parse().unwrap()),
            AccessAction::Refuse
        );
    }

    #[test]
    fn explicit_rules_replace_the_private_defaults() {
        let access = Access::new(&[
            AccessRule {
                net: "10.0.0.0/8".parse().unwrap(),
                action: AccessAction::Allow,
            },
            AccessRule {
                net: "0.0.0.0/0".parse().unwrap(),
                action: AccessAction::Refuse,
            },
        ]);
        assert_eq!(
            access.action("10.1.2.3".parse().unwrap()),
            AccessAction::Allow
        );
        assert_eq!(
            access.action("172.16.0.1".parse().unwrap()),
            AccessAction::Refuse
        );
        assert_eq!(
            access.action("100.64.1.1".parse().unwrap()),
            AccessAction::Refuse
        );
        assert_eq!(
            access.action("127.0.0.1".parse().unwrap()),
            AccessAction::Allow
        );
    }

    #[test]
    fn public_addresses_are_refused_by_default_and_rules_override() {
        let access = Access::new(&[
            AccessRule {
                net: "192.168.1.0/24".parse().unwrap(),
                action: AccessAction::Deny,
            },
            AccessRule {
                net: "203.0.113.0/24".parse().unwrap(),
                action: AccessAction::Allow,
            },
        ]);
        assert_eq!(
            access.action("8.8.8.8".parse().unwrap()),
            AccessAction::Refuse
        );
        assert_eq!(
            access.action("2001:db8::1".parse().unwrap()),
            AccessAction::Refuse
        );
        assert_eq!(
            access.action("127.0.0.1".parse().unwrap()),
            AccessAction::Allow
        );
        assert_eq!(
            access.action("10.1.2.3".parse().unwrap()),
            AccessAction::Refuse
        );
        assert_eq!(
            access.action("192.168.1.7".parse().unwrap()),
            AccessAction::Deny
        );
        assert_eq!(
            access.action("192.168.2.7".parse().unwrap()),
            AccessAction::Refuse
        );
        assert_eq!(
            access.action("203.0.113.9".parse().unwrap()),
            AccessAction::Allow
        );
    }
}
