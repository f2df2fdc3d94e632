//! Zone files -> an in-memory index the authority answers from.
//!
//! Zone files are RFC 1035 master files parsed by hickory-proto's
//! `serialize::txt::Parser`, after two local pre-processing steps:
//! - the literal token `@NET@` is replaced by the per-test net octet;
//! - `DNAME` lines are taken out and parsed here, because hickory's text parser
//!   rejects DNAME (`UnsupportedRecordType`). A DNAME line must name its owner
//!   (`dn DNAME example.org.` or `@ DNAME ...`), optionally with a TTL and `IN`.
//!
//! HOT PATH: every lookup key is a [`LowerName`], so a query costs a few
//! `HashMap` probes (one per label below the apex) and no scanning.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context as _};
use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::{parse_ttl, Parser};

use hickory_proto::op::Message;

use super::signer::{nsec, rrsig_covered, Nsec3Params, Validity, ZoneKey};

/// All the RRsets owned by one name.
#[derive(Debug, Default, Clone)]
pub struct Node {
    rrsets: Vec<(RecordType, Vec<Record>)>,
}

impl Node {
    /// The RRset of type `rtype`, if the node has one.
    pub fn get(&self, rtype: RecordType) -> Option<&[Record]> {
        self.rrsets
            .iter()
            .find(|(t, _)| *t == rtype)
            .map(|(_, records)| records.as_slice())
    }

    /// Every record at this node, all types.
    pub fn all(&self) -> impl Iterator<Item = &Record> {
        self.rrsets.iter().flat_map(|(_, records)| records.iter())
    }

    /// The RRSIGs at this node that sign its `covered` RRset.
    pub fn signatures(&self, covered: RecordType) -> impl Iterator<Item = &Record> {
        self.get(RecordType::RRSIG)
            .unwrap_or_default()
            .iter()
            .filter(move |sig| rrsig_covered(sig) == Some(covered))
    }

    fn insert(&mut self, record: Record) {
        let rtype = record.record_type();
        match self.rrsets.iter_mut().find(|(t, _)| *t == rtype) {
            Some((_, records)) => {
                if !records.contains(&record) {
                    records.push(record);
                }
            }
            None => self.rrsets.push((rtype, vec![record])),
        }
    }
}

/// One authoritative zone, indexed by lower-cased owner name.
#[derive(Debug, Clone)]
pub struct Zone {
    origin: Name,
    soa: Record,
    nodes: HashMap<LowerName, Node>,
    /// Empty non-terminals: names that own nothing but have descendants.
    ents: HashSet<LowerName>,
    /// Owners of the NSEC chain (or, with NSEC3, of the names hashed) in
    /// canonical order; empty for an unsigned zone.
    nsec_owners: Vec<Name>,
    /// NSEC3 parameters and chain: (hash, NSEC3 and its RRSIGs) by hash.
    nsec3: Option<(Nsec3Params, Nsec3Chain)>,
    /// Run over every answer from this zone.
    filter: Option<AnswerFilter>,
}

/// An NSEC3 chain in hash order: (owner hash, the NSEC3 and its RRSIGs).
type Nsec3Chain = Vec<(Vec<u8>, Vec<Record>)>;

/// A plain function that alters an answer after the zone wrote it (a DNSSEC
/// fault, see [`super::dnssec`]).
pub type AnswerFilter = fn(&mut Message);

/// How [`Zone::sign`] signs.
#[derive(Debug, Clone)]
pub struct Signing<'k> {
    /// The published key; it signs the DNSKEY RRset.
    pub key: &'k ZoneKey,
    /// The key that signs every other RRset (another, unpublished key for the
    /// wrong-key case).
    pub rrset_key: &'k ZoneKey,
    /// The RRSIG window of every RRset but the DNSKEY.
    pub validity: Validity,
    /// The RRSIG window of the DNSKEY RRset (fresh even when `validity` is
    /// not, so the keys validate and the data fails).
    pub key_validity: Validity,
    /// NSEC3 instead of NSEC.
    pub nsec3: Option<Nsec3Params>,
    /// Extra DNSKEYs with the key's tag (KeyTrap).
    pub decoys: usize,
    /// When non-zero, every RRset but the DNSKEY gets this many forged RRSIGs
    /// with the key's tag instead of a real one (KeyTrap).
    pub forged: usize,
    /// A second published key whose RRSIG over the DNSKEY set is forged and
    /// which signs nothing else (`+algdowngrade`).
    pub forged_second: Option<&'k ZoneKey>,
}

