//! The shared Redis cache (Unbound's cachedb module): a memory-cache miss asks
//! Redis before recursing, and what recursion learns is written back in the
//! background, so every replica benefits from every other's work and a new or
//! restarted replica starts warm.
//!
//! Redis is never allowed to hurt answers:
//! - every operation is bounded by `redis-timeout`;
//! - after [`FAILURES_TO_OPEN`] consecutive failures a circuit breaker opens and
//!   queries stop asking Redis at all (no added latency), while a supervisor
//!   probes it every [`PROBE_INTERVAL`] and closes the breaker when it answers;
//! - writes go through a bounded queue to a writer task, never on an answer's
//!   path; a full queue drops the write and counts it;
//! - each change of state is logged once, never each query.
//!
//! [`blob`] holds the key and value layout shared with Unbound; [`link`] the
//! connection for each Redis topology.

pub mod blob;
pub mod link;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use futures_util::future::join_all;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

use crate::cache::{CachedMessage, MessageKey};
use crate::config::CachedbConfig;
use crate::metrics::CachedbMetrics;
use blob::{Decoded, KEY_LEN};
use link::{Connector, Link};

/// Consecutive failed operations that open the breaker.
pub const FAILURES_TO_OPEN: u32 = 3;

/// How often an open breaker probes Redis.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// Writes waiting for the writer task at most; more are dropped and counted.
const WRITE_QUEUE: usize = 16_384;

/// Writes sent to Redis together (pipelined on one connection).
const WRITE_BATCH: usize = 128;

/// How long past its expiry an entry stays in Redis when serve-expired has no
/// limit (`serve-expired-ttl: 0`) and redis-expire-records is on.
const UNLIMITED_STALE_KEEP: u64 = 86_400;

/// What a Redis lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A usable answer (fresh, or expired when serve-expired may use it).
    Found(Decoded),
    /// Nothing usable: absent, expired, invalid, or Redis failed or is bypassed.
    Nothing,
}

/// One pending write.
struct Write {
    key: [u8; KEY_LEN],
    value: Vec<u8>,
    expire: Option<u64>,
}

/// Settings the cache reads at lookup and store time.
#[derive(Clone, Debug)]
pub struct CachedbOptions {
    /// `redis-timeout`.
    pub timeout: Duration,
    /// `secret-seed`.
    pub secret_seed: String,
    /// `redis-expire-records`.
    pub expire_records: bool,
    /// `cachedb-no-store`.
    pub no_store: bool,
    /// serve-expired: expired values are still used.
    pub serve_expired: bool,
    /// `serve-expired-ttl` (0 = no limit).
    pub serve_expired_ttl: u32,
    /// `serve-expired-reply-ttl`: TTL of records in an expired answer.
    pub serve_expired_reply_ttl: u32,
    /// `cache-max-ttl`.
    pub max_ttl: u32,
}

/// The shared cache client. Dropping the last `Arc` stops its tasks.
pub struct Cachedb {
    options: CachedbOptions,
    connector: Connector,
    link: ArcSwapOption<Link>,
    breaker: Breaker,
    writes: mpsc::Sender<Write>,
    metrics: CachedbMetrics,
    /// Becomes true once the first connection attempt has finished.
    first_attempt: watch::Receiver<bool>,
}

impl std::fmt::Debug for Cachedb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cachedb")
            .field("options", &self.options)
            .field("breaker_open", &self.breaker.is_open())
            .finish_non_exhaustive()
    }
}

impl Cachedb {
    /// Builds the client and starts its supervisor and writer tasks (needs a
    /// tokio runtime). Bad endpoints are an error; an unreachable Redis is not.
    pub fn start(
        config: &CachedbConfig,
        options: CachedbOptions,
        metrics: CachedbMetrics,
    ) -> redis::RedisResult<Arc<Self>> {
        let connector = Connector::new(config)?;
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        let (attempted, first_attempt) = watch::channel(false);
        let cachedb = Arc::new(Self {
            options,
            connector,
            link: ArcSwapOption::empty(),
            // Closed only once a connection works: until then queries skip Redis.
            breaker: Breaker::new_open(),
            writes,
            metrics,
            first_attempt,
        });
        cachedb.metrics.breaker_open.set(1.0);
        tokio::spawn(supervise(Arc::downgrade(&cachedb), attempted));
        tokio::spawn(write_behind(Arc::downgrade(&cachedb), queue));
        Ok(cachedb)
    }

