//! One RRset against one zone's keys: pick the signatures that may apply, check
//! their validity period with Unbound's skew, and verify within a work budget.
//!
//! KeyTrap (CVE-2023-50387) and its relatives make a validator try every
//! signature against every key with a colliding tag; here each RRset gets at
//! most [`MAX_SIGS_PER_RRSET`] signatures, each signature at most
//! [`MAX_KEYS_PER_SIG`] candidate keys, and a whole validation at most the
//! [`Work`] budget of public-key operations. Past a bound the answer is bogus.

use hickory_proto::rr::{Name, Record};

use super::crypto::{self, CryptoFailure};
use super::records::{Dnskey, Rrsig};
use super::{Bogus, Ede};

/// Signatures tried per RRset (Unbound: MAX_VALIDATE_RRSIGS = 8).
pub const MAX_SIGS_PER_RRSET: usize = 8;
/// Keys with the signature's tag and algorithm tried per signature (tag collisions).
pub const MAX_KEYS_PER_SIG: usize = 4;
/// Public-key operations per client answer, all RRsets and the chain of trust together.
pub const MAX_VERIFICATIONS: u32 = 64;

/// Signatures verified before: the same key, the same signed bytes and the
/// same signature verify the same way every time, so an RRset that arrives
/// again unchanged (the NSEC proving every wildcard answer of a zone, a
/// popular DS) costs a hash instead of a public-key operation, as Unbound's
/// RRset cache keeps a validated RRset's status. Keyed by a SHA-256 of all
/// three; the validity period is still checked on every use.
pub struct VerifiedSigs {
    entries: quick_cache::sync::Cache<[u8; 32], ()>,
}

impl std::fmt::Debug for VerifiedSigs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedSigs")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl VerifiedSigs {
    /// Remembers up to `capacity` verified signatures.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity.max(16)),
        }
    }

    /// How many are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The memo key: every part length-prefixed, so no two different
    /// (key, signed bytes, signature) triples hash the same input (a key whose
    /// RDATA ends with another key's signed bytes must not collide).
    fn digest(zone: &Name, key: &Dnskey, signed: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        let zone = super::names::canonical_wire(zone);
        for part in [zone.as_slice(), &key.rdata, signed, signature] {
            context.update(&(part.len() as u32).to_be_bytes());
            context.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        out
    }
}

/// The public-key operations left for one validation, and the memory of
/// signatures already verified.
#[derive(Debug)]
pub struct Work {
    left: u32,
    /// Operations done (for the metrics and the KeyTrap measurement).
    pub done: u32,
    memo: std::sync::Arc<VerifiedSigs>,
}

impl Work {
    /// A fresh budget of `max` verifications, remembering successes in `memo`.
    pub fn new(max: u32, memo: std::sync::Arc<VerifiedSigs>) -> Self {
        Self {
            left: max,
            done: 0,
            memo,
        }
    }

    fn take(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        self.done += 1;
        true
    }
}

/// Clock and skew for signature validity periods.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Now, as RRSIG serial-number seconds.
    pub now: u32,
    /// `val-sig-skew-min`.
    pub skew_min: u32,
    /// `val-sig-skew-max`.
    pub skew_max: u32,
}

/// Where a signature stands in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Period {
    Valid,
    Expired,
    NotYetValid,
    Inverted,
}

impl Clock {
    /// RFC 4034 §3.1.5 serial arithmetic with Unbound's skew: a tenth of the
    /// validity period, clamped to [skew_min, skew_max] (val_sigcrypt.c check_dates).
    fn period(&self, sig: &Rrsig) -> Period {
        let diff = |a: u32, b: u32| a.wrapping_sub(b) as i32;
        if diff(sig.inception, sig.expiration) > 0 {
            return Period::Inverted;
        }
        let skew = (sig.expiration.wrapping_sub(sig.inception) / 10).clamp(
            self.skew_min.min(self.skew_max),
            self.skew_max.max(self.skew_min),
        );
        let skew = i64::from(skew);
        if diff(sig.inception, self.now) > 0 && i64::from(diff(sig.inception, self.now)) > skew {
            return Period::NotYetValid;
        }
        if diff(self.now, sig.expiration) > 0 && i64::from(diff(self.now, sig.expiration)) > skew {
            return Period::Expired;
        }
        Period::Valid
    }
}

/// The signature that proved an RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Labels field: fewer than the owner's means a wildcard expansion.
    pub labels: u8,
    /// Seconds until the signature expires (caps the cache lifetime, RFC 4035 §5.3.3).
    pub expires_in: u32,
    /// Original TTL of the signature (caps the TTLs served).
    pub original_ttl: u32,
}

impl Verified {
    /// How long what this signature proves may be kept: no longer than the
    /// signature's original TTL nor past its expiration (RFC 4035 §5.3.3).
    pub fn ttl_limit(&self) -> u32 {
        self.original_ttl.min(self.expires_in)
    }
}

