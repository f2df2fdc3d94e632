//! The parameters a subnet inherits (Kea's `Network4`): read at each scope
//! that may write them (`Dhcp4`, a shared network, a subnet) and resolved
//! global → shared network → subnet, each parameter on its own, as Kea's
//! `getProperty` with inheritance does.

use std::net::Ipv4Addr;

use common::config::ConfigError;

use super::model::{BootFields, Lifetime, ReservationModes, Timers};
use super::walk::Obj;

/// `sname` holds 64 bytes with its terminating zero.
const MAX_SNAME: usize = 63;
/// `file` holds 128 bytes with its terminating zero.
const MAX_FILE: usize = 127;

/// What one scope writes; `None` inherits.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NetworkParams {
    pub lifetime: Option<Lifetime>,
    pub renew: Option<u32>,
    pub rebind: Option<u32>,
    pub calculate: Option<bool>,
    pub t1_percent: Option<f64>,
    pub t2_percent: Option<f64>,
    pub match_client_id: Option<bool>,
    pub authoritative: Option<bool>,
    pub reservations_global: Option<bool>,
    pub reservations_in_subnet: Option<bool>,
    pub reservations_out_of_pool: Option<bool>,
    pub boot: BootFields,
}

impl NetworkParams {
    /// Kea's global defaults (bin/dhcp4 `SimpleParser4::GLOBAL4_DEFAULTS`).
    pub fn kea_defaults() -> NetworkParams {
        NetworkParams {
            lifetime: Some(Lifetime {
                default: 7200,
                min: 7200,
                max: 7200,
            }),
            renew: None,
            rebind: None,
            calculate: Some(false),
            t1_percent: Some(0.5),
            t2_percent: Some(0.875),
            match_client_id: Some(true),
            authoritative: Some(false),
            reservations_global: Some(false),
            reservations_in_subnet: Some(true),
            reservations_out_of_pool: Some(false),
            boot: BootFields::default(),
        }
    }

    /// Reads the inheritable parameters `obj` writes.
    pub fn parse(obj: &Obj<'_>) -> Result<NetworkParams, ConfigError> {
        let renew = obj.u32("renew-timer")?;
        let rebind = obj.u32("rebind-timer")?;
        if let (Some(t1), Some(t2)) = (renew, rebind) {
            if t1 > t2 {
                return Err(ConfigError::invalid(
                    obj.loc("renew-timer"),
                    obj.key("renew-timer"),
                    format!("{t1} is greater than rebind-timer ({t2})"),
                ));
            }
        }
        let (t1_percent, t2_percent) = (percent(obj, "t1-percent")?, percent(obj, "t2-percent")?);
        if let (Some(t1), Some(t2)) = (t1_percent, t2_percent) {
            if t1 >= t2 {
                return Err(ConfigError::invalid(
                    obj.loc("t1-percent"),
                    obj.key("t1-percent"),
                    format!("{t1} must be less than t2-percent ({t2})"),
                ));
            }
        }
        let (global, in_subnet, out_of_pool) = reservation_flags(obj)?;
        Ok(NetworkParams {
            lifetime: triplet(obj)?,
            renew,
            rebind,
            calculate: obj.bool("calculate-tee-times")?,
            t1_percent,
            t2_percent,
            match_client_id: obj.bool("match-client-id")?,
            authoritative: obj.bool("authoritative")?,
            reservations_global: global,
            reservations_in_subnet: in_subnet,
            reservations_out_of_pool: out_of_pool,
            boot: boot_fields(obj)?,
        })
    }

