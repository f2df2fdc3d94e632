//! High availability, served natively with Kea's HA hook's configuration
//! and wire protocol, so a pair of ours, or ours beside a Kea 2.2 with
//! libdhcp_ha.so, shares one pool without a single point of failure.
//!
//! - [`query`]: which server's scope a query falls in (RFC 3074 hash).
//! - [`state`]: Kea's states, scopes and DHCP service per state.
//! - [`client`]: commands to peers over HTTP(S).
//! - [`machine`]: heartbeats, failure detection, the state machine,
//!   lease synchronisation.
//! - [`updates`]: lease updates to the peers before the client's reply.
//! - [`commands`]: the ha-* commands and status-get's HA report.
//!
//! The receive threads read only atomics here (the state, the scopes
//! served, whether communication is interrupted); everything else sits
//! behind one mutex the machine and the commands take.

pub mod client;
pub mod commands;
pub mod machine;
pub mod query;
pub mod state;
pub mod updates;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::model::{Ha, HaMode, HaRole};
use client::PeerClient;
use state::{Partner, Scopes, State, STATES};
use updates::{Update, Updater};

/// What HA decided about a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission<'a> {
    /// Serve it, in this class (`HA_<scope>`).
    Serve(&'a str),
    /// Another server's scope: drop it.
    Drop,
}

/// The HA service of this server.
pub struct HaService {
    config: Ha,
    role: HaRole,
    /// The failover peer (the partner), when there is one.
    partner: Option<Arc<PeerClient>>,
    partner_role: Option<HaRole>,
    partner_auto_failover: bool,
    /// Backup peers.
    backups: Vec<Arc<PeerClient>>,
    /// `HA_<primary name>`, `HA_<secondary name>`.
    classes: [String; 2],
    /// Names of the primary's and the secondary's scopes.
    scope_names: [Option<String>; 2],
    state: AtomicU8,
    scopes: AtomicU8,
    interrupted: AtomicBool,
    inner: Mutex<Inner>,
    /// Wakes the machine (a command or an update outcome changed things).
    wake: Notify,
    updater: Updater,
    metrics: metrics::HaMetrics,
    /// Held until the server first settles (in sync with its partner, or
    /// serving without it): `/readyz` waits for it, so a rolling update
    /// moves on only once the restarted server has its partner's leases.
    settled: Mutex<Option<common::readiness::Latch>>,
}

impl std::fmt::Debug for HaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaService")
            .field("this", &self.config.this_server)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// The machine's state behind the mutex.
#[derive(Debug)]
struct Inner {
    state: State,
    /// The state before maintenance (where a cancel returns).
    before_maintenance: Option<State>,
    paused: bool,
    paused_once: Vec<State>,
    /// Entered partner-down through ha-maintenance-start: take every scope.
    failover_for_maintenance: bool,
    /// Scopes set by ha-scopes, until the next state change.
    scopes_override: Option<Scopes>,
    partner: Partner,
    partner_scopes: Vec<String>,
    partner_seen: Option<Instant>,
    /// The partner's last two unsent-update-counts (older, newer).
    partner_unsent: (Option<i64>, Option<i64>),
    /// Last successful exchange with the partner.
    poke: Instant,
    /// Clients seen while communication is interrupted: unacked or not.
    clients: HashMap<Vec<u8>, bool>,
    /// How many of `clients` are unacked.
    unacked: usize,
    analyzed: u64,
    /// Updates not sent to the partner while it could not take them.
    unsent_updates: i64,
    sync_complete_notified: bool,
    /// Partner clock minus ours, in seconds, at the last heartbeat.
    clock_skew: i64,
    last_skew_warning: Option<Instant>,
    /// Updates queued in communication-recovery.
    backlog: VecDeque<Update>,
    overflowed: bool,
}

mod metrics {
    //! The HA metrics.
    use common::metrics::Registry;
    use metrics::{Counter, Gauge};

    use super::state::{State, STATES};

    /// Counters and gauges of the HA service.
    #[derive(Debug, Clone)]
    pub struct HaMetrics {
        pub states: Vec<Gauge>,
        pub partner_states: Vec<Gauge>,
        pub updates_sent: Counter,
        pub updates_failed: Counter,
        pub updates_unsent: Counter,
        pub unacked: Gauge,
        pub synced_leases: Counter,
        pub syncs: Counter,
        pub sync_failures: Counter,
    }

