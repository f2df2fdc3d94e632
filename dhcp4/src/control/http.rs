//! Commands over HTTP, as Kea's Control Agent (and Kea 3's HTTP control
//! sockets) serve them: `POST` with a JSON body, answered with a JSON list
//! of one answer per service. Basic authentication and TLS (with client
//! certificates when `cert-required`) as Kea configures them.
//!
//! Bounds: a request head of at most [`MAX_HEAD`] bytes, a body of at most
//! [`MAX_COMMAND`], each request within [`READ_TIMEOUT`], idle keep-alive
//! connections closed after [`IDLE_TIMEOUT`], [`MAX_CONNECTIONS`] at once.
//! A malformed request gets Kea's 400, a wrong password Kea's 401.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::shutdown::Shutdown;
use data_encoding::BASE64;
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{kea_text, Answer, Control, Request, MAX_COMMAND};
use crate::clock::http_date;
use crate::config::model::{BasicAuth, HttpControl, HttpTls};

/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Time a whole request may take to arrive (Kea: 10 s, then 408).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time an idle keep-alive connection stays open (Kea: 30 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once (an HA partner opens one per update sender,
/// plus heartbeats and synchronisation, so well over
/// [`crate::ha::updates::SHARDS`]).
pub const MAX_CONNECTIONS: usize = 256;

/// How long a connection over the limit waits for a slot.
const SLOT_WAIT: Duration = Duration::from_secs(1);

/// Why an HTTP listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address cannot be bound.
    #[error("control listener {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A TLS file is unreadable or unusable.
    #[error("control listener TLS: {0}")]
    Tls(String),
}

/// A bound listener with what it needs to serve.
pub struct Listener {
    socket: std::net::TcpListener,
    settings: Arc<HttpControl>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// The only commands answered (others get Kea's 403), when restricted.
    allowed: Option<&'static [&'static str]>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("addr", &self.settings.addr)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Binds `settings.addr` and loads its TLS files, so a bad address or file
/// fails at start with its name; `allowed` restricts the commands served.
pub fn bind(
    settings: &HttpControl,
    allowed: Option<&'static [&'static str]>,
) -> Result<Listener, HttpError> {
    let addr = settings.addr;
    let socket = common::admin::bind(addr).map_err(|source| HttpError::Bind { addr, source })?;
    let tls = settings
        .tls
        .as_ref()
        .map(|tls| server_config(tls).map(|c| tokio_rustls::TlsAcceptor::from(Arc::new(c))))
        .transpose()?;
    Ok(Listener {
        socket,
        settings: Arc::new(settings.clone()),
        tls,
        allowed,
    })
}

/// The rustls server configuration of Kea's TLS parameters.
pub fn server_config(tls: &HttpTls) -> Result<ServerConfig, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| HttpError::Tls(format!("{}: {e}", tls.cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .map_err(|e| HttpError::Tls(format!("{}: {e}", tls.key.display())))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Tls(e.to_string()))?;
    let builder = match &tls.trust_anchor {
        Some(anchor) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(anchor)
                .map_err(|e| HttpError::Tls(format!("{}: {e}", anchor.display())))?
            {
                let cert =
                    cert.map_err(|e| HttpError::Tls(format!("{}: {e}", anchor.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| HttpError::Tls(format!("{}: {e}", anchor.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if tls.cert_required {
                verifier.build()
            } else {
                verifier.allow_unauthenticated().build()
            }
            .map_err(|e| HttpError::Tls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| HttpError::Tls(format!("{}: {e}", tls.cert.display())))
}

/// Serves commands on `listener` until shutdown.
pub async fn serve(
    listener: Listener,
    control: Arc<Control>,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let socket = TcpListener::from_std(listener.socket)?;
    tracing::info!(addr = %listener.settings.addr, tls = listener.tls.is_some(), "control HTTP listening");
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.requested() => break,
            accepted = socket.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "control HTTP: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // At the limit a new connection waits briefly for a slot (the HA
        // partner's bursts), then is closed.
        let permit = match tokio::time::timeout(SLOT_WAIT, slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                tracing::debug!(%peer, "control HTTP: too many connections; closed");
                continue;
            }
        };
        let control = control.clone();
        let settings = listener.settings.clone();
        let tls = listener.tls.clone();
        let allowed = listener.allowed;
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let served = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(READ_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            connection(stream, &control, &settings, allowed, &shutdown).await
                        }
                        Ok(Err(error)) => Err(error),
                        Err(_) => Ok(()),
                    }
                }
                None => connection(stream, &control, &settings, allowed, &shutdown).await,
            };
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "control HTTP: connection ended");
            }
            drop(permit);
        });
    }
    Ok(())
}

