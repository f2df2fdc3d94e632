//! A backend resolver: its address, its UDP forwarder, whether it is up, and
//! its metrics. Up/down changes (from active checks or live-traffic timeouts)
//! are logged and counted once per change.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::metrics::Registry;
use common::shutdown::{Shutdown, ShutdownTrigger};

use crate::config::BackendConfig;
use crate::forward::UdpForwarder;
use crate::metrics::{BackendMetrics, LbMetrics};
use crate::nodelocal::metrics::{rcode_of, ForwardMetrics};
use crate::tcp_pool::TcpPool;

/// One backend and its live state.
pub struct Backend {
    /// Name, address, weight, order.
    pub config: BackendConfig,
    /// The UDP path.
    pub forwarder: UdpForwarder,
    /// The TCP path, for TCP and DoT clients.
    pub tcp: TcpPool,
    /// Its metrics.
    pub metrics: BackendMetrics,
    /// Node-local mode: its CoreDNS-named `coredns_forward_*` series.
    coredns: Option<ForwardMetrics>,
    up: AtomicBool,
    /// Moving average of response times, µs (weight 1/8 per sample): the
    /// tie-break of leastOutstanding, as dnsdist's.
    latency_us: AtomicU64,
    /// Consecutive failures (checks or live timeouts) since the last success.
    failures: AtomicU32,
    /// Consecutive successful checks since the last failure.
    successes: AtomicU32,
    state_changes: metrics::Counter,
    /// Fired when a reload removes the backend.
    retire: ShutdownTrigger,
    retired: Shutdown,
    retired_at: parking_lot::Mutex<Option<tokio::time::Instant>>,
    /// Recent live outcomes, for passive health.
    outcomes: parking_lot::Mutex<Outcomes>,
}

/// The last (up to 128) live outcomes of a backend: bit set = failed.
#[derive(Debug, Default)]
struct Outcomes {
    bits: u128,
    len: u32,
    next: u32,
    failures: u32,
}

impl Outcomes {
    /// Records one outcome in a window of `window`; returns (samples, failures).
    fn record(&mut self, failed: bool, window: u32) -> (u32, u32) {
        let window = window.clamp(1, 128);
        let bit = 1u128 << (self.next % window);
        if self.len == window {
            if self.bits & bit != 0 {
                self.failures -= 1;
            }
        } else {
            self.len += 1;
        }
        if failed {
            self.bits |= bit;
            self.failures += 1;
        } else {
            self.bits &= !bit;
        }
        self.next = (self.next + 1) % window;
        (self.len, self.failures)
    }
}

/// When live traffic counts against a backend (passive health).
#[derive(Debug, Clone, Copy)]
pub struct Passive {
    /// Failure percentage that takes the backend down; 0: off.
    pub threshold: u32,
    /// Outcomes remembered.
    pub window: u32,
    /// Outcomes needed before judging.
    pub min_samples: u32,
    /// Active checks run (only they can bring the backend back).
    pub checks_enabled: bool,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("name", &self.config.name)
            .field("addr", &self.config.addr)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// Connects the forwarder (whose receive waits at most `tick`) and
    /// registers the metrics; the backend starts up (as dnsdist's do until a
    /// check says otherwise).
    pub fn connect(
        config: BackendConfig,
        max_outstanding: usize,
        registry: &Registry,
        lb: &LbMetrics,
        tick: Duration,
        coredns_names: bool,
    ) -> std::io::Result<Arc<Backend>> {
        let metrics = BackendMetrics::new(registry, &config.name, &config.addr.to_string());
        let forwarder = UdpForwarder::connect(
            config.addr,
            max_outstanding,
            lb.noncompliant_responses.clone(),
            tick,
        )?;
        metrics.status.set(1.0);
        let (retire, retired) = Shutdown::new();
        Ok(Arc::new(Backend {
            retire,
            retired,
            retired_at: parking_lot::Mutex::new(None),
            outcomes: parking_lot::Mutex::new(Outcomes::default()),
            tcp: TcpPool::new(config.addr),
            coredns: coredns_names.then(|| ForwardMetrics::new(registry, config.addr)),
            config,
            forwarder,
            metrics,
            up: AtomicBool::new(true),
            latency_us: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            successes: AtomicU32::new(0),
            state_changes: lb.state_changes.clone(),
        }))
    }

