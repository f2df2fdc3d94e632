//! A Prometheus registry passed by handle: no global recorder, so several daemons
//! (or several test instances of one) can run in one process without sharing counters.
//!
//! Each daemon declares its metric families once (its own `metrics.rs`) and hands the
//! returned [`metrics::Counter`] / [`metrics::Gauge`] / [`metrics::Histogram`] handles
//! to the stages that update them. Updating a handle is an atomic operation and never
//! touches the registry's maps.
//!
//! Every histogram renders as a true Prometheus histogram (`_bucket{le=…}`), never as a
//! summary: the ones named in [`Registry::new`] get their own boundaries, the rest get
//! [`DEFAULT_LATENCY_BUCKETS`].
//!
//! [`Registry::render`] also appends the standard process metrics
//! (`process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`,
//! `process_max_fds`, `process_virtual_memory_bytes`, `process_start_time_seconds`)
//! read from `/proc/self` on Linux, as the Go and Python clients do, since dashboards
//! expect them. Elsewhere they are absent.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use parking_lot::Mutex;

/// Bucket boundaries (seconds) for any histogram not named in [`Registry::new`]:
/// 100 µs to 10 s, fine enough for cache hits and for full recursions.
pub const DEFAULT_LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes.
///
/// The recorder buffers every raw sample until it is drained; rendering drains, but an
/// unscraped daemon at 50k QPS would otherwise grow by megabytes a minute. Four
/// times a second: what is buffered is 8 bytes per sample for at most 250 ms (at
/// 10k QPS and four histograms a query, 80 KB; every 5 s it was 1.6 MB of a
/// node-local agent's RSS).
const UPKEEP_INTERVAL: Duration = Duration::from_millis(250);

