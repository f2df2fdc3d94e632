//! The checks Kea makes on an `option-def` (`OptionDefParser::parse`,
//! `OptionDefinition::addRecordField` and `validate`) and on an
//! `option-data` entry (`OptionDataParser::createOption`).

use super::encode::{from_buffer, from_csv};
use super::text::{decode_option_binary, tokens};
use super::DataType::{self, Binary, Empty, Internal, Record};
use super::{
    parse_data_type, ConfiguredOption, OptionDataSpec, OptionDef, OptionDefs, OptionError,
    SpacedOption, DHCP4_SPACE,
};

/// Kea's rule for option and space names (`OptionSpace::validateName`):
/// letters, digits, `-` and `_`, not empty, no `-` or `_` at either end.
pub fn valid_space_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with(['-', '_'])
        && !name.ends_with(['-', '_'])
}

/// Parses `option-def`'s `record-types` (comma-separated type names, blanks
/// ignored) as Kea's parser reads it.
pub fn parse_record_types(text: &str) -> Result<Vec<DataType>, OptionError> {
    tokens(text, ',', false)
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(|t| {
            parse_data_type(t).map_err(|_| {
                OptionError::new(
                    "record-types",
                    format!("attempted to add invalid data type '{t}' to the record."),
                )
            })
        })
        .collect()
}

/// `OptionDefParser::parse` then `OptionDefinition::validate`.
pub(super) fn validate(def: &OptionDef) -> Result<(), OptionError> {
    if !valid_space_name(&def.space) {
        return Err(OptionError::new(
            "space",
            format!("invalid option space name '{}'", def.space),
        ));
    }
    if def.space == DHCP4_SPACE && (def.code == 0 || def.code == 255) {
        let what = if def.code == 0 { "PAD" } else { "END" };
        return Err(OptionError::new(
            "code",
            format!("invalid option code '{}': reserved for {what}", def.code),
        ));
    }
    if let Some(encapsulate) = &def.encapsulate {
        if def.array {
            return Err(OptionError::new(
                "encapsulate",
                format!(
                    "option '{}.{}', comprising an array of data fields may not encapsulate any option space",
                    def.space, def.name
                ),
            ));
        }
        if *encapsulate == def.space {
            return Err(OptionError::new(
                "encapsulate",
                format!(
                    "option must not encapsulate an option space it belongs to: '{}.{}' is set to encapsulate '{}'",
                    def.space, def.name, def.space
                ),
            ));
        }
        if !valid_space_name(encapsulate) {
            return Err(OptionError::new(
                "encapsulate",
                format!("invalid encapsulated option space name: '{encapsulate}'"),
            ));
        }
    }
    if !valid_space_name(&def.name) {
        return Err(OptionError::new(
            "name",
            format!("invalid option name '{}'", def.name),
        ));
    }
    if def.data_type == Record {
        validate_record(def)
    } else if !def.record_types.is_empty() {
        Err(OptionError::new(
            "record-types",
            format!(
                "'record' option type must be used instead of '{}' to add data fields to the record",
                def.data_type.name()
            ),
        ))
    } else if def.array {
        let what = match def.data_type {
            DataType::String => "array of strings is not a valid option definition.",
            Binary => "array of binary values is not a valid option definition.",
            Empty => "array of empty value is not a valid option definition.",
            Internal => "array of internal type value is not a valid option definition.",
            _ => return Ok(()),
        };
        Err(OptionError::new("array", what))
    } else {
        Ok(())
    }
}

fn validate_record(def: &OptionDef) -> Result<(), OptionError> {
    let fields = &def.record_types;
    if let Some(bad) = fields.iter().find(|t| matches!(t, Record | Empty)) {
        return Err(OptionError::new(
            "record-types",
            format!(
                "attempted to add invalid data type '{}' to the record.",
                bad.name()
            ),
        ));
    }
    if fields.len() < 2 {
        return Err(OptionError::new(
            "record-types",
            format!(
                "invalid number of data fields: {} specified for the option of type 'record'. Expected at least 2 fields.",
                fields.len()
            ),
        ));
    }
    let last = fields.len() - 1;
    for (i, field) in fields.iter().enumerate() {
        let message = match field {
            DataType::String if i < last => {
                "string data field can't be laid before data fields of other types."
            }
            Binary if i < last => {
                "binary data field can't be laid before data fields of other types."
            }
            Internal => "internal data type can't be stored as a field in an option record.",
            _ => continue,
        };
        return Err(OptionError::new("record-types", message));
    }
    match fields.last() {
        Some(DataType::String) if def.array => Err(OptionError::new(
            "array",
            "array of strings is not a valid option definition.",
        )),
        Some(Binary) if def.array => Err(OptionError::new(
            "array",
            "array of binary values is not a valid option definition.",
        )),
        _ => Ok(()),
    }
}

