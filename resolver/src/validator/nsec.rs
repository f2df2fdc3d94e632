//! NSEC (RFC 4034 §4) parsing and the NSEC denial proofs of RFC 4035 §5.4,
//! ported from Unbound's `validator/val_nsec.c` and the NSEC halves of
//! `validate_nameerror_response` / `validate_nodata_response` /
//! `validate_positive_response` in `validator/validator.c`.

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::bitmap::TypeBitmap;
use super::denial::{DenialFailure, DsDenial, InsecureReason, Proof};
use super::names::{
    canonical_cmp, is_strict_subdomain, is_subdomain, is_wildcard, label_count, parent,
    read_wire_name, same_name, shared_ancestor, wildcard_of,
};

/// The RDATA of an NSEC record (RFC 4034 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nsec {
    /// The next owner name in the canonical ordering of the zone.
    pub next: Name,
    /// The types present at the owner name.
    pub types: TypeBitmap,
}

/// Reads an NSEC record carried as opaque RDATA; None for any other record
/// or a malformed one (compressed or bad next name, bad bit map).
pub fn parse_nsec(record: &Record) -> Option<Nsec> {
    let rdata = opaque_rdata(record, RecordType::NSEC)?;
    let (next, used) = read_wire_name(rdata)?;
    let types = TypeBitmap::parse(rdata.get(used..)?)?;
    Some(Nsec { next, types })
}

/// The opaque RDATA of `record` if it is of type `rtype`.
pub(super) fn opaque_rdata(record: &Record, rtype: RecordType) -> Option<&[u8]> {
    if record.record_type() != rtype {
        return None;
    }
    match &record.data {
        RData::Unknown { code, rdata } if *code == rtype => Some(rdata.anything.as_slice()),
        _ => None,
    }
}

/// A parsed NSEC with its owner, known to lie inside the zone.
#[derive(Debug)]
pub(super) struct ZoneNsec {
    owner: Name,
    nsec: Nsec,
}

/// What one NSEC says about NODATA for (qname, qtype) (Unbound `nsec_proves_nodata`).
enum Nodata {
    /// Proven: the NSEC matches qname without the type, or proves qname an
    /// empty non-terminal.
    Proven,
    /// Proven if qname does not exist and `*.<encloser>` is the applicable
    /// wildcard (RFC 4035 §3.1.3.4): carries the encloser.
    Wildcard(Name),
    /// The NSEC matches qname and contradicts the NODATA.
    Refuted(DenialFailure),
    /// The NSEC says nothing about qname.
    NotApplicable,
}

/// The well-formed NSECs in `records` whose owner and next name lie inside `zone`.
pub(super) fn zone_nsecs(zone: &Name, records: &[Record]) -> Vec<ZoneNsec> {
    records
        .iter()
        .filter(|r| is_subdomain(&r.name, zone))
        .filter_map(|r| {
            let nsec = parse_nsec(r)?;
            is_subdomain(&nsec.next, zone).then(|| ZoneNsec {
                owner: r.name.clone(),
                nsec,
            })
        })
        .collect()
}

impl ZoneNsec {
    fn has(&self, rtype: RecordType) -> bool {
        self.nsec.types.contains(rtype)
    }

    /// NS without SOA: the parent side of a zone cut, authoritative only for
    /// the DS and NSEC at the cut (RFC 4035 §2.3, RFC 6840 §4.1).
    fn is_delegation(&self) -> bool {
        self.has(RecordType::NS) && !self.has(RecordType::SOA)
    }

    /// Whether this NSEC proves that `qname` does not exist (Unbound
    /// `val_nsec_proves_name_error`): it covers qname, and is not at an
    /// ancestor of qname that is a delegation or a DNAME (RFC 6840 §4.1).
    fn proves_name_error(&self, qname: &Name) -> bool {
        let (owner, next) = (&self.owner, &self.nsec.next);
        if same_name(owner, qname) {
            return false;
        }
        if is_subdomain(qname, owner) && (self.has(RecordType::DNAME) || self.is_delegation()) {
            return false;
        }
        match canonical_cmp(owner, next) {
            // The only NSEC of the zone: apex NSEC apex denies every other name.
            std::cmp::Ordering::Equal => is_strict_subdomain(qname, next),
            // The last NSEC wraps to the apex: it denies names after the owner.
            std::cmp::Ordering::Greater => {
                canonical_cmp(owner, qname).is_lt() && is_strict_subdomain(qname, next)
            }
            std::cmp::Ordering::Less => {
                canonical_cmp(owner, qname).is_lt() && canonical_cmp(qname, next).is_lt()
            }
        }
    }

