//! The negative cache alone (RFC 8198): what it keeps, what it synthesizes,
//! how long, and within what memory.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Record, RecordType};

use super::NegCache;
use crate::iterate::Answer;
use crate::validator::denial::DenialLimits;
use crate::validator::testing::{name, nsec, soa_record, TestKey};

const T0: u64 = 1_800_000_000;

/// `example.` with the NSEC chain example. → a → c → example.
fn chain(key: &TestKey) -> [Vec<Record>; 3] {
    let apex = nsec(
        "example.",
        "a.example.",
        &[
            RecordType::SOA,
            RecordType::NS,
            RecordType::NSEC,
            RecordType::DNSKEY,
        ],
    );
    let a = nsec(
        "a.example.",
        "c.example.",
        &[RecordType::A, RecordType::NSEC],
    );
    let c = nsec("c.example.", "example.", &[RecordType::A, RecordType::NSEC]);
    [
        key.signed(vec![apex]),
        key.signed(vec![a]),
        key.signed(vec![c]),
    ]
}

fn denial(key: &TestKey, rcode: ResponseCode, nsecs: &[&Vec<Record>]) -> Answer {
    let mut authorities = key.signed(vec![soa_record("example.")]);
    for set in nsecs {
        authorities.extend(set.iter().cloned());
    }
    Answer {
        rcode,
        answers: Vec::new(),
        authorities,
    }
}

fn types(answer: &Answer) -> Vec<(String, RecordType)> {
    answer
        .authorities
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type()))
        .collect()
}

/// RFC 8198 §5.1: the NSECs of one NXDOMAIN (b.example.) deny every other
/// name they cover: NXDOMAIN with both NSECs, their RRSIGs and the SOA,
/// TTL the minimum of NSEC TTL and SOA MINIMUM (§5.4).
#[test]
fn rfc8198_5_1_nxdomain_for_every_covered_name() {
    let key = TestKey::new("example.", 13);
    let [apex, a, _] = chain(&key);
    let neg = NegCache::new(1 << 20, DenialLimits::default());
    neg.insert(
        &denial(&key, ResponseCode::NXDomain, &[&a, &apex]),
        T0,
        None,
    );
    let got = neg
        .synthesize(&name("bb.example."), RecordType::A, T0 + 10)
        .expect("covered");
    assert_eq!(got.answer.rcode, ResponseCode::NXDomain);
    let t = types(&got.answer);
    for want in [
        ("a.example.", RecordType::NSEC),
        ("a.example.", RecordType::RRSIG),
        ("example.", RecordType::NSEC),
        ("example.", RecordType::SOA),
    ] {
        assert!(t.contains(&(want.0.to_string(), want.1)), "{t:?}");
    }
    assert!(got.answer.authorities.iter().all(|r| r.ttl == 290));
    // Below a covered name too; not past the span (c.example. onwards).
    assert!(neg
        .synthesize(&name("x.b.example."), RecordType::TXT, T0)
        .is_some());
    assert!(neg
        .synthesize(&name("d.example."), RecordType::A, T0)
        .is_none());
    // Expired after min(NSEC 3600, SOA MINIMUM 300).
    assert!(neg
        .synthesize(&name("bb.example."), RecordType::A, T0 + 300)
        .is_none());
}

/// RFC 8198 §5.2 (RFC 4035 §3.1.3.1): a matching NSEC without the type is
/// NODATA; with the type, or for ANY, nothing is synthesized.
#[test]
fn rfc8198_5_2_nodata_from_a_matching_nsec() {
    let key = TestKey::new("example.", 13);
    let [_, a, _] = chain(&key);
    let neg = NegCache::new(1 << 20, DenialLimits::default());
    neg.insert(&denial(&key, ResponseCode::NoError, &[&a]), T0, None);
    let got = neg
        .synthesize(&name("a.example."), RecordType::AAAA, T0)
        .expect("nodata");
    assert_eq!(got.answer.rcode, ResponseCode::NoError);
    assert!(got.answer.answers.is_empty());
    assert!(neg
        .synthesize(&name("a.example."), RecordType::A, T0)
        .is_none());
    assert!(neg
        .synthesize(&name("a.example."), RecordType::ANY, T0)
        .is_none());
    // A covered name needs the wildcard's NSEC too, which is not cached.
    assert!(neg
        .synthesize(&name("b.example."), RecordType::A, T0)
        .is_none());
}

/// Only signed NSECs of the zone are kept, and the signatures' remaining
/// validity caps their lifetime (RFC 4035 §5.3.3).
#[test]
fn unsigned_nsecs_are_not_kept_and_ttl_is_capped() {
    let key = TestKey::new("example.", 13);
    let [apex, a, _] = chain(&key);
    let neg = NegCache::new(1 << 20, DenialLimits::default());
    let unsigned = Answer {
        rcode: ResponseCode::NXDomain,
        answers: Vec::new(),
        authorities: vec![soa_record("example."), apex[0].clone(), a[0].clone()],
    };
    neg.insert(&unsigned, T0, None);
    assert!(neg.is_empty());
    neg.insert(
        &denial(&key, ResponseCode::NXDomain, &[&a, &apex]),
        T0,
        Some(20),
    );
    assert!(neg
        .synthesize(&name("b.example."), RecordType::A, T0 + 19)
        .is_some());
    assert!(neg
        .synthesize(&name("b.example."), RecordType::A, T0 + 20)
        .is_none());
}

/// `neg-cache-size` bounds the bytes held: the oldest entries go first.
#[test]
fn neg_cache_size_bounds_memory() {
    let max = 8 * 1024;
    let neg = NegCache::new(max, DenialLimits::default());
    for i in 0..200 {
        let zone = format!("z{i}.example.");
        let key = TestKey::new(&zone, 13);
        let set = key.signed(vec![nsec(
            &format!("a.{zone}"),
            &format!("c.{zone}"),
            &[RecordType::A],
        )]);
        let mut authorities = key.signed(vec![soa_record(&zone)]);
        authorities.extend(set);
        let answer = Answer {
            rcode: ResponseCode::NoError,
            answers: Vec::new(),
            authorities,
        };
        neg.insert(&answer, T0, None);
        assert!(neg.bytes() <= max, "{} > {max}", neg.bytes());
    }
    assert!(!neg.is_empty());
    let newest = name("a.z199.example.");
    assert!(neg.synthesize(&newest, RecordType::TXT, T0).is_some());
    assert!(neg
        .synthesize(&name("a.z0.example."), RecordType::TXT, T0)
        .is_none());
}

/// Every upstream denial carries the same NSECs again: replacing them keeps
/// one entry each, and the eviction queue does not grow without bound.
#[test]
fn repeated_inserts_do_not_grow_the_cache() {
    let key = TestKey::new("example.", 13);
    let [apex, a, _] = chain(&key);
    let neg = NegCache::new(1 << 20, DenialLimits::default());
    let answer = denial(&key, ResponseCode::NXDomain, &[&a, &apex]);
    neg.insert(&answer, T0, None);
    let bytes = neg.bytes();
    for i in 0..1000 {
        neg.insert(&answer, T0 + i, None);
    }
    assert_eq!(neg.bytes(), bytes);
    assert_eq!(neg.len(), 2);
    let inner = neg.inner.read();
    assert_eq!(inner.live, 3, "two NSECs and the SOA");
    assert!(inner.order.len() <= 2 * inner.live + 64 + 3);
}
