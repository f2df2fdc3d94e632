//! Asking one server one question: UDP with a fresh random source port and ID,
//! TCP (after TC or by choice), DoT to TLS forwarders. Every reply is checked
//! against what was asked (ID, QR, question) before anyone sees it.
//!
//! [`mock`] (tests only) is the in-memory twin: a mock internet of zones and
//! misbehaving servers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::dns::tcp::{read_frame, write_frame};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use metrics::Counter;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout_at, Instant};

use crate::error::TransportError;

#[cfg(test)]
pub(crate) mod mock;

/// How to send one query.
#[derive(Clone, Debug)]
pub struct QueryOptions {
    /// Use TCP instead of UDP.
    pub tcp: bool,
    /// Use TLS (implies a stream transport); the name verifies the certificate.
    pub tls_name: Option<String>,
    /// Give up after this long.
    pub timeout: Duration,
    /// EDNS payload size to advertise; None sends no OPT. With an OPT the DO
    /// bit is always set: answers from signed zones come with their RRSIGs and
    /// denial records, which DO clients and validating cachedb readers need.
    pub edns_payload: Option<u16>,
    /// Set RD (forwarders) or not (authoritative servers).
    pub recursion_desired: bool,
}

/// A validated reply.
#[derive(Debug)]
pub struct Reply {
    /// The decoded message.
    pub message: Message,
    /// Round-trip time of the exchange.
    pub rtt: Duration,
    /// Whether it came over a stream (TCP/TLS).
    pub stream: bool,
}

/// Something that can ask a server a question: the network, or a test double.
pub trait Transport: Send + Sync + 'static {
    /// Sends `query` to `server` and returns the first reply that matches it.
    fn exchange(
        &self,
        server: SocketAddr,
        query: &Query,
        options: &QueryOptions,
    ) -> impl Future<Output = Result<Reply, TransportError>> + Send;
}

/// Counters the network transport keeps (unbound_query_udpout_total, ...).
#[derive(Clone, Debug)]
pub struct TransportMetrics {
    /// Queries sent over UDP.
    pub udp_out: Counter,
    /// Queries sent over TCP or TLS.
    pub tcp_out: Counter,
    /// Replies that did not match an outstanding query.
    pub unwanted_replies: Counter,
}

/// The real network.
#[derive(Clone)]
pub struct NetTransport {
    metrics: TransportMetrics,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for NetTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetTransport").finish_non_exhaustive()
    }
}

impl NetTransport {
    /// A transport counting into `metrics`; TLS upstreams are verified against
    /// `roots` (the system store at startup, or test roots).
    pub fn new(metrics: TransportMetrics, roots: rustls::RootCertStore) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
            .unwrap_or_else(|_| {
                // The ring provider always supports the default versions; keep a
                // verifier-only config rather than panic if that ever changes.
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_protocol_versions(&[&rustls::version::TLS13])
                .map(|b| {
                    b.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                })
                .unwrap_or_else(|_| unreachable_config())
            });
        Self {
            metrics,
            tls: Arc::new(tls),
        }
    }
}

fn unreachable_config() -> rustls::ClientConfig {
    // Only reached if the ring provider supports no TLS version at all.
    #[allow(clippy::expect_used)]
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// Builds the wire query with a random ID.
pub fn encode_query(
    query: &Query,
    options: &QueryOptions,
) -> Result<(u16, Vec<u8>), TransportError> {
    let id: u16 = rand::random();
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = options.recursion_desired;
    message.add_query(query.clone());
    if let Some(payload) = options.edns_payload {
        let mut edns = Edns::new();
        edns.set_max_payload(payload.max(512));
        edns.set_dnssec_ok(true);
        message.set_edns(edns);
    }
    let wire = message
        .to_vec()
        .map_err(|_| TransportError::Malformed(unspecified()))?;
    Ok((id, wire))
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

/// True when `reply` answers `query` sent with `id` (RFC 5452 §9.1: ID, question, QR).
pub fn matches(reply: &Message, id: u16, query: &Query) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == 1
        && reply.queries[0].query_type() == query.query_type()
        && reply.queries[0].query_class() == query.query_class()
        && reply.queries[0].name() == query.name()
}

impl Transport for NetTransport {
    async fn exchange(
        &self,
        server: SocketAddr,
        query: &Query,
        options: &QueryOptions,
    ) -> Result<Reply, TransportError> {
        let (id, wire) = encode_query(query, options)?;
        let deadline = Instant::now() + options.timeout;
        let started = Instant::now();
        if options.tcp || options.tls_name.is_some() {
            self.metrics.tcp_out.increment(1);
            let message = timeout_at(deadline, self.stream_exchange(server, &wire, options))
                .await
                .map_err(|_| TransportError::Timeout(server))??;
            if !matches(&message, id, query) {
                self.metrics.unwanted_replies.increment(1);
                return Err(TransportError::Malformed(server));
            }
            return Ok(Reply {
                message,
                rtt: started.elapsed(),
                stream: true,
            });
        }
        self.metrics.udp_out.increment(1);
        let bind: SocketAddr = if server.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let io = |source| TransportError::Io {
            addr: server,
            source,
        };
        // A fresh socket per query: the kernel picks a random source port (RFC 5452 §4.5),
        // and connect() makes it drop datagrams from any other address.
        let socket = UdpSocket::bind(bind).await.map_err(io)?;
        socket.connect(server).await.map_err(io)?;
        socket.send(&wire).await.map_err(io)?;
        // Room for what we advertised plus slack for servers that overshoot.
        let mut buf = vec![0u8; usize::from(options.edns_payload.unwrap_or(512).max(512)) + 1024];
        loop {
            let received = timeout_at(deadline, socket.recv(&mut buf)).await;
            let len = match received {
                Err(_) => return Err(TransportError::Timeout(server)),
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(len)) => len,
            };
            match Message::from_vec(&buf[..len]) {
                Ok(message) if matches(&message, id, query) => {
                    return Ok(Reply {
                        message,
                        rtt: started.elapsed(),
                        stream: false,
                    });
                }
                _ => {
                    // Spoofed, stale or garbled: ignore and keep waiting for the real one.
                    self.metrics.unwanted_replies.increment(1);
                }
            }
        }
    }
}

impl NetTransport {
    async fn stream_exchange(
        &self,
        server: SocketAddr,
        wire: &[u8],
        options: &QueryOptions,
    ) -> Result<Message, TransportError> {
        let io = |source| TransportError::Io {
            addr: server,
            source,
        };
        let stream = TcpStream::connect(server).await.map_err(io)?;
        let _ = stream.set_nodelay(true);
        match &options.tls_name {
            None => frame_exchange(stream, wire, server).await,
            Some(name) => {
                let server_name = rustls_pki_types::ServerName::try_from(name.clone())
                    .map_err(|_| TransportError::NotAllowed(server))?;
                let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
                let tls = connector.connect(server_name, stream).await.map_err(io)?;
                frame_exchange(tls, wire, server).await
            }
        }
    }
}

async fn frame_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    wire: &[u8],
    server: SocketAddr,
) -> Result<Message, TransportError> {
    let io = |source| TransportError::Io {
        addr: server,
        source,
    };
    write_frame(&mut stream, wire).await.map_err(io)?;
    let mut buf = Vec::with_capacity(4096);
    if !read_frame(&mut stream, &mut buf).await.map_err(io)? {
        return Err(TransportError::Malformed(server));
    }
    Message::from_vec(&buf).map_err(|_| TransportError::Malformed(server))
}
