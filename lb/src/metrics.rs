//! Every metric the lb exports, declared once, with dnsdist's Prometheus names
//! where the concept matches (`dnsdist_queries`, `dnsdist_server_queries`, ...)
//! so existing dashboards keep working, plus latency histograms.

use common::metrics::Registry;
use metrics::{Counter, Gauge, Histogram};

use crate::nodelocal::metrics::TIME_BUCKETS;

/// Bucket boundaries (seconds) for the latency histograms: a backend cache
/// hit (tens of µs) to a slow recursion.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.0, 5.0,
];

/// Histogram names and their buckets, for [`Registry::new`].
pub const HISTOGRAMS: &[(&str, &[f64])] = &[
    ("dnsdist_latency_seconds", LATENCY_BUCKETS),
    ("dnsdist_server_latency_seconds", LATENCY_BUCKETS),
    // Node-local mode's CoreDNS-named histograms, with CoreDNS's buckets.
    ("coredns_dns_request_duration_seconds", TIME_BUCKETS),
    ("coredns_forward_request_duration_seconds", TIME_BUCKETS),
];

/// Process-wide counters.
#[derive(Clone)]
pub struct LbMetrics {
    /// dnsdist_queries: queries received (after the ACL).
    pub queries: Counter,
    /// dnsdist_responses: responses sent to clients (from a backend or our own).
    pub responses: Counter,
    /// dnsdist_acl_drops: queries dropped by the ACL.
    pub acl_drops: Counter,
    /// dnsdist_noncompliant_queries: messages that are not a well-formed query.
    pub noncompliant_queries: Counter,
    /// dnsdist_noncompliant_responses: backend datagrams matching no query in flight.
    pub noncompliant_responses: Counter,
    /// dnsdist_downstream_timeouts: attempts a backend did not answer in time.
    pub downstream_timeouts: Counter,
    /// dnsdist_downstream_send_errors: sends to a backend that failed.
    pub downstream_send_errors: Counter,
    /// dnsdist_servfail_responses: SERVFAIL answers sent (a backend's or ours).
    pub servfail_responses: Counter,
    /// dnsdist_no_policy: queries with no backend up (answered SERVFAIL at once).
    pub no_policy: Counter,
    /// dnsdist_retries: queries retried on a second backend after a timeout.
    pub retries: Counter,
    /// dnsdist_outstanding_overflows: sends refused because a backend's table was full.
    pub outstanding_overflows: Counter,
    /// dnsdist_latency_seconds: client-visible time from receipt to response.
    pub latency: Histogram,
    /// dnsdist_backend_state_changes: backends going up or down.
    pub state_changes: Counter,
    /// dnsdist_cache_hits: queries answered from the packet cache.
    pub cache_hits: Counter,
    /// dnsdist_cache_misses: queries the packet cache could not answer (cache on).
    pub cache_misses: Counter,
    /// dnsdist_rule_drop: queries dropped for exceeding their client's rate.
    pub rule_drop: Counter,
    /// dnsdist_rule_refused: queries answered REFUSED for exceeding their client's rate.
    pub rule_refused: Counter,
    /// lb_cache_served_stale_total: expired cache entries served because no
    /// backend answered (`serve-stale`).
    pub served_stale: Counter,
    /// lb_cache_prefetches_total: popular entries fetched again before they expired.
    pub prefetches: Counter,
    /// lb_cache_entries{type="success"}: answers held.
    pub cache_answers: Gauge,
    /// lb_cache_entries{type="denial"}: denials held.
    pub cache_denials: Gauge,
    /// lb_cache_memory_bytes: what the entries take (records and index),
    /// bounded by `max-memory`.
    pub cache_memory: Gauge,
}

