//! The request list (Unbound's mesh): resolutions in flight by cache key, with
//! every client waiting on each, bounded by `num-queries-per-thread` (times
//! the threads), and jostling as Unbound's `mesh_make_new_space`
//! (services/mesh.c).
//!
//! Jostling: the first half of the list (Unbound's "forever" list: entries
//! created while fewer than half the slots were forever ones) is never
//! replaced; later entries go on the jostle list. When the list is full, a new
//! query may replace the oldest entry on the jostle list if the newest client
//! waiting on it asked more than `jostle-timeout` ago: that resolution is
//! abandoned and its clients get no reply (as Unbound's, which deletes the
//! mesh state with its reply list). So queries for names whose servers are
//! slow or silent cannot hold the whole list against other names; without a
//! replaceable entry, the new query is refused (request list exceeded).
//!
//! One mutex guards the table; it is taken once per cache miss (not per
//! query), and jostling looks at one entry only.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// The request list: see the module docs.
pub struct RequestList<O> {
    inner: Mutex<Inner<O>>,
    limit: usize,
    forever_max: usize,
    jostle_timeout: Duration,
}

struct Inner<O> {
    entries: HashMap<Box<[u8]>, Entry<O>>,
    /// Entries on the forever list.
    forever: usize,
    /// The jostle list's entries by (key, id), oldest first; entries that have
    /// since finished are skipped and pruned lazily.
    jostle: VecDeque<(Box<[u8]>, u64)>,
    next_id: u64,
}

struct Entry<O> {
    id: u64,
    waiters: Vec<oneshot::Sender<O>>,
    /// When the newest client joined (Unbound's `reply_list->start_time`).
    last_joined: Instant,
    forever: bool,
    task: Option<AbortHandle>,
}

/// What joining the list gave.
pub enum Joined<O> {
    /// A resolution for the key was in flight: wait on it.
    Waiting(oneshot::Receiver<O>),
    /// A new entry: the caller starts the resolution, registers it with
    /// [`RequestList::set_task`] and ends it with [`RequestList::finish`].
    Started {
        /// The outcome, when the resolution ends.
        receiver: oneshot::Receiver<O>,
        /// The entry's identity.
        id: u64,
        /// True when an older entry was jostled out to make room.
        jostled: bool,
    },
    /// The list is full and nothing could be replaced.
    Full,
}