/// Metadata passed to the recorder; the Prometheus recorder ignores it.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// A Prometheus registry; clone it freely (an `Arc` inside).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Names already described. The recorder's own "first description wins" check reads
    /// only published descriptions, so without this the last help given would win.
    described: Mutex<HashSet<&'static str>>,
    /// Label sets (each label as rendered, `k="v"`) whose series
    /// [`Registry::render`] leaves out.
    hidden: Mutex<Vec<Vec<String>>>,
    /// Dropping the sender (with the last `Registry` clone) stops the upkeep thread.
    _upkeep: Option<mpsc::Sender<()>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl Registry {
    /// A fresh, empty registry.
    ///
    /// `histograms`: bucket boundaries per metric name; every other histogram gets
    /// [`DEFAULT_LATENCY_BUCKETS`] (so nothing renders as a summary). Boundaries are
    /// sorted and deduplicated; non-finite ones are dropped, and a name whose list ends
    /// up empty gets the defaults.
    ///
    /// Starts a small background thread (not a tokio task, so this works outside a
    /// runtime) that drains histogram samples every few seconds; it ends when the last
    /// clone of the registry is dropped.
    pub fn new(histograms: &[(&str, &[f64])]) -> Self {
        // Fails only on an empty bucket list, which `build_recorder` rules out.
        let recorder = build_recorder(histograms)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        let upkeep = spawn_upkeep(handle.clone());
        Self {
            inner: Arc::new(Inner {
                recorder,
                handle,
                described: Mutex::new(HashSet::new()),
                hidden: Mutex::new(Vec::new()),
                _upkeep: upkeep,
            }),
        }
    }

    /// Registers (or finds) the counter `name` with these labels; `help` becomes its
    /// `# HELP` line (the first help given for a name wins).
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, String)],
    ) -> metrics::Counter {
        if self.first_description(name) {
            self.inner.recorder.describe_counter(
                KeyName::from_const_str(name),
                None,
                SharedString::const_str(help),
            );
        }
        self.inner
            .recorder
            .register_counter(&key(name, labels), &METADATA)
    }

    /// Registers (or finds) the gauge `name` with these labels; `help` becomes its
    /// `# HELP` line (the first help given for a name wins).
    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, String)],
    ) -> metrics::Gauge {
        if self.first_description(name) {
            self.inner.recorder.describe_gauge(
                KeyName::from_const_str(name),
                None,
                SharedString::const_str(help),
            );
        }
        self.inner
            .recorder
            .register_gauge(&key(name, labels), &METADATA)
    }

    /// Registers (or finds) the histogram `name` with these labels; `help` becomes its
    /// `# HELP` line (the first help given for a name wins). Record seconds for latencies.
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, String)],
    ) -> metrics::Histogram {
        if self.first_description(name) {
            self.inner.recorder.describe_histogram(
                KeyName::from_const_str(name),
                None,
                SharedString::const_str(help),
            );
        }
        self.inner
            .recorder
            .register_histogram(&key(name, labels), &METADATA)
    }

    /// Leaves every series that carries all of `labels` out of
    /// [`Registry::render`], until [`Registry::show_series`] is called with the
    /// same labels: a removed backend's series must not stay on dashboards
    /// forever. The handles keep working; shown again, the series resume their
    /// values (counters stay monotonic).
    pub fn hide_series(&self, labels: &[(&'static str, String)]) {
        let rendered = rendered_labels(labels);
        let mut hidden = self.inner.hidden.lock();
        if !hidden.contains(&rendered) {
            hidden.push(rendered);
        }
    }

    /// Undoes [`Registry::hide_series`] for exactly these labels.
    pub fn show_series(&self, labels: &[(&'static str, String)]) {
        let rendered = rendered_labels(labels);
        self.inner.hidden.lock().retain(|set| *set != rendered);
    }

    fn first_description(&self, name: &'static str) -> bool {
        self.inner.described.lock().insert(name)
    }

    /// Everything registered, plus the process metrics, in the Prometheus text format
    /// 0.0.4 with `# HELP` and `# TYPE` lines. Families are sorted by name so two
    /// scrapes diff cleanly.
    ///
    /// Rendering drains the histogram samples recorded since the last render or upkeep
    /// into their buckets.
    pub fn render(&self) -> String {
        let raw = self.inner.handle.render();
        let mut families: Vec<&str> = raw
            .split("\n\n")
            .filter(|family| !family.trim().is_empty())
            .collect();
        families.sort_by_key(|family| family_name(family));
        let hidden = self.inner.hidden.lock().clone();
        let mut out = String::with_capacity(raw.len() + 1024);
        for family in families {
            push_family(&mut out, family, &hidden);
        }
        process::render(&mut out);
        out
    }
}

fn build_recorder(histograms: &[(&str, &[f64])]) -> Result<PrometheusRecorder, BuildError> {
    let mut builder = PrometheusBuilder::new().set_buckets(DEFAULT_LATENCY_BUCKETS)?;
    for (name, bounds) in histograms {
        let bounds = clean_buckets(bounds);
        if bounds.is_empty() {
            tracing::warn!(
                metric = name,
                "histogram has no usable bucket boundaries; using the defaults"
            );
            continue;
        }
        builder = builder.set_buckets_for_metric(Matcher::Full((*name).to_string()), &bounds)?;
    }
    Ok(builder.build_recorder())
}

/// Appends one family block without the samples of `hidden` label sets (and
/// nothing when none is left); counter and gauge samples are sorted by label
/// set so the output is stable (histogram lines keep their `le` order).
fn push_family(out: &mut String, family: &str, hidden: &[Vec<String>]) {
    let family = family.trim_end_matches('\n');
    let sortable = family
        .lines()
        .any(|l| l.starts_with("# TYPE ") && (l.ends_with(" counter") || l.ends_with(" gauge")));
    let (mut comments, mut samples): (Vec<&str>, Vec<&str>) =
        family.lines().partition(|l| l.starts_with('#'));
    samples.retain(|line| !hidden.iter().any(|set| has_labels(line, set)));
    if samples.is_empty() {
        return;
    }
    if sortable {
        samples.sort_unstable();
    }
    comments.append(&mut samples);
    for line in comments {
        out.push_str(line);
        out.push('\n');
    }
}

/// Each label as the text format renders it: `name="value"`, the value escaped.
fn rendered_labels(labels: &[(&'static str, String)]) -> Vec<String> {
    labels
        .iter()
        .map(|(name, value)| {
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{name}=\"{escaped}\"")
        })
        .collect()
}

/// Whether the sample `line` carries every label of `set`.
fn has_labels(line: &str, set: &[String]) -> bool {
    let (Some(open), Some(close)) = (line.find('{'), line.rfind('}')) else {
        return false;
    };
    let inner = format!(",{},", line.get(open + 1..close).unwrap_or_default());
    set.iter()
        .all(|label| inner.contains(&format!(",{label},")))
}

/// The metric name a rendered family block is about (from its first `# HELP`/`# TYPE` line).
fn family_name(family: &str) -> &str {
    let first = family.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("# HELP ")
        .or_else(|| first.strip_prefix("# TYPE "))
        .unwrap_or(first);
    rest.split([' ', '{']).next().unwrap_or_default()
}

fn key(name: &'static str, labels: &[(&'static str, String)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.clone()))
        .collect();
    Key::from_parts(name, labels)
}

/// Finite boundaries, ascending, without duplicates (the bucketing assumes sorted bounds).
fn clean_buckets(bounds: &[f64]) -> Vec<f64> {
    let mut out: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

fn spawn_upkeep(handle: PrometheusHandle) -> Option<mpsc::Sender<()>> {
    let (tx, rx) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            // Nothing is ever sent: the channel only disconnects when the registry is gone.
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(UPKEEP_INTERVAL) {
                handle.run_upkeep();
            }
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(error) => {
            tracing::warn!(%error, "cannot start the metrics upkeep thread; histograms drain only when scraped");
            None
        }
    }
}

/// Standard process metrics from `/proc/self`, appended at render time.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod process {
    #[cfg(target_os = "linux")]
    use std::fmt::Write;

    /// Clock ticks per second of the times in `/proc/<pid>/stat`. The kernel reports
    /// them in USER_HZ, which is 100 on every architecture Linux exposes to user space.
    #[cfg(target_os = "linux")]
    const USER_HZ: f64 = 100.0;

    /// Appends every process metric this platform can provide.
    pub(super) fn render(out: &mut String) {
        #[cfg(target_os = "linux")]
        linux(out);
        #[cfg(not(target_os = "linux"))]
        let _ = out;
    }

    #[cfg(target_os = "linux")]
    fn family(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }

    #[cfg(target_os = "linux")]
    fn linux(out: &mut String) {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let stat = stat.as_deref().and_then(parse_stat);
        if let Some(stat) = &stat {
            let cpu = (stat.utime + stat.stime) as f64 / USER_HZ;
            family(
                out,
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                cpu,
            );
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle itself is one of the entries; do not count it.
            let open = fds.count().saturating_sub(1);
            family(
                out,
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
                open as f64,
            );
        }
        if let Some(max) = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .as_deref()
            .and_then(parse_max_fds)
        {
            family(
                out,
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
                max as f64,
            );
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(kib) = status_kib(&status, "VmRSS:") {
                family(
                    out,
                    "process_resident_memory_bytes",
                    "gauge",
                    "Resident memory size in bytes.",
                    (kib * 1024) as f64,
                );
            }
            if let Some(kib) = status_kib(&status, "VmSize:") {
                family(
                    out,
                    "process_virtual_memory_bytes",
                    "gauge",
                    "Virtual memory size in bytes.",
                    (kib * 1024) as f64,
                );
            }
        }
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()
            .as_deref()
            .and_then(parse_btime);
        if let (Some(stat), Some(boot)) = (&stat, boot) {
            let start = boot as f64 + stat.starttime as f64 / USER_HZ;
            family(
                out,
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
                start,
            );
        }
    }

    /// The fields of `/proc/self/stat` we use, in clock ticks.
    #[derive(Debug, PartialEq)]
    pub(super) struct Stat {
        pub(super) utime: u64,
        pub(super) stime: u64,
        pub(super) starttime: u64,
    }

    /// Parses `/proc/<pid>/stat`. The command name (field 2) may hold spaces and
    /// parentheses, so fields are counted from after its last `)`.
    pub(super) fn parse_stat(text: &str) -> Option<Stat> {
        let (_, rest) = text.rsplit_once(')')?;
        // After ")": field 3 (state) is index 0, so field N is index N - 3.
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        Some(Stat {
            utime: field(14)?,
            stime: field(15)?,
            starttime: field(22)?,
        })
    }

    /// The soft limit on open files from `/proc/<pid>/limits` (`None` if unlimited).
    pub(super) fn parse_max_fds(text: &str) -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        line.trim_start_matches("Max open files")
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// A `Key:   1234 kB` value from `/proc/<pid>/status`, in KiB.
    pub(super) fn status_kib(text: &str, key: &str) -> Option<u64> {
        let value = text.lines().find_map(|l| l.strip_prefix(key))?;
        value.split_whitespace().next()?.parse().ok()
    }

    /// Boot time (seconds since the epoch) from `/proc/stat`.
    pub(super) fn parse_btime(text: &str) -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn counter_with_labels_renders_help_type_and_values() {
        let registry = Registry::new(&[]);
        let hits = registry.counter("test_hits_total", "Hits by kind.", &[("kind", "a".into())]);
        let other = registry.counter(
            "test_hits_total",
            "ignored second help",
            &[("kind", "b".into())],
        );
        hits.increment(3);
        other.increment(1);
        let text = registry.render();
        assert!(
            text.contains("# HELP test_hits_total Hits by kind.\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE test_hits_total counter\n"), "{text}");
        assert!(text.contains("test_hits_total{kind=\"a\"} 3\n"), "{text}");
        assert!(text.contains("test_hits_total{kind=\"b\"} 1\n"), "{text}");
        assert!(!text.contains("ignored second help"));
        let (a, b) = (text.find("kind=\"a\""), text.find("kind=\"b\""));
        assert!(a < b, "samples sorted by label set: {text}");
    }

    #[test]
    fn hidden_label_sets_leave_render_until_shown_again() {
        let registry = Registry::new(&[]);
        let gone = [
            ("server", "b1".to_string()),
            ("address", "10.0.0.1:53".to_string()),
        ];
        let kept = [
            ("server", "b2".to_string()),
            ("address", "10.0.0.2:53".to_string()),
        ];
        registry
            .counter("test_sent_total", "Sent.", &gone)
            .increment(5);
        registry
            .counter("test_sent_total", "Sent.", &kept)
            .increment(7);
        registry
            .histogram("test_rtt_seconds", "RTT.", &gone)
            .record(0.01);
        let quoted = [("server", "a \"q\"".to_string())];
        registry.gauge("test_up", "Up.", &quoted).set(1.0);

        registry.hide_series(&gone);
        registry.hide_series(&quoted);
        let text = registry.render();
        assert!(!text.contains("b1"), "{text}");
        assert!(text.contains("server=\"b2\""), "{text}");
        assert!(
            !text.contains("test_rtt_seconds"),
            "a family with nothing left is left out: {text}"
        );
        assert!(!text.contains("test_up"), "escaped values match: {text}");

        registry.show_series(&gone);
        registry
            .counter("test_sent_total", "Sent.", &gone)
            .increment(1);
        let text = registry.render();
        assert!(
            text.contains("test_sent_total{server=\"b1\",address=\"10.0.0.1:53\"} 6\n"),
            "shown again with its count: {text}"
        );
    }

    #[test]
    fn same_name_and_labels_is_the_same_counter() {
        let registry = Registry::new(&[]);
        registry
            .counter("test_same_total", "Same.", &[])
            .increment(1);
        registry
            .counter("test_same_total", "Same.", &[])
            .increment(1);
        assert!(registry.render().contains("test_same_total 2\n"));
    }

    #[test]
    fn gauge_renders_and_label_values_are_escaped() {
        let registry = Registry::new(&[]);
        let gauge = registry.gauge("test_size", "A size.", &[("cache", "msg \"x\"".into())]);
        gauge.set(42.5);
        let text = registry.render();
        assert!(text.contains("# HELP test_size A size.\n"), "{text}");
        assert!(text.contains("# TYPE test_size gauge\n"), "{text}");
        assert!(
            text.contains("test_size{cache=\"msg \\\"x\\\"\"} 42.5\n"),
            "{text}"
        );
    }

    #[test]
    fn histogram_gets_custom_buckets() {
        let registry = Registry::new(&[("test_custom_seconds", &[1.0, 0.1, 0.1, f64::NAN])]);
        let h = registry.histogram("test_custom_seconds", "Custom.", &[("proto", "udp".into())]);
        h.record(0.05);
        h.record(0.5);
        h.record(3.0);
        let text = registry.render();
        assert!(
            text.contains("# HELP test_custom_seconds Custom.\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE test_custom_seconds histogram\n"),
            "{text}"
        );
        assert_eq!(
            lines_of(&text, "test_custom_seconds_bucket"),
            vec![
                "test_custom_seconds_bucket{proto=\"udp\",le=\"0.1\"} 1",
                "test_custom_seconds_bucket{proto=\"udp\",le=\"1\"} 2",
                "test_custom_seconds_bucket{proto=\"udp\",le=\"+Inf\"} 3",
            ]
        );
        assert!(
            text.contains("test_custom_seconds_sum{proto=\"udp\"} 3.55\n"),
            "{text}"
        );
        assert!(
            text.contains("test_custom_seconds_count{proto=\"udp\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn other_histograms_get_default_buckets_not_summaries() {
        let registry = Registry::new(&[("test_custom_seconds", &[1.0])]);
        let h = registry.histogram("test_default_seconds", "Default.", &[]);
        h.record(0.003);
        let text = registry.render();
        assert!(
            text.contains("# TYPE test_default_seconds histogram\n"),
            "{text}"
        );
        assert!(!text.contains("quantile"), "{text}");
        let buckets = lines_of(&text, "test_default_seconds_bucket");
        assert_eq!(buckets.len(), DEFAULT_LATENCY_BUCKETS.len() + 1, "{text}");
        assert!(
            text.contains("test_default_seconds_bucket{le=\"0.0025\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("test_default_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("test_default_seconds_bucket{le=\"+Inf\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn histogram_samples_accumulate_across_renders() {
        let registry = Registry::new(&[]);
        let h = registry.histogram("test_acc_seconds", "Acc.", &[]);
        h.record(0.001);
        let _ = registry.render();
        h.record(0.001);
        let text = registry.render();
        assert!(text.contains("test_acc_seconds_count 2\n"), "{text}");
    }

    #[test]
    fn registered_but_unused_metrics_render_as_zero() {
        let registry = Registry::new(&[]);
        let _c = registry.counter("test_unused_total", "Unused.", &[]);
        let _h = registry.histogram("test_unused_seconds", "Unused.", &[]);
        let text = registry.render();
        assert!(text.contains("test_unused_total 0\n"), "{text}");
        assert!(text.contains("test_unused_seconds_count 0\n"), "{text}");
    }

    #[test]
    fn two_registries_are_independent() {
        let a = Registry::new(&[]);
        let b = Registry::new(&[]);
        a.counter("test_indep_total", "A.", &[]).increment(5);
        b.counter("test_indep_total", "B.", &[]).increment(1);
        b.gauge("test_only_b", "B only.", &[]).set(1.0);
        let (ta, tb) = (a.render(), b.render());
        assert!(
            ta.contains("# HELP test_indep_total A.\n") && ta.contains("test_indep_total 5\n"),
            "{ta}"
        );
        assert!(
            tb.contains("# HELP test_indep_total B.\n") && tb.contains("test_indep_total 1\n"),
            "{tb}"
        );
        assert!(!ta.contains("test_only_b"), "{ta}");
    }

    #[test]
    fn families_are_sorted_and_separated() {
        let registry = Registry::new(&[]);
        registry.counter("test_zz_total", "Z.", &[]).increment(1);
        registry.gauge("test_aa", "A.", &[]).set(1.0);
        registry.counter("test_mm_total", "M.", &[]).increment(1);
        let text = registry.render();
        let order: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter(|l| l.starts_with("test_"))
            .collect();
        assert_eq!(
            order,
            vec![
                "test_aa gauge",
                "test_mm_total counter",
                "test_zz_total counter"
            ]
        );
        assert!(!text.contains("\n\n\n"));
        assert!(text.ends_with('\n'));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_metrics_are_present_on_linux() {
        let text = Registry::new(&[]).render();
        for name in [
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{text}"
            );
            let value: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1.0);
            assert!(value >= 0.0, "{name} = {value}");
        }
    }

    #[test]
    fn proc_parsers() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 98765 1000 200 rest";
        assert_eq!(
            process::parse_stat(stat),
            Some(process::Stat {
                utime: 250,
                stime: 50,
                starttime: 98765
            })
        );
        assert_eq!(process::parse_stat("garbage"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(process::parse_max_fds(limits), Some(1024));
        assert_eq!(
            process::parse_max_fds("Max open files unlimited unlimited files"),
            None
        );
        assert_eq!(
            process::status_kib("Name:\tx\nVmRSS:\t    5120 kB\n", "VmRSS:"),
            Some(5120)
        );
        assert_eq!(
            process::parse_btime("cpu 1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }
}
