//! Wiring: from a validated `Config` and already-bound sockets to a serving
//! resolver, until the shutdown token fires and in-flight work drains.

use std::sync::Arc;
use std::time::Duration;

use common::admin::{self, AdminState};
use common::frontend::{self, FrontendConfig};
use common::metrics::Registry;
use common::readiness::Readiness;
use common::shutdown::Shutdown;
use common::tls::TlsFiles;

use crate::cache::{MessageCache, RrsetCache};
use crate::cachedb::{Cachedb, CachedbOptions};
use crate::config::{CachedbConfig, Config};
use crate::error::Error;
use crate::iterate::hints::RootHints;
use crate::iterate::infra::Infra;
use crate::iterate::Recursor;
use crate::metrics::{
    CachedbMetrics, Metrics, CACHEDB_LATENCY_BUCKETS, RESPONSE_TIME_BUCKETS, UPSTREAM_RTT_BUCKETS,
};
use crate::pipeline::{ttl_policy, Pipeline};
use crate::ratelimit::ZoneLimiter;
use crate::transport::NetTransport;
use crate::validator::Validator;

pub use common::listeners::Listeners;

/// Binds what `config` asks for, plus the admin endpoint at `admin_addr`.
pub fn bind(config: &Config, admin_addr: Option<std::net::SocketAddr>) -> Result<Listeners, Error> {
    Ok(Listeners::bind(frontend_config(config), admin_addr)?)
}

