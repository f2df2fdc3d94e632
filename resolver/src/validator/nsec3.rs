//! NSEC3 (RFC 5155) parsing, hashing and the denial proofs of RFC 5155 §8,
//! ported from Unbound's `validator/val_nsec3.c`: filter the usable records
//! (`filter_init`/`filter_next`), require one parameter set
//! (`param_set_same`), treat high iteration counts as insecure
//! (`nsec3_iteration_count_high`), and bound the hashing work
//! (`MAX_NSEC3_CALCULATIONS`, CVE-2023-50868) through [`Nsec3Budget`].

use std::collections::HashMap;

use hickory_proto::rr::{Name, Record, RecordType};
use ring::digest;

use super::bitmap::TypeBitmap;
use super::denial::{DenialFailure, DenialLimits, DsDenial, InsecureReason, Nsec3Budget, Proof};
use super::names::{
    canonical_wire, is_subdomain, label_count, parent, same_name, suffix, wildcard_of,
};
use super::nsec::opaque_rdata;

/// The only NSEC3 hash algorithm defined: SHA-1 (RFC 5155 §11).
pub const NSEC3_HASH_SHA1: u8 = 1;
/// The opt-out flag (RFC 5155 §3.1.2.1); every other flag bit is unknown.
pub const NSEC3_FLAG_OPT_OUT: u8 = 0x01;
/// Length of a SHA-1 NSEC3 hash in octets.
const SHA1_LEN: usize = 20;

/// The RDATA of an NSEC3 record (RFC 5155 §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nsec3 {
    /// Hash algorithm (1 = SHA-1).
    pub hash_algorithm: u8,
    /// Flags; bit 0 is opt-out.
    pub flags: u8,
    /// Additional hash iterations.
    pub iterations: u16,
    /// Salt appended at every iteration.
    pub salt: Vec<u8>,
    /// Next hashed owner name, binary (not base32).
    pub next_hashed: Vec<u8>,
    /// The types present at the original owner name.
    pub types: TypeBitmap,
}

impl Nsec3 {
    /// Whether the opt-out flag is set: the span may hide unsigned delegations.
    pub fn opt_out(&self) -> bool {
        self.flags & NSEC3_FLAG_OPT_OUT != 0
    }
}

/// Reads an NSEC3 record carried as opaque RDATA; None for any other record
/// or a malformed one.
pub fn parse_nsec3(record: &Record) -> Option<Nsec3> {
    let rdata = opaque_rdata(record, RecordType::NSEC3)?;
    let [hash_algorithm, flags, it_high, it_low, salt_len, rest @ ..] = rdata else {
        return None;
    };
    let salt = rest.get(..usize::from(*salt_len))?;
    let (hash_len, rest) = rest.get(salt.len()..)?.split_first()?;
    let hash_len = usize::from(*hash_len);
    if hash_len == 0 {
        return None;
    }
    let next_hashed = rest.get(..hash_len)?;
    let types = TypeBitmap::parse(rest.get(hash_len..)?)?;
    Some(Nsec3 {
        hash_algorithm: *hash_algorithm,
        flags: *flags,
        iterations: u16::from_be_bytes([*it_high, *it_low]),
        salt: salt.to_vec(),
        next_hashed: next_hashed.to_vec(),
        types,
    })
}

/// RFC 5155 §5: IH(salt, x, 0) = H(x || salt), IH(salt, x, k) =
/// H(IH(salt, x, k-1) || salt), over the canonical wire form of `name`,
/// with SHA-1. Costs `iterations + 1` digests: bound calls by [`Nsec3Budget`].
pub fn nsec3_hash(name: &Name, salt: &[u8], iterations: u16) -> Vec<u8> {
    let algorithm = &digest::SHA1_FOR_LEGACY_USE_ONLY;
    let mut ctx = digest::Context::new(algorithm);
    ctx.update(&canonical_wire(name));
    ctx.update(salt);
    let mut hash = ctx.finish();
    for _ in 0..iterations {
        let mut ctx = digest::Context::new(algorithm);
        ctx.update(hash.as_ref());
        ctx.update(salt);
        hash = ctx.finish();
    }
    hash.as_ref().to_vec()
}

const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// Base32hex (RFC 4648 §7) in lower case without padding, as NSEC3 owner
/// labels are written.
pub fn base32hex_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u16, 0u32);
    for &byte in bytes {
        acc = (acc << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32HEX[usize::from((acc >> bits) & 0x1f)]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            BASE32HEX[usize::from((acc << (5 - bits)) & 0x1f)],
        ));
    }
    out
}

