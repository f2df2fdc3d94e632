//! `layout`, `patch_ttls`, `find_opt` and `truncate_to` against messages built by
//! hickory-proto (an independent encoder, with name compression).

use std::net::Ipv4Addr;
use std::str::FromStr;

use common::dns::edns::{find_opt, udp_reply_limit};
use common::dns::truncate::truncate_to;
use common::dns::wire::{layout, patch_ttls, set_ttls, QueryView};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{A, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

/// example.com. A: two answers (TTL 300, 100), an NS and an SOA in authority
/// (3600, 900), glue (50) and an OPT (payload 1232, DO) in additional.
fn response() -> Vec<u8> {
    let mut m = Message::new(0x4242, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(name("example.com."), RecordType::A));
    m.add_answer(Record::from_rdata(
        name("example.com."),
        300,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
    ));
    m.add_answer(Record::from_rdata(
        name("example.com."),
        100,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 2))),
    ));
    m.add_authority(Record::from_rdata(
        name("example.com."),
        3600,
        RData::NS(NS(name("ns1.example.com."))),
    ));
    m.add_authority(Record::from_rdata(
        name("example.com."),
        900,
        RData::SOA(SOA::new(
            name("ns1.example.com."),
            name("hostmaster.example.com."),
            1,
            2,
            3,
            4,
            5,
        )),
    ));
    m.add_additional(Record::from_rdata(
        name("ns1.example.com."),
        50,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 53))),
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(1232).set_dnssec_ok(true);
    m.set_edns(edns);
    m.to_vec().unwrap()
}

fn ttls(m: &Message) -> Vec<u32> {
    m.answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .map(|r| r.ttl)
        .collect()
}

#[test]
fn layout_finds_every_ttl_and_the_opt() {
    let wire = response();
    let l = layout(&wire).unwrap();
    assert_eq!(l.ttl_offsets.len(), 5);
    let at = |off: u16| {
        let o = usize::from(off);
        u32::from_be_bytes([wire[o], wire[o + 1], wire[o + 2], wire[o + 3]])
    };
    let found: Vec<u32> = l.ttl_offsets.iter().map(|&o| at(o)).collect();
    assert_eq!(found, vec![300, 100, 3600, 900, 50]);
    assert_eq!(l.min_ttl, Some(50));
    let opt = l.opt.clone().expect("OPT found");
    assert_eq!(opt.end, wire.len(), "hickory writes OPT last");
    assert_eq!(&wire[opt.start..opt.start + 3], &[0, 0, 41]);
    assert_eq!(l.question_end, 12 + 13 + 4);
}

#[test]
fn patched_ttls_decode_and_leave_opt_alone() {
    let mut wire = response();
    let l = layout(&wire).unwrap();
    patch_ttls(&mut wire, &l.ttl_offsets, 120);
    let m = Message::from_vec(&wire).unwrap();
    assert_eq!(ttls(&m), vec![180, 0, 3480, 780, 0]);
    let edns = m.edns.as_ref().expect("OPT intact");
    assert!(edns.flags().dnssec_ok);
    assert_eq!(edns.max_payload(), 1232);
    set_ttls(&mut wire, &l.ttl_offsets, 7);
    assert_eq!(ttls(&Message::from_vec(&wire).unwrap()), vec![7; 5]);
}

#[test]
fn find_opt_in_a_hickory_query() {
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(name("WWW.Example.org."), RecordType::AAAA));
    let mut edns = Edns::new();
    edns.set_max_payload(4096).set_dnssec_ok(true);
    m.set_edns(edns);
    let mut wire = m.to_vec().unwrap();
    // hickory lower-cases the question; put mixed case back (0x20 randomisation).
    wire[13..16].copy_from_slice(b"WwW");
    let v = QueryView::parse(&wire).unwrap();
    assert_eq!(v.qtype(), 28);
    assert_eq!(
        v.qname_wire(),
        b"\x03WwW\x07example\x03org\x00",
        "case preserved"
    );
    let e = find_opt(&wire, &v).unwrap().unwrap();
    assert_eq!((e.udp_payload, e.do_bit, e.version), (4096, true, 0));
    assert_eq!(udp_reply_limit(Some(&e), 1232), 1232);
}

#[test]
fn truncate_keeps_question_and_opt() {
    let mut wire = response();
    let full = wire.len();
    assert!(!truncate_to(&mut wire, full));
    assert!(truncate_to(&mut wire, full - 1));
    let m = Message::from_vec(&wire).unwrap();
    assert!(m.metadata.truncation);
    assert_eq!(m.metadata.id, 0x4242);
    assert_eq!(m.queries.len(), 1);
    assert!(m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty());
    let edns = m.edns.as_ref().expect("OPT kept");
    assert_eq!(edns.max_payload(), 1232);
    assert!(edns.flags().dnssec_ok);
}
