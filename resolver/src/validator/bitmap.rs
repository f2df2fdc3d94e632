//! The type bit maps field of NSEC and NSEC3 (RFC 4034 §4.1.2, RFC 5155 §3.2.1).

use hickory_proto::rr::RecordType;

/// A validated type bit map: windows in increasing order, each 1 to 32 octets
/// long (RFC 4034 §4.1.2). An empty map is valid (RFC 5155 §3.2.1: an empty
/// non-terminal's NSEC3 has no types).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeBitmap(Vec<u8>);

impl TypeBitmap {
    /// Checks `wire` (the whole field, to the end of the RDATA); None if a
    /// window is truncated, empty, longer than 32 octets or out of order.
    pub fn parse(wire: &[u8]) -> Option<Self> {
        let mut rest = wire;
        let mut last_window: Option<u8> = None;
        while let [window, len, tail @ ..] = rest {
            let len = usize::from(*len);
            if len == 0 || len > 32 || tail.len() < len {
                return None;
            }
            if last_window.is_some_and(|last| *window <= last) {
                return None;
            }
            last_window = Some(*window);
            rest = &tail[len..];
        }
        rest.is_empty().then(|| Self(wire.to_vec()))
    }

    /// Whether `rtype` is present.
    pub fn contains(&self, rtype: RecordType) -> bool {
        let code = u16::from(rtype);
        let [want_window, low] = code.to_be_bytes();
        let mut rest = self.0.as_slice();
        while let [window, len, tail @ ..] = rest {
            let len = usize::from(*len).min(tail.len());
            let (bits, next) = tail.split_at(len);
            if *window == want_window {
                return bits
                    .get(usize::from(low / 8))
                    .is_some_and(|byte| byte & (0x80 >> (low % 8)) != 0);
            }
            rest = next;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4034 §4.3: the example NSEC's bit map holds A, MX, RRSIG, NSEC
    /// and TYPE1234 and nothing else.
    #[test]
    fn rfc4034_4_3_example_bitmap() {
        // Window 0: A, MX, RRSIG, NSEC; window 4: 26 empty octets, then TYPE1234.
        let mut wire = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        wire.extend([0u8; 26]);
        wire.push(0x20);
        let map = TypeBitmap::parse(&wire).unwrap();
        for present in [
            RecordType::A,
            RecordType::MX,
            RecordType::RRSIG,
            RecordType::NSEC,
        ] {
            assert!(map.contains(present), "{present}");
        }
        assert!(map.contains(RecordType::Unknown(1234)));
        for absent in [
            RecordType::NS,
            RecordType::SOA,
            RecordType::AAAA,
            RecordType::DS,
        ] {
            assert!(!map.contains(absent), "{absent}");
        }
    }

    /// RFC 4034 §4.1.2: windows are 1..=32 octets and in increasing order;
    /// anything else is malformed.
    #[test]
    fn rfc4034_4_1_2_malformed_bitmaps_rejected() {
        assert!(TypeBitmap::parse(&[]).is_some());
        assert!(TypeBitmap::parse(&[0, 0]).is_none());
        assert!(TypeBitmap::parse(&[0, 33]).is_none());
        assert!(TypeBitmap::parse(&[0, 2, 0x40]).is_none());
        assert!(TypeBitmap::parse(&[1, 1, 0x40, 0, 1, 0x40]).is_none());
        assert!(TypeBitmap::parse(&[0, 1, 0x40, 7]).is_none());
    }
}
