//! Starts our resolver in-process against a fake hierarchy, on its own
//! 127.<net>.1.1:53, with the given extra unbound.conf lines.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::readiness::Readiness;
use common::shutdown::{Shutdown, ShutdownTrigger};
use e2e::dig::{Dig, DigResult};
use e2e::fake_dns::Hierarchy;
use e2e::metrics::{scrape, Scrape};
use resolver::Config;
use tokio::task::JoinHandle;

/// A scratch directory unique to this test process and call.
pub fn scratch_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("resolver-it-{}-{tag}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running resolver and the hierarchy it resolves against.
pub struct TestResolver {
    /// Shared by replicas started with [`TestResolver::start_replica`].
    pub hierarchy: Arc<Hierarchy>,
    pub ip: IpAddr,
    pub udp: SocketAddr,
    pub admin: SocketAddr,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), resolver::Error>>,
}

impl TestResolver {
    /// A fresh hierarchy and a resolver with `extra` lines in its server: clause.
    pub async fn start(extra: &str) -> Self {
        let hierarchy = Hierarchy::start_unique().await.unwrap();
        Self::start_with(hierarchy, extra, "").await
    }

    /// A resolver on `hierarchy` with `extra` server: lines and `clauses` after them.
    pub async fn start_with(hierarchy: Hierarchy, extra: &str, clauses: &str) -> Self {
        Self::start_replica(Arc::new(hierarchy), 1, extra, clauses).await
    }

    /// A resolver on 127.<net>.1.<host>, sharing `hierarchy` with others.
    pub async fn start_replica(
        hierarchy: Arc<Hierarchy>,
        host: u8,
        extra: &str,
        clauses: &str,
    ) -> Self {
        let dir = scratch_dir("resolver");
        let hints = dir.join("root.hints");
        hierarchy.write_root_hints(&hints).unwrap();
        let ip = e2e::test_addr(hierarchy.net(), host);
        let text = format!(
            "server:\n  interface: {ip}\n  port: 53\n  do-not-query-localhost: no\n  root-hints: \"{}\"\n{extra}\n{clauses}\n",
            hints.display()
        );
        let path = dir.join("unbound.conf");
        std::fs::write(&path, &text).unwrap();
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let listeners = resolver::server::bind(&config, Some(SocketAddr::new(ip, 0))).unwrap();
        let udp = listeners.dns.udp_addrs()[0];
        let admin = listeners.admin.as_ref().unwrap().local_addr().unwrap();
        let (trigger, shutdown) = Shutdown::new();
        let registry = resolver::server::registry();
        let task = tokio::spawn(resolver::run(
            config,
            listeners,
            registry,
            Readiness::new(),
            shutdown,
        ));
        Self {
            hierarchy,
            ip,
            udp,
            admin,
            trigger,
            task,
        }
    }

    /// dig aimed at the resolver.
    pub fn dig(&self) -> Dig {
        Dig::new(self.ip).port(self.udp.port())
    }

    /// One dig query.
    pub async fn q(&self, name: &str, rtype: &str) -> DigResult {
        self.dig()
            .run(name, rtype)
            .await
            .unwrap_or_else(|e| panic!("dig {name} {rtype}: {e:#}"))
    }

    /// The resolver's metrics.
    pub async fn scrape(&self) -> Scrape {
        scrape(self.admin).await.unwrap()
    }

    /// Fires shutdown and waits for `run` to return.
    pub async fn stop(self) {
        self.trigger.fire();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.task).await;
    }
}

/// A real Unbound (`binary`) on 127.<net>.1.<host>:53 iterating `hierarchy`
/// with `module-config: modules`; `extra` is appended after its server: lines
/// (more server: lines, then any other clause). Returns once it serves.
pub async fn spawn_unbound(
    binary: &std::path::Path,
    hierarchy: &Hierarchy,
    host: u8,
    modules: &str,
    extra: &str,
) -> (e2e::Daemon, IpAddr) {
    let dir = scratch_dir("unbound");
    let hints = dir.join("root.hints");
    hierarchy.write_root_hints(&hints).unwrap();
    let listen = e2e::test_addr(hierarchy.net(), host);
    let conf = format!(
        "server:\n  interface: {listen}\n  port: 53\n  do-ip6: no\n  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n  directory: \"{dir}\"\n  pidfile: \"\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  root-hints: \"{hints}\"\n  do-not-query-localhost: no\n  module-config: \"{modules}\"\n  access-control: 127.0.0.0/8 allow\n  num-threads: 1\n{extra}",
        dir = dir.display(),
        hints = hints.display()
    );
    let path = dir.join("unbound.conf");
    std::fs::write(&path, conf).unwrap();
    let mut daemon = e2e::Daemon::spawn(
        binary,
        &["-d".into(), "-c".into(), path.display().to_string()],
    )
    .unwrap();
    daemon
        .wait_log("start of service", std::time::Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", daemon.log()));
    (daemon, listen)
}
