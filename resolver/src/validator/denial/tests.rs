//! The denial proofs against hand-built NSEC chains and the RFC 5155
//! Appendix A NSEC3 zone (its Appendix B answers).

use std::net::Ipv4Addr;

use hickory_proto::rr::{rdata::A, RData, Record, RecordType};

use super::testutil::{name, nsec, nsec3, opaque, Nsec3Fields, RFC5155};
use super::*;
use crate::validator::nsec::parse_nsec;

use RecordType::{
    AAAA, CNAME, DNAME, DNSKEY, DS, HINFO, MX, NS, NSEC, NSEC3PARAM, RRSIG, SOA, TXT,
};

const LIMITS: DenialLimits = DenialLimits {
    max_nsec3_iterations: 150,
};

fn budget() -> Nsec3Budget {
    Nsec3Budget::new(64)
}

fn nx(qname: &str, records: &[Record]) -> Proof {
    prove_nxdomain(
        &name(qname),
        &name("example."),
        records,
        &LIMITS,
        &mut budget(),
    )
}

fn nodata(qname: &str, qtype: RecordType, records: &[Record]) -> Proof {
    prove_nodata(
        &name(qname),
        qtype,
        &name("example."),
        records,
        &LIMITS,
        &mut budget(),
    )
}

fn wildcard(qname: &str, encloser: &str, records: &[Record]) -> Proof {
    let (qname, encloser) = (name(qname), name(encloser));
    prove_wildcard_expansion(
        &qname,
        &encloser,
        &name("example."),
        records,
        &LIMITS,
        &mut budget(),
    )
}

fn no_ds(owner: &str, records: &[Record]) -> DsDenial {
    prove_no_ds(
        &name(owner),
        &name("example."),
        records,
        &LIMITS,
        &mut budget(),
    )
}

/// An NSEC-signed `example.`: a signed delegation `a`, an unsigned one `b`,
/// a DNAME at `c`, a CNAME at `cn`, data at `d`, the empty non-terminal `y`
/// above `x.y`, and the wildcard `*.z` below the empty non-terminal `z`.
fn nsec_zone(owner: &str) -> Record {
    let a = RecordType::A;
    match owner {
        "example." => nsec("example.", "a.example.", &[NS, SOA, RRSIG, NSEC, DNSKEY]),
        "a" => nsec("a.example.", "b.example.", &[NS, DS, RRSIG, NSEC]),
        "b" => nsec("b.example.", "c.example.", &[NS, RRSIG, NSEC]),
        "c" => nsec("c.example.", "cn.example.", &[DNAME, RRSIG, NSEC]),
        "cn" => nsec("cn.example.", "d.example.", &[CNAME, RRSIG, NSEC]),
        "d" => nsec("d.example.", "x.y.example.", &[a, TXT, RRSIG, NSEC]),
        "x.y" => nsec("x.y.example.", "*.z.example.", &[a, RRSIG, NSEC]),
        "*.z" => nsec("*.z.example.", "example.", &[TXT, RRSIG, NSEC]),
        other => panic!("no NSEC at {other}"),
    }
}

fn nsecs(owners: &[&str]) -> Vec<Record> {
    owners.iter().map(|o| nsec_zone(o)).collect()
}

/// RFC 4035 §5.4 / §3.1.3.2: an NSEC covering qname plus one covering the
/// wildcard at the closest encloser prove NXDOMAIN; other types are ignored.
#[test]
fn rfc4035_5_4_nxdomain_proven() {
    let mut records = nsecs(&["d", "example."]);
    records.push(Record::from_rdata(
        name("d.example."),
        60,
        RData::A(A(Ipv4Addr::LOCALHOST)),
    ));
    assert_eq!(nx("e.example.", &records), Proof::Secure);
    // Case does not matter (RFC 4034 §6.1).
    assert_eq!(nx("E.EXAMPLE.", &records), Proof::Secure);
}

