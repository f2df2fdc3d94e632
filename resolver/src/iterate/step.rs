//! Classifies one upstream reply: outcomes are values, not errors.
//!
//! Every record accepted must be in the bailiwick of the zone the server was
//! asked as (its owner at or below that zone): an authority for example.com can
//! vouch for names under example.com and nothing else (poisoning defence,
//! RFC 5452 §6 and Unbound's scrubber).
//!
//! DNSSEC records are kept with what they prove (nothing is validated): the
//! RRSIGs of each accepted RRset, and the in-zone NSEC/NSEC3 records (with their
//! RRSIGs and the SOA's) of the authority section as `proof`.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::dnssec::{is_proof_type, rrsig_covered, signatures};

/// What a reply means for the question it answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The answer: the records of any in-zone CNAME/DNAME chain and the final RRset.
    Answer {
        /// Chain records then the answer RRset, each with its RRSIGs.
        records: Vec<Record>,
        /// Authority-section proofs (a wildcard answer's NSEC/NSEC3).
        proof: Vec<Record>,
    },
    /// A CNAME/DNAME chain that leaves the zone: resolve `target` next.
    Cname {
        /// Chain records so far.
        records: Vec<Record>,
        /// The name to resolve next.
        target: Name,
        /// Authority-section proofs (a wildcard CNAME's NSEC/NSEC3).
        proof: Vec<Record>,
    },
    /// A delegation to a child zone.
    Referral {
        /// The child zone.
        zone: Name,
        /// Its NS RRset.
        ns: Vec<Record>,
        /// In-bailiwick glue for the NS names.
        glue: Vec<Record>,
    },
    /// The name exists without data of that type.
    NoData {
        /// Chain records leading to the name.
        records: Vec<Record>,
        /// The SOA for negative caching, when given.
        soa: Option<Record>,
        /// The SOA's RRSIGs and the NSEC/NSEC3 records proving the denial.
        proof: Vec<Record>,
    },
    /// The name does not exist.
    NxDomain {
        /// Chain records leading to the name.
        records: Vec<Record>,
        /// The SOA for negative caching, when given.
        soa: Option<Record>,
        /// The SOA's RRSIGs and the NSEC/NSEC3 records proving the denial.
        proof: Vec<Record>,
    },
    /// The server is of no use for this zone.
    Lame(LameReason),
}

/// Why a server was judged lame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LameReason {
    /// It answered with this error rcode.
    Rcode(ResponseCode),
    /// A referral to the same zone (not authoritative) or upwards: NS records
    /// for the zone asked or an ancestor, no answer, no SOA. An authoritative
    /// server for the zone never points back up (Unbound's RESPONSE_TYPE_LAME,
    /// AA or not).
    UpwardReferral,
    /// No answer, no referral, no SOA, not authoritative, yet not entirely
    /// empty (records that prove nothing), or empty from a recursive server
    /// (RA, no AA, asked without RD): it answered from its cache, not as an
    /// authority (Unbound's REC_LAME).
    Empty,
}

impl Step {
    /// True when this is NODATA from an entirely empty NOERROR `reply` from a
    /// server for `zone` (nothing left once stray and out-of-zone records are
    /// dropped: no chain, no SOA, no authority records). Unbound asks another
    /// server before taking such a reply as the answer
    /// (EMPTY_NODATA_RETRY_COUNT), and caches it only briefly (NORR_TTL).
    pub fn is_empty_nodata(&self, reply: &Message, zone: &Name) -> bool {
        matches!(self, Step::NoData { records, soa: None, proof } if records.is_empty() && proof.is_empty())
            && is_empty(reply, zone)
    }
}

