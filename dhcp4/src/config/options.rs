//! `option-def` and `option-data` at every scope: read into the options
//! API's specs, encoded once at load, errors placed on the field at fault.

use common::config::ConfigError;

use super::known_keys::{self, OPTION_DATA, OPTION_DEF};
use super::walk::{index, Loader, Obj};
use crate::options::{
    parse_data_type, ConfiguredOption, DataType, OptionDataSpec, OptionDef, OptionDefs,
    OptionError, VendorOption, DHCP4_SPACE,
};

/// An options-API error placed on the field it names.
fn placed(obj: &Obj<'_>, error: OptionError) -> ConfigError {
    ConfigError::invalid(obj.loc(error.field), obj.key(error.field), error.message)
}

/// Adds every `option-def` of `Dhcp4` to `defs`.
pub(crate) fn option_defs(
    loader: &mut Loader,
    defs: &mut OptionDefs,
    scope: &Obj<'_>,
) -> Result<(), ConfigError> {
    add_defs(loader, defs, scope, false)
}

/// The definitions a class's `option-data` is encoded with: the global ones
/// plus the class's own `option-def`, which Kea allows only for options whose
/// unpacking it defers (option 43 and the private codes 224 to 254,
/// `LibDHCP::shouldDeferOptionUnpack`). `None` when the class defines none.
pub(crate) fn class_option_defs(
    loader: &mut Loader,
    defs: &OptionDefs,
    class: &Obj<'_>,
) -> Result<Option<OptionDefs>, ConfigError> {
    if class.list("option-def")?.is_none_or(<[_]>::is_empty) {
        return Ok(None);
    }
    let mut own = defs.clone();
    add_defs(loader, &mut own, class, true)?;
    Ok(Some(own))
}

fn add_defs(
    loader: &mut Loader,
    defs: &mut OptionDefs,
    scope: &Obj<'_>,
    deferred_only: bool,
) -> Result<(), ConfigError> {
    let path = scope.key("option-def");
    for (i, node) in scope
        .list("option-def")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let at = index(&path, i);
        let obj = Obj::new(node, &at)?;
        known_keys::check(loader, &obj, OPTION_DEF)?;
        let def = option_def(&obj)?;
        let deferred =
            def.space == DHCP4_SPACE && (def.code == 43 || (224..=254).contains(&def.code));
        if deferred_only && !deferred {
            return Err(ConfigError::invalid(
                obj.loc("code"),
                obj.key("code"),
                format!(
                    "a class may define only option 43 or 224 to 254 of the dhcp4 space, not {} in {:?}",
                    def.code, def.space
                ),
            ));
        }
        defs.add(def).map_err(|e| placed(&obj, e))?;
    }
    Ok(())
}

fn option_def(obj: &Obj<'_>) -> Result<OptionDef, ConfigError> {
    let name = obj.required_str("name")?.to_string();
    let code = obj
        .u32("code")?
        .ok_or_else(|| ConfigError::invalid(obj.location, obj.key("code"), "required"))?;
    let code = u8::try_from(code).map_err(|_| {
        ConfigError::invalid(
            obj.loc("code"),
            obj.key("code"),
            format!("{code} is not from 0 to 255"),
        )
    })?;
    let data_type = parse_data_type(obj.required_str("type")?).map_err(|e| {
        placed(
            obj,
            OptionError {
                field: "type",
                message: e.message,
            },
        )
    })?;
    let mut record_types = Vec::new();
    if let Some(text) = obj.str("record-types")? {
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let field = parse_data_type(name).map_err(|e| {
                placed(
                    obj,
                    OptionError {
                        field: "record-types",
                        message: e.message,
                    },
                )
            })?;
            record_types.push(field);
        }
    }
    if data_type == DataType::Record && record_types.is_empty() {
        return Err(ConfigError::invalid(
            obj.loc("record-types"),
            obj.key("record-types"),
            "a record needs its field types",
        ));
    }
    Ok(OptionDef {
        name,
        code,
        space: obj.str("space")?.unwrap_or(DHCP4_SPACE).to_string(),
        data_type,
        record_types,
        array: obj.bool("array")?.unwrap_or(false),
        encapsulate: obj
            .str("encapsulate")?
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

/// The `option-data` of `scope`, encoded and encapsulated as Kea does per
/// scope, and its options of `vendor-<enterprise>` spaces apart (the server
/// adds those to option 125 per packet).
pub(crate) fn option_data(
    loader: &mut Loader,
    defs: &OptionDefs,
    scope: &Obj<'_>,
) -> Result<(Vec<ConfiguredOption>, Vec<VendorOption>), ConfigError> {
    let path = scope.key("option-data");
    let Some(items) = scope.list("option-data")? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut encoded = Vec::with_capacity(items.len());
    for (i, node) in items.iter().enumerate() {
        let at = index(&path, i);
        let obj = Obj::new(node, &at)?;
        known_keys::check(loader, &obj, OPTION_DATA)?;
        let spec = spec(&obj)?;
        encoded.push(defs.encode(&spec).map_err(|e| placed(&obj, e))?);
    }
    let vendor = defs.vendor_options(&encoded);
    Ok((defs.encapsulate(encoded), vendor))
}

fn spec(obj: &Obj<'_>) -> Result<OptionDataSpec, ConfigError> {
    let spec = OptionDataSpec {
        name: obj
            .str("name")?
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        code: obj.u32("code")?,
        space: obj.str("space")?.map(str::to_string),
        data: obj.str("data")?.unwrap_or_default().to_string(),
        csv_format: obj.bool("csv-format")?,
        always_send: obj.bool("always-send")?.unwrap_or(false),
        never_send: obj.bool("never-send")?.unwrap_or(false),
    };
    if spec.name.is_none() && spec.code.is_none() {
        return Err(ConfigError::invalid(
            obj.location,
            obj.path,
            "needs a name or a code",
        ));
    }
    Ok(spec)
}