/// RFC 4035 §3.1.3.2: without the NSEC denying `*.example` the NXDOMAIN is
/// not proven (EDE 12).
#[test]
fn rfc4035_3_1_3_2_nxdomain_missing_wildcard_denial() {
    let proof = nx("e.example.", &nsecs(&["d"]));
    assert_eq!(proof, Proof::Bogus(DenialFailure::WildcardNotDenied));
    assert_eq!(DenialFailure::WildcardNotDenied.ede(), 12);
}

/// RFC 4035 §3.1.3.2: without the NSEC covering qname nothing is proven.
#[test]
fn rfc4035_3_1_3_2_nxdomain_missing_covering_nsec() {
    assert_eq!(
        nx("e.example.", &nsecs(&["example."])),
        Proof::Bogus(DenialFailure::NameNotCovered)
    );
    assert_eq!(
        nx("d.example.", &nsecs(&["d", "example."])),
        Proof::Bogus(DenialFailure::NameExists)
    );
    assert_eq!(
        nx("e.example.", &[]),
        Proof::Bogus(DenialFailure::NoRecords)
    );
}

/// RFC 4592 §4.1 / RFC 4035 §3.1.3.2: `*.z.example` exists, so
/// `q.z.example` cannot be NXDOMAIN even though an NSEC covers it.
#[test]
fn rfc4035_3_1_3_2_nxdomain_refuted_by_existing_wildcard() {
    let proof = nx("q.z.example.", &nsecs(&["x.y", "*.z", "example."]));
    assert_eq!(proof, Proof::Bogus(DenialFailure::WildcardNotDenied));
}

/// RFC 4035 §3.1.3.1: the NSEC matching qname proves NODATA unless it lists
/// the type or CNAME.
#[test]
fn rfc4035_3_1_3_1_nodata_matching_nsec() {
    assert_eq!(nodata("d.example.", MX, &nsecs(&["d"])), Proof::Secure);
    assert_eq!(
        nodata("d.example.", TXT, &nsecs(&["d"])),
        Proof::Bogus(DenialFailure::TypeExists)
    );
    assert_eq!(
        nodata("cn.example.", MX, &nsecs(&["cn"])),
        Proof::Bogus(DenialFailure::CnameExists)
    );
    assert_eq!(
        nodata("e.example.", MX, &nsecs(&["d"])),
        Proof::Bogus(DenialFailure::NoProof)
    );
}

/// RFC 4035 §3.1.3.2 (empty non-terminal): `y.example` owns nothing, proven
/// by the NSEC whose next name `x.y.example` is below it.
#[test]
fn rfc4035_3_1_3_2_empty_non_terminal_nodata() {
    assert_eq!(nodata("y.example.", MX, &nsecs(&["d"])), Proof::Secure);
    assert_eq!(
        nodata("y.example.", MX, &nsecs(&["x.y"])),
        Proof::Bogus(DenialFailure::NoProof)
    );
}

/// RFC 4035 §3.1.3.4 wildcard NODATA: qname does not exist, and the
/// wildcard at its proven closest encloser exists without the type.
#[test]
fn rfc4035_3_1_3_4_wildcard_nodata() {
    assert_eq!(nodata("q.z.example.", MX, &nsecs(&["*.z"])), Proof::Secure);
    assert_eq!(
        nodata("q.z.example.", TXT, &nsecs(&["*.z"])),
        Proof::Bogus(DenialFailure::TypeExists)
    );
    // `!.z.example` sorts before `*.z.example`: the wildcard NSEC does not
    // cover it, so the closest encloser needs the x.y NSEC.
    let mut bang = Name::from_labels([&b"!"[..], b"z", b"example"]).unwrap();
    bang.set_fqdn(true);
    let zone = name("example.");
    let only_wildcard = prove_nodata(&bang, MX, &zone, &nsecs(&["*.z"]), &LIMITS, &mut budget());
    assert_eq!(
        only_wildcard,
        Proof::Bogus(DenialFailure::WildcardNotProven)
    );
    let both = prove_nodata(
        &bang,
        MX,
        &zone,
        &nsecs(&["*.z", "x.y"]),
        &LIMITS,
        &mut budget(),
    );
    assert_eq!(both, Proof::Secure);
}