/// How long the front end waits for replies still owed after shutdown:
/// resolutions are cut [`crate::pipeline::SHUTDOWN_GRACE`] after it, so this
/// only bounds writing the last replies to slow TCP clients.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// The front-end settings implied by the config.
pub fn frontend_config(config: &Config) -> FrontendConfig {
    let server = &config.server;
    let (udp, tcp, tls) = config.listen_addrs();
    let tls_files = match (&server.tls_service_pem, &server.tls_service_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    FrontendConfig {
        udp,
        tcp,
        tls,
        tls_files,
        udp_sockets_per_addr: server.num_threads,
        reuseport: server.so_reuseport,
        tcp_idle_timeout: server.tcp_idle_timeout,
        tcp_max_connections: server
            .incoming_num_tcp
            .saturating_mul(server.num_threads.get())
            .max(1),
        tcp_connection_limits: server.tcp_connection_limits.clone(),
        udp_pktinfo: config.interface_automatic(),
        drain_timeout: DRAIN_TIMEOUT,
        ..FrontendConfig::default()
    }
}

/// A metrics registry with the resolver's histogram buckets.
pub fn registry() -> Registry {
    Registry::new(&[
        ("unbound_response_time_seconds", RESPONSE_TIME_BUCKETS),
        ("unbound_recursion_time_seconds", RESPONSE_TIME_BUCKETS),
        ("unbound_cachedb_latency_seconds", CACHEDB_LATENCY_BUCKETS),
        ("unbound_upstream_rtt_seconds", UPSTREAM_RTT_BUCKETS),
    ])
}

/// Builds the pipeline (caches, iterator, metrics) for `config`.
/// `shutdown` cuts resolutions still in flight short when the process stops
/// (see [`crate::pipeline::SHUTDOWN_GRACE`]). `kept_infra`: on a reload, the
/// running engine's infra cache, kept when `infra-host-ttl` is unchanged, so
/// a reload does not forget which servers are fast, dead or lame.
pub fn build(
    config: &Config,
    registry: &Registry,
    shutdown: &Shutdown,
    kept_infra: Option<Arc<Infra>>,
) -> Result<Pipeline<NetTransport>, Error> {
    let hints = match &config.server.root_hints {
        Some(path) => RootHints::load(path)?,
        None => RootHints::builtin(),
    };
    let metrics = Metrics::new(registry);
    let policy = ttl_policy(config);
    let rrsets = RrsetCache::new(config.server.rrset_cache_size, policy);
    let messages = MessageCache::new(config.server.msg_cache_size);
    let infra = match kept_infra {
        Some(infra)
            if infra.host_ttl() == config.server.infra_host_ttl
                && infra.numhosts() == config.server.infra_cache_numhosts =>
        {
            infra
        }
        _ => Arc::new(
            Infra::new(config.server.infra_host_ttl)
                .with_numhosts(config.server.infra_cache_numhosts)
                .with_metrics(metrics.infra.clone()),
        ),
    };
    let roots = match &config.server.tls_cert_bundle {
        Some(bundle) => bundle_roots(bundle)?,
        None => system_roots(),
    };
    let transport = NetTransport::new(metrics.transport.clone(), roots);
    let recursor = Recursor::new(transport, rrsets, infra, hints, config).with_zone_ratelimit(
        ZoneLimiter::new(
            &config.server.ratelimit,
            metrics.query_ratelimited.clone(),
            tokio::time::Instant::now(),
        ),
    );
    let cachedb = match &config.cachedb {
        Some(db) => Some(start_cachedb(config, db, registry)?),
        None => None,
    };
    let validator = Validator::from_config(config)?;
    Ok(Pipeline::new(
        config,
        messages,
        recursor,
        metrics,
        cachedb,
        validator,
        shutdown.clone(),
    ))
}

/// Starts the shared Redis cache client (it connects in the background).
fn start_cachedb(
    config: &Config,
    db: &CachedbConfig,
    registry: &Registry,
) -> Result<Arc<Cachedb>, Error> {
    let server = &config.server;
    let options = CachedbOptions {
        timeout: db.timeout,
        secret_seed: db.secret_seed.clone(),
        expire_records: db.expire_records,
        no_store: db.no_store,
        serve_expired: server.serve_expired,
        serve_expired_ttl: server.serve_expired_ttl,
        serve_expired_reply_ttl: server.serve_expired_reply_ttl,
        max_ttl: server.cache_max_ttl,
    };
    Cachedb::start(db, options, CachedbMetrics::new(registry)).map_err(|error| {
        common::config::ConfigError {
            location: None,
            key: "cachedb".into(),
            kind: common::config::ConfigErrorKind::Invalid(format!("Redis endpoint: {error}")),
        }
        .into()
    })
}

/// Trust anchors from `tls-cert-bundle:`; an unreadable or empty bundle is a config error.
fn bundle_roots(path: &std::path::Path) -> Result<rustls::RootCertStore, Error> {
    use common::config::{ConfigError, ConfigErrorKind};
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(|e| ConfigError {
        location: None,
        key: "tls-cert-bundle".into(),
        kind: ConfigErrorKind::Invalid(format!("{}: {e}", path.display())),
    })?;
    for cert in certs.flatten() {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(ConfigError {
            location: None,
            key: "tls-cert-bundle".into(),
            kind: ConfigErrorKind::Invalid(format!("{}: no certificates", path.display())),
        }
        .into());
    }
    Ok(roots)
}

/// Trust anchors for DoT forwarders: the system's CA bundle when readable.
fn system_roots() -> rustls::RootCertStore {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for path in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ] {
        if let Ok(certs) = rustls_pki_types::CertificateDer::pem_file_iter(path) {
            for cert in certs.flatten() {
                let _ = roots.add(cert);
            }
            break;
        }
    }
    roots
}

