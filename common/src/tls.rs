//! rustls server configuration for DNS over TLS (RFC 7858) from PEM files, reloaded
//! when the files change.
//!
//! Kubernetes updates a mounted Secret by writing a new timestamped directory and
//! swapping the `..data` symlink, so the watcher compares what `fs::metadata`
//! (which follows symlinks) reports for the target: modification time, length and
//! inode of both files. A reload builds a fresh [`ServerConfig`] and swaps it in;
//! connections already established keep the config they were accepted with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::shutdown::Shutdown;

/// ALPN protocol identifier of DNS over TLS (RFC 7858 §3.2, IANA "dot").
pub const ALPN_DOT: &[u8] = b"dot";

/// Where the certificate chain and private key live (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first (Unbound `tls-service-pem`).
    pub cert: PathBuf,
    /// Private key: PKCS#8, PKCS#1 or SEC1 (Unbound `tls-service-key`).
    pub key: PathBuf,
}

/// Why a certificate or key could not be loaded. Each variant names the file.
#[derive(thiserror::Error, Debug)]
pub enum TlsError {
    /// The certificate file could not be read or is not PEM.
    #[error("TLS certificate {path}: {source}")]
    Cert {
        /// The certificate file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("TLS certificate {path}: no CERTIFICATE section found")]
    NoCert {
        /// The certificate file.
        path: PathBuf,
    },
    /// The key file could not be read, is not PEM, or holds no private key.
    #[error("TLS private key {path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// rustls refused the pair (unsupported key type, key does not match the certificate).
    #[error("TLS certificate {cert} with key {key}: {source}")]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
}

/// Identity of a file's current content as far as cheap metadata can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    mtime: Option<SystemTime>,
    len: u64,
    ino: u64,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let md = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&md);
    #[cfg(not(unix))]
    let ino = 0;
    Some(FileStamp {
        mtime: md.modified().ok(),
        len: md.len(),
        ino,
    })
}

type PairStamp = (Option<FileStamp>, Option<FileStamp>);

#[derive(Debug)]
struct WatchState {
    /// Stamps of the files behind the config in use.
    loaded: PairStamp,
    /// True while reloads keep failing (one warning per streak).
    failing: bool,
}

#[derive(Debug)]
struct Inner {
    files: TlsFiles,
    current: ArcSwap<ServerConfig>,
    state: Mutex<WatchState>,
}

/// The DoT server config, swappable at run time. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct TlsReloader {
    inner: Arc<Inner>,
}

/// Reads the PEM files and builds a rustls server config with the ring provider
/// (no process-wide provider needed) and ALPN "dot".
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Cert {
            path: files.cert.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCert {
            path: files.cert.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|source| TlsError::Key {
        path: files.key.clone(),
        source,
    })?;
    let config_err = |source| TlsError::Config {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    };
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(config_err)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(config_err)?;
    config.alpn_protocols = vec![ALPN_DOT.to_vec()];
    Ok(config)
}

