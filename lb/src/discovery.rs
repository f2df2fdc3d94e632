//! Backends from a DNS name (the resolvers' headless Service), re-resolved every
//! `interval` (1 s by default, not dnsdist's 10): each address of the name is a
//! backend. A failed or empty lookup keeps the current set (a DNS hiccup must
//! not empty the pool); the failure is logged once per change of state and
//! counted.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::shutdown::Shutdown;
use hickory_proto::op::Message;
use hickory_proto::rr::RData;
use metrics::Counter;
use tokio::net::UdpSocket;
use tokio::time::MissedTickBehavior;

use crate::config::Discovery;
use crate::reconcile::Reconciler;
use crate::wire::{build_query, encode_name};

/// Why a lookup gave no addresses.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The query could not be sent or no answer came in time.
    #[error("lookup of {name} failed: {reason}")]
    Failed {
        /// The name looked up.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// The name has no A or AAAA records.
    #[error("{0} has no addresses")]
    Empty(String),
}

/// The addresses of `discovery.name` (A and AAAA), with `discovery.port`:
/// through `discovery.server` when set, else the system resolver.
pub async fn lookup(discovery: &Discovery) -> Result<BTreeSet<SocketAddr>, LookupError> {
    let failed = |reason: String| LookupError::Failed {
        name: discovery.name.clone(),
        reason,
    };
    let ips: BTreeSet<IpAddr> = match discovery.server {
        Some(server) => {
            let mut ips = BTreeSet::new();
            for qtype in [1u16, 28] {
                ips.extend(
                    ask(server, &discovery.name, qtype, discovery.timeout)
                        .await
                        .map_err(failed)?,
                );
            }
            ips
        }
        None => {
            // As written: a trailing dot makes the name absolute, so the
            // resolver skips the search list (a pod's ndots:5 would otherwise
            // try every search domain first, on every lookup).
            let host = (discovery.name.as_str(), discovery.port);
            tokio::time::timeout(discovery.timeout, tokio::net::lookup_host(host))
                .await
                .map_err(|_| failed("timed out".into()))?
                .map_err(|e| failed(e.to_string()))?
                .map(|addr| addr.ip())
                .collect()
        }
    };
    if ips.is_empty() {
        return Err(LookupError::Empty(discovery.name.clone()));
    }
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, discovery.port))
        .collect())
}

/// One query for `name`/`qtype` to `server`: the addresses answered.
async fn ask(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    limit: Duration,
) -> Result<Vec<IpAddr>, String> {
    let qname = encode_name(name).ok_or_else(|| format!("`{name}` is not a domain name"))?;
    let mut query = build_query(&qname, qtype);
    let id: u16 = rand::random();
    query[..2].copy_from_slice(&id.to_be_bytes());
    let local: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let exchange = async {
        let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
        socket.connect(server).await.map_err(|e| e.to_string())?;
        socket.send(&query).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 65_535];
        loop {
            let len = socket.recv(&mut buf).await.map_err(|e| e.to_string())?;
            let Ok(msg) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            if msg.metadata.id != id {
                continue;
            }
            return Ok(msg
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect());
        }
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| format!("no answer from {server} within {} ms", limit.as_millis()))?
}

/// Re-resolves `discovery.name` every `discovery.interval` and hands each new
/// address set to `reconciler`, until `stop` fires.
pub fn spawn(discovery: Discovery, reconciler: Arc<Reconciler>, failures: Counter, stop: Shutdown) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(discovery.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = stop.requested() => return,
                _ = ticks.tick() => {}
            }
            match lookup(&discovery).await {
                Ok(addrs) => {
                    if failing {
                        tracing::info!(name = %discovery.name, backends = addrs.len(), "backend discovery works again");
                        failing = false;
                    }
                    if let Err(error) = reconciler.set_discovered(addrs).await {
                        tracing::error!(%error, "cannot apply discovered backends");
                    }
                }
                Err(error) => {
                    failures.increment(1);
                    if !failing {
                        tracing::warn!(%error, "backend discovery failed; keeping the current backends");
                        failing = true;
                    }
                }
            }
        }
    });
}