/// One parsed request.
#[derive(Debug, Default)]
struct HttpRequest {
    method: String,
    version_minor: u8,
    content_type: Option<String>,
    content_length: Option<usize>,
    authorization: Option<String>,
    close: bool,
}

/// What reading a request ended in.
enum Read {
    Request(HttpRequest),
    /// Kea's 400.
    Bad,
    /// The client closed or went idle.
    Gone,
    /// The request did not arrive in time (408).
    Slow,
}

/// Serves requests on one connection until it closes.
async fn connection<S>(
    mut stream: S,
    control: &Control,
    settings: &HttpControl,
    allowed: Option<&'static [&'static str]>,
    shutdown: &Shutdown,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut pending = Vec::new();
    let mut served = 0u64;
    loop {
        // A new connection must start its request soon; a kept-alive one
        // may idle longer between requests.
        let wait = if served == 0 {
            READ_TIMEOUT
        } else {
            IDLE_TIMEOUT
        };
        let read = tokio::select! {
            () = shutdown.requested() => return Ok(()),
            read = read_head(&mut stream, &mut pending, wait) => read?,
        };
        let request = match read {
            Read::Request(request) => request,
            Read::Bad => return respond(&mut stream, 400, "Bad Request", None, true).await,
            Read::Slow => return respond(&mut stream, 408, "Request Timeout", None, true).await,
            Read::Gone => return Ok(()),
        };
        if request.method != "POST"
            || request.content_length.is_none_or(|n| n > MAX_COMMAND)
            || !request
                .content_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("application/json"))
        {
            return respond(&mut stream, 400, "Bad Request", None, true).await;
        }
        // Credentials before the body: a client without them never makes
        // the server buffer or parse one (Kea parses first; a bad body
        // without credentials gets 401 here, not 400).
        if let Some(auth) = &settings.auth {
            if !authorized(auth, request.authorization.as_deref()) {
                let challenge = format!("Basic realm=\"{}\"", auth.realm);
                return respond(&mut stream, 401, "Unauthorized", Some(&challenge), true).await;
            }
        }
        let body = match read_body(
            &mut stream,
            &mut pending,
            request.content_length.unwrap_or(0),
        )
        .await?
        {
            Some(body) => body,
            None => return respond(&mut stream, 408, "Request Timeout", None, true).await,
        };
        let parsed: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice(&body) {
                Ok(value) => Some(value),
                Err(_) => return respond(&mut stream, 400, "Bad Request", None, true).await,
            }
        };
        if let (Some(allowed), Some(command)) = (
            allowed,
            parsed
                .as_ref()
                .and_then(|v| v.get("command"))
                .and_then(Value::as_str),
        ) {
            if !command.is_empty() && !allowed.contains(&command) {
                return respond(&mut stream, 403, "Forbidden", None, true).await;
            }
        }
        let answers = answer(control, parsed).await;
        let close = request.close || request.version_minor == 0;
        let body = kea_text(&Value::Array(answers));
        write_response(&mut stream, 200, "OK", &body, None, close).await?;
        served += 1;
        if close {
            return stream.shutdown().await;
        }
    }
}

/// The answers to a request body, one per service it names.
async fn answer(control: &Control, body: Option<Value>) -> Vec<Value> {
    let Some(body) = body else {
        return vec![Answer::error("Command processing failed: NULL command parameter").to_json()];
    };
    let request = match Request::from_json(body) {
        Ok(request) => request,
        Err(answer) => return vec![answer.to_json()],
    };
    let mut services = request.service.clone().unwrap_or_default();
    // One run per daemon named, however often it is named.
    let mut seen = std::collections::HashSet::new();
    services.retain(|s| seen.insert(s.clone()));
    if services.is_empty() {
        return vec![control.execute(&request).await.to_json()];
    }
    let mut answers = Vec::with_capacity(services.len());
    for service in services {
        let answer = if service == "dhcp4" {
            control.execute(&request).await
        } else {
            Answer::error(format!(
                "forwarding socket is not configured for the server type {service}"
            ))
        };
        answers.push(answer.to_json());
    }
    answers
}

