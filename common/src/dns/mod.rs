//! DNS wire helpers shared by the lb and the resolver: cheap access to header and
//! question without a full parse, EDNS peeking, UDP truncation, TCP framing.

pub mod edns;
pub mod tcp;
pub mod truncate;
pub mod wire;

/// Query types the daemons' metrics label by name (the resolver's
/// `unbound_query_types_total`, the lb's CoreDNS-named series in node-local
/// mode); every other type is counted as `other`.
pub const NAMED_TYPES: &[(u16, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (35, "NAPTR"),
    (43, "DS"),
    (48, "DNSKEY"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (255, "ANY"),
    (257, "CAA"),
];
