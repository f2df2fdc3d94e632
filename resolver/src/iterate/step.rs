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
                return (is_proof_type(r.record_type()) && !nsec_overreaches(r, zone))
                    .then(|| r.clone());
            }
            match rrsig_covered(r) {
                Some(RecordType::NSEC3) => Some(r.clone()),
                // The signature goes with its NSEC, or with it when dropped.
                Some(RecordType::NSEC) => reply
                    .authorities
                    .iter()
                    .any(|n| {
                        n.record_type() == RecordType::NSEC
                            && n.name == r.name
                            && !nsec_overreaches(n, zone)
                    })
                    .then(|| r.clone()),
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

/// Unbound's sanitize_nsec_is_overreach: an NSEC whose next name lies
/// outside the zone of the server that sent it (or cannot be read) claims
/// that names in another zone do not exist; it is dropped, so no denial
/// (aggressive NSEC included) rests on it.
fn nsec_overreaches(record: &Record, zone: &Name) -> bool {
    record.record_type() == RecordType::NSEC
        && !leading_name(record).is_some_and(|next| zone.zone_of(&next))
}

/// The target of a DNAME record (hickory keeps DNAME rdata as raw bytes).
pub fn dname_target(record: &Record) -> Option<Name> {
    leading_name(record)
}

/// The name that opens the RDATA of a record hickory keeps as raw bytes
/// (a DNAME's target, an NSEC's next owner name).
fn leading_name(record: &Record) -> Option<Name> {
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
mod tests;
