//! One place that turns "what the backends should be" (the config's static
//! list plus the addresses discovery found) into the routing in force, for
//! SIGHUP and for discovery alike: backends whose settings did not change are
//! kept with their queries in flight and health state, new ones are connected
//! and checked, removed ones drain and retire, and every change is logged and
//! counted.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use common::metrics::Registry;
use common::shutdown::Shutdown;
use metrics::Counter;
use tokio::sync::Mutex;

use crate::backend::Backend;
use crate::config::{BackendConfig, Config};
use crate::error::Error;
use crate::handler::{Lb, Routing};
use crate::health::spawn_checks;
use crate::metrics::LbMetrics;

struct Desired {
    config: Config,
    discovered: BTreeSet<SocketAddr>,
}

/// Applies config and discovery changes to the running lb, one at a time.
pub struct Reconciler {
    lb: Arc<Lb>,
    registry: Registry,
    metrics: LbMetrics,
    stop: Shutdown,
    desired: Mutex<Desired>,
    added: Counter,
    removed: Counter,
}

impl Reconciler {
    /// Connects the backends of `config` and builds the lb on them.
    pub async fn start(
        config: Config,
        registry: Registry,
        metrics: LbMetrics,
        stop: Shutdown,
    ) -> Result<(Arc<Reconciler>, Arc<Lb>), Error> {
        let backends = connect(
            &config,
            &backend_configs(&config, &BTreeSet::new()),
            &[],
            &registry,
            &metrics,
            &stop,
        )
        .await?;
        let lb = Arc::new(Lb::new(Routing::new(&config, backends), metrics.clone()));
        let counter = |change: &str| {
            registry.counter(
                "dnsdist_backend_changes",
                "Backends added or removed (reload or discovery).",
                &[("change", change.to_string())],
            )
        };
        let reconciler = Arc::new(Reconciler {
            lb: lb.clone(),
            added: counter("added"),
            removed: counter("removed"),
            registry,
            metrics,
            stop,
            desired: Mutex::new(Desired {
                config,
                discovered: BTreeSet::new(),
            }),
        });
        Ok((reconciler, lb))
    }

    /// The config in force.
    pub async fn config(&self) -> Config {
        self.desired.lock().await.config.clone()
    }

    /// A new config (SIGHUP): backends, policy, ACL and timeouts.
    pub async fn set_config(&self, config: Config) -> Result<(), Error> {
        let mut desired = self.desired.lock().await;
        self.apply(&config, &desired.discovered).await?;
        desired.config = config;
        Ok(())
    }

    /// A new set of discovered addresses; nothing happens when it is unchanged.
    pub async fn set_discovered(&self, discovered: BTreeSet<SocketAddr>) -> Result<(), Error> {
        let mut desired = self.desired.lock().await;
        if desired.discovered == discovered {
            return Ok(());
        }
        self.apply(&desired.config, &discovered).await?;
        desired.discovered = discovered;
        Ok(())
    }

    async fn apply(&self, config: &Config, discovered: &BTreeSet<SocketAddr>) -> Result<(), Error> {
        let old = self.lb.routing();
        let wanted = backend_configs(config, discovered);
        let backends = connect(
            config,
            &wanted,
            old.selector.backends(),
            &self.registry,
            &self.metrics,
            &self.stop,
        )
        .await?;
        for b in &backends {
            if !old.selector.backends().iter().any(|o| Arc::ptr_eq(o, b)) {
                self.added.increment(1);
                tracing::info!(backend = %b.config.name, addr = %b.config.addr, "backend added");
            }
        }
        for o in old.selector.backends() {
            if !backends.iter().any(|b| Arc::ptr_eq(o, b)) {
                self.removed.increment(1);
                tracing::info!(backend = %o.config.name, addr = %o.config.addr, "backend removed");
                o.retire();
            }
        }
        self.lb.replace_routing(Routing::new(config, backends));
        Ok(())
    }
}

/// The static backends of `config`, then one per discovered address not
/// already listed.
fn backend_configs(config: &Config, discovered: &BTreeSet<SocketAddr>) -> Vec<BackendConfig> {
    let mut out = config.backends.clone();
    for &addr in discovered {
        if !out.iter().any(|b| b.addr == addr) {
            out.push(BackendConfig {
                name: addr.to_string(),
                addr,
                weight: 1,
                order: 1,
            });
        }
    }
    out
}

/// The backends `wanted`: those of `current` with the same settings are kept
/// (with their queries in flight and health state); the others are connected,
/// and their receive loops and checks started.
async fn connect(
    config: &Config,
    wanted: &[BackendConfig],
    current: &[Arc<Backend>],
    registry: &Registry,
    metrics: &LbMetrics,
    stop: &Shutdown,
) -> Result<Vec<Arc<Backend>>, Error> {
    let mut backends = Vec::with_capacity(wanted.len());
    let mut fresh = Vec::new();
    for b in wanted {
        if let Some(kept) = current.iter().find(|c| c.config == *b) {
            backends.push(kept.clone());
            continue;
        }
        let backend = Backend::connect(b.clone(), config.max_outstanding, registry, metrics)
            .await
            .map_err(|source| Error::Io {
                context: format!("cannot open a socket to backend {} ({})", b.name, b.addr),
                source,
            })?;
        fresh.push(backend.clone());
        backends.push(backend);
    }
    // A retired backend's loop keeps receiving until its queries in flight are
    // answered or timed out (with a margin for the retry).
    let grace = config.timeout.saturating_mul(2) + std::time::Duration::from_millis(100);
    for backend in &fresh {
        let backend = backend.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let until = async {
                tokio::select! {
                    _ = stop.requested() => {}
                    _ = backend.retired_and_drained(grace) => {}
                }
            };
            backend.forwarder.receive(until).await;
        });
    }
    spawn_checks(&fresh, &config.health, stop);
    Ok(backends)
}
