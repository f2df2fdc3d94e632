//! Active health checks: every `interval`, each backend is asked the check
//! query through its own forwarder (the path live traffic takes); `rise`
//! answers in a row bring it up, `fall` failures in a row take it down.

use std::sync::Arc;

use common::shutdown::Shutdown;
use tokio::time::MissedTickBehavior;

use crate::backend::Backend;
use crate::config::HealthConfig;
use crate::wire::{build_query, encode_name};

/// RCODEs that mean "this resolver is not working": SERVFAIL, REFUSED.
const FAILING_RCODES: [u8; 2] = [2, 5];

/// Starts one checker task per backend; each stops when `stop` fires or its
/// backend is retired.
pub fn spawn_checks(backends: &[Arc<Backend>], health: &HealthConfig, stop: &Shutdown) {
    if !health.enabled {
        return;
    }
    let Some(qname) = encode_name(&health.qname) else {
        return;
    };
    let query = Arc::new(build_query(&qname, health.qtype));
    for backend in backends {
        let backend = backend.clone();
        let query = query.clone();
        let health = health.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(health.interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.requested() => return,
                    _ = backend.retired() => return,
                    _ = ticks.tick() => {}
                }
                match check(&backend, &query, &health).await {
                    Ok(()) => backend.check_passed(health.rise),
                    Err(why) => backend.check_failed(health.fall, why),
                }
            }
        });
    }
}

async fn check(backend: &Backend, query: &[u8], health: &HealthConfig) -> Result<(), &'static str> {
    let ticket = backend
        .forwarder
        .send(query)
        .await
        .map_err(|_| "health check could not be sent")?;
    let response = ticket
        .wait(health.timeout)
        .await
        .ok_or("health check timed out")?;
    match response.get(3).map(|b| b & 0x0F) {
        Some(rcode) if !FAILING_RCODES.contains(&rcode) => Ok(()),
        _ => Err("health check answered SERVFAIL or REFUSED"),
    }
}
