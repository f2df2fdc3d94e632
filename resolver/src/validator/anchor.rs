//! Trust anchors: where every chain of trust starts.
//!
//! Read from `trust-anchor-file:` and `auto-trust-anchor-file:` (DS or DNSKEY
//! records in zone-file format; an autotrust file's `;;state=` annotations say
//! which keys are in use, RFC 5011 §4) and `trust-anchor:` lines. The embedded
//! default holds IANA's root anchors: KSK-2017 (20326) and KSK-2024 (38696).

use std::collections::BTreeMap;
use std::fmt;

use data_encoding::{BASE64, HEXUPPER_PERMISSIVE};
use hickory_proto::rr::Name;

use super::records::{key_tag, Dnskey, Ds};

/// IANA's root trust anchors (https://data.iana.org/root-anchors/root-anchors.xml),
/// as DS records: KSK-2017 and KSK-2024.
pub const ROOT_ANCHORS: &str = "\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
";

/// The RFC 5011 state of a tracked key, as Unbound's autotrust files write it
/// (`;;state=N [ NAME ]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyState {
    /// Seen once, not yet in the hold-down period.
    Start,
    /// Pending addition: seen, hold-down running.
    AddPend,
    /// Trusted.
    Valid,
    /// Trusted, but missing from the last DNSKEY set.
    Missing,
    /// Revoked by its owner: never trusted again.
    Revoked,
    /// Removed after revocation.
    Removed,
}

impl KeyState {
    /// From Unbound's numeric state.
    pub fn from_number(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::Start,
            1 => Self::AddPend,
            2 => Self::Valid,
            3 => Self::Missing,
            4 => Self::Revoked,
            5 => Self::Removed,
            _ => return None,
        })
    }

    /// Unbound's numeric state.
    pub fn number(self) -> u8 {
        match self {
            Self::Start => 0,
            Self::AddPend => 1,
            Self::Valid => 2,
            Self::Missing => 3,
            Self::Revoked => 4,
            Self::Removed => 5,
        }
    }

    /// Unbound's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            Self::Start => "START",
            Self::AddPend => "ADDPEND",
            Self::Valid => "VALID",
            Self::Missing => "MISSING",
            Self::Revoked => "REVOKED",
            Self::Removed => "REMOVED",
        }
    }

    /// Whether a key in this state anchors trust (RFC 5011 §4: Valid and Missing).
    pub fn is_trusted(self) -> bool {
        matches!(self, Self::Valid | Self::Missing)
    }
}

/// One DS or DNSKEY anchor line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorRecord {
    /// A DS anchor.
    Ds(Ds),
    /// A DNSKEY anchor, with its autotrust state (plain files: Valid).
    Dnskey(Dnskey, KeyState),
}

/// A record read from anchor text, with its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorLine {
    /// The zone it anchors.
    pub owner: Name,
    /// The record.
    pub record: AnchorRecord,
}

/// Why anchor text could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct AnchorError {
    /// 1-based line in the text where the record starts.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The anchors of one zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneAnchor {
    /// DS anchors.
    pub ds: Vec<Ds>,
    /// DNSKEY anchors in a trusted state.
    pub keys: Vec<Dnskey>,
}

impl ZoneAnchor {
    /// Whether any anchor has an algorithm (and digest) we support; a zone whose
    /// anchors are all unsupported is insecure (RFC 4035 §5.2, Unbound's
    /// "trust anchor with unsupported algorithm").
    pub fn has_supported(&self) -> bool {
        self.ds.iter().any(Ds::is_supported)
            || self
                .keys
                .iter()
                .any(|k| super::crypto::algorithm_supported(k.algorithm))
    }
}

/// Every configured anchor, by zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnchorSet {
    zones: BTreeMap<Name, ZoneAnchor>,
}

impl AnchorSet {
    /// The built-in IANA root anchors.
    pub fn iana_root() -> Self {
        let mut set = Self::default();
        for line in parse_anchor_text(ROOT_ANCHORS).unwrap_or_default() {
            set.add(line);
        }
        set
    }

    /// Adds one anchor record (untrusted autotrust states are skipped).
    pub fn add(&mut self, line: AnchorLine) {
        let zone = self.zones.entry(line.owner.to_lowercase()).or_default();
        match line.record {
            AnchorRecord::Ds(ds) => {
                if !zone.ds.contains(&ds) {
                    zone.ds.push(ds);
                }
            }
            AnchorRecord::Dnskey(key, state) if state.is_trusted() => {
                if !zone.keys.contains(&key) {
                    zone.keys.push(key);
                }
            }
            AnchorRecord::Dnskey(..) => {}
        }
    }

    /// Replaces the DNSKEY anchors of `zone` (an RFC 5011 update).
    pub fn set_keys(&mut self, zone: &Name, keys: Vec<Dnskey>) {
        let entry = self.zones.entry(zone.to_lowercase()).or_default();
        entry.keys = keys;
    }

