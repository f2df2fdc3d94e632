//! `subnet4` entries (top-level or in a shared network) and their pools.
//! Subnets without `id` are numbered afterwards, see [`number`].

use std::collections::HashMap;
use std::net::Ipv4Addr;

use common::config::{ConfigError, Location};

use super::known_keys::{self, unsupported, Scope, POOL};
use super::model::{Pool, Subnet};
use super::network::{relay, NetworkParams};
use super::options::option_data;
use super::reservations::reservations;
use super::walk::{index, ipv4, Loader, Obj};
use crate::options::OptionDefs;

/// What a subnet takes from the scope around it.
pub(crate) struct Parent<'a> {
    /// Resolved parameters of the scope around (global, or global + shared network).
    pub params: &'a NetworkParams,
    /// The shared network's index, when in one.
    pub shared: Option<usize>,
    /// The shared network's relay addresses.
    pub relay: Option<&'a [Ipv4Addr]>,
    /// The shared network's interface.
    pub interface: Option<&'a str>,
    /// The shared network's class guard.
    pub client_class: Option<&'a str>,
}

/// A subnet as read, before numbering.
pub(crate) struct ReadSubnet {
    /// The subnet; `id` is 0 when none was written.
    pub subnet: Subnet,
    /// Where the entry starts.
    pub location: Location,
    /// Its key path.
    pub path: String,
}

/// Whether `ip` lies in `network/len`.
pub(crate) fn contains(network: Ipv4Addr, len: u8, ip: Ipv4Addr) -> bool {
    let (first, last) = range(network, len);
    (first..=last).contains(&u32::from(ip))
}

/// The first and last address of `network/len` as integers.
fn range(network: Ipv4Addr, len: u8) -> (u32, u32) {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0);
    let first = u32::from(network) & mask;
    (first, first | !mask)
}

/// `a.b.c.d/len`.
fn prefix(text: &str, at: &Location, path: &str) -> Result<(Ipv4Addr, u8), ConfigError> {
    let bad = || {
        ConfigError::invalid(
            at,
            path,
            format!("{text:?}: expected a prefix such as 192.0.2.0/24"),
        )
    };
    let (addr, len) = text.trim().split_once('/').ok_or_else(bad)?;
    let addr = ipv4(addr, at, path)?;
    let len: u8 = len
        .trim()
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(bad)?;
    Ok((addr, len))
}

/// The class guard: Kea 2's `client-class`, or Kea 3's `client-classes` list
/// of one (subnets, shared networks, pools).
pub(crate) fn class_guard(obj: &Obj<'_>) -> Result<Option<String>, ConfigError> {
    let mut classes = obj.strings("client-classes")?;
    if let Some(one) = obj.str("client-class")?.filter(|c| !c.is_empty()) {
        classes.insert(0, one.to_string());
    }
    match classes.len() {
        0 | 1 => Ok(classes.pop()),
        _ => Err(unsupported(
            obj.loc("client-classes"),
            obj.key("client-classes"),
            "more than one class guarding one scope (Kea 3 client-classes)",
        )),
    }
}

/// `require-client-classes` and Kea 3's `evaluate-additional-classes`.
pub(crate) fn required_classes(obj: &Obj<'_>) -> Result<Vec<String>, ConfigError> {
    let mut classes = obj.strings("require-client-classes")?;
    classes.extend(obj.strings("evaluate-additional-classes")?);
    Ok(classes)
}

/// Reads one `subnet4` entry.
pub(crate) fn subnet(
    loader: &mut Loader,
    defs: &OptionDefs,
    node: &super::json::Node,
    path: String,
    parent: &Parent<'_>,
) -> Result<ReadSubnet, ConfigError> {
    let obj = Obj::new(node, &path)?;
    known_keys::check_network(loader, &obj, Scope::Subnet)?;
    let (written, prefix_len) = prefix(
        obj.required_str("subnet")?,
        obj.loc("subnet"),
        &obj.key("subnet"),
    )?;
    let network = Ipv4Addr::from(range(written, prefix_len).0);
    if network != written {
        loader.warn(
            obj.loc("subnet"),
            &obj.key("subnet"),
            format!("host bits set: the subnet is {network}/{prefix_len}"),
        );
    }
    let params = NetworkParams::parse(&obj)?.over(parent.params);
    let interface = obj.str("interface")?.filter(|i| !i.is_empty());
    if let (Some(own), Some(net)) = (interface, parent.interface) {
        if own != net {
            return Err(ConfigError::invalid(
                obj.loc("interface"),
                obj.key("interface"),
                format!("{own:?} differs from its shared network's interface {net:?}"),
            ));
        }
    }
    let (options, vendor_options) = option_data(loader, defs, &obj)?;
    let subnet = Subnet {
        id: obj.u32("id")?.unwrap_or(0),
        network,
        prefix_len,
        pools: pools(loader, defs, &obj, network, prefix_len)?,
        options,
        vendor_options,
        reservations: reservations(loader, defs, &obj, Some((network, prefix_len)))?,
        shared_network: parent.shared,
        relay_addresses: relay(loader, &obj)?
            .or_else(|| parent.relay.map(<[Ipv4Addr]>::to_vec))
            .unwrap_or_default(),
        interface: interface.or(parent.interface).map(str::to_string),
        client_class: class_guard(&obj)?.or_else(|| parent.client_class.map(str::to_string)),
        require_client_classes: required_classes(&obj)?,
        lifetime: params.resolved_lifetime(),
        timers: params.timers(),
        match_client_id: params.match_client_id.unwrap_or(true),
        authoritative: params.authoritative.unwrap_or(false),
        reservation_modes: params.reservation_modes(),
        boot: params.boot.clone(),
    };
    Ok(ReadSubnet {
        subnet,
        location: node.location.clone(),
        path,
    })
}