/// RFC 4035 §5.3.4: an answer expanded from `*.z.example` needs an NSEC
/// proving qname absent whose closest encloser is `z.example`.
#[test]
fn rfc4035_5_3_4_wildcard_expansion_proven() {
    assert_eq!(
        wildcard("q.z.example.", "z.example.", &nsecs(&["*.z"])),
        Proof::Secure
    );
    assert_eq!(
        wildcard("a.b.z.example.", "z.example.", &nsecs(&["*.z"])),
        Proof::Secure
    );
    // The wrong encloser (RRSIG labels lying) or no covering NSEC is bogus.
    let wrong = wildcard("q.z.example.", "example.", &nsecs(&["*.z"]));
    assert_eq!(wrong, Proof::Bogus(DenialFailure::NameNotCovered));
    let none = wildcard("q.z.example.", "z.example.", &nsecs(&["d"]));
    assert_eq!(none, Proof::Bogus(DenialFailure::NameNotCovered));
    let outside = wildcard("q.z.example.", "q.z.example.", &nsecs(&["*.z"]));
    assert_eq!(outside, Proof::Bogus(DenialFailure::OutOfZone));
}

/// RFC 4035 §2.3 / RFC 6840 §4.1: the parent-side NSEC at the signed
/// delegation `a.example` (NS and DS, no SOA) proves nothing below the cut,
/// nor NODATA for a type other than DS at it; the same NSEC without NS would.
#[test]
fn rfc6840_4_1_parent_side_nsec_misused_below_delegation() {
    let proof = nx("www.a.example.", &nsecs(&["a", "example."]));
    assert_eq!(proof, Proof::Bogus(DenialFailure::NameNotCovered));
    let plain = nsec("a.example.", "b.example.", &[RecordType::A, RRSIG, NSEC]);
    assert_eq!(nx("www.a.example.", &[plain]), Proof::Secure);
    let at_cut = nodata("a.example.", MX, &nsecs(&["a"]));
    assert_eq!(at_cut, Proof::Bogus(DenialFailure::DelegationMisused));
}

/// Unbound `val_nsec_proves_insecuredelegation`: an NSEC at an unsigned
/// delegation (NS, no DS, no SOA) above qname makes the answer insecure.
#[test]
fn rfc4035_5_2_unsigned_delegation_above_qname_is_insecure() {
    let insecure = Proof::Insecure(InsecureReason::InsecureDelegation);
    assert_eq!(nx("www.b.example.", &nsecs(&["b"])), insecure);
    assert_eq!(nodata("www.b.example.", MX, &nsecs(&["b"])), insecure);
    // For DS at the cut itself the NSEC is the proof of no DS, not insecurity.
    assert_eq!(nodata("b.example.", DS, &nsecs(&["b"])), Proof::Secure);
}

/// RFC 6840 §4.1: an NSEC with the DNAME bit proves nothing below its owner;
/// without the bit the same span would prove NXDOMAIN.
#[test]
fn rfc6840_4_1_dname_nsec_misused_below_owner() {
    let proof = nx("www.c.example.", &nsecs(&["c", "example."]));
    assert_eq!(proof, Proof::Bogus(DenialFailure::NameNotCovered));
    let plain = nsec("c.example.", "cn.example.", &[RecordType::A, RRSIG, NSEC]);
    assert_eq!(nx("www.c.example.", &[plain]), Proof::Secure);
}

