//! CoreDNS's metric names and labels in node-local mode (node-local-dns is
//! CoreDNS, and the node-local dashboards and alerts read these), beside the
//! lb's own `dnsdist_*` series:
//!
//! - `coredns_dns_requests_total{server, zone, view, proto, family, type}`,
//!   `coredns_dns_responses_total{server, zone, view, rcode, plugin}`,
//!   `coredns_dns_request_duration_seconds{server, zone, view, type}`;
//! - `coredns_cache_hits_total{server, type, zones, view}` (`success` or
//!   `denial`), `coredns_cache_misses_total{server, zones, view}`,
//!   `coredns_cache_requests_total{server, zones, view}`,
//!   `coredns_cache_entries{server, type, zones, view}`,
//!   `coredns_cache_evictions_total{server, type, zones, view}`,
//!   `coredns_cache_prefetch_total{server, zones, view}`,
//!   `coredns_cache_served_stale_total{server, zones, view}`;
//! - per upstream, `coredns_forward_requests_total{to}`,
//!   `coredns_forward_responses_total{rcode, to}` and
//!   `coredns_forward_request_duration_seconds{to, rcode}`.
//!
//! The zone is the server block node-local-dns' Corefile would have answered
//! in: the cluster domain, a reverse zone, or `.`; the type and the rcode
//! are CoreDNS's spellings, uncommon types as `other`. Series are made on
//! first use, so a scrape shows what happened, as CoreDNS's does.
//!
//! HOT PATH: a query costs a zone lookup (a few suffix compares) and two
//! slot lookups in fixed tables; nothing is allocated once a series exists.

use std::sync::OnceLock;
use std::time::Duration;

use common::metrics::Registry;
use metrics::{Counter, Gauge, Histogram};

use crate::cache::TagStats;
use crate::wire::closest_zone;

/// CoreDNS's request-duration buckets (`plugin.TimeBuckets`: 0.25 ms
/// doubling, 16), registered in [`crate::metrics::HISTOGRAMS`].
pub const TIME_BUCKETS: &[f64] = &[
    0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
    2.048, 4.096, 8.192,
];

/// Query types with a label of their own; the rest are `other`.
const TYPES: &[(u16, &str)] = common::dns::NAMED_TYPES;

/// Response codes with a label of their own; the rest are `other`.
const RCODES: &[&str] = &[
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
];

/// Who wrote a response (CoreDNS's `plugin` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// The cache answered.
    Cache,
    /// An upstream answered.
    Forward,
    /// We did (an error of our own).
    None,
}

impl Plugin {
    fn index(self) -> usize {
        self as usize
    }

    fn label(self) -> &'static str {
        match self {
            Plugin::Cache => "cache",
            Plugin::Forward => "forward",
            Plugin::None => "",
        }
    }
}

const PLUGINS: [Plugin; 3] = [Plugin::Cache, Plugin::Forward, Plugin::None];

fn type_index(qtype: u16) -> usize {
    TYPES
        .iter()
        .position(|(t, _)| *t == qtype)
        .unwrap_or(TYPES.len())
}

fn type_label(index: usize) -> &'static str {
    TYPES.get(index).map_or("other", |(_, name)| name)
}

fn rcode_index(rcode: u8) -> usize {
    usize::from(rcode).min(RCODES.len())
}

fn rcode_label(index: usize) -> &'static str {
    RCODES.get(index).copied().unwrap_or("other")
}

/// The rcode of a reply (0 when it is too short to have one).
pub fn rcode_of(reply: &[u8]) -> u8 {
    reply.get(3).map_or(0, |b| b & 0x0F)
}

/// What one query was, for its series.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    zone: usize,
    qtype: usize,
}

impl Asked {
    /// The cache tag of its zone (entries are counted per zone).
    pub fn tag(&self) -> u8 {
        u8::try_from(self.zone).unwrap_or(u8::MAX)
    }
}

/// The CoreDNS-named series of the DNS server and its cache.
pub struct CorednsMetrics {
    registry: Registry,
    /// `dns://ADDR:53`, as CoreDNS labels a server block bound to ADDR.
    server: String,
    /// The zones, lower-case wire names, and their labels (`.` last).
    zones: Vec<(Vec<u8>, String)>,
    /// zone × proto (udp, tcp) × family (1, 2) × type.
    requests: Box<[OnceLock<Counter>]>,
    /// zone × rcode × plugin.
    responses: Box<[OnceLock<Counter>]>,
    /// zone × type.
    durations: Box<[OnceLock<Histogram>]>,
    /// zone × (success, denial).
    cache_hits: Box<[OnceLock<Counter>]>,
    /// zone.
    cache_misses: Box<[OnceLock<Counter>]>,
    /// zone.
    cache_requests: Box<[OnceLock<Counter>]>,
    /// zone.
    served_stale: Box<[OnceLock<Counter>]>,
    /// zone.
    prefetches: Box<[OnceLock<Counter>]>,
    /// zone × (success, denial): entries held and evictions.
    cache_entries: Box<[OnceLock<(Gauge, Counter)>]>,
}

