//! Commands to a peer over HTTP(S), as Kea's HA hook sends them: `POST` of
//! `{"command", "arguments", "service": ["dhcp4"]}`, basic authentication
//! with the peer's credentials, keep-alive connections (a few kept idle for
//! reuse), and Kea's checks on the answer (a JSON list whose first element
//! is the answer map; result 0 or 3 is a success).

use std::sync::Arc;
use std::time::Duration;

use data_encoding::BASE64;
use parking_lot::Mutex;
use rustls::pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::model::HaPeer;

/// Kea's timeout for every HA request but page fetches.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle connections kept per peer: one per update sender, and a few for
/// heartbeats, synchronisation and commands.
const IDLE_KEPT: usize = super::updates::SHARDS + 8;

/// Largest answer read (a page of 10,000 leases is about 3 MB).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Why a command to a peer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// No connection, a reset, a timeout.
    #[error("{peer}: {what}")]
    Io {
        /// The peer.
        peer: String,
        /// What failed.
        what: String,
    },
    /// The peer answered, but not with Kea's answer list.
    #[error("{peer}: {what}")]
    Protocol {
        /// The peer.
        peer: String,
        /// What was wrong.
        what: String,
    },
    /// The peer refused the command (`result` other than 0 and 3).
    #[error("{peer}: {text}, error code {code}")]
    Refused {
        /// The peer.
        peer: String,
        /// Its result code.
        code: i64,
        /// Its text.
        text: String,
    },
}

/// A peer's answer that Kea counts as a success.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// 0 or 3.
    pub result: i64,
    /// `arguments`, when present.
    pub arguments: Option<Value>,
    /// `text`, when present.
    pub text: Option<String>,
}

/// How an exchange failed: before the peer can have read the request (a
/// kept connection it had closed: safe to retry), or after.
enum Trip {
    Stale(PeerError),
    Failed(PeerError),
}

