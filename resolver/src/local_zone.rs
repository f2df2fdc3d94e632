//! `local-zone:` and `local-data:`, with Unbound's default local zones
//! (localhost, the loopback reverse zones, RFC 6761 names and the AS112
//! reverse zones of private ranges), so such queries never leave the resolver.

use std::collections::{HashMap, HashSet};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

use crate::config::default::AS112_ZONES;
use crate::config::{Config, LocalZone, LocalZoneType};

/// What local zones decide for a query.
#[derive(Clone, Debug, PartialEq)]
pub enum LocalAction {
    /// Answer with this.
    Answer {
        /// Response code.
        rcode: ResponseCode,
        /// Answer section.
        answers: Vec<Record>,
        /// Authority section (SOA for negative answers).
        authorities: Vec<Record>,
    },
    /// Answer REFUSED.
    Refuse,
    /// Drop the query.
    Drop,
    /// Not local: resolve normally.
    Resolve,
}

/// The local zone table.
#[derive(Clone, Debug, Default)]
pub struct LocalZones {
    zones: HashMap<Name, LocalZoneType>,
    data: HashMap<Name, Vec<Record>>,
    /// Every ancestor of a local-data owner (empty non-terminals answer NODATA).
    ancestors: HashSet<Name>,
    /// The top labels (lowercase) of the zones, and whether the root is one:
    /// a name under none of them is in no zone, found with one lookup
    /// instead of one per ancestor (most names resolved are).
    tops: HashSet<Vec<u8>>,
    has_root: bool,
}

const DEFAULT_SOA: &str = "10800 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 10800";

/// Unbound's default empty zones (services/localzone.c): the special-use
/// names of RFC 6761 / RFC 8375 / RFC 7686, then the AS112 reverse zones.
fn default_zone_names() -> impl Iterator<Item = &'static str> {
    ["home.arpa.", "onion.", "test.", "invalid."]
        .into_iter()
        .chain(AS112_ZONES.iter().copied())
}

fn parse_records(text: &str) -> Vec<Record> {
    Parser::new(text, None, Some(Name::root()))
        .parse()
        .map(|(_, sets)| {
            sets.values()
                .flat_map(|s| s.records_without_rrsigs().cloned().collect::<Vec<_>>())
                .collect()
        })
        .unwrap_or_default()
}

impl LocalZones {
    /// Builds the table: defaults (minus `nodefault` and zones the config sets
    /// itself), then the config's zones and data; data outside any zone gets an
    /// implicit transparent zone at its owner, as in Unbound.
    pub fn new(config: &Config) -> Self {
        let mut table = LocalZones::default();
        let configured: HashSet<Name> = config
            .local_zones
            .iter()
            .map(|z| z.name.to_lowercase())
            .collect();
        let blocked =
            |name: &Name| config.nodefault.iter().any(|n| n == name) || configured.contains(name);
        let mut defaults: Vec<(Name, LocalZoneType, String)> = Vec::new();
        let localhost = "localhost.";
        defaults.push((
            Name::from_ascii(localhost).unwrap_or_else(|_| Name::root()),
            LocalZoneType::Redirect,
            format!(
                "localhost. {DEFAULT_SOA}\nlocalhost. 10800 IN NS localhost.\nlocalhost. 10800 IN A 127.0.0.1\nlocalhost. 10800 IN AAAA ::1\n"
            ),
        ));
        defaults.push((
            Name::from_ascii("127.in-addr.arpa.").unwrap_or_else(|_| Name::root()),
            LocalZoneType::Static,
            format!("127.in-addr.arpa. {DEFAULT_SOA}\n127.in-addr.arpa. 10800 IN NS localhost.\n1.0.0.127.in-addr.arpa. 10800 IN PTR localhost.\n"),
        ));
        let v6_loopback =
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.";
        defaults.push((
            Name::from_ascii(v6_loopback).unwrap_or_else(|_| Name::root()),
            LocalZoneType::Static,
            format!("{v6_loopback} {DEFAULT_SOA}\n{v6_loopback} 10800 IN NS localhost.\n{v6_loopback} 10800 IN PTR localhost.\n"),
        ));
        for zone in default_zone_names() {
            if let Ok(name) = Name::from_ascii(zone) {
                defaults.push((
                    name,
                    LocalZoneType::Static,
                    format!("{zone} {DEFAULT_SOA}\n{zone} 10800 IN NS localhost.\n"),
                ));
            }
        }
        for (name, kind, data) in defaults {
            if blocked(&name) {
                continue;
            }
            table.insert_zone(name, kind);
            for record in parse_records(&data) {
                table.add_data(record);
            }
        }
        for LocalZone { name, kind } in &config.local_zones {
            table.insert_zone(name.to_lowercase(), *kind);
        }
        for record in &config.local_data {
            if table.zone_for(&record.name).is_none() {
                table.insert_zone(record.name.to_lowercase(), LocalZoneType::Transparent);
            }
            table.add_data(record.clone());
        }
        table
    }

    /// Adds (or replaces) a zone; `name` is lowercase.
    fn insert_zone(&mut self, name: Name, kind: LocalZoneType) {
        match name.iter().next_back() {
            Some(top) => {
                self.tops.insert(top.to_vec());
            }
            None => self.has_root = true,
        }
        self.zones.insert(name, kind);
    }