/// Whether `header` (the Authorization value) names a configured client.
fn authorized(auth: &BasicAuth, header: Option<&str>) -> bool {
    let Some((scheme, token)) = header.and_then(|h| h.trim().split_once(' ')) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let token = token.trim().as_bytes();
    auth.clients.iter().fold(false, |found, (user, password)| {
        let expected = BASE64.encode(format!("{user}:{password}").as_bytes());
        found | constant_time_eq(expected.as_bytes(), token)
    })
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads one request head, waiting at most `first_wait` for its first
/// byte and [`READ_TIMEOUT`] for the rest; `pending` keeps what follows it.
async fn read_head<S>(
    stream: &mut S,
    pending: &mut Vec<u8>,
    first_wait: Duration,
) -> std::io::Result<Read>
where
    S: AsyncRead + Unpin,
{
    let mut chunk = [0u8; 8192];
    while pending.is_empty() {
        match tokio::time::timeout(first_wait, stream.read(&mut chunk)).await {
            Err(_) | Ok(Ok(0)) => return Ok(Read::Gone),
            Ok(Ok(n)) => pending.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
            Ok(Err(error)) => return Err(error),
        }
    }
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    let head_end = loop {
        if let Some(end) = find(pending, b"\r\n\r\n") {
            break end;
        }
        if pending.len() > MAX_HEAD {
            return Ok(Read::Bad);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return Ok(Read::Slow),
            Ok(Ok(0)) => return Ok(Read::Gone),
            Ok(Ok(n)) => pending.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
            Ok(Err(error)) => return Err(error),
        }
    };
    let Some(request) = parse_head(pending.get(..head_end).unwrap_or(&[])) else {
        return Ok(Read::Bad);
    };
    pending.drain(..head_end + 4);
    Ok(Read::Request(request))
}

/// Reads a body of `length` bytes within [`READ_TIMEOUT`]; `None` when it
/// does not arrive in time (or the client leaves).
async fn read_body<S>(
    stream: &mut S,
    pending: &mut Vec<u8>,
    length: usize,
) -> std::io::Result<Option<Vec<u8>>>
where
    S: AsyncRead + Unpin,
{
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    let mut chunk = [0u8; 8192];
    while pending.len() < length {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) | Ok(Ok(0)) => return Ok(None),
            Ok(Ok(n)) => pending.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
            Ok(Err(error)) => return Err(error),
        }
    }
    Ok(Some(pending.drain(..length).collect()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The request line and the headers that matter.
fn parse_head(head: &[u8]) -> Option<HttpRequest> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let method = parts.next()?.to_string();
    let _target = parts.next()?;
    let version_minor = match parts.next()? {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        _ => return None,
    };
    let mut request = HttpRequest {
        method,
        version_minor,
        ..HttpRequest::default()
    };
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => request.content_type = Some(value.to_string()),
            "content-length" => request.content_length = Some(value.parse().ok()?),
            "authorization" => request.authorization = Some(value.to_string()),
            "connection" => request.close = value.eq_ignore_ascii_case("close"),
            "transfer-encoding" => return None,
            _ => {}
        }
    }
    Some(request)
}

/// Kea's stock error answer (`{ "result": CODE, "text": REASON }`).
async fn respond<S>(
    stream: &mut S,
    code: u16,
    reason: &str,
    challenge: Option<&str>,
    close: bool,
) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let body = format!("{{ \"result\": {code}, \"text\": \"{reason}\" }}");
    write_response(stream, code, reason, &body, challenge, close).await?;
    stream.shutdown().await
}

async fn write_response<S>(
    stream: &mut S,
    code: u16,
    reason: &str,
    body: &str,
    challenge: Option<&str>,
    close: bool,
) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nDate: {}\r\n",
        body.len(),
        http_date(SystemTime::now())
    );
    if let Some(challenge) = challenge {
        head.push_str(&format!("WWW-Authenticate: {challenge}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_and_chunked_or_broken_ones_do_not() {
        let head = b"POST /x HTTP/1.1\r\nContent-Type: application/json\r\ncontent-length: 12\r\nAuthorization: Basic YTpi\r\nConnection: close";
        let Some(request) = parse_head(head) else {
            panic!("refused");
        };
        assert_eq!(request.method, "POST");
        assert_eq!(request.content_length, Some(12));
        assert_eq!(request.authorization.as_deref(), Some("Basic YTpi"));
        assert!(request.close);
        assert!(parse_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked").is_none());
        assert!(parse_head(b"POST / HTTP/2.0").is_none());
        assert!(parse_head(b"POST / HTTP/1.1\r\nno colon here").is_none());
    }

    #[test]
    fn basic_auth_matches_only_a_configured_pair() {
        let auth = BasicAuth {
            realm: "kea".into(),
            clients: vec![("admin".into(), "secret".into())],
        };
        assert!(authorized(&auth, Some("Basic YWRtaW46c2VjcmV0")));
        assert!(authorized(&auth, Some("basic YWRtaW46c2VjcmV0")));
        assert!(!authorized(&auth, Some("Basic YWRtaW46c2VjcmV1")));
        assert!(!authorized(&auth, Some("Bearer YWRtaW46c2VjcmV0")));
        assert!(!authorized(&auth, None));
    }
}
