//! Denials answered from what the caches already prove, without asking
//! upstream (Unbound's iterator `processInitRequest` after a message-cache
//! miss):
//!
//! - **aggressive NSEC** (RFC 8198, `aggressive-nsec`): the validator's
//!   negative cache synthesizes NXDOMAIN or NODATA from validated NSECs.
//! - **below NXDOMAIN** (RFC 8020, `harden-below-nxdomain`): a cached secure
//!   NXDOMAIN for an ancestor means the name does not exist either (Unbound
//!   `dns_cache_lookup`). Only DNSSEC-secure NXDOMAINs count, so a forged or
//!   unsigned NXDOMAIN cannot erase a subtree. Its NSEC/NSEC3 records prove
//!   the denial for the name too (they cover every descendant of a name that
//!   does not exist, with the same closest encloser), which is checked
//!   again here over the records the validator already verified.

use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use tokio::time::Instant;

use super::{answer_of, Engine};
use crate::cache::message::Freshness;
use crate::cache::{CachedMessage, MessageKey};
use crate::iterate::Answer;
use crate::transport::Transport;
use crate::validator::denial::{self, Nsec3Budget, Proof, MAX_NSEC3_HASHES};
use crate::validator::{Security, Validator};

impl<T: Transport> Engine<T> {
    /// A secure denial for (`qname`, `qtype`) from the caches, if they hold
    /// one; None sends the question upstream. `qname_wire` is its wire form.
    pub(super) fn cached_denial(
        &self,
        qname_wire: &[u8],
        qname: &Name,
        qtype: RecordType,
    ) -> Option<Arc<CachedMessage>> {
        let validator = self.validator.as_ref()?;
        let now_unix = unix_now();
        let answer = validator
            .neg_cache()
            .and_then(|neg| neg.synthesize(qname, qtype, now_unix))
            .map(|synthesized| {
                let counter = if synthesized.answer.rcode == ResponseCode::NXDomain {
                    &self.metrics.validation.aggressive_nxdomain
                } else {
                    &self.metrics.validation.aggressive_noerror
                };
                counter.increment(1);
                synthesized.answer
            })
            .or_else(|| {
                self.options
                    .harden_below_nxdomain
                    .then(|| self.below_nxdomain(validator, qname_wire, qname, qtype))
                    .flatten()
            })?;
        let (entry, _) =
            self.cache_entry(qname, qtype, &answer, Security::Secure, Instant::now())?;
        Some(entry)
    }

    /// `harden-below-nxdomain`: the secure NXDOMAIN cached for the nearest
    /// ancestor (same type, or A when QNAME minimisation asked with A), with
    /// its proof checked for `qname`.
    fn below_nxdomain(
        &self,
        validator: &Validator,
        qname_wire: &[u8],
        qname: &Name,
        qtype: RecordType,
    ) -> Option<Answer> {
        let now = Instant::now();
        let mut offset = 0;
        loop {
            let len = usize::from(*qname_wire.get(offset)?);
            offset += 1 + len;
            let ancestor = qname_wire.get(offset..)?;
            if ancestor.first().is_none_or(|l| *l == 0) {
                return None;
            }
            let mut types = [Some(u16::from(qtype)), None];
            if self.options.qname_minimisation && qtype != RecordType::A {
                types[1] = Some(u16::from(RecordType::A));
            }
            for t in types.into_iter().flatten() {
                let Some(entry) =
                    MessageKey::new(ancestor, t, 1).and_then(|k| self.messages.get(&k))
                else {
                    continue;
                };
                let Freshness::Fresh { remaining, .. } = entry.freshness(now) else {
                    continue;
                };
                if entry.rcode() != 3 || *entry.security() != Security::Secure {
                    continue;
                }
                if let Some(answer) = proven_below(validator, &entry, qname, remaining) {
                    return Some(answer);
                }
            }
        }
    }
}

/// The NXDOMAIN of `entry` (an ancestor's) as `qname`'s, when its records
/// prove it: no CNAME in it (the NXDOMAIN would be the target's), and the
/// zone's NSEC/NSEC3 records deny `qname` too. TTLs at most `remaining`.
fn proven_below(
    validator: &Validator,
    entry: &CachedMessage,
    qname: &Name,
    remaining: u32,
) -> Option<Answer> {
    let mut answer = answer_of(entry.wire())?;
    if !answer.answers.is_empty() {
        return None;
    }
    let zone = answer
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)?
        .name
        .clone();
    let mut budget = Nsec3Budget::new(MAX_NSEC3_HASHES);
    let limits = validator.chain().limits();
    if denial::prove_nxdomain(qname, &zone, &answer.authorities, limits, &mut budget)
        != Proof::Secure
    {
        return None;
    }
    for record in &mut answer.authorities {
        record.ttl = record.ttl.min(remaining);
    }
    Some(answer)
}

/// Seconds since the epoch (signature and negative-cache clock).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
