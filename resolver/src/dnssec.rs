//! DNSSEC records carried, not validated: the RRSIGs of every RRset we keep and
//! the NSEC/NSEC3 proofs of negative and wildcard answers travel with the data,
//! so DO clients get them and a validating Unbound reading our cachedb entries
//! can check them. Built without hickory's DNSSEC feature, these records are
//! opaque `RData::Unknown` bytes; only an RRSIG's type-covered field is read.

use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Whether `rtype` is a proof type (RRSIG, NSEC, NSEC3) rather than data.
pub fn is_proof_type(rtype: RecordType) -> bool {
    common::dns::wire::is_dnssec_type(u16::from(rtype))
}

/// The type an RRSIG signs (its first RDATA field, RFC 4034 §3.1.1), or None
/// for any other record.
pub fn rrsig_covered(record: &Record) -> Option<RecordType> {
    if record.record_type() != RecordType::RRSIG {
        return None;
    }
    match &record.data {
        RData::Unknown { rdata, .. } => match rdata.anything.as_slice() {
            [high, low, ..] => Some(RecordType::from(u16::from_be_bytes([*high, *low]))),
            _ => None,
        },
        _ => None,
    }
}

/// The RRset a record belongs to: its own type, or for an RRSIG the type it
/// signs (so signatures are cached and served with their RRset).
pub fn rrset_type(record: &Record) -> RecordType {
    rrsig_covered(record).unwrap_or_else(|| record.record_type())
}

/// True when an RRSIG in `rrset` shows that the RRset was synthesised from a
/// wildcard: its labels field (RFC 4034 §3.1.3) counts fewer labels than the
/// owner has. Such data is valid only with the NSEC/NSEC3 proof that the name
/// itself does not exist, so it must not be cached apart from that proof.
pub fn is_wildcard_expansion(rrset: &[Record]) -> bool {
    rrset.iter().any(|record| {
        rrsig_covered(record).is_some()
            && match &record.data {
                RData::Unknown { rdata, .. } => rdata
                    .anything
                    .get(3)
                    .is_some_and(|labels| *labels < record.name.num_labels()),
                _ => false,
            }
    })
}

/// The RRSIGs in `records` that sign (`owner`, `covered`).
pub fn signatures<'a>(
    records: &'a [Record],
    owner: &'a Name,
    covered: RecordType,
) -> impl Iterator<Item = &'a Record> + 'a {
    records
        .iter()
        .filter(move |r| rrsig_covered(r) == Some(covered) && r.name == *owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::NULL;

    #[test]
    fn rrsig_type_covered_is_read_from_opaque_rdata() {
        let owner = Name::from_ascii("www.example.com.").unwrap();
        let sig = Record::from_rdata(
            owner.clone(),
            300,
            RData::Unknown {
                code: RecordType::RRSIG,
                rdata: NULL::with(vec![0, 28, 13, 3, 0, 0, 1, 44]),
            },
        );
        assert_eq!(rrsig_covered(&sig), Some(RecordType::AAAA));
        assert_eq!(rrset_type(&sig), RecordType::AAAA);
        let records = [sig];
        assert_eq!(signatures(&records, &owner, RecordType::AAAA).count(), 1);
        assert_eq!(signatures(&records, &owner, RecordType::A).count(), 0);
        assert!(is_proof_type(RecordType::NSEC3) && !is_proof_type(RecordType::DS));
    }

    #[test]
    fn a_signature_with_fewer_labels_than_its_owner_marks_a_wildcard_expansion() {
        let owner = Name::from_ascii("x.edge.example.net.").unwrap();
        let signed_with = |labels: u8| {
            Record::from_rdata(
                owner.clone(),
                300,
                RData::Unknown {
                    code: RecordType::RRSIG,
                    rdata: NULL::with(vec![0, 1, 13, labels, 0, 0, 1, 44]),
                },
            )
        };
        // *.edge.example.net. has 3 labels without the asterisk.
        assert!(is_wildcard_expansion(&[signed_with(3)]));
        assert!(!is_wildcard_expansion(&[signed_with(4)]));
        assert!(!is_wildcard_expansion(&[]));
    }
}
