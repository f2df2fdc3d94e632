//! Prometheus metrics under kea-exporter's names, so the dashboards and
//! alerts built on the Kea sidecar keep working, plus the lease file's own.

use common::metrics::Registry;
use dhcproto::v4::MessageType;
use metrics::{Counter, Gauge, Histogram};

use std::sync::Arc;

use crate::kea_stats::{Stat, Statistics};
use crate::server::{Received, SubnetStats};

/// Every `Received` kind, in label order.
const RECEIVED: [Received; 8] = [
    Received::Discover,
    Received::Request,
    Received::Release,
    Received::Decline,
    Received::Inform,
    Received::Unknown,
    Received::ParseFailed,
    Received::Drop,
];

/// The server's counters and gauges.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    received: Vec<Counter>,
    sent_offer: Counter,
    sent_ack: Counter,
    sent_nak: Counter,
    send_errors: Counter,
    lease_writes: Counter,
    lease_write_errors: Counter,
    compactions: Counter,
    fsyncs: Gauge,
    reply_seconds: Histogram,
    receive_waits: Counter,
    /// The same events under Kea's statistic names, for `statistic-get`.
    pub kea: Arc<Statistics>,
}

impl Metrics {
    /// Registers the metrics in `registry`.
    pub fn new(registry: &Registry) -> Metrics {
        let received = RECEIVED
            .iter()
            .map(|r| {
                registry.counter(
                    "kea_dhcp4_packets_received_total",
                    "DHCPv4 packets received, by message type (Kea's pkt4-*-received).",
                    &[("operation", r.label().to_string())],
                )
            })
            .collect();
        let sent = |op: &str| {
            registry.counter(
                "kea_dhcp4_packets_sent_total",
                "DHCPv4 packets sent, by message type (Kea's pkt4-*-sent).",
                &[("operation", op.to_string())],
            )
        };
        Metrics {
            registry: registry.clone(),
            received,
            sent_offer: sent("offer"),
            sent_ack: sent("ack"),
            sent_nak: sent("nak"),
            send_errors: registry.counter(
                "dhcp4_send_errors_total",
                "Replies the socket refused to send.",
                &[],
            ),
            lease_writes: registry.counter(
                "dhcp4_lease_file_writes_total",
                "Lease changes made durable in the lease file.",
                &[],
            ),
            lease_write_errors: registry.counter(
                "dhcp4_lease_file_errors_total",
                "Lease changes that could not be written (their replies were not sent).",
                &[],
            ),
            compactions: registry.counter(
                "dhcp4_lease_file_compactions_total",
                "Lease file compactions (Kea's LFC) done.",
                &[],
            ),
            fsyncs: registry.gauge(
                "dhcp4_lease_file_fsyncs",
                "fsyncs of the lease file since start (fewer than writes: group commit).",
                &[],
            ),
            reply_seconds: registry.histogram(
                "dhcp4_reply_seconds",
                "Time from a request being read to its reply leaving, lease write included (not the time it queued in the socket).",
                &[],
            ),
            receive_waits: registry.counter(
                "dhcp4_receive_waits_total",
                "Times a receive thread let fast-arriving requests queue before reading them (--receive-window).",
                &[],
            ),
            kea: Arc::default(),
        }
    }

    /// Counts a received packet.
    pub fn received(&self, kind: Received) {
        if let Some(i) = RECEIVED.iter().position(|r| *r == kind) {
            self.received[i].increment(1);
        }
        self.kea.add(Stat::Received, 1);
        let specific = match kind {
            Received::Discover => Stat::DiscoverReceived,
            Received::Request => Stat::RequestReceived,
            Received::Release => Stat::ReleaseReceived,
            Received::Decline => Stat::DeclineReceived,
            Received::Inform => Stat::InformReceived,
            Received::Unknown => Stat::UnknownReceived,
            Received::ParseFailed => {
                self.kea.add(Stat::ParseFailed, 1);
                Stat::ReceiveDrop
            }
            Received::Drop => Stat::ReceiveDrop,
        };
        self.kea.add(specific, 1);
    }

