//! Node-local mode (NodeLocal DNSCache, natively): the lb as a caching
//! agent on every node, on a link-local address of an interface of its own,
//! with the packet-filter rules of the node-local-dns contract.
//!
//! The agent's life, one step each:
//! 1. [`Agent::set_up`], before the listeners bind: the interface and its
//!    addresses ([`iface`]), then the serving rules ([`rules`]).
//! 2. [`Agent::spawn_checker`]: every `check-interval` the interface and the
//!    rules are looked at and whatever someone removed is put back (node-cache
//!    checks every 60 s too), until shutdown begins; then the hand-over: the
//!    rules send every new query to the cluster DNS while the front end
//!    answers what it has received (lameduck and drain).
//! 3. [`Agent::tear_down`], after the drain: the rules but the fallback (or
//!    all of them), then the interface.
//!
//! After a crash (kill -9, which skips the rest) no socket is bound to the
//! agent's addresses: the `-m socket` rules then send every query to the
//! cluster DNS, until the next agent binds.

pub mod iface;
pub mod metrics;
pub mod rules;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ::metrics::Counter;
use common::metrics::Registry;
use common::readiness::Readiness;

use self::iface::{IfaceError, Interface};
use self::rules::{Firewall, Phase, RulesError};

/// The node-local settings (`[node-local]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLocalConfig {
    /// The interface and the agent's addresses on it.
    pub interface: Interface,
    /// The rules and their backend.
    pub firewall: Firewall,
    /// How often the checker repairs the interface and the rules.
    pub check_interval: Duration,
    /// `/health` (CoreDNS's health plugin: 200 `OK` while the agent runs),
    /// for the DaemonSet's liveness probe (`health-addr`; default: the
    /// first agent address, port 8080).
    pub health_addr: SocketAddr,
    /// The cluster DNS the cluster zones are forwarded to over TCP
    /// (`cluster-dns`; default: the fallback address).
    pub cluster_dns: SocketAddr,
    /// The cluster domain and the reverse zones (`cluster-domain`,
    /// `reverse-zones`), forwarded to the cluster DNS.
    pub cluster_zones: Vec<String>,
    /// At exit, leave the fallback DNAT in place (`keep-fallback`, default
    /// on): queries to the agent's addresses keep reaching the cluster DNS
    /// until the next agent starts. Off, every rule goes (an uninstall).
    pub keep_fallback: bool,
}

