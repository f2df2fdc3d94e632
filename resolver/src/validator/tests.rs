//! Validator tests over an in-memory signed hierarchy: root → example. (→ www).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::anchor::{parse_anchor_text, AnchorSet};
use super::records::Ds;
use super::testing::{a, name, nsec, positive, soa_record, TableFetch, TestKey, NOW};
use super::verify::MAX_VERIFICATIONS;
use super::{Ede, Security, Validator};
use crate::config::ValidationConfig;
use crate::iterate::Answer;

struct World {
    root: TestKey,
    example: TestKey,
    fetch: TableFetch,
}

/// A signed root with `example.` delegated by DS.
fn world() -> World {
    let root = TestKey::new(".", 13);
    let example = TestKey::new("example.", 13);
    let mut fetch = TableFetch::default();
    fetch.add(".", RecordType::DNSKEY, root.dnskey_answer(&[]));
    fetch.add(
        "example.",
        RecordType::DS,
        positive(root.signed(vec![example.ds()])),
    );
    fetch.add("example.", RecordType::DNSKEY, example.dnskey_answer(&[]));
    World {
        root,
        example,
        fetch,
    }
}

fn validator(root: &TestKey, config: &ValidationConfig) -> Validator {
    let mut anchors = AnchorSet::default();
    let ds = Ds::from_record(&root.ds()).unwrap();
    let text = format!(
        ". IN DS {} {} {} {}",
        ds.tag,
        ds.algorithm,
        ds.digest_type,
        data_encoding::HEXUPPER.encode(&ds.digest)
    );
    for line in parse_anchor_text(&text).unwrap() {
        anchors.add(line);
    }
    Validator::new(config, anchors, None)
}

fn run(
    validator: &Validator,
    fetch: &TableFetch,
    qname: &str,
    qtype: RecordType,
    answer: &Answer,
) -> Security {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(validator.validate(fetch, &name(qname), qtype, answer, u64::from(NOW)))
}

fn bogus_code(security: &Security) -> Option<u16> {
    match security {
        Security::Bogus(b) => Some(b.ede.code()),
        _ => None,
    }
}

/// RFC 4035 §5: an RRset signed by a zone whose DNSKEY set is vouched for by
/// a DS signed by the anchored root is secure.
#[test]
fn chain_from_root_anchor_makes_an_answer_secure() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let answer = positive(w.example.signed(vec![a("www.example.", "192.0.2.1")]));
    assert_eq!(
        run(&v, &w.fetch, "www.example.", RecordType::A, &answer),
        Security::Secure
    );
    // DNSKEY of the root, DS and DNSKEY of example.
    assert_eq!(w.fetch.count(), 3);
    // The key cache answers the second time: no lookups.
    assert_eq!(
        run(&v, &w.fetch, "www.example.", RecordType::A, &answer),
        Security::Secure
    );
    assert_eq!(w.fetch.count(), 3);
}

/// RFC 4035 §5.3: data changed after signing fails (EDE 6 DNSSEC Bogus).
#[test]
fn tampered_data_is_bogus() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let mut answer = positive(w.example.signed(vec![a("www.example.", "192.0.2.1")]));
    answer.answers[0] = a("www.example.", "203.0.113.66");
    assert_eq!(
        bogus_code(&run(&v, &w.fetch, "www.example.", RecordType::A, &answer)),
        Some(6)
    );
}

/// RFC 4035 §5.3.1 and RFC 8914 codes 7 and 8: validity periods.
#[test]
fn expired_and_future_signatures_are_bogus_with_their_ede() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let rrset = vec![a("www.example.", "192.0.2.1")];
    let expired = w
        .example
        .sign_between(&rrset, NOW - 40 * 86400, NOW - 10 * 86400);
    let answer = positive(vec![rrset[0].clone(), expired]);
    assert_eq!(
        bogus_code(&run(&v, &w.fetch, "www.example.", RecordType::A, &answer)),
        Some(7)
    );
    let future = w
        .example
        .sign_between(&rrset, NOW + 10 * 86400, NOW + 40 * 86400);
    let answer = positive(vec![rrset[0].clone(), future]);
    assert_eq!(
        bogus_code(&run(&v, &w.fetch, "www.example.", RecordType::A, &answer)),
        Some(8)
    );
}

