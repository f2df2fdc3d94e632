//! Lease updates to the peers (Kea's leases4_committed callout): for each
//! query that committed, released or declined leases, one `lease4-del` per
//! deleted lease then one `lease4-update` (force-create) per new one, sent
//! to the partner (and to backups), and the client's reply held until the
//! partner acknowledged every one; a failed update drops the reply.
//!
//! The receive threads hand jobs to a bounded queue (a full queue drops
//! the reply, as Kea's parked-packet-limit does); a pool of tasks sends
//! them, each on a kept-alive connection.

use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tokio::sync::mpsc;

use super::client::{PeerClient, REQUEST_TIMEOUT};
use super::state::State;
use super::HaService;
use crate::control::lease_json;
use crate::lease::Lease;

/// Jobs waiting for a sender; more are refused.
const QUEUE: usize = 8192;

/// Updates in flight at once (each on its own connection).
const SENDERS: usize = 32;

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

struct Job {
    peer: Arc<PeerClient>,
    updates: Arc<[Update]>,
    /// Whether this peer is the partner (its failure makes it unavailable).
    partner: bool,
    done: Option<Done>,
}

/// The queue of jobs and its senders.
#[derive(Default)]
pub struct Updater {
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Updater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updater")
            .field("started", &self.queue.get().is_some())
            .finish()
    }
}

impl Updater {
    /// An updater not started yet.
    pub fn new() -> Updater {
        Updater::default()
    }
}

/// Starts the senders of `ha` (inside the runtime).
pub fn start(ha: &Arc<HaService>) {
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    if ha.updater.queue.set(tx).is_err() {
        return;
    }
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..SENDERS {
        let (rx, ha) = (rx.clone(), ha.clone());
        tokio::spawn(async move {
            loop {
                let job = rx.lock().await.recv().await;
                let Some(job) = job else { break };
                send(&ha, job).await;
            }
        });
    }
}

/// Sends one query's updates to one peer, in order.
async fn send(ha: &HaService, mut job: Job) {
    let mut ok = true;
    for update in job.updates.iter() {
        let sent = job
            .peer
            .send(
                update.command,
                Some(update.arguments.clone()),
                REQUEST_TIMEOUT,
            )
            .await;
        if let Err(error) = sent {
            tracing::warn!(peer = job.peer.name(), %error, command = update.command, "HA: lease update failed");
            ok = false;
            break;
        }
    }
    if ok {
        ha.metrics.updates_sent.increment(job.updates.len() as u64);
    } else {
        ha.metrics
            .updates_failed
            .increment(job.updates.len() as u64);
        if job.partner {
            ha.partner_failed();
        }
    }
    if let Some(done) = job.done.take() {
        done(ok);
    }
}

impl HaService {
    /// Sends the updates for one query's lease `changes`; `done` is called
    /// once, when the reply may go (`true`) or must be dropped (`false`):
    /// at once when nothing needs acknowledging.
    pub fn dispatch(&self, changes: &[Lease], done: Done) {
        if !self.config.send_lease_updates || changes.is_empty() {
            done(true);
            return;
        }
        let updates: Arc<[Update]> = updates_of(changes).into();
        let Some(queue) = self.updater.queue.get() else {
            done(true);
            return;
        };
        let waited = self.config.wait_backup_ack;
        let mut joins: Vec<(Arc<PeerClient>, bool)> = Vec::new();
        for backup in &self.backups {
            if waited {
                joins.push((backup.clone(), false));
            } else {
                let job = Job {
                    peer: backup.clone(),
                    updates: updates.clone(),
                    partner: false,
                    done: None,
                };
                if queue.try_send(job).is_err() {
                    self.metrics.updates_failed.increment(updates.len() as u64);
                }
            }
        }
        if let Some(partner) = &self.partner {
            match self.state() {
                State::CommunicationRecovery => {
                    let mut inner = self.inner.lock();
                    let limit = self.config.delayed_updates_limit as usize;
                    for update in updates.iter() {
                        if inner.backlog.len() >= limit {
                            inner.overflowed = true;
                            break;
                        }
                        inner.backlog.push_back(update.clone());
                    }
                }
                state if state.sends_updates() => joins.push((partner.clone(), true)),
                _ => {
                    let mut inner = self.inner.lock();
                    inner.unsent_updates = inner.unsent_updates.checked_add(1).unwrap_or(1);
                    self.metrics.updates_unsent.increment(updates.len() as u64);
                }
            }
        }
        if joins.is_empty() {
            done(true);
            return;
        }
        let join = Arc::new(Join::new(joins.len(), done));
        for (peer, partner) in joins {
            let join = join.clone();
            let job = Job {
                peer,
                updates: updates.clone(),
                partner,
                done: Some(Box::new(move |ok| join.complete(ok))),
            };
            if let Err(refused) = queue.try_send(job) {
                let job = match refused {
                    mpsc::error::TrySendError::Full(job)
                    | mpsc::error::TrySendError::Closed(job) => job,
                };
                tracing::debug!("HA: update queue full; reply dropped");
                if let Some(done) = job.done {
                    done(false);
                }
            }
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
