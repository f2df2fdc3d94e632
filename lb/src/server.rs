//! Wiring: from a validated `Config` and bound sockets to a serving lb, until
//! the shutdown token fires and in-flight queries drain.

use std::sync::Arc;

use common::admin::{self, AdminState};
use common::frontend::{self, FrontendConfig};
use common::metrics::Registry;
use common::readiness::Readiness;
use common::shutdown::Shutdown;
use common::tls::TlsFiles;

use crate::config::Config;
use crate::discovery;
use crate::error::Error;
use crate::metrics::{LbMetrics, HISTOGRAMS};
use crate::nodelocal::Agent;
use crate::reconcile::Reconciler;

/// The lb's metrics port, as dnsdist's webserver in the seed.
pub const DEFAULT_METRICS_ADDR: &str = "0.0.0.0:8083";

/// Node-local mode's metrics port, node-local-dns' `prometheus :9253`.
pub const NODE_LOCAL_METRICS_ADDR: &str = "0.0.0.0:9253";

/// The metrics address `config` implies when none is set: node-local-dns'
/// in node-local mode, dnsdist's otherwise.
pub fn default_metrics_addr(config: &Config) -> &'static str {
    if config.node_local.is_some() {
        NODE_LOCAL_METRICS_ADDR
    } else {
        DEFAULT_METRICS_ADDR
    }
}

pub use common::listeners::Listeners;

/// Binds what `config` asks for, plus the admin endpoint at `admin_addr`.
pub fn bind(config: &Config, admin_addr: Option<std::net::SocketAddr>) -> Result<Listeners, Error> {
    Ok(Listeners::bind(frontend_config(config), admin_addr)?)
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
        tcp_idle_timeout: config.tcp_limits.idle_timeout,
        tcp_max_connections: config.tcp_limits.max_connections,
        tcp_max_connections_per_client: config.tcp_limits.max_connections_per_client,
        tls_handshake_timeout: config.tcp_limits.tls_handshake_timeout,
        // UDP queries are answered inline (cache, errors) or detached to a
        // backend thread, never resolved on the receiving thread: no event
        // loop needed there (tests/bench/lb.sh: fewer system calls a query).
        udp_blocking: true,
        ..FrontendConfig::default()
    }
}

/// Node-local mode's step 1, before the listeners bind to the agent's
/// addresses: the interface and the serving rules, set up on a runtime of
/// its own (`main` has none yet). None for an ordinary lb.
pub fn node_local(config: &Config, registry: &Registry) -> Result<Option<Arc<Agent>>, Error> {
    let Some(settings) = &config.node_local else {
        return Ok(None);
    };
    let agent = Arc::new(Agent::new(settings.clone(), registry));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            context: "cannot start a runtime for the node-local set-up".into(),
            source,
        })?;
    runtime.block_on(agent.set_up())?;
    Ok(Some(agent))
}

/// A metrics registry with the lb's histogram buckets.
pub fn registry() -> Registry {
    Registry::new(HISTOGRAMS)
}

