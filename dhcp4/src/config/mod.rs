//! Kea's `Dhcp4` configuration: the JSON dialect Kea reads, every key Kea
//! knows accounted for, and the resolved [`model::Config`] the server serves
//! from.
//!
//! `legacy` is the previous loader, kept only until the server moves to the
//! model (the integrator removes it at merge).

pub mod legacy;
pub mod model;

pub use legacy::*;
pub mod json;
#[cfg(test)]
mod test_dir;