    /// Waits (at most `limit`) for the first connection attempt, so a replica
    /// that starts next to a warm Redis answers its first queries from it.
    pub async fn wait_first_attempt(&self, limit: Duration) {
        let mut attempted = self.first_attempt.clone();
        let _ = tokio::time::timeout(limit, attempted.wait_for(|done| *done)).await;
    }

    /// True while Redis is bypassed.
    pub fn is_bypassed(&self) -> bool {
        self.breaker.is_open()
    }

    /// Looks `key` up in Redis. `min_remaining`: for a prefetch, the seconds the
    /// memory entry has left; a value no fresher, or itself due for prefetch,
    /// is not taken (recursion refreshes it instead).
    pub async fn lookup(&self, key: &MessageKey, min_remaining: u32) -> Lookup {
        if self.breaker.is_open() {
            self.metrics.get_skipped.increment(1);
            return Lookup::Nothing;
        }
        let Some(link) = self.link.load_full() else {
            self.metrics.get_skipped.increment(1);
            return Lookup::Nothing;
        };
        let redis_key = blob::redis_key(key, &self.options.secret_seed);
        let started = Instant::now();
        let value = match tokio::time::timeout(self.options.timeout, link.get(&redis_key)).await {
            Ok(Ok(value)) => {
                self.metrics
                    .get_latency
                    .record(started.elapsed().as_secs_f64());
                self.breaker.success();
                value
            }
            Ok(Err(error)) if error.is_timeout() => {
                self.metrics.get_timeouts.increment(1);
                self.failure();
                return Lookup::Nothing;
            }
            Ok(Err(error)) => {
                self.metrics.get_errors.increment(1);
                tracing::debug!(%error, "cachedb: GET failed");
                self.failure();
                return Lookup::Nothing;
            }
            Err(_) => {
                self.metrics.get_timeouts.increment(1);
                self.failure();
                return Lookup::Nothing;
            }
        };
        let Some(value) = value else {
            self.metrics.misses.increment(1);
            return Lookup::Nothing;
        };
        let decoded = blob::decode(
            key,
            &value,
            unix_now(),
            Instant::now(),
            self.options.max_ttl,
            self.options.serve_expired_reply_ttl,
        );
        match decoded {
            Ok(found)
                if found.remaining > min_remaining
                    && (min_remaining == 0
                        || found.remaining.saturating_mul(10) > found.lifetime) =>
            {
                self.metrics.hits.increment(1);
                Lookup::Found(found)
            }
            Ok(found) if found.remaining == 0 && min_remaining == 0 && self.may_serve(&found) => {
                self.metrics.hits.increment(1);
                Lookup::Found(found)
            }
            Ok(_) => {
                self.metrics.misses.increment(1);
                Lookup::Nothing
            }
            Err(error) => {
                self.metrics.invalid.increment(1);
                tracing::debug!(%error, "cachedb: value ignored");
                Lookup::Nothing
            }
        }
    }

    /// Queues `entry` (just resolved, `ttl` seconds of life) for writing.
    /// Never waits: with the queue full the write is dropped and counted.
    pub fn store(&self, key: &MessageKey, entry: &CachedMessage, ttl: u32) {
        if self.options.no_store {
            return;
        }
        let Some(value) = blob::encode(key, entry.wire(), ttl, unix_now()) else {
            return;
        };
        let expire = self.options.expire_records.then(|| {
            let stale_keep = match (self.options.serve_expired, self.options.serve_expired_ttl) {
                (false, _) => 0,
                (true, 0) => UNLIMITED_STALE_KEEP,
                (true, limit) => u64::from(limit),
            };
            u64::from(ttl) + stale_keep
        });
        let write = Write {
            key: blob::redis_key(key, &self.options.secret_seed),
            value,
            expire,
        };
        if self.writes.try_send(write).is_err() {
            self.metrics.write_drops.increment(1);
        }
    }

    /// An expired entry is usable while serve-expired allows its age.
    fn may_serve(&self, found: &Decoded) -> bool {
        let expired_for = found.age.saturating_sub(found.lifetime);
        self.options.serve_expired
            && (self.options.serve_expired_ttl == 0
                || expired_for <= self.options.serve_expired_ttl)
    }

    fn failure(&self) {
        if self.breaker.failure() {
            self.metrics.breaker_open.set(1.0);
            tracing::warn!(
                failures = FAILURES_TO_OPEN,
                "cachedb: Redis is failing; bypassing it (answers come from memory and recursion) until it recovers"
            );
        }
    }
}