/// RFC 4035 §5.2: the parent's NSEC at a cut with NS and without DS proves
/// an insecure delegation; with DS it contradicts the NODATA.
#[test]
fn rfc4035_5_2_ds_insecure_delegation_by_nsec() {
    assert_eq!(
        no_ds("b.example.", &nsecs(&["b"])),
        DsDenial::InsecureDelegation
    );
    assert_eq!(
        no_ds("a.example.", &nsecs(&["a"])),
        DsDenial::Bogus(DenialFailure::TypeExists)
    );
    // A child apex NSEC (SOA) cannot deny the DS, which lives in the parent.
    let apex = nsecs(&["example."]);
    let from_root = prove_no_ds(
        &name("example."),
        &Name::root(),
        &apex,
        &LIMITS,
        &mut budget(),
    );
    assert_eq!(from_root, DsDenial::Bogus(DenialFailure::ChildSideDenial));
    assert_eq!(
        no_ds("example.", &apex),
        DsDenial::Bogus(DenialFailure::OutOfZone)
    );
}

/// RFC 4035 §5.2: a name without NS, an empty non-terminal, or a name
/// proven absent is no zone cut: the walk keeps the key.
#[test]
fn rfc4035_5_2_ds_not_a_cut_by_nsec() {
    assert_eq!(no_ds("d.example.", &nsecs(&["d"])), DsDenial::NotACut);
    assert_eq!(no_ds("y.example.", &nsecs(&["d"])), DsDenial::NotACut);
    // Wildcard NODATA: `*.z.example` has no NS (Unbound `val_nsec_proves_no_ds`).
    assert_eq!(no_ds("q.z.example.", &nsecs(&["*.z"])), DsDenial::NotACut);
    assert_eq!(
        no_ds("e.example.", &nsecs(&["d", "example."])),
        DsDenial::NotACut
    );
    assert_eq!(
        no_ds("e.example.", &nsecs(&["d"])),
        DsDenial::Bogus(DenialFailure::NoProof)
    );
}

/// Malformed NSEC RDATA, an NSEC pointing outside the zone and other record
/// types are ignored: they neither prove nor panic.
#[test]
fn malformed_nsec_records_ignored() {
    let garbage = [
        opaque(name("d.example."), NSEC, vec![0xc0, 0x0c, 0, 1, 0x40]),
        opaque(name("d.example."), NSEC, vec![0x01, b'e']),
        opaque(name("d.example."), NSEC, vec![0x00, 0x00, 0x00]),
        opaque(name("d.example."), NSEC, Vec::new()),
        nsec("d.example.", "e.other.", &[RecordType::A]),
        opaque(name("d.example."), RRSIG, vec![0, 47, 8, 2]),
    ];
    assert!(garbage[..4].iter().all(|r| parse_nsec(r).is_none()));
    assert_eq!(
        nodata("d.example.", MX, &garbage),
        Proof::Bogus(DenialFailure::NoRecords)
    );
    let mut with_good = garbage.to_vec();
    with_good.push(nsec_zone("d"));
    assert_eq!(nodata("d.example.", MX, &with_good), Proof::Secure);
}

/// The NSEC3 chain of RFC 5155 Appendix A, each record with `flags` (the
/// RFC sets opt-out on all of them).
fn rfc5155_zone(flags: u8) -> Vec<Record> {
    let a = RecordType::A;
    let chain: [(&str, &str, &[RecordType]); 12] = [
        (
            "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
            &[MX, DNSKEY, NS, SOA, NSEC3PARAM, RRSIG],
        ),
        (
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
            "2vptu5timamqttgl4luu9kg21e0aor3s",
            &[a, RRSIG],
        ),
        (
            "2vptu5timamqttgl4luu9kg21e0aor3s",
            "35mthgpgcu1qg68fab165klnsnk3dpvl",
            &[MX, RRSIG],
        ),
        (
            "35mthgpgcu1qg68fab165klnsnk3dpvl",
            "b4um86eghhds6nea196smvmlo4ors995",
            &[NS, DS, RRSIG],
        ),
        (
            "b4um86eghhds6nea196smvmlo4ors995",
            "gjeqe526plbf1g8mklp59enfd789njgi",
            &[MX, RRSIG],
        ),
        (
            "gjeqe526plbf1g8mklp59enfd789njgi",
            "ji6neoaepv8b5o6k4ev33abha8ht9fgc",
            &[HINFO, a, AAAA, RRSIG],
        ),
        (
            "ji6neoaepv8b5o6k4ev33abha8ht9fgc",
            "k8udemvp1j2f7eg6jebps17vp3n8i58h",
            &[],
        ),
        (
            "k8udemvp1j2f7eg6jebps17vp3n8i58h",
            "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
            &[],
        ),
        (
            "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
            "q04jkcevqvmu85r014c7dkba38o0ji5r",
            &[a, RRSIG],
        ),
        (
            "q04jkcevqvmu85r014c7dkba38o0ji5r",
            "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
            &[a, RRSIG],
        ),
        (
            "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
            "t644ebqk9bibcna874givr6joj62mlhv",
            &[MX, RRSIG],
        ),
        (
            "t644ebqk9bibcna874givr6joj62mlhv",
            "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
            &[a, HINFO, AAAA, RRSIG],
        ),
    ];
    let fields = Nsec3Fields { flags, ..RFC5155 };
    chain
        .iter()
        .map(|(owner, next, types)| nsec3(&fields, owner, "example.", next, types))
        .collect()
}