/// Serves `config` on `listeners` until `shutdown` fires; returns after
/// draining. In node-local mode `agent` (from [`node_local`]) keeps its
/// interface and rules, hands over at SIGTERM and removes them at the end.
pub async fn run(
    config: Config,
    listeners: Listeners,
    registry: Registry,
    agent: Option<Arc<Agent>>,
    readiness: Readiness,
    shutdown: Shutdown,
) -> Result<(), Error> {
    if let Some(agent) = &agent {
        agent.spawn_checker(readiness.clone());
    }
    let latch = readiness.latch("listeners");
    let metrics = LbMetrics::new(&registry);
    // Backend receive loops, sweeps and checks stop after the front end has
    // drained, not when the shutdown starts.
    let (backends_trigger, backends_stop) = Shutdown::new();
    let (reconciler, lb) =
        Reconciler::start(config.clone(), registry.clone(), metrics, backends_stop).await?;
    if let Some(discovery) = &config.discovery {
        // One lookup before serving, so the first queries find the backends.
        match discovery::lookup(discovery).await {
            Ok(addrs) => reconciler.set_discovered(addrs).await?,
            Err(error) => {
                tracing::warn!(%error, "backend discovery failed at start; retrying every interval")
            }
        }
        let failures = registry.counter(
            "dnsdist_discovery_failures",
            "Failed lookups of the backends' DNS name.",
            &[],
        );
        discovery::spawn(
            discovery.clone(),
            reconciler.clone(),
            failures,
            shutdown.clone(),
        );
    }
    spawn_reload_on_sighup(reconciler, shutdown.clone());
    spawn_rate_limit_sweeper(lb.clone(), shutdown.clone());

    let gauges = lb.clone();
    let state = AdminState {
        registry: registry.clone(),
        readiness: readiness.clone(),
        before_scrape: Some(Arc::new(move || {
            for b in gauges.routing().backends() {
                b.metrics.outstanding.set(b.outstanding() as f64);
            }
        })),
        probes: Vec::new(),
    };
    if let Some(agent) = &agent {
        agent.serve_health(state.clone(), shutdown.clone());
    }
    if let Some(listener) = listeners.admin {
        admin::spawn(listener, state, shutdown.clone());
    }

    let serving = frontend::serve(listeners.dns, lb, shutdown.clone());
    latch.release();
    tracing::info!(
        policy = config.policy.as_str(),
        backends = config.backends.len(),
        source = %config.source.as_ref().map_or("<command line>".to_string(), |p| p.display().to_string()),
        "lb ready"
    );
    let served = serving.await;
    // Backends keep receiving through the drain, so held queries get answers.
    backends_trigger.fire();
    if let Some(agent) = &agent {
        agent.tear_down().await;
    }
    served?;
    tracing::info!("lb stopped");
    Ok(())
}

/// SIGHUP re-reads the config file and swaps in the new backends, policy and
/// ACL without dropping traffic: queries in flight finish on the routing they
/// started with, a kept backend keeps its state, a removed one is retired once
/// its queries are done. Every backend added or removed is logged and counted.
/// A file that fails to load is reported (file, line, key) and the running
/// config stays; listener changes need a restart.
fn spawn_reload_on_sighup(reconciler: Arc<Reconciler>, stop: Shutdown) {
    common::shutdown::reload_on_hangup(stop, move || reload(reconciler.clone()));
}

/// One reload (see [`spawn_reload_on_sighup`]).
async fn reload(reconciler: Arc<Reconciler>) -> Result<(), Error> {
    let current = reconciler.config().await;
    let Some(path) = current.source.clone() else {
        tracing::info!("SIGHUP: running from the command line; nothing to reload");
        return Ok(());
    };
    let fresh = Config::load(&path)?;
    if (&fresh.udp, &fresh.tcp, &fresh.tls, fresh.threads)
        != (&current.udp, &current.tcp, &current.tls, current.threads)
    {
        tracing::warn!("SIGHUP: listen addresses or threads changed; restart to apply them");
    }
    if fresh.health != current.health
        || fresh.discovery != current.discovery
        || fresh.cache != current.cache
    {
        tracing::warn!("SIGHUP: health-check and discovery settings apply to backends added from now on, cache settings after a restart");
    }
    let (policy, count) = (fresh.policy.as_str(), fresh.backends.len());
    reconciler.set_config(fresh).await?;
    tracing::info!(config = %path.display(), policy, backends = count, "SIGHUP: config reloaded");
    Ok(())
}

/// Every 10 s, forgets clients whose buckets have refilled, so the table holds
/// only recent clients.
fn spawn_rate_limit_sweeper(lb: Arc<crate::handler::Lb>, stop: Shutdown) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = stop.requested() => return,
                _ = ticks.tick() => {}
            }
            if let Some(limiter) = &lb.routing().rate_limit {
                limiter.sweep(tokio::time::Instant::now());
            }
        }
    });
}
