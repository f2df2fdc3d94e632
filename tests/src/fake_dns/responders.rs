//! Misbehaving authorities as plain functions (hickory's `test-server` style).
//!
//! Install one with [`FakeServer::set_responder`](super::FakeServer::set_responder):
//! `server.set_responder(Some(Arc::new(responders::bad_txid)))`. A responder returning
//! `Some(reply)` has that reply sent as is; `None` falls through to the normal
//! authoritative logic (so a responder can misbehave for some names only).
//!
//! Every forged address is [`POISON_V4`] / [`POISON_V6`] so a test can assert that
//! a resolver never hands it to a client.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, NS, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::authority::response_to;

/// The address every forged A record carries (TEST-NET-3, never in the fixtures).
pub const POISON_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 66);
/// The address every forged AAAA record carries.
pub const POISON_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x66, 0, 0, 0, 0, 0x66);

/// A forged authoritative answer for the question (A/AAAA get the poison address,
/// other types an empty NOERROR), used as the body of the spoofing responders.
pub fn forged_answer(req: &Message) -> Message {
    let mut resp = response_to(req);
    resp.metadata.authoritative = true;
    if let Some(q) = req.queries.first() {
        if let Some(rdata) = poison_rdata(q.query_type()) {
            resp.add_answer(Record::from_rdata(q.name().clone(), 300, rdata));
        }
    }
    resp
}

fn poison_rdata(rtype: RecordType) -> Option<RData> {
    match rtype {
        RecordType::A => Some(RData::A(A(POISON_V4))),
        RecordType::AAAA => Some(RData::AAAA(AAAA(POISON_V6))),
        _ => None,
    }
}

/// Answers with a transaction id that does not match the query (id + 1): a
/// resolver must ignore it (RFC 5452 §4.3) and time out or retry.
pub fn bad_txid(req: &Message) -> Option<Message> {
    let mut resp = forged_answer(req);
    resp.metadata.id = req.id.wrapping_add(1);
    Some(resp)
}

/// Answers a different question (`wrong-question.invalid.`, same type):
/// a resolver must check the question section and ignore it (RFC 5452 §4.3).
pub fn wrong_question(req: &Message) -> Option<Message> {
    let mut resp = forged_answer(req);
    let qtype = req
        .queries
        .first()
        .map_or(RecordType::A, |q| q.query_type());
    let other = Name::from_ascii("wrong-question.invalid.").ok()?;
    resp.queries.clear();
    resp.add_query(hickory_proto::op::Query::query(other.clone(), qtype));
    resp.answers.clear();
    if let Some(rdata) = poison_rdata(qtype) {
        resp.add_answer(Record::from_rdata(other, 300, rdata));
    }
    Some(resp)
}

/// An empty NOERROR: AA=0, every section empty (neither an answer nor a
/// referral, no SOA). Unbound (1.19+) asks another server once, then takes it
/// as NODATA cached for 5 s (1.17 takes it at once).
pub fn lame_noerror(req: &Message) -> Option<Message> {
    let mut resp = response_to(req);
    resp.metadata.response_code = ResponseCode::NoError;
    resp.metadata.authoritative = false;
    Some(resp)
}

/// An upward referral to the root: AA=0, `. NS a.root-servers.net.` in authority.
/// Another flavour of lameness; a resolver must not follow it upwards.
pub fn upward_referral(req: &Message) -> Option<Message> {
    let mut resp = response_to(req);
    let root_ns = Name::from_ascii("a.root-servers.net.").ok()?;
    resp.add_authority(Record::from_rdata(
        Name::root(),
        86400,
        RData::NS(NS(root_ns)),
    ));
    Some(resp)
}

/// Cache-poisoning attempt (RFC 5452 §6, "bailiwick"): the question is answered
/// with the poison address, and the response also claims
/// `example.org. NS ns.example.org.` in authority with
/// `ns.example.org. A POISON_V4` and `www.example.org. A POISON_V4` in additional.
/// Served from any zone but example.org, all of that is out of bailiwick: a
/// resolver honouring `harden-glue` must not cache or use it.
pub fn out_of_bailiwick_glue(req: &Message) -> Option<Message> {
    let mut resp = forged_answer(req);
    let zone = Name::from_ascii("example.org.").ok()?;
    let ns = Name::from_ascii("ns.example.org.").ok()?;
    let www = Name::from_ascii("www.example.org.").ok()?;
    resp.add_authority(Record::from_rdata(zone, 86400, RData::NS(NS(ns.clone()))));
    resp.add_additional(Record::from_rdata(ns, 86400, RData::A(A(POISON_V4))));
    resp.add_additional(Record::from_rdata(www, 86400, RData::A(A(POISON_V4))));
    Some(resp)
}

/// An authoritative upward referral: AA=1, no answer, no SOA, and
/// `. NS a.root-servers.net.` in authority. Lame however the AA bit is set
/// (Unbound's RESPONSE_TYPE_LAME): a resolver tries the zone's other servers.
pub fn aa_upward_referral(req: &Message) -> Option<Message> {
    let mut resp = upward_referral(req)?;
    resp.metadata.authoritative = true;
    Some(resp)
}

/// An authoritative answer holding only records of other types than asked for
/// the name asked (TXT, and AAAA or A with the poison address), no SOA. A
/// resolver drops them (Unbound's scrub_normalize) and is left with NODATA.
pub fn stray_types(req: &Message) -> Option<Message> {
    let q = req.queries.first()?;
    let mut resp = response_to(req);
    resp.metadata.authoritative = true;
    let owner = q.name().clone();
    let other = if q.query_type() == RecordType::AAAA {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    if let Some(rdata) = poison_rdata(other) {
        resp.add_answer(Record::from_rdata(owner.clone(), 300, rdata));
    }
    if q.query_type() != RecordType::TXT {
        let txt = RData::TXT(TXT::new(vec!["stray".to_string()]));
        resp.add_answer(Record::from_rdata(owner, 300, txt));
    }
    Some(resp)
}

/// A forged answer with the right id and no question section: a resolver
/// rejects it at once (Unbound's scrub_message) and asks another server.
pub fn no_question(req: &Message) -> Option<Message> {
    let mut resp = forged_answer(req);
    resp.queries.clear();
    Some(resp)
}