impl<O> RequestList<O> {
    /// A list of `limit` entries (at least 1) that jostles entries whose
    /// newest client waited longer than `jostle_timeout`.
    pub fn new(limit: usize, jostle_timeout: Duration) -> Self {
        let limit = limit.max(1);
        RequestList {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                forever: 0,
                jostle: VecDeque::new(),
                next_id: 0,
            }),
            limit,
            // mesh.c: max_forever_states = (max_reply_states+1)/2.
            forever_max: limit.div_ceil(2),
            jostle_timeout,
        }
    }

    /// Joins the entry for `key` as a waiter (at most `max_waiters` per
    /// entry), or starts one, jostling the oldest replaceable entry out when
    /// the list is full.
    pub fn join(&self, key: &[u8], max_waiters: usize, now: Instant) -> Joined<O> {
        let (sender, receiver) = oneshot::channel();
        let mut inner = self.inner.lock();
        if let Some(entry) = inner.entries.get_mut(key) {
            if entry.waiters.len() >= max_waiters {
                return Joined::Full;
            }
            entry.waiters.push(sender);
            entry.last_joined = now;
            return Joined::Waiting(receiver);
        }
        let mut jostled = false;
        if inner.entries.len() >= self.limit {
            if !self.jostle_oldest(&mut inner, now) {
                return Joined::Full;
            }
            jostled = true;
        }
        let id = inner.next_id;
        inner.next_id = inner.next_id.wrapping_add(1);
        let forever = inner.forever < self.forever_max;
        if forever {
            inner.forever += 1;
        } else {
            inner.jostle.push_back((key.into(), id));
            self.prune(&mut inner);
        }
        inner.entries.insert(
            key.into(),
            Entry {
                id,
                waiters: vec![sender],
                last_joined: now,
                forever,
                task: None,
            },
        );
        Joined::Started {
            receiver,
            id,
            jostled,
        }
    }

    /// mesh_make_new_space: removes the oldest jostle-list entry if its
    /// newest client waited longer than jostle-timeout. True if it did.
    fn jostle_oldest(&self, inner: &mut Inner<O>, now: Instant) -> bool {
        while let Some((key, id)) = inner.jostle.front() {
            let live = inner.entries.get(key).is_some_and(|e| e.id == *id);
            if !live {
                inner.jostle.pop_front();
                continue;
            }
            let Some(entry) = inner.entries.get(key) else {
                return false;
            };
            if now.saturating_duration_since(entry.last_joined) <= self.jostle_timeout {
                return false;
            }
            let Some((key, _)) = inner.jostle.pop_front() else {
                return false;
            };
            if let Some(entry) = inner.entries.remove(&key) {
                if let Some(task) = entry.task {
                    task.abort();
                }
                // The waiters' senders drop here: their clients get no reply.
            }
            return true;
        }
        false
    }

    /// Keeps the jostle queue within twice the list size by dropping the
    /// records of entries that have finished.
    fn prune(&self, inner: &mut Inner<O>) {
        if inner.jostle.len() <= self.limit.saturating_mul(2) {
            return;
        }
        let Inner {
            entries, jostle, ..
        } = inner;
        jostle.retain(|(key, id)| entries.get(key).is_some_and(|e| e.id == *id));
    }

    /// Lets jostling abort the resolution of entry `id`.
    pub fn set_task(&self, key: &[u8], id: u64, task: AbortHandle) {
        let mut inner = self.inner.lock();
        match inner.entries.get_mut(key) {
            Some(entry) if entry.id == id => entry.task = Some(task),
            // Jostled before it was registered.
            _ => task.abort(),
        }
    }

    /// Ends entry `id`: removes it and returns its waiters (none when it was
    /// jostled out).
    pub fn finish(&self, key: &[u8], id: u64) -> Vec<oneshot::Sender<O>> {
        let mut inner = self.inner.lock();
        match inner.entries.get(key) {
            Some(entry) if entry.id == id => {}
            _ => return Vec::new(),
        }
        let Some(entry) = inner.entries.remove(key) else {
            return Vec::new();
        };
        if entry.forever {
            inner.forever = inner.forever.saturating_sub(1);
        }
        entry.waiters
    }

    /// True when a resolution for `key` is in flight (a new client would
    /// join it).
    pub fn contains(&self, key: &[u8]) -> bool {
        self.inner.lock().entries.contains_key(key)
    }

    /// Entries in flight.
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(list: &RequestList<u8>, key: &[u8], now: Instant) -> (u64, bool) {
        match list.join(key, 8, now) {
            Joined::Started { id, jostled, .. } => (id, jostled),
            Joined::Waiting(_) => panic!("joined an existing entry"),
            Joined::Full => panic!("list full"),
        }
    }

    /// mesh_make_new_space: the first half is never jostled; the oldest of the
    /// second half is, once older than jostle-timeout; a young one is not.
    #[tokio::test]
    async fn jostles_the_oldest_of_the_second_half_only_after_the_timeout() {
        let list = RequestList::<u8>::new(4, Duration::from_millis(200));
        let t0 = Instant::now();
        for key in [b"a", b"b", b"c", b"d"] {
            start(&list, key, t0);
        }
        assert!(matches!(
            list.join(b"e", 8, t0 + Duration::from_millis(100)),
            Joined::Full
        ));
        let later = t0 + Duration::from_millis(300);
        assert!(start(&list, b"e", later).1, "jostled one");
        assert_eq!(list.len(), 4);
        // "c" (oldest on the jostle list) went; "a" and "b" are forever.
        assert!(list.finish(b"c", 2).is_empty());
        assert_eq!(list.finish(b"a", 0).len(), 1);
        // Next: "d", then "e" when old enough; never "b".
        assert!(!start(&list, b"f", later).1, "room: no jostling");
        // "d" is as old as "c" was.
        assert!(start(&list, b"g", later).1, "d jostled");
        // "e" is young, "b" and "f" forever.
        assert!(matches!(list.join(b"h", 8, later), Joined::Full));
        assert!(start(&list, b"h", later + Duration::from_millis(300)).1);
        assert_eq!(list.finish(b"b", 1).len(), 1);
    }

    /// The age runs from the newest client's arrival (reply_list->start_time).
    #[tokio::test]
    async fn a_new_waiter_keeps_an_entry_young() {
        let list = RequestList::<u8>::new(2, Duration::from_millis(200));
        let t0 = Instant::now();
        start(&list, b"a", t0);
        start(&list, b"b", t0);
        let t1 = t0 + Duration::from_millis(150);
        assert!(matches!(list.join(b"b", 8, t1), Joined::Waiting(_)));
        assert!(matches!(
            list.join(b"c", 8, t0 + Duration::from_millis(300)),
            Joined::Full
        ));
        assert!(start(&list, b"c", t1 + Duration::from_millis(250)).1);
    }

    /// Jostled clients get no reply; the resolution's task is aborted.
    #[tokio::test]
    async fn jostled_waiters_are_dropped_and_task_aborted() {
        let list = RequestList::<u8>::new(1, Duration::ZERO);
        let t0 = Instant::now();
        // With one slot the forever half is that slot: nothing to jostle.
        let Joined::Started { receiver, id, .. } = list.join(b"a", 8, t0) else {
            panic!("not started");
        };
        assert!(matches!(
            list.join(b"b", 8, t0 + Duration::from_secs(1)),
            Joined::Full
        ));
        list.finish(b"a", id);
        drop(receiver);

        let list = RequestList::<u8>::new(2, Duration::ZERO);
        start(&list, b"a", t0);
        let Joined::Started { receiver, id, .. } = list.join(b"b", 8, t0) else {
            panic!("not started");
        };
        let task = tokio::spawn(std::future::pending::<()>());
        list.set_task(b"b", id, task.abort_handle());
        start(&list, b"c", t0 + Duration::from_millis(1));
        assert!(receiver.await.is_err(), "waiter dropped");
        assert!(task.await.unwrap_err().is_cancelled());
        // A late finish of the jostled entry does not remove the new one.
        assert!(list.finish(b"b", id).is_empty());
        assert_eq!(list.len(), 2);
    }

    /// Finished entries leave the jostle queue, which stays bounded.
    #[tokio::test]
    async fn jostle_queue_stays_bounded() {
        let list = RequestList::<u8>::new(2, Duration::from_secs(1));
        let t0 = Instant::now();
        start(&list, b"forever", t0);
        for i in 0..1000u32 {
            let key = i.to_be_bytes();
            let (id, _) = start(&list, &key, t0);
            list.finish(&key, id);
        }
        assert!(list.inner.lock().jostle.len() <= 4);
    }
}