    /// Replaces every anchor of `zone` (an RFC 5011 update: DS anchors go once
    /// DNSKEYs are tracked); an empty `anchor` removes the zone, as Unbound
    /// deletes a revoked trust point.
    pub fn replace_zone(&mut self, zone: &Name, anchor: ZoneAnchor) {
        if anchor.ds.is_empty() && anchor.keys.is_empty() {
            self.zones.remove(&zone.to_lowercase());
        } else {
            self.zones.insert(zone.to_lowercase(), anchor);
        }
    }

    /// The deepest anchored zone at or above `name`, with its anchors.
    pub fn closest(&self, name: &Name) -> Option<(&Name, &ZoneAnchor)> {
        let mut candidate = name.to_lowercase();
        loop {
            if let Some((zone, anchor)) = self.zones.get_key_value(&candidate) {
                return Some((zone, anchor));
            }
            if candidate.is_root() {
                return None;
            }
            candidate = candidate.base_name();
        }
    }

    /// Whether no anchor is configured.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The anchored zones, for logs and `--check-config`.
    pub fn zones(&self) -> impl Iterator<Item = (&Name, &ZoneAnchor)> {
        self.zones.iter()
    }
}

impl fmt::Display for AnchorSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (zone, anchor) in &self.zones {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            let tags: Vec<String> = anchor
                .ds
                .iter()
                .map(|ds| format!("DS {} alg {}", ds.tag, ds.algorithm))
                .chain(
                    anchor
                        .keys
                        .iter()
                        .map(|k| format!("DNSKEY {} alg {}", k.tag, k.algorithm)),
                )
                .collect();
            write!(f, "{zone} ({})", tags.join(", "))?;
        }
        Ok(())
    }
}

/// Reads DS and DNSKEY records in zone-file format: `owner [ttl] [class] type
/// rdata`, parentheses across lines, `;` comments, and Unbound's autotrust
/// `;;state=N` annotations. `$` directives and other record types are skipped
/// (autotrust files carry none that matter).
pub fn parse_anchor_text(text: &str) -> Result<Vec<AnchorLine>, AnchorError> {
    let mut out = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let mut state: Option<KeyState> = None;
    let mut depth = 0usize;
    let mut start_line = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let (body, comment) = match raw.find(';') {
            Some(at) => (&raw[..at], &raw[at..]),
            None => (raw, ""),
        };
        if let Some(at) = comment.find(";;state=") {
            let digits: String = comment[at + 8..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            state = digits.parse().ok().and_then(KeyState::from_number);
        }
        if tokens.is_empty() && depth == 0 {
            start_line = index + 1;
            if body.trim_start().starts_with('$') {
                continue;
            }
        }
        for piece in body.split_whitespace() {
            for part in split_parens(piece) {
                match part {
                    "(" => depth += 1,
                    ")" => depth = depth.saturating_sub(1),
                    word => tokens.push(word.to_string()),
                }
            }
        }
        if depth == 0 && !tokens.is_empty() {
            if let Some(line) = parse_record(&tokens, state.take(), start_line)? {
                out.push(line);
            }
            tokens.clear();
        }
    }
    if !tokens.is_empty() {
        return Err(AnchorError {
            line: start_line,
            reason: "unterminated parenthesis".into(),
        });
    }
    Ok(out)
}

