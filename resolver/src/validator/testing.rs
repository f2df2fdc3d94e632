//! Test fixtures for the validator: a signer (ECDSA P-256, one key per zone)
//! and an in-memory [`Fetch`] that answers DS and DNSKEY lookups from a table.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::records::{canonical_name, key_tag, Rrsig};
use super::Fetch;
use crate::error::ResolveError;
use crate::iterate::Answer;

/// Signatures made here are valid from NOW - 1 h to NOW + 30 days.
pub const NOW: u32 = 1_800_000_000;

/// A record of a type hickory keeps opaque, with a TTL.
pub fn opaque(owner: &Name, rtype: RecordType, ttl: u32, rdata: Vec<u8>) -> Record {
    let mut record = super::denial::testutil::opaque(owner.clone(), rtype, rdata);
    record.ttl = ttl;
    record.dns_class = DNSClass::IN;
    record
}

pub use super::denial::testutil::{name, nsec};

/// An A record.
pub fn a(owner: &str, ip: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::A(ip.parse().expect("test address")),
    )
}

/// A zone's signing key.
pub struct TestKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    /// DNSKEY RDATA.
    pub rdata: Vec<u8>,
    /// Zone apex.
    pub zone: Name,
}

impl TestKey {
    /// A fresh key for `zone` with DNSKEY `flags` and `algorithm` (13 signs for real;
    /// another number makes a key that claims an algorithm it is not).
    pub fn new(zone: &str, algorithm: u8) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("key");
        let mut rdata = vec![0x01, 0x01, 3, algorithm];
        rdata.extend_from_slice(&pair.public_key().as_ref()[1..]);
        Self {
            pair,
            rng,
            rdata,
            zone: name(zone),
        }
    }

    /// Key tag.
    pub fn tag(&self) -> u16 {
        key_tag(&self.rdata)
    }

    /// The DNSKEY record.
    pub fn dnskey(&self) -> Record {
        opaque(&self.zone, RecordType::DNSKEY, 3600, self.rdata.clone())
    }

    /// The DS record (SHA-256) the parent publishes.
    pub fn ds(&self) -> Record {
        let mut data = canonical_name(&self.zone);
        data.extend_from_slice(&self.rdata);
        let digest = ring::digest::digest(&ring::digest::SHA256, &data);
        let mut rdata = self.tag().to_be_bytes().to_vec();
        rdata.extend_from_slice(&[self.rdata[3], 2]);
        rdata.extend_from_slice(digest.as_ref());
        opaque(&self.zone, RecordType::DS, 3600, rdata)
    }

    /// Signs `rrset`, valid over [inception, expiration].
    pub fn sign_between(&self, rrset: &[Record], inception: u32, expiration: u32) -> Record {
        let first = &rrset[0];
        let mut fixed = u16::from(first.record_type()).to_be_bytes().to_vec();
        fixed.push(self.rdata[3]);
        fixed.push(first.name.num_labels());
        fixed.extend_from_slice(&first.ttl.to_be_bytes());
        fixed.extend_from_slice(&expiration.to_be_bytes());
        fixed.extend_from_slice(&inception.to_be_bytes());
        fixed.extend_from_slice(&self.tag().to_be_bytes());
        fixed.extend_from_slice(&canonical_name(&self.zone));
        let mut unsigned = fixed.clone();
        unsigned.push(0);
        let sig = Rrsig::from_record(&opaque(&first.name, RecordType::RRSIG, first.ttl, unsigned))
            .expect("rrsig parses");
        let refs: Vec<&Record> = rrset.iter().collect();
        let data = sig.signed_data(&refs).expect("signed data");
        let signature = self.pair.sign(&self.rng, &data).expect("sign");
        fixed.extend_from_slice(signature.as_ref());
        opaque(&first.name, RecordType::RRSIG, first.ttl, fixed)
    }

    /// Signs `rrset` with the default validity.
    pub fn sign(&self, rrset: &[Record]) -> Record {
        self.sign_between(rrset, NOW - 3600, NOW + 30 * 86400)
    }

    /// `rrset` followed by its signature.
    pub fn signed(&self, rrset: Vec<Record>) -> Vec<Record> {
        let sig = self.sign(&rrset);
        let mut out = rrset;
        out.push(sig);
        out
    }

    /// The self-signed DNSKEY set, with `extra` keys in it.
    pub fn dnskey_answer(&self, extra: &[Record]) -> Answer {
        let mut keys = vec![self.dnskey()];
        keys.extend_from_slice(extra);
        positive(self.signed(keys))
    }
}

/// The SOA of `zone` (TTL 300, MINIMUM 300).
pub fn soa_record(zone: &str) -> Record {
    let rdata = hickory_proto::rr::rdata::SOA::new(
        name(&format!("ns.{zone}")),
        name(&format!("host.{zone}")),
        1,
        3600,
        900,
        86400,
        300,
    );
    Record::from_rdata(name(zone), 300, RData::SOA(rdata))
}

/// A NOERROR answer.
pub fn positive(answers: Vec<Record>) -> Answer {
    Answer {
        rcode: ResponseCode::NoError,
        answers,
        authorities: Vec::new(),
    }
}

/// A table of answers for DS/DNSKEY lookups, counting them.
#[derive(Default)]
pub struct TableFetch {
    /// Answers by (lower-case name, type).
    pub answers: HashMap<(Name, RecordType), Answer>,
    /// Lookups made.
    pub lookups: AtomicU32,
}

impl TableFetch {
    /// Adds an answer.
    pub fn add(&mut self, owner: &str, rtype: RecordType, answer: Answer) {
        self.answers
            .insert((name(owner).to_lowercase(), rtype), answer);
    }

    /// Lookups made so far.
    pub fn count(&self) -> u32 {
        self.lookups.load(Ordering::Relaxed)
    }
}

impl Fetch for TableFetch {
    async fn fetch(&self, name: &Name, qtype: RecordType) -> Result<Answer, ResolveError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.answers
            .get(&(name.to_lowercase(), qtype))
            .cloned()
            .ok_or(ResolveError::Timeout)
    }
}