    /// The closest encloser this NSEC implies for `qname`: the longest
    /// ancestor it shares with the owner or the next name (Unbound
    /// `nsec_closest_encloser`). Both exist, so this never overstates.
    fn closest_encloser(&self, qname: &Name) -> Name {
        let by_owner = shared_ancestor(&self.owner, qname);
        let by_next = shared_ancestor(&self.nsec.next, qname);
        if label_count(&by_owner) > label_count(&by_next) {
            by_owner
        } else {
            by_next
        }
    }

    /// Unbound `nsec_proves_nodata`.
    fn proves_nodata(&self, qname: &Name, qtype: RecordType) -> Nodata {
        let (owner, next) = (&self.owner, &self.nsec.next);
        if !same_name(owner, qname) {
            // RFC 4035 §3.1.3.2 empty non-terminal: the owner sorts before
            // qname and the next name is below it.
            if is_strict_subdomain(next, qname) && canonical_cmp(owner, qname).is_lt() {
                return Nodata::Proven;
            }
            if is_wildcard(owner) {
                let encloser = parent(owner);
                if is_strict_subdomain(qname, &encloser) {
                    return match self.exact_match_failure(qtype) {
                        Some(failure) => Nodata::Refuted(failure),
                        None => Nodata::Wildcard(encloser),
                    };
                }
            } else {
                // The wildcard may itself be an empty non-terminal, seen as
                // an ancestor of the next name.
                let mut name = next.clone();
                while canonical_cmp(owner, &name).is_lt() && !is_subdomain(qname, &name) {
                    if is_wildcard(&name) {
                        let encloser = parent(&name);
                        if is_strict_subdomain(qname, &encloser) {
                            return Nodata::Wildcard(encloser);
                        }
                    }
                    if name.is_root() {
                        break;
                    }
                    name = parent(&name);
                }
            }
            return Nodata::NotApplicable;
        }
        if let Some(failure) = self.exact_match_failure(qtype) {
            return Nodata::Refuted(failure);
        }
        if qtype == RecordType::DS && self.has(RecordType::SOA) && !qname.is_root() {
            // The apex NSEC is the child's: the DS lives in the parent.
            return Nodata::Refuted(DenialFailure::ChildSideDenial);
        }
        Nodata::Proven
    }

    /// Why a matching NSEC does not prove NODATA for `qtype`, if it does not.
    fn exact_match_failure(&self, qtype: RecordType) -> Option<DenialFailure> {
        if self.has(qtype) {
            Some(DenialFailure::TypeExists)
        } else if self.has(RecordType::CNAME) {
            Some(DenialFailure::CnameExists)
        } else if qtype != RecordType::DS && self.is_delegation() {
            Some(DenialFailure::DelegationMisused)
        } else {
            None
        }
    }

    /// Whether this NSEC shows qname at or below an unsigned delegation (NS,
    /// no DS, no SOA): the answer is insecure, not bogus (Unbound
    /// `val_nsec_proves_insecuredelegation`). For DS the NSEC at qname itself
    /// is the DS proof, so only strict ancestors count.
    fn proves_insecure_delegation(&self, qname: &Name, for_ds: bool) -> bool {
        let unsigned_cut = self.is_delegation() && !self.has(RecordType::DS);
        unsigned_cut
            && if for_ds {
                is_strict_subdomain(qname, &self.owner)
            } else {
                is_subdomain(qname, &self.owner)
            }
    }
}

/// The closest encloser of `qname` as proven by the NSECs that deny qname
/// (the longest, as each is a lower bound), if any NSEC denies it.
fn proven_closest_encloser(qname: &Name, nsecs: &[ZoneNsec]) -> Option<Name> {
    nsecs
        .iter()
        .filter(|n| n.proves_name_error(qname))
        .map(|n| n.closest_encloser(qname))
        .max_by_key(label_count)
}

