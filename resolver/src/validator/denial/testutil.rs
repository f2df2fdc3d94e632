//! Builders for hand-made NSEC/NSEC3 records in the validator's tests.

use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::validator::names::canonical_wire;

/// A name from presentation format; panics on a typo in a test.
pub fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("test name")
}

/// The type bit map field listing `types` (RFC 4034 §4.1.2).
pub fn bitmap(types: &[RecordType]) -> Vec<u8> {
    let mut codes: Vec<u16> = types.iter().map(|t| u16::from(*t)).collect();
    codes.sort_unstable();
    let mut wire = Vec::new();
    for window in 0..=255u8 {
        let mut bits = [0u8; 32];
        let mut len = 0;
        for code in codes.iter().filter(|c| (*c >> 8) as u8 == window) {
            let low = (code & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = len.max(low / 8 + 1);
        }
        if len > 0 {
            wire.push(window);
            wire.push(len as u8);
            wire.extend_from_slice(&bits[..len]);
        }
    }
    wire
}

/// A record of `rtype` with opaque RDATA, as hickory decodes it without its
/// dnssec feature.
pub fn opaque(owner: Name, rtype: RecordType, rdata: Vec<u8>) -> Record {
    let rdata = if rdata.is_empty() {
        NULL::new()
    } else {
        NULL::with(rdata)
    };
    Record::from_rdata(owner, 3600, RData::Unknown { code: rtype, rdata })
}

/// `owner NSEC next types`.
pub fn nsec(owner: &str, next: &str, types: &[RecordType]) -> Record {
    let mut rdata = canonical_wire(&name(next));
    rdata.extend(bitmap(types));
    opaque(name(owner), RecordType::NSEC, rdata)
}

/// NSEC3 RDATA fields for [`nsec3`].
pub struct Nsec3Fields<'a> {
    /// Hash algorithm.
    pub algorithm: u8,
    /// Flags (1 = opt-out).
    pub flags: u8,
    /// Iterations.
    pub iterations: u16,
    /// Salt.
    pub salt: &'a [u8],
}

/// The RFC 5155 Appendix A parameters: SHA-1, 12 iterations, salt aabbccdd.
pub const RFC5155: Nsec3Fields<'static> = Nsec3Fields {
    algorithm: 1,
    flags: 1,
    iterations: 12,
    salt: &[0xaa, 0xbb, 0xcc, 0xdd],
};

/// `<owner_b32>.<zone> NSEC3 alg flags iterations salt <next_b32> types`.
pub fn nsec3(
    fields: &Nsec3Fields<'_>,
    owner_b32: &str,
    zone: &str,
    next_b32: &str,
    types: &[RecordType],
) -> Record {
    let next =
        crate::validator::nsec3::base32hex_decode(next_b32.as_bytes()).expect("test base32hex");
    let mut rdata = vec![fields.algorithm, fields.flags];
    rdata.extend(fields.iterations.to_be_bytes());
    rdata.push(fields.salt.len() as u8);
    rdata.extend_from_slice(fields.salt);
    rdata.push(next.len() as u8);
    rdata.extend(next);
    rdata.extend(bitmap(types));
    opaque(
        name(&format!("{owner_b32}.{zone}")),
        RecordType::NSEC3,
        rdata,
    )
}
