//! Every metric the resolver exports, declared once. Names follow
//! unbound_exporter (`unbound_*`) so existing dashboards and the seed's alert
//! rules keep working; handles are created here and passed to the stages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::metrics::Registry;
use metrics::{Counter, Gauge, Histogram};

use crate::transport::TransportMetrics;

/// Bucket boundaries (seconds) for `unbound_response_time_seconds`, spanning a
/// cache hit (tens of µs) to a slow cold resolution.
pub const RESPONSE_TIME_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0,
    5.0, 10.0,
];

/// Bucket boundaries (seconds) for `unbound_upstream_rtt_seconds`: a
/// loopback server (sub-ms) to one across the world and a backed-off timeout.
pub const UPSTREAM_RTT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5,
];

/// Response codes as Unbound's statistics name them.
const RCODES: &[&str] = &[
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMPL", "REFUSED",
];

/// The resolver's metric handles.
#[derive(Clone)]
pub struct Metrics {
    /// unbound_queries_total.
    pub queries: Counter,
    /// unbound_cache_hits_total.
    pub cache_hits: Counter,
    /// unbound_cache_misses_total.
    pub cache_misses: Counter,
    /// unbound_prefetches_total.
    pub prefetches: Counter,
    /// unbound_expired_total (answers served from expired entries).
    pub expired: Counter,
    /// unbound_recursive_replies_total.
    pub recursive_replies: Counter,
    /// unbound_query_tcp_total.
    pub query_tcp: Counter,
    /// unbound_query_tls_total.
    pub query_tls: Counter,
    /// unbound_query_ipv6_total.
    pub query_ipv6: Counter,
    /// unbound_query_edns_present_total.
    pub query_edns_present: Counter,
    /// unbound_query_edns_DO_total.
    pub query_edns_do: Counter,
    /// unbound_query_flags_total{flag="RD"}.
    pub flag_rd: Counter,
    /// unbound_query_flags_total{flag="CD"}.
    pub flag_cd: Counter,
    /// unbound_query_opcodes_total{opcode="QUERY"}.
    pub opcode_query: Counter,
    /// unbound_query_opcodes_total{opcode="other"}.
    pub opcode_other: Counter,
    /// unbound_query_classes_total{class="IN"}.
    pub class_in: Counter,
    /// unbound_query_classes_total{class="other"}.
    pub class_other: Counter,
    types: Arc<[(u16, Counter)]>,
    type_other: Counter,
    rcodes: Arc<[Counter]>,
    /// unbound_answer_rcodes_total{rcode="nodata"}.
    pub rcode_nodata: Counter,
    /// unbound_unwanted_queries_total (refused or dropped by access control).
    pub unwanted_queries: Counter,
    /// unbound_query_ratelimited_total (Unbound's num.query.ratelimited):
    /// queries not sent to a zone's servers because of `ratelimit`.
    pub query_ratelimited: Counter,
    /// unbound_queries_ip_ratelimited_total (Unbound's
    /// num.queries_ip_ratelimited): client queries dropped by `ip-ratelimit`.
    pub queries_ip_ratelimited: Counter,
    /// unbound_request_list_current_all.
    pub request_list_current: Gauge,
    /// unbound_request_list_exceeded_total.
    pub request_list_exceeded: Counter,
    /// unbound_request_list_overwritten_total: entries jostled out (jostle-timeout).
    pub request_list_overwritten: Counter,
    /// unbound_response_time_seconds histogram (every answer).
    pub response_time: Histogram,
    /// unbound_recursion_time_seconds histogram (answers that needed recursion).
    pub recursion_time: Histogram,
    /// Running sum and count behind unbound_recursion_time_seconds_avg.
    pub recursion_sum_micros: Arc<AtomicU64>,
    /// Count behind unbound_recursion_time_seconds_avg.
    pub recursion_count: Arc<AtomicU64>,
    /// unbound_recursion_time_seconds_avg gauge, refreshed at scrape.
    pub recursion_avg: Gauge,
    /// unbound_msg_cache_count.
    pub msg_cache_count: Gauge,
    /// unbound_rrset_cache_count.
    pub rrset_cache_count: Gauge,
    /// unbound_infra_cache_count.
    pub infra_cache_count: Gauge,
    /// unbound_memory_caches_bytes{cache="message"}.
    pub memory_msg: Gauge,
    /// unbound_memory_caches_bytes{cache="rrset"}.
    pub memory_rrset: Gauge,
    /// unbound_time_up_seconds_total.
    pub time_up: Gauge,
    /// unbound_resolution_errors_total{reason}: why recursions failed (ours).
    pub errors: Arc<[(&'static str, Counter)]>,
    /// DNSSEC validation counters.
    pub validation: ValidationMetrics,
    /// Outgoing query counters.
    pub transport: TransportMetrics,
    /// Infra cache counters (upstream timeouts, lame marks, server RTT).
    pub infra: crate::iterate::infra::InfraMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Every exported name, for the documentation test.
pub const METRIC_NAMES: &[&str] = &[
    "unbound_up",
    "unbound_queries_total",
    "unbound_cache_hits_total",
    "unbound_cache_misses_total",
    "unbound_prefetches_total",
    "unbound_expired_total",
    "unbound_recursive_replies_total",
    "unbound_query_tcp_total",
    "unbound_query_tls_total",
    "unbound_query_ipv6_total",
    "unbound_query_edns_present_total",
    "unbound_query_edns_DO_total",
    "unbound_query_flags_total",
    "unbound_query_opcodes_total",
    "unbound_query_classes_total",
    "unbound_query_types_total",
    "unbound_answer_rcodes_total",
    "unbound_unwanted_queries_total",
    "unbound_unwanted_replies_total",
    "unbound_query_udpout_total",
    "unbound_query_tcpout_total",
    "unbound_query_ratelimited_total",
    "unbound_queries_ip_ratelimited_total",
    "unbound_request_list_current_all",
    "unbound_request_list_exceeded_total",
    "unbound_request_list_overwritten_total",
    "unbound_response_time_seconds",
    "unbound_recursion_time_seconds",
    "unbound_recursion_time_seconds_avg",
    "unbound_msg_cache_count",
    "unbound_rrset_cache_count",
    "unbound_infra_cache_count",
    "unbound_upstream_timeouts_total",
    "unbound_lame_servers_total",
    "unbound_upstream_rtt_seconds",
    "unbound_memory_caches_bytes",
    "unbound_time_up_seconds_total",
    "unbound_resolution_errors_total",
    "unbound_answers_secure_total",
    "unbound_answers_bogus",
    "unbound_rrset_bogus_total",
    "unbound_validations_total",
    "unbound_validation_failures_total",
    "unbound_key_cache_count",
    "unbound_query_aggressive_nsec",
];

/// unbound_exporter's help text for `unbound_query_aggressive_nsec`.
const AGGRESSIVE_HELP: &str =
    "Total number of queries that the Unbound server generated response using Aggressive NSEC.";

/// Validation outcomes counted in `unbound_validations_total{outcome}`.
const OUTCOMES: &[&str] = &["secure", "insecure", "indeterminate", "bogus"];

/// Extended DNS Error codes counted in `unbound_validation_failures_total{ede}`.
const EDE_CODES: &[u16] = &[1, 2, 6, 7, 8, 9, 10, 12, 27];

/// The validator's metric handles: unbound_exporter's names where Unbound has
/// the concept, ours beside them.
#[derive(Clone)]
pub struct ValidationMetrics {
    /// unbound_answers_secure_total: replies sent whose answer validated secure.
    pub answers_secure: Counter,
    /// unbound_answers_bogus: replies sent for answers that validated bogus.
    pub answers_bogus: Counter,
    /// unbound_rrset_bogus_total: validations that found a bogus RRset or proof.
    pub rrset_bogus: Counter,
    /// unbound_validations_total{outcome} (ours).
    pub outcomes: Arc<[(&'static str, Counter)]>,
    /// unbound_validation_failures_total{ede} (ours): bogus verdicts by EDE code.
    pub failures: Arc<[(u16, Counter)]>,
    /// unbound_key_cache_count: zones in the key cache.
    pub key_cache_count: Gauge,
    /// unbound_query_aggressive_nsec{rcode="NOERROR"}: NODATA answers
    /// synthesized from cached NSEC (Unbound `num.query.aggressive.NOERROR`).
    pub aggressive_noerror: Counter,
    /// unbound_query_aggressive_nsec{rcode="NXDOMAIN"} (`num.query.aggressive.NXDOMAIN`).
    pub aggressive_nxdomain: Counter,
    /// unbound_memory_caches_bytes{cache="key"}.
    pub memory_key: Gauge,
}

impl ValidationMetrics {
    fn new(registry: &Registry) -> Self {
        let none: Vec<(&'static str, String)> = Vec::new();
        Self {
            answers_secure: registry.counter(
                "unbound_answers_secure_total",
                "Total number of answers that were secure.",
                &none,
            ),
            answers_bogus: registry.counter(
                "unbound_answers_bogus",
                "Total number of answers that were bogus.",
                &none,
            ),
            rrset_bogus: registry.counter(
                "unbound_rrset_bogus_total",
                "Total number of rrsets marked bogus by the validator.",
                &none,
            ),
            outcomes: OUTCOMES
                .iter()
                .map(|o| {
                    (
                        *o,
                        registry.counter(
                            "unbound_validations_total",
                            "DNSSEC validations by outcome.",
                            &[("outcome", o.to_string())],
                        ),
                    )
                })
                .collect(),
            failures: EDE_CODES
                .iter()
                .map(|c| {
                    (
                        *c,
                        registry.counter(
                            "unbound_validation_failures_total",
                            "Bogus validations by Extended DNS Error code (RFC 8914).",
                            &[("ede", c.to_string())],
                        ),
                    )
                })
                .collect(),
            aggressive_noerror: registry.counter(
                "unbound_query_aggressive_nsec",
                AGGRESSIVE_HELP,
                &[("rcode", "NOERROR".to_string())],
            ),
            aggressive_nxdomain: registry.counter(
                "unbound_query_aggressive_nsec",
                AGGRESSIVE_HELP,
                &[("rcode", "NXDOMAIN".to_string())],
            ),
            key_cache_count: registry.gauge(
                "unbound_key_cache_count",
                "The number of zone key entries in the key cache.",
                &none,
            ),
            memory_key: registry.gauge(
                "unbound_memory_caches_bytes",
                "Memory in bytes in use by caches.",
                &[("cache", "key".to_string())],
            ),
        }
    }

    /// Counts one validation by its verdict.
    pub fn count(&self, security: &crate::validator::Security) {
        let label = security.label();
        if let Some((_, counter)) = self.outcomes.iter().find(|(o, _)| *o == label) {
            counter.increment(1);
        }
        if let crate::validator::Security::Bogus(bogus) = security {
            self.rrset_bogus.increment(1);
            if let Some((_, counter)) = self.failures.iter().find(|(c, _)| *c == bogus.ede.code()) {
                counter.increment(1);
            }
        }
    }
}

/// Bucket boundaries (seconds) for `unbound_cachedb_latency_seconds`: a Redis
/// round trip on a LAN is tens to hundreds of µs; the timeout is 100 ms.
pub const CACHEDB_LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Every cachedb metric name (exported only when a `cachedb:` clause is configured).
pub const CACHEDB_METRIC_NAMES: &[&str] = &[
    "unbound_cachedb_hits_total",
    "unbound_cachedb_misses_total",
    "unbound_cachedb_errors_total",
    "unbound_cachedb_timeouts_total",
    "unbound_cachedb_invalid_total",
    "unbound_cachedb_skipped_total",
    "unbound_cachedb_writes_total",
    "unbound_cachedb_write_drops_total",
    "unbound_cachedb_breaker_open",
    "unbound_cachedb_latency_seconds",
];

/// The shared Redis cache's metric handles (ours: Unbound exports none for it).
#[derive(Clone)]
pub struct CachedbMetrics {
    /// unbound_cachedb_hits_total: lookups answered from Redis.
    pub hits: Counter,
    /// unbound_cachedb_misses_total: lookups Redis had nothing usable for.
    pub misses: Counter,
    /// unbound_cachedb_errors_total{op}: operations that failed.
    pub get_errors: Counter,
    /// As above, for writes.
    pub set_errors: Counter,
    /// As above, for connection attempts and probes.
    pub connect_errors: Counter,
    /// unbound_cachedb_timeouts_total{op}: operations that took longer than redis-timeout.
    pub get_timeouts: Counter,
    /// As above, for writes.
    pub set_timeouts: Counter,
    /// unbound_cachedb_invalid_total: values read that were malformed or for another question.
    pub invalid: Counter,
    /// unbound_cachedb_skipped_total{op}: operations not tried while the breaker is open.
    pub get_skipped: Counter,
    /// As above, for writes.
    pub set_skipped: Counter,
    /// unbound_cachedb_writes_total: entries written.
    pub writes: Counter,
    /// unbound_cachedb_write_drops_total: entries not written because the queue was full.
    pub write_drops: Counter,
    /// unbound_cachedb_breaker_open: 1 while Redis is considered down and bypassed.
    pub breaker_open: Gauge,
    /// unbound_cachedb_latency_seconds{op="get"}.
    pub get_latency: Histogram,
    /// unbound_cachedb_latency_seconds{op="set"}.
    pub set_latency: Histogram,
}

impl std::fmt::Debug for CachedbMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedbMetrics").finish_non_exhaustive()
    }
}

impl CachedbMetrics {
    /// Registers the cachedb metrics in `registry`.
    pub fn new(registry: &Registry) -> Self {
        let none: Vec<(&'static str, String)> = Vec::new();
        let op = |value: &str| vec![("op", value.to_string())];
        let errors = |value: &str| {
            registry.counter(
                "unbound_cachedb_errors_total",
                "Redis operations that failed, by operation.",
                &op(value),
            )
        };
        let timeouts = |value: &str| {
            registry.counter(
                "unbound_cachedb_timeouts_total",
                "Redis operations that exceeded redis-timeout, by operation.",
                &op(value),
            )
        };
        let skipped = |value: &str| {
            registry.counter(
                "unbound_cachedb_skipped_total",
                "Redis operations not attempted because the circuit breaker is open.",
                &op(value),
            )
        };
        let latency = |value: &str| {
            registry.histogram(
                "unbound_cachedb_latency_seconds",
                "Redis round-trip time of completed operations.",
                &op(value),
            )
        };
        Self {
            hits: registry.counter("unbound_cachedb_hits_total", "Cache misses answered from Redis.", &none),
            misses: registry.counter("unbound_cachedb_misses_total", "Redis lookups that found nothing usable.", &none),
            get_errors: errors("get"),
            set_errors: errors("set"),
            connect_errors: errors("connect"),
            get_timeouts: timeouts("get"),
            set_timeouts: timeouts("set"),
            invalid: registry.counter("unbound_cachedb_invalid_total", "Values read from Redis that were malformed or answered another question (ignored).", &none),
            get_skipped: skipped("get"),
            set_skipped: skipped("set"),
            writes: registry.counter("unbound_cachedb_writes_total", "Answers written to Redis.", &none),
            write_drops: registry.counter("unbound_cachedb_write_drops_total", "Answers not written to Redis because the write queue was full.", &none),
            breaker_open: registry.gauge("unbound_cachedb_breaker_open", "1 while Redis is considered down and bypassed, else 0.", &none),
            get_latency: latency("get"),
            set_latency: latency("set"),
        }
    }
}

const THREAD: &str = "thread";

impl Metrics {
    /// Registers every metric in `registry`.
    pub fn new(registry: &Registry) -> Self {
        let t = || vec![(THREAD, "0".to_string())];
        let none: Vec<(&'static str, String)> = Vec::new();
        let flag = |f: &str| {
            registry.counter(
                "unbound_query_flags_total",
                "Total number of queries that had a given flag set in the header.",
                &[("flag", f.to_string())],
            )
        };
        let opcode = |o: &str| {
            registry.counter(
                "unbound_query_opcodes_total",
                "Total number of queries with a given query opcode.",
                &[("opcode", o.to_string())],
            )
        };
        let class = |c: &str| {
            registry.counter(
                "unbound_query_classes_total",
                "Total number of queries with a given query class.",
                &[("class", c.to_string())],
            )
        };
        let qtype = |name: &str| {
            registry.counter(
                "unbound_query_types_total",
                "Total number of queries with a given query type.",
                &[("type", name.to_string())],
            )
        };
        let rcode = |name: &str| {
            registry.counter("unbound_answer_rcodes_total", "Total number of answers to queries, from cache or from recursion, by response code.", &[("rcode", name.to_string())])
        };
        let up = registry.gauge("unbound_up", "Whether scraping Unbound's metrics was successful (always 1: the resolver exports its own).", &none);
        up.set(1.0);
        let errors: Vec<(&'static str, Counter)> = [
            "all_servers_failed",
            "no_servers",
            "limit",
            "ratelimited",
            "timeout",
            "request_list_full",
            "encode",
            "shutdown",
        ]
        .into_iter()
        .map(|reason| {
            (
                reason,
                registry.counter(
                    "unbound_resolution_errors_total",
                    "Recursions that ended in SERVFAIL, by reason.",
                    &[("reason", reason.to_string())],
                ),
            )
        })
        .collect();
        Self {
            queries: registry.counter("unbound_queries_total", "Total number of queries received.", &t()),
            cache_hits: registry.counter("unbound_cache_hits_total", "Total number of queries that were successfully answered using a cache lookup.", &t()),
            cache_misses: registry.counter("unbound_cache_misses_total", "Total number of cache queries that needed recursive processing.", &t()),
            prefetches: registry.counter("unbound_prefetches_total", "Total number of cache prefetches performed.", &t()),
            expired: registry.counter("unbound_expired_total", "Total number of expired entries served.", &t()),
            recursive_replies: registry.counter("unbound_recursive_replies_total", "Total number of replies sent to queries that needed recursive processing.", &t()),
            query_tcp: registry.counter("unbound_query_tcp_total", "Total number of queries that were made using TCP towards the Unbound server, including DoT.", &none),
            query_tls: registry.counter("unbound_query_tls_total", "Total number of queries that were made using TCP TLS towards the Unbound server.", &none),
            query_ipv6: registry.counter("unbound_query_ipv6_total", "Total number of queries that were made using IPv6 towards the Unbound server.", &none),
            query_edns_present: registry.counter("unbound_query_edns_present_total", "Total number of queries that had an EDNS OPT record present.", &none),
            query_edns_do: registry.counter("unbound_query_edns_DO_total", "Total number of queries that had an EDNS OPT record with the DO (DNSSEC OK) bit set present.", &none),
            flag_rd: flag("RD"),
            flag_cd: flag("CD"),
            opcode_query: opcode("QUERY"),
            opcode_other: opcode("other"),
            class_in: class("IN"),
            class_other: class("other"),
            types: common::dns::NAMED_TYPES.iter().map(|(code, name)| (*code, qtype(name))).collect(),
            type_other: qtype("other"),
            rcodes: RCODES.iter().map(|name| rcode(name)).collect(),
            rcode_nodata: rcode("nodata"),
            unwanted_queries: registry.counter("unbound_unwanted_queries_total", "Total number of queries that were refused or dropped because they failed the access control settings.", &none),
            // unbound_exporter has no rule for these two Unbound statistics;
            // the names follow its scheme (num.query.tcp -> query_tcp_total,
            // threadN.num.queries_cookie_valid -> queries_cookie_valid_total).
            query_ratelimited: registry.counter("unbound_query_ratelimited_total", "Total number of queries that were turned away from being sent to a zone's nameservers because of ratelimit.", &none),
            queries_ip_ratelimited: registry.counter("unbound_queries_ip_ratelimited_total", "Total number of queries that were dropped because of ip-ratelimit.", &t()),
            request_list_current: registry.gauge("unbound_request_list_current_all", "Current size of the request list, including internally generated queries.", &t()),
            request_list_exceeded: registry.counter("unbound_request_list_exceeded_total", "Number of queries that were dropped because the request list was full.", &t()),
            request_list_overwritten: registry.counter("unbound_request_list_overwritten_total", "Total number of requests in the request list that were overwritten by newer entries.", &t()),
            response_time: registry.histogram("unbound_response_time_seconds", "Query response time in seconds.", &none),
            recursion_time: registry.histogram("unbound_recursion_time_seconds", "Time it took to answer queries that needed recursive processing.", &none),
            recursion_sum_micros: Arc::new(AtomicU64::new(0)),
            recursion_count: Arc::new(AtomicU64::new(0)),
            recursion_avg: registry.gauge("unbound_recursion_time_seconds_avg", "Average time it took to answer queries that needed recursive processing (does not include in-cache requests).", &none),
            msg_cache_count: registry.gauge("unbound_msg_cache_count", "The number of Messages cached", &none),
            rrset_cache_count: registry.gauge("unbound_rrset_cache_count", "The number of rrset cached", &none),
            infra_cache_count: registry.gauge("unbound_infra_cache_count", "Total number of infra cache entries", &none),
            memory_msg: registry.gauge("unbound_memory_caches_bytes", "Memory in bytes in use by caches.", &[("cache", "message".to_string())]),
            memory_rrset: registry.gauge("unbound_memory_caches_bytes", "Memory in bytes in use by caches.", &[("cache", "rrset".to_string())]),
            time_up: registry.gauge("unbound_time_up_seconds_total", "Uptime since server boot in seconds.", &none),
            errors: errors.into(),
            validation: ValidationMetrics::new(registry),
            transport: TransportMetrics {
                udp_out: registry.counter("unbound_query_udpout_total", "Total number of queries that the server made using UDP outgoing towards other servers.", &none),
                tcp_out: registry.counter("unbound_query_tcpout_total", "Total number of queries that the server made using TCP outgoing towards other servers.", &none),
                unwanted_replies: registry.counter("unbound_unwanted_replies_total", "Total number of replies that were unwanted or unsolicited.", &none),
            },
            infra: crate::iterate::infra::InfraMetrics {
                timeouts: registry.counter("unbound_upstream_timeouts_total", "Queries to upstream servers that timed out.", &none),
                lame: registry.counter("unbound_lame_servers_total", "Times a server was marked lame for a zone and query type.", &none),
                rtt: registry.histogram("unbound_upstream_rtt_seconds", "Round-trip time of answered queries to upstream servers, in seconds.", &none),
            },
        }
    }

    /// Counts a query by type.
    pub fn count_type(&self, qtype: u16) {
        match self.types.iter().find(|(code, _)| *code == qtype) {
            Some((_, counter)) => counter.increment(1),
            None => self.type_other.increment(1),
        }
    }

    /// Counts an answer by rcode (NOERROR without answers also counts as nodata).
    pub fn count_rcode(&self, rcode: u8, nodata: bool) {
        if let Some(counter) = self.rcodes.get(usize::from(rcode)) {
            counter.increment(1);
        }
        if nodata {
            self.rcode_nodata.increment(1);
        }
    }

    /// Counts a failed recursion by reason label.
    pub fn count_error(&self, label: &str) {
        if let Some((_, counter)) = self.errors.iter().find(|(reason, _)| *reason == label) {
            counter.increment(1);
        }
    }

    /// Records one recursion's duration.
    pub fn record_recursion(&self, seconds: f64) {
        self.recursion_time.record(seconds);
        self.recursion_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.recursion_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Refreshes the derived gauges just before a scrape.
    pub fn refresh_average(&self) {
        let count = self.recursion_count.load(Ordering::Relaxed);
        if count > 0 {
            let sum = self.recursion_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            self.recursion_avg.set(sum / count as f64);
        }
    }
}
