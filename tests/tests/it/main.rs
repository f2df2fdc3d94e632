//! Process-level integration tests of the e2e crate (modules only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dataplane_dhcp;
mod dataplane_faults;
mod dataplane_queries;
mod dataplane_scaling;
mod dataplane_support;
mod dhcp4_clients;
mod dhcp4_kea_basics;
mod dhcp4_kea_classes;
mod dhcp4_kea_reservations;
mod dhcp4_relay_and_durability;
mod dhcp4_support;
mod fake_dns_selftest;
mod lb;
mod resolver_cache;
mod resolver_cachedb;
mod resolver_config_compat;
mod resolver_dnssec;
mod resolver_dnssec_validation;
mod resolver_hardening;
mod resolver_interface_automatic;
mod resolver_iteration;
mod resolver_local_and_access;
mod resolver_private_address;
mod resolver_process;
mod resolver_support;