    /// `self` where it writes a parameter, `parent` elsewhere.
    pub fn over(&self, parent: &NetworkParams) -> NetworkParams {
        NetworkParams {
            lifetime: self.lifetime.or(parent.lifetime),
            renew: self.renew.or(parent.renew),
            rebind: self.rebind.or(parent.rebind),
            calculate: self.calculate.or(parent.calculate),
            t1_percent: self.t1_percent.or(parent.t1_percent),
            t2_percent: self.t2_percent.or(parent.t2_percent),
            match_client_id: self.match_client_id.or(parent.match_client_id),
            authoritative: self.authoritative.or(parent.authoritative),
            reservations_global: self.reservations_global.or(parent.reservations_global),
            reservations_in_subnet: self
                .reservations_in_subnet
                .or(parent.reservations_in_subnet),
            reservations_out_of_pool: self
                .reservations_out_of_pool
                .or(parent.reservations_out_of_pool),
            boot: boot_over(&self.boot, &parent.boot),
        }
    }

    /// The resolved lifetime (a chain ending in [`Self::kea_defaults`] has one).
    pub fn resolved_lifetime(&self) -> Lifetime {
        self.lifetime.unwrap_or(Lifetime {
            default: 7200,
            min: 7200,
            max: 7200,
        })
    }

    /// The resolved T1/T2 choice.
    pub fn timers(&self) -> Timers {
        Timers {
            renew: self.renew,
            rebind: self.rebind,
            calculate: self.calculate.unwrap_or(false),
            t1_percent: self.t1_percent.unwrap_or(0.5),
            t2_percent: self.t2_percent.unwrap_or(0.875),
        }
    }

    /// The resolved reservation lookup flags.
    pub fn reservation_modes(&self) -> ReservationModes {
        ReservationModes {
            global: self.reservations_global.unwrap_or(false),
            in_subnet: self.reservations_in_subnet.unwrap_or(true),
            out_of_pool: self.reservations_out_of_pool.unwrap_or(false),
        }
    }
}

/// Each boot field from `own` where set, else from `parent`.
pub(crate) fn boot_over(own: &BootFields, parent: &BootFields) -> BootFields {
    BootFields {
        next_server: own.next_server.or(parent.next_server),
        server_hostname: own
            .server_hostname
            .clone()
            .or_else(|| parent.server_hostname.clone()),
        boot_file_name: own
            .boot_file_name
            .clone()
            .or_else(|| parent.boot_file_name.clone()),
    }
}

/// `next-server`, `server-hostname`, `boot-file-name` of one scope; an empty
/// string is Kea's "not set here".
pub(crate) fn boot_fields(obj: &Obj<'_>) -> Result<BootFields, ConfigError> {
    let bounded = |key: &str, max: usize| -> Result<Option<String>, ConfigError> {
        match obj.str(key)? {
            None | Some("") => Ok(None),
            Some(text) if text.len() > max => Err(ConfigError::invalid(
                obj.loc(key),
                obj.key(key),
                format!(
                    "at most {max} bytes fit the BOOTP field; {} given",
                    text.len()
                ),
            )),
            Some(text) => Ok(Some(text.to_string())),
        }
    };
    let next_server = obj.ipv4("next-server")?;
    if next_server.is_some_and(|ip| ip.is_broadcast()) {
        return Err(ConfigError::invalid(
            obj.loc("next-server"),
            obj.key("next-server"),
            "must not be the broadcast address",
        ));
    }
    Ok(BootFields {
        next_server,
        server_hostname: bounded("server-hostname", MAX_SNAME)?,
        boot_file_name: bounded("boot-file-name", MAX_FILE)?,
    })
}

fn percent(obj: &Obj<'_>, key: &str) -> Result<Option<f64>, ConfigError> {
    let value = obj.f64(key)?;
    match value {
        Some(p) if !(p > 0.0 && p < 1.0) => Err(ConfigError::invalid(
            obj.loc(key),
            obj.key(key),
            format!("{p} must be greater than 0.0 and less than 1.0"),
        )),
        _ => Ok(value),
    }
}