fn slots<T>(n: usize) -> Box<[OnceLock<T>]> {
    (0..n).map(|_| OnceLock::new()).collect()
}

impl CorednsMetrics {
    /// The series for a server on `addr` answering the `zones` (names, the
    /// root added last), in `registry`.
    pub fn new(registry: &Registry, addr: std::net::IpAddr, zones: &[String]) -> CorednsMetrics {
        let mut table: Vec<(Vec<u8>, String)> = zones
            .iter()
            .filter_map(|z| {
                let wire = crate::wire::encode_name(z)?.to_ascii_lowercase();
                Some((wire, format!("{}.", z.trim_end_matches('.'))))
            })
            .collect();
        table.push((vec![0], ".".to_string()));
        let z = table.len();
        let t = TYPES.len() + 1;
        let server = match addr {
            std::net::IpAddr::V4(ip) => format!("dns://{ip}:53"),
            std::net::IpAddr::V6(ip) => format!("dns://[{ip}]:53"),
        };
        CorednsMetrics {
            registry: registry.clone(),
            server,
            zones: table,
            requests: slots(z * 2 * 2 * t),
            responses: slots(z * (RCODES.len() + 1) * PLUGINS.len()),
            durations: slots(z * t),
            cache_hits: slots(z * 2),
            cache_misses: slots(z),
            cache_requests: slots(z),
            served_stale: slots(z),
            prefetches: slots(z),
            cache_entries: slots(z * 2),
        }
    }

    /// Counts a query for `qname_wire` of `qtype`, over TCP or not, from an
    /// IPv6 client or not.
    pub fn request(&self, qname_wire: &[u8], qtype: u16, tcp: bool, v6: bool) -> Asked {
        let zone = self.zone_of(qname_wire);
        let qtype = type_index(qtype);
        let t = TYPES.len() + 1;
        let slot = ((zone * 2 + usize::from(tcp)) * 2 + usize::from(v6)) * t + qtype;
        self.requests[slot]
            .get_or_init(|| {
                self.registry.counter(
                    "coredns_dns_requests_total",
                    "Counter of DNS requests made per zone, protocol and family.",
                    &[
                        ("server", self.server.clone()),
                        ("zone", self.zones[zone].1.clone()),
                        ("view", String::new()),
                        ("proto", if tcp { "tcp" } else { "udp" }.to_string()),
                        ("family", if v6 { "2" } else { "1" }.to_string()),
                        ("type", type_label(qtype).to_string()),
                    ],
                )
            })
            .increment(1);
        Asked { zone, qtype }
    }

    /// Counts the response to `asked` with `rcode`, written by `plugin`,
    /// `elapsed` after the query arrived.
    pub fn response(&self, asked: Asked, rcode: u8, plugin: Plugin, elapsed: Duration) {
        let rcode = rcode_index(rcode);
        let slot = (asked.zone * (RCODES.len() + 1) + rcode) * PLUGINS.len() + plugin.index();
        self.responses[slot]
            .get_or_init(|| {
                self.registry.counter(
                    "coredns_dns_responses_total",
                    "Counter of response status codes.",
                    &[
                        ("server", self.server.clone()),
                        ("zone", self.zones[asked.zone].1.clone()),
                        ("view", String::new()),
                        ("rcode", rcode_label(rcode).to_string()),
                        ("plugin", plugin.label().to_string()),
                    ],
                )
            })
            .increment(1);
        let slot = asked.zone * (TYPES.len() + 1) + asked.qtype;
        self.durations[slot]
            .get_or_init(|| {
                self.registry.histogram(
                    "coredns_dns_request_duration_seconds",
                    "Histogram of the time (in seconds) each request took per zone.",
                    &[
                        ("server", self.server.clone()),
                        ("zone", self.zones[asked.zone].1.clone()),
                        ("view", String::new()),
                        ("type", type_label(asked.qtype).to_string()),
                    ],
                )
            })
            .record(elapsed.as_secs_f64());
    }

