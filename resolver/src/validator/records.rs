//! DNSKEY, DS and RRSIG read from their opaque RDATA (the workspace builds
//! hickory without its DNSSEC types, so these records travel as the bytes the
//! server sent), and the to-be-signed form of an RRset (RFC 4034 §3.1.8.1, §6).

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

use super::crypto;
pub use super::names::canonical_wire as canonical_name;

/// DNSKEY flag: a zone key (RFC 4034 §2.1.1).
const FLAG_ZONE: u16 = 0x0100;
/// DNSKEY flag: revoked (RFC 5011 §2.1).
pub const FLAG_REVOKE: u16 = 0x0080;
/// DNSKEY flag: secure entry point (a KSK).
pub const FLAG_SEP: u16 = 0x0001;

/// The opaque RDATA of a DNSSEC record of type `rtype`.
pub fn opaque_rdata(record: &Record, rtype: RecordType) -> Option<&[u8]> {
    match &record.data {
        RData::Unknown { code, rdata } if *code == rtype => Some(rdata.anything.as_slice()),
        _ => None,
    }
}

/// A parsed DNSKEY (RFC 4034 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dnskey {
    /// Flags field.
    pub flags: u16,
    /// Algorithm number.
    pub algorithm: u8,
    /// The key tag (RFC 4034 Appendix B).
    pub tag: u16,
    /// The whole RDATA (what a DS digest covers).
    pub rdata: Box<[u8]>,
}

impl Dnskey {
    /// Parses DNSKEY RDATA; None when malformed (protocol must be 3).
    pub fn from_rdata(rdata: &[u8]) -> Option<Self> {
        let [f0, f1, protocol, algorithm, key @ ..] = rdata else {
            return None;
        };
        if *protocol != 3 || key.is_empty() {
            return None;
        }
        Some(Self {
            flags: u16::from_be_bytes([*f0, *f1]),
            algorithm: *algorithm,
            tag: key_tag(rdata),
            rdata: rdata.into(),
        })
    }

    /// Parses a DNSKEY record.
    pub fn from_record(record: &Record) -> Option<Self> {
        Self::from_rdata(opaque_rdata(record, RecordType::DNSKEY)?)
    }

    /// The public key field.
    pub fn public_key(&self) -> &[u8] {
        self.rdata.get(4..).unwrap_or_default()
    }

    /// Whether the key may sign zone data: zone flag set, not revoked.
    pub fn is_usable_zone_key(&self) -> bool {
        self.flags & FLAG_ZONE != 0 && self.flags & FLAG_REVOKE == 0
    }
}

/// The key tag of DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not used).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, byte) in rdata.iter().enumerate() {
        sum += if i & 1 == 0 {
            u32::from(*byte) << 8
        } else {
            u32::from(*byte)
        };
    }
    sum += (sum >> 16) & 0xFFFF;
    (sum & 0xFFFF) as u16
}

/// A parsed DS (RFC 4034 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ds {
    /// Key tag of the DNSKEY it names.
    pub tag: u16,
    /// Algorithm of that DNSKEY.
    pub algorithm: u8,
    /// Digest type.
    pub digest_type: u8,
    /// The digest.
    pub digest: Box<[u8]>,
}

impl Ds {
    /// Parses DS RDATA.
    pub fn from_rdata(rdata: &[u8]) -> Option<Self> {
        let [t0, t1, algorithm, digest_type, digest @ ..] = rdata else {
            return None;
        };
        if digest.is_empty() {
            return None;
        }
        Some(Self {
            tag: u16::from_be_bytes([*t0, *t1]),
            algorithm: *algorithm,
            digest_type: *digest_type,
            digest: digest.into(),
        })
    }

    /// Parses a DS record.
    pub fn from_record(record: &Record) -> Option<Self> {
        Self::from_rdata(opaque_rdata(record, RecordType::DS)?)
    }

    /// Whether we can use this DS: algorithm and digest both supported.
    pub fn is_supported(&self) -> bool {
        crypto::algorithm_supported(self.algorithm) && crypto::digest_supported(self.digest_type)
    }

    /// Whether `key` at `owner` is the key this DS names (RFC 4034 §5.1.4).
    pub fn matches(&self, owner: &Name, key: &Dnskey) -> bool {
        if key.tag != self.tag || key.algorithm != self.algorithm {
            return false;
        }
        let mut data = canonical_name(owner);
        data.extend_from_slice(&key.rdata);
        crypto::ds_digest(self.digest_type, &data)
            .is_some_and(|digest| digest.as_ref() == &*self.digest)
    }
}

/// A parsed RRSIG (RFC 4034 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rrsig {
    /// Type covered.
    pub type_covered: RecordType,
    /// Algorithm.
    pub algorithm: u8,
    /// Labels of the owner when signed (fewer than the owner's: a wildcard expansion).
    pub labels: u8,
    /// Original TTL.
    pub original_ttl: u32,
    /// Signature expiration, serial-number seconds.
    pub expiration: u32,
    /// Signature inception, serial-number seconds.
    pub inception: u32,
    /// Key tag of the signing key.
    pub key_tag: u16,
    /// The signer's name: the zone apex.
    pub signer: Name,
    /// The signature.
    pub signature: Box<[u8]>,
}