/// Serves `config` on `listeners` until `shutdown` fires; returns after draining.
pub async fn run(
    config: Config,
    listeners: Listeners,
    registry: Registry,
    readiness: Readiness,
    shutdown: Shutdown,
) -> Result<(), Error> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let latch = readiness.latch("listeners");
    let pipeline = Arc::new(build(&config, &registry, &shutdown, None)?);
    if let Some(cachedb) = pipeline.engine().cachedb() {
        // A replica starting next to a warm Redis should use it from its first query.
        cachedb.wait_first_attempt(Duration::from_secs(2)).await;
    }
    let started = tokio::time::Instant::now();
    if let Some(listener) = listeners.admin {
        let gauges = pipeline.clone();
        let state = AdminState {
            registry: registry.clone(),
            readiness: readiness.clone(),
            before_scrape: Some(Arc::new(move || {
                let engine = gauges.engine();
                engine.refresh_gauges();
                engine.metrics.time_up.set(started.elapsed().as_secs_f64());
            })),
            probes: Vec::new(),
        };
        admin::spawn(listener, state, shutdown.clone());
    }
    spawn_trust_anchor_refresh(pipeline.clone(), shutdown.clone());
    spawn_reload_on_sighup(
        config.clone(),
        pipeline.clone(),
        registry.clone(),
        shutdown.clone(),
    );
    let serving = frontend::serve(listeners.dns, pipeline, shutdown.clone());
    latch.release();
    tracing::info!(
        threads = config.server.num_threads.get(),
        source = %config.source.as_ref().map_or("<embedded default>".to_string(), |p| p.display().to_string()),
        "resolver ready"
    );
    serving.await?;
    // Give spawned resolutions a moment to finish writing their cache entries.
    tokio::time::sleep(Duration::from_millis(10)).await;
    tracing::info!("resolver stopped");
    Ok(())
}

/// RFC 5011 §2.3 active refresh of `auto-trust-anchor-file` anchors: probes
/// each tracked zone when its trust point says it is due (between one hour
/// and fifteen days), checking at least hourly, whatever engine is current.
fn spawn_trust_anchor_refresh(pipeline: Arc<Pipeline<NetTransport>>, shutdown: Shutdown) {
    tokio::spawn(async move {
        loop {
            let Some(next) = pipeline.engine().refresh_trust_anchors().await else {
                // No tracked anchor in this engine; a reload may bring one.
                tokio::select! {
                    _ = shutdown.requested() => return,
                    _ = tokio::time::sleep(Duration::from_secs(3600)) => continue,
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let wait = next.saturating_sub(now).clamp(60, 3600);
            tokio::select! {
                _ = shutdown.requested() => return,
                _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
            }
        }
    });
}

/// SIGHUP re-reads the config file and swaps in a fresh engine (access control,
/// local zones, forward/stub zones, cache settings; caches start empty, as
/// Unbound's reload flushes them). A config that fails to load is reported with
/// its file, line and key, and the running one stays. Listener changes need a
/// restart and are reported as such.
fn spawn_reload_on_sighup(
    config: Config,
    pipeline: Arc<Pipeline<NetTransport>>,
    registry: Registry,
    shutdown: Shutdown,
) {
    let mut current = config;
    let stop = shutdown.clone();
    common::shutdown::reload_on_hangup(shutdown, move || {
        let reloaded = reload(&mut current, &pipeline, &registry, &stop);
        async move { reloaded }
    });
}

/// One reload (see [`spawn_reload_on_sighup`]): `current` becomes the file's
/// config once it is built.
fn reload(
    current: &mut Config,
    pipeline: &Pipeline<NetTransport>,
    registry: &Registry,
    shutdown: &Shutdown,
) -> Result<(), Error> {
    let Some(path) = current.source.clone() else {
        tracing::info!("SIGHUP: running on the embedded default config; nothing to reload");
        return Ok(());
    };
    let fresh = Config::load(&path)?;
    let kept_infra = Some(pipeline.engine().recursor.infra.clone());
    let next = build(&fresh, registry, shutdown, kept_infra)?;
    if fresh.listen_addrs() != current.listen_addrs()
        || fresh.server.num_threads != current.server.num_threads
    {
        tracing::warn!("SIGHUP: listen addresses or threads changed; restart to apply them");
    }
    for warning in &fresh.warnings {
        tracing::warn!("{warning}");
    }
    pipeline.replace_with(next);
    tracing::info!(config = %path.display(), "SIGHUP: config reloaded");
    *current = fresh;
    Ok(())
}
