//! `client-classes`: each class's test parsed once with the option names of
//! the configuration, `member()` references checked against the classes
//! defined before it (as Kea's `isClientClassDefined`), and the dependency on
//! `KNOWN`/`UNKNOWN` computed transitively.

use common::config::ConfigError;

use super::known_keys::{self, CLASS};
use super::model::ClientClass;
use super::network::{boot_fields, triplet};
use super::options::{class_option_defs, option_data};
use super::walk::{index, string, Loader, Obj};
use crate::classify;
use crate::options::{OptionDefs, DHCP4_SPACE};

/// Kea's built-in class names (lib/dhcpsrv/client_class_def.cc `builtinNames`).
const BUILTIN_NAMES: &[&str] = &["ALL", "KNOWN", "UNKNOWN", "BOOTP"];
/// Kea's built-in class prefixes (`builtinPrefixes`).
const BUILTIN_PREFIXES: &[&str] = &["VENDOR_CLASS_", "HA_", "AFTER_", "EXTERNAL_"];

/// Whether `name` is a class the server sets itself (`member()` may name it
/// without a definition). `DROP` counts: naming it undefined is harmless.
pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
        || name == "DROP"
        || BUILTIN_PREFIXES
            .iter()
            .any(|p| name.len() > p.len() && name.starts_with(p))
}

/// Reads `Dhcp4.client-classes` in evaluation order.
pub(crate) fn client_classes(
    loader: &mut Loader,
    defs: &OptionDefs,
    dhcp4: &Obj<'_>,
) -> Result<Vec<ClientClass>, ConfigError> {
    let path = dhcp4.key("client-classes");
    let mut classes: Vec<ClientClass> = Vec::new();
    let mut seen = Vec::new();
    for (i, node) in dhcp4
        .list("client-classes")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let at = index(&path, i);
        let obj = Obj::new(node, &at)?;
        known_keys::check(loader, &obj, CLASS)?;
        let class = client_class(loader, defs, &obj, &classes)?;
        if let Some((_, line)) = seen.iter().find(|(name, _)| *name == class.name) {
            return Err(ConfigError::invalid(
                obj.loc("name"),
                obj.key("name"),
                format!("class {:?} is already defined (line {line})", class.name),
            ));
        }
        seen.push((class.name.clone(), obj.loc("name").line));
        classes.push(class);
    }
    Ok(classes)
}

fn client_class(
    loader: &mut Loader,
    defs: &OptionDefs,
    obj: &Obj<'_>,
    earlier: &[ClientClass],
) -> Result<ClientClass, ConfigError> {
    let name = obj.required_str("name")?.to_string();
    let only_if_required = obj.bool("only-if-required")?.unwrap_or(false)
        || obj.bool("only-in-additional-list")?.unwrap_or(false);
    let (test, depends_on_known) = match obj.get("test") {
        None => (None, false),
        Some(entry) => {
            let text = string(&entry.value, &obj.key("test"))?;
            let (test, depends) = parse_test(obj, &name, text, defs, earlier)?;
            (Some(test), depends)
        }
    };
    let builtin = BUILTIN_NAMES.contains(&name.as_str());
    if (builtin || name == "DROP") && only_if_required {
        return Err(ConfigError::invalid(
            obj.loc("only-if-required"),
            obj.key("only-if-required"),
            format!("class {name:?} is built in or special: it cannot be only-if-required"),
        ));
    }
    if builtin && test.is_some() {
        return Err(ConfigError::invalid(
            obj.loc("test"),
            obj.key("test"),
            format!("built-in class {name:?} cannot have a test"),
        ));
    }
    let own_defs = class_option_defs(loader, defs, obj)?;
    let (options, vendor_options) = option_data(loader, own_defs.as_ref().unwrap_or(defs), obj)?;
    Ok(ClientClass {
        name,
        test,
        only_if_required,
        depends_on_known,
        options,
        vendor_options,
        boot: boot_fields(obj)?,
        lifetime: triplet(obj)?,
    })
}

/// Parses a class's test; errors name the class and the position.
fn parse_test(
    obj: &Obj<'_>,
    name: &str,
    text: &str,
    defs: &OptionDefs,
    earlier: &[ClientClass],
) -> Result<(classify::Expression, bool), ConfigError> {
    let resolve = |option: &str| defs.by_name(DHCP4_SPACE, option).map(|d| d.code);
    let test = classify::parse(text, &resolve).map_err(|e| {
        ConfigError::invalid(
            obj.loc("test"),
            obj.key("test"),
            format!("class {name:?}: {e} in {text:?}"),
        )
    })?;
    let mut depends = false;
    for member in test.members() {
        if is_builtin(member) {
            depends |= member == "KNOWN" || member == "UNKNOWN";
            continue;
        }
        match earlier.iter().find(|c| c.name == member) {
            Some(class) => depends |= class.depends_on_known,
            None => {
                return Err(ConfigError::invalid(
                    obj.loc("test"),
                    obj.key("test"),
                    format!(
                        "class {name:?}: member('{member}') names a class not defined before it"
                    ),
                ))
            }
        }
    }
    Ok((test, depends))
}

/// Where a subnet or shared network was written: its location and key path.
pub(crate) type Place = (common::config::Location, String);

/// Warns about class names that guard a scope or are required there but that
/// no class defines, no reservation assigns and the server does not set
/// itself: Kea accepts them silently, and a typo then keeps every client out
/// of the scope (or the class is never evaluated).
pub(crate) fn warn_undefined(
    loader: &mut Loader,
    config: &super::model::Config,
    subnets: &[Place],
    networks: &[Place],
) {
    let reserved = config
        .reservations
        .iter()
        .chain(config.subnets.iter().flat_map(|s| s.reservations.iter()))
        .flat_map(|r| r.client_classes.iter());
    let mut known: Vec<&str> = config.classes.iter().map(|c| c.name.as_str()).collect();
    known.extend(reserved.map(String::as_str));
    let mut check = |place: &Place, key: String, names: &mut dyn Iterator<Item = &String>| {
        for name in names {
            if !is_builtin(name) && !known.contains(&name.as_str()) {
                loader.warn(
                    &place.0,
                    &format!("{}.{key}", place.1),
                    format!("class {name:?} is not defined, reserved or built in: no client is ever in it"),
                );
            }
        }
    };
    for (network, place) in config.shared_networks.iter().zip(networks) {
        check(
            place,
            "client-class".into(),
            &mut network.client_class.iter(),
        );
        check(
            place,
            "require-client-classes".into(),
            &mut network.require_client_classes.iter(),
        );
    }
    for (subnet, place) in config.subnets.iter().zip(subnets) {
        let inherited = subnet
            .shared_network
            .and_then(|i| config.shared_networks.get(i))
            .and_then(|n| n.client_class.as_ref());
        let own = subnet
            .client_class
            .as_ref()
            .filter(|c| Some(*c) != inherited);
        check(place, "client-class".into(), &mut own.into_iter());
        check(
            place,
            "require-client-classes".into(),
            &mut subnet.require_client_classes.iter(),
        );
        for (i, pool) in subnet.pools.iter().enumerate() {
            check(
                place,
                format!("pools[{i}].client-class"),
                &mut pool.client_class.iter(),
            );
            check(
                place,
                format!("pools[{i}].require-client-classes"),
                &mut pool.require_client_classes.iter(),
            );
        }
    }
}
