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
use crate::handler::{serve_backend, Lb, Routing, TIMEOUT_TICK};
use crate::health::spawn_checks;
use crate::metrics::LbMetrics;
use crate::nodelocal::metrics::CorednsMetrics;

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
        let coredns = config.node_local.as_ref().and_then(|n| {
            let server = *n.interface.addrs.first()?;
            Some(CorednsMetrics::new(&registry, server, &n.cluster_zones))
        });
        let lb = Arc::new(Lb::new(
            Routing::new(&config, Vec::new()),
            metrics.clone(),
            coredns,
            config.cache.as_ref(),
        ));
        let backends = connect(
            &lb,
            &config,
            &backend_configs(&config, &BTreeSet::new()),
            &[],
            &registry,
            &metrics,
            &stop,
        )
        .await?;
        lb.replace_routing(Routing::new(&config, backends));
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
            &self.lb,
            config,
            &wanted,
            &old.backends(),
            &self.registry,
            &self.metrics,
            &self.stop,
        )
        .await?;
        for b in &backends {
            if !old.backends().iter().any(|o| Arc::ptr_eq(o, b)) {
                self.added.increment(1);
                tracing::info!(backend = %b.config.name, addr = %b.config.addr, "backend added");
            }
        }
        // New routing first, so nothing new goes to a backend being retired.
        let removed: Vec<Arc<Backend>> = old
            .backends()
            .iter()
            .filter(|o| !backends.iter().any(|b| Arc::ptr_eq(o, b)))
            .cloned()
            .collect();
        self.lb.replace_routing(Routing::new(config, backends));
        for o in removed {
            self.removed.increment(1);
            tracing::info!(backend = %o.config.name, addr = %o.config.addr, "backend removed");
            o.retire();
        }
        // A replacement with the same name and address shares the retired
        // one's series: keep them in the scrape.
        for b in self.lb.routing().backends() {
            b.metrics.show();
        }
        Ok(())
    }
}

/// The static backends of `config`, then one per discovered address not
/// already listed, then node-local mode's cluster DNS.
fn backend_configs(config: &Config, discovered: &BTreeSet<SocketAddr>) -> Vec<BackendConfig> {
    let mut out = config.backends.clone();
    for &addr in discovered {
        if !out.iter().any(|b| b.addr == addr) {
            out.push(BackendConfig {
                name: addr.to_string(),
                addr,
                weight: 1,
                order: 1,
                cluster: false,
            });
        }
    }
    if let Some(node_local) = &config.node_local {
        out.push(BackendConfig {
            name: "cluster-dns".into(),
            addr: node_local.cluster_dns,
            weight: 1,
            order: 1,
            cluster: true,
        });
    }
    out
}

/// The backends `wanted`: those of `current` with the same settings are kept
/// (with their queries in flight and health state); the others are connected,
/// and their receive loops and checks started.
async fn connect(
    lb: &Arc<Lb>,
    config: &Config,
    wanted: &[BackendConfig],
    current: &[Arc<Backend>],
    registry: &Registry,
    metrics: &LbMetrics,
    stop: &Shutdown,
) -> Result<Vec<Arc<Backend>>, Error> {
    let mut backends = Vec::with_capacity(wanted.len());
    let mut fresh = Vec::new();
    let io_error = |b: &BackendConfig| {
        let context = format!("cannot open a socket to backend {} ({})", b.name, b.addr);
        move |source| Error::Io { context, source }
    };
    // A retired backend's loop keeps receiving until its queries in flight are
    // answered or timed out (with a margin for the retry).
    let grace = config.timeout.saturating_mul(2) + std::time::Duration::from_millis(100);
    for b in wanted {
        if let Some(kept) = current.iter().find(|c| c.config == *b) {
            backends.push(kept.clone());
            continue;
        }
        // Each backend's responses are received, and its UDP clients answered
        // and timed out, on a thread of its own (handler::serve_backend).
        let backend = Backend::connect(
            b.clone(),
            config.max_outstanding,
            registry,
            metrics,
            TIMEOUT_TICK,
            config.node_local.is_some(),
        )
        .map_err(io_error(b))?;
        let (handler, halt, runtime) =
            (lb.clone(), stop.clone(), tokio::runtime::Handle::current());
        let serving = backend.clone();
        std::thread::Builder::new()
            .name(format!("backend-{}", b.addr))
            .spawn(move || {
                // Inside the runtime's context: a reply that finds the client
                // socket full is sent from a task there.
                let _entered = runtime.enter();
                serve_backend(&serving, &handler, &halt, grace);
            })
            .map_err(io_error(b))?;
        fresh.push(backend.clone());
        backends.push(backend);
    }
    spawn_checks(&fresh, &config.health, stop);
    Ok(backends)
}
