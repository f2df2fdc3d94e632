//! What a `+signed` manifest line asks for ([`SignSpec`]), and the DNSSEC
//! faults that zones can be served with ([`Fault`]).
//!
//! Faults are either a way of signing (expired or not-yet-valid signatures, a
//! signature by an unpublished key, a parent DS for no key of the child,
//! KeyTrap's colliding keys and forged signatures) or a plain function run over
//! every answer of the zone after it is written ([`strip_answer_rrsigs`],
//! [`strip_dnssec_records`], [`drop_covering_nsec`]), so the zone itself stays
//! well signed and only what the validator receives is wrong.

use anyhow::{anyhow, bail};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Record, RecordType};

use super::signer::{rrsig_covered, Nsec3Params, ALGORITHM};
use super::zone::AnswerFilter;

/// Colliding DNSKEYs published beside the real key in the KeyTrap zone.
pub const KEYTRAP_DECOYS: usize = 100;
/// Forged RRSIGs on each RRset of the KeyTrap zone (the DNSKEY RRset excepted).
pub const KEYTRAP_SIGNATURES: usize = 100;

/// A deliberate DNSSEC misbehaviour of one zone (one manifest flag each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `+expired`: every RRSIG but the DNSKEY's expired a week ago.
    Expired,
    /// `+future`: every RRSIG but the DNSKEY's becomes valid only in a week.
    NotYetValid,
    /// `+wrongkey`: RRsets other than the DNSKEY are signed by an unpublished key.
    WrongKey,
    /// `+badds`: the parent's DS is the digest of a key the child does not have.
    BadDs,
    /// `+nosig`: RRSIGs are removed from the answer section.
    NoSig,
    /// `+stripped`: every DNSSEC record (DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM)
    /// is removed from every answer, while the parent holds a DS.
    Stripped,
    /// `+badnsec`: NXDOMAIN answers lose the NSEC covering the name.
    BadNsec,
    /// `+keytrap`: [`KEYTRAP_DECOYS`] DNSKEYs share the real key's tag and every
    /// RRset but the DNSKEY carries [`KEYTRAP_SIGNATURES`] forged RRSIGs.
    KeyTrap,
    /// `+algdowngrade`: a second key of algorithm 15 (Ed25519) is published
    /// and its DS added to the parent, but its RRSIG over the DNSKEY set is
    /// forged and it signs nothing else: of the DS set's two algorithms only
    /// the first validates (Unbound's `harden-algo-downgrade` case).
    AlgDowngrade,
}

/// Algorithm of the second key of [`Fault::AlgDowngrade`].
pub const DOWNGRADE_SECOND_ALGORITHM: u8 = 15;

impl Fault {
    /// The fault named by manifest flag `flag` (without the `+`).
    pub fn from_flag(flag: &str) -> Option<Self> {
        Some(match flag {
            "expired" => Self::Expired,
            "future" => Self::NotYetValid,
            "wrongkey" => Self::WrongKey,
            "badds" => Self::BadDs,
            "nosig" => Self::NoSig,
            "stripped" => Self::Stripped,
            "badnsec" => Self::BadNsec,
            "keytrap" => Self::KeyTrap,
            "algdowngrade" => Self::AlgDowngrade,
            _ => return None,
        })
    }

    /// The answer filter this fault installs, if it works on answers.
    pub fn filter(self) -> Option<AnswerFilter> {
        match self {
            Self::NoSig => Some(strip_answer_rrsigs),
            Self::Stripped => Some(strip_dnssec_records),
            Self::BadNsec => Some(drop_covering_nsec),
            Self::Expired
            | Self::NotYetValid
            | Self::WrongKey
            | Self::BadDs
            | Self::KeyTrap
            | Self::AlgDowngrade => None,
        }
    }
}

/// How the zones of one manifest line are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignSpec {
    /// DNSSEC algorithm of the key (`+alg=N`; default 13).
    pub algorithm: u8,
    /// Digest type of the DS in the parent and the trust anchor (`+ds=N`; 2 or 4).
    pub ds_digest: u8,
    /// NSEC3 instead of NSEC (`+nsec3=ITERATIONS`, `+optout`).
    pub nsec3: Option<Nsec3Params>,
    /// The misbehaviour, if any.
    pub fault: Option<Fault>,
}