    impl HaMetrics {
        pub fn new(registry: &Registry) -> HaMetrics {
            let states = STATES
                .iter()
                .map(|s| {
                    registry.gauge(
                        "dhcp4_ha_state",
                        "1 for this server's HA state, 0 for the others (Kea's HA states).",
                        &[("state", s.name().to_string())],
                    )
                })
                .collect();
            let partner_states = STATES
                .iter()
                .map(|s| s.name())
                .chain(["unavailable", "unknown"])
                .map(|name| {
                    registry.gauge(
                        "dhcp4_ha_partner_state",
                        "1 for the partner's last known HA state.",
                        &[("state", name.to_string())],
                    )
                })
                .collect();
            let updates = |result: &str| {
                registry.counter(
                    "dhcp4_ha_lease_updates_total",
                    "Lease updates to HA peers, by result (sent: acknowledged; failed: the client's reply was dropped; unsent: the partner could not take them).",
                    &[("result", result.to_string())],
                )
            };
            HaMetrics {
                states,
                partner_states,
                updates_sent: updates("sent"),
                updates_failed: updates("failed"),
                updates_unsent: updates("unsent"),
                unacked: registry.gauge(
                    "dhcp4_ha_unacked_clients",
                    "Clients of the partner's scope seen unanswered while communication is interrupted.",
                    &[],
                ),
                synced_leases: registry.counter(
                    "dhcp4_ha_sync_leases_total",
                    "Leases fetched from the partner by lease synchronisation.",
                    &[],
                ),
                syncs: registry.counter(
                    "dhcp4_ha_syncs_total",
                    "Lease synchronisations completed.",
                    &[],
                ),
                sync_failures: registry.counter(
                    "dhcp4_ha_sync_failures_total",
                    "Lease synchronisations that failed (retried).",
                    &[],
                ),
            }
        }

        pub fn state(&self, state: State) {
            for (gauge, s) in self.states.iter().zip(STATES) {
                gauge.set(if s == state { 1.0 } else { 0.0 });
            }
        }

        pub fn partner(&self, name: &str) {
            let names = STATES
                .iter()
                .map(|s| s.name())
                .chain(["unavailable", "unknown"]);
            for (gauge, n) in self.partner_states.iter().zip(names) {
                gauge.set(if n == name { 1.0 } else { 0.0 });
            }
        }
    }
}

