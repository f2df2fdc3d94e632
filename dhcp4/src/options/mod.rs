//! DHCPv4 options as Kea defines and writes them: Kea 2.6's standard option
//! table, `option-def` for custom options and option spaces, and the encoding
//! of an `option-data` entry's text (`csv-format`) into wire bytes, byte for
//! byte as Kea writes it. Encapsulated spaces (option 43's sub-options, the
//! vendor spaces of option 125) are folded into their carrier option at load,
//! so serving copies bytes and never encodes.
//!
//! Files: [`table`] (the built-in definitions), [`text`] (Kea's text
//! forms), [`encode`] (data per definition), [`special`] (the options
//! with a class of their own), [`routes`] (option 121),
//! [`space`] (encapsulation), `defs.rs` (`option-def` checks).

use std::collections::HashMap;

mod defs;
mod encode;
mod routes;
mod space;
mod special;
pub mod table;
#[cfg(test)]
mod tests;
mod text;

pub use defs::{parse_record_types, valid_space_name};

/// The DHCPv4 option space every top-level option lives in.
pub const DHCP4_SPACE: &str = "dhcp4";

/// The data type of an option or of one field of a record (Kea's
/// `OptionDataType` names, as written in `option-def`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `empty`: no data.
    Empty,
    /// `binary`: hex text.
    Binary,
    /// `boolean`: `true`/`false`/`1`/`0`, one byte.
    Boolean,
    /// `int8`.
    Int8,
    /// `int16`.
    Int16,
    /// `int32`.
    Int32,
    /// `uint8`.
    Uint8,
    /// `uint16`.
    Uint16,
    /// `uint32`.
    Uint32,
    /// `ipv4-address`.
    Ipv4Address,
    /// `ipv6-address`.
    Ipv6Address,
    /// `ipv6-prefix`.
    Ipv6Prefix,
    /// `psid`.
    Psid,
    /// `string`.
    String,
    /// `fqdn`: a domain name in wire format.
    Fqdn,
    /// `tuple`: a length-prefixed string.
    Tuple,
    /// `record`: the fields in [`OptionDef::record_types`].
    Record,
    /// `internal`: formats Kea encodes by special code (e.g. option 121's
    /// classless routes, option 43 without a definition).
    Internal,
}

/// One option definition: standard (Kea's table) or an operator's `option-def`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDef {
    /// The option's name (`domain-name-servers`).
    pub name: String,
    /// Its code within its space.
    pub code: u8,
    /// The space it belongs to (`dhcp4`, `vendor-4491`, a custom space).
    pub space: String,
    /// Its data type.
    pub data_type: DataType,
    /// The field types when `data_type` is [`DataType::Record`].
    pub record_types: Vec<DataType>,
    /// Whether the data (or a record's last field) repeats.
    pub array: bool,
    /// The space whose options this option carries as sub-options.
    pub encapsulate: Option<String>,
}

/// Why an option definition or option data was refused; the config loader
/// adds file, line and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OptionError {
    /// The `option-data` / `option-def` field at fault (`data`, `name`,
    /// `code`, `type`, `record-types`, `space`, `encapsulate`).
    pub field: &'static str,
    /// What is wrong, naming the value.
    pub message: String,
}

/// The option definitions a configuration can use: the standard ones plus the
/// operator's `option-def` entries, looked up by (space, name) and (space, code).
#[derive(Debug, Clone, Default)]
pub struct OptionDefs {
    defs: Vec<OptionDef>,
    /// Per definition (same index): who made it, which decides whether an
    /// `option-def` may take its name or code.
    origins: Vec<Origin>,
    /// Space → name → index into `defs`.
    by_name: HashMap<String, HashMap<String, usize>>,
    /// Space → code → index into `defs` (256 slots; looked up per packet).
    by_code: HashMap<String, Vec<Option<usize>>>,
}

/// Where a definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Kea's standard spaces: an `option-def` may not redefine it.
    Standard,
    /// Kea's last-resort and vendor definitions: an `option-def` replaces it.
    Fallback,
    /// The operator's `option-def`.
    Operator,
}

/// An `option-data` entry as the operator wrote it (before encoding).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionDataSpec {
    /// `name`, when given.
    pub name: Option<String>,
    /// `code`, when given (0 to 255; 0 and 255 are refused).
    pub code: Option<u32>,
    /// `space`; `dhcp4` when absent.
    pub space: Option<String>,
    /// `data`; empty when absent.
    pub data: String,
    /// `csv-format`; true when absent.
    pub csv_format: Option<bool>,
    /// `always-send`.
    pub always_send: bool,
    /// `never-send`.
    pub never_send: bool,
}