/// Decodes unpadded, case-insensitive base32hex (RFC 4648 §7); None on a
/// character outside the alphabet, an impossible length or non-zero pad bits.
pub fn base32hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u16, 0u32);
    for &c in text {
        let value = match c.to_ascii_lowercase() {
            d @ b'0'..=b'9' => d - b'0',
            l @ b'a'..=b'v' => l - b'a' + 10,
            _ => return None,
        };
        acc = (acc << 5) | u16::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 5 && acc == 0).then_some(out)
}

/// A usable NSEC3 of the zone: its owner hash decoded.
#[derive(Debug)]
struct Entry {
    owner_hash: Vec<u8>,
    nsec3: Nsec3,
}

impl Entry {
    fn has(&self, rtype: RecordType) -> bool {
        self.nsec3.types.contains(rtype)
    }

    fn is_delegation(&self) -> bool {
        self.has(RecordType::NS) && !self.has(RecordType::SOA)
    }

    /// RFC 5155 §8.3 "covers": owner < hash < next, or past the end of the
    /// chain when next <= owner (also the single-NSEC3 chain).
    fn covers(&self, hash: &[u8]) -> bool {
        let (owner, next) = (
            self.owner_hash.as_slice(),
            self.nsec3.next_hashed.as_slice(),
        );
        if owner < next {
            owner < hash && hash < next
        } else {
            hash > owner || hash < next
        }
    }
}

/// The zone's usable NSEC3 chain: one parameter set, iterations within limits.
#[derive(Debug)]
pub(super) struct Chain {
    zone: Name,
    entries: Vec<Entry>,
    salt: Vec<u8>,
    iterations: u16,
}

/// What the NSEC3 records of a reply amount to before any proof.
pub(super) enum ChainState {
    /// No usable NSEC3 of the zone.
    Absent,
    /// Decided without a proof: distinct parameter sets (bogus) or too many
    /// iterations (insecure).
    Decided(Proof),
    /// A chain to prove with.
    Usable(Chain),
}

/// RFC 5155 §8.2 (ignore unknown algorithms and flags) plus Unbound's
/// `filter_init`, `param_set_same` and `nsec3_iteration_count_high`.
pub(super) fn zone_chain(zone: &Name, records: &[Record], limits: &DenialLimits) -> ChainState {
    let entries: Vec<Entry> = records
        .iter()
        .filter_map(|record| {
            let nsec3 = parse_nsec3(record)?;
            if nsec3.hash_algorithm != NSEC3_HASH_SHA1
                || nsec3.flags & !NSEC3_FLAG_OPT_OUT != 0
                || nsec3.next_hashed.len() != SHA1_LEN
                || label_count(&record.name) == 0
                || !same_name(&parent(&record.name), zone)
            {
                return None;
            }
            let owner_hash = base32hex_decode(record.name.iter().next()?)?;
            (owner_hash.len() == SHA1_LEN).then_some(Entry { owner_hash, nsec3 })
        })
        .collect();
    let Some(first) = entries.first() else {
        return ChainState::Absent;
    };
    let (salt, iterations) = (first.nsec3.salt.clone(), first.nsec3.iterations);
    if entries
        .iter()
        .any(|e| e.nsec3.salt != salt || e.nsec3.iterations != iterations)
    {
        return ChainState::Decided(Proof::Bogus(DenialFailure::Nsec3ParamsMismatch));
    }
    if iterations > limits.max_nsec3_iterations {
        return ChainState::Decided(Proof::Insecure(InsecureReason::Nsec3Iterations));
    }
    ChainState::Usable(Chain {
        zone: zone.clone(),
        entries,
        salt,
        iterations,
    })
}

/// A proven closest encloser (RFC 5155 §8.3).
struct Encloser<'a> {
    name: Name,
    /// The NSEC3 covering the next closer name; None when the encloser is qname.
    next_closer: Option<&'a Entry>,
}

impl Encloser<'_> {
    fn opt_out(&self) -> bool {
        self.next_closer.is_some_and(|e| e.nsec3.opt_out())
    }
}

/// One proof over a chain: hashes are cached per name and charged to the budget.
pub(super) struct Prover<'a> {
    chain: &'a Chain,
    budget: &'a mut Nsec3Budget,
    hashes: HashMap<Vec<u8>, Vec<u8>>,
}

/// The "next closer name" (RFC 5155 §1.3): the ancestor of `qname` one label
/// longer than `encloser`.
fn next_closer(qname: &Name, encloser: &Name) -> Name {
    suffix(qname, label_count(encloser) + 1)
}