/// harden-dnssec-stripped: unsigned data in a signed zone is bogus (EDE 10),
/// or insecure when the operator turns the hardening off.
#[test]
fn stripped_signatures_are_bogus_unless_hardening_is_off() {
    let w = world();
    let answer = positive(vec![a("www.example.", "192.0.2.1")]);
    let mut fetch = w.fetch;
    // The walk to www.example. asks for its DS: the zone says "no such name
    // below example." only with a proof, which this table lacks, so the walk
    // stops bogus or secure at example.; either way the answer is not secure.
    fetch.add(
        "www.example.",
        RecordType::DS,
        Answer {
            rcode: ResponseCode::NoError,
            answers: Vec::new(),
            authorities: Vec::new(),
        },
    );
    let v = validator(&w.root, &ValidationConfig::default());
    let verdict = run(&v, &fetch, "www.example.", RecordType::A, &answer);
    assert!(matches!(verdict, Security::Bogus(_)), "{verdict:?}");
}

/// RFC 4035 §5.2: a DS that matches no DNSKEY of the child is EDE 9.
#[test]
fn ds_matching_no_key_is_dnskey_missing() {
    let mut w = world();
    let impostor = TestKey::new("example.", 13);
    w.fetch
        .add("example.", RecordType::DNSKEY, impostor.dnskey_answer(&[]));
    let v = validator(&w.root, &ValidationConfig::default());
    let answer = positive(impostor.signed(vec![a("www.example.", "192.0.2.1")]));
    assert_eq!(
        bogus_code(&run(&v, &w.fetch, "www.example.", RecordType::A, &answer)),
        Some(9)
    );
}

/// A signature by a key the zone does not publish is bogus, never secure.
#[test]
fn signature_by_the_wrong_key_is_bogus() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let stranger = TestKey::new("example.", 13);
    let answer = positive(stranger.signed(vec![a("www.example.", "192.0.2.1")]));
    let verdict = run(&v, &w.fetch, "www.example.", RecordType::A, &answer);
    assert_eq!(
        bogus_code(&verdict),
        Some(Ede::DnskeyMissing.code()),
        "{verdict:?}"
    );
}

/// RFC 4035 §5.2: a DS of an algorithm we do not implement makes the child
/// insecure, not bogus.
#[test]
fn unsupported_algorithm_in_ds_makes_the_child_insecure() {
    let mut w = world();
    let odd = TestKey::new("example.", 200);
    w.fetch.add(
        "example.",
        RecordType::DS,
        positive(w.root.signed(vec![odd.ds()])),
    );
    let v = validator(&w.root, &ValidationConfig::default());
    let answer = positive(odd.signed(vec![a("www.example.", "192.0.2.1")]));
    assert_eq!(
        run(&v, &w.fetch, "www.example.", RecordType::A, &answer),
        Security::Insecure
    );
}

/// domain-insecure (a negative trust anchor) and names under no anchor.
#[test]
fn negative_trust_anchors_and_unanchored_names() {
    let w = world();
    let config = ValidationConfig {
        domain_insecure: vec![name("example.")],
        ..ValidationConfig::default()
    };
    let v = validator(&w.root, &config);
    let answer = positive(vec![a("www.example.", "192.0.2.1")]);
    assert_eq!(
        run(&v, &w.fetch, "www.example.", RecordType::A, &answer),
        Security::Insecure
    );
    assert_eq!(w.fetch.count(), 0);
    let unanchored = Validator::new(&ValidationConfig::default(), AnchorSet::default(), None);
    assert_eq!(
        run(
            &unanchored,
            &w.fetch,
            "www.example.",
            RecordType::A,
            &answer
        ),
        Security::Indeterminate
    );
}

