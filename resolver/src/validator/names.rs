//! Domain-name arithmetic for DNSSEC proofs: canonical order (RFC 4034 §6.1),
//! ancestry, closest shared ancestor, wildcards and the canonical wire form
//! that NSEC3 hashes (RFC 5155 §5). Every function ignores the FQDN flag of
//! hickory's `Name` and compares labels ASCII-case-insensitively, as DNSSEC
//! requires; hickory's `Name: Ord` agrees for fully qualified names (tested
//! below) but orders a relative name before every FQDN.

use std::cmp::Ordering;

use hickory_proto::rr::Name;

/// RFC 4034 §6.1 canonical order: labels compared right to left, each as a
/// left-justified unsigned octet string with upper-case ASCII folded to lower
/// case, where "the absence of a octet sorts before a zero value octet".
pub fn canonical_cmp(a: &Name, b: &Name) -> Ordering {
    for (la, lb) in a.iter().rev().zip(b.iter().rev()) {
        let ord = la
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(lb.iter().map(u8::to_ascii_lowercase));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    label_count(a).cmp(&label_count(b))
}

/// Whether `a` and `b` are the same name (case-insensitive, FQDN flag ignored).
pub fn same_name(a: &Name, b: &Name) -> bool {
    canonical_cmp(a, b) == Ordering::Equal
}

/// The number of labels, the root label not counted, a leading `*` counted
/// (unlike hickory's `Name::num_labels`, which discounts it as RRSIG does).
pub fn label_count(name: &Name) -> usize {
    name.iter().len()
}

/// Whether `name` is `ancestor` or below it.
pub fn is_subdomain(name: &Name, ancestor: &Name) -> bool {
    let (n, a) = (label_count(name), label_count(ancestor));
    n >= a
        && name
            .iter()
            .rev()
            .zip(ancestor.iter().rev())
            .all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Whether `name` is strictly below `ancestor`.
pub fn is_strict_subdomain(name: &Name, ancestor: &Name) -> bool {
    label_count(name) > label_count(ancestor) && is_subdomain(name, ancestor)
}

/// The last `n` labels of `name` (the whole name if it has fewer), as an FQDN.
pub fn suffix(name: &Name, n: usize) -> Name {
    let skip = label_count(name).saturating_sub(n);
    fqdn(Name::from_labels(name.iter().skip(skip)).unwrap_or_else(|_| Name::root()))
}

/// `name` without its first label; the root stays the root.
pub fn parent(name: &Name) -> Name {
    suffix(name, label_count(name).saturating_sub(1))
}

/// The longest name that is an ancestor of (or equal to) both `a` and `b`
/// (Unbound `dname_get_shared_topdomain`).
pub fn shared_ancestor(a: &Name, b: &Name) -> Name {
    let common = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count();
    suffix(a, common)
}

/// Whether the first label of `name` is `*` (RFC 4592 §2.1.1).
pub fn is_wildcard(name: &Name) -> bool {
    name.iter().next() == Some(&b"*"[..])
}

/// `*.name`, or None when the result would exceed 255 octets.
pub fn wildcard_of(name: &Name) -> Option<Name> {
    name.prepend_label("*").ok().map(fqdn)
}

/// The canonical wire form (RFC 4034 §6.2): uncompressed, ASCII lower-cased,
/// ending with the root label.
pub fn canonical_wire(name: &Name) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        // A hickory label is at most 63 octets, so its length fits a byte.
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire
}

/// Reads an uncompressed domain name (RFC 4034 §4.1.1 forbids compression in
/// NSEC RDATA) from the start of `wire`; returns it and the octets consumed,
/// or None if it is malformed, compressed or longer than 255 octets.
pub fn read_wire_name(wire: &[u8]) -> Option<(Name, usize)> {
    let mut labels: Vec<&[u8]> = Vec::new();
    let mut pos = 0;
    loop {
        let len = usize::from(*wire.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(wire.get(pos + 1..pos + 1 + len)?);
        pos += 1 + len;
        if pos + 1 > 255 {
            return None;
        }
    }
    let name = Name::from_labels(labels).ok()?;
    Some((fqdn(name), pos))
}

fn fqdn(mut name: Name) -> Name {
    name.set_fqdn(true);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    /// A name from raw label octets (hickory's text parser refuses `\001`).
    fn raw(labels: &[&[u8]]) -> Name {
        fqdn(Name::from_labels(labels.iter().copied()).unwrap())
    }

    /// RFC 4034 §6.1: the example list is in canonical order, for our
    /// function and for hickory's `Name: Ord` alike.
    #[test]
    fn rfc4034_6_1_canonical_order_example() {
        let ordered = [
            n("example."),
            n("a.example."),
            n("yljkjljk.a.example."),
            n("Z.a.example."),
            n("zABC.a.EXAMPLE."),
            n("z.example."),
            raw(&[b"\x01", b"z", b"example"]),
            n("*.z.example."),
            raw(&[b"\x80", b"z", b"example"]),
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                canonical_cmp(&pair[0], &pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
            assert_eq!(canonical_cmp(&pair[1], &pair[0]), Ordering::Greater);
            assert_eq!(pair[0].cmp(&pair[1]), Ordering::Less, "hickory {pair:?}");
        }
        let mut shuffled = ordered.to_vec();
        shuffled.reverse();
        shuffled.sort_by(canonical_cmp);
        assert_eq!(shuffled, ordered);
    }

    /// RFC 4034 §6.1: case is folded, so names differing only in case are equal.
    #[test]
    fn rfc4034_6_1_uppercase_sorts_as_lowercase() {
        assert_eq!(
            canonical_cmp(&n("WWW.Example."), &n("www.example.")),
            Ordering::Equal
        );
        // '_' (0x5f) sorts after 'A' (0x41) but before 'a' (0x61): folding matters.
        assert_eq!(
            canonical_cmp(&n("_x.example."), &n("A.example.")),
            Ordering::Less
        );
        // A relative name must not sort differently from its FQDN.
        assert_eq!(
            canonical_cmp(&n("a.example"), &n("a.example.")),
            Ordering::Equal
        );
    }

    /// RFC 4034 §6.2: canonical wire form is lower case and uncompressed,
    /// and reads back to the same name.
    #[test]
    fn rfc4034_6_2_canonical_wire_roundtrip() {
        let wire = canonical_wire(&n("A.Example."));
        assert_eq!(wire, b"\x01a\x07example\x00");
        let (name, used) = read_wire_name(&wire).unwrap();
        assert!(same_name(&name, &n("a.example.")));
        assert_eq!(used, wire.len());
        // A compression pointer or a truncated label is refused.
        assert!(read_wire_name(b"\xc0\x0c").is_none());
        assert!(read_wire_name(b"\x05ab").is_none());
        assert!(read_wire_name(b"\x01a").is_none());
    }

    /// Ancestry, shared ancestor and wildcard helpers used by every proof.
    #[test]
    fn ancestry_helpers() {
        assert!(is_subdomain(&n("a.b.example."), &n("B.example.")));
        assert!(is_subdomain(&n("example."), &n("example.")));
        assert!(!is_strict_subdomain(&n("example."), &n("example.")));
        assert!(!is_subdomain(&n("bexample."), &n("example.")));
        assert!(same_name(
            &shared_ancestor(&n("x.a.example."), &n("y.a.example.")),
            &n("a.example.")
        ));
        assert!(same_name(&parent(&n("a.example.")), &n("example.")));
        assert!(parent(&Name::root()).is_root());
        let wild = wildcard_of(&n("example.")).unwrap();
        assert!(is_wildcard(&wild) && label_count(&wild) == 2);
    }
}