impl LbMetrics {
    /// Registers the process-wide metrics.
    pub fn new(registry: &Registry) -> LbMetrics {
        let c = |name, help| registry.counter(name, help, &[]);
        let entries = |kind: &str| {
            registry.gauge(
                "lb_cache_entries",
                "Entries in the packet cache, by part (success: answers, denial: denials).",
                &[("type", kind.to_string())],
            )
        };
        LbMetrics {
            queries: c("dnsdist_queries", "Queries received (after the ACL)."),
            responses: c("dnsdist_responses", "Responses sent to clients."),
            acl_drops: c("dnsdist_acl_drops", "Queries dropped by the ACL."),
            noncompliant_queries: c(
                "dnsdist_noncompliant_queries",
                "Messages that are not a well-formed query.",
            ),
            noncompliant_responses: c(
                "dnsdist_noncompliant_responses",
                "Backend datagrams matching no query in flight.",
            ),
            downstream_timeouts: c(
                "dnsdist_downstream_timeouts",
                "Attempts a backend did not answer in time.",
            ),
            downstream_send_errors: c(
                "dnsdist_downstream_send_errors",
                "Sends to a backend that failed.",
            ),
            servfail_responses: c("dnsdist_servfail_responses", "SERVFAIL responses sent."),
            no_policy: c(
                "dnsdist_no_policy",
                "Queries that found no backend up (answered SERVFAIL).",
            ),
            retries: c(
                "dnsdist_retries",
                "Queries retried on another backend after a timeout.",
            ),
            outstanding_overflows: c(
                "dnsdist_outstanding_overflows",
                "Sends refused because a backend's outstanding table was full.",
            ),
            latency: registry.histogram(
                "dnsdist_latency_seconds",
                "Time from receiving a query to sending its response.",
                &[],
            ),
            state_changes: c(
                "dnsdist_backend_state_changes",
                "Backends going up or down.",
            ),
            cache_hits: c(
                "dnsdist_cache_hits",
                "Queries answered from the packet cache.",
            ),
            cache_misses: c(
                "dnsdist_cache_misses",
                "Queries the packet cache could not answer.",
            ),
            rule_drop: c(
                "dnsdist_rule_drop",
                "Queries dropped for exceeding their client's rate.",
            ),
            rule_refused: c(
                "dnsdist_rule_refused",
                "Queries answered REFUSED for exceeding their client's rate.",
            ),
            served_stale: c(
                "lb_cache_served_stale_total",
                "Expired cache entries served because no backend answered (serve-stale).",
            ),
            prefetches: c(
                "lb_cache_prefetches_total",
                "Popular cache entries fetched again before they expired (prefetch).",
            ),
            cache_answers: entries("success"),
            cache_denials: entries("denial"),
            cache_memory: registry.gauge(
                "lb_cache_memory_bytes",
                "Bytes the packet cache's entries take (records and index), bounded by max-memory.",
                &[],
            ),
        }
    }
}

/// One backend's metrics, labelled `server` (its name) and `address`.
#[derive(Clone)]
pub struct BackendMetrics {
    /// dnsdist_server_queries.
    pub queries: Counter,
    /// dnsdist_server_responses.
    pub responses: Counter,
    /// dnsdist_server_drops: queries the backend did not answer in time.
    pub drops: Counter,
    /// dnsdist_server_send_errors.
    pub send_errors: Counter,
    /// dnsdist_server_latency_seconds.
    pub latency: Histogram,
    /// dnsdist_server_outstanding (set at scrape).
    pub outstanding: Gauge,
    /// dnsdist_server_status: 1 up, 0 down.
    pub status: Gauge,
    /// dnsdist_server_health_check_failures.
    pub check_failures: Counter,
    registry: Registry,
    labels: [(&'static str, String); 2],
}

impl BackendMetrics {
    /// Registers the metrics of the backend `name` at `address` (shown again
    /// if a backend of that name and address was retired before).
    pub fn new(registry: &Registry, name: &str, address: &str) -> BackendMetrics {
        let labels = [
            ("server", name.to_string()),
            ("address", address.to_string()),
        ];
        registry.show_series(&labels);
        let c = |metric, help| registry.counter(metric, help, &labels);
        BackendMetrics {
            queries: c("dnsdist_server_queries", "Queries sent to the backend."),
            responses: c(
                "dnsdist_server_responses",
                "Responses received from the backend.",
            ),
            drops: c(
                "dnsdist_server_drops",
                "Queries the backend did not answer in time.",
            ),
            send_errors: c(
                "dnsdist_server_send_errors",
                "Sends to the backend that failed.",
            ),
            latency: registry.histogram(
                "dnsdist_server_latency_seconds",
                "Backend response time.",
                &labels,
            ),
            outstanding: registry.gauge(
                "dnsdist_server_outstanding",
                "Queries in flight to the backend.",
                &labels,
            ),
            status: registry.gauge(
                "dnsdist_server_status",
                "1 when the backend is up, 0 when down.",
                &labels,
            ),
            check_failures: c(
                "dnsdist_server_health_check_failures",
                "Failed active health checks.",
            ),
            registry: registry.clone(),
            labels,
        }
    }

    /// Takes the backend's series out of the scrape: it was removed, and a
    /// series frozen at its last value would read as a live backend forever.
    pub fn retire(&self) {
        self.registry.hide_series(&self.labels);
    }

    /// Puts the series back in the scrape (a live backend with the same name
    /// and address as one just retired, e.g. re-created with a new weight).
    pub fn show(&self) {
        self.registry.show_series(&self.labels);
    }
}