impl Rrsig {
    /// Parses an RRSIG record.
    pub fn from_record(record: &Record) -> Option<Self> {
        let rdata = opaque_rdata(record, RecordType::RRSIG)?;
        let fixed = rdata.get(..18)?;
        let tail = rdata.get(18..)?;
        let mut decoder = BinDecoder::new(tail);
        let signer = Name::read(&mut decoder).ok()?;
        let signature = tail.get(decoder.index()..)?;
        if signature.is_empty() {
            return None;
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        Some(Self {
            type_covered: RecordType::from(u16::from_be_bytes([fixed[0], fixed[1]])),
            algorithm: fixed[2],
            labels: fixed[3],
            original_ttl: u32_at(4),
            expiration: u32_at(8),
            inception: u32_at(12),
            key_tag: u16::from_be_bytes([fixed[16], fixed[17]]),
            signer,
            signature: signature.into(),
        })
    }

    /// The to-be-signed bytes for `rrset` under this signature (RFC 4034
    /// §3.1.8.1): the RRSIG RDATA without the signature and with the signer in
    /// canonical form, then each RR in canonical form and order, duplicates
    /// removed (§6.3), owner rewritten for a wildcard expansion (RFC 4035 §5.3.2).
    /// None when a record cannot be encoded or the labels field is impossible.
    pub fn signed_data(&self, rrset: &[&Record]) -> Option<Vec<u8>> {
        let first = rrset.first()?;
        let owner_labels = first.name.num_labels();
        if self.labels > owner_labels {
            return None;
        }
        let owner = if self.labels < owner_labels {
            Name::from_ascii("*")
                .ok()?
                .append_name(&first.name.trim_to(usize::from(self.labels)))
                .ok()?
        } else {
            first.name.clone()
        };
        let owner_wire = canonical_name(&owner);
        let mut rdatas: Vec<Vec<u8>> = rrset
            .iter()
            .map(|r| canonical_rdata(r))
            .collect::<Option<_>>()?;
        rdatas.sort();
        rdatas.dedup();
        let mut out = Vec::with_capacity(64 + rdatas.iter().map(|r| r.len() + 32).sum::<usize>());
        out.extend_from_slice(&u16::from(self.type_covered).to_be_bytes());
        out.push(self.algorithm);
        out.push(self.labels);
        out.extend_from_slice(&self.original_ttl.to_be_bytes());
        out.extend_from_slice(&self.expiration.to_be_bytes());
        out.extend_from_slice(&self.inception.to_be_bytes());
        out.extend_from_slice(&self.key_tag.to_be_bytes());
        out.extend_from_slice(&canonical_name(&self.signer));
        for rdata in rdatas {
            out.extend_from_slice(&owner_wire);
            out.extend_from_slice(&u16::from(self.type_covered).to_be_bytes());
            out.extend_from_slice(&u16::from(DNSClass::IN).to_be_bytes());
            out.extend_from_slice(&self.original_ttl.to_be_bytes());
            out.extend_from_slice(&u16::try_from(rdata.len()).ok()?.to_be_bytes());
            out.extend_from_slice(&rdata);
        }
        Some(out)
    }
}

/// A record's RDATA in canonical form: names inside lowercased for the types
/// RFC 4034 §6.2 lists (hickory's canonical encoder), opaque RDATA as received.
fn canonical_rdata(record: &Record) -> Option<Vec<u8>> {
    if let RData::Unknown { rdata, .. } = &record.data {
        return Some(rdata.anything.clone());
    }
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_canonical_form(true);
    record.data.emit(&mut encoder).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4034 Appendix B / §5.4 example: the DNSKEY of example.com in §2.3
    /// has key tag 60485; its DS (§5.4) is 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118.
    #[test]
    fn key_tag_and_ds_digest_match_rfc4034_examples() {
        let key_b64 = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
        let mut rdata = vec![0x01, 0x00, 3, 5];
        rdata.extend(base64_decode(key_b64));
        let key = Dnskey::from_rdata(&rdata).unwrap();
        assert_eq!(key.tag, 60485);
        let ds = Ds {
            tag: 60485,
            algorithm: 5,
            digest_type: 1,
            digest: hex("2BB183AF5F22588179A53B0A98631FAD1A292118").into(),
        };
        let owner = Name::from_ascii("dskey.example.com.").unwrap();
        assert!(ds.matches(&owner, &key));
        assert!(!ds.matches(&Name::from_ascii("other.example.com.").unwrap(), &key));
    }

    /// RFC 4034 §3.1.8.1: the signer name is lowercased in the signed data and
    /// a wildcard-expanded owner is signed as `*.` plus the RRSIG's labels.
    #[test]
    fn signed_data_uses_canonical_signer_and_wildcard_owner() {
        let mut rdata = vec![0, 1, 13, 2, 0, 0, 0, 60, 0, 0, 0, 9, 0, 0, 0, 1, 0, 7];
        rdata.extend(canonical_name(&Name::from_ascii("Example.COM.").unwrap()));
        rdata.extend([1, 2, 3]);
        let owner = Name::from_ascii("a.b.example.com.").unwrap();
        let sig_record = Record::from_rdata(
            owner.clone(),
            60,
            RData::Unknown {
                code: RecordType::RRSIG,
                rdata: hickory_proto::rr::rdata::NULL::with(rdata),
            },
        );
        let sig = Rrsig::from_record(&sig_record).unwrap();
        assert_eq!(sig.labels, 2);
        assert_eq!(&*sig.signature, &[1, 2, 3]);
        let a = Record::from_rdata(owner, 60, RData::A("192.0.2.1".parse().unwrap()));
        let data = sig.signed_data(&[&a]).unwrap();
        let signer = canonical_name(&Name::from_ascii("example.com.").unwrap());
        assert_eq!(&data[18..18 + signer.len()], &signer[..]);
        let wildcard = canonical_name(&Name::from_ascii("*.example.com.").unwrap());
        let rr = &data[18 + signer.len()..];
        assert_eq!(&rr[..wildcard.len()], &wildcard[..]);
        assert_eq!(&rr[rr.len() - 4..], &[192, 0, 2, 1]);
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        super::super::anchor::base64_decode(text).unwrap()
    }
}
