//! Lease updates to the peers (Kea's leases4_committed callout): for each
//! query that committed, released or declined leases, one `lease4-del` per
//! deleted lease then one `lease4-update` (force-create) per new one, sent
//! to the partner (and to backups), and the client's reply held until the
//! partner acknowledged every one; a failed update drops the reply.
//!
//! The receive threads hand updates to bounded queues, one per shard of
//! addresses (a full queue drops the reply, as Kea's parked-packet-limit
//! does); one task per shard sends its updates in order, on a kept-alive
//! connection. An update that waited longer than a request's timeout is
//! dropped unsent (its client has retransmitted by then).

use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::client::{PeerClient, REQUEST_TIMEOUT};
use super::state::State;
use super::HaService;
use crate::control::lease_json;
use crate::lease::Lease;

/// Updates waiting for a sender, in all; more are refused.
const QUEUE: usize = 8192;

/// Senders, each with its queue and its kept-alive connection: updates in
/// flight at once. Each waits a round trip and the partner's group commit
/// (its `--commit-window`), so this many bound the rate of updates: 64 in
/// flight over ~6 ms is ~10,000 leases/s (measured in tests/bench/README.md;
/// 16 capped a pair at ~2,600). Under the partner listener's connection
/// limit.
pub const SHARDS: usize = 64;

/// What to call when a query's updates are done: `true` when every update
/// that must be acknowledged was.
pub type Done = Box<dyn FnOnce(bool) + Send>;

/// One update, as Kea's CommandCreator builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// `lease4-del` or `lease4-update`.
    pub command: &'static str,
    /// Its arguments.
    pub arguments: Value,
}

impl Update {
    /// The update for a lease file entry: a deletion (valid lifetime 0)
    /// becomes `lease4-del`, anything else `lease4-update`.
    pub fn of(lease: &Lease) -> Update {
        let mut arguments = lease_json::to_json(lease);
        if let Some(map) = arguments.as_object_mut() {
            map.remove("cltt");
            map.insert("expire".into(), Value::from(lease.expire));
            if !lease.is_deletion() {
                map.insert("force-create".into(), Value::Bool(true));
            }
        }
        Update {
            command: if lease.is_deletion() {
                "lease4-del"
            } else {
                "lease4-update"
            },
            arguments,
        }
    }
}

/// Deletions first, then additions and changes (Kea's order).
pub fn updates_of(changes: &[Lease]) -> Vec<Update> {
    let deleted = changes.iter().filter(|l| l.is_deletion());
    let kept = changes.iter().filter(|l| !l.is_deletion());
    deleted.chain(kept).map(Update::of).collect()
}

/// One update to one peer.
struct Job {
    peer: Arc<PeerClient>,
    update: Update,
    /// Whether this peer is the partner (its failure makes it unavailable).
    partner: bool,
    queued: Instant,
    done: Option<Done>,
}

/// The senders' queues, one per shard of addresses: every update of one
/// address goes through one queue, in the order the server made them (a
/// `lease4-del` of an address never overtakes the `lease4-update` that
/// gave it to the next client).
#[derive(Default)]
pub struct Updater {
    shards: OnceLock<Vec<mpsc::Sender<Job>>>,
}

impl std::fmt::Debug for Updater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updater")
            .field("started", &self.shards.get().is_some())
            .finish()
    }
}

impl Updater {
    /// An updater not started yet.
    pub fn new() -> Updater {
        Updater::default()
    }

    /// Queues `job` on its address's shard; a full queue (or one not
    /// started) fails it at once.
    fn queue(&self, job: Job) {
        let Some(shards) = self.shards.get() else {
            fail(job);
            return;
        };
        let address = job
            .update
            .arguments
            .get("ip-address")
            .and_then(serde_json::Value::as_str)
            .and_then(|a| a.parse::<std::net::Ipv4Addr>().ok())
            .map_or(0, u32::from);
        let Some(shard) = shards.get(address as usize % shards.len()) else {
            fail(job);
            return;
        };
        if let Err(refused) = shard.try_send(job) {
            let (mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job)) =
                refused;
            tracing::debug!("HA: update queue full; reply dropped");
            fail(job);
        }
    }
}

/// Completes `job` as failed without sending it.
fn fail(mut job: Job) {
    if let Some(done) = job.done.take() {
        done(false);
    }
}

/// Starts the senders of `ha` (inside the runtime).
pub fn start(ha: &Arc<HaService>) {
    let mut senders = Vec::with_capacity(SHARDS);
    let mut receivers = Vec::with_capacity(SHARDS);
    for _ in 0..SHARDS {
        let (tx, rx) = mpsc::channel::<Job>(QUEUE / SHARDS);
        senders.push(tx);
        receivers.push(rx);
    }
    if ha.updater.shards.set(senders).is_err() {
        return;
    }
    for mut rx in receivers {
        let ha = ha.clone();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                send(&ha, job).await;
            }
        });
    }
}