    /// False when no zone can contain `name` (see `tops`).
    fn may_contain(&self, name: &Name) -> bool {
        if self.has_root {
            return true;
        }
        let Some(top) = name.iter().next_back() else {
            return false;
        };
        let mut lower = [0u8; 63];
        let Some(label) = lower.get_mut(..top.len()) else {
            return true;
        };
        label.copy_from_slice(top);
        label.make_ascii_lowercase();
        self.tops.contains(&label[..])
    }

    fn add_data(&mut self, record: Record) {
        let owner = record.name.to_lowercase();
        let mut ancestor = owner.base_name();
        while !ancestor.is_root() {
            self.ancestors.insert(ancestor.clone());
            ancestor = ancestor.base_name();
        }
        self.data.entry(owner).or_default().push(record);
    }

    /// The deepest local zone containing `name`.
    fn zone_for(&self, name: &Name) -> Option<(Name, LocalZoneType)> {
        if !self.may_contain(name) {
            return None;
        }
        let mut candidate = name.clone();
        loop {
            if let Some(kind) = self.zones.get(&candidate) {
                return Some((candidate, *kind));
            }
            if candidate.is_root() {
                return None;
            }
            candidate = candidate.base_name();
        }
    }

    fn soa_of(&self, zone: &Name) -> Vec<Record> {
        self.data
            .get(zone)
            .map(|records| {
                records
                    .iter()
                    .filter(|r| r.record_type() == RecordType::SOA)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Decides what to do for (`qname`, `qtype`).
    pub fn lookup(&self, qname: &Name, qtype: RecordType) -> LocalAction {
        if self.zones.is_empty() {
            return LocalAction::Resolve;
        }
        let Some((zone, kind)) = self.zone_for(qname) else {
            return LocalAction::Resolve;
        };
        let negative = |rcode| LocalAction::Answer {
            rcode,
            answers: Vec::new(),
            authorities: self.soa_of(&zone),
        };
        match kind {
            LocalZoneType::AlwaysTransparent => return LocalAction::Resolve,
            LocalZoneType::AlwaysNxdomain => return negative(ResponseCode::NXDomain),
            LocalZoneType::AlwaysNodata => return negative(ResponseCode::NoError),
            LocalZoneType::AlwaysRefuse => return LocalAction::Refuse,
            LocalZoneType::AlwaysDeny => return LocalAction::Drop,
            _ => {}
        }
        let owner = if kind == LocalZoneType::Redirect {
            &zone
        } else {
            qname
        };
        if let Some(records) = self.data.get(owner) {
            let matching: Vec<Record> =
                records
                    .iter()
                    .filter(|r| r.record_type() == qtype || qtype == RecordType::ANY)
                    .chain(records.iter().filter(|r| {
                        r.record_type() == RecordType::CNAME && qtype != RecordType::CNAME
                    }))
                    .map(|r| {
                        let mut r = r.clone();
                        r.name = qname.clone();
                        r
                    })
                    .collect();
            if !matching.is_empty() {
                return LocalAction::Answer {
                    rcode: ResponseCode::NoError,
                    answers: matching,
                    authorities: Vec::new(),
                };
            }
            if kind == LocalZoneType::TypeTransparent {
                return LocalAction::Resolve;
            }
            return negative(ResponseCode::NoError);
        }
        match kind {
            LocalZoneType::Static | LocalZoneType::Redirect => {
                if *qname == zone || self.ancestors.contains(&qname.to_lowercase()) {
                    negative(ResponseCode::NoError)
                } else {
                    negative(ResponseCode::NXDomain)
                }
            }
            LocalZoneType::Refuse => LocalAction::Refuse,
            LocalZoneType::Deny | LocalZoneType::InformDeny => LocalAction::Drop,
            _ => LocalAction::Resolve,
        }
    }

    /// Whether `qname` falls under local data (for deny_non_local / refuse_non_local).
    pub fn has_data_for(&self, qname: &Name) -> bool {
        self.data.contains_key(&qname.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::RecordType;

    use super::{LocalAction, LocalZones};
    use crate::transport::mock::{config, name};

    fn rcode(zones: &LocalZones, qname: &str) -> Option<ResponseCode> {
        match zones.lookup(&name(qname), RecordType::A) {
            LocalAction::Answer { rcode, .. } => Some(rcode),
            LocalAction::Refuse => Some(ResponseCode::Refused),
            LocalAction::Drop | LocalAction::Resolve => None,
        }
    }

    /// The top-label shortcut finds zones whatever the case of the name, the
    /// default zones and nothing outside them; a root local zone covers all.
    #[test]
    fn zones_are_found_through_their_top_label_in_any_case() {
        let zones = LocalZones::new(&config("  local-zone: \"Corp.\" refuse\n"));
        assert_eq!(rcode(&zones, "www.CORP."), Some(ResponseCode::Refused));
        assert_eq!(rcode(&zones, "corp."), Some(ResponseCode::Refused));
        assert_eq!(rcode(&zones, "x.test."), Some(ResponseCode::NXDomain));
        assert_eq!(
            rcode(&zones, "4.3.2.10.IN-ADDR.ARPA."),
            Some(ResponseCode::NXDomain)
        );
        assert_eq!(rcode(&zones, "www.example.com."), None);
        assert_eq!(rcode(&zones, "corp.example.com."), None);

        let all = LocalZones::new(&config("  local-zone: \".\" refuse\n"));
        assert_eq!(rcode(&all, "www.example.com."), Some(ResponseCode::Refused));
    }
}
