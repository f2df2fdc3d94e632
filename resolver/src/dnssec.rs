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
}