/// Sends one update, unless it waited so long its client has given up on
/// this exchange (then it fails unsent).
async fn send(ha: &HaService, mut job: Job) {
    let ok = if job.queued.elapsed() > REQUEST_TIMEOUT {
        tracing::debug!(
            peer = job.peer.name(),
            "HA: update waited too long; dropped"
        );
        false
    } else {
        match job
            .peer
            .send(
                job.update.command,
                Some(job.update.arguments.clone()),
                REQUEST_TIMEOUT,
            )
            .await
        {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(peer = job.peer.name(), %error, command = job.update.command, "HA: lease update failed");
                if job.partner {
                    ha.partner_failed();
                }
                false
            }
        }
    };
    if ok {
        ha.metrics.updates_sent.increment(1);
    } else {
        ha.metrics.updates_failed.increment(1);
    }
    if let Some(done) = job.done.take() {
        done(ok);
    }
}

impl HaService {
    /// Sends the updates for one query's lease `changes` (call it under the
    /// server lock, so updates leave in the order the leases changed);
    /// `done` is called once, when the reply may go (`true`) or must be
    /// dropped (`false`): at once when nothing needs acknowledging.
    pub fn dispatch(&self, changes: &[Lease], done: Done) {
        if !self.config.send_lease_updates || changes.is_empty() {
            done(true);
            return;
        }
        let updates = updates_of(changes);
        let mut waited: Vec<(Arc<PeerClient>, bool)> = Vec::new();
        for backup in &self.backups {
            if self.config.wait_backup_ack {
                waited.push((backup.clone(), false));
            } else {
                for update in &updates {
                    self.updater.queue(Job {
                        peer: backup.clone(),
                        update: update.clone(),
                        partner: false,
                        queued: Instant::now(),
                        done: None,
                    });
                }
            }
        }
        if let Some(partner) = &self.partner {
            // Decided under the lock the state changes under, so no update
            // lands in a backlog a state change has just emptied.
            let mut inner = self.inner.lock();
            match inner.state {
                State::CommunicationRecovery => {
                    let limit = self.config.delayed_updates_limit as usize;
                    for update in &updates {
                        if inner.backlog.len() >= limit {
                            inner.overflowed = true;
                            break;
                        }
                        inner.backlog.push_back(update.clone());
                    }
                }
                state if state.sends_updates() => waited.push((partner.clone(), true)),
                _ => {
                    inner.unsent_updates = inner.unsent_updates.checked_add(1).unwrap_or(1);
                    self.metrics.updates_unsent.increment(updates.len() as u64);
                }
            }
        }
        if waited.is_empty() {
            done(true);
            return;
        }
        let join = Arc::new(Join::new(waited.len() * updates.len(), done));
        for (peer, partner) in waited {
            for update in &updates {
                let part = join.clone();
                self.updater.queue(Job {
                    peer: peer.clone(),
                    update: update.clone(),
                    partner,
                    queued: Instant::now(),
                    done: Some(Box::new(move |ok| part.complete(ok))),
                });
            }
        }
    }

    /// Sends what a backlog kept, without waiting (leaving
    /// communication-recovery for load-balancing with updates queued after
    /// the drain).
    pub(super) fn send_later(&self, updates: Vec<Update>) {
        let Some(partner) = &self.partner else {
            return;
        };
        for update in updates {
            self.updater.queue(Job {
                peer: partner.clone(),
                update,
                partner: true,
                queued: Instant::now(),
                done: None,
            });
        }
    }
}

/// Calls `done` once every one of `count` parts completed: with `true`
/// when all of them succeeded.
pub struct Join {
    left: std::sync::atomic::AtomicUsize,
    failed: std::sync::atomic::AtomicBool,
    done: parking_lot::Mutex<Option<Done>>,
}

impl Join {
    /// A join of `count` parts.
    pub fn new(count: usize, done: Done) -> Join {
        Join {
            left: std::sync::atomic::AtomicUsize::new(count),
            failed: std::sync::atomic::AtomicBool::new(false),
            done: parking_lot::Mutex::new(Some(done)),
        }
    }

    /// One part completed.
    pub fn complete(&self, ok: bool) {
        use std::sync::atomic::Ordering;
        if !ok {
            self.failed.store(true, Ordering::Release);
        }
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(done) = self.done.lock().take() {
                done(!self.failed.load(Ordering::Acquire));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseState;
    use std::net::Ipv4Addr;

    fn lease(last: u8, lifetime: u32) -> Lease {
        Lease {
            address: Ipv4Addr::new(192, 0, 2, last),
            hwaddr: vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff],
            client_id: None,
            valid_lifetime: lifetime,
            expire: 1_700_003_600,
            subnet_id: 1,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: LeaseState::Default,
            user_context: String::new(),
        }
    }

    #[test]
    fn deletions_go_first_and_updates_carry_expire_and_force_create() {
        let updates = updates_of(&[lease(10, 3600), lease(11, 0)]);
        assert_eq!(updates[0].command, "lease4-del");
        assert_eq!(updates[0].arguments["ip-address"], "192.0.2.11");
        assert_eq!(updates[1].command, "lease4-update");
        assert_eq!(updates[1].arguments["expire"], 1_700_003_600);
        assert_eq!(updates[1].arguments["force-create"], true);
        assert!(updates[1].arguments.get("cltt").is_none());
    }

    #[test]
    fn a_join_reports_once_and_fails_if_any_part_failed() {
        let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let record = seen.clone();
        let join = Join::new(2, Box::new(move |ok| record.lock().push(ok)));
        join.complete(true);
        assert!(seen.lock().is_empty());
        join.complete(false);
        assert_eq!(*seen.lock(), vec![false]);
    }
}
