//! Shutdown token shared by every task of a daemon.
//!
//! SIGTERM or SIGINT flips readiness to false at once (so the load balancer or
//! kubelet stops sending new work), keeps serving for a lameduck period, then fires
//! the token: listeners stop accepting and in-flight work drains under a timeout.

use std::time::Duration;

use tokio::sync::watch;

use crate::readiness::Readiness;

/// A clonable handle that tells tasks when to stop.
///
/// Cheap to clone and to poll; `requested()` is cancel-safe.
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// The side that fires a [`Shutdown`]; dropping it does not fire.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

impl ShutdownTrigger {
    /// Fires the token: every `requested()` future completes.
    pub fn fire(&self) {
        self.tx.send_replace(true);
    }
}

impl Shutdown {
    /// A token and its trigger, for tests and for embedding.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger { tx }, Shutdown { rx })
    }

    /// A token that never fires.
    pub fn never() -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        // Keep the sender alive for the process lifetime so `requested()` pends forever.
        std::mem::forget(trigger);
        shutdown
    }

    /// A token fired by SIGTERM or SIGINT after `lameduck`; readiness goes false at
    /// the signal itself. Must be called inside a tokio runtime.
    pub fn on_signal(readiness: Readiness, lameduck: Duration) -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            wait_for_termination().await;
            readiness.begin_shutdown();
            tracing::info!(
                lameduck_ms = lameduck.as_millis() as u64,
                "shutdown requested; lameduck"
            );
            tokio::time::sleep(lameduck).await;
            trigger.fire();
        });
        shutdown
    }

    /// True once the token has fired.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes when the token fires (at once if it already has).
    ///
    /// CANCEL-SAFETY: safe to use in `select!`; nothing is consumed.
    pub async fn requested(&self) {
        let mut rx = self.rx.clone();
        // An error means every trigger is gone without firing: never completes then.
        if rx.wait_for(|fired| *fired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Completes on the first SIGTERM or SIGINT.
pub async fn wait_for_termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!(signal = "SIGTERM", "signal received"),
                    _ = int.recv() => tracing::info!(signal = "SIGINT", "signal received"),
                }
            }
            _ => {
                tracing::warn!("cannot install signal handlers; falling back to ctrl-c");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// SIGHUP notifications for a daemon's reload task: the one loop the
/// resolver, the lb and dhcp4 share (wait for a hangup or shutdown, whichever
/// comes first).
#[cfg(unix)]
pub struct Hangups {
    signal: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Hangups {
    /// Installs the SIGHUP handler; when the system refuses, logs that a
    /// reload needs a restart and returns `None`.
    pub fn install() -> Option<Hangups> {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(signal) => Some(Hangups { signal }),
            Err(error) => {
                tracing::warn!(%error, "cannot install a SIGHUP handler; reload needs a restart");
                None
            }
        }
    }

    /// Waits for the next SIGHUP: `true` when one came, `false` once
    /// shutdown is requested (the reload task then ends).
    pub async fn next(&mut self, shutdown: &Shutdown) -> bool {
        tokio::select! {
            () = shutdown.requested() => false,
            received = self.signal.recv() => received.is_some(),
        }
    }
}

/// Runs `reload` on each SIGHUP until shutdown, in a task: a reload that
/// fails is logged and the running configuration stays (the error names the
/// file, line and key). The SIGHUP loop of every daemon.
#[cfg(unix)]
pub fn reload_on_hangup<F, Fut, E>(shutdown: Shutdown, mut reload: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    let Some(mut hangups) = Hangups::install() else {
        return;
    };
    tokio::spawn(async move {
        while hangups.next(&shutdown).await {
            if let Err(error) = reload().await {
                tracing::error!(%error, "SIGHUP: config not reloaded; still serving the previous one");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fire_completes_requested_for_every_clone() {
        let (trigger, shutdown) = Shutdown::new();
        let other = shutdown.clone();
        assert!(!shutdown.is_requested());
        trigger.fire();
        shutdown.requested().await;
        other.requested().await;
        assert!(other.is_requested());
    }

    #[tokio::test(start_paused = true)]
    async fn never_does_not_fire() {
        let shutdown = Shutdown::never();
        let fired = tokio::time::timeout(Duration::from_secs(3600), shutdown.requested()).await;
        assert!(fired.is_err());
    }
}