/// Why the node-local set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeLocalError {
    /// The interface.
    #[error(transparent)]
    Interface(#[from] IfaceError),
    /// The rules.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// `/health`'s address.
    #[error("cannot listen on {addr} for /health: {source}")]
    Health {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The node-local agent's interface and rules over its life.
#[derive(Debug)]
pub struct Agent {
    config: NodeLocalConfig,
    metrics: AgentMetrics,
    /// `/health`'s listener, bound once the interface holds its address.
    health: parking_lot::Mutex<Option<std::net::TcpListener>>,
}

/// node-cache's `coredns_nodecache_setup_errors_total{errortype}` (what the
/// node-local dashboards and alerts read), and the checker's repairs.
#[derive(Debug)]
struct AgentMetrics {
    interface_add: Counter,
    interface_check: Counter,
    iptables: Counter,
    repaired_interface: Counter,
    repaired_rules: Counter,
}

impl AgentMetrics {
    fn new(registry: &Registry) -> AgentMetrics {
        let error = |kind: &str| {
            registry.counter(
                "coredns_nodecache_setup_errors_total",
                "Errors setting up or checking the node-local interface and rules (as node-cache).",
                &[("errortype", kind.to_string())],
            )
        };
        let repaired = |what: &str| {
            registry.counter(
                "nodelocal_repairs_total",
                "Times the checker put back the node-local interface or rules after someone removed them.",
                &[("what", what.to_string())],
            )
        };
        AgentMetrics {
            interface_add: error("interface_add"),
            interface_check: error("interface_check"),
            iptables: error("iptables"),
            repaired_interface: repaired("interface"),
            repaired_rules: repaired("rules"),
        }
    }
}

impl Agent {
    /// An agent for `config`, its metrics in `registry`.
    pub fn new(config: NodeLocalConfig, registry: &Registry) -> Agent {
        Agent {
            config,
            metrics: AgentMetrics::new(registry),
            health: parking_lot::Mutex::new(None),
        }
    }

    /// Step 1: the interface with its addresses, then the serving rules.
    pub async fn set_up(&self) -> Result<(), NodeLocalError> {
        let repairs = self.config.interface.ensure().await.inspect_err(|_| {
            self.metrics.interface_add.increment(1);
        })?;
        let added = self
            .apply_blocking(Phase::Serving)
            .await
            .inspect_err(|_| self.metrics.iptables.increment(1))?;
        let health = common::admin::bind(self.config.health_addr).map_err(|source| {
            NodeLocalError::Health {
                addr: self.config.health_addr,
                source,
            }
        })?;
        *self.health.lock() = Some(health);
        tracing::info!(
            interface = %self.config.interface.name,
            kind = self.config.interface.kind.as_str(),
            created = repairs.created,
            firewall = self.config.firewall.backend.as_str(),
            rules_added = added,
            "node-local interface and rules in place"
        );
        Ok(())
    }

    /// Serves `/health` (200 `OK` while the agent runs, as CoreDNS's health
    /// plugin) with the admin endpoint's `state`, until `stop`.
    pub fn serve_health(
        &self,
        mut state: common::admin::AdminState,
        stop: common::shutdown::Shutdown,
    ) {
        let Some(listener) = self.health.lock().take() else {
            return;
        };
        state.probes.push(common::admin::Probe {
            path: "/health",
            check: Arc::new(|| true),
        });
        common::admin::spawn(listener, state, stop);
    }

    /// Step 2: repairs the interface and the rules every `check-interval`
    /// until shutdown begins, then hands over.
    pub fn spawn_checker(self: &Arc<Self>, readiness: Readiness) {
        let agent = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(agent.config.check_interval);
            ticks.tick().await;
            loop {
                tokio::select! {
                    () = readiness.shutdown_begun() => break,
                    _ = ticks.tick() => agent.check().await,
                }
            }
            match agent.apply_blocking(Phase::Handover).await {
                Ok(_) => tracing::info!(
                    "node-local: new queries go to the cluster DNS while this agent drains"
                ),
                Err(error) => {
                    agent.metrics.iptables.increment(1);
                    tracing::error!(%error, "node-local hand-over rules failed");
                }
            }
        });
    }

    /// One check: puts back what is missing, and says so.
    async fn check(&self) {
        match self.config.interface.ensure().await {
            Ok(repairs) if repairs.any() => {
                self.metrics.repaired_interface.increment(1);
                tracing::warn!(interface = %self.config.interface.name, ?repairs, "node-local interface repaired");
            }
            Ok(_) => {}
            Err(error) => {
                self.metrics.interface_check.increment(1);
                tracing::error!(%error, "node-local interface check failed");
            }
        }
        match self.apply_blocking(Phase::Serving).await {
            Ok(0) => {}
            Ok(added) => {
                self.metrics.repaired_rules.increment(1);
                tracing::warn!(rules_added = added, "node-local rules repaired");
            }
            Err(error) => {
                self.metrics.iptables.increment(1);
                tracing::error!(%error, "node-local rules check failed");
            }
        }
    }

    /// Step 3: the rules (but the fallback, with `keep-fallback`) and the
    /// interface removed.
    pub async fn tear_down(&self) {
        let removed = if self.config.keep_fallback {
            self.apply_blocking(Phase::Absent).await.map(|_| ())
        } else {
            let firewall = self.config.firewall.clone();
            tokio::task::spawn_blocking(move || firewall.remove())
                .await
                .unwrap_or_else(|error| Err(task_failed(&error)))
        };
        if let Err(error) = removed {
            tracing::error!(%error, "node-local rules not removed");
        }
        match self.config.interface.remove().await {
            Ok(_) => {
                tracing::info!(interface = %self.config.interface.name, "node-local interface and rules removed")
            }
            Err(error) => tracing::error!(%error, "node-local interface not removed"),
        }
    }

    /// Applies `phase`'s rules off the async workers (they run processes).
    async fn apply_blocking(&self, phase: Phase) -> Result<usize, RulesError> {
        let firewall = self.config.firewall.clone();
        tokio::task::spawn_blocking(move || firewall.apply(phase))
            .await
            .unwrap_or_else(|error| Err(task_failed(&error)))
    }
}

/// The rules task itself failed (panicked or was cancelled).
fn task_failed(error: &tokio::task::JoinError) -> RulesError {
    RulesError::Spawn {
        tool: "rules task".into(),
        source: std::io::Error::other(error.to_string()),
    }
}