/// The records of the RFC 5155 zone whose owner hash starts with one of `prefixes`.
fn rfc5155_pick(flags: u8, prefixes: &[&str]) -> Vec<Record> {
    rfc5155_zone(flags)
        .into_iter()
        .filter(|r| {
            let owner = r.name.to_ascii();
            prefixes.iter().any(|p| owner.starts_with(p))
        })
        .collect()
}

const OPT_OUT: u8 = 1;
const NO_FLAGS: u8 = 0;

/// RFC 5155 §8.4 and Appendix B.1: `a.c.x.w.example` NXDOMAIN from the
/// closest encloser `x.w.example` (b4um86), the next closer `c.x.w.example`
/// covered (0p9mha) and `*.x.w.example` covered (35mthg).
#[test]
fn rfc5155_8_4_b1_nxdomain_proven() {
    let b1 = ["0p9", "b4u", "35m"];
    assert_eq!(
        nx("a.c.x.w.example.", &rfc5155_pick(NO_FLAGS, &b1)),
        Proof::Secure
    );
    assert_eq!(
        nx("a.c.x.w.example.", &rfc5155_zone(NO_FLAGS)),
        Proof::Secure
    );
}

/// RFC 5155 §9.2: with the Appendix's opt-out flags the next closer name is
/// in an opt-out span, so the NXDOMAIN is insecure (Unbound
/// `nsec3_do_prove_nameerror`; its val_nsec3_b1_nameerror.rpl expects no AD).
#[test]
fn rfc5155_9_2_b1_nxdomain_opt_out_is_insecure() {
    let proof = nx(
        "a.c.x.w.example.",
        &rfc5155_pick(OPT_OUT, &["0p9", "b4u", "35m"]),
    );
    assert_eq!(proof, Proof::Insecure(InsecureReason::OptOut));
}

/// RFC 5155 §8.4: each of the three NSEC3s of B.1 is needed.
#[test]
fn rfc5155_8_4_b1_nxdomain_missing_records() {
    let no_wildcard = nx("a.c.x.w.example.", &rfc5155_pick(NO_FLAGS, &["0p9", "b4u"]));
    assert_eq!(no_wildcard, Proof::Bogus(DenialFailure::WildcardNotDenied));
    let no_next_closer = nx("a.c.x.w.example.", &rfc5155_pick(NO_FLAGS, &["b4u", "35m"]));
    assert_eq!(
        no_next_closer,
        Proof::Bogus(DenialFailure::NextCloserNotCovered)
    );
    let no_encloser = nx("a.c.x.w.example.", &rfc5155_pick(NO_FLAGS, &["35m"]));
    assert_eq!(no_encloser, Proof::Bogus(DenialFailure::NoClosestEncloser));
    let exists = nx("ns1.example.", &rfc5155_zone(NO_FLAGS));
    assert_eq!(exists, Proof::Bogus(DenialFailure::NameExists));
}