/// An option ready to serve: its code in the `dhcp4` space and its wire data
/// (sub-options of an encapsulating option already folded in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredOption {
    /// The code in the `dhcp4` space.
    pub code: u8,
    /// The wire data, without code and length (may exceed 255 bytes; the
    /// writer splits it as RFC 3396 says).
    pub data: Vec<u8>,
    /// Sent even when the client did not ask for it.
    pub always_send: bool,
    /// Never sent, even when asked for (a scope that hides a wider one's).
    pub never_send: bool,
}

/// An option of a `vendor-<enterprise id>` space, for the server to put
/// into option 125 per packet as Kea's `appendRequestedVendorOptions` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorOption {
    /// The enterprise id from the space name (4491 for `vendor-4491`).
    pub enterprise: u32,
    /// The sub-option: its code in the vendor space, data and send flags.
    pub option: ConfiguredOption,
}

/// An encoded option still in its space, before encapsulation folds it into
/// its carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpacedOption {
    /// The space.
    pub space: String,
    /// The option.
    pub option: ConfiguredOption,
}

impl OptionDefs {
    /// Kea 2.6's standard DHCPv4 definitions (the `dhcp4` space, option 82's
    /// `dhcp-agent-options-space`, option 43 as Kea's last resort, the
    /// DOCSIS `vendor-4491` space, also under Kea 2.2's name `docsis3-v4`).
    pub fn standard() -> OptionDefs {
        let mut defs = OptionDefs::default();
        let sets = [
            (DHCP4_SPACE, table::DHCP4, Origin::Standard),
            (table::AGENT_SPACE, table::AGENT, Origin::Standard),
            (DHCP4_SPACE, table::LAST_RESORT, Origin::Fallback),
            (table::DOCSIS_SPACE, table::DOCSIS, Origin::Fallback),
            (table::DOCSIS_LEGACY_SPACE, table::DOCSIS, Origin::Fallback),
        ];
        for (space, rows, origin) in sets {
            for row in rows {
                let def = OptionDef {
                    name: row.name.to_string(),
                    code: row.code,
                    space: space.to_string(),
                    data_type: row.data_type,
                    record_types: row.record.to_vec(),
                    array: row.array,
                    encapsulate: row.encapsulate.map(str::to_string),
                };
                defs.insert(def, origin);
            }
        }
        defs
    }

    /// Adds an operator's `option-def`; refuses a name or code already defined
    /// in its space, a standard `dhcp4` option redefined, a bad type.
    pub fn add(&mut self, def: OptionDef) -> Result<(), OptionError> {
        defs::validate(&def)?;
        for (field, existing) in [
            (
                "code",
                self.by_code(&def.space, def.code)
                    .map(|d| d.code.to_string()),
            ),
            (
                "name",
                self.by_name(&def.space, &def.name).map(|d| d.name.clone()),
            ),
        ] {
            let Some(value) = existing else { continue };
            let index = match field {
                "code" => self.code_index(&def.space, def.code),
                _ => self
                    .by_name
                    .get(&def.space)
                    .and_then(|m| m.get(&def.name))
                    .copied(),
            };
            match index.and_then(|i| self.origins.get(i)) {
                Some(Origin::Standard) => {
                    return Err(OptionError::new(
                        field,
                        format!("unable to override definition of option '{value}' in standard option space '{}'", def.space),
                    ))
                }
                Some(Origin::Operator) => {
                    return Err(OptionError::new(
                        field,
                        format!("option definition with {field} '{value}' already exists in option space '{}'", def.space),
                    ))
                }
                Some(Origin::Fallback) | None => {}
            }
        }
        self.insert(def, Origin::Operator);
        Ok(())
    }

    fn insert(&mut self, def: OptionDef, origin: Origin) {
        let index = self.defs.len();
        let codes = self
            .by_code
            .entry(def.space.clone())
            .or_insert_with(|| vec![None; 256]);
        if let Some(slot) = codes.get_mut(usize::from(def.code)) {
            *slot = Some(index);
        }
        self.by_name
            .entry(def.space.clone())
            .or_default()
            .insert(def.name.clone(), index);
        self.defs.push(def);
        self.origins.push(origin);
    }

    fn code_index(&self, space: &str, code: u8) -> Option<usize> {
        *self.by_code.get(space)?.get(usize::from(code))?
    }