/// Classifies `reply` to (`qname`, `qtype`) from a server for `zone`.
/// `max_chain` bounds how many CNAME/DNAME links are followed inside one reply.
///
/// Answer records that are neither of the type asked nor a CNAME/DNAME on the
/// chain are dropped (Unbound's scrub_normalize) and the reply judged on what
/// is left: an authority that adds a stray AAAA to an A answer, or sends only
/// a stray TXT, still answers (NODATA), it is not lame.
pub fn classify(
    reply: &Message,
    zone: &Name,
    qname: &Name,
    qtype: RecordType,
    max_chain: u32,
) -> Step {
    let rcode = reply.metadata.response_code;
    if rcode != ResponseCode::NoError && rcode != ResponseCode::NXDomain {
        return Step::Lame(LameReason::Rcode(rcode));
    }
    let in_zone = |name: &Name| zone.zone_of(name);
    let answers: Vec<&Record> = reply
        .answers
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN)
        .collect();
    // An RRset asked for by type comes with its signatures; RRSIG and ANY
    // queries already match them.
    let signed = |owner: &Name, rtype: RecordType| -> Vec<Record> {
        if qtype == RecordType::ANY || rtype == RecordType::RRSIG {
            return Vec::new();
        }
        signatures(&reply.answers, owner, rtype).cloned().collect()
    };

    let mut chain: Vec<Record> = Vec::new();
    let mut name = qname.clone();
    let mut hops = 0;
    loop {
        if !in_zone(&name) {
            // The chain left the zone: nothing further from this server is trusted.
            return Step::Cname {
                records: chain,
                target: name,
                proof: proof(reply, zone, None),
            };
        }
        let rrset: Vec<Record> = answers
            .iter()
            .filter(|r| r.name == name && (r.record_type() == qtype || qtype == RecordType::ANY))
            .map(|r| (*r).clone())
            .collect();
        if !rrset.is_empty() {
            chain.extend(rrset);
            chain.extend(signed(&name, qtype));
            return Step::Answer {
                records: chain,
                proof: proof(reply, zone, None),
            };
        }
        if hops >= max_chain {
            return Step::Cname {
                records: chain,
                target: name,
                proof: proof(reply, zone, None),
            };
        }
        if let Some((dname, target)) = find_dname(&answers, &name, zone) {
            // RFC 6672 §3.1: synthesize the CNAME ourselves rather than trust the
            // server's (checked before CNAMEs, so a server-sent CNAME is ignored).
            // The synthesized CNAME is unsigned; validators accept it from the
            // signed DNAME (RFC 6672 §5.3.1).
            let mut synthesized = Record::from_rdata(
                name.clone(),
                dname.ttl,
                RData::CNAME(hickory_proto::rr::rdata::CNAME(target.clone())),
            );
            synthesized.dns_class = DNSClass::IN;
            chain.push(dname.clone());
            chain.extend(signed(&dname.name, RecordType::DNAME));
            chain.push(synthesized);
            name = target;
            hops += 1;
            continue;
        }
        if qtype != RecordType::CNAME {
            if let Some(cname) = answers
                .iter()
                .find(|r| r.name == name && r.record_type() == RecordType::CNAME)
            {
                if let RData::CNAME(target) = &cname.data {
                    chain.push((*cname).clone());
                    chain.extend(signed(&name, RecordType::CNAME));
                    name = target.0.clone();
                    hops += 1;
                    continue;
                }
            }
        }
        break;
    }

    let soa = reply
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA && in_zone(&r.name) && r.name.zone_of(&name))
        .cloned()
        .map(negative_soa);

    if rcode == ResponseCode::NXDomain {
        return Step::NxDomain {
            records: chain,
            proof: proof(reply, zone, soa.as_ref()),
            soa,
        };
    }
    if !chain.is_empty() && reply.answers.is_empty() {
        // Unreachable in practice (chain comes from answers); kept for clarity.
        return Step::Cname {
            records: chain,
            target: name,
            proof: Vec::new(),
        };
    }

    if chain.is_empty() && soa.is_none() && points_upward(reply, zone) {
        return Step::Lame(LameReason::UpwardReferral);
    }

    // A referral: NS for a zone strictly below ours that contains the name.
    let referral_zone = reply
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS)
        .map(|r| r.name.clone())
        .find(|owner| in_zone(owner) && owner.zone_of(&name));
    if chain.is_empty() {
        if let Some(child) = referral_zone.clone() {
            if child.num_labels() <= zone.num_labels() {
                if soa.is_none() && !reply.metadata.authoritative {
                    return Step::Lame(LameReason::UpwardReferral);
                }
            } else {
                let ns: Vec<Record> = reply
                    .authorities
                    .iter()
                    .filter(|r| r.record_type() == RecordType::NS && r.name == child)
                    .cloned()
                    .collect();
                let ns_names: Vec<Name> = ns
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::NS(n) => Some(n.0.clone()),
                        _ => None,
                    })
                    .collect();
                // harden-glue: only addresses for the NS names, and only within the
                // referring server's zone.
                let glue = reply
                    .additionals
                    .iter()
                    .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
                    .filter(|r| ns_names.contains(&r.name) && in_zone(&r.name))
                    .cloned()
                    .collect();
                return Step::Referral {
                    zone: child,
                    ns,
                    glue,
                };
            }
        }
    }

    if !chain.is_empty() {
        // A chain whose end has no data in this reply: NODATA only when the SOA
        // of the end's own zone proves it and no delegation covers the end (a
        // CNAME into a child zone must be followed there, as Unbound does).
        if soa.is_some() && referral_zone.is_none() {
            return Step::NoData {
                records: chain,
                proof: proof(reply, zone, soa.as_ref()),
                soa,
            };
        }
        return Step::Cname {
            records: chain,
            target: name,
            proof: proof(reply, zone, None),
        };
    }
    if soa.is_some() || reply.metadata.authoritative || is_empty(reply, zone) {
        return Step::NoData {
            records: chain,
            proof: proof(reply, zone, soa.as_ref()),
            soa,
        };
    }
    Step::Lame(LameReason::Empty)
}