/// RFC 5155 §8.5 and Appendix B.2: the NSEC3 matching `ns1.example` (A only)
/// proves NODATA for MX, not for A.
#[test]
fn rfc5155_8_5_b2_nodata() {
    let records = rfc5155_pick(OPT_OUT, &["2t7"]);
    assert_eq!(nodata("ns1.example.", MX, &records), Proof::Secure);
    let a = nodata("ns1.example.", RecordType::A, &records);
    assert_eq!(a, Proof::Bogus(DenialFailure::TypeExists));
}

/// RFC 5155 §8.5 and Appendix B.2.1: the empty non-terminal `y.w.example`
/// has a matching NSEC3 with an empty type map.
#[test]
fn rfc5155_8_5_b2_1_empty_non_terminal_nodata() {
    let records = rfc5155_pick(OPT_OUT, &["ji6"]);
    assert_eq!(
        nodata("y.w.example.", RecordType::A, &records),
        Proof::Secure
    );
    let other = nodata(
        "y.w.example.",
        RecordType::A,
        &rfc5155_pick(OPT_OUT, &["k8u"]),
    );
    assert_ne!(other, Proof::Secure);
}

/// RFC 5155 §8.7 and Appendix B.5: `a.z.w.example` AAAA: closest encloser
/// `w.example`, next closer `z.w.example` covered, `*.w.example` matches
/// without AAAA; insecure when the next closer is in an opt-out span.
#[test]
fn rfc5155_8_7_b5_wildcard_nodata() {
    let b5 = ["k8u", "q04", "r53"];
    assert_eq!(
        nodata("a.z.w.example.", AAAA, &rfc5155_pick(NO_FLAGS, &b5)),
        Proof::Secure
    );
    let opt_out = nodata("a.z.w.example.", AAAA, &rfc5155_pick(OPT_OUT, &b5));
    assert_eq!(opt_out, Proof::Insecure(InsecureReason::OptOut));
    let has_mx = nodata("a.z.w.example.", MX, &rfc5155_pick(NO_FLAGS, &b5));
    assert_eq!(has_mx, Proof::Bogus(DenialFailure::TypeExists));
    let no_wildcard = nodata(
        "a.z.w.example.",
        AAAA,
        &rfc5155_pick(NO_FLAGS, &["k8u", "q04"]),
    );
    assert_eq!(no_wildcard, Proof::Bogus(DenialFailure::NoProof));
}

/// RFC 5155 §8.8 and Appendix B.4: `a.z.w.example` expanded from
/// `*.w.example` needs the next closer `z.w.example` covered (q04jkc).
#[test]
fn rfc5155_8_8_b4_wildcard_expansion() {
    let secure = wildcard(
        "a.z.w.example.",
        "w.example.",
        &rfc5155_pick(NO_FLAGS, &["q04"]),
    );
    assert_eq!(secure, Proof::Secure);
    let opt_out = wildcard(
        "a.z.w.example.",
        "w.example.",
        &rfc5155_pick(OPT_OUT, &["q04"]),
    );
    assert_eq!(opt_out, Proof::Insecure(InsecureReason::OptOut));
    let missing = wildcard(
        "a.z.w.example.",
        "w.example.",
        &rfc5155_pick(NO_FLAGS, &["r53"]),
    );
    assert_eq!(missing, Proof::Bogus(DenialFailure::NextCloserNotCovered));
}

/// RFC 5155 §8.6 / §9.2 and Appendix B.3: no NSEC3 matches `c.example`, its
/// next closer is covered by an opt-out NSEC3: an insecure delegation.
#[test]
fn rfc5155_8_6_b3_ds_opt_out_is_insecure_delegation() {
    let b3 = rfc5155_pick(OPT_OUT, &["0p9", "35m"]);
    assert_eq!(no_ds("c.example.", &b3), DsDenial::InsecureDelegation);
    // Without opt-out the name is proven absent: no cut (Unbound: bogus).
    assert_eq!(
        no_ds("c.example.", &rfc5155_zone(NO_FLAGS)),
        DsDenial::NotACut
    );
    let no_wildcard = no_ds("c.example.", &rfc5155_pick(NO_FLAGS, &["0p9", "35m"]));
    assert_eq!(
        no_wildcard,
        DsDenial::Bogus(DenialFailure::WildcardNotDenied)
    );
}