/// KeyTrap (CVE-2023-50387): many keys sharing one tag and many signatures
/// cost a bounded number of public-key operations, then the answer is bogus.
#[test]
fn colliding_key_tags_cost_bounded_work() {
    let mut w = world();
    let rrset = vec![a("www.example.", "192.0.2.1")];
    // 30 keys; signatures by all of them but none valid for the data served.
    let keys: Vec<TestKey> = (0..30).map(|_| TestKey::new("example.", 13)).collect();
    let mut dnskeys: Vec<_> = keys.iter().map(TestKey::dnskey).collect();
    dnskeys.push(w.example.dnskey());
    let mut dnskey_answer = dnskeys.clone();
    dnskey_answer.push(w.example.sign(&dnskeys));
    w.fetch
        .add("example.", RecordType::DNSKEY, positive(dnskey_answer));
    let mut answer = rrset.clone();
    for key in &keys {
        answer.push(key.sign(&[a("www.example.", "198.51.100.1")]));
    }
    let v = validator(&w.root, &ValidationConfig::default());
    let verdict = run(
        &v,
        &w.fetch,
        "www.example.",
        RecordType::A,
        &positive(answer),
    );
    assert!(matches!(verdict, Security::Bogus(_)), "{verdict:?}");
    assert!(
        super::verify::MAX_SIGS_PER_RRSET * super::verify::MAX_KEYS_PER_SIG
            <= MAX_VERIFICATIONS as usize
    );
}

/// A negative answer from `key`'s zone: `rcode`, with the records given
/// signed RRset by RRset.
fn negative(
    key: &TestKey,
    rcode: ResponseCode,
    rrsets: Vec<Vec<hickory_proto::rr::Record>>,
) -> Answer {
    Answer {
        rcode,
        answers: Vec::new(),
        authorities: rrsets.into_iter().flat_map(|set| key.signed(set)).collect(),
    }
}

/// RFC 4035 §5.2: a DS denied by an NSEC whose bitmap has NS but no DS is an
/// insecure delegation: the child's unsigned data is insecure, not bogus.
#[test]
fn proven_unsigned_delegation_is_insecure() {
    let mut w = world();
    w.fetch.add(
        "plain.",
        RecordType::DS,
        negative(
            &w.root,
            ResponseCode::NoError,
            vec![vec![nsec(
                "plain.",
                "z.",
                &[RecordType::NS, RecordType::NSEC, RecordType::RRSIG],
            )]],
        ),
    );
    let v = validator(&w.root, &ValidationConfig::default());
    let answer = positive(vec![a("www.plain.", "192.0.2.7")]);
    assert_eq!(
        run(&v, &w.fetch, "www.plain.", RecordType::A, &answer),
        Security::Insecure
    );
    // The same denial with the DS bit set proves nothing: bogus, never insecure.
    let mut w = world();
    w.fetch.add(
        "plain.",
        RecordType::DS,
        negative(
            &w.root,
            ResponseCode::NoError,
            vec![vec![nsec(
                "plain.",
                "z.",
                &[RecordType::NS, RecordType::DS],
            )]],
        ),
    );
    let v = validator(&w.root, &ValidationConfig::default());
    assert!(matches!(
        run(&v, &w.fetch, "www.plain.", RecordType::A, &answer),
        Security::Bogus(_)
    ));
}