impl Trip {
    fn into_error(self) -> PeerError {
        match self {
            Trip::Stale(error) | Trip::Failed(error) => error,
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A client of one peer.
pub struct PeerClient {
    peer: HaPeer,
    authorization: Option<String>,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    idle: Mutex<Vec<Box<dyn Stream>>>,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient")
            .field("peer", &self.peer.name)
            .finish_non_exhaustive()
    }
}

impl PeerClient {
    /// A client of `peer`; TLS files are read now, so a bad one fails at
    /// start with its name.
    pub fn new(peer: &HaPeer) -> Result<PeerClient, String> {
        let tls = if peer.url.https {
            let Some(files) = &peer.tls else {
                return Err(format!("{}: https URL without TLS files", peer.name));
            };
            let mut roots = rustls::RootCertStore::empty();
            if let Some(anchor) = &files.trust_anchor {
                for cert in CertificateDer::pem_file_iter(anchor)
                    .map_err(|e| format!("{}: {e}", anchor.display()))?
                {
                    let cert = cert.map_err(|e| format!("{}: {e}", anchor.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", anchor.display()))?;
                }
            }
            let certs = CertificateDer::pem_file_iter(&files.cert)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("{}: {e}", files.cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(&files.key)
                .map_err(|e| format!("{}: {e}", files.key.display()))?;
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("{}: {e}", files.cert.display()))?;
            let name = ServerName::from(peer.url.addr.ip());
            Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        let authorization = peer.basic_auth.as_ref().map(|(user, password)| {
            format!(
                "Basic {}",
                BASE64.encode(format!("{user}:{password}").as_bytes())
            )
        });
        Ok(PeerClient {
            peer: peer.clone(),
            authorization,
            tls,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The peer's name.
    pub fn name(&self) -> &str {
        &self.peer.name
    }

    fn io(&self, what: impl std::fmt::Display) -> PeerError {
        PeerError::Io {
            peer: self.peer.name.clone(),
            what: what.to_string(),
        }
    }

    fn protocol(&self, what: impl Into<String>) -> PeerError {
        PeerError::Protocol {
            peer: self.peer.name.clone(),
            what: what.into(),
        }
    }

    async fn connect(&self) -> Result<Box<dyn Stream>, PeerError> {
        let tcp = TcpStream::connect(self.peer.url.addr)
            .await
            .map_err(|e| self.io(e))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| self.io(e))?;
                Ok(Box::new(stream))
            }
            None => Ok(Box::new(tcp)),
        }
    }

    /// Sends `command` with `arguments`; the answer when Kea would count it
    /// a success, within `timeout`.
    pub async fn send(
        &self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Reply, PeerError> {
        let mut body = json!({"command": command, "service": ["dhcp4"]});
        if let (Some(arguments), Some(map)) = (arguments, body.as_object_mut()) {
            map.insert("arguments".into(), arguments);
        }
        let body = body.to_string();
        match tokio::time::timeout(timeout, self.exchange(&body)).await {
            Ok(result) => result,
            Err(_) => Err(self.io(format!("{command}: no answer within {timeout:?}"))),
        }
    }

    /// One request and its answer, on an idle connection when one is
    /// kept (a kept connection the peer closed meanwhile is retried once on
    /// a new one).
    async fn exchange(&self, body: &str) -> Result<Reply, PeerError> {
        let reused = self.idle.lock().pop();
        let fresh_only = reused.is_none();
        let mut stream = match reused {
            Some(stream) => stream,
            None => self.connect().await?,
        };
        let answer = match self.round_trip(&mut stream, body).await {
            Ok(answer) => answer,
            // Only a kept connection the peer had closed before it read
            // anything is retried: a command it may have run is not sent
            // twice.
            Err(Trip::Stale(_)) if !fresh_only => {
                stream = self.connect().await?;
                self.round_trip(&mut stream, body)
                    .await
                    .map_err(Trip::into_error)?
            }
            Err(trip) => return Err(trip.into_error()),
        };
        {
            let mut idle = self.idle.lock();
            if idle.len() < IDLE_KEPT {
                idle.push(stream);
            }
        }
        self.verify(answer)
    }

    async fn round_trip(&self, stream: &mut Box<dyn Stream>, body: &str) -> Result<Value, Trip> {
        let host = self.peer.url.addr.ip();
        let mut request = format!("POST {} HTTP/1.1\r\nHost: {host}\r\n", self.peer.url.path);
        if let Some(authorization) = &self.authorization {
            request.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        request.push_str(&format!(
            "Content-Length: {}\r\nContent-Type: application/json\r\n\r\n{body}",
            body.len()
        ));
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| Trip::Stale(self.io(e)))?;
        stream.flush().await.map_err(|e| Trip::Stale(self.io(e)))?;
        let (status, body) = self.read_response(stream).await?;
        if !(200..300).contains(&status) && body.is_empty() {
            return Err(Trip::Failed(self.protocol(format!("HTTP status {status}"))));
        }
        serde_json::from_slice(&body)
            .map_err(|e| Trip::Failed(self.protocol(format!("answer is not JSON: {e}"))))
    }

    async fn read_response(&self, stream: &mut Box<dyn Stream>) -> Result<(u16, Vec<u8>), Trip> {
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 16 * 1024];
        let head_end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            if buf.len() > 64 * 1024 {
                return Err(Trip::Failed(self.protocol("answer head too long")));
            }
            match stream.read(&mut chunk).await {
                // Closed or reset before a byte of answer: a stale kept
                // connection (the peer never read the request).
                Ok(0) | Err(_) if buf.is_empty() => {
                    return Err(Trip::Stale(self.io("connection closed before the answer")))
                }
                Ok(0) => return Err(Trip::Failed(self.io("connection closed mid-answer"))),
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
                Err(error) => return Err(Trip::Failed(self.io(error))),
            }
        };
        let head = std::str::from_utf8(buf.get(..head_end).unwrap_or(&[]))
            .map_err(|_| Trip::Failed(self.protocol("answer head is not text")))?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Trip::Failed(self.protocol("bad status line")))?;
        let length: usize = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .ok_or_else(|| Trip::Failed(self.protocol("no Content-Length in the answer")))?;
        if length > MAX_ANSWER {
            return Err(Trip::Failed(self.protocol("answer too large")));
        }
        let start = head_end + 4;
        while buf.len() < start + length {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| Trip::Failed(self.io(e)))?;
            if n == 0 {
                return Err(Trip::Failed(self.io("connection closed mid-answer")));
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
        Ok((
            status,
            buf.get(start..start + length).unwrap_or(&[]).to_vec(),
        ))
    }

    /// Kea's verifyAsyncResponse.
    fn verify(&self, answer: Value) -> Result<Reply, PeerError> {
        let answer = match answer {
            Value::Array(mut items) => {
                if items.is_empty() {
                    return Err(self.protocol("list of responses must not be empty"));
                }
                items.swap_remove(0)
            }
            Value::Object(map) => {
                let text = map
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_string();
                return Err(PeerError::Refused {
                    peer: self.peer.name.clone(),
                    code: 1,
                    text,
                });
            }
            _ => return Err(self.protocol("body of the response must be a list")),
        };
        let result = answer
            .get("result")
            .and_then(Value::as_i64)
            .ok_or_else(|| self.protocol("no integer 'result' in the answer"))?;
        let text = answer
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string);
        if result != 0 && result != 3 {
            return Err(PeerError::Refused {
                peer: self.peer.name.clone(),
                code: result,
                text: text.unwrap_or_default(),
            });
        }
        Ok(Reply {
            result,
            arguments: answer.get("arguments").cloned(),
            text,
        })
    }
}
