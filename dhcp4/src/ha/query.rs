//! What HA needs to know of a query before the server sees it (Kea's
//! QueryFilter): its message type, who the client is, how long it has been
//! trying (`secs`), and which server's scope it falls in, by the RFC 3074
//! load-balancing hash. HOT PATH: reads the fixed header and walks the
//! options once; no allocation.

/// DHCP message types HA filters (the others are always served).
const HA_TYPES: [u8; 5] = [1, 3, 4, 7, 8];

/// RFC 3074's mixing table, as Kea's QueryFilter has it.
const TABLE: [u8; 256] = [
    251, 175, 119, 215, 81, 14, 79, 191, 103, 49, 181, 143, 186, 157, 0, 232, 31, 32, 55, 60, 152,
    58, 17, 237, 174, 70, 160, 144, 220, 90, 57, 223, 59, 3, 18, 140, 111, 166, 203, 196, 134, 243,
    124, 95, 222, 179, 197, 65, 180, 48, 36, 15, 107, 46, 233, 130, 165, 30, 123, 161, 209, 23, 97,
    16, 40, 91, 219, 61, 100, 10, 210, 109, 250, 127, 22, 138, 29, 108, 244, 67, 207, 9, 178, 204,
    74, 98, 126, 249, 167, 116, 34, 77, 193, 200, 121, 5, 20, 113, 71, 35, 128, 13, 182, 94, 25,
    226, 227, 199, 75, 27, 41, 245, 230, 224, 43, 225, 177, 26, 155, 150, 212, 142, 218, 115, 241,
    73, 88, 105, 39, 114, 62, 255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12, 84, 82,
    163, 44, 139, 228, 236, 205, 242, 217, 11, 187, 146, 159, 64, 86, 239, 195, 42, 106, 198, 118,
    112, 184, 172, 87, 2, 173, 117, 176, 229, 247, 253, 137, 185, 99, 164, 102, 147, 45, 66, 231,
    52, 141, 211, 194, 206, 246, 238, 56, 110, 78, 248, 63, 240, 189, 93, 92, 51, 53, 183, 19, 171,
    72, 50, 33, 104, 101, 69, 8, 252, 83, 120, 76, 135, 85, 54, 202, 125, 188, 213, 96, 235, 136,
    208, 162, 129, 190, 132, 156, 38, 47, 1, 7, 254, 24, 4, 216, 131, 89, 21, 28, 133, 37, 153,
    149, 80, 170, 68, 6, 169, 234, 151,
];

/// RFC 3074 §5's hash of a client key.
pub fn hash(key: &[u8]) -> u8 {
    let mut h = key.len() as u8;
    for &b in key.iter().rev() {
        h = TABLE[usize::from(h ^ b)];
    }
    h
}

/// A query as HA sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query<'a> {
    /// Option 53, when present.
    pub kind: Option<u8>,
    /// chaddr (hlen bytes).
    pub chaddr: &'a [u8],
    /// Option 61's data, when present and not empty.
    pub client_id: Option<&'a [u8]>,
    /// The BOOTP `secs` field, fixed as Kea fixes byte-swapped values.
    pub secs: u16,
    /// Option 52 is present: `file`/`sname` carry options too.
    pub overloaded: bool,
}

impl Query<'_> {
    /// Whether HA filters this message type. A query whose type is not in
    /// its options (overloaded into `file`/`sname`, or missing) is filtered
    /// too, so two load-balancing servers never both answer it.
    pub fn is_filtered(&self) -> bool {
        self.kind.is_none_or(|k| HA_TYPES.contains(&k))
    }

    /// The load-balancing hash of the client: of its client id, else of
    /// its hardware address; `None` when it has neither.
    pub fn client_hash(&self) -> Option<u8> {
        match self.client_id {
            Some(id) => Some(hash(id)),
            None if !self.chaddr.is_empty() => Some(hash(self.chaddr)),
            None => None,
        }
    }
}

/// Reads the fields HA needs; `None` for a packet too short to be DHCP.
pub fn inspect(bytes: &[u8]) -> Option<Query<'_>> {
    const CHADDR: usize = 28;
    const OPTIONS: usize = 240;
    let hlen = usize::from(*bytes.get(2)?).min(16);
    let raw_secs = u16::from_be_bytes([*bytes.get(8)?, *bytes.get(9)?]);
    // Kea: clients that send secs little-endian show a multiple of 256.
    let secs = if raw_secs > 255 && raw_secs & 0xff == 0 {
        raw_secs.swap_bytes()
    } else {
        raw_secs
    };
    let chaddr = bytes.get(CHADDR..CHADDR + hlen)?;
    if bytes.get(236..OPTIONS)? != [99, 130, 83, 99] {
        return None;
    }
    let mut query = Query {
        kind: None,
        chaddr,
        client_id: None,
        secs,
        overloaded: false,
    };
    let mut at = OPTIONS;
    while let Some(&code) = bytes.get(at) {
        match code {
            0 => {
                at += 1;
                continue;
            }
            255 => break,
            _ => {}
        }
        let len = usize::from(*bytes.get(at + 1)?);
        let data = bytes.get(at + 2..at + 2 + len)?;
        match code {
            // Option overload: the type may be in `file` or `sname`.
            52 => query.overloaded = true,
            53 => query.kind = data.first().copied(),
            61 if !data.is_empty() => query.client_id = Some(data),
            _ => {}
        }
        at += 2 + len;
    }
    if query.overloaded {
        query.kind = None;
    }
    Some(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_matches_keas_vectors() {
        assert_eq!(hash(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]), 57);
        assert_eq!(hash(&[0, 0, 0, 0, 0, 1]), 153);
        assert_eq!(hash(&[1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]), 102);
    }

    fn packet(kind: u8, secs: u16, client_id: Option<&[u8]>) -> Vec<u8> {
        let mut p = vec![0u8; 240];
        p[0] = 1;
        p[1] = 1;
        p[2] = 6;
        p[8..10].copy_from_slice(&secs.to_be_bytes());
        p[28..34].copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        p[236..240].copy_from_slice(&[99, 130, 83, 99]);
        p.extend_from_slice(&[53, 1, kind, 0]);
        if let Some(id) = client_id {
            p.push(61);
            p.push(id.len() as u8);
            p.extend_from_slice(id);
        }
        p.push(255);
        p
    }

    #[test]
    fn a_query_gives_its_type_client_and_secs() {
        let bytes = packet(1, 0x0500, None);
        let query = inspect(&bytes);
        assert_eq!(
            query.map(|q| (q.kind, q.secs, q.client_hash())),
            Some((Some(1), 5, Some(57)))
        );
        let bytes = packet(3, 7, Some(&[1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        let query = inspect(&bytes);
        assert_eq!(
            query.map(|q| (q.is_filtered(), q.secs, q.client_hash())),
            Some((true, 7, Some(102)))
        );
        let bytes = packet(5, 0, None);
        assert_eq!(inspect(&bytes).map(|q| q.is_filtered()), Some(false));
        let mut overloaded = packet(5, 0, None);
        overloaded.pop();
        overloaded.extend_from_slice(&[52, 1, 1, 255]);
        assert_eq!(inspect(&overloaded).map(|q| q.is_filtered()), Some(true));
        assert_eq!(inspect(&bytes[..100]), None);
    }
}