impl TlsReloader {
    /// Loads the files once; errors name the file at fault.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let loaded = (stamp(&files.cert), stamp(&files.key));
        let config = server_config(&files)?;
        Ok(TlsReloader {
            inner: Arc::new(Inner {
                files,
                current: ArcSwap::from_pointee(config),
                state: Mutex::new(WatchState {
                    loaded,
                    failing: false,
                }),
            }),
        })
    }

    /// The files this reloader watches.
    pub fn files(&self) -> &TlsFiles {
        &self.inner.files
    }

    /// The config to accept the next connection with.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.inner.current.load_full()
    }

    /// Reloads now, whatever the files' metadata says (SIGHUP). On error the
    /// previous config stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let loaded = (stamp(&self.inner.files.cert), stamp(&self.inner.files.key));
        let config = server_config(&self.inner.files)?;
        self.inner.current.store(Arc::new(config));
        let mut st = self.inner.state.lock();
        st.loaded = loaded;
        st.failing = false;
        Ok(())
    }

    /// Reloads when either file's mtime, length or inode changed since the last
    /// successful load. Logs one warning per failure streak and one info line per
    /// successful reload. Returns whether a new config was installed.
    pub fn check(&self) -> bool {
        let files = &self.inner.files;
        let now = (stamp(&files.cert), stamp(&files.key));
        let mut st = self.inner.state.lock();
        if now == st.loaded {
            return false;
        }
        match server_config(files) {
            Ok(config) => {
                self.inner.current.store(Arc::new(config));
                st.loaded = now;
                st.failing = false;
                tracing::info!(cert = %files.cert.display(), key = %files.key.display(), "TLS certificate reloaded");
                true
            }
            Err(error) => {
                // Keep the old config; retry at the next poll (a cert and key
                // replaced one after the other may mismatch for a moment).
                if !st.failing {
                    st.failing = true;
                    tracing::warn!(%error, "TLS reload failed; keeping the previous certificate");
                }
                false
            }
        }
    }

    /// Polls the files every `interval` until `shutdown` fires, reloading on change.
    /// Must be called inside a tokio runtime.
    pub fn spawn_watch(
        &self,
        interval: Duration,
        shutdown: Shutdown,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await; // the first tick is immediate
            loop {
                tokio::select! {
                    _ = shutdown.requested() => break,
                    _ = ticker.tick() => {}
                }
                let this = this.clone();
                // stat + read of two small files: off the async workers.
                if let Err(error) = tokio::task::spawn_blocking(move || this.check()).await {
                    tracing::warn!(%error, "TLS reload task failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp_dir(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("common-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    fn write_pair(dir: &Path) -> TlsFiles {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let files = TlsFiles {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        };
        std::fs::write(&files.cert, ck.cert.pem()).unwrap();
        std::fs::write(&files.key, ck.signing_key.serialize_pem()).unwrap();
        files
    }

    #[test]
    fn loads_and_sets_alpn() {
        let dir = temp_dir("load");
        let files = write_pair(&dir.0);
        let r = TlsReloader::load(files).unwrap();
        assert_eq!(r.current().alpn_protocols, vec![b"dot".to_vec()]);
        assert!(!r.check(), "unchanged files do not reload");
    }

    #[test]
    fn errors_name_the_file() {
        let dir = temp_dir("errors");
        let files = write_pair(&dir.0);
        let missing = TlsFiles {
            cert: dir.0.join("nope.crt"),
            key: files.key.clone(),
        };
        let e = TlsReloader::load(missing).unwrap_err().to_string();
        assert!(e.contains("nope.crt"), "{e}");

        std::fs::write(dir.0.join("empty.crt"), "").unwrap();
        let empty = TlsFiles {
            cert: dir.0.join("empty.crt"),
            key: files.key.clone(),
        };
        let e = TlsReloader::load(empty).unwrap_err();
        assert!(matches!(e, TlsError::NoCert { .. }), "{e}");

        let nokey = TlsFiles {
            cert: files.cert.clone(),
            key: files.cert.clone(),
        };
        let e = TlsReloader::load(nokey).unwrap_err().to_string();
        assert!(e.contains("private key") && e.contains("tls.crt"), "{e}");
    }

    /// A Kubernetes Secret volume: `tls.crt -> ..data/tls.crt`, `..data -> ..ts1`;
    /// an update writes `..ts2` and atomically renames a new `..data` symlink over
    /// the old one. The paths we watch never change; what they resolve to does.
    #[cfg(unix)]
    #[test]
    fn reloads_on_kubernetes_symlink_swap() {
        use std::os::unix::fs::symlink;
        let dir = temp_dir("k8s");
        let d = &dir.0;
        for ts in ["..ts1", "..ts2"] {
            std::fs::create_dir_all(d.join(ts)).unwrap();
            write_pair(&d.join(ts));
        }
        symlink("..ts1", d.join("..data")).unwrap();
        symlink("..data/tls.crt", d.join("tls.crt")).unwrap();
        symlink("..data/tls.key", d.join("tls.key")).unwrap();
        let files = TlsFiles {
            cert: d.join("tls.crt"),
            key: d.join("tls.key"),
        };
        let r = TlsReloader::load(files).unwrap();
        let before = r.current();
        assert!(!r.check());
        symlink("..ts2", d.join("..data_tmp")).unwrap();
        std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
        assert!(r.check(), "symlink swap detected");
        assert!(!Arc::ptr_eq(&before, &r.current()));
        assert!(!r.check(), "and loaded once");
    }

    #[test]
    fn failed_reload_keeps_old_config() {
        let dir = temp_dir("keep");
        let files = write_pair(&dir.0);
        let r = TlsReloader::load(files.clone()).unwrap();
        let before = r.current();
        // A key that does not match the certificate.
        let other = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
        std::fs::write(&files.key, other.signing_key.serialize_pem()).unwrap();
        assert!(!r.check());
        assert!(Arc::ptr_eq(&before, &r.current()));
        std::fs::write(&files.cert, other.cert.pem()).unwrap();
        assert!(r.check());
        assert!(!Arc::ptr_eq(&before, &r.current()));
    }
}