impl Default for SignSpec {
    fn default() -> Self {
        Self {
            algorithm: ALGORITHM,
            ds_digest: 2,
            nsec3: None,
            fault: None,
        }
    }
}

impl SignSpec {
    /// Applies one manifest flag (without the `+`); `Ok(false)` when the flag
    /// is not a signing flag.
    pub fn apply_flag(&mut self, flag: &str) -> anyhow::Result<bool> {
        let (key, value) = match flag.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (flag, None),
        };
        let number = |what: &str| -> anyhow::Result<u16> {
            value
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| anyhow!("`+{key}=N` needs a number ({what})"))
        };
        match key {
            "alg" => {
                self.algorithm = u8::try_from(number("DNSSEC algorithm")?)
                    .map_err(|_| anyhow!("algorithm over 255"))?;
            }
            "ds" => {
                let digest = number("DS digest type")?;
                if digest != 2 && digest != 4 {
                    bail!("`+ds={digest}`: digest type 2 or 4");
                }
                self.ds_digest = u8::try_from(digest).unwrap_or(2);
            }
            "nsec3" => {
                let iterations = number("NSEC3 iterations")?;
                let opt_out = self.nsec3.as_ref().is_some_and(|p| p.opt_out);
                self.nsec3 = Some(Nsec3Params {
                    iterations,
                    salt: Vec::new(),
                    opt_out,
                });
            }
            "optout" => match self.nsec3.as_mut() {
                Some(params) => params.opt_out = true,
                None => bail!("`+optout` needs `+nsec3=N` before it"),
            },
            other => match Fault::from_flag(other) {
                Some(fault) if value.is_none() => {
                    if self.fault.is_some() {
                        bail!("one fault per line: `+{other}` after another");
                    }
                    self.fault = Some(fault);
                }
                _ => return Ok(false),
            },
        }
        Ok(true)
    }
}

/// `+nosig`: an answer whose records arrive without their signatures
/// (RFC 4035 §5.3: an RRset of a signed zone without a valid RRSIG is bogus).
/// The DNSKEY RRset keeps its RRSIG, so the keys validate and the data fails.
pub fn strip_answer_rrsigs(resp: &mut Message) {
    resp.answers.retain(|r| {
        r.record_type() != RecordType::RRSIG || rrsig_covered(r) == Some(RecordType::DNSKEY)
    });
}

/// `+stripped`: what a DNSSEC-unaware middlebox in front of a signed zone
/// passes on (Unbound's `harden-dnssec-stripped` case).
pub fn strip_dnssec_records(resp: &mut Message) {
    let keep = |r: &Record| {
        !matches!(
            r.record_type(),
            RecordType::DNSKEY
                | RecordType::RRSIG
                | RecordType::NSEC
                | RecordType::NSEC3
                | RecordType::NSEC3PARAM
        )
    };
    resp.answers.retain(keep);
    resp.authorities.retain(keep);
    resp.additionals.retain(keep);
}

/// `+badnsec`: an NXDOMAIN without the NSEC covering the name (the first NSEC
/// of the authority section) nor its RRSIG; the wildcard denial stays.
pub fn drop_covering_nsec(resp: &mut Message) {
    if resp.response_code != ResponseCode::NXDomain {
        return;
    }
    let Some(owner) = resp
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::NSEC)
        .map(|r| r.name.clone())
    else {
        return;
    };
    resp.authorities.retain(|r| {
        r.name != owner
            || !(r.record_type() == RecordType::NSEC || rrsig_covered(r) == Some(RecordType::NSEC))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_build_a_spec() {
        let mut spec = SignSpec::default();
        for flag in ["alg=15", "ds=4", "nsec3=500", "optout", "expired"] {
            assert!(spec.apply_flag(flag).unwrap(), "{flag}");
        }
        assert_eq!(spec.algorithm, 15);
        assert_eq!(spec.ds_digest, 4);
        assert_eq!(
            spec.nsec3.as_ref().map(|p| (p.iterations, p.opt_out)),
            Some((500, true))
        );
        assert_eq!(spec.fault, Some(Fault::Expired));
        assert!(spec.apply_flag("future").is_err(), "a second fault");
        assert!(!spec.apply_flag("refused").unwrap());
        assert!(SignSpec::default().apply_flag("optout").is_err());
        assert!(SignSpec::default().apply_flag("ds=1").is_err());
        assert!(SignSpec::default().apply_flag("alg").is_err());
    }
}