/// RFC 5155 §8.9: a matching NSEC3 with NS and without DS proves an
/// insecure delegation; with DS it contradicts; without NS it is no cut.
#[test]
fn rfc5155_8_9_ds_matching_nsec3() {
    let fields = Nsec3Fields {
        flags: NO_FLAGS,
        ..RFC5155
    };
    let c_cut = nsec3(
        &fields,
        "4g6p9u5gvfshp30pqecj98b3maqbn1ck",
        "example.",
        "b4um86eghhds6nea196smvmlo4ors995",
        &[NS],
    );
    assert_eq!(
        no_ds("c.example.", std::slice::from_ref(&c_cut)),
        DsDenial::InsecureDelegation
    );
    let signed = no_ds("a.example.", &rfc5155_pick(NO_FLAGS, &["35m"]));
    assert_eq!(signed, DsDenial::Bogus(DenialFailure::TypeExists));
    assert_eq!(
        no_ds("ns1.example.", &rfc5155_pick(NO_FLAGS, &["2t7"])),
        DsDenial::NotACut
    );
    // And names below the unsigned cut are insecure, not bogus.
    let mut records = rfc5155_zone(NO_FLAGS);
    records.push(c_cut);
    let below = nx("www.c.example.", &records);
    assert_eq!(below, Proof::Insecure(InsecureReason::InsecureDelegation));
}

/// RFC 5155 §8.3: a closest encloser that is a signed delegation (NS and DS,
/// no SOA) or a DNAME must not prove anything below it.
#[test]
fn rfc5155_8_3_closest_encloser_delegation_or_dname_misused() {
    let below_cut = nx("x.a.example.", &rfc5155_zone(NO_FLAGS));
    assert_eq!(below_cut, Proof::Bogus(DenialFailure::DelegationMisused));
    let fields = Nsec3Fields {
        flags: NO_FLAGS,
        ..RFC5155
    };
    let mut records = rfc5155_zone(NO_FLAGS);
    records.retain(|r| !r.name.to_ascii().starts_with("2t7"));
    records.push(nsec3(
        &fields,
        "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
        "example.",
        "2vptu5timamqttgl4luu9kg21e0aor3s",
        &[RecordType::A, DNAME, RRSIG],
    ));
    let below_dname = nx("foo.ns1.example.", &records);
    assert_eq!(below_dname, Proof::Bogus(DenialFailure::DnameMisused));
}

/// RFC 9276 §3.2 / Unbound `nsec3_iteration_count_high`: iterations above
/// the limit make the answer insecure (EDE 27); at the limit they are fine.
#[test]
fn rfc9276_3_2_nsec3_iterations_over_limit_insecure() {
    let records = rfc5155_pick(OPT_OUT, &["2t7"]);
    let qname = name("ns1.example.");
    let limits = |max| DenialLimits {
        max_nsec3_iterations: max,
    };
    let over = prove_nodata(
        &qname,
        MX,
        &name("example."),
        &records,
        &limits(11),
        &mut budget(),
    );
    assert_eq!(over, Proof::Insecure(InsecureReason::Nsec3Iterations));
    assert_eq!(InsecureReason::Nsec3Iterations.ede(), Some(27));
    let at = prove_nodata(
        &qname,
        MX,
        &name("example."),
        &records,
        &limits(12),
        &mut budget(),
    );
    assert_eq!(at, Proof::Secure);
    let ds = prove_no_ds(
        &name("c.example."),
        &name("example."),
        &records,
        &limits(11),
        &mut budget(),
    );
    assert_eq!(ds, DsDenial::InsecureDelegation);
}