fn pools(
    loader: &mut Loader,
    defs: &OptionDefs,
    subnet: &Obj<'_>,
    network: Ipv4Addr,
    len: u8,
) -> Result<Vec<Pool>, ConfigError> {
    let path = subnet.key("pools");
    let mut pools: Vec<Pool> = Vec::new();
    for (i, node) in subnet.list("pools")?.unwrap_or_default().iter().enumerate() {
        let at = index(&path, i);
        let obj = Obj::new(node, &at)?;
        known_keys::check(loader, &obj, POOL)?;
        let key = obj.key("pool");
        let (first, last) = pool_range(obj.required_str("pool")?, obj.loc("pool"), &key)?;
        if !contains(network, len, first) || !contains(network, len, last) {
            return Err(ConfigError::invalid(
                obj.loc("pool"),
                key,
                format!("{first} - {last} is not within the subnet {network}/{len}"),
            ));
        }
        if let Some(other) = pools
            .iter()
            .position(|p| p.first <= last && first <= p.last)
        {
            return Err(ConfigError::invalid(
                obj.loc("pool"),
                key,
                format!("{first} - {last} overlaps {}", index(&path, other)),
            ));
        }
        let (options, vendor_options) = option_data(loader, defs, &obj)?;
        pools.push(Pool {
            first,
            last,
            options,
            vendor_options,
            client_class: class_guard(&obj)?,
            require_client_classes: required_classes(&obj)?,
        });
    }
    Ok(pools)
}

/// `a - b` or `net/len`.
fn pool_range(text: &str, at: &Location, path: &str) -> Result<(Ipv4Addr, Ipv4Addr), ConfigError> {
    if text.contains('/') {
        let (net, len) = prefix(text, at, path)?;
        let (first, last) = range(net, len);
        return Ok((Ipv4Addr::from(first), Ipv4Addr::from(last)));
    }
    let (a, b) = text.split_once('-').ok_or_else(|| {
        ConfigError::invalid(
            at,
            path,
            format!("{text:?}: expected first - last or prefix/len"),
        )
    })?;
    let (first, last) = (ipv4(a, at, path)?, ipv4(b, at, path)?);
    if first > last {
        return Err(ConfigError::invalid(
            at,
            path,
            format!("{first} is after {last}"),
        ));
    }
    Ok((first, last))
}

/// Gives id-less subnets the ids Kea 2.2 to 2.4 gave them (a counter from 1
/// over id-less subnets in the order read: shared networks' first, then
/// `subnet4`; written ids do not move it), warning that the operator should
/// pin them; refuses duplicate ids and duplicate prefixes as Kea does.
pub(crate) fn number(
    loader: &mut Loader,
    read: Vec<ReadSubnet>,
) -> Result<Vec<Subnet>, ConfigError> {
    let mut next = 1u32;
    let mut ids: HashMap<u32, (usize, bool)> = HashMap::new();
    let mut prefixes: HashMap<(Ipv4Addr, u8), usize> = HashMap::new();
    let mut out: Vec<Subnet> = Vec::with_capacity(read.len());
    for (i, mut entry) in read.into_iter().enumerate() {
        let numbered = entry.subnet.id == 0;
        if numbered {
            entry.subnet.id = next;
            next = next.checked_add(1).unwrap_or(1);
            loader.warn(
                &entry.location,
                &entry.path,
                format!(
                    "no \"id\": numbered {} as Kea 2.2-2.4 number subnets; write \"id\": {} here, since leases refer to subnets by id and other Kea versions number differently",
                    entry.subnet.id, entry.subnet.id
                ),
            );
        }
        let id = entry.subnet.id;
        let key = format!("{}.id", entry.path);
        if let Some((other, other_numbered)) = ids.insert(id, (i, numbered)) {
            let how = |n: bool| if n { "numbered" } else { "written" };
            return Err(ConfigError::invalid(
                &entry.location,
                key,
                format!(
                    "duplicate subnet id {id} ({} here, {} for subnet {}/{}); give every subnet its own \"id\"",
                    how(numbered),
                    how(other_numbered),
                    out.get(other).map_or(Ipv4Addr::UNSPECIFIED, |s| s.network),
                    out.get(other).map_or(0, |s| s.prefix_len),
                ),
            ));
        }
        if prefixes
            .insert((entry.subnet.network, entry.subnet.prefix_len), i)
            .is_some()
        {
            return Err(ConfigError::invalid(
                &entry.location,
                format!("{}.subnet", entry.path),
                format!(
                    "{}/{} is defined twice",
                    entry.subnet.network, entry.subnet.prefix_len
                ),
            ));
        }
        out.push(entry.subnet);
    }
    Ok(out)
}