/// `OptionDataParser::createOption` for one entry.
pub(super) fn encode_spec(
    defs: &OptionDefs,
    spec: &OptionDataSpec,
) -> Result<SpacedOption, OptionError> {
    let space = spec.space.as_deref().unwrap_or(DHCP4_SPACE);
    if !valid_space_name(space) {
        return Err(OptionError::new(
            "space",
            format!("invalid option space name '{space}'"),
        ));
    }
    if spec.space.as_deref() == Some("dhcp6") {
        return Err(OptionError::new(
            "space",
            "'dhcp6' option space name is reserved for DHCPv6 server",
        ));
    }
    if let Some(name) = spec.name.as_deref().filter(|n| n.contains(' ')) {
        return Err(OptionError::new(
            "name",
            format!("invalid option name '{name}', space character is not allowed"),
        ));
    }
    let code = match spec.code {
        Some(code) => Some(u8::try_from(code).map_err(|_| {
            OptionError::new(
                "code",
                format!("invalid option code '{code}', it must not be greater than '255'"),
            )
        })?),
        None => None,
    };
    let def = match (code, spec.name.as_deref()) {
        (Some(code), _) => defs.by_code(space, code),
        (None, Some(name)) => defs.by_name(space, name),
        (None, None) => return Err(OptionError::new(
            "name",
            "option data configuration requires one of 'code' or 'name' parameters to be specified",
        )),
    };
    let name_text = spec.name.as_deref().unwrap_or("");
    let code = match (def, code) {
        (Some(def), _) => {
            if let Some(name) = spec.name.as_deref().filter(|n| *n != def.name) {
                return Err(OptionError::new(
                    "name",
                    format!("specified option name '{name}' does not match the option definition: '{space}.{}'", def.name),
                ));
            }
            def.code
        }
        (None, _) if spec.csv_format == Some(true) => {
            let code_text = code.map(|c| c.to_string()).unwrap_or_default();
            return Err(OptionError::new(
                "name",
                format!("definition for the option '{space}.{name_text}' having code '{code_text}' does not exist"),
            ));
        }
        (None, Some(code)) => code,
        (None, None) => {
            return Err(OptionError::new(
                "name",
                format!("definition for the option '{space}.{name_text}' does not exist"),
            ))
        }
    };
    let data = if spec.never_send && spec.data.is_empty() {
        Vec::new()
    } else {
        encode_data(def, space, code, spec)?
    };
    if space == DHCP4_SPACE && (code == 0 || code == 255) {
        let what = if code == 0 { "PAD" } else { "END" };
        return Err(OptionError::new(
            "code",
            format!("invalid option code '{code}': reserved for {what}"),
        ));
    }
    Ok(SpacedOption {
        space: space.to_string(),
        option: ConfiguredOption {
            code,
            data,
            always_send: spec.always_send,
            never_send: spec.never_send,
        },
    })
}

fn encode_data(
    def: Option<&OptionDef>,
    space: &str,
    code: u8,
    spec: &OptionDataSpec,
) -> Result<Vec<u8>, OptionError> {
    let csv = def.is_some() && spec.csv_format.unwrap_or(true);
    let mismatch = |message: String| {
        OptionError::new(
            "data",
            format!("option data does not match option definition (space: {space}, code: {code}): {message}"),
        )
    };
    match def {
        Some(def) if csv => from_csv(def, &spec.data).map_err(mismatch),
        _ => {
            let bytes =
                decode_option_binary(&spec.data).map_err(|m| OptionError::new("data", m))?;
            match def {
                Some(def) => from_buffer(def, bytes, false).map_err(mismatch),
                None => Ok(bytes),
            }
        }
    }
}