    /// Counts a reply sent, and its latency in seconds.
    pub fn sent(&self, kind: MessageType, seconds: f64) {
        let specific = match kind {
            MessageType::Offer => {
                self.sent_offer.increment(1);
                Stat::OfferSent
            }
            MessageType::Nak => {
                self.sent_nak.increment(1);
                Stat::NakSent
            }
            _ => {
                self.sent_ack.increment(1);
                Stat::AckSent
            }
        };
        self.kea.add(Stat::Sent, 1);
        self.kea.add(specific, 1);
        self.reply_seconds.record(seconds);
    }

    /// Counts a wait that let requests queue.
    pub fn receive_wait(&self) {
        self.receive_waits.increment(1);
    }

    /// Counts a reply the socket refused.
    pub fn send_error(&self) {
        self.send_errors.increment(1);
    }

    /// Counts lease changes written (or not).
    pub fn lease_written(&self, count: usize, ok: bool) {
        if ok {
            self.lease_writes.increment(count as u64);
        } else {
            self.lease_write_errors.increment(count as u64);
        }
    }

    /// Counts a compaction.
    pub fn compacted(&self) {
        self.compactions.increment(1);
    }

    /// Counts an address given to a client that did not hold it.
    pub fn assigned(&self, subnet: u32) {
        self.kea.add(Stat::CumulativeAssigned, 1);
        self.kea
            .add_subnet(subnet, "cumulative-assigned-addresses", 1);
    }

    /// Counts a failed allocation in a subnet.
    pub fn allocation_failed(&self, subnet: &SubnetStats) {
        self.kea.add(Stat::AllocationFail, 1);
        self.kea.add_subnet(subnet.id, "v4-allocation-fail", 1);
        self.registry
            .counter(
                "kea_dhcp4_allocations_failed_total",
                "DISCOVERs that found no free address (Kea's v4-allocation-fail).",
                &subnet_labels(subnet),
            )
            .increment(1);
    }

    /// Counts leases reclaimed in a subnet (expired, or declined whose
    /// quarantine ended).
    pub fn reclaimed(&self, subnet: &SubnetStats, expired: u64, declined: u64) {
        let (expired_n, declined_n) = (
            i64::try_from(expired).unwrap_or(i64::MAX),
            i64::try_from(declined).unwrap_or(i64::MAX),
        );
        self.kea.add(Stat::ReclaimedLeases, expired_n);
        self.kea.add(Stat::ReclaimedDeclined, declined_n);
        self.kea
            .add_subnet(subnet.id, "reclaimed-leases", expired_n);
        self.kea
            .add_subnet(subnet.id, "reclaimed-declined-addresses", declined_n);
        let labels = subnet_labels(subnet);
        self.registry
            .counter(
                "kea_dhcp4_addresses_reclaimed_total",
                "Expired leases reclaimed.",
                &labels,
            )
            .increment(expired);
        self.registry
            .counter(
                "kea_dhcp4_addresses_declined_reclaimed_total",
                "Declined addresses back in use after their probation period.",
                &labels,
            )
            .increment(declined);
    }

    /// Refreshes the per-subnet gauges and the fsync count (before a scrape).
    pub fn refresh(&self, subnets: &[SubnetStats], fsyncs: u64) {
        for subnet in subnets {
            let labels = subnet_labels(subnet);
            self.registry
                .gauge(
                    "kea_dhcp4_addresses_total",
                    "Addresses in the subnet's pools.",
                    &labels,
                )
                .set(subnet.total as f64);
            self.registry
                .gauge(
                    "kea_dhcp4_addresses_assigned_total",
                    "Addresses leased now.",
                    &labels,
                )
                .set(f64::from(subnet.assigned));
            self.registry
                .gauge(
                    "kea_dhcp4_addresses_declined_total",
                    "Addresses declined and in quarantine now.",
                    &labels,
                )
                .set(f64::from(subnet.declined));
        }
        self.fsyncs.set(fsyncs as f64);
    }
}

/// kea-exporter's subnet labels.
fn subnet_labels(subnet: &SubnetStats) -> [(&'static str, String); 2] {
    [
        ("subnet", subnet.prefix.clone()),
        ("subnet_id", subnet.id.to_string()),
    ]
}
