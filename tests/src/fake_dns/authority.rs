//! The authoritative answer algorithm, written out so every branch is ours to control.
//!
//! RFC 1034 §4.3.2 ("Algorithm"), in the order this module applies it:
//! 1. "Search the available zones for the zone which is the nearest ancestor to
//!    QNAME": none → REFUSED (we are not a resolver).
//! 2. Walk down from the apex label by label:
//!    - "If a match would take us out of the authoritative data, we have a
//!      referral": a node below the apex owning NS → AA=0, the NS RRset in
//!      authority, glue A/AAAA in additional for NS names inside the zone only.
//!    - a DNAME on a proper ancestor (RFC 6672 §3.3) → the DNAME plus a CNAME
//!      synthesized from it, then keep going if the new name is in the zone.
//!    - "If the whole of QNAME is matched": the RRset of QTYPE → AA answer; else a
//!      CNAME (QTYPE ≠ CNAME) → the CNAME, restarting at its target when the target is
//!      in the zone; else NODATA (NOERROR, SOA in authority). An empty non-terminal
//!      is a node without data: NODATA.
//!    - "If the '*' label does not exist" below the closest encloser → NXDOMAIN with
//!      SOA; otherwise the wildcard's RRsets are synthesized with the owner set to QNAME.
//!
//! Negative answers carry the SOA with TTL `min(TTL, MINIMUM)` (RFC 2308 §3).
//!
//! In a signed zone, a query with DO gets what RFC 4035 §3.1 asks: the RRSIGs
//! of every authoritative RRset, the NSEC or NSEC3 records proving a denial
//! (for NSEC: the name's own NSEC for NODATA, the covering NSEC and the
//! wildcard's for NXDOMAIN; for NSEC3 the RFC 5155 §7.2 proofs) or a wildcard
//! expansion, and a referral's DS or the records proving it has none. A zone's
//! answer filter ([`Zone::set_filter`]) then alters the answer (DNSSEC faults).
//! Without DO none of these are sent unless asked for by type.

use std::collections::HashMap;
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use super::zone::{dname_target, Node, Zone};

/// Our advertised EDNS UDP payload size (the DNS Flag Day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;

/// Upper bound on CNAME/DNAME steps followed inside one answer.
const MAX_CHAIN: usize = 16;

/// The zones one server is authoritative for, keyed by lower-cased apex.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    zones: HashMap<LowerName, Arc<Zone>>,
}

/// What a zone says about one name, before it is written into a message.
enum Lookup<'z> {
    /// The RRset and its RRSIGs (owner already rewritten for wildcards).
    Answer(Vec<Record>),
    /// A CNAME (and its RRSIGs) at the name or synthesized from a wildcard
    /// CNAME, with its target.
    Cname(Vec<Record>, Name),
    /// DNAME on an ancestor: the DNAME record and the substituted name.
    Dname(Record, Name),
    /// Name too long after DNAME substitution (RFC 6672 §2.2: YXDOMAIN).
    DnameOverflow(Record),
    /// A zone cut below the apex.
    Referral(&'z [Record]),
    /// The name exists (or is an empty non-terminal) without this type.
    NoData,
    /// The name does not exist and no wildcard covers it.
    NxDomain,
}

impl Catalog {
    /// An empty catalog (every query is REFUSED).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a zone.
    pub fn insert(&mut self, zone: Arc<Zone>) {
        self.zones.insert(LowerName::new(zone.origin()), zone);
    }

    /// The zones served, in no particular order.
    pub fn zones(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values()
    }

    /// The zone whose apex is `origin`, if served.
    pub fn zone(&self, origin: &Name) -> Option<&Arc<Zone>> {
        self.zones.get(&LowerName::new(origin))
    }

    /// The deepest served zone containing `qname`.
    pub fn find_zone(&self, qname: &Name) -> Option<&Arc<Zone>> {
        let labels = usize::from(qname.num_labels());
        (0..=labels)
            .rev()
            .find_map(|n| self.zones.get(&LowerName::new(&qname.trim_to(n))))
    }

    /// The full authoritative response to `req` (no UDP size limit applied).
    pub fn answer(&self, req: &Message) -> Message {
        let mut resp = response_to(req);
        if req.op_code != OpCode::Query {
            resp.metadata.response_code = ResponseCode::NotImp;
            return resp;
        }
        let [query] = req.queries.as_slice() else {
            resp.metadata.response_code = ResponseCode::FormErr;
            return resp;
        };
        if query.query_class() != DNSClass::IN {
            resp.metadata.response_code = ResponseCode::Refused;
            return resp;
        }
        let Some(zone) = self.find_zone(query.name()) else {
            resp.metadata.response_code = ResponseCode::Refused;
            return resp;
        };
        let dnssec = req.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        resolve_in_zone(zone, query.name(), query.query_type(), &mut resp);
        if let Some(filter) = zone.filter() {
            filter(&mut resp);
        }
        if !dnssec {
            strip_dnssec(&mut resp, query.query_type());
        }
        resp
    }
}

