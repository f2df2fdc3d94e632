//! Spawn one of our daemons as a child process and drive it like an operator would.
//!
//! The child's stdout and stderr go to one log file (kept after the test, path in
//! every error) so a failure message can show what the daemon said. Dropping a
//! [`Daemon`] kills the child by PID (SIGKILL) and reaps it.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use tokio::time::Instant;

use crate::metrics::http_get;

/// Signals [`Daemon::signal`] can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: graceful shutdown.
    Term,
    /// SIGINT: graceful shutdown (Ctrl-C).
    Int,
    /// SIGHUP: reload, where supported.
    Hup,
    /// SIGKILL.
    Kill,
    /// SIGSTOP: freeze (a server that accepts but never answers).
    Stop,
    /// SIGCONT: resume after SIGSTOP.
    Cont,
    /// SIGUSR1 (udhcpc: renew the lease).
    Usr1,
    /// SIGUSR2 (udhcpc: release the lease).
    Usr2,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Self::Term => "TERM",
            Self::Int => "INT",
            Self::Hup => "HUP",
            Self::Kill => "KILL",
            Self::Stop => "STOP",
            Self::Cont => "CONT",
            Self::Usr1 => "USR1",
            Self::Usr2 => "USR2",
        }
    }
}

/// A running daemon under test.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    log_path: PathBuf,
    exit: Option<ExitStatus>,
}

impl Daemon {
    /// Starts `bin` with `args`; stdout and stderr go to a fresh log file under
    /// `$TMPDIR/e2e-logs/`.
    pub fn spawn(bin: &Path, args: &[String]) -> anyhow::Result<Self> {
        Self::spawn_with_env(bin, args, &[])
    }

    /// Like [`spawn`](Self::spawn) with extra environment variables (e.g. `RUST_LOG`).
    pub fn spawn_with_env(
        bin: &Path,
        args: &[String],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join("e2e-logs");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let stem = bin
            .file_name()
            .map_or_else(|| "daemon".into(), |s| s.to_string_lossy());
        let log_path = dir.join(format!(
            "{stem}-{}-{}.log",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let log =
            File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(bin)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        Ok(Self {
            child,
            log_path,
            exit: None,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where the child's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the child has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends `signal` with `kill -s <SIG> <pid>` (no unsafe libc call needed).
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-s", signal.name(), &self.pid().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -s {} {} failed: {status}", signal.name(), self.pid());
        }
        Ok(())
    }

    /// The exit status if the child has exited, without waiting.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits up to `timeout` (polling every 20 ms) for the child to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `GET http://<metrics_addr>/readyz` every 50 ms until it answers 200, the
    /// child exits, or `timeout` passes; errors carry the child's log.
    pub async fn wait_ready(
        &mut self,
        metrics_addr: SocketAddr,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.wait_http_ok(metrics_addr, "/readyz", timeout).await
    }

    /// Like [`wait_ready`](Self::wait_ready) for any path.
    pub async fn wait_http_ok(
        &mut self,
        addr: SocketAddr,
        path: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                bail!(
                    "daemon exited ({status}) before {path} was ready; log:\n{}",
                    self.log()
                );
            }
            let last =
                match tokio::time::timeout(Duration::from_secs(1), http_get(addr, path)).await {
                    Ok(Ok((200, _))) => return Ok(()),
                    Ok(Ok((code, body))) => format!("HTTP {code}: {body}"),
                    Ok(Err(e)) => format!("{e:#}"),
                    Err(_) => "request timed out".to_string(),
                };
            if Instant::now() >= deadline {
                bail!(
                    "{addr}{path} not ready after {timeout:?} (last: {last}); log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the log contains `needle` (polling, bounded by `timeout`).
    pub async fn wait_log(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "log never contained {needle:?} within {timeout:?}; log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            // Child::kill sends SIGKILL to this child's PID only.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Path of a workspace binary built by cargo: first beside the running test
/// executable (`<target>/<profile>/deps/it-…` → `<target>/<profile>/<name>`, so
/// a target directory set in a cargo config file is found too), then
/// `$CARGO_TARGET_DIR` (else `<workspace>/target`) `/debug/<name>`, or
/// `/release/<name>` when only that exists.
/// Tests of this crate's own binaries should prefer `env!("CARGO_BIN_EXE_<name>")`.
pub fn cargo_bin(name: &str) -> anyhow::Result<PathBuf> {
    let beside_test = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then(|| deps.parent().map(|p| p.join(name)))?
    });
    if let Some(path) = beside_test.filter(|p| p.is_file()) {
        return Ok(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        },
        PathBuf::from,
    );
    for profile in ["debug", "release"] {
        let path = target.join(profile).join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(anyhow!(
        "binary {name} not found under {}; build it first (cargo build -p <package>)",
        target.display()
    ))
}

/// A port free on 127.0.0.1 for both UDP and TCP at the time of the call (the
/// sockets are closed again, so a racing process could still take it; bounded
/// to 64 attempts).
///
/// # Panics
/// When no such port is found in 64 attempts (the machine is out of ports).
pub fn free_port() -> u16 {
    for _ in 0..64 {
        let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(port) = udp.local_addr().map(|a| a.port()) else {
            continue;
        };
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1 after 64 attempts")
}

/// A net octet in `1..=250` for one test's private `127.<net>.x.y` addresses.
///
/// Scheme: `1 + (pid * 37 + counter) % 250`, where `counter` is a process-wide
/// atomic incremented per call. Within one test binary (`cargo test` runs tests as
/// threads) consecutive calls get consecutive nets, so 250 tests never collide. Across
/// processes (nextest runs one process per test) the pid term spreads start points:
/// 37 is coprime with 250, so 250 consecutive pids start on 250 different nets.
/// Collisions are still possible, which is why
/// [`Hierarchy::start_unique`](crate::fake_dns::Hierarchy::start_unique) retries on
/// bind failure.
pub fn unique_net() -> u8 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = u64::from(std::process::id()) * 37 + u64::from(counter);
    // `mixed % 250` is below 250, so the cast is lossless.
    1 + u8::try_from(mixed % 250).unwrap_or(0)
}

/// An address for a daemon under test in net `net`: `127.<net>.1.<host>` (the fake
/// hierarchy uses `127.<net>.0.<host>`).
pub fn test_addr(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, net, 1, host))
}
