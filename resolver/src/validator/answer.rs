//! A whole answer to one verdict: every RRset of the answer section verified
//! in its own zone (CNAME and DNAME links included), wildcard expansions
//! proven, and a negative answer's denial proven for the last name of the chain.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};

use super::anchor::AnchorSet;
use super::chain::{signed_rrsets, Chain, Keys, Session, SignedRrset};
use super::denial::{self, DenialLimits, Proof};
use super::neg::NegCache;
use super::verify::{verify_rrset, Clock};
use super::{Bogus, Ede, Fetch, Security};
use crate::config::ValidationConfig;
use crate::iterate::Answer;

/// Longest CNAME chain followed to find the name a denial is about.
const MAX_CHAIN: usize = 16;

/// Settings from `ValidationConfig` the verdicts depend on.
#[derive(Clone, Debug)]
struct Options {
    harden_dnssec_stripped: bool,
    override_date: Option<u32>,
    skew_min: u32,
    skew_max: u32,
    log_level: u8,
    root_key_sentinel: bool,
}

/// The validator: anchors, key cache, and the rules above.
#[derive(Debug)]
pub struct Validator {
    chain: Chain,
    options: Options,
    /// `aggressive-nsec`: NSECs of secure answers, for synthesized denials.
    neg: Option<NegCache>,
}

/// A wildcard expansion that still needs its proof: `owner` was synthesized
/// from `*.closest_encloser` in `zone`.
struct WildcardClaim {
    owner: Name,
    closest_encloser: Name,
    zone: Name,
    keys: std::sync::Arc<[super::records::Dnskey]>,
}

impl Validator {
    /// A validator with `anchors` (already read, see `ValidationConfig::load_anchors`).
    pub fn new(
        config: &ValidationConfig,
        anchors: AnchorSet,
        autotrust: Option<super::autotrust::AutoTrust>,
    ) -> Self {
        let limits = DenialLimits {
            max_nsec3_iterations: config.nsec3_max_iterations,
        };
        Self {
            neg: config
                .aggressive_nsec
                .then(|| NegCache::new(config.neg_cache_size, limits)),
            chain: Chain::new(
                anchors,
                autotrust,
                config.domain_insecure.clone(),
                config.key_cache_size,
                config.bogus_ttl,
                limits,
                config.harden_algo_downgrade,
            ),
            options: Options {
                harden_dnssec_stripped: config.harden_dnssec_stripped,
                override_date: config.override_date,
                skew_min: config.sig_skew_min,
                skew_max: config.sig_skew_max,
                log_level: config.log_level,
                root_key_sentinel: config.root_key_sentinel,
            },
        }
    }

