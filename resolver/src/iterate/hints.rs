//! Root hints: IANA's built in, or a `root-hints:` file in zone-file format.

use std::net::IpAddr;
use std::path::Path;

use common::config::{ConfigError, ConfigErrorKind, Location};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::txt::Parser;

/// The root servers to start iteration from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootHints {
    /// NS names of the root.
    pub names: Vec<Name>,
    /// Addresses of those names.
    pub addrs: Vec<(Name, IpAddr)>,
}

/// IANA's named.root (2024), as Unbound compiles it in.
const IANA_ROOT_HINTS: &str = "\
.                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
.                        3600000      NS    B.ROOT-SERVERS.NET.
B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2
B.ROOT-SERVERS.NET.      3600000      AAAA  2801:1b8:10::b
.                        3600000      NS    C.ROOT-SERVERS.NET.
C.ROOT-SERVERS.NET.      3600000      A     192.33.4.12
C.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2::c
.                        3600000      NS    D.ROOT-SERVERS.NET.
D.ROOT-SERVERS.NET.      3600000      A     199.7.91.13
D.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2d::d
.                        3600000      NS    E.ROOT-SERVERS.NET.
E.ROOT-SERVERS.NET.      3600000      A     192.203.230.10
E.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:a8::e
.                        3600000      NS    F.ROOT-SERVERS.NET.
F.ROOT-SERVERS.NET.      3600000      A     192.5.5.241
F.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2f::f
.                        3600000      NS    G.ROOT-SERVERS.NET.
G.ROOT-SERVERS.NET.      3600000      A     192.112.36.4
G.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:12::d0d
.                        3600000      NS    H.ROOT-SERVERS.NET.
H.ROOT-SERVERS.NET.      3600000      A     198.97.190.53
H.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:1::53
.                        3600000      NS    I.ROOT-SERVERS.NET.
I.ROOT-SERVERS.NET.      3600000      A     192.36.148.17
I.ROOT-SERVERS.NET.      3600000      AAAA  2001:7fe::53
.                        3600000      NS    J.ROOT-SERVERS.NET.
J.ROOT-SERVERS.NET.      3600000      A     192.58.128.30
J.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:c27::2:30
.                        3600000      NS    K.ROOT-SERVERS.NET.
K.ROOT-SERVERS.NET.      3600000      A     193.0.14.129
K.ROOT-SERVERS.NET.      3600000      AAAA  2001:7fd::1
.                        3600000      NS    L.ROOT-SERVERS.NET.
L.ROOT-SERVERS.NET.      3600000      A     199.7.83.42
L.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:9f::42
.                        3600000      NS    M.ROOT-SERVERS.NET.
M.ROOT-SERVERS.NET.      3600000      A     202.12.27.33
M.ROOT-SERVERS.NET.      3600000      AAAA  2001:dc3::35
";

impl RootHints {
    /// The built-in IANA hints.
    pub fn builtin() -> Self {
        // The text above is a constant we ship and test; parsing it cannot fail at run time.
        Self::parse(IANA_ROOT_HINTS, Path::new("<built-in root hints>")).unwrap_or(RootHints {
            names: Vec::new(),
            addrs: Vec::new(),
        })
    }

    /// Reads a `root-hints:` file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parses hints in zone-file format: root NS records and their addresses.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let location = Location::new(path, 1);
        let syntax =
            |why: String| ConfigError::at(&location, "root-hints", ConfigErrorKind::Syntax(why));
        let (_, records) = Parser::new(text, Some(path.to_path_buf()), Some(Name::root()))
            .parse()
            .map_err(|e| syntax(e.to_string()))?;
        let mut names = Vec::new();
        let mut addrs = Vec::new();
        for set in records.values() {
            for record in set.records_without_rrsigs() {
                match (&record.data, record.record_type()) {
                    (RData::NS(ns), RecordType::NS) if record.name.is_root() => {
                        names.push(ns.0.clone())
                    }
                    (RData::A(a), _) => addrs.push((record.name.clone(), IpAddr::V4(a.0))),
                    (RData::AAAA(aaaa), _) => addrs.push((record.name.clone(), IpAddr::V6(aaaa.0))),
                    _ => {}
                }
            }
        }
        if names.is_empty() || addrs.is_empty() {
            return Err(syntax("no root NS records with addresses".to_string()));
        }
        Ok(Self { names, addrs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_hints_have_thirteen_servers_with_both_families() {
        let hints = RootHints::builtin();
        assert_eq!(hints.names.len(), 13);
        assert_eq!(hints.addrs.iter().filter(|(_, a)| a.is_ipv4()).count(), 13);
        assert_eq!(hints.addrs.iter().filter(|(_, a)| a.is_ipv6()).count(), 13);
    }

    #[test]
    fn file_without_addresses_is_an_error_naming_root_hints() {
        let error = RootHints::parse(". 3600 NS a.root.\n", Path::new("hints.zone")).unwrap_err();
        assert!(
            error.to_string().starts_with("hints.zone:1: root-hints:"),
            "{error}"
        );
    }
}