/// A response skeleton for `req`: same id, opcode, RD and CD, the question echoed
/// byte for byte (case preserved), and an OPT record when the query had one.
pub fn response_to(req: &Message) -> Message {
    let mut resp = Message::new(req.id, MessageType::Response, req.op_code);
    resp.metadata.recursion_desired = req.recursion_desired;
    resp.metadata.checking_disabled = req.checking_disabled;
    resp.add_queries(req.queries.iter().cloned());
    if let Some(edns) = &req.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(EDNS_PAYLOAD);
        // RFC 3225 §3: "the DO bit [...] MUST be copied in the response".
        ours.set_dnssec_ok(edns.flags().dnssec_ok);
        resp.set_edns(ours);
    }
    resp
}

/// An error response (REFUSED, SERVFAIL, ...) to `req` with empty sections.
pub fn error_response(req: &Message, rcode: ResponseCode) -> Message {
    let mut resp = response_to(req);
    resp.metadata.response_code = rcode;
    resp
}

fn resolve_in_zone(zone: &Zone, qname: &Name, qtype: RecordType, resp: &mut Message) {
    resp.metadata.authoritative = true;
    let mut name = qname.clone();
    for _ in 0..MAX_CHAIN {
        match lookup(zone, &name, qtype) {
            Lookup::Answer(records) => {
                let ns_targets: Vec<Name> = records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::NS(ns) => Some(ns.0.clone()),
                        _ => None,
                    })
                    .collect();
                resp.add_answers(records);
                add_wildcard_proof(zone, &name, resp);
                // Additional-section processing for NS answers (priming needs the
                // root servers' addresses): in-zone names only.
                for target in ns_targets {
                    resp.add_additionals(zone.addresses_of(&target));
                }
                return;
            }
            Lookup::Cname(records, target) => {
                resp.add_answers(records);
                add_wildcard_proof(zone, &name, resp);
                if !zone.contains(&target) || target == name {
                    return;
                }
                name = target;
            }
            Lookup::Dname(record, target) => {
                resp.add_answers(zone.signed_rrset(&record.name, RecordType::DNAME));
                resp.add_answer(Record::from_rdata(
                    name.clone(),
                    record.ttl,
                    RData::CNAME(CNAME(target.clone())),
                ));
                if !zone.contains(&target) || target == name {
                    return;
                }
                name = target;
            }
            Lookup::DnameOverflow(record) => {
                resp.add_answers(zone.signed_rrset(&record.name, RecordType::DNAME));
                resp.metadata.response_code = ResponseCode::YXDomain;
                return;
            }
            Lookup::Referral(ns) => {
                // RFC 1034 §4.3.2 step 3b: a referral is not authoritative (when it is
                // reached through a CNAME the answer part stays, AA with it).
                if resp.answers.is_empty() {
                    resp.metadata.authoritative = false;
                }
                resp.add_authorities(ns.iter().cloned());
                if let Some(cut) = ns.first().map(|r| r.name.clone()) {
                    // RFC 4035 §3.1.4: the DS, or the NSEC proving there is none.
                    let ds = zone.signed_rrset(&cut, RecordType::DS);
                    if ds.is_empty() {
                        resp.add_authorities(zone.no_ds_proof(&cut));
                    } else {
                        resp.add_authorities(ds);
                    }
                }
                for record in ns {
                    if let RData::NS(target) = &record.data {
                        resp.add_additionals(zone.addresses_of(&target.0));
                    }
                }
                return;
            }
            Lookup::NoData => {
                add_negative_soa(zone, resp);
                add_unique_authorities(resp, zone.nodata_proof(&name));
                return;
            }
            Lookup::NxDomain => {
                resp.metadata.response_code = ResponseCode::NXDomain;
                add_negative_soa(zone, resp);
                add_unique_authorities(resp, zone.nxdomain_proof(&name));
                return;
            }
        }
    }
    // CNAME loop inside the zone: give what we have, like BIND does.
}

/// The SOA of a negative answer, with its RRSIGs (TTL lowered with it).
fn add_negative_soa(zone: &Zone, resp: &mut Message) {
    let soa = zone.negative_soa();
    let sigs = zone.signed_rrset(zone.origin(), RecordType::SOA);
    let sigs = sigs
        .into_iter()
        .filter(|r| r.record_type() == RecordType::RRSIG)
        .map(|mut r| {
            r.ttl = soa.ttl;
            r
        });
    resp.add_authority(soa.clone());
    resp.add_authorities(sigs);
}

