//! Choosing a backend for a query among those that are up.
//!
//! HOT PATH: called once per query (twice on a retry); no allocation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rand::Rng;

use crate::backend::Backend;
use crate::config::Policy;
use crate::wire::name_hash;

/// Points per unit of weight on the consistent-hash ring (dnsdist uses 1000
/// per weight; 100 spreads names within a few percent at a tenth of the memory).
const POINTS_PER_WEIGHT: u32 = 100;

/// The backends with what each policy needs precomputed.
pub struct Selector {
    policy: Policy,
    backends: Vec<Arc<Backend>>,
    /// (point, backend index), sorted by point: the consistent-hash ring.
    ring: Vec<(u64, usize)>,
    total_weight: u64,
    turn: AtomicUsize,
}

impl Selector {
    /// A selector over `backends` (in config order) for `policy`.
    pub fn new(policy: Policy, backends: Vec<Arc<Backend>>) -> Selector {
        let mut ring = Vec::new();
        if policy == Policy::ConsistentHash {
            for (i, b) in backends.iter().enumerate() {
                for k in 0..b.config.weight.saturating_mul(POINTS_PER_WEIGHT) {
                    let point = name_hash(format!("{}-{k}", b.config.name).as_bytes());
                    ring.push((point, i));
                }
            }
            ring.sort_unstable();
        }
        let total_weight = backends.iter().map(|b| u64::from(b.config.weight)).sum();
        Selector {
            policy,
            backends,
            ring,
            total_weight,
            turn: AtomicUsize::new(0),
        }
    }

    /// Every backend, up or down.
    pub fn backends(&self) -> &[Arc<Backend>] {
        &self.backends
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// A backend that is up for the query named `qname_wire`, other than
    /// `exclude` (the one that just timed out), or `None` when none is.
    pub fn choose(
        &self,
        qname_wire: &[u8],
        exclude: Option<&Arc<Backend>>,
    ) -> Option<&Arc<Backend>> {
        let eligible = |b: &&Arc<Backend>| b.is_up() && exclude.is_none_or(|x| !Arc::ptr_eq(x, b));
        match self.policy {
            Policy::LeastOutstanding => self
                .backends
                .iter()
                .filter(eligible)
                .min_by_key(|b| (b.outstanding(), b.config.order, b.latency_us())),
            Policy::FirstAvailable => self
                .backends
                .iter()
                .filter(eligible)
                .min_by_key(|b| b.config.order),
            Policy::RoundRobin => {
                let n = self.backends.len();
                let start = self.turn.fetch_add(1, Ordering::Relaxed);
                (0..n)
                    .map(|k| &self.backends[(start + k) % n])
                    .find(|b| eligible(b))
            }
            Policy::WeightedRandom => {
                let up_weight: u64 = self
                    .backends
                    .iter()
                    .filter(eligible)
                    .map(|b| u64::from(b.config.weight))
                    .sum();
                if up_weight == 0 || self.total_weight == 0 {
                    return None;
                }
                let mut pick = rand::rng().random_range(0..up_weight);
                self.backends.iter().filter(eligible).find(|b| {
                    let w = u64::from(b.config.weight);
                    if pick < w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
            }
            Policy::ConsistentHash => {
                if self.ring.is_empty() {
                    return None;
                }
                let h = name_hash(qname_wire);
                let start = self.ring.partition_point(|&(point, _)| point < h);
                (0..self.ring.len())
                    .map(|k| &self.backends[self.ring[(start + k) % self.ring.len()].1])
                    .find(|b| eligible(b))
            }
        }
    }
}
