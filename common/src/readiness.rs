//! Readiness for `/readyz`: every subsystem that must be up holds a [`Latch`].
//!
//! The daemon is ready when every latch taken has been released and shutdown has
//! not begun. Shutdown flips readiness to false at once (lameduck) while the daemon
//! keeps serving, so a load balancer drains it before it stops.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
struct Inner {
    pending: AtomicUsize,
    shutting_down: AtomicBool,
    /// Wakes [`Readiness::shutdown_begun`] waiters.
    begun: tokio::sync::Notify,
}

/// Shared readiness state; clone it freely.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

/// One condition the daemon waits for; `release` it once satisfied.
///
/// Dropping an unreleased latch keeps the daemon not ready: a subsystem that failed
/// to come up must not be reported ready.
#[derive(Debug)]
pub struct Latch {
    inner: Arc<Inner>,
    name: &'static str,
    released: bool,
}

impl Readiness {
    /// Fresh state: ready (no latches yet), not shutting down.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a latch named for the subsystem; readiness is false until it is released.
    pub fn latch(&self, name: &'static str) -> Latch {
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        Latch {
            inner: self.inner.clone(),
            name,
            released: false,
        }
    }

    /// True when every latch is released and shutdown has not begun.
    pub fn is_ready(&self) -> bool {
        self.inner.pending.load(Ordering::SeqCst) == 0 && !self.is_shutting_down()
    }

    /// Marks the start of shutdown: readiness is false from now on.
    pub fn begin_shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        self.inner.begun.notify_waiters();
    }

    /// Completes once shutdown has begun (at once if it has): for work that
    /// must start with the lameduck, not after it (the node-local agent's
    /// hand-over).
    pub async fn shutdown_begun(&self) {
        loop {
            let notified = self.inner.begun.notified();
            tokio::pin!(notified);
            // Registered before the check, so a notify in between is not lost.
            notified.as_mut().enable();
            if self.is_shutting_down() {
                return;
            }
            notified.await;
        }
    }

    /// True once shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }
}

impl Latch {
    /// Marks this subsystem as up. Releasing twice counts once.
    pub fn release(mut self) {
        self.release_inner();
    }

    fn release_inner(&mut self) {
        if !self.released {
            self.released = true;
            self.inner.pending.fetch_sub(1, Ordering::SeqCst);
            tracing::debug!(latch = self.name, "ready");
        }
    }

    /// The subsystem name this latch was taken for.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_after_every_latch_released_and_false_after_shutdown() {
        let readiness = Readiness::new();
        let listeners = readiness.latch("listeners");
        let cache = readiness.latch("cache");
        assert!(!readiness.is_ready());
        listeners.release();
        assert!(!readiness.is_ready());
        cache.release();
        assert!(readiness.is_ready());
        readiness.begin_shutdown();
        assert!(!readiness.is_ready());
    }

    #[test]
    fn dropped_latch_stays_not_ready() {
        let readiness = Readiness::new();
        drop(readiness.latch("failed"));
        assert!(!readiness.is_ready());
    }
}
