//! DNSSEC validation (RFC 4033–4035, 5155): denial-of-existence proofs so far.

pub mod bitmap;
pub mod denial;
pub mod names;
pub mod nsec;
pub mod nsec3;