/// Flattens a proof written with `?` on early verdicts.
fn verdict<T>(result: Result<T, T>) -> T {
    match result {
        Ok(v) | Err(v) => v,
    }
}

impl<'a> Prover<'a> {
    /// Starts proofs over `chain`, charging `budget`.
    pub(super) fn new(chain: &'a Chain, budget: &'a mut Nsec3Budget) -> Self {
        Prover {
            chain,
            budget,
            hashes: HashMap::new(),
        }
    }

    fn hash(&mut self, name: &Name) -> Result<Vec<u8>, Proof> {
        let key = canonical_wire(name);
        if let Some(hash) = self.hashes.get(&key) {
            return Ok(hash.clone());
        }
        if !self.budget.take() {
            return Err(Proof::Bogus(DenialFailure::Nsec3BudgetExhausted));
        }
        let hash = nsec3_hash(name, &self.chain.salt, self.chain.iterations);
        self.hashes.insert(key, hash.clone());
        Ok(hash)
    }

    fn find_matching(&mut self, name: &Name) -> Result<Option<&'a Entry>, Proof> {
        let hash = self.hash(name)?;
        Ok(self.chain.entries.iter().find(|e| e.owner_hash == hash))
    }

    fn find_covering(&mut self, name: &Name) -> Result<Option<&'a Entry>, Proof> {
        let hash = self.hash(name)?;
        Ok(self.chain.entries.iter().find(|e| e.covers(&hash)))
    }

    /// RFC 5155 §8.3 / Unbound `nsec3_prove_closest_encloser`: the longest
    /// ancestor of qname with a matching NSEC3 (not a delegation, not a
    /// DNAME), and an NSEC3 covering the next closer name. An unsigned
    /// delegation as encloser makes the answer insecure.
    fn closest_encloser(
        &mut self,
        qname: &Name,
        must_not_exist: bool,
    ) -> Result<Encloser<'a>, Proof> {
        let mut candidate = qname.clone();
        let (name, entry) = loop {
            if !is_subdomain(&candidate, &self.chain.zone) {
                return Err(Proof::Bogus(DenialFailure::NoClosestEncloser));
            }
            if let Some(entry) = self.find_matching(&candidate)? {
                break (candidate, entry);
            }
            if candidate.is_root() {
                return Err(Proof::Bogus(DenialFailure::NoClosestEncloser));
            }
            candidate = parent(&candidate);
        };
        if same_name(&name, qname) {
            return if must_not_exist {
                Err(Proof::Bogus(DenialFailure::NameExists))
            } else {
                Ok(Encloser {
                    name,
                    next_closer: None,
                })
            };
        }
        if entry.is_delegation() {
            return Err(if entry.has(RecordType::DS) {
                Proof::Bogus(DenialFailure::DelegationMisused)
            } else {
                Proof::Insecure(InsecureReason::InsecureDelegation)
            });
        }
        if entry.has(RecordType::DNAME) {
            return Err(Proof::Bogus(DenialFailure::DnameMisused));
        }
        match self.find_covering(&next_closer(qname, &name))? {
            Some(covering) => Ok(Encloser {
                name,
                next_closer: Some(covering),
            }),
            None => Err(Proof::Bogus(DenialFailure::NextCloserNotCovered)),
        }
    }

    /// RFC 5155 §8.4 / Unbound `nsec3_do_prove_nameerror`.
    pub(super) fn prove_nxdomain(&mut self, qname: &Name) -> Proof {
        verdict(self.try_nxdomain(qname))
    }

    fn try_nxdomain(&mut self, qname: &Name) -> Result<Proof, Proof> {
        let encloser = self.closest_encloser(qname, true)?;
        let wildcard =
            wildcard_of(&encloser.name).ok_or(Proof::Bogus(DenialFailure::WildcardNotDenied))?;
        if self.find_covering(&wildcard)?.is_none() {
            return Ok(Proof::Bogus(DenialFailure::WildcardNotDenied));
        }
        // RFC 5155 §9.2: an opt-out span may hide an unsigned delegation.
        Ok(if encloser.opt_out() {
            Proof::Insecure(InsecureReason::OptOut)
        } else {
            Proof::Secure
        })
    }

    /// RFC 5155 §8.5–8.7 / Unbound `nsec3_do_prove_nodata`.
    pub(super) fn prove_nodata(&mut self, qname: &Name, qtype: RecordType) -> Proof {
        verdict(self.try_nodata(qname, qtype))
    }

    fn try_nodata(&mut self, qname: &Name, qtype: RecordType) -> Result<Proof, Proof> {
        let is_ds = qtype == RecordType::DS;
        if let Some(entry) = self.find_matching(qname)? {
            // §8.5, §8.6: the matching NSEC3 lacks the type and CNAME.
            return Ok(if let Some(failure) = type_failure(entry, qtype) {
                Proof::Bogus(failure)
            } else if is_ds && entry.has(RecordType::SOA) && !qname.is_root() {
                Proof::Bogus(DenialFailure::ChildSideDenial)
            } else if !is_ds && entry.is_delegation() {
                // A parent-side NSEC3 proves no data but DS below a cut.
                if entry.has(RecordType::DS) {
                    Proof::Bogus(DenialFailure::DelegationMisused)
                } else {
                    Proof::Insecure(InsecureReason::InsecureDelegation)
                }
            } else {
                Proof::Secure
            });
        }
        let encloser = match self.closest_encloser(qname, true) {
            Ok(encloser) => encloser,
            Err(Proof::Insecure(_)) if is_ds => {
                return Ok(Proof::Bogus(DenialFailure::DelegationMisused))
            }
            Err(verdict) => return Err(verdict),
        };
        // §8.7 wildcard NODATA: *.encloser matches without the type.
        if let Some(wildcard) = wildcard_of(&encloser.name) {
            if let Some(entry) = self.find_matching(&wildcard)? {
                return Ok(if let Some(failure) = type_failure(entry, qtype) {
                    Proof::Bogus(failure)
                } else if is_ds && entry.has(RecordType::SOA) {
                    Proof::Bogus(DenialFailure::ChildSideDenial)
                } else if !is_ds && entry.is_delegation() {
                    Proof::Bogus(DenialFailure::DelegationMisused)
                } else if encloser.opt_out() {
                    Proof::Insecure(InsecureReason::OptOut)
                } else {
                    Proof::Secure
                });
            }
        }
        // §8.6: no matching NSEC3, the next closer in an opt-out span.
        Ok(if encloser.opt_out() {
            Proof::Insecure(InsecureReason::OptOut)
        } else {
            Proof::Bogus(DenialFailure::NoProof)
        })
    }

    /// RFC 5155 §8.8 / Unbound `nsec3_prove_wildcard`: the next closer name
    /// below the wildcard's encloser is covered.
    pub(super) fn prove_wildcard_expansion(&mut self, qname: &Name, encloser: &Name) -> Proof {
        verdict(
            self.find_covering(&next_closer(qname, encloser))
                .map(|covering| match covering {
                    None => Proof::Bogus(DenialFailure::NextCloserNotCovered),
                    Some(entry) if entry.nsec3.opt_out() => Proof::Insecure(InsecureReason::OptOut),
                    Some(_) => Proof::Secure,
                }),
        )
    }

    /// RFC 5155 §8.6, §8.9 / Unbound `nsec3_prove_nods`.
    pub(super) fn prove_no_ds(&mut self, name: &Name) -> DsDenial {
        match self.try_no_ds(name) {
            Ok(denial) => denial,
            Err(Proof::Bogus(failure)) => DsDenial::Bogus(failure),
            // An unsigned delegation *above* name proves nothing about name
            // itself (Unbound: bogus).
            Err(_) => DsDenial::Bogus(DenialFailure::DelegationMisused),
        }
    }

    fn try_no_ds(&mut self, name: &Name) -> Result<DsDenial, Proof> {
        if let Some(entry) = self.find_matching(name)? {
            return Ok(if entry.has(RecordType::SOA) && !name.is_root() {
                DsDenial::Bogus(DenialFailure::ChildSideDenial)
            } else if entry.has(RecordType::DS) {
                DsDenial::Bogus(DenialFailure::TypeExists)
            } else if !entry.has(RecordType::NS) {
                DsDenial::NotACut
            } else {
                DsDenial::InsecureDelegation
            });
        }
        let encloser = self.closest_encloser(name, true)?;
        if encloser.opt_out() {
            // §8.6 / §9.2: perhaps an unsigned delegation in an opt-out span.
            return Ok(DsDenial::InsecureDelegation);
        }
        // Not in Unbound (bogus here), which only asks DS at names it saw as
        // cuts: a name proven not to exist, nor a wildcard for it, is no cut.
        let wildcard =
            wildcard_of(&encloser.name).ok_or(Proof::Bogus(DenialFailure::WildcardNotDenied))?;
        Ok(if self.find_covering(&wildcard)?.is_some() {
            DsDenial::NotACut
        } else {
            DsDenial::Bogus(DenialFailure::WildcardNotDenied)
        })
    }
}

