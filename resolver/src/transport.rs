//! Asking one server one question: UDP with a fresh random source port and ID,
//! TCP (after TC or by choice), DoT to TLS forwarders. Every reply is checked
//! against what was asked (ID, QR, question) before anyone sees it: a datagram
//! with another ID is ignored (a blind spoofer must not end the wait), one with
//! our ID but not our question is rejected at once, so the next server is
//! asked without waiting out the timeout. UDP queries carry a DNS cookie
//! ([`cookie`], RFC 7873): a reply whose cookie is not ours is a forgery and
//! is ignored like one with another ID.
//!
//! `mock` (tests and the `fuzzing` feature) is the in-memory twin: a mock internet of zones and
//! misbehaving servers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::dns::tcp::{read_frame, write_frame};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use metrics::Counter;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout_at, Instant};

use crate::error::TransportError;

pub(crate) mod caps;
pub mod cookie;
// The fuzz harness uses the internet, not the tests' assertion helpers.
#[cfg(any(test, feature = "fuzzing"))]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod mock;

use caps::Perturbed;

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
    /// `use-caps-for-id`: randomise the case of the query name and accept
    /// only a reply that echoes it exactly ([`caps`]).
    pub caps: bool,
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
    /// Replies that did not match an outstanding query: another ID (ignored)
    /// or our ID without our question (rejected).
    pub unwanted_replies: Counter,
}

/// The real network.
#[derive(Clone)]
pub struct NetTransport {
    metrics: TransportMetrics,
    tls: Arc<rustls::ClientConfig>,
    /// DNS cookies sent with UDP queries and learned from replies.
    cookies: Arc<cookie::ClientCookies>,
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
            cookies: Arc::new(cookie::ClientCookies::default()),
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

/// The ID of a wire message, if it has a header.
fn wire_id(wire: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*wire.first()?, *wire.get(1)?]))
}

/// Whether `reply`, which carries our ID, answers `query` (RFC 5452 §9.1,
/// Unbound's scrub_message): QR set, and our question echoed; only an error
/// reply (FORMERR, REFUSED, ...) may leave the question out.
fn answers(reply: &Message, query: &Query) -> bool {
    if reply.metadata.message_type != MessageType::Response {
        return false;
    }
    match reply.queries.as_slice() {
        [] => !matches!(
            reply.metadata.response_code,
            ResponseCode::NoError | ResponseCode::NXDomain
        ),
        [asked] => {
            asked.query_type() == query.query_type()
                && asked.query_class() == query.query_class()
                && asked.name() == query.name()
        }
        _ => false,
    }
}

/// The 0x20 check of a reply carrying our ID `id` (others are judged, and
/// ignored, by [`judge`]): true when no case was randomised or the reply
/// echoes it; the original case is then restored in `wire`.
pub(crate) fn case_echoed(perturbed: Option<&Perturbed>, wire: &mut [u8], id: u16) -> bool {
    match perturbed {
        Some(perturbed) if wire_id(wire) == Some(id) => perturbed.echoed(wire),
        _ => true,
    }
}

/// What becomes of one reply that came back from the server asked.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Ours: hand it on.
    Accept(Message),
    /// Another ID (spoofed or stale) or no header: ignore it and keep waiting
    /// for the real one, which a blind spoofer cannot stop.
    Ignore,
    /// Our ID but garbled or not our question: reject it at once and let the
    /// next server be asked (Unbound drops it and moves on, no timeout).
    Reject,
}

/// Judges the datagram `wire` against the query sent with `id`.
pub(crate) fn judge(wire: &[u8], id: u16, query: &Query) -> Verdict {
    if wire_id(wire) != Some(id) {
        return Verdict::Ignore;
    }
    match Message::from_vec(wire) {
        Ok(message) if answers(&message, query) => Verdict::Accept(message),
        _ => Verdict::Reject,
    }
}

