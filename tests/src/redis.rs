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
        Self::start_with(&[]).await
    }

    /// Like [`start`](Self::start) with extra server arguments
    /// (`--cluster-enabled yes`, say).
    pub async fn start_with(extra: &[&str]) -> anyhow::Result<Self> {
        let cluster = extra.windows(2).any(|w| w == ["--cluster-enabled", "yes"]);
        let port = if cluster {
            free_cluster_port()?
        } else {
            free_port()
        };
        let daemon = spawn(port, extra).await?;
        Ok(Self {
            daemon: Some(daemon),
            port,
        })
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its unix socket (every server also listens on one).
    pub fn socket_path(&self) -> PathBuf {
        socket_of(self.port)
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
        self.daemon = Some(spawn(self.port, &[]).await?);
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

/// A Redis Sentinel (redis-server in sentinel mode) watching one master as
/// `mymaster`, with a quorum of 1.
#[derive(Debug)]
pub struct RedisSentinel {
    _daemon: Daemon,
    port: u16,
}

impl RedisSentinel {
    /// Starts a sentinel for the master on 127.0.0.1:`master_port`.
    pub async fn start(master_port: u16) -> anyhow::Result<Self> {
        let port = free_port();
        let dir = scratch(port)?;
        let conf = dir.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\nsentinel down-after-milliseconds mymaster 1000\n",
                dir.display()
            ),
        )?;
        let args = vec![conf.display().to_string(), "--sentinel".to_string()];
        let mut daemon = Daemon::spawn(&PathBuf::from(REDIS_SERVER), &args)?;
        daemon
            .wait_log("+monitor master mymaster", Duration::from_secs(10))
            .await?;
        Ok(Self {
            _daemon: daemon,
            port,
        })
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// A Redis Cluster of `n` masters (no replicas), every slot assigned.
#[derive(Debug)]
pub struct RedisCluster {
    /// The nodes.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `n` (at least 3) cluster-enabled servers and joins them with
    /// `redis-cli --cluster create`.
    pub async fn start(n: usize) -> anyhow::Result<Self> {
        let mut nodes = Vec::with_capacity(n);
        for _ in 0..n {
            nodes.push(RedisServer::start_with(&["--cluster-enabled", "yes"]).await?);
        }
        let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
        args.extend(
            nodes
                .iter()
                .map(|node| format!("127.0.0.1:{}", node.port())),
        );
        args.extend(["--cluster-replicas", "0", "--cluster-yes"].map(String::from));
        let out = tokio::process::Command::new("redis-cli")
            .args(&args)
            .output()
            .await
            .context("running redis-cli --cluster create")?;
        if !out.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let mut ready = true;
            for node in &nodes {
                let mut conn = node.client().await?;
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut conn)
                    .await?;
                ready &= info.contains("cluster_state:ok");
            }
            if ready {
                return Ok(Self { nodes });
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("the cluster never reached cluster_state:ok");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Keys stored across all nodes.
    pub async fn dbsize(&self) -> anyhow::Result<u64> {
        let mut total = 0;
        for node in &self.nodes {
            total += node.dbsize().await?;
        }
        Ok(total)
    }
}

/// A port for a cluster node: at most 55535, with port + 10000 (the cluster
/// bus) free as well.
fn free_cluster_port() -> anyhow::Result<u16> {
    use std::net::{Ipv4Addr, TcpListener};
    for _ in 0..256 {
        let port = 20_000 + rand::random::<u16>() % 35_000;
        let free = |p: u16| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok();
        if free(port) && free(port + 10_000) {
            return Ok(port);
        }
    }
    bail!("no port pair (p, p + 10000) free for a cluster node after 256 attempts")
}

fn socket_of(port: u16) -> PathBuf {
    std::env::temp_dir()
        .join(format!("e2e-redis-{}-{port}", std::process::id()))
        .join("redis.sock")
}

fn scratch(port: u16) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("e2e-redis-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

async fn spawn(port: u16, extra: &[&str]) -> anyhow::Result<Daemon> {
    if !Path::new(REDIS_SERVER).is_file() {
        bail!(
            "{REDIS_SERVER} is missing: run ./scripts/test.sh (it installs Debian's redis-server)"
        );
    }
    let dir = scratch(port)?;
    let mut args: Vec<String> = [
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
        "--unixsocket",
        &socket_of(port).display().to_string(),
        "--unixsocketperm",
        "700",
    ]
    .iter()
    .map(|arg| (*arg).to_string())
    .collect();
    args.extend(extra.iter().map(|arg| (*arg).to_string()));
    let mut daemon = Daemon::spawn(&PathBuf::from(REDIS_SERVER), &args)?;
    daemon
        .wait_log("Ready to accept connections", Duration::from_secs(10))
        .await?;
    Ok(daemon)
}
