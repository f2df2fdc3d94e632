//! Denial of existence: what already verified NSEC/NSEC3 records of one zone
//! prove about a name (RFC 4035 §5.4, RFC 5155 §8). Pure functions, no I/O:
//! the caller has checked every signature and passes the zone that signed
//! them. NSEC proofs come first and NSEC3 is tried when they fail, as in
//! Unbound's `validator.c` (`validate_nameerror_response`,
//! `validate_nodata_response`, `validate_positive_response`,
//! `ds_response_to_ke`).
//!
//! Records of other types, other zones, unknown NSEC3 algorithms or flags,
//! and malformed records are ignored, never trusted and never a panic.

use hickory_proto::rr::{Name, Record, RecordType};

use super::names::{is_strict_subdomain, is_subdomain, same_name};
use super::nsec;
use super::nsec3::{self, ChainState, Prover};

/// NSEC3 name hashes one client answer may cost (its chain of trust included):
/// a deep NXDOMAIN proof needs a handful; Unbound suspends after 8 per step.
pub const MAX_NSEC3_HASHES: u32 = 32;

/// Work bound for one validation: NSEC3 hash computations left. Each distinct
/// name hashed costs one, however many iterations (Unbound
/// `MAX_NSEC3_CALCULATIONS`; CVE-2023-50868). Share one budget across every
/// proof of one client query.
#[derive(Debug, Clone)]
pub struct Nsec3Budget {
    left: u32,
}

impl Nsec3Budget {
    /// A budget of `max_hashes` name hashes.
    pub fn new(max_hashes: u32) -> Self {
        Self { left: max_hashes }
    }

    /// Hashes still allowed.
    pub fn remaining(&self) -> u32 {
        self.left
    }

    /// Spends one hash; false when none is left.
    pub(super) fn take(&mut self) -> bool {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                true
            }
            None => false,
        }
    }
}

/// Limits from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenialLimits {
    /// NSEC3 iterations above this make the answer insecure (RFC 9276 §3.2;
    /// Unbound `val-nsec3-keysize-iterations`, 150 for every key size since 1.19).
    pub max_nsec3_iterations: u16,
}

impl Default for DenialLimits {
    fn default() -> Self {
        Self {
            max_nsec3_iterations: 150,
        }
    }
}

/// Why a denial is proven only as far as an unsigned span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InsecureReason {
    /// The next closer name is in an NSEC3 opt-out span (RFC 5155 §6, §9.2).
    #[error("NSEC3 opt-out span covers the name")]
    OptOut,
    /// NSEC3 iterations above the configured limit (RFC 9276 §3.2).
    #[error("NSEC3 iterations above the limit")]
    Nsec3Iterations,
    /// The name is at or below a delegation the zone proves unsigned (NS, no DS).
    #[error("name is below an unsigned delegation")]
    InsecureDelegation,
}

impl InsecureReason {
    /// The Extended DNS Error (RFC 8914) to attach, if any: 27 "Unsupported
    /// NSEC3 Iterations Value" for too many iterations.
    pub fn ede(self) -> Option<u16> {
        match self {
            Self::Nsec3Iterations => Some(27),
            Self::OptOut | Self::InsecureDelegation => None,
        }
    }
}

