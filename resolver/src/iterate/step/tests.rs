//! Reply classification cases: referrals and glue, bailiwick, lameness,
//! stray records, empty replies, DNSSEC records kept with what they prove.

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

/// An NSEC from `owner` to `next` (bitmap: A only).
fn nsec(owner: &str, next: &str) -> Record {
    use hickory_proto::serialize::binary::BinEncodable;
    let mut rdata = name(next).to_bytes().unwrap();
    rdata.extend_from_slice(&[0, 1, 0x40]);
    Record::from_rdata(
        name(owner),
        300,
        RData::Unknown {
            code: RecordType::NSEC,
            rdata: hickory_proto::rr::rdata::NULL::with(rdata),
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
    m.authorities.push(nsec("v.example.com.", "w.example.com."));
    m.authorities
        .push(rrsig("v.example.com.", RecordType::NSEC, 300));
    m.authorities.push(nsec("x.example.net.", "y.example.net."));
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
    m.authorities
        .push(nsec("mail.example.com.", "www.example.com."));
    m.authorities
        .push(rrsig("mail.example.com.", RecordType::NSEC, 300));
    m.authorities
        .push(nsec("example.com.", "mail.example.com."));
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

/// iter_scrub.c sanitize_nsec_is_overreach: an in-zone NSEC whose next name
/// leaves the zone (it would deny names of another zone, e.g. through
/// aggressive NSEC) is dropped with its signature; the in-zone one stays.
#[test]
fn nsec_reaching_out_of_the_zone_is_dropped_with_its_signature() {
    let mut m = reply();
    m.metadata.response_code = ResponseCode::NXDomain;
    m.metadata.authoritative = true;
    m.authorities
        .push(nsec("mail.example.com.", "www.example.com."));
    m.authorities
        .push(rrsig("mail.example.com.", RecordType::NSEC, 300));
    m.authorities.push(nsec("zz.example.com.", "a.victim.net."));
    m.authorities
        .push(rrsig("zz.example.com.", RecordType::NSEC, 300));
    let step = classify(
        &m,
        &name("example.com."),
        &name("nope.example.com."),
        RecordType::A,
        11,
    );
    let Step::NxDomain { proof, .. } = step else {
        panic!("{step:?}")
    };
    assert_eq!(proof.len(), 2, "{proof:?}");
    assert!(proof.iter().all(|r| r.name == name("mail.example.com.")));
}
