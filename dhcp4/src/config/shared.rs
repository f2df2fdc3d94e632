//! `shared-networks`: subnets on one link, each inheriting what its network
//! writes over what `Dhcp4` writes.

use common::config::ConfigError;

use super::known_keys::{self, Scope};
use super::model::SharedNetwork;
use super::network::{relay, NetworkParams};
use super::options::option_data;
use super::subnets::{class_guard, required_classes, subnet, Parent, ReadSubnet};
use super::walk::{index, Loader, Obj};
use crate::options::OptionDefs;

/// Reads `Dhcp4.shared-networks`; their subnets are appended to `subnets`.
pub(crate) fn shared_networks(
    loader: &mut Loader,
    defs: &OptionDefs,
    dhcp4: &Obj<'_>,
    global: &NetworkParams,
    subnets: &mut Vec<ReadSubnet>,
) -> Result<Vec<SharedNetwork>, ConfigError> {
    let path = dhcp4.key("shared-networks");
    let mut networks: Vec<SharedNetwork> = Vec::new();
    for (i, node) in dhcp4
        .list("shared-networks")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let at = index(&path, i);
        let obj = Obj::new(node, &at)?;
        known_keys::check_network(loader, &obj, Scope::Shared)?;
        let name = obj.required_str("name")?.to_string();
        if networks.iter().any(|n| n.name == name) {
            return Err(ConfigError::invalid(
                obj.loc("name"),
                obj.key("name"),
                format!("a shared network named {name:?} is already defined"),
            ));
        }
        let params = NetworkParams::parse(&obj)?.over(global);
        let relay = relay(loader, &obj)?;
        let client_class = class_guard(&obj)?;
        let parent = Parent {
            params: &params,
            shared: Some(networks.len()),
            relay: relay.as_deref(),
            interface: obj.str("interface")?.filter(|i| !i.is_empty()),
            client_class: client_class.as_deref(),
        };
        let list = obj.key("subnet4");
        for (j, node) in obj.list("subnet4")?.unwrap_or_default().iter().enumerate() {
            subnets.push(subnet(loader, defs, node, index(&list, j), &parent)?);
        }
        let (options, vendor_options) = option_data(loader, defs, &obj)?;
        networks.push(SharedNetwork {
            name,
            options,
            vendor_options,
            require_client_classes: required_classes(&obj)?,
            client_class,
        });
    }
    Ok(networks)
}
