//! `host-reservation-identifiers` and `reservations` (global or in a subnet).

use std::net::Ipv4Addr;

use common::config::ConfigError;

use super::known_keys::{self, unsupported, RESERVATION};
use super::model::{Identifier, IdentifierType, Reservation};
use super::network::boot_fields;
use super::options::option_data;
use super::walk::{hex, index, string, Loader, Obj};
use crate::options::OptionDefs;

/// The identifier keys in Kea's spelling.
const IDENTIFIERS: &[(&str, IdentifierType)] = &[
    ("hw-address", IdentifierType::HwAddress),
    ("duid", IdentifierType::Duid),
    ("circuit-id", IdentifierType::CircuitId),
    ("client-id", IdentifierType::ClientId),
    ("flex-id", IdentifierType::FlexId),
];

/// Kea's default lookup order (`CfgHostOperations::createConfig4`).
pub(crate) const DEFAULT_IDENTIFIERS: &[IdentifierType] = &[
    IdentifierType::HwAddress,
    IdentifierType::Duid,
    IdentifierType::CircuitId,
    IdentifierType::ClientId,
];

/// `Dhcp4.host-reservation-identifiers`, in lookup order.
pub(crate) fn host_identifiers(dhcp4: &Obj<'_>) -> Result<Vec<IdentifierType>, ConfigError> {
    let key = dhcp4.key("host-reservation-identifiers");
    let Some(items) = dhcp4.list("host-reservation-identifiers")? else {
        return Ok(DEFAULT_IDENTIFIERS.to_vec());
    };
    let mut kinds = Vec::new();
    for (i, node) in items.iter().enumerate() {
        let at = index(&key, i);
        let name = string(node, &at)?;
        let kind = IDENTIFIERS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                ConfigError::invalid(
                    &node.location,
                    &at,
                    format!(
                        "{name:?}: expected hw-address, duid, circuit-id, client-id or flex-id"
                    ),
                )
            })?;
        if kind == IdentifierType::FlexId {
            return Err(unsupported(
                &node.location,
                at,
                "flex_id hook (libdhcp_flex_id.so): flex-id identifiers",
            ));
        }
        if kinds.contains(&kind) {
            return Err(ConfigError::invalid(
                &node.location,
                at,
                format!("{name:?} is listed twice"),
            ));
        }
        kinds.push(kind);
    }
    if kinds.is_empty() {
        return Err(ConfigError::invalid(
            dhcp4.loc("host-reservation-identifiers"),
            key,
            "may not be empty",
        ));
    }
    Ok(kinds)
}

/// The `reservations` of `scope`; `subnet` bounds their addresses.
pub(crate) fn reservations(
    loader: &mut Loader,
    defs: &OptionDefs,
    scope: &Obj<'_>,
    subnet: Option<(Ipv4Addr, u8)>,
) -> Result<Vec<Reservation>, ConfigError> {
    let path = scope.key("reservations");
    let mut out: Vec<Reservation> = Vec::new();
    for (i, node) in scope
        .list("reservations")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let at = index(&path, i);
        let obj = Obj::new(node, &at)?;
        known_keys::check(loader, &obj, RESERVATION)?;
        let reservation = reservation(loader, defs, &obj, subnet)?;
        if out.iter().any(|r| r.identifier == reservation.identifier) {
            return Err(ConfigError::invalid(
                obj.location,
                obj.path,
                "a second reservation for the same identifier",
            ));
        }
        if let Some(ip) = reservation
            .ip_address
            .filter(|_| !loader.shared_reserved_ips)
        {
            if out.iter().any(|r| r.ip_address == Some(ip)) {
                return Err(ConfigError::invalid(
                    obj.loc("ip-address"),
                    obj.key("ip-address"),
                    format!("{ip} is already reserved for another host (ip-reservations-unique is true)"),
                ));
            }
        }
        out.push(reservation);
    }
    Ok(out)
}

fn reservation(
    loader: &mut Loader,
    defs: &OptionDefs,
    obj: &Obj<'_>,
    subnet: Option<(Ipv4Addr, u8)>,
) -> Result<Reservation, ConfigError> {
    let identifier = identifier(loader, obj)?;
    let ip_address = obj.ipv4("ip-address")?;
    if let Some(ip) = ip_address.filter(|ip| ip.is_unspecified() || ip.is_broadcast()) {
        return Err(ConfigError::invalid(
            obj.loc("ip-address"),
            obj.key("ip-address"),
            format!("{ip} cannot be reserved"),
        ));
    }
    if let (Some(ip), Some((network, len))) = (ip_address, subnet) {
        if !super::subnets::contains(network, len, ip) {
            return Err(ConfigError::invalid(
                obj.loc("ip-address"),
                obj.key("ip-address"),
                format!("{ip} is not within the subnet {network}/{len}"),
            ));
        }
    }
    let (options, vendor_options) = option_data(loader, defs, obj)?;
    Ok(Reservation {
        identifier,
        ip_address,
        hostname: obj
            .str("hostname")?
            .filter(|h| !h.is_empty())
            .map(str::to_string),
        options,
        vendor_options,
        client_classes: obj.strings("client-classes")?,
        boot: boot_fields(obj)?,
    })
}

fn identifier(loader: &mut Loader, obj: &Obj<'_>) -> Result<Identifier, ConfigError> {
    let given: Vec<_> = IDENTIFIERS
        .iter()
        .filter(|(name, _)| obj.get(name).is_some())
        .collect();
    let (name, kind) = match given.as_slice() {
        [one] => **one,
        [] => {
            return Err(ConfigError::invalid(
                obj.location,
                obj.path,
                "needs one of hw-address, duid, circuit-id, client-id or flex-id",
            ))
        }
        [(first, _), (second, _), ..] => {
            return Err(ConfigError::invalid(
                obj.loc(second),
                obj.key(second),
                format!("{first} and {second} are mutually exclusive"),
            ))
        }
    };
    let key = obj.key(name);
    let text = obj.required_str(name)?;
    let quoted = text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'');
    // Kea's Host::setIdentifier: a quoted 'text' for every kind, else hex.
    let value = if quoted {
        text.get(1..text.len() - 1).map(|t| t.as_bytes().to_vec())
    } else {
        hex(text)
    }
    .filter(|v| !v.is_empty())
    .ok_or_else(|| {
        ConfigError::invalid(
            obj.loc(name),
            &key,
            format!("{text:?}: expected hex such as 01:02:03 or a quoted 'text'"),
        )
    })?;
    if kind == IdentifierType::FlexId {
        loader.warn(
            obj.loc(name),
            &key,
            "never matches: flex-id needs the flex_id hook (Kea without it ignores it the same way)",
        );
    }
    Ok(Identifier { kind, value })
}