fn split_parens(piece: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = piece;
    while let Some(at) = rest.find(['(', ')']) {
        if at > 0 {
            parts.push(&rest[..at]);
        }
        parts.push(&rest[at..at + 1]);
        rest = &rest[at + 1..];
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    parts
}

fn parse_record(
    tokens: &[String],
    state: Option<KeyState>,
    line: usize,
) -> Result<Option<AnchorLine>, AnchorError> {
    let error = |reason: String| AnchorError { line, reason };
    let mut iter = tokens.iter().map(String::as_str).peekable();
    let owner_text = iter.next().unwrap_or(".");
    let owner = Name::from_ascii(owner_text)
        .map(|mut n| {
            n.set_fqdn(true);
            n
        })
        .map_err(|e| error(format!("bad owner name `{owner_text}`: {e}")))?;
    let mut rtype = None;
    for word in iter.by_ref() {
        if word.chars().all(|c| c.is_ascii_digit()) || word.eq_ignore_ascii_case("IN") {
            continue;
        }
        rtype = Some(word.to_ascii_uppercase());
        break;
    }
    let rest: Vec<&str> = iter.collect();
    let number = |i: usize, what: &str| -> Result<u32, AnchorError> {
        rest.get(i)
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| error(format!("bad or missing {what}")))
    };
    let record = match rtype.as_deref() {
        Some("DS") => {
            let tag = number(0, "DS key tag")?;
            let algorithm = number(1, "DS algorithm")?;
            let digest_type = number(2, "DS digest type")?;
            let hex: String = rest.get(3..).unwrap_or_default().concat();
            let digest = HEXUPPER_PERMISSIVE
                .decode(hex.as_bytes())
                .map_err(|_| error("DS digest is not hexadecimal".into()))?;
            if digest.is_empty() {
                return Err(error("DS digest is missing".into()));
            }
            AnchorRecord::Ds(Ds {
                tag: u16::try_from(tag).map_err(|_| error("DS key tag over 65535".into()))?,
                algorithm: u8::try_from(algorithm)
                    .map_err(|_| error("DS algorithm over 255".into()))?,
                digest_type: u8::try_from(digest_type)
                    .map_err(|_| error("DS digest type over 255".into()))?,
                digest: digest.into(),
            })
        }
        Some("DNSKEY") => {
            let flags = number(0, "DNSKEY flags")?;
            let protocol = number(1, "DNSKEY protocol")?;
            let algorithm = number(2, "DNSKEY algorithm")?;
            let b64: String = rest.get(3..).unwrap_or_default().concat();
            let key = BASE64
                .decode(b64.as_bytes())
                .map_err(|_| error("DNSKEY public key is not base64".into()))?;
            let mut rdata = Vec::with_capacity(key.len() + 4);
            rdata.extend_from_slice(
                &u16::try_from(flags)
                    .map_err(|_| error("DNSKEY flags over 65535".into()))?
                    .to_be_bytes(),
            );
            rdata.push(u8::try_from(protocol).map_err(|_| error("bad DNSKEY protocol".into()))?);
            rdata.push(u8::try_from(algorithm).map_err(|_| error("bad DNSKEY algorithm".into()))?);
            rdata.extend_from_slice(&key);
            let dnskey = Dnskey::from_rdata(&rdata)
                .ok_or_else(|| error("DNSKEY protocol must be 3 and the key non-empty".into()))?;
            debug_assert_eq!(dnskey.tag, key_tag(&rdata));
            AnchorRecord::Dnskey(dnskey, state.unwrap_or(KeyState::Valid))
        }
        _ => return Ok(None),
    };
    Ok(Some(AnchorLine { owner, record }))
}

/// Decodes standard base64 (for tests and callers with presentation text).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in anchors are IANA's: KSK-2017 (20326) and KSK-2024 (38696).
    #[test]
    fn iana_root_anchors_are_built_in() {
        let set = AnchorSet::iana_root();
        let (zone, anchor) = set
            .closest(&Name::from_ascii("www.example.com.").unwrap())
            .unwrap();
        assert!(zone.is_root());
        let tags: Vec<u16> = anchor.ds.iter().map(|d| d.tag).collect();
        assert_eq!(tags, vec![20326, 38696]);
        assert!(anchor.has_supported());
    }

    /// Debian's /usr/share/dns/root.key format: DNSKEY lines with a comment.
    #[test]
    fn dnskey_lines_with_comments_parse_and_get_their_key_tag() {
        let text = ". IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU= ; keytag 20326\n";
        let lines = parse_anchor_text(text).unwrap();
        assert_eq!(lines.len(), 1);
        let AnchorRecord::Dnskey(key, state) = &lines[0].record else {
            panic!("not a DNSKEY");
        };
        assert_eq!(
            (key.tag, key.algorithm, *state),
            (20326, 8, KeyState::Valid)
        );
        // The DNSKEY matches the built-in DS of KSK-2017.
        let root = AnchorSet::iana_root();
        let (_, anchor) = root.closest(&Name::root()).unwrap();
        assert!(anchor.ds[0].matches(&Name::root(), key));
    }

    /// Unbound's autotrust file: parenthesised RDATA across lines and
    /// `;;state=` annotations; keys not yet trusted (ADDPEND) are not anchors.
    #[test]
    fn autotrust_states_decide_which_keys_anchor() {
        let text = "; autotrust trust anchor file\n;;id: . 1\n;;last_queried: 1700000000 ;;Tue\n\
            .\t86400\tIN\tDNSKEY\t257 3 13 ( mdsswUyr3DPW132mOi8V9xESWE8jTo0d\n xCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== ) ;{id = 20326 (ksk), size = 256b} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=1700000000\n\
            .\t86400\tIN\tDNSKEY\t257 3 13 oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJkqmVfRvMGPmM1x8fGAa2XhSA== ;{id = 1, size = 256b} ;;state=1 [ ADDPEND ] ;;count=1\n";
        let lines = parse_anchor_text(text).unwrap();
        assert_eq!(lines.len(), 2);
        let mut set = AnchorSet::default();
        for line in lines {
            set.add(line);
        }
        let (_, anchor) = set.closest(&Name::root()).unwrap();
        assert_eq!(anchor.keys.len(), 1);
    }

    /// A broken anchor names its line.
    #[test]
    fn bad_anchor_text_names_the_line() {
        let err = parse_anchor_text("; c\nexample. IN DS 1 8 2 ZZ\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse_anchor_text("example. IN DS 1 8 2 (AB\n").is_err());
        let set = parse_anchor_text("example. 3600 IN DS 1 8 2 ABCD\n").unwrap();
        assert_eq!(set[0].owner, Name::from_ascii("example.").unwrap());
    }
}
