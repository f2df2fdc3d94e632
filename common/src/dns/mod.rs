//! DNS wire helpers shared by the lb and the resolver: cheap access to header and
//! question without a full parse, EDNS peeking, UDP truncation, TCP framing.

pub mod edns;
pub mod tcp;
pub mod truncate;
pub mod wire;
