//! DNSSEC signing for fixture zones: one ECDSA P-256/SHA-256 key (algorithm 13,
//! RFC 6605) per zone, used as both KSK and ZSK, generated when the hierarchy
//! starts, so signatures are always fresh and nothing secret is committed.
//!
//! The records are built as opaque `RData::Unknown` bytes (the workspace builds
//! hickory without its DNSSEC feature, on purpose: the resolver under test must
//! carry these records without understanding them). Formats, RFC 4034:
//! - DNSKEY (§2.1): flags 257 (zone key + SEP), protocol 3, algorithm 13, and
//!   the public point x‖y (RFC 6605 §4).
//! - RRSIG (§3.1): signed data per §3.1.8.1, RRs in canonical form and order
//!   (§6.2, §6.3), the signature r‖s (RFC 6605 §4).
//! - NSEC (§4.1): next owner name uncompressed, then the type bitmap windows.
//! - DS (§5.1) with digest type 2, SHA-256 (RFC 4509).

use anyhow::{anyhow, Context as _};
use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

/// DNSSEC algorithm number of ECDSA P-256 with SHA-256.
pub const ALGORITHM: u8 = 13;

/// Seconds a signature is valid before and after the moment of signing.
const INCEPTION_SLACK: u32 = 3600;
/// See [`INCEPTION_SLACK`]: thirty days ahead.
const VALIDITY: u32 = 30 * 86400;

/// A zone's signing key.
pub struct ZoneKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    dnskey_rdata: Vec<u8>,
    key_tag: u16,
}

impl std::fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneKey")
            .field("key_tag", &self.key_tag)
            .finish_non_exhaustive()
    }
}

impl ZoneKey {
    /// A fresh random key.
    pub fn generate() -> anyhow::Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| anyhow!("generating an ECDSA P-256 key"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| anyhow!("loading the generated ECDSA key"))?;
        // ring gives the uncompressed point 0x04‖x‖y; DNSKEY carries x‖y.
        let point = pair.public_key().as_ref();
        let public = point
            .get(1..)
            .filter(|p| p.len() == 64)
            .ok_or_else(|| anyhow!("unexpected ECDSA public key length {}", point.len()))?;
        let mut dnskey_rdata = vec![0x01, 0x01, 3, ALGORITHM];
        dnskey_rdata.extend_from_slice(public);
        let key_tag = key_tag(&dnskey_rdata);
        Ok(Self {
            pair,
            rng,
            dnskey_rdata,
            key_tag,
        })
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }

    /// The DNSKEY record for `apex`.
    pub fn dnskey(&self, apex: &Name, ttl: u32) -> Record {
        opaque(
            apex.clone(),
            ttl,
            RecordType::DNSKEY,
            self.dnskey_rdata.clone(),
        )
    }

    /// The DS of this key for `apex` as presentation text after the type
    /// (`<tag> 13 2 <hex digest>`), what a trust anchor or parent zone states.
    pub fn ds_text(&self, apex: &Name) -> anyhow::Result<String> {
        let mut data = canonical_name(apex)?;
        data.extend_from_slice(&self.dnskey_rdata);
        let digest = ring::digest::digest(&ring::digest::SHA256, &data);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        Ok(format!("{} {ALGORITHM} 2 {hex}", self.key_tag))
    }

    /// Signs one RRset (same owner, type and class) as `signer`, valid from an
    /// hour ago for thirty days from `now_unix`.
    pub fn sign(&self, rrset: &[Record], signer: &Name, now_unix: u64) -> anyhow::Result<Record> {
        let first = rrset
            .first()
            .ok_or_else(|| anyhow!("signing an empty RRset"))?;
        let now = u32::try_from(now_unix % (1 << 32)).unwrap_or(0);
        let ttl = first.ttl;
        let mut rdata = Vec::with_capacity(160);
        rdata.extend_from_slice(&u16::from(first.record_type()).to_be_bytes());
        rdata.push(ALGORITHM);
        // Labels of the owner, a leading `*` not counted (RFC 4034 §3.1.3).
        rdata.push(first.name.num_labels());
        rdata.extend_from_slice(&ttl.to_be_bytes());
        rdata.extend_from_slice(&now.wrapping_add(VALIDITY).to_be_bytes());
        rdata.extend_from_slice(&now.wrapping_sub(INCEPTION_SLACK).to_be_bytes());
        rdata.extend_from_slice(&self.key_tag.to_be_bytes());
        rdata.extend_from_slice(&canonical_name(signer)?);

        let owner = canonical_name(&first.name)?;
        let mut rrs: Vec<Vec<u8>> = rrset
            .iter()
            .map(canonical_rdata)
            .collect::<anyhow::Result<_>>()?;
        rrs.sort();
        rrs.dedup();
        let mut signed = rdata.clone();
        for rr_rdata in &rrs {
            signed.extend_from_slice(&owner);
            signed.extend_from_slice(&u16::from(first.record_type()).to_be_bytes());
            signed.extend_from_slice(&u16::from(DNSClass::IN).to_be_bytes());
            signed.extend_from_slice(&ttl.to_be_bytes());
            let len = u16::try_from(rr_rdata.len()).context("RDATA over 65535 bytes")?;
            signed.extend_from_slice(&len.to_be_bytes());
            signed.extend_from_slice(rr_rdata);
        }
        let signature = self
            .pair
            .sign(&self.rng, &signed)
            .map_err(|_| anyhow!("ECDSA signing failed"))?;
        rdata.extend_from_slice(signature.as_ref());
        Ok(opaque(first.name.clone(), ttl, RecordType::RRSIG, rdata))
    }
}

