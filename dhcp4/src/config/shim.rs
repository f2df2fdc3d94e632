//! TEMPORARY: `load_file` / `load_str` over today's parser, converting its
//! `Config` into [`model::Config`] until the model loader lands (the
//! integrator deletes this file at merge).

use std::path::Path;

use common::config::{ConfigError, ConfigErrorKind, ConfigWarning, Location};

use super::model::{
    self, BootFields, Identifier, IdentifierType, Lifetime, ReservationModes, SocketType, Timers,
};
use crate::options::{ConfiguredOption, OptionDefs};

/// Loads the configuration at `path` into the model.
pub fn load_file(path: &Path) -> Result<(model::Config, Vec<ConfigWarning>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    load_str(&text, path)
}

/// Parses configuration text into the model; `path` names it in errors.
pub fn load_str(
    text: &str,
    path: &Path,
) -> Result<(model::Config, Vec<ConfigWarning>), ConfigError> {
    let (legacy, warnings) = super::parse(text, path).map_err(|e| convert_error(e, path))?;
    let warnings = warnings
        .into_iter()
        .map(|message| ConfigWarning {
            location: Location::new(path, 0),
            key: String::new(),
            message,
        })
        .collect();
    Ok((convert(legacy), warnings))
}

fn convert_error(error: super::ConfigError, path: &Path) -> ConfigError {
    match error {
        super::ConfigError::Io { source, .. } => ConfigError::io(path, source),
        super::ConfigError::Syntax { line, message, .. } => ConfigError::at(
            &Location::new(path, u32::try_from(line).unwrap_or(u32::MAX)),
            "",
            ConfigErrorKind::Syntax(message),
        ),
        super::ConfigError::Key { key, message, .. } => ConfigError {
            location: Some(Location::new(path, 0)),
            key,
            kind: ConfigErrorKind::Invalid(message),
        },
    }
}

fn options(options: &[super::OptionData]) -> Vec<ConfiguredOption> {
    options
        .iter()
        .map(|o| ConfiguredOption {
            code: o.code,
            data: o.data.clone(),
            always_send: false,
            never_send: false,
        })
        .collect()
}

fn convert(legacy: super::Config) -> model::Config {
    let subnets = legacy
        .subnets
        .iter()
        .map(|s| {
            let reservations = s
                .reservations
                .iter()
                .flat_map(|r| {
                    let ids = [
                        (IdentifierType::HwAddress, r.hw_address.clone()),
                        (IdentifierType::ClientId, r.client_id.clone()),
                    ];
                    ids.into_iter().filter_map(move |(kind, value)| {
                        Some(model::Reservation {
                            identifier: Identifier {
                                kind,
                                value: value?,
                            },
                            ip_address: Some(r.ip_address),
                            hostname: r.hostname.clone(),
                            options: Vec::new(),
                            vendor_options: Vec::new(),
                            client_classes: Vec::new(),
                            boot: BootFields::default(),
                        })
                    })
                })
                .collect();
            model::Subnet {
                id: s.id,
                network: s.network,
                prefix_len: s.prefix_len,
                pools: s
                    .pools
                    .iter()
                    .map(|&(first, last)| model::Pool {
                        first,
                        last,
                        options: Vec::new(),
                        vendor_options: Vec::new(),
                        client_class: None,
                        require_client_classes: Vec::new(),
                    })
                    .collect(),
                options: options(&s.options),
                vendor_options: Vec::new(),
                reservations,
                shared_network: None,
                relay_addresses: s.relay_addresses.clone(),
                interface: s.interface.clone(),
                client_class: None,
                require_client_classes: Vec::new(),
                lifetime: Lifetime {
                    default: s.valid_lifetime,
                    min: s.valid_lifetime,
                    max: s.valid_lifetime,
                },
                timers: Timers {
                    renew: s.renew_timer,
                    rebind: s.rebind_timer,
                    calculate: false,
                    t1_percent: 0.5,
                    t2_percent: 0.875,
                },
                match_client_id: s.match_client_id,
                authoritative: s.authoritative,
                reservation_modes: ReservationModes {
                    global: false,
                    in_subnet: true,
                    out_of_pool: false,
                },
                boot: BootFields::default(),
            }
        })
        .collect();
    model::Config {
        interfaces: legacy.interfaces,
        socket_type: if legacy.dhcp_socket_type == "udp" {
            SocketType::Udp
        } else {
            SocketType::Raw
        },
        lease_file: legacy.lease_file,
        persist: legacy.persist,
        lfc_interval: legacy.lfc_interval,
        reclaim_timer_wait_time: legacy.reclaim_timer_wait_time,
        hold_reclaimed_time: legacy.hold_reclaimed_time,
        decline_probation_period: legacy.decline_probation_period,
        echo_client_id: true,
        host_identifiers: vec![
            IdentifierType::HwAddress,
            IdentifierType::Duid,
            IdentifierType::CircuitId,
            IdentifierType::ClientId,
        ],
        option_defs: OptionDefs::default(),
        options: options(&legacy.options),
        vendor_options: Vec::new(),
        classes: Vec::new(),
        reservations: Vec::new(),
        shared_networks: Vec::new(),
        subnets,
        boot: BootFields::default(),
    }
}