/// `valid-lifetime` with `min-`/`max-` as Kea's `parseIntTriplet` reads them.
pub(crate) fn triplet(obj: &Obj<'_>) -> Result<Option<Lifetime>, ConfigError> {
    let value = obj.u32("valid-lifetime")?;
    let min = obj.u32("min-valid-lifetime")?;
    let max = obj.u32("max-valid-lifetime")?;
    let lifetime = match (value, min, max) {
        (None, None, None) => return Ok(None),
        (Some(v), min, max) => Lifetime {
            default: v,
            min: min.unwrap_or(v),
            max: max.unwrap_or(v),
        },
        (None, Some(m), None) | (None, None, Some(m)) => Lifetime {
            default: m,
            min: m,
            max: m,
        },
        (None, Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                obj.loc("min-valid-lifetime"),
                obj.key("valid-lifetime"),
                "min-valid-lifetime and max-valid-lifetime need a valid-lifetime between them",
            ))
        }
    };
    let bad = |key: &str, why: String| Err(ConfigError::invalid(obj.loc(key), obj.key(key), why));
    if lifetime.min > lifetime.max && min.is_some() && max.is_some() {
        return bad(
            "min-valid-lifetime",
            format!(
                "{} is greater than max-valid-lifetime ({})",
                lifetime.min, lifetime.max
            ),
        );
    }
    if lifetime.default < lifetime.min {
        return bad(
            "valid-lifetime",
            format!(
                "{} is less than min-valid-lifetime ({})",
                lifetime.default, lifetime.min
            ),
        );
    }
    if lifetime.default > lifetime.max {
        return bad(
            "valid-lifetime",
            format!(
                "{} is greater than max-valid-lifetime ({})",
                lifetime.default, lifetime.max
            ),
        );
    }
    Ok(Some(lifetime))
}

type Flags = (Option<bool>, Option<bool>, Option<bool>);

/// `reservations-global`/`-in-subnet`/`-out-of-pool`, or the older
/// `reservation-mode` mapped onto them as Kea's `moveReservationMode` does.
fn reservation_flags(obj: &Obj<'_>) -> Result<Flags, ConfigError> {
    let flags = (
        obj.bool("reservations-global")?,
        obj.bool("reservations-in-subnet")?,
        obj.bool("reservations-out-of-pool")?,
    );
    let Some(mode) = obj.str("reservation-mode")? else {
        return Ok(flags);
    };
    let key = obj.key("reservation-mode");
    let at = obj.loc("reservation-mode");
    if flags != (None, None, None) {
        return Err(ConfigError::invalid(
            at,
            key,
            "cannot be used with reservations-global, reservations-in-subnet or reservations-out-of-pool",
        ));
    }
    Ok(match mode {
        "disabled" | "off" => (Some(false), Some(false), None),
        "out-of-pool" => (Some(false), Some(true), Some(true)),
        "global" => (Some(true), Some(false), None),
        "all" => (Some(false), Some(true), Some(false)),
        other => {
            return Err(ConfigError::invalid(
                at,
                key,
                format!("{other:?}: expected \"disabled\", \"out-of-pool\", \"global\" or \"all\""),
            ))
        }
    })
}

/// `relay.ip-addresses` (or the older `relay.ip-address`).
pub(crate) fn relay(
    loader: &mut super::walk::Loader,
    obj: &Obj<'_>,
) -> Result<Option<Vec<Ipv4Addr>>, ConfigError> {
    let Some(entry) = obj.get("relay") else {
        return Ok(None);
    };
    let path = obj.key("relay");
    let relay = Obj::new(&entry.value, &path)?;
    super::known_keys::check(loader, &relay, super::known_keys::RELAY)?;
    if relay.get("ip-address").is_some() && relay.get("ip-addresses").is_some() {
        return Err(ConfigError::invalid(
            relay.loc("ip-address"),
            relay.key("ip-address"),
            "ip-address and ip-addresses are mutually exclusive",
        ));
    }
    let mut addresses = Vec::new();
    if let Some(single) = relay.ipv4("ip-address")? {
        addresses.push(single);
    }
    let list_path = relay.key("ip-addresses");
    for (i, node) in relay
        .list("ip-addresses")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let at = super::walk::index(&list_path, i);
        let text = super::walk::string(node, &at)?;
        addresses.push(super::walk::ipv4(text, &node.location, &at)?);
    }
    Ok(Some(addresses))
}
