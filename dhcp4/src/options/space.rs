//! Encapsulation within one scope (Kea's `CfgOption::encapsulate`): each
//! `dhcp4` option whose definition encapsulates a space receives that
//! scope's options of the space as sub-options, recursively; option 125
//! receives the options of `vendor-<enterprise id>` as Kea's `OptionVendor`
//! packs them.

use super::encode::{fixed_part, fold_vendor_suboptions, parse_suboptions, push_suboption, VIVSO};
use super::{ConfiguredOption, OptionDefs, SpacedOption, DHCP4_SPACE};

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
                        let subs = self.members(options, &space, 1);
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
}