    /// Counts a cache lookup for `asked`: a hit with the reply served (a
    /// denial when NXDOMAIN or without answers), or a miss.
    pub fn cache(&self, asked: Asked, served: Option<&[u8]>) {
        let zone = asked.zone;
        let labels = |kind: Option<&str>| self.zone_labels(zone, kind);
        self.cache_requests[zone]
            .get_or_init(|| {
                self.registry.counter(
                    "coredns_cache_requests_total",
                    "The count of cache requests.",
                    &labels(None),
                )
            })
            .increment(1);
        match served {
            Some(reply) => {
                let denial = rcode_of(reply) == 3 || reply.get(6..8) == Some(&[0, 0]);
                let kind = if denial { "denial" } else { "success" };
                self.cache_hits[zone * 2 + usize::from(denial)]
                    .get_or_init(|| {
                        self.registry.counter(
                            "coredns_cache_hits_total",
                            "The count of cache hits.",
                            &labels(Some(kind)),
                        )
                    })
                    .increment(1);
            }
            None => self.cache_misses[zone]
                .get_or_init(|| {
                    self.registry.counter(
                        "coredns_cache_misses_total",
                        "The count of cache misses.",
                        &labels(None),
                    )
                })
                .increment(1),
        }
    }

    /// An expired entry served for `asked` because no upstream answered.
    pub fn served_stale(&self, asked: Asked) {
        self.served_stale[asked.zone]
            .get_or_init(|| {
                self.registry.counter(
                    "coredns_cache_served_stale_total",
                    "The number of requests served from stale cache entries.",
                    &self.zone_labels(asked.zone, None),
                )
            })
            .increment(1);
    }

    /// A popular entry for `asked` fetched again before it expired.
    pub fn prefetched(&self, asked: Asked) {
        self.prefetches[asked.zone]
            .get_or_init(|| {
                self.registry.counter(
                    "coredns_cache_prefetch_total",
                    "The number of times the cache has prefetched a cached item.",
                    &self.zone_labels(asked.zone, None),
                )
            })
            .increment(1);
    }

    /// The zones a cache's entries are counted under (its tags).
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }

    /// The cache's entries and evictions per zone and part, as `stats`
    /// (by zone) has them now.
    pub fn cache_held(&self, stats: impl Fn(u8) -> (TagStats, TagStats)) {
        for zone in 0..self.zones.len() {
            let (answers, denials) = stats(u8::try_from(zone).unwrap_or(u8::MAX));
            for (part, kind, held) in [(0, "success", answers), (1, "denial", denials)] {
                let (entries, evictions) = self.cache_entries[zone * 2 + part].get_or_init(|| {
                    let labels = self.zone_labels(zone, Some(kind));
                    (
                        self.registry.gauge(
                            "coredns_cache_entries",
                            "The number of elements in the cache.",
                            &labels,
                        ),
                        self.registry.counter(
                            "coredns_cache_evictions_total",
                            "The count of cache evictions.",
                            &labels,
                        ),
                    )
                });
                entries.set(held.entries as f64);
                evictions.absolute(held.evictions);
            }
        }
    }

    /// `server`, `type` (a cache part, when given), `zones` and `view`.
    fn zone_labels(&self, zone: usize, kind: Option<&str>) -> Vec<(&'static str, String)> {
        let mut labels = vec![("server", self.server.clone())];
        if let Some(kind) = kind {
            labels.push(("type", kind.to_string()));
        }
        labels.push(("zones", self.zones[zone].1.clone()));
        labels.push(("view", String::new()));
        labels
    }

    fn zone_of(&self, qname_wire: &[u8]) -> usize {
        closest_zone(self.zones.iter().map(|(w, _)| w.as_slice()), qname_wire)
            .unwrap_or(self.zones.len() - 1)
    }
}

/// One upstream's CoreDNS-named series (`to` is its address).
pub struct ForwardMetrics {
    registry: Registry,
    to: String,
    requests: Counter,
    /// rcode.
    responses: Box<[OnceLock<(Counter, Histogram)>]>,
}

impl ForwardMetrics {
    /// The series of the upstream at `to`.
    pub fn new(registry: &Registry, to: std::net::SocketAddr) -> ForwardMetrics {
        let to = to.to_string();
        ForwardMetrics {
            requests: registry.counter(
                "coredns_forward_requests_total",
                "Counter of requests made per upstream.",
                &[("to", to.clone())],
            ),
            registry: registry.clone(),
            to,
            responses: slots(RCODES.len() + 1),
        }
    }

    /// A query sent to the upstream.
    pub fn request(&self) {
        self.requests.increment(1);
    }

    /// Its response, with `rcode`, `rtt` after the query.
    pub fn response(&self, rcode: u8, rtt: Duration) {
        let index = rcode_index(rcode);
        let (count, duration) = self.responses[index].get_or_init(|| {
            let labels = [
                ("rcode", rcode_label(index).to_string()),
                ("to", self.to.clone()),
            ];
            (
                self.registry.counter(
                    "coredns_forward_responses_total",
                    "Counter of responses received per upstream.",
                    &labels,
                ),
                self.registry.histogram(
                    "coredns_forward_request_duration_seconds",
                    "Histogram of the time each request took.",
                    &[
                        ("to", self.to.clone()),
                        ("rcode", rcode_label(index).to_string()),
                    ],
                ),
            )
        });
        count.increment(1);
        duration.record(rtt.as_secs_f64());
    }
}