/// RFC 4035 §5.4: NXDOMAIN is secure with the covering NSEC and the
/// wildcard-denying NSEC; without the second it is bogus with EDE 12.
#[test]
fn nxdomain_needs_both_nsec_proofs() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let soa = soa_record("example.");
    let covering = nsec("a.example.", "z.example.", &[RecordType::A]);
    let apex = nsec(
        "example.",
        "a.example.",
        &[RecordType::SOA, RecordType::NS, RecordType::DNSKEY],
    );
    let full = negative(
        &w.example,
        ResponseCode::NXDomain,
        vec![vec![soa.clone()], vec![covering.clone()], vec![apex]],
    );
    assert_eq!(
        run(&v, &w.fetch, "nope.example.", RecordType::A, &full),
        Security::Secure
    );
    let partial = negative(
        &w.example,
        ResponseCode::NXDomain,
        vec![vec![soa], vec![covering]],
    );
    assert_eq!(
        bogus_code(&run(&v, &w.fetch, "nope.example.", RecordType::A, &partial)),
        Some(12)
    );
    // Unsigned denial in a signed zone: bogus (harden-dnssec-stripped).
    let stripped = Answer {
        rcode: ResponseCode::NXDomain,
        answers: Vec::new(),
        authorities: vec![soa_record("example.")],
    };
    assert!(matches!(
        run(&v, &w.fetch, "nope.example.", RecordType::A, &stripped),
        Security::Bogus(_)
    ));
}

/// RFC 4035 §5.3.4: a wildcard expansion (RRSIG labels < owner labels) is
/// secure only with the NSEC proving the name itself does not exist.
#[test]
fn wildcard_answer_needs_the_no_such_name_proof() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    // Signed as *.example. and served as host.example.
    let wildcard = a("*.example.", "192.0.2.9");
    let sig = w.example.sign(std::slice::from_ref(&wildcard));
    let mut served = wildcard.clone();
    served.name = name("host.example.");
    let mut served_sig = sig.clone();
    served_sig.name = name("host.example.");
    let mut answer = positive(vec![served, served_sig]);
    assert!(matches!(
        run(&v, &w.fetch, "host.example.", RecordType::A, &answer),
        Security::Bogus(_)
    ));
    answer.authorities = w.example.signed(vec![nsec(
        "example.",
        "zz.example.",
        &[RecordType::SOA, RecordType::NS],
    )]);
    assert_eq!(
        run(&v, &w.fetch, "host.example.", RecordType::A, &answer),
        Security::Secure
    );
}

/// RFC 4035 §5.3.3: an answer is cached no longer than its signatures last.
#[test]
fn signature_expiry_caps_the_cache_lifetime() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let rrset = vec![a("www.example.", "192.0.2.1")];
    let sig = w.example.sign_between(&rrset, NOW - 3600, NOW + 100);
    let answer = positive(vec![rrset[0].clone(), sig]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (security, cap) = runtime.block_on(v.validate_with_ttl_cap(
        &w.fetch,
        &name("www.example."),
        RecordType::A,
        &answer,
        u64::from(NOW),
    ));
    assert_eq!((security, cap), (Security::Secure, Some(100)));
}

/// RRSIG queries are served unvalidated (Unbound's needs_validation): never
/// AD, never SERVFAIL for lack of a signature over signatures.
#[test]
fn rrsig_queries_are_not_validated() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let sig = w.example.sign(&[a("www.example.", "192.0.2.1")]);
    let answer = positive(vec![sig]);
    assert_eq!(
        run(&v, &w.fetch, "www.example.", RecordType::RRSIG, &answer),
        Security::Unchecked
    );
    assert_eq!(w.fetch.count(), 0);
}

/// A signature verified once is remembered (the same key, bytes and
/// signature verify the same way), so an RRset that comes again costs no
/// public-key operation; anything changed is verified afresh and still fails.
#[test]
fn verified_signatures_are_remembered_and_never_stretch_to_changed_data() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let answer = positive(w.example.signed(vec![a("www.example.", "192.0.2.1")]));
    assert_eq!(
        run(&v, &w.fetch, "www.example.", RecordType::A, &answer),
        Security::Secure
    );
    // The root's DNSKEY set, example.'s DS and DNSKEY sets, and the A RRset.
    assert_eq!(v.chain().verified_signatures(), 4);
    assert_eq!(
        run(&v, &w.fetch, "www.example.", RecordType::A, &answer),
        Security::Secure
    );
    assert_eq!(v.chain().verified_signatures(), 4);
    let mut tampered = answer.clone();
    tampered.answers[0] = a("www.example.", "203.0.113.66");
    assert_eq!(
        bogus_code(&run(&v, &w.fetch, "www.example.", RecordType::A, &tampered)),
        Some(6)
    );
}