impl<'k> Signing<'k> {
    /// Plain signing with `key`, NSEC, signatures fresh at `now_unix`.
    pub fn new(key: &'k ZoneKey, now_unix: u64) -> Self {
        Self {
            key,
            rrset_key: key,
            validity: Validity::fresh(now_unix),
            key_validity: Validity::fresh(now_unix),
            nsec3: None,
            decoys: 0,
            forged: 0,
            forged_second: None,
        }
    }

    /// The RRSIGs of `rrset`.
    fn signatures(&self, rrset: &[Record], apex: &Name) -> anyhow::Result<Vec<Record>> {
        let is_dnskey = rrset
            .first()
            .is_some_and(|r| r.record_type() == RecordType::DNSKEY);
        if is_dnskey {
            let mut sigs = vec![self.key.sign(rrset, apex, self.key_validity)?];
            if let Some(second) = self.forged_second {
                sigs.push(second.forge(rrset, apex, self.key_validity)?);
            }
            return Ok(sigs);
        }
        if self.forged > 0 {
            return (0..self.forged)
                .map(|_| self.key.forge(rrset, apex, self.validity))
                .collect();
        }
        Ok(vec![self.rrset_key.sign(rrset, apex, self.validity)?])
    }
}

/// `*.<name>`.
fn star(name: &Name) -> Name {
    Name::from_labels([&b"*"[..]])
        .and_then(|s| s.append_domain(name))
        .unwrap_or_else(|_| name.clone())
}

