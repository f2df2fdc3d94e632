//! DNSSEC validation (RFC 4033-4035, 5155, 6840), Unbound's validator module.
//!
//! - [`anchor`]: trust anchors (files, inline, the built-in IANA root anchors).
//! - [`autotrust`]: RFC 5011 tracking of `auto-trust-anchor-file:` (Unbound's autotrust.c).
//! - [`crypto`]: the algorithms we verify and DS digests (ring).
//! - [`records`]: DNSKEY, DS and RRSIG read from opaque RDATA; the to-be-signed form.

pub mod anchor;
pub mod autotrust;
pub mod crypto;
pub mod records;
