//! Per-server infrastructure cache: smoothed RTT, retransmit timeout and lameness,
//! so iteration prefers the fastest working server as Unbound's infra cache does.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::Name;
use quick_cache::sync::Cache;
use rand::Rng;
use tokio::time::Instant;

/// Unbound's UNKNOWN_SERVER_NICENESS: the RTO assumed for a server never measured.
pub const UNKNOWN_RTO: Duration = Duration::from_millis(376);
/// Unbound's RTT_MIN_TIMEOUT.
const MIN_RTO: Duration = Duration::from_millis(50);
/// Cap on the backed-off RTO; servers this slow are only tried when nothing else is left.
const MAX_RTO: Duration = Duration::from_secs(12);
/// Unbound's RTT_BAND: servers within this of the fastest are picked at random.
const RTT_BAND: Duration = Duration::from_millis(400);

#[derive(Clone, Copy, Debug)]
struct HostInfo {
    srtt_ms: f64,
    rttvar_ms: f64,
    rto: Duration,
    measured: bool,
    updated: Instant,
}

/// The infra cache.
pub struct Infra {
    hosts: Cache<IpAddr, HostInfo>,
    lame: Cache<(IpAddr, Name), Instant>,
    host_ttl: Duration,
}

impl std::fmt::Debug for Infra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Infra")
            .field("hosts", &self.hosts.len())
            .finish()
    }
}

impl Infra {
    /// An infra cache remembering servers for `host_ttl` (infra-host-ttl).
    pub fn new(host_ttl: Duration) -> Self {
        Self {
            hosts: Cache::new(10_000),
            lame: Cache::new(10_000),
            host_ttl,
        }
    }

    fn info(&self, addr: IpAddr, now: Instant) -> Option<HostInfo> {
        self.hosts
            .get(&addr)
            .filter(|h| now.saturating_duration_since(h.updated) < self.host_ttl)
    }

    /// The timeout to use for `addr` now.
    pub fn rto(&self, addr: IpAddr, now: Instant) -> Duration {
        self.info(addr, now).map_or(UNKNOWN_RTO, |h| h.rto)
    }

    /// Records a measured round trip (RFC 6298 smoothing).
    pub fn record_rtt(&self, addr: IpAddr, rtt: Duration, now: Instant) {
        let sample = rtt.as_secs_f64() * 1000.0;
        let info = match self.info(addr, now).filter(|h| h.measured) {
            None => HostInfo {
                srtt_ms: sample,
                rttvar_ms: sample / 2.0,
                rto: MIN_RTO,
                measured: true,
                updated: now,
            },
            Some(mut h) => {
                h.rttvar_ms = 0.75 * h.rttvar_ms + 0.25 * (h.srtt_ms - sample).abs();
                h.srtt_ms = 0.875 * h.srtt_ms + 0.125 * sample;
                h.updated = now;
                h
            }
        };
        let rto_ms = info.srtt_ms + 4.0 * info.rttvar_ms;
        let rto = Duration::from_secs_f64((rto_ms / 1000.0).max(0.0)).clamp(MIN_RTO, MAX_RTO);
        self.hosts.insert(addr, HostInfo { rto, ..info });
    }

    /// Records a timeout: the RTO doubles (exponential backoff).
    pub fn record_timeout(&self, addr: IpAddr, now: Instant) {
        let mut info = self.info(addr, now).unwrap_or(HostInfo {
            srtt_ms: UNKNOWN_RTO.as_secs_f64() * 1000.0,
            rttvar_ms: 0.0,
            rto: UNKNOWN_RTO,
            measured: false,
            updated: now,
        });
        info.rto = (info.rto * 2).min(MAX_RTO);
        info.updated = now;
        self.hosts.insert(addr, info);
    }

    /// Marks `addr` lame for `zone` (REFUSED, SERVFAIL, not authoritative).
    pub fn mark_lame(&self, addr: IpAddr, zone: &Name, now: Instant) {
        self.lame.insert((addr, zone.to_lowercase()), now);
    }

    /// True when `addr` was found lame for `zone` within infra-host-ttl.
    pub fn is_lame(&self, addr: IpAddr, zone: &Name, now: Instant) -> bool {
        self.lame
            .get(&(addr, zone.to_lowercase()))
            .is_some_and(|at| now.saturating_duration_since(at) < self.host_ttl)
    }

    /// Picks the server to try next among `candidates` (not yet failed): the
    /// non-lame ones whose RTO is within RTT_BAND of the best, at random; lame
    /// ones only when nothing else is left.
    pub fn select(
        &self,
        candidates: &[SocketAddr],
        zone: &Name,
        now: Instant,
    ) -> Option<SocketAddr> {
        if candidates.is_empty() {
            return None;
        }
        let scored: Vec<(SocketAddr, Duration, bool)> = candidates
            .iter()
            .map(|&addr| {
                (
                    addr,
                    self.rto(addr.ip(), now),
                    self.is_lame(addr.ip(), zone, now),
                )
            })
            .collect();
        let fresh: Vec<&(SocketAddr, Duration, bool)> =
            scored.iter().filter(|(_, _, lame)| !lame).collect();
        let pool: Vec<&(SocketAddr, Duration, bool)> = if fresh.is_empty() {
            scored.iter().collect()
        } else {
            fresh
        };
        let best = pool.iter().map(|(_, rto, _)| *rto).min()?;
        let band: Vec<SocketAddr> = pool
            .iter()
            .filter(|(_, rto, _)| *rto <= best + RTT_BAND)
            .map(|(addr, _, _)| *addr)
            .collect();
        let index = rand::rng().random_range(0..band.len());
        band.get(index).copied()
    }

    /// Number of servers remembered.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when no server is remembered.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_server_falls_out_of_the_band_once_measured() {
        let infra = Infra::new(Duration::from_secs(900));
        let now = Instant::now();
        let fast: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let slow: SocketAddr = "127.0.0.2:53".parse().unwrap();
        infra.record_rtt(fast.ip(), Duration::from_millis(1), now);
        for _ in 0..3 {
            infra.record_timeout(slow.ip(), now);
        }
        let zone = Name::root();
        for _ in 0..50 {
            assert_eq!(infra.select(&[fast, slow], &zone, now), Some(fast));
        }
    }

    #[test]
    fn lame_server_is_avoided_while_another_exists() {
        let infra = Infra::new(Duration::from_secs(900));
        let now = Instant::now();
        let a: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:53".parse().unwrap();
        let zone = Name::from_ascii("example.com.").unwrap();
        infra.mark_lame(a.ip(), &zone, now);
        for _ in 0..50 {
            assert_eq!(infra.select(&[a, b], &zone, now), Some(b));
        }
        assert_eq!(infra.select(&[a], &zone, now), Some(a));
    }
}
