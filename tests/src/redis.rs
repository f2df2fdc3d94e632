//! A real `redis-server` (Debian's package; `scripts/test.sh` installs it) on a
//! free 127.0.0.1 port, with no persistence, for tests of the shared cache:
//! it can be killed, restarted on the same port, and frozen (SIGSTOP) to act
//! as a Redis that accepts connections but never answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::daemon::{free_port, Daemon, Signal};

/// Where Debian puts the server.
const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A redis-server under test.
#[derive(Debug)]
pub struct RedisServer {
    daemon: Option<Daemon>,
    port: u16,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts commands.
    pub async fn start() -> anyhow::Result<Self> {
        let port = free_port();
        let daemon = spawn(port).await?;
        Ok(Self {
            daemon: Some(daemon),
            port,
        })
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `cachedb:` clause (with `module-config`) pointing a resolver at it.
    pub fn unbound_clause(&self, extra: &str) -> String {
        format!(
            "cachedb:\n  backend: \"redis\"\n  redis-server-host: 127.0.0.1\n  redis-server-port: {}\n{extra}",
            self.port
        )
    }

    /// Kills it (SIGKILL): connections reset, nothing listens on the port.
    pub fn kill(&mut self) {
        self.daemon = None;
    }

    /// Starts it again on the same port (empty: nothing is persisted).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.daemon = Some(spawn(self.port).await?);
        Ok(())
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the process.
    pub fn freeze(&self, frozen: bool) -> anyhow::Result<()> {
        let daemon = self
            .daemon
            .as_ref()
            .context("redis-server is not running")?;
        daemon.signal(if frozen { Signal::Stop } else { Signal::Cont })
    }

    /// A client connection for the test's own reads and writes.
    pub async fn client(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        Ok(client.get_multiplexed_async_connection().await?)
    }

    /// Number of keys in database 0.
    pub async fn dbsize(&self) -> anyhow::Result<u64> {
        let mut conn = self.client().await?;
        Ok(redis::cmd("DBSIZE").query_async(&mut conn).await?)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A frozen process ignores nothing but SIGKILL, which Daemon's drop sends.
        self.kill();
    }
}

async fn spawn(port: u16) -> anyhow::Result<Daemon> {
    if !Path::new(REDIS_SERVER).is_file() {
        bail!(
            "{REDIS_SERVER} is missing: run ./scripts/test.sh (it installs Debian's redis-server)"
        );
    }
    let dir = std::env::temp_dir().join(format!("e2e-redis-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        &dir.display().to_string(),
    ]
    .iter()
    .map(|arg| (*arg).to_string())
    .collect();
    let mut daemon = Daemon::spawn(&PathBuf::from(REDIS_SERVER), &args)?;
    daemon
        .wait_log("Ready to accept connections", Duration::from_secs(10))
        .await?;
    Ok(daemon)
}