/// Consecutive-failure circuit breaker.
struct Breaker {
    open: AtomicBool,
    failures: AtomicU32,
    opened: Notify,
}

impl Breaker {
    fn new_open() -> Self {
        Self {
            open: AtomicBool::new(true),
            failures: AtomicU32::new(0),
            opened: Notify::new(),
        }
    }

    fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    fn success(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a failure; true when this one opened the breaker.
    fn failure(&self) -> bool {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= FAILURES_TO_OPEN && !self.open.swap(true, Ordering::AcqRel) {
            self.opened.notify_one();
            return true;
        }
        false
    }

    fn close(&self) {
        self.failures.store(0, Ordering::Relaxed);
        self.open.store(false, Ordering::Release);
    }
}

/// Connects, and while the breaker is open probes Redis until it answers.
/// Ends when the cache is dropped.
async fn supervise(cachedb: Weak<Cachedb>, attempted: watch::Sender<bool>) {
    let mut announced_down = false;
    loop {
        let Some(db) = cachedb.upgrade() else { return };
        if db.breaker.is_open() {
            match probe(&db).await {
                Ok(()) => {
                    db.breaker.close();
                    db.metrics.breaker_open.set(0.0);
                    tracing::info!("cachedb: Redis is reachable; using it");
                    announced_down = false;
                }
                Err(error) => {
                    db.metrics.connect_errors.increment(1);
                    if !announced_down {
                        tracing::warn!(%error, "cachedb: Redis is unreachable; answering from memory and recursion meanwhile");
                        announced_down = true;
                    }
                }
            }
            attempted.send_replace(true);
            if db.breaker.is_open() {
                drop(db);
                tokio::time::sleep(PROBE_INTERVAL).await;
                continue;
            }
        }
        // Wait for the breaker to open again (notify_one keeps a permit, so an
        // opening in between is not missed), waking each second to notice
        // that the cache was dropped.
        if !db.breaker.is_open() {
            let _ =
                tokio::time::timeout(Duration::from_secs(1), db.breaker.opened.notified()).await;
        }
    }
}

/// One probe: a (re)connection when needed, then PING, within the timeout.
async fn probe(db: &Cachedb) -> Result<(), String> {
    let limit = db.options.timeout.max(Duration::from_millis(500));
    let attempt = async {
        let link = match db.link.load_full() {
            Some(link) if !db.connector.reconnects_on_recovery() => link,
            _ => {
                let link = Arc::new(db.connector.connect().await.map_err(|e| e.to_string())?);
                db.link.store(Some(link.clone()));
                link
            }
        };
        link.ping().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
    }
}

/// Drains the write queue in batches; each batch's SETs are pipelined on the
/// shared connection and bounded by the timeout together.
async fn write_behind(cachedb: Weak<Cachedb>, mut queue: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    while queue.recv_many(&mut batch, WRITE_BATCH).await > 0 {
        let Some(db) = cachedb.upgrade() else { return };
        let link = db.link.load_full();
        match link {
            Some(link) if !db.breaker.is_open() => write_batch(&db, &link, &batch).await,
            _ => db.metrics.set_skipped.increment(batch.len() as u64),
        }
        batch.clear();
    }
}

async fn write_batch(db: &Cachedb, link: &Link, batch: &[Write]) {
    let started = Instant::now();
    let sets = join_all(
        batch
            .iter()
            .map(|write| link.set(&write.key, &write.value, write.expire)),
    );
    match tokio::time::timeout(db.options.timeout, sets).await {
        Ok(results) => {
            let elapsed = started.elapsed().as_secs_f64();
            let mut failed = false;
            for result in results {
                match result {
                    Ok(()) => {
                        db.metrics.writes.increment(1);
                        db.metrics.set_latency.record(elapsed);
                    }
                    Err(error) if error.is_timeout() => {
                        failed = true;
                        db.metrics.set_timeouts.increment(1);
                    }
                    Err(error) => {
                        failed = true;
                        db.metrics.set_errors.increment(1);
                        tracing::debug!(%error, "cachedb: SET failed");
                    }
                }
            }
            if failed {
                db.failure();
            } else {
                db.breaker.success();
            }
        }
        Err(_) => {
            db.metrics.set_timeouts.increment(batch.len() as u64);
            db.failure();
        }
    }
}

/// Seconds since the Unix epoch (the clock Unbound's stamps use).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