/// NS records in the authority section for a proper ancestor of `zone` (the
/// root, a parent): the server sends us back up (iter_scrub.c keeps such an NS
/// set "for lame classification", iter_resptype.c then calls it LAME).
fn points_upward(reply: &Message, zone: &Name) -> bool {
    reply.authorities.iter().any(|r| {
        r.record_type() == RecordType::NS
            && r.dns_class == DNSClass::IN
            && r.name != *zone
            && r.name.zone_of(zone)
    })
}

/// No answer left and nothing in the zone's bailiwick in the authority
/// section (out-of-zone records are dropped, as Unbound's scrub_sanitize
/// does), unless a recursive server answered an iterative query from its
/// cache (RA without AA, RD not echoed: Unbound's REC_LAME).
fn is_empty(reply: &Message, zone: &Name) -> bool {
    let recursive = reply.metadata.recursion_available
        && !reply.metadata.authoritative
        && !reply.metadata.recursion_desired;
    !recursive
        && reply
            .authorities
            .iter()
            .all(|r| r.dns_class != DNSClass::IN || !zone.zone_of(&r.name))
}

/// The in-zone DNSSEC proofs of the authority section: NSEC/NSEC3 records with
/// their RRSIGs, and the RRSIGs of `soa` (their TTL capped to the SOA's
/// negative TTL, RFC 2308 §5, so the denial and its signature age together).
fn proof(reply: &Message, zone: &Name, soa: Option<&Record>) -> Vec<Record> {
    reply
        .authorities
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN && zone.zone_of(&r.name))
        .filter_map(|r| {
            if r.record_type() != RecordType::RRSIG {
                return is_proof_type(r.record_type()).then(|| r.clone());
            }
            match rrsig_covered(r) {
                Some(RecordType::NSEC | RecordType::NSEC3) => Some(r.clone()),
                Some(RecordType::SOA) => {
                    let soa = soa.filter(|soa| soa.name == r.name)?;
                    let mut sig = r.clone();
                    sig.ttl = sig.ttl.min(soa.ttl);
                    Some(sig)
                }
                _ => None,
            }
        })
        .collect()
}

/// A DNAME in `answers` owned by a proper ancestor of `name` inside `zone`, with
/// the name it maps `name` to.
fn find_dname<'a>(answers: &[&'a Record], name: &Name, zone: &Name) -> Option<(&'a Record, Name)> {
    answers
        .iter()
        .filter(|r| r.record_type() == RecordType::DNAME)
        .filter(|r| zone.zone_of(&r.name) && r.name.zone_of(name) && r.name != *name)
        .find_map(|r| {
            let target = dname_target(r)?;
            let keep = usize::from(name.num_labels().saturating_sub(r.name.num_labels()));
            let prefix: Vec<&[u8]> = name.iter().take(keep).collect();
            let full = Name::from_labels(prefix)
                .ok()?
                .append_domain(&target)
                .ok()?;
            Some((*r, full))
        })
}