/// Why a matching NSEC3 contradicts NODATA for `qtype`: the type or a CNAME exists.
fn type_failure(entry: &Entry, qtype: RecordType) -> Option<DenialFailure> {
    if entry.has(qtype) {
        Some(DenialFailure::TypeExists)
    } else if entry.has(RecordType::CNAME) {
        Some(DenialFailure::CnameExists)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::denial::testutil::{name, nsec3, opaque, RFC5155};
    use hickory_proto::rr::RData;

    /// RFC 5155 Appendix A: the hashed owner names of the example zone
    /// (SHA-1, salt aabbccdd, 12 iterations).
    #[test]
    fn rfc5155_appendix_a_hash_vectors() {
        let vectors = [
            ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
            ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
            ("ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"),
            ("ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
            ("ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"),
            ("w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"),
            ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
            ("x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"),
            ("y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"),
            ("x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"),
            ("xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"),
            (
                "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.",
                "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
            ),
            // Appendix B names that do not exist.
            ("c.x.w.example.", "0va5bpr2ou0vk0lbqeeljri88laipsfh"),
            ("*.x.w.example.", "92pqneegtaue7pjatc3l3qnk738c6v5m"),
            ("c.example.", "4g6p9u5gvfshp30pqecj98b3maqbn1ck"),
            ("z.w.example.", "qlu7gtfaeh0ek0c05ksfhdpbcgglbe03"),
        ];
        for (owner, hashed) in vectors {
            let hash = nsec3_hash(&name(owner), RFC5155.salt, RFC5155.iterations);
            assert_eq!(base32hex_encode(&hash), hashed, "H({owner})");
        }
        // RFC 5155 §5: the name is hashed in canonical (lower-case) form.
        let upper = nsec3_hash(&name("EXAMPLE."), RFC5155.salt, RFC5155.iterations);
        assert_eq!(base32hex_encode(&upper), "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
    }

    /// RFC 4648 §7 base32hex: round trip, case-insensitive decoding, and
    /// refusal of characters outside the alphabet or dangling bits.
    #[test]
    fn rfc4648_7_base32hex() {
        assert_eq!(base32hex_encode(b"f"), "co");
        assert_eq!(base32hex_encode(b"foobar"), "cpnmuoj1e8");
        assert_eq!(
            base32hex_decode(b"CPNMUOJ1E8").as_deref(),
            Some(&b"foobar"[..])
        );
        let bytes: Vec<u8> = (0..20).collect();
        assert_eq!(
            base32hex_decode(base32hex_encode(&bytes).as_bytes()),
            Some(bytes)
        );
        assert_eq!(base32hex_decode(b"cpnmuoj1e8w"), None);
        assert_eq!(base32hex_decode(b"cp="), None);
        assert_eq!(base32hex_decode(b"cp"), None);
    }

    /// RFC 5155 §3.2: the RDATA fields are read from opaque bytes; truncated
    /// or zero-length-hash RDATA is refused rather than trusted.
    #[test]
    fn rfc5155_3_2_rdata_parsed_and_malformed_refused() {
        let record = nsec3(
            &RFC5155,
            "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
            "example.",
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
            &[RecordType::MX, RecordType::SOA],
        );
        let parsed = parse_nsec3(&record).unwrap();
        assert_eq!((parsed.hash_algorithm, parsed.iterations), (1, 12));
        assert!(parsed.opt_out());
        assert_eq!(parsed.salt, [0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(
            base32hex_encode(&parsed.next_hashed),
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr"
        );
        assert!(parsed.types.contains(RecordType::SOA) && !parsed.types.contains(RecordType::A));

        let RData::Unknown { rdata, .. } = &record.data else {
            panic!("opaque record expected");
        };
        let wire = rdata.anything.clone();
        // Every cut but the one dropping the whole 4-octet bit map (an empty
        // map is valid) leaves a truncated field.
        for cut in (1..wire.len()).filter(|&cut| cut != wire.len() - 4) {
            let truncated = opaque(record.name.clone(), RecordType::NSEC3, wire[..cut].to_vec());
            assert!(parse_nsec3(&truncated).is_none(), "cut at {cut}");
        }
        let zero_hash = opaque(
            record.name.clone(),
            RecordType::NSEC3,
            vec![1, 0, 0, 0, 0, 0],
        );
        assert!(parse_nsec3(&zero_hash).is_none());
        let as_nsec = opaque(record.name.clone(), RecordType::NSEC, wire);
        assert!(parse_nsec3(&as_nsec).is_none());
    }
}
