//! Encapsulation within one scope (Kea's `CfgOption::encapsulate`): each
//! `dhcp4` option whose definition encapsulates a space receives that
//! scope's options of the space as sub-options, recursively.
//!
//! Option 125 is different in Kea: `CfgOption::encapsulate` leaves it alone
//! and the server (`Dhcpv4Srv::appendRequestedVendorOptions`) adds, per
//! packet, the `vendor-<enterprise id>` options that are `always-send` or
//! that the client asked for in its own option 125 (the DOCSIS ORO,
//! sub-option 1 of enterprise 4491). Here the carrier gets the same scope's
//! `always-send` vendor options, which is what Kea sends when the client
//! asks for nothing inside option 125; [`OptionDefs::vendor_options`] gives
//! the server the rest.

use super::encode::{fixed_part, parse_suboptions, push_suboption};
use super::special::{fold_vendor_suboptions, VIVSO};
use super::{ConfiguredOption, OptionDefs, SpacedOption, VendorOption, DHCP4_SPACE};

/// How deep sub-options may nest; Kea has no bound and recurses forever on
/// two spaces that encapsulate each other.
const MAX_DEPTH: usize = 8;

impl OptionDefs {
    /// See [`OptionDefs::encapsulate`].
    pub(super) fn fold(&self, options: &[SpacedOption]) -> Vec<ConfiguredOption> {
        options
            .iter()
            .filter(|o| o.space == DHCP4_SPACE)
            .map(|carrier| {
                let mut option = carrier.option.clone();
                if option.code == VIVSO {
                    if let Some(id) = option
                        .data
                        .get(..4)
                        .and_then(|id| <[u8; 4]>::try_from(id).ok())
                    {
                        let space = format!("vendor-{}", u32::from_be_bytes(id));
                        let persistent: Vec<SpacedOption> = options
                            .iter()
                            .filter(|o| o.space == space && o.option.always_send)
                            .cloned()
                            .collect();
                        let subs = self.members(&persistent, &space, 1);
                        fold_vendor_suboptions(&mut option.data, subs);
                    }
                } else {
                    option.data =
                        self.with_members(options, DHCP4_SPACE, option.code, option.data, 0);
                }
                option
            })
            .collect()
    }

    /// `data` of option `code` in `space` with the sub-options its definition's
    /// encapsulated space has in this scope merged in: those already in the
    /// data first, then the scope's by order written, one per code, all
    /// written sorted by code (Kea's multimap of sub-options).
    fn with_members(
        &self,
        options: &[SpacedOption],
        space: &str,
        code: u8,
        data: Vec<u8>,
        depth: usize,
    ) -> Vec<u8> {
        let Some(def) = self.by_code(space, code) else {
            return data;
        };
        let Some(inner) = def.encapsulate.as_deref() else {
            return data;
        };
        if inner == DHCP4_SPACE || depth >= MAX_DEPTH {
            return data;
        }
        let Some(fixed) = fixed_part(def, &data) else {
            return data;
        };
        let mut subs = parse_suboptions(data.get(fixed..).unwrap_or_default());
        for (sub_code, sub_data) in self.members(options, inner, depth + 1) {
            if !subs.iter().any(|(c, _)| *c == sub_code) {
                subs.push((sub_code, sub_data));
            }
        }
        subs.sort_by_key(|(c, _)| *c);
        let mut out = data;
        out.truncate(fixed);
        for (sub_code, sub_data) in &subs {
            push_suboption(&mut out, *sub_code, sub_data);
        }
        out
    }

    /// The scope's options of `space`, first per code, each with its own
    /// sub-options folded in.
    fn members(&self, options: &[SpacedOption], space: &str, depth: usize) -> Vec<(u8, Vec<u8>)> {
        let mut out: Vec<(u8, Vec<u8>)> = Vec::new();
        for member in options.iter().filter(|o| o.space == space) {
            let code = member.option.code;
            if out.iter().any(|(c, _)| *c == code) {
                continue;
            }
            let data = self.with_members(options, space, code, member.option.data.clone(), depth);
            out.push((code, data));
        }
        out
    }

    /// See [`OptionDefs::vendor_options`].
    pub(super) fn vendor_members(&self, options: &[SpacedOption]) -> Vec<VendorOption> {
        options
            .iter()
            .filter_map(|o| {
                let enterprise = vendor_id(&o.space)?;
                Some(VendorOption {
                    enterprise,
                    option: o.option.clone(),
                })
            })
            .collect()
    }
}

/// The enterprise id of a `vendor-<n>` space (Kea's
/// `LibDHCP::optionSpaceToVendorId`).
pub(super) fn vendor_id(space: &str) -> Option<u32> {
    let digits = space.strip_prefix("vendor-")?;
    let value = digits.parse::<i64>().ok()?;
    u32::try_from(value).ok().filter(|v| *v > 0)
}