impl HaService {
    /// The service for `config`: clients of the peers (TLS files read now).
    pub fn new(config: &Ha, registry: &common::metrics::Registry) -> Result<HaService, String> {
        let Some(me) = config.peers.iter().find(|p| p.name == config.this_server) else {
            return Err(format!(
                "no peer configuration specified for the '{}'",
                config.this_server
            ));
        };
        // Kea's failover peer: the first other non-backup peer by name.
        let mut others: Vec<_> = config
            .peers
            .iter()
            .filter(|p| p.name != me.name && p.role != HaRole::Backup)
            .collect();
        others.sort_by(|a, b| a.name.cmp(&b.name));
        let partner = match others.first() {
            Some(peer) if me.role != HaRole::Backup && config.mode != HaMode::PassiveBackup => {
                Some((
                    Arc::new(PeerClient::new(peer)?),
                    peer.role,
                    peer.auto_failover,
                ))
            }
            _ => None,
        };
        let backups = if me.role == HaRole::Backup {
            Vec::new()
        } else {
            config
                .peers
                .iter()
                .filter(|p| p.role == HaRole::Backup && p.name != me.name)
                .map(|p| PeerClient::new(p).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?
        };
        let name_of = |role| {
            config
                .peers
                .iter()
                .find(|p| p.role == role)
                .map(|p| p.name.clone())
        };
        let primary = name_of(HaRole::Primary);
        let secondary = match config.mode {
            HaMode::LoadBalancing => name_of(HaRole::Secondary),
            _ => None,
        };
        let classes = [
            format!("HA_{}", primary.as_deref().unwrap_or("")),
            format!("HA_{}", secondary.as_deref().unwrap_or("")),
        ];
        let metrics = metrics::HaMetrics::new(registry);
        let initial = if me.role == HaRole::Backup {
            State::Backup
        } else {
            State::Waiting
        };
        let service = HaService {
            config: config.clone(),
            role: me.role,
            partner_role: partner.as_ref().map(|p| p.1),
            partner_auto_failover: partner.as_ref().is_some_and(|p| p.2),
            partner: partner.map(|p| p.0),
            updater: Updater::new(),
            backups,
            classes,
            scope_names: [primary, secondary],
            state: AtomicU8::new(index_of(initial)),
            scopes: AtomicU8::new(0),
            interrupted: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                state: initial,
                before_maintenance: None,
                paused: false,
                paused_once: Vec::new(),
                failover_for_maintenance: false,
                scopes_override: None,
                partner: Partner::Unknown,
                partner_scopes: Vec::new(),
                partner_seen: None,
                partner_unsent: (None, None),
                poke: Instant::now(),
                clients: HashMap::new(),
                unacked: 0,
                analyzed: 0,
                unsent_updates: 0,
                sync_complete_notified: false,
                clock_skew: 0,
                last_skew_warning: None,
                backlog: VecDeque::new(),
                overflowed: false,
            }),
            wake: Notify::new(),
            metrics,
            settled: Mutex::new(None),
        };
        service.metrics.state(initial);
        service.metrics.partner("unknown");
        Ok(service)
    }

    /// Holds `latch` until the server first settles.
    pub fn hold_until_settled(&self, latch: common::readiness::Latch) {
        *self.settled.lock() = Some(latch);
    }

    /// The configuration.
    pub fn config(&self) -> &Ha {
        &self.config
    }

    /// The state now.
    pub fn state(&self) -> State {
        let i = usize::from(self.state.load(Ordering::Relaxed));
        STATES.get(i).copied().unwrap_or(State::Waiting)
    }

    /// Whether to serve `query` (HOT PATH): in one of the scopes served
    /// now. A query of another scope is counted for failure detection
    /// while communication with the partner is interrupted.
    pub fn admit(&self, request: &[u8]) -> Admission<'_> {
        let Some(query) = query::inspect(request) else {
            return Admission::Serve(&self.classes[0]);
        };
        if !query.is_filtered() {
            return Admission::Serve(&self.classes[0]);
        }
        let scope = match self.config.mode {
            HaMode::LoadBalancing => match query.client_hash() {
                Some(h) => usize::from(h % 2),
                None => return Admission::Drop,
            },
            _ => 0,
        };
        let served = Scopes::from_bits(self.scopes.load(Ordering::Relaxed));
        let in_scope = if scope == 0 {
            served.primary
        } else {
            served.secondary
        };
        if in_scope {
            return Admission::Serve(&self.classes[scope]);
        }
        if self.interrupted.load(Ordering::Relaxed) {
            self.analyze(&query);
        }
        Admission::Drop
    }

    /// Records a client of another scope while communication is
    /// interrupted (Kea's CommunicationState4::analyzeMessage).
    fn analyze(&self, query: &query::Query<'_>) {
        let unacked = u32::from(query.secs) * 1000 > self.config.max_ack_delay_ms;
        let mut key = query.chaddr.to_vec();
        key.push(0xff);
        key.extend_from_slice(query.client_id.unwrap_or(&[]));
        let mut inner = self.inner.lock();
        inner.analyzed += 1;
        let was = match inner.clients.get(&key) {
            Some(was) => *was,
            // Bounded: a flood of made-up clients cannot grow it further
            // (failure is long detected by then).
            None if inner.clients.len() >= MAX_CLIENTS => return,
            None => false,
        };
        if unacked && !was {
            inner.unacked += 1;
            self.metrics.unacked.set(inner.unacked as f64);
        }
        inner.clients.insert(key, was || unacked);
    }

    /// Whether this server answers some clients now.
    pub fn serves_a_scope(&self) -> bool {
        self.state().serves() && self.scopes.load(Ordering::Relaxed) != 0
    }

    /// Whether lease updates go to the partner before replies now.
    pub fn sends_updates(&self) -> bool {
        self.config.send_lease_updates && self.state().sends_updates()
    }

    /// Lets the machine run now rather than at the next heartbeat.
    pub fn poke_machine(&self) {
        self.wake.notify_one();
    }
}

/// Clients remembered for failure detection, at most.
const MAX_CLIENTS: usize = 10_000;

/// A state's position in [`STATES`].
fn index_of(state: State) -> u8 {
    STATES
        .iter()
        .position(|s| *s == state)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(0)
}

/// `ms` as a duration.
fn millis(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}
