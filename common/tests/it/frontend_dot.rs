//! DNS over TLS (RFC 7858): queries over a rustls session with ALPN "dot",
//! handshake timeout, and certificate reload without dropping old connections.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::dns::tcp::{read_frame, write_frame};
use common::frontend::{BoundFrontend, FrontendConfig, FrontendError};
use common::tls::TlsFiles;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::support::{id_of, localhost, query, start, within, EchoHandler};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("common-it-dot-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a fresh self-signed cert for "localhost" and returns its DER.
fn write_cert(dir: &Path) -> (TlsFiles, CertificateDer<'static>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let files = TlsFiles {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    std::fs::write(&files.cert, ck.cert.pem()).unwrap();
    std::fs::write(&files.key, ck.signing_key.serialize_pem()).unwrap();
    (files, ck.cert.der().clone())
}

fn connector(trusted: &[CertificateDer<'static>]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in trusted {
        roots.add(c.clone()).unwrap();
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![b"dot".to_vec()];
    TlsConnector::from(Arc::new(cfg))
}

async fn dial(connector: &TlsConnector, addr: std::net::SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    within(connector.connect(name, tcp)).await.unwrap()
}

fn server_cert(s: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    s.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

async fn ask(s: &mut TlsStream<TcpStream>, id: u16, name: &str) -> Vec<u8> {
    write_frame(s, &query(id, name)).await.unwrap();
    let mut buf = Vec::new();
    assert!(within(read_frame(s, &mut buf)).await.unwrap());
    buf
}

fn dot_config(files: TlsFiles) -> FrontendConfig {
    FrontendConfig {
        tls: vec![localhost()],
        tls_files: Some(files),
        tls_reload_interval: Duration::from_millis(50),
        tls_handshake_timeout: Duration::from_secs(1),
        ..FrontendConfig::default()
    }
}

/// Queries over DoT, with ALPN "dot" negotiated and the transport reported as Tls.
#[tokio::test]
async fn dot_query_with_alpn() {
    let dir = TempDir::new("query");
    let (files, der) = write_cert(&dir.0);
    let srv = start(
        dot_config(files),
        EchoHandler::new(Duration::from_millis(100)),
    );
    let conn = connector(&[der]);
    let mut s = dial(&conn, srv.tls[0]).await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"dot"[..]));
    let r = ask(&mut s, 1, "transport.example").await;
    assert_eq!((id_of(&r), r[3]), (1, 3), "reported as Transport::Tls");
    assert_eq!(id_of(&ask(&mut s, 2, "slow.example").await), 2);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// A client that never finishes its handshake is cut off after the timeout.
#[tokio::test]
async fn handshake_timeout() {
    let dir = TempDir::new("handshake");
    let (files, _) = write_cert(&dir.0);
    let srv = start(
        dot_config(files),
        EchoHandler::new(Duration::from_millis(10)),
    );
    let mut tcp = TcpStream::connect(srv.tls[0]).await.unwrap();
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "closed by the server: {r:?}"
    );
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Slow loris on DoT: past half the slots, a connection's handshake gets the
/// load-shortened timeout (200 ms here) instead of tls_handshake_timeout, so
/// clients that never send a ClientHello cannot hold the slots for long; the
/// first, admitted under no load, keeps the full timeout.
#[tokio::test]
async fn handshake_timeout_shrinks_under_load() {
    let dir = TempDir::new("loaded");
    let (files, _) = write_cert(&dir.0);
    let cfg = FrontendConfig {
        tcp_max_connections: 2,
        tcp_max_connections_per_client: Some(2),
        tls_handshake_timeout: Duration::from_secs(30),
        ..dot_config(files)
    };
    let srv = start(cfg, EchoHandler::new(Duration::from_millis(10)));
    let mut first = TcpStream::connect(srv.tls[0]).await.unwrap();
    let mut second = TcpStream::connect(srv.tls[0]).await.unwrap();
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(3), second.read(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "second (100 % load) closed: {r:?}"
    );
    let r = tokio::time::timeout(Duration::from_millis(500), first.read(&mut buf)).await;
    assert!(r.is_err(), "first (50 % load) still open: {r:?}");
    drop(first);
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// Certificate rotation (cert-manager, a Kubernetes Secret): after the files are
/// overwritten, new connections get the new certificate while a connection made
/// before keeps working.
#[tokio::test]
async fn reload_serves_new_cert_and_keeps_old_connections() {
    let dir = TempDir::new("reload");
    let (files, old_der) = write_cert(&dir.0);
    let srv = start(
        dot_config(files),
        EchoHandler::new(Duration::from_millis(10)),
    );

    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let new_der = ck.cert.der().clone();
    let conn = connector(&[old_der.clone(), new_der.clone()]);

    let mut old = dial(&conn, srv.tls[0]).await;
    assert_eq!(server_cert(&old), old_der);
    assert_eq!(id_of(&ask(&mut old, 1, "before.example").await), 1);

    // Kubernetes-style swap: write the new pair aside, then rename over the old.
    std::fs::write(dir.0.join("tls.crt.new"), ck.cert.pem()).unwrap();
    std::fs::write(dir.0.join("tls.key.new"), ck.signing_key.serialize_pem()).unwrap();
    std::fs::rename(dir.0.join("tls.key.new"), dir.0.join("tls.key")).unwrap();
    std::fs::rename(dir.0.join("tls.crt.new"), dir.0.join("tls.crt")).unwrap();

    let mut seen_new = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut fresh = dial(&conn, srv.tls[0]).await;
        if server_cert(&fresh) == new_der {
            assert_eq!(id_of(&ask(&mut fresh, 2, "after.example").await), 2);
            seen_new = true;
            break;
        }
    }
    assert!(seen_new, "new connections never saw the new certificate");
    assert_eq!(
        id_of(&ask(&mut old, 3, "still.example").await),
        3,
        "old connection still works"
    );
    srv.trigger.fire();
    within(srv.task).await.unwrap().unwrap();
}

/// DoT without certificate files, or with a missing file, fails at bind.
#[test]
fn bind_errors_for_tls() {
    let cfg = FrontendConfig {
        tls: vec![localhost()],
        ..FrontendConfig::default()
    };
    assert!(matches!(
        BoundFrontend::bind(cfg),
        Err(FrontendError::MissingTlsFiles)
    ));
    let dir = TempDir::new("missing");
    let files = TlsFiles {
        cert: dir.0.join("absent.crt"),
        key: dir.0.join("absent.key"),
    };
    let err = BoundFrontend::bind(dot_config(files))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.crt"), "{err}");
}