    /// The validator `config` asks for: `validator` in module-config and at
    /// least one trust anchor (read now; a broken anchor file is an error
    /// naming its config line). None otherwise, as in Unbound.
    pub fn from_config(
        config: &crate::config::Config,
    ) -> Result<Option<Self>, common::config::ConfigError> {
        if !config.modules.contains(&crate::config::Module::Validator) {
            return Ok(None);
        }
        let mut anchors = config.validation.load_anchors()?;
        let autotrust = if config.validation.auto_files().next().is_some() {
            let auto =
                super::autotrust::AutoTrust::from_config(&config.validation).map_err(|e| {
                    let location = config
                        .validation
                        .anchors
                        .iter()
                        .find_map(|a| match &a.source {
                            crate::config::AnchorSource::AutoFile(_) => a.location.clone(),
                            _ => None,
                        });
                    common::config::ConfigError {
                        location,
                        key: "auto-trust-anchor-file".to_string(),
                        kind: common::config::ConfigErrorKind::Invalid(e.to_string()),
                    }
                })?;
            // The trust points decide which of their keys anchor (RFC 5011 states).
            auto.apply_to(&mut anchors);
            Some(auto)
        } else {
            None
        };
        if anchors.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self::new(&config.validation, anchors, autotrust)))
    }

    /// RFC 5011 active refresh of the tracked anchors that are due now.
    pub async fn refresh_anchors<F: Fetch>(&self, fetch: &F, now_unix: u64) {
        self.chain
            .probe_due(fetch, self.clock(now_unix), now_unix)
            .await;
    }

    /// The chain of trust (anchors and key cache).
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The negative cache, when `aggressive-nsec` is on.
    pub fn neg_cache(&self) -> Option<&NegCache> {
        self.neg.as_ref()
    }

    /// The clock signatures are judged by: `val-override-date`, or `now_unix`.
    pub fn clock(&self, now_unix: u64) -> Clock {
        Clock {
            now: self
                .options
                .override_date
                .unwrap_or((now_unix % (1 << 32)) as u32),
            skew_min: self.options.skew_min,
            skew_max: self.options.skew_max,
        }
    }

    /// Validates `answer` to (`qname`, `qtype`) at `now_unix`.
    pub async fn validate<F: Fetch>(
        &self,
        fetch: &F,
        qname: &Name,
        qtype: RecordType,
        answer: &Answer,
        now_unix: u64,
    ) -> Security {
        self.validate_with_ttl_cap(fetch, qname, qtype, answer, now_unix)
            .await
            .0
    }

    /// Like [`Validator::validate`], with the seconds until the first
    /// signature the verdict rests on expires (None when nothing was verified):
    /// no record of the answer may be cached longer (RFC 4035 §5.3.3).
    pub async fn validate_with_ttl_cap<F: Fetch>(
        &self,
        fetch: &F,
        qname: &Name,
        qtype: RecordType,
        answer: &Answer,
        now_unix: u64,
    ) -> (Security, Option<u32>) {
        let mut session = self.chain.session(self.clock(now_unix));
        let mut verdict = self
            .verdict(fetch, qname, qtype, answer, &mut session)
            .await;
        if verdict == Security::Secure && self.options.root_key_sentinel {
            if let Some(bogus) = self.sentinel(qname) {
                verdict = Security::Bogus(bogus);
            }
        }
        if let Security::Bogus(bogus) = &verdict {
            if self.options.log_level >= 1 {
                tracing::info!(name = %qname, qtype = %qtype, reason = %bogus, "validation failure");
            }
        }
        let cap = (session.ttl_cap != u32::MAX).then_some(session.ttl_cap);
        if let (Security::Secure, Some(neg)) = (&verdict, &self.neg) {
            neg.insert(answer, now_unix, cap);
        }
        (verdict, cap)
    }

    async fn verdict<F: Fetch>(
        &self,
        fetch: &F,
        qname: &Name,
        qtype: RecordType,
        answer: &Answer,
        session: &mut Session,
    ) -> Security {
        if qtype == RecordType::RRSIG {
            // Signatures asked for by type are data without signatures of
            // their own: not validated (Unbound's needs_validation).
            return Security::Unchecked;
        }
        // Anchors and negative anchors are applied per RRset and per denial
        // (keys_for), not by the qname alone: a CNAME from an unanchored or
        // domain-insecure name into an anchored zone is validated there.
        let sets = signed_rrsets(&answer.answers);
        let mut status = Security::Secure;
        let mut claims = Vec::new();
        for set in &sets {
            let verdict = self
                .rrset_status(fetch, set, &sets, session, &mut claims)
                .await;
            status = status.and(verdict);
            if matches!(status, Security::Bogus(_)) {
                return status;
            }
        }
        for claim in claims {
            let proofs =
                self.chain
                    .verified_proofs(&answer.authorities, &claim.zone, &claim.keys, session);
            if proofs.rejected {
                return Security::Bogus(rejected_authority(&claim.zone));
            }
            let proof = denial::prove_wildcard_expansion(
                &claim.owner,
                &claim.closest_encloser,
                &claim.zone,
                &proofs.records,
                self.chain.limits(),
                &mut session.nsec3,
            );
            status = status.and(proof_status(proof, || {
                format!(
                    "{}: wildcard expansion without a proof that the name does not exist",
                    claim.owner
                )
            }));
        }
        if let Some(final_name) = denied_name(qname, qtype, answer, &sets) {
            let negative = self
                .denial_status(fetch, &final_name, qtype, answer, session)
                .await;
            status = status.and(negative);
        }
        status
    }

    /// RFC 8509 §3.2: a secure answer for `root-key-sentinel-is-ta-<tag>` when
    /// no root trust anchor has that key tag, or for
    /// `root-key-sentinel-not-ta-<tag>` when one does, becomes SERVFAIL, so a
    /// client can learn which root keys this resolver trusts.
    fn sentinel(&self, qname: &Name) -> Option<Bogus> {
        let label = qname.iter().next()?.to_ascii_lowercase();
        let (is_ta, tag) = if let Some(tag) = label.strip_prefix(b"root-key-sentinel-is-ta-") {
            (true, tag)
        } else {
            (false, label.strip_prefix(b"root-key-sentinel-not-ta-")?)
        };
        if tag.len() != 5 || !tag.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let tag: u16 = std::str::from_utf8(tag).ok()?.parse().ok()?;
        let anchors = self.chain.anchors();
        let trusted = anchors
            .closest(&Name::root())
            .filter(|(zone, _)| zone.is_root())
            .is_some_and(|(_, anchor)| {
                anchor.ds.iter().any(|ds| ds.tag == tag) || anchor.keys.iter().any(|k| k.tag == tag)
            });
        (is_ta != trusted).then(|| {
            Bogus::new(
                Ede::DnssecBogus,
                format!(
                    "root key sentinel: key tag {tag} is {}a root trust anchor",
                    if trusted { "" } else { "not " }
                ),
            )
        })
    }

    /// The status of one RRset of the answer section.
    async fn rrset_status<F: Fetch>(
        &self,
        fetch: &F,
        set: &SignedRrset<'_>,
        all: &[SignedRrset<'_>],
        session: &mut Session,
        claims: &mut Vec<WildcardClaim>,
    ) -> Security {
        let what = || format!("{} {}", set.owner, set.rtype);
        if set.sigs.is_empty() {
            if set.rtype == RecordType::CNAME && synthesized_from_dname(set, all) {
                // RFC 6672 §5.3.1: the CNAME a DNAME implies is unsigned; the
                // DNAME itself is validated as its own RRset.
                return Security::Secure;
            }
            // Unsigned: fine in an insecure zone, stripped in a secure one.
            let hint = if set.rtype == RecordType::DS && !set.owner.is_root() {
                set.owner.base_name()
            } else {
                set.owner.clone()
            };
            let keys = self.chain.keys_for(fetch, &hint, session).await;
            let missing = Bogus::new(Ede::RrsigsMissing, "no signatures in a signed zone");
            return self.unsigned_status(keys, missing, what);
        }
        let Some(signer) = set
            .sigs
            .iter()
            .map(|s| &s.signer)
            .find(|signer| signer.zone_of(set.owner))
            .cloned()
        else {
            return Security::Bogus(
                Bogus::new(Ede::DnssecBogus, "signer is not an ancestor of the owner").at(what()),
            );
        };
        match self.chain.keys_for(fetch, &signer, session).await {
            Keys::Secure { zone, keys } if zone == signer => {
                match verify_rrset(
                    &set.records,
                    &set.sigs,
                    &zone,
                    &keys,
                    &session.clock,
                    &mut session.work,
                ) {
                    Ok(verified) => {
                        session.ttl_cap = session.ttl_cap.min(verified.ttl_limit());
                        if verified.labels < set.owner.num_labels() {
                            claims.push(WildcardClaim {
                                owner: set.owner.clone(),
                                closest_encloser: set.owner.trim_to(usize::from(verified.labels)),
                                zone,
                                keys,
                            });
                        }
                        Security::Secure
                    }
                    Err(bogus) => Security::Bogus(bogus.at(what())),
                }
            }
            other => status_without_keys(other, &signer, what),
        }
    }

    /// The status of the denial (NXDOMAIN or NODATA) for `name`.
    async fn denial_status<F: Fetch>(
        &self,
        fetch: &F,
        name: &Name,
        qtype: RecordType,
        answer: &Answer,
        session: &mut Session,
    ) -> Security {
        let what = || {
            format!(
                "{name} {qtype} {}",
                if answer.rcode == ResponseCode::NXDomain {
                    "NXDOMAIN"
                } else {
                    "NODATA"
                }
            )
        };
        let auth = signed_rrsets(&answer.authorities);
        let signer = auth
            .iter()
            .filter(|s| {
                matches!(
                    s.rtype,
                    RecordType::SOA | RecordType::NSEC | RecordType::NSEC3
                )
            })
            .flat_map(|s| s.sigs.iter().map(|sig| &sig.signer))
            .filter(|signer| signer.zone_of(name))
            .max_by_key(|signer| signer.num_labels())
            .cloned();
        let Some(zone) = signer else {
            let hint = auth
                .iter()
                .find(|s| s.rtype == RecordType::SOA && s.owner.zone_of(name))
                .map_or_else(|| name.clone(), |s| s.owner.clone());
            let keys = self.chain.keys_for(fetch, &hint, session).await;
            let missing = Bogus::new(Ede::NsecMissing, "no signed denial in a signed zone");
            return self.unsigned_status(keys, missing, what);
        };
        match self.chain.keys_for(fetch, &zone, session).await {
            Keys::Secure { zone: found, keys } if found == zone => {
                let proofs = self
                    .chain
                    .verified_proofs(&answer.authorities, &zone, &keys, session);
                if proofs.rejected {
                    return Security::Bogus(rejected_authority(&zone).at(what()));
                }
                let limits = self.chain.limits();
                let proof = if answer.rcode == ResponseCode::NXDomain {
                    denial::prove_nxdomain(name, &zone, &proofs.records, limits, &mut session.nsec3)
                } else {
                    denial::prove_nodata(
                        name,
                        qtype,
                        &zone,
                        &proofs.records,
                        limits,
                        &mut session.nsec3,
                    )
                };
                proof_status(proof, what)
            }
            other => status_without_keys(other, &zone, what),
        }
    }

    /// Unsigned data: insecure in an insecure zone; in a secure one its
    /// signatures were stripped, which `harden-dnssec-stripped` makes `missing`.
    fn unsigned_status(&self, keys: Keys, missing: Bogus, what: impl Fn() -> String) -> Security {
        match keys {
            Keys::Secure { .. } if self.options.harden_dnssec_stripped => {
                Security::Bogus(missing.at(what()))
            }
            Keys::Secure { .. } => Security::Insecure,
            other => status_without_keys(other, &Name::root(), what),
        }
    }
}

