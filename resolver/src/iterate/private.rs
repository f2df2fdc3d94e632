//! DNS-rebinding protection: Unbound's `private-address` and `private-domain`
//! (iterator/iter_priv.c, applied by iter_scrub.c `scrub_sanitize`).
//!
//! Every reply from an upstream server (authoritative, stub or forwarder alike:
//! Unbound's scrubber exempts none) loses the A and AAAA records whose address
//! lies in a `private-address` netblock, in every section, unless the RRset's
//! owner is at or below a `private-domain`. An RRset that loses every record is
//! removed with its signatures; one that keeps some keeps them (a validator would
//! then find the signature broken, as Unbound's manual says). The reply is not
//! turned into SERVFAIL ("do not set servfail since this leads to too many drops
//! of other people using rfc1918 space"): a stripped answer reads as NOERROR
//! with no data. Local data never passes through here, so it may hold any address.
//!
//! Families are matched separately, as Unbound's address tree does:
//! `::ffff:10.0.0.1` is private only if an IPv6 netblock such as `::ffff:0:0/96`
//! is listed.

use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use ipnet::IpNet;

use crate::dnssec::rrsig_covered;

/// The configured private netblocks and the names allowed to hold them.
#[derive(Clone, Debug, Default)]
pub struct PrivateAddresses {
    nets: Vec<IpNet>,
    domains: Vec<Name>,
}

/// What [`PrivateAddresses::scrub`] removed from one reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scrubbed {
    /// A/AAAA records removed from the answer section.
    pub answers: usize,
    /// A/AAAA records removed from the authority and additional sections.
    pub others: usize,
}

impl PrivateAddresses {
    /// `private-address` netblocks and `private-domain` names from the config.
    pub fn new(nets: Vec<IpNet>, domains: Vec<Name>) -> Self {
        Self { nets, domains }
    }

    /// Whether nothing is filtered (iter_priv.c: "there are no blocked
    /// addresses"; private-domain alone does nothing).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether the address of `record` (an A or AAAA) must not be returned for
    /// its owner name.
    fn is_bad(&self, record: &Record) -> bool {
        let ip = match &record.data {
            RData::A(a) => std::net::IpAddr::V4(a.0),
            RData::AAAA(aaaa) => std::net::IpAddr::V6(aaaa.0),
            _ => return false,
        };
        if !self.nets.iter().any(|net| net.contains(&ip)) {
            return false;
        }
        // iter_priv.c priv_lookup_name: the private-domain tree holds class IN names.
        let allowed = record.dns_class == DNSClass::IN
            && self
                .domains
                .iter()
                .any(|domain| domain.zone_of(&record.name));
        !allowed
    }

    /// Removes private addresses of public names from every section of `reply`.
    pub fn scrub(&self, reply: &mut Message) -> Scrubbed {
        if self.is_empty() {
            return Scrubbed::default();
        }
        Scrubbed {
            answers: self.scrub_section(&mut reply.answers),
            others: self.scrub_section(&mut reply.authorities)
                + self.scrub_section(&mut reply.additionals),
        }
    }

    /// Filters one section; returns how many address records went.
    fn scrub_section(&self, section: &mut Vec<Record>) -> usize {
        let mut emptied: Vec<(Name, RecordType)> = Vec::new();
        let mut removed = 0;
        section.retain(|record| {
            if self.is_bad(record) {
                removed += 1;
                let key = (record.name.clone(), record.record_type());
                if !emptied.contains(&key) {
                    emptied.push(key);
                }
                return false;
            }
            true
        });
        if removed == 0 {
            return 0;
        }
        // An RRset is removed whole only when none of its records is left; its
        // RRSIGs go with it (they hang off the RRset in Unbound's parse).
        emptied.retain(|(owner, rtype)| {
            !section
                .iter()
                .any(|r| r.name == *owner && r.record_type() == *rtype)
        });
        section.retain(|record| {
            !rrsig_covered(record).is_some_and(|covered| {
                emptied
                    .iter()
                    .any(|(owner, rtype)| *owner == record.name && *rtype == covered)
            })
        });
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, AAAA, NULL, TXT};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn a(owner: &str, ip: &str) -> Record {
        Record::from_rdata(name(owner), 300, RData::A(A(ip.parse().unwrap())))
    }

    fn aaaa(owner: &str, ip: &str) -> Record {
        Record::from_rdata(name(owner), 300, RData::AAAA(AAAA(ip.parse().unwrap())))
    }