/// Why a denial is not proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DenialFailure {
    /// No usable NSEC or NSEC3 record of the zone.
    #[error("no NSEC or NSEC3 records")]
    NoRecords,
    /// The name is not inside the zone, or the encloser given is not its ancestor.
    #[error("name outside the signing zone or its encloser")]
    OutOfZone,
    /// Nothing covers the name (NSEC).
    #[error("no NSEC covers the name")]
    NameNotCovered,
    /// A record matches the name: it exists.
    #[error("the name exists")]
    NameExists,
    /// Nothing denies the wildcard at the closest encloser.
    #[error("wildcard at the closest encloser not denied")]
    WildcardNotDenied,
    /// A wildcard NODATA without a matching closest-encloser proof.
    #[error("wildcard NODATA without closest encloser proof")]
    WildcardNotProven,
    /// No NSEC3 matches any ancestor of the name.
    #[error("no NSEC3 closest encloser")]
    NoClosestEncloser,
    /// No NSEC3 covers the next closer name.
    #[error("no NSEC3 covers the next closer name")]
    NextCloserNotCovered,
    /// No record proves NODATA.
    #[error("no NSEC/NSEC3 proves NODATA")]
    NoProof,
    /// The matching record lists the queried type.
    #[error("the type exists")]
    TypeExists,
    /// The matching record lists CNAME: a CNAME answer was due.
    #[error("a CNAME exists at the name")]
    CnameExists,
    /// A parent-side record (NS without SOA) used for a name below the cut,
    /// or for a type other than DS at the cut (RFC 4035 §2.3, RFC 6840 §4.1).
    #[error("delegation NSEC/NSEC3 used beyond the parent's authority")]
    DelegationMisused,
    /// A record with DNAME used for a name below it (RFC 6840 §4.1).
    #[error("DNAME NSEC/NSEC3 used for a name below it")]
    DnameMisused,
    /// A child apex record (SOA) used to deny a DS, which lives in the parent.
    #[error("child-side NSEC/NSEC3 used to deny DS")]
    ChildSideDenial,
    /// The NSEC3 records come from chains with different parameters.
    #[error("NSEC3 parameters differ")]
    Nsec3ParamsMismatch,
    /// The NSEC3 hash budget ran out (CVE-2023-50868).
    #[error("NSEC3 hash budget exhausted")]
    Nsec3BudgetExhausted,
}

impl DenialFailure {
    /// The Extended DNS Error (RFC 8914) to attach: 12 "NSEC Missing" when a
    /// needed record is absent, 6 "DNSSEC Bogus" when the records contradict.
    pub fn ede(self) -> u16 {
        match self {
            Self::NoRecords
            | Self::NameNotCovered
            | Self::WildcardNotDenied
            | Self::WildcardNotProven
            | Self::NoClosestEncloser
            | Self::NextCloserNotCovered
            | Self::NoProof => 12,
            Self::OutOfZone
            | Self::NameExists
            | Self::TypeExists
            | Self::CnameExists
            | Self::DelegationMisused
            | Self::DnameMisused
            | Self::ChildSideDenial
            | Self::Nsec3ParamsMismatch
            | Self::Nsec3BudgetExhausted => 6,
        }
    }
}

/// What verified NSEC/NSEC3 records prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The denial is proven.
    Secure,
    /// Proven only as far as an unsigned span: the answer is insecure, not bogus.
    Insecure(InsecureReason),
    /// Not proven.
    Bogus(DenialFailure),
}

/// What a DS NODATA/NXDOMAIN reply for a name proves (RFC 4035 §5.2, RFC 5155 §8.6, §8.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsDenial {
    /// The name is a zone cut without DS (or in an NSEC3 opt-out span): the
    /// child is insecure.
    InsecureDelegation,
    /// The name is no zone cut (exists without NS, is an empty non-terminal,
    /// or does not exist): the walk continues with the same key.
    NotACut,
    /// Not proven.
    Bogus(DenialFailure),
}