/// RFC 4035 §5.4 name error: an NSEC covering qname and one covering the
/// wildcard at its closest encloser.
pub(super) fn prove_nxdomain(qname: &Name, nsecs: &[ZoneNsec]) -> Proof {
    if nsecs
        .iter()
        .any(|n| n.proves_insecure_delegation(qname, false))
    {
        return Proof::Insecure(InsecureReason::InsecureDelegation);
    }
    let Some(encloser) = proven_closest_encloser(qname, nsecs) else {
        return Proof::Bogus(if nsecs.iter().any(|n| same_name(&n.owner, qname)) {
            DenialFailure::NameExists
        } else {
            DenialFailure::NameNotCovered
        });
    };
    // Every NSEC's encloser is an existing ancestor of qname; take the longest.
    let encloser = nsecs
        .iter()
        .map(|n| n.closest_encloser(qname))
        .fold(encloser, |best, e| {
            if label_count(&e) > label_count(&best) {
                e
            } else {
                best
            }
        });
    match wildcard_of(&encloser) {
        Some(wildcard) if nsecs.iter().any(|n| n.proves_name_error(&wildcard)) => Proof::Secure,
        _ => Proof::Bogus(DenialFailure::WildcardNotDenied),
    }
}

/// RFC 4035 §5.4 NODATA: a matching NSEC without the type, an empty
/// non-terminal NSEC, or a wildcard NSEC at the proven closest encloser.
pub(super) fn prove_nodata(qname: &Name, qtype: RecordType, nsecs: &[ZoneNsec]) -> Proof {
    if nsecs
        .iter()
        .any(|n| n.proves_insecure_delegation(qname, qtype == RecordType::DS))
    {
        return Proof::Insecure(InsecureReason::InsecureDelegation);
    }
    let encloser = proven_closest_encloser(qname, nsecs);
    let mut failure = DenialFailure::NoProof;
    for nsec in nsecs {
        match nsec.proves_nodata(qname, qtype) {
            Nodata::Proven => return Proof::Secure,
            Nodata::Wildcard(wc) => match &encloser {
                Some(ce) if same_name(ce, &wc) => return Proof::Secure,
                _ => failure = DenialFailure::WildcardNotProven,
            },
            Nodata::Refuted(reason) => failure = reason,
            Nodata::NotApplicable => {}
        }
    }
    Proof::Bogus(failure)
}

/// RFC 4035 §5.3.4: an answer expanded from `*.closest_encloser` needs an
/// NSEC proving qname does not exist, whose encloser is that one (Unbound
/// `val_nsec_proves_positive_wildcard`).
pub(super) fn prove_wildcard_expansion(
    qname: &Name,
    closest_encloser: &Name,
    nsecs: &[ZoneNsec],
) -> Proof {
    let proven = nsecs.iter().any(|n| {
        n.proves_name_error(qname) && same_name(&n.closest_encloser(qname), closest_encloser)
    });
    if proven {
        Proof::Secure
    } else {
        Proof::Bogus(DenialFailure::NameNotCovered)
    }
}

/// RFC 4035 §5.2 / Unbound `val_nsec_prove_nodata_dsreply`: what the NSECs
/// prove about a DS at `name`, or None when they prove nothing (try NSEC3).
pub(super) fn prove_no_ds(name: &Name, nsecs: &[ZoneNsec]) -> Option<DsDenial> {
    if let Some(at) = nsecs.iter().find(|n| same_name(&n.owner, name)) {
        return Some(no_ds_at(at, name));
    }
    let encloser = proven_closest_encloser(name, nsecs);
    let mut wildcard = None;
    for nsec in nsecs {
        match nsec.proves_nodata(name, RecordType::DS) {
            // An empty non-terminal is no zone cut.
            Nodata::Proven => return Some(DsDenial::NotACut),
            Nodata::Wildcard(wc)
                if is_wildcard(&nsec.owner)
                    && encloser.as_ref().is_some_and(|ce| same_name(ce, &wc)) =>
            {
                wildcard = Some(nsec);
            }
            _ => {}
        }
    }
    if let Some(wc) = wildcard {
        return Some(no_ds_at(wc, name));
    }
    // Not in Unbound, which only asks DS at names it saw as cuts: a name
    // proven not to exist (nor a wildcard for it) is no cut either.
    (prove_nxdomain(name, nsecs) == Proof::Secure).then_some(DsDenial::NotACut)
}

/// Unbound `val_nsec_proves_no_ds` for the NSEC matching `name` (or its wildcard).
fn no_ds_at(nsec: &ZoneNsec, name: &Name) -> DsDenial {
    if nsec.has(RecordType::SOA) && !name.is_root() {
        DsDenial::Bogus(DenialFailure::ChildSideDenial)
    } else if nsec.has(RecordType::DS) {
        DsDenial::Bogus(DenialFailure::TypeExists)
    } else if !nsec.has(RecordType::NS) {
        DsDenial::NotACut
    } else {
        DsDenial::InsecureDelegation
    }
}
