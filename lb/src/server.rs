//! Wiring: from a validated `Config` and bound sockets to a serving lb, until
//! the shutdown token fires and in-flight queries drain.

use std::sync::Arc;

use common::admin::{self, AdminState};
use common::frontend::{self, BoundFrontend, FrontendConfig};
use common::metrics::Registry;
use common::readiness::Readiness;
use common::shutdown::Shutdown;
use common::tls::TlsFiles;

use crate::backend::Backend;
use crate::config::Config;
use crate::error::Error;
use crate::handler::{Lb, Routing};
use crate::health::spawn_checks;
use crate::metrics::{LbMetrics, HISTOGRAMS};

/// The lb's metrics port, as dnsdist's webserver in the seed.
pub const DEFAULT_METRICS_ADDR: &str = "0.0.0.0:8083";

/// The sockets the lb serves on, bound before `run` so bind errors surface at
/// start and tests can bind port 0 and read the port.
#[derive(Debug)]
pub struct Listeners {
    /// UDP, TCP and DoT listeners.
    pub dns: BoundFrontend,
    /// The metrics/health HTTP listener, if any.
    pub admin: Option<std::net::TcpListener>,
}

impl Listeners {
    /// Binds what `config` asks for, plus the admin endpoint at `admin_addr`.
    pub fn bind(config: &Config, admin_addr: Option<std::net::SocketAddr>) -> Result<Self, Error> {
        let dns = BoundFrontend::bind(frontend_config(config))?;
        let admin = admin_addr
            .map(|addr| {
                admin::bind(addr).map_err(|source| Error::Io {
                    context: format!("cannot listen on {addr} for metrics"),
                    source,
                })
            })
            .transpose()?;
        Ok(Self { dns, admin })
    }
}

/// The front-end settings implied by the config.
pub fn frontend_config(config: &Config) -> FrontendConfig {
    FrontendConfig {
        udp: config.udp.clone(),
        tcp: config.tcp.clone(),
        tls: config.tls.clone(),
        tls_files: match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        udp_sockets_per_addr: config.threads,
        ..FrontendConfig::default()
    }
}

/// A metrics registry with the lb's histogram buckets.
pub fn registry() -> Registry {
    Registry::new(HISTOGRAMS)
}

/// The backends of `config`: those of `current` with the same settings are
/// kept (with their queries in flight and health state); the others are
/// connected, and their receive loops and checks started.
async fn connect_backends(
    config: &Config,
    current: &[Arc<Backend>],
    registry: &Registry,
    metrics: &LbMetrics,
    stop: &Shutdown,
) -> Result<Vec<Arc<Backend>>, Error> {
    let mut backends = Vec::with_capacity(config.backends.len());
    let mut fresh = Vec::new();
    for b in &config.backends {
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
    // Retired backends' loops keep receiving until their queries in flight are
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

/// Serves `config` on `listeners` until `shutdown` fires; returns after draining.
pub async fn run(
    config: Config,
    listeners: Listeners,
    registry: Registry,
    readiness: Readiness,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let latch = readiness.latch("listeners");
    let metrics = LbMetrics::new(&registry);
    let backends = connect_backends(&config, &[], &registry, &metrics, &shutdown).await?;
    let lb = Arc::new(Lb::new(Routing::new(&config, backends), metrics.clone()));
    spawn_reload_on_sighup(
        config.clone(),
        lb.clone(),
        registry.clone(),
        metrics,
        shutdown.clone(),
    );

    if let Some(listener) = listeners.admin {
        let gauges = lb.clone();
        let state = AdminState {
            registry: registry.clone(),
            readiness: readiness.clone(),
            before_scrape: Some(Arc::new(move || {
                for b in gauges.routing().selector.backends() {
                    b.metrics.outstanding.set(b.outstanding() as f64);
                }
            })),
        };
        let admin_shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Err(error) = admin::serve(listener, state, admin_shutdown).await {
                tracing::error!(%error, "admin endpoint failed");
            }
        });
    }

    let serving = frontend::serve(listeners.dns, lb, shutdown.clone());
    latch.release();
    tracing::info!(
        policy = config.policy.as_str(),
        backends = config.backends.len(),
        source = %config.source.as_ref().map_or("<command line>".to_string(), |p| p.display().to_string()),
        "lb ready"
    );
    serving.await?;
    tracing::info!("lb stopped");
    Ok(())
}

/// SIGHUP re-reads the config file and swaps in the new backends, policy and
/// ACL without dropping traffic: queries in flight finish on the routing they
/// started with, a kept backend keeps its state, a removed one is retired once
/// its queries are done. Every backend added or removed is logged and counted.
/// A file that fails to load is reported (file, line, key) and the running
/// config stays; listener changes need a restart.
fn spawn_reload_on_sighup(
    config: Config,
    lb: Arc<Lb>,
    registry: Registry,
    metrics: LbMetrics,
    stop: Shutdown,
) {
    let Ok(mut hangups) = common::shutdown::sighup() else {
        tracing::warn!("cannot install a SIGHUP handler; reload needs a restart");
        return;
    };
    let added = registry.counter(
        "dnsdist_backend_changes",
        "Backends added or removed by a reload.",
        &[("change", "added".into())],
    );
    let removed = registry.counter(
        "dnsdist_backend_changes",
        "Backends added or removed by a reload.",
        &[("change", "removed".into())],
    );
    tokio::spawn(async move {
        let mut current = config;
        loop {
            tokio::select! {
                _ = stop.requested() => return,
                received = hangups.recv() => if received.is_none() { return },
            }
            let Some(path) = current.source.clone() else {
                tracing::info!("SIGHUP: running from the command line; nothing to reload");
                continue;
            };
            let fresh = match Config::load(&path) {
                Ok(fresh) => fresh,
                Err(error) => {
                    tracing::error!(%error, "SIGHUP: config not reloaded; still serving the previous one");
                    continue;
                }
            };
            let old = lb.routing();
            let backends = match connect_backends(
                &fresh,
                old.selector.backends(),
                &registry,
                &metrics,
                &stop,
            )
            .await
            {
                Ok(backends) => backends,
                Err(error) => {
                    tracing::error!(%error, "SIGHUP: config not reloaded; still serving the previous one");
                    continue;
                }
            };
            for b in &backends {
                if !old.selector.backends().iter().any(|o| Arc::ptr_eq(o, b)) {
                    added.increment(1);
                    tracing::info!(backend = %b.config.name, addr = %b.config.addr, "backend added");
                }
            }
            for o in old.selector.backends() {
                if !backends.iter().any(|b| Arc::ptr_eq(o, b)) {
                    removed.increment(1);
                    tracing::info!(backend = %o.config.name, addr = %o.config.addr, "backend removed");
                    o.retire();
                }
            }
            if (&fresh.udp, &fresh.tcp, &fresh.tls, fresh.threads)
                != (&current.udp, &current.tcp, &current.tls, current.threads)
            {
                tracing::warn!(
                    "SIGHUP: listen addresses or threads changed; restart to apply them"
                );
            }
            if fresh.health != current.health {
                tracing::warn!("SIGHUP: health-check settings apply to backends added from now on; restart to apply them to all");
            }
            lb.replace_routing(Routing::new(&fresh, backends));
            tracing::info!(config = %path.display(), policy = fresh.policy.as_str(), backends = fresh.backends.len(), "SIGHUP: config reloaded");
            current = fresh;
        }
    });
}