impl Transport for NetTransport {
    async fn exchange(
        &self,
        server: SocketAddr,
        query: &Query,
        options: &QueryOptions,
    ) -> Result<Reply, TransportError> {
        let (id, mut wire) = encode_query(query, options)?;
        let perturbed = options
            .caps
            .then(|| Perturbed::perturb(&mut wire, query.query_type()))
            .flatten();
        let deadline = Instant::now() + options.timeout;
        let started = Instant::now();
        if options.tcp || options.tls_name.is_some() {
            self.metrics.tcp_out.increment(1);
            let mut reply = timeout_at(deadline, self.stream_exchange(server, &wire, options))
                .await
                .map_err(|_| TransportError::Timeout(server))??;
            if !case_echoed(perturbed.as_ref(), &mut reply, id) {
                self.metrics.unwanted_replies.increment(1);
                return Err(TransportError::CaseMismatch(server));
            }
            // On a stream nothing else can arrive: anything but our reply is an error.
            let Verdict::Accept(message) = judge(&reply, id, query) else {
                self.metrics.unwanted_replies.increment(1);
                return Err(TransportError::Mismatch(server));
            };
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
        let sent = self.cookies.for_server(server.ip(), cookie::unix_now());
        // Only a query with an OPT record carries a cookie to be checked.
        let sent = cookie::add_to_query(&mut wire, &sent).then_some(sent);
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
            let datagram = buf.get_mut(..len).unwrap_or_default();
            if !case_echoed(perturbed.as_ref(), datagram, id) {
                // Our ID and port but not our case: a spoofer's lucky guess
                // or a server that does not echo case; the iterator decides
                // (Unbound's capsfail, see iterate::caps).
                self.metrics.unwanted_replies.increment(1);
                return Err(TransportError::CaseMismatch(server));
            }
            match judge(datagram, id, query) {
                Verdict::Accept(message) => {
                    match self.cookies.check(server.ip(), sent.as_ref(), &message) {
                        cookie::Check::Forged => self.metrics.unwanted_replies.increment(1),
                        cookie::Check::Accept => {
                            return Ok(Reply {
                                message,
                                rtt: started.elapsed(),
                                stream: false,
                            });
                        }
                    }
                }
                Verdict::Ignore => self.metrics.unwanted_replies.increment(1),
                Verdict::Reject => {
                    self.metrics.unwanted_replies.increment(1);
                    return Err(TransportError::Mismatch(server));
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
    ) -> Result<Vec<u8>, TransportError> {
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
) -> Result<Vec<u8>, TransportError> {
    let io = |source| TransportError::Io {
        addr: server,
        source,
    };
    write_frame(&mut stream, wire).await.map_err(io)?;
    let mut buf = Vec::with_capacity(4096);
    if !read_frame(&mut stream, &mut buf).await.map_err(io)? {
        return Err(TransportError::Malformed(server));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    //! The UDP checks over real loopback sockets: a server that sends the
    //! datagrams a test scripts, in order, in answer to one query.

    use super::*;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    /// Upper bound that only catches a hang: the exchanges below are given a
    /// 30 s timeout, so an exchange that waits it out fails the test.
    const HANG: Duration = Duration::from_secs(10);

    fn question(name: &str) -> Query {
        Query::query(Name::from_ascii(name).unwrap(), RecordType::A)
    }

    /// The real answer to `query`: our ID, our question, one A record.
    fn answer(query: &Message) -> Message {
        let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
        reply.add_queries(query.queries.iter().cloned());
        let name = query.queries[0].name().clone();
        reply.add_answer(Record::from_rdata(name, 60, RData::A(A::new(192, 0, 2, 1))));
        reply
    }

    /// A server on 127.0.0.1 that answers the first query it gets with what
    /// `script` makes of it.
    async fn scripted(script: fn(&Message) -> Vec<Message>) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let (len, peer) = socket.recv_from(&mut buf).await.unwrap();
            let query = Message::from_vec(&buf[..len]).unwrap();
            for reply in script(&query) {
                socket
                    .send_to(&reply.to_vec().unwrap(), peer)
                    .await
                    .unwrap();
            }
        });
        addr
    }

    /// Asks `server` for www.example.com. A; returns the outcome and the
    /// unwanted-replies count.
    async fn ask(server: SocketAddr) -> (Result<Reply, TransportError>, String) {
        ask_caps(server, false).await
    }

    /// [`ask`] with use-caps-for-id on or off.
    async fn ask_caps(server: SocketAddr, caps: bool) -> (Result<Reply, TransportError>, String) {
        let registry = crate::server::registry();
        let metrics = crate::metrics::Metrics::new(&registry);
        let transport =
            NetTransport::new(metrics.transport.clone(), rustls::RootCertStore::empty());
        let options = QueryOptions {
            tcp: false,
            tls_name: None,
            timeout: Duration::from_secs(30),
            edns_payload: Some(1232),
            recursion_desired: false,
            caps,
        };
        let query = question("www.example.com.");
        let exchange = transport.exchange(server, &query, &options);
        let outcome = tokio::time::timeout(HANG, exchange)
            .await
            .expect("the exchange waited out its timeout");
        let unwanted = registry
            .render()
            .lines()
            .find(|l| l.starts_with("unbound_unwanted_replies_total "))
            .unwrap_or_default()
            .to_string();
        (outcome, unwanted)
    }

    /// RFC 5452 §4.3: a reply with another ID is ignored (a blind spoofer must
    /// not end the wait), and the real one that follows is taken.
    #[tokio::test]
    async fn wrong_id_is_ignored_and_the_real_reply_taken() {
        let server = scripted(|query| {
            let mut spoofed = answer(query);
            spoofed.metadata.id = query.metadata.id.wrapping_add(1);
            vec![spoofed, answer(query)]
        })
        .await;
        let (outcome, unwanted) = ask(server).await;
        assert_eq!(outcome.unwrap().message.answers.len(), 1);
        assert_eq!(unwanted, "unbound_unwanted_replies_total 1");
    }

    /// Unbound's scrub_message: our ID but no question section on a NOERROR
    /// reply is rejected at once (the next server can be asked), not waited out.
    #[tokio::test]
    async fn reply_without_question_is_rejected_at_once() {
        let server = scripted(|query| {
            let mut reply = answer(query);
            reply.queries.clear();
            vec![reply]
        })
        .await;
        let (outcome, unwanted) = ask(server).await;
        assert!(
            matches!(outcome, Err(TransportError::Mismatch(_))),
            "{outcome:?}"
        );
        assert_eq!(unwanted, "unbound_unwanted_replies_total 1");
    }

    /// RFC 5452 §9.1: our ID with another question is not our reply: rejected
    /// at once, as is one with QR unset.
    #[tokio::test]
    async fn reply_to_another_question_or_without_qr_is_rejected_at_once() {
        let other = scripted(|query| {
            let mut reply = answer(query);
            reply.queries = vec![question("other.example.com.")];
            vec![reply]
        })
        .await;
        let (outcome, _) = ask(other).await;
        assert!(
            matches!(outcome, Err(TransportError::Mismatch(_))),
            "{outcome:?}"
        );

        let not_a_reply = scripted(|query| {
            let mut reply = answer(query);
            reply.metadata.message_type = MessageType::Query;
            vec![reply]
        })
        .await;
        let (outcome, unwanted) = ask(not_a_reply).await;
        assert!(
            matches!(outcome, Err(TransportError::Mismatch(_))),
            "{outcome:?}"
        );
        assert_eq!(unwanted, "unbound_unwanted_replies_total 1");
    }

    /// An error reply may leave the question out (scrub_message checks it only
    /// for NOERROR and NXDOMAIN): REFUSED without a question is taken, so the
    /// iterator moves on at once instead of waiting.
    #[tokio::test]
    async fn error_reply_without_question_is_taken() {
        let server = scripted(|query| {
            let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
            reply.metadata.response_code = ResponseCode::Refused;
            vec![reply]
        })
        .await;
        let (outcome, unwanted) = ask(server).await;
        let reply = outcome.unwrap();
        assert_eq!(reply.message.metadata.response_code, ResponseCode::Refused);
        assert_eq!(unwanted, "unbound_unwanted_replies_total 0");
    }

    /// use-caps-for-id over real sockets: a server that echoes the random
    /// case is answered, and the reply's names come back in the case asked
    /// (compressed answer owners included); one that lowercases the question
    /// is a case mismatch, counted as an unwanted reply.
    #[tokio::test]
    async fn caps_reply_must_echo_the_case_sent() {
        let echo = scripted(|query| {
            assert_ne!(
                query.queries[0].name().to_ascii(),
                "www.example.com.",
                "sent in random case (all-lowercase draw: 2^-13)"
            );
            vec![answer(query)]
        })
        .await;
        let (outcome, unwanted) = ask_caps(echo, true).await;
        let reply = outcome.unwrap();
        assert_eq!(
            reply.message.queries[0].name().to_ascii(),
            "www.example.com."
        );
        assert_eq!(reply.message.answers[0].name.to_ascii(), "www.example.com.");
        assert_eq!(unwanted, "unbound_unwanted_replies_total 0");

        let lowercase = scripted(|query| {
            let mut reply = answer(query);
            let lower = reply.queries[0].name().to_lowercase();
            reply.queries[0].set_name(lower);
            vec![reply]
        })
        .await;
        let (outcome, unwanted) = ask_caps(lowercase, true).await;
        assert!(
            matches!(outcome, Err(TransportError::CaseMismatch(_))),
            "{outcome:?}"
        );
        assert_eq!(unwanted, "unbound_unwanted_replies_total 1");
    }
}
