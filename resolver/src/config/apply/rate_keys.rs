//! The `ratelimit*` and `ip-ratelimit*` keys (values as Unbound's parser
//! takes them: numbers, memory sizes, yes/no, slabs a power of 2).

use common::config::ConfigError;
use hickory_proto::rr::Name;

use super::{invalid, name_of, size_of, two, u32_of, usize_of, yes_no, Builder};
use crate::config::unbound::Directive;
use crate::ratelimit::{IpLimitConfig, TableConfig, ZoneLimitConfig};

fn zone(b: &mut Builder) -> &mut ZoneLimitConfig {
    &mut b.server().ratelimit
}

fn ip(b: &mut Builder) -> &mut IpLimitConfig {
    &mut b.server().ip_ratelimit
}

/// `*-slabs`: a power of 2 ("must be a power of 2" in Unbound).
fn slabs_of(d: &Directive) -> Result<usize, ConfigError> {
    let slabs = usize_of(d)?;
    if slabs == 0 || !slabs.is_power_of_two() {
        return Err(invalid(d, "must be a power of 2"));
    }
    Ok(slabs)
}

/// `NAME N` of ratelimit-for-domain / -below-domain; a later line for the
/// same name replaces the earlier one (Unbound's find-or-create).
fn domain_limit(d: &Directive, list: &mut Vec<(Name, u32)>) -> Result<(), ConfigError> {
    let (domain, qps) = two(d)?;
    let name = name_of(d, domain)?;
    let qps = common::config::value::parse_u32(qps).map_err(|e| invalid(d, e))?;
    list.retain(|(known, _)| *known != name);
    list.push((name, qps));
    Ok(())
}

fn table_size(table: &mut TableConfig, d: &Directive) -> Result<(), ConfigError> {
    table.size = size_of(d)?;
    Ok(())
}

pub(super) fn ratelimit(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    zone(b).qps = u32_of(d)?;
    Ok(())
}

pub(super) fn ratelimit_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    table_size(&mut zone(b).table, d)
}

pub(super) fn ratelimit_slabs(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    zone(b).table.slabs = Some(slabs_of(d)?);
    Ok(())
}

pub(super) fn ratelimit_for_domain(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    domain_limit(d, &mut zone(b).for_domain)
}

pub(super) fn ratelimit_below_domain(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    domain_limit(d, &mut zone(b).below_domain)
}

pub(super) fn ratelimit_factor(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    zone(b).factor = u32_of(d)?;
    Ok(())
}

pub(super) fn ratelimit_backoff(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    zone(b).backoff = yes_no(d)?;
    Ok(())
}

pub(super) fn ip_ratelimit(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    ip(b).qps = u32_of(d)?;
    Ok(())
}

pub(super) fn ip_ratelimit_cookie(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    ip(b).cookie_qps = u32_of(d)?;
    Ok(())
}

pub(super) fn ip_ratelimit_size(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    table_size(&mut ip(b).table, d)
}

pub(super) fn ip_ratelimit_slabs(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    ip(b).table.slabs = Some(slabs_of(d)?);
    Ok(())
}

pub(super) fn ip_ratelimit_factor(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    ip(b).factor = u32_of(d)?;
    Ok(())
}

pub(super) fn ip_ratelimit_backoff(b: &mut Builder, d: &Directive) -> Result<(), ConfigError> {
    ip(b).backoff = yes_no(d)?;
    Ok(())
}