impl Zone {
    /// Loads a zone file, replacing `@NET@` with `net`.
    pub fn load(path: &Path, net: u8) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading zone file {}", path.display()))?;
        Self::parse(&text, Some(path), net).with_context(|| format!("zone file {}", path.display()))
    }

    /// Parses zone-file text, replacing `@NET@` with `net`. `path` resolves `$INCLUDE`.
    pub fn parse(text: &str, path: Option<&Path>, net: u8) -> anyhow::Result<Self> {
        let text = text.replace("@NET@", &net.to_string());
        let (text, dnames) = extract_dnames(&text)?;
        let parser = Parser::new(text, path.map(Path::to_path_buf), None);
        let (origin, rrsets) = parser.parse().map_err(|e| anyhow!("parse error: {e}"))?;
        let mut records: Vec<Record> = rrsets
            .into_values()
            .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
            .collect();
        for dname in dnames {
            let owner = dname.owner_in(&origin)?;
            records.push(make_dname(owner, dname.ttl, &dname.target_in(&origin)?)?);
        }
        Self::from_records(origin, records)
    }

    /// Builds a zone from records; the SOA must be at `origin`.
    pub fn from_records(mut origin: Name, records: Vec<Record>) -> anyhow::Result<Self> {
        origin.set_fqdn(true);
        let mut nodes: HashMap<LowerName, Node> = HashMap::new();
        let mut soa = None;
        for record in records {
            if !origin.zone_of(&record.name) {
                bail!("record {} is outside zone {origin}", record.name);
            }
            if record.record_type() == RecordType::SOA {
                if record.name != origin {
                    bail!("SOA owner {} is not the apex {origin}", record.name);
                }
                soa = Some(record.clone());
            }
            nodes
                .entry(LowerName::new(&record.name))
                .or_default()
                .insert(record);
        }
        let soa = soa.ok_or_else(|| anyhow!("zone {origin} has no SOA"))?;
        let apex_labels = origin.num_labels();
        let mut ents = HashSet::new();
        for key in nodes.keys() {
            let name = Name::from(key);
            // Every label counts here, a leading `*` too (num_labels skips it):
            // `*.b.example.` makes `b.example.` an empty non-terminal.
            let labels = u8::try_from(name.iter().count()).unwrap_or(u8::MAX);
            for n in (apex_labels + 1)..labels {
                let ancestor = LowerName::new(&name.trim_to(usize::from(n)));
                if !nodes.contains_key(&ancestor) {
                    ents.insert(ancestor);
                }
            }
        }
        Ok(Self {
            origin,
            soa,
            nodes,
            ents,
            nsec_owners: Vec::new(),
            nsec3: None,
            filter: None,
        })
    }

    /// Signs the zone as `signing` says: DNSKEYs at the apex, an NSEC or
    /// NSEC3 chain over every authoritative name and delegation point (NSEC3
    /// also over empty non-terminals, RFC 5155 §7.1, and with Opt-Out without
    /// the insecure delegations), and RRSIGs on every authoritative RRset (a
    /// delegation's NS and glue stay unsigned, RFC 4035 §2.2).
    pub fn sign(&mut self, signing: &Signing<'_>) -> anyhow::Result<()> {
        let apex = self.origin.clone();
        let ttl = self.soa.ttl;
        let apex_key = LowerName::new(&apex);
        let mut dnskeys = vec![signing.key.dnskey(&apex, ttl)];
        dnskeys.extend(signing.key.colliding_dnskeys(&apex, ttl, signing.decoys));
        dnskeys.extend(signing.forged_second.map(|k| k.dnskey(&apex, ttl)));
        if let Some(params) = &signing.nsec3 {
            dnskeys.push(params.nsec3param(&apex, ttl)?);
        }
        let node = self.nodes.entry(apex_key).or_default();
        for record in dnskeys {
            node.insert(record);
        }
        let mut owners: Vec<Name> = self
            .nodes
            .keys()
            .map(Name::from)
            .filter(|name| !self.below_cut(name))
            .collect();
        owners.sort();
        let negative_ttl = self.negative_soa().ttl;
        match &signing.nsec3 {
            None => {
                for (index, owner) in owners.iter().enumerate() {
                    let next = &owners[(index + 1) % owners.len()];
                    let mut types = self.types_at(owner);
                    types.extend([RecordType::RRSIG, RecordType::NSEC]);
                    let record = nsec(owner, negative_ttl, next, &types)?;
                    self.nodes
                        .entry(LowerName::new(owner))
                        .or_default()
                        .insert(record);
                }
            }
            Some(params) => self.build_nsec3_chain(params, &owners, negative_ttl, signing)?,
        }
        for owner in &owners {
            let key_of = LowerName::new(owner);
            let Some(node) = self.nodes.get(&key_of).cloned() else {
                continue;
            };
            let cut = self.is_cut(owner);
            for (rtype, rrset) in &node.rrsets {
                let signed = if cut {
                    matches!(rtype, RecordType::DS | RecordType::NSEC)
                } else {
                    *rtype != RecordType::RRSIG
                };
                if signed {
                    let node = self.nodes.entry(key_of.clone()).or_default();
                    for sig in signing.signatures(rrset, &apex)? {
                        node.insert(sig);
                    }
                }
            }
        }
        self.nsec_owners = owners;
        Ok(())
    }

    /// The types an NSEC or NSEC3 at `owner` lists besides RRSIG and itself:
    /// all of them, or at a zone cut only NS and DS (RFC 4035 §2.3).
    fn types_at(&self, owner: &Name) -> Vec<RecordType> {
        let mut types: Vec<RecordType> = self
            .nodes
            .get(&LowerName::new(owner))
            .map(|node| node.rrsets.iter().map(|(t, _)| *t).collect())
            .unwrap_or_default();
        if self.is_cut(owner) {
            types.retain(|t| matches!(t, RecordType::NS | RecordType::DS));
        }
        types
    }

    fn build_nsec3_chain(
        &mut self,
        params: &Nsec3Params,
        owners: &[Name],
        ttl: u32,
        signing: &Signing<'_>,
    ) -> anyhow::Result<()> {
        let mut names: Vec<Name> = owners.to_vec();
        names.extend(
            self.ents
                .iter()
                .map(Name::from)
                .filter(|name| !self.below_cut(name)),
        );
        if params.opt_out {
            // RFC 5155 §6: an Opt-Out span may cover insecure delegations.
            names
                .retain(|name| !self.is_cut(name) || self.types_at(name).contains(&RecordType::DS));
        }
        let mut hashed: Vec<(Vec<u8>, Name)> = names
            .into_iter()
            .map(|name| Ok((params.hash(&name)?, name)))
            .collect::<anyhow::Result<_>>()?;
        hashed.sort();
        hashed.dedup_by(|a, b| a.0 == b.0);
        let mut chain = Vec::with_capacity(hashed.len());
        for (index, (hash, name)) in hashed.iter().enumerate() {
            let next = &hashed[(index + 1) % hashed.len()].0;
            let mut types = self.types_at(name);
            if !types.is_empty() && (!self.is_cut(name) || types.contains(&RecordType::DS)) {
                types.push(RecordType::RRSIG);
            }
            let record = params.nsec3(&self.origin, ttl, hash, next, &types)?;
            let mut rrset = vec![record.clone()];
            rrset.extend(signing.signatures(&[record], &self.origin)?);
            chain.push((hash.clone(), rrset));
        }
        self.nsec3 = Some((params.clone(), chain));
        Ok(())
    }

    /// Whether the zone is signed.
    pub fn is_signed(&self) -> bool {
        !self.nsec_owners.is_empty()
    }

    /// Installs `filter`, run over every answer from this zone (the DNSSEC
    /// faults of [`super::dnssec`]); `None` removes it.
    pub fn set_filter(&mut self, filter: Option<AnswerFilter>) {
        self.filter = filter;
    }

    /// The filter installed with [`Zone::set_filter`].
    pub fn filter(&self) -> Option<AnswerFilter> {
        self.filter
    }

    /// Adds `record` at an existing node (a DS at a delegation point, before signing).
    pub fn add_record(&mut self, record: Record) -> anyhow::Result<()> {
        let node = self
            .nodes
            .get_mut(&LowerName::new(&record.name))
            .ok_or_else(|| anyhow!("{} has no node in zone {}", record.name, self.origin))?;
        node.insert(record);
        Ok(())
    }

    /// Whether `name` owns data or is an empty non-terminal.
    pub fn exists(&self, name: &Name) -> bool {
        let key = LowerName::new(name);
        self.nodes.contains_key(&key) || self.ents.contains(&key)
    }

    /// The deepest existing ancestor of `name` (RFC 4592's closest encloser).
    pub fn closest_encloser(&self, name: &Name) -> Name {
        let apex = self.origin.num_labels();
        let mut ancestor = name.clone();
        while ancestor.num_labels() > apex && !self.exists(&ancestor) {
            ancestor = ancestor.base_name();
        }
        ancestor
    }

    /// The NSEC owned by `name` or, when `name` owns none, the one whose span
    /// covers it (the greatest owner before it in canonical order), with its
    /// RRSIGs. Empty for an unsigned zone.
    pub fn nsec_proof(&self, name: &Name) -> Vec<Record> {
        let index = match self.nsec_owners.binary_search(name) {
            Ok(index) => index,
            Err(0) => self.nsec_owners.len().saturating_sub(1),
            Err(index) => index - 1,
        };
        let Some(owner) = self.nsec_owners.get(index) else {
            return Vec::new();
        };
        self.signed_rrset(owner, RecordType::NSEC)
    }

    /// The NSEC3 RRset (with RRSIGs) whose owner hash is `name`'s, or (when
    /// `matching` is false, or there is none) the one covering that hash.
    fn nsec3_for(&self, name: &Name, matching: bool) -> Option<Vec<Record>> {
        let (params, chain) = self.nsec3.as_ref()?;
        let hash = params.hash(name).ok()?;
        let index = match chain.binary_search_by(|(h, _)| h.cmp(&hash)) {
            Ok(index) if matching => index,
            Ok(_) => return None,
            Err(_) if matching => return None,
            Err(0) => chain.len().checked_sub(1)?,
            Err(index) => index - 1,
        };
        chain.get(index).map(|(_, rrset)| rrset.clone())
    }

    /// RFC 5155 §7.2.1: the NSEC3 matching the closest provable encloser of
    /// `name` and the one covering the next closer name; returns the proof and
    /// the encloser.
    fn closest_encloser_proof(&self, name: &Name) -> (Vec<Record>, Name) {
        let mut next_closer = name.clone();
        let mut encloser = name.base_name();
        while encloser.num_labels() > self.origin.num_labels()
            && self.nsec3_for(&encloser, true).is_none()
        {
            next_closer = encloser.clone();
            encloser = encloser.base_name();
        }
        if encloser.num_labels() < self.origin.num_labels() {
            encloser = self.origin.clone();
        }
        let mut proof = self.nsec3_for(&encloser, true).unwrap_or_default();
        proof.extend(self.nsec3_for(&next_closer, false).unwrap_or_default());
        (proof, encloser)
    }

    /// The denial records of a NODATA answer for `name` (RFC 4035 §3.1.3.1 and
    /// §3.1.3.4; RFC 5155 §7.2.3-§7.2.5), with RRSIGs. Empty when unsigned.
    pub fn nodata_proof(&self, name: &Name) -> Vec<Record> {
        if self.nsec3.is_none() {
            // The name's own NSEC (or, for an empty non-terminal, the one
            // covering it); from a wildcard, also the NSEC proving the name
            // itself does not exist.
            let mut proof = self.nsec_proof(name);
            if !self.exists(name) {
                proof.extend(self.nsec_proof(&self.wildcard_of(name)));
            }
            return proof;
        }
        if let Some(own) = self.nsec3_for(name, true) {
            return own;
        }
        let (mut proof, encloser) = self.closest_encloser_proof(name);
        if !self.exists(name) {
            proof.extend(self.nsec3_for(&star(&encloser), true).unwrap_or_default());
        }
        proof
    }

    /// The denial records of an NXDOMAIN answer for `name`: no such name and no
    /// wildcard that could match (RFC 4035 §3.1.3.2; RFC 5155 §7.2.2).
    pub fn nxdomain_proof(&self, name: &Name) -> Vec<Record> {
        if self.nsec3.is_none() {
            let mut proof = self.nsec_proof(name);
            proof.extend(self.nsec_proof(&self.wildcard_of(name)));
            return proof;
        }
        let (mut proof, encloser) = self.closest_encloser_proof(name);
        proof.extend(self.nsec3_for(&star(&encloser), false).unwrap_or_default());
        proof
    }

    /// With an answer synthesized from a wildcard for `name`, the proof that no
    /// closer match exists (RFC 4035 §3.1.3.3; RFC 5155 §7.2.6). Empty when
    /// `name` exists or the zone is unsigned.
    pub fn wildcard_answer_proof(&self, name: &Name) -> Vec<Record> {
        if !self.is_signed() || self.exists(name) {
            return Vec::new();
        }
        if self.nsec3.is_none() {
            return self.nsec_proof(name);
        }
        let encloser = self.closest_encloser(name);
        let labels = usize::from(encloser.num_labels()) + 1;
        self.nsec3_for(&name.trim_to(labels), false)
            .unwrap_or_default()
    }

    /// A referral to `cut` without DS: the NSEC (or NSEC3) proving there is
    /// none, or with NSEC3 Opt-Out the closest provable encloser proof
    /// (RFC 4035 §3.1.4; RFC 5155 §7.2.7).
    pub fn no_ds_proof(&self, cut: &Name) -> Vec<Record> {
        if self.nsec3.is_none() {
            return self.signed_rrset(cut, RecordType::NSEC);
        }
        self.nodata_proof(cut)
    }

    /// `*.<closest encloser of name>`.
    pub fn wildcard_of(&self, name: &Name) -> Name {
        star(&self.closest_encloser(name))
    }

    /// The RRset (`owner`, `rtype`) followed by its RRSIGs; empty if absent.
    pub fn signed_rrset(&self, owner: &Name, rtype: RecordType) -> Vec<Record> {
        let Some(node) = self.nodes.get(&LowerName::new(owner)) else {
            return Vec::new();
        };
        let mut out: Vec<Record> = node.get(rtype).map(<[Record]>::to_vec).unwrap_or_default();
        out.extend(node.signatures(rtype).cloned());
        out
    }

    /// A name strictly below the apex that owns NS: a zone cut.
    fn is_cut(&self, name: &Name) -> bool {
        *name != self.origin
            && self
                .nodes
                .get(&LowerName::new(name))
                .is_some_and(|node| node.get(RecordType::NS).is_some())
    }

    /// Whether `name` lies strictly below a zone cut (glue, occluded data).
    fn below_cut(&self, name: &Name) -> bool {
        let apex = self.origin.num_labels();
        let mut ancestor = name.clone();
        while ancestor.num_labels() > apex + 1 {
            ancestor = ancestor.base_name();
            if self.is_cut(&ancestor) {
                return true;
            }
        }
        false
    }

    /// The apex name.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA record as written in the zone.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// The SOA to put in the authority section of a negative answer: its TTL is
    /// `min(SOA TTL, SOA MINIMUM)` (RFC 2308 §3: "the TTL of this record is set from
    /// the minimum of the MINIMUM field of the SOA record and the TTL of the SOA itself").
    pub fn negative_soa(&self) -> Record {
        let mut soa = self.soa.clone();
        if let RData::SOA(data) = &soa.data {
            soa.ttl = soa.ttl.min(data.minimum);
        }
        soa
    }

    /// Whether `name` is at or below the apex.
    pub fn contains(&self, name: &Name) -> bool {
        self.origin.zone_of(name)
    }

    /// The node owning data at `key`, ignoring zone cuts (used for glue).
    pub fn node(&self, key: &LowerName) -> Option<&Node> {
        self.nodes.get(key)
    }

    /// Whether `key` is an empty non-terminal.
    pub fn is_ent(&self, key: &LowerName) -> bool {
        self.ents.contains(key)
    }

    /// The A and AAAA records of `name` held in this zone, ignoring zone cuts
    /// (glue), or nothing when `name` is outside the zone.
    pub fn addresses_of(&self, name: &Name) -> Vec<Record> {
        if !self.contains(name) {
            return Vec::new();
        }
        let Some(node) = self.nodes.get(&LowerName::new(name)) else {
            return Vec::new();
        };
        [RecordType::A, RecordType::AAAA]
            .into_iter()
            .filter_map(|t| node.get(t))
            .flat_map(|records| records.iter().cloned())
            .collect()
    }
}

