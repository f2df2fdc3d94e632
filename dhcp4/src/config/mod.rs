//! Kea's `Dhcp4` configuration: the JSON dialect Kea reads ([`json`]), every
//! key Kea knows accounted for ([`known_keys`]: used, a named warning, or
//! "not supported: FEATURE"), and the resolved [`model::Config`] the server
//! serves from. Every error names file, line and key path
//! (`Dhcp4.subnet4[0].pools[1].pool`).

mod agent;
mod classes;
mod control;
mod dhcp4;
mod ha;
pub mod json;
mod known_keys;
pub mod model;
mod network;
mod options;
mod reservations;
mod shared;
mod subnets;
mod walk;

#[cfg(test)]
mod test_dir;
#[cfg(test)]
mod tests;

use std::path::Path;

use common::config::{ConfigError as LocatedError, ConfigWarning};

pub use agent::{load_agent_file, load_agent_str};

/// Hex as Kea's configuration and commands write identifiers (`01:02:0a`,
/// `01 02 0a`, `01020a`, `0x01020a`).
pub fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    walk::hex(text)
}

/// Reads the Kea configuration at `path` into the model, with the warnings
/// about keys accepted without effect.
pub fn load_file(path: &Path) -> Result<(model::Config, Vec<ConfigWarning>), LocatedError> {
    let text = std::fs::read_to_string(path).map_err(|e| LocatedError::io(path, e))?;
    load_str(&text, path)
}

/// Reads configuration `text` that came from `path` (errors name it;
/// includes resolve beside it).
pub fn load_str(
    text: &str,
    path: &Path,
) -> Result<(model::Config, Vec<ConfigWarning>), LocatedError> {
    let mut loader = walk::Loader::default();
    let root = json::parse_str(text, path, &mut loader.warnings)?;
    let mut config = dhcp4::config(&mut loader, &root)?;
    config.document = std::sync::Arc::new(root.to_json());
    Ok((config, loader.warnings))
}