/// The status of data signed by `signer` when the chain of trust gave no
/// usable keys for it: insecure, indeterminate, or bogus (the chain broke, or
/// the signer is no signed zone the chain reaches).
fn status_without_keys(keys: Keys, signer: &Name, what: impl Fn() -> String) -> Security {
    match keys {
        Keys::Insecure => Security::Insecure,
        Keys::Indeterminate => Security::Indeterminate,
        Keys::Bogus(bogus) => Security::Bogus(bogus.at(what())),
        Keys::Secure { zone, .. } => Security::Bogus(
            Bogus::new(
                Ede::DnskeyMissing,
                format!("{signer} is not a signed zone below {zone}"),
            )
            .at(what()),
        ),
    }
}

/// An authority RRset of a secure zone that does not verify (a forged or
/// unsigned SOA, a broken NSEC) makes the answer bogus, as in Unbound.
fn rejected_authority(zone: &Name) -> Bogus {
    Bogus::new(
        Ede::DnssecBogus,
        format!("an authority RRset of {zone} does not verify"),
    )
}

/// A denial proof's outcome as a status.
fn proof_status(proof: Proof, what: impl Fn() -> String) -> Security {
    match proof {
        Proof::Secure => Security::Secure,
        Proof::Insecure(_) => Security::Insecure,
        Proof::Bogus(failure) => Security::Bogus(
            Bogus::new(
                Ede::from_code(failure.ede()),
                format!("no valid denial proof ({failure})"),
            )
            .at(what()),
        ),
    }
}