/// Builds a DNAME record; hickory has no DNAME RData, so it travels as an
/// "unknown" RData holding the uncompressed target (RFC 6672 §2.5: "the DNAME
/// target name MUST NOT be compressed" ... by servers, which this satisfies).
pub fn make_dname(owner: Name, ttl: u32, target: &Name) -> anyhow::Result<Record> {
    Ok(Record::from_rdata(
        owner,
        ttl,
        RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(name_to_wire(target)?),
        },
    ))
}

/// The target of a DNAME record built by [`make_dname`] or decoded from the wire.
pub fn dname_target(record: &Record) -> Option<Name> {
    match &record.data {
        RData::Unknown { code, rdata } if *code == RecordType::DNAME => {
            name_from_wire(&rdata.anything)
        }
        _ => None,
    }
}

fn name_to_wire(name: &Name) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        let len = u8::try_from(label.len()).map_err(|_| anyhow!("label too long in {name}"))?;
        out.push(len);
        out.extend_from_slice(label);
    }
    out.push(0);
    Ok(out)
}

fn name_from_wire(mut bytes: &[u8]) -> Option<Name> {
    let mut labels: Vec<&[u8]> = Vec::new();
    loop {
        let (&len, rest) = bytes.split_first()?;
        if len == 0 {
            break;
        }
        let len = usize::from(len);
        if len > 63 || rest.len() < len {
            return None;
        }
        labels.push(&rest[..len]);
        bytes = &rest[len..];
    }
    let mut name = Name::from_labels(labels).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// A DNAME line taken out of the zone text before hickory's parser sees it.
struct DnameLine {
    owner: String,
    ttl: u32,
    target: String,
    origin: Option<Name>,
}

impl DnameLine {
    fn owner_in(&self, origin: &Name) -> anyhow::Result<Name> {
        resolve_name(&self.owner, self.origin.as_ref().unwrap_or(origin))
    }

    fn target_in(&self, origin: &Name) -> anyhow::Result<Name> {
        resolve_name(&self.target, self.origin.as_ref().unwrap_or(origin))
    }
}

fn resolve_name(text: &str, origin: &Name) -> anyhow::Result<Name> {
    if text == "@" {
        return Ok(origin.clone());
    }
    let mut name = Name::parse(text, Some(origin)).map_err(|e| anyhow!("bad name {text}: {e}"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// Removes DNAME lines (keeping line numbers) and returns them parsed.
fn extract_dnames(text: &str) -> anyhow::Result<(String, Vec<DnameLine>)> {
    let mut out = String::with_capacity(text.len());
    let mut dnames = Vec::new();
    let mut origin: Option<Name> = None;
    let mut default_ttl: Option<u32> = None;
    for (index, line) in text.lines().enumerate() {
        let code = line.split(';').next().unwrap_or("");
        let tokens: Vec<&str> = code.split_whitespace().collect();
        match tokens.as_slice() {
            ["$ORIGIN", name, ..] => {
                origin =
                    Some(Name::parse(name, None).map_err(|e| anyhow!("line {}: {e}", index + 1))?);
            }
            ["$TTL", ttl, ..] => default_ttl = parse_ttl(ttl).ok(),
            _ => {}
        }
        let Some(pos) = tokens.iter().position(|t| t.eq_ignore_ascii_case("DNAME")) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        if line.starts_with(char::is_whitespace) || pos == 0 || tokens.len() != pos + 2 {
            bail!(
                "line {}: a DNAME line must be `owner [ttl] [IN] DNAME target`",
                index + 1
            );
        }
        let mut ttl = default_ttl;
        for token in &tokens[1..pos] {
            if let Ok(value) = parse_ttl(token) {
                ttl = Some(value);
            } else if !token.eq_ignore_ascii_case("IN") {
                bail!("line {}: unexpected `{token}` in DNAME line", index + 1);
            }
        }
        dnames.push(DnameLine {
            owner: tokens[0].to_string(),
            ttl: ttl.ok_or_else(|| anyhow!("line {}: DNAME without TTL and no $TTL", index + 1))?,
            target: tokens[pos + 1].to_string(),
            origin: origin.clone(),
        });
        out.push('\n');
    }
    Ok((out, dnames))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "$ORIGIN example.test.\n$TTL 60\n\
        @ SOA ns hostmaster 1 2 3 4 30\n\
        @ NS ns\n\
        ns A 127.@NET@.0.9\n\
        a.b.c A 192.0.2.1\n\
        dn 120 IN DNAME other.test.\n";

    #[test]
    fn parses_net_substitution_dname_and_ents() {
        let zone = Zone::parse(ZONE, None, 42).unwrap();
        let ns = zone.addresses_of(&Name::from_ascii("ns.example.test.").unwrap());
        assert_eq!(ns[0].data, RData::A("127.42.0.9".parse().unwrap()));
        let dn = zone
            .node(&LowerName::from_str("dn.example.test.").unwrap())
            .unwrap()
            .get(RecordType::DNAME)
            .unwrap();
        assert_eq!(dn[0].ttl, 120);
        assert_eq!(
            dname_target(&dn[0]).unwrap(),
            Name::from_ascii("other.test.").unwrap()
        );
        assert!(zone.is_ent(&LowerName::from_str("b.c.example.test.").unwrap()));
        assert!(zone.is_ent(&LowerName::from_str("c.example.test.").unwrap()));
        assert_eq!(zone.negative_soa().ttl, 30);
    }

    #[test]
    fn a_wildcard_below_an_empty_name_makes_it_a_non_terminal() {
        let text = "$ORIGIN example.test.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n*.w A 192.0.2.1\n";
        let zone = Zone::parse(text, None, 1).unwrap();
        assert!(zone.is_ent(&LowerName::from_str("w.example.test.").unwrap()));
    }

    #[test]
    fn signing_chains_every_authoritative_name_and_skips_glue() {
        let text = "$ORIGIN example.test.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n\
            ns A 192.0.2.53\nb A 192.0.2.2\nchild NS ns.child\nns.child A 192.0.2.54\n";
        let mut zone = Zone::parse(text, None, 1).unwrap();
        let key = ZoneKey::generate().unwrap();
        zone.sign(&Signing::new(&key, 1_800_000_000)).unwrap();
        assert!(zone.is_signed());
        let name = |s: &str| Name::from_ascii(s).unwrap();
        // b < child < ns in canonical order; ns.child (glue) is not in the chain.
        let covering = zone.nsec_proof(&name("cz.example.test."));
        assert_eq!(covering[0].name, name("child.example.test."));
        assert_eq!(covering[0].record_type(), RecordType::NSEC);
        assert_eq!(
            zone.nsec_proof(&name("ns.child.example.test."))[0].name,
            name("child.example.test.")
        );
        let node = |s: &str| zone.node(&LowerName::from_str(s).unwrap()).unwrap();
        assert_eq!(node("b.example.test.").signatures(RecordType::A).count(), 1);
        let cut = node("child.example.test.");
        assert_eq!(
            cut.signatures(RecordType::NS).count(),
            0,
            "delegation NS unsigned"
        );
        assert_eq!(cut.signatures(RecordType::NSEC).count(), 1);
        assert!(node("ns.child.example.test.")
            .get(RecordType::RRSIG)
            .is_none());
        assert_eq!(
            node("example.test.")
                .get(RecordType::DNSKEY)
                .map(<[Record]>::len),
            Some(1)
        );
    }

    /// RFC 5155 §7.2: which NSEC3 records each kind of denial carries.
    #[test]
    fn nsec3_proofs_follow_rfc5155() {
        let text = "$ORIGIN example.test.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n\
            ns A 192.0.2.53\nwww A 192.0.2.1\nhost.ent A 192.0.2.2\n*.w A 192.0.2.3\n\
            insecure NS ns.insecure\nns.insecure A 192.0.2.54\n";
        let key = ZoneKey::generate().unwrap();
        let nsec3_count = |records: &[Record]| {
            records
                .iter()
                .filter(|r| r.record_type() == RecordType::NSEC3)
                .count()
        };
        let name = |s: &str| Name::from_ascii(s).unwrap();
        for opt_out in [false, true] {
            let mut zone = Zone::parse(text, None, 1).unwrap();
            let mut signing = Signing::new(&key, 1_800_000_000);
            signing.nsec3 = Some(Nsec3Params {
                iterations: 0,
                salt: Vec::new(),
                opt_out,
            });
            zone.sign(&signing).unwrap();
            // Every NSEC3 RRset comes with its RRSIG.
            let nx = zone.nxdomain_proof(&name("a.b.www.example.test."));
            assert_eq!(nx.len(), 2 * nsec3_count(&nx));
            assert!((2..=3).contains(&nsec3_count(&nx)), "{nx:?}");
            assert_eq!(
                nsec3_count(&zone.nodata_proof(&name("www.example.test."))),
                1
            );
            assert_eq!(
                nsec3_count(&zone.nodata_proof(&name("ent.example.test."))),
                1,
                "ENT"
            );
            let wild_nodata = zone.nodata_proof(&name("x.w.example.test."));
            assert!((2..=3).contains(&nsec3_count(&wild_nodata)));
            assert_eq!(
                nsec3_count(&zone.wildcard_answer_proof(&name("x.w.example.test."))),
                1
            );
            let no_ds = zone.no_ds_proof(&name("insecure.example.test."));
            let want = if opt_out { 2 } else { 1 };
            assert_eq!(nsec3_count(&no_ds), want, "opt-out {opt_out}");
            assert!(zone
                .node(&LowerName::from_str("example.test.").unwrap())
                .unwrap()
                .get(RecordType::NSEC3PARAM)
                .is_some());
        }
    }

    #[test]
    fn rejects_out_of_zone_data() {
        let text = "$ORIGIN example.test.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\nx.other. A 192.0.2.1\n";
        assert!(Zone::parse(text, None, 1).is_err());
    }

    use std::str::FromStr;
}