/// An answer for a name that does not exist came from a wildcard: the NSEC
/// (or NSEC3) covering the name proves no closer match (RFC 4035 §3.1.3.3).
fn add_wildcard_proof(zone: &Zone, name: &Name, resp: &mut Message) {
    add_unique_authorities(resp, zone.wildcard_answer_proof(name));
}

fn add_unique_authorities(resp: &mut Message, records: Vec<Record>) {
    for record in records {
        if !resp.authorities.contains(&record) {
            resp.add_authority(record);
        }
    }
}

/// What a query without DO gets: no RRSIG/NSEC/NSEC3 unless it asked for that type.
fn strip_dnssec(resp: &mut Message, qtype: RecordType) {
    let keep = |r: &Record| {
        let rtype = r.record_type();
        rtype == qtype
            || !matches!(
                rtype,
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )
    };
    resp.answers.retain(keep);
    resp.authorities.retain(keep);
    resp.additionals.retain(keep);
}

fn lookup<'z>(zone: &'z Zone, qname: &Name, qtype: RecordType) -> Lookup<'z> {
    let apex = usize::from(zone.origin().num_labels());
    let total = usize::from(qname.num_labels());
    for n in apex..=total {
        let name = if n == total {
            qname.clone()
        } else {
            qname.trim_to(n)
        };
        let key = LowerName::new(&name);
        let Some(node) = zone.node(&key) else {
            if zone.is_ent(&key) {
                if n == total {
                    return Lookup::NoData;
                }
                continue;
            }
            // `name` does not exist: its parent is the closest encloser.
            return wildcard(zone, &qname.trim_to(n - 1), qname, qtype);
        };
        if n > apex {
            if let Some(ns) = node.get(RecordType::NS) {
                // The DS RRset lives on the parent side of the cut (RFC 4034 §5).
                if !(n == total && qtype == RecordType::DS) {
                    return Lookup::Referral(ns);
                }
            }
        }
        if n < total {
            if let Some(dname) = node.get(RecordType::DNAME).and_then(|d| d.first()) {
                return substitute(dname, qname, n);
            }
            continue;
        }
        return at_node(node, qname, qtype, false);
    }
    Lookup::NxDomain
}

/// Matching at an existing node (or the wildcard standing in for one).
fn at_node(node: &Node, qname: &Name, qtype: RecordType, synthesize: bool) -> Lookup<'static> {
    let own = |r: &Record| {
        let mut r = r.clone();
        if synthesize {
            r.name = qname.clone();
        }
        r
    };
    if qtype == RecordType::ANY {
        return Lookup::Answer(node.all().map(own).collect());
    }
    if let Some(records) = node.get(qtype) {
        let sigs = node
            .signatures(qtype)
            .filter(|_| qtype != RecordType::RRSIG);
        return Lookup::Answer(records.iter().chain(sigs).map(own).collect());
    }
    if let Some(cname) = node.get(RecordType::CNAME).and_then(|c| c.first()) {
        if let RData::CNAME(target) = &cname.data {
            let records = std::iter::once(cname)
                .chain(node.signatures(RecordType::CNAME))
                .map(own)
                .collect();
            return Lookup::Cname(records, target.0.clone());
        }
    }
    Lookup::NoData
}

fn wildcard(zone: &Zone, encloser: &Name, qname: &Name, qtype: RecordType) -> Lookup<'static> {
    let Ok(star) = Name::from_labels([&b"*"[..]]).and_then(|s| s.append_domain(encloser)) else {
        return Lookup::NxDomain;
    };
    match zone.node(&LowerName::new(&star)) {
        Some(node) => at_node(node, qname, qtype, true),
        None => Lookup::NxDomain,
    }
}

/// RFC 6672 §2.2: replace the DNAME owner suffix of `qname` with the DNAME target.
fn substitute<'z>(dname: &Record, qname: &Name, owner_labels: usize) -> Lookup<'z> {
    let Some(target) = dname_target(dname) else {
        return Lookup::NoData;
    };
    let prefix = usize::from(qname.num_labels()) - owner_labels;
    let substituted =
        Name::from_labels(qname.iter().take(prefix)).and_then(|p| p.append_domain(&target));
    match substituted {
        Ok(new_name) => Lookup::Dname(dname.clone(), new_name),
        Err(_) => Lookup::DnameOverflow(dname.clone()),
    }
}