/// The name a negative answer denies: the end of the CNAME chain from
/// `qname`, when that name has no RRset of `qtype`. None for a positive answer.
fn denied_name(
    qname: &Name,
    qtype: RecordType,
    answer: &Answer,
    sets: &[SignedRrset<'_>],
) -> Option<Name> {
    if !matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return None;
    }
    let mut name = qname.clone();
    for _ in 0..MAX_CHAIN {
        if qtype == RecordType::CNAME {
            break;
        }
        let next = sets
            .iter()
            .filter(|s| s.rtype == RecordType::CNAME && *s.owner == name)
            .find_map(|s| {
                s.records.iter().find_map(|r| match &r.data {
                    RData::CNAME(target) => Some(target.0.clone()),
                    _ => None,
                })
            });
        match next {
            Some(target) => name = target,
            None => break,
        }
    }
    let has_final = sets
        .iter()
        .any(|s| *s.owner == name && (s.rtype == qtype || qtype == RecordType::ANY));
    (answer.rcode == ResponseCode::NXDomain || !has_final).then_some(name)
}

/// Whether an unsigned CNAME is the one a DNAME in the same answer implies
/// (RFC 6672 §2.2: owner below the DNAME, target = owner with the DNAME's
/// owner replaced by its target).
fn synthesized_from_dname(cname: &SignedRrset<'_>, all: &[SignedRrset<'_>]) -> bool {
    let Some(target) = cname.records.iter().find_map(|r| match &r.data {
        RData::CNAME(t) => Some(t.0.clone()),
        _ => None,
    }) else {
        return false;
    };
    all.iter()
        .filter(|s| s.rtype == RecordType::DNAME && !s.sigs.is_empty())
        .filter(|s| s.owner.zone_of(cname.owner) && s.owner != cname.owner)
        .any(|dname| {
            dname.records.iter().any(|record| {
                let Some(dname_target) = crate::iterate::step::dname_target(record) else {
                    return false;
                };
                let prefix = super::names::label_count(cname.owner)
                    .saturating_sub(super::names::label_count(dname.owner));
                let labels: Vec<&[u8]> = cname.owner.iter().take(prefix).collect();
                Name::from_labels(labels)
                    .ok()
                    .and_then(|p| p.append_domain(&dname_target).ok())
                    .is_some_and(|expected| expected == target)
            })
        })
}
