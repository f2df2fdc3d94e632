//! Client classification as Kea's Dhcpv4Exchange does it: the built-in
//! classes, two passes of the configured tests (before and after the host
//! lookup), the reservation's classes, and the classes a scope requires.
//!
//! HOT PATH: every class name the configuration can mention gets an index
//! at load; a packet's classes are a bitset over those indices plus the
//! order they were joined in (Kea walks classes in that order for options,
//! boot fields and lifetimes), both reused from packet to packet.

use std::collections::HashMap;

use crate::classify::Packet;
use crate::config::model::Config;

/// Index of the built-in class every packet is in.
pub(super) const ALL: u16 = 0;
/// Index of KNOWN: the client has a host reservation.
pub(super) const KNOWN: u16 = 1;
/// Index of UNKNOWN: it has none.
pub(super) const UNKNOWN: u16 = 2;
/// Index of DROP: the packet is dropped.
pub(super) const DROP: u16 = 3;

/// Kea's prefix for the class named after option 60.
const VENDOR_CLASS_PREFIX: &str = "VENDOR_CLASS_";

/// Every class name the configuration mentions, indexed.
#[derive(Debug, Clone, Default)]
pub(super) struct ClassTable {
    names: HashMap<String, u16>,
    /// Per index: the position of its definition in `Config::classes`.
    defs: Vec<Option<usize>>,
    /// `VENDOR_CLASS_<text>` indices by option 60 text.
    vendor: HashMap<Vec<u8>, u16>,
    /// Per configured class (by position): its index.
    of_def: Vec<u16>,
}

impl ClassTable {
    /// The table for `config`: built-ins, definitions, and every name used
    /// in guards, reservations, required lists and `member()` tests.
    pub fn new(config: &Config) -> ClassTable {
        let mut table = ClassTable::default();
        for name in ["ALL", "KNOWN", "UNKNOWN", "DROP"] {
            table.intern(name);
        }
        for (position, class) in config.classes.iter().enumerate() {
            let index = table.intern(&class.name);
            if let Some(def) = table.defs.get_mut(usize::from(index)) {
                *def = Some(position);
            }
            table.of_def.push(index);
        }
        let mut mentioned: Vec<&str> = Vec::new();
        for class in &config.classes {
            if let Some(test) = &class.test {
                mentioned.extend(test.members());
            }
        }
        let reservations = config
            .reservations
            .iter()
            .chain(config.subnets.iter().flat_map(|s| s.reservations.iter()));
        for reservation in reservations {
            mentioned.extend(reservation.client_classes.iter().map(String::as_str));
        }
        for subnet in &config.subnets {
            mentioned.extend(subnet.client_class.as_deref());
            mentioned.extend(subnet.require_client_classes.iter().map(String::as_str));
            for pool in &subnet.pools {
                mentioned.extend(pool.client_class.as_deref());
                mentioned.extend(pool.require_client_classes.iter().map(String::as_str));
            }
        }
        for network in &config.shared_networks {
            mentioned.extend(network.client_class.as_deref());
            mentioned.extend(network.require_client_classes.iter().map(String::as_str));
        }
        for name in mentioned {
            table.intern(name);
        }
        table
    }

    fn intern(&mut self, name: &str) -> u16 {
        if let Some(&index) = self.names.get(name) {
            return index;
        }
        let index = u16::try_from(self.defs.len()).unwrap_or(u16::MAX);
        self.names.insert(name.to_string(), index);
        self.defs.push(None);
        if let Some(text) = name.strip_prefix(VENDOR_CLASS_PREFIX) {
            self.vendor.insert(text.as_bytes().to_vec(), index);
        }
        index
    }

    /// The index of class `name`.
    pub fn index(&self, name: &str) -> Option<u16> {
        self.names.get(name).copied()
    }

    /// The indices of `names` (names not in the table are left out).
    pub fn indices(&self, names: &[String]) -> Vec<u16> {
        names.iter().filter_map(|n| self.index(n)).collect()
    }

    /// How many indices there are.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// The definition behind `index`, as a position in `Config::classes`.
    pub fn def(&self, index: u16) -> Option<usize> {
        self.defs.get(usize::from(index)).copied().flatten()
    }

    /// The index of configured class `position`.
    pub fn of_def(&self, position: usize) -> Option<u16> {
        self.of_def.get(position).copied()
    }
}

/// A packet's classes: membership bits and the order they were joined in.
#[derive(Debug, Clone, Default)]
pub(super) struct ClassSet {
    bits: Vec<u64>,
    order: Vec<u16>,
}

impl ClassSet {
    /// Empties the set for a table of `len` classes (keeps its buffers).
    pub fn reset(&mut self, len: usize) {
        self.bits.clear();
        self.bits.resize(len.div_ceil(64), 0);
        self.order.clear();
    }