/// Builds a query message (used by tests and the Rust client).
pub fn make_query(name: Name, qtype: RecordType, edns: bool) -> Message {
    let mut msg = Message::query();
    msg.add_query(Query::query(name, qtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(EDNS_PAYLOAD);
        msg.set_edns(e);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let text = "$ORIGIN ex.test.\n$TTL 60\n\
            @ SOA ns hm 1 2 3 4 30\n@ NS ns\nns A 192.0.2.53\n\
            www A 192.0.2.1\nalias CNAME www\nout CNAME www.other.test.\n\
            child NS ns.child\nns.child A 192.0.2.54\nfar NS ns.other.test.\n\
            * TXT \"wild\"\nhost.ent A 192.0.2.2\ndn DNAME ex2.test.\n";
        let mut c = Catalog::new();
        c.insert(Arc::new(Zone::parse(text, None, 1).unwrap()));
        c
    }

    fn ask(c: &Catalog, name: &str, t: RecordType) -> Message {
        c.answer(&make_query(Name::from_ascii(name).unwrap(), t, true))
    }

    #[test]
    fn exact_answer_is_authoritative() {
        let r = ask(&catalog(), "WWW.ex.test.", RecordType::A);
        assert!(r.authoritative);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.queries[0].name().to_ascii(), "WWW.ex.test.");
    }

    #[test]
    fn in_zone_cname_is_chased_out_of_zone_is_not() {
        let r = ask(&catalog(), "alias.ex.test.", RecordType::A);
        assert_eq!(r.answers.len(), 2);
        let r = ask(&catalog(), "out.ex.test.", RecordType::A);
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn referral_has_glue_only_in_zone() {
        let r = ask(&catalog(), "a.child.ex.test.", RecordType::A);
        assert!(!r.authoritative);
        assert_eq!(r.authorities.len(), 1);
        assert_eq!(r.additionals.len(), 1);
        let r = ask(&catalog(), "far.ex.test.", RecordType::A);
        assert_eq!(r.authorities.len(), 1);
        assert!(r.additionals.is_empty());
    }

    #[test]
    fn negative_answers() {
        let c = catalog();
        let r = ask(&c, "www.ex.test.", RecordType::AAAA);
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
        assert_eq!(r.authorities[0].ttl, 30);
        let r = ask(&c, "ent.ex.test.", RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert!(r.answers.is_empty());
        let r = ask(&c, "nope.ent.ex.test.", RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NXDomain);
        let r = ask(&c, "other.test.", RecordType::A);
        assert_eq!(r.response_code, ResponseCode::Refused);
    }

    #[test]
    fn signed_zone_proofs_go_only_to_do_queries() {
        let text = "$ORIGIN ex.test.\n$TTL 60\n@ SOA ns hm 1 2 3 4 30\n@ NS ns\n\
            ns A 192.0.2.53\nwww A 192.0.2.1\n*.w TXT \"wild\"\n";
        let mut zone = Zone::parse(text, None, 1).unwrap();
        let key = super::super::signer::ZoneKey::generate().unwrap();
        zone.sign(&super::super::zone::Signing::new(&key, 1_800_000_000))
            .unwrap();
        let mut c = Catalog::new();
        c.insert(Arc::new(zone));
        let types =
            |records: &[Record]| records.iter().map(Record::record_type).collect::<Vec<_>>();
        let mut with_do = make_query(Name::from_ascii("x.ex.test.").unwrap(), RecordType::A, true);
        if let Some(edns) = with_do.edns.as_mut() {
            edns.set_dnssec_ok(true);
        }
        let r = c.answer(&with_do);
        assert_eq!(r.response_code, ResponseCode::NXDomain);
        // SOA + RRSIG, NSEC (www → apex covers x) + RRSIG, NSEC (apex → ns covers *.ex.test) + RRSIG.
        assert_eq!(
            types(&r.authorities),
            vec![
                RecordType::SOA,
                RecordType::RRSIG,
                RecordType::NSEC,
                RecordType::RRSIG,
                RecordType::NSEC,
                RecordType::RRSIG
            ]
        );
        let r = ask(&c, "x.ex.test.", RecordType::A);
        assert_eq!(types(&r.authorities), vec![RecordType::SOA]);
        let mut wild = make_query(
            Name::from_ascii("a.w.ex.test.").unwrap(),
            RecordType::TXT,
            true,
        );
        if let Some(edns) = wild.edns.as_mut() {
            edns.set_dnssec_ok(true);
        }
        let r = c.answer(&wild);
        assert_eq!(types(&r.answers), vec![RecordType::TXT, RecordType::RRSIG]);
        assert_eq!(r.answers[1].name, Name::from_ascii("a.w.ex.test.").unwrap());
        assert_eq!(
            types(&r.authorities),
            vec![RecordType::NSEC, RecordType::RRSIG]
        );
    }

    #[test]
    fn wildcard_and_dname() {
        let c = catalog();
        let r = ask(&c, "Anything.ex.test.", RecordType::TXT);
        assert_eq!(r.answers[0].name.to_ascii(), "Anything.ex.test.");
        let r = ask(&c, "x.dn.ex.test.", RecordType::A);
        assert_eq!(r.answers.len(), 2);
        assert_eq!(
            r.answers[1].data,
            RData::CNAME(CNAME(Name::from_ascii("x.ex2.test.").unwrap()))
        );
    }
}