/// RFC 8509 §3.2 (root-key-sentinel, on by default as in Unbound): a secure
/// answer for `root-key-sentinel-is-ta-<tag>` is SERVFAIL unless the root
/// anchor has that tag, and for `-not-ta-<tag>` SERVFAIL if it has.
#[test]
fn root_key_sentinel_names_tell_which_root_keys_are_trusted() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let tag = w.root.tag();
    let other = tag.wrapping_add(1);
    let ask = |label: String| {
        let owner = format!("{label}.example.");
        let answer = positive(w.example.signed(vec![a(&owner, "192.0.2.1")]));
        run(&v, &w.fetch, &owner, RecordType::A, &answer)
    };
    assert_eq!(
        ask(format!("root-key-sentinel-is-ta-{tag:05}")),
        Security::Secure
    );
    assert!(matches!(
        ask(format!("root-key-sentinel-is-ta-{other:05}")),
        Security::Bogus(_)
    ));
    assert!(matches!(
        ask(format!("root-key-sentinel-not-ta-{tag:05}")),
        Security::Bogus(_)
    ));
    assert_eq!(
        ask(format!("root-key-sentinel-not-ta-{other:05}")),
        Security::Secure
    );
    let off = ValidationConfig {
        root_key_sentinel: false,
        ..ValidationConfig::default()
    };
    let v = validator(&w.root, &off);
    let owner = format!("root-key-sentinel-is-ta-{other:05}.example.");
    let answer = positive(w.example.signed(vec![a(&owner, "192.0.2.1")]));
    assert_eq!(
        run(&v, &w.fetch, &owner, RecordType::A, &answer),
        Security::Secure
    );
}

/// A `*` label inside a name (which `num_labels` does not count and
/// `trim_to` does) must not stall the walk toward it: each step goes one
/// label deeper, even through a cached "no zone cut" at `*.example.`.
#[test]
fn a_star_label_in_the_walk_still_makes_progress() {
    let mut w = world();
    w.fetch.add(
        "*.example.",
        RecordType::DS,
        negative(
            &w.example,
            ResponseCode::NoError,
            vec![vec![nsec(
                "*.example.",
                "z.example.",
                &[RecordType::A, RecordType::NSEC, RecordType::RRSIG],
            )]],
        ),
    );
    let v = validator(&w.root, &ValidationConfig::default());
    let answer = positive(vec![a("a.*.example.", "192.0.2.1")]);
    let (done, finished) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        // Twice: the second walk meets the cached status of `*.example.`.
        for _ in 0..2 {
            let verdict = run(&v, &w.fetch, "a.*.example.", RecordType::A, &answer);
            assert!(matches!(verdict, Security::Bogus(_)), "{verdict:?}");
        }
        let _ = done.send(());
    });
    assert!(
        finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .is_ok(),
        "the chain walk did not finish"
    );
    handle.join().unwrap();
}

/// An unsigned (forged) SOA beside a valid NSEC proof in a signed zone's
/// denial makes the answer bogus, as Unbound: the authority section of a
/// secure zone verifies whole.
#[test]
fn a_forged_soa_beside_a_valid_denial_is_bogus() {
    let w = world();
    let v = validator(&w.root, &ValidationConfig::default());
    let covering = nsec("a.example.", "z.example.", &[RecordType::A]);
    let apex = nsec(
        "example.",
        "a.example.",
        &[RecordType::SOA, RecordType::NS, RecordType::DNSKEY],
    );
    let mut answer = negative(
        &w.example,
        ResponseCode::NXDomain,
        vec![vec![covering], vec![apex]],
    );
    answer.authorities.push(soa_record("example."));
    assert!(matches!(
        run(&v, &w.fetch, "nope.example.", RecordType::A, &answer),
        Security::Bogus(_)
    ));
}