/// The target of a DNAME record (hickory keeps DNAME rdata as raw bytes).
pub fn dname_target(record: &Record) -> Option<Name> {
    match &record.data {
        RData::Unknown { rdata, .. } => {
            use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
            let mut decoder = BinDecoder::new(&rdata.anything);
            Name::read(&mut decoder).ok()
        }
        _ => None,
    }
}

/// RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM.
pub fn negative_soa(mut soa: Record) -> Record {
    if let RData::SOA(data) = &soa.data {
        soa.ttl = soa.ttl.min(data.minimum);
    }
    soa
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn reply() -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.metadata.response_code = ResponseCode::NoError;
        m
    }

    fn a(owner: &str, ip: [u8; 4]) -> Record {
        Record::from_rdata(
            name(owner),
            300,
            RData::A(A::new(ip[0], ip[1], ip[2], ip[3])),
        )
    }

    #[test]
    fn referral_keeps_only_in_bailiwick_glue() {
        let mut m = reply();
        m.authorities.push(Record::from_rdata(
            name("example.com."),
            3600,
            RData::NS(NS(name("ns1.example.com."))),
        ));
        m.authorities.push(Record::from_rdata(
            name("example.com."),
            3600,
            RData::NS(NS(name("ns.attacker.net."))),
        ));
        m.additionals.push(a("ns1.example.com.", [127, 0, 0, 10]));
        m.additionals.push(a("ns.attacker.net.", [6, 6, 6, 6]));
        m.additionals.push(a("www.bank.com.", [6, 6, 6, 6]));
        let step = classify(
            &m,
            &name("com."),
            &name("www.example.com."),
            RecordType::A,
            11,
        );
        let Step::Referral { zone, ns, glue } = step else {
            panic!("{step:?}")
        };
        assert_eq!(zone, name("example.com."));
        assert_eq!(ns.len(), 2);
        assert_eq!(glue.len(), 1);
        assert_eq!(glue[0].name, name("ns1.example.com."));
    }

    #[test]
    fn out_of_bailiwick_answer_after_cname_is_not_trusted() {
        let mut m = reply();
        m.metadata.authoritative = true;
        m.answers.push(Record::from_rdata(
            name("chain.example.com."),
            300,
            RData::CNAME(CNAME(name("c1.example.net."))),
        ));
        m.answers.push(a("c1.example.net.", [6, 6, 6, 6]));
        let step = classify(
            &m,
            &name("example.com."),
            &name("chain.example.com."),
            RecordType::A,
            11,
        );
        let Step::Cname {
            records, target, ..
        } = step
        else {
            panic!("{step:?}")
        };
        assert_eq!(records.len(), 1);
        assert_eq!(target, name("c1.example.net."));
    }

    #[test]
    fn upward_referral_is_lame_and_error_rcodes_are_lame() {
        let mut m = reply();
        m.authorities.push(Record::from_rdata(
            Name::root(),
            3600,
            RData::NS(NS(name("a.root-servers.net."))),
        ));
        assert_eq!(
            classify(
                &m,
                &name("example.com."),
                &name("www.example.com."),
                RecordType::A,
                11
            ),
            Step::Lame(LameReason::UpwardReferral)
        );
        let mut refused = reply();
        refused.metadata.response_code = ResponseCode::Refused;
        assert_eq!(
            classify(
                &refused,
                &name("example.com."),
                &name("www.example.com."),
                RecordType::A,
                11
            ),
            Step::Lame(LameReason::Rcode(ResponseCode::Refused))
        );
    }

    fn classify_www(m: &Message) -> Step {
        classify(
            m,
            &name("example.com."),
            &name("www.example.com."),
            RecordType::A,
            11,
        )
    }

    fn ns(owner: &str, target: &str) -> Record {
        Record::from_rdata(name(owner), 3600, RData::NS(NS(name(target))))
    }

    #[test]
    fn authoritative_referral_to_the_root_or_a_parent_is_lame() {
        for owner in [".", "com."] {
            let mut m = reply();
            m.metadata.authoritative = true;
            m.authorities.push(ns(owner, "a.root-servers.net."));
            assert_eq!(
                classify_www(&m),
                Step::Lame(LameReason::UpwardReferral),
                "{owner}"
            );
        }
    }

    #[test]
    fn the_zones_own_ns_set_is_lame_without_aa_and_nodata_with_it() {
        let mut m = reply();
        m.authorities.push(ns("example.com.", "ns1.example.com."));
        assert_eq!(classify_www(&m), Step::Lame(LameReason::UpwardReferral));
        // iter_resptype.c: "an NS set for the zone we thought we were
        // contacting" from an authority is an answer (NODATA).
        m.metadata.authoritative = true;
        let step = classify_www(&m);
        assert!(matches!(step, Step::NoData { soa: None, .. }), "{step:?}");
        assert!(!step.is_empty_nodata(&m, &name("example.com.")));
    }

    #[test]
    fn stray_records_are_dropped_and_nothing_left_is_empty_nodata() {
        let stray = [
            Record::from_rdata(
                name("www.example.com."),
                300,
                RData::AAAA(hickory_proto::rr::rdata::AAAA::new(
                    0x2001, 0xdb8, 0, 0, 0, 0, 0, 1,
                )),
            ),
            Record::from_rdata(
                name("www.example.com."),
                300,
                RData::TXT(hickory_proto::rr::rdata::TXT::new(vec!["x".into()])),
            ),
        ];
        for aa in [true, false] {
            let mut m = reply();
            m.metadata.authoritative = aa;
            m.answers.extend(stray.iter().cloned());
            let step = classify_www(&m);
            assert!(
                step.is_empty_nodata(&m, &name("example.com.")),
                "AA={aa}: {step:?}"
            );

            m.answers.push(a("www.example.com.", [192, 0, 2, 1]));
            let Step::Answer { records, .. } = classify_www(&m) else {
                panic!("AA={aa}")
            };
            assert_eq!(records, [a("www.example.com.", [192, 0, 2, 1])]);
        }
    }

    #[test]
    fn empty_noerror_is_empty_nodata_unless_a_recursive_server_sent_it() {
        let zone = name("example.com.");
        let m = reply();
        assert!(classify_www(&m).is_empty_nodata(&m, &zone));
        let mut recursive = reply();
        recursive.metadata.recursion_available = true;
        assert_eq!(classify_www(&recursive), Step::Lame(LameReason::Empty));
        // Asked with RD (a forwarder), RA is what we asked for.
        recursive.metadata.recursion_desired = true;
        assert!(classify_www(&recursive).is_empty_nodata(&recursive, &zone));
    }

    #[test]
    fn cname_into_a_child_zone_is_followed_not_nodata() {
        let mut m = reply();
        m.metadata.authoritative = true;
        m.answers.push(Record::from_rdata(
            name("tosub.example.com."),
            300,
            RData::CNAME(CNAME(name("www.sub.example.com."))),
        ));
        m.authorities.push(Record::from_rdata(
            name("sub.example.com."),
            300,
            RData::NS(NS(name("ns.sub.example.com."))),
        ));
        let step = classify(
            &m,
            &name("example.com."),
            &name("tosub.example.com."),
            RecordType::A,
            11,
        );
        let Step::Cname {
            records, target, ..
        } = step
        else {
            panic!("{step:?}")
        };
        assert_eq!(records.len(), 1);
        assert_eq!(target, name("www.sub.example.com."));
    }

    fn rrsig(owner: &str, covered: RecordType, ttl: u32) -> Record {
        let mut rdata = u16::from(covered).to_be_bytes().to_vec();
        rdata.extend_from_slice(&[13, 3, 0, 0, 14, 16]);
        Record::from_rdata(
            name(owner),
            ttl,
            RData::Unknown {
                code: RecordType::RRSIG,
                rdata: hickory_proto::rr::rdata::NULL::with(rdata),
            },
        )
    }

    fn nsec(owner: &str) -> Record {
        Record::from_rdata(
            name(owner),
            300,
            RData::Unknown {
                code: RecordType::NSEC,
                rdata: hickory_proto::rr::rdata::NULL::with(vec![0, 0, 1, 0x40]),
            },
        )
    }

    #[test]
    fn signed_answers_keep_their_rrsigs_and_nothing_else() {
        let mut m = reply();
        m.metadata.authoritative = true;
        m.answers.push(Record::from_rdata(
            name("alias.example.com."),
            300,
            RData::CNAME(CNAME(name("www.example.com."))),
        ));
        m.answers
            .push(rrsig("alias.example.com.", RecordType::CNAME, 300));
        m.answers.push(a("www.example.com.", [192, 0, 2, 1]));
        m.answers
            .push(rrsig("www.example.com.", RecordType::A, 300));
        // Signatures of other RRsets are not the answer's.
        m.answers
            .push(rrsig("www.example.com.", RecordType::AAAA, 300));
        m.answers
            .push(rrsig("other.example.com.", RecordType::A, 300));
        // A wildcard answer's proof sits in the authority section.
        m.authorities.push(nsec("v.example.com."));
        m.authorities
            .push(rrsig("v.example.com.", RecordType::NSEC, 300));
        m.authorities.push(nsec("x.example.net."));
        let step = classify(
            &m,
            &name("example.com."),
            &name("alias.example.com."),
            RecordType::A,
            11,
        );
        let Step::Answer { records, proof } = step else {
            panic!("{step:?}")
        };
        let kinds: Vec<(String, RecordType, Option<RecordType>)> = records
            .iter()
            .map(|r| (r.name.to_ascii(), r.record_type(), rrsig_covered(r)))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("alias.example.com.".into(), RecordType::CNAME, None),
                (
                    "alias.example.com.".into(),
                    RecordType::RRSIG,
                    Some(RecordType::CNAME)
                ),
                ("www.example.com.".into(), RecordType::A, None),
                (
                    "www.example.com.".into(),
                    RecordType::RRSIG,
                    Some(RecordType::A)
                ),
            ]
        );
        assert_eq!(proof.len(), 2, "{proof:?}");
        assert!(proof.iter().all(|r| r.name == name("v.example.com.")));
    }

    #[test]
    fn signed_denials_keep_nsec_and_the_soa_signature_at_the_negative_ttl() {
        let mut m = reply();
        m.metadata.response_code = ResponseCode::NXDomain;
        m.metadata.authoritative = true;
        let soa = SOA::new(
            name("ns1.example.com."),
            name("host.example.com."),
            1,
            3600,
            600,
            86400,
            300,
        );
        m.authorities.push(Record::from_rdata(
            name("example.com."),
            3600,
            RData::SOA(soa),
        ));
        m.authorities
            .push(rrsig("example.com.", RecordType::SOA, 3600));
        m.authorities.push(nsec("mail.example.com."));
        m.authorities
            .push(rrsig("mail.example.com.", RecordType::NSEC, 300));
        m.authorities.push(nsec("example.com."));
        m.authorities
            .push(rrsig("example.com.", RecordType::NSEC, 300));
        let step = classify(
            &m,
            &name("example.com."),
            &name("nope.example.com."),
            RecordType::A,
            11,
        );
        let Step::NxDomain {
            soa: Some(soa),
            proof,
            ..
        } = step
        else {
            panic!("{step:?}")
        };
        assert_eq!(soa.ttl, 300);
        assert_eq!(proof.len(), 5, "{proof:?}");
        let soa_sig = proof
            .iter()
            .find(|r| rrsig_covered(r) == Some(RecordType::SOA))
            .expect("the SOA's RRSIG is kept");
        assert_eq!(soa_sig.ttl, 300, "aged with the denial");
    }

    #[test]
    fn nxdomain_takes_the_soa_minimum_as_ttl() {
        let mut m = reply();
        m.metadata.response_code = ResponseCode::NXDomain;
        m.metadata.authoritative = true;
        let soa = SOA::new(
            name("ns1.example.com."),
            name("host.example.com."),
            1,
            3600,
            600,
            86400,
            300,
        );
        m.authorities.push(Record::from_rdata(
            name("example.com."),
            3600,
            RData::SOA(soa),
        ));
        let step = classify(
            &m,
            &name("example.com."),
            &name("nope.example.com."),
            RecordType::A,
            11,
        );
        let Step::NxDomain { soa: Some(soa), .. } = step else {
            panic!("{step:?}")
        };
        assert_eq!(soa.ttl, 300);
    }
}