    /// Takes the backend out of service for good (a reload removed it): its
    /// series leave the scrape, its checks stop, and its receive loop stops
    /// once its queries in flight are answered or given up on.
    pub fn retire(&self) {
        self.retired_at
            .lock()
            .get_or_insert_with(tokio::time::Instant::now);
        self.metrics.retire();
        self.retire.fire();
    }

    /// Whether the backend is retired and its queries in flight are done (or
    /// `grace` has passed since it was retired): its thread may stop.
    pub fn retirement_done(&self, grace: Duration) -> bool {
        match *self.retired_at.lock() {
            None => false,
            Some(at) => self.outstanding() == 0 || at.elapsed() >= grace,
        }
    }

    /// Completes when the backend is retired.
    pub async fn retired(&self) {
        self.retired.requested().await;
    }

    /// Whether the backend gets traffic.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Queries in flight.
    pub fn outstanding(&self) -> usize {
        self.forwarder.outstanding()
    }

    /// The moving average of response times, µs.
    pub fn latency_us(&self) -> u64 {
        self.latency_us.load(Ordering::Relaxed)
    }

    /// Records a live outcome for passive health: past the threshold, the
    /// backend goes down (active checks bring it back).
    pub fn live_outcome(&self, failed: bool, passive: Passive) {
        if passive.threshold == 0 || !passive.checks_enabled {
            return;
        }
        let (samples, failures) = self.outcomes.lock().record(failed, passive.window);
        if samples >= passive.min_samples.max(1)
            && failures * 100 >= passive.threshold * samples
            && self.is_up()
        {
            self.set_up(false, "SERVFAIL and timeout rate of live traffic");
        }
    }

    /// A query is sent to it (the first attempt or a retry).
    pub fn sent(&self) {
        self.metrics.queries.increment(1);
        if let Some(coredns) = &self.coredns {
            coredns.request();
        }
    }

    /// A live query was answered after `rtt`.
    pub fn answered(&self, rtt: Duration, response: &[u8]) {
        self.metrics.responses.increment(1);
        if let Some(coredns) = &self.coredns {
            coredns.response(rcode_of(response), rtt);
        }
        self.metrics.latency.record(rtt.as_secs_f64());
        let sample = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        let old = self.latency_us.load(Ordering::Relaxed);
        // Racing updates may lose a sample; an average does not mind.
        self.latency_us
            .store(old - old / 8 + sample / 8, Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
    }

    /// A live query timed out: with active checks on (they bring it back), `fall`
    /// consecutive failures take the backend down.
    pub fn timed_out(&self, fall: u32, checks_enabled: bool) {
        self.metrics.drops.increment(1);
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if checks_enabled && failures >= fall {
            self.set_up(false, "live queries timed out");
        }
    }

    /// An active check succeeded: `rise` in a row bring a down backend up.
    pub fn check_passed(&self, rise: u32) {
        self.failures.store(0, Ordering::Relaxed);
        let successes = self.successes.fetch_add(1, Ordering::Relaxed) + 1;
        if successes >= rise {
            self.set_up(true, "health check passed");
        }
    }

    /// An active check failed: `fall` in a row take an up backend down.
    pub fn check_failed(&self, fall: u32, why: &str) {
        self.metrics.check_failures.increment(1);
        self.successes.store(0, Ordering::Relaxed);
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= fall {
            self.set_up(false, why);
        }
    }

    fn set_up(&self, up: bool, why: &str) {
        if self.up.swap(up, Ordering::AcqRel) == up {
            return;
        }
        // A fresh window for the new state.
        *self.outcomes.lock() = Outcomes::default();
        self.metrics.status.set(if up { 1.0 } else { 0.0 });
        self.state_changes.increment(1);
        if up {
            tracing::info!(backend = %self.config.name, addr = %self.config.addr, why, "backend up");
        } else {
            tracing::warn!(backend = %self.config.name, addr = %self.config.addr, why, "backend down");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outcomes;

    #[test]
    fn outcome_window_slides() {
        let mut o = Outcomes::default();
        for _ in 0..10 {
            o.record(true, 10);
        }
        assert_eq!(o.record(false, 10), (10, 9));
        for _ in 0..9 {
            o.record(false, 10);
        }
        assert_eq!((o.len, o.failures), (10, 0));
        assert_eq!(
            o.record(true, 128),
            (11, 1),
            "a wider window keeps counting"
        );
    }
}