    fn rrsig(owner: &str, covered: RecordType) -> Record {
        let mut rdata = u16::from(covered).to_be_bytes().to_vec();
        rdata.extend([13, 3, 0, 0, 1, 44]);
        Record::from_rdata(
            name(owner),
            300,
            RData::Unknown {
                code: RecordType::RRSIG,
                rdata: NULL::with(rdata),
            },
        )
    }

    fn rfc1918() -> PrivateAddresses {
        PrivateAddresses::new(
            ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8", "fe80::/10"]
                .iter()
                .map(|n| n.parse().unwrap())
                .collect(),
            vec![name("corp.example.")],
        )
    }

    fn reply(answers: Vec<Record>) -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.answers = answers;
        m
    }

    fn ips(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| match &r.data {
                RData::A(a) => a.0.to_string(),
                RData::AAAA(a) => a.0.to_string(),
                other => other.record_type().to_string(),
            })
            .collect()
    }

    #[test]
    fn private_records_go_public_ones_stay() {
        let mut m = reply(vec![
            a("www.example.com.", "10.1.2.3"),
            a("www.example.com.", "192.0.2.1"),
            aaaa("www.example.com.", "fd12::1"),
            aaaa("www.example.com.", "2001:db8::1"),
        ]);
        let scrubbed = rfc1918().scrub(&mut m);
        assert_eq!(
            scrubbed,
            Scrubbed {
                answers: 2,
                others: 0
            }
        );
        assert_eq!(ips(&m.answers), ["192.0.2.1", "2001:db8::1"]);
    }

    #[test]
    fn an_rrset_left_empty_goes_with_its_signatures() {
        let mut m = reply(vec![
            a("rebind.example.com.", "192.168.1.1"),
            rrsig("rebind.example.com.", RecordType::A),
            a("mixed.example.com.", "192.168.1.1"),
            a("mixed.example.com.", "192.0.2.7"),
            rrsig("mixed.example.com.", RecordType::A),
            Record::from_rdata(
                name("rebind.example.com."),
                300,
                RData::TXT(TXT::new(vec!["kept".into()])),
            ),
        ]);
        rfc1918().scrub(&mut m);
        assert_eq!(ips(&m.answers), ["192.0.2.7", "RRSIG", "TXT"]);
        assert_eq!(m.answers[1].name, name("mixed.example.com."));
    }

    #[test]
    fn private_domain_and_its_subdomains_may_hold_private_addresses() {
        let mut m = reply(vec![
            a("corp.example.", "10.0.0.1"),
            a("db.CORP.example.", "10.0.0.2"),
            a("notcorp.example.", "10.0.0.3"),
        ]);
        rfc1918().scrub(&mut m);
        assert_eq!(ips(&m.answers), ["10.0.0.1", "10.0.0.2"]);
    }

    #[test]
    fn every_section_is_scrubbed() {
        let mut m = reply(Vec::new());
        m.authorities.push(a("ns.example.com.", "10.9.9.9"));
        m.additionals.push(a("ns.example.com.", "10.9.9.9"));
        m.additionals.push(aaaa("ns.example.com.", "fe80::1"));
        m.additionals.push(a("ns2.example.com.", "198.51.100.2"));
        let scrubbed = rfc1918().scrub(&mut m);
        assert_eq!(
            scrubbed,
            Scrubbed {
                answers: 0,
                others: 3
            }
        );
        assert!(m.authorities.is_empty());
        assert_eq!(ips(&m.additionals), ["198.51.100.2"]);
    }

    #[test]
    fn families_are_matched_separately() {
        let mut m = reply(vec![aaaa("x.example.com.", "::ffff:10.0.0.1")]);
        assert_eq!(rfc1918().scrub(&mut m).answers, 0);
        let mapped = PrivateAddresses::new(vec!["::ffff:0:0/96".parse().unwrap()], Vec::new());
        assert_eq!(mapped.scrub(&mut m).answers, 1);
    }

    #[test]
    fn private_domain_alone_filters_nothing() {
        let only_domain = PrivateAddresses::new(Vec::new(), vec![name("example.com.")]);
        assert!(only_domain.is_empty());
        let mut m = reply(vec![a("www.example.com.", "10.0.0.1")]);
        assert_eq!(only_domain.scrub(&mut m), Scrubbed::default());
        assert_eq!(m.answers.len(), 1);
    }
}