/// NSEC first; when it does not settle the question and NSEC3s are present,
/// the NSEC3 proof decides (Unbound tries NSEC3 only if `nsec3s_seen`).
fn decide(
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut Nsec3Budget,
    by_nsec: impl FnOnce(&[nsec::ZoneNsec]) -> Proof,
    by_nsec3: impl FnOnce(&mut Prover<'_>) -> Proof,
) -> Proof {
    let nsecs = nsec::zone_nsecs(zone, records);
    let nsec_proof = (!nsecs.is_empty()).then(|| by_nsec(&nsecs));
    if let Some(proof @ (Proof::Secure | Proof::Insecure(_))) = nsec_proof {
        return proof;
    }
    match nsec3::zone_chain(zone, records, limits) {
        ChainState::Absent => nsec_proof.unwrap_or(Proof::Bogus(DenialFailure::NoRecords)),
        ChainState::Decided(proof) => proof,
        ChainState::Usable(chain) => by_nsec3(&mut Prover::new(&chain, budget)),
    }
}

/// NXDOMAIN for `qname`: qname and the wildcard at its closest encloser do
/// not exist (RFC 4035 §5.4, RFC 5155 §8.4).
pub fn prove_nxdomain(
    qname: &Name,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut Nsec3Budget,
) -> Proof {
    if !is_subdomain(qname, zone) {
        return Proof::Bogus(DenialFailure::OutOfZone);
    }
    decide(
        zone,
        records,
        limits,
        budget,
        |nsecs| nsec::prove_nxdomain(qname, nsecs),
        |prover| prover.prove_nxdomain(qname),
    )
}

/// NODATA for (`qname`, `qtype`): a matching NSEC/NSEC3 without the type
/// (and without CNAME), an empty non-terminal, or wildcard NODATA (qname does
/// not exist and the wildcard at the closest encloser exists without the type)
/// (RFC 4035 §5.4, RFC 5155 §8.5–8.7).
pub fn prove_nodata(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut Nsec3Budget,
) -> Proof {
    if !is_subdomain(qname, zone) {
        return Proof::Bogus(DenialFailure::OutOfZone);
    }
    decide(
        zone,
        records,
        limits,
        budget,
        |nsecs| nsec::prove_nodata(qname, qtype, nsecs),
        |prover| prover.prove_nodata(qname, qtype),
    )
}

/// A positive answer synthesized from `*.closest_encloser` (RRSIG labels <
/// owner labels): qname itself must not exist, i.e. the next closer name is
/// covered (RFC 4035 §5.3.4, RFC 5155 §8.8).
pub fn prove_wildcard_expansion(
    qname: &Name,
    closest_encloser: &Name,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut Nsec3Budget,
) -> Proof {
    if !is_strict_subdomain(qname, closest_encloser) || !is_subdomain(closest_encloser, zone) {
        return Proof::Bogus(DenialFailure::OutOfZone);
    }
    decide(
        zone,
        records,
        limits,
        budget,
        |nsecs| nsec::prove_wildcard_expansion(qname, closest_encloser, nsecs),
        |prover| prover.prove_wildcard_expansion(qname, closest_encloser),
    )
}

/// For the chain of trust: what a DS NODATA/NXDOMAIN reply for `name` from
/// the parent `zone` proves (RFC 4035 §5.2, RFC 5155 §8.6, §8.9).
pub fn prove_no_ds(
    name: &Name,
    zone: &Name,
    records: &[Record],
    limits: &DenialLimits,
    budget: &mut Nsec3Budget,
) -> DsDenial {
    // The DS of a zone is in its parent; only the root denies its own.
    if !is_subdomain(name, zone) || (same_name(name, zone) && !name.is_root()) {
        return DsDenial::Bogus(DenialFailure::OutOfZone);
    }
    let nsecs = nsec::zone_nsecs(zone, records);
    let by_nsec = if nsecs.is_empty() {
        None
    } else {
        nsec::prove_no_ds(name, &nsecs)
    };
    if let Some(denial) = by_nsec {
        return denial;
    }
    match nsec3::zone_chain(zone, records, limits) {
        ChainState::Absent if nsecs.is_empty() => DsDenial::Bogus(DenialFailure::NoRecords),
        ChainState::Absent => DsDenial::Bogus(DenialFailure::NoProof),
        // Unbound `ds_response_to_ke`: too many iterations is treated as
        // insecure, i.e. the child as unsigned.
        ChainState::Decided(Proof::Insecure(_)) => DsDenial::InsecureDelegation,
        ChainState::Decided(Proof::Bogus(failure)) => DsDenial::Bogus(failure),
        ChainState::Decided(Proof::Secure) => DsDenial::Bogus(DenialFailure::NoProof),
        ChainState::Usable(chain) => Prover::new(&chain, budget).prove_no_ds(name),
    }
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests;