    /// The definition of `name` in `space`.
    pub fn by_name(&self, space: &str, name: &str) -> Option<&OptionDef> {
        let index = self.by_name.get(space)?.get(name)?;
        self.defs.get(*index)
    }

    /// The definition of `code` in `space` (HOT PATH: two lookups, no allocation).
    pub fn by_code(&self, space: &str, code: u8) -> Option<&OptionDef> {
        self.defs.get(self.code_index(space, code)?)
    }

    /// Encodes one `option-data` entry as Kea's `OptionDataParser` does.
    pub fn encode(&self, spec: &OptionDataSpec) -> Result<SpacedOption, OptionError> {
        defs::encode_spec(self, spec)
    }

    /// Folds the options of encapsulated spaces into their carriers within one
    /// scope (Kea's `CfgOption::encapsulate`) and returns the `dhcp4` options
    /// of that scope in the order written. Options of other spaces are only
    /// sub-options and are not returned.
    ///
    /// Option 125 (`vivso-suboptions`) receives this scope's `always-send`
    /// options of `vendor-<its enterprise id>`; the others are the server's
    /// to add when the client asks for them (see [`OptionDefs::vendor_options`]).
    pub fn encapsulate(&self, options: Vec<SpacedOption>) -> Vec<ConfiguredOption> {
        self.fold(&options)
    }

    /// This scope's options of `vendor-<enterprise id>` spaces, in the order
    /// written: Kea adds them to option 125 per packet when they are
    /// `always-send` or the client's own option 125 asks for them (and a
    /// `never-send` one cancels its code), so the server keeps them apart.
    pub fn vendor_options(&self, options: &[SpacedOption]) -> Vec<VendorOption> {
        self.vendor_members(options)
    }
}

impl OptionError {
    fn new(field: &'static str, message: impl Into<String>) -> OptionError {
        OptionError {
            field,
            message: message.into(),
        }
    }
}

/// The start of an option 125 for `enterprise` with no sub-options yet:
/// the enterprise id and a zero data-len (`OptionVendor::pack`).
pub fn vivso_header(enterprise: u32) -> Vec<u8> {
    let mut data = enterprise.to_be_bytes().to_vec();
    data.push(0);
    data
}

/// Adds sub-options to option 125 data that starts with [`vivso_header`]:
/// a code already present is kept, all are written sorted by code and the
/// data-len byte is recomputed (Kea's `OptionVendor` packs its sub-options
/// from a map ordered by code).
pub fn add_vendor_suboptions(vivso: &mut Vec<u8>, subs: Vec<(u8, Vec<u8>)>) {
    special::fold_vendor_suboptions(vivso, subs);
}

/// The standard name of a `dhcp4` option code, for logs and the server's
/// option tables.
pub fn standard_name(code: u8) -> Option<&'static str> {
    table::DHCP4
        .iter()
        .chain(table::LAST_RESORT)
        .find(|row| row.code == code)
        .map(|row| row.name)
}

/// Parses an `option-def` `type` / `record-types` element name.
pub fn parse_data_type(name: &str) -> Result<DataType, OptionError> {
    use DataType::*;
    Ok(match name {
        "empty" => Empty,
        "binary" => Binary,
        "boolean" => Boolean,
        "int8" => Int8,
        "int16" => Int16,
        "int32" => Int32,
        "uint8" => Uint8,
        "uint16" => Uint16,
        "uint32" => Uint32,
        "ipv4-address" => Ipv4Address,
        "ipv6-address" => Ipv6Address,
        "ipv6-prefix" => Ipv6Prefix,
        "psid" => Psid,
        "string" => String,
        "fqdn" => Fqdn,
        "tuple" => Tuple,
        "record" => Record,
        "internal" => Internal,
        _ => {
            return Err(OptionError::new(
                "type",
                format!("unknown option data type '{name}'"),
            ))
        }
    })
}

impl DataType {
    /// Kea's name of the type, as written in `option-def`.
    pub fn name(self) -> &'static str {
        use DataType::*;
        match self {
            Empty => "empty",
            Binary => "binary",
            Boolean => "boolean",
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Uint8 => "uint8",
            Uint16 => "uint16",
            Uint32 => "uint32",
            Ipv4Address => "ipv4-address",
            Ipv6Address => "ipv6-address",
            Ipv6Prefix => "ipv6-prefix",
            Psid => "psid",
            String => "string",
            Fqdn => "fqdn",
            Tuple => "tuple",
            Record => "record",
            Internal => "internal",
        }
    }
}