    /// Joins class `index` (a no-op when already a member).
    pub fn insert(&mut self, index: u16) {
        let (word, bit) = (usize::from(index) / 64, 1u64 << (index % 64));
        if let Some(w) = self.bits.get_mut(word) {
            if *w & bit == 0 {
                *w |= bit;
                self.order.push(index);
            }
        }
    }

    /// Whether class `index` is joined.
    pub fn contains(&self, index: u16) -> bool {
        let (word, bit) = (usize::from(index) / 64, 1u64 << (index % 64));
        self.bits.get(word).is_some_and(|w| w & bit != 0)
    }

    /// Whether a client in this set passes `guard` (none: everyone does).
    pub fn allows(&self, guard: Option<u16>) -> bool {
        guard.is_none_or(|g| self.contains(g))
    }

    /// The classes in the order they were joined.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.order.iter().copied()
    }

    /// Leaves the classes `drop` names.
    fn remove_where(&mut self, drop: impl Fn(u16) -> bool) {
        let bits = &mut self.bits;
        self.order.retain(|&index| {
            if !drop(index) {
                return true;
            }
            if let Some(w) = bits.get_mut(usize::from(index) / 64) {
                *w &= !(1u64 << (index % 64));
            }
            false
        });
    }
}

/// Classifies packets for one configuration.
pub(super) struct Classifier<'c> {
    pub config: &'c Config,
    pub table: &'c ClassTable,
}

impl Classifier<'_> {
    /// Kea's classifyPacket: ALL, a class set before (HA's), `VENDOR_CLASS_<option 60>`, then the
    /// tests that need no host lookup.
    pub fn first_pass(
        &self,
        set: &mut ClassSet,
        packet: &Packet<'_>,
        vendor: Option<&[u8]>,
        injected: Option<u16>,
    ) {
        set.reset(self.table.len());
        set.insert(ALL);
        if let Some(index) = injected {
            set.insert(index);
        }
        if let Some(index) = vendor.and_then(|v| self.table.vendor.get(v)) {
            set.insert(*index);
        }
        self.evaluate(set, packet, false);
    }

    /// Evaluates the configured tests of one pass (Kea's evaluateClasses):
    /// classes that depend on KNOWN/UNKNOWN in the second, the others in the
    /// first; classes evaluated only when required are skipped.
    pub fn evaluate(&self, set: &mut ClassSet, packet: &Packet<'_>, depends_on_known: bool) {
        for (position, class) in self.config.classes.iter().enumerate() {
            let Some(test) = &class.test else { continue };
            if class.only_if_required || class.depends_on_known != depends_on_known {
                continue;
            }
            let Some(index) = self.table.of_def(position) else {
                continue;
            };
            if self.test(test, set, packet) {
                set.insert(index);
            }
        }
    }

    fn test(
        &self,
        test: &crate::classify::Expression,
        set: &ClassSet,
        packet: &Packet<'_>,
    ) -> bool {
        let member = |name: &str| self.table.index(name).is_some_and(|i| set.contains(i));
        test.matches(packet, &member)
    }

    /// The host's classes join; when they can change the first pass's
    /// results (Kea: a global host, or a host outside a shared network),
    /// the evaluated classes are dropped and the first pass runs again.
    pub fn reserved(
        &self,
        set: &mut ClassSet,
        packet: &Packet<'_>,
        classes: &[String],
        reevaluate: bool,
    ) {
        if reevaluate {
            let config = self.config;
            let table = self.table;
            set.remove_where(|index| {
                table
                    .def(index)
                    .and_then(|p| config.classes.get(p))
                    .is_some_and(|c| c.test.is_some())
            });
        }
        for name in classes {
            if let Some(index) = self.table.index(name) {
                set.insert(index);
            }
        }
        if reevaluate {
            self.evaluate(set, packet, false);
        }
    }

    /// Kea's requiredClassify: the classes the shared network, the subnet
    /// and the pool require, in that order, each evaluated when it has a
    /// test (Kea 2.2 skips a required class without one).
    pub fn required(&self, set: &mut ClassSet, packet: &Packet<'_>, lists: &[&[u16]]) {
        for (n, list) in lists.iter().enumerate() {
            for (k, &index) in list.iter().enumerate() {
                let seen_before = lists.iter().take(n).any(|l| l.contains(&index))
                    || list.iter().take(k).any(|&i| i == index);
                if seen_before {
                    continue;
                }
                let Some(class) = self
                    .table
                    .def(index)
                    .and_then(|p| self.config.classes.get(p))
                else {
                    continue;
                };
                let Some(test) = &class.test else { continue };
                if self.test(test, set, packet) {
                    set.insert(index);
                }
            }
        }
    }
}