/// Verifies `rrset` (same owner and type) with `sigs` made by `zone`'s `keys`.
pub fn verify_rrset(
    rrset: &[&Record],
    sigs: &[Rrsig],
    zone: &Name,
    keys: &[Dnskey],
    clock: &Clock,
    work: &mut Work,
) -> Result<Verified, Bogus> {
    let Some(first) = rrset.first() else {
        return Err(Bogus::new(Ede::DnssecBogus, "empty RRset"));
    };
    let owner_labels = first.name.num_labels();
    let rtype = first.record_type();
    let mut failure: Option<Bogus> = None;
    let mut keep = |candidate: Bogus| {
        let better = failure
            .as_ref()
            .is_none_or(|f| candidate.ede.priority() > f.ede.priority());
        if better {
            failure = Some(candidate);
        }
    };
    let candidates = sigs
        .iter()
        .filter(|s| s.type_covered == rtype && s.signer == *zone && s.labels <= owner_labels)
        .take(MAX_SIGS_PER_RRSET);
    let mut any = false;
    for sig in candidates {
        any = true;
        if !crypto::algorithm_supported(sig.algorithm) {
            keep(Bogus::new(
                Ede::DnskeyMissing,
                "signature algorithm not supported",
            ));
            continue;
        }
        match clock.period(sig) {
            Period::Valid => {}
            Period::Expired => {
                keep(Bogus::new(Ede::SignatureExpired, "signature expired"));
                continue;
            }
            Period::NotYetValid => {
                keep(Bogus::new(
                    Ede::SignatureNotYetValid,
                    "signature not yet valid",
                ));
                continue;
            }
            Period::Inverted => {
                keep(Bogus::new(
                    Ede::DnssecBogus,
                    "signature inception after expiration",
                ));
                continue;
            }
        }
        let matching = keys
            .iter()
            .filter(|k| {
                k.tag == sig.key_tag && k.algorithm == sig.algorithm && k.is_usable_zone_key()
            })
            .take(MAX_KEYS_PER_SIG);
        let mut data: Option<Vec<u8>> = None;
        let mut tried = false;
        for key in matching {
            tried = true;
            if data.is_none() {
                data = sig.signed_data(rrset);
            }
            let Some(signed) = &data else {
                keep(Bogus::new(
                    Ede::DnssecBogus,
                    "RRset cannot be put in canonical form",
                ));
                break;
            };
            let digest = VerifiedSigs::digest(zone, key, signed, &sig.signature);
            let remembered = work.memo.entries.get(&digest).is_some();
            if !remembered && !work.take() {
                return Err(Bogus::budget("validation work limit reached"));
            }
            let outcome = if remembered {
                Ok(())
            } else {
                crypto::verify(key.algorithm, key.public_key(), signed, &sig.signature)
            };
            match outcome {
                Ok(()) => {
                    if !remembered {
                        work.memo.entries.insert(digest, ());
                    }
                    let expires_in = sig.expiration.wrapping_sub(clock.now);
                    return Ok(Verified {
                        labels: sig.labels,
                        expires_in: if (expires_in as i32) < 0 {
                            0
                        } else {
                            expires_in
                        },
                        original_ttl: sig.original_ttl,
                    });
                }
                Err(CryptoFailure::Mismatch) => {
                    keep(Bogus::new(Ede::DnssecBogus, "signature does not verify"))
                }
                Err(CryptoFailure::BadKey | CryptoFailure::Unsupported) => {
                    keep(Bogus::new(Ede::DnssecBogus, "malformed DNSKEY"))
                }
            }
        }
        if !tried {
            keep(Bogus::new(
                Ede::DnskeyMissing,
                "no DNSKEY matches the signature's key tag",
            ));
        }
    }
    if !any {
        return Err(Bogus::new(Ede::RrsigsMissing, "no signature by the zone"));
    }
    Err(failure.unwrap_or_else(|| Bogus::new(Ede::DnssecBogus, "no valid signature")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(inception: u32, expiration: u32) -> Rrsig {
        Rrsig {
            type_covered: hickory_proto::rr::RecordType::A,
            algorithm: 13,
            labels: 2,
            original_ttl: 60,
            expiration,
            inception,
            key_tag: 1,
            signer: Name::root(),
            signature: Box::new([0]),
        }
    }

    /// RFC 4034 §3.1.5 and Unbound's skew: a signature a little past its
    /// expiration (within a tenth of its period, clamped) still counts.
    /// The memo key keeps the parts apart: a key whose RDATA ends with the
    /// bytes another triple would put after it hashes differently (a forged
    /// RSA key extended with the victim's signed data must not hit the memo).
    #[test]
    fn memo_keys_cannot_be_shifted_between_parts() {
        let zone = Name::root();
        let short = Dnskey::from_rdata(&[1, 1, 3, 8, 1, 3, 0xAA]).unwrap();
        let long = Dnskey::from_rdata(&[1, 1, 3, 8, 1, 3, 0xAA, 0, 0, 0, 2, 0xBB, 0xCC]).unwrap();
        let a = VerifiedSigs::digest(&zone, &short, &[0xBB, 0xCC], &[0, 0, 0, 1, 0xDD]);
        let b = VerifiedSigs::digest(&zone, &long, &[0, 0, 0, 1], &[0xDD]);
        assert_ne!(a, b);
        let other_zone = Name::from_ascii("example.").unwrap();
        assert_ne!(
            a,
            VerifiedSigs::digest(&other_zone, &short, &[0xBB, 0xCC], &[0, 0, 0, 1, 0xDD])
        );
    }

    #[test]
    fn validity_period_uses_serial_arithmetic_and_skew() {
        let clock = |now| Clock {
            now,
            skew_min: 3600,
            skew_max: 86400,
        };
        let s = sig(1_000_000, 1_000_000 + 30 * 86400);
        assert_eq!(clock(1_000_100).period(&s), Period::Valid);
        assert_eq!(clock(1_000_000 - 3000).period(&s), Period::Valid);
        assert_eq!(clock(1_000_000 - 90_000).period(&s), Period::NotYetValid);
        assert_eq!(clock(s.expiration + 86_000).period(&s), Period::Valid);
        assert_eq!(clock(s.expiration + 90_000).period(&s), Period::Expired);
        // Wrapping: a period spanning 2^32 seconds.
        let wrap = sig(u32::MAX - 100, 500);
        assert_eq!(clock(10).period(&wrap), Period::Valid);
        assert_eq!(clock(10).period(&sig(500, 100)), Period::Inverted);
    }
}