/// An NSEC record at `owner` pointing to `next`, listing `types`.
pub fn nsec(owner: &Name, ttl: u32, next: &Name, types: &[RecordType]) -> anyhow::Result<Record> {
    let mut rdata = canonical_name(next)?;
    rdata.extend_from_slice(&type_bitmap(types));
    Ok(opaque(owner.clone(), ttl, RecordType::NSEC, rdata))
}

/// The type that an RRSIG built here (or read from the wire) covers.
pub fn rrsig_covered(record: &Record) -> Option<RecordType> {
    match &record.data {
        RData::Unknown { code, rdata } if *code == RecordType::RRSIG => {
            match rdata.anything.as_slice() {
                [high, low, ..] => Some(RecordType::from(u16::from_be_bytes([*high, *low]))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// RFC 4034 §4.1.2: windows of up to 32 bytes, one bit per type, MSB first.
fn type_bitmap(types: &[RecordType]) -> Vec<u8> {
    let mut codes: Vec<u16> = types.iter().map(|t| u16::from(*t)).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut out = Vec::new();
    let mut index = 0;
    while index < codes.len() {
        let window = codes[index] >> 8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while index < codes.len() && codes[index] >> 8 == window {
            let low = usize::from(codes[index] & 0xff);
            bits[low / 8] |= 0x80 >> (low % 8);
            used = low / 8 + 1;
            index += 1;
        }
        out.push(window as u8);
        out.push(used as u8);
        out.extend_from_slice(&bits[..used]);
    }
    out
}

/// RFC 4034 Appendix B.
fn key_tag(rdata: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for (i, byte) in rdata.iter().enumerate() {
        acc += if i % 2 == 0 {
            u32::from(*byte) << 8
        } else {
            u32::from(*byte)
        };
    }
    acc += (acc >> 16) & 0xffff;
    (acc & 0xffff) as u16
}

/// A name in canonical wire form: lower case, uncompressed.
fn canonical_name(name: &Name) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.to_lowercase().iter() {
        out.push(u8::try_from(label.len()).context("label over 255 bytes")?);
        out.extend_from_slice(label);
    }
    out.push(0);
    Ok(out)
}

/// RDATA in canonical form (RFC 4034 §6.2: embedded names of the RFC 1035-era
/// types lower-cased, nothing compressed).
fn canonical_rdata(record: &Record) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_canonical_form(true);
    record
        .data
        .emit(&mut encoder)
        .map_err(|e| anyhow!("encoding {} for signing: {e}", record.name))?;
    Ok(out)
}

/// A record of a type hickory is built without, as raw RDATA.
fn opaque(owner: Name, ttl: u32, rtype: RecordType, rdata: Vec<u8>) -> Record {
    let mut record = Record::from_rdata(
        owner,
        ttl,
        RData::Unknown {
            code: rtype,
            rdata: NULL::with(rdata),
        },
    );
    record.dns_class = DNSClass::IN;
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn bitmap_matches_rfc4034_example() {
        // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
        let bitmap = type_bitmap(&[
            RecordType::A,
            RecordType::MX,
            RecordType::RRSIG,
            RecordType::NSEC,
            RecordType::Unknown(1234),
        ]);
        let expected: Vec<u8> = vec![
            0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
        ];
        assert_eq!(bitmap, expected);
    }

    #[test]
    fn signatures_verify_with_the_published_key() {
        let key = ZoneKey::generate().unwrap();
        let owner = Name::from_ascii("WWW.signed.test.").unwrap();
        let rrset = vec![Record::from_rdata(
            owner.clone(),
            300,
            RData::A("192.0.2.1".parse().unwrap()),
        )];
        let signer = Name::from_ascii("signed.test.").unwrap();
        let sig = key.sign(&rrset, &signer, 1_800_000_000).unwrap();
        let RData::Unknown { rdata, .. } = &sig.data else {
            panic!()
        };
        let rdata = &rdata.anything;
        let signer_wire = canonical_name(&signer).unwrap();
        let prefix_len = 18 + signer_wire.len();
        let mut data = rdata[..prefix_len].to_vec();
        data.extend_from_slice(&canonical_name(&owner).unwrap());
        data.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        let mut point = vec![4u8];
        point.extend_from_slice(&key.dnskey_rdata[4..]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(&data, &rdata[prefix_len..])
            .expect("signature verifies over the canonical RRset");
        assert_eq!(rdata[3], 3, "labels of www.signed.test");
        assert!(key.ds_text(&signer).unwrap().contains(" 13 2 "));
    }
}