/// CVE-2023-50868 (Unbound `MAX_NSEC3_CALCULATIONS`): B.1 hashes four
/// distinct names (the next closer is cached); a budget of three is
/// exhausted and the proof is bogus, never a long computation.
#[test]
fn cve_2023_50868_nsec3_hash_budget_exhausted() {
    let records = rfc5155_pick(NO_FLAGS, &["0p9", "b4u", "35m"]);
    let (qname, zone) = (name("a.c.x.w.example."), name("example."));
    let mut enough = Nsec3Budget::new(4);
    assert_eq!(
        prove_nxdomain(&qname, &zone, &records, &LIMITS, &mut enough),
        Proof::Secure
    );
    assert_eq!(enough.remaining(), 0);
    let mut short = Nsec3Budget::new(3);
    let proof = prove_nxdomain(&qname, &zone, &records, &LIMITS, &mut short);
    assert_eq!(proof, Proof::Bogus(DenialFailure::Nsec3BudgetExhausted));
    // A very long qname cannot make the closest-encloser search unbounded.
    let long = name(&format!("{}example.", "a.".repeat(100)));
    let mut small = Nsec3Budget::new(8);
    let proof = prove_nxdomain(&long, &zone, &records, &LIMITS, &mut small);
    assert_eq!(proof, Proof::Bogus(DenialFailure::Nsec3BudgetExhausted));
}

/// RFC 5155 §8.2: NSEC3s with distinct parameters come from different
/// chains and prove nothing together (Unbound `param_set_same`).
#[test]
fn rfc5155_8_2_nsec3_parameter_mismatch_bogus() {
    let mut records = rfc5155_pick(NO_FLAGS, &["0p9", "b4u"]);
    let other_salt = Nsec3Fields {
        flags: NO_FLAGS,
        salt: &[0xaa, 0xbb, 0xcc, 0xde],
        ..RFC5155
    };
    records.push(nsec3(
        &other_salt,
        "35mthgpgcu1qg68fab165klnsnk3dpvl",
        "example.",
        "b4um86eghhds6nea196smvmlo4ors995",
        &[NS, DS, RRSIG],
    ));
    let proof = nx("a.c.x.w.example.", &records);
    assert_eq!(proof, Proof::Bogus(DenialFailure::Nsec3ParamsMismatch));
}

/// RFC 5155 §8.2: NSEC3s with an unknown hash algorithm or unknown flags,
/// of another zone, with a bad owner label or malformed RDATA are ignored
/// (so they cannot cause a parameter mismatch either).
#[test]
fn rfc5155_8_2_unknown_and_malformed_nsec3_ignored() {
    let owner = "2t7b4g4vsa5smi47k61mv5bv1a22bojr";
    let next = "2vptu5timamqttgl4luu9kg21e0aor3s";
    let types = [RecordType::A, RRSIG];
    let unknown_algorithm = Nsec3Fields {
        algorithm: 2,
        ..RFC5155
    };
    let unknown_flags = Nsec3Fields {
        flags: 0x02,
        iterations: 7,
        ..RFC5155
    };
    let ignored = vec![
        nsec3(&unknown_algorithm, owner, "example.", next, &types),
        nsec3(&unknown_flags, owner, "example.", next, &types),
        nsec3(&RFC5155, owner, "other.", next, &types),
        nsec3(&RFC5155, "zzzz-not-base32hex", "example.", next, &types),
        nsec3(&RFC5155, "0p9mhave", "example.", next, &types),
        opaque(
            name(&format!("{owner}.example.")),
            RecordType::NSEC3,
            vec![1, 0, 0, 12, 4, 0xaa],
        ),
    ];
    assert_eq!(
        nodata("ns1.example.", MX, &ignored),
        Proof::Bogus(DenialFailure::NoRecords)
    );
    let mut with_good = ignored;
    with_good.extend(rfc5155_pick(OPT_OUT, &["2t7"]));
    assert_eq!(nodata("ns1.example.", MX, &with_good), Proof::Secure);
}
