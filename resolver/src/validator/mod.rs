//! DNSSEC validation (RFC 4033-4035, 5155, 6840): Unbound's validator module.
//!
//! The validator sits between the caches and the iterator, as `module-config:
//! "validator iterator"` orders them: every answer the iterator (or Redis)
//! produces is checked before it is cached and served. It builds the chain of
//! trust from the closest trust anchor down to each RRset's signer, one label
//! at a time (DS from the parent, then the child's DNSKEY set), keeps what it
//! learned per zone in a bounded key cache, verifies every RRset of the
//! answer, and proves denials with NSEC or NSEC3.
//!
//! - [`anchor`]: trust anchors (files, inline, the built-in IANA root anchors).
//! - [`autotrust`]: RFC 5011 tracking of `auto-trust-anchor-file:` (Unbound's autotrust.c).
//! - [`chain`]: the chain of trust and the key cache.
//! - [`crypto`]: the algorithms we verify and DS digests (ring).
//! - [`denial`]: NSEC and NSEC3 proofs of non-existence, over [`nsec`],
//!   [`nsec3`], [`bitmap`] (type bit maps) and [`names`] (canonical order).
//! - [`records`]: DNSKEY, DS and RRSIG read from opaque RDATA; the to-be-signed form.
//! - [`verify`]: one RRset against one zone's keys, within a work budget.
//! - [`answer`]: a whole answer (chain, wildcards, denial) to one verdict.
//! - [`neg`]: validated NSEC records kept to synthesize denials (RFC 8198,
//!   `aggressive-nsec`).

pub mod anchor;
pub mod answer;
pub mod autotrust;
pub mod bitmap;
pub mod chain;
pub mod crypto;
pub mod denial;
pub mod names;
pub mod neg;
pub mod nsec;
pub mod nsec3;
pub mod records;
pub mod verify;

use std::fmt;
use std::future::Future;

use hickory_proto::rr::{Name, RecordType};

use crate::error::ResolveError;
use crate::iterate::Answer;

pub use answer::Validator;

/// Extended DNS Error codes (RFC 8914 §4) the validator reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ede {
    /// 1: Unsupported DNSKEY Algorithm.
    UnsupportedDnskeyAlgorithm,
    /// 2: Unsupported DS Digest Type.
    UnsupportedDsDigest,
    /// 6: DNSSEC Bogus.
    DnssecBogus,
    /// 7: Signature Expired.
    SignatureExpired,
    /// 8: Signature Not Yet Valid.
    SignatureNotYetValid,
    /// 9: DNSKEY Missing.
    DnskeyMissing,
    /// 10: RRSIGs Missing.
    RrsigsMissing,
    /// 12: NSEC Missing.
    NsecMissing,
    /// 27: Unsupported NSEC3 Iterations Value.
    UnsupportedNsec3Iterations,
}

impl Ede {
    /// The INFO-CODE on the wire.
    pub fn code(self) -> u16 {
        match self {
            Self::UnsupportedDnskeyAlgorithm => 1,
            Self::UnsupportedDsDigest => 2,
            Self::DnssecBogus => 6,
            Self::SignatureExpired => 7,
            Self::SignatureNotYetValid => 8,
            Self::DnskeyMissing => 9,
            Self::RrsigsMissing => 10,
            Self::NsecMissing => 12,
            Self::UnsupportedNsec3Iterations => 27,
        }
    }

    /// The denial module's EDE number as ours (12 for a missing proof, 6 otherwise).
    pub fn from_code(code: u16) -> Self {
        match code {
            12 => Self::NsecMissing,
            27 => Self::UnsupportedNsec3Iterations,
            _ => Self::DnssecBogus,
        }
    }

    /// When several signatures fail differently, the reason reported is the
    /// most specific one: a bad signature over an expired one over a missing key.
    fn priority(self) -> u8 {
        match self {
            Self::DnssecBogus => 4,
            Self::SignatureExpired | Self::SignatureNotYetValid => 3,
            Self::DnskeyMissing => 2,
            _ => 1,
        }
    }
}

/// Why an answer is bogus: the EDE code and a reason for the log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bogus {
    /// The Extended DNS Error for the SERVFAIL.
    pub ede: Ede,
    /// What failed, for `val-log-level: 1` and the EXTRA-TEXT.
    pub reason: String,
    /// The answer ran out of its work budget (signatures, lookups, NSEC3
    /// hashes): a fact about this answer only, never cached for a zone, or
    /// one expensive answer could make another name's zone bogus for all.
    pub budget: bool,
}

impl Bogus {
    /// A reason with its EDE code.
    pub fn new(ede: Ede, reason: impl Into<String>) -> Self {
        Self {
            ede,
            reason: reason.into(),
            budget: false,
        }
    }

    /// A work budget ran out (see [`Bogus::budget`]).
    pub fn budget(reason: impl Into<String>) -> Self {
        Self {
            ede: Ede::DnssecBogus,
            reason: reason.into(),
            budget: true,
        }
    }

    /// The same failure, with where it happened in front.
    pub fn at(mut self, context: impl fmt::Display) -> Self {
        self.reason = format!("{context}: {}", self.reason);
        self
    }
}

impl fmt::Display for Bogus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (EDE {})", self.reason, self.ede.code())
    }
}

/// The security status of an answer (RFC 4035 §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// Not validated: the validator is off, or the client set CD.
    Unchecked,
    /// No trust anchor above the name: nothing to validate against.
    Indeterminate,
    /// Provably unsigned (an insecure delegation, an unsupported algorithm,
    /// `domain-insecure`, NSEC3 opt-out or too many iterations).
    Insecure,
    /// Every RRset and proof verified up to a trust anchor: AD may be set.
    Secure,
    /// Failed validation: SERVFAIL with an Extended DNS Error.
    Bogus(Bogus),
}

impl Security {
    /// The label used in metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Unchecked => "unchecked",
            Self::Indeterminate => "indeterminate",
            Self::Insecure => "insecure",
            Self::Secure => "secure",
            Self::Bogus(_) => "bogus",
        }
    }

    /// Combines the status of two parts of one answer: the weakest wins.
    pub fn and(self, other: Security) -> Security {
        fn rank(s: &Security) -> u8 {
            match s {
                Security::Bogus(_) => 0,
                Security::Unchecked => 1,
                Security::Indeterminate => 2,
                Security::Insecure => 3,
                Security::Secure => 4,
            }
        }
        if rank(&other) < rank(&self) {
            other
        } else {
            self
        }
    }
}

/// Asks the resolver for the DS and DNSKEY sets the chain of trust needs
/// (the iterator in production, a mock in tests).
pub trait Fetch: Send + Sync {
    /// Resolves (`name`, `qtype`).
    fn fetch(
        &self,
        name: &Name,
        qtype: RecordType,
    ) -> impl Future<Output = Result<Answer, ResolveError>> + Send;
}

impl<T: crate::transport::Transport> Fetch for crate::iterate::Recursor<T> {
    fn fetch(
        &self,
        name: &Name,
        qtype: RecordType,
    ) -> impl Future<Output = Result<Answer, ResolveError>> + Send {
        self.resolve(name, qtype)
    }
}

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
