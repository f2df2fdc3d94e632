//! Per-client-IP rate limiting: a token bucket per address (`qps` refill,
//! `burst` capacity), as dnsdist's MaxQPSIPRule. The table is sharded to keep
//! lock contention off the hot path and bounded: buckets idle long enough to
//! be full again are dropped by [`RateLimiter::sweep`], and past `max_clients`
//! a new client is admitted untracked (never punished for the table's size).
//!
//! HOT PATH: one shard lock and a few arithmetic operations per query; no
//! allocation once a client has a bucket.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Shards of the client table.
const SHARDS: usize = 32;

/// What to do with a query over its client's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excess {
    /// Send nothing.
    Drop,
    /// Answer REFUSED.
    Refuse,
}

/// The rate-limit settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Sustained queries per second per client address.
    pub qps: f64,
    /// Queries a client may send at once after being quiet.
    pub burst: f64,
    /// What happens to the excess.
    pub excess: Excess,
    /// Client addresses tracked at most.
    pub max_clients: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-client buckets.
pub struct RateLimiter {
    config: RateLimitConfig,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl RateLimiter {
    /// An empty table for `config`.
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, Bucket>> {
        &self.shards[(self.hasher.hash_one(ip) as usize) % SHARDS]
    }

    /// Whether a query from `ip` at `now` is within its rate (and takes a token).
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut shard = self.shard(&ip).lock();
        let per_shard = self.config.max_clients.div_ceil(SHARDS);
        if !shard.contains_key(&ip) && shard.len() >= per_shard {
            return true;
        }
        let bucket = shard.entry(ip).or_insert(Bucket {
            tokens: self.config.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.config.qps).min(self.config.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Drops the buckets that have refilled completely (their clients would be
    /// treated exactly as new ones). Returns how many clients remain tracked.
    pub fn sweep(&self, now: Instant) -> usize {
        let full_after = Duration::from_secs_f64(
            (self.config.burst / self.config.qps.max(f64::MIN_POSITIVE)).min(86_400.0),
        );
        let mut remaining = 0;
        for shard in &self.shards {
            let mut shard = shard.lock();
            shard.retain(|_, b| now.saturating_duration_since(b.at) < full_after);
            remaining += shard.len();
        }
        remaining
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(qps: f64, burst: f64, max_clients: usize) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            qps,
            burst,
            excess: Excess::Drop,
            max_clients,
        })
    }

    #[test]
    fn burst_then_rate() {
        let rl = limiter(10.0, 5.0, 1000);
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let t0 = Instant::now();
        assert_eq!((0..8).filter(|_| rl.allow(a, t0)).count(), 5, "the burst");
        assert!(rl.allow(b, t0), "another client has its own bucket");
        // 0.35 s later: 3.5 tokens refilled, 3 usable.
        let t1 = t0 + Duration::from_millis(350);
        assert_eq!((0..8).filter(|_| rl.allow(a, t1)).count(), 3);
        // Over 10 s at 20 QPS offered, about 10 QPS pass.
        let mut passed = 0;
        for k in 0..200u64 {
            if rl.allow(a, t1 + Duration::from_millis(50 * k)) {
                passed += 1;
            }
        }
        assert!((95..=106).contains(&passed), "{passed}");
    }

    #[test]
    fn table_is_bounded_and_swept() {
        let rl = limiter(1.0, 2.0, SHARDS);
        let t0 = Instant::now();
        for i in 0..(SHARDS as u32 * 4) {
            let _ = rl.allow(IpAddr::from(i.to_be_bytes()), t0);
        }
        assert!(rl.sweep(t0) <= SHARDS);
        assert_eq!(
            rl.sweep(t0 + Duration::from_secs(3)),
            0,
            "full buckets are forgotten"
        );
    }
}