/// `harden-algo-downgrade` (Unbound's `algo_needs`): `example.`'s DS set
/// lists algorithms 13 and 14, but only the algorithm-13 signature over the
/// DNSKEY set verifies (the "14" key is not what it claims). One algorithm
/// suffices by default (RFC 6840 §5.11); hardened, every one must sign.
#[test]
fn harden_algo_downgrade_needs_every_ds_algorithm() {
    let root = TestKey::new(".", 13);
    let good = TestKey::new("example.", 13);
    let broken = TestKey::new("example.", 14);
    let mut fetch = TableFetch::default();
    fetch.add(".", RecordType::DNSKEY, root.dnskey_answer(&[]));
    fetch.add(
        "example.",
        RecordType::DS,
        positive(root.signed(vec![good.ds(), broken.ds()])),
    );
    let keys = vec![good.dnskey(), broken.dnskey()];
    let mut answers = keys.clone();
    answers.push(good.sign(&keys));
    answers.push(broken.sign(&keys));
    fetch.add("example.", RecordType::DNSKEY, positive(answers));
    let answer = positive(good.signed(vec![a("www.example.", "192.0.2.1")]));
    let lenient = validator(&root, &ValidationConfig::default());
    assert_eq!(
        run(&lenient, &fetch, "www.example.", RecordType::A, &answer),
        Security::Secure
    );
    let hardened = ValidationConfig {
        harden_algo_downgrade: true,
        ..ValidationConfig::default()
    };
    let strict = validator(&root, &hardened);
    assert_eq!(
        bogus_code(&run(
            &strict,
            &fetch,
            "www.example.",
            RecordType::A,
            &answer
        )),
        Some(6)
    );
    // Both algorithms signing for real: secure when hardened too.
    let other = TestKey::new("example.", 13);
    let mut fetch = TableFetch::default();
    fetch.add(".", RecordType::DNSKEY, root.dnskey_answer(&[]));
    fetch.add(
        "example.",
        RecordType::DS,
        positive(root.signed(vec![good.ds(), other.ds()])),
    );
    let keys = vec![good.dnskey(), other.dnskey()];
    let mut answers = keys.clone();
    answers.push(good.sign(&keys));
    answers.push(other.sign(&keys));
    fetch.add("example.", RecordType::DNSKEY, positive(answers));
    let strict = validator(&root, &hardened);
    assert_eq!(
        run(&strict, &fetch, "www.example.", RecordType::A, &answer),
        Security::Secure
    );
}

/// RFC 8198: a secure NXDOMAIN's NSECs go into the negative cache when
/// `aggressive-nsec` is on (Unbound's default), and not when it is off.
#[test]
fn secure_denials_feed_the_negative_cache() {
    let w = world();
    let soa = soa_record("example.");
    let covering = nsec("a.example.", "z.example.", &[RecordType::A]);
    let apex = nsec(
        "example.",
        "a.example.",
        &[RecordType::SOA, RecordType::NS, RecordType::DNSKEY],
    );
    let full = negative(
        &w.example,
        ResponseCode::NXDomain,
        vec![vec![soa], vec![covering], vec![apex]],
    );
    let v = validator(&w.root, &ValidationConfig::default());
    assert_eq!(
        run(&v, &w.fetch, "nope.example.", RecordType::A, &full),
        Security::Secure
    );
    let neg = v.neg_cache().expect("aggressive-nsec is on by default");
    let got = neg
        .synthesize(&name("other.example."), RecordType::A, u64::from(NOW))
        .expect("covered by a.example. NSEC");
    assert_eq!(got.answer.rcode, ResponseCode::NXDomain);
    let off = ValidationConfig {
        aggressive_nsec: false,
        ..ValidationConfig::default()
    };
    let v = validator(&w.root, &off);
    run(&v, &w.fetch, "nope.example.", RecordType::A, &full);
    assert!(v.neg_cache().is_none());
}
